/*
 * search.c — point lookups (bt_get), the hot path of read transactions.
 *
 * Holds one pin at a time on the way down. In a read transaction the leaf
 * stays pinned after the call so the value can be returned without a copy
 * (the page is immutable and cannot be evicted while pinned); the pin is
 * dropped at the next call on the txn. Write transactions copy the value,
 * because a later write may change the leaf. A write txn that failed
 * halfway may have left its trees half-changed (T3, T4 no longer hold), so
 * it reads nothing more: FFDB_EBADTXN, as for its writes.
 */
#include <assert.h>

#include "btree/internal.h"
#include "common/error.h"

int bt_get(struct bt_txn *t, const struct bt_tree *tree, const void *key, size_t klen,
           ffdb_val *val)
{
    uint64_t pgno = tree->root, max_txid = t->txid;
    struct pool_frame *f = NULL;
    int rc, exact;

    assert(tree && val && (key || !klen));
    assert(!t->held || !t->fl); /* only read txns keep a leaf pinned */
    if (t->failed)
        return FFDB_EBADTXN;
    if (t->held) {
        pool_unpin(t->pool, t->held);
        t->held = NULL;
    }
    if (tree->depth == 0)
        return FFDB_NOTFOUND;
    if (tree->depth > MAX_TREE_DEPTH)
        return ERR_CORRUPT(pgno, "tree rooted at page %llu has depth %u", (unsigned long long)pgno,
                           tree->depth);
    for (unsigned level = 0;; level++) {
        const uint8_t *p;
        CHECK(bt_page_get(t, pgno, max_txid, &f));
        p = f->data;
        if ((node_kind(p) == PAGE_LEAF) != (level + 1 == tree->depth)) {
            rc = ERR_CORRUPT(pgno, "page %llu is at the wrong level of its tree",
                             (unsigned long long)pgno);
            break;
        }
        if (node_kind(p) == PAGE_LEAF) {
            unsigned i = node_search_leaf(p, key, klen, &exact);
            const uint8_t *c;
            if (!exact) {
                rc = FFDB_NOTFOUND;
                break;
            }
            c = node_cell(p, i);
            if (!t->fl && !leaf_big(c)) {
                val->data = leaf_val(c);
                val->size = leaf_vlen(c);
                t->held = f;
                return 0;
            }
            rc = bt_leaf_value(t, p, c, &t->val);
            if (rc == 0) {
                val->data = t->val.data;
                val->size = t->val.size;
            }
            break;
        }
        pgno = branch_child(node_cell(p, node_search_branch(p, key, klen)));
        max_txid = node_txid(p);
        pool_unpin(t->pool, f);
        f = NULL;
    }
    pool_unpin(t->pool, f);
    return rc;
}
