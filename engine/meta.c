/*
 * meta.c — the two meta pages: encoding, validation, and choosing the one
 * to trust at open.
 *
 * A meta names its slot in its pgno; commits alternate slots (the meta of
 * txid t in slot t % 2 while they do; FFDB_DEFERSYNC breaks the parity,
 * D1 in db.h). A meta is valid only if its
 * magic, version, page size, checksum and fields all hold; a torn or
 * garbage meta is simply not valid, and open uses the other. Nothing here
 * writes unless asked by meta_write().
 */
#include <assert.h>
#include <string.h>

#include "common/alloc.h"
#include "common/bytes.h"
#include "common/checksum.h"
#include "common/error.h"
#include "common/format.h"
#include "engine/db.h"
#include "pager/pager.h"

void meta_encode(const struct meta *m, uint8_t *page)
{
    /* What meta_decode will demand of it (a meta it rejects is lost). */
    assert(m->page_size == 4096 || m->page_size == 8192 || m->page_size == 16384);
    assert(m->page_count >= 2 && m->catalog.depth <= MAX_TREE_DEPTH);
    assert((m->catalog.root == 0) == (m->catalog.depth == 0));
    assert((m->freelist_root == 0) == (m->freelist_pages == 0));
    memset(page, 0, m->page_size);
    assert(m->slot < 2 && m->base <= m->txid);
    st64(page + PH_PGNO, m->slot);
    st64(page + PH_TXID, m->txid);
    page[PH_KIND] = PAGE_META;
    memcpy(page + META_MAGIC, FFDB_MAGIC_BYTES, 8);
    st32(page + META_VERSION, FORMAT_VERSION);
    st32(page + META_PAGE_SIZE, m->page_size);
    st64(page + META_PAGE_COUNT, m->page_count);
    st64(page + META_FREELIST_ROOT, m->freelist_root);
    st64(page + META_FREELIST_PAGES, m->freelist_pages);
    bt_tree_encode(&m->catalog, page + META_CATALOG);
    st64(page + META_BUCKET_COUNT, m->bucket_count);
    st64(page + META_CLIST_FIRST, m->clist_first);
    st64(page + META_CLIST_PAGES, m->clist_pages);
    st64(page + META_CLIST_ENTRIES, m->clist_entries);
    st64(page + META_CONFIRMED, m->confirmed);
    st64(page + META_BASE, m->base);
}

static int valid_page_size(uint32_t ps)
{
    return ps == 4096 || ps == 8192 || ps == 16384;
}

/* The commit list lies inside the file, past the metas, and its pages
 * hold exactly clist_entries entries (format.h). */
static int clist_fields_valid(const struct meta *m)
{
    uint64_t per = (m->page_size - PAGE_HEADER_SIZE) / CLIST_ENTRY_SIZE;
    if (m->clist_first == 0)
        return m->clist_pages == 0 && m->clist_entries == 0;
    return m->clist_first >= 2 && m->clist_pages > 0 && m->clist_pages <= CLIST_MAX_PAGES &&
           m->clist_first < m->page_count && m->clist_pages <= m->page_count - m->clist_first &&
           m->clist_entries <= m->clist_pages * per;
}

int meta_decode(const uint8_t *page, unsigned page_size, uint64_t slot, struct meta *m)
{
    assert(slot < 2);
    if (memcmp(page + META_MAGIC, FFDB_MAGIC_BYTES, 8) != 0)
        return FFDB_ENOTDB;
    if (ld32(page + META_PAGE_SIZE) != page_size || !valid_page_size(page_size))
        return FFDB_CORRUPT;
    if (!page_verify(page, page_size))
        return FFDB_CORRUPT;
    if (ld32(page + META_VERSION) > FORMAT_VERSION)
        return FFDB_EVERSION;
    if (ld32(page + META_VERSION) < FORMAT_VERSION_MIN || page[PH_KIND] != PAGE_META ||
        ld64(page + PH_PGNO) != slot || ld64(page + PH_TXID) == UINT64_MAX) /* no next txid: the writer could not begin */
        return FFDB_CORRUPT;
    m->txid = ld64(page + PH_TXID);
    m->page_size = page_size;
    m->page_count = ld64(page + META_PAGE_COUNT);
    m->freelist_root = ld64(page + META_FREELIST_ROOT);
    m->freelist_pages = ld64(page + META_FREELIST_PAGES);
    m->bucket_count = ld64(page + META_BUCKET_COUNT);
    bt_tree_decode(&m->catalog, page + META_CATALOG);
    m->clist_first = m->clist_pages = m->clist_entries = m->confirmed = m->base = 0;
    m->slot = slot;
    if (ld32(page + META_VERSION) >= 2) {
        m->clist_first = ld64(page + META_CLIST_FIRST);
        m->clist_pages = ld64(page + META_CLIST_PAGES);
        m->clist_entries = ld64(page + META_CLIST_ENTRIES);
        m->confirmed = ld64(page + META_CONFIRMED);
        m->base = ld64(page + META_BASE);
    }
    if (m->base > m->txid) /* base - 1 < txid */
        return FFDB_CORRUPT;
    if (m->confirmed != 0 && m->confirmed != ld64(page + PH_TXID) + 1)
        return FFDB_CORRUPT;
    if (!clist_fields_valid(m))
        return FFDB_CORRUPT;
    if (m->page_count < 2 || m->page_count > (UINT64_MAX / PAGE_SIZE_MAX) ||
        m->freelist_root >= m->page_count || m->freelist_pages >= m->page_count ||
        (m->freelist_root == 0) != (m->freelist_pages == 0) || m->catalog.root >= m->page_count ||
        m->catalog.depth > MAX_TREE_DEPTH || (m->catalog.root == 0) != (m->catalog.depth == 0) ||
        (m->freelist_root != 0 && m->freelist_root < 2) ||
        (m->catalog.root != 0 && m->catalog.root < 2))
        return FFDB_CORRUPT;
    return 0;
}

/* Keep the two valid metas with the highest txids, newest first. */
static void keep_candidate(const struct meta *m, struct meta *cand, int *n)
{
    if (*n > 0 && m->txid == cand[0].txid)
        return; /* the same commit read at another page size */
    if (*n == 0 || m->txid > cand[0].txid) {
        cand[1] = cand[0];
        cand[0] = *m;
        *n = *n < 2 ? *n + 1 : 2;
    } else if (*n == 1 || m->txid > cand[1].txid) {
        cand[1] = *m;
        *n = 2;
    }
}

int meta_pick(struct pager *pg, struct meta cand[2], int *count)
{
    static const unsigned sizes[] = { 4096, 8192, 16384 };
    uint8_t *buf = mem_alloc_aligned(4096, 2 * PAGE_SIZE_MAX);
    int why = FFDB_ENOTDB;

    *count = 0;
    if (!buf)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate meta buffer");
    for (unsigned s = 0; s < 3; s++) {
        unsigned ps = sizes[s];
        long got = pager_read_raw(pg, buf, 2 * (size_t)ps, 0);
        if (got < 0) {
            mem_free_aligned(buf);
            return (int)got;
        }
        for (uint64_t slot = 0; slot < 2; slot++) {
            struct meta m;
            int rc;
            if ((uint64_t)got < (slot + 1) * ps)
                continue;
            rc = meta_decode(buf + slot * ps, ps, slot, &m);
            if (rc == 0)
                keep_candidate(&m, cand, count);
            /* Remember the most telling reason for "no valid meta". */
            if (rc == FFDB_EVERSION || (rc == FFDB_CORRUPT && why == FFDB_ENOTDB))
                why = rc;
        }
    }
    mem_free_aligned(buf);
    assert(*count <= 2 && (*count < 2 || cand[0].txid > cand[1].txid));
    if (*count > 0)
        return 0;
    if (why == FFDB_EVERSION)
        return ERR_RAISE(why, 0, "file was written by a newer ffdb format");
    if (why == FFDB_CORRUPT)
        return ERR_CORRUPT(0, "both meta pages are damaged or name a truncated file");
    return ERR_RAISE(FFDB_ENOTDB, 0, "no ffdb meta page found: not an ffdb file");
}

int meta_write(struct pager *pg, const struct meta *m, uint8_t *page)
{
    return meta_write_with(pg, m, page, NULL, 0);
}

int meta_write_with(struct pager *pg, const struct meta *m, uint8_t *page,
                    struct pager_page *extra, size_t extra_count)
{
    struct pager_page w;
    struct meta back;
    meta_encode(m, page);
    /* Paired with the check at open: what goes out is a valid meta of its
     * slot (E7, D1). The checksum is the pager's, on the way out. */
    page_seal(page, m->page_size);
    assert(meta_decode(page, m->page_size, m->slot, &back) == 0 && back.txid == m->txid);
    (void)back;
    assert(extra_count <= CLIST_MAX_PAGES);
    for (size_t i = 0; i < extra_count; i++)
        assert(extra[i].pgno > 2); /* never one run with the meta (the crash harness's rule) */
    w.pgno = m->slot;
    w.data = page;
    /* The meta after the commit list, in the same batch. */
    return pager_write_pages_then(pg, extra, extra_count, &w);
}
