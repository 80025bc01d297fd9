/*
 * store.c — the Redis data model on ffdb buckets: metadata records, versions,
 * the expiry index, counters (the layout and invariants S1–S6 are in store.h).
 *
 * Every write the server makes to the file goes through this file or
 * store_elem.c (elements, iterators, sweeper), which is what lets the
 * invariants be kept in one place. Callers pass user bytes; the encodings of
 * records and keys never leave these two files. Nothing here replies to a
 * client or knows about sockets.
 */
#include "modules/redis/store_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[B_KINDS] = {"meta", "sub", "zscore", "ttl", "gc"};

const char *store_type_name(int type)
{
    switch (type) {
    case STORE_STRING:
        return "string";
    case STORE_HASH:
        return "hash";
    case STORE_LIST:
        return "list";
    case STORE_SET:
        return "set";
    case STORE_ZSET:
        return "zset";
    case STORE_STREAM:
        return "stream";
    default:
        return "none";
    }
}

/* ---- byte helpers -------------------------------------------------------------- */

void be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

uint64_t be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void le64_put(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

uint64_t le64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---- open, txns, counters ------------------------------------------------------ */

static int bucket_name(char *buf, int db, int kind)
{
    return snprintf(buf, 32, "db%d:%s", db, kind_names[kind]);
}

/* Create the buckets that are missing. */
static int ensure_buckets(ffdb_txn *txn)
{
    char name[32];
    ffdb_bucket *b;
    int rc;

    for (int db = 0; db < STORE_DBS; db++)
        for (int k = 0; k < B_KINDS; k++) {
            int n = bucket_name(name, db, k);
            rc = ffdb_bucket_open(txn, name, (size_t)n, &b);
            if (rc == FFDB_NOTFOUND)
                rc = ffdb_bucket_create(txn, name, (size_t)n, &b);
            if (rc)
                return rc;
        }
    rc = ffdb_bucket_open(txn, STATE_BUCKET, strlen(STATE_BUCKET), &b);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(txn, STATE_BUCKET, strlen(STATE_BUCKET), &b);
    return rc;
}

static int read_state(store *s, ffdb_txn *txn)
{
    ffdb_bucket *b;
    ffdb_val v;
    int rc = ffdb_bucket_open(txn, STATE_BUCKET, strlen(STATE_BUCKET), &b);

    if (rc)
        return rc;
    rc = ffdb_get(b, STATE_KEY, strlen(STATE_KEY), &v);
    if (rc == FFDB_NOTFOUND) {
        s->next_version = 1;
        return 0;
    }
    if (rc)
        return rc;
    if (v.size < STATE_BYTES)
        return FFDB_CORRUPT;
    const uint8_t *p = v.data;
    s->next_version = le64_get(p);
    for (int db = 0; db < STORE_DBS; db++) {
        s->keys[db] = le64_get(p + 8 + 16 * db);
        s->expires[db] = le64_get(p + 16 + 16 * db);
    }
    if (s->next_version == 0)
        return FFDB_CORRUPT;
    return 0;
}

int store_open(ffdb *db, store **out)
{
    ffdb_txn *txn = NULL;
    store *s = calloc(1, sizeof(*s));
    int rc;

    if (!s)
        return FFDB_ENOMEM;
    s->db = db;
    rc = ffdb_begin_write(db, &txn);
    if (rc)
        goto fail;
    rc = ensure_buckets(txn);
    if (!rc)
        rc = read_state(s, txn);
    if (rc) {
        ffdb_abort(txn);
        goto fail;
    }
    rc = ffdb_commit(txn); /* costs nothing when every bucket was there */
    if (rc)
        goto fail;
    *out = s;
    return 0;
fail:
    free(s);
    return rc;
}

void store_close(store *s)
{
    free(s->seen);
    free(s);
}

void store_set_touch_hook(store *s, store_touch_fn fn, void *arg)
{
    s->touch = fn;
    s->touch_arg = arg;
}

int store_txn_begin(store *s, ffdb_txn *txn, int writable, store_txn **out)
{
    store_txn *st = calloc(1, sizeof(*st));

    if (!st)
        return FFDB_ENOMEM;
    st->s = s;
    st->txn = txn;
    st->writable = writable;
    st->next_version = s->next_version;
    *out = st;
    return 0;
}

void store_txn_set_now(store_txn *st, int64_t now_ms)
{
    st->now_ms = now_ms;
}

int64_t store_txn_now(const store_txn *st)
{
    return st->now_ms;
}

int store_txn_writable(const store_txn *st)
{
    return st->writable;
}

ffdb_txn *store_txn_engine(store_txn *st)
{
    return st->txn;
}

int store_txn_prepare(store_txn *st)
{
    uint8_t rec[STATE_BYTES];
    ffdb_bucket *b;
    int rc;

    if (!st->writable || !st->changed)
        return 0;
    rc = ffdb_bucket_open(st->txn, STATE_BUCKET, strlen(STATE_BUCKET), &b);
    if (rc)
        return rc;
    le64_put(rec, st->next_version);
    for (int db = 0; db < STORE_DBS; db++) {
        le64_put(rec + 8 + 16 * db, (uint64_t)((int64_t)st->s->keys[db] + st->dkeys[db]));
        le64_put(rec + 16 + 16 * db, (uint64_t)((int64_t)st->s->expires[db] + st->dexpires[db]));
    }
    return ffdb_put(b, STATE_KEY, strlen(STATE_KEY), rec, sizeof(rec));
}

void store_txn_end(store_txn *st, int committed)
{
    store *s;

    if (!st)
        return;
    s = st->s;
    if (committed && st->writable) {
        /* Aborted versions may be handed out again: no committed record ever
         * named them (S3). */
        s->next_version = st->next_version;
        for (int db = 0; db < STORE_DBS; db++) {
            s->keys[db] = (uint64_t)((int64_t)s->keys[db] + st->dkeys[db]);
            s->expires[db] = (uint64_t)((int64_t)s->expires[db] + st->dexpires[db]);
        }
        s->expired_total += st->expired;
        s->stale_total += st->stale;
    }
    free(st->scratch);
    free(st);
}

uint64_t store_db_keys(const store *s, int db)
{
    return s->keys[db];
}

uint64_t store_db_expires(const store *s, int db)
{
    return s->expires[db];
}

uint64_t store_txn_db_keys(const store_txn *st, int db)
{
    return (uint64_t)((int64_t)st->s->keys[db] + st->dkeys[db]);
}

uint64_t store_hits(const store *s)
{
    return s->hits;
}

uint64_t store_misses(const store *s)
{
    return s->misses;
}

uint64_t store_expired_total(const store *s)
{
    return s->expired_total;
}

uint64_t store_stale_removed_total(const store *s)
{
    return s->stale_total;
}

int store_bucket(store_txn *st, int db, int kind, ffdb_bucket **b)
{
    char name[32];
    int n, rc;

    if (st->b[db][kind]) {
        *b = st->b[db][kind];
        return 0;
    }
    n = bucket_name(name, db, kind);
    rc = ffdb_bucket_open(st->txn, name, (size_t)n, &st->b[db][kind]);
    if (rc == FFDB_NOTFOUND && st->writable)
        rc = ffdb_bucket_create(st->txn, name, (size_t)n, &st->b[db][kind]);
    if (rc)
        return rc;
    *b = st->b[db][kind];
    return 0;
}

void *store_scratch(store_txn *st, size_t n)
{
    if (n > st->scratch_cap) {
        size_t cap = st->scratch_cap ? st->scratch_cap : 4096;
        void *p;
        while (cap < n)
            cap *= 2;
        p = realloc(st->scratch, cap);
        if (!p)
            return NULL;
        st->scratch = p;
        st->scratch_cap = cap;
    }
    return st->scratch;
}

void store_touch(store_txn *st, int db, const void *key, size_t klen)
{
    if (st->s->touch)
        st->s->touch(st->s->touch_arg, db, key, klen);
}

uint64_t store_new_version(store_txn *st)
{
    st->changed = 1;
    return st->next_version++;
}

/* ---- metadata records ------------------------------------------------------------ */

int store_is_collection(int type)
{
    return type >= STORE_HASH && type <= STORE_STREAM;
}

int store_meta_decode(const ffdb_val *v, store_meta *m)
{
    const uint8_t *p = v->data;

    if (v->size < META_HDR)
        return FFDB_CORRUPT;
    m->type = p[0];
    m->expire_ms = (int64_t)le64_get(p + 2);
    m->version = m->size = 0;
    m->head = m->tail = STORE_LIST_START;
    m->value.data = NULL;
    m->value.size = 0;
    if (m->type == STORE_STRING) {
        m->value.data = p + META_HDR;
        m->value.size = v->size - META_HDR;
        return 0;
    }
    if (!store_is_collection(m->type) || v->size < META_HDR + 16)
        return FFDB_CORRUPT;
    m->version = le64_get(p + 10);
    m->size = le64_get(p + 18);
    if (m->type == STORE_LIST) {
        if (v->size < META_HDR + 32)
            return FFDB_CORRUPT;
        m->head = le64_get(p + 26);
        m->tail = le64_get(p + 34);
    }
    return 0;
}

/* The header (and for collections the whole record) of m into buf; returns
 * the length. buf needs META_MAX bytes. */
size_t store_meta_encode(const store_meta *m, uint8_t *buf)
{
    size_t n = META_HDR;

    buf[0] = (uint8_t)m->type;
    buf[1] = 0;
    le64_put(buf + 2, (uint64_t)m->expire_ms);
    if (store_is_collection(m->type)) {
        le64_put(buf + 10, m->version);
        le64_put(buf + 18, m->size);
        n += 16;
        if (m->type == STORE_LIST) {
            le64_put(buf + 26, m->head);
            le64_put(buf + 34, m->tail);
            n += 16;
        }
    }
    return n;
}

/* The record of key whether live or expired. 0 or FFDB_NOTFOUND. */
int store_lookup_raw(store_txn *st, int db, const void *key, size_t klen, store_meta *m)
{
    ffdb_bucket *b;
    ffdb_val v;
    int rc;

    if (klen > STORE_MAX_KEY)
        return FFDB_NOTFOUND; /* cannot have been stored */
    rc = store_bucket(st, db, B_META, &b);
    if (!rc)
        rc = ffdb_get(b, key, klen, &v);
    if (!rc)
        rc = store_meta_decode(&v, m);
    if (rc)
        return rc;
    m->db = db;
    m->key = key;
    m->klen = klen;
    m->saved = 1;
    m->saved_expire_ms = m->expire_ms;
    return 0;
}

int store_expired(const store_txn *st, const store_meta *m)
{
    return m->expire_ms != 0 && m->expire_ms <= st->now_ms;
}

static void note_seen(store *s, int db, const void *key, size_t klen)
{
    if (s->nseen == STORE_SEEN_MAX || klen > STORE_MAX_KEY)
        return; /* the sweeper deletes the rest */
    if (!s->seen && !(s->seen = malloc(STORE_SEEN_MAX * sizeof(*s->seen))))
        return;
    s->seen[s->nseen].db = db;
    s->seen[s->nseen].klen = klen;
    memcpy(s->seen[s->nseen].key, key, klen);
    s->nseen++;
}

int store_seen_expired(const store *s)
{
    return s->nseen > 0;
}

int store_expire_seen(store_txn *st, store *s, int keep)
{
    int rc = 0;

    for (size_t i = 0; keep && i < s->nseen && rc == 0; i++) {
        store_meta m;
        assert(st && st->writable);
        rc = store_lookup_raw(st, s->seen[i].db, s->seen[i].key, s->seen[i].klen, &m);
        if (rc == FFDB_NOTFOUND) {
            rc = 0; /* a key met twice: already gone */
            continue;
        }
        if (rc == 0 && store_expired(st, &m) && (rc = store_retire(st, &m, 0)) == 0)
            st->expired++;
    }
    s->nseen = 0;
    return rc;
}

int store_lookup(store_txn *st, int db, const void *key, size_t klen, store_meta *m)
{
    int rc = store_lookup_raw(st, db, key, klen, m);
    if (rc == 0 && store_expired(st, m)) {
        note_seen(st->s, db, key, klen);
        rc = FFDB_NOTFOUND; /* S5 */
    }
    if (rc == 0)
        st->s->hits++;
    else if (rc == FFDB_NOTFOUND)
        st->s->misses++;
    return rc;
}

int store_key_expired(store_txn *st, int db, const void *key, size_t klen)
{
    store_meta m;
    int rc = store_lookup_raw(st, db, key, klen, &m);
    if (rc == FFDB_NOTFOUND)
        return 0;
    return rc ? rc : store_expired(st, &m);
}

int store_lookup_type(store_txn *st, int db, const void *key, size_t klen, int type, store_meta *m)
{
    int rc = store_lookup(st, db, key, klen, m);
    if (rc)
        return rc;
    return m->type == type ? 0 : STORE_EWRONGTYPE;
}

/* Add or remove the ttl record of key (S1) and count it (S6). */
int store_ttl_change(store_txn *st, int db, const void *key, size_t klen, int64_t old_ms,
                     int64_t new_ms)
{
    uint8_t k[8 + STORE_MAX_KEY];
    ffdb_bucket *b;
    int rc;

    if (old_ms == new_ms)
        return 0;
    rc = store_bucket(st, db, B_TTL, &b);
    if (rc)
        return rc;
    memcpy(k + 8, key, klen);
    if (old_ms) {
        be64_put(k, (uint64_t)old_ms);
        rc = ffdb_delete(b, k, 8 + klen);
        if (rc)
            return rc;
        st->dexpires[db]--;
    }
    if (new_ms) {
        be64_put(k, (uint64_t)new_ms);
        rc = ffdb_put(b, k, 8 + klen, NULL, 0);
        if (rc)
            return rc;
        st->dexpires[db]++;
    }
    st->changed = 1;
    return 0;
}

/* Hand a dead collection's elements to the sweeper (S4). */
static int gc_add(store_txn *st, int db, uint64_t version)
{
    uint8_t k[8];
    ffdb_bucket *b;
    int rc = store_bucket(st, db, B_GC, &b);

    if (rc)
        return rc;
    be64_put(k, version);
    return ffdb_put(b, k, 8, NULL, 0);
}

/* Remove the key whose record is m (live or expired): its meta record, its
 * ttl record, and (unless keep_elements: RENAME moves them) a gc record for
 * its elements. O(1). */
int store_retire(store_txn *st, const store_meta *m, int keep_elements)
{
    ffdb_bucket *b;
    int rc;

    if (!keep_elements && store_is_collection(m->type) && m->size > 0) {
        rc = gc_add(st, m->db, m->version);
        if (rc)
            return rc;
    }
    rc = store_ttl_change(st, m->db, m->key, m->klen, m->saved_expire_ms, 0);
    if (!rc)
        rc = store_bucket(st, m->db, B_META, &b);
    if (!rc)
        rc = ffdb_delete(b, m->key, m->klen);
    if (rc)
        return rc;
    st->dkeys[m->db]--;
    st->changed = 1;
    store_touch(st, m->db, m->key, m->klen);
    return 0;
}

int store_meta_create(store_txn *st, int db, const void *key, size_t klen, int type, store_meta *m)
{
    store_meta old;
    int rc;

    if (klen > STORE_MAX_KEY)
        return STORE_EKEYLEN;
    if (!store_is_collection(type))
        return FFDB_EINVAL;
    rc = store_lookup_raw(st, db, key, klen, &old);
    if (rc == 0)
        rc = store_retire(st, &old, 0);
    else if (rc == FFDB_NOTFOUND)
        rc = 0;
    if (rc)
        return rc;
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->version = store_new_version(st);
    m->head = m->tail = STORE_LIST_START;
    m->db = db;
    m->key = key;
    m->klen = klen;
    return 0;
}

/* Put m's record (collections) and fix the ttl index and counters. */
int store_meta_put(store_txn *st, store_meta *m, const void *val, size_t vlen)
{
    uint8_t hdr[META_MAX];
    size_t n = store_meta_encode(m, hdr);
    const void *rec = hdr;
    ffdb_bucket *b;
    int rc;

    if (vlen) {
        uint8_t *p = store_scratch(st, n + vlen);
        if (!p)
            return FFDB_ENOMEM;
        memcpy(p, hdr, n);
        memcpy(p + n, val, vlen);
        rec = p;
    }
    rc = store_bucket(st, m->db, B_META, &b);
    if (!rc)
        rc = ffdb_put(b, m->key, m->klen, rec, n + vlen);
    if (!rc)
        rc = store_ttl_change(st, m->db, m->key, m->klen, m->saved_expire_ms, m->expire_ms);
    if (rc)
        return rc;
    /* resp:state changes only with the counters: overwriting a key must not
     * dirty one more page per commit. */
    if (!m->saved) {
        st->dkeys[m->db]++;
        st->changed = 1;
    }
    m->saved = 1;
    m->saved_expire_ms = m->expire_ms;
    store_touch(st, m->db, m->key, m->klen);
    return 0;
}

int store_meta_save(store_txn *st, store_meta *m)
{
    if (!store_is_collection(m->type))
        return FFDB_EINVAL;
    if (m->size == 0) { /* S2: an empty collection does not exist */
        int rc = m->saved ? store_retire(st, m, 0) : 0;
        m->saved = 0;
        m->saved_expire_ms = 0;
        return rc;
    }
    return store_meta_put(st, m, NULL, 0);
}

int store_string_put(store_txn *st, int db, const void *key, size_t klen, const void *val,
                     size_t vlen, int64_t expire_ms)
{
    store_meta m;
    int rc;

    if (klen > STORE_MAX_KEY)
        return STORE_EKEYLEN;
    rc = store_lookup_raw(st, db, key, klen, &m);
    if (rc == FFDB_NOTFOUND) {
        memset(&m, 0, sizeof(m));
        m.db = db;
        m.key = key;
        m.klen = klen;
    } else if (rc) {
        return rc;
    } else if (store_is_collection(m.type) && m.size > 0) {
        rc = gc_add(st, db, m.version); /* the old elements go (S4) */
        if (rc)
            return rc;
    }
    m.type = STORE_STRING;
    m.expire_ms = expire_ms;
    if (vlen == 0) {
        /* meta_put appends val only when vlen > 0; an empty string is just
         * the header. */
        return store_meta_put(st, &m, NULL, 0);
    }
    return store_meta_put(st, &m, val, vlen);
}

int store_key_delete(store_txn *st, int db, const void *key, size_t klen, int *deleted)
{
    store_meta m;
    int rc = store_lookup_raw(st, db, key, klen, &m);

    if (deleted)
        *deleted = 0;
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (deleted)
        *deleted = !store_expired(st, &m);
    return store_retire(st, &m, 0);
}

int store_key_expire(store_txn *st, int db, const void *key, size_t klen, int64_t expire_ms)
{
    store_meta m;
    int rc = store_lookup(st, db, key, klen, &m);

    if (rc)
        return rc;
    if (expire_ms != 0 && expire_ms <= st->now_ms)
        return store_retire(st, &m, 0);
    if (m.expire_ms == expire_ms)
        return 0;
    m.expire_ms = expire_ms;
    if (m.type != STORE_STRING)
        return store_meta_put(st, &m, NULL, 0);
    /* A string's record holds its value: copy it out of the engine's memory
     * before the writes below can invalidate it. */
    size_t vlen = m.value.size;
    uint8_t *copy = malloc(vlen ? vlen : 1);
    if (!copy)
        return FFDB_ENOMEM;
    memcpy(copy, m.value.data, vlen);
    rc = store_meta_put(st, &m, copy, vlen);
    free(copy);
    return rc;
}

/* ---- walking keys ------------------------------------------------------------------ */

int store_keys_walk(store_txn *st, int db, const void *start, size_t slen, store_key_fn fn,
                    void *arg)
{
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v;
    int rc = store_bucket(st, db, B_META, &b);

    if (rc)
        return rc;
    rc = ffdb_cursor_open(b, &c);
    if (rc)
        return rc;
    rc = start ? ffdb_cursor_seek(c, start, slen, &k, &v) : ffdb_cursor_first(c, &k, &v);
    while (rc == 0) {
        store_meta m;
        rc = store_meta_decode(&v, &m);
        if (rc)
            break;
        m.db = db;
        m.key = k.data;
        m.klen = k.size;
        m.saved = 1;
        m.saved_expire_ms = m.expire_ms;
        if (!store_expired(st, &m)) {
            rc = fn(arg, k.data, k.size, &m);
            if (rc)
                break;
        }
        rc = ffdb_cursor_next(c, &k, &v);
    }
    ffdb_cursor_close(c);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

int store_flushdb(store_txn *st, int db)
{
    char name[32];
    int rc;

    for (int k = 0; k < B_KINDS; k++) {
        int n = bucket_name(name, db, k);
        st->b[db][k] = NULL;
        rc = ffdb_bucket_drop(st->txn, name, (size_t)n);
        if (rc && rc != FFDB_NOTFOUND)
            return rc;
        rc = ffdb_bucket_create(st->txn, name, (size_t)n, &st->b[db][k]);
        if (rc)
            return rc;
    }
    st->dkeys[db] = -(int64_t)st->s->keys[db];
    st->dexpires[db] = -(int64_t)st->s->expires[db];
    st->changed = 1;
    return 0;
}
