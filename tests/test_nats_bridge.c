/*
 * test_nats_bridge.c — ffdb-server --nats end to end: a real nats-server
 * (tests/test_nats_util.h) and real ffdb-server processes on free loopback
 * ports (tests/test_resp_util.h), everything killed at the suite's end.
 *
 *   fanout         PUBLISH on node 1 reaches SUBSCRIBE on node 3 and
 *                  PSUBSCRIBE on node 2 (a --crdt node) once each, in order;
 *                  node 1's own subscriber gets it once, never echoed back;
 *                  PUBLISH answers the local receivers
 *   binary         channel names of any bytes ('.', '*', '>', spaces, NUL,
 *                  empty, 1,000 random bytes) round-trip, to a channel and
 *                  to a pattern subscriber
 *   namespaces     two namespaces on one nats-server do not see each other
 *   restart        nats-server killed and restarted: the nodes see it go,
 *                  reconnect, and messages flow again to the subscribers
 *                  that stayed
 *   malformed      a raw NATS client publishes a subject that is not of the
 *                  scheme and a payload over proto-max-bulk-len: dropped
 *                  and counted, no client sees them, the server lives; a
 *                  plain message of the same raw client is delivered
 *   before_nats    --nats to a port nothing listens on: the server starts,
 *                  and connects when nats-server comes up
 *   bad_url        --nats that is not a URL list: the server refuses to
 *                  start and its log says why
 *   cluster        three --cluster nodes: a PUBLISH inside a replicated
 *                  MULTI reaches every node's subscriber once and only the
 *                  node that took it forwards it to NATS; PTR.* are off
 *                  beside --cluster, --nats-records yes is refused
 *
 * "Once" is checked without sleeping: after the message under test a
 * marker follows on the same path, and the next message a subscriber
 * reads must be the marker (a duplicate or an echo would come first:
 * one connection's messages keep their order through nats-server).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test_nats_util.h"
#include "tests/test_proc.h"
#include "tests/test_resp_util.h"
#include "tests/testutil.h"

static void teardown(void)
{
    tn_teardown();
    rs_teardown();
}

TestSuite(nats_bridge, .init = rs_setup, .fini = teardown, .timeout = 120);

#define WAIT_MS 10000

typedef struct node {
    rs_server *s;
    int fd;
} node;

/* A server on the bus: --nats url [--namespace ns] and more (NULL-ended). */
static void node_start(node *n, const char *url, const char *ns, ...)
{
    const char *extra[16];
    int k = 0;
    va_list ap;

    extra[k++] = "--nats";
    extra[k++] = url;
    if (ns) {
        extra[k++] = "--namespace";
        extra[k++] = ns;
    }
    va_start(ap, ns);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
        cr_assert(k < 15);
        extra[k++] = a;
    }
    va_end(ap);
    extra[k] = NULL;
    n->s = rs_start(extra);
    n->fd = rs_connect(n->s);
}

static int64_t nats_info(node *n, const char *field)
{
    char name[64];

    snprintf(name, sizeof(name), "nats_%s", field);
    return rs_info_int(n->fd, name);
}

/* Bounded wait until INFO's nats_connected is want. */
static void wait_connected(node *n, int want)
{
    int64_t deadline = tn_mono_ms() + WAIT_MS;

    while (nats_info(n, "connected") != want) {
        cr_assert(tn_mono_ms() < deadline, "nats_connected never became %d; log:\n%s", want,
                  rs_log(n->s));
        rs_sleep_ms(20);
    }
}

/* One reply within ms (NULL if none came); tiny messages only: a timeout
 * in the middle of a reply would lose its start. */
static rs_reply *read_within(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000}, back = {RS_TIMEOUT_MS / 1000, 0};
    rs_reply *r;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    r = rs_read(fd);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &back, sizeof(back));
    return r;
}

/* A connection subscribed (verb SUBSCRIBE or PSUBSCRIBE) to count names. */
static int subscriber(node *n, const char *verb, int count, const char *const *names,
                      const size_t *lens)
{
    const char *argv[64];
    size_t alen[64];
    int fd = rs_connect(n->s);

    cr_assert(count < 63);
    argv[0] = verb;
    alen[0] = strlen(verb);
    for (int i = 0; i < count; i++) {
        argv[i + 1] = names[i];
        alen[i + 1] = lens ? lens[i] : strlen(names[i]);
    }
    rs_sendv(fd, count + 1, argv, alen);
    for (int i = 0; i < count; i++) {
        rs_reply *r = rs_read(fd);
        cr_assert(r && r->count == 3, "%s: %s", verb, r ? rs_text(r) : "nothing");
    }
    return fd;
}

static int sub1(node *n, const char *verb, const char *name)
{
    return subscriber(n, verb, 1, &name, NULL);
}

/* The next message on fd is (pattern or NULL, channel, message). */
static void expect_bytes(int fd, const char *pattern, const void *ch, size_t chlen, const char *msg)
{
    rs_reply *r = rs_read(fd);
    size_t at = pattern ? 2 : 1;

    cr_assert(r, "no message where \"%s\" was due", msg);
    cr_assert(r->count == at + 2, "%s", rs_text(r));
    cr_assert_str_eq(r->elems[0]->str, pattern ? "pmessage" : "message", "%s", rs_text(r));
    if (pattern)
        cr_assert_str_eq(r->elems[1]->str, pattern);
    cr_assert(r->elems[at]->len == chlen && memcmp(r->elems[at]->str, ch, chlen) == 0,
              "channel of %s", rs_text(r));
    cr_assert_str_eq(r->elems[at + 1]->str, msg, "%s", rs_text(r));
}

static void expect(int fd, const char *pattern, const char *ch, const char *msg)
{
    expect_bytes(fd, pattern, ch, strlen(ch), msg);
}

/* Until every receiver's bridge subscription is live at nats-server: probes
 * from `from` until each receiver has seen one (its own "warm" subscriber,
 * closed after: late probes go nowhere). */
static void warm(node *from, node **to, int count)
{
    int fds[8], seen = 0, done[8] = {0};

    cr_assert(count <= 8);
    wait_connected(from, 1);
    for (int i = 0; i < count; i++) {
        wait_connected(to[i], 1);
        fds[i] = sub1(to[i], "SUBSCRIBE", "warm");
    }
    for (int round = 0; seen < count; round++) {
        cr_assert(round < 100, "the bridge never delivered a probe");
        Q(from->fd, "PUBLISH", "warm", "probe");
        for (int i = 0; i < count; i++)
            if (!done[i] && read_within(fds[i], 100)) {
                done[i] = 1;
                seen++;
            }
    }
    for (int i = 0; i < count; i++)
        rs_close(fds[i]);
}

Test(nats_bridge, fanout)
{
    tn_nats *bus = tn_start();
    node n1, n2, n3;
    char dir[600], m[32], *tail;

    snprintf(dir, sizeof(dir), "%s/crdt", tu_path(""));
    cr_assert_eq(mkdir(dir, 0700), 0);
    node_start(&n1, bus->url, NULL, NULL);
    node_start(&n2, bus->url, NULL, "--crdt", "yes", "--dir", dir, NULL);
    node_start(&n3, bus->url, NULL, NULL);
    warm(&n1, (node *[]){&n2, &n3}, 2);
    warm(&n2, (node *[]){&n1}, 1);

    int s3 = sub1(&n3, "SUBSCRIBE", "ch"), p2 = sub1(&n2, "PSUBSCRIBE", "c*"),
        s1 = sub1(&n1, "SUBSCRIBE", "ch");
    cr_assert_str_eq(Q(n1.fd, "PUBLISH", "ch", "m1"), ":1"); /* the local receivers (B5) */
    cr_assert_str_eq(Q(n1.fd, "PUBLISH", "ch", "end1"), ":1");
    expect(s3, NULL, "ch", "m1");
    expect(s3, NULL, "ch", "end1");
    expect(p2, "c*", "ch", "m1");
    expect(p2, "c*", "ch", "end1");
    expect(s1, NULL, "ch", "m1");
    expect(s1, NULL, "ch", "end1");
    /* node 3 has end1, so nats-server passed m1 and end1 on: an echo to
     * node 1 or a second copy anywhere would now come before end2 */
    cr_assert_str_eq(Q(n2.fd, "PUBLISH", "ch", "end2"), ":1");
    expect(s1, NULL, "ch", "end2");
    expect(s3, NULL, "ch", "end2");
    expect(p2, "c*", "ch", "end2");

    for (int i = 0; i < 200; i++) { /* one publisher's order (B4) */
        snprintf(m, sizeof(m), "seq-%d", i);
        cr_assert_str_eq(Q(n1.fd, "PUBLISH", "ch", m), ":1");
    }
    for (int i = 0; i < 200; i++) {
        snprintf(m, sizeof(m), "seq-%d", i);
        expect(s3, NULL, "ch", m);
        expect(p2, "c*", "ch", m);
    }
    /* a channel nobody subscribes to: still 0 here, and no error */
    cr_assert_str_eq(Q(n3.fd, "PUBLISH", "other", "x"), ":0");
    cr_assert_geq(nats_info(&n1, "published"), 202);
    cr_assert_geq(nats_info(&n3, "received"), 203);
    cr_assert_eq(nats_info(&n3, "dropped"), 0);
    tail = (char *)Q(n2.fd, "INFO", "nats");
    cr_assert(strstr(tail, "# Nats") && strstr(tail, "nats_connected:1"), "%s", tail);
}

#define NAME(lit)                                                                                  \
    {                                                                                              \
        lit, sizeof(lit) - 1                                                                       \
    }

static const struct {
    const char *p;
    size_t n;
} odd[] = {
    NAME(""),
    NAME("a.b"),
    NAME("*"),
    NAME(">"),
    NAME("a b\tc"),
    NAME("nul\0\xff\r\n"),
    NAME("ffdb._.pub.x") /* looks like a subject */,
    NAME("_41") /* looks like an escape */,
};

Test(nats_bridge, binary)
{
    tn_nats *bus = tn_start();
    node n1, n2, n3;
    const char *names[10];
    size_t lens[10];
    char big[1000], msg[16];
    int count = 0;
    tu_rng rng;

    tu_rng_init(&rng, 7);
    tu_fill(&rng, big, sizeof(big));
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        names[count] = odd[i].p;
        lens[count++] = odd[i].n;
    }
    names[count] = big;
    lens[count++] = sizeof(big);

    node_start(&n1, bus->url, NULL, NULL);
    node_start(&n2, bus->url, NULL, NULL);
    node_start(&n3, bus->url, NULL, NULL);
    warm(&n1, (node *[]){&n2, &n3}, 2);
    int chans = subscriber(&n3, "SUBSCRIBE", count, names, lens);
    int all = sub1(&n2, "PSUBSCRIBE", "*");
    for (int i = 0; i < count; i++) {
        const char *argv[] = {"PUBLISH", names[i], msg};
        size_t alen[3] = {7, lens[i], 0};
        snprintf(msg, sizeof(msg), "b%d", i);
        alen[2] = strlen(msg);
        rs_sendv(n1.fd, 3, argv, alen);
        rs_reply *r = rs_read(n1.fd);
        cr_assert(r && r->type == ':' && r->integer == 0, "%s", r ? rs_text(r) : "nothing");
    }
    for (int i = 0; i < count; i++) {
        snprintf(msg, sizeof(msg), "b%d", i);
        expect_bytes(chans, NULL, names[i], lens[i], msg);
        expect_bytes(all, "*", names[i], lens[i], msg);
    }
    /* 1,300 NULs are 3,900 characters of subject: more than NATS carries.
     * Refused at PUBLISH, counted, local subscribers served. */
    {
        char chan[1300];
        const char *argv[] = {"PUBLISH", chan, "m"};
        size_t alen[3] = {7, sizeof(chan), 1};
        memset(chan, 0, sizeof(chan));
        rs_sendv(n1.fd, 3, argv, alen);
        rs_reply *r = rs_read(n1.fd);
        cr_assert(r && r->type == ':', "%s", r ? rs_text(r) : "nothing");
        cr_assert_eq(nats_info(&n1, "publish_errors"), 1);
        cr_assert_eq(nats_info(&n1, "connected"), 1);
    }
}

Test(nats_bridge, namespaces)
{
    tn_nats *bus = tn_start();
    node a1, a2, b1, b2;

    node_start(&a1, bus->url, "tenant-a", NULL);
    node_start(&a2, bus->url, "tenant-a", NULL);
    node_start(&b1, bus->url, "tenant.b", NULL);
    node_start(&b2, bus->url, "tenant.b", NULL);
    warm(&a1, (node *[]){&a2}, 1);
    warm(&b1, (node *[]){&b2}, 1);
    int sa = sub1(&a2, "PSUBSCRIBE", "*"), sb = sub1(&b2, "PSUBSCRIBE", "*");
    Q(a1.fd, "PUBLISH", "ch", "from-a");
    expect(sa, "*", "ch", "from-a");
    /* nats-server has passed from-a on: had b2 been given it, it would
     * come before from-b */
    Q(b1.fd, "PUBLISH", "ch", "from-b");
    expect(sb, "*", "ch", "from-b");
    Q(a1.fd, "PUBLISH", "ch", "end-a");
    expect(sa, "*", "ch", "end-a");
    cr_assert_str_eq(Q(a1.fd, "CONFIG", "GET", "namespace"), "[\"namespace\",\"tenant-a\"]");
}

Test(nats_bridge, restart)
{
    tn_nats *bus = tn_start();
    node n1, n2;

    node_start(&n1, bus->url, NULL, NULL);
    node_start(&n2, bus->url, NULL, NULL);
    warm(&n1, (node *[]){&n2}, 1);
    int s2 = sub1(&n2, "SUBSCRIBE", "ch");
    Q(n1.fd, "PUBLISH", "ch", "before");
    expect(s2, NULL, "ch", "before");

    tn_stop(bus);
    wait_connected(&n1, 0);
    wait_connected(&n2, 0);
    cr_assert_str_eq(Q(n1.fd, "PING"), "PONG"); /* the server serves on without the bus */
    cr_assert_str_eq(Q(n1.fd, "PUBLISH", "ch", "gap"), ":0");
    tn_restart(bus);
    warm(&n1, (node *[]){&n2}, 1);
    warm(&n2, (node *[]){&n1}, 1);
    cr_assert_geq(nats_info(&n1, "reconnects"), 1);
    cr_assert_geq(nats_info(&n2, "disconnects"), 1);
    /* n2's subscriber stayed through it all; "gap" may or may not have come
     * (nats.c buffers what n1 published while disconnected): skip it */
    Q(n1.fd, "PUBLISH", "ch", "after");
    rs_reply *r = rs_read(s2);
    cr_assert(r && r->count == 3, "nothing after the restart");
    if (strcmp(r->elems[2]->str, "gap") == 0)
        r = rs_read(s2);
    cr_assert(r && r->count == 3 && strcmp(r->elems[2]->str, "after") == 0, "%s",
              r ? rs_text(r) : "nothing");
}

/* A raw NATS client: CONNECT, the given protocol text, PING; waits for PONG
 * (nats-server has then handed every message on). */
static void raw_nats(const tn_nats *bus, const char *proto, size_t len)
{
    struct sockaddr_in sa = {0};
    struct timeval tv = {WAIT_MS / 1000, 0};
    const char *hello = "CONNECT {\"verbose\":false,\"pedantic\":false}\r\n";
    char buf[4096];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)bus->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(write(fd, hello, strlen(hello)), (ssize_t)strlen(hello));
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, proto + off, len - off);
        cr_assert(n > 0);
        off += (size_t)n;
    }
    cr_assert_eq(write(fd, "PING\r\n", 6), 6);
    while (!memmem(buf, got, "PONG", 4)) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        cr_assert(n > 0, "no PONG from nats-server: %.*s", (int)got, buf);
        got += (size_t)n;
        cr_assert(!memmem(buf, got, "-ERR", 4), "nats-server: %.*s", (int)got, buf);
    }
    close(fd);
}

Test(nats_bridge, malformed)
{
    tn_nats *bus = tn_start();
    node n1;
    char *proto = malloc(8192);
    size_t len = 0;

    node_start(&n1, bus->url, NULL, "--proto-max-bulk-len", "1kb", NULL);
    wait_connected(&n1, 1);
    /* Connected is not subscribed: probe from a raw client until the
     * bridge's subscription is live at nats-server (probes before it are
     * dropped there; late ones land on "warm", which `all` does not match). */
    int wfd = sub1(&n1, "SUBSCRIBE", "warm"), rounds = 0;
    for (;; rounds++) {
        cr_assert(rounds < 100, "the bridge never delivered a probe");
        raw_nats(bus, "PUB ffdb._.pub.warm 5\r\nprobe\r\n", 30);
        if (read_within(wfd, 100))
            break;
    }
    rs_close(wfd);
    int all = sub1(&n1, "PSUBSCRIBE", "ch*");
    int64_t base = nats_info(&n1, "received");
    len += (size_t)sprintf(proto + len, "PUB ffdb._.pub.bad_zz 3\r\nbad\r\n"); /* not hex */
    len += (size_t)sprintf(proto + len, "PUB ffdb._.pub.a_4 3\r\nbad\r\n");    /* cut short */
    len += (size_t)sprintf(proto + len, "PUB ffdb._.pub.a_6a 3\r\nbad\r\n");   /* lower case */
    len += (size_t)sprintf(proto + len, "PUB ffdb._.pub.ch 2000\r\n");         /* oversized */
    memset(proto + len, 'x', 2000);
    len += 2000;
    len += (size_t)sprintf(proto + len, "\r\n");
    len += (size_t)sprintf(proto + len, "PUB ffdb._.pub.ch_2Eok 5\r\nplain\r\n"); /* "ch.ok" */
    raw_nats(bus, proto, len);
    free(proto);
    expect(all, "ch*", "ch.ok", "plain"); /* the bridge handles them in order: the bad ones first */
    cr_assert_eq(nats_info(&n1, "dropped_malformed"), 3);
    cr_assert_eq(nats_info(&n1, "dropped_oversized"), 1);
    cr_assert_eq(nats_info(&n1, "dropped"), 4);
    int64_t received = nats_info(&n1, "received"); /* plain, and perhaps late probes */
    cr_assert(received >= base + 1 && received <= base + 1 + rounds, "received %lld, base %lld",
              (long long)received, (long long)base);
    cr_assert_str_eq(Q(n1.fd, "PING"), "PONG");
}

Test(nats_bridge, before_nats)
{
    tn_nats *bus = tn_start();
    node n1, n2;

    tn_stop(bus); /* its port, with nothing on it */
    node_start(&n1, bus->url, NULL, NULL);
    cr_assert_str_eq(Q(n1.fd, "PING"), "PONG");
    cr_assert_eq(nats_info(&n1, "connected"), 0);
    cr_assert_str_eq(Q(n1.fd, "PUBLISH", "ch", "x"), ":0");
    tn_restart(bus);
    wait_connected(&n1, 1);
    node_start(&n2, bus->url, NULL, NULL);
    warm(&n2, (node *[]){&n1}, 1);
    int s1 = sub1(&n1, "SUBSCRIBE", "ch");
    Q(n2.fd, "PUBLISH", "ch", "late");
    expect(s1, NULL, "ch", "late");
}

/* ffdb-server --nats url and the extra arguments (NULL-ended, may be NULL)
 * must exit non-zero within the bound; its log (logfile) must name why. */
static void refuses_with(const char *url, const char *const *extra, const char *why)
{
    const char *dir = getenv("FFDB_TEST_TOOLS");
    char prog[600], data[600], log[600], text[4096] = "";
    int64_t deadline = tn_mono_ms() + WAIT_MS;
    int status = 0;
    pid_t pid;
    FILE *f;

    cr_assert(dir && *dir, "FFDB_TEST_TOOLS is not set (run through make test)");
    snprintf(prog, sizeof(prog), "%s/ffdb-server", dir);
    snprintf(data, sizeof(data), "%s", tu_path("refused.ffdb"));
    snprintf(log, sizeof(log), "%s", tu_path("refused.log"));
    unlink(log);
    fflush(NULL);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        const char *argv[32] = {prog,        "--port", "0",      "--data", data,
                                "--logfile", log,      "--nats", url};
        for (int k = 9; extra && *extra && k < 31; k++)
            argv[k] = *extra++;
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (tn_mono_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            cr_assert_fail("ffdb-server --nats '%s' did not refuse", url);
        }
        rs_sleep_ms(10);
    }
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0, "--nats '%s': status %d", url, status);
    f = fopen(log, "r");
    cr_assert(f);
    text[fread(text, 1, sizeof(text) - 1, f)] = 0;
    fclose(f);
    cr_assert(strstr(text, why), "--nats '%s': log:\n%s", url, text);
}

static void refuses(const char *url, const char *why)
{
    refuses_with(url, NULL, why);
}

Test(nats_bridge, bad_url_refused)
{
    refuses("bad url", "not a NATS URL");
    refuses("foo://x:1", "not a NATS URL");
    refuses("nats://127.0.0.1:99999", "not a NATS URL");
    refuses("nats://127.0.0.1:4222,,", "not a NATS URL");
}

/* ---- beside --cluster ------------------------------------------------------------------ */

/* A RAFT port below the ephemeral range (RESP ports come from bind(0)) whose
 * file-fetch port (+ 10000) nothing listens on either. */
static int raft_port(unsigned *seed, const int *taken, int ntaken)
{
    for (int i = 0; i < 500; i++) {
        int p = 10000 + (int)(rand_r(seed) % 12000u), fd = -1, clash = 0;
        for (int k = 0; k < ntaken; k++)
            clash |= taken[k] == p;
        if (clash || (fd = tp_connect(p)) >= 0 || (fd = tp_connect(p + 10000)) >= 0) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        return p;
    }
    cr_assert_fail("no free RAFT port");
    return 0;
}

/* The index of the node every node agrees leads (bounded wait). */
static int cluster_leader(node *n, int count)
{
    int64_t deadline = tn_mono_ms() + WAIT_MS;
    for (;;) {
        for (int i = 0; i < count; i++) {
            if (!strstr(Q(n[i].fd, "INFO", "replication"), "raft_state:leader"))
                continue;
            int64_t id = rs_info_int(n[i].fd, "raft_leader_id"), agree = 1;
            for (int k = 0; k < count; k++)
                agree &= rs_info_int(n[k].fd, "raft_leader_id") == id;
            if (agree)
                return i;
        }
        cr_assert(tn_mono_ms() < deadline, "no leader");
        rs_sleep_ms(50);
    }
}

/* Three --cluster nodes on one nats-server, a subscriber on each: a PUBLISH
 * inside a replicated MULTI is applied on every node but delivered once to
 * every subscriber, and only the node that took the command forwards it to
 * NATS. PTR.* are off beside --cluster; asked for, the start is refused. */
Test(nats_bridge, cluster_multi_publish_once)
{
    tn_nats *bus = tn_start();
    node n[3];
    int raft[3], subs[3];
    unsigned seed = (unsigned)getpid() ^ (unsigned)tn_mono_ms();
    char list[256], id[3][12], dir[3][600], m[16];
    int64_t published[3];
    size_t len = 0;

    for (int i = 0; i < 3; i++) {
        raft[i] = raft_port(&seed, raft, i);
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d@127.0.0.1:%d", i ? "," : "",
                                i + 1, raft[i]);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(id[i], sizeof(id[i]), "%d", i + 1);
        snprintf(dir[i], sizeof(dir[i]), "%s/c%d", tu_path(""), i + 1);
        cr_assert_eq(mkdir(dir[i], 0700), 0);
        node_start(&n[i], bus->url, NULL, "--dir", dir[i], "--node", id[i], "--cluster", list,
                   "--cluster-election-ms", "600", NULL);
    }
    int l = cluster_leader(n, 3), f1 = (l + 1) % 3, f2 = (l + 2) % 3;
    warm(&n[l], (node *[]){&n[f1], &n[f2]}, 2);
    warm(&n[f1], (node *[]){&n[l]}, 1);
    warm(&n[f2], (node *[]){&n[l]}, 1);
    for (int i = 0; i < 3; i++) {
        subs[i] = sub1(&n[i], "SUBSCRIBE", "ch");
        published[i] = nats_info(&n[i], "published");
    }
    cr_assert_str_eq(Q(n[l].fd, "MULTI"), "OK");
    cr_assert_str_eq(Q(n[l].fd, "SET", "k", "v"), "QUEUED");
    cr_assert_str_eq(Q(n[l].fd, "PUBLISH", "ch", "in-multi"), "QUEUED");
    cr_assert_str_eq(Q(n[l].fd, "EXEC"), "[OK,:1]");
    for (int i = 0; i < 3; i++) { /* applied everywhere before the markers go out */
        int64_t deadline = tn_mono_ms() + WAIT_MS;
        cr_assert_str_eq(Q(n[i].fd, "READONLY"), "OK");
        while (strcmp(Q(n[i].fd, "GET", "k"), "\"v\"") != 0) {
            cr_assert(tn_mono_ms() < deadline, "node %d never applied the MULTI", i + 1);
            rs_sleep_ms(20);
        }
    }
    cr_assert_eq(nats_info(&n[l], "published"), published[l] + 1, "the leader forwards it once");
    cr_assert_eq(nats_info(&n[f1], "published"), published[f1], "a follower forwarded it");
    cr_assert_eq(nats_info(&n[f2], "published"), published[f2], "a follower forwarded it");
    /* A marker from every node: a copy from a node's apply or its bridge
     * would come before that node's marker. */
    for (int i = 0; i < 3; i++) {
        snprintf(m, sizeof(m), "end%d", i);
        Q(n[i].fd, "PUBLISH", "ch", m);
    }
    for (int i = 0; i < 3; i++) {
        int got = 0, markers = 0;
        while (markers < 3) {
            rs_reply *r = rs_read(subs[i]);
            cr_assert(r && r->count == 3, "node %d: %s", i + 1, r ? rs_text(r) : "nothing");
            if (!strcmp(r->elems[2]->str, "in-multi"))
                got++;
            else
                markers += !strncmp(r->elems[2]->str, "end", 3);
        }
        cr_assert_eq(got, 1, "node %d's subscriber got the MULTI's message %d times", i + 1, got);
    }
    cr_assert(!strncmp(Q(n[f1].fd, "PTR.SET", "p", "v"), "-ERR signed records are off", 27), "%s",
              Q(n[f1].fd, "PTR.SET", "p", "v"));
    int alone = raft_port(&seed, raft, 3);
    snprintf(list, sizeof(list), "1@127.0.0.1:%d", alone);
    refuses_with(bus->url,
                 (const char *[]){"--dir", tu_path(""), "--node", "1", "--cluster", list,
                                  "--nats-records", "yes", NULL},
                 "--nats-records yes");
}
