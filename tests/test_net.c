/*
 * test_net.c — modules/net without a protocol server: the loop's timers,
 * watches and hooks under a fake clock (deterministic: no sleeps), the
 * config tables (defaults, bounds, start-up-only, aliases, text parameters,
 * files), and a service over loopback with an echo protocol (port 0,
 * outbound connect, back-pressure, close-after-flush) through a socket
 * seam that injects short writes and EAGAIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "modules/net/batch.h"
#include "modules/net/config.h"
#include "modules/net/conn.h"
#include "modules/net/loop.h"
#include "modules/net/text.h"
#include "tests/testutil.h"

TestSuite(net_loop, .timeout = 30);
TestSuite(net_config, .init = tu_setup, .fini = tu_teardown, .timeout = 30);
TestSuite(net_conn, .timeout = 60);

/* ---- a fake clock ---------------------------------------------------------------------------- */

static int64_t fake_us;

static int64_t fake_mono(void *arg)
{
    (void)arg;
    return fake_us;
}

static int64_t fake_wall(void *arg)
{
    (void)arg;
    return 1700000000000000LL + fake_us;
}

static const net_clock fake_clock = {fake_mono, fake_wall, NULL};

static net_loop *fake_loop(void)
{
    net_loop_options o = {0};
    net_loop *l;

    fake_us = 1000000;
    o.clock = &fake_clock;
    cr_assert_eq(net_loop_new(&o, &l), 0);
    return l;
}

/* ---- timers ------------------------------------------------------------------------------------
 */

struct fired {
    int count;
    int64_t at_ms[16];
    net_timer *cancel; /* cancel this one when fired */
};

static void on_timer(net_timer *t, void *arg)
{
    struct fired *f = arg;

    (void)t;
    if (f->count < 16)
        f->at_ms[f->count] = fake_us / 1000;
    f->count++;
    if (f->cancel)
        net_timer_cancel(f->cancel);
}

/* Advance the fake clock to ms and run one iteration that cannot block. */
static void step_to(net_loop *l, int64_t ms)
{
    fake_us = ms * 1000;
    cr_assert_geq(net_loop_run_once(l, 0), 0);
}

Test(net_loop, one_shot_periodic_and_cancel)
{
    net_loop *l = fake_loop();
    struct fired once = {0}, every = {0}, never = {0};
    net_timer *t1 = net_timer_add(l, 50, 0, on_timer, &once);
    net_timer *t2 = net_timer_add(l, 10, 100, on_timer, &every);
    net_timer *t3 = net_timer_add(l, 800, 0, on_timer, &never);

    cr_assert(t1 && t2 && t3);
    step_to(l, 1009);
    cr_assert_eq(once.count + every.count, 0, "nothing is due before its time");
    step_to(l, 1010);
    cr_assert_eq(every.count, 1);
    step_to(l, 1050);
    cr_assert_eq(once.count, 1);
    cr_assert_not(net_timer_armed(t1), "a one-shot that fired sleeps");
    step_to(l, 1400); /* behind by three periods: one call, not a burst */
    cr_assert_eq(every.count, 2);
    step_to(l, 1499);
    cr_assert_eq(every.count, 2, "the period restarts from the late call");
    step_to(l, 1500);
    cr_assert_eq(every.count, 3);
    net_timer_cancel(t3);
    step_to(l, 2000);
    cr_assert_eq(never.count, 0, "a cancelled timer never fires");
    net_timer_again(t1, 5);
    step_to(l, 2005);
    cr_assert_eq(once.count, 2, "again() re-arms a one-shot");
    net_loop_free(l);
}

Test(net_loop, cancel_inside_a_callback_skips_the_victim)
{
    net_loop *l = fake_loop();
    struct fired a = {0}, b = {0};
    net_timer *ta = net_timer_add(l, 10, 0, on_timer, &a);
    net_timer *tb = net_timer_add(l, 10, 0, on_timer, &b);

    cr_assert(ta && tb);
    a.cancel = tb; /* both due in the same pass: a runs first and cancels b */
    step_to(l, 1010);
    cr_assert_eq(a.count, 1);
    cr_assert_eq(b.count, 0);
    net_loop_free(l);
}

Test(net_loop, the_wait_ends_at_the_next_deadline)
{
    net_loop *l;
    struct fired f = {0};
    int64_t before;

    /* A real clock here: the loop must come back when the timer is due,
     * without an event. */
    cr_assert_eq(net_loop_new(NULL, &l), 0);
    cr_assert(net_timer_add(l, 20, 0, on_timer, &f));
    before = net_loop_mono_ms(l);
    for (int i = 0; i < 100 && f.count == 0; i++)
        cr_assert_geq(net_loop_run_once(l, -1), 0);
    cr_assert_eq(f.count, 1);
    cr_assert_geq(net_loop_mono_ms(l) - before, 20);
    net_loop_wake_by(l, 0); /* a poll: returns at once with nothing to do */
    cr_assert_eq(net_loop_run_once(l, -1), 0);
    net_loop_free(l);
}

/* ---- watches and hooks
 * --------------------------------------------------------------------------- */

struct order {
    char log[64];
    int n;
};

static net_watch *watch_a, *watch_b; /* each callback removes the other */

static void note(struct order *o, char c)
{
    if (o->n < 63)
        o->log[o->n++] = c;
}

static void on_readable(net_watch *w, unsigned events, void *arg)
{
    net_watch **other = w == watch_a ? &watch_b : &watch_a;
    char buf[16];

    cr_assert(events & NET_EV_READ);
    note(arg, 'r');
    cr_assert_gt(read(net_watch_fd(w), buf, sizeof(buf)), 0);
    net_watch_del(*other); /* L1: its event of this wait is not delivered */
    *other = NULL;
}

static void hook_after(net_loop *l, int nevents, void *arg)
{
    (void)l;
    note(arg, nevents ? 'A' : 'a');
}

static void hook_before(net_loop *l, int nevents, void *arg)
{
    (void)l, (void)nevents;
    note(arg, 'B');
}

static void timer_note(net_timer *t, void *arg)
{
    (void)t;
    note(arg, 'T');
}

Test(net_loop, one_iteration_in_order_and_removed_watches_stay_quiet)
{
    net_loop *l;
    struct order o = {0};
    int p1[2], p2[2];

    cr_assert_eq(net_loop_new(NULL, &l), 0);
    cr_assert_eq(pipe(p1), 0);
    cr_assert_eq(pipe(p2), 0);
    watch_a = net_watch_add(l, p1[0], NET_EV_READ, on_readable, &o);
    watch_b = net_watch_add(l, p2[0], NET_EV_READ, on_readable, &o);
    cr_assert(watch_a && watch_b);
    cr_assert_eq(net_hook_add(l, NET_HOOK_AFTER_EVENTS, hook_after, &o), 0);
    cr_assert_eq(net_hook_add(l, NET_HOOK_BEFORE_SLEEP, hook_before, &o), 0);
    cr_assert(net_timer_add(l, 0, 0, timer_note, &o));
    cr_assert_eq(write(p1[1], "x", 1), 1);
    cr_assert_eq(write(p2[1], "y", 1), 1);
    cr_assert_eq(net_loop_run_once(l, 1000), 2, "both were ready in the same wait");
    /* One callback (it removed the other before its turn), then the
     * after-events hook, the timer, the before-sleep hook. */
    cr_assert_str_eq(o.log, "rATB");
    net_watch_del(watch_a ? watch_a : watch_b);
    close(p1[0]), close(p1[1]), close(p2[0]), close(p2[1]);
    net_loop_free(l);
}

/* ---- config
 * -------------------------------------------------------------------------------------- */

struct mod_cfg {
    int level;
    uint64_t bytes;
    int flag;
    char path[16];
    int mode;
    int fixed;
    int custom;
};

static const char *const modes[] = {"low", "high", NULL};

static int set_custom(void *base, const char *v, int startup, char *err, size_t errlen)
{
    (void)startup;
    if (strcmp(v, "odd") && strcmp(v, "even")) {
        snprintf(err, errlen, "odd or even");
        return -1;
    }
    ((struct mod_cfg *)base)->custom = v[0] == 'o';
    return 0;
}

static void get_custom(const void *base, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", ((const struct mod_cfg *)base)->custom ? "odd" : "even");
}

static const net_param mod_params[] = {
    {.name = "level",
     .type = NET_PARAM_INT,
     .offset = offsetof(struct mod_cfg, level),
     .min = 1,
     .max = 9,
     .def = "5",
     .bad = "level 1..9"},
    {.name = "bytes",
     .type = NET_PARAM_MEMORY,
     .offset = offsetof(struct mod_cfg, bytes),
     .min = 1024,
     .def = "1kb",
     .flags = NET_PARAM_ZERO_OK},
    {.name = "plain",
     .type = NET_PARAM_BOOL,
     .offset = offsetof(struct mod_cfg, flag),
     .def = "yes",
     .flags = NET_PARAM_INVERT},
    {.name = "path",
     .type = NET_PARAM_STRING,
     .offset = offsetof(struct mod_cfg, path),
     .size = 16,
     .def = "here"},
    {.name = "path-alias",
     .type = NET_PARAM_STRING,
     .offset = offsetof(struct mod_cfg, path),
     .size = 16,
     .flags = NET_PARAM_HIDDEN},
    {.name = "mode",
     .type = NET_PARAM_ENUM,
     .offset = offsetof(struct mod_cfg, mode),
     .names = modes,
     .def = "high"},
    {.name = "fixed",
     .type = NET_PARAM_INT,
     .offset = offsetof(struct mod_cfg, fixed),
     .min = 0,
     .max = 100,
     .def = "7",
     .flags = NET_PARAM_STARTUP},
    {.name = "parity",
     .type = NET_PARAM_CUSTOM,
     .def = "odd",
     .set = set_custom,
     .get = get_custom},
    {.name = "legacy", .type = NET_PARAM_TEXT, .def = "old"},
    {.name = NULL},
};

static void get_eq(net_config *c, const char *name, const char *want)
{
    char buf[128];
    cr_assert_eq(net_config_get(c, name, buf, sizeof(buf)), 0, "%s", name);
    cr_assert_str_eq(buf, want, "%s", name);
}

Test(net_config, defaults_bounds_and_types)
{
    struct mod_cfg m;
    net_config c;
    char err[256];

    memset(&m, 0, sizeof(m));
    net_config_init(&c);
    cr_assert_eq(net_config_register(&c, mod_params, &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(m.level, 5);
    cr_assert_eq(m.bytes, 1024);
    cr_assert_eq(m.flag, 0, "inverted: yes is stored as 0");
    cr_assert_str_eq(m.path, "here");
    cr_assert_eq(m.mode, 1);
    get_eq(&c, "parity", "odd");
    get_eq(&c, "legacy", "old");

    cr_assert_neq(net_config_set(&c, "level", "10", 0, err, sizeof(err)), 0);
    cr_assert_str_eq(err, "level 1..9");
    cr_assert_neq(net_config_set(&c, "level", "5x", 0, err, sizeof(err)), 0);
    cr_assert_eq(net_config_set(&c, "LEVEL", "9", 0, err, sizeof(err)), 0, "names ignore case");
    cr_assert_eq(m.level, 9);
    cr_assert_eq(net_config_set(&c, "bytes", "0", 0, err, sizeof(err)), 0, "zero allowed");
    cr_assert_neq(net_config_set(&c, "bytes", "1000", 0, err, sizeof(err)), 0, "below min");
    cr_assert_eq(net_config_set(&c, "bytes", "2mb", 0, err, sizeof(err)), 0);
    cr_assert_eq(m.bytes, 2u * 1024 * 1024);
    cr_assert_eq(net_config_set(&c, "bytes", "3g", 0, err, sizeof(err)), 0);
    get_eq(&c, "bytes", "3000000000");
    cr_assert_neq(net_config_set(&c, "path", "0123456789abcdef", 0, err, sizeof(err)), 0);
    cr_assert_str_eq(err, "value too long");
    cr_assert_eq(net_config_set(&c, "path-alias", "there", 0, err, sizeof(err)), 0);
    get_eq(&c, "path", "there");
    cr_assert_neq(net_config_set(&c, "mode", "medium", 0, err, sizeof(err)), 0);
    cr_assert_eq(net_config_set(&c, "mode", "LOW", 0, err, sizeof(err)), 0);
    get_eq(&c, "mode", "low");
    cr_assert_neq(net_config_set(&c, "fixed", "8", 0, err, sizeof(err)), 0);
    cr_assert_str_eq(err, "can't set immutable config");
    cr_assert_eq(net_config_set(&c, "fixed", "8", 1, err, sizeof(err)), 0, "at start-up it may");
    cr_assert_neq(net_config_set(&c, "parity", "prime", 0, err, sizeof(err)), 0);
    cr_assert_str_eq(err, "odd or even");
    cr_assert_eq(net_config_set(&c, "legacy", "new value", 0, err, sizeof(err)), 0);
    get_eq(&c, "legacy", "new value");
    cr_assert_neq(net_config_set(&c, "nosuch", "1", 1, err, sizeof(err)), 0);
    cr_assert_str_eq(err, "Unknown option or number of arguments for CONFIG SET - 'nosuch'");
    net_config_free(&c);
}

static int count_each(void *arg, const net_param *p, const char *value)
{
    (void)value;
    cr_assert_str_neq(p->name, "path-alias", "hidden parameters are not listed");
    (*(int *)arg)++;
    return 0;
}

Test(net_config, tables_file_and_listing)
{
    struct mod_cfg m;
    static const net_param dup[] = {{.name = "Level", .type = NET_PARAM_TEXT}, {.name = NULL}};
    net_config c;
    char err[256];
    const char *path = tu_path("test.conf");
    FILE *f = fopen(path, "w");
    int listed = 0;

    cr_assert(f);
    fprintf(f, "# a comment\n\nlevel 3\n  path \"a b\\x21\"\nlegacy one two  three\n");
    fclose(f);
    memset(&m, 0, sizeof(m));
    net_config_init(&c);
    cr_assert_eq(net_config_register(&c, mod_params, &m, err, sizeof(err)), 0);
    cr_assert_neq(net_config_register(&c, dup, NULL, err, sizeof(err)), 0, "a name twice");
    cr_assert_eq(net_config_load(&c, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(m.level, 3);
    cr_assert_str_eq(m.path, "a b!");
    get_eq(&c, "legacy", "one two three");
    cr_assert_str_eq(c.file, path);
    net_config_each(&c, count_each, &listed);
    cr_assert_eq(listed, 8);

    f = fopen(path, "w");
    fprintf(f, "level 3\nlevel 12\n");
    fclose(f);
    cr_assert_neq(net_config_load(&c, path, err, sizeof(err)), 0);
    cr_assert(strstr(err, ":2: 'level': level 1..9"), "%s", err);
    f = fopen(path, "w");
    fprintf(f, "path \"open\n");
    fclose(f);
    cr_assert_neq(net_config_load(&c, path, err, sizeof(err)), 0);
    cr_assert(strstr(err, "unbalanced quotes"), "%s", err);
    net_config_free(&c);
}

Test(net_config, split_args_is_redis_grammar)
{
    char line[] = "set \"k\\x41\\n\" 'it\\'s' plain";
    net_span v[8];
    long n = net_split_args(line, strlen(line), 0, v, 8);

    cr_assert_eq(n, 4);
    cr_assert_eq(v[1].len, 3);
    cr_assert_eq(memcmp(line + v[1].off, "kA\n", 3), 0);
    cr_assert_eq(memcmp(line + v[2].off, "it's", 4), 0);
    cr_assert_eq(hex_digit('F'), 15);
    cr_assert_eq(hex_digit('g'), -1);
    {
        char bad[] = "a \"b\"c";
        cr_assert_eq(net_split_args(bad, strlen(bad), 0, NULL, 0), -1);
    }
}

/* ---- a service with an echo protocol
 * -------------------------------------------------------------- */

/* The seam: writes at most 7 bytes and fails every third write with EAGAIN. */
static int seam_writes;

static ssize_t choppy_write(void *arg, int fd, const void *buf, size_t n)
{
    (void)arg;
    if (++seam_writes % 3 == 0)
        return -EAGAIN;
    n = n > 7 ? 7 : n;
    ssize_t r = write(fd, buf, n);
    return r < 0 ? -errno : r;
}

struct echo {
    int accepted, closed, connected;
    net_conn *client; /* our outbound connection */
    char got[4096];   /* what the outbound side received */
    size_t got_len;
};

static int echo_accept(net_conn *c)
{
    struct echo *e = c->svc->arg;

    if (c->flags & NET_CONN_OUTBOUND)
        e->connected++;
    else
        e->accepted++;
    return 0;
}

/* Server side: echo every line back; "quit" closes after the reply.
 * Client side: collect. */
static void echo_input(net_conn *c)
{
    struct echo *e = c->svc->arg;

    if (c->flags & NET_CONN_OUTBOUND) {
        size_t n = net_conn_pending_input(c);
        if (n > sizeof(e->got) - e->got_len)
            n = sizeof(e->got) - e->got_len;
        memcpy(e->got + e->got_len, c->in + c->in_start, n);
        e->got_len += n;
        c->in_start = c->in_len;
        return;
    }
    for (;;) {
        char *start = c->in + c->in_start;
        char *nl = memchr(start, '\n', net_conn_pending_input(c));
        size_t len;
        if (!nl)
            return;
        len = (size_t)(nl - start) + 1;
        net_buf_append(&c->out, start, len);
        c->in_start += len;
        net_conn_mark_flush(c);
        if (len == 5 && !memcmp(start, "quit\n", 5))
            net_conn_close(c, 1);
    }
}

static void echo_close(net_conn *c)
{
    struct echo *e = c->svc->arg;
    e->closed++;
    if (c == e->client)
        e->client = NULL;
}

static void echo_flush(net_loop *l, int nevents, void *arg)
{
    (void)l, (void)nevents;
    net_service_flush(arg);
}

static const net_proto echo_proto = {
    .name = "echo",
    .accept = echo_accept,
    .input = echo_input,
    .close = echo_close,
};

static void send_on(net_conn *c, const char *text)
{
    net_buf_append(&c->out, text, strlen(text));
    net_conn_mark_flush(c);
}

/* Run the loop until cond or a bounded number of iterations. */
#define RUN_UNTIL(l, cond)                                                                         \
    do {                                                                                           \
        for (int i_ = 0; i_ < 2000 && !(cond); i_++)                                               \
            cr_assert_geq(net_loop_run_once((l), 10), 0);                                          \
        cr_assert(cond, "%s", #cond);                                                              \
    } while (0)

Test(net_conn, echo_over_loopback_through_a_choppy_seam)
{
    net_sock_ops seam = *net_sock_posix();
    net_loop_options o = {0};
    net_service_config cfg = {0};
    net_logger log = {NET_LOG_WARNING, ""};
    struct echo e = {0};
    net_service svc;
    net_loop *l;
    net_conn *c;

    seam.write = choppy_write;
    o.sock = &seam;
    cr_assert_eq(net_loop_new(&o, &l), 0);
    strcpy(cfg.bind[0], "127.0.0.1");
    cfg.bind_count = 1;
    cfg.maxclients = 4;
    cr_assert_eq(net_service_init(&svc, l, &echo_proto, &e, &cfg, &log), 0);
    cr_assert_eq(net_hook_add(l, NET_HOOK_AFTER_EVENTS, echo_flush, &svc), 0);
    cr_assert_eq(net_service_listen(&svc), 0);
    cr_assert_gt(svc.port, 0, "port 0 binds a free port");

    cr_assert_eq(net_service_connect(&svc, "127.0.0.1", svc.port, NULL, &c), 0);
    e.client = c;
    RUN_UNTIL(l, e.connected == 1 && e.accepted == 1);
    send_on(c, "hello, choppy world\nsecond line\n");
    RUN_UNTIL(l, e.got_len == 32);
    cr_assert_eq(memcmp(e.got, "hello, choppy world\nsecond line\n", 32), 0);
    cr_assert_gt(seam_writes, 8, "short writes and EAGAIN were taken in turn");
    send_on(c, "quit\n");
    RUN_UNTIL(l, e.closed == 2); /* the server side after its reply, then ours at EOF */
    cr_assert_eq(e.got_len, 37);
    cr_assert_eq(svc.conn_count, 0);
    net_service_free(&svc);
    net_loop_free(l);
}

Test(net_conn, refused_connect_reports_through_close)
{
    net_loop *l;
    net_service_config cfg = {0};
    net_logger log = {NET_LOG_WARNING + 1, ""};
    struct echo e = {0};
    net_service svc;
    net_conn *c;
    int port;

    cr_assert_eq(net_loop_new(NULL, &l), 0);
    cfg.maxclients = 1;
    cr_assert_eq(net_service_init(&svc, l, &echo_proto, &e, &cfg, &log), 0);
    /* A port nobody listens on: bind one, close it. */
    {
        char err[128];
        int fd = net_listen_tcp("127.0.0.1", 0, &port, err, sizeof(err));
        cr_assert_geq(fd, 0);
        close(fd);
    }
    /* Refused at once (-1, logged) or later: then the close hook says so. */
    if (net_service_connect(&svc, "127.0.0.1", port, NULL, &c) == 0) {
        e.client = c;
        RUN_UNTIL(l, e.closed == 1);
        cr_assert_eq(e.connected, 0);
    }
    cr_assert_eq(svc.conn_count, 0);
    net_service_free(&svc);
    net_loop_free(l);
}

/* ---- back-pressure: a reader that does not read
 * ---------------------------------------------------- */

static void flood_input(net_conn *c)
{
    /* Every byte in asks for 64 KiB out. */
    static char chunk[64 * 1024];
    size_t n = net_conn_pending_input(c);

    for (size_t i = 0; i < n && !net_conn_backpressured(c); i++) {
        net_buf_append(&c->out, chunk, sizeof(chunk));
        c->in_start++;
    }
    net_conn_mark_flush(c);
}

static const net_proto flood_proto = {.name = "flood", .input = flood_input};

Test(net_conn, backpressure_pauses_reading)
{
    net_loop *l;
    net_service_config cfg = {0};
    net_logger log = {NET_LOG_WARNING, ""};
    net_service svc;
    char err[128];
    int fd, rcvbuf = 4096;
    struct sockaddr_storage sa;
    socklen_t len;
    char req[256];

    cr_assert_eq(net_loop_new(NULL, &l), 0);
    strcpy(cfg.bind[0], "127.0.0.1");
    cfg.bind_count = 1;
    cfg.maxclients = 2;
    cr_assert_eq(net_service_init(&svc, l, &flood_proto, NULL, &cfg, &log), 0);
    cr_assert_eq(net_hook_add(l, NET_HOOK_AFTER_EVENTS, echo_flush, &svc), 0);
    cr_assert_eq(net_service_listen(&svc), 0);
    cr_assert_eq(net_socket_for("127.0.0.1", svc.port, &fd, &sa, &len, err, sizeof(err)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    cr_assert(connect(fd, (struct sockaddr *)&sa, len) == 0 || errno == EINPROGRESS);
    memset(req, 'x', sizeof(req));
    RUN_UNTIL(l, svc.conn_count == 1 && write(fd, req, sizeof(req)) > 0);
    for (int i = 0; i < 50; i++)
        cr_assert_geq(net_loop_run_once(l, 5), 0);
    /* We never read: its output is over the mark, reading is paused, and
     * the pending input is not all consumed. */
    cr_assert(net_conn_backpressured(svc.conns));
    cr_assert(svc.conns->flags & NET_CONN_NO_READ);
    cr_assert_lt(net_buf_pending(&svc.conns->out), NET_OUT_BACKPRESSURE + 128 * 1024,
                 "output stops growing at the mark");
    close(fd);
    net_service_free(&svc);
    net_loop_free(l);
}
