/*
 * cursor.c — the public cursor and bulk-loader handles: argument checks,
 * ownership by the transaction, and the bucket's busy flag during a bulk
 * load. The work is done by btree/cursor.c and btree/bulk.c.
 */
#include <assert.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "engine/db.h"

int ffdb_cursor_open(ffdb_bucket *b, ffdb_cursor **out)
{
    ffdb_cursor *c;
    if (!b || !out)
        return FFDB_EINVAL;
    if (b->dropped)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "the bucket was dropped");
    c = mem_calloc(1, sizeof(*c));
    if (!c)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate a cursor");
    c->txn = b->txn;
    c->bucket = b;
    bt_cursor_init(&c->c, &b->txn->bt, &b->tree);
    c->next = b->txn->cursors;
    if (c->next)
        c->next->prev = c;
    b->txn->cursors = c;
    *out = c;
    return 0;
}

void ffdb_cursor_close(ffdb_cursor *c)
{
    if (!c)
        return;
    /* Linked into its txn's list (a cursor outlives nothing of its txn). */
    assert(c->prev ? c->prev->next == c : c->txn->cursors == c);
    assert(!c->next || c->next->prev == c);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->txn->cursors = c->next;
    if (c->next)
        c->next->prev = c->prev;
    bt_cursor_release(&c->c);
    mem_free(c);
}

static int cursor_ok(ffdb_cursor *c)
{
    if (!c)
        return FFDB_EINVAL;
    if (c->bucket->dropped)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "the bucket was dropped");
    return 0;
}

int ffdb_cursor_first(ffdb_cursor *c, ffdb_val *key, ffdb_val *val)
{
    CHECK(cursor_ok(c));
    return bt_cursor_first(&c->c, key, val);
}

int ffdb_cursor_last(ffdb_cursor *c, ffdb_val *key, ffdb_val *val)
{
    CHECK(cursor_ok(c));
    return bt_cursor_last(&c->c, key, val);
}

int ffdb_cursor_seek(ffdb_cursor *c, const void *k, size_t klen, ffdb_val *key, ffdb_val *val)
{
    CHECK(cursor_ok(c));
    if (!k && klen)
        return FFDB_EINVAL;
    if (klen > FFDB_MAX_KEY_SIZE)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "key of %zu bytes is over the limit", klen);
    return bt_cursor_seek(&c->c, k, klen, key, val);
}

int ffdb_cursor_next(ffdb_cursor *c, ffdb_val *key, ffdb_val *val)
{
    CHECK(cursor_ok(c));
    return bt_cursor_next(&c->c, key, val);
}

int ffdb_cursor_prev(ffdb_cursor *c, ffdb_val *key, ffdb_val *val)
{
    CHECK(cursor_ok(c));
    return bt_cursor_prev(&c->c, key, val);
}

/* ---- bulk loader ------------------------------------------------------------- */

int ffdb_bulk_begin(ffdb_bucket *b, double fill_factor, ffdb_bulk **out)
{
    ffdb_bulk *bk;
    int rc;
    if (!b || !out)
        return FFDB_EINVAL;
    if (b->dropped)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "the bucket was dropped");
    if (!b->txn->write)
        return FFDB_EREADONLY;
    /* One bulk load per txn: its pages are allocated as it goes, and a
     * second interleaved one would scatter both trees across the file. */
    if (b->busy || b->txn->bulks)
        return FFDB_EBUSY;
    bk = mem_calloc(1, sizeof(*bk));
    if (!bk)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate a bulk loader");
    rc = bt_bulk_begin(&b->txn->bt, &b->tree, fill_factor, &bk->b);
    if (rc < 0) {
        mem_free(bk);
        return rc;
    }
    bk->txn = b->txn;
    bk->bucket = b;
    bk->next = b->txn->bulks;
    if (bk->next)
        bk->next->prev = bk;
    b->txn->bulks = bk;
    b->busy = 1;
    assert(!bk->next); /* one bulk load per txn */
    *out = bk;
    return 0;
}

int ffdb_bulk_append(ffdb_bulk *bk, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (!bk || (!key && klen) || (!val && vlen))
        return FFDB_EINVAL;
    return bt_bulk_append(bk->b, key, klen, val, vlen);
}

static void bulk_unlink(ffdb_bulk *bk)
{
    assert(bk->bucket->busy && (bk->prev ? bk->prev->next == bk : bk->txn->bulks == bk));
    if (bk->prev)
        bk->prev->next = bk->next;
    else
        bk->txn->bulks = bk->next;
    if (bk->next)
        bk->next->prev = bk->prev;
    bk->bucket->busy = 0;
    mem_free(bk);
}

int ffdb_bulk_finish(ffdb_bulk *bk)
{
    int rc;
    if (!bk)
        return FFDB_EINVAL;
    rc = bt_bulk_finish(bk->b);
    if (rc == 0)
        bk->bucket->dirty = 1;
    bulk_unlink(bk);
    return rc;
}

void ffdb_bulk_abort(ffdb_bulk *bk)
{
    if (!bk)
        return;
    bt_bulk_abort(bk->b);
    bulk_unlink(bk);
}
