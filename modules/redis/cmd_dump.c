/*
 * cmd_dump.c — DUMP and RESTORE with ffdb's own serialisation of a key
 * (not Redis's RDB encoding: a payload from Redis does not restore here,
 * nor the other way round; README). A payload names the type and carries
 * every element record of the key as stored, so one format serves every
 * type, and RESTORE rebuilds the derived records (a sorted set's score
 * index) from them.
 *
 * Payload (numbers big-endian):
 *   "FFDB"  version 1 (1 byte)  type (1 byte)
 *   string:     the value
 *   collection: head, tail (8 each; lists' positions, else 0), count (8),
 *               then count times: field length (4), field, value length (4), value
 *   checksum (8): net_dict_hash of everything before it
 */
#include <stdlib.h>
#include <string.h>

#include "modules/net/dict.h"
#include "modules/redis/cmd.h"

#define DUMP_VERSION 1
#define DUMP_HDR 6

typedef struct dbuf {
    uint8_t *p;
    size_t n, cap;
    int oom;
} dbuf;

static void put(dbuf *b, const void *p, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_u(dbuf *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    put(b, t, (size_t)bytes);
}

static uint64_t get_u(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

static int dump_cmd(resp_ctx *c)
{
    store_meta m;
    dbuf b = {NULL, 0, 0, 0};
    int rc = store_lookup(c->st, c->db, c->argv[1].p, c->argv[1].n, &m);

    if (rc == FFDB_NOTFOUND) {
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return rc;
    put(&b, "FFDB", 4);
    put_u(&b, DUMP_VERSION, 1);
    put_u(&b, (uint64_t)m.type, 1);
    if (m.type == STORE_STRING) {
        put(&b, m.value.data, m.value.size);
    } else {
        store_iter *it;
        ffdb_val k, v;
        uint64_t n = 0;
        put_u(&b, m.type == STORE_LIST ? m.head : 0, 8);
        put_u(&b, m.type == STORE_LIST ? m.tail : 0, 8);
        size_t count_at = b.n;
        put_u(&b, 0, 8);
        rc = store_iter_open(c->st, &m, STORE_SUB, &it);
        if (rc) {
            free(b.p);
            return rc;
        }
        for (rc = store_iter_first(it, &k, &v); rc == 0; rc = store_iter_next(it, &k, &v), n++) {
            put_u(&b, k.size, 4);
            put(&b, k.data, k.size);
            put_u(&b, v.size, 4);
            put(&b, v.data, v.size);
        }
        store_iter_close(it);
        if (rc != FFDB_NOTFOUND) {
            free(b.p);
            return rc;
        }
        if (!b.oom)
            for (int i = 0; i < 8; i++)
                b.p[count_at + (size_t)i] = (uint8_t)(n >> (8 * (7 - i)));
    }
    if (!b.oom)
        put_u(&b, net_dict_hash(b.p, b.n, 0), 8);
    if (b.oom) {
        free(b.p);
        return FFDB_ENOMEM;
    }
    reply_bulk(c->r, b.p, b.n);
    free(b.p);
    return 0;
}

/* The payload checked whole before anything is written: 0 or -1. */
static int payload_ok(const uint8_t *p, size_t n)
{
    if (n < DUMP_HDR + 8 || memcmp(p, "FFDB", 4) != 0 || p[4] != DUMP_VERSION ||
        get_u(p + n - 8, 8) != net_dict_hash(p, n - 8, 0))
        return -1;
    int type = p[5];
    if (type == STORE_STRING)
        return 0;
    if (type < STORE_HASH || type > STORE_STREAM || n < DUMP_HDR + 24 + 8)
        return -1;
    const uint8_t *q = p + DUMP_HDR + 24, *end = p + n - 8;
    uint64_t count = get_u(p + DUMP_HDR + 16, 8);
    for (uint64_t i = 0; i < count; i++)
        for (int part = 0; part < 2; part++) {
            if (end - q < 4)
                return -1;
            uint64_t len = get_u(q, 4);
            if (len > (uint64_t)(end - q - 4) || (part == 0 && len > STORE_MAX_FIELD + 16))
                return -1;
            q += 4 + len;
        }
    return q == end && count > 0 ? 0 : -1;
}

/* RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] */
static int restore_cmd(resp_ctx *c)
{
    const resp_arg *key = &c->argv[1];
    const uint8_t *p = (const uint8_t *)c->argv[3].p;
    size_t n = c->argv[3].n;
    int replace = 0, abs = 0, rc;
    int64_t ttl, expire = 0;
    store_meta m;

    for (int i = 4; i < c->argc; i++) {
        int64_t v;
        if (resp_arg_is(&c->argv[i], "replace"))
            replace = 1;
        else if (resp_arg_is(&c->argv[i], "absttl"))
            abs = 1;
        else if ((resp_arg_is(&c->argv[i], "idletime") || resp_arg_is(&c->argv[i], "freq")) &&
                 i + 1 < c->argc) {
            if (resp_arg_i64(c->r, &c->argv[++i], &v))
                return 0;
            if (v < 0) {
                reply_error(c->r, "ERR Invalid IDLETIME value, must be >= 0");
                return 0;
            }
        } else
            return resp_err_syntax(c->r);
    }
    if (resp_arg_i64(c->r, &c->argv[2], &ttl))
        return 0;
    if (ttl < 0) {
        reply_error(c->r, "ERR Invalid TTL value, must be >= 0");
        return 0;
    }
    if (!replace) {
        rc = store_lookup(c->st, c->db, key->p, key->n, &m);
        if (rc == 0) {
            reply_error(c->r, "BUSYKEY Target key name already exists.");
            return 0;
        }
        if (rc != FFDB_NOTFOUND)
            return rc;
    }
    if (payload_ok(p, n)) {
        reply_error(c->r, "ERR DUMP payload version or checksum are wrong");
        return 0;
    }
    if (key->n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    if (ttl)
        expire = abs ? ttl : c->now_ms + ttl;
    if (expire && expire <= c->now_ms) { /* already gone: only the old key goes */
        rc = store_key_delete(c->st, c->db, key->p, key->n, NULL);
        if (!rc)
            reply_ok(c->r);
        return rc;
    }
    int type = p[5];
    if (type == STORE_STRING) {
        rc = store_string_put(c->st, c->db, key->p, key->n, p + DUMP_HDR, n - DUMP_HDR - 8, expire);
        if (rc)
            return redis_store_error(c, rc);
        reply_ok(c->r);
        return 0;
    }
    rc = store_meta_create(c->st, c->db, key->p, key->n, type, &m);
    if (rc)
        return redis_store_error(c, rc);
    if (type == STORE_LIST) {
        m.head = get_u(p + DUMP_HDR, 8);
        m.tail = get_u(p + DUMP_HDR + 8, 8);
    }
    uint64_t count = get_u(p + DUMP_HDR + 16, 8);
    const uint8_t *q = p + DUMP_HDR + 24;
    for (uint64_t i = 0; i < count && !rc; i++) {
        size_t fl = (size_t)get_u(q, 4);
        const uint8_t *f = q + 4;
        size_t vl = (size_t)get_u(f + fl, 4);
        const uint8_t *v = f + fl + 4;
        rc = store_sub_put(c->st, &m, f, fl, v, vl);
        if (!rc && type == STORE_ZSET) {
            if (vl != 8) {
                rc = FFDB_CORRUPT;
                break;
            }
            rc = store_zscore_put(c->st, &m, store_score_decode(v), f, fl);
        }
        q = v + vl;
    }
    if (rc)
        return rc == STORE_EFIELDLEN ? redis_store_error(c, rc) : rc;
    m.size = count;
    m.expire_ms = expire;
    rc = store_meta_save(c->st, &m);
    if (rc)
        return rc;
    reply_ok(c->r);
    return 0;
}

const resp_command redis_cmds_dump[] = {
    {"dump", dump_cmd, 2, RESP_CMD_READONLY, 1, 1, 1, "generic",
     "Return a serialized version of the value stored at the specified key."},
    {"restore", restore_cmd, -4, RESP_CMD_WRITE | RESP_CMD_DENYOOM, 1, 1, 1, "generic",
     "Create a key using the provided serialized value, previously obtained using DUMP."},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
