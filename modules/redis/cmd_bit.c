/*
 * cmd_bit.c — the bit commands over string values that are more than one
 * bit at a time: BITOP and BITPOS (SETBIT, GETBIT and BITCOUNT are string
 * commands in cmd_string.c). Bit 0 is the most significant bit of byte 0,
 * as in Redis. Everything is validated (types of every source key) before
 * anything is written. BITFIELD and BITFIELD_RO read and write integer
 * fields of 1..64 bits at any bit offset.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "modules/redis/cmd.h"

/* BITOP AND|OR|XOR|NOT destkey key [key ...] */
static int bitop_cmd(resp_ctx *c)
{
    enum { AND, OR, XOR, NOT } op;
    int nsrc = c->argc - 3, rc;
    unsigned char *out = NULL;
    size_t len = 0;

    if (resp_arg_is(&c->argv[1], "and"))
        op = AND;
    else if (resp_arg_is(&c->argv[1], "or"))
        op = OR;
    else if (resp_arg_is(&c->argv[1], "xor"))
        op = XOR;
    else if (resp_arg_is(&c->argv[1], "not"))
        op = NOT;
    else
        return resp_err_syntax(c->r);
    if (op == NOT && nsrc != 1) {
        reply_error(c->r, "ERR BITOP NOT must be called with a single source key.");
        return 0;
    }
    /* Pass 1: types and the result's length (the longest source). */
    for (int i = 0; i < nsrc; i++) {
        store_meta m;
        rc = store_lookup_type(c->st, c->db, c->argv[3 + i].p, c->argv[3 + i].n, STORE_STRING, &m);
        if (rc == FFDB_NOTFOUND)
            continue;
        if (rc)
            return redis_store_error(c, rc);
        if (m.value.size > len)
            len = m.value.size;
    }
    if (c->argv[2].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    if (len == 0) {
        rc = store_key_delete(c->st, c->db, c->argv[2].p, c->argv[2].n, NULL);
        if (rc)
            return rc;
        reply_int(c->r, 0);
        return 0;
    }
    out = malloc(len);
    if (!out)
        return FFDB_ENOMEM;
    /* Pass 2: fold each source in (a shorter or missing one is zero-padded).
     * A value is valid only until the next call on the txn: use it at once. */
    for (int i = 0; i < nsrc; i++) {
        store_meta m;
        const unsigned char *p = NULL;
        size_t n = 0;
        rc = store_lookup_type(c->st, c->db, c->argv[3 + i].p, c->argv[3 + i].n, STORE_STRING, &m);
        if (rc && rc != FFDB_NOTFOUND) {
            free(out);
            return rc;
        }
        if (rc == 0)
            p = m.value.data, n = m.value.size;
        for (size_t j = 0; j < len; j++) {
            unsigned char b = j < n ? p[j] : 0;
            if (i == 0)
                out[j] = op == NOT ? (unsigned char)~b : b;
            else if (op == AND)
                out[j] &= b;
            else if (op == OR)
                out[j] |= b;
            else
                out[j] ^= b;
        }
    }
    rc = store_string_put(c->st, c->db, c->argv[2].p, c->argv[2].n, out, len, 0);
    free(out);
    if (rc)
        return redis_store_error(c, rc);
    reply_int(c->r, (int64_t)len);
    return 0;
}

/* The first bit equal to bit in bits [sb, eb] of p, or -1. */
static int64_t find_bit(const unsigned char *p, int64_t sb, int64_t eb, int bit)
{
    unsigned char skip = bit ? 0x00 : 0xff;

    for (int64_t i = sb; i <= eb;) {
        if ((i & 7) == 0 && i + 7 <= eb && p[i >> 3] == skip) {
            i += 8;
            continue;
        }
        if (((p[i >> 3] >> (7 - (i & 7))) & 1) == bit)
            return i;
        i++;
    }
    return -1;
}

/* BITPOS key bit [start [end [BYTE|BIT]]] */
static int bitpos_cmd(resp_ctx *c)
{
    int64_t bit, start = 0, end, slen, pos;
    int isbit = 0, end_given = 0, rc;
    store_meta m;

    if (resp_arg_i64(c->r, &c->argv[2], &bit))
        return 0;
    if (bit != 0 && bit != 1) {
        reply_error(c->r, "ERR The bit argument must be 1 or 0.");
        return 0;
    }
    rc = store_lookup_type(c->st, c->db, c->argv[1].p, c->argv[1].n, STORE_STRING, &m);
    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, bit ? -1 : 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    if (c->argc > 6)
        return resp_err_syntax(c->r);
    slen = (int64_t)m.value.size;
    end = slen - 1;
    if (c->argc > 3) {
        if (resp_arg_i64(c->r, &c->argv[3], &start))
            return 0;
        /* Redis checks the unit after the start and before the end */
        if (c->argc > 5 && !resp_arg_is(&c->argv[5], "bit") && !resp_arg_is(&c->argv[5], "byte"))
            return resp_err_syntax(c->r);
        if (c->argc > 4) {
            if (resp_arg_i64(c->r, &c->argv[4], &end))
                return 0;
            end_given = 1;
        }
        if (c->argc > 5) {
            if (resp_arg_is(&c->argv[5], "bit"))
                isbit = 1;
            else if (!resp_arg_is(&c->argv[5], "byte"))
                return resp_err_syntax(c->r);
        }
        if (isbit)
            slen <<= 3;
        if (start < 0)
            start = slen + start;
        if (end < 0)
            end = slen + end;
        if (start < 0)
            start = 0;
        if (end < 0)
            end = 0;
        if (end >= slen)
            end = slen - 1;
    }
    if (start > end) {
        reply_int(c->r, -1);
        return 0;
    }
    if (!isbit)
        start <<= 3, end = (end << 3) + 7;
    pos = find_bit(m.value.data, start, end, (int)bit);
    if (pos < 0 && bit == 0 && !end_given)
        pos = end + 1; /* the zero bits past the end of the string */
    reply_int(c->r, pos);
    return 0;
}

/* ---- BITFIELD ----------------------------------------------------------------------------- */

#define BF_MAX_BITS 64
enum { BF_GET, BF_SET, BF_INCRBY };
enum { BF_WRAP, BF_SAT, BF_FAIL };

typedef struct bf_op {
    uint64_t offset; /* in bits */
    int64_t arg;     /* SET's value, INCRBY's increment */
    int op, overflow, bits, sign;
} bf_op;

/* "i1".."i64", "u1".."u63". 0, or 1 after the error reply. */
static int bf_type(resp_ctx *c, const resp_arg *a, int *sign, int *bits)
{
    int64_t n;

    if (a->n < 2 || (a->p[0] != 'i' && a->p[0] != 'u') || resp_parse_i64(a->p + 1, a->n - 1, &n) ||
        n < 1 || n > (a->p[0] == 'i' ? 64 : 63)) {
        reply_error(c->r, "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is "
                          "not supported but i64 is.");
        return 1;
    }
    *sign = a->p[0] == 'i';
    *bits = (int)n;
    return 0;
}

/* An offset in bits, or "#n" in units of the type's width. */
static int bf_offset(resp_ctx *c, const resp_arg *a, int bits, uint64_t *out)
{
    int hash = a->n > 0 && a->p[0] == '#';
    int64_t v;

    if (resp_parse_i64(a->p + hash, a->n - (size_t)hash, &v) ||
        (hash && __builtin_mul_overflow(v, (int64_t)bits, &v)) || v < 0 ||
        (uint64_t)v >> 3 >= redis_max_string(c)) {
        reply_error(c->r, "ERR bit offset is not an integer or out of range");
        return 1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* bits bits from bit offset of p[0..n) (zeros past the end), most
 * significant first. */
static uint64_t bf_read(const unsigned char *p, size_t n, uint64_t offset, int bits)
{
    uint64_t v = 0;

    for (int i = 0; i < bits; i++) {
        uint64_t bit = offset + (uint64_t)i, byte = bit >> 3;
        unsigned b = byte < n ? (p[byte] >> (7 - (bit & 7))) & 1 : 0;
        v = v << 1 | b;
    }
    return v;
}

static void bf_write(unsigned char *p, uint64_t offset, int bits, uint64_t v)
{
    for (int i = 0; i < bits; i++) {
        uint64_t bit = offset + (uint64_t)i;
        unsigned b = (v >> (bits - 1 - i)) & 1;
        unsigned char mask = (unsigned char)(1u << (7 - (bit & 7)));
        p[bit >> 3] = b ? (unsigned char)(p[bit >> 3] | mask) : (unsigned char)(p[bit >> 3] & ~mask);
    }
}

/* The field as a number (sign-extended for iN). */
static int64_t bf_value(uint64_t raw, int bits, int sign)
{
    if (sign && bits < 64 && (raw >> (bits - 1)) & 1)
        raw |= ~UINT64_C(0) << bits;
    return (int64_t)raw;
}

/* Does Redis's signed check (in 64-bit arithmetic, value + incr) report
 * an overflow (above max) for o? Also for a value far below min, where
 * max - value wraps. */
static int bf_redis_overflow(__int128 sum, const bf_op *o)
{
    int64_t max = o->bits == 64 ? INT64_MAX : (INT64_C(1) << (o->bits - 1)) - 1;
    int64_t value = o->op == BF_SET ? o->arg : (int64_t)(sum - o->arg);
    int64_t incr = o->op == BF_SET ? 0 : o->arg;
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);

    return value > max || (o->bits != 64 && incr > maxincr) ||
           (value >= 0 && incr > 0 && incr > maxincr);
}

/* The new value of a field whose true result is sum (outside the type's
 * range: WRAP takes the low bits, SAT the nearest limit, FAIL refuses).
 * 0 with *out set, or 1 for FAIL. */
static int bf_fit(__int128 sum, const bf_op *o, uint64_t *out)
{
    __int128 min = o->sign ? -((__int128)1 << (o->bits - 1)) : 0;
    __int128 max = o->sign ? ((__int128)1 << (o->bits - 1)) - 1 : ((__int128)1 << o->bits) - 1;
    uint64_t mask = o->bits == 64 ? ~UINT64_C(0) : (UINT64_C(1) << o->bits) - 1;

    if (o->sign && bf_redis_overflow(sum, o)) {
        /* Redis 7.0 computes max - value in 64 bits, which overflows for
         * values near INT64_MIN: it then takes an in-range result for an
         * overflow (SAT answers max, FAIL refuses); do the same */
        if (o->overflow == BF_FAIL)
            return 1;
        *out = (uint64_t)(o->overflow == BF_SAT ? max : sum) & mask;
        return 0;
    }
    if (sum >= min && sum <= max) {
        *out = (uint64_t)sum & mask;
        return 0;
    }
    if (o->overflow == BF_FAIL)
        return 1;
    if (o->overflow == BF_SAT)
        *out = (uint64_t)(sum > max ? max : min) & mask;
    else
        *out = (uint64_t)sum & mask;
    return 0;
}

/* Parse every subcommand into ops (argc / 2 slots). The count, or -1
 * after the error reply. */
static int bf_parse(resp_ctx *c, bf_op *ops, int *writes)
{
    int n = 0, overflow = BF_WRAP;

    for (int j = 2; j < c->argc; j++) {
        int rem = c->argc - j - 1;
        bf_op *o = &ops[n];
        const resp_arg *a = &c->argv[j];
        if (resp_arg_is(a, "get") && rem >= 2)
            o->op = BF_GET;
        else if (resp_arg_is(a, "set") && rem >= 3)
            o->op = BF_SET;
        else if (resp_arg_is(a, "incrby") && rem >= 3)
            o->op = BF_INCRBY;
        else if (resp_arg_is(a, "overflow") && rem >= 1) {
            const resp_arg *how = &c->argv[++j];
            if (resp_arg_is(how, "wrap"))
                overflow = BF_WRAP;
            else if (resp_arg_is(how, "sat"))
                overflow = BF_SAT;
            else if (resp_arg_is(how, "fail"))
                overflow = BF_FAIL;
            else
                return reply_error(c->r, "ERR Invalid OVERFLOW type specified"), -1;
            continue;
        } else {
            return resp_err_syntax(c->r), -1;
        }
        if (bf_type(c, &c->argv[j + 1], &o->sign, &o->bits) ||
            bf_offset(c, &c->argv[j + 2], o->bits, &o->offset))
            return -1;
        if (o->op != BF_GET) {
            if (resp_arg_i64(c->r, &c->argv[j + 3], &o->arg))
                return -1;
            (*writes)++;
        }
        o->overflow = overflow;
        j += o->op == BF_GET ? 2 : 3;
        n++;
    }
    return n;
}

/* Run the ops on buf (len bytes, long enough for every write), replying
 * to each; *changed if a byte changed. */
static void bf_run(resp_ctx *c, const bf_op *ops, int n, unsigned char *buf, size_t len,
                   int *changed)
{
    reply_array(c->r, (size_t)n);
    for (int i = 0; i < n; i++) {
        const bf_op *o = &ops[i];
        uint64_t raw = bf_read(buf, len, o->offset, o->bits), out;
        int64_t old = bf_value(raw, o->bits, o->sign);
        __int128 sum;
        if (o->op == BF_GET) {
            reply_int(c->r, old);
            continue;
        }
        if (o->op == BF_SET)
            /* Redis reads SET's value for an unsigned field as unsigned */
            sum = o->sign ? (__int128)o->arg : (__int128)(uint64_t)o->arg;
        else
            sum = (__int128)old + o->arg;
        if (bf_fit(sum, o, &out)) {
            reply_null(c->r);
            continue;
        }
        if (out != raw) {
            bf_write(buf, o->offset, o->bits, out);
            *changed = 1;
        }
        reply_int(c->r, o->op == BF_SET ? old : bf_value(out, o->bits, o->sign));
    }
}

/* BITFIELD key [GET type offset] [SET type offset value] [INCRBY type
 * offset increment] [OVERFLOW WRAP|SAT|FAIL] ... and BITFIELD_RO (GET
 * only). A write grows the string to its highest written field first (as
 * Redis does, also when OVERFLOW FAIL then refuses). */
static int bitfield_generic(resp_ctx *c, int ro)
{
    bf_op *ops = calloc((size_t)c->argc / 2 + 1, sizeof(*ops));
    int n, writes = 0, changed = 0, rc = 0, found;
    unsigned char *buf = NULL;
    uint64_t need = 0;
    store_meta m;

    if (!ops)
        return FFDB_ENOMEM;
    n = bf_parse(c, ops, &writes);
    if (n < 0)
        goto done;
    if (ro && writes) {
        reply_error(c->r, "ERR BITFIELD_RO only supports the GET subcommand");
        goto done;
    }
    rc = store_lookup_type(c->st, c->db, c->argv[1].p, c->argv[1].n, STORE_STRING, &m);
    found = rc == 0;
    if (rc && rc != FFDB_NOTFOUND) {
        rc = redis_store_error(c, rc);
        goto done;
    }
    rc = 0;
    if (!writes) {
        bf_run(c, ops, n, found ? (unsigned char *)m.value.data : NULL, found ? m.value.size : 0,
               &changed);
        assert(!changed);
        goto done;
    }
    if (c->argv[1].n > STORE_MAX_KEY) {
        rc = redis_store_error(c, STORE_EKEYLEN);
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (ops[i].op != BF_GET && ((ops[i].offset + (uint64_t)ops[i].bits - 1) >> 3) + 1 > need)
            need = ((ops[i].offset + (uint64_t)ops[i].bits - 1) >> 3) + 1;
    if (need > redis_max_string(c)) {
        reply_error(c->r, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        goto done;
    }
    if (found && m.value.size > need)
        need = m.value.size;
    buf = calloc(1, (size_t)need);
    if (!buf) {
        rc = FFDB_ENOMEM;
        goto done;
    }
    if (found)
        memcpy(buf, m.value.data, m.value.size);
    changed = !found || m.value.size < need;
    bf_run(c, ops, n, buf, (size_t)need, &changed);
    if (changed) {
        rc = store_string_put(c->st, c->db, c->argv[1].p, c->argv[1].n, buf, (size_t)need,
                              found ? m.expire_ms : 0);
        if (rc)
            rc = redis_store_error(c, rc);
    }
done:
    free(buf);
    free(ops);
    return rc;
}

static int bitfield_cmd(resp_ctx *c)
{
    return bitfield_generic(c, 0);
}

static int bitfield_ro_cmd(resp_ctx *c)
{
    return bitfield_generic(c, 1);
}

const resp_command redis_cmds_bit[] = {
    {"bitop", bitop_cmd, -4, RESP_CMD_WRITE | RESP_CMD_DENYOOM, 2, -1, 1, "bitmap",
     "Perform bitwise operations between strings"},
    {"bitpos", bitpos_cmd, -3, RESP_CMD_READONLY, 1, 1, 1, "bitmap",
     "Find first bit set or clear in a string"},
    {"bitfield", bitfield_cmd, -2, RESP_CMD_WRITE | RESP_CMD_DENYOOM, 1, 1, 1, "bitmap",
     "Perform arbitrary bitfield integer operations on strings"},
    {"bitfield_ro", bitfield_ro_cmd, -2, RESP_CMD_READONLY | RESP_CMD_FAST, 1, 1, 1, "bitmap",
     "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
