/*
 * store.c — the block store's core: open/close, transactions with every
 * bucket open, put/get/has/rm, batches, counters, listing, stat, check and
 * the recovery of interrupted cold-file changes.
 *
 * Owns: the hot file's buckets and invariants S1-S4 (store.h) for writes
 * that do not move blocks between tiers (tier.c does that). Called by the
 * public API and by the other files of the module. Must never: write a
 * block that does not hash to its CID, or end a transaction with the
 * counters (S3) out of step with the index.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "modules/blocks/store.h"

#define FORMAT_VERSION 1
#define NAME(s) s, sizeof(s) - 1

const char *blocks_strerror(int code)
{
    switch (code) {
    case BLOCKS_ECOMPRESS:
        return "compression failed or a cold block is damaged";
    case BLOCKS_EBUSY:
        return "a batch is open on the store";
    case BLOCKS_ELIMIT:
        return "over a limit of the block store";
    case BLOCKS_ESTATE:
        return "the store's contents are inconsistent";
    }
    if (code <= -30800 && code > -30900)
        return ipld_strerror(code);
    return ffdb_strerror(code);
}

/* ---- small helpers ------------------------------------------------------------- */

uint64_t le64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

void put_le64(void *p, uint64_t v)
{
    uint8_t *b = p;
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

uint64_t store_now(blocks *bs)
{
    return bs->opt.now ? bs->opt.now(bs->opt.now_arg) : (uint64_t)time(NULL);
}

size_t store_key(const ipld_cid *cid, uint8_t key[KEY_MAX])
{
    ipld_cid v1;
    ipld_cid_to_v1(cid, &v1);
    return ipld_cid_to_bytes(&v1, key);
}

int store_key_cid(const uint8_t *key, size_t klen, ipld_cid *cid)
{
    return ipld_cid_from_bytes(key, klen, cid) ? BLOCKS_ESTATE : 0;
}

void rec_get(const void *v, int *tier, uint64_t *size, uint64_t *atime, uint32_t *cold_reads)
{
    const uint8_t *b = v;
    if (tier)
        *tier = b[REC_TIER];
    if (size)
        *size = le64(b + REC_SIZE_OFF);
    if (atime)
        *atime = le64(b + REC_ATIME);
    if (cold_reads)
        *cold_reads = (uint32_t)b[REC_COLD_READS] | (uint32_t)b[REC_COLD_READS + 1] << 8;
}

void rec_put(uint8_t rec[REC_SIZE], int tier, uint64_t size, uint64_t atime, uint32_t cold_reads)
{
    memset(rec, 0, REC_SIZE);
    rec[REC_TIER] = (uint8_t)tier;
    if (cold_reads > 0xffff)
        cold_reads = 0xffff;
    rec[REC_COLD_READS] = (uint8_t)cold_reads;
    rec[REC_COLD_READS + 1] = (uint8_t)(cold_reads >> 8);
    put_le64(rec + REC_SIZE_OFF, size);
    put_le64(rec + REC_ATIME, atime);
}

uint32_t rec_stored(const void *v)
{
    const uint8_t *b = (const uint8_t *)v + REC_STORED;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

void rec_set_stored(uint8_t rec[REC_SIZE], uint32_t stored)
{
    for (int i = 0; i < 4; i++)
        rec[REC_STORED + i] = (uint8_t)(stored >> (8 * i));
}

size_t lru_key(uint8_t out[8 + KEY_MAX], uint64_t atime, const uint8_t *key, size_t klen)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(atime >> (56 - 8 * i)); /* big-endian: oldest first */
    memcpy(out + 8, key, klen);
    return 8 + klen;
}

int meta_get_u64s(ffdb_bucket *meta, const char *name, uint64_t *v, size_t n)
{
    ffdb_val val;
    int rc = ffdb_get(meta, name, strlen(name), &val);
    memset(v, 0, n * sizeof *v);
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    for (size_t i = 0; i < n && (i + 1) * 8 <= val.size; i++)
        v[i] = le64((const uint8_t *)val.data + 8 * i);
    return 0;
}

int meta_put_u64s(ffdb_bucket *meta, const char *name, const uint64_t *v, size_t n)
{
    uint8_t buf[8 * 8];
    assert(n <= 8);
    for (size_t i = 0; i < n; i++)
        put_le64(buf + 8 * i, v[i]);
    return ffdb_put(meta, name, strlen(name), buf, 8 * n);
}

/* ---- transactions --------------------------------------------------------------- */

static const char *const bucket_names[] = {"blocks", "index", "lru",   "pending",
                                           "pins",   "refs",  "bloom", "meta"};
#define BUCKET_COUNT (sizeof bucket_names / sizeof bucket_names[0])

int wtx_begin(blocks *bs, wtx *w)
{
    int rc;
    memset(w, 0, sizeof *w);
    w->bs = bs;
    if ((rc = ffdb_begin_write(bs->hot, &w->txn)) != 0)
        return rc;
    ffdb_bucket **b[] = {&w->blocks, &w->index, &w->lru,   &w->pending,
                         &w->pins,   &w->refs,  &w->bloom, &w->meta};
    static_assert(sizeof b / sizeof b[0] == BUCKET_COUNT, "one handle per bucket");
    for (size_t i = 0; i < BUCKET_COUNT; i++)
        if ((rc = ffdb_bucket_open(w->txn, bucket_names[i], strlen(bucket_names[i]), b[i])) != 0)
            goto fail;
    if ((rc = meta_get_u64s(w->meta, "counts", (uint64_t *)&w->c, COUNTS_SIZE / 8)) != 0)
        goto fail;
    return 0;
fail:
    ffdb_abort(w->txn);
    w->txn = NULL;
    return rc == FFDB_NOTFOUND ? BLOCKS_ESTATE : rc;
}

int wtx_commit(wtx *w)
{
    int rc;
    assert(w->txn);
    static_assert(sizeof(counts) == COUNTS_SIZE, "counts layout");
    if ((rc = bloom_grow_if_needed(w)) != 0 ||
        (rc = meta_put_u64s(w->meta, "counts", (const uint64_t *)&w->c, COUNTS_SIZE / 8)) != 0) {
        ffdb_abort(w->txn);
        w->txn = NULL;
        return rc;
    }
    rc = ffdb_commit(w->txn);
    w->txn = NULL;
    return rc;
}

void wtx_abort(wtx *w)
{
    ffdb_abort(w->txn);
    w->txn = NULL;
}

int rtx_begin(blocks *bs, rtx *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    if ((rc = ffdb_begin_read(bs->hot, &r->txn)) != 0)
        return rc;
    ffdb_bucket **b[] = {&r->blocks, &r->index, &r->lru,   &r->pending,
                         &r->pins,   &r->refs,  &r->bloom, &r->meta};
    static_assert(sizeof b / sizeof b[0] == BUCKET_COUNT, "one handle per bucket");
    for (size_t i = 0; i < BUCKET_COUNT; i++)
        if ((rc = ffdb_bucket_open(r->txn, bucket_names[i], strlen(bucket_names[i]), b[i])) != 0) {
            ffdb_abort(r->txn);
            r->txn = NULL;
            return rc == FFDB_NOTFOUND ? BLOCKS_ESTATE : rc;
        }
    return 0;
}

void rtx_end(rtx *r)
{
    ffdb_abort(r->txn);
    r->txn = NULL;
}

/* ---- open / close ------------------------------------------------------------------ */

/* An existing file must carry a format this code reads (read-only handles
 * stop there); a new one gets every bucket and meta/format, meta/bloom. */
static int check_format(ffdb_txn *txn)
{
    ffdb_bucket *b;
    ffdb_val v;
    int rc = ffdb_bucket_open(txn, NAME("meta"), &b);
    if (rc == 0)
        rc = ffdb_get(b, NAME("format"), &v);
    if (rc == 0 && (v.size != 4 || ((const uint8_t *)v.data)[0] > FORMAT_VERSION))
        rc = FFDB_EVERSION;
    return rc;
}

static int any_bucket(void *arg, const void *name, size_t len)
{
    (void)arg, (void)name, (void)len;
    return 1;
}

static int create_layout(blocks *bs)
{
    uint8_t fmt[4] = {FORMAT_VERSION, 0, 0, 0};
    uint64_t bloom = bs->opt.bloom_chunks ? bs->opt.bloom_chunks : BLOOM_DEFAULT_CHUNKS;
    ffdb_txn *txn;
    ffdb_bucket *b = NULL;
    int rc;
    if (bs->opt.ffdb_flags & FFDB_RDONLY) {
        if ((rc = ffdb_begin_read(bs->hot, &txn)) != 0)
            return rc;
        rc = check_format(txn);
        ffdb_abort(txn);
        return rc == FFDB_NOTFOUND ? FFDB_ENOTDB : rc;
    }
    if ((rc = ffdb_begin_write(bs->hot, &txn)) != 0)
        return rc;
    if ((rc = check_format(txn)) != FFDB_NOTFOUND) {
        ffdb_abort(txn);
        return rc;
    }
    /* A file with buckets but no meta/format is some other ffdb file. */
    if ((rc = ffdb_bucket_list(txn, any_bucket, NULL)) != 0) {
        ffdb_abort(txn);
        return rc == 1 ? FFDB_ENOTDB : rc;
    }
    for (size_t i = 0; rc == 0 && i < BUCKET_COUNT; i++) {
        rc = ffdb_bucket_create(txn, bucket_names[i], strlen(bucket_names[i]), &b);
        if (rc == FFDB_EXISTS)
            rc = FFDB_ENOTDB;
    }
    /* b is meta, the last one created. */
    if (rc == 0 && (rc = ffdb_put(b, NAME("format"), fmt, 4)) == 0)
        rc = meta_put_u64s(b, "bloom", &bloom, 1);
    if (rc) {
        ffdb_abort(txn);
        return rc;
    }
    return ffdb_commit(txn);
}

/* The cold file is path.cold; it belongs to the hot file, so it is created
 * whenever missing (FFDB_NOCREATE applies to the hot file only). */
static int open_cold(blocks *bs, const char *path)
{
    size_t n = strlen(path);
    char *cpath = malloc(n + 6);
    ffdb_options o = {.flags = bs->opt.ffdb_flags & ~FFDB_NOCREATE,
                      .io = bs->opt.cold_io ? bs->opt.cold_io : bs->opt.io};
    ffdb_txn *txn;
    ffdb_bucket *b;
    int rc;
    if (!cpath)
        return FFDB_ENOMEM;
    memcpy(cpath, path, n);
    memcpy(cpath + n, ".cold", 6);
    rc = ffdb_open(cpath, &o, &bs->cold);
    free(cpath);
    if (rc || (o.flags & FFDB_RDONLY))
        return rc;
    if ((rc = ffdb_begin_write(bs->cold, &txn)) != 0)
        return rc;
    rc = ffdb_bucket_create(txn, NAME("blocks"), &b);
    if (rc == FFDB_EXISTS) {
        ffdb_abort(txn);
        return 0;
    }
    return rc ? (ffdb_abort(txn), rc) : ffdb_commit(txn);
}

int blocks_open(const char *path, const blocks_options *opt, blocks **out)
{
    blocks *bs = calloc(1, sizeof *bs);
    ffdb_options o = {0};
    int rc;
    assert(path && out);
    *out = NULL;
    if (!bs || !(bs->access = calloc(ACCESS_SLOTS, sizeof *bs->access))) {
        free(bs);
        return FFDB_ENOMEM;
    }
    if (opt)
        bs->opt = *opt;
    o.buffer_pages = bs->opt.buffer_pages;
    o.flags = bs->opt.ffdb_flags;
    o.io = bs->opt.io;
    if ((rc = ffdb_open(path, &o, &bs->hot)) != 0 || (rc = create_layout(bs)) != 0 ||
        (rc = open_cold(bs, path)) != 0 || (rc = store_finish_pending(bs)) != 0) {
        ffdb_close(bs->hot);
        ffdb_close(bs->cold);
        free(bs->access);
        free(bs);
        return rc;
    }
    *out = bs;
    return 0;
}

int blocks_close(blocks *bs)
{
    int rc = 0;
    if (!bs)
        return 0;
    blocks_batch_abort(bs->batch);
    if (!(bs->opt.ffdb_flags & FFDB_RDONLY))
        rc = blocks_flush(bs);
    ffdb_close(bs->cold);
    ffdb_close(bs->hot);
    free(bs->access);
    free(bs);
    return rc;
}

/* ---- writes inside a transaction ------------------------------------------------------ */

/* S1, S3, S4 for a new hot block. */
int store_put_in(wtx *w, const uint8_t *key, size_t klen, const void *data, size_t len)
{
    uint8_t rec[REC_SIZE], lk[8 + KEY_MAX];
    ffdb_val v;
    uint64_t now = store_now(w->bs);
    int rc = ffdb_get(w->index, key, klen, &v);
    if (rc != FFDB_NOTFOUND)
        return rc; /* 0: already present (content addressing: same bytes) */
    if (len > BLOCKS_MAX_BLOCK_SIZE)
        return BLOCKS_ELIMIT;
    rec_put(rec, TIER_HOT, len, now, 0);
    if ((rc = ffdb_put(w->blocks, key, klen, data, len)) != 0 ||
        (rc = ffdb_put(w->index, key, klen, rec, REC_SIZE)) != 0 ||
        (rc = ffdb_put(w->lru, lk, lru_key(lk, now, key, klen), "", 0)) != 0 ||
        (rc = bloom_add(w, key, klen)) != 0)
        return rc;
    w->c.blocks[TIER_HOT]++;
    w->c.bytes[TIER_HOT] += len;
    return 0;
}

/* Removes a block from the index and the hot tier; a cold copy is left to
 * store_finish_pending after the commit (S2), *was_cold says so. */
int store_rm_in(wtx *w, const uint8_t *key, size_t klen, int *was_cold)
{
    uint8_t lk[8 + KEY_MAX], op = 0;
    ffdb_val v;
    int tier;
    uint64_t size, atime;
    int rc = ffdb_get(w->index, key, klen, &v);
    if (rc)
        return rc;
    if (v.size != REC_SIZE)
        return BLOCKS_ESTATE;
    rec_get(v.data, &tier, &size, &atime, NULL);
    *was_cold = tier == TIER_COLD;
    if (tier == TIER_COLD)
        w->c.cold_stored -= rec_stored(v.data);
    if (tier == TIER_HOT) {
        if ((rc = ffdb_delete(w->blocks, key, klen)) != 0 ||
            (rc = ffdb_delete(w->lru, lk, lru_key(lk, atime, key, klen))) != 0)
            return rc;
    } else if ((rc = ffdb_put(w->pending, key, klen, &op, 1)) != 0) {
        return rc;
    }
    if ((rc = ffdb_delete(w->index, key, klen)) != 0)
        return rc;
    w->c.blocks[tier]--;
    w->c.bytes[tier] -= size;
    return 0;
}

/* ---- recovery of cold-file changes (S2) ------------------------------------------------- */

#define PENDING_CHUNK 1024

/* Applies up to PENDING_CHUNK pending entries: deletes the cold copy of
 * every pending key whose index entry is not cold, then drops the entries.
 * Returns 1 if it did some, 0 when none were left. */
static int finish_some(blocks *bs)
{
    uint8_t(*keys)[KEY_MAX] = malloc(PENDING_CHUNK * KEY_MAX);
    size_t klens[PENDING_CHUNK], n = 0;
    ffdb_txn *ctxn = NULL;
    ffdb_bucket *cold;
    ffdb_cursor *cur;
    ffdb_val k, v;
    rtx r;
    wtx w;
    int rc;
    if (!keys)
        return FFDB_ENOMEM;
    if ((rc = rtx_begin(bs, &r)) != 0)
        goto out;
    if ((rc = ffdb_cursor_open(r.pending, &cur)) == 0) {
        for (rc = ffdb_cursor_first(cur, &k, NULL); rc == 0 && n < PENDING_CHUNK;
             rc = ffdb_cursor_next(cur, &k, NULL)) {
            if (k.size > KEY_MAX)
                continue;
            memcpy(keys[n], k.data, k.size);
            klens[n++] = k.size;
        }
        ffdb_cursor_close(cur);
        rc = rc == FFDB_NOTFOUND ? 0 : rc;
    }
    if (rc || n == 0) {
        rtx_end(&r);
        goto out;
    }
    if ((rc = cold_open(bs->cold, 1, &ctxn, &cold)) != 0) {
        rtx_end(&r);
        goto out;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int tier = TIER_HOT;
        int g = ffdb_get(r.index, keys[i], klens[i], &v);
        if (g == 0 && v.size == REC_SIZE)
            rec_get(v.data, &tier, NULL, NULL, NULL);
        else if (g != FFDB_NOTFOUND && g != 0)
            rc = g;
        if (rc == 0 && (g == FFDB_NOTFOUND || tier != TIER_COLD))
            rc = ffdb_delete(cold, keys[i], klens[i]);
    }
    rtx_end(&r);
    if (rc) {
        ffdb_abort(ctxn);
        goto out;
    }
    if ((rc = ffdb_commit(ctxn)) != 0 || (rc = wtx_begin(bs, &w)) != 0)
        goto out;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = ffdb_delete(w.pending, keys[i], klens[i]);
    rc = rc ? (wtx_abort(&w), rc) : wtx_commit(&w);
    if (rc == 0)
        rc = 1;
out:
    free(keys);
    return rc;
}

int store_finish_pending(blocks *bs)
{
    int rc;
    if (bs->opt.ffdb_flags & FFDB_RDONLY)
        return 0;
    while ((rc = finish_some(bs)) == 1)
        ;
    return rc;
}

/* ---- public single-block calls ------------------------------------------------------------ */

static int verify_cid(const ipld_cid *cid, const void *data, size_t len)
{
    int rc = ipld_cid_validate(cid);
    return rc ? rc : ipld_cid_verify(cid, data, len);
}

int blocks_put(blocks *bs, const ipld_cid *cid, const void *data, size_t len)
{
    blocks_batch *b;
    int rc = blocks_batch_begin(bs, &b);
    if (rc)
        return rc;
    if ((rc = blocks_batch_put(b, cid, data, len)) != 0) {
        blocks_batch_abort(b);
        return rc;
    }
    return blocks_batch_commit(b);
}

/* Reads through any transaction's index and blocks (hot) buckets (a read txn's,
 * or a write txn's that sees its own writes). */
int store_read_from(blocks *bs, ffdb_bucket *index, ffdb_bucket *hot, const uint8_t *key,
                    size_t klen, void **data, size_t *len)
{
    ffdb_val v;
    int tier, rc = ffdb_get(index, key, klen, &v);
    uint64_t size;
    if (rc)
        return rc;
    if (v.size != REC_SIZE)
        return BLOCKS_ESTATE;
    rec_get(v.data, &tier, &size, NULL, NULL);
    if (tier == TIER_HOT) {
        if ((rc = ffdb_get(hot, key, klen, &v)) != 0)
            return rc == FFDB_NOTFOUND ? BLOCKS_ESTATE : rc;
        if (!(*data = malloc(v.size ? v.size : 1)))
            return FFDB_ENOMEM;
        if (v.size)
            memcpy(*data, v.data, v.size);
        *len = v.size;
        return 0;
    }
    ffdb_txn *ctxn;
    ffdb_bucket *cold;
    if ((rc = cold_open(bs->cold, 0, &ctxn, &cold)) != 0)
        return rc;
    rc = cold_get(cold, key, klen, data, len);
    ffdb_abort(ctxn);
    if (rc == FFDB_NOTFOUND)
        return BLOCKS_ESTATE;
    if (rc == 0 && *len != size) {
        free(*data);
        return BLOCKS_ESTATE;
    }
    return rc;
}

int store_read_block(blocks *bs, rtx *r, const uint8_t *key, size_t klen, void **data, size_t *len)
{
    return store_read_from(bs, r->index, r->blocks, key, klen, data, len);
}

int blocks_get(blocks *bs, const ipld_cid *cid, int verify, void **data, size_t *len)
{
    uint8_t key[KEY_MAX];
    size_t klen = store_key(cid, key);
    rtx r;
    int rc;
    assert(bs && data && len);
    if ((rc = rtx_begin(bs, &r)) != 0)
        return rc;
    rc = store_read_block(bs, &r, key, klen, data, len);
    rtx_end(&r);
    if (rc)
        return rc;
    if (verify && (rc = ipld_cid_verify(cid, *data, *len)) != 0) {
        free(*data);
        *data = NULL;
        return rc;
    }
    access_record(bs, key, klen);
    return 0;
}

int blocks_has(blocks *bs, const ipld_cid *cid)
{
    uint8_t key[KEY_MAX];
    size_t klen = store_key(cid, key);
    ffdb_val v;
    rtx r;
    int rc;
    if ((rc = rtx_begin(bs, &r)) != 0)
        return rc;
    bs->stat_delta[0]++;
    rc = bloom_maybe(bs, &r, key, klen);
    if (rc == 1) {
        rc = ffdb_get(r.index, key, klen, &v);
        if (rc == FFDB_NOTFOUND)
            bs->stat_delta[2]++; /* the filter said maybe: a false positive */
        rc = rc == 0 ? 1 : rc == FFDB_NOTFOUND ? 0 : rc;
    } else if (rc == 0) {
        bs->stat_delta[1]++;
    }
    rtx_end(&r);
    return rc;
}

int blocks_size(blocks *bs, const ipld_cid *cid, uint64_t *size)
{
    uint8_t key[KEY_MAX];
    size_t klen = store_key(cid, key);
    ffdb_val v;
    rtx r;
    int rc;
    if ((rc = rtx_begin(bs, &r)) != 0)
        return rc;
    rc = ffdb_get(r.index, key, klen, &v);
    if (rc == 0 && v.size != REC_SIZE)
        rc = BLOCKS_ESTATE;
    if (rc == 0)
        rec_get(v.data, NULL, size, NULL, NULL);
    rtx_end(&r);
    return rc;
}

int blocks_rm(blocks *bs, const ipld_cid *cid)
{
    uint8_t key[KEY_MAX];
    size_t klen = store_key(cid, key);
    int was_cold = 0, rc;
    wtx w;
    if (bs->batch)
        return BLOCKS_EBUSY;
    if ((rc = wtx_begin(bs, &w)) != 0)
        return rc;
    if ((rc = store_rm_in(&w, key, klen, &was_cold)) != 0) {
        wtx_abort(&w);
        return rc;
    }
    if ((rc = wtx_commit(&w)) != 0)
        return rc;
    return was_cold ? store_finish_pending(bs) : 0;
}

/* ---- batches ------------------------------------------------------------------------------ */

struct blocks_batch {
    blocks *bs;
    wtx w;
    uint64_t count, bytes;
};

int blocks_batch_begin(blocks *bs, blocks_batch **out)
{
    blocks_batch *b;
    int rc;
    assert(bs && out);
    if (bs->batch)
        return BLOCKS_EBUSY;
    if (!(b = calloc(1, sizeof *b)))
        return FFDB_ENOMEM;
    if ((rc = wtx_begin(bs, &b->w)) != 0) {
        free(b);
        return rc;
    }
    b->bs = bs;
    bs->batch = b;
    *out = b;
    return 0;
}

int blocks_batch_put(blocks_batch *b, const ipld_cid *cid, const void *data, size_t len)
{
    uint8_t key[KEY_MAX];
    int rc;
    assert(b && cid && (data || len == 0));
    if ((rc = verify_cid(cid, data, len)) != 0)
        return rc;
    if ((rc = store_put_in(&b->w, key, store_key(cid, key), data, len)) != 0)
        return rc;
    b->count++;
    b->bytes += len;
    return 0;
}

uint64_t blocks_batch_count(const blocks_batch *b)
{
    return b->count;
}

uint64_t blocks_batch_bytes(const blocks_batch *b)
{
    return b->bytes;
}

int blocks_batch_commit(blocks_batch *b)
{
    int rc;
    assert(b && b->bs->batch == b);
    b->bs->batch = NULL;
    rc = wtx_commit(&b->w);
    free(b);
    return rc;
}

void blocks_batch_abort(blocks_batch *b)
{
    if (!b)
        return;
    b->bs->batch = NULL;
    wtx_abort(&b->w);
    free(b);
}

/* ---- listing, stat, check ------------------------------------------------------------------ */

int blocks_list(blocks *bs, int (*fn)(void *arg, const ipld_cid *cid, uint64_t size, int tier),
                void *arg)
{
    ffdb_cursor *cur;
    ffdb_val k, v;
    rtx r;
    int rc;
    if ((rc = rtx_begin(bs, &r)) != 0)
        return rc;
    if ((rc = ffdb_cursor_open(r.index, &cur)) == 0) {
        for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0; rc = ffdb_cursor_next(cur, &k, &v)) {
            ipld_cid cid;
            int tier;
            uint64_t size;
            if (v.size != REC_SIZE || store_key_cid(k.data, k.size, &cid)) {
                rc = BLOCKS_ESTATE;
                break;
            }
            rec_get(v.data, &tier, &size, NULL, NULL);
            if ((rc = fn(arg, &cid, size, tier)) != 0)
                break;
        }
        ffdb_cursor_close(cur);
        if (rc == FFDB_NOTFOUND)
            rc = 0;
    }
    rtx_end(&r);
    return rc;
}

static uint64_t file_size(ffdb *db)
{
    ffdb_stat st;
    return ffdb_stat_db(db, &st) == 0 ? st.file_bytes : 0;
}

int blocks_stat_get(blocks *bs, blocks_stat *st)
{
    counts c;
    uint64_t stats[3], bloom;
    rtx r;
    int rc;
    memset(st, 0, sizeof *st);
    if ((rc = rtx_begin(bs, &r)) != 0)
        return rc;
    if ((rc = meta_get_u64s(r.meta, "counts", (uint64_t *)&c, COUNTS_SIZE / 8)) == 0 &&
        (rc = meta_get_u64s(r.meta, "stats", stats, 3)) == 0)
        rc = meta_get_u64s(r.meta, "bloom", &bloom, 1);
    rtx_end(&r);
    if (rc)
        return rc;
    for (int t = 0; t < 2; t++) {
        st->blocks[t] = c.blocks[t];
        st->bytes[t] = c.bytes[t];
    }
    st->cold_stored_bytes = c.cold_stored;
    st->pins = c.pins;
    st->bloom_bits = bloom * BLOOM_CHUNK_BITS;
    st->bloom_queries = stats[0] + bs->stat_delta[0];
    st->bloom_negatives = stats[1] + bs->stat_delta[1];
    st->bloom_false_positives = stats[2] + bs->stat_delta[2];
    st->file_bytes[0] = file_size(bs->hot);
    st->file_bytes[1] = file_size(bs->cold);
    return 0;
}

typedef struct check_ctx {
    void (*report)(void *arg, const char *problem);
    void *arg;
    uint64_t problems;
} check_ctx;

static void problem(check_ctx *c, const char *what, const uint8_t *key, size_t klen)
{
    char msg[IPLD_CID_STR_MAX + 96], s[IPLD_CID_STR_MAX] = "?";
    ipld_cid cid;
    if (key && store_key_cid(key, klen, &cid) == 0)
        ipld_cid_str(&cid, s);
    snprintf(msg, sizeof msg, "%s%s%s", key ? s : "", key ? ": " : "", what);
    c->problems++;
    if (c->report)
        c->report(c->arg, msg);
}

/* One index entry: in its tier only, hashing to its CID. */
static int check_entry(blocks *bs, rtx *r, ffdb_bucket *cold, check_ctx *c, ffdb_val k, ffdb_val v,
                       counts *sum)
{
    uint8_t lk[8 + KEY_MAX];
    ipld_cid cid;
    ffdb_val hv;
    int tier, in_hot, in_cold;
    uint64_t size, atime;
    void *data;
    size_t len;
    int rc;
    if (v.size != REC_SIZE || store_key_cid(k.data, k.size, &cid)) {
        problem(c, "bad index entry", NULL, 0);
        return 0;
    }
    rec_get(v.data, &tier, &size, &atime, NULL);
    if (tier != TIER_HOT && tier != TIER_COLD) {
        problem(c, "bad tier in the index", k.data, k.size);
        return 0;
    }
    sum->blocks[tier]++;
    sum->bytes[tier] += size;
    if ((rc = bloom_maybe(bs, r, k.data, k.size)) < 0)
        return rc;
    if (rc == 0)
        problem(c, "not in the bloom filter (S4)", k.data, k.size);
    if (tier == TIER_COLD)
        sum->cold_stored += rec_stored(v.data);
    else if ((rc = ffdb_get(r->lru, lk, lru_key(lk, atime, k.data, k.size), &hv)) != 0) {
        if (rc != FFDB_NOTFOUND)
            return rc;
        problem(c, "hot block without its lru entry", k.data, k.size);
    }
    if ((rc = ffdb_get(r->blocks, k.data, k.size, &hv)) != 0 && rc != FFDB_NOTFOUND)
        return rc;
    in_hot = rc == 0;
    if ((rc = ffdb_get(cold, k.data, k.size, &hv)) != 0 && rc != FFDB_NOTFOUND)
        return rc;
    in_cold = rc == 0;
    if (in_hot + in_cold != 1 || in_cold != (tier == TIER_COLD))
        problem(c,
                in_hot && in_cold   ? "in both tiers"
                : in_hot || in_cold ? "in the wrong tier"
                                    : "missing",
                k.data, k.size);
    if ((rc = store_read_block(bs, r, k.data, k.size, &data, &len)) != 0) {
        if (rc != BLOCKS_ESTATE && rc != BLOCKS_ECOMPRESS)
            return rc;
        problem(c, "unreadable", k.data, k.size);
        return 0;
    }
    if (ipld_cid_verify(&cid, data, len) != 0 || len != size)
        problem(c, "does not match its CID", k.data, k.size);
    free(data);
    return 0;
}

/* S1's lru side (one entry per hot block: each hot block's entry was
 * found, so equal counts mean no extra ones), S3, and the pin count. */
static int check_tail(rtx *r, check_ctx *c, const counts *sum)
{
    ffdb_bucket_stat lst, pst;
    counts stored;
    int rc = meta_get_u64s(r->meta, "counts", (uint64_t *)&stored, COUNTS_SIZE / 8);
    memset(&lst, 0, sizeof lst);
    memset(&pst, 0, sizeof pst);
    if (rc || (rc = ffdb_stat_bucket(r->lru, &lst)) != 0 ||
        (rc = ffdb_stat_bucket(r->pins, &pst)) != 0)
        return rc;
    if (lst.entries != sum->blocks[TIER_HOT])
        problem(c, "lru entries without a hot block", NULL, 0);
    if (memcmp(sum->blocks, stored.blocks, sizeof sum->blocks) != 0 ||
        memcmp(sum->bytes, stored.bytes, sizeof sum->bytes) != 0 ||
        sum->cold_stored != stored.cold_stored || pst.entries != stored.pins)
        problem(c, "counters differ from the index", NULL, 0);
    return 0;
}

int blocks_check(blocks *bs, void (*report)(void *arg, const char *problem), void *arg)
{
    check_ctx c = {report, arg, 0};
    counts sum;
    ffdb_txn *ctxn;
    ffdb_bucket *cold;
    ffdb_cursor *cur;
    ffdb_val k, v;
    rtx r;
    int rc;
    memset(&sum, 0, sizeof sum);
    if ((rc = rtx_begin(bs, &r)) != 0)
        return rc;
    if ((rc = cold_open(bs->cold, 0, &ctxn, &cold)) != 0) {
        rtx_end(&r);
        return rc;
    }
    if ((rc = ffdb_cursor_open(r.index, &cur)) == 0) {
        for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0; rc = ffdb_cursor_next(cur, &k, &v))
            if ((rc = check_entry(bs, &r, cold, &c, k, v, &sum)) != 0)
                break;
        ffdb_cursor_close(cur);
    }
    if (rc == FFDB_NOTFOUND && (rc = ffdb_cursor_open(cold, &cur)) == 0) {
        /* S2: a cold copy without a cold index entry (no move in flight
         * after open's recovery). */
        for (rc = ffdb_cursor_first(cur, &k, NULL); rc == 0; rc = ffdb_cursor_next(cur, &k, NULL)) {
            int tier = TIER_HOT;
            int g = ffdb_get(r.index, k.data, k.size, &v);
            if (g == 0 && v.size == REC_SIZE)
                rec_get(v.data, &tier, NULL, NULL, NULL);
            if (g == FFDB_NOTFOUND || (g == 0 && tier != TIER_COLD))
                problem(&c, "stray copy in the cold file", k.data, k.size);
            else if (g)
                rc = g;
        }
        ffdb_cursor_close(cur);
    }
    if (rc == FFDB_NOTFOUND)
        rc = check_tail(&r, &c, &sum);
    ffdb_abort(ctxn);
    rtx_end(&r);
    if (rc)
        return rc;
    return c.problems ? BLOCKS_ESTATE : 0;
}
