/*
 * bucket.c — the catalog of buckets and the key/value calls on a bucket.
 *
 * The catalog is a B+tree mapping a bucket name to its tree record
 * (format.h). A transaction keeps one handle per bucket it opened; the
 * handle holds the live tree record, written back to the catalog at commit
 * if it changed. Argument checking for the public calls lives here.
 */
#include <assert.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "engine/db.h"

static int check_name(const void *name, size_t len)
{
    if (!name || len == 0 || len > FFDB_MAX_KEY_SIZE)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "bucket names are 1..%u bytes", FFDB_MAX_KEY_SIZE);
    return 0;
}

static struct ffdb_bucket *find_handle(ffdb_txn *txn, const void *name, size_t len)
{
    for (struct ffdb_bucket *b = txn->buckets; b; b = b->next)
        if (!b->dropped && b->name_len == len && memcmp(b->name, name, len) == 0)
            return b;
    return NULL;
}

static struct ffdb_bucket *alloc_handle(ffdb_txn *txn, const void *name, size_t len,
                                        const struct bt_tree *tree)
{
    struct ffdb_bucket *b = mem_calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->name = mem_alloc(len);
    if (!b->name) {
        mem_free(b);
        return NULL;
    }
    memcpy(b->name, name, len);
    b->name_len = len;
    b->txn = txn;
    b->tree = *tree;
    return b;
}

static void link_handle(ffdb_txn *txn, struct ffdb_bucket *b)
{
    b->next = txn->buckets;
    txn->buckets = b;
}

static void free_handle(struct ffdb_bucket *b)
{
    mem_free(b->name);
    mem_free(b);
}

static int new_handle(ffdb_txn *txn, const void *name, size_t len, const struct bt_tree *tree,
                      struct ffdb_bucket **out)
{
    struct ffdb_bucket *b = alloc_handle(txn, name, len, tree);
    if (!b)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate a bucket handle");
    link_handle(txn, b);
    *out = b;
    return 0;
}

int ffdb_bucket_create(ffdb_txn *txn, const void *name, size_t len, ffdb_bucket **out)
{
    uint8_t rec[TREC_SIZE];
    struct bt_tree empty;
    struct ffdb_bucket *b;
    int rc;

    if (!txn || !out)
        return FFDB_EINVAL;
    CHECK(check_name(name, len));
    if (!txn->write)
        return FFDB_EREADONLY;
    memset(&empty, 0, sizeof(empty));
    bt_tree_encode(&empty, rec);
    /* Allocate first, so a failure leaves the catalog as it was. */
    b = alloc_handle(txn, name, len, &empty);
    if (!b)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate a bucket handle");
    rc = bt_put(&txn->bt, &txn->meta.catalog, name, len, rec, sizeof(rec), BT_INSERT);
    if (rc < 0) {
        free_handle(b);
        return rc;
    }
    txn->meta.bucket_count++;
    assert(txn->meta.catalog.depth > 0 && b->tree.depth == 0); /* in the catalog, empty */
    link_handle(txn, b);
    *out = b;
    return 0;
}

int ffdb_bucket_open(ffdb_txn *txn, const void *name, size_t len, ffdb_bucket **out)
{
    struct ffdb_bucket *b;
    struct bt_tree tree;
    ffdb_val v;

    if (!txn || !out)
        return FFDB_EINVAL;
    CHECK(check_name(name, len));
    b = find_handle(txn, name, len);
    if (b) {
        *out = b;
        return 0;
    }
    CHECK(bt_get(&txn->bt, &txn->meta.catalog, name, len, &v));
    if (v.size != TREC_SIZE)
        return ERR_CORRUPT(txn->meta.catalog.root, "catalog record of a bucket has %zu bytes",
                           v.size);
    bt_tree_decode(&tree, v.data);
    if (tree.depth > MAX_TREE_DEPTH || (tree.root == 0) != (tree.depth == 0))
        return ERR_CORRUPT(tree.root, "bucket record names root %llu with depth %u",
                           (unsigned long long)tree.root, tree.depth);
    return new_handle(txn, name, len, &tree, out);
}

int ffdb_bucket_drop(ffdb_txn *txn, const void *name, size_t len)
{
    struct ffdb_bucket *b;
    int rc;

    if (!txn)
        return FFDB_EINVAL;
    CHECK(check_name(name, len));
    if (!txn->write)
        return FFDB_EREADONLY;
    CHECK(ffdb_bucket_open(txn, name, len, &b));
    if (b->busy)
        return FFDB_EBUSY;
    rc = bt_drop(&txn->bt, &b->tree);
    if (rc == 0)
        rc = bt_delete(&txn->bt, &txn->meta.catalog, name, len);
    if (rc < 0)
        return rc; /* bt_drop and bt_delete mark the txn failed themselves */
    assert(b->tree.depth == 0 && b->tree.root == 0 && !txn->bt.failed);
    b->dropped = 1;
    txn->meta.bucket_count--;
    return 0;
}

int ffdb_bucket_list(ffdb_txn *txn, int (*fn)(void *arg, const void *name, size_t len), void *arg)
{
    struct bt_cursor c;
    ffdb_val k;
    int rc;

    if (!txn || !fn)
        return FFDB_EINVAL;
    bt_cursor_init(&c, &txn->bt, &txn->meta.catalog);
    for (rc = bt_cursor_first(&c, &k, NULL); rc == 0; rc = bt_cursor_next(&c, &k, NULL)) {
        int stop = fn(arg, k.data, k.size);
        if (stop) {
            rc = stop;
            break;
        }
    }
    bt_cursor_release(&c);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

/* Write every changed bucket record into the catalog (commit). */
int bucket_flush_all(ffdb_txn *txn)
{
    uint8_t rec[TREC_SIZE];
    assert(txn->write && !txn->bulks); /* commit refuses an open bulk load */
    for (struct ffdb_bucket *b = txn->buckets; b; b = b->next) {
        assert(b->txn == txn && !b->busy);
        if (b->dropped || !b->dirty)
            continue;
        bt_tree_encode(&b->tree, rec);
        CHECK(bt_put(&txn->bt, &txn->meta.catalog, b->name, b->name_len, rec, sizeof(rec),
                     BT_UPDATE));
        b->dirty = 0;
    }
    return 0;
}

/* Common checks of the key/value calls; writing says whether it changes data. */
static int check_call(ffdb_bucket *b, const void *key, size_t klen, int writing)
{
    if (!b || (!key && klen))
        return FFDB_EINVAL;
    if (b->dropped)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "the bucket was dropped");
    if (klen > FFDB_MAX_KEY_SIZE)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "key of %zu bytes is over the %u-byte limit",
                         klen, FFDB_MAX_KEY_SIZE);
    if (writing && !b->txn->write)
        return FFDB_EREADONLY;
    if (writing && b->busy)
        return FFDB_EBUSY;
    return 0;
}

int ffdb_get(ffdb_bucket *b, const void *key, size_t klen, ffdb_val *val)
{
    CHECK(check_call(b, key, klen, 0));
    if (!val)
        return FFDB_EINVAL;
    return bt_get(&b->txn->bt, &b->tree, key, klen, val);
}

static int put_mode(ffdb_bucket *b, const void *key, size_t klen, const void *val, size_t vlen,
                    int mode)
{
    int rc;
    CHECK(check_call(b, key, klen, 1));
    if (!val && vlen)
        return FFDB_EINVAL;
    if (vlen > FFDB_MAX_VALUE_SIZE)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "value of %zu bytes is over the limit", vlen);
    assert(b->txn->write && !b->busy && !b->dropped); /* check_call */
    rc = bt_put(&b->txn->bt, &b->tree, key, klen, val, vlen, mode);
    if (rc == 0)
        b->dirty = 1;
    return rc;
}

int ffdb_put(ffdb_bucket *b, const void *key, size_t klen, const void *val, size_t vlen)
{
    return put_mode(b, key, klen, val, vlen, BT_PUT);
}

int ffdb_insert(ffdb_bucket *b, const void *key, size_t klen, const void *val, size_t vlen)
{
    return put_mode(b, key, klen, val, vlen, BT_INSERT);
}

int ffdb_update(ffdb_bucket *b, const void *key, size_t klen, const void *val, size_t vlen)
{
    return put_mode(b, key, klen, val, vlen, BT_UPDATE);
}

int ffdb_delete(ffdb_bucket *b, const void *key, size_t klen)
{
    int rc;
    CHECK(check_call(b, key, klen, 1));
    rc = bt_delete(&b->txn->bt, &b->tree, key, klen);
    if (rc == 0)
        b->dirty = 1;
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

int ffdb_stat_bucket(ffdb_bucket *b, ffdb_bucket_stat *st)
{
    struct bt_stat s;
    if (!b || !st)
        return FFDB_EINVAL;
    memset(st, 0, sizeof(*st));
    CHECK(bt_stat(&b->txn->bt, &b->tree, &s));
    st->entries = b->tree.entries;
    st->depth = b->tree.depth;
    st->branch_pages = b->tree.branch_pages;
    st->leaf_pages = b->tree.leaf_pages;
    st->overflow_pages = b->tree.overflow_pages;
    st->key_bytes = s.key_bytes;
    st->value_bytes = s.value_bytes;
    st->fill = s.capacity_bytes ? (double)s.used_bytes / (double)s.capacity_bytes : 0.0;
    return 0;
}
