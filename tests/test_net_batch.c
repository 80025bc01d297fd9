/*
 * test_net_batch.c — the batch-commit helper (modules/net/batch.c) with
 * pipelined commits (FFDB_NOMETASYNC, the sync thread), on the in-memory
 * disk of testing/io_mem.h, through a line protocol over loopback: each
 * line "KEY\n" puts KEY in the batch's txn and is answered "+OK KEY\n" once
 * durable, or "-ERR ...\n".
 *
 * A sync held at the disk (the io_mem hook blocks it) keeps every reply of
 * its batch back; once it returns they arrive. A failing sync turns the
 * replies of its batch and of every later one into errors, and after a
 * power loss that drops everything unsynced every key that was answered
 * "+OK" is in the file.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "modules/net/batch.h"
#include "modules/net/conn.h"
#include "modules/net/loop.h"
#include "testing/io_mem.h"
#include "tests/testutil.h"

TestSuite(net_batch, .init = tu_setup, .fini = tu_teardown, .timeout = 60);

#define CLIENTS 3

struct gate {
    atomic_int block;   /* syncs wait at the disk while set */
    atomic_int waiting; /* syncs waiting now */
    atomic_int fail;    /* syncs fail with FFDB_EIO while set */
    atomic_int syncs;   /* syncs that reached the disk */
};

static int gate_hook(void *arg, const struct io_mem_event *ev)
{
    struct gate *g = arg;

    if (ev->op != IO_MEM_SYNC)
        return 0;
    atomic_fetch_add(&g->syncs, 1);
    atomic_fetch_add(&g->waiting, 1);
    for (int i = 0; i < 5000 && atomic_load(&g->block); i++) /* at most 5 s */
        usleep(1000);
    atomic_fetch_sub(&g->waiting, 1);
    return atomic_load(&g->fail) ? FFDB_EIO : 0;
}

struct server {
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *bucket;
    net_batch batch;
    net_batch_config cfg;
    net_service svc;
};

struct client {
    char got[8192];
    size_t len;
};

static int kv_begin(void *arg, ffdb_txn *txn, int write)
{
    struct server *s = arg;
    int rc;

    s->txn = txn;
    if (!write)
        return 0;
    rc = ffdb_bucket_open(txn, "kv", 2, &s->bucket);
    return rc == FFDB_NOTFOUND ? ffdb_bucket_create(txn, "kv", 2, &s->bucket) : rc;
}

static void kv_end(void *arg, int committed)
{
    struct server *s = arg;
    (void)committed;
    s->txn = NULL;
    s->bucket = NULL;
}

static void kv_fail_reply(void *arg, net_conn *c, const char *what, int rc)
{
    char line[200];
    (void)arg;
    snprintf(line, sizeof line, "-ERR %s: %s\n", what, ffdb_strerror(rc));
    net_buf_append(&c->out, line, strlen(line));
}

static const net_batch_ops kv_ops = {
    .begin = kv_begin, .end = kv_end, .fail_reply = kv_fail_reply};

/* Outbound side: collect. Server side: wait for the hook. */
static void kv_input(net_conn *c)
{
    struct client *cl = c->udata;
    size_t n;

    if (!(c->flags & NET_CONN_OUTBOUND))
        return;
    n = net_conn_pending_input(c);
    if (n > sizeof(cl->got) - 1 - cl->len)
        n = sizeof(cl->got) - 1 - cl->len;
    memcpy(cl->got + cl->len, c->in + c->in_start, n);
    cl->len += n;
    cl->got[cl->len] = 0;
    c->in_start = c->in_len;
}

static const net_proto kv_proto = {.name = "kv", .input = kv_input};

/* One batch: every line every server-side connection has. */
static void kv_round(net_loop *l, int nevents, void *arg)
{
    struct server *s = arg;

    (void)l;
    net_batch_round_begin(&s->batch, nevents);
    for (net_conn *c = s->svc.conns; c; c = c->next) {
        if (c->flags & NET_CONN_OUTBOUND)
            continue;
        for (;;) {
            char *start = c->in + c->in_start, *nl;
            size_t len;
            int rc;
            if (net_conn_pending_input(c) == 0)
                break; /* c->in may be NULL */
            nl = memchr(start, '\n', net_conn_pending_input(c));
            if (!nl)
                break;
            len = (size_t)(nl - start);
            c->in_start += len + 1;
            net_batch_join(&s->batch, c);
            rc = net_batch_need_txn(&s->batch, 1);
            if (rc == 0) {
                net_batch_wrote(&s->batch, c);
                rc = ffdb_put(s->bucket, start, len, "v", 1);
                if (rc)
                    net_batch_fail(&s->batch, rc);
            }
            if (rc == 0) {
                net_buf_append(&c->out, "+OK ", 4);
                net_buf_append(&c->out, start, len);
                net_buf_append(&c->out, "\n", 1);
            } else if (rc != 0 && s->batch.txn == NULL && !(c->flags & NET_CONN_IN_BATCH)) {
                kv_fail_reply(s, c, "begin failed", rc);
            } else if (rc != 0) {
                kv_fail_reply(s, c, "begin failed", rc);
            }
        }
    }
    net_batch_round_end(&s->batch, 0);
}

#define RUN_UNTIL(l, cond)                                                                         \
    do {                                                                                           \
        for (int i_ = 0; i_ < 2000 && !(cond); i_++)                                               \
            cr_assert_geq(net_loop_run_once((l), 5), 0);                                           \
        cr_assert(cond, "%s", #cond);                                                              \
    } while (0)

static void send_line(net_conn *c, const char *key)
{
    net_buf_append(&c->out, key, strlen(key));
    net_buf_append(&c->out, "\n", 1);
    net_conn_mark_flush(c);
}

static size_t lines_of(const struct client *cl)
{
    size_t n = 0;
    for (size_t i = 0; i < cl->len; i++)
        n += cl->got[i] == '\n';
    return n;
}

static void server_up(struct server *s, net_loop **l, struct io_mem *m, net_conn *cs[CLIENTS],
                      struct client cl[CLIENTS])
{
    static net_service_config cfg;
    static net_logger log = {NET_LOG_WARNING, ""};

    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.bind[0], "127.0.0.1");
    cfg.bind_count = 1;
    cfg.maxclients = 2 * CLIENTS;
    s->cfg = (net_batch_config){.fsync = NET_FSYNC_ALWAYS, .pipeline = 1};
    s->db = tu_open_io("mem.ffdb", io_mem_io(m), 0, net_batch_open_flags(&s->cfg));
    cr_assert(net_batch_open_flags(&s->cfg) & FFDB_NOMETASYNC);
    cr_assert_eq(net_loop_new(NULL, l), 0);
    cr_assert_eq(net_service_init(&s->svc, *l, &kv_proto, s, &cfg, &log), 0);
    cr_assert_eq(net_batch_init(&s->batch, &s->svc, s->db, &s->cfg, &kv_ops, s), 0);
    cr_assert_eq(net_hook_add(*l, NET_HOOK_AFTER_EVENTS, kv_round, s), 0);
    cr_assert_eq(net_service_listen(&s->svc), 0);
    for (int i = 0; i < CLIENTS; i++)
        cr_assert_eq(net_service_connect(&s->svc, "127.0.0.1", s->svc.port, &cl[i], &cs[i]), 0);
    RUN_UNTIL(*l, s->svc.conn_count == 2 * CLIENTS);
}

static void server_down(struct server *s, net_loop *l)
{
    net_batch_finish(&s->batch);
    net_service_free(&s->svc);
    net_batch_free(&s->batch);
    net_loop_free(l);
    ffdb_close(s->db);
}

/* What each test runs on: the in-memory disk with the gate hooked in, the
 * server and CLIENTS connected clients. */
struct rig {
    struct io_mem *m;
    struct gate g;
    struct server s;
    struct client cl[CLIENTS];
    net_conn *cs[CLIENTS];
    net_loop *l;
};

static void rig_up(struct rig *r)
{
    r->m = io_mem_create();
    cr_assert(r->m != NULL);
    server_up(&r->s, &r->l, r->m, r->cs, r->cl);
    io_mem_set_hook(r->m, gate_hook, &r->g);
}

/* The server down and the hook off; the disk stays (the caller destroys it). */
static void rig_down(struct rig *r)
{
    server_down(&r->s, r->l);
    io_mem_set_hook(r->m, NULL, NULL);
}

/* One line from each client: "<prefix><client>", and "_<round>" if round >= 0. */
static void send_each(struct rig *r, const char *prefix, int round)
{
    char key[32];
    for (int i = 0; i < CLIENTS; i++) {
        if (round >= 0)
            snprintf(key, sizeof key, "%s%d_%d", prefix, i, round);
        else
            snprintf(key, sizeof key, "%s%d", prefix, i);
        send_line(r->cs[i], key);
    }
}

/* 1 if every client has n reply lines. */
static int all_lines(const struct rig *r, size_t n)
{
    for (int i = 0; i < CLIENTS; i++)
        if (lines_of(&r->cl[i]) != n)
            return 0;
    return 1;
}

/* B1 with the sync thread: no reply leaves before its commit is durable. */
Test(net_batch, no_reply_before_its_sync_returns)
{
    struct rig r = {0};
    char key[32];

    rig_up(&r);
    atomic_store(&r.g.block, 1);
    send_each(&r, "a", -1);
    /* the batch commits; its sync waits at the disk on the sync thread */
    RUN_UNTIL(r.l, atomic_load(&r.g.waiting) == 1);
    for (int i = 0; i < 50; i++)
        cr_assert_geq(net_loop_run_once(r.l, 2), 0);
    for (int i = 0; i < CLIENTS; i++)
        cr_assert_eq(r.cl[i].len, 0, "client %d got \"%s\" before its commit was durable", i,
                     r.cl[i].got);
    cr_assert_lt(ffdb_durable_txid(r.s.db), r.s.batch.last_txid);
    atomic_store(&r.g.block, 0);
    RUN_UNTIL(r.l, all_lines(&r, 1));
    for (int i = 0; i < CLIENTS; i++) {
        snprintf(key, sizeof key, "+OK a%d\n", i);
        cr_assert_str_eq(r.cl[i].got, key);
    }
    cr_assert_geq(ffdb_durable_txid(r.s.db), r.s.batch.last_txid);
    cr_assert_geq(r.s.batch.stats.thread_syncs, 1);
    /* more batches: each released in order as syncs complete */
    for (int round = 0; round < 20; round++)
        send_each(&r, "b", round);
    RUN_UNTIL(r.l, all_lines(&r, 21));
    cr_assert_null(strstr(r.cl[0].got, "-ERR"));
    rig_down(&r);
    io_mem_destroy(r.m);
}

static int has_key(ffdb *db, const char *k, size_t len)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v = {0};
    int rc;

    TU_OK(ffdb_begin_read(db, &txn));
    rc = ffdb_bucket_open(txn, "kv", 2, &b);
    if (rc == 0)
        rc = ffdb_get(b, k, len, &v);
    ffdb_abort(txn);
    return rc == 0;
}

/* A failing sync: the clients of that batch and of every later one get
 * errors, and nothing answered "+OK" is lost to a power loss. */
Test(net_batch, failed_sync_fails_its_batch_and_later_ones_and_loses_nothing_acked)
{
    struct rig r = {0};
    char key[32];
    size_t acked = 0, errors = 0;
    ffdb *db;

    rig_up(&r);
    for (int round = 0; round < 5; round++) {
        send_each(&r, "ok", round);
        RUN_UNTIL(r.l, all_lines(&r, (size_t)round + 1));
    }
    /* hold the next sync at the disk, then make it fail */
    atomic_store(&r.g.block, 1);
    atomic_store(&r.g.fail, 1);
    send_each(&r, "lost", -1);
    RUN_UNTIL(r.l, atomic_load(&r.g.waiting) == 1);
    atomic_store(&r.g.block, 0);
    RUN_UNTIL(r.l, all_lines(&r, 6));
    for (int i = 0; i < CLIENTS; i++) {
        const char *last = strstr(r.cl[i].got, "lost");
        cr_assert(last && last - r.cl[i].got >= 5 && !strncmp(last - 5, "-ERR ", 5) == 0,
                  "client %d: \"%s\"", i, r.cl[i].got);
        cr_assert(strstr(r.cl[i].got, "-ERR sync failed"), "client %d: \"%s\"", i, r.cl[i].got);
    }
    /* every later batch fails too: the handle is failed (E3) */
    send_each(&r, "after", -1);
    RUN_UNTIL(r.l, all_lines(&r, 7));
    for (int i = 0; i < CLIENTS; i++) {
        const char *p = r.cl[i].got;
        for (char *nl; (nl = strchr(p, '\n')); p = nl + 1) {
            if (!strncmp(p, "+OK ", 4))
                acked++;
            else
                errors++;
        }
        cr_assert_null(strstr(r.cl[i].got, "+OK after"), "client %d: \"%s\"", i, r.cl[i].got);
        cr_assert_null(strstr(r.cl[i].got, "+OK lost"), "client %d: \"%s\"", i, r.cl[i].got);
    }
    cr_assert_eq(acked, 5 * CLIENTS);
    cr_assert_eq(errors, 2 * CLIENTS);
    rig_down(&r);
    io_mem_crash(r.m, IO_MEM_CRASH_DROP, 0);
    db = tu_open_io("mem.ffdb", io_mem_io(r.m), 0, 0);
    for (int i = 0; i < CLIENTS; i++)
        for (int round = 0; round < 5; round++) {
            snprintf(key, sizeof key, "ok%d_%d", i, round);
            cr_assert(has_key(db, key, strlen(key)), "acknowledged %s was lost", key);
        }
    ffdb_close(db);
    io_mem_destroy(r.m);
}
