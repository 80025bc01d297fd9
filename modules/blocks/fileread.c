/*
 * fileread.c — a UnixFS file read piece by piece (blocks_file_*), the
 * streaming form of blocks_cat for the gateway.
 *
 * Owns: a stack of frames, one per tree level from the root to the block
 * being read, each holding its block (verified), its decoded dag-pb node
 * and UnixFS Data, the next of its own bytes to give and the next child to
 * enter. Memory: one block and one node per level (CAT_DEPTH_MAX at most).
 * Every block is one blocks_get, so no read transaction outlives a call.
 * Must never: give a byte of a block that did not verify, or end a file
 * whose subtrees disagree with their parents' blocksizes or filesize
 * without an error (IPLD_EFORMAT).
 */
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/store.h"

#define UNKNOWN UINT64_MAX

typedef struct frame {
    void *data; /* the block; node and u point into it */
    ipld_pb_node node;
    ipld_unixfs u;
    int has_node, has_u;
    const uint8_t *bytes; /* this block's own file bytes */
    size_t nbytes, pos;
    size_t next;       /* the next child to enter */
    uint64_t produced; /* bytes of this subtree given or skipped */
    uint64_t expect;   /* its size as the parent says, or UNKNOWN */
} frame;

struct blocks_file {
    blocks *bs;
    ipld_cid root;
    uint64_t size;
    int depth; /* frames in use: st[0] the root */
    int err;
    frame st[CAT_DEPTH_MAX + 1];
};

static void frame_free(frame *fr)
{
    if (fr->has_u)
        ipld_unixfs_free(&fr->u);
    if (fr->has_node)
        ipld_pb_node_free(&fr->node);
    free(fr->data);
    memset(fr, 0, sizeof *fr);
}

/* Reads and checks the block of cid into a new top frame. */
static int push(blocks_file *f, const ipld_cid *cid, uint64_t expect)
{
    frame *fr;
    size_t len;
    int rc;
    if (f->depth > CAT_DEPTH_MAX)
        return IPLD_EFORMAT;
    fr = &f->st[f->depth];
    memset(fr, 0, sizeof *fr);
    fr->expect = expect;
    if ((rc = blocks_get(f->bs, cid, 1, &fr->data, &len)) != 0)
        return rc;
    f->depth++;
    if (cid->codec == IPLD_CODEC_RAW) {
        fr->bytes = fr->data;
        fr->nbytes = len;
        return 0;
    }
    if (cid->codec != IPLD_CODEC_DAG_PB)
        return IPLD_EFORMAT;
    if ((rc = ipld_pb_decode(fr->data, len, &fr->node)) != 0)
        return rc;
    fr->has_node = 1;
    if (!fr->node.has_data)
        return IPLD_EFORMAT;
    if ((rc = ipld_unixfs_decode(fr->node.data, fr->node.data_len, &fr->u)) != 0)
        return rc;
    fr->has_u = 1;
    if ((fr->u.type != IPLD_UNIXFS_FILE && fr->u.type != IPLD_UNIXFS_RAW) ||
        (fr->u.blocksize_count && fr->u.blocksize_count != fr->node.link_count))
        return IPLD_EFORMAT;
    if (fr->u.has_data) {
        fr->bytes = fr->u.data;
        fr->nbytes = fr->u.data_len;
    }
    return 0;
}

static void pop_all(blocks_file *f)
{
    while (f->depth > 0)
        frame_free(&f->st[--f->depth]);
}

/* The size a frame's subtree announces: filesize, or its bytes and blocksizes. */
static uint64_t announced(const frame *fr)
{
    uint64_t n = fr->nbytes;
    if (fr->has_u && fr->u.has_filesize)
        return fr->u.filesize;
    if (fr->has_node && fr->node.link_count && fr->u.blocksize_count != fr->node.link_count)
        return UNKNOWN;
    for (size_t i = 0; fr->has_u && i < fr->u.blocksize_count; i++) {
        if (fr->u.blocksizes[i] > UNKNOWN - 1 - n)
            return UNKNOWN;
        n += fr->u.blocksizes[i];
    }
    return n;
}

static uint64_t child_size(const frame *fr, size_t i)
{
    return fr->has_u && fr->u.blocksize_count ? fr->u.blocksizes[i] : UNKNOWN;
}

int blocks_file_open(blocks *bs, const ipld_cid *root, blocks_file **out, uint64_t *size)
{
    blocks_file *f = calloc(1, sizeof *f);
    int rc;
    *out = NULL;
    if (!f)
        return FFDB_ENOMEM;
    f->bs = bs;
    f->root = *root;
    if ((rc = push(f, root, UNKNOWN)) != 0) {
        blocks_file_close(f);
        return rc;
    }
    f->size = f->st[0].expect = announced(&f->st[0]);
    *size = f->size;
    *out = f;
    return 0;
}

int blocks_file_seek(blocks_file *f, uint64_t off)
{
    uint64_t rem = off;
    int rc;
    if (f->err)
        return f->err;
    if (f->size != UNKNOWN && off > f->size)
        return FFDB_EINVAL;
    pop_all(f);
    if ((rc = push(f, &f->root, f->size)) != 0)
        return f->err = rc;
    for (;;) {
        frame *fr = &f->st[f->depth - 1];
        if (rem <= fr->nbytes) {
            fr->pos = (size_t)rem;
            fr->produced = rem;
            return 0;
        }
        fr->pos = fr->nbytes;
        fr->produced = fr->nbytes;
        rem -= fr->nbytes;
        while (fr->next < fr->node.link_count && child_size(fr, fr->next) != UNKNOWN &&
               rem >= child_size(fr, fr->next)) {
            rem -= child_size(fr, fr->next);
            fr->produced += child_size(fr, fr->next);
            fr->next++;
        }
        if (fr->next == fr->node.link_count || child_size(fr, fr->next) == UNKNOWN)
            break; /* past the end, or no sizes to skip by: read the rest */
        size_t i = fr->next++;
        if ((rc = push(f, &fr->node.links[i].cid, child_size(fr, i))) != 0)
            return f->err = rc;
    }
    /* Without blocksizes, read and drop what is left before off. */
    char sink[4096];
    while (rem > 0) {
        long n = blocks_file_read(f, sink, rem < sizeof sink ? (size_t)rem : sizeof sink);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return f->err = FFDB_EINVAL;
        rem -= (uint64_t)n;
    }
    return 0;
}

long blocks_file_read(blocks_file *f, void *buf, size_t cap)
{
    size_t out = 0;
    int rc;
    while (!f->err && out < cap && f->depth > 0) {
        frame *fr = &f->st[f->depth - 1];
        if (fr->pos < fr->nbytes) {
            size_t n = fr->nbytes - fr->pos;
            n = n < cap - out ? n : cap - out;
            memcpy((char *)buf + out, fr->bytes + fr->pos, n);
            fr->pos += n;
            fr->produced += n;
            out += n;
        } else if (fr->next < fr->node.link_count) {
            size_t i = fr->next++;
            if ((rc = push(f, &fr->node.links[i].cid, child_size(fr, i))) != 0)
                f->err = rc;
        } else {
            /* This subtree is done: it must agree with its own and its parent's sizes. */
            uint64_t own = fr->has_u && fr->u.has_filesize ? fr->u.filesize : UNKNOWN;
            if ((own != UNKNOWN && own != fr->produced) ||
                (fr->expect != UNKNOWN && fr->expect != fr->produced)) {
                f->err = IPLD_EFORMAT;
                break;
            }
            uint64_t produced = fr->produced;
            frame_free(fr);
            f->depth--;
            if (f->depth > 0)
                f->st[f->depth - 1].produced += produced;
        }
    }
    return out || !f->err ? (long)out : f->err; /* bytes first, the error next call */
}

void blocks_file_close(blocks_file *f)
{
    if (!f)
        return;
    pop_all(f);
    free(f);
}
