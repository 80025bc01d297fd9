/*
 * ioerr.c — mode 3, I/O errors: EIO and ENOSPC at every write, read, sync,
 * growth, truncation and size call of a transaction, one at a time.
 *
 * A seed fixes a workload and one target transaction in it (the first
 * committing one from a random index on). A dry run counts the target's
 * calls of each kind, from begin_write to the end of its commit; point K
 * of the seed is the K-th (call kind, call number, error code) in that
 * enumeration, with the fault one-shot or sticky as (seed, K) decides.
 *
 * What must hold when the fault hits:
 *  - the transaction does not commit as if nothing happened: either the
 *    commit returns an error, or (a fault in the body) the failed call had
 *    no effect and the rest committed exactly as the model says, or (a
 *    truncation or size call after the commit point) the commit stands;
 *  - a failed sync is never followed by success: ffdb_begin_write returns
 *    FFDB_EFAILED from then on, whatever later syncs would do;
 *  - the handle still reads the previous commit, and either keeps working
 *    (two more transactions commit) or refuses writes with FFDB_EFAILED;
 *  - a refusing handle is closed and the file reopened, with or without a
 *    power loss: the previous commit is there (or the failed one, if its
 *    meta page was written), clean, and writable;
 *  - at the end, a power loss keeps everything acknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/crash/crash.h"

#define DB_PATH "ioerr.ffdb"

static const enum io_mem_op fault_ops[] = {IO_MEM_WRITE, IO_MEM_READ,     IO_MEM_SYNC,
                                           IO_MEM_GROW,  IO_MEM_TRUNCATE, IO_MEM_SIZE};
static const char *const fault_op_names[] = {"write", "read", "sync", "grow", "truncate", "size"};
/* Calls made after the commit point (shrinking the file once the commit is
 * durable): their failure may leave the commit standing. */
static const int after_commit_ok[] = {0, 0, 0, 0, 1, 1};
static const int fault_codes[] = {FFDB_EIO, FFDB_ENOSPC};
#define NOPS 6
#define NCODES 2

struct cfg {
    unsigned page_size;
    size_t frames;
    unsigned txns; /* before the target */
    struct wl_params wl;
};

struct plan {
    unsigned target;      /* index of the target txn */
    uint64_t calls[NOPS]; /* its calls of each kind */
};

struct watch {
    struct disk *d;
    uint64_t meta_at_begin;
};

static void before_commit(void *arg, uint64_t txid, uint64_t digest)
{
    struct watch *wt = arg;
    (void)txid;
    (void)digest;
    wt->meta_at_begin = wt->d->order.meta_writes;
}

static void make_cfg(const struct opts *o, uint64_t seed, struct cfg *c)
{
    struct rng r = {seed_mix(seed, 11)};
    static const size_t frames[] = {16, 16, 32, 1024};
    c->page_size = rng_chance(&r, 850) ? 4096 : 8192;
    c->frames = frames[rng_below(&r, 4)];
    c->txns = (unsigned)rng_range(&r, 1, o->size == SIZE_QUICK ? 4 : 10);
    c->wl.max_ops = o->size == SIZE_QUICK ? 80 : 250;
    c->wl.max_value = o->size == SIZE_QUICK ? 32 * 1024 : 200 * 1024;
    c->wl.max_bulk = o->size == SIZE_QUICK ? 400 : 2000;
}

static uint64_t op_calls(struct disk *d, int k)
{
    struct io_mem_counts c;
    io_mem_counts(d->m, &c);
    return c.calls[fault_ops[k]];
}

/* The point's fault: kind k, call number n, code index e. 0 if K is in range. */
static int decode(const struct plan *p, uint64_t point, int *k, uint64_t *n, int *e)
{
    uint64_t i = point - 1;
    for (int op = 0; op < NOPS; op++) {
        if (i < p->calls[op] * NCODES) {
            *k = op;
            *n = i / NCODES + 1;
            *e = (int)(i % NCODES);
            return 0;
        }
        i -= p->calls[op] * NCODES;
    }
    return -1;
}

static uint64_t plan_points(const struct plan *p)
{
    uint64_t n = 0;
    for (int op = 0; op < NOPS; op++)
        n += p->calls[op] * NCODES;
    return n;
}

/* Two more transactions must commit, and a final power loss keep them. */
static int finish(const struct opts *o, struct tally *t, uint64_t seed, uint64_t point,
                  struct disk *d, struct workload *w, ffdb **db, const ffdb_options *opt,
                  const char *when)
{
    struct expect e;
    char why[512];
    w->commit_on_error = 0;
    for (int i = 0; i < 2; i++)
        if (wl_txn(w, *db, NULL) != 0) {
            fail_point(t, o, seed, point, "%s: a later txn failed: %s", when, w->err);
            return -1;
        }
    ffdb_close(*db);
    *db = NULL;
    disk_crash_now(d, CRASH_DROP, 0);
    disk_arm(d, 0, CRASH_DROP, 0);
    memset(&e, 0, sizeof(e));
    e.acked_txid = w->acked_txid;
    e.acked_digest = w->acked_digest;
    if (verify_reopen(DB_PATH, opt, &e, NULL, NULL, why, sizeof(why)) != 0) {
        fail_point(t, o, seed, point, "%s: final power loss: %s", when, why);
        return -1;
    }
    return 0;
}

/* Replay seed up to its target and run the target with the point's fault
 * (point 0: no fault, fill *p). 0, or -1 after reporting. */
static int run(const struct opts *o, struct tally *t, uint64_t seed, uint64_t point, struct plan *p)
{
    struct cfg c;
    struct disk d;
    struct workload w;
    struct watch wt;
    struct wl_hooks hooks = {before_commit, NULL, &wt};
    ffdb_options opt;
    ffdb *db = NULL;
    ffdb_txn *txn = NULL;
    struct expect e;
    int rc, k = 0, code_i = 0, sticky, result = -1;
    uint64_t n = 0, before = 0, meta_before;
    char why[512], what[160];
    struct rng r = {seed_mix(seed, point)};

    point_begin(t, o, seed, point);
    make_cfg(o, seed, &c);
    if (disk_init(&d, c.page_size) != 0)
        abort();
    disk_set_async(&d, (int)(seed_mix(seed, 41) & 1)); /* half the seeds */
    wt.d = &d;
    wt.meta_at_begin = 0;
    disk_options(&d, &opt, c.frames);
    wl_init(&w, seed_mix(seed, 12), &c.wl);
    rc = ffdb_open(DB_PATH, &opt, &db);
    if (rc) {
        fail_point(t, o, seed, point, "open of a new file: %s", ffdb_strerror(rc));
        goto out;
    }
    for (unsigned i = 0; i < c.txns; i++)
        if ((rc = wl_txn(&w, db, NULL)) != 0) {
            fail_point(t, o, seed, point, "txn %u failed with no fault: %s", i, w.err);
            goto out;
        }
    if (point == 0) {
        /* the target: the first txn from here on that commits */
        for (unsigned i = 0; i < 20; i++) {
            uint64_t calls0[NOPS];
            unsigned commits = w.commits;
            for (int op = 0; op < NOPS; op++)
                calls0[op] = op_calls(&d, op);
            if ((rc = wl_txn(&w, db, NULL)) != 0) {
                fail_point(t, o, seed, point, "txn failed with no fault: %s", w.err);
                goto out;
            }
            if (w.commits > commits) {
                p->target = c.txns + i;
                for (int op = 0; op < NOPS; op++)
                    p->calls[op] = op_calls(&d, op) - calls0[op];
                result = 0;
                goto out;
            }
        }
        goto out; /* no commit: no points */
    }
    for (unsigned i = c.txns; i < p->target; i++)
        if ((rc = wl_txn(&w, db, NULL)) != 0) {
            fail_point(t, o, seed, point, "txn %u failed with no fault: %s", i, w.err);
            goto out;
        }
    if (decode(p, point, &k, &n, &code_i) != 0) {
        fail_point(t, o, seed, point, "no such point (the seed has %llu)",
                   (unsigned long long)plan_points(p));
        goto out;
    }
    sticky = rng_chance(&r, 500);
    snprintf(what, sizeof(what), "%s %s at %s call %llu of txn %u", sticky ? "sticky" : "one-shot",
             ffdb_strerror(fault_codes[code_i]), fault_op_names[k], (unsigned long long)n,
             p->target);
    vlog(o, "  ioerr seed %llu point %llu: %s", (unsigned long long)seed, (unsigned long long)point,
         what);

    w.commit_on_error = 1;
    before = op_calls(&d, k);
    meta_before = d.order.meta_writes;
    wt.meta_at_begin = meta_before;
    io_mem_fail(d.m, fault_ops[k], (unsigned long)n, fault_codes[code_i], sticky);
    rc = wl_txn(&w, db, &hooks);
    io_mem_clear_faults(d.m);
    if (op_calls(&d, k) - before < n) {
        fail_point(t, o, seed, point, "%s: the txn made only %llu such calls this time", what,
                   (unsigned long long)(op_calls(&d, k) - before));
        goto out;
    }
    if (rc == WL_EMODEL) {
        fail_point(t, o, seed, point, "%s: %s", what, w.err);
        goto out;
    }
    if (rc == 0) {
        /* Only a failed call in the body may be survived (or one after the
         * commit point), and never a sync. */
        if ((!w.op_failed && !after_commit_ok[k]) || fault_ops[k] == IO_MEM_SYNC) {
            fail_point(t, o, seed, point, "%s: the commit reported success", what);
            goto out;
        }
        t->note[2]++;
        result = finish(o, t, seed, point, &d, &w, &db, &opt, what);
        goto out;
    }
    /* The commit failed: the handle still shows the previous commit. */
    memset(&e, 0, sizeof(e));
    e.acked_txid = w.acked_txid;
    e.acked_digest = w.acked_digest;
    if (verify_contents(db, &e, NULL, why, sizeof(why)) != 0) {
        fail_point(t, o, seed, point, "%s: after the failed commit (%s) the handle shows: %s", what,
                   w.err, why);
        goto out;
    }
    rc = ffdb_begin_write(db, &txn);
    if (rc == 0)
        ffdb_abort(txn);
    if (fault_ops[k] == IO_MEM_SYNC && rc != FFDB_EFAILED) {
        fail_point(t, o, seed, point, "%s: after the failed sync begin_write returned %s", what,
                   ffdb_strerror(rc));
        goto out;
    }
    if (rc != 0 && rc != FFDB_EFAILED) {
        fail_point(t, o, seed, point, "%s: begin_write after the failure returned %s", what,
                   ffdb_strerror(rc));
        goto out;
    }
    if (rc == 0) {
        t->note[0]++;
        wl_resolve(&w, 0);
        result = finish(o, t, seed, point, &d, &w, &db, &opt, what);
        goto out;
    }
    /* Refused: reopen, after a power loss or not. */
    t->note[1]++;
    e.inflight_possible = w.inflight && d.order.meta_writes > meta_before;
    e.inflight_txid = w.inflight_txid;
    e.inflight_digest = w.inflight_digest;
    ffdb_close(db);
    db = NULL;
    {
        uint64_t x = rng_below(&r, CRASH_KINDS + 1);
        if (x < CRASH_KINDS) {
            disk_crash_now(&d, (enum crash_kind)x, rng_next(&r));
            if (x == CRASH_DROP)
                e.inflight_possible = 0;
        }
        disk_arm(&d, 0, CRASH_DROP, 0);
        if (verify_reopen(DB_PATH, &opt, &e, &code_i, &db, why, sizeof(why)) != 0) {
            fail_point(t, o, seed, point, "%s: reopen after %s: %s", what,
                       x < CRASH_KINDS ? crash_kind_name[x] : "no power loss", why);
            goto out;
        }
        wl_resolve(&w, code_i);
    }
    result = finish(o, t, seed, point, &d, &w, &db, &opt, what);
out:
    if (result == 0 && disk_io_rules(&d, why, sizeof(why)) != 0) {
        fail_point(t, o, seed, point, "%s", why);
        result = -1;
    }
    ffdb_close(db);
    wl_free(&w);
    disk_free(&d);
    return result;
}

void mode_ioerr(const struct opts *o, struct tally *t)
{
    unsigned seeds, per_seed;
    /* This mode aims a fault at each I/O call of a txn, counted in a dry
     * run; the debug check of asan builds (engine/check.c) reads the file
     * at begin_write and after each commit and would take those faults
     * itself. Off for this mode: its handles are tested here, not checked. */
    setenv("FFDB_NO_DEBUG_CHECK", "1", 1);
    t->note_name[0] = "handle kept working";
    t->note_name[1] = "handle refused writes";
    t->note_name[2] = "failed call survived";
    t->note_name[3] = "seeds";
    seeds = o->size == SIZE_QUICK ? 6 : o->size == SIZE_THOROUGH ? 60 : 20;
    per_seed = o->size == SIZE_QUICK ? 14 : o->size == SIZE_THOROUGH ? 60 : 30;
    seeds = (unsigned)(seeds * o->scale + 0.5);
    if (o->have_point)
        seeds = 1;
    for (unsigned s = 0; s < seeds; s++) {
        uint64_t seed = o->seed + s, total;
        struct plan p;
        struct rng r = {seed_mix(seed, 13)};
        memset(&p, 0, sizeof(p));
        t->note[3]++;
        if (run(o, t, seed, 0, &p) != 0)
            continue;
        total = plan_points(&p);
        if (o->have_point) {
            t->points++;
            run(o, t, seed, o->point, &p);
            break;
        }
        if (total <= per_seed) {
            for (uint64_t k = 1; k <= total; k++) {
                t->points++;
                run(o, t, seed, k, &p);
            }
            continue;
        }
        /* Every sync, growth, truncation and size point, then a spread
         * over the writes and reads. */
        {
            uint64_t first_sync = (p.calls[0] + p.calls[1]) * NCODES;
            uint64_t rest = per_seed;
            for (uint64_t k = first_sync + 1; k <= total; k++) {
                t->points++;
                run(o, t, seed, k, &p);
            }
            for (uint64_t j = 0; j < rest && first_sync; j++) {
                uint64_t span = first_sync / rest ? first_sync / rest : 1;
                uint64_t k = 1 + j * span + rng_below(&r, span);
                if (k > first_sync)
                    break;
                t->points++;
                run(o, t, seed, k, &p);
            }
        }
    }
    unsetenv("FFDB_NO_DEBUG_CHECK");
}
