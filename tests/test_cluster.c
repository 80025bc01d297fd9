/*
 * test_cluster.c — ffdb-server's cluster mode (issue 11) with real
 * processes: three (or four) ffdb-server --node/--cluster on loopback, each
 * with its own directory (RAFT log in <dir>/raft) and free ports. Every
 * process is killed at the suite's .fini (rs_teardown), also on failure;
 * every wait is bounded.
 *
 *   elect      one leader; a write to a follower gets -MOVED to the leader's
 *              RESP address; INFO replication fields; MULTI/EXEC is one entry
 *   failover   kill -9 of the leader during an INCR load from a client that
 *              follows MOVED: a new leader, every acknowledged INCR counted
 *              once; the killed node restarts and catches up
 *   snapshot   a follower SIGSTOPped while the leader snapshots catches up
 *              after SIGCONT; one killed past a snapshot fetches the file
 *   members    CLUSTER MEET adds a fourth node (--cluster-join yes) that
 *              then holds the data; CLUSTER FORGET removes it
 *   rollback   a follower's file taken back to a copy made after a
 *              snapshot (what FFDB_DEFERSYNC may leave after power loss)
 *              replays the log to the others' DEBUG DIGEST and counter
 *   zset       ZINCRBY, ZREMRANGEBY*, ZPOPMIN reach every node (DEBUG DIGEST)
 *   skew       followers whose clocks run a minute ahead / behind the
 *              leader's (FFDB_TEST_CLOCK_SKEW_MS) neither expire early nor
 *              keep keys: one delete each, decided by the leader's clock
 *   ttl        keys with a short PEXPIRE are deleted by the leader only: a
 *              follower without a leader keeps them; then one delete each
 *
 * The longer variants (repeated kills, random SIGSTOP/CONT) are in
 * `make cluster-soak` (tests/cluster_soak.sh).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

#define CL_MAX 5
#define ELECTION_MS "600"
#define WAIT_MS 15000

typedef struct cnode {
    rs_server *srv;
    int id;
    int raft;  /* RAFT port (the file fetch is on raft + 10000) */
    int alive; /* running and not stopped */
    char dir[512];
} cnode;

static cnode nodes[CL_MAX];
static int nnodes;
static char list[512]; /* --cluster of the founders */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int bind_port(int port)
{
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) ||
        getsockname(fd, (struct sockaddr *)&sa, &len)) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* A free RAFT port whose fetch port (+ 10000) is free too, both below the
 * kernel's ephemeral range (32768-60999): rs_start's RESP ports come from
 * bind(0), which could hand out a RAFT port picked the same way before its
 * server bound it. */
static int raft_port(void)
{
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() ^ (unsigned)now_ms();
    for (int i = 0; i < 500; i++) {
        int p = 10000 + (int)(rand_r(&seed) % 12000u);
        int used = 0;
        for (int k = 0; k < CL_MAX; k++)
            used |= nodes[k].raft == p;
        if (!used && bind_port(p) == p && bind_port(p + 10000) == p + 10000)
            return p;
    }
    cr_assert_fail("no free RAFT port pair");
    return 0;
}

static void node_prepare(int i)
{
    cnode *n = &nodes[i];
    char name[32];
    memset(n, 0, sizeof *n);
    n->id = i + 1;
    n->raft = raft_port();
    snprintf(name, sizeof name, "n%d", n->id);
    snprintf(n->dir, sizeof n->dir, "%s", tu_path(name));
    cr_assert(mkdir(n->dir, 0700) == 0);
}

/* Start node i with --cluster clist (and more "--flag value" pairs). */
static void node_start(int i, const char *clist, const char *const *more)
{
    cnode *n = &nodes[i];
    char id[16];
    const char *argv[20];
    int argc = 0;
    snprintf(id, sizeof id, "%d", n->id);
    argv[argc++] = "--dir";
    argv[argc++] = n->dir;
    argv[argc++] = "--node";
    argv[argc++] = id;
    argv[argc++] = "--cluster";
    argv[argc++] = clist;
    argv[argc++] = "--cluster-election-ms";
    argv[argc++] = ELECTION_MS;
    for (; more && *more && argc < 16; more++)
        argv[argc++] = *more;
    argv[argc] = NULL;
    n->srv = rs_start(argv);
    n->alive = 1;
}

/* n founders, each started with the extra flags. */
static void cluster_start(int n, const char *const *more)
{
    size_t len = 0;
    nnodes = n;
    for (int i = 0; i < n; i++)
        node_prepare(i);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%d@127.0.0.1:%d", i ? "," : "",
                                nodes[i].id, nodes[i].raft);
    for (int i = 0; i < n; i++)
        node_start(i, list, more);
}

/* A field of INFO replication of node i ("" if absent), in buf. */
static const char *info_field(int i, const char *field, char *buf, size_t cap)
{
    int fd = rs_connect(nodes[i].srv);
    size_t n = strlen(field);
    const char *p;
    buf[0] = 0;
    rs_send(fd, "INFO", "replication", NULL);
    rs_reply *r = rs_read(fd);
    rs_close(fd);
    if (!r || !r->str) {
        const char *log = rs_log(nodes[i].srv);
        size_t len = strlen(log);
        cr_assert_fail("INFO replication of node %d failed; the end of its log:\n%s", nodes[i].id,
                       log + (len > 4000 ? len - 4000 : 0));
    }
    for (p = r->str; (p = strstr(p, field)) != NULL; p += n)
        if ((p == r->str || p[-1] == '\n') && p[n] == ':') {
            size_t k = strcspn(p + n + 1, "\r\n");
            k = k < cap - 1 ? k : cap - 1;
            memcpy(buf, p + n + 1, k);
            buf[k] = 0;
            break;
        }
    return buf;
}

static long long info_num(int i, const char *field)
{
    char buf[64];
    return atoll(info_field(i, field, buf, sizeof buf));
}

/* The node that is leader and that every other running node follows. */
static int wait_leader(int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        int leader = -1, agree = 1;
        char buf[64];
        for (int i = 0; i < nnodes; i++)
            if (nodes[i].alive && !strcmp(info_field(i, "raft_state", buf, sizeof buf), "leader"))
                leader = i;
        for (int i = 0; leader >= 0 && i < nnodes; i++)
            if (nodes[i].alive && info_num(i, "raft_leader_id") != nodes[leader].id)
                agree = 0;
        if (leader >= 0 && agree)
            return leader;
        rs_sleep_ms(50);
    }
    cr_assert_fail("no leader within %d ms", timeout_ms);
    return -1;
}

static int follower_of(int leader)
{
    for (int i = 0; i < nnodes; i++)
        if (i != leader && nodes[i].alive)
            return i;
    cr_assert_fail("no follower");
    return -1;
}

/* A reply of node i to the command, asked again (bounded) while it
 * contains one of the NULL-terminated retry strings. */
static const char *q_retry(int i, const char *const *argv, int argc, const char *const *retry)
{
    int64_t end = now_ms() + WAIT_MS;
    const char *t = "";
    int fd = rs_connect(nodes[i].srv), again = 1;
    while (again && now_ms() < end) {
        t = rs_qv(fd, argc, argv);
        again = 0;
        for (const char *const *r = retry; *r; r++)
            again |= strstr(t, *r) != NULL;
        if (again)
            rs_sleep_ms(50);
    }
    rs_close(fd);
    return t;
}

/* A reply of node i to a write, retried while the cluster has no leader or
 * the follower does not know the leader's address yet. */
static const char *write_settled(int i, const char *const *argv, int argc)
{
    static const char *const retry[] = {"-CLUSTERDOWN", "-TRYAGAIN", NULL};
    return q_retry(i, argv, argc, retry);
}

/* Wait until a READONLY (stale, local) read of node i gives want. */
static void wait_local(int i, const char *want, const char *const *argv, int argc)
{
    int64_t end = now_ms() + WAIT_MS;
    const char *t = "";
    int fd = rs_connect(nodes[i].srv);
    cr_assert_str_eq(rs_q(fd, "READONLY", NULL), "OK");
    while (now_ms() < end) {
        t = rs_qv(fd, argc, argv);
        if (!strcmp(t, want))
            break;
        rs_sleep_ms(50);
    }
    rs_close(fd);
    cr_assert_str_eq(t, want, "node %d: %s is %s, not %s; log:\n%s", nodes[i].id, argv[0], t, want,
                     rs_log(nodes[i].srv));
}

static void wait_all_local(const char *want, const char *const *argv, int argc)
{
    for (int i = 0; i < nnodes; i++)
        if (nodes[i].alive)
            wait_local(i, want, argv, argc);
}

static int node_of_port(int port)
{
    for (int i = 0; i < nnodes; i++)
        if (nodes[i].srv && nodes[i].srv->port == port)
            return i;
    return -1;
}

static void node_kill9(int i)
{
    rs_kill9(nodes[i].srv);
    nodes[i].alive = 0;
}

static void node_signal(int i, int sig)
{
    cr_assert(kill(nodes[i].srv->pid, sig) == 0);
    nodes[i].alive = sig == SIGCONT;
}

static int current_leader(void);

TestSuite(cluster, .init = rs_setup, .fini = rs_teardown, .timeout = 90);

Test(cluster, elect_moved_info_multi)
{
    cluster_start(3, NULL);
    int l = wait_leader(WAIT_MS), f = follower_of(l);
    char want[64], buf[128];

    /* a follower redirects a write to the leader's RESP address */
    const char *set[] = {"SET", "k", "v"};
    snprintf(want, sizeof want, "-MOVED 0 127.0.0.1:%d", nodes[l].srv->port);
    cr_assert_str_eq(write_settled(f, set, 3), want);
    /* and a read too, unless READONLY */
    int fd = rs_connect(nodes[f].srv);
    cr_assert_str_eq(rs_q(fd, "GET", "k", NULL), want);
    rs_close(fd);
    cr_assert_str_eq(write_settled(l, set, 3), "OK");
    const char *get[] = {"GET", "k"};
    wait_all_local("\"v\"", get, 2);

    /* INFO replication */
    cr_assert_str_eq(info_field(l, "role", buf, sizeof buf), "master");
    cr_assert_str_eq(info_field(f, "role", buf, sizeof buf), "slave");
    cr_assert_eq(info_num(f, "master_port"), nodes[l].srv->port);
    cr_assert_str_eq(info_field(f, "master_link_status", buf, sizeof buf), "up");
    cr_assert_eq(info_num(f, "raft_leader_id"), nodes[l].id);
    cr_assert_gt(info_num(l, "raft_term"), 0);
    cr_assert_eq(info_num(f, "raft_term"), info_num(l, "raft_term"));
    long long commit = info_num(l, "raft_commit_index"),
              applied = info_num(l, "raft_applied_index");
    cr_assert_gt(applied, 0);
    cr_assert_geq(commit, applied);
    /* libraft counts its own barrier and configuration entries too */
    cr_assert_leq(info_num(l, "raft_file_applied_index"), applied);
    cr_assert_gt(info_num(l, "raft_file_applied_index"), 0);
    info_field(l, "raft_peer0", buf, sizeof buf);
    cr_assert(strstr(buf, "role=voter") && strstr(buf, "match_index="), "%s", buf);

    /* CLUSTER SLOTS names the leader as owner of every slot */
    fd = rs_connect(nodes[f].srv);
    snprintf(want, sizeof want, "[[:0,:16383,[\"127.0.0.1\",:%d,", nodes[l].srv->port);
    const char *slots = rs_q(fd, "CLUSTER", "SLOTS", NULL);
    cr_assert(!strncmp(slots, want, strlen(want)), "CLUSTER SLOTS: %s", slots);
    rs_close(fd);

    /* MULTI/EXEC: one log entry, applied on every node */
    fd = rs_connect(nodes[l].srv);
    long long before = info_num(l, "raft_last_index");
    cr_assert_str_eq(rs_q(fd, "MULTI", NULL), "OK");
    cr_assert_str_eq(rs_q(fd, "INCR", "a", NULL), "QUEUED");
    cr_assert_str_eq(rs_q(fd, "INCRBY", "b", "5", NULL), "QUEUED");
    cr_assert_str_eq(rs_q(fd, "SET", "c", "x", NULL), "QUEUED");
    cr_assert_str_eq(rs_q(fd, "EXEC", NULL), "[:1,:5,OK]");
    cr_assert_eq(info_num(l, "raft_last_index"), before + 1);
    rs_close(fd);
    const char *mget[] = {"MGET", "a", "b", "c"};
    wait_all_local("[\"1\",\"5\",\"x\"]", mget, 4);
}

/* One write through a client that follows MOVED: 1 acknowledged (*out its
 * reply), 0 unknown (the connection ended or the write may not have
 * happened), -1 not done (no leader now: nothing was proposed). *cur is the
 * node the client talks to, *fd its connection (-1: none). */
static int write_follow(int *cur, int *fd, int argc, const char *const *argv, rs_reply **out)
{
    for (int hops = 0; hops < 4; hops++) {
        if (*fd < 0) {
            if (!nodes[*cur].alive)
                return -1;
            *fd = rs_connect(nodes[*cur].srv);
        }
        rs_sendv(*fd, argc, argv, NULL);
        rs_reply *r = rs_read(*fd);
        if (!r) {
            rs_close(*fd);
            *fd = -1;
            return 0;
        }
        const char *t = r->type == '-' ? rs_text(r) : "";
        if (!strncmp(t, "-MOVED 0 ", 9)) {
            const char *colon = strrchr(t, ':');
            int to = colon ? node_of_port(atoi(colon + 1)) : -1;
            if (to < 0 || !nodes[to].alive)
                return -1;
            rs_close(*fd);
            *fd = -1;
            *cur = to;
            continue;
        }
        if (!strncmp(t, "-CLUSTERDOWN", 12) || !strncmp(t, "-TRYAGAIN cannot propose", 24))
            return -1;
        if (r->type == '-')
            return 0;
        *out = r;
        return 1;
    }
    return -1;
}

/* The client moves on to the next running node (after a short pause). */
static void next_node(int *cur, int *fd)
{
    if (*fd >= 0)
        rs_close(*fd);
    *fd = -1;
    do
        *cur = (*cur + 1) % nnodes;
    while (!nodes[*cur].alive);
    rs_sleep_ms(20);
}

/* INCR counter through write_follow: *val its value when acknowledged. */
static int incr_follow(int *cur, int *fd, long long *val)
{
    const char *argv[] = {"INCR", "counter"};
    rs_reply *r = NULL;
    int rc = write_follow(cur, fd, 2, argv, &r);
    if (rc == 1) {
        cr_assert_eq(r->type, ':', "INCR: %s", rs_text(r));
        *val = r->integer;
    }
    return rc;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* The counter on leader l (a linearizable read) against the INCRs: every
 * acknowledged INCR is in the value, none twice: the acked values are
 * distinct and at most the final one; the final value is at least the
 * number acknowledged and at most that plus the unknown ones. Returns it. */
static long long check_counter(int l, long long *acked, int nacked, int unknown)
{
    int fd = rs_connect(nodes[l].srv);
    const char *t = rs_q(fd, "GET", "counter", NULL);
    rs_close(fd);
    cr_assert(t[0] == '"', "GET counter: %s", t);
    long long final = atoll(t + 1);
    qsort(acked, (size_t)nacked, sizeof *acked, cmp_ll);
    for (int i = 1; i < nacked; i++)
        cr_assert_neq(acked[i], acked[i - 1], "INCR acknowledged %lld twice", acked[i]);
    cr_assert_leq(acked[nacked - 1], final);
    cr_assert_geq(final, nacked, "final %lld < %d acknowledged", final, nacked);
    cr_assert_leq(final, (long long)nacked + unknown, "final %lld > %d acknowledged + %d unknown",
                  final, nacked, unknown);
    return final;
}

Test(cluster, failover_no_acked_write_lost)
{
    cluster_start(3, NULL);
    int l = wait_leader(WAIT_MS), cur = follower_of(l), fd = -1;
    enum { MAXACK = 20000 };
    long long *acked = malloc(MAXACK * sizeof *acked), val = 0;
    int nacked = 0, unknown = 0, killed = -1, after = 0;
    int64_t end = now_ms() + 30000, killed_at = 0, new_leader_ms = -1;
    cr_assert(acked);

    while (now_ms() < end && nacked < MAXACK) {
        int rc = incr_follow(&cur, &fd, &val);
        if (rc == 1) {
            acked[nacked++] = val;
            if (killed >= 0 && ++after == 1)
                new_leader_ms = now_ms() - killed_at;
            if (killed >= 0 && after >= 300)
                break;
        } else if (rc == 0) {
            unknown++;
        } else {
            next_node(&cur, &fd); /* no leader known here */
        }
        if (killed < 0 && nacked == 300) {
            killed = l;
            node_kill9(l);
            killed_at = now_ms();
        }
    }
    if (fd >= 0)
        rs_close(fd);
    cr_assert_geq(killed, 0, "the load never reached 300 acknowledged INCRs");
    cr_assert_geq(after, 300, "after the kill only %d INCRs were acknowledged (%d unknown)", after,
                  unknown);
    cr_assert_lt(new_leader_ms, 10000, "the first write after the kill took %lld ms",
                 (long long)new_leader_ms);

    int l2 = wait_leader(WAIT_MS);
    cr_assert_neq(l2, killed);
    long long final = check_counter(l2, acked, nacked, unknown);
    free(acked);

    /* the killed node comes back (same directory and file) and catches up */
    rs_restart(nodes[killed].srv);
    nodes[killed].alive = 1;
    char want[32];
    snprintf(want, sizeof want, "\"%lld\"", final);
    const char *get[] = {"GET", "counter"};
    wait_all_local(want, get, 2);
    cr_assert_eq(wait_leader(WAIT_MS), l2, "the restarted node disturbed the leader");
}

/* ---- pipelines: a client's pipelined writes are one unit, one round ---- */

/* A pipeline as raw bytes: multibulk commands (argv NULL-terminated,
 * commands ended by a NULL list) or an inline line (a string starting
 * with '|', sent as it is after the bar). */
typedef struct pipe_buf {
    char *p;
    size_t len, cap;
    int ncmds;
} pipe_buf;

static void pipe_raw(pipe_buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
        cr_assert(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void pipe_cmd(pipe_buf *b, int argc, const char *const *argv)
{
    char h[32];
    pipe_raw(b, h, (size_t)snprintf(h, sizeof h, "*%d\r\n", argc));
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        pipe_raw(b, h, (size_t)snprintf(h, sizeof h, "$%zu\r\n", n));
        pipe_raw(b, argv[i], n);
        pipe_raw(b, "\r\n", 2);
    }
    b->ncmds++;
}

/* Commands separated by NULL, the cmds ended by two NULLs. */
static void pipe_cmds(pipe_buf *b, const char *const *cmds)
{
    while (*cmds) {
        int argc = 0;
        if (cmds[0][0] == '|') { /* inline */
            pipe_raw(b, cmds[0] + 1, strlen(cmds[0] + 1));
            pipe_raw(b, "\r\n", 2);
            b->ncmds++;
            cmds += 2;
            continue;
        }
        while (cmds[argc])
            argc++;
        pipe_cmd(b, argc, cmds);
        cmds += argc + 1;
    }
}

/* Send the pipeline in one write and read its replies: their text forms
 * joined by '\n' (malloc'd). */
static char *pipe_run(int fd, const pipe_buf *b)
{
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    cr_assert(out);
    rs_send_raw(fd, b->p, b->len);
    for (int i = 0; i < b->ncmds; i++) {
        rs_reply *r = rs_read(fd);
        const char *t = r ? rs_text(r) : "EOF";
        size_t n = strlen(t);
        if (len + n + 2 > cap) {
            cap = (len + n + 2) * 2;
            out = realloc(out, cap);
            cr_assert(out);
        }
        memcpy(out + len, t, n);
        len += n;
        out[len++] = '\n';
    }
    out[len] = 0;
    return out;
}

/* A mixed pipeline: runs of writes with reads, errors, MULTI, SELECT,
 * inline commands between them. */
static const char *const mixed[] = {
    "SET", "a", "1", NULL, "INCR", "a", NULL, "INCR", "a", NULL, "GET", "a", NULL,
    "LPUSH", "l", "x", "y", NULL, "LPUSH", "l", "z", NULL, "LRANGE", "l", "0", "-1", NULL,
    "INCR", "l", NULL, "SET", "b", "foo", NULL, "INCR", "b", NULL, "APPEND", "b", "bar", NULL,
    "GET", "b", NULL, "DEL", "a", NULL, "GET", "a", NULL,
    "MULTI", NULL, "INCR", "c", NULL, "SET", "d", "1", NULL, "EXEC", NULL, "MGET", "c", "d", NULL,
    "HSET", "h", "f", "v", "g", "w", NULL, "HINCRBY", "h", "n", "3", NULL, "HGETALL", "h", NULL,
    "SELECT", "1", NULL, "SET", "a", "other", NULL, "INCR", "x1", NULL, "GET", "a", NULL,
    "SELECT", "0", NULL, "GET", "a", NULL, "|SET inl 7", NULL, "INCR", "inl", NULL,
    "|GET inl", NULL, "NOSUCHCMD", "1", NULL, "SET", "onlykey", NULL, "SET", "e", "1", NULL,
    "ZADD", "z", "1", "m", "2", "n", NULL, "ZINCRBY", "z", "5", "m", NULL,
    "ZRANGE", "z", "0", "-1", "WITHSCORES", NULL, "SETNX", "e", "2", NULL, "PING", NULL,
    "DBSIZE", NULL, NULL};

Test(cluster, pipeline_same_replies_as_one_node)
{
    pipe_buf b = {0};
    pipe_cmds(&b, mixed);
    /* and 64 INCRBYs in one run, then the read behind them */
    for (int i = 0; i < 64; i++) {
        const char *incrby[] = {"INCRBY", "n", "5"};
        pipe_cmd(&b, 3, incrby);
    }
    const char *getn[] = {"GET", "n"};
    pipe_cmd(&b, 2, getn);

    rs_server *one = rs_start(NULL);
    int fd = rs_connect(one);
    char *want = pipe_run(fd, &b);
    rs_close(fd);
    cr_assert(strstr(want, "\"320\"\n"), "single node: %s", want);

    cluster_start(3, NULL);
    int l = wait_leader(WAIT_MS);
    const char *warm[] = {"SET", "warm", "1"};
    cr_assert_str_eq(write_settled(l, warm, 3), "OK");
    const char *del[] = {"DEL", "warm"};
    cr_assert_str_eq(write_settled(l, del, 2), ":1");
    long long entries = info_num(l, "raft_proposed_entries");
    fd = rs_connect(nodes[l].srv);
    char *got = pipe_run(fd, &b);
    rs_close(fd);
    cr_assert_str_eq(got, want, "cluster:\n%s\nsingle node:\n%s", got, want);
    /* 85 writes in 11 runs (a read, MULTI, SELECT, an inline command or
     * an error ends a run): one RAFT entry each, not one per write */
    long long used = info_num(l, "raft_proposed_entries") - entries;
    cr_assert_leq(used, 14, "the pipeline's writes took %lld RAFT entries", used);

    /* every node applied the same */
    const char *hget[] = {"HGET", "h", "n"};
    wait_all_local("\"3\"", hget, 3);
    wait_all_local("\"320\"", getn, 2);

    /* a follower answers every command of a pipelined run with -MOVED */
    int f = follower_of(l);
    pipe_buf m = {0};
    for (int i = 0; i < 8; i++) {
        const char *set[] = {"SET", "k", "v"};
        pipe_cmd(&m, 3, set);
    }
    pipe_cmd(&m, 1, (const char *const[]){"PING"});
    char moved[64], wantm[1024] = "";
    snprintf(moved, sizeof moved, "-MOVED 0 127.0.0.1:%d\n", nodes[l].srv->port);
    for (int i = 0; i < 8; i++)
        strcat(wantm, moved);
    strcat(wantm, "PONG\n");
    fd = rs_connect(nodes[f].srv);
    char *gotm = pipe_run(fd, &m);
    rs_close(fd);
    cr_assert_str_eq(gotm, wantm);
    free(want);
    free(got);
    free(gotm);
    free(b.p);
    free(m.p);
}

/* Pipelines of DEPTH INCRs to whichever node the client talks to (it
 * follows -MOVED); the leader is killed while one is in flight. An INCR cut
 * by the kill (EOF) or answered -TRYAGAIN (proposed, outcome unknown) is
 * unknown; -MOVED, -CLUSTERDOWN and "cannot propose" were never proposed. */
Test(cluster, failover_pipelined_incrs)
{
    enum { DEPTH = 16, MAXACK = 40000 };
    cluster_start(3, NULL);
    int l = wait_leader(WAIT_MS), cur = l, fd = -1, killed = -1;
    long long *acked = malloc(MAXACK * sizeof *acked);
    int nacked = 0, unknown = 0, after = 0;
    int64_t end = now_ms() + 40000;
    pipe_buf b = {0};
    for (int i = 0; i < DEPTH; i++) {
        const char *incr[] = {"INCR", "counter"};
        pipe_cmd(&b, 2, incr);
    }
    cr_assert(acked);
    while (now_ms() < end && nacked + DEPTH <= MAXACK && after < 50 * DEPTH) {
        if (fd < 0) {
            if (!nodes[cur].alive) {
                next_node(&cur, &fd);
                continue;
            }
            fd = rs_connect(nodes[cur].srv);
        }
        rs_send_raw(fd, b.p, b.len);
        if (killed < 0 && nacked >= 100 * DEPTH && cur == l) {
            killed = l; /* while this pipeline is in flight */
            rs_sleep_ms(nacked % 3);
            node_kill9(l);
        }
        int got = 0, eof = 0, redirect = -1, refused = 0;
        for (; got < DEPTH; got++) {
            rs_reply *r = rs_read(fd);
            if (!r) {
                eof = 1;
                break;
            }
            if (r->type == ':') {
                acked[nacked++] = r->integer;
                after += killed >= 0;
                continue;
            }
            const char *t = rs_text(r);
            cr_assert_eq(r->type, '-', "INCR: %s", t);
            if (!strncmp(t, "-MOVED 0 ", 9)) {
                redirect = node_of_port(atoi(strrchr(t, ':') + 1));
            } else if (!strncmp(t, "-TRYAGAIN", 9) || !strncmp(t, "-CLUSTERDOWN", 12)) {
                unknown += strncmp(t, "-TRYAGAIN cannot propose", 24) != 0 &&
                           strncmp(t, "-CLUSTERDOWN", 12) != 0;
            } else {
                cr_assert_fail("INCR: %s", t);
            }
            refused = 1;
        }
        if (eof)
            unknown += DEPTH - got;
        if (eof || refused) {
            rs_close(fd);
            fd = -1;
            if (redirect >= 0 && nodes[redirect].alive)
                cur = redirect;
            else
                next_node(&cur, &fd);
        }
    }
    if (fd >= 0)
        rs_close(fd);
    cr_assert_geq(killed, 0, "the load never reached %d acknowledged INCRs", 100 * DEPTH);
    cr_assert_geq(after, 50 * DEPTH, "after the kill only %d INCRs were acknowledged", after);
    check_counter(wait_leader(WAIT_MS), acked, nacked, unknown);
    free(acked);
    free(b.p);
}

/* count SETs key<from>..key<from+count-1> on node l, one entry each */
static void set_many(int l, int from, int count)
{
    int fd = rs_connect(nodes[l].srv);
    char k[32], v[32];
    for (int i = from; i < from + count; i++) {
        snprintf(k, sizeof k, "key%d", i);
        snprintf(v, sizeof v, "val%d", i);
        cr_assert_str_eq(rs_q(fd, "SET", k, v, NULL), "OK");
    }
    rs_close(fd);
}

Test(cluster, catch_up_past_snapshot)
{
    const char *more[] = {"--cluster-snapshot-threshold", "64", "--cluster-snapshot-trailing", "8",
                          NULL};
    cluster_start(3, more);
    int l = wait_leader(WAIT_MS), f = follower_of(l);
    const char *set0[] = {"SET", "before", "1"};
    cr_assert_str_eq(write_settled(l, set0, 3), "OK");
    const char *get0[] = {"GET", "before"};
    wait_local(f, "\"1\"", get0, 2);
    const char *dbsize[] = {"DBSIZE"};

    /* SIGSTOPped while the leader snapshots and truncates its log several
     * times over (libraft keeps streaming to a stopped peer into the socket,
     * so this one may catch up from the log or from the file) */
    node_signal(f, SIGSTOP);
    set_many(l, 0, 300);
    int fd = rs_connect(nodes[l].srv);
    cr_assert_str_eq(rs_q(fd, "DEL", "before", NULL), ":1");
    rs_close(fd);
    node_signal(f, SIGCONT);
    const char *get[] = {"GET", "key299"};
    wait_all_local("\"val299\"", get, 2);
    wait_all_local(":300", dbsize, 1);

    /* killed, the log truncated past it, restarted: it must fetch the file */
    node_kill9(f);
    set_many(l, 300, 200);
    rs_restart(nodes[f].srv);
    nodes[f].alive = 1;
    const char *get2[] = {"GET", "key499"};
    wait_local(f, "\"val499\"", get2, 2);
    wait_all_local(":500", dbsize, 1);
    const char *log = rs_log(nodes[f].srv);
    cr_assert(strstr(log, "replaced by a peer's snapshot"),
              "the restarted follower caught up without the snapshot; log:\n%s", log);
    /* and it goes on applying entries after the snapshot */
    const char *set1[] = {"SET", "after", "2"};
    cr_assert_str_eq(write_settled(l, set1, 3), "OK");
    const char *get1[] = {"GET", "after"};
    wait_all_local("\"2\"", get1, 2);
}

/* Copy file from to file to (whole, then renamed into place). */
static void copy_file(const char *from, const char *to)
{
    char tmp[600], buf[65536];
    snprintf(tmp, sizeof tmp, "%s.tmp", to);
    FILE *in = fopen(from, "rb"), *out = fopen(tmp, "wb");
    cr_assert(in && out, "copy %s: cannot open", from);
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert_eq(fwrite(buf, 1, n, out), n);
    cr_assert(!ferror(in) && fclose(out) == 0);
    fclose(in);
    cr_assert_eq(rename(tmp, to), 0);
}

/* --fsync never: a follower's file that lost its last commits (taken back
 * to an older copy) behind the node's own snapshot, whose log was truncated
 * past the file's applied index: at start it fetches a peer's file (it
 * used to crash there: restore runs inside raft_start) and catches up. */
Test(cluster, file_behind_its_own_snapshot_fetches)
{
    const char *more[] = {"--cluster-snapshot-threshold", "64", "--cluster-snapshot-trailing", "8",
                          "--fsync", "never", NULL};
    cluster_start(3, more);
    int l = wait_leader(WAIT_MS), f = follower_of(l);
    set_many(l, 0, 50);
    const char *get0[] = {"GET", "key49"};
    wait_local(f, "\"val49\"", get0, 2);
    char old[600];
    snprintf(old, sizeof old, "%s", tu_path("old.ffdb"));
    node_signal(f, SIGSTOP); /* a consistent copy: what a kill -9 leaves */
    copy_file(nodes[f].srv->data, old);
    node_signal(f, SIGCONT);
    set_many(l, 50, 300); /* the follower snapshots and truncates its log past the copy */
    const char *get1[] = {"GET", "key349"};
    wait_local(f, "\"val349\"", get1, 2);
    node_kill9(f);
    copy_file(old, nodes[f].srv->data);
    rs_restart(nodes[f].srv);
    nodes[f].alive = 1;
    const char *dbsize[] = {"DBSIZE"};
    wait_all_local(":350", dbsize, 1);
    const char *log = rs_log(nodes[f].srv);
    cr_assert(strstr(log, "replaced by a peer's snapshot"), "log:\n%s", log);
    const char *set[] = {"SET", "after", "1"};
    cr_assert_str_eq(write_settled(l, set, 3), "OK");
    const char *get2[] = {"GET", "after"};
    wait_all_local("\"1\"", get2, 2);
}

/* The index of node i's newest RAFT snapshot (libraft's files
 * <dir>/raft/snapshot-<term>-<index>-<time>), 0 if none. */
static unsigned long long snapshot_index(int i)
{
    char path[600];
    unsigned long long best = 0, term, index, t;
    snprintf(path, sizeof path, "%s/raft", nodes[i].dir);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        int end = 0;
        if (sscanf(e->d_name, "snapshot-%llu-%llu-%llu%n", &term, &index, &t, &end) == 3 &&
            e->d_name[end] == 0 && index > best)
            best = index;
    }
    closedir(d);
    return best;
}

static const char *digest_of(int i, char *buf, size_t cap)
{
    int fd = rs_connect(nodes[i].srv);
    cr_assert_str_eq(rs_q(fd, "READONLY", NULL), "OK");
    snprintf(buf, cap, "%s", rs_q(fd, "DEBUG", "DIGEST", NULL));
    rs_close(fd);
    return buf;
}

/* --fsync always (FFDB_DEFERSYNC where the engine has it): a follower's
 * file is synced only before a snapshot, so power loss may take it back to
 * any commit at or after its last snapshot. Taken back to a copy made just
 * after one (while more writes follow), it restarts, replays its log from
 * the file's applied index (no fetch: the log still holds those entries)
 * and ends with the same DEBUG DIGEST and counter as the others. */
Test(cluster, file_rolled_back_to_sync_point_replays)
{
    /* ~72 entries before the copy (one snapshot, at 64), 40 after it: no
     * second snapshot, so the log still holds everything after the copy */
    const char *more[] = {"--cluster-snapshot-threshold", "64", "--cluster-snapshot-trailing",
                          "4096", NULL};
    cluster_start(3, more);
    int l = wait_leader(WAIT_MS), f = follower_of(l);
    int fd = rs_connect(nodes[l].srv);
    for (int i = 0; i < 40; i++)
        cr_assert(rs_q(fd, "INCR", "ctr", NULL)[0] == ':');
    rs_close(fd);
    set_many(l, 0, 30);
    const char *get0[] = {"GET", "key29"};
    wait_local(f, "\"val29\"", get0, 2);
    int64_t end = now_ms() + WAIT_MS;
    while (now_ms() < end && snapshot_index(f) == 0)
        rs_sleep_ms(20);
    unsigned long long snap = snapshot_index(f);
    cr_assert(snap > 0, "node %d took no snapshot", nodes[f].id);
    char old[600];
    snprintf(old, sizeof old, "%s", tu_path("synced.ffdb"));
    node_signal(f, SIGSTOP); /* the file as it is at (or just after) its sync point */
    copy_file(nodes[f].srv->data, old);
    node_signal(f, SIGCONT);

    set_many(l, 30, 20);
    fd = rs_connect(nodes[l].srv);
    for (int i = 0; i < 20; i++)
        cr_assert(rs_q(fd, "INCR", "ctr", NULL)[0] == ':');
    rs_close(fd);
    const char *ctr[] = {"GET", "ctr"};
    wait_local(f, "\"60\"", ctr, 2);
    cr_assert_eq(snapshot_index(f), snap, "a second snapshot: the test's entry counts are off");
    node_kill9(f);
    copy_file(old, nodes[f].srv->data);
    rs_restart(nodes[f].srv);
    nodes[f].alive = 1;
    const char *dbsize[] = {"DBSIZE"};
    wait_all_local(":51", dbsize, 1);
    wait_all_local("\"60\"", ctr, 2);
    char d0[128], d1[128];
    digest_of(l, d0, sizeof d0);
    for (int i = 0; i < nnodes; i++)
        cr_assert_str_eq(digest_of(i, d1, sizeof d1), d0, "node %d differs", nodes[i].id);
    const char *log = rs_log(nodes[f].srv);
    cr_assert(!strstr(log, "replaced by a peer's snapshot"),
              "the follower fetched a file though its log covers the copy (snapshot %llu); log:\n%s",
              snap, log);
}

/* CLUSTER MEET/FORGET on the leader, retried while another change runs. */
static const char *membership(int l, const char *const *argv, int argc)
{
    static const char *const retry[] = {"in progress", NULL};
    return q_retry(l, argv, argc, retry);
}

static int voters(int i)
{
    char field[32], buf[256];
    int n = 0;
    for (int p = 0; p < CL_MAX; p++) {
        snprintf(field, sizeof field, "raft_peer%d", p);
        if (strstr(info_field(i, field, buf, sizeof buf), "role=voter"))
            n++;
    }
    return n;
}

static void wait_voters(int i, int want)
{
    int64_t end = now_ms() + WAIT_MS;
    while (now_ms() < end && voters(i) != want)
        rs_sleep_ms(50);
    cr_assert_eq(voters(i), want, "node %d has %d voters, not %d", nodes[i].id, voters(i), want);
}

Test(cluster, meet_and_forget)
{
    cluster_start(3, NULL);
    int l = wait_leader(WAIT_MS);
    const char *set[] = {"SET", "k", "v"};
    cr_assert_str_eq(write_settled(l, set, 3), "OK");

    /* a fourth node, started to join: it waits for MEET */
    char clist[600], port[16], id[16];
    node_prepare(3);
    nnodes = 4;
    snprintf(clist, sizeof clist, "%s,4@127.0.0.1:%d", list, nodes[3].raft);
    const char *join[] = {"--cluster-join", "yes", NULL};
    node_start(3, clist, join);
    snprintf(port, sizeof port, "%d", nodes[3].raft);
    snprintf(id, sizeof id, "%d", nodes[3].id);
    const char *meet[] = {"CLUSTER", "MEET", "127.0.0.1", port, id};
    cr_assert_str_eq(membership(l, meet, 5), "OK");
    wait_voters(l, 4);
    const char *get[] = {"GET", "k"};
    wait_local(3, "\"v\"", get, 2);
    /* and what follows */
    const char *set2[] = {"SET", "k2", "v2"};
    cr_assert_str_eq(write_settled(l, set2, 3), "OK");
    const char *get2[] = {"GET", "k2"};
    wait_all_local("\"v2\"", get2, 2);
    cr_assert_eq(info_num(3, "raft_leader_id"), nodes[l].id);

    /* bad input is an error */
    const char *bad[] = {"CLUSTER", "MEET", "127.0.0.1", "0", "9"};
    cr_assert(!strncmp(membership(l, bad, 5), "-ERR", 4));

    /* forget the new one: three voters again, and writes still commit */
    const char *forget[] = {"CLUSTER", "FORGET", id};
    cr_assert_str_eq(membership(l, forget, 3), "OK");
    wait_voters(l, 3);
    const char *set3[] = {"SET", "k3", "v3"};
    cr_assert_str_eq(write_settled(l, set3, 3), "OK");
    node_kill9(3);
    nnodes = 3;
    const char *get3[] = {"GET", "k3"};
    wait_all_local("\"v3\"", get3, 2);
}

Test(cluster, ttl_decided_by_the_leader)
{
    cluster_start(3, NULL);
    int l = wait_leader(WAIT_MS), f = follower_of(l), g = -1;
    for (int i = 0; i < nnodes; i++)
        if (i != l && i != f)
            g = i;
    int fd = rs_connect(nodes[l].srv);
    char k[16];
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "t%d", i);
        cr_assert_str_eq(rs_q(fd, "SET", k, "v", NULL), "OK");
        cr_assert_str_eq(rs_q(fd, "PEXPIRE", k, "2500", NULL), ":1");
    }
    cr_assert_str_eq(rs_q(fd, "SET", "stay", "v", NULL), "OK");
    rs_close(fd);
    const char *dbsize[] = {"DBSIZE"};
    wait_local(f, ":11", dbsize, 1);

    /* a follower without a leader never deletes by its own clock */
    node_signal(l, SIGSTOP);
    node_signal(g, SIGSTOP);
    long long applied = info_num(f, "raft_file_applied_index");
    rs_sleep_ms(3000); /* past the TTL: the keys are due */
    cr_assert_eq(info_num(f, "raft_file_applied_index"), applied);
    fd = rs_connect(nodes[f].srv);
    cr_assert_str_eq(rs_q(fd, "READONLY", NULL), "OK");
    cr_assert_str_eq(rs_q(fd, "DBSIZE", NULL), ":11");
    rs_close(fd);

    /* the leader back: it expires them, the deletes reach every node */
    node_signal(l, SIGCONT);
    node_signal(g, SIGCONT);
    wait_all_local(":1", dbsize, 1);
    l = wait_leader(WAIT_MS);
    for (int i = 0; i < nnodes; i++) {
        fd = rs_connect(nodes[i].srv);
        long long expired = rs_info_int(fd, "expired_keys");
        rs_close(fd);
        cr_assert_leq(expired, 10, "node %d counted %lld expiries of 10 keys", nodes[i].id,
                      expired);
    }
}

/* Skewed clocks: after the election the followers restart with clocks a
 * minute ahead and a minute behind (FFDB_TEST_CLOCK_SKEW_MS, read by the
 * server at start). Keys with a 3 s TTL are already due by the fast
 * follower's clock and a minute from due by the slow one's: both keep them
 * until the leader's sweeper deletes them, and both apply that delete (the
 * entry carries the leader's clock) — one delete each, every node equal. */
Test(cluster, ttl_with_skewed_clocks)
{
    cluster_start(3, NULL);
    int l = wait_leader(WAIT_MS), f = follower_of(l), g = -1;
    for (int i = 0; i < nnodes; i++)
        if (i != l && i != f)
            g = i;
    const char *skew[2] = {"60000", "-60000"};
    int who[2] = {f, g};
    /* One follower at a time, the next killed only once the restarted one
     * has applied a write: the leader keeps a majority throughout (two
     * followers down at once made it step down under load). */
    for (int k = 0; k < 2; k++) {
        node_kill9(who[k]);
        cr_assert_eq(setenv("FFDB_TEST_CLOCK_SKEW_MS", skew[k], 1), 0);
        rs_restart(nodes[who[k]].srv);
        unsetenv("FFDB_TEST_CLOCK_SKEW_MS");
        nodes[who[k]].alive = 1;
        const char *set0[] = {"SET", "stay", skew[k]};
        cr_assert_str_eq(write_settled(l, set0, 3), "OK");
        const char *get0[] = {"GET", "stay"};
        char want[32];
        snprintf(want, sizeof want, "\"%s\"", skew[k]);
        wait_local(who[k], want, get0, 2);
    }
    const char *set0[] = {"SET", "stay", "v"};
    cr_assert_str_eq(write_settled(l, set0, 3), "OK");
    const char *get0[] = {"GET", "stay"};
    wait_all_local("\"v\"", get0, 2);
    cr_assert_eq(current_leader(), l, "leadership moved while the followers restarted");

    int fd = rs_connect(nodes[l].srv);
    char k[16];
    int64_t t0 = now_ms();
    cr_assert_str_eq(rs_q(fd, "MULTI", NULL), "OK");
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "t%d", i);
        cr_assert_str_eq(rs_q(fd, "SET", k, "v", "PX", "3000", NULL), "QUEUED");
    }
    rs_q(fd, "EXEC", NULL);
    rs_close(fd);
    const char *dbsize[] = {"DBSIZE"};
    wait_local(f, ":11", dbsize, 1);
    /* the fast follower's sweeper has run (hz 10) with every key due by its
     * clock; still there while the leader's TTL has not passed */
    rs_sleep_ms(500);
    fd = rs_connect(nodes[f].srv);
    cr_assert_str_eq(rs_q(fd, "READONLY", NULL), "OK");
    const char *n = rs_q(fd, "DBSIZE", NULL);
    if (now_ms() - t0 < 2500) /* else a slow machine: the leader may have expired them */
        cr_assert_str_eq(n, ":11", "the fast follower expired by its own clock");
    rs_close(fd);
    /* the slow follower would keep them for a minute by its clock */
    wait_all_local(":1", dbsize, 1);
    for (int i = 0; i < nnodes; i++) {
        fd = rs_connect(nodes[i].srv);
        long long expired = rs_info_int(fd, "expired_keys");
        rs_close(fd);
        cr_assert_leq(expired, 10, "node %d counted %lld expiries of 10 keys", nodes[i].id,
                      expired);
    }
}

/* Every mutating command is replicated, the sorted-set ones IceFireDB
 * missed included (ZINCRBY, ZREMRANGEBYSCORE/RANK/LEX, ZPOPMIN): after
 * them every node holds the leader's data set (DEBUG DIGEST) and the same
 * sorted set. */
Test(cluster, zset_writes_replicated)
{
    cluster_start(3, NULL);
    int l = wait_leader(WAIT_MS);
    int fd = rs_connect(nodes[l].srv);
    cr_assert_str_eq(rs_q(fd, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6",
                          "f", "7", "g", NULL),
                     ":7");
    cr_assert_str_eq(rs_q(fd, "ZINCRBY", "z", "10", "a", NULL), "\"11\"");
    cr_assert_str_eq(rs_q(fd, "ZREMRANGEBYSCORE", "z", "2", "3", NULL), ":2");
    cr_assert_str_eq(rs_q(fd, "ZREMRANGEBYRANK", "z", "0", "0", NULL), ":1");
    cr_assert_str_eq(rs_q(fd, "ZADD", "lex", "0", "x", "0", "y", "0", "z", NULL), ":3");
    cr_assert_str_eq(rs_q(fd, "ZREMRANGEBYLEX", "lex", "[x", "[y", NULL), ":2");
    cr_assert_str_eq(rs_q(fd, "ZPOPMIN", "z", NULL), "[\"e\",\"5\"]");
    const char *want = rs_q(fd, "ZRANGE", "z", "0", "-1", "WITHSCORES", NULL);
    char zr[256];
    snprintf(zr, sizeof zr, "%s", want);
    rs_close(fd);
    const char *zrange[] = {"ZRANGE", "z", "0", "-1", "WITHSCORES"};
    wait_all_local(zr, zrange, 5);
    const char *lex[] = {"ZRANGE", "lex", "0", "-1"};
    wait_all_local("[\"z\"]", lex, 4);
    char d0[128], d1[128];
    digest_of(l, d0, sizeof d0);
    for (int i = 0; i < nnodes; i++)
        cr_assert_str_eq(digest_of(i, d1, sizeof d1), d0, "node %d differs", nodes[i].id);
}

/* ---- the soak (make cluster-soak; skipped unless CLUSTER_SOAK_SECONDS is set) ------------- */

static int current_leader(void)
{
    char buf[64];
    for (int i = 0; i < nnodes; i++)
        if (nodes[i].alive && !strcmp(info_field(i, "raft_state", buf, sizeof buf), "leader"))
            return i;
    return -1;
}

TestSuite(cluster_soak, .init = rs_setup, .fini = rs_teardown, .timeout = 900);


Test(cluster_soak, faults)
{
    const char *env = getenv("CLUSTER_SOAK_SECONDS");
    if (!env || atoi(env) <= 0)
        cr_skip_test("set CLUSTER_SOAK_SECONDS (make cluster-soak)");
    int seconds = atoi(env);
    /* CLUSTER_SOAK_FSYNC=never: the files are never synced, the RAFT log is
     * the durability point. Then a third fault: a follower's file taken back
     * to an older state (what losing its unsynced commits leaves), which it
     * must make good from the log or a peer's file. */
    const char *fsync_mode = getenv("CLUSTER_SOAK_FSYNC");
    if (!fsync_mode || !*fsync_mode)
        fsync_mode = "always";
    int never = !strcmp(fsync_mode, "never");
    const char *more[] = {"--cluster-snapshot-threshold", "256", "--cluster-snapshot-trailing",
                          "32", "--fsync", fsync_mode, NULL};
    cluster_start(3, more);
    wait_leader(WAIT_MS);
    enum { MAXOPS = 400000 };
    long long *incr = malloc(MAXOPS * sizeof *incr);
    char *key_state = calloc(MAXOPS, 1); /* 1 acked, 2 unknown */
    cr_assert(incr && key_state);
    int nincr = 0, incr_unknown = 0, nkeys = 0, keys_acked = 0, keys_unknown = 0, cur = 0, fd = -1;
    int kills = 0, stops = 0, rollbacks = 0, down = -1, stopped = -1, rolled = -1;
    char old_file[600];
    snprintf(old_file, sizeof old_file, "%s", tu_path("rollback.ffdb"));
    long long last = 0;
    int64_t start = now_ms(), end = start + seconds * 1000LL, next_fault = start + 2000, heal = 0;
    unsigned seed = (unsigned)getpid();

    while (now_ms() < end && nincr < MAXOPS && nkeys < MAXOPS) {
        int64_t t = now_ms();
        if (heal && t >= heal) { /* end of the fault: the node back */
            if (rolled >= 0) { /* killed, and its file as it was at the fault */
                node_kill9(rolled);
                copy_file(old_file, nodes[rolled].srv->data);
                down = rolled;
                rolled = -1;
            }
            if (down >= 0) {
                rs_restart(nodes[down].srv);
                nodes[down].alive = 1;
            }
            if (stopped >= 0)
                node_signal(stopped, SIGCONT);
            down = stopped = -1;
            heal = 0;
            next_fault = t + 1500 + rand_r(&seed) % 1500;
        } else if (!heal && t >= next_fault) {
            int l = current_leader(), kind = (kills + stops + rollbacks) % (never ? 3 : 2);
            if (kind == 2 && l >= 0) { /* a follower's file, kept as it is now */
                rolled = (l + 1 + (int)(rand_r(&seed) % 2u)) % nnodes;
                node_signal(rolled, SIGSTOP); /* a consistent copy: as a kill -9 leaves it */
                copy_file(nodes[rolled].srv->data, old_file);
                node_signal(rolled, SIGCONT);
                rollbacks++;
            } else if (kind == 0 && l >= 0) { /* the faults alternate */
                down = l;                             /* kill -9 the leader */
                node_kill9(l);
                kills++;
            } else {
                stopped = (int)(rand_r(&seed) % (unsigned)nnodes);
                node_signal(stopped, SIGSTOP);
                stops++;
            }
            heal = t + 500 + rand_r(&seed) % 1500;
        }
        rs_reply *r = NULL;
        int rc;
        if (rand_r(&seed) % 2) {
            long long val = 0;
            rc = incr_follow(&cur, &fd, &val);
            if (rc == 1) {
                cr_assert_gt(val, last, "INCR gave %lld after %lld: not linearizable", val, last);
                last = val;
                incr[nincr++] = val;
            } else if (rc == 0) {
                incr_unknown++;
            }
        } else {
            char k[32];
            snprintf(k, sizeof k, "u%d", nkeys);
            const char *argv[] = {"SET", k, "1"};
            rc = write_follow(&cur, &fd, 3, argv, &r);
            if (rc >= 0) {
                key_state[nkeys++] = rc == 1 ? 1 : 2;
                keys_acked += rc == 1;
                keys_unknown += rc == 0;
            }
        }
        if (rc < 0 || (rc == 0 && fd < 0))
            next_node(&cur, &fd);
    }
    if (fd >= 0)
        rs_close(fd);
    if (down >= 0) {
        rs_restart(nodes[down].srv);
        nodes[down].alive = 1;
    }
    if (stopped >= 0)
        node_signal(stopped, SIGCONT);
    if (rolled >= 0) {
        node_kill9(rolled);
        copy_file(old_file, nodes[rolled].srv->data);
        rs_restart(nodes[rolled].srv);
        nodes[rolled].alive = 1;
    }

    int l = wait_leader(WAIT_MS);
    fd = rs_connect(nodes[l].srv);
    const char *v = rs_q(fd, "GET", "counter", NULL);
    cr_assert(v[0] == '"', "GET counter: %s", v);
    long long final = atoll(v + 1);
    cr_assert_geq(final, last);
    cr_assert_geq(final, nincr);
    cr_assert_leq(final, (long long)nincr + incr_unknown);
    /* every acknowledged key is there; the unknown ones either way */
    int present = 0;
    for (int i = 0; i < nkeys; i++) {
        char k[32];
        snprintf(k, sizeof k, "u%d", i);
        const char *e = rs_q(fd, "EXISTS", k, NULL);
        if (key_state[i] == 1)
            cr_assert_str_eq(e, ":1", "acknowledged SET %s lost", k);
        present += !strcmp(e, ":1");
    }
    char want[32];
    snprintf(want, sizeof want, ":%d", present + 1);
    cr_assert_str_eq(rs_q(fd, "DBSIZE", NULL), want);
    rs_close(fd);
    /* every node ends with the same state */
    const char *dbsize[] = {"DBSIZE"};
    wait_all_local(want, dbsize, 1);
    snprintf(want, sizeof want, "\"%lld\"", final);
    const char *get[] = {"GET", "counter"};
    wait_all_local(want, get, 2);
    fprintf(
        stderr,
        "cluster-soak %ds, --fsync %s: %d leader kills, %d SIGSTOPs, %d file rollbacks; INCR %d "
        "acked, %d unknown, final %lld; SET %d acked, %d unknown, %d present\n",
        seconds, fsync_mode, kills, stops, rollbacks, nincr, incr_unknown, final, keys_acked, keys_unknown, present);
    free(incr);
    free(key_state);
}
