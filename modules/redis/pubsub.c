/*
 * pubsub.c — in-process publish/subscribe: SUBSCRIBE, UNSUBSCRIBE,
 * PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB CHANNELS|NUMSUB|NUMPAT.
 *
 * s->channels and s->patterns map a name to the subscribers (redis.h:
 * redis_subscriber, a message callback) subscribed; each subscriber keeps
 * its own names (sub->chans, sub->pats) so it can leave them all when it
 * goes. A client is one kind: its callback writes push frames (">" in
 * RESP3, "*" in RESP2) into its output, sent at the end of the loop
 * iteration; they never touch the file, so PUBLISH needs no txn and is not
 * held back by the group commit's durability rule (nothing to lose). A
 * bridge (NATS, another node) is another kind, and may observe every local
 * PUBLISH (redis_publish_observe) and inject remote messages with
 * redis_publish(s, itself, ...), which skips it and the observer: no echo.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/redis/redis.h"

/* The server's dicts hold a vector of subscribers per name. */
typedef struct sub_vec {
    redis_subscriber **v;
    size_t n, cap;
} sub_vec;

static int svec_add(sub_vec *v, redis_subscriber *sub)
{
    if (v->n == v->cap) {
        size_t n = v->cap ? v->cap * 2 : 4;
        redis_subscriber **p = realloc(v->v, n * sizeof(*p));
        if (!p)
            return -1;
        v->v = p;
        v->cap = n;
    }
    v->v[v->n++] = sub;
    return 0;
}

static void svec_del(sub_vec *v, redis_subscriber *sub)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->v[i] == sub) {
            v->v[i] = v->v[--v->n];
            return;
        }
}

void redis_subscriber_init(redis_subscriber *sub, const redis_subscriber_ops *ops, void *arg)
{
    sub->ops = ops;
    sub->arg = arg;
    net_dict_init(&sub->chans, 0);
    net_dict_init(&sub->pats, 0);
}

int redis_subscribe(redis_server *s, redis_subscriber *sub, int pattern, const void *name, size_t n)
{
    net_dict *srv = pattern ? &s->patterns : &s->channels;
    net_dict *mine = pattern ? &sub->pats : &sub->chans;
    int created;
    net_dict_entry *e;

    if (net_dict_find(mine, name, n))
        return 0;
    e = net_dict_upsert(srv, name, n, NULL);
    if (!e)
        return FFDB_ENOMEM;
    if (!e->value && !(e->value = calloc(1, sizeof(sub_vec)))) {
        net_dict_remove(srv, name, n);
        return FFDB_ENOMEM;
    }
    if (svec_add(e->value, sub))
        return FFDB_ENOMEM;
    if (!net_dict_upsert(mine, name, n, &created)) {
        svec_del(e->value, sub);
        return FFDB_ENOMEM;
    }
    return 1;
}

int redis_unsubscribe(redis_server *s, redis_subscriber *sub, int pattern, const void *name,
                      size_t n)
{
    net_dict *srv = pattern ? &s->patterns : &s->channels;
    net_dict *mine = pattern ? &sub->pats : &sub->chans;
    net_dict_entry *e;

    if (!net_dict_find(mine, name, n))
        return 0;
    net_dict_remove(mine, name, n);
    e = net_dict_find(srv, name, n);
    if (e) {
        sub_vec *v = e->value;
        svec_del(v, sub);
        if (v->n == 0) {
            free(v->v);
            free(v);
            net_dict_remove(srv, name, n);
        }
    }
    return 1;
}

/* ---- a client as a subscriber -------------------------------------------------------- */

static int64_t client_message(redis_subscriber *sub, const resp_arg *pattern,
                              const resp_arg *channel, const resp_arg *message)
{
    redis_client *c = sub->arg;
    resp_reply *r = &c->reply;

    reply_push(r, pattern ? 4 : 3);
    reply_bulk_cstr(r, pattern ? "pmessage" : "message");
    if (pattern)
        reply_bulk(r, pattern->p, pattern->n);
    reply_bulk(r, channel->p, channel->n);
    reply_bulk(r, message->p, message->n);
    net_conn_mark_flush(c->conn);
    return 1;
}

static const redis_subscriber_ops client_ops = {client_message};

void pubsub_client_init(redis_client *c)
{
    redis_subscriber_init(&c->sub, &client_ops, c);
}

size_t pubsub_count(const redis_client *c)
{
    return c->sub.chans.count + c->sub.pats.count;
}

/* ["subscribe", name, count] and friends. */
static void sub_reply(redis_client *c, const char *kind, const char *name, size_t n)
{
    reply_push(&c->reply, 3);
    reply_bulk_cstr(&c->reply, kind);
    if (name)
        reply_bulk(&c->reply, name, n);
    else
        reply_null(&c->reply);
    reply_int(&c->reply, (int64_t)pubsub_count(c));
}

/* Names of a subscriber's dict, copied (the dict changes while we go through them). */
static int collect(void *arg, net_dict_entry *e)
{
    resp_arg **p = arg;
    char *copy = malloc(e->klen + 1);
    if (!copy)
        return -1;
    memcpy(copy, e->key, e->klen);
    (*p)->p = copy;
    (*p)->n = e->klen;
    (*p)++;
    return 0;
}

/* Leave every name of one kind; each one left is told to c if c is not NULL. */
static void unsub_all(redis_server *s, redis_subscriber *sub, int patterns, redis_client *c)
{
    net_dict *mine = patterns ? &sub->pats : &sub->chans;
    const char *kind = patterns ? "punsubscribe" : "unsubscribe";
    size_t n = mine->count;
    resp_arg *names = calloc(n ? n : 1, sizeof(*names)), *p = names;

    if (!names)
        return;
    net_dict_each(mine, collect, &p);
    for (size_t i = 0; i < (size_t)(p - names); i++) {
        redis_unsubscribe(s, sub, patterns, names[i].p, names[i].n);
        if (c)
            sub_reply(c, kind, names[i].p, names[i].n);
        free((void *)names[i].p);
    }
    free(names);
    if (c && n == 0)
        sub_reply(c, kind, NULL, 0);
}

void redis_unsubscribe_all(redis_server *s, redis_subscriber *sub)
{
    unsub_all(s, sub, 0, NULL);
    unsub_all(s, sub, 1, NULL);
    net_dict_free(&sub->chans);
    net_dict_free(&sub->pats);
}

void pubsub_unsubscribe_all(redis_server *s, redis_client *c)
{
    redis_unsubscribe_all(s, &c->sub);
}

static int subscribe_generic(resp_ctx *c, int patterns)
{
    redis_server *s = c->srv;
    redis_client *cli = c->cli;

    for (int i = 1; i < c->argc; i++) {
        int rc = redis_subscribe(s, &cli->sub, patterns, c->argv[i].p, c->argv[i].n);
        if (rc < 0)
            return rc;
        sub_reply(cli, patterns ? "psubscribe" : "subscribe", c->argv[i].p, c->argv[i].n);
    }
    server_apply_limits(s, cli);
    return 0;
}

static int unsubscribe_generic(resp_ctx *c, int patterns)
{
    redis_server *s = c->srv;
    redis_client *cli = c->cli;

    if (c->argc == 1) {
        unsub_all(s, &cli->sub, patterns, cli);
    } else {
        for (int i = 1; i < c->argc; i++) {
            redis_unsubscribe(s, &cli->sub, patterns, c->argv[i].p, c->argv[i].n);
            sub_reply(cli, patterns ? "punsubscribe" : "unsubscribe", c->argv[i].p, c->argv[i].n);
        }
    }
    server_apply_limits(s, cli);
    return 0;
}

static int subscribe_cmd(resp_ctx *c)
{
    return subscribe_generic(c, 0);
}

static int psubscribe_cmd(resp_ctx *c)
{
    return subscribe_generic(c, 1);
}

static int unsubscribe_cmd(resp_ctx *c)
{
    return unsubscribe_generic(c, 0);
}

static int punsubscribe_cmd(resp_ctx *c)
{
    return unsubscribe_generic(c, 1);
}

struct pmatch {
    redis_subscriber *from;
    const resp_arg *channel, *message;
    int64_t receivers;
};

static void deliver(struct pmatch *pm, sub_vec *v, const resp_arg *pattern)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->v[i] != pm->from)
            pm->receivers += v->v[i]->ops->message(v->v[i], pattern, pm->channel, pm->message);
}

static int publish_pattern(void *arg, net_dict_entry *e)
{
    struct pmatch *pm = arg;
    resp_arg pattern = {e->key, e->klen};

    if (resp_glob_match(e->key, e->klen, pm->channel->p, pm->channel->n, 0))
        deliver(pm, e->value, &pattern);
    return 0;
}

void redis_publish_observe(redis_server *s, redis_publish_fn fn, void *arg)
{
    s->pub_observer = fn;
    s->pub_observer_arg = arg;
}

int64_t redis_publish(redis_server *s, redis_subscriber *from, const resp_arg *channel,
                      const resp_arg *message)
{
    struct pmatch pm = {from, channel, message, 0};
    net_dict_entry *e;

    if (!from && s->replaying && s->pub_observer)
        return 0; /* the proposer's node delivered it, its bridge carries it here */
    e = net_dict_find(&s->channels, channel->p, channel->n);
    if (e)
        deliver(&pm, e->value, NULL);
    if (s->patterns.count)
        net_dict_each(&s->patterns, publish_pattern, &pm);
    if (!from && s->pub_observer)
        pm.receivers += s->pub_observer(s->pub_observer_arg, channel, message);
    s->stats.pubsub_messages++;
    return pm.receivers;
}

int64_t pubsub_publish(redis_server *s, const resp_arg *channel, const resp_arg *message)
{
    return redis_publish(s, NULL, channel, message);
}

static int publish_cmd(resp_ctx *c)
{
    reply_int(c->r, pubsub_publish(c->srv, &c->argv[1], &c->argv[2]));
    return 0;
}

struct chlist {
    resp_reply *r;
    const resp_arg *pattern;
    size_t n;
};

static int list_channel(void *arg, net_dict_entry *e)
{
    struct chlist *cl = arg;

    if (cl->pattern && !resp_glob_match(cl->pattern->p, cl->pattern->n, e->key, e->klen, 0))
        return 0;
    reply_bulk(cl->r, e->key, e->klen);
    cl->n++;
    return 0;
}

static int pubsub_cmd(resp_ctx *c)
{
    redis_server *s = c->srv;

    if (resp_arg_is(&c->argv[1], "channels") && c->argc <= 3) {
        struct chlist cl = {c->r, c->argc == 3 ? &c->argv[2] : NULL, 0};
        resp_defer d = reply_defer(c->r);
        net_dict_each(&s->channels, list_channel, &cl);
        reply_defer_array(c->r, d, cl.n);
    } else if (resp_arg_is(&c->argv[1], "numsub")) {
        /* A flat array in RESP3 too, as Redis answers. */
        reply_array(c->r, ((size_t)c->argc - 2) * 2);
        for (int i = 2; i < c->argc; i++) {
            net_dict_entry *e = net_dict_find(&s->channels, c->argv[i].p, c->argv[i].n);
            reply_bulk(c->r, c->argv[i].p, c->argv[i].n);
            reply_int(c->r, e ? (int64_t)((sub_vec *)e->value)->n : 0);
        }
    } else if (resp_arg_is(&c->argv[1], "numpat") && c->argc == 2) {
        reply_int(c->r, (int64_t)s->patterns.count);
    } else if (resp_arg_is(&c->argv[1], "help") && c->argc == 2) {
        reply_array(c->r, 4);
        reply_simple(c->r, "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        reply_simple(c->r, "CHANNELS [<pattern>]");
        reply_simple(c->r, "NUMPAT");
        reply_simple(c->r, "NUMSUB [<channel> ...]");
    } else {
        static const char *const known[] = {"channels", "numsub", "numpat", "help", NULL};
        return resp_err_subcommand(c->r, c->cmd, &c->argv[1], known);
    }
    return 0;
}

#define PS_FLAGS (RESP_CMD_PUBSUB | RESP_CMD_NOSCRIPT | RESP_CMD_LOADING | RESP_CMD_STALE)

const resp_command redis_cmds_pubsub[] = {
    {"subscribe", subscribe_cmd, -2, PS_FLAGS | RESP_CMD_SUBOK, 0, 0, 0, "pubsub",
     "Listen for messages published to the given channels"},
    {"psubscribe", psubscribe_cmd, -2, PS_FLAGS | RESP_CMD_SUBOK, 0, 0, 0, "pubsub",
     "Listen for messages published to channels matching the given patterns"},
    {"unsubscribe", unsubscribe_cmd, -1, PS_FLAGS | RESP_CMD_SUBOK, 0, 0, 0, "pubsub",
     "Stop listening for messages posted to the given channels"},
    {"punsubscribe", punsubscribe_cmd, -1, PS_FLAGS | RESP_CMD_SUBOK, 0, 0, 0, "pubsub",
     "Stop listening for messages posted to channels matching the given patterns"},
    {"publish", publish_cmd, 3, PS_FLAGS | RESP_CMD_FAST, 0, 0, 0, "pubsub",
     "Post a message to a channel"},
    {"pubsub", pubsub_cmd, -2, PS_FLAGS, 0, 0, 0, "pubsub",
     "A container for Pub/Sub commands (CHANNELS, NUMSUB, NUMPAT)"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
