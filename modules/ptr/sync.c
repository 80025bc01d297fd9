/*
 * sync.c — catching up (ptr.h, "Ask and Answer"): a summary of a store as
 * per-range digests, the Ask that carries it, the Answer (Batch messages of
 * the records of every range whose digest differs) and the application of a
 * received Batch. No networking: ffdb-server's records extension carries the
 * bytes over NATS request/reply. Everything a peer sends is checked: a bad
 * Ask is refused, a bad Batch is one counted malformed reject.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "modules/ptr/ptr.h"
#include "modules/ptr/ptr.pb-c.h"

#define BATCH_TAG 0x0a /* Batch.records: field 1, length-delimited */

static unsigned range_of(const void *key, size_t klen)
{
    return (unsigned)(XXH3_64bits(key, klen) >> 56);
}

static int sum_visit(void *arg, const ptr_entry *e, const uint8_t *wire, size_t wire_len)
{
    ptr_summary *s = arg;
    unsigned r = range_of(e->key.data, e->key.size);
    s->digest[r] ^= XXH3_64bits(wire, wire_len);
    s->count[r]++;
    return 0;
}

int ptr_summary_txn(ptr *p, ffdb_txn *t, ptr_summary *s)
{
    assert(p && t && s);
    memset(s, 0, sizeof *s);
    return ptr_scan_txn(p, t, NULL, 0, sum_visit, s);
}

int ptr_ask_encode(const ptr_summary *s, const uint8_t node[IDENT_PK_BYTES], const void *from,
                   size_t from_len, uint8_t **out, size_t *len)
{
    uint8_t dig[8 * PTR_SUMMARY_RANGES];
    for (unsigned r = 0; r < PTR_SUMMARY_RANGES; r++)
        for (unsigned i = 0; i < 8; i++)
            dig[8 * r + i] = (uint8_t)(s->digest[r] >> (8 * i));
    Ffdb__Ptr__Ask a = FFDB__PTR__ASK__INIT;
    a.digest.data = dig;
    a.digest.len = sizeof dig;
    a.node.data = (uint8_t *)node;
    a.node.len = IDENT_PK_BYTES;
    a.from.data = (uint8_t *)from;
    a.from.len = from_len;
    *len = ffdb__ptr__ask__get_packed_size(&a);
    *out = malloc(*len);
    if (!*out)
        return FFDB_ENOMEM;
    ffdb__ptr__ask__pack(&a, *out);
    return 0;
}

int ptr_ask_decode(const uint8_t *msg, size_t len, ptr_summary *s, uint8_t node[IDENT_PK_BYTES],
                   uint8_t *from, size_t from_cap, size_t *from_len)
{
    if (len > PTR_ASK_MAX_BYTES)
        return PTR_EFORMAT;
    Ffdb__Ptr__Ask *a = ffdb__ptr__ask__unpack(NULL, len, msg);
    if (!a)
        return PTR_EFORMAT;
    int ok = a->digest.len == 8 * PTR_SUMMARY_RANGES && a->node.len == IDENT_PK_BYTES &&
             a->from.len <= from_cap;
    if (ok) {
        if (a->from.len)
            memcpy(from, a->from.data, a->from.len);
        *from_len = a->from.len;
        memset(s, 0, sizeof *s);
        for (unsigned r = 0; r < PTR_SUMMARY_RANGES; r++)
            for (unsigned i = 0; i < 8; i++)
                s->digest[r] |= (uint64_t)a->digest.data[8 * r + i] << (8 * i);
        memcpy(node, a->node.data, IDENT_PK_BYTES);
    }
    ffdb__ptr__ask__free_unpacked(a, NULL);
    return ok ? 0 : PTR_EFORMAT;
}

/* ---- Answer ------------------------------------------------------------------------ */

typedef struct answer_ctx {
    const ptr_summary *mine, *theirs;
    size_t chunk_bytes, left; /* bytes still allowed in this answer */
    uint8_t *buf;
    size_t len;
    ptr_emit_fn emit;
    void *arg;
    size_t sent;
    int truncated;
} answer_ctx;

#define BATCH_MORE_TAG 0x12 /* Batch.more: field 2, length-delimited */

static int answer_flush(answer_ctx *a)
{
    int rc = a->len ? a->emit(a->arg, a->buf, a->len) : 0;
    a->len = 0;
    return rc;
}

static size_t varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    do {
        out[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static int answer_visit(void *arg, const ptr_entry *e, const uint8_t *wire, size_t wire_len)
{
    answer_ctx *a = arg;
    unsigned r = range_of(e->key.data, e->key.size);
    if (a->mine->digest[r] == a->theirs->digest[r])
        return 0;
    size_t need = 1 + 10 + wire_len;
    if (need > a->left) {
        /* The asker asks again from here (the buffer holds chunk_bytes + a
         * record, and a key is smaller than a record). */
        a->truncated = 1;
        a->buf[a->len++] = BATCH_MORE_TAG;
        a->len += varint(a->buf + a->len, e->key.size);
        memcpy(a->buf + a->len, e->key.data, e->key.size);
        a->len += e->key.size;
        return 1;
    }
    if (a->len && a->len + need > a->chunk_bytes) {
        int rc = answer_flush(a);
        if (rc)
            return rc;
    }
    a->buf[a->len++] = BATCH_TAG;
    a->len += varint(a->buf + a->len, wire_len);
    memcpy(a->buf + a->len, wire, wire_len);
    a->len += wire_len;
    a->left -= need;
    a->sent++;
    return 0;
}

int ptr_answer_txn(ptr *p, ffdb_txn *t, const ptr_summary *theirs, const void *from,
                   size_t from_len, size_t chunk_bytes, size_t max_bytes, ptr_emit_fn emit,
                   void *arg, size_t *sent)
{
    assert(p && t && theirs && emit && chunk_bytes > 0);
    ptr_summary mine;
    int rc = ptr_summary_txn(p, t, &mine);
    if (rc)
        return rc;
    size_t limit = ptr_record_max_bytes(p) + 2 * 11;
    answer_ctx a = {&mine, theirs, chunk_bytes, max_bytes, NULL, 0, emit, arg, 0, 0};
    a.buf = malloc(chunk_bytes + limit); /* a record over chunk_bytes goes alone */
    if (!a.buf)
        return FFDB_ENOMEM;
    rc = ptr_scan_txn(p, t, from_len ? from : NULL, from_len, answer_visit, &a);
    if (rc == 1)
        rc = 0; /* stopped at max_bytes */
    if (rc == 0)
        rc = answer_flush(&a);
    free(a.buf);
    if (sent)
        *sent = a.sent;
    return rc;
}

/* ---- a received Batch -------------------------------------------------------------- */

/* One length-delimited field at *pos: its tag and its bytes. 0, or -1 when
 * the framing is broken (an unknown tag, a varint cut short or too long, a
 * length past the end). */
static int next_field(const uint8_t *batch, size_t len, size_t *pos, uint8_t *tag,
                      const uint8_t **data, size_t *n)
{
    uint64_t l = 0;
    unsigned shift = 0;
    int ended = 0;
    *tag = batch[(*pos)++];
    if (*tag != BATCH_TAG && *tag != BATCH_MORE_TAG)
        return -1;
    while (*pos < len && shift < 64 && !ended) {
        uint8_t b = batch[(*pos)++];
        l |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        ended = !(b & 0x80);
    }
    if (!ended || l > len - *pos)
        return -1;
    *data = batch + *pos;
    *n = (size_t)l;
    *pos += (size_t)l;
    return 0;
}

typedef struct batch_view {
    const uint8_t **msgs;
    size_t *lens, n, cap;
    ffdb_val more;
} batch_view;

/* The records (when v->msgs is to be filled: keep != 0) and the more key of
 * a Batch. 0, PTR_EFORMAT (broken framing) or FFDB_ENOMEM. */
static int batch_split(const uint8_t *batch, size_t len, int keep, batch_view *v)
{
    size_t pos = 0;
    memset(v, 0, sizeof *v);
    while (pos < len) {
        uint8_t tag;
        const uint8_t *data;
        size_t n;
        if (next_field(batch, len, &pos, &tag, &data, &n))
            return PTR_EFORMAT;
        if (tag == BATCH_MORE_TAG) {
            v->more.data = data;
            v->more.size = n;
            continue;
        }
        if (keep && v->n == v->cap) {
            size_t cap = v->cap ? 2 * v->cap : 64;
            const uint8_t **m = realloc(v->msgs, cap * sizeof *m);
            if (m)
                v->msgs = m;
            size_t *ls = m ? realloc(v->lens, cap * sizeof *ls) : NULL;
            if (!ls)
                return FFDB_ENOMEM;
            v->lens = ls;
            v->cap = cap;
        }
        if (keep) {
            v->msgs[v->n] = data;
            v->lens[v->n] = n;
        }
        v->n++;
    }
    return 0;
}

int ptr_batch_info(const uint8_t *batch, size_t len, size_t *records, ffdb_val *more)
{
    assert(batch || len == 0);
    batch_view v;
    int rc = batch_split(batch, len, 0, &v);
    *records = rc ? 0 : v.n;
    *more = rc ? (ffdb_val){NULL, 0} : v.more;
    return rc;
}

int ptr_apply_batch_txn(ptr *p, ffdb_txn *t, const uint8_t *batch, size_t len, size_t *applied,
                        ffdb_val *more)
{
    assert(p && t && (batch || len == 0));
    batch_view v;
    int rc = batch_split(batch, len, 1, &v);
    if (rc == PTR_EFORMAT) {
        ptr_count_reject(p, PTR_R_MALFORMED); /* the whole batch: its framing is broken */
        rc = 0;
        v.n = 0;
        v.more = (ffdb_val){NULL, 0};
    } else if (rc == 0)
        rc = ptr_apply_txn(p, t, v.msgs, v.lens, v.n, applied);
    if (more)
        *more = rc ? (ffdb_val){NULL, 0} : v.more;
    if ((rc || v.n == 0) && applied)
        *applied = 0;
    free(v.msgs);
    free(v.lens);
    return rc;
}
