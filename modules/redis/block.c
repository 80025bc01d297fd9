/*
 * block.c — clients blocked on keys (the mechanism and invariants K1-K3 are
 * in block.h). The server calls block_touch from the store's touch hook,
 * block_serve_ready after each top-level command, block_client_gone when
 * a connection closes; the blocking commands (cmd_block.c) call
 * redis_block_on. It never runs a command of its own but a blocked
 * client's re-run, through server_exec_command in the batch's txn.
 *
 * The waiters of a key: a dict from db|key to an ordered array of clients
 * (blocking order, K1). Ready keys: a FIFO of db|key copies with a dict so
 * a key is listed once until served.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "modules/redis/block.h"
#include "modules/redis/redis.h"

/* A blocked client's command and keys, copied (its request was consumed). */
struct redis_blocked {
    const resp_command *cmd;
    int argc;
    resp_arg *argv; /* into mem */
    int nkeys;
    resp_arg *keys; /* distinct, into mem */
    char *mem;
    int db;
    int on_timeout; /* REDIS_BLOCK_... */
    int again;      /* set by redis_block_on during a re-run: still nothing */
    net_timer *timer;
    redis_server *srv; /* for the timer */
};

typedef struct waiters {
    redis_client **v;
    size_t n, cap;
} waiters;

struct redis_blocking {
    net_dict keys;  /* db|key -> waiters* */
    net_dict ready; /* db|key -> (unused) */
    char **fifo;    /* ready keys in order: [0..1] db big-endian, then the key */
    size_t *fifo_len;
    size_t fifo_head, fifo_n, fifo_cap;
    uint64_t count;          /* blocked clients */
    const resp_arg *allowed; /* the top-level command's argv (K3) */
    redis_client *rerun;     /* the client whose command runs again */
};

/* db|key as the dicts' key, into buf (cap >= 2 + STORE_MAX_KEY). */
static size_t dbkey(char *buf, int db, const void *key, size_t klen)
{
    assert(klen <= STORE_MAX_KEY);
    buf[0] = (char)(db >> 8);
    buf[1] = (char)db;
    memcpy(buf + 2, key, klen);
    return klen + 2;
}

int block_init(redis_server *s)
{
    s->blocking = calloc(1, sizeof(*s->blocking));
    if (!s->blocking)
        return -1;
    net_dict_init(&s->blocking->keys, 0);
    net_dict_init(&s->blocking->ready, 0);
    return 0;
}

static int free_waiters(void *arg, net_dict_entry *e)
{
    waiters *w = e->value;
    (void)arg;
    free(w->v);
    free(w);
    return 0;
}

void block_free(redis_server *s)
{
    redis_blocking *b = s->blocking;

    if (!b)
        return;
    net_dict_each(&b->keys, free_waiters, NULL);
    net_dict_free(&b->keys);
    net_dict_free(&b->ready);
    for (size_t i = b->fifo_head; i < b->fifo_head + b->fifo_n; i++)
        free(b->fifo[i]);
    free(b->fifo);
    free(b->fifo_len);
    free(b);
    s->blocking = NULL;
}

uint64_t block_count(const redis_server *s)
{
    return s->blocking ? s->blocking->count : 0;
}

void block_allow(redis_server *s, const resp_arg *argv)
{
    s->blocking->allowed = argv;
}

/* ---- the waiters of keys ------------------------------------------------------------------ */

static int waiters_add(redis_blocking *b, const char *k, size_t kn, redis_client *c)
{
    int created;
    net_dict_entry *e = net_dict_upsert(&b->keys, k, kn, &created);
    waiters *w;

    if (!e)
        return -1;
    if (created) {
        e->value = calloc(1, sizeof(waiters));
        if (!e->value) {
            net_dict_remove(&b->keys, k, kn);
            return -1;
        }
    }
    w = e->value;
    if (w->n == w->cap) {
        size_t n = w->cap ? w->cap * 2 : 4;
        redis_client **p = realloc(w->v, n * sizeof(*p));
        if (!p)
            return -1;
        w->v = p;
        w->cap = n;
    }
    w->v[w->n++] = c;
    return 0;
}

/* Keeps the order of the others (first blocked, first served). */
static void waiters_del(redis_blocking *b, const char *k, size_t kn, redis_client *c)
{
    net_dict_entry *e = net_dict_find(&b->keys, k, kn);
    waiters *w;

    if (!e)
        return;
    w = e->value;
    for (size_t i = 0; i < w->n; i++)
        if (w->v[i] == c) {
            memmove(w->v + i, w->v + i + 1, (w->n - i - 1) * sizeof(*w->v));
            w->n--;
            break;
        }
    if (w->n == 0) {
        free(w->v);
        free(w);
        net_dict_remove(&b->keys, k, kn);
    }
}

/* ---- blocking and unblocking ---------------------------------------------------------------- */

static void blocked_free(struct redis_blocked *bl)
{
    free(bl->mem);
    free(bl);
}

/* c waits no more: off every key, timer gone, back to normal service. */
static void unblock(redis_server *s, redis_client *c)
{
    struct redis_blocked *bl = c->blocked;
    char k[2 + STORE_MAX_KEY];

    assert(bl);
    for (int i = 0; i < bl->nkeys; i++)
        waiters_del(s->blocking, k, dbkey(k, bl->db, bl->keys[i].p, bl->keys[i].n), c);
    net_timer_cancel(bl->timer);
    blocked_free(bl);
    c->blocked = NULL;
    assert(s->blocking->count > 0);
    s->blocking->count--;
    server_apply_limits(s, c);
}

static void timeout_reply(resp_reply *r, int kind)
{
    if (kind == REDIS_BLOCK_NULL)
        reply_null(r);
    else
        reply_null_array(r);
}

/* The wait of c ends with reply (the timeout's, or an error); c goes on
 * with what it sent meanwhile. Outside a round the reply is sent now. */
static void finish(redis_server *s, redis_client *c, const char *error)
{
    int kind = c->blocked->on_timeout;

    unblock(s, c);
    net_batch_join(&s->batch, c->conn);
    if (error)
        reply_error(&c->reply, error);
    else
        timeout_reply(&c->reply, kind);
    server_client_ready(s, c);
    if (!s->in_round)
        net_batch_round_end(&s->batch, 0);
}

static void timer_fired(net_timer *t, void *arg)
{
    redis_client *c = arg;

    (void)t;
    assert(c->blocked && c->blocked->timer == t);
    finish(c->blocked->srv, c, NULL);
}

/* A copy of the command argv[0..argc) and its distinct keys
 * argv[first_key..first_key + nkeys), or NULL (out of memory). */
static struct redis_blocked *blocked_new(const resp_ctx *c, int argc, const resp_arg *argv,
                                         int first_key, int nkeys)
{
    struct redis_blocked *bl = calloc(1, sizeof(*bl));
    size_t bytes = 0;
    char *p;

    if (!bl)
        return NULL;
    for (int i = 0; i < argc; i++)
        bytes += argv[i].n;
    bl->mem = malloc(bytes + (size_t)(argc + nkeys) * sizeof(resp_arg) + 1);
    if (!bl->mem) {
        free(bl);
        return NULL;
    }
    bl->argv = (resp_arg *)bl->mem;
    bl->keys = bl->argv + argc;
    p = (char *)(bl->keys + nkeys);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i].p, argv[i].n);
        bl->argv[i].p = p;
        bl->argv[i].n = argv[i].n;
        p += argv[i].n;
    }
    for (int i = first_key; i < first_key + nkeys; i++) { /* each key once */
        int dup = 0;
        for (int j = 0; j < bl->nkeys && !dup; j++)
            dup = bl->keys[j].n == bl->argv[i].n &&
                  memcmp(bl->keys[j].p, bl->argv[i].p, bl->argv[i].n) == 0;
        if (!dup)
            bl->keys[bl->nkeys++] = bl->argv[i];
    }
    bl->cmd = c->cmd;
    bl->argc = argc;
    bl->db = c->db;
    return bl;
}

int redis_block_timeout_arg(resp_ctx *c, const resp_arg *a, int64_t *timeout_ms)
{
    double t;

    if (resp_parse_double(a->p, a->n, &t) || t != t || t > 9.2e15) {
        reply_error(c->r, "ERR timeout is not a float or out of range");
        return 1;
    }
    if (t < 0) {
        reply_error(c->r, "ERR timeout is negative");
        return 1;
    }
    *timeout_ms = (int64_t)(t * 1000.0); /* Redis truncates: 0.0001 s blocks forever */
    return 0;
}

int redis_block_rerun(const resp_ctx *c)
{
    return c->srv->blocking->rerun == c->cli;
}

int redis_block_on(resp_ctx *c, const resp_arg *keys, int nkeys, int64_t timeout_ms, int on_timeout)
{
    assert(nkeys > 0 && keys >= c->argv && keys + nkeys <= c->argv + c->argc);
    return redis_block_on_args(c, c->argc, c->argv, (int)(keys - c->argv), nkeys, timeout_ms,
                               on_timeout);
}

int redis_block_on_args(resp_ctx *c, int argc, const resp_arg *argv, int first_key, int nkeys,
                        int64_t timeout_ms, int on_timeout)
{
    redis_server *s = c->srv;
    redis_blocking *b = s->blocking;
    redis_client *cli = c->cli;
    struct redis_blocked *bl;
    char k[2 + STORE_MAX_KEY];

    assert(nkeys > 0 && first_key >= 0 && first_key + nkeys <= argc);
    if (b->rerun == cli) {
        assert(cli->blocked);
        cli->blocked->again = 1; /* keeps its place on every key */
        return 0;
    }
    if (b->allowed != c->argv || cli->blocked || s->hook) { /* K3 */
        timeout_reply(c->r, on_timeout);
        return 0;
    }
    for (int i = first_key; i < first_key + nkeys; i++)
        if (argv[i].n > STORE_MAX_KEY)
            return redis_store_error(c, STORE_EKEYLEN);
    bl = blocked_new(c, argc, argv, first_key, nkeys);
    if (!bl)
        return FFDB_ENOMEM;
    bl->on_timeout = on_timeout;
    cli->blocked = bl;
    bl->srv = s;
    b->count++;
    for (int i = 0; i < bl->nkeys; i++)
        if (waiters_add(b, k, dbkey(k, bl->db, bl->keys[i].p, bl->keys[i].n), cli)) {
            bl->nkeys = i; /* unblock takes it off the keys it made it to */
            unblock(s, cli);
            return FFDB_ENOMEM;
        }
    if (timeout_ms > 0) {
        bl->timer = net_timer_add(s->loop, timeout_ms, 0, timer_fired, cli);
        if (!bl->timer) {
            unblock(s, cli);
            return FFDB_ENOMEM;
        }
    }
    cli->conn->flags |= NET_CONN_NO_IDLE;  /* Redis spares blocked clients the idle timeout */
    net_batch_leave(&s->batch, cli->conn); /* its reply belongs to a later batch */
    return 0;
}

/* ---- waking ------------------------------------------------------------------------------- */

void block_touch(redis_server *s, int db, const void *key, size_t klen)
{
    redis_blocking *b = s->blocking;
    char k[2 + STORE_MAX_KEY];
    size_t kn;
    int created;

    if (!b || b->count == 0 || klen > STORE_MAX_KEY)
        return;
    kn = dbkey(k, db, key, klen);
    if (!net_dict_find(&b->keys, k, kn) || net_dict_find(&b->ready, k, kn))
        return;
    if (b->fifo_head + b->fifo_n == b->fifo_cap) {
        if (b->fifo_head > 0) { /* slide down before growing */
            memmove(b->fifo, b->fifo + b->fifo_head, b->fifo_n * sizeof(*b->fifo));
            memmove(b->fifo_len, b->fifo_len + b->fifo_head, b->fifo_n * sizeof(*b->fifo_len));
            b->fifo_head = 0;
        }
        if (b->fifo_n == b->fifo_cap) {
            size_t n = b->fifo_cap ? b->fifo_cap * 2 : 16;
            char **f = realloc(b->fifo, n * sizeof(*f));
            if (!f)
                return;
            b->fifo = f;
            size_t *l = realloc(b->fifo_len, n * sizeof(*l));
            if (!l)
                return;
            b->fifo_len = l;
            b->fifo_cap = n;
        }
    }
    char *copy = malloc(kn);
    if (!copy)
        return;
    if (!net_dict_upsert(&b->ready, k, kn, &created)) {
        free(copy);
        return;
    }
    memcpy(copy, k, kn);
    b->fifo[b->fifo_head + b->fifo_n] = copy;
    b->fifo_len[b->fifo_head + b->fifo_n] = kn;
    b->fifo_n++;
}

static int touch_entry(void *arg, net_dict_entry *e)
{
    struct {
        redis_server *s;
        int db;
    } *t = arg;
    int db = ((unsigned char)e->key[0] << 8) | (unsigned char)e->key[1];
    if (t->db < 0 || db == t->db)
        block_touch(t->s, db, e->key + 2, e->klen - 2);
    return 0;
}

void block_touch_db(redis_server *s, int db)
{
    struct {
        redis_server *s;
        int db;
    } t = {s, db};
    if (s->blocking && s->blocking->count)
        net_dict_each(&s->blocking->keys, touch_entry, &t);
}

/* Run c's blocked command again; it is served (any reply) or waits on. */
static void rerun(redis_server *s, redis_client *c)
{
    struct redis_blocked *bl = c->blocked;
    int rc;

    bl->again = 0;
    s->blocking->rerun = c;
    net_batch_join(&s->batch, c->conn);
    rc = server_exec_command(s, c, bl->cmd, bl->argc, bl->argv);
    s->blocking->rerun = NULL;
    if (rc == 0 && bl->again) {
        net_batch_leave(&s->batch, c->conn);
        return;
    }
    unblock(s, c);
    server_client_ready(s, c);
    if (rc < 0)
        net_batch_fail(&s->batch, rc); /* its reply, like the batch's, is the error */
}

/* The clients waiting on one ready key, in blocking order. */
static void serve_key(redis_server *s, const char *k, size_t kn)
{
    net_dict_entry *e = net_dict_find(&s->blocking->keys, k, kn);
    redis_client **snap;
    size_t n;

    if (!e)
        return;
    n = ((waiters *)e->value)->n;
    snap = malloc(n * sizeof(*snap));
    if (!snap)
        return;
    memcpy(snap, ((waiters *)e->value)->v, n * sizeof(*snap));
    for (size_t i = 0; i < n; i++) {
        /* Served or gone meanwhile (a re-run can close nobody, but a failed
         * batch can unblock): still waiting on this key? */
        e = net_dict_find(&s->blocking->keys, k, kn);
        if (!e)
            break;
        waiters *w = e->value;
        int still = 0;
        for (size_t j = 0; j < w->n && !still; j++)
            still = w->v[j] == snap[i];
        if (still && !(snap[i]->conn->flags & NET_CONN_CLOSE_ASAP))
            rerun(s, snap[i]); /* (one closing would take the data to no one) */
    }
    free(snap);
}

void block_serve_ready(redis_server *s)
{
    redis_blocking *b = s->blocking;

    /* A served command may touch more keys (BLMOVE pushes): they join the FIFO. */
    while (b->fifo_n > 0) {
        char *k = b->fifo[b->fifo_head];
        size_t kn = b->fifo_len[b->fifo_head];
        b->fifo_head++;
        b->fifo_n--;
        if (b->fifo_n == 0)
            b->fifo_head = 0;
        net_dict_remove(&b->ready, k, kn);
        serve_key(s, k, kn);
        free(k);
    }
}

void block_client_gone(redis_server *s, redis_client *c)
{
    if (c->blocked)
        unblock(s, c);
}

int block_unblock(redis_server *s, uint64_t id, int error)
{
    for (net_conn *x = s->svc.conns; x; x = x->next) {
        redis_client *c = redis_client_of(x);
        if (x->id != id || !c || !c->blocked)
            continue;
        finish(s, c, error ? "UNBLOCKED client unblocked via CLIENT UNBLOCK" : NULL);
        return 1;
    }
    return 0;
}
