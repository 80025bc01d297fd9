/*
 * pager.h — the file, seen as an array of checksummed pages.
 *
 * The pager owns the ffdb_io backend and the file handle. It seals every page
 * it writes (computes the checksum over a page whose pgno/txid/kind the
 * caller has filled in) and verifies every page it reads (checksum, and that
 * the page names itself), so no layer above ever sees an unverified page.
 * It knows nothing of trees, freelists or transactions. It may be called
 * from several threads for reads and single-page writes (eviction spills);
 * batch writes, grow and truncate come from the writer only; sync from the
 * writer or from ffdb_sync() on any thread, one at a time (pager.c, G4).
 *
 * Failure rule: once a sync has failed, the pager is "failed": every later
 * write, sync, grow and truncate returns FFDB_EFAILED, because the kernel
 * may have dropped the dirty data and a retried fsync would lie.
 */
#ifndef FFDB_PAGER_H
#define FFDB_PAGER_H

#include <stddef.h>
#include <stdint.h>

#include "ffdb.h"

struct pager;

/* One page to write: data is page_size bytes, aligned for direct I/O. */
struct pager_page {
    uint64_t pgno;
    void *data;
};

/* Open path through io (NULL = ffdb_io_posix()). flags are FFDB_* open flags.
 * The page size is unknown until the caller has read a meta page: it starts
 * at PAGE_SIZE_MIN and is set with pager_set_page_size(). */
int  pager_open(const char *path, const ffdb_io *io, unsigned flags, struct pager **out);
void pager_close(struct pager *pg);

void     pager_set_page_size(struct pager *pg, unsigned page_size);
unsigned pager_page_size(const struct pager *pg);
unsigned pager_caps(const struct pager *pg);       /* FFDB_IO_DIRECT | FFDB_IO_URING */
int      pager_failed(const struct pager *pg);     /* 0, or the code of the failure */

/* Raw bytes (for probing the meta pages): len and offset multiples of 512,
 * buf aligned. Returns the number of bytes read (short at the end of the
 * file: the count stops at the file size as the backend reports it, and the
 * rest of buf is zeroed), or a negative code. No checksum is verified. */
long pager_read_raw(struct pager *pg, void *buf, size_t len, uint64_t offset);

/* Read page pgno into buf (page_size bytes, aligned) and verify it: a short
 * read (past the end of the file), a checksum mismatch or a header naming
 * another page number return FFDB_CORRUPT recorded with pgno. */
int  pager_read_page(struct pager *pg, uint64_t pgno, void *buf);
/* Read count consecutive pages starting at pgno into buf and verify each. */
int  pager_read_run(struct pager *pg, uint64_t pgno, size_t count, void *buf);

/* Read count (<= PAGER_READV_MAX) consecutive pages starting at pgno, page
 * i into bufs[i] (page_size bytes each, aligned, anywhere in memory), in
 * one backend call (read_v) where the backend has it, and verify each as
 * pager_read_page() does; the first bad page is the error. */
#define PAGER_READV_MAX 64u
int  pager_read_pages(struct pager *pg, uint64_t pgno, size_t count, void *const *bufs);

/* Seal (checksum) and write pages, in any order; adjacent page numbers are
 * coalesced into one vectored write and the whole batch goes to the backend
 * in one call (io_uring when available). Grows the file as needed.
 * Sealing writes the checksum field of each page's data; the pages array
 * itself is not reordered. A page number given twice is FFDB_EINVAL.
 * Errors: FFDB_EIO, FFDB_ENOSPC (the pager stays usable), FFDB_ENOMEM,
 * FFDB_EREADONLY, FFDB_EFAILED. */
int  pager_write_pages(struct pager *pg, struct pager_page *pages, size_t count);
/* Like pager_write_pages(), and last (not among pages) goes in the same
 * backend call as the final run: a backend that applies runs in order
 * (pwritev, io_mem) writes it after every other page of the batch. For the
 * one-flush commit's meta, written after its commit list; nothing may
 * depend on that order for correctness once the sync follows, but a crash
 * harness tearing the meta then finds the list written. */
int  pager_write_pages_then(struct pager *pg, struct pager_page *pages, size_t count,
                            struct pager_page *last);
/* Seal and write count consecutive pages held back to back in buf. */
int  pager_write_run(struct pager *pg, uint64_t pgno, size_t count, void *buf);

/* Asynchronous batch writes, for a caller that can keep its pages alive
 * (the bulk loader). Writer thread only.
 *
 * pager_write_pages_async() seals the pages and hands the batch to the
 * backend's write_submit (ffdb.h), then returns without waiting. On success
 * *ticket names the submission; until pager_write_wait() has returned for
 * it, every page's data must stay allocated and unchanged (the pages array
 * itself may be reused at once). A ticket of 0 means the write is already
 * complete: the backend has no asynchronous writes (the batch was written
 * synchronously, as pager_write_pages() does), or it chose to write this
 * one synchronously, or PAGER_ASYNC_MAX submissions are already in flight.
 * Errors returned here (FFDB_EINVAL, FFDB_ENOMEM, FFDB_EREADONLY,
 * FFDB_EFAILED, and FFDB_EIO/FFDB_ENOSPC from a synchronous write or a
 * refused submission) leave nothing in flight and issue no ticket.
 *
 * pager_write_wait() waits for the submission (tickets may be waited in any
 * order) and returns its result with the same bookkeeping as
 * pager_write_pages(): FFDB_EIO or FFDB_ENOSPC (the pager stays usable; the
 * file size is re-read), or 0 (the pages are counted and the file size
 * noted). Every non-zero ticket must be waited exactly once, or drained.
 *
 * pager_write_drain() waits for every submission still in flight and forgets
 * their tickets; it returns the first error among them, or 0. The engine
 * drains before every sync of a commit and when a txn ends: a commit's sync
 * must cover every page its meta will reference (G5). pager_sync() itself
 * does not drain: ffdb_sync() may sync from another thread while the writer
 * has a batch of an uncommitted txn in flight. pager_close() drains. */
#define PAGER_ASYNC_MAX 8u
int      pager_write_pages_async(struct pager *pg, struct pager_page *pages, size_t count,
                                 uint64_t *ticket);
int      pager_write_wait(struct pager *pg, uint64_t ticket);
int      pager_write_drain(struct pager *pg);
unsigned pager_writes_in_flight(const struct pager *pg);

/* Make all completed writes durable: fdatasync, or fsync if the file size
 * changed since the last sync (or full != 0). No-op with FFDB_NOSYNC or
 * FFDB_RDONLY. Any thread; concurrent calls run one after the other. On
 * failure the backend's code (FFDB_EIO, ...) is returned once and the pager
 * is failed from then on (pager_failed() returns that code; writes, syncs,
 * reserve and truncate return FFDB_EFAILED). */
int  pager_sync(struct pager *pg, int full);

/* Size of the file in whole pages. */
int  pager_file_pages(struct pager *pg, uint64_t *pages);
/* The file size in whole pages as the pager tracks it (G1: the size at
 * open, raised by every write past the end); no I/O, any thread. */
uint64_t pager_known_pages(const struct pager *pg);
/* Make the file at least pages long. Grows in chunks (an eighth of the file,
 * at least 256 KiB, at most 64 MiB, added to the current size; more if pages
 * needs more) so most commits do not change its size. */
int  pager_reserve(struct pager *pg, uint64_t pages);
/* Shrink the file to pages (used after the tail of the file became free). */
int  pager_truncate(struct pager *pg, uint64_t pages);

/* Seal log, for the engine's one-flush commit (engine/clist.c): while it
 * is on, every page the pager seals for a write (any thread, any write
 * call) is noted with its checksum, so the commit can list what it wrote
 * without reading it back. pager_log_begin() clears it and turns it on,
 * for at most max pages; past that the log is "overflowed" and stops
 * noting (also when memory for more runs out). pager_log_end() turns it
 * off; its memory stays for the next txn and is freed at close. pager_log_find()
 * gives the checksum of the last seal of pgno: 0, FFDB_NOTFOUND, or
 * FFDB_ETOOMANY when the log overflowed (or is off). The first find after
 * a write sorts the log (O(n log n)); finds are the writer's, with no write
 * running. */
void pager_log_begin(struct pager *pg, size_t max);
void pager_log_end(struct pager *pg);
int  pager_log_find(struct pager *pg, uint64_t pgno, uint64_t *checksum);

/* I/O counters, for stats and tests. */
struct pager_counters {
    uint64_t page_reads, page_writes, write_batches, syncs, full_syncs;
};
void pager_counters(const struct pager *pg, struct pager_counters *out);

/* Testing only (pager/io_posix.c): while on != 0, ffdb_io_posix() behaves as
 * if the filesystem refused O_DIRECT at open, to exercise the buffered
 * fallback on filesystems that accept it. Process-wide. */
void pager_posix_refuse_direct(int on);

#endif /* FFDB_PAGER_H */
