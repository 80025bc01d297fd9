/*
 * gc.c — links of a block, pins, and garbage collection.
 *
 * Owns: the "pins" bucket and the mark-and-sweep over the store. The mark
 * set and the work list are scratch buckets ("gc.mark", "gc.todo") inside
 * the one write transaction that also sweeps, so the walk holds one block
 * and its decoded links in memory at a time, whatever the store's size; the
 * engine spills dirty pages past its pool. The transaction is all or
 * nothing: a crash during gc leaves the store as it was. Roots: every pin
 * (recursive ones with their DAG) and every ref (refs.c: branches and a
 * detached HEAD; commit objects link their root and parents, so history is
 * kept). Called by the API and the CLI. Must never delete a block reachable
 * from a root, nor follow a link into a block it cannot decode (a block of
 * an unknown codec is kept, its links unknown).
 */
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/store.h"

#define NAME(s) s, sizeof(s) - 1

int blocks_links(uint64_t codec, const void *data, size_t len,
                 int (*fn)(void *arg, const ipld_cid *cid), void *arg)
{
    int rc;
    if (codec == IPLD_CODEC_RAW)
        return 0;
    if (codec == IPLD_CODEC_DAG_PB) {
        ipld_pb_node node;
        if ((rc = ipld_pb_decode(data, len, &node)) != 0)
            return rc;
        for (size_t i = 0; rc == 0 && i < node.link_count; i++)
            rc = fn(arg, &node.links[i].cid);
        ipld_pb_node_free(&node);
        return rc;
    }
    if (codec == IPLD_CODEC_DAG_CBOR) {
        cbor_item_t *item;
        if ((rc = ipld_cbor_decode(data, len, 0, &item)) != 0)
            return rc;
        rc = ipld_cbor_links(item, fn, arg);
        cbor_decref(&item);
        return rc;
    }
    return IPLD_EUNSUPPORTED;
}

/* ---- pins ---------------------------------------------------------------------------- */

int blocks_pin(blocks *bs, const ipld_cid *cid, int recursive)
{
    uint8_t key[KEY_MAX], flag = recursive ? 1 : 0;
    size_t klen = store_key(cid, key);
    ffdb_val v;
    wtx w;
    int rc;
    if (bs->batch)
        return BLOCKS_EBUSY;
    if ((rc = wtx_begin(bs, &w)) != 0)
        return rc;
    rc = ffdb_get(w.pins, key, klen, &v);
    if (rc == FFDB_NOTFOUND)
        w.c.pins++;
    if ((rc == 0 || rc == FFDB_NOTFOUND) && (rc = ffdb_put(w.pins, key, klen, &flag, 1)) == 0)
        return wtx_commit(&w);
    wtx_abort(&w);
    return rc;
}

int blocks_unpin(blocks *bs, const ipld_cid *cid)
{
    uint8_t key[KEY_MAX];
    size_t klen = store_key(cid, key);
    ffdb_val v;
    wtx w;
    int rc;
    if (bs->batch)
        return BLOCKS_EBUSY;
    if ((rc = wtx_begin(bs, &w)) != 0)
        return rc;
    if ((rc = ffdb_get(w.pins, key, klen, &v)) == 0 && (rc = ffdb_delete(w.pins, key, klen)) == 0) {
        w.c.pins--;
        return wtx_commit(&w);
    }
    wtx_abort(&w);
    return rc;
}

int blocks_pins(blocks *bs, int (*fn)(void *arg, const ipld_cid *cid, int recursive), void *arg)
{
    ffdb_cursor *cur;
    ffdb_val k, v;
    rtx r;
    int rc = rtx_begin(bs, &r);
    if (rc)
        return rc;
    if ((rc = ffdb_cursor_open(r.pins, &cur)) == 0) {
        for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0; rc = ffdb_cursor_next(cur, &k, &v)) {
            ipld_cid cid;
            if ((rc = store_key_cid(k.data, k.size, &cid)) != 0 ||
                (rc = fn(arg, &cid, v.size == 1 && ((const uint8_t *)v.data)[0] == 1)) != 0)
                break;
        }
        ffdb_cursor_close(cur);
    }
    rtx_end(&r);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

/* ---- mark and sweep ------------------------------------------------------------------------ */

typedef struct gc_ctx {
    blocks *bs;
    wtx *w;
    ffdb_bucket *mark, *todo;
} gc_ctx;

/* Marks key; queues it for its links when recursive and present. */
static int mark_key(gc_ctx *g, const uint8_t *key, size_t klen, int recursive)
{
    ffdb_val v;
    int rc = ffdb_get(g->mark, key, klen, &v);
    if (rc == 0) {
        if (!recursive || v.size != 1 || ((const uint8_t *)v.data)[0] == 1)
            return 0; /* already marked (and walked, if that was asked) */
    } else if (rc != FFDB_NOTFOUND) {
        return rc;
    }
    uint8_t walked = recursive ? 1 : 0;
    if ((rc = ffdb_put(g->mark, key, klen, &walked, 1)) != 0)
        return rc;
    return recursive ? ffdb_put(g->todo, key, klen, "", 0) : 0;
}

static int mark_link(void *arg, const ipld_cid *cid)
{
    uint8_t key[KEY_MAX];
    return mark_key(arg, key, store_key(cid, key), 1);
}

static int walk_todo(gc_ctx *g)
{
    uint8_t key[KEY_MAX];
    ffdb_cursor *cur;
    ffdb_val k;
    int rc;
    for (;;) {
        if ((rc = ffdb_cursor_open(g->todo, &cur)) != 0)
            return rc;
        rc = ffdb_cursor_first(cur, &k, NULL);
        size_t klen = rc == 0 && k.size <= KEY_MAX ? k.size : 0;
        if (klen)
            memcpy(key, k.data, klen);
        ffdb_cursor_close(cur);
        if (rc == FFDB_NOTFOUND)
            return 0;
        if (rc || klen == 0 || (rc = ffdb_delete(g->todo, key, klen)) != 0)
            return rc ? rc : BLOCKS_ESTATE;
        void *data;
        size_t len;
        ipld_cid cid;
        if ((rc = store_read_from(g->bs, g->w->index, g->w->blocks, key, klen, &data, &len)) == FFDB_NOTFOUND)
            continue; /* a link to a block we do not have */
        if (rc || (rc = store_key_cid(key, klen, &cid)) != 0)
            return rc;
        rc = blocks_links(cid.codec, data, len, mark_link, g);
        free(data);
        if (rc == IPLD_EUNSUPPORTED || rc == IPLD_EFORMAT)
            rc = 0; /* kept; its links, if any, are unknown */
        if (rc)
            return rc;
    }
}

/* Roots: pins, then refs whose values are binary CIDs (refs.c). */
static int mark_roots(gc_ctx *g)
{
    ffdb_cursor *cur;
    ffdb_val k, v;
    int rc;
    if ((rc = ffdb_cursor_open(g->w->pins, &cur)) != 0)
        return rc;
    for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0; rc = ffdb_cursor_next(cur, &k, &v))
        if ((rc = mark_key(g, k.data, k.size, v.size == 1 && ((const uint8_t *)v.data)[0] == 1)) !=
            0)
            break;
    ffdb_cursor_close(cur);
    if (rc != FFDB_NOTFOUND)
        return rc;
    if ((rc = ffdb_cursor_open(g->w->refs, &cur)) != 0)
        return rc;
    for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0; rc = ffdb_cursor_next(cur, &k, &v)) {
        ipld_cid cid;
        if (ipld_cid_from_bytes(v.data, v.size, &cid) != 0)
            continue; /* a symbolic ref ("ref:refs/heads/main") */
        uint8_t key[KEY_MAX];
        if ((rc = mark_key(g, key, store_key(&cid, key), 1)) != 0)
            break;
    }
    ffdb_cursor_close(cur);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

static int sweep(gc_ctx *g, blocks_gc_result *res, int *any_cold)
{
    ffdb_cursor *cur;
    ffdb_val k, v;
    uint8_t key[KEY_MAX];
    int rc;
    if ((rc = ffdb_cursor_open(g->w->index, &cur)) != 0)
        return rc;
    for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0;) {
        uint64_t size;
        size_t klen = k.size;
        if (klen > KEY_MAX || v.size != REC_SIZE) {
            rc = BLOCKS_ESTATE;
            break;
        }
        rec_get(v.data, NULL, &size, NULL, NULL);
        memcpy(key, k.data, klen);
        ffdb_val m;
        if ((rc = ffdb_get(g->mark, key, klen, &m)) == 0) {
            res->kept++;
            rc = ffdb_cursor_next(cur, &k, &v);
            continue;
        }
        if (rc != FFDB_NOTFOUND)
            break;
        int was_cold;
        if ((rc = store_rm_in(g->w, key, klen, &was_cold)) != 0)
            break;
        *any_cold |= was_cold;
        res->removed++;
        res->removed_bytes += size;
        /* The cursor continues from the key it was on (now gone). */
        rc = ffdb_cursor_seek(cur, key, klen, &k, &v);
    }
    ffdb_cursor_close(cur);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

int blocks_gc(blocks *bs, blocks_gc_result *res)
{
    blocks_gc_result local;
    uint64_t chunks;
    int any_cold = 0, rc;
    wtx w;
    gc_ctx g = {bs, &w, NULL, NULL};
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (bs->batch)
        return BLOCKS_EBUSY;
    if ((rc = blocks_flush(bs)) != 0 || (rc = wtx_begin(bs, &w)) != 0)
        return rc;
    ffdb_bucket_drop(w.txn, NAME("gc.mark")); /* none unless an older gc aborted oddly */
    ffdb_bucket_drop(w.txn, NAME("gc.todo"));
    if ((rc = ffdb_bucket_create(w.txn, NAME("gc.mark"), &g.mark)) == 0 &&
        (rc = ffdb_bucket_create(w.txn, NAME("gc.todo"), &g.todo)) == 0 &&
        (rc = mark_roots(&g)) == 0 && (rc = walk_todo(&g)) == 0 &&
        (rc = sweep(&g, res, &any_cold)) == 0 &&
        (rc = ffdb_bucket_drop(w.txn, NAME("gc.mark"))) == 0 &&
        (rc = ffdb_bucket_drop(w.txn, NAME("gc.todo"))) == 0 &&
        (rc = meta_get_u64s(w.meta, "bloom", &chunks, 1)) == 0)
        rc = bloom_rebuild(&w, (uint32_t)chunks);
    if (rc) {
        wtx_abort(&w);
        return rc;
    }
    if ((rc = wtx_commit(&w)) != 0)
        return rc;
    return any_cold ? store_finish_pending(bs) : 0;
}
