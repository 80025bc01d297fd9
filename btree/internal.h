/*
 * internal.h — what the btree files share and nothing outside btree/ sees:
 * verified page access, page allocation and copy-on-write, overflow runs,
 * and the pinned root-to-leaf path of a write operation.
 */
#ifndef FFDB_BTREE_INTERNAL_H
#define FFDB_BTREE_INTERNAL_H

#include "btree/btree.h"
#include "btree/node.h"
#include "bufpool/pool.h"

/* The pinned path of a write: f[0] is the root, f[depth-1] the leaf. For a
 * branch level, idx is the child taken; for the leaf, the key's index. */
struct bt_path {
    unsigned depth;
    struct pool_frame *f[MAX_TREE_DEPTH];
    unsigned idx[MAX_TREE_DEPTH];
};

/* Pages in the file as this txn sees it (bound for every pgno read). */
uint64_t bt_page_limit(const struct bt_txn *t);
/* Pin a branch or leaf page and check T2 (txid <= max_txid) and range. */
int  bt_page_get(struct bt_txn *t, uint64_t pgno, uint64_t max_txid, struct pool_frame **f);
void bt_page_put(struct bt_txn *t, struct pool_frame *f);
/* A new empty page of kind, pinned and dirty; counted in tree. */
int  bt_page_new(struct bt_txn *t, struct bt_tree *tree, unsigned kind, struct pool_frame **f);
/* Free a page the tree no longer references; counted in tree. Must be unpinned. */
int  bt_page_free(struct bt_txn *t, struct bt_tree *tree, uint64_t pgno, unsigned kind);
/* Make *f writable (T1): copy it to a new page if another txn wrote it; the
 * old page is freed and *f replaced. The caller re-links the parent. */
int  bt_page_touch(struct bt_txn *t, struct bt_tree *tree, struct pool_frame **f);

/* Root-to-leaf search for key, pinning every level into path. */
int  bt_descend(struct bt_txn *t, const struct bt_tree *tree, const void *key, size_t klen,
                struct bt_path *path, int *exact);
void bt_path_release(struct bt_txn *t, struct bt_path *path);
/* Touch every page of the path top-down, re-linking children (T1). */
int  bt_path_touch(struct bt_txn *t, struct bt_tree *tree, struct bt_path *path);

/* Overflow runs. */
uint64_t ovf_page_count(unsigned page_size, uint64_t len);
int  ovf_write(struct bt_txn *t, struct bt_tree *tree, const void *val, uint64_t len, uint64_t *pgno);
int  ovf_read(struct bt_txn *t, uint64_t pgno, uint64_t len, uint64_t max_txid, uint8_t *dst);
int  ovf_free(struct bt_txn *t, struct bt_tree *tree, uint64_t pgno, uint64_t len);
/* Fetch the value of leaf cell c into out (copying). */
int  bt_leaf_value(struct bt_txn *t, const uint8_t *page, const uint8_t *c, struct bt_buf *out);

/* Shortest key s with left < s <= right (separator between two pages). */
size_t bt_separator(const uint8_t *left, size_t llen, const uint8_t *right, size_t rlen);

/* Most cells a page can hold (the smallest cell is an empty leaf entry). */
#define MAX_CELLS ((PAGE_SIZE_MAX - PAGE_HEADER_SIZE) / (LEAF_HEADER + SLOT_SIZE) + 1)

/* Where to cut cells[0..n) (n >= 2) into two pages [0, s) and [s, n):
 * evenly by bytes, or, for an append at the right edge of the tree, just
 * before the last cell so the left page stays full. 1 <= s < n. */
unsigned bt_split_point(const struct cellref *cells, unsigned n, int append);
/* The separator for a cut at s, into sep (FFDB_MAX_KEY_SIZE bytes); returns
 * its length. For branch cells the first key of the right page moves up,
 * so cells[s] is replaced by a key-less copy built in stripped. */
size_t bt_split_separator(struct cellref *cells, unsigned s, unsigned kind, uint8_t *sep,
                          uint8_t stripped[BRANCH_HEADER]);

/* Record a failure of a write that may have left the tree half-changed. */
static inline int bt_fail(struct bt_txn *t, int rc)
{
    if (rc < 0 && !t->failed)
        t->failed = rc;
    return rc;
}

#define SCRATCH(t, i) ((t)->scratch + (size_t)(i) * (t)->page_size)

#endif /* FFDB_BTREE_INTERNAL_H */
