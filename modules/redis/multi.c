/*
 * multi.c — MULTI, EXEC, DISCARD, WATCH, UNWATCH, and the key-change hook
 * that makes WATCH work.
 *
 * The store calls multi_touch_key() for every change of a user key (store.h).
 * Watched keys live in s->watched: "db byte | key" -> the clients watching it;
 * a touch marks each of them CLI_DIRTY_CAS and EXEC then answers a null
 * array. With nobody watching, a touch costs one comparison.
 *
 * EXEC runs the queued commands back to back in the batch's transaction
 * (server.c): nothing of another client runs between them, and an engine
 * failure rolls all of them back with the batch. Errors of single commands
 * inside EXEC are replies in the array, as in Redis.
 *
 * WATCH under a write hook (RAFT cluster). EXEC with writes does not run
 * where it arrives: it becomes a unit that every node applies later, in the
 * log's order, after every unit proposed before it (by this node, or by a
 * former leader whose entries this node has not applied yet). The dirty
 * flag only sees what was applied here up to EXEC; a write proposed earlier
 * and applied after that would slip through. So the check is split in two:
 *
 *   at EXEC (here)   the dirty flag (and expiry): anything applied here
 *                    since WATCH aborts the EXEC before it is proposed;
 *   at apply (every  the unit leads with "@watch", each watched key with
 *   node)            the digest of its value at EXEC (redis_key_digest:
 *                    type, expiry, contents; zeros if absent) taken on
 *                    this node's state. multi_watch_check compares it with
 *                    the key's digest at the unit's place in the log, at
 *                    the unit's clock: a difference answers a null array
 *                    and runs none of the commands.
 *
 * The second check is a function of the log prefix and the unit alone, so
 * every node decides the same way, whoever proposed and whatever it had
 * applied: correct across a leadership change too. A unit proposed by a
 * leader that lost office either never commits (its client gets TRYAGAIN)
 * or commits at one place in the log, where the new leader and everyone
 * else compare the same bytes. Writes between WATCH and EXEC are caught by
 * the first check (any touch, as in Redis), writes proposed before EXEC
 * and applied after it by the second (any change of the value: a write
 * that leaves the value byte for byte as it was is not a change there).
 * The digest costs a read of each watched key's value at EXEC and at apply.
 *
 * CRDT mode: the hook refuses EXEC with writes (MULTI is not replicated),
 * so WATCH guards only an EXEC of reads, and means what it means without a
 * hook: no change of the keys applied on this node (local writes and
 * peers' entries both touch keys when folded) between WATCH and EXEC.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/redis/cmd.h"
#include "modules/redis/redis.h"

static size_t watch_key(char *buf, int db, const void *key, size_t klen)
{
    buf[0] = (char)db;
    memcpy(buf + 1, key, klen);
    return klen + 1;
}

void multi_touch_key(void *server, int db, const void *key, size_t klen)
{
    redis_server *s = server;
    char buf[1 + STORE_MAX_KEY];
    net_dict_entry *e;

    s->stats.dirty++;
    s->stats.dirty_total++;
    if (s->watched.count == 0 || klen > STORE_MAX_KEY)
        return;
    e = net_dict_find(&s->watched, buf, watch_key(buf, db, key, klen));
    if (!e)
        return;
    redis_cvec *v = e->value;
    for (size_t i = 0; i < v->n; i++)
        v->v[i]->flags |= CLI_DIRTY_CAS;
}

static int touch_db_entry(void *arg, net_dict_entry *e)
{
    int db = *(int *)arg;
    redis_cvec *v = e->value;

    if (db < 0 || e->key[0] == (char)db)
        for (size_t i = 0; i < v->n; i++)
            v->v[i]->flags |= CLI_DIRTY_CAS;
    return 0;
}

void multi_touch_db(redis_server *s, int db)
{
    net_dict_each(&s->watched, touch_db_entry, &db);
}

void multi_unwatch_all(redis_server *s, redis_client *c)
{
    char buf[1 + STORE_MAX_KEY];

    for (size_t i = 0; i < c->watched_len; i++) {
        redis_watch *w = &c->watched[i];
        size_t n = watch_key(buf, w->db, w->key, w->klen);
        net_dict_entry *e = net_dict_find(&s->watched, buf, n);
        if (e) {
            redis_cvec *v = e->value;
            cvec_del(v, c);
            if (v->n == 0) {
                free(v->v);
                free(v);
                net_dict_remove(&s->watched, buf, n);
            }
        }
        free(w->key);
    }
    if (c->watched_len)
        s->watching_clients--;
    c->watched_len = 0;
    c->flags &= ~CLI_DIRTY_CAS;
}

void multi_discard(redis_client *c)
{
    for (size_t i = 0; i < c->queue_len; i++)
        free(c->queue[i].mem);
    c->queue_len = 0;
    c->flags &= ~(CLI_MULTI | CLI_DIRTY_EXEC);
}

int multi_queue(redis_server *s, redis_client *c, const resp_command *cmd, int argc,
                const resp_arg *argv)
{
    size_t bytes = (size_t)argc * sizeof(resp_arg);
    redis_queued *q;
    char *p;

    (void)s;
    if (c->queue_len == c->queue_cap) {
        size_t n = c->queue_cap ? c->queue_cap * 2 : 8;
        redis_queued *nq = realloc(c->queue, n * sizeof(*nq));
        if (!nq)
            return -1;
        c->queue = nq;
        c->queue_cap = n;
    }
    for (int i = 0; i < argc; i++)
        bytes += argv[i].n;
    q = &c->queue[c->queue_len];
    q->mem = malloc(bytes ? bytes : 1);
    if (!q->mem)
        return -1;
    q->cmd = cmd;
    q->argc = argc;
    q->argv = (resp_arg *)q->mem;
    p = q->mem + (size_t)argc * sizeof(resp_arg);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i].p, argv[i].n);
        q->argv[i].p = p;
        q->argv[i].n = argv[i].n;
        p += argv[i].n;
    }
    c->queue_len++;
    return 0;
}

/* ---- commands ------------------------------------------------------------------------ */

static int multi_cmd(resp_ctx *c)
{
    if (c->cli->flags & CLI_MULTI) {
        reply_error(c->r, "ERR MULTI calls can not be nested");
        return 0;
    }
    c->cli->flags |= CLI_MULTI;
    reply_ok(c->r);
    return 0;
}

static int discard_cmd(resp_ctx *c)
{
    if (!(c->cli->flags & CLI_MULTI)) {
        reply_error(c->r, "ERR DISCARD without MULTI");
        return 0;
    }
    multi_discard(c->cli);
    multi_unwatch_all(c->srv, c->cli);
    reply_ok(c->r);
    return 0;
}

/* A watched key that was live at WATCH and has expired since counts as
 * changed (Redis does the same): its expiry is a change nobody touched. */
static int watched_key_expired(resp_ctx *c)
{
    redis_client *cli = c->cli;

    for (size_t i = 0; i < cli->watched_len; i++) {
        redis_watch *w = &cli->watched[i];
        if (!w->expired_at_watch && store_key_expired(c->srv->st, w->db, w->key, w->klen) == 1)
            return 1;
    }
    return 0;
}

#define WATCH_LEAD "@watch"

/* The "@watch" command leading an EXEC unit: "@watch" then, per watched
 * key, (db byte | key) and its REDIS_KEY_DIGEST bytes now. One block
 * (*mem, the caller frees it) holds the arguments and their bytes. */
static int watch_lead(resp_ctx *c, redis_cmdv *v, char **mem)
{
    redis_client *cli = c->cli;
    size_t argc = 1 + 2 * cli->watched_len, bytes = argc * sizeof(resp_arg);
    resp_arg *a;
    char *p;

    for (size_t i = 0; i < cli->watched_len; i++)
        bytes += 1 + cli->watched[i].klen + REDIS_KEY_DIGEST;
    *mem = malloc(bytes);
    if (!*mem)
        return FFDB_ENOMEM;
    a = (resp_arg *)*mem;
    p = *mem + argc * sizeof(resp_arg);
    a[0].p = WATCH_LEAD;
    a[0].n = sizeof WATCH_LEAD - 1;
    for (size_t i = 0; i < cli->watched_len; i++) {
        redis_watch *w = &cli->watched[i];
        a[1 + 2 * i].p = p;
        a[1 + 2 * i].n = watch_key(p, w->db, w->key, w->klen);
        p += a[1 + 2 * i].n;
        int rc = redis_key_digest(c->srv->st, w->db, w->key, w->klen, (uint8_t *)p);
        if (rc)
            return rc;
        a[2 + 2 * i].p = p;
        a[2 + 2 * i].n = REDIS_KEY_DIGEST;
        p += REDIS_KEY_DIGEST;
    }
    v->argc = (int)argc;
    v->argv = a;
    return 0;
}

int multi_watch_check(redis_server *s, const redis_unit *u)
{
    const redis_cmdv *v = u->ncmds > 0 ? &u->cmds[0] : NULL;
    uint8_t d[REDIS_KEY_DIGEST];

    if (!u->multi || !v || v->argc < 1 || !resp_arg_is(&v->argv[0], WATCH_LEAD))
        return 0;
    if (v->argc % 2 == 0)
        return 2; /* malformed: the same on every node */
    store_txn_set_now(s->st, u->now_ms);
    for (int i = 1; i < v->argc; i += 2) {
        const resp_arg *k = &v->argv[i], *want = &v->argv[i + 1];
        if (k->n < 1 || (uint8_t)k->p[0] >= STORE_DBS || want->n != REDIS_KEY_DIGEST)
            return 2;
        int rc = redis_key_digest(s->st, (uint8_t)k->p[0], k->p + 1, k->n - 1, d);
        if (rc)
            return rc;
        if (memcmp(d, want->p, REDIS_KEY_DIGEST) != 0)
            return 2;
    }
    return 1;
}

static int exec_cmd(resp_ctx *c)
{
    redis_client *cli = c->cli;
    unsigned need = 0;
    int rc = 0;

    if (!(cli->flags & CLI_MULTI)) {
        reply_error(c->r, "ERR EXEC without MULTI");
        return 0;
    }
    if (cli->flags & CLI_DIRTY_EXEC) {
        multi_discard(cli);
        multi_unwatch_all(c->srv, cli);
        reply_error(c->r, "EXECABORT Transaction discarded because of previous errors.");
        return 0;
    }
    for (size_t i = 0; i < cli->queue_len; i++)
        need |= cli->queue[i].cmd->flags;
    if (need & RESP_CMD_WRITE || cli->watched_len)
        rc = server_need_txn(c->srv, (need & RESP_CMD_WRITE) != 0);
    else if (need & RESP_CMD_READONLY)
        rc = server_need_txn(c->srv, 0);
    if (rc)
        return rc;
    if (cli->watched_len) {
        store_txn_set_now(c->srv->st, c->now_ms);
        if (watched_key_expired(c))
            cli->flags |= CLI_DIRTY_CAS;
    }
    if (cli->flags & CLI_DIRTY_CAS) {
        multi_discard(cli);
        multi_unwatch_all(c->srv, cli);
        reply_null_array(c->r);
        return 0;
    }
    /* Under a hook the digests of the watched keys lead the unit (above). */
    char *lead = NULL;
    int lead_n = c->srv->hook && (need & RESP_CMD_WRITE) && cli->watched_len;
    redis_cmdv lead_v = {0, NULL};
    if (lead_n && (rc = watch_lead(c, &lead_v, &lead)) != 0) {
        free(lead);
        multi_discard(cli);
        multi_unwatch_all(c->srv, cli);
        reply_errorf(c->r, "ERR reading the watched keys: %s", ffdb_strerror(rc));
        return rc == FFDB_ENOMEM ? 0 : rc;
    }
    /* Unwatch first: our own writes must not mark us dirty, and the queue is
     * ours now (the client leaves MULTI before its commands run). */
    multi_unwatch_all(c->srv, cli);
    redis_queued *queue = cli->queue;
    size_t n = cli->queue_len;
    cli->queue = NULL;
    cli->queue_len = cli->queue_cap = 0;
    cli->flags &= ~(CLI_MULTI | CLI_DIRTY_EXEC);
    if (c->srv->hook && (need & RESP_CMD_WRITE)) {
        /* One unit for the hook: it runs when applied, as one EXEC. */
        redis_cmdv *v = malloc((n + 1) * sizeof(*v));
        if (!v) {
            rc = FFDB_ENOMEM;
        } else {
            redis_unit u = {0, cli->db, c->now_ms, 1, (int)n + lead_n, v, 0};
            v[0] = lead_v;
            for (size_t i = 0; i < n; i++) {
                v[lead_n + i].argc = queue[i].argc;
                v[lead_n + i].argv = queue[i].argv;
            }
            server_propose(c->srv, cli, &u);
            free(v);
        }
        free(lead);
        goto out; /* nothing runs here */
    }
    reply_array(c->r, n);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = server_exec_command(c->srv, cli, queue[i].cmd, queue[i].argc, queue[i].argv);
out:
    for (size_t i = 0; i < n; i++)
        free(queue[i].mem);
    free(queue);
    return rc < 0 ? rc : 0;
}

static int watch_cmd(resp_ctx *c)
{
    redis_server *s = c->srv;
    redis_client *cli = c->cli;
    char buf[1 + STORE_MAX_KEY];

    if (cli->flags & CLI_MULTI) {
        reply_error(c->r, "ERR WATCH inside MULTI is not allowed");
        return 0;
    }
    for (int i = 1; i < c->argc; i++) {
        const resp_arg *k = &c->argv[i];
        size_t j, n;
        store_meta m;
        net_dict_entry *e;
        if (k->n > STORE_MAX_KEY)
            continue; /* can never exist, so never change */
        for (j = 0; j < cli->watched_len; j++)
            if (cli->watched[j].db == c->db && cli->watched[j].klen == k->n &&
                memcmp(cli->watched[j].key, k->p, k->n) == 0)
                break;
        if (j < cli->watched_len)
            continue;
        if (cli->watched_len == cli->watched_cap) {
            size_t cap = cli->watched_cap ? cli->watched_cap * 2 : 4;
            redis_watch *w = realloc(cli->watched, cap * sizeof(*w));
            if (!w)
                return FFDB_ENOMEM;
            cli->watched = w;
            cli->watched_cap = cap;
        }
        n = watch_key(buf, c->db, k->p, k->n);
        e = net_dict_upsert(&s->watched, buf, n, NULL);
        if (!e)
            return FFDB_ENOMEM;
        if (!e->value && !(e->value = calloc(1, sizeof(redis_cvec)))) {
            net_dict_remove(&s->watched, buf, n);
            return FFDB_ENOMEM;
        }
        redis_watch *w = &cli->watched[cli->watched_len];
        w->key = malloc(k->n ? k->n : 1);
        if (!w->key || cvec_add(e->value, cli)) {
            free(w->key);
            return FFDB_ENOMEM;
        }
        memcpy(w->key, k->p, k->n);
        w->klen = k->n;
        w->db = c->db;
        w->expired_at_watch = store_lookup(c->st, c->db, k->p, k->n, &m) == FFDB_NOTFOUND;
        if (cli->watched_len++ == 0)
            s->watching_clients++;
    }
    reply_ok(c->r);
    return 0;
}

static int unwatch_cmd(resp_ctx *c)
{
    multi_unwatch_all(c->srv, c->cli);
    reply_ok(c->r);
    return 0;
}

const resp_command redis_cmds_multi[] = {
    {"multi", multi_cmd, 1,
     RESP_CMD_NOSCRIPT | RESP_CMD_LOADING | RESP_CMD_STALE | RESP_CMD_FAST | RESP_CMD_NOMULTI, 0, 0,
     0, "transactions", "Start a transaction"},
    {"exec", exec_cmd, 1, RESP_CMD_NOSCRIPT | RESP_CMD_LOADING | RESP_CMD_STALE | RESP_CMD_NOMULTI,
     0, 0, 0, "transactions", "Execute all commands issued after MULTI"},
    {"discard", discard_cmd, 1,
     RESP_CMD_NOSCRIPT | RESP_CMD_LOADING | RESP_CMD_STALE | RESP_CMD_FAST | RESP_CMD_NOMULTI, 0, 0,
     0, "transactions", "Discard all commands issued after MULTI"},
    {"watch", watch_cmd, -2,
     RESP_CMD_READONLY | RESP_CMD_NOSCRIPT | RESP_CMD_LOADING | RESP_CMD_STALE | RESP_CMD_FAST |
         RESP_CMD_NOMULTI,
     1, -1, 1, "transactions",
     "Watch the given keys to determine execution of the MULTI/EXEC block"},
    {"unwatch", unwatch_cmd, 1,
     RESP_CMD_NOSCRIPT | RESP_CMD_LOADING | RESP_CMD_STALE | RESP_CMD_FAST, 0, 0, 0, "transactions",
     "Forget about all watched keys"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
