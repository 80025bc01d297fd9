/*
 * test_redis_hook.c — the write hook of modules/redis (redis.h): a real
 * server in a thread of this process, with a test hook installed, talked to
 * through hiredis on 127.0.0.1 (port 0: the kernel's choice).
 *
 *   queue   proposals are copied and applied 20 ms later from a timer (a
 *           stand-in for a RAFT log): replies come only after the apply,
 *           MULTI/EXEC is one unit, a unit from elsewhere (id 0) applies with
 *           its reply discarded, the sweeper proposes FFDB-EXPIRED
 *   refuse  propose and the read gate refuse (-READONLY, -MOVED)
 */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "modules/redis/redis.h"
#include "tests/testutil.h"

TestSuite(redis_hook, .init = tu_setup, .fini = tu_teardown, .timeout = 60);

#define MAXU 256

typedef struct copy_unit {
    redis_unit u;
    redis_cmdv cmds[16];
    resp_arg args[16][8];
    char mem[16][8][64];
} copy_unit;

typedef struct test_hook {
    int refuse;
    int sync;       /* apply inside propose */
    int wait_reads; /* the gate holds reads; the timer releases them */
    uint64_t waiting[MAXU];
    volatile int inject;     /* 1: apply a unit from elsewhere; 2: done */
    redis_subscriber bridge; /* a pub/sub bridge: subscribed to "news" */
    volatile int bridge_msgs, observed, inject_pub;
    int wn;
    redis_server *srv;
    volatile int port;
    copy_unit *q[MAXU];
    int qn;
    int proposals, multis, expired_units, gated;
    char expired_key[64];
} test_hook;

static copy_unit *copy_of(const redis_unit *u)
{
    copy_unit *c = calloc(1, sizeof(*c));
    cr_assert(c);
    cr_assert(u->ncmds <= 16);
    c->u = *u;
    c->u.cmds = c->cmds;
    for (int i = 0; i < u->ncmds; i++) {
        cr_assert(u->cmds[i].argc <= 8);
        c->cmds[i].argc = u->cmds[i].argc;
        c->cmds[i].argv = c->args[i];
        for (int j = 0; j < u->cmds[i].argc; j++) {
            cr_assert(u->cmds[i].argv[j].n < 64);
            memcpy(c->mem[i][j], u->cmds[i].argv[j].p, u->cmds[i].argv[j].n);
            c->args[i][j].p = c->mem[i][j];
            c->args[i][j].n = u->cmds[i].argv[j].n;
        }
    }
    return c;
}

static int64_t bridge_message(redis_subscriber *sub, const resp_arg *pattern,
                              const resp_arg *channel, const resp_arg *message)
{
    test_hook *h = sub->arg;
    (void)pattern;
    (void)channel;
    (void)message;
    h->bridge_msgs++;
    return 2; /* it knows of two receivers elsewhere */
}

static const redis_subscriber_ops bridge_ops = {bridge_message};

static int64_t observe(void *arg, const resp_arg *channel, const resp_arg *message)
{
    test_hook *h = arg;
    (void)channel;
    (void)message;
    h->observed++;
    return 5;
}

static void on_apply(net_timer *t, void *arg)
{
    test_hook *h = arg;
    if (h->inject_pub == 1) {
        resp_arg ch = {"news", 4}, msg = {"remote", 6};
        cr_assert_eq(redis_publish(h->srv, &h->bridge, &ch, &msg), 1); /* the one client */
        h->inject_pub = 2;
    }
    redis_unit us[MAXU];
    int n = h->qn;

    (void)t;
    if (h->inject == 1) {
        resp_arg a[3] = {{"SET", 3}, {"remote", 6}, {"r", 1}};
        redis_cmdv v = {3, a};
        redis_unit u = {0, 0, redis_now_ms(h->srv), 0, 1, &v, 0};
        cr_assert_eq(redis_server_apply(h->srv, &u, 1), 0);
        h->inject = 2;
    }
    for (int i = 0; i < n; i++)
        us[i] = h->q[i]->u;
    if (n)
        cr_assert_eq(redis_server_apply(h->srv, us, (size_t)n), 0);
    for (int i = 0; i < n; i++)
        free(h->q[i]);
    h->qn = 0;
    for (int i = 0; i < h->wn; i++)
        cr_assert_eq(redis_server_release(h->srv, h->waiting[i]), 0);
    h->wn = 0;
}

static void hook_attach(void *arg, redis_server *s)
{
    test_hook *h = arg;
    h->srv = s;
    redis_subscriber_init(&h->bridge, &bridge_ops, h);
    cr_assert_eq(redis_subscribe(s, &h->bridge, 0, "news", 4), 1);
    redis_publish_observe(s, observe, h);
    cr_assert(net_timer_add(s->loop, 20, 20, on_apply, h));
    h->port = s->svc.port;
}

static void hook_detach(void *arg, redis_server *s)
{
    test_hook *h = arg;
    redis_unsubscribe_all(s, &h->bridge);
    for (int i = 0; i < h->qn; i++)
        free(h->q[i]);
    h->qn = 0;
}

static int hook_propose(void *arg, const redis_unit *u, resp_reply *r)
{
    test_hook *h = arg;

    h->proposals++;
    if (h->refuse) {
        if (r)
            reply_error(r, "READONLY You can't write against a read only replica.");
        return REDIS_HOOK_REPLIED;
    }
    if (u->multi)
        h->multis++;
    if (u->cmds[0].argc >= 2 && resp_arg_is(&u->cmds[0].argv[0], "ffdb-expired")) {
        h->expired_units++;
        memcpy(h->expired_key, u->cmds[0].argv[1].p, u->cmds[0].argv[1].n);
    }
    if (h->sync) {
        cr_assert_eq(redis_server_apply(h->srv, u, 1), 0);
        return REDIS_HOOK_TAKEN;
    }
    cr_assert(h->qn < MAXU);
    h->q[h->qn++] = copy_of(u);
    return REDIS_HOOK_TAKEN;
}

static int hook_gate(void *arg, const redis_unit *u, resp_reply *r)
{
    test_hook *h = arg;

    h->gated++;
    if (h->wait_reads) {
        cr_assert(h->wn < MAXU);
        h->waiting[h->wn++] = u->id;
        return REDIS_HOOK_TAKEN;
    }
    if (h->refuse) {
        reply_error(r, "MOVED 0 127.0.0.1:1");
        return REDIS_HOOK_REPLIED;
    }
    return REDIS_HOOK_RUN;
}

static const redis_hook test_ops = {hook_attach, hook_detach, hook_propose, hook_gate, NULL, NULL};

typedef struct running {
    pthread_t th;
    redis_config cfg;
    test_hook hook;
    int rc;
} running;

static void *serve(void *arg)
{
    running *r = arg;
    r->rc = redis_server_run(&r->cfg);
    return NULL;
}

enum { M_QUEUE, M_REFUSE, M_SYNC, M_WAIT_READS };

static const struct redis_extension ext_ops;

/* ext: an extension to plug in beside the hook (NULL: none). */
static redisContext *start_ext(running *r, int mode, void *ext)
{
    char err[256];
    redisContext *c;

    memset(r, 0, sizeof(*r));
    r->hook.refuse = mode == M_REFUSE;
    r->hook.sync = mode == M_SYNC;
    r->hook.wait_reads = mode == M_WAIT_READS;
    redis_config_init(&r->cfg);
    cr_assert_eq(net_config_set(&r->cfg.reg, "port", "0", 1, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(net_config_set(&r->cfg.reg, "bind", "127.0.0.1", 1, err, sizeof(err)), 0);
    cr_assert_eq(
        net_config_set(&r->cfg.reg, "dbfilename", tu_path("hook.ffdb"), 1, err, sizeof(err)), 0,
        "%s", err);
    cr_assert_eq(net_config_set(&r->cfg.reg, "loglevel", "warning", 1, err, sizeof(err)), 0);
    r->cfg.hook = &test_ops;
    r->cfg.hook_arg = &r->hook;
    if (ext)
        cr_assert_eq(redis_config_add_extension(&r->cfg, &ext_ops, ext), 0);
    cr_assert_eq(pthread_create(&r->th, NULL, serve, r), 0);
    for (int i = 0; i < 500 && r->hook.port == 0; i++)
        usleep(10000);
    cr_assert_neq(r->hook.port, 0, "the server did not start");
    struct timeval tv = {5, 0};
    c = redisConnectWithTimeout("127.0.0.1", r->hook.port, tv);
    cr_assert(c && !c->err);
    redisSetTimeout(c, tv);
    return c;
}

static redisContext *start(running *r, int mode)
{
    return start_ext(r, mode, NULL);
}

static void stop(running *r, redisContext *c)
{
    redisFree(c);
    redis_server_stop();
    pthread_join(r->th, NULL);
    redis_config_free(&r->cfg);
}

static redisReply *cmd(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert(rep, "no reply: %s", c->errstr);
    return rep;
}

static void expect_str(redisContext *c, const char *want, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert(rep, "no reply: %s", c->errstr);
    cr_assert(rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS ||
                  rep->type == REDIS_REPLY_ERROR,
              "type %d", rep->type);
    cr_assert_str_eq(rep->str, want);
    freeReplyObject(rep);
}

static void write_scenario(int mode)
{
    running r;
    redisContext *c = start(&r, mode);
    redisReply *rep;

    expect_str(c, "OK", "SET k v");
    cr_assert_eq(r.hook.proposals, 1);
    expect_str(c, "v", "GET k");
    /* pipelined: the second waits behind the first */
    redisAppendCommand(c, "INCR n");
    redisAppendCommand(c, "INCR n");
    redisAppendCommand(c, "GET n");
    for (int i = 1; i <= 3; i++) {
        cr_assert_eq(redisGetReply(c, (void **)&rep), REDIS_OK);
        if (i < 3)
            cr_assert_eq(rep->integer, i);
        else
            cr_assert_str_eq(rep->str, "2");
        freeReplyObject(rep);
    }
    /* MULTI/EXEC: one unit, one array reply */
    expect_str(c, "OK", "MULTI");
    expect_str(c, "QUEUED", "SET a 1");
    expect_str(c, "QUEUED", "INCR a");
    int before = r.hook.proposals;
    rep = cmd(c, "EXEC");
    cr_assert_eq(rep->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(rep->elements, 2);
    cr_assert_str_eq(rep->element[0]->str, "OK");
    cr_assert_eq(rep->element[1]->integer, 2);
    freeReplyObject(rep);
    cr_assert_eq(r.hook.proposals, before + 1);
    cr_assert_eq(r.hook.multis, 1);
    /* a unit from elsewhere (id 0): applied, nobody answered */
    expect_str(c, "OK", "SELECT 3");
    expect_str(c, "OK", "SET here 1"); /* db 3 travels in the unit */
    expect_str(c, "1", "GET here");
    cr_assert(r.hook.gated > 0);
    r.hook.inject = 1;
    for (int i = 0; i < 500 && r.hook.inject != 2; i++)
        usleep(10000);
    cr_assert_eq(r.hook.inject, 2);
    expect_str(c, "OK", "SELECT 0");
    expect_str(c, "r", "GET remote");
    stop(&r, c);
    cr_assert_eq(r.rc, 0);
}

Test(redis_hook, writes_wait_for_apply_and_units_are_whole)
{
    write_scenario(M_QUEUE);
}

Test(redis_hook, hook_applying_inside_propose)
{
    write_scenario(M_SYNC);
}

Test(redis_hook, reads_wait_for_release)
{
    write_scenario(M_WAIT_READS);
}

Test(redis_hook, expiry_is_proposed_not_applied_by_clock)
{
    running r;
    redisContext *c = start(&r, M_QUEUE);
    redisReply *rep;

    expect_str(c, "OK", "SET e v PX 30");
    for (int i = 0; i < 200 && r.hook.expired_units == 0; i++)
        usleep(10000);
    cr_assert(r.hook.expired_units > 0, "the sweeper proposed nothing");
    cr_assert_str_eq(r.hook.expired_key, "e");
    /* FFDB-EXPIRED deletes only what is expired by its clock */
    expect_str(c, "OK", "SET live v");
    rep = cmd(c, "FFDB-EXPIRED live");
    cr_assert_eq(rep->integer, 0);
    freeReplyObject(rep);
    expect_str(c, "v", "GET live");
    stop(&r, c);
}

Test(redis_hook, refusing_hook)
{
    running r;
    redisContext *c = start(&r, M_REFUSE);

    expect_str(c, "READONLY You can't write against a read only replica.", "SET k v");
    expect_str(c, "MOVED 0 127.0.0.1:1", "GET k");
    expect_str(c, "PONG", "PING");
    stop(&r, c);
}

Test(redis_hook, pubsub_bridge_subscriber_and_observer)
{
    running r;
    redisContext *c = start(&r, M_QUEUE), *b;
    redisReply *rep;
    struct timeval tv = {5, 0};

    rep = cmd(c, "PUBLISH news hello");
    cr_assert_eq(rep->integer, 7); /* bridge 2 + observer 5 */
    freeReplyObject(rep);
    cr_assert_eq(r.hook.bridge_msgs, 1);
    cr_assert_eq(r.hook.observed, 1);
    b = redisConnectWithTimeout("127.0.0.1", r.hook.port, tv);
    cr_assert(b && !b->err);
    redisSetTimeout(b, tv);
    rep = cmd(b, "SUBSCRIBE news");
    freeReplyObject(rep);
    rep = cmd(c, "PUBLISH news x");
    cr_assert_eq(rep->integer, 8);
    freeReplyObject(rep);
    cr_assert_eq(redisGetReply(b, (void **)&rep), REDIS_OK);
    cr_assert_str_eq(rep->element[2]->str, "x");
    freeReplyObject(rep);
    /* a remote message: to the client, not back to the bridge, not observed */
    r.hook.inject_pub = 1;
    cr_assert_eq(redisGetReply(b, (void **)&rep), REDIS_OK);
    cr_assert_str_eq(rep->element[2]->str, "remote");
    freeReplyObject(rep);
    cr_assert_eq(r.hook.inject_pub, 2);
    cr_assert_eq(r.hook.bridge_msgs, 2);
    cr_assert_eq(r.hook.observed, 2);
    redisFree(b);
    stop(&r, c);
}

/* ---- extensions (redis_extension): attach, a command of their own, INFO, detach ---- */

typedef struct test_ext {
    int attached, detached, commands;
    int fail; /* attach refuses: the server must not start */
} test_ext;

static int ext_attach(void *arg, redis_server *s, char *err, size_t errlen)
{
    test_ext *x = arg;
    (void)s;
    if (x->fail) {
        snprintf(err, errlen, "refused by the test");
        return -1;
    }
    x->attached++;
    return 0;
}

static void ext_detach(void *arg, redis_server *s)
{
    test_ext *x = arg;
    (void)s;
    x->detached++;
}

static int ext_command(void *arg, redis_client *c, int argc, const resp_arg *argv, resp_reply *r)
{
    test_ext *x = arg;
    (void)c;
    if (argc != 1 || !resp_arg_is(&argv[0], "ext.ping"))
        return 0;
    x->commands++;
    reply_simple(r, "EXT-PONG");
    return 1;
}

static void ext_info(void *arg, net_buf *b)
{
    test_ext *x = arg;
    char line[64];
    int n = snprintf(line, sizeof(line), "ext_commands:%d\r\n", x->commands);
    net_buf_append(b, line, (size_t)n);
}

static const struct redis_extension ext_ops = {"testext", ext_attach, ext_detach, ext_command, ext_info};

Test(redis_hook, extension_serves_commands_and_info)
{
    running r;
    test_ext x = {0};
    redis_config cfg;
    redisContext *c;
    redisReply *rep;

    redis_config_init(&cfg);
    for (int i = 0; i < REDIS_MAX_EXTENSIONS; i++)
        cr_assert_eq(redis_config_add_extension(&cfg, &ext_ops, &x), 0);
    cr_assert_eq(redis_config_add_extension(&cfg, &ext_ops, &x), FFDB_EINVAL);
    redis_config_free(&cfg);

    c = start_ext(&r, M_QUEUE, &x);
    cr_assert_eq(x.attached, 1);
    expect_str(c, "EXT-PONG", "EXT.PING");
    rep = cmd(c, "INFO testext");
    cr_assert(strstr(rep->str, "# Testext\r\next_commands:1\r\n"), "%s", rep->str);
    cr_assert_null(strstr(rep->str, "# Server"));
    freeReplyObject(rep);
    rep = cmd(c, "INFO");
    cr_assert(strstr(rep->str, "ext_commands:1"));
    freeReplyObject(rep);
    rep = cmd(c, "INFO server");
    cr_assert_null(strstr(rep->str, "ext_commands"));
    freeReplyObject(rep);
    stop(&r, c);
    cr_assert_eq(x.detached, 1);
}

Test(redis_hook, extension_that_cannot_attach_stops_the_start)
{
    redis_config cfg;
    test_ext x = {0};
    char err[256];

    x.fail = 1;
    redis_config_init(&cfg);
    cr_assert_eq(net_config_set(&cfg.reg, "port", "0", 1, err, sizeof(err)), 0);
    cr_assert_eq(net_config_set(&cfg.reg, "bind", "127.0.0.1", 1, err, sizeof(err)), 0);
    cr_assert_eq(net_config_set(&cfg.reg, "dbfilename", tu_path("extfail.ffdb"), 1, err,
                                sizeof(err)),
                 0);
    cr_assert_eq(net_config_set(&cfg.reg, "loglevel", "warning", 1, err, sizeof(err)), 0);
    cr_assert_eq(redis_config_add_extension(&cfg, &ext_ops, &x), 0);
    cr_assert_neq(redis_server_run(&cfg), 0); /* returns, does not serve */
    cr_assert_eq(x.attached, 0);
    cr_assert_eq(x.detached, 0);
    redis_config_free(&cfg);
}
