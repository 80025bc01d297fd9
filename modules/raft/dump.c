/*
 * dump.c — the snapshot's file content as a byte stream (raft.h, "the file
 * content as a stream"): rf_dump reads every bucket and pair of one read
 * txn in order and hands out bytes in pieces of any size (a network sender
 * with back-pressure pulls as much as its socket takes); rf_load feeds the
 * bytes in pieces of any size into a fresh file through the bulk loader
 * (the keys arrive in order), checks the count and XXH64, then commits and
 * syncs. Neither ever holds more than one pair in memory.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "modules/raft/le.h"
#include "modules/raft/raft.h"

#define DUMP_MAGIC "FFRD"
enum { REC_BUCKET = 1, REC_PAIR = 2, REC_END = 3 };

/* ---- the producer -----------------------------------------------------------------------------
 */

enum { D_HDR, D_BUCKET, D_PAIR, D_END, D_DONE };

struct rf_dump {
    ffdb_txn *txn;
    char **names;
    size_t *name_lens;
    size_t nnames, cap, next_name;
    ffdb_cursor *cur;
    int state, first;
    uint64_t records;
    XXH64_state_t *hash;
    uint8_t stage[32];
    struct {
        const uint8_t *p;
        size_t len;
    } seg[3];
    int nseg, iseg, hashed;
    size_t off;
};

static int collect_name(void *arg, const void *name, size_t len)
{
    rf_dump *d = arg;
    if (d->nnames == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 16;
        char **n = realloc(d->names, cap * sizeof *n);
        if (!n)
            return FFDB_ENOMEM;
        d->names = n;
        size_t *l = realloc(d->name_lens, cap * sizeof *l);
        if (!l)
            return FFDB_ENOMEM;
        d->name_lens = l;
        d->cap = cap;
    }
    char *c = malloc(len ? len : 1);
    if (!c)
        return FFDB_ENOMEM;
    memcpy(c, name, len);
    d->names[d->nnames] = c;
    d->name_lens[d->nnames++] = len;
    return 0;
}

int rf_dump_new(ffdb_txn *txn, rf_dump **out)
{
    rf_dump *d = calloc(1, sizeof *d);
    if (!d)
        return FFDB_ENOMEM;
    d->txn = txn;
    int rc = ffdb_bucket_list(txn, collect_name, d);
    if (rc == 0 && !(d->hash = XXH64_createState()))
        rc = FFDB_ENOMEM;
    if (rc) {
        rf_dump_free(d);
        return rc;
    }
    XXH64_reset(d->hash, 0);
    d->state = D_HDR;
    *out = d;
    return 0;
}

static void emit(rf_dump *d, size_t stage_len, const void *a, size_t alen, const void *b,
                 size_t blen, int hashed)
{
    d->seg[0].p = d->stage;
    d->seg[0].len = stage_len;
    d->seg[1].p = a;
    d->seg[1].len = alen;
    d->seg[2].p = b;
    d->seg[2].len = blen;
    d->nseg = 3;
    d->iseg = 0;
    d->off = 0;
    d->hashed = hashed;
}

/* Queue the next record; 0, or a negative code. */
static int advance(rf_dump *d)
{
    ffdb_val k, v;
    ffdb_bucket *b;
    int rc;
    for (;;) {
        switch (d->state) {
        case D_HDR:
            memcpy(d->stage, DUMP_MAGIC, 4);
            put_u32(d->stage + 4, 1);
            emit(d, 8, NULL, 0, NULL, 0, 1);
            d->state = D_BUCKET;
            return 0;
        case D_BUCKET:
            if (d->next_name == d->nnames) {
                d->state = D_END;
                continue;
            }
            rc = ffdb_bucket_open(d->txn, d->names[d->next_name], d->name_lens[d->next_name], &b);
            if (rc == 0)
                rc = ffdb_cursor_open(b, &d->cur);
            if (rc)
                return rc;
            d->stage[0] = REC_BUCKET;
            put_u32(d->stage + 1, (uint32_t)d->name_lens[d->next_name]);
            emit(d, 5, d->names[d->next_name], d->name_lens[d->next_name], NULL, 0, 1);
            d->next_name++;
            d->records++;
            d->state = D_PAIR;
            d->first = 1;
            return 0;
        case D_PAIR:
            rc = d->first ? ffdb_cursor_first(d->cur, &k, &v) : ffdb_cursor_next(d->cur, &k, &v);
            d->first = 0;
            if (rc == FFDB_NOTFOUND) {
                ffdb_cursor_close(d->cur);
                d->cur = NULL;
                d->state = D_BUCKET;
                continue;
            }
            if (rc)
                return rc;
            d->stage[0] = REC_PAIR;
            put_u32(d->stage + 1, (uint32_t)k.size);
            put_u64(d->stage + 5, v.size);
            emit(d, 13, k.data, k.size, v.data, v.size, 1);
            d->records++;
            return 0;
        case D_END:
            d->stage[0] = REC_END;
            put_u64(d->stage + 1, d->records);
            put_u64(d->stage + 9, XXH64_digest(d->hash));
            emit(d, 17, NULL, 0, NULL, 0, 0);
            d->state = D_DONE;
            return 0;
        default:
            return 1; /* nothing left */
        }
    }
}

long rf_dump_read(rf_dump *d, void *buf, size_t cap)
{
    uint8_t *out = buf;
    size_t n = 0;
    while (n < cap) {
        if (d->iseg == d->nseg) {
            int rc = advance(d);
            if (rc < 0)
                return rc;
            if (rc > 0)
                break;
        }
        size_t left = d->seg[d->iseg].len - d->off, take = cap - n < left ? cap - n : left;
        const uint8_t *src = d->seg[d->iseg].p + d->off;
        if (take) {
            memcpy(out + n, src, take);
            if (d->hashed)
                XXH64_update(d->hash, src, take);
        }
        n += take;
        d->off += take;
        if (d->off == d->seg[d->iseg].len) {
            d->iseg++;
            d->off = 0;
        }
    }
    return (long)n;
}

void rf_dump_free(rf_dump *d)
{
    if (!d)
        return;
    if (d->cur)
        ffdb_cursor_close(d->cur);
    for (size_t i = 0; i < d->nnames; i++)
        free(d->names[i]);
    free(d->names);
    free(d->name_lens);
    if (d->hash)
        XXH64_freeState(d->hash);
    free(d);
}

/* ---- the consumer -----------------------------------------------------------------------------
 */

enum { L_HDR, L_TYPE, L_BUCKET_LEN, L_BUCKET_NAME, L_PAIR_HDR, L_KEY, L_VAL, L_END, L_DONE };

struct rf_load {
    char *path;
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bulk *bulk;
    XXH64_state_t *hash;
    uint64_t records;
    int state;
    uint8_t *acc; /* the field being read */
    size_t have, need, acc_cap;
    uint8_t key[FFDB_MAX_KEY_SIZE];
    size_t klen;
    uint64_t vlen;
};

static int want(rf_load *ld, int state, size_t need)
{
    if (need > ld->acc_cap) {
        uint8_t *a = realloc(ld->acc, need);
        if (!a)
            return FFDB_ENOMEM;
        ld->acc = a;
        ld->acc_cap = need;
    }
    ld->state = state;
    ld->need = need;
    ld->have = 0;
    return 0;
}

int rf_load_new(const char *path, const ffdb_options *opt, rf_load **out)
{
    rf_load *ld = calloc(1, sizeof *ld);
    if (!ld || !(ld->path = strdup(path)) || !(ld->hash = XXH64_createState())) {
        if (ld)
            free(ld->path);
        free(ld);
        return FFDB_ENOMEM;
    }
    XXH64_reset(ld->hash, 0);
    unlink(path);
    int rc = ffdb_open(path, opt, &ld->db);
    if (rc == 0)
        rc = ffdb_begin_write(ld->db, &ld->txn);
    if (rc) {
        rf_load_abort(ld);
        return rc;
    }
    if ((rc = want(ld, L_HDR, 8))) {
        rf_load_abort(ld);
        return rc;
    }
    *out = ld;
    return 0;
}

static int end_bucket(rf_load *ld)
{
    int rc = 0;
    if (ld->bulk)
        rc = ffdb_bulk_finish(ld->bulk);
    ld->bulk = NULL;
    return rc;
}

/* A field is complete in ld->acc[0 .. need): act on it and pick the next. */
static int field_done(rf_load *ld)
{
    const uint8_t *a = ld->acc;
    ffdb_bucket *b;
    int rc;
    switch (ld->state) {
    case L_HDR:
        if (memcmp(a, DUMP_MAGIC, 4) != 0 || get_u32(a + 4) != 1)
            return FFDB_EINVAL;
        return want(ld, L_TYPE, 1);
    case L_TYPE:
        if (a[0] == REC_BUCKET)
            return want(ld, L_BUCKET_LEN, 4);
        if (a[0] == REC_PAIR)
            return ld->bulk ? want(ld, L_PAIR_HDR, 12) : FFDB_EINVAL;
        if (a[0] == REC_END)
            return want(ld, L_END, 16);
        return FFDB_EINVAL;
    case L_BUCKET_LEN: {
        uint32_t n = get_u32(a);
        if (n == 0 || n > FFDB_MAX_KEY_SIZE)
            return FFDB_EINVAL;
        return want(ld, L_BUCKET_NAME, n);
    }
    case L_BUCKET_NAME:
        if ((rc = end_bucket(ld)))
            return rc;
        rc = ffdb_bucket_create(ld->txn, a, ld->need, &b);
        if (rc == FFDB_EXISTS)
            return FFDB_EINVAL;
        if (rc == 0)
            rc = ffdb_bulk_begin(b, 0, &ld->bulk);
        if (rc)
            return rc;
        ld->records++;
        return want(ld, L_TYPE, 1);
    case L_PAIR_HDR:
        ld->klen = get_u32(a);
        ld->vlen = get_u64(a + 4);
        if (ld->klen > FFDB_MAX_KEY_SIZE || ld->vlen > FFDB_MAX_VALUE_SIZE)
            return FFDB_EINVAL;
        if (ld->klen == 0) {
            ld->state = L_KEY;
            ld->need = 0;
            return field_done(ld);
        }
        return want(ld, L_KEY, ld->klen);
    case L_KEY:
        memcpy(ld->key, a, ld->klen);
        if (ld->vlen == 0) {
            ld->state = L_VAL;
            ld->need = 0;
            return field_done(ld);
        }
        return want(ld, L_VAL, ld->vlen);
    case L_VAL:
        rc = ffdb_bulk_append(ld->bulk, ld->key, ld->klen, a, ld->vlen);
        if (rc == FFDB_EKEYORDER)
            return FFDB_EINVAL;
        if (rc)
            return rc;
        ld->records++;
        return want(ld, L_TYPE, 1);
    case L_END:
        if (get_u64(a) != ld->records || get_u64(a + 8) != XXH64_digest(ld->hash))
            return FFDB_EINVAL;
        ld->state = L_DONE;
        return 0;
    default:
        return FFDB_EINVAL; /* bytes after the end */
    }
}

int rf_load_feed(rf_load *ld, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        if (ld->state == L_DONE)
            return FFDB_EINVAL;
        size_t take = ld->need - ld->have < len ? ld->need - ld->have : len;
        /* Every byte before the end record's type byte is hashed. */
        int end_type = ld->state == L_TYPE && p[0] == REC_END;
        if (ld->state != L_END && !end_type)
            XXH64_update(ld->hash, p, take);
        memcpy(ld->acc + ld->have, p, take);
        ld->have += take;
        p += take;
        len -= take;
        if (ld->have == ld->need) {
            int rc = field_done(ld);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int rf_load_finish(rf_load *ld)
{
    int rc = ld->state == L_DONE ? 0 : FFDB_EINVAL;
    if (rc == 0)
        rc = end_bucket(ld);
    if (rc == 0) {
        rc = ffdb_commit(ld->txn);
        ld->txn = NULL;
    }
    if (rc == 0)
        rc = ffdb_sync(ld->db);
    if (rc) {
        rf_load_abort(ld);
        return rc;
    }
    ffdb_close(ld->db);
    ld->db = NULL;
    free(ld->acc);
    XXH64_freeState(ld->hash);
    free(ld->path);
    free(ld);
    return 0;
}

void rf_load_abort(rf_load *ld)
{
    if (!ld)
        return;
    if (ld->bulk)
        ffdb_bulk_abort(ld->bulk);
    if (ld->txn)
        ffdb_abort(ld->txn);
    if (ld->db)
        ffdb_close(ld->db);
    unlink(ld->path);
    free(ld->acc);
    if (ld->hash)
        XXH64_freeState(ld->hash);
    free(ld->path);
    free(ld);
}
