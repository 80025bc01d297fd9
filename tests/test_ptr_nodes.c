/*
 * test_ptr_nodes.c — the signed records (PTR.*) of ffdb-server --nats end
 * to end: a real nats-server (tests/test_nats_util.h) and real ffdb-server
 * processes on free loopback ports (tests/test_resp_util.h, on
 * tests/test_proc.h), each with its own identity (--dir), everything killed
 * at the suite's end. Every wait is bounded.
 *
 *   seen         PTR.SET on one node is seen by PTR.GET on the two others
 *   converge     the same keys PTR.SET at once on three nodes: every key has
 *                the same value, signer and time on every node
 *   del_late     a record captured off the bus, deleted, then replayed: the
 *                key stays deleted (the older set loses)
 *   late_node    a node started after the writes converges (Ask/Answer)
 *   late_20k     a node started after 20,000 records holds them all: the
 *                answers (over one answer's bound) are followed at once,
 *                and PTR.INFO counts them
 *   tampered     a record altered in flight is rejected and counted in
 *                PTR.INFO; the key keeps its value
 *   namespaces   two namespaces on one nats-server stay apart
 *   restart      records survive a node restart (with no peer to ask)
 *   stopped_node a node SIGSTOPped while the others write converges after SIGCONT
 *   nats_restart nats-server stopped while both nodes write, restarted: they converge
 *   beside_crdt  two --crdt nodes: records replicate as without it, the op
 *                log replicates the keyspace, neither sees the other's data
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/test_nats_util.h"
#include "tests/test_resp_util.h"
#include "tests/testutil.h"

static void teardown(void)
{
    tn_teardown();
    rs_teardown();
}

TestSuite(ptr_nodes, .init = rs_setup, .fini = teardown, .timeout = 120);

#define WAIT_MS 15000

typedef struct node {
    rs_server *s;
    int fd;
} node;

/* A server on the bus with its own identity directory <scratch>/<name>,
 * and more arguments (NULL-ended, may be NULL). */
static void node_start_with(node *n, const char *url, const char *ns, const char *name,
                            const char *const *more)
{
    const char *extra[16];
    char dir[600];
    int k = 0;

    snprintf(dir, sizeof(dir), "%s", tu_path(name));
    mkdir(dir, 0700);
    extra[k++] = "--nats";
    extra[k++] = url;
    extra[k++] = "--dir";
    extra[k++] = dir;
    if (ns) {
        extra[k++] = "--namespace";
        extra[k++] = ns;
    }
    for (; more && *more && k < 15; more++)
        extra[k++] = *more;
    extra[k] = NULL;
    n->s = rs_start(extra);
    n->fd = rs_connect(n->s);
}

static void node_start(node *n, const char *url, const char *ns, const char *name)
{
    node_start_with(n, url, ns, name, NULL);
}

/* A field of PTR.INFO as an integer (-1 if absent). */
static int64_t pinfo(node *n, const char *field)
{
    rs_reply *r;
    size_t len = strlen(field);

    rs_send(n->fd, "PTR.INFO", NULL);
    r = rs_read(n->fd);
    cr_assert(r && r->str, "PTR.INFO failed");
    for (const char *p = r->str; (p = strstr(p, field)) != NULL; p += len)
        if ((p == r->str || p[-1] == '\n') && p[len] == ':')
            return strtoll(p + len + 1, NULL, 10);
    return -1;
}

static void wait_connected(node *n)
{
    int64_t deadline = tn_mono_ms() + WAIT_MS;

    while (pinfo(n, "nats_connected") != 1) {
        cr_assert(tn_mono_ms() < deadline, "never connected; log:\n%s", rs_log(n->s));
        rs_sleep_ms(20);
    }
}

/* PTR.GET key's text form on n (malloc'd). */
static char *get_text(node *n, const char *key)
{
    return strdup(Q(n->fd, "PTR.GET", key));
}

/* Bounded wait until PTR.GET key on n is want (a text form). */
static void wait_get(node *n, const char *key, const char *want)
{
    int64_t deadline = tn_mono_ms() + WAIT_MS;
    const char *got;

    while (strcmp(got = Q(n->fd, "PTR.GET", key), want) != 0) {
        cr_assert(tn_mono_ms() < deadline, "PTR.GET %s: %s, not %s", key, got, want);
        rs_sleep_ms(20);
    }
}

/* The value of a PTR.GET text form ["v","signer",:t]: starts with ["v". */
static int value_is(const char *text, const char *v)
{
    char head[256];

    snprintf(head, sizeof(head), "[\"%s\",", v);
    return strncmp(text, head, strlen(head)) == 0;
}

/* Bounded wait until the value of key on n is v. */
static void wait_value(node *n, const char *key, const char *v)
{
    int64_t deadline = tn_mono_ms() + WAIT_MS;
    const char *got;

    while (!value_is(got = Q(n->fd, "PTR.GET", key), v)) {
        cr_assert(tn_mono_ms() < deadline, "PTR.GET %s: %s, value not %s", key, got, v);
        rs_sleep_ms(20);
    }
}

/* Bounded wait (ms) until the records of n are `count`. */
static void wait_records_ms(node *n, int64_t count, int64_t ms)
{
    int64_t deadline = tn_mono_ms() + ms;

    while (pinfo(n, "records") != count) {
        cr_assert(tn_mono_ms() < deadline, "records: %lld, not %lld",
                  (long long)pinfo(n, "records"), (long long)count);
        rs_sleep_ms(50);
    }
}

static void wait_records(node *n, int64_t count)
{
    wait_records_ms(n, count, WAIT_MS);
}

/* Every key in 0..count has the same PTR.GET on a and b; bounded retries. */
static void same_keys(node *a, node *b, int count)
{
    int64_t deadline = tn_mono_ms() + WAIT_MS;
    char key[32];

    for (int i = 0; i < count; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        for (;;) {
            char *x = get_text(a, key), *y = get_text(b, key);
            int eq = strcmp(x, y) == 0 && x[0] == '[';
            if (!eq)
                cr_assert(tn_mono_ms() < deadline, "%s: %s vs %s", key, x, y);
            free(x);
            free(y);
            if (eq)
                break;
            rs_sleep_ms(20);
        }
    }
}

/* PTR.SET k<i> = k<i> for i in 0..count, the odd ones on a, the even on b. */
static void set_split(node *a, node *b, int count)
{
    char key[32];

    for (int k = 0; k < count; k++) {
        snprintf(key, sizeof(key), "k%d", k);
        cr_assert_str_eq(Q(k % 2 ? a->fd : b->fd, "PTR.SET", key, key), "OK");
    }
}

/* ---- a raw NATS client --------------------------------------------------------------- */

typedef struct raw {
    int fd;
    char buf[65536];
    size_t got;
} raw;

static void raw_write(raw *r, const void *p, size_t n)
{
    for (size_t off = 0; off < n;) {
        ssize_t w = write(r->fd, (const char *)p + off, n - off);
        cr_assert(w > 0);
        off += (size_t)w;
    }
}

static void raw_fill(raw *r)
{
    cr_assert(r->got < sizeof(r->buf) - 1, "raw NATS buffer full");
    ssize_t n = read(r->fd, r->buf + r->got, sizeof(r->buf) - 1 - r->got);
    cr_assert(n > 0, "raw NATS client: nothing within the timeout");
    r->got += (size_t)n;
    r->buf[r->got] = 0;
}

static void raw_drop(raw *r, size_t n)
{
    memmove(r->buf, r->buf + n, r->got - n);
    r->got -= n;
    r->buf[r->got] = 0;
}

/* Until PONG (every earlier protocol line of ours was handled); what came
 * before it is dropped (payloads are binary: memmem, not strstr). */
static void raw_ping(raw *r)
{
    raw_write(r, "PING\r\n", 6);
    while (!memmem(r->buf, r->got, "PONG\r\n", 6)) {
        cr_assert(!memmem(r->buf, r->got, "-ERR", 4), "nats-server: %.*s", (int)r->got, r->buf);
        raw_fill(r);
    }
    r->got = 0;
}

static void raw_open(raw *r, const tn_nats *bus, const char *sub)
{
    struct sockaddr_in sa = {0};
    struct timeval tv = {WAIT_MS / 1000, 0};
    char line[256];

    r->got = 0;
    r->buf[0] = 0;
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(r->fd >= 0);
    setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)bus->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int n = snprintf(line, sizeof(line),
                     "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB %s 1\r\n", sub);
    raw_write(r, line, (size_t)n);
    raw_ping(r);
}

/* The next MSG: its subject and payload (malloc'd). */
static void raw_msg(raw *r, char **subject, uint8_t **data, size_t *len)
{
    for (;;) {
        char *m = memmem(r->buf, r->got, "MSG ", 4);
        char *eol = m ? memmem(m, r->got - (size_t)(m - r->buf), "\r\n", 2) : NULL;
        if (eol) {
            char subj[512], sid[32];
            unsigned long n = 0;
            *eol = 0;
            cr_assert_eq(sscanf(m, "MSG %511s %31s %lu", subj, sid, &n), 3, "%s", m);
            size_t head = (size_t)(eol + 2 - r->buf);
            while (r->got < head + n + 2)
                raw_fill(r);
            *subject = strdup(subj);
            *data = malloc(n ? n : 1);
            memcpy(*data, r->buf + head, n);
            *len = n;
            raw_drop(r, head + n + 2);
            return;
        }
        raw_fill(r);
    }
}

static void raw_pub(raw *r, const char *subject, const uint8_t *data, size_t len)
{
    char line[600];
    int n = snprintf(line, sizeof(line), "PUB %s %zu\r\n", subject, len);
    raw_write(r, line, (size_t)n);
    raw_write(r, data, len);
    raw_write(r, "\r\n", 2);
    raw_ping(r);
}

/* ---- the tests ---------------------------------------------------------------------- */

Test(ptr_nodes, seen)
{
    tn_nats *bus = tn_start();
    node n[3];

    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%d", i);
        node_start(&n[i], bus->url, NULL, name);
        wait_connected(&n[i]);
    }
    cr_assert_str_eq(Q(n[0].fd, "PTR.SET", "k", "hello"), "OK");
    char *want = get_text(&n[0], "k");
    cr_assert(value_is(want, "hello"), "%s", want);
    wait_get(&n[1], "k", want);
    wait_get(&n[2], "k", want);
    cr_assert_str_eq(Q(n[1].fd, "PTR.KEYS", "*"), "[\"k\"]");
    cr_assert_str_eq(Q(n[2].fd, "PTR.DEL", "k"), ":1");
    wait_get(&n[0], "k", "nil");
    wait_get(&n[1], "k", "nil");
    cr_assert_str_eq(Q(n[0].fd, "PTR.DEL", "k"), ":0");
    cr_assert_str_eq(Q(n[0].fd, "PTR.GET", "a", "b"),
                     "-ERR wrong number of arguments for 'PTR.GET' command");
    free(want);
}

Test(ptr_nodes, converge)
{
    tn_nats *bus = tn_start();
    node n[3];
    int fds[3];
    char key[32], val[32];
    enum { KEYS = 200 };

    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%d", i);
        node_start(&n[i], bus->url, NULL, name);
        wait_connected(&n[i]);
        fds[i] = rs_connect(n[i].s);
    }
    /* Pipelined on all three at once: each node's writes race the others'. */
    for (int k = 0; k < KEYS; k++)
        for (int i = 0; i < 3; i++) {
            snprintf(key, sizeof(key), "k%d", k);
            snprintf(val, sizeof(val), "v%d-node%d", k, i);
            rs_send(fds[i], "PTR.SET", key, val, NULL);
        }
    for (int k = 0; k < KEYS; k++)
        for (int i = 0; i < 3; i++) {
            rs_reply *r = rs_read(fds[i]);
            cr_assert(r && strcmp(rs_text(r), "OK") == 0, "%s", r ? rs_text(r) : "nothing");
        }
    same_keys(&n[0], &n[1], KEYS);
    same_keys(&n[0], &n[2], KEYS);
    for (int i = 0; i < 3; i++)
        wait_records(&n[i], KEYS);
}

/* Two nodes a and b on a fresh bus and a raw client r on the records'
 * subjects; PTR.SET k value on a, the signed record as it went out (its
 * subject and bytes, malloc'd), once b holds it. */
static void captured(node *a, node *b, raw *r, const char *value, char **subject, uint8_t **data,
                     size_t *len)
{
    tn_nats *bus = tn_start();

    node_start(a, bus->url, NULL, "a");
    node_start(b, bus->url, NULL, "b");
    wait_connected(a);
    wait_connected(b);
    raw_open(r, bus, "ffdb._.ptr.*");
    cr_assert_str_eq(Q(a->fd, "PTR.SET", "k", value), "OK");
    raw_msg(r, subject, data, len);
    wait_value(b, "k", value);
}

Test(ptr_nodes, del_late)
{
    node a, b;
    raw r;
    char *subject;
    uint8_t *data;
    size_t len;

    captured(&a, &b, &r, "old", &subject, &data, &len);
    cr_assert_str_eq(Q(a.fd, "PTR.DEL", "k"), ":1");
    wait_get(&b, "k", "nil");
    int64_t stale = pinfo(&b, "stale");
    raw_pub(&r, subject, data, len); /* the older set arrives late */
    int64_t deadline = tn_mono_ms() + WAIT_MS;
    while (pinfo(&b, "stale") == stale) {
        cr_assert(tn_mono_ms() < deadline, "the late set was never seen as stale");
        rs_sleep_ms(20);
    }
    cr_assert_str_eq(Q(b.fd, "PTR.GET", "k"), "nil");
    cr_assert_str_eq(Q(a.fd, "PTR.GET", "k"), "nil");
    close(r.fd);
    free(subject);
    free(data);
}

Test(ptr_nodes, tampered)
{
    node a, b;
    raw r;
    char *subject;
    uint8_t *data;
    size_t len;

    captured(&a, &b, &r, "genuine", &subject, &data, &len);
    uint8_t *at = memmem(data, len, "genuine", 7);
    cr_assert(at, "the value is not in the record as it went out");
    memcpy(at, "forgery", 7); /* same length: only the signature can tell */
    int64_t bad = pinfo(&b, "rejected_badsig");
    raw_pub(&r, subject, data, len);
    int64_t deadline = tn_mono_ms() + WAIT_MS;
    while (pinfo(&b, "rejected_badsig") == bad) {
        cr_assert(tn_mono_ms() < deadline, "the altered record was not rejected");
        rs_sleep_ms(20);
    }
    cr_assert(value_is(Q(b.fd, "PTR.GET", "k"), "genuine"));
    cr_assert(value_is(Q(a.fd, "PTR.GET", "k"), "genuine"));
    close(r.fd);
    free(subject);
    free(data);
}

Test(ptr_nodes, late_node)
{
    tn_nats *bus = tn_start();
    node a, b, c;
    char key[32];
    enum { KEYS = 300 };

    node_start(&a, bus->url, NULL, "a");
    node_start(&b, bus->url, NULL, "b");
    wait_connected(&a);
    wait_connected(&b);
    set_split(&a, &b, KEYS);
    cr_assert_str_eq(Q(a.fd, "PTR.DEL", "k0"), ":1");
    wait_records(&a, KEYS);
    wait_records(&b, KEYS);
    node_start(&c, bus->url, NULL, "c"); /* saw none of it on the bus */
    wait_records(&c, KEYS);
    wait_get(&c, "k0", "nil");
    for (int k = 1; k < KEYS; k++) {
        snprintf(key, sizeof(key), "k%d", k);
        char *x = get_text(&a, key), *y = get_text(&c, key);
        cr_assert_str_eq(x, y, "%s", key);
        free(x);
        free(y);
    }
    cr_assert(pinfo(&c, "asks_sent") >= 1);
}

/* 20,000 records (~3 MB of signed messages) are three bounded answers: the
 * late node follows each answer's more at once and holds every record. */
Test(ptr_nodes, late_20k, .timeout = 240)
{
    tn_nats *bus = tn_start();
    node a, c;
    char key[32], val[32];
    enum { KEYS = 20000, STEP = 1000 };

    node_start(&a, bus->url, NULL, "a");
    wait_connected(&a);
    for (int k = 0; k < KEYS; k += STEP) { /* pipelined, a step at a time */
        for (int i = k; i < k + STEP; i++) {
            snprintf(key, sizeof(key), "r%d", i);
            snprintf(val, sizeof(val), "value-%d", i);
            rs_send(a.fd, "PTR.SET", key, val, NULL);
        }
        for (int i = k; i < k + STEP; i++) {
            rs_reply *r = rs_read(a.fd);
            cr_assert(r && strcmp(rs_text(r), "OK") == 0, "%s", r ? rs_text(r) : "nothing");
        }
    }
    node_start(&c, bus->url, NULL, "c");
    wait_records_ms(&c, KEYS, 150000);
    cr_assert_eq(pinfo(&c, "applied"), KEYS);
    cr_assert_geq(pinfo(&c, "answers_received"), 3, "answers: %lld",
                  (long long)pinfo(&c, "answers_received"));
    cr_assert_geq(pinfo(&c, "answer_records"), KEYS);
    cr_assert_eq(pinfo(&c, "answer_applied"), KEYS);
    cr_assert_geq(pinfo(&c, "asks_followed"), 1, "asks %lld, followed %lld",
                  (long long)pinfo(&c, "asks_sent"), (long long)pinfo(&c, "asks_followed"));
    cr_assert_eq(pinfo(&c, "receive_dropped"), 0);
    cr_assert_eq(pinfo(&c, "rejected_badsig"), 0);
    cr_assert_geq(pinfo(&a, "answers_sent"), 1);
    for (int i = 0; i < KEYS; i += 997) {
        snprintf(key, sizeof(key), "r%d", i);
        char *x = get_text(&a, key), *y = get_text(&c, key);
        cr_assert_str_eq(x, y, "%s", key);
        free(x);
        free(y);
    }
}

Test(ptr_nodes, namespaces)
{
    tn_nats *bus = tn_start();
    node a1, a2, b1;

    node_start(&a1, bus->url, "alpha", "a1");
    node_start(&a2, bus->url, "alpha", "a2");
    node_start(&b1, bus->url, "beta", "b1");
    wait_connected(&a1);
    wait_connected(&a2);
    wait_connected(&b1);
    cr_assert_str_eq(Q(b1.fd, "PTR.SET", "k", "beta"), "OK");
    cr_assert_str_eq(Q(a1.fd, "PTR.SET", "k", "alpha"), "OK");
    cr_assert_str_eq(Q(a1.fd, "PTR.SET", "only-alpha", "x"), "OK");
    wait_value(&a2, "k", "alpha");
    wait_value(&a2, "only-alpha", "x");
    /* Two Ask rounds of b1 (1-2 s each) have passed once asks_sent grew by 2. */
    int64_t asks = pinfo(&b1, "asks_sent"), deadline = tn_mono_ms() + WAIT_MS;
    while (pinfo(&b1, "asks_sent") < asks + 2) {
        cr_assert(tn_mono_ms() < deadline, "b1 stopped asking");
        rs_sleep_ms(50);
    }
    cr_assert(value_is(Q(b1.fd, "PTR.GET", "k"), "beta"), "%s", Q(b1.fd, "PTR.GET", "k"));
    cr_assert_str_eq(Q(b1.fd, "PTR.GET", "only-alpha"), "nil");
    cr_assert_eq(pinfo(&b1, "records"), 1);
    cr_assert(value_is(Q(a1.fd, "PTR.GET", "k"), "alpha"));
}

Test(ptr_nodes, restart)
{
    tn_nats *bus = tn_start();
    node a, b;

    node_start(&a, bus->url, NULL, "a");
    node_start(&b, bus->url, NULL, "b");
    wait_connected(&a);
    wait_connected(&b);
    cr_assert_str_eq(Q(a.fd, "PTR.SET", "k1", "one"), "OK");
    cr_assert_str_eq(Q(a.fd, "PTR.SET", "k2", "two"), "OK");
    cr_assert_str_eq(Q(a.fd, "PTR.DEL", "k2"), ":1");
    wait_value(&b, "k1", "one");
    /* nil alone is also "k2 not seen yet": b must hold k2's tombstone (two
     * records, k2 nil) before the only peer that could resend it stops. */
    wait_records(&b, 2);
    wait_get(&b, "k2", "nil");
    char *want = get_text(&b, "k1");
    rs_stop(a.s); /* nobody left to answer b's Asks */
    rs_stop(b.s);
    rs_restart(b.s);
    b.fd = rs_connect(b.s);
    cr_assert_str_eq(Q(b.fd, "PTR.GET", "k1"), want);
    cr_assert_str_eq(Q(b.fd, "PTR.GET", "k2"), "nil");
    cr_assert_eq(pinfo(&b, "records"), 2, "records %lld tombstones %lld",
                 (long long)pinfo(&b, "records"), (long long)pinfo(&b, "tombstones"));
    cr_assert_eq(pinfo(&b, "tombstones"), 1);
    free(want);
}

/* A node frozen (SIGSTOP) while the others write, then thawed: it converges. */
Test(ptr_nodes, stopped_node)
{
    tn_nats *bus = tn_start();
    node a, b, c;
    enum { KEYS = 100 };

    node_start(&a, bus->url, NULL, "a");
    node_start(&b, bus->url, NULL, "b");
    node_start(&c, bus->url, NULL, "c");
    wait_connected(&a);
    wait_connected(&b);
    wait_connected(&c);
    cr_assert_eq(kill(c.s->pid, SIGSTOP), 0);
    set_split(&a, &b, KEYS);
    wait_records(&a, KEYS);
    wait_records(&b, KEYS);
    cr_assert_eq(kill(c.s->pid, SIGCONT), 0);
    wait_records(&c, KEYS);
    same_keys(&a, &c, KEYS);
    same_keys(&b, &c, KEYS);
}

/* nats-server goes away while both nodes write, and comes back: they converge. */
Test(ptr_nodes, nats_restart)
{
    tn_nats *bus = tn_start();
    node a, b;
    enum { KEYS = 50 };

    node_start(&a, bus->url, NULL, "a");
    node_start(&b, bus->url, NULL, "b");
    wait_connected(&a);
    wait_connected(&b);
    tn_stop(bus);
    set_split(&a, &b, KEYS);
    tn_restart(bus);
    wait_records(&a, KEYS);
    wait_records(&b, KEYS);
    same_keys(&a, &b, KEYS);
}

/* Beside --crdt (its own op log over the same nats-server): the records
 * replicate as without it and stay out of the keyspace; the keyspace
 * replicates through the op log and stays out of the records. */
Test(ptr_nodes, beside_crdt)
{
    tn_nats *bus = tn_start();
    node a, b;
    const char *crdt[] = {"--crdt", "yes", NULL};
    int64_t deadline;

    node_start_with(&a, bus->url, NULL, "a", crdt);
    node_start_with(&b, bus->url, NULL, "b", crdt);
    wait_connected(&a);
    wait_connected(&b);
    cr_assert_str_eq(Q(a.fd, "PTR.SET", "k", "record"), "OK");
    cr_assert_str_eq(Q(a.fd, "SET", "x", "key"), "OK");
    wait_value(&b, "k", "record");
    for (deadline = tn_mono_ms() + WAIT_MS; strcmp(Q(b.fd, "GET", "x"), "\"key\"") != 0;) {
        cr_assert(tn_mono_ms() < deadline, "the op log never brought x: %s", Q(b.fd, "GET", "x"));
        rs_sleep_ms(20);
    }
    cr_assert_str_eq(Q(b.fd, "PTR.DEL", "k"), ":1");
    wait_get(&a, "k", "nil");
    cr_assert_str_eq(Q(a.fd, "DBSIZE"), ":1");
    cr_assert_str_eq(Q(b.fd, "PTR.KEYS", "*"), "[]");
    cr_assert_eq(pinfo(&a, "records"), 1); /* k's tombstone, nothing of the keyspace */
    char *digest = strdup(Q(a.fd, "DEBUG", "DIGEST"));
    cr_assert_str_eq(Q(b.fd, "DEBUG", "DIGEST"), digest);
    free(digest);
}
