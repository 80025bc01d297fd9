/*
 * pager.c — the file as an array of checksummed pages (see pager.h).
 *
 * Owns the ffdb_io backend handle, the page size, the pager's idea of the
 * file size, the "next sync must be full" flag, the failed state and the I/O
 * counters. Called by the buffer pool, the freelist and the engine; it calls
 * only the ffdb_io table and common/. It must never hand a page upwards that
 * did not pass page_verify() and the pgno check, never write a page it did
 * not seal, and never let a write or sync through once a sync has failed.
 *
 * Invariants:
 *  G1. file_bytes is the file size: the size at open, raised by every write
 *      that ends beyond it and by pager_reserve(), set by pager_truncate().
 *      Only this process changes the file (the backend holds the lock).
 *  G2. need_full is set whenever the file size changed since the last
 *      successful sync; that sync is then a full one (fsync), so that the
 *      size, not only the data, is durable.
 *  G3. failed != 0 (the code of the failed sync) is permanent for this
 *      handle: writes, syncs, reserve and truncate return FFDB_EFAILED.
 *  G4. Syncs run one at a time (sync_lock), and a failure is recorded in
 *      failed before the lock is released. Two fdatasync calls racing on
 *      one descriptor could see a writeback error reported to only one of
 *      them; serialized, the later one finds the handle failed instead of
 *      returning 0 over data the kernel dropped.
 *  G5. A sync covers only the writes that completed before it began. The
 *      engine drains every asynchronous write before a commit's sync #1,
 *      since it writes the meta on the strength of every page it references
 *      being durable. ffdb_sync (another thread) may sync while the writer
 *      has batches in flight: they belong to a txn not yet committed, and
 *      no meta depends on them. An async batch counts in file_bytes and the
 *      counters only once it completed (at its wait).
 *  G6. An async slot owns the iovec and run arrays of its batch until the
 *      backend's write_wait returned for it; the page buffers belong to the
 *      caller, who keeps them until pager_write_wait() or a drain.
 *
 * "Past the end": a page is past the end when (pgno + 1) * page_size exceeds
 * file_bytes; reading it is FFDB_CORRUPT without any I/O. Backends zero-fill
 * reads beyond their end (ffdb.h), so a stale size can only produce a page
 * that fails its checksum, never garbage that passes.
 *
 * Thread-safety: reads, pager_write_pages() and pager_write_run() may run on
 * several threads; every shared field they touch is atomic. pager_sync() may
 * also run on another thread than the writer's (ffdb_sync), concurrently
 * with the writer's writes, growth and truncation: need_full and failed are
 * atomic, and syncs are serialized (G4). The rest is called by the writer
 * only, the async slots included.
 */
#include "pager/pager.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "common/alloc.h"
#include "common/bytes.h"
#include "common/checksum.h"
#include "common/error.h"
#include "common/format.h"

#define READ_CHUNK_BYTES  (1u << 20)          /* largest single read of a run */
#define WRITE_IOV_BYTES   (1u << 20)          /* largest iovec of pager_write_run */
#define GROW_MIN_BYTES    (256ull << 10)      /* pager_reserve chunk bounds */
#define GROW_MAX_BYTES    (64ull << 20)
#define IO_ALIGN          512u                /* offsets and lengths for direct I/O */

_Static_assert(READ_CHUNK_BYTES % PAGE_SIZE_MAX == 0, "a read chunk holds whole pages");
_Static_assert(WRITE_IOV_BYTES % PAGE_SIZE_MAX == 0, "an iovec holds whole pages");

/* One asynchronous batch in flight (G6). */
struct async_slot {
    uint64_t ticket;           /* the pager's; 0 = free */
    uint64_t io_ticket;        /* the backend's */
    void *arrays;              /* iovecs and runs of the batch */
    uint64_t end;              /* byte just past the last page */
    size_t pages;
};

/* One noted seal; seq orders two seals of one page. */
struct seal_note {
    uint64_t pgno, checksum, seq;
};

/* The seal log (pager.h). Guarded by lock: spills may seal on any thread. */
struct seal_log {
    pthread_mutex_t lock;
    atomic_int on;             /* read without the lock on every write */
    int overflow, sorted;
    struct seal_note *notes;   /* kept between txns; freed at close */
    size_t count, cap, max;
};

struct pager {
    const ffdb_io *io;
    ffdb_file *file;
    unsigned flags;            /* FFDB_* open flags */
    unsigned caps;             /* FFDB_IO_* as reported at open */
    unsigned page_size;
    atomic_int failed;         /* G3 */
    atomic_int need_full;      /* G2 */
    pthread_mutex_t sync_lock; /* G4 */
    _Atomic uint64_t file_bytes; /* G1 */
    _Atomic uint64_t page_reads, page_writes, write_batches, syncs, full_syncs;
    struct async_slot async[PAGER_ASYNC_MAX]; /* writer only */
    unsigned async_count;      /* slots in use */
    uint64_t async_next;       /* last ticket issued */
    struct seal_log log;
};

/* ---- helpers ------------------------------------------------------------------ */

/* Return rc from a backend call, keeping the backend's own message if it
 * raised one (the caller cleared the record before the call), else raising
 * a generic one naming the operation. */
static int io_error(int rc, uint64_t pgno, const char *what)
{
    ffdb_error_info info;
    ffdb_last_error(&info);
    if (info.code == rc)
        return rc;
    return ERR_RAISE(rc, pgno, "%s failed: %s", what, ffdb_strerror(rc));
}

/* Writes, reserve and truncate need a writable, healthy pager. */
static int writable(const struct pager *pg)
{
    int failed = atomic_load(&pg->failed);
    if (pg->flags & FFDB_RDONLY)
        return ERR_RAISE(FFDB_EREADONLY, PGNO_NONE, "the file is open read-only");
    if (failed)
        return ERR_RAISE(FFDB_EFAILED, PGNO_NONE,
                         "an earlier sync failed (%s): reopen the database",
                         ffdb_strerror(failed));
    return 0;
}

/* G1/G2: the file now reaches at least end bytes. */
static void note_extent(struct pager *pg, uint64_t end)
{
    uint64_t cur = atomic_load(&pg->file_bytes);
    while (end > cur) {
        if (atomic_compare_exchange_weak(&pg->file_bytes, &cur, end)) {
            atomic_store(&pg->need_full, 1);
            return;
        }
    }
}

/* After a failed write or growth the file may have grown anyway. Only ever
 * raises file_bytes: a concurrent write may have extended the file since the
 * backend measured it. */
static void refresh_extent(struct pager *pg)
{
    uint64_t bytes;
    if (pg->io->size(pg->file, &bytes) == 0)
        note_extent(pg, bytes);
}

/* Byte offset of pgno, or FFDB_CORRUPT if [pgno, pgno + count) is not
 * entirely inside the file (G1). */
static int page_span(struct pager *pg, uint64_t pgno, size_t count, uint64_t *offset)
{
    uint64_t ps = pg->page_size, bytes = atomic_load(&pg->file_bytes);
    uint64_t have = bytes / ps;

    if (pgno >= have || count > have - pgno) {
        uint64_t first = pgno >= have ? pgno : have;
        return ERR_CORRUPT(first, "page %llu is past the end of the file (%llu pages)",
                           (unsigned long long)first, (unsigned long long)have);
    }
    *offset = pgno * ps;
    return 0;
}

/* The two checks every page read from disk must pass. */
static int verify_page(const struct pager *pg, uint64_t pgno, const uint8_t *page)
{
    uint64_t named;
    if (!page_verify(page, pg->page_size))
        return ERR_CORRUPT(pgno, "page %llu: checksum mismatch", (unsigned long long)pgno);
    named = ld64(page + PH_PGNO);
    if (named != pgno)
        return ERR_CORRUPT(pgno, "page %llu: header names page %llu", (unsigned long long)pgno,
                           (unsigned long long)named);
    return 0;
}

/* ---- open, close, properties -------------------------------------------------- */

int pager_open(const char *path, const ffdb_io *io, unsigned flags, struct pager **out)
{
    struct pager *pg;
    uint64_t bytes = 0;
    int rc;

    *out = NULL;
    if (!path || !*path)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "empty path");
    pg = mem_calloc(1, sizeof(*pg));
    if (!pg)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "no memory for the pager");
    pg->io = io ? io : ffdb_io_posix();
    pg->flags = flags;
    pg->page_size = PAGE_SIZE_MIN;
    pthread_mutex_init(&pg->sync_lock, NULL);
    pthread_mutex_init(&pg->log.lock, NULL);
    err_clear();
    rc = pg->io->open(pg->io, path, flags, &pg->file, &pg->caps);
    if (rc < 0) {
        rc = io_error(rc, PGNO_NONE, "open");
        pthread_mutex_destroy(&pg->log.lock);
        pthread_mutex_destroy(&pg->sync_lock);
        mem_free(pg);
        return rc;
    }
    err_clear();
    rc = pg->io->size(pg->file, &bytes);
    if (rc < 0) {
        rc = io_error(rc, PGNO_NONE, "size");
        pager_close(pg);
        return rc;
    }
    atomic_init(&pg->file_bytes, bytes);
    *out = pg;
    return 0;
}

void pager_close(struct pager *pg)
{
    if (!pg)
        return;
    (void)pager_write_drain(pg); /* the backend must not write after close */
    if (pg->file)
        pg->io->close(pg->file);
    mem_free(pg->log.notes);
    pthread_mutex_destroy(&pg->log.lock);
    pthread_mutex_destroy(&pg->sync_lock);
    mem_free(pg);
}

void pager_set_page_size(struct pager *pg, unsigned page_size)
{
    assert(page_size >= PAGE_SIZE_MIN && page_size <= PAGE_SIZE_MAX);
    assert((page_size & (page_size - 1)) == 0);
    pg->page_size = page_size;
}

unsigned pager_page_size(const struct pager *pg)
{
    return pg->page_size;
}

unsigned pager_caps(const struct pager *pg)
{
    return pg->caps;
}

int pager_failed(const struct pager *pg)
{
    return atomic_load(&pg->failed);
}

void pager_counters(const struct pager *pg, struct pager_counters *out)
{
    struct pager *p = (struct pager *)pg; /* atomic loads of a const object */
    out->page_reads = atomic_load(&p->page_reads);
    out->page_writes = atomic_load(&p->page_writes);
    out->write_batches = atomic_load(&p->write_batches);
    out->syncs = atomic_load(&p->syncs);
    out->full_syncs = atomic_load(&p->full_syncs);
}

/* ---- reads ---------------------------------------------------------------------- */

long pager_read_raw(struct pager *pg, void *buf, size_t len, uint64_t offset)
{
    uint64_t bytes;
    int rc;

    assert(len % IO_ALIGN == 0 && offset % IO_ALIGN == 0 && len <= LONG_MAX);
    assert((uintptr_t)buf % IO_ALIGN == 0);
    err_clear();
    rc = pg->io->size(pg->file, &bytes);
    if (rc < 0)
        return io_error(rc, PGNO_NONE, "size");
    if (offset >= bytes) {
        memset(buf, 0, len);
        return 0;
    }
    rc = pg->io->read(pg->file, buf, len, offset);
    if (rc < 0)
        return io_error(rc, PGNO_NONE, "read");
    return (long)(bytes - offset < len ? bytes - offset : len);
}

int pager_read_page(struct pager *pg, uint64_t pgno, void *buf)
{
    uint64_t offset;
    int rc;

    assert((uintptr_t)buf % IO_ALIGN == 0);
    CHECK(page_span(pg, pgno, 1, &offset));
    err_clear();
    rc = pg->io->read(pg->file, buf, pg->page_size, offset);
    if (rc < 0)
        return io_error(rc, pgno, "read of a page");
    atomic_fetch_add_explicit(&pg->page_reads, 1, memory_order_relaxed);
    return verify_page(pg, pgno, buf);
}

int pager_read_run(struct pager *pg, uint64_t pgno, size_t count, void *buf)
{
    uint8_t *p = buf;
    size_t ps = pg->page_size, per_read = READ_CHUNK_BYTES / ps;
    uint64_t offset;

    assert((uintptr_t)buf % IO_ALIGN == 0 && count <= SIZE_MAX / ps);
    if (count == 0)
        return 0;
    CHECK(page_span(pg, pgno, count, &offset));
    for (size_t i = 0; i < count; i += per_read) {
        size_t n = count - i < per_read ? count - i : per_read;
        int rc;
        err_clear();
        rc = pg->io->read(pg->file, p + i * ps, n * ps, offset + i * ps);
        if (rc < 0)
            return io_error(rc, pgno + i, "read of a page run");
    }
    atomic_fetch_add_explicit(&pg->page_reads, count, memory_order_relaxed);
    for (size_t i = 0; i < count; i++)
        CHECK(verify_page(pg, pgno + i, p + i * ps));
    return 0;
}

int pager_read_pages(struct pager *pg, uint64_t pgno, size_t count, void *const *bufs)
{
    struct iovec iov[PAGER_READV_MAX];
    uint64_t offset;
    int rc = 0;

    assert(count <= PAGER_READV_MAX);
    if (count == 0)
        return 0;
    CHECK(page_span(pg, pgno, count, &offset));
    for (size_t i = 0; i < count; i++) {
        assert((uintptr_t)bufs[i] % IO_ALIGN == 0);
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = pg->page_size;
    }
    err_clear();
    if (pg->io->read_v) {
        rc = pg->io->read_v(pg->file, iov, (int)count, offset);
    } else {
        for (size_t i = 0; i < count && rc == 0; i++)
            rc = pg->io->read(pg->file, bufs[i], pg->page_size, offset + i * pg->page_size);
    }
    if (rc < 0)
        return io_error(rc, pgno, "read of a page run");
    atomic_fetch_add_explicit(&pg->page_reads, count, memory_order_relaxed);
    for (size_t i = 0; i < count; i++)
        CHECK(verify_page(pg, pgno + i, bufs[i]));
    return 0;
}

/* ---- writes ------------------------------------------------------------------- */

/* The bookkeeping after a batch went to the backend (synchronously, or
 * when its async wait returned): the error keeps the backend's message and
 * the file size is re-read (the file may have grown anyway); success notes
 * the extent and counts the pages and the batch. */
static int write_done(struct pager *pg, int rc, uint64_t end, size_t pages)
{
    if (rc < 0) {
        rc = io_error(rc, PGNO_NONE, "write");
        refresh_extent(pg);
        return rc;
    }
    note_extent(pg, end);
    atomic_fetch_add_explicit(&pg->page_writes, pages, memory_order_relaxed);
    atomic_fetch_add_explicit(&pg->write_batches, 1, memory_order_relaxed);
    return 0;
}

/* Hand a prepared batch to the backend; end is the byte just past the last
 * page written. */
static int write_batch(struct pager *pg, const ffdb_io_write *runs, size_t run_count,
                       uint64_t end, size_t pages)
{
    err_clear();
    return write_done(pg, pg->io->write(pg->file, runs, run_count), end, pages);
}

/* ---- the seal log ---------------------------------------------------------------- */

/* Note the seal of page (already sealed) as pgno. The notes grow by
 * doubling up to max; no memory for more is an overflow (the commit then
 * takes two flushes), never an error of the write. */
static void log_note(struct pager *pg, uint64_t pgno, const void *page)
{
    struct seal_log *l = &pg->log;
    if (!atomic_load_explicit(&l->on, memory_order_relaxed))
        return;
    pthread_mutex_lock(&l->lock);
    if (l->count == l->cap && !l->overflow) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        struct seal_note *n = cap <= l->max ? mem_realloc(l->notes, cap * sizeof(*n)) : NULL;
        if (n) {
            l->notes = n;
            l->cap = cap;
        } else {
            l->overflow = 1;
        }
    }
    if (!l->overflow) {
        l->notes[l->count] = (struct seal_note){pgno, ld64(page), l->count};
        l->count++;
        l->sorted = 0;
    }
    pthread_mutex_unlock(&l->lock);
}

void pager_log_begin(struct pager *pg, size_t max)
{
    struct seal_log *l = &pg->log;
    assert(max > 0);
    pthread_mutex_lock(&l->lock);
    l->max = max;
    l->count = 0;
    l->overflow = 0;
    l->sorted = 1;
    atomic_store(&l->on, 1);
    pthread_mutex_unlock(&l->lock);
}

void pager_log_end(struct pager *pg)
{
    struct seal_log *l = &pg->log;
    pthread_mutex_lock(&l->lock);
    atomic_store(&l->on, 0);
    l->count = 0;
    pthread_mutex_unlock(&l->lock);
}

static int cmp_note(const void *a, const void *b)
{
    const struct seal_note *x = a, *y = b;
    if (x->pgno != y->pgno)
        return x->pgno < y->pgno ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int pager_log_find(struct pager *pg, uint64_t pgno, uint64_t *checksum)
{
    struct seal_log *l = &pg->log;
    size_t lo = 0, hi;
    int rc = FFDB_NOTFOUND;

    pthread_mutex_lock(&l->lock);
    if (!atomic_load(&l->on) || l->overflow) {
        pthread_mutex_unlock(&l->lock);
        return FFDB_ETOOMANY;
    }
    if (!l->sorted) {
        qsort(l->notes, l->count, sizeof(*l->notes), cmp_note);
        l->sorted = 1;
    }
    /* The last note of pgno: the first index whose pgno is above it, minus one. */
    hi = l->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->notes[mid].pgno <= pgno)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && l->notes[lo - 1].pgno == pgno) {
        *checksum = l->notes[lo - 1].checksum;
        rc = 0;
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

static int cmp_pgno(const void *a, const void *b)
{
    uint64_t x = ((const struct pager_page *)a)->pgno, y = ((const struct pager_page *)b)->pgno;
    return x < y ? -1 : x > y;
}

/* Sorted copy of pages, sealing each one on the way; FFDB_EINVAL for a
 * repeated page number or one whose offset does not fit in 64 bits. */
static int sort_and_seal(struct pager *pg, const struct pager_page *pages, size_t count,
                         struct pager_page *sorted)
{
    int in_order = 1;
    for (size_t i = 0; i < count; i++) {
        assert((uintptr_t)pages[i].data % IO_ALIGN == 0);
        if (pages[i].pgno >= UINT64_MAX / pg->page_size)
            return ERR_RAISE(FFDB_EINVAL, pages[i].pgno, "page number %llu is too large",
                             (unsigned long long)pages[i].pgno);
        page_seal(pages[i].data, pg->page_size);
        log_note(pg, pages[i].pgno, pages[i].data);
        sorted[i] = pages[i];
        if (i > 0 && pages[i - 1].pgno >= pages[i].pgno)
            in_order = 0;
    }
    if (!in_order)
        qsort(sorted, count, sizeof(*sorted), cmp_pgno);
    for (size_t i = 1; i < count; i++)
        if (sorted[i - 1].pgno == sorted[i].pgno)
            return ERR_RAISE(FFDB_EINVAL, sorted[i].pgno, "page %llu given twice in one batch",
                             (unsigned long long)sorted[i].pgno);
    return 0;
}

/* Coalesce sorted pages into runs of adjacent page numbers, at most IOV_MAX
 * iovecs each; pages that are also adjacent in memory share one iovec (up
 * to WRITE_IOV_BYTES), so a batch built in one buffer goes out as a few
 * large segments instead of one per page. Returns the number of runs. */
static size_t build_runs(const struct pager *pg, const struct pager_page *sorted, size_t count,
                         struct iovec *iov, ffdb_io_write *runs)
{
    size_t run_count = 0, iov_count = 0, ps = pg->page_size;
    for (size_t i = 0; i < count; i++) {
        ffdb_io_write *last = run_count ? &runs[run_count - 1] : NULL;
        if (last && sorted[i].pgno == sorted[i - 1].pgno + 1) {
            struct iovec *v = &iov[iov_count - 1];
            if ((uint8_t *)v->iov_base + v->iov_len == (uint8_t *)sorted[i].data &&
                v->iov_len + ps <= WRITE_IOV_BYTES) {
                v->iov_len += ps;
                continue;
            }
            if (last->iov_count < IOV_MAX) {
                iov[iov_count].iov_base = sorted[i].data;
                iov[iov_count++].iov_len = ps;
                last->iov_count++;
                continue;
            }
        }
        iov[iov_count].iov_base = sorted[i].data;
        iov[iov_count].iov_len = ps;
        runs[run_count].offset = sorted[i].pgno * ps;
        runs[run_count].iov = &iov[iov_count++];
        runs[run_count].iov_count = 1;
        run_count++;
    }
    return run_count;
}

/* A batch ready for the backend: one allocation holds the iovecs, the runs
 * and the sorted copy of the pages (iovecs first for their alignment). */
struct batch {
    void *arrays;
    ffdb_io_write *runs;
    size_t run_count;
    uint64_t end;            /* byte just past the last page */
};

/* Seal pages and build the runs of one batch (count > 0). */
static int batch_prepare(struct pager *pg, struct pager_page *pages, size_t count,
                         struct batch *out)
{
    struct pager_page *sorted;
    struct iovec *iov;
    ffdb_io_write *runs;
    int rc;

    if (count > SIZE_MAX / (sizeof(*sorted) + sizeof(*iov) + sizeof(*runs)))
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "write batch of %zu pages is too large", count);
    iov = mem_alloc(count * (sizeof(*sorted) + sizeof(*iov) + sizeof(*runs)));
    if (!iov)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "no memory for a write batch");
    runs = (ffdb_io_write *)(iov + count);
    sorted = (struct pager_page *)(runs + count);
    rc = sort_and_seal(pg, pages, count, sorted);
    if (rc < 0) {
        mem_free(iov);
        return rc;
    }
    out->arrays = iov;
    out->runs = runs;
    out->run_count = build_runs(pg, sorted, count, iov, runs);
    out->end = (sorted[count - 1].pgno + 1) * pg->page_size;
    /* Every page in one run or another, runs in file order. */
    assert(out->run_count >= 1 && out->run_count <= count);
    assert(out->runs[0].offset == sorted[0].pgno * pg->page_size);
    return 0;
}

int pager_write_pages_then(struct pager *pg, struct pager_page *pages, size_t count,
                           struct pager_page *last)
{
    struct batch b;
    struct iovec *iov;
    ffdb_io_write *runs;
    size_t n;
    int rc;

    CHECK(writable(pg));
    if (count == 0)
        return pager_write_pages(pg, last, 1);
    assert((uintptr_t)last->data % IO_ALIGN == 0);
    for (size_t i = 0; i < count; i++)
        assert(pages[i].pgno != last->pgno);
    /* Room for one more run and iovec than the pages need. */
    iov = mem_alloc((count + 1) * (sizeof(struct pager_page) + sizeof(*iov) + sizeof(*runs)));
    if (!iov)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "no memory for a write batch");
    runs = (ffdb_io_write *)(iov + count + 1);
    {
        struct pager_page *sorted = (struct pager_page *)(runs + count + 1);
        rc = sort_and_seal(pg, pages, count, sorted);
        if (rc < 0) {
            mem_free(iov);
            return rc;
        }
        n = build_runs(pg, sorted, count, iov, runs);
        b.end = (sorted[count - 1].pgno + 1) * pg->page_size;
    }
    page_seal(last->data, pg->page_size);
    log_note(pg, last->pgno, last->data);
    iov[count].iov_base = last->data; /* build_runs used at most count iovecs */
    iov[count].iov_len = pg->page_size;
    runs[n].offset = last->pgno * pg->page_size;
    runs[n].iov = &iov[count];
    runs[n].iov_count = 1;
    if ((last->pgno + 1) * pg->page_size > b.end)
        b.end = (last->pgno + 1) * pg->page_size;
    rc = write_batch(pg, runs, n + 1, b.end, count + 1);
    mem_free(iov);
    return rc;
}

int pager_write_pages(struct pager *pg, struct pager_page *pages, size_t count)
{
    struct batch b;
    int rc;

    CHECK(writable(pg));
    if (count == 0)
        return 0;
    CHECK(batch_prepare(pg, pages, count, &b));
    rc = write_batch(pg, b.runs, b.run_count, b.end, count);
    mem_free(b.arrays);
    return rc;
}

/* ---- asynchronous writes ---------------------------------------------------------- */

static struct async_slot *async_find(struct pager *pg, uint64_t ticket)
{
    for (unsigned i = 0; i < PAGER_ASYNC_MAX; i++)
        if (pg->async[i].ticket == ticket)
            return &pg->async[i];
    return NULL;
}

int pager_write_pages_async(struct pager *pg, struct pager_page *pages, size_t count,
                            uint64_t *ticket)
{
    struct async_slot *slot = NULL;
    struct batch b;
    uint64_t io_ticket = 0;
    int rc;

    assert(ticket && (pages || count == 0));
    *ticket = 0;
    CHECK(writable(pg));
    if (count == 0)
        return 0;
    if (pg->io->write_submit && pg->io->write_wait && pg->async_count < PAGER_ASYNC_MAX)
        slot = async_find(pg, 0);
    if (!slot)
        return pager_write_pages(pg, pages, count); /* a completed ticket */
    CHECK(batch_prepare(pg, pages, count, &b));
    err_clear();
    rc = pg->io->write_submit(pg->file, b.runs, b.run_count, &io_ticket);
    if (rc < 0 || io_ticket == 0) {
        /* Refused (nothing in flight), or written synchronously. */
        rc = write_done(pg, rc, b.end, count);
        mem_free(b.arrays);
        return rc;
    }
    slot->ticket = ++pg->async_next;
    slot->io_ticket = io_ticket;
    slot->arrays = b.arrays;
    slot->end = b.end;
    slot->pages = count;
    pg->async_count++;
    *ticket = slot->ticket;
    return 0;
}

/* Wait for one slot's batch and free the slot. */
static int async_finish(struct pager *pg, struct async_slot *slot)
{
    int rc;
    assert(slot->ticket != 0 && pg->async_count > 0);
    err_clear();
    rc = pg->io->write_wait(pg->file, slot->io_ticket);
    rc = write_done(pg, rc, slot->end, slot->pages);
    mem_free(slot->arrays); /* G6: the backend is done with them */
    memset(slot, 0, sizeof(*slot));
    pg->async_count--;
    return rc;
}

int pager_write_wait(struct pager *pg, uint64_t ticket)
{
    struct async_slot *slot;
    if (ticket == 0)
        return 0;
    slot = async_find(pg, ticket);
    assert(slot != NULL); /* waited twice, drained, or never issued */
    if (!slot)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "no write in flight with ticket %llu",
                         (unsigned long long)ticket);
    return async_finish(pg, slot);
}

int pager_write_drain(struct pager *pg)
{
    ffdb_error_info first = {0};
    /* Oldest first: the order they were submitted in. */
    while (pg->async_count > 0) {
        struct async_slot *oldest = NULL;
        for (unsigned i = 0; i < PAGER_ASYNC_MAX; i++)
            if (pg->async[i].ticket && (!oldest || pg->async[i].ticket < oldest->ticket))
                oldest = &pg->async[i];
        if (async_finish(pg, oldest) < 0 && first.code == 0)
            ffdb_last_error(&first); /* the later waits clear the record */
    }
    if (first.code == 0)
        return 0;
    return err_raise(first.code, first.pgno, __FILE__, __LINE__, "%s", first.message);
}

unsigned pager_writes_in_flight(const struct pager *pg)
{
    return pg->async_count;
}

int pager_write_run(struct pager *pg, uint64_t pgno, size_t count, void *buf)
{
    uint8_t *p = buf;
    size_t ps = pg->page_size, total, iov_count, run_count;
    struct iovec *iov;
    ffdb_io_write *runs;
    int rc;

    CHECK(writable(pg));
    assert((uintptr_t)buf % IO_ALIGN == 0);
    if (count == 0)
        return 0;
    if (pgno >= UINT64_MAX / ps || count > (UINT64_MAX / ps - pgno) || count > SIZE_MAX / ps)
        return ERR_RAISE(FFDB_EINVAL, pgno, "page run of %zu pages at %llu is too large", count,
                         (unsigned long long)pgno);
    total = count * ps;
    iov_count = (total + WRITE_IOV_BYTES - 1) / WRITE_IOV_BYTES;
    run_count = (iov_count + IOV_MAX - 1) / IOV_MAX;
    iov = mem_alloc(iov_count * sizeof(*iov) + run_count * sizeof(*runs));
    if (!iov)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "no memory for a write run");
    runs = (ffdb_io_write *)(iov + iov_count);
    for (size_t i = 0; i < count; i++) {
        page_seal(p + i * ps, ps);
        log_note(pg, pgno + i, p + i * ps);
    }
    for (size_t i = 0; i < iov_count; i++) {
        size_t off = i * WRITE_IOV_BYTES;
        iov[i].iov_base = p + off;
        iov[i].iov_len = total - off < WRITE_IOV_BYTES ? total - off : WRITE_IOV_BYTES;
    }
    for (size_t r = 0; r < run_count; r++) {
        size_t first = r * IOV_MAX;
        runs[r].offset = pgno * ps + (uint64_t)first * WRITE_IOV_BYTES;
        runs[r].iov = &iov[first];
        runs[r].iov_count = (int)(iov_count - first < IOV_MAX ? iov_count - first : IOV_MAX);
    }
    rc = write_batch(pg, runs, run_count, (pgno + count) * ps, count);
    mem_free(iov);
    return rc;
}

/* ---- durability and size ---------------------------------------------------------- */

int pager_sync(struct pager *pg, int full)
{
    int rc, failed;

    pthread_mutex_lock(&pg->sync_lock); /* G4 */
    failed = atomic_load(&pg->failed);
    if (failed) {
        pthread_mutex_unlock(&pg->sync_lock);
        return ERR_RAISE(FFDB_EFAILED, PGNO_NONE,
                         "an earlier sync failed (%s): reopen the database",
                         ffdb_strerror(failed));
    }
    if (pg->flags & (FFDB_NOSYNC | FFDB_RDONLY)) {
        pthread_mutex_unlock(&pg->sync_lock);
        return 0;
    }
    /* G2: a size change that lands after this exchange sets need_full
     * again, so the next sync is full; one before it is covered by this. */
    if (atomic_exchange(&pg->need_full, 0))
        full = 1;
    err_clear();
    rc = pg->io->sync(pg->file, full);
    if (rc < 0) {
        int expected = 0;
        atomic_compare_exchange_strong(&pg->failed, &expected, rc); /* G3 */
        pthread_mutex_unlock(&pg->sync_lock);
        return io_error(rc, PGNO_NONE, "sync");
    }
    pthread_mutex_unlock(&pg->sync_lock);
    atomic_fetch_add_explicit(&pg->syncs, 1, memory_order_relaxed);
    if (full)
        atomic_fetch_add_explicit(&pg->full_syncs, 1, memory_order_relaxed);
    return 0;
}

uint64_t pager_known_pages(const struct pager *pg)
{
    return atomic_load_explicit(&((struct pager *)pg)->file_bytes, memory_order_relaxed) /
           pg->page_size;
}

int pager_file_pages(struct pager *pg, uint64_t *pages)
{
    uint64_t bytes;
    int rc;
    err_clear();
    rc = pg->io->size(pg->file, &bytes);
    if (rc < 0)
        return io_error(rc, PGNO_NONE, "size");
    *pages = bytes / pg->page_size;
    return 0;
}

int pager_reserve(struct pager *pg, uint64_t pages)
{
    uint64_t ps = pg->page_size, cur = atomic_load(&pg->file_bytes), chunk, target;
    int rc;

    CHECK(writable(pg));
    if (pages > UINT64_MAX / ps - 1)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "cannot reserve %llu pages",
                         (unsigned long long)pages);
    if (pages * ps <= cur)
        return 0;
    chunk = cur / 8;
    chunk = chunk < GROW_MIN_BYTES ? GROW_MIN_BYTES : chunk > GROW_MAX_BYTES ? GROW_MAX_BYTES
                                                                              : chunk;
    target = cur + chunk > pages * ps ? cur + chunk : pages * ps;
    target = (target + ps - 1) / ps * ps;
    err_clear();
    rc = pg->io->grow(pg->file, target);
    if (rc < 0) {
        rc = io_error(rc, PGNO_NONE, "growth of the file");
        refresh_extent(pg);
        return rc;
    }
    note_extent(pg, target);
    atomic_store(&pg->need_full, 1);
    return 0;
}

int pager_truncate(struct pager *pg, uint64_t pages)
{
    uint64_t ps = pg->page_size;
    int rc;

    CHECK(writable(pg));
    if (pages > UINT64_MAX / ps)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "cannot truncate to %llu pages",
                         (unsigned long long)pages);
    err_clear();
    rc = pg->io->truncate(pg->file, pages * ps);
    if (rc < 0) {
        uint64_t bytes;
        rc = io_error(rc, PGNO_NONE, "truncation of the file");
        if (pg->io->size(pg->file, &bytes) == 0)
            atomic_store(&pg->file_bytes, bytes); /* writer only: exact */
        atomic_store(&pg->need_full, 1);
        return rc;
    }
    atomic_store(&pg->file_bytes, pages * ps);
    atomic_store(&pg->need_full, 1);
    return 0;
}
