/*
 * test_crdt_nats.c — ffdb-server --crdt yes --nats URL end to end: a real
 * nats-server (tests/test_nats_util.h) and real server processes
 * (tests/test_resp_util.h), each in its own directory (its own key). The
 * nodes carry the log themselves (modules/crdt/sync.c): nothing here moves
 * entries between them.
 *
 *   converge  three nodes take conflicting writes (strings, hash fields, a
 *             counter, set members added and removed, DEL), node 2
 *             SIGSTOPped for part of the run and nats-server restarted
 *             meanwhile; quiescence: DEBUG DIGEST, OPLOG LEN and HEADS
 *             equal, OPLOG VERIFY clean, the counter the sum of every
 *             increment; a fourth node joining the existing log converges
 *             and its write reaches the others
 *   tamper    an entry altered in flight (a raw NATS client publishing it
 *             on the entries subject) and garbage are refused and counted,
 *             nothing of them applied
 *   bad_peer  a raw client announcing a head it answers with garbage, then
 *             not at all (dead mid-fetch): the fetch gives up, is counted,
 *             and the node still syncs with real peers
 *   large_entry  a write whose entry could not fit one NATS message is
 *             refused clearly and logs nothing; one just under it arrives
 *             whole on the peer
 */
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/test_nats_util.h"
#include "tests/test_crdt_util.h"
#include "tests/test_resp_util.h"
#include "tests/testutil.h"

static void setup(void)
{
    rs_setup();
}

static void teardown(void)
{
    rs_teardown();
    tn_teardown();
}

TestSuite(crdt_nats, .init = setup, .fini = teardown, .timeout = 120);

#define WAIT_MS 30000

typedef struct node {
    rs_server *s;
    int fd;
    char dir[600];
} node;

static void node_start(node *n, int i, const char *url)
{
    snprintf(n->dir, sizeof n->dir, "%s/node%d", tu_path(""), i);
    cr_assert_eq(mkdir(n->dir, 0700), 0);
    const char *extra[] = {"--crdt", "yes", "--dir", n->dir, "--nats", url, NULL};
    n->s = rs_start(extra);
    n->fd = rs_connect(n->s);
}

/* Wait until the nodes hold the same data and the same OPLOG what (LEN,
 * HEADS) (bounded). */
static void quiesce_on(node *n, int count, const char *what)
{
    int64_t end = tn_mono_ms() + WAIT_MS;
    char d0[64], l0[4096], d[64] = "", l[4096] = "";
    for (;;) {
        int same = 1;
        snprintf(d0, sizeof d0, "%s", Q(n[0].fd, "DEBUG", "DIGEST"));
        snprintf(l0, sizeof l0, "%s", Q(n[0].fd, "OPLOG", what));
        for (int i = 1; i < count && same; i++) {
            snprintf(d, sizeof d, "%s", Q(n[i].fd, "DEBUG", "DIGEST"));
            snprintf(l, sizeof l, "%s", Q(n[i].fd, "OPLOG", what));
            same = !strcmp(d, d0) && !strcmp(l, l0);
        }
        if (same)
            return;
        cr_assert_lt(tn_mono_ms(), end, "no convergence in %d ms: node 0 %s %s, node %d %s %s",
                     WAIT_MS, d0, l0, count - 1, d, l);
        rs_sleep_ms(50);
    }
}

/* Wait until the nodes hold the same log and data (bounded). */
static void quiesce(node *n, int count)
{
    quiesce_on(n, count, "LEN");
}

static void check_same(node *n, int count, int64_t incr)
{
    char d0[64], len0[32], heads0[4096], want_c[32];
    snprintf(d0, sizeof d0, "%s", Q(n[0].fd, "DEBUG", "DIGEST"));
    snprintf(len0, sizeof len0, "%s", Q(n[0].fd, "OPLOG", "LEN"));
    snprintf(heads0, sizeof heads0, "%s", Q(n[0].fd, "OPLOG", "HEADS"));
    snprintf(want_c, sizeof want_c, "\"%lld\"", (long long)incr);
    cr_assert_str_neq(d0, "0000000000000000000000000000000000000000");
    for (int i = 0; i < count; i++) {
        cr_assert_str_eq(Q(n[i].fd, "DEBUG", "DIGEST"), d0, "node %d digest", i);
        cr_assert_str_eq(Q(n[i].fd, "OPLOG", "VERIFY"), "OK");
        cr_assert_str_eq(Q(n[i].fd, "OPLOG", "LEN"), len0);
        cr_assert_str_eq(Q(n[i].fd, "OPLOG", "HEADS"), heads0);
        cr_assert_str_eq(Q(n[i].fd, "GET", "c"), want_c, "the counter sums every increment");
    }
}

Test(crdt_nats, converge)
{
    tn_nats *bus = tn_start();
    node n[4];
    int64_t incr = 0;

    for (int i = 0; i < 3; i++)
        node_start(&n[i], i, bus->url);
    for (int round = 0; round < 12; round++) {
        int stopped = round >= 4 && round < 8; /* node 2 frozen for rounds 4..7 */
        if (round == 4)
            cr_assert_eq(kill(n[2].s->pid, SIGSTOP), 0);
        if (round == 6) /* the bus goes away and comes back under the nodes */
            tn_stop(bus);
        if (round == 7)
            tn_restart(bus);
        if (round == 8)
            cr_assert_eq(kill(n[2].s->pid, SIGCONT), 0);
        for (int i = 0; i < 3; i++)
            if (!(stopped && i == 2))
                crdt_write_round(n[i].fd, i, round, &incr);
        if (stopped)
            rs_sleep_ms(300); /* long enough for announcements node 2 misses */
    }
    quiesce(n, 3);
    check_same(n, 3, incr);
    cr_assert_gt(crdt_stat(n[2].fd, "fetched"), 0, "node 2 fetched what it missed");

    /* a new node joins the existing log from an empty file */
    node_start(&n[3], 3, bus->url);
    quiesce(n, 4);
    check_same(n, 4, incr);
    cr_assert_gt(crdt_stat(n[3].fd, "fetched"), 0);

    /* and its own write reaches the others */
    cr_assert_str_eq(Q(n[3].fd, "SET", "k0", "from-the-newcomer"), "OK");
    quiesce(n, 4);
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(Q(n[i].fd, "GET", "k0"), "\"from-the-newcomer\"");
    for (int i = 0; i < 4; i++)
        rs_close(n[i].fd);
}

/* A raw NATS client (nats.c directly) on the bus's default namespace. */
static natsConnection *raw_connect(const char *url)
{
    natsConnection *nc = NULL;
    cr_assert_eq(natsConnection_ConnectTo(&nc, url), NATS_OK);
    return nc;
}

static void frame(uint8_t *out, const void *bytes, uint32_t len)
{
    out[0] = (uint8_t)(len >> 24), out[1] = (uint8_t)(len >> 16), out[2] = (uint8_t)(len >> 8),
    out[3] = (uint8_t)len;
    memcpy(out + 4, bytes, len);
}

static void wait_stat(node *n, const char *name, int64_t at_least)
{
    int64_t end = tn_mono_ms() + WAIT_MS;
    while (crdt_stat(n->fd, name) < at_least) {
        cr_assert_lt(tn_mono_ms(), end, "%s stays below %lld", name, (long long)at_least);
        rs_sleep_ms(50);
    }
}

Test(crdt_nats, tamper)
{
    tn_nats *bus = tn_start();
    node a, b;
    node_start(&a, 0, bus->url);
    node_start(&b, 1, bus->url);
    cr_assert_str_eq(Q(a.fd, "SET", "k", "good"), "OK");
    quiesce((node[]){a, b}, 2);
    cr_assert_str_eq(Q(b.fd, "GET", "k"), "\"good\"");

    /* a's next entry, taken and altered before b sees it */
    cr_assert_str_eq(Q(a.fd, "SET", "k2", "fine"), "OK");
    rs_send(a.fd, "OPLOG", "ENTRIES", (const char *)NULL);
    rs_reply *r = rs_read(a.fd);
    cr_assert(r && r->type == '*' && r->count == 2);
    size_t len = r->elems[1]->len;
    uint8_t *msg = malloc(32 + 4 + len);
    memset(msg, 7, 32);
    frame(msg + 32, r->elems[1]->str, (uint32_t)len);
    uint8_t *p = memmem(msg + 36, len, "fine", 4);
    cr_assert(p);
    memcpy(p, "evil", 4); /* the signature no longer holds */
    int64_t refused = crdt_stat(b.fd, "refused");
    natsConnection *nc = raw_connect(bus->url);
    cr_assert_eq(natsConnection_Publish(nc, "ffdb._.oplog.e", msg, (int)(32 + 4 + len)), NATS_OK);
    uint8_t junk[32 + 4 + 5];
    memset(junk, 1, 32);
    frame(junk + 32, "xxxxx", 5); /* not an entry at all */
    cr_assert_eq(natsConnection_Publish(nc, "ffdb._.oplog.e", junk, sizeof junk), NATS_OK);
    cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
    wait_stat(&b, "refused", refused + 2);
    quiesce((node[]){a, b}, 2);
    cr_assert_str_eq(Q(b.fd, "GET", "k2"), "\"fine\"");
    cr_assert_str_eq(Q(b.fd, "OPLOG", "VERIFY"), "OK");
    cr_assert_str_eq(Q(b.fd, "OPLOG", "LEN"), ":2");
    natsConnection_Destroy(nc);
    free(msg);
    rs_close(a.fd);
    rs_close(b.fd);
}

Test(crdt_nats, bad_peer)
{
    tn_nats *bus = tn_start();
    node a, b;
    node_start(&a, 0, bus->url);
    natsConnection *nc = raw_connect(bus->url);
    natsSubscription *sub = NULL;
    /* the fake peer's pk is 0x55..: its requests come on its hex name */
    char subj[128] = "ffdb._.oplog.";
    for (int i = 0; i < 32; i++)
        strcat(subj, "55");
    cr_assert_eq(natsConnection_SubscribeSync(&sub, nc, subj), NATS_OK);
    cr_assert_eq(natsConnection_Flush(nc), NATS_OK);

    /* it announces a head a lacks: a CIDv1 dag-cbor sha2-256 of nothing real */
    uint8_t heads[32 + 8 + 36];
    memset(heads, 0x55, 32);
    memset(heads + 32, 0, 8);
    heads[32 + 7] = 1;
    const uint8_t cid_prefix[4] = {0x01, 0x71, 0x12, 0x20};
    memcpy(heads + 40, cid_prefix, 4);
    memset(heads + 44, 0xab, 32);
    /* (again until a, whose bus connects after it serves, asks) */
    natsMsg *m = NULL;
    int64_t end = tn_mono_ms() + WAIT_MS;
    do {
        cr_assert_lt(tn_mono_ms(), end, "a never asks the announcer");
        cr_assert_eq(natsConnection_Publish(nc, "ffdb._.oplog.h", heads, sizeof heads), NATS_OK);
        cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
    } while (natsSubscription_NextMsg(&m, sub, 200) != NATS_OK);

    /* the first request is answered with garbage, the rest with silence */
    cr_assert_eq(natsMsg_GetDataLength(m), 36);
    static const uint8_t garbage[] = {0, 0, 0, 3, 'a', 'b', 'c', '!', '!'}; /* a frame, junk */
    cr_assert_eq(natsConnection_Publish(nc, natsMsg_GetReply(m), garbage, sizeof garbage),
                 NATS_OK);
    natsMsg_Destroy(m);
    cr_assert_eq(natsConnection_Flush(nc), NATS_OK);
    wait_stat(&a, "fetch_failures", 1);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);

    /* a still works, and syncs with a real peer */
    cr_assert_str_eq(Q(a.fd, "SET", "x", "1"), "OK");
    node_start(&b, 1, bus->url);
    cr_assert_str_eq(Q(b.fd, "SET", "y", "2"), "OK");
    quiesce((node[]){a, b}, 2);
    cr_assert_str_eq(Q(b.fd, "GET", "x"), "\"1\"");
    cr_assert_str_eq(Q(a.fd, "GET", "y"), "\"2\"");
    cr_assert_str_eq(Q(a.fd, "OPLOG", "VERIFY"), "OK");
    rs_close(a.fd);
    rs_close(b.fd);
}

/* Entries the transport cannot carry are refused where they are written,
 * clearly and before anything is logged; one just under the limit reaches
 * the peer whole (no silent truncation, no entry only one node holds). */
Test(crdt_nats, large_entry)
{
    tn_nats *bus = tn_start();
    node n[2];
    size_t ok_len = 400u << 10, big_len = 600u << 10, huge_len = 2u << 20;
    char *v = malloc(huge_len + 1);
    char want[32];

    cr_assert(v);
    for (int i = 0; i < 2; i++)
        node_start(&n[i], i, bus->url);
    memset(v, 'a', ok_len);
    v[ok_len] = 0;
    cr_assert_str_eq(Q(n[0].fd, "SET", "big", v), "OK");
    memset(v, 'b', huge_len);
    v[big_len] = 0;
    const char *r = Q(n[0].fd, "SET", "big", v);
    cr_assert(strstr(r, "-ERR CRDT mode: the write is too large for the op log"), "%s", r);
    v[big_len] = 'b', v[huge_len] = 0;
    r = Q(n[0].fd, "HSET", "h", "f", v);
    cr_assert(strstr(r, "-ERR CRDT mode: the write is too large for the op log"), "%s", r);
    cr_assert_str_eq(Q(n[0].fd, "OPLOG", "LEN"), ":1", "nothing of the refused writes logged");
    snprintf(want, sizeof want, ":%zu", ok_len);
    cr_assert_str_eq(Q(n[0].fd, "STRLEN", "big"), want, "the refused SET changed nothing");
    quiesce(n, 2);
    cr_assert_str_eq(Q(n[1].fd, "STRLEN", "big"), want, "the large entry reached the peer whole");
    cr_assert_str_eq(Q(n[1].fd, "EXISTS", "h"), ":0");
    cr_assert_str_eq(Q(n[1].fd, "OPLOG", "VERIFY"), "OK");
    free(v);
    for (int i = 0; i < 2; i++)
        rs_close(n[i].fd);
}

/* Wait until the nodes hold the same data and heads (bounded): OPLOG LEN
 * differs once some have compacted. */
static void quiesce_heads(node *n, int count)
{
    quiesce_on(n, count, "HEADS");
}

/* OPLOG COMPACT until the cut is stable (bounded): the entries dropped. */
static int64_t compact(node *x)
{
    int64_t end = tn_mono_ms() + WAIT_MS;
    for (;;) {
        const char *r = Q(x->fd, "OPLOG", "COMPACT");
        if (r[0] == ':')
            return atoll(r + 1);
        cr_assert(strstr(r, "-ERR OPLOG COMPACT: not now: "), "%s; its log: %s", r,
                  rs_log(x->s));
        cr_assert_lt(tn_mono_ms(), end, "never stable: %s", r);
        rs_sleep_ms(100);
    }
}

static void digests_equal_rebuilt(node *n, int count, int64_t incr)
{
    char d0[64], want_c[32];
    snprintf(d0, sizeof d0, "%s", Q(n[0].fd, "DEBUG", "DIGEST"));
    snprintf(want_c, sizeof want_c, "\"%lld\"", (long long)incr);
    for (int i = 0; i < count; i++) {
        cr_assert_str_eq(Q(n[i].fd, "DEBUG", "DIGEST"), d0, "node %d digest", i);
        cr_assert_str_eq(Q(n[i].fd, "OPLOG", "VERIFY"), "OK", "node %d", i);
        cr_assert_str_eq(Q(n[i].fd, "GET", "c"), want_c, "node %d: the counter sums", i);
        cr_assert_str_eq(Q(n[i].fd, "OPLOG-REBUILD"), "OK");
        cr_assert_str_eq(Q(n[i].fd, "DEBUG", "DIGEST"), d0,
                         "node %d: the full fold from its snapshot gives the same data", i);
    }
}

/* Compaction at a stable cut: writes on three nodes, node 0 compacts while
 * node 2 is SIGSTOPped (it had acknowledged the cut), nodes 0 and 1 write
 * concurrently after it (late entries refold keys whose history before the
 * cut is only in node 0's state), node 2 resumes and writes: the same data
 * everywhere, every log verifies, node 0's log holds the snapshot and what
 * followed it; the automatic threshold compacts node 1; a node joining
 * later converges. */
Test(crdt_nats, compact)
{
    tn_nats *bus = tn_start();
    node n[4];
    int64_t incr = 0;
    char len[32];

    for (int i = 0; i < 3; i++)
        node_start(&n[i], i, bus->url);
    cr_assert(
        strstr(Q(n[0].fd, "OPLOG", "COMPACT"), "-ERR OPLOG COMPACT: not now: the log is empty"));
    /* a hash and a set too big for one record of the state (fields, bytes) */
    static char fields[999][48];
    const char *argv[1001];
    for (int part = 0; part < 6; part++) {
        argv[0] = part % 2 ? "SADD" : "HSET";
        argv[1] = part % 2 ? "bigset" : "bighash";
        for (int i = 0; i < 999; i++) {
            snprintf(fields[i], sizeof fields[i], "%s-%d-%d-0123456789abcdefghij",
                     part % 2 ? "m" : "f", part, i);
            argv[2 + i] = fields[i];
        }
        const char *r = rs_qv(n[part % 3].fd, part % 2 ? 1001 : 1000, argv);
        cr_assert_eq(r[0], ':', "%s", r);
    }
    for (int round = 0; round < 6; round++)
        for (int i = 0; i < 3; i++)
            crdt_write_round(n[i].fd, i, round, &incr);
    quiesce(n, 3);
    rs_sleep_ms(1500); /* node 2 announces the converged heads before it stops */
    cr_assert_eq(kill(n[2].s->pid, SIGSTOP), 0);
    int64_t dropped = compact(&n[0]);
    cr_assert_geq(dropped, 18, "the covered entries dropped (%lld)", (long long)dropped);
    cr_assert_str_eq(Q(n[0].fd, "OPLOG", "LEN"), ":1", "only the snapshot is left");
    cr_assert_str_eq(Q(n[0].fd, "OPLOG", "VERIFY"), "OK");
    cr_assert_eq(crdt_stat(n[0].fd, "compactions"), 1);
    for (int round = 6; round < 10; round++)
        for (int i = 0; i < 2; i++)
            crdt_write_round(n[i].fd, i, round, &incr);
    cr_assert_eq(kill(n[2].s->pid, SIGCONT), 0);
    for (int round = 10; round < 12; round++)
        for (int i = 0; i < 3; i++)
            crdt_write_round(n[i].fd, i, round, &incr);
    quiesce_heads(n, 3);
    digests_equal_rebuilt(n, 3, incr);
    snprintf(len, sizeof len, "%s", Q(n[0].fd, "OPLOG", "LEN"));
    int64_t full = atoll(Q(n[2].fd, "OPLOG", "LEN") + 1);
    cr_assert_eq(atoll(len + 1), full - dropped,
                 "node 0 holds the snapshot and what followed it (%s), node 2 everything (%lld)",
                 len, (long long)full);
    cr_assert_gt(crdt_stat(n[0].fd, "refolds"), 0, "late entries refolded keys from the state");

    /* the threshold: node 1 compacts itself once its log is long and stable */
    cr_assert_str_eq(Q(n[1].fd, "OPLOG", "COMPACT", "AUTO", "10"), "OK");
    int64_t end = tn_mono_ms() + WAIT_MS;
    while (crdt_stat(n[1].fd, "compactions") == 0) {
        cr_assert_lt(tn_mono_ms(), end, "the threshold never compacted node 1");
        rs_sleep_ms(50);
    }
    cr_assert_str_eq(Q(n[1].fd, "OPLOG", "VERIFY"), "OK");
    crdt_write_round(n[1].fd, 1, 12, &incr);
    crdt_write_round(n[2].fd, 2, 12, &incr);
    quiesce_heads(n, 3);
    digests_equal_rebuilt(n, 3, incr);

    /* a node joining after the compactions (node 2 still holds the history) */
    node_start(&n[3], 3, bus->url);
    quiesce_heads(n, 4);
    digests_equal_rebuilt(n, 4, incr);
    for (int i = 1; i < 4; i++)
        rs_close(n[i].fd);

    /* a state block changed in node 0's file: OPLOG VERIFY says which */
    ffdb *db;
    ffdb_txn *t;
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v;
    ffdb_options o = {0};
    uint8_t key[64], *val;
    size_t klen;
    rs_close(n[0].fd);
    rs_stop(n[0].s);
    cr_assert_eq(ffdb_open(n[0].s->data, &o, &db), 0);
    cr_assert_eq(ffdb_begin_write(db, &t), 0);
    cr_assert_eq(ffdb_bucket_open(t, "crdt.b", 6, &b), 0);
    cr_assert_eq(ffdb_cursor_open(b, &c), 0);
    cr_assert_eq(ffdb_cursor_first(c, &k, &v), 0);
    cr_assert_leq(k.size, sizeof key);
    memcpy(key, k.data, klen = k.size);
    val = malloc(v.size);
    memcpy(val, v.data, v.size);
    val[v.size / 2] ^= 1;
    size_t vlen = v.size;
    ffdb_cursor_close(c);
    cr_assert_eq(ffdb_put(b, key, klen, val, vlen), 0);
    cr_assert_eq(ffdb_commit(t), 0);
    ffdb_close(db);
    free(val);
    rs_restart(n[0].s);
    n[0].fd = rs_connect(n[0].s);
    const char *r = Q(n[0].fd, "OPLOG", "VERIFY");
    cr_assert(strstr(r, "a state block's bytes do not hash to its CID (tampered)"), "%s", r);
    rs_close(n[0].fd);
}

/* Every node compacts, so no node holds the history; a node joining then
 * walks back to the newest snapshot, fetches its state's blocks by CID
 * from a peer that holds them, loads it and converges; its own write
 * reaches the others. */
Test(crdt_nats, join_behind_cut)
{
    tn_nats *bus = tn_start();
    node n[4];
    int64_t incr = 0;

    for (int i = 0; i < 3; i++)
        node_start(&n[i], i, bus->url);
    for (int round = 0; round < 6; round++)
        for (int i = 0; i < 3; i++)
            crdt_write_round(n[i].fd, i, round, &incr);
    quiesce(n, 3);
    for (int i = 0; i < 3; i++) {
        rs_sleep_ms(800); /* every node announced these heads: the cut is the whole log */
        cr_assert_gt(compact(&n[i]), 0);
        quiesce_heads(n, 3);
    }
    for (int i = 0; i < 3; i++)
        cr_assert_leq(atoll(Q(n[i].fd, "OPLOG", "LEN") + 1), 3, "node %d holds snapshots only (%s)",
                      i, Q(n[i].fd, "OPLOG", "LEN"));

    node_start(&n[3], 3, bus->url);
    quiesce_heads(n, 4);
    digests_equal_rebuilt(n, 4, incr);
    cr_assert_leq(atoll(Q(n[3].fd, "OPLOG", "LEN") + 1), 3, "node 3 holds the snapshot, not the history");
    cr_assert_str_eq(Q(n[3].fd, "SET", "k0", "from-the-newcomer"), "OK");
    crdt_write_round(n[3].fd, 3, 6, &incr);
    quiesce_heads(n, 4);
    digests_equal_rebuilt(n, 4, incr);
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(Q(n[i].fd, "GET", "k0"), "\"from-the-newcomer\"");
    for (int i = 0; i < 4; i++)
        rs_close(n[i].fd);
}

/* The cut under constant writes (oplog_cut): all three nodes write without
 * a pause while OPLOG COMPACT AUTO compacts each of them (their OPLOG LEN
 * drops while the writes go on: the cut moves although the heads never
 * agree); then quiescence: digests equal, every log verifies, the full fold
 * from each node's state gives the same data, no entry was refused below a
 * cut; a fourth node joins behind the cuts (its walk reaches entries the
 * peers dropped: "dropped behind my snapshot", then the state) and
 * converges. */
Test(crdt_nats, compact_under_writes)
{
    tn_nats *bus = tn_start();
    node n[4];
    int64_t incr = 0, last[3] = {0}, drops[3] = {0};
    int round = 0;

    for (int i = 0; i < 3; i++) {
        node_start(&n[i], i, bus->url);
        cr_assert_str_eq(Q(n[i].fd, "OPLOG", "COMPACT", "AUTO", "40"), "OK");
    }
    int64_t end = tn_mono_ms() + WAIT_MS;
    for (;; round++) {
        int done = 1;
        for (int i = 0; i < 3; i++)
            crdt_write_round(n[i].fd, i, round, &incr);
        for (int i = 0; i < 3; i++) {
            int64_t len = atoll(Q(n[i].fd, "OPLOG", "LEN") + 1);
            if (len < last[i])
                drops[i]++;
            last[i] = len;
            done &= drops[i] >= 3;
        }
        if (done && round >= 100)
            break;
        cr_assert_lt(tn_mono_ms(), end, "AUTO never compacted under writes (drops %lld %lld %lld)",
                     (long long)drops[0], (long long)drops[1], (long long)drops[2]);
    }
    for (int i = 0; i < 3; i++) {
        cr_assert_geq(crdt_stat(n[i].fd, "compactions"), 2, "node %d", i);
        /* at least 4 entries a round on each node, 12 a round in all */
        cr_assert_lt(last[i], 12 * round, "node %d: %lld held after %d rounds", i,
                     (long long)last[i], round);
    }
    quiesce_heads(n, 3);
    digests_equal_rebuilt(n, 3, incr);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(crdt_stat(n[i].fd, "below_cut"), 0, "node %d", i);

    node_start(&n[3], 3, bus->url);
    quiesce_heads(n, 4);
    digests_equal_rebuilt(n, 4, incr);
    crdt_write_round(n[3].fd, 3, round + 1, &incr);
    quiesce_heads(n, 4);
    digests_equal_rebuilt(n, 4, incr);
    for (int i = 0; i < 4; i++)
        rs_close(n[i].fd);
}
