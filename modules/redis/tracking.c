/*
 * tracking.c — CLIENT TRACKING (client-side caching): the tracking table,
 * the BCAST prefixes, the invalidation messages (semantics and invariants
 * in tracking.h).
 *
 * server.c calls in: tracking_begin/end around every command (exec_at),
 * tracking_touch_key from the store's touch hook (every change of a user
 * key, the sweeper's deletions included), tracking_off when a client goes;
 * FLUSHDB/FLUSHALL call tracking_flush; CLIENT's handler asks
 * tracking_client_cmd first. Nothing here touches the store or a socket:
 * messages go into the clients' reply buffers, sent with their output.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "modules/redis/tracking.h"

enum {
    TK_BCAST = 1u << 0,
    TK_OPTIN = 1u << 1,
    TK_OPTOUT = 1u << 2,
    TK_CACHING = 1u << 3, /* CLIENT CACHING YES (optin) / NO (optout) for the next command */
    TK_NOLOOP = 1u << 4,
    TK_BROKEN = 1u << 5, /* the redirect target closed */
};

#define TK_MAX_PREFIXES 64   /* PREFIX options of one CLIENT TRACKING */
#define TK_MAX_CMD_KEYS 4096 /* keys of one read command remembered */
#define TK_CHANNEL "__redis__:invalidate"

/* c->tracking: present iff c tracks. */
struct redis_tracking_client {
    unsigned flags;   /* TK_... */
    uint64_t redir;   /* REDIRECT id, 0 = none */
    net_dict prefixes; /* BCAST: its prefixes (values unused) */
};

/* The readers of one key: client ids (T3: may be stale). */
typedef struct tk_ids {
    uint64_t *v;
    size_t n, cap;
} tk_ids;

/* One BCAST prefix: its clients and the keys changed under it since the
 * last send (value: the client whose command changed it last, for NOLOOP;
 * compared, never followed). */
typedef struct tk_prefix {
    redis_cvec clients;
    net_dict keys;
} tk_prefix;

/* An invalidation owed to the running command's client (T2): a key, or
 * NULL for a flush. */
typedef struct tk_pending {
    char *key;
    size_t klen;
} tk_pending;

struct redis_tracking {
    net_dict keys;     /* key -> tk_ids* */
    uint64_t items;    /* ids over all keys (INFO tracking_total_items) */
    net_dict prefixes; /* prefix -> tk_prefix* */
    net_dict clients;  /* 8-byte id -> redis_client*: every tracking client */
    redis_client *current; /* the client whose command runs, or NULL */
    int depth;             /* nested commands (EXEC) */
    tk_pending *pend;
    size_t npend, pend_cap;
    int bcast_due; /* some prefix has keys to send */
};

/* Made by the first CLIENT TRACKING ON, inside that command (of c). */
static struct redis_tracking *tables(redis_server *s, redis_client *c)
{
    if (!s->tracking) {
        struct redis_tracking *t = calloc(1, sizeof(*t));
        if (!t)
            return NULL;
        net_dict_init(&t->keys, 0);
        net_dict_init(&t->prefixes, 0);
        net_dict_init(&t->clients, 0);
        t->depth = 1; /* tracking_begin ran before the tables existed */
        t->current = c;
        s->tracking = t;
    }
    return s->tracking;
}

static redis_client *tracking_client(struct redis_tracking *t, uint64_t id)
{
    net_dict_entry *e = net_dict_find(&t->clients, &id, sizeof(id));
    return e ? e->value : NULL;
}

static redis_client *client_by_id(redis_server *s, uint64_t id)
{
    if (s->tracking) {
        redis_client *c = tracking_client(s->tracking, id);
        if (c)
            return c;
    }
    for (net_conn *x = s->svc.conns; x; x = x->next)
        if (x->id == id && x->udata)
            return redis_client_of(x);
    return NULL;
}

/* ---- the messages ------------------------------------------------------------------------ */

/* One invalidation of c: n keys, or all = 1 (a flush: a null), to c or
 * its redirect target, in the form the receiver's protocol allows. */
static void send_message(redis_server *s, redis_client *c, const resp_arg *keys, size_t n, int all)
{
    struct redis_tracking_client *tc = c->tracking;
    redis_client *to = c;

    if (!tc)
        return; /* it turned tracking off before the message was due */
    if (tc->redir) {
        to = client_by_id(s, tc->redir);
        if (!to) {
            tc->flags |= TK_BROKEN;
            if (c->reply.proto == 3) {
                reply_push(&c->reply, 2);
                reply_bulk_cstr(&c->reply, "tracking-redir-broken");
                reply_int(&c->reply, (int64_t)tc->redir);
                net_conn_mark_flush(c->conn);
            }
            return;
        }
    }
    if (to->reply.proto == 3) {
        reply_push(&to->reply, 2);
        reply_bulk_cstr(&to->reply, "invalidate");
    } else if (to != c && pubsub_count(to)) {
        reply_push(&to->reply, 3);
        reply_bulk_cstr(&to->reply, "message");
        reply_bulk_cstr(&to->reply, TK_CHANNEL);
    } else {
        return; /* RESP2 without a subscribed redirect: no way to tell it */
    }
    if (all) {
        reply_null(&to->reply);
    } else {
        reply_array(&to->reply, n);
        for (size_t i = 0; i < n; i++)
            reply_bulk(&to->reply, keys[i].p, keys[i].n);
    }
    net_conn_mark_flush(to->conn);
}

static void send_key(redis_server *s, redis_client *c, const void *key, size_t klen)
{
    resp_arg k = {key, klen};
    send_message(s, c, &k, 1, 0);
}

/* T2: keep it for the end of the running command (key NULL: a flush). */
static void pend_add(struct redis_tracking *t, const void *key, size_t klen)
{
    char *copy = NULL;

    if (t->npend == t->pend_cap) {
        size_t n = t->pend_cap ? t->pend_cap * 2 : 8;
        tk_pending *p = realloc(t->pend, n * sizeof(*p));
        if (!p)
            return; /* out of memory: the message is lost, as a dropped push */
        t->pend = p;
        t->pend_cap = n;
    }
    if (key && !(copy = malloc(klen ? klen : 1)))
        return;
    if (key)
        memcpy(copy, key, klen);
    t->pend[t->npend++] = (tk_pending){copy, klen};
}

static void send_own(redis_server *s, struct redis_tracking *t)
{
    for (size_t i = 0; i < t->npend; i++) {
        if (t->current)
            send_message(s, t->current, &(resp_arg){t->pend[i].key, t->pend[i].klen}, 1,
                         t->pend[i].key == NULL);
        free(t->pend[i].key);
    }
    t->npend = 0;
}

/* ---- BCAST ---------------------------------------------------------------------------------- */

static int key_cmp(const void *a, const void *b)
{
    const resp_arg *x = a, *y = b;
    int d = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
    return d ? d : (x->n > y->n) - (x->n < y->n);
}

typedef struct bcast_walk {
    resp_arg *keys;
    size_t n;
    const redis_client *skip; /* NOLOOP: keys this client changed last are left out */
} bcast_walk;

static int collect_key(void *arg, net_dict_entry *e)
{
    bcast_walk *w = arg;
    if (w->skip && e->value == w->skip)
        return 0;
    w->keys[w->n++] = (resp_arg){e->key, e->klen};
    return 0;
}

/* Every client of prefix p gets the keys changed under it, in byte order
 * (as Redis's radix tree gives them); then p starts empty. */
static void send_prefix(redis_server *s, tk_prefix *p)
{
    resp_arg *keys = malloc(p->keys.count * sizeof(*keys));

    for (size_t i = 0; keys && i < p->clients.n; i++) {
        redis_client *c = p->clients.v[i];
        bcast_walk w = {keys, 0, (c->tracking->flags & TK_NOLOOP) ? c : NULL};
        net_dict_each(&p->keys, collect_key, &w);
        qsort(keys, w.n, sizeof(*keys), key_cmp);
        if (w.n)
            send_message(s, c, keys, w.n, 0);
    }
    free(keys);
    net_dict_free(&p->keys);
    net_dict_init(&p->keys, 0);
}

typedef struct prefix_list {
    net_dict_entry **v;
    size_t n;
} prefix_list;

static int list_prefix(void *arg, net_dict_entry *e)
{
    prefix_list *l = arg;
    if (((tk_prefix *)e->value)->keys.count)
        l->v[l->n++] = e;
    return 0;
}

static int prefix_cmp(const void *a, const void *b)
{
    const net_dict_entry *x = *(net_dict_entry *const *)a, *y = *(net_dict_entry *const *)b;
    return key_cmp(&(resp_arg){x->key, x->klen}, &(resp_arg){y->key, y->klen});
}

/* The prefixes with keys, in byte order (Redis's order). */
void tracking_send_pending(redis_server *s)
{
    struct redis_tracking *t = s->tracking;
    prefix_list l = {NULL, 0};

    if (!t || !t->bcast_due)
        return;
    t->bcast_due = 0;
    if (!(l.v = malloc(t->prefixes.count * sizeof(*l.v))))
        return;
    net_dict_each(&t->prefixes, list_prefix, &l);
    qsort(l.v, l.n, sizeof(*l.v), prefix_cmp);
    for (size_t i = 0; i < l.n; i++)
        send_prefix(s, l.v[i]->value);
    free(l.v);
}

typedef struct bcast_key {
    struct redis_tracking *t;
    const void *key;
    size_t klen;
} bcast_key;

static int note_prefix_key(void *arg, net_dict_entry *e)
{
    bcast_key *b = arg;
    tk_prefix *p = e->value;
    net_dict_entry *k;

    if (e->klen > b->klen || memcmp(e->key, b->key, e->klen) != 0)
        return 0;
    k = net_dict_upsert(&p->keys, b->key, b->klen, NULL);
    if (k) {
        k->value = b->t->current;
        b->t->bcast_due = 1;
    }
    return 0;
}

/* ---- the table ------------------------------------------------------------------------------ */

static void ids_free(tk_ids *ids)
{
    if (ids)
        free(ids->v);
    free(ids);
}

/* Key changed (bcast = 1) or dropped from the table (T1: bcast = 0): its
 * readers are told and the key is forgotten. */
static void invalidate_key(redis_server *s, const void *key, size_t klen, int bcast)
{
    struct redis_tracking *t = s->tracking;
    net_dict_entry *e;
    tk_ids *ids;

    if (bcast && t->prefixes.count) {
        bcast_key b = {t, key, klen};
        net_dict_each(&t->prefixes, note_prefix_key, &b);
    }
    if (!(e = net_dict_find(&t->keys, key, klen)))
        return;
    ids = e->value;
    for (size_t i = 0; i < ids->n; i++) {
        redis_client *c = tracking_client(t, ids->v[i]);
        if (!c || (c->tracking->flags & TK_BCAST) ||
            ((c->tracking->flags & TK_NOLOOP) && c == t->current))
            continue; /* T3 */
        if (c == t->current && t->depth > 0)
            pend_add(t, key, klen); /* T2 */
        else
            send_key(s, c, key, klen);
    }
    assert(t->items >= ids->n);
    t->items -= ids->n;
    ids_free(ids);
    net_dict_remove(&t->keys, key, klen);
}

void tracking_touch_key(redis_server *s, const void *key, size_t klen)
{
    if (s->tracking && (s->tracking->keys.count || s->tracking->prefixes.count))
        invalidate_key(s, key, klen, 1);
}

static int flush_client(void *arg, net_dict_entry *e)
{
    redis_server *s = arg;
    redis_client *c = e->value;

    if (c == s->tracking->current && s->tracking->depth > 0)
        pend_add(s->tracking, NULL, 0);
    else
        send_message(s, c, NULL, 0, 1);
    return 0;
}

static int free_ids_entry(void *arg, net_dict_entry *e)
{
    (void)arg;
    ids_free(e->value);
    return 0;
}

void tracking_flush(redis_server *s)
{
    struct redis_tracking *t = s->tracking;

    if (!t)
        return;
    net_dict_each(&t->clients, flush_client, s);
    net_dict_each(&t->keys, free_ids_entry, NULL);
    net_dict_free(&t->keys);
    net_dict_init(&t->keys, 0);
    t->items = 0;
}

/* c read key: remember it (tk_ids keeps an id once). */
static void remember(struct redis_tracking *t, redis_client *c, const resp_arg *key)
{
    net_dict_entry *e = net_dict_upsert(&t->keys, key->p, key->n, NULL);
    tk_ids *ids;
    uint64_t id = c->conn->id;

    if (!e)
        return;
    if (!e->value && !(e->value = calloc(1, sizeof(tk_ids)))) {
        net_dict_remove(&t->keys, key->p, key->n);
        return;
    }
    ids = e->value;
    for (size_t i = 0; i < ids->n; i++)
        if (ids->v[i] == id)
            return;
    if (ids->n == ids->cap) {
        size_t n = ids->cap ? ids->cap * 2 : 2;
        uint64_t *v = realloc(ids->v, n * sizeof(*v));
        if (!v)
            return;
        ids->v = v;
        ids->cap = n;
    }
    ids->v[ids->n++] = id;
    t->items++;
}

typedef struct victims {
    resp_arg *keys;
    size_t n, want;
} victims;

static int pick_victim(void *arg, net_dict_entry *e)
{
    victims *v = arg;
    v->keys[v->n].p = malloc(e->klen ? e->klen : 1);
    if (!v->keys[v->n].p)
        return 1;
    memcpy((char *)v->keys[v->n].p, e->key, e->klen);
    v->keys[v->n].n = e->klen;
    return ++v->n == v->want;
}

/* T1: drop keys past the limit, each with an invalidation (Redis picks
 * them at random; here the hash order, as arbitrary). */
static void limit_table(redis_server *s)
{
    struct redis_tracking *t = s->tracking;
    size_t max = (size_t)s->cfg->tracking_max_keys;
    victims v = {NULL, 0, 0};

    if (max == 0 || t->keys.count <= max)
        return;
    v.want = t->keys.count - max;
    if (!(v.keys = malloc(v.want * sizeof(*v.keys))))
        return;
    net_dict_each(&t->keys, pick_victim, &v);
    for (size_t i = 0; i < v.n; i++) {
        invalidate_key(s, v.keys[i].p, v.keys[i].n, 0);
        free((void *)v.keys[i].p);
    }
    free(v.keys);
}

/* ---- around commands ------------------------------------------------------------------------ */

void tracking_begin(redis_server *s, redis_client *c)
{
    struct redis_tracking *t = s->tracking;

    if (!t)
        return;
    if (t->depth++ == 0) {
        t->current = c;
        limit_table(s);
    }
}

/* The keys of a read-only command of c, as Redis remembers them (OPTIN:
 * only after CACHING YES; OPTOUT: unless CACHING NO). */
static void remember_command(redis_server *s, redis_client *c, const resp_command *cmd, int argc,
                             const resp_arg *argv)
{
    struct redis_tracking_client *tc = c->tracking;
    int pos[64], n;

    if (!(cmd->flags & RESP_CMD_READONLY) || (cmd->flags & RESP_CMD_PUBSUB) ||
        (tc->flags & TK_BCAST))
        return;
    if (((tc->flags & TK_OPTIN) && !(tc->flags & TK_CACHING)) ||
        ((tc->flags & TK_OPTOUT) && (tc->flags & TK_CACHING)))
        return;
    if (strcmp(cmd->name, "eval_ro") == 0 || strcmp(cmd->name, "evalsha_ro") == 0 ||
        strcmp(cmd->name, "fcall_ro") == 0)
        return; /* Redis: a script's keys count only through its reads */
    for (int from = 0; from < TK_MAX_CMD_KEYS;) {
        n = redis_command_key_positions(cmd, argc, argv, from, pos, 64);
        for (int i = 0; i < n; i++)
            remember(s->tracking, c, &argv[pos[i]]);
        if (n < 64)
            break;
        from += n;
    }
}

void tracking_end(redis_server *s, redis_client *c, const resp_command *cmd, int argc,
                  const resp_arg *argv, int rc)
{
    struct redis_tracking *t = s->tracking;

    if (!t)
        return;
    assert(t->depth > 0);
    if (rc == 0 && c->tracking)
        remember_command(s, c, cmd, argc, argv);
    if (--t->depth > 0)
        return;
    send_own(s, t);
    tracking_send_pending(s);
    if (c->tracking && !(c->flags & CLI_MULTI) && strcmp(cmd->name, "client") != 0)
        c->tracking->flags &= ~TK_CACHING; /* CACHING covers the next command or EXEC */
    t->current = NULL;
}

/* ---- on and off ------------------------------------------------------------------------------ */

typedef struct client_ref {
    redis_server *s;
    redis_client *c;
} client_ref;

/* c leaves prefix e (of its own dict); the last client frees it. */
static int unlist_prefix(void *arg, net_dict_entry *e)
{
    client_ref *r = arg;
    struct redis_tracking *t = r->s->tracking;
    net_dict_entry *pe = net_dict_find(&t->prefixes, e->key, e->klen);
    tk_prefix *p;

    assert(pe);
    p = pe->value;
    cvec_del(&p->clients, r->c);
    if (p->clients.n == 0) {
        free(p->clients.v);
        net_dict_free(&p->keys);
        free(p);
        net_dict_remove(&t->prefixes, e->key, e->klen);
    }
    return 0;
}

void tracking_off(redis_server *s, redis_client *c)
{
    struct redis_tracking_client *tc = c->tracking;
    uint64_t id = c->conn->id;
    client_ref r = {s, c};

    if (!tc)
        return;
    net_dict_each(&tc->prefixes, unlist_prefix, &r);
    net_dict_free(&tc->prefixes);
    net_dict_remove(&s->tracking->clients, &id, sizeof(id));
    if (s->tracking->current == c)
        s->tracking->current = NULL; /* what it was owed is dropped with it */
    free(tc);
    c->tracking = NULL;
}

/* c is told of every change under prefix (BCAST). 0 or FFDB_ENOMEM. */
static int add_prefix(redis_server *s, redis_client *c, const resp_arg *prefix)
{
    struct redis_tracking *t = s->tracking;
    net_dict_entry *e;

    if (net_dict_find(&c->tracking->prefixes, prefix->p, prefix->n))
        return 0;
    if (!(e = net_dict_upsert(&t->prefixes, prefix->p, prefix->n, NULL)))
        return FFDB_ENOMEM;
    if (!e->value) {
        tk_prefix *p = calloc(1, sizeof(*p));
        if (!p) {
            net_dict_remove(&t->prefixes, prefix->p, prefix->n);
            return FFDB_ENOMEM;
        }
        net_dict_init(&p->keys, 0);
        e->value = p;
    }
    if (cvec_add(&((tk_prefix *)e->value)->clients, c))
        return FFDB_ENOMEM;
    if (!net_dict_upsert(&c->tracking->prefixes, prefix->p, prefix->n, NULL)) {
        cvec_del(&((tk_prefix *)e->value)->clients, c);
        return FFDB_ENOMEM;
    }
    return 0;
}

/* The options of CLIENT TRACKING ON|OFF, parsed. */
typedef struct tk_opts {
    unsigned flags;
    int64_t redir;
    resp_arg prefixes[TK_MAX_PREFIXES];
    int nprefix;
} tk_opts;

/* 0, or -1 with the error replied (Redis's wording and order). */
static int parse_options(resp_ctx *c, tk_opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int j = 3; j < c->argc; j++) {
        const resp_arg *a = &c->argv[j];
        int more = c->argc - 1 - j;
        if (resp_arg_is(a, "redirect") && more) {
            if (o->redir != 0) {
                reply_error(c->r, "ERR A client can only redirect to a single other client");
                return -1;
            }
            if (resp_arg_i64(c->r, &c->argv[++j], &o->redir))
                return -1;
            if (o->redir <= 0 || !client_by_id(c->srv, (uint64_t)o->redir)) {
                reply_error(c->r, "ERR The client ID you want redirect to does not exist");
                return -1;
            }
        } else if (resp_arg_is(a, "bcast")) {
            o->flags |= TK_BCAST;
        } else if (resp_arg_is(a, "optin")) {
            o->flags |= TK_OPTIN;
        } else if (resp_arg_is(a, "optout")) {
            o->flags |= TK_OPTOUT;
        } else if (resp_arg_is(a, "noloop")) {
            o->flags |= TK_NOLOOP;
        } else if (resp_arg_is(a, "prefix") && more) {
            if (o->nprefix == TK_MAX_PREFIXES) {
                reply_errorf(c->r, "ERR at most %d prefixes in one CLIENT TRACKING",
                             TK_MAX_PREFIXES);
                return -1;
            }
            o->prefixes[o->nprefix++] = c->argv[++j];
        } else {
            resp_err_syntax(c->r);
            return -1;
        }
    }
    return 0;
}

static int overlaps(const resp_arg *a, const void *b, size_t bn)
{
    return memcmp(a->p, b, a->n < bn ? a->n : bn) == 0;
}

typedef struct overlap_walk {
    const resp_arg *prefix;
    const net_dict_entry *hit;
} overlap_walk;

static int find_overlap(void *arg, net_dict_entry *e)
{
    overlap_walk *w = arg;
    if (!overlaps(w->prefix, e->key, e->klen))
        return 0;
    w->hit = e;
    return 1;
}

/* Redis's checks before ON, in its order: 0, or -1 with the error replied. */
static int check_on(resp_ctx *c, const tk_opts *o)
{
    const struct redis_tracking_client *tc = c->cli->tracking;
    unsigned f = o->flags;

    if (!(f & TK_BCAST) && o->nprefix) {
        reply_error(c->r, "ERR PREFIX option requires BCAST mode to be enabled");
        return -1;
    }
    if (tc && !(tc->flags & TK_BCAST) != !(f & TK_BCAST)) {
        reply_error(c->r, "ERR You can't switch BCAST mode on/off before disabling tracking for "
                          "this client, and then re-enabling it with a different mode.");
        return -1;
    }
    if ((f & TK_BCAST) && (f & (TK_OPTIN | TK_OPTOUT))) {
        reply_error(c->r, "ERR OPTIN and OPTOUT are not compatible with BCAST");
        return -1;
    }
    if ((f & TK_OPTIN) && (f & TK_OPTOUT)) {
        reply_error(c->r, "ERR You can't specify both OPTIN mode and OPTOUT mode");
        return -1;
    }
    if (tc && (((f & TK_OPTIN) && (tc->flags & TK_OPTOUT)) ||
               ((f & TK_OPTOUT) && (tc->flags & TK_OPTIN)))) {
        reply_error(c->r, "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for "
                          "this client, and then re-enabling it with a different mode.");
        return -1;
    }
    for (int i = 0; (f & TK_BCAST) && i < o->nprefix; i++) {
        overlap_walk w = {&o->prefixes[i], NULL};
        if (tc && net_dict_each(&tc->prefixes, find_overlap, &w)) {
            reply_errorf(c->r,
                         "ERR Prefix '%.*s' overlaps with an existing prefix '%.*s'. Prefixes "
                         "for a single client must not overlap.",
                         (int)o->prefixes[i].n, o->prefixes[i].p, (int)w.hit->klen, w.hit->key);
            return -1;
        }
        for (int j = i + 1; j < o->nprefix; j++)
            if (overlaps(&o->prefixes[i], o->prefixes[j].p, o->prefixes[j].n)) {
                reply_errorf(c->r,
                             "ERR Prefix '%.*s' overlaps with another provided prefix '%.*s'. "
                             "Prefixes for a single client must not overlap.",
                             (int)o->prefixes[i].n, o->prefixes[i].p, (int)o->prefixes[j].n,
                             o->prefixes[j].p);
                return -1;
            }
    }
    return 0;
}

static int tracking_on(resp_ctx *c, const tk_opts *o)
{
    redis_client *cli = c->cli;
    struct redis_tracking *t = tables(c->srv, c->cli);
    uint64_t id = cli->conn->id;
    net_dict_entry *e;

    if (!t)
        return FFDB_ENOMEM;
    if (!cli->tracking) {
        if (!(cli->tracking = calloc(1, sizeof(*cli->tracking))))
            return FFDB_ENOMEM;
        net_dict_init(&cli->tracking->prefixes, 0);
        if (!(e = net_dict_upsert(&t->clients, &id, sizeof(id), NULL))) {
            free(cli->tracking);
            cli->tracking = NULL;
            return FFDB_ENOMEM;
        }
        e->value = cli;
    }
    cli->tracking->flags = (cli->tracking->flags & TK_CACHING) | o->flags;
    cli->tracking->redir = (uint64_t)o->redir;
    if (o->flags & TK_BCAST) {
        static const resp_arg every = {"", 0};
        if (o->nprefix == 0 && add_prefix(c->srv, cli, &every))
            return FFDB_ENOMEM;
        for (int i = 0; i < o->nprefix; i++)
            if (add_prefix(c->srv, cli, &o->prefixes[i]))
                return FFDB_ENOMEM;
    }
    return 0;
}

static int tracking_cmd(resp_ctx *c)
{
    tk_opts *o = malloc(sizeof(*o));
    int rc = 0;

    if (!o)
        return FFDB_ENOMEM;
    if (parse_options(c, o))
        goto done;
    if (resp_arg_is(&c->argv[2], "on")) {
        if (check_on(c, o))
            goto done;
        if ((rc = tracking_on(c, o)))
            goto done;
    } else if (resp_arg_is(&c->argv[2], "off")) {
        tracking_off(c->srv, c->cli);
    } else {
        resp_err_syntax(c->r);
        goto done;
    }
    reply_ok(c->r);
done:
    free(o);
    return rc;
}

static int caching_cmd(resp_ctx *c)
{
    struct redis_tracking_client *tc = c->cli->tracking;

    if (!tc) {
        reply_error(c->r, "ERR CLIENT CACHING can be called only when the client is in tracking "
                          "mode with OPTIN or OPTOUT mode enabled");
    } else if (resp_arg_is(&c->argv[2], "yes")) {
        if (!(tc->flags & TK_OPTIN)) {
            reply_error(c->r, "ERR CLIENT CACHING YES is only valid when tracking is enabled in "
                              "OPTIN mode.");
            return 0;
        }
        tc->flags |= TK_CACHING;
        reply_ok(c->r);
    } else if (resp_arg_is(&c->argv[2], "no")) {
        if (!(tc->flags & TK_OPTOUT)) {
            reply_error(c->r, "ERR CLIENT CACHING NO is only valid when tracking is enabled in "
                              "OPTOUT mode.");
            return 0;
        }
        tc->flags |= TK_CACHING;
        reply_ok(c->r);
    } else {
        resp_err_syntax(c->r);
    }
    return 0;
}

static int reply_prefix(void *arg, net_dict_entry *e)
{
    reply_bulk(arg, e->key, e->klen);
    return 0;
}

static void trackinginfo_cmd(resp_ctx *c)
{
    const struct redis_tracking_client *tc = c->cli->tracking;
    unsigned f = tc ? tc->flags : 0;
    static const struct {
        unsigned need, flag;
        const char *name;
    } names[] = {{0, TK_BCAST, "bcast"},
                 {0, TK_OPTIN, "optin"},
                 {TK_OPTIN, TK_CACHING, "caching-yes"},
                 {0, TK_OPTOUT, "optout"},
                 {TK_OPTOUT, TK_CACHING, "caching-no"},
                 {0, TK_NOLOOP, "noloop"},
                 {0, TK_BROKEN, "broken_redirect"}};
    size_t n = 1;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        n += (f & names[i].flag) && (f & names[i].need) == names[i].need;
    reply_map(c->r, 3);
    reply_bulk_cstr(c->r, "flags");
    reply_set(c->r, n);
    reply_bulk_cstr(c->r, tc ? "on" : "off");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if ((f & names[i].flag) && (f & names[i].need) == names[i].need)
            reply_bulk_cstr(c->r, names[i].name);
    reply_bulk_cstr(c->r, "redirect");
    reply_int(c->r, tc ? (int64_t)tc->redir : -1);
    reply_bulk_cstr(c->r, "prefixes");
    reply_array(c->r, tc ? tc->prefixes.count : 0);
    if (tc)
        net_dict_each(&tc->prefixes, reply_prefix, c->r);
}

int tracking_client_cmd(resp_ctx *c)
{
    const resp_arg *sub = &c->argv[1];

    if (resp_arg_is(sub, "tracking") && c->argc >= 3)
        return tracking_cmd(c) ? FFDB_ENOMEM : 1;
    if (resp_arg_is(sub, "caching") && c->argc >= 3)
        return caching_cmd(c), 1;
    if (resp_arg_is(sub, "getredir") && c->argc == 2) {
        reply_int(c->r, c->cli->tracking ? (int64_t)c->cli->tracking->redir : -1);
        return 1;
    }
    if (resp_arg_is(sub, "trackinginfo") && c->argc == 2)
        return trackinginfo_cmd(c), 1;
    return 0;
}

/* ---- CLIENT LIST, INFO, end ---------------------------------------------------------------- */

int64_t tracking_list_flags(const redis_client *c, char *flags, size_t *n)
{
    const struct redis_tracking_client *tc = c->tracking;

    if (!tc)
        return -1;
    flags[(*n)++] = 't';
    if (tc->flags & TK_BROKEN)
        flags[(*n)++] = 'R';
    if (tc->flags & TK_BCAST)
        flags[(*n)++] = 'B';
    return (int64_t)tc->redir;
}

void tracking_counts(const redis_server *s, tracking_stats *out)
{
    const struct redis_tracking *t = s->tracking;

    memset(out, 0, sizeof(*out));
    if (!t)
        return;
    out->clients = t->clients.count;
    out->keys = t->keys.count;
    out->items = t->items;
    out->prefixes = t->prefixes.count;
}

static int free_prefix_entry(void *arg, net_dict_entry *e)
{
    tk_prefix *p = e->value;
    (void)arg;
    free(p->clients.v);
    net_dict_free(&p->keys);
    free(p);
    return 0;
}

/* After every client closed (tracking_off for each). */
void tracking_free(redis_server *s)
{
    struct redis_tracking *t = s->tracking;

    if (!t)
        return;
    net_dict_each(&t->keys, free_ids_entry, NULL);
    net_dict_free(&t->keys);
    net_dict_each(&t->prefixes, free_prefix_entry, NULL);
    net_dict_free(&t->prefixes);
    net_dict_free(&t->clients);
    for (size_t i = 0; i < t->npend; i++)
        free(t->pend[i].key);
    free(t->pend);
    free(t);
    s->tracking = NULL;
}
