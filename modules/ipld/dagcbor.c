/*
 * dagcbor.c — dag-cbor (the DAG-CBOR spec) over libcbor items.
 *
 * Owns: the canonical encoder (libcbor's own serializer keeps whatever
 * integer widths and map order an item has, so this one walks the item and
 * writes each head with libcbor's minimal cbor_encode_* calls, map keys
 * sorted), a structural scan that runs before libcbor sees untrusted bytes,
 * and the link (tag 42) helpers. Called by the block store (commits, CAR
 * headers, GC link walks) and the op-log. Must never hand libcbor bytes that
 * could make it allocate more than the input justifies or recurse without
 * bound: scan() refuses counts larger than the bytes left and nesting over
 * IPLD_CBOR_DEPTH_MAX first (libcbor frees and the encoder walks
 * recursively).
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "modules/ipld/ipld.h"

#define CID_TAG 42

/* ---- structural scan of untrusted bytes ---------------------------------------- */

/* Reads one head at buf[*pos]: major type, additional info and argument. */
static int read_head(const uint8_t *buf, size_t len, size_t *pos, unsigned *major, unsigned *info,
                     uint64_t *arg)
{
    size_t n;
    if (*pos >= len)
        return IPLD_EFORMAT;
    *major = buf[*pos] >> 5;
    *info = buf[*pos] & 31;
    (*pos)++;
    if (*info < 24) {
        *arg = *info;
        return 0;
    }
    if (*info > 27)
        return IPLD_EFORMAT; /* reserved, or indefinite length (31) */
    n = (size_t)1 << (*info - 24);
    if (len - *pos < n)
        return IPLD_EFORMAT;
    *arg = 0;
    for (size_t i = 0; i < n; i++)
        *arg = (*arg << 8) | buf[(*pos)++];
    return 0;
}

/*
 * Checks that buf[0..len) is exactly one well-formed item with definite
 * lengths, no tag but 42, no simple value but false/true/null, floats of any
 * width (strict decoding refuses the short ones later), nesting within
 * IPLD_CBOR_DEPTH_MAX, and no count larger than the bytes left.
 */
static int scan(const uint8_t *buf, size_t len)
{
    uint64_t left[IPLD_CBOR_DEPTH_MAX + 1];
    size_t pos = 0;
    int depth = 0;
    left[0] = 1;
    while (depth >= 0) {
        unsigned major, info;
        uint64_t arg;
        if (left[depth] == 0) {
            depth--;
            continue;
        }
        left[depth]--;
        if (read_head(buf, len, &pos, &major, &info, &arg))
            return IPLD_EFORMAT;
        switch (major) {
        case 0:
        case 1:
            break;
        case 2:
        case 3:
            if (arg > len - pos)
                return IPLD_EFORMAT;
            pos += (size_t)arg;
            break;
        case 4:
        case 5:
            if (major == 5 && arg > (len - pos) / 2)
                return IPLD_EFORMAT;
            if (arg > len - pos || depth == IPLD_CBOR_DEPTH_MAX)
                return IPLD_EFORMAT;
            left[++depth] = major == 5 ? 2 * arg : arg;
            break;
        case 6:
            if (arg != CID_TAG || depth == IPLD_CBOR_DEPTH_MAX)
                return IPLD_EFORMAT;
            left[++depth] = 1;
            break;
        default: /* 7 */
            if (info < 20 || info == 23 || info == 24)
                return IPLD_EFORMAT; /* simple values, undefined */
            break;
        }
    }
    return pos == len ? 0 : IPLD_EFORMAT; /* one object, nothing after it */
}

/* ---- canonical encoder ------------------------------------------------------------ */

typedef struct out_buf {
    uint8_t *p;
    size_t len, cap;
} out_buf;

static int reserve(out_buf *o, size_t n)
{
    if (o->cap - o->len >= n)
        return 0;
    size_t cap = o->cap ? o->cap : 64;
    while (cap - o->len < n) {
        if (cap > SIZE_MAX / 2)
            return IPLD_ENOMEM;
        cap *= 2;
    }
    uint8_t *p = realloc(o->p, cap);
    if (!p)
        return IPLD_ENOMEM;
    o->p = p, o->cap = cap;
    return 0;
}

/* Writes a head through one of libcbor's minimal-width encoders. */
static int put_head(out_buf *o, size_t (*enc)(uint64_t, unsigned char *, size_t), uint64_t v)
{
    int rc = reserve(o, 9);
    if (rc == 0)
        o->len += enc(v, o->p + o->len, 9);
    return rc;
}

static size_t enc_uint(uint64_t v, unsigned char *b, size_t n)
{
    return cbor_encode_uint(v, b, n);
}
static size_t enc_negint(uint64_t v, unsigned char *b, size_t n)
{
    return cbor_encode_negint(v, b, n);
}
static size_t enc_bytes(uint64_t v, unsigned char *b, size_t n)
{
    return cbor_encode_bytestring_start((size_t)v, b, n);
}
static size_t enc_text(uint64_t v, unsigned char *b, size_t n)
{
    return cbor_encode_string_start((size_t)v, b, n);
}
static size_t enc_array(uint64_t v, unsigned char *b, size_t n)
{
    return cbor_encode_array_start((size_t)v, b, n);
}
static size_t enc_map(uint64_t v, unsigned char *b, size_t n)
{
    return cbor_encode_map_start((size_t)v, b, n);
}
static size_t enc_tag(uint64_t v, unsigned char *b, size_t n)
{
    return cbor_encode_tag(v, b, n);
}

static int put_raw(out_buf *o, const void *p, size_t n)
{
    int rc = reserve(o, n);
    if (rc == 0 && n) {
        memcpy(o->p + o->len, p, n);
        o->len += n;
    }
    return rc;
}

static int encode_item(out_buf *o, const cbor_item_t *item, int depth);

/* Dag-cbor key order: shorter first, then bytewise (RFC 8949 4.2.1 for text). */
static int key_cmp(const void *a, const void *b)
{
    const struct cbor_pair *x = a, *y = b;
    size_t lx = cbor_string_length(x->key), ly = cbor_string_length(y->key);
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return lx ? memcmp(cbor_string_handle(x->key), cbor_string_handle(y->key), lx) : 0;
}

static int encode_map(out_buf *o, const cbor_item_t *item, int depth)
{
    size_t n = cbor_map_size(item);
    struct cbor_pair *pairs = NULL;
    int rc;
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *k = cbor_map_handle(item)[i].key;
        if (!cbor_isa_string(k) || !cbor_string_is_definite(k))
            return IPLD_EFORMAT; /* dag-cbor keys are (definite) text strings */
    }
    if (n) {
        if (!(pairs = malloc(n * sizeof *pairs)))
            return IPLD_ENOMEM;
        memcpy(pairs, cbor_map_handle(item), n * sizeof *pairs);
        qsort(pairs, n, sizeof *pairs, key_cmp);
    }
    rc = put_head(o, enc_map, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i > 0 && key_cmp(&pairs[i - 1], &pairs[i]) == 0)
            rc = IPLD_EFORMAT; /* duplicate key */
        else if ((rc = encode_item(o, pairs[i].key, depth + 1)) == 0)
            rc = encode_item(o, pairs[i].value, depth + 1);
    }
    free(pairs);
    return rc;
}

static int encode_link(out_buf *o, const cbor_item_t *item)
{
    ipld_cid cid;
    int rc = ipld_cbor_get_link(item, &cid);
    if (rc)
        return rc;
    cbor_item_t *bytes = cbor_tag_item(item);
    rc = put_head(o, enc_tag, CID_TAG);
    if (rc == 0)
        rc = put_head(o, enc_bytes, cbor_bytestring_length(bytes));
    if (rc == 0)
        rc = put_raw(o, cbor_bytestring_handle(bytes), cbor_bytestring_length(bytes));
    cbor_decref(&bytes);
    return rc;
}

static int encode_float_ctrl(out_buf *o, const cbor_item_t *item)
{
    int rc = reserve(o, 9);
    if (rc)
        return rc;
    if (cbor_float_get_width(item) == CBOR_FLOAT_0) {
        uint8_t v = cbor_ctrl_value(item);
        if (v != CBOR_CTRL_FALSE && v != CBOR_CTRL_TRUE && v != CBOR_CTRL_NULL)
            return IPLD_EFORMAT;
        o->len += cbor_encode_ctrl(v, o->p + o->len, 9);
        return 0;
    }
    double d = cbor_float_get_float(item);
    if (!isfinite(d))
        return IPLD_EFORMAT;
    o->len += cbor_encode_double(d, o->p + o->len, 9);
    return 0;
}

static int encode_item(out_buf *o, const cbor_item_t *item, int depth)
{
    int rc;
    if (depth > IPLD_CBOR_DEPTH_MAX)
        return IPLD_EFORMAT;
    switch (cbor_typeof(item)) {
    case CBOR_TYPE_UINT:
        return put_head(o, enc_uint, cbor_get_int(item));
    case CBOR_TYPE_NEGINT:
        return put_head(o, enc_negint, cbor_get_int(item));
    case CBOR_TYPE_BYTESTRING:
    case CBOR_TYPE_STRING: {
        int text = cbor_isa_string(item);
        if (text ? !cbor_string_is_definite(item) : !cbor_bytestring_is_definite(item))
            return IPLD_EFORMAT;
        size_t n = text ? cbor_string_length(item) : cbor_bytestring_length(item);
        if ((rc = put_head(o, text ? enc_text : enc_bytes, n)) != 0)
            return rc;
        return put_raw(o, text ? cbor_string_handle(item) : cbor_bytestring_handle(item), n);
    }
    case CBOR_TYPE_ARRAY:
        if ((rc = put_head(o, enc_array, cbor_array_size(item))) != 0)
            return rc;
        for (size_t i = 0; i < cbor_array_size(item); i++)
            if ((rc = encode_item(o, cbor_array_handle(item)[i], depth + 1)) != 0)
                return rc;
        return 0;
    case CBOR_TYPE_MAP:
        return encode_map(o, item, depth);
    case CBOR_TYPE_TAG:
        return encode_link(o, item);
    case CBOR_TYPE_FLOAT_CTRL:
        return encode_float_ctrl(o, item);
    }
    return IPLD_EFORMAT;
}

int ipld_cbor_encode(const cbor_item_t *item, uint8_t **out, size_t *len)
{
    out_buf o = {NULL, 0, 0};
    int rc;
    assert(item && out && len);
    if ((rc = encode_item(&o, item, 0)) != 0) {
        free(o.p);
        return rc;
    }
    *out = o.p;
    *len = o.len;
    return 0;
}

/* ---- decoder ------------------------------------------------------------------------ */

/* What scan() cannot see: key types, link contents, float values. */
static int check_item(const cbor_item_t *item)
{
    switch (cbor_typeof(item)) {
    case CBOR_TYPE_ARRAY:
        for (size_t i = 0; i < cbor_array_size(item); i++)
            if (check_item(cbor_array_handle(item)[i]))
                return IPLD_EFORMAT;
        return 0;
    case CBOR_TYPE_MAP:
        for (size_t i = 0; i < cbor_map_size(item); i++) {
            struct cbor_pair *p = &cbor_map_handle(item)[i];
            if (!cbor_isa_string(p->key) || check_item(p->value))
                return IPLD_EFORMAT;
        }
        return 0;
    case CBOR_TYPE_TAG: {
        ipld_cid cid;
        return ipld_cbor_get_link(item, &cid);
    }
    case CBOR_TYPE_FLOAT_CTRL:
        if (cbor_float_get_width(item) != CBOR_FLOAT_0 && !isfinite(cbor_float_get_float(item)))
            return IPLD_EFORMAT;
        return 0;
    default:
        return 0;
    }
}

int ipld_cbor_decode(const uint8_t *buf, size_t len, int strict, cbor_item_t **item)
{
    struct cbor_load_result res;
    cbor_item_t *it;
    int rc;
    assert(item && (buf || len == 0));
    *item = NULL;
    if ((rc = scan(buf, len)) != 0)
        return rc;
    if (!(it = cbor_load(buf, len, &res)))
        return res.error.code == CBOR_ERR_MEMERROR ? IPLD_ENOMEM : IPLD_EFORMAT;
    rc = res.read == len ? check_item(it) : IPLD_EFORMAT;
    if (rc == 0 && strict) {
        uint8_t *re;
        size_t relen;
        if ((rc = ipld_cbor_encode(it, &re, &relen)) == 0) {
            if (relen != len || memcmp(re, buf, len) != 0)
                rc = IPLD_EFORMAT; /* valid, but not the canonical bytes */
            free(re);
        }
    }
    if (rc) {
        cbor_decref(&it);
        return rc;
    }
    *item = it;
    return 0;
}

/* ---- builders and readers ------------------------------------------------------------ */

cbor_item_t *ipld_cbor_link(const ipld_cid *cid)
{
    uint8_t bin[1 + IPLD_CID_BIN_MAX];
    size_t n;
    assert(cid);
    bin[0] = 0x00; /* the multibase identity prefix dag-cbor requires */
    n = 1 + ipld_cid_to_bytes(cid, bin + 1);
    cbor_item_t *bytes = cbor_build_bytestring(bin, n);
    if (!bytes)
        return NULL;
    cbor_item_t *tag = cbor_build_tag(CID_TAG, bytes);
    cbor_decref(&bytes);
    return tag;
}

cbor_item_t *ipld_cbor_text(const char *s)
{
    assert(s);
    return cbor_build_stringn(s, strlen(s));
}

cbor_item_t *ipld_cbor_uint(uint64_t v)
{
    return cbor_build_uint64(v);
}

cbor_item_t *ipld_cbor_int(int64_t v)
{
    if (v >= 0)
        return cbor_build_uint64((uint64_t)v);
    return cbor_build_negint64((uint64_t)(-(v + 1)));
}

int ipld_cbor_map_put(cbor_item_t *map, const char *key, cbor_item_t *value)
{
    cbor_item_t *k;
    int ok;
    assert(map && cbor_isa_map(map) && key);
    if (!value)
        return IPLD_ENOMEM;
    if (!(k = ipld_cbor_text(key))) {
        cbor_decref(&value);
        return IPLD_ENOMEM;
    }
    ok = cbor_map_add(map, (struct cbor_pair){.key = k, .value = value});
    cbor_decref(&k);
    cbor_decref(&value);
    return ok ? 0 : IPLD_ENOMEM;
}

cbor_item_t *ipld_cbor_map_get(const cbor_item_t *map, const char *key)
{
    size_t klen = strlen(key);
    if (!map || !cbor_isa_map(map))
        return NULL;
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        struct cbor_pair *p = &cbor_map_handle(map)[i];
        if (cbor_isa_string(p->key) && cbor_string_is_definite(p->key) &&
            cbor_string_length(p->key) == klen &&
            (klen == 0 || memcmp(cbor_string_handle(p->key), key, klen) == 0))
            return p->value;
    }
    return NULL;
}

int ipld_cbor_get_link(const cbor_item_t *item, ipld_cid *cid)
{
    cbor_item_t *bytes;
    int rc = IPLD_EFORMAT;
    if (!item || !cbor_isa_tag(item) || cbor_tag_value(item) != CID_TAG)
        return IPLD_EFORMAT;
    bytes = cbor_tag_item(item);
    if (cbor_isa_bytestring(bytes) && cbor_bytestring_is_definite(bytes) &&
        cbor_bytestring_length(bytes) >= 1 && cbor_bytestring_handle(bytes)[0] == 0x00)
        rc = ipld_cid_from_bytes(cbor_bytestring_handle(bytes) + 1,
                                 cbor_bytestring_length(bytes) - 1, cid);
    cbor_decref(&bytes);
    return rc ? IPLD_EFORMAT : 0;
}

int ipld_cbor_get_int(const cbor_item_t *item, int64_t *v)
{
    uint64_t u;
    if (!item || !(cbor_isa_uint(item) || cbor_isa_negint(item)))
        return IPLD_EFORMAT;
    u = cbor_get_int(item);
    if (u > INT64_MAX)
        return IPLD_EFORMAT;
    *v = cbor_isa_uint(item) ? (int64_t)u : -(int64_t)u - 1;
    return 0;
}

int ipld_cbor_get_text(const cbor_item_t *item, const char **s, size_t *len)
{
    if (!item || !cbor_isa_string(item) || !cbor_string_is_definite(item))
        return IPLD_EFORMAT;
    *s = (const char *)cbor_string_handle(item);
    *len = cbor_string_length(item);
    return 0;
}

int ipld_cbor_links(const cbor_item_t *item, int (*fn)(void *arg, const ipld_cid *cid), void *arg)
{
    ipld_cid cid;
    int rc;
    switch (cbor_typeof(item)) {
    case CBOR_TYPE_TAG:
        if ((rc = ipld_cbor_get_link(item, &cid)) != 0)
            return rc;
        return fn(arg, &cid);
    case CBOR_TYPE_ARRAY:
        for (size_t i = 0; i < cbor_array_size(item); i++)
            if ((rc = ipld_cbor_links(cbor_array_handle(item)[i], fn, arg)) != 0)
                return rc;
        return 0;
    case CBOR_TYPE_MAP:
        for (size_t i = 0; i < cbor_map_size(item); i++)
            if ((rc = ipld_cbor_links(cbor_map_handle(item)[i].value, fn, arg)) != 0)
                return rc;
        return 0;
    default:
        return 0;
    }
}
