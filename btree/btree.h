/*
 * btree.h — copy-on-write B+trees over pool pages.
 *
 * A tree is named by a tree record (root page and counters, format.h). The
 * engine keeps one for the catalog and one per bucket; this layer reads and
 * changes trees on behalf of a transaction described by struct bt_txn, and
 * knows nothing of metas, buckets, commit or files. It calls the freelist
 * to allocate and free pages, and the buffer pool for every page it reads
 * or writes: branch and leaf pages live in frames; overflow runs and the
 * bulk loader's pages, which never enter a frame, go through the pool's run
 * and asynchronous writes and run reads (short runs are also cached there as
 * raw pages). The pool is its one road to the disk (P6 in pool.h).
 *
 * Invariants (the numbers are referred to in the code):
 *  T1. A page whose txid is not the writing txn's is never modified: it is
 *      copied to a new page first ("touched") and the old one freed.
 *  T2. Every page reached from a parent has txid <= the parent's txid, and a
 *      root has txid <= the snapshot's txid.
 *  T3. Keys within a page are strictly increasing; every key k under branch
 *      cell i satisfies key_i <= k < key_(i+1).
 *  T4. All leaves are at depth tree->depth; a non-root branch has >= 1 cell,
 *      a root branch >= 2.
 *  T5. A cell is at most bt_max_cell(page_size) bytes (slot included), so
 *      any split of an overfull page yields two pages that fit.
 *  T6. Counters in the tree record match the pages and entries reachable.
 */
#ifndef FFDB_BTREE_H
#define FFDB_BTREE_H

#include <stddef.h>
#include <stdint.h>

#include "common/format.h"
#include "ffdb.h"

struct pool;
struct pool_frame;
struct freelist;

/* In-memory tree record. version is not stored: it changes whenever the
 * tree changes, so cursors know when to re-find their position. */
struct bt_tree {
    uint64_t root;
    uint64_t entries;
    uint64_t branch_pages;
    uint64_t leaf_pages;
    uint64_t overflow_pages;
    uint32_t depth;
    uint64_t version;
};

void bt_tree_decode(struct bt_tree *t, const uint8_t rec[TREC_SIZE]);
void bt_tree_encode(const struct bt_tree *t, uint8_t rec[TREC_SIZE]);

/* A growable byte buffer owned by a txn or cursor (results live here). */
struct bt_buf {
    uint8_t *data;
    size_t size;
    size_t cap;
};
int  bt_buf_reserve(struct bt_buf *b, size_t cap);
int  bt_buf_set(struct bt_buf *b, const void *data, size_t size);
void bt_buf_free(struct bt_buf *b);

/* What the tree code needs from a transaction. */
struct bt_txn {
    struct pool *pool;
    struct freelist *fl;      /* NULL for a read transaction */
    uint64_t txid;            /* snapshot txid (read) or the new txid (write) */
    uint64_t page_count;      /* snapshot page count (read txns) */
    unsigned page_size;
    int failed;               /* a write failed halfway; only abort remains */
    struct bt_buf val;        /* bt_get results */
    struct pool_frame *held;  /* read txns: leaf pinned for the last bt_get */
    uint8_t *scratch;         /* 3 aligned pages for rebuilding nodes */
    uint8_t *run_buf;         /* aligned I/O buffer for overflow runs, grown on demand */
    uint64_t run_buf_pages;
};

/* The page size is the pool's. fl is NULL for a read txn, whose init
 * allocates nothing and cannot fail. */
int  bt_txn_init(struct bt_txn *t, struct pool *pool, struct freelist *fl, uint64_t txid,
                 uint64_t page_count);
/* Drop the buffers and any held pin. */
void bt_txn_release(struct bt_txn *t);

/* Largest cell (slot included) a page may hold, and the largest value kept
 * inline in a leaf for a key of klen bytes. */
size_t bt_max_cell(unsigned page_size);
size_t bt_max_inline(unsigned page_size, size_t klen);

/* Verify hook for the pool: structural bounds of a branch or leaf page. */
int  bt_page_verify(void *ctx, const uint8_t *page, uint64_t pgno);

/* ---- point operations --------------------------------------------------- */
#define BT_PUT       0
#define BT_INSERT    1   /* FFDB_EXISTS if the key is present */
#define BT_UPDATE    2   /* FFDB_NOTFOUND if the key is absent */

/* Find key; the value is copied into t->val (or, for small values, may be
 * returned as a pointer into t->val) and stays valid until the next call. */
int  bt_get(struct bt_txn *t, const struct bt_tree *tree, const void *key, size_t klen,
            ffdb_val *val);
int  bt_put(struct bt_txn *t, struct bt_tree *tree, const void *key, size_t klen, const void *val,
            size_t vlen, int mode);
/* FFDB_NOTFOUND if the key is absent (nothing changes). */
int  bt_delete(struct bt_txn *t, struct bt_tree *tree, const void *key, size_t klen);
/* Free every page of the tree and make it empty. */
int  bt_drop(struct bt_txn *t, struct bt_tree *tree);

/* ---- cursors -------------------------------------------------------------- */
struct bt_cursor {
    struct bt_txn *txn;
    struct bt_tree *tree;
    uint64_t version;                 /* tree->version the path belongs to */
    int state;                        /* CUR_UNSET, CUR_ON, CUR_END */
    unsigned depth;                   /* levels in the path */
    uint64_t pgno[MAX_TREE_DEPTH];
    uint64_t bound[MAX_TREE_DEPTH];   /* largest txid page pgno[i] may carry (T2) */
    unsigned idx[MAX_TREE_DEPTH];
    struct pool_frame *leaf;          /* read txns: the current leaf stays pinned */
    struct bt_buf key;
    struct bt_buf val;
    struct bt_buf edge;               /* key last seen before stepping to another leaf */
    uint64_t ra_parent;               /* read-ahead: the leaves' parent it last covered, or 0 */
    unsigned ra_mark;                 /* and the child index that starts the next window */
};

void bt_cursor_init(struct bt_cursor *c, struct bt_txn *t, struct bt_tree *tree);
void bt_cursor_release(struct bt_cursor *c);
int  bt_cursor_first(struct bt_cursor *c, ffdb_val *key, ffdb_val *val);
int  bt_cursor_last(struct bt_cursor *c, ffdb_val *key, ffdb_val *val);
int  bt_cursor_seek(struct bt_cursor *c, const void *k, size_t klen, ffdb_val *key, ffdb_val *val);
int  bt_cursor_next(struct bt_cursor *c, ffdb_val *key, ffdb_val *val);
int  bt_cursor_prev(struct bt_cursor *c, ffdb_val *key, ffdb_val *val);

/* ---- bulk loading ----------------------------------------------------------- */
struct bt_bulk;
int  bt_bulk_begin(struct bt_txn *t, struct bt_tree *tree, double fill_factor, struct bt_bulk **out);
int  bt_bulk_append(struct bt_bulk *b, const void *key, size_t klen, const void *val, size_t vlen);
int  bt_bulk_finish(struct bt_bulk *b);   /* frees b */
void bt_bulk_abort(struct bt_bulk *b);    /* frees b; the tree stays empty */

/* ---- walks -------------------------------------------------------------------- */
struct bt_stat {
    uint64_t key_bytes, value_bytes, used_bytes, capacity_bytes;
};
int  bt_stat(struct bt_txn *t, const struct bt_tree *tree, struct bt_stat *st);

/* Full verification of one tree (ffdb_check): order, bounds, separators,
 * depth, counters, overflow runs. visit is called for every page the tree
 * owns (count > 1 for an overflow run); report for every problem found.
 * Returns 0, FFDB_CORRUPT if problems were reported, or an error that
 * stopped the walk. */
struct bt_check_ops {
    void *arg;
    void (*visit)(void *arg, uint64_t pgno, uint64_t count);
    void (*report)(void *arg, uint64_t pgno, const char *problem);
    /* An error other than FFDB_CORRUPT while an overflow run is read: 0 =
     * report it as a problem and go on (ffdb_check); 1 = stop and return
     * it, as a tree page's always does (the debug check, which must not
     * take an I/O error for damage). */
    int stop_on_error;
};
int  bt_check(struct bt_txn *t, const struct bt_tree *tree, const struct bt_check_ops *ops);

#endif /* FFDB_BTREE_H */
