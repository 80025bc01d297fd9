/*
 * test_natsbus.c — modules/natsbus against a real nats-server on a free
 * loopback port: the subject scheme round-trips every byte, pub/sub across
 * two connections in order and without echo, request/reply with several
 * answers and the timeout, namespaces apart, a bus opened before the server
 * is up, and nats-server restarted under two connected buses.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/natsbus/natsbus.h"
#include "tests/test_nats_util.h"
#include "tests/testutil.h"

static void setup(void)
{
    tu_setup();
}

/* What a test opened (new_loop, open_bus), closed at .fini, also after a
 * failed assertion. */
static net_loop *opened_loop;
static natsbus *opened[8];
static int nopened;

static void teardown(void)
{
    while (nopened > 0)
        natsbus_close(opened[--nopened]);
    if (opened_loop)
        net_loop_free(opened_loop);
    opened_loop = NULL;
    tn_teardown();
    tu_teardown();
}

TestSuite(natsbus, .init = setup, .fini = teardown, .timeout = 60);

/* ---- what a test receives ---------------------------------------------------------- */

#define MAX_GOT 512

typedef struct got {
    int n;
    uint8_t name[MAX_GOT][64];
    size_t name_len[MAX_GOT];
    uint8_t data[MAX_GOT][64];
    size_t len[MAX_GOT];
    int answers, done;
    int ups, downs;
    natsbus *responder; /* answer every message with its data reversed */
} got;

static void on_msg(void *arg, const natsbus_msg *m)
{
    got *g = arg;

    cr_assert(g->n < MAX_GOT);
    cr_assert(m->name, "a message of our scheme has its name: %s", m->subject);
    cr_assert(m->name_len <= 64 && m->len <= 64);
    memcpy(g->name[g->n], m->name, m->name_len);
    g->name_len[g->n] = m->name_len;
    memcpy(g->data[g->n], m->data, m->len);
    g->len[g->n] = m->len;
    g->n++;
    if (g->responder && m->reply) {
        uint8_t buf[256];
        for (size_t i = 0; i < m->len && i < sizeof(buf); i++)
            buf[i] = m->data[m->len - 1 - i];
        cr_assert(natsbus_respond(g->responder, m, buf, m->len) == 0);
    }
}

static void on_reply(void *arg, const natsbus_msg *m)
{
    got *g = arg;

    if (!m) {
        g->done++;
        return;
    }
    cr_assert(g->done == 0, "no answer after the request's end");
    g->answers++;
}

static void on_state(void *arg, int up)
{
    got *g = arg;
    if (up)
        g->ups++;
    else
        g->downs++;
}

static net_loop *new_loop(void)
{
    net_loop *l;
    cr_assert(!opened_loop, "one loop a test");
    cr_assert(net_loop_new(NULL, &l) == 0);
    return opened_loop = l;
}

static natsbus *open_bus(net_loop *l, const char *url, const char *ns, got *state)
{
    natsbus_opts o;
    natsbus *b;
    char err[256];

    memset(&o, 0, sizeof(o));
    o.url = url;
    o.namespace_name = ns;
    o.reconnect_wait_ms = 100;
    o.on_state = state ? on_state : NULL;
    o.state_arg = state;
    cr_assert_lt(nopened, 8);
    cr_assert(natsbus_open(l, &o, &b, err, sizeof(err)) == 0, "%s", err);
    return opened[nopened++] = b;
}

/* Run the loop until *counter >= want or timeout_ms pass; 1 if reached. */
static int run_until(net_loop *l, const int *counter, int want, int timeout_ms)
{
    int64_t deadline = tn_mono_ms() + timeout_ms;

    while (*counter < want && tn_mono_ms() < deadline)
        net_loop_run_once(l, 20);
    return *counter >= want;
}

static void run_for(net_loop *l, int ms)
{
    int64_t deadline = tn_mono_ms() + ms;
    while (tn_mono_ms() < deadline)
        net_loop_run_once(l, 10);
}

/* Subscriptions reach the server after a flush: wait until a probe on the
 * subscribed kind comes back (the bus has no synchronous flush). */
static void settle(net_loop *l, natsbus *pub, const char *kind, got *g)
{
    int before = g->n;
    for (int i = 0; i < 100 && g->n == before; i++) {
        cr_assert(natsbus_publish(pub, kind, "probe", 5, "p", 1) == 0);
        run_until(l, &g->n, before + 1, 50);
    }
    cr_assert(g->n > before, "the subscription never saw a message");
    run_for(l, 50);
}

/* sub subscribes to kind (only name if not NULL) into g; pub's probes show
 * when the subscription is live. */
static void subscribe_settled(net_loop *l, natsbus *sub, natsbus *pub, const char *kind,
                              const char *name, got *g)
{
    cr_assert(natsbus_subscribe(sub, kind, name, name ? strlen(name) : 0, on_msg, g, NULL) == 0);
    settle(l, pub, kind, g);
}

/* ---- the subject scheme --------------------------------------------------------------- */

static void roundtrip(const uint8_t *name, size_t n)
{
    char tok[4096];
    uint8_t back[4096];
    size_t len = natsbus_token(name, n, tok, sizeof(tok)), m = 9999;

    cr_assert(len < sizeof(tok));
    cr_assert_eq(strlen(tok), len);
    cr_assert(len > 0);
    for (size_t i = 0; i < len; i++)
        cr_assert(tok[i] != '.' && tok[i] != '*' && tok[i] != '>' && tok[i] > ' ' && tok[i] < 127,
                  "token character %d", tok[i]);
    cr_assert(natsbus_untoken(tok, len, back, &m) == 0, "%s", tok);
    cr_assert_eq(m, n);
    cr_assert(memcmp(back, name, n) == 0);
}

Test(natsbus, token_roundtrip)
{
    tu_rng r;
    uint8_t buf[600];

    roundtrip((const uint8_t *)"", 0);
    for (int c = 0; c < 256; c++) {
        buf[0] = (uint8_t)c;
        roundtrip(buf, 1);
    }
    roundtrip((const uint8_t *)"_", 1);
    roundtrip((const uint8_t *)"_41", 3);
    roundtrip((const uint8_t *)"a.b.*.>", 7);
    tu_rng_init(&r, tu_seed("natsbus tokens"));
    for (int i = 0; i < 2000; i++) {
        size_t n = tu_below(&r, sizeof(buf));
        tu_fill(&r, buf, n);
        roundtrip(buf, n);
    }
}

Test(natsbus, token_rejects)
{
    uint8_t out[16];
    size_t n;
    static const char *const bad[] = {"", "a.b", "_4", "_zz", "_4a", "_41", "a b", "*", ">", "__"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert(natsbus_untoken(bad[i], strlen(bad[i]), out, &n) == -1, "'%s'", bad[i]);
}

Test(natsbus, subjects)
{
    char s[128];

    natsbus_subject("", 0, "pub", "news", 4, s, sizeof(s));
    cr_assert_str_eq(s, "ffdb._.pub.news");
    natsbus_subject("t1", 2, "ptr", NULL, 0, s, sizeof(s));
    cr_assert_str_eq(s, "ffdb.t1.ptr.*");
    natsbus_subject("a.b", 3, "pub", "x y", 3, s, sizeof(s));
    cr_assert_str_eq(s, "ffdb.a_2Eb.pub.x_20y");
    cr_assert_eq(natsbus_subject("", 0, "pub", "news", 4, s, 4), strlen("ffdb._.pub.news"));
    cr_assert_str_eq(s, "ffd");
}

/* ---- against nats-server ------------------------------------------------------------------ */

Test(natsbus, pubsub_order_and_no_echo)
{
    tn_nats *n = tn_start();
    net_loop *l = new_loop();
    got ga = {0}, gb = {0};
    natsbus *a = open_bus(l, n->url, "t", NULL), *b = open_bus(l, n->url, "t", NULL);
    uint8_t name[40];

    subscribe_settled(l, a, b, "pub", NULL, &ga);
    subscribe_settled(l, b, a, "pub", NULL, &gb);
    int a0 = ga.n, b0 = gb.n;
    for (int i = 0; i < 300; i++) {
        char data[32];
        size_t nl = (size_t)(i % 40);
        for (size_t k = 0; k < nl; k++)
            name[k] = (uint8_t)(i * 7 + k * 13);
        snprintf(data, sizeof(data), "m%d", i);
        cr_assert(natsbus_publish(b, "pub", name, nl, data, strlen(data)) == 0);
    }
    cr_assert(run_until(l, &ga.n, a0 + 300, 5000), "got %d of 300", ga.n - a0);
    run_for(l, 200);
    cr_assert_eq(ga.n, a0 + 300, "nothing more than was sent");
    cr_assert_eq(gb.n, b0, "no echo: b never receives what b published");
    for (int i = 0; i < 300; i++) {
        char data[32];
        size_t nl = (size_t)(i % 40);
        for (size_t k = 0; k < nl; k++)
            name[k] = (uint8_t)(i * 7 + k * 13);
        snprintf(data, sizeof(data), "m%d", i);
        cr_assert_eq(ga.len[a0 + i], strlen(data));
        cr_assert(memcmp(ga.data[a0 + i], data, strlen(data)) == 0, "message %d in order", i);
        cr_assert_eq(ga.name_len[a0 + i], nl);
        cr_assert(memcmp(ga.name[a0 + i], name, nl) == 0, "name %d round-trips", i);
    }
}

Test(natsbus, one_name_only)
{
    tn_nats *n = tn_start();
    net_loop *l = new_loop();
    got g = {0};
    natsbus *a = open_bus(l, n->url, "", NULL), *b = open_bus(l, n->url, "", NULL);

    subscribe_settled(l, a, b, "pub", "probe", &g);
    int g0 = g.n;
    cr_assert(natsbus_publish(b, "pub", "other", 5, "x", 1) == 0);
    cr_assert(natsbus_publish(b, "pub", "probe", 5, "y", 1) == 0);
    cr_assert(run_until(l, &g.n, g0 + 1, 3000));
    run_for(l, 100);
    cr_assert_eq(g.n, g0 + 1);
    cr_assert_eq(g.data[g0][0], 'y');
}

Test(natsbus, request_reply_many_answers)
{
    tn_nats *n = tn_start();
    net_loop *l = new_loop();
    got r1 = {0}, r2 = {0}, q = {0};
    natsbus *a = open_bus(l, n->url, "rr", NULL), *b = open_bus(l, n->url, "rr", NULL),
            *c = open_bus(l, n->url, "rr", NULL);

    r1.responder = a;
    r2.responder = b;
    subscribe_settled(l, a, c, "ask", NULL, &r1);
    subscribe_settled(l, b, c, "ask", NULL, &r2);
    cr_assert(natsbus_request(c, "ask", "k", 1, "abc", 3, 500, on_reply, &q) == 0);
    cr_assert(run_until(l, &q.done, 1, 3000), "the request ends");
    cr_assert_eq(q.answers, 2, "one answer from each responder");
    run_for(l, 100);
    cr_assert_eq(q.done, 1, "the end is told once");
    cr_assert(natsbus_request(c, "ask", "k", 1, "abc", 3, 0, on_reply, &q) == NATSBUS_EINVAL);
}

Test(natsbus, namespaces_apart)
{
    tn_nats *n = tn_start();
    net_loop *l = new_loop();
    got g1 = {0}, g2 = {0};
    natsbus *a1 = open_bus(l, n->url, "one", NULL), *b1 = open_bus(l, n->url, "one", NULL);
    natsbus *a2 = open_bus(l, n->url, "two", NULL), *b2 = open_bus(l, n->url, "two", NULL);

    subscribe_settled(l, a1, b1, "pub", NULL, &g1);
    subscribe_settled(l, a2, b2, "pub", NULL, &g2);
    int n1 = g1.n, n2 = g2.n;
    for (int i = 0; i < 20; i++) {
        cr_assert(natsbus_publish(b1, "pub", "ch", 2, "1", 1) == 0);
        cr_assert(natsbus_publish(b2, "pub", "ch", 2, "2", 1) == 0);
    }
    cr_assert(run_until(l, &g1.n, n1 + 20, 3000));
    cr_assert(run_until(l, &g2.n, n2 + 20, 3000));
    run_for(l, 200);
    cr_assert_eq(g1.n, n1 + 20);
    cr_assert_eq(g2.n, n2 + 20);
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(g1.data[n1 + i][0], '1');
        cr_assert_eq(g2.data[n2 + i][0], '2');
    }
}

Test(natsbus, oversize_refused)
{
    tn_nats *n = tn_start();
    net_loop *l = new_loop();
    got st = {0};
    natsbus *a = open_bus(l, n->url, "", &st);
    size_t big = (size_t)2 << 20; /* nats-server's default max_payload is 1 MiB */
    char *data = calloc(1, big), name[NATSBUS_MAX_SUBJECT];
    natsbus_stats s;

    cr_assert(run_until(l, &st.ups, 1, 3000));
    cr_assert(natsbus_publish(a, "pub", "x", 1, data, big) == NATSBUS_ETOOBIG);
    memset(name, 0, sizeof(name)); /* every byte escaped: 3 characters each */
    cr_assert(natsbus_publish(a, "pub", name, sizeof(name) / 3, "x", 1) == NATSBUS_ETOOBIG);
    cr_assert(natsbus_publish(a, "Bad.Kind", "x", 1, "x", 1) == NATSBUS_EINVAL);
    natsbus_get_stats(a, &s);
    cr_assert_eq(s.publish_errors, 3);
    free(data);
}

Test(natsbus, opens_before_the_server)
{
    tn_nats *n = tn_start();
    net_loop *l = new_loop();
    got st = {0}, g = {0};
    natsbus *a, *b;

    tn_stop(n);
    a = open_bus(l, n->url, "", &st);
    cr_assert(natsbus_subscribe(a, "pub", NULL, 0, on_msg, &g, NULL) == 0);
    run_for(l, 300);
    cr_assert_eq(st.ups, 0);
    tn_restart(n);
    cr_assert(run_until(l, &st.ups, 1, 10000), "connects once the server is up");
    b = open_bus(l, n->url, "", NULL);
    settle(l, b, "pub", &g);
}

Test(natsbus, server_restart_reconnects)
{
    tn_nats *n = tn_start();
    net_loop *l = new_loop();
    got sa = {0}, sb = {0}, g = {0};
    natsbus *a = open_bus(l, n->url, "", &sa), *b = open_bus(l, n->url, "", &sb);
    natsbus_stats st;

    subscribe_settled(l, a, b, "pub", NULL, &g);
    cr_assert(run_until(l, &sa.ups, 1, 3000));
    cr_assert(run_until(l, &sb.ups, 1, 3000));
    tn_stop(n);
    cr_assert(run_until(l, &sa.downs, 1, 5000), "a sees the server go");
    cr_assert(run_until(l, &sb.downs, 1, 5000), "b sees the server go");
    cr_assert(!natsbus_connected(a));
    tn_restart(n);
    cr_assert(run_until(l, &sa.ups, 2, 10000), "a reconnects");
    cr_assert(run_until(l, &sb.ups, 2, 10000), "b reconnects");
    settle(l, b, "pub", &g); /* the subscription was restored on the new server */
    natsbus_get_stats(a, &st);
    cr_assert_eq(st.connects, 2);
    cr_assert_eq(st.disconnects, 1);
}
