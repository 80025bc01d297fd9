/*
 * persist.c — the freelist on disk: fl_txn_prepare() writes the chain of
 * PAGE_FREELIST pages, fl_load() reads and verifies it (format.h).
 *
 * Called by the engine at commit (prepare) and at open (load). Talks only to
 * the pager: pages go out through pager_write_pages() (which seals them) and
 * come in through pager_read_page() (which verifies checksum and pgno). Never
 * syncs (the engine orders syncs around the meta write) and never trusts a
 * byte it read: every field is checked before use, and the walk of the chain
 * is bounded by the page count the meta names.
 *
 * Serialized layout: one stream of 16-byte entries over the chain, in order.
 * The writer stores the merged free set (st->index: reusable and pending
 * together), ascending by pgno, without markers. Which transaction freed a
 * pending page matters only while a reader that may see it lives, and
 * readers live in the process that holds the file's lock: once the file is
 * reopened, every free page is reusable. Storing the pending groups would
 * rewrite every group each commit, and the freed chain would join the next
 * group, so a long-lived reader would make the chain (and the file) grow
 * quadratically with the commits; the merged set grows only with the number
 * of free ranges. The loader also accepts markers {0, txid}, each opening a
 * pending group (files written before this change); their ranges become
 * reusable at the first write transaction, like the rest. A page's count
 * says how many entries it holds; any page may hold fewer than fit, even
 * none.
 */
#include "freelist/freelist.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/bytes.h"
#include "common/error.h"
#include "common/format.h"
#include "freelist/state.h"
#include "pager/pager.h"

/* Alignment of page buffers for direct I/O. */
#define FL_IO_ALIGN 4096u

static uint64_t entries_per_page(unsigned page_size)
{
    return (page_size - PAGE_HEADER_SIZE) / FREELIST_ENTRY_SIZE;
}

/* ---- Writing ------------------------------------------------------------------- */

/* Free the committed chain into this txn's pending group: the durable meta
 * still names it until the new meta is, and a crash must find it intact.
 * F3: once the new meta names the new chain, the old one is in the freelist. */
static int free_old_chain(struct freelist *fl)
{
    for (size_t i = 0; i < fl->chain.n; i++)
        CHECK(fl_free_pages(fl, fl->chain.r[i].pgno, fl->chain.r[i].count));
    return 0;
}

/* Shrink page_count over reusable ranges at the end of the file. Pending
 * ranges stay: a reader may still read them. F3 holds as the cut pages leave
 * both [2, page_count) and the freelist. */
static void cut_tail(struct flstate *st)
{
    while (st->reusable.n > 0) {
        struct range *last = &st->reusable.r[st->reusable.n - 1];
        if (range_end(last) != st->page_count)
            break;
        st->page_count = last->pgno;
        /* The tail of an index range: removing it never splits. */
        (void)rset_remove(&st->index, last->pgno, last->count);
        st->reusable.n--;
    }
    assert(st->page_count >= FL_FIRST_PGNO);
}

/* Allocate the chain pages into *pages (mem_alloc'd). Allocating a page
 * takes the first page of a reusable range; in the merged set that may split
 * a range whose front is pending, one more entry per page at most, so
 * ceil(entries / per_page) is re-checked as it moves and settles quickly. */
static int alloc_chain(struct freelist *fl, uint64_t per_page, uint64_t **pages, uint64_t *npages)
{
    uint64_t *v = NULL, n = 0, cap = 0;
    int reused, rc = 0;

    while (n < (fl_entry_count(&fl->cur) + per_page - 1) / per_page) {
        if (n == cap) {
            uint64_t *w;
            cap = cap ? cap * 2 : 4;
            w = mem_realloc(v, cap * sizeof(*v));
            if (!w) {
                rc = FFDB_ENOMEM;
                break;
            }
            v = w;
        }
        if ((rc = fl_alloc_pages(fl, 1, &v[n], &reused)) < 0)
            break;
        assert(n == 0 || v[n] > v[n - 1]); /* first fit climbs: the chain ascends */
        n++;
    }
    if (rc < 0) {
        mem_free(v);
        return rc;
    }
    assert(n * per_page >= fl_entry_count(&fl->cur)); /* room for every entry */
    *pages = v;
    *npages = n;
    return 0;
}

/* The entry stream, one entry at a time (see the file comment). */
struct entry_cursor {
    const struct rset *set;
    size_t i;
};

static int next_entry(struct entry_cursor *c, uint64_t *a, uint64_t *b)
{
    if (c->i >= c->set->n)
        return 0;
    *a = c->set->r[c->i].pgno;
    *b = c->set->r[c->i].count;
    c->i++;
    return 1;
}

/* Fill npages pages of buf with the entries and write them. */
static int write_chain(struct freelist *fl, struct pager *pg, const uint64_t *pgnos,
                       uint64_t npages)
{
    unsigned ps = pager_page_size(pg);
    uint64_t per_page = entries_per_page(ps), a, b;
    struct entry_cursor c = {&fl->cur.index, 0};
    struct pager_page *pages = mem_calloc(npages, sizeof(*pages));
    uint8_t *buf = mem_alloc_aligned(FL_IO_ALIGN, npages * ps);
    int more = 1, rc;

    assert(npages > 0 && fl->txid != 0);
    if (!pages || !buf) {
        rc = FFDB_ENOMEM;
        goto out;
    }
    memset(buf, 0, npages * ps);
    for (uint64_t p = 0; p < npages; p++) {
        uint8_t *page = buf + p * ps;
        uint16_t count = 0;
        while (count < per_page && (more = next_entry(&c, &a, &b)) != 0) {
            st64(page + PAGE_HEADER_SIZE + count * FREELIST_ENTRY_SIZE, a);
            st64(page + PAGE_HEADER_SIZE + count * FREELIST_ENTRY_SIZE + 8, b);
            count++;
        }
        st64(page + PH_PGNO, pgnos[p]);
        st64(page + PH_TXID, fl->txid);
        page[PH_KIND] = PAGE_FREELIST;
        st16(page + PH_COUNT, count);
        st64(page + PH_NEXT, p + 1 < npages ? pgnos[p + 1] : 0);
        pages[p] = (struct pager_page){pgnos[p], page};
    }
    assert(!more || !next_entry(&c, &a, &b)); /* everything fit */
    rc = pager_write_pages(pg, pages, npages);
out:
    mem_free(pages);
    mem_free_aligned(buf);
    return rc;
}

/* The steps of prepare on fl->cur; the caller undoes them on failure. */
static int prepare_steps(struct freelist *fl, struct pager *pg, struct rset *chain)
{
    uint64_t *pgnos = NULL, npages = 0;
    int rc;

    CHECK(free_old_chain(fl));
    cut_tail(&fl->cur);
    CHECK(alloc_chain(fl, entries_per_page(pager_page_size(pg)), &pgnos, &npages));
    rc = rset_reserve(chain, npages);
    for (uint64_t p = 0; rc == 0 && p < npages; p++)
        rc = rset_add(chain, pgnos[p], 1);
    if (rc == 0 && npages > 0)
        rc = write_chain(fl, pg, pgnos, npages);
    fl->new_root = npages > 0 ? pgnos[0] : 0;
    fl->new_npages = npages;
    mem_free(pgnos);
    return rc;
}

int fl_txn_prepare(struct freelist *fl, struct pager *pg, uint64_t *root, uint64_t *npages,
                   uint64_t *page_count)
{
    struct rset chain;
    int rc;

    if (fl->txid == 0 || fl->prepared || !pg)
        return FL_MISUSE("fl_txn_prepare outside a txn or twice");
    FL_ASSERT_VALID(&fl->cur);
    /* Work on cur; a failure swaps the copy back (state.h). The copy lives
     * in fl->spare, whose arrays serve the next commit too. */
    CHECK(flstate_copy(&fl->spare, &fl->cur));
    rset_init(&chain);
    rc = prepare_steps(fl, pg, &chain);
    if (rc < 0) {
        flstate_swap(&fl->cur, &fl->spare);
        rset_free(&chain);
        return rc;
    }
    rset_free(&fl->new_chain);
    fl->new_chain = chain;
    fl->prepared = 1;
    *root = fl->new_root;
    *npages = fl->new_npages;
    *page_count = fl->cur.page_count;
    FL_ASSERT_VALID(&fl->cur);
    return 0;
}

/* ---- Loading ------------------------------------------------------------------- */

/* A range (or chain page) seen while loading, with the page that named it. */
struct seen {
    uint64_t pgno, count, src;
    int chain; /* a chain page, not a free range */
};

struct loader {
    struct pager *pg;
    uint64_t page_count, meta_txid;
    struct flstate *st;
    struct rset *set;  /* where ranges go: reusable or the last group */
    struct seen *seen; /* every range and chain page, for the overlap check */
    size_t nseen, cap;
};

static int note_seen(struct loader *l, uint64_t pgno, uint64_t count, uint64_t src, int chain)
{
    if (l->nseen == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct seen *s = mem_realloc(l->seen, cap * sizeof(*s));
        if (!s)
            return FFDB_ENOMEM;
        l->seen = s;
        l->cap = cap;
    }
    l->seen[l->nseen++] = (struct seen){pgno, count, src, chain};
    return 0;
}

/* A marker {0, txid}: a new pending group. */
static int load_marker(struct loader *l, uint64_t txid, uint64_t src)
{
    struct flstate *st = l->st;
    uint64_t prev = st->ngroups > 0 ? st->groups[st->ngroups - 1].txid : 0;

    if (txid <= prev || txid > l->meta_txid)
        return ERR_CORRUPT(src, "freelist marker txid %llu not in (%llu, %llu]",
                           (unsigned long long)txid, (unsigned long long)prev,
                           (unsigned long long)l->meta_txid);
    if (st->ngroups > 0 && st->groups[st->ngroups - 1].set.n == 0)
        rset_free(&st->groups[--st->ngroups].set); /* an empty group says nothing */
    if (st->ngroups == st->gcap) {
        size_t cap = st->gcap ? st->gcap * 2 : 8;
        struct pgroup *g = mem_realloc(st->groups, cap * sizeof(*g));
        if (!g)
            return FFDB_ENOMEM;
        st->groups = g;
        st->gcap = cap;
    }
    st->groups[st->ngroups].txid = txid;
    rset_init(&st->groups[st->ngroups].set);
    l->set = &st->groups[st->ngroups++].set;
    return 0;
}

/* A range {pgno, count} of the current set. */
static int load_range(struct loader *l, uint64_t pgno, uint64_t count, uint64_t src)
{
    uint64_t prev_end = l->set->n > 0 ? range_end(&l->set->r[l->set->n - 1]) : 0;

    /* F1: inside [2, page_count). */
    if (count == 0 || pgno < FL_FIRST_PGNO || pgno >= l->page_count || count > l->page_count - pgno)
        return ERR_CORRUPT(src, "freelist range %llu+%llu outside [2, %llu)",
                           (unsigned long long)pgno, (unsigned long long)count,
                           (unsigned long long)l->page_count);
    if (pgno < prev_end)
        return ERR_CORRUPT(src, "freelist range %llu+%llu out of order", (unsigned long long)pgno,
                           (unsigned long long)count);
    CHECK(note_seen(l, pgno, count, src, 0));
    return rset_add(l->set, pgno, count); /* appends (or merges with the last) */
}

/* Check page pgno's header and take its entries. *next receives PH_NEXT. */
static int load_page(struct loader *l, uint64_t pgno, const uint8_t *page, uint64_t *next)
{
    unsigned ps = pager_page_size(l->pg);
    uint64_t txid = ld64(page + PH_TXID);
    unsigned count = ld16(page + PH_COUNT);

    if (page[PH_KIND] != PAGE_FREELIST)
        return ERR_CORRUPT(pgno, "freelist chain page has kind %u", page[PH_KIND]);
    if (txid > l->meta_txid)
        return ERR_CORRUPT(pgno, "freelist page txid %llu is newer than the meta's %llu",
                           (unsigned long long)txid, (unsigned long long)l->meta_txid);
    if (count > entries_per_page(ps))
        return ERR_CORRUPT(pgno, "freelist page count %u exceeds %llu", count,
                           (unsigned long long)entries_per_page(ps));
    CHECK(note_seen(l, pgno, 1, pgno, 1));
    for (unsigned e = 0; e < count; e++) {
        const uint8_t *ent = page + PAGE_HEADER_SIZE + e * FREELIST_ENTRY_SIZE;
        uint64_t a = ld64(ent), b = ld64(ent + 8);
        CHECK(a == 0 ? load_marker(l, b, pgno) : load_range(l, a, b, pgno));
    }
    *next = ld64(page + PH_NEXT);
    return 0;
}

/* Walk exactly npages pages from root; a longer chain or a cycle never ends
 * with next = 0 within the bound and is reported. */
static int walk_chain(struct loader *l, uint64_t root, uint64_t npages, uint8_t *buf)
{
    uint64_t pgno = root, prev = PGNO_NONE;

    for (uint64_t i = 0; i < npages; i++) {
        if (pgno < FL_FIRST_PGNO || pgno >= l->page_count)
            return ERR_CORRUPT(prev, "freelist chain %s page %llu outside [2, %llu)",
                               i == 0 ? "starts at" : "leads to", (unsigned long long)pgno,
                               (unsigned long long)l->page_count);
        CHECK(pager_read_page(l->pg, pgno, buf));
        prev = pgno;
        CHECK(load_page(l, pgno, buf, &pgno));
        if (pgno == 0 && i + 1 < npages)
            return ERR_CORRUPT(prev, "freelist chain ends after %llu of %llu pages",
                               (unsigned long long)(i + 1), (unsigned long long)npages);
    }
    if (pgno != 0)
        return ERR_CORRUPT(prev, "freelist chain longer than the %llu pages of the meta",
                           (unsigned long long)npages);
    return 0;
}

static int seen_cmp(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    return x->pgno < y->pgno ? -1 : x->pgno > y->pgno;
}

/* F1 across sets: no range overlaps another or a chain page (a page the
 * chain visits twice included). Then build the index (the union of the
 * ranges) and the chain set, both from the sorted list. */
static int check_overlaps(struct loader *l, struct rset *chain)
{
    if (l->nseen > 1)
        qsort(l->seen, l->nseen, sizeof(*l->seen), seen_cmp);
    for (size_t i = 1; i < l->nseen; i++) {
        const struct seen *p = &l->seen[i - 1], *q = &l->seen[i];
        if (q->pgno < p->pgno + p->count)
            return ERR_CORRUPT(q->src, "freelist: page %llu is also in %llu+%llu (from page %llu)",
                               (unsigned long long)q->pgno, (unsigned long long)p->pgno,
                               (unsigned long long)p->count, (unsigned long long)p->src);
    }
    CHECK(rset_reserve(&l->st->index, l->nseen));
    CHECK(rset_reserve(chain, l->nseen));
    for (size_t i = 0; i < l->nseen; i++) {
        const struct seen *s = &l->seen[i];
        /* Sorted and disjoint: each add appends or merges with the last. */
        (void)rset_add(s->chain ? chain : &l->st->index, s->pgno, s->count);
    }
    return 0;
}

int fl_load(struct pager *pg, uint64_t root, uint64_t npages, uint64_t page_count,
            uint64_t meta_txid, struct freelist **out)
{
    struct freelist *fl = NULL;
    struct loader l = {pg, page_count, meta_txid, NULL, NULL, NULL, 0, 0};
    uint8_t *buf = NULL;
    int rc;

    assert(pg && out);
    if (page_count < FL_FIRST_PGNO || page_count > FL_PAGE_COUNT_MAX)
        return ERR_CORRUPT(PGNO_NONE, "page count %llu out of range",
                           (unsigned long long)page_count);
    if ((root == 0) != (npages == 0) || npages > page_count)
        return ERR_CORRUPT(PGNO_NONE, "freelist root %llu with %llu pages",
                           (unsigned long long)root, (unsigned long long)npages);
    CHECK(fl_create(&fl));
    fl->cur.page_count = page_count;
    l.st = &fl->cur;
    l.set = &fl->cur.reusable;
    buf = npages > 0 ? mem_alloc_aligned(FL_IO_ALIGN, pager_page_size(pg)) : NULL;
    if (npages > 0 && !buf) {
        rc = FFDB_ENOMEM;
        goto out;
    }
    if ((rc = walk_chain(&l, root, npages, buf)) < 0)
        goto out;
    if (fl->cur.ngroups > 0 && fl->cur.groups[fl->cur.ngroups - 1].set.n == 0)
        rset_free(&fl->cur.groups[--fl->cur.ngroups].set);
    if ((rc = check_overlaps(&l, &fl->chain)) < 0)
        goto out;
    fl->root = root;
    fl->npages = npages;
out:
    mem_free_aligned(buf);
    mem_free(l.seen);
    if (rc < 0) {
        fl_destroy(fl);
        return rc;
    }
    assert(flstate_valid(&fl->cur));
    *out = fl;
    return 0;
}
