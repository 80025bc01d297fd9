/*
 * cmd_string.c — the string commands: GET SET (EX PX EXAT PXAT NX XX GET
 * KEEPTTL) SETNX SETEX PSETEX MGET MSET MSETNX GETSET GETDEL GETEX APPEND
 * STRLEN GETRANGE SUBSTR SETRANGE INCR INCRBY INCRBYFLOAT DECR DECRBY SETBIT
 * GETBIT BITCOUNT LCS.
 *
 * A string lives inline in its key's metadata record (store.h), so GET is
 * one engine lookup. Commands that change part of a value (APPEND,
 * SETRANGE, SETBIT, INCR) build the new value in their own buffer and write
 * it whole: the engine's bytes of the old value are only valid until the
 * next engine call. This file uses only command.h (and through it store.h
 * and reply.h), like every data-type family.
 */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "modules/redis/cmd.h"

/* A live string, NOTFOUND, or WRONGTYPE for another type. */
static int get_string(resp_ctx *c, const resp_arg *key, store_meta *m)
{
    return store_lookup_type(c->st, c->db, key->p, key->n, STORE_STRING, m);
}

static int too_big(resp_ctx *c)
{
    reply_error(c->r, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return 0;
}

static int get_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = get_string(c, &c->argv[1], &m);

    if (rc == FFDB_NOTFOUND) {
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    reply_bulk(c->r, m.value.data, m.value.size);
    return 0;
}

/* ---- SET and its options ----------------------------------------------------------------- */

enum {
    S_NX = 1,
    S_XX = 2,
    S_GET = 4,
    S_KEEPTTL = 8,
    S_EX = 16,
    S_PX = 32,
    S_EXAT = 64,
    S_PXAT = 128,
    S_PERSIST = 256
};

/* Parse [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL|PERSIST] from
 * argv[from..], allowing only the flags in allowed. As in Redis, this is the
 * syntax only, and a repeated option counts once, with its last value ("EX x
 * EX 10" is 10 s; "EX -5 PX 1" a syntax error): *time_at gets the index of
 * the time argument (0 = none), which set_options_time() reads at the point
 * where the command reads it. 0, or 1 after an error reply. */
static int parse_set_options(resp_ctx *c, int from, unsigned allowed, unsigned *flags, int *time_at)
{
    static const struct {
        const char *name;
        unsigned flag, excludes;
    } opts[] = {
        {"nx", S_NX, S_XX},
        {"xx", S_XX, S_NX},
        {"get", S_GET, 0},
        {"keepttl", S_KEEPTTL, S_EX | S_PX | S_EXAT | S_PXAT | S_PERSIST},
        {"persist", S_PERSIST, S_EX | S_PX | S_EXAT | S_PXAT | S_KEEPTTL},
        {"ex", S_EX, S_KEEPTTL | S_PX | S_EXAT | S_PXAT | S_PERSIST},
        {"px", S_PX, S_KEEPTTL | S_EX | S_EXAT | S_PXAT | S_PERSIST},
        {"exat", S_EXAT, S_KEEPTTL | S_EX | S_PX | S_PXAT | S_PERSIST},
        {"pxat", S_PXAT, S_KEEPTTL | S_EX | S_PX | S_EXAT | S_PERSIST},
    };
    *flags = 0;
    *time_at = 0;
    for (int i = from; i < c->argc; i++) {
        size_t k;
        for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
            if (resp_arg_is(&c->argv[i], opts[k].name))
                break;
        if (k == sizeof(opts) / sizeof(opts[0]) || !(opts[k].flag & allowed) ||
            (*flags & opts[k].excludes))
            return resp_err_syntax(c->r), 1;
        *flags |= opts[k].flag;
        if (opts[k].flag & (S_EX | S_PX | S_EXAT | S_PXAT)) {
            if (i + 1 >= c->argc)
                return resp_err_syntax(c->r), 1;
            *time_at = ++i;
        }
    }
    return 0;
}

/* The absolute expiry (ms) the time option parse_set_options found asks for
 * (0 = none). 0, or 1 after an error reply. */
static int set_options_time(resp_ctx *c, unsigned flags, int time_at, int64_t *expire_ms)
{
    int64_t v, when;

    *expire_ms = 0;
    if (!time_at)
        return 0;
    if (resp_arg_i64(c->r, &c->argv[time_at], &v))
        return 1;
    if (v <= 0 || __builtin_mul_overflow(v, (flags & (S_PX | S_PXAT)) ? 1 : 1000, &when) ||
        (!(flags & (S_EXAT | S_PXAT)) && __builtin_add_overflow(when, c->now_ms, &when))) {
        reply_errorf(c->r, "ERR invalid expire time in '%s' command", c->cmd->name);
        return 1;
    }
    *expire_ms = when;
    return 0;
}

/* The core of SET, SETNX, SETEX, PSETEX, GETSET: set key to val under flags. */
static int set_generic(resp_ctx *c, const resp_arg *key, const resp_arg *val, unsigned flags,
                       int64_t expire_ms, int reply_int_result)
{
    store_meta m;
    int rc, exists;

    if (val->n > redis_max_string(c))
        return too_big(c);
    rc = store_lookup(c->st, c->db, key->p, key->n, &m);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    exists = rc == 0;
    if ((flags & S_GET) && exists && m.type != STORE_STRING)
        return resp_err_wrongtype(c->r);
    if (((flags & S_NX) && exists) || ((flags & S_XX) && !exists)) {
        if (reply_int_result)
            reply_int(c->r, 0);
        else if (flags & S_GET && exists)
            reply_bulk(c->r, m.value.data, m.value.size);
        else
            reply_null(c->r);
        return 0;
    }
    if (flags & S_KEEPTTL)
        expire_ms = exists ? m.expire_ms : 0;
    /* The old value is replied before the write: the engine's copy of it is
     * gone after store_string_put. */
    if (flags & S_GET) {
        if (exists)
            reply_bulk(c->r, m.value.data, m.value.size);
        else
            reply_null(c->r);
    }
    rc = store_string_put(c->st, c->db, key->p, key->n, val->p, val->n, expire_ms);
    if (rc)
        return rc == STORE_EKEYLEN && !(flags & S_GET) ? redis_store_error(c, rc) : rc;
    if (reply_int_result)
        reply_int(c->r, 1);
    else if (!(flags & S_GET))
        reply_ok(c->r);
    return 0;
}

static int set_cmd(resp_ctx *c)
{
    unsigned flags;
    int64_t expire_ms;
    int time_at;

    if (c->argv[1].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    if (parse_set_options(c, 3, S_NX | S_XX | S_GET | S_KEEPTTL | S_EX | S_PX | S_EXAT | S_PXAT,
                          &flags, &time_at) ||
        set_options_time(c, flags, time_at, &expire_ms))
        return 0;
    return set_generic(c, &c->argv[1], &c->argv[2], flags, expire_ms, 0);
}

static int setnx_cmd(resp_ctx *c)
{
    if (c->argv[1].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    return set_generic(c, &c->argv[1], &c->argv[2], S_NX, 0, 1);
}

/* SETEX key seconds value, PSETEX key ms value. */
static int setex_generic(resp_ctx *c, int64_t unit)
{
    int64_t v, when;

    if (c->argv[1].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    if (resp_arg_i64(c->r, &c->argv[2], &v))
        return 0;
    if (v <= 0 || __builtin_mul_overflow(v, unit, &when) ||
        __builtin_add_overflow(when, c->now_ms, &when)) {
        reply_errorf(c->r, "ERR invalid expire time in '%s' command", c->cmd->name);
        return 0;
    }
    return set_generic(c, &c->argv[1], &c->argv[3], 0, when, 0);
}

static int setex_cmd(resp_ctx *c)
{
    return setex_generic(c, 1000);
}

static int psetex_cmd(resp_ctx *c)
{
    return setex_generic(c, 1);
}

static int getset_cmd(resp_ctx *c)
{
    if (c->argv[1].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    return set_generic(c, &c->argv[1], &c->argv[2], S_GET, 0, 0);
}

static int getdel_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = get_string(c, &c->argv[1], &m);

    if (rc == FFDB_NOTFOUND) {
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    reply_bulk(c->r, m.value.data, m.value.size);
    return store_key_delete(c->st, c->db, c->argv[1].p, c->argv[1].n, NULL);
}

static int getex_cmd(resp_ctx *c)
{
    unsigned flags;
    int64_t expire_ms;
    store_meta m;
    int rc, time_at;

    if (parse_set_options(c, 2, S_EX | S_PX | S_EXAT | S_PXAT | S_PERSIST, &flags, &time_at))
        return 0;
    rc = get_string(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND) {
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    /* Redis reads the time after the key: a missing key is nil whatever it is. */
    if (set_options_time(c, flags, time_at, &expire_ms))
        return 0;
    reply_bulk(c->r, m.value.data, m.value.size);
    if (flags & S_PERSIST)
        return m.expire_ms ? store_key_expire(c->st, c->db, c->argv[1].p, c->argv[1].n, 0) : 0;
    if (!expire_ms)
        return 0;
    if (expire_ms <= c->now_ms)
        return store_key_delete(c->st, c->db, c->argv[1].p, c->argv[1].n, NULL);
    return store_key_expire(c->st, c->db, c->argv[1].p, c->argv[1].n, expire_ms);
}

static int mget_cmd(resp_ctx *c)
{
    reply_array(c->r, (size_t)c->argc - 1);
    for (int i = 1; i < c->argc; i++) {
        store_meta m;
        int rc = get_string(c, &c->argv[i], &m);
        if (rc == 0)
            reply_bulk(c->r, m.value.data, m.value.size);
        else if (rc == FFDB_NOTFOUND || rc == STORE_EWRONGTYPE)
            reply_null(c->r);
        else
            return rc;
    }
    return 0;
}

/* MSET and MSETNX: all keys are checked before the first write. */
static int mset_generic(resp_ctx *c, int nx)
{
    if (c->argc % 2 == 0)
        return resp_err_arity(c->r, c->cmd);
    for (int i = 1; i < c->argc; i += 2) {
        if (c->argv[i].n > STORE_MAX_KEY)
            return redis_store_error(c, STORE_EKEYLEN);
        if (c->argv[i + 1].n > redis_max_string(c))
            return too_big(c);
    }
    if (nx)
        for (int i = 1; i < c->argc; i += 2) {
            store_meta m;
            int rc = store_lookup(c->st, c->db, c->argv[i].p, c->argv[i].n, &m);
            if (rc == 0) {
                reply_int(c->r, 0);
                return 0;
            }
            if (rc != FFDB_NOTFOUND)
                return rc;
        }
    for (int i = 1; i < c->argc; i += 2) {
        int rc = store_string_put(c->st, c->db, c->argv[i].p, c->argv[i].n, c->argv[i + 1].p,
                                  c->argv[i + 1].n, 0);
        if (rc)
            return rc;
    }
    if (nx)
        reply_int(c->r, 1);
    else
        reply_ok(c->r);
    return 0;
}

static int mset_cmd(resp_ctx *c)
{
    return mset_generic(c, 0);
}

static int msetnx_cmd(resp_ctx *c)
{
    return mset_generic(c, 1);
}

static int strlen_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = get_string(c, &c->argv[1], &m);

    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    reply_int(c->r, (int64_t)m.value.size);
    return 0;
}

/* ---- partial changes: APPEND, SETRANGE, GETRANGE ----------------------------------------- */

/* Write key = old[0..keep) + zeros up to at + add[0..n), keeping the expiry.
 * old may be the engine's bytes: they are copied before any write. */
static int splice(resp_ctx *c, const store_meta *m, int exists, size_t at, const void *add,
                  size_t n, size_t *new_len)
{
    size_t old_len = exists ? m->value.size : 0;
    size_t len = at + n > old_len ? at + n : old_len;
    char *buf = malloc(len ? len : 1);
    int rc;

    if (!buf)
        return FFDB_ENOMEM;
    if (old_len)
        memcpy(buf, m->value.data, old_len);
    if (at > old_len)
        memset(buf + old_len, 0, at - old_len);
    memcpy(buf + at, add, n);
    rc = store_string_put(c->st, c->db, c->argv[1].p, c->argv[1].n, buf, len,
                          exists ? m->expire_ms : 0);
    free(buf);
    *new_len = len;
    return rc;
}

static int append_cmd(resp_ctx *c)
{
    store_meta m;
    size_t len;
    int rc = get_string(c, &c->argv[1], &m);

    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    if (c->argv[1].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    if ((rc ? 0 : m.value.size) + c->argv[2].n > redis_max_string(c))
        return too_big(c);
    rc = splice(c, &m, rc == 0, rc == 0 ? m.value.size : 0, c->argv[2].p, c->argv[2].n, &len);
    if (rc)
        return rc;
    reply_int(c->r, (int64_t)len);
    return 0;
}

static int setrange_cmd(resp_ctx *c)
{
    store_meta m;
    int64_t off;
    size_t len;
    int rc, exists;

    if (resp_arg_i64(c->r, &c->argv[2], &off))
        return 0;
    if (off < 0) {
        reply_error(c->r, "ERR offset is out of range");
        return 0;
    }
    rc = get_string(c, &c->argv[1], &m);
    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    exists = rc == 0;
    if (c->argv[3].n == 0) { /* nothing to write: no key is created */
        reply_int(c->r, exists ? (int64_t)m.value.size : 0);
        return 0;
    }
    if ((uint64_t)off + c->argv[3].n > redis_max_string(c))
        return too_big(c);
    if (c->argv[1].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    rc = splice(c, &m, exists, (size_t)off, c->argv[3].p, c->argv[3].n, &len);
    if (rc)
        return rc;
    reply_int(c->r, (int64_t)len);
    return 0;
}

/* Redis's range rule: negative from the end, clamped, empty if start > end. */
static int clamp_range(int64_t start, int64_t end, int64_t len, int64_t *s, int64_t *e)
{
    if (start < 0)
        start = len + start;
    if (end < 0)
        end = len + end;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= len)
        end = len - 1;
    if (len == 0 || start > end)
        return 0;
    *s = start;
    *e = end;
    return 1;
}

static int getrange_cmd(resp_ctx *c)
{
    int64_t start, end, s, e;
    store_meta m;
    int rc;

    if (resp_arg_i64(c->r, &c->argv[2], &start) || resp_arg_i64(c->r, &c->argv[3], &end))
        return 0;
    rc = get_string(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND) {
        reply_bulk(c->r, "", 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(c->r, "", 0);
        return 0;
    }
    if (!clamp_range(start, end, (int64_t)m.value.size, &s, &e))
        reply_bulk(c->r, "", 0);
    else
        reply_bulk(c->r, (const char *)m.value.data + s, (size_t)(e - s + 1));
    return 0;
}

/* ---- counters ---------------------------------------------------------------------------- */

static int incr_generic(resp_ctx *c, int64_t by)
{
    char buf[24];
    store_meta m;
    int64_t v = 0;
    int rc = get_string(c, &c->argv[1], &m);

    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    if (rc == 0 && resp_parse_i64(m.value.data, m.value.size, &v))
        return resp_err_not_int(c->r);
    if (__builtin_add_overflow(v, by, &v)) {
        reply_error(c->r, "ERR increment or decrement would overflow");
        return 0;
    }
    if (c->argv[1].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    rc = store_string_put(c->st, c->db, c->argv[1].p, c->argv[1].n, buf, resp_format_int(buf, v),
                          rc == 0 ? m.expire_ms : 0);
    if (rc)
        return rc;
    reply_int(c->r, v);
    return 0;
}

static int incr_cmd(resp_ctx *c)
{
    return incr_generic(c, 1);
}

static int decr_cmd(resp_ctx *c)
{
    return incr_generic(c, -1);
}

static int incrby_cmd(resp_ctx *c)
{
    int64_t by;
    if (resp_arg_i64(c->r, &c->argv[2], &by))
        return 0;
    return incr_generic(c, by);
}

static int decrby_cmd(resp_ctx *c)
{
    int64_t by;
    if (resp_arg_i64(c->r, &c->argv[2], &by))
        return 0;
    if (by == INT64_MIN) {
        reply_error(c->r, "ERR decrement would overflow");
        return 0;
    }
    return incr_generic(c, -by);
}

static int incrbyfloat_cmd(resp_ctx *c)
{
    char buf[RESP_LONG_DOUBLE_CHARS];
    long double v = 0, by;
    store_meta m;
    size_t n;
    int rc;

    /* Redis's order: the key's type, its value, then the increment. */
    rc = get_string(c, &c->argv[1], &m);
    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    if (rc == 0 && resp_parse_long_double(m.value.data, m.value.size, &v))
        return resp_err_not_float(c->r);
    if (resp_parse_long_double(c->argv[2].p, c->argv[2].n, &by))
        return resp_err_not_float(c->r);
    v += by;
    if (isnan(v) || isinf(v)) {
        reply_error(c->r, "ERR increment would produce NaN or Infinity");
        return 0;
    }
    n = resp_format_long_double(buf, sizeof(buf), v);
    if (n == 0) {
        reply_error(c->r, "ERR increment would produce NaN or Infinity");
        return 0;
    }
    if (c->argv[1].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    rc = store_string_put(c->st, c->db, c->argv[1].p, c->argv[1].n, buf, n,
                          rc == 0 ? m.expire_ms : 0);
    if (rc)
        return rc;
    reply_bulk(c->r, buf, n);
    return 0;
}

/* ---- bits ---------------------------------------------------------------------------------- */

/* A bit offset: 0 .. proto-max-bulk-len * 8 - 1. */
static int bit_offset(resp_ctx *c, const resp_arg *a, uint64_t *out)
{
    int64_t v;

    if (resp_parse_i64(a->p, a->n, &v) || v < 0 || (uint64_t)v >> 3 >= redis_max_string(c)) {
        reply_error(c->r, "ERR bit offset is not an integer or out of range");
        return 1;
    }
    *out = (uint64_t)v;
    return 0;
}

static int setbit_cmd(resp_ctx *c)
{
    uint64_t off;
    size_t byte, len;
    store_meta m;
    int rc, old = 0;
    unsigned char b = 0;

    if (bit_offset(c, &c->argv[2], &off))
        return 0;
    if (!resp_arg_is(&c->argv[3], "0") && !resp_arg_is(&c->argv[3], "1")) {
        reply_error(c->r, "ERR bit is not an integer or out of range");
        return 0;
    }
    rc = get_string(c, &c->argv[1], &m);
    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    if (c->argv[1].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    byte = (size_t)(off >> 3);
    if (rc == 0 && byte < m.value.size)
        b = ((const unsigned char *)m.value.data)[byte];
    old = (b >> (7 - (off & 7))) & 1;
    if (c->argv[3].p[0] == '1')
        b |= (unsigned char)(1u << (7 - (off & 7)));
    else
        b &= (unsigned char)~(1u << (7 - (off & 7)));
    rc = splice(c, &m, rc == 0, byte, &b, 1, &len);
    if (rc)
        return rc;
    reply_int(c->r, old);
    return 0;
}

static int getbit_cmd(resp_ctx *c)
{
    uint64_t off;
    store_meta m;
    int rc, bit = 0;

    if (bit_offset(c, &c->argv[2], &off))
        return 0;
    rc = get_string(c, &c->argv[1], &m);
    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    if (rc == 0 && (off >> 3) < m.value.size)
        bit = (((const unsigned char *)m.value.data)[off >> 3] >> (7 - (off & 7))) & 1;
    reply_int(c->r, bit);
    return 0;
}

static int bitcount_cmd(resp_ctx *c)
{
    int64_t start = 0, end = -1, s, e, len;
    int bits = 0;
    store_meta m;
    const unsigned char *p;
    int64_t count = 0;
    int rc;

    /* Redis's order: the key first (missing: 0, whatever the arguments),
     * then the range, the all-negative empty range (0), then BIT|BYTE. */
    rc = get_string(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    if (c->argc == 3 || c->argc > 5)
        return resp_err_syntax(c->r);
    if (c->argc >= 4) {
        if (resp_arg_i64(c->r, &c->argv[2], &start) || resp_arg_i64(c->r, &c->argv[3], &end))
            return 0;
        if (start < 0 && end < 0 && start > end) {
            reply_int(c->r, 0);
            return 0;
        }
        if (c->argc == 5) {
            if (resp_arg_is(&c->argv[4], "bit"))
                bits = 1;
            else if (!resp_arg_is(&c->argv[4], "byte"))
                return resp_err_syntax(c->r);
        }
    }
    p = m.value.data;
    len = (int64_t)m.value.size * (bits ? 8 : 1);
    if (!clamp_range(start, end, len, &s, &e)) {
        reply_int(c->r, 0);
        return 0;
    }
    if (bits) {
        for (int64_t i = s; i <= e; i++)
            count += (p[i >> 3] >> (7 - (i & 7))) & 1;
    } else {
        for (int64_t i = s; i <= e; i++)
            count += __builtin_popcount(p[i]);
    }
    reply_int(c->r, count);
    return 0;
}

/* ---- LCS ---------------------------------------------------------------------------------- */

/* Redis's bound on LCS's transient table (proto-max-bulk-len's default). */
#define LCS_MAX_TABLE_BYTES (512ull * 1024 * 1024)

/* A key's string value copied out (the engine's bytes do not outlive the
 * next lookup); a missing key is "". */
static int lcs_value(resp_ctx *c, const resp_arg *key, char **out, size_t *len)
{
    store_meta m;
    int rc = store_lookup(c->st, c->db, key->p, key->n, &m);

    *out = NULL, *len = 0;
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (m.type != STORE_STRING)
        return STORE_EWRONGTYPE;
    *out = malloc(m.value.size + 1);
    if (!*out)
        return FFDB_ENOMEM;
    memcpy(*out, m.value.data, m.value.size);
    *len = m.value.size;
    return 0;
}

/* The walk back through the table from (alen, blen): the LCS text into
 * text (when not NULL) and, with idx, the matching ranges as Redis lists
 * them (last first), those shorter than minlen left out. */
static void lcs_walk(resp_ctx *c, const char *a, size_t alen, const char *b, size_t blen,
                     const uint32_t *t, char *text, int idx, int withlen, int64_t minlen,
                     size_t *ranges)
{
#define T(i, j) t[(j) + (i) * (blen + 1)]
    size_t i = alen, j = blen, k = T(alen, blen), as = 0, ae = 0, bs = 0, open = 0;

    while (i > 0 && j > 0) {
        int emit = 0;
        if (a[i - 1] == b[j - 1]) {
            if (text)
                text[k - 1] = a[i - 1];
            if (!open) {
                open = 1, as = ae = i - 1, bs = j - 1;
            } else if (as == i && bs == j) {
                as--, bs--; /* the run goes on backwards */
            } else {
                emit = 1;
            }
            if (as == 0 || bs == 0)
                emit = 1;
            k--, i--, j--;
        } else {
            if (T(i - 1, j) > T(i, j - 1))
                i--;
            else
                j--;
            emit = open;
        }
        if (emit) {
            size_t mlen = ae - as + 1;
            if (idx && (minlen == 0 || (int64_t)mlen >= minlen)) {
                reply_array(c->r, 2 + withlen);
                reply_array(c->r, 2);
                reply_int(c->r, (int64_t)as);
                reply_int(c->r, (int64_t)ae);
                reply_array(c->r, 2);
                reply_int(c->r, (int64_t)bs);
                reply_int(c->r, (int64_t)(bs + ae - as));
                if (withlen)
                    reply_int(c->r, (int64_t)mlen);
                (*ranges)++;
            }
            open = 0;
        }
    }
#undef T
}

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest
 * common subsequence by the classic dynamic programme, as Redis 7 answers
 * it (the same ranges in the same order). */
static int lcs_cmd(resp_ctx *c)
{
    int getlen = 0, getidx = 0, withlen = 0, rc;
    int64_t minlen = 0;
    char *a = NULL, *b = NULL, *text = NULL;
    size_t alen, blen, ranges = 0;
    uint32_t *t = NULL;

    for (int i = 3; i < c->argc; i++) {
        if (resp_arg_is(&c->argv[i], "idx"))
            getidx = 1;
        else if (resp_arg_is(&c->argv[i], "len"))
            getlen = 1;
        else if (resp_arg_is(&c->argv[i], "withmatchlen"))
            withlen = 1;
        else if (resp_arg_is(&c->argv[i], "minmatchlen") && i + 1 < c->argc) {
            if (resp_arg_i64(c->r, &c->argv[++i], &minlen))
                return 0;
            if (minlen < 0)
                minlen = 0;
        } else
            return resp_err_syntax(c->r);
    }
    rc = lcs_value(c, &c->argv[1], &a, &alen);
    if (rc == 0)
        rc = lcs_value(c, &c->argv[2], &b, &blen);
    if (rc == STORE_EWRONGTYPE) {
        reply_error(c->r, "ERR The specified keys must contain string values");
        rc = 0;
        goto out;
    }
    if (rc)
        goto out;
    if (getlen && getidx) {
        reply_error(c->r, "ERR If you want both the length and indexes, please just use IDX.");
        goto out;
    }
    if ((unsigned long long)(alen + 1) * (blen + 1) * sizeof(uint32_t) > LCS_MAX_TABLE_BYTES) {
        reply_error(c->r, "ERR Insufficient memory, transient memory for LCS exceeds "
                          "proto-max-bulk-len");
        goto out;
    }
    t = malloc((alen + 1) * (blen + 1) * sizeof(uint32_t));
    if (!t) {
        rc = FFDB_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i <= alen; i++)
        for (size_t j = 0; j <= blen; j++) {
            uint32_t *x = &t[j + i * (blen + 1)];
            if (i == 0 || j == 0)
                *x = 0;
            else if (a[i - 1] == b[j - 1])
                *x = x[-(ptrdiff_t)(blen + 1) - 1] + 1;
            else
                *x = x[-(ptrdiff_t)(blen + 1)] > x[-1] ? x[-(ptrdiff_t)(blen + 1)] : x[-1];
        }
    uint32_t n = t[blen + alen * (blen + 1)];
    if (getlen) {
        reply_int(c->r, n);
    } else if (getidx) {
        reply_map(c->r, 2);
        reply_bulk_cstr(c->r, "matches");
        resp_defer d = reply_defer(c->r);
        lcs_walk(c, a, alen, b, blen, t, NULL, 1, withlen, minlen, &ranges);
        reply_defer_array(c->r, d, ranges);
        reply_bulk_cstr(c->r, "len");
        reply_int(c->r, n);
    } else {
        text = malloc(n + 1);
        if (!text) {
            rc = FFDB_ENOMEM;
            goto out;
        }
        lcs_walk(c, a, alen, b, blen, t, text, 0, 0, 0, &ranges);
        reply_bulk(c->r, text, n);
    }
out:
    free(a), free(b), free(t), free(text);
    return rc;
}

#define W (RESP_CMD_WRITE | RESP_CMD_DENYOOM)
#define R RESP_CMD_READONLY
#define F RESP_CMD_FAST

const resp_command redis_cmds_string[] = {
    {"get", get_cmd, 2, R | F, 1, 1, 1, "string", "Get the value of a key"},
    {"set", set_cmd, -3, W, 1, 1, 1, "string", "Set the string value of a key"},
    {"setnx", setnx_cmd, 3, W | F, 1, 1, 1, "string",
     "Set the value of a key, only if the key does not exist"},
    {"setex", setex_cmd, 4, W, 1, 1, 1, "string", "Set the value and expiration of a key"},
    {"psetex", psetex_cmd, 4, W, 1, 1, 1, "string",
     "Set the value and expiration in milliseconds of a key"},
    {"getset", getset_cmd, 3, W | F, 1, 1, 1, "string",
     "Set the string value of a key and return its old value"},
    {"getdel", getdel_cmd, 2, RESP_CMD_WRITE | F, 1, 1, 1, "string",
     "Get the value of a key and delete the key"},
    {"getex", getex_cmd, -2, RESP_CMD_WRITE | F, 1, 1, 1, "string",
     "Get the value of a key and optionally set its expiration"},
    {"mget", mget_cmd, -2, R | F, 1, -1, 1, "string", "Get the values of all the given keys"},
    {"mset", mset_cmd, -3, W, 1, -1, 2, "string", "Set multiple keys to multiple values"},
    {"msetnx", msetnx_cmd, -3, W, 1, -1, 2, "string",
     "Set multiple keys to multiple values, only if none of the keys exist"},
    {"strlen", strlen_cmd, 2, R | F, 1, 1, 1, "string",
     "Get the length of the value stored in a key"},
    {"append", append_cmd, 3, W | F, 1, 1, 1, "string", "Append a value to a key"},
    {"setrange", setrange_cmd, 4, W, 1, 1, 1, "string",
     "Overwrite part of a string at key starting at the specified offset"},
    {"getrange", getrange_cmd, 4, R, 1, 1, 1, "string",
     "Get a substring of the string stored at a key"},
    {"substr", getrange_cmd, 4, R, 1, 1, 1, "string",
     "Get a substring of the string stored at a key"},
    {"incr", incr_cmd, 2, W | F, 1, 1, 1, "string", "Increment the integer value of a key by one"},
    {"decr", decr_cmd, 2, W | F, 1, 1, 1, "string", "Decrement the integer value of a key by one"},
    {"incrby", incrby_cmd, 3, W | F, 1, 1, 1, "string",
     "Increment the integer value of a key by the given amount"},
    {"decrby", decrby_cmd, 3, W | F, 1, 1, 1, "string",
     "Decrement the integer value of a key by the given number"},
    {"incrbyfloat", incrbyfloat_cmd, 3, W | F, 1, 1, 1, "string",
     "Increment the float value of a key by the given amount"},
    {"setbit", setbit_cmd, 4, W, 1, 1, 1, "bitmap",
     "Sets or clears the bit at offset in the string value stored at key"},
    {"getbit", getbit_cmd, 3, R | F, 1, 1, 1, "bitmap",
     "Returns the bit value at offset in the string value stored at key"},
    {"bitcount", bitcount_cmd, -2, R, 1, 1, 1, "bitmap", "Count set bits in a string"},
    {"lcs", lcs_cmd, -3, R, 1, 2, 1, "string", "Find longest common substring"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
