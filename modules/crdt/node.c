/*
 * node.c — the CRDT mode of ffdb-server (issue 13): the write hook
 * (modules/redis/redis.h) that turns every accepted local write into a
 * signed op-log entry (modules/oplog, signed with the node's modules/ident
 * key) and applies it, adds entries from peers and applies them in the
 * log's total order, and the OPLOG commands.
 *
 * Who calls it: ffdb-server --crdt (crdt_install before redis_server_run)
 * and the tests. Everything runs on the server's loop thread, inside the
 * server's batch txn: an entry and its effect on the keyspace commit
 * together or not at all.
 *
 * Convergence (C1): the keyspace is the fold of the log's operations in the
 * total order (clock, writer, CID). The bucket "crdt.m" holds "last", the
 * order key of the last operation folded in. A local entry always sorts
 * last (its clock is above every held entry), so it is applied at once. An
 * entry from a peer that sorts after "last" is applied at once too; one
 * that sorts before it (a concurrent write that arrived late) makes the
 * node refold the keys it touches (every operation is per key): each key is
 * dropped and its history, one range of the key index "crdt.k", folded
 * again in order, in the same txn. So two nodes holding the same entries
 * hold the same data, whatever the order the entries arrived in (DEBUG
 * DIGEST shows it; OPLOG-REBUILD, the full fold, gives the same data).
 *
 * An operation is re-checked against the table when folded: an entry whose
 * operation has no convergent meaning (a peer with another table) is
 * skipped the same way on every node.
 *
 * Operation bytes (the `op` of an entry; the CRDT layer's contract):
 *   u8 db | u32 BE argc | argc x (u32 BE length | bytes)
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/crdt/crdt_int.h"

#define OP_ARGS_MAX CRDT_OP_ARGS_MAX

static crdt *g_node; /* the OPLOG handlers find the node here: one per process */

/* ---- operation bytes ---- */

#define put_u32 crdt_put_u32
#define get_u32 crdt_get_u32

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static int op_encode(int db, const redis_cmdv *v, const uint8_t *tail, size_t tail_len,
                     uint8_t **out, size_t *len)
{
    size_t n = 5 + tail_len;
    for (int i = 0; i < v->argc; i++)
        n += 4 + v->argv[i].n;
    if (n > OPLOG_OP_MAX || v->argc > OP_ARGS_MAX)
        return OPLOG_ELIMIT;
    uint8_t *p = malloc(n);
    if (!p)
        return FFDB_ENOMEM;
    p[0] = (uint8_t)db;
    put_u32(p + 1, (uint32_t)v->argc);
    size_t o = 5;
    for (int i = 0; i < v->argc; i++) {
        put_u32(p + o, (uint32_t)v->argv[i].n);
        memcpy(p + o + 4, v->argv[i].p, v->argv[i].n);
        o += 4 + v->argv[i].n;
    }
    if (tail_len)
        memcpy(p + o, tail, tail_len);
    *out = p;
    *len = n;
    return 0;
}

/* Decode into argv (cap OP_ARGS_MAX, pointing into buf); *tail is what
 * follows the arguments (SREM's observed tags). 0 or IPLD_EFORMAT. */
int crdt_op_decode(const uint8_t *buf, size_t len, int *db, resp_arg *argv, int *argc,
                   const uint8_t **tail, size_t *tail_len)
{
    if (len < 5 || buf[0] >= STORE_DBS)
        return IPLD_EFORMAT;
    uint32_t n = get_u32(buf + 1);
    size_t o = 5;
    if (n == 0 || n > OP_ARGS_MAX)
        return IPLD_EFORMAT;
    for (uint32_t i = 0; i < n; i++) {
        if (len - o < 4)
            return IPLD_EFORMAT;
        uint32_t l = get_u32(buf + o);
        if (len - o - 4 < l)
            return IPLD_EFORMAT;
        argv[i].p = (const char *)buf + o + 4;
        argv[i].n = l;
        o += 4 + l;
    }
    *tail = buf + o;
    *tail_len = len - o;
    *db = buf[0];
    *argc = (int)n;
    return 0;
}

/* ---- the rules on arguments, beyond the table ---- */

static int arg_is(const resp_arg *a, const char *s)
{
    return a->n == strlen(s) && !strncasecmp(a->p, s, a->n);
}

/* NULL if v may go into the log, else the reason it may not. */
static const char *refusal(const redis_cmdv *v)
{
    const char *reason;
    if (v->argc < 1)
        return "empty command";
    if (crdt_classify(v->argv[0].p, v->argv[0].n, &reason) == CRDT_REJECT)
        return reason;
    if (arg_is(&v->argv[0], "setex") || arg_is(&v->argv[0], "psetex"))
        return "expiry needs one clock; not replicated in CRDT mode (use SET)";
    if (arg_is(&v->argv[0], "set"))
        for (int i = 3; i < v->argc; i++)
            if (!arg_is(&v->argv[i], "get"))
                return "SET options (expiry, NX, XX, KEEPTTL) have no convergent meaning; "
                       "use SET key value";
    return NULL;
}

/* ---- folding operations into the keyspace ---- */

static int last_get(ffdb_txn *txn, uint8_t key[OPLOG_ORDER_KEY_BYTES], int *have)
{
    ffdb_bucket *b;
    ffdb_val v;
    *have = 0;
    int rc = ffdb_bucket_open(txn, "crdt.m", 6, &b);
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (!rc)
        rc = ffdb_get(b, "last", 4, &v);
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.size != OPLOG_ORDER_KEY_BYTES)
        return FFDB_CORRUPT;
    memcpy(key, v.data, OPLOG_ORDER_KEY_BYTES);
    *have = 1;
    return 0;
}

static int last_set(ffdb_txn *txn, const uint8_t key[OPLOG_ORDER_KEY_BYTES])
{
    ffdb_bucket *b;
    int rc = ffdb_bucket_open(txn, "crdt.m", 6, &b);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(txn, "crdt.m", 6, &b);
    return rc ? rc : ffdb_put(b, "last", 4, key, OPLOG_ORDER_KEY_BYTES);
}

/* ---- the OR-set's tags (C2) ----
 * Bucket "crdt.s": db (1) | key length (4, BE) | key | member -> the binary
 * CIDs (36 bytes each) of the SADD entries that added the member and that
 * no SREM has removed yet. An SREM entry carries, per member, the tags its
 * writer held (its trailer: per member u32 BE count | count x 36 bytes), so
 * it removes only the adds its writer had seen: an add concurrent with it
 * survives (add wins). A member leaves the set when its last tag goes. A
 * whole-key write (SET, MSET, GETSET, DEL, UNLINK, GETDEL) drops the key's
 * tags: it removes what sorts before it. */

#define TAG_BYTES OPLOG_CID_BYTES
#define TAGS_KEY_MAX (5 + 2 * STORE_MAX_KEY + 16)

static size_t tags_key(uint8_t *out, int db, const resp_arg *key, const resp_arg *member)
{
    out[0] = (uint8_t)db;
    put_u32(out + 1, (uint32_t)key->n);
    memcpy(out + 5, key->p, key->n);
    if (member)
        memcpy(out + 5 + key->n, member->p, member->n);
    return 5 + key->n + (member ? member->n : 0);
}

static int tags_bucket(ffdb_txn *txn, ffdb_bucket **b)
{
    int rc = ffdb_bucket_open(txn, "crdt.s", 6, b);
    return rc == FFDB_NOTFOUND ? ffdb_bucket_create(txn, "crdt.s", 6, b) : rc;
}

/* Copy a member's tags into a malloc'd buffer (*len bytes; NULL if none). */
static int tags_get(ffdb_bucket *b, const uint8_t *k, size_t klen, uint8_t **tags, size_t *len)
{
    ffdb_val v;
    int rc = ffdb_get(b, k, klen, &v);
    *tags = NULL;
    *len = 0;
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.size % TAG_BYTES)
        return FFDB_CORRUPT;
    if (!v.size)
        return 0;
    if (!(*tags = malloc(v.size)))
        return FFDB_ENOMEM;
    memcpy(*tags, v.data, v.size);
    *len = v.size;
    return 0;
}

static int tags_add(ffdb_bucket *b, const uint8_t *k, size_t klen, const uint8_t tag[TAG_BYTES])
{
    uint8_t *t, *nt;
    size_t len;
    int rc = tags_get(b, k, klen, &t, &len);
    if (rc)
        return rc;
    if (!(nt = realloc(t, len + TAG_BYTES))) {
        free(t);
        return FFDB_ENOMEM;
    }
    memcpy(nt + len, tag, TAG_BYTES);
    rc = ffdb_put(b, k, klen, nt, len + TAG_BYTES);
    free(nt);
    return rc;
}

/* Remove the observed tags; *left = tags that remain. */
static int tags_remove(ffdb_bucket *b, const uint8_t *k, size_t klen, const uint8_t *seen,
                       size_t seen_count, size_t *left)
{
    uint8_t *t;
    size_t len, keep = 0;
    int rc = tags_get(b, k, klen, &t, &len);
    if (rc)
        return rc;
    for (size_t i = 0; i < len; i += TAG_BYTES) {
        int gone = 0;
        for (size_t j = 0; j < seen_count && !gone; j++)
            gone = !memcmp(t + i, seen + j * TAG_BYTES, TAG_BYTES);
        if (!gone)
            memmove(t + keep, t + i, TAG_BYTES), keep += TAG_BYTES;
    }
    *left = keep / TAG_BYTES;
    rc = keep ? ffdb_put(b, k, klen, t, keep) : ffdb_delete(b, k, klen);
    free(t);
    return rc;
}

/* Drop every tag of a key. */
static int tags_drop_key(ffdb_bucket *b, int db, const resp_arg *key)
{
    uint8_t p[TAGS_KEY_MAX];
    size_t plen = tags_key(p, db, key, NULL);
    ffdb_cursor *c;
    ffdb_val k, v;
    int rc = ffdb_cursor_open(b, &c);
    if (rc)
        return rc;
    while ((rc = ffdb_cursor_seek(c, p, plen, &k, &v)) == 0 && k.size >= plen &&
           !memcmp(k.data, p, plen)) {
        uint8_t kk[TAGS_KEY_MAX];
        size_t kl = k.size;
        memcpy(kk, k.data, kl);
        if ((rc = ffdb_delete(b, kk, kl)))
            break;
    }
    ffdb_cursor_close(c);
    return rc == FFDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* The keys of an operation (all operations here are per key): MSET's every
 * other argument from the first, DEL's and UNLINK's every argument, else
 * the first argument alone. The step between keys, or 0 for one key. */
static int key_step(const resp_arg *name)
{
    return arg_is(name, "mset") ? 2 : arg_is(name, "del") || arg_is(name, "unlink") ? 1 : 0;
}

static int arg_eq(const resp_arg *a, const resp_arg *b)
{
    return a->n == b->n && !memcmp(a->p, b->p, a->n);
}

/* 1 if every member of an SADD/SREM fits a tag key; the members of one
 * that does not follow the log's order instead (C2's exception). */
static int tagged(const redis_cmdv *v)
{
    for (int i = 2; i < v->argc; i++)
        if (5 + v->argv[1].n + v->argv[i].n > FFDB_MAX_KEY_SIZE)
            return 0;
    return v->argc >= 3;
}

int crdt_frame_add(uint8_t **buf, size_t *len, size_t *cap, uint32_t head, const void *p, size_t n)
{
    size_t need = *len + 4 + n;
    if (need > *cap) {
        size_t ncap = *cap * 2 > need ? *cap * 2 : need;
        uint8_t *nb = realloc(*buf, ncap);
        if (!nb)
            return FFDB_ENOMEM;
        *buf = nb, *cap = ncap;
    }
    put_u32(*buf + *len, head);
    if (n)
        memcpy(*buf + *len + 4, p, n);
    *len = need;
    return 0;
}

/* A local SREM's trailer: every tag this node holds for each member. */
static int srem_trailer(ffdb_txn *txn, int db, const redis_cmdv *v, uint8_t **out, size_t *len)
{
    ffdb_bucket *b;
    uint8_t k[TAGS_KEY_MAX], *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = tags_bucket(txn, &b);
    for (int i = 2; i < v->argc && !rc && tagged(v); i++) {
        uint8_t *t;
        size_t tl;
        rc = tags_get(b, k, tags_key(k, db, &v->argv[1], &v->argv[i]), &t, &tl);
        if (rc)
            break;
        rc = crdt_frame_add(&buf, &n, &cap, (uint32_t)(tl / TAG_BYTES), t, tl);
        free(t);
    }
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* The command an entry's operation becomes here, with the tags kept (C2):
 * eff gets the arguments to run (eff->argc 0: nothing to run). */
static int fold_prepare(ffdb_txn *txn, const ipld_cid *id, int db, const redis_cmdv *v,
                        const uint8_t *tail, size_t tail_len, redis_cmdv *eff, resp_arg *eff_argv)
{
    ffdb_bucket *b;
    uint8_t k[TAGS_KEY_MAX];
    const resp_arg *a = v->argv;
    int rc;

    *eff = *v;
    if ((arg_is(&a[0], "sadd") || arg_is(&a[0], "srem")) && !tagged(v))
        return tail_len ? IPLD_EFORMAT : 0;
    if (tail_len && !arg_is(&a[0], "srem"))
        return IPLD_EFORMAT;
    if ((rc = tags_bucket(txn, &b)))
        return rc;
    if (arg_is(&a[0], "sadd")) {
        uint8_t tag[TAG_BYTES];
        ipld_cid_to_bytes(id, tag);
        for (int i = 2; i < v->argc && !rc; i++)
            rc = tags_add(b, k, tags_key(k, db, &a[1], &a[i]), tag);
        return rc;
    }
    if (arg_is(&a[0], "srem")) {
        size_t o = 0;
        eff_argv[0] = a[0];
        eff_argv[1] = a[1];
        eff->argv = eff_argv;
        eff->argc = 2;
        for (int i = 2; i < v->argc && !rc; i++) {
            size_t cnt, left;
            if (tail_len - o < 4)
                return IPLD_EFORMAT;
            cnt = get_u32(tail + o);
            if ((tail_len - o - 4) / TAG_BYTES < cnt)
                return IPLD_EFORMAT;
            rc = tags_remove(b, k, tags_key(k, db, &a[1], &a[i]), tail + o + 4, cnt, &left);
            o += 4 + cnt * TAG_BYTES;
            if (!rc && left == 0)
                eff_argv[eff->argc++] = a[i];
        }
        if (!rc && o != tail_len)
            return IPLD_EFORMAT;
        if (eff->argc == 2)
            eff->argc = 0;
        return rc;
    }
    if (arg_is(&a[0], "set") || arg_is(&a[0], "getset") || arg_is(&a[0], "getdel"))
        return a[1].n <= STORE_MAX_KEY ? tags_drop_key(b, db, &a[1]) : 0;
    int step = key_step(&a[0]);
    for (int i = 1; step && i < v->argc && !rc; i += step)
        if (a[i].n <= STORE_MAX_KEY)
            rc = tags_drop_key(b, db, &a[i]);
    return rc;
}

/* Apply one entry's operation (a remote unit: its replies are discarded).
 * With only (a key of database only_db), just the part of it on that key:
 * MSET's pairs and DEL's keys that are it, or nothing (the per-key refold). */
static int fold_op(crdt *n, ffdb_txn *txn, const ipld_cid *id, const uint8_t *op, size_t len,
                   int64_t now_ms, const resp_arg *only)
{
    static resp_arg argv[OP_ARGS_MAX], eff_argv[OP_ARGS_MAX], proj[OP_ARGS_MAX];
    const uint8_t *tail;
    size_t tail_len;
    int db, argc, rc;
    redis_cmdv eff;
    if (crdt_op_decode(op, len, &db, argv, &argc, &tail, &tail_len)) {
        n->st.skipped++;
        return 0;
    }
    redis_cmdv v = {argc, argv};
    if (refusal(&v)) {
        n->st.skipped++;
        return 0;
    }
    if (only) {
        int step = key_step(&argv[0]), c = 1;
        if (!step && (argc < 2 || !arg_eq(&argv[1], only)))
            return 0;
        for (int i = 1; step && i + step - 1 < argc; i += step)
            if (arg_eq(&argv[i], only))
                for (int j = 0; j < step; j++)
                    proj[c++] = argv[i + j];
        if (step) {
            if (c == 1)
                return 0;
            proj[0] = argv[0];
            v.argc = c, v.argv = proj;
        }
    }
    rc = fold_prepare(txn, id, db, &v, tail, tail_len, &eff, eff_argv);
    if (rc == IPLD_EFORMAT) {
        n->st.skipped++;
        return 0;
    }
    if (rc || eff.argc == 0)
        return rc;
    redis_unit u = {0, db, now_ms, 0, 1, &eff, 0};
    n->st.applied++;
    return redis_server_apply(n->s, &u, 1);
}

/* ---- the key index (per-key refold, C1) ----
 * Bucket "crdt.k": db (1) | key length (4, BE) | key | order key (76) -> ""
 * for every key of every operation entry the log holds (written when the
 * entry is added), so a key's history is one cursor range in the log's
 * order. Bucket "crdt.r": db | key length | key -> "", the keys late entries
 * touched in the current ingest, refolded at its end. A key too long for an
 * index key (over KIDX_KEY_MAX) makes a late entry rebuild everything. */

#define KIDX_KEY_MAX (FFDB_MAX_KEY_SIZE - 5 - OPLOG_ORDER_KEY_BYTES)
#define REFOLD_CHUNK 64 /* order keys read per cursor pass of a refold */

int crdt_bucket_make(ffdb_txn *txn, const char *name, ffdb_bucket **b)
{
    int rc = ffdb_bucket_open(txn, name, strlen(name), b);
    return rc == FFDB_NOTFOUND ? ffdb_bucket_create(txn, name, strlen(name), b) : rc;
}

/* Index an entry's keys (and mark them for refold when late). *too_long is
 * set if a key cannot be indexed. */
static int index_entry(ffdb_txn *txn, const uint8_t okey[OPLOG_ORDER_KEY_BYTES], const uint8_t *op,
                       size_t len, int late, int *too_long)
{
    static resp_arg argv[OP_ARGS_MAX];
    uint8_t k[FFDB_MAX_KEY_SIZE];
    const uint8_t *tail;
    size_t tail_len;
    int db, argc, rc;
    ffdb_bucket *bk, *br = NULL;
    if (crdt_op_decode(op, len, &db, argv, &argc, &tail, &tail_len))
        return 0; /* skipped when folded: it touches nothing */
    redis_cmdv v = {argc, argv};
    if (refusal(&v) || argc < 2)
        return 0;
    int step = key_step(&argv[0]);
    if ((rc = crdt_bucket_make(txn, "crdt.k", &bk)) ||
        (late && (rc = crdt_bucket_make(txn, "crdt.r", &br))))
        return rc;
    for (int i = 1; !rc && i < argc; i += step ? step : argc) {
        if (argv[i].n > KIDX_KEY_MAX) {
            *too_long = 1;
            continue;
        }
        size_t plen = tags_key(k, db, &argv[i], NULL);
        memcpy(k + plen, okey, OPLOG_ORDER_KEY_BYTES);
        rc = ffdb_put(bk, k, plen + OPLOG_ORDER_KEY_BYTES, "", 0);
        if (!rc && br) { /* the earliest late entry on the key: its refold starts before it */
            ffdb_val was;
            rc = ffdb_get(br, k, plen, &was);
            if (rc == FFDB_NOTFOUND ||
                (!rc && (was.size != OPLOG_ORDER_KEY_BYTES ||
                         memcmp(okey, was.data, OPLOG_ORDER_KEY_BYTES) < 0)))
                rc = ffdb_put(br, k, plen, okey, OPLOG_ORDER_KEY_BYTES);
        }
    }
    return rc;
}

/* 1 if the operation replaces key's whole value whatever it held (SET,
 * GETSET, GETDEL, MSET, DEL, UNLINK naming it): what sorts before it on the
 * key has no effect after it. */
static int op_resets(const uint8_t *op, size_t len, const resp_arg *key)
{
    static resp_arg argv[OP_ARGS_MAX];
    const uint8_t *tail;
    size_t tail_len;
    int db, argc;
    if (crdt_op_decode(op, len, &db, argv, &argc, &tail, &tail_len) || argc < 2)
        return 0;
    redis_cmdv v = {argc, argv};
    if (refusal(&v))
        return 0;
    int step = key_step(&argv[0]);
    if (!step)
        return (arg_is(&argv[0], "set") || arg_is(&argv[0], "getset") ||
                arg_is(&argv[0], "getdel")) &&
               arg_eq(&argv[1], key);
    for (int i = 1; i + step - 1 < argc; i += step)
        if (arg_eq(&argv[i], key))
            return 1;
    return 0;
}

/* Where the refold of a key starts: the last entry on it, at or before its
 * earliest late one (from), that replaces the whole value; or its first. The
 * walk back reads entries, never writes (the cursor stays valid). */
static int refold_start(ffdb_txn *txn, ffdb_bucket *bk, const uint8_t *p, size_t plen,
                        const uint8_t from[OPLOG_ORDER_KEY_BYTES], const resp_arg *key,
                        uint8_t start[OPLOG_ORDER_KEY_BYTES], int *found)
{
    uint8_t seek[FFDB_MAX_KEY_SIZE];
    ffdb_cursor *c;
    ffdb_val k, v;
    int rc;
    *found = 0;
    memcpy(seek, p, plen);
    memcpy(seek + plen, from, OPLOG_ORDER_KEY_BYTES);
    if ((rc = ffdb_cursor_open(bk, &c)))
        return rc;
    rc = ffdb_cursor_seek(c, seek, plen + OPLOG_ORDER_KEY_BYTES, &k, &v);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_cursor_last(c, &k, &v);
    else if (!rc && (k.size != plen + OPLOG_ORDER_KEY_BYTES || memcmp(k.data, seek, k.size)))
        rc = ffdb_cursor_prev(c, &k, &v); /* from itself is in the range: past it, step back */
    for (; rc == 0 && !*found; rc = ffdb_cursor_prev(c, &k, &v)) {
        ipld_cid id;
        uint8_t *buf;
        size_t len;
        oplog_entry e;
        if (k.size != plen + OPLOG_ORDER_KEY_BYTES || memcmp(k.data, p, plen))
            break;
        memcpy(start, (const uint8_t *)k.data + plen, OPLOG_ORDER_KEY_BYTES);
        if (ipld_cid_from_bytes(start + 8 + OPLOG_KEY_BYTES, OPLOG_CID_BYTES, &id)) {
            rc = FFDB_CORRUPT;
            break;
        }
        int grc = oplog_get(txn, &id, &buf, &len);
        if (grc == FFDB_NOTFOUND)
            continue;
        if (grc) {
            rc = grc;
            break;
        }
        if (oplog_entry_decode(buf, len, &e) == 0) {
            *found = e.kind == OPLOG_KIND_OP && op_resets(e.op, e.op_len, key);
            oplog_entry_free(&e);
        }
        free(buf);
        if (*found)
            break;
    }
    ffdb_cursor_close(c);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

/* Refold one key from its history: drop it (and its tags), then fold the
 * part on it of every entry of its index range from refold_start on, in the
 * log's order. */
static int refold_key(crdt *n, ffdb_txn *txn, const uint8_t *p, size_t plen,
                      const uint8_t from[OPLOG_ORDER_KEY_BYTES], const uint8_t *upto,
                      int64_t now_ms)
{
    uint64_t cut = 0;
    uint8_t seek[FFDB_MAX_KEY_SIZE], okeys[REFOLD_CHUNK][OPLOG_ORDER_KEY_BYTES];
    ffdb_bucket *bk, *bt;
    int rc, db = p[0];
    resp_arg key = {(const char *)p + 5, plen - 5};
    resp_arg del[2] = {{"del", 3}, key};
    redis_cmdv dv = {2, del};
    redis_unit u = {0, db, now_ms, 0, 1, &dv, 0};
    size_t got, slen = plen;

    assert(plen >= 5 && plen - 5 == get_u32(p + 1));
    if ((rc = crdt_cut_get(txn, &cut)))
        return rc;
    if ((rc = tags_bucket(txn, &bt)) || (rc = tags_drop_key(bt, db, &key)))
        return rc;
    if ((rc = redis_server_apply(n->s, &u, 1)))
        return rc;
    if ((rc = crdt_bucket_make(txn, "crdt.k", &bk)))
        return rc;
    memcpy(seek, p, plen);
    int inclusive = 0; /* the first chunk takes the reset entry itself */
    if ((rc = refold_start(txn, bk, p, plen, from, &key, seek + plen, &inclusive)))
        return rc;
    if (inclusive)
        slen = plen + OPLOG_ORDER_KEY_BYTES;
    else if ((rc = crdt_state_load(n, txn, p, plen, now_ms))) /* the key at the cut */
        return rc;
    n->st.refolds++;
    do { /* a chunk of the range, then its folds (which write other buckets) */
        ffdb_cursor *c;
        ffdb_val k, v;
        got = 0;
        if ((rc = ffdb_cursor_open(bk, &c)))
            return rc;
        for (rc = ffdb_cursor_seek(c, seek, slen, &k, &v); rc == 0 && got < REFOLD_CHUNK;
             rc = ffdb_cursor_next(c, &k, &v)) {
            if (k.size != plen + OPLOG_ORDER_KEY_BYTES || memcmp(k.data, p, plen))
                break;
            if (!inclusive && k.size == slen && !memcmp(k.data, seek, slen))
                continue; /* the last of the previous chunk */
            if (upto && memcmp((const uint8_t *)k.data + plen, upto, OPLOG_ORDER_KEY_BYTES) >= 0)
                break; /* the state at a cut: what sorts from it on is left out */
            memcpy(okeys[got++], (const uint8_t *)k.data + plen, OPLOG_ORDER_KEY_BYTES);
        }
        ffdb_cursor_close(c);
        if (rc && rc != FFDB_NOTFOUND)
            return rc;
        for (size_t i = 0; i < got; i++) {
            ipld_cid id;
            uint8_t *buf;
            size_t len;
            oplog_entry e;
            if (ipld_cid_from_bytes(okeys[i] + 8 + OPLOG_KEY_BYTES, OPLOG_CID_BYTES, &id))
                return FFDB_CORRUPT;
            rc = oplog_get(txn, &id, &buf, &len);
            if (rc == FFDB_NOTFOUND)
                continue; /* dropped by compaction */
            if (rc)
                return rc;
            if (oplog_entry_decode(buf, len, &e) == 0) {
                assert(e.clock >= cut); /* below the cut: in the state already (rule c) */
                if (e.kind == OPLOG_KIND_OP)
                    rc = fold_op(n, txn, &id, e.op, e.op_len, now_ms, &key);
                oplog_entry_free(&e);
            }
            free(buf);
            if (rc)
                return rc;
        }
        inclusive = 0;
        if (got) {
            memcpy(seek + plen, okeys[got - 1], OPLOG_ORDER_KEY_BYTES);
            slen = plen + OPLOG_ORDER_KEY_BYTES;
        }
    } while (got == REFOLD_CHUNK && (!upto || memcmp(okeys[got - 1], upto, OPLOG_ORDER_KEY_BYTES) < 0));
    return 0;
}

/* Refold every key crdt.r holds, then drop it. */
int crdt_refold_marked(crdt *n, ffdb_txn *txn, int64_t now_ms)
{
    ffdb_bucket *br;
    uint8_t p[FFDB_MAX_KEY_SIZE];
    int rc = ffdb_bucket_open(txn, "crdt.r", 6, &br);
    if (rc == FFDB_NOTFOUND)
        return 0;
    while (!rc) {
        ffdb_cursor *c;
        ffdb_val k, v;
        size_t plen = 0;
        uint8_t from[OPLOG_ORDER_KEY_BYTES];
        if ((rc = ffdb_cursor_open(br, &c)))
            break;
        rc = ffdb_cursor_first(c, &k, &v);
        if (!rc && (k.size < 5 || k.size > sizeof p || v.size != sizeof from))
            rc = FFDB_CORRUPT;
        if (!rc) {
            memcpy(p, k.data, plen = k.size);
            memcpy(from, v.data, sizeof from);
        }
        ffdb_cursor_close(c);
        if (!rc)
            rc = ffdb_delete(br, p, plen);
        if (!rc)
            rc = refold_key(n, txn, p, plen, from, NULL, now_ms);
    }
    if (rc == FFDB_NOTFOUND)
        rc = 0;
    return rc ? rc : ffdb_bucket_drop(txn, "crdt.r", 6);
}

int crdt_cut_get(ffdb_txn *txn, uint64_t *cut)
{
    int rc = crdt_meta_u64(txn, "cut", cut);
    if (rc == FFDB_NOTFOUND)
        *cut = 0, rc = 0;
    return rc;
}

struct mark_above {
    ffdb_txn *txn;
    int too_long;
    int rc;
};

static int mark_one(void *arg, const ipld_cid *id, const uint8_t *buf, size_t len)
{
    struct mark_above *m = arg;
    oplog_entry e;
    if (oplog_entry_decode(buf, len, &e))
        return 0;
    if (e.kind == OPLOG_KIND_OP) {
        uint8_t okey[OPLOG_ORDER_KEY_BYTES];
        oplog_order_key(e.clock, e.writer, id, okey);
        m->rc = index_entry(m->txn, okey, e.op, e.op_len, 1, &m->too_long);
    }
    oplog_entry_free(&e);
    return m->rc;
}

int crdt_state_to_cut(crdt *n, ffdb_txn *txn, uint64_t cut, int64_t now_ms, int *too_long)
{
    uint8_t upto[OPLOG_ORDER_KEY_BYTES] = {0}, p[FFDB_MAX_KEY_SIZE];
    struct mark_above m = {txn, 0, 0};
    ffdb_bucket *br;
    size_t plen = 0;
    int rc;
    for (int i = 0; i < 8; i++)
        upto[i] = (uint8_t)(cut >> (56 - 8 * i));
    rc = oplog_walk(txn, upto, mark_one, &m);
    rc = rc ? rc : m.rc;
    *too_long = m.too_long;
    if (rc || m.too_long)
        return rc;
    rc = ffdb_bucket_open(txn, "crdt.r", 6, &br);
    if (rc == FFDB_NOTFOUND)
        return 0;
    while (!rc) { /* every marked key, kept for the full refold after */
        ffdb_cursor *c;
        ffdb_val k, v;
        if ((rc = ffdb_cursor_open(br, &c)))
            break;
        rc = plen ? ffdb_cursor_seek(c, p, plen, &k, &v) : ffdb_cursor_first(c, &k, &v);
        if (!rc && plen && k.size == plen && !memcmp(k.data, p, plen))
            rc = ffdb_cursor_next(c, &k, &v);
        if (!rc && (k.size < 5 || k.size > sizeof p))
            rc = FFDB_CORRUPT;
        if (!rc)
            memcpy(p, k.data, plen = k.size);
        ffdb_cursor_close(c);
        if (!rc)
            rc = refold_key(n, txn, p, plen, upto, upto, now_ms);
    }
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

int crdt_index_drop_below(ffdb_txn *txn, uint64_t cut)
{
    enum { BATCH = 256 };
    static uint8_t keys[BATCH][FFDB_MAX_KEY_SIZE];
    static size_t lens[BATCH];
    uint8_t seek[FFDB_MAX_KEY_SIZE];
    size_t slen = 0, got;
    ffdb_bucket *bk;
    int rc = ffdb_bucket_open(txn, "crdt.k", 6, &bk);
    if (rc == FFDB_NOTFOUND)
        return 0;
    do { /* a batch of rows below the cut read, then deleted (cursors do not survive writes) */
        ffdb_cursor *c;
        ffdb_val k, v;
        got = 0;
        if (rc || (rc = ffdb_cursor_open(bk, &c)))
            break;
        for (rc = slen ? ffdb_cursor_seek(c, seek, slen, &k, &v) : ffdb_cursor_first(c, &k, &v);
             rc == 0 && got < BATCH; rc = ffdb_cursor_next(c, &k, &v)) {
            if (k.size < 5 + OPLOG_ORDER_KEY_BYTES || k.size > sizeof seek) {
                rc = FFDB_CORRUPT;
                break;
            }
            memcpy(seek, k.data, slen = k.size);
            if (get_u64((const uint8_t *)k.data + k.size - OPLOG_ORDER_KEY_BYTES) < cut) {
                memcpy(keys[got], k.data, lens[got] = k.size);
                got++;
            }
        }
        ffdb_cursor_close(c);
        if (rc == FFDB_NOTFOUND)
            rc = 0;
        for (size_t i = 0; !rc && i < got; i++)
            rc = ffdb_delete(bk, keys[i], lens[i]);
    } while (!rc && got == BATCH);
    return rc;
}

struct refold {
    crdt *n;
    ffdb_txn *txn;
    uint64_t cut;
    int64_t now_ms;
    int rc;
};

static int refold_one(void *arg, const ipld_cid *id, const uint8_t *buf, size_t len)
{
    struct refold *f = arg;
    oplog_entry e;
    if (oplog_entry_decode(buf, len, &e))
        return 0; /* oplog_verify reports it; nothing to fold */
    assert(e.clock >= f->cut); /* below the cut: in the state already (rule c) */
    if (e.kind == OPLOG_KIND_OP) {
        uint8_t okey[OPLOG_ORDER_KEY_BYTES];
        int too_long = 0;
        oplog_order_key(e.clock, e.writer, id, okey);
        f->rc = index_entry(f->txn, okey, e.op, e.op_len, 0, &too_long);
        if (!f->rc)
            f->rc = fold_op(f->n, f->txn, id, e.op, e.op_len, f->now_ms, NULL);
    }
    oplog_entry_free(&e);
    return f->rc;
}

/* C1 after a late entry: flush every database and fold the log in order. */
static int rebuild(crdt *n, ffdb_txn *txn, int64_t now_ms)
{
    resp_arg a = {"flushall", 8};
    redis_cmdv v = {1, &a};
    redis_unit u = {0, 0, now_ms, 0, 1, &v, 0};
    struct refold f = {n, txn, 0, now_ms, 0};
    int rc = crdt_cut_get(txn, &f.cut);
    rc = rc ? rc : redis_server_apply(n->s, &u, 1);
    n->st.rebuilds++;
    for (size_t i = 0; !rc && i < 2; i++) {
        rc = ffdb_bucket_drop(txn, i ? "crdt.r" : "crdt.s", 6);
        rc = rc == FFDB_NOTFOUND ? 0 : rc;
    }
    if (!rc) /* the state at the cut, then what follows it */
        rc = crdt_state_load(n, txn, NULL, 0, now_ms);
    if (!rc)
        rc = oplog_walk(txn, NULL, refold_one, &f);
    return rc ? rc : f.rc;
}

int crdt_refusal(int rc)
{
    return rc <= IPLD_EFORMAT && rc > -31000;
}

int crdt_ingest_begin(crdt *n, ffdb_txn *txn, crdt_ingest *g, int64_t now_ms)
{
    (void)n;
    memset(g, 0, sizeof *g);
    g->now_ms = now_ms;
    int rc = crdt_cut_get(txn, &g->cut);
    return rc ? rc : last_get(txn, g->last, &g->have);
}

int crdt_ingest_one(crdt *n, ffdb_txn *txn, crdt_ingest *g, const uint8_t *buf, size_t len)
{
    uint8_t key[OPLOG_ORDER_KEY_BYTES];
    oplog_entry e;
    if (len > CRDT_ENTRY_MAX)
        return OPLOG_ELIMIT; /* no node takes it: none could pass it on (CRDT_ENTRY_MAX) */
    int rc = oplog_entry_decode(buf, len, &e);
    if (rc)
        return crdt_refusal(rc) ? rc : IPLD_EFORMAT;
    oplog_order_key(e.clock, e.writer, &e.id, key);
    if (e.clock < g->cut && (rc = oplog_known(txn, &e.id)) == 0) { /* rule (b) */
        char hex[2 * OPLOG_KEY_BYTES + 1];
        ident_pk_hex(e.writer, hex);
        n->st.below_cut++;
        redis_log(n->s, NET_LOG_WARNING,
                  "CRDT mode: an entry of writer %.16s with clock %llu is below the cut %llu "
                  "(a writer the cut did not know): refused",
                  hex, (unsigned long long)e.clock, (unsigned long long)g->cut);
        oplog_entry_free(&e);
        return OPLOG_EBELOWCUT;
    }
    rc = rc < 0 ? rc : oplog_add(n->log, txn, buf, len);
    if (rc == 0 && memcmp(e.writer, n->id.pk, OPLOG_KEY_BYTES))
        rc = crdt_peer_note(txn, e.writer); /* a writer is a peer the cut waits for */
    if (rc == 0) {
        int in_order = !g->have || memcmp(key, g->last, sizeof key) > 0, too_long = 0;
        g->added++;
        if (e.kind == OPLOG_KIND_OP)
            rc = index_entry(txn, key, e.op, e.op_len, !in_order, &too_long);
        if (rc)
            ;
        else if (in_order) { /* it sorts last: its effect is the plain command's */
            assert(e.clock >= g->cut); /* never folded twice (rule c) */
            if (e.kind == OPLOG_KIND_OP)
                rc = fold_op(n, txn, &e.id, e.op, e.op_len, g->now_ms, NULL);
            memcpy(g->last, key, sizeof key);
            g->have = 1;
        } else { /* late: its keys are refolded at the end (C1) */
            g->late = 1;
            g->full |= too_long;
        }
    }
    oplog_entry_free(&e);
    return rc;
}

int crdt_ingest_end(crdt *n, ffdb_txn *txn, crdt_ingest *g)
{
    int rc = 0;
    if (g->late)
        rc = g->full ? rebuild(n, txn, g->now_ms) : crdt_refold_marked(n, txn, g->now_ms);
    if (!rc && g->added)
        rc = last_set(txn, g->last);
    return rc;
}

/* Entries from a peer (OPLOG-ADD): each added with oplog_add's checks, then
 * folded (C1). *added counts new ones. An entry refused (malformed, bad
 * signature, parent unknown) stops the add with err set; the ones before it
 * stay, each whole. An engine error is returned: the caller fails the batch. */
static int add_entries(crdt *n, const resp_arg *ents, int count, int64_t now_ms, int64_t *added,
                       char *err, size_t err_len)
{
    crdt_ingest g;
    int bad = 0;
    int rc = net_batch_need_txn(&n->s->batch, 1);
    ffdb_txn *txn = n->s->batch.txn;
    *added = 0;
    rc = rc ? rc : crdt_ingest_begin(n, txn, &g, now_ms);
    for (int i = 0; !rc && i < count; i++) {
        rc = crdt_ingest_one(n, txn, &g, (const uint8_t *)ents[i].p, ents[i].n);
        if (rc == 1)
            rc = 0;
        else if (rc == IPLD_EFORMAT) {
            snprintf(err, err_len, "entry %d is not a log entry", i + 1);
            bad = rc, rc = 0;
            break;
        } else if (crdt_refusal(rc)) {
            snprintf(err, err_len, "entry %d refused: %s", i + 1,
                     rc <= -30900 ? oplog_strerror(rc) : "malformed");
            bad = rc, rc = 0;
            break;
        }
    }
    *added = (int64_t)g.added;
    rc = rc ? rc : crdt_ingest_end(n, txn, &g);
    return rc ? rc : bad;
}

int crdt_work_begin(crdt *n, int write, ffdb_txn **txn, int *outside)
{
    redis_server *s = n->s;
    *outside = !s->in_round;
    s->in_round = 1; /* applied units join this batch: one txn for the work */
    int rc = net_batch_need_txn(&s->batch, write);
    *txn = s->batch.txn;
    return rc;
}

void crdt_work_end(crdt *n, int outside, int rc)
{
    redis_server *s = n->s;
    if (rc && !crdt_refusal(rc) && s->batch.txn)
        net_batch_fail(&s->batch, rc);
    if (outside) {
        s->in_round = 0;
        net_batch_round_end(&s->batch, 0);
    }
}

/* ---- the hook ---- */

/* Files whose derived buckets (the key index crdt.k, the tags crdt.s) do
 * not cover their log — written before them, or by another format — are
 * rebuilt from the log when the server opens them (C1 would otherwise
 * refold keys from an incomplete history: a silent wrong state). "format"
 * in crdt.m says which format built them. */
#define CRDT_FORMAT 1


static void format_check(crdt *n)
{
    ffdb_txn *txn;
    uint64_t fmt, count, clock;
    int outside;
    int rc = crdt_work_begin(n, 1, &txn, &outside), frc = 0;
    if (!rc)
        frc = crdt_meta_u64(txn, "format", &fmt);
    if (frc && frc != FFDB_NOTFOUND)
        rc = frc;
    rc = rc ? rc : oplog_len(txn, &count, &clock);
    if (!rc && (frc == FFDB_NOTFOUND || fmt != CRDT_FORMAT)) {
        if (count) {
            redis_log(n->s, NET_LOG_NOTICE,
                      "CRDT mode: the file's op log (%llu entries) was indexed by %s; "
                      "rebuilding the keyspace, the key index and the tags from it",
                      (unsigned long long)count,
                      frc == FFDB_NOTFOUND ? "an older ffdb-server (no key index format)"
                                           : "another format");
            rc = rebuild(n, txn, redis_now_ms(n->s));
        }
        rc = rc ? rc : crdt_meta_u64_put(txn, "format", CRDT_FORMAT);
    }
    crdt_work_end(n, outside, rc);
    if (rc)
        redis_log(n->s, NET_LOG_WARNING,
                  "CRDT mode: the check of the file's op log failed (%s): run OPLOG-REBUILD",
                  ffdb_strerror(rc));
}

static void hook_attach(void *arg, redis_server *s)
{
    crdt *n = arg;
    char err[256] = "";
    n->s = s;
    format_check(n);
    if (n->nats_url[0] && crdt_sync_open(n, err, sizeof err))
        redis_log(s, NET_LOG_WARNING, "CRDT mode: no NATS transport: %s", err);
}

static void hook_detach(void *arg, redis_server *s)
{
    crdt *n = arg;
    (void)s;
    crdt_sync_close(n->sync);
    n->sync = NULL;
}

static int local_write(crdt *n, const redis_unit *u, resp_reply *r)
{
    static resp_arg eff_argv[OP_ARGS_MAX];
    uint8_t *op = NULL, *tail = NULL, key[OPLOG_ORDER_KEY_BYTES];
    size_t len, tail_len = 0;
    ipld_cid id;
    uint64_t count, clock;
    redis_cmdv eff;
    int rc = net_batch_need_txn(&n->s->batch, 1);
    if (!rc && arg_is(&u->cmds[0].argv[0], "srem"))
        rc = srem_trailer(n->s->batch.txn, u->db, &u->cmds[0], &tail, &tail_len);
    if (!rc)
        rc = op_encode(u->db, &u->cmds[0], tail, tail_len, &op, &len);
    free(tail);
    if ((!rc && len > CRDT_OP_MAX) || rc == OPLOG_ELIMIT) {
        free(op);
        reply_errorf(r,
                     "ERR CRDT mode: the write is too large for the op log (%s; an entry "
                     "carries at most %u bytes of operation and %d arguments, one NATS "
                     "message)",
                     rc ? "over 1 MiB or too many arguments" : "its operation is over the limit",
                     CRDT_OP_MAX, OP_ARGS_MAX);
        return REDIS_HOOK_REPLIED;
    }
    if (!rc) {
        ffdb_txn *txn = n->s->batch.txn;
        rc = oplog_append(n->log, txn, &n->id, op, len, &id);
        if (!rc && n->sync) {
            uint8_t *ent = NULL;
            size_t elen;
            if (!(rc = oplog_get(txn, &id, &ent, &elen)))
                crdt_sync_local(n->sync, ent, elen);
            free(ent);
        }
        /* the tags as any node keeps them; the command itself runs as sent:
         * a local write sorts last, so its effect is the plain command's */
        if (!rc)
            rc = fold_prepare(txn, &id, u->db, &u->cmds[0], op + len - tail_len, tail_len, &eff,
                              eff_argv);
        if (!rc)
            rc = oplog_len(txn, &count, &clock);
        if (!rc) {
            int too_long = 0; /* a local entry is never late */
            oplog_order_key(clock, n->id.pk, &id, key);
            rc = last_set(txn, key);
            rc = rc ? rc : index_entry(txn, key, op, len, 0, &too_long);
        }
    }
    free(op);
    if (rc) {
        reply_errorf(r, "ERR CRDT mode: the write could not be logged: %s",
                     rc <= -30900 && rc > -31000 ? oplog_strerror(rc) : ffdb_strerror(rc));
        return REDIS_HOOK_REPLIED;
    }
    redis_server_apply(n->s, u, 1); /* its own reply; an engine failure fails the batch */
    return REDIS_HOOK_TAKEN;
}

static int hook_propose(void *arg, const redis_unit *u, resp_reply *r)
{
    crdt *n = arg;
    const char *why;

    if (!r)
        return REDIS_HOOK_REPLIED; /* the sweeper: no expiry is set in CRDT mode */
    if (u->multi) {
        reply_error(r, "ERR CRDT mode: MULTI/EXEC is not replicated (each command merges on its "
                       "own; send them without MULTI)");
        return REDIS_HOOK_REPLIED;
    }
    if (u->ncmds == 1 && u->cmds[0].argc >= 1 && arg_is(&u->cmds[0].argv[0], "oplog-add")) {
        char err[128] = "";
        int64_t added;
        int rc = add_entries(n, u->cmds[0].argv + 1, u->cmds[0].argc - 1, u->now_ms, &added, err,
                             sizeof err);
        if (rc && err[0])
            reply_errorf(r, "ERR OPLOG-ADD: %s (%lld added before it)", err, (long long)added);
        else if (rc) {
            net_batch_fail(&n->s->batch, rc); /* every client of the batch is told */
            reply_errorf(r, "ERR OPLOG-ADD: engine error (%d), nothing was written", rc);
        } else
            reply_int(r, added);
        return REDIS_HOOK_REPLIED;
    }
    if (u->ncmds == 1 && u->cmds[0].argc == 1 && arg_is(&u->cmds[0].argv[0], "oplog-rebuild")) {
        int rc = net_batch_need_txn(&n->s->batch, 1);
        rc = rc ? rc : rebuild(n, n->s->batch.txn, u->now_ms);
        if (rc) {
            net_batch_fail(&n->s->batch, rc);
            reply_errorf(r, "ERR OPLOG-REBUILD: engine error (%d), nothing was written", rc);
        } else
            reply_ok(r);
        return REDIS_HOOK_REPLIED;
    }
    if ((why = refusal(&u->cmds[0]))) {
        reply_errorf(r, "ERR CRDT mode: %s", why);
        return REDIS_HOOK_REPLIED;
    }
    return local_write(n, u, r);
}

/* ---- OPLOG COMPACT [AUTO n] (a write: it runs here, before the table) ---- */

int crdt_meta_u64(ffdb_txn *txn, const char *name, uint64_t *v)
{
    ffdb_bucket *b;
    ffdb_val val;
    *v = 0;
    int rc = ffdb_bucket_open(txn, "crdt.m", 6, &b);
    rc = rc ? rc : ffdb_get(b, name, strlen(name), &val);
    if (!rc && val.size != 8)
        return FFDB_CORRUPT;
    for (size_t i = 0; !rc && i < 8; i++)
        *v = *v << 8 | ((const uint8_t *)val.data)[i];
    return rc;
}

int crdt_meta_u64_put(ffdb_txn *txn, const char *name, uint64_t v)
{
    ffdb_bucket *b;
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(v >> (56 - 8 * i));
    int rc = crdt_bucket_make(txn, "crdt.m", &b);
    return rc ? rc : ffdb_put(b, name, strlen(name), be, 8);
}

int crdt_auto_get(ffdb_txn *txn, uint64_t *every)
{
    int rc = crdt_meta_u64(txn, "auto", every);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

int crdt_compact_now(crdt *n, ffdb_txn **txn, char *why, size_t why_len, uint64_t *dropped)
{
    int rc = net_batch_need_txn(&n->s->batch, 1);
    *txn = n->s->batch.txn;
    return rc ? rc : crdt_compact(n, *txn, n->s->st, why, why_len, dropped);
}

static int hook_command(void *arg, redis_client *c, int argc, const resp_arg *argv, resp_reply *r)
{
    crdt *n = arg;
    char why[300];
    uint64_t dropped;
    ffdb_txn *txn;
    int rc;
    (void)c;
    if (argc < 2 || !arg_is(&argv[0], "oplog") || !arg_is(&argv[1], "compact"))
        return 0;
    if (argc == 4 && arg_is(&argv[2], "auto")) {
        unsigned long long every;
        char num[24], *end;
        if (argv[3].n == 0 || argv[3].n >= sizeof num || argv[3].p[0] == '-') {
            reply_error(r, "ERR OPLOG COMPACT AUTO: the threshold is a count of entries (0: off)");
            return 1;
        }
        memcpy(num, argv[3].p, argv[3].n);
        num[argv[3].n] = 0;
        every = strtoull(num, &end, 10);
        if (*end) {
            reply_error(r, "ERR OPLOG COMPACT AUTO: the threshold is a count of entries (0: off)");
            return 1;
        }
        rc = net_batch_need_txn(&n->s->batch, 1);
        rc = rc ? rc : crdt_meta_u64_put(n->s->batch.txn, "auto", every);
    } else if (argc == 2) {
        rc = crdt_compact_now(n, &txn, why, sizeof why, &dropped);
        if (!rc && why[0]) {
            reply_errorf(r, "ERR OPLOG COMPACT: not now: %s", why);
            return 1;
        }
    } else {
        reply_error(r, "ERR OPLOG COMPACT takes nothing, or AUTO n");
        return 1;
    }
    if (rc) {
        net_batch_fail(&n->s->batch, rc);
        reply_errorf(r, "ERR OPLOG COMPACT: engine error (%d), nothing was written", rc);
    } else if (argc == 2)
        reply_int(r, (int64_t)dropped);
    else
        reply_ok(r);
    return 1;
}

static const redis_hook crdt_hook_ops = {
    .attach = hook_attach,
    .detach = hook_detach,
    .propose = hook_propose,
    .command = hook_command,
};

/* ---- OPLOG commands ---- */

static void reply_cid(resp_reply *r, const ipld_cid *id)
{
    char s[IPLD_CID_STR_MAX];
    ipld_cid_str(id, s);
    reply_bulk_cstr(r, s);
}

struct vreport {
    resp_reply *r;
    size_t n;
    char first[256];
};

static void report(void *arg, const char *problem)
{
    struct vreport *v = arg;
    if (!v->n++)
        snprintf(v->first, sizeof v->first, "%s", problem);
}

struct dump {
    resp_reply *r;
    size_t n;
    int count;
};

static int dump_one(void *arg, const ipld_cid *id, const uint8_t *buf, size_t len)
{
    struct dump *d = arg;
    (void)id;
    if (d->count)
        d->n++;
    else
        reply_bulk(d->r, buf, len);
    return 0;
}

/* OPLOG HEADS | LEN | GET cid | VERIFY | ENTRIES */
static int oplog_cmd(resp_ctx *c)
{
    crdt *n = g_node;
    ffdb_txn *txn = c->srv->batch.txn;
    const resp_arg *sub = &c->argv[1];
    int rc;

    assert(txn);
    if (arg_is(sub, "len") && c->argc == 2) {
        uint64_t count, clock;
        if ((rc = oplog_len(txn, &count, &clock)))
            return rc;
        reply_int(c->r, (int64_t)count);
        return 0;
    }
    if (arg_is(sub, "heads") && c->argc == 2) {
        ipld_cid heads[OPLOG_NEXT_MAX];
        size_t count;
        if ((rc = oplog_heads(txn, heads, OPLOG_NEXT_MAX, &count)))
            return rc;
        size_t m = count < OPLOG_NEXT_MAX ? count : OPLOG_NEXT_MAX;
        reply_array(c->r, m);
        for (size_t i = 0; i < m; i++)
            reply_cid(c->r, &heads[i]);
        return 0;
    }
    if (arg_is(sub, "get") && c->argc == 3) {
        char text[IPLD_CID_STR_MAX + 1];
        ipld_cid id;
        uint8_t *buf;
        size_t len;
        if (c->argv[2].n > IPLD_CID_STR_MAX) {
            reply_error(c->r, "ERR OPLOG GET: not a CID");
            return 0;
        }
        memcpy(text, c->argv[2].p, c->argv[2].n);
        text[c->argv[2].n] = 0;
        if (ipld_cid_parse(text, &id)) {
            reply_error(c->r, "ERR OPLOG GET: not a CID");
            return 0;
        }
        rc = oplog_get(txn, &id, &buf, &len);
        if (rc == FFDB_NOTFOUND) {
            reply_null(c->r);
            return 0;
        }
        if (rc)
            return rc;
        reply_bulk(c->r, buf, len);
        free(buf);
        return 0;
    }
    if (arg_is(sub, "verify") && c->argc == 2) {
        struct vreport v = {c->r, 0, ""};
        uint64_t problems;
        if ((rc = oplog_verify(n ? n->log : NULL, txn, &problems, report, &v)) ||
            (rc = crdt_state_verify(txn, &problems, report, &v)))
            return rc;
        if (problems)
            reply_errorf(c->r, "ERR OPLOG VERIFY: %llu problems, the first: %s",
                         (unsigned long long)problems, v.first);
        else
            reply_ok(c->r);
        return 0;
    }
    if (arg_is(sub, "entries") && c->argc == 2) {
        struct dump d = {c->r, 0, 1};
        if ((rc = oplog_walk(txn, NULL, dump_one, &d)))
            return rc;
        reply_array(c->r, d.n);
        d.count = 0;
        return oplog_walk(txn, NULL, dump_one, &d);
    }
    if (arg_is(sub, "stats") && c->argc == 2) {
        static const crdt_stats zero;
        const crdt_stats *t = n ? &n->st : &zero;
        const struct {
            const char *name;
            uint64_t v;
        } rows[] = {
            {"applied", t->applied},
            {"rebuilds", t->rebuilds},
            {"refolds", t->refolds},
            {"skipped", t->skipped},
            {"refused", t->refused},
            {"pushed", t->pushed},
            {"received", t->received},
            {"fetches", t->fetches},
            {"fetch_failures", t->fetch_failures},
            {"fetched", t->fetched},
            {"announces", t->announces},
            {"compactions", t->compactions},
            {"below_cut", t->below_cut},
        };
        reply_map(c->r, sizeof rows / sizeof rows[0]);
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            reply_bulk_cstr(c->r, rows[i].name);
            reply_int(c->r, (int64_t)rows[i].v);
        }
        return 0;
    }
    reply_errorf(
        c->r,
        "ERR unknown subcommand '%.*s'. Try OPLOG HEADS|LEN|GET|VERIFY|ENTRIES|STATS|COMPACT.",
        (int)(sub->n > 128 ? 128 : sub->n), sub->p);
    return 0;
}

/* Reached only without the hook (never in CRDT mode, where propose takes it). */
static int oplog_add_cmd(resp_ctx *c)
{
    reply_errorf(c->r, "ERR %s needs CRDT mode (ffdb-server --crdt yes)", c->argv[0].n > 10 ? "OPLOG-REBUILD" : "OPLOG-ADD");
    return 0;
}

static const resp_command crdt_cmds[] = {
    {"oplog", oplog_cmd, -2, RESP_CMD_READONLY, 0, 0, 0, "server",
     "The CRDT mode's op log: HEADS, LEN, GET cid, VERIFY, ENTRIES, STATS, COMPACT [AUTO n]"},
    {"oplog-add", oplog_add_cmd, -2, RESP_CMD_WRITE, 0, 0, 0, "server",
     "Add entries from a peer to the op log and apply them in the log's order"},
    {"oplog-rebuild", oplog_add_cmd, 1, RESP_CMD_WRITE, 0, 0, 0, "server",
     "Flush the keyspace and fold the whole log again (a check of the per-key refold)"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

/* ---- installing ---- */

int crdt_install(redis_config *cfg, const char *dir, const char *nats_url, const char *ns,
                 crdt **out, char *err, size_t err_len)
{
    crdt *n = calloc(1, sizeof *n);
    int rc;
    if (!n)
        return FFDB_ENOMEM;
    snprintf(n->nats_url, sizeof n->nats_url, "%s", nats_url ? nats_url : "");
    snprintf(n->ns, sizeof n->ns, "%s", ns ? ns : "");
    rc = ident_open(&n->id, dir && dir[0] ? dir : ".", 0, NULL, err, err_len);
    if (!rc)
        rc = oplog_new(&n->log);
    if (!rc)
        rc = redis_commands_init();
    if (!rc)
        rc = redis_commands_add(crdt_cmds);
    if (rc) {
        if (!err[0])
            snprintf(err, err_len, "CRDT mode: %s", ffdb_strerror(rc));
        crdt_free(n);
        return rc;
    }
    cfg->hook = &crdt_hook_ops;
    cfg->hook_arg = n;
    g_node = n;
    *out = n;
    return 0;
}

void crdt_free(crdt *n)
{
    if (!n)
        return;
    if (g_node == n)
        g_node = NULL;
    oplog_free(n->log);
    ident_close(&n->id);
    free(n);
}
