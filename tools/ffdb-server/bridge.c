/*
 * bridge.c — the NATS pub/sub bridge (bridge.h): every local PUBLISH goes
 * to NATS, every message from NATS goes to the local subscribers.
 *
 * Who calls it: the server, through the redis_extension callbacks
 * (attach, detach, info), and natsbus, whose message and state callbacks
 * run on the same loop thread (natsbus N1). It never touches the keyspace:
 * pub/sub needs no txn, so it works the same beside --cluster and --crdt,
 * whose hooks only see writes.
 *
 * Wire: a channel C of namespace NS is the subject ffdb.<NS>.pub.<token(C)>
 * (natsbus N4: any byte string round-trips, no token holds '.', '*', '>' or
 * spaces); the payload is the message's bytes, nothing added, so any NATS
 * client can publish to Redis subscribers and listen to them.
 *
 * What it keeps:
 *   B1. One NATS subscription per node, on the whole kind (ffdb.<NS>.pub.*),
 *       made at attach. Not one per channel the local clients hold: Redis
 *       patterns are globs over the whole channel name, which NATS
 *       wildcards (whole tokens) cannot say, so any PSUBSCRIBE would need
 *       the whole kind anyway; a NATS subscription per SUBSCRIBE would cost
 *       a SUB/UNSUB per client subscribe and leave a window after the
 *       SUBSCRIBE reply in which nats-server does not know the interest
 *       yet. The price: every node of a namespace receives every message
 *       of it, subscribers or not (a dict lookup and the pattern walk each).
 *   B2. Exactly once: a remote message reaches each local channel
 *       subscriber once and each matching pattern subscriber once, through
 *       redis_publish, the same matching as a local PUBLISH.
 *   B3. No echo: the connection has NoEcho (natsbus N5), so this node never
 *       receives what it sent; and remote messages are injected with
 *       from = the bridge, so the observer is not told and they are not
 *       sent back out.
 *   B4. Order: one connection, so one publisher's messages keep their
 *       order on every node (natsbus N2).
 *   B5. PUBLISH answers the local receivers only, as Redis Cluster does:
 *       counting remote ones would mean waiting for every node's answer
 *       on the loop. The observer adds 0.
 *   B6. At most once (natsbus N3): while nats-server is away, what this
 *       node publishes is buffered by nats.c and sent after the reconnect;
 *       what other nodes publish in the gap is lost for this node.
 *   B7. What a local client could not PUBLISH is not injected either: a
 *       message whose subject is not of the scheme (it decodes to no name)
 *       is counted in dropped_malformed, one whose channel or payload is
 *       longer than proto-max-bulk-len in dropped_oversized; neither
 *       reaches a client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/natsbus/natsbus.h"
#include "tools/ffdb-server/bridge.h"

struct bridge {
    const server_nats_config *ncfg;
    redis_server *s;
    natsbus *bus;
    natsbus_sub *sub;
    redis_subscriber self; /* the `from` of injected messages (B3); subscribed to nothing */
    uint64_t received;     /* injected into the local registry */
    uint64_t malformed, oversized;
    uint64_t publish_errors; /* local PUBLISHes NATS refused (too long) */
};

/* Never called: the bridge's subscriber is subscribed to nothing. */
static int64_t self_message(redis_subscriber *sub, const resp_arg *pattern, const resp_arg *channel,
                            const resp_arg *message)
{
    (void)sub;
    (void)pattern;
    (void)channel;
    (void)message;
    return 0;
}

static const redis_subscriber_ops self_ops = {self_message};

/* A local PUBLISH (the observer): to NATS. B5: it adds no receivers. */
static int64_t on_publish(void *arg, const resp_arg *channel, const resp_arg *message)
{
    bridge *br = arg;

    if (natsbus_publish(br->bus, BRIDGE_KIND, channel->p, channel->n, message->p, message->n))
        br->publish_errors++;
    return 0;
}

/* A message from NATS: to the local subscribers (B2, B3, B7). */
static void on_remote(void *arg, const natsbus_msg *m)
{
    bridge *br = arg;
    uint64_t max = br->s->cfg->limits.max_bulk_len;
    resp_arg chan, msg;

    if (!m->name) {
        br->malformed++;
        return;
    }
    if (m->name_len > max || m->len > max) {
        br->oversized++;
        return;
    }
    chan.p = (const char *)m->name;
    chan.n = m->name_len;
    msg.p = (const char *)m->data;
    msg.n = m->len;
    br->received++;
    redis_publish(br->s, &br->self, &chan, &msg);
}

static void on_state(void *arg, int connected)
{
    bridge *br = arg;

    if (connected)
        redis_log(br->s, NET_LOG_NOTICE, "nats: pub/sub bridge connected to %s", br->ncfg->url);
    else
        redis_log(br->s, NET_LOG_WARNING,
                  "nats: pub/sub bridge lost %s; reconnecting (messages of other nodes until "
                  "then are lost)",
                  br->ncfg->url);
}

/* One entry of --nats: [nats://|tls://]host[:port]. nats.c takes almost
 * anything and would retry a typo forever: refuse it at start instead. */
static int url_entry_ok(const char *p, size_t n)
{
    static const char *const schemes[] = {"nats://", "tls://"};
    size_t host = 0, colon = 0;

    for (size_t i = 0; i < 2; i++) {
        size_t k = strlen(schemes[i]);
        if (n >= k && strncmp(p, schemes[i], k) == 0) {
            p += k;
            n -= k;
            break;
        }
    }
    if (memmem(p, n, "://", 3))
        return 0; /* another scheme */
    for (size_t i = 0; i < n; i++) {
        if (p[i] <= ' ' || p[i] == 0x7f || p[i] == '/' || p[i] == ',')
            return 0;
        if (p[i] == ':' && p[0] != '[')
            colon = i;
    }
    host = colon ? colon : n;
    if (host == 0)
        return 0;
    if (colon) {
        unsigned long port = 0;
        if (colon + 1 == n || n - colon - 1 > 5)
            return 0;
        for (size_t i = colon + 1; i < n; i++) {
            if (p[i] < '0' || p[i] > '9')
                return 0;
            port = port * 10 + (unsigned long)(p[i] - '0');
        }
        if (port == 0 || port > 65535)
            return 0;
    }
    return 1;
}

/* Every comma-separated entry of url (spaces around them allowed). */
static int url_ok(const char *url)
{
    const char *p = url;

    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && *p == ' ') {
            p++;
            n--;
        }
        while (n && p[n - 1] == ' ')
            n--;
        if (!url_entry_ok(p, n))
            return 0;
        if (!end)
            return 1;
        p = end + 1;
    }
}

static int attach(void *arg, redis_server *s, char *err, size_t errlen)
{
    bridge *br = arg;
    natsbus_opts o = {
        .url = br->ncfg->url,
        .namespace_name = br->ncfg->ns,
        .conn_name = "ffdb-server pubsub",
        .on_state = on_state,
        .state_arg = br,
    };
    char why[256] = "";
    int rc;

    br->s = s;
    if (!url_ok(br->ncfg->url)) {
        snprintf(err, errlen, "--nats '%s': not a NATS URL list (nats://host:port[,...])",
                 br->ncfg->url);
        return -1;
    }
    redis_subscriber_init(&br->self, &self_ops, br);
    rc = natsbus_open(s->loop, &o, &br->bus, why, sizeof(why));
    if (rc) {
        snprintf(err, errlen, "--nats %s: %s", br->ncfg->url, why[0] ? why : natsbus_strerror(rc));
        return -1;
    }
    rc = natsbus_subscribe(br->bus, BRIDGE_KIND, NULL, 0, on_remote, br, &br->sub);
    if (rc) {
        snprintf(err, errlen, "nats subscription: %s", natsbus_strerror(rc));
        natsbus_close(br->bus);
        br->bus = NULL;
        return -1;
    }
    redis_publish_observe(s, on_publish, br);
    redis_log(s, NET_LOG_NOTICE, "nats: pub/sub bridge on %s, namespace \"%s\"", br->ncfg->url,
              br->ncfg->ns);
    return 0;
}

static void detach(void *arg, redis_server *s)
{
    bridge *br = arg;

    redis_publish_observe(s, NULL, NULL);
    natsbus_close(br->bus); /* its subscription with it; no callback runs after */
    br->bus = NULL;
    br->sub = NULL;
    redis_unsubscribe_all(s, &br->self);
}

static void line(net_buf *b, const char *name, uint64_t v)
{
    char tmp[96];
    int n = snprintf(tmp, sizeof(tmp), "nats_%s:%llu\r\n", name, (unsigned long long)v);

    net_buf_append(b, tmp, (size_t)n);
}

static void info(void *arg, net_buf *b)
{
    bridge *br = arg;
    natsbus_stats st;

    if (!br->bus) {
        line(b, "connected", 0);
        return;
    }
    natsbus_get_stats(br->bus, &st);
    line(b, "connected", (uint64_t)st.connected);
    line(b, "published", st.published);
    line(b, "publish_errors", br->publish_errors);
    line(b, "received", br->received);
    line(b, "dropped", st.dropped + br->malformed + br->oversized);
    line(b, "dropped_slow", st.dropped);
    line(b, "dropped_malformed", br->malformed);
    line(b, "dropped_oversized", br->oversized);
    line(b, "reconnects", st.connects > 0 ? st.connects - 1 : 0);
    line(b, "disconnects", st.disconnects);
}

static const redis_extension bridge_ops = {
    .name = "nats",
    .attach = attach,
    .detach = detach,
    .info = info,
};

int bridge_install(redis_config *cfg, const server_nats_config *ncfg, bridge **out)
{
    bridge *br = calloc(1, sizeof(*br));
    int rc;

    *out = NULL;
    if (!br)
        return FFDB_ENOMEM;
    br->ncfg = ncfg;
    rc = redis_config_add_extension(cfg, &bridge_ops, br);
    if (rc) {
        free(br);
        return rc;
    }
    *out = br;
    return 0;
}

void bridge_free(bridge *br)
{
    free(br);
}
