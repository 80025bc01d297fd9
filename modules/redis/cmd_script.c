/*
 * cmd_script.c — FUNCTION (LOAD LIST DELETE FLUSH DUMP RESTORE STATS KILL)
 * and FCALL / FCALL_RO over the Lua VM of script_lua.c (script.h).
 *
 * A library is loaded into the VM and saved in the file in the same
 * command (flagged WRITE: the batch's txn), so it is durable when the
 * reply is, and is loaded again when a restarted server first needs Lua.
 * FUNCTION DUMP's payload is ffdb's own (below), not Redis's RDB encoding:
 * a dump from Redis does not restore here, nor the other way round.
 *
 * DUMP payload: "FFDBFN1\0", then for each library a 4-byte big-endian
 * length and the library's code (its first line names it).
 */
#include <stdlib.h>
#include <string.h>

#include "modules/redis/script.h"

#define DUMP_MAGIC "FFDBFN1"
#define DUMP_MAGIC_LEN 8 /* with its NUL */

/* FUNCTION LOAD [REPLACE] code */
static int function_load(resp_ctx *c, redis_lua *R)
{
    int replace = 0, at = 2;
    script_lib *lib;

    for (; at < c->argc - 1; at++) {
        if (!resp_arg_is(&c->argv[at], "replace")) {
            reply_errorf(c->r, "ERR Unknown option given: %.*s", (int)c->argv[at].n, c->argv[at].p);
            return 0;
        }
        replace = 1;
    }
    if (script_lib_load(c, R, c->argv[at].p, c->argv[at].n, replace, &lib))
        return 0;
    int rc = script_lib_save(c->st, lib);
    if (rc)
        return rc;
    reply_bulk_cstr(c->r, lib->name);
    return 0;
}

static void reply_flags(resp_ctx *c, unsigned flags)
{
    static const struct {
        unsigned flag;
        const char *name;
    } names[] = {{SCRIPT_NO_WRITES, "no-writes"},
                 {SCRIPT_ALLOW_OOM, "allow-oom"},
                 {SCRIPT_ALLOW_STALE, "allow-stale"},
                 {SCRIPT_NO_CLUSTER, "no-cluster"},
                 {SCRIPT_CROSS_SLOT, "allow-cross-slot-keys"}};
    size_t n = 0;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        n += (flags & names[i].flag) != 0;
    reply_set(c->r, n);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (flags & names[i].flag)
            reply_bulk_cstr(c->r, names[i].name);
}

/* FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE] */
static int function_list(resp_ctx *c, redis_lua *R)
{
    const resp_arg *pat = NULL;
    int code = 0;
    size_t n = 0;

    for (int i = 2; i < c->argc; i++) {
        if (resp_arg_is(&c->argv[i], "withcode") && !code) {
            code = 1;
        } else if (resp_arg_is(&c->argv[i], "libraryname") && !pat && i + 1 < c->argc) {
            pat = &c->argv[++i];
        } else {
            reply_errorf(c->r, "ERR Unknown argument %.*s", (int)c->argv[i].n, c->argv[i].p);
            return 0;
        }
    }
    for (size_t i = 0; i < R->nlibs; i++)
        n += !pat || resp_glob_match(pat->p, pat->n, R->libs[i]->name, strlen(R->libs[i]->name), 0);
    reply_array(c->r, n);
    for (size_t i = 0; i < R->nlibs; i++) {
        script_lib *lib = R->libs[i];
        if (pat && !resp_glob_match(pat->p, pat->n, lib->name, strlen(lib->name), 0))
            continue;
        reply_map(c->r, code ? 4 : 3);
        reply_bulk_cstr(c->r, "library_name");
        reply_bulk_cstr(c->r, lib->name);
        reply_bulk_cstr(c->r, "engine");
        reply_bulk_cstr(c->r, "LUA");
        reply_bulk_cstr(c->r, "functions");
        reply_array(c->r, lib->nfuncs);
        for (size_t j = 0; j < lib->nfuncs; j++) {
            script_func *f = lib->funcs[j];
            reply_map(c->r, 3);
            reply_bulk_cstr(c->r, "name");
            reply_bulk_cstr(c->r, f->name);
            reply_bulk_cstr(c->r, "description");
            if (f->desc)
                reply_bulk_cstr(c->r, f->desc);
            else
                reply_null(c->r);
            reply_bulk_cstr(c->r, "flags");
            reply_flags(c, f->flags);
        }
        if (code) {
            reply_bulk_cstr(c->r, "library_code");
            reply_bulk(c->r, lib->code, lib->code_len);
        }
    }
    return 0;
}

static int flush_all(resp_ctx *c, redis_lua *R)
{
    while (R->nlibs) {
        int rc = script_lib_remove(R, c->st, R->libs[R->nlibs - 1]);
        if (rc)
            return rc;
    }
    return 0;
}

static int function_dump(resp_ctx *c, redis_lua *R)
{
    size_t n = DUMP_MAGIC_LEN;
    char *buf, *p;

    for (size_t i = 0; i < R->nlibs; i++)
        n += 4 + R->libs[i]->code_len;
    buf = malloc(n);
    if (!buf)
        return FFDB_ENOMEM;
    memcpy(buf, DUMP_MAGIC, DUMP_MAGIC_LEN);
    p = buf + DUMP_MAGIC_LEN;
    for (size_t i = 0; i < R->nlibs; i++) {
        size_t len = R->libs[i]->code_len;
        p[0] = (char)(len >> 24), p[1] = (char)(len >> 16), p[2] = (char)(len >> 8),
        p[3] = (char)len;
        memcpy(p + 4, R->libs[i]->code, len);
        p += 4 + len;
    }
    reply_bulk(c->r, buf, n);
    free(buf);
    return 0;
}

/* FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]: every library checked
 * first (a bad payload changes nothing). */
static int function_restore(resp_ctx *c, redis_lua *R)
{
    const unsigned char *p = (const unsigned char *)c->argv[2].p, *end = p + c->argv[2].n;
    int mode = 1; /* 0 flush, 1 append, 2 replace */
    size_t count = 0;

    if (c->argc == 4) {
        if (resp_arg_is(&c->argv[3], "flush"))
            mode = 0;
        else if (resp_arg_is(&c->argv[3], "append"))
            mode = 1;
        else if (resp_arg_is(&c->argv[3], "replace"))
            mode = 2;
        else {
            reply_error(c->r, "ERR Wrong restore policy given, value should be either FLUSH, "
                              "APPEND or REPLACE.");
            return 0;
        }
    } else if (c->argc > 4) {
        return resp_err_syntax(c->r);
    }
    if ((size_t)(end - p) < DUMP_MAGIC_LEN || memcmp(p, DUMP_MAGIC, DUMP_MAGIC_LEN) != 0) {
        reply_error(c->r, "ERR payload version or checksum are wrong");
        return 0;
    }
    for (const unsigned char *q = p + DUMP_MAGIC_LEN; q < end; count++) {
        size_t len;
        if (end - q < 4 || (len = (size_t)q[0] << 24 | (size_t)q[1] << 16 | (size_t)q[2] << 8 |
                                  q[3]) > (size_t)(end - q - 4)) {
            reply_error(c->r, "ERR payload version or checksum are wrong");
            return 0;
        }
        q += 4 + len;
    }
    if (mode == 0) {
        int rc = flush_all(c, R);
        if (rc)
            return rc;
    }
    for (const unsigned char *q = p + DUMP_MAGIC_LEN; q < end;) {
        size_t len = (size_t)q[0] << 24 | (size_t)q[1] << 16 | (size_t)q[2] << 8 | q[3];
        script_lib *lib;
        if (script_lib_load(c, R, (const char *)q + 4, len, mode == 2, &lib))
            return 0; /* the error reply; the libraries before it stay, as in Redis */
        int rc = script_lib_save(c->st, lib);
        if (rc)
            return rc;
        q += 4 + len;
    }
    reply_ok(c->r);
    return 0;
}

/* FUNCTION LOAD | LIST | DELETE | FLUSH | DUMP | RESTORE | STATS | KILL | HELP */
static int function_cmd(resp_ctx *c)
{
    const resp_arg *sub = &c->argv[1];
    redis_lua *R;
    int rc = script_vm(c, &R);

    if (rc)
        return rc;
    if (resp_arg_is(sub, "load") && c->argc >= 3) {
        return function_load(c, R);
    } else if (resp_arg_is(sub, "list")) {
        return function_list(c, R);
    } else if (resp_arg_is(sub, "delete") && c->argc == 3) {
        script_lib *lib = script_lib_find(R, c->argv[2].p, c->argv[2].n);
        if (!lib) {
            reply_error(c->r, "ERR Library not found");
            return 0;
        }
        rc = script_lib_remove(R, c->st, lib);
        if (rc)
            return rc;
        reply_ok(c->r);
    } else if (resp_arg_is(sub, "flush") && c->argc <= 3) {
        if (c->argc == 3 && !resp_arg_is(&c->argv[2], "async") && !resp_arg_is(&c->argv[2], "sync"))
            return resp_err_syntax(c->r);
        rc = flush_all(c, R);
        if (rc)
            return rc;
        reply_ok(c->r);
    } else if (resp_arg_is(sub, "dump") && c->argc == 2) {
        return function_dump(c, R);
    } else if (resp_arg_is(sub, "restore") && c->argc >= 3 && c->argc <= 4) {
        return function_restore(c, R);
    } else if (resp_arg_is(sub, "stats") && c->argc == 2) {
        size_t funcs = 0;
        for (size_t i = 0; i < R->nlibs; i++)
            funcs += R->libs[i]->nfuncs;
        reply_map(c->r, 2);
        reply_bulk_cstr(c->r, "running_script");
        reply_null(c->r);
        reply_bulk_cstr(c->r, "engines");
        reply_map(c->r, 1);
        reply_bulk_cstr(c->r, "LUA");
        reply_map(c->r, 2);
        reply_bulk_cstr(c->r, "libraries_count");
        reply_int(c->r, (int64_t)R->nlibs);
        reply_bulk_cstr(c->r, "functions_count");
        reply_int(c->r, (int64_t)funcs);
    } else if (resp_arg_is(sub, "kill") && c->argc == 2) {
        reply_error(c->r, "NOTBUSY No scripts in execution right now.");
    } else if (resp_arg_is(sub, "help") && c->argc == 2) {
        static const char *const lines[] = {
            "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LOAD [REPLACE] <FUNCTION CODE>",
            "DELETE <LIBRARY NAME>",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "FLUSH [ASYNC|SYNC]",
            "DUMP",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "STATS",
            "KILL",
            "HELP",
        };
        reply_array(c->r, sizeof(lines) / sizeof(lines[0]));
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
            reply_simple(c->r, lines[i]);
    } else if (resp_arg_is(sub, "restore") || resp_arg_is(sub, "delete") ||
               resp_arg_is(sub, "load")) {
        reply_errorf(c->r,
                     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                     "FUNCTION HELP.",
                     (int)sub->n, sub->p);
    } else {
        static const char *const known[] = {"load",    "list",  "delete", "flush", "dump",
                                            "restore", "stats", "kill",   "help",  NULL};
        return resp_err_subcommand(c->r, c->cmd, sub, known);
    }
    return 0;
}

/* FCALL / FCALL_RO function numkeys key... arg... */
static int fcall_generic(resp_ctx *c, int ro_cmd)
{
    redis_lua *R;
    net_dict_entry *e;
    script_func *f;
    int rc = script_vm(c, &R);

    if (rc)
        return rc;
    e = net_dict_find(&R->funcs, c->argv[1].p, c->argv[1].n);
    if (!e) {
        reply_error(c->r, "ERR Function not found");
        return 0;
    }
    f = e->value;
    if (ro_cmd && !(f->flags & SCRIPT_NO_WRITES)) {
        reply_error(c->r, "ERR Can not execute a script with write flag using *_ro command.");
        return 0;
    }
    return script_run(c, R, f->ref, ro_cmd || (f->flags & SCRIPT_NO_WRITES), 2, 1);
}

static int fcall_cmd(resp_ctx *c)
{
    return fcall_generic(c, 0);
}

static int fcall_ro_cmd(resp_ctx *c)
{
    return fcall_generic(c, 1);
}

const resp_command redis_cmds_script[] = {
    {"function", function_cmd, -2, RESP_CMD_WRITE | RESP_CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "A container for function commands"},
    {"fcall", fcall_cmd, -3, RESP_CMD_WRITE | RESP_CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Invoke a function"},
    {"fcall_ro", fcall_ro_cmd, -3, RESP_CMD_READONLY | RESP_CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "Invoke a read-only function"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
