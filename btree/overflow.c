/*
 * overflow.c — values too large for a leaf, stored in runs of consecutive
 * overflow pages.
 *
 * A run is written once, by the txn that creates it, with the pool's run
 * writes (pool_write_run: its pages never enter a frame, and are unreachable
 * until the commit's meta is written), and read back in large sequential
 * chunks. Each page carries the common header (kind PAGE_OVERFLOW, next =
 * index in the run) and its own checksum.
 *
 * Reads of short runs are cached in the buffer pool as raw pages (pool.h):
 * cached pages are copied from their frames, the missing stretches are read
 * in large run reads, checked, and offered to the pool. Long runs are only
 * read, never cached (OVF_CACHE_SHARE says which is which). Either way
 * every page is checked against the run and the leaf each time it is used
 * (kind, index, T2); only the checksum and pgno are verified once, when the
 * page comes from disk. Writes never fill the pool, and the pool drops
 * every cached copy of the run's pages (raw or not) before it writes them
 * (P6), so no stale frame can be served for them later.
 */
#include <assert.h>
#include <string.h>

#include "btree/internal.h"
#include "common/alloc.h"
#include "common/error.h"
#include "freelist/freelist.h"

/* Pages moved per I/O: 256 KiB at 4 KiB pages. */
#define OVF_CHUNK_PAGES 64u

/* Admission: a run of at most frames / OVF_CACHE_SHARE pages is read
 * through the pool. One get then pushes out at most an eighth of what the
 * pool holds, so values cannot flush the tree pages every lookup needs, yet
 * the default pool (1024 frames) caches runs up to 128 pages: 500 KiB at 4
 * KiB pages, so a 100 KiB value (25 pages) is cached, while a 10 MiB value
 * (2,560 pages) needs a pool of 20,480 frames (80 MiB) before it is. Longer
 * runs keep the direct path: a pool too small to hold a few of them would
 * only cycle through them, evicting everything else on each read. */
#define OVF_CACHE_SHARE 8u

uint64_t ovf_page_count(unsigned page_size, uint64_t len)
{
    uint64_t payload = page_size - PAGE_HEADER_SIZE;
    assert(page_size >= PAGE_SIZE_MIN && page_size <= PAGE_SIZE_MAX);
    return len == 0 ? 1 : (len + payload - 1) / payload;
}

/* The txn's aligned I/O buffer, at least count pages: grown on demand and
 * kept until the txn ends, so reading or writing a run allocates nothing
 * after the first time (a fresh 256 KiB aligned block was an mmap, munmap
 * and page faults on every call). */
static int run_buffer(struct bt_txn *t, uint64_t count, uint8_t **out)
{
    assert(count > 0 && count <= OVF_CHUNK_PAGES);
    if (count > t->run_buf_pages) {
        uint8_t *p = mem_alloc_aligned(4096, (size_t)count * t->page_size);
        if (!p)
            return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate overflow buffer");
        mem_free_aligned(t->run_buf);
        t->run_buf = p;
        t->run_buf_pages = count;
    }
    *out = t->run_buf;
    return 0;
}

int ovf_write(struct bt_txn *t, struct bt_tree *tree, const void *val, uint64_t len, uint64_t *pgno)
{
    unsigned ps = t->page_size;
    uint64_t payload = ps - PAGE_HEADER_SIZE, pages = ovf_page_count(ps, len), done = 0;
    const uint8_t *src = val;
    uint8_t *buf = NULL;
    int rc;

    /* Only values too large for a leaf get a run; bt_put/bulk checked len. */
    assert(t->fl && !t->failed && len <= FFDB_MAX_VALUE_SIZE && pages >= 1);
    CHECK(run_buffer(t, pages < OVF_CHUNK_PAGES ? pages : OVF_CHUNK_PAGES, &buf));
    CHECK(fl_alloc(t->fl, pages, pgno, NULL));
    rc = 0;
    while (rc == 0 && done < pages) {
        uint64_t n = pages - done < OVF_CHUNK_PAGES ? pages - done : OVF_CHUNK_PAGES;
        for (uint64_t i = 0; i < n; i++) {
            uint8_t *p = buf + i * ps;
            uint64_t idx = done + i, off = idx * payload;
            uint64_t take = len - off < payload ? len - off : payload;
            memset(p, 0, ps);
            st64(p + PH_PGNO, *pgno + idx);
            st64(p + PH_TXID, t->txid);
            p[PH_KIND] = PAGE_OVERFLOW;
            st64(p + PH_NEXT, idx);
            if (take)
                memcpy(p + PAGE_HEADER_SIZE, src + off, take);
        }
        rc = pool_write_run(t->pool, *pgno + done, n, buf); /* P6: drops stale copies */
        done += n;
    }
    if (rc < 0) {
        fl_free(t->fl, *pgno, pages);
        return rc;
    }
    tree->overflow_pages += pages;
    return 0;
}

/* Check that p is page idx of the run at pgno, no newer than the leaf
 * (max_txid, T2), and copy its share of the value's len bytes to dst. */
static int take_page(const uint8_t *p, uint64_t pgno, uint64_t idx, uint64_t len,
                     uint64_t max_txid, unsigned ps, uint8_t *dst)
{
    uint64_t payload = ps - PAGE_HEADER_SIZE, off = idx * payload;
    uint64_t take = len - off < payload ? len - off : payload;

    /* idx < ovf_page_count(ps, len), which ovf_read bounded by the file. */
    assert(off < len || (off == 0 && len == 0));
    if (p[PH_KIND] != PAGE_OVERFLOW || ld64(p + PH_NEXT) != idx || ld64(p + PH_TXID) > max_txid)
        return ERR_CORRUPT(pgno + idx, "page %llu is not page %llu of the overflow run at %llu",
                           (unsigned long long)(pgno + idx), (unsigned long long)idx,
                           (unsigned long long)pgno);
    if (take)
        memcpy(dst + off, p + PAGE_HEADER_SIZE, take);
    return 0;
}

/* Read pages [first, first + n) of the run at pgno from disk (n at most a
 * chunk), check and copy each; with cache set, offer each checked page to
 * the pool. */
static int read_pages(struct bt_txn *t, uint64_t pgno, uint64_t first, uint64_t n, uint64_t len,
                      uint64_t max_txid, int cache, uint8_t *dst)
{
    unsigned ps = t->page_size;
    uint8_t *buf = NULL;

    assert(first + n <= ovf_page_count(ps, len));
    CHECK(run_buffer(t, n, &buf));
    CHECK(pool_read_run(t->pool, pgno + first, n, buf));
    for (uint64_t i = 0; i < n; i++) {
        CHECK(take_page(buf + i * ps, pgno, first + i, len, max_txid, ps, dst));
        if (cache)
            pool_install_raw(t->pool, pgno + first + i, buf + i * ps);
    }
    return 0;
}

/* A short run through the pool: cached pages from their frames, each
 * stretch of missing ones in one read. */
static int read_cached(struct bt_txn *t, uint64_t pgno, uint64_t pages, uint64_t len,
                       uint64_t max_txid, uint8_t *dst)
{
    uint64_t idx = 0, n;
    int rc = 0;

    while (rc == 0 && idx < pages) {
        struct pool_frame *f = NULL;
        if (!pool_lookup_raw(t->pool, pgno + idx, &f)) {
            /* Pages [idx, idx + n) are missing; f, if set, is page idx + n. */
            for (n = 1; idx + n < pages && n < OVF_CHUNK_PAGES; n++)
                if (pool_lookup_raw(t->pool, pgno + idx + n, &f))
                    break;
            rc = read_pages(t, pgno, idx, n, len, max_txid, 1, dst);
            idx += n;
        }
        if (f) {
            assert(f->pgno == pgno + idx && idx < pages); /* pool_lookup_raw, P2 */
            if (rc == 0)
                rc = take_page(f->data, pgno, idx, len, max_txid, t->page_size, dst);
            pool_unpin(t->pool, f);
            idx++;
        }
    }
    return rc;
}

int ovf_read(struct bt_txn *t, uint64_t pgno, uint64_t len, uint64_t max_txid, uint8_t *dst)
{
    uint64_t pages = ovf_page_count(t->page_size, len), done, n;

    if (len > FFDB_MAX_VALUE_SIZE || pgno < 2 || pgno + pages > bt_page_limit(t) || pgno + pages < pgno)
        return ERR_CORRUPT(pgno, "overflow run at page %llu (%llu bytes) is outside the file",
                           (unsigned long long)pgno, (unsigned long long)len);
    if (pages <= pool_frame_count(t->pool) / OVF_CACHE_SHARE)
        return read_cached(t, pgno, pages, len, max_txid, dst);
    for (done = 0; done < pages; done += n) {
        n = pages - done < OVF_CHUNK_PAGES ? pages - done : OVF_CHUNK_PAGES;
        CHECK(read_pages(t, pgno, done, n, len, max_txid, 0, dst));
    }
    return 0;
}

int ovf_free(struct bt_txn *t, struct bt_tree *tree, uint64_t pgno, uint64_t len)
{
    uint64_t pages = ovf_page_count(t->page_size, len);
    assert(t->fl);
    tree->overflow_pages -= pages;
    return fl_free(t->fl, pgno, pages);
}

int bt_leaf_value(struct bt_txn *t, const uint8_t *page, const uint8_t *c, struct bt_buf *out)
{
    const uint8_t *ref;
    uint64_t len;
    if (!leaf_big(c))
        return bt_buf_set(out, leaf_val(c), leaf_vlen(c));
    ref = leaf_val(c);
    len = ld64(ref + BIGREF_LEN);
    if (len > FFDB_MAX_VALUE_SIZE)
        return ERR_CORRUPT(node_pgno(page), "page %llu holds a value of %llu bytes",
                           (unsigned long long)node_pgno(page), (unsigned long long)len);
    CHECK(bt_buf_reserve(out, len));
    CHECK(ovf_read(t, ld64(ref + BIGREF_PGNO), len, node_txid(page), out->data));
    out->size = len;
    return 0;
}
