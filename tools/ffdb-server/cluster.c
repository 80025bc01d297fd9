/*
 * cluster.c — ffdb-server's cluster mode (--node N --cluster ...): the
 * redis write hook (modules/redis) wired to a RAFT node (modules/raft).
 *
 *   propose    on the leader: the unit becomes one log entry (raft_apply);
 *              elsewhere -MOVED 0 <leader's RESP address>
 *   apply      every node: the entry's unit runs through
 *              redis_server_apply inside the batch's write txn, which
 *              also records the applied index (R1), committed before the
 *              proposer's client gets its reply
 *   read_gate  the leader waits for a raft_barrier (linearizable reads;
 *              reads arriving while one is in flight share the next);
 *              a follower redirects, or reads locally after READONLY
 *   command    CLUSTER SLOTS/SHARDS/NODES/INFO/MYID/MEET/FORGET,
 *              READONLY, READWRITE, ASKING
 *
 * Entry layout: command 0 is a header, "@unit" with node id, the process
 * nonce and the unit id (so only the proposing process answers a client),
 * db, the unit's clock and its MULTI flag; the unit's commands follow.
 * "@node" entries carry a node's RESP address (a new leader proposes its
 * own; --cluster id@host:raftport/respport seeds them) into the bucket
 * ffdb.raft.nodes, so followers can redirect to the leader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "modules/raft/le.h"
#include "modules/raft/node.h"
#include "tools/ffdb-server/cluster.h"

#define NODES_BUCKET "ffdb.raft.nodes"
#define MAX_NODES 64
#define TICK_MS 20

typedef struct node_addr {
    uint64_t id;
    char resp[RF_ADDR_MAX]; /* "host:port", "" unknown */
} node_addr;

typedef struct waitlist {
    uint64_t *v;
    size_t n, cap;
} waitlist;

struct cluster {
    cluster_config cfg;
    redis_server *s;
    rf_fsm *fsm;
    rf_node *node;
    char path[2100];
    char resp_addr[RF_ADDR_MAX];
    uint64_t nonce;
    node_addr nodes[MAX_NODES];
    size_t nnodes;
    net_timer *tick;
    int leader; /* what the tick saw last */
    struct raft_barrier barrier;
    int barrier_busy;
    waitlist cur, next;
    rf_change change;
    uint64_t applied_units, proposals, entries;
    /* where a write's time goes (INFO): submit -> its entry applied here
     * (the RAFT round: log append + sync here and on a majority, then the
     * apply), and the applies alone (the commands and the ffdb commit) */
    uint64_t rounds, round_us, applies, apply_us;
    /* the entry being gathered: every unit proposed in this loop iteration */
    rf_entry_writer pend;
    int pend_open;
    waitlist pend_ids;
};

typedef struct proposal {
    struct raft_apply req;
    cluster *cl;
    int64_t submit_us;
    size_t n;
    uint64_t ids[]; /* the waiting units of the entry */
} proposal;

/* ---- the address book ------------------------------------------------------------------------ */

static node_addr *node_find(cluster *cl, uint64_t id, int create)
{
    for (size_t i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i].id == id)
            return &cl->nodes[i];
    if (!create || cl->nnodes == MAX_NODES)
        return NULL;
    node_addr *n = &cl->nodes[cl->nnodes++];
    memset(n, 0, sizeof *n);
    n->id = id;
    return n;
}

static void nodes_load(cluster *cl)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_cursor *cur;
    ffdb_val k, v;
    if (ffdb_begin_read(cl->s->db, &txn))
        return;
    if (ffdb_bucket_open(txn, NODES_BUCKET, strlen(NODES_BUCKET), &b) == 0 &&
        ffdb_cursor_open(b, &cur) == 0) {
        for (int rc = ffdb_cursor_first(cur, &k, &v); rc == 0; rc = ffdb_cursor_next(cur, &k, &v)) {
            if (k.size != 8 || v.size >= RF_ADDR_MAX)
                continue;
            node_addr *n = node_find(cl, get_u64(k.data), 1);
            if (n) {
                memcpy(n->resp, v.data, v.size);
                n->resp[v.size] = 0;
            }
        }
        ffdb_cursor_close(cur);
    }
    ffdb_abort(txn);
}

static int nodes_store(ffdb_txn *txn, uint64_t id, const char *addr, size_t len)
{
    ffdb_bucket *b;
    uint8_t k[8];
    int rc = ffdb_bucket_open(txn, NODES_BUCKET, strlen(NODES_BUCKET), &b);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(txn, NODES_BUCKET, strlen(NODES_BUCKET), &b);
    if (rc)
        return rc;
    put_u64(k, id);
    return ffdb_put(b, k, 8, addr, len);
}

/* ---- raft state ------------------------------------------------------------------------------ */

static struct raft *R(cluster *cl)
{
    return rf_node_raft(cl->node);
}

static const struct raft_configuration *conf(cluster *cl);

static int is_leader(cluster *cl)
{
    return cl->node && raft_state(R(cl)) == RAFT_LEADER;
}

static uint64_t leader_id(cluster *cl)
{
    raft_id id = 0;
    const char *addr = NULL;
    if (!cl->node)
        return 0;
    raft_leader(R(cl), &id, &addr);
    return id;
}

/* The leader's RESP address, or NULL. */
static const char *leader_resp(cluster *cl)
{
    uint64_t id = leader_id(cl);
    node_addr *n = id ? node_find(cl, id, 0) : NULL;
    return n && n->resp[0] ? n->resp : NULL;
}

static void redirect(cluster *cl, resp_reply *r)
{
    const char *addr = leader_resp(cl);
    if (addr)
        reply_errorf(r, "MOVED 0 %s", addr);
    else
        reply_error(r, "CLUSTERDOWN The cluster has no leader yet");
}

/* ---- proposing ------------------------------------------------------------------------------- */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void proposal_done(struct raft_apply *req, int status, void *result)
{
    proposal *p = req->data;
    (void)result;
    if (status == 0) {
        p->cl->rounds++;
        p->cl->round_us += (uint64_t)(mono_us() - p->submit_us);
    }
    for (size_t i = 0; status && i < p->n; i++) {
        char msg[256];
        snprintf(msg, sizeof msg, "TRYAGAIN the write may not have happened: %s",
                 raft_strerror(status));
        redis_server_drop(p->cl->s, p->ids[i], msg);
    }
    free(p);
}

static int wl_add(waitlist *w, uint64_t id);

static void add_u64(const char **argv, size_t *lens, uint8_t *mem, int *argc, uint64_t v)
{
    put_u64(mem + 8 * *argc, v);
    argv[*argc] = (const char *)mem + 8 * *argc;
    lens[*argc] = 8;
    (*argc)++;
}

/* Append the unit's commands to w. */
static void add_cmds(rf_entry_writer *w, const redis_unit *u)
{
    for (int i = 0; i < u->ncmds; i++) {
        const redis_cmdv *v = &u->cmds[i];
        const char *argv[64], **av = argv;
        size_t lens[64], *ln = lens;
        if (v->argc > 64) {
            av = malloc(sizeof(*av) * (size_t)v->argc);
            ln = malloc(sizeof(*ln) * (size_t)v->argc);
            if (!av || !ln) {
                free(av == argv ? NULL : av);
                free(ln == lens ? NULL : ln);
                w->err = FFDB_ENOMEM;
                return;
            }
        }
        for (int j = 0; j < v->argc; j++) {
            av[j] = v->argv[j].p;
            ln[j] = v->argv[j].n;
        }
        rf_entry_add(w, v->argc, av, ln);
        if (av != argv) {
            free(av);
            free(ln);
        }
    }
}

/* Hand the finished writer to raft_apply, ids being the units waiting on it.
 * 0 or a RAFT_/FFDB_ code (nothing was proposed; the caller answers them). */
static int submit(cluster *cl, rf_entry_writer *w, const uint64_t *ids, size_t n)
{
    void *buf;
    size_t len;
    int rc = rf_entry_finish(w, &buf, &len);
    if (rc)
        return rc;
    struct raft_buffer b = {raft_malloc(len), len};
    proposal *p = calloc(1, sizeof *p + n * sizeof(uint64_t));
    if (!b.base || !p) {
        raft_free(b.base);
        free(p);
        free(buf);
        return FFDB_ENOMEM;
    }
    memcpy(b.base, buf, len);
    free(buf);
    p->cl = cl;
    p->submit_us = mono_us();
    p->n = n;
    if (n)
        memcpy(p->ids, ids, n * sizeof(uint64_t));
    p->req.data = p;
    rc = raft_apply(R(cl), &p->req, &b, 1, proposal_done);
    if (rc) {
        raft_free(b.base);
        free(p);
    } else {
        cl->entries++;
    }
    return rc;
}

/* A one-command entry of its own (the "@node" announcements). */
static int propose_entry(cluster *cl, int hargc, const char **hargv, size_t *hlens)
{
    rf_entry_writer w;
    rf_entry_begin(&w, R(cl)->current_term);
    rf_entry_add(&w, hargc, hargv, hlens);
    return submit(cl, &w, NULL, 0);
}

/* The gathered entry goes to the log (end of a loop iteration). */
static void flush_pending(cluster *cl)
{
    if (!cl->pend_open)
        return;
    cl->pend_open = 0;
    int rc = is_leader(cl) ? submit(cl, &cl->pend, cl->pend_ids.v, cl->pend_ids.n) : RAFT_NOTLEADER;
    if (rc) {
        if (cl->pend.buf)
            rf_entry_discard(&cl->pend);
        for (size_t i = 0; i < cl->pend_ids.n; i++) {
            char msg[256];
            snprintf(msg, sizeof msg, "TRYAGAIN cannot propose the write: %s",
                     rc < 0 ? ffdb_strerror(rc) : raft_strerror(rc));
            redis_server_drop(cl->s, cl->pend_ids.v[i], msg);
        }
    }
    cl->pend_ids.n = 0;
}

static void before_sleep(net_loop *l, int nevents, void *arg)
{
    (void)l;
    (void)nevents;
    flush_pending(arg);
}

static int hook_propose(void *arg, const redis_unit *u, resp_reply *r)
{
    cluster *cl = arg;
    if (!is_leader(cl)) { /* one redirect per reply the unit owes (a run of pipelined writes) */
        for (int i = 0; r && i < redis_unit_replies(u); i++)
            redirect(cl, r);
        return REDIS_HOOK_REPLIED; /* a follower's sweeper proposes nothing: the leader decides */
    }
    const char *argv[8] = {"@unit"};
    size_t lens[8] = {5};
    uint8_t mem[8 * 8];
    int argc = 1;
    add_u64(argv, lens, mem, &argc, cl->cfg.id);
    add_u64(argv, lens, mem, &argc, cl->nonce);
    add_u64(argv, lens, mem, &argc, u->id);
    add_u64(argv, lens, mem, &argc, (uint64_t)(int64_t)u->db);
    add_u64(argv, lens, mem, &argc, (uint64_t)u->now_ms);
    add_u64(argv, lens, mem, &argc, (uint64_t)u->multi);
    add_u64(argv, lens, mem, &argc, (uint64_t)u->ncmds);
    if (u->id && wl_add(&cl->pend_ids, u->id)) {
        for (int i = 0; r && i < redis_unit_replies(u); i++)
            reply_error(r, "ERR out of memory proposing the command");
        return REDIS_HOOK_REPLIED;
    }
    if (!cl->pend_open) {
        rf_entry_begin(&cl->pend, R(cl)->current_term);
        cl->pend_open = 1;
    }
    rf_entry_add(&cl->pend, argc, argv, lens);
    add_cmds(&cl->pend, u);
    cl->proposals++;
    if (cl->pend.len > (1u << 20))
        flush_pending(cl); /* a big batch goes at once */
    return REDIS_HOOK_TAKEN;
}

/* The leader announces its RESP address (an "@node" entry). */
static void announce(cluster *cl)
{
    const char *argv[3] = {"@node", NULL, cl->resp_addr};
    size_t lens[3] = {5, 8, strlen(cl->resp_addr)};
    uint8_t mem[8];
    put_u64(mem, cl->cfg.id);
    argv[1] = (const char *)mem;
    int rc = propose_entry(cl, 3, argv, lens);
    if (rc)
        redis_log(cl->s, NET_LOG_WARNING, "cluster: cannot announce this node: %s",
                  rc < 0 ? ffdb_strerror(rc) : raft_strerror(rc));
}

/* ---- applying -------------------------------------------------------------------------------- */

/* The batch's write txn with the applied index written, committed by the
 * unit's apply (or here, for entries without a unit). */
static int apply_meta(cluster *cl, uint64_t index, uint64_t term)
{
    redis_server *s = cl->s;
    int rc = net_batch_need_txn(&s->batch, 1);
    if (rc == 0)
        rc = rf_fsm_write_applied(s->batch.txn, index, term);
    if (rc)
        net_batch_fail(&s->batch, rc);
    return rc;
}

/* A write txn of the batch is open (a read txn may be: reads share it). */
static int writing(cluster *cl)
{
    return cl->s->batch.txn && cl->s->batch.txn_write;
}

static int commit_now(cluster *cl)
{
    int rc = net_batch_commit(&cl->s->batch);
    return rc ? rc : cl->s->batch.last_commit_rc;
}

static int apply_entry(void *arg, ffdb_txn *txn_unused, rf_entry_iter *it, uint64_t index,
                       void **result)
{
    cluster *cl = arg;
    rf_cmd cmd;
    (void)txn_unused;
    *result = NULL;
    if (!it) { /* malformed: only the index moves, the same on every node */
        redis_log(cl->s, NET_LOG_WARNING, "cluster: entry %llu is malformed: skipped",
                  (unsigned long long)index);
        return apply_meta(cl, index, rf_fsm_applied_term(cl->fsm)) ?: commit_now(cl);
    }
    int rc = apply_meta(cl, index, it->term);
    if (rc)
        return rc;
    if (rf_entry_next(it, &cmd) != 1 || cmd.argc < 1)
        return commit_now(cl);
    if (cmd.lens[0] == 5 && !memcmp(cmd.argv[0], "@node", 5) && cmd.argc == 3 && cmd.lens[1] == 8 &&
        cmd.lens[2] < RF_ADDR_MAX) {
        uint64_t id = get_u64((const uint8_t *)cmd.argv[1]);
        rc = nodes_store(cl->s->batch.txn, id, cmd.argv[2], cmd.lens[2]);
        if (rc) {
            net_batch_fail(&cl->s->batch, rc);
            return rc;
        }
        rc = commit_now(cl);
        node_addr *n = rc ? NULL : node_find(cl, id, 1);
        if (n) {
            memcpy(n->resp, cmd.argv[2], cmd.lens[2]);
            n->resp[cmd.lens[2]] = 0;
        }
        return rc;
    }
    /* "@unit" groups: header (8 words), then its commands; all the entry's
     * units in one redis_server_apply, one txn. */
    size_t cap = it->left + 1, nu = 0, na = 0;
    redis_unit *units = calloc(cap, sizeof *units);
    redis_cmdv *cmds = calloc(cap, sizeof *cmds);
    resp_arg **args = calloc(cap, sizeof *args);
    rc = units && cmds && args ? 0 : FFDB_ENOMEM;
    int have = 1; /* cmd holds the next header */
    while (rc == 0 && have) {
        if (!(cmd.lens[0] == 5 && !memcmp(cmd.argv[0], "@unit", 5)) || cmd.argc != 8)
            break; /* a header this version does not know: the rest is skipped */
        int ok = 1;
        for (int i = 1; i < 8; i++)
            ok &= cmd.lens[i] == 8;
        if (!ok)
            break;
        const uint8_t *const *h = (const uint8_t *const *)cmd.argv;
        redis_unit *u = &units[nu++];
        uint64_t node = get_u64(h[1]), nonce = get_u64(h[2]), id = get_u64(h[3]);
        u->id = node == cl->cfg.id && nonce == cl->nonce ? id : 0;
        u->db = (int)(int64_t)get_u64(h[4]);
        u->now_ms = (int64_t)get_u64(h[5]);
        u->multi = get_u64(h[6]) != 0;
        uint64_t want = get_u64(h[7]);
        u->cmds = &cmds[na];
        while (rc == 0 && (uint64_t)u->ncmds < want && na < cap) {
            if (rf_entry_next(it, &cmd) != 1)
                break;
            args[na] = malloc(sizeof(resp_arg) * (size_t)cmd.argc);
            if (!args[na]) {
                rc = FFDB_ENOMEM;
                break;
            }
            for (int j = 0; j < cmd.argc; j++) {
                args[na][j].p = cmd.argv[j];
                args[na][j].n = cmd.lens[j];
            }
            cmds[na].argc = cmd.argc;
            cmds[na].argv = args[na];
            na++;
            u->ncmds++;
        }
        if ((uint64_t)u->ncmds != want) {
            nu--; /* short: a malformed unit is not applied */
            break;
        }
        have = rf_entry_next(it, &cmd) == 1;
    }
    if (rc == 0) {
        rc = redis_server_apply(cl->s, units, nu);
        if (rc == 0 && writing(cl))
            rc = commit_now(cl); /* batch-ms left it open: the index must be in the file now */
        else if (rc == 0)
            rc = cl->s->batch.last_commit_rc;
        cl->applied_units += nu;
    } else {
        net_batch_fail(&cl->s->batch, rc);
    }
    for (size_t i = 0; i < na; i++)
        free(args[i]);
    free(args);
    free(cmds);
    free(units);
    return rc;
}

static int hook_apply(void *arg, ffdb_txn *txn, rf_entry_iter *it, uint64_t index, void **result)
{
    cluster *cl = arg;
    int64_t t0 = mono_us();
    int rc = apply_entry(arg, txn, it, index, result);
    cl->applies++;
    cl->apply_us += (uint64_t)(mono_us() - t0);
    return rc;
}

static int hook_flush(void *arg)
{
    cluster *cl = arg;
    return writing(cl) ? commit_now(cl) : 0; /* a snapshot was asked in a round that read */
}

static int do_rename(void *arg)
{
    const char **p = arg;
    return rf_rename_durable(p[0], p[1]);
}

static int hook_replace(void *arg, const char *tmp, const char *path, ffdb **db)
{
    cluster *cl = arg;
    const char *p[2] = {tmp, path};
    if (cl->node) /* NULL: restored inside raft_start, a file behind this node's own snapshot */
        rf_node_abort_dumps(cl->node);
    /* redis_server_replace_data commits the batch first: it must hold a
     * write txn (none, or a read one, is open between rounds) */
    int rc = net_batch_need_txn(&cl->s->batch, 1);
    if (rc == 0)
        rc = redis_server_replace_data(cl->s, do_rename, p);
    *db = cl->s->db;
    if (rc == 0)
        nodes_load(cl);
    redis_log(cl->s, rc ? NET_LOG_WARNING : NET_LOG_NOTICE,
              "cluster: the data file was replaced by a peer's snapshot%s%s", rc ? ": " : "",
              rc ? ffdb_strerror(rc) : "");
    return rc;
}

/* The RAFT address of node id: the configuration's, else the --cluster
 * seed's (at start the configuration may not be loaded yet); NULL if none. */
static const char *raft_address(cluster *cl, uint64_t id)
{
    const char *a = cl->node ? rf_node_address_of(cl->node, id) : NULL;
    for (size_t i = 0; !a && i < cl->cfg.nservers; i++)
        if (cl->cfg.servers[i].id == id)
            a = cl->cfg.servers[i].raft;
    return a;
}

/* Fetch a peer's file for snapshot m: from the leader, the node that took
 * the snapshot, then every other member, never from this node (at start no
 * leader is known yet and the snapshot is often this node's own: its file
 * is the one that is behind, e.g. a --fsync never file that lost commits;
 * asking itself would block its own loop). */
static int hook_fetch(void *arg, const rf_snap_meta *m, const char *tmp)
{
    cluster *cl = arg;
    uint64_t ids[2 + 2 * CLUSTER_MAX_SERVERS];
    size_t n = 0;
    ids[n++] = leader_id(cl);
    ids[n++] = m->node_id;
    for (unsigned i = 0; cl->node && i < conf(cl)->n && i < CLUSTER_MAX_SERVERS; i++)
        ids[n++] = conf(cl)->servers[i].id;
    for (size_t i = 0; i < cl->cfg.nservers; i++)
        ids[n++] = cl->cfg.servers[i].id;
    int rc = FFDB_EIO;
    for (size_t i = 0; i < n && rc; i++) {
        char fa[RF_ADDR_MAX];
        const char *ra = ids[i] && ids[i] != cl->cfg.id ? raft_address(cl, ids[i]) : NULL;
        for (size_t j = 0; ra && j < i; j++)
            ra = ids[j] == ids[i] ? NULL : ra; /* asked already */
        if (!ra || rf_fetch_address(ra, fa, sizeof fa))
            continue;
        rc = rf_fetch_file(fa, tmp, NULL);
        redis_log(cl->s, rc ? NET_LOG_WARNING : NET_LOG_NOTICE,
                  "cluster: fetch of the file at index %llu from node %llu (%s): %s",
                  (unsigned long long)m->index, (unsigned long long)ids[i], fa,
                  rc ? ffdb_strerror(rc) : "ok");
    }
    return rc;
}

/* ---- reads ----------------------------------------------------------------------------------- */

static int wl_add(waitlist *w, uint64_t id)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        uint64_t *v = realloc(w->v, cap * sizeof *v);
        if (!v)
            return -1;
        w->v = v;
        w->cap = cap;
    }
    w->v[w->n++] = id;
    return 0;
}

static void start_barrier(cluster *cl);

static void barrier_done(struct raft_barrier *req, int status)
{
    cluster *cl = req->data;
    cl->barrier_busy = 0;
    for (size_t i = 0; i < cl->cur.n; i++) {
        if (status == 0)
            redis_server_release(cl->s, cl->cur.v[i]);
        else
            redis_server_drop(cl->s, cl->cur.v[i], "TRYAGAIN leadership changed during the read");
    }
    cl->cur.n = 0;
    if (cl->next.n) {
        waitlist t = cl->cur;
        cl->cur = cl->next;
        cl->next = t;
        start_barrier(cl);
    }
}

static void start_barrier(cluster *cl)
{
    cl->barrier.data = cl;
    int rc = raft_barrier(R(cl), &cl->barrier, barrier_done);
    if (rc == 0) {
        cl->barrier_busy = 1;
        return;
    }
    for (size_t i = 0; i < cl->cur.n; i++)
        redis_server_drop(cl->s, cl->cur.v[i], "TRYAGAIN not the leader any more");
    cl->cur.n = 0;
}

static int hook_read_gate(void *arg, const redis_unit *u, resp_reply *r)
{
    cluster *cl = arg;
    if (!is_leader(cl)) {
        if (u->readonly)
            return REDIS_HOOK_RUN; /* READONLY: a stale local read, as on a Redis replica */
        redirect(cl, r);
        return REDIS_HOOK_REPLIED;
    }
    waitlist *w = cl->barrier_busy ? &cl->next : &cl->cur;
    if (wl_add(w, u->id)) {
        reply_error(r, "ERR out of memory waiting to read");
        return REDIS_HOOK_REPLIED;
    }
    if (!cl->barrier_busy)
        start_barrier(cl);
    return REDIS_HOOK_TAKEN;
}

/* ---- CLUSTER --------------------------------------------------------------------------------- */

static void node_name(uint64_t id, char out[41])
{
    snprintf(out, 41, "%040llx", (unsigned long long)id);
}

/* host and port of a node's RESP address (port 0: unknown; host then the RAFT host). */
static void resp_of(cluster *cl, uint64_t id, char *host, size_t cap, int *port)
{
    node_addr *n = node_find(cl, id, 0);
    const char *a = n && n->resp[0] ? n->resp : rf_node_address_of(cl->node, id);
    const char *colon = a ? strrchr(a, ':') : NULL;
    *port = 0;
    snprintf(host, cap, "%s", "127.0.0.1");
    if (colon) {
        snprintf(host, cap, "%.*s", (int)(colon - a), a);
        if (n && n->resp[0])
            *port = atoi(colon + 1);
    }
}

static const struct raft_configuration *conf(cluster *cl)
{
    return &R(cl)->configuration;
}

static void reply_node_triple(cluster *cl, resp_reply *r, uint64_t id)
{
    char host[RF_ADDR_MAX], name[41];
    int port;
    resp_of(cl, id, host, sizeof host, &port);
    node_name(id, name);
    reply_array(r, 3);
    reply_bulk_cstr(r, host);
    reply_int(r, port);
    reply_bulk_cstr(r, name);
}

static void cluster_slots(cluster *cl, resp_reply *r)
{
    uint64_t lid = leader_id(cl);
    const struct raft_configuration *c = conf(cl);
    if (!lid) {
        reply_array(r, 0);
        return;
    }
    size_t n = 0;
    for (unsigned i = 0; i < c->n; i++)
        n += c->servers[i].role == RAFT_VOTER;
    reply_array(r, 1);
    reply_array(r, 2 + (n ? n : 1));
    reply_int(r, 0);
    reply_int(r, 16383);
    reply_node_triple(cl, r, lid);
    for (unsigned i = 0; i < c->n; i++)
        if (c->servers[i].id != lid && c->servers[i].role == RAFT_VOTER)
            reply_node_triple(cl, r, c->servers[i].id);
}

static void cluster_shards(cluster *cl, resp_reply *r)
{
    uint64_t lid = leader_id(cl);
    const struct raft_configuration *c = conf(cl);
    reply_array(r, 1);
    reply_map(r, 2);
    reply_bulk_cstr(r, "slots");
    reply_array(r, 2);
    reply_int(r, 0);
    reply_int(r, 16383);
    reply_bulk_cstr(r, "nodes");
    reply_array(r, c->n);
    for (unsigned i = 0; i < c->n; i++) {
        char host[RF_ADDR_MAX], name[41];
        int port;
        uint64_t id = c->servers[i].id;
        resp_of(cl, id, host, sizeof host, &port);
        node_name(id, name);
        reply_map(r, 7);
        reply_bulk_cstr(r, "id");
        reply_bulk_cstr(r, name);
        reply_bulk_cstr(r, "port");
        reply_int(r, port);
        reply_bulk_cstr(r, "ip");
        reply_bulk_cstr(r, host);
        reply_bulk_cstr(r, "endpoint");
        reply_bulk_cstr(r, host);
        reply_bulk_cstr(r, "role");
        reply_bulk_cstr(r, id == lid ? "master" : "replica");
        reply_bulk_cstr(r, "replication-offset");
        reply_int(r, (int64_t)(id == cl->cfg.id ? raft_last_applied(R(cl)) : 0));
        reply_bulk_cstr(r, "health");
        reply_bulk_cstr(r, "online");
    }
}

static void cluster_nodes(cluster *cl, resp_reply *r)
{
    uint64_t lid = leader_id(cl);
    const struct raft_configuration *c = conf(cl);
    net_buf b;
    char lname[41];
    net_buf_init(&b, 0);
    node_name(lid, lname);
    for (unsigned i = 0; i < c->n; i++) {
        char host[RF_ADDR_MAX], name[41], line[1024];
        int port;
        uint64_t id = c->servers[i].id;
        const char *raddr = c->servers[i].address, *colon = strrchr(raddr, ':');
        resp_of(cl, id, host, sizeof host, &port);
        node_name(id, name);
        int n = snprintf(
            line, sizeof line, "%s %s:%d@%s %s%s %s 0 0 %llu connected%s\n", name, host, port,
            colon ? colon + 1 : "0", id == cl->cfg.id ? "myself," : "",
            id == lid                         ? "master"
            : c->servers[i].role == RAFT_VOTER ? "slave"
                                               : "slave,nofailover",
            id == lid || !lid ? "-" : lname, (unsigned long long)R(cl)->current_term,
            id == lid ? " 0-16383" : "");
        net_buf_append(&b, line, (size_t)n);
    }
    reply_bulk(r, b.data, b.len);
    net_buf_free(&b);
}

static void info_lines(cluster *cl, net_buf *b, int cluster_info)
{
    struct raft *r = R(cl);
    char line[512];
    uint64_t lid = leader_id(cl);
    int leader = raft_state(r) == RAFT_LEADER;
    const char *state = leader                                ? "leader"
                        : raft_state(r) == RAFT_FOLLOWER      ? "follower"
                        : raft_state(r) == RAFT_CANDIDATE     ? "candidate"
                                                              : "unavailable";
#define LINE(...)                                                                                  \
    do {                                                                                           \
        int n_ = snprintf(line, sizeof line, __VA_ARGS__);                                         \
        net_buf_append(b, line, (size_t)n_);                                                       \
    } while (0)
    if (cluster_info) {
        LINE("cluster_enabled:1\r\ncluster_state:%s\r\ncluster_slots_assigned:16384\r\n"
             "cluster_slots_ok:%d\r\ncluster_known_nodes:%u\r\ncluster_size:1\r\n"
             "cluster_current_epoch:%llu\r\ncluster_my_epoch:%llu\r\n",
             lid ? "ok" : "fail", lid ? 16384 : 0, conf(cl)->n,
             (unsigned long long)r->current_term, (unsigned long long)r->current_term);
    } else if (leader) {
        LINE("role:master\r\nconnected_slaves:%u\r\n", conf(cl)->n ? conf(cl)->n - 1 : 0);
    } else {
        char host[RF_ADDR_MAX];
        int port = 0;
        if (lid)
            resp_of(cl, lid, host, sizeof host, &port);
        else
            snprintf(host, sizeof host, "?");
        LINE("role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n", host,
             port, lid ? "up" : "down");
    }
    LINE("raft_node_id:%llu\r\nraft_state:%s\r\nraft_leader_id:%llu\r\nraft_term:%llu\r\n"
         "raft_commit_index:%llu\r\nraft_applied_index:%llu\r\nraft_last_index:%llu\r\n"
         "raft_file_applied_index:%llu\r\nraft_proposals:%llu\r\nraft_proposed_entries:%llu\r\n",
         (unsigned long long)cl->cfg.id, state, (unsigned long long)lid,
         (unsigned long long)r->current_term, (unsigned long long)r->commit_index,
         (unsigned long long)raft_last_applied(r), (unsigned long long)raft_last_index(r),
         (unsigned long long)rf_fsm_applied_index(cl->fsm), (unsigned long long)cl->proposals,
         (unsigned long long)cl->entries);
    LINE("raft_rounds:%llu\r\nraft_round_avg_usec:%llu\r\nraft_applies:%llu\r\n"
         "raft_apply_avg_usec:%llu\r\n",
         (unsigned long long)cl->rounds,
         (unsigned long long)(cl->rounds ? cl->round_us / cl->rounds : 0),
         (unsigned long long)cl->applies,
         (unsigned long long)(cl->applies ? cl->apply_us / cl->applies : 0));
    const struct raft_configuration *c = conf(cl);
    for (unsigned i = 0; i < c->n; i++) {
        uint64_t match = leader ? r->leader_state.progress[i].match_index : 0;
        LINE("raft_peer%u:id=%llu,address=%s,role=%s,match_index=%llu\r\n", i,
             (unsigned long long)c->servers[i].id, c->servers[i].address,
             c->servers[i].role == RAFT_VOTER     ? "voter"
             : c->servers[i].role == RAFT_STANDBY ? "standby"
                                                  : "spare",
             (unsigned long long)match);
    }
#undef LINE
}

static void hook_info(void *arg, net_buf *b)
{
    info_lines(arg, b, 0);
}

static void change_done(rf_change *c, int status)
{
    cluster *cl = c->arg;
    redis_log(cl->s, status ? NET_LOG_WARNING : NET_LOG_NOTICE,
              "cluster: membership change of node %llu: %s", (unsigned long long)c->id,
              status ? raft_strerror(status) : "done");
}

static int parse_u64(const resp_arg *a, uint64_t *v)
{
    char buf[32], *end;
    if (a->n == 0 || a->n >= sizeof buf)
        return -1;
    memcpy(buf, a->p, a->n);
    buf[a->n] = 0;
    *v = strtoull(buf, &end, 10);
    return *end ? -1 : 0;
}

static void membership(cluster *cl, resp_reply *r, int add, int argc, const resp_arg *argv)
{
    uint64_t id, port;
    char addr[RF_ADDR_MAX];
    int rc;
    if (!is_leader(cl)) {
        redirect(cl, r);
        return;
    }
    if (cl->change.busy) {
        reply_error(r, "ERR another membership change is in progress");
        return;
    }
    cl->change.done = change_done;
    cl->change.arg = cl;
    if (add) { /* CLUSTER MEET host raft-port id */
        if (argc != 5 || parse_u64(&argv[3], &port) || parse_u64(&argv[4], &id) || !id ||
            port == 0 || port > 65535 || argv[2].n >= 200) {
            reply_error(r, "ERR usage: CLUSTER MEET <host> <raft-port> <node-id>");
            return;
        }
        snprintf(addr, sizeof addr, "%.*s:%llu", (int)argv[2].n, argv[2].p,
                 (unsigned long long)port);
        struct sockaddr_in sin;
        if (rf_addr_parse(addr, &sin)) {
            reply_error(r, "ERR CLUSTER MEET needs an IPv4 address");
            return;
        }
        rc = rf_member_add(&cl->change, R(cl), id, addr);
    } else { /* CLUSTER FORGET id */
        if (argc != 3 || parse_u64(&argv[2], &id)) {
            reply_error(r, "ERR usage: CLUSTER FORGET <node-id>");
            return;
        }
        rc = rf_member_remove(&cl->change, R(cl), id);
    }
    if (rc)
        reply_errorf(r, "ERR %s", raft_strerror(rc));
    else
        reply_ok(r);
}

static int hook_command(void *arg, redis_client *c, int argc, const resp_arg *argv, resp_reply *r)
{
    cluster *cl = arg;
    if (resp_arg_is(&argv[0], "readonly") && argc == 1) {
        c->flags |= CLI_READONLY;
        reply_ok(r);
        return 1;
    }
    if (resp_arg_is(&argv[0], "readwrite") && argc == 1) {
        c->flags &= ~CLI_READONLY;
        reply_ok(r);
        return 1;
    }
    if (resp_arg_is(&argv[0], "asking") && argc == 1) {
        reply_ok(r);
        return 1;
    }
    if (!resp_arg_is(&argv[0], "cluster"))
        return 0;
    if (argc < 2) {
        reply_error(r, "ERR wrong number of arguments for 'cluster' command");
        return 1;
    }
    const resp_arg *sub = &argv[1];
    if (resp_arg_is(sub, "myid")) {
        char name[41];
        node_name(cl->cfg.id, name);
        reply_bulk_cstr(r, name);
    } else if (resp_arg_is(sub, "slots")) {
        cluster_slots(cl, r);
    } else if (resp_arg_is(sub, "shards")) {
        cluster_shards(cl, r);
    } else if (resp_arg_is(sub, "nodes")) {
        cluster_nodes(cl, r);
    } else if (resp_arg_is(sub, "info")) {
        net_buf b;
        net_buf_init(&b, 0);
        info_lines(cl, &b, 1);
        reply_verbatim(r, b.data, b.len);
        net_buf_free(&b);
    } else if (resp_arg_is(sub, "meet")) {
        membership(cl, r, 1, argc, argv);
    } else if (resp_arg_is(sub, "forget")) {
        membership(cl, r, 0, argc, argv);
    } else if (resp_arg_is(sub, "keyslot") && argc == 3) {
        reply_int(r, 0); /* one shard: every key is served by the leader */
    } else {
        reply_errorf(r, "ERR unknown subcommand '%.*s' of CLUSTER (this is a RAFT cluster: "
                        "SLOTS SHARDS NODES INFO MYID MEET FORGET KEYSLOT)",
                     (int)(sub->n > 64 ? 64 : sub->n), sub->p);
    }
    return 1;
}

/* ---- life ------------------------------------------------------------------------------------ */

static void on_tick(net_timer *t, void *arg)
{
    cluster *cl = arg;
    (void)t;
    int leader = is_leader(cl);
    if (leader && !cl->leader) {
        redis_log(cl->s, NET_LOG_NOTICE, "cluster: node %llu is the leader (term %llu)",
                  (unsigned long long)cl->cfg.id, (unsigned long long)R(cl)->current_term);
        node_addr *me = node_find(cl, cl->cfg.id, 0);
        if (!me || strcmp(me->resp, cl->resp_addr) != 0)
            announce(cl);
        /* the seeds of --cluster id@host:port/respport not yet in the file */
        for (size_t i = 0; i < cl->cfg.nservers; i++) {
            const cluster_server *sv = &cl->cfg.servers[i];
            node_addr *n = node_find(cl, sv->id, 0);
            if (sv->resp[0] && sv->id != cl->cfg.id && (!n || strcmp(n->resp, sv->resp))) {
                const char *av[3] = {"@node", NULL, sv->resp};
                size_t ln[3] = {5, 8, strlen(sv->resp)};
                uint8_t mem[8];
                put_u64(mem, sv->id);
                av[1] = (const char *)mem;
                propose_entry(cl, 3, av, ln);
            }
        }
    }
    cl->leader = leader;
    if (rf_fsm_failed(cl->fsm)) {
        redis_log(cl->s, NET_LOG_WARNING,
                  "cluster: the state machine failed (%s): stopping; a restart replays the log",
                  ffdb_strerror(rf_fsm_failed(cl->fsm)));
        cl->s->exit_code = 1;
        redis_server_stop();
    }
}

static void hook_attach(void *arg, redis_server *s)
{
    cluster *cl = arg;
    const redis_config *rc_ = s->cfg;
    cl->s = s;
    cl->nonce = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ redis_random(s);
    snprintf(cl->resp_addr, sizeof cl->resp_addr, "%s:%d",
             rc_->svc.bind[0][0] && strcmp(rc_->svc.bind[0], "0.0.0.0") ? rc_->svc.bind[0]
                                                                         : "127.0.0.1",
             s->svc.port);
    if (rc_->dir[0] && rc_->datafile[0] != '/')
        snprintf(cl->path, sizeof cl->path, "%s/%s", rc_->dir, rc_->datafile);
    else
        snprintf(cl->path, sizeof cl->path, "%s", rc_->datafile);
    nodes_load(cl);
    for (size_t i = 0; i < cl->cfg.nservers; i++) { /* seeds: known before any entry */
        const cluster_server *sv = &cl->cfg.servers[i];
        node_addr *n = node_find(cl, sv->id, 1);
        if (n && sv->resp[0] && !n->resp[0])
            snprintf(n->resp, sizeof n->resp, "%s", sv->resp);
    }
    rf_fsm_ops ops = {hook_apply, hook_fetch, NULL, cl, hook_flush, hook_replace};
    rf_server servers[CLUSTER_MAX_SERVERS];
    const char *me = NULL;
    for (size_t i = 0; i < cl->cfg.nservers; i++) {
        servers[i].id = cl->cfg.servers[i].id;
        snprintf(servers[i].address, sizeof servers[i].address, "%s", cl->cfg.servers[i].raft);
        if (servers[i].id == cl->cfg.id)
            me = cl->cfg.servers[i].raft;
    }
    rf_node_config nc = {
        .id = cl->cfg.id,
        .dir = rc_->dir[0] ? rc_->dir : ".",
        .address = me,
        .servers = servers,
        .nservers = cl->cfg.join ? 0 : cl->cfg.nservers,
        .election_ms = cl->cfg.election_ms,
        .heartbeat_ms = cl->cfg.election_ms ? cl->cfg.election_ms / 10 : 0,
        .snapshot_threshold = cl->cfg.snapshot_threshold,
        .snapshot_trailing = cl->cfg.snapshot_trailing,
    };
    int rc = rf_fsm_new_on(s->db, cl->path, cl->cfg.id, &ops, &cl->fsm);
    if (rc == 0)
        rc = rf_node_new(s->loop, cl->fsm, &nc, &cl->node);
    if (rc == 0)
        cl->tick = net_timer_add(s->loop, TICK_MS, TICK_MS, on_tick, cl);
    if (rc == 0 && cl->tick && net_hook_add(s->loop, NET_HOOK_BEFORE_SLEEP, before_sleep, cl))
        rc = FFDB_ENOMEM;
    if (rc || !cl->tick) {
        redis_log(s, NET_LOG_WARNING, "cluster: cannot start node %llu at %s: %s",
                  (unsigned long long)cl->cfg.id, me ? me : "?", ffdb_strerror(rc));
        s->exit_code = 1;
        redis_server_stop();
        return;
    }
    redis_log(s, NET_LOG_NOTICE, "cluster: node %llu, RAFT %s, file fetch %s, RESP %s",
              (unsigned long long)cl->cfg.id, me, rf_node_fetch_address(cl->node), cl->resp_addr);
}

static void hook_detach(void *arg, redis_server *s)
{
    cluster *cl = arg;
    (void)s;
    rf_node_free(cl->node); /* the loop has stopped (shutdown) */
    cl->node = NULL;
    rf_fsm_free(cl->fsm);
    cl->fsm = NULL;
}

/* ---- durability ------------------------------------------------------------------------------
 * With --fsync always the RAFT log is the durability point: libraft syncs
 * an entry into the log of a majority before it counts as committed, and
 * the log keeps every entry after the last snapshot. The file is opened
 * with FFDB_DEFERSYNC: its commits sync nothing, so an entry costs one sync
 * (the log's) instead of two. The file is synced where the log stops
 * covering it: before libraft is handed a snapshot (fsm_snapshot, R3: the
 * log behind it may then be truncated) and at shutdown. After a crash or a
 * power loss the file is whole at some commit at or after its last sync;
 * it records its applied index (R1), so the restart replays the log from
 * there (R2). Power loss of every node at once loses no acknowledged
 * write: each node's log holds what its file may lack. */
unsigned cluster_open_flags(const redis_config *cfg)
{
    /* --pipeline-commits (FFDB_NOMETASYNC) excludes it: that mode keeps
     * its own sync per batch */
    return cfg->batch.fsync == NET_FSYNC_ALWAYS && !cfg->batch.pipeline ? FFDB_DEFERSYNC : 0;
}

const redis_hook cluster_hook = {hook_attach,    hook_detach,  hook_propose,
                                 hook_read_gate, hook_command, hook_info};

/* ---- the command line ------------------------------------------------------------------------ */

int cluster_parse(cluster_config *cfg, const char *list, char *err, size_t errlen)
{
    const char *p = list;
    cfg->nservers = 0;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char item[RF_ADDR_MAX * 2], *at, *slash, *e;
        if (n == 0 || n >= sizeof item || cfg->nservers == CLUSTER_MAX_SERVERS) {
            snprintf(err, errlen, "bad --cluster list");
            return -1;
        }
        memcpy(item, p, n);
        item[n] = 0;
        cluster_server *sv = &cfg->servers[cfg->nservers];
        memset(sv, 0, sizeof *sv);
        at = strchr(item, '@');
        if (!at) {
            snprintf(err, errlen, "'%s': expected id@host:port", item);
            return -1;
        }
        *at = 0;
        sv->id = strtoull(item, &e, 10);
        if (*e || sv->id == 0) {
            snprintf(err, errlen, "'%s': the node id must be a number > 0", item);
            return -1;
        }
        slash = strchr(at + 1, '/');
        if (slash) {
            *slash = 0;
            long rp = strtol(slash + 1, &e, 10);
            const char *colon = strrchr(at + 1, ':');
            if (*e || rp <= 0 || rp > 65535 || !colon) {
                snprintf(err, errlen, "'%s': bad RESP port", slash + 1);
                return -1;
            }
            snprintf(sv->resp, sizeof sv->resp, "%.*s:%ld", (int)(colon - (at + 1)), at + 1, rp);
        }
        struct sockaddr_in sin;
        char fa[RF_ADDR_MAX];
        if (rf_addr_parse(at + 1, &sin) || rf_fetch_address(at + 1, fa, sizeof fa)) {
            snprintf(err, errlen, "'%s': expected IPv4 host:port, port <= %d", at + 1,
                     65535 - RF_FETCH_PORT_OFFSET);
            return -1;
        }
        snprintf(sv->raft, sizeof sv->raft, "%s", at + 1);
        for (size_t i = 0; i < cfg->nservers; i++)
            if (cfg->servers[i].id == sv->id) {
                snprintf(err, errlen, "node id %llu appears twice", (unsigned long long)sv->id);
                return -1;
            }
        cfg->nservers++;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int cluster_check(const cluster_config *cfg, char *err, size_t errlen)
{
    if (cfg->id == 0) {
        snprintf(err, errlen, "--cluster needs --node N (this node's id in the list)");
        return -1;
    }
    for (size_t i = 0; i < cfg->nservers; i++)
        if (cfg->servers[i].id == cfg->id)
            return 0;
    snprintf(err, errlen, "node %llu is not in the --cluster list (its RAFT address)",
             (unsigned long long)cfg->id);
    return -1;
}

cluster *cluster_new(const cluster_config *cfg)
{
    cluster *cl = calloc(1, sizeof *cl);
    if (cl)
        cl->cfg = *cfg;
    return cl;
}

void cluster_free(cluster *cl)
{
    if (!cl)
        return;
    free(cl->cur.v);
    free(cl->next.v);
    free(cl->pend_ids.v);
    free(cl);
}
