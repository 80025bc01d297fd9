/*
 * db.h — the engine's private structures: the database handle, its
 * transactions, bucket and cursor handles, and the committed meta.
 *
 * Only engine/ includes this. The engine is the one layer that knows about
 * meta pages, commits, the reader table and the catalog of buckets; it
 * drives the btree, freelist, pool and pager below it.
 *
 * Transaction states (W = the write txn, R = a read txn):
 *
 *   begin_read:  lock meta_lock; take a reader slot = meta.txid; copy meta;
 *                unlock                                  -> R live
 *   R end:       lock meta_lock; free the slot; unlock
 *   begin_write: lock write_lock (blocks); oldest = min(reader slots, meta.txid)
 *                fl_txn_begin(txid + 1, oldest)          -> W live
 *   commit:      buckets -> catalog; fl_txn_prepare; flush dirty pages;
 *                sync #1; write meta slot txid % 2; sync #2;
 *                fl_txn_commit; publish meta under meta_lock; unlock write_lock
 *   abort / failed commit: drop the txn's frames; fl_txn_abort; unlock.
 *
 * Invariants:
 *  E1. A page reachable from a committed meta is never written again
 *      (T1 in btree.h plus F2 in freelist.h).
 *  E2. The meta of txid t is written only after every page it reaches was
 *      written and synced (sync #1 precedes the meta write).
 *  E3. After a failed sync the handle never commits again (db->failed).
 *  E4. A reader's slot holds its snapshot txid from before it reads the
 *      meta until it ends, so the writer never reuses a page it can reach.
 */
#ifndef FFDB_ENGINE_DB_H
#define FFDB_ENGINE_DB_H

#include <pthread.h>
#include <stdint.h>

#include "btree/btree.h"
#include "ffdb.h"

struct pager;
struct pool;
struct freelist;

/* The decoded meta page (format.h). */
struct meta {
    uint64_t txid;
    uint64_t page_count;
    uint64_t freelist_root;
    uint64_t freelist_pages;
    uint64_t bucket_count;
    uint32_t page_size;
    struct bt_tree catalog;
};

#define READER_FREE UINT64_MAX

struct ffdb {
    unsigned flags;
    unsigned page_size;
    unsigned caps;
    struct pager *pager;
    struct pool *pool;
    struct freelist *fl;            /* touched by the writer only */
    pthread_mutex_t write_lock;     /* held for the life of the write txn */
    pthread_mutex_t meta_lock;      /* guards meta, readers, committed stats */
    struct meta meta;               /* last committed */
    uint64_t *readers;              /* snapshot txid per slot, READER_FREE if unused */
    unsigned reader_cap;
    unsigned reader_count;
    uint64_t stat_free, stat_pending, stat_freelist_pages;  /* as of the last commit */
    int failed;                     /* E3: FFDB_EFAILED once a sync failed */
};

struct ffdb_bucket {
    struct ffdb_bucket *next;
    ffdb_txn *txn;
    uint8_t *name;
    size_t name_len;
    struct bt_tree tree;
    int dirty;      /* the tree record changed: write it to the catalog at commit */
    int dropped;
    int busy;       /* a bulk load is open on it */
};

struct ffdb_cursor {
    struct ffdb_cursor *prev, *next;
    ffdb_txn *txn;
    struct ffdb_bucket *bucket;
    struct bt_cursor c;
};

struct ffdb_bulk {
    struct ffdb_bulk *prev, *next;
    ffdb_txn *txn;
    struct ffdb_bucket *bucket;
    struct bt_bulk *b;
};

struct ffdb_txn {
    ffdb *db;
    int write;
    unsigned reader_slot;
    struct meta meta;              /* snapshot (read) or working copy (write) */
    struct bt_txn bt;
    struct ffdb_bucket *buckets;
    struct ffdb_cursor *cursors;
    struct ffdb_bulk *bulks;
};

/* meta.c */
void meta_encode(const struct meta *m, uint8_t *page);
/* Decode and validate page as the meta of slot; 0 if valid, else why not:
 * FFDB_ENOTDB (no magic), FFDB_EVERSION, FFDB_CORRUPT (bad checksum/fields). */
int  meta_decode(const uint8_t *page, unsigned page_size, uint64_t slot, struct meta *m);
/* Read both meta slots and pick the newest valid one. */
int  meta_pick(struct pager *pg, uint64_t file_bytes, struct meta *m);
/* Write m into slot m->txid % 2 (unsynced), through page (page_size bytes,
 * aligned; allocated by the caller so that no allocation can fail once a
 * commit has synced its pages). */
int  meta_write(struct pager *pg, const struct meta *m, uint8_t *page);

/* db.c: refresh the committed free-page figures (caller holds meta_lock
 * or is the only thread). */
void db_count_free(ffdb *db);

/* txn.c */
void txn_free_handles(ffdb_txn *txn);

/* bucket.c */
int  bucket_flush_all(ffdb_txn *txn);

#endif /* FFDB_ENGINE_DB_H */
