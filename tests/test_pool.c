/*
 * test_pool.c — the buffer pool over a real pager on a small file.
 *
 * Each test builds a file of sealed leaf pages whose bodies are a pattern
 * derived from (pgno, version), so a frame holding the wrong page, a stale
 * version or torn data is caught by check_page(). Covers hit/miss counting,
 * clock eviction, pins, spills, discard, flush, the verify hook, on-disk
 * corruption, allocation failures and concurrent readers (with and without
 * a writer whose dirty pages the readers' misses must spill), and raw pages
 * (pool_install_raw / pool_lookup_raw) kept apart from hooked ones.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bufpool/pool.h"
#include "common/alloc.h"
#include "common/bytes.h"
#include "common/error.h"
#include "common/format.h"
#include "pager/pager.h"
#include "testing/io_mem.h"

#define PS          4096u   /* page size of the test files */
#define BASE        2u      /* first test page (0 and 1 are the metas) */
#define FILE_PAGES  200u    /* pages BASE .. BASE + FILE_PAGES - 1 exist */
#define NEW_BASE    1000u   /* pages created through pool_new() */

static struct io_mem *disk;
static struct pager *pg;

/* ---- page contents ------------------------------------------------------- */

static uint64_t pattern(uint64_t pgno, unsigned version, size_t off)
{
    return pgno * 0x9E3779B97F4A7C15ull ^ ((uint64_t)version << 40) ^ off;
}

static void fill_page(uint8_t *p, uint64_t pgno, unsigned version)
{
    memset(p, 0, PAGE_HEADER_SIZE);
    st64(p + PH_PGNO, pgno);
    st64(p + PH_TXID, 1);
    p[PH_KIND] = PAGE_LEAF;
    for (size_t off = PAGE_HEADER_SIZE; off < PS; off += 8)
        st64(p + off, pattern(pgno, version, off));
}

static int check_page(const uint8_t *p, uint64_t pgno, unsigned version)
{
    if (ld64(p + PH_PGNO) != pgno || p[PH_KIND] != PAGE_LEAF)
        return 0;
    for (size_t off = PAGE_HEADER_SIZE; off < PS; off += 8)
        if (ld64(p + off) != pattern(pgno, version, off))
            return 0;
    return 1;
}

/* Write pages [first, first + count) at version through the pager. */
static void write_file_pages(uint64_t first, unsigned count, unsigned version)
{
    uint8_t *buf = aligned_alloc(4096, (size_t)count * PS);
    struct pager_page *pages = calloc(count, sizeof(*pages));
    cr_assert(buf && pages);
    for (unsigned i = 0; i < count; i++) {
        pages[i].pgno = first + i;
        pages[i].data = buf + (size_t)i * PS;
        fill_page(pages[i].data, first + i, version);
    }
    cr_assert_eq(pager_write_pages(pg, pages, count), 0);
    free(pages);
    free(buf);
}

/* Read page pgno straight from the file and check it. */
static int disk_has(uint64_t pgno, unsigned version)
{
    uint8_t *buf = aligned_alloc(4096, PS);
    int ok = pager_read_page(pg, pgno, buf) == 0 && check_page(buf, pgno, version);
    free(buf);
    return ok;
}

static uint64_t disk_writes(void)
{
    struct pager_counters c;
    pager_counters(pg, &c);
    return c.page_writes;
}

/* Every test runs over an in-memory disk (io_mem): fast, checks buffer
 * alignment like O_DIRECT does, and can inject write failures. */
static void setup(void)
{
    disk = io_mem_create();
    cr_assert_not_null(disk);
    cr_assert_eq(pager_open("pool.ffdb", io_mem_io(disk), 0, &pg), 0);
    cr_assert_eq(pager_page_size(pg), PS);
    write_file_pages(BASE, FILE_PAGES, 0);
}

static void teardown(void)
{
    pager_close(pg);
    pg = NULL;
    io_mem_destroy(disk);
    disk = NULL;
}

static struct pool *open_pool(size_t frames, pool_verify_fn verify, void *ctx)
{
    struct pool *pool = NULL;
    cr_assert_eq(pool_open(pg, frames, 0, verify, ctx, &pool), 0);
    cr_assert_not_null(pool);
    return pool;
}

static struct pool_counters counters(struct pool *pool)
{
    struct pool_counters c;
    pool_counters(pool, &c);
    return c;
}

/* Get pgno, check it holds version, unpin it. */
static void get_check(struct pool *pool, uint64_t pgno, unsigned version)
{
    struct pool_frame *f = NULL;
    int rc = pool_get(pool, pgno, &f);
    cr_assert_eq(rc, 0, "pool_get(%llu) = %d (%s)", (unsigned long long)pgno, rc,
                 ffdb_strerror(rc));
    cr_assert_eq(f->pgno, pgno);
    cr_assert(check_page(f->data, pgno, version), "page %llu has wrong contents",
              (unsigned long long)pgno);
    pool_unpin(pool, f);
}

/* Create pgno through pool_new with contents of version, and unpin it. */
static void new_page(struct pool *pool, uint64_t pgno, unsigned version)
{
    struct pool_frame *f = NULL;
    cr_assert_eq(pool_new(pool, pgno, &f), 0);
    cr_assert_eq(f->pgno, pgno);
    for (size_t i = 0; i < PS; i++)
        cr_assert_eq(f->data[i], 0, "pool_new data not zeroed");
    fill_page(f->data, pgno, version);
    pool_mark_dirty(pool, f);
    pool_unpin(pool, f);
}

/* ---- basics ---------------------------------------------------------------- */

TestSuite(pool, .init = setup, .fini = teardown, .timeout = 10);

Test(pool, open_rejects_bad_arguments)
{
    struct pool *pool = (struct pool *)1;
    cr_assert_eq(pool_open(pg, 15, 0, NULL, NULL, &pool), FFDB_EINVAL);
    cr_assert_null(pool);
    cr_assert_eq(pool_open(NULL, 64, 0, NULL, NULL, &pool), FFDB_EINVAL);
}

Test(pool, hits_and_misses_are_counted)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    struct pool_frame *a, *b;

    cr_assert_eq(pool_get(pool, BASE + 5, &a), 0);
    cr_assert(check_page(a->data, BASE + 5, 0));
    cr_assert_eq(((uintptr_t)a->data) % 4096, 0, "frame data must be aligned for O_DIRECT");
    struct pool_counters c = counters(pool);
    cr_assert_eq(c.frames, 16);
    cr_assert_eq(c.misses, 1);
    cr_assert_eq(c.hits, 0);
    cr_assert_eq(c.pinned, 1);

    cr_assert_eq(pool_get(pool, BASE + 5, &b), 0);   /* pinned twice: same frame */
    cr_assert_eq(a, b);
    pool_unpin(pool, a);
    pool_unpin(pool, b);
    get_check(pool, BASE + 5, 0);
    c = counters(pool);
    cr_assert_eq(c.misses, 1);
    cr_assert_eq(c.hits, 2);
    cr_assert_eq(c.pinned, 0);
    cr_assert_eq(c.evictions, 0);
    pool_close(pool);
}

Test(pool, clock_evicts_over_many_pages)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    for (int round = 0; round < 3; round++)
        for (unsigned i = 0; i < 100; i++)
            get_check(pool, BASE + i, 0);
    struct pool_counters c = counters(pool);
    /* A cyclic scan of 100 pages through 16 frames misses every time. */
    cr_assert_eq(c.misses + c.hits, 300);
    cr_assert_geq(c.misses, 300 - 16);
    cr_assert_eq(c.evictions, c.misses - 16);
    cr_assert_eq(c.pinned, 0);
    cr_assert_eq(c.dirty, 0);
    cr_assert_eq(c.spills, 0);

    /* A working set that fits stays cached. */
    for (int round = 0; round < 5; round++)
        for (unsigned i = 0; i < 8; i++)
            get_check(pool, BASE + 150 + i, 0);
    struct pool_counters d = counters(pool);
    cr_assert_eq(d.misses - c.misses, 8);
    cr_assert_eq(d.hits - c.hits, 32);
    pool_close(pool);
}

Test(pool, pinned_frames_are_never_evicted)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    struct pool_frame *f[16], *x = NULL;

    for (unsigned i = 0; i < 16; i++)
        cr_assert_eq(pool_get(pool, BASE + i, &f[i]), 0);
    cr_assert_eq(counters(pool).pinned, 16);
    cr_assert_eq(pool_get(pool, BASE + 100, &x), FFDB_EPOOLFULL);
    ffdb_error_info info;
    ffdb_last_error(&info);
    cr_assert_eq(info.code, FFDB_EPOOLFULL);
    cr_assert_eq(pool_new(pool, NEW_BASE, &x), FFDB_EPOOLFULL);
    for (unsigned i = 0; i < 16; i++)
        cr_assert(check_page(f[i]->data, BASE + i, 0) && f[i]->pgno == BASE + i);

    pool_unpin(pool, f[7]);
    cr_assert_eq(pool_get(pool, BASE + 100, &x), 0);
    cr_assert(check_page(x->data, BASE + 100, 0));
    cr_assert_eq(x, f[7], "the only unpinned frame must be the victim");
    for (unsigned i = 0; i < 16; i++)
        if (i != 7)
            cr_assert(check_page(f[i]->data, BASE + i, 0) && f[i]->pgno == BASE + i);
    pool_unpin(pool, x);
    for (unsigned i = 0; i < 16; i++)
        if (i != 7)
            pool_unpin(pool, f[i]);
    cr_assert_eq(counters(pool).pinned, 0);
    get_check(pool, BASE + 7, 0);
    pool_close(pool);
}

/* ---- dirty pages ------------------------------------------------------------ */

Test(pool, dirty_pages_are_spilled_and_read_back)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    uint64_t w0 = disk_writes();

    for (unsigned i = 0; i < 40; i++)
        new_page(pool, NEW_BASE + i, 3);
    struct pool_counters c = counters(pool);
    cr_assert_geq(c.spills, 24, "40 dirty pages in 16 frames: %llu spills",
                  (unsigned long long)c.spills);
    cr_assert_eq(c.dirty, 40 - c.spills);
    cr_assert_eq(disk_writes() - w0, c.spills);
    cr_assert(disk_has(NEW_BASE, 3), "first created page was spilled to its place");

    for (unsigned i = 0; i < 40; i++)
        get_check(pool, NEW_BASE + i, 3);
    /* The writer modifies an existing page: dirty copy wins over the file. */
    struct pool_frame *f;
    cr_assert_eq(pool_get(pool, BASE + 9, &f), 0);
    fill_page(f->data, BASE + 9, 4);
    pool_mark_dirty(pool, f);
    pool_unpin(pool, f);
    for (unsigned i = 0; i < 40; i++)
        get_check(pool, BASE + 50 + i, 0);
    cr_assert(disk_has(BASE + 9, 4));
    get_check(pool, BASE + 9, 4);
    cr_assert_eq(counters(pool).dirty, 0);
    pool_close(pool);
}

Test(pool, new_replaces_a_cached_stale_copy)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    struct pool_frame *a, *b;

    cr_assert_eq(pool_get(pool, BASE + 3, &a), 0);
    pool_unpin(pool, a);
    cr_assert_eq(pool_new(pool, BASE + 3, &b), 0);
    cr_assert_eq(a, b, "the cached frame is reused");
    for (size_t i = 0; i < PS; i++)
        cr_assert_eq(b->data[i], 0);
    fill_page(b->data, BASE + 3, 8);
    pool_unpin(pool, b);
    cr_assert_eq(counters(pool).dirty, 1);
    get_check(pool, BASE + 3, 8);
    pool_close(pool);
}

Test(pool, discarded_dirty_pages_are_never_written)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    uint64_t w0 = disk_writes();

    new_page(pool, BASE + 20, 6);          /* overwrite an existing page... */
    pool_discard(pool, BASE + 20);         /* ...then change our mind */
    pool_discard(pool, BASE + 21);         /* not cached: nothing happens */
    cr_assert_eq(counters(pool).dirty, 0);
    for (unsigned i = 0; i < 100; i++)     /* churn every frame */
        get_check(pool, BASE + 60 + i, 0);
    cr_assert_eq(disk_writes(), w0);
    get_check(pool, BASE + 20, 0);         /* the old version is still there */

    /* Abort: every dirty frame is dropped unwritten. */
    for (unsigned i = 0; i < 10; i++)
        new_page(pool, BASE + 30 + i, 7);
    cr_assert_eq(counters(pool).dirty, 10);
    pool_discard_dirty(pool);
    cr_assert_eq(counters(pool).dirty, 0);
    for (unsigned i = 0; i < 100; i++)
        get_check(pool, BASE + 60 + i, 0);
    cr_assert_eq(disk_writes(), w0);
    for (unsigned i = 0; i < 10; i++)
        get_check(pool, BASE + 30 + i, 0);
    cr_assert_eq(counters(pool).spills, 0);
    pool_close(pool);
}

Test(pool, flush_range_writes_dirty_pages)
{
    struct pool *pool = open_pool(64, NULL, NULL);
    uint64_t w0 = disk_writes();

    for (unsigned i = 0; i < 30; i++)
        new_page(pool, BASE + 10 + i, 9);  /* 30 dirty in [12, 42) */
    new_page(pool, BASE + 100, 9);          /* one outside the range */
    get_check(pool, BASE + 45, 0);          /* a clean one inside */
    cr_assert_eq(counters(pool).dirty, 31);

    cr_assert_eq(pool_flush_range(pool, BASE, 60), 0);
    cr_assert_eq(disk_writes() - w0, 30);
    struct pool_counters c = counters(pool);
    cr_assert_eq(c.dirty, 1);
    cr_assert_eq(c.pinned, 0);
    for (unsigned i = 0; i < 30; i++)
        cr_assert(disk_has(BASE + 10 + i, 9));
    cr_assert(disk_has(BASE + 100, 0));
    cr_assert_eq(pool_flush_range(pool, BASE, 60), 0);  /* nothing left there */
    cr_assert_eq(disk_writes() - w0, 30);

    /* A huge range walks the frames instead of every page number. */
    cr_assert_eq(pool_flush_range(pool, 0, UINT64_MAX), 0);
    cr_assert_eq(disk_writes() - w0, 31);
    cr_assert(disk_has(BASE + 100, 9));
    cr_assert_eq(counters(pool).dirty, 0);
    for (unsigned i = 0; i < 30; i++)
        get_check(pool, BASE + 10 + i, 9);
    pool_close(pool);
}

Test(pool, failed_spill_keeps_the_page_dirty)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    struct pool_frame *f = NULL;

    for (unsigned i = 0; i < 16; i++)
        new_page(pool, NEW_BASE + i, 2);   /* every frame dirty */
    io_mem_fail(disk, IO_MEM_WRITE, 1, FFDB_EIO, 0);
    cr_assert_eq(pool_get(pool, BASE + 1, &f), FFDB_EIO);
    struct pool_counters c = counters(pool);
    cr_assert_eq(c.dirty, 16, "the victim went back dirty");
    cr_assert_eq(c.pinned, 0);
    cr_assert_eq(c.spills, 0);
    for (unsigned i = 0; i < 16; i++)    /* all still cached: hits, no I/O */
        get_check(pool, NEW_BASE + i, 2);
    cr_assert_eq(counters(pool).misses, 16);

    io_mem_fail(disk, IO_MEM_WRITE, 1, FFDB_ENOSPC, 1);
    cr_assert_eq(pool_new(pool, NEW_BASE + 16, &f), FFDB_ENOSPC);
    cr_assert_eq(pool_flush_range(pool, NEW_BASE, 16), FFDB_ENOSPC);
    c = counters(pool);
    cr_assert_eq(c.dirty, 16, "a failed flush leaves the pages dirty");
    cr_assert_eq(c.pinned, 0);

    io_mem_clear_faults(disk);
    get_check(pool, BASE + 1, 0);          /* spills one */
    cr_assert_eq(counters(pool).spills, 1);
    cr_assert_eq(pool_flush_range(pool, NEW_BASE, 16), 0);
    cr_assert_eq(counters(pool).dirty, 0);
    for (unsigned i = 0; i < 16; i++)
        cr_assert(disk_has(NEW_BASE + i, 2));
    pool_close(pool);
}

/* ---- failed loads ----------------------------------------------------------- */

struct verify_ctx {
    uint64_t bad_pgno;
    atomic_int reject;                /* reject bad_pgno while set */
    atomic_int calls;                 /* calls for bad_pgno */
    int delay_ms;
};

static int verify_hook(void *arg, const uint8_t *page, uint64_t pgno)
{
    struct verify_ctx *v = arg;
    if (ld64(page + PH_PGNO) != pgno)
        return ERR_CORRUPT(pgno, "hook: wrong pgno");
    if (pgno != v->bad_pgno)
        return 0;
    atomic_fetch_add(&v->calls, 1);
    if (v->delay_ms) {
        struct timespec ts = { 0, v->delay_ms * 1000000L };
        nanosleep(&ts, NULL);
    }
    return atomic_load(&v->reject) ? ERR_CORRUPT(pgno, "hook: rejected") : 0;
}

Test(pool, verify_hook_rejection_is_returned_and_retried)
{
    struct verify_ctx v = { .bad_pgno = BASE + 4, .reject = 1 };
    struct pool *pool = open_pool(16, verify_hook, &v);
    struct pool_frame *f = NULL;

    cr_assert_eq(pool_get(pool, BASE + 4, &f), FFDB_CORRUPT);
    ffdb_error_info info;
    ffdb_last_error(&info);
    cr_assert_eq(info.pgno, BASE + 4);
    cr_assert_eq(counters(pool).pinned, 0);
    cr_assert_eq(pool_get(pool, BASE + 4, &f), FFDB_CORRUPT);   /* not cached as bad */
    cr_assert_eq(atomic_load(&v.calls), 2);
    get_check(pool, BASE + 5, 0);

    atomic_store(&v.reject, 0);
    get_check(pool, BASE + 4, 0);
    get_check(pool, BASE + 4, 0);
    cr_assert_eq(atomic_load(&v.calls), 3, "verified once per read from disk");
    cr_assert_eq(counters(pool).pinned, 0);
    /* Failed frames are reusable: a full sweep still works. */
    for (unsigned i = 0; i < 40; i++)
        get_check(pool, BASE + 20 + i, 0);
    pool_close(pool);
}

Test(pool, corrupt_page_on_disk_is_reported)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    struct pool_frame *f = NULL;
    cr_assert_eq(io_mem_patch(disk, (uint64_t)(BASE + 12) * PS + 700, "X", 1), 0);

    cr_assert_eq(pool_get(pool, BASE + 12, &f), FFDB_CORRUPT);
    ffdb_error_info info;
    ffdb_last_error(&info);
    cr_assert_eq(info.code, FFDB_CORRUPT);
    cr_assert_eq(info.pgno, BASE + 12);
    cr_assert_eq(pool_get(pool, BASE + 12, &f), FFDB_CORRUPT);
    cr_assert_eq(counters(pool).pinned, 0);
    get_check(pool, BASE + 13, 0);
    /* A page past the end of the file is corrupt too, never a crash. */
    cr_assert_eq(pool_get(pool, 100000, &f), FFDB_CORRUPT);
    pool_close(pool);
}

Test(pool, allocation_failures_leak_nothing)
{
    long live = mem_live();
    int failures = 0;
    for (long n = 1; n < 20; n++) {
        struct pool *pool = NULL;
        mem_fail_after(n);
        int rc = pool_open(pg, 32, 0, NULL, NULL, &pool);
        int pending = mem_fail_pending();
        mem_fail_after(0);
        if (rc == 0) {
            cr_assert(pending, "pool_open succeeded although allocation %ld failed", n);
            get_check(pool, BASE, 0);
            pool_close(pool);
            break;
        }
        failures++;
        cr_assert_eq(rc, FFDB_ENOMEM);
        cr_assert_null(pool);
        cr_assert_eq(mem_live(), live, "leak after failing allocation %ld", n);
    }
    cr_assert_geq(failures, 2);
    cr_assert_eq(mem_live(), live);
}

/* ---- raw pages ------------------------------------------------------------------ */

/* Raw pages stand for overflow pages: the caller checks them, the hook
 * (like the tree's) rejects them. */
static void fill_raw(uint8_t *p, uint64_t pgno, unsigned version)
{
    fill_page(p, pgno, version);
    p[PH_KIND] = PAGE_OVERFLOW;
}

static int check_raw(const uint8_t *p, uint64_t pgno, unsigned version)
{
    if (ld64(p + PH_PGNO) != pgno || p[PH_KIND] != PAGE_OVERFLOW)
        return 0;
    for (size_t off = PAGE_HEADER_SIZE; off < PS; off += 8)
        if (ld64(p + off) != pattern(pgno, version, off))
            return 0;
    return 1;
}

static int leaf_only_hook(void *arg, const uint8_t *page, uint64_t pgno)
{
    (void)arg;
    return page[PH_KIND] == PAGE_LEAF ? 0 : ERR_CORRUPT(pgno, "hook: not a leaf");
}

/* Write raw pages [first, first + count) at version through the pager. */
static void write_raw_pages(uint64_t first, unsigned count, unsigned version)
{
    uint8_t *buf = aligned_alloc(4096, (size_t)count * PS);
    cr_assert(buf);
    for (unsigned i = 0; i < count; i++)
        fill_raw(buf + (size_t)i * PS, first + i, version);
    cr_assert_eq(pager_write_run(pg, first, count, buf), 0);
    free(buf);
}

/* 1 if pgno is cached raw and holds version (and unpins it). */
static int raw_cached(struct pool *pool, uint64_t pgno, unsigned version)
{
    struct pool_frame *f = NULL;
    if (!pool_lookup_raw(pool, pgno, &f))
        return 0;
    cr_assert_eq(f->pgno, pgno);
    int ok = check_raw(f->data, pgno, version);
    pool_unpin(pool, f);
    cr_assert(ok, "raw page %llu has wrong contents", (unsigned long long)pgno);
    return 1;
}

Test(pool, raw_pages_are_never_served_as_hooked_ones_nor_back)
{
    struct pool *pool = open_pool(16, leaf_only_hook, NULL);
    uint8_t *img = aligned_alloc(4096, PS);
    struct pool_frame *f = NULL;
    cr_assert(img);

    /* Cached raw: a lookup hits it, without a read and counted as a hit. */
    fill_raw(img, BASE + 3, 7);
    pool_install_raw(pool, BASE + 3, img);
    struct pool_counters c = counters(pool);
    cr_assert_eq(c.misses, 1);
    cr_assert(raw_cached(pool, BASE + 3, 7));
    cr_assert_eq(counters(pool).hits, c.hits + 1);
    cr_assert_eq(counters(pool).misses, 1);

    /* pool_get never returns the raw frame: it reads the page again through
     * the hook (the disk holds a leaf here, so that is what it gets). */
    get_check(pool, BASE + 3, 0);
    cr_assert(!raw_cached(pool, BASE + 3, 7), "hooked frame served as raw");
    pool_install_raw(pool, BASE + 3, img);      /* cached already: no change */
    cr_assert(!raw_cached(pool, BASE + 3, 7));
    get_check(pool, BASE + 3, 0);

    /* Where the disk holds a raw page, pool_get reports the hook's verdict
     * every time, never the cached raw frame. */
    write_raw_pages(BASE + 5, 1, 3);
    fill_raw(img, BASE + 5, 3);
    pool_install_raw(pool, BASE + 5, img);
    cr_assert_eq(pool_get(pool, BASE + 5, &f), FFDB_CORRUPT);
    ffdb_error_info info;
    ffdb_last_error(&info);
    cr_assert_eq(info.pgno, BASE + 5);
    cr_assert_eq(pool_get(pool, BASE + 5, &f), FFDB_CORRUPT);
    cr_assert_eq(counters(pool).pinned, 0);

    /* pool_new takes a raw frame over as the writer's new page. */
    fill_raw(img, BASE + 9, 4);
    pool_install_raw(pool, BASE + 9, img);
    new_page(pool, BASE + 9, 8);
    cr_assert(!raw_cached(pool, BASE + 9, 4));
    get_check(pool, BASE + 9, 8);

    /* pool_discard drops raw frames. */
    fill_raw(img, BASE + 11, 5);
    pool_install_raw(pool, BASE + 11, img);
    cr_assert(raw_cached(pool, BASE + 11, 5));
    pool_discard(pool, BASE + 11);
    cr_assert(!raw_cached(pool, BASE + 11, 5));
    cr_assert_eq(counters(pool).pinned, 0);
    free(img);
    pool_close(pool);
}

Test(pool, raw_install_never_evicts_pinned_or_dirty_frames)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    struct pool_frame *f[16];
    uint8_t *img = aligned_alloc(4096, PS);
    cr_assert(img);
    fill_raw(img, BASE + 150, 1);

    for (unsigned i = 0; i < 16; i++)
        cr_assert_eq(pool_get(pool, BASE + i, &f[i]), 0);
    pool_install_raw(pool, BASE + 150, img);    /* all pinned: not cached, no error */
    cr_assert(!raw_cached(pool, BASE + 150, 1));
    for (unsigned i = 0; i < 16; i++)
        pool_unpin(pool, f[i]);

    for (unsigned i = 0; i < 16; i++)
        new_page(pool, NEW_BASE + i, 2);
    uint64_t writes = disk_writes();
    for (unsigned i = 0; i < 4; i++)
        pool_install_raw(pool, BASE + 150, img); /* all dirty: not spilled for a raw page */
    cr_assert(!raw_cached(pool, BASE + 150, 1));
    cr_assert_eq(disk_writes(), writes);
    struct pool_counters c = counters(pool);
    cr_assert_eq(c.spills, 0);
    cr_assert_eq(c.dirty, 16);
    for (unsigned i = 0; i < 16; i++)
        get_check(pool, NEW_BASE + i, 2);

    cr_assert_eq(pool_flush_range(pool, NEW_BASE, 16), 0);
    for (unsigned i = 0; i < 4 && !raw_cached(pool, BASE + 150, 1); i++)
        pool_install_raw(pool, BASE + 150, img);
    cr_assert(raw_cached(pool, BASE + 150, 1), "clean frames are taken");
    /* Raw frames are evicted like any other. */
    for (unsigned i = 0; i < 40; i++)
        get_check(pool, BASE + 20 + i, 0);
    cr_assert(!raw_cached(pool, BASE + 150, 1));
    cr_assert_eq(counters(pool).pinned, 0);
    free(img);
    pool_close(pool);
}

/* ---- read-ahead ------------------------------------------------------------------ */

static uint64_t disk_reads(void)
{
    struct pager_counters c;
    pager_counters(pg, &c);
    return c.page_reads;
}

Test(pool, prefetch_reads_runs_once_and_serves_them_as_hits)
{
    struct pool *pool = open_pool(128, NULL, NULL); /* frames/8 = 16 pages a call */
    uint64_t up[12], down[6];
    for (unsigned i = 0; i < 12; i++)
        up[i] = BASE + 10 + i;
    up[5] = BASE + 100;                             /* breaks the run in two: 5 + 1 + 6 */
    for (unsigned i = 0; i < 6; i++)
        down[i] = BASE + 60 - i;                    /* a backward scan's order */

    get_check(pool, BASE + 19, 0);                  /* cached already: not read again */
    uint64_t reads = disk_reads();
    pool_prefetch(pool, up, 12);
    pool_prefetch(pool, down, 6);
    /* 5 + 3 (BASE + 16..18; BASE + 19 is cached) + 2 + 6; the lone page
     * is left to pool_get. */
    cr_assert_eq(disk_reads() - reads, 5 + 3 + 2 + 6);
    struct pool_counters before = counters(pool);
    for (unsigned i = 0; i < 12; i++)
        if (i != 5)
            get_check(pool, up[i], 0);
    for (unsigned i = 0; i < 6; i++)
        get_check(pool, down[i], 0);
    struct pool_counters after = counters(pool);
    cr_assert_eq(after.misses, before.misses, "every prefetched page is a hit");
    cr_assert_eq(disk_reads() - reads, 16);
    get_check(pool, BASE + 100, 0);
    cr_assert_eq(counters(pool).pinned, 0);
    pool_close(pool);
}

Test(pool, prefetch_is_bounded_and_never_evicts_pinned_or_dirty_frames)
{
    struct pool *pool = open_pool(32, NULL, NULL);  /* frames/8 = 4 pages a call */
    struct pool_frame *f[16];
    uint64_t run[40];
    for (unsigned i = 0; i < 40; i++)
        run[i] = BASE + 100 + i;

    uint64_t reads = disk_reads();
    pool_prefetch(pool, run, 40);
    cr_assert_eq(disk_reads() - reads, 4, "at most frames/8 pages");

    for (unsigned i = 0; i < 16; i++)
        cr_assert_eq(pool_get(pool, BASE + i, &f[i]), 0);
    for (unsigned i = 0; i < 12; i++)
        new_page(pool, NEW_BASE + i, 2);
    /* 16 pinned, 12 dirty, the 4 prefetched pages recently used: nothing to take. */
    pool_prefetch(pool, run + 10, 4);
    cr_assert_eq(counters(pool).spills, 0);
    cr_assert_eq(counters(pool).dirty, 12);
    for (unsigned i = 0; i < 16; i++) {
        cr_assert(check_page(f[i]->data, BASE + i, 0));
        pool_unpin(pool, f[i]);
    }
    for (unsigned i = 0; i < 12; i++)
        get_check(pool, NEW_BASE + i, 2);
    cr_assert_eq(counters(pool).pinned, 0);
    pool_close(pool);
}

Test(pool, prefetch_installs_only_what_the_hook_accepts)
{
    struct verify_ctx v = { .bad_pgno = BASE + 42, .reject = 1 };
    struct pool *pool = open_pool(64, verify_hook, &v);
    uint64_t run[6] = { BASE + 40, BASE + 41, BASE + 42, BASE + 43, BASE + 44, BASE + 45 };
    struct pool_frame *fr = NULL;

    pool_prefetch(pool, run, 6);
    cr_assert_eq(atomic_load(&v.calls), 1);
    struct pool_counters before = counters(pool);
    get_check(pool, BASE + 41, 0);
    get_check(pool, BASE + 45, 0);
    cr_assert_eq(counters(pool).misses, before.misses);
    /* The rejected page was not cached: pool_get reads it and the hook says no. */
    cr_assert_eq(pool_get(pool, BASE + 42, &fr), FFDB_CORRUPT);
    cr_assert_eq(atomic_load(&v.calls), 2);
    /* A run the pager refuses (past the end of the file) is skipped quietly. */
    uint64_t far[3] = { BASE + FILE_PAGES + 5, BASE + FILE_PAGES + 6, BASE + FILE_PAGES + 7 };
    pool_prefetch(pool, far, 3);
    cr_assert_eq(counters(pool).pinned, 0);
    pool_close(pool);
}

/* ---- pages outside the frames (P6) ---------------------------------------------- */

Test(pool, writes_around_the_frames_drop_every_cached_copy)
{
    struct pool *pool = open_pool(32, NULL, NULL);
    uint8_t *img = aligned_alloc(4096, 4 * PS), *back = aligned_alloc(4096, 4 * PS);
    struct pool_page pages[2];
    uint64_t ticket = 1;
    cr_assert(img && back);
    cr_assert_eq(pool_page_size(pool), PS);

    /* A clean hooked copy, a raw copy and a dirty copy of the run's pages. */
    get_check(pool, BASE + 40, 0);
    fill_raw(img, BASE + 41, 6);
    pool_install_raw(pool, BASE + 41, img);
    cr_assert(raw_cached(pool, BASE + 41, 6));
    new_page(pool, BASE + 42, 9);
    cr_assert_eq(counters(pool).dirty, 1);
    for (unsigned i = 0; i < 3; i++)
        fill_page(img + (size_t)i * PS, BASE + 40 + i, 5);
    cr_assert_eq(pool_write_run(pool, BASE + 40, 3, img), 0);
    cr_assert_eq(counters(pool).dirty, 0, "the dirty copy was dropped, not kept to flush");
    cr_assert(!raw_cached(pool, BASE + 41, 6));
    cr_assert_eq(pool_flush_range(pool, 0, UINT64_MAX), 0);
    for (unsigned i = 0; i < 3; i++) {
        cr_assert(disk_has(BASE + 40 + i, 5), "page %u lost the run write", i);
        get_check(pool, BASE + 40 + i, 5); /* read again: the run, not a stale frame */
    }
    cr_assert_eq(pool_read_run(pool, BASE + 40, 3, back), 0);
    for (unsigned i = 0; i < 3; i++)
        cr_assert(check_page(back + (size_t)i * PS, BASE + 40 + i, 5));

    /* The same for an asynchronous batch (io_mem completes it at once or at
     * the wait), pages given out of order. */
    get_check(pool, BASE + 60, 0);
    new_page(pool, BASE + 61, 9);
    fill_page(img, BASE + 61, 7);
    fill_page(img + PS, BASE + 60, 7);
    pages[0] = (struct pool_page){ BASE + 61, img };
    pages[1] = (struct pool_page){ BASE + 60, img + PS };
    cr_assert_eq(pool_write_async(pool, pages, 2, &ticket), 0);
    cr_assert_eq(counters(pool).dirty, 0);
    cr_assert_eq(pool_write_wait(pool, ticket), 0);
    cr_assert_eq(pool_flush_range(pool, 0, UINT64_MAX), 0);
    get_check(pool, BASE + 60, 7);
    get_check(pool, BASE + 61, 7);

    /* A bad page in a run read is named. */
    fill_page(img, BASE + 80, 0);
    st64(img + PH_PGNO, BASE + 81); /* sealed as what it claims to be */
    cr_assert_eq(pager_write_run(pg, BASE + 80, 1, img), 0);
    cr_assert_eq(pool_read_run(pool, BASE + 79, 3, back), FFDB_CORRUPT);
    ffdb_error_info info;
    ffdb_last_error(&info);
    cr_assert_eq(info.pgno, BASE + 80);
    cr_assert_eq(counters(pool).pinned, 0);
    free(img);
    free(back);
    pool_close(pool);
}

/* ---- concurrency ------------------------------------------------------------ */

#define THREADS        4
#define OPS_PER_THREAD 20000
#define RUN_NS         800000000ll

struct worker {
    struct pool *pool;
    pthread_barrier_t *start;
    unsigned seed;
    long ops;
    int errors;
    int first_rc;
};

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void *reader_main(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(w->start);
    long long deadline = now_ns() + RUN_NS;
    for (w->ops = 0; w->ops < OPS_PER_THREAD; w->ops++) {
        if (w->ops % 128 == 0 && now_ns() > deadline)
            break;
        uint64_t pgno = BASE + rand_r(&w->seed) % FILE_PAGES;
        struct pool_frame *a, *b = NULL;
        int rc = pool_get(w->pool, pgno, &a);
        if (rc == 0 && w->ops % 3 == 0) {   /* sometimes hold two pages */
            rc = pool_get(w->pool, BASE + rand_r(&w->seed) % FILE_PAGES, &b);
            if (rc < 0) {
                pool_unpin(w->pool, a);
                b = NULL;
            }
        }
        if (rc < 0) {
            if (!w->errors++)
                w->first_rc = rc;
            continue;
        }
        if (a->pgno != pgno || !check_page(a->data, pgno, 0) ||
            (b && !check_page(b->data, b->pgno, 0)))
            w->errors++;
        if (b)
            pool_unpin(w->pool, b);
        pool_unpin(w->pool, a);
    }
    return NULL;
}

static void run_readers(struct pool *pool, struct worker *w, pthread_t *t, pthread_barrier_t *b)
{
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){ .pool = pool, .start = b, .seed = 12345u + 77u * (unsigned)i };
        cr_assert_eq(pthread_create(&t[i], NULL, reader_main, &w[i]), 0);
    }
}

static void join_readers(struct worker *w, pthread_t *t)
{
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(w[i].errors, 0, "reader %d: %d errors, first %d (%s)", i, w[i].errors,
                     w[i].first_rc, ffdb_strerror(w[i].first_rc));
        cr_expect_gt(w[i].ops, 100);
    }
}

TestSuite(pool_concurrency, .init = setup, .fini = teardown, .timeout = 20);

Test(pool_concurrency, readers_see_the_right_pages)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    pthread_barrier_t start;

    pthread_barrier_init(&start, NULL, THREADS);
    run_readers(pool, w, t, &start);
    join_readers(w, t);
    pthread_barrier_destroy(&start);
    struct pool_counters c = counters(pool);
    cr_assert_eq(c.pinned, 0);
    cr_assert_gt(c.misses, 100);
    long ops = 0;
    for (int i = 0; i < THREADS; i++)
        ops += w[i].ops + (w[i].ops + 2) / 3;
    cr_assert_eq((long)(c.hits + c.misses), ops);
    /* The cache still works afterwards. */
    for (unsigned i = 0; i < FILE_PAGES; i++)
        get_check(pool, BASE + i, 0);
    pool_close(pool);
}

/* The writer creates more dirty pages than the pool holds while readers
 * churn: reader misses spill the writer's pages, which read back intact. */
Test(pool_concurrency, readers_spill_the_writers_pages)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    pthread_barrier_t start;
    enum { CREATED = 64 };

    pthread_barrier_init(&start, NULL, THREADS + 1);
    run_readers(pool, w, t, &start);
    pthread_barrier_wait(&start);
    for (int round = 0; round < 3; round++) {
        for (unsigned i = 0; i < CREATED; i++) {
            struct pool_frame *f;
            int rc = pool_new(pool, NEW_BASE + i, &f);
            cr_assert_eq(rc, 0, "pool_new: %s", ffdb_strerror(rc));
            fill_page(f->data, NEW_BASE + i, 10 + round);
            pool_mark_dirty(pool, f);
            pool_unpin(pool, f);
        }
        for (unsigned i = 0; i < CREATED; i++)
            get_check(pool, NEW_BASE + i, 10 + round);
        if (round == 1)
            cr_assert_eq(pool_flush_range(pool, NEW_BASE, CREATED), 0);
        else if (round == 2)
            pool_discard_dirty(pool);
        for (unsigned i = 0; i < CREATED; i += 7)
            pool_discard(pool, NEW_BASE + i);
    }
    join_readers(w, t);
    pthread_barrier_destroy(&start);
    struct pool_counters c = counters(pool);
    cr_assert_eq(c.pinned, 0);
    cr_assert_eq(c.dirty, 0);
    cr_assert_geq(c.spills, 2 * (CREATED - 16));
    for (unsigned i = 0; i < CREATED; i++)
        cr_assert(disk_has(NEW_BASE + i, 11) || disk_has(NEW_BASE + i, 12));
    pool_close(pool);
}

struct same_page {
    struct pool *pool;
    pthread_barrier_t *start;
    uint64_t pgno;
    int rc;
    struct pool_frame *frame;
};

static void *same_page_main(void *arg)
{
    struct same_page *s = arg;
    pthread_barrier_wait(s->start);
    s->rc = pool_get(s->pool, s->pgno, &s->frame);
    return NULL;
}

static void get_same_page_together(struct pool *pool, uint64_t pgno, struct same_page *s)
{
    pthread_t t[THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        s[i] = (struct same_page){ .pool = pool, .start = &start, .pgno = pgno };
        cr_assert_eq(pthread_create(&t[i], NULL, same_page_main, &s[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
}

Test(pool_concurrency, concurrent_misses_of_one_page_read_it_once)
{
    struct verify_ctx v = { .bad_pgno = BASE + 40, .delay_ms = 50 };
    struct pool *pool = open_pool(16, verify_hook, &v);
    struct same_page s[THREADS];

    get_same_page_together(pool, BASE + 40, s);
    cr_assert_eq(atomic_load(&v.calls), 1, "one read for %d threads", THREADS);
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(s[i].rc, 0);
        cr_assert_eq(s[i].frame, s[0].frame);
        cr_assert(check_page(s[i].frame->data, BASE + 40, 0));
    }
    cr_assert_eq(counters(pool).pinned, 1);
    for (int i = 0; i < THREADS; i++)
        pool_unpin(pool, s[i].frame);

    /* Races between misses are widest when every victim must be spilled
     * first: each thread then claims its own victim, and all but one must
     * find the page already installed (P2) and wait for that load. */
    v.delay_ms = 2;
    for (unsigned round = 0; round < 20; round++) {
        for (unsigned i = 0; i < 16; i++)
            new_page(pool, NEW_BASE + i, round);
        v.bad_pgno = BASE + 100 + round;
        atomic_store(&v.calls, 0);
        get_same_page_together(pool, v.bad_pgno, s);
        cr_assert_eq(atomic_load(&v.calls), 1, "round %u: page read %d times", round,
                     atomic_load(&v.calls));
        for (int i = 0; i < THREADS; i++) {
            cr_assert_eq(s[i].rc, 0);
            cr_assert_eq(s[i].frame, s[0].frame);
            pool_unpin(pool, s[i].frame);
        }
    }

    /* A failing load fails every waiter with the same code. */
    v.bad_pgno = BASE + 41;
    atomic_store(&v.calls, 0);
    atomic_store(&v.reject, 1);
    get_same_page_together(pool, BASE + 41, s);
    cr_assert_geq(atomic_load(&v.calls), 1);
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(s[i].rc, FFDB_CORRUPT);
    cr_assert_eq(counters(pool).pinned, 0);
    atomic_store(&v.reject, 0);
    get_check(pool, BASE + 41, 0);
    pool_close(pool);
}

/* Raw and hooked readers share a small pool: raw readers cache pages
 * [RAW_FIRST, RAW_FIRST + RAW_PAGES) as they go, hooked readers churn the
 * rest, and now and then each asks for the other's pages: pool_get must
 * report the hook's verdict (dropping raw frames under the raw readers'
 * feet), pool_lookup_raw must never return a hooked frame. */
#define RAW_FIRST (BASE + 100)
#define RAW_PAGES 100u

struct mixed {
    struct worker w;
    int raw;
    long served_raw;
};

static void *mixed_main(void *arg)
{
    struct mixed *m = arg;
    struct worker *w = &m->w;
    uint8_t *buf = aligned_alloc(4096, PS);
    pthread_barrier_wait(w->start);
    long long deadline = now_ns() + RUN_NS;
    for (w->ops = 0; buf && w->ops < OPS_PER_THREAD; w->ops++) {
        if (w->ops % 128 == 0 && now_ns() > deadline)
            break;
        int cross = rand_r(&w->seed) % 16 == 0;
        struct pool_frame *f;
        if (m->raw != cross) {
            uint64_t pgno = RAW_FIRST + rand_r(&w->seed) % RAW_PAGES;
            if (cross) {                      /* hooked reader on a raw page */
                if (pool_get(w->pool, pgno, &f) != FFDB_CORRUPT)
                    w->errors++;
                continue;
            }
            if (pool_lookup_raw(w->pool, pgno, &f)) {
                m->served_raw++;
                w->errors += !check_raw(f->data, pgno, 6) || f->pgno != pgno;
                pool_unpin(w->pool, f);
            } else if (pager_read_page(pg, pgno, buf) == 0 && check_raw(buf, pgno, 6)) {
                pool_install_raw(w->pool, pgno, buf);
            } else {
                w->errors++;
            }
        } else {
            uint64_t pgno = BASE + rand_r(&w->seed) % 100;
            if (cross) {                      /* raw reader on a hooked page */
                if (pool_lookup_raw(w->pool, pgno, &f)) {
                    w->errors++;
                    pool_unpin(w->pool, f);
                }
                continue;
            }
            int rc = pool_get(w->pool, pgno, &f);
            if (rc < 0) {
                if (!w->errors++)
                    w->first_rc = rc;
                continue;
            }
            w->errors += !check_page(f->data, pgno, 0) || f->pgno != pgno;
            pool_unpin(w->pool, f);
        }
    }
    free(buf);
    return NULL;
}

Test(pool_concurrency, raw_and_hooked_readers_keep_apart)
{
    struct pool *pool = open_pool(32, leaf_only_hook, NULL);
    struct mixed m[THREADS];
    pthread_t t[THREADS];
    pthread_barrier_t start;
    long served = 0;

    write_raw_pages(RAW_FIRST, RAW_PAGES, 6);
    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        m[i] = (struct mixed){ .w = { .pool = pool, .start = &start, .seed = 99u + 31u * i },
                               .raw = i % 2 };
        cr_assert_eq(pthread_create(&t[i], NULL, mixed_main, &m[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(m[i].w.errors, 0, "thread %d (%s): %d errors, first %d", i,
                     m[i].raw ? "raw" : "hooked", m[i].w.errors, m[i].w.first_rc);
        cr_expect_gt(m[i].w.ops, 100);
        served += m[i].served_raw;
    }
    pthread_barrier_destroy(&start);
    cr_assert_gt(served, 0, "raw pages were served from frames");
    cr_assert_eq(counters(pool).pinned, 0);
    pool_close(pool);
}

/* ---- over a real file --------------------------------------------------------- */

static char dir_path[64];
static char file_path[96];

static void setup_file(void)
{
    strcpy(dir_path, "/tmp/ffdb-pool-XXXXXX");
    cr_assert_not_null(mkdtemp(dir_path));
    snprintf(file_path, sizeof(file_path), "%s/pool.ffdb", dir_path);
    cr_assert_eq(pager_open(file_path, NULL, FFDB_NODIRECT | FFDB_NOSYNC, &pg), 0);
    write_file_pages(BASE, FILE_PAGES, 0);
}

static void teardown_file(void)
{
    pager_close(pg);
    pg = NULL;
    unlink(file_path);
    rmdir(dir_path);
}

TestSuite(pool_file, .init = setup_file, .fini = teardown_file, .timeout = 10);

Test(pool_file, evicts_spills_and_detects_corruption)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    struct pool_frame *f;

    for (unsigned i = 0; i < 32; i++)
        new_page(pool, NEW_BASE + i, 1);
    for (unsigned i = 0; i < 100; i++)
        get_check(pool, BASE + i, 0);
    for (unsigned i = 0; i < 32; i++)
        get_check(pool, NEW_BASE + i, 1);
    cr_assert_geq(counters(pool).spills, 16);

    int fd = open(file_path, O_WRONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, "X", 1, (off_t)(BASE + 150) * PS + 99), 1);
    close(fd);
    cr_assert_eq(pool_get(pool, BASE + 150, &f), FFDB_CORRUPT);
    cr_assert_eq(counters(pool).pinned, 0);
    pool_close(pool);
}

/* ---- growing pool ----------------------------------------------------------------- */

/* A growing pool takes a fresh frame per miss instead of evicting, up to
 * the file's size plus a quarter: the whole file fits, nothing is evicted,
 * and the second pass is all hits. Pages stay correct across growth. */
Test(pool, grows_on_demand_to_the_file)
{
    struct pool *pool = NULL;
    cr_assert_eq(pool_open(pg, 16, 1, NULL, NULL, &pool), 0);
    /* Its size is its limit: the file (202 pages) and a quarter. */
    cr_assert_eq(pool_frame_count(pool), (BASE + FILE_PAGES) * 5 / 4);
    for (unsigned pass = 0; pass < 2; pass++)
        for (uint64_t p = BASE; p < BASE + FILE_PAGES; p++)
            get_check(pool, p, 0);
    struct pool_counters c = counters(pool);
    cr_assert_eq(c.evictions, 0, "the whole file fits: no eviction");
    cr_assert_eq(c.misses, FILE_PAGES);
    cr_assert_eq(c.hits, FILE_PAGES);
    /* New pages past the file make it longer once written: the pool keeps
     * growing with it (limit looked at again every 1024 misses), and every
     * page reads back. */
    for (uint64_t i = 0; i < 1200; i++) {
        struct pool_frame *f = NULL;
        cr_assert_eq(pool_new(pool, NEW_BASE + i, &f), 0);
        fill_page(f->data, NEW_BASE + i, 1);
        pool_unpin(pool, f);
        cr_assert_eq(pool_flush_range(pool, NEW_BASE + i, 1), 0);
    }
    for (uint64_t i = 0; i < 1200; i++)
        get_check(pool, NEW_BASE + i, 1);
    for (uint64_t p = BASE; p < BASE + FILE_PAGES; p++)
        get_check(pool, p, 0);
    c = counters(pool);
    cr_assert_gt(c.frames, FILE_PAGES, "the pool followed the file (%llu frames)",
                 (unsigned long long)c.frames);
    cr_assert_eq(c.pinned, 0);
    pool_close(pool);
}

/* A fixed pool (grow 0) never takes more frames than it was given. */
Test(pool, fixed_pool_stays_fixed)
{
    struct pool *pool = open_pool(16, NULL, NULL);
    for (uint64_t p = BASE; p < BASE + FILE_PAGES; p++)
        get_check(pool, p, 0);
    struct pool_counters c = counters(pool);
    cr_assert_eq(c.frames, 16);
    cr_assert_geq(c.evictions, FILE_PAGES - 16);
    pool_close(pool);
}
