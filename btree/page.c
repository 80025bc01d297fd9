/*
 * page.c — verified access to tree pages, allocation, copy-on-write, the
 * pinned search path, transaction buffers, and the pool's verify hook.
 *
 * Every page a tree operation reads passes through bt_page_get(), which
 * checks what only the tree knows: the page is in range, is a branch or
 * leaf, and is not newer than whatever pointed at it (T2). Structural
 * bounds were checked once, on the way in from disk, by bt_page_verify(),
 * and with them T5, so that no page from disk holds a cell the split and
 * merge code could not place (they assert that it never happens).
 */
#include <assert.h>
#include <string.h>

#include "btree/internal.h"
#include "common/alloc.h"
#include "common/error.h"
#include "freelist/freelist.h"

#define CACHE_LINE_SIZE 64u

size_t bt_max_cell(unsigned page_size)
{
    assert(page_size >= PAGE_SIZE_MIN && page_size <= PAGE_SIZE_MAX);
    return (page_size - PAGE_HEADER_SIZE) / 3 - SLOT_SIZE;
}

size_t bt_max_inline(unsigned page_size, size_t klen)
{
    size_t max = bt_max_cell(page_size);
    return max > LEAF_HEADER + klen ? max - LEAF_HEADER - klen : 0;
}

_Static_assert(BRANCH_HEADER + FFDB_MAX_KEY_SIZE <= (PAGE_SIZE_MIN - PAGE_HEADER_SIZE) / 3 - SLOT_SIZE,
               "a branch cell with the largest key must fit T5");
_Static_assert(LEAF_HEADER + FFDB_MAX_KEY_SIZE + BIGREF_SIZE <=
                   (PAGE_SIZE_MIN - PAGE_HEADER_SIZE) / 3 - SLOT_SIZE,
               "a leaf cell with the largest key and an overflow value must fit T5");

void bt_tree_decode(struct bt_tree *t, const uint8_t rec[TREC_SIZE])
{
    t->root = ld64(rec + TREC_ROOT);
    t->entries = ld64(rec + TREC_ENTRIES);
    t->branch_pages = ld64(rec + TREC_BRANCH_PAGES);
    t->leaf_pages = ld64(rec + TREC_LEAF_PAGES);
    t->overflow_pages = ld64(rec + TREC_OVERFLOW_PAGES);
    t->depth = ld32(rec + TREC_DEPTH);
    t->version = 0;
}

void bt_tree_encode(const struct bt_tree *t, uint8_t rec[TREC_SIZE])
{
    st64(rec + TREC_ROOT, t->root);
    st64(rec + TREC_ENTRIES, t->entries);
    st64(rec + TREC_BRANCH_PAGES, t->branch_pages);
    st64(rec + TREC_LEAF_PAGES, t->leaf_pages);
    st64(rec + TREC_OVERFLOW_PAGES, t->overflow_pages);
    st32(rec + TREC_DEPTH, t->depth);
    st32(rec + TREC_FLAGS, 0);
}

int bt_buf_reserve(struct bt_buf *b, size_t cap)
{
    uint8_t *p;
    if (cap <= b->cap)
        return 0;
    if (cap < 256)
        cap = 256;
    if (cap < b->cap * 2)
        cap = b->cap * 2;
    p = mem_realloc(b->data, cap);
    if (!p)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int bt_buf_set(struct bt_buf *b, const void *data, size_t size)
{
    CHECK(bt_buf_reserve(b, size));
    if (size)
        memcpy(b->data, data, size);
    b->size = size;
    return 0;
}

void bt_buf_free(struct bt_buf *b)
{
    mem_free(b->data);
    b->data = NULL;
    b->size = b->cap = 0;
}

int bt_txn_init(struct bt_txn *t, struct pool *pool, struct freelist *fl, uint64_t txid,
                uint64_t page_count)
{
    memset(t, 0, sizeof(*t));
    t->pool = pool;
    t->fl = fl;
    t->txid = txid;
    t->page_count = page_count;
    t->page_size = pool_page_size(pool);
    assert(t->page_size >= PAGE_SIZE_MIN && t->page_size <= PAGE_SIZE_MAX);
    assert(fl || page_count >= 2); /* a read txn's snapshot holds the metas at least */
    if (fl) {
        t->scratch = mem_alloc_aligned(4096, (size_t)3 * t->page_size);
        if (!t->scratch)
            return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate scratch pages");
    }
    return 0;
}

void bt_txn_release(struct bt_txn *t)
{
    if (t->held)
        pool_unpin(t->pool, t->held);
    t->held = NULL;
    bt_buf_free(&t->val);
    mem_free_aligned(t->scratch);
    t->scratch = NULL;
    mem_free_aligned(t->run_buf);
    t->run_buf = NULL;
    t->run_buf_pages = 0;
}

uint64_t bt_page_limit(const struct bt_txn *t)
{
    return t->fl ? fl_page_count(t->fl) : t->page_count;
}

/* Set bits [from, to) of map; 1 if one of them was set already. */
static int mark_bytes(uint64_t *map, size_t from, size_t to)
{
    while (from < to) {
        size_t w = from / 64, lo = from % 64, hi = to - w * 64 < 64 ? to - w * 64 : 64;
        uint64_t mask = (hi == 64 ? ~0ull : (1ull << hi) - 1) & ~((1ull << lo) - 1);
        if (map[w] & mask)
            return 1;
        map[w] |= mask;
        from = w * 64 + hi;
    }
    return 0;
}

/* The pool's verify hook: bounds of everything the accessors will read, and
 * cells that do not overlap. */
int bt_page_verify(void *ctx, const uint8_t *p, uint64_t pgno)
{
    unsigned page_size = *(const unsigned *)ctx;
    unsigned kind = node_kind(p), n = node_count(p);
    unsigned lower = node_lower(p), upper = node_upper(p);
    /* One bit per byte of the page: cells must not overlap, or node_remove's
     * reclaim of the lowest cell would hand out bytes another cell uses. */
    uint64_t used[PAGE_SIZE_MAX / 64];
    size_t max_cell = bt_max_cell(page_size);

    if (kind != PAGE_LEAF && kind != PAGE_BRANCH)
        return ERR_CORRUPT(pgno, "page %llu has kind %u where a tree page was expected",
                           (unsigned long long)pgno, kind);
    if (lower != PAGE_HEADER_SIZE + SLOT_SIZE * n || upper < lower || upper > page_size)
        return ERR_CORRUPT(pgno, "page %llu has a bad slot area (count %u, lower %u, upper %u)",
                           (unsigned long long)pgno, n, lower, upper);
    if (kind == PAGE_BRANCH && n == 0)
        return ERR_CORRUPT(pgno, "branch page %llu has no children", (unsigned long long)pgno);
    for (unsigned i = 0; i < n; i++) {
        unsigned off = ld16(p + PAGE_HEADER_SIZE + SLOT_SIZE * i);
        size_t room = page_size - off, size, klen;
        if (off < upper || off >= page_size)
            goto bad_cell;
        if (kind == PAGE_LEAF) {
            if (room < LEAF_HEADER)
                goto bad_cell;
            klen = leaf_klen(p + off);
            size = LEAF_HEADER + klen + leaf_vlen(p + off);
            if (leaf_big(p + off) && leaf_vlen(p + off) != BIGREF_SIZE)
                goto bad_cell;
        } else {
            if (room < BRANCH_HEADER)
                goto bad_cell;
            klen = branch_klen(p + off);
            size = BRANCH_HEADER + klen;
            if (i == 0 && klen != 0)
                goto bad_cell;
        }
        if (klen > FFDB_MAX_KEY_SIZE || size > room)
            goto bad_cell;
        /* T5: the writer never makes a larger cell, and split and merge
         * count on it (a page of larger ones may have no split that fits). */
        if (size > max_cell)
            return ERR_CORRUPT(pgno, "page %llu cell %u has %zu bytes, over the %zu of T5",
                               (unsigned long long)pgno, i, size, max_cell);
        if (i == 0)
            memset(used, 0, page_size / 8);
        if (mark_bytes(used, off, off + size))
            return ERR_CORRUPT(pgno, "page %llu cell %u overlaps another cell",
                               (unsigned long long)pgno, i);
        continue;
    bad_cell:
        return ERR_CORRUPT(pgno, "page %llu cell %u is out of bounds", (unsigned long long)pgno, i);
    }
    return 0;
}

/* Start loading every line of the page a search may touch — the slots
 * below lower and the cells from upper on, not the free gap — so that the
 * binary search's dependent loads find them in the cache instead of
 * waiting on memory one after another. Only a hint: a damaged header
 * prefetches too little or too much, never reads. */
static void prefetch_cells(const uint8_t *p, unsigned page_size)
{
    unsigned lower = node_lower(p), upper = node_upper(p);
    if (lower > page_size || upper > page_size || lower > upper)
        lower = upper = page_size;
    for (unsigned off = CACHE_LINE_SIZE; off < lower; off += CACHE_LINE_SIZE)
        __builtin_prefetch(p + off);
    for (unsigned off = upper & ~(CACHE_LINE_SIZE - 1); off < page_size; off += CACHE_LINE_SIZE)
        __builtin_prefetch(p + off);
}

int bt_page_get(struct bt_txn *t, uint64_t pgno, uint64_t max_txid, struct pool_frame **f)
{
    uint64_t txid;
    if (pgno < 2 || pgno >= bt_page_limit(t))
        return ERR_CORRUPT(pgno, "page number %llu is outside the file (%llu pages)",
                           (unsigned long long)pgno, (unsigned long long)bt_page_limit(t));
    CHECK(pool_get(t->pool, pgno, f));
    assert((*f)->pgno == pgno); /* P1, P2 */
    prefetch_cells((*f)->data, t->page_size);
    txid = node_txid((*f)->data);
    if (txid > max_txid) {
        pool_unpin(t->pool, *f);
        *f = NULL;
        return ERR_CORRUPT(pgno, "page %llu (txid %llu) is newer than what points to it (txid %llu)",
                           (unsigned long long)pgno, (unsigned long long)txid,
                           (unsigned long long)max_txid);
    }
    return 0;
}

void bt_page_put(struct bt_txn *t, struct pool_frame *f)
{
    if (f)
        pool_unpin(t->pool, f);
}

static void count_page(struct bt_tree *tree, unsigned kind, int delta)
{
    if (kind == PAGE_LEAF)
        tree->leaf_pages += (uint64_t)(int64_t)delta;
    else
        tree->branch_pages += (uint64_t)(int64_t)delta;
}

/* A new page for this txn: an empty node of kind, or a copy of src (COW,
 * written over the whole frame, so the frame is not zeroed first). */
static int page_new(struct bt_txn *t, struct bt_tree *tree, unsigned kind, const uint8_t *src,
                    struct pool_frame **f)
{
    uint64_t pgno;
    int reused, rc;
    assert(t->fl && !t->failed && (kind == PAGE_LEAF || kind == PAGE_BRANCH));
    CHECK(fl_alloc(t->fl, 1, &pgno, &reused));
    rc = src ? pool_new_raw(t->pool, pgno, f) : pool_new(t->pool, pgno, f);
    if (rc < 0) {
        fl_free(t->fl, pgno, 1);
        return rc;
    }
    assert((*f)->pgno == pgno);
    if (src) {
        memcpy((*f)->data, src, t->page_size);
        st64((*f)->data + PH_PGNO, pgno);
        st64((*f)->data + PH_TXID, t->txid);
    } else {
        node_init((*f)->data, t->page_size, pgno, t->txid, kind);
    }
    count_page(tree, kind, 1);
    return 0;
}

int bt_page_new(struct bt_txn *t, struct bt_tree *tree, unsigned kind, struct pool_frame **f)
{
    return page_new(t, tree, kind, NULL, f);
}

int bt_page_free(struct bt_txn *t, struct bt_tree *tree, uint64_t pgno, unsigned kind)
{
    assert(t->fl && (kind == PAGE_LEAF || kind == PAGE_BRANCH));
    /* A page this txn created may sit dirty in the pool: it must never be
     * written now that it is free (P3). */
    if (fl_is_txn_page(t->fl, pgno))
        pool_discard(t->pool, pgno);
    count_page(tree, kind, -1);
    return fl_free(t->fl, pgno, 1);
}

int bt_page_touch(struct bt_txn *t, struct bt_tree *tree, struct pool_frame **f)
{
    struct pool_frame *old = *f, *copy;
    uint64_t pgno;
    unsigned kind = node_kind(old->data);

    assert(t->fl && old->pgno == node_pgno(old->data));
    /* T2: a page reached in this txn is never newer than the txn. */
    assert(node_txid(old->data) <= t->txid);
    if (node_txid(old->data) == t->txid) {
        pool_mark_dirty(t->pool, old);
        return 0;
    }
    CHECK(page_new(t, tree, kind, old->data, &copy));
    *f = copy;
    pgno = old->pgno;
    pool_unpin(t->pool, old);
    assert(node_txid(copy->data) == t->txid && node_pgno(copy->data) == copy->pgno); /* T1 */
    return bt_page_free(t, tree, pgno, kind);
}

void bt_path_release(struct bt_txn *t, struct bt_path *path)
{
    for (unsigned i = 0; i < path->depth; i++) {
        bt_page_put(t, path->f[i]);
        path->f[i] = NULL;
    }
    path->depth = 0;
}

int bt_descend(struct bt_txn *t, const struct bt_tree *tree, const void *key, size_t klen,
               struct bt_path *path, int *exact)
{
    uint64_t pgno = tree->root, max_txid = t->txid;
    int rc;

    path->depth = 0;
    *exact = 0;
    if (tree->depth == 0 || tree->depth > MAX_TREE_DEPTH)
        return ERR_CORRUPT(pgno, "tree rooted at page %llu has depth %u",
                           (unsigned long long)pgno, tree->depth);
    for (unsigned level = 0; level < tree->depth; level++) {
        struct pool_frame *f;
        const uint8_t *p;
        rc = bt_page_get(t, pgno, max_txid, &f);
        if (rc < 0)
            goto fail;
        path->f[level] = f;
        path->depth = level + 1;
        p = f->data;
        if ((node_kind(p) == PAGE_LEAF) != (level + 1 == tree->depth)) {
            rc = ERR_CORRUPT(pgno, "page %llu is a %s at level %u of a tree of depth %u",
                             (unsigned long long)pgno,
                             node_kind(p) == PAGE_LEAF ? "leaf" : "branch", level, tree->depth);
            goto fail;
        }
        if (node_kind(p) == PAGE_LEAF) {
            path->idx[level] = node_search_leaf(p, key, klen, exact);
            assert(path->depth == tree->depth); /* T4: every leaf at tree->depth */
            return 0;
        }
        path->idx[level] = node_search_branch(p, key, klen);
        pgno = branch_child(node_cell(p, path->idx[level]));
        max_txid = node_txid(p);
    }
    rc = ERR_CORRUPT(pgno, "tree ended without a leaf");
fail:
    bt_path_release(t, path);
    return rc;
}

int bt_path_touch(struct bt_txn *t, struct bt_tree *tree, struct bt_path *path)
{
    assert(path->depth > 0 && path->depth == tree->depth);
    for (unsigned level = 0; level < path->depth; level++) {
        uint64_t before = path->f[level]->pgno;
        CHECK(bt_page_touch(t, tree, &path->f[level]));
        /* T1, and top-down: the parent is ours already, so it may be re-linked. */
        assert(level == 0 || node_txid(path->f[level - 1]->data) == t->txid);
        if (path->f[level]->pgno == before)
            continue;
        if (level == 0)
            tree->root = path->f[0]->pgno;
        else
            branch_set_child(path->f[level - 1]->data, path->idx[level - 1], path->f[level]->pgno);
    }
    return 0;
}

size_t bt_separator(const uint8_t *left, size_t llen, const uint8_t *right, size_t rlen)
{
    size_t n = llen < rlen ? llen : rlen, common = 0;
    /* Eight bytes at a time: sorted keys (a bulk load calls this for every
     * key) often share most of their bytes. ld64 is little-endian, so the
     * lowest set bit of the difference falls in the first differing byte. */
    while (common + 8 <= n) {
        uint64_t diff = ld64(left + common) ^ ld64(right + common);
        if (diff)
            return common + (size_t)__builtin_ctzll(diff) / 8 + 1;
        common += 8;
    }
    while (common < n && left[common] == right[common])
        common++;
    /* right[0..common] differs from left at common (or extends it). Left
     * and right come in order from a sound page, but a damaged one may
     * have them out of order: the result is then merely a prefix of right. */
    assert(common <= rlen);
    return common + 1 <= rlen ? common + 1 : rlen;
}

unsigned bt_split_point(const struct cellref *cells, unsigned n, int append)
{
    size_t total = 0, run = 0;
    unsigned s;
    assert(n >= 2 && n <= 2 * MAX_CELLS);
    if (append)
        return n - 1;
    for (unsigned i = 0; i < n; i++)
        total += cells[i].size + SLOT_SIZE;
    for (s = 1; s < n - 1; s++) {
        run += cells[s - 1].size + SLOT_SIZE;
        if (run * 2 >= total)
            break;
    }
    assert(s >= 1 && s < n);
    return s;
}

size_t bt_split_separator(struct cellref *cells, unsigned s, unsigned kind, uint8_t *sep,
                          uint8_t stripped[BRANCH_HEADER])
{
    size_t seplen;
    assert(s >= 1 && (kind == PAGE_LEAF || kind == PAGE_BRANCH));
    if (kind == PAGE_LEAF) {
        const uint8_t *l = cells[s - 1].p, *r = cells[s].p;
        seplen = bt_separator(leaf_key(l), leaf_klen(l), leaf_key(r), leaf_klen(r));
        memcpy(sep, leaf_key(r), seplen);
        return seplen;
    }
    seplen = branch_klen(cells[s].p);
    assert(seplen <= FFDB_MAX_KEY_SIZE); /* bt_page_verify, or built by branch_cell_encode */
    memcpy(sep, branch_key(cells[s].p), seplen);
    branch_cell_encode(stripped, branch_child(cells[s].p), NULL, 0);
    cells[s].p = stripped;
    cells[s].size = BRANCH_HEADER;
    return seplen;
}
