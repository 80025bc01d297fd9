/*
 * walk.c — operations that visit a whole tree: drop (free every page),
 * stat (bytes and fill), and check (full verification for ffdb_check).
 *
 * Walks are recursive, bounded by the tree's recorded depth (at most
 * MAX_TREE_DEPTH), and keep at most one pinned page per level.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "btree/internal.h"
#include "common/error.h"
#include "freelist/freelist.h"

static int drop_page(struct bt_txn *t, struct bt_tree *tree, uint64_t pgno, uint64_t bound,
                     unsigned level)
{
    struct pool_frame *f;
    int rc = 0;
    unsigned kind;

    /* The recursion descends only from branches above the leaf level. */
    assert(t->fl && level < tree->depth && tree->depth <= MAX_TREE_DEPTH);
    /* Leaves without overflow values need not be read to be freed. */
    if (level + 1 == tree->depth && tree->overflow_pages == 0)
        return bt_page_free(t, tree, pgno, PAGE_LEAF);
    CHECK(bt_page_get(t, pgno, bound, &f));
    kind = node_kind(f->data);
    if ((kind == PAGE_LEAF) != (level + 1 == tree->depth)) {
        pool_unpin(t->pool, f);
        return ERR_CORRUPT(pgno, "page %llu is at the wrong level", (unsigned long long)pgno);
    }
    for (unsigned i = 0; rc == 0 && i < node_count(f->data); i++) {
        const uint8_t *c = node_cell(f->data, i);
        if (kind == PAGE_BRANCH)
            rc = drop_page(t, tree, branch_child(c), node_txid(f->data), level + 1);
        else if (leaf_big(c))
            rc = ovf_free(t, tree, ld64(leaf_val(c) + BIGREF_PGNO), ld64(leaf_val(c) + BIGREF_LEN));
    }
    pool_unpin(t->pool, f);
    if (rc < 0)
        return rc;
    return bt_page_free(t, tree, pgno, kind);
}

int bt_drop(struct bt_txn *t, struct bt_tree *tree)
{
    int rc = 0;
    if (t->failed)
        return FFDB_EBADTXN;
    if (!t->fl)
        return FFDB_EREADONLY;
    tree->version++;
    if (tree->depth > MAX_TREE_DEPTH)
        return bt_fail(t, ERR_CORRUPT(tree->root, "tree has depth %u", tree->depth));
    if (tree->depth > 0)
        rc = drop_page(t, tree, tree->root, t->txid, 0);
    if (rc < 0)
        return bt_fail(t, rc);
    tree->root = 0;
    tree->depth = 0;
    tree->entries = 0;
    return 0;
}

/* A tree reaches each of its pages once, so no walk of a sound tree visits
 * more pages than the file has. A damaged tree whose branches share pages
 * would otherwise take exponential time: the budget stops it. */
static int over_budget(struct bt_txn *t, uint64_t *visits, uint64_t pgno)
{
    if (++*visits <= bt_page_limit(t))
        return 0;
    return ERR_CORRUPT(pgno, "tree reaches more pages than the file has: page %llu is shared",
                       (unsigned long long)pgno);
}

static int stat_page(struct bt_txn *t, const struct bt_tree *tree, uint64_t pgno, uint64_t bound,
                     unsigned level, struct bt_stat *st, uint64_t *visits)
{
    struct pool_frame *f;
    const uint8_t *p;
    int rc = 0;

    assert(level < tree->depth && tree->depth <= MAX_TREE_DEPTH);
    CHECK(over_budget(t, visits, pgno));
    CHECK(bt_page_get(t, pgno, bound, &f));
    p = f->data;
    if ((node_kind(p) == PAGE_LEAF) != (level + 1 == tree->depth)) {
        pool_unpin(t->pool, f);
        return ERR_CORRUPT(pgno, "page %llu is at the wrong level", (unsigned long long)pgno);
    }
    st->used_bytes += node_used(p);
    st->capacity_bytes += t->page_size - PAGE_HEADER_SIZE;
    for (unsigned i = 0; rc == 0 && i < node_count(p); i++) {
        const uint8_t *c = node_cell(p, i);
        if (node_kind(p) == PAGE_BRANCH) {
            rc = stat_page(t, tree, branch_child(c), node_txid(p), level + 1, st, visits);
            continue;
        }
        st->key_bytes += leaf_klen(c);
        st->value_bytes += leaf_big(c) ? ld64(leaf_val(c) + BIGREF_LEN) : leaf_vlen(c);
    }
    pool_unpin(t->pool, f);
    return rc;
}

int bt_stat(struct bt_txn *t, const struct bt_tree *tree, struct bt_stat *st)
{
    uint64_t visits = 0;
    memset(st, 0, sizeof(*st));
    if (tree->depth == 0)
        return 0;
    if (tree->depth > MAX_TREE_DEPTH)
        return ERR_CORRUPT(tree->root, "tree has depth %u", tree->depth);
    return stat_page(t, tree, tree->root, t->txid, 0, st, &visits);
}

/* ---- check ------------------------------------------------------------------ */

struct check {
    struct bt_txn *t;
    const struct bt_tree *tree;
    const struct bt_check_ops *ops;
    uint64_t problems, entries, branch_pages, leaf_pages, overflow_pages;
    uint64_t visits;   /* pages entered, bounded by the file's page count */
    int stopped;       /* the budget ran out: shared pages, stop descending */
    int unreadable;    /* a page could not be read: the counters cannot agree */
};

static void problem(struct check *ck, uint64_t pgno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct check *ck, uint64_t pgno, const char *fmt, ...)
{
    char text[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    ck->problems++;
    if (ck->ops->report)
        ck->ops->report(ck->ops->arg, pgno, text);
}

/* A key range [lo, hi); a NULL bound is open. */
struct range {
    const uint8_t *lo, *hi;
    size_t lolen, hilen;
};

static int check_overflow(struct check *ck, const uint8_t *page, const uint8_t *c)
{
    struct bt_txn *t = ck->t;
    uint64_t pgno = ld64(leaf_val(c) + BIGREF_PGNO), len = ld64(leaf_val(c) + BIGREF_LEN);
    uint64_t pages = ovf_page_count(t->page_size, len);
    struct bt_buf buf = { 0 };
    int rc;

    if (len > FFDB_MAX_VALUE_SIZE || pgno < 2 || pgno + pages > bt_page_limit(t)) {
        problem(ck, node_pgno(page), "page %llu: overflow run at %llu of %llu bytes is outside the file",
                (unsigned long long)node_pgno(page), (unsigned long long)pgno,
                (unsigned long long)len);
        return 0;
    }
    ck->overflow_pages += pages;
    if (ck->ops->visit)
        ck->ops->visit(ck->ops->arg, pgno, pages);
    rc = bt_leaf_value(t, page, c, &buf);
    bt_buf_free(&buf);
    if (rc < 0 && rc != FFDB_CORRUPT && ck->ops->stop_on_error)
        return rc;
    if (rc < 0) {
        ffdb_error_info info;
        ffdb_last_error(&info);
        problem(ck, info.pgno, "overflow run at page %llu: %s", (unsigned long long)pgno,
                rc == FFDB_CORRUPT ? info.message : ffdb_strerror(rc));
    }
    return 0;
}

/* Check the keys of page p: increasing, and within r. */
static void check_keys(struct check *ck, const uint8_t *p, const struct range *r)
{
    unsigned n = node_count(p), first = node_kind(p) == PAGE_BRANCH ? 1 : 0;
    const uint8_t *prev = NULL;
    size_t prevlen = 0;
    for (unsigned i = first; i < n; i++) {
        size_t klen;
        const uint8_t *k = node_key(p, i, &klen);
        if (prev && key_cmp(prev, prevlen, k, klen) >= 0)
            problem(ck, node_pgno(p), "page %llu: key %u is not greater than key %u",
                    (unsigned long long)node_pgno(p), i, i - 1);
        if ((r->lo && key_cmp(k, klen, r->lo, r->lolen) < 0) ||
            (r->hi && key_cmp(k, klen, r->hi, r->hilen) >= 0))
            problem(ck, node_pgno(p), "page %llu: key %u is outside the range its parent gives",
                    (unsigned long long)node_pgno(p), i);
        prev = k;
        prevlen = klen;
    }
}

static int check_page(struct check *ck, uint64_t pgno, uint64_t bound, unsigned level,
                      const struct range *r)
{
    struct bt_txn *t = ck->t;
    struct pool_frame *f;
    const uint8_t *p;
    int rc;

    assert(level < ck->tree->depth && ck->tree->depth <= MAX_TREE_DEPTH);
    if (ck->stopped)
        return 0;
    if (++ck->visits > bt_page_limit(t)) {
        problem(ck, pgno, "tree reaches more pages than the file has: page %llu is shared",
                (unsigned long long)pgno);
        ck->stopped = 1;
        return 0;
    }
    rc = bt_page_get(t, pgno, bound, &f);
    if (rc == FFDB_CORRUPT) {
        ffdb_error_info info;
        ffdb_last_error(&info);
        problem(ck, pgno, "%s", info.message);
        ck->unreadable = 1;
        /* The page is damaged but still this tree's: owning it keeps the
         * accounting from reporting it a second time as leaked. */
        if (ck->ops->visit && pgno >= 2 && pgno < bt_page_limit(t))
            ck->ops->visit(ck->ops->arg, pgno, 1);
        return 0;
    }
    CHECK(rc);
    p = f->data;
    if (ck->ops->visit)
        ck->ops->visit(ck->ops->arg, pgno, 1);
    if ((node_kind(p) == PAGE_LEAF) != (level + 1 == ck->tree->depth)) {
        problem(ck, pgno, "page %llu is a %s at level %u of a tree of depth %u",
                (unsigned long long)pgno, node_kind(p) == PAGE_LEAF ? "leaf" : "branch", level,
                ck->tree->depth);
        pool_unpin(t->pool, f);
        return 0;
    }
    if (node_count(p) == 0 && level > 0)
        problem(ck, pgno, "page %llu is an empty non-root page", (unsigned long long)pgno);
    check_keys(ck, p, r);
    if (node_kind(p) == PAGE_LEAF) {
        ck->leaf_pages++;
        ck->entries += node_count(p);
        rc = 0;
        for (unsigned i = 0; rc == 0 && i < node_count(p); i++)
            if (leaf_big(node_cell(p, i)))
                rc = check_overflow(ck, p, node_cell(p, i));
        pool_unpin(t->pool, f);
        return rc;
    }
    ck->branch_pages++;
    rc = 0;
    for (unsigned i = 0; rc == 0 && i < node_count(p); i++) {
        struct range sub = *r;
        if (i > 0)
            sub.lo = node_key(p, i, &sub.lolen);
        if (i + 1 < node_count(p))
            sub.hi = node_key(p, i + 1, &sub.hilen);
        rc = check_page(ck, branch_child(node_cell(p, i)), node_txid(p), level + 1, &sub);
    }
    pool_unpin(t->pool, f);
    return rc;
}

int bt_check(struct bt_txn *t, const struct bt_tree *tree, const struct bt_check_ops *ops)
{
    struct check ck = { .t = t, .tree = tree, .ops = ops };
    struct range all = { 0 };
    int rc = 0;

    assert(t && tree && ops);
    if (tree->depth > MAX_TREE_DEPTH) {
        problem(&ck, tree->root, "tree rooted at %llu has depth %u", (unsigned long long)tree->root,
                tree->depth);
        return FFDB_CORRUPT;
    }
    if (tree->depth > 0)
        rc = check_page(&ck, tree->root, t->txid, 0, &all);
    else if (tree->root != 0)
        problem(&ck, tree->root, "empty tree names root page %llu", (unsigned long long)tree->root);
    CHECK(rc);
#define COUNTER(name, what)                                                                        \
    if (!ck.stopped && !ck.unreadable && ck.name != tree->name)                                    \
        problem(&ck, tree->root, "tree at %llu records %llu " what " but has %llu",               \
                (unsigned long long)tree->root, (unsigned long long)tree->name,                    \
                (unsigned long long)ck.name);
    COUNTER(entries, "entries")
    COUNTER(branch_pages, "branch pages")
    COUNTER(leaf_pages, "leaf pages")
    COUNTER(overflow_pages, "overflow pages")
#undef COUNTER
    return ck.problems ? FFDB_CORRUPT : 0;
}
