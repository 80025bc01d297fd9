/*
 * db.c — opening, creating and closing a database handle.
 *
 * Open never writes to an existing file: it reads both metas, picks the
 * newest valid one, makes it durable (a writable open syncs once), loads
 * that commit's freelist and sets up the buffer pool. Only a missing or
 * empty file is initialised (two meta pages, then a full sync, with the
 * directory synced by the I/O backend), or one that holds nothing but part
 * of those two pages: a creation cut short by a crash. Close makes a
 * FFDB_NOMETASYNC or FFDB_DEFERSYNC handle's last meta durable (E9, D6 in
 * db.h).
 */
#include <assert.h>
#include <string.h>

#include "bufpool/pool.h"
#include "common/alloc.h"
#include "common/checksum.h"
#include "common/error.h"
#include "engine/db.h"
#include "freelist/freelist.h"
#include "pager/pager.h"

#define DEFAULT_BUFFER_PAGES 1024u
#define MIN_BUFFER_PAGES 16u
#define KNOWN_FLAGS                                                                                \
    (FFDB_RDONLY | FFDB_NOSYNC | FFDB_NODIRECT | FFDB_NOURING | FFDB_NOCREATE | FFDB_NOMETASYNC | \
     FFDB_TWOFLUSH | FFDB_DIRECTWRITE | FFDB_DEFERSYNC)
#define UNBORN_SECTOR 512u /* the unit a torn write keeps or loses */

static int check_options(const ffdb_options *opt, ffdb_options *out)
{
    memset(out, 0, sizeof(*out));
    if (opt)
        *out = *opt;
    if (out->buffer_pages == 0)
        out->buffer_pages = DEFAULT_BUFFER_PAGES;
    if (out->page_size == 0)
        out->page_size = PAGE_SIZE_DEFAULT;
    if (out->buffer_pages < MIN_BUFFER_PAGES || out->buffer_pages > (1u << 30))
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "buffer_pages must be 0 or %u..2^30",
                         MIN_BUFFER_PAGES);
    if (out->page_size != 4096 && out->page_size != 8192 && out->page_size != 16384)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "page_size must be 4096, 8192 or 16384");
    if (out->flags & ~KNOWN_FLAGS)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "unknown flags 0x%x", out->flags & ~KNOWN_FLAGS);
    /* DEFERSYNC needs syncs to defer (not NOSYNC), defers the meta's too
     * (NOMETASYNC says less), and its commit lists (not TWOFLUSH). */
    if ((out->flags & FFDB_DEFERSYNC) &&
        (out->flags & (FFDB_NOSYNC | FFDB_NOMETASYNC | FFDB_TWOFLUSH)))
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE,
                         "FFDB_DEFERSYNC does not go with FFDB_NOSYNC, FFDB_NOMETASYNC or "
                         "FFDB_TWOFLUSH");
    return 0;
}

/* What creating a file writes for page_size: the first commit (txid 0,
 * empty) in meta slot 0 and an empty slot 1 (a sealed page of zeros is
 * simply not a valid meta), sealed as the pager seals them; 2 * page_size
 * bytes at pages. create_file() writes it and file_is_unborn() recognises
 * parts of it, so the two cannot disagree. */
static void creation_image(unsigned page_size, uint8_t *pages, struct meta *m)
{
    assert(page_size == 4096 || page_size == 8192 || page_size == 16384);
    memset(m, 0, sizeof(*m));
    m->page_size = page_size;
    m->page_count = 2;
    meta_encode(m, pages);
    page_seal(pages, page_size);
    memset(pages + page_size, 0, page_size);
    page_seal(pages + page_size, page_size);
}

/* Write the creation image in one batch, then a full sync. */
static int create_file(ffdb *db, unsigned page_size)
{
    struct meta m;
    uint8_t *pages;
    struct pager_page w[2];
    int rc;

    pager_set_page_size(db->pager, page_size);
    pages = mem_alloc_aligned(4096, 2 * (size_t)page_size);
    if (!pages)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate the meta pages");
    creation_image(page_size, pages, &m);
    w[0].pgno = 0;
    w[0].data = pages;
    w[1].pgno = 1;
    w[1].data = pages + page_size;
    rc = pager_write_pages(db->pager, w, 2);
    mem_free_aligned(pages);
    if (rc == 0)
        rc = pager_sync(db->pager, 1);
    if (rc == 0)
        db->meta = m;
    return rc;
}

static int sector_is_zero(const uint8_t *p)
{
    for (unsigned i = 0; i < UNBORN_SECTOR; i++)
        if (p[i])
            return 0;
    return 1;
}

/* 1 if the file holds no byte at all (a new file, or a creation that failed
 * before writing anything). */
static int file_is_empty(struct pager *pg)
{
    uint8_t *buf = mem_alloc_aligned(4096, 4096);
    long got;
    if (!buf)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate a buffer");
    got = pager_read_raw(pg, buf, 4096, 0);
    mem_free_aligned(buf);
    return got < 0 ? (int)got : got == 0;
}

/* 1 if the file holds nothing but (part of) a creation image: at most two
 * pages, each 512-byte sector zero or the creation's own, and at least one
 * non-zero sector of the creation there (so a file of zeros is still not a
 * database). If such a file has no valid commit, its creation was cut short
 * by a crash: there is no commit in it and nothing else to lose. */
static int file_is_unborn(struct pager *pg, uint64_t pages)
{
    static const unsigned sizes[] = { 4096, 8192, 16384 };
    const size_t probe = 2 * PAGE_SIZE_MAX + UNBORN_SECTOR; /* longer: not unborn */
    uint8_t *buf, *img;
    struct meta m;
    long got;
    int unborn = 0;

    if (pages * PAGE_SIZE_MIN >= probe)
        return 0; /* too long: no need to look */
    buf = mem_alloc_aligned(4096, probe + 2 * PAGE_SIZE_MAX);
    if (!buf)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate a buffer");
    img = buf + probe;
    got = pager_read_raw(pg, buf, probe, 0);
    for (unsigned k = 0; k < 3 && got > 0 && (size_t)got < probe && !unborn; k++) {
        int ok = (size_t)got <= 2 * (size_t)sizes[k], evidence = 0;
        creation_image(sizes[k], img, &m);
        for (size_t off = 0; ok && off < (size_t)got; off += UNBORN_SECTOR) {
            if (memcmp(buf + off, img + off, UNBORN_SECTOR) == 0)
                evidence |= !sector_is_zero(img + off);
            else
                ok = sector_is_zero(buf + off);
        }
        unborn = ok && evidence;
    }
    mem_free_aligned(buf);
    return got < 0 ? (int)got : unborn;
}

/* Read the newest valid meta of an existing file, or start over a creation
 * that a crash cut short (never for a read-only open). */
static int load_meta(ffdb *db, const ffdb_options *opt, uint64_t pages)
{
    struct meta cand[2];
    int rc, unborn = 0, count = 0;
    if (!(opt->flags & FFDB_RDONLY))
        CHECK(unborn = file_is_unborn(db->pager, pages));
    rc = pages == 0
             ? ERR_RAISE(FFDB_ENOTDB, 0, "the file is shorter than one page: not an ffdb file")
             : meta_pick(db->pager, cand, &count);
    if (rc == 0)
        rc = clist_choose(db->pager, pages * PAGE_SIZE_MIN, cand, count, &db->meta);
    /* The other slot's meta, for clist_confirm_at_close (C6). */
    memset(&db->prev_meta, 0, sizeof(db->prev_meta));
    if (rc == 0 && count == 2 && cand[0].txid == db->meta.txid && cand[1].txid + 1 == db->meta.txid)
        db->prev_meta = cand[1];
    if ((rc != FFDB_ENOTDB && rc != FFDB_CORRUPT) || !unborn)
        return rc;
    /* its tail may be longer than the new creation's */
    CHECK(pager_truncate(db->pager, 0));
    return create_file(db, opt->page_size);
}

static int load_file(ffdb *db, const ffdb_options *opt)
{
    uint64_t pages;
    int rc;

    assert(pager_page_size(db->pager) == PAGE_SIZE_MIN);
    CHECK(pager_file_pages(db->pager, &pages)); /* in PAGE_SIZE_MIN units until the size is known */
    rc = file_is_empty(db->pager);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        if (opt->flags & FFDB_RDONLY)
            return ERR_RAISE(FFDB_ENOTDB, 0, "the file is empty");
        CHECK(create_file(db, opt->page_size));
    } else {
        CHECK(load_meta(db, opt, pages));
        pager_set_page_size(db->pager, db->meta.page_size);
        /* The newest meta may not be durable yet: its writer may have died
         * between writing it and syncing it, leaving it in the page cache.
         * A writer builds on it and reuses the pages it freed (pages the
         * older, durable meta still reaches), so make it durable first. */
        if (!(opt->flags & FFDB_RDONLY))
            CHECK(pager_sync(db->pager, 1));
    }
    db->page_size = db->meta.page_size;
    /* Open picked a valid meta (meta_decode) or wrote the creation's. */
    assert(pager_page_size(db->pager) == db->page_size && db->meta.page_count >= 2);
    rc = fl_load(db->pager, db->meta.freelist_root, db->meta.freelist_pages, db->meta.page_count,
                 db->meta.txid, &db->fl);
    return rc;
}

void db_count_free(ffdb *db)
{
    struct fl_counts c;
    fl_counts(db->fl, &c);
    db->stat_free = c.reusable + c.pending;
    db->stat_pending = c.pending;
    db->stat_freelist_pages = db->meta.freelist_pages;
}

int ffdb_open(const char *path, const ffdb_options *opt_in, ffdb **out)
{
    ffdb_options opt;
    ffdb *db;
    int rc;

    if (!path || !out)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "path and db must not be NULL");
    *out = NULL;
    CHECK(check_options(opt_in, &opt));
    db = mem_calloc(1, sizeof(*db));
    if (!db)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate the handle");
    db->flags = opt.flags;
    /* Without syncs (NOSYNC) or writes (RDONLY) there is no meta sync to defer. */
    db->nometasync = (opt.flags & FFDB_NOMETASYNC) && !(opt.flags & (FFDB_NOSYNC | FFDB_RDONLY));
    /* One sync per commit through commit lists, where commits sync at all;
     * with NOMETASYNC that sync is left to the next commit or ffdb_sync,
     * which may run it on another thread meanwhile (E10). */
    db->oneflush = !(opt.flags & (FFDB_NOSYNC | FFDB_RDONLY | FFDB_TWOFLUSH));
    /* Commits sync nothing; ffdb_sync makes them durable (D1-D6). */
    db->defersync = (opt.flags & FFDB_DEFERSYNC) && !(opt.flags & FFDB_RDONLY);
    pthread_mutex_init(&db->write_lock, NULL);
    pthread_mutex_init(&db->meta_lock, NULL);
    pthread_cond_init(&db->sync_done, NULL);
    rc = pager_open(path, opt.io, opt.flags, &db->pager);
    if (rc < 0)
        goto fail;
    db->caps = pager_caps(db->pager);
    rc = load_file(db, &opt);
    if (rc < 0)
        goto fail;
    /* buffer_pages 0: start at the default and grow on demand (pool.h). */
    rc = pool_open(db->pager, opt.buffer_pages, !opt_in || !opt_in->buffer_pages, bt_page_verify,
                   &db->page_size, &db->pool);
    if (rc < 0)
        goto fail;
    db->durable_txid = db->meta.txid; /* E5: load_file synced it (or created it) */
    db->durable_slot = db->meta.slot;   /* D1 */
    if (db->defersync && (rc = defer_open(db)) < 0)
        goto fail;
    db->prev_page_count = db->meta.page_count;
    assert(pool_page_size(db->pool) == db->page_size);
    assert(fl_page_count(db->fl) == db->meta.page_count); /* F3 starts from the meta */
    db_count_free(db);
    *out = db;
    return 0;
fail:
    ffdb_close(db);
    return rc;
}

void ffdb_close(ffdb *db)
{
    if (!db)
        return;
    /* ffdb.h: every transaction has ended (pool_close checks the pins). */
    assert(db->reader_count == 0);
    /* E9: the last meta may be unsynced. A failure cannot be reported
     * here; the handle is freed regardless. The pool exists only once
     * open got that far. */
    if (db->pool && (db->nometasync || db->defersync))
        (void)ffdb_sync(db); /* E9, D6 */
    /* C6 (clist.c): after a clean close, damage found in the last commit
     * is reported, not undone. */
    if (db->pool && db->oneflush)
        clist_confirm_at_close(db);
    if (db->pool)
        pool_close(db->pool);
    if (db->check_pool)
        pool_close(db->check_pool);
    if (db->fl)
        fl_destroy(db->fl);
    defer_close(db);
    if (db->pager)
        pager_close(db->pager);
    mem_free(db->readers);
    pthread_mutex_destroy(&db->write_lock);
    pthread_mutex_destroy(&db->meta_lock);
    pthread_cond_destroy(&db->sync_done);
    mem_free(db);
}

int ffdb_stat_db(ffdb *db, ffdb_stat *st)
{
    struct pool_counters pc;
    uint64_t file_pages = 0;
    if (!db || !st)
        return FFDB_EINVAL;
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&db->meta_lock);
    st->txid = db->meta.txid;
    st->page_count = db->meta.page_count;
    st->bucket_count = db->meta.bucket_count;
    st->free_pages = db->stat_free;
    st->pending_pages = db->stat_pending;
    st->freelist_pages = db->stat_freelist_pages;
    st->readers = db->reader_count;
    st->durable_txid = db->durable_txid;
    for (unsigned i = 0; i < db->reader_cap; i++)
        if (db->readers[i] != READER_FREE &&
            (st->oldest_reader_txid == 0 || db->readers[i] < st->oldest_reader_txid))
            st->oldest_reader_txid = db->readers[i];
    pthread_mutex_unlock(&db->meta_lock);
    st->page_size = db->page_size;
    st->direct_io = (db->caps & FFDB_IO_DIRECT) != 0;
    st->io_uring = (db->caps & FFDB_IO_URING) != 0;
    if (pager_file_pages(db->pager, &file_pages) == 0)
        st->file_bytes = file_pages * db->page_size;
    pool_counters(db->pool, &pc);
    st->pool_frames = pc.frames;
    st->pool_hits = pc.hits;
    st->pool_misses = pc.misses;
    st->pool_evictions = pc.evictions;
    st->pool_spills = pc.spills;
    return 0;
}
