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
 *   ptr.<key> msg   queued; a zero-delay timer applies the queue in one txn
 *                   (one engine txn per received batch)
 *   Ask             on connect, then every ASK_PERIOD_MS + jitter: our
 *                   summary on ffdb.<ns>.ptr-ask.all, every peer answering in
 *                   Batch chunks until ASK_WAIT_MS; an answer that brought
 *                   records, or said "more", makes the next Ask come soon
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

#define KIND_REC "ptr"
#define KIND_ASK "ptr-ask"
#define ASK_PERIOD_MS 1000         /* between Asks when nothing new came */
#define ASK_JITTER_MS 1000         /* + up to this, so nodes do not ask together */
#define ASK_SOON_MS 20             /* after an answer that brought something */
#define ASK_WAIT_MS 400            /* how long answers are collected */
#define ANSWER_CHUNK_BYTES 262144  /* one NATS message of an answer */
#define ANSWER_MAX_BYTES 4194304   /* one answer in all (more: ask again) */
#define PENDING_MAX_BYTES 33554432 /* received, not yet applied (beyond: dropped) */
#define GC_PERIOD_MS 600000        /* tombstone retention sweep */
#define MAX_PEERS 64
#define KEY_MAX 512 /* ptr's default max_key_bytes */

typedef struct pend {
    uint8_t *data;
    size_t len;
    int batch; /* 1: an Answer chunk (Batch), 0: one Signed record */
} pend;

struct records {
    const server_nats_config *ncfg;
    redis_server *s;
    ident id;
    int have_id;
    ptr *p;
    natsbus *bus;
    natsbus_sub *sub_rec, *sub_ask;
    net_timer *ask_t, *flush_t, *gc_t;

    pend *q;
    size_t qn, qcap, qbytes;
    uint64_t dropped;

    int asking;
    uint8_t from[KEY_MAX];
    size_t from_len;
    size_t ask_applied;
    uint64_t asks, answers, answered_records;

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

/* ---- applying what came in --------------------------------------------------------- */

typedef struct flush_ctx {
    records *r;
    size_t applied;
} flush_ctx;

static int flush_fn(void *arg, ffdb_txn *t)
{
    flush_ctx *f = arg;
    records *r = f->r;
    const uint8_t **msgs = malloc((r->qn ? r->qn : 1) * sizeof(*msgs));
    size_t *lens = malloc((r->qn ? r->qn : 1) * sizeof(*lens)), n = 0, won = 0;
    int rc = 0;
    if (!msgs || !lens)
        rc = FFDB_ENOMEM;
    for (size_t i = 0; rc == 0 && i < r->qn; i++) {
        if (!r->q[i].batch) {
            msgs[n] = r->q[i].data;
            lens[n++] = r->q[i].len;
            continue;
        }
        ffdb_val more;
        rc = ptr_apply_batch_txn(r->p, t, r->q[i].data, r->q[i].len, &won, &more);
        f->applied += won;
        if (rc == 0 && more.size && more.size <= sizeof(r->from)) {
            memcpy(r->from, more.data, more.size);
            r->from_len = more.size;
        }
    }
    if (rc == 0 && n) {
        rc = ptr_apply_txn(r->p, t, msgs, lens, n, &won);
        f->applied += won;
    }
    free(msgs);
    free(lens);
    return rc;
}

/* Apply the queue in one txn of the batch; returns the records that won. */
static size_t flush(records *r)
{
    flush_ctx f = {r, 0};
    if (r->qn == 0)
        return 0;
    int rc = redis_server_in_txn(r->s, 1, flush_fn, &f);
    if (rc)
        redis_log(r->s, NET_LOG_WARNING, "records: applying %zu received messages: %s", r->qn,
                  ffdb_strerror(rc));
    for (size_t i = 0; i < r->qn; i++)
        free(r->q[i].data);
    r->qn = 0;
    r->qbytes = 0;
    return rc ? 0 : f.applied;
}

static void on_flush(net_timer *t, void *arg)
{
    (void)t;
    flush(arg);
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
    net_timer_again(r->flush_t, 0);
}

static void on_record(void *arg, const natsbus_msg *m)
{
    enqueue(arg, m->data, m->len, 0);
}

/* ---- Ask ----------------------------------------------------------------------------- */

static void ask_later(records *r, int64_t ms)
{
    net_timer_again(r->ask_t, ms);
}

static void on_answer(void *arg, const natsbus_msg *m)
{
    records *r = arg;
    if (m) {
        enqueue(r, m->data, m->len, 1);
        return;
    }
    r->asking = 0;
    r->ask_applied += flush(r);
    if (r->ask_applied || r->from_len)
        ask_later(r, ASK_SOON_MS);
    else
        ask_later(r, ASK_PERIOD_MS + (int64_t)(redis_random(r->s) % ASK_JITTER_MS));
}

static int summary_fn(void *arg, ffdb_txn *t)
{
    records *r = arg;
    ptr_summary *s = malloc(sizeof(*s));
    uint8_t *ask = NULL;
    size_t len = 0;
    int rc = s ? ptr_summary_txn(r->p, t, s) : FFDB_ENOMEM;
    if (rc == 0)
        rc = ptr_ask_encode(s, r->id.pk, r->from, r->from_len, &ask, &len);
    free(s);
    if (rc)
        return rc;
    r->from_len = 0; /* an answer's more sets it again */
    r->ask_applied = 0;
    rc = natsbus_request(r->bus, KIND_ASK, "all", 3, ask, len, ASK_WAIT_MS, on_answer, r);
    free(ask);
    if (rc == 0) {
        r->asking = 1;
        r->asks++;
    }
    return 0; /* a bus error is not the batch's */
}

static void on_ask_timer(net_timer *t, void *arg)
{
    records *r = arg;
    (void)t;
    if (r->asking)
        return; /* on_answer schedules the next */
    if (!natsbus_connected(r->bus)) {
        ask_later(r, ASK_PERIOD_MS);
        return;
    }
    redis_server_in_txn(r->s, 0, summary_fn, r);
    if (!r->asking)
        ask_later(r, ASK_PERIOD_MS);
}

static void on_state(void *arg, int connected)
{
    records *r = arg;
    if (connected && !r->asking)
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
    n = snprintf(line, sizeof(line),
                 "hlc:%llu\r\nnats_connected:%d\r\nasks_sent:%llu\r\nanswers_sent:%llu\r\n"
                 "answered_records:%llu\r\nreceive_dropped:%llu\r\n",
                 (unsigned long long)st.hlc, natsbus_connected(r->bus), (unsigned long long)r->asks,
                 (unsigned long long)r->answers, (unsigned long long)r->answered_records,
                 (unsigned long long)r->dropped);
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

static int records_attach(void *arg, redis_server *s, char *err, size_t errlen)
{
    records *r = arg;
    char dir[1024], e[256] = "";
    r->s = s;
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
                      .state_arg = r};
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
    if (r->p)
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
}

const redis_extension records_extension = {
    .name = "records",
    .attach = records_attach,
    .detach = records_detach,
    .command = records_command,
    .info = records_info,
};
