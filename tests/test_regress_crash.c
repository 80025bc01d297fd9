/*
 * test_regress_crash.c — engine bugs found by the crash harness
 * (tools/crash, `make crashtest`), each reduced to a small deterministic
 * case over testing/io_mem.
 *
 * 1. A writable open built on a meta that was not durable. A writer dies
 *    after writing the meta of commit T+1 but before syncing it: the meta
 *    is in the page cache only. The next process opens the file, sees T+1
 *    (the newest valid meta), and its next transaction reuses pages T+1
 *    freed — pages the durable meta T still reaches — writing over them
 *    before its first sync. A power loss then brings back meta T over
 *    overwritten pages (corruption), or at best rolls back T+1, which the
 *    new process had already shown to its readers as committed. Found by
 *    power mode's "kill, then a power loss" points; fixed in engine/db.c:
 *    a writable open of an existing file syncs once before anything else.
 *
 * 2. A creation cut short left a file ffdb refused forever. Creating a file
 *    writes two pages (the txid-0 meta and an empty slot) and syncs; a
 *    crash before the sync can leave any subset of their 512-byte sectors,
 *    and open called the result "not an ffdb file" (or "truncated") — a
 *    file ffdb itself made, holding no commit. Found by exhaustive mode's
 *    creation points; fixed in engine/db.c: a writable open of a file with
 *    no valid commit that holds nothing but part of the creation image
 *    (each sector zero or the creation's own, at least one of the
 *    creation's non-zero sectors present) starts the creation over. Files
 *    of zeros only, foreign bytes, and read-only opens are still refused
 *    and left unchanged.
 */
#include <stdio.h>
#include <string.h>

#include "testing/io_mem.h"
#include "tests/testutil.h"

TestSuite(regress_crash, .init = tu_setup, .fini = tu_teardown, .timeout = 60);

#define NKEYS 300u

static ffdb *open_mem(struct io_mem *m)
{
    ffdb_options o;
    ffdb *db = NULL;
    memset(&o, 0, sizeof o);
    o.buffer_pages = 16;
    o.io = io_mem_io(m);
    TU_OK(ffdb_open("regress.ffdb", &o, &db));
    return db;
}

/* Put generation gen of every key (values of 100 bytes) and commit. */
static int write_gen(ffdb *db, unsigned gen)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    char k[16], v[100];
    int rc = ffdb_begin_write(db, &txn);
    if (rc)
        return rc;
    rc = ffdb_bucket_open(txn, "b", 1, &b);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(txn, "b", 1, &b);
    for (unsigned i = 0; rc == 0 && i < NKEYS; i++) {
        snprintf(k, sizeof k, "k%05u", i);
        memset(v, 'a' + (int)(gen % 26), sizeof v);
        memcpy(v, &gen, sizeof gen);
        rc = ffdb_put(b, k, strlen(k), v, sizeof v);
    }
    if (rc) {
        ffdb_abort(txn);
        return rc;
    }
    return ffdb_commit(txn);
}

/* Every key holds generation gen, and the file is clean. */
static void expect_gen(ffdb *db, unsigned gen)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    char k[16];
    tu_check_clean(db, NULL);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    for (unsigned i = 0; i < NKEYS; i++) {
        unsigned got;
        snprintf(k, sizeof k, "k%05u", i);
        TU_OK(ffdb_get(b, k, strlen(k), &v));
        cr_assert_eq(v.size, 100u);
        memcpy(&got, v.data, sizeof got);
        cr_assert_eq(got, gen, "key %u holds generation %u, expected %u", i, got, gen);
    }
    ffdb_abort(txn);
}

/* The hook: a sync that follows a meta write fails, changing nothing (the
 * process "dies" between writing the meta and syncing it). */
struct die_after_meta {
    int meta_written;
    int armed;
};

static int die_hook(void *arg, const struct io_mem_event *ev)
{
    struct die_after_meta *d = arg;
    if (!d->armed)
        return 0;
    if (ev->op == IO_MEM_WRITE && ev->offset < 2 * 4096)
        d->meta_written = 1;
    if (ev->op == IO_MEM_SYNC && d->meta_written) {
        d->armed = 0;
        return FFDB_EIO;
    }
    return 0;
}

/* Generation 1 committed; the writer of generation 2 dies with its meta
 * written but not synced; returns the io_mem with that state. */
static struct io_mem *meta_left_unsynced(void)
{
    struct io_mem *m = io_mem_create();
    struct die_after_meta d = {0, 0};
    ffdb *db;
    cr_assert(m != NULL);
    db = open_mem(m);
    TU_OK(write_gen(db, 1));
    io_mem_set_hook(m, die_hook, &d);
    d.armed = 1;
    TU_RC(write_gen(db, 2), FFDB_EIO);
    cr_assert(d.meta_written, "the meta of generation 2 was never written");
    ffdb_close(db); /* the process is gone; the page cache keeps its writes */
    io_mem_set_hook(m, NULL, NULL);
    return m;
}

Test(regress_crash, writable_open_makes_what_it_read_durable)
{
    struct io_mem *m = meta_left_unsynced();
    struct io_mem_counts c;
    ffdb *db = open_mem(m);
    expect_gen(db, 2); /* the next process sees the newest meta ... */
    io_mem_counts(m, &c);
    cr_assert_eq(c.pending, 0, "%llu writes are still unsynced after a writable open",
                 (unsigned long long)c.pending);
    ffdb_close(db);
    /* ... and a power loss does not take back what it showed as committed */
    io_mem_crash(m, IO_MEM_CRASH_DROP, 0);
    db = open_mem(m);
    expect_gen(db, 2);
    ffdb_close(db);
    io_mem_destroy(m);
}

/* The damaging case: the new process writes generation 3 over pages that
 * generation 2 freed, and power fails (torn, in many ways) before its
 * first sync. The result must be generation 2 — never 1 over overwritten
 * pages. */
struct tear_at_sync {
    struct io_mem *m;
    uint64_t seed;
};

static int fail_first_sync(void *arg, const struct io_mem_event *ev)
{
    struct tear_at_sync *t = arg;
    if (ev->op == IO_MEM_SYNC) {
        io_mem_crash(t->m, IO_MEM_CRASH_TEAR, t->seed);
        return FFDB_EIO;
    }
    return 0;
}

Test(regress_crash, power_loss_after_building_on_an_unsynced_meta)
{
    for (uint64_t round = 0; round < 16; round++) {
        struct io_mem *m = meta_left_unsynced();
        struct tear_at_sync t = {m, round * 0x9E3779B97F4A7C15ull + 1};
        ffdb *db = open_mem(m);
        io_mem_set_hook(m, fail_first_sync, &t);
        cr_assert_neq(write_gen(db, 3 + (unsigned)round), 0,
                      "commit survived a power loss before its first sync");
        ffdb_close(db);
        io_mem_set_hook(m, NULL, NULL);
        db = open_mem(m);
        expect_gen(db, 2);
        ffdb_close(db);
        io_mem_destroy(m);
    }
}

/* A read-only open must not sync (it never writes to the file). */
Test(regress_crash, readonly_open_leaves_the_file_alone)
{
    struct io_mem *m = meta_left_unsynced();
    struct io_mem_counts before, after;
    ffdb_options o;
    ffdb *db = NULL;
    memset(&o, 0, sizeof o);
    o.io = io_mem_io(m);
    o.flags = FFDB_RDONLY;
    io_mem_counts(m, &before);
    TU_OK(ffdb_open("regress.ffdb", &o, &db));
    io_mem_counts(m, &after);
    cr_assert_eq(after.calls[IO_MEM_SYNC], before.calls[IO_MEM_SYNC]);
    cr_assert_eq(after.pending, before.pending);
    ffdb_close(db);
    io_mem_destroy(m);
}

/* ---- 2. a creation cut short ------------------------------------------------------------ */

/* The bytes a new file gets at page size ps (2 pages), read back from io_mem. */
static size_t creation_bytes(unsigned ps, unsigned char *out, size_t cap)
{
    struct io_mem *m = io_mem_create();
    ffdb_options o;
    ffdb *db = NULL;
    size_t n;
    cr_assert(m != NULL);
    memset(&o, 0, sizeof o);
    o.io = io_mem_io(m);
    o.page_size = ps;
    TU_OK(ffdb_open("regress.ffdb", &o, &db));
    ffdb_close(db);
    n = io_mem_durable_read(m, 0, out, cap);
    cr_assert_eq(n, 2 * (size_t)ps, "a new file holds %zu bytes", n);
    io_mem_destroy(m);
    return n;
}

/* Keep the sectors of img named by keep(s); the file ends after the last one. */
static size_t torn(const unsigned char *img, size_t len, unsigned char *out,
                   int (*keep)(unsigned s, void *arg), void *arg)
{
    size_t end = 0;
    memset(out, 0, len);
    for (unsigned s = 0; s < len / 512; s++)
        if (keep(s, arg)) {
            memcpy(out + s * 512, img + s * 512, 512);
            end = (s + 1) * 512;
        }
    return end;
}

static int keep_mask(unsigned s, void *arg)
{
    return (*(const uint64_t *)arg >> s) & 1;
}

/* Open (with flags) a file holding bytes; returns the open's code. An open
 * that succeeds must give an empty, clean database that (unless read-only)
 * takes a commit. The handle is closed; the disk is returned in *mem. */
static int open_image(const unsigned char *bytes, size_t len, unsigned flags, unsigned ps,
                      struct io_mem **mem)
{
    struct io_mem *m = io_mem_create();
    ffdb_options o;
    ffdb *db = NULL;
    int rc;
    cr_assert(m != NULL);
    TU_OK(io_mem_set_image(m, bytes, len));
    memset(&o, 0, sizeof o);
    o.io = io_mem_io(m);
    o.flags = flags;
    o.page_size = ps;
    rc = ffdb_open("regress.ffdb", &o, &db);
    if (rc == 0) {
        ffdb_stat st = tu_stat(db);
        cr_assert_eq(st.txid, 0);
        cr_assert_eq(st.bucket_count, 0);
        tu_check_clean(db, NULL);
        if (!(flags & FFDB_RDONLY)) {
            TU_OK(write_gen(db, 1)); /* and it takes commits */
            expect_gen(db, 1);
        }
    }
    ffdb_close(db);
    *mem = m;
    return rc;
}

static void expect_unchanged(struct io_mem *m, const unsigned char *bytes, size_t len,
                             const char *what)
{
    static unsigned char now[2 * 16384 + 512];
    size_t n = io_mem_durable_read(m, 0, now, sizeof now);
    cr_assert(n == len && (len == 0 || memcmp(now, bytes, len) == 0),
              "%s: a refused open changed the file", what);
}

Test(regress_crash, creation_cut_short_is_started_over)
{
    static const unsigned sizes[] = {4096, 16384};
    static unsigned char img[2 * 16384], cut[2 * 16384];
    for (unsigned k = 0; k < 2; k++) {
        unsigned ps = sizes[k], sectors = 2 * ps / 512;
        size_t len = creation_bytes(ps, img, sizeof img);
        /* the first sector of each page in or out, and every place the file may end */
        for (unsigned bits = 0; bits < 4 * sectors; bits++) {
            unsigned last = bits / 4;
            uint64_t mask =
                (1ull << last) | (bits & 1 ? 1ull : 0) | (bits & 2 ? 1ull << (sectors / 2) : 0);
            struct io_mem *m;
            size_t end;
            int rc, nonzero = 0;
            if (last < 64 && (mask >> last) > 1)
                continue; /* a sector past the end: the file would be longer */
            if (sectors > 64 && last >= 64)
                continue;
            end = torn(img, len, cut, keep_mask, &mask);
            for (size_t i = 0; i < end; i++)
                nonzero |= cut[i] != 0;
            /* read-only: refused (or, if the meta page and the file's length
             * made it, an empty database), and unchanged */
            rc = open_image(cut, end, FFDB_RDONLY, 0, &m);
            cr_assert(rc == 0 || rc == FFDB_ENOTDB || rc == FFDB_CORRUPT,
                      "read-only open of a creation cut to sectors 0x%llx: %s",
                      (unsigned long long)mask, ffdb_strerror(rc));
            expect_unchanged(m, cut, end, "read-only");
            io_mem_destroy(m);
            /* writable: started over, unless it is only zeros (refused, unchanged) */
            rc = open_image(cut, end, 0, ps, &m);
            if (end && !nonzero) {
                cr_assert(rc == FFDB_ENOTDB || rc == FFDB_CORRUPT, "%zu bytes of zeros opened: %s",
                          end, ffdb_strerror(rc));
                expect_unchanged(m, cut, end, "zeros");
            } else {
                cr_assert_eq(rc, 0, "page size %u, creation cut to sectors 0x%llx (%zu bytes): %s",
                             ps, (unsigned long long)mask, end, ffdb_strerror(rc));
            }
            io_mem_destroy(m);
        }
    }
}

Test(regress_crash, foreign_bytes_are_never_taken_for_a_cut_creation)
{
    static unsigned char img[2 * 4096];
    size_t len = creation_bytes(4096, img, sizeof img);
    struct io_mem *m;
    uint64_t first = 1; /* only the meta's first sector */
    unsigned char cut[2 * 4096];
    size_t end = torn(img, len, cut, keep_mask, &first);
    int rc;
    /* one foreign byte in an otherwise empty sector */
    end = 2 * 512;
    cut[512 + 100] = 'x';
    rc = open_image(cut, end, 0, 0, &m);
    cr_assert(rc == FFDB_ENOTDB || rc == FFDB_CORRUPT, "open returned %s", ffdb_strerror(rc));
    expect_unchanged(m, cut, end, "foreign byte");
    io_mem_destroy(m);
    /* the whole creation and a third page: not a cut creation either */
    {
        static unsigned char longer[3 * 4096];
        memcpy(longer, img, len);
        longer[2 * 4096 + 7] = 1;
        longer[200] ^= 1; /* and no valid meta */
        rc = open_image(longer, sizeof longer, 0, 0, &m);
        cr_assert(rc == FFDB_ENOTDB || rc == FFDB_CORRUPT, "open returned %s", ffdb_strerror(rc));
        expect_unchanged(m, longer, sizeof longer, "three pages");
        io_mem_destroy(m);
    }
}
