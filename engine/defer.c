/*
 * defer.c — the FFDB_DEFERSYNC commit: commits that sync nothing, made
 * durable all at once by the next ffdb_sync (D1-D6 in db.h).
 *
 * It owns the list of pages written since the last sync that the last
 * commit's meta reaches, with the checksum each was sealed with, and
 * writes it as that commit's commit list (format.h), so that open can tell
 * whether the whole state of the newest meta reached the disk (clist.c
 * verifies it). Called by txn.c's commit in place of clist_commit, by the
 * writer only, and by the commit's publication under meta_lock. It never
 * syncs unless a list would not fit (D3), and never writes the slot of the
 * last synced meta (D1).
 */
#include <assert.h>
#include <string.h>

#include "common/alloc.h"
#include "common/bytes.h"
#include "common/error.h"
#include "common/format.h"
#include "bufpool/pool.h"
#include "engine/db.h"
#include "freelist/freelist.h"
#include "pager/pager.h"

struct entry {
    uint64_t pgno, sum;
};

/* Three lists of at most CLIST_MAX_ENTRIES, allocated once per handle:
 * carried (the last commit's list), kept (carried minus what this commit
 * freed), mine (this commit's own pages); the new list is built into
 * next and swapped with carried at publication. */
struct defer {
    struct entry *all; /* the one allocation of the four lists */
    struct entry *carried, *kept, *mine, *next;
    size_t ncarried, nkept, nmine, nnext;
    int pending;          /* next holds the list of a meta that is out */
    uint64_t keep_pages;  /* D5 */
    uint8_t *pages;       /* CLIST_MAX_PAGES page buffers for the list */
};

int defer_open(ffdb *db)
{
    struct defer *d = mem_calloc(1, sizeof(*d));
    if (!d)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "no memory for the deferred-sync list");
    db->defer = d;
    d->all = mem_alloc(4 * CLIST_MAX_ENTRIES * sizeof(struct entry));
    d->pages = mem_alloc_aligned(4096, (size_t)CLIST_MAX_PAGES * PAGE_SIZE_MAX);
    if (!d->all || !d->pages)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "no memory for the deferred-sync list");
    d->carried = d->all;
    d->kept = d->carried + CLIST_MAX_ENTRIES;
    d->mine = d->kept + CLIST_MAX_ENTRIES;
    d->next = d->mine + CLIST_MAX_ENTRIES;
    d->keep_pages = db->meta.page_count;
    return 0;
}

void defer_close(ffdb *db)
{
    struct defer *d = db->defer;
    if (!d)
        return;
    mem_free(d->all);
    mem_free_aligned(d->pages);
    mem_free(d);
    db->defer = NULL;
}

size_t defer_carried(const ffdb *db)
{
    return db->defer ? db->defer->ncarried : 0;
}

uint64_t defer_keep_pages(const ffdb *db)
{
    return db->defer ? db->defer->keep_pages : 0;
}

/* ---- building the list ------------------------------------------------------- */

struct drop {
    struct defer *d;
    size_t at; /* next carried entry to look at */
};

/* kept = carried without the pages this commit freed (both ascending). */
static int drop_freed(void *arg, uint64_t pgno, uint64_t count)
{
    struct drop *x = arg;
    struct defer *d = x->d;
    while (x->at < d->ncarried && d->carried[x->at].pgno < pgno)
        d->kept[d->nkept++] = d->carried[x->at++];
    while (x->at < d->ncarried && d->carried[x->at].pgno < pgno + count)
        x->at++;
    return 0;
}

struct mine {
    struct defer *d;
    struct pager *pg;
    uint64_t skip_first, skip_pages; /* the list's own pages */
};

/* mine = the pages this commit allocated and wrote, with their last seal. */
static int collect_mine(void *arg, uint64_t pgno, uint64_t count)
{
    struct mine *x = arg;
    for (uint64_t p = pgno; p < pgno + count; p++) {
        uint64_t sum;
        if (p >= x->skip_first && p < x->skip_first + x->skip_pages)
            continue;
        if (x->d->nmine == CLIST_MAX_ENTRIES || pager_log_find(x->pg, p, &sum) != 0)
            return 1; /* C4: too many, or a page the log does not know */
        x->d->mine[x->d->nmine++] = (struct entry){p, sum};
    }
    return 0;
}

/* next = kept + mine, merged; 0, or 1 when it does not fit cap. */
static int build_list(ffdb_txn *txn, struct defer *d, size_t cap)
{
    ffdb *db = txn->db;
    struct drop x = {d, 0};
    struct mine m = {d, db->pager, txn->meta.clist_first, txn->meta.clist_pages};
    size_t i = 0, j = 0;

    d->nkept = d->nmine = d->nnext = 0;
    (void)fl_txn_freed_foreach(db->fl, drop_freed, &x);
    while (x.at < d->ncarried)
        d->kept[d->nkept++] = d->carried[x.at++];
    if (fl_txn_foreach(db->fl, collect_mine, &m) != 0 || d->nkept + d->nmine > cap)
        return 1;
    while (i < d->nkept || j < d->nmine) {
        int take_kept = j == d->nmine || (i < d->nkept && d->kept[i].pgno < d->mine[j].pgno);
        /* D2: a carried page is not free, so this commit cannot have taken it. */
        assert(i == d->nkept || j == d->nmine || d->kept[i].pgno != d->mine[j].pgno);
        d->next[d->nnext++] = take_kept ? d->kept[i++] : d->mine[j++];
    }
    return 0;
}

/* Fill the list pages for txn from next[0..n) (format.h). */
static void encode_list(ffdb_txn *txn, struct defer *d, size_t n, struct pager_page *out)
{
    unsigned ps = txn->db->page_size;
    uint64_t first = txn->meta.clist_first, per = (ps - PAGE_HEADER_SIZE) / CLIST_ENTRY_SIZE;
    size_t at = 0;

    memset(d->pages, 0, txn->meta.clist_pages * ps);
    for (uint64_t p = 0; p < txn->meta.clist_pages; p++) {
        uint8_t *page = d->pages + p * ps;
        size_t k = n - at < per ? n - at : per;
        st64(page + PH_PGNO, first + p);
        st64(page + PH_TXID, txn->meta.txid);
        page[PH_KIND] = PAGE_COMMIT;
        st16(page + PH_COUNT, (uint16_t)k);
        st64(page + PH_NEXT, p);
        for (size_t e = 0; e < k; e++) {
            st64(page + PAGE_HEADER_SIZE + e * CLIST_ENTRY_SIZE + CLIST_ENTRY_PGNO,
                 d->next[at + e].pgno);
            st64(page + PAGE_HEADER_SIZE + e * CLIST_ENTRY_SIZE + CLIST_ENTRY_SUM,
                 d->next[at + e].sum);
        }
        at += k;
        out[p] = (struct pager_page){first + p, page};
    }
    assert(at == n);
    txn->meta.clist_entries = n;
}

/* ---- the commit ---------------------------------------------------------------- */

/* D4: meta_writing off again (a failed commit), waking a waiting ffdb_sync. */
static void release_meta(ffdb *db)
{
    pthread_mutex_lock(&db->meta_lock);
    db->meta_writing = 0;
    pthread_cond_broadcast(&db->sync_done);
    pthread_mutex_unlock(&db->meta_lock);
}

/* D3: the list does not fit. Sync every page written so far and the last
 * meta, so D moves to it; the list goes out empty (the meta names it). */
static int sync_first(ffdb *db, struct defer *d)
{
    int rc = pager_sync(db->pager, 0);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&db->meta_lock);
    assert(db->durable_txid <= db->meta.txid);
    db->durable_txid = db->meta.txid; /* E5: its meta was written before the sync */
    db->durable_slot = db->meta.slot;
    pthread_mutex_unlock(&db->meta_lock);
    d->ncarried = d->nnext = 0;
    d->keep_pages = db->meta.page_count;
    return 0;
}

int defer_commit(ffdb_txn *txn, uint8_t *meta_page)
{
    ffdb *db = txn->db;
    struct defer *d = db->defer;
    struct pager_page pages[CLIST_MAX_PAGES];
    uint64_t per = (db->page_size - PAGE_HEADER_SIZE) / CLIST_ENTRY_SIZE;
    size_t cap = (size_t)(txn->meta.clist_pages * per);
    int rc, all_durable, fits;

    assert(db->defersync && d && !d->pending && txn->meta.clist_pages <= CLIST_MAX_PAGES);
    if (cap > CLIST_MAX_ENTRIES)
        cap = CLIST_MAX_ENTRIES;
    /* D4: no sync at the disk while the meta goes out, none begins before
     * the commit is published. */
    pthread_mutex_lock(&db->meta_lock);
    while (!db->failed && db->sync_busy)
        pthread_cond_wait(&db->sync_done, &db->meta_lock);
    rc = db->failed;
    if (rc == 0)
        db->meta_writing = 1;
    all_durable = db->durable_txid == db->meta.txid;
    pthread_mutex_unlock(&db->meta_lock);
    if (rc)
        return ERR_RAISE(FFDB_EFAILED, PGNO_NONE, "an earlier sync failed; reopen the database");
    if (all_durable) { /* the last sync covered every carried page */
        d->ncarried = 0;
        d->keep_pages = db->meta.page_count;
    }
    fits = txn->meta.clist_first != 0 && build_list(txn, d, cap) == 0;
    if (!fits) {
        rc = sync_first(db, d);
        if (rc < 0) {
            release_meta(db); /* E3: the failed sync failed the pager too */
            db_set_failed(db);
            return rc;
        }
    }
    if (txn->meta.clist_first != 0)
        encode_list(txn, d, d->nnext, pages);
    /* D1: the slot the last synced meta is not in; D3: fall back to it. */
    pthread_mutex_lock(&db->meta_lock);
    txn->meta.slot = 1 - db->durable_slot;
    txn->meta.base = db->durable_txid + 1; /* format.h: 0 means txid - 1 */
    pthread_mutex_unlock(&db->meta_lock);
    if (txn->meta.clist_first != 0)
        for (uint64_t p = 0; p < txn->meta.clist_pages; p++)
            pool_discard(db->pool, txn->meta.clist_first + p); /* no stale frame of an older use */
    rc = meta_write_with(db->pager, &txn->meta, meta_page, pages,
                         txn->meta.clist_first != 0 ? txn->meta.clist_pages : 0);
    if (rc < 0) {
        release_meta(db);
        /* ENOMEM: no byte of the batch reached the file (the pager
         * allocates first); else a valid meta of this txid may be out. */
        if (rc != FFDB_ENOMEM)
            db_set_failed(db);
        return rc;
    }
    if (txn->meta.page_count > d->keep_pages)
        d->keep_pages = txn->meta.page_count;
    d->pending = 1;
    return 0;
}

void defer_publish(ffdb *db)
{
    struct defer *d = db->defer;
    struct entry *t = d->carried;
    assert(d->pending && db->meta_writing);
    d->carried = d->next;
    d->ncarried = d->nnext;
    d->next = t;
    d->nnext = 0;
    d->pending = 0;
    db->meta_writing = 0;
    pthread_cond_broadcast(&db->sync_done);
}
