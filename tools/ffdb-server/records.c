/*
 * records.c — the signed records of ffdb-server (records.h): PTR.* commands
 * over modules/ptr, and their replication over NATS (modules/natsbus).
 *
 * Everything runs on the server's loop thread (natsbus N1). Writes go into
 * the server's batch txn through redis_server_in_txn, never a txn of our own:
 *
 *   PTR.SET/DEL     ptr_set_txn in the client's batch; the signed record is
 *                   published on ffdb.<ns>.ptr.<key> at once (peers apply it
 *                   whatever happens here: R1 makes order irrelevant)
 *   ptr.<key> msg   queued; a zero-delay timer applies the queue, at most
 *                   FLUSH_MAX_BYTES per txn and loop turn
 *   Ask             on connect, then every ASK_PERIOD_MS + jitter: our
 *                   summary on ffdb.<ns>.ptr-ask.all; every peer answers in
 *                   Batch chunks; a bounded answer's more is followed at once,
 *                   answers after the window still applied (C1-C4 below)
 *   Answer          a peer's Ask: our records of the ranges that differ
 *
 * What must never happen: a txn of our own on the data file (it would wait
 * for the batch's writer), or a received byte applied before ptr verified it.
 */
#include "tools/ffdb-server/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "modules/ident/ident.h"
#include "modules/natsbus/natsbus.h"
#include "modules/ptr/ptr.h"
#include "modules/resp/command.h"
#include "tools/ffdb-server/cluster.h"

#define KIND_REC "ptr"
#define KIND_ASK "ptr-ask"
#define ASK_PERIOD_MS 1000         /* between Asks when nothing new came */
#define ASK_JITTER_MS 1000         /* + up to this, so nodes do not ask together */
#define ASK_SOON_MS 20             /* after a round that brought something */
#define ASK_WAIT_MS 400            /* an Ask's window (answers after it still count: late) */
#define ASK_QUIET_MS 300           /* a new round waits this long after the last answer chunk, */
#define ASK_QUIET_MAX_MS 3000      /* or as long as answers took to come, up to this */
#define ANSWER_CHUNK_BYTES 262144  /* one NATS message of an answer */
#define ANSWER_MAX_BYTES 1048576   /* one answer in all (more: asked again at once) */
#define FOLLOW_MAX_PENDING 2097152 /* a more is followed once the queue is below this */
#define FLUSH_MAX_BYTES 262144     /* applied per txn; the rest in the next loop turn */
#define PENDING_MAX_BYTES 33554432 /* received, not yet applied (beyond: dropped) */
#define GC_PERIOD_MS 600000        /* tombstone retention sweep */
#define MAX_PEERS 64
#define KEY_MAX 512 /* ptr's default max_key_bytes */

typedef struct pend {
    uint8_t *data;
    size_t len;
    int batch; /* 1: an Answer chunk (Batch), 0: one Signed record */
} pend;

/* A key of the Ask/Answer protocol (from, more). */
typedef struct askkey {
    uint8_t k[KEY_MAX];
    size_t n;
} askkey;

struct records {
    const server_nats_config *ncfg;
    redis_server *s;
    const char *off; /* why the records are off (nats-records), or NULL */
    ident id;
    int have_id;
    ptr *p;
    natsbus *bus;
    natsbus_sub *sub_rec, *sub_ask;
    net_timer *ask_t, *flush_t, *gc_t;

    pend *q;
    size_t qn, qcap, qbytes;
    size_t qanswers; /* entries of q that are answer chunks */
    uint64_t dropped;

    /* Catching up (C1-C4 below). */
    int open_asks;    /* Asks whose window is open */
    int round_over;   /* every window closed: decide the next Ask once the queue is empty */
    askkey cur_from;  /* the from of the last Ask sent */
    askkey next_from; /* a more beyond cur_from: the next Ask's from (have_next) */
    int have_next;
    size_t won_since_ask;
    int64_t last_answer_ms; /* net_loop_mono_ms of the last answer chunk */
    int64_t ask_sent_ms;    /* of the last Ask */
    int64_t lag_ms;         /* the longest Ask-to-chunk time seen in this pass (C4) */
    uint64_t asks, asks_followed, answers, answered_records;
    uint64_t ans_msgs, ans_late, ans_records, ans_applied;

    uint8_t peers[MAX_PEERS][IDENT_PK_BYTES];
    int npeers;
};

records *records_new(const server_nats_config *ncfg)
{
    records *r = calloc(1, sizeof(*r));
    if (r)
        r->ncfg = ncfg;
    return r;
}

void records_free(records *r)
{
    free(r);
}

static void peer_seen(records *r, const uint8_t *pk)
{
    for (int i = 0; i < r->npeers; i++)
        if (!memcmp(r->peers[i], pk, IDENT_PK_BYTES))
            return;
    if (r->npeers < MAX_PEERS)
        memcpy(r->peers[r->npeers++], pk, IDENT_PK_BYTES);
}

/* Keys in the engine's order (bytewise, a prefix first). */
static int key_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* ---- applying what came in --------------------------------------------------------- */

static void follow_or_finish(records *r);

typedef struct flush_ctx {
    records *r;
    size_t take; /* the first `take` entries of the queue */
    size_t applied, from_answers;
} flush_ctx;

static int flush_fn(void *arg, ffdb_txn *t)
{
    flush_ctx *f = arg;
    records *r = f->r;
    const uint8_t **msgs = malloc(f->take * sizeof(*msgs));
    size_t *lens = malloc(f->take * sizeof(*lens)), n = 0, won = 0;
    int rc = 0;
    if (!msgs || !lens)
        rc = FFDB_ENOMEM;
    for (size_t i = 0; rc == 0 && i < f->take; i++) {
        if (!r->q[i].batch) {
            msgs[n] = r->q[i].data;
            lens[n++] = r->q[i].len;
            continue;
        }
        rc = ptr_apply_batch_txn(r->p, t, r->q[i].data, r->q[i].len, &won, NULL);
        f->applied += won;
        f->from_answers += won;
    }
    if (rc == 0 && n) {
        rc = ptr_apply_txn(r->p, t, msgs, lens, n, &won);
        f->applied += won;
    }
    free(msgs);
    free(lens);
    return rc;
}

/* Apply the head of the queue, at most FLUSH_MAX_BYTES (one entry at
 * least), in one txn of the batch, so a large catch-up never holds the loop
 * (and the NATS socket it reads) for long; the rest goes in the next loop
 * turn. Returns the records that won. */
static size_t flush(records *r)
{
    flush_ctx f = {r, 0, 0, 0};
    size_t bytes = 0;
    while (f.take < r->qn && (f.take == 0 || bytes + r->q[f.take].len <= FLUSH_MAX_BYTES))
        bytes += r->q[f.take++].len;
    if (f.take == 0)
        return 0;
    int rc = redis_server_in_txn(r->s, 1, flush_fn, &f);
    if (rc)
        redis_log(r->s, NET_LOG_WARNING, "records: applying %zu received messages: %s", f.take,
                  ffdb_strerror(rc));
    for (size_t i = 0; i < f.take; i++) {
        r->qanswers -= (size_t)r->q[i].batch;
        free(r->q[i].data);
    }
    memmove(r->q, r->q + f.take, (r->qn - f.take) * sizeof(*r->q));
    r->qn -= f.take;
    r->qbytes -= bytes;
    if (rc)
        return 0;
    r->won_since_ask += f.applied;
    r->ans_applied += f.from_answers;
    return f.applied;
}

static void on_flush(net_timer *t, void *arg)
{
    records *r = arg;
    (void)t;
    flush(r);
    if (r->qn)
        net_timer_again(r->flush_t, 0);
    follow_or_finish(r);
}

static void enqueue(records *r, const uint8_t *data, size_t len, int batch)
{
    if (r->qbytes + len > PENDING_MAX_BYTES) {
        r->dropped++;
        return;
    }
    if (r->qn == r->qcap) {
        size_t cap = r->qcap ? 2 * r->qcap : 256;
        pend *q = realloc(r->q, cap * sizeof(*q));
        if (!q) {
            r->dropped++;
            return;
        }
        r->q = q;
        r->qcap = cap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        r->dropped++;
        return;
    }
    memcpy(copy, data, len);
    r->q[r->qn++] = (pend){copy, len, batch};
    r->qbytes += len;
    r->qanswers += (size_t)(batch != 0);
    net_timer_again(r->flush_t, 0);
}

static void on_record(void *arg, const natsbus_msg *m)
{
    enqueue(arg, m->data, m->len, 0);
}

/* ---- Ask ----------------------------------------------------------------------------
 * C1. An Ask goes out on connect, then every ASK_PERIOD_MS + jitter; every
 *     peer answers the ranges that differ, from cur_from on, at most
 *     ANSWER_MAX_BYTES, the last chunk naming where it stopped (more).
 * C2. A more beyond cur_from is followed at once (a new Ask from it, while
 *     the other peers' answers to the old one still arrive), as soon as the
 *     queue is below FOLLOW_MAX_PENDING: a late node pulls a large store in
 *     steps of bounded memory without waiting for a periodic round.
 * C3. Every answer is applied, also one arriving after its Ask's window
 *     (natsbus on_late_reply): its records verify like any other (R2), and a
 *     copy of a stored record costs no verification (R5).
 * C4. When every window has closed and the queue is empty: the next Ask
 *     comes soon if anything won since the last one (to confirm, or to get
 *     what a peer holds beyond another), else at the periodic time; but a
 *     new round (not a C2 follow) waits until no answer chunk came for
 *     ASK_QUIET_MS (or the longest Ask-to-chunk time of the pass, up to
 *     ASK_QUIET_MAX_MS) and none waits to be applied, so a busy node whose
 *     answers come after the window does not ask for them all again (one
 *     missing record makes its range differ: a round asked too early gets
 *     almost all of it once more from every peer). */

static void ask_later(records *r, int64_t ms)
{
    net_timer_again(r->ask_t, ms);
}

/* An answer chunk (on time or late): counted, its more noted (C2), queued. */
static void got_answer(records *r, const natsbus_msg *m, int late)
{
    size_t n = 0;
    ffdb_val more;
    r->ans_msgs++;
    r->ans_late += (uint64_t)late;
    r->last_answer_ms = net_loop_mono_ms(r->s->loop);
    if (r->last_answer_ms - r->ask_sent_ms > r->lag_ms)
        r->lag_ms = r->last_answer_ms - r->ask_sent_ms;
    if (ptr_batch_info(m->data, m->len, &n, &more) == 0 && more.size && more.size <= KEY_MAX &&
        key_cmp(more.data, more.size, r->cur_from.k, r->cur_from.n) > 0 &&
        (!r->have_next || key_cmp(more.data, more.size, r->next_from.k, r->next_from.n) < 0)) {
        memcpy(r->next_from.k, more.data, more.size);
        r->next_from.n = more.size;
        r->have_next = 1;
    }
    r->ans_records += n;
    enqueue(r, m->data, m->len, 1);
    follow_or_finish(r);
}

static void on_answer(void *arg, const natsbus_msg *m)
{
    records *r = arg;
    if (m) {
        got_answer(r, m, 0);
        return;
    }
    r->open_asks--;
    if (r->open_asks == 0)
        r->round_over = 1;
    follow_or_finish(r);
}

static void on_late_answer(void *arg, const natsbus_msg *m)
{
    got_answer(arg, m, 1);
}

/* C2 and C4: what to do next, after anything that changed the queue or the windows. */
static void follow_or_finish(records *r)
{
    if (r->have_next && r->qbytes <= FOLLOW_MAX_PENDING && natsbus_connected(r->bus)) {
        ask_later(r, 0);
        return;
    }
    if (!r->round_over || r->open_asks || r->qn || r->have_next)
        return;
    r->round_over = 0;
    if (r->won_since_ask)
        ask_later(r, ASK_SOON_MS);
    else
        ask_later(r, ASK_PERIOD_MS + (int64_t)(redis_random(r->s) % ASK_JITTER_MS));
}

static int summary_fn(void *arg, ffdb_txn *t)
{
    records *r = arg;
    ptr_summary *s = malloc(sizeof(*s));
    askkey *from = r->have_next ? &r->next_from : NULL;
    uint8_t *ask = NULL;
    size_t len = 0;
    int rc = s ? ptr_summary_txn(r->p, t, s) : FFDB_ENOMEM;
    if (rc == 0)
        rc = ptr_ask_encode(s, r->id.pk, from ? from->k : NULL, from ? from->n : 0, &ask, &len);
    free(s);
    if (rc)
        return rc;
    rc = natsbus_request(r->bus, KIND_ASK, "all", 3, ask, len, ASK_WAIT_MS, on_answer, r);
    free(ask);
    if (rc == 0) {
        r->ask_sent_ms = net_loop_mono_ms(r->s->loop);
        r->cur_from = from ? *from : (askkey){.n = 0};
        r->have_next = 0;
        r->won_since_ask = 0;
        r->open_asks++;
        r->asks++;
        r->asks_followed += from != NULL;
    }
    return 0; /* a bus error is not the batch's */
}

static void on_ask_timer(net_timer *t, void *arg)
{
    records *r = arg;
    (void)t;
    if (r->open_asks && !r->have_next)
        return; /* follow_or_finish schedules the next */
    if (!natsbus_connected(r->bus)) {
        ask_later(r, ASK_PERIOD_MS);
        return;
    }
    int64_t quiet = r->lag_ms < ASK_QUIET_MS       ? ASK_QUIET_MS
                    : r->lag_ms > ASK_QUIET_MAX_MS ? ASK_QUIET_MAX_MS
                                                   : r->lag_ms;
    if (!r->have_next &&
        (r->qanswers || net_loop_mono_ms(r->s->loop) - r->last_answer_ms < quiet)) {
        ask_later(r, ASK_QUIET_MS); /* C4: answers still coming or waiting to be applied */
        return;
    }
    if (!r->have_next)
        r->lag_ms /= 2; /* a new pass: how slow the last one was counts half */
    int before = r->open_asks;
    redis_server_in_txn(r->s, 0, summary_fn, r);
    if (r->open_asks == before && !r->open_asks)
        ask_later(r, ASK_PERIOD_MS);
}

static void on_state(void *arg, int connected)
{
    records *r = arg;
    if (connected && !r->open_asks)
        ask_later(r, 0); /* catch up with what was missed */
}

/* ---- Answer --------------------------------------------------------------------------- */

typedef struct answer_ctx {
    records *r;
    const natsbus_msg *m;
    ptr_summary theirs;
    uint8_t from[KEY_MAX];
    size_t from_len, sent;
} answer_ctx;

static int emit(void *arg, const uint8_t *batch, size_t len)
{
    answer_ctx *a = arg;
    int rc = natsbus_respond(a->r->bus, a->m, batch, len);
    return rc ? 1 : 0; /* stop the answer; not an engine error */
}

static int answer_fn(void *arg, ffdb_txn *t)
{
    answer_ctx *a = arg;
    int rc = ptr_answer_txn(a->r->p, t, &a->theirs, a->from, a->from_len, ANSWER_CHUNK_BYTES,
                            ANSWER_MAX_BYTES, emit, a, &a->sent);
    return rc > 0 ? 0 : rc;
}

static void on_ask(void *arg, const natsbus_msg *m)
{
    records *r = arg;
    uint8_t node[IDENT_PK_BYTES];
    answer_ctx *a = malloc(sizeof(*a));
    if (!a || !m->reply) {
        free(a);
        return;
    }
    a->r = r;
    a->m = m;
    a->sent = 0;
    if (ptr_ask_decode(m->data, m->len, &a->theirs, node, a->from, sizeof(a->from), &a->from_len)) {
        ptr_count_reject(r->p, PTR_R_MALFORMED);
        free(a);
        return;
    }
    peer_seen(r, node);
    if (redis_server_in_txn(r->s, 0, answer_fn, a) == 0) {
        r->answers++;
        r->answered_records += a->sent;
    }
    free(a);
}

static int gc_fn(void *arg, ffdb_txn *t)
{
    return ptr_gc_txn(arg, t, NULL);
}

static void on_gc(net_timer *t, void *arg)
{
    records *r = arg;
    (void)t;
    redis_server_in_txn(r->s, 1, gc_fn, r->p);
}

/* ---- commands ---------------------------------------------------------------------------- */

typedef struct cmd_ctx {
    records *r;
    const resp_arg *argv;
    resp_reply *out;
    int del;
    uint8_t *wire;
    size_t wire_len;
    size_t n;
    resp_defer d;
} cmd_ctx;

static int write_fn(void *arg, ffdb_txn *t)
{
    cmd_ctx *c = arg;
    const resp_arg *k = &c->argv[1];
    if (c->del) {
        ptr_entry e;
        int rc = ptr_get_txn(c->r->p, t, k->p, k->n, &e);
        if (rc && rc != FFDB_NOTFOUND)
            return rc;
        c->n = rc == 0 && !e.deleted;
        return ptr_del_txn(c->r->p, t, k->p, k->n, &c->wire, &c->wire_len);
    }
    return ptr_set_txn(c->r->p, t, k->p, k->n, c->argv[2].p, c->argv[2].n, &c->wire, &c->wire_len);
}

static void cmd_write(records *r, int del, const resp_arg *argv, resp_reply *out)
{
    cmd_ctx c = {r, argv, out, del, NULL, 0, 0, 0};
    int rc = redis_server_in_txn(r->s, 1, write_fn, &c);
    if (rc == PTR_ELIMIT)
        reply_error(out, "ERR key or value over the record limits");
    else if (rc == PTR_EBOUND)
        reply_error(out, "ERR the key is bound to another signer");
    else if (rc)
        reply_errorf(out, "ERR %s", ffdb_strerror(rc));
    else {
        int prc = natsbus_publish(r->bus, KIND_REC, argv[1].p, argv[1].n, c.wire, c.wire_len);
        if (prc) /* stored and signed: peers get it from an Answer */
            redis_log(r->s, NET_LOG_VERBOSE, "records: publish: %s", natsbus_strerror(prc));
        if (del)
            reply_int(out, (int64_t)c.n);
        else
            reply_ok(out);
    }
    free(c.wire);
}

static int get_fn(void *arg, ffdb_txn *t)
{
    cmd_ctx *c = arg;
    ptr_entry e;
    char hex[IDENT_HEX_LEN + 1];
    int rc = ptr_get_txn(c->r->p, t, c->argv[1].p, c->argv[1].n, &e);
    if (rc == FFDB_NOTFOUND || (rc == 0 && e.deleted)) {
        reply_null(c->out);
        return 0;
    }
    if (rc)
        return rc;
    ident_pk_hex(e.signer, hex);
    reply_array(c->out, 3);
    reply_bulk(c->out, e.value.data, e.value.size);
    reply_bulk(c->out, hex, IDENT_HEX_LEN);
    reply_int(c->out, (int64_t)e.hlc);
    return 0;
}

static int keys_visit(void *arg, const ptr_entry *e, const uint8_t *wire, size_t wire_len)
{
    cmd_ctx *c = arg;
    (void)wire;
    (void)wire_len;
    if (!e->deleted && resp_glob_match(c->argv[1].p, c->argv[1].n, e->key.data, e->key.size, 0)) {
        reply_bulk(c->out, e->key.data, e->key.size);
        c->n++;
    }
    return 0;
}

static int keys_fn(void *arg, ffdb_txn *t)
{
    cmd_ctx *c = arg;
    c->d = reply_defer(c->out);
    int rc = ptr_scan_txn(c->r->p, t, NULL, 0, keys_visit, c);
    reply_defer_array(c->out, c->d, c->n);
    return rc;
}

static void info_lines(records *r, net_buf *b)
{
    ptr_stats st;
    char line[256];
    ptr_get_stats(r->p, &st);
    int n = snprintf(line, sizeof(line),
                     "peers:%d\r\nrecords:%llu\r\ntombstones:%llu\r\napplied:%llu\r\n"
                     "stale:%llu\r\n",
                     r->npeers, (unsigned long long)st.records, (unsigned long long)st.tombstones,
                     (unsigned long long)st.applied, (unsigned long long)st.stale);
    net_buf_append(b, line, (size_t)n);
    for (int i = 0; i < PTR_R_COUNT; i++) {
        n = snprintf(line, sizeof(line), "rejected_%s:%llu\r\n", ptr_reject_name(i),
                     (unsigned long long)st.rejects[i]);
        net_buf_append(b, line, (size_t)n);
    }
    natsbus_stats ns;
    natsbus_get_stats(r->bus, &ns);
    n = snprintf(line, sizeof(line),
                 "hlc:%llu\r\nnats_connected:%d\r\nasks_sent:%llu\r\nasks_followed:%llu\r\n"
                 "answers_received:%llu\r\nanswers_late:%llu\r\nanswer_records:%llu\r\n"
                 "answer_applied:%llu\r\n",
                 (unsigned long long)st.hlc, natsbus_connected(r->bus), (unsigned long long)r->asks,
                 (unsigned long long)r->asks_followed, (unsigned long long)r->ans_msgs,
                 (unsigned long long)r->ans_late, (unsigned long long)r->ans_records,
                 (unsigned long long)r->ans_applied);
    net_buf_append(b, line, (size_t)n);
    n = snprintf(line, sizeof(line),
                 "answers_sent:%llu\r\nanswered_records:%llu\r\nreceive_pending:%zu\r\n"
                 "nats_published:%llu\r\nnats_publish_errors:%llu\r\nnats_dropped:%llu\r\n"
                 "nats_slow_consumer:%llu\r\nnats_disconnects:%llu\r\nreceive_dropped:%llu\r\n",
                 (unsigned long long)r->answers, (unsigned long long)r->answered_records, r->qn,
                 (unsigned long long)ns.published, (unsigned long long)ns.publish_errors,
                 (unsigned long long)ns.dropped, (unsigned long long)ns.slow_consumer,
                 (unsigned long long)ns.disconnects, (unsigned long long)r->dropped);
    net_buf_append(b, line, (size_t)n);
}

static int is(const resp_arg *a, const char *name)
{
    return a->n == strlen(name) && strncasecmp(a->p, name, a->n) == 0;
}

static int records_command(void *arg, redis_client *cl, int argc, const resp_arg *argv,
                           resp_reply *out)
{
    records *r = arg;
    cmd_ctx c = {r, argv, out, 0, NULL, 0, 0, 0};
    int want = is(&argv[0], "ptr.set")    ? 3
               : is(&argv[0], "ptr.get")  ? 2
               : is(&argv[0], "ptr.del")  ? 2
               : is(&argv[0], "ptr.keys") ? 2
               : is(&argv[0], "ptr.info") ? 1
                                          : 0;
    (void)cl;
    if (!want)
        return 0;
    if (r->off) {
        reply_errorf(out, "ERR signed records are off on this node: %s", r->off);
        return 1;
    }
    if (argc != want) {
        reply_errorf(out, "ERR wrong number of arguments for '%.*s' command", (int)argv[0].n,
                     argv[0].p);
        return 1;
    }
    if (is(&argv[0], "ptr.set") || is(&argv[0], "ptr.del"))
        cmd_write(r, is(&argv[0], "ptr.del"), argv, out);
    else if (is(&argv[0], "ptr.info")) {
        net_buf b;
        net_buf_init(&b, 0);
        info_lines(r, &b);
        reply_bulk(out, b.data, b.len);
        net_buf_free(&b);
    } else {
        int rc = redis_server_in_txn(r->s, 0, is(&argv[0], "ptr.get") ? get_fn : keys_fn, &c);
        if (rc)
            reply_errorf(out, "ERR %s", ffdb_strerror(rc));
    }
    return 1;
}

/* ---- attach / detach ---------------------------------------------------------------------- */

static int open_fn(void *arg, ffdb_txn *t)
{
    records *r = arg;
    ptr_opts o = {.namespace_name = r->ncfg->ns};
    return ptr_open_txn(r->s->db, t, &r->id, &o, &r->p);
}

/* The identity lives beside the data file (as --crdt's). */
static void key_dir(const redis_config *cfg, char *out, size_t cap)
{
    const char *slash = strrchr(cfg->datafile, '/');
    if (cfg->dir[0])
        snprintf(out, cap, "%s", cfg->dir);
    else if (slash)
        snprintf(out, cap, "%.*s", slash == cfg->datafile ? 1 : (int)(slash - cfg->datafile),
                 cfg->datafile);
    else
        snprintf(out, cap, ".");
}

static void records_detach(void *arg, redis_server *s);

/* Why the records must not run beside --cluster: PTR.* write into the data
 * file outside the RAFT log, so the replicated file would differ between
 * nodes, and a snapshot installed from the leader replaces the file (and
 * this node's records) under the running extension. */
#define OFF_CLUSTER                                                                                \
    "beside --cluster the RAFT log owns the data file and the records would be written "           \
    "outside it"

static int records_attach(void *arg, redis_server *s, char *err, size_t errlen)
{
    records *r = arg;
    char dir[1024], e[256] = "";
    int in_cluster = s->cfg->hook == &cluster_hook;
    r->s = s;
    if (in_cluster && r->ncfg->records == NATS_RECORDS_YES) {
        snprintf(err, errlen, "--nats-records yes: %s (use auto or no)", OFF_CLUSTER);
        return -1;
    }
    if (r->ncfg->records == NATS_RECORDS_NO || in_cluster) {
        r->off = in_cluster ? OFF_CLUSTER : "nats-records no";
        redis_log(s, NET_LOG_NOTICE, "records: PTR.* off (%s)", r->off);
        return 0;
    }
    key_dir(s->cfg, dir, sizeof(dir));
    int rc = ident_open(&r->id, dir, 0, NULL, e, sizeof(e));
    if (rc) {
        snprintf(err, errlen, "records: %s", e[0] ? e : ident_strerror(rc));
        return -1;
    }
    r->have_id = 1;
    rc = redis_server_in_txn(s, 1, open_fn, r);
    if (rc) {
        snprintf(err, errlen, "records: opening the bucket: %s", ffdb_strerror(rc));
        records_detach(r, s);
        return -1;
    }
    natsbus_opts o = {.url = r->ncfg->url,
                      .namespace_name = r->ncfg->ns,
                      .conn_name = "ffdb-records",
                      .on_state = on_state,
                      .state_arg = r,
                      .on_late_reply = on_late_answer,
                      .late_arg = r};
    rc = natsbus_open(s->loop, &o, &r->bus, e, sizeof(e));
    if (rc == 0)
        rc = natsbus_subscribe(r->bus, KIND_REC, NULL, 0, on_record, r, &r->sub_rec);
    if (rc == 0)
        rc = natsbus_subscribe(r->bus, KIND_ASK, NULL, 0, on_ask, r, &r->sub_ask);
    r->ask_t = rc ? NULL : net_timer_add(s->loop, 0, 0, on_ask_timer, r);
    r->flush_t = r->ask_t ? net_timer_add(s->loop, 1000000000, 0, on_flush, r) : NULL;
    r->gc_t = r->flush_t ? net_timer_add(s->loop, GC_PERIOD_MS, GC_PERIOD_MS, on_gc, r) : NULL;
    if (!r->gc_t) {
        snprintf(err, errlen, "records: NATS %s: %s", r->ncfg->url,
                 e[0] ? e : (rc ? natsbus_strerror(rc) : "out of memory"));
        records_detach(r, s);
        return -1;
    }
    return 0;
}

static void records_detach(void *arg, redis_server *s)
{
    records *r = arg;
    (void)s;
    while (r->p && r->qn)
        flush(r);
    for (size_t i = 0; i < r->qn; i++)
        free(r->q[i].data);
    free(r->q);
    r->q = NULL;
    r->qn = r->qcap = 0;
    net_timer_cancel(r->ask_t);
    net_timer_cancel(r->flush_t);
    net_timer_cancel(r->gc_t);
    natsbus_close(r->bus); /* its subscriptions and pending request go with it */
    r->bus = NULL;
    ptr_close(r->p);
    r->p = NULL;
    if (r->have_id)
        ident_close(&r->id);
    r->have_id = 0;
}

static void records_info(void *arg, net_buf *b)
{
    records *r = arg;
    if (r->p)
        info_lines(r, b);
    else
        net_buf_append(b, "records_enabled:0\r\n", 19);
}

const redis_extension records_extension = {
    .name = "records",
    .attach = records_attach,
    .detach = records_detach,
    .command = records_command,
    .info = records_info,
};
