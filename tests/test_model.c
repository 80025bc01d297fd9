/*
 * test_model.c — the model-based randomized test of the engine.
 *
 * Long seeded random sequences of put/insert/update/delete/get, cursor moves
 * (first/last/seek/next/prev), bucket create/drop/list, commit, abort,
 * read transactions, a long-lived reader and close/reopen run against a
 * database with a 16-frame buffer pool (so eviction and spilling happen all
 * the time; one run uses 256 frames and many big values, so overflow runs
 * are cached in the pool), and every result is compared with a plain
 * in-memory model:
 * per bucket a sorted array of (key, value). Keys are 0..64 bytes (now and
 * then up to 1024), values 0..300 bytes (now and then 4 KiB..100 KiB, i.e.
 * overflow runs). After every commit and reopen, ffdb_check must be clean and
 * account for every page, and a full scan of every bucket must match.
 *
 * Cursor semantics checked (include/ffdb.h): after writes through its txn a
 * cursor continues from the key it was on — next returns the first key
 * greater than it, prev the last key smaller than it, whether or not that
 * key still exists.
 *
 * The seed is printed at the start and in every failure message;
 * FFDB_TEST_SEED=<n> repeats a run of model::random_seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"

TestSuite(model, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

#define NB 4
static const char *const bucket_names[NB] = {"alpha", "beta", "gamma", "delta"};
/* the names in byte order, as ffdb_bucket_list must give them */
static const int names_sorted[NB] = {0, 1, 3, 2};

#define BIG_VALUE_MAX (100 * 1024)

/* ---- the model -------------------------------------------------------------------------- */

typedef struct blob {
    int refs;
    size_t len;
    unsigned char data[];
} blob;

static blob *blob_new(const void *data, size_t len)
{
    blob *b = malloc(sizeof *b + len + 1);
    cr_assert(b != NULL);
    b->refs = 1;
    b->len = len;
    if (len)
        memcpy(b->data, data, len);
    return b;
}

static blob *blob_ref(blob *b)
{
    b->refs++;
    return b;
}

static void blob_unref(blob *b)
{
    if (b && --b->refs == 0)
        free(b);
}

static int key_order(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

typedef struct mentry {
    blob *k, *v;
} mentry;

typedef struct mtree {
    mentry *e;
    size_t n, cap;
} mtree;

typedef struct mstate {
    int present[NB];
    mtree t[NB];
} mstate;

/* First index whose key is >= key. */
static size_t mt_lower(const mtree *t, const void *key, size_t klen)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (key_order(t->e[mid].k->data, t->e[mid].k->len, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First index whose key is > key. */
static size_t mt_upper(const mtree *t, const void *key, size_t klen)
{
    size_t i = mt_lower(t, key, klen);
    if (i < t->n && key_order(t->e[i].k->data, t->e[i].k->len, key, klen) == 0)
        i++;
    return i;
}

static mentry *mt_find(const mtree *t, const void *key, size_t klen)
{
    size_t i = mt_lower(t, key, klen);
    if (i < t->n && key_order(t->e[i].k->data, t->e[i].k->len, key, klen) == 0)
        return &t->e[i];
    return NULL;
}

/* Takes over the references k and v. */
static void mt_put(mtree *t, blob *k, blob *v)
{
    size_t i = mt_lower(t, k->data, k->len);
    if (i < t->n && key_order(t->e[i].k->data, t->e[i].k->len, k->data, k->len) == 0) {
        blob_unref(t->e[i].v);
        blob_unref(k);
        t->e[i].v = v;
        return;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->e = realloc(t->e, t->cap * sizeof *t->e);
        cr_assert(t->e != NULL);
    }
    memmove(&t->e[i + 1], &t->e[i], (t->n - i) * sizeof *t->e);
    t->e[i].k = k;
    t->e[i].v = v;
    t->n++;
}

static void mt_del(mtree *t, const void *key, size_t klen)
{
    size_t i = mt_lower(t, key, klen);
    if (i < t->n && key_order(t->e[i].k->data, t->e[i].k->len, key, klen) == 0) {
        blob_unref(t->e[i].k);
        blob_unref(t->e[i].v);
        memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof *t->e);
        t->n--;
    }
}

static void mt_clear(mtree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        blob_unref(t->e[i].k);
        blob_unref(t->e[i].v);
    }
    free(t->e);
    memset(t, 0, sizeof *t);
}

static void ms_free(mstate *m)
{
    for (int i = 0; i < NB; i++)
        mt_clear(&m->t[i]);
    memset(m, 0, sizeof *m);
}

static void ms_copy(mstate *dst, const mstate *src)
{
    memset(dst, 0, sizeof *dst);
    for (int i = 0; i < NB; i++) {
        const mtree *s = &src->t[i];
        mtree *d = &dst->t[i];
        dst->present[i] = src->present[i];
        d->n = s->n;
        d->cap = s->n ? s->n : 1;
        d->e = malloc(d->cap * sizeof *d->e);
        cr_assert(d->e != NULL);
        for (size_t j = 0; j < s->n; j++) {
            d->e[j].k = blob_ref(s->e[j].k);
            d->e[j].v = blob_ref(s->e[j].v);
        }
    }
}

static uint64_t ms_entries(const mstate *m)
{
    uint64_t n = 0;
    for (int i = 0; i < NB; i++)
        n += m->present[i] ? m->t[i].n : 0;
    return n;
}

static uint64_t ms_buckets(const mstate *m)
{
    uint64_t n = 0;
    for (int i = 0; i < NB; i++)
        n += m->present[i] != 0;
    return n;
}

/* ---- the run ------------------------------------------------------------------------------- */

struct config {
    unsigned steps;
    unsigned page_size;
    unsigned drop_permille;     /* bucket create/drop frequency */
    unsigned long_key_permille; /* keys of 65..1024 bytes */
    unsigned batch_max;         /* batch puts insert 20..batch_max keys */
    unsigned prefill;           /* entries put into two buckets before the random steps */
    unsigned frames;            /* buffer pool frames; 0 = 16 */
    unsigned big_permille;      /* values of 4 KiB..100 KiB; 0 = 15 */
};

struct run {
    tu_rng rng;
    struct config cfg;
    const char *path;
    ffdb *db;
    unsigned long step;
    const char *op;

    mstate committed;
    mstate work;              /* the write txn's view */
    ffdb_txn *txn;
    int txn_write;
    ffdb_bucket *bh[NB];
    ffdb_cursor *cur[NB];
    blob *cpos[NB];           /* the key the cursor is on; NULL: unpositioned */

    ffdb_txn *lr;             /* long-lived reader */
    mstate lrm;
    ffdb_bucket *lrb[NB];

    unsigned char *vbuf;
    uint64_t commits, aborts, reopens, evictions, spills;
};

#define MF(cond, fmt, ...)                                                                   \
    cr_assert(cond, "[seed %llu step %lu op %s] " fmt, TU_SEED_ARG, r->step, r->op,          \
              ##__VA_ARGS__)

#define MRC(expr, want)                                                                      \
    do {                                                                                     \
        int m_rc_ = (expr);                                                                  \
        int m_want_ = (want);                                                                \
        if (m_rc_ != m_want_) {                                                              \
            ffdb_error_info m_ei_;                                                           \
            ffdb_last_error(&m_ei_);                                                         \
            MF(0, "%s returned %d (%s), expected %d (%s); last error: %s (page %llu)", #expr, \
               m_rc_, ffdb_strerror(m_rc_), m_want_, ffdb_strerror(m_want_), m_ei_.message,  \
               (unsigned long long)m_ei_.pgno);                                              \
        }                                                                                    \
    } while (0)

static mstate *view(struct run *r)
{
    return r->txn_write ? &r->work : &r->committed;
}

static int val_is(ffdb_val v, const blob *b)
{
    return v.size == b->len && (b->len == 0 || memcmp(v.data, b->data, b->len) == 0);
}

static void show_key(char *out, size_t outlen, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t o = 0;
    o += (size_t)snprintf(out + o, outlen - o, "[%zu]", len);
    for (size_t i = 0; i < len && i < 16 && o + 3 < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%02x", p[i]);
}

static blob *gen_key(struct run *r)
{
    static const unsigned char alphabet[] = {0x00, 0x01, 'a', 'b', 0x7f, 0x80, 0xff};
    unsigned char buf[FFDB_MAX_KEY_SIZE];
    size_t len = tu_chance(&r->rng, r->cfg.long_key_permille)
                     ? tu_range(&r->rng, 65, FFDB_MAX_KEY_SIZE)
                     : tu_below(&r->rng, 65);
    if (tu_chance(&r->rng, 500)) {
        /* a small alphabet: shared prefixes, 0x00/0xff bytes, keys that are prefixes */
        for (size_t i = 0; i < len; i++)
            buf[i] = alphabet[tu_below(&r->rng, sizeof alphabet)];
        if (len > 6)
            len = tu_below(&r->rng, 7);
    } else {
        tu_fill(&r->rng, buf, len);
    }
    return blob_new(buf, len);
}

/* An existing key half of the time, else a fresh one. */
static blob *pick_key(struct run *r, const mtree *t)
{
    if (t->n && tu_chance(&r->rng, 500))
        return blob_ref(t->e[tu_below(&r->rng, t->n)].k);
    return gen_key(r);
}

static blob *gen_value(struct run *r)
{
    unsigned big = r->cfg.big_permille ? r->cfg.big_permille : 15;
    size_t len = tu_chance(&r->rng, big) ? tu_range(&r->rng, 4096, BIG_VALUE_MAX)
                                        : tu_below(&r->rng, 301);
    tu_fill(&r->rng, r->vbuf, len);
    return blob_new(r->vbuf, len);
}

/* The bucket handle of bucket i in the current txn (opened on first use). */
static ffdb_bucket *bucket(struct run *r, int i)
{
    if (!r->bh[i]) {
        MRC(ffdb_bucket_open(r->txn, bucket_names[i], strlen(bucket_names[i]), &r->bh[i]), 0);
        MF(r->bh[i] != NULL, "bucket_open gave no handle");
    }
    return r->bh[i];
}

static void forget_handles(struct run *r)
{
    for (int i = 0; i < NB; i++) {
        r->bh[i] = NULL;
        r->cur[i] = NULL;
        blob_unref(r->cpos[i]);
        r->cpos[i] = NULL;
    }
}

/* Compare every bucket of txn with model m: presence, a full cursor scan
 * both ways, bucket_stat entries, and the bucket list. */
static void verify_all(struct run *r, ffdb_txn *txn, const mstate *m)
{
    const char *saved = r->op;
    r->op = "verify_all";
    for (int i = 0; i < NB; i++) {
        ffdb_bucket *b = NULL;
        ffdb_cursor *c = NULL;
        ffdb_val k, v;
        const mtree *t = &m->t[i];
        size_t j = 0;
        int rc = ffdb_bucket_open(txn, bucket_names[i], strlen(bucket_names[i]), &b);
        if (!m->present[i]) {
            MF(rc == FFDB_NOTFOUND, "bucket %s should not exist: %d (%s)", bucket_names[i], rc,
               ffdb_strerror(rc));
            continue;
        }
        MRC(rc, 0);
        MRC(ffdb_cursor_open(b, &c), 0);
        for (rc = ffdb_cursor_first(c, &k, &v); rc == 0; rc = ffdb_cursor_next(c, &k, &v), j++) {
            char want[64], got[64];
            MF(j < t->n, "bucket %s: more entries than the model's %zu", bucket_names[i], t->n);
            show_key(want, sizeof want, t->e[j].k->data, t->e[j].k->len);
            show_key(got, sizeof got, k.data, k.size);
            MF(val_is(k, t->e[j].k), "bucket %s entry %zu: key %s, model %s", bucket_names[i], j,
               got, want);
            MF(val_is(v, t->e[j].v), "bucket %s entry %zu (key %s): value of %zu bytes differs "
               "(model %zu bytes)", bucket_names[i], j, want, v.size, t->e[j].v->len);
        }
        MRC(rc, FFDB_NOTFOUND);
        MF(j == t->n, "bucket %s: scan found %zu entries, model has %zu", bucket_names[i], j,
           t->n);
        j = t->n;
        for (rc = ffdb_cursor_last(c, &k, NULL); rc == 0; rc = ffdb_cursor_prev(c, &k, NULL)) {
            MF(j > 0, "bucket %s: backward scan too long", bucket_names[i]);
            j--;
            MF(val_is(k, t->e[j].k), "bucket %s: backward scan entry %zu differs",
               bucket_names[i], j);
        }
        MRC(rc, FFDB_NOTFOUND);
        MF(j == 0, "bucket %s: backward scan stopped at %zu", bucket_names[i], j);
        ffdb_cursor_close(c);
        {
            ffdb_bucket_stat bs;
            MRC(tu_bstat(b, &bs), 0);
            MF(bs.entries == t->n, "bucket %s: bucket_stat entries %llu, model %zu",
               bucket_names[i], (unsigned long long)bs.entries, t->n);
            MF((bs.depth == 0) == (t->n == 0), "bucket %s: depth %u with %zu entries",
               bucket_names[i], bs.depth, t->n);
        }
    }
    r->op = saved;
}

struct list_state {
    struct run *r;
    const mstate *m;
    int next;     /* index into names_sorted */
    int bad;
};

static int list_cb(void *arg, const void *name, size_t len)
{
    struct list_state *ls = arg;
    while (ls->next < NB && !ls->m->present[names_sorted[ls->next]])
        ls->next++;
    if (ls->next >= NB) {
        ls->bad = 1;
        return 1;
    }
    const char *want = bucket_names[names_sorted[ls->next]];
    if (len != strlen(want) || memcmp(name, want, len) != 0) {
        ls->bad = 1;
        return 1;
    }
    ls->next++;
    return 0;
}

static void verify_list(struct run *r, ffdb_txn *txn, const mstate *m)
{
    struct list_state ls = {r, m, 0, 0};
    MRC(ffdb_bucket_list(txn, list_cb, &ls), 0);
    while (ls.next < NB && !m->present[names_sorted[ls.next]])
        ls.next++;
    MF(!ls.bad && ls.next == NB, "bucket_list differs from the model");
}

static void check_db(struct run *r)
{
    ffdb_check_result res;
    ffdb_txn *txn;
    const char *saved = r->op;
    r->op = "check";
    tu_check_clean(r->db, &res);
    MF(res.entries == ms_entries(&r->committed), "check counted %llu entries, model %llu",
       (unsigned long long)res.entries, (unsigned long long)ms_entries(&r->committed));
    MF(res.buckets == ms_buckets(&r->committed), "check counted %llu buckets, model %llu",
       (unsigned long long)res.buckets, (unsigned long long)ms_buckets(&r->committed));
    ffdb_stat st = tu_stat(r->db);
    MF(res.page_count == st.page_count, "check page_count %llu, stat %llu",
       (unsigned long long)res.page_count, (unsigned long long)st.page_count);
    MF(st.bucket_count == ms_buckets(&r->committed), "stat bucket_count %llu",
       (unsigned long long)st.bucket_count);
    MRC(ffdb_begin_read(r->db, &txn), 0);
    MF(ffdb_txn_id(txn) == st.txid, "read txn id %llu, last commit %llu",
       (unsigned long long)ffdb_txn_id(txn), (unsigned long long)st.txid);
    verify_all(r, txn, &r->committed);
    verify_list(r, txn, &r->committed);
    ffdb_abort(txn);
    r->op = saved;
}

static size_t pool_frames(const struct run *r)
{
    return r->cfg.frames ? r->cfg.frames : 16;
}

static void end_long_reader(struct run *r)
{
    if (!r->lr)
        return;
    ffdb_abort(r->lr);
    r->lr = NULL;
    ms_free(&r->lrm);
    memset(r->lrb, 0, sizeof r->lrb);
}

static void reopen(struct run *r)
{
    r->op = "reopen";
    end_long_reader(r);
    ffdb_stat st = tu_stat(r->db);
    r->evictions += st.pool_evictions;
    r->spills += st.pool_spills;
    ffdb_close(r->db);
    r->db = tu_open(r->path, pool_frames(r), 0, FFDB_NOSYNC | FFDB_NODIRECT);
    r->reopens++;
    check_db(r);
}

/* ---- operations inside a txn ----------------------------------------------------------- */

static void op_get(struct run *r, int i)
{
    mtree *t = &view(r)->t[i];
    blob *k = pick_key(r, t);
    mentry *e = mt_find(t, k->data, k->len);
    ffdb_val v = {0};
    int rc;
    r->op = "get";
    rc = ffdb_get(bucket(r, i), k->data, k->len, &v);
    if (e) {
        MRC(rc, 0);
        MF(val_is(v, e->v), "get: value of %zu bytes, model %zu", v.size, e->v->len);
    } else {
        MRC(rc, FFDB_NOTFOUND);
    }
    blob_unref(k);
}

static void op_write(struct run *r, int i, int kind)
{
    mtree *t = &r->work.t[i];
    blob *k = pick_key(r, t);
    mentry *e = mt_find(t, k->data, k->len);
    ffdb_bucket *b = bucket(r, i);
    if (kind == 3) {
        r->op = "delete";
        MRC(ffdb_delete(b, k->data, k->len), 0);
        mt_del(t, k->data, k->len);
        blob_unref(k);
        return;
    }
    blob *v = gen_value(r);
    if (kind == 0) {
        r->op = "put";
        MRC(ffdb_put(b, k->data, k->len, v->data, v->len), 0);
    } else if (kind == 1) {
        r->op = "insert";
        MRC(ffdb_insert(b, k->data, k->len, v->data, v->len), e ? FFDB_EXISTS : 0);
    } else {
        r->op = "update";
        MRC(ffdb_update(b, k->data, k->len, v->data, v->len), e ? 0 : FFDB_NOTFOUND);
    }
    if ((kind == 0) || (kind == 1 && !e) || (kind == 2 && e)) {
        mt_put(t, k, v);
    } else {
        blob_unref(k);
        blob_unref(v);
    }
}

/* Many new keys at once (mostly small values), so trees grow several levels. */
static void op_batch_put(struct run *r, int i)
{
    mtree *t = &r->work.t[i];
    ffdb_bucket *b = bucket(r, i);
    unsigned n = (unsigned)tu_range(&r->rng, 20, r->cfg.batch_max);
    r->op = "batch_put";
    for (unsigned j = 0; j < n; j++) {
        blob *k = gen_key(r);
        size_t vlen = tu_chance(&r->rng, 5) ? tu_range(&r->rng, 4096, 20000)
                                            : tu_below(&r->rng, 120);
        tu_fill(&r->rng, r->vbuf, vlen);
        blob *v = blob_new(r->vbuf, vlen);
        MRC(ffdb_put(b, k->data, k->len, v->data, v->len), 0);
        mt_put(t, k, v);
    }
}

/* Delete a run of consecutive keys (merges and borrows). */
static void op_range_delete(struct run *r, int i)
{
    mtree *t = &r->work.t[i];
    ffdb_bucket *b = bucket(r, i);
    blob *from = pick_key(r, t);
    size_t at = mt_lower(t, from->data, from->len);
    unsigned n = (unsigned)tu_range(&r->rng, 5, 40);
    r->op = "range_delete";
    blob_unref(from);
    for (unsigned j = 0; j < n && at < t->n; j++) {
        blob *k = blob_ref(t->e[at].k);
        MRC(ffdb_delete(b, k->data, k->len), 0);
        mt_del(t, k->data, k->len);
        blob_unref(k);
    }
}

/* Expect cursor result rc/k/v to be entry idx of t (idx == t->n: NOTFOUND). */
static void cursor_expect(struct run *r, int i, const mtree *t, size_t idx, int rc, ffdb_val k,
                          ffdb_val v)
{
    blob_unref(r->cpos[i]);
    r->cpos[i] = NULL;
    if (idx >= t->n) {
        MRC(rc, FFDB_NOTFOUND);
        return;
    }
    MRC(rc, 0);
    char want[64], got[64];
    show_key(want, sizeof want, t->e[idx].k->data, t->e[idx].k->len);
    show_key(got, sizeof got, k.data, k.size);
    MF(val_is(k, t->e[idx].k), "bucket %s: cursor on key %s, model says %s (index %zu of %zu)",
       bucket_names[i], got, want, idx, t->n);
    MF(val_is(v, t->e[idx].v), "bucket %s: cursor value at %s differs", bucket_names[i], want);
    r->cpos[i] = blob_ref(t->e[idx].k);
}

static void op_cursor(struct run *r, int i)
{
    const mtree *t = &view(r)->t[i];
    ffdb_val k = {0}, v = {0};
    int rc;
    unsigned what = (unsigned)tu_below(&r->rng, 10);
    if (!r->cur[i]) {
        r->op = "cursor_open";
        MRC(ffdb_cursor_open(bucket(r, i), &r->cur[i]), 0);
    }
    ffdb_cursor *c = r->cur[i];
    if (!r->cpos[i] && what >= 4)
        what = (unsigned)tu_below(&r->rng, 4); /* next/prev need a position */
    switch (what) {
    case 0:
        r->op = "cursor_first";
        rc = ffdb_cursor_first(c, &k, &v);
        cursor_expect(r, i, t, 0, rc, k, v);
        break;
    case 1:
        r->op = "cursor_last";
        rc = ffdb_cursor_last(c, &k, &v);
        cursor_expect(r, i, t, t->n ? t->n - 1 : 0, rc, k, v);
        break;
    case 2:
    case 3: {
        blob *key = pick_key(r, t);
        r->op = "cursor_seek";
        rc = ffdb_cursor_seek(c, key->data, key->len, &k, &v);
        cursor_expect(r, i, t, mt_lower(t, key->data, key->len), rc, k, v);
        blob_unref(key);
        break;
    }
    case 4:
    case 5:
    case 6: {
        blob *pos = blob_ref(r->cpos[i]);
        r->op = "cursor_next";
        rc = ffdb_cursor_next(c, &k, &v);
        cursor_expect(r, i, t, mt_upper(t, pos->data, pos->len), rc, k, v);
        blob_unref(pos);
        break;
    }
    default: {
        blob *pos = blob_ref(r->cpos[i]);
        size_t lo = mt_lower(t, pos->data, pos->len);
        r->op = "cursor_prev";
        rc = ffdb_cursor_prev(c, &k, &v);
        cursor_expect(r, i, t, lo == 0 ? t->n : lo - 1, rc, k, v);
        blob_unref(pos);
        break;
    }
    }
}

static void op_bucket_toggle(struct run *r, int i)
{
    ffdb_bucket *b = NULL;
    const char *name = bucket_names[i];
    if (r->work.present[i]) {
        r->op = "bucket_drop";
        if (r->cur[i]) {
            ffdb_cursor_close(r->cur[i]);
            r->cur[i] = NULL;
        }
        blob_unref(r->cpos[i]);
        r->cpos[i] = NULL;
        r->bh[i] = NULL;
        MRC(ffdb_bucket_create(r->txn, name, strlen(name), &b), FFDB_EXISTS);
        MRC(ffdb_bucket_drop(r->txn, name, strlen(name)), 0);
        MRC(ffdb_bucket_open(r->txn, name, strlen(name), &b), FFDB_NOTFOUND);
        r->work.present[i] = 0;
        mt_clear(&r->work.t[i]);
    } else {
        r->op = "bucket_create";
        MRC(ffdb_bucket_drop(r->txn, name, strlen(name)), FFDB_NOTFOUND);
        MRC(ffdb_bucket_create(r->txn, name, strlen(name), &r->bh[i]), 0);
        r->work.present[i] = 1;
    }
}

static void end_txn(struct run *r, int commit)
{
    /* cursors end with their txn; close some of them explicitly first */
    for (int i = 0; i < NB; i++)
        if (r->cur[i] && tu_chance(&r->rng, 500))
            ffdb_cursor_close(r->cur[i]);
    forget_handles(r);
    if (!r->txn_write) {
        r->op = commit ? "commit(read)" : "abort(read)";
        if (commit)
            MRC(ffdb_commit(r->txn), 0);
        else
            ffdb_abort(r->txn);
        r->txn = NULL;
        return;
    }
    if (commit) {
        r->op = "commit";
        ffdb_stat before = tu_stat(r->db);
        MRC(ffdb_commit(r->txn), 0);
        r->txn = NULL;
        ms_free(&r->committed);
        r->committed = r->work;
        memset(&r->work, 0, sizeof r->work);
        r->commits++;
        ffdb_stat after = tu_stat(r->db);
        MF(after.txid == before.txid || after.txid == before.txid + 1,
           "txid went from %llu to %llu", (unsigned long long)before.txid,
           (unsigned long long)after.txid);
        check_db(r);
    } else {
        r->op = "abort";
        ffdb_abort(r->txn);
        r->txn = NULL;
        ms_free(&r->work);
        r->aborts++;
        if (tu_chance(&r->rng, 300))
            check_db(r); /* an abort gives back every page it took */
    }
}

static void long_reader_step(struct run *r)
{
    int i = (int)tu_below(&r->rng, NB);
    const mtree *t = &r->lrm.t[i];
    r->op = "long_reader";
    if (!r->lrm.present[i]) {
        ffdb_bucket *b = NULL;
        MRC(ffdb_bucket_open(r->lr, bucket_names[i], strlen(bucket_names[i]), &b), FFDB_NOTFOUND);
        return;
    }
    if (!r->lrb[i])
        MRC(ffdb_bucket_open(r->lr, bucket_names[i], strlen(bucket_names[i]), &r->lrb[i]), 0);
    if (tu_chance(&r->rng, 100)) {
        r->op = "long_reader_scan";
        verify_all(r, r->lr, &r->lrm);
        return;
    }
    for (int n = 0; n < 5; n++) {
        blob *k = pick_key(r, t);
        mentry *e = mt_find(t, k->data, k->len);
        ffdb_val v;
        int rc = ffdb_get(r->lrb[i], k->data, k->len, &v);
        if (e) {
            MRC(rc, 0);
            MF(val_is(v, e->v), "long reader: value differs from its snapshot");
        } else {
            MRC(rc, FFDB_NOTFOUND);
        }
        blob_unref(k);
    }
}

/* One step between transactions. */
static void idle_step(struct run *r)
{
    unsigned p = (unsigned)tu_below(&r->rng, 1000);
    if (p < 20) {
        reopen(r);
    } else if (p < 45 && !r->lr) {
        r->op = "begin_long_reader";
        MRC(ffdb_begin_read(r->db, &r->lr), 0);
        ms_copy(&r->lrm, &r->committed);
        ffdb_stat st = tu_stat(r->db);
        MF(ffdb_txn_id(r->lr) == st.txid, "reader txid");
        /* the only live txn: it is the oldest (txid 0 is a valid snapshot of a new file) */
        MF(st.readers == 1 && st.oldest_reader_txid == ffdb_txn_id(r->lr),
           "stat with one live reader: readers %u oldest %llu, reader %llu", st.readers,
           (unsigned long long)st.oldest_reader_txid, (unsigned long long)ffdb_txn_id(r->lr));
    } else if (p < 70 && r->lr) {
        r->op = "end_long_reader";
        end_long_reader(r);
    } else if (p < 250) {
        r->op = "begin_read";
        MRC(ffdb_begin_read(r->db, &r->txn), 0);
        r->txn_write = 0;
    } else {
        r->op = "begin_write";
        MRC(ffdb_begin_write(r->db, &r->txn), 0);
        r->txn_write = 1;
        ms_copy(&r->work, &r->committed);
    }
}

static void txn_step(struct run *r)
{
    unsigned p = (unsigned)tu_below(&r->rng, 1000);
    int i = (int)tu_below(&r->rng, NB);
    mstate *m = view(r);

    const unsigned drop = r->cfg.drop_permille;

    if (p < 30) {
        if (r->lr)
            long_reader_step(r);
        else if (m->present[i])
            op_get(r, i);
        return;
    }
    if (p < 30 + drop) {
        if (r->txn_write) {
            op_bucket_toggle(r, i);
        } else {
            ffdb_bucket *b = NULL;
            r->op = "bucket_create(read)";
            MRC(ffdb_bucket_create(r->txn, bucket_names[i], strlen(bucket_names[i]), &b),
                FFDB_EREADONLY);
        }
        return;
    }
    if (p < 45 + drop) {
        r->op = "bucket_list";
        verify_list(r, r->txn, m);
        return;
    }
    if (p < 95 + drop) {
        /* ends a txn every ~20 steps; 70% of write txns commit, half of read txns */
        end_txn(r, r->txn_write ? p < 80 + drop : p < 70 + drop);
        return;
    }
    if (!m->present[i]) {
        ffdb_bucket *b = NULL;
        if (r->txn_write && tu_chance(&r->rng, 300)) {
            op_bucket_toggle(r, i);
        } else {
            r->op = "bucket_open(missing)";
            MRC(ffdb_bucket_open(r->txn, bucket_names[i], strlen(bucket_names[i]), &b),
                FFDB_NOTFOUND);
        }
        return;
    }
    if (p < 350) {
        op_cursor(r, i);
    } else if (p < 470 || (p < 500 && !r->txn_write)) {
        op_get(r, i);
    } else if (p < 490) {
        op_batch_put(r, i);
    } else if (p < 500) {
        op_range_delete(r, i);
    } else if (!r->txn_write) {
        if (tu_chance(&r->rng, 50)) {
            r->op = "put(read)";
            MRC(ffdb_put(bucket(r, i), "x", 1, "y", 1), FFDB_EREADONLY);
        } else {
            op_get(r, i);
        }
    } else if (p < 720) {
        op_write(r, i, 0);
    } else if (p < 800) {
        op_write(r, i, 1);
    } else if (p < 870) {
        op_write(r, i, 2);
    } else {
        op_write(r, i, 3);
    }
}

static void run_model(uint64_t seed, struct config cfg)
{
    struct run run, *r = &run;
    memset(r, 0, sizeof *r);
    tu_rng_init(&r->rng, seed);
    r->cfg = cfg;
    r->path = tu_path("model.ffdb");
    r->vbuf = malloc(BIG_VALUE_MAX);
    cr_assert(r->vbuf != NULL);
    r->db = tu_open(r->path, pool_frames(r), cfg.page_size, FFDB_NOSYNC | FFDB_NODIRECT);
    r->op = "start";
    check_db(r);
    if (cfg.prefill) {
        /* start from trees a few levels deep */
        r->op = "prefill";
        MRC(ffdb_begin_write(r->db, &r->txn), 0);
        r->txn_write = 1;
        ms_copy(&r->work, &r->committed);
        for (int i = 0; i < 2; i++) {
            op_bucket_toggle(r, i);
            while (r->work.t[i].n < cfg.prefill)
                op_batch_put(r, i);
        }
        end_txn(r, 1);
    }

    for (r->step = 0; r->step < cfg.steps; r->step++) {
        if (!r->txn)
            idle_step(r);
        else
            txn_step(r);
        if (r->txn && r->txn_write && r->step % 500 == 250) {
            r->op = "verify(write txn)";
            verify_all(r, r->txn, &r->work);
            forget_handles(r); /* verify_all's handles are as good, but keep it simple */
        }
    }
    if (r->txn)
        end_txn(r, 1);
    reopen(r);
    end_long_reader(r);
    ffdb_stat st = tu_stat(r->db);
    r->evictions += st.pool_evictions;
    r->spills += st.pool_spills;
    unsigned max_depth = 0;
    {
        ffdb_txn *txn;
        MRC(ffdb_begin_read(r->db, &txn), 0);
        for (int i = 0; i < NB; i++) {
            ffdb_bucket *b;
            ffdb_bucket_stat bs;
            if (!r->committed.present[i])
                continue;
            MRC(ffdb_bucket_open(txn, bucket_names[i], strlen(bucket_names[i]), &b), 0);
            MRC(tu_bstat(b, &bs), 0);
            if (bs.depth > max_depth)
                max_depth = bs.depth;
        }
        ffdb_abort(txn);
    }
    fprintf(stderr,
            "model seed %llu: %u steps, %llu commits, %llu aborts, %llu reopens, %llu entries, "
            "depth %u, %llu pages; pool evictions %llu, spills %llu\n",
            (unsigned long long)seed, cfg.steps, (unsigned long long)r->commits,
            (unsigned long long)r->aborts, (unsigned long long)r->reopens,
            (unsigned long long)ms_entries(&r->committed), max_depth,
            (unsigned long long)st.page_count,
            (unsigned long long)r->evictions, (unsigned long long)r->spills);
    MF(r->commits > 10, "too few commits for a meaningful run");
    MF(r->evictions > 0, "a pool of %zu frames never evicted anything", pool_frames(r));
    ffdb_close(r->db);
    ms_free(&r->committed);
    ms_free(&r->work);
    free(r->vbuf);
}

Test(model, random_seed)
{
    struct config cfg = {6000, 0, 2, 10, 120, 3000, 0, 0};
    run_model(tu_seed("model::random_seed"), cfg);
}

Test(model, seed_1)
{
    struct config cfg = {4000, 0, 2, 10, 120, 9000, 0, 0};
    setenv("FFDB_TEST_SEED", "1", 0); /* an explicit FFDB_TEST_SEED wins */
    run_model(tu_seed("model::seed_1"), cfg);
}

Test(model, seed_2_page_8192_many_drops)
{
    struct config cfg = {3000, 8192, 8, 10, 60, 0, 0, 0};
    setenv("FFDB_TEST_SEED", "2", 0);
    run_model(tu_seed("model::seed_2_page_8192_many_drops"), cfg);
}

/* A pool of 256 frames caches overflow runs of up to 32 pages (128 KiB),
 * so every big value goes through it as raw pages, and one in five values
 * is big: runs are cached, freed and their pages reused all the time. */
Test(model, seed_4_cached_overflow_runs)
{
    struct config cfg = {3000, 0, 4, 10, 60, 0, 256, 200};
    setenv("FFDB_TEST_SEED", "4", 0);
    run_model(tu_seed("model::seed_4_cached_overflow_runs"), cfg);
}

/* Many long keys: big branch separators, few keys per page, deep trees. */
Test(model, seed_3_long_keys)
{
    struct config cfg = {3000, 0, 2, 300, 80, 600, 0, 0};
    setenv("FFDB_TEST_SEED", "3", 0);
    run_model(tu_seed("model::seed_3_long_keys"), cfg);
}
