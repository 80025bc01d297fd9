/*
 * test_ptr.c — modules/ptr: local writes and reads, restarts, the merge rule
 * as a property (the same records applied in any order and any batching give
 * byte-identical stores), and every reject reason (tampered bytes, garbage,
 * oversize, future timestamps, another namespace, key binding), tombstones
 * that keep older sets out and their retention.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/ptr/ptr.h"
#include "tests/testutil.h"

TestSuite(ptr, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

typedef struct clockv {
    uint64_t ms;
} clockv;

static uint64_t fake_now(void *arg)
{
    return ((clockv *)arg)->ms;
}

typedef struct node {
    ffdb *db;
    ident id;
    ptr *p;
    clockv clk;
} node;

static void node_open(node *n, const char *file, uint8_t seed_byte, const ptr_opts *base,
                      uint64_t ms)
{
    uint8_t seed[32];
    memset(seed, seed_byte, sizeof seed);
    cr_assert_eq(ident_from_seed(&n->id, seed), 0);
    cr_assert_eq(ffdb_open(tu_path(file), NULL, &n->db), 0);
    ptr_opts o = base ? *base : (ptr_opts){0};
    n->clk.ms = ms;
    o.now_ms = fake_now;
    o.now_arg = &n->clk;
    cr_assert_eq(ptr_open(n->db, &n->id, &o, &n->p), 0);
}

static void node_close(node *n)
{
    ptr_close(n->p);
    ffdb_close(n->db);
}

static int apply1(node *n, const uint8_t *m, size_t len)
{
    size_t won = 0;
    cr_assert_eq(ptr_apply(n->p, &m, &len, 1, &won), 0);
    return (int)won;
}

#define T0 1700000000000ull

Test(ptr, set_get_del_and_a_restart_keeps_records)
{
    node a;
    node_open(&a, "a.ffdb", 1, NULL, T0);
    ptr_entry e;
    cr_assert_eq(ptr_get(a.p, "k", 1, &e), FFDB_NOTFOUND);
    cr_assert_eq(ptr_set(a.p, "k", 1, "v1", 2, NULL, NULL), 0);
    cr_assert_eq(ptr_set(a.p, "k", 1, "v2", 2, NULL, NULL),
                 0); /* same ms: the counter orders them */
    cr_assert_eq(ptr_get(a.p, "k", 1, &e), 0);
    cr_assert_eq(e.value.size, 2);
    cr_assert_eq(memcmp(e.value.data, "v2", 2), 0);
    cr_assert_arr_eq(e.signer, a.id.pk, 32);
    cr_assert_eq(ptr_hlc_ms(e.hlc), T0);
    cr_assert_eq(ptr_set(a.p, "gone", 4, "x", 1, NULL, NULL), 0);
    cr_assert_eq(ptr_del(a.p, "gone", 4, NULL, NULL), 0);
    cr_assert_eq(ptr_get(a.p, "gone", 4, &e), 0);
    cr_assert(e.deleted);
    ptr_stats st;
    ptr_get_stats(a.p, &st);
    cr_assert_eq(st.records, 2);
    cr_assert_eq(st.tombstones, 1);
    uint64_t hlc = st.hlc;
    node_close(&a);

    /* Reopened with a clock that went back an hour: records are there and the
     * next write still wins (R4). */
    node_open(&a, "a.ffdb", 1, NULL, T0 - 3600000);
    ptr_get_stats(a.p, &st);
    cr_assert_eq(st.records, 2);
    cr_assert_eq(st.tombstones, 1);
    cr_assert_geq(st.hlc, hlc);
    cr_assert_eq(ptr_get(a.p, "k", 1, &e), 0);
    cr_assert_eq(memcmp(e.value.data, "v2", 2), 0);
    cr_assert_eq(ptr_set(a.p, "k", 1, "v3", 2, NULL, NULL), 0);
    cr_assert_eq(ptr_get(a.p, "k", 1, &e), 0);
    cr_assert_eq(memcmp(e.value.data, "v3", 2), 0);
    cr_assert_gt(e.hlc, hlc);
    node_close(&a);
}

/* ---- the merge rule as a property ----------------------------------------------- */

typedef struct msgs {
    uint8_t *m[400];
    size_t len[400], n;
} msgs;

typedef struct dump {
    char buf[1 << 16];
    size_t len;
} dump;

static int dump_visit(void *arg, const ptr_entry *e, const uint8_t *wire, size_t wire_len)
{
    dump *d = arg;
    (void)e;
    cr_assert_lt(d->len + wire_len + 8, sizeof d->buf);
    memcpy(d->buf + d->len, &wire_len, sizeof wire_len);
    memcpy(d->buf + d->len + sizeof wire_len, wire, wire_len);
    d->len += sizeof wire_len + wire_len;
    return 0;
}

Test(ptr, the_same_records_in_any_order_and_batching_give_the_same_store)
{
    tu_rng r;
    tu_rng_init(&r, tu_seed("ptr merge"));
    node w[3];
    msgs all = {.n = 0};
    /* Three writers with clocks up to 30 s apart write 8 keys; equal times happen. */
    for (int i = 0; i < 3; i++) {
        char f[32];
        snprintf(f, sizeof f, "w%d.ffdb", i);
        node_open(&w[i], f, (uint8_t)(10 + i), NULL, T0 + (uint64_t)i * 15000);
    }
    for (int step = 0; step < 240; step++) {
        node *n = &w[tu_below(&r, 3)];
        n->clk.ms += tu_below(&r, 3);
        char key[4] = {'k', (char)('0' + tu_below(&r, 8)), 0};
        char val[16];
        int vl = snprintf(val, sizeof val, "v%d", step);
        uint8_t *m;
        size_t len;
        if (tu_chance(&r, 250))
            cr_assert_eq(ptr_del(n->p, key, 2, &m, &len), 0);
        else
            cr_assert_eq(ptr_set(n->p, key, 2, val, (size_t)vl, &m, &len), 0);
        all.m[all.n] = m;
        all.len[all.n++] = len;
        /* Sometimes a writer hears another's record (its clock then moves up). */
        if (tu_chance(&r, 300))
            apply1(&w[tu_below(&r, 3)], m, len);
    }
    dump *first = NULL;
    for (int round = 0; round < 5; round++) {
        node rx;
        char f[32];
        snprintf(f, sizeof f, "rx%d.ffdb", round);
        node_open(&rx, f, (uint8_t)(50 + round), NULL, T0 + 100000);
        size_t order[400];
        for (size_t i = 0; i < all.n; i++)
            order[i] = i;
        for (size_t i = all.n - 1; round && i > 0; i--) { /* round 0: in order */
            size_t j = tu_below(&r, i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (size_t i = 0; i < all.n;) {
            size_t b = 1 + tu_below(&r, 40);
            const uint8_t *mm[40];
            size_t ll[40], k = 0;
            for (; k < b && i < all.n; k++, i++) {
                mm[k] = all.m[order[i]];
                ll[k] = all.len[order[i]];
            }
            cr_assert_eq(ptr_apply(rx.p, mm, ll, k, NULL), 0);
        }
        /* Some duplicates change nothing. */
        for (int d = 0; d < 20; d++) {
            size_t i = tu_below(&r, all.n);
            apply1(&rx, all.m[i], all.len[i]);
        }
        dump *d = calloc(1, sizeof *d);
        cr_assert_eq(ptr_scan(rx.p, NULL, 0, dump_visit, d), 0);
        ptr_stats st;
        ptr_get_stats(rx.p, &st);
        for (int k = 0; k < PTR_R_COUNT; k++)
            cr_assert_eq(st.rejects[k], 0, "%s", ptr_reject_name(k));
        cr_assert_eq(st.applied + st.stale, all.n + 20);
        if (!first)
            first = d;
        else {
            cr_assert_eq(d->len, first->len, "round %d", round);
            cr_assert_eq(memcmp(d->buf, first->buf, d->len), 0, "round %d differs", round);
            free(d);
        }
        node_close(&rx);
    }
    free(first);
    for (size_t i = 0; i < all.n; i++)
        free(all.m[i]);
    for (int i = 0; i < 3; i++)
        node_close(&w[i]);
}

/* ---- rejects ------------------------------------------------------------------------ */

Test(ptr, tampered_and_garbage_messages_are_dropped_and_counted)
{
    node a, b;
    node_open(&a, "a.ffdb", 1, NULL, T0);
    node_open(&b, "b.ffdb", 2, NULL, T0);
    uint8_t *m;
    size_t len;
    cr_assert_eq(ptr_set(a.p, "key", 3, "value", 5, &m, &len), 0);
    uint64_t dropped = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            uint8_t *t = malloc(len);
            memcpy(t, m, len);
            t[i] ^= (uint8_t)(1u << bit);
            dropped += apply1(&b, t, len) == 0;
            free(t);
        }
    }
    ptr_entry e;
    /* A flip could only be accepted if it kept a valid signature: none does. */
    cr_assert_eq(ptr_get(b.p, "key", 3, &e), FFDB_NOTFOUND);
    ptr_stats st;
    ptr_get_stats(b.p, &st);
    cr_assert_gt(st.rejects[PTR_R_BADSIG], 0);
    cr_assert_eq(st.applied, 0);
    /* Truncations and random garbage. */
    tu_rng r;
    tu_rng_init(&r, tu_seed("ptr garbage"));
    for (size_t cut = 0; cut < len; cut++)
        cr_assert_eq(apply1(&b, m, cut), 0);
    for (int i = 0; i < 300; i++) {
        uint8_t g[200];
        size_t gl = tu_below(&r, sizeof g);
        tu_fill(&r, g, gl);
        cr_assert_eq(apply1(&b, g, gl), 0);
    }
    ptr_get_stats(b.p, &st);
    cr_assert_gt(st.rejects[PTR_R_MALFORMED], 0);
    cr_assert_eq(st.records, 0);
    /* The original still applies. */
    cr_assert_eq(apply1(&b, m, len), 1);
    cr_assert_eq(ptr_get(b.p, "key", 3, &e), 0);
    free(m);
    node_close(&a);
    node_close(&b);
}

Test(ptr, oversized_future_and_foreign_namespace_records_are_rejected)
{
    ptr_opts small = {.max_value_bytes = 16, .max_key_bytes = 8};
    node a, b, c;
    node_open(&a, "a.ffdb", 1, NULL, T0);
    node_open(&b, "b.ffdb", 2, &small, T0);
    ptr_opts other = {.namespace_name = "tenant2"};
    node_open(&c, "c.ffdb", 3, &other, T0);
    uint8_t big[100] = {0}, *m;
    size_t len;
    cr_assert_eq(ptr_set(b.p, "k", 1, big, 17, NULL, NULL), PTR_ELIMIT);
    cr_assert_eq(ptr_set(b.p, "123456789", 9, "v", 1, NULL, NULL), PTR_ELIMIT);
    cr_assert_eq(ptr_set(a.p, "k", 1, big, sizeof big, &m, &len), 0);
    cr_assert_eq(apply1(&b, m, len), 0);
    cr_assert_eq(apply1(&c, m, len), 0);
    free(m);
    ptr_stats st;
    ptr_get_stats(b.p, &st);
    cr_assert_eq(st.rejects[PTR_R_OVERSIZE], 1);
    ptr_get_stats(c.p, &st);
    cr_assert_eq(st.rejects[PTR_R_NAMESPACE], 1);

    /* A sender 10 minutes ahead (default skew 60 s) is refused; 30 s ahead is
     * accepted and moves the receiver's clock (R4). */
    a.clk.ms = T0 + 600000;
    cr_assert_eq(ptr_set(a.p, "f", 1, "x", 1, &m, &len), 0);
    cr_assert_eq(apply1(&b, m, len), 0);
    free(m);
    ptr_get_stats(b.p, &st);
    cr_assert_eq(st.rejects[PTR_R_FUTURE], 1);
    node_close(&a);
    node_open(&a, "a2.ffdb", 1, NULL, T0 + 30000);
    cr_assert_eq(ptr_set(a.p, "f", 1, "y", 1, &m, &len), 0);
    cr_assert_eq(apply1(&b, m, len), 1);
    free(m);
    cr_assert_eq(ptr_set(b.p, "f", 1, "z", 1, NULL, NULL),
                 0); /* b's clock is behind; it still wins */
    ptr_entry e;
    cr_assert_eq(ptr_get(b.p, "f", 1, &e), 0);
    cr_assert_eq(*(const char *)e.value.data, 'z');
    cr_assert_arr_eq(e.signer, b.id.pk, 32);
    node_close(&a);
    node_close(&b);
    node_close(&c);
}

Test(ptr, a_deleted_key_stays_deleted_when_an_older_set_arrives_late)
{
    node a, b, rx;
    ptr_opts keep = {.tombstone_retention_ms = 60000};
    node_open(&a, "a.ffdb", 1, NULL, T0);
    node_open(&b, "b.ffdb", 2, NULL, T0 + 5);
    node_open(&rx, "rx.ffdb", 3, &keep, T0 + 10);
    uint8_t *set, *del;
    size_t sl, dl;
    cr_assert_eq(ptr_set(a.p, "k", 1, "old", 3, &set, &sl), 0);
    cr_assert_eq(ptr_del(b.p, "k", 1, &del, &dl), 0);
    cr_assert_eq(apply1(&rx, del, dl), 1);
    cr_assert_eq(apply1(&rx, set, sl), 0);
    ptr_entry e;
    cr_assert_eq(ptr_get(rx.p, "k", 1, &e), 0);
    cr_assert(e.deleted);
    /* Within retention the tombstone stays; past it, ptr_gc purges it. */
    size_t purged;
    cr_assert_eq(ptr_gc(rx.p, &purged), 0);
    cr_assert_eq(purged, 0);
    rx.clk.ms += 120000;
    cr_assert_eq(ptr_gc(rx.p, &purged), 0);
    cr_assert_eq(purged, 1);
    cr_assert_eq(ptr_get(rx.p, "k", 1, &e), FFDB_NOTFOUND);
    ptr_stats st;
    ptr_get_stats(rx.p, &st);
    cr_assert_eq(st.records, 0);
    cr_assert_eq(st.tombstones, 0);
    free(set);
    free(del);
    node_close(&a);
    node_close(&b);
    node_close(&rx);
}

Test(ptr, a_bound_key_refuses_other_signers)
{
    ptr_opts bind = {.bind_keys = 1};
    node a, b;
    node_open(&a, "a.ffdb", 1, &bind, T0);
    node_open(&b, "b.ffdb", 2, &bind, T0);
    uint8_t *m;
    size_t len;
    cr_assert_eq(ptr_set(a.p, "mine", 4, "1", 1, &m, &len), 0);
    cr_assert_eq(apply1(&b, m, len), 1);
    free(m);
    cr_assert_eq(ptr_set(b.p, "mine", 4, "2", 1, NULL, NULL), PTR_EBOUND);
    node bb;
    node_open(&bb, "bb.ffdb", 2, NULL, T0 + 10); /* the same signer, unbound store */
    cr_assert_eq(ptr_set(bb.p, "mine", 4, "3", 1, &m, &len), 0);
    cr_assert_eq(apply1(&a, m, len), 0);
    free(m);
    ptr_stats st;
    ptr_get_stats(a.p, &st);
    cr_assert_eq(st.rejects[PTR_R_BINDING], 1);
    ptr_entry e;
    cr_assert_eq(ptr_get(a.p, "mine", 4, &e), 0);
    cr_assert_eq(*(const char *)e.value.data, '1');
    cr_assert_eq(ptr_set(a.p, "mine", 4, "4", 1, NULL, NULL), 0); /* the owner may */
    node_close(&a);
    node_close(&b);
    node_close(&bb);
}

/* The *_txn forms work inside the caller's write txn (ffdb-server's batch):
 * what they write is seen in it, goes with an abort, stays with a commit. */
Test(ptr, the_txn_forms_write_in_the_callers_txn)
{
    node a, b;
    node_open(&a, "a.ffdb", 1, NULL, T0);
    node_open(&b, "b.ffdb", 2, NULL, T0);
    uint8_t *w = NULL;
    size_t wl = 0;
    cr_assert_eq(ptr_set(b.p, "r", 1, "remote", 6, &w, &wl), 0);

    ffdb_txn *t;
    ptr_entry e;
    ptr_stats st;
    for (int round = 0; round < 2; round++) {
        cr_assert_eq(ffdb_begin_write(a.db, &t), 0);
        cr_assert_eq(ptr_set_txn(a.p, t, "k", 1, "v", 1, NULL, NULL), 0);
        cr_assert_eq(ptr_set_txn(a.p, t, "d", 1, "x", 1, NULL, NULL), 0);
        cr_assert_eq(ptr_del_txn(a.p, t, "d", 1, NULL, NULL), 0);
        const uint8_t *m = w;
        size_t won = 0;
        cr_assert_eq(ptr_apply_txn(a.p, t, &m, &wl, 1, &won), 0);
        cr_assert_eq(won, 1);
        cr_assert_eq(ptr_get_txn(a.p, t, "k", 1, &e), 0);
        cr_assert_eq(e.value.size, 1);
        cr_assert_eq(ptr_get_txn(a.p, t, "d", 1, &e), 0);
        cr_assert(e.deleted);
        /* A read txn of its own does not see the open write txn. */
        cr_assert_eq(ptr_get(a.p, "k", 1, &e), FFDB_NOTFOUND);
        if (round == 0) {
            ffdb_abort(t);
            ptr_get_stats(a.p, &st);
            cr_assert_eq(st.records, 3); /* as written, before the abort */
            cr_assert_eq(ffdb_begin_read(a.db, &t), 0);
            cr_assert_eq(ptr_recount(a.p, t), 0);
            ffdb_abort(t);
            ptr_get_stats(a.p, &st);
            cr_assert_eq(st.records, 0);
            cr_assert_eq(st.tombstones, 0);
            cr_assert_eq(ptr_get(a.p, "r", 1, &e), FFDB_NOTFOUND);
        } else
            cr_assert_eq(ffdb_commit(t), 0);
    }
    cr_assert_eq(ptr_get(a.p, "r", 1, &e), 0);
    cr_assert_eq(memcmp(e.value.data, "remote", 6), 0);
    cr_assert_arr_eq(e.signer, b.id.pk, 32);
    ptr_get_stats(a.p, &st);
    cr_assert_eq(st.records, 3);
    cr_assert_eq(st.tombstones, 1);
    free(w);
    node_close(&a);

    /* ptr_open_txn in a txn that also holds other writes of the caller. */
    cr_assert_eq(ffdb_open(tu_path("a.ffdb"), NULL, &a.db), 0);
    cr_assert_eq(ffdb_begin_write(a.db, &t), 0);
    ffdb_bucket *other;
    cr_assert_eq(ffdb_bucket_create(t, "mine", 4, &other), 0);
    cr_assert_eq(ptr_open_txn(a.db, t, &a.id, NULL, &a.p), 0);
    size_t purged = 0;
    cr_assert_eq(ptr_gc_txn(a.p, t, &purged), 0);
    cr_assert_eq(purged, 1); /* the wall clock now: the T0 tombstone is past retention */
    cr_assert_eq(ffdb_commit(t), 0);
    ptr_get_stats(a.p, &st);
    cr_assert_eq(st.records, 2);
    cr_assert_eq(st.tombstones, 0);
    node_close(&a);
    node_close(&b);
}

/* Ask/Answer: one round each way in small chunks and bounded answers makes
 * two different stores equal (summaries and every record). */
typedef struct answer_sink {
    node *to;
    size_t applied, nmsg;
    char more[64];
    size_t more_len;
} answer_sink;

static int sink_emit(void *arg, const uint8_t *batch, size_t len)
{
    answer_sink *k = arg;
    ffdb_txn *t;
    size_t won = 0;
    cr_assert_eq(ffdb_begin_write(k->to->db, &t), 0);
    ffdb_val more;
    cr_assert_eq(ptr_apply_batch_txn(k->to->p, t, batch, len, &won, &more), 0);
    if (more.size) {
        cr_assert_lt(more.size, sizeof k->more);
        memcpy(k->more, more.data, more.size);
        k->more_len = more.size;
    }
    cr_assert_eq(ffdb_commit(t), 0);
    k->applied += won;
    k->nmsg++;
    return 0;
}

/* from answers to's Ask (from *at, which gets the answer's more); returns
 * the records applied at to. */
static size_t ask_from(node *to, node *from, size_t max_bytes, size_t *nmsg, char *at,
                       size_t *at_len)
{
    ffdb_txn *t;
    ptr_summary s, got;
    uint8_t *ask, pk[32], fk[64];
    size_t alen, sent = 0, fl = 0;
    cr_assert_eq(ffdb_begin_read(to->db, &t), 0);
    cr_assert_eq(ptr_summary_txn(to->p, t, &s), 0);
    ffdb_abort(t);
    cr_assert_eq(ptr_ask_encode(&s, to->id.pk, at, *at_len, &ask, &alen), 0);
    cr_assert_eq(ptr_ask_decode(ask, alen, &got, pk, fk, sizeof fk, &fl), 0);
    cr_assert_arr_eq(pk, to->id.pk, 32);
    cr_assert_arr_eq(got.digest, s.digest, sizeof s.digest);
    cr_assert_eq(fl, *at_len);
    cr_assert_eq(ptr_ask_decode(ask, alen - 1, &got, pk, fk, sizeof fk, &fl), PTR_EFORMAT);
    free(ask);
    answer_sink k = {to, 0, 0, {0}, 0};
    cr_assert_eq(ffdb_begin_read(from->db, &t), 0);
    cr_assert_eq(ptr_answer_txn(from->p, t, &got, fk, fl, 4096, max_bytes, sink_emit, &k, &sent),
                 0);
    ffdb_abort(t);
    if (nmsg)
        *nmsg = k.nmsg;
    memcpy(at, k.more, k.more_len);
    *at_len = k.more_len;
    return k.applied;
}

/* Ask until an answer brings nothing and says no more: the rounds. */
static size_t catch_up(node *to, node *from, size_t max_bytes)
{
    char at[64];
    size_t at_len = 0, rounds = 0, got;
    do {
        got = ask_from(to, from, max_bytes, NULL, at, &at_len);
        rounds++;
        cr_assert_lt(rounds, 1000);
    } while (got || at_len);
    return rounds;
}

static size_t ask_round(node *to, node *from, size_t max_bytes, size_t *nmsg)
{
    char at[64];
    size_t at_len = 0;
    return ask_from(to, from, max_bytes, nmsg, at, &at_len);
}

static void summary_of(node *n, ptr_summary *s)
{
    ffdb_txn *t;
    cr_assert_eq(ffdb_begin_read(n->db, &t), 0);
    cr_assert_eq(ptr_summary_txn(n->p, t, s), 0);
    ffdb_abort(t);
}

Test(ptr, ask_and_answer_make_two_stores_equal)
{
    node a, b;
    node_open(&a, "a.ffdb", 1, NULL, T0);
    node_open(&b, "b.ffdb", 2, NULL, T0 + 5);
    char k[16];
    for (int i = 0; i < 300; i++) {
        int n = snprintf(k, sizeof k, "k%03d", i);
        if (i < 200)
            cr_assert_eq(ptr_set(a.p, k, (size_t)n, "a", 1, NULL, NULL), 0);
        if (i >= 100)
            cr_assert_eq(ptr_set(b.p, k, (size_t)n, "bb", 2, NULL, NULL), 0);
        if (i % 50 == 0)
            cr_assert_eq(ptr_del(b.p, k, (size_t)n, NULL, NULL), 0);
    }
    ptr_summary sa, sb;
    summary_of(&a, &sa);
    summary_of(&b, &sb);
    cr_assert_neq(memcmp(sa.digest, sb.digest, sizeof sa.digest), 0);
    /* A bounded answer (8 KiB) brings part; asking again while it brings
     * something finishes the job. */
    size_t nmsg = 0, got = ask_round(&a, &b, 8192, &nmsg);
    cr_assert_gt(got, 0);
    cr_assert_gt(nmsg, 1); /* 4 KiB chunks */
    cr_assert_gt(catch_up(&a, &b, 8192), 2);
    cr_assert_eq(catch_up(&b, &a, 1 << 20), 2); /* one that brings, one that finds nothing */
    summary_of(&a, &sa);
    summary_of(&b, &sb);
    cr_assert_arr_eq(sa.digest, sb.digest, sizeof sa.digest);
    ptr_entry e;
    for (int i = 0; i < 300; i++) {
        int n = snprintf(k, sizeof k, "k%03d", i);
        cr_assert_eq(ptr_get(a.p, k, (size_t)n, &e), 0);
        int del = e.deleted;
        size_t vs = e.value.size;
        cr_assert_eq(ptr_get(b.p, k, (size_t)n, &e), 0);
        cr_assert_eq(e.deleted, del);
        cr_assert_eq(e.value.size, vs);
        /* b's clock is ahead: its writes win where both wrote */
        cr_assert_eq(vs, i < 100 ? (i % 50 ? 1u : 0u) : (i % 50 ? 2u : 0u), "key %d", i);
    }
    /* Equal stores: an answer sends nothing. */
    cr_assert_eq(ask_round(&a, &b, 1 << 20, &nmsg), 0);
    cr_assert_eq(nmsg, 0);
    /* A broken batch is one malformed reject. */
    ffdb_txn *t;
    ptr_stats st0, st1;
    ptr_get_stats(a.p, &st0);
    const uint8_t junk[] = {0x0a, 0x7f, 1, 2};
    cr_assert_eq(ffdb_begin_write(a.db, &t), 0);
    cr_assert_eq(ptr_apply_batch_txn(a.p, t, junk, sizeof junk, NULL, NULL), 0);
    cr_assert_eq(ptr_apply_batch_txn(a.p, t, (const uint8_t *)"\x1a\x00", 2, NULL, NULL), 0);
    ffdb_abort(t);
    ptr_get_stats(a.p, &st1);
    cr_assert_eq(st1.rejects[PTR_R_MALFORMED], st0.rejects[PTR_R_MALFORMED] + 2);
    node_close(&a);
    node_close(&b);
}
