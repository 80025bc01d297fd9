/*
 * cmd_hll.c — HyperLogLog: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST.
 *
 * An HLL is a string value in Redis's own representation (as Redis
 * documents it in its hyperloglog.c header comment), so GET, DUMP, SET and
 * APPEND of an HLL key behave as in Redis and a value written by either
 * server is read by the other:
 *
 *   offset size   field
 *   0      4      "HYLL"
 *   4      1      encoding: 0 dense, 1 sparse
 *   5      3      zero
 *   8      8      cached cardinality, little-endian; the top bit of byte 15
 *                 set = stale (PFADD/PFMERGE set it, PFCOUNT refreshes it)
 *   16     ...    registers
 *
 *   dense:  16384 registers of 6 bits, register i at bit 6i, least
 *           significant bit first (12288 bytes; the value is 12304 bytes)
 *   sparse: runs of registers, opcodes
 *           00xxxxxx           ZERO:  xxxxxx+1 (1..64) registers are 0
 *           01xxxxxx yyyyyyyy  XZERO: 14-bit length+1 (1..16384) zeros
 *           1vvvvvxx           VAL:   xx+1 (1..4) registers of value vvvvv+1
 *           covering exactly 16384 registers. A sparse value becomes dense
 *           when a register needs a value above 32 or the value would grow
 *           beyond hll-sparse-max-bytes (3000).
 *
 * An element is hashed with MurmurHash64A (seed 0xadc83b19, as Redis): the
 * low 14 bits choose the register, the position of the first 1 bit in the
 * remaining 50 (1..51) is the value kept if greater. The estimate is Otmar
 * Ertl's improved raw estimator ("New cardinality estimation algorithms for
 * HyperLogLog sketches", 2017, algorithm 6) over the register histogram,
 * which is what Redis 7 reports: a standard error of 1.04/sqrt(16384) =
 * 0.81%.
 *
 * A handler works on a private copy of the value and writes it back with
 * the key's expiry kept: validation happens before any write.
 *
 * Corrupt values (SETRANGE, APPEND, SETBIT on an HLL) are treated as Redis
 * 7.0 treats them, so the bytes stay the same on both servers:
 *   - the copy always has a zero byte after its end, as an sds string does,
 *     and an XZERO opcode cut off by the end reads it as its second byte;
 *   - a sparse update (not one that turns the value dense) marks the cache
 *     stale at once, so PFADD's INVALIDOBJ after some elements went in
 *     leaves them and a stale cache; a dense update leaves the cache as it
 *     was until PFADD's end;
 *   - PFMERGE ignores what the sparse update of the target says (its
 *     inputs, the target among them, were checked before);
 *   - PFDEBUG looks the key up (missing, not an HLL) before the subcommand.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/redis/cmd.h"

#define HLL_P 14
#define HLL_Q (64 - HLL_P)
#define HLL_REGS (1 << HLL_P)
#define HLL_HDR 16
#define HLL_DENSE_BYTES (HLL_REGS * 6 / 8)
#define HLL_DENSE_SIZE (HLL_HDR + HLL_DENSE_BYTES)
#define HLL_DENSE 0
#define HLL_SPARSE 1
#define HLL_SPARSE_MAX_BYTES 3000 /* hll-sparse-max-bytes' default */
#define HLL_VAL_MAX_VALUE 32
#define HLL_VAL_MAX_LEN 4
#define HLL_ZERO_MAX_LEN 64
#define HLL_XZERO_MAX_LEN 16384
#define HLL_SEED 0xadc83b19ull

_Static_assert(HLL_DENSE_SIZE == 12304, "Redis's dense size");

static const char hll_wrongtype[] = "WRONGTYPE Key is not a valid HyperLogLog string value.";
static const char hll_corrupt[] = "INVALIDOBJ Corrupted HLL object detected";

/* An HLL value being worked on (a private copy: the sparse form grows). */
typedef struct hll {
    unsigned char *p;
    size_t len, cap;
} hll;

/* ---- hashing ------------------------------------------------------------------------------ */

/* MurmurHash64A (Austin Appleby's 64-bit MurmurHash2), blocks read
 * little-endian whatever the host. */
static uint64_t murmur64a(const unsigned char *p, size_t n, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ull;
    const int r = 47;
    uint64_t h = seed ^ (n * m);
    size_t blocks = n / 8;

    for (size_t i = 0; i < blocks; i++) {
        uint64_t k = 0;
        for (int b = 7; b >= 0; b--)
            k = k << 8 | p[i * 8 + (size_t)b];
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    if (n & 7) {
        const unsigned char *t = p + blocks * 8;
        for (int b = (int)(n & 7) - 1; b >= 0; b--)
            h ^= (uint64_t)t[b] << (8 * b);
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

/* The register of an element and the value it offers (1..HLL_Q+1). */
static int hll_pattern(const void *ele, size_t n, unsigned *reg)
{
    uint64_t h = murmur64a(ele, n, HLL_SEED);
    int count = 1;

    *reg = (unsigned)(h & (HLL_REGS - 1));
    h >>= HLL_P;
    h |= 1ull << HLL_Q; /* the run ends by Q+1 at the latest */
    while (!(h & 1))
        h >>= 1, count++;
    return count;
}

/* ---- dense registers ---------------------------------------------------------------------- */

static unsigned dense_get(const unsigned char *regs, unsigned i)
{
    size_t byte = (size_t)i * 6 / 8;
    unsigned fb = (i * 6) & 7;
    unsigned v = regs[byte] >> fb;

    if (fb > 2)
        v |= (unsigned)regs[byte + 1] << (8 - fb);
    return v & 63;
}

static void dense_put(unsigned char *regs, unsigned i, unsigned v)
{
    size_t byte = (size_t)i * 6 / 8;
    unsigned fb = (i * 6) & 7;

    regs[byte] = (unsigned char)((regs[byte] & ~(63u << fb)) | (v << fb));
    if (fb > 2) {
        unsigned hi = 8 - fb;
        regs[byte + 1] = (unsigned char)((regs[byte + 1] & ~(63u >> hi)) | (v >> hi));
    }
}

/* ---- the sparse form ---------------------------------------------------------------------- */

#define OP_IS_ZERO(b) (((b)&0xc0) == 0x00)
#define OP_IS_XZERO(b) (((b)&0xc0) == 0x40)
#define OP_VAL_VALUE(b) ((((unsigned)(b) >> 2) & 0x1fu) + 1u)
#define OP_VAL_LEN(b) (((unsigned)(b)&0x3u) + 1u)

/* How many registers the opcode at p covers and its size in bytes. An
 * XZERO at the very end reads the zero byte kept after the copy (hll_reserve)
 * as its second byte, as Redis reads the sds terminator. */
static unsigned op_span(const unsigned char *p, size_t *size)
{
    if (OP_IS_ZERO(*p)) {
        *size = 1;
        return (*p & 0x3f) + 1u;
    }
    if (OP_IS_XZERO(*p)) {
        *size = 2;
        return (((unsigned)(*p & 0x3f) << 8) | p[1]) + 1u;
    }
    *size = 1;
    return OP_VAL_LEN(*p);
}

/* Zero registers as opcodes (ZERO up to 64, XZERO beyond); bytes written. */
static size_t put_zeros(unsigned char *out, unsigned len)
{
    if (len <= HLL_ZERO_MAX_LEN) {
        out[0] = (unsigned char)(len - 1);
        return 1;
    }
    out[0] = (unsigned char)(0x40 | ((len - 1) >> 8));
    out[1] = (unsigned char)((len - 1) & 0xff);
    return 2;
}

static unsigned char val_op(unsigned value, unsigned len)
{
    return (unsigned char)(0x80 | ((value - 1) << 2) | (len - 1));
}

/* The registers of a sparse body into regs[HLL_REGS]; -1 if it is corrupt
 * (not exactly HLL_REGS registers). p[n] must be readable (a zero). */
static int sparse_decode(const unsigned char *p, size_t n, unsigned char *regs)
{
    const unsigned char *end = p + n;
    unsigned idx = 0;

    while (p < end) {
        size_t size;
        unsigned span = op_span(p, &size);
        if (idx + span > HLL_REGS)
            return -1;
        if (!OP_IS_ZERO(*p) && !OP_IS_XZERO(*p))
            memset(regs + idx, (int)OP_VAL_VALUE(*p), span);
        else
            memset(regs + idx, 0, span);
        idx += span;
        p += size;
    }
    return idx == HLL_REGS ? 0 : -1;
}

/* ---- values ------------------------------------------------------------------------------- */

/* Is v a value PFADD and friends accept (Redis's check: header, encoding,
 * the dense size; the sparse body is checked as it is read)? */
static int hll_valid(const ffdb_val *v)
{
    const unsigned char *p = v->data;

    if (v->size < HLL_HDR || memcmp(p, "HYLL", 4) != 0 || p[4] > HLL_SPARSE)
        return 0;
    return p[4] == HLL_SPARSE || v->size == HLL_DENSE_SIZE;
}

/* Every register of an HLL value into regs; -1 if corrupt. */
static int hll_registers(const unsigned char *p, size_t n, unsigned char *regs)
{
    if (p[4] == HLL_SPARSE)
        return sparse_decode(p + HLL_HDR, n - HLL_HDR, regs);
    for (unsigned i = 0; i < HLL_REGS; i++)
        regs[i] = (unsigned char)dense_get(p + HLL_HDR, i);
    return 0;
}

/* Room for need bytes and the zero byte after them. */
static int hll_reserve(hll *h, size_t need)
{
    unsigned char *q;
    size_t cap = h->cap ? h->cap : 64;

    need++;
    if (need <= h->cap)
        return 0;
    while (cap < need)
        cap *= 2;
    q = realloc(h->p, cap);
    if (!q)
        return FFDB_ENOMEM;
    h->p = q;
    h->cap = cap;
    return 0;
}

/* A new, empty HLL: sparse, one XZERO over every register, cardinality 0. */
static int hll_new(hll *h)
{
    int rc = hll_reserve(h, HLL_HDR + 2);

    if (rc)
        return rc;
    memset(h->p, 0, HLL_HDR);
    memcpy(h->p, "HYLL", 4);
    h->p[4] = HLL_SPARSE;
    h->len = HLL_HDR + put_zeros(h->p + HLL_HDR, HLL_REGS);
    h->p[h->len] = 0;
    return 0;
}

static int hll_copy(hll *h, const ffdb_val *v)
{
    int rc = hll_reserve(h, v->size);

    if (rc)
        return rc;
    memcpy(h->p, v->data, v->size);
    h->len = v->size;
    h->p[h->len] = 0;
    return 0;
}

/* Sparse to dense, the header kept (cache included); -1 if corrupt. */
static int hll_to_dense(hll *h)
{
    unsigned char *regs = malloc(HLL_REGS);
    int rc;

    if (!regs)
        return FFDB_ENOMEM;
    if (sparse_decode(h->p + HLL_HDR, h->len - HLL_HDR, regs)) {
        free(regs);
        return -1;
    }
    rc = hll_reserve(h, HLL_DENSE_SIZE);
    if (rc == 0) {
        memset(h->p + HLL_HDR, 0, HLL_DENSE_BYTES);
        for (unsigned i = 0; i < HLL_REGS; i++)
            dense_put(h->p + HLL_HDR, i, regs[i]);
        h->p[4] = HLL_DENSE;
        h->len = HLL_DENSE_SIZE;
        h->p[h->len] = 0;
    }
    free(regs);
    return rc;
}

static void hll_invalidate(hll *h)
{
    h->p[15] |= 0x80;
}

/* After a change at the opcode before `from` (or the start): fold runs of
 * VAL opcodes with the same value, looking at up to five opcodes, as Redis
 * does, so both servers produce the same bytes. */
static void sparse_merge(hll *h, size_t from)
{
    unsigned char *p = h->p + from, *end = h->p + h->len;

    for (int scan = 5; p < end && scan > 0; scan--) {
        if (OP_IS_XZERO(*p)) {
            p += 2;
            continue;
        }
        if (OP_IS_ZERO(*p)) {
            p++;
            continue;
        }
        if (p + 1 < end && !OP_IS_ZERO(p[1]) && !OP_IS_XZERO(p[1]) &&
            OP_VAL_VALUE(*p) == OP_VAL_VALUE(p[1])) {
            unsigned len = OP_VAL_LEN(*p) + OP_VAL_LEN(p[1]);
            if (len <= HLL_VAL_MAX_LEN) {
                p[1] = val_op(OP_VAL_VALUE(*p), len);
                memmove(p, p + 1, (size_t)(end - p - 1));
                end--;
                h->len--;
                h->p[h->len] = 0;
                continue; /* the same place again */
            }
        }
        p++;
    }
}

/* The opcodes that replace the one covering reg (its registers first ..
 * first+span-1, a run of old, 0 for zeros) once reg holds count; their
 * length. */
static size_t split_op(unsigned char *seq, unsigned old, unsigned first, unsigned span,
                       unsigned reg, unsigned count)
{
    unsigned last = first + span - 1;
    size_t n = 0;

    if (reg != first) {
        if (old)
            seq[n++] = val_op(old, reg - first);
        else
            n += put_zeros(seq + n, reg - first);
    }
    seq[n++] = val_op(count, 1);
    if (reg != last) {
        if (old)
            seq[n++] = val_op(old, last - reg);
        else
            n += put_zeros(seq + n, last - reg);
    }
    return n;
}

/* Set register reg to count if that is greater, step by step as Redis's
 * hllSparseSet (the comment at the top says why it matters). 1 changed, 0
 * not, -1 a corrupt value, or an FFDB_E code. */
static int hll_set(hll *h, unsigned reg, unsigned count)
{
    unsigned char *p, *end, seq[5];
    size_t prev = 0, size = 1, seqlen, at, next;
    unsigned first = 0, span = 0;
    int rc;

    assert(reg < HLL_REGS && count >= 1 && count <= HLL_Q + 1);
    if (h->p[4] == HLL_DENSE) {
        if (dense_get(h->p + HLL_HDR, reg) >= count)
            return 0;
        dense_put(h->p + HLL_HDR, reg, count);
        return 1;
    }
    if (count > HLL_VAL_MAX_VALUE)
        goto promote;
    rc = hll_reserve(h, h->len + 3); /* XZERO split into XZERO VAL XZERO */
    if (rc)
        return rc;
    /* the opcode covering reg, and the one before it */
    p = h->p + HLL_HDR;
    end = h->p + h->len;
    while (p < end) {
        span = op_span(p, &size);
        if (reg < first + span)
            break;
        prev = (size_t)(p - h->p);
        first += span;
        p += size;
    }
    if (p >= end)
        return -1;
    at = (size_t)(p - h->p);
    next = at + size; /* past the end for an XZERO cut off by it */
    if (!OP_IS_ZERO(*p) && !OP_IS_XZERO(*p)) {
        if (OP_VAL_VALUE(*p) >= count)
            return 0;
        if (span == 1) {
            *p = val_op(count, 1);
            goto updated;
        }
        seqlen = split_op(seq, OP_VAL_VALUE(*p), first, span, reg, count);
    } else {
        if (OP_IS_ZERO(*p) && span == 1) {
            *p = val_op(count, 1);
            goto updated;
        }
        seqlen = split_op(seq, 0, first, span, reg, count);
    }
    if (seqlen > size && h->len + seqlen - size > HLL_SPARSE_MAX_BYTES)
        goto promote;
    if (seqlen != size && next < h->len)
        memmove(p + seqlen, p + size, h->len - next);
    h->len = h->len + seqlen - size;
    h->p[h->len] = 0;
    /* after the end's zero, as Redis does: a cut-off XZERO's split may
     * overwrite it (within this command it is then read as Redis reads it) */
    memcpy(p, seq, seqlen);
updated:
    sparse_merge(h, prev ? prev : HLL_HDR);
    hll_invalidate(h);
    return 1;
promote:
    rc = hll_to_dense(h);
    if (rc)
        return rc;
    return hll_set(h, reg, count);
}

/* ---- the estimate ------------------------------------------------------------------------- */

static double ertl_sigma(double x)
{
    double y = 1, z = x, prev;

    if (x == 1.)
        return INFINITY;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (prev != z);
    return z;
}

static double ertl_tau(double x)
{
    double y = 1, z = 1 - x, prev;

    if (x == 0. || x == 1.)
        return 0.;
    do {
        x = sqrt(x);
        prev = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (prev != z);
    return z / 3;
}

static uint64_t hll_estimate(const unsigned char *regs)
{
    const double m = HLL_REGS, alpha_inf = 0.721347520444481703680; /* 1 / (2 ln 2) */
    unsigned histo[64] = {0};
    double z;

    for (unsigned i = 0; i < HLL_REGS; i++)
        histo[regs[i] & 63]++;
    z = m * ertl_tau((m - histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; j--) {
        z += histo[j];
        z *= 0.5;
    }
    z += m * ertl_sigma(histo[0] / m);
    return (uint64_t)llroundl(alpha_inf * m * m / z);
}

/* ---- looking keys up ---------------------------------------------------------------------- */

/* The HLL at key into *h (a copy). 0, FFDB_NOTFOUND, 1 after an error
 * reply, or an FFDB_E code. */
static int hll_load(resp_ctx *c, const resp_arg *key, hll *h, store_meta *m)
{
    int rc = store_lookup_type(c->st, c->db, key->p, key->n, STORE_STRING, m);

    if (rc == FFDB_NOTFOUND)
        return rc;
    if (rc) {
        rc = redis_store_error(c, rc);
        return rc ? rc : 1;
    }
    if (!hll_valid(&m->value)) {
        reply_error(c->r, hll_wrongtype);
        return 1;
    }
    return hll_copy(h, &m->value);
}

static int hll_save(resp_ctx *c, const resp_arg *key, const hll *h, int64_t expire_ms)
{
    int rc = store_string_put(c->st, c->db, key->p, key->n, h->p, h->len, expire_ms);
    return redis_store_error(c, rc);
}

/* ---- commands ----------------------------------------------------------------------------- */

/* PFADD key [element ...] */
static int pfadd(resp_ctx *c)
{
    hll h = {0};
    store_meta m;
    int updated = 0, rc;

    if (c->argv[1].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    rc = hll_load(c, &c->argv[1], &h, &m);
    if (rc == FFDB_NOTFOUND) {
        m.expire_ms = 0;
        rc = hll_new(&h);
        updated = 1;
    }
    for (int i = 2; rc == 0 && i < c->argc; i++) {
        unsigned reg;
        int count = hll_pattern(c->argv[i].p, c->argv[i].n, &reg);
        int set = hll_set(&h, reg, (unsigned)count);
        if (set == -1) {
            /* Redis changes the value in place: registers set before the
             * corruption was found stay set (and the cache as it was) */
            rc = updated ? hll_save(c, &c->argv[1], &h, m.expire_ms) : 0;
            if (rc == 0)
                reply_error(c->r, hll_corrupt);
            rc = rc ? rc : 1;
        } else if (set < 0) {
            rc = set;
        } else {
            updated |= set;
        }
    }
    if (rc == 0 && updated) {
        hll_invalidate(&h);
        rc = hll_save(c, &c->argv[1], &h, m.expire_ms);
    }
    if (rc == 0)
        reply_int(c->r, updated);
    free(h.p);
    return rc == 1 ? 0 : rc;
}

/* Fold the HLL at key into max (register by register). 0, 1 after an
 * error reply, or an FFDB_E code; *dense set if it is dense. */
static int fold_key(resp_ctx *c, const resp_arg *key, unsigned char *max, unsigned char *tmp,
                    int *dense)
{
    hll h = {0};
    store_meta m;
    int rc = hll_load(c, key, &h, &m);

    if (rc == FFDB_NOTFOUND)
        return 0;
    if (rc == 0) {
        if (h.p[4] == HLL_DENSE && dense)
            *dense = 1;
        if (hll_registers(h.p, h.len, tmp)) {
            reply_error(c->r, hll_corrupt);
            rc = 1;
        } else {
            for (unsigned i = 0; i < HLL_REGS; i++)
                if (tmp[i] > max[i])
                    max[i] = tmp[i];
        }
    }
    free(h.p);
    return rc;
}

/* PFCOUNT of one key: the cached cardinality, or the estimate, cached. */
static int pfcount_one(resp_ctx *c)
{
    hll h = {0};
    store_meta m;
    unsigned char *regs = NULL;
    uint64_t card = 0;
    int rc = hll_load(c, &c->argv[1], &h, &m);

    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc == 0 && !(h.p[15] & 0x80)) {
        for (int b = 7; b >= 0; b--)
            card = card << 8 | h.p[8 + b];
    } else if (rc == 0) {
        regs = malloc(HLL_REGS);
        if (!regs)
            rc = FFDB_ENOMEM;
        else if (hll_registers(h.p, h.len, regs)) {
            reply_error(c->r, hll_corrupt);
            rc = 1;
        } else {
            card = hll_estimate(regs);
            for (int b = 0; b < 8; b++)
                h.p[8 + b] = (unsigned char)(card >> (8 * b));
            rc = hll_save(c, &c->argv[1], &h, m.expire_ms);
        }
    }
    if (rc == 0)
        reply_int(c->r, (int64_t)card);
    free(regs);
    free(h.p);
    return rc == 1 ? 0 : rc;
}

/* PFCOUNT key [key ...]: several keys count their union, nothing cached. */
static int pfcount(resp_ctx *c)
{
    unsigned char *max, *tmp;
    int rc = 0;

    if (c->argc == 2)
        return pfcount_one(c);
    max = calloc(2, HLL_REGS);
    if (!max)
        return FFDB_ENOMEM;
    tmp = max + HLL_REGS;
    for (int i = 1; rc == 0 && i < c->argc; i++)
        rc = fold_key(c, &c->argv[i], max, tmp, NULL);
    if (rc == 0)
        reply_int(c->r, (int64_t)hll_estimate(max));
    free(max);
    return rc == 1 ? 0 : rc;
}

/* PFMERGE destkey [sourcekey ...]: the union into destkey (itself one of
 * the inputs); dense if any input was. */
static int pfmerge(resp_ctx *c)
{
    unsigned char *max, *tmp;
    int dense = 0, rc = 0;
    hll h = {0};
    store_meta m;

    if (c->argv[1].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    max = calloc(2, HLL_REGS);
    if (!max)
        return FFDB_ENOMEM;
    tmp = max + HLL_REGS;
    for (int i = 1; rc == 0 && i < c->argc; i++)
        rc = fold_key(c, &c->argv[i], max, tmp, &dense);
    if (rc == 0) {
        rc = hll_load(c, &c->argv[1], &h, &m);
        if (rc == FFDB_NOTFOUND) {
            m.expire_ms = 0;
            rc = hll_new(&h);
        }
    }
    if (rc == 0 && dense && h.p[4] == HLL_SPARSE && hll_to_dense(&h) == -1) {
        reply_error(c->r, hll_corrupt);
        rc = 1;
    }
    /* the target was one of the inputs, checked: Redis ignores what the
     * sparse update answers, and so does this */
    for (unsigned i = 0; rc == 0 && i < HLL_REGS; i++)
        if (max[i]) {
            int set = hll_set(&h, i, max[i]);
            if (set < -1)
                rc = set;
        }
    if (rc == 0) {
        hll_invalidate(&h);
        rc = hll_save(c, &c->argv[1], &h, m.expire_ms);
    }
    if (rc == 0)
        reply_ok(c->r);
    free(max);
    free(h.p);
    return rc == 1 ? 0 : rc;
}

/* PFDEBUG DECODE's text of a sparse body ("z:n", "Z:n", "v:value,len"). */
static int reply_decode(resp_ctx *c, const hll *h)
{
    const unsigned char *p = h->p + HLL_HDR, *end = h->p + h->len;
    char *out = malloc(h->len * 12 + 1);
    size_t n = 0;

    if (!out)
        return FFDB_ENOMEM;
    while (p < end) {
        size_t size;
        unsigned span = op_span(p, &size);
        if (OP_IS_ZERO(*p))
            n += (size_t)sprintf(out + n, "z:%u ", span);
        else if (OP_IS_XZERO(*p))
            n += (size_t)sprintf(out + n, "Z:%u ", span);
        else
            n += (size_t)sprintf(out + n, "v:%u,%u ", OP_VAL_VALUE(*p), span);
        p += size;
    }
    while (n && out[n - 1] == ' ')
        n--;
    reply_bulk(c->r, out, n);
    free(out);
    return 0;
}

/* PFDEBUG GETREG|DECODE|ENCODING|TODENSE key (GETREG and TODENSE leave the
 * value dense, as Redis does). */
static int pfdebug(resp_ctx *c)
{
    const resp_arg *sub = &c->argv[1];
    hll h = {0};
    store_meta m;
    int rc;

    /* the key first, then the subcommand, as Redis */
    rc = hll_load(c, &c->argv[2], &h, &m);
    if (rc == FFDB_NOTFOUND) {
        reply_error(c->r, "ERR The specified key does not exist");
        return 0;
    }
    if (rc)
        goto done;
    if (!resp_arg_is(sub, "getreg") && !resp_arg_is(sub, "decode") &&
        !resp_arg_is(sub, "encoding") && !resp_arg_is(sub, "todense")) {
        reply_errorf(c->r, "ERR Unknown PFDEBUG subcommand '%.*s'", (int)sub->n, sub->p);
        goto done;
    }
    if (resp_arg_is(sub, "encoding")) {
        reply_simple(c->r, h.p[4] == HLL_DENSE ? "dense" : "sparse");
    } else if (resp_arg_is(sub, "decode")) {
        if (h.p[4] != HLL_SPARSE)
            reply_error(c->r, "ERR HLL encoding is not sparse");
        else
            rc = reply_decode(c, &h);
    } else {
        int was_sparse = h.p[4] == HLL_SPARSE;
        if (was_sparse) {
            rc = hll_to_dense(&h);
            if (rc == -1) {
                reply_error(c->r, hll_corrupt);
                rc = 1;
                goto done;
            }
            if (rc == 0)
                rc = hll_save(c, &c->argv[2], &h, m.expire_ms);
            if (rc)
                goto done;
        }
        if (resp_arg_is(sub, "todense")) {
            reply_int(c->r, was_sparse);
        } else {
            reply_array(c->r, HLL_REGS);
            for (unsigned i = 0; i < HLL_REGS; i++)
                reply_int(c->r, dense_get(h.p + HLL_HDR, i));
        }
    }
done:
    free(h.p);
    return rc == 1 ? 0 : rc;
}

/* PFSELFTEST: the register packing round-trips, and estimates of known
 * cardinalities lie within five standard errors. */
static int pfselftest(resp_ctx *c)
{
    unsigned char *regs = calloc(1, HLL_DENSE_BYTES + HLL_REGS);
    unsigned char *raw = regs + HLL_DENSE_BYTES;
    const double err = 1.04 / sqrt(HLL_REGS);
    uint64_t state = 88172645463325252ull;
    int rc = 0;

    if (!regs)
        return FFDB_ENOMEM;
    for (unsigned i = 0; i < HLL_REGS && !rc; i++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        raw[i] = (unsigned char)(state & 63);
        dense_put(regs, i, raw[i]);
    }
    for (unsigned i = 0; i < HLL_REGS && !rc; i++)
        if (dense_get(regs, i) != raw[i])
            rc = 1;
    memset(raw, 0, HLL_REGS);
    for (uint64_t n = 1; n <= 100000 && !rc; n++) {
        unsigned reg;
        int count = hll_pattern(&n, sizeof(n), &reg);
        if (count > raw[reg])
            raw[reg] = (unsigned char)count;
        if (n % 1000 == 0) {
            double got = (double)hll_estimate(raw);
            if (fabs(got - (double)n) > 5 * err * (double)n + 1)
                rc = 2;
        }
    }
    free(regs);
    if (rc == 1)
        reply_error(c->r, "ERR TESTFAILED Register error");
    else if (rc == 2)
        reply_error(c->r, "ERR TESTFAILED too big error");
    else
        reply_ok(c->r);
    return 0;
}

const resp_command redis_cmds_hll[] = {
    {"pfadd", pfadd, -2, RESP_CMD_WRITE | RESP_CMD_DENYOOM | RESP_CMD_FAST, 1, 1, 1,
     "hyperloglog", "Adds the specified elements to the specified HyperLogLog."},
    /* a write: a stale cached cardinality is refreshed in the value, as
     * Redis does (Redis flags it readonly + may-replicate) */
    {"pfcount", pfcount, -2, RESP_CMD_WRITE, 1, -1, 1, "hyperloglog",
     "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s)."},
    {"pfmerge", pfmerge, -2, RESP_CMD_WRITE | RESP_CMD_DENYOOM, 1, -1, 1, "hyperloglog",
     "Merge N different HyperLogLogs into a single one."},
    {"pfdebug", pfdebug, 3, RESP_CMD_WRITE | RESP_CMD_DENYOOM | RESP_CMD_ADMIN, 2, 2, 1,
     "hyperloglog", "Internal commands for debugging HyperLogLog values"},
    {"pfselftest", pfselftest, 1, RESP_CMD_ADMIN, 0, 0, 0, "hyperloglog",
     "An internal command for testing HyperLogLog values"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
