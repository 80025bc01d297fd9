/*
 * store.h — the Redis data model of ffdb-server on ffdb buckets (kvrocks
 * style): one metadata record per user key, sub-keys for the elements of
 * hashes, lists, sets and sorted sets, a score index for sorted sets, an
 * expiry index and a garbage list for the background sweeper.
 *
 * It owns every byte the server writes to the file; command handlers never
 * call ffdb_get/ffdb_put themselves, they go through these helpers, so the
 * invariants below hold in one place. It knows nothing of sockets, replies
 * or clients. It includes only the public engine header.
 *
 * ---- Buckets (N = 0..15, the SELECT database) -----------------------------
 *
 *   bucket        key                                 value
 *   db<N>:meta    user key                            metadata record (below)
 *   db<N>:sub     version(8, BE) | field              element value
 *   db<N>:zscore  version(8, BE) | score(8) | member  empty
 *   db<N>:ttl     expire_ms(8, BE) | user key         empty
 *   db<N>:gc      version(8, BE)                      empty
 *   resp:state    "state"                             counters (below)
 *
 * Sub-keys are prefixed by the key's version only, not by its name: versions
 * are unique in the file for all time (a persisted counter), so the version
 * alone names the key's elements. That makes RENAME O(1) (the metadata moves,
 * the elements stay), keeps sub-keys short (a long key name is not repeated
 * in every element) and leaves fields up to STORE_MAX_FIELD bytes whatever the
 * key's length. All elements of one key are contiguous and ordered by field.
 *
 * Metadata record (little-endian numbers):
 *
 *   offset size  field
 *   0      1     type (STORE_STRING .. STORE_STREAM)
 *   1      1     flags (0; reserved)
 *   2      8     expire_ms: absolute Unix time in ms, 0 = never
 *   -- strings:
 *   10     n     the value, inline (big values go to engine overflow pages)
 *   -- hash, list, set, zset, stream:
 *   10     8     version: names the sub-keys, fresh on every creation
 *   18     8     size: number of elements (never 0: an empty key is deleted)
 *   -- lists only:
 *   26     8     head: index of the first element
 *   34     8     tail: index one past the last element
 *
 * resp:state "state": u64 next_version, then per database u64 keys and u64
 * keys-with-expiry (16 x 2), little-endian: 8 + 256 bytes.
 *
 * Element encodings (field part of a sub-key; the helpers below do them):
 *   hash   field = the hash field, value = its value
 *   set    field = the member, value empty
 *   list   field = index (8, BE, store_list_index_encode), value = element;
 *          elements live at [head, tail); a new list starts with
 *          head = tail = STORE_LIST_START, LPUSH stores at --head, RPUSH at
 *          tail++ (so indexes never wrap in practice)
 *   zset   sub: field = member, value = score (8, store_score_encode);
 *          zscore: score(8) | member, so a cursor walks members by score, then
 *          by member bytes, as Redis orders them
 *
 * Invariants (numbered; the code that keeps them cites them):
 *   S1 A live key has exactly one meta record; its ttl record exists iff
 *      expire_ms != 0 and says the same time.
 *   S2 A collection's meta size equals the number of its sub entries (and,
 *      for zsets, of its zscore entries); size 0 never reaches the file.
 *   S3 A version is used by at most one meta record, ever. next_version in
 *      resp:state is above every version in any committed meta.
 *   S4 Sub and zscore entries whose version no meta names are garbage; each
 *      such version has a db<N>:gc record until the sweeper removed them all.
 *      Deleting or overwriting a collection is O(1): meta gone, gc record in.
 *   S5 An expired key (expire_ms <= now) is invisible to every lookup, before
 *      and after the sweeper deletes it.
 *   S6 The per-database key and expiry counters in resp:state match the meta
 *      and ttl buckets at every commit.
 *
 * Usage from a command (see modules/resp/README.md for whole examples):
 *
 *   store_meta m;
 *   rc = store_lookup_type(c->st, c->db, key, klen, STORE_HASH, &m);
 *   if (rc == FFDB_NOTFOUND) {                          // a new hash
 *       rc = store_meta_create(c->st, c->db, key, klen, STORE_HASH, &m);
 *   }
 *   if (rc) return redis_store_error(c, rc);             // WRONGTYPE, too long, engine
 *   rc = store_sub_get(c->st, &m, field, flen, &v);     // FFDB_NOTFOUND if absent
 *   if (rc == FFDB_NOTFOUND) m.size++;
 *   rc = store_sub_put(c->st, &m, field, flen, val, vlen);
 *   rc = store_meta_save(c->st, &m);                    // size and expiry
 *
 * Threading: a store and its store_txn belong to the event-loop thread.
 */
#ifndef FFDB_REDIS_STORE_H
#define FFDB_REDIS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ffdb.h"

/* ---- Limits and codes ------------------------------------------------------ */

#define STORE_DBS 16 /* SELECT 0..15 */
/* The engine's keys are at most FFDB_MAX_KEY_SIZE (1024) bytes: the ttl
 * record adds 8 bytes to a user key, a zscore record 16 to a member. */
#define STORE_MAX_KEY 1016u
#define STORE_MAX_FIELD 1008u /* hash fields, set and zset members */
#define STORE_LIST_START (UINT64_C(1) << 63)

/* Store results beside the engine's (clear of FFDB_E... codes). */
#define STORE_EWRONGTYPE (-31001) /* the key holds another type */
#define STORE_EKEYLEN (-31002)    /* key over STORE_MAX_KEY bytes */
#define STORE_EFIELDLEN (-31003)  /* field or member over STORE_MAX_FIELD bytes */

enum store_type {
    STORE_NONE = 0,
    STORE_STRING = 1,
    STORE_HASH = 2,
    STORE_LIST = 3,
    STORE_SET = 4,
    STORE_ZSET = 5,
    STORE_STREAM = 6, /* sub entries of stream.h's layout */
};

/* Redis's name of a type ("string", "hash", ..., "none"). */
const char *store_type_name(int type);

/* ---- Handles ----------------------------------------------------------------- */

typedef struct store store;         /* one per server: the file and its counters */
typedef struct store_txn store_txn; /* one per engine transaction */

/* Called on every change of a user key (WATCH, INFO's dirty counter). */
typedef void (*store_touch_fn)(void *arg, int db, const void *key, size_t klen);

/* Open the model on an open database: create the buckets that are missing and
 * read the counters (one write txn). Errors: engine codes, FFDB_CORRUPT if
 * resp:state is malformed. */
int store_open(ffdb *db, store **out);
void store_close(store *s);
void store_set_touch_hook(store *s, store_touch_fn fn, void *arg);

/* Wrap an engine txn the caller began (read or write). The store_txn caches
 * bucket handles and counts changes; it ends with store_txn_end. */
int store_txn_begin(store *s, ffdb_txn *txn, int writable, store_txn **out);
/* The time every expiry decision of the following calls uses; the server
 * sets it once per command (as Redis freezes the clock per command). */
void store_txn_set_now(store_txn *st, int64_t now_ms);
int64_t store_txn_now(const store_txn *st);
int store_txn_writable(const store_txn *st);
ffdb_txn *store_txn_engine(store_txn *st);
/* Before ffdb_commit: write resp:state (next version, counters) if anything
 * changed. */
int store_txn_prepare(store_txn *st);
/* After the engine txn ended: committed != 0 applies the txn's counter changes
 * to the store, 0 forgets them. Frees st. */
void store_txn_end(store_txn *st, int committed);

/* Counters as of the last commit (DBSIZE, INFO keyspace). Expired keys not yet
 * swept still count, as in Redis. */
uint64_t store_db_keys(const store *s, int db);
uint64_t store_db_expires(const store *s, int db);

/* The same as seen inside st (its own changes included): DBSIZE. */
uint64_t store_txn_db_keys(const store_txn *st, int db);
/* Lookups that found a live key / found none, since open. */
uint64_t store_hits(const store *s);
uint64_t store_misses(const store *s);

/* ---- Metadata --------------------------------------------------------------- */

typedef struct store_meta {
    int type;            /* STORE_STRING .. STORE_ZSET */
    int64_t expire_ms;   /* absolute, 0 = never; change it, then store_meta_save */
    uint64_t version;    /* collections */
    uint64_t size;       /* collections: elements */
    uint64_t head, tail; /* lists: elements at [head, tail) */
    ffdb_val value;      /* strings: valid until the next call on the txn */
    /* Filled by lookup/create, used by the helpers; do not change. */
    int db;
    const void *key; /* the caller's bytes: must outlive the use of m */
    size_t klen;
    int64_t saved_expire_ms; /* expire_ms as in the file (0 if new) */
    int saved;               /* 1 if the record is in the file */
} store_meta;

/* A live key's metadata. 0, FFDB_NOTFOUND (absent or expired: S5; also a
 * key over STORE_MAX_KEY, which cannot have been stored), or an engine error. */
int store_lookup(store_txn *st, int db, const void *key, size_t klen, store_meta *m);
/* The same, and STORE_EWRONGTYPE if the key holds a type other than type. */
int store_lookup_type(store_txn *st, int db, const void *key, size_t klen, int type, store_meta *m);

/* 1 if key has a record whose expiry has passed (not swept yet), 0 if it is
 * live or absent, or an engine error. (EXEC uses it: a watched key that
 * expired counts as changed.) */
int store_key_expired(store_txn *st, int db, const void *key, size_t klen);

/* Start a new empty collection of the given type under key with a fresh
 * version, replacing whatever was there (a live key of any type, or an
 * expired one): the old key is deleted now, its elements handed to the
 * sweeper (S4). Nothing new is in the file until store_meta_save() with size
 * > 0. Errors: STORE_EKEYLEN, engine codes. */
int store_meta_create(store_txn *st, int db, const void *key, size_t klen, int type, store_meta *m);
/* Write m back (size, head/tail, expire_ms; the version never changes). A
 * collection with size 0 is deleted instead (S2). Keeps the ttl index and
 * counters right (S1, S6). Not for strings: use store_string_put. */
int store_meta_save(store_txn *st, store_meta *m);

/* Set key to the string value with the given expiry (0 = none), replacing
 * whatever was there (S4). Errors: STORE_EKEYLEN, engine codes. */
int store_string_put(store_txn *st, int db, const void *key, size_t klen, const void *val,
                     size_t vlen, int64_t expire_ms);

/* Delete a key in O(1), whatever its type or size. *deleted (may be NULL) is
 * 1 if a live key went, 0 if there was none (an expired key is removed too but
 * counts 0, as in Redis). */
int store_key_delete(store_txn *st, int db, const void *key, size_t klen, int *deleted);
/* Change a live key's expiry (0 = persist). FFDB_NOTFOUND if absent. An
 * expiry at or before now deletes the key (as Redis's EXPIRE with a past
 * time does). */
int store_key_expire(store_txn *st, int db, const void *key, size_t klen, int64_t expire_ms);
/* RENAME/MOVE: the live key src becomes dst (replacing dst whatever its type).
 * Same database: O(1). Another database: the elements are copied (O(N)).
 * FFDB_NOTFOUND if src is absent. src == dst in the same db is a no-op. */
int store_key_rename(store_txn *st, int sdb, const void *src, size_t slen, int ddb, const void *dst,
                     size_t dlen);
/* COPY: dst becomes a copy of the live key src with a fresh version (O(N)),
 * expiry included. FFDB_NOTFOUND if src is absent; FFDB_EXISTS if dst is live
 * and !replace. */
int store_key_copy(store_txn *st, int sdb, const void *src, size_t slen, int ddb, const void *dst,
                   size_t dlen, int replace);

/* Visit live keys of db in byte order, from the first key >= start (start may
 * be NULL). fn gets the key and its metadata (m->value valid during the call);
 * a non-zero return stops the walk and is returned. Engine errors returned. */
typedef int (*store_key_fn)(void *arg, const void *key, size_t klen, const store_meta *m);
int store_keys_walk(store_txn *st, int db, const void *start, size_t slen, store_key_fn fn,
                    void *arg);
/* Some live key of db, chosen at random (RANDOMKEY): the first key at or
 * after a random point. The key is copied into buf (cap STORE_MAX_KEY);
 * FFDB_NOTFOUND if the db has no live key. */
int store_random_key(store_txn *st, int db, uint64_t random, void *buf, size_t *klen);
/* FLUSHDB: drop and recreate the database's buckets. Counters go to 0. */
int store_flushdb(store_txn *st, int db);

/* ---- Elements of a collection --------------------------------------------- */

/* Element spaces: the sub bucket, or the zscore index of sorted sets. */
enum store_space { STORE_SUB = 0, STORE_ZSCORE = 1 };

/* The value of field in m's collection. 0, FFDB_NOTFOUND, STORE_EFIELDLEN. The
 * bytes are valid until the next call on the txn. */
int store_sub_get(store_txn *st, const store_meta *m, const void *field, size_t flen,
                  ffdb_val *val);
/* Insert or overwrite. Does not change m->size: the caller counts. */
int store_sub_put(store_txn *st, const store_meta *m, const void *field, size_t flen,
                  const void *val, size_t vlen);
/* Delete; *existed (may be NULL) says whether it was there. */
int store_sub_del(store_txn *st, const store_meta *m, const void *field, size_t flen, int *existed);
/* The zscore index entry of (score, member); put and delete. */
int store_zscore_put(store_txn *st, const store_meta *m, double score, const void *member,
                     size_t mlen);
int store_zscore_del(store_txn *st, const store_meta *m, double score, const void *member,
                     size_t mlen);

/* A cursor over one collection's elements in one space, in field order. Every
 * move returns the field without the version prefix (for STORE_ZSCORE:
 * score(8) | member; see store_zscore_split) and the value, valid until the
 * next move or the next write through the txn, whichever comes first: copy
 * what you need before writing (LREM, ZREMRANGEBYSCORE). FFDB_NOTFOUND past
 * either end of this collection. The iterator itself stays usable across
 * writes through the same txn (the engine's cursor rule: it continues from the
 * key it was on); re-seek after deleting the element it stands on. Close it
 * before the handler returns. */
typedef struct store_iter store_iter;
int store_iter_open(store_txn *st, const store_meta *m, int space, store_iter **it);
int store_iter_first(store_iter *it, ffdb_val *field, ffdb_val *val);
int store_iter_last(store_iter *it, ffdb_val *field, ffdb_val *val);
/* First element with field >= f. */
int store_iter_seek(store_iter *it, const void *f, size_t flen, ffdb_val *field, ffdb_val *val);
/* Last element with field <= f. */
int store_iter_seek_le(store_iter *it, const void *f, size_t flen, ffdb_val *field, ffdb_val *val);
int store_iter_next(store_iter *it, ffdb_val *field, ffdb_val *val);
int store_iter_prev(store_iter *it, ffdb_val *field, ffdb_val *val);
void store_iter_close(store_iter *it);

/* Random elements of m's collection (its STORE_SUB space), for SPOP,
 * SRANDMEMBER, HRANDFIELD and ZRANDMEMBER. distinct: min(count, size)
 * different elements (all of them, in field order, when count >= size);
 * otherwise count picks, each of any element. fn gets each element's field
 * and value, valid during the call; it must not write through the txn
 * (SPOP copies the members and deletes them afterwards). A non-zero return
 * from fn stops the walk and is returned; engine errors are returned.
 * The same seed makes the same choice.
 *
 * Fairness and cost: a collection of at most STORE_SAMPLE_EXACT elements,
 * and a distinct sample of a quarter of the collection or more, are chosen
 * uniformly by walking it (O(size), bounded by 4 * count there). Otherwise
 * each pick is a random seek (O(log N), like RANDOMKEY): the point is chosen
 * byte by byte between the first and last field, so an element that follows
 * a wide gap in the byte order is picked more often than one in a dense run.
 * Redis picks uniformly; nothing stores ranks here to do the same in
 * O(log N). */
#define STORE_SAMPLE_EXACT 128
typedef int (*store_elem_fn)(void *arg, const ffdb_val *field, const ffdb_val *val);
int store_sample(store_txn *st, const store_meta *m, uint64_t count, int distinct, uint64_t seed,
                 store_elem_fn fn, void *arg);

/* ---- Encodings -------------------------------------------------------------- */

/* 8 bytes whose memcmp order is the numeric order of doubles: -inf < negatives
 * < -0.0 == 0.0 < positives < +inf (-0.0 is stored as 0.0). NaN is the
 * caller's to reject. */
void store_score_encode(double d, uint8_t out[8]);
double store_score_decode(const uint8_t in[8]);
/* Split a STORE_ZSCORE field into score and member (member points into f).
 * FFDB_CORRUPT if it is shorter than 8 bytes. */
int store_zscore_split(const ffdb_val *f, double *score, ffdb_val *member);
/* Big-endian, so list order is byte order. */
void store_list_index_encode(uint64_t index, uint8_t out[8]);
uint64_t store_list_index_decode(const uint8_t in[8]);

/* ---- Background sweeper ------------------------------------------------------ */

typedef struct store_sweep_result {
    uint64_t expired_keys;  /* keys deleted because their time passed */
    uint64_t stale_entries; /* sub/zscore entries of dead versions removed */
    int more;               /* 1 if work remains that was due now */
} store_sweep_result;

/* One small step in a write txn: delete keys of db whose expiry is <= now
 * (through the ttl index) and elements of dead versions (through the gc
 * list), at most budget engine deletions in all. The server calls it about
 * every 100 ms, over all databases, in a short txn of its own (or in the open
 * batch txn under --fsync batch-ms). */
int store_sweep(store_txn *st, int db, unsigned budget, store_sweep_result *res);

/* store_sweep without the expiry: only elements of dead versions (a server
 * whose expiry is decided by a replication hook still cleans its garbage). */
int store_sweep_garbage(store_txn *st, int db, unsigned budget, store_sweep_result *res);
/* Read-only: call fn for up to max keys of db whose expiry is <= now, oldest
 * first (fn's key is valid only during the call; non-zero stops and is
 * returned). 0 or the engine's code. */
int store_expired_keys(store_txn *st, int db, unsigned max,
                       int (*fn)(void *arg, const void *key, size_t klen), void *arg);

/* Totals since open (INFO stats: expired_keys). */
uint64_t store_expired_total(const store *s);
/* Expired keys that lookups met since the last call (a command read
 * them: invisible, still stored): 1 if there are any. */
int store_seen_expired(const store *s);
/* Delete those still expired by st's clock (st writable), counted in
 * expired_keys as the sweeper's are (Redis's deletion on access); with
 * keep = 0 they are only forgotten (a pause, a write hook: the sweeper
 * or the owner of the writes deletes them). 0 or an engine error. */
int store_expire_seen(store_txn *st, store *s, int keep);
uint64_t store_stale_removed_total(const store *s);

#endif /* FFDB_REDIS_STORE_H */
