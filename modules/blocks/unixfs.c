/*
 * unixfs.c — the UnixFS file importer and exporter (`ffdb-blocks add`,
 * `cat`), built to give the CIDs kubo's `ipfs add` gives.
 *
 * Owns: the fixed-size chunker and the balanced layout of kubo's importer
 * (boxo ipld/unixfs/importer/balanced), reproduced exactly:
 *
 *   if the input is empty:       root = leaf(nothing)
 *   else root = leaf(first chunk), and while input remains, for depth =
 *   1, 2, ...: root = fill(node with root as its first child, depth), where
 *   fill(node, d) adds children — leaves when d = 1, fill(new node, d - 1)
 *   otherwise — until the node has max_links or the input ends.
 *
 * So a one-chunk file is its leaf; 175 chunks with 174 links give a root
 * with 2 links over a full node and a node with one leaf. A leaf is either a
 * raw block (raw leaves) or dag-pb { Data: UnixFS { Type: File, Data: chunk,
 * filesize } } (the empty file: no Data field, filesize 0). An inner node is
 * dag-pb { Links: [{ Hash, Name: "", Tsize }...], Data: UnixFS { Type: File,
 * filesize, blocksizes: [child file sizes] } }, where Tsize is the child's
 * block size plus its own links' Tsizes. Memory: one chunk and one node of
 * max_links children per level. Called by the API (CLI add, cat). Must never
 * emit a block it has not hashed, nor return bytes from cat that did not
 * verify against their CID.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/store.h"

#define DEFAULT_CHUNK 262144u
#define DEFAULT_LINKS 174u
#define MAX_CHUNK (1u << 24)

typedef struct child {
    ipld_cid cid;
    uint64_t tsize, filesize;
} child;

typedef struct adder {
    blocks *bs;
    blocks_batch *batch;
    blocks_add_options o;
    long (*read)(void *arg, void *buf, size_t len);
    void *arg;
    uint8_t *chunk; /* the next chunk, read ahead (Done() needs to know) */
    size_t chunk_len;
    int have_chunk, eof;
    uint64_t total;
    uint8_t *enc; /* encoding buffer for inner nodes and dag-pb leaves */
    size_t enc_cap;
    uint8_t *udata; /* their UnixFS Data */
    size_t udata_cap;
} adder;

/* Reads the next chunk ahead: full chunks until the input ends. */
static int read_ahead(adder *a)
{
    a->chunk_len = 0;
    while (!a->eof && a->chunk_len < a->o.chunk_size) {
        long n = a->read(a->arg, a->chunk + a->chunk_len, a->o.chunk_size - a->chunk_len);
        if (n < 0)
            return FFDB_EIO;
        if (n == 0)
            a->eof = 1;
        a->chunk_len += (size_t)n;
    }
    a->have_chunk = a->chunk_len > 0;
    return 0;
}

static int done(const adder *a)
{
    return !a->have_chunk;
}

static int store_block(adder *a, const ipld_cid *cid, const void *data, size_t len)
{
    int rc;
    if (a->o.only_hash)
        return 0;
    if (!a->batch && (rc = blocks_batch_begin(a->bs, &a->batch)) != 0)
        return rc;
    if ((rc = blocks_batch_put(a->batch, cid, data, len)) != 0)
        return rc;
    if (blocks_batch_count(a->batch) >= BATCH_BLOCKS ||
        blocks_batch_bytes(a->batch) >= BATCH_BYTES) {
        rc = blocks_batch_commit(a->batch);
        a->batch = NULL;
    }
    return rc;
}

static int reserve(uint8_t **buf, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    uint8_t *p = realloc(*buf, n);
    if (!p)
        return FFDB_ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

/* Encodes a dag-pb node whose Data is u and stores it; out gets its CID
 * and Tsize (its bytes plus its links' Tsizes, as kubo counts). The UnixFS
 * bytes go to udata, the node to enc (both grown as needed). */
static int emit_pb(adder *a, const ipld_unixfs *u, ipld_pb_link *links, size_t nlinks, child *out)
{
    size_t ulen = ipld_unixfs_encoded_size(u), dlen, len;
    int rc;
    if ((rc = reserve(&a->udata, &a->udata_cap, ulen)) != 0 ||
        (rc = ipld_unixfs_encode(u, a->udata, a->udata_cap, &dlen)) != 0)
        return rc;
    ipld_pb_node node = {links, nlinks, a->udata, dlen, 1};
    if ((rc = reserve(&a->enc, &a->enc_cap, ipld_pb_encoded_size(&node))) != 0 ||
        (rc = ipld_pb_encode(&node, a->enc, a->enc_cap, &len)) != 0 ||
        (rc = ipld_cid_of(a->o.cid_version, IPLD_CODEC_DAG_PB, a->o.mh_code, a->enc, len,
                          &out->cid)) != 0)
        return rc;
    out->tsize = len;
    for (size_t i = 0; i < nlinks; i++)
        out->tsize += links[i].tsize;
    return store_block(a, &out->cid, a->enc, len);
}

/* The chunk read ahead becomes a leaf; the next one is read. */
static int make_leaf(adder *a, child *out)
{
    int rc;
    out->filesize = a->chunk_len;
    a->total += a->chunk_len;
    if (a->o.raw_leaves) {
        if ((rc =
                 ipld_cid_of(1, IPLD_CODEC_RAW, a->o.mh_code, a->chunk, a->chunk_len, &out->cid)) ||
            (rc = store_block(a, &out->cid, a->chunk, a->chunk_len)))
            return rc;
        out->tsize = a->chunk_len;
    } else {
        ipld_unixfs u = {.type = IPLD_UNIXFS_FILE,
                         .data = a->chunk,
                         .data_len = a->chunk_len,
                         .has_data = a->have_chunk,
                         .filesize = a->chunk_len,
                         .has_filesize = 1};
        if ((rc = emit_pb(a, &u, NULL, 0, out)) != 0)
            return rc;
    }
    return a->have_chunk ? read_ahead(a) : 0;
}

/* Commits an inner node over kids. */
static int make_inner(adder *a, const child *kids, size_t n, child *out)
{
    ipld_pb_link *links = calloc(n, sizeof *links);
    uint64_t *sizes = calloc(n, sizeof *sizes);
    int rc;
    if (!links || !sizes) {
        free(links);
        free(sizes);
        return FFDB_ENOMEM;
    }
    out->filesize = 0;
    for (size_t i = 0; i < n; i++) {
        links[i].cid = kids[i].cid;
        links[i].name = (const uint8_t *)"";
        links[i].has_name = 1; /* kubo writes the empty Name (12 00) */
        links[i].tsize = kids[i].tsize;
        links[i].has_tsize = 1;
        sizes[i] = kids[i].filesize;
        out->filesize += kids[i].filesize;
    }
    ipld_unixfs u = {.type = IPLD_UNIXFS_FILE,
                     .filesize = out->filesize,
                     .has_filesize = 1,
                     .blocksizes = sizes,
                     .blocksize_count = n};
    rc = emit_pb(a, &u, links, n, out);
    free(links);
    free(sizes);
    return rc;
}

/* fill(node, depth): kids[0..*n) already there. */
static int fill(adder *a, child *kids, size_t n, unsigned depth, child *out)
{
    int rc = 0;
    while (rc == 0 && n < a->o.max_links && !done(a)) {
        if (depth == 1) {
            rc = make_leaf(a, &kids[n]);
        } else {
            child *sub = malloc(a->o.max_links * sizeof *sub);
            if (!sub)
                return FFDB_ENOMEM;
            rc = fill(a, sub, 0, depth - 1, &kids[n]);
            free(sub);
        }
        n++;
    }
    return rc ? rc : make_inner(a, kids, n, out);
}

static int layout(adder *a, child *root)
{
    int rc;
    if ((rc = read_ahead(a)) != 0)
        return rc;
    if ((rc = make_leaf(a, root)) != 0) /* the empty file: a leaf of nothing */
        return rc;
    for (unsigned depth = 1; rc == 0 && !done(a); depth++) {
        child *kids = malloc(a->o.max_links * sizeof *kids);
        if (!kids)
            return FFDB_ENOMEM;
        kids[0] = *root;
        rc = fill(a, kids, 1, depth, root);
        free(kids);
    }
    return rc;
}

static int normalize(blocks_add_options *o)
{
    if (o->mh_code == 0)
        o->mh_code = IPLD_MH_SHA2_256;
    if (o->mh_code != IPLD_MH_SHA2_256)
        o->cid_version = 1; /* kubo: another hash implies CIDv1 */
    if (o->cid_version > 1)
        return FFDB_EINVAL;
    if (o->raw_leaves < 0)
        o->raw_leaves = o->cid_version == 1;
    if (o->chunk_size == 0)
        o->chunk_size = DEFAULT_CHUNK;
    if (o->max_links == 0)
        o->max_links = DEFAULT_LINKS;
    if (o->chunk_size > MAX_CHUNK || o->max_links < 2)
        return FFDB_EINVAL;
    return ipld_mh_digest_size(o->mh_code) > 0 ? 0 : IPLD_EUNSUPPORTED;
}

int blocks_add(blocks *bs, long (*read)(void *arg, void *buf, size_t len), void *arg,
               const blocks_add_options *opt, ipld_cid *root, uint64_t *size)
{
    adder a = {.bs = bs, .read = read, .arg = arg};
    child r;
    int rc;
    a.o = opt ? *opt : (blocks_add_options){.raw_leaves = -1, .pin = 1};
    if ((rc = normalize(&a.o)) != 0)
        return rc;
    if (!a.o.only_hash && (!bs || bs->batch))
        return bs ? BLOCKS_EBUSY : FFDB_EINVAL;
    if (!(a.chunk = malloc(a.o.chunk_size)))
        return FFDB_ENOMEM;
    rc = layout(&a, &r);
    if (a.batch)
        rc = rc ? (blocks_batch_abort(a.batch), rc) : blocks_batch_commit(a.batch);
    free(a.chunk);
    free(a.enc);
    free(a.udata);
    if (rc == 0 && a.o.pin && !a.o.only_hash)
        rc = blocks_pin(bs, &r.cid, 1);
    if (rc == 0) {
        *root = r.cid;
        if (size)
            *size = a.total;
    }
    return rc;
}

/* ---- cat ----------------------------------------------------------------------------------- */

typedef struct catter {
    blocks *bs;
    int (*write)(void *arg, const void *p, size_t n);
    void *arg;
} catter;

/* Writes the file under cid; *produced = its bytes. */
static int cat_node(catter *c, const ipld_cid *cid, unsigned depth, uint64_t *produced)
{
    void *data;
    size_t len;
    int rc;
    *produced = 0;
    if (depth > CAT_DEPTH_MAX)
        return IPLD_EFORMAT;
    if ((rc = blocks_get(c->bs, cid, 1, &data, &len)) != 0)
        return rc;
    if (cid->codec == IPLD_CODEC_RAW) {
        rc = c->write(c->arg, data, len) ? FFDB_EIO : 0;
        *produced = len;
        free(data);
        return rc;
    }
    ipld_pb_node node;
    ipld_unixfs u;
    if (cid->codec != IPLD_CODEC_DAG_PB) {
        free(data);
        return IPLD_EFORMAT;
    }
    if ((rc = ipld_pb_decode(data, len, &node)) != 0) {
        free(data);
        return rc;
    }
    rc = node.has_data ? ipld_unixfs_decode(node.data, node.data_len, &u) : IPLD_EFORMAT;
    if (rc == 0) {
        if ((u.type != IPLD_UNIXFS_FILE && u.type != IPLD_UNIXFS_RAW) ||
            (u.blocksize_count && u.blocksize_count != node.link_count))
            rc = IPLD_EFORMAT;
        if (rc == 0 && u.has_data && u.data_len) {
            rc = c->write(c->arg, u.data, u.data_len) ? FFDB_EIO : 0;
            *produced = u.data_len;
        }
        for (size_t i = 0; rc == 0 && i < node.link_count; i++) {
            uint64_t part;
            rc = cat_node(c, &node.links[i].cid, depth + 1, &part);
            if (rc == 0 && u.blocksize_count && part != u.blocksizes[i])
                rc = IPLD_EFORMAT; /* the DAG disagrees with its own metadata */
            *produced += part;
        }
        if (rc == 0 && u.has_filesize && u.filesize != *produced)
            rc = IPLD_EFORMAT;
        ipld_unixfs_free(&u);
    }
    ipld_pb_node_free(&node);
    free(data);
    return rc;
}

int blocks_cat(blocks *bs, const ipld_cid *root, int (*write)(void *arg, const void *p, size_t n),
               void *arg)
{
    catter c = {bs, write, arg};
    uint64_t n;
    return cat_node(&c, root, 0, &n);
}
