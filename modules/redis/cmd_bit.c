/*
 * cmd_bit.c — the bit commands over string values that are more than one
 * bit at a time: BITOP and BITPOS (SETBIT, GETBIT and BITCOUNT are string
 * commands in cmd_string.c). Bit 0 is the most significant bit of byte 0,
 * as in Redis. Everything is validated (types of every source key) before
 * anything is written.
 */
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

const resp_command redis_cmds_bit[] = {
    {"bitop", bitop_cmd, -4, RESP_CMD_WRITE | RESP_CMD_DENYOOM, 2, -1, 1, "bitmap",
     "Perform bitwise operations between strings"},
    {"bitpos", bitpos_cmd, -3, RESP_CMD_READONLY, 1, 1, 1, "bitmap",
     "Find first bit set or clear in a string"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
