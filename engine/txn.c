/*
 * txn.c — beginning and ending transactions: the reader table, the writer
 * lock, the commit sequence, and ffdb_sync (see the state diagram in db.h).
 *
 * Read transactions touch shared state only here, under meta_lock, at
 * their beginning and end; their lookups take no engine lock at all.
 * ffdb_sync runs on any thread beside the writer: it never takes
 * write_lock, and holds meta_lock only around its bookkeeping (E5).
 */
#include <assert.h>
#include <string.h>

#include "bufpool/pool.h"
#include "common/alloc.h"
#include "common/error.h"
#include "engine/db.h"
#include "freelist/freelist.h"
#include "pager/pager.h"

/* Take a reader slot holding txid (E4). Caller holds meta_lock. */
static int reader_add(ffdb *db, uint64_t txid, unsigned *slot)
{
    if (db->reader_count == db->reader_cap) {
        unsigned cap = db->reader_cap ? db->reader_cap * 2 : 16;
        uint64_t *r;
        if (db->reader_cap >= FFDB_MAX_READERS)
            return ERR_RAISE(FFDB_ETOOMANY, PGNO_NONE, "%u read transactions are live",
                             db->reader_count);
        r = mem_realloc(db->readers, cap * sizeof(*r));
        if (!r)
            return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot grow the reader table");
        for (unsigned i = db->reader_cap; i < cap; i++)
            r[i] = READER_FREE;
        db->readers = r;
        db->reader_cap = cap;
    }
    assert(db->reader_count < db->reader_cap);
    for (unsigned i = 0; i < db->reader_cap; i++) {
        if (db->readers[i] == READER_FREE) {
            db->readers[i] = txid;
            db->reader_count++;
            *slot = i;
            return 0;
        }
    }
    return ERR_RAISE(FFDB_ETOOMANY, PGNO_NONE, "reader table full");
}

/* What fl_txn_begin may release pending pages up to (E6, F2): the oldest
 * snapshot any reader holds, or the newest durable commit if that is
 * older — the last commit unless its meta is still unsynced. Caller holds
 * meta_lock. */
static uint64_t oldest_visible(const ffdb *db)
{
    uint64_t oldest = db->durable_txid;
    assert(oldest <= db->meta.txid); /* E5 */
    for (unsigned i = 0; i < db->reader_cap; i++)
        if (db->readers[i] != READER_FREE && db->readers[i] < oldest)
            oldest = db->readers[i];
    return oldest;
}

/* The txids oldest_visible() may still return below the last commit (F5
 * in freelist.h): every live snapshot and the durable txid, into out; or
 * SIZE_MAX when there are more than MERGE_BARRIERS_MAX (no merging then).
 * Caller holds meta_lock. */
#define MERGE_BARRIERS_MAX 64u
static size_t barriers_of(const ffdb *db, uint64_t *out)
{
    size_t n = 0;

    if (db->reader_count + 1 > MERGE_BARRIERS_MAX)
        return SIZE_MAX;
    out[n++] = db->durable_txid;
    for (unsigned i = 0; i < db->reader_cap; i++)
        if (db->readers[i] != READER_FREE)
            out[n++] = db->readers[i];
    return n;
}

int ffdb_begin_read(ffdb *db, ffdb_txn **out)
{
    ffdb_txn *txn;
    int rc;

    if (!db || !out)
        return FFDB_EINVAL;
    *out = NULL;
    txn = mem_calloc(1, sizeof(*txn));
    if (!txn)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate a transaction");
    txn->db = db;
    pthread_mutex_lock(&db->meta_lock);
    rc = reader_add(db, db->meta.txid, &txn->reader_slot);
    txn->meta = db->meta;
    /* E4: the slot holds the snapshot's txid before the snapshot is used. */
    assert(rc < 0 || db->readers[txn->reader_slot] == txn->meta.txid);
    pthread_mutex_unlock(&db->meta_lock);
    if (rc < 0) {
        mem_free(txn);
        return rc;
    }
    /* A read txn's bt_txn allocates nothing, so this cannot fail. */
    bt_txn_init(&txn->bt, db->pool, NULL, txn->meta.txid, txn->meta.page_count);
    *out = txn;
    return 0;
}

int ffdb_begin_write(ffdb *db, ffdb_txn **out)
{
    ffdb_txn *txn;
    uint64_t oldest, barriers[MERGE_BARRIERS_MAX];
    size_t nbar;
    int rc;

    if (!db || !out)
        return FFDB_EINVAL;
    *out = NULL;
    if (db->flags & FFDB_RDONLY)
        return ERR_RAISE(FFDB_EREADONLY, PGNO_NONE, "the database was opened read-only");
    txn = mem_calloc(1, sizeof(*txn));
    if (!txn)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate a transaction");
    pthread_mutex_lock(&db->write_lock);
    if (DB_DEBUG_CHECK)
        db_debug_check_begin(db); /* its reader ends before oldest is taken */
    pthread_mutex_lock(&db->meta_lock);
    rc = db->failed; /* E3: ffdb_sync may have set it on another thread */
    oldest = oldest_visible(db);
    nbar = barriers_of(db, barriers);
    pthread_mutex_unlock(&db->meta_lock);
    if (rc) {
        rc = ERR_RAISE(FFDB_EFAILED, PGNO_NONE, "an earlier sync failed; reopen the database");
        goto fail;
    }
    txn->db = db;
    txn->write = 1;
    txn->meta = db->meta;
    txn->meta.txid = db->meta.txid + 1;
    txn->meta.catalog.version = 0; /* txn_changed() watches it move */
    txn->meta.slot = 1 - db->meta.slot; /* E7 (DEFERSYNC picks at its meta write, D1) */
    txn->meta.base = 0;
    /* E6, F2: fl_txn_begin releases nothing a reader or a crash may need. */
    assert(oldest <= db->meta.txid && oldest < txn->meta.txid);
    rc = fl_txn_begin(db->fl, txn->meta.txid, oldest);
    if (rc < 0)
        goto fail;
    /* F5: under a long-lived reader the pending groups stay few. Best
     * effort: too many readers or no memory leaves them as they are. */
    if (nbar != SIZE_MAX)
        (void)fl_merge_pending(db->fl, barriers, nbar);
    /* C2 (clist.c): the last commit's list is needed only until this
     * commit is durable; freed now, it is pending until then. */
    txn->meta.clist_first = txn->meta.clist_pages = txn->meta.clist_entries = 0;
    txn->meta.confirmed = 0;
    if (db->meta.clist_first != 0) {
        rc = fl_free(db->fl, db->meta.clist_first, db->meta.clist_pages);
        if (rc < 0) {
            fl_txn_abort(db->fl);
            goto fail;
        }
    }
    rc = bt_txn_init(&txn->bt, db->pool, db->fl, txn->meta.txid, 0);
    if (rc < 0) {
        fl_txn_abort(db->fl);
        goto fail;
    }
    if (db->oneflush)
        pager_log_begin(db->pager, CLIST_LOG_MAX);
    *out = txn;
    return 0;
fail:
    pthread_mutex_unlock(&db->write_lock);
    mem_free(txn);
    return rc;
}

uint64_t ffdb_txn_id(const ffdb_txn *txn)
{
    return txn ? txn->meta.txid : 0;
}

/* Free every bucket, cursor and bulk handle of txn. */
void txn_free_handles(ffdb_txn *txn)
{
    while (txn->cursors) {
        struct ffdb_cursor *c = txn->cursors;
        txn->cursors = c->next;
        bt_cursor_release(&c->c);
        mem_free(c);
    }
    while (txn->bulks) {
        struct ffdb_bulk *b = txn->bulks;
        txn->bulks = b->next;
        bt_bulk_abort(b->b);
        mem_free(b);
    }
    while (txn->buckets) {
        struct ffdb_bucket *b = txn->buckets;
        txn->buckets = b->next;
        mem_free(b->name);
        mem_free(b);
    }
}

int db_discard_range(void *arg, uint64_t pgno, uint64_t count)
{
    struct pool *pool = arg;
    for (uint64_t i = 0; i < count; i++)
        pool_discard(pool, pgno + i);
    return 0;
}

/* Throw away a write txn: its frames (dirty or re-read) and its freelist changes. */
static void write_txn_discard(ffdb_txn *txn)
{
    ffdb *db = txn->db;
    assert(txn->write);
    txn_free_handles(txn);
    /* An aborted bulk load waited for its writes; nothing may stay in flight
     * into the next txn, which may reuse those pages. */
    (void)pager_write_drain(db->pager);
    assert(pager_writes_in_flight(db->pager) == 0); /* B3; a drain forgets failed ones too */
    bt_txn_release(&txn->bt);
    fl_txn_foreach(db->fl, db_discard_range, db->pool);
    fl_txn_abort(db->fl);
    pager_log_end(db->pager);
    pthread_mutex_unlock(&db->write_lock);
    mem_free(txn);
}

void ffdb_abort(ffdb_txn *txn)
{
    ffdb *db;
    if (!txn)
        return;
    db = txn->db;
    if (txn->write) {
        write_txn_discard(txn);
        return;
    }
    txn_free_handles(txn);
    bt_txn_release(&txn->bt);
    pthread_mutex_lock(&db->meta_lock);
    assert(db->reader_count > 0 && db->readers[txn->reader_slot] == txn->meta.txid); /* E4 */
    db->readers[txn->reader_slot] = READER_FREE;
    db->reader_count--;
    pthread_mutex_unlock(&db->meta_lock);
    mem_free(txn);
}

void db_set_failed(ffdb *db)
{
    pthread_mutex_lock(&db->meta_lock);
    db->failed = FFDB_EFAILED;
    pthread_mutex_unlock(&db->meta_lock);
}

/* E5: every meta written before a sync that succeeded is durable. */
static void note_durable(ffdb *db, uint64_t txid)
{
    pthread_mutex_lock(&db->meta_lock);
    assert(txid <= db->meta.txid); /* E5: only metas that were written */
    if (db->durable_txid < txid)
        db->durable_txid = txid;
    pthread_mutex_unlock(&db->meta_lock);
}

/* Shrink the file when much of its tail is unused (after large deletes).
 * E8: not below a page count the previous meta names while it is the one
 * a power loss may bring back. */
static void maybe_truncate(ffdb *db)
{
    uint64_t file_pages, used = db->meta.page_count;
    if (db->nometasync && db->prev_page_count > used)
        used = db->prev_page_count;
    if (db->defersync && defer_keep_pages(db) > used)
        used = defer_keep_pages(db); /* D5 */
    assert(used >= db->meta.page_count && used >= 2); /* E8 */
    if (pager_file_pages(db->pager, &file_pages) < 0)
        return;
    if (file_pages > used + used / 4 + 64)
        pager_truncate(db->pager, used); /* best effort: the meta is what counts */
}

/* The durable part of a commit: E2 ordering, E3 on failure. */
static int commit_write(ffdb_txn *txn)
{
    ffdb *db = txn->db;
    uint8_t *meta_page = mem_alloc_aligned(4096, db->page_size);
    int rc;

    if (!meta_page)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate the meta page");
    /* E7: the slot this meta goes to is the one the last commit did not use. */
    assert(txn->meta.txid == db->meta.txid + 1 && (db->defersync || txn->meta.slot != db->meta.slot));

    /* E2: every asynchronous write (the bulk loader's) has completed before
     * the sync that must cover it. finish/abort of a bulk load already
     * waited for its own, so this finds nothing in flight. */
    rc = pager_write_drain(db->pager);
    /* Grow the file ahead in chunks, so most commits keep its size and
     * fdatasync suffices; a commit that grew it gets a full fsync. */
    if (rc == 0)
        rc = pager_reserve(db->pager, txn->meta.page_count);
    /* Every dirty frame belongs to this txn (P3): flush them all in one
     * pass of large batches rather than range by range, which with
     * scattered page reuse meant one small synchronous write per page. */
    if (rc == 0)
        rc = pool_flush_range(db->pool, 0, UINT64_MAX);
    if (rc < 0) {
        /* Nothing the committed meta reaches was touched: the handle lives on. */
        mem_free_aligned(meta_page);
        return rc;
    }
    assert(pager_writes_in_flight(db->pager) == 0);
    /* One flush (clist.c): pages, their list and the meta, then one sync.
     * 1 = this commit cannot be listed: the two-flush commit below. */
    if (db->defersync) { /* D1-D4: no sync (unless its list does not fit) */
        rc = defer_commit(txn, meta_page);
        mem_free_aligned(meta_page);
        return rc;
    }
    if (db->oneflush) {
        rc = clist_commit(txn, meta_page);
        if (rc <= 0) {
            mem_free_aligned(meta_page);
            return rc;
        }
    }
    /* E2: sync #1 covers every page the meta reaches: none in flight, none dirty. */
    rc = pager_sync(db->pager, 0); /* sync #1 */
    if (rc == 0) {
        /* It made the meta before this one durable too (E5, E7). The
         * writer is the only thread that changes db->meta. */
        note_durable(db, db->meta.txid);
        rc = meta_write(db->pager, &txn->meta, meta_page);
        /* The pager allocates before it writes: ENOMEM means no byte of
         * the meta reached the file, and the last commit stands. */
        if (rc == FFDB_ENOMEM) {
            mem_free_aligned(meta_page);
            return rc;
        }
    }
    /* sync #2; with NOMETASYNC the next sync makes the meta durable. */
    if (rc == 0 && !db->nometasync)
        rc = pager_sync(db->pager, 0);
    mem_free_aligned(meta_page);
    if (rc < 0) {
        /* A failed sync may have dropped data for good, and a failed meta
         * write may have left a valid meta for this txid on disk: either way
         * this handle can no longer know what is durable (E3). */
        db_set_failed(db);
        return rc;
    }
    return 0;
}

/* Did the txn change anything? Every change goes through the catalog
 * (bumping its version) or marks a bucket dirty. */
static int txn_changed(const ffdb_txn *txn)
{
    if (txn->meta.catalog.version != 0)
        return 1;
    for (const struct ffdb_bucket *b = txn->buckets; b; b = b->next)
        if (b->dirty)
            return 1;
    return 0;
}

int ffdb_commit(ffdb_txn *txn)
{
    ffdb *db;
    int rc;

    if (!txn)
        return FFDB_EINVAL;
    if (!txn->write) {
        ffdb_abort(txn);
        return 0;
    }
    db = txn->db;
    rc = txn->bt.failed ? FFDB_EBADTXN : 0;
    if (rc == 0 && txn->bulks)
        rc = ERR_RAISE(FFDB_EBUSY, PGNO_NONE, "a bulk load is still open; finish or abort it");
    if (rc == 0 && !txn_changed(txn)) {
        /* Nothing of its own to make durable: end it like an abort, which
         * restores exactly the state it began with. An unsynced meta of an
         * earlier commit is made durable all the same (E5). */
        write_txn_discard(txn);
        return db->nometasync ? ffdb_sync(db) : 0; /* DEFERSYNC promises nothing here */
    }
    if (rc == 0)
        rc = bucket_flush_all(txn);
    if (rc == 0)
        rc = clist_reserve(txn);
    if (rc == 0)
        rc = fl_txn_prepare(db->fl, db->pager, &txn->meta.freelist_root,
                            &txn->meta.freelist_pages, &txn->meta.page_count);
    if (rc == 0)
        rc = commit_write(txn);
    if (rc < 0) {
        write_txn_discard(txn);
        return rc;
    }
    if (DB_DEBUG_CHECK)
        db_debug_check_forget(db);
    fl_txn_commit(db->fl);
    /* F3: the freelist's file is the one the new meta names. */
    assert(fl_page_count(db->fl) == txn->meta.page_count);
    db->prev_page_count = db->meta.page_count;
    db->prev_meta = db->meta;
    if (db->defersync) /* the other slot holds the synced meta, maybe older (C6 not kept) */
        memset(&db->prev_meta, 0, sizeof(db->prev_meta));
    pthread_mutex_lock(&db->meta_lock);
    db->meta = txn->meta;
    if (db->defersync)
        defer_publish(db); /* D4: ffdb_sync may cover it from now on */
    else if (!db->nometasync)
        db->durable_txid = db->meta.txid; /* sync #2 (E5) */
    /* E5: with NOMETASYNC, sync #1 made the meta before this one durable. */
    assert(db->defersync || db->durable_txid + (db->nometasync ? 1 : 0) >= db->meta.txid);
    assert(db->durable_txid <= db->meta.txid);
    db_count_free(db);
    pthread_mutex_unlock(&db->meta_lock);
    maybe_truncate(db);
    pager_log_end(db->pager);
    txn_free_handles(txn);
    bt_txn_release(&txn->bt);
    if (DB_DEBUG_CHECK)
        db_debug_check_commit(db);
    pthread_mutex_unlock(&db->write_lock);
    mem_free(txn);
    return 0;
}

int ffdb_sync(ffdb *db)
{
    uint64_t want, target = 0, slot = 0;
    int rc;

    if (!db)
        return FFDB_EINVAL;
    pthread_mutex_lock(&db->meta_lock);
    want = db->meta.txid; /* its meta was written before it was published */
    /* E10: one sync at the disk at a time; a caller that finds one there
     * waits for it, and is done if it covered want. D4: nor while a
     * commit's meta is out and not yet published. */
    while (!db->failed && db->durable_txid < want && (db->sync_busy || db->meta_writing))
        pthread_cond_wait(&db->sync_done, &db->meta_lock);
    rc = db->failed;
    if (rc == 0 && db->durable_txid >= want) {
        pthread_mutex_unlock(&db->meta_lock);
        return 0;
    }
    if (rc == 0) {
        db->sync_busy = 1;
        /* D4: the newest meta written, in its slot (>= want) */
        target = db->meta.txid;
        slot = db->meta.slot;
    }
    pthread_mutex_unlock(&db->meta_lock);
    if (rc)
        return ERR_RAISE(FFDB_EFAILED, PGNO_NONE, "an earlier sync failed; reopen the database");
    /* Not under meta_lock: readers begin and end while the disk works. A
     * commit's own sync waits for this one in the pager (G4). */
    rc = pager_sync(db->pager, 0);
    pthread_mutex_lock(&db->meta_lock);
    db->sync_busy = 0;
    if (rc < 0)
        db->failed = FFDB_EFAILED; /* E3 */
    else if (db->durable_txid < target) {
        db->durable_txid = target; /* E5 */
        db->durable_slot = slot;   /* D1 */
    }
    pthread_cond_broadcast(&db->sync_done);
    pthread_mutex_unlock(&db->meta_lock);
    return rc;
}

uint64_t ffdb_durable_txid(ffdb *db)
{
    uint64_t txid;
    if (!db)
        return 0;
    pthread_mutex_lock(&db->meta_lock);
    txid = db->durable_txid;
    pthread_mutex_unlock(&db->meta_lock);
    return txid;
}
