/*
 * clist.c — the one-flush durable commit: commit lists (format.h).
 *
 * A commit used to write its pages, sync, write its meta and sync again,
 * because a meta must never be durable before a page it reaches. Here a
 * commit writes its pages, then a list of every page it wrote with the
 * checksum each was sealed with, and its meta naming that list, and syncs
 * once. After a power loss the meta may be on disk while some of its pages
 * are not (or are torn, or stale: an older write of the same page); open
 * reads the list and takes the meta only if every listed page carries
 * exactly its listed checksum, and otherwise the other meta. Called by
 * txn.c's commit (clist_commit) and db.c's open (clist_choose). It never
 * writes outside the commit it is given and never writes at open.
 *
 * Why the other meta is then safe to take without further proof:
 *  C1. At most one commit is in flight, and it is the newest: commit T
 *      begins only after commit T - 1's sync returned, or, with
 *      NOMETASYNC, writes its meta only once meta T - 1 is durable (E10 in
 *      db.h). So when meta T fails its list, meta T - 1 (the other slot)
 *      was durable, with its pages. (FFDB_DEFERSYNC: every commit since the
 *      last sync is in flight, and the other slot holds the synced meta the
 *      failing one names as its base, D1-D3.)
 *  C2. Commit T never writes a page meta T - 1 reaches (E1) nor one of
 *      T - 1's list: those pages are freed by T (begin_write) and pending
 *      until T is durable (E6, F2), so only T + 1 may reuse them, after
 *      T's sync — when T - 1 is no longer needed.
 *  C3. The list names the pages the commit allocated and still holds
 *      (fl_txn_foreach) — every page its meta reaches that no earlier
 *      durable commit wrote — with the checksum of their last write (the
 *      pager's seal log). A page written twice in the txn (spilled, then
 *      written again) is listed with its last checksum, so a lost second
 *      write is caught even though the first one carries the same txid.
 *  C4. A page the log does not know (never written: a bug, or the log
 *      overflowed) or a commit of more than CLIST_MAX_ENTRIES pages makes
 *      the commit take two flushes: it is never listed with a guess.
 *  C5. The list pages are ordinary pages of the txn, allocated before
 *      fl_txn_prepare (clist_reserve, sized by a guess), so the chain it
 *      writes never names them free; the next commit frees them
 *      (ffdb_begin_write), and they are reused like any page.
 *  C6. Falling back is right only for a commit cut short by a crash; the
 *      same damage after a clean close is corruption of a durable commit
 *      and must be reported, not undone. So ffdb_close rewrites the older
 *      meta (T - 1, whose state is still whole: nothing reuses what T
 *      freed before T + 1 begins) with confirmed = T and syncs; open takes
 *      meta T without its list when the other meta confirms it, and a bad
 *      page is FFDB_CORRUPT when read, as before. A torn rewrite leaves
 *      meta T alone, checked against its list with nothing to fall back
 *      to: a damaged page is then refused as corruption too. No txid is
 *      spent and the rewrite is one page and one sync, at close only.
 */
#include <assert.h>
#include <string.h>

#include "bufpool/pool.h"
#include "common/alloc.h"
#include "common/bytes.h"
#include "common/error.h"
#include "common/format.h"
#include "engine/db.h"
#include "freelist/freelist.h"
#include "pager/pager.h"

#define VERIFY_RUN_PAGES 64u /* pages per read while verifying a list */

static uint64_t entries_per_page(unsigned page_size)
{
    return (page_size - PAGE_HEADER_SIZE) / CLIST_ENTRY_SIZE;
}

/* ---- building a list at commit --------------------------------------------------- */

struct collect {
    struct pager *pg;
    uint8_t *entries; /* CLIST_ENTRY_SIZE each, cap of them */
    size_t count, cap;
    int give_up;                     /* C4 */
    uint64_t skip_first, skip_pages; /* the list's own pages */
};

static int count_range(void *arg, uint64_t pgno, uint64_t count)
{
    (void)pgno;
    *(uint64_t *)arg += count;
    return 0;
}

/* Entries for every page of the txn but the list's own. */
static int collect_range(void *arg, uint64_t pgno, uint64_t count)
{
    struct collect *c = arg;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t sum, p = pgno + i;
        if (p >= c->skip_first && p < c->skip_first + c->skip_pages)
            continue;
        if (c->count == c->cap)
            return 1; /* C4: more than the list holds */
        if (pager_log_find(c->pg, p, &sum) != 0) {
            c->give_up = 1; /* C4 */
            return 1;
        }
        st64(c->entries + c->count * CLIST_ENTRY_SIZE + CLIST_ENTRY_PGNO, p);
        st64(c->entries + c->count * CLIST_ENTRY_SIZE + CLIST_ENTRY_SUM, sum);
        c->count++;
    }
    return 0;
}

/* Fill the list pages at buf for txid (ascending pgnos: fl_txn_foreach's order). */
static void encode_pages(const struct collect *c, uint64_t first, uint64_t npages, uint64_t txid,
                         unsigned ps, uint8_t *buf, struct pager_page *pages)
{
    uint64_t per = entries_per_page(ps);
    size_t at = 0;
    memset(buf, 0, npages * ps);
    for (uint64_t p = 0; p < npages; p++) {
        uint8_t *page = buf + p * ps;
        size_t n = c->count - at < per ? c->count - at : per;
        st64(page + PH_PGNO, first + p);
        st64(page + PH_TXID, txid);
        page[PH_KIND] = PAGE_COMMIT;
        st16(page + PH_COUNT, (uint16_t)n);
        st64(page + PH_NEXT, p);
        memcpy(page + PAGE_HEADER_SIZE, c->entries + at * CLIST_ENTRY_SIZE, n * CLIST_ENTRY_SIZE);
        at += n;
        pages[p] = (struct pager_page){first + p, page};
    }
    assert(at == c->count);
}

int clist_reserve(ffdb_txn *txn)
{
    ffdb *db = txn->db;
    uint64_t total = 0, per = entries_per_page(db->page_size), npages, first;
    int reused;

    if (!db->oneflush)
        return 0;
    /* C5: what the txn holds now, plus the freelist chain prepare will
     * write (about the size of the last one); a short guess only costs
     * this commit its one flush (clist_commit). */
    fl_txn_foreach(db->fl, count_range, &total);
    total += fl_root_pages(db->fl) + 2;
    total += defer_carried(db); /* D3: and what earlier unsynced commits wrote */
    npages = (total + per - 1) / per;
    if (npages > CLIST_MAX_PAGES)
        return 0; /* C4: a large commit takes two flushes, without a list */
    CHECK(fl_alloc(db->fl, (size_t)npages, &first, &reused));
    if (first <= 2) {
        /* Page 2 runs on from meta 1, and the list never goes out in one
         * run with the meta (meta_write_with): take the next fit and give
         * this run back; pages of this txn are reusable at once. */
        uint64_t again;
        CHECK(fl_alloc(db->fl, (size_t)npages, &again, &reused));
        CHECK(fl_free(db->fl, first, (size_t)npages));
        first = again;
    }
    assert(first > 2);
    txn->meta.clist_first = first;
    txn->meta.clist_pages = npages;
    return 0;
}

int clist_commit(ffdb_txn *txn, uint8_t *meta_page)
{
    ffdb *db = txn->db;
    unsigned ps = db->page_size;
    uint64_t first = txn->meta.clist_first, npages = txn->meta.clist_pages;
    struct collect c = {db->pager, NULL, 0, 0, 0, first, npages};
    struct pager_page pages[CLIST_MAX_PAGES];
    uint8_t *buf = NULL;
    int rc, partial;

    if (first == 0)
        return 1; /* C4: no list */
    assert(npages >= 1 && npages <= CLIST_MAX_PAGES);
    c.cap = npages * entries_per_page(ps);
    c.entries = mem_alloc(c.cap * CLIST_ENTRY_SIZE);
    buf = mem_alloc_aligned(4096, npages * ps);
    if (!c.entries || !buf) {
        rc = ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "no memory for the commit list");
        goto out;
    }
    /* C4: a page the log does not know, or more than the list holds: the
     * list goes out with what it holds and the commit takes two flushes
     * (its pages are synced before the meta, so what it lists is there). */
    partial = fl_txn_foreach(db->fl, collect_range, &c) != 0;
    txn->meta.clist_entries = c.count;
    for (uint64_t p = 0; p < npages; p++)
        pool_discard(db->pool, first + p); /* no stale frame of an older use */
    encode_pages(&c, first, npages, txn->meta.txid, ps, buf, pages);
    if (partial) {
        rc = pager_write_pages(db->pager, pages, npages);
        if (rc == 0)
            rc = 1;
        goto out; /* the handle lives on after a failed write: no meta went out */
    }
    /* E10: deferred, the meta before this one must be durable first; a
     * failed sync there has failed the handle already (E3). */
    if (db->nometasync) {
        rc = ffdb_sync(db);
        if (rc < 0)
            goto out;
    }
    rc = meta_write_with(db->pager, &txn->meta, meta_page, pages, npages);
    /* The pager allocates before it writes: ENOMEM means no byte of the
     * batch reached the file, and the last commit stands. */
    if (rc == FFDB_ENOMEM)
        goto out;
    if (rc == 0 && !db->nometasync)
        rc = pager_sync(db->pager, 0); /* the one flush */
    if (rc < 0)
        db_set_failed(db); /* E3: a valid meta of this txid may be on disk */
out:
    mem_free_aligned(buf);
    mem_free(c.entries);
    return rc;
}

/* ---- verifying a list at open ---------------------------------------------------- */

static int not_as_listed(uint64_t pgno, const struct meta *m, const char *why)
{
    return ERR_CORRUPT(pgno, "commit %llu is incomplete: page %llu %s", (unsigned long long)m->txid,
                       (unsigned long long)pgno, why);
}

/* Check the listed pages of one list page (entries at e, n of them) against
 * the file, reading runs of consecutive pages. *last is the previous
 * entry's pgno (ascending across the list). */
static int verify_entries(struct pager *pg, const struct meta *m, const uint8_t *e, size_t n,
                          uint64_t *last, uint8_t *run)
{
    unsigned ps = m->page_size;
    size_t i = 0;
    while (i < n) {
        uint64_t pgno = ld64(e + i * CLIST_ENTRY_SIZE + CLIST_ENTRY_PGNO);
        size_t len = 1;
        int rc;
        if (pgno < 2 || pgno >= m->page_count || pgno <= *last ||
            (pgno >= m->clist_first && pgno < m->clist_first + m->clist_pages))
            return not_as_listed(pgno, m, "is listed out of order or out of bounds");
        while (i + len < n && len < VERIFY_RUN_PAGES &&
               ld64(e + (i + len) * CLIST_ENTRY_SIZE + CLIST_ENTRY_PGNO) == pgno + len)
            len++;
        rc = pager_read_run(pg, pgno, len, run);
        if (rc < 0)
            return rc; /* FFDB_CORRUPT names a torn or short page */
        for (size_t k = 0; k < len; k++)
            if (ld64(run + k * ps) != ld64(e + (i + k) * CLIST_ENTRY_SIZE + CLIST_ENTRY_SUM))
                return not_as_listed(pgno + k, m, "does not hold what the commit wrote");
        *last = pgno + len - 1;
        i += len;
    }
    return 0;
}

int clist_verify(struct pager *pg, const struct meta *m)
{
    unsigned ps = m->page_size;
    uint64_t per = entries_per_page(ps), seen = 0, last = 1;
    uint8_t *list, *run;
    int rc;

    assert(m->clist_first != 0 && m->clist_pages <= CLIST_MAX_PAGES); /* meta_decode */
    assert(pager_page_size(pg) == ps);
    list = mem_alloc_aligned(4096, (size_t)m->clist_pages * ps + (size_t)VERIFY_RUN_PAGES * ps);
    if (!list)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "no memory to verify the commit list");
    run = list + m->clist_pages * ps;
    rc = pager_read_run(pg, m->clist_first, m->clist_pages, list);
    for (uint64_t p = 0; rc == 0 && p < m->clist_pages; p++) {
        const uint8_t *page = list + p * ps;
        uint64_t n = ld16(page + PH_COUNT);
        if (page[PH_KIND] != PAGE_COMMIT || ld64(page + PH_TXID) != m->txid ||
            ld64(page + PH_NEXT) != p || n > per || n > m->clist_entries - seen)
            rc = not_as_listed(m->clist_first + p, m, "is not its commit list page");
        else
            rc = verify_entries(pg, m, page + PAGE_HEADER_SIZE, n, &last, run);
        seen += n;
    }
    if (rc == 0 && seen != m->clist_entries)
        rc = not_as_listed(m->clist_first, m, "(the list) is short of entries");
    mem_free_aligned(list);
    return rc;
}

int clist_choose(struct pager *pg, uint64_t file_bytes, const struct meta cand[2], int count,
                 struct meta *out)
{
    assert(count >= 1 && count <= 2);
    for (int i = 0; i < count; i++) {
        const struct meta *m = &cand[i];
        int confirmed = i == 0 && count == 2 && cand[1].confirmed == m->txid; /* C6 */
        if (m->clist_first != 0 && !confirmed) {
            int rc;
            pager_set_page_size(pg, m->page_size);
            uint64_t base = m->base != 0 ? m->base - 1 : m->txid - 1; /* format.h */
            rc = clist_verify(pg, m);
            if (rc == FFDB_CORRUPT && i + 1 < count && cand[i + 1].txid == base) {
                /* C1: the commit in flight at a crash (D3: or one of those
                 * since the last sync); the other meta stands */
                err_clear();
                continue;
            }
            if (rc < 0)
                return rc;
        } else if (m->page_count * m->page_size > file_bytes) {
            /* Every page such a meta names was synced before it was
             * written (or confirmed since, C6), so a file shorter than it
             * was cut afterwards: say so rather than silently fall back
             * to an older commit. */
            return ERR_CORRUPT(m->page_count - 1,
                               "file is truncated: %llu bytes, but commit %llu needs %llu pages",
                               (unsigned long long)file_bytes, (unsigned long long)m->txid,
                               (unsigned long long)m->page_count);
        }
        *out = *m;
        return 0;
    }
    return ERR_CORRUPT(0, "no complete commit in the file");
}

void clist_confirm_at_close(ffdb *db)
{
    struct meta m = db->prev_meta;
    uint8_t *page;

    /* Nothing to do when the other slot confirms this commit already (a
     * handle that committed nothing since an open after a clean close). */
    if (db->meta.clist_first == 0 || m.page_size == 0 || m.txid + 1 != db->meta.txid ||
        m.confirmed == db->meta.txid || db->failed || pager_failed(db->pager))
        return;
    page = mem_alloc_aligned(4096, db->page_size);
    if (!page)
        return;
    m.confirmed = db->meta.txid;
    /* E7: the other slot, the one the last commit did not use. */
    if (meta_write(db->pager, &m, page) == 0)
        (void)pager_sync(db->pager, 0);
    mem_free_aligned(page);
}
