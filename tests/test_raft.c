/*
 * test_raft.c — modules/raft without a network: the entry and snapshot
 * metadata encodings (round trips, every truncation and a bad length
 * refused), the file stream (round trips through pieces of every small
 * size, damage refused, the target removed), libuv hosted on a net loop,
 * and the state machine in libraft's deterministic fixture: three real
 * ffdb files elect a leader, apply the same entries in the same order with
 * the applied index in the file, survive the loss of the leader, and a
 * node cut off past a snapshot catches up by fetching the file, a fourth
 * node joins as a voter from an empty file and a follower is removed.
 * Partitions (pre-vote on, as the server runs): a leader cut off from the
 * majority steps down, its uncommitted entries fail and are never applied,
 * the majority elects a new leader, healing converges every log and file;
 * a flapping link converges with every acknowledged write counted once; a
 * node back with an empty directory rejoins and catches up by snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <raft/fixture.h>

#include "modules/raft/raft.h"
#include "tests/testutil.h"

TestSuite(raft_enc, .timeout = 30);
TestSuite(raft_stream, .init = tu_setup, .fini = tu_teardown, .timeout = 60);
TestSuite(raft_uv, .timeout = 30);
TestSuite(raft_fsm, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

/* ---- encodings --------------------------------------------------------------------------------
 */

static int encode(void **buf, size_t *len, uint64_t term, int ncmds)
{
    rf_entry_writer w;
    rf_entry_begin(&w, term);
    for (int c = 0; c < ncmds; c++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", c);
        const char *argv[] = {"SET", key, ""};
        size_t lens[] = {3, strlen(key), 0};
        rf_entry_add(&w, 3, argv, lens);
    }
    return rf_entry_finish(&w, buf, len);
}

Test(raft_enc, entry_round_trip)
{
    void *buf;
    size_t len;
    rf_entry_iter it;
    rf_cmd cmd;
    cr_assert_eq(encode(&buf, &len, 7, 3), 0);
    cr_assert_eq(rf_entry_open(&it, buf, len), 0);
    cr_assert_eq(it.term, 7);
    cr_assert_eq(it.ncmds, 3);
    for (int c = 0; c < 3; c++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", c);
        cr_assert_eq(rf_entry_next(&it, &cmd), 1);
        cr_assert_eq(cmd.argc, 3);
        cr_assert(cmd.lens[0] == 3 && memcmp(cmd.argv[0], "SET", 3) == 0);
        cr_assert(cmd.lens[1] == strlen(key) && memcmp(cmd.argv[1], key, cmd.lens[1]) == 0);
        cr_assert_eq(cmd.lens[2], 0);
    }
    cr_assert_eq(rf_entry_next(&it, &cmd), 0);
    rf_entry_close(&it);
    free(buf);
}

Test(raft_enc, entry_damage_is_refused)
{
    void *buf;
    size_t len;
    rf_entry_iter it;
    cr_assert_eq(encode(&buf, &len, 1, 2), 0);
    /* cut anywhere before the last command ends: refused; in the padding
     * (zero bytes up to a multiple of 8, raft.h): still the same entry */
    size_t body = 0;
    while (body < len && rf_entry_open(&it, buf, body) != 0)
        body++;
    cr_assert_eq(len % 8, 0);
    cr_assert(body > len - 8 && body <= len, "body %zu of %zu", body, len);
    for (size_t n = body; n <= len; n++) {
        cr_assert_eq(rf_entry_open(&it, buf, n), 0, "at %zu", n);
        rf_entry_close(&it);
    }
    uint8_t *b = calloc(1, len + 8);
    memcpy(b, buf, len);
    cr_assert_eq(rf_entry_open(&it, b, len + 8), FFDB_EINVAL); /* 8 trailing bytes */
    if (body < len) {
        b[len - 1] = 1; /* padding that is not zero */
        cr_assert_eq(rf_entry_open(&it, b, len), FFDB_EINVAL);
        b[len - 1] = 0;
    }
    b[RF_ENTRY_HDR + 4] = 0xff;                                /* first argument's length */
    cr_assert_eq(rf_entry_open(&it, b, len), FFDB_EINVAL);
    memcpy(b, buf, len);
    b[12] = 3; /* one command more than there is */
    cr_assert_eq(rf_entry_open(&it, b, len), FFDB_EINVAL);
    b[12] = 0;
    cr_assert_eq(rf_entry_open(&it, b, len), FFDB_EINVAL);
    free(b);
    free(buf);
    rf_entry_writer w;
    rf_entry_begin(&w, 1);
    cr_assert_eq(rf_entry_finish(&w, &buf, &len), FFDB_EINVAL); /* no command */
}

/* Every length of entry is padded to a multiple of 8: libraft's receiver
 * rounds each entry of a batch up to 8 (raft.h), so an unpadded entry
 * shifts the next one of the batch. */
Test(raft_enc, entry_padded_to_8)
{
    for (size_t n = 0; n < 16; n++) {
        char arg[16] = "xxxxxxxxxxxxxxx";
        const char *argv[2] = {"@node", arg};
        size_t lens[2] = {5, n}, len;
        void *buf;
        rf_entry_iter it;
        rf_cmd cmd;
        rf_entry_writer w;
        rf_entry_begin(&w, 7);
        rf_entry_add(&w, 2, argv, lens);
        cr_assert_eq(rf_entry_finish(&w, &buf, &len), 0);
        cr_assert_eq(len % 8, 0, "argument of %zu bytes: entry of %zu", n, len);
        cr_assert_eq(rf_entry_open(&it, buf, len), 0);
        cr_assert_eq(rf_entry_next(&it, &cmd), 1);
        cr_assert_eq(cmd.argc, 2);
        cr_assert_eq(cmd.lens[1], n);
        cr_assert_eq(rf_entry_next(&it, &cmd), 0);
        rf_entry_close(&it);
        free(buf);
    }
}

Test(raft_enc, snapshot_meta)
{
    rf_snap_meta m = {123456789012ull, 5, 99, 3}, d;
    uint8_t b[RF_SNAP_BYTES];
    rf_snap_encode(&m, b);
    cr_assert_eq(rf_snap_decode(b, sizeof b, &d), 0);
    cr_assert(d.index == m.index && d.term == 5 && d.txid == 99 && d.node_id == 3);
    cr_assert_eq(rf_snap_decode(b, sizeof b - 1, &d), FFDB_EINVAL);
    b[4] = 2;
    cr_assert_eq(rf_snap_decode(b, sizeof b, &d), FFDB_EINVAL);
}

/* ---- the file stream --------------------------------------------------------------------------
 */

static void fill_db(ffdb *db, int nbuckets, int nkeys, size_t big)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    cr_assert_eq(ffdb_begin_write(db, &txn), 0);
    for (int i = 0; i < nbuckets; i++) {
        char name[16], key[32], val[64];
        snprintf(name, sizeof name, "b%d", i);
        cr_assert_eq(ffdb_bucket_create(txn, name, strlen(name), &b), 0);
        for (int k = 0; k < nkeys; k++) {
            snprintf(key, sizeof key, "key%06d", k);
            snprintf(val, sizeof val, "v%d.%d", i, k);
            cr_assert_eq(ffdb_put(b, key, strlen(key), val, strlen(val)), 0);
        }
        if (i == 0 && big) {
            char *v = malloc(big);
            tu_pattern(v, big, 42);
            cr_assert_eq(ffdb_put(b, "zbig", 4, v, big), 0);
            cr_assert_eq(ffdb_put(b, "", 0, "empty key", 9), 0);
            cr_assert_eq(ffdb_put(b, "zempty", 6, "", 0), 0);
            free(v);
        }
    }
    cr_assert_eq(ffdb_commit(txn), 0);
}

/* Every bucket and pair of a and b are equal. */
static void assert_same(ffdb *a, ffdb *b)
{
    ffdb_txn *ta, *tb;
    cr_assert_eq(ffdb_begin_read(a, &ta), 0);
    cr_assert_eq(ffdb_begin_read(b, &tb), 0);
    rf_dump *da, *db;
    cr_assert_eq(rf_dump_new(ta, &da), 0);
    cr_assert_eq(rf_dump_new(tb, &db), 0);
    static uint8_t x[65536], y[65536];
    for (;;) {
        long na = rf_dump_read(da, x, sizeof x), nb = rf_dump_read(db, y, sizeof y);
        cr_assert(na >= 0 && na == nb);
        cr_assert(memcmp(x, y, (size_t)na) == 0);
        if (na == 0)
            break;
    }
    rf_dump_free(da);
    rf_dump_free(db);
    ffdb_abort(ta);
    ffdb_abort(tb);
}

/* Stream src into a new file at path in pieces of piece bytes. */
static int copy_db(ffdb *src, const char *path, size_t piece, long flip_at)
{
    ffdb_txn *txn;
    rf_dump *d;
    rf_load *ld;
    uint8_t buf[4096];
    long off = 0;
    cr_assert_eq(ffdb_begin_read(src, &txn), 0);
    cr_assert_eq(rf_dump_new(txn, &d), 0);
    cr_assert_eq(rf_load_new(path, NULL, &ld), 0);
    int rc = 0;
    for (;;) {
        long n = rf_dump_read(d, buf, piece);
        cr_assert(n >= 0);
        if (n == 0)
            break;
        if (flip_at >= off && flip_at < off + n)
            buf[flip_at - off] ^= 0x01;
        off += n;
        if ((rc = rf_load_feed(ld, buf, (size_t)n)))
            break;
    }
    rf_dump_free(d);
    ffdb_abort(txn);
    if (rc) {
        rf_load_abort(ld);
        return rc;
    }
    return rf_load_finish(ld);
}

Test(raft_stream, round_trip_in_pieces)
{
    ffdb *src, *dst;
    cr_assert_eq(ffdb_open(tu_path("src"), NULL, &src), 0);
    fill_db(src, 3, 500, 200000);
    size_t pieces[] = {1, 2, 3, 7, 13, 4096};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        cr_assert_eq(copy_db(src, tu_path("dst"), pieces[i], -1), 0, "piece %zu", pieces[i]);
        cr_assert_eq(ffdb_open(tu_path("dst"), NULL, &dst), 0);
        assert_same(src, dst);
        ffdb_close(dst);
    }
    ffdb_close(src);
}

Test(raft_stream, empty_file)
{
    ffdb *src, *dst;
    cr_assert_eq(ffdb_open(tu_path("src"), NULL, &src), 0);
    cr_assert_eq(copy_db(src, tu_path("dst"), 5, -1), 0);
    cr_assert_eq(ffdb_open(tu_path("dst"), NULL, &dst), 0);
    assert_same(src, dst);
    ffdb_close(dst);
    ffdb_close(src);
}

Test(raft_stream, damage_is_refused_and_the_file_removed)
{
    ffdb *src;
    cr_assert_eq(ffdb_open(tu_path("src"), NULL, &src), 0);
    fill_db(src, 2, 50, 0);
    /* A flipped bit anywhere: a bad header, length, order or checksum. */
    for (long at = 0; at < 1200; at += 37) {
        int rc = copy_db(src, tu_path("dst"), 64, at);
        cr_assert_neq(rc, 0, "flip at %ld", at);
        cr_assert_neq(access(tu_path("dst"), F_OK), 0);
    }
    /* A stream cut short. */
    ffdb_txn *txn;
    rf_dump *d;
    rf_load *ld;
    uint8_t buf[100];
    cr_assert_eq(ffdb_begin_read(src, &txn), 0);
    cr_assert_eq(rf_dump_new(txn, &d), 0);
    cr_assert_eq(rf_load_new(tu_path("dst"), NULL, &ld), 0);
    long n = rf_dump_read(d, buf, sizeof buf);
    cr_assert_eq(rf_load_feed(ld, buf, (size_t)n), 0);
    cr_assert_eq(rf_load_finish(ld), FFDB_EINVAL);
    cr_assert_neq(access(tu_path("dst"), F_OK), 0);
    rf_dump_free(d);
    ffdb_abort(txn);
    ffdb_close(src);
}

/* ---- libuv on the net loop --------------------------------------------------------------------
 */

static int uv_fired, uv_polled;

static void on_uv_timer(uv_timer_t *t)
{
    uv_fired++;
    uv_timer_stop(t);
}

static void on_uv_poll(uv_poll_t *p, int status, int events)
{
    (void)status;
    if (events & UV_READABLE)
        uv_polled++;
    uv_poll_stop(p);
}

Test(raft_uv, timers_and_descriptors_run_on_the_net_loop)
{
    net_loop *l;
    rf_uv_host *h;
    int sv[2];
    cr_assert_eq(net_loop_new(NULL, &l), 0);
    cr_assert_eq(rf_uv_host_new(l, &h), 0);
    uv_timer_t t;
    uv_poll_t p;
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    uv_timer_init(rf_uv_loop(h), &t);
    uv_timer_start(&t, on_uv_timer, 30, 0);
    uv_poll_init(rf_uv_loop(h), &p, sv[0]);
    uv_poll_start(&p, UV_READABLE, on_uv_poll);
    /* The net loop waits forever unless the host asks for libuv's deadline. */
    int64_t t0 = net_loop_mono_ms(l);
    for (int i = 0; i < 100 && !uv_fired; i++)
        cr_assert(net_loop_run_once(l, -1) >= 0);
    cr_assert_eq(uv_fired, 1);
    cr_assert_geq(net_loop_mono_ms(l) - t0, 29);
    cr_assert_eq(uv_polled, 0);
    cr_assert_eq(write(sv[1], "x", 1), 1);
    for (int i = 0; i < 100 && !uv_polled; i++)
        cr_assert(net_loop_run_once(l, 2000) >= 0);
    cr_assert_eq(uv_polled, 1);
    uv_close((uv_handle_t *)&t, NULL);
    uv_close((uv_handle_t *)&p, NULL);
    rf_uv_host_free(h);
    net_loop_free(l);
    close(sv[0]);
    close(sv[1]);
}

/* ---- the state machine in the fixture ---------------------------------------------------------
 */

#define N 3
#define NMAX 4

struct node {
    rf_fsm *fsm;
    uint64_t last_index; /* the last index applied, to check the order */
    int applies, fetches;
};

static struct node nodes[NMAX];
static struct raft_fixture fx;
static int nreqs; /* proposals of the test (propose_on) */

/* The test's command set: SET k v, INCR k, in bucket "kv". */
static int test_apply(void *arg, ffdb_txn *txn, rf_entry_iter *e, uint64_t index, void **result)
{
    struct node *nd = arg;
    ffdb_bucket *b;
    rf_cmd c;
    int rc;
    (void)result;
    cr_assert_gt(index, nd->last_index, "applied out of order");
    nd->last_index = index;
    nd->applies++;
    rc = ffdb_bucket_open(txn, "kv", 2, &b);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(txn, "kv", 2, &b);
    if (rc)
        return rc;
    while ((rc = rf_entry_next(e, &c)) == 1) {
        /* the partition tests propose this on a leader cut off from the majority */
        cr_assert(!(c.argc >= 2 && c.lens[1] == 8 && !memcmp(c.argv[1], "minority", 8)),
                  "node applied an entry only a minority leader had");
        if (c.argc == 3 && memcmp(c.argv[0], "SET", 3) == 0) {
            rc = ffdb_put(b, c.argv[1], c.lens[1], c.argv[2], c.lens[2]);
        } else if (c.argc == 2 && memcmp(c.argv[0], "INCR", 4) == 0) {
            ffdb_val v;
            char num[32];
            long n = 0;
            if (ffdb_get(b, c.argv[1], c.lens[1], &v) == 0)
                n = strtol(v.data, NULL, 10);
            int len = snprintf(num, sizeof num, "%ld", n + 1);
            rc = ffdb_put(b, c.argv[1], c.lens[1], num, (size_t)len + 1);
        }
        if (rc)
            return rc;
    }
    return rc;
}

/* The in-process "network" of a fetch: stream the source node's file. */
static int test_fetch(void *arg, const rf_snap_meta *m, const char *tmp_path)
{
    struct node *nd = arg;
    cr_assert(m->node_id >= 1 && m->node_id <= NMAX);
    nd->fetches++;
    return copy_db(rf_fsm_db(nodes[m->node_id - 1].fsm), tmp_path, 777, -1);
}

static void fixture_start(void)
{
    struct raft_configuration conf;
    memset(nodes, 0, sizeof nodes);
    nreqs = 0;
    cr_assert_eq(raft_fixture_initialize(&fx), 0);
    for (unsigned i = 0; i < N; i++) {
        char name[16];
        rf_fsm_ops ops = {test_apply, test_fetch, NULL, &nodes[i], NULL, NULL};
        snprintf(name, sizeof name, "n%u.ffdb", i + 1);
        cr_assert_eq(rf_fsm_new(tu_path(name), NULL, i + 1, &ops, &nodes[i].fsm), 0);
        cr_assert_eq(raft_fixture_grow(&fx, rf_fsm_raft(nodes[i].fsm)), 0);
        rf_fsm_bind(nodes[i].fsm, raft_fixture_get(&fx, i));
    }
    cr_assert_eq(raft_fixture_configuration(&fx, N, &conf), 0);
    cr_assert_eq(raft_fixture_bootstrap(&fx, &conf), 0);
    raft_configuration_close(&conf);
    cr_assert_eq(raft_fixture_start(&fx), 0);
}

static void fixture_stop(void)
{
    raft_fixture_close(&fx);
    for (unsigned i = 0; i < NMAX; i++)
        rf_fsm_free(nodes[i].fsm);
}

#define MAXREQ 1024
static struct raft_apply reqs[MAXREQ];
static int req_status[MAXREQ]; /* 1 pending, else the apply's status */

static void req_done(struct raft_apply *req, int status, void *result)
{
    (void)result;
    req_status[req - reqs] = status;
}

/* op key [val] as one entry on node li (which must think it leads). */
static int propose_on(unsigned li, const char *op, const char *key, const char *val)
{
    struct raft *r = raft_fixture_get(&fx, li);
    rf_entry_writer w;
    const char *argv[] = {op, key, val};
    size_t lens[] = {strlen(op), strlen(key), val ? strlen(val) : 0};
    void *buf;
    size_t len;
    rf_entry_begin(&w, r->current_term);
    rf_entry_add(&w, val ? 3 : 2, argv, lens);
    cr_assert_eq(rf_entry_finish(&w, &buf, &len), 0);
    struct raft_buffer rb = {raft_malloc(len), len};
    memcpy(rb.base, buf, len);
    free(buf);
    cr_assert_lt(nreqs, MAXREQ);
    req_status[nreqs] = 1;
    cr_assert_eq(raft_apply(r, &reqs[nreqs], &rb, 1, req_done), 0);
    return nreqs++;
}

static void propose(const char *op, const char *key, const char *val)
{
    unsigned li = raft_fixture_leader_index(&fx);
    cr_assert_lt(li, N);
    propose_on(li, op, key, val);
}

static long counter_of(unsigned i, const char *key)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    long n = -1;
    cr_assert_eq(ffdb_begin_read(rf_fsm_db(nodes[i].fsm), &txn), 0);
    if (ffdb_bucket_open(txn, "kv", 2, &b) == 0 && ffdb_get(b, key, strlen(key), &v) == 0)
        n = strtol(v.data, NULL, 10);
    ffdb_abort(txn);
    return n;
}

static raft_index leader_last(void)
{
    return raft_last_applied(raft_fixture_get(&fx, raft_fixture_leader_index(&fx)));
}

/* n INCR c through the leader, applied on every node. */
static void incr_applied(int n)
{
    for (int i = 0; i < n; i++)
        propose("INCR", "c", NULL);
    cr_assert(raft_fixture_step_until_applied(&fx, N, leader_last() + n, 10000));
}

/* n rounds of SET k<i> val and INCR c through the leader, a few steps
 * each: entries enough to pass snapshots. */
static void set_and_incr(int n, const char *val)
{
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        propose("SET", key, val);
        propose("INCR", "c", NULL);
        raft_fixture_step_n(&fx, 4);
    }
}

/* Every node but skip (one lost or cut off) has applied target. */
static void applied_but(unsigned skip, raft_index target)
{
    for (unsigned i = 0; i < N; i++)
        if (i != skip)
            cr_assert(raft_fixture_step_until_applied(&fx, i, target, 10000));
}

Test(raft_fsm, three_nodes_apply_the_same_entries_in_order)
{
    fixture_start();
    cr_assert(raft_fixture_step_until_has_leader(&fx, 10000));
    for (int i = 0; i < 20; i++)
        propose("INCR", "c", NULL);
    propose("SET", "k", "v");
    cr_assert(raft_fixture_step_until_applied(&fx, N, leader_last() + 21, 10000));
    raft_index want = raft_last_applied(raft_fixture_get(&fx, 0));
    for (unsigned i = 0; i < N; i++) {
        cr_assert_eq(counter_of(i, "c"), 20, "node %u", i + 1);
        cr_assert_eq(nodes[i].applies, 21);
        cr_assert_eq(rf_fsm_applied_index(nodes[i].fsm), want);
        cr_assert_eq(raft_last_applied(raft_fixture_get(&fx, i)), want);
        if (i)
            assert_same(rf_fsm_db(nodes[0].fsm), rf_fsm_db(nodes[i].fsm));
    }
    fixture_stop();
}

Test(raft_fsm, a_new_leader_after_the_leader_is_lost)
{
    fixture_start();
    cr_assert(raft_fixture_step_until_has_leader(&fx, 10000));
    incr_applied(5);
    unsigned old = raft_fixture_leader_index(&fx);
    raft_fixture_kill(&fx, old);
    cr_assert(raft_fixture_step_until_has_no_leader(&fx, 20000));
    cr_assert(raft_fixture_step_until_has_leader(&fx, 20000));
    unsigned now = raft_fixture_leader_index(&fx);
    cr_assert_neq(now, old);
    for (int i = 0; i < 5; i++)
        propose("INCR", "c", NULL);
    raft_index target = leader_last() + 5;
    applied_but(old, target);
    for (unsigned i = 0; i < N; i++)
        cr_assert_eq(counter_of(i, "c"), i == old ? 5 : 10, "node %u", i + 1);
    fixture_stop();
}

/* A snapshot every 8 entries, 2 kept behind it: logs are truncated soon. */
static void small_snapshots(void)
{
    for (unsigned i = 0; i < N; i++) {
        raft_set_snapshot_threshold(raft_fixture_get(&fx, i), 8);
        raft_set_snapshot_trailing(raft_fixture_get(&fx, i), 2);
    }
}

Test(raft_fsm, a_node_cut_off_past_a_snapshot_fetches_the_file)
{
    fixture_start();
    small_snapshots();
    cr_assert(raft_fixture_step_until_has_leader(&fx, 10000));
    unsigned li = raft_fixture_leader_index(&fx), cut = (li + 1) % N;
    for (unsigned i = 0; i < N; i++)
        if (i != cut) {
            raft_fixture_disconnect(&fx, i, cut);
            raft_fixture_disconnect(&fx, cut, i);
        }
    set_and_incr(40, "x");
    cr_assert_eq(raft_fixture_leader_index(&fx), li);
    cr_assert(raft_fixture_step_until_applied(&fx, li, 81, 20000)); /* 1 is the configuration */
    raft_index target = leader_last();
    cr_assert_eq(counter_of(cut, "c"), -1);
    for (unsigned i = 0; i < N; i++)
        if (i != cut) {
            raft_fixture_reconnect(&fx, i, cut);
            raft_fixture_reconnect(&fx, cut, i);
        }
    cr_assert(raft_fixture_step_until_applied(&fx, cut, target, 30000));
    cr_assert_geq(nodes[cut].fetches, 1);
    cr_assert_eq(counter_of(cut, "c"), 40);
    assert_same(rf_fsm_db(nodes[li].fsm), rf_fsm_db(nodes[cut].fsm));
    /* The fetched file goes on applying entries after it. */
    incr_applied(1);
    cr_assert_eq(counter_of(cut, "c"), 41);
    fixture_stop();
}

static int change_status = 1;

static void change_done(rf_change *c, int status)
{
    (void)c;
    change_status = status;
}

static bool change_finished(struct raft_fixture *f, void *arg)
{
    (void)f;
    (void)arg;
    return change_status != 1;
}

Test(raft_fsm, a_fourth_node_is_added_and_one_removed)
{
    fixture_start();
    cr_assert(raft_fixture_step_until_has_leader(&fx, 10000));
    incr_applied(7);

    rf_fsm_ops ops = {test_apply, test_fetch, NULL, &nodes[N], NULL, NULL};
    cr_assert_eq(rf_fsm_new(tu_path("n4.ffdb"), NULL, N + 1, &ops, &nodes[N].fsm), 0);
    cr_assert_eq(raft_fixture_grow(&fx, rf_fsm_raft(nodes[N].fsm)), 0);
    rf_fsm_bind(nodes[N].fsm, raft_fixture_get(&fx, N));
    cr_assert_eq(raft_start(raft_fixture_get(&fx, N)), 0); /* grow does not start it */
    unsigned li = raft_fixture_leader_index(&fx);
    rf_change c = {.done = change_done};
    change_status = 1;
    cr_assert_eq(rf_member_add(&c, raft_fixture_get(&fx, li), N + 1, "4"), 0);
    cr_assert(raft_fixture_step_until(&fx, change_finished, NULL, 20000));
    cr_assert_eq(change_status, 0);
    struct raft *lr = raft_fixture_get(&fx, li);
    cr_assert_eq(lr->configuration.n, N + 1);
    propose("INCR", "c", NULL);
    cr_assert(raft_fixture_step_until_applied(&fx, N, leader_last() + 1, 20000));
    cr_assert_eq(counter_of(N, "c"), 8);

    /* Remove a follower; the rest go on. */
    unsigned gone = (li + 1) % N;
    change_status = 1;
    cr_assert_eq(rf_member_remove(&c, lr, gone + 1), 0);
    cr_assert(raft_fixture_step_until(&fx, change_finished, NULL, 20000));
    cr_assert_eq(change_status, 0);
    cr_assert_eq(lr->configuration.n, N);
    propose("INCR", "c", NULL);
    raft_index target = leader_last() + 1;
    for (unsigned i = 0; i <= N; i++)
        if (i != gone)
            cr_assert(raft_fixture_step_until_applied(&fx, i, target, 20000));
    cr_assert_eq(counter_of(N, "c"), 9);
    cr_assert_eq(counter_of(li, "c"), 9);
    fixture_stop();
}

/* ---- partitions ---------------------------------------------------------------------------- */

/* Cut node i off from every other node (both ways), or join it back. */
static void isolate(unsigned i, int cut)
{
    for (unsigned j = 0; j < raft_fixture_n(&fx); j++)
        if (j != i) {
            if (cut) {
                raft_fixture_disconnect(&fx, i, j);
                raft_fixture_disconnect(&fx, j, i);
            } else {
                raft_fixture_reconnect(&fx, i, j);
                raft_fixture_reconnect(&fx, j, i);
            }
        }
}

/* Every node but skip has the same log end, applied index and file. */
static void assert_converged(unsigned n, unsigned skip)
{
    unsigned ref = skip == 0 ? 1 : 0;
    struct raft *r0 = raft_fixture_get(&fx, ref);
    for (unsigned i = 0; i < n; i++) {
        if (i == skip || i == ref)
            continue;
        struct raft *r = raft_fixture_get(&fx, i);
        cr_assert_eq(raft_last_index(r), raft_last_index(r0), "node %u's log end", i + 1);
        cr_assert_eq(raft_last_applied(r), raft_last_applied(r0), "node %u applied", i + 1);
        cr_assert_eq(rf_fsm_applied_index(nodes[i].fsm), rf_fsm_applied_index(nodes[ref].fsm));
        assert_same(rf_fsm_db(nodes[ref].fsm), rf_fsm_db(nodes[i].fsm));
    }
}

static bool all_applied_leaders_last(struct raft_fixture *f, void *arg)
{
    unsigned n = *(unsigned *)arg, li = raft_fixture_leader_index(f);
    if (li >= n)
        return false;
    raft_index want = raft_last_index(raft_fixture_get(f, li));
    for (unsigned i = 0; i < n; i++) {
        struct raft *r = raft_fixture_get(f, i);
        if (raft_last_applied(r) < want || raft_last_index(r) != want)
            return false;
    }
    return true;
}

/* The leader of the nodes other than `out`, each following it; N if none. */
static unsigned majority_leader(unsigned out)
{
    unsigned li = N;
    for (unsigned i = 0; i < N; i++)
        if (i != out && raft_state(raft_fixture_get(&fx, i)) == RAFT_LEADER)
            li = i;
    for (unsigned i = 0; li < N && i < N; i++) {
        struct raft *r = raft_fixture_get(&fx, i);
        if (i != out && i != li && (raft_state(r) != RAFT_FOLLOWER ||
                                    r->follower_state.current_leader.id != li + 1))
            return N;
    }
    return li;
}

static bool majority_has_leader(struct raft_fixture *f, void *arg)
{
    (void)f;
    return majority_leader(*(unsigned *)arg) < N;
}

/* Pre-vote on every node, as ffdb-server runs (modules/raft/node.c): a
 * node cut off does not disrupt the leader when it comes back. */
static void pre_vote(void)
{
    for (unsigned i = 0; i < raft_fixture_n(&fx); i++)
        raft_set_pre_vote(raft_fixture_get(&fx, i), true);
}

/* The leader cut off from the majority keeps taking entries it can never
 * commit; it steps down (no majority heard from), the two others elect a
 * new leader and go on; healed, the old leader's log is overwritten with
 * the majority's and its entries are never applied anywhere (test_apply
 * fails on the key "minority"). */
Test(raft_fsm, an_isolated_leader_steps_down_and_its_entries_are_discarded)
{
    fixture_start();
    pre_vote();
    cr_assert(raft_fixture_step_until_has_leader(&fx, 10000));
    incr_applied(5);
    unsigned old = raft_fixture_leader_index(&fx);
    struct raft *or = raft_fixture_get(&fx, old);
    raft_term term = or->current_term;
    int applied_before = nodes[old].applies;

    isolate(old, 1);
    int minority[4];
    for (int i = 0; i < 3; i++)
        minority[i] = propose_on(old, "INCR", "minority", NULL);
    minority[3] = propose_on(old, "SET", "minority", "lost");
    raft_index minority_end = raft_last_index(or);
    cr_assert(raft_fixture_step_until_state_is(&fx, old, RAFT_FOLLOWER, 20000) ||
                  raft_state(or) == RAFT_CANDIDATE,
              "the isolated leader did not step down");
    for (int i = 0; i < 4; i++)
        cr_assert_eq(req_status[minority[i]], RAFT_LEADERSHIPLOST,
                     "a minority leader's entry: status %d", req_status[minority[i]]);
    cr_assert_eq(nodes[old].applies, applied_before, "the isolated leader applied an entry");
    /* (the fixture's own leader check wants every server on one term) */
    cr_assert(raft_fixture_step_until(&fx, majority_has_leader, &old, 20000));
    unsigned now = majority_leader(old);
    struct raft *nr = raft_fixture_get(&fx, now);
    cr_assert_gt(nr->current_term, term);
    for (int i = 0; i < 5; i++)
        propose_on(now, "INCR", "c", NULL);
    raft_index target = raft_last_index(nr);
    applied_but(old, target);
    cr_assert_eq(counter_of(old, "c"), 5);

    /* healed: one log, the minority's tail replaced */
    isolate(old, 0);
    unsigned n = N;
    cr_assert(raft_fixture_step_until(&fx, all_applied_leaders_last, &n, 30000));
    cr_assert_eq(raft_fixture_leader_index(&fx), now, "the healed node deposed the leader");
    for (unsigned i = 0; i < N; i++) {
        cr_assert_eq(counter_of(i, "c"), 10, "node %u", i + 1);
        cr_assert_eq(counter_of(i, "minority"), -1, "node %u", i + 1);
    }
    cr_assert_geq(raft_last_index(or), minority_end - 4);
    cr_assert_eq(nodes[old].fetches, 0, "caught up from the log, not a file");
    assert_converged(N, N);
    fixture_stop();
}

/* A link that goes down and up again and again (each node in turn cut off
 * for a while, some writes proposed meanwhile through whoever leads): in
 * the end one log and the same file everywhere, every acknowledged write
 * in it, none twice. */
Test(raft_fsm, a_flapping_link_converges)
{
    fixture_start();
    pre_vote();
    cr_assert(raft_fixture_step_until_has_leader(&fx, 10000));
    unsigned seed = 12345;
    int proposed = 0;
    raft_term term0 = raft_fixture_get(&fx, raft_fixture_leader_index(&fx))->current_term;
    for (int round = 0; round < 30; round++) {
        seed = seed * 1103515245u + 12345u;
        unsigned cut = (seed >> 16) % N, li = raft_fixture_leader_index(&fx);
        isolate(cut, 1);
        for (int i = 0; i < 3; i++) {
            li = raft_fixture_leader_index(&fx);
            if (li < N && raft_state(raft_fixture_get(&fx, li)) == RAFT_LEADER) {
                propose_on(li, "INCR", "c", NULL);
                proposed++;
            }
            raft_fixture_step_until_elapsed(&fx, 150 + (seed >> 8) % 700);
        }
        isolate(cut, 0);
        raft_fixture_step_until_elapsed(&fx, 100 + (seed >> 4) % 400);
    }
    cr_assert(raft_fixture_step_until_has_leader(&fx, 30000));
    propose("INCR", "c", NULL); /* an entry of the last term: commits everything before it */
    proposed++;
    unsigned n = N;
    cr_assert(raft_fixture_step_until(&fx, all_applied_leaders_last, &n, 30000));
    int acked = 0, failed = 0;
    for (int i = 0; i < nreqs; i++) {
        acked += req_status[i] == 0;
        failed += req_status[i] != 0 && req_status[i] != 1;
    }
    cr_assert_gt(acked, proposed / 3, "only %d of %d writes committed", acked, proposed);
    cr_assert_gt(failed, 0, "no write was lost to a leadership change: the link never mattered");
    cr_assert_geq(raft_fixture_get(&fx, 0)->current_term, term0 + 3, "too few elections");
    long c = counter_of(0, "c");
    cr_assert_geq(c, acked, "%ld < %d acknowledged", c, acked);
    cr_assert_leq(c, proposed, "%ld > %d proposed", c, proposed);
    assert_converged(N, N);
    fixture_stop();
}

/* A node whose directory is lost (file and RAFT log) comes back empty: as
 * RAFT wants, it is removed and joins again as a new member (a node must
 * not forget its votes under the same id), and since the leader's log was
 * truncated behind snapshots meanwhile, it catches up by fetching the
 * file. */
Test(raft_fsm, a_node_back_with_an_empty_directory_catches_up_by_snapshot)
{
    fixture_start();
    small_snapshots();
    cr_assert(raft_fixture_step_until_has_leader(&fx, 10000));
    unsigned li = raft_fixture_leader_index(&fx), lost = (li + 1) % N;
    incr_applied(10);
    raft_fixture_kill(&fx, lost); /* its disk is gone */
    struct raft *lr = raft_fixture_get(&fx, li);
    rf_change c = {.done = change_done};
    change_status = 1;
    cr_assert_eq(rf_member_remove(&c, lr, lost + 1), 0);
    cr_assert(raft_fixture_step_until(&fx, change_finished, NULL, 20000));
    cr_assert_eq(change_status, 0);
    set_and_incr(30, "y");
    cr_assert(raft_fixture_step_until_applied(&fx, li, raft_last_index(lr), 20000));
    cr_assert_gt(lr->log.offset, 0, "the leader's log was not truncated by a snapshot");

    /* the same node, empty: a fresh file and log, a new member id */
    rf_fsm_ops ops = {test_apply, test_fetch, NULL, &nodes[N], NULL, NULL};
    cr_assert_eq(rf_fsm_new(tu_path("n2-empty.ffdb"), NULL, N + 1, &ops, &nodes[N].fsm), 0);
    cr_assert_eq(raft_fixture_grow(&fx, rf_fsm_raft(nodes[N].fsm)), 0);
    rf_fsm_bind(nodes[N].fsm, raft_fixture_get(&fx, N));
    cr_assert_eq(raft_start(raft_fixture_get(&fx, N)), 0);
    change_status = 1;
    cr_assert_eq(rf_member_add(&c, lr, N + 1, "4"), 0);
    cr_assert(raft_fixture_step_until(&fx, change_finished, NULL, 30000));
    cr_assert_eq(change_status, 0);
    propose("INCR", "c", NULL);
    raft_index target = leader_last() + 1;
    cr_assert(raft_fixture_step_until_applied(&fx, N, target, 30000));
    cr_assert(raft_fixture_step_until_applied(&fx, li, target, 30000));
    cr_assert_geq(nodes[N].fetches, 1, "the empty node caught up without the file");
    cr_assert_eq(counter_of(N, "c"), 41);
    cr_assert_eq(counter_of(li, "c"), 41);
    assert_same(rf_fsm_db(nodes[li].fsm), rf_fsm_db(nodes[N].fsm));
    fixture_stop();
}
