/*
 * verify.c — oplog_verify (O1..O5 over the whole log) and compaction behind
 * a snapshot entry. Who calls it: OPLOG VERIFY, the tests, the CRDT layer.
 * verify holds the set of linked CIDs in memory (36 bytes per link) to
 * check O4; it never writes.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/oplog/log_int.h"

struct vctx {
    ffdb_txn *txn;
    uint64_t problems, entries;
    uint8_t (*links)[OPLOG_CID_BYTES];
    size_t link_count, link_cap;
    void (*report)(void *, const char *);
    void *arg;
};

static void problem(struct vctx *v, const ipld_cid *id, const char *what)
{
    char s[IPLD_CID_STR_MAX], msg[IPLD_CID_STR_MAX + 128];
    v->problems++;
    if (!v->report)
        return;
    if (id)
        ipld_cid_str(id, s);
    snprintf(msg, sizeof msg, "%s: %s", id ? s : "log", what);
    v->report(v->arg, msg);
}

static int remember_link(struct vctx *v, const ipld_cid *c)
{
    if (v->link_count == v->link_cap) {
        size_t cap = v->link_cap ? 2 * v->link_cap : 256;
        void *p = realloc(v->links, cap * OPLOG_CID_BYTES);
        if (!p)
            return FFDB_ENOMEM;
        v->links = p;
        v->link_cap = cap;
    }
    uint8_t bin[IPLD_CID_BIN_MAX];
    if (ipld_cid_to_bytes(c, bin) != OPLOG_CID_BYTES)
        return 0; /* not an entry CID: the decoder already refuses these */
    memcpy(v->links[v->link_count++], bin, OPLOG_CID_BYTES);
    return 0;
}

/* One stored entry: value layout, hash, decode, signature, O1, O2, O3. */
static int check_one(struct vctx *v, const uint8_t *key, size_t klen, const uint8_t *val,
                     size_t vlen)
{
    ipld_cid id;
    oplog_entry e;
    v->entries++;
    if (ipld_cid_from_bytes(key, klen, &id) || vlen < 8 + OPLOG_KEY_BYTES) {
        problem(v, NULL, "stored key or value malformed");
        return 0;
    }
    const uint8_t *buf = val + 8 + OPLOG_KEY_BYTES;
    size_t len = vlen - 8 - OPLOG_KEY_BYTES;
    if (ipld_cid_verify(&id, buf, len)) {
        problem(v, &id, "bytes do not hash to the CID (tampered)");
        return 0;
    }
    if (oplog_entry_decode(buf, len, &e)) {
        problem(v, &id, "not a valid entry");
        return 0;
    }
    if (oplog_entry_check_sig(&e))
        problem(v, &id, "signature does not verify");
    if (ol_get_u64(val) != e.clock || memcmp(val + 8, e.writer, OPLOG_KEY_BYTES))
        problem(v, &id, "stored clock/writer prefix differs from the entry");
    uint8_t okey[OPLOG_ORDER_KEY_BYTES];
    ffdb_bucket *bc;
    ffdb_val ov;
    oplog_order_key(e.clock, e.writer, &id, okey);
    if (ol_bucket(v->txn, "oplog.c", 0, &bc) || ffdb_get(bc, okey, sizeof okey, &ov))
        problem(v, &id, "missing from the clock index");
    int rc = 0;
    for (size_t i = 0; !rc && i < e.next_count; i++) {
        uint64_t pc;
        int st = ol_lookup(v->txn, &e.next[i], &pc);
        if (st < 0)
            rc = st;
        else if (st == 0)
            problem(v, &id, "links to an entry the log does not hold");
        else if (pc >= e.clock)
            problem(v, &id, "clock not above a parent's");
        rc = rc ? rc : remember_link(v, &e.next[i]);
    }
    oplog_entry_free(&e);
    return rc;
}

static int cmp36(const void *a, const void *b)
{
    return memcmp(a, b, OPLOG_CID_BYTES);
}

static int linked(struct vctx *v, const void *key)
{
    return v->link_count && bsearch(key, v->links, v->link_count, OPLOG_CID_BYTES, cmp36);
}

/* O4: heads are exactly the entries nothing links to. */
static int check_heads(struct vctx *v, ffdb_bucket *be)
{
    ffdb_bucket *bh;
    ffdb_cursor *cur;
    ffdb_val k, val;
    uint64_t heads = 0, unlinked = 0;
    if (v->link_count) /* no links: links may be NULL, which qsort must not get */
        qsort(v->links, v->link_count, OPLOG_CID_BYTES, cmp36);
    int rc = ffdb_cursor_open(be, &cur);
    for (rc = rc ? rc : ffdb_cursor_first(cur, &k, &val); rc == 0;
         rc = ffdb_cursor_next(cur, &k, &val))
        unlinked += k.size == OPLOG_CID_BYTES && !linked(v, k.data);
    ffdb_cursor_close(cur);
    if (rc != FFDB_NOTFOUND)
        return rc;
    rc = ol_bucket(v->txn, "oplog.h", 0, &bh);
    if (rc == FFDB_NOTFOUND)
        rc = 0;
    else {
        rc = rc ? rc : ffdb_cursor_open(bh, &cur);
        if (rc)
            return rc;
        for (rc = ffdb_cursor_first(cur, &k, &val); rc == 0; rc = ffdb_cursor_next(cur, &k, &val)) {
            heads++;
            uint8_t key[OPLOG_CID_BYTES];
            ffdb_val ev;
            if (k.size != OPLOG_CID_BYTES) {
                problem(v, NULL, "malformed head key");
                continue;
            }
            memcpy(key, k.data, sizeof key);
            if (linked(v, key) || ffdb_get(be, key, sizeof key, &ev))
                problem(v, NULL, "a head is linked to or not held");
        }
        ffdb_cursor_close(cur);
        rc = rc == FFDB_NOTFOUND ? 0 : rc;
    }
    if (!rc && heads != unlinked)
        problem(v, NULL, "heads differ from the entries nothing links to");
    return rc;
}

int oplog_verify(oplog *log, ffdb_txn *txn, uint64_t *problems,
                 void (*report)(void *arg, const char *problem), void *arg)
{
    assert(txn && problems);
    struct vctx v = {.txn = txn, .report = report, .arg = arg};
    (void)log;
    ffdb_bucket *be;
    ffdb_cursor *cur;
    ffdb_val k, val;
    *problems = 0;
    int rc = ol_bucket(txn, "oplog.e", 0, &be);
    if (rc == FFDB_NOTFOUND)
        return 0;
    rc = rc ? rc : ffdb_cursor_open(be, &cur);
    if (rc)
        return rc;
    for (rc = ffdb_cursor_first(cur, &k, &val); rc == 0; rc = ffdb_cursor_next(cur, &k, &val)) {
        uint8_t key[IPLD_CID_BIN_MAX];
        size_t klen = k.size < sizeof key ? k.size : sizeof key;
        memcpy(key, k.data, klen);
        uint8_t *copy = malloc(val.size ? val.size : 1);
        if (!copy) {
            rc = FFDB_ENOMEM;
            break;
        }
        memcpy(copy, val.data, val.size);
        rc = check_one(&v, key, klen, copy, val.size);
        free(copy);
        if (rc)
            break;
    }
    ffdb_cursor_close(cur);
    rc = rc == FFDB_NOTFOUND ? 0 : rc;
    rc = rc ? rc : check_heads(&v, be);
    uint64_t n, clock;
    if (!rc && !(rc = oplog_len(txn, &n, &clock)) && n != v.entries)
        problem(&v, NULL, "entry count differs from the counter");
    free(v.links);
    *problems = v.problems;
    return rc;
}
