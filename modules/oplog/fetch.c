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

/* A snapshot's parent: wanted as any, and "oplog.v" (coverable): if the
 * peer answers without it (it dropped it), the snapshot's state covers it
 * and it moves to "oplog.x" (oplog_fetch_giveup), not asked again. */
static int cover_cid(ffdb_txn *txn, const ipld_cid *c)
{
    uint8_t key[IPLD_CID_BIN_MAX];
    ffdb_bucket *bv;
    int rc = ol_bucket(txn, "oplog.v", 1, &bv);
    return rc ? rc : ffdb_put(bv, key, ipld_cid_to_bytes(c, key), "", 0);
}

static int in_bucket(ffdb_txn *txn, const char *name, const ipld_cid *c)
{
    uint8_t key[IPLD_CID_BIN_MAX];
    ffdb_bucket *b;
    ffdb_val v;
    int rc = ol_bucket(txn, name, 0, &b);
    rc = rc ? rc : ffdb_get(b, key, ipld_cid_to_bytes(c, key), &v);
    return rc == FFDB_NOTFOUND ? 0 : rc ? rc : 1;
}

int oplog_fetch_covered(ffdb_txn *txn, const ipld_cid *id)
{
    return in_bucket(txn, "oplog.x", id);
}

int oplog_fetch_giveup(ffdb_txn *txn, const ipld_cid *want, size_t n, const uint8_t *got)
{
    ffdb_bucket *bx;
    int rc = ol_bucket(txn, "oplog.x", 1, &bx), moved = 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (!got[i] && (rc = in_bucket(txn, "oplog.v", &want[i])) == 1) {
            uint8_t key[IPLD_CID_BIN_MAX];
            rc = ffdb_put(bx, key, ipld_cid_to_bytes(&want[i], key), "", 0);
            moved++;
        }
    return rc < 0 ? rc : moved;
}

int oplog_fetch_dropped(ffdb_txn *txn, const ipld_cid *want, size_t n, const uint8_t *got,
                        const ipld_cid *id, const ipld_cid *snap)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!got[i] && ipld_cid_equal(&want[i], id))
            break;
    if (i == n)
        return 0; /* not asked for: ignored */
    int rc = cover_cid(txn, id); /* given up by oplog_fetch_giveup, as not got */
    rc = rc ? rc : want_cid(txn, snap);
    return rc ? rc : 1;
}

int oplog_fetch_cover_given_up(ffdb_txn *txn)
{
    ffdb_bucket *bx;
    ffdb_cursor *cur;
    ffdb_val k, v;
    uint8_t key[IPLD_CID_BIN_MAX];
    size_t klen = 0;
    int rc = ol_bucket(txn, "oplog.x", 0, &bx);
    if (rc == FFDB_NOTFOUND)
        return 0;
    while (!rc) { /* oplog_cover writes other buckets; re-seek per CID all the same */
        ipld_cid id;
        if ((rc = ffdb_cursor_open(bx, &cur)))
            break;
        rc = klen ? ffdb_cursor_seek(cur, key, klen, &k, &v) : ffdb_cursor_first(cur, &k, &v);
        if (!rc && klen && k.size == klen && !memcmp(k.data, key, klen))
            rc = ffdb_cursor_next(cur, &k, &v);
        if (!rc && (k.size > sizeof key || ipld_cid_from_bytes(k.data, k.size, &id)))
            rc = OPLOG_ECORRUPT;
        if (!rc)
            memcpy(key, k.data, klen = k.size);
        ffdb_cursor_close(cur);
        rc = rc ? rc : oplog_cover(txn, &id);
    }
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

/* One entry of an answer: must be one of want[0..n) not yet got, and hash
 * to it (its CID is computed from the bytes, so an altered entry names
 * another CID and is simply not an answer). */
int oplog_fetch_got(ffdb_txn *txn, const ipld_cid *want, size_t n, uint8_t *got,
                    const uint8_t *buf, size_t len)
{
    oplog_entry e;
    size_t i;
    assert(txn && (want || !n) && (got || !n));
    if (oplog_entry_decode(buf, len, &e))
        return 0; /* garbage from a peer is simply not an answer */
    for (i = 0; i < n; i++)
        if (!got[i] && ipld_cid_equal(&want[i], &e.id))
            break;
    int rc = 0;
    if (i < n) {
        uint8_t okey[OPLOG_ORDER_KEY_BYTES];
        ffdb_bucket *bp;
        oplog_order_key(e.clock, e.writer, &e.id, okey);
        rc = ol_bucket(txn, "oplog.p", 1, &bp);
        rc = rc ? rc : ffdb_put(bp, okey, sizeof okey, buf, len);
        for (size_t j = 0; !rc && j < e.next_count; j++)
            rc = e.kind == OPLOG_KIND_SNAPSHOT ? cover_cid(txn, &e.next[j]) : 0;
        for (size_t j = 0; !rc && j < e.next_count; j++)
            rc = want_cid(txn, &e.next[j]);
        got[i] = 1;
    }
    oplog_entry_free(&e);
    return rc ? rc : i < n;
}

static int got_one(void *arg, const uint8_t *buf, size_t len)
{
    struct fctx *f = arg;
    if (f->rc)
        return f->rc;
    int rc = oplog_fetch_got(f->txn, f->want, f->n, f->got, buf, len);
    f->rc = rc < 0 ? rc : 0;
    return f->rc;
}

int oplog_fetch_take(ffdb_txn *txn, ipld_cid *want, size_t cap, size_t *n)
{
    ffdb_bucket *bw;
    ffdb_cursor *cur;
    ffdb_val k, v;
    assert(txn && want && n && cap > 0);
    *n = 0;
    int rc = ol_bucket(txn, "oplog.w", 1, &bw);
    rc = rc ? rc : ffdb_cursor_open(bw, &cur);
    if (rc)
        return rc;
    for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0 && *n < cap;
         rc = ffdb_cursor_next(cur, &k, &v))
        if (ipld_cid_from_bytes(k.data, k.size, &want[(*n)++]))
            rc = OPLOG_ECORRUPT;
    ffdb_cursor_close(cur);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    for (size_t i = 0; i < *n; i++) {
        uint8_t key[IPLD_CID_BIN_MAX];
        size_t klen = ipld_cid_to_bytes(&want[i], key);
        rc = ffdb_delete(bw, key, klen);
        if (rc)
            return rc;
    }
    return 0;
}

int oplog_fetch_rewant(ffdb_txn *txn, const ipld_cid *want, size_t n, const uint8_t *got)
{
    ffdb_bucket *bw, *bv;
    int rc = ol_bucket(txn, "oplog.w", 1, &bw);
    rc = rc ? rc : ol_bucket(txn, "oplog.x", 1, &bv);
    for (size_t i = 0; !rc && i < n; i++)
        if (!got[i]) {
            uint8_t key[IPLD_CID_BIN_MAX];
            size_t klen = ipld_cid_to_bytes(&want[i], key);
            ffdb_val v;
            rc = ffdb_get(bv, key, klen, &v); /* given up: a snapshot covers it */
            rc = rc == FFDB_NOTFOUND ? ffdb_put(bw, key, klen, "", 0) : rc;
        }
    return rc;
}

int oplog_fetch_spill(ffdb_txn *txn, oplog_visit_fn fn, void *arg)
{
    ffdb_bucket *bp;
    ffdb_cursor *cur;
    ffdb_val k, v;
    assert(txn && fn);
    int rc = ol_bucket(txn, "oplog.p", 0, &bp);
    if (rc == FFDB_NOTFOUND)
        return 0;
    rc = rc ? rc : ffdb_cursor_open(bp, &cur);
    if (rc)
        return rc;
    for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0; rc = ffdb_cursor_next(cur, &k, &v)) {
        /* the value lives until the next call on the txn: fn gets a copy
         * (fn writes other buckets only; the cursor stays valid) */
        uint8_t *copy = malloc(v.size ? v.size : 1);
        ipld_cid id;
        if (!copy) {
            rc = FFDB_ENOMEM;
            break;
        }
        if (k.size != OPLOG_ORDER_KEY_BYTES ||
            ipld_cid_from_bytes((const uint8_t *)k.data + 8 + OPLOG_KEY_BYTES, OPLOG_CID_BYTES,
                                &id)) {
            free(copy);
            rc = OPLOG_ECORRUPT;
            break;
        }
        memcpy(copy, v.data, v.size);
        rc = fn(arg, &id, copy, v.size);
        free(copy);
        if (rc)
            break;
    }
    ffdb_cursor_close(cur);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

int oplog_fetch_end(ffdb_txn *txn)
{
    int rc = ol_drop(txn, "oplog.w");
    rc = rc ? rc : ol_drop(txn, "oplog.v");
    rc = rc ? rc : ol_drop(txn, "oplog.x");
    rc = rc ? rc : ol_drop(txn, "oplog.s");
    return rc ? rc : ol_drop(txn, "oplog.p");
}

int oplog_fetch_begin(ffdb_txn *txn, const ipld_cid *head)
{
    int rc = oplog_fetch_end(txn);
    return rc ? rc : want_cid(txn, head);
}

int oplog_fetch(oplog *log, ffdb_txn *txn, const ipld_cid *head, size_t batch,
                oplog_transport_fn transport, void *arg, uint64_t *added)
{
    assert(log && txn && head && transport && batch > 0);
    struct fctx f = {.txn = txn};
    ol_adder a = {log, txn, 0, 0};
    f.want = calloc(batch, sizeof *f.want);
    f.got = calloc(batch, 1);
    int rc = f.want && f.got ? oplog_fetch_begin(txn, head) : FFDB_ENOMEM;
    while (!rc) {
        rc = oplog_fetch_take(txn, f.want, batch, &f.n);
        if (rc || f.n == 0)
            break;
        memset(f.got, 0, batch);
        rc = transport(arg, f.want, f.n, got_one, &f);
        rc = rc ? rc : f.rc;
        for (size_t i = 0; !rc && i < f.n; i++)
            if (!f.got[i])
                rc = OPLOG_EMISSING;
    }
    rc = rc ? rc : oplog_fetch_spill(txn, ol_add_counted, &a);
    int drc = oplog_fetch_end(txn);
    rc = rc ? rc : drc;
    free(f.want);
    free(f.got);
    if (added)
        *added = a.added;
    return rc;
}
