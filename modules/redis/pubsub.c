/*
 * pubsub.c — in-process publish/subscribe: SUBSCRIBE, UNSUBSCRIBE,
 * PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB CHANNELS|NUMSUB|NUMPAT.
 *
 * s->channels and s->patterns map a name to the clients subscribed; each
 * client keeps its own names (c->chans, c->pats) so it can leave them all
 * when it goes. Messages are written straight into subscribers' output
 * buffers as push frames (">" in RESP3, "*" in RESP2) and sent at the end of
 * the loop iteration; they never touch the file, so PUBLISH needs no txn and
 * is not held back by the group commit's durability rule (nothing to lose).
 * A later module bridges this to other nodes (IceFireDB's P2P pub/sub).
 */
#include <stdlib.h>
#include <string.h>

#include "modules/redis/redis.h"

size_t pubsub_count(const redis_client *c)
{
    return c->chans.count + c->pats.count;
}

/* Subscribe c to name in the server dict srv and the client dict mine.
 * 1 if new, 0 if it was already, -1 out of memory. */
static int sub_add(net_dict *srv, net_dict *mine, redis_client *c, const char *name, size_t n)
{
    int created;
    net_dict_entry *e;

    if (net_dict_find(mine, name, n))
        return 0;
    e = net_dict_upsert(srv, name, n, NULL);
    if (!e)
        return -1;
    if (!e->value && !(e->value = calloc(1, sizeof(redis_cvec)))) {
        net_dict_remove(srv, name, n);
        return -1;
    }
    if (cvec_add(e->value, c))
        return -1;
    if (!net_dict_upsert(mine, name, n, &created)) {
        cvec_del(e->value, c);
        return -1;
    }
    return 1;
}

static int sub_del(net_dict *srv, net_dict *mine, redis_client *c, const char *name, size_t n)
{
    net_dict_entry *e;

    if (!net_dict_find(mine, name, n))
        return 0;
    net_dict_remove(mine, name, n);
    e = net_dict_find(srv, name, n);
    if (e) {
        redis_cvec *v = e->value;
        cvec_del(v, c);
        if (v->n == 0) {
            free(v->v);
            free(v);
            net_dict_remove(srv, name, n);
        }
    }
    return 1;
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

/* Names of a client dict, copied (the dict changes while we go through them). */
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

static void unsub_all(redis_server *s, redis_client *c, int patterns, int reply)
{
    net_dict *srv = patterns ? &s->patterns : &s->channels;
    net_dict *mine = patterns ? &c->pats : &c->chans;
    const char *kind = patterns ? "punsubscribe" : "unsubscribe";
    size_t n = mine->count;
    resp_arg *names = calloc(n ? n : 1, sizeof(*names)), *p = names;

    if (!names)
        return;
    net_dict_each(mine, collect, &p);
    for (size_t i = 0; i < (size_t)(p - names); i++) {
        sub_del(srv, mine, c, names[i].p, names[i].n);
        if (reply)
            sub_reply(c, kind, names[i].p, names[i].n);
        free((void *)names[i].p);
    }
    free(names);
    if (reply && n == 0)
        sub_reply(c, kind, NULL, 0);
}

void pubsub_unsubscribe_all(redis_server *s, redis_client *c)
{
    unsub_all(s, c, 0, 0);
    unsub_all(s, c, 1, 0);
    net_dict_free(&c->chans);
    net_dict_free(&c->pats);
}

static int subscribe_generic(resp_ctx *c, int patterns)
{
    redis_server *s = c->srv;
    redis_client *cli = c->cli;

    for (int i = 1; i < c->argc; i++) {
        int rc = sub_add(patterns ? &s->patterns : &s->channels,
                         patterns ? &cli->pats : &cli->chans, cli, c->argv[i].p, c->argv[i].n);
        if (rc < 0)
            return FFDB_ENOMEM;
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
        unsub_all(s, cli, patterns, 1);
    } else {
        for (int i = 1; i < c->argc; i++) {
            sub_del(patterns ? &s->patterns : &s->channels, patterns ? &cli->pats : &cli->chans,
                    cli, c->argv[i].p, c->argv[i].n);
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
    redis_server *s;
    const resp_arg *channel, *message;
    int receivers;
};

static int publish_pattern(void *arg, net_dict_entry *e)
{
    struct pmatch *pm = arg;
    redis_cvec *v = e->value;

    if (!resp_glob_match(e->key, e->klen, pm->channel->p, pm->channel->n, 0))
        return 0;
    for (size_t i = 0; i < v->n; i++) {
        resp_reply *r = &v->v[i]->reply;
        reply_push(r, 4);
        reply_bulk_cstr(r, "pmessage");
        reply_bulk(r, e->key, e->klen);
        reply_bulk(r, pm->channel->p, pm->channel->n);
        reply_bulk(r, pm->message->p, pm->message->n);
        net_conn_mark_flush(v->v[i]->conn);
        pm->receivers++;
    }
    return 0;
}

int pubsub_publish(redis_server *s, const resp_arg *channel, const resp_arg *message)
{
    struct pmatch pm = {s, channel, message, 0};
    net_dict_entry *e = net_dict_find(&s->channels, channel->p, channel->n);

    if (e) {
        redis_cvec *v = e->value;
        for (size_t i = 0; i < v->n; i++) {
            resp_reply *r = &v->v[i]->reply;
            reply_push(r, 3);
            reply_bulk_cstr(r, "message");
            reply_bulk(r, channel->p, channel->n);
            reply_bulk(r, message->p, message->n);
            net_conn_mark_flush(v->v[i]->conn);
            pm.receivers++;
        }
    }
    if (s->patterns.count)
        net_dict_each(&s->patterns, publish_pattern, &pm);
    s->stats.pubsub_messages++;
    return pm.receivers;
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
            reply_int(c->r, e ? (int64_t)((redis_cvec *)e->value)->n : 0);
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
