/*
 * script_lua.c — the Lua VM of the server (script.h): its making (the
 * libraries Redis opens, the redis.* API, global protection), the type
 * conversions both ways, running a script inside its command, the EVAL
 * cache, function libraries (their loading, registry and persistence), and
 * the EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT commands.
 *
 * redis.call runs a command through its handler with the script's command
 * context (same txn, same clock) and a scratch reply buffer, then turns
 * the RESP bytes into Lua values as Redis does: integer -> number, bulk ->
 * string, null -> false, array -> table, status -> {ok=...}, error ->
 * {err=...} (raised by call, returned by pcall).
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "modules/redis/redis.h"
#include "modules/redis/script.h"
#include "modules/redis/sha1.h"

#define SCRIPT_REPLY_DEPTH 64 /* nesting of a table converted to a reply */
#define FUNCTIONS_BUCKET "resp:functions"

static const char *const REG_KEY = "ffdb-redis-lua"; /* the redis_lua in the Lua registry */

static redis_lua *vm_of(lua_State *L)
{
    redis_lua *R;
    lua_pushlightuserdata(L, (void *)REG_KEY);
    lua_rawget(L, LUA_REGISTRYINDEX);
    R = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return R;
}

/* ---- RESP bytes -> Lua ------------------------------------------------------------------------
 */

/* The line at p (up to \r\n): its end, or NULL. */
static const char *line_end(const char *p, const char *end)
{
    const char *q = memchr(p, '\r', (size_t)(end - p));
    return q && q + 1 < end ? q : NULL;
}

static void push_field(lua_State *L, const char *field, const char *p, size_t n)
{
    lua_newtable(L);
    lua_pushstring(L, field);
    lua_pushlstring(L, p, n);
    lua_rawset(L, -3);
}

/* Push the reply at p as a Lua value; the byte after it, or NULL (not a
 * reply our writer makes: a programming error upstream). */
static const char *push_reply(lua_State *L, const char *p, const char *end, int depth)
{
    const char *e = line_end(p, end);
    long long n;

    if (!e || depth > SCRIPT_REPLY_DEPTH || !lua_checkstack(L, 4))
        return NULL;
    switch (*p) {
    case '+':
        push_field(L, "ok", p + 1, (size_t)(e - p - 1));
        return e + 2;
    case '-':
        push_field(L, "err", p + 1, (size_t)(e - p - 1));
        return e + 2;
    case ':':
        lua_pushnumber(L, (lua_Number)strtoll(p + 1, NULL, 10));
        return e + 2;
    case ',': /* RESP3 double: {double=n} */
        lua_newtable(L);
        lua_pushstring(L, "double");
        lua_pushnumber(L, strtod(p + 1, NULL));
        lua_rawset(L, -3);
        return e + 2;
    case '(':
        push_field(L, "big_number", p + 1, (size_t)(e - p - 1));
        return e + 2;
    case '#':
        lua_pushboolean(L, p[1] == 't');
        return e + 2;
    case '_':
        lua_pushnil(L);
        return e + 2;
    case '$':
    case '=':
        n = strtoll(p + 1, NULL, 10);
        if (n < 0) {
            lua_pushboolean(L, 0);
            return e + 2;
        }
        if ((long long)(end - (e + 2)) < n + 2)
            return NULL;
        if (*p == '=' && n >= 4)
            lua_pushlstring(L, e + 2 + 4, (size_t)n - 4); /* "txt:" */
        else
            lua_pushlstring(L, e + 2, (size_t)n);
        return e + 2 + n + 2;
    case '*':
    case '~':
    case '%':
    case '>': {
        char kind = *p;
        n = strtoll(p + 1, NULL, 10);
        p = e + 2;
        if (n < 0) {
            lua_pushboolean(L, 0);
            return p;
        }
        lua_newtable(L);
        if (kind == '%') { /* RESP3 map: {map={k=v}} */
            lua_pushstring(L, "map");
            lua_newtable(L);
        } else if (kind == '~') {
            lua_pushstring(L, "set");
            lua_newtable(L);
        }
        for (long long i = 0; i < n && p; i++) {
            p = push_reply(L, p, end, depth + 1);
            if (!p)
                break;
            if (kind == '%') {
                p = push_reply(L, p, end, depth + 1);
                if (p)
                    lua_rawset(L, -3);
            } else if (kind == '~') {
                lua_pushboolean(L, 1);
                lua_rawset(L, -3);
            } else {
                lua_rawseti(L, -2, (int)i + 1);
            }
        }
        if (p && (kind == '%' || kind == '~'))
            lua_rawset(L, -3);
        return p;
    }
    default:
        return NULL;
    }
}

/* ---- Lua -> the script's reply ------------------------------------------------------------------
 */

/* A string field of the table at idx (raw: no metamethods run), or NULL. */
static const char *raw_field(lua_State *L, int idx, const char *name, size_t *len)
{
    const char *s = NULL;
    if (idx < 0)
        idx = lua_gettop(L) + idx + 1;
    lua_pushstring(L, name);
    lua_rawget(L, idx);
    if (lua_type(L, -1) == LUA_TSTRING)
        s = lua_tolstring(L, -1, len);
    lua_pop(L, 1);
    return s; /* still referenced by the table */
}

static void reply_error_text(resp_reply *r, const char *msg, size_t n)
{
    /* One line, as Redis sends it. */
    char *copy = malloc(n + 1);
    if (!copy) {
        reply_error(r, "ERR out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        copy[i] = msg[i] == '\r' || msg[i] == '\n' ? ' ' : msg[i];
    copy[n] = '\0';
    reply_error(r, copy);
    free(copy);
}

static void reply_lua(resp_reply *r, lua_State *L, int idx, int depth)
{
    const char *s;
    size_t n;

    if (idx < 0)
        idx = lua_gettop(L) + idx + 1;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &n);
        reply_bulk(r, s, n);
        return;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx))
            reply_int(r, 1);
        else
            reply_null(r);
        return;
    case LUA_TNUMBER:
        reply_int(r, (int64_t)lua_tonumber(L, idx));
        return;
    case LUA_TTABLE:
        break;
    default:
        reply_null(r);
        return;
    }
    if ((s = raw_field(L, idx, "err", &n))) {
        reply_error_text(r, s, n);
        return;
    }
    if ((s = raw_field(L, idx, "ok", &n))) {
        reply_simple(r, s); /* a status has no CR/LF by Redis's rule: it cuts there */
        return;
    }
    lua_pushstring(L, "double");
    lua_rawget(L, idx);
    if (lua_type(L, -1) == LUA_TNUMBER) {
        reply_double(r, lua_tonumber(L, -1));
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if (depth >= SCRIPT_REPLY_DEPTH || !lua_checkstack(L, 2)) {
        reply_error(r, "ERR reached lua stack limit");
        return;
    }
    size_t count = 0;
    for (;;) { /* the array part, up to the first nil */
        lua_rawgeti(L, idx, (int)count + 1);
        int nil = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (nil)
            break;
        count++;
    }
    reply_array(r, count);
    for (size_t i = 0; i < count; i++) {
        lua_rawgeti(L, idx, (int)i + 1);
        reply_lua(r, L, -1, depth + 1);
        lua_pop(L, 1);
    }
}

/* ---- the redis.* API
 * ------------------------------------------------------------------------------ */

/* Raise (call) or return (pcall) an error table {err = msg}. */
static int call_error(lua_State *L, int raise, const char *msg)
{
    lua_settop(L, 0);
    push_field(L, "err", msg, strlen(msg));
    if (raise)
        return lua_error(L);
    return 1;
}

/* SELECT inside a script changes only the script's database. */
static int script_select(lua_State *L, redis_lua *R, const resp_arg *a, int raise)
{
    int64_t db;
    if (resp_parse_i64(a->p, a->n, &db))
        return call_error(L, raise, "ERR value is not an integer or out of range");
    if (db < 0 || db >= STORE_DBS)
        return call_error(L, raise, "ERR DB index is out of range");
    R->db = (int)db;
    lua_settop(L, 0);
    push_field(L, "ok", "OK", 2);
    return 1;
}

static int redis_call_generic(lua_State *L, int raise)
{
    redis_lua *R = vm_of(L);
    int argc = lua_gettop(L);
    resp_arg argv_small[16], *argv = argv_small;
    const resp_command *cmd;
    net_buf out;
    resp_reply rr;
    resp_ctx sub;
    int rc;

    if (!R->cur)
        return call_error(L, 1, "ERR redis.call is not available while loading a library");
    if (argc == 0)
        return call_error(L, raise,
                          "ERR Please specify at least one argument for this redis lib call");
    if (argc > 16 && !(argv = lua_newuserdata(L, (size_t)argc * sizeof(*argv))))
        return call_error(L, raise, "ERR out of memory");
    for (int i = 0; i < argc; i++) {
        int t = lua_type(L, i + 1);
        if (t != LUA_TSTRING && t != LUA_TNUMBER)
            return call_error(L, raise,
                              "ERR Lua redis lib command arguments must be strings or integers");
        argv[i].p = lua_tolstring(L, i + 1, &argv[i].n); /* numbers become strings in place */
    }
    cmd = redis_command_lookup(argv[0].p, argv[0].n);
    if (!cmd)
        return call_error(L, raise, "ERR Unknown Redis command called from script");
    if (!resp_arity_ok(cmd, argc))
        return call_error(L, raise, "ERR Wrong number of args calling Redis command from script");
    if (strcmp(cmd->name, "select") == 0)
        return script_select(L, R, &argv[1], raise);
    /* PUBLISH: flagged noscript for the server's own paths, but Redis lets
     * a script publish, and refuses it (may-replicate) in a read-only one. */
    int publish = strcmp(cmd->name, "publish") == 0;
    if ((cmd->flags & RESP_CMD_NOSCRIPT) && !publish)
        return call_error(L, raise, "ERR This Redis command is not allowed from script");
    if (((cmd->flags & RESP_CMD_WRITE) || publish) && R->ro)
        return call_error(L, raise, "ERR Write commands are not allowed from read-only scripts.");

    if (R->cur->srv->monitors.n)
        feed_monitor(R->cur->srv, R->db, "lua", argc, argv);
    net_buf_init(&out, 0);
    rr.out = &out;
    rr.proto = R->resp;
    rr.errors = 0;
    sub = *R->cur;
    sub.r = &rr;
    sub.db = R->db;
    sub.argc = argc;
    sub.argv = argv;
    sub.cmd = cmd;
    if (!(cmd->flags & (RESP_CMD_WRITE | RESP_CMD_READONLY)))
        sub.st = NULL;
    rc = cmd->fn(&sub);
    if (rc < 0) {
        net_buf_free(&out);
        R->engine_rc = rc;
        return call_error(L, 1, "ERR the engine failed");
    }
    lua_settop(L, 0);
    if (!out.data || !push_reply(L, out.data, out.data + out.len, 0)) {
        net_buf_free(&out);
        return call_error(L, raise, "ERR the command's reply could not be read");
    }
    net_buf_free(&out);
    if (raise && lua_istable(L, -1)) {
        size_t n;
        if (raw_field(L, -1, "err", &n))
            return lua_error(L); /* the error table itself */
    }
    return 1;
}

static int l_call(lua_State *L)
{
    return redis_call_generic(L, 1);
}

static int l_pcall(lua_State *L)
{
    return redis_call_generic(L, 0);
}

static int l_error_reply(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    push_field(L, "err", s, n);
    return 1;
}

static int l_status_reply(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    push_field(L, "ok", s, n);
    return 1;
}

static int l_sha1hex(lua_State *L)
{
    size_t n;
    const char *s;
    char hex[41];

    if (lua_gettop(L) != 1)
        return luaL_error(L, "wrong number of arguments");
    s = lua_tolstring(L, 1, &n);
    redis_sha1_hex(s ? s : "", s ? n : 0, hex);
    lua_pushstring(L, hex);
    return 1;
}

static int l_log(lua_State *L)
{
    redis_lua *R = vm_of(L);
    int argc = lua_gettop(L);
    luaL_Buffer b;

    if (argc < 2)
        return luaL_error(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1))
        return luaL_error(L, "First argument must be a number (log level).");
    luaL_buffinit(L, &b);
    for (int i = 2; i <= argc; i++) {
        lua_pushvalue(L, i);
        luaL_addvalue(&b);
        if (i < argc)
            luaL_addchar(&b, ' ');
    }
    luaL_pushresult(&b);
    if (R->cur)
        redis_log(R->cur->srv, NET_LOG_NOTICE, "script: %s", lua_tostring(L, -1));
    return 0;
}

static int l_setresp(lua_State *L)
{
    redis_lua *R = vm_of(L);
    int v = (int)luaL_checknumber(L, 1);
    if (v != 2 && v != 3)
        return luaL_error(L, "RESP version must be 2 or 3.");
    R->resp = v;
    return 0;
}

static int l_true(lua_State *L)
{
    lua_pushboolean(L, 1);
    return 1;
}

static int l_false(lua_State *L)
{
    lua_pushboolean(L, 0);
    return 1;
}

static int l_nothing(lua_State *L)
{
    (void)L;
    return 0;
}

static int valid_func_name(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return 1;
}

static int flag_of(const char *s, unsigned *f)
{
    static const struct {
        const char *name;
        unsigned flag;
    } flags[] = {{"no-writes", SCRIPT_NO_WRITES},
                 {"allow-oom", SCRIPT_ALLOW_OOM},
                 {"allow-stale", SCRIPT_ALLOW_STALE},
                 {"no-cluster", SCRIPT_NO_CLUSTER},
                 {"allow-cross-slot-keys", SCRIPT_CROSS_SLOT}};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (strcmp(s, flags[i].name) == 0) {
            *f |= flags[i].flag;
            return 0;
        }
    return -1;
}

/* redis.register_function(name, callback) or
 * redis.register_function{function_name=, callback=, flags={...}, description=} */
static int l_register_function(lua_State *L)
{
    redis_lua *R = vm_of(L);
    script_lib *lib = R->loading;
    const char *name, *desc = NULL;
    size_t nlen;
    unsigned flags = 0;
    script_func *f;

    if (!lib)
        return luaL_error(L, "redis.register_function can only be called on FUNCTION LOAD "
                             "command");
    if (lua_gettop(L) == 2) {
        name = lua_tolstring(L, 1, &nlen);
        if (!name || !lua_isfunction(L, 2))
            return luaL_error(L, "wrong arguments given to redis.register_function");
    } else if (lua_gettop(L) == 1 && lua_istable(L, 1)) {
        lua_getfield(L, 1, "function_name");
        name = lua_tolstring(L, -1, &nlen);
        lua_getfield(L, 1, "description");
        if (lua_isstring(L, -1))
            desc = lua_tostring(L, -1);
        lua_getfield(L, 1, "flags");
        if (lua_istable(L, -1)) {
            for (int i = 1;; i++) {
                lua_rawgeti(L, -1, i);
                if (lua_isnil(L, -1)) {
                    lua_pop(L, 1);
                    break;
                }
                if (!lua_isstring(L, -1) || flag_of(lua_tostring(L, -1), &flags))
                    return luaL_error(L, "unknown flag given");
                lua_pop(L, 1);
            }
        } else if (!lua_isnil(L, -1)) {
            return luaL_error(L, "flags argument to redis.register_function must be a table "
                                 "representing function flags");
        }
        lua_getfield(L, 1, "callback");
        if (!name || !lua_isfunction(L, -1))
            return luaL_error(L, name ? "callback argument given to redis.register_function "
                                        "must be a function"
                                      : "function_name argument given to "
                                        "redis.register_function must be a string");
    } else {
        return luaL_error(L, "wrong number of arguments to redis.register_function");
    }
    if (!valid_func_name(name, nlen))
        return luaL_error(L, "Function names can only contain letters, numbers, or "
                             "underscores(_) and must be at least one character long");
    for (size_t i = 0; i < lib->nfuncs; i++)
        if (strcmp(lib->funcs[i]->name, name) == 0)
            return luaL_error(L, "Function already exists in the library");
    if (lib->nfuncs == lib->cap) {
        size_t cap = lib->cap ? lib->cap * 2 : 4;
        script_func **p = realloc(lib->funcs, cap * sizeof(*p));
        if (!p)
            return luaL_error(L, "out of memory");
        lib->funcs = p;
        lib->cap = cap;
    }
    f = calloc(1, sizeof(*f));
    if (!f || !(f->name = strdup(name)) || (desc && !(f->desc = strdup(desc)))) {
        if (f)
            free(f->name);
        free(f);
        return luaL_error(L, "out of memory");
    }
    lua_pushvalue(L, -1); /* the callback is on top in both forms */
    f->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    f->flags = flags;
    f->lib = lib;
    lib->funcs[lib->nfuncs++] = f;
    return 0;
}

/* ---- the VM ------------------------------------------------------------------------------------
 */

static const char GLOBAL_PROTECTION[] =
    "local dbg = debug\n"
    "setmetatable(_G, {\n"
    "  __index = function(t, k) error(\"Script attempted to access nonexistent global "
    "variable '\" .. tostring(k) .. \"'\", 2) end,\n"
    "  __newindex = function(t, k, v) error(\"Script attempted to create global variable '\" "
    ".. tostring(k) .. \"'\", 2) end,\n"
    "})\n";

static void open_lib(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_pushcfunction(L, fn);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

static void set_fn(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_pushstring(L, name);
    lua_pushcfunction(L, fn);
    lua_rawset(L, -3);
}

static void set_num(lua_State *L, const char *name, lua_Number v)
{
    lua_pushstring(L, name);
    lua_pushnumber(L, v);
    lua_rawset(L, -3);
}

static lua_State *vm_new(redis_lua *R)
{
    lua_State *L = luaL_newstate();

    if (!L)
        return NULL;
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, LUA_DBLIBNAME, luaopen_debug);
    /* Redis's sandbox: no files, no loading of code from outside */
    lua_pushnil(L);
    lua_setglobal(L, "loadfile");
    lua_pushnil(L);
    lua_setglobal(L, "dofile");

    lua_pushlightuserdata(L, (void *)REG_KEY);
    lua_pushlightuserdata(L, R);
    lua_rawset(L, LUA_REGISTRYINDEX);

    lua_newtable(L);
    set_fn(L, "call", l_call);
    set_fn(L, "pcall", l_pcall);
    set_fn(L, "error_reply", l_error_reply);
    set_fn(L, "status_reply", l_status_reply);
    set_fn(L, "sha1hex", l_sha1hex);
    set_fn(L, "log", l_log);
    set_fn(L, "setresp", l_setresp);
    set_fn(L, "replicate_commands", l_true);
    set_fn(L, "set_repl", l_nothing);
    set_fn(L, "breakpoint", l_false);
    set_fn(L, "debug", l_nothing);
    set_fn(L, "register_function", l_register_function);
    set_num(L, "LOG_DEBUG", 0);
    set_num(L, "LOG_VERBOSE", 1);
    set_num(L, "LOG_NOTICE", 2);
    set_num(L, "LOG_WARNING", 3);
    set_num(L, "REPL_NONE", 0);
    set_num(L, "REPL_AOF", 1);
    set_num(L, "REPL_SLAVE", 2);
    set_num(L, "REPL_REPLICA", 2);
    set_num(L, "REPL_ALL", 3);
    set_num(L, "REDIS_VERSION_NUM", 0x070000);
    lua_pushstring(L, "REDIS_VERSION");
    lua_pushstring(L, "7.0.0");
    lua_rawset(L, -3);
    lua_setglobal(L, "redis");

    if (luaL_loadbuffer(L, GLOBAL_PROTECTION, sizeof(GLOBAL_PROTECTION) - 1,
                        "@global_protection") ||
        lua_pcall(L, 0, 0, 0)) {
        lua_close(L);
        return NULL;
    }
    return L;
}

static void lib_free(lua_State *L, script_lib *lib)
{
    for (size_t i = 0; i < lib->nfuncs; i++) {
        if (L)
            luaL_unref(L, LUA_REGISTRYINDEX, lib->funcs[i]->ref);
        free(lib->funcs[i]->name);
        free(lib->funcs[i]->desc);
        free(lib->funcs[i]);
    }
    free(lib->funcs);
    free(lib->name);
    free(lib->code);
    free(lib);
}

void script_vm_free(redis_lua *R)
{
    if (!R)
        return;
    for (size_t i = 0; i < R->nlibs; i++)
        lib_free(NULL, R->libs[i]);
    free(R->libs);
    net_dict_free(&R->scripts);
    net_dict_free(&R->funcs);
    if (R->L)
        lua_close(R->L);
    free(R);
}

/* The file's libraries into the registry (at the VM's making). */
static int load_saved(resp_ctx *c, redis_lua *R)
{
    ffdb_txn *txn = store_txn_engine(c->st);
    ffdb_bucket *b;
    ffdb_cursor *cur;
    ffdb_val k, v;
    int rc = ffdb_bucket_open(txn, FUNCTIONS_BUCKET, strlen(FUNCTIONS_BUCKET), &b);

    if (rc == FFDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    rc = ffdb_cursor_open(b, &cur);
    if (rc)
        return rc;
    for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0; rc = ffdb_cursor_next(cur, &k, &v)) {
        script_lib *lib;
        char *code = malloc(v.size ? v.size : 1);
        if (!code) {
            rc = FFDB_ENOMEM;
            break;
        }
        memcpy(code, v.data, v.size);
        /* A library that loaded once loads again; if not (a changed VM), it is logged and skipped.
         */
        net_buf scratch;
        resp_reply rr = {&scratch, 2, 0};
        resp_ctx quiet = *c;
        net_buf_init(&scratch, 0);
        quiet.r = &rr;
        if (script_lib_load(&quiet, R, code, v.size, 0, &lib))
            redis_log(c->srv, NET_LOG_WARNING, "function library in the file does not load: %.*s",
                      (int)scratch.len, scratch.data ? scratch.data : "");
        net_buf_free(&scratch);
        free(code);
    }
    ffdb_cursor_close(cur);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

int script_vm(resp_ctx *c, redis_lua **out)
{
    redis_server *s = c->srv;
    redis_lua *R = s->lua;
    int rc;

    if (!R) {
        R = calloc(1, sizeof(*R));
        if (!R)
            return FFDB_ENOMEM;
        net_dict_init(&R->scripts, 0);
        net_dict_init(&R->funcs, 1); /* FCALL names any case */
        R->resp = 2;
        R->L = vm_new(R);
        if (!R->L) {
            script_vm_free(R);
            return FFDB_ENOMEM;
        }
        s->lua = R;
    }
    if (!R->loaded && c->st) {
        R->loaded = 1;
        rc = load_saved(c, R);
        if (rc)
            return rc;
    }
    *out = R;
    return 0;
}

/* ---- running a script
 * ------------------------------------------------------------------------------ */

static void push_args(lua_State *L, const resp_arg *a, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushlstring(L, a[i].p, a[i].n);
        lua_rawseti(L, -2, i + 1);
    }
}

/* numkeys at argv[at]: 0, or 1 after an error reply. */
static int parse_numkeys(resp_ctx *c, int at, int as_function, int64_t *nk)
{
    if (as_function && resp_parse_i64(c->argv[at].p, c->argv[at].n, nk)) {
        reply_error(c->r, "ERR Bad number of keys provided");
        return 1;
    }
    if (resp_arg_i64(c->r, &c->argv[at], nk))
        return 1;
    if (*nk < 0) {
        reply_error(c->r, "ERR Number of keys can't be negative");
        return 1;
    }
    if (*nk > c->argc - at - 1) {
        reply_error(c->r, "ERR Number of keys can't be greater than number of args");
        return 1;
    }
    return 0;
}

/* The count hook (every SCRIPT_HOOK_COUNT instructions): a shutdown asked
 * for while a script runs ends the script (a script that never
 * returns would otherwise keep the server from stopping; its command then
 * fails the batch, so nothing of the script is written). Raised again at
 * every count, so a Lua pcall inside the script cannot hold on to it for
 * long. */
static void script_hook(lua_State *L, lua_Debug *ar)
{
    redis_lua *R = vm_of(L);

    (void)ar;
    if (!redis_server_stopping() || !R->cur)
        return;
    R->engine_rc = SCRIPT_EKILLED;
    luaL_error(L, "script killed by the server's shutdown");
}

int script_run(resp_ctx *c, redis_lua *R, int ref, int ro, int at, int as_function)
{
    lua_State *L = R->L;
    int64_t nk;
    int rc;

    if (parse_numkeys(c, at, as_function, &nk))
        return 0;
    if (R->cur) {
        reply_error(c->r, "ERR a script cannot run another script");
        return 0;
    }
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    push_args(L, c->argv + at + 1, (int)nk);
    push_args(L, c->argv + at + 1 + nk, c->argc - at - 1 - (int)nk);
    if (!as_function) {
        lua_pushstring(L, "ARGV");
        lua_insert(L, -2);
        lua_rawset(L, LUA_GLOBALSINDEX);
        lua_pushstring(L, "KEYS");
        lua_insert(L, -2);
        lua_rawset(L, LUA_GLOBALSINDEX);
    }
    R->cur = c;
    R->db = c->db;
    R->ro = ro;
    R->resp = 2;
    R->engine_rc = 0;
    lua_sethook(L, script_hook, LUA_MASKCOUNT, SCRIPT_HOOK_COUNT);
    rc = lua_pcall(L, as_function ? 2 : 0, 1, 0);
    lua_sethook(L, NULL, 0, 0);
    R->cur = NULL;
    if (R->engine_rc) {
        lua_settop(L, 0);
        return R->engine_rc; /* the batch fails: nothing of the script stays */
    }
    if (rc) {
        size_t n;
        const char *msg;
        if (lua_istable(L, -1) && (msg = raw_field(L, -1, "err", &n))) {
            reply_error_text(c->r, msg, n); /* a redis.call error, raised */
        } else {
            msg = lua_tolstring(L, -1, &n);
            char *buf = malloc(n + 64);
            if (!buf)
                return FFDB_ENOMEM;
            int len = snprintf(buf, n + 64, "ERR %s", msg ? msg : "unknown error");
            reply_error_text(c->r, buf, (size_t)len);
            free(buf);
        }
    } else {
        reply_lua(c->r, L, -1, 0);
    }
    lua_settop(L, 0);
    lua_gc(L, LUA_GCSTEP, 1);
    return 0;
}

/* ---- the EVAL cache
 * ---------------------------------------------------------------------------------- */

/* "#!lua flags=no-writes,..." first line of an EVAL body: 0 (flags set,
 * *skip = its length) or 1 after an error reply. */
static int eval_shebang(resp_ctx *c, const char *p, size_t n, unsigned *flags, size_t *skip)
{
    const char *nl = memchr(p, '\n', n);
    size_t len = nl ? (size_t)(nl - p) : n;
    char line[512], *tok, *save;

    *flags = 0;
    *skip = 0;
    if (n < 2 || p[0] != '#' || p[1] != '!')
        return 0;
    if (len >= sizeof(line)) {
        reply_error(c->r, "ERR Invalid script shebang");
        return 1;
    }
    memcpy(line, p + 2, len - 2);
    line[len - 2] = '\0';
    tok = strtok_r(line, " ", &save);
    if (!tok || strcmp(tok, "lua") != 0) {
        reply_errorf(c->r, "ERR Unexpected engine in script shebang: %s", tok ? tok : "");
        return 1;
    }
    while ((tok = strtok_r(NULL, " ", &save))) {
        if (strncmp(tok, "flags=", 6) != 0) {
            reply_errorf(c->r, "ERR Unknown lua shebang option: %s", tok);
            return 1;
        }
        char *f, *s2;
        for (f = strtok_r(tok + 6, ",", &s2); f; f = strtok_r(NULL, ",", &s2))
            if (flag_of(f, flags)) {
                reply_errorf(c->r, "ERR Unexpected flag in script shebang: %s", f);
                return 1;
            }
    }
    *skip = len;
    return 0;
}

/* The cached script of body (compiled now if new): 0 with *ref, or 1 after an error reply. */
static int script_cache(resp_ctx *c, redis_lua *R, const resp_arg *body, int *ref, char sha[41])
{
    net_dict_entry *e;
    int created;

    redis_sha1_hex(body->p, body->n, sha);
    e = net_dict_find(&R->scripts, sha, 40);
    if (e) {
        *ref = (int)(intptr_t)e->value - 1;
        return 0;
    }
    unsigned flags;
    size_t skip;
    if (eval_shebang(c, body->p, body->n, &flags, &skip))
        return 1;
    /* The shebang line stays as a comment: line numbers as written. */
    char *code = malloc(body->n + 2);
    if (!code)
        return FFDB_ENOMEM;
    memcpy(code, body->p, body->n);
    if (skip)
        code[0] = code[1] = '-';
    if (luaL_loadbuffer(R->L, code, body->n, "@user_script")) {
        reply_errorf(c->r, "ERR Error compiling script (new function): %s", lua_tostring(R->L, -1));
        lua_pop(R->L, 1);
        free(code);
        return 1;
    }
    free(code);
    *ref = luaL_ref(R->L, LUA_REGISTRYINDEX);
    e = net_dict_upsert(&R->scripts, sha, 40, &created);
    if (!e) {
        luaL_unref(R->L, LUA_REGISTRYINDEX, *ref);
        return FFDB_ENOMEM;
    }
    e->value = (void *)(intptr_t)(*ref + 1);
    /* The flags ride on a second table: flags of the sha, kept with the function. */
    lua_pushlightuserdata(R->L, (void *)(intptr_t)(*ref * 2 + 1));
    lua_pushnumber(R->L, flags);
    lua_rawset(R->L, LUA_REGISTRYINDEX);
    return 0;
}

static unsigned script_flags(redis_lua *R, int ref)
{
    unsigned f;
    lua_pushlightuserdata(R->L, (void *)(intptr_t)(ref * 2 + 1));
    lua_rawget(R->L, LUA_REGISTRYINDEX);
    f = (unsigned)lua_tonumber(R->L, -1);
    lua_pop(R->L, 1);
    return f;
}

/* 1 if a body's shebang line ("#!lua flags=a,b") names no-writes. */
static int shebang_no_writes(const char *p, size_t n)
{
    const char *end = memchr(p, '\n', n), *f;

    if (n < 2 || p[0] != '#' || p[1] != '!')
        return 0;
    end = end ? end : p + n;
    for (f = p; f + 6 <= end; f++)
        if (memcmp(f, "flags=", 6) == 0)
            break;
    for (f += 6; f < end;) {
        const char *t = f;
        while (f < end && *f != ',' && *f != ' ' && *f != '\r')
            f++;
        if (f - t == 9 && memcmp(t, "no-writes", 9) == 0)
            return 1;
        if (f < end && *f != ',')
            break;
        f++;
    }
    return 0;
}

int script_declares_no_writes(redis_server *s, int argc, const resp_arg *argv)
{
    redis_lua *R = s->lua;
    net_dict_entry *e;
    char sha[41];

    if (argc < 2)
        return 0;
    if (resp_arg_is(&argv[0], "eval")) {
        redis_sha1_hex(argv[1].p, argv[1].n, sha);
        e = R ? net_dict_find(&R->scripts, sha, 40) : NULL;
        return e ? (script_flags(R, (int)(intptr_t)e->value - 1) & SCRIPT_NO_WRITES) != 0
                 : shebang_no_writes(argv[1].p, argv[1].n);
    }
    if (!R)
        return 0;
    if (resp_arg_is(&argv[0], "evalsha")) {
        e = argv[1].n == 40 ? net_dict_find(&R->scripts, argv[1].p, 40) : NULL;
        return e && (script_flags(R, (int)(intptr_t)e->value - 1) & SCRIPT_NO_WRITES);
    }
    if (resp_arg_is(&argv[0], "fcall")) {
        e = net_dict_find(&R->funcs, argv[1].p, argv[1].n);
        return e && (((const script_func *)e->value)->flags & SCRIPT_NO_WRITES);
    }
    return 0;
}

static int eval_generic(resp_ctx *c, int by_sha, int ro_cmd)
{
    redis_lua *R;
    char sha[41];
    int ref, rc = script_vm(c, &R);

    if (rc)
        return rc;
    if (by_sha) {
        net_dict_entry *e = NULL;
        if (c->argv[1].n == 40) {
            for (int i = 0; i < 40; i++)
                sha[i] = (char)(c->argv[1].p[i] | 0x20); /* lowercase hex */
            e = net_dict_find(&R->scripts, sha, 40);
        }
        if (!e) {
            reply_error(c->r, "NOSCRIPT No matching script. Please use EVAL.");
            return 0;
        }
        ref = (int)(intptr_t)e->value - 1;
    } else {
        rc = script_cache(c, R, &c->argv[1], &ref, sha);
        if (rc)
            return rc < 0 ? rc : 0;
    }
    int ro = ro_cmd || (script_flags(R, ref) & SCRIPT_NO_WRITES);
    return script_run(c, R, ref, ro, 2, 0);
}

static int eval_cmd(resp_ctx *c)
{
    return eval_generic(c, 0, 0);
}

static int evalsha_cmd(resp_ctx *c)
{
    return eval_generic(c, 1, 0);
}

static int eval_ro_cmd(resp_ctx *c)
{
    return eval_generic(c, 0, 1);
}

static int evalsha_ro_cmd(resp_ctx *c)
{
    return eval_generic(c, 1, 1);
}

/* SCRIPT LOAD body | EXISTS sha... | FLUSH [ASYNC|SYNC] | KILL | HELP */
static int script_cmd(resp_ctx *c)
{
    const resp_arg *sub = &c->argv[1];
    redis_lua *R;
    int rc = script_vm(c, &R);

    if (rc)
        return rc;
    if (resp_arg_is(sub, "load") && c->argc == 3) {
        char sha[41];
        int ref;
        rc = script_cache(c, R, &c->argv[2], &ref, sha);
        if (rc)
            return rc < 0 ? rc : 0;
        reply_bulk(c->r, sha, 40);
    } else if (resp_arg_is(sub, "exists") && c->argc >= 3) {
        reply_array(c->r, (size_t)(c->argc - 2));
        for (int i = 2; i < c->argc; i++) {
            char sha[40];
            int found = 0;
            if (c->argv[i].n == 40) {
                for (int j = 0; j < 40; j++)
                    sha[j] = (char)(c->argv[i].p[j] | 0x20);
                found = net_dict_find(&R->scripts, sha, 40) != NULL;
            }
            reply_int(c->r, found);
        }
    } else if (resp_arg_is(sub, "flush") && c->argc <= 3) {
        if (c->argc == 3 && !resp_arg_is(&c->argv[2], "async") &&
            !resp_arg_is(&c->argv[2], "sync")) {
            reply_error(c->r, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            return 0;
        }
        for (size_t i = 0; i < R->scripts.slot_count; i++)
            for (net_dict_entry *e = R->scripts.slots[i]; e; e = e->next)
                luaL_unref(R->L, LUA_REGISTRYINDEX, (int)(intptr_t)e->value - 1);
        net_dict_free(&R->scripts);
        net_dict_init(&R->scripts, 0);
        reply_ok(c->r);
    } else if (resp_arg_is(sub, "kill") && c->argc == 2) {
        reply_error(c->r, "NOTBUSY No scripts in execution right now.");
    } else if (resp_arg_is(sub, "help") && c->argc == 2) {
        static const char *const lines[] = {
            "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "EXISTS <sha1> [<sha1> ...]",
            "FLUSH [ASYNC|SYNC]",
            "KILL",
            "LOAD <script>",
            "HELP",
        };
        reply_array(c->r, sizeof(lines) / sizeof(lines[0]));
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
            reply_simple(c->r, lines[i]);
    } else {
        static const char *const known[] = {"load", "exists", "flush", "kill", "help", NULL};
        return resp_err_subcommand(c->r, c->cmd, sub, known);
    }
    return 0;
}

/* ---- function libraries
 * ---------------------------------------------------------------------------- */

script_lib *script_lib_find(redis_lua *R, const void *name, size_t n)
{
    for (size_t i = 0; i < R->nlibs; i++)
        if (strlen(R->libs[i]->name) == n && strncasecmp(R->libs[i]->name, name, n) == 0)
            return R->libs[i];
    return NULL;
}

/* Take lib's functions out of the name index, or put them in. */
static void index_lib(redis_lua *R, script_lib *lib, int add)
{
    for (size_t i = 0; i < lib->nfuncs; i++) {
        const char *n = lib->funcs[i]->name;
        if (add) {
            int created;
            net_dict_entry *e = net_dict_upsert(&R->funcs, n, strlen(n), &created);
            if (e)
                e->value = lib->funcs[i];
        } else {
            net_dict_remove(&R->funcs, n, strlen(n));
        }
    }
}

static void unlist_lib(redis_lua *R, script_lib *lib)
{
    index_lib(R, lib, 0);
    for (size_t i = 0; i < R->nlibs; i++)
        if (R->libs[i] == lib) {
            memmove(R->libs + i, R->libs + i + 1, (R->nlibs - i - 1) * sizeof(*R->libs));
            R->nlibs--;
            break;
        }
}

static int list_lib(redis_lua *R, script_lib *lib)
{
    if (R->nlibs == R->libs_cap) {
        size_t cap = R->libs_cap ? R->libs_cap * 2 : 8;
        script_lib **p = realloc(R->libs, cap * sizeof(*p));
        if (!p)
            return -1;
        R->libs = p;
        R->libs_cap = cap;
    }
    R->libs[R->nlibs++] = lib;
    index_lib(R, lib, 1);
    return 0;
}

static int open_functions(store_txn *st, int create, ffdb_bucket **b)
{
    ffdb_txn *txn = store_txn_engine(st);
    int rc = ffdb_bucket_open(txn, FUNCTIONS_BUCKET, strlen(FUNCTIONS_BUCKET), b);
    if (rc == FFDB_NOTFOUND && create)
        rc = ffdb_bucket_create(txn, FUNCTIONS_BUCKET, strlen(FUNCTIONS_BUCKET), b);
    return rc;
}

int script_lib_save(store_txn *st, const script_lib *lib)
{
    ffdb_bucket *b;
    int rc = open_functions(st, 1, &b);
    if (rc)
        return rc;
    return ffdb_put(b, lib->name, strlen(lib->name), lib->code, lib->code_len);
}

int script_lib_remove(redis_lua *R, store_txn *st, script_lib *lib)
{
    int rc = 0;

    if (st) {
        ffdb_bucket *b;
        rc = open_functions(st, 0, &b);
        if (rc == 0)
            rc = ffdb_delete(b, lib->name, strlen(lib->name));
        else if (rc == FFDB_NOTFOUND)
            rc = 0;
    }
    unlist_lib(R, lib);
    lib_free(R->L, lib);
    return rc;
}

/* "#!lua name=<lib>" first line: the name copied into name (cap bytes); 0
 * or 1 after an error reply. */
static int lib_shebang(resp_ctx *c, const char *code, size_t n, char *name, size_t cap)
{
    const char *nl = memchr(code, '\n', n);
    size_t len = nl ? (size_t)(nl - code) : n;
    char line[1024], *tok, *save;

    name[0] = '\0';
    if (n < 2 || code[0] != '#' || code[1] != '!') {
        reply_error(c->r, "ERR Missing library metadata");
        return 1;
    }
    if (len >= sizeof(line)) {
        reply_error(c->r, "ERR Invalid metadata value given");
        return 1;
    }
    memcpy(line, code + 2, len - 2);
    line[len - 2] = '\0';
    tok = strtok_r(line, " ", &save);
    if (!tok || strcasecmp(tok, "lua") != 0) {
        reply_errorf(c->r, "ERR Engine '%s' not found", tok ? tok : "");
        return 1;
    }
    while ((tok = strtok_r(NULL, " ", &save))) {
        if (strncmp(tok, "name=", 5) != 0 || strlen(tok + 5) >= cap) {
            reply_errorf(c->r, "ERR Invalid metadata value given: %s", tok);
            return 1;
        }
        strcpy(name, tok + 5);
    }
    if (!name[0]) {
        reply_error(c->r, "ERR Library name was not given");
        return 1;
    }
    if (!valid_func_name(name, strlen(name))) {
        reply_error(c->r, "ERR Library names can only contain letters, numbers, or underscores(_) "
                          "and must be at least one character long");
        return 1;
    }
    return 0;
}

int script_lib_load(resp_ctx *c, redis_lua *R, const char *code, size_t n, int replace,
                    script_lib **out)
{
    lua_State *L = R->L;
    char name[256];
    script_lib *lib, *old;
    char *src;

    if (lib_shebang(c, code, n, name, sizeof(name)))
        return 1;
    old = script_lib_find(R, name, strlen(name));
    if (old && !replace) {
        reply_errorf(c->r, "ERR Library '%s' already exists", name);
        return 1;
    }
    lib = calloc(1, sizeof(*lib));
    src = malloc(n + 1);
    if (!lib || !src || !(lib->name = strdup(name)) || !(lib->code = malloc(n + 1))) {
        free(src);
        if (lib)
            free(lib->name);
        free(lib);
        reply_error(c->r, "ERR out of memory");
        return 1;
    }
    memcpy(lib->code, code, n);
    lib->code_len = n;
    memcpy(src, code, n);
    src[0] = src[1] = '-'; /* the metadata line becomes a comment */
    if (luaL_loadbuffer(L, src, n, "@user_function")) {
        reply_errorf(c->r, "ERR Error compiling function: %s", lua_tostring(L, -1));
        lua_settop(L, 0);
        free(src);
        lib_free(L, lib);
        return 1;
    }
    free(src);
    R->loading = lib;
    int rc = lua_pcall(L, 0, 0, 0);
    R->loading = NULL;
    if (rc) {
        reply_errorf(c->r, "ERR Error registering functions: %s", lua_tostring(L, -1));
        lua_settop(L, 0);
        lib_free(L, lib);
        return 1;
    }
    if (lib->nfuncs == 0) {
        reply_error(c->r, "ERR No functions registered");
        lib_free(L, lib);
        return 1;
    }
    for (size_t i = 0; i < lib->nfuncs; i++) {
        net_dict_entry *e =
            net_dict_find(&R->funcs, lib->funcs[i]->name, strlen(lib->funcs[i]->name));
        if (e && ((script_func *)e->value)->lib != old) {
            reply_errorf(c->r, "ERR Function %s already exists", lib->funcs[i]->name);
            lib_free(L, lib);
            return 1;
        }
    }
    if (old) {
        unlist_lib(R, old);
        lib_free(L, old);
    }
    if (list_lib(R, lib)) {
        lib_free(L, lib);
        reply_error(c->r, "ERR out of memory");
        return 1;
    }
    *out = lib;
    return 0;
}

#define S RESP_CMD_NOSCRIPT

const resp_command redis_cmds_lua[] = {
    {"eval", eval_cmd, -3, RESP_CMD_WRITE | S, 0, 0, 0, "scripting", "Execute a Lua script"},
    {"evalsha", evalsha_cmd, -3, RESP_CMD_WRITE | S, 0, 0, 0, "scripting",
     "Execute a cached Lua script by its SHA1 digest"},
    {"eval_ro", eval_ro_cmd, -3, RESP_CMD_READONLY | S, 0, 0, 0, "scripting",
     "Execute a read-only Lua script"},
    {"evalsha_ro", evalsha_ro_cmd, -3, RESP_CMD_READONLY | S, 0, 0, 0, "scripting",
     "Execute a read-only cached Lua script by its SHA1 digest"},
    {"script", script_cmd, -2, S, 0, 0, 0, "scripting",
     "A container for Lua scripts management commands"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
