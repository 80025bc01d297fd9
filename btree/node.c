/*
 * node.c — searching and rearranging cells within one slotted page.
 *
 * Called by the tree operations (insert, delete, split, bulk) with pages the
 * writer owns, and by searches with any verified page. Never allocates,
 * never does I/O, never looks beyond page_size bytes.
 *
 * The asserts sit in the functions that change a page, which only the
 * writer calls, on pages it owns: they state what bt_page_verify()
 * guarantees for a page from disk and what the writer keeps for the pages
 * it builds (the slot area ends at lower = header + 2 * count, at or below
 * upper, the lowest cell). They never look at keys, whose order (T3) a
 * damaged file may break without failing the hook. The searches carry
 * none: a reader of a damaged file whose snapshot reaches a page the writer
 * has just been handed as free may see that frame change under it, and
 * what a file contains must never reach an assert.
 */
#include "btree/node.h"

#include <assert.h>
#include <string.h>

#include "ffdb.h"

/* The slot area and the cell area do not meet (bt_page_verify, or built so). */
static inline int slots_sound(const uint8_t *p)
{
    return node_lower(p) == PAGE_HEADER_SIZE + SLOT_SIZE * node_count(p) &&
           node_lower(p) <= node_upper(p);
}

void node_init(uint8_t *p, unsigned page_size, uint64_t pgno, uint64_t txid, unsigned kind)
{
    assert(page_size >= PAGE_SIZE_MIN && page_size <= PAGE_SIZE_MAX);
    assert(kind == PAGE_LEAF || kind == PAGE_BRANCH);
    memset(p, 0, PAGE_HEADER_SIZE);
    st64(p + PH_PGNO, pgno);
    st64(p + PH_TXID, txid);
    p[PH_KIND] = (uint8_t)kind;
    st16(p + PH_COUNT, 0);
    st16(p + PH_LOWER, PAGE_HEADER_SIZE);
    /* page_size can be 65536 only in theory; the format caps it at 16384. */
    st16(p + PH_UPPER, (uint16_t)page_size);
}

unsigned node_search_leaf(const uint8_t *p, const void *key, size_t klen, int *exact)
{
    unsigned lo = 0, hi = node_count(p);
    *exact = 0;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const uint8_t *c = node_cell(p, mid);
        int cmp = key_cmp(leaf_key(c), leaf_klen(c), key, klen);
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            if (cmp == 0)
                *exact = 1;
            hi = mid;
        }
    }
    return lo;
}

unsigned node_search_branch(const uint8_t *p, const void *key, size_t klen)
{
    /* Find the last cell whose key is <= key; cell 0 (empty key) always is. */
    unsigned lo = 1, hi = node_count(p);
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        const uint8_t *c = node_cell(p, mid);
        if (key_cmp(branch_key(c), branch_klen(c), key, klen) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

size_t node_used(const uint8_t *p)
{
    unsigned n = node_count(p);
    size_t used = (size_t)n * SLOT_SIZE;
    for (unsigned i = 0; i < n; i++)
        used += node_cell_size(p, node_cell(p, i));
    return used;
}

/* Rewrite p's cells contiguously at the page end, through scratch. */
static void node_compact(uint8_t *p, unsigned page_size, uint8_t *scratch)
{
    unsigned n = node_count(p);
    unsigned upper = page_size;
    memcpy(scratch, p, page_size);
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *c = node_cell(scratch, i);
        size_t size = node_cell_size(scratch, c);
        upper -= (unsigned)size;
        memcpy(p + upper, c, size);
        st16(p + PAGE_HEADER_SIZE + SLOT_SIZE * i, (uint16_t)upper);
    }
    st16(p + PH_UPPER, (uint16_t)upper);
    /* Cells do not overlap (bt_page_verify), so packed they fit above the slots. */
    assert(slots_sound(p));
}

int node_insert(uint8_t *p, unsigned page_size, unsigned i, const void *cell, size_t size,
                uint8_t *scratch)
{
    unsigned n = node_count(p);
    unsigned lower = node_lower(p), upper = node_upper(p);
    assert(i <= n && slots_sound(p));
    assert(size > 0 && size + SLOT_SIZE <= page_size - PAGE_HEADER_SIZE);
    if (upper - lower < size + SLOT_SIZE) {
        size_t used = node_used(p);
        if (PAGE_HEADER_SIZE + used + size + SLOT_SIZE > page_size)
            return 1;
        node_compact(p, page_size, scratch);
        upper = node_upper(p);
    }
    upper -= (unsigned)size;
    memcpy(p + upper, cell, size);
    uint8_t *slots = p + PAGE_HEADER_SIZE;
    memmove(slots + SLOT_SIZE * (i + 1), slots + SLOT_SIZE * i, (size_t)(n - i) * SLOT_SIZE);
    st16(slots + SLOT_SIZE * i, (uint16_t)upper);
    st16(p + PH_COUNT, (uint16_t)(n + 1));
    st16(p + PH_LOWER, (uint16_t)(lower + SLOT_SIZE));
    st16(p + PH_UPPER, (uint16_t)upper);
    assert(slots_sound(p) && node_upper(p) <= page_size);
    return 0;
}

void node_remove(uint8_t *p, unsigned i)
{
    unsigned n = node_count(p);
    uint8_t *slots = p + PAGE_HEADER_SIZE;
    assert(i < n && slots_sound(p));
    /* The cell's bytes stay as a hole; if it was the lowest cell, reclaim it. */
    if (ld16(slots + SLOT_SIZE * i) == node_upper(p))
        st16(p + PH_UPPER, (uint16_t)(node_upper(p) + node_cell_size(p, node_cell(p, i))));
    memmove(slots + SLOT_SIZE * i, slots + SLOT_SIZE * (i + 1), (size_t)(n - i - 1) * SLOT_SIZE);
    st16(p + PH_COUNT, (uint16_t)(n - 1));
    st16(p + PH_LOWER, (uint16_t)(node_lower(p) - SLOT_SIZE));
    assert(slots_sound(p));
}

int node_build(uint8_t *p, unsigned page_size, const struct cellref *cells, unsigned n)
{
    size_t total = 0;
    unsigned upper = page_size;
    for (unsigned i = 0; i < n; i++)
        total += cells[i].size + SLOT_SIZE;
    if (PAGE_HEADER_SIZE + total > page_size)
        return 1;
    for (unsigned i = 0; i < n; i++) {
        /* The cells live outside p: building would overwrite them. */
        assert(cells[i].p + cells[i].size <= p || cells[i].p >= p + page_size);
        upper -= (unsigned)cells[i].size;
        memcpy(p + upper, cells[i].p, cells[i].size);
        st16(p + PAGE_HEADER_SIZE + SLOT_SIZE * i, (uint16_t)upper);
    }
    st16(p + PH_COUNT, (uint16_t)n);
    st16(p + PH_LOWER, (uint16_t)(PAGE_HEADER_SIZE + SLOT_SIZE * n));
    st16(p + PH_UPPER, (uint16_t)upper);
    assert(slots_sound(p));
    return 0;
}

size_t leaf_cell_encode(uint8_t *out, const void *key, size_t klen, const void *val, size_t vlen,
                        int big)
{
    assert(klen <= FFDB_MAX_KEY_SIZE && vlen <= UINT32_MAX);
    assert(!big || vlen == BIGREF_SIZE);
    st16(out + LEAF_KLEN, (uint16_t)klen);
    out[LEAF_FLAGS] = big ? CELL_BIG : 0;
    out[LEAF_FLAGS + 1] = 0;
    st32(out + LEAF_VLEN, (uint32_t)vlen);
    if (klen)
        memcpy(out + LEAF_HEADER, key, klen);
    if (vlen)
        memcpy(out + LEAF_HEADER + klen, val, vlen);
    return LEAF_HEADER + klen + vlen;
}

size_t branch_cell_encode(uint8_t *out, uint64_t child, const void *key, size_t klen)
{
    assert(klen <= FFDB_MAX_KEY_SIZE);
    st64(out + BRANCH_CHILD, child);
    st16(out + BRANCH_KLEN, (uint16_t)klen);
    if (klen)
        memcpy(out + BRANCH_HEADER, key, klen);
    return BRANCH_HEADER + klen;
}
