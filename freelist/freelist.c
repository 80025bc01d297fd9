/*
 * freelist.c — the freelist's transaction rules: begin, alloc, free, commit,
 * abort, and the read-only queries (freelist.h).
 *
 * Called by the engine's write transaction (one thread, the writer); readers
 * never touch the freelist. The on-disk chain is persist.c's business. This
 * file never does I/O and never reads a page. Every function that can fail
 * allocates everything it needs before it changes the state, or works on a
 * state it can swap back (state.h), so a failure leaves the state as it was.
 *
 * Misuse by the caller (a double free, freeing a meta page or a page past the
 * end, alloc/free outside a txn or after prepare) is a programmer error: it
 * asserts in debug builds and returns FFDB_EINVAL otherwise, without touching
 * the state.
 */
#include "freelist/freelist.h"

#include <assert.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "freelist/state.h"

int fl_misuse_asserts = 1;

/* ---- State helpers (state.h) ------------------------------------------------ */

void flstate_init(struct flstate *st)
{
    memset(st, 0, sizeof(*st));
    st->page_count = FL_FIRST_PGNO;
    rset_init(&st->reusable);
    rset_init(&st->index);
    rset_init(&st->txn);
}

void flstate_free(struct flstate *st)
{
    for (size_t i = 0; i < st->ngroups; i++)
        rset_free(&st->groups[i].set);
    mem_free(st->groups);
    rset_free(&st->reusable);
    rset_free(&st->index);
    rset_free(&st->txn);
    flstate_init(st);
}

int flstate_copy(struct flstate *dst, const struct flstate *src)
{
    flstate_init(dst);
    dst->page_count = src->page_count;
    if (src->ngroups > 0) {
        dst->groups = mem_calloc(src->ngroups, sizeof(*dst->groups));
        if (!dst->groups)
            goto fail;
        dst->gcap = src->ngroups;
    }
    for (size_t i = 0; i < src->ngroups; i++) {
        dst->groups[i].txid = src->groups[i].txid;
        dst->ngroups++; /* counted first: flstate_free must see it */
        if (rset_copy(&dst->groups[i].set, &src->groups[i].set) < 0)
            goto fail;
    }
    if (rset_copy(&dst->reusable, &src->reusable) < 0 || rset_copy(&dst->index, &src->index) < 0 ||
        rset_copy(&dst->txn, &src->txn) < 0)
        goto fail;
    return 0;
fail:
    flstate_free(dst);
    return FFDB_ENOMEM;
}

/* 1 if [pgno, pgno + count) lies inside one range of s. */
static int covered(const struct rset *s, uint64_t pgno, uint64_t count)
{
    size_t i = rset_lower(s, pgno);
    return i < s->n && s->r[i].pgno <= pgno && range_end(&s->r[i]) >= pgno + count;
}

/* 1 if every range of s is in the index, and adds its pages to *pages. */
static int in_index(const struct flstate *st, const struct rset *s, uint64_t *pages)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!covered(&st->index, s->r[i].pgno, s->r[i].count))
            return 0;
        *pages += s->r[i].count;
    }
    return 1;
}

/* Checks without allocating (it runs inside allocation-failure tests). It
 * proves every free range is in the index and that the page totals agree;
 * overlap between two sets is left to the tests' model. */
int flstate_valid(const struct flstate *st)
{
    uint64_t pages = 0;

    if (st->page_count < FL_FIRST_PGNO || st->page_count > FL_PAGE_COUNT_MAX)
        return 0;
    if (!rset_valid(&st->index) || !rset_valid(&st->reusable) || !rset_valid(&st->txn))
        return 0;
    /* F1: free pages and txn pages lie in [2, page_count). */
    if (st->index.n > 0 && (st->index.r[0].pgno < FL_FIRST_PGNO ||
                            range_end(&st->index.r[st->index.n - 1]) > st->page_count))
        return 0;
    if (st->txn.n > 0 && (st->txn.r[0].pgno < FL_FIRST_PGNO ||
                          range_end(&st->txn.r[st->txn.n - 1]) > st->page_count))
        return 0;
    if (!in_index(st, &st->reusable, &pages))
        return 0;
    for (size_t g = 0; g < st->ngroups; g++) {
        const struct pgroup *p = &st->groups[g];
        if (!rset_valid(&p->set) || p->set.n == 0 || (g > 0 && p->txid <= p[-1].txid))
            return 0;
        if (!in_index(st, &p->set, &pages))
            return 0;
    }
    /* A page the txn holds is not free at the same time. */
    for (size_t i = 0; i < st->txn.n; i++)
        if (rset_overlaps(&st->index, st->txn.r[i].pgno, st->txn.r[i].count))
            return 0;
    return rset_pages(&st->index) == pages;
}

uint64_t fl_entry_count(const struct flstate *st)
{
    return st->index.n; /* the chain holds the merged free set (persist.c) */
}

/* ---- Lifecycle ---------------------------------------------------------------- */

int fl_create(struct freelist **out)
{
    struct freelist *fl;

    assert(out);
    fl = mem_calloc(1, sizeof(*fl));
    if (!fl)
        return FFDB_ENOMEM;
    flstate_init(&fl->cur);
    flstate_init(&fl->saved);
    rset_init(&fl->chain);
    rset_init(&fl->new_chain);
    *out = fl;
    return 0;
}

void fl_destroy(struct freelist *fl)
{
    if (!fl)
        return;
    flstate_free(&fl->cur);
    flstate_free(&fl->saved);
    rset_free(&fl->chain);
    rset_free(&fl->new_chain);
    mem_free(fl);
}

uint64_t fl_page_count(const struct freelist *fl)
{
    return fl->cur.page_count;
}

uint64_t fl_root(const struct freelist *fl)
{
    return fl->root;
}

uint64_t fl_root_pages(const struct freelist *fl)
{
    return fl->npages;
}

/* ---- Transactions ------------------------------------------------------------- */

/* Move every pending group freed by a txn <= oldest into reusable: no live
 * reader can see those pages any more, and no meta a crash may bring back
 * reaches them (F2). Groups are sorted by txid, so they are a prefix. The
 * index does not change: the pages stay free. */
static int release_pending(struct flstate *st, uint64_t oldest)
{
    size_t k = 0, n = 0, at = 0;
    struct range *add;
    int rc;

    while (k < st->ngroups && st->groups[k].txid <= oldest)
        n += st->groups[k++].set.n;
    if (k == 0)
        return 0;
    add = mem_alloc(n * sizeof(*add));
    if (!add)
        return FFDB_ENOMEM;
    for (size_t g = 0; g < k; g++) {
        memcpy(&add[at], st->groups[g].set.r, st->groups[g].set.n * sizeof(*add));
        at += st->groups[g].set.n;
    }
    rc = rset_union(&st->reusable, add, n);
    mem_free(add);
    if (rc < 0)
        return rc;
    for (size_t g = 0; g < k; g++)
        rset_free(&st->groups[g].set);
    memmove(st->groups, &st->groups[k], (st->ngroups - k) * sizeof(*st->groups));
    st->ngroups -= k;
    return 0;
}

int fl_txn_begin(struct freelist *fl, uint64_t txid, uint64_t oldest)
{
    const struct flstate *st = &fl->cur;
    int rc;

    if (fl->txid != 0 || txid == 0 || oldest >= txid)
        return FL_MISUSE("fl_txn_begin: txn active or bad txid");
    if (st->ngroups > 0 && st->groups[st->ngroups - 1].txid >= txid)
        return FL_MISUSE("fl_txn_begin: txid not above the pending groups");
    assert(st->txn.n == 0 && !fl->prepared);
    assert(flstate_valid(st));
    /* F4: the saved copy is what abort restores. */
    CHECK(flstate_copy(&fl->saved, &fl->cur));
    rc = release_pending(&fl->cur, oldest);
    if (rc < 0) {
        flstate_free(&fl->cur);
        fl->cur = fl->saved;
        flstate_init(&fl->saved);
        return rc;
    }
    fl->txid = txid;
    assert(flstate_valid(&fl->cur));
    return 0;
}

/* 1 if some barrier lies in [lo, hi). */
static int barrier_in(const uint64_t *barriers, size_t n, uint64_t lo, uint64_t hi)
{
    for (size_t i = 0; i < n; i++)
        if (barriers[i] >= lo && barriers[i] < hi)
            return 1;
    return 0;
}

int fl_merge_pending(struct freelist *fl, const uint64_t *barriers, size_t n)
{
    struct flstate *st = &fl->cur;
    size_t keep = 0;

    if (fl->txid == 0 || fl->prepared)
        return FL_MISUSE("fl_merge_pending outside a txn or after prepare");
    /* The current txn has no group yet, or freed pages already: merge only
     * committed groups (a group of this txn is never merged into). */
    for (size_t g = 0; g < st->ngroups; g++) {
        struct pgroup *cur = &st->groups[g];
        int last = g + 1 == st->ngroups || st->groups[g + 1].txid == fl->txid;
        if (!last && !barrier_in(barriers, n, cur->txid, st->groups[g + 1].txid)) {
            /* F5: released together with the next group; move into it. */
            struct pgroup *next = &st->groups[g + 1];
            int swapped = cur->set.n > next->set.n, rc;
            if (swapped) { /* union the smaller set into the larger */
                struct rset t = cur->set;
                cur->set = next->set;
                next->set = t;
            }
            rc = rset_union(&next->set, cur->set.r, cur->set.n);
            if (rc < 0) {
                if (swapped) { /* each group's own pages back under its txid */
                    struct rset t = cur->set;
                    cur->set = next->set;
                    next->set = t;
                }
                memmove(&st->groups[keep], cur, (st->ngroups - g) * sizeof(*cur));
                st->ngroups = keep + (st->ngroups - g);
                assert(flstate_valid(st));
                return rc;
            }
            rset_free(&cur->set);
            continue;
        }
        st->groups[keep++] = *cur;
    }
    st->ngroups = keep;
    assert(flstate_valid(st));
    return 0;
}

void fl_txn_commit(struct freelist *fl)
{
    assert(fl->txid != 0 && fl->prepared);
    if (fl->prepared) {
        rset_free(&fl->chain);
        fl->chain = fl->new_chain;
        rset_init(&fl->new_chain);
        fl->root = fl->new_root;
        fl->npages = fl->new_npages;
    }
    flstate_free(&fl->saved);
    rset_free(&fl->cur.txn);
    fl->txid = 0;
    fl->prepared = 0;
    assert(flstate_valid(&fl->cur));
}

void fl_txn_abort(struct freelist *fl)
{
    if (fl->txid == 0)
        return;
    /* F4: back to exactly the state fl_txn_begin() saw; its txn set was empty. */
    flstate_free(&fl->cur);
    fl->cur = fl->saved;
    flstate_init(&fl->saved);
    rset_free(&fl->new_chain);
    fl->txid = 0;
    fl->prepared = 0;
    assert(fl->cur.txn.n == 0 && flstate_valid(&fl->cur));
}

/* ---- Allocation ---------------------------------------------------------------- */

int fl_alloc_pages(struct freelist *fl, uint64_t count, uint64_t *pgno, int *reused)
{
    struct flstate *st = &fl->cur;
    size_t i = rset_first_fit(&st->reusable, count);
    uint64_t p;

    assert(count > 0 && fl->txid != 0);
    /* Room first (R2), so nothing below can fail half-way. */
    CHECK(rset_reserve(&st->txn, 1));
    if (i < st->reusable.n) {
        /* F1/F2: only reusable pages are handed out; never a pending one. */
        CHECK(rset_reserve(&st->index, 1));
        p = st->reusable.r[i].pgno;
        (void)rset_remove(&st->reusable, p, count); /* from the front: no split */
        (void)rset_remove(&st->index, p, count);
        *reused = 1;
    } else {
        if (count > FL_PAGE_COUNT_MAX - st->page_count)
            return ERR_RAISE(FFDB_ENOSPC, PGNO_NONE, "file would exceed %llu pages",
                             (unsigned long long)FL_PAGE_COUNT_MAX);
        p = st->page_count;
        st->page_count += count;
        *reused = 0;
    }
    (void)rset_add(&st->txn, p, count); /* F3: the txn holds it until it frees it */
    /* F1: inside the file, past the metas, and no longer free. */
    assert(p >= FL_FIRST_PGNO && p + count <= st->page_count);
    assert(!rset_overlaps(&st->index, p, count));
    *pgno = p;
    return 0;
}

int fl_alloc(struct freelist *fl, size_t count, uint64_t *pgno, int *reused)
{
    int dummy;

    if (fl->txid == 0 || fl->prepared || count == 0 || !pgno)
        return FL_MISUSE("fl_alloc outside a txn, after prepare, or of 0 pages");
    return fl_alloc_pages(fl, count, pgno, reused ? reused : &dummy);
}

/* The pending group of the current txn (always the last: its txid is the
 * highest), created if missing. *created says whether to drop it on failure. */
static struct pgroup *own_group(struct freelist *fl, int *created)
{
    struct flstate *st = &fl->cur;
    struct pgroup *g;

    *created = 0;
    if (st->ngroups > 0 && st->groups[st->ngroups - 1].txid == fl->txid)
        return &st->groups[st->ngroups - 1];
    if (st->ngroups == st->gcap) {
        size_t cap = st->gcap ? st->gcap * 2 : 8;
        g = mem_realloc(st->groups, cap * sizeof(*g));
        if (!g)
            return NULL;
        st->groups = g;
        st->gcap = cap;
    }
    g = &st->groups[st->ngroups++];
    g->txid = fl->txid;
    rset_init(&g->set);
    *created = 1;
    return g;
}

/* The txn ranges that meet [pgno, end): [*first, *first + return value).
 * *mine receives how many pages of [pgno, end) they hold. */
static size_t txn_pieces(const struct rset *txn, uint64_t pgno, uint64_t end, size_t *first,
                         uint64_t *mine)
{
    size_t i = rset_lower(txn, pgno), j = i;

    *mine = 0;
    for (; j < txn->n && txn->r[j].pgno < end; j++) {
        uint64_t lo = txn->r[j].pgno > pgno ? txn->r[j].pgno : pgno;
        uint64_t hi = range_end(&txn->r[j]) < end ? range_end(&txn->r[j]) : end;
        *mine += hi - lo;
    }
    *first = i;
    return j - i;
}

int fl_free_pages(struct freelist *fl, uint64_t pgno, uint64_t count)
{
    struct flstate *st = &fl->cur;
    uint64_t end = pgno + count, at = pgno, mine;
    size_t first, k = txn_pieces(&st->txn, pgno, end, &first, &mine);
    struct pgroup *g = NULL;
    int created = 0, rc;

    /* F1, checked by fl_free (or the committed chain, persist.c). */
    assert(count > 0 && pgno >= FL_FIRST_PGNO && end <= st->page_count && end > pgno);
    assert(!rset_overlaps(&st->index, pgno, count));
    /* Room first (R2): k pieces go to reusable, up to k + 1 gaps to pending. */
    if ((rc = rset_reserve(&st->reusable, k)) < 0 || (rc = rset_reserve(&st->index, 1)) < 0 ||
        (rc = rset_reserve(&st->txn, 1)) < 0)
        return rc;
    if (mine < count) {
        g = own_group(fl, &created);
        if (!g)
            return FFDB_ENOMEM;
        if ((rc = rset_reserve(&g->set, k + 1)) < 0) {
            if (created) /* never leave an empty group behind */
                st->ngroups--;
            return rc;
        }
    }
    for (size_t i = first; i < first + k; i++) {
        const struct range *r = &st->txn.r[i];
        uint64_t lo = r->pgno > pgno ? r->pgno : pgno;
        uint64_t hi = range_end(r) < end ? range_end(r) : end;
        if (lo > at) /* committed pages: a reader may still see them (F2) */
            (void)rset_add(&g->set, at, lo - at);
        (void)rset_add(&st->reusable, lo, hi - lo); /* never committed: nobody sees them */
        at = hi;
    }
    if (at < end)
        (void)rset_add(&g->set, at, end - at);
    (void)rset_add(&st->index, pgno, count);
    (void)rset_remove(&st->txn, pgno, count);
    assert(!rset_overlaps(&st->txn, pgno, count)); /* a page is free or the txn's, not both */
    return 0;
}

int fl_free(struct freelist *fl, uint64_t pgno, size_t count)
{
    const struct flstate *st = &fl->cur;

    if (fl->txid == 0 || fl->prepared || count == 0)
        return FL_MISUSE("fl_free outside a txn, after prepare, or of 0 pages");
    /* F1: only pages in [2, page_count) that are not free already, and not
     * the committed chain (persist.c frees that itself). Page numbers come
     * from the file's trees, so a violation is a damaged file (a tree and
     * the freelist disagree), never an assertion. */
    if (pgno < FL_FIRST_PGNO || pgno >= st->page_count || count > st->page_count - pgno)
        return ERR_CORRUPT(pgno, "freeing pages %llu+%zu: outside the file",
                           (unsigned long long)pgno, count);
    if (rset_overlaps(&st->index, pgno, count))
        return ERR_CORRUPT(pgno, "page %llu is in a tree and in the freelist",
                           (unsigned long long)pgno);
    if (rset_overlaps(&fl->chain, pgno, count))
        return ERR_CORRUPT(pgno, "page %llu is in a tree and in the freelist chain",
                           (unsigned long long)pgno);
    return fl_free_pages(fl, pgno, count);
}

/* ---- Queries ------------------------------------------------------------------- */

int fl_is_txn_page(const struct freelist *fl, uint64_t pgno)
{
    return rset_contains(&fl->cur.txn, pgno);
}

int fl_txn_foreach(const struct freelist *fl, int (*fn)(void *arg, uint64_t pgno, uint64_t count),
                   void *arg)
{
    for (size_t i = 0; i < fl->cur.txn.n; i++) {
        int rc = fn(arg, fl->cur.txn.r[i].pgno, fl->cur.txn.r[i].count);
        if (rc)
            return rc;
    }
    return 0;
}

int fl_txn_freed_foreach(const struct freelist *fl,
                         int (*fn)(void *arg, uint64_t pgno, uint64_t count), void *arg)
{
    const struct flstate *st = &fl->cur;
    const struct pgroup *g;

    /* The txn's own group is the last one, if it freed anything (own_group). */
    if (fl->txid == 0 || st->ngroups == 0 || st->groups[st->ngroups - 1].txid != fl->txid)
        return 0;
    g = &st->groups[st->ngroups - 1];
    for (size_t i = 0; i < g->set.n; i++) {
        int rc = fn(arg, g->set.r[i].pgno, g->set.r[i].count);
        if (rc)
            return rc;
    }
    return 0;
}

void fl_counts(const struct freelist *fl, struct fl_counts *out)
{
    const struct flstate *st = &fl->cur;

    memset(out, 0, sizeof(*out));
    out->reusable = rset_pages(&st->reusable);
    out->ranges = st->reusable.n;
    for (size_t g = 0; g < st->ngroups; g++) {
        out->pending += rset_pages(&st->groups[g].set);
        out->ranges += st->groups[g].set.n;
    }
    out->groups = st->ngroups;
    out->chain_pages = fl->npages;
}

int fl_foreach(const struct freelist *fl,
               int (*fn)(void *arg, uint64_t pgno, uint64_t count, uint64_t txid), void *arg)
{
    const struct flstate *st = &fl->cur;
    int rc;

    for (size_t i = 0; i < st->reusable.n; i++)
        if ((rc = fn(arg, st->reusable.r[i].pgno, st->reusable.r[i].count, 0)) != 0)
            return rc;
    for (size_t g = 0; g < st->ngroups; g++) {
        const struct pgroup *p = &st->groups[g];
        for (size_t i = 0; i < p->set.n; i++)
            if ((rc = fn(arg, p->set.r[i].pgno, p->set.r[i].count, p->txid)) != 0)
                return rc;
    }
    return 0;
}
