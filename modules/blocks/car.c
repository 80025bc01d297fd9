/*
 * car.c — CAR files in and out: CARv1 (the IPFS exchange format) from the
 * spec at ipld.io/specs/transport/car/carv1, and the CARv1 payload of a
 * CARv2 file on import.
 *
 * CARv1: varint(header length) ‖ dag-cbor {"roots": [CID...], "version": 1},
 * then sections varint(len(CID) + len(block)) ‖ binary CID ‖ block, to the
 * end of the stream. CARv2: the 11-byte pragma (a CARv1 header saying
 * version 2), a 40-byte header (characteristics 16 bytes, data offset u64,
 * data size u64, index offset u64, little-endian), and a CARv1 at the data
 * offset of data size bytes; the index after it is not read.
 *
 * Owns: the CAR encoding and the export walk. The walk is a depth-first
 * pre-order from each root in turn, links in encoding order, each block
 * once (as go-car's and kubo's `dag export`), with the work stack and the
 * set of blocks written in scratch buckets ("car.todo", "car.seen") of a
 * write transaction that is aborted at the end: memory holds one block and
 * its links whatever the DAG's size. Sections carry the CID as the parent
 * linked it (a Qm... link stays CIDv0). Called by the API (CLI import and
 * export, the gateway). Must never store a block that does not hash to the
 * CID of its section, nor read past a section or the header's limits.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/store.h"

#define NAME(s) s, sizeof(s) - 1
#define CAR_HEADER_MAX (32u << 20) /* go-car's limit */
#define CAR_READ_BUF (64u << 10)

/* ---- the stream reader ----------------------------------------------------------- */

typedef struct car_in {
    long (*read)(void *arg, void *buf, size_t len);
    void *arg;
    uint8_t *buf;
    size_t pos, len;
    uint64_t offset; /* bytes consumed so far */
    uint64_t limit;  /* consume no further (CARv2 data size), UINT64_MAX = none */
    int eof, err;
} car_in;

static int in_fill(car_in *in)
{
    if (in->pos < in->len)
        return 0;
    if (in->eof)
        return 1;
    long n = in->read(in->arg, in->buf, CAR_READ_BUF);
    if (n < 0) {
        in->err = 1;
        return -1;
    }
    in->pos = 0;
    in->len = (size_t)n;
    if (n == 0)
        in->eof = 1;
    return n == 0 ? 1 : 0;
}

/* Up to n bytes into out (NULL skips them); returns what it got, or -1. */
static long in_get(car_in *in, void *out, size_t n)
{
    size_t got = 0;
    if (in->limit - in->offset < n)
        n = (size_t)(in->limit - in->offset);
    while (got < n) {
        int f = in_fill(in);
        if (f < 0)
            return -1;
        if (f > 0)
            break;
        size_t k = in->len - in->pos;
        if (k > n - got)
            k = n - got;
        if (out)
            memcpy((uint8_t *)out + got, in->buf + in->pos, k);
        in->pos += k;
        got += k;
    }
    in->offset += got;
    return (long)got;
}

/* A varint; 1 at a clean end of the stream (before its first byte). */
static int in_varint(car_in *in, uint64_t *v)
{
    uint8_t b[IPLD_VARINT_MAX];
    size_t n = 0, used;
    for (;;) {
        long g = in_get(in, b + n, 1);
        if (g < 0)
            return FFDB_EIO;
        if (g == 0)
            return n == 0 ? 1 : IPLD_EFORMAT;
        if (!(b[n++] & 0x80))
            break;
        if (n == IPLD_VARINT_MAX)
            return IPLD_EFORMAT;
    }
    return ipld_varint_get(b, n, v, &used) ? IPLD_EFORMAT : 0;
}

/* ---- import ------------------------------------------------------------------------ */

/* Decodes a header: its version, and (version 1) its roots into info. */
static int parse_header(const uint8_t *h, size_t len, int *version, blocks_car_info *info)
{
    cbor_item_t *item, *ver, *roots;
    int64_t v;
    int rc = ipld_cbor_decode(h, len, 0, &item);
    if (rc)
        return rc == IPLD_ENOMEM ? rc : IPLD_EFORMAT;
    rc = IPLD_EFORMAT;
    if (!cbor_isa_map(item) || !(ver = ipld_cbor_map_get(item, "version")) ||
        ipld_cbor_get_int(ver, &v) != 0)
        goto out;
    *version = (int)v;
    if (v == 2) {
        rc = cbor_map_size(item) == 1 ? 0 : IPLD_EFORMAT;
        goto out;
    }
    if (v != 1 || !(roots = ipld_cbor_map_get(item, "roots")) || !cbor_isa_array(roots) ||
        !cbor_array_is_definite(roots))
        goto out;
    size_t n = cbor_array_size(roots);
    if (n == 0)
        goto out; /* the spec: at least one root */
    if (info) {
        if (!(info->roots = calloc(n, sizeof *info->roots))) {
            rc = IPLD_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            cbor_item_t *r = cbor_array_get(roots, i);
            int g = ipld_cbor_get_link(r, &info->roots[i]);
            cbor_decref(&r);
            if (g)
                goto out;
            info->root_count++;
        }
    }
    rc = 0;
out:
    cbor_decref(&item);
    return rc;
}

static int read_header(car_in *in, int *version, blocks_car_info *info)
{
    uint64_t hlen;
    uint8_t *h;
    int rc = in_varint(in, &hlen);
    if (rc)
        return rc == 1 ? IPLD_EFORMAT : rc;
    if (hlen == 0 || hlen > CAR_HEADER_MAX)
        return IPLD_EFORMAT;
    if (!(h = malloc(hlen)))
        return FFDB_ENOMEM;
    long g = in_get(in, h, hlen);
    rc = g < 0 ? FFDB_EIO : (uint64_t)g != hlen ? IPLD_EFORMAT : parse_header(h, hlen, version, info);
    free(h);
    return rc;
}

/* After the CARv2 pragma: its header, then position at the CARv1 payload
 * and bound the reader to it. */
static int enter_v2(car_in *in)
{
    uint8_t h[40];
    long g = in_get(in, h, sizeof h);
    if (g < 0)
        return FFDB_EIO;
    if (g != sizeof h)
        return IPLD_EFORMAT;
    uint64_t data_offset = le64(h + 16), data_size = le64(h + 24);
    if (data_offset < in->offset || data_size > UINT64_MAX - data_offset)
        return IPLD_EFORMAT;
    uint64_t skip = data_offset - in->offset;
    while (skip > 0) {
        size_t step = skip > CAR_READ_BUF ? CAR_READ_BUF : (size_t)skip;
        if ((g = in_get(in, NULL, step)) < 0)
            return FFDB_EIO;
        if ((size_t)g != step)
            return IPLD_EFORMAT;
        skip -= step;
    }
    in->limit = data_offset + data_size;
    return 0;
}

void blocks_car_info_free(blocks_car_info *info)
{
    if (!info)
        return;
    free(info->roots);
    memset(info, 0, sizeof *info);
}

static int import_sections(blocks *bs, car_in *in, blocks_car_info *info)
{
    blocks_batch *batch = NULL;
    uint8_t *sec = NULL;
    size_t cap = 0;
    int rc;
    for (;;) {
        uint64_t slen;
        ipld_cid cid;
        size_t used;
        if ((rc = in_varint(in, &slen)) != 0) {
            if (rc == 1)
                rc = in->limit != UINT64_MAX && in->offset != in->limit ? IPLD_EFORMAT : 0;
            break;
        }
        if (slen == 0 || slen > BLOCKS_MAX_BLOCK_SIZE + IPLD_CID_BIN_MAX) {
            rc = slen == 0 ? IPLD_EFORMAT : BLOCKS_ELIMIT;
            break;
        }
        if (slen > cap) {
            uint8_t *p = realloc(sec, slen);
            if (!p) {
                rc = FFDB_ENOMEM;
                break;
            }
            sec = p;
            cap = slen;
        }
        long g = in_get(in, sec, slen);
        if (g < 0 || (uint64_t)g != slen) {
            rc = g < 0 ? FFDB_EIO : IPLD_EFORMAT;
            break;
        }
        if ((rc = ipld_cid_read(sec, slen, &cid, &used)) != 0) {
            rc = IPLD_EFORMAT;
            break;
        }
        if (!batch && (rc = blocks_batch_begin(bs, &batch)) != 0)
            break;
        if ((rc = blocks_batch_put(batch, &cid, sec + used, slen - used)) != 0)
            break;
        info->blocks++;
        info->bytes += slen - used;
        if (blocks_batch_count(batch) >= BATCH_BLOCKS || blocks_batch_bytes(batch) >= BATCH_BYTES) {
            rc = blocks_batch_commit(batch);
            batch = NULL;
            if (rc)
                break;
        }
    }
    free(sec);
    if (batch)
        rc = rc ? (blocks_batch_abort(batch), rc) : blocks_batch_commit(batch);
    return rc;
}

int blocks_car_import(blocks *bs, long (*read)(void *arg, void *buf, size_t len), void *arg,
                      int pin_roots, blocks_car_info *info)
{
    car_in in = {read, arg, NULL, 0, 0, 0, UINT64_MAX, 0, 0};
    int version = 0, rc;
    memset(info, 0, sizeof *info);
    if (bs->batch)
        return BLOCKS_EBUSY;
    if (!(in.buf = malloc(CAR_READ_BUF)))
        return FFDB_ENOMEM;
    rc = read_header(&in, &version, info);
    if (rc == 0 && version == 2) {
        blocks_car_info_free(info);
        if ((rc = enter_v2(&in)) == 0 && (rc = read_header(&in, &version, info)) == 0 &&
            version != 1)
            rc = IPLD_EFORMAT;
    }
    if (rc == 0)
        rc = import_sections(bs, &in, info);
    for (size_t i = 0; rc == 0 && pin_roots && i < info->root_count; i++)
        rc = blocks_pin(bs, &info->roots[i], 1);
    free(in.buf);
    if (rc)
        blocks_car_info_free(info);
    return rc;
}

/* ---- export ------------------------------------------------------------------------ */

typedef struct car_out {
    blocks *bs;
    wtx w;
    ffdb_bucket *todo, *seen;
    uint64_t seq; /* next stack key: the largest is on top */
    int (*write)(void *arg, const void *p, size_t n);
    void *arg;
    uint64_t blocks;
    /* the links of the block being expanded, pushed in reverse */
    ipld_cid *links;
    size_t nlinks, cap;
    int scope;   /* BLOCKS_SCOPE_... */
    int at_root; /* the next block visited is a root (scope decisions) */
    int follow;  /* push the links of visited blocks */
} car_out;

/* A UnixFS file's root: raw, or dag-pb whose Data is a File or Raw node
 * (dag-scope=entity follows those whole; a directory stays one block). */
int car_is_file(const ipld_cid *cid, const void *data, size_t len)
{
    ipld_pb_node node;
    ipld_unixfs u;
    int file = 0;
    if (cid->codec == IPLD_CODEC_RAW)
        return 1;
    if (cid->codec != IPLD_CODEC_DAG_PB || ipld_pb_decode(data, len, &node) != 0)
        return 0;
    if (node.has_data && ipld_unixfs_decode(node.data, node.data_len, &u) == 0) {
        file = u.type == IPLD_UNIXFS_FILE || u.type == IPLD_UNIXFS_RAW;
        ipld_unixfs_free(&u);
    }
    ipld_pb_node_free(&node);
    return file;
}

static int push(car_out *o, const ipld_cid *cid)
{
    uint8_t k[8], v[IPLD_CID_BIN_MAX];
    for (int i = 0; i < 8; i++)
        k[i] = (uint8_t)(o->seq >> (56 - 8 * i));
    o->seq++;
    return ffdb_put(o->todo, k, 8, v, ipld_cid_to_bytes(cid, v));
}

static int collect_link(void *arg, const ipld_cid *cid)
{
    car_out *o = arg;
    if (o->nlinks == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 64;
        ipld_cid *p = realloc(o->links, cap * sizeof *p);
        if (!p)
            return FFDB_ENOMEM;
        o->links = p;
        o->cap = cap;
    }
    o->links[o->nlinks++] = *cid;
    return 0;
}

static int put_out(car_out *o, const void *p, size_t n)
{
    return n == 0 || o->write(o->arg, p, n) == 0 ? 0 : FFDB_EIO;
}

/* Pops the top of the stack; 1 when it is empty. */
static int pop(car_out *o, ipld_cid *cid)
{
    ffdb_cursor *cur;
    ffdb_val k, v;
    uint8_t key[8];
    int rc = ffdb_cursor_open(o->todo, &cur);
    if (rc)
        return rc;
    rc = ffdb_cursor_last(cur, &k, &v);
    if (rc == 0) {
        if (k.size != 8 || ipld_cid_from_bytes(v.data, v.size, cid) != 0)
            rc = BLOCKS_ESTATE;
        else
            memcpy(key, k.data, 8);
    }
    ffdb_cursor_close(cur);
    if (rc == FFDB_NOTFOUND)
        return 1;
    return rc ? rc : ffdb_delete(o->todo, key, 8);
}

/* Writes one section and pushes its links; a block already written is skipped. */
static int visit(car_out *o, const ipld_cid *cid)
{
    uint8_t key[KEY_MAX], cb[IPLD_CID_BIN_MAX], vb[IPLD_VARINT_MAX];
    size_t klen = store_key(cid, key), clen, len;
    ffdb_val v;
    void *data;
    int rc;
    if (cid->mh_code == IPLD_MH_IDENTITY) {
        o->at_root = 0; /* its bytes are in the CID: never a section (trustless gateway spec) */
        return 0;
    }
    if ((rc = ffdb_get(o->seen, key, klen, &v)) != FFDB_NOTFOUND)
        return rc;
    if ((rc = store_read_from(o->bs, o->w.index, o->w.blocks, key, klen, &data, &len)) != 0)
        return rc;
    if ((rc = ipld_cid_verify(cid, data, len)) != 0 && rc != IPLD_EUNSUPPORTED) {
        free(data);
        return rc;
    }
    clen = ipld_cid_to_bytes(cid, cb);
    if ((rc = ffdb_put(o->seen, key, klen, "", 0)) == 0 &&
        (rc = put_out(o, vb, ipld_varint_put(vb, clen + len))) == 0 &&
        (rc = put_out(o, cb, clen)) == 0 && (rc = put_out(o, data, len)) == 0) {
        o->blocks++;
        o->nlinks = 0;
        if (o->at_root && o->scope != BLOCKS_SCOPE_ALL)
            o->follow = o->scope == BLOCKS_SCOPE_ENTITY && car_is_file(cid, data, len);
        o->at_root = 0;
        if (o->follow)
            rc = blocks_links(cid->codec, data, len, collect_link, o);
        if (rc == IPLD_EUNSUPPORTED)
            rc = 0; /* written; its links, if any, are unknown */
        for (size_t i = o->nlinks; rc == 0 && i > 0; i--)
            rc = push(o, &o->links[i - 1]);
    }
    free(data);
    return rc;
}

int car_header(const ipld_cid *roots, size_t n, uint8_t **out, size_t *len)
{
    cbor_item_t *map = cbor_new_definite_map(2), *arr = cbor_new_definite_array(n);
    uint8_t *h = NULL, vb[IPLD_VARINT_MAX];
    size_t hlen, vlen;
    int rc = IPLD_ENOMEM;
    if (n == 0) {
        rc = IPLD_EFORMAT;
        goto out;
    }
    if (!map || !arr)
        goto out;
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *l = ipld_cbor_link(&roots[i]);
        if (!l || !cbor_array_push(arr, l)) {
            if (l)
                cbor_decref(&l);
            goto out;
        }
        cbor_decref(&l);
    }
    rc = ipld_cbor_map_put(map, "roots", arr);
    arr = NULL;
    if (rc || (rc = ipld_cbor_map_put(map, "version", ipld_cbor_uint(1))) != 0 ||
        (rc = ipld_cbor_encode(map, &h, &hlen)) != 0)
        goto out;
    vlen = ipld_varint_put(vb, hlen);
    if (!(*out = malloc(vlen + hlen))) {
        rc = IPLD_ENOMEM;
        goto out;
    }
    memcpy(*out, vb, vlen);
    memcpy(*out + vlen, h, hlen);
    *len = vlen + hlen;
    rc = 0;
out:
    free(h);
    if (map)
        cbor_decref(&map);
    if (arr)
        cbor_decref(&arr);
    return rc;
}

int blocks_car_export(blocks *bs, const ipld_cid *roots, size_t n,
                      int (*write)(void *arg, const void *p, size_t n), void *arg,
                      uint64_t *count)
{
    return blocks_car_export_scope(bs, roots, n, BLOCKS_SCOPE_ALL, write, arg, count);
}

int blocks_car_export_scope(blocks *bs, const ipld_cid *roots, size_t n, int scope,
                            int (*write)(void *arg, const void *p, size_t n), void *arg,
                            uint64_t *count)
{
    car_out o = {.bs = bs, .write = write, .arg = arg, .scope = scope};
    uint8_t *h = NULL;
    size_t hlen = 0;
    int rc;
    if (count)
        *count = 0;
    if (bs->batch)
        return BLOCKS_EBUSY;
    for (size_t i = 0; i < n; i++)
        if ((rc = ipld_cid_validate(&roots[i])) != 0)
            return rc;
    if ((rc = car_header(roots, n, &h, &hlen)) != 0)
        return rc;
    rc = write(arg, h, hlen) == 0 ? 0 : FFDB_EIO;
    free(h);
    if (rc || (rc = wtx_begin(bs, &o.w)) != 0)
        return rc;
    ffdb_bucket_drop(o.w.txn, NAME("car.todo")); /* none: scratch buckets are never committed */
    ffdb_bucket_drop(o.w.txn, NAME("car.seen"));
    if ((rc = ffdb_bucket_create(o.w.txn, NAME("car.todo"), &o.todo)) == 0)
        rc = ffdb_bucket_create(o.w.txn, NAME("car.seen"), &o.seen);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        ipld_cid cid;
        o.at_root = 1;
        o.follow = scope == BLOCKS_SCOPE_ALL;
        if ((rc = push(&o, &roots[i])) != 0)
            break;
        while ((rc = pop(&o, &cid)) == 0)
            if ((rc = visit(&o, &cid)) != 0)
                break;
        if (rc == 1)
            rc = 0;
    }
    wtx_abort(&o.w); /* the scratch buckets go with it */
    free(o.links);
    if (count)
        *count = o.blocks;
    return rc;
}
