/*
 * bulk.c — build a tree bottom-up from strictly increasing keys.
 *
 * Each level keeps one open page. Cells are appended to the leaf level
 * until the page reaches the fill factor; the page is then closed: queued
 * for writing and announced to the level above with its separator (the
 * shortest key between its first key and the previous page's last). Closed
 * pages never change again, so they are written straight through the pager
 * in batches and never enter the buffer pool. finish() closes the levels
 * upward until one level holds a single page: the root.
 */
#include <string.h>

#include "btree/internal.h"
#include "common/alloc.h"
#include "common/error.h"
#include "freelist/freelist.h"
#include "pager/pager.h"

#define BULK_BATCH_PAGES 64u

struct bulk_level {
    uint8_t *page;         /* open page, NULL if none */
    struct bt_buf sep;     /* key that will point at the open page from above */
    uint64_t closed;       /* pages closed at this level */
};

struct bt_bulk {
    struct bt_txn *t;
    struct bt_tree *dest;
    struct bt_tree built;
    size_t limit;                         /* bytes of cells+slots per page */
    struct bulk_level level[MAX_TREE_DEPTH];
    struct bt_buf last;                   /* previous key, for EKEYORDER */
    uint64_t appended;
    uint8_t *batch;                       /* BULK_BATCH_PAGES closed pages */
    struct pager_page queued[BULK_BATCH_PAGES];
    unsigned queued_count;
    uint64_t (*runs)[2];                  /* every run allocated, for abort */
    size_t run_count, run_cap;
    int failed;
};

static int remember_run(struct bt_bulk *b, uint64_t pgno, uint64_t count)
{
    if (b->run_count == b->run_cap) {
        size_t cap = b->run_cap ? b->run_cap * 2 : 64;
        void *p = mem_realloc(b->runs, cap * sizeof(*b->runs));
        if (!p)
            return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot grow the bulk run list");
        b->runs = p;
        b->run_cap = cap;
    }
    b->runs[b->run_count][0] = pgno;
    b->runs[b->run_count][1] = count;
    b->run_count++;
    return 0;
}

static int flush_queue(struct bt_bulk *b)
{
    int rc = 0;
    if (b->queued_count)
        rc = pager_write_pages(b->t->pager, b->queued, b->queued_count);
    b->queued_count = 0;
    return rc;
}

/* Move the open page of level lv into the write queue. */
static int queue_page(struct bt_bulk *b, unsigned lv)
{
    unsigned ps = b->t->page_size;
    uint8_t *slot;
    if (b->queued_count == BULK_BATCH_PAGES)
        CHECK(flush_queue(b));
    slot = b->batch + (size_t)b->queued_count * ps;
    memcpy(slot, b->level[lv].page, ps);
    b->queued[b->queued_count].pgno = node_pgno(slot);
    b->queued[b->queued_count].data = slot;
    b->queued_count++;
    if (node_kind(slot) == PAGE_LEAF)
        b->built.leaf_pages++;
    else
        b->built.branch_pages++;
    return 0;
}

static int add_cell(struct bt_bulk *b, unsigned lv, const uint8_t *cell, size_t size,
                    const uint8_t *sep, size_t seplen);

/* Close level lv's open page and hand it to the level above. */
static int close_page(struct bt_bulk *b, unsigned lv)
{
    struct bulk_level *L = &b->level[lv];
    uint8_t cell[BRANCH_HEADER + FFDB_MAX_KEY_SIZE];
    size_t size;

    if (lv + 1 >= MAX_TREE_DEPTH)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "bulk tree too deep");
    CHECK(queue_page(b, lv));
    size = branch_cell_encode(cell, node_pgno(L->page), L->sep.data, L->sep.size);
    L->closed++;
    CHECK(add_cell(b, lv + 1, cell, size, L->sep.data, L->sep.size));
    mem_free_aligned(L->page);
    L->page = NULL;
    return 0;
}

static int open_page(struct bt_bulk *b, unsigned lv, const uint8_t *sep, size_t seplen)
{
    struct bulk_level *L = &b->level[lv];
    uint64_t pgno;
    L->page = mem_alloc_aligned(4096, b->t->page_size);
    if (!L->page)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate a bulk page");
    CHECK(bt_alloc_run(b->t, 1, &pgno));
    CHECK(remember_run(b, pgno, 1));
    node_init(L->page, b->t->page_size, pgno, b->t->txid, lv == 0 ? PAGE_LEAF : PAGE_BRANCH);
    return bt_buf_set(&L->sep, sep, seplen);
}

/* Append a cell to level lv; sep is the separator that would precede it. */
static int add_cell(struct bt_bulk *b, unsigned lv, const uint8_t *cell, size_t size,
                    const uint8_t *sep, size_t seplen)
{
    struct bulk_level *L = &b->level[lv];
    uint8_t stripped[BRANCH_HEADER];

    if (L->page && node_count(L->page) > 0) {
        /* An open page only ever gets cells appended (no holes), so its
         * used bytes are the cell area plus the slots: node_used() without
         * its walk over every cell, which made each append O(cells). */
        size_t used = (b->t->page_size - node_upper(L->page)) + (size_t)node_count(L->page) * SLOT_SIZE;
        if (used + size + SLOT_SIZE > b->limit ||
            PAGE_HEADER_SIZE + used + size + SLOT_SIZE > b->t->page_size)
            CHECK(close_page(b, lv));
    }
    if (!L->page)
        CHECK(open_page(b, lv, sep, seplen));
    if (lv > 0 && node_count(L->page) == 0) {
        /* A branch page's first key lives in the level above. */
        size = branch_cell_encode(stripped, branch_child(cell), NULL, 0);
        cell = stripped;
    }
    if (node_insert(L->page, b->t->page_size, node_count(L->page), cell, size, SCRATCH(b->t, 2)))
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "bulk cell does not fit an empty page");
    return 0;
}

int bt_bulk_begin(struct bt_txn *t, struct bt_tree *tree, double fill_factor, struct bt_bulk **out)
{
    struct bt_bulk *b;
    if (t->failed)
        return FFDB_EBADTXN;
    if (!t->fl)
        return FFDB_EREADONLY;
    if (tree->depth != 0 || tree->entries != 0)
        return FFDB_ENOTEMPTY;
    if (!(fill_factor > 0)) /* 0 and NaN mean the default */
        fill_factor = 0.7;
    if (fill_factor < 0.3)
        fill_factor = 0.3;
    if (fill_factor > 1.0)
        fill_factor = 1.0;
    b = mem_calloc(1, sizeof(*b));
    if (!b)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate a bulk loader");
    b->batch = mem_alloc_aligned(4096, (size_t)BULK_BATCH_PAGES * t->page_size);
    if (!b->batch) {
        mem_free(b);
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate the bulk batch");
    }
    b->t = t;
    b->dest = tree;
    b->limit = (size_t)(fill_factor * (t->page_size - PAGE_HEADER_SIZE));
    *out = b;
    return 0;
}

int bt_bulk_append(struct bt_bulk *b, const void *key, size_t klen, const void *val, size_t vlen)
{
    uint8_t cell[LEAF_HEADER + PAGE_SIZE_MAX], ref[BIGREF_SIZE];
    const uint8_t *sep = NULL;
    size_t size, seplen = 0;
    int rc;

    if (b->failed || b->t->failed)
        return FFDB_EBADTXN;
    if (klen > FFDB_MAX_KEY_SIZE || vlen > FFDB_MAX_VALUE_SIZE)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "key of %zu or value of %zu bytes is too large",
                         klen, vlen);
    if (b->appended && key_cmp(b->last.data, b->last.size, key, klen) >= 0)
        return FFDB_EKEYORDER;
    if (vlen <= bt_max_inline(b->t->page_size, klen)) {
        size = leaf_cell_encode(cell, key, klen, val, vlen, 0);
    } else {
        uint64_t pgno;
        rc = ovf_write(b->t, &b->built, val, vlen, &pgno);
        if (rc == 0)
            rc = remember_run(b, pgno, ovf_page_count(b->t->page_size, vlen));
        if (rc < 0)
            goto fail;
        st64(ref + BIGREF_PGNO, pgno);
        st64(ref + BIGREF_LEN, vlen);
        size = leaf_cell_encode(cell, key, klen, ref, BIGREF_SIZE, 1);
    }
    if (b->appended) {
        seplen = bt_separator(b->last.data, b->last.size, key, klen);
        sep = key;
    }
    rc = add_cell(b, 0, cell, size, sep, seplen);
    if (rc == 0)
        rc = bt_buf_set(&b->last, key, klen);
    if (rc < 0)
        goto fail;
    b->appended++;
    return 0;
fail:
    b->failed = rc;
    return bt_fail(b->t, rc);
}

static void bulk_free(struct bt_bulk *b)
{
    for (unsigned lv = 0; lv < MAX_TREE_DEPTH; lv++) {
        mem_free_aligned(b->level[lv].page);
        bt_buf_free(&b->level[lv].sep);
    }
    bt_buf_free(&b->last);
    mem_free_aligned(b->batch);
    mem_free(b->runs);
    mem_free(b);
}

int bt_bulk_finish(struct bt_bulk *b)
{
    struct bt_tree *dest = b->dest;
    int rc = b->failed ? b->failed : 0;

    for (unsigned lv = 0; rc == 0 && lv < MAX_TREE_DEPTH && b->level[lv].page; lv++) {
        if (b->level[lv].closed == 0) { /* the only page of the top level */
            rc = queue_page(b, lv);
            b->built.root = node_pgno(b->level[lv].page);
            b->built.depth = lv + 1;
            break;
        }
        rc = close_page(b, lv);
    }
    if (rc == 0)
        rc = flush_queue(b);
    if (rc == 0) {
        b->built.entries = b->appended;
        b->built.version = dest->version + 1;
        *dest = b->built;
    } else {
        bt_fail(b->t, rc);
    }
    bulk_free(b);
    return rc;
}

void bt_bulk_abort(struct bt_bulk *b)
{
    if (!b)
        return;
    /* Every page was allocated by this txn: free makes them reusable at once. */
    for (size_t i = 0; i < b->run_count; i++)
        fl_free(b->t->fl, b->runs[i][0], b->runs[i][1]);
    bulk_free(b);
}
