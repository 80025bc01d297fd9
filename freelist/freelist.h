/*
 * freelist.h — which pages are free, and since when.
 *
 * Owns the free page ranges of a file and the high-water mark page_count.
 * A page freed by transaction T is "pending" until no live reader's snapshot
 * is older than T and meta T is durable; then it is "reusable". Pages
 * allocated and freed within the same write transaction are reusable at
 * once. The freelist is stored in a chain of PAGE_FREELIST pages (format.h)
 * rewritten by every commit; it reads and writes those pages through the
 * pager and never touches the buffer pool or a tree.
 *
 * Invariants:
 *  F1. Ranges never overlap one another, the metas, or [page_count, inf).
 *  F2. A pending range freed by T is never handed out while a reader with a
 *      snapshot txid < T lives, nor before meta T is durable (a power loss
 *      could bring back meta T - 1, which reaches it): the caller passes
 *      oldest = min(oldest live snapshot, newest durable txid), and only
 *      ranges freed by a txn <= oldest are released.
 *  F3. Every page in [2, page_count) is reachable from the committed meta,
 *      or in the freelist, or (during a write txn) allocated by that txn.
 *  F4. fl_txn_abort() restores exactly the state of fl_txn_begin().
 *  F5. A pending group's pages are released no earlier than F2 allows:
 *      fl_merge_pending() moves a group into the next newer one only when
 *      no barrier (a txid oldest may still take) separates them, so their
 *      release moment is the same; merging never relabels pages older.
 *
 * Lifecycle for a write transaction W:
 *   fl_txn_begin(W, oldest) -> fl_alloc()/fl_free()* -> fl_txn_prepare()
 *   -> [caller writes pages + meta] -> fl_txn_commit()   or   fl_txn_abort()
 */
#ifndef FFDB_FREELIST_H
#define FFDB_FREELIST_H

#include <stddef.h>
#include <stdint.h>

struct pager;
struct freelist;

/* A fresh, empty freelist for a new file: page_count = 2 (the metas). */
int  fl_create(struct freelist **out);
/* Load the chain starting at root (npages pages) written by the meta of
 * txid meta_txid, for a file of page_count pages. Every page is verified
 * (kind, txid <= meta_txid, bounds) and every range is checked against F1:
 * a violation is FFDB_CORRUPT naming the page. root 0 = empty freelist. */
int  fl_load(struct pager *pg, uint64_t root, uint64_t npages, uint64_t page_count,
             uint64_t meta_txid, struct freelist **out);
void fl_destroy(struct freelist *fl);

uint64_t fl_page_count(const struct freelist *fl);
/* Where the committed freelist lives (after load or commit). */
uint64_t fl_root(const struct freelist *fl);
uint64_t fl_root_pages(const struct freelist *fl);

/* Begin write txn txid. oldest is the smallest of the snapshot txids of the
 * live readers and the txid of the newest durable commit (the last commit,
 * unless its meta is not synced yet): pending pages freed by a txn <= oldest
 * become reusable (F2). Saves the state for abort (a deep copy: O(free
 * ranges)). FFDB_ENOMEM leaves the state unchanged. txid must exceed every
 * pending txid and oldest (else FFDB_EINVAL, an assert in debug). */
int  fl_txn_begin(struct freelist *fl, uint64_t txid, uint64_t oldest);
/* In a txn, before its first fl_free: merge pending groups that no one can
 * tell apart (F5). barriers[0..n) are every txid oldest may still take
 * below the last committed txn: the live readers' snapshots and the
 * durable txid (any order, duplicates allowed). Two neighbouring groups a <
 * b with no barrier in [a, b) are released by the same fl_txn_begin, so a's
 * pages join b's group. Bounds the groups by n + 1 under a long-lived
 * reader; only delays nothing. 0 or FFDB_ENOMEM (nothing merged then). */
int  fl_merge_pending(struct freelist *fl, const uint64_t *barriers, size_t n);
/* Allocate count consecutive pages: first fit (lowest pgno) among reusable
 * ranges, else at the end of the file (page_count grows). *reused is set to
 * 1 when the pages were free pages (cached copies may be stale); reused may
 * be NULL. FFDB_ENOMEM, or FFDB_ENOSPC past 2^48 pages; the state is then
 * unchanged. */
int  fl_alloc(struct freelist *fl, size_t count, uint64_t *pgno, int *reused);
/* Free count pages at pgno. Pages allocated by this txn become reusable at
 * once; others become pending, tagged with this txn's id (a run may mix
 * both). A page already free, a meta page, a page >= page_count or one of
 * the committed chain is FFDB_EINVAL (an assert in debug builds) and changes
 * nothing; so does FFDB_ENOMEM. */
int  fl_free(struct freelist *fl, uint64_t pgno, size_t count);
/* 1 if pgno was allocated by the current write transaction. */
int  fl_is_txn_page(const struct freelist *fl, uint64_t pgno);
/* Visit the ranges allocated by the current write txn (for flushing), in
 * pgno order; stops at and returns fn's first non-zero value. After
 * fl_txn_prepare() they include the new chain pages, already written. */
int  fl_txn_foreach(const struct freelist *fl, int (*fn)(void *arg, uint64_t pgno, uint64_t count),
                    void *arg);
/* Visit the committed pages the current txn freed (its pending group:
 * pages an earlier commit wrote), in pgno order; stops at and returns fn's
 * first non-zero value. */
int  fl_txn_freed_foreach(const struct freelist *fl,
                          int (*fn)(void *arg, uint64_t pgno, uint64_t count), void *arg);
/* Persist: free the old chain, cut free pages off the end of the file,
 * allocate and write (through the pager, unsynced) the new chain. Outputs
 * the meta fields. After this, no more alloc/free in this txn. On failure
 * (FFDB_ENOMEM, the pager's errors) the state is as before the call: the
 * caller may retry or abort. */
int  fl_txn_prepare(struct freelist *fl, struct pager *pg, uint64_t *root, uint64_t *npages,
                    uint64_t *page_count);
/* The meta naming the prepared state is durable: make it the committed state. */
void fl_txn_commit(struct freelist *fl);
/* Throw away everything since fl_txn_begin. */
void fl_txn_abort(struct freelist *fl);

struct fl_counts {
    uint64_t reusable, pending, ranges, chain_pages;
    uint64_t groups; /* pending groups (F5 bounds them) */
};
void fl_counts(const struct freelist *fl, struct fl_counts *out);
/* Visit every free range; txid is 0 for reusable ranges, else the freeing txn.
 * Reusable ranges come first by pgno, then each pending txn's by pgno, txns
 * ascending. Stops at and returns fn's first non-zero value. */
int  fl_foreach(const struct freelist *fl,
                int (*fn)(void *arg, uint64_t pgno, uint64_t count, uint64_t txid), void *arg);

#endif /* FFDB_FREELIST_H */
