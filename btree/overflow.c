/*
 * overflow.c — values too large for a leaf, stored in runs of consecutive
 * overflow pages that bypass the buffer pool.
 *
 * A run is written once, by the txn that creates it, straight through the
 * pager (its pages are unreachable until the commit's meta is written), and
 * read back in large sequential chunks. Each page carries the common header
 * (kind PAGE_OVERFLOW, next = index in the run) and its own checksum.
 */
#include <string.h>

#include "btree/internal.h"
#include "common/alloc.h"
#include "common/error.h"
#include "freelist/freelist.h"
#include "pager/pager.h"

/* Pages moved per I/O: 256 KiB at 4 KiB pages. */
#define OVF_CHUNK_PAGES 64u

uint64_t ovf_page_count(unsigned page_size, uint64_t len)
{
    uint64_t payload = page_size - PAGE_HEADER_SIZE;
    return len == 0 ? 1 : (len + payload - 1) / payload;
}

int ovf_write(struct bt_txn *t, struct bt_tree *tree, const void *val, uint64_t len, uint64_t *pgno)
{
    unsigned ps = t->page_size;
    uint64_t payload = ps - PAGE_HEADER_SIZE, pages = ovf_page_count(ps, len), done = 0;
    const uint8_t *src = val;
    uint8_t *buf;
    int rc;

    buf = mem_alloc_aligned(4096, (size_t)OVF_CHUNK_PAGES * ps);
    if (!buf)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate overflow buffer");
    rc = bt_alloc_run(t, pages, pgno);
    if (rc < 0) {
        mem_free_aligned(buf);
        return rc;
    }
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
        rc = pager_write_run(t->pager, *pgno + done, n, buf);
        done += n;
    }
    mem_free_aligned(buf);
    if (rc < 0) {
        fl_free(t->fl, *pgno, pages);
        return rc;
    }
    tree->overflow_pages += pages;
    return 0;
}

int ovf_read(struct bt_txn *t, uint64_t pgno, uint64_t len, uint64_t max_txid, uint8_t *dst)
{
    unsigned ps = t->page_size;
    uint64_t payload = ps - PAGE_HEADER_SIZE, pages = ovf_page_count(ps, len), done = 0;
    uint8_t *buf;
    int rc = 0;

    if (len > FFDB_MAX_VALUE_SIZE || pgno < 2 || pgno + pages > bt_page_limit(t) || pgno + pages < pgno)
        return ERR_CORRUPT(pgno, "overflow run at page %llu (%llu bytes) is outside the file",
                           (unsigned long long)pgno, (unsigned long long)len);
    buf = mem_alloc_aligned(4096, (size_t)OVF_CHUNK_PAGES * ps);
    if (!buf)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate overflow buffer");
    while (rc == 0 && done < pages) {
        uint64_t n = pages - done < OVF_CHUNK_PAGES ? pages - done : OVF_CHUNK_PAGES;
        rc = pager_read_run(t->pager, pgno + done, n, buf);
        for (uint64_t i = 0; rc == 0 && i < n; i++) {
            const uint8_t *p = buf + i * ps;
            uint64_t idx = done + i, off = idx * payload;
            uint64_t take = len - off < payload ? len - off : payload;
            if (p[PH_KIND] != PAGE_OVERFLOW || ld64(p + PH_NEXT) != idx ||
                ld64(p + PH_TXID) > max_txid)
                rc = ERR_CORRUPT(pgno + idx, "page %llu is not page %llu of the overflow run at %llu",
                                 (unsigned long long)(pgno + idx), (unsigned long long)idx,
                                 (unsigned long long)pgno);
            else if (take)
                memcpy(dst + off, p + PAGE_HEADER_SIZE, take);
        }
        done += n;
    }
    mem_free_aligned(buf);
    return rc;
}

int ovf_free(struct bt_txn *t, struct bt_tree *tree, uint64_t pgno, uint64_t len)
{
    uint64_t pages = ovf_page_count(t->page_size, len);
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
