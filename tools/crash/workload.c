/*
 * workload.c — the transactions the harness runs and the model they are
 * checked against.
 *
 * Owns the PRNG, the model (per bucket a sorted array of keys with value
 * descriptors), the digests of a model and of a database (which must agree
 * exactly when the contents agree), and the transaction generator: random
 * transactions over four buckets (puts, inserts, updates, deletes, range
 * deletes, reads, values large enough for overflow runs, bulk loads, bucket
 * drops, deliberate aborts) and the eight fixed small transactions of
 * exhaustive mode. Every mode calls it; it never crashes anything itself and
 * never decides whether a result is acceptable after a crash — it only keeps
 * the acknowledged state, the one in flight and (FFDB_NOMETASYNC) the
 * newest durable one so that verify.c can.
 *
 * Values are generated from (length, seed) and carry the seed in their
 * first bytes, so a database can be read back into a model (wl_adopt) and a
 * stray value is recognised as such.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "tools/crash/crash.h"

const char *const bucket_names[NBUCKETS] = {"a", "bb", "bulk", "users"};

#define KEY_MAX 1100u    /* longest key this file makes (under FFDB_MAX_KEY_SIZE) */
#define ID_LIMIT 900000u /* ids print in six digits, so key order is id order */

/* ---- randomness ------------------------------------------------------------------ */

uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
    return n ? rng_next(r) % n : 0;
}

uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

int rng_chance(struct rng *r, unsigned permille)
{
    return rng_below(r, 1000) < permille;
}

uint64_t seed_mix(uint64_t a, uint64_t b)
{
    struct rng r = {a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull)};
    rng_next(&r);
    return rng_next(&r);
}

/* ---- keys and values -------------------------------------------------------------- */

int key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* The key of id: "k" and six digits, then a suffix of 0..7 letters, now
 * and then several hundred (deep, narrow branches). */
static size_t make_key(uint8_t *buf, unsigned id)
{
    uint32_t h = id * 2654435761u;
    size_t n = (size_t)snprintf((char *)buf, 16, "k%06u", id % 1000000u), sl = (h >> 7) % 8;
    if (id % 211 == 5)
        sl = 200 + (h >> 3) % 800;
    for (size_t j = 0; j < sl; j++)
        buf[n + j] = (uint8_t)('a' + (h + j) % 26);
    return n + sl;
}

void value_fill(uint8_t *buf, uint32_t len, uint64_t vseed)
{
    struct rng r = {vseed};
    uint32_t i;
    for (i = 0; i < len && i < 8; i++)
        buf[i] = (uint8_t)(vseed >> (8 * i));
    for (; i + 8 <= len; i += 8) {
        uint64_t x = rng_next(&r);
        memcpy(buf + i, &x, 8);
    }
    if (i < len) {
        uint64_t x = rng_next(&r);
        memcpy(buf + i, &x, len - i);
    }
}

/* A value seed that value_fill can encode in len bytes. */
static uint64_t vseed_for(uint64_t x, uint32_t len)
{
    return len >= 8 ? x : len == 0 ? 0 : x & ((1ull << (8 * len)) - 1);
}

static uint8_t *scratch(size_t len)
{
    static uint8_t *buf;
    static size_t cap;
    if (len > cap) {
        free(buf);
        cap = len + 65536;
        buf = malloc(cap);
        if (!buf)
            abort();
    }
    return buf;
}

/* ---- the model ------------------------------------------------------------------------ */

void model_init(struct model *m)
{
    memset(m, 0, sizeof(*m));
}

static void bucket_clear(struct mbucket *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->e[i].key);
    free(b->e);
    memset(b, 0, sizeof(*b));
}

void model_free(struct model *m)
{
    for (int b = 0; b < NBUCKETS; b++)
        bucket_clear(&m->b[b]);
}

void model_copy_bucket(struct model *dst, const struct model *src, int b)
{
    struct mbucket *d = &dst->b[b];
    const struct mbucket *s = &src->b[b];
    bucket_clear(d);
    d->exists = s->exists;
    d->digest_ok = s->digest_ok;
    d->digest = s->digest;
    d->n = d->cap = s->n;
    if (s->n) {
        d->e = malloc(s->n * sizeof(*d->e));
        if (!d->e)
            abort();
    }
    for (size_t i = 0; i < s->n; i++) {
        d->e[i] = s->e[i];
        d->e[i].key = malloc(s->e[i].klen + 1);
        if (!d->e[i].key)
            abort();
        memcpy(d->e[i].key, s->e[i].key, s->e[i].klen);
    }
}

void model_copy(struct model *dst, const struct model *src)
{
    for (int b = 0; b < NBUCKETS; b++)
        model_copy_bucket(dst, src, b);
}

/* Index of key, or where it would go; 1 if present. */
static int mb_find(const struct mbucket *b, const void *key, size_t klen, size_t *at)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(b->e[mid].key, b->e[mid].klen, key, klen);
        if (c == 0) {
            *at = mid;
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
    return 0;
}

static void mb_put(struct mbucket *b, const void *key, size_t klen, struct mval v)
{
    size_t at;
    b->digest_ok = 0;
    if (mb_find(b, key, klen, &at)) {
        b->e[at].v = v;
        return;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->e = realloc(b->e, b->cap * sizeof(*b->e));
        if (!b->e)
            abort();
    }
    memmove(b->e + at + 1, b->e + at, (b->n - at) * sizeof(*b->e));
    b->e[at].key = malloc(klen + 1);
    if (!b->e[at].key)
        abort();
    memcpy(b->e[at].key, key, klen);
    b->e[at].klen = (uint32_t)klen;
    b->e[at].v = v;
    b->n++;
}

static void mb_delete_at(struct mbucket *b, size_t at)
{
    b->digest_ok = 0;
    free(b->e[at].key);
    memmove(b->e + at, b->e + at + 1, (b->n - at - 1) * sizeof(*b->e));
    b->n--;
}

static void mb_drop(struct mbucket *b)
{
    bucket_clear(b);
}

/* Digests: per bucket its entries (klen, key, vlen, value) and count; the
 * whole: each existing bucket's name and digest, in name order. db_digest
 * feeds the same bytes from a scan. */
static void digest_entry(XXH3_state_t *st, const void *key, uint32_t klen, const void *val,
                         uint32_t vlen)
{
    XXH3_64bits_update(st, &klen, sizeof(klen));
    XXH3_64bits_update(st, key, klen);
    XXH3_64bits_update(st, &vlen, sizeof(vlen));
    XXH3_64bits_update(st, val, vlen);
}

static uint64_t bucket_digest(struct mbucket *b)
{
    XXH3_state_t *st;
    uint64_t n = b->n;
    if (b->digest_ok)
        return b->digest;
    st = XXH3_createState();
    if (!st)
        abort();
    XXH3_64bits_reset(st);
    for (size_t i = 0; i < b->n; i++) {
        uint8_t *v = scratch(b->e[i].v.len);
        value_fill(v, b->e[i].v.len, b->e[i].v.vseed);
        digest_entry(st, b->e[i].key, b->e[i].klen, v, b->e[i].v.len);
    }
    XXH3_64bits_update(st, &n, sizeof(n));
    b->digest = XXH3_64bits_digest(st);
    b->digest_ok = 1;
    XXH3_freeState(st);
    return b->digest;
}

static uint64_t combine(const uint64_t *digests, const int *exists, const char *const *names,
                        int count)
{
    XXH3_state_t *st = XXH3_createState();
    uint64_t d;
    if (!st)
        abort();
    XXH3_64bits_reset(st);
    for (int i = 0; i < count; i++) {
        uint32_t nl;
        if (!exists[i])
            continue;
        nl = (uint32_t)strlen(names[i]);
        XXH3_64bits_update(st, &nl, sizeof(nl));
        XXH3_64bits_update(st, names[i], nl);
        XXH3_64bits_update(st, &digests[i], sizeof(digests[i]));
    }
    d = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return d;
}

uint64_t model_digest(struct model *m)
{
    uint64_t d[NBUCKETS];
    int ex[NBUCKETS];
    for (int b = 0; b < NBUCKETS; b++) {
        ex[b] = m->b[b].exists;
        d[b] = ex[b] ? bucket_digest(&m->b[b]) : 0;
    }
    return combine(d, ex, bucket_names, NBUCKETS);
}

/* ---- reading a database back ------------------------------------------------------------ */

#define DB_BUCKETS_MAX 64

struct name_list {
    int count;
    char names[DB_BUCKETS_MAX][40];
    int overflow;
};

static int collect_name(void *arg, const void *name, size_t len)
{
    struct name_list *l = arg;
    if (l->count == DB_BUCKETS_MAX || len >= sizeof(l->names[0])) {
        l->overflow = 1;
        return 0;
    }
    memcpy(l->names[l->count], name, len);
    l->names[l->count][len] = 0;
    l->count++;
    return 0;
}

/* Visit every entry of bucket name in snapshot txn. */
typedef int (*entry_fn)(void *arg, const ffdb_val *k, const ffdb_val *v);

static int scan_bucket(ffdb_txn *txn, const char *name, entry_fn fn, void *arg, uint64_t *count)
{
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v;
    int rc = ffdb_bucket_open(txn, name, strlen(name), &b);
    *count = 0;
    if (rc)
        return rc;
    rc = ffdb_cursor_open(b, &c);
    if (rc)
        return rc;
    for (rc = ffdb_cursor_first(c, &k, &v); rc == 0; rc = ffdb_cursor_next(c, &k, &v)) {
        int frc = fn(arg, &k, &v);
        if (frc) {
            rc = frc;
            break;
        }
        (*count)++;
    }
    ffdb_cursor_close(c);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

static int hash_entry(void *arg, const ffdb_val *k, const ffdb_val *v)
{
    if (k->size > UINT32_MAX || v->size > UINT32_MAX)
        return FFDB_CORRUPT;
    digest_entry(arg, k->data, (uint32_t)k->size, v->data, (uint32_t)v->size);
    return 0;
}

int db_digest(ffdb *db, uint64_t *digest, uint64_t *txid)
{
    ffdb_txn *txn;
    int rc = ffdb_begin_read(db, &txn);
    if (rc)
        return rc;
    rc = txn_digest(txn, digest, txid);
    ffdb_abort(txn);
    return rc;
}

int txn_digest(ffdb_txn *txn, uint64_t *digest, uint64_t *txid)
{
    struct name_list names;
    uint64_t d[DB_BUCKETS_MAX];
    int ex[DB_BUCKETS_MAX];
    const char *np[DB_BUCKETS_MAX];
    XXH3_state_t *st;
    int rc;

    memset(&names, 0, sizeof(names));
    *txid = ffdb_txn_id(txn);
    rc = ffdb_bucket_list(txn, collect_name, &names);
    if (rc == 0 && names.overflow)
        rc = FFDB_CORRUPT; /* more or longer buckets than the workload ever makes */
    st = XXH3_createState();
    if (!st)
        abort();
    for (int i = 0; rc == 0 && i < names.count; i++) {
        uint64_t n;
        XXH3_64bits_reset(st);
        rc = scan_bucket(txn, names.names[i], hash_entry, st, &n);
        XXH3_64bits_update(st, &n, sizeof(n));
        d[i] = XXH3_64bits_digest(st);
        ex[i] = 1;
        np[i] = names.names[i];
    }
    XXH3_freeState(st);
    if (rc == 0)
        *digest = combine(d, ex, np, names.count);
    return rc;
}

struct load_arg {
    struct mbucket *b;
    char *why;
    size_t why_len;
};

static int load_entry(void *arg, const ffdb_val *k, const ffdb_val *v)
{
    struct load_arg *a = arg;
    struct mval mv;
    uint8_t *want;
    mv.len = (uint32_t)v->size;
    mv.vseed = 0;
    for (size_t i = 0; i < v->size && i < 8; i++)
        mv.vseed |= (uint64_t)((const uint8_t *)v->data)[i] << (8 * i);
    want = scratch(mv.len);
    value_fill(want, mv.len, mv.vseed);
    if (v->size > UINT32_MAX || (v->size && memcmp(want, v->data, v->size) != 0)) {
        snprintf(a->why, a->why_len, "key %.*s holds a value the workload never wrote",
                 (int)(k->size < 40 ? k->size : 40), (const char *)k->data);
        return -1;
    }
    mb_put(a->b, k->data, k->size, mv);
    return 0;
}

int model_load(struct model *m, ffdb *db, char *why, size_t why_len)
{
    ffdb_txn *txn;
    struct name_list names;
    int rc = ffdb_begin_read(db, &txn);
    if (rc) {
        snprintf(why, why_len, "begin_read: %s", ffdb_strerror(rc));
        return rc;
    }
    model_free(m);
    memset(&names, 0, sizeof(names));
    rc = ffdb_bucket_list(txn, collect_name, &names);
    for (int i = 0; rc == 0 && i < names.count; i++) {
        int b;
        uint64_t n;
        struct load_arg a;
        for (b = 0; b < NBUCKETS && strcmp(bucket_names[b], names.names[i]); b++)
            ;
        if (b == NBUCKETS) {
            snprintf(why, why_len, "unknown bucket %s", names.names[i]);
            rc = -1;
            break;
        }
        m->b[b].exists = 1;
        a.b = &m->b[b];
        a.why = why;
        a.why_len = why_len;
        rc = scan_bucket(txn, names.names[i], load_entry, &a, &n);
        if (rc > 0 || (rc < 0 && rc != -1))
            snprintf(why, why_len, "scan of %s: %s", names.names[i], ffdb_strerror(rc));
    }
    if (rc == 0 && names.overflow) {
        snprintf(why, why_len, "too many buckets");
        rc = -1;
    }
    ffdb_abort(txn);
    return rc;
}

/* ---- transactions ------------------------------------------------------------------------ */

struct tx {
    struct workload *w;
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *h[NBUCKETS];
};

static int model_error(struct workload *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int model_error(struct workload *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof(w->err), fmt, ap);
    va_end(ap);
    return WL_EMODEL;
}

/* Record an engine error of an operation (an I/O error, or a crash). */
static int op_error(struct workload *w, const char *what, int rc)
{
    snprintf(w->err, sizeof(w->err), "%s: %s", what, ffdb_strerror(rc));
    return rc;
}

static void touch(struct tx *t, int b)
{
    t->w->touched[b] = 1;
    t->w->cur.b[b].digest_ok = 0;
}

/* A handle on bucket b, creating the bucket if it does not exist. */
static int bucket(struct tx *t, int b)
{
    struct mbucket *mb = &t->w->cur.b[b];
    const char *name = bucket_names[b];
    int rc;
    if (t->h[b])
        return 0;
    if (mb->exists) {
        rc = ffdb_bucket_open(t->txn, name, strlen(name), &t->h[b]);
        if (rc == FFDB_NOTFOUND)
            return model_error(t->w, "bucket_open(%s) returned %d (%s) for an existing bucket",
                               name, rc, ffdb_strerror(rc));
        return rc ? op_error(t->w, "bucket_open", rc) : 0;
    }
    rc = ffdb_bucket_create(t->txn, name, strlen(name), &t->h[b]);
    if (rc == FFDB_EXISTS)
        return model_error(t->w, "bucket_create(%s) returned %d (%s) for a missing bucket", name,
                           rc, ffdb_strerror(rc));
    if (rc)
        return op_error(t->w, "bucket_create", rc);
    touch(t, b);
    mb->exists = 1;
    return 0;
}

/* how: 0 put, 1 insert (FFDB_EXISTS if present), 2 update (FFDB_NOTFOUND if absent). */
static int op_put(struct tx *t, int b, unsigned id, uint32_t vlen, uint64_t vs, int how)
{
    static const char *const names[] = {"put", "insert", "update"};
    uint8_t key[KEY_MAX];
    size_t klen = make_key(key, id), at;
    struct mval v = {vlen, vseed_for(vs, vlen)};
    uint8_t *val;
    int rc, present, refused;

    rc = bucket(t, b);
    if (rc)
        return rc;
    present = mb_find(&t->w->cur.b[b], key, klen, &at);
    val = scratch(vlen);
    value_fill(val, vlen, v.vseed);
    if (how == 1)
        rc = ffdb_insert(t->h[b], key, klen, val, vlen);
    else if (how == 2)
        rc = ffdb_update(t->h[b], key, klen, val, vlen);
    else
        rc = ffdb_put(t->h[b], key, klen, val, vlen);
    refused = (how == 1 && present) || (how == 2 && !present);
    if (rc == FFDB_EXISTS || rc == FFDB_NOTFOUND || (rc == 0 && refused)) {
        int want = how == 1 && present ? FFDB_EXISTS : how == 2 && !present ? FFDB_NOTFOUND : 0;
        if (rc == want)
            return 0;
        return model_error(t->w, "%s of a key that is %s in %s returned %d (%s)", names[how],
                           present ? "present" : "absent", bucket_names[b], rc, ffdb_strerror(rc));
    }
    if (rc)
        return op_error(t->w, names[how], rc);
    mb_put(&t->w->cur.b[b], key, klen, v);
    touch(t, b);
    return 0;
}

static int op_delete_key(struct tx *t, int b, const uint8_t *key, size_t klen)
{
    size_t at;
    int rc = bucket(t, b);
    if (rc)
        return rc;
    rc = ffdb_delete(t->h[b], key, klen);
    if (rc)
        return op_error(t->w, "delete", rc);
    if (mb_find(&t->w->cur.b[b], key, klen, &at)) {
        mb_delete_at(&t->w->cur.b[b], at);
        touch(t, b);
    }
    return 0;
}

static int op_delete(struct tx *t, int b, unsigned id)
{
    uint8_t key[KEY_MAX];
    size_t klen = make_key(key, id);
    return op_delete_key(t, b, key, klen);
}

/* Delete count existing keys from index first on. */
static int op_delete_range(struct tx *t, int b, size_t first, size_t count)
{
    uint8_t key[KEY_MAX];
    for (size_t i = 0; i < count; i++) {
        struct mbucket *mb = &t->w->cur.b[b];
        size_t klen;
        int rc;
        if (first >= mb->n)
            break;
        klen = mb->e[first].klen;
        memcpy(key, mb->e[first].key, klen);
        rc = op_delete_key(t, b, key, klen);
        if (rc)
            return rc;
    }
    return 0;
}

/* Read a key through the write txn and compare with the model. */
static int op_get(struct tx *t, int b, unsigned id)
{
    uint8_t key[KEY_MAX];
    size_t klen = make_key(key, id), at;
    struct mbucket *mb = &t->w->cur.b[b];
    ffdb_val v;
    int rc, present;
    if (!mb->exists)
        return 0;
    rc = bucket(t, b);
    if (rc)
        return rc;
    present = mb_find(mb, key, klen, &at);
    rc = ffdb_get(t->h[b], key, klen, &v);
    if (!present && rc == FFDB_NOTFOUND)
        return 0;
    if (rc && rc != FFDB_NOTFOUND)
        return op_error(t->w, "get", rc);
    if (!present || rc == FFDB_NOTFOUND)
        return model_error(t->w, "get in %s of a key that is %s returned %d (%s)", bucket_names[b],
                           present ? "present" : "absent", rc, ffdb_strerror(rc));
    {
        uint8_t *want = scratch(mb->e[at].v.len);
        value_fill(want, mb->e[at].v.len, mb->e[at].v.vseed);
        if (v.size != mb->e[at].v.len || (v.size && memcmp(v.data, want, v.size) != 0))
            return model_error(t->w, "get in %s returned a wrong value (%zu bytes, expected %u)",
                               bucket_names[b], v.size, mb->e[at].v.len);
    }
    return 0;
}

static int op_drop(struct tx *t, int b)
{
    const char *name = bucket_names[b];
    int rc;
    if (!t->w->cur.b[b].exists)
        return 0;
    rc = ffdb_bucket_drop(t->txn, name, strlen(name));
    if (rc == FFDB_NOTFOUND)
        return model_error(t->w, "drop of existing bucket %s returned %d (%s)", name, rc,
                           ffdb_strerror(rc));
    if (rc)
        return op_error(t->w, "bucket_drop", rc);
    t->h[b] = NULL;
    mb_drop(&t->w->cur.b[b]);
    touch(t, b);
    return 0;
}

/* Drop b if it holds anything, then bulk load count keys into it. The model
 * changes only once the load is published. */
static int op_bulk(struct tx *t, int b, unsigned count, unsigned first_id, unsigned step,
                   double fill, uint32_t max_value, uint64_t vs)
{
    struct workload *w = t->w;
    uint8_t key[KEY_MAX];
    struct mentry *add;
    ffdb_bulk *bl;
    unsigned id = first_id, done = 0;
    int rc = 0;

    if (w->cur.b[b].n && (rc = op_drop(t, b)) != 0)
        return rc;
    if ((rc = bucket(t, b)) != 0)
        return rc;
    rc = ffdb_bulk_begin(t->h[b], fill, &bl);
    if (rc)
        return rc == FFDB_ENOTEMPTY ? model_error(w, "bulk_begin on empty %s: %d (%s)",
                                                  bucket_names[b], rc, ffdb_strerror(rc))
                                    : op_error(w, "bulk_begin", rc);
    add = calloc(count ? count : 1, sizeof(*add));
    if (!add)
        abort();
    for (; done < count && id < ID_LIMIT; done++, id += step) {
        struct rng r = {seed_mix(vs, id)};
        uint32_t vlen = rng_chance(&r, 30) ? (uint32_t)rng_range(&r, 1500, max_value)
                                           : (uint32_t)rng_below(&r, 120);
        size_t klen = make_key(key, id);
        uint8_t *val = scratch(vlen);
        add[done].v.len = vlen;
        add[done].v.vseed = vseed_for(rng_next(&r), vlen);
        value_fill(val, vlen, add[done].v.vseed);
        rc = ffdb_bulk_append(bl, key, klen, val, vlen);
        if (rc) {
            ffdb_bulk_abort(bl);
            rc = rc == FFDB_EKEYORDER ? model_error(w, "bulk_append in %s: %d (%s)",
                                                    bucket_names[b], rc, ffdb_strerror(rc))
                                      : op_error(w, "bulk_append", rc);
            goto out;
        }
        add[done].key = malloc(klen + 1);
        if (!add[done].key)
            abort();
        memcpy(add[done].key, key, klen);
        add[done].klen = (uint32_t)klen;
    }
    rc = ffdb_bulk_finish(bl);
    if (rc) {
        rc = op_error(w, "bulk_finish", rc);
        goto out;
    }
    for (unsigned i = 0; i < done; i++)
        mb_put(&w->cur.b[b], add[i].key, add[i].klen, add[i].v);
    touch(t, b);
out:
    for (unsigned i = 0; i < done; i++)
        free(add[i].key);
    free(add);
    return rc;
}

static uint32_t pick_vlen(struct rng *r, uint32_t max_value)
{
    uint64_t x = rng_below(r, 1000);
    uint32_t v;
    if (x < 650)
        v = (uint32_t)rng_below(r, 64);
    else if (x < 850)
        v = (uint32_t)rng_range(r, 64, 600);
    else if (x < 930)
        v = (uint32_t)rng_range(r, 600, 2200); /* around the overflow threshold */
    else if (x < 990)
        v = (uint32_t)rng_range(r, 2200, 40000);
    else
        v = (uint32_t)rng_range(r, 40000, 400000);
    return v > max_value ? max_value : v;
}

/* An id near the existing keys of b (so puts overwrite and deletes hit). */
static unsigned pick_id(struct rng *r, const struct mbucket *mb)
{
    if (mb->n && rng_chance(r, 500)) {
        const struct mentry *e = &mb->e[rng_below(r, mb->n)];
        unsigned id = 0;
        for (uint32_t i = 1; i < 7 && i < e->klen; i++)
            id = id * 10 + (unsigned)(e->key[i] - '0');
        return id;
    }
    return (unsigned)rng_below(r, 5000);
}

/* The body of a random transaction. */
static int random_body(struct tx *t, int *abort_it)
{
    struct workload *w = t->w;
    struct rng *r = &w->rng;
    uint64_t kind = rng_below(r, 1000);
    int b = (int)rng_below(r, NBUCKETS), rc = 0;
    unsigned n;

    *abort_it = 0;
    if (w->txns == 0 || kind < 80) {
        /* bulk load: the first txn fills a bucket so trees start deep */
        unsigned count = (unsigned)rng_range(r, 20, w->p.max_bulk);
        double fill = rng_chance(r, 300) ? 0 : 0.3 + 0.7 * (double)rng_below(r, 1001) / 1000.0;
        return op_bulk(t, b, count, (unsigned)rng_below(r, 1000), (unsigned)rng_range(r, 1, 4),
                       fill, w->p.max_value / 4 + 1500, rng_next(r));
    }
    if (kind < 140) {
        rc = op_drop(t, b);
        if (rc == 0 && rng_chance(r, 500)) /* drop and refill in one txn */
            for (unsigned i = 0; rc == 0 && i < 20; i++)
                rc = op_put(t, b, (unsigned)rng_below(r, 3000), pick_vlen(r, w->p.max_value),
                            rng_next(r), 0);
        return rc;
    }
    if (kind < 220) {
        struct mbucket *mb = &w->cur.b[b];
        if (!mb->n)
            return op_put(t, b, (unsigned)rng_below(r, 3000), 10, rng_next(r), 0);
        n = (unsigned)rng_range(r, 1, mb->n);
        return op_delete_range(t, b, rng_below(r, mb->n), n);
    }
    if (kind < 300)
        *abort_it = 1;
    n = rng_chance(r, 600)   ? (unsigned)rng_range(r, 1, 10)
        : rng_chance(r, 750) ? (unsigned)rng_range(r, 10, 60)
                             : (unsigned)rng_range(r, 60, w->p.max_ops);
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        uint64_t op = rng_below(r, 100);
        if (rng_chance(r, 150))
            b = (int)rng_below(r, NBUCKETS);
        unsigned id = pick_id(r, &w->cur.b[b]);
        if (op < 55)
            rc = op_put(t, b, id, pick_vlen(r, w->p.max_value), rng_next(r), 0);
        else if (op < 62)
            rc = op_put(t, b, id, pick_vlen(r, w->p.max_value), rng_next(r), 1);
        else if (op < 69)
            rc = op_put(t, b, id, pick_vlen(r, w->p.max_value), rng_next(r), 2);
        else if (op < 90)
            rc = op_delete(t, b, id);
        else
            rc = op_get(t, b, id);
    }
    return rc;
}

/* The fixed transactions of exhaustive mode: small key sets, every kind
 * of page (leaf, branch after splits, overflow, bulk-built, freelist). */
static int shape_body(struct tx *t, unsigned shape)
{
    uint64_t vs = seed_mix(t->w->txns, shape);
    int rc = 0;
    switch (shape) {
    case 0:
        return op_put(t, 0, 0, 20, vs, 0);
    case 1:
        return op_put(t, 0, 1, 10000, vs, 0);
    case 2:
        rc = op_delete(t, 0, 0);
        return rc ? rc : op_delete(t, 0, 1);
    case 3:
        for (unsigned id = 100; rc == 0 && id < 250; id++)
            rc = op_put(t, 0, id, 100, vs + id, 0);
        return rc;
    case 4:
        for (unsigned id = 100; rc == 0 && id < 240; id++)
            rc = op_delete(t, 0, id);
        return rc;
    case 5:
        return op_bulk(t, 2, 300, 10, 1, 0.9, 6000, vs);
    case 6:
        if (t->w->cur.b[0].exists)
            return op_drop(t, 0);
        return op_put(t, 0, 2, 30, vs, 0);
    default:
        rc = op_put(t, 1, 2, 3000, vs, 0);
        return rc ? rc : op_put(t, 0, 0, 50, vs + 1, 0);
    }
}

static void revert_touched(struct workload *w)
{
    for (int b = 0; b < NBUCKETS; b++)
        if (w->touched[b])
            model_copy_bucket(&w->cur, &w->acked, b);
    memset(w->touched, 0, sizeof(w->touched));
}

static void accept_touched(struct workload *w)
{
    for (int b = 0; b < NBUCKETS; b++)
        if (w->touched[b])
            model_copy_bucket(&w->acked, &w->cur, b);
    memset(w->touched, 0, sizeof(w->touched));
}

/* The durable state becomes the acknowledged one. */
static void durable_catch_up(struct workload *w)
{
    for (int b = 0; b < NBUCKETS; b++)
        if (w->dmask[b])
            model_copy_bucket(&w->durable, &w->acked, b);
    memset(w->dmask, 0, sizeof(w->dmask));
    w->durable_txid = w->acked_txid;
    w->durable_digest = w->acked_digest;
}

/* FFDB_DEFERSYNC after commit txid returned: it joins the states a power
 * loss may bring back, and those older than what the engine says is
 * durable (a commit too large to list syncs itself) leave. */
static int defer_note(struct workload *w, ffdb *db, const struct wl_hooks *h, uint64_t txid,
                      uint64_t digest)
{
    uint64_t durable = ffdb_durable_txid(db);
    size_t keep = 0;
    if (w->nhist == 0 || txid != w->hist[w->nhist - 1].txid) {
        if (w->nhist == WL_HIST_MAX)
            return model_error(w, "more than %u commits without a sync", WL_HIST_MAX);
        w->hist[w->nhist].txid = txid;
        w->hist[w->nhist].digest = digest;
        w->nhist++;
    }
    if (durable < w->hist[0].txid || durable > txid)
        return model_error(w, "after commit %llu ffdb_durable_txid says %llu; synced was %llu",
                           (unsigned long long)txid, (unsigned long long)durable,
                           (unsigned long long)w->hist[0].txid);
    for (size_t i = 0; i < w->nhist; i++)
        if (w->hist[i].txid >= durable)
            w->hist[keep++] = w->hist[i];
    w->nhist = keep;
    if (keep == 0 || w->hist[0].txid != durable)
        return model_error(w, "ffdb_durable_txid %llu names no commit since the last sync",
                           (unsigned long long)durable);
    w->commits++;
    if (h && h->after_commit)
        h->after_commit(h->arg, txid, digest);
    return 0;
}

static int run_txn(struct workload *w, ffdb *db, const struct wl_hooks *h, int shape)
{
    struct tx t;
    int rc, abort_it = 0;
    uint64_t digest, txid;
    ffdb_stat st;

    if (w->inflight)
        abort(); /* the caller must wl_resolve() a failed commit first */
    memset(&t, 0, sizeof(t));
    t.w = w;
    t.db = db;
    w->error_in_commit = 0;
    w->op_failed = 0;
    w->err[0] = 0;
    rc = ffdb_begin_write(db, &t.txn);
    if (rc)
        return op_error(w, "begin_write", rc);
    rc = shape < 0 ? random_body(&t, &abort_it) : shape_body(&t, (unsigned)shape);
    w->txns++;
    if (rc == WL_EMODEL || abort_it || (rc && !w->commit_on_error)) {
        ffdb_abort(t.txn);
        revert_touched(w);
        if (rc == 0)
            w->aborts++;
        return rc;
    }
    if (rc)
        w->op_failed = 1; /* ioerr: commit what went through */
    digest = model_digest(&w->cur);
    txid = ffdb_txn_id(t.txn);
    if (h && h->before_commit)
        h->before_commit(h->arg, txid, digest);
    w->inflight_txid = txid;
    w->inflight_digest = digest;
    rc = ffdb_commit(t.txn);
    if (rc) {
        w->inflight = 1;
        w->error_in_commit = 1;
        return op_error(w, "commit", rc);
    }
    if ((rc = ffdb_stat_db(db, &st)) != 0)
        return op_error(w, "stat", rc);
    if (w->defersync) {
        accept_touched(w);
        w->acked_txid = st.txid;
        w->acked_digest = digest;
        durable_catch_up(w);
        return defer_note(w, db, h, st.txid, digest);
    }
    if (w->nometasync && st.txid != w->acked_txid) {
        /* Its sync #1 made the previous commit durable; its own meta is not
         * (a commit that changed nothing made everything durable, below). */
        durable_catch_up(w);
        memcpy(w->dmask, w->touched, sizeof(w->dmask));
        accept_touched(w);
        w->acked_txid = st.txid;
        w->acked_digest = digest;
    } else {
        accept_touched(w);
        w->acked_txid = st.txid;
        w->acked_digest = digest;
        durable_catch_up(w);
    }
    if (ffdb_durable_txid(db) < w->durable_txid || ffdb_durable_txid(db) > w->acked_txid)
        return model_error(w, "after commit %llu ffdb_durable_txid says %llu; durable is %llu",
                           (unsigned long long)w->acked_txid,
                           (unsigned long long)ffdb_durable_txid(db),
                           (unsigned long long)w->durable_txid);
    w->commits++;
    if (h && h->after_commit)
        h->after_commit(h->arg, st.txid, digest);
    return 0;
}

void wl_set_defersync(struct workload *w)
{
    w->defersync = 1;
    w->hist[0].txid = w->acked_txid;
    w->hist[0].digest = w->acked_digest;
    w->nhist = 1;
}

int wl_resync(struct workload *w, ffdb *db)
{
    int rc = wl_adopt(w, db);
    wl_set_defersync(w);
    return rc;
}

int wl_txn(struct workload *w, ffdb *db, const struct wl_hooks *h)
{
    return run_txn(w, db, h, -1);
}

int wl_shape_txn(struct workload *w, ffdb *db, unsigned shape, const struct wl_hooks *h)
{
    return run_txn(w, db, h, (int)(shape % WL_SHAPES));
}

void wl_resolve(struct workload *w, int which)
{
    if (which == 2) {
        /* Back to the durable state: the acknowledged commit was lost. */
        for (int b = 0; b < NBUCKETS; b++) {
            if (w->dmask[b] || w->touched[b]) {
                model_copy_bucket(&w->acked, &w->durable, b);
                model_copy_bucket(&w->cur, &w->durable, b);
            }
        }
        memset(w->touched, 0, sizeof(w->touched));
        memset(w->dmask, 0, sizeof(w->dmask));
        w->acked_txid = w->durable_txid;
        w->acked_digest = w->durable_digest;
        w->inflight = 0;
        return;
    }
    if (w->inflight && which == 1) {
        for (int b = 0; b < NBUCKETS; b++)
            w->dmask[b] |= w->touched[b]; /* acked changes there: durable follows below */
        accept_touched(w);
        w->acked_txid = w->inflight_txid;
        w->acked_digest = w->inflight_digest;
    } else if (w->inflight) {
        revert_touched(w);
    }
    w->inflight = 0;
    durable_catch_up(w); /* the reopen synced what it found */
}

void wl_set_nometasync(struct workload *w)
{
    w->nometasync = 1;
}

int wl_sync(struct workload *w, ffdb *db)
{
    int rc = ffdb_sync(db);
    if (rc)
        return op_error(w, "ffdb_sync", rc);
    durable_catch_up(w);
    if (w->defersync)
        wl_set_defersync(w); /* only the synced state and later ones now */
    w->syncs++;
    if (ffdb_durable_txid(db) != w->acked_txid)
        return model_error(
            w, "after ffdb_sync ffdb_durable_txid says %llu, the last commit is %llu",
            (unsigned long long)ffdb_durable_txid(db), (unsigned long long)w->acked_txid);
    return 0;
}

void wl_init(struct workload *w, uint64_t seed, const struct wl_params *p)
{
    memset(w, 0, sizeof(*w));
    w->rng.s = seed;
    w->p = *p;
    model_init(&w->cur);
    model_init(&w->acked);
    model_init(&w->durable);
    w->acked_digest = model_digest(&w->acked);
    w->durable_digest = w->acked_digest;
}

void wl_free(struct workload *w)
{
    model_free(&w->cur);
    model_free(&w->acked);
    model_free(&w->durable);
}

int wl_adopt(struct workload *w, ffdb *db)
{
    int rc = model_load(&w->acked, db, w->err, sizeof(w->err));
    if (rc)
        return rc;
    model_copy(&w->cur, &w->acked);
    model_copy(&w->durable, &w->acked);
    memset(w->touched, 0, sizeof(w->touched));
    memset(w->dmask, 0, sizeof(w->dmask));
    w->inflight = 0;
    w->txns = 1; /* not the first txn: no forced bulk load */
    rc = db_digest(db, &w->acked_digest, &w->acked_txid);
    w->durable_txid = w->acked_txid;
    w->durable_digest = w->acked_digest;
    if (rc == 0 && w->acked_digest != model_digest(&w->acked)) {
        snprintf(w->err, sizeof(w->err), "digest of the loaded model differs from the file's");
        rc = -1;
    }
    return rc;
}
