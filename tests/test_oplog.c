/*
 * test_oplog.c — modules/oplog in process: entries built, decoded and
 * signed (ed25519 through modules/ident), several
 * logs in separate ffdb files written concurrently and joined in different
 * orders giving one total order, tampering detected (in flight: a changed
 * entry from a peer is refused; in a file: oplog_verify reports it), the
 * fetch of missing history through a transport callback with a small batch,
 * and compaction behind a snapshot entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/oplog/oplog.h"
#include "tests/testutil.h"

TestSuite(oplog, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

#define OK(x)                                                                                      \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        cr_assert_eq(rc_, 0, "%s: %d %s", #x, rc_, oplog_strerror(rc_));                           \
    } while (0)

typedef struct node {
    ffdb *db;
    oplog *log;
    ident signer;
} node;

static void node_open(node *n, const char *name, unsigned seed)
{
    uint8_t s[IDENT_SEED_BYTES];
    memset(s, (int)seed, sizeof s);
    OK(ident_from_seed(&n->signer, s));
    ffdb_options o = {.flags = FFDB_NOSYNC};
    OK(ffdb_open(tu_path(name), &o, &n->db));
    OK(oplog_new(&n->log));
}

static void node_close(node *n)
{
    ident_close(&n->signer);
    oplog_free(n->log);
    ffdb_close(n->db);
}

static void append(node *n, const char *op)
{
    ffdb_txn *t;
    OK(ffdb_begin_write(n->db, &t));
    OK(oplog_append(n->log, t, &n->signer, (const uint8_t *)op, strlen(op), NULL));
    OK(ffdb_commit(t));
}

/* dst joins src. */
static uint64_t join(node *dst, node *src)
{
    ffdb_txn *td, *ts;
    uint64_t added;
    OK(ffdb_begin_read(src->db, &ts));
    OK(ffdb_begin_write(dst->db, &td));
    OK(oplog_join(dst->log, td, ts, &added));
    OK(ffdb_commit(td));
    ffdb_abort(ts);
    return added;
}

struct order {
    char text[8192];
    size_t len;
    uint64_t count;
};

static int collect(void *arg, const ipld_cid *id, const uint8_t *buf, size_t len)
{
    struct order *o = arg;
    oplog_entry e;
    char s[IPLD_CID_STR_MAX];
    (void)buf;
    (void)len;
    ipld_cid_str(id, s);
    OK(oplog_entry_decode(buf, len, &e));
    o->len +=
        (size_t)snprintf(o->text + o->len, sizeof o->text - o->len, "%llu:%.*s:%.12s\n",
                         (unsigned long long)e.clock, (int)e.op_len, (const char *)e.op, s + 50);
    oplog_entry_free(&e);
    o->count++;
    cr_assert_lt(o->len, sizeof o->text);
    return 0;
}

static void order_of(node *n, struct order *o)
{
    ffdb_txn *t;
    memset(o, 0, sizeof *o);
    OK(ffdb_begin_read(n->db, &t));
    OK(oplog_walk(t, NULL, collect, o));
    ffdb_abort(t);
}

static void report(void *arg, const char *problem)
{
    (void)arg;
    fprintf(stderr, "verify: %s\n", problem);
}

static uint64_t verify(node *n)
{
    ffdb_txn *t;
    uint64_t problems;
    OK(ffdb_begin_read(n->db, &t));
    OK(oplog_verify(n->log, t, &problems, report, NULL));
    ffdb_abort(t);
    return problems;
}

Test(oplog, entry_round_trip_and_contract)
{
    node a;
    node_open(&a, "a.ffdb", 1);
    ipld_cid id, next[2], state;
    uint8_t *buf;
    size_t len;
    OK(ipld_cid_of(1, IPLD_CODEC_DAG_CBOR, IPLD_MH_SHA2_256, "x", 1, &next[0]));
    OK(ipld_cid_of(1, IPLD_CODEC_DAG_CBOR, IPLD_MH_SHA2_256, "y", 1, &next[1]));
    OK(oplog_entry_build(OPLOG_KIND_OP, 7, next, 2, (const uint8_t *)"SET k v", 7, NULL, &a.signer,
                         &buf, &len, &id));
    oplog_entry e;
    OK(oplog_entry_decode(buf, len, &e));
    cr_assert(ipld_cid_equal(&e.id, &id));
    cr_assert_eq(e.clock, 7);
    cr_assert_eq(e.next_count, 2);
    cr_assert_eq(e.op_len, 7);
    cr_assert_eq(memcmp(e.writer, a.signer.pk, 32), 0);
    OK(oplog_entry_check_sig(&e));
    e.clock = 8; /* the signature covers the clock */
    cr_assert_eq(oplog_entry_check_sig(&e), OPLOG_EBADSIG);
    oplog_entry_free(&e);
    /* every truncation is refused, never read past */
    for (size_t i = 0; i < len; i++)
        cr_assert_neq(oplog_entry_decode(buf, i, &e), 0);
    free(buf);
    /* duplicate links are refused at build */
    next[1] = next[0];
    cr_assert_eq(oplog_entry_build(OPLOG_KIND_OP, 7, next, 2, (const uint8_t *)"x", 1, NULL,
                                   &a.signer, &buf, &len, &id),
                 FFDB_EINVAL);
    state = next[0];
    OK(oplog_entry_build(OPLOG_KIND_SNAPSHOT, 9, NULL, 0, NULL, 0, &state, &a.signer, &buf, &len,
                         &id));
    OK(oplog_entry_decode(buf, len, &e));
    cr_assert_eq(e.kind, OPLOG_KIND_SNAPSHOT);
    cr_assert(ipld_cid_equal(&e.state, &state));
    oplog_entry_free(&e);
    free(buf);
    node_close(&a);
}

/* Three writers, concurrent appends, joins in different orders: one order. */
Test(oplog, joins_in_any_order_give_one_order)
{
    node n[3], m[3];
    const char *names[3] = {"a.ffdb", "b.ffdb", "c.ffdb"};
    const char *copies[3] = {"a2.ffdb", "b2.ffdb", "c2.ffdb"};
    for (int i = 0; i < 3; i++) {
        node_open(&n[i], names[i], (unsigned)i + 1);
        node_open(&m[i], copies[i], (unsigned)i + 11);
    }
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 3; i++)
            for (int j = 0; j <= i; j++) {
                char op[32];
                snprintf(op, sizeof op, "w%d r%d j%d", i, round, j);
                append(&n[i], op);
            }
        if (round == 1) /* a partial exchange: a sees b */
            join(&n[0], &n[1]);
    }
    /* m[0] joins a, b, c; m[1] joins c, b, a; m[2] joins b, then c, then a twice */
    join(&m[0], &n[0]);
    join(&m[0], &n[1]);
    join(&m[0], &n[2]);
    join(&m[1], &n[2]);
    join(&m[1], &n[1]);
    join(&m[1], &n[0]);
    join(&m[2], &n[1]);
    join(&m[2], &n[2]);
    join(&m[2], &n[0]);
    cr_assert_eq(join(&m[2], &n[0]), 0, "a second join adds nothing");
    struct order o[3];
    for (int i = 0; i < 3; i++) {
        order_of(&m[i], &o[i]);
        cr_assert_eq(verify(&m[i]), 0);
    }
    cr_assert_eq(o[0].count, 4 * (1 + 2 + 3));
    cr_assert_str_eq(o[0].text, o[1].text);
    cr_assert_str_eq(o[0].text, o[2].text);
    /* all of them end with the same heads */
    ffdb_txn *t;
    ipld_cid h0[8], h1[8];
    size_t c0, c1;
    OK(ffdb_begin_read(m[0].db, &t));
    OK(oplog_heads(t, h0, 8, &c0));
    ffdb_abort(t);
    OK(ffdb_begin_read(m[1].db, &t));
    OK(oplog_heads(t, h1, 8, &c1));
    ffdb_abort(t);
    cr_assert_eq(c0, c1);
    cr_assert_geq(c0, 2, "concurrent writers leave several heads");
    for (size_t i = 0; i < c0; i++)
        cr_assert(ipld_cid_equal(&h0[i], &h1[i]));
    /* a local append after the join follows every head */
    append(&m[0], "after");
    OK(ffdb_begin_read(m[0].db, &t));
    OK(oplog_heads(t, h0, 8, &c0));
    ffdb_abort(t);
    cr_assert_eq(c0, 1);
    cr_assert_eq(verify(&m[0]), 0);
    for (int i = 0; i < 3; i++) {
        node_close(&n[i]);
        node_close(&m[i]);
    }
}

static int first_entry(void *arg, const ipld_cid *id, const uint8_t *buf, size_t len)
{
    (void)id;
    uint8_t **out = arg;
    out[0] = malloc(len);
    memcpy(out[0], buf, len);
    *(size_t *)out[1] = len;
    return 1;
}

Test(oplog, tampering_is_detected)
{
    node a, b;
    node_open(&a, "a.ffdb", 1);
    node_open(&b, "b.ffdb", 2);
    append(&a, "SET k one");
    append(&a, "SET k two");
    /* in flight: the first entry changed on its way to b */
    ffdb_txn *t, *tb;
    uint8_t *buf;
    size_t len;
    void *out[2] = {NULL, &len};
    OK(ffdb_begin_read(a.db, &t));
    cr_assert_eq(oplog_walk(t, NULL, first_entry, out), 1);
    ffdb_abort(t);
    buf = out[0];
    uint8_t *p = memmem(buf, len, "one", 3);
    cr_assert_not_null(p);
    memcpy(p, "ONE", 3);
    OK(ffdb_begin_write(b.db, &tb));
    cr_assert_eq(oplog_add(b.log, tb, buf, len), OPLOG_EBADSIG);
    memcpy(p, "one", 3);
    cr_assert_eq(oplog_add(b.log, tb, buf, len), 0);
    cr_assert_eq(oplog_add(b.log, tb, buf, len), 1);
    ffdb_abort(tb);
    /* a child whose parent is unknown is refused */
    ipld_cid id, head;
    size_t count;
    uint8_t *child;
    size_t child_len;
    OK(ffdb_begin_read(a.db, &t));
    OK(oplog_heads(t, &head, 1, &count));
    OK(oplog_get(t, &head, &child, &child_len));
    ffdb_abort(t);
    OK(ffdb_begin_write(b.db, &tb));
    cr_assert_eq(oplog_add(b.log, tb, child, child_len), OPLOG_EMISSING);
    ffdb_abort(tb);
    free(child);
    cr_assert_eq(verify(&a), 0);
    /* in the file: overwrite a stored entry's bytes through the engine */
    OK(ipld_cid_of(1, IPLD_CODEC_DAG_CBOR, IPLD_MH_SHA2_256, buf, len, &id));
    uint8_t key[IPLD_CID_BIN_MAX];
    size_t klen = ipld_cid_to_bytes(&id, key);
    OK(ffdb_begin_write(a.db, &t));
    ffdb_bucket *be;
    ffdb_val v;
    OK(ffdb_bucket_open(t, "oplog.e", 7, &be));
    OK(ffdb_get(be, key, klen, &v));
    uint8_t *val = malloc(v.size);
    memcpy(val, v.data, v.size);
    p = memmem(val, v.size, "one", 3);
    memcpy(p, "ONE", 3);
    OK(ffdb_put(be, key, klen, val, v.size));
    OK(ffdb_commit(t));
    cr_assert_geq(verify(&a), 1);
    free(val);
    free(buf);
    node_close(&a);
    node_close(&b);
}

/* The transport serves from another log's file and counts the largest ask. */
struct transport {
    node *src;
    size_t max_n, calls;
};

static int serve(void *arg, const ipld_cid *want, size_t n, oplog_got_fn got, void *got_arg)
{
    struct transport *tr = arg;
    ffdb_txn *t;
    int rc = ffdb_begin_read(tr->src->db, &t);
    tr->calls++;
    if (n > tr->max_n)
        tr->max_n = n;
    for (size_t i = 0; !rc && i < n; i++) {
        uint8_t *buf;
        size_t len;
        if (oplog_get(t, &want[i], &buf, &len) == 0) {
            rc = got(got_arg, buf, len);
            free(buf);
        }
    }
    ffdb_abort(t);
    return rc;
}

Test(oplog, fetch_walks_back_in_small_batches)
{
    node a, b, c;
    node_open(&a, "a.ffdb", 1);
    node_open(&b, "b.ffdb", 2);
    node_open(&c, "c.ffdb", 3);
    for (int i = 0; i < 40; i++) {
        char op[16];
        snprintf(op, sizeof op, "a%d", i);
        append(&a, op);
        if (i == 10)
            join(&b, &a); /* b knows the start */
        if (i % 3 == 0) {
            snprintf(op, sizeof op, "c%d", i);
            append(&c, op);
            join(&a, &c);
        }
    }
    append(&a, "last"); /* follows a39 and c39: one head */
    ffdb_txn *t;
    ipld_cid heads[4];
    size_t count;
    OK(ffdb_begin_read(a.db, &t));
    OK(oplog_heads(t, heads, 4, &count));
    ffdb_abort(t);
    cr_assert_eq(count, 1);
    struct transport tr = {&a, 0, 0};
    uint64_t added;
    OK(ffdb_begin_write(b.db, &t));
    OK(oplog_fetch(b.log, t, &heads[0], 3, serve, &tr, &added));
    OK(ffdb_commit(t));
    cr_assert_leq(tr.max_n, 3);
    cr_assert_gt(tr.calls, 5);
    struct order oa, ob;
    order_of(&a, &oa);
    order_of(&b, &ob);
    cr_assert_eq(oa.count, ob.count);
    cr_assert_eq(added + 11 + 4, oa.count, /* b held a0..a10 and c0..c9 */ "added %llu of %llu",
                 (unsigned long long)added, (unsigned long long)oa.count);
    cr_assert_str_eq(oa.text, ob.text);
    cr_assert_eq(verify(&b), 0);
    /* a transport that lacks an entry: nothing is added */
    append(&a, "late1");
    append(&a, "late2");
    OK(ffdb_begin_read(a.db, &t));
    OK(oplog_heads(t, heads, 4, &count));
    ffdb_abort(t);
    struct transport empty = {&c, 0, 0};
    OK(ffdb_begin_write(b.db, &t));
    cr_assert_eq(oplog_fetch(b.log, t, &heads[0], 3, serve, &empty, &added), OPLOG_EMISSING);
    ffdb_abort(t);
    cr_assert_eq(verify(&b), 0);
    node_close(&a);
    node_close(&b);
    node_close(&c);
}

Test(oplog, compaction_behind_a_snapshot)
{
    node a, b;
    node_open(&a, "a.ffdb", 1);
    node_open(&b, "b.ffdb", 2);
    for (int i = 0; i < 20; i++)
        append(&a, "op");
    join(&b, &a);
    append(&b, "concurrent with the cut");
    ffdb_txn *t;
    ipld_cid state, snap;
    uint64_t dropped, n, clock;
    OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, "state", 5, &state));
    OK(ffdb_begin_write(a.db, &t));
    OK(oplog_compact(a.log, t, &a.signer, &state, &snap, &dropped));
    OK(oplog_len(t, &n, &clock));
    OK(ffdb_commit(t));
    cr_assert_eq(dropped, 20);
    cr_assert_eq(n, 1);
    cr_assert_eq(clock, 21);
    cr_assert_eq(verify(&a), 0);
    /* b's entry links to a dropped one: still accepted (O3 via oplog.g) */
    cr_assert_eq(join(&a, &b), 1);
    append(&a, "after");
    cr_assert_eq(verify(&a), 0);
    OK(ffdb_begin_read(a.db, &t));
    OK(oplog_len(t, &n, &clock));
    ffdb_abort(t);
    cr_assert_eq(n, 3);
    node_close(&a);
    node_close(&b);
}

static void heads_of(node *n, ipld_cid *h, size_t cap, size_t *count)
{
    ffdb_txn *t;
    OK(ffdb_begin_read(n->db, &t));
    OK(oplog_heads(t, h, cap, count));
    cr_assert_leq(*count, cap);
    ffdb_abort(t);
}

static int cut_of(node *n, const ipld_cid *heads, const size_t *counts, size_t npeers,
                  uint64_t *cut)
{
    ffdb_txn *t;
    OK(ffdb_begin_read(n->db, &t));
    int rc = oplog_cut(t, heads, counts, npeers, cut);
    ffdb_abort(t);
    return rc;
}

/* The cut under writes: concurrent heads bound it by the lowest clock
 * outside some peer's past, an old announcement by that peer's highest
 * clock + 1, a head not held gives "not now". */
Test(oplog, cut_under_concurrent_writes)
{
    node a, b, c;
    node_open(&a, "a.ffdb", 1);
    node_open(&b, "b.ffdb", 2);
    node_open(&c, "c.ffdb", 3);
    ipld_cid h[8], old;
    size_t counts[3], n;
    uint64_t cut = 0;
    append(&a, "a1");
    heads_of(&a, &old, 1, &n); /* a1, clock 1 */
    append(&a, "a2");
    cr_assert_eq(join(&b, &a), 2);
    append(&b, "b3"); /* clock 3, concurrent with a3 */
    append(&a, "a3");
    join(&c, &a);
    join(&c, &b);
    heads_of(&a, &h[0], 1, &counts[0]);
    heads_of(&b, &h[1], 1, &counts[1]);
    /* a's past a1 a2 a3, b's a1 a2 b3: both outside the other's at clock 3 */
    OK(cut_of(&c, h, counts, 2, &cut));
    cr_assert_eq(cut, 3);
    /* c holds both: its own heads {a3, b3} alone cut above everything */
    heads_of(&c, &h[2], 6, &n);
    cr_assert_eq(n, 2);
    OK(cut_of(&c, &h[2], &n, 1, &cut));
    cr_assert_eq(cut, 4);
    /* a peer that last announced a1: its highest clock + 1 */
    h[1] = old, counts[1] = 1;
    OK(cut_of(&c, h, counts, 2, &cut));
    cr_assert_eq(cut, 2);
    /* a head a does not hold: not now */
    heads_of(&b, &h[1], 1, &counts[1]);
    cr_assert_eq(cut_of(&a, h, counts, 2, &cut), 1);
    /* bad input: no peers */
    cr_assert_eq(cut_of(&c, h, counts, 0, &cut), FFDB_EINVAL);
    cr_assert_eq(verify(&c), 0);
    node_close(&a);
    node_close(&b);
    node_close(&c);
}
