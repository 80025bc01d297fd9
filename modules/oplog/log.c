/*
 * log.c — the log's storage in ffdb buckets: append, add with full checks,
 * reads, the walk in total order, join, verify and compaction.
 * Who calls it: the CRDT layer and fetch.c. Transactions are the caller's.
 *
 *   oplog.e  cid(36)            -> clock(8, BE) writer(32) entry bytes
 *   oplog.c  clock writer cid   -> ""     (the total order, O1)
 *   oplog.h  cid                -> ""     (heads, O4)
 *   oplog.g  cid                -> clock  (dropped by compaction, O3)
 *   oplog.m  "n" / "clock"      -> u64 BE (entries held, highest clock)
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/oplog/log_int.h"

#define PREFIX_BYTES (8 + OPLOG_KEY_BYTES)

/* Nothing is cached yet: the handle is where a clock cache would go. */
struct oplog {
    int unused;
};

int oplog_new(oplog **log)
{
    assert(log);
    *log = calloc(1, sizeof **log);
    return *log ? 0 : FFDB_ENOMEM;
}

void oplog_free(oplog *log)
{
    free(log);
}

int ol_bucket(ffdb_txn *txn, const char *name, int create, ffdb_bucket **b)
{
    int rc = ffdb_bucket_open(txn, name, strlen(name), b);
    if (rc == FFDB_NOTFOUND && create)
        rc = ffdb_bucket_create(txn, name, strlen(name), b);
    return rc;
}

uint64_t ol_get_u64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

void ol_put_u64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
}

static int meta_get(ffdb_txn *txn, const char *k, uint64_t *v)
{
    ffdb_bucket *m;
    ffdb_val val;
    *v = 0;
    int rc = ol_bucket(txn, "oplog.m", 0, &m);
    if (rc == FFDB_NOTFOUND)
        return 0;
    rc = rc ? rc : ffdb_get(m, k, strlen(k), &val);
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (!rc && val.size != 8)
        return OPLOG_ECORRUPT;
    if (!rc)
        *v = ol_get_u64(val.data);
    return rc;
}

static int meta_put(ffdb_txn *txn, const char *k, uint64_t v)
{
    ffdb_bucket *m;
    uint8_t b[8];
    ol_put_u64(b, v);
    int rc = ol_bucket(txn, "oplog.m", 1, &m);
    return rc ? rc : ffdb_put(m, k, strlen(k), b, 8);
}

int oplog_len(ffdb_txn *txn, uint64_t *count, uint64_t *max_clock)
{
    uint64_t c = 0;
    int rc = meta_get(txn, "n", count ? count : &c);
    return rc ? rc : meta_get(txn, "clock", max_clock ? max_clock : &c);
}

/* Where a CID stands: 1 held (clock set), 2 dropped (clock set), 0 unknown. */
int ol_lookup(ffdb_txn *txn, const ipld_cid *id, uint64_t *clock)
{
    uint8_t key[IPLD_CID_BIN_MAX];
    size_t klen = ipld_cid_to_bytes(id, key);
    const char *names[2] = {"oplog.e", "oplog.g"};
    for (int i = 0; i < 2; i++) {
        ffdb_bucket *b;
        ffdb_val v;
        int rc = ol_bucket(txn, names[i], 0, &b);
        if (rc == FFDB_NOTFOUND)
            continue;
        rc = rc ? rc : ffdb_get(b, key, klen, &v);
        if (rc == FFDB_NOTFOUND)
            continue;
        if (rc)
            return rc;
        if (v.size < 8)
            return OPLOG_ECORRUPT;
        *clock = ol_get_u64(v.data);
        return i + 1;
    }
    return 0;
}

int oplog_has(ffdb_txn *txn, const ipld_cid *id)
{
    uint64_t c;
    int rc = ol_lookup(txn, id, &c);
    return rc < 0 ? rc : rc == 1;
}

int oplog_known(ffdb_txn *txn, const ipld_cid *id)
{
    uint64_t c;
    int rc = ol_lookup(txn, id, &c);
    return rc < 0 ? rc : rc > 0;
}

int oplog_get(ffdb_txn *txn, const ipld_cid *id, uint8_t **buf, size_t *len)
{
    uint8_t key[IPLD_CID_BIN_MAX];
    size_t klen = ipld_cid_to_bytes(id, key);
    ffdb_bucket *b;
    ffdb_val v;
    int rc = ol_bucket(txn, "oplog.e", 0, &b);
    rc = rc ? rc : ffdb_get(b, key, klen, &v);
    if (rc)
        return rc;
    if (v.size < PREFIX_BYTES)
        return OPLOG_ECORRUPT;
    *len = v.size - PREFIX_BYTES;
    *buf = malloc(*len ? *len : 1);
    if (!*buf)
        return FFDB_ENOMEM;
    memcpy(*buf, (const uint8_t *)v.data + PREFIX_BYTES, *len);
    return 0;
}

int oplog_heads(ffdb_txn *txn, ipld_cid *heads, size_t cap, size_t *count)
{
    ffdb_bucket *b;
    ffdb_cursor *cur;
    ffdb_val k, v;
    *count = 0;
    int rc = ol_bucket(txn, "oplog.h", 0, &b);
    if (rc == FFDB_NOTFOUND)
        return 0;
    rc = rc ? rc : ffdb_cursor_open(b, &cur);
    if (rc)
        return rc;
    for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0; rc = ffdb_cursor_next(cur, &k, &v)) {
        if (*count < cap && ipld_cid_from_bytes(k.data, k.size, &heads[*count])) {
            rc = OPLOG_ECORRUPT;
            break;
        }
        (*count)++;
    }
    ffdb_cursor_close(cur);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

/* Check an entry from outside against the log (O2, O3, O5). */
static int check_entry(oplog *log, ffdb_txn *txn, const oplog_entry *e)
{
    (void)log;
    int src = oplog_entry_check_sig(e);
    if (src)
        return src;
    for (size_t i = 0; i < e->next_count; i++) {
        uint64_t pc;
        int rc = ol_lookup(txn, &e->next[i], &pc);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return OPLOG_EMISSING;
        if (pc >= e->clock)
            return OPLOG_ECLOCK;
    }
    return 0;
}

/* Store a checked entry: e, c, heads, counters. */
static int store(ffdb_txn *txn, const oplog_entry *e, const uint8_t *buf, size_t len)
{
    ffdb_bucket *be, *bc, *bh;
    uint8_t key[IPLD_CID_BIN_MAX], okey[OPLOG_ORDER_KEY_BYTES];
    size_t klen = ipld_cid_to_bytes(&e->id, key);
    uint8_t *val = malloc(PREFIX_BYTES + len);
    if (!val)
        return FFDB_ENOMEM;
    ol_put_u64(val, e->clock);
    memcpy(val + 8, e->writer, OPLOG_KEY_BYTES);
    memcpy(val + PREFIX_BYTES, buf, len);
    oplog_order_key(e->clock, e->writer, &e->id, okey);
    int rc = ol_bucket(txn, "oplog.e", 1, &be);
    rc = rc ? rc : ol_bucket(txn, "oplog.c", 1, &bc);
    rc = rc ? rc : ol_bucket(txn, "oplog.h", 1, &bh);
    rc = rc ? rc : ffdb_put(be, key, klen, val, PREFIX_BYTES + len);
    free(val);
    rc = rc ? rc : ffdb_put(bc, okey, sizeof okey, "", 0);
    for (size_t i = 0; !rc && i < e->next_count; i++) {
        uint8_t nk[IPLD_CID_BIN_MAX];
        size_t nl = ipld_cid_to_bytes(&e->next[i], nk);
        rc = ffdb_delete(bh, nk, nl);
    }
    rc = rc ? rc : ffdb_put(bh, key, klen, "", 0);
    uint64_t n, clock;
    rc = rc ? rc : oplog_len(txn, &n, &clock);
    rc = rc ? rc : meta_put(txn, "n", n + 1);
    if (!rc && e->clock > clock)
        rc = meta_put(txn, "clock", e->clock);
    return rc;
}

int oplog_add(oplog *log, ffdb_txn *txn, const uint8_t *buf, size_t len)
{
    assert(log && txn && buf);
    oplog_entry e;
    int rc = oplog_entry_decode(buf, len, &e);
    if (rc)
        return rc;
    uint64_t c;
    rc = ol_lookup(txn, &e.id, &c);
    if (rc == 0)
        rc = check_entry(log, txn, &e);
    else if (rc > 0)
        rc = 1; /* held, or dropped by compaction */
    if (rc == 0)
        rc = store(txn, &e, buf, len);
    oplog_entry_free(&e);
    return rc;
}

static int append_kind(oplog *log, ffdb_txn *txn, const ident *signer, int kind,
                       const uint8_t *op, size_t op_len, const ipld_cid *state, ipld_cid *id)
{
    ipld_cid heads[OPLOG_NEXT_MAX], cid;
    size_t count;
    uint64_t n, clock;
    uint8_t *buf;
    size_t len;
    int rc = oplog_heads(txn, heads, OPLOG_NEXT_MAX, &count);
    rc = rc ? rc : oplog_len(txn, &n, &clock);
    if (rc)
        return rc;
    if (count > OPLOG_NEXT_MAX)
        count = OPLOG_NEXT_MAX;
    rc = oplog_entry_build(kind, clock + 1, heads, count, op, op_len, state, signer, &buf, &len,
                           &cid);
    if (rc)
        return rc;
    rc = oplog_add(log, txn, buf, len);
    free(buf);
    if (rc == 0 && id)
        *id = cid;
    return rc == 1 ? OPLOG_ECORRUPT : rc; /* a fresh clock cannot be held already */
}

int oplog_append(oplog *log, ffdb_txn *txn, const ident *signer, const uint8_t *op,
                 size_t op_len, ipld_cid *id)
{
    return append_kind(log, txn, signer, OPLOG_KIND_OP, op, op_len, NULL, id);
}

int oplog_walk(ffdb_txn *txn, const uint8_t *after, oplog_visit_fn fn, void *arg)
{
    ffdb_bucket *bc, *be;
    ffdb_cursor *cur;
    ffdb_val k, v;
    uint8_t okey[OPLOG_ORDER_KEY_BYTES];
    int rc = ol_bucket(txn, "oplog.c", 0, &bc);
    if (rc == FFDB_NOTFOUND)
        return 0;
    rc = rc ? rc : ol_bucket(txn, "oplog.e", 0, &be);
    rc = rc ? rc : ffdb_cursor_open(bc, &cur);
    if (rc)
        return rc;
    rc = after ? ffdb_cursor_seek(cur, after, OPLOG_ORDER_KEY_BYTES, &k, &v)
               : ffdb_cursor_first(cur, &k, &v);
    if (rc == 0 && after && k.size == OPLOG_ORDER_KEY_BYTES && !memcmp(k.data, after, k.size))
        rc = ffdb_cursor_next(cur, &k, &v);
    for (; rc == 0; rc = ffdb_cursor_next(cur, &k, &v)) {
        ipld_cid id;
        ffdb_val ev;
        if (k.size != OPLOG_ORDER_KEY_BYTES) {
            rc = OPLOG_ECORRUPT;
            break;
        }
        memcpy(okey, k.data, sizeof okey);
        rc = ipld_cid_from_bytes(okey + PREFIX_BYTES, OPLOG_CID_BYTES, &id);
        rc = rc ? OPLOG_ECORRUPT : ffdb_get(be, okey + PREFIX_BYTES, OPLOG_CID_BYTES, &ev);
        if (rc == FFDB_NOTFOUND || (!rc && ev.size < PREFIX_BYTES))
            rc = OPLOG_ECORRUPT;
        rc =
            rc ? rc : fn(arg, &id, (const uint8_t *)ev.data + PREFIX_BYTES, ev.size - PREFIX_BYTES);
        if (rc)
            break;
    }
    ffdb_cursor_close(cur);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

int ol_add_counted(void *arg, const ipld_cid *id, const uint8_t *buf, size_t len)
{
    ol_adder *a = arg;
    uint8_t *copy = NULL;
    (void)id;
    if (a->copy) {
        copy = malloc(len ? len : 1);
        if (!copy)
            return FFDB_ENOMEM;
        memcpy(copy, buf, len);
    }
    int rc = oplog_add(a->log, a->txn, copy ? copy : buf, len);
    free(copy);
    if (rc == 0)
        a->added++;
    return rc == 1 ? 0 : rc;
}

int oplog_join(oplog *dst, ffdb_txn *dst_txn, ffdb_txn *src_txn, uint64_t *added)
{
    ol_adder j = {dst, dst_txn, 0, 1}; /* buf belongs to the source txn */
    int rc = oplog_walk(src_txn, NULL, ol_add_counted, &j);
    if (added)
        *added = j.added;
    return rc;
}

int ol_drop(ffdb_txn *txn, const char *name)
{
    int rc = ffdb_bucket_drop(txn, name, strlen(name));
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

/* Move one held entry to the dropped set (its key copied by the caller). */
static int drop_entry(ffdb_txn *txn, const uint8_t *key, size_t klen, const uint8_t *prefix)
{
    ffdb_bucket *be, *bc, *bg;
    uint8_t okey[OPLOG_ORDER_KEY_BYTES];
    memcpy(okey, prefix, PREFIX_BYTES);
    memcpy(okey + PREFIX_BYTES, key, OPLOG_CID_BYTES);
    int rc = ol_bucket(txn, "oplog.e", 1, &be);
    rc = rc ? rc : ol_bucket(txn, "oplog.c", 1, &bc);
    rc = rc ? rc : ol_bucket(txn, "oplog.g", 1, &bg);
    rc = rc ? rc : ffdb_put(bg, key, klen, prefix, 8);
    rc = rc ? rc : ffdb_delete(bc, okey, sizeof okey);
    rc = rc ? rc : ffdb_delete(be, key, klen);
    if (!rc) { /* a head (a loaded state's cut may pass it): no longer one */
        ffdb_bucket *bh;
        int hrc = ol_bucket(txn, "oplog.h", 0, &bh);
        hrc = hrc ? hrc : ffdb_delete(bh, key, klen);
        rc = hrc == FFDB_NOTFOUND ? 0 : hrc;
    }
    return rc;
}

int oplog_cover(ffdb_txn *txn, const ipld_cid *id)
{
    uint8_t key[IPLD_CID_BIN_MAX], zero[8] = {0};
    uint64_t clock;
    ffdb_bucket *bg;
    int rc = ol_lookup(txn, id, &clock);
    if (rc)
        return rc < 0 ? rc : 0; /* held or dropped already */
    rc = ol_bucket(txn, "oplog.g", 1, &bg);
    return rc ? rc : ffdb_put(bg, key, ipld_cid_to_bytes(id, key), zero, 8);
}

int oplog_drop_below(ffdb_txn *txn, uint64_t cut, uint64_t *dropped)
{
    ffdb_bucket *bc;
    ffdb_cursor *cur;
    ffdb_val k, v;
    uint64_t n = 0, count, clock;
    int rc = ol_bucket(txn, "oplog.c", 0, &bc);
    if (dropped)
        *dropped = 0;
    if (rc == FFDB_NOTFOUND)
        return 0;
    while (!rc) { /* the first in the order, until its clock reaches the cut */
        uint8_t okey[OPLOG_ORDER_KEY_BYTES];
        if ((rc = ffdb_cursor_open(bc, &cur)))
            break;
        rc = ffdb_cursor_first(cur, &k, &v);
        if (!rc && k.size == OPLOG_ORDER_KEY_BYTES)
            memcpy(okey, k.data, sizeof okey);
        else if (!rc)
            rc = OPLOG_ECORRUPT;
        ffdb_cursor_close(cur); /* drop_entry writes: one cursor per entry */
        if (rc || ol_get_u64(okey) >= cut)
            break;
        rc = drop_entry(txn, okey + PREFIX_BYTES, OPLOG_CID_BYTES, okey);
        n++;
    }
    if (rc == FFDB_NOTFOUND)
        rc = 0;
    rc = rc ? rc : oplog_len(txn, &count, &clock);
    if (!rc && count < n)
        rc = OPLOG_ECORRUPT;
    rc = rc ? rc : meta_put(txn, "n", count - n);
    if (!rc && dropped)
        *dropped = n;
    return rc;
}

/* The snapshot links to every head and has the highest clock: the entries
 * below the cut (all others when cut is above every clock) are in its past. */
int oplog_compact_cut(oplog *log, ffdb_txn *txn, const ident *signer, const ipld_cid *state,
                      uint64_t cut, ipld_cid *id, uint64_t *dropped)
{
    ipld_cid snap;
    size_t heads;
    uint64_t count, clock;
    int rc = oplog_heads(txn, NULL, 0, &heads);
    if (!rc && heads > OPLOG_NEXT_MAX)
        return OPLOG_ELIMIT;
    rc = rc ? rc : oplog_len(txn, &count, &clock);
    if (!rc && cut > clock + 1)
        cut = clock + 1; /* the snapshot itself (clock + 1) stays */
    rc = rc ? rc : append_kind(log, txn, signer, OPLOG_KIND_SNAPSHOT, NULL, 0, state, &snap);
    rc = rc ? rc : oplog_drop_below(txn, cut, dropped);
    if (!rc && id)
        *id = snap;
    return rc;
}

int oplog_compact(oplog *log, ffdb_txn *txn, const ident *signer, const ipld_cid *state,
                  ipld_cid *id, uint64_t *dropped)
{
    return oplog_compact_cut(log, txn, signer, state, UINT64_MAX, id, dropped);
}
