/*
 * test_cluster_watch.c — WATCH/MULTI/EXEC under the write hook (issue 10,
 * modules/redis/multi.c): the watch check of an EXEC unit runs where the
 * unit is applied, so two clients racing a read-modify-write on one key
 * never both win, and every node decides the same.
 *
 *   race_cluster   three real ffdb-server --node/--cluster processes; two
 *                  clients on the leader race WATCH k / GET k / MULTI /
 *                  SET k v+1 / EXEC for a bounded number of rounds, their
 *                  EXECs pipelined so both are in flight at once: k ends
 *                  equal to the number of EXECs that answered non-nil (a
 *                  lost update fails), and all nodes hold the same data
 *                  (DEBUG DIGEST)
 *   race_single    the same race on one server without a hook: exactly one
 *                  EXEC of each round wins, as before
 *
 * Every process is killed at the suite's .fini (rs_teardown); every wait is
 * bounded.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

#define ROUNDS 60
#define NODES 3

/* 1 if port and port + 10000 (the node's file fetch) can both be bound now. */
static int pair_free(int port)
{
    int ok = 1;
    for (int k = 0; k < 2 && ok; k++) {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        cr_assert(fd >= 0);
        sa.sin_port = htons((uint16_t)(port + 10000 * k));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
    }
    return ok;
}

/* Three founders; returns the index of the node that accepts writes. */
static int start_cluster(rs_server **srv)
{
    int raft[NODES];
    char list[256], dirs[NODES][512], ids[NODES][16];
    size_t len = 0;
    unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);

    /* Below the ephemeral range, where rs_start's bind(0) ports come from. */
    for (int i = 0; i < NODES; i++) {
        int tries = 0;
        do {
            raft[i] = 10000 + (int)(rand_r(&seed) % 12000u);
            cr_assert_lt(tries++, 500, "no free RAFT port pair");
        } while ((i > 0 && raft[i] == raft[i - 1]) || (i > 1 && raft[i] == raft[0]) ||
                 !pair_free(raft[i]));
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%d@127.0.0.1:%d", i ? "," : "",
                                i + 1, raft[i]);
    }
    for (int i = 0; i < NODES; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i + 1);
        snprintf(dirs[i], sizeof dirs[i], "%s", tu_path(name));
        cr_assert(mkdir(dirs[i], 0700) == 0);
        snprintf(ids[i], sizeof ids[i], "%d", i + 1);
        const char *argv[] = {"--dir", dirs[i], "--node", ids[i], "--cluster", list,
                              "--cluster-election-ms", "2000", NULL};
        srv[i] = rs_start(argv);
    }
    for (int tries = 0; tries < 300; tries++) {
        for (int i = 0; i < NODES; i++) {
            int fd = rs_connect(srv[i]);
            int ok = !strcmp(rs_q(fd, "SET", "probe", "x", NULL), "OK");
            rs_close(fd);
            if (ok)
                return i;
        }
        rs_sleep_ms(100);
    }
    cr_assert_fail("no leader accepted a write");
    return -1;
}

/* WATCH k and GET k on fd: the value read (0 if absent). */
static long watch_get(int fd)
{
    cr_assert_str_eq(rs_q(fd, "WATCH", "k", NULL), "OK");
    rs_send(fd, "GET", "k", NULL);
    rs_reply *r = rs_read(fd);
    cr_assert(r && (r->type == '$' || r->type == 'N'), "GET k: %s", r ? rs_text(r) : "EOF");
    return r->type == '$' ? atol(r->str) : 0;
}

static void send_txn(int fd, long v)
{
    char num[32];
    snprintf(num, sizeof num, "%ld", v + 1);
    rs_send(fd, "MULTI", NULL);
    rs_send(fd, "SET", "k", num, NULL);
    rs_send(fd, "EXEC", NULL);
}

/* The replies of send_txn: 1 if the EXEC ran, 0 if it answered nil. */
static int read_txn(int fd)
{
    const char *t = rs_text(rs_read(fd));
    cr_assert_str_eq(t, "OK");
    cr_assert_str_eq(rs_text(rs_read(fd)), "QUEUED");
    t = rs_text(rs_read(fd));
    cr_assert(!strcmp(t, "[OK]") || !strcmp(t, "nil"), "EXEC answered %s", t);
    return !strcmp(t, "[OK]");
}

/* The race on srv; returns how many EXECs ran. With one_wins, both
 * clients read the same value every round, so exactly one may win. */
static int race(rs_server *srv, int one_wins)
{
    int a = rs_connect(srv), b = rs_connect(srv), wins = 0;

    for (int round = 0; round < ROUNDS; round++) {
        int first = round & 1 ? b : a, second = round & 1 ? a : b;
        long v1 = watch_get(first), v2;
        if (round % 3 == 2) { /* the second reads while the first's EXEC is in flight */
            send_txn(first, v1);
            v2 = watch_get(second);
            send_txn(second, v2);
        } else {
            v2 = watch_get(second);
            cr_assert_eq(v1, v2);
            send_txn(first, v1);
            send_txn(second, v2);
        }
        int w1 = read_txn(first), w2 = read_txn(second);
        if (one_wins && round % 3 != 2)
            cr_assert_eq(w1 + w2, 1, "round %d: %d EXECs ran", round, w1 + w2);
        wins += w1 + w2;
    }
    const char *t = rs_q(a, "GET", "k", NULL);
    char want[32];
    snprintf(want, sizeof want, "\"%d\"", wins);
    cr_assert_str_eq(t, want, "k is %s after %d EXECs ran: a lost update", t, wins);
    cr_assert_geq(wins, ROUNDS / 2, "only %d of %d rounds had a winner", wins, ROUNDS);
    rs_close(a);
    rs_close(b);
    return wins;
}

TestSuite(cluster_watch, .init = rs_setup, .fini = rs_teardown, .timeout = 120);

Test(cluster_watch, race_cluster)
{
    rs_server *srv[NODES];
    int l = start_cluster(srv);

    race(srv[l], 1);
    /* One more: a write by another client between WATCH and EXEC. */
    int a = rs_connect(srv[l]), b = rs_connect(srv[l]);
    watch_get(a);
    cr_assert_str_eq(rs_q(b, "SET", "k", "0", NULL), "OK");
    send_txn(a, 0);
    cr_assert_eq(read_txn(a), 0);
    rs_close(a);
    rs_close(b);

    /* Every node decided the same: the same data everywhere, in time. */
    int fd = rs_connect(srv[l]);
    char want[64];
    snprintf(want, sizeof want, "%s", rs_q(fd, "DEBUG", "DIGEST", NULL));
    rs_close(fd);
    for (int i = 0; i < NODES; i++) {
        const char *t = "";
        fd = rs_connect(srv[i]);
        cr_assert_str_eq(rs_q(fd, "READONLY", NULL), "OK");
        for (int tries = 0; tries < 200 && strcmp(t = rs_q(fd, "DEBUG", "DIGEST", NULL), want);
             tries++)
            rs_sleep_ms(50);
        cr_assert_str_eq(t, want, "node %d holds other data", i + 1);
        rs_close(fd);
    }
}

Test(cluster_watch, race_single)
{
    rs_server *srv = rs_start(NULL);
    race(srv, 1);
}
