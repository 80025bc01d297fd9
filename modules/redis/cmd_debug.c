/*
 * cmd_debug.c — DEBUG, the subset of Redis's debugging container that
 * clients and Redis's own test suite call, and the encoding names OBJECT
 * ENCODING and DEBUG OBJECT report.
 *
 * What Redis's DEBUG does to its in-memory encodings (QUICKLIST-PACKED-
 * THRESHOLD, LISTPACK limits, SET-ACTIVE-EXPIRE) has nothing to act on in
 * ffdb and answers OK; RELOAD answers OK because every acknowledged write is
 * already in the data file (there is no separate snapshot to save and load);
 * SLEEP blocks the server as Redis's does; PROTOCOL answers each RESP3 type
 * ffdb-server writes. DIGEST is Redis's digest of the whole data set, 20
 * bytes in hex, all zeros when it is empty: each key's digest (below) is
 * XORed in, so it does not depend on the order keys were written or are
 * walked, and two servers holding the same data answer the same digest
 * (the CRDT mode compares nodes with it). The bytes are ffdb's own, not
 * Redis's SHA1 mix: compare ffdb-server with ffdb-server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "modules/redis/cmd.h"

const char *redis_object_encoding(const store_meta *m)
{
    static const char *const enc[] = {"", "", "hashtable", "quicklist", "hashtable", "skiplist",
                                        "stream"};
    int64_t v;

    if (m->type == STORE_STRING)
        return resp_parse_i64(m->value.data, m->value.size, &v) == 0 ? "int"
               : m->value.size <= 44                                 ? "embstr"
                                                                     : "raw";
    return m->type >= 0 && m->type < (int)(sizeof(enc) / sizeof(enc[0])) ? enc[m->type] : "";
}

static int debug_object(resp_ctx *c)
{
    store_meta m;
    char buf[256];
    int rc;

    if (!c->st) { /* DEBUG runs in a read snapshot; none means no keyspace */
        reply_error(c->r, "ERR no such key");
        return 0;
    }
    rc = store_lookup(c->st, c->db, c->argv[2].p, c->argv[2].n, &m);
    if (rc == FFDB_NOTFOUND)
        return resp_err_no_key(c->r);
    if (rc)
        return rc;
    snprintf(buf, sizeof(buf),
             "Value at:0x0 refcount:1 encoding:%s serializedlength:%llu lru:0 "
             "lru_seconds_idle:0",
             redis_object_encoding(&m),
             (unsigned long long)(m.type == STORE_STRING ? m.value.size : m.size));
    reply_simple(c->r, buf);
    return 0;
}

/* DEBUG PROTOCOL <type>: one reply of that RESP3 type (RESP2 downgrades). */
static int debug_protocol(resp_ctx *c)
{
    const resp_arg *t = &c->argv[2];

    if (resp_arg_is(t, "string")) {
        reply_bulk_cstr(c->r, "Hello World");
    } else if (resp_arg_is(t, "integer")) {
        reply_int(c->r, 12345);
    } else if (resp_arg_is(t, "double")) {
        reply_double(c->r, 3.141);
    } else if (resp_arg_is(t, "null")) {
        reply_null(c->r);
    } else if (resp_arg_is(t, "array") || resp_arg_is(t, "set")) {
        if (resp_arg_is(t, "array"))
            reply_array(c->r, 3);
        else
            reply_set(c->r, 3);
        for (int i = 0; i < 3; i++)
            reply_int(c->r, i);
    } else if (resp_arg_is(t, "map")) {
        reply_map(c->r, 3);
        for (int i = 0; i < 3; i++) {
            reply_int(c->r, i);
            reply_bool(c->r, i == 1);
        }
    } else if (resp_arg_is(t, "true") || resp_arg_is(t, "false")) {
        reply_bool(c->r, resp_arg_is(t, "true"));
    } else if (resp_arg_is(t, "verbatim")) {
        reply_verbatim(c->r, "This is a verbatim\nstring", 25);
    } else {
        reply_error(c->r, "ERR Wrong protocol type name. Please use one of the following: "
                          "string|integer|double|null|array|set|map|true|false|verbatim");
    }
    return 0;
}

/* ---- DEBUG DIGEST ---- */

#define DIGEST_BYTES REDIS_KEY_DIGEST

/* Two streaming hashes over the same bytes: XXH3-128 and XXH3-64 (seed 1),
 * 16 + 4 bytes of a key's digest. */
typedef struct digest_key {
    XXH3_state_t *a, *b;
} digest_key;

typedef struct digest_walk {
    store_txn *st;
    int db;
    digest_key h;
    uint8_t acc[DIGEST_BYTES];
    int rc;
} digest_walk;

static void dk_feed(digest_key *h, const void *p, size_t n)
{
    uint64_t len = n;
    XXH3_128bits_update(h->a, &len, sizeof len); /* lengths keep fields apart */
    XXH3_64bits_update(h->b, &len, sizeof len);
    XXH3_128bits_update(h->a, p, n);
    XXH3_64bits_update(h->b, p, n);
}

/* A collection's elements in field order. A list's fields are positions
 * that depend on its push history, so only its values count. */
static int digest_elements(digest_walk *w, const store_meta *m)
{
    store_iter *it;
    ffdb_val f, v;
    int rc = store_iter_open(w->st, m, STORE_SUB, &it);

    if (rc)
        return rc;
    for (rc = store_iter_first(it, &f, &v); rc == 0; rc = store_iter_next(it, &f, &v)) {
        if (m->type != STORE_LIST)
            dk_feed(&w->h, f.data, f.size);
        dk_feed(&w->h, v.data, v.size);
    }
    store_iter_close(it);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

/* One key's digest into w->h: db, type, expiry, key, value or elements;
 * with key NULL (DEBUG DIGEST-VALUE) the type and value alone, so a copy
 * under another name or in another db digests the same. */
static int digest_one(digest_walk *w, const void *key, size_t klen, const store_meta *m,
                      uint8_t out[DIGEST_BYTES])
{
    uint8_t head[1 + 1 + 8] = {(uint8_t)w->db, (uint8_t)m->type};
    int rc = 0;

    memcpy(head + 2, &m->expire_ms, 8);
    XXH3_128bits_reset(w->h.a);
    XXH3_64bits_reset_withSeed(w->h.b, 1);
    if (key) {
        dk_feed(&w->h, head, sizeof head);
        dk_feed(&w->h, key, klen);
    } else {
        dk_feed(&w->h, head + 1, 1);
    }
    if (m->type == STORE_STRING)
        dk_feed(&w->h, m->value.data, m->value.size);
    else
        rc = digest_elements(w, m);
    if (rc)
        return rc;
    XXH128_canonical_t a;
    XXH64_canonical_t b;
    XXH128_canonicalFromHash(&a, XXH3_128bits_digest(w->h.a));
    XXH64_canonicalFromHash(&b, XXH3_64bits_digest(w->h.b));
    memcpy(out, a.digest, 16);
    memcpy(out + 16, b.digest, 4);
    return 0;
}

static int digest_key_fn(void *arg, const void *key, size_t klen, const store_meta *m)
{
    digest_walk *w = arg;
    uint8_t d[DIGEST_BYTES];
    int rc = digest_one(w, key, klen, m, d);

    if (rc)
        return w->rc = rc;
    for (int i = 0; i < DIGEST_BYTES; i++)
        w->acc[i] ^= d[i];
    return 0;
}

int redis_key_digest(store_txn *st, int db, const void *key, size_t klen,
                     uint8_t out[REDIS_KEY_DIGEST])
{
    digest_walk w = {.st = st, .db = db};
    store_meta m;
    int rc = store_lookup(st, db, key, klen, &m);

    memset(out, 0, REDIS_KEY_DIGEST);
    if (rc == FFDB_NOTFOUND)
        return 0; /* absent: all zeros */
    if (rc)
        return rc;
    w.h.a = XXH3_createState();
    w.h.b = XXH3_createState();
    rc = w.h.a && w.h.b ? digest_one(&w, key, klen, &m, out) : FFDB_ENOMEM;
    XXH3_freeState(w.h.a);
    XXH3_freeState(w.h.b);
    return rc;
}

/* DEBUG DIGEST-VALUE key ...: per key, the digest of its value alone
 * (all zeros for a missing key), as Redis answers it. */
static int debug_digest_value(resp_ctx *c)
{
    digest_walk w = {.st = c->st, .db = c->db};
    char hex[2 * DIGEST_BYTES + 1];
    uint8_t d[DIGEST_BYTES];
    int rc = 0;

    w.h.a = XXH3_createState();
    w.h.b = XXH3_createState();
    if (!w.h.a || !w.h.b)
        rc = FFDB_ENOMEM;
    reply_array(c->r, c->argc - 2);
    for (int i = 2; i < c->argc && rc == 0; i++) {
        store_meta m;
        memset(d, 0, sizeof d);
        rc = c->st ? store_lookup(c->st, c->db, c->argv[i].p, c->argv[i].n, &m) : FFDB_NOTFOUND;
        if (rc == 0)
            rc = digest_one(&w, NULL, 0, &m, d);
        else if (rc == FFDB_NOTFOUND)
            rc = 0;
        for (int j = 0; j < DIGEST_BYTES; j++)
            snprintf(hex + 2 * j, 3, "%02x", d[j]);
        reply_simple(c->r, hex);
    }
    XXH3_freeState(w.h.a);
    XXH3_freeState(w.h.b);
    return rc;
}

static int debug_digest(resp_ctx *c)
{
    digest_walk w = {.st = c->st};
    char hex[2 * DIGEST_BYTES + 1];
    int rc = 0;

    w.h.a = XXH3_createState();
    w.h.b = XXH3_createState();
    if (!w.h.a || !w.h.b)
        rc = FFDB_ENOMEM;
    for (int db = 0; db < STORE_DBS && rc == 0; db++) {
        w.db = db;
        rc = store_keys_walk(c->st, db, NULL, 0, digest_key_fn, &w);
    }
    XXH3_freeState(w.h.a);
    XXH3_freeState(w.h.b);
    if (rc)
        return rc < 0 ? rc : w.rc;
    for (int i = 0; i < DIGEST_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", w.acc[i]);
    reply_simple(c->r, hex);
    return 0;
}

static int debug_cmd(resp_ctx *c)
{
    const resp_arg *sub = &c->argv[1];

    if (resp_arg_is(sub, "object") && c->argc == 3)
        return debug_object(c);
    if (resp_arg_is(sub, "digest") && c->argc == 2)
        return debug_digest(c);
    if (resp_arg_is(sub, "digest-value"))
        return debug_digest_value(c);
    if (resp_arg_is(sub, "protocol") && c->argc == 3)
        return debug_protocol(c);
    if (resp_arg_is(sub, "sleep") && c->argc == 3) {
        double secs;
        if (resp_parse_double(c->argv[2].p, c->argv[2].n, &secs) || secs < 0)
            return resp_err_not_float(c->r);
        struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
        while (nanosleep(&ts, &ts) != 0)
            ;
        reply_ok(c->r);
        return 0;
    }
    if ((resp_arg_is(sub, "set-active-expire") || resp_arg_is(sub, "quicklist-packed-threshold") ||
         resp_arg_is(sub, "listpack-entries") || resp_arg_is(sub, "stringmatch-len") ||
         resp_arg_is(sub, "set-skip-checksum-validation") ||
         resp_arg_is(sub, "set-disable-deny-scripts")) &&
        c->argc == 3) {
        reply_ok(c->r);
        return 0;
    }
    if ((resp_arg_is(sub, "reload") || resp_arg_is(sub, "loadaof") || resp_arg_is(sub, "jmap") ||
         resp_arg_is(sub, "change-repl-id")) &&
        c->argc >= 2) {
        reply_ok(c->r);
        return 0;
    }
    if (resp_arg_is(sub, "help") && c->argc == 2) {
        static const char *const lines[] = {
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "OBJECT <key>",
            "    Show low-level info about the key.",
            "DIGEST",
            "    Output a hex signature of the whole data set (order-independent).",
            "PROTOCOL <type>",
            "    Reply with a test value of the given RESP3 type.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds> (decimals allowed).",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
            "RELOAD|LOADAOF",
            "    OK: every acknowledged write is already in the data file.",
            "SET-ACTIVE-EXPIRE|QUICKLIST-PACKED-THRESHOLD|LISTPACK-ENTRIES <value>",
            "    Accepted, no effect (Redis in-memory encodings).",
        };
        reply_array(c->r, sizeof(lines) / sizeof(lines[0]));
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
            reply_simple(c->r, lines[i]);
        return 0;
    }
    reply_errorf(c->r, "ERR unknown subcommand '%.*s'. Try DEBUG HELP.",
                 (int)(sub->n > 128 ? 128 : sub->n), sub->p);
    return 0;
}

const resp_command redis_cmds_debug[] = {
    {"debug", debug_cmd, -2,
     RESP_CMD_READONLY | RESP_CMD_ADMIN | RESP_CMD_NOSCRIPT | RESP_CMD_LOADING | RESP_CMD_STALE, 0,
     0, 0, "server", "A container for debugging commands"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
