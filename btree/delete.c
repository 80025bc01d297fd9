/*
 * delete.c — bt_delete: remove one key and repair underfull pages.
 *
 * A page left below a quarter full is paired with a sibling (the left one
 * if it has one): if both fit in one page they merge (the right page is
 * freed and its separator leaves the parent, which may become underfull in
 * turn); otherwise their cells are redistributed evenly ("borrowing") and
 * the parent's separator replaced. A root branch left with one child is
 * removed, shrinking the tree by one level; an empty root leaf leaves an
 * empty tree.
 *
 * Every page changed here is on the touched path or a touched sibling (T1).
 * Whether two pages fit in one, and whether a redistribution fits, is
 * decided before anything changes; after that a page that does not fit is
 * a broken invariant (asserted), never an error.
 */
#include <assert.h>
#include <string.h>

#include "btree/internal.h"
#include "common/error.h"

static int underfull(const struct bt_txn *t, const uint8_t *p)
{
    return node_used(p) * 4 < t->page_size - PAGE_HEADER_SIZE;
}

/* Collect the cells of a (left) and b (right); for branches b's first cell
 * takes the parent's separator as its key, built in first_b. */
static unsigned gather(const uint8_t *a, const uint8_t *b, const uint8_t *sep, size_t seplen,
                       struct cellref *cells, uint8_t *first_b)
{
    unsigned n = 0;
    /* cells[] has room for two pages' worth (MAX_CELLS each, bt_page_verify). */
    assert(node_kind(a) == node_kind(b));
    assert(node_count(a) <= MAX_CELLS && node_count(b) <= MAX_CELLS);
    for (unsigned i = 0; i < node_count(a); i++, n++) {
        cells[n].p = node_cell(a, i);
        cells[n].size = node_cell_size(a, cells[n].p);
    }
    for (unsigned i = 0; i < node_count(b); i++, n++) {
        cells[n].p = node_cell(b, i);
        cells[n].size = node_cell_size(b, cells[n].p);
        if (i == 0 && node_kind(b) == PAGE_BRANCH) {
            cells[n].size = branch_cell_encode(first_b, branch_child(cells[n].p), sep, seplen);
            cells[n].p = first_b;
        }
    }
    return n;
}

/* Spread cells[0..n) evenly over a and b and replace the parent's cell j+1
 * (which points at b). If the new separator would not fit in the parent,
 * nothing changes: an underfull page is legal, only wasteful. */
static int redistribute(struct bt_txn *t, uint8_t *parent, unsigned j, struct pool_frame *a,
                        struct pool_frame *b, struct cellref *cells, unsigned n)
{
    size_t total = 0, run = 0, seplen, size;
    unsigned s;
    uint8_t sep[FFDB_MAX_KEY_SIZE], stripped[BRANCH_HEADER];
    uint8_t cell[BRANCH_HEADER + FFDB_MAX_KEY_SIZE];
    int overfull;

    /* Called when the cells do not fit one page, so there are several (T5). */
    assert(n >= 2 && j + 1 < node_count(parent));
    assert(node_txid(a->data) == t->txid && node_txid(b->data) == t->txid); /* T1 */
    for (unsigned i = 0; i < n; i++)
        total += cells[i].size + SLOT_SIZE;
    s = bt_split_point(cells, n, 0);
    seplen = bt_split_separator(cells, s, node_kind(a->data), sep, stripped);
    size = branch_cell_encode(cell, b->pgno, sep, seplen);
    if (PAGE_HEADER_SIZE + node_used(parent) - branch_cell_size(node_cell(parent, j + 1)) + size >
        t->page_size)
        return 0;
    /* Long branch keys can make an even split impossible; then leave it. */
    run = 0;
    for (unsigned i = 0; i < s; i++)
        run += cells[i].size + SLOT_SIZE;
    if (PAGE_HEADER_SIZE + run > t->page_size ||
        PAGE_HEADER_SIZE + total - run - (node_kind(a->data) == PAGE_BRANCH ? seplen : 0) >
            t->page_size)
        return 0;
    /* Both halves and the parent's new separator were measured above. */
    overfull = node_build(a->data, t->page_size, cells, s) ||
               node_build(b->data, t->page_size, cells + s, n - s);
    assert(!overfull);
    node_remove(parent, j + 1);
    overfull = node_insert(parent, t->page_size, j + 1, cell, size, SCRATCH(t, 2));
    assert(!overfull);
    (void)overfull;
    return 0;
}

static int rebalance(struct bt_txn *t, struct bt_tree *tree, struct bt_path *path, unsigned level);

/* Pair the underfull path->f[level] with a sibling under path->f[level-1]. */
static int fix_underfull(struct bt_txn *t, struct bt_tree *tree, struct bt_path *path,
                         unsigned level)
{
    uint8_t *parent = path->f[level - 1]->data;
    unsigned pi = path->idx[level - 1], j = pi > 0 ? pi - 1 : 0, si = pi > 0 ? j : 1, n;
    unsigned kind = node_kind(path->f[level]->data);
    struct pool_frame *sib, *a, *b;
    struct cellref cells[2 * MAX_CELLS];
    uint8_t sep[FFDB_MAX_KEY_SIZE], first_b[BRANCH_HEADER + FFDB_MAX_KEY_SIZE];
    size_t seplen, total = 0;
    uint64_t gone;
    int rc, overfull;

    assert(level > 0 && level < path->depth && pi < node_count(parent));
    assert(node_count(path->f[level]->data) > 0); /* an empty page goes to remove_empty */
    if (node_count(parent) < 2)
        return 0; /* nobody to pair with; the parent is underfull and will be paired itself */
    CHECK(bt_page_get(t, branch_child(node_cell(parent, si)), node_txid(parent), &sib));
    rc = node_kind(sib->data) == kind
             ? bt_page_touch(t, tree, &sib)
             : ERR_CORRUPT(sib->pgno, "sibling page %llu has the wrong kind",
                           (unsigned long long)sib->pgno);
    if (rc < 0) {
        pool_unpin(t->pool, sib);
        return rc;
    }
    branch_set_child(parent, si, sib->pgno);
    a = pi > 0 ? sib : path->f[level];
    b = pi > 0 ? path->f[level] : sib;
    seplen = branch_klen(node_cell(parent, j + 1));
    memcpy(sep, branch_key(node_cell(parent, j + 1)), seplen);
    memcpy(SCRATCH(t, 0), a->data, t->page_size);
    memcpy(SCRATCH(t, 1), b->data, t->page_size);
    n = gather(SCRATCH(t, 0), SCRATCH(t, 1), sep, seplen, cells, first_b);
    for (unsigned i = 0; i < n; i++)
        total += cells[i].size + SLOT_SIZE;
    if (PAGE_HEADER_SIZE + total > t->page_size) {
        rc = redistribute(t, parent, j, a, b, cells, n);
        pool_unpin(t->pool, sib);
        return rc;
    }
    /* Merge b into a. The path keeps a pinned; b leaves the tree. */
    overfull = node_build(a->data, t->page_size, cells, n);
    assert(!overfull); /* measured: PAGE_HEADER_SIZE + total fits */
    (void)overfull;
    path->f[level] = a;
    path->idx[level - 1] = j;
    gone = b->pgno;
    pool_unpin(t->pool, b);
    node_remove(parent, j + 1);
    CHECK(bt_page_free(t, tree, gone, kind));
    return rebalance(t, tree, path, level - 1);
}

/* Unlink the empty page path->f[level] from its parent. Removing cell 0
 * makes the next cell the first, whose key must become empty (T3). */
static int remove_empty(struct bt_txn *t, struct bt_tree *tree, struct bt_path *path,
                        unsigned level)
{
    uint8_t *parent = path->f[level - 1]->data;
    unsigned pi = path->idx[level - 1], kind = node_kind(path->f[level]->data);
    uint64_t gone = path->f[level]->pgno;

    assert(level > 0 && node_count(path->f[level]->data) == 0 && pi < node_count(parent));
    pool_unpin(t->pool, path->f[level]);
    path->f[level] = NULL;
    node_remove(parent, pi);
    if (pi == 0 && node_count(parent) > 0) {
        uint8_t first[BRANCH_HEADER];
        size_t size = branch_cell_encode(first, branch_child(node_cell(parent, 0)), NULL, 0);
        int overfull;
        node_remove(parent, 0);
        /* The key-less copy is no larger than the cell it replaces. */
        overfull = node_insert(parent, t->page_size, 0, first, size, SCRATCH(t, 2));
        assert(!overfull);
        (void)overfull;
    }
    CHECK(bt_page_free(t, tree, gone, kind));
    return rebalance(t, tree, path, level - 1);
}

/* Repair path->f[level] after it lost a cell. */
static int rebalance(struct bt_txn *t, struct bt_tree *tree, struct bt_path *path, unsigned level)
{
    uint8_t *p;
    assert(level < path->depth && path->f[level]);
    p = path->f[level]->data;
    assert(node_txid(p) == t->txid); /* T1: the path was touched */
    if (level > 0) {
        if (node_count(p) == 0)
            return remove_empty(t, tree, path, level);
        return underfull(t, p) ? fix_underfull(t, tree, path, level) : 0;
    }
    if (node_kind(p) == PAGE_BRANCH && node_count(p) == 0) {
        uint64_t gone = path->f[0]->pgno;
        pool_unpin(t->pool, path->f[0]);
        path->f[0] = NULL;
        tree->root = 0;
        tree->depth = 0;
        return bt_page_free(t, tree, gone, PAGE_BRANCH);
    }
    if (node_kind(p) == PAGE_LEAF && node_count(p) == 0) {
        uint64_t gone = path->f[0]->pgno;
        pool_unpin(t->pool, path->f[0]);
        path->f[0] = NULL;
        tree->root = 0;
        tree->depth = 0;
        return bt_page_free(t, tree, gone, PAGE_LEAF);
    }
    if (node_kind(p) == PAGE_BRANCH && node_count(p) == 1) {
        uint64_t gone = path->f[0]->pgno;
        tree->root = branch_child(node_cell(p, 0));
        tree->depth--;
        pool_unpin(t->pool, path->f[0]);
        path->f[0] = NULL;
        return bt_page_free(t, tree, gone, PAGE_BRANCH);
    }
    return 0;
}

int bt_delete(struct bt_txn *t, struct bt_tree *tree, const void *key, size_t klen)
{
    struct bt_path path;
    unsigned leaf;
    int exact, rc;
    uint8_t *p;
    const uint8_t *c;

    if (t->failed)
        return FFDB_EBADTXN;
    if (!t->fl)
        return FFDB_EREADONLY;
    if (klen > FFDB_MAX_KEY_SIZE)
        return FFDB_NOTFOUND;
    if (tree->depth == 0)
        return FFDB_NOTFOUND;
    CHECK(bt_descend(t, tree, key, klen, &path, &exact));
    if (!exact) {
        bt_path_release(t, &path);
        return FFDB_NOTFOUND;
    }
    tree->version++;
    rc = bt_path_touch(t, tree, &path);
    if (rc < 0)
        goto done;
    leaf = path.depth - 1;
    p = path.f[leaf]->data;
    assert(node_kind(p) == PAGE_LEAF && path.idx[leaf] < node_count(p)); /* exact */
    c = node_cell(p, path.idx[leaf]);
    if (leaf_big(c))
        rc = ovf_free(t, tree, ld64(leaf_val(c) + BIGREF_PGNO), ld64(leaf_val(c) + BIGREF_LEN));
    node_remove(p, path.idx[leaf]);
    tree->entries--;
    if (rc == 0)
        rc = rebalance(t, tree, &path, leaf);
done:
    bt_path_release(t, &path);
    return bt_fail(t, rc);
}
