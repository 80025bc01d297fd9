/*
 * store_int.h — what store.c and store_elem.c share and nobody else sees:
 * the store and store_txn structs, bucket kinds, record sizes and the
 * helpers that keep invariants S1–S6 (store.h). Command files include
 * store.h, never this.
 */
#ifndef FFDB_REDIS_STORE_INT_H
#define FFDB_REDIS_STORE_INT_H

#include "modules/redis/store.h"

enum { B_META, B_SUB, B_ZSCORE, B_TTL, B_GC, B_KINDS };

#define STATE_BUCKET "resp:state"
#define STATE_KEY "state"
#define STATE_BYTES (8 + 16 * STORE_DBS)
#define META_HDR 10 /* type, flags, expire_ms */
#define META_MAX (META_HDR + 32)

struct store {
    ffdb *db;
    uint64_t next_version;    /* as of the last commit (S3) */
    uint64_t keys[STORE_DBS]; /* as of the last commit (S6) */
    uint64_t expires[STORE_DBS];
    uint64_t expired_total;
    uint64_t stale_total;
    uint64_t hits, misses; /* lookups (INFO keyspace_hits/misses) */
    store_touch_fn touch;
    void *touch_arg;
    /* Expired keys lookups met (store_lookup), for the server to delete
     * (store_expire_seen): db, length, key bytes, at most STORE_SEEN_MAX. */
    struct store_seen {
        int db;
        size_t klen;
        char key[STORE_MAX_KEY];
    } *seen;
    size_t nseen;
};
#define STORE_SEEN_MAX 16

struct store_txn {
    store *s;
    ffdb_txn *txn;
    int writable;
    int changed; /* resp:state must be written */
    int64_t now_ms;
    uint64_t next_version;
    int64_t dkeys[STORE_DBS]; /* counter changes of this txn */
    int64_t dexpires[STORE_DBS];
    uint64_t expired, stale;            /* sweeper work of this txn */
    ffdb_bucket *b[STORE_DBS][B_KINDS]; /* opened on first use */
    void *scratch;                      /* records being built */
    size_t scratch_cap;
};

void be64_put(uint8_t *p, uint64_t v);
uint64_t be64_get(const uint8_t *p);
void le64_put(uint8_t *p, uint64_t v);
uint64_t le64_get(const uint8_t *p);

int store_bucket(store_txn *st, int db, int kind, ffdb_bucket **b);
void *store_scratch(store_txn *st, size_t n);
void store_touch(store_txn *st, int db, const void *key, size_t klen);
uint64_t store_new_version(store_txn *st);
int store_lookup_raw(store_txn *st, int db, const void *key, size_t klen, store_meta *m);
int store_expired(const store_txn *st, const store_meta *m);
int store_retire(store_txn *st, const store_meta *m, int keep_elements);
int store_is_collection(int type);
int store_meta_decode(const ffdb_val *v, store_meta *m);
size_t store_meta_encode(const store_meta *m, uint8_t *buf);
/* Write m's record (val: a string's value) and fix ttl index and counters. */
int store_meta_put(store_txn *st, store_meta *m, const void *val, size_t vlen);
int store_ttl_change(store_txn *st, int db, const void *key, size_t klen, int64_t old_ms,
                     int64_t new_ms);

#endif /* FFDB_REDIS_STORE_INT_H */
