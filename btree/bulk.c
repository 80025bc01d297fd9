/*
 * bulk.c — build a tree bottom-up from strictly increasing keys.
 *
 * Each level keeps one open page. Cells are appended to the leaf level
 * until the page reaches the fill factor; the page is then closed: queued
 * for writing and announced to the level above with its separator (the
 * shortest key between its first key and the previous page's last). Closed
 * pages never change again, so they are written in batches with the pool's
 * asynchronous writes and never enter a frame (the pool drops any stale
 * copy of them first, P6). finish() closes the levels upward until one
 * level holds a single page: the root.
 *
 * Writes overlap the building: closed pages fill a batch buffer; a full
 * buffer is submitted with pool_write_async() and the next buffer of
 * a small ring is filled meanwhile. A buffer is waited for only when it is
 * needed again, and at finish/abort. Leaves (almost every page) are built
 * in place, in the slot of the filling buffer they will be written from;
 * the rare branch pages are built in a page of their own level and copied
 * into a slot when they close (building in place saves a 4 KiB copy per
 * leaf: about 3 ms of CPU per million 116-byte entries, some 5% of the
 * building; small beside the writes). Called by engine/cursor.c
 * (ffdb_bulk_*) and txn abort; calls the pool, the freelist and the node
 * helpers.
 *
 * Invariants:
 *  B1. A buffer with a write in flight is never written, nor freed, before
 *      pool_write_wait() returned for it (next_slot() waits first).
 *  B2. While level 0 has an open page, that page is slot queued_count of
 *      the filling buffer and nothing else is queued: a branch page closes
 *      only after the leaf that made it close was queued, and before the
 *      next leaf is opened.
 *  B3. The loader is freed (finish or abort) only after every buffer's
 *      write completed, whatever its result, so no write of this loader is
 *      in flight when its txn commits or aborts.
 *  B4. Any write error fails the load (b->failed) and the txn (bt_fail):
 *      the destination tree is never published, and only abort remains.
 *  B5. A page gets its number when it closes, so numbers follow the write
 *      order: on a file that grows at its end, every batch is one run that
 *      extends the file, with no hole left for a branch page that closes
 *      later (filling such holes cost a small write and an allocation each).
 */
#include <assert.h>
#include <string.h>

#include "btree/internal.h"
#include "common/alloc.h"
#include "common/error.h"
#include "freelist/freelist.h"

/* Bytes per batch write. Measured on the 1M-entry fillseq (ext4, O_DIRECT,
 * io_uring): 1 MiB batches took 0.11-0.12 s, 256 KiB ones 0.15 s. */
#define BULK_BATCH_BYTES (1u << 20)
#define BULK_BATCH_MAX   (BULK_BATCH_BYTES / PAGE_SIZE_MIN) /* pages, at the smallest size */
/* One buffer filling while the other is written. A third measured no
 * faster: the writes extend the file, and the filesystem serialises those. */
#define BULK_BUFFERS     2u

_Static_assert(BULK_BATCH_BYTES % PAGE_SIZE_MAX == 0, "a batch holds whole pages");
_Static_assert(BULK_BUFFERS >= 2, "double buffering needs two buffers");
_Static_assert(BULK_BUFFERS <= POOL_ASYNC_MAX, "every buffer may be in flight at once");

struct bulk_buffer {
    uint8_t *pages;        /* batch_pages aligned pages */
    uint64_t ticket;       /* of the write in flight (0: already complete) */
    int in_flight;         /* submitted and not yet waited for (B1) */
};

struct bulk_level {
    uint8_t *page;         /* open page, NULL if none; level 0: a batch slot (B2) */
    uint8_t *own;          /* levels above 0: this level's page, kept between pages */
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
    struct bulk_buffer buf[BULK_BUFFERS];
    unsigned cur;                         /* the buffer being filled */
    unsigned batch_pages;                 /* pages per buffer */
    struct pool_page queued[BULK_BATCH_MAX];
    unsigned queued_count;                /* pages of buf[cur] closed so far */
    uint64_t (*runs)[2];                  /* every run allocated, for abort */
    size_t run_count, run_cap;
    int failed;
};

static int remember_run(struct bt_bulk *b, uint64_t pgno, uint64_t count)
{
    assert(count > 0 && pgno >= 2);
    if (b->run_count && b->runs[b->run_count - 1][0] + b->runs[b->run_count - 1][1] == pgno) {
        b->runs[b->run_count - 1][1] += count; /* pages come mostly in file order */
        return 0;
    }
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

/* Collect the result of buffer B's write, if one is in flight. */
static int buffer_wait(struct bt_bulk *b, struct bulk_buffer *B)
{
    uint64_t ticket = B->ticket;
    assert(B->in_flight || B->ticket == 0);
    if (!B->in_flight)
        return 0;
    B->in_flight = 0;
    B->ticket = 0;
    return pool_write_wait(b->t->pool, ticket);
}

/* Wait for every buffer (B3); the first error, or 0. */
static int wait_all(struct bt_bulk *b)
{
    int rc = 0;
    for (unsigned i = 0; i < BULK_BUFFERS; i++) {
        unsigned k = (b->cur + 1 + i) % BULK_BUFFERS; /* oldest first */
        int r = buffer_wait(b, &b->buf[k]);
        if (rc == 0)
            rc = r;
    }
    return rc;
}

/* Submit the filling buffer's pages and move on to the next buffer (which
 * may still be in flight: next_slot() waits for it when it needs it). */
static int flush_queue(struct bt_bulk *b)
{
    struct bulk_buffer *B = &b->buf[b->cur];
    unsigned count = b->queued_count;
    int rc;

    if (count == 0)
        return 0;
    /* B1: the filling buffer is never the one in flight; its pages are its slots. */
    assert(!B->in_flight && count <= b->batch_pages);
    assert(b->queued[0].data == B->pages);
    b->queued_count = 0;
    rc = pool_write_async(b->t->pool, b->queued, count, &B->ticket);
    if (rc < 0)
        return rc; /* nothing in flight */
    B->in_flight = 1;
    b->cur = (b->cur + 1) % BULK_BUFFERS;
    return 0;
}

/* The next free slot of the filling buffer, after submitting a full one and
 * waiting for the buffer's previous write if it is still in flight (B1). */
static int next_slot(struct bt_bulk *b, uint8_t **slot)
{
    if (b->queued_count == b->batch_pages)
        CHECK(flush_queue(b));
    if (b->queued_count == 0)
        CHECK(buffer_wait(b, &b->buf[b->cur]));
    assert(b->queued_count < b->batch_pages && !b->buf[b->cur].in_flight); /* B1 */
    *slot = b->buf[b->cur].pages + (size_t)b->queued_count * b->t->page_size;
    return 0;
}

/* Queue the open page of level lv (just closed) for writing. Its page
 * number is allocated now, not when it was opened: pages are then numbered
 * in the order they are written (B5). A leaf is already in its slot (B2); a
 * branch page is copied into the next one. */
static int queue_page(struct bt_bulk *b, unsigned lv)
{
    uint8_t *slot = b->level[lv].page;
    uint64_t pgno;

    assert(slot && lv < MAX_TREE_DEPTH && node_count(slot) > 0);
    CHECK(fl_alloc(b->t->fl, 1, &pgno, NULL));
    CHECK(remember_run(b, pgno, 1));
    st64(slot + PH_PGNO, pgno);
    if (lv > 0) {
        CHECK(next_slot(b, &slot));
        memcpy(slot, b->level[lv].page, b->t->page_size);
    }
    assert(slot == b->buf[b->cur].pages + (size_t)b->queued_count * b->t->page_size);
    b->queued[b->queued_count].pgno = node_pgno(slot);
    b->queued[b->queued_count].data = slot;
    b->queued_count++;
    if (lv == 0)
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

    /* Unreachable in practice (every level has a fanout of two at least),
     * but the keys are the caller's, so it stays an error. */
    if (lv + 1 >= MAX_TREE_DEPTH)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "bulk load: the tree would exceed %u levels",
                         MAX_TREE_DEPTH);
    CHECK(queue_page(b, lv));
    size = branch_cell_encode(cell, node_pgno(L->page), L->sep.data, L->sep.size);
    L->closed++;
    L->page = NULL; /* B2: before the level above may queue a page */
    return add_cell(b, lv + 1, cell, size, L->sep.data, L->sep.size);
}

static int open_page(struct bt_bulk *b, unsigned lv, const uint8_t *sep, size_t seplen)
{
    struct bulk_level *L = &b->level[lv];
    uint8_t *page;

    assert(!L->page && lv < MAX_TREE_DEPTH);
    if (lv == 0) {
        CHECK(next_slot(b, &page)); /* B2: built where it will be written from */
    } else {
        if (!L->own && !(L->own = mem_alloc_aligned(4096, b->t->page_size)))
            return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate a bulk page");
        page = L->own;
    }
    /* The page number comes when the page closes (queue_page). */
    node_init(page, b->t->page_size, 0, b->t->txid, lv == 0 ? PAGE_LEAF : PAGE_BRANCH);
    L->page = page;
    return bt_buf_set(&L->sep, sep, seplen);
}

/* Append a cell to level lv; sep is the separator that would precede it. */
static int add_cell(struct bt_bulk *b, unsigned lv, const uint8_t *cell, size_t size,
                    const uint8_t *sep, size_t seplen)
{
    struct bulk_level *L = &b->level[lv];
    uint8_t stripped[BRANCH_HEADER];
    int overfull;

    assert(lv < MAX_TREE_DEPTH && size <= bt_max_cell(b->t->page_size)); /* T5 */
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
    /* An empty page takes any cell (T5); a fuller one was measured above. */
    overfull =
        node_insert(L->page, b->t->page_size, node_count(L->page), cell, size, SCRATCH(b->t, 2));
    assert(!overfull);
    (void)overfull;
    return 0;
}

/* Wait for every write (B3) and free the loader; the first write error. */
static int bulk_free(struct bt_bulk *b)
{
    int rc = wait_all(b);
    for (unsigned lv = 0; lv < MAX_TREE_DEPTH; lv++) {
        mem_free_aligned(b->level[lv].own);
        bt_buf_free(&b->level[lv].sep);
    }
    bt_buf_free(&b->last);
    for (unsigned i = 0; i < BULK_BUFFERS; i++)
        mem_free_aligned(b->buf[i].pages);
    mem_free(b->runs);
    mem_free(b);
    return rc;
}

int bt_bulk_begin(struct bt_txn *t, struct bt_tree *tree, double fill_factor, struct bt_bulk **out)
{
    struct bt_bulk *b;
    assert(t && tree && out);
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
    b->t = t;
    b->batch_pages = BULK_BATCH_BYTES / t->page_size;
    for (unsigned i = 0; i < BULK_BUFFERS; i++) {
        b->buf[i].pages = mem_alloc_aligned(4096, BULK_BATCH_BYTES);
        if (!b->buf[i].pages) {
            (void)bulk_free(b);
            return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate the bulk batches");
        }
    }
    b->dest = tree;
    b->limit = (size_t)(fill_factor * (t->page_size - PAGE_HEADER_SIZE));
    /* A branch page takes its key-less first cell and one with a largest
     * key at any fill factor: a fanout of two at least. */
    assert(b->limit >= 2 * (BRANCH_HEADER + SLOT_SIZE) + FFDB_MAX_KEY_SIZE);
    assert(b->batch_pages >= 1 && b->batch_pages <= BULK_BATCH_MAX);
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
    assert(size <= bt_max_cell(b->t->page_size)); /* T5 */
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

int bt_bulk_finish(struct bt_bulk *b)
{
    struct bt_tree *dest = b->dest;
    struct bt_txn *t = b->t;
    struct bt_tree built;
    int rc = b->failed ? b->failed : 0, waited;

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
    built = b->built;
    built.entries = b->appended;
    /* B3: every write completes before the tree is published or dropped;
     * the last one's error is only known now. */
    waited = bulk_free(b);
    if (rc == 0)
        rc = waited;
    if (rc == 0) {
        /* T4/T6: a built tree is empty exactly when nothing was appended. */
        assert((built.depth == 0) == (built.entries == 0) && built.depth <= MAX_TREE_DEPTH);
        assert(built.depth == 0 || built.leaf_pages > 0);
        built.version = dest->version + 1;
        *dest = built;
    } else {
        bt_fail(t, rc); /* B4 */
    }
    return rc;
}

void bt_bulk_abort(struct bt_bulk *b)
{
    if (!b)
        return;
    /* B3 before the pages go back to the freelist: none may still be
     * written once it can hand them out again. Every page was allocated by
     * this txn, so freeing makes them reusable at once. */
    (void)wait_all(b);
    for (size_t i = 0; i < b->run_count; i++)
        fl_free(b->t->fl, b->runs[i][0], b->runs[i][1]);
    (void)bulk_free(b);
}
