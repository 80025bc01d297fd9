/*
 * test_pager.c — the pager, the posix backend and the in-memory backend.
 *
 * Suites:
 *   pager_posix  real files in a scratch directory: round trips with and
 *                without O_DIRECT and io_uring, the O_DIRECT fallback,
 *                corruption detection, reads past the end, locking, growth
 *                and full syncs, large batches, concurrent writers/readers.
 *   pager_mem    the pager over io_mem: failed syncs, ENOSPC, coalescing
 *                of batches into runs, NOSYNC, crash and corruption.
 *   io_mem       the in-memory disk itself: crash modes, faults, the hook,
 *                locks, stale handles, zero fill, alignment.
 *
 * Pages carry a pattern derived from (pgno, version), so a wrong, stale or
 * torn page is caught by check_page().
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/checksum.h"
#include "common/error.h"
#include "common/format.h"
#include "pager/pager.h"
#include "testing/io_mem.h"

#define PS 4096u

/* ---- helpers ---------------------------------------------------------------- */

static char pager_test_dir[256];
static char pager_test_file[320];

static void pager_test_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(pager_test_dir, sizeof(pager_test_dir), "%s/ffdb-pager-XXXXXX", tmp);
    cr_assert(mkdtemp(pager_test_dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(pager_test_file, sizeof(pager_test_file), "%s/db.ffdb", pager_test_dir);
}

static int pager_test_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void pager_test_teardown(void)
{
    pager_posix_refuse_direct(0);
    if (pager_test_dir[0])
        nftw(pager_test_dir, pager_test_rm, 8, FTW_DEPTH | FTW_PHYS);
    pager_test_dir[0] = 0;
}

static void *pager_test_buf(size_t bytes)
{
    void *p = NULL;
    cr_assert_eq(posix_memalign(&p, 4096, bytes), 0);
    memset(p, 0, bytes);
    return p;
}

static uint64_t pager_test_pattern(uint64_t pgno, unsigned version, size_t off)
{
    return (pgno * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)version << 40) ^ off;
}

static void fill_page(uint8_t *p, unsigned ps, uint64_t pgno, unsigned version)
{
    memset(p, 0, PAGE_HEADER_SIZE);
    st64(p + PH_PGNO, pgno);
    st64(p + PH_TXID, version);
    p[PH_KIND] = PAGE_LEAF;
    for (size_t off = PAGE_HEADER_SIZE; off < ps; off += 8)
        st64(p + off, pager_test_pattern(pgno, version, off));
}

static int check_page(const uint8_t *p, unsigned ps, uint64_t pgno, unsigned version)
{
    if (ld64(p + PH_PGNO) != pgno || ld64(p + PH_TXID) != version)
        return 0;
    for (size_t off = PAGE_HEADER_SIZE; off < ps; off += 8)
        if (ld64(p + off) != pager_test_pattern(pgno, version, off))
            return 0;
    return 1;
}

static struct pager *open_ok(const char *path, const ffdb_io *io, unsigned flags)
{
    struct pager *pg = NULL;
    int rc = pager_open(path, io, flags, &pg);
    cr_assert_eq(rc, 0, "pager_open: %s", ffdb_strerror(rc));
    return pg;
}

/* Write pages[0..n) (version v) as one batch, in the order given. */
static void write_batch(struct pager *pg, const uint64_t *pgnos, size_t n, unsigned v)
{
    unsigned ps = pager_page_size(pg);
    uint8_t *buf = pager_test_buf((size_t)n * ps);
    struct pager_page *pages = calloc(n, sizeof(*pages));
    int rc;

    for (size_t i = 0; i < n; i++) {
        pages[i].pgno = pgnos[i];
        pages[i].data = buf + i * ps;
        fill_page(pages[i].data, ps, pgnos[i], v);
    }
    rc = pager_write_pages(pg, pages, n);
    cr_assert_eq(rc, 0, "pager_write_pages: %s", ffdb_strerror(rc));
    for (size_t i = 0; i < n; i++) /* the caller's array keeps its order */
        cr_assert_eq(pages[i].pgno, pgnos[i]);
    free(pages);
    free(buf);
}

static void expect_page(struct pager *pg, uint64_t pgno, unsigned v)
{
    unsigned ps = pager_page_size(pg);
    uint8_t *buf = pager_test_buf(ps);
    int rc = pager_read_page(pg, pgno, buf);
    cr_assert_eq(rc, 0, "read of page %llu: %s", (unsigned long long)pgno, ffdb_strerror(rc));
    cr_assert(check_page(buf, ps, pgno, v), "page %llu has wrong contents",
              (unsigned long long)pgno);
    free(buf);
}

static void expect_corrupt(int rc, uint64_t pgno, const char *words)
{
    ffdb_error_info info;
    ffdb_last_error(&info);
    cr_assert_eq(rc, FFDB_CORRUPT, "expected FFDB_CORRUPT, got %s", ffdb_strerror(rc));
    cr_assert_eq(info.code, FFDB_CORRUPT);
    cr_assert_eq(info.pgno, pgno, "last error names page %llu, not %llu",
                 (unsigned long long)info.pgno, (unsigned long long)pgno);
    cr_assert(strstr(info.message, words), "message '%s' lacks '%s'", info.message, words);
}

/* What this machine can do, so that caps are checked exactly where possible. */
static int direct_supported(void)
{
    char probe[400];
    int fd;
    snprintf(probe, sizeof(probe), "%s/probe", pager_test_dir);
    fd = open(probe, O_RDWR | O_CREAT | O_DIRECT, 0644);
    if (fd >= 0)
        close(fd);
    unlink(probe);
    return fd >= 0;
}

static int uring_supported(void)
{
    struct io_uring ring;
    if (io_uring_queue_init(4, &ring, 0) != 0)
        return 0;
    io_uring_queue_exit(&ring);
    return 1;
}

/* The round trip shared by the four flag combinations: an out-of-order batch
 * of adjacent and isolated pages, a run, an overwrite, sync, reopen, read. */
static void roundtrip(unsigned flags, unsigned page_size)
{
    static const uint64_t scattered[] = { 9, 2, 3, 40, 7, 8, 4, 100, 41, 6 };
    size_t n = sizeof(scattered) / sizeof(scattered[0]);
    struct pager *pg = open_ok(pager_test_file, NULL, flags);
    unsigned caps = pager_caps(pg), ps = page_size;
    uint8_t *run = pager_test_buf(16 * (size_t)ps);
    struct pager_counters c;

    cr_assert_eq(!!(caps & FFDB_IO_DIRECT), !(flags & (FFDB_NODIRECT | FFDB_NOSYNC)) && direct_supported());
    /* A ring only serves direct writes (io_posix.c), which a durable
     * handle does only with FFDB_DIRECTWRITE (else it reads direct and
     * writes buffered). */
    cr_assert_eq(!!(caps & FFDB_IO_URING), !(flags & FFDB_NOURING) && uring_supported() &&
                                               (caps & FFDB_IO_DIRECT) && (flags & FFDB_DIRECTWRITE));
    pager_set_page_size(pg, ps);
    write_batch(pg, scattered, n, 1);
    for (size_t i = 0; i < 16; i++)
        fill_page(run + i * ps, ps, 200 + i, 2);
    cr_assert_eq(pager_write_run(pg, 200, 16, run), 0);
    write_batch(pg, (uint64_t[]){ 7, 3 }, 2, 3); /* overwrite two */
    cr_assert_eq(pager_sync(pg, 0), 0);
    pager_counters(pg, &c);
    cr_assert_eq(c.page_writes, n + 16 + 2);
    cr_assert_eq(c.write_batches, 3);
    pager_close(pg);

    pg = open_ok(pager_test_file, NULL, flags | FFDB_NOCREATE);
    pager_set_page_size(pg, ps);
    for (size_t i = 0; i < n; i++)
        expect_page(pg, scattered[i], scattered[i] == 7 || scattered[i] == 3 ? 3 : 1);
    memset(run, 0, 16 * (size_t)ps);
    cr_assert_eq(pager_read_run(pg, 200, 16, run), 0);
    for (size_t i = 0; i < 16; i++)
        cr_assert(check_page(run + i * ps, ps, 200 + i, 2));
    pager_counters(pg, &c);
    cr_assert_eq(c.page_reads, n + 16);
    pager_close(pg);
    free(run);
}

/* ---- pager_posix -------------------------------------------------------------- */

TestSuite(pager_posix, .init = pager_test_setup, .fini = pager_test_teardown, .timeout = 20);

Test(pager_posix, roundtrip_direct_read_buffered_write) { roundtrip(0, PS); }
Test(pager_posix, roundtrip_direct_uring) { roundtrip(FFDB_DIRECTWRITE, PS); }
Test(pager_posix, roundtrip_direct_nouring) { roundtrip(FFDB_DIRECTWRITE | FFDB_NOURING, PS); }
Test(pager_posix, roundtrip_buffered_uring) { roundtrip(FFDB_NODIRECT, PS); }
Test(pager_posix, roundtrip_buffered_nouring) { roundtrip(FFDB_NODIRECT | FFDB_NOURING, PS); }
Test(pager_posix, roundtrip_16k_pages) { roundtrip(FFDB_DIRECTWRITE, 16384); }
Test(pager_posix, roundtrip_16k_pages_buffered_write) { roundtrip(0, 16384); }
Test(pager_posix, roundtrip_8k_pages_nouring) { roundtrip(FFDB_NOURING, 8192); }

Test(pager_posix, direct_refused_falls_back_to_buffered)
{
    struct pager *pg;
    pager_posix_refuse_direct(1);
    pg = open_ok(pager_test_file, NULL, 0);
    cr_assert_eq(pager_caps(pg) & FFDB_IO_DIRECT, 0);
    write_batch(pg, (uint64_t[]){ 5, 2 }, 2, 1);
    cr_assert_eq(pager_sync(pg, 0), 0);
    expect_page(pg, 5, 1);
    expect_page(pg, 2, 1);
    pager_close(pg);
}

/* More runs than the ring holds, and a run longer than IOV_MAX pages. */
static void large_batches(unsigned flags)
{
    enum { SCATTERED = 150, LONG_RUN = 1100 };
    uint64_t *pgnos = calloc(SCATTERED + LONG_RUN, sizeof(*pgnos));
    uint8_t *buf = pager_test_buf((size_t)LONG_RUN * PS);
    struct pager *pg = open_ok(pager_test_file, NULL, flags);

    for (size_t i = 0; i < SCATTERED; i++)
        pgnos[i] = 2 + 2 * (SCATTERED - i); /* descending, never adjacent */
    for (size_t i = 0; i < LONG_RUN; i++)
        pgnos[SCATTERED + i] = 1000 + (i * 7919) % LONG_RUN; /* one run, shuffled */
    write_batch(pg, pgnos, SCATTERED + LONG_RUN, 4);
    cr_assert_eq(pager_sync(pg, 0), 0);
    for (size_t i = 0; i < SCATTERED; i++)
        expect_page(pg, pgnos[i], 4);
    cr_assert_eq(pager_read_run(pg, 1000, LONG_RUN, buf), 0); /* several 1 MiB reads */
    for (size_t i = 0; i < LONG_RUN; i++)
        cr_assert(check_page(buf + i * PS, PS, 1000 + i, 4), "page %zu", 1000 + i);
    pager_close(pg);
    free(buf);
    free(pgnos);
}

Test(pager_posix, large_batches_uring) { large_batches(0); }
Test(pager_posix, large_batches_pwritev) { large_batches(FFDB_NOURING | FFDB_NODIRECT); }

Test(pager_posix, checksum_mismatch_is_corrupt)
{
    struct pager *pg = open_ok(pager_test_file, NULL, 0);
    uint8_t *buf = pager_test_buf(3 * PS);
    int fd;

    write_batch(pg, (uint64_t[]){ 2, 3, 4 }, 3, 1);
    pager_close(pg);
    fd = open(pager_test_file, O_RDWR);
    cr_assert(fd >= 0);
    cr_assert_eq(pwrite(fd, "X", 1, 3 * PS + 1000), 1); /* one byte of page 3 */
    close(fd);
    pg = open_ok(pager_test_file, NULL, 0);
    expect_page(pg, 2, 1);
    expect_corrupt(pager_read_page(pg, 3, buf), 3, "checksum");
    expect_corrupt(pager_read_run(pg, 2, 3, buf), 3, "checksum"); /* names the bad one */
    expect_page(pg, 4, 1);
    pager_close(pg);
    free(buf);
}

Test(pager_posix, wrong_pgno_in_header_is_corrupt)
{
    struct pager *pg;
    uint8_t *buf = pager_test_buf(PS);
    int fd = open(pager_test_file, O_RDWR | O_CREAT, 0644);

    cr_assert(fd >= 0);
    fill_page(buf, PS, 7, 1); /* a valid page 7 ... */
    page_seal(buf, PS);
    cr_assert_eq(pwrite(fd, buf, PS, 5 * PS), PS); /* ... stored where page 5 belongs */
    close(fd);
    pg = open_ok(pager_test_file, NULL, 0);
    expect_corrupt(pager_read_page(pg, 5, buf), 5, "names page 7");
    expect_corrupt(pager_read_page(pg, 4, buf), 4, "checksum"); /* a hole of zeros */
    pager_close(pg);
    free(buf);
}

Test(pager_posix, read_past_end_is_corrupt)
{
    struct pager *pg = open_ok(pager_test_file, NULL, 0);
    uint8_t *buf = pager_test_buf(4 * PS);
    uint64_t pages;

    expect_corrupt(pager_read_page(pg, 0, buf), 0, "past the end");
    write_batch(pg, (uint64_t[]){ 0, 1, 2 }, 3, 1);
    cr_assert_eq(pager_file_pages(pg, &pages), 0);
    cr_assert_eq(pages, 3);
    expect_page(pg, 2, 1);
    expect_corrupt(pager_read_page(pg, 3, buf), 3, "past the end");
    expect_corrupt(pager_read_page(pg, UINT64_MAX, buf), UINT64_MAX, "past the end");
    expect_corrupt(pager_read_run(pg, 1, 4, buf), 3, "past the end");
    cr_assert_eq(pager_read_run(pg, 0, 3, buf), 0);
    pager_close(pg);
    free(buf);
}

Test(pager_posix, read_raw_reports_bytes_before_the_end)
{
    struct pager *pg = open_ok(pager_test_file, NULL, 0);
    uint8_t *buf = pager_test_buf(4 * PS);

    cr_assert_eq(pager_read_raw(pg, buf, 2 * PS, 0), 0); /* empty file */
    write_batch(pg, (uint64_t[]){ 0 }, 1, 1);
    memset(buf, 0xAA, 4 * PS);
    cr_assert_eq(pager_read_raw(pg, buf, 2 * PS, 0), PS);
    cr_assert(check_page(buf, PS, 0, 1));
    for (size_t i = PS; i < 2 * PS; i++)
        cr_assert_eq(buf[i], 0, "byte %zu past the end is not zero", i);
    cr_assert_eq(pager_read_raw(pg, buf, 512, PS - 512), 512);
    cr_assert_eq(pager_read_raw(pg, buf, PS, PS), 0);
    pager_close(pg);
    free(buf);
}

Test(pager_posix, odd_sized_file_reads_short)
{
    struct pager *pg;
    uint8_t *buf = pager_test_buf(2 * PS);
    int fd = open(pager_test_file, O_RDWR | O_CREAT, 0644);

    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "hello, not a database\n", 22), 22);
    close(fd);
    pg = open_ok(pager_test_file, NULL, 0); /* O_DIRECT on a 22-byte file */
    memset(buf, 0xAA, 2 * PS);
    cr_assert_eq(pager_read_raw(pg, buf, 2 * PS, 0), 22);
    cr_assert_eq(memcmp(buf, "hello", 5), 0);
    cr_assert_eq(buf[22], 0);
    cr_assert_eq(buf[2 * PS - 1], 0);
    expect_corrupt(pager_read_page(pg, 0, buf), 0, "past the end");
    pager_close(pg);
    free(buf);
}

Test(pager_posix, second_writer_is_locked_out)
{
    struct pager *a = open_ok(pager_test_file, NULL, 0), *b = NULL;
    ffdb_error_info info;

    cr_assert_eq(pager_open(pager_test_file, NULL, 0, &b), FFDB_ELOCKED);
    cr_assert_null(b);
    ffdb_last_error(&info);
    cr_assert_eq(info.code, FFDB_ELOCKED);
    cr_assert(strstr(info.message, "locked"), "message: %s", info.message);
    cr_assert_eq(pager_open(pager_test_file, NULL, FFDB_RDONLY, &b), FFDB_ELOCKED);
    pager_close(a);
    b = open_ok(pager_test_file, NULL, FFDB_NODIRECT); /* released on close */
    pager_close(b);
}

Test(pager_posix, readers_share_and_exclude_writers)
{
    struct pager *a, *b, *c = NULL;
    pager_close(open_ok(pager_test_file, NULL, 0)); /* create it */
    a = open_ok(pager_test_file, NULL, FFDB_RDONLY);
    b = open_ok(pager_test_file, NULL, FFDB_RDONLY);
    cr_assert_eq(pager_caps(a) & FFDB_IO_URING, 0); /* readers never write */
    cr_assert_eq(pager_open(pager_test_file, NULL, 0, &c), FFDB_ELOCKED);
    pager_close(a);
    pager_close(b);
    c = open_ok(pager_test_file, NULL, 0);
    pager_close(c);
}

Test(pager_posix, missing_file_and_readonly_rules)
{
    struct pager *pg = NULL;
    uint8_t *buf = pager_test_buf(PS);

    cr_assert_eq(pager_open(pager_test_file, NULL, FFDB_RDONLY, &pg), FFDB_NOTFOUND);
    cr_assert_eq(pager_open(pager_test_file, NULL, FFDB_NOCREATE, &pg), FFDB_NOTFOUND);
    cr_assert_eq(access(pager_test_file, F_OK), -1);
    pager_close(open_ok(pager_test_file, NULL, 0));
    pg = open_ok(pager_test_file, NULL, FFDB_RDONLY);
    fill_page(buf, PS, 2, 1);
    cr_assert_eq(pager_write_run(pg, 2, 1, buf), FFDB_EREADONLY);
    cr_assert_eq(pager_reserve(pg, 100), FFDB_EREADONLY);
    cr_assert_eq(pager_truncate(pg, 0), FFDB_EREADONLY);
    cr_assert_eq(pager_sync(pg, 1), 0);
    cr_assert_eq(pager_failed(pg), 0);
    pager_close(pg);
    free(buf);
}

Test(pager_posix, growth_makes_the_next_sync_full)
{
    struct pager *pg = open_ok(pager_test_file, NULL, 0);
    struct pager_counters c;
    uint64_t pages;

    write_batch(pg, (uint64_t[]){ 0, 1 }, 2, 1); /* extends an empty file */
    cr_assert_eq(pager_sync(pg, 0), 0);
    pager_counters(pg, &c);
    cr_assert_eq(c.syncs, 1);
    cr_assert_eq(c.full_syncs, 1);
    write_batch(pg, (uint64_t[]){ 1 }, 1, 2); /* inside: data sync */
    cr_assert_eq(pager_sync(pg, 0), 0);
    pager_counters(pg, &c);
    cr_assert_eq(c.syncs, 2);
    cr_assert_eq(c.full_syncs, 1);
    cr_assert_eq(pager_reserve(pg, 10), 0); /* 2 pages + the 256 KiB minimum chunk */
    cr_assert_eq(pager_file_pages(pg, &pages), 0);
    cr_assert_eq(pages, 2 + (256u << 10) / PS);
    cr_assert_eq(pager_reserve(pg, 10), 0); /* already there: no change */
    cr_assert_eq(pager_sync(pg, 0), 0);
    write_batch(pg, (uint64_t[]){ 20 }, 1, 1); /* inside the reserve */
    cr_assert_eq(pager_sync(pg, 0), 0);
    pager_counters(pg, &c);
    cr_assert_eq(c.syncs, 4);
    cr_assert_eq(c.full_syncs, 2);
    cr_assert_eq(pager_sync(pg, 1), 0); /* asked for */
    cr_assert_eq(pager_truncate(pg, 30), 0);
    cr_assert_eq(pager_file_pages(pg, &pages), 0);
    cr_assert_eq(pages, 30);
    cr_assert_eq(pager_sync(pg, 0), 0);
    pager_counters(pg, &c);
    cr_assert_eq(c.full_syncs, 4);
    expect_page(pg, 20, 1);
    pager_close(pg);
}

Test(pager_posix, reserve_grows_by_an_eighth)
{
    struct pager *pg = open_ok(pager_test_file, NULL, 0);
    uint64_t pages;
    cr_assert_eq(pager_truncate(pg, 1024), 0); /* 4 MiB: an eighth is 512 KiB */
    cr_assert_eq(pager_reserve(pg, 1025), 0);
    cr_assert_eq(pager_file_pages(pg, &pages), 0);
    cr_assert_eq(pages, 1024 + 128);
    cr_assert_eq(pager_reserve(pg, 5000), 0); /* more than a chunk: exactly that */
    cr_assert_eq(pager_file_pages(pg, &pages), 0);
    cr_assert_eq(pages, 5000);
    pager_close(pg);
}

Test(pager_posix, repeated_pgno_in_a_batch_is_refused)
{
    struct pager *pg = open_ok(pager_test_file, NULL, 0);
    uint8_t *buf = pager_test_buf(2 * PS);
    struct pager_page pages[2] = { { 4, buf }, { 4, buf + PS } };
    fill_page(buf, PS, 4, 1);
    fill_page(buf + PS, PS, 4, 2);
    cr_assert_eq(pager_write_pages(pg, pages, 2), FFDB_EINVAL);
    cr_assert_eq(pager_write_pages(pg, pages, 0), 0);
    pager_close(pg);
    free(buf);
}

struct pager_test_worker {
    struct pager *pg;
    unsigned id;
    int failures;
};

/* Each worker writes its own pages in small batches and reads them back
 * while the others do the same. */
static void *pager_test_work(void *arg)
{
    struct pager_test_worker *w = arg;
    uint8_t *buf = pager_test_buf(2 * PS);
    for (unsigned i = 0; i < 100; i++) {
        uint64_t a = 2 + (uint64_t)w->id * 1000 + 2 * i, b = a + 1;
        struct pager_page pages[2] = { { b, buf + PS }, { a, buf } };
        fill_page(buf, PS, a, i + 1);
        fill_page(buf + PS, PS, b, i + 1);
        if (pager_write_pages(w->pg, pages, 2) != 0)
            w->failures++;
        memset(buf, 0, 2 * PS);
        if (pager_read_run(w->pg, a, 2, buf) != 0 || !check_page(buf, PS, a, i + 1) ||
            !check_page(buf + PS, PS, b, i + 1))
            w->failures++;
    }
    free(buf);
    return NULL;
}

static void concurrent(unsigned flags)
{
    struct pager *pg = open_ok(pager_test_file, NULL, flags);
    struct pager_test_worker w[4];
    pthread_t t[4];
    struct pager_counters c;

    cr_assert_eq(pager_reserve(pg, 4000), 0); /* no size change under the readers */
    for (unsigned i = 0; i < 4; i++) {
        w[i] = (struct pager_test_worker){ pg, i, 0 };
        pthread_create(&t[i], NULL, pager_test_work, &w[i]);
    }
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].failures, 0, "worker %u", i);
    }
    pager_counters(pg, &c);
    cr_assert_eq(c.page_writes, 800);
    cr_assert_eq(c.page_reads, 800);
    pager_close(pg);
}

Test(pager_posix, concurrent_writers_and_readers_uring) { concurrent(0); }
Test(pager_posix, concurrent_writers_and_readers_pwritev) { concurrent(FFDB_NOURING); }

/* ---- pager_mem ------------------------------------------------------------------ */

static struct io_mem *pager_test_mem;

static void pager_mem_setup(void)
{
    pager_test_mem = io_mem_create();
    cr_assert_not_null(pager_test_mem);
}

static void pager_mem_teardown(void)
{
    io_mem_destroy(pager_test_mem);
    pager_test_mem = NULL;
}

static struct pager *mem_pager(unsigned flags)
{
    return open_ok("mem.ffdb", io_mem_io(pager_test_mem), flags);
}

TestSuite(pager_mem, .init = pager_mem_setup, .fini = pager_mem_teardown, .timeout = 20);

Test(pager_mem, failed_sync_fails_the_pager)
{
    struct pager *pg = mem_pager(0);
    uint8_t *buf = pager_test_buf(PS);
    ffdb_error_info info;

    write_batch(pg, (uint64_t[]){ 2 }, 1, 1);
    io_mem_fail(pager_test_mem, IO_MEM_SYNC, 1, FFDB_EIO, 0); /* one-shot */
    cr_assert_eq(pager_sync(pg, 0), FFDB_EIO);
    cr_assert_eq(pager_failed(pg), FFDB_EIO);
    fill_page(buf, PS, 3, 1);
    cr_assert_eq(pager_write_run(pg, 3, 1, buf), FFDB_EFAILED);
    ffdb_last_error(&info);
    cr_assert_eq(info.code, FFDB_EFAILED);
    cr_assert_eq(pager_write_pages(pg, &(struct pager_page){ 3, buf }, 1), FFDB_EFAILED);
    cr_assert_eq(pager_sync(pg, 0), FFDB_EFAILED); /* the backend would succeed now */
    cr_assert_eq(pager_sync(pg, 1), FFDB_EFAILED);
    cr_assert_eq(pager_reserve(pg, 1000), FFDB_EFAILED);
    cr_assert_eq(pager_truncate(pg, 0), FFDB_EFAILED);
    cr_assert_eq(pager_failed(pg), FFDB_EIO);
    expect_page(pg, 2, 1); /* reads still work */
    pager_close(pg);
    pg = mem_pager(0); /* a new handle starts healthy */
    cr_assert_eq(pager_failed(pg), 0);
    cr_assert_eq(pager_sync(pg, 0), 0);
    pager_close(pg);
    free(buf);
}

Test(pager_mem, enospc_on_write_is_reported_and_not_fatal)
{
    struct pager *pg = mem_pager(0);
    uint8_t *buf = pager_test_buf(PS);

    io_mem_fail(pager_test_mem, IO_MEM_WRITE, 2, FFDB_ENOSPC, 0);
    write_batch(pg, (uint64_t[]){ 2 }, 1, 1);
    fill_page(buf, PS, 3, 1);
    cr_assert_eq(pager_write_run(pg, 3, 1, buf), FFDB_ENOSPC);
    cr_assert_eq(pager_failed(pg), 0);
    cr_assert_eq(pager_write_run(pg, 3, 1, buf), 0);
    io_mem_fail(pager_test_mem, IO_MEM_GROW, 1, FFDB_ENOSPC, 1); /* sticky */
    cr_assert_eq(pager_reserve(pg, 100), FFDB_ENOSPC);
    cr_assert_eq(pager_reserve(pg, 100), FFDB_ENOSPC);
    cr_assert_eq(pager_sync(pg, 0), 0);
    expect_page(pg, 3, 1);
    pager_close(pg);
    free(buf);
}

struct pager_test_runs {
    size_t count;
    uint64_t offset[16], len[16];
    int syncs;
};

static int pager_test_record(void *arg, const struct io_mem_event *ev)
{
    struct pager_test_runs *r = arg;
    if (ev->op == IO_MEM_SYNC) {
        r->syncs++;
    } else if (r->count < 16) {
        r->offset[r->count] = ev->offset;
        r->len[r->count++] = ev->len;
    }
    return 0;
}

Test(pager_mem, batch_is_sorted_and_coalesced_into_runs)
{
    struct pager *pg = mem_pager(0);
    struct pager_test_runs r = { 0 };
    struct io_mem_counts c;

    io_mem_set_hook(pager_test_mem, pager_test_record, &r);
    write_batch(pg, (uint64_t[]){ 12, 5, 3, 20, 10, 4, 11 }, 7, 1);
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.calls[IO_MEM_WRITE], 1); /* one backend call */
    cr_assert_eq(r.count, 3);
    cr_assert_eq(r.offset[0], 3 * PS);
    cr_assert_eq(r.len[0], 3 * PS);
    cr_assert_eq(r.offset[1], 10 * PS);
    cr_assert_eq(r.len[1], 3 * PS);
    cr_assert_eq(r.offset[2], 20 * PS);
    cr_assert_eq(r.len[2], PS);
    for (uint64_t p = 3; p <= 5; p++)
        expect_page(pg, p, 1);
    expect_page(pg, 20, 1);
    pager_close(pg);
}

Test(pager_mem, nosync_skips_the_backend)
{
    struct pager *pg = mem_pager(FFDB_NOSYNC);
    struct io_mem_counts c;
    write_batch(pg, (uint64_t[]){ 2 }, 1, 1);
    cr_assert_eq(pager_sync(pg, 1), 0);
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.calls[IO_MEM_SYNC], 0);
    pager_close(pg);
}

Test(pager_mem, growth_is_synced_with_fsync)
{
    struct pager *pg = mem_pager(0);
    struct io_mem_counts c;
    write_batch(pg, (uint64_t[]){ 0, 1, 2 }, 3, 1);
    cr_assert_eq(pager_sync(pg, 0), 0);
    cr_assert_eq(pager_reserve(pg, 50), 0);
    cr_assert_eq(pager_sync(pg, 0), 0);
    write_batch(pg, (uint64_t[]){ 40 }, 1, 1);
    cr_assert_eq(pager_sync(pg, 0), 0);
    write_batch(pg, (uint64_t[]){ 100 }, 1, 1);
    cr_assert_eq(pager_sync(pg, 0), 0);
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.full_syncs, 3);
    cr_assert_eq(c.calls[IO_MEM_SYNC], 4);
    cr_assert_eq(c.datasync_size_changes, 0);
    pager_close(pg);
}

Test(pager_mem, crash_loses_unsynced_pages_and_corruption_is_caught)
{
    struct pager *pg = mem_pager(0);
    uint8_t *buf = pager_test_buf(PS);
    uint8_t x = 0x5A;

    write_batch(pg, (uint64_t[]){ 0, 1, 2 }, 3, 1);
    cr_assert_eq(pager_sync(pg, 0), 0);
    write_batch(pg, (uint64_t[]){ 2, 3 }, 2, 2);
    io_mem_crash(pager_test_mem, IO_MEM_CRASH_DROP, 1);
    cr_assert_eq(pager_sync(pg, 0), FFDB_EIO); /* the old handle died with the power */
    pager_close(pg);
    pg = mem_pager(0);
    expect_page(pg, 2, 1);
    expect_corrupt(pager_read_page(pg, 3, buf), 3, "past the end");
    cr_assert_eq(io_mem_patch(pager_test_mem, 1 * PS + 77, &x, 1), 0);
    expect_corrupt(pager_read_page(pg, 1, buf), 1, "checksum");
    pager_close(pg);
    free(buf);
}

Test(pager_mem, backend_errors_carry_a_message)
{
    struct pager *pg = mem_pager(0);
    uint8_t *buf = pager_test_buf(PS);
    ffdb_error_info info;

    write_batch(pg, (uint64_t[]){ 0 }, 1, 1);
    io_mem_fail(pager_test_mem, IO_MEM_READ, 1, FFDB_EIO, 0);
    cr_assert_eq(pager_read_page(pg, 0, buf), FFDB_EIO);
    ffdb_last_error(&info);
    cr_assert_eq(info.code, FFDB_EIO);
    cr_assert_eq(info.pgno, 0);
    cr_assert(strstr(info.message, "read"), "message: %s", info.message);
    expect_page(pg, 0, 1);
    pager_close(pg);
    free(buf);
}

/* ---- io_mem ------------------------------------------------------------------------ */

TestSuite(io_mem, .init = pager_mem_setup, .fini = pager_mem_teardown, .timeout = 20);

static ffdb_file *iomem_open(unsigned flags, int expect)
{
    const ffdb_io *io = io_mem_io(pager_test_mem);
    ffdb_file *f = NULL;
    unsigned caps = 99;
    int rc = io->open(io, "x", flags, &f, &caps);
    cr_assert_eq(rc, expect, "open: %s", ffdb_strerror(rc));
    if (rc == 0)
        cr_assert_eq(caps, 0);
    return f;
}

/* Write len bytes of byte value v at offset as one run of one iovec. */
static int iomem_write(ffdb_file *f, uint64_t offset, size_t len, int v)
{
    uint8_t *buf = pager_test_buf(len);
    struct iovec iov = { buf, len };
    ffdb_io_write run = { offset, &iov, 1 };
    int rc;
    memset(buf, v, len);
    rc = io_mem_io(pager_test_mem)->write(f, &run, 1);
    free(buf);
    return rc;
}

static int iomem_durable_byte(uint64_t offset)
{
    uint8_t b;
    if (io_mem_durable_read(pager_test_mem, offset, &b, 1) != 1)
        return -1;
    return b;
}

Test(io_mem, crash_drop_keeps_only_synced_data)
{
    const ffdb_io *io = io_mem_io(pager_test_mem);
    ffdb_file *f = iomem_open(0, 0);
    cr_assert_eq(iomem_write(f, 0, 8192, 1), 0);
    cr_assert_eq(io->sync(f, 1), 0);
    cr_assert_eq(iomem_write(f, 4096, 8192, 2), 0);
    cr_assert_eq(io_mem_current_size(pager_test_mem), 12288);
    io_mem_crash(pager_test_mem, IO_MEM_CRASH_DROP, 7);
    cr_assert_eq(io_mem_durable_size(pager_test_mem), 8192);
    cr_assert_eq(iomem_durable_byte(5000), 1);
    io->close(f);
    f = iomem_open(0, 0);
    uint64_t size;
    cr_assert_eq(io->size(f, &size), 0);
    cr_assert_eq(size, 8192);
    io->close(f);
}

Test(io_mem, crash_keep_keeps_everything)
{
    ffdb_file *f = iomem_open(0, 0);
    cr_assert_eq(iomem_write(f, 0, 4096, 1), 0);
    cr_assert_eq(io_mem_io(pager_test_mem)->sync(f, 0), 0);
    cr_assert_eq(iomem_write(f, 0, 4096, 2), 0);
    cr_assert_eq(io_mem_io(pager_test_mem)->truncate(f, 16384), 0);
    io_mem_crash(pager_test_mem, IO_MEM_CRASH_KEEP, 7);
    cr_assert_eq(io_mem_durable_size(pager_test_mem), 16384);
    cr_assert_eq(iomem_durable_byte(100), 2);
    cr_assert_eq(iomem_durable_byte(10000), 0);
    io_mem_io(pager_test_mem)->close(f);
}

static void iomem_tear(uint64_t seed, uint8_t *out /* 64 sectors */)
{
    ffdb_file *f;
    io_mem_remove(pager_test_mem);
    f = iomem_open(0, 0);
    cr_assert_eq(iomem_write(f, 0, 64 * 512, 1), 0);
    cr_assert_eq(io_mem_io(pager_test_mem)->sync(f, 1), 0);
    cr_assert_eq(iomem_write(f, 0, 64 * 512, 2), 0);
    io_mem_crash(pager_test_mem, IO_MEM_CRASH_TEAR, seed);
    io_mem_io(pager_test_mem)->close(f);
    for (int s = 0; s < 64; s++) {
        int first = iomem_durable_byte((uint64_t)s * 512);
        for (int i = 1; i < 512; i++) /* a sector is never torn inside */
            cr_assert_eq(iomem_durable_byte((uint64_t)s * 512 + i), first);
        out[s] = (uint8_t)first;
    }
}

Test(io_mem, crash_tear_keeps_a_random_subset_of_sectors)
{
    uint8_t a[64], b[64], c[64];
    int old = 0, fresh = 0;
    iomem_tear(42, a);
    iomem_tear(42, b);
    iomem_tear(43, c);
    cr_assert_eq(memcmp(a, b, 64), 0, "the same seed tears the same way");
    cr_assert_neq(memcmp(a, c, 64), 0, "another seed tears another way");
    for (int s = 0; s < 64; s++) {
        cr_assert(a[s] == 1 || a[s] == 2);
        old += a[s] == 1;
        fresh += a[s] == 2;
    }
    cr_assert(old > 0 && fresh > 0, "old %d new %d", old, fresh);
}

Test(io_mem, stale_handles_after_crash_and_locks)
{
    const ffdb_io *io = io_mem_io(pager_test_mem);
    uint8_t *buf = pager_test_buf(4096);
    ffdb_file *w, *r1, *r2;

    iomem_open(FFDB_RDONLY, FFDB_NOTFOUND);
    iomem_open(FFDB_NOCREATE, FFDB_NOTFOUND);
    cr_assert_not(io_mem_exists(pager_test_mem));
    w = iomem_open(0, 0);
    cr_assert(io_mem_exists(pager_test_mem));
    iomem_open(0, FFDB_ELOCKED);
    iomem_open(FFDB_RDONLY, FFDB_ELOCKED);
    io_mem_crash(pager_test_mem, IO_MEM_CRASH_KEEP, 0);
    cr_assert_eq(io->read(w, buf, 4096, 0), FFDB_EIO);
    cr_assert_eq(iomem_write(w, 0, 4096, 1), FFDB_EIO);
    r1 = iomem_open(FFDB_RDONLY, 0); /* the crash released the lock */
    r2 = iomem_open(FFDB_RDONLY | FFDB_NOCREATE, 0);
    iomem_open(0, FFDB_ELOCKED);
    cr_assert_eq(iomem_write(r1, 0, 4096, 1), FFDB_EREADONLY);
    cr_assert_eq(io->grow(r1, 8192), FFDB_EREADONLY);
    io->close(w); /* stale: must not release the readers' locks */
    iomem_open(0, FFDB_ELOCKED);
    io->close(r1);
    io->close(r2);
    w = iomem_open(0, 0);
    io->close(w);
    free(buf);
}

Test(io_mem, faults_one_shot_sticky_and_counted)
{
    const ffdb_io *io = io_mem_io(pager_test_mem);
    ffdb_file *f = iomem_open(0, 0);
    struct io_mem_counts c;

    io_mem_fail(pager_test_mem, IO_MEM_WRITE, 2, FFDB_EIO, 0);
    cr_assert_eq(iomem_write(f, 0, 4096, 1), 0);
    cr_assert_eq(iomem_write(f, 4096, 4096, 2), FFDB_EIO);
    cr_assert_eq(io_mem_current_size(pager_test_mem), 4096, "a failed write changes nothing");
    cr_assert_eq(iomem_write(f, 4096, 4096, 2), 0);
    io_mem_fail(pager_test_mem, IO_MEM_SYNC, 1, FFDB_ENOSPC, 1);
    cr_assert_eq(io->sync(f, 0), FFDB_ENOSPC);
    cr_assert_eq(io->sync(f, 1), FFDB_ENOSPC);
    cr_assert_eq(io_mem_durable_size(pager_test_mem), 0);
    io_mem_clear_faults(pager_test_mem);
    cr_assert_eq(io->sync(f, 0), 0);
    cr_assert_eq(io_mem_durable_size(pager_test_mem), 8192);
    io_mem_fail(pager_test_mem, IO_MEM_TRUNCATE, 1, FFDB_EIO, 0);
    cr_assert_eq(io->truncate(f, 0), FFDB_EIO);
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.calls[IO_MEM_WRITE], 3);
    cr_assert_eq(c.calls[IO_MEM_SYNC], 3);
    cr_assert_eq(c.calls[IO_MEM_OPEN], 1);
    cr_assert_eq(c.calls[IO_MEM_TRUNCATE], 1);
    cr_assert_eq(c.write_runs, 2);
    cr_assert_eq(c.bytes_written, 8192);
    cr_assert_eq(c.datasync_size_changes, 1); /* the sync that made 8192 bytes durable */
    cr_assert_eq(c.pending, 0);
    io->close(f);
}

struct iomem_crash_at {
    struct io_mem *m;
    uint64_t at_seq;
    uint64_t seen[8];
    int n;
};

/* Record every event; pull the plug at event at_seq. */
static int iomem_crash_hook(void *arg, const struct io_mem_event *ev)
{
    struct iomem_crash_at *h = arg;
    if (h->n < 8)
        h->seen[h->n++] = ev->op == IO_MEM_SYNC ? 1000 + (uint64_t)ev->full : ev->offset;
    if (ev->seq == h->at_seq)
        io_mem_crash(h->m, IO_MEM_CRASH_KEEP, 0);
    return 0;
}

Test(io_mem, hook_sees_runs_and_syncs_in_order_and_can_crash)
{
    struct iomem_crash_at h = { pager_test_mem, 4, { 0 }, 0 };
    uint8_t *buf = pager_test_buf(3 * 4096);
    struct iovec iov[3] = { { buf, 4096 }, { buf + 4096, 4096 }, { buf + 8192, 4096 } };
    ffdb_io_write runs[3] = { { 0, &iov[0], 1 }, { 8192, &iov[1], 1 }, { 16384, &iov[2], 1 } };
    const ffdb_io *io = io_mem_io(pager_test_mem);
    ffdb_file *f = iomem_open(0, 0);

    memset(buf, 3, 3 * 4096);
    io_mem_set_hook(pager_test_mem, iomem_crash_hook, &h);
    cr_assert_eq(io->write(f, runs, 2), 0);
    cr_assert_eq(io->sync(f, 1), 0);
    cr_assert_eq(io->write(f, runs + 2, 1), FFDB_EIO); /* event 4: crash before it */
    cr_assert_eq(h.n, 4);
    cr_assert_eq(h.seen[0], 0);
    cr_assert_eq(h.seen[1], 8192);
    cr_assert_eq(h.seen[2], 1001);
    cr_assert_eq(h.seen[3], 16384);
    cr_assert_eq(io_mem_durable_size(pager_test_mem), 12288, "the third run never landed");
    io->close(f);
    free(buf);
}

static int iomem_refuse_syncs(void *arg, const struct io_mem_event *ev)
{
    (void)arg;
    return ev->op == IO_MEM_SYNC ? FFDB_EIO : 0;
}

Test(io_mem, hook_error_fails_the_op)
{
    const ffdb_io *io = io_mem_io(pager_test_mem);
    ffdb_file *f = iomem_open(0, 0);
    io_mem_set_hook(pager_test_mem, iomem_refuse_syncs, NULL);
    cr_assert_eq(iomem_write(f, 0, 4096, 1), 0);
    cr_assert_eq(io->sync(f, 0), FFDB_EIO);
    cr_assert_eq(io_mem_durable_size(pager_test_mem), 0);
    io->close(f);
}

Test(io_mem, zero_fill_alignment_and_images)
{
    const ffdb_io *io = io_mem_io(pager_test_mem);
    uint8_t *buf = pager_test_buf(8192), img[1000];
    ffdb_file *f;

    memset(img, 7, sizeof(img));
    cr_assert_eq(io_mem_set_image(pager_test_mem, img, sizeof(img)), 0);
    f = iomem_open(FFDB_NOCREATE, 0);
    memset(buf, 0xAA, 8192);
    cr_assert_eq(io->read(f, buf, 8192, 0), 0);
    cr_assert_eq(buf[999], 7);
    cr_assert_eq(buf[1000], 0);
    cr_assert_eq(buf[8191], 0);
    cr_assert_eq(io->read(f, buf + 1, 512, 0), FFDB_EINVAL);
    cr_assert_eq(io->read(f, buf, 100, 0), FFDB_EINVAL);
    cr_assert_eq(io->read(f, buf, 512, 100), FFDB_EINVAL);
    cr_assert_eq(io->truncate(f, 512), 0);
    cr_assert_eq(io->grow(f, 4096), 0);
    cr_assert_eq(io->grow(f, 1024), 0); /* never shrinks */
    cr_assert_eq(io->read(f, buf, 4096, 0), 0);
    cr_assert_eq(buf[511], 7);
    cr_assert_eq(buf[512], 0, "bytes cut by truncate come back as zeros");
    cr_assert_eq(io_mem_durable_size(pager_test_mem), 1000);
    io->close(f);
    free(buf);
}

/* ---- asynchronous writes ------------------------------------------------------------
 *
 * pager_async_mem: the pager's async API over io_mem in async mode, where a
 * submitted batch reaches the disk only when it is waited for, so the tests
 * see exactly when each write happens and which wait reports a failure.
 * pager_async_posix: the same over real files, through io_uring when the
 * kernel allows it and through the synchronous fallback otherwise. */

/* n one-page batches of pages first, first + 1, ... (version v), each in a
 * buffer of its own that stays alive until the caller frees bufs. */
static void submit_pages(struct pager *pg, uint64_t first, size_t n, unsigned v, uint8_t **bufs,
                         uint64_t *tickets)
{
    unsigned ps = pager_page_size(pg);
    for (size_t i = 0; i < n; i++) {
        struct pager_page p = { first + i, bufs[i] = pager_test_buf(ps) };
        int rc;
        fill_page(p.data, ps, p.pgno, v);
        rc = pager_write_pages_async(pg, &p, 1, &tickets[i]);
        cr_assert_eq(rc, 0, "submit of page %llu: %s", (unsigned long long)p.pgno,
                     ffdb_strerror(rc));
    }
}

static void free_bufs(uint8_t **bufs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
}

static struct pager *async_mem_pager(void)
{
    io_mem_set_async(pager_test_mem, 1);
    return mem_pager(0);
}

TestSuite(pager_async_mem, .init = pager_mem_setup, .fini = pager_mem_teardown, .timeout = 20);

Test(pager_async_mem, submit_several_and_wait_out_of_order)
{
    struct pager *pg = async_mem_pager();
    uint8_t *bufs[4];
    uint64_t t[4];
    struct io_mem_counts c;
    struct pager_counters pc;
    const unsigned order[4] = { 2, 0, 3, 1 };

    submit_pages(pg, 2, 4, 1, bufs, t);
    cr_assert_eq(pager_writes_in_flight(pg), 4);
    for (unsigned i = 0; i < 4; i++)
        cr_assert(t[i] != 0, "io_mem in async mode completes nothing at submit");
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.calls[IO_MEM_WRITE], 0, "nothing is written before its wait");
    cr_assert_eq(c.async_in_flight, 4);
    for (unsigned k = 0; k < 4; k++) {
        unsigned i = order[k];
        cr_assert_eq(pager_write_wait(pg, t[i]), 0);
        io_mem_counts(pager_test_mem, &c);
        cr_assert_eq(c.calls[IO_MEM_WRITE], k + 1);
        cr_assert_eq(pager_writes_in_flight(pg), 3 - k);
    }
    pager_counters(pg, &pc);
    cr_assert_eq(pc.page_writes, 4);
    cr_assert_eq(pc.write_batches, 4);
    for (unsigned i = 0; i < 4; i++)
        expect_page(pg, 2 + i, 1); /* the file size was noted at each wait */
    cr_assert_eq(pager_sync(pg, 0), 0);
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.async_changed, 0);
    cr_assert_eq(c.sync_while_in_flight, 0);
    pager_close(pg);
    free_bufs(bufs, 4);
}

/* A batch of several pages, out of order and not adjacent, is one submission. */
Test(pager_async_mem, one_batch_of_scattered_pages)
{
    struct pager *pg = async_mem_pager();
    uint64_t pgnos[5] = { 9, 3, 4, 12, 5 }, t;
    uint8_t *buf = pager_test_buf(5 * PS);
    struct pager_page pages[5];
    struct io_mem_counts c;

    for (unsigned i = 0; i < 5; i++) {
        pages[i].pgno = pgnos[i];
        pages[i].data = buf + i * PS;
        fill_page(pages[i].data, PS, pgnos[i], 3);
    }
    cr_assert_eq(pager_write_pages_async(pg, pages, 5, &t), 0);
    memset(pages, 0, sizeof(pages)); /* the array may be reused at once */
    cr_assert_eq(pager_write_wait(pg, t), 0);
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.calls[IO_MEM_WRITE], 1);
    cr_assert_eq(c.write_runs, 3, "runs 3-5, 9, 12");
    for (unsigned i = 0; i < 5; i++)
        expect_page(pg, pgnos[i], 3);
    pager_close(pg);
    free(buf);
}

/* The failure of one write among several reaches the wait of that write,
 * with the sync path's bookkeeping: the pager stays usable. */
static void error_in_one_of_them(int code)
{
    struct pager *pg = async_mem_pager();
    uint8_t *bufs[3];
    uint64_t t[3];
    ffdb_error_info info;
    struct pager_counters pc;

    submit_pages(pg, 2, 3, 1, bufs, t);
    io_mem_fail(pager_test_mem, IO_MEM_WRITE, 2, code, 0); /* the second write done */
    cr_assert_eq(pager_write_wait(pg, t[2]), 0);
    cr_assert_eq(pager_write_wait(pg, t[0]), code);
    ffdb_last_error(&info);
    cr_assert_eq(info.code, code);
    cr_assert(strstr(info.message, "write"), "message '%s'", info.message);
    cr_assert_eq(pager_write_wait(pg, t[1]), 0);
    cr_assert_eq(pager_failed(pg), 0, "a failed write does not fail the pager");
    pager_counters(pg, &pc);
    cr_assert_eq(pc.page_writes, 2);
    expect_page(pg, 3, 1);
    expect_page(pg, 4, 1);
    cr_assert_eq(pager_read_page(pg, 2, bufs[0]), FFDB_CORRUPT, "page 2 never reached the disk");
    /* the pager goes on: rewrite page 2 and sync */
    write_batch(pg, (uint64_t[]){ 2 }, 1, 2);
    expect_page(pg, 2, 2);
    cr_assert_eq(pager_sync(pg, 0), 0);
    pager_close(pg);
    free_bufs(bufs, 3);
}

Test(pager_async_mem, eio_in_one_of_them) { error_in_one_of_them(FFDB_EIO); }
Test(pager_async_mem, enospc_in_one_of_them) { error_in_one_of_them(FFDB_ENOSPC); }

Test(pager_async_mem, refused_submission_leaves_nothing_in_flight)
{
    struct pager *pg = async_mem_pager();
    uint8_t *buf = pager_test_buf(PS);
    uint64_t t = 77;
    struct io_mem_counts c;

    fill_page(buf, PS, 2, 1);
    io_mem_fail(pager_test_mem, IO_MEM_SUBMIT, 1, FFDB_ENOSPC, 0);
    cr_assert_eq(pager_write_pages_async(pg, &(struct pager_page){ 2, buf }, 1, &t), FFDB_ENOSPC);
    cr_assert_eq(t, 0, "no ticket for a refused submission");
    cr_assert_eq(pager_writes_in_flight(pg), 0);
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.async_in_flight, 0);
    cr_assert_eq(pager_write_pages_async(pg, &(struct pager_page){ 2, buf }, 1, &t), 0);
    cr_assert_eq(pager_write_wait(pg, t), 0);
    expect_page(pg, 2, 1);
    pager_close(pg);
    free(buf);
}

Test(pager_async_mem, drain_waits_for_all_and_returns_the_first_error)
{
    struct pager *pg = async_mem_pager();
    uint8_t *bufs[4];
    uint64_t t[4];
    struct io_mem_counts c;
    ffdb_error_info info;

    submit_pages(pg, 2, 4, 1, bufs, t);
    io_mem_fail(pager_test_mem, IO_MEM_WRITE, 2, FFDB_EIO, 0);
    cr_assert_eq(pager_write_drain(pg), FFDB_EIO);
    ffdb_last_error(&info);
    cr_assert_eq(info.code, FFDB_EIO, "the first error's record survives the later waits");
    cr_assert_eq(pager_writes_in_flight(pg), 0);
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.async_in_flight, 0);
    cr_assert_eq(c.calls[IO_MEM_WRITE], 4, "drained oldest first, each written once");
    expect_page(pg, 2, 1);
    expect_page(pg, 4, 1);
    expect_page(pg, 5, 1);
    cr_assert_eq(pager_write_drain(pg), 0, "nothing left");
    cr_assert_eq(pager_write_wait(pg, 0), 0, "ticket 0 is complete");
    cr_assert_eq(pager_sync(pg, 0), 0);
    pager_close(pg);
    free_bufs(bufs, 4);
}

/* More submissions than the pager tracks: the extra ones are written at
 * once and get ticket 0. Closing drains what is still in flight. */
Test(pager_async_mem, beyond_the_slots_writes_synchronously_and_close_drains)
{
    struct pager *pg = async_mem_pager();
    uint8_t *bufs[PAGER_ASYNC_MAX + 2];
    uint64_t t[PAGER_ASYNC_MAX + 2];
    struct io_mem_counts c;

    submit_pages(pg, 2, PAGER_ASYNC_MAX + 2, 1, bufs, t);
    cr_assert_eq(pager_writes_in_flight(pg), PAGER_ASYNC_MAX);
    cr_assert_eq(t[PAGER_ASYNC_MAX], 0);
    cr_assert_eq(t[PAGER_ASYNC_MAX + 1], 0);
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.calls[IO_MEM_WRITE], 2);
    pager_close(pg);
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.calls[IO_MEM_WRITE], PAGER_ASYNC_MAX + 2);
    cr_assert_eq(c.async_in_flight, 0);
    pg = mem_pager(0);
    for (unsigned i = 0; i < PAGER_ASYNC_MAX + 2; i++)
        expect_page(pg, 2 + i, 1);
    pager_close(pg);
    free_bufs(bufs, PAGER_ASYNC_MAX + 2);
}

/* A backend without the async ops (io_mem's default, and any table written
 * before they existed): the write happens at submit, errors come from it. */
Test(pager_async_mem, backend_without_async_ops_writes_at_submit)
{
    struct pager *pg = mem_pager(0);
    uint8_t *buf = pager_test_buf(PS);
    uint64_t t = 5;
    struct io_mem_counts c;

    fill_page(buf, PS, 2, 1);
    cr_assert_eq(pager_write_pages_async(pg, &(struct pager_page){ 2, buf }, 1, &t), 0);
    cr_assert_eq(t, 0);
    cr_assert_eq(pager_writes_in_flight(pg), 0);
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.calls[IO_MEM_WRITE], 1);
    expect_page(pg, 2, 1);
    io_mem_fail(pager_test_mem, IO_MEM_WRITE, 1, FFDB_EIO, 0);
    cr_assert_eq(pager_write_pages_async(pg, &(struct pager_page){ 3, buf }, 1, &t), FFDB_EIO);
    cr_assert_eq(t, 0);
    cr_assert_eq(pager_write_pages_async(pg, NULL, 0, &t), 0, "an empty batch");
    cr_assert_eq(pager_failed(pg), 0);
    pager_close(pg);
    free(buf);
}

/* io_mem's own check that a caller keeps its buffers unchanged in flight. */
Test(pager_async_mem, io_mem_catches_a_buffer_changed_in_flight)
{
    struct pager *pg = async_mem_pager();
    uint8_t *buf = pager_test_buf(PS);
    uint64_t t;
    struct io_mem_counts c;

    fill_page(buf, PS, 2, 1);
    cr_assert_eq(pager_write_pages_async(pg, &(struct pager_page){ 2, buf }, 1, &t), 0);
    buf[100] ^= 1;
    cr_assert_eq(pager_write_wait(pg, t), FFDB_EINVAL);
    io_mem_counts(pager_test_mem, &c);
    cr_assert_eq(c.async_changed, 1);
    cr_assert_eq(c.calls[IO_MEM_WRITE], 0);
    pager_close(pg);
    free(buf);
}

Test(pager_async_mem, readonly_and_failed_pagers_refuse)
{
    struct pager *pg = async_mem_pager();
    uint8_t *buf = pager_test_buf(PS);
    uint64_t t;

    write_batch(pg, (uint64_t[]){ 2 }, 1, 1);
    io_mem_fail(pager_test_mem, IO_MEM_SYNC, 1, FFDB_EIO, 0);
    cr_assert_eq(pager_sync(pg, 0), FFDB_EIO);
    fill_page(buf, PS, 3, 1);
    cr_assert_eq(pager_write_pages_async(pg, &(struct pager_page){ 3, buf }, 1, &t), FFDB_EFAILED);
    cr_assert_eq(pager_writes_in_flight(pg), 0);
    pager_close(pg);
    pg = mem_pager(FFDB_RDONLY);
    cr_assert_eq(pager_write_pages_async(pg, &(struct pager_page){ 3, buf }, 1, &t),
                 FFDB_EREADONLY);
    pager_close(pg);
    free(buf);
}

TestSuite(pager_async_posix, .init = pager_test_setup, .fini = pager_test_teardown,
          .timeout = 30);

/* Batches of 64 pages (one run each) and of scattered pages, several in
 * flight, waited out of order; then everything is read back. */
static void async_posix(unsigned flags)
{
    struct pager *pg = open_ok(pager_test_file, NULL, flags);
    enum { BATCHES = 6, PER = 64 };
    uint8_t *buf = pager_test_buf((size_t)BATCHES * PER * PS);
    struct pager_page pages[PER];
    uint64_t t[BATCHES];
    const unsigned order[BATCHES] = { 3, 0, 5, 1, 4, 2 };
    struct pager_counters pc;
    int uring = (pager_caps(pg) & FFDB_IO_URING) != 0;

    for (unsigned b = 0; b < BATCHES; b++) {
        for (unsigned i = 0; i < PER; i++) {
            /* even batches: consecutive pages; odd ones: every other page */
            uint64_t pgno = b % 2 == 0 ? 2 + (uint64_t)b * PER + i
                                       : 2 + (uint64_t)(b - 1) * PER + 2 * PER * 4 + 2 * i;
            pages[i].pgno = pgno;
            pages[i].data = buf + ((size_t)b * PER + i) * PS;
            fill_page(pages[i].data, PS, pgno, b + 1);
        }
        cr_assert_eq(pager_write_pages_async(pg, pages, PER, &t[b]), 0);
        if (!uring)
            cr_assert_eq(t[b], 0, "without io_uring the write is done at submit");
    }
    for (unsigned k = 0; k < BATCHES; k++)
        cr_assert_eq(pager_write_wait(pg, t[order[k]]), 0);
    cr_assert_eq(pager_writes_in_flight(pg), 0);
    cr_assert_eq(pager_sync(pg, 0), 0);
    pager_counters(pg, &pc);
    cr_assert_eq(pc.page_writes, (uint64_t)BATCHES * PER);
    for (unsigned b = 0; b < BATCHES; b++)
        for (unsigned i = 0; i < PER; i++) {
            const uint8_t *p = buf + ((size_t)b * PER + i) * PS;
            expect_page(pg, ld64(p + PH_PGNO), b + 1);
        }
    pager_close(pg);
    free(buf);
}

Test(pager_async_posix, direct_uring) { async_posix(0); }
Test(pager_async_posix, buffered_uring) { async_posix(FFDB_NODIRECT); }
Test(pager_async_posix, direct_pwritev_fallback) { async_posix(FFDB_NOURING); }

/* A long stream through two buffers, as the bulk loader writes: each
 * buffer's write is waited for only when the buffer is needed again. */
Test(pager_async_posix, long_stream_two_in_flight)
{
    struct pager *pg = open_ok(pager_test_file, NULL, 0);
    enum { BATCHES = 40, PER = 16 };
    uint8_t *buf = pager_test_buf((size_t)2 * PER * PS);
    struct pager_page pages[PER];
    uint64_t t[2] = { 0, 0 };

    for (unsigned b = 0; b < BATCHES; b++) {
        uint8_t *half = buf + (size_t)(b % 2) * PER * PS;
        cr_assert_eq(pager_write_wait(pg, t[b % 2]), 0); /* the buffer is needed again */
        for (unsigned i = 0; i < PER; i++) {
            pages[i].pgno = 2 + (uint64_t)b * PER + i;
            pages[i].data = half + (size_t)i * PS;
            fill_page(pages[i].data, PS, pages[i].pgno, 7);
        }
        cr_assert_eq(pager_write_pages_async(pg, pages, PER, &t[b % 2]), 0);
    }
    cr_assert_eq(pager_write_drain(pg), 0);
    for (uint64_t p = 2; p < 2 + (uint64_t)BATCHES * PER; p++)
        expect_page(pg, p, 7);
    pager_close(pg);
    free(buf);
}
