/*
 * power.c — mode 2, power loss: random workloads on an io_mem disk that
 * loses power before a chosen write or sync.
 *
 * A seed fixes the workload (page size, pool size, transactions). A dry run
 * counts its I/O events (each write run and each sync, disk.c); point K of
 * the seed then replays the workload and cuts the power just before event
 * K, in one of four ways chosen by (seed, K): drop every unsynced write,
 * keep them all, keep a random subset of their 512-byte sectors (torn
 * writes), or land a random subset in a random order with the last one
 * torn (the disk reordering writes between two syncs). The reopened file
 * must be clean and hold the last acknowledged commit — or the commit in
 * flight, if its meta page had been issued and the crash kept anything.
 * The workload then goes on from the recovered state, and at its end a
 * last power loss (drop) must keep everything acknowledged. Now and then a
 * read snapshot is held across a few commits (so freed pages stay pending
 * and are persisted as such) and must not change under its reader.
 *
 * Odd seeds open the database with FFDB_NOMETASYNC and call ffdb_sync now
 * and then (an I/O event, so a crash point, too). There the reopened file
 * may also hold the newest commit known durable — the acknowledged one
 * before the last, unless a later commit or ffdb_sync returned — and the
 * last power loss follows ffdb_close, which must have synced the last meta.
 *
 * Even seeds run the default one-flush commit (engine/clist.c): pages,
 * commit list and meta between two syncs, so a crash may keep the meta and
 * lose, tear or reorder any of the commit's pages; open must then find the
 * list incomplete and recover the commit before.
 *
 * Every run also asserts the commit's write ordering (disk.c). Nothing
 * here knows how the engine lays out pages; only pages 0 and 1 are special.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/crash/crash.h"

#define DB_PATH "power.ffdb"

/* Mode defer: the same runs with FFDB_DEFERSYNC on every seed. */
static int power_defer;

struct cfg {
    unsigned page_size;
    size_t frames;
    unsigned txns;
    int nometasync; /* odd seeds */
    int defersync;  /* mode defer: every seed */
    struct wl_params wl;
};

/* Tally notes of this mode. */
enum { N_INFLIGHT, N_SEEDS, N_NMS_SEEDS, N_NMS_POINTS, N_NMS_DURABLE, N_NMS_SYNCS };

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
    struct rng r = {seed_mix(seed, 1)};
    static const size_t frames[] = {16, 24, 64, 1024};
    uint64_t x = rng_below(&r, 100);
    c->page_size = x < 80 ? 4096 : x < 90 ? 8192 : 16384;
    c->frames = frames[rng_below(&r, 4)];
    if (o->size == SIZE_QUICK) {
        c->txns = (unsigned)rng_range(&r, 5, 10);
        c->wl.max_ops = 100;
        c->wl.max_value = 48 * 1024;
        c->wl.max_bulk = 500;
    } else {
        c->txns = (unsigned)rng_range(&r, 8, o->size == SIZE_THOROUGH ? 24 : 16);
        c->wl.max_ops = 300;
        c->wl.max_value = 300 * 1024;
        c->wl.max_bulk = 2500;
    }
    c->nometasync = seed % 2 == 1 && !power_defer;
    c->defersync = power_defer;
}

/* After a crash: reopen, verify, and go on from the recovered state.
 * 0, or -1 after reporting. */
static int recover(const struct opts *o, struct tally *t, uint64_t seed, uint64_t point,
                   struct disk *d, struct workload *w, const struct watch *wt,
                   const ffdb_options *opt, ffdb **db, const char *episode)
{
    struct expect e;
    int which = 0;
    enum crash_kind kind = d->kind;
    char why[512];

    /* The commit in flight may have won only if its meta was issued and
     * the crash kept anything unsynced. */
    expect_from(&e, w,
                w->inflight && kind != CRASH_DROP && d->order.meta_writes > wt->meta_at_begin);
    vlog(o, "  power seed %llu point %llu: %s%s at event %llu%s%s%s", (unsigned long long)seed,
         (unsigned long long)point, episode, crash_kind_name[kind],
         (unsigned long long)d->crash_event, w->inflight ? " inside a commit" : "",
         e.inflight_possible ? " after its meta write" : "",
         e.durable_possible ? " (the last commit's meta may be unsynced)" : "");
    ffdb_close(*db);
    *db = NULL;
    disk_arm(d, 0, CRASH_DROP, 0);
    if (verify_reopen(DB_PATH, opt, &e, &which, db, why, sizeof(why)) != 0) {
        char diff[400] = "";
        ffdb *look = NULL;
        if (ffdb_open(DB_PATH, opt, &look) == 0) {
            verify_diff(look, &w->acked, diff, sizeof(diff));
            ffdb_close(look);
        }
        fail_point(t, o, seed, point, "%s%s at event %llu%s: %s;%s", episode, crash_kind_name[kind],
                   (unsigned long long)d->crash_event, w->inflight ? " (inside a commit)" : "", why,
                   diff[0] ? diff : " (no key differs from the acknowledged state)");
        return -1;
    }
    t->note[N_INFLIGHT] += which == 1;
    t->note[N_NMS_DURABLE] += which == 2 || which == 3;
    if (w->defersync) {
        /* whichever state since the last sync came back: go on from it */
        if (wl_resync(w, *db) != 0) {
            fail_point(t, o, seed, point, "reloading the recovered state: %s", w->err);
            return -1;
        }
        return 0;
    }
    wl_resolve(w, which);
    return 0;
}

/* One run of seed's workload, crashing before event point (0: a dry run,
 * which returns the event count in *events). A process kill is followed by
 * a power loss a few events later: what the new process builds on must be
 * durable before it writes. 0, or -1 after reporting. */
static int run(const struct opts *o, struct tally *t, uint64_t seed, uint64_t point,
               uint64_t *events)
{
    struct cfg c;
    struct disk d;
    struct workload w;
    struct watch wt;
    struct wl_hooks hooks = {before_commit, NULL, &wt};
    ffdb_options opt;
    ffdb *db = NULL;
    struct rng r = {seed_mix(seed, point)};
    struct rng rr = {seed_mix(seed, 4)}; /* readers: the same in the dry run */
    struct rng rs = {seed_mix(seed, 6)}; /* ffdb_sync calls: likewise */
    enum crash_kind kind = (enum crash_kind)(rng_next(&r) % (CRASH_KINDS + 1));
    ffdb_txn *reader = NULL;
    uint64_t reader_digest = 0, reader_txid = 0;
    unsigned reader_left = 0, limit;
    char why[512];
    int rc, result = -1, crashes = 0;

    point_begin(t, o, seed, point);
    make_cfg(o, seed, &c);
    if (disk_init(&d, c.page_size) != 0)
        abort();
    disk_set_async(&d, (int)(seed_mix(seed, 41) & 1)); /* half the seeds */
    wt.d = &d;
    wt.meta_at_begin = 0;
    disk_options(&d, &opt, c.frames);
    wl_init(&w, seed_mix(seed, 2), &c.wl);
    if (c.nometasync) {
        opt.flags |= FFDB_NOMETASYNC;
        d.order.nometasync = 1;
        wl_set_nometasync(&w);
    }
    if (c.defersync) {
        opt.flags |= FFDB_DEFERSYNC;
        d.order.defersync = 1;
        wl_set_defersync(&w);
    }
    rc = ffdb_open(DB_PATH, &opt, &db);
    if (rc) {
        fail_point(t, o, seed, point, "open of a new file: %s", ffdb_strerror(rc));
        goto out;
    }
    d.events = 0; /* crash points count from the first commit on */
    if (point)
        disk_arm(&d, point, kind, rng_next(&r));
    limit = c.txns;
    for (unsigned i = 0; i < limit; i++) {
        /* Now and then a reader holds a snapshot across a few commits: its
         * pages stay pending in the freelist, persisted with each commit. */
        if (!reader && rng_chance(&rr, 150)) {
            if ((rc = ffdb_begin_read(db, &reader)) != 0) {
                fail_point(t, o, seed, point, "begin_read: %s", ffdb_strerror(rc));
                goto out;
            }
            reader_digest = w.acked_digest;
            reader_txid = w.acked_txid;
            reader_left = (unsigned)rng_range(&rr, 1, 6);
        }
        rc = wl_txn(&w, db, &hooks);
        if (rc == 0 && (c.nometasync || c.defersync) && !d.crashed && rng_chance(&rs, 150))
            rc = wl_sync(&w, db);
        if (d.crashed) {
            if (crashes == 0 && events)
                *events = d.events;
            ffdb_abort(reader);
            reader = NULL;
            if (recover(o, t, seed, point, &d, &w, &wt, &opt, &db,
                        crashes ? "then a power loss: " : "") != 0)
                goto out;
            crashes++;
            if (limit < i + 4)
                limit = i + 4; /* go on a little after it */
            if (kind == CRASH_KILL && crashes == 1)
                disk_arm(&d, rng_range(&r, 1, 12), (enum crash_kind)rng_below(&r, CRASH_KINDS),
                         rng_next(&r));
            continue;
        }
        if (rc) {
            fail_point(t, o, seed, point, "txn %u failed without a crash: %s", i, w.err);
            goto out;
        }
        if (reader && --reader_left == 0) {
            uint64_t dg = 0, tx = 0;
            rc = txn_digest(reader, &dg, &tx);
            ffdb_abort(reader);
            reader = NULL;
            if (rc || dg != reader_digest || tx != reader_txid) {
                fail_point(t, o, seed, point,
                           "a snapshot of txid %llu changed under its reader "
                           "(%s)",
                           (unsigned long long)reader_txid, ffdb_strerror(rc));
                goto out;
            }
        }
    }
    ffdb_abort(reader);
    reader = NULL;
    if (events && crashes == 0)
        *events = d.events;
    if (point && crashes == 0) {
        fail_point(t, o, seed, point, "the run ended after %llu events, before the crash point",
                   (unsigned long long)d.events);
        goto out;
    }
    if (disk_io_rules(&d, why, sizeof(why)) != 0) {
        fail_point(t, o, seed, point, "%s", why);
        goto out;
    }
    /* Whatever was acknowledged survives a last power loss (with
     * FFDB_NOMETASYNC because ffdb_close syncs the last meta). */
    if (point)
        t->note[N_NMS_SYNCS] += w.syncs;
    /* A power loss armed after a process kill that the workload ended
     * before must not strike inside ffdb_close (its sync of the last meta
     * is an I/O event too): this check is about a power loss after a clean
     * close. */
    disk_arm(&d, 0, CRASH_DROP, 0);
    ffdb_close(db);
    db = NULL;
    disk_crash_now(&d, CRASH_DROP, 0);
    disk_arm(&d, 0, CRASH_DROP, 0);
    {
        struct expect e;
        memset(&e, 0, sizeof(e));
        e.acked_txid = w.acked_txid;
        e.acked_digest = w.acked_digest;
        if (verify_reopen(DB_PATH, &opt, &e, NULL, NULL, why, sizeof(why)) != 0) {
            fail_point(t, o, seed, point, "final power loss: %s", why);
            goto out;
        }
    }
    result = 0;
out:
    ffdb_abort(reader);
    ffdb_close(db);
    wl_free(&w);
    disk_free(&d);
    return result;
}

static void power_pass(const struct opts *o, struct tally *t);

void mode_power(const struct opts *o, struct tally *t)
{
    power_defer = 0;
    power_pass(o, t);
}

/* Mode defer: FFDB_DEFERSYNC on every seed. A reopened file must hold a
 * whole state of some commit at or after the last completed ffdb_sync (or
 * the one in flight), and the final power loss after ffdb_close nothing
 * less than the last commit. */
void mode_defer(const struct opts *o, struct tally *t)
{
    power_defer = 1;
    power_pass(o, t);
    power_defer = 0;
}

static void power_pass(const struct opts *o, struct tally *t)
{
    unsigned seeds, per_seed;
    t->note_name[N_INFLIGHT] = "in-flight commits recovered";
    t->note_name[N_SEEDS] = "seeds";
    t->note_name[N_NMS_SEEDS] = "NOMETASYNC seeds";
    t->note_name[N_NMS_POINTS] = "NOMETASYNC points";
    t->note_name[N_NMS_DURABLE] = "NOMETASYNC recoveries of the commit before the last";
    t->note_name[N_NMS_SYNCS] = "ffdb_sync calls";
    if (power_defer) {
        t->note_name[N_NMS_SEEDS] = "DEFERSYNC seeds";
        t->note_name[N_NMS_POINTS] = "DEFERSYNC points";
        t->note_name[N_NMS_DURABLE] = "recoveries of a commit since the last sync";
    }
    if (o->have_point) {
        t->points++;
        t->note[N_NMS_POINTS] += power_defer || o->seed % 2;
        run(o, t, o->seed, o->point, NULL);
        t->note[N_SEEDS] = 1;
        t->note[N_NMS_SEEDS] = power_defer || o->seed % 2;
        return;
    }
    /* half of them (the odd ones) with FFDB_NOMETASYNC */
    seeds = o->size == SIZE_QUICK ? 10 : o->size == SIZE_THOROUGH ? (power_defer ? 320 : 240) : 46;
    per_seed = o->size == SIZE_QUICK ? 16 : o->size == SIZE_THOROUGH ? 32 : 20;
    seeds = (unsigned)(seeds * o->scale + 0.5);
    for (unsigned s = 0; s < seeds; s++) {
        uint64_t seed = o->seed + s, events = 0;
        struct rng r = {seed_mix(seed, 3)};
        t->note[N_SEEDS]++;
        t->note[N_NMS_SEEDS] += power_defer || seed % 2;
        if (run(o, t, seed, 0, &events) != 0 || events == 0)
            continue;
        /* per_seed points spread over the run, each event at most once */
        for (unsigned k = 0; k < per_seed && k < events; k++) {
            uint64_t span = events / (per_seed < events ? per_seed : events);
            uint64_t point = 1 + k * span + rng_below(&r, span);
            if (point > events)
                point = events;
            t->points++;
            t->note[N_NMS_POINTS] += power_defer || seed % 2;
            run(o, t, seed, point, NULL);
        }
    }
}
