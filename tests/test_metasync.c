/*
 * test_metasync.c — FFDB_NOMETASYNC, ffdb_sync and ffdb_durable_txid, on the
 * in-memory disk of testing/io_mem.h with its power-loss simulation.
 *
 * A NOMETASYNC commit syncs its pages but not its meta: after commit T
 * returns, a power loss recovers T - 1 or T, never anything older and never
 * a damaged file; once ffdb_sync, commit T + 1 or ffdb_close returned, it
 * recovers at least T. Pages commit T freed are still reached by meta T - 1,
 * which such a power loss brings back, so T + 1 must not write over them:
 * the same commits without the flag (where reuse is right, as meta T is
 * synced) show the damage an early reuse does once meta T is taken away,
 * and with the flag the image built the same way recovers T - 1 whole.
 * The file is not cut below the page count of a meta a power loss may bring
 * back. A failed ffdb_sync fails the handle (FFDB_EFAILED from then on).
 * ffdb_durable_txid and ffdb_stat.durable_txid follow the rules of db.h (E5)
 * and ffdb_sync runs beside a writer and readers on other threads.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/format.h"
#include "testing/io_mem.h"
#include "tests/testutil.h"

TestSuite(metasync, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

#define NKEYS 400u
#define PAGE 4096u

static ffdb *mem_open_flags(struct io_mem *m, unsigned flags)
{
    return tu_open_io("mem.ffdb", io_mem_io(m), 0, flags);
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

/* Generation gen of every key, in one commit: each commit rewrites every
 * leaf and so frees the previous generation's pages. */
static int write_gen(ffdb *db, unsigned gen)
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
    return ffdb_commit(txn);
}

/* The generation db holds (0: no bucket yet); asserts on errors. */
static unsigned gen_of(ffdb *db)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    unsigned gen = 0;
    int rc;
    TU_OK(ffdb_begin_read(db, &txn));
    rc = ffdb_bucket_open(txn, "b", 1, &b);
    if (rc == 0) {
        TU_OK(ffdb_get(b, "gen", 3, &v));
        cr_assert_eq(v.size, sizeof gen);
        memcpy(&gen, v.data, sizeof gen);
    } else {
        TU_RC(rc, FFDB_NOTFOUND);
    }
    ffdb_abort(txn);
    return gen;
}

/* 1 if db holds exactly generation gen (gen 0: no bucket), without asserting. */
static int holds_gen(ffdb *db, unsigned gen)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    char k[16];
    static unsigned char want[8192];
    int ok = 1, rc;
    if (ffdb_begin_read(db, &txn) != 0)
        return 0;
    rc = ffdb_bucket_open(txn, "b", 1, &b);
    if (gen == 0) {
        ffdb_abort(txn);
        return rc == FFDB_NOTFOUND;
    }
    if (rc != 0 || ffdb_get(b, "gen", 3, &v) != 0 || v.size != sizeof gen ||
        memcmp(v.data, &gen, sizeof gen) != 0)
        ok = 0;
    for (unsigned i = 0; ok && i < NKEYS; i++) {
        size_t kl = key_of(k, i), vl = val_of(want, i, gen);
        ok = ffdb_get(b, k, kl, &v) == 0 && v.size == vl && memcmp(v.data, want, vl) == 0;
    }
    ffdb_abort(txn);
    return ok;
}

/* Power loss (mode, seed), reopen without the flag, and say which
 * generation came back; the file must be whole and clean. */
static unsigned crash_and_recover(struct io_mem *m, enum io_mem_crash_mode mode, uint64_t seed)
{
    ffdb *db;
    unsigned gen;
    io_mem_crash(m, mode, seed);
    db = mem_open_flags(m, 0);
    tu_check_clean(db, NULL);
    gen = gen_of(db);
    cr_assert(holds_gen(db, gen), "the recovered generation %u is not whole", gen);
    ffdb_close(db);
    return gen;
}

static uint64_t syncs_of(struct io_mem *m)
{
    struct io_mem_counts c;
    io_mem_counts(m, &c);
    return c.calls[IO_MEM_SYNC];
}

/* ---- power loss after a commit returned ---------------------------------------- */

static const char *const mode_name[] = {"drop", "keep", "tear"};

/* Commit generations 1..n (txids 1..n) with the flag; then a power loss of
 * each kind right after commit n returned recovers n - 1 or n; after
 * ffdb_sync, after commit n + 1 or after ffdb_close, at least n. */
Test(metasync, power_loss_after_commit_loses_at_most_the_last)
{
    uint64_t seed = tu_seed("metasync::power_loss_after_commit_loses_at_most_the_last");
    unsigned seen[2] = {0, 0};

    for (unsigned n = 1; n <= 5; n++) {
        for (unsigned variant = 0; variant < 5; variant++) {
            /* variant: 0-2 a crash of that mode after commit n; 3 after
             * ffdb_sync; 4 after commit n + 1 */
            enum io_mem_crash_mode mode = variant < 3 ? (enum io_mem_crash_mode)variant
                                                      : (enum io_mem_crash_mode)((n + variant) % 3);
            for (unsigned rep = 0; rep < (mode == IO_MEM_CRASH_TEAR ? 6u : 1u); rep++) {
                struct io_mem *m = io_mem_create();
                ffdb *db;
                unsigned got, lo, hi;
                cr_assert(m != NULL);
                db = mem_open_flags(m, FFDB_NOMETASYNC);
                for (unsigned g = 1; g <= n; g++)
                    TU_OK(write_gen(db, g));
                lo = n - 1;
                hi = n;
                if (variant == 3) {
                    TU_OK(ffdb_sync(db));
                    lo = n;
                } else if (variant == 4) {
                    TU_OK(write_gen(db, n + 1));
                    lo = n;
                    hi = n + 1;
                }
                /* the handle dies with the power; it must not sync at close */
                got = 0;
                io_mem_crash(m, mode, seed ^ (n * 131u + variant * 17u + rep));
                ffdb_close(db);
                db = mem_open_flags(m, 0);
                tu_check_clean(db, NULL);
                got = gen_of(db);
                cr_assert(holds_gen(db, got), "generation %u came back damaged", got);
                cr_assert(got >= lo && got <= hi,
                          TU_SEED_FMT "n %u variant %u, %s power loss: recovered generation %u, "
                                      "expected %u..%u",
                          TU_SEED_ARG, n, variant, mode_name[mode], got, lo, hi);
                if (variant < 3 && n > 0)
                    seen[got == n]++;
                if (variant < 3 && mode == IO_MEM_CRASH_DROP)
                    cr_assert_eq(got, n - 1, "a dropped unsynced meta still came back");
                if (variant < 3 && mode == IO_MEM_CRASH_KEEP)
                    cr_assert_eq(got, n, "a kept meta did not come back");
                ffdb_close(db);
                io_mem_destroy(m);
            }
        }
    }
    fprintf(stderr, "metasync power loss: %u recovered the last commit, %u the one before\n",
            seen[1], seen[0]);
}

/* ffdb_close makes the last meta durable: a power loss right after it keeps
 * everything. */
Test(metasync, close_syncs_the_last_meta)
{
    struct io_mem *m = io_mem_create();
    ffdb *db;
    uint64_t before;
    cr_assert(m != NULL);
    db = mem_open_flags(m, FFDB_NOMETASYNC);
    TU_OK(write_gen(db, 1));
    TU_OK(write_gen(db, 2));
    cr_assert_eq(ffdb_durable_txid(db), 1);
    before = syncs_of(m);
    ffdb_close(db);
    /* the unsynced meta, then the confirmation of the one-flush commit (C6) */
    cr_assert_eq(syncs_of(m) - before, 2, "close did not sync the unsynced meta, then confirm it");
    cr_assert_eq(crash_and_recover(m, IO_MEM_CRASH_DROP, 0), 2);
    /* nothing unsynced: close does not sync */
    db = mem_open_flags(m, FFDB_NOMETASYNC);
    before = syncs_of(m);
    ffdb_close(db);
    cr_assert_eq(syncs_of(m), before, "close synced a handle with nothing to make durable");
    io_mem_destroy(m);
}

/* A failed sync at close still frees the handle (no leak under ASan) and
 * the last commit is then as if in flight: either state may come back. */
Test(metasync, failed_sync_at_close_frees_the_handle)
{
    struct io_mem *m = io_mem_create();
    ffdb *db;
    unsigned got;
    cr_assert(m != NULL);
    db = mem_open_flags(m, FFDB_NOMETASYNC);
    TU_OK(write_gen(db, 1));
    TU_OK(write_gen(db, 2));
    io_mem_fail(m, IO_MEM_SYNC, 1, FFDB_EIO, 1);
    ffdb_close(db);
    io_mem_clear_faults(m);
    got = crash_and_recover(m, IO_MEM_CRASH_DROP, 0);
    cr_assert(got == 1 || got == 2, "recovered generation %u", got);
    io_mem_destroy(m);
}

/* ---- page reuse waits for the meta that frees them ------------------------------ */

/* Crash at the first sync of the armed commit: everything written so far
 * reaches the disk, then the slot of meta T gets back what it held before
 * meta T was written (a power loss that kept every write but that one). */
struct reuse_crash {
    struct io_mem *m;
    int armed, fired;
    uint8_t *t2; /* per page: 1 if meta 2's commit wrote it (its trees, its chain) */
    uint64_t npages;
    uint64_t overwritten; /* of those, pages commit 4 wrote again */
    uint64_t slot_offset;
    unsigned char old_slot[PAGE];
};

static int reuse_hook(void *arg, const struct io_mem_event *ev)
{
    struct reuse_crash *rc = arg;
    if (rc->armed && ev->op == IO_MEM_WRITE) {
        for (uint64_t p = ev->offset / PAGE; p < (ev->offset + ev->len) / PAGE; p++)
            rc->overwritten += p < rc->npages && rc->t2[p];
        return 0;
    }
    if (!rc->armed || ev->op != IO_MEM_SYNC)
        return 0;
    rc->armed = 0;
    rc->fired = 1;
    io_mem_crash(rc->m, IO_MEM_CRASH_KEEP, 0);
    cr_assert_eq(io_mem_patch(rc->m, rc->slot_offset, rc->old_slot, PAGE), 0);
    return FFDB_EIO;
}

static void first_problem(void *arg, uint64_t pgno, const char *problem)
{
    static int shown;
    (void)arg;
    if (shown++ == 0)
        fprintf(stderr, "  ffdb_check: page %llu: %s\n", (unsigned long long)pgno, problem);
}

/* Commits 1, 2, 3 (= T) write generations 1..3, each rewriting every leaf
 * (3 frees generation 2's pages, which meta 2 = T - 1 reaches); commit 4
 * writes generation 4 and loses power at its first sync, with every write
 * kept but meta 3. Recovery picks meta 2. Returns whether generation 2
 * came back whole and clean; *problems gets ffdb_check's count (1 if the
 * open failed), *overwritten the pages of meta 2 commit 4 wrote over. */
static int reuse_scenario(unsigned flags, uint64_t *problems, uint64_t *overwritten)
{
    struct io_mem *m = io_mem_create();
    struct reuse_crash rc;
    ffdb *db;
    ffdb_stat st;
    ffdb_check_result res;
    int ok = 0, r;

    cr_assert(m != NULL);
    memset(&rc, 0, sizeof rc);
    rc.m = m;
    io_mem_set_hook(m, reuse_hook, &rc);
    db = mem_open_flags(m, flags);
    TU_OK(write_gen(db, 1));
    TU_OK(write_gen(db, 2));
    /* the slot meta 3 will overwrite, as the disk holds it now */
    rc.slot_offset = (3 % 2) * PAGE;
    cr_assert_eq(io_mem_durable_read(m, rc.slot_offset, rc.old_slot, PAGE), PAGE);
    TU_OK(write_gen(db, 3));
    st = tu_stat(db);
    cr_assert_eq(st.txid, 3);
    {
        /* Each generation rewrites every page of the tree (every leaf and
         * overflow value changes), so meta 2 reaches exactly the pages
         * whose header says txid 2 (and the metas). */
        uint64_t size = io_mem_durable_size(m);
        uint8_t *img = malloc(size);
        cr_assert(img && io_mem_durable_read(m, 0, img, size) == size);
        rc.npages = size / PAGE;
        rc.t2 = calloc(rc.npages, 1);
        cr_assert(rc.t2);
        for (uint64_t p = 2; p < rc.npages; p++)
            rc.t2[p] = ld64(img + p * PAGE + PH_TXID) == 2;
        free(img);
    }
    rc.armed = 1;
    r = write_gen(db, 4);
    cr_assert(rc.fired && r != 0, "commit 4 did not reach its sync (rc %d)", r);
    *overwritten = rc.overwritten;
    free(rc.t2);
    ffdb_close(db);
    io_mem_set_hook(m, NULL, NULL);

    *problems = 0;
    {
        ffdb_options o;
        memset(&o, 0, sizeof o);
        o.io = io_mem_io(m);
        r = ffdb_open("mem.ffdb", &o, &db);
    }
    if (r == 0) {
        st = tu_stat(db);
        cr_assert_eq(st.txid, 2, "recovery picked txid %llu, expected meta 2",
                     (unsigned long long)st.txid);
        memset(&res, 0, sizeof res);
        r = ffdb_check(db, first_problem, NULL, &res);
        *problems = res.problems;
        ok = r == 0 && res.problems == 0 &&
             res.reachable_pages + res.free_pages == res.page_count && holds_gen(db, 2);
        ffdb_close(db);
    } else {
        ffdb_error_info ei;
        ffdb_last_error(&ei);
        fprintf(stderr, "  reopen: %s (%s)\n", ffdb_strerror(r), ei.message);
        *problems = 1; /* not even the meta's freelist could be read */
    }
    io_mem_destroy(m);
    return ok;
}

Test(metasync, pages_freed_by_a_commit_wait_for_its_meta)
{
    uint64_t problems = 0, over = 0;
    /* Without the flag (two flushes per commit, as the one-flush commit's
     * list would hide the damage) commit 4 may reuse what 3 freed: meta 3 is durable.
     * Take meta 3 away, as a deferred meta sync with that rule would have
     * risked, and meta 2's tree is overwritten. */
    int ok = reuse_scenario(FFDB_TWOFLUSH, &problems, &over);
    fprintf(stderr,
            "metasync reuse, immediate rule with meta 3 lost: %s, commit 4 wrote over %llu of "
            "meta 2's pages (%llu problems)\n",
            ok ? "intact" : "damaged", (unsigned long long)over, (unsigned long long)problems);
    cr_assert(over > 0 && !ok,
              "commit 4 did not write over generation 2's pages: the scenario shows nothing");
    /* With the flag commit 4 keeps off them until meta 3 is durable. */
    ok = reuse_scenario(FFDB_NOMETASYNC, &problems, &over);
    cr_assert_eq(over, 0, "with FFDB_NOMETASYNC commit 4 wrote over %llu of meta 2's pages",
                 (unsigned long long)over);
    cr_assert(ok, "with FFDB_NOMETASYNC, meta 2 came back damaged (%llu problems)",
              (unsigned long long)problems);
}

/* The delay costs at most one generation of pages: once meta T is durable
 * (here through ffdb_sync), the next commit reuses what T freed. */
Test(metasync, reuse_resumes_once_durable)
{
    struct io_mem *m = io_mem_create();
    ffdb *db;
    uint64_t pc[12];
    cr_assert(m != NULL);
    db = mem_open_flags(m, FFDB_NOMETASYNC);
    for (unsigned g = 1; g <= 10; g++) {
        TU_OK(write_gen(db, g));
        pc[g] = tu_stat(db).page_count;
    }
    /* steady state: three generations live at most (reachable, freed by
     * the last commit, freed by the one before and not yet reusable) */
    cr_assert(pc[10] == pc[7], "the file kept growing: %llu pages after 7 commits, %llu after 10",
              (unsigned long long)pc[7], (unsigned long long)pc[10]);
    TU_OK(ffdb_sync(db));
    TU_OK(write_gen(db, 11));
    cr_assert(tu_stat(db).page_count <= pc[10]);
    tu_check_clean(db, NULL);
    ffdb_close(db);
    io_mem_destroy(m);
}

/* ---- the file is not cut below a meta a power loss may bring back -------------- */

static void small_commit(ffdb *db, unsigned t)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "s", 1, &b));
    TU_OK(ffdb_put(b, "t", 1, &t, sizeof t));
    TU_OK(ffdb_commit(txn));
}

/* A big bucket is dropped; with the flag its pages become reusable two
 * commits later, and once the small trees have moved off the end of the
 * file, a commit T cuts the tail (its page count falls far below T - 1's).
 * Meta T is unsynced, so meta T - 1, which still counts those pages, may
 * come back: the file must keep them until meta T is durable. */
Test(metasync, truncation_waits_for_the_meta)
{
    struct io_mem *m = io_mem_create();
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    unsigned char v[1000];
    char k[16];
    uint64_t prev_pc, pc = 0, size;
    unsigned char old_slot[PAGE];
    unsigned t, cut = 0;
    cr_assert(m != NULL);
    db = mem_open_flags(m, FFDB_NOMETASYNC);
    memset(v, 'x', sizeof v);
    TU_OK(ffdb_begin_write(db, &txn)); /* 1: ~1,000 pages */
    TU_OK(ffdb_bucket_create(txn, "big", 3, &b));
    for (unsigned i = 0; i < 3000; i++) {
        size_t kl = key_of(k, i);
        TU_OK(ffdb_put(b, k, kl, v, sizeof v));
    }
    TU_OK(ffdb_bucket_create(txn, "s", 1, &b));
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_write(db, &txn)); /* 2: drop it */
    TU_OK(ffdb_bucket_drop(txn, "big", 3));
    TU_OK(ffdb_commit(txn));
    prev_pc = tu_stat(db).page_count;
    for (t = 3; t <= 12 && !cut; t++) {
        /* the slot meta t will overwrite, as the disk holds it */
        cr_assert_eq(io_mem_durable_read(m, (t % 2) * PAGE, old_slot, PAGE), PAGE);
        small_commit(db, t);
        pc = tu_stat(db).page_count;
        if (pc + 500 < prev_pc)
            cut = t;
        else
            prev_pc = pc;
    }
    cr_assert(cut, "no commit cut the file's tail (%llu pages)", (unsigned long long)pc);
    size = io_mem_current_size(m);
    cr_assert(size >= prev_pc * PAGE,
              "commit %u cut the file to %llu bytes while meta %u (%llu pages) may come back", cut,
              (unsigned long long)size, cut - 1, (unsigned long long)prev_pc);
    /* every change reached the disk but meta cut: meta cut - 1 opens */
    io_mem_crash(m, IO_MEM_CRASH_KEEP, 0);
    ffdb_close(db);
    cr_assert_eq(io_mem_patch(m, (cut % 2) * PAGE, old_slot, PAGE), 0);
    db = mem_open_flags(m, FFDB_NOMETASYNC);
    cr_assert_eq(tu_stat(db).txid, cut - 1);
    tu_check_clean(db, NULL);
    /* once two metas in a row name the short file, it is cut */
    for (t = cut; t < cut + 4; t++)
        small_commit(db, t);
    cr_assert(io_mem_current_size(m) < prev_pc * PAGE, "the file was never cut (%llu bytes)",
              (unsigned long long)io_mem_current_size(m));
    tu_check_clean(db, NULL);
    ffdb_close(db);
    io_mem_destroy(m);
}

/* ---- a failed ffdb_sync fails the handle ------------------------------------------- */

Test(metasync, failed_sync_fails_the_handle)
{
    struct io_mem *m = io_mem_create();
    ffdb *db;
    ffdb_txn *txn = NULL, *held = NULL;
    ffdb_bucket *b;
    unsigned got;
    cr_assert(m != NULL);
    db = mem_open_flags(m, FFDB_NOMETASYNC);
    TU_OK(write_gen(db, 1));
    TU_OK(write_gen(db, 2));
    /* a write txn is live while ffdb_sync runs (it does not take its lock) */
    TU_OK(ffdb_begin_write(db, &held));
    TU_OK(ffdb_bucket_open(held, "b", 1, &b));
    TU_OK(ffdb_put(b, "x", 1, "y", 1));
    io_mem_fail(m, IO_MEM_SYNC, 1, FFDB_EIO, 0); /* one-shot: a retry would "succeed" */
    TU_RC(ffdb_sync(db), FFDB_EIO);
    io_mem_clear_faults(m);
    cr_assert_eq(ffdb_durable_txid(db), 1, "a failed sync moved durable_txid");
    cr_assert_eq(tu_stat(db).durable_txid, 1);
    /* the txn that was live cannot commit; nothing later can either */
    TU_RC(ffdb_commit(held), FFDB_EFAILED);
    for (int i = 0; i < 3; i++) {
        TU_RC(ffdb_begin_write(db, &txn), FFDB_EFAILED);
        TU_RC(ffdb_sync(db), FFDB_EFAILED); /* never success for what it may have lost */
    }
    cr_assert_eq(ffdb_durable_txid(db), 1);
    /* reads go on */
    cr_assert_eq(gen_of(db), 2);
    ffdb_close(db); /* must not sync a failed handle */
    got = crash_and_recover(m, IO_MEM_CRASH_DROP, 0);
    cr_assert(got == 1 || got == 2, "recovered generation %u", got);
    /* reopened: writable again */
    db = mem_open_flags(m, FFDB_NOMETASYNC);
    TU_OK(write_gen(db, 3));
    ffdb_close(db);
    cr_assert_eq(crash_and_recover(m, IO_MEM_CRASH_DROP, 0), 3);
    io_mem_destroy(m);
}

/* A failed sync #1 of a NOMETASYNC commit fails the handle like any. */
Test(metasync, failed_commit_sync_fails_the_handle)
{
    struct io_mem *m = io_mem_create();
    ffdb *db;
    ffdb_txn *txn = NULL;
    unsigned got;
    cr_assert(m != NULL);
    db = mem_open_flags(m, FFDB_NOMETASYNC);
    TU_OK(write_gen(db, 1));
    TU_OK(write_gen(db, 2));
    io_mem_fail(m, IO_MEM_SYNC, 1, FFDB_EIO, 0);
    TU_RC(write_gen(db, 3), FFDB_EIO);
    io_mem_clear_faults(m);
    TU_RC(ffdb_begin_write(db, &txn), FFDB_EFAILED);
    TU_RC(ffdb_sync(db), FFDB_EFAILED);
    cr_assert_eq(ffdb_durable_txid(db), 1);
    ffdb_close(db);
    got = crash_and_recover(m, IO_MEM_CRASH_TEAR, 7);
    cr_assert(got == 1 || got == 2, "recovered generation %u", got);
    io_mem_destroy(m);
}

/* ---- durable_txid ----------------------------------------------------------------- */

static void expect_durable(ffdb *db, uint64_t want, const char *when)
{
    ffdb_stat st = tu_stat(db);
    cr_assert_eq(ffdb_durable_txid(db), want, "%s: durable txid %llu, expected %llu", when,
                 (unsigned long long)ffdb_durable_txid(db), (unsigned long long)want);
    cr_assert_eq(st.durable_txid, want, "%s: ffdb_stat says durable txid %llu, expected %llu", when,
                 (unsigned long long)st.durable_txid, (unsigned long long)want);
}

static void empty_commit(ffdb *db)
{
    ffdb_txn *txn;
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_commit(txn));
}

Test(metasync, durable_txid_follows_the_rules)
{
    struct io_mem *m = io_mem_create();
    ffdb *db;
    uint64_t s;
    cr_assert(m != NULL);
    cr_assert_eq(ffdb_durable_txid(NULL), 0);
    TU_RC(ffdb_sync(NULL), FFDB_EINVAL);

    db = mem_open_flags(m, FFDB_NOMETASYNC);
    expect_durable(db, 0, "a new file");
    s = syncs_of(m);
    /* E10: a one-flush NOMETASYNC commit syncs only to make the meta
     * before it durable, which here it already is */
    TU_OK(write_gen(db, 1));
    cr_assert_eq(syncs_of(m) - s, 0, "a NOMETASYNC commit synced %llu times",
                 (unsigned long long)(syncs_of(m) - s));
    expect_durable(db, 0, "after commit 1 (its meta unsynced)");
    s = syncs_of(m);
    TU_OK(write_gen(db, 2));
    cr_assert_eq(syncs_of(m) - s, 1, "commit 2 did not sync meta 1 once");
    expect_durable(db, 1, "after commit 2 (its sync made meta 1 durable)");
    s = syncs_of(m);
    TU_OK(ffdb_sync(db));
    cr_assert_eq(syncs_of(m) - s, 1);
    expect_durable(db, 2, "after ffdb_sync");
    TU_OK(ffdb_sync(db));
    cr_assert_eq(syncs_of(m) - s, 1, "ffdb_sync synced again with nothing to make durable");
    expect_durable(db, 2, "after a second ffdb_sync");
    empty_commit(db);
    cr_assert_eq(syncs_of(m) - s, 1, "an empty commit synced with nothing to make durable");
    TU_OK(write_gen(db, 3));
    expect_durable(db, 2, "after commit 3");
    /* a commit that changes nothing writes no meta but keeps the promise
     * that its 0 means every earlier commit is durable */
    s = syncs_of(m);
    empty_commit(db);
    cr_assert_eq(syncs_of(m) - s, 1);
    expect_durable(db, 3, "after an empty commit");
    cr_assert_eq(tu_stat(db).txid, 3);
    TU_OK(write_gen(db, 4));
    expect_durable(db, 3, "after commit 4");
    /* an aborted txn changes nothing */
    {
        ffdb_txn *txn;
        TU_OK(ffdb_begin_write(db, &txn));
        ffdb_abort(txn);
    }
    expect_durable(db, 3, "after an abort");
    ffdb_close(db);
    db = mem_open_flags(m, FFDB_NOMETASYNC);
    expect_durable(db, 4, "after a reopen");
    ffdb_close(db);

    /* without the flag every commit is durable when it returns: one sync
     * (the one-flush commit; two with FFDB_TWOFLUSH) */
    db = mem_open_flags(m, 0);
    s = syncs_of(m);
    TU_OK(write_gen(db, 5));
    cr_assert_eq(syncs_of(m) - s, 1);
    expect_durable(db, 5, "after a synced commit");
    TU_OK(ffdb_sync(db));
    cr_assert_eq(syncs_of(m) - s, 1, "ffdb_sync synced a handle with nothing unsynced");
    ffdb_close(db);

    /* ignored with NOSYNC: nothing is synced, durable_txid as without it */
    db = mem_open_flags(m, FFDB_NOSYNC | FFDB_NOMETASYNC);
    s = syncs_of(m);
    TU_OK(write_gen(db, 6));
    TU_OK(ffdb_sync(db));
    cr_assert_eq(syncs_of(m), s);
    expect_durable(db, 6, "NOSYNC | NOMETASYNC");
    ffdb_close(db);
    cr_assert_eq(syncs_of(m), s);

    /* and with RDONLY */
    db = mem_open_flags(m, FFDB_RDONLY | FFDB_NOMETASYNC);
    expect_durable(db, 6, "read-only");
    TU_OK(ffdb_sync(db));
    ffdb_close(db);
    io_mem_destroy(m);
}

/* ---- ffdb_sync beside the writer and readers ---------------------------------------- */

struct syncer {
    ffdb *db;
    _Atomic int stop;
    unsigned syncs;
    int rc;
    uint64_t last_durable;
    int went_back;
};

static void *sync_loop(void *arg)
{
    struct syncer *s = arg;
    while (!s->stop && s->rc == 0) {
        uint64_t d;
        s->rc = ffdb_sync(s->db);
        d = ffdb_durable_txid(s->db);
        if (d < s->last_durable)
            s->went_back = 1;
        s->last_durable = d;
        s->syncs++;
        /* a reader between syncs: begin_read must never wait on the disk */
        {
            ffdb_txn *r;
            if (ffdb_begin_read(s->db, &r) == 0)
                ffdb_abort(r);
        }
    }
    return NULL;
}

Test(metasync, sync_from_another_thread_beside_the_writer)
{
    struct io_mem *m = io_mem_create();
    struct syncer s;
    pthread_t th;
    ffdb *db;
    cr_assert(m != NULL);
    db = mem_open_flags(m, FFDB_NOMETASYNC);
    memset(&s, 0, sizeof s);
    s.db = db;
    cr_assert_eq(pthread_create(&th, NULL, sync_loop, &s), 0);
    for (unsigned g = 1; g <= 40; g++) {
        uint64_t d;
        TU_OK(write_gen(db, g));
        d = ffdb_durable_txid(db);
        cr_assert(d == g - 1 || d == g, "after commit %u durable txid is %llu", g,
                  (unsigned long long)d);
    }
    s.stop = 1;
    pthread_join(th, NULL);
    TU_OK(s.rc);
    cr_assert(!s.went_back, "durable txid went back");
    fprintf(stderr, "metasync: %u ffdb_sync calls beside 40 commits\n", s.syncs);
    TU_OK(ffdb_sync(db));
    expect_durable(db, 40, "after the last ffdb_sync");
    tu_check_clean(db, NULL);
    ffdb_close(db);
    cr_assert_eq(crash_and_recover(m, IO_MEM_CRASH_DROP, 0), 40);
    io_mem_destroy(m);
}

/* ---- a real file ------------------------------------------------------------------ */

/* The flag on the posix backend (O_DIRECT where the filesystem allows it):
 * commits, ffdb_sync, reopen. */
Test(metasync, posix_file)
{
    const char *path = tu_path("nms.ffdb");
    ffdb *db = tu_open(path, 0, 0, FFDB_NOMETASYNC);
    for (unsigned g = 1; g <= 5; g++)
        TU_OK(write_gen(db, g));
    expect_durable(db, 4, "after 5 commits on a file");
    TU_OK(ffdb_sync(db));
    expect_durable(db, 5, "after ffdb_sync on a file");
    TU_OK(write_gen(db, 6));
    ffdb_close(db);
    db = tu_open(path, 0, 0, 0);
    cr_assert(holds_gen(db, 6));
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* ---- FFDB_DEFERSYNC ------------------------------------------------------------------
 *
 * Commits sync nothing; ffdb_sync makes them all durable with one sync. A
 * power loss recovers some commit at or after the last completed sync,
 * whole (D1-D6 in engine/db.h). */

TestSuite(defersync, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

#define DS_BASE_KEYS 1500u

/* Small commit t (t >= 1): key "s<spread>" = t and "last" = t, touching one
 * leaf of a large tree and leaving the leaves of earlier commits reached. */
static size_t ds_key(char *k, unsigned t)
{
    return (size_t)snprintf(k, 16, "s%05u", (t * 7919u) % DS_BASE_KEYS);
}

static int ds_commit(ffdb *db, unsigned t)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    char k[16];
    int rc = ffdb_begin_write(db, &txn);
    if (rc)
        return rc;
    rc = ffdb_bucket_open(txn, "d", 1, &b);
    if (rc == 0)
        rc = ffdb_put(b, k, ds_key(k, t), &t, sizeof t);
    if (rc == 0)
        rc = ffdb_put(b, "last", 4, &t, sizeof t);
    if (rc) {
        ffdb_abort(txn);
        return rc;
    }
    return ffdb_commit(txn);
}

/* The base tree: DS_BASE_KEYS keys of 100-byte values (value t = 0). */
static void ds_base(ffdb *db)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    unsigned char v[100];
    char k[16];
    memset(v, 0, sizeof v);
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "d", 1, &b));
    for (unsigned i = 0; i < DS_BASE_KEYS; i++) {
        size_t kl = (size_t)snprintf(k, sizeof k, "s%05u", i);
        TU_OK(ffdb_put(b, k, kl, v, sizeof v));
    }
    TU_OK(ffdb_put(b, "last", 4, v, sizeof(unsigned)));
    TU_OK(ffdb_commit(txn));
}

/* The commit db holds (0 = the base), checked whole: every key holds the
 * last commit <= it that wrote it. -1 if it is not a whole state. */
static int ds_state(ffdb *db, unsigned upto)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    char k[16];
    unsigned last, *want = calloc(DS_BASE_KEYS, sizeof *want);
    int ok = 1;
    cr_assert(want != NULL);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "d", 1, &b));
    TU_OK(ffdb_get(b, "last", 4, &v));
    memcpy(&last, v.data, sizeof last);
    if (last > upto)
        ok = 0;
    for (unsigned t = 1; ok && t <= last; t++)
        want[(t * 7919u) % DS_BASE_KEYS] = t;
    for (unsigned i = 0; ok && i < DS_BASE_KEYS; i++) {
        size_t kl = (size_t)snprintf(k, sizeof k, "s%05u", i);
        unsigned got = 0;
        ok = ffdb_get(b, k, kl, &v) == 0;
        if (ok && v.size == sizeof got)
            memcpy(&got, v.data, sizeof got);
        ok = ok && got == want[i];
    }
    ffdb_abort(txn);
    free(want);
    return ok ? (int)last : -1;
}

Test(defersync, flag_combinations)
{
    static const unsigned bad[] = {FFDB_NOSYNC, FFDB_NOMETASYNC, FFDB_TWOFLUSH};
    struct io_mem *m = io_mem_create();
    ffdb_options opt = {0};
    ffdb *db = NULL;
    cr_assert(m != NULL);
    opt.io = io_mem_io(m);
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        opt.flags = FFDB_DEFERSYNC | bad[i];
        TU_RC(ffdb_open("mem.ffdb", &opt, &db), FFDB_EINVAL);
        cr_assert(db == NULL);
    }
    db = mem_open_flags(m, FFDB_DEFERSYNC | FFDB_DIRECTWRITE);
    TU_OK(write_gen(db, 1));
    ffdb_close(db);
    /* ignored with FFDB_RDONLY: a reader passes the writer's flags */
    opt.flags = FFDB_DEFERSYNC | FFDB_RDONLY;
    TU_OK(ffdb_open("mem.ffdb", &opt, &db));
    cr_assert_eq(gen_of(db), 1);
    TU_OK(ffdb_sync(db));
    ffdb_close(db);
    io_mem_destroy(m);
}

/* Commits sync nothing and leave the durable txid alone; ffdb_sync makes
 * them all durable with one sync; close syncs what is unsynced, once. */
Test(defersync, commits_sync_nothing_and_sync_makes_all_durable)
{
    struct io_mem *m = io_mem_create();
    ffdb *db;
    uint64_t before, opened;
    cr_assert(m != NULL);
    db = mem_open_flags(m, FFDB_DEFERSYNC);
    opened = ffdb_durable_txid(db);
    ds_base(db);
    before = syncs_of(m);
    for (unsigned t = 1; t <= 30; t++)
        TU_OK(ds_commit(db, t));
    cr_assert_eq(syncs_of(m), before, "a deferred commit synced");
    expect_durable(db, opened, "after deferred commits");
    TU_OK(ffdb_sync(db));
    cr_assert_eq(syncs_of(m), before + 1, "ffdb_sync took more than one sync");
    expect_durable(db, 31, "after ffdb_sync");
    TU_OK(ffdb_sync(db));
    cr_assert_eq(syncs_of(m), before + 1, "a second ffdb_sync synced again");
    TU_OK(ds_commit(db, 31));
    before = syncs_of(m);
    ffdb_close(db);
    cr_assert_eq(syncs_of(m), before + 1, "close did not sync the last commit once");
    io_mem_destroy(m);
}

/* After a sync at commit s and more commits, a power loss of each kind
 * recovers a whole state in [s, last]: keep brings the last, drop the
 * synced one. Small commits leave pages of earlier unsynced commits
 * reached by the last meta (D3); whole generations free them (D2). */
Test(defersync, power_loss_recovers_a_whole_state_since_the_last_sync)
{
    uint64_t seed = tu_seed("defersync::power_loss_recovers_a_whole_state_since_the_last_sync");
    unsigned hits[3] = {0, 0, 0}; /* synced, between, last */

    for (unsigned round = 0; round < 36; round++) {
        enum io_mem_crash_mode mode = (enum io_mem_crash_mode)(round % 3);
        unsigned synced = 1 + round % 5, last = synced + 1 + (round * 7) % 23;
        struct io_mem *m = io_mem_create();
        ffdb *db;
        int got;
        cr_assert(m != NULL);
        db = mem_open_flags(m, FFDB_DEFERSYNC);
        ds_base(db);
        for (unsigned t = 1; t <= last; t++) {
            TU_OK(ds_commit(db, t));
            if (t == synced)
                TU_OK(ffdb_sync(db));
        }
        io_mem_crash(m, mode, seed ^ (round * 7717u));
        ffdb_close(db);
        db = mem_open_flags(m, 0);
        tu_check_clean(db, NULL);
        got = ds_state(db, last);
        cr_assert(got >= 0, TU_SEED_FMT "round %u: the recovered state is not whole", TU_SEED_ARG,
                  round);
        cr_assert((unsigned)got >= synced && (unsigned)got <= last,
                  TU_SEED_FMT "round %u, %s: recovered commit %d, synced %u, last %u", TU_SEED_ARG,
                  round, mode_name[mode], got, synced, last);
        if (mode == IO_MEM_CRASH_KEEP)
            cr_assert_eq((unsigned)got, last, "a kept state did not come back");
        if (mode == IO_MEM_CRASH_DROP)
            cr_assert_eq((unsigned)got, synced, "dropped writes still came back");
        hits[(unsigned)got == synced ? 0 : (unsigned)got == last ? 2 : 1]++;
        /* a default handle goes on from there (the slots' parity is broken) */
        TU_OK(ds_commit(db, (unsigned)got + 1));
        ffdb_close(db);
        db = mem_open_flags(m, 0);
        cr_assert_eq(ds_state(db, (unsigned)got + 1), got + 1);
        tu_check_clean(db, NULL);
        ffdb_close(db);
        io_mem_destroy(m);
    }
    for (unsigned n = 1; n <= 4; n++) {
        for (unsigned mode = 0; mode < 3; mode++) {
            struct io_mem *m = io_mem_create();
            ffdb *db;
            unsigned got;
            cr_assert(m != NULL);
            db = mem_open_flags(m, FFDB_DEFERSYNC);
            TU_OK(write_gen(db, 1));
            TU_OK(ffdb_sync(db));
            for (unsigned g = 2; g <= 1 + n; g++)
                TU_OK(write_gen(db, g));
            io_mem_crash(m, (enum io_mem_crash_mode)mode, seed ^ (n * 31u + mode));
            ffdb_close(db);
            db = mem_open_flags(m, 0);
            tu_check_clean(db, NULL);
            got = gen_of(db);
            cr_assert(holds_gen(db, got), "generation %u came back damaged", got);
            cr_assert(got >= 1 && got <= 1 + n, "recovered generation %u of 1..%u", got, 1 + n);
            ffdb_close(db);
            io_mem_destroy(m);
        }
    }
    fprintf(stderr, "defersync power loss: %u synced, %u between, %u last\n", hits[0], hits[1],
            hits[2]);
}

/* A commit whose list would not fit (a large one) syncs once itself: the
 * commit before it becomes durable, and a power loss keeps at least that. */
Test(defersync, a_commit_too_large_to_list_syncs_itself)
{
    struct io_mem *m = io_mem_create();
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    uint64_t before, txid;
    static unsigned char v[3000];
    char k[16];
    int got;
    cr_assert(m != NULL);
    db = mem_open_flags(m, FFDB_DEFERSYNC);
    ds_base(db);
    TU_OK(ffdb_sync(db));
    TU_OK(ds_commit(db, 1));
    TU_OK(ds_commit(db, 2));
    txid = ffdb_durable_txid(db);
    before = syncs_of(m);
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "big", 3, &b));
    for (unsigned i = 0; i < 6000; i++) {
        size_t kl = key_of(k, i);
        tu_pattern(v, sizeof v, i);
        TU_OK(ffdb_put(b, k, kl, v, sizeof v));
    }
    TU_OK(ffdb_commit(txn));
    cr_assert_eq(syncs_of(m) - before, 1, "a large deferred commit did not sync once");
    cr_assert_gt(ffdb_durable_txid(db), txid, "its sync did not advance the durable txid");
    io_mem_crash(m, IO_MEM_CRASH_TEAR, 5);
    ffdb_close(db);
    db = mem_open_flags(m, 0);
    tu_check_clean(db, NULL);
    got = ds_state(db, 2);
    cr_assert_eq(got, 2, "recovered commit %d, not the one the large commit made durable", got);
    ffdb_close(db);
    io_mem_destroy(m);
}

/* ffdb_sync on another thread beside a deferred writer: the durable txid
 * never goes back, and a power loss after the last sync keeps it. */
Test(defersync, sync_from_another_thread_beside_the_writer)
{
    struct io_mem *m = io_mem_create();
    struct syncer s;
    pthread_t th;
    ffdb *db;
    int got;
    cr_assert(m != NULL);
    db = mem_open_flags(m, FFDB_DEFERSYNC);
    ds_base(db);
    memset(&s, 0, sizeof s);
    s.db = db;
    cr_assert_eq(pthread_create(&th, NULL, sync_loop, &s), 0);
    for (unsigned t = 1; t <= 200; t++)
        TU_OK(ds_commit(db, t));
    s.stop = 1;
    pthread_join(th, NULL);
    TU_OK(s.rc);
    cr_assert(!s.went_back, "durable txid went back");
    TU_OK(ffdb_sync(db));
    expect_durable(db, 201, "after the last ffdb_sync");
    for (unsigned t = 201; t <= 210; t++)
        TU_OK(ds_commit(db, t));
    io_mem_crash(m, IO_MEM_CRASH_TEAR, 9);
    ffdb_close(db);
    db = mem_open_flags(m, 0);
    tu_check_clean(db, NULL);
    got = ds_state(db, 210);
    cr_assert(got >= 200, "recovered commit %d, synced 200", got);
    fprintf(stderr, "defersync: %u ffdb_sync calls beside 200 commits\n", s.syncs);
    ffdb_close(db);
    io_mem_destroy(m);
}

/* The flag on the posix backend: commits, ffdb_sync, close, reopen. */
Test(defersync, posix_file)
{
    const char *path = tu_path("ds.ffdb");
    ffdb *db = tu_open(path, 0, 0, FFDB_DEFERSYNC);
    for (unsigned g = 1; g <= 5; g++)
        TU_OK(write_gen(db, g));
    TU_OK(ffdb_sync(db));
    expect_durable(db, 5, "after ffdb_sync on a file");
    TU_OK(write_gen(db, 6));
    ffdb_close(db);
    db = tu_open(path, 0, 0, 0);
    cr_assert(holds_gen(db, 6));
    tu_check_clean(db, NULL);
    ffdb_close(db);
}
