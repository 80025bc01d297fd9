/*
 * db.h — the engine's private structures: the database handle, its
 * transactions, bucket and cursor handles, and the committed meta.
 *
 * Only engine/ includes this. The engine is the one layer that knows about
 * meta pages, commits, the reader table and the catalog of buckets; it
 * drives the btree, freelist, pool and pager below it.
 *
 * Transaction states (W = the write txn, R = a read txn):
 *
 *   begin_read:  lock meta_lock; take a reader slot = meta.txid; copy meta;
 *                unlock                                  -> R live
 *   R end:       lock meta_lock; free the slot; unlock
 *   begin_write: lock write_lock (blocks); under meta_lock: refuse if failed,
 *                oldest = min(reader slots, durable_txid) (E6)
 *                fl_txn_begin(txid + 1, oldest)          -> W live
 *   commit:      buckets -> catalog; fl_txn_prepare; drain async writes;
 *                flush dirty pages;
 *                one-flush (oneflush, a commit of <= CLIST_MAX_ENTRIES pages
 *                the seal log knows, clist.c): write the commit list, then
 *                the meta slot txid % 2, in one batch; the one sync;
 *                else: sync #1 [durable_txid = meta.txid];
 *                write meta slot txid % 2;
 *                sync #2 (not with NOMETASYNC: the meta stays unsynced);
 *                fl_txn_commit; under meta_lock publish meta
 *                [durable_txid = txid, unless NOMETASYNC];
 *                [FFDB_DEBUG_CHECK: check the new state, abort on a problem];
 *                unlock write_lock
 *   commit that changed nothing: like abort; with an unsynced meta it first
 *                syncs (ffdb_sync), so its 0 keeps the promise of E5.
 *   abort / failed commit: drop the txn's frames; fl_txn_abort; unlock.
 *   ffdb_sync (any thread, never write_lock): under meta_lock t = meta.txid,
 *                return if failed or durable_txid >= t; pager_sync (the
 *                pager's own sync_lock, not meta_lock: readers go on); under
 *                meta_lock durable_txid = max(durable_txid, t), or failed.
 *   close:       with an unsynced meta, ffdb_sync first (E9); a one-flush
 *                handle whose last commit has a list confirms it (C6).
 *
 * Invariants:
 *  E1. A page reachable from a committed meta is never written again
 *      (T1 in btree.h plus F2 in freelist.h) while a reader or a crash can
 *      still bring that meta back (E6).
 *  E2. The meta of txid t is written only after every page it reaches was
 *      written and synced (sync #1 precedes the meta write, and no
 *      asynchronous write is in flight at sync #1: the commit drains them,
 *      pager G5) — or, for a one-flush commit, together with a commit list
 *      naming every page it wrote with its checksum, which open checks
 *      before it takes that meta (C1-C6 in clist.c).
 *  E3. After a failed sync — a commit's or ffdb_sync's — the handle never
 *      commits again: db->failed (under meta_lock), and the pager refuses
 *      every later write and sync (G3 in pager.c). A later call never
 *      reports success for writes that sync may have dropped.
 *  E4. A reader's slot holds its snapshot txid from before it reads the
 *      meta until it ends, so the writer never reuses a page it can reach.
 *
 * Deferred meta sync (FFDB_NOMETASYNC; db->nometasync). A commit syncs its
 * pages (sync #1) and writes its meta without syncing it; the next sync
 * makes it durable. The rules that make that safe:
 *  E5. durable_txid (under meta_lock) is the txid of the newest commit
 *      known durable; it never decreases and never exceeds meta.txid. At
 *      open: the meta's txid (a writable open syncs it). After a commit T
 *      that synced its meta: T. After sync #1 of any commit: at least the
 *      txid of the meta before it (written before that sync began, so made
 *      durable by it) — for a NOMETASYNC commit T, that is T - 1 and stays
 *      so when it returns. After ffdb_sync: the txid of the newest meta
 *      written before its fdatasync began. So ffdb_commit returns 0 only
 *      when every earlier commit is durable.
 *  E6. Pages freed by commit T are reused only once meta T is durable:
 *      until then a power loss may bring back meta T - 1, which reaches
 *      them. begin_write passes fl_txn_begin oldest = min(oldest live
 *      reader's snapshot, durable_txid) (F2). Without NOMETASYNC
 *      durable_txid is the last commit, as before.
 *  E7. At most one meta is unsynced, and only the newest: commit T + 1
 *      writes its meta into slot (T + 1) % 2, over meta T - 1, only after
 *      its sync #1, which made meta T durable. Recovery therefore finds
 *      meta durable_txid whole in one slot and, in the other, either the
 *      newer unsynced meta (whole, or torn and so invalid) or an older one.
 *      A commit that changes nothing writes no meta; a commit that fails
 *      before its meta write leaves both slots alone (and after sync #1
 *      the unsynced meta it found is durable); one that fails at or after
 *      its meta write fails the handle (E3).
 *  E8. The file is never cut below the page count of a meta recovery may
 *      pick: with NOMETASYNC, maybe_truncate keeps the larger page_count of
 *      the last two metas (prev_page_count), since the truncation may reach
 *      the disk before the unsynced meta does.
 *  E9. ffdb_close of a NOMETASYNC handle with an unsynced meta syncs it
 *      first; if that fails the handle is freed all the same (close cannot
 *      report it) and the last commit is as if in flight at a crash.
 *  E10. A NOMETASYNC one-flush commit T writes its pages, then — once meta
 *      T - 1 is durable (ffdb_sync: it waits for a sync already at the
 *      disk instead of starting another) — its commit list and meta in
 *      one batch, and does not sync: the sync that makes T durable is the
 *      next commit's or ffdb_sync's, which a server runs on a thread of
 *      its own while the loop builds commit T + 1 (pipelined group commit,
 *      modules/net/batch.c). So C1 holds as "meta T is written only after
 *      meta T - 1 is durable", and E7 as before. Concurrent ffdb_sync calls
 *      share one sync at a time (sync_busy, sync_done): a caller that finds
 *      one running waits for it and syncs again only if its target was not
 *      covered.
 *
 * Deferred sync (FFDB_DEFERSYNC; db->defersync, engine/defer.c). Commits
 * sync nothing; ffdb_sync makes all of them durable at once. Let D be
 * durable_txid (the last synced commit):
 *  D1. The meta of D lies whole in slot durable_slot, and nothing writes
 *      that slot while D is the last synced commit: every commit after D
 *      writes its meta into the other slot (whatever its txid's parity),
 *      naming base = D. So after a crash that slot holds D, and the other
 *      holds some meta written since D (whole or torn), or an older one.
 *  D2. Pages freed by commits after D are not reused before the next
 *      sync (E6: oldest <= durable_txid = D), so the state of every commit
 *      since D stays on disk as it was written, as far as it got there.
 *  D3. Each commit's list names every page written since D that its meta
 *      reaches (those of earlier unsynced commits it still holds, carried
 *      in db->defer, plus its own), so open takes that meta only when its
 *      whole state reached the disk, and else falls back to the other slot,
 *      which must hold meta base (clist_choose). A commit that would list
 *      more than fits syncs first (all pages so far and the last meta
 *      become durable: D moves to that meta, D1 still holds) and writes
 *      its meta into the slot D is not in, with an empty list.
 *  D4. A sync and a meta write never overlap: a commit waits for a sync at
 *      the disk (sync_busy) before it writes its meta, and ffdb_sync waits
 *      from the write of a commit's meta until it is published
 *      (meta_writing). So the meta a sync covers is db->meta, in its slot,
 *      and after the sync D = db->meta.txid, durable_slot = db->meta.slot.
 *  D5. The file is never cut below the largest page count of the metas
 *      since D (defer_keep_pages), any of which recovery may pick.
 *  D6. ffdb_close syncs first (E9); with no unsynced commit it does not.
 */
#ifndef FFDB_ENGINE_DB_H
#define FFDB_ENGINE_DB_H

#include <pthread.h>
#include <stdint.h>

#include "btree/btree.h"
#include "ffdb.h"

struct pager;
struct pager_page;
struct pool;
struct freelist;
struct defer;

/* The decoded meta page (format.h). */
struct meta {
    uint64_t txid;
    uint64_t page_count;
    uint64_t freelist_root;
    uint64_t freelist_pages;
    uint64_t bucket_count;
    uint32_t page_size;
    struct bt_tree catalog;
    /* The commit list (format.h), 0 = none: the meta was written after
     * its pages were synced. */
    uint64_t clist_first, clist_pages, clist_entries;
    uint64_t confirmed;  /* 0, or txid + 1: that commit is durable (C6) */
    uint64_t slot;       /* the meta slot (page) it lives in: 0 or 1 */
    uint64_t base;       /* 0, or 1 + the txid in the other slot to fall back to (D3) */
};

#define READER_FREE UINT64_MAX

struct ffdb {
    unsigned flags;
    unsigned page_size;
    unsigned caps;
    struct pager *pager;
    struct pool *pool;
    struct freelist *fl;            /* touched by the writer only */
    pthread_mutex_t write_lock;     /* held for the life of the write txn */
    pthread_mutex_t meta_lock;      /* guards meta, readers, committed stats */
    struct meta meta;               /* last committed */
    uint64_t *readers;              /* snapshot txid per slot, READER_FREE if unused */
    unsigned reader_cap;
    unsigned reader_count;
    uint64_t stat_free, stat_pending, stat_freelist_pages;  /* as of the last commit */
    int failed;                     /* E3: FFDB_EFAILED once a sync failed; meta_lock */
    int nometasync;                 /* FFDB_NOMETASYNC in effect (not NOSYNC, not RDONLY) */
    int oneflush;                   /* commits write commit lists (clist.c) */
    uint64_t durable_txid;          /* E5; meta_lock */
    int sync_busy;                  /* E10: an ffdb_sync is at the disk; meta_lock */
    pthread_cond_t sync_done;       /* E10: signalled when it is back; with meta_lock */
    uint64_t prev_page_count;       /* E8: the meta before the last one's; writer only */
    struct meta prev_meta;          /* the other slot's meta (txid meta.txid - 1, or 0 = unknown) */
    int defersync;                  /* FFDB_DEFERSYNC in effect (not RDONLY) */
    uint64_t durable_slot;          /* D1: the slot of meta durable_txid; meta_lock */
    int meta_writing;               /* D4: a commit's meta is out, not published; meta_lock */
    struct defer *defer;            /* D3: pages written since the last sync; writer only */
    struct pool *check_pool;        /* the debug check's own pool (check.c); writer only */
    int check_state;                /* DB_CHECK_*; writer only */
};

struct ffdb_bucket {
    struct ffdb_bucket *next;
    ffdb_txn *txn;
    uint8_t *name;
    size_t name_len;
    struct bt_tree tree;
    int dirty;      /* the tree record changed: write it to the catalog at commit */
    int dropped;
    int busy;       /* a bulk load is open on it */
};

struct ffdb_cursor {
    struct ffdb_cursor *prev, *next;
    ffdb_txn *txn;
    struct ffdb_bucket *bucket;
    struct bt_cursor c;
};

struct ffdb_bulk {
    struct ffdb_bulk *prev, *next;
    ffdb_txn *txn;
    struct ffdb_bucket *bucket;
    struct bt_bulk *b;
};

struct ffdb_txn {
    ffdb *db;
    int write;
    unsigned reader_slot;
    struct meta meta;              /* snapshot (read) or working copy (write) */
    struct bt_txn bt;
    struct ffdb_bucket *buckets;
    struct ffdb_cursor *cursors;
    struct ffdb_bulk *bulks;
};

/* meta.c */
void meta_encode(const struct meta *m, uint8_t *page);
/* Decode and validate page as the meta of slot; 0 if valid, else why not:
 * FFDB_ENOTDB (no magic), FFDB_EVERSION, FFDB_CORRUPT (bad checksum/fields). */
int  meta_decode(const uint8_t *page, unsigned page_size, uint64_t slot, struct meta *m);
/* Read both meta slots: the valid metas, newest first, in cand[0..*count)
 * (at most two: one per slot). No valid one is an error (FFDB_ENOTDB,
 * FFDB_EVERSION, FFDB_CORRUPT). clist_choose() picks the one to open. */
int  meta_pick(struct pager *pg, struct meta cand[2], int *count);
/* Write m into slot m->slot (unsynced), through page (page_size bytes,
 * aligned; allocated by the caller so that no allocation can fail once a
 * commit has synced its pages). */
int  meta_write(struct pager *pg, const struct meta *m, uint8_t *page);
/* The same, in one batch with extra pages (the commit list; pgnos > 2). */
int  meta_write_with(struct pager *pg, const struct meta *m, uint8_t *page,
                     struct pager_page *extra, size_t extra_count);

/* clist.c: the one-flush commit (format.h, "Commit list").
 * CLIST_MAX_ENTRIES bounds a list (and what open reads to verify it); a
 * commit that wrote more pages syncs them before its meta instead. */
#define CLIST_MAX_ENTRIES 4096u
#define CLIST_MAX_PAGES   17u     /* ceil(4096 / entries per 4 KiB page) */
#define CLIST_LOG_MAX     (4u * CLIST_MAX_ENTRIES) /* seals noted per txn (pager.h) */
_Static_assert(CLIST_MAX_PAGES * ((4096u - 40u) / 16u) >= CLIST_MAX_ENTRIES,
               "a list of CLIST_MAX_ENTRIES fits in CLIST_MAX_PAGES pages");
/* Write txn's pages' list and its meta in one batch, then sync once. Called
 * by the commit once every dirty page is written. 1 = this commit cannot
 * take one flush (no list, more pages than it holds, or one the seal log
 * does not know): the list (what it holds) is written, and the caller does
 * the two-flush commit. 0 = done; < 0 an
 * error (after the meta batch began, the handle is failed, E3). */
int  clist_commit(ffdb_txn *txn, uint8_t *meta_page);
/* Before fl_txn_prepare: allocate the commit list's pages (one-flush
 * handles; none for a commit too large to list). 0 or FFDB_ENOMEM/ENOSPC. */
int  clist_reserve(ffdb_txn *txn);
/* Pick the meta to open from meta_pick()'s candidates (newest first): the
 * newest, unless its commit list finds a page missing or torn; then the
 * other, which was durable before it began. file_bytes is the file size. */
int  clist_choose(struct pager *pg, uint64_t file_bytes, const struct meta cand[2], int count,
                  struct meta *out);
/* Verify m's commit list against the file: 0, FFDB_CORRUPT naming the
 * first page that is not as listed, or an I/O error. */
int  clist_verify(struct pager *pg, const struct meta *m);

/* clist.c (C6): at ffdb_close of a one-flush handle whose last commit has
 * a list, rewrite the previous meta naming that commit as durable, and
 * sync: open then takes the last commit without checking its list, so
 * later damage to it is reported as corruption, not undone. Best effort. */
void clist_confirm_at_close(ffdb *db);

/* defer.c: the FFDB_DEFERSYNC commit (D1-D6). defer_open allocates what
 * every commit reuses (a handle with the flag, at open); defer_close frees
 * it (NULL allowed). defer_carried: entries carried from earlier unsynced
 * commits (clist_reserve's guess). defer_commit replaces clist_commit:
 * once every dirty page is written, it writes the list and the meta into
 * the slot D is not in (syncing first if the list does not fit); 0 = done,
 * with meta_writing set until defer_publish (called by the commit under
 * meta_lock when it publishes the meta), < 0 an error (E3 after the meta
 * write began; meta_writing is clear again). defer_keep_pages: D5. */
int      defer_open(ffdb *db);
void     defer_close(ffdb *db);
size_t   defer_carried(const ffdb *db);
int      defer_commit(ffdb_txn *txn, uint8_t *meta_page);
void     defer_publish(ffdb *db);
uint64_t defer_keep_pages(const ffdb *db);

/* db.c: refresh the committed free-page figures (caller holds meta_lock
 * or is the only thread). */
void db_count_free(ffdb *db);

/* txn.c */
void txn_free_handles(ffdb_txn *txn);
/* E3: mark the handle failed (takes meta_lock). */
void db_set_failed(ffdb *db);

/* bucket.c */
int  bucket_flush_all(ffdb_txn *txn);

/* txn.c: pool_discard() pages [pgno, pgno + count) of pool (a struct pool),
 * in fl_txn_foreach()'s shape; returns 0. */
int  db_discard_range(void *pool, uint64_t pgno, uint64_t count);

/* check.c: the debug check (see there). Compiled always, called only when
 * built with -DFFDB_DEBUG_CHECK (DB_DEBUG_CHECK), so it cannot rot.
 * begin: at begin_write, holding write_lock, before the txn starts; learns
 * once whether the committed state is clean. forget: in a commit, before
 * fl_txn_commit. commit: after a commit was published, still holding
 * write_lock; aborts the process if the new state has a problem. */
#ifdef FFDB_DEBUG_CHECK
#define DB_DEBUG_CHECK 1
#else
#define DB_DEBUG_CHECK 0
#endif
#define DB_CHECK_PAGES   4096u    /* frames of the check pool; pages checked at every commit */
#define DB_CHECK_UNKNOWN 0
#define DB_CHECK_CLEAN   1
#define DB_CHECK_OFF     2
void db_debug_check_begin(ffdb *db);
void db_debug_check_forget(ffdb *db);
void db_debug_check_commit(ffdb *db);

#endif /* FFDB_ENGINE_DB_H */
