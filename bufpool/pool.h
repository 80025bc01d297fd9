/*
 * pool.h — the buffer pool: a set of page frames shared by all
 * transactions of one handle.
 *
 * Owns the frames, the pgno -> frame table, pin counts, dirty bits and the
 * clock hand, and sizes itself when asked to grow (pool_open). Callers pin a page with pool_get()/pool_new(), use frame->data,
 * and unpin with pool_unpin(); a pinned frame is never evicted or reused.
 * Readers on many threads call pool_get() concurrently: the lookup takes only
 * a striped lock (no global lock). Dirty frames belong to the one write
 * transaction; when a dirty frame must be evicted it is "spilled": written
 * to its page on disk (a page no committed meta reaches yet) and read back
 * on demand. The pool calls only the pager.
 *
 * Raw pages: a caller that reads pages the verify hook does not accept
 * (overflow runs) may still cache them. It reads them with pool_read_run(),
 * checks them itself, then offers each with pool_install_raw();
 * pool_lookup_raw() pins such a frame later. Raw frames are clean, best
 * effort (installing never writes, never waits and never pushes out a
 * pinned, dirty or recently used frame; with no such frame the page is just
 * not cached) and the clock evicts them like any other.
 *
 * Pages outside the frames: the writer also writes pages that never enter a
 * frame (overflow runs, the bulk loader's closed pages), with
 * pool_write_run() and the asynchronous pool_write_async() /
 * pool_write_wait(), and reads long runs with pool_read_run(). These are
 * the btree's only road to the disk besides the frames, so the pool keeps
 * the rule that makes them safe itself (P6).
 *
 * Invariants:
 *  P1. A frame with pins > 0 keeps its pgno and its data.
 *  P2. A pgno maps to at most one frame, raw or not.
 *  P3. A dirty frame is written (spill or flush) before its frame is reused;
 *      pool_discard() is the only way to drop a dirty frame unwritten.
 *      Raw frames are never dirty.
 *  P4. Frames pool_get() loads from disk passed the pager's checks and the
 *      verify hook.
 *  P5. pool_get() never returns a raw frame (it drops it and reads the page
 *      again, through the hook) and pool_lookup_raw() never returns anything
 *      else, so a page is only ever served as what it was checked to be.
 *      pool_new() on a page cached raw takes the frame over as a new page.
 *  P6. A page written around the frames (pool_write_run, pool_write_async)
 *      has no cached copy, raw or hooked, clean or dirty, once the call
 *      returns: the pool drops every copy before the write is issued, so
 *      neither a stale frame served later nor a stale dirty frame flushed
 *      later can shadow what was written. (Pages being written belong to
 *      the write txn and no snapshot reaches them, so no reader brings a
 *      copy back meanwhile; a pinned copy, which only a damaged file can
 *      cause, stays: P1 wins.)
 */
#ifndef FFDB_BUFPOOL_POOL_H
#define FFDB_BUFPOOL_POOL_H

#include <stddef.h>
#include <stdint.h>

struct pager;
struct pool;

/* A pinned page. data is page_size bytes, aligned; writable only by the
 * write transaction and only for pages it created (dirty). */
struct pool_frame {
    uint8_t *data;
    uint64_t pgno;
    /* the rest is private to bufpool/pool.c */
};

/* Called once on every page read from disk, after the pager verified the
 * checksum and pgno: return 0 if the page is well formed, or FFDB_CORRUPT. */
typedef int (*pool_verify_fn)(void *ctx, const uint8_t *page, uint64_t pgno);

/* frame_count frames, fixed when grow is 0. With grow set the pool starts
 * with frame_count frames and grows on demand, one frame per miss instead
 * of an eviction, up to a limit that follows the file (its size plus a
 * quarter) and never passes the cap: a quarter of the memory the process
 * may use (physical memory, or its cgroup's limit). Every 1024 misses the
 * limit is looked at again: when available memory is under 1/16 of the
 * total it drops by a quarter of the frames in use and the clock empties
 * the frames above it, handing their memory back (shrink); under 1/8 it
 * stays; otherwise it follows the file again. It never drops below
 * frame_count. The cap is only reserved address space: memory is used per
 * frame in use. */
int  pool_open(struct pager *pager, size_t frame_count, int grow, pool_verify_fn verify,
               void *verify_ctx, struct pool **out);
/* All frames must be unpinned. Dirty frames are dropped (never written). */
void pool_close(struct pool *pool);

/* Pin page pgno, reading it if not cached. FFDB_EPOOLFULL if every frame is
 * pinned; read and verify errors are returned as they are. */
int  pool_get(struct pool *pool, uint64_t pgno, struct pool_frame **out);
/* Pin a frame for page pgno that is being created: no read; the data is
 * zeroed and the frame is dirty. A cached copy of pgno (raw or not) is
 * replaced.
 * FFDB_CORRUPT if another thread has pgno pinned (only a damaged file can
 * hand out a page that a reader still reaches). */
int  pool_new(struct pool *pool, uint64_t pgno, struct pool_frame **out);
/* pool_new() without zeroing the data: the caller writes all of it at once
 * (a copy-on-write of a whole page). */
int  pool_new_raw(struct pool *pool, uint64_t pgno, struct pool_frame **out);
void pool_unpin(struct pool *pool, struct pool_frame *frame);
/* Mark a pinned frame dirty (after the writer changed it). */
void pool_mark_dirty(struct pool *pool, struct pool_frame *frame);

/* Forget any cached copy of pgno, dirty or not, without writing it. The page
 * must not be pinned. Used when a page is freed by the txn that created it,
 * and when a free page is allocated again. */
void pool_discard(struct pool *pool, uint64_t pgno);
/* Write every cached dirty page in [pgno, pgno + count) in batches and mark
 * them clean. */
int  pool_flush_range(struct pool *pool, uint64_t pgno, uint64_t count);
/* Drop every dirty frame unwritten (abort of the write transaction). */
void pool_discard_dirty(struct pool *pool);

/* Raw pages (see above). pool_lookup_raw: 1 and *out pinned if pgno is
 * cached as a raw page, else 0 (not cached, cached as a hooked page, or
 * busy); never blocks on I/O. Any thread. Unpin with pool_unpin(). */
int  pool_lookup_raw(struct pool *pool, uint64_t pgno, struct pool_frame **out);
/* Cache a copy of page (page_size bytes) as raw page pgno, clean. The caller
 * read it through the pager (checksum and pgno verified) and checked it as
 * whatever it holds; it is never re-verified. Best effort: does nothing if
 * no clean, unpinned, unreferenced frame turns up quickly, or if pgno is
 * cached already. Counts one miss. Any thread. */
void pool_install_raw(struct pool *pool, uint64_t pgno, const void *page);
/* Frames in the pool: fixed at open, or a growing pool's limit now (what
 * it holds once full); and the page size (the pager's at open). */
size_t   pool_frame_count(const struct pool *pool);
unsigned pool_page_size(const struct pool *pool);

/* Read-ahead: load the pages a reader will want next, in as few reads as
 * possible. pgnos lists them in the order they will be wanted; every run
 * of consecutive page numbers in it (ascending or descending) that is not
 * cached is read with one read and installed as pool_get() would have (P4: checked by the pager
 * and the verify hook). At most frame_count/8 and POOL_PREFETCH_MAX pages
 * are looked at, so a scan never pushes more than that out of the pool.
 * Best effort: never writes, never evicts a pinned, dirty or recently used
 * frame, and ignores errors (pool_get() meets them again and reports
 * them). The caller must reach every listed page through its snapshot, so
 * that what is on disk is what it will read. Any thread. Returns how many
 * entries of pgnos it looked at (the first ones; the rest were ignored). */
#define POOL_PREFETCH_MAX 64u
size_t pool_prefetch(struct pool *pool, const uint64_t *pgnos, size_t count);

/* ---- pages outside the frames (see above) ------------------------------------ */

/* One page to write: page_size bytes at data, aligned for direct I/O. */
struct pool_page {
    uint64_t pgno;
    void *data;
};

/* Read count consecutive pages starting at pgno into buf (count pages,
 * aligned), verified as the pager verifies every page (checksum, pgno): a
 * bad page is FFDB_CORRUPT naming it. The verify hook is not run and no
 * frame is used; the caller checks what the pages hold. Any thread. */
int pool_read_run(struct pool *pool, uint64_t pgno, size_t count, void *buf);
/* Seal and write count consecutive pages held back to back in buf, after
 * dropping every cached copy of them (P6). Writer only. Errors as the
 * pager's writes: FFDB_EIO, FFDB_ENOSPC, FFDB_ENOMEM, FFDB_EREADONLY,
 * FFDB_EFAILED. */
int pool_write_run(struct pool *pool, uint64_t pgno, size_t count, void *buf);

/* Asynchronous writes of pages the caller keeps alive (the bulk loader's
 * batches). Writer only. pool_write_async() drops every cached copy of the
 * pages (P6), seals them and submits the batch without waiting; *ticket
 * names it (0: already complete, the backend wrote it synchronously).
 * Until pool_write_wait() returned for a non-zero ticket, every page's
 * data must stay allocated and unchanged (the pages array may be reused at
 * once); every non-zero ticket is waited exactly once, or drained by the
 * engine before its sync. A page number given twice is FFDB_EINVAL. Up to
 * POOL_ASYNC_MAX batches may be in flight with their own tickets; more are
 * written synchronously. Errors as pool_write_run(), from the submission
 * or from the wait. */
#define POOL_ASYNC_MAX 8u
int pool_write_async(struct pool *pool, const struct pool_page *pages, size_t count,
                     uint64_t *ticket);
int pool_write_wait(struct pool *pool, uint64_t ticket);

struct pool_counters {
    uint64_t frames, hits, misses, evictions, spills, pinned, dirty;
};
void pool_counters(struct pool *pool, struct pool_counters *out);

#endif /* FFDB_BUFPOOL_POOL_H */
