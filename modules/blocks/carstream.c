/*
 * carstream.c — a CARv1 of one DAG produced piece by piece
 * (blocks_car_stream_*), for the gateway's streamed responses.
 *
 * Owns: the export walk of car.c (depth-first pre-order, links in encoding
 * order, each block once, the dag-scope rules) kept in memory between
 * calls instead of in scratch buckets of a write transaction, so that a
 * slow client holds neither the store's write lock nor a read transaction:
 * the work stack is an array of CIDs, the set of blocks written a table of
 * 16-byte BLAKE2b digests of their keys (a false "seen" needs a 128-bit
 * collision), at most BLOCKS_CAR_STREAM_MAX entries. Each block is one
 * blocks_get. Must never: write a section whose block did not verify, nor
 * the same block twice.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/store.h"

#define SEEN_BYTES 16

struct blocks_car_stream {
    blocks *bs;
    int scope, follow, at_root, missing, err;
    uint8_t *out; /* the pending bytes: the header, then one section at a time */
    size_t out_len, out_pos;
    ipld_cid *stack; /* the top is the last */
    size_t depth, stack_cap;
    uint8_t (*seen)[SEEN_BYTES]; /* open addressing; all zero = empty */
    size_t seen_n, seen_cap;     /* seen_cap a power of two */
    ipld_cid *links;             /* the links of the block being expanded */
    size_t nlinks, links_cap;
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return FFDB_ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

static uint64_t slot_hash(const uint8_t *h)
{
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return v;
}

/* 1 if key was in the set already, 0 if added now, or an error. */
static int seen_add(blocks_car_stream *s, const uint8_t *key, size_t klen)
{
    uint8_t h[SEEN_BYTES];
    crypto_generichash(h, sizeof h, key, klen, NULL, 0);
    h[0] |= 1; /* never all zero */
    if (2 * (s->seen_n + 1) > s->seen_cap) {
        size_t cap = s->seen_cap ? 2 * s->seen_cap : 1024;
        uint8_t(*t)[SEEN_BYTES];
        if (s->seen_n >= BLOCKS_CAR_STREAM_MAX)
            return BLOCKS_ELIMIT;
        if (!(t = calloc(cap, SEEN_BYTES)))
            return FFDB_ENOMEM;
        for (size_t i = 0; i < s->seen_cap; i++)
            if (s->seen[i][0]) {
                size_t j = slot_hash(s->seen[i]) & (cap - 1);
                while (t[j][0])
                    j = (j + 1) & (cap - 1);
                memcpy(t[j], s->seen[i], SEEN_BYTES);
            }
        free(s->seen);
        s->seen = t;
        s->seen_cap = cap;
    }
    size_t j = slot_hash(h) & (s->seen_cap - 1);
    for (; s->seen[j][0]; j = (j + 1) & (s->seen_cap - 1))
        if (memcmp(s->seen[j], h, SEEN_BYTES) == 0)
            return 1;
    memcpy(s->seen[j], h, SEEN_BYTES);
    s->seen_n++;
    return 0;
}

static int collect(void *arg, const ipld_cid *cid)
{
    blocks_car_stream *s = arg;
    int rc = grow((void **)&s->links, &s->links_cap, s->nlinks + 1, sizeof *s->links);
    if (rc == 0)
        s->links[s->nlinks++] = *cid;
    return rc;
}

/* Visits cid: 1 with a section in out, 0 if it gives none (written already,
 * identity), or an error (FFDB_NOTFOUND: not stored). */
static int visit(blocks_car_stream *s, const ipld_cid *cid)
{
    uint8_t key[KEY_MAX], cb[IPLD_CID_BIN_MAX], vb[IPLD_VARINT_MAX];
    size_t klen = store_key(cid, key), clen, vlen, len;
    void *data;
    int rc;
    if (cid->mh_code == IPLD_MH_IDENTITY) {
        s->at_root = 0; /* its bytes are in the CID: never a section */
        return 0;
    }
    if ((rc = seen_add(s, key, klen)) != 0)
        return rc == 1 ? 0 : rc;
    if ((rc = blocks_get(s->bs, cid, 0, &data, &len)) != 0)
        return rc;
    if ((rc = ipld_cid_verify(cid, data, len)) != 0 && rc != IPLD_EUNSUPPORTED) {
        free(data);
        return rc;
    }
    clen = ipld_cid_to_bytes(cid, cb);
    vlen = ipld_varint_put(vb, clen + len);
    free(s->out);
    if (!(s->out = malloc(vlen + clen + len))) {
        free(data);
        return FFDB_ENOMEM;
    }
    memcpy(s->out, vb, vlen);
    memcpy(s->out + vlen, cb, clen);
    memcpy(s->out + vlen + clen, data, len);
    s->out_len = vlen + clen + len;
    s->out_pos = 0;
    if (s->at_root && s->scope != BLOCKS_SCOPE_ALL)
        s->follow = s->scope == BLOCKS_SCOPE_ENTITY && car_is_file(cid, data, len);
    s->at_root = 0;
    s->nlinks = 0;
    rc = s->follow ? blocks_links(cid->codec, data, len, collect, s) : 0;
    free(data);
    if (rc == IPLD_EUNSUPPORTED)
        rc = 0; /* written; its links, if any, are unknown */
    if (rc == 0)
        rc = grow((void **)&s->stack, &s->stack_cap, s->depth + s->nlinks, sizeof *s->stack);
    for (size_t i = s->nlinks; rc == 0 && i > 0; i--)
        s->stack[s->depth++] = s->links[i - 1];
    return rc ? rc : 1;
}

int blocks_car_stream_open(blocks *bs, const ipld_cid *root, int scope, blocks_car_stream **out)
{
    blocks_car_stream *s;
    int rc;
    *out = NULL;
    if (scope < BLOCKS_SCOPE_ALL || scope > BLOCKS_SCOPE_ENTITY)
        return FFDB_EINVAL;
    if ((rc = ipld_cid_validate(root)) != 0)
        return rc;
    if (root->mh_code != IPLD_MH_IDENTITY && (rc = blocks_has(bs, root)) != 1)
        return rc == 0 ? FFDB_NOTFOUND : rc;
    if (!(s = calloc(1, sizeof *s)))
        return FFDB_ENOMEM;
    s->bs = bs;
    s->scope = scope;
    s->at_root = 1;
    s->follow = scope == BLOCKS_SCOPE_ALL;
    if ((rc = car_header(root, 1, &s->out, &s->out_len)) != 0 ||
        (rc = grow((void **)&s->stack, &s->stack_cap, 1, sizeof *s->stack)) != 0) {
        blocks_car_stream_close(s);
        return rc;
    }
    s->stack[s->depth++] = *root;
    *out = s;
    return 0;
}

long blocks_car_stream_read(blocks_car_stream *s, void *buf, size_t cap)
{
    size_t got = 0;
    while (!s->err && got < cap) {
        if (s->out_pos < s->out_len) {
            size_t n = s->out_len - s->out_pos;
            n = n < cap - got ? n : cap - got;
            memcpy((char *)buf + got, s->out + s->out_pos, n);
            s->out_pos += n;
            got += n;
            continue;
        }
        if (s->depth == 0)
            break;
        ipld_cid cid = s->stack[--s->depth];
        int rc = visit(s, &cid);
        if (rc == FFDB_NOTFOUND) {
            s->missing = 1; /* the CAR ends here: the client sees the DAG incomplete */
            s->depth = 0;
        } else if (rc < 0) {
            s->err = rc;
        }
    }
    return got || !s->err ? (long)got : s->err; /* bytes first, the error next call */
}

int blocks_car_stream_missing(const blocks_car_stream *s)
{
    return s->missing;
}

void blocks_car_stream_close(blocks_car_stream *s)
{
    if (!s)
        return;
    free(s->out);
    free(s->stack);
    free(s->seen);
    free(s->links);
    free(s);
}
