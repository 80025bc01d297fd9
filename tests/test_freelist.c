/*
 * test_freelist.c — the freelist layer: the range sets, the transaction
 * rules (alloc, free, pending until no reader can see a page, abort), the
 * chain on disk (round trip, tail truncation, corrupt chains), allocation
 * failures, and a randomized model test against a page-by-page model.
 *
 * Runs the real pager over the in-memory backend (testing/io_mem.h). The
 * randomized tests take their seed from FFDB_TEST_SEED or the clock and print
 * it on failure.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/bytes.h"
#include "common/checksum.h"
#include "common/error.h"
#include "common/format.h"
#include "freelist/freelist.h"
#include "freelist/ranges.h"
#include "freelist/state.h"
#include "pager/pager.h"
#include "testing/io_mem.h"

/* ---- helpers -------------------------------------------------------------------- */

#define FL_OK(expr)                                                                                \
    do {                                                                                           \
        int ok_rc_ = (expr);                                                                       \
        if (ok_rc_ != 0) {                                                                         \
            ffdb_error_info ok_ei_;                                                                \
            ffdb_last_error(&ok_ei_);                                                              \
            cr_assert_fail("[seed %llu] %s returned %d (%s; %s, page %llu)",                       \
                           (unsigned long long)seed_used, #expr, ok_rc_, ffdb_strerror(ok_rc_),    \
                           ok_ei_.message, (unsigned long long)ok_ei_.pgno);                       \
        }                                                                                          \
    } while (0)

static unsigned long long seed_used;

static uint64_t rng_state;

static uint64_t seed_rng(void)
{
    const char *env = getenv("FFDB_TEST_SEED");
    seed_used = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    rng_state = seed_used;
    return seed_used;
}

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
    return rnd() % n;
}

/* A freelist over a pager over an in-memory disk, plus what the last meta
 * would say. */
struct env {
    struct io_mem *m;
    struct pager *pg;
    struct freelist *fl;
    uint64_t txid;      /* current write txn */
    uint64_t committed; /* last committed txid */
    uint64_t root, npages, page_count;
    long live0;
};

static void env_init(struct env *e, unsigned page_size)
{
    memset(e, 0, sizeof(*e));
    e->live0 = mem_live();
    e->m = io_mem_create();
    cr_assert(e->m);
    FL_OK(pager_open("freelist.db", io_mem_io(e->m), 0, &e->pg));
    pager_set_page_size(e->pg, page_size);
    FL_OK(fl_create(&e->fl));
    e->page_count = 2;
}

static void env_fini(struct env *e)
{
    fl_destroy(e->fl);
    pager_close(e->pg);
    io_mem_destroy(e->m);
    cr_assert_eq(mem_live(), e->live0, "leaked %ld allocations", mem_live() - e->live0);
}

static void begin(struct env *e, uint64_t oldest)
{
    e->txid = e->committed + 1;
    FL_OK(fl_txn_begin(e->fl, e->txid, oldest));
}

/* Begin with no reader: everything pending becomes reusable. */
static void begin_noreader(struct env *e)
{
    begin(e, e->committed);
}

static void commit(struct env *e)
{
    uint64_t root, npages, page_count;
    FL_OK(fl_txn_prepare(e->fl, e->pg, &root, &npages, &page_count));
    cr_assert_eq(page_count, fl_page_count(e->fl));
    fl_txn_commit(e->fl);
    cr_assert_eq(fl_root(e->fl), root);
    cr_assert_eq(fl_root_pages(e->fl), npages);
    e->root = root;
    e->npages = npages;
    e->page_count = page_count;
    e->committed = e->txid;
}

static uint64_t alloc(struct env *e, size_t count, int *reused)
{
    uint64_t pgno;
    int r;
    FL_OK(fl_alloc(e->fl, count, &pgno, &r));
    if (reused)
        *reused = r;
    return pgno;
}

/* Everything fl_foreach shows, plus page_count. */
struct dump {
    size_t n, cap;
    struct dent {
        uint64_t pgno, count, txid;
    } * e;
    uint64_t page_count;
};

static int dump_fn(void *arg, uint64_t pgno, uint64_t count, uint64_t txid)
{
    struct dump *d = arg;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->e = realloc(d->e, d->cap * sizeof(*d->e));
        cr_assert(d->e);
    }
    d->e[d->n++] = (struct dent){pgno, count, txid};
    return 0;
}

static int txn_dump_fn(void *arg, uint64_t pgno, uint64_t count)
{
    return dump_fn(arg, pgno, count, UINT64_MAX);
}

static struct dump take(const struct freelist *fl)
{
    struct dump d = {0};
    cr_assert_eq(fl_foreach(fl, dump_fn, &d), 0);
    cr_assert_eq(fl_txn_foreach(fl, txn_dump_fn, &d), 0);
    d.page_count = fl_page_count(fl);
    return d;
}

static void dump_eq(const struct dump *a, const struct dump *b, const char *what)
{
    cr_assert_eq(a->page_count, b->page_count, "%s: page_count %llu != %llu", what,
                 (unsigned long long)a->page_count, (unsigned long long)b->page_count);
    cr_assert_eq(a->n, b->n, "%s: %zu ranges != %zu", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        cr_assert(a->e[i].pgno == b->e[i].pgno && a->e[i].count == b->e[i].count &&
                      a->e[i].txid == b->e[i].txid,
                  "%s: range %zu differs: %llu+%llu@%llu vs %llu+%llu@%llu", what, i,
                  (unsigned long long)a->e[i].pgno, (unsigned long long)a->e[i].count,
                  (unsigned long long)a->e[i].txid, (unsigned long long)b->e[i].pgno,
                  (unsigned long long)b->e[i].count, (unsigned long long)b->e[i].txid);
}

static void dump_free(struct dump *d)
{
    free(d->e);
    memset(d, 0, sizeof(*d));
}

static struct freelist *reload(struct env *e, int *rc)
{
    struct freelist *fl = NULL;
    *rc = fl_load(e->pg, e->root, e->npages, e->page_count, e->committed, &fl);
    return fl;
}

static int dent_cmp(const void *x, const void *y)
{
    const struct dent *a = x, *b = y;
    return a->pgno < b->pgno ? -1 : a->pgno > b->pgno;
}

/* What a reopened file shows for the live freelist d: one merged set of free
 * ranges, all reusable (pending groups live only in memory, persist.c). */
static struct dump merged(const struct dump *d)
{
    struct dump m = {0};
    struct dent *v = malloc((d->n + 1) * sizeof(*v));
    size_t n = 0;

    cr_assert(v);
    for (size_t i = 0; i < d->n; i++)
        if (d->e[i].txid != UINT64_MAX) /* not the txn's own pages */
            v[n++] = d->e[i];
    qsort(v, n, sizeof(*v), dent_cmp);
    for (size_t i = 0; i < n; i++) {
        if (m.n > 0 && m.e[m.n - 1].pgno + m.e[m.n - 1].count == v[i].pgno) {
            m.e[m.n - 1].count += v[i].count;
            continue;
        }
        dump_fn(&m, v[i].pgno, v[i].count, 0);
    }
    m.page_count = d->page_count;
    free(v);
    return m;
}

/* Load the committed chain and check it holds what the live freelist holds,
 * as one set of reusable ranges. */
static void check_reload(struct env *e)
{
    int rc;
    struct freelist *fl = reload(e, &rc);
    struct dump a, b, live;

    FL_OK(rc);
    live = take(e->fl);
    a = merged(&live);
    dump_free(&live);
    b = take(fl);
    dump_eq(&a, &b, "reload");
    cr_assert_eq(fl_root(fl), e->root);
    cr_assert_eq(fl_root_pages(fl), e->npages);
    dump_free(&a);
    dump_free(&b);
    fl_destroy(fl);
}

/* ---- the range set --------------------------------------------------------------- */

Test(freelist_ranges, add_merges_and_remove_splits)
{
    struct rset s;
    long live0 = mem_live();

    rset_init(&s);
    cr_assert_eq(rset_add(&s, 10, 5), 0);
    cr_assert_eq(rset_add(&s, 20, 5), 0);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(rset_add(&s, 15, 5), 0); /* bridges both */
    cr_assert_eq(s.n, 1);
    cr_assert(s.r[0].pgno == 10 && s.r[0].count == 15);
    cr_assert_eq(rset_remove(&s, 12, 2), 0); /* splits */
    cr_assert(s.n == 2 && s.r[0].count == 2 && s.r[1].pgno == 14 && s.r[1].count == 11);
    cr_assert(rset_contains(&s, 11) && !rset_contains(&s, 12) && rset_contains(&s, 14));
    cr_assert(rset_overlaps(&s, 0, 11) && !rset_overlaps(&s, 12, 2) && !rset_overlaps(&s, 25, 9));
    cr_assert_eq(rset_add(&s, 40, 5), 0);
    cr_assert_eq(rset_remove(&s, 11, 32), 0); /* spans three ranges */
    cr_assert(s.n == 2 && s.r[0].pgno == 10 && s.r[0].count == 1 && s.r[1].pgno == 43 &&
              s.r[1].count == 2);
    cr_assert_eq(rset_first_fit(&s, 2), 1);
    cr_assert_eq(rset_first_fit(&s, 3), 2);
    cr_assert(rset_valid(&s));
    rset_free(&s);
    cr_assert_eq(mem_live(), live0);
}

/* Work at both ends (first fit takes the lowest range, the file end grows)
 * reuses the room at the ends instead of growing the array. */
Test(freelist_ranges, both_ends)
{
    struct rset s;
    uint64_t lo = 1000, hi;

    rset_init(&s);
    for (hi = lo; hi < lo + 2000; hi += 2)
        cr_assert_eq(rset_add(&s, hi, 1), 0);
    size_t cap = s.cap;
    for (int i = 0; i < 20000; i++) {
        cr_assert_eq(rset_remove(&s, s.r[0].pgno, 1), 0); /* the lowest */
        cr_assert_eq(rset_add(&s, hi, 1), 0);             /* a new highest */
        hi += 2;
        if (i % 3 == 0) { /* and some at the low end */
            cr_assert_eq(rset_add(&s, s.r[0].pgno - 2, 1), 0);
            cr_assert_eq(rset_remove(&s, s.r[s.n - 1].pgno, 1), 0);
            hi -= 2;
        }
        if (i % 997 == 0)
            cr_assert(rset_valid(&s));
    }
    cr_assert(rset_valid(&s));
    cr_assert_eq(s.n, 1000);
    cr_assert_leq(s.cap, cap, "the array grew from %zu to %zu ranges", cap, s.cap);
    rset_free(&s);
}

/* Random adds/removes/unions against a bitmap. */
Test(freelist_ranges, model)
{
    enum { N = 700 };
    static unsigned char bits[N];
    struct rset s;

    seed_rng();
    rset_init(&s);
    for (int step = 0; step < 4000; step++) {
        uint64_t p = below(N - 1), c = 1 + below(step % 7 == 0 ? 60 : 6);
        if (p + c > N)
            c = N - p;
        if (below(3) == 0) {
            cr_assert_eq(rset_remove(&s, p, c), 0);
            memset(bits + p, 0, c);
        } else if (below(10) == 0) {
            struct range add[8];
            size_t n = 0;
            for (uint64_t q = p; q < p + c && n < 8; q++)
                if (!bits[q] && (q == p || !bits[q - 1]) && below(2)) {
                    add[n++] = (struct range){q, 1};
                    bits[q] = 1;
                    q++; /* leave a gap so the added ranges stay disjoint */
                }
            cr_assert_eq(rset_union(&s, add, n), 0);
        } else {
            int clear = 1;
            for (uint64_t q = p; q < p + c; q++)
                clear &= !bits[q];
            if (!clear)
                continue;
            cr_assert_eq(rset_add(&s, p, c), 0);
            memset(bits + p, 1, c);
        }
        cr_assert(rset_valid(&s), "[seed %llu] step %d", seed_used, step);
        if (step % 50 == 0 || step > 3900)
            for (uint64_t q = 0; q < N; q++)
                cr_assert_eq(rset_contains(&s, q), bits[q], "[seed %llu] page %llu", seed_used,
                             (unsigned long long)q);
    }
    rset_free(&s);
}

/* ---- transaction rules ------------------------------------------------------------- */

Test(freelist_txn, alloc_from_end)
{
    struct env e;
    int reused;

    env_init(&e, 4096);
    cr_assert_eq(fl_page_count(e.fl), 2);
    begin_noreader(&e);
    cr_assert_eq(alloc(&e, 1, &reused), 2);
    cr_assert_eq(reused, 0);
    cr_assert_eq(alloc(&e, 3, &reused), 3);
    cr_assert_eq(alloc(&e, 1, &reused), 6);
    cr_assert_eq(fl_page_count(e.fl), 7);
    cr_assert(fl_is_txn_page(e.fl, 2) && fl_is_txn_page(e.fl, 5) && !fl_is_txn_page(e.fl, 7));
    commit(&e);
    cr_assert_eq(e.root, 0); /* nothing free: no chain */
    cr_assert_eq(e.npages, 0);
    cr_assert_eq(e.page_count, 7);
    cr_assert(!fl_is_txn_page(e.fl, 2));
    env_fini(&e);
}

Test(freelist_txn, own_pages_reusable_at_once)
{
    struct env e;
    struct fl_counts c;
    int reused;

    env_init(&e, 4096);
    begin_noreader(&e);
    uint64_t p = alloc(&e, 4, NULL);
    FL_OK(fl_free(e.fl, p + 1, 2)); /* the middle of a txn run */
    fl_counts(e.fl, &c);
    cr_assert_eq(c.reusable, 2);
    cr_assert_eq(c.pending, 0);
    cr_assert(!fl_is_txn_page(e.fl, p + 1) && fl_is_txn_page(e.fl, p + 3));
    cr_assert_eq(alloc(&e, 2, &reused), p + 1);
    cr_assert_eq(reused, 1);
    cr_assert_eq(fl_page_count(e.fl), p + 4);
    env_fini(&e);
}

Test(freelist_txn, committed_pages_pending_until_oldest)
{
    struct env e;
    struct fl_counts c;
    int reused;

    env_init(&e, 4096);
    begin_noreader(&e); /* txn 1 */
    uint64_t p = alloc(&e, 10, NULL);
    commit(&e);
    begin_noreader(&e); /* txn 2 frees committed pages */
    FL_OK(fl_free(e.fl, p + 2, 3));
    fl_counts(e.fl, &c);
    cr_assert_eq(c.pending, 3);
    cr_assert_eq(alloc(&e, 1, &reused), p + 10); /* not the pending ones */
    cr_assert_eq(reused, 0);
    commit(&e);
    /* txn 3 while a reader of snapshot 1 lives: still pending. */
    begin(&e, 1);
    fl_counts(e.fl, &c);
    cr_assert_eq(c.pending, 3);
    uint64_t q = alloc(&e, 1, &reused);
    cr_assert(q < p + 2 || q >= p + 5, "pending page %llu handed out", (unsigned long long)q);
    fl_txn_abort(e.fl);
    /* The reader ended: oldest = 2 = the freeing txn. */
    begin(&e, 2);
    fl_counts(e.fl, &c);
    cr_assert_eq(c.reusable, 3);
    cr_assert_eq(alloc(&e, 3, &reused), p + 2);
    cr_assert_eq(reused, 1);
    commit(&e);
    check_reload(&e);
    env_fini(&e);
}

Test(freelist_txn, first_fit_and_merging)
{
    struct env e;
    struct dump d;
    int reused;

    env_init(&e, 4096);
    begin_noreader(&e);
    uint64_t base = alloc(&e, 30, NULL); /* pages 2..31 */
    commit(&e);
    begin_noreader(&e);
    FL_OK(fl_free(e.fl, base + 20, 5)); /* 22..26 */
    FL_OK(fl_free(e.fl, base + 2, 1));  /* 4 */
    FL_OK(fl_free(e.fl, base + 10, 3)); /* 12..14 */
    FL_OK(fl_free(e.fl, base + 3, 1));  /* 5: merges with 4 */
    commit(&e);
    begin_noreader(&e);
    d = take(e.fl);
    /* The reusable ranges are 4+2, 12+3, 22+5, minus the old chain which is
     * pending again; the chain page itself sits at the lowest free page of the
     * commit before (none was reusable then: it extended the file). */
    cr_assert_geq(d.n, 3);
    cr_assert(d.e[0].pgno == base + 2 && d.e[0].count == 2 && d.e[0].txid == 0);
    cr_assert(d.e[1].pgno == base + 10 && d.e[1].count == 3 && d.e[1].txid == 0);
    cr_assert(d.e[2].pgno == base + 20 && d.e[2].count == 5 && d.e[2].txid == 0);
    dump_free(&d);
    cr_assert_eq(alloc(&e, 3, &reused), base + 10); /* first fit: skips the 2-page hole */
    cr_assert_eq(reused, 1);
    cr_assert_eq(alloc(&e, 1, NULL), base + 2); /* lowest first */
    cr_assert_eq(alloc(&e, 4, NULL), base + 20);
    FL_OK(fl_free(e.fl, base + 2, 1)); /* own page: back, and merged with 5 */
    d = take(e.fl);
    cr_assert(d.e[0].pgno == base + 2 && d.e[0].count == 2 && d.e[0].txid == 0);
    dump_free(&d);
    commit(&e);
    check_reload(&e);
    env_fini(&e);
}

Test(freelist_txn, contiguous_runs)
{
    struct env e;
    int reused;

    env_init(&e, 4096);
    begin_noreader(&e);
    uint64_t base = alloc(&e, 40, NULL);
    /* holes of 2, 3 and 6 pages, own pages so reusable at once */
    FL_OK(fl_free(e.fl, base + 1, 2));
    FL_OK(fl_free(e.fl, base + 5, 3));
    FL_OK(fl_free(e.fl, base + 10, 6));
    cr_assert_eq(alloc(&e, 5, &reused), base + 10);
    cr_assert_eq(reused, 1);
    cr_assert_eq(alloc(&e, 7, &reused), base + 40); /* nothing fits: extends */
    cr_assert_eq(reused, 0);
    cr_assert_eq(alloc(&e, 1, NULL), base + 1);
    /* a 1 GiB overflow run is one range, freed in one step */
    uint64_t big = alloc(&e, 262144, NULL);
    commit(&e);
    begin_noreader(&e);
    FL_OK(fl_free(e.fl, big, 262144));
    struct fl_counts c;
    fl_counts(e.fl, &c);
    cr_assert_eq(c.pending, 262144);
    commit(&e);
    check_reload(&e);
    env_fini(&e);
}

Test(freelist_txn, free_spanning_own_and_committed_pages)
{
    struct env e;
    struct dump d;

    env_init(&e, 4096);
    begin_noreader(&e);
    uint64_t base = alloc(&e, 4, NULL); /* 2..5 committed */
    commit(&e);
    begin_noreader(&e);
    cr_assert_eq(alloc(&e, 4, NULL), base + 4); /* 6..9 this txn */
    FL_OK(fl_free(e.fl, base + 2, 6));          /* 4..9: 4,5 pending; 6..9 reusable */
    d = take(e.fl);
    cr_assert_eq(d.n, 2);
    cr_assert(d.e[0].pgno == base + 4 && d.e[0].count == 4 && d.e[0].txid == 0);
    cr_assert(d.e[1].pgno == base + 2 && d.e[1].count == 2 && d.e[1].txid == e.txid);
    dump_free(&d);
    commit(&e);
    check_reload(&e);
    env_fini(&e);
}

Test(freelist_txn, abort_restores_exactly)
{
    struct env e;
    struct dump before, after;

    env_init(&e, 4096);
    begin_noreader(&e);
    uint64_t base = alloc(&e, 50, NULL);
    commit(&e);
    begin_noreader(&e);
    for (int i = 0; i < 50; i += 3)
        FL_OK(fl_free(e.fl, base + i, 1));
    commit(&e);
    begin(&e, e.committed - 1); /* a reader keeps txn 2's pages pending */
    FL_OK(fl_free(e.fl, base + 1, 1));
    commit(&e);
    before = take(e.fl);
    begin_noreader(&e); /* releases both groups */
    for (int i = 0; i < 20; i++)
        alloc(&e, 1 + i % 3, NULL);
    FL_OK(fl_free(e.fl, base + 2, 1));
    FL_OK(fl_free(e.fl, base + 4, 2));
    fl_txn_abort(e.fl);
    after = take(e.fl);
    dump_eq(&before, &after, "abort");
    cr_assert(!fl_is_txn_page(e.fl, base + 50));
    dump_free(&after);
    /* after prepare, too */
    begin_noreader(&e);
    alloc(&e, 7, NULL);
    FL_OK(fl_free(e.fl, base + 4, 2));
    uint64_t r, n, pc;
    FL_OK(fl_txn_prepare(e.fl, e.pg, &r, &n, &pc));
    fl_txn_abort(e.fl);
    after = take(e.fl);
    dump_eq(&before, &after, "abort after prepare");
    cr_assert_eq(fl_root(e.fl), e.root);
    check_reload(&e);
    dump_free(&before);
    dump_free(&after);
    env_fini(&e);
}

/* Misuse returns FFDB_EINVAL and changes nothing (in debug builds it asserts
 * first: fl_misuse_asserts = 0 gives the release behaviour). Frees of pages
 * that are free already or outside the file come from damaged files and
 * return FFDB_CORRUPT without asserting. */
Test(freelist_misuse, einval_and_state_intact)
{
    struct env e;
    struct dump before, after;
    uint64_t p, r, n, pc;

    fl_misuse_asserts = 0;
    env_init(&e, 4096);
    cr_assert_eq(fl_alloc(e.fl, 1, &p, NULL), FFDB_EINVAL); /* no txn */
    begin_noreader(&e);
    uint64_t base = alloc(&e, 10, NULL); /* 2..11 */
    FL_OK(fl_free(e.fl, base + 2, 1));   /* 4: reusable, then the chain page */
    commit(&e);
    cr_assert_eq(e.root, 4);
    begin_noreader(&e);
    FL_OK(fl_free(e.fl, base + 3, 2)); /* 5, 6 pending */
    before = take(e.fl);
    /* Page numbers from a damaged file: FFDB_CORRUPT, and never an assert
     * (they are reachable from file contents), so asserts go back on here. */
    fl_misuse_asserts = 1;
    cr_assert_eq(fl_free(e.fl, 6, 1), FFDB_CORRUPT);  /* double free */
    cr_assert_eq(fl_free(e.fl, 4, 3), FFDB_CORRUPT);  /* partly double */
    cr_assert_eq(fl_free(e.fl, 1, 2), FFDB_CORRUPT);  /* a meta page */
    cr_assert_eq(fl_free(e.fl, 11, 2), FFDB_CORRUPT); /* past the end */
    cr_assert_eq(fl_free(e.fl, e.root, 1), FFDB_CORRUPT); /* the committed chain */
    cr_assert_eq(fl_free(e.fl, UINT64_MAX - 1, 4), FFDB_CORRUPT);
    fl_misuse_asserts = 0;
    cr_assert_eq(fl_free(e.fl, 2, 0), FFDB_EINVAL);
    cr_assert_eq(fl_alloc(e.fl, 0, &p, NULL), FFDB_EINVAL);
    cr_assert_eq(fl_txn_begin(e.fl, e.txid + 1, e.committed), FFDB_EINVAL); /* txn active */
    after = take(e.fl);
    dump_eq(&before, &after, "misuse");
    dump_free(&after);
    FL_OK(fl_txn_prepare(e.fl, e.pg, &r, &n, &pc));
    after = take(e.fl);
    cr_assert_eq(fl_alloc(e.fl, 1, &p, NULL), FFDB_EINVAL); /* after prepare */
    cr_assert_eq(fl_free(e.fl, 3, 1), FFDB_EINVAL);
    cr_assert_eq(fl_txn_prepare(e.fl, e.pg, &r, &n, &pc), FFDB_EINVAL);
    dump_free(&before);
    before = take(e.fl);
    dump_eq(&before, &after, "misuse after prepare");
    fl_txn_commit(e.fl);
    e.root = r, e.npages = n, e.page_count = pc, e.committed = e.txid;
    /* a txid not above the pending groups */
    cr_assert_eq(fl_txn_begin(e.fl, e.committed, e.committed - 1), FFDB_EINVAL);
    cr_assert_eq(fl_txn_begin(e.fl, e.committed + 1, e.committed + 1), FFDB_EINVAL);
    check_reload(&e);
    dump_free(&before);
    dump_free(&after);
    env_fini(&e);
}

/* A double free comes from a damaged file (a page both in a tree and free),
 * so even a debug build must return FFDB_CORRUPT rather than abort. */
Test(freelist_misuse, double_free_is_corruption_not_abort)
{
    struct env e;
    fl_misuse_asserts = 1;
    env_init(&e, 4096);
    begin_noreader(&e);
    uint64_t p = alloc(&e, 2, NULL);
    FL_OK(fl_free(e.fl, p, 1));
    cr_assert_eq(fl_free(e.fl, p, 2), FFDB_CORRUPT);
    env_fini(&e);
}

/* ---- the chain on disk ------------------------------------------------------------- */

/* A fragmented freelist: every other page of 2 * n free, across groups. */
static void fragment(struct env *e, uint64_t n, int readers)
{
    begin_noreader(e);
    uint64_t base = alloc(e, 2 * n, NULL);
    commit(e);
    for (uint64_t g = 0; g < 4; g++) {
        begin(e, readers ? 1 : e->committed);
        for (uint64_t i = g; i < n; i += 4)
            FL_OK(fl_free(e->fl, base + 2 * i, 1));
        commit(e);
    }
}

static void round_trip(unsigned page_size, uint64_t n, int readers)
{
    struct env e;
    struct fl_counts c;
    uint64_t per_page = (page_size - PAGE_HEADER_SIZE) / FREELIST_ENTRY_SIZE;

    env_init(&e, page_size);
    fragment(&e, n, readers);
    fl_counts(e.fl, &c);
    cr_assert_eq(c.chain_pages, e.npages);
    cr_assert_geq(e.npages * per_page, c.ranges, "chain too short");
    cr_assert_leq((e.npages - 1) * per_page, c.ranges + 5 + e.npages, "chain too long");
    check_reload(&e);
    /* and once more after a reopen-style replacement of the freelist */
    int rc;
    struct freelist *fl = reload(&e, &rc);
    FL_OK(rc);
    fl_destroy(e.fl);
    e.fl = fl;
    begin_noreader(&e);
    alloc(&e, 3, NULL);
    commit(&e);
    check_reload(&e);
    env_fini(&e);
}

Test(freelist_disk, round_trip_small)
{
    round_trip(4096, 10, 0);
}
Test(freelist_disk, round_trip_multi_page)
{
    round_trip(4096, 2000, 1); /* ~2000 ranges in 5 groups: 8+ chain pages */
}
Test(freelist_disk, round_trip_16k)
{
    round_trip(16384, 3000, 1);
}

Test(freelist_disk, empty_freelist_has_no_chain)
{
    struct env e;
    env_init(&e, 4096);
    begin_noreader(&e);
    commit(&e);
    cr_assert_eq(e.root, 0);
    cr_assert_eq(e.page_count, 2);
    check_reload(&e);
    env_fini(&e);
}

Test(freelist_disk, tail_truncation)
{
    struct env e;
    struct fl_counts c;

    env_init(&e, 4096);
    begin_noreader(&e);
    uint64_t base = alloc(&e, 100, NULL); /* 2..101 */
    commit(&e);
    cr_assert_eq(e.page_count, 102);
    begin_noreader(&e);
    FL_OK(fl_free(e.fl, base + 60, 40)); /* 62..101: pending */
    commit(&e);
    /* pending pages at the end stay: a reader may still read them */
    cr_assert_geq(e.page_count, 102);
    begin(&e, e.committed - 1);
    commit(&e);
    cr_assert_geq(e.page_count, 102);
    /* No reader: reusable. The chain pages written past 101 by the last two
     * commits are pending (the durable meta names them) and hold the end of
     * the file for one more commit; then the whole tail is cut off and the
     * file ends at the live pages plus one chain page. */
    begin_noreader(&e);
    commit(&e);
    cr_assert_eq(e.page_count, 104);
    begin_noreader(&e);
    commit(&e);
    cr_assert_eq(e.page_count, 62 + 2, "page_count %llu", (unsigned long long)e.page_count);
    fl_counts(e.fl, &c);
    cr_assert_eq(c.reusable + c.pending + 100 - 40 + e.npages, e.page_count - 2);
    check_reload(&e);
    env_fini(&e);
}

/* A failed chain write leaves the state as before prepare; a retry works. */
Test(freelist_disk, prepare_write_error)
{
    struct env e;
    uint64_t r, n, pc;

    env_init(&e, 4096);
    fragment(&e, 50, 1);
    begin_noreader(&e);
    alloc(&e, 3, NULL);
    FL_OK(fl_free(e.fl, 3, 1)); /* odd pages are live */
    struct dump before = take(e.fl);
    io_mem_fail(e.m, IO_MEM_WRITE, 1, FFDB_EIO, 0);
    cr_assert_eq(fl_txn_prepare(e.fl, e.pg, &r, &n, &pc), FFDB_EIO);
    struct dump after = take(e.fl);
    dump_eq(&before, &after, "failed write");
    commit(&e);
    check_reload(&e);
    dump_free(&before);
    dump_free(&after);
    env_fini(&e);
}

/* ---- corrupt chains ------------------------------------------------------------------- */

/* Committed state: pages 2..21 live, 3, 5, 7 pending (txid 2) in chain page 22. */
static void corrupt_setup(struct env *e)
{
    env_init(e, 4096);
    begin_noreader(e);
    alloc(e, 20, NULL);
    commit(e);
    begin_noreader(e);
    FL_OK(fl_free(e->fl, 3, 1));
    FL_OK(fl_free(e->fl, 5, 1));
    FL_OK(fl_free(e->fl, 7, 1));
    commit(e);
    cr_assert_eq(e->root, 22);
    cr_assert_eq(e->npages, 1);
    cr_assert_eq(e->page_count, 23);
    check_reload(e);
}

typedef void (*page_edit)(uint8_t *page);

/* Rewrite page pgno through edit, resealed so only our checks can object. */
static void edit_page(struct env *e, uint64_t pgno, page_edit edit)
{
    uint8_t *buf = mem_alloc_aligned(4096, 4096);
    cr_assert(buf);
    FL_OK(pager_read_page(e->pg, pgno, buf));
    edit(buf);
    page_seal(buf, 4096);
    cr_assert_eq(io_mem_patch(e->m, pgno * 4096, buf, 4096), 0);
    mem_free_aligned(buf);
}

static void set_entry(uint8_t *page, unsigned i, uint64_t a, uint64_t b)
{
    st64(page + PAGE_HEADER_SIZE + i * FREELIST_ENTRY_SIZE, a);
    st64(page + PAGE_HEADER_SIZE + i * FREELIST_ENTRY_SIZE + 8, b);
}

static void expect_corrupt(struct env *e, uint64_t npages, uint64_t meta_txid, uint64_t want_pgno)
{
    struct freelist *fl = NULL;
    ffdb_error_info ei;
    long live = mem_live();
    int rc = fl_load(e->pg, e->root, npages, e->page_count, meta_txid, &fl);

    ffdb_last_error(&ei);
    cr_assert_eq(rc, FFDB_CORRUPT, "load returned %d (%s)", rc, ffdb_strerror(rc));
    cr_assert_null(fl);
    cr_assert_eq(ei.pgno, want_pgno, "error names page %llu (%s)", (unsigned long long)ei.pgno,
                 ei.message);
    cr_assert_eq(mem_live(), live, "load leaked on a corrupt chain");
}

static void ed_kind(uint8_t *p)
{
    p[PH_KIND] = PAGE_LEAF;
}
static void ed_out_of_bounds(uint8_t *p)
{
    set_entry(p, 3, 20, 4); /* 20..23 ends past page_count 23 */
}
static void ed_huge_count(uint8_t *p)
{
    set_entry(p, 3, 20, UINT64_MAX - 5); /* pgno + count wraps */
}
static void ed_overlap_groups(uint8_t *p)
{
    /* reusable 4+1, then the txid-2 group 3..5 ... overlapping it */
    st16(p + PH_COUNT, 3);
    set_entry(p, 0, 4, 1);
    set_entry(p, 1, 0, 2);
    set_entry(p, 2, 3, 2);
}
static void ed_overlap_chain(uint8_t *p)
{
    set_entry(p, 3, 22, 1); /* the chain page itself */
}
static void ed_out_of_order(uint8_t *p)
{
    set_entry(p, 2, 3, 1); /* 3, 5, 3 */
}
static void ed_self_cycle(uint8_t *p)
{
    st64(p + PH_NEXT, 22);
}
static void ed_count(uint8_t *p)
{
    st16(p + PH_COUNT, (4096 - PAGE_HEADER_SIZE) / FREELIST_ENTRY_SIZE + 1);
}
static void ed_marker_zero(uint8_t *p)
{
    set_entry(p, 0, 0, 0);
}
static void ed_next_out(uint8_t *p)
{
    st64(p + PH_NEXT, 23);
}

static void corrupt_case(page_edit edit, uint64_t npages, uint64_t meta_txid, uint64_t want)
{
    struct env e;
    corrupt_setup(&e);
    if (edit)
        edit_page(&e, 22, edit);
    expect_corrupt(&e, npages ? npages : e.npages, meta_txid ? meta_txid : e.committed, want);
    env_fini(&e);
}

static void ed_grow_count(uint8_t *p)
{
    st16(p + PH_COUNT, 4); /* the entry after the 3 real ones is edited in */
}

static void edit2(struct env *e, page_edit a)
{
    edit_page(e, 22, ed_grow_count);
    edit_page(e, 22, a);
}

static void corrupt_case2(page_edit edit, uint64_t want)
{
    struct env e;
    corrupt_setup(&e);
    edit2(&e, edit);
    expect_corrupt(&e, e.npages, e.committed, want);
    env_fini(&e);
}

Test(freelist_corrupt, bad_kind)
{
    corrupt_case(ed_kind, 0, 0, 22);
}
Test(freelist_corrupt, range_out_of_bounds)
{
    corrupt_case2(ed_out_of_bounds, 22);
}
Test(freelist_corrupt, range_count_wraps)
{
    corrupt_case2(ed_huge_count, 22);
}
Test(freelist_corrupt, overlap_between_groups)
{
    corrupt_case(ed_overlap_groups, 0, 0, 22);
}
Test(freelist_corrupt, overlap_with_chain_page)
{
    corrupt_case2(ed_overlap_chain, 22);
}
Test(freelist_corrupt, ranges_out_of_order)
{
    corrupt_case(ed_out_of_order, 0, 0, 22);
}
Test(freelist_corrupt, cycle)
{
    corrupt_case(ed_self_cycle, 0, 0, 22); /* npages 1: longer than the meta says */
    corrupt_case(ed_self_cycle, 3, 0, 22); /* npages 3: visits 22 three times */
}
Test(freelist_corrupt, chain_shorter_than_meta)
{
    corrupt_case(NULL, 2, 0, 22);
}
Test(freelist_corrupt, next_out_of_file)
{
    corrupt_case(ed_next_out, 2, 0, 22);
}
Test(freelist_corrupt, count_too_big)
{
    corrupt_case(ed_count, 0, 0, 22);
}
Test(freelist_corrupt, txid_newer_than_meta)
{
    corrupt_case(NULL, 0, 1, 22); /* page (and marker) txid 2 > meta 1 */
}
Test(freelist_corrupt, marker_zero)
{
    corrupt_case(ed_marker_zero, 0, 0, 22);
}
Test(freelist_corrupt, bad_checksum)
{
    struct env e;
    uint8_t junk[512] = {1, 2, 3};
    corrupt_setup(&e);
    cr_assert_eq(io_mem_patch(e.m, 22 * 4096 + 1024, junk, sizeof junk), 0);
    expect_corrupt(&e, e.npages, e.committed, 22);
    env_fini(&e);
}
Test(freelist_corrupt, bad_meta_fields)
{
    struct env e;
    struct freelist *fl;
    corrupt_setup(&e);
    cr_assert_eq(fl_load(e.pg, e.root, 0, e.page_count, e.committed, &fl), FFDB_CORRUPT);
    cr_assert_eq(fl_load(e.pg, 0, 1, e.page_count, e.committed, &fl), FFDB_CORRUPT);
    cr_assert_eq(fl_load(e.pg, e.root, 1, 1, e.committed, &fl), FFDB_CORRUPT);
    cr_assert_eq(fl_load(e.pg, e.page_count, 1, e.page_count, e.committed, &fl), FFDB_CORRUPT);
    cr_assert_eq(fl_load(e.pg, 1, 1, e.page_count, e.committed, &fl), FFDB_CORRUPT);
    env_fini(&e);
}

/* Random damage to the entries (resealed): load fails cleanly or yields a
 * consistent freelist; never crashes, loops or leaks. */
Test(freelist_corrupt, random_damage)
{
    struct env e;
    uint8_t *orig, *buf;

    seed_rng();
    env_init(&e, 4096);
    orig = mem_alloc_aligned(4096, 4096);
    buf = mem_alloc_aligned(4096, 4096);
    fragment(&e, 120, 1);
    cr_assert_eq(e.npages, 1);
    FL_OK(pager_read_page(e.pg, e.root, orig));
    for (int iter = 0; iter < 300; iter++) {
        struct freelist *fl = NULL;
        long live = mem_live();
        memcpy(buf, orig, 4096);
        for (int k = 0; k < 1 + (int)below(4); k++) {
            size_t off = below(2) ? 24 + below(16) : PAGE_HEADER_SIZE + below(130 * 16);
            buf[off] = below(3) ? (uint8_t)rnd() : buf[off] ^ (uint8_t)(1u << below(8));
        }
        page_seal(buf, 4096);
        cr_assert_eq(io_mem_patch(e.m, e.root * 4096, buf, 4096), 0);
        int rc = fl_load(e.pg, e.root, e.npages, e.page_count, e.committed, &fl);
        cr_assert(rc == 0 || rc == FFDB_CORRUPT, "[seed %llu] rc %d", seed_used, rc);
        if (rc == 0) { /* whatever it loaded must be disjoint and in bounds */
            struct dump d = take(fl);
            unsigned char *seen = calloc(e.page_count, 1);
            for (size_t i = 0; i < d.n; i++)
                for (uint64_t p = d.e[i].pgno; p < d.e[i].pgno + d.e[i].count; p++) {
                    cr_assert(p >= 2 && p < e.page_count && !seen[p]);
                    seen[p] = 1;
                }
            free(seen);
            dump_free(&d);
            fl_destroy(fl);
        }
        cr_assert_eq(mem_live(), live);
    }
    mem_free_aligned(orig);
    mem_free_aligned(buf);
    env_fini(&e);
}

/* ---- allocation failures ---------------------------------------------------------------- */

Test(freelist_nomem, begin)
{
    struct env e;
    int n, failures = 0;

    env_init(&e, 4096);
    fragment(&e, 300, 1); /* groups waiting to be released */
    struct dump before = take(e.fl);
    for (n = 1;; n++) {
        mem_fail_after(n);
        int rc = fl_txn_begin(e.fl, e.committed + 1, e.committed);
        int fired = !mem_fail_pending();
        mem_fail_after(0);
        struct dump now = take(e.fl);
        if (rc == 0) {
            cr_assert(!fired, "a failed allocation was swallowed");
            e.txid = e.committed + 1;
            fl_txn_abort(e.fl);
            dump_free(&now);
            now = take(e.fl);
            dump_eq(&before, &now, "abort after begin");
            dump_free(&now);
            break;
        }
        cr_assert_eq(rc, FFDB_ENOMEM);
        dump_eq(&before, &now, "failed begin");
        dump_free(&now);
        failures++;
    }
    cr_assert_geq(failures, 2);
    dump_free(&before);
    begin_noreader(&e);
    commit(&e);
    check_reload(&e);
    env_fini(&e);
}

Test(freelist_nomem, prepare)
{
    struct env e;
    int n, failures = 0;

    env_init(&e, 4096);
    fragment(&e, 600, 1);
    begin_noreader(&e);
    struct dump at_begin = take(e.fl);
    for (int i = 0; i < 30; i++)
        alloc(&e, 1 + i % 4, NULL);
    FL_OK(fl_free(e.fl, 3, 1));
    struct dump before = take(e.fl);
    for (n = 1;; n++) {
        uint64_t root, npages, page_count;
        mem_fail_after(n);
        int rc = fl_txn_prepare(e.fl, e.pg, &root, &npages, &page_count);
        int fired = !mem_fail_pending();
        mem_fail_after(0);
        if (rc == 0) {
            cr_assert(!fired, "a failed allocation was swallowed");
            fl_txn_commit(e.fl);
            e.root = root;
            e.npages = npages;
            e.page_count = page_count;
            e.committed = e.txid;
            break;
        }
        cr_assert_eq(rc, FFDB_ENOMEM);
        struct dump now = take(e.fl);
        dump_eq(&before, &now, "failed prepare"); /* a retry starts from here */
        dump_free(&now);
        failures++;
    }
    cr_assert_geq(failures, 3);
    check_reload(&e);
    /* A failed prepare, then abort: back to the begin state. */
    dump_free(&at_begin);
    at_begin = take(e.fl);
    begin_noreader(&e);
    alloc(&e, 5, NULL);
    uint64_t r, np, pc;
    mem_fail_after(2);
    cr_assert_eq(fl_txn_prepare(e.fl, e.pg, &r, &np, &pc), FFDB_ENOMEM);
    mem_fail_after(0);
    fl_txn_abort(e.fl);
    struct dump now = take(e.fl);
    dump_eq(&at_begin, &now, "abort after failed prepare");
    dump_free(&now);
    dump_free(&before);
    dump_free(&at_begin);
    env_fini(&e);
}

Test(freelist_nomem, alloc_free_and_load)
{
    struct env e;
    int failures = 0;

    seed_rng();
    env_init(&e, 4096);
    fragment(&e, 200, 1);
    begin_noreader(&e);
    uint64_t live[400];
    size_t nlive = 0;
    /* Each op: fail its 1st, 2nd, ... allocation until it gets through. */
    for (int i = 0; i < 600; i++) {
        int free_op = nlive > 0 && below(2), rc;
        size_t k = free_op ? below(nlive) : 0, count = 1 + below(3);
        uint64_t p = 0;
        for (int n = 1;; n++) {
            struct dump before = take(e.fl), now;
            mem_fail_after(n);
            rc = free_op ? fl_free(e.fl, live[k], 1) : fl_alloc(e.fl, count, &p, NULL);
            mem_fail_after(0);
            now = take(e.fl);
            if (rc == FFDB_ENOMEM)
                dump_eq(&before, &now, "failed alloc/free");
            dump_free(&before);
            dump_free(&now);
            if (rc != FFDB_ENOMEM)
                break;
            failures++;
        }
        FL_OK(rc);
        if (free_op)
            live[k] = live[--nlive];
        else if (nlive < 400)
            live[nlive++] = p;
    }
    cr_assert_geq(failures, 3, "[seed %llu] only %d failures", seed_used, failures);
    commit(&e);
    check_reload(&e);
    /* load */
    failures = 0;
    for (int n = 1;; n++) {
        struct freelist *fl = NULL;
        long live0 = mem_live();
        mem_fail_after(n);
        int rc = fl_load(e.pg, e.root, e.npages, e.page_count, e.committed, &fl);
        mem_fail_after(0);
        if (rc == 0) {
            fl_destroy(fl);
            break;
        }
        cr_assert_eq(rc, FFDB_ENOMEM);
        cr_assert_eq(mem_live(), live0, "load leaked after a failed allocation");
        failures++;
    }
    cr_assert_geq(failures, 3);
    env_fini(&e);
}

/* ---- randomized model ------------------------------------------------------------------- */

enum { OWN_NONE, OWN_LIVE, OWN_TXN, OWN_CHAIN, OWN_NEWCHAIN };
#define MODEL_PAGES (1u << 15)

struct unit {
    uint64_t pgno, count;
};

struct model {
    unsigned char own[MODEL_PAGES];
    uint64_t freed_at[MODEL_PAGES]; /* txid that freed a page still pending, else 0 */
    struct unit units[MODEL_PAGES];
    size_t nunits;
    uint64_t readers[4];
    size_t nreaders;
};

static struct model model, model_saved;

static int mark_txn_page(void *arg, uint64_t pgno, uint64_t count)
{
    uint64_t *newchain = arg;
    for (uint64_t p = pgno; p < pgno + count; p++) {
        cr_assert(model.own[p] == OWN_TXN || model.own[p] == OWN_NONE,
                  "[seed %llu] txn page %llu owned as %d", seed_used, (unsigned long long)p,
                  model.own[p]);
        if (model.own[p] == OWN_NONE) {
            model.own[p] = OWN_NEWCHAIN;
            (*newchain)++;
        }
    }
    return 0;
}

static void model_alloc(struct env *e, uint64_t oldest)
{
    uint64_t r = below(100), count = r < 85 ? 1 : r < 97 ? 2 + below(6) : 10 + below(60);
    uint64_t before = fl_page_count(e->fl);
    int reused;
    uint64_t p = alloc(e, count, &reused);

    cr_assert_eq(reused, p < before, "[seed %llu] reused flag", seed_used);
    cr_assert_leq(p + count, fl_page_count(e->fl));
    cr_assert_lt(p + count, MODEL_PAGES);
    cr_assert_geq(p, 2);
    for (uint64_t q = p; q < p + count; q++) {
        cr_assert_eq(model.own[q], OWN_NONE, "[seed %llu] page %llu handed out twice", seed_used,
                     (unsigned long long)q);
        /* F2: not while a reader that may see it lives */
        cr_assert_leq(model.freed_at[q], oldest, "[seed %llu] page %llu freed by %llu, oldest %llu",
                      seed_used, (unsigned long long)q, (unsigned long long)model.freed_at[q],
                      (unsigned long long)oldest);
        model.own[q] = OWN_TXN;
        model.freed_at[q] = 0;
    }
    cr_assert(fl_is_txn_page(e->fl, p) && fl_is_txn_page(e->fl, p + count - 1));
    model.units[model.nunits++] = (struct unit){p, count};
}

static void model_free(struct env *e)
{
    size_t k = below(model.nunits);
    struct unit u = model.units[k];

    FL_OK(fl_free(e->fl, u.pgno, u.count));
    for (uint64_t q = u.pgno; q < u.pgno + u.count; q++) {
        /* pages of this txn are free at once; committed ones wait for readers */
        model.freed_at[q] = model.own[q] == OWN_LIVE ? e->txid : 0;
        model.own[q] = OWN_NONE;
    }
    model.units[k] = model.units[--model.nunits];
}

/* After a commit: the freelist and the model account for every page. */
static void model_check(struct env *e)
{
    struct dump d = take(e->fl);
    struct fl_counts c;
    static unsigned char seen[MODEL_PAGES];
    uint64_t free_pages = 0, owned = 0;

    memset(seen, 0, sizeof seen);
    cr_assert_eq(d.page_count, e->page_count);
    for (size_t i = 0; i < d.n; i++) {
        cr_assert_neq(d.e[i].txid, UINT64_MAX, "txn pages after commit");
        for (uint64_t p = d.e[i].pgno; p < d.e[i].pgno + d.e[i].count; p++) {
            cr_assert(p >= 2 && p < e->page_count, "[seed %llu] free page %llu out of bounds",
                      seed_used, (unsigned long long)p);
            cr_assert(!seen[p], "[seed %llu] page %llu free twice", seed_used,
                      (unsigned long long)p);
            cr_assert_eq(model.own[p], OWN_NONE, "[seed %llu] page %llu free and owned", seed_used,
                         (unsigned long long)p);
            if (d.e[i].txid != 0)
                cr_assert_eq(model.freed_at[p], d.e[i].txid, "[seed %llu] page %llu pending tag",
                             seed_used, (unsigned long long)p);
            seen[p] = 1;
            free_pages++;
        }
    }
    for (uint64_t p = 0; p < MODEL_PAGES; p++) {
        if (model.own[p] != OWN_NONE) {
            cr_assert_lt(p, e->page_count);
            owned++;
        }
        if (p >= e->page_count)
            model.freed_at[p] = 0; /* cut off the file: fresh when it grows again */
    }
    /* F3: allocated + free = page_count - 2 */
    cr_assert_eq(owned + free_pages, e->page_count - 2,
                 "[seed %llu] %llu owned + %llu free != %llu", seed_used, (unsigned long long)owned,
                 (unsigned long long)free_pages, (unsigned long long)(e->page_count - 2));
    fl_counts(e->fl, &c);
    cr_assert_eq(c.reusable + c.pending, free_pages);
    cr_assert_eq(c.ranges, d.n);
    cr_assert_eq(c.chain_pages, e->npages);
    dump_free(&d);
}

static void model_commit(struct env *e, int abort_after_prepare)
{
    uint64_t root, npages, page_count, newchain = 0;

    FL_OK(fl_txn_prepare(e->fl, e->pg, &root, &npages, &page_count));
    for (uint64_t p = 0; p < MODEL_PAGES; p++)
        if (model.own[p] == OWN_CHAIN) {
            model.own[p] = OWN_NONE; /* the old chain is pending as of this txn */
            model.freed_at[p] = e->txid;
        }
    fl_txn_foreach(e->fl, mark_txn_page, &newchain);
    cr_assert_eq(newchain, npages, "[seed %llu] chain pages", seed_used);
    cr_assert(npages == 0 || model.own[root] == OWN_NEWCHAIN);
    if (abort_after_prepare)
        return;
    fl_txn_commit(e->fl);
    for (uint64_t p = 0; p < MODEL_PAGES; p++)
        if (model.own[p] == OWN_TXN)
            model.own[p] = OWN_LIVE;
        else if (model.own[p] == OWN_NEWCHAIN)
            model.own[p] = OWN_CHAIN;
    e->root = root;
    e->npages = npages;
    e->page_count = page_count;
    e->committed = e->txid;
    model_check(e);
}

static void model_readers(struct env *e)
{
    if (model.nreaders < 4 && below(10) == 0)
        model.readers[model.nreaders++] = e->committed;
    if (model.nreaders > 0 && below(8) == 0) {
        size_t k = below(model.nreaders);
        model.readers[k] = model.readers[--model.nreaders];
    }
}

static uint64_t model_oldest(struct env *e)
{
    uint64_t oldest = e->committed;
    for (size_t i = 0; i < model.nreaders; i++)
        if (model.readers[i] < oldest)
            oldest = model.readers[i];
    return oldest;
}

Test(freelist_model, random_steps)
{
    struct env e;
    int steps = 0, commits = 0;

    seed_rng();
    memset(&model, 0, sizeof model);
    env_init(&e, 4096);
    for (int t = 0; t < 700; t++) {
        model_readers(&e);
        uint64_t oldest = model_oldest(&e);
        struct dump before = take(e.fl);
        model_saved = model;
        begin(&e, oldest);
        int ops = 1 + (int)below(16);
        for (int i = 0; i < ops; i++, steps++) {
            /* hover around 600 live units: the freelist fragments */
            int grow = model.nunits < 600 ? below(100) < 60 : below(100) < 40;
            if (grow || model.nunits == 0)
                model_alloc(&e, oldest);
            else
                model_free(&e);
        }
        uint64_t r = below(100);
        if (r < 10 || r >= 95) {
            if (r >= 95)
                model_commit(&e, 1);
            fl_txn_abort(e.fl);
            model = model_saved;
            struct dump after = take(e.fl);
            dump_eq(&before, &after, "abort");
            dump_free(&after);
        } else {
            model_commit(&e, 0);
            if (++commits % 40 == 0) { /* through the disk and back: a reopen */
                int rc;
                struct freelist *fl = reload(&e, &rc);
                FL_OK(rc);
                check_reload(&e);
                fl_destroy(e.fl);
                e.fl = fl;
                /* no reader outlives its process: every free page is reusable */
                model.nreaders = 0;
                memset(model.freed_at, 0, sizeof model.freed_at);
            }
        }
        dump_free(&before);
    }
    cr_assert_geq(steps, 3000);
    cr_assert_geq(commits, 400);
    env_fini(&e);
}
