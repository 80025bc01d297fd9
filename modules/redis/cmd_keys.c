/*
 * cmd_keys.c — the generic key commands: DEL UNLINK EXISTS TOUCH TYPE,
 * the EXPIRE family and TTL family, PERSIST, KEYS, SCAN, RENAME(NX),
 * RANDOMKEY, MOVE, COPY.
 *
 * Everything here works through store.h, whatever the key's type: deleting
 * or expiring a collection is O(1) (its elements go to the sweeper), RENAME
 * within a database is O(1) (elements are named by version, not by key).
 * Expiry times are absolute Unix milliseconds from c->now_ms, as Redis
 * stores them.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/redis/redis.h"

static int del_cmd(resp_ctx *c)
{
    int64_t n = 0;

    for (int i = 1; i < c->argc; i++) {
        int deleted, rc = store_key_delete(c->st, c->db, c->argv[i].p, c->argv[i].n, &deleted);
        if (rc)
            return rc;
        n += deleted;
    }
    reply_int(c->r, n);
    return 0;
}

/* FFDB-EXPIRED key [key ...]: delete each key that is expired by the
 * command's clock, and nothing else; the count deleted. What the sweeper
 * proposes to a write hook instead of deleting by its own clock: a plain DEL
 * would also delete a key written again between the proposal and its
 * apply. */
static int expired_cmd(resp_ctx *c)
{
    int64_t n = 0;

    for (int i = 1; i < c->argc; i++) {
        int rc;
        if (c->argv[i].n > STORE_MAX_KEY)
            continue; /* can never exist */
        rc = store_key_expired(c->st, c->db, c->argv[i].p, c->argv[i].n);
        if (rc == 1)
            rc = store_key_delete(c->st, c->db, c->argv[i].p, c->argv[i].n, NULL);
        else if (rc == 0)
            continue;
        if (rc)
            return rc;
        n++;
    }
    reply_int(c->r, n);
    return 0;
}

static int exists_cmd(resp_ctx *c)
{
    int64_t n = 0;

    for (int i = 1; i < c->argc; i++) {
        store_meta m;
        int rc = store_lookup(c->st, c->db, c->argv[i].p, c->argv[i].n, &m);
        if (rc && rc != FFDB_NOTFOUND)
            return rc;
        n += rc == 0;
    }
    reply_int(c->r, n);
    return 0;
}

static int type_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = store_lookup(c->st, c->db, c->argv[1].p, c->argv[1].n, &m);

    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    reply_simple(c->r, rc ? "none" : store_type_name(m.type));
    return 0;
}

/* ---- expiry ------------------------------------------------------------------------------- */

enum { EX_NX = 1, EX_XX = 2, EX_GT = 4, EX_LT = 8 };

static int expire_flags(resp_ctx *c, unsigned *flags)
{
    *flags = 0;
    for (int i = 3; i < c->argc; i++) {
        const resp_arg *a = &c->argv[i];
        if (resp_arg_is(a, "nx"))
            *flags |= EX_NX;
        else if (resp_arg_is(a, "xx"))
            *flags |= EX_XX;
        else if (resp_arg_is(a, "gt"))
            *flags |= EX_GT;
        else if (resp_arg_is(a, "lt"))
            *flags |= EX_LT;
        else {
            reply_errorf(c->r, "ERR Unsupported option %.*s", (int)(a->n < 64 ? a->n : 64), a->p);
            return 1;
        }
    }
    if ((*flags & EX_NX) && (*flags & (EX_XX | EX_GT | EX_LT))) {
        reply_error(c->r, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return 1;
    }
    if ((*flags & EX_GT) && (*flags & EX_LT)) {
        reply_error(c->r, "ERR GT and LT options at the same time are not compatible");
        return 1;
    }
    return 0;
}

/* EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: unit_ms 1000 or 1; absolute or not. */
static int expire_generic(resp_ctx *c, int64_t unit_ms, int absolute)
{
    int64_t v, when;
    unsigned flags;
    store_meta m;
    int rc;

    if (resp_arg_i64(c->r, &c->argv[2], &v) || expire_flags(c, &flags))
        return 0;
    if (__builtin_mul_overflow(v, unit_ms, &when) ||
        (!absolute && __builtin_add_overflow(when, c->now_ms, &when))) {
        reply_errorf(c->r, "ERR invalid expire time in '%s' command", c->cmd->name);
        return 0;
    }
    rc = store_lookup(c->st, c->db, c->argv[1].p, c->argv[1].n, &m);
    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return rc;
    if (((flags & EX_NX) && m.expire_ms) || ((flags & EX_XX) && !m.expire_ms) ||
        ((flags & EX_GT) && (!m.expire_ms || when <= m.expire_ms)) ||
        ((flags & EX_LT) && m.expire_ms && when >= m.expire_ms)) {
        reply_int(c->r, 0);
        return 0;
    }
    /* A time at or before now deletes the key, as in Redis. */
    if (when <= c->now_ms)
        rc = store_key_delete(c->st, c->db, c->argv[1].p, c->argv[1].n, NULL);
    else
        rc = store_key_expire(c->st, c->db, c->argv[1].p, c->argv[1].n, when);
    if (rc)
        return rc;
    reply_int(c->r, 1);
    return 0;
}

static int expire_cmd(resp_ctx *c)
{
    return expire_generic(c, 1000, 0);
}

static int pexpire_cmd(resp_ctx *c)
{
    return expire_generic(c, 1, 0);
}

static int expireat_cmd(resp_ctx *c)
{
    return expire_generic(c, 1000, 1);
}

static int pexpireat_cmd(resp_ctx *c)
{
    return expire_generic(c, 1, 1);
}

/* TTL, PTTL, EXPIRETIME, PEXPIRETIME. */
static int ttl_generic(resp_ctx *c, int ms, int absolute)
{
    store_meta m;
    int rc = store_lookup(c->st, c->db, c->argv[1].p, c->argv[1].n, &m);
    int64_t v;

    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, -2);
        return 0;
    }
    if (rc)
        return rc;
    if (!m.expire_ms) {
        reply_int(c->r, -1);
        return 0;
    }
    v = absolute ? m.expire_ms : m.expire_ms - c->now_ms;
    if (v < 0)
        v = 0;
    /* Redis rounds to the nearest second. */
    reply_int(c->r, ms ? v : (v + 500) / 1000);
    return 0;
}

static int ttl_cmd(resp_ctx *c)
{
    return ttl_generic(c, 0, 0);
}

static int pttl_cmd(resp_ctx *c)
{
    return ttl_generic(c, 1, 0);
}

static int expiretime_cmd(resp_ctx *c)
{
    return ttl_generic(c, 0, 1);
}

static int pexpiretime_cmd(resp_ctx *c)
{
    return ttl_generic(c, 1, 1);
}

static int persist_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = store_lookup(c->st, c->db, c->argv[1].p, c->argv[1].n, &m);

    if (rc == FFDB_NOTFOUND || (rc == 0 && !m.expire_ms)) {
        reply_int(c->r, 0);
        return 0;
    }
    if (!rc)
        rc = store_key_expire(c->st, c->db, c->argv[1].p, c->argv[1].n, 0);
    if (rc)
        return rc;
    reply_int(c->r, 1);
    return 0;
}

/* ---- KEYS and SCAN ------------------------------------------------------------------------ */

/* The literal bytes a glob pattern starts with: keys outside that prefix can
 * be skipped by seeking. Escapes end it (simpler, never wrong). */
static size_t literal_prefix(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] != '*' && p[i] != '?' && p[i] != '[' && p[i] != '\\')
        i++;
    return i;
}

struct keys_walk {
    resp_reply *r;
    const char *pat;
    size_t plen, prefix;
    size_t n;
};

static int keys_visit(void *arg, const void *key, size_t klen, const store_meta *m)
{
    struct keys_walk *w = arg;

    (void)m;
    if (klen < w->prefix || memcmp(key, w->pat, w->prefix) != 0)
        return 1; /* past the prefix: done */
    if (resp_glob_match(w->pat, w->plen, key, klen, 0)) {
        reply_bulk(w->r, key, klen);
        w->n++;
    }
    return w->r->out->overflow ? 1 : 0;
}

static int keys_cmd(resp_ctx *c)
{
    struct keys_walk w = {c->r, c->argv[1].p, c->argv[1].n, 0, 0};
    resp_defer d = reply_defer(c->r);
    int rc;

    w.prefix = literal_prefix(w.pat, w.plen);
    rc = store_keys_walk(c->st, c->db, w.prefix ? w.pat : NULL, w.prefix, keys_visit, &w);
    if (rc < 0)
        return rc;
    reply_defer_array(c->r, d, w.n);
    return 0;
}

struct scan_walk {
    resp_ctx *c;
    redis_scan_args *a;
    resp_reply keys; /* elements, written aside: the cursor goes first */
    int64_t examined;
    size_t n;
    char next[STORE_MAX_KEY];
    size_t next_len;
    int more;
};

static int scan_visit(void *arg, const void *key, size_t klen, const store_meta *m)
{
    struct scan_walk *w = arg;

    if (w->examined >= w->a->count) {
        memcpy(w->next, key, klen);
        w->next_len = klen;
        w->more = 1;
        return 1;
    }
    w->examined++;
    if (w->a->type >= 0 && m->type != w->a->type)
        return 0;
    if (w->a->match && !resp_glob_match(w->a->match, w->a->match_len, key, klen, 0))
        return 0;
    reply_bulk(&w->keys, key, klen);
    w->n++;
    return 0;
}

static int scan_cmd(resp_ctx *c)
{
    redis_scan_args a;
    struct scan_walk *w;
    char pos[STORE_MAX_KEY];
    size_t pos_len;
    net_buf keys;
    uint64_t cursor = 0;
    int rc;

    if (redis_scan_parse(c, 1, 1, &a))
        return 0;
    w = calloc(1, sizeof(*w));
    if (!w)
        return FFDB_ENOMEM;
    net_buf_init(&keys, 0);
    w->c = c;
    w->a = &a;
    w->keys.out = &keys;
    w->keys.proto = c->r->proto;
    redis_cursor_position(c->srv, a.cursor, pos, sizeof(pos), &pos_len);
    rc = store_keys_walk(c->st, c->db, pos_len ? pos : NULL, pos_len, scan_visit, w);
    if (rc >= 0) {
        rc = 0;
        if (w->more)
            cursor = redis_cursor_save(c->srv, w->next, w->next_len);
        redis_scan_reply(c, cursor, w->n, &keys);
    }
    net_buf_free(&keys);
    free(w);
    return rc;
}

/* ---- RENAME, MOVE, COPY, RANDOMKEY ---------------------------------------------------------- */

static int rename_generic(resp_ctx *c, int nx)
{
    const resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    store_meta m;
    int rc = store_lookup(c->st, c->db, src->p, src->n, &m);

    if (rc == FFDB_NOTFOUND)
        return resp_err_no_key(c->r);
    if (rc)
        return rc;
    if (nx) {
        if (src->n == dst->n && memcmp(src->p, dst->p, src->n) == 0) {
            reply_int(c->r, 0);
            return 0;
        }
        rc = store_lookup(c->st, c->db, dst->p, dst->n, &m);
        if (rc == 0) {
            reply_int(c->r, 0);
            return 0;
        }
        if (rc != FFDB_NOTFOUND)
            return rc;
    }
    rc = store_key_rename(c->st, c->db, src->p, src->n, c->db, dst->p, dst->n);
    if (rc)
        return redis_store_error(c, rc);
    if (nx)
        reply_int(c->r, 1);
    else
        reply_ok(c->r);
    return 0;
}

static int rename_cmd(resp_ctx *c)
{
    return rename_generic(c, 0);
}

static int renamenx_cmd(resp_ctx *c)
{
    return rename_generic(c, 1);
}

static int db_arg(resp_ctx *c, const resp_arg *a, int *db)
{
    int64_t v;

    if (resp_arg_i64(c->r, a, &v))
        return 1;
    if (v < 0 || v >= STORE_DBS) {
        reply_error(c->r, "ERR DB index is out of range");
        return 1;
    }
    *db = (int)v;
    return 0;
}

static int move_cmd(resp_ctx *c)
{
    const resp_arg *k = &c->argv[1];
    store_meta m;
    int db, rc;

    if (db_arg(c, &c->argv[2], &db))
        return 0;
    if (db == c->db) {
        reply_error(c->r, "ERR source and destination objects are the same");
        return 0;
    }
    rc = store_lookup(c->st, c->db, k->p, k->n, &m);
    if (rc == 0)
        rc = store_lookup(c->st, db, k->p, k->n, &m) == 0 ? 1 : 0;
    else if (rc == FFDB_NOTFOUND)
        rc = 1;
    if (rc < 0)
        return rc;
    if (rc == 1) { /* absent here, or present there */
        reply_int(c->r, 0);
        return 0;
    }
    rc = store_key_rename(c->st, c->db, k->p, k->n, db, k->p, k->n);
    if (rc)
        return redis_store_error(c, rc);
    reply_int(c->r, 1);
    return 0;
}

static int copy_cmd(resp_ctx *c)
{
    const resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    int db = c->db, replace = 0, rc;

    for (int i = 3; i < c->argc; i++) {
        if (resp_arg_is(&c->argv[i], "replace")) {
            replace = 1;
        } else if (resp_arg_is(&c->argv[i], "db") && i + 1 < c->argc) {
            if (db_arg(c, &c->argv[++i], &db))
                return 0;
        } else {
            return resp_err_syntax(c->r);
        }
    }
    if (db == c->db && src->n == dst->n && memcmp(src->p, dst->p, src->n) == 0) {
        reply_error(c->r, "ERR source and destination objects are the same");
        return 0;
    }
    rc = store_key_copy(c->st, c->db, src->p, src->n, db, dst->p, dst->n, replace);
    if (rc == FFDB_NOTFOUND || rc == FFDB_EXISTS) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    reply_int(c->r, 1);
    return 0;
}

static int randomkey_cmd(resp_ctx *c)
{
    char key[STORE_MAX_KEY];
    size_t klen;
    int rc = store_random_key(c->st, c->db, redis_random(c->srv), key, &klen);

    if (rc == FFDB_NOTFOUND) {
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return rc;
    reply_bulk(c->r, key, klen);
    return 0;
}

/* OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ|HELP: what tools ask. Encodings
 * are Redis's names for what a value of that size would be in Redis (ffdb
 * has one layout per type); idle times and frequencies are not tracked. */
static int object_cmd(resp_ctx *c)
{
    static const char *const known[] = {"encoding", "refcount", "idletime", "freq", "help", NULL};
    const resp_arg *sub = &c->argv[1];
    store_meta m;
    int rc;

    if (resp_arg_is(sub, "help") && c->argc == 2) {
        reply_array(c->r, 4);
        reply_simple(c->r, "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        reply_simple(c->r, "ENCODING <key>");
        reply_simple(c->r, "IDLETIME <key>");
        reply_simple(c->r, "REFCOUNT <key>");
        return 0;
    }
    if (c->argc != 3 || !(resp_arg_is(sub, "encoding") || resp_arg_is(sub, "refcount") ||
                          resp_arg_is(sub, "idletime") || resp_arg_is(sub, "freq")))
        return resp_err_subcommand(c->r, c->cmd, &c->argv[1], known);
    rc = store_lookup(c->st, c->db, c->argv[2].p, c->argv[2].n, &m);
    if (rc == FFDB_NOTFOUND) {
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return rc;
    if (resp_arg_is(sub, "refcount")) {
        reply_int(c->r, 1);
    } else if (resp_arg_is(sub, "idletime")) {
        reply_int(c->r, 0);
    } else if (resp_arg_is(sub, "freq")) {
        reply_error(c->r, "ERR An LFU maxmemory policy is not selected, access frequency not "
                          "tracked. Please note that when switching between policies at runtime "
                          "LRU and LFU data will take some time to adjust.");
    } else {
        reply_bulk_cstr(c->r, redis_object_encoding(&m));
    }
    return 0;
}

#define W RESP_CMD_WRITE
#define R RESP_CMD_READONLY
#define F RESP_CMD_FAST

const resp_command redis_cmds_keys[] = {
    {"del", del_cmd, -2, W, 1, -1, 1, "generic", "Delete a key"},
    {"unlink", del_cmd, -2, W | F, 1, -1, 1, "generic",
     "Delete a key (O(1) whatever its size: elements go to the sweeper)"},
    {"ffdb-expired", expired_cmd, -2, W | F, 1, -1, 1, "generic",
     "Delete the keys that are expired by the command's clock (a replication hook's expiry)"},
    {"exists", exists_cmd, -2, R | F, 1, -1, 1, "generic", "Determine if a key exists"},
    {"touch", exists_cmd, -2, R | F, 1, -1, 1, "generic",
     "Count the keys that exist (access times are not kept)"},
    {"type", type_cmd, 2, R | F, 1, 1, 1, "generic", "Determine the type stored at key"},
    {"expire", expire_cmd, -3, W | F, 1, 1, 1, "generic", "Set a key's time to live in seconds"},
    {"pexpire", pexpire_cmd, -3, W | F, 1, 1, 1, "generic",
     "Set a key's time to live in milliseconds"},
    {"expireat", expireat_cmd, -3, W | F, 1, 1, 1, "generic",
     "Set the expiration for a key as a UNIX timestamp"},
    {"pexpireat", pexpireat_cmd, -3, W | F, 1, 1, 1, "generic",
     "Set the expiration for a key as a UNIX timestamp specified in milliseconds"},
    {"ttl", ttl_cmd, 2, R | F | RESP_CMD_RANDOM, 1, 1, 1, "generic",
     "Get the time to live for a key in seconds"},
    {"pttl", pttl_cmd, 2, R | F | RESP_CMD_RANDOM, 1, 1, 1, "generic",
     "Get the time to live for a key in milliseconds"},
    {"expiretime", expiretime_cmd, 2, R | F, 1, 1, 1, "generic",
     "Get the expiration Unix timestamp for a key"},
    {"pexpiretime", pexpiretime_cmd, 2, R | F, 1, 1, 1, "generic",
     "Get the expiration Unix timestamp for a key in milliseconds"},
    {"persist", persist_cmd, 2, W | F, 1, 1, 1, "generic", "Remove the expiration from a key"},
    {"keys", keys_cmd, 2, R | RESP_CMD_SORTED, 0, 0, 0, "generic",
     "Find all keys matching the given pattern"},
    {"scan", scan_cmd, -2, R | RESP_CMD_RANDOM, 0, 0, 0, "generic",
     "Incrementally iterate the keys space"},
    {"rename", rename_cmd, 3, W, 1, 2, 1, "generic", "Rename a key"},
    {"renamenx", renamenx_cmd, 3, W | F, 1, 2, 1, "generic",
     "Rename a key, only if the new key does not exist"},
    {"move", move_cmd, 3, W | F, 1, 1, 1, "generic", "Move a key to another database"},
    {"copy", copy_cmd, -3, W | RESP_CMD_DENYOOM, 1, 2, 1, "generic", "Copy a key"},
    {"object", object_cmd, -2, R | RESP_CMD_RANDOM, 2, 2, 1, "generic",
     "A container for object introspection commands"},
    {"randomkey", randomkey_cmd, 1, R | RESP_CMD_RANDOM, 0, 0, 0, "generic",
     "Return a random key from the keyspace"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
