/*
 * store_elem.c — the elements of collections (sub-keys, the zscore index,
 * iterators), the order-preserving encodings, key moves and copies that
 * carry elements, RANDOMKEY and random elements of a collection
 * (store_sample), and the background sweeper.
 *
 * Sub-keys are version(8, big-endian) | field (store.h). A collection's
 * elements are the contiguous run of keys with its version as prefix; every
 * cursor here stops at the end of that run, so a caller can never wander into
 * another key's elements.
 */
#include "modules/redis/store_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- encodings -------------------------------------------------------------------- */

void store_score_encode(double d, uint8_t out[8])
{
    uint64_t u;

    if (d == 0)
        d = 0.0; /* -0.0 and 0.0 are one score */
    memcpy(&u, &d, 8);
    /* Negatives: flip everything (more negative = smaller bytes); positives:
     * set the sign bit so they sort above every negative. */
    u = (u & UINT64_C(0x8000000000000000)) ? ~u : u | UINT64_C(0x8000000000000000);
    be64_put(out, u);
}

double store_score_decode(const uint8_t in[8])
{
    uint64_t u = be64_get(in);
    double d;

    u = (u & UINT64_C(0x8000000000000000)) ? u & ~UINT64_C(0x8000000000000000) : ~u;
    memcpy(&d, &u, 8);
    return d;
}

int store_zscore_split(const ffdb_val *f, double *score, ffdb_val *member)
{
    if (f->size < 8)
        return FFDB_CORRUPT;
    *score = store_score_decode(f->data);
    member->data = (const uint8_t *)f->data + 8;
    member->size = f->size - 8;
    return 0;
}

void store_list_index_encode(uint64_t index, uint8_t out[8])
{
    be64_put(out, index);
}

uint64_t store_list_index_decode(const uint8_t in[8])
{
    return be64_get(in);
}

/* ---- single elements ----------------------------------------------------------------- */

/* memcpy for caller bytes that may be {NULL, 0} (an empty member picked
 * from an empty buffer, say): C forbids NULL even for 0 bytes. */
static void put_bytes(uint8_t *dst, const void *src, size_t n)
{
    if (n)
        memcpy(dst, src, n);
}

/* version | field into buf (8 + STORE_MAX_FIELD + 8 bytes); returns the length. */
static size_t sub_key(uint8_t *buf, uint64_t version, const void *field, size_t flen)
{
    be64_put(buf, version);
    put_bytes(buf + 8, field, flen);
    return 8 + flen;
}

/* The engine may describe an empty value as {NULL, 0}. Handlers memcmp and
 * memcpy what the store returns, and those want a pointer even for 0 bytes
 * (C says so; UBSan checks it), so the store never returns NULL. */
static void val_nonnull(ffdb_val *v)
{
    static const uint8_t empty[1];
    if (v && !v->data)
        v->data = empty;
}

int store_sub_get(store_txn *st, const store_meta *m, const void *field, size_t flen, ffdb_val *val)
{
    uint8_t k[8 + STORE_MAX_FIELD];
    ffdb_bucket *b;
    int rc;

    if (flen > STORE_MAX_FIELD)
        return STORE_EFIELDLEN;
    rc = store_bucket(st, m->db, B_SUB, &b);
    if (rc)
        return rc;
    rc = ffdb_get(b, k, sub_key(k, m->version, field, flen), val);
    if (rc == 0)
        val_nonnull(val);
    return rc;
}

int store_sub_put(store_txn *st, const store_meta *m, const void *field, size_t flen,
                  const void *val, size_t vlen)
{
    uint8_t k[8 + STORE_MAX_FIELD];
    ffdb_bucket *b;
    int rc;

    if (flen > STORE_MAX_FIELD)
        return STORE_EFIELDLEN;
    rc = store_bucket(st, m->db, B_SUB, &b);
    if (!rc)
        rc = ffdb_put(b, k, sub_key(k, m->version, field, flen), val, vlen);
    if (!rc)
        store_touch(st, m->db, m->key, m->klen);
    return rc;
}

int store_sub_del(store_txn *st, const store_meta *m, const void *field, size_t flen, int *existed)
{
    uint8_t k[8 + STORE_MAX_FIELD];
    ffdb_bucket *b;
    ffdb_val v;
    size_t n;
    int rc;

    if (existed)
        *existed = 0;
    if (flen > STORE_MAX_FIELD)
        return 0; /* cannot be there */
    rc = store_bucket(st, m->db, B_SUB, &b);
    if (rc)
        return rc;
    n = sub_key(k, m->version, field, flen);
    rc = ffdb_get(b, k, n, &v);
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (!rc)
        rc = ffdb_delete(b, k, n);
    if (rc)
        return rc;
    if (existed)
        *existed = 1;
    store_touch(st, m->db, m->key, m->klen);
    return 0;
}

static size_t zscore_key(uint8_t *buf, uint64_t version, double score, const void *member,
                         size_t mlen)
{
    be64_put(buf, version);
    store_score_encode(score, buf + 8);
    put_bytes(buf + 16, member, mlen);
    return 16 + mlen;
}

int store_zscore_put(store_txn *st, const store_meta *m, double score, const void *member,
                     size_t mlen)
{
    uint8_t k[16 + STORE_MAX_FIELD];
    ffdb_bucket *b;
    int rc;

    if (mlen > STORE_MAX_FIELD)
        return STORE_EFIELDLEN;
    rc = store_bucket(st, m->db, B_ZSCORE, &b);
    if (!rc)
        rc = ffdb_put(b, k, zscore_key(k, m->version, score, member, mlen), NULL, 0);
    if (!rc)
        store_touch(st, m->db, m->key, m->klen);
    return rc;
}

int store_zscore_del(store_txn *st, const store_meta *m, double score, const void *member,
                     size_t mlen)
{
    uint8_t k[16 + STORE_MAX_FIELD];
    ffdb_bucket *b;
    int rc;

    if (mlen > STORE_MAX_FIELD)
        return 0;
    rc = store_bucket(st, m->db, B_ZSCORE, &b);
    if (!rc)
        rc = ffdb_delete(b, k, zscore_key(k, m->version, score, member, mlen));
    if (!rc)
        store_touch(st, m->db, m->key, m->klen);
    return rc;
}

/* ---- iterators --------------------------------------------------------------------- */

struct store_iter {
    ffdb_cursor *c;
    uint8_t prefix[8];
    uint64_t version;
};

int store_iter_open(store_txn *st, const store_meta *m, int space, store_iter **out)
{
    ffdb_bucket *b;
    store_iter *it;
    int rc = store_bucket(st, m->db, space == STORE_ZSCORE ? B_ZSCORE : B_SUB, &b);

    if (rc)
        return rc;
    it = calloc(1, sizeof(*it));
    if (!it)
        return FFDB_ENOMEM;
    rc = ffdb_cursor_open(b, &it->c);
    if (rc) {
        free(it);
        return rc;
    }
    it->version = m->version;
    be64_put(it->prefix, m->version);
    *out = it;
    return 0;
}

void store_iter_close(store_iter *it)
{
    if (!it)
        return;
    ffdb_cursor_close(it->c);
    free(it);
}

/* Turn a cursor result into an element of this collection, or the end. */
static int iter_result(store_iter *it, int rc, const ffdb_val *k, ffdb_val *field, ffdb_val *val)
{
    if (rc)
        return rc;
    if (k->size < 8 || memcmp(k->data, it->prefix, 8) != 0)
        return FFDB_NOTFOUND;
    if (field) {
        field->data = (const uint8_t *)k->data + 8;
        field->size = k->size - 8;
    }
    val_nonnull(val);
    return 0;
}

int store_iter_first(store_iter *it, ffdb_val *field, ffdb_val *val)
{
    ffdb_val k;
    int rc = ffdb_cursor_seek(it->c, it->prefix, 8, &k, val);
    return iter_result(it, rc, &k, field, val);
}

int store_iter_last(store_iter *it, ffdb_val *field, ffdb_val *val)
{
    uint8_t next[8];
    ffdb_val k;
    int rc;

    be64_put(next, it->version + 1);
    rc = ffdb_cursor_seek(it->c, next, 8, &k, val);
    if (rc == 0)
        rc = ffdb_cursor_prev(it->c, &k, val);
    else if (rc == FFDB_NOTFOUND)
        rc = ffdb_cursor_last(it->c, &k, val);
    return iter_result(it, rc, &k, field, val);
}

/* The first entry at or after field f; with le, the last one at or before it. */
static int iter_seek(store_iter *it, const void *f, size_t flen, int le, ffdb_val *field,
                     ffdb_val *val)
{
    uint8_t key[16 + STORE_MAX_FIELD];
    ffdb_val k;
    int rc;

    if (flen > STORE_MAX_FIELD + 8)
        flen = STORE_MAX_FIELD + 8; /* no field is longer: the cut sorts the same */
    memcpy(key, it->prefix, 8);
    put_bytes(key + 8, f, flen);
    rc = ffdb_cursor_seek(it->c, key, 8 + flen, &k, val);
    if (le && rc == FFDB_NOTFOUND)
        rc = ffdb_cursor_last(it->c, &k, val);
    else if (le && rc == 0 && (k.size != 8 + flen || memcmp(k.data, key, k.size) != 0))
        rc = ffdb_cursor_prev(it->c, &k, val);
    return iter_result(it, rc, &k, field, val);
}

int store_iter_seek(store_iter *it, const void *f, size_t flen, ffdb_val *field, ffdb_val *val)
{
    return iter_seek(it, f, flen, 0, field, val);
}

int store_iter_seek_le(store_iter *it, const void *f, size_t flen, ffdb_val *field, ffdb_val *val)
{
    return iter_seek(it, f, flen, 1, field, val);
}

int store_iter_next(store_iter *it, ffdb_val *field, ffdb_val *val)
{
    ffdb_val k;
    int rc = ffdb_cursor_next(it->c, &k, val);
    return iter_result(it, rc, &k, field, val);
}

int store_iter_prev(store_iter *it, ffdb_val *field, ffdb_val *val)
{
    ffdb_val k;
    int rc = ffdb_cursor_prev(it->c, &k, val);
    return iter_result(it, rc, &k, field, val);
}

/* ---- moving and copying elements -------------------------------------------------------- */

/* Copy every element of version sver in sdb to version dver in ddb, deleting
 * the originals if move. One element at a time, re-seeking after each write,
 * because a write may change the page the cursor stands on. O(N log N). */
static int copy_elements(store_txn *st, int sdb, uint64_t sver, int ddb, uint64_t dver, int move)
{
    static const int kinds[2] = {B_SUB, B_ZSCORE};

    for (int i = 0; i < 2; i++) {
        ffdb_bucket *sb, *dbk;
        ffdb_cursor *c;
        ffdb_val k, v;
        uint8_t pos[8 + 8 + STORE_MAX_FIELD];
        size_t pos_len = 8;
        int rc = store_bucket(st, sdb, kinds[i], &sb);
        if (!rc)
            rc = store_bucket(st, ddb, kinds[i], &dbk);
        if (!rc)
            rc = ffdb_cursor_open(sb, &c);
        if (rc)
            return rc;
        int copied = 0;
        be64_put(pos, sver);
        for (;;) {
            rc = ffdb_cursor_seek(c, pos, pos_len, &k, &v);
            /* Skip the one copied last time ("copied", not pos_len > 8: an
             * empty field's sub-key is the bare version). */
            if (rc == 0 && !move && copied && k.size == pos_len &&
                memcmp(k.data, pos, pos_len) == 0)
                rc = ffdb_cursor_next(c, &k, &v);
            if (rc || k.size < 8 || be64_get(k.data) != sver || k.size > sizeof(pos))
                break;
            uint8_t *copy = malloc(k.size + v.size + 1);
            if (!copy) {
                rc = FFDB_ENOMEM;
                break;
            }
            memcpy(copy, k.data, k.size);
            if (v.size) /* an empty value may come with data == NULL */
                memcpy(copy + k.size, v.data, v.size);
            memcpy(pos, k.data, k.size);
            pos_len = k.size;
            size_t vlen = v.size;
            be64_put(copy, dver);
            rc = ffdb_put(dbk, copy, pos_len, copy + pos_len, vlen);
            copied = 1;
            if (!rc && move)
                rc = ffdb_delete(sb, pos, pos_len);
            free(copy);
            if (rc)
                break;
        }
        ffdb_cursor_close(c);
        if (rc && rc != FFDB_NOTFOUND)
            return rc;
    }
    return 0;
}

/* A live key's record copied out of the engine's memory (the value of a
 * string included), so it survives the writes that follow. */
static int snapshot_key(const store_meta *m, void **val, size_t *vlen)
{
    *vlen = m->type == STORE_STRING ? m->value.size : 0;
    *val = malloc(*vlen ? *vlen : 1);
    if (!*val)
        return FFDB_ENOMEM;
    if (*vlen)
        memcpy(*val, m->value.data, *vlen);
    return 0;
}

/* m's record written afresh under the key dst of ddb, value val (RENAME, COPY). */
static int meta_put_as(store_txn *st, store_meta *m, int ddb, const void *dst, size_t dlen,
                       const void *val, size_t vlen)
{
    m->db = ddb;
    m->key = dst;
    m->klen = dlen;
    m->saved = 0;
    m->saved_expire_ms = 0;
    return store_meta_put(st, m, val, vlen);
}

int store_key_rename(store_txn *st, int sdb, const void *src, size_t slen, int ddb, const void *dst,
                     size_t dlen)
{
    store_meta m, old;
    void *val;
    size_t vlen;
    int rc;

    if (dlen > STORE_MAX_KEY)
        return STORE_EKEYLEN;
    rc = store_lookup(st, sdb, src, slen, &m);
    if (rc)
        return rc;
    if (sdb == ddb && slen == dlen && memcmp(src, dst, slen) == 0)
        return 0;
    rc = snapshot_key(&m, &val, &vlen);
    if (rc)
        return rc;
    rc = store_lookup_raw(st, ddb, dst, dlen, &old);
    if (rc == 0)
        rc = store_retire(st, &old, 0);
    else if (rc == FFDB_NOTFOUND)
        rc = 0;
    /* The elements stay where they are: their version names them, not the key. */
    if (!rc)
        rc = store_retire(st, &m, 1);
    if (!rc && store_is_collection(m.type) && sdb != ddb)
        rc = copy_elements(st, sdb, m.version, ddb, m.version, 1);
    if (!rc)
        rc = meta_put_as(st, &m, ddb, dst, dlen, val, vlen);
    free(val);
    return rc;
}

int store_key_copy(store_txn *st, int sdb, const void *src, size_t slen, int ddb, const void *dst,
                   size_t dlen, int replace)
{
    store_meta m, old;
    void *val;
    size_t vlen;
    uint64_t sver;
    int rc;

    if (dlen > STORE_MAX_KEY)
        return STORE_EKEYLEN;
    rc = store_lookup(st, sdb, src, slen, &m);
    if (rc)
        return rc;
    rc = snapshot_key(&m, &val, &vlen);
    if (rc)
        return rc;
    rc = store_lookup_raw(st, ddb, dst, dlen, &old);
    if (rc == 0 && !store_expired(st, &old) && !replace)
        rc = FFDB_EXISTS;
    else if (rc == 0)
        rc = store_retire(st, &old, 0);
    else if (rc == FFDB_NOTFOUND)
        rc = 0;
    sver = m.version;
    if (!rc && store_is_collection(m.type)) {
        m.version = store_new_version(st);
        rc = copy_elements(st, sdb, sver, ddb, m.version, 0);
    }
    if (!rc)
        rc = meta_put_as(st, &m, ddb, dst, dlen, val, vlen);
    free(val);
    return rc;
}

/* ---- RANDOMKEY ------------------------------------------------------------------------- */

static uint64_t mix(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Descend by random bytes between the first and last key of the range that
 * shares the prefix chosen so far, so keys with long common prefixes
 * ("user:0001", "user:0002") are reached, not just the first one. The range
 * starts as [first, last] (the whole bucket for RANDOMKEY, one collection
 * for store_sample); first and last may be clipped to STORE_MAX_KEY bytes. */
static int random_point(ffdb_cursor *c, uint64_t seed, const ffdb_val *first, const ffdb_val *last,
                        uint8_t *out, size_t *out_len)
{
    uint8_t lo[STORE_MAX_KEY], hi[STORE_MAX_KEY], probe[STORE_MAX_KEY + 1];
    size_t lo_n, hi_n, p = 0;
    ffdb_val k;
    int rc;

    lo_n = first->size < sizeof(lo) ? first->size : sizeof(lo);
    memcpy(lo, first->data, lo_n);
    hi_n = last->size < sizeof(hi) ? last->size : sizeof(hi);
    memcpy(hi, last->data, hi_n);
    for (int depth = 0; depth < 64; depth++) {
        while (p < lo_n && p < hi_n && lo[p] == hi[p])
            p++;
        if (p >= hi_n || (lo_n == hi_n && p == lo_n))
            break; /* lo == hi, or nothing left to choose */
        unsigned a = p < lo_n ? lo[p] : 0, z = hi[p];
        unsigned b = a + (unsigned)(mix(&seed) % (z - a + 1));
        memcpy(probe, hi, p);
        probe[p] = (uint8_t)b;
        rc = ffdb_cursor_seek(c, probe, p + 1, &k, NULL);
        if (rc)
            return rc;
        if (k.size <= p || ((const uint8_t *)k.data)[p] != b || memcmp(k.data, probe, p) != 0)
            break; /* no key with that byte: the next one is the pick */
        lo_n = k.size < sizeof(lo) ? k.size : sizeof(lo);
        memcpy(lo, k.data, lo_n);
        /* hi = the last key starting with probe[0..p]. */
        if (b == 255) {
            break;
        }
        probe[p] = (uint8_t)(b + 1);
        rc = ffdb_cursor_seek(c, probe, p + 1, &k, NULL);
        rc = rc == 0 ? ffdb_cursor_prev(c, &k, NULL) : ffdb_cursor_last(c, &k, NULL);
        if (rc)
            return rc;
        hi_n = k.size < sizeof(hi) ? k.size : sizeof(hi);
        memcpy(hi, k.data, hi_n);
        p++;
        if (mix(&seed) % 8 == 0)
            break; /* sometimes stop early: shorter keys get their chance */
    }
    memcpy(out, lo, lo_n);
    *out_len = lo_n;
    return 0;
}

/* Copy the key a cursor move returned into buf (STORE_MAX_KEY bytes; a
 * longer key is clipped, which random_point tolerates) and describe it in out. */
static void copy_key(const ffdb_val *k, uint8_t *buf, ffdb_val *out)
{
    out->size = k->size < STORE_MAX_KEY ? k->size : STORE_MAX_KEY;
    memcpy(buf, k->data, out->size);
    out->data = buf;
}

/* The first and last keys of c's bucket, copied (see copy_key). */
static int bucket_ends(ffdb_cursor *c, uint8_t *first, ffdb_val *fv, uint8_t *last, ffdb_val *lv)
{
    ffdb_val k;
    int rc = ffdb_cursor_first(c, &k, NULL);

    if (rc)
        return rc;
    copy_key(&k, first, fv);
    rc = ffdb_cursor_last(c, &k, NULL);
    if (rc)
        return rc;
    copy_key(&k, last, lv);
    return 0;
}

int store_random_key(store_txn *st, int db, uint64_t random, void *buf, size_t *klen)
{
    uint8_t point[STORE_MAX_KEY], first[STORE_MAX_KEY], last[STORE_MAX_KEY];
    size_t point_n;
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v, fv, lv;
    int rc = store_bucket(st, db, B_META, &b);

    if (rc)
        return rc;
    rc = ffdb_cursor_open(b, &c);
    if (rc)
        return rc;
    rc = bucket_ends(c, first, &fv, last, &lv);
    if (!rc)
        rc = random_point(c, random, &fv, &lv, point, &point_n);
    if (!rc)
        rc = ffdb_cursor_seek(c, point, point_n, &k, &v);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_cursor_first(c, &k, &v);
    /* Skip expired keys, wrapping around once; bounded so a database of
     * nothing but expired keys answers quickly. */
    for (int i = 0, wrapped = 0; rc == 0 && i < 1000; i++) {
        store_meta m;
        rc = store_meta_decode(&v, &m);
        if (rc)
            break;
        if (!store_expired(st, &m) && k.size <= STORE_MAX_KEY) {
            memcpy(buf, k.data, k.size);
            *klen = k.size;
            ffdb_cursor_close(c);
            return 0;
        }
        rc = ffdb_cursor_next(c, &k, &v);
        if (rc == FFDB_NOTFOUND && !wrapped++)
            rc = ffdb_cursor_first(c, &k, &v);
    }
    ffdb_cursor_close(c);
    return rc ? rc : FFDB_NOTFOUND;
}

/* ---- random elements of a collection (store_sample) ----------------------------------- */

/* Put it on a random element of its collection: random_point between the
 * first and last element, then the element there. O(log N); see store.h
 * for the bias. */
static int iter_random(store_iter *it, uint64_t seed, ffdb_val *field, ffdb_val *val)
{
    uint8_t first[STORE_MAX_KEY], last[STORE_MAX_KEY], point[STORE_MAX_KEY];
    ffdb_val f, fv, lv;
    size_t n;
    int rc = store_iter_first(it, &f, NULL);

    if (rc)
        return rc;
    memcpy(first, it->prefix, 8);
    fv.size = 8 + (f.size < STORE_MAX_KEY - 8 ? f.size : STORE_MAX_KEY - 8);
    memcpy(first + 8, f.data, fv.size - 8);
    fv.data = first;
    rc = store_iter_last(it, &f, NULL);
    if (rc)
        return rc;
    memcpy(last, it->prefix, 8);
    lv.size = 8 + (f.size < STORE_MAX_KEY - 8 ? f.size : STORE_MAX_KEY - 8);
    memcpy(last + 8, f.data, lv.size - 8);
    lv.data = last;
    /* Both ends share the 8-byte version, so the point does too. */
    rc = random_point(it->c, seed, &fv, &lv, point, &n);
    if (rc)
        return rc;
    rc = n >= 8 ? store_iter_seek(it, point + 8, n - 8, field, val) : FFDB_NOTFOUND;
    return rc == FFDB_NOTFOUND ? store_iter_first(it, field, val) : rc;
}

/* Every element, in order (a distinct sample at least as big as the set). */
static int sample_all(store_iter *it, store_elem_fn fn, void *arg)
{
    ffdb_val f, v;
    int rc;

    for (rc = store_iter_first(it, &f, &v); rc == 0; rc = store_iter_next(it, &f, &v)) {
        rc = fn(arg, &f, &v);
        if (rc)
            return rc;
    }
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

/* count of size elements, each subset equally likely (Knuth's selection
 * sampling: take an element with probability needed / left). O(size). */
static int sample_select(store_iter *it, uint64_t size, uint64_t count, uint64_t *seed,
                         store_elem_fn fn, void *arg)
{
    ffdb_val f, v;
    uint64_t left = size;
    int rc;

    for (rc = store_iter_first(it, &f, &v); rc == 0 && count > 0 && left > 0;
         rc = store_iter_next(it, &f, &v), left--) {
        if (mix(seed) % left >= count)
            continue;
        count--;
        rc = fn(arg, &f, &v);
        if (rc)
            return rc;
    }
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

static uint64_t field_hash(const ffdb_val *f)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    const uint8_t *p = f->data;

    for (size_t i = 0; i < f->size; i++)
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    return h ? h : 1; /* 0 marks a free slot */
}

/* Insert h into the open-addressing table (mask + 1 slots); 0 if it was there. */
static int hash_insert(uint64_t *table, uint64_t mask, uint64_t h)
{
    for (uint64_t i = h & mask;; i = (i + 1) & mask) {
        if (table[i] == h)
            return 0;
        if (table[i] == 0) {
            table[i] = h;
            return 1;
        }
    }
}

/* count different elements of a big collection (count < size / 4) by random
 * seeks, remembering the hashes of the chosen fields. If the seeks keep
 * finding chosen ones (a collection whose byte order has a few wide gaps),
 * the rest are the next unchosen elements after a random one. */
static int sample_seek_distinct(store_iter *it, uint64_t size, uint64_t count, uint64_t *seed,
                                store_elem_fn fn, void *arg)
{
    uint64_t slots = 16, attempts = 3 * count + 64, walked = 0;
    uint64_t *table;
    ffdb_val f, v;
    int rc = 0;

    while (slots < 2 * count)
        slots *= 2;
    table = calloc(slots, sizeof(*table));
    if (!table)
        return FFDB_ENOMEM;
    while (count > 0 && attempts-- > 0) {
        rc = iter_random(it, mix(seed), &f, &v);
        if (rc)
            break;
        if (!hash_insert(table, slots - 1, field_hash(&f)))
            continue;
        count--;
        rc = fn(arg, &f, &v);
        if (rc)
            break;
    }
    if (!rc && count > 0)
        rc = iter_random(it, mix(seed), &f, &v);
    while (!rc && count > 0 && walked++ < 2 * size) {
        if (hash_insert(table, slots - 1, field_hash(&f))) {
            count--;
            rc = fn(arg, &f, &v);
            if (rc)
                break;
        }
        rc = store_iter_next(it, &f, &v);
        if (rc == FFDB_NOTFOUND)
            rc = store_iter_first(it, &f, &v); /* wrap around */
    }
    free(table);
    return rc;
}

/* count picks with repetition from a small collection: its fields are
 * copied once, each pick is uniform, the value comes by lookup. */
static int sample_small_repeat(store_txn *st, const store_meta *m, store_iter *it, uint64_t count,
                               uint64_t *seed, store_elem_fn fn, void *arg)
{
    uint8_t(*fields)[STORE_MAX_FIELD] = malloc(STORE_SAMPLE_EXACT * sizeof(*fields));
    size_t lens[STORE_SAMPLE_EXACT], n = 0;
    ffdb_val f, v;
    int rc;

    if (!fields)
        return FFDB_ENOMEM;
    for (rc = store_iter_first(it, &f, NULL); rc == 0 && n < STORE_SAMPLE_EXACT;
         rc = store_iter_next(it, &f, NULL)) {
        lens[n] = f.size < STORE_MAX_FIELD ? f.size : STORE_MAX_FIELD;
        memcpy(fields[n], f.data, lens[n]);
        n++;
    }
    if (rc == FFDB_NOTFOUND)
        rc = 0;
    while (!rc && n > 0 && count-- > 0) {
        size_t i = (size_t)(mix(seed) % n);
        rc = store_sub_get(st, m, fields[i], lens[i], &v);
        if (rc)
            break;
        f.data = fields[i];
        f.size = lens[i];
        rc = fn(arg, &f, &v);
    }
    free(fields);
    return rc;
}

int store_sample(store_txn *st, const store_meta *m, uint64_t count, int distinct, uint64_t seed,
                 store_elem_fn fn, void *arg)
{
    store_iter *it;
    ffdb_val f, v;
    int rc;

    if (count == 0 || m->size == 0)
        return 0;
    rc = store_iter_open(st, m, STORE_SUB, &it);
    if (rc)
        return rc;
    if (distinct && count >= m->size)
        rc = sample_all(it, fn, arg);
    else if (distinct && (m->size <= STORE_SAMPLE_EXACT || count >= m->size / 4))
        rc = sample_select(it, m->size, count, &seed, fn, arg);
    else if (distinct)
        rc = sample_seek_distinct(it, m->size, count, &seed, fn, arg);
    else if (m->size <= STORE_SAMPLE_EXACT)
        rc = sample_small_repeat(st, m, it, count, &seed, fn, arg);
    else
        for (rc = 0; !rc && count-- > 0;) {
            rc = iter_random(it, mix(&seed), &f, &v);
            if (!rc)
                rc = fn(arg, &f, &v);
        }
    store_iter_close(it);
    return rc;
}

/* ---- the sweeper --------------------------------------------------------------------- */

/* The sweepers walk a queue bucket (the ttl index, the gc list) from its
 * first entry while budget lasts: sweep_queue is the walk, a head function
 * handles the first entry (and deletes it, or the walk would not advance),
 * consuming budget; it returns SWEEP_WAIT to stop until the next step, 0 to
 * go on, or an error. res->more says a step ran out of budget. */
#define SWEEP_WAIT 1
typedef int (*sweep_head_fn)(store_txn *st, int db, ffdb_bucket *b, const ffdb_val *k,
                             unsigned *budget, store_sweep_result *res);

static int sweep_queue(store_txn *st, int db, int kind, unsigned *budget, store_sweep_result *res,
                       sweep_head_fn head)
{
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k;
    int rc = store_bucket(st, db, kind, &b);

    if (rc)
        return rc;
    rc = ffdb_cursor_open(b, &c);
    if (rc)
        return rc;
    while (*budget > 0) {
        rc = ffdb_cursor_first(c, &k, NULL);
        if (!rc)
            rc = head(st, db, b, &k, budget, res);
        if (rc)
            break;
    }
    ffdb_cursor_close(c);
    if (rc == FFDB_NOTFOUND || rc == SWEEP_WAIT)
        rc = 0;
    if (!rc && *budget == 0)
        res->more = 1;
    return rc;
}

/* The ttl index's first entry: delete its key if the expiry passed (oldest
 * first), else wait. */
static int expired_head(store_txn *st, int db, ffdb_bucket *b, const ffdb_val *k,
                        unsigned *budget, store_sweep_result *res)
{
    uint8_t key[8 + STORE_MAX_KEY];
    store_meta m;
    size_t n = k->size;
    int rc;

    if (n < 8 || n > sizeof(key) || (int64_t)be64_get(k->data) > st->now_ms)
        return SWEEP_WAIT;
    memcpy(key, k->data, n);
    rc = store_lookup_raw(st, db, key + 8, n - 8, &m);
    if (rc == 0 && m.expire_ms == (int64_t)be64_get(key)) {
        rc = store_retire(st, &m, 0);
        res->expired_keys++;
        st->expired++;
    } else if (rc == 0 || rc == FFDB_NOTFOUND) {
        rc = ffdb_delete(b, key, n); /* a stray index entry; S1 says none */
        st->dexpires[db]--;
    }
    if (!rc)
        (*budget)--;
    return rc;
}

static int sweep_expired(store_txn *st, int db, unsigned *budget, store_sweep_result *res)
{
    return sweep_queue(st, db, B_TTL, budget, res, expired_head);
}

/* Delete up to *budget elements of one dead version; *done when none is left. */
static int sweep_version(store_txn *st, int db, const uint8_t ver[8], unsigned *budget, int *done,
                         store_sweep_result *res)
{
    static const int kinds[2] = {B_SUB, B_ZSCORE};

    *done = 1;
    for (int i = 0; i < 2 && *budget > 0; i++) {
        uint8_t key[16 + STORE_MAX_FIELD];
        ffdb_bucket *b;
        ffdb_cursor *c;
        ffdb_val k;
        int rc = store_bucket(st, db, kinds[i], &b);
        if (!rc)
            rc = ffdb_cursor_open(b, &c);
        if (rc)
            return rc;
        while (*budget > 0) {
            rc = ffdb_cursor_seek(c, ver, 8, &k, NULL);
            if (rc || k.size < 8 || memcmp(k.data, ver, 8) != 0 || k.size > sizeof(key))
                break;
            size_t n = k.size;
            memcpy(key, k.data, n);
            rc = ffdb_delete(b, key, n);
            if (rc)
                break;
            (*budget)--;
            res->stale_entries++;
            st->stale++;
        }
        ffdb_cursor_close(c);
        if (rc && rc != FFDB_NOTFOUND)
            return rc;
        if (*budget == 0)
            *done = 0; /* perhaps more; the next step looks */
    }
    return 0;
}

/* The gc list's first entry, a dead version: delete its elements while
 * budget lasts, then the entry. */
static int garbage_head(store_txn *st, int db, ffdb_bucket *b, const ffdb_val *k,
                        unsigned *budget, store_sweep_result *res)
{
    uint8_t ver[8];
    int done, rc;

    if (k->size != 8)
        return FFDB_CORRUPT;
    memcpy(ver, k->data, 8);
    rc = sweep_version(st, db, ver, budget, &done, res);
    if (!rc && done)
        rc = ffdb_delete(b, ver, 8);
    return rc ? rc : done ? 0 : SWEEP_WAIT;
}

static int sweep_garbage(store_txn *st, int db, unsigned *budget, store_sweep_result *res)
{
    return sweep_queue(st, db, B_GC, budget, res, garbage_head);
}

int store_sweep_garbage(store_txn *st, int db, unsigned budget, store_sweep_result *res)
{
    int rc;

    if (!st->writable)
        return FFDB_EREADONLY;
    rc = sweep_garbage(st, db, &budget, res);
    if (res->stale_entries)
        st->changed = 1;
    return rc;
}

int store_expired_keys(store_txn *st, int db, unsigned max,
                       int (*fn)(void *arg, const void *key, size_t klen), void *arg)
{
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k;
    unsigned n = 0;
    int rc = store_bucket(st, db, B_TTL, &b);

    if (rc)
        return rc == FFDB_NOTFOUND ? 0 : rc;
    rc = ffdb_cursor_open(b, &c);
    if (rc)
        return rc;
    for (rc = ffdb_cursor_first(c, &k, NULL); rc == 0 && n < max;
         rc = ffdb_cursor_next(c, &k, NULL)) {
        if (k.size < 8 || (int64_t)be64_get(k.data) > st->now_ms)
            break;
        rc = fn(arg, (const uint8_t *)k.data + 8, k.size - 8);
        if (rc)
            break;
        n++;
    }
    ffdb_cursor_close(c);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

int store_sweep(store_txn *st, int db, unsigned budget, store_sweep_result *res)
{
    int rc;

    if (!st->writable)
        return FFDB_EREADONLY;
    rc = sweep_expired(st, db, &budget, res);
    if (!rc)
        rc = sweep_garbage(st, db, &budget, res);
    if (res->expired_keys || res->stale_entries)
        st->changed = 1;
    return rc;
}
