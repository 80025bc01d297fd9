/*
 * test_iofail.c — I/O failures under the engine (testing/io_mem.h as the
 * ffdb_io backend, through ffdb_options.io).
 *
 * EIO or ENOSPC on a write (or on growing the file) during commit: commit
 * returns that error and the previous commit is intact after reopen. A failed
 * sync: commit fails, ffdb_begin_write returns FFDB_EFAILED until the handle
 * is reopened, and after a power loss and reopen the data is the last
 * successful commit. A failed read is returned as FFDB_EIO, never as "not
 * found" or the end of a cursor. A seeded loop mixes commits with random
 * faults and power losses and compares with a model each time. A bulk load
 * fails at each of its writes in turn, with io_mem writing synchronously or
 * asynchronously (a batch reaches the disk only when the loader waits for
 * it, the last one at ffdb_bulk_finish): the error reaches the caller, the
 * bucket stays empty, nothing stays in flight, and the last commit stands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing/io_mem.h"
#include "tests/testutil.h"

TestSuite(iofail, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

#define NKEYS 400u

static ffdb *mem_open(struct io_mem *m, size_t frames)
{
    return tu_open_io("mem.ffdb", io_mem_io(m), frames, 0);
}

static size_t key_of(char *k, unsigned i)
{
    return (size_t)snprintf(k, 16, "k%05u", i);
}

static size_t val_of(unsigned char *v, unsigned i, unsigned gen)
{
    size_t len = (i % 50 == 7) ? 5000 + i : 10 + (i * 7 + gen) % 100;
    tu_pattern(v, len, ((uint64_t)i << 16) | gen);
    return len;
}

/* Write generation gen of every key (gen 0: the key is absent). */
static int write_gen(ffdb *db, unsigned gen, ffdb_txn **keep_open)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    char k[16];
    static unsigned char v[8192];
    int rc = ffdb_begin_write(db, &txn);
    if (rc)
        return rc;
    rc = ffdb_bucket_open(txn, "b", 1, &b);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(txn, "b", 1, &b);
    for (unsigned i = 0; rc == 0 && i < NKEYS; i++) {
        size_t kl = key_of(k, i), vl = val_of(v, i, gen);
        rc = ffdb_put(b, k, kl, v, vl);
    }
    if (rc == 0)
        rc = ffdb_put(b, "gen", 3, &gen, sizeof gen);
    if (rc) {
        ffdb_abort(txn);
        return rc;
    }
    if (keep_open) {
        *keep_open = txn;
        return 0;
    }
    return ffdb_commit(txn);
}

/* The committed state must be generation gen, consistent, and clean. */
static void expect_gen(ffdb *db, unsigned gen)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    char k[16];
    static unsigned char want[8192];
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    TU_OK(ffdb_get(b, "gen", 3, &v));
    cr_assert(v.size == sizeof gen && memcmp(v.data, &gen, sizeof gen) == 0,
              "the database holds generation %u, expected %u", *(const unsigned *)v.data, gen);
    for (unsigned i = 0; i < NKEYS; i++) {
        size_t kl = key_of(k, i), vl = val_of(want, i, gen);
        TU_OK(ffdb_get(b, k, kl, &v));
        cr_assert(v.size == vl && memcmp(v.data, want, vl) == 0, "key %u is not generation %u",
                  i, gen);
    }
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
}

static void commit_fails_with(enum io_mem_op op, int code, const char *what)
{
    struct io_mem *m = io_mem_create();
    ffdb *db;
    ffdb_txn *txn;
    cr_assert(m != NULL);
    db = mem_open(m, 0);
    TU_OK(write_gen(db, 1, NULL));

    TU_OK(write_gen(db, 2, &txn)); /* all in the pool; nothing written yet */
    io_mem_fail(m, op, 1, code, 1 /* sticky: every retry fails too */);
    int rc = ffdb_commit(txn);
    cr_assert_eq(rc, code, "%s: commit returned %d (%s), expected %s", what, rc,
                 ffdb_strerror(rc), ffdb_strerror(code));
    io_mem_clear_faults(m);
    /* the handle still reads the last commit */
    expect_gen(db, 1);
    ffdb_close(db);

    db = mem_open(m, 0);
    expect_gen(db, 1);
    /* and goes on writing after a reopen */
    TU_OK(write_gen(db, 3, NULL));
    ffdb_close(db);
    io_mem_crash(m, IO_MEM_CRASH_DROP, 0);
    db = mem_open(m, 0);
    expect_gen(db, 3);
    ffdb_close(db);
    io_mem_destroy(m);
}

Test(iofail, eio_on_write_during_commit)
{
    commit_fails_with(IO_MEM_WRITE, FFDB_EIO, "EIO on write");
}

Test(iofail, enospc_on_write_during_commit)
{
    commit_fails_with(IO_MEM_WRITE, FFDB_ENOSPC, "ENOSPC on write");
}

Test(iofail, enospc_on_grow_during_commit)
{
    /* a bigger second generation, so the file must grow */
    struct io_mem *m = io_mem_create();
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    static unsigned char big[1 << 20];
    cr_assert(m != NULL);
    db = mem_open(m, 0);
    TU_OK(write_gen(db, 1, NULL));
    TU_OK(write_gen(db, 2, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    TU_OK(ffdb_put(b, "big", 3, big, sizeof big));
    io_mem_fail(m, IO_MEM_GROW, 1, FFDB_ENOSPC, 1);
    io_mem_fail(m, IO_MEM_WRITE, 1, FFDB_ENOSPC, 1); /* a write past the end grows too */
    int rc = ffdb_commit(txn);
    cr_assert_eq(rc, FFDB_ENOSPC, "commit on a full disk returned %d (%s)", rc, ffdb_strerror(rc));
    io_mem_clear_faults(m);
    expect_gen(db, 1);
    ffdb_close(db);
    db = mem_open(m, 0);
    expect_gen(db, 1);
    ffdb_close(db);
    io_mem_destroy(m);
}

/* nth sync of a commit fails; the second exists with FFDB_TWOFLUSH only. */
static void sync_fails(unsigned long nth, unsigned flags)
{
    struct io_mem *m = io_mem_create();
    ffdb *db;
    ffdb_txn *txn = NULL;
    cr_assert(m != NULL);
    db = tu_open_io("mem.ffdb", io_mem_io(m), 0, flags);
    TU_OK(write_gen(db, 1, NULL));

    io_mem_fail(m, IO_MEM_SYNC, nth, FFDB_EIO, 0); /* one-shot: a retry would "succeed" */
    int rc = write_gen(db, 2, NULL);
    cr_assert_eq(rc, FFDB_EIO, "commit with failing sync %lu returned %d (%s)", nth, rc,
                 ffdb_strerror(rc));
    io_mem_clear_faults(m);
    /* the handle refuses writes from now on, even though syncs work again */
    for (int i = 0; i < 3; i++) {
        txn = NULL;
        TU_RC(ffdb_begin_write(db, &txn), FFDB_EFAILED);
    }
    /* reads still work; they see the last successful commit or, if the
     * meta made it, the failed one — never anything else */
    {
        ffdb_txn *r;
        ffdb_bucket *b;
        ffdb_val v;
        unsigned gen;
        TU_OK(ffdb_begin_read(db, &r));
        TU_OK(ffdb_bucket_open(r, "b", 1, &b));
        TU_OK(ffdb_get(b, "gen", 3, &v));
        memcpy(&gen, v.data, sizeof gen);
        cr_assert(gen == 1, "after a failed commit the handle shows generation %u", gen);
        ffdb_abort(r);
    }
    ffdb_close(db);
    /* power loss: what was not synced is gone */
    io_mem_crash(m, IO_MEM_CRASH_DROP, 0);
    db = mem_open(m, 0);
    expect_gen(db, 1);
    /* reopened: writable again */
    TU_OK(write_gen(db, 3, NULL));
    ffdb_close(db);
    io_mem_crash(m, IO_MEM_CRASH_DROP, 0);
    db = mem_open(m, 0);
    expect_gen(db, 3);
    ffdb_close(db);
    io_mem_destroy(m);
}

Test(iofail, first_sync_of_commit_fails)
{
    sync_fails(1, 0);
    sync_fails(1, FFDB_TWOFLUSH);
}

Test(iofail, second_sync_of_commit_fails)
{
    sync_fails(2, FFDB_TWOFLUSH);
}

Test(iofail, read_error_is_not_the_end)
{
    struct io_mem *m = io_mem_create();
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v;
    char kb[16];
    int rc;
    cr_assert(m != NULL);
    db = mem_open(m, 0);
    TU_OK(write_gen(db, 1, NULL));
    ffdb_close(db);

    /* a cold pool: the next page read fails */
    db = mem_open(m, 16);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    io_mem_fail(m, IO_MEM_READ, 1, FFDB_EIO, 1);
    size_t kl = key_of(kb, NKEYS - 1);
    rc = ffdb_get(b, kb, kl, &v);
    cr_assert_eq(rc, FFDB_EIO, "get with failing reads returned %d (%s)", rc, ffdb_strerror(rc));
    TU_OK(ffdb_cursor_open(b, &c));
    rc = ffdb_cursor_first(c, &k, &v);
    if (rc == 0) {
        /* the first leaf may be cached: walk on until a read is needed */
        unsigned n = 0;
        while ((rc = ffdb_cursor_next(c, &k, &v)) == 0)
            n++;
        cr_assert(rc == FFDB_EIO, "a cursor with failing reads ended with %d (%s) after %u keys",
                  rc, ffdb_strerror(rc), n);
    } else {
        cr_assert_eq(rc, FFDB_EIO, "cursor_first with failing reads: %d (%s)", rc,
                     ffdb_strerror(rc));
    }
    ffdb_cursor_close(c);
    io_mem_clear_faults(m);
    /* the failed reads left nothing bad behind */
    TU_OK(ffdb_get(b, kb, kl, &v));
    ffdb_abort(txn);
    expect_gen(db, 1);
    ffdb_close(db);
    io_mem_destroy(m);
}

/* Random commits with random faults, each followed (when it failed) by a
 * power loss and a reopen; the database must always be the last successful
 * commit. */
Test(iofail, random_faults_and_power_loss)
{
    uint64_t seed = tu_seed("iofail::random_faults_and_power_loss");
    tu_rng rng;
    struct io_mem *m = io_mem_create();
    ffdb *db;
    unsigned committed = 1, failures = 0;
    cr_assert(m != NULL);
    tu_rng_init(&rng, seed);
    db = mem_open(m, 16);
    TU_OK(write_gen(db, 1, NULL));

    for (unsigned round = 0; round < 60; round++) {
        unsigned gen = round + 2;
        unsigned fault = (unsigned)tu_below(&rng, 6);
        int code = tu_chance(&rng, 500) ? FFDB_EIO : FFDB_ENOSPC;
        switch (fault) {
        case 1:
            io_mem_fail(m, IO_MEM_WRITE, tu_range(&rng, 1, 4), code, 0);
            break;
        case 2:
            io_mem_fail(m, IO_MEM_SYNC, tu_range(&rng, 1, 2), FFDB_EIO, 0);
            break;
        case 3:
            io_mem_fail(m, IO_MEM_GROW, 1, FFDB_ENOSPC, 0);
            break;
        default:
            break; /* no fault */
        }
        int rc = write_gen(db, gen, NULL);
        io_mem_clear_faults(m);
        if (rc == 0) {
            committed = gen;
            if (tu_chance(&rng, 200)) {
                ffdb_close(db);
                io_mem_crash(m, IO_MEM_CRASH_TEAR, tu_next(&rng));
                db = mem_open(m, 16);
                expect_gen(db, committed);
            }
            continue;
        }
        failures++;
        cr_assert(rc == FFDB_EIO || rc == FFDB_ENOSPC || rc == FFDB_EFAILED,
                  TU_SEED_FMT "round %u: commit returned %d (%s)", TU_SEED_ARG, round, rc,
                  ffdb_strerror(rc));
        ffdb_close(db);
        /* power loss: torn, dropped or kept unsynced writes */
        enum io_mem_crash_mode mode = (enum io_mem_crash_mode)tu_below(&rng, 3);
        io_mem_crash(m, mode, tu_next(&rng));
        db = mem_open(m, 16);
        {
            /* a failed commit whose meta reached the disk may show up (KEEP/TEAR);
             * anything else must be the last successful commit */
            ffdb_txn *r;
            ffdb_bucket *b;
            ffdb_val v;
            unsigned seen;
            TU_OK(ffdb_begin_read(db, &r));
            TU_OK(ffdb_bucket_open(r, "b", 1, &b));
            TU_OK(ffdb_get(b, "gen", 3, &v));
            memcpy(&seen, v.data, sizeof seen);
            ffdb_abort(r);
            cr_assert(seen == committed || (seen == gen && mode != IO_MEM_CRASH_DROP),
                      TU_SEED_FMT "round %u: after a failed commit and a %s power loss the "
                      "database holds generation %u (last success %u)", TU_SEED_ARG, round,
                      mode == IO_MEM_CRASH_DROP ? "drop" : mode == IO_MEM_CRASH_KEEP ? "keep" : "tear",
                      seen, committed);
            committed = seen;
        }
        expect_gen(db, committed);
    }
    fprintf(stderr, "iofail random: %u failed commits of 60\n", failures);
    cr_assert(failures > 0, TU_SEED_FMT "no fault ever fired", TU_SEED_ARG);
    ffdb_close(db);
    io_mem_destroy(m);
}

/* ---- bulk loads that fail at a write ---------------------------------------------- */

#define BULK_N 40000u

/* Entry i of the bulk load: keys in order; every 2999th value needs an
 * overflow run (written synchronously, between the batches). */
static size_t bulk_entry(unsigned i, char *k, unsigned char *v, size_t *vl)
{
    *vl = i % 2999 == 5 ? 6000 : 40 + i % 60;
    tu_pattern(v, *vl, 0xB0000000u + i);
    return (size_t)snprintf(k, 16, "bulk%07u", i);
}

/* Where a bulk load failed: 0 none, 1 in an append, 2 at finish. */
struct bulk_outcome {
    int where, rc;
    unsigned at; /* the append that failed */
};

static struct bulk_outcome bulk_attempt(ffdb_txn *txn)
{
    struct bulk_outcome o = {0, 0, 0};
    static unsigned char v[8192];
    ffdb_bucket *b;
    ffdb_bulk *bk;
    char k[16];
    size_t vl;

    TU_OK(ffdb_bucket_open(txn, "bulk", 4, &b));
    TU_OK(ffdb_bulk_begin(b, 0, &bk));
    for (unsigned i = 0; i < BULK_N; i++) {
        size_t kl = bulk_entry(i, k, v, &vl);
        o.rc = ffdb_bulk_append(bk, k, kl, v, vl);
        if (o.rc < 0) {
            o.where = 1;
            o.at = i;
            ffdb_bulk_abort(bk);
            return o;
        }
    }
    o.rc = ffdb_bulk_finish(bk);
    o.where = o.rc < 0 ? 2 : 0;
    return o;
}

/* The bulk bucket is empty, nothing is in flight, the state is gen 1. */
static void expect_bulk_empty(struct io_mem *m, ffdb *db)
{
    struct io_mem_counts c;
    ffdb_bucket_stat st;
    ffdb_txn *txn;
    ffdb_bucket *b;

    io_mem_counts(m, &c);
    cr_assert_eq(c.async_in_flight, 0, "a write is still in flight");
    cr_assert_eq(c.async_changed, 0, "a buffer changed while its write was in flight");
    cr_assert_eq(c.sync_while_in_flight, 0, "a sync ran with a write in flight");
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "bulk", 4, &b));
    TU_OK(tu_bstat(b, &st));
    cr_assert(st.entries == 0 && st.depth == 0, "the bulk bucket holds %llu entries",
              (unsigned long long)st.entries);
    ffdb_abort(txn);
    expect_gen(db, 1); /* and ffdb_check is clean */
}

static void bulk_fails_at_each_write(int async, int code)
{
    struct io_mem *m = io_mem_create();
    struct io_mem_counts c0, c1;
    struct bulk_outcome o;
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    unsigned long writes;
    unsigned at_append = 0, at_finish = 0;

    cr_assert(m != NULL);
    io_mem_set_async(m, async);
    db = mem_open(m, 0);
    TU_OK(write_gen(db, 1, NULL));
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "bulk", 4, &b));
    TU_OK(ffdb_commit(txn));

    /* A clean load, to count its writes (then thrown away). */
    TU_OK(ffdb_begin_write(db, &txn));
    io_mem_counts(m, &c0);
    o = bulk_attempt(txn);
    io_mem_counts(m, &c1);
    TU_OK(o.rc);
    ffdb_abort(txn);
    writes = (unsigned long)(c1.calls[IO_MEM_WRITE] - c0.calls[IO_MEM_WRITE]);
    cr_assert(writes >= 8, "only %lu writes in a bulk load", writes);
    if (async)
        cr_assert(c1.async_submits - c0.async_submits >= 5, "the batches went asynchronously");
    expect_bulk_empty(m, db);

    for (unsigned long n = 1; n <= writes; n++) {
        TU_OK(ffdb_begin_write(db, &txn));
        io_mem_fail(m, IO_MEM_WRITE, n, code, 0);
        o = bulk_attempt(txn);
        io_mem_clear_faults(m);
        cr_assert_eq(o.rc, code, "write %lu of %lu failed: the load returned %d (%s)", n, writes,
                     o.rc, ffdb_strerror(o.rc));
        at_append += o.where == 1;
        at_finish += o.where == 2;
        if (async && n == writes)
            cr_assert_eq(o.where, 2, "the last batch is collected at finish");
        /* the txn is failed: committing it writes nothing */
        TU_RC(ffdb_commit(txn), FFDB_EBADTXN);
        expect_bulk_empty(m, db);
        if (n % 4 == 0 || n == writes) {
            ffdb_close(db);
            if (n % 8 == 0)
                io_mem_crash(m, IO_MEM_CRASH_DROP, 0); /* and power loss */
            db = mem_open(m, 0);
            expect_bulk_empty(m, db);
        }
    }
    fprintf(stderr, "iofail bulk (%s backend, %s): %lu writes per load; failed in an append %u "
            "times, at finish %u\n", async ? "async" : "sync", ffdb_strerror(code), writes,
            at_append, at_finish);
    cr_assert(at_append > 0 && at_finish > 0, "errors seen in appends %u, at finish %u",
              at_append, at_finish);
    /* With the faults gone, the load succeeds and commits. */
    TU_OK(ffdb_begin_write(db, &txn));
    o = bulk_attempt(txn);
    TU_OK(o.rc);
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);
    db = mem_open(m, 0);
    {
        ffdb_bucket_stat st;
        TU_OK(ffdb_begin_read(db, &txn));
        TU_OK(ffdb_bucket_open(txn, "bulk", 4, &b));
        TU_OK(tu_bstat(b, &st));
        cr_assert_eq(st.entries, BULK_N);
        ffdb_abort(txn);
    }
    tu_check_clean(db, NULL);
    ffdb_close(db);
    io_mem_destroy(m);
}

Test(iofail, bulk_eio_at_each_write_sync_backend) { bulk_fails_at_each_write(0, FFDB_EIO); }
Test(iofail, bulk_enospc_at_each_write_sync_backend) { bulk_fails_at_each_write(0, FFDB_ENOSPC); }
Test(iofail, bulk_eio_at_each_write_async_backend) { bulk_fails_at_each_write(1, FFDB_EIO); }
Test(iofail, bulk_enospc_at_each_write_async_backend) { bulk_fails_at_each_write(1, FFDB_ENOSPC); }

/* A refused submission (the async op itself fails) is an error of the
 * append or finish that submitted it. */
Test(iofail, bulk_submission_refused)
{
    struct io_mem *m = io_mem_create();
    struct bulk_outcome o;
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;

    cr_assert(m != NULL);
    io_mem_set_async(m, 1);
    db = mem_open(m, 0);
    TU_OK(write_gen(db, 1, NULL));
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "bulk", 4, &b));
    TU_OK(ffdb_commit(txn));
    for (unsigned long n = 1; n <= 3; n++) {
        TU_OK(ffdb_begin_write(db, &txn));
        io_mem_fail(m, IO_MEM_SUBMIT, n, FFDB_ENOSPC, 0);
        o = bulk_attempt(txn);
        io_mem_clear_faults(m);
        TU_RC(o.rc, FFDB_ENOSPC);
        ffdb_abort(txn);
        expect_bulk_empty(m, db);
    }
    ffdb_close(db);
    io_mem_destroy(m);
}

/* Aborting a load, or the txn under it, while batches are in flight waits
 * for them before their pages go back to the freelist; the txn can then
 * commit other work, and the bucket stays empty. */
Test(iofail, bulk_abort_with_writes_in_flight)
{
    struct io_mem *m = io_mem_create();
    static unsigned char v[8192];
    struct io_mem_counts c;
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bulk *bk;
    char k[16];
    size_t vl;

    cr_assert(m != NULL);
    io_mem_set_async(m, 1);
    db = mem_open(m, 0);
    TU_OK(write_gen(db, 1, NULL));
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "bulk", 4, &b));
    TU_OK(ffdb_commit(txn));
    for (int how = 0; how < 2; how++) {
        TU_OK(ffdb_begin_write(db, &txn));
        TU_OK(ffdb_bucket_open(txn, "bulk", 4, &b));
        TU_OK(ffdb_bulk_begin(b, 0, &bk));
        for (unsigned i = 0; i < BULK_N / 2; i++) {
            size_t kl = bulk_entry(i, k, v, &vl);
            TU_OK(ffdb_bulk_append(bk, k, kl, v, vl));
        }
        io_mem_counts(m, &c);
        cr_assert(c.async_in_flight > 0, "a batch is in flight mid-load");
        if (how == 0) {
            ffdb_bulk_abort(bk);
            io_mem_counts(m, &c);
            cr_assert_eq(c.async_in_flight, 0);
            TU_OK(ffdb_put(b, "x", 1, "y", 1)); /* reuses the freed pages */
            TU_OK(ffdb_delete(b, "x", 1));
            TU_OK(ffdb_commit(txn));
        } else {
            ffdb_abort(txn); /* the txn ends the load */
        }
        expect_bulk_empty(m, db);
    }
    ffdb_close(db);
    db = mem_open(m, 0);
    expect_bulk_empty(m, db);
    ffdb_close(db);
    io_mem_destroy(m);
}
