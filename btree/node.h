/*
 * node.h — the slotted layout of branch and leaf pages (format.h).
 *
 * Accessors here trust the page: pages from disk were checked once by
 * bt_page_verify() when they entered the pool, and pages built by the
 * writer are built by these functions. Nothing here allocates or does I/O.
 */
#ifndef FFDB_BTREE_NODE_H
#define FFDB_BTREE_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "common/format.h"

static inline unsigned node_kind(const uint8_t *p)
{
    return p[PH_KIND];
}
static inline unsigned node_count(const uint8_t *p)
{
    return ld16(p + PH_COUNT);
}
static inline uint64_t node_txid(const uint8_t *p)
{
    return ld64(p + PH_TXID);
}
static inline uint64_t node_pgno(const uint8_t *p)
{
    return ld64(p + PH_PGNO);
}
static inline unsigned node_lower(const uint8_t *p)
{
    return ld16(p + PH_LOWER);
}
static inline unsigned node_upper(const uint8_t *p)
{
    return ld16(p + PH_UPPER);
}
static inline const uint8_t *node_cell(const uint8_t *p, unsigned i)
{
    return p + ld16(p + PAGE_HEADER_SIZE + SLOT_SIZE * i);
}

/* Leaf cells. */
static inline unsigned leaf_klen(const uint8_t *c)
{
    return ld16(c + LEAF_KLEN);
}
static inline const uint8_t *leaf_key(const uint8_t *c)
{
    return c + LEAF_HEADER;
}
static inline int leaf_big(const uint8_t *c)
{
    return (c[LEAF_FLAGS] & CELL_BIG) != 0;
}
static inline uint32_t leaf_vlen(const uint8_t *c)
{
    return ld32(c + LEAF_VLEN);
}
static inline const uint8_t *leaf_val(const uint8_t *c)
{
    return c + LEAF_HEADER + leaf_klen(c);
}
static inline size_t leaf_cell_size(const uint8_t *c)
{
    return LEAF_HEADER + leaf_klen(c) + leaf_vlen(c);
}

/* Branch cells. */
static inline uint64_t branch_child(const uint8_t *c)
{
    return ld64(c + BRANCH_CHILD);
}
static inline unsigned branch_klen(const uint8_t *c)
{
    return ld16(c + BRANCH_KLEN);
}
static inline const uint8_t *branch_key(const uint8_t *c)
{
    return c + BRANCH_HEADER;
}
static inline size_t branch_cell_size(const uint8_t *c)
{
    return BRANCH_HEADER + branch_klen(c);
}

static inline size_t node_cell_size(const uint8_t *p, const uint8_t *c)
{
    return node_kind(p) == PAGE_LEAF ? leaf_cell_size(c) : branch_cell_size(c);
}

/* The key of cell i (leaf or branch). */
static inline const uint8_t *node_key(const uint8_t *p, unsigned i, size_t *klen)
{
    const uint8_t *c = node_cell(p, i);
    if (node_kind(p) == PAGE_LEAF) {
        *klen = leaf_klen(c);
        return leaf_key(c);
    }
    *klen = branch_klen(c);
    return branch_key(c);
}

/* A cell to be placed into a page: its bytes live elsewhere. */
struct cellref {
    const uint8_t *p;
    size_t size;
};

/* Fresh empty page of kind with the common header filled in. */
void node_init(uint8_t *p, unsigned page_size, uint64_t pgno, uint64_t txid, unsigned kind);
/* Leaf: index of the first key >= key; *exact set if equal. */
unsigned node_search_leaf(const uint8_t *p, const void *key, size_t klen, int *exact);
/* Branch: index of the child whose range holds key (last cell with key <= key). */
unsigned node_search_branch(const uint8_t *p, const void *key, size_t klen);
/* Bytes used by slots and cells. */
size_t node_used(const uint8_t *p);
/* Insert a cell at index i. Returns 0, or 1 if it does not fit (the page
 * is unchanged). Compacts the page when the free space is fragmented. */
int  node_insert(uint8_t *p, unsigned page_size, unsigned i, const void *cell, size_t size,
                 uint8_t *scratch);
/* Remove cell i (its bytes become fragmented free space). */
void node_remove(uint8_t *p, unsigned i);
/* Rewrite the page to hold exactly cells[0..n) (kept header, new layout).
 * The cells must not point into p itself. Returns 1 if they do not fit. */
int  node_build(uint8_t *p, unsigned page_size, const struct cellref *cells, unsigned n);
/* Encoding helpers for new cells; return the cell size. */
size_t leaf_cell_encode(uint8_t *out, const void *key, size_t klen, const void *val, size_t vlen,
                        int big);
size_t branch_cell_encode(uint8_t *out, uint64_t child, const void *key, size_t klen);
static inline void branch_set_child(uint8_t *p, unsigned i, uint64_t child)
{
    st64((uint8_t *)node_cell(p, i) + BRANCH_CHILD, child);
}

#endif /* FFDB_BTREE_NODE_H */
