/*
 * test_oom.c — allocation failure (common/alloc.h: mem_fail_after).
 *
 * For N = 1, 2, ... the N-th allocation from some point fails; the loop
 * ends when a whole run completes without the planned failure happening
 * (mem_fail_pending() still true). Every failure must come back as
 * FFDB_ENOMEM (later calls of a failed write txn may say FFDB_EBADTXN),
 * nothing may leak (mem_live() returns to its baseline after ffdb_close),
 * and the last successful commit must be intact (reopen, compare with the
 * model, ffdb_check clean). Phases: open of an existing file, creation of a
 * new one, read transactions, a write transaction (begin, bucket create,
 * puts that split pages and write overflow runs, deletes, commit), the commit
 * alone, and the whole sequence open → write → commit → close → reopen.
 *
 * A write txn that saw an allocation failure may go on: each later call
 * returns 0 or FFDB_EBADTXN. If it goes on without FFDB_EBADTXN the failed
 * call must have had no effect, and the commit must store exactly the calls
 * that succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "tests/testutil.h"

TestSuite(oom, .init = tu_setup, .fini = tu_teardown, .timeout = 300);

#define NB_KEYS 50u    /* bucket "b", there before the workload */
#define NC_KEYS 200u   /* bucket "c", created by the workload */
#define MAX_ITER 20000

struct model {
    int b_exists;
    int c_exists;
    unsigned char b_gen[NB_KEYS];   /* generation of b's value; all present */
    unsigned char c_gen[NC_KEYS];   /* 0 = absent */
};

static size_t key_of(char *k, unsigned i)
{
    return (size_t)snprintf(k, 16, "key-%05u", i);
}

/* Value of key i in bucket which ('b'/'c') at generation gen (>= 1). */
static size_t val_of(unsigned char *buf, int which, unsigned i, unsigned gen)
{
    size_t len = (i % 29 == 0) ? 6000 + i * 10 : (i * 13 + gen * 7) % 300;
    tu_pattern(buf, len, ((uint64_t)which << 40) | ((uint64_t)i << 8) | gen);
    return len;
}

static ffdb_options opts(void)
{
    ffdb_options o;
    memset(&o, 0, sizeof o);
    o.buffer_pages = 32; /* small: the workload spills */
    o.flags = FFDB_NOSYNC;
    return o;
}

/* The state before the workload: bucket b with NB_KEYS keys, generation 1. */
static void make_base(const char *path, struct model *m)
{
    ffdb_options o = opts();
    ffdb *db = NULL;
    ffdb_txn *txn;
    ffdb_bucket *b;
    char k[16];
    static unsigned char v[16384];
    memset(m, 0, sizeof *m);
    m->b_exists = 1;
    TU_OK(ffdb_open(path, &o, &db));
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    for (unsigned i = 0; i < NB_KEYS; i++) {
        size_t kl = key_of(k, i), vl = val_of(v, 'b', i, 1);
        TU_OK(ffdb_put(b, k, kl, v, vl));
        m->b_gen[i] = 1;
    }
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);
}

/* The database must hold exactly model m, and be clean. */
static void verify(const char *path, const struct model *m, const char *when)
{
    ffdb_options o = opts();
    ffdb *db = NULL;
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val kv, vv;
    char k[16];
    static unsigned char v[16384];
    int rc;

    TU_OK(ffdb_open(path, &o, &db));
    TU_OK(ffdb_begin_read(db, &txn));
    for (int which = 'b'; which <= 'c'; which++) {
        unsigned n = which == 'b' ? NB_KEYS : NC_KEYS;
        const unsigned char *gen = which == 'b' ? m->b_gen : m->c_gen;
        char name[2] = {(char)which, 0};
        rc = ffdb_bucket_open(txn, name, 1, &b);
        if (!(which == 'c' ? m->c_exists : m->b_exists)) {
            cr_assert(rc == FFDB_NOTFOUND, "%s: bucket %s should not exist (%d)", when, name, rc);
            continue;
        }
        cr_assert(rc == 0, "%s: bucket %s: %d (%s)", when, name, rc, ffdb_strerror(rc));
        TU_OK(ffdb_cursor_open(b, &c));
        unsigned i = 0;
        for (rc = ffdb_cursor_first(c, &kv, &vv); rc == 0; rc = ffdb_cursor_next(c, &kv, &vv)) {
            while (i < n && !gen[i])
                i++;
            cr_assert(i < n, "%s: bucket %s has an extra key '%.*s'", when, name, (int)kv.size,
                      (const char *)kv.data);
            size_t kl = key_of(k, i), vl = val_of(v, which, i, gen[i]);
            cr_assert(kv.size == kl && memcmp(kv.data, k, kl) == 0,
                      "%s: bucket %s: found '%.*s', expected %s", when, name, (int)kv.size,
                      (const char *)kv.data, k);
            cr_assert(vv.size == vl && memcmp(vv.data, v, vl) == 0,
                      "%s: bucket %s: value of %s is not generation %u", when, name, k, gen[i]);
            i++;
        }
        TU_RC(rc, FFDB_NOTFOUND);
        while (i < n && !gen[i])
            i++;
        cr_assert(i == n, "%s: bucket %s lacks key %u", when, name, i);
        ffdb_cursor_close(c);
    }
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* Contract deviations that do not stop the N loop (so that later allocation
 * points are still explored); the test fails at its end if there were any. */
static long soft_count;
static char soft_first[256];

static void soft(long n, const char *what)
{
    if (soft_count++ == 0)
        snprintf(soft_first, sizeof soft_first, "%s (first at allocation %ld)", what, n);
}

static void expect_no_soft(void)
{
    cr_assert(soft_count == 0, "%ld contract violations; the first: %s", soft_count, soft_first);
}

static void expect_no_leak(long base, const char *when, long n)
{
    long live = mem_live();
    cr_assert(live == base, "%s (failure at allocation %ld): %ld allocations leaked", when, n,
              live - base);
}

/* ---- the workload -------------------------------------------------------------------- */

/* The ops of the write txn, in order:
 *   0                  create bucket c
 *   1 .. NC            put c[i-1] (generation 1)
 *   NC+1 .. NC+NB      put b[j] (generation 2)
 *   NC+NB+1 .. +20     delete c[10*k] */
#define OP_COUNT (1 + NC_KEYS + NB_KEYS + 20)

struct wtxn {
    ffdb_txn *txn;
    ffdb_bucket *b, *c;
    struct model m;     /* what the txn holds if it commits */
    int failed;         /* an allocation failure was seen */
    int bad;            /* FFDB_EBADTXN was seen */
};

static int do_op(struct wtxn *w, unsigned op, long n)
{
    char k[16];
    static unsigned char v[16384];
    int rc;
    if (!w->b) {
        rc = ffdb_bucket_open(w->txn, "b", 1, &w->b);
        if (rc)
            return rc;
    }
    if (op == 0 || !w->c) {
        /* create c (again, if an earlier create failed) */
        rc = ffdb_bucket_create(w->txn, "c", 1, &w->c);
        if (rc == FFDB_EXISTS && op > 0 && !w->bad) {
            /* the create that failed earlier created the bucket after all */
            soft(n, "ffdb_bucket_create returned FFDB_ENOMEM, yet the bucket exists and the txn "
                    "is not marked failed");
            rc = ffdb_bucket_open(w->txn, "c", 1, &w->c);
        }
        if (rc == 0)
            w->m.c_exists = 1;
        if (rc || op == 0)
            return rc;
    }
    if (op <= NC_KEYS) {
        unsigned i = op - 1;
        size_t kl = key_of(k, i), vl = val_of(v, 'c', i, 1);
        rc = ffdb_put(w->c, k, kl, v, vl);
        if (rc == 0)
            w->m.c_gen[i] = 1;
    } else if (op <= NC_KEYS + NB_KEYS) {
        unsigned j = op - 1 - NC_KEYS;
        size_t kl = key_of(k, j), vl = val_of(v, 'b', j, 2);
        rc = ffdb_put(w->b, k, kl, v, vl);
        if (rc == 0)
            w->m.b_gen[j] = 2;
    } else {
        unsigned i = 10 * (op - 1 - NC_KEYS - NB_KEYS);
        size_t kl = key_of(k, i);
        rc = ffdb_delete(w->c, k, kl);
        if (rc == 0)
            w->m.c_gen[i] = 0;
    }
    return rc;
}

/* Classify rc of a call in the write txn. */
static void judge(struct wtxn *w, int rc, const char *what, long n)
{
    if (rc == 0) {
        cr_assert(!w->bad, "%s succeeded after FFDB_EBADTXN (N=%ld)", what, n);
        return;
    }
    if (rc == FFDB_ENOMEM && !w->failed) {
        w->failed = 1;
        mem_fail_after(0); /* one failure per run */
        return;
    }
    if (rc == FFDB_EBADTXN && w->failed) {
        w->bad = 1;
        return;
    }
    mem_fail_after(0);
    cr_assert_fail("%s returned %d (%s) (N=%ld, failure seen: %d)", what, rc, ffdb_strerror(rc),
                   n, w->failed);
}

enum arm { ARM_NONE, ARM_AT_BEGIN, ARM_AT_COMMIT };

/* Run the write txn on db, arming mem_fail_after(n) where arm says (or not
 * at all: already armed). Returns the model that must be on disk afterwards
 * (base if nothing was committed). */
static struct model run_write(ffdb *db, const struct model *base, long n, enum arm arm)
{
    struct wtxn w;
    int rc;
    memset(&w, 0, sizeof w);
    w.m = *base;
    if (arm == ARM_AT_BEGIN)
        mem_fail_after(n);
    rc = ffdb_begin_write(db, &w.txn);
    if (rc) {
        mem_fail_after(0);
        cr_assert(rc == FFDB_ENOMEM, "begin_write returned %d (%s) (N=%ld)", rc,
                  ffdb_strerror(rc), n);
        return *base;
    }
    for (unsigned op = 0; op < OP_COUNT; op++) {
        rc = do_op(&w, op, n);
        judge(&w, rc, "a write in the txn", n);
    }
    if (arm == ARM_AT_COMMIT)
        mem_fail_after(n);
    rc = ffdb_commit(w.txn);
    if (rc == 0) {
        cr_assert(!w.bad, "commit succeeded after FFDB_EBADTXN (N=%ld)", n);
        return w.m;
    }
    judge(&w, rc, "commit", n);
    return *base;
}

/* ---- the phases ------------------------------------------------------------------------ */

static void write_phase(int arm_at_begin)
{
    const char *path = tu_path("db");
    struct model base, after;
    size_t len;
    long baseline = mem_live();
    long n;

    make_base(path, &base);
    unsigned char *pristine = tu_read_file(path, &len);
    cr_assert(pristine != NULL);
    for (n = 1; n < MAX_ITER; n++) {
        ffdb_options o = opts();
        ffdb *db = NULL;
        tu_write_file(path, pristine, len);
        TU_OK(ffdb_open(path, &o, &db));
        after = run_write(db, &base, n, arm_at_begin ? ARM_AT_BEGIN : ARM_AT_COMMIT);
        int pending = mem_fail_pending();
        mem_fail_after(0);
        if (!arm_at_begin && memcmp(&after, &base, sizeof base) == 0) {
            /* an allocation failure in commit is no failed sync: the handle
             * stays usable for the next txn (FFDB_EFAILED is for failed syncs) */
            ffdb_txn *txn;
            ffdb_bucket *b;
            int rc = ffdb_begin_write(db, &txn);
            if (rc == FFDB_EFAILED) {
                soft(n, "after FFDB_ENOMEM from ffdb_commit, ffdb_begin_write returns "
                        "FFDB_EFAILED (no sync failed)");
            } else {
                TU_OK(rc);
                TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
                TU_OK(ffdb_commit(txn));
            }
        }
        ffdb_close(db);
        expect_no_leak(baseline, arm_at_begin ? "write txn" : "commit", n);
        verify(path, &after, arm_at_begin ? "after a write txn" : "after a commit");
        expect_no_leak(baseline, "verify", n);
        if (pending)
            break; /* the run completed before the N-th allocation */
    }
    cr_assert(n < MAX_ITER, "no end after %d allocations", MAX_ITER);
    fprintf(stderr, "oom %s: %ld allocation points\n", arm_at_begin ? "write txn" : "commit",
            n - 1);
    /* the last run had no failure: everything committed */
    cr_assert(after.c_exists, "the failure-free run did not commit");
    free(pristine);
    expect_no_soft();
}

Test(oom, write_txn)
{
    write_phase(1);
}

Test(oom, commit)
{
    write_phase(0);
}

Test(oom, open_existing)
{
    const char *path = tu_path("db");
    struct model base;
    long baseline = mem_live();
    long n;

    make_base(path, &base);
    for (n = 1; n < MAX_ITER; n++) {
        ffdb_options o = opts();
        ffdb *db = NULL;
        mem_fail_after(n);
        int rc = ffdb_open(path, &o, &db);
        int pending = mem_fail_pending();
        mem_fail_after(0);
        cr_assert(rc == 0 || rc == FFDB_ENOMEM, "open returned %d (%s) (N=%ld)", rc,
                  ffdb_strerror(rc), n);
        if (rc == 0)
            ffdb_close(db);
        expect_no_leak(baseline, "open", n);
        if (pending)
            break;
    }
    cr_assert(n < MAX_ITER);
    fprintf(stderr, "oom open: %ld allocation points\n", n - 1);
    verify(path, &base, "after failed opens");
    expect_no_leak(baseline, "verify", n);
}

Test(oom, create_new)
{
    long baseline = mem_live();
    long n;
    char name[32];
    struct model empty;
    memset(&empty, 0, sizeof empty);

    for (n = 1; n < MAX_ITER; n++) {
        ffdb_options o = opts();
        ffdb *db = NULL;
        snprintf(name, sizeof name, "new-%ld", n);
        const char *path = tu_path(name);
        mem_fail_after(n);
        int rc = ffdb_open(path, &o, &db);
        int pending = mem_fail_pending();
        mem_fail_after(0);
        cr_assert(rc == 0 || rc == FFDB_ENOMEM, "create returned %d (%s) (N=%ld)", rc,
                  ffdb_strerror(rc), n);
        if (rc == 0)
            ffdb_close(db);
        expect_no_leak(baseline, "create", n);
        /* whatever a failed creation left behind, the path still opens as a
         * (new, empty) database */
        ffdb *again = NULL;
        rc = ffdb_open(path, &o, &again);
        cr_assert(rc == 0, "after a creation failed at allocation %ld the file cannot be "
                  "opened: %d (%s), %lld bytes", n, rc, ffdb_strerror(rc),
                  (long long)tu_file_size(path));
        ffdb_stat st = tu_stat(again);
        cr_assert_eq(st.bucket_count, 0);
        ffdb_close(again);
        expect_no_leak(baseline, "reopen after create", n);
        if (pending)
            break;
    }
    cr_assert(n < MAX_ITER);
    fprintf(stderr, "oom create: %ld allocation points\n", n - 1);
}

Test(oom, read_txn)
{
    const char *path = tu_path("db");
    struct model base;
    long baseline = mem_live();
    long n;
    char k[16];
    static unsigned char v[16384];

    make_base(path, &base);
    for (n = 1; n < MAX_ITER; n++) {
        ffdb_options o = opts();
        ffdb *db = NULL;
        ffdb_txn *txn = NULL;
        ffdb_bucket *b;
        ffdb_cursor *c = NULL;
        ffdb_val kv, vv;
        int rc, failed = 0;
        TU_OK(ffdb_open(path, &o, &db));
        mem_fail_after(n);
        rc = ffdb_begin_read(db, &txn);
        if (rc == 0)
            rc = ffdb_bucket_open(txn, "b", 1, &b);
        for (unsigned i = 0; rc == 0 && i < NB_KEYS; i++) {
            size_t kl = key_of(k, i), vl = val_of(v, 'b', i, 1);
            rc = ffdb_get(b, k, kl, &vv);
            if (rc == 0)
                cr_assert(vv.size == vl && memcmp(vv.data, v, vl) == 0, "get %u (N=%ld)", i, n);
        }
        if (rc == 0)
            rc = ffdb_cursor_open(b, &c);
        if (rc == 0) {
            unsigned i = 0;
            for (rc = ffdb_cursor_first(c, &kv, &vv); rc == 0; rc = ffdb_cursor_next(c, &kv, &vv))
                i++;
            if (rc == FFDB_NOTFOUND) {
                rc = 0;
                cr_assert_eq(i, NB_KEYS, "scan saw %u keys (N=%ld)", i, n);
            }
        }
        int pending = mem_fail_pending();
        mem_fail_after(0);
        if (rc) {
            failed = 1;
            cr_assert(rc == FFDB_ENOMEM, "a read returned %d (%s) (N=%ld)", rc, ffdb_strerror(rc),
                      n);
        }
        ffdb_abort(txn);
        ffdb_close(db);
        expect_no_leak(baseline, "read txn", n);
        if (pending && !failed)
            break;
    }
    cr_assert(n < MAX_ITER);
    fprintf(stderr, "oom read: %ld allocation points\n", n - 1);
}

/* The whole sequence, armed once: open an (empty) database, write, commit,
 * the workload txn, close, reopen, read back. */
Test(oom, whole_sequence)
{
    long baseline = mem_live();
    long n;
    char name[32];

    for (n = 1; n < MAX_ITER; n++) {
        ffdb_options o = opts();
        ffdb *db = NULL;
        struct model empty, want;
        int rc;
        memset(&empty, 0, sizeof empty);
        want = empty;
        snprintf(name, sizeof name, "seq-%ld", n);
        const char *path = tu_path(name);
        /* an existing, empty database (creation has its own test) */
        TU_OK(ffdb_open(path, &o, &db));
        ffdb_close(db);
        db = NULL;

        mem_fail_after(n);
        rc = ffdb_open(path, &o, &db);
        if (rc == 0) {
            /* base: bucket b, then the workload (its own failure handling) */
            struct wtxn w;
            memset(&w, 0, sizeof w);
            rc = ffdb_begin_write(db, &w.txn);
            if (rc == 0) {
                ffdb_bucket *b;
                char k[16];
                static unsigned char v[16384];
                rc = ffdb_bucket_create(w.txn, "b", 1, &b);
                for (unsigned i = 0; rc == 0 && i < NB_KEYS; i++) {
                    size_t kl = key_of(k, i), vl = val_of(v, 'b', i, 1);
                    rc = ffdb_put(b, k, kl, v, vl);
                }
                if (rc == 0) {
                    rc = ffdb_commit(w.txn);
                } else {
                    ffdb_abort(w.txn);
                }
                if (rc == 0) {
                    want.b_exists = 1;
                    for (unsigned i = 0; i < NB_KEYS; i++)
                        want.b_gen[i] = 1;
                }
            }
            if (rc == 0) {
                struct model base = want;
                want = run_write(db, &base, n, ARM_NONE); /* armed above */
            }
            ffdb_close(db);
            if (rc == 0 && mem_fail_pending()) {
                /* reopen and read, still armed */
                ffdb *again = NULL;
                rc = ffdb_open(path, &o, &again);
                if (rc == 0) {
                    ffdb_txn *txn;
                    rc = ffdb_begin_read(again, &txn);
                    if (rc == 0) {
                        ffdb_bucket *c;
                        ffdb_val vv;
                        rc = ffdb_bucket_open(txn, "c", 1, &c);
                        if (rc == 0)
                            rc = ffdb_get(c, "key-00001", 9, &vv);
                        if (rc == FFDB_NOTFOUND)
                            rc = 0;
                        ffdb_abort(txn);
                    }
                    ffdb_close(again);
                }
            }
        }
        int pending = mem_fail_pending();
        mem_fail_after(0);
        cr_assert(rc == 0 || rc == FFDB_ENOMEM, "the sequence returned %d (%s) (N=%ld)", rc,
                  ffdb_strerror(rc), n);
        expect_no_leak(baseline, "whole sequence", n);
        verify(path, &want, "after the whole sequence");
        expect_no_leak(baseline, "verify", n);
        if (pending)
            break;
    }
    cr_assert(n < MAX_ITER);
    fprintf(stderr, "oom whole sequence: %ld allocation points\n", n - 1);
    expect_no_soft();
}
