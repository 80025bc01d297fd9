/*
 * compact.c — compaction of the CRDT mode's op log (issue 13): OPLOG
 * COMPACT writes the state at a stable cut as a content-addressed object,
 * appends a snapshot entry naming it (modules/oplog's oplog_compact, signed
 * like any entry) and drops the entries the cut covers; the fold then
 * starts from that state (the per-key checkpoint "crdt.z").
 *
 * The cut (modules/crdt/README.md, "Compaction"): the node's whole log, and
 * only when it is stable: every peer the node knows (every writer in its
 * log and every node that announced heads, "crdt.p") last announced exactly
 * the node's heads. Then every entry that exists is held here, and every
 * entry written from now on follows those heads (its clock is above every
 * entry of the cut), so the cut is a prefix of the log's total order on
 * every node and fold(state) + the entries after it = the fold of the
 * whole log: merge semantics hold for every later, concurrent or late
 * entry.
 *
 * The state object (a contract, like the entry):
 *   root   dag-cbor map {"v": 1, "chunks": [link, ...]}
 *   chunk  dag-cbor array of byte strings, each a record; a chunk holds at
 *          most STATE_CHUNK bytes of records (one larger record alone)
 *   record u8 kind | u32 BE prefix length | prefix (db | u32 BE key length
 *          | key) | payload
 *          kind 'o': payload = operation bytes (node.c's op format) that
 *                    recreate part of the key (SET, HSET of some fields,
 *                    SADD of some members), applied as they are
 *          kind 't': payload = u32 BE member length | member | tags (36 ×
 *                    n): the OR-set's tags of a member (C2)
 * Blocks live in "crdt.b" (binary CID -> block bytes; the CIDs are CIDv1
 * dag-cbor sha2-256 as the entries'), the records of each key in "crdt.z"
 * (prefix -> u32 BE length | record, ...), the snapshot entry's CID in
 * "crdt.m" under "snap".
 *
 * Memory: the records are gathered in memory before they are written (the
 * engine's cursors do not survive writes in the txn), so a compaction
 * needs about the data set's size in RAM once.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/crdt/crdt_int.h"
#include "modules/redis/store.h"

#define STATE_CHUNK (256u << 10)     /* bytes of records per chunk block */
#define STATE_FIELDS_MAX (64u << 10) /* bytes of fields/members per HSET/SADD record */
/* (and at most CRDT_OP_ARGS_MAX arguments: a record is an operation) */
#define STATE_CHUNKS_MAX 65536

/* ---- a growing buffer ---- */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static int buf_add(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            return FFDB_ENOMEM;
        b->p = q, b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

static int buf_u32(buf *b, uint32_t v)
{
    uint8_t x[4];
    crdt_put_u32(x, v);
    return buf_add(b, x, 4);
}

/* ---- gathering the records: recs holds u32 length | record, ... ---- */

typedef struct gather {
    store_txn *st;
    int db;
    buf recs;
    buf op; /* the record being built */
    uint32_t op_argc;
    size_t argc_at;
    int rc;
    char why[256];
} gather;

static size_t prefix_of(uint8_t *out, int db, const void *key, size_t klen)
{
    out[0] = (uint8_t)db;
    crdt_put_u32(out + 1, (uint32_t)klen);
    memcpy(out + 5, key, klen);
    return 5 + klen;
}

/* Start an 'o' record: kind, prefix, op header (db | argc, patched later). */
static int rec_begin(gather *g, const void *key, size_t klen, const char *cmd)
{
    uint8_t p[5 + STORE_MAX_KEY];
    size_t plen = prefix_of(p, g->db, key, klen);
    uint8_t kind = 'o', db = (uint8_t)g->db;
    g->op.n = 0;
    int rc = buf_add(&g->op, &kind, 1);
    rc = rc ? rc : buf_u32(&g->op, (uint32_t)plen);
    rc = rc ? rc : buf_add(&g->op, p, plen);
    rc = rc ? rc : buf_add(&g->op, &db, 1);
    g->argc_at = g->op.n;
    rc = rc ? rc : buf_u32(&g->op, 0);
    g->op_argc = 0;
    rc = rc ? rc : buf_u32(&g->op, (uint32_t)strlen(cmd));
    rc = rc ? rc : buf_add(&g->op, cmd, strlen(cmd));
    rc = rc ? rc : buf_u32(&g->op, (uint32_t)klen);
    rc = rc ? rc : buf_add(&g->op, key, klen);
    g->op_argc = 2;
    return rc;
}

static int rec_arg(gather *g, const void *p, size_t n)
{
    g->op_argc++;
    int rc = buf_u32(&g->op, (uint32_t)n);
    return rc ? rc : buf_add(&g->op, p, n);
}

static int rec_end(gather *g)
{
    crdt_put_u32(g->op.p + g->argc_at, g->op_argc);
    int rc = buf_u32(&g->recs, (uint32_t)g->op.n);
    return rc ? rc : buf_add(&g->recs, g->op.p, g->op.n);
}

static int gather_key(void *arg, const void *key, size_t klen, const store_meta *m)
{
    gather *g = arg;
    store_iter *it;
    ffdb_val f, v;
    int rc;
    if (m->expire_ms) {
        snprintf(g->why, sizeof g->why, "key '%.*s' has an expiry (not a CRDT value)",
                 (int)(klen > 64 ? 64 : klen), (const char *)key);
        return g->rc = FFDB_EINVAL;
    }
    if (m->type == STORE_STRING) {
        rc = rec_begin(g, key, klen, "set");
        rc = rc ? rc : rec_arg(g, m->value.data, m->value.size);
        rc = rc ? rc : rec_end(g);
        return g->rc = rc;
    }
    if (m->type != STORE_HASH && m->type != STORE_SET) {
        snprintf(g->why, sizeof g->why, "key '%.*s' is a %s, which CRDT mode does not merge",
                 (int)(klen > 64 ? 64 : klen), (const char *)key, store_type_name(m->type));
        return g->rc = FFDB_EINVAL;
    }
    /* fields or members, STATE_FIELDS_MAX bytes per record */
    const char *cmd = m->type == STORE_HASH ? "hset" : "sadd";
    if ((rc = store_iter_open(g->st, m, STORE_SUB, &it)))
        return g->rc = rc;
    size_t bytes = 0;
    int open = 0;
    for (rc = store_iter_first(it, &f, &v); rc == 0; rc = store_iter_next(it, &f, &v)) {
        if (open && (bytes > STATE_FIELDS_MAX || g->op_argc + 2 > CRDT_OP_ARGS_MAX)) {
            if ((rc = rec_end(g)))
                break;
            open = 0;
        }
        if (!open) { /* a record within the op format's limits */
            if ((rc = rec_begin(g, key, klen, cmd)))
                break;
            open = 1, bytes = 0;
        }
        rc = rec_arg(g, f.data, f.size);
        if (!rc && m->type == STORE_HASH)
            rc = rec_arg(g, v.data, v.size);
        bytes += f.size + v.size;
        if (rc)
            break;
    }
    store_iter_close(it);
    if (rc == FFDB_NOTFOUND)
        rc = open ? rec_end(g) : 0;
    return g->rc = rc;
}

/* The OR-set's tags as 't' records. */
static int gather_tags(gather *g, ffdb_txn *txn)
{
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v;
    int rc = ffdb_bucket_open(txn, "crdt.s", 6, &b);
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (rc || (rc = ffdb_cursor_open(b, &c)))
        return rc;
    for (rc = ffdb_cursor_first(c, &k, &v); rc == 0; rc = ffdb_cursor_next(c, &k, &v)) {
        const uint8_t *p = k.data;
        uint8_t kind = 't';
        if (k.size < 5 || crdt_get_u32(p + 1) > k.size - 5) {
            rc = FFDB_CORRUPT;
            break;
        }
        size_t plen = 5 + crdt_get_u32(p + 1);
        rc = buf_u32(&g->recs, (uint32_t)(1 + 4 + plen + 4 + (k.size - plen) + v.size));
        rc = rc ? rc : buf_add(&g->recs, &kind, 1);
        rc = rc ? rc : buf_u32(&g->recs, (uint32_t)plen);
        rc = rc ? rc : buf_add(&g->recs, p, plen);
        rc = rc ? rc : buf_u32(&g->recs, (uint32_t)(k.size - plen));
        rc = rc ? rc : buf_add(&g->recs, p + plen, k.size - plen);
        rc = rc ? rc : buf_add(&g->recs, v.data, v.size);
        if (rc)
            break;
    }
    ffdb_cursor_close(c);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

/* ---- blocks ---- */

static int block_put(ffdb_bucket *bb, const cbor_item_t *item, ipld_cid *id)
{
    uint8_t *bytes, key[IPLD_CID_BIN_MAX];
    size_t len;
    int rc = ipld_cbor_encode(item, &bytes, &len);
    if (rc)
        return rc;
    rc = ipld_cid_of(1, IPLD_CODEC_DAG_CBOR, IPLD_MH_SHA2_256, bytes, len, id);
    if (!rc)
        rc = ffdb_put(bb, key, ipld_cid_to_bytes(id, key), bytes, len);
    free(bytes);
    return rc;
}

/* One record's parts: 0, or FFDB_CORRUPT if it does not parse. */
static int rec_parse(const uint8_t *r, size_t n, uint8_t *kind, const uint8_t **prefix,
                     size_t *plen, const uint8_t **payload, size_t *paylen)
{
    if (n < 5 || (r[0] != 'o' && r[0] != 't'))
        return FFDB_CORRUPT;
    uint32_t pl = crdt_get_u32(r + 1);
    if (pl < 5 || pl > n - 5 || crdt_get_u32(r + 6) != pl - 5)
        return FFDB_CORRUPT;
    *kind = r[0];
    *prefix = r + 5;
    *plen = pl;
    *payload = r + 5 + pl;
    *paylen = n - 5 - pl;
    return 0;
}

/* The per-key checkpoint rows (u32 length | record, ...), written once per
 * run of records of one key (a key's records come together: a set's
 * thousands of tag records make one put, not one each). */
typedef struct zacc {
    ffdb_bucket *bz;
    buf row;
    uint8_t prefix[FFDB_MAX_KEY_SIZE];
    size_t plen;
} zacc;

static int z_flush(zacc *z)
{
    ffdb_val was;
    buf all = {0};
    int rc = 0;
    if (!z->row.n)
        return 0;
    int grc = ffdb_get(z->bz, z->prefix, z->plen, &was); /* records of it before this run */
    if (grc == 0)
        rc = buf_add(&all, was.data, was.size);
    else if (grc != FFDB_NOTFOUND)
        rc = grc;
    rc = rc ? rc : buf_add(&all, z->row.p, z->row.n);
    rc = rc ? rc : ffdb_put(z->bz, z->prefix, z->plen, all.p, all.n);
    free(all.p);
    z->row.n = 0;
    return rc;
}

static int z_append(zacc *z, const uint8_t *r, size_t rn)
{
    uint8_t kind;
    const uint8_t *prefix, *pay;
    size_t plen, paylen;
    int rc = rec_parse(r, rn, &kind, &prefix, &plen, &pay, &paylen);
    if (!rc && plen > sizeof z->prefix)
        rc = FFDB_CORRUPT;
    if (!rc && (plen != z->plen || memcmp(prefix, z->prefix, plen))) {
        rc = z_flush(z);
        memcpy(z->prefix, prefix, z->plen = plen);
    }
    rc = rc ? rc : buf_u32(&z->row, (uint32_t)rn);
    return rc ? rc : buf_add(&z->row, r, rn);
}

/* Write the chunks and the root (crdt.b, replaced) and the per-key
 * checkpoint (crdt.z, replaced). */
static int state_write(ffdb_txn *txn, const buf *recs, uint64_t cut, ipld_cid *root)
{
    ffdb_bucket *bb;
    static zacc z;
    cbor_item_t *links = cbor_new_indefinite_array(), *chunk = NULL;
    size_t chunk_bytes = 0;
    int rc = 0;
    if (!links)
        return FFDB_ENOMEM;
    for (int i = 0; i < 2; i++) {
        rc = ffdb_bucket_drop(txn, i ? "crdt.z" : "crdt.b", 6);
        if (rc && rc != FFDB_NOTFOUND)
            goto out;
    }
    if ((rc = ffdb_bucket_create(txn, "crdt.b", 6, &bb)) ||
        (rc = ffdb_bucket_create(txn, "crdt.z", 6, &z.bz)))
        goto out;
    z.row.n = 0, z.plen = 0;
    for (size_t o = 0; !rc && o <= recs->n;) {
        int last = o == recs->n;
        size_t rn = last ? 0 : crdt_get_u32(recs->p + o);
        const uint8_t *r = recs->p + o + 4;
        if (chunk && (last || chunk_bytes + rn > STATE_CHUNK)) { /* close the chunk */
            ipld_cid cid;
            if (!(rc = block_put(bb, chunk, &cid))) {
                cbor_item_t *l = ipld_cbor_link(&cid);
                if (!l || !cbor_array_push(links, l))
                    rc = FFDB_ENOMEM;
                if (l)
                    cbor_decref(&l);
            }
            cbor_decref(&chunk);
            chunk_bytes = 0;
        }
        if (last || rc)
            break;
        if (cbor_array_size(links) >= STATE_CHUNKS_MAX) {
            rc = OPLOG_ELIMIT;
            break;
        }
        if (!chunk && !(chunk = cbor_new_indefinite_array())) {
            rc = FFDB_ENOMEM;
            break;
        }
        cbor_item_t *s = cbor_build_bytestring(r, rn);
        if (!s || !cbor_array_push(chunk, s))
            rc = FFDB_ENOMEM;
        if (s)
            cbor_decref(&s);
        chunk_bytes += rn;
        rc = rc ? rc : z_append(&z, r, rn);
        o += 4 + rn;
    }
    rc = rc ? rc : z_flush(&z);
    if (!rc) { /* map_put takes the value's reference, on failure too */
        cbor_item_t *m = cbor_new_definite_map(3), *v = ipld_cbor_uint(1), *l = links;
        links = NULL;
        if (!m || !v) {
            rc = FFDB_ENOMEM;
            if (v)
                cbor_decref(&v);
            cbor_decref(&l);
        } else if ((rc = ipld_cbor_map_put(m, "v", v)))
            cbor_decref(&l);
        else if ((rc = ipld_cbor_map_put(m, "chunks", l)) == 0)
            rc = ipld_cbor_map_put(m, "cut", ipld_cbor_uint(cut));
        rc = rc ? rc : block_put(bb, m, root);
        if (m)
            cbor_decref(&m);
    }
out:
    if (chunk)
        cbor_decref(&chunk);
    if (links)
        cbor_decref(&links);
    return rc;
}

/* ---- loading the state (the fold's start) ---- */

/* Apply one key's checkpoint row (u32 length | record, ...). */
static int apply_row(crdt *n, ffdb_txn *txn, const uint8_t *row, size_t len, int64_t now_ms)
{
    static resp_arg argv[CRDT_OP_ARGS_MAX];
    ffdb_bucket *bt = NULL;
    int rc = 0;
    for (size_t o = 0; !rc && o < len;) {
        uint8_t kind;
        const uint8_t *prefix, *pay, *tail;
        size_t plen, paylen, tail_len, rn;
        int db, argc;
        if (len - o < 4 || (rn = crdt_get_u32(row + o)) > len - o - 4)
            return FFDB_CORRUPT;
        if ((rc = rec_parse(row + o + 4, rn, &kind, &prefix, &plen, &pay, &paylen)))
            return rc;
        o += 4 + rn;
        if (kind == 't') {
            uint8_t k[FFDB_MAX_KEY_SIZE];
            uint32_t ml;
            if (paylen < 4 || (ml = crdt_get_u32(pay)) > paylen - 4 ||
                (paylen - 4 - ml) % OPLOG_CID_BYTES || plen + ml > sizeof k)
                return FFDB_CORRUPT;
            memcpy(k, prefix, plen);
            memcpy(k + plen, pay + 4, ml);
            if (!bt && (rc = crdt_bucket_make(txn, "crdt.s", &bt)))
                return rc;
            rc = ffdb_put(bt, k, plen + ml, pay + 4 + ml, paylen - 4 - ml);
            continue;
        }
        if (crdt_op_decode(pay, paylen, &db, argv, &argc, &tail, &tail_len) || tail_len)
            return FFDB_CORRUPT;
        redis_cmdv v = {argc, argv};
        redis_unit u = {0, db, now_ms, 0, 1, &v, 0};
        rc = redis_server_apply(n->s, &u, 1);
    }
    return rc;
}

int crdt_state_load(crdt *n, ffdb_txn *txn, const uint8_t *prefix, size_t plen, int64_t now_ms)
{
    ffdb_bucket *bz;
    ffdb_val v;
    uint8_t seek[FFDB_MAX_KEY_SIZE];
    size_t slen = 0;
    int rc = ffdb_bucket_open(txn, "crdt.z", 6, &bz);
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (prefix) { /* one key */
        uint8_t *copy;
        rc = ffdb_get(bz, prefix, plen, &v);
        if (rc == FFDB_NOTFOUND)
            return 0;
        if (rc)
            return rc;
        if (!(copy = malloc(v.size ? v.size : 1)))
            return FFDB_ENOMEM;
        memcpy(copy, v.data, v.size);
        rc = apply_row(n, txn, copy, v.size, now_ms);
        free(copy);
        return rc;
    }
    for (;;) { /* every key: one row per cursor (applying writes other buckets) */
        ffdb_cursor *c;
        ffdb_val k;
        uint8_t *copy = NULL;
        size_t clen = 0;
        if ((rc = ffdb_cursor_open(bz, &c)))
            return rc;
        rc = slen ? ffdb_cursor_seek(c, seek, slen, &k, &v) : ffdb_cursor_first(c, &k, &v);
        if (!rc && slen && k.size == slen && !memcmp(k.data, seek, slen))
            rc = ffdb_cursor_next(c, &k, &v);
        if (!rc && k.size > sizeof seek)
            rc = FFDB_CORRUPT;
        if (!rc) {
            memcpy(seek, k.data, slen = k.size);
            if (!(copy = malloc(v.size ? v.size : 1)))
                rc = FFDB_ENOMEM;
            else
                memcpy(copy, v.data, clen = v.size);
        }
        ffdb_cursor_close(c);
        if (!rc)
            rc = apply_row(n, txn, copy, clen, now_ms);
        free(copy);
        if (rc)
            return rc == FFDB_NOTFOUND ? 0 : rc;
    }
}

/* ---- OPLOG COMPACT ---- */

static int first_clock(void *arg, const ipld_cid *id, const uint8_t *bytes, size_t len)
{
    oplog_entry e;
    (void)id;
    if (oplog_entry_decode(bytes, len, &e))
        return OPLOG_ECORRUPT;
    *(uint64_t *)arg = e.clock;
    oplog_entry_free(&e);
    return 1; /* the first in the order is enough */
}

int crdt_compact(crdt *n, ffdb_txn *txn, store_txn *st, char *why, size_t why_len,
                 uint64_t *dropped)
{
    gather g = {.st = st};
    ipld_cid root, snap;
    uint64_t count, clock, cut, lowest = UINT64_MAX;
    int64_t now_ms = net_loop_wall_ms(n->s->loop);
    size_t heads;
    int rc, too_long = 0;

    *dropped = 0;
    why[0] = 0;
    if (!n->sync) {
        snprintf(why, why_len,
                 "needs the NATS transport (--nats): the cut must be one every "
                 "peer has acknowledged");
        return 0;
    }
    if ((rc = oplog_heads(txn, NULL, 0, &heads)) || (rc = oplog_len(txn, &count, &clock)))
        return rc;
    if (heads > OPLOG_NEXT_MAX) {
        snprintf(why, why_len, "%zu heads, over the %d a snapshot entry links to", heads,
                 OPLOG_NEXT_MAX);
        return 0;
    }
    if (count == 0) {
        snprintf(why, why_len, "the log is empty");
        return 0;
    }
    if ((rc = crdt_sync_cut(n->sync, txn, &cut, why, why_len)) || why[0])
        return rc;
    rc = oplog_walk(txn, NULL, first_clock, &lowest);
    if (rc < 0)
        return rc;
    if (lowest >= cut) {
        snprintf(why, why_len, "no entry below the cut (clock %llu) yet",
                 (unsigned long long)cut);
        return 0;
    }
    /* the keyspace at the cut: the keys entries from the cut on touch, refolded up to it */
    if ((rc = crdt_state_to_cut(n, txn, cut, now_ms, &too_long)))
        return rc;
    if (too_long) {
        snprintf(why, why_len, "a key written after the cut is too long for the key index");
        rc = ffdb_bucket_drop(txn, "crdt.r", 6); /* marks only: nothing was refolded */
        return rc == FFDB_NOTFOUND ? 0 : rc;
    }
    for (int db = 0; db < STORE_DBS && !rc; db++) {
        g.db = db;
        rc = store_keys_walk(st, db, NULL, 0, gather_key, &g);
        if (rc > 0 || g.rc)
            rc = g.rc;
    }
    if (rc == FFDB_EINVAL && g.why[0]) {
        snprintf(why, why_len, "%s", g.why);
        rc = crdt_refold_marked(n, txn, now_ms); /* the keyspace back in full */
        goto out;
    }
    rc = rc ? rc : gather_tags(&g, txn);
    rc = rc ? rc : state_write(txn, &g.recs, cut, &root);
    rc = rc ? rc : oplog_compact_cut(n->log, txn, &n->id, &root, cut, &snap, dropped);
    rc = rc ? rc : crdt_index_drop_below(txn, cut);
    rc = rc ? rc : crdt_meta_u64_put(txn, "cut", cut);
    /* the keys above the cut folded again in full, from the new checkpoint */
    rc = rc ? rc : crdt_refold_marked(n, txn, now_ms);
    rc = rc ? rc : oplog_len(txn, &count, &clock);
    if (!rc) {
        uint8_t okey[OPLOG_ORDER_KEY_BYTES], sk[IPLD_CID_BIN_MAX];
        ffdb_bucket *bm;
        oplog_order_key(clock, n->id.pk, &snap, okey);
        rc = crdt_bucket_make(txn, "crdt.m", &bm);
        rc = rc ? rc : ffdb_put(bm, "last", 4, okey, sizeof okey);
        rc = rc ? rc : ffdb_put(bm, "snap", 4, sk, ipld_cid_to_bytes(&snap, sk));
    }
    if (!rc)
        n->st.compactions++;
out:
    free(g.recs.p);
    free(g.op.p);
    return rc;
}

/* ---- OPLOG VERIFY's part: the snapshot this node made and its state ---- */

int crdt_state_verify(ffdb_txn *txn, uint64_t *problems, void (*report)(void *, const char *),
                      void *arg)
{
    ffdb_bucket *bm, *bb;
    ffdb_cursor *c;
    ffdb_val k, v;
    ipld_cid snap, root;
    oplog_entry e;
    uint8_t *ebytes;
    size_t elen;
    char msg[IPLD_CID_STR_MAX + 128], s[IPLD_CID_STR_MAX];
    int rc = ffdb_bucket_open(txn, "crdt.m", 6, &bm);
    if (!rc)
        rc = ffdb_get(bm, "snap", 4, &v);
    if (rc == FFDB_NOTFOUND)
        return 0; /* never compacted */
    if (rc)
        return rc;
#define PROBLEM(...)                                                                               \
    do {                                                                                           \
        snprintf(msg, sizeof msg, __VA_ARGS__);                                                    \
        ++*problems;                                                                               \
        if (report)                                                                                \
            report(arg, msg);                                                                      \
    } while (0)
    if (ipld_cid_from_bytes(v.data, v.size, &snap)) {
        PROBLEM("the snapshot's CID in crdt.m is not a CID");
        return 0;
    }
    ipld_cid_str(&snap, s);
    rc = oplog_get(txn, &snap, &ebytes, &elen);
    if (rc == FFDB_NOTFOUND) {
        PROBLEM("%s: the snapshot entry is not held", s);
        return 0;
    }
    if (rc)
        return rc;
    rc = oplog_entry_decode(ebytes, elen, &e);
    free(ebytes);
    if (rc || e.kind != OPLOG_KIND_SNAPSHOT) {
        if (!rc)
            oplog_entry_free(&e);
        PROBLEM("%s: not a snapshot entry", s);
        return 0;
    }
    root = e.state;
    oplog_entry_free(&e);
    if ((rc = ffdb_bucket_open(txn, "crdt.b", 6, &bb))) {
        if (rc == FFDB_NOTFOUND)
            PROBLEM("%s: no block of its state is held", s);
        return rc == FFDB_NOTFOUND ? 0 : rc;
    }
    /* every block hashes to its CID */
    if ((rc = ffdb_cursor_open(bb, &c)))
        return rc;
    for (rc = ffdb_cursor_first(c, &k, &v); rc == 0; rc = ffdb_cursor_next(c, &k, &v)) {
        ipld_cid id;
        if (ipld_cid_from_bytes(k.data, k.size, &id) || ipld_cid_verify(&id, v.data, v.size)) {
            ipld_cid_str(&id, s);
            PROBLEM("%s: a state block's bytes do not hash to its CID (tampered)", s);
        }
    }
    ffdb_cursor_close(c);
    if (rc != FFDB_NOTFOUND)
        return rc;
    /* the root and every chunk it links to are held */
    uint8_t key[IPLD_CID_BIN_MAX];
    cbor_item_t *item = NULL, *chunks;
    ipld_cid_str(&root, s);
    rc = ffdb_get(bb, key, ipld_cid_to_bytes(&root, key), &v);
    if (rc == FFDB_NOTFOUND) {
        PROBLEM("%s: the state's root block is not held", s);
        return 0;
    }
    if (rc)
        return rc;
    if (ipld_cbor_decode(v.data, v.size, 1, &item) ||
        !(chunks = ipld_cbor_map_get(item, "chunks")) || !cbor_isa_array(chunks)) {
        PROBLEM("%s: the state's root is not a state root", s);
    } else {
        for (size_t i = 0; i < cbor_array_size(chunks); i++) {
            cbor_item_t *l = cbor_array_get(chunks, i);
            ipld_cid id;
            int bad = ipld_cbor_get_link(l, &id);
            cbor_decref(&l);
            if (!bad) {
                bad = ffdb_get(bb, key, ipld_cid_to_bytes(&id, key), &v);
                if (bad && bad != FFDB_NOTFOUND) {
                    rc = bad;
                    break;
                }
            }
            if (bad)
                PROBLEM("%s: chunk %zu of the state is not held", s, i);
        }
    }
    if (item)
        cbor_decref(&item);
#undef PROBLEM
    return rc;
}

/* ---- a node behind a peer's cut: the state fetched, then adopted ---- */

static int has_block(ffdb_txn *txn, const char *bucket, const ipld_cid *id)
{
    ffdb_bucket *b;
    ffdb_val v;
    uint8_t key[IPLD_CID_BIN_MAX];
    int rc = ffdb_bucket_open(txn, bucket, strlen(bucket), &b);
    rc = rc ? rc : ffdb_get(b, key, ipld_cid_to_bytes(id, key), &v);
    return rc == FFDB_NOTFOUND ? 0 : rc ? rc : 1;
}

int crdt_snap_get(ffdb_txn *txn, ipld_cid *snap)
{
    ffdb_bucket *bm;
    ffdb_val v;
    int rc = ffdb_bucket_open(txn, "crdt.m", 6, &bm);
    rc = rc ? rc : ffdb_get(bm, "snap", 4, &v);
    if (!rc && ipld_cid_from_bytes(v.data, v.size, snap))
        rc = FFDB_CORRUPT;
    return rc;
}

int crdt_state_held(ffdb_txn *txn, const ipld_cid *root)
{
    return has_block(txn, "crdt.b", root);
}

int crdt_state_block_held(ffdb_txn *txn, const ipld_cid *id)
{
    return has_block(txn, "crdt.f", id);
}

int crdt_state_block_get(ffdb_txn *txn, const ipld_cid *id, uint8_t **out, size_t *len)
{
    ffdb_bucket *b;
    ffdb_val v;
    uint8_t key[IPLD_CID_BIN_MAX];
    int rc = ffdb_bucket_open(txn, "crdt.b", 6, &b);
    rc = rc ? rc : ffdb_get(b, key, ipld_cid_to_bytes(id, key), &v);
    if (rc)
        return rc;
    if (!(*out = malloc(v.size ? v.size : 1)))
        return FFDB_ENOMEM;
    memcpy(*out, v.data, *len = v.size);
    return 0;
}

/* The chunks a root block links to, visited in order; IPLD_EFORMAT if it is
 * not a state root. */
static int root_chunks(const uint8_t *bytes, size_t len, int (*fn)(void *, const ipld_cid *),
                       void *arg)
{
    cbor_item_t *item, *chunks;
    int rc = ipld_cbor_decode(bytes, len, 1, &item);
    if (rc)
        return IPLD_EFORMAT;
    if (!(chunks = ipld_cbor_map_get(item, "chunks")) || !cbor_isa_array(chunks))
        rc = IPLD_EFORMAT;
    for (size_t i = 0; !rc && i < cbor_array_size(chunks); i++) {
        ipld_cid id;
        cbor_item_t *l = cbor_array_get(chunks, i);
        rc = ipld_cbor_get_link(l, &id) ? IPLD_EFORMAT : fn(arg, &id);
        cbor_decref(&l);
    }
    cbor_decref(&item);
    return rc;
}

static int want_chunk(void *arg, const ipld_cid *id)
{
    return crdt_sync_swant(arg, id);
}

int crdt_state_block_put(ffdb_txn *txn, crdt_sync *y, const ipld_cid *id, const uint8_t *bytes,
                         size_t len)
{
    ffdb_bucket *b;
    uint8_t key[IPLD_CID_BIN_MAX];
    int rc = crdt_bucket_make(txn, "crdt.f", &b);
    rc = rc ? rc : ffdb_put(b, key, ipld_cid_to_bytes(id, key), bytes, len);
    if (!rc && crdt_sync_is_root(y, id)) {
        rc = root_chunks(bytes, len, want_chunk, y);
        if (rc == IPLD_EFORMAT) /* not a state: dropped, asked again, a failure */
            rc = ffdb_delete(b, key, ipld_cid_to_bytes(id, key));
    }
    return rc;
}

struct adopt {
    ffdb_txn *txn;
    ffdb_bucket *bf, *bb;
    zacc *z;
};

static int adopt_chunk(void *arg, const ipld_cid *id)
{
    struct adopt *a = arg;
    uint8_t key[IPLD_CID_BIN_MAX], *copy;
    size_t klen = ipld_cid_to_bytes(id, key);
    cbor_item_t *item;
    ffdb_val v;
    int rc = ffdb_get(a->bf, key, klen, &v);
    if (rc)
        return rc == FFDB_NOTFOUND ? FFDB_CORRUPT : rc;
    if (!(copy = malloc(v.size ? v.size : 1)))
        return FFDB_ENOMEM;
    memcpy(copy, v.data, v.size);
    size_t clen = v.size;
    rc = ffdb_put(a->bb, key, klen, copy, clen);
    if (!rc && ipld_cbor_decode(copy, clen, 1, &item) == 0) {
        if (!cbor_isa_array(item))
            rc = FFDB_CORRUPT;
        for (size_t i = 0; !rc && i < cbor_array_size(item); i++) {
            cbor_item_t *r = cbor_array_get(item, i);
            if (!cbor_isa_bytestring(r) || !cbor_bytestring_is_definite(r))
                rc = FFDB_CORRUPT;
            else
                rc = z_append(a->z, cbor_bytestring_handle(r), cbor_bytestring_length(r));
            cbor_decref(&r);
        }
        cbor_decref(&item);
    } else if (!rc)
        rc = FFDB_CORRUPT;
    free(copy);
    return rc;
}

/* The cut a root block records (0 for a state written before it did). */
static int root_cut(const uint8_t *bytes, size_t len, uint64_t *cut)
{
    cbor_item_t *item, *c;
    int64_t v = 0;
    *cut = 0;
    if (ipld_cbor_decode(bytes, len, 1, &item))
        return FFDB_CORRUPT;
    c = ipld_cbor_map_get(item, "cut");
    int rc = c && (ipld_cbor_get_int(c, &v) || v < 0) ? FFDB_CORRUPT : 0;
    cbor_decref(&item);
    *cut = (uint64_t)v;
    return rc;
}

int crdt_state_adopt(crdt *n, ffdb_txn *txn, crdt_ingest *g, const ipld_cid *snap,
                     const ipld_cid *root, const ipld_cid *next, size_t next_count)
{
    static zacc z;
    uint64_t cut = 0;
    (void)next, (void)next_count;
    struct adopt a = {txn, NULL, NULL, &z};
    uint8_t key[IPLD_CID_BIN_MAX], *rbuf = NULL;
    size_t rlen = 0;
    ffdb_val v;
    ffdb_bucket *bm;
    int rc = 0;
    (void)n;
    for (int i = 0; i < 2; i++) {
        rc = ffdb_bucket_drop(txn, i ? "crdt.z" : "crdt.b", 6);
        if (rc && rc != FFDB_NOTFOUND)
            return rc;
    }
    rc = ffdb_bucket_open(txn, "crdt.f", 6, &a.bf);
    rc = rc ? rc : ffdb_bucket_create(txn, "crdt.b", 6, &a.bb);
    rc = rc ? rc : ffdb_bucket_create(txn, "crdt.z", 6, &z.bz);
    z.row.n = 0, z.plen = 0;
    size_t klen = ipld_cid_to_bytes(root, key);
    rc = rc ? rc : ffdb_get(a.bf, key, klen, &v);
    if (!rc && !(rbuf = malloc(v.size ? v.size : 1)))
        rc = FFDB_ENOMEM;
    if (!rc) {
        memcpy(rbuf, v.data, rlen = v.size);
        rc = ffdb_put(a.bb, key, klen, rbuf, rlen);
    }
    rc = rc ? rc : root_chunks(rbuf, rlen, adopt_chunk, &a);
    rc = rc ? rc : z_flush(&z);
    rc = rc ? rc : root_cut(rbuf, rlen, &cut);
    free(rbuf);
    if (!rc)
        rc = ffdb_bucket_drop(txn, "crdt.f", 6);
    /* what the peer had dropped (the snapshot's parents, the entries it
     * answered were behind its snapshot) is covered by the state */
    rc = rc ? rc : oplog_fetch_cover_given_up(txn);
    /* rule (c): what this node holds below the state's cut is in the state */
    rc = rc ? rc : oplog_drop_below(txn, cut, NULL);
    rc = rc ? rc : crdt_index_drop_below(txn, cut);
    rc = rc ? rc : crdt_meta_u64_put(txn, "cut", cut);
    if (!rc)
        g->cut = cut;
    rc = rc ? rc : crdt_bucket_make(txn, "crdt.m", &bm);
    rc = rc ? rc : ffdb_put(bm, "snap", 4, key, ipld_cid_to_bytes(snap, key));
    if (!rc) /* the keyspace is folded again from the state at the end */
        g->late = 1, g->full = 1;
    return rc == IPLD_EFORMAT ? FFDB_CORRUPT : rc;
}
