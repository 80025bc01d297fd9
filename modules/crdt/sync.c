/*
 * sync.c — the CRDT mode's transport over NATS (issue 13): ffdb-server
 * --crdt yes --nats URL [--namespace NAME]. Its own natsbus connection on
 * the server's loop (opened by the hook's attach), three subjects of the
 * namespace (natsbus N4), every payload binary:
 *
 *   ffdb.NS.oplog.e      a node's new local entries, published once per
 *                        loop iteration: writer pk (32) | frames
 *   ffdb.NS.oplog.h      anti-entropy: pk (32) | entries held (u64 BE) |
 *                        heads (36 bytes each, at most 64), every
 *                        SYNC_PERIOD_MS with jitter, and soon after a
 *                        peer's heads differ from ours
 *   ffdb.NS.oplog.<hex>  requests to the node whose pk is hex: CIDs (36
 *                        bytes each, at most SYNC_BATCH); the answer is the
 *                        frames of the entries held, at most SYNC_ANSWER_MAX
 *                        bytes
 *   a frame: u32 BE length | entry bytes (dag-cbor, modules/oplog)
 *
 * What arrives goes through crdt_ingest (oplog_add's full checks: strict
 * decode, re-hash, signature, parents present, clock) in the server's batch
 * txn, folded in the log's order (C1). An entry whose parents are unknown
 * starts a fetch from the node that sent it or announced the head: the
 * walk back is modules/oplog's step-wise fetch (its state in the file's
 * scratch buckets, so memory is one batch): ask up to SYNC_BATCH CIDs,
 * accept only entries that hash to a CID asked for, want their unknown
 * parents, until the walk reaches known entries; then the fetched entries
 * are ingested in the total order. A request unanswered for
 * SYNC_REQUEST_MS, or answered with nothing asked for, is a failure;
 * SYNC_FAILURES_MAX of them end the walk (its scratch dropped), and the
 * next announcement starts it again, from whichever peer announces.
 *
 * What holds:
 *   S1  nothing from the bus is written except through crdt_ingest (an
 *       entry refused is counted, never stored or applied).
 *   S2  at most one fetch runs; its memory is one batch of CIDs and one
 *       answer (the walk's state is in the file).
 *   S3  every node announces its heads at least every 1.5 SYNC_PERIOD_MS,
 *       so two nodes that can reach each other hold the same entries once
 *       writes stop (loss on the bus, a node stopped or joining late, a
 *       restarted nats-server: all end with the next announcements).
 * A local entry is published after the batch that logged it has run: if
 * that batch then fails, peers hold an entry this node lost, and this node
 * fetches it back from them (converging all the same).
 *
 * Who calls it: node.c (open in attach, crdt_sync_local per local entry).
 * Everything runs on the loop thread (natsbus N1).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/crdt/crdt_int.h"
#include "modules/natsbus/natsbus.h"

#define SYNC_KIND "oplog"
#define SYNC_BATCH 64                 /* CIDs per request */
#define SYNC_ANSWER_MAX (512u << 10)  /* bytes of one answer or push (under NATS's 1 MiB) */
#define SYNC_PERIOD_MS 400            /* anti-entropy: heads every 0.5..1.5 x this */
#define SYNC_SOON_MS 30               /* heads again soon after a peer's differ */
#define SYNC_REQUEST_MS 1000          /* a request's time for its answer */
#define SYNC_FAILURES_MAX 3           /* failed requests that end a fetch */
#define SYNC_HEADS_MAX OPLOG_NEXT_MAX /* heads announced */
#define PK_HEX (2 * OPLOG_KEY_BYTES)
#define DROPPED_FRAME (1 + 2 * OPLOG_CID_BYTES) /* 0x00 | CID dropped | snapshot CID */

_Static_assert(SYNC_BATCH * OPLOG_CID_BYTES < SYNC_ANSWER_MAX, "a request fits a message");
_Static_assert(OPLOG_KEY_BYTES + 4 + CRDT_ENTRY_MAX <= SYNC_ANSWER_MAX,
               "every entry the mode takes fits one push or answer");

struct req { /* one fetch request in flight, listed until its end (or the close) */
    struct crdt_sync *y;
    uint64_t gen;
    int answered;
    int state; /* asks for blocks of a snapshot's state, not entries */
    struct req *prev, *next;
};

struct crdt_sync {
    crdt *n;
    natsbus *bus;
    natsbus_sub *sub_e, *sub_h, *sub_get;
    net_timer *announce;
    int64_t last_announce_ms;
    uint8_t *pending; /* local entries to publish: pk | frames */
    size_t pending_len, pending_cap;
    uint64_t rand;
    /* the fetch (S2) */
    int fetching;
    uint64_t gen; /* of the request in flight; a later answer to an older one is ignored */
    uint8_t peer[OPLOG_KEY_BYTES];
    ipld_cid want[SYNC_BATCH];
    uint8_t got[SYNC_BATCH];
    size_t want_n;
    int failures;
    struct req *reqs; /* in flight: natsbus_close drops them without their callback */
    /* the state of a snapshot this node is behind (compact.c): its blocks
     * asked for in batches, kept in "crdt.f" until all are held */
    int stating;
    int behind; /* a peer answered "dropped behind my snapshot" (the CID in snap) */
    ipld_cid snap;
    ipld_cid *swant; /* the root, then its chunks */
    size_t swant_n, swant_cap, snext;
    /* the heads each peer last announced (the stable cut, compact.c) */
    struct peer *peers;
    size_t npeers;
};

#define PEER_RECENT 8 /* announcements kept per peer until one is all held here */

struct heads_set {
    size_t count;
    uint8_t heads[SYNC_HEADS_MAX * OPLOG_CID_BYTES];
};

struct peer {
    uint8_t pk[OPLOG_KEY_BYTES];
    size_t count; /* the heads it last announced */
    uint8_t heads[SYNC_HEADS_MAX * OPLOG_CID_BYTES];
    /* the cut under writes counts, per peer, the newest announcement whose
     * heads are all held here (acked): under constant writes the latest
     * one never is (it names entries still on their way), an earlier one
     * soon is; a peer's past only grows, so an older one gives a lower,
     * still safe, cut. recent: the announcements after the acked one. */
    int acked;
    struct heads_set ack;
    struct heads_set recent[PEER_RECENT];
    size_t nrecent;
};

/* 1 if every head of h is held here (or dropped by a compaction). */
static int all_held(ffdb_txn *txn, const struct heads_set *h)
{
    for (size_t i = 0; i < h->count; i++) {
        ipld_cid c;
        if (ipld_cid_from_bytes(h->heads + i * OPLOG_CID_BYTES, OPLOG_CID_BYTES, &c))
            return 0;
        int k = oplog_known(txn, &c);
        if (k <= 0)
            return k;
    }
    return 1;
}

/* The newest of p's recent announcements all held here becomes its acked
 * heads (it and the older ones leave recent). 0, or an engine error. */
static int peer_ack(ffdb_txn *txn, struct peer *p)
{
    for (size_t i = p->nrecent; i-- > 0;) {
        int h = all_held(txn, &p->recent[i]);
        if (h < 0)
            return h;
        if (h) {
            p->ack = p->recent[i], p->acked = 1;
            memmove(p->recent, p->recent + i + 1, (p->nrecent - i - 1) * sizeof *p->recent);
            p->nrecent -= i + 1;
            break;
        }
    }
    return 0;
}

static crdt_sync *g_sync; /* the BEFORE_SLEEP hook cannot be removed: it finds the bus here */

#define put_u32 crdt_put_u32
#define get_u32 crdt_get_u32

static int64_t now_ms(crdt_sync *y)
{
    return net_loop_mono_ms(y->n->s->loop);
}

static uint64_t rnd(crdt_sync *y)
{
    y->rand ^= y->rand << 13, y->rand ^= y->rand >> 7, y->rand ^= y->rand << 17;
    return y->rand;
}

/* Walk the frames of buf: fn per frame until it returns nonzero. A frame
 * running past the end stops the walk (garbage: what came before counts). */
static int frames(const uint8_t *buf, size_t len, int (*fn)(void *, const uint8_t *, size_t),
                  void *arg)
{
    size_t o = 0;
    while (len - o >= 4) {
        uint32_t l = get_u32(buf + o);
        if (len - o - 4 < l)
            return 0;
        int rc = fn(arg, buf + o + 4, l);
        if (rc)
            return rc;
        o += 4 + l;
    }
    return 0;
}

/* ---- publishing local entries (once per iteration) ---- */

static void flush_pending(crdt_sync *y)
{
    if (y->pending_len <= OPLOG_KEY_BYTES)
        return;
    if (natsbus_publish(y->bus, SYNC_KIND, "e", 1, y->pending, y->pending_len) == 0)
        y->n->st.pushed++;
    y->pending_len = OPLOG_KEY_BYTES; /* lost ones reach peers through anti-entropy (S3) */
}

void crdt_sync_local(crdt_sync *y, const uint8_t *buf, size_t len)
{
    if (!y || len + 4 + OPLOG_KEY_BYTES > SYNC_ANSWER_MAX)
        return; /* too big for one message: peers fetch it (S3) */
    if (y->pending_len + 4 + len > SYNC_ANSWER_MAX)
        flush_pending(y);
    /* out of memory: anti-entropy carries it */
    crdt_frame_add(&y->pending, &y->pending_len, &y->pending_cap, (uint32_t)len, buf, len);
}

static void before_sleep(net_loop *l, int nevents, void *arg)
{
    (void)l, (void)nevents, (void)arg;
    if (g_sync)
        flush_pending(g_sync);
}

/* ---- the fetch (S2) ---- */


static void fetch_stop(crdt_sync *y, ffdb_txn *txn, int failed)
{
    int rc = oplog_fetch_end(txn);
    (void)rc; /* an engine error fails the batch in crdt_work_end */
    y->fetching = 0, y->stating = 0, y->behind = 0;
    y->gen++;
    if (failed)
        y->n->st.fetch_failures++;
}

struct spill_in {
    crdt *n;
    ffdb_txn *txn;
    crdt_ingest *g;
};

static int spill_one(void *arg, const ipld_cid *id, const uint8_t *buf, size_t len)
{
    struct spill_in *si = arg;
    (void)id;
    int rc = crdt_ingest_one(si->n, si->txn, si->g, buf, len);
    if (rc == 0)
        si->n->st.fetched++;
    else if (crdt_refusal(rc))
        si->n->st.refused++; /* S1: its descendants are refused too (parent unknown) */
    return rc == 1 || crdt_refusal(rc) ? 0 : rc;
}

/* A snapshot in the spill whose parents this node lacks: the node is
 * behind the cut and needs the snapshot's state (C3) before the spill. */
struct behind {
    ffdb_txn *txn;
    const ipld_cid *want; /* the snapshot a peer named, or NULL */
    int found;
    ipld_cid snap, state;
    ipld_cid next[OPLOG_NEXT_MAX];
    size_t next_count;
    int rc;
};

static int behind_one(void *arg, const ipld_cid *id, const uint8_t *buf, size_t len)
{
    struct behind *b = arg;
    oplog_entry e;
    if (oplog_entry_decode(buf, len, &e))
        return 0;
    if (e.kind == OPLOG_KIND_SNAPSHOT) { /* in order: the newest one wins */
        int lacks = b->want && ipld_cid_equal(b->want, id); /* named by the peer */
        /* or a parent the peer did not have: given up as covered */
        for (size_t i = 0; i < e.next_count && !lacks && !b->rc; i++) {
            int h = oplog_fetch_covered(b->txn, &e.next[i]);
            if (h < 0)
                b->rc = h;
            lacks = h == 1;
        }
        if (lacks) {
            b->found = 1, b->snap = *id, b->state = e.state, b->next_count = e.next_count;
            memcpy(b->next, e.next, e.next_count * sizeof *e.next);
        }
    }
    oplog_entry_free(&e);
    return b->rc;
}

static int state_ask(crdt_sync *y, ffdb_txn *txn);

/* The walk closed: ingest what it fetched, in the log's order — after the
 * state of a snapshot the node is behind is fetched and loaded. */
static int fetch_finish(crdt_sync *y, ffdb_txn *txn)
{
    crdt_ingest g;
    struct spill_in si = {y->n, txn, &g};
    static struct behind b;
    memset(&b, 0, sizeof b);
    b.txn = txn;
    b.want = y->behind ? &y->snap : NULL;
    int rc = oplog_fetch_spill(txn, behind_one, &b), adopt = 0;
    if (!rc && b.found) {
        int held = crdt_state_held(txn, &b.state);
        if (held < 0)
            return held;
        if (!held && !y->stating) { /* fetch the state's blocks first */
            y->stating = 1, y->snext = 0, y->swant_n = 0;
            rc = crdt_sync_swant(y, &b.state);
            return rc ? rc : state_ask(y, txn);
        }
        adopt = !held;
    }
    y->stating = 0;
    rc = rc ? rc : crdt_ingest_begin(y->n, txn, &g, net_loop_wall_ms(y->n->s->loop));
    if (!rc && adopt) /* every block is held: load it, cover the snapshot's parents */
        rc = crdt_state_adopt(y->n, txn, &g, &b.snap, &b.state, b.next, b.next_count);
    rc = rc ? rc : oplog_fetch_spill(txn, spill_one, &si);
    rc = rc ? rc : crdt_ingest_end(y->n, txn, &g);
    fetch_stop(y, txn, 0);
    return rc;
}

int crdt_sync_is_root(const crdt_sync *y, const ipld_cid *id)
{
    return y->swant_n && ipld_cid_equal(&y->swant[0], id);
}

int crdt_sync_swant(crdt_sync *y, const ipld_cid *id)
{
    if (y->swant_n == y->swant_cap) {
        size_t cap = y->swant_cap ? 2 * y->swant_cap : 64;
        ipld_cid *w = realloc(y->swant, cap * sizeof *w);
        if (!w)
            return FFDB_ENOMEM;
        y->swant = w, y->swant_cap = cap;
    }
    y->swant[y->swant_n++] = *id;
    return 0;
}

static void on_reply(void *arg, const natsbus_msg *m);

/* A request's time is up: off the list in flight. */
static void req_free(crdt_sync *y, struct req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        y->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    free(r);
}

static int request(crdt_sync *y, const ipld_cid *want, size_t n, int state)
{
    uint8_t q[SYNC_BATCH * OPLOG_CID_BYTES];
    char hex[PK_HEX + 1];
    for (size_t i = 0; i < n; i++)
        ipld_cid_to_bytes(&want[i], q + i * OPLOG_CID_BYTES);
    struct req *r = calloc(1, sizeof *r);
    ident_pk_hex(y->peer, hex);
    if (!r)
        return -1;
    r->y = y, r->gen = ++y->gen, r->state = state;
    if (natsbus_request(y->bus, SYNC_KIND, hex, PK_HEX, q, n * OPLOG_CID_BYTES, SYNC_REQUEST_MS,
                        on_reply, r) == 0) {
        r->next = y->reqs;
        if (y->reqs)
            y->reqs->prev = r;
        y->reqs = r;
        return 0;
    }
    free(r);
    return -1;
}

/* Ask for the next blocks of the state, or (all held) finish the fetch. */
static int state_ask(crdt_sync *y, ffdb_txn *txn)
{
    while (y->snext < y->swant_n) { /* skip what is held already */
        int h = crdt_state_block_held(txn, &y->swant[y->snext]);
        if (h < 0)
            return h;
        if (!h)
            break;
        y->snext++;
    }
    if (y->snext == y->swant_n)
        return fetch_finish(y, txn);
    y->want_n = y->swant_n - y->snext < SYNC_BATCH ? y->swant_n - y->snext : SYNC_BATCH;
    memcpy(y->want, y->swant + y->snext, y->want_n * sizeof *y->want);
    memset(y->got, 0, sizeof y->got);
    if (request(y, y->want, y->want_n, 1))
        fetch_stop(y, txn, 1);
    return 0;
}

struct answer {
    crdt_sync *y;
    ffdb_txn *txn;
    size_t got;
};

static int state_block_one(void *arg, const uint8_t *buf, size_t len)
{
    struct answer *a = arg;
    crdt_sync *y = a->y;
    for (size_t i = 0; i < y->want_n; i++)
        if (!y->got[i] && ipld_cid_verify(&y->want[i], buf, len) == 0) {
            y->got[i] = 1;
            a->got++;
            /* the root: its chunks are wanted next */
            return crdt_state_block_put(a->txn, y, &y->want[i], buf, len);
        }
    return 0; /* not a block asked for: ignored */
}


/* Ask the peer for the next batch, or finish. Runs inside work. */
static int fetch_ask(crdt_sync *y, ffdb_txn *txn)
{
    int rc = oplog_fetch_take(txn, y->want, SYNC_BATCH, &y->want_n);
    if (rc)
        return rc;
    if (y->want_n == 0)
        return fetch_finish(y, txn);
    memset(y->got, 0, sizeof y->got);
    if (request(y, y->want, y->want_n, 0))
        fetch_stop(y, txn, 1); /* the bus is closing or out of memory: the next announcement retries */
    return 0;
}

static void fetch_start(crdt_sync *y, const ipld_cid *head, const uint8_t peer[OPLOG_KEY_BYTES])
{
    ffdb_txn *txn;
    int outside, rc;
    if (y->fetching)
        return;
    rc = crdt_work_begin(y->n, 1, &txn, &outside);
    if (!rc)
        rc = oplog_fetch_begin(txn, head);
    if (!rc) {
        y->fetching = 1, y->failures = 0;
        memcpy(y->peer, peer, OPLOG_KEY_BYTES);
        y->n->st.fetches++;
        rc = fetch_ask(y, txn);
        if (rc && !crdt_refusal(rc))
            y->fetching = 0, y->gen++; /* the batch fails: the walk with it */
    }
    crdt_work_end(y->n, outside, rc);
}

static int answer_one(void *arg, const uint8_t *buf, size_t len)
{
    struct answer *a = arg;
    crdt_sync *y = a->y;
    ipld_cid id, snap;
    if (len == DROPPED_FRAME && buf[0] == 0 &&
        !ipld_cid_from_bytes(buf + 1, OPLOG_CID_BYTES, &id) &&
        !ipld_cid_from_bytes(buf + 1 + OPLOG_CID_BYTES, OPLOG_CID_BYTES, &snap)) {
        int rc = oplog_fetch_dropped(a->txn, y->want, y->want_n, y->got, &id, &snap);
        if (rc > 0) { /* behind the peer's cut: its snapshot's state covers it */
            a->got++;
            y->behind = 1, y->snap = snap;
        }
        return rc < 0 ? rc : 0;
    }
    y->n->st.received++;
    int rc = oplog_fetch_got(a->txn, y->want, y->want_n, y->got, buf, len);
    if (rc > 0)
        a->got++;
    return rc < 0 ? rc : 0;
}

/* An answer to a request of the fetch (entries, or blocks of a state), or
 * m NULL once its time is up. Only the live request counts (the latest,
 * unanswered, of the fetch running): what it brought is taken; nothing
 * taken (garbage, a peer that lost them, silence) is a failure, and
 * SYNC_FAILURES_MAX of them end the walk; otherwise the next batch is
 * asked. An engine error ends the walk too (its scratch goes with the
 * failed batch), so a fetch never stays open with nothing in flight. */
static void on_reply(void *arg, const natsbus_msg *m)
{
    struct req *r = arg;
    crdt_sync *y = r->y;
    int st = r->state, covered = 0, outside, rc;
    int live = !r->answered && y->fetching && r->gen == y->gen && (!st || y->stating);
    struct answer a = {y, NULL, 0};
    if (!m)
        req_free(y, r);
    if (!live)
        return; /* a repeat, or an answer to a request given up */
    rc = crdt_work_begin(y->n, 1, &a.txn, &outside);
    if (m) {
        r->answered = 1;
        rc = rc ? rc : frames(m->data, m->len, st ? state_block_one : answer_one, &a);
    }
    if (!rc && !st) { /* entries: what a snapshot covers is given up, the rest asked again */
        covered = m ? oplog_fetch_giveup(a.txn, y->want, y->want_n, y->got) : 0;
        rc = covered < 0 ? covered : oplog_fetch_rewant(a.txn, y->want, y->want_n, y->got);
    }
    if (!rc && a.got == 0 && covered == 0 && ++y->failures >= SYNC_FAILURES_MAX)
        fetch_stop(y, a.txn, 1); /* garbage, silence, or a peer that no longer holds them */
    else if (!rc)
        rc = st ? state_ask(y, a.txn) : fetch_ask(y, a.txn);
    if (rc && !crdt_refusal(rc))
        y->fetching = 0, y->stating = 0, y->gen++;
    crdt_work_end(y->n, outside, rc);
}

/* ---- what peers send ---- */

struct push {
    crdt_sync *y;
    ffdb_txn *txn;
    crdt_ingest g;
    const uint8_t *peer;
    int missing; /* an entry's parents are unknown: fetch from the peer */
    ipld_cid head;
};

static int push_one(void *arg, const uint8_t *buf, size_t len)
{
    struct push *p = arg;
    crdt *n = p->y->n;
    n->st.received++;
    int rc = crdt_ingest_one(n, p->txn, &p->g, buf, len);
    if (rc == OPLOG_EMISSING) {
        oplog_entry e;
        if (!p->missing && oplog_entry_decode(buf, len, &e) == 0) {
            p->head = e.id, p->missing = 1;
            oplog_entry_free(&e);
        }
        return 0;
    }
    if (crdt_refusal(rc)) {
        n->st.refused++; /* S1: tampered in flight, malformed, a bad clock */
        return 0;
    }
    return rc == 1 ? 0 : rc;
}

static void on_entries(void *arg, const natsbus_msg *m)
{
    crdt_sync *y = arg;
    struct push p = {.y = y, .peer = m->data};
    int outside, rc;
    if (m->len < OPLOG_KEY_BYTES)
        return;
    rc = crdt_work_begin(y->n, 1, &p.txn, &outside);
    rc = rc ? rc : crdt_ingest_begin(y->n, p.txn, &p.g, net_loop_wall_ms(y->n->s->loop));
    rc = rc ? rc : frames(m->data + OPLOG_KEY_BYTES, m->len - OPLOG_KEY_BYTES, push_one, &p);
    rc = rc ? rc : crdt_ingest_end(y->n, p.txn, &p.g);
    crdt_work_end(y->n, outside, rc);
    if (!rc && p.missing)
        fetch_start(y, &p.head, m->data);
}

static void announce_soon(crdt_sync *y)
{
    if (now_ms(y) - y->last_announce_ms >= SYNC_SOON_MS * 4)
        net_timer_again(y->announce, SYNC_SOON_MS);
}

/* Keep the heads a peer announced; *fresh if it is new to this process. */
static int peer_heads(crdt_sync *y, const uint8_t *pk, const uint8_t *heads, size_t count,
                      int *fresh)
{
    struct peer *p = NULL;
    for (size_t i = 0; i < y->npeers && !p; i++)
        if (!memcmp(y->peers[i].pk, pk, OPLOG_KEY_BYTES))
            p = &y->peers[i];
    if (!p) {
        struct peer *np = realloc(y->peers, (y->npeers + 1) * sizeof *np);
        if (!np)
            return FFDB_ENOMEM;
        y->peers = np;
        p = &np[y->npeers++];
        memset(p, 0, sizeof *p);
        memcpy(p->pk, pk, OPLOG_KEY_BYTES);
        *fresh = 1;
    }
    p->count = count;
    memcpy(p->heads, heads, count * OPLOG_CID_BYTES);
    if (p->nrecent == PEER_RECENT) /* the oldest not yet held goes */
        memmove(p->recent, p->recent + 1, --p->nrecent * sizeof *p->recent);
    p->recent[p->nrecent].count = count;
    memcpy(p->recent[p->nrecent++].heads, heads, count * OPLOG_CID_BYTES);
    return 0;
}

int crdt_peer_note(ffdb_txn *txn, const uint8_t pk[OPLOG_KEY_BYTES])
{
    ffdb_bucket *b;
    ffdb_val v;
    int rc = crdt_bucket_make(txn, "crdt.p", &b);
    rc = rc ? rc : ffdb_get(b, pk, OPLOG_KEY_BYTES, &v);
    return rc == FFDB_NOTFOUND ? ffdb_put(b, pk, OPLOG_KEY_BYTES, "", 0) : rc;
}

int crdt_sync_stable(crdt_sync *y, ffdb_txn *txn, char *why, size_t why_len)
{
    ipld_cid mine[SYNC_HEADS_MAX];
    uint8_t bin[SYNC_HEADS_MAX * OPLOG_CID_BYTES];
    size_t nmine;
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v;
    int rc = oplog_heads(txn, mine, SYNC_HEADS_MAX, &nmine), stable = 1;
    if (rc)
        return rc;
    for (size_t i = 0; i < nmine; i++)
        ipld_cid_to_bytes(&mine[i], bin + i * OPLOG_CID_BYTES);
    rc = ffdb_bucket_open(txn, "crdt.p", 6, &b);
    if (rc == FFDB_NOTFOUND)
        return 1; /* no peer ever wrote or announced */
    if (rc || (rc = ffdb_cursor_open(b, &c)))
        return rc;
    for (rc = ffdb_cursor_first(c, &k, &v); rc == 0 && stable; rc = ffdb_cursor_next(c, &k, &v)) {
        const struct peer *p = NULL;
        char hex[PK_HEX + 1];
        if (k.size != OPLOG_KEY_BYTES)
            continue;
        for (size_t i = 0; i < y->npeers && !p; i++)
            if (!memcmp(y->peers[i].pk, k.data, OPLOG_KEY_BYTES))
                p = &y->peers[i];
        ident_pk_hex(k.data, hex);
        if (!p)
            snprintf(why, why_len, "peer %.16s has not announced its heads since this node started",
                     hex);
        else if (p->count != nmine || memcmp(p->heads, bin, nmine * OPLOG_CID_BYTES))
            snprintf(why, why_len,
                     "peer %.16s last announced other heads (the cut must be one every peer "
                     "holds)",
                     hex);
        stable = p && p->count == nmine && !memcmp(p->heads, bin, nmine * OPLOG_CID_BYTES);
    }
    ffdb_cursor_close(c);
    return rc && rc != FFDB_NOTFOUND ? rc : stable;
}

int crdt_sync_cut(crdt_sync *y, ffdb_txn *txn, uint64_t *cut, char *why, size_t why_len)
{
    ipld_cid *heads = malloc((OPLOG_CUT_PEERS_MAX * SYNC_HEADS_MAX) * sizeof *heads);
    size_t counts[OPLOG_CUT_PEERS_MAX], np = 1, at;
    ffdb_bucket *b;
    ffdb_cursor *c = NULL;
    ffdb_val k, v;
    char hex[PK_HEX + 1];
    int rc;
    why[0] = 0;
    if (!heads)
        return FFDB_ENOMEM;
    rc = oplog_heads(txn, heads, SYNC_HEADS_MAX, &counts[0]);
    if (!rc && counts[0] > SYNC_HEADS_MAX) {
        snprintf(why, why_len, "this node has %zu heads, over the %d announced", counts[0],
                 SYNC_HEADS_MAX);
        goto out;
    }
    at = counts[0];
    rc = rc ? rc : ffdb_bucket_open(txn, "crdt.p", 6, &b);
    rc = rc ? rc : ffdb_cursor_open(b, &c);
    for (rc = rc ? rc : ffdb_cursor_first(c, &k, &v); rc == 0; rc = ffdb_cursor_next(c, &k, &v)) {
        const struct peer *p = NULL;
        if (k.size != OPLOG_KEY_BYTES || !memcmp(k.data, y->n->id.pk, OPLOG_KEY_BYTES))
            continue;
        for (size_t i = 0; i < y->npeers && !p; i++)
            if (!memcmp(y->peers[i].pk, k.data, OPLOG_KEY_BYTES))
                p = &y->peers[i];
        ident_pk_hex(k.data, hex);
        if (p && (rc = peer_ack(txn, (struct peer *)p)))
            goto out;
        if (!p)
            snprintf(why, why_len, "peer %.16s has not announced its heads since this node started",
                     hex);
        else if (!p->acked)
            snprintf(why, why_len, "peer %.16s announced heads not all held here yet", hex);
        else if (p->ack.count >= SYNC_HEADS_MAX)
            snprintf(why, why_len, "peer %.16s announced the most heads (truncated)", hex);
        else if (np == OPLOG_CUT_PEERS_MAX)
            snprintf(why, why_len, "more than %d peers", OPLOG_CUT_PEERS_MAX);
        if (why[0]) {
            rc = 0;
            goto out;
        }
        for (size_t i = 0; i < p->ack.count; i++)
            if (ipld_cid_from_bytes(p->ack.heads + i * OPLOG_CID_BYTES, OPLOG_CID_BYTES,
                                    &heads[at + i])) {
                rc = FFDB_CORRUPT;
                goto out;
            }
        counts[np++] = p->ack.count;
        at += p->ack.count;
    }
    if (rc == FFDB_NOTFOUND)
        rc = 0;
    if (!rc && (rc = oplog_cut(txn, heads, counts, np, cut)) == 1) {
        snprintf(why, why_len, "a head a peer announced is not held here yet");
        rc = 0;
    }
out:
    if (c)
        ffdb_cursor_close(c);
    free(heads);
    return rc;
}

static void on_heads(void *arg, const natsbus_msg *m)
{
    crdt_sync *y = arg;
    ffdb_txn *txn;
    ipld_cid mine[SYNC_HEADS_MAX], head;
    size_t nmine, count, unknown = 0;
    int outside, rc, same;
    if (m->len < OPLOG_KEY_BYTES + 8 || (m->len - OPLOG_KEY_BYTES - 8) % OPLOG_CID_BYTES)
        return;
    count = (m->len - OPLOG_KEY_BYTES - 8) / OPLOG_CID_BYTES;
    if (count > SYNC_HEADS_MAX)
        return;
    int fresh = 0;
    if (memcmp(m->data, y->n->id.pk, OPLOG_KEY_BYTES) &&
        (rc = peer_heads(y, m->data, m->data + OPLOG_KEY_BYTES + 8, count, &fresh)))
        return;
    rc = crdt_work_begin(y->n, fresh, &txn, &outside);
    if (!rc && fresh) /* a peer the cut waits for, remembered across restarts */
        rc = crdt_peer_note(txn, m->data);
    rc = rc ? rc : oplog_heads(txn, mine, SYNC_HEADS_MAX, &nmine);
    same = !rc && nmine == count;
    for (size_t i = 0; !rc && i < count; i++) {
        ipld_cid c;
        const uint8_t *b = m->data + OPLOG_KEY_BYTES + 8 + i * OPLOG_CID_BYTES;
        if (ipld_cid_from_bytes(b, OPLOG_CID_BYTES, &c))
            break;
        if (same && !ipld_cid_equal(&c, &mine[i < nmine ? i : 0]))
            same = 0; /* both lists are in binary CID order */
        int has = oplog_has(txn, &c);
        if (has < 0)
            rc = has;
        else if (!has && !unknown++)
            head = c;
    }
    for (size_t i = 0; !rc && i < y->npeers; i++) /* the cut may count what is held */
        if (!memcmp(y->peers[i].pk, m->data, OPLOG_KEY_BYTES))
            rc = peer_ack(txn, &y->peers[i]);
    crdt_work_end(y->n, outside, rc);
    if (rc)
        return;
    if (!same)
        announce_soon(y); /* the peer may lack ours */
    if (unknown)
        fetch_start(y, &head, m->data);
}

/* "Dropped behind my snapshot": 0x00 | the CID asked | the snapshot's CID,
 * for an entry this node dropped by a compaction (an older node ignores
 * the frame: it is no entry). FFDB_NOTFOUND if c is not one. */
static int dropped_frame(ffdb_txn *txn, const ipld_cid *c, uint8_t **out, size_t *len)
{
    ipld_cid snap;
    int rc = oplog_known(txn, c);
    if (rc <= 0)
        return rc < 0 ? rc : FFDB_NOTFOUND;
    if ((rc = crdt_snap_get(txn, &snap)))
        return rc;
    if (!(*out = malloc(DROPPED_FRAME)))
        return FFDB_ENOMEM;
    (*out)[0] = 0;
    ipld_cid_to_bytes(c, *out + 1);
    ipld_cid_to_bytes(&snap, *out + 1 + OPLOG_CID_BYTES);
    *len = DROPPED_FRAME;
    return 0;
}

/* A peer's request: the entries held of the CIDs asked, framed. */
static void on_get(void *arg, const natsbus_msg *m)
{
    crdt_sync *y = arg;
    ffdb_txn *txn;
    uint8_t *out = NULL;
    size_t len = 0, cap = 0;
    int outside, rc;
    if (!m->reply || m->len % OPLOG_CID_BYTES || m->len / OPLOG_CID_BYTES > SYNC_BATCH)
        return;
    rc = crdt_work_begin(y->n, 0, &txn, &outside);
    for (size_t i = 0; !rc && i < m->len / OPLOG_CID_BYTES; i++) {
        ipld_cid c;
        uint8_t *e;
        size_t elen;
        if (ipld_cid_from_bytes(m->data + i * OPLOG_CID_BYTES, OPLOG_CID_BYTES, &c))
            continue;
        int grc = oplog_get(txn, &c, &e, &elen);
        if (grc == FFDB_NOTFOUND) /* a block of this node's state (C3)? */
            grc = crdt_state_block_get(txn, &c, &e, &elen);
        if (grc == FFDB_NOTFOUND) /* dropped behind this node's snapshot: say so */
            grc = dropped_frame(txn, &c, &e, &elen);
        if (grc == FFDB_NOTFOUND)
            continue;
        if (grc) {
            rc = grc;
            break;
        }
        /* What does not fit is asked for again. */
        int oom = len + 4 + elen <= SYNC_ANSWER_MAX &&
                   crdt_frame_add(&out, &len, &cap, (uint32_t)elen, e, elen) != 0;
        free(e);
        if (oom)
            break;
    }
    crdt_work_end(y->n, outside, rc);
    if (!rc)
        natsbus_respond(y->bus, m, out ? out : (const uint8_t *)"", len);
    free(out);
}

/* ---- anti-entropy (S3) ---- */

static void on_announce(net_timer *t, void *arg)
{
    crdt_sync *y = arg;
    uint8_t msg[OPLOG_KEY_BYTES + 8 + SYNC_HEADS_MAX * OPLOG_CID_BYTES];
    ipld_cid heads[SYNC_HEADS_MAX];
    size_t count;
    uint64_t len, clock;
    ffdb_txn *txn;
    int outside;
    uint64_t every = 0;
    int rc = crdt_work_begin(y->n, 0, &txn, &outside);
    rc = rc ? rc : crdt_auto_get(txn, &every);
    rc = rc ? rc : oplog_len(txn, &len, &clock);
    if (!rc && every && len >= every) { /* the threshold: compact if the cut is stable */
        char why[300];
        uint64_t dropped;
        rc = crdt_compact_now(y->n, &txn, why, sizeof why, &dropped);
    }
    rc = rc ? rc : oplog_heads(txn, heads, SYNC_HEADS_MAX, &count);
    rc = rc ? rc : oplog_len(txn, &len, &clock);
    crdt_work_end(y->n, outside, rc);
    net_timer_again(t, SYNC_PERIOD_MS / 2 + (int64_t)(rnd(y) % SYNC_PERIOD_MS));
    if (rc)
        return;
    if (count > SYNC_HEADS_MAX)
        count = SYNC_HEADS_MAX;
    memcpy(msg, y->n->id.pk, OPLOG_KEY_BYTES);
    for (int i = 0; i < 8; i++)
        msg[OPLOG_KEY_BYTES + i] = (uint8_t)(len >> (56 - 8 * i));
    for (size_t i = 0; i < count; i++)
        ipld_cid_to_bytes(&heads[i], msg + OPLOG_KEY_BYTES + 8 + i * OPLOG_CID_BYTES);
    flush_pending(y); /* the entries the heads name go first: a peer need not fetch them */
    if (natsbus_publish(y->bus, SYNC_KIND, "h", 1, msg,
                        OPLOG_KEY_BYTES + 8 + count * OPLOG_CID_BYTES) == 0)
        y->n->st.announces++;
    y->last_announce_ms = now_ms(y);
}

/* ---- open, close ---- */

int crdt_sync_open(crdt *n, char *err, size_t err_len)
{
    crdt_sync *y = calloc(1, sizeof *y);
    char hex[PK_HEX + 1];
    int rc;
    assert(n->s && !n->sync && !g_sync);
    if (!y)
        return FFDB_ENOMEM;
    y->n = n;
    y->rand = (uint64_t)net_loop_mono_us(n->s->loop) ^ ((uint64_t)n->id.pk[0] << 32 | n->id.pk[1]);
    y->rand |= 1;
    if (!(y->pending = malloc(OPLOG_KEY_BYTES + 4096)))
        rc = FFDB_ENOMEM;
    else {
        y->pending_cap = OPLOG_KEY_BYTES + 4096;
        memcpy(y->pending, n->id.pk, OPLOG_KEY_BYTES);
        y->pending_len = OPLOG_KEY_BYTES;
        natsbus_opts o = {.url = n->nats_url, .namespace_name = n->ns, .conn_name = "ffdb-crdt"};
        rc = natsbus_open(n->s->loop, &o, &y->bus, err, err_len);
    }
    ident_pk_hex(n->id.pk, hex);
    rc = rc ? rc : natsbus_subscribe(y->bus, SYNC_KIND, "e", 1, on_entries, y, &y->sub_e);
    rc = rc ? rc : natsbus_subscribe(y->bus, SYNC_KIND, "h", 1, on_heads, y, &y->sub_h);
    rc = rc ? rc : natsbus_subscribe(y->bus, SYNC_KIND, hex, PK_HEX, on_get, y, &y->sub_get);
    if (!rc && !(y->announce = net_timer_add(n->s->loop, SYNC_SOON_MS, 0, on_announce, y)))
        rc = FFDB_ENOMEM;
    if (!rc && net_hook_add(n->s->loop, NET_HOOK_BEFORE_SLEEP, before_sleep, NULL))
        rc = FFDB_ENOMEM;
    if (rc) {
        if (!err[0])
            snprintf(err, err_len, "%s", natsbus_strerror(rc));
        crdt_sync_close(y);
        return rc;
    }
    n->sync = g_sync = y;
    return 0;
}

void crdt_sync_close(crdt_sync *y)
{
    if (!y)
        return;
    if (g_sync == y)
        g_sync = NULL;
    net_timer_cancel(y->announce);
    natsbus_close(y->bus); /* pending requests dropped without their callback */
    while (y->reqs) {
        struct req *r = y->reqs;
        y->reqs = r->next;
        free(r);
    }
    free(y->pending);
    free(y->peers);
    free(y->swant);
    free(y);
}
