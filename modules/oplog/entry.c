/*
 * entry.c — the log entry as a dag-cbor object: build (sign), strict decode,
 * signature check, the order key. Layout: modules/oplog/README.md (a wire
 * contract). Who calls it: log.c, fetch.c, the CRDT layer. It touches no file.
 *
 * The bytes signed are the canonical dag-cbor of the entry's map without
 * "sig"; the entry's ID is the CIDv1 (dag-cbor, sha2-256) of the whole map.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "modules/oplog/oplog.h"

const char *oplog_strerror(int code)
{
    switch (code) {
    case OPLOG_EBADSIG:
        return "entry signature does not verify";
    case OPLOG_EMISSING:
        return "entry links to an unknown entry";
    case OPLOG_ECLOCK:
        return "entry clock not above its parents'";
    case OPLOG_EMISMATCH:
        return "entry bytes do not hash to their CID";
    case OPLOG_ELIMIT:
        return "entry over a size limit";
    case OPLOG_ECORRUPT:
        return "log breaks an invariant";
    case OPLOG_EBELOWCUT:
        return "entry clock below the compaction cut (a writer the cut did not know)";
    default:
        break;
    }
    if (code <= IPLD_EFORMAT && code > IPLD_EFORMAT - 100)
        return ipld_strerror(code);
    return ffdb_strerror(code);
}

void oplog_order_key(uint64_t clock, const uint8_t writer[OPLOG_KEY_BYTES], const ipld_cid *id,
                     uint8_t out[OPLOG_ORDER_KEY_BYTES])
{
    uint8_t bin[IPLD_CID_BIN_MAX];
    size_t n = ipld_cid_to_bytes(id, bin);
    assert(n == OPLOG_CID_BYTES);
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(clock >> (56 - 8 * i));
    memcpy(out + 8, writer, OPLOG_KEY_BYTES);
    memcpy(out + 8 + OPLOG_KEY_BYTES, bin, OPLOG_CID_BYTES);
}

static int cid_cmp(const void *a, const void *b)
{
    uint8_t x[IPLD_CID_BIN_MAX], y[IPLD_CID_BIN_MAX];
    size_t nx = ipld_cid_to_bytes(a, x), ny = ipld_cid_to_bytes(b, y);
    int c = memcmp(x, y, nx < ny ? nx : ny);
    return c ? c : (nx > ny) - (nx < ny);
}

/* The map of an entry, with or without its signature. */
static cbor_item_t *entry_map(const oplog_entry *e, int with_sig)
{
    cbor_item_t *m = cbor_new_indefinite_map(), *next = cbor_new_definite_array(e->next_count);
    int bad = !m || !next;
    for (size_t i = 0; !bad && i < e->next_count; i++) {
        cbor_item_t *l = ipld_cbor_link(&e->next[i]);
        bad = !l || !cbor_array_push(next, l);
        if (l)
            cbor_decref(&l);
    }
    if (bad) {
        if (m)
            cbor_decref(&m);
        if (next)
            cbor_decref(&next);
        return NULL;
    }
    int rc = ipld_cbor_map_put(m, "v", ipld_cbor_uint(1));
    rc = rc ? rc : ipld_cbor_map_put(m, "clock", ipld_cbor_uint(e->clock));
    rc =
        rc ? rc : ipld_cbor_map_put(m, "writer", cbor_build_bytestring(e->writer, OPLOG_KEY_BYTES));
    rc = rc ? rc : ipld_cbor_map_put(m, "next", next);
    if (rc)
        goto fail;
    if (e->kind == OPLOG_KIND_SNAPSHOT)
        rc = ipld_cbor_map_put(m, "snap", ipld_cbor_link(&e->state));
    else
        rc = ipld_cbor_map_put(
            m, "op", cbor_build_bytestring(e->op ? e->op : (const uint8_t *)"", e->op_len));
    if (!rc && with_sig)
        rc = ipld_cbor_map_put(m, "sig", cbor_build_bytestring(e->sig, OPLOG_SIG_BYTES));
    if (rc)
        goto fail;
    return m;
fail:
    cbor_decref(&m);
    return NULL;
}

static int encode(const oplog_entry *e, int with_sig, uint8_t **out, size_t *len)
{
    cbor_item_t *m = entry_map(e, with_sig);
    if (!m)
        return FFDB_ENOMEM;
    int rc = ipld_cbor_encode(m, out, len);
    cbor_decref(&m);
    return rc;
}

int oplog_entry_build(int kind, uint64_t clock, const ipld_cid *next, size_t next_count,
                      const uint8_t *op, size_t op_len, const ipld_cid *state,
                      const ident *signer, uint8_t **out, size_t *len, ipld_cid *id)
{
    assert(signer && out && len && id);
    assert(kind == OPLOG_KIND_OP || (kind == OPLOG_KIND_SNAPSHOT && state));
    if (next_count > OPLOG_NEXT_MAX || op_len > OPLOG_OP_MAX)
        return OPLOG_ELIMIT;
    oplog_entry e = {
        .kind = kind, .clock = clock, .next_count = next_count, .op = op, .op_len = op_len};
    memcpy(e.writer, signer->pk, OPLOG_KEY_BYTES);
    if (next_count)
        memcpy(e.next, next, next_count * sizeof *next);
    qsort(e.next, next_count, sizeof *e.next, cid_cmp);
    for (size_t i = 1; i < next_count; i++)
        if (cid_cmp(&e.next[i - 1], &e.next[i]) == 0)
            return FFDB_EINVAL;
    if (kind == OPLOG_KIND_SNAPSHOT)
        e.state = *state;
    uint8_t *msg;
    size_t msg_len;
    int rc = encode(&e, 0, &msg, &msg_len);
    if (rc)
        return rc;
    ident_sign(signer, msg, msg_len, e.sig);
    free(msg);
    rc = encode(&e, 1, out, len);
    if (rc)
        return rc;
    rc = ipld_cid_of(1, IPLD_CODEC_DAG_CBOR, IPLD_MH_SHA2_256, *out, *len, id);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

static int get_bytes(const cbor_item_t *it, const uint8_t **p, size_t *n)
{
    if (!it || !cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
        return IPLD_EFORMAT;
    *p = cbor_bytestring_handle(it);
    *n = cbor_bytestring_length(it);
    return 0;
}

static int get_fixed(const cbor_item_t *it, uint8_t *out, size_t want)
{
    const uint8_t *p;
    size_t n;
    if (get_bytes(it, &p, &n) || n != want)
        return IPLD_EFORMAT;
    memcpy(out, p, want);
    return 0;
}

static int decode_next(const cbor_item_t *arr, oplog_entry *e)
{
    if (!arr || !cbor_isa_array(arr))
        return IPLD_EFORMAT;
    size_t n = cbor_array_size(arr);
    if (n > OPLOG_NEXT_MAX)
        return OPLOG_ELIMIT;
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *l = cbor_array_get(arr, i);
        int rc = ipld_cbor_get_link(l, &e->next[i]);
        cbor_decref(&l);
        if (rc)
            return IPLD_EFORMAT;
        if (i && cid_cmp(&e->next[i - 1], &e->next[i]) >= 0)
            return IPLD_EFORMAT; /* sorted and unique is part of the contract */
    }
    e->next_count = n;
    return 0;
}

static int is_entry_cid(const ipld_cid *c)
{
    return c->version == 1 && c->codec == IPLD_CODEC_DAG_CBOR && c->mh_code == IPLD_MH_SHA2_256 &&
           c->digest_len == 32;
}

static int decode_fields(const cbor_item_t *m, oplog_entry *e)
{
    int64_t v, clock;
    if (!cbor_isa_map(m))
        return IPLD_EFORMAT;
    if (ipld_cbor_get_int(ipld_cbor_map_get(m, "v"), &v) || v != 1)
        return IPLD_EFORMAT;
    if (ipld_cbor_get_int(ipld_cbor_map_get(m, "clock"), &clock) || clock < 1)
        return IPLD_EFORMAT;
    e->clock = (uint64_t)clock;
    if (get_fixed(ipld_cbor_map_get(m, "writer"), e->writer, OPLOG_KEY_BYTES) ||
        get_fixed(ipld_cbor_map_get(m, "sig"), e->sig, OPLOG_SIG_BYTES))
        return IPLD_EFORMAT;
    int rc = decode_next(ipld_cbor_map_get(m, "next"), e);
    if (rc)
        return rc;
    for (size_t i = 0; i < e->next_count; i++)
        if (!is_entry_cid(&e->next[i]))
            return IPLD_EFORMAT;
    cbor_item_t *op = ipld_cbor_map_get(m, "op"), *snap = ipld_cbor_map_get(m, "snap");
    if ((op == NULL) == (snap == NULL) || cbor_map_size(m) != 6)
        return IPLD_EFORMAT; /* exactly v clock writer next sig and one of op/snap */
    if (snap) {
        e->kind = OPLOG_KIND_SNAPSHOT;
        return ipld_cbor_get_link(snap, &e->state) ? IPLD_EFORMAT : 0;
    }
    e->kind = OPLOG_KIND_OP;
    rc = get_bytes(op, &e->op, &e->op_len);
    return rc ? rc : e->op_len > OPLOG_OP_MAX ? OPLOG_ELIMIT : 0;
}

int oplog_entry_decode(const uint8_t *buf, size_t len, oplog_entry *e)
{
    assert(buf && e);
    memset(e, 0, sizeof *e);
    int rc = ipld_cbor_decode(buf, len, 1, &e->item);
    if (rc)
        return rc;
    rc = decode_fields(e->item, e);
    if (!rc)
        rc = ipld_cid_of(1, IPLD_CODEC_DAG_CBOR, IPLD_MH_SHA2_256, buf, len, &e->id);
    if (rc)
        oplog_entry_free(e);
    return rc;
}

int oplog_entry_check_sig(const oplog_entry *e)
{
    assert(e);
    uint8_t *msg;
    size_t len;
    int rc = encode(e, 0, &msg, &len);
    if (rc)
        return rc;
    rc = ident_verify(e->writer, msg, len, e->sig) ? OPLOG_EBADSIG : 0;
    free(msg);
    return rc;
}

void oplog_entry_free(oplog_entry *e)
{
    if (e && e->item)
        cbor_decref(&e->item);
    if (e)
        e->item = NULL;
}
