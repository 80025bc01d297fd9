/*
 * server.c — ffdb-server's policy over modules/net: the protocol hooks of
 * its connections (a client per connection, requests parsed from its
 * input), the command path (lookup, arity, auth, MULTI queuing, the txn a
 * command needs), one batch per loop iteration (net/batch.h: all the
 * requests that arrived, inside one engine transaction, committed before
 * their replies go — invariant B1 is stated there), the timers (sweeper,
 * ops sampling), start-up and graceful shutdown.
 *
 * One loop iteration, in the after-events hook:
 *
 *   events read       conns' input hooks put their clients on the ready list
 *   round_begin       gather more requests (group commit), settle if idle
 *   exec_phase        each ready client runs up to CMDS_PER_CLIENT_TICK
 *                     commands, in arrival order, in the batch's txn
 *   round_end         commit; replies held or released; flush
 *
 * It never touches a socket: net/conn.c reads and writes, and frees closed
 * connections (after on_close) before the loop sleeps.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "modules/redis/block.h"
#include "modules/redis/pause.h"
#include "modules/redis/redis.h"
#include "modules/redis/script.h"
#include "modules/redis/tracking.h"

#define CMDS_PER_CLIENT_TICK 1024 /* commands one client runs per iteration (fairness) */
#define SWEEP_BUDGET 1000         /* engine deletions per sweeper step */
#define ARGV_KEEP 1024            /* argument slots kept between requests */
#define OPEN_LOCKED_RETRIES 60    /* a locked data file: retry this many times... */
#define OPEN_LOCKED_WAIT_US 50000 /* ...this far apart (3 s in all) */

static volatile sig_atomic_t g_stop;

void redis_server_stop(void)
{
    g_stop = 1;
}

int redis_server_stopping(void)
{
    return g_stop != 0;
}

int64_t redis_now_ms(const redis_server *s)
{
    return net_loop_wall_ms(s->loop) + s->clock_skew_ms;
}

int64_t redis_mono_ms(const redis_server *s)
{
    return net_loop_mono_ms(s->loop);
}

/* jemalloc's mallctl when the program links it (weak: absent under ASan). */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));

int server_has_jemalloc(void)
{
    return mallctl != NULL;
}

uint64_t server_used_memory(void)
{
    if (mallctl) {
        uint64_t epoch = 1;
        size_t allocated = 0, len = sizeof(epoch);
        mallctl("epoch", &epoch, &len, &epoch, len);
        len = sizeof(allocated);
        if (mallctl("stats.allocated", &allocated, &len, NULL, 0) == 0)
            return allocated;
    }
    struct mallinfo2 mi = mallinfo2();
    return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
}

uint64_t redis_random(redis_server *s)
{
    uint64_t z = (s->rand_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* ---- lists of clients ------------------------------------------------------------------- */

static int list_push(redis_client ***list, size_t *len, size_t *cap, redis_client *c)
{
    if (*len == *cap) {
        size_t n = *cap ? *cap * 2 : 64;
        redis_client **p = realloc(*list, n * sizeof(*p));
        if (!p)
            return -1;
        *list = p;
        *cap = n;
    }
    (*list)[(*len)++] = c;
    return 0;
}

static void mark_ready(redis_server *s, redis_client *c)
{
    if (c->flags & CLI_READY)
        return;
    if (list_push(&s->ready, &s->ready_len, &s->ready_cap, c) == 0)
        c->flags |= CLI_READY;
}

void server_client_ready(redis_server *s, redis_client *c)
{
    mark_ready(s, c);
}

int cvec_add(redis_cvec *v, redis_client *c)
{
    return list_push(&v->v, &v->n, &v->cap, c);
}

void cvec_del(redis_cvec *v, redis_client *c)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->v[i] == c) {
            v->v[i] = v->v[--v->n];
            return;
        }
}

void server_apply_limits(redis_server *s, redis_client *c)
{
    /* Subscribers wait for messages by design: Redis spares them the idle
     * timeout, and gives them their own output limit class. */
    if (pubsub_count(c)) {
        c->conn->out.limit_bytes = s->cfg->outbuf_limit_pubsub;
        c->conn->flags |= NET_CONN_NO_IDLE;
    } else {
        c->conn->out.limit_bytes = s->cfg->svc.outbuf_limit;
        c->conn->flags &= ~NET_CONN_NO_IDLE;
    }
    c->parser.limits = s->cfg->limits;
}

/* ---- the connections' hooks ------------------------------------------------------------------ */

static int on_accept(net_conn *conn)
{
    redis_server *s = conn->svc->arg;
    redis_client *c = calloc(1, sizeof(*c));

    if (!c)
        return -1;
    c->conn = conn;
    conn->udata = c;
    c->authed = s->cfg->requirepass[0] == '\0';
    resp_parser_init(&c->parser, &s->cfg->limits);
    c->reply.out = &conn->out;
    c->reply.proto = 2;
    pubsub_client_init(c);
    return 0;
}

/* New input, or output drained with input waiting: run it in this
 * iteration's batch. Between batches, so no argv span is in use: a big
 * request's span arrays are given back once nothing is half-parsed. */
static void on_input(net_conn *conn)
{
    redis_client *c = redis_client_of(conn);

    if (c->parser.kind == 0 && c->req.argv_cap > ARGV_KEEP) {
        free(c->req.argv);
        free(c->argv);
        c->req.argv = NULL;
        c->argv = NULL;
        c->req.argv_cap = c->argv_cap = 0;
    }
    mark_ready(conn->svc->arg, c);
}

static uint64_t on_want(net_conn *conn, size_t pending)
{
    return resp_parse_wanted(&redis_client_of(conn)->parser, pending);
}

static void on_close(net_conn *conn)
{
    redis_server *s = conn->svc->arg;
    redis_client *c = redis_client_of(conn);

    if (c->flags & CLI_HELD)
        cvec_del(&s->held, c); /* its unit still applies, answered to no one */
    block_client_gone(s, c);
    pause_client_gone(s, c);
    feed_client_gone(s, c);
    tracking_off(s, c);

    s->errors_gone += c->reply.errors;
    net_batch_forget(&s->batch, conn);
    if (c->flags & CLI_READY)
        for (size_t i = 0; i < s->ready_len; i++)
            if (s->ready[i] == c) {
                s->ready[i] = s->ready[--s->ready_len];
                break;
            }
    multi_unwatch_all(s, c);
    multi_discard(c);
    pubsub_unsubscribe_all(s, c);
    free(c->req.argv);
    free(c->argv);
    free(c->name);
    free(c->queue);
    free(c->watched);
    free(c);
    conn->udata = NULL;
}

static const net_proto redis_proto = {
    .name = "redis",
    .reject = "-ERR max number of clients reached\r\n",
    .accept = on_accept,
    .input = on_input,
    .want = on_want,
    .close = on_close,
};

/* ---- the batch's hooks ------------------------------------------------------------------------
 */

static int batch_begin(void *arg, ffdb_txn *txn, int write)
{
    redis_server *s = arg;
    return store_txn_begin(s->store, txn, write, &s->st);
}

static int batch_prepare(void *arg)
{
    redis_server *s = arg;
    return store_txn_prepare(s->st);
}

static void batch_end(void *arg, int committed)
{
    redis_server *s = arg;

    store_txn_end(s->st, committed);
    s->st = NULL;
    if (committed && s->stats.dirty) {
        s->lastsave_s = redis_now_ms(s) / 1000;
        s->stats.dirty = 0;
    }
}

static void batch_fail_reply(void *arg, net_conn *conn, const char *what, int rc)
{
    (void)arg;
    reply_errorf(&redis_client_of(conn)->reply, "ERR %s: %s", what,
                 rc == SCRIPT_EKILLED ? "a script was killed by the server's shutdown"
                                      : ffdb_strerror(rc));
}

static size_t batch_ready(void *arg)
{
    redis_server *s = arg;
    return s->ready_len;
}

static const net_batch_ops redis_batch_ops = {
    .begin = batch_begin,
    .prepare = batch_prepare,
    .end = batch_end,
    .fail_reply = batch_fail_reply,
    .ready = batch_ready,
};

int server_need_txn(redis_server *s, int write)
{
    return net_batch_need_txn(&s->batch, write);
}

/* ---- running commands --------------------------------------------------------------------- */

/* Expired keys the command read are deleted now, in the batch's write txn
 * (Redis deletes on access; counted in expired_keys). Not while paused
 * (pause.h) nor with a write hook (its owner expires keys): then they are
 * only forgotten and the sweeper or the owner deletes them. */
static void expire_seen(redis_server *s)
{
    int keep = !pause_active(s) && !s->hook;
    int rc = keep ? server_need_txn(s, 1) : 0;

    if (rc == 0 && keep) {
        store_txn_set_now(s->st, redis_now_ms(s));
        rc = store_expire_seen(s->st, s->store, 1);
    }
    else
        store_expire_seen(NULL, s->store, 0);
    if (rc < 0)
        net_batch_fail(&s->batch, rc);
}

/* Execute cmd for c with the clock now_ms (a unit's, or the loop's). */
static int exec_at(redis_server *s, redis_client *c, const resp_command *cmd, int argc,
                   const resp_arg *argv, int64_t now_ms)
{
    resp_ctx ctx;
    size_t mark = c->conn->out.len;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.srv = s;
    ctx.cli = c;
    ctx.r = &c->reply;
    ctx.db = c->db;
    ctx.now_ms = now_ms;
    ctx.argc = argc;
    ctx.argv = argv;
    ctx.cmd = cmd;
    if (cmd->flags & (RESP_CMD_WRITE | RESP_CMD_READONLY)) {
        rc = server_need_txn(s, (cmd->flags & RESP_CMD_WRITE) != 0);
        if (rc) {
            reply_errorf(&c->reply, "ERR the engine refused a transaction: %s", ffdb_strerror(rc));
            return 0;
        }
        ctx.st = s->st;
        store_txn_set_now(s->st, ctx.now_ms);
    }
    if (cmd->flags & RESP_CMD_WRITE)
        net_batch_wrote(&s->batch, c->conn);
    uint64_t dirty = s->stats.dirty_total;
    if (s->monitors.n && c != s->sink)
        feed_monitor(s, ctx.db, c->conn->addr, argc, argv);
    tracking_begin(s, c);
    s->exec_depth++;
    rc = cmd->fn(&ctx);
    s->exec_depth--;
    if (s->exec_depth == 0 && store_seen_expired(s->store))
        expire_seen(s);
    if (rc == 0 && s->feeds.n && (cmd->flags & RESP_CMD_WRITE) && s->stats.dirty_total != dirty)
        feed_propagate(s, ctx.db, argc, argv);
    s->stats.commands++;
    c->commands++;
    c->last_cmd = cmd->name;
    if (rc < 0 && c->conn->out.len > mark)
        c->conn->out.len = mark; /* half a reply must never be sent */
    tracking_end(s, c, cmd, argc, argv, rc); /* T2: after the reply */
    return rc;
}

int server_exec_command(redis_server *s, redis_client *c, const resp_command *cmd, int argc,
                        const resp_arg *argv)
{
    return exec_at(s, c, cmd, argc, argv, redis_now_ms(s));
}

/* ---- the write hook ------------------------------------------------------------------------ */

/* c waits for unit id, which owes it `replies` replies (0, or -1 out of
 * memory). Before the hook sees the unit: a hook may apply it at once,
 * inside its callback. */
static int hold(redis_server *s, redis_client *c, uint64_t id, int replies)
{
    assert(!(c->flags & CLI_HELD) && replies >= 1);
    if (cvec_add(&s->held, c))
        return -1;
    c->flags |= CLI_HELD;
    c->held_id = id;
    c->held_replies = replies;
    net_batch_leave(&s->batch, c->conn); /* it owes its reply to a later batch */
    return 0;
}

/* The hook did not take unit id: c answers in this batch after all. */
static void unhold_here(redis_server *s, redis_client *c, uint64_t id)
{
    if (!(c->flags & CLI_HELD) || c->held_id != id)
        return; /* already applied */
    cvec_del(&s->held, c);
    c->flags &= ~CLI_HELD;
    c->held_id = 0;
    c->held_replies = 0;
    net_batch_join(&s->batch, c->conn);
}

/* The client waiting for unit id, no longer waiting (and ready to go on),
 * *replies what the unit owed it; NULL if none. */
static redis_client *held_client(redis_server *s, uint64_t id, int *replies)
{
    if (id == 0)
        return NULL;
    for (size_t i = 0; i < s->held.n; i++) {
        redis_client *c = s->held.v[i];
        if (c->held_id == id) {
            cvec_del(&s->held, c);
            *replies = c->held_replies;
            c->flags &= ~CLI_HELD;
            c->held_id = 0;
            c->held_replies = 0;
            mark_ready(s, c);
            return c;
        }
    }
    return NULL;
}

static redis_client *unhold(redis_server *s, uint64_t id)
{
    int replies;
    return held_client(s, id, &replies);
}

int server_propose(redis_server *s, redis_client *c, redis_unit *u)
{
    int rc;

    u->id = c ? ++s->unit_seq : 0;
    if (c && hold(s, c, u->id, redis_unit_replies(u))) {
        for (int i = 0; i < redis_unit_replies(u); i++)
            reply_error(&c->reply, "ERR out of memory proposing the command");
        return 0;
    }
    rc = s->hook->propose(s->hook_arg, u, c ? &c->reply : NULL);
    if (!c)
        return 0;
    if (rc != REDIS_HOOK_TAKEN)
        unhold_here(s, c, u->id);
    return (c->flags & CLI_HELD) != 0;
}

/* A read (or an EXEC that only reads) asks the hook's gate: REDIS_HOOK_... */
static int read_gate(redis_server *s, redis_client *c, redis_unit *u)
{
    int rc;

    if (c->flags & CLI_GATE_PASS) {
        c->flags &= ~CLI_GATE_PASS;
        return REDIS_HOOK_RUN;
    }
    u->id = ++s->unit_seq;
    if (hold(s, c, u->id, 1)) {
        reply_error(&c->reply, "ERR out of memory waiting to read");
        return REDIS_HOOK_REPLIED;
    }
    rc = s->hook->read_gate(s->hook_arg, u, &c->reply);
    if (rc != REDIS_HOOK_TAKEN)
        unhold_here(s, c, u->id);
    else if (!(c->flags & CLI_HELD)) {
        c->flags &= ~CLI_GATE_PASS;
        return REDIS_HOOK_RUN; /* released inside the gate: run it now */
    }
    return rc;
}

static int apply_unit(redis_server *s, redis_client *c, const redis_unit *u)
{
    redis_client *t = c ? c : s->sink;
    int rc;

    if (c)
        net_batch_join(&s->batch, c->conn);
    rc = net_batch_need_txn(&s->batch, 1);
    if (rc)
        return rc;
    t->db = u->db;
    int first = multi_watch_check(s, u); /* 1: skip "@watch"; 2: a watched key changed */
    if (first < 0)
        return first;
    if (first == 2)
        reply_null_array(&t->reply);
    else if (u->multi)
        reply_array(&t->reply, (size_t)(u->ncmds - first));
    s->replaying = u->id == 0;
    for (int i = first; i < u->ncmds && rc == 0 && first != 2; i++) {
        const redis_cmdv *v = &u->cmds[i];
        const resp_command *cmd =
            v->argc > 0 ? redis_command_lookup(v->argv[0].p, v->argv[0].n) : NULL;
        if (!cmd)
            reply_error(&t->reply, "ERR unknown command in an applied unit");
        else if (!resp_arity_ok(cmd, v->argc))
            reply_errorf(&t->reply, "ERR wrong number of arguments for '%s' command", cmd->name);
        else
            rc = exec_at(s, t, cmd, v->argc, v->argv, u->now_ms);
    }
    s->replaying = 0;
    if (!c)
        t->conn->out.len = 0; /* nobody here asked */
    return rc < 0 ? rc : 0;
}

int redis_server_apply(redis_server *s, const redis_unit *units, size_t n)
{
    int rc = 0;
    size_t i;

    for (i = 0; i < n && rc == 0; i++)
        rc = apply_unit(s, unhold(s, units[i].id), &units[i]);
    if (rc) {
        /* The batch is lost: its clients, and those of the units not run, get errors. */
        for (; i < n; i++) {
            redis_client *c = unhold(s, units[i].id);
            if (c)
                net_batch_join(&s->batch, c->conn);
        }
        net_batch_fail(&s->batch, rc);
    }
    if (!s->in_round)
        net_batch_round_end(&s->batch, 0);
    return rc;
}

int redis_server_release(redis_server *s, uint64_t id)
{
    redis_client *c = unhold(s, id);

    if (!c)
        return FFDB_NOTFOUND;
    c->flags |= CLI_GATE_PASS;
    net_loop_wake_by(s->loop, 0);
    return 0;
}

int redis_server_drop(redis_server *s, uint64_t id, const char *error)
{
    int replies;
    redis_client *c = held_client(s, id, &replies);

    if (!c)
        return FFDB_NOTFOUND;
    net_batch_join(&s->batch, c->conn);
    for (int i = 0; i < replies; i++) /* every command of a run: none of it happened here */
        reply_error(&c->reply, error);
    if (!s->in_round)
        net_batch_round_end(&s->batch, 0);
    return 0;
}

int redis_server_in_txn(redis_server *s, int write, int (*fn)(void *arg, ffdb_txn *txn),
                        void *arg)
{
    int rc = net_batch_need_txn(&s->batch, write);

    if (rc == 0) {
        assert(s->batch.txn && (!write || s->batch.txn_write));
        rc = fn(arg, s->batch.txn);
    }
    if (rc && write)
        net_batch_fail(&s->batch, rc);
    if (!s->in_round)
        net_batch_round_end(&s->batch, 0);
    return rc;
}

/* EXEC whose queue only reads: the unit of its queue, for the gate. 1 if it is one. */
static int exec_read_unit(redis_client *c, const resp_command *cmd, redis_cmdv *v, size_t cap,
                          redis_unit *u)
{
    unsigned need = 0;

    if (strcmp(cmd->name, "exec") != 0 || !(c->flags & CLI_MULTI) || c->queue_len > cap)
        return 0;
    for (size_t i = 0; i < c->queue_len; i++) {
        need |= c->queue[i].cmd->flags;
        v[i].argc = c->queue[i].argc;
        v[i].argv = c->queue[i].argv;
    }
    if ((need & RESP_CMD_WRITE) || !(need & RESP_CMD_READONLY))
        return 0; /* writes: EXEC proposes them (multi.c) */
    u->multi = 1;
    u->ncmds = (int)c->queue_len;
    u->cmds = v;
    return 1;
}

/* ---- a client's run of pipelined writes (redis_config.hook_runs) ----
 *
 * A write behind which the client already sent more writes is proposed
 * together with them as one unit (multi = 0), so a pipeline of N writes
 * takes one round of the hook (one RAFT entry) instead of N. The run is
 * taken from the bytes already received, in order, and ends before the
 * first request that is not a complete multibulk write command this client
 * may run now; that one runs after the run is applied, as it would after
 * a single held write (a read behind writes sees them). Only multibulk
 * requests are looked at: the parser unescapes inline ones in place, and
 * one looked at but not taken is parsed again later. */

#define RUN_MAX_CMDS 1024          /* commands in one run (CMDS_PER_CLIENT_TICK) */
#define RUN_MAX_BYTES (256u << 10) /* bytes of requests after the first */

typedef struct write_run {
    redis_cmdv *cmds; /* ncmds commands; cmds[0] is the first one's */
    resp_arg *args;   /* the arguments of cmds[1..], point into the input */
    size_t *first;    /* cmds[i]'s first argument in args (i >= 1) */
    resp_span *spans; /* the parser's scratch */
    size_t ncmds, nargs, args_cap, spans_cap, bytes;
} write_run;

static void run_free(write_run *w)
{
    free(w->cmds);
    free(w->args);
    free(w->first);
    free(w->spans);
}

/* The request at buf[0 .. len) if it is a complete multibulk write command
 * that may join the run: its arguments appended to w. 1 taken, 0 not, -1
 * out of memory. */
static int run_take(write_run *w, const resp_limits *limits, char *buf, size_t len)
{
    resp_parser p;
    resp_request rq = {w->spans, w->spans_cap, 0, 0, 0, 0};
    int rc;

    if (len == 0 || buf[0] != '*')
        return 0;
    resp_parser_init(&p, limits);
    while ((rc = resp_parse(&p, buf, len, &rq)) == RESP_NEED_ARGV) {
        resp_span *sp = realloc(w->spans, rq.argc_needed * sizeof(*sp));
        if (!sp)
            return -1;
        w->spans = rq.argv = sp;
        w->spans_cap = rq.argv_cap = rq.argc_needed;
    }
    if (rc != RESP_OK || rq.argc == 0 || rq.argc > INT_MAX)
        return 0;
    const resp_command *cmd = redis_command_lookup(buf + rq.argv[0].off, rq.argv[0].len);
    if (!cmd || !(cmd->flags & RESP_CMD_WRITE) || !resp_arity_ok(cmd, (int)rq.argc))
        return 0;
    if (w->nargs + rq.argc > w->args_cap) {
        size_t cap = (w->nargs + rq.argc) * 2;
        resp_arg *a = realloc(w->args, cap * sizeof(*a));
        if (!a)
            return -1;
        w->args = a;
        w->args_cap = cap;
    }
    w->first[w->ncmds++] = w->nargs;
    for (size_t i = 0; i < rq.argc; i++)
        w->args[w->nargs++] = (resp_arg){buf + rq.argv[i].off, rq.argv[i].len};
    w->bytes += rq.size;
    return 1;
}

/* The run that starts with c's current request (argc, argv): 0 (w->ncmds
 * commands, w->bytes taken after the current request), or -1 out of memory
 * (then only the current request is proposed). */
static int run_gather(redis_client *c, int argc, const resp_arg *argv,
                      write_run *w)
{
    net_conn *conn = c->conn;
    char *in = conn->in + conn->in_start;
    size_t pending = net_conn_pending_input(conn), at = c->req.size;

    memset(w, 0, sizeof(*w));
    w->ncmds = 1;
    if (c->flags & (CLI_REPLY_OFF | CLI_REPLY_SKIP | CLI_REPLY_SKIP_NEXT) || pubsub_count(c))
        goto one; /* replies dropped or a subscriber's context: one at a time, as before */
    w->first = malloc(RUN_MAX_CMDS * sizeof(*w->first));
    if (!w->first)
        return -1;
    while (w->ncmds < RUN_MAX_CMDS && w->bytes < RUN_MAX_BYTES && at < pending) {
        int rc = run_take(w, &c->parser.limits, in + at, pending - at);
        if (rc < 0)
            return -1;
        if (rc == 0)
            break;
        at = c->req.size + w->bytes;
    }
one:
    w->cmds = malloc(w->ncmds * sizeof(*w->cmds));
    if (!w->cmds)
        return -1;
    w->cmds[0] = (redis_cmdv){argc, argv};
    for (size_t i = 1; i < w->ncmds; i++)
        w->cmds[i] = (redis_cmdv){(int)((i + 1 < w->ncmds ? w->first[i + 1] : w->nargs) -
                                        w->first[i]),
                                  w->args + w->first[i]};
    return 0;
}

/* Write command (argc, argv) of c to the hook: alone, or with the run of
 * writes behind it (consumed with it: c->req.size grows by their bytes). */
static void propose_write(redis_server *s, redis_client *c, int argc, const resp_arg *argv)
{
    redis_cmdv v1 = {argc, argv};
    redis_unit u = {0, c->db, redis_now_ms(s), 0, 1, &v1, (c->flags & CLI_READONLY) != 0};
    write_run w;

    if (s->cfg->hook_runs && run_gather(c, argc, argv, &w) == 0) {
        assert(w.ncmds >= 1 && w.cmds[0].argv == argv);
        u.ncmds = (int)w.ncmds;
        u.cmds = w.cmds;
        c->req.size += w.bytes; /* run_client consumes the run with the request */
    }
    server_propose(s, c, &u);
    if (s->cfg->hook_runs)
        run_free(&w);
}

static int run_command(redis_server *s, redis_client *c, int argc, const resp_arg *argv);

/* CLIENT REPLY OFF|SKIP: the command runs, its reply is dropped. */
int server_run_command(redis_server *s, redis_client *c, int argc, const resp_arg *argv)
{
    size_t mark = c->conn->out.len;
    int rc;

    if (c->flags & CLI_REPLY_SKIP_NEXT)
        c->flags = (c->flags & ~CLI_REPLY_SKIP_NEXT) | CLI_REPLY_SKIP;
    rc = run_command(s, c, argc, argv);
    if (rc == 0 && (c->flags & (CLI_REPLY_OFF | CLI_REPLY_SKIP)) && c->conn->out.len >= mark &&
        !c->is_feed)
        c->conn->out.len = mark;
    if (rc == 0)
        c->flags &= ~CLI_REPLY_SKIP;
    return rc;
}

static int run_command(redis_server *s, redis_client *c, int argc, const resp_arg *argv)
{
    const resp_command *cmd = redis_command_lookup(argv[0].p, argv[0].n);
    int rc;

    net_batch_join(&s->batch, c->conn);
    if (s->hook && s->hook->command && c->authed && !(c->flags & CLI_MULTI) &&
        s->hook->command(s->hook_arg, c, argc, argv, &c->reply))
        return 0;
    for (int i = 0; i < s->cfg->next && c->authed && !(c->flags & CLI_MULTI); i++) {
        const struct redis_extension_slot *e = &s->cfg->ext[i];
        if (e->ops->command && e->ops->command(e->arg, c, argc, argv, &c->reply))
            return 0;
    }
    if (!cmd) {
        if (c->flags & CLI_MULTI)
            c->flags |= CLI_DIRTY_EXEC;
        resp_err_unknown(&c->reply, argc, argv);
        return 0;
    }
    if (!resp_arity_ok(cmd, argc)) {
        if (c->flags & CLI_MULTI)
            c->flags |= CLI_DIRTY_EXEC;
        reply_errorf(&c->reply, "ERR wrong number of arguments for '%s' command", cmd->name);
        return 0;
    }
    if (!c->authed && !(cmd->flags & RESP_CMD_NOAUTH)) {
        reply_error(&c->reply, "NOAUTH Authentication required.");
        return 0;
    }
    if (c->reply.proto == 2 && pubsub_count(c) && !(cmd->flags & RESP_CMD_SUBOK)) {
        reply_errorf(&c->reply,
                     "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                     "QUIT / RESET are allowed in this context",
                     cmd->name);
        return 0;
    }
    if (pause_postpone(s, c, cmd, argc, argv))
        return 1; /* P1: it runs again when the pause ends */
    if ((c->flags & CLI_MULTI) && !(cmd->flags & RESP_CMD_NOMULTI)) {
        rc = multi_queue(s, c, cmd, argc, argv);
        if (rc)
            reply_error(&c->reply, "ERR out of memory queuing the command");
        else
            reply_simple(&c->reply, "QUEUED");
        return 0;
    }
    if (s->hook) {
        redis_cmdv v1 = {argc, argv}, vq[64];
        redis_unit u = {0, c->db, redis_now_ms(s), 0, 1, &v1, (c->flags & CLI_READONLY) != 0};
        if (cmd->flags & RESP_CMD_WRITE) {
            propose_write(s, c, argc, argv);
            return 0;
        }
        if (s->hook->read_gate &&
            ((cmd->flags & RESP_CMD_READONLY) || exec_read_unit(c, cmd, vq, 64, &u))) {
            rc = read_gate(s, c, &u);
            if (rc == REDIS_HOOK_TAKEN)
                return 1;
            if (rc == REDIS_HOOK_REPLIED)
                return 0;
        }
    }
    block_allow(s, argv);
    rc = server_exec_command(s, c, cmd, argc, argv);
    block_allow(s, NULL);
    if (rc < 0)
        net_batch_fail(&s->batch, rc);
    block_serve_ready(s); /* the keys it touched, also inside EXEC */
    return 0;
}

/* The parsed request's arguments as resp_args over the input buffer. */
static int request_args(redis_client *c)
{
    net_conn *conn = c->conn;

    if (c->req.argc > c->argv_cap) {
        resp_arg *a = realloc(c->argv, c->req.argc * sizeof(*a));
        if (!a)
            return -1;
        c->argv = a;
        c->argv_cap = c->req.argc;
    }
    for (size_t i = 0; i < c->req.argc; i++) {
        c->argv[i].p = conn->in + conn->in_start + c->req.argv[i].off;
        c->argv[i].n = c->req.argv[i].len;
    }
    return 0;
}

/* Run what client c sent, up to CMDS_PER_CLIENT_TICK commands. Returns 1 if
 * it has more to run now. */
static int run_client(redis_server *s, redis_client *c)
{
    net_conn *conn = c->conn;

    for (int done = 0; done < CMDS_PER_CLIENT_TICK;) {
        int rc;
        if (conn->flags & (NET_CONN_CLOSE_ASAP | NET_CONN_CLOSE_AFTER) || s->shutdown)
            return 0;
        if (net_conn_backpressured(conn))
            return 0; /* its input hook runs again once it drained */
        if (c->flags & CLI_HELD)
            return 0; /* the hook makes it ready again */
        if (c->blocked)
            return 0; /* K2: its wait's end makes it ready again */
        if (c->flags & CLI_PAUSED)
            return 0; /* P2: the pause's end makes it ready again */
        rc = resp_parse(&c->parser, conn->in + conn->in_start, net_conn_pending_input(conn),
                        &c->req);
        if (rc == RESP_NEED_MORE)
            return 0;
        if (rc == RESP_NEED_ARGV) {
            resp_span *p = realloc(c->req.argv, c->req.argc_needed * sizeof(*p));
            if (!p) {
                net_conn_close(conn, 0);
                return 0;
            }
            c->req.argv = p;
            c->req.argv_cap = c->req.argc_needed;
            continue;
        }
        if (rc == RESP_PROTO_ERROR) {
            net_batch_join(&s->batch, conn);
            reply_errorf(&c->reply, "ERR %s", c->parser.error);
            redis_log(s, NET_LOG_VERBOSE, "client %llu (%s): %s; closing it",
                      (unsigned long long)conn->id, conn->addr, c->parser.error);
            s->stats.proto_errors++;
            net_conn_close(conn, 1);
            return 0;
        }
        if (c->req.argc > 0) {
            if (request_args(c)) {
                net_conn_close(conn, 0);
                return 0;
            }
            if (server_run_command(s, c, (int)c->req.argc, c->argv))
                return 0; /* the gate holds the request: it runs again on release */
            done++;
        }
        conn->in_start += c->req.size;
    }
    return 1;
}

static void exec_phase(redis_server *s)
{
    size_t keep = 0;

    /* In place (keep <= i). A hook applying units while a command runs can
     * make clients ready (mark_ready appends): the bound is read each time,
     * so they run in this pass too, and a client listed again is kept once. */
    for (size_t i = 0; i < s->ready_len; i++) {
        redis_client *c = s->ready[i];
        c->flags &= ~CLI_READY;
        if (run_client(s, c) && !(c->flags & CLI_READY)) {
            s->ready[keep++] = c;
            c->flags |= CLI_READY;
        }
    }
    s->ready_len = keep;
}

/* The loop's after-events hook: one batch. */
static void on_events(net_loop *l, int nevents, void *arg)
{
    redis_server *s = arg;

    if (g_stop && !s->shutdown) {
        redis_log(s, NET_LOG_NOTICE, "received a signal: shutting down");
        s->shutdown = 1;
    }
    net_batch_round_begin(&s->batch, nevents);
    s->in_round = 1;
    exec_phase(s);
    s->in_round = 0;
    net_batch_round_end(&s->batch, s->shutdown);
    if (s->shutdown) {
        s->svc.closing = 1;
        net_loop_stop(l);
    }
}

/* The loop's before-sleep hook: clients with requests left run at once. */
static void before_sleep(net_loop *l, int nevents, void *arg)
{
    redis_server *s = arg;

    (void)nevents;
    if (s->ready_len)
        net_loop_wake_by(l, 0);
}

/* ---- timers ---------------------------------------------------------------------------------- */

/* One sweeper step over every database. Under --fsync batch-ms it works in
 * the open write txn; otherwise in a short txn of its own, committed at once
 * (an empty one costs no I/O). Returns 1 if more work is due now. */
#define HOOK_EXPIRE_KEYS 64 /* keys one FFDB-EXPIRED proposal names */

typedef struct expired_keys {
    resp_arg argv[1 + HOOK_EXPIRE_KEYS];
    int argc;
    char *mem; /* HOOK_EXPIRE_KEYS * STORE_MAX_KEY */
} expired_keys;

static int expired_key(void *arg, const void *key, size_t klen)
{
    expired_keys *e = arg;
    char *p = e->mem + (size_t)(e->argc - 1) * STORE_MAX_KEY;

    if (klen > STORE_MAX_KEY || e->argc > HOOK_EXPIRE_KEYS)
        return 0;
    memcpy(p, key, klen);
    e->argv[e->argc].p = p;
    e->argv[e->argc].n = klen;
    e->argc++;
    return 0;
}

/* With a hook the clock deletes nothing here: keys whose time passed are
 * proposed as FFDB-EXPIRED units (the owner may see a key again until its
 * unit is applied; FFDB-EXPIRED is idempotent). */
static void propose_expired(redis_server *s)
{
    expired_keys e;
    int own = s->batch.txn == NULL;
    int64_t now = redis_now_ms(s);

    e.mem = malloc((size_t)HOOK_EXPIRE_KEYS * STORE_MAX_KEY);
    if (!e.mem)
        return;
    for (int db = 0; db < STORE_DBS; db++) {
        redis_cmdv v;
        redis_unit u = {0, db, now, 0, 1, &v, 0};
        int rc;
        if (store_db_expires(s->store, db) == 0)
            continue;
        e.argv[0].p = "ffdb-expired";
        e.argv[0].n = 12;
        e.argc = 1;
        rc = server_need_txn(s, 0);
        if (!rc) {
            store_txn_set_now(s->st, now);
            rc = store_expired_keys(s->st, db, HOOK_EXPIRE_KEYS, expired_key, &e);
        }
        if (own)
            net_batch_drop(&s->batch);
        if (rc) {
            redis_log(s, NET_LOG_WARNING, "sweeper: %s", ffdb_strerror(rc));
            break;
        }
        if (e.argc > 1) {
            v.argc = e.argc;
            v.argv = e.argv;
            server_propose(s, NULL, &u);
        }
    }
    free(e.mem);
}

static int sweep(redis_server *s)
{
    store_sweep_result res;
    unsigned budget = SWEEP_BUDGET;
    int own = s->cfg->batch.fsync != NET_FSYNC_BATCH, rc = 0;

    if (own && s->batch.txn)
        return 0; /* never inside a client batch: it commits on its own */
    if (pause_active(s))
        return 0; /* CLIENT PAUSE: no expired key goes (pause.h) */
    rc = server_need_txn(s, 1);
    if (rc)
        return 0;
    memset(&res, 0, sizeof(res));
    store_txn_set_now(s->st, redis_now_ms(s));
    for (int db = 0; db < STORE_DBS && budget > 0 && !rc; db++) {
        uint64_t before = res.expired_keys + res.stale_entries;
        rc = s->hook ? store_sweep_garbage(s->st, db, budget, &res)
                     : store_sweep(s->st, db, budget, &res);
        uint64_t used = res.expired_keys + res.stale_entries - before;
        budget = used >= budget ? 0 : budget - (unsigned)used;
    }
    if (rc) {
        redis_log(s, NET_LOG_WARNING, "sweeper: %s", ffdb_strerror(rc));
        net_batch_drop(&s->batch);
        return 0;
    }
    if (own && res.expired_keys + res.stale_entries == 0)
        net_batch_drop(&s->batch); /* nothing swept: no commit to count */
    else if (own) {
        net_batch_commit(&s->batch);
        net_batch_settle(
            &s->batch); /* pipelined: no client waits on it, nothing to share the sync with */
    }
    return res.more || budget == 0;
}

static void on_sweep(net_timer *t, void *arg)
{
    redis_server *s = arg;
    int more = sweep(s);

    tracking_send_pending(s); /* BCAST: the keys it expired */

    if (s->hook && !pause_active(s))
        propose_expired(s);

    net_timer_again(t, more ? 1 : 1000 / (s->cfg->hz > 0 ? s->cfg->hz : 10));
}

/* Once a second: instantaneous_ops_per_sec. */
static void on_second(net_timer *t, void *arg)
{
    redis_server *s = arg;
    int64_t mono = redis_mono_ms(s);
    int64_t dt = mono - (int64_t)s->stats.ops_sample_ms;

    (void)t;
    if (dt < 1000)
        return;
    s->stats.ops_per_sec = (double)(s->stats.commands - s->stats.ops_last) * 1000.0 / (double)dt;
    s->stats.ops_last = s->stats.commands;
    s->stats.ops_sample_ms = (uint64_t)mono;
}

/* ---- CLIENT LIST lines ------------------------------------------------------------------------
 */

void server_client_info(redis_server *s, redis_client *c, net_buf *b)
{
    char line[1024], flags[12];
    const net_conn *k = c->conn;
    int64_t now = redis_now_ms(s);
    size_t fl = 0;
    int n;

    if (c->flags & CLI_MULTI)
        flags[fl++] = 'x';
    if (c->blocked)
        flags[fl++] = 'b';
    int64_t redir = tracking_list_flags(c, flags, &fl);
    if (pubsub_count(c))
        flags[fl++] = 'P';
    if (k->flags & NET_CONN_CLOSE_AFTER)
        flags[fl++] = 'c';
    if (c->flags & CLI_DIRTY_CAS)
        flags[fl++] = 'd';
    if (fl == 0)
        flags[fl++] = 'N';
    flags[fl] = '\0';
    n = snprintf(line, sizeof(line),
                 "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d "
                 "sub=%zu psub=%zu multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 obl=0 oll=0 "
                 "omem=%zu tot-mem=%zu events=%s%s cmd=%s user=default redir=%lld resp=%d\n",
                 (unsigned long long)k->id, k->addr, k->laddr, k->fd, c->name ? c->name : "",
                 (long long)((now - k->created_ms) / 1000), (long long)((now - k->last_ms) / 1000),
                 flags, c->db, c->sub.chans.count, c->sub.pats.count,
                 (c->flags & CLI_MULTI) ? (int)c->queue_len : -1, net_conn_pending_input(k),
                 k->in_cap - k->in_len, k->out.cap,
                 k->in_cap + k->out.cap + sizeof(*c) + sizeof(*k),
                 (net_watch_events(k->watch) & NET_EV_READ) ? "r" : "",
                 (net_watch_events(k->watch) & NET_EV_WRITE) ? "w" : "",
                 c->last_cmd ? c->last_cmd : "NULL", (long long)redir, c->reply.proto);
    if (n > 0)
        net_buf_append(b, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* ---- start, loop, stop --------------------------------------------------------------------------
 */

static void on_signal(int sig)
{
    (void)sig;
    redis_server_stop();
}

/* A key changed: WATCH and blocked clients want to know. */
static void touch_key(void *arg, int db, const void *key, size_t klen)
{
    multi_touch_key(arg, db, key, klen);
    block_touch(arg, db, key, klen);
    tracking_touch_key(arg, key, klen);
}

static int open_data(redis_server *s)
{
    char path[2100];
    ffdb_options opt;
    int rc;

    memset(&opt, 0, sizeof(opt));
    opt.buffer_pages = (size_t)s->cfg->buffer_pages;
    opt.flags = net_batch_open_flags(&s->cfg->batch) | s->cfg->hook_open_flags;
    if (!s->cfg->direct_io)
        opt.flags |= FFDB_NODIRECT;
    if (s->cfg->dir[0] && s->cfg->datafile[0] != '/')
        snprintf(path, sizeof(path), "%s/%s", s->cfg->dir, s->cfg->datafile);
    else
        snprintf(path, sizeof(path), "%s", s->cfg->datafile);
    rc = ffdb_open(path, &opt, &s->db);
    /* Right after a crash (kill -9) the lock of the dead process can outlive
     * it for a moment: the kernel tears its io_uring down, and the file with
     * it, asynchronously. A supervisor restarting us at once must not fail. */
    for (int i = 0; rc == FFDB_ELOCKED && i < OPEN_LOCKED_RETRIES; i++) {
        if (i == 0)
            redis_log(s, NET_LOG_NOTICE, "%s is locked; waiting for its previous owner to go",
                      path);
        usleep(OPEN_LOCKED_WAIT_US);
        rc = ffdb_open(path, &opt, &s->db);
    }
    if (rc) {
        redis_log(s, NET_LOG_WARNING, "cannot open %s: %s", path, ffdb_strerror(rc));
        return rc;
    }
    rc = store_open(s->db, &s->store);
    if (rc) {
        redis_log(s, NET_LOG_WARNING, "cannot read the data model in %s: %s", s->cfg->datafile,
                  ffdb_strerror(rc));
        ffdb_close(s->db);
        s->db = NULL;
        return rc;
    }
    store_set_touch_hook(s->store, touch_key, s);
    return 0;
}

int redis_server_replace_data(redis_server *s, int (*replace)(void *arg), void *arg)
{
    int rc = net_batch_commit(&s->batch);

    assert(!s->in_round);
    net_batch_drop(&s->batch);
    net_batch_settle(&s->batch);
    multi_touch_db(s, -1);
    store_close(s->store);
    ffdb_close(s->db);
    s->store = NULL;
    s->db = NULL;
    s->batch.db = NULL;
    if (rc == 0)
        rc = replace(arg);
    int orc = open_data(s);
    if (orc == 0)
        s->batch.db = s->db;
    return rc ? rc : orc;
}

/* Room for maxclients sockets plus the file and listeners, as Redis does at
 * start: raise the soft limit, or lower maxclients to what the hard limit
 * allows (accept failing with EMFILE would spin the loop). */
static void adjust_fd_limit(redis_server *s)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)s->cfg->svc.maxclients + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl))
        return;
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        int max = rl.rlim_cur > 96 ? (int)(rl.rlim_cur - 64) : 32;
        redis_log(s, NET_LOG_WARNING, "open file limit %llu: maxclients lowered from %d to %d",
                  (unsigned long long)rl.rlim_cur, s->cfg->svc.maxclients, max);
        s->cfg->svc.maxclients = max;
    }
}

static void write_pidfile(redis_server *s)
{
    FILE *f;

    if (!s->cfg->pidfile[0])
        return;
    f = fopen(s->cfg->pidfile, "w");
    if (!f) {
        redis_log(s, NET_LOG_WARNING, "cannot write pidfile %s: %s", s->cfg->pidfile,
                  strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

static void shutdown_all(redis_server *s)
{
    for (int i = s->attached - 1; i >= 0; i--)
        if (s->cfg->ext[i].ops->detach)
            s->cfg->ext[i].ops->detach(s->cfg->ext[i].arg, s);
    if (s->hook && s->hook->detach)
        s->hook->detach(s->hook_arg, s);
    net_service_close_listeners(&s->svc);
    net_batch_finish(&s->batch); /* the in-flight batch commits, durable before its replies go */
    if (s->cfg->hook_open_flags && s->db && ffdb_sync(s->db)) /* FFDB_DEFERSYNC: all of it now */
        redis_log(s, NET_LOG_WARNING, "cannot sync %s at shutdown", s->cfg->datafile);
    net_service_free(&s->svc);   /* every client closes */
    net_batch_free(&s->batch);
    store_close(s->store);
    ffdb_close(s->db);
    s->store = NULL;
    s->db = NULL;
    if (s->cfg->pidfile[0])
        unlink(s->cfg->pidfile);
    redis_log(s, NET_LOG_NOTICE, "ffdb-server is now ready to exit, bye bye...");
}

static void server_free(redis_server *s)
{
    for (int i = 0; i < REDIS_CURSOR_SLOTS; i++)
        free(s->cursors[i].pos);
    net_dict_free(&s->watched);
    net_dict_free(&s->channels);
    net_dict_free(&s->patterns);
    free(s->ready);
    free(s->held.v);
    free(s->feeds.v);
    free(s->monitors.v);
    if (s->sink && s->sink->conn)
        net_buf_free(&s->sink->conn->out);
    if (s->sink)
        free(s->sink->conn);
    free(s->sink);
    block_free(s);
    pause_free(s);
    tracking_free(s);
    script_vm_free(s->lua);
    net_loop_free(s->loop);
    redis_commands_free();
    free(s);
}

/* Everything before serving: 0, or -1 (logged; what was opened is closed). */
static int start(redis_server *s)
{
    const char *skew = getenv("FFDB_TEST_CLOCK_SKEW_MS"); /* tests only (redis.h) */
    s->clock_skew_ms = skew ? strtoll(skew, NULL, 10) : 0;
    s->hook = s->cfg->hook;
    s->hook_arg = s->cfg->hook_arg;
    if (s->hook) {
        s->sink = calloc(1, sizeof(*s->sink));
        if (!s->sink || !(s->sink->conn = calloc(1, sizeof(net_conn))))
            return -1;
        net_buf_init(&s->sink->conn->out, 0);
        s->sink->reply.out = &s->sink->conn->out;
        s->sink->reply.proto = 2;
        s->sink->authed = 1;
    }
    if (block_init(s) || redis_commands_init() ||
        net_service_init(&s->svc, s->loop, &redis_proto, s, &s->cfg->svc, &s->cfg->log))
        return -1;
    if (open_data(s))
        goto fail_service;
    if (net_batch_init(&s->batch, &s->svc, s->db, &s->cfg->batch, &redis_batch_ops, s))
        goto fail_data;
    s->sweeper = net_timer_add(s->loop, 0, 0, on_sweep, s);
    s->second = net_timer_add(s->loop, 1000, 1000, on_second, s);
    if (!s->sweeper || !s->second || net_hook_add(s->loop, NET_HOOK_AFTER_EVENTS, on_events, s) ||
        net_hook_add(s->loop, NET_HOOK_BEFORE_SLEEP, before_sleep, s) ||
        net_service_listen(&s->svc))
        goto fail_batch;
    if (s->hook && s->hook->attach)
        s->hook->attach(s->hook_arg, s);
    for (; s->attached < s->cfg->next; s->attached++) {
        const struct redis_extension_slot *e = &s->cfg->ext[s->attached];
        char err[256] = "";
        if (e->ops->attach && e->ops->attach(e->arg, s, err, sizeof(err))) {
            redis_log(s, NET_LOG_WARNING, "%s: %s", e->ops->name, err[0] ? err : "cannot start");
            shutdown_all(s);
            return -1;
        }
    }
    return 0;
fail_batch:
    net_batch_free(&s->batch);
fail_data:
    store_close(s->store);
    ffdb_close(s->db);
fail_service:
    net_service_free(&s->svc);
    return -1;
}

int redis_server_run(redis_config *cfg)
{
    redis_server *s = calloc(1, sizeof(*s));
    struct sigaction sa;
    int rc = 1;

    if (!s)
        return 1;
    s->cfg = cfg;
    if (net_loop_new(NULL, &s->loop)) {
        free(s);
        return 1;
    }
    s->start_ms = redis_now_ms(s);
    s->start_mono_ms = redis_mono_ms(s);
    s->lastsave_s = s->start_ms / 1000;
    s->rand_state = (uint64_t)s->start_ms ^ ((uint64_t)getpid() << 32);
    for (int i = 0; i < 40; i++)
        s->run_id[i] = "0123456789abcdef"[redis_random(s) & 15];
    net_dict_init(&s->watched, 0);
    net_dict_init(&s->channels, 0);
    net_dict_init(&s->patterns, 0);
    g_stop = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    adjust_fd_limit(s);
    if (start(s))
        goto out;
    write_pidfile(s);
    redis_log(s, NET_LOG_NOTICE, "ffdb-server %d.%d.%d ready: %s, fsync %s, port %d",
              FFDB_VERSION_MAJOR, FFDB_VERSION_MINOR, FFDB_VERSION_PATCH, s->cfg->datafile,
              s->cfg->batch.fsync == NET_FSYNC_ALWAYS  ? "always"
              : s->cfg->batch.fsync == NET_FSYNC_BATCH ? "batch-ms"
                                                       : "never",
              s->svc.port);
    rc = net_loop_run(s->loop);
    if (rc < 0)
        redis_log(s, NET_LOG_WARNING, "event wait: %s", strerror(-rc));
    shutdown_all(s);
    rc = s->exit_code;
out:
    server_free(s);
    return rc;
}
