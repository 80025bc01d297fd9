/*
 * insert.c — bt_put: insert or replace one key, splitting pages upward.
 *
 * The whole root-to-leaf path is pinned and touched (T1) before anything
 * changes. A page that cannot take a new cell is split in two by bytes
 * (an append at the right end keeps the left page full instead, so
 * ascending inserts pack pages); the separator goes into the parent, which
 * may split in turn; a split root grows the tree by one level.
 *
 * A split always fits (T5: every cell is at most a third of a page, and
 * bt_page_verify holds pages from disk to it), so a page that does not fit
 * after a split is a broken invariant, asserted, not an error.
 */
#include <assert.h>
#include <string.h>

#include "btree/internal.h"
#include "common/error.h"

static int insert_separator(struct bt_txn *t, struct bt_tree *tree, struct bt_path *path,
                            unsigned level, const uint8_t *sep, size_t seplen, uint64_t right,
                            int append);

/* Split path->f[level], which cannot take cell at index i. */
static int split_insert(struct bt_txn *t, struct bt_tree *tree, struct bt_path *path,
                        unsigned level, unsigned i, const uint8_t *cell, size_t size, int append)
{
    uint8_t *page = path->f[level]->data, *copy = SCRATCH(t, 0);
    unsigned kind = node_kind(page), n = node_count(page) + 1, s;
    struct cellref cells[MAX_CELLS];
    uint8_t sep[FFDB_MAX_KEY_SIZE], stripped[BRANCH_HEADER];
    size_t seplen;
    struct pool_frame *right;
    int rc, overfull;

    /* Pages are ours (T1, touched), and cells[] holds them: MAX_CELLS is
     * what non-overlapping cells of the smallest size allow (bt_page_verify). */
    assert(node_txid(page) == t->txid && i < n && n <= MAX_CELLS);
    assert(size <= bt_max_cell(t->page_size)); /* T5 */
    memcpy(copy, page, t->page_size);
    for (unsigned j = 0, k = 0; j < n; j++) {
        if (j == i) {
            cells[j].p = cell;
            cells[j].size = size;
            continue;
        }
        cells[j].p = node_cell(copy, k);
        cells[j].size = node_cell_size(copy, cells[j].p);
        k++;
    }
    s = bt_split_point(cells, n, append && i == n - 1);
    CHECK(bt_page_new(t, tree, kind, &right));
    seplen = bt_split_separator(cells, s, kind, sep, stripped);
    overfull = node_build(page, t->page_size, cells, s) ||
               node_build(right->data, t->page_size, cells + s, n - s);
    /* T5: each half holds at most half the bytes plus one cell of a third
     * of a page; the cells of the old page fitted it. */
    assert(!overfull);
    (void)overfull;
    rc = insert_separator(t, tree, path, level, sep, seplen, right->pgno, append);
    pool_unpin(t->pool, right);
    return rc;
}

/* After path->f[level] split off the page right, tell the parent. */
static int insert_separator(struct bt_txn *t, struct bt_tree *tree, struct bt_path *path,
                            unsigned level, const uint8_t *sep, size_t seplen, uint64_t right,
                            int append)
{
    uint8_t cell[BRANCH_HEADER + FFDB_MAX_KEY_SIZE];
    size_t size;

    assert(level < path->depth && seplen <= FFDB_MAX_KEY_SIZE);
    if (level == 0) {
        struct pool_frame *root;
        struct cellref cells[2];
        uint8_t left_cell[BRANCH_HEADER];
        int overfull;
        /* Growing a sound tree to MAX_TREE_DEPTH levels takes more pages
         * than a file can have (fanout >= 2, T5); a record naming such a
         * depth is damage. */
        if (tree->depth >= MAX_TREE_DEPTH)
            return ERR_CORRUPT(tree->root, "tree rooted at page %llu is %u levels deep already",
                               (unsigned long long)tree->root, tree->depth);
        CHECK(bt_page_new(t, tree, PAGE_BRANCH, &root));
        cells[0].p = left_cell;
        cells[0].size = branch_cell_encode(left_cell, path->f[0]->pgno, NULL, 0);
        cells[1].p = cell;
        cells[1].size = branch_cell_encode(cell, right, sep, seplen);
        overfull = node_build(root->data, t->page_size, cells, 2);
        assert(!overfull); /* two cells of at most a third of a page (T5) */
        (void)overfull;
        tree->root = root->pgno;
        tree->depth++;
        pool_unpin(t->pool, root);
        return 0;
    }
    size = branch_cell_encode(cell, right, sep, seplen);
    if (node_insert(path->f[level - 1]->data, t->page_size, path->idx[level - 1] + 1, cell, size,
                    SCRATCH(t, 2)) == 0)
        return 0;
    return split_insert(t, tree, path, level - 1, path->idx[level - 1] + 1, cell, size, append);
}

/* The leaf cell for key/val: inline, or pointing at a new overflow run. */
static int make_cell(struct bt_txn *t, struct bt_tree *tree, const void *key, size_t klen,
                     const void *val, size_t vlen, uint8_t *cell, size_t *size)
{
    uint8_t ref[BIGREF_SIZE];
    uint64_t pgno;
    assert(klen <= FFDB_MAX_KEY_SIZE && vlen <= FFDB_MAX_VALUE_SIZE); /* bt_put checked */
    if (vlen <= bt_max_inline(t->page_size, klen)) {
        *size = leaf_cell_encode(cell, key, klen, val, vlen, 0);
        assert(*size <= bt_max_cell(t->page_size)); /* T5 */
        return 0;
    }
    CHECK(ovf_write(t, tree, val, vlen, &pgno));
    st64(ref + BIGREF_PGNO, pgno);
    st64(ref + BIGREF_LEN, vlen);
    *size = leaf_cell_encode(cell, key, klen, ref, BIGREF_SIZE, 1);
    assert(*size <= bt_max_cell(t->page_size)); /* T5, by the static asserts in page.c */
    return 0;
}

static int put_new_root(struct bt_txn *t, struct bt_tree *tree, const uint8_t *cell, size_t size)
{
    struct pool_frame *f;
    int overfull;
    assert(tree->depth == 0 && tree->root == 0);
    CHECK(bt_page_new(t, tree, PAGE_LEAF, &f));
    overfull = node_insert(f->data, t->page_size, 0, cell, size, SCRATCH(t, 2));
    assert(!overfull); /* T5 */
    (void)overfull;
    tree->root = f->pgno;
    tree->depth = 1;
    tree->entries = 1;
    pool_unpin(t->pool, f);
    return 0;
}

/* Is the path on the right edge of the tree (every branch took its last child)? */
static int path_rightmost(const struct bt_path *path)
{
    for (unsigned level = 0; level + 1 < path->depth; level++)
        if (path->idx[level] + 1 != node_count(path->f[level]->data))
            return 0;
    return 1;
}

static int put_in_tree(struct bt_txn *t, struct bt_tree *tree, const void *key, size_t klen,
                       const void *val, size_t vlen, int mode)
{
    uint8_t cell[LEAF_HEADER + PAGE_SIZE_MAX];
    struct bt_path path;
    size_t size;
    unsigned leaf, i;
    int exact, rc;

    if (tree->depth == 0) {
        if (mode == BT_UPDATE)
            return FFDB_NOTFOUND;
        CHECK(make_cell(t, tree, key, klen, val, vlen, cell, &size));
        return bt_fail(t, put_new_root(t, tree, cell, size));
    }
    CHECK(bt_descend(t, tree, key, klen, &path, &exact));
    if ((exact && mode == BT_INSERT) || (!exact && mode == BT_UPDATE)) {
        bt_path_release(t, &path);
        return exact ? FFDB_EXISTS : FFDB_NOTFOUND;
    }
    /* From here on a failure may leave the tree half-changed. */
    rc = make_cell(t, tree, key, klen, val, vlen, cell, &size);
    if (rc == 0)
        rc = bt_path_touch(t, tree, &path);
    if (rc < 0)
        goto done;
    leaf = path.depth - 1;
    i = path.idx[leaf];
    assert(node_kind(path.f[leaf]->data) == PAGE_LEAF && i <= node_count(path.f[leaf]->data));
    assert(!exact || i < node_count(path.f[leaf]->data));
    if (exact) {
        uint8_t *p = path.f[leaf]->data;
        const uint8_t *old = node_cell(p, i);
        if (leaf_big(old))
            rc = ovf_free(t, tree, ld64(leaf_val(old) + BIGREF_PGNO),
                          ld64(leaf_val(old) + BIGREF_LEN));
        node_remove(p, i);
    } else {
        tree->entries++;
    }
    if (rc == 0 && node_insert(path.f[leaf]->data, t->page_size, i, cell, size, SCRATCH(t, 2)))
        rc = split_insert(t, tree, &path, leaf, i, cell, size, path_rightmost(&path));
done:
    bt_path_release(t, &path);
    return bt_fail(t, rc);
}

int bt_put(struct bt_txn *t, struct bt_tree *tree, const void *key, size_t klen, const void *val,
           size_t vlen, int mode)
{
    assert(mode == BT_PUT || mode == BT_INSERT || mode == BT_UPDATE);
    assert((key || !klen) && (val || !vlen));
    if (t->failed)
        return FFDB_EBADTXN;
    if (!t->fl)
        return FFDB_EREADONLY;
    if (klen > FFDB_MAX_KEY_SIZE || vlen > FFDB_MAX_VALUE_SIZE)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "key of %zu or value of %zu bytes is too large",
                         klen, vlen);
    tree->version++;
    return put_in_tree(t, tree, key, klen, val, vlen, mode);
}
