/*
 * fetch.c — oplog_fetch: walk back from a remote head through a transport
 * callback until known entries are reached. Memory is one batch of CIDs;
 * the rest of the walk lives in scratch buckets of the caller's txn:
 *   oplog.w  cid -> ""          wanted, not asked yet
 *   oplog.s  cid -> ""          asked or wanted during this fetch
 *   oplog.p  order key -> bytes fetched, hash-checked, not yet added
 * When nothing is wanted, oplog.p is added in clock order (parents first,
 * O2) with oplog_add's full checks, and the scratch buckets are dropped.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "modules/oplog/log_int.h"

struct fctx {
    ffdb_txn *txn;
    ipld_cid *want;
    uint8_t *got;
    size_t n;
    int rc;
};

static int want_cid(ffdb_txn *txn, const ipld_cid *c)
{
    uint8_t key[IPLD_CID_BIN_MAX];
    size_t klen = ipld_cid_to_bytes(c, key);
    ffdb_bucket *bw, *bs;
    ffdb_val v;
    uint64_t clock;
    int rc = ol_lookup(txn, c, &clock);
    if (rc)
        return rc < 0 ? rc : 0; /* held or dropped: the walk stops here */
    rc = ol_bucket(txn, "oplog.s", 1, &bs);
    rc = rc ? rc : ffdb_get(bs, key, klen, &v);
    if (rc != FFDB_NOTFOUND)
        return rc;
    rc = ol_bucket(txn, "oplog.w", 1, &bw);
    rc = rc ? rc : ffdb_put(bs, key, klen, "", 0);
    return rc ? rc : ffdb_put(bw, key, klen, "", 0);
}

/* One entry from the transport: must be one we asked for, and hash to it. */
static int got_one(void *arg, const uint8_t *buf, size_t len)
{
    struct fctx *f = arg;
    oplog_entry e;
    size_t i;
    if (f->rc)
        return f->rc;
    if (oplog_entry_decode(buf, len, &e))
        return 0; /* garbage from a peer is simply not an answer */
    for (i = 0; i < f->n; i++)
        if (!f->got[i] && ipld_cid_equal(&f->want[i], &e.id))
            break;
    int rc = 0;
    if (i < f->n) {
        uint8_t okey[OPLOG_ORDER_KEY_BYTES];
        ffdb_bucket *bp;
        oplog_order_key(e.clock, e.writer, &e.id, okey);
        rc = ol_bucket(f->txn, "oplog.p", 1, &bp);
        rc = rc ? rc : ffdb_put(bp, okey, sizeof okey, buf, len);
        for (size_t j = 0; !rc && j < e.next_count; j++)
            rc = want_cid(f->txn, &e.next[j]);
        f->got[i] = 1;
    }
    oplog_entry_free(&e);
    f->rc = rc;
    return rc;
}

/* Take up to batch CIDs out of oplog.w into f->want. */
static int take_batch(struct fctx *f, size_t batch)
{
    ffdb_bucket *bw;
    ffdb_cursor *cur;
    ffdb_val k, v;
    f->n = 0;
    int rc = ol_bucket(f->txn, "oplog.w", 1, &bw);
    rc = rc ? rc : ffdb_cursor_open(bw, &cur);
    if (rc)
        return rc;
    for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0 && f->n < batch;
         rc = ffdb_cursor_next(cur, &k, &v))
        if (ipld_cid_from_bytes(k.data, k.size, &f->want[f->n++]))
            rc = OPLOG_ECORRUPT;
    ffdb_cursor_close(cur);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    for (size_t i = 0; i < f->n; i++) {
        uint8_t key[IPLD_CID_BIN_MAX];
        size_t klen = ipld_cid_to_bytes(&f->want[i], key);
        rc = ffdb_delete(bw, key, klen);
        if (rc)
            return rc;
    }
    return 0;
}

static int add_spill(oplog *log, ffdb_txn *txn, uint64_t *added)
{
    ffdb_bucket *bp;
    ffdb_cursor *cur;
    ffdb_val k, v;
    int rc = ol_bucket(txn, "oplog.p", 1, &bp);
    rc = rc ? rc : ffdb_cursor_open(bp, &cur);
    if (rc)
        return rc;
    for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0; rc = ffdb_cursor_next(cur, &k, &v)) {
        uint8_t *copy = malloc(v.size ? v.size : 1);
        if (!copy) {
            rc = FFDB_ENOMEM;
            break;
        }
        memcpy(copy, v.data, v.size);
        rc = oplog_add(log, txn, copy, v.size);
        free(copy);
        if (rc == 0)
            (*added)++;
        else if (rc != 1)
            break;
    }
    ffdb_cursor_close(cur);
    return rc == FFDB_NOTFOUND || rc == 1 ? 0 : rc;
}

static int drop_scratch(ffdb_txn *txn)
{
    int rc = ol_drop(txn, "oplog.w");
    rc = rc ? rc : ol_drop(txn, "oplog.s");
    return rc ? rc : ol_drop(txn, "oplog.p");
}

int oplog_fetch(oplog *log, ffdb_txn *txn, const ipld_cid *head, size_t batch,
                oplog_transport_fn transport, void *arg, uint64_t *added)
{
    assert(log && txn && head && transport && batch > 0);
    struct fctx f = {.txn = txn};
    uint64_t count = 0;
    f.want = calloc(batch, sizeof *f.want);
    f.got = calloc(batch, 1);
    int rc = f.want && f.got ? drop_scratch(txn) : FFDB_ENOMEM;
    rc = rc ? rc : want_cid(txn, head);
    while (!rc) {
        rc = take_batch(&f, batch);
        if (rc || f.n == 0)
            break;
        memset(f.got, 0, batch);
        rc = transport(arg, f.want, f.n, got_one, &f);
        rc = rc ? rc : f.rc;
        for (size_t i = 0; !rc && i < f.n; i++)
            if (!f.got[i])
                rc = OPLOG_EMISSING;
    }
    rc = rc ? rc : add_spill(log, txn, &count);
    int drc = drop_scratch(txn);
    rc = rc ? rc : drc;
    free(f.want);
    free(f.got);
    if (added)
        *added = count;
    return rc;
}
