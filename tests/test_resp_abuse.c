/*
 * test_resp_abuse.c — ffdb-server against bad clients, and every data type
 * across kill -9.
 *
 * Bad input (suite resp_abuse): giant length prefixes, requests left half
 * sent (some claiming the largest bulk allowed), a thousand connections
 * opened and dropped, byte streams mutated from real pipelines and sent in
 * random pieces, and a client that pipelines big replies and never reads.
 * Throughout, a control client keeps getting correct answers (a counter it
 * alone increments, values it alone writes), the server's resident memory
 * (VmRSS of /proc/<pid>/status) stays under ABUSE_RSS_LIMIT, and at the end
 * every connection is gone, the server stops cleanly and its log has no
 * sanitizer report. Everything is bounded: at most ABUSE_CONNS_AT_ONCE
 * sockets at a time (well under maxclients and the open-file limit), fixed
 * counts, timeouts on every read.
 *
 * Durability (suite resp_crash): clients pipeline writes to strings, lists,
 * hashes, sets and sorted sets (whichever the server has), with expiry
 * times, and the server is killed at a moment they do not choose. After a
 * restart each client's keys must show exactly the effect of its first k
 * commands for one k no smaller than the number it saw acknowledged (a
 * client's commands are applied in order, a batch all or nothing).
 * test_resp_server.c covers strings alone; this adds the collections.
 *
 * The seed is printed; FFDB_TEST_SEED=n repeats a run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

#define ABUSE_RSS_LIMIT_KIB (200 * 1024) /* the server's VmRSS, always */
#define ABUSE_CONNS_TOTAL 1000           /* connections opened and dropped */
#define ABUSE_CONNS_AT_ONCE 250          /* sockets open at once */
#define ABUSE_MUTATED_CONNS 240          /* connections sending mutated pipelines */
#define ABUSE_MAX_BULK "536870912"       /* proto-max-bulk-len, the default */

TestSuite(resp_abuse, .init = rs_setup, .fini = rs_teardown, .timeout = 120);
TestSuite(resp_crash, .init = rs_setup, .fini = rs_teardown, .timeout = 120);

/* ---- the server under test ----------------------------------------------------------------- */

/* A small buffer pool, so that what VmRSS measures is the server's own
 * memory, not pages it caches; under ASan a small quarantine, so freed
 * memory is not counted for long either. */
static rs_server *start_small(void)
{
    const char *args[] = {"--buffer-pages", "1024", NULL};
    const char *old = getenv("ASAN_OPTIONS");
    char opts[512];

    snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=16", old ? old : "", old ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1); /* read by the server at its start only */
    return rs_start(args);
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    cr_assert(f, "no %s: the server is gone", path);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atol(line + 6);
    fclose(f);
    cr_assert(kib > 0);
    return kib;
}

static long rss_peak_kib;

static void rss_ok(rs_server *s, const char *when)
{
    long kib = rss_kib(s->pid);
    if (kib > rss_peak_kib)
        rss_peak_kib = kib;
    cr_assert_lt(kib, ABUSE_RSS_LIMIT_KIB, TU_SEED_FMT "server RSS %ld KiB %s", TU_SEED_ARG, kib,
                 when);
}

/* The control client: a counter only it increments and a value only it
 * writes must read back exactly, every time. */
typedef struct control {
    int fd;
    long count;
} control;

static void control_check(control *ctl, const char *when)
{
    char want[32], val[32];

    ctl->count++;
    snprintf(want, sizeof(want), ":%ld", ctl->count);
    cr_assert_str_eq(Q(ctl->fd, "INCR", "ctl:counter"), want, TU_SEED_FMT "counter %s", TU_SEED_ARG,
                     when);
    snprintf(val, sizeof(val), "v%ld", ctl->count);
    cr_assert_str_eq(Q(ctl->fd, "SET", "ctl:value", val), "OK", TU_SEED_FMT "SET %s", TU_SEED_ARG,
                     when);
    snprintf(want, sizeof(want), "\"v%ld\"", ctl->count);
    cr_assert_str_eq(Q(ctl->fd, "GET", "ctl:value"), want, TU_SEED_FMT "GET %s", TU_SEED_ARG, when);
}

/* Every abusive connection is gone (within a few seconds), the server stops
 * cleanly, and nothing in its log came from a sanitizer. */
static void finish(rs_server *s, control *ctl)
{
    int64_t n = -1;

    for (int i = 0; i < 500 && (n = rs_info_int(ctl->fd, "connected_clients")) != 1; i++)
        rs_sleep_ms(10);
    cr_assert_eq(n, 1, TU_SEED_FMT "%lld connections left", TU_SEED_ARG, (long long)n);
    control_check(ctl, "at the end");
    rss_ok(s, "at the end");
    fprintf(stderr, "resp_abuse: server RSS at most %ld KiB seen, %ld control rounds\n",
            rss_peak_kib, ctl->count);
    rs_stop(s);
    cr_assert(!strstr(rs_log(s), "Sanitizer") && !strstr(rs_log(s), "Assertion"), "%s", rs_log(s));
}

/* ---- raw sockets -------------------------------------------------------------------------- */

static int raw_connect(rs_server *s)
{
    struct sockaddr_in sa = {0};
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Send what the socket takes now (abusive clients do not wait). */
static void send_some(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* Close; with rst, by a reset instead of a FIN. */
static void drop(int fd, int rst)
{
    if (rst) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(fd);
}

/* Read and discard for up to ms; 1 if the server closed the connection. */
static int drain(int fd, int ms)
{
    char buf[16384];

    for (int waited = 0; waited <= ms; waited += 10) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return 1;
    }
    return 0;
}

/* ---- giant length prefixes ------------------------------------------------------------- */

Test(resp_abuse, giant_length_prefixes)
{
    static const struct {
        const char *send, *reply;
    } cases[] = {
        {"*99999999999\r\n", "-ERR Protocol error: invalid multibulk length"},
        {"*2147483648\r\n", "-ERR Protocol error: invalid multibulk length"},
        {"*1048577\r\n", "-ERR Protocol error: invalid multibulk length"},
        {"*-99999999999999999999\r\n", "-ERR Protocol error: invalid multibulk length"},
        {"*1\r\n$9999999999\r\n", "-ERR Protocol error: invalid bulk length"},
        {"*1\r\n$536870913\r\n", "-ERR Protocol error: invalid bulk length"},
        {"*2\r\n$3\r\nGET\r\n$18446744073709551617\r\n",
         "-ERR Protocol error: invalid bulk length"},
        {"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length"},
        {"*1\r\n$00000000000000000000000000000000000000000000000000000000000000000001\r\n",
         "-ERR Protocol error: too big bulk count string"},
        {"*000000000000000000000000000000000000000000000000000000000000000000001\r\n",
         "-ERR Protocol error: too big mbulk count string"},
        {"*1\r\n$4\r\nPINGxx", "-ERR Protocol error: expected CRLF after bulk string"},
        /* Not errors: empty and null arrays are skipped, as in Redis. */
        {"*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n", "PONG"},
    };
    rs_server *s = start_small();
    control ctl = {rs_connect(s), 0};
    int held[8], nheld = 0;

    tu_seed("giant length prefixes"); /* no randomness: for the message format */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fd = rs_connect(s);
        rs_send_raw(fd, cases[i].send, strlen(cases[i].send));
        cr_assert_str_eq(rs_text(rs_read(fd)), cases[i].reply, "case %zu", i);
        if (cases[i].reply[0] == '-')
            cr_assert(rs_closed(fd, 3000), "case %zu: still open", i);
        rs_close(fd);
        control_check(&ctl, "after a giant prefix");
    }
    /* The largest claims allowed, left hanging: the server must not reserve
     * what they announce (a million arguments, 512 MiB). */
    static const char *const hang[] = {
        "*1048576\r\n",
        "*1\r\n$" ABUSE_MAX_BULK "\r\n",
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" ABUSE_MAX_BULK "\r\n",
        "*1048576\r\n$4\r\nPING\r\n$4\r\nPING\r\n",
    };
    for (size_t i = 0; i < sizeof(hang) / sizeof(hang[0]); i++) {
        held[nheld] = raw_connect(s);
        send_some(held[nheld++], hang[i], strlen(hang[i]));
    }
    rs_sleep_ms(200);
    rss_ok(s, "with the largest claims open");
    control_check(&ctl, "with the largest claims open");
    for (int i = 0; i < nheld; i++)
        drop(held[i], i % 2);
    finish(s, &ctl);
}

/* ---- half-sent commands and a thousand connections --------------------------------------- */

/* What one abusive connection sends before it is dropped. */
static void half_sent(tu_rng *rng, int fd, char *chunk, size_t chunk_len)
{
    static const char *const partial[] = {
        "",                                   /* nothing at all */
        "*3\r\n$3\r\nSET\r\n$1\r\nk",         /* half a multibulk */
        "*2\r\n$3\r\nGET\r\n$",               /* half a header */
        "SET half",                           /* half an inline line */
        "*1\r\n$4\r\nPING\r\n",               /* a whole command, reply unread */
        "*2\r\n$4\r\nINCR\r\n$4\r\nhits\r\n", /* a whole write, then gone */
        "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" ABUSE_MAX_BULK "\r\n", /* then some of it */
        "MULTI\r\nSET m 1\r\n",                                    /* a transaction never ended */
        "SUBSCRIBE news\r\n",                                      /* a subscriber that vanishes */
    };
    unsigned k = (unsigned)tu_below(rng, sizeof(partial) / sizeof(partial[0]));

    send_some(fd, partial[k], strlen(partial[k]));
    if (k == 6) /* up to 64 KiB of the claimed 512 MiB */
        send_some(fd, chunk, 1 + tu_below(rng, chunk_len));
}

Test(resp_abuse, half_sent_commands_and_a_thousand_connections)
{
    rs_server *s = start_small();
    control ctl = {rs_connect(s), 0};
    int *fds = calloc(ABUSE_CONNS_AT_ONCE, sizeof(*fds));
    size_t chunk_len = 64 * 1024;
    char *chunk = malloc(chunk_len);
    tu_rng rng;
    int64_t before = rs_info_int(ctl.fd, "total_connections_received");

    cr_assert(fds && chunk);
    memset(chunk, 'x', chunk_len);
    tu_rng_init(&rng, tu_seed("half-sent commands"));
    for (int opened = 0; opened < ABUSE_CONNS_TOTAL;) {
        int n = 0;
        while (n < ABUSE_CONNS_AT_ONCE && opened < ABUSE_CONNS_TOTAL) {
            fds[n] = raw_connect(s);
            half_sent(&rng, fds[n++], chunk, chunk_len);
            opened++;
            if (opened % 100 == 0)
                control_check(&ctl, "while connections pile up");
        }
        rs_sleep_ms(100);
        rss_ok(s, "with hundreds of half-sent commands");
        control_check(&ctl, "with hundreds of half-sent commands");
        for (int i = 0; i < n; i++)
            drop(fds[i], tu_chance(&rng, 300));
    }
    cr_assert_geq(rs_info_int(ctl.fd, "total_connections_received") - before, ABUSE_CONNS_TOTAL);
    /* Nothing half-sent ran: the SETs never completed. */
    EQ(ctl.fd, ":0", "EXISTS", "k", "big", "m");
    free(fds);
    free(chunk);
    finish(s, &ctl);
}

/* ---- byte streams mutated from real pipelines -------------------------------------------- */

/* A pipeline of real commands (nothing that stops the server, drops data
 * or changes its settings), as multibulk or inline. */
static size_t real_pipeline(tu_rng *rng, char *buf, size_t cap)
{
    static const char *const cmds[][4] = {
        {"SET", "k", "v", NULL},        {"GET", "k", NULL, NULL},      {"INCR", "n", NULL, NULL},
        {"HSET", "h", "f", "v"},        {"RPUSH", "l", "a", "b"},      {"SADD", "s", "m", NULL},
        {"ZADD", "z", "1.5", "m"},      {"LRANGE", "l", "0", "-1"},    {"MULTI", NULL, NULL, NULL},
        {"EXEC", NULL, NULL, NULL},     {"PING", NULL, NULL, NULL},    {"ECHO", "hi", NULL, NULL},
        {"MGET", "k", "n", "h"},        {"EXPIRE", "k", "1000", NULL}, {"DEL", "k", "l", NULL},
        {"SUBSCRIBE", "c", NULL, NULL}, {"HELLO", "3", NULL, NULL},    {"SCAN", "0", NULL, NULL},
    };
    size_t len = 0, count = 1 + tu_below(rng, 12);

    for (size_t i = 0; i < count && len + 256 < cap; i++) {
        const char *const *c = cmds[tu_below(rng, sizeof(cmds) / sizeof(cmds[0]))];
        int argc = 0, inl = tu_chance(rng, 200);
        while (argc < 4 && c[argc])
            argc++;
        if (!inl)
            len += (size_t)sprintf(buf + len, "*%d\r\n", argc);
        for (int a = 0; a < argc; a++)
            len += inl ? (size_t)sprintf(buf + len, "%s%s", a ? " " : "", c[a])
                       : (size_t)sprintf(buf + len, "$%zu\r\n%s\r\n", strlen(c[a]), c[a]);
        if (inl)
            len += (size_t)sprintf(buf + len, "\r\n");
    }
    return len;
}

/* Flip, insert, delete, repeat bytes; digits and CRLFs where numbers are. */
static size_t mutate(tu_rng *rng, char *buf, size_t len, size_t cap)
{
    static const char special[] = "0123456789\r\n*$-+: \"'\\";
    size_t edits = 1 + tu_below(rng, 6);

    for (size_t e = 0; e < edits && len > 0; e++) {
        size_t at = tu_below(rng, len);
        switch (tu_below(rng, 5)) {
        case 0:
            buf[at] ^= (char)(1u << tu_below(rng, 8));
            break;
        case 1:
            buf[at] = special[tu_below(rng, sizeof(special) - 1)];
            break;
        case 2:
            if (len < cap) {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = special[tu_below(rng, sizeof(special) - 1)];
                len++;
            }
            break;
        case 3:
            memmove(buf + at, buf + at + 1, len - at - 1);
            len--;
            break;
        default: { /* repeat a piece: lengths that no longer match */
            size_t n = 1 + tu_below(rng, 16);
            if (at + n <= len && len + n <= cap) {
                memmove(buf + at + n, buf + at, len - at);
                len += n;
            }
        }
        }
    }
    return len;
}

Test(resp_abuse, mutated_streams_in_pieces)
{
    rs_server *s = start_small();
    control ctl = {rs_connect(s), 0};
    char buf[8192];
    tu_rng rng;
    int fds[8];

    tu_rng_init(&rng, tu_seed("mutated streams"));
    for (int round = 0; round < ABUSE_MUTATED_CONNS / 8; round++) {
        /* Eight connections at once, their pieces interleaved. */
        size_t lens[8], sent[8] = {0};
        char *bufs[8];
        for (int i = 0; i < 8; i++) {
            fds[i] = raw_connect(s);
            bufs[i] = malloc(sizeof(buf));
            cr_assert(bufs[i]);
            lens[i] = real_pipeline(&rng, bufs[i], sizeof(buf) / 2);
            if (!tu_chance(&rng, 100)) /* a few stay valid */
                lens[i] = mutate(&rng, bufs[i], lens[i], sizeof(buf));
        }
        for (int busy = 1; busy;) {
            busy = 0;
            for (int i = 0; i < 8; i++) {
                size_t n = 1 + tu_below(&rng, tu_chance(&rng, 500) ? 8 : 512);
                if (sent[i] >= lens[i])
                    continue;
                if (n > lens[i] - sent[i])
                    n = lens[i] - sent[i];
                send_some(fds[i], bufs[i] + sent[i], n);
                sent[i] += n;
                busy = 1;
            }
            if (tu_chance(&rng, 100))
                rs_sleep_ms(1);
        }
        for (int i = 0; i < 8; i++) {
            if (tu_chance(&rng, 500))
                drain(fds[i], 20); /* sometimes read what came back */
            drop(fds[i], tu_chance(&rng, 200));
            free(bufs[i]);
        }
        control_check(&ctl, "between mutated streams");
    }
    rss_ok(s, "after mutated streams");
    finish(s, &ctl);
}

/* ---- a client that asks for big replies and never reads them ------------------------------ */

Test(resp_abuse, unread_big_replies_stay_bounded)
{
    rs_server *s = start_small();
    control ctl = {rs_connect(s), 0};
    size_t n = 1024 * 1024;
    char *big = malloc(n), req[64];
    const char *argv[3] = {"SET", "big", big};
    size_t lens[3] = {3, 3, n};
    int hogs[4];

    tu_seed("unread big replies");
    cr_assert(big);
    memset(big, 'b', n);
    rs_sendv(ctl.fd, 3, argv, lens);
    cr_assert_str_eq(rs_text(rs_read(ctl.fd)), "OK");
    free(big);
    /* Four clients each ask for 500 MiB of replies (500 GETs of 1 MiB) and
     * read nothing: the server must stop reading them, not buffer it all. */
    int len = snprintf(req, sizeof(req), "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    for (int h = 0; h < 4; h++) {
        hogs[h] = raw_connect(s);
        for (int i = 0; i < 500; i++)
            send_some(hogs[h], req, (size_t)len);
    }
    for (int i = 0; i < 10; i++) {
        rs_sleep_ms(50);
        rss_ok(s, "with 2 GiB of replies asked for and unread");
        control_check(&ctl, "beside clients that do not read");
    }
    for (int h = 0; h < 4; h++)
        drop(hogs[h], h % 2);
    finish(s, &ctl);
}

/* ---- every type across kill -9 ------------------------------------------------------------ */

enum {
    OP_SET,     /* SET c:last i */
    OP_INCR,    /* INCR c:count */
    OP_PEXPIRE, /* PEXPIRE c:count 100000000 */
    OP_RPUSH,   /* RPUSH c:list i */
    OP_LPOP,    /* LPOP c:list */
    OP_HSET,    /* HSET c:hash f<i % 37> i */
    OP_HDEL,    /* HDEL c:hash f<i * 7 % 37> */
    OP_SADD,    /* SADD c:set m<i % 23> */
    OP_SREM,    /* SREM c:set m<i * 3 % 23> */
    OP_ZADD,    /* ZADD c:zset i m<i % 19> */
    OP_ZREM,    /* ZREM c:zset m<i * 5 % 19> */
    OP_KINDS
};
#define CRASH_CLIENTS 3
#define CRASH_WINDOW 16 /* requests in flight per client */
#define CRASH_LIST_MAX 4096

/* What a client's keys hold after its first k commands. */
typedef struct crash_model {
    long last, count;
    int ttl;
    long list[CRASH_LIST_MAX];
    int list_head, list_len;
    long hash[37];
    int set[23];
    long zset[19];
} crash_model;

typedef struct crash_client {
    int fd;
    int sent, acked;
    char prefix[16];
} crash_client;

static void model_apply(crash_model *m, int op, long i)
{
    switch (op) {
    case OP_SET:
        m->last = i;
        break;
    case OP_INCR:
        m->count++;
        break;
    case OP_PEXPIRE:
        if (m->count > 0)
            m->ttl = 1;
        break;
    case OP_RPUSH:
        cr_assert(m->list_head + m->list_len < CRASH_LIST_MAX);
        m->list[m->list_head + m->list_len++] = i;
        break;
    case OP_LPOP:
        if (m->list_len)
            m->list_head++, m->list_len--;
        break;
    case OP_HSET:
        m->hash[i % 37] = i;
        break;
    case OP_HDEL:
        m->hash[i * 7 % 37] = -1;
        break;
    case OP_SADD:
        m->set[i % 23] = 1;
        break;
    case OP_SREM:
        m->set[i * 3 % 23] = 0;
        break;
    case OP_ZADD:
        m->zset[i % 19] = i;
        break;
    default:
        m->zset[i * 5 % 19] = -1;
    }
}

static void model_init(crash_model *m)
{
    memset(m, 0, sizeof(*m));
    m->last = -1;
    memset(m->hash, 0xff, sizeof(m->hash));
    memset(m->zset, 0xff, sizeof(m->zset));
}

static void crash_send(crash_client *cl, int op, long i)
{
    char key[32], a[32], b[32];

    snprintf(a, sizeof(a), "%ld", i);
    switch (op) {
    case OP_SET:
        snprintf(key, sizeof(key), "%s:last", cl->prefix);
        rs_send(cl->fd, "SET", key, a, NULL);
        return;
    case OP_INCR:
    case OP_PEXPIRE:
        snprintf(key, sizeof(key), "%s:count", cl->prefix);
        if (op == OP_INCR)
            rs_send(cl->fd, "INCR", key, NULL);
        else
            rs_send(cl->fd, "PEXPIRE", key, "100000000", NULL);
        return;
    case OP_RPUSH:
    case OP_LPOP:
        snprintf(key, sizeof(key), "%s:list", cl->prefix);
        if (op == OP_RPUSH)
            rs_send(cl->fd, "RPUSH", key, a, NULL);
        else
            rs_send(cl->fd, "LPOP", key, NULL);
        return;
    case OP_HSET:
    case OP_HDEL:
        snprintf(key, sizeof(key), "%s:hash", cl->prefix);
        snprintf(b, sizeof(b), "f%ld", op == OP_HSET ? i % 37 : i * 7 % 37);
        if (op == OP_HSET)
            rs_send(cl->fd, "HSET", key, b, a, NULL);
        else
            rs_send(cl->fd, "HDEL", key, b, NULL);
        return;
    case OP_SADD:
    case OP_SREM:
        snprintf(key, sizeof(key), "%s:set", cl->prefix);
        snprintf(b, sizeof(b), "m%ld", op == OP_SADD ? i % 23 : i * 3 % 23);
        rs_send(cl->fd, op == OP_SADD ? "SADD" : "SREM", key, b, NULL);
        return;
    default:
        snprintf(key, sizeof(key), "%s:zset", cl->prefix);
        snprintf(b, sizeof(b), "m%ld", op == OP_ZADD ? i % 19 : i * 5 % 19);
        if (op == OP_ZADD)
            rs_send(cl->fd, "ZADD", key, a, b, NULL);
        else
            rs_send(cl->fd, "ZREM", key, b, NULL);
    }
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Items (group elements joined by ':'), sorted, as "{a,b,...}". */
static void sorted_items(char **items, size_t n, char *out, size_t cap)
{
    size_t len;

    qsort(items, n, sizeof(*items), cmp_strp);
    snprintf(out, cap, "{");
    for (size_t i = 0; i < n; i++) {
        len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", i ? "," : "", items[i]);
    }
    len = strlen(out);
    snprintf(out + len, cap - len, "}");
}

/* A collection read back: its elements (group = 2: pairs) in any order. */
static void read_unordered(int fd, const char *cmd, const char *key, size_t group, char *out,
                           size_t cap)
{
    char *items[64], item[128];
    size_t n = 0;
    rs_reply *r;

    rs_send(fd, cmd, key, NULL);
    r = rs_read(fd);
    cr_assert(r && r->type == '*' && r->count % group == 0 && r->count / group <= 64, "%s %s -> %s",
              cmd, key, rs_text(r));
    for (size_t i = 0; i < r->count; i += group) {
        snprintf(item, sizeof(item), "%s", rs_text(r->elems[i]));
        if (group == 2)
            snprintf(item + strlen(item), sizeof(item) - strlen(item), ":%s",
                     rs_text(r->elems[i + 1]));
        items[n++] = strdup(item);
    }
    sorted_items(items, n, out, cap);
    for (size_t i = 0; i < n; i++)
        free(items[i]);
}

static void append(char *out, size_t cap, const char *part)
{
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "%s%s", len ? " " : "", part);
}

/* The recovered keys of one client as text (crash_expected writes the same). */
static void crash_actual(int fd, const char *prefix, unsigned have, char *out, size_t cap)
{
    char key[32], part[4096];

    out[0] = '\0';
    snprintf(key, sizeof(key), "%s:last", prefix);
    append(out, cap, Q(fd, "GET", key));
    snprintf(key, sizeof(key), "%s:count", prefix);
    append(out, cap, Q(fd, "GET", key));
    append(out, cap,
           strcmp(Q(fd, "PTTL", key), ":-2") == 0   ? "none"
           : strcmp(Q(fd, "PTTL", key), ":-1") == 0 ? "no-ttl"
                                                    : "ttl");
    if (have & (1u << OP_RPUSH)) {
        snprintf(key, sizeof(key), "%s:list", prefix);
        append(out, cap, Q(fd, "LRANGE", key, "0", "-1"));
    }
    if (have & (1u << OP_HSET)) {
        snprintf(key, sizeof(key), "%s:hash", prefix);
        read_unordered(fd, "HGETALL", key, 2, part, sizeof(part));
        append(out, cap, part);
    }
    if (have & (1u << OP_SADD)) {
        snprintf(key, sizeof(key), "%s:set", prefix);
        read_unordered(fd, "SMEMBERS", key, 1, part, sizeof(part));
        append(out, cap, part);
    }
    if (have & (1u << OP_ZADD)) {
        snprintf(key, sizeof(key), "%s:zset", prefix);
        append(out, cap, Q(fd, "ZRANGE", key, "0", "-1", "WITHSCORES"));
    }
}

static int zcmp(const void *a, const void *b)
{
    const long *x = a, *y = b; /* {score, member} */
    char mx[16], my[16];
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    snprintf(mx, sizeof(mx), "m%ld", x[1]);
    snprintf(my, sizeof(my), "m%ld", y[1]);
    return strcmp(mx, my);
}

static void crash_expected(const crash_model *m, unsigned have, char *out, size_t cap)
{
    char part[4096], item[64], *items[64];
    size_t n;
    long z[19][2];

    out[0] = '\0';
    snprintf(part, sizeof(part), m->last < 0 ? "nil" : "\"%ld\"", m->last);
    append(out, cap, part);
    snprintf(part, sizeof(part), m->count ? "\"%ld\"" : "nil", m->count);
    append(out, cap, part);
    append(out, cap, !m->count ? "none" : m->ttl ? "ttl" : "no-ttl");
    if (have & (1u << OP_RPUSH)) {
        snprintf(part, sizeof(part), "[");
        for (int i = 0; i < m->list_len; i++)
            snprintf(part + strlen(part), sizeof(part) - strlen(part), "%s\"%ld\"", i ? "," : "",
                     m->list[m->list_head + i]);
        snprintf(part + strlen(part), sizeof(part) - strlen(part), "]");
        append(out, cap, part);
    }
    if (have & (1u << OP_HSET)) {
        n = 0;
        for (int f = 0; f < 37; f++)
            if (m->hash[f] >= 0) {
                snprintf(item, sizeof(item), "\"f%d\":\"%ld\"", f, m->hash[f]);
                items[n++] = strdup(item);
            }
        sorted_items(items, n, part, sizeof(part));
        append(out, cap, part);
        for (size_t i = 0; i < n; i++)
            free(items[i]);
    }
    if (have & (1u << OP_SADD)) {
        n = 0;
        for (int e = 0; e < 23; e++)
            if (m->set[e]) {
                snprintf(item, sizeof(item), "\"m%d\"", e);
                items[n++] = strdup(item);
            }
        sorted_items(items, n, part, sizeof(part));
        append(out, cap, part);
        for (size_t i = 0; i < n; i++)
            free(items[i]);
    }
    if (have & (1u << OP_ZADD)) {
        n = 0;
        for (int e = 0; e < 19; e++)
            if (m->zset[e] >= 0) {
                z[n][0] = m->zset[e];
                z[n++][1] = e;
            }
        qsort(z, n, sizeof(z[0]), zcmp);
        snprintf(part, sizeof(part), "[");
        for (size_t i = 0; i < n; i++)
            snprintf(part + strlen(part), sizeof(part) - strlen(part), "%s\"m%ld\",\"%ld\"",
                     i ? "," : "", z[i][1], z[i][0]);
        snprintf(part + strlen(part), sizeof(part) - strlen(part), "]");
        append(out, cap, part);
    }
}

/* The cycle of ops, of the kinds the server has (a family not landed yet is
 * left out); ops holds 2 * OP_KINDS. */
static unsigned crash_kinds(int fd, int *ops, int *nops)
{
    static const struct {
        const char *probe;
        int a, b;
    } fam[] = {{"set", OP_SET, OP_INCR},     {"pexpire", OP_PEXPIRE, -1},
               {"rpush", OP_RPUSH, OP_LPOP}, {"hset", OP_HSET, OP_HDEL},
               {"sadd", OP_SADD, OP_SREM},   {"zadd", OP_ZADD, OP_ZREM}};
    unsigned have = 0;

    *nops = 0;
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        if (strcmp(Q(fd, "COMMAND", "INFO", fam[f].probe), "[nil]") == 0) {
            fprintf(stderr, "resp_crash: no %s in ffdb-server yet: left out\n", fam[f].probe);
            continue;
        }
        have |= 1u << fam[f].a;
        ops[(*nops)++] = fam[f].a;
        if (fam[f].b >= 0) { /* two adds to a removal: collections grow */
            ops[(*nops)++] = fam[f].a;
            ops[(*nops)++] = fam[f].b;
        }
    }
    return have;
}

/* The client's keys must hold its first k commands for one k in
 * [acked, sent]. */
static void crash_verify(int fd, const crash_client *cl, const int *ops, int nops, unsigned have)
{
    static char actual[16384], want[16384];
    crash_model *m = malloc(sizeof(*m));

    cr_assert(m);
    crash_actual(fd, cl->prefix, have, actual, sizeof(actual));
    model_init(m);
    for (int k = 0; k <= cl->sent; k++) {
        if (k >= cl->acked) {
            crash_expected(m, have, want, sizeof(want));
            if (strcmp(actual, want) == 0) {
                fprintf(stderr, "resp_crash %s: %d acknowledged, %d sent, %d applied: %.60s...\n",
                        cl->prefix, cl->acked, cl->sent, k, actual);
                free(m);
                return;
            }
        }
        if (k < cl->sent)
            model_apply(m, ops[k % nops], k);
    }
    model_init(m);
    for (int k = 0; k < cl->acked; k++)
        model_apply(m, ops[k % nops], k);
    crash_expected(m, have, want, sizeof(want));
    free(m);
    cr_assert_fail(TU_SEED_FMT "%s: %d acknowledged, %d sent; recovered\n  %s\n"
                               "but after the acknowledged ones it should be\n  %s",
                   TU_SEED_ARG, cl->prefix, cl->acked, cl->sent, actual, want);
}

Test(resp_crash, every_type_survives_kill9_under_load)
{
    rs_server *s = rs_start(NULL);
    crash_client cl[CRASH_CLIENTS];
    int ops[2 * OP_KINDS], nops, fd = rs_connect(s), kill_round;
    unsigned have = crash_kinds(fd, ops, &nops);
    tu_rng rng;

    tu_rng_init(&rng, tu_seed("every type across kill -9"));
    kill_round = 150 + (int)tu_below(&rng, 250);
    for (int c = 0; c < CRASH_CLIENTS; c++) {
        cl[c].fd = rs_connect(s);
        cl[c].sent = cl[c].acked = 0;
        snprintf(cl[c].prefix, sizeof(cl[c].prefix), "c%d", c);
    }
    for (int round = 0; round <= kill_round; round++)
        for (int c = 0; c < CRASH_CLIENTS; c++) {
            while (cl[c].sent - cl[c].acked < CRASH_WINDOW) {
                crash_send(&cl[c], ops[cl[c].sent % nops], cl[c].sent);
                cl[c].sent++;
            }
            rs_reply *r = rs_read(cl[c].fd);
            cr_assert(r && r->type != '-', "reply %d of %s: %s", cl[c].acked, cl[c].prefix,
                      rs_text(r));
            cl[c].acked++;
        }
    kill(s->pid, SIGKILL); /* replies may still be on their way */
    for (int c = 0; c < CRASH_CLIENTS; c++) {
        rs_reply *r;
        while (cl[c].acked < cl[c].sent && (r = rs_read(cl[c].fd)) != NULL && r->type != '-')
            cl[c].acked++;
    }
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    rs_restart(s);
    fd = rs_connect(s);
    for (int c = 0; c < CRASH_CLIENTS; c++)
        crash_verify(fd, &cl[c], ops, nops, have);
    rs_stop(s);
    cr_assert(!strstr(rs_log(s), "Sanitizer"), "%s", rs_log(s));
}
