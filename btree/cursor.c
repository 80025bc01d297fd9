/*
 * cursor.c — ordered iteration over one tree.
 *
 * A cursor remembers its root-to-leaf path by page number and index, not by
 * pinned frames, so it never holds more than one pin. In a read txn the
 * current leaf stays pinned between calls (pages of a snapshot never
 * change), which makes next/prev within a leaf free of lookups and lets keys
 * and inline values be returned without copying. In a write txn the tree can
 * change under the cursor through the same txn: the cursor then copies
 * what it returns and, when the tree's version moved, finds its place again
 * by seeking to the key it was on. A cursor of a write txn that failed
 * halfway stops (FFDB_EBADTXN): the trees may be half-changed.
 */
#include <assert.h>
#include <string.h>

#include "btree/internal.h"
#include "common/error.h"

enum { CUR_UNSET, CUR_ON, CUR_END_HI, CUR_END_LO };

void bt_cursor_init(struct bt_cursor *c, struct bt_txn *t, struct bt_tree *tree)
{
    assert(c && t && tree);
    memset(c, 0, sizeof(*c));
    c->txn = t;
    c->tree = tree;
    c->state = CUR_UNSET;
}

static void cur_drop_leaf(struct bt_cursor *c)
{
    if (c->leaf)
        pool_unpin(c->txn->pool, c->leaf);
    c->leaf = NULL;
}

void bt_cursor_release(struct bt_cursor *c)
{
    cur_drop_leaf(c);
    bt_buf_free(&c->key);
    bt_buf_free(&c->val);
    bt_buf_free(&c->edge);
}

static int cur_get(struct bt_cursor *c, unsigned level, struct pool_frame **f)
{
    unsigned depth = c->tree->depth;
    assert(level < c->depth && c->depth <= MAX_TREE_DEPTH);
    CHECK(bt_page_get(c->txn, c->pgno[level], c->bound[level], f));
    if ((node_kind((*f)->data) == PAGE_LEAF) != (level + 1 == depth) ||
        node_count((*f)->data) == 0) {
        uint64_t pgno = (*f)->pgno;
        pool_unpin(c->txn->pool, *f);
        *f = NULL;
        return ERR_CORRUPT(pgno, "page %llu is empty or at the wrong level of its tree",
                           (unsigned long long)pgno);
    }
    return 0;
}

/* Hand out the entry under the cursor; f is the pinned leaf (consumed). */
static int cur_emit(struct bt_cursor *c, struct pool_frame *f, ffdb_val *key, ffdb_val *val)
{
    const uint8_t *p = f->data, *cell;
    int rc = 0;

    /* The path ends at this leaf, on one of its entries (cur_get saw it non-empty). */
    assert(c->depth > 0 && f->pgno == c->pgno[c->depth - 1] && !c->leaf);
    assert(c->idx[c->depth - 1] < node_count(p));
    cell = node_cell(p, c->idx[c->depth - 1]);
    c->state = CUR_ON;
    c->version = c->tree->version;
    if (!c->txn->fl) {
        c->leaf = f; /* read txn: stays pinned until the next move */
        if (key) {
            key->data = leaf_key(cell);
            key->size = leaf_klen(cell);
        }
        if (val && !leaf_big(cell)) {
            val->data = leaf_val(cell);
            val->size = leaf_vlen(cell);
        } else if (val) {
            rc = bt_leaf_value(c->txn, p, cell, &c->val);
            val->data = c->val.data;
            val->size = c->val.size;
        }
        return rc;
    }
    rc = bt_buf_set(&c->key, leaf_key(cell), leaf_klen(cell));
    if (rc == 0 && val)
        rc = bt_leaf_value(c->txn, p, cell, &c->val);
    pool_unpin(c->txn->pool, f);
    if (rc < 0) {
        c->state = CUR_UNSET;
        return rc;
    }
    if (key) {
        key->data = c->key.data;
        key->size = c->key.size;
    }
    if (val) {
        val->data = c->val.data;
        val->size = c->val.size;
    }
    return 0;
}

/* Walk down from level (pgno and bound set) along the left or right edge. */
static int cur_edge(struct bt_cursor *c, unsigned level, int right, ffdb_val *key, ffdb_val *val)
{
    struct pool_frame *f;
    for (;; level++) {
        const uint8_t *p;
        CHECK(cur_get(c, level, &f));
        p = f->data;
        c->idx[level] = right ? node_count(p) - 1 : 0;
        if (node_kind(p) == PAGE_LEAF) {
            c->depth = level + 1;
            return cur_emit(c, f, key, val);
        }
        c->pgno[level + 1] = branch_child(node_cell(p, c->idx[level]));
        c->bound[level + 1] = node_txid(p);
        pool_unpin(c->txn->pool, f);
    }
}

static int cur_start(struct bt_cursor *c)
{
    cur_drop_leaf(c);
    c->state = CUR_UNSET;
    if (c->txn->failed)
        return FFDB_EBADTXN;
    if (c->tree->depth == 0)
        return FFDB_NOTFOUND;
    if (c->tree->depth > MAX_TREE_DEPTH)
        return ERR_CORRUPT(c->tree->root, "tree has depth %u", c->tree->depth);
    c->pgno[0] = c->tree->root;
    c->bound[0] = c->txn->txid;
    c->depth = c->tree->depth;
    return 0;
}

int bt_cursor_first(struct bt_cursor *c, ffdb_val *key, ffdb_val *val)
{
    int rc = cur_start(c);
    if (rc == FFDB_NOTFOUND)
        c->state = CUR_END_HI;
    CHECK(rc);
    return cur_edge(c, 0, 0, key, val);
}

int bt_cursor_last(struct bt_cursor *c, ffdb_val *key, ffdb_val *val)
{
    int rc = cur_start(c);
    if (rc == FFDB_NOTFOUND)
        c->state = CUR_END_LO;
    CHECK(rc);
    return cur_edge(c, 0, 1, key, val);
}

/* Leaves a read-ahead window covers: enough for one large read, few enough
 * that a short scan does not read much it never uses. */
#define RA_WINDOW 64u

/* Read-ahead for scans (read txns): about to step to child idx of branch p
 * (page pgno, the leaves' parent) in direction dir. When idx starts a new
 * window, hand the pool the next RA_WINDOW children in the order the scan
 * will want them, so that consecutive leaves not cached come in one read
 * (pool_prefetch). The children are pages of this snapshot, so what is on
 * disk is what the scan will read. */
static void cur_read_ahead(struct bt_cursor *c, const uint8_t *p, uint64_t pgno, unsigned idx,
                           int dir)
{
    uint64_t kids[RA_WINDOW];
    unsigned n = 0, count = node_count(p);

    assert(idx < count);
    if (c->txn->fl || idx >= count) /* a write txn's pages may be its own, dirty ones */
        return;
    if (c->ra_parent == pgno && (dir > 0 ? idx < c->ra_mark : idx > c->ra_mark))
        return;
    for (unsigned i = idx; n < RA_WINDOW && i < count; i = dir > 0 ? i + 1 : i - 1) {
        kids[n++] = branch_child(node_cell(p, i));
        if (dir < 0 && i == 0)
            break;
    }
    n = (unsigned)pool_prefetch(c->txn->pool, kids, n); /* the pool may take fewer */
    c->ra_parent = pgno;
    c->ra_mark = dir > 0 ? idx + n : idx + 1 - n; /* backward: n <= idx + 1 */
}

/* Step to the neighbouring leaf: climb to the first level where the path
 * can move in direction dir, then descend along the near edge. */
static int cur_step_leaf(struct bt_cursor *c, int dir, ffdb_val *key, ffdb_val *val)
{
    cur_drop_leaf(c);
    for (int level = (int)c->depth - 2; level >= 0; level--) {
        struct pool_frame *f;
        const uint8_t *p;
        CHECK(cur_get(c, (unsigned)level, &f));
        p = f->data;
        if (dir > 0 ? c->idx[level] + 1 < node_count(p) : c->idx[level] > 0) {
            c->idx[level] += dir > 0 ? 1 : -1;
            if ((unsigned)level + 2 == c->depth)
                cur_read_ahead(c, p, f->pgno, c->idx[level], dir);
            c->pgno[level + 1] = branch_child(node_cell(p, c->idx[level]));
            c->bound[level + 1] = node_txid(p);
            pool_unpin(c->txn->pool, f);
            return cur_edge(c, (unsigned)level + 1, dir < 0, key, val);
        }
        pool_unpin(c->txn->pool, f);
    }
    c->state = dir > 0 ? CUR_END_HI : CUR_END_LO;
    return FFDB_NOTFOUND;
}

/* Position at the first key >= k (exact set if equal). */
static int cur_seek(struct bt_cursor *c, const void *k, size_t klen, int *exact, ffdb_val *key,
                    ffdb_val *val)
{
    struct pool_frame *f;
    int rc = cur_start(c);
    *exact = 0;
    if (rc == FFDB_NOTFOUND)
        c->state = CUR_END_HI;
    CHECK(rc);
    for (unsigned level = 0;; level++) {
        const uint8_t *p;
        CHECK(cur_get(c, level, &f));
        p = f->data;
        if (node_kind(p) == PAGE_LEAF) {
            c->idx[level] = node_search_leaf(p, k, klen, exact);
            if (c->idx[level] < node_count(p))
                return cur_emit(c, f, key, val);
            pool_unpin(c->txn->pool, f);
            c->idx[level] = node_count(p) - 1;
            return cur_step_leaf(c, 1, key, val);
        }
        c->idx[level] = node_search_branch(p, k, klen);
        c->pgno[level + 1] = branch_child(node_cell(p, c->idx[level]));
        c->bound[level + 1] = node_txid(p);
        pool_unpin(c->txn->pool, f);
    }
}

int bt_cursor_seek(struct bt_cursor *c, const void *k, size_t klen, ffdb_val *key, ffdb_val *val)
{
    int exact;
    return cur_seek(c, k, klen, &exact, key, val);
}

/* Emit the entry the path points at again. */
static int cur_current(struct bt_cursor *c, ffdb_val *key, ffdb_val *val)
{
    struct pool_frame *f;
    CHECK(cur_get(c, c->depth - 1, &f));
    return cur_emit(c, f, key, val);
}

static int cur_move(struct bt_cursor *c, int dir, ffdb_val *key, ffdb_val *val);

/* The tree changed through this write txn since the cursor last moved:
 * find the key it was on again and move from there. */
static int cur_resume(struct bt_cursor *c, int dir, ffdb_val *key, ffdb_val *val)
{
    struct bt_buf saved = c->key;
    int exact, rc;

    assert(c->txn->fl && c->state == CUR_ON); /* only a write txn changes its tree */
    memset(&c->key, 0, sizeof(c->key));
    rc = cur_seek(c, saved.data, saved.size, &exact, NULL, NULL);
    bt_buf_free(&saved);
    if (rc == FFDB_NOTFOUND) /* every key is below the old one */
        return dir > 0 ? FFDB_NOTFOUND : bt_cursor_last(c, key, val);
    CHECK(rc);
    if (dir > 0 && !exact) /* the old key is gone: its successor is under us */
        return cur_current(c, key, val);
    return cur_move(c, dir, key, val);
}

/* The key under the cursor (after a successful emit). */
static void cur_key(const struct bt_cursor *c, const uint8_t **k, size_t *klen)
{
    if (c->leaf) {
        *k = node_key(c->leaf->data, c->idx[c->depth - 1], klen);
    } else {
        *k = c->key.data;
        *klen = c->key.size;
    }
}

/* Leave the leaf f (pinned, consumed) for its neighbour in direction dir.
 * The first key there must lie beyond the last key here: a damaged tree
 * whose branches share a subtree would otherwise be walked again and
 * again, so the check makes every scan finite. */
static int cur_cross(struct bt_cursor *c, struct pool_frame *f, int dir, ffdb_val *key,
                     ffdb_val *val)
{
    size_t elen, klen;
    const uint8_t *e = node_key(f->data, c->idx[c->depth - 1], &elen), *k;
    int rc = bt_buf_set(&c->edge, e, elen);

    pool_unpin(c->txn->pool, f);
    CHECK(rc);
    rc = cur_step_leaf(c, dir, key, val);
    if (rc < 0)
        return rc;
    cur_key(c, &k, &klen);
    if (dir * key_cmp(k, klen, c->edge.data, c->edge.size) <= 0) {
        uint64_t pgno = c->pgno[c->depth - 1];
        c->state = CUR_UNSET;
        cur_drop_leaf(c);
        return ERR_CORRUPT(pgno, "leaf page %llu is out of key order with its neighbour",
                           (unsigned long long)pgno);
    }
    return 0;
}

static int cur_move(struct bt_cursor *c, int dir, ffdb_val *key, ffdb_val *val)
{
    struct pool_frame *f;
    unsigned leaf;

    if (c->txn->failed) {
        cur_drop_leaf(c);
        return FFDB_EBADTXN;
    }
    if (c->state == CUR_ON && c->txn->fl && c->version != c->tree->version)
        return cur_resume(c, dir, key, val);
    switch (c->state) {
    case CUR_UNSET:
        return dir > 0 ? bt_cursor_first(c, key, val) : bt_cursor_last(c, key, val);
    case CUR_END_HI:
        return dir > 0 ? FFDB_NOTFOUND : bt_cursor_last(c, key, val);
    case CUR_END_LO:
        return dir > 0 ? bt_cursor_first(c, key, val) : FFDB_NOTFOUND;
    }
    assert(c->state == CUR_ON && c->depth > 0);
    assert(!c->leaf || !c->txn->fl); /* a write txn's cursor pins nothing between calls */
    leaf = c->depth - 1;
    f = c->leaf;
    c->leaf = NULL;
    if (!f)
        CHECK(cur_get(c, leaf, &f));
    if (dir > 0 ? c->idx[leaf] + 1 < node_count(f->data) : c->idx[leaf] > 0) {
        c->idx[leaf] += dir > 0 ? 1 : -1;
        return cur_emit(c, f, key, val);
    }
    return cur_cross(c, f, dir, key, val);
}

int bt_cursor_next(struct bt_cursor *c, ffdb_val *key, ffdb_val *val)
{
    return cur_move(c, 1, key, val);
}

int bt_cursor_prev(struct bt_cursor *c, ffdb_val *key, ffdb_val *val)
{
    return cur_move(c, -1, key, val);
}
