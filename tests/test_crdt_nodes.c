/*
 * test_crdt_nodes.c — ffdb-server --crdt yes end to end: real server
 * processes on loopback ports (tests/test_resp_util.h), each with its own
 * directory and so its own ed25519 key. Until the NATS transport lands the
 * test itself carries entries between nodes (OPLOG ENTRIES on one, OPLOG-ADD
 * on another: the anti-entropy a transport will do), in partial and
 * different orders.
 *
 *   converge  three nodes take conflicting writes (the same string keys,
 *             hash fields, a counter, set members added and removed, DEL),
 *             one node SIGSTOPped for part of the run; after the exchange:
 *             DEBUG DIGEST equal, OPLOG VERIFY clean, the same OPLOG LEN
 *             and HEADS, the counter the sum of every increment; a fourth
 *             node joining from an empty file converges
 *   refuse    commands without a convergent meaning answer -ERR CRDT mode
 *             and log nothing; an entry changed in flight is refused and
 *             nothing of it is applied
 *   old_file  a file whose log predates the key index and the tags is
 *             rebuilt when the server opens it (said in its log), once
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/test_crdt_util.h"
#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(crdt_nodes, .init = rs_setup, .fini = rs_teardown, .timeout = 120);

typedef struct node {
    rs_server *s;
    int fd;
    char dir[600];
} node;

static void node_start(node *n, int i)
{
    snprintf(n->dir, sizeof n->dir, "%s/node%d", tu_path(""), i);
    cr_assert_eq(mkdir(n->dir, 0700), 0);
    const char *extra[] = {"--crdt", "yes", "--dir", n->dir, NULL};
    n->s = rs_start(extra);
    n->fd = rs_connect(n->s);
}

/* Everything src holds that dst lacks, in src's order: the number dst added. */
static int64_t sync_to(node *src, node *dst)
{
    rs_send(src->fd, "OPLOG", "ENTRIES", (const char *)NULL);
    rs_reply *r = rs_read(src->fd);
    cr_assert(r && r->type == '*', "OPLOG ENTRIES: %s", r ? rs_text(r) : "nothing");
    if (r->count == 0)
        return 0;
    const char **argv = malloc(sizeof(*argv) * (r->count + 1));
    size_t *lens = malloc(sizeof(*lens) * (r->count + 1));
    argv[0] = "OPLOG-ADD";
    lens[0] = 9;
    for (size_t i = 0; i < r->count; i++) {
        argv[i + 1] = r->elems[i]->str;
        lens[i + 1] = r->elems[i]->len;
    }
    rs_sendv(dst->fd, (int)r->count + 1, argv, lens);
    free(argv);
    free(lens);
    rs_reply *a = rs_read(dst->fd);
    cr_assert(a && a->type == ':', "OPLOG-ADD: %s; its log: %s", a ? rs_text(a) : "nothing",
              rs_log(dst->s));
    return a->integer;
}

static void digest_of(node *n, char out[64])
{
    snprintf(out, 64, "%s", Q(n->fd, "DEBUG", "DIGEST"));
    cr_assert_eq(strlen(out), 40, "%s", out);
}

Test(crdt_nodes, converge)
{
    node n[4];
    int64_t incr = 0;
    char d0[64], d[64];

    for (int i = 0; i < 3; i++)
        node_start(&n[i], i);
    for (int round = 0; round < 12; round++) {
        int stopped = round >= 4 && round < 8; /* node 2 is frozen for rounds 4..7 */
        if (round == 4)
            cr_assert_eq(kill(n[2].s->pid, SIGSTOP), 0);
        if (round == 8)
            cr_assert_eq(kill(n[2].s->pid, SIGCONT), 0);
        for (int i = 0; i < 3; i++)
            if (!(stopped && i == 2))
                crdt_write_round(n[i].fd, i, round, &incr);
        /* a partial exchange, a different pair each round */
        int a = round % 3, b = (round + 1) % 3;
        if (!(stopped && (a == 2 || b == 2)))
            sync_to(&n[a], &n[b]);
    }
    /* quiescence: every node gets everything */
    for (int pass = 0; pass < 2; pass++)
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                if (a != b)
                    sync_to(&n[a], &n[b]);
    digest_of(&n[0], d0);
    char len0[32], heads0[512];
    snprintf(len0, sizeof len0, "%s", Q(n[0].fd, "OPLOG", "LEN"));
    snprintf(heads0, sizeof heads0, "%s", Q(n[0].fd, "OPLOG", "HEADS"));
    char want_c[32];
    snprintf(want_c, sizeof want_c, "\"%lld\"", (long long)incr);
    for (int i = 0; i < 3; i++) {
        digest_of(&n[i], d);
        cr_assert_str_eq(d, d0, "node %d digest", i);
        cr_assert_str_eq(Q(n[i].fd, "OPLOG", "VERIFY"), "OK");
        cr_assert_str_eq(Q(n[i].fd, "OPLOG", "LEN"), len0);
        cr_assert_str_eq(Q(n[i].fd, "OPLOG", "HEADS"), heads0);
        cr_assert_str_eq(Q(n[i].fd, "GET", "c"), want_c, "the counter sums every increment");
    }
    cr_assert_str_neq(d0, "0000000000000000000000000000000000000000");

    /* a new node joins from an empty file */
    node_start(&n[3], 3);
    cr_assert_gt(sync_to(&n[1], &n[3]), 0);
    digest_of(&n[3], d);
    cr_assert_str_eq(d, d0);
    cr_assert_str_eq(Q(n[3].fd, "OPLOG", "VERIFY"), "OK");
    cr_assert_eq(sync_to(&n[1], &n[3]), 0, "nothing twice");

    /* and its own write reaches the others */
    cr_assert_str_eq(Q(n[3].fd, "SET", "k0", "from-the-newcomer"), "OK");
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(sync_to(&n[3], &n[i]), 1);
        cr_assert_str_eq(Q(n[i].fd, "GET", "k0"), "\"from-the-newcomer\"");
    }
    for (int i = 0; i < 4; i++)
        rs_close(n[i].fd);
}

Test(crdt_nodes, refuse)
{
    node a, b;
    node_start(&a, 0);
    node_start(&b, 1);
    cr_assert_str_eq(Q(a.fd, "LPUSH", "l", "x"),
                     "-ERR CRDT mode: lists are not replicated in CRDT mode (no convergent list "
                     "type)");
    cr_assert_eq(
        strncmp(Q(a.fd, "SETNX", "k", "v"), "-ERR CRDT mode: SETNX decides on absence", 40), 0);
    cr_assert_eq(strncmp(Q(a.fd, "SET", "k", "v", "EX", "10"), "-ERR CRDT mode: SET options", 27),
                 0);
    cr_assert_eq(strncmp(Q(a.fd, "EXPIRE", "k", "10"), "-ERR CRDT mode: expiry", 22), 0);
    cr_assert_eq(strncmp(Q(a.fd, "INCRBYFLOAT", "k", "1.5"), "-ERR CRDT mode:", 15), 0);
    Q(a.fd, "MULTI");
    Q(a.fd, "SET", "k", "v");
    cr_assert_eq(strncmp(Q(a.fd, "EXEC"), "-ERR CRDT mode: MULTI/EXEC", 26), 0);
    cr_assert_str_eq(Q(a.fd, "OPLOG", "LEN"), ":0", "nothing refused was logged");
    cr_assert_str_eq(Q(a.fd, "GET", "k"), "nil");

    cr_assert_str_eq(Q(a.fd, "SET", "k", "good"), "OK");
    rs_send(a.fd, "OPLOG", "ENTRIES", (const char *)NULL);
    rs_reply *r = rs_read(a.fd);
    cr_assert(r && r->type == '*' && r->count == 1);
    char *bytes = malloc(r->elems[0]->len);
    size_t len = r->elems[0]->len;
    memcpy(bytes, r->elems[0]->str, len);
    char *p = memmem(bytes, len, "good", 4);
    cr_assert(p);
    memcpy(p, "evil", 4); /* changed in flight: the signature no longer holds */
    const char *argv[] = {"OPLOG-ADD", bytes};
    size_t lens[] = {9, len};
    rs_sendv(b.fd, 2, argv, lens);
    rs_reply *e = rs_read(b.fd);
    cr_assert(e && e->type == '-', "%s", e ? rs_text(e) : "");
    cr_assert(strstr(e->str, "signature"), "%s", e->str);
    cr_assert_str_eq(Q(b.fd, "OPLOG", "LEN"), ":0");
    cr_assert_str_eq(Q(b.fd, "GET", "k"), "nil");
    free(bytes);
    cr_assert_str_eq(Q(b.fd, "OPLOG-ADD", "garbage")[0] == '-' ? "-" : "x", "-");
    cr_assert_eq(sync_to(&a, &b), 1);
    cr_assert_str_eq(Q(b.fd, "GET", "k"), "\"good\"");
    rs_close(a.fd);
    rs_close(b.fd);
}

/* SADD/SREM are an add-wins OR-set: a remove takes away only the adds its
 * writer had seen, even when it sorts after a concurrent add. */
Test(crdt_nodes, add_wins)
{
    node a, b;
    char da[64], db[64];
    node_start(&a, 0);
    node_start(&b, 1);
    cr_assert_str_eq(Q(a.fd, "SADD", "s", "x", "y"), ":2");
    cr_assert_eq(sync_to(&a, &b), 1);
    /* concurrently: b adds x again; a, whose clock runs ahead, removes x and y */
    cr_assert_str_eq(Q(b.fd, "SADD", "s", "x"), ":0");
    for (int i = 0; i < 5; i++)
        Q(a.fd, "SET", "tick", "t");
    cr_assert_str_eq(Q(a.fd, "SREM", "s", "x", "y"), ":2");
    cr_assert_str_eq(Q(a.fd, "SMEMBERS", "s"), "[]");
    sync_to(&a, &b);
    sync_to(&b, &a);
    /* the remove sorts last, yet b's add, unseen by it, survives; y goes */
    cr_assert_str_eq(Q(a.fd, "SMEMBERS", "s"), "[\"x\"]");
    cr_assert_str_eq(Q(b.fd, "SMEMBERS", "s"), "[\"x\"]");
    /* a remove that has seen every add takes the member away */
    cr_assert_str_eq(Q(b.fd, "SREM", "s", "x"), ":1");
    cr_assert_eq(sync_to(&b, &a), 1);
    cr_assert_str_eq(Q(a.fd, "EXISTS", "s"), ":0");
    /* DEL drops what sorts before it, tags included */
    Q(a.fd, "SADD", "s", "z");
    Q(a.fd, "DEL", "s");
    Q(a.fd, "SADD", "s", "w");
    sync_to(&a, &b);
    cr_assert_str_eq(Q(b.fd, "SMEMBERS", "s"), "[\"w\"]");
    digest_of(&a, da);
    digest_of(&b, db);
    cr_assert_str_eq(da, db);
    cr_assert_str_eq(Q(a.fd, "OPLOG", "VERIFY"), "OK");
    cr_assert_str_eq(Q(b.fd, "OPLOG", "VERIFY"), "OK");
    rs_close(a.fd);
    rs_close(b.fd);
}

/* One random write of node who on a few shared keys (every type the mode
 * merges, multi-key MSET and DEL among them). */
static void random_write(node *n, unsigned *seed)
{
    char k1[16], k2[16], v[32], f[16], by[16];
    snprintf(k1, sizeof k1, "k%u", rand_r(seed) % 6);
    snprintf(k2, sizeof k2, "k%u", rand_r(seed) % 6);
    snprintf(v, sizeof v, "v%u", rand_r(seed) % 1000);
    snprintf(f, sizeof f, "f%u", rand_r(seed) % 3);
    snprintf(by, sizeof by, "%d", (int)(rand_r(seed) % 7) - 2);
    switch (rand_r(seed) % 9) {
    case 0: Q(n->fd, "SET", k1, v); break;
    case 1: Q(n->fd, "MSET", k1, v, k2, "m"); break;
    case 2: Q(n->fd, "DEL", k1, k2); break;
    case 3: Q(n->fd, "HSET", "h", f, v); break;
    case 4: Q(n->fd, "HDEL", "h", f); break;
    case 5: Q(n->fd, "INCRBY", "c", by); break;
    case 6: Q(n->fd, "SADD", "s", f, v); break;
    case 7: Q(n->fd, "SREM", "s", f); break;
    default: Q(n->fd, "HINCRBY", "hc", f, by); break;
    }
}

/* Late entries refold only their keys (C1): the result equals a full
 * rebuild, whatever order entries arrive in. */
Test(crdt_nodes, refold_per_key)
{
    node n[3];
    unsigned seed = (unsigned)tu_seed("crdt_nodes::refold_per_key");
    char before[3][64], after[64];
    for (int i = 0; i < 3; i++)
        node_start(&n[i], i);
    for (int round = 0; round < 40; round++) {
        int who = (int)(rand_r(&seed) % 3);
        for (int w = (int)(rand_r(&seed) % 4); w >= 0; w--)
            random_write(&n[who], &seed);
        int a = (int)(rand_r(&seed) % 3), b = (int)(rand_r(&seed) % 3);
        if (a != b && rand_r(&seed) % 2)
            sync_to(&n[a], &n[b]);
    }
    for (int i = 0; i < 3; i++) { /* each node's data before everything is in */
        digest_of(&n[i], before[i]);
        cr_assert_str_eq(Q(n[i].fd, "OPLOG-REBUILD"), "OK");
        digest_of(&n[i], after);
        cr_assert_str_eq(after, before[i], "node %d: the refolds equal a full rebuild (seed %u)", i,
                         seed);
    }
    for (int pass = 0; pass < 2; pass++)
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                if (a != b)
                    sync_to(&n[a], &n[b]);
    int64_t refolds = 0;
    for (int i = 0; i < 3; i++) {
        digest_of(&n[i], before[i]);
        cr_assert_str_eq(before[i], before[0], "node %d converges", i);
        cr_assert_str_eq(Q(n[i].fd, "OPLOG-REBUILD"), "OK");
        digest_of(&n[i], after);
        cr_assert_str_eq(after, before[i]);
        cr_assert_eq(crdt_stat(n[i].fd, "rebuilds"), 2, "only the two forced ones");
        refolds += crdt_stat(n[i].fd, "refolds");
        cr_assert_str_eq(Q(n[i].fd, "OPLOG", "VERIFY"), "OK");
    }
    cr_assert_gt(refolds, 0, "late entries were refolded per key");
    for (int i = 0; i < 3; i++)
        rs_close(n[i].fd);
}

/* A file whose op log predates the key index and the tags (no "format" in
 * crdt.m, no crdt.k or crdt.s): the server rebuilds them from the log when
 * it opens the file, says so, and the data is what it was; a file already
 * in the format is not rebuilt again. */
Test(crdt_nodes, old_file)
{
    node a;
    ffdb *db;
    ffdb_txn *t;
    ffdb_bucket *b;
    ffdb_options o = {0};
    char d0[64], d[64];

    node_start(&a, 0);
    Q(a.fd, "SET", "s", "v");
    Q(a.fd, "HSET", "h", "f", "1");
    Q(a.fd, "SADD", "set", "m1", "m2");
    Q(a.fd, "INCRBY", "c", "5");
    digest_of(&a, d0);
    cr_assert_eq(crdt_stat(a.fd, "rebuilds"), 0, "a new file is not rebuilt");
    rs_close(a.fd);
    rs_stop(a.s);

    /* make it an old file */
    cr_assert_eq(ffdb_open(a.s->data, &o, &db), 0);
    cr_assert_eq(ffdb_begin_write(db, &t), 0);
    cr_assert_eq(ffdb_bucket_drop(t, "crdt.k", 6), 0);
    cr_assert_eq(ffdb_bucket_drop(t, "crdt.s", 6), 0);
    cr_assert_eq(ffdb_bucket_open(t, "crdt.m", 6, &b), 0);
    cr_assert_eq(ffdb_delete(b, "format", 6), 0);
    cr_assert_eq(ffdb_commit(t), 0);
    ffdb_close(db);

    rs_restart(a.s);
    a.fd = rs_connect(a.s);
    cr_assert_eq(crdt_stat(a.fd, "rebuilds"), 1);
    for (int i = 0; !strstr(rs_log(a.s), "was indexed by an older ffdb-server"); i++) {
        cr_assert_lt(i, 100, "the rebuild is not in the log: %s", rs_log(a.s));
        rs_sleep_ms(50); /* the log file is written behind the replies */
    }
    digest_of(&a, d);
    cr_assert_str_eq(d, d0);
    cr_assert_str_eq(Q(a.fd, "OPLOG", "VERIFY"), "OK");
    /* the tags are back: an SREM removes what the node saw added */
    cr_assert_str_eq(Q(a.fd, "SREM", "set", "m1"), ":1");
    cr_assert_str_eq(Q(a.fd, "SMEMBERS", "set"), "[\"m2\"]");
    rs_close(a.fd);
    rs_stop(a.s);

    cr_assert_eq(ffdb_open(a.s->data, &o, &db), 0);
    cr_assert_eq(ffdb_begin_read(db, &t), 0);
    cr_assert_eq(ffdb_bucket_open(t, "crdt.k", 6, &b), 0, "the key index was rebuilt");
    cr_assert_eq(ffdb_bucket_open(t, "crdt.s", 6, &b), 0, "the tags were rebuilt");
    ffdb_abort(t);
    ffdb_close(db);
    rs_restart(a.s);
    a.fd = rs_connect(a.s);
    cr_assert_eq(crdt_stat(a.fd, "rebuilds"), 0, "once in the format, no rebuild");
    digest_of(&a, d);
    cr_assert_str_neq(d, d0, "the SREM stayed (the file was reopened as it was left)");
    cr_assert_str_eq(Q(a.fd, "SMEMBERS", "set"), "[\"m2\"]");
    rs_close(a.fd);
}
