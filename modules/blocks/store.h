/*
 * store.h — the block store's private interface between its files (never
 * included outside modules/blocks). The layout below is mirrored in
 * modules/blocks/README.md ("On-disk layout"); the two change together.
 *
 * Hot file buckets (key -> value; integers little-endian):
 *   blocks   key -> block bytes                       (hot tier only)
 *   index    key -> rec (REC_SIZE bytes, below)       (every block, both tiers)
 *   lru      atime u64 BE ‖ key -> ""                 (hot blocks, oldest first)
 *   pending  key -> op u8                             (cold-file changes in flight)
 *   pins     key -> u8 1 recursive / 0 direct
 *   refs     "HEAD" / "refs/heads/NAME" -> value      (versioned roots, refs.c)
 *   bloom    chunk u32 BE -> BLOOM_CHUNK_BYTES bitmap
 *   meta     "format" u32, "counts" COUNTS_SIZE, "stats", "policy", "bloom"
 * Cold file bucket:
 *   blocks   key -> enc u8 (0 stored, 1 zstd) ‖ payload
 * key = the CID in binary version-1 form (a v0 CID is stored as v1 dag-pb),
 * so Qm... and bafy... of one block name one entry.
 *
 * Invariants (numbered where the code keeps them):
 *   S1 A block is in the index iff it is stored; index.tier says where: a hot
 *      block is in hot/blocks and hot/lru; a cold one in cold/blocks only.
 *   S2 A key in cold/blocks whose index entry is missing or hot is garbage
 *      only while the key is in pending; recovery (store_finish_pending)
 *      deletes it from the cold file and then the pending entry.
 *   S3 meta/counts equals the sums over the index, in every commit.
 *   S4 Every key in the index has its bloom bits set (the filter may have
 *      more: removals do not clear bits; gc rebuilds it).
 */
#ifndef FFDB_BLOCKS_STORE_H
#define FFDB_BLOCKS_STORE_H

#include <stdint.h>

#include "modules/blocks/blocks.h"

#define KEY_MAX IPLD_CID_BIN_MAX

/* index record */
#define REC_TIER 0       /* u8: 0 hot, 1 cold */
#define REC_COLD_READS 2 /* u16: reads since the block went cold */
#define REC_STORED 4     /* u32: bytes of its cold-file value (cold blocks), else 0 */
#define REC_SIZE_OFF 8   /* u64: block bytes */
#define REC_ATIME 16     /* u64: last recorded read or write, seconds */
#define REC_SIZE 24

enum { TIER_HOT = 0, TIER_COLD = 1 };

typedef struct counts {
    uint64_t blocks[2], bytes[2], cold_stored, pins;
} counts;
#define COUNTS_SIZE 48

#define BLOOM_CHUNK_BYTES 1024 /* inline values: one leaf cell each */
#define BLOOM_CHUNK_BITS (BLOOM_CHUNK_BYTES * 8)
#define BLOOM_HASHES 7
#define BLOOM_DEFAULT_CHUNKS 256 /* 2 Mi bits */
#define BLOOM_BITS_PER_KEY 10    /* grown when the index passes bits / 10 keys */

/* Importers (add, CAR import) commit a batch at either limit. */
#define BATCH_BLOCKS 1024u
#define BATCH_BYTES (64u << 20)

#define CAT_DEPTH_MAX 64 /* UnixFS tree levels cat and blocks_file follow */
#define ACCESS_SLOTS 1024     /* recorded reads kept in memory before a flush */
#define ATIME_RESOLUTION_S 60 /* an access time is rewritten at most this often */

typedef struct access_slot {
    uint8_t key[KEY_MAX];
    uint8_t klen; /* 0 = free */
    uint32_t reads;
} access_slot;

struct blocks {
    ffdb *hot, *cold;
    blocks_options opt;
    blocks_batch *batch;    /* the open batch, if any */
    uint32_t bloom_chunks;  /* as persisted in meta/bloom */
    uint64_t stat_delta[3]; /* bloom queries, negatives, false positives not yet flushed */
    access_slot *access;    /* ACCESS_SLOTS */
    uint32_t access_used;
};

/* A write transaction on the hot file with every bucket open. */
typedef struct wtx {
    blocks *bs;
    ffdb_txn *txn;
    ffdb_bucket *blocks, *index, *lru, *pending, *pins, *refs, *bloom, *meta;
    counts c; /* loaded at begin, written at commit (S3) */
} wtx;

/* A read transaction on the hot file with the buckets reads need. */
typedef struct rtx {
    ffdb_txn *txn;
    ffdb_bucket *blocks, *index, *lru, *pending, *pins, *refs, *bloom, *meta;
} rtx;

/* store.c */
uint64_t store_now(blocks *bs);
size_t store_key(const ipld_cid *cid, uint8_t key[KEY_MAX]);
int store_key_cid(const uint8_t *key, size_t klen, ipld_cid *cid);
int wtx_begin(blocks *bs, wtx *w);
int wtx_commit(wtx *w);
void wtx_abort(wtx *w);
int rtx_begin(blocks *bs, rtx *r);
void rtx_end(rtx *r);
int store_put_in(wtx *w, const uint8_t *key, size_t klen, const void *data, size_t len);
int store_rm_in(wtx *w, const uint8_t *key, size_t klen, int *was_cold);
int store_finish_pending(blocks *bs);
int store_read_from(blocks *bs, ffdb_bucket *index, ffdb_bucket *hot, const uint8_t *key,
                    size_t klen, void **data, size_t *len);
int store_read_block(blocks *bs, rtx *r, const uint8_t *key, size_t klen, void **data, size_t *len);
void rec_get(const void *v, int *tier, uint64_t *size, uint64_t *atime, uint32_t *cold_reads);
void rec_put(uint8_t rec[REC_SIZE], int tier, uint64_t size, uint64_t atime, uint32_t cold_reads);
uint32_t rec_stored(const void *v);
void rec_set_stored(uint8_t rec[REC_SIZE], uint32_t stored);
size_t lru_key(uint8_t out[8 + KEY_MAX], uint64_t atime, const uint8_t *key, size_t klen);
uint64_t le64(const void *p);
void put_le64(void *p, uint64_t v);
int meta_get_u64s(ffdb_bucket *meta, const char *name, uint64_t *v, size_t n);
int meta_put_u64s(ffdb_bucket *meta, const char *name, const uint64_t *v, size_t n);

/* cold.c */
int cold_put(ffdb_bucket *cold, const uint8_t *key, size_t klen, const void *data, size_t len,
             uint64_t *stored);
int cold_get(ffdb_bucket *cold, const uint8_t *key, size_t klen, void **data, size_t *len);
int cold_open(ffdb *cold, int write, ffdb_txn **txn, ffdb_bucket **b);

/* car.c (carstream.c streams with them) */
int car_header(const ipld_cid *roots, size_t n, uint8_t **out, size_t *len);
int car_is_file(const ipld_cid *cid, const void *data, size_t len);

/* bloom.c */
int bloom_add(wtx *w, const uint8_t *key, size_t klen);
int bloom_maybe(blocks *bs, rtx *r, const uint8_t *key, size_t klen);
int bloom_rebuild(wtx *w, uint32_t chunks);
int bloom_grow_if_needed(wtx *w);

/* tier.c */
void access_record(blocks *bs, const uint8_t *key, size_t klen);

#endif
