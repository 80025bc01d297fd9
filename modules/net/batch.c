/*
 * batch.c — the batch-commit helper (contract, state machine and invariant
 * B1 in batch.h): the batch's txn, its members, the commit policy, group
 * commit gathering, and the replies that wait for a sync.
 *
 * It writes no reply of its own: a failed batch's error replies come from
 * the module (ops->fail_reply), so the helper serves any protocol.
 */
#include "modules/net/batch.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define GATHER_MAX_US 2000 /* longest wait for a batch to fill (gather()) */

/* ---- parameters ------------------------------------------------------------------------------ */

static int set_fsync(void *base, const char *v, int startup, char *err, size_t errlen)
{
    net_batch_config *cfg = base;
    int mode, ms = cfg->fsync_batch_ms;

    if (!strcasecmp(v, "always")) {
        mode = NET_FSYNC_ALWAYS;
    } else if (!strcasecmp(v, "never") || !strcasecmp(v, "no")) {
        mode = NET_FSYNC_NEVER;
    } else if (!strcasecmp(v, "everysec")) {
        mode = NET_FSYNC_BATCH, ms = 1000;
    } else if (!strncasecmp(v, "batch-ms", 8)) {
        const char *n = v + 8;
        while (*n == ' ')
            n++;
        if (net_parse_int(n, 1, 3600 * 1000, &ms)) {
            snprintf(err, errlen, "argument must be 'batch-ms N' with N in 1..3600000");
            return -1;
        }
        mode = NET_FSYNC_BATCH;
    } else {
        snprintf(err, errlen, "argument must be one of: always, batch-ms N, never");
        return -1;
    }
    /* FFDB_NOSYNC is an open flag: moving to or from "never" needs a restart. */
    if (!startup && (mode == NET_FSYNC_NEVER) != (cfg->fsync == NET_FSYNC_NEVER)) {
        snprintf(err, errlen, "fsync never can only be switched at startup");
        return -1;
    }
    cfg->fsync = mode;
    cfg->fsync_batch_ms = ms;
    return 0;
}

static void get_fsync(const void *base, char *buf, size_t cap)
{
    const net_batch_config *cfg = base;

    if (cfg->fsync == NET_FSYNC_BATCH)
        snprintf(buf, cap, "batch-ms %d", cfg->fsync_batch_ms);
    else
        snprintf(buf, cap, "%s", cfg->fsync == NET_FSYNC_ALWAYS ? "always" : "never");
}

static void get_appendfsync(const void *base, char *buf, size_t cap)
{
    const net_batch_config *cfg = base;
    static const char *const names[] = {"always", "everysec", "no"};
    snprintf(buf, cap, "%s", names[cfg->fsync]);
}

const net_param net_batch_params[] = {
    {.name = "ffdb-fsync",
     .type = NET_PARAM_CUSTOM,
     .def = "always",
     .set = set_fsync,
     .get = get_fsync,
     .help = "always: every batch durable before its replies; batch-ms N: a commit at most "
             "every N ms, replies at once; never: no syncs"},
    {.name = "appendfsync",
     .type = NET_PARAM_CUSTOM,
     .set = set_fsync,
     .get = get_appendfsync,
     .help = "ffdb-fsync in Redis's words: always, everysec (batch-ms 1000), no (never)"},
    {.name = "ffdb-pipeline-commits",
     .type = NET_PARAM_BOOL,
     .offset = offsetof(net_batch_config, pipeline),
     .def = "no",
     .flags = NET_PARAM_STARTUP,
     .bad = "argument must be 'yes' or 'no'",
     .help = "with fsync always: a commit's meta is synced by the next commit, replies wait"},
    {.name = NULL},
};

/* Commits defer their meta sync and replies wait for it (the file was
 * opened with FFDB_NOMETASYNC). */
static int pipelined(const net_batch *b)
{
    return b->cfg->pipeline && b->cfg->fsync == NET_FSYNC_ALWAYS;
}

unsigned net_batch_open_flags(const net_batch_config *cfg)
{
    unsigned flags = 0;

    if (cfg->fsync == NET_FSYNC_NEVER)
        flags |= FFDB_NOSYNC;
    if (cfg->pipeline && cfg->fsync == NET_FSYNC_ALWAYS)
        flags |= FFDB_NOMETASYNC; /* see "replies that wait for a sync" */
    return flags;
}

/* ---- lists of connections ------------------------------------------------------------------- */

static int list_push(net_conn ***list, size_t *len, size_t *cap, net_conn *c)
{
    if (*len == *cap) {
        size_t n = *cap ? *cap * 2 : 64;
        net_conn **p = realloc(*list, n * sizeof(*p));
        if (!p)
            return -1;
        *list = p;
        *cap = n;
    }
    (*list)[(*len)++] = c;
    return 0;
}

static void list_del(net_conn **list, size_t *len, net_conn *c)
{
    for (size_t i = 0; i < *len; i++)
        if (list[i] == c) {
            list[i] = list[--*len];
            return;
        }
}

void net_batch_join(net_batch *b, net_conn *c)
{
    if (!(c->flags & NET_CONN_IN_BATCH)) {
        if (list_push(&b->members, &b->member_len, &b->member_cap, c))
            return; /* out of memory: it just cannot be rolled back */
        c->flags |= NET_CONN_IN_BATCH;
        c->batch_mark = c->out.len;
        c->batch_cmds = 0;
    }
    c->batch_cmds++;
}

void net_batch_leave(net_batch *b, net_conn *c)
{
    (void)b;
    if ((c->flags & NET_CONN_IN_BATCH) && c->batch_cmds > 0)
        c->batch_cmds--;
}

void net_batch_wrote(net_batch *b, net_conn *c)
{
    (void)b;
    c->flags |= NET_CONN_BATCH_WROTE;
}

/* ---- replies that wait for a sync ---------------------------------------------------------------
 *
 * With --fsync always and ffdb-pipeline-commits yes, the engine runs with
 * FFDB_NOMETASYNC: ffdb_commit of batch N writes its pages, commit list and
 * meta without syncing them (E10 in engine/db.h) and returns once batch
 * N - 1 is durable. The sync that makes N durable runs on the sync thread
 * (below), while the loop reads and runs batch N + 1; the commit of N + 1
 * waits for that sync (ffdb_sync shares one already at the disk) before its
 * meta goes out. So one flush per batch, overlapped with the next batch's
 * work, and replies are released in commit order as ffdb_durable_txid()
 * advances: the thread's report (an eventfd the loop watches) or the next
 * commit's return. Without it last_txid never runs ahead of the durable
 * txid and nothing here holds a reply.
 *
 * A connection waits for the txid its replies depend on: the batch's
 * commit, or for replies of reads run while a commit was not durable, that
 * commit (they may show its writes). A failed sync turns every waiting
 * reply into an error, as a failed commit does, and fails the handle: every
 * later batch gets errors too (E3). If the thread cannot be started the
 * loop syncs itself (net_batch_settle). */

struct net_batch_syncer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int asked, stop; /* under lock */
    int rc;          /* the last sync's result, under lock */
    int efd;         /* written once per sync done */
    net_watch *watch;
    ffdb *db;
};

static void *syncer_main(void *arg)
{
    struct net_batch_syncer *s = arg;
    uint64_t one = 1;

    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->asked && !s->stop)
            pthread_cond_wait(&s->wake, &s->lock);
        if (s->stop)
            break;
        s->asked = 0;
        pthread_mutex_unlock(&s->lock);
        int rc = ffdb_sync(s->db);
        pthread_mutex_lock(&s->lock);
        s->rc = rc;
        while (write(s->efd, &one, sizeof(one)) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void release_durable(net_batch *b);
static void fail_held(net_batch *b, int rc);
static void ask_sync(net_batch *b);

/* The loop side of a finished sync: release what it made durable, or fail
 * what waited; ask again if a commit came meanwhile. */
static void on_synced(net_watch *w, unsigned events, void *arg)
{
    net_batch *b = arg;
    struct net_batch_syncer *s = b->syncer;
    uint64_t n;
    int rc;

    (void)w, (void)events;
    if (read(s->efd, &n, sizeof(n)) != sizeof(n))
        return; /* spurious: nothing was reported */
    pthread_mutex_lock(&s->lock);
    rc = s->rc;
    pthread_mutex_unlock(&s->lock);
    b->sync_in_flight = 0;
    b->stats.syncs++;
    b->stats.thread_syncs++;
    if (rc) {
        net_log(b->svc->log, NET_LOG_WARNING, "sync failed: %s", ffdb_strerror(rc));
        fail_held(b, rc);
    } else {
        release_durable(b);
        if (b->unsynced)
            ask_sync(b);
    }
    net_service_flush(b->svc);
}

static void syncer_stop(net_batch *b)
{
    struct net_batch_syncer *s = b->syncer;

    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    net_watch_del(s->watch);
    close(s->efd);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
    b->syncer = NULL;
}

/* 0, or -1: no thread (the loop syncs itself). */
static int syncer_start(net_batch *b)
{
    struct net_batch_syncer *s = calloc(1, sizeof(*s));

    if (!s)
        return -1;
    s->db = b->db;
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (s->efd >= 0)
        s->watch = net_watch_add(b->svc->loop, s->efd, NET_EV_READ, on_synced, b);
    if (!s->watch || pthread_create(&s->thread, NULL, syncer_main, s) != 0) {
        net_watch_del(s->watch);
        if (s->efd >= 0)
            close(s->efd);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return -1;
    }
    b->syncer = s;
    return 0;
}

/* Make the last commit durable off the loop thread (once at a time). */
static void ask_sync(net_batch *b)
{
    if (b->sync_in_flight)
        return;
    if (!b->syncer && syncer_start(b) < 0) {
        net_batch_settle(b);
        return;
    }
    b->sync_in_flight = 1;
    pthread_mutex_lock(&b->syncer->lock);
    b->syncer->asked = 1;
    pthread_cond_signal(&b->syncer->wake);
    pthread_mutex_unlock(&b->syncer->lock);
}

static void hold(net_batch *b, net_conn *c, size_t from, unsigned cmds, uint64_t txid)
{
    if (c->out.hold == NET_NO_HOLD) {
        if (list_push(&b->held, &b->held_len, &b->held_cap, c)) {
            b->hold_failed = 1; /* out of memory: settle() before anything is sent */
            return;
        }
        c->out.hold = from;
        c->held_txid = 0;
    }
    c->held_cmds += cmds;
    if (txid > c->held_txid)
        c->held_txid = txid;
}

void net_batch_forget(net_batch *b, net_conn *c)
{
    list_del(b->members, &b->member_len, c);
    if (c->out.hold != NET_NO_HOLD)
        list_del(b->held, &b->held_len, c);
    c->out.hold = NET_NO_HOLD;
    c->held_cmds = 0;
    c->flags &= ~(NET_CONN_IN_BATCH | NET_CONN_BATCH_WROTE);
}

/* Send what is durable now. */
static void release_durable(net_batch *b)
{
    uint64_t durable = ffdb_durable_txid(b->db);
    size_t keep = 0;

    for (size_t i = 0; i < b->held_len; i++) {
        net_conn *c = b->held[i];
        if (c->held_txid > durable) {
            b->held[keep++] = c;
            continue;
        }
        c->out.hold = NET_NO_HOLD;
        c->held_cmds = 0;
        net_conn_mark_flush(c);
        b->released++;
    }
    b->held_len = keep;
    b->unsynced = b->last_txid > durable;
}

/* A sync failed: nothing waiting is known durable, and the handle refuses
 * writes from now on. Every waiting reply becomes an error. */
static void fail_held(net_batch *b, int rc)
{
    for (size_t i = 0; i < b->held_len; i++) {
        net_conn *c = b->held[i];
        c->out.len = c->out.hold; /* held bytes were never sent */
        c->out.overflow = 0;
        c->out.hold = NET_NO_HOLD;
        for (unsigned k = 0; k < c->held_cmds; k++)
            b->ops->fail_reply(b->arg, c, "sync failed, the write may be lost", rc);
        c->held_cmds = 0;
        net_conn_mark_flush(c);
    }
    b->held_len = 0;
    b->unsynced = 0;
    b->last_txid = ffdb_durable_txid(b->db); /* what was not synced is given up */
}

void net_batch_settle(net_batch *b)
{
    int rc;

    b->hold_failed = 0;
    if (!b->unsynced && b->held_len == 0)
        return;
    rc = ffdb_sync(b->db);
    b->stats.syncs++;
    if (rc) {
        net_log(b->svc->log, NET_LOG_WARNING, "sync failed: %s", ffdb_strerror(rc));
        fail_held(b, rc);
        return;
    }
    release_durable(b);
}

/* End of a batch under --fsync always: send what became durable, then make
 * this batch's connections wait if what they saw is not durable yet. */
static void hold_batch(net_batch *b)
{
    release_durable(b);
    if (!b->unsynced)
        return;
    for (size_t i = 0; i < b->member_len; i++) {
        net_conn *c = b->members[i];
        hold(b, c, c->batch_mark, c->batch_cmds, b->last_txid);
    }
    if (b->hold_failed)
        net_batch_settle(b);
    else
        ask_sync(b);
}

/* ---- the batch transaction
 * ------------------------------------------------------------------------ */

void net_batch_drop(net_batch *b)
{
    if (!b->txn)
        return;
    ffdb_abort(b->txn);
    b->txn = NULL;
    b->txn_write = 0;
    b->ops->end(b->arg, 0);
}

/* batch-ms: commit an open write txn once it is due (the sweeper's too). */
static void arm_due(net_batch *b)
{
    int64_t wait = b->last_commit_ms + b->cfg->fsync_batch_ms - net_loop_mono_ms(b->svc->loop);
    net_timer_again(b->due, wait > 0 ? wait : 0);
}

int net_batch_need_txn(net_batch *b, int write)
{
    ffdb_txn *txn;
    int rc;

    if (b->txn && (b->txn_write || !write))
        return 0;
    net_batch_drop(b);
    rc = write ? ffdb_begin_write(b->db, &txn) : ffdb_begin_read(b->db, &txn);
    if (rc)
        return rc;
    rc = b->ops->begin(b->arg, txn, write);
    if (rc) {
        ffdb_abort(txn);
        return rc;
    }
    b->txn = txn;
    b->txn_write = write;
    if (write && b->cfg->fsync == NET_FSYNC_BATCH)
        arm_due(b);
    return 0;
}

/* Replace every reply of the batch's connections with an error: their
 * commands were rolled back with the txn. */
static void fail_replies(net_batch *b, const char *what, int rc)
{
    for (size_t i = 0; i < b->member_len; i++) {
        net_conn *c = b->members[i];
        if (c->out.len > c->batch_mark)
            c->out.len = c->batch_mark;
        c->out.overflow = 0;
        for (unsigned k = 0; k < c->batch_cmds; k++)
            b->ops->fail_reply(b->arg, c, what, rc);
        c->batch_mark = c->out.len;
        c->batch_cmds = 0;
    }
}

void net_batch_fail(net_batch *b, int rc)
{
    net_log(b->svc->log, NET_LOG_WARNING, "engine error, batch rolled back: %s", ffdb_strerror(rc));
    net_batch_drop(b);
    fail_replies(b, "engine error, nothing was written", rc);
}

void net_batch_request_commit(net_batch *b)
{
    b->commit_requested = 1;
}

static int64_t mono_us(const net_batch *b)
{
    return net_loop_mono_us(b->svc->loop);
}

int net_batch_commit(net_batch *b)
{
    int64_t t0 = mono_us(b);
    int rc;

    assert(b->txn && b->txn_write);
    rc = b->ops->prepare ? b->ops->prepare(b->arg) : 0;
    rc = rc ? (ffdb_abort(b->txn), rc) : ffdb_commit(b->txn);
    if (rc == 0 && pipelined(b)) {
        ffdb_stat st; /* the txid committed: the txn's own, or none if it wrote nothing */
        if (ffdb_stat_db(b->db, &st) == 0)
            b->last_txid = st.txid;
    }
    b->txn = NULL;
    b->txn_write = 0;
    b->ops->end(b->arg, rc == 0);
    b->stats.commits++;
    b->last_commit_us = mono_us(b) - t0;
    b->stats.commit_us += (uint64_t)b->last_commit_us;
    b->last_commit_ms = net_loop_mono_ms(b->svc->loop);
    b->last_commit_rc = rc;
    b->commit_requested = 0;
    if (rc) {
        b->stats.commit_failures++;
        net_log(b->svc->log, NET_LOG_WARNING, "commit failed: %s", ffdb_strerror(rc));
        /* Earlier batches first: durable, or errors if the sync failed (their
         * error replies then come before this batch's, as their commands did). */
        if (b->held_len)
            net_batch_settle(b);
        fail_replies(b, "commit failed, nothing was written", rc);
    }
    return rc;
}

/* Commit (or keep open under batch-ms), then release the batch's members to
 * be flushed. force commits whatever the policy. */
static void end_batch(net_batch *b, int force)
{
    size_t writers = 0;

    for (size_t i = 0; i < b->member_len; i++)
        writers += (b->members[i]->flags & NET_CONN_BATCH_WROTE) != 0;
    if (b->txn && !b->txn_write) {
        net_batch_drop(b);
    } else if (b->txn) {
        int due = b->cfg->fsync != NET_FSYNC_BATCH || force || b->commit_requested ||
                  net_loop_mono_ms(b->svc->loop) - b->last_commit_ms >= b->cfg->fsync_batch_ms;
        if (due) {
            b->stats.batches++;
            net_batch_commit(b);
            b->last_batch_writers = writers;
        }
    }
    if (pipelined(b))
        hold_batch(b);
    for (size_t i = 0; i < b->member_len; i++) {
        b->members[i]->flags &= ~(NET_CONN_IN_BATCH | NET_CONN_BATCH_WROTE);
        net_conn_mark_flush(b->members[i]);
    }
    b->member_len = 0;
}

static void on_due(net_timer *t, void *arg)
{
    net_batch *b = arg;

    (void)t;
    if (b->txn && b->txn_write && b->cfg->fsync == NET_FSYNC_BATCH)
        end_batch(b, 1);
}

/* ---- rounds
 * ---------------------------------------------------------------------------------------- */

/* Group commit gathering (--fsync always). The clients of the last write
 * batch all get their replies at once and answer within microseconds, but
 * the loop wakes for the first few: running a batch for those and making the
 * rest wait a whole commit halves every other batch. So when fewer than
 * three quarters of the last batch's writers are back, wait for more, at
 * most half a commit (bounded by GATHER_MAX_US). Light load never waits (a
 * lone writer has no one to wait for). Measured: +10-15% durable SETs at 50
 * clients. */
static void gather(net_batch *b)
{
    size_t want = b->last_batch_writers * 3 / 4;
    int64_t limit = b->last_commit_us / 2 < GATHER_MAX_US ? b->last_commit_us / 2 : GATHER_MAX_US;
    int64_t deadline = mono_us(b) + limit;

    if (b->cfg->fsync != NET_FSYNC_ALWAYS || want < 2 || !b->ops->ready ||
        b->ops->ready(b->arg) == 0)
        return;
    while (b->ops->ready(b->arg) < want && mono_us(b) < deadline) {
        if (net_loop_poll(b->svc->loop, 1) <= 0)
            break;
    }
}

void net_batch_round_begin(net_batch *b, int nevents)
{
    (void)nevents;
    gather(b);
    b->released = 0;
}

void net_batch_round_end(net_batch *b, int force)
{
    end_batch(b, force);
    if (b->held_len && force)
        net_batch_settle(b);
    net_service_flush(b->svc);
}

void net_batch_finish(net_batch *b)
{
    end_batch(b, 1); /* the in-flight batch commits */
    if (b->txn && b->txn_write)
        net_batch_commit(b);
    net_batch_drop(b);
    net_batch_settle(b); /* and is durable before its replies go */
    net_service_flush(b->svc);
}

int net_batch_init(net_batch *b, net_service *svc, ffdb *db, const net_batch_config *cfg,
                   const net_batch_ops *ops, void *arg)
{
    assert(ops && ops->begin && ops->end && ops->fail_reply);
    memset(b, 0, sizeof(*b));
    b->svc = svc;
    b->db = db;
    b->cfg = cfg;
    b->ops = ops;
    b->arg = arg;
    b->last_commit_ms = net_loop_mono_ms(svc->loop);
    b->due = net_timer_add(svc->loop, NET_TIMER_UNARMED, 0, on_due, b);
    return b->due ? 0 : -ENOMEM;
}

void net_batch_free(net_batch *b)
{
    assert(!b->txn);
    syncer_stop(b);
    net_timer_cancel(b->due);
    free(b->members);
    free(b->held);
    memset(b, 0, sizeof(*b));
}
