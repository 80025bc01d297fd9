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
    struct die_after_meta d = { 0, 0 };
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
        struct tear_at_sync t = { m, round * 0x9E3779B97F4A7C15ull + 1 };
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
