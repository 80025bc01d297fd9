/*
 * unixfs.c — the UnixFS Data message (UnixFS spec, unixfs.proto):
 *   Type = 1 (enum), Data = 2, filesize = 3, blocksizes = 4 (repeated),
 *   hashType = 5, fanout = 6, mode = 7, mtime = 8 { Seconds = 1 (int64),
 *   FractionalNanoseconds = 2 (fixed32) }.
 *
 * Owns: encoding in field order with blocksizes unpacked (what go-unixfs,
 * and so kubo, writes: proto2 without [packed=true]) and a bounds-checked
 * decoder that also takes packed blocksizes and skips unknown fields, as a
 * protobuf reader of this message does. Called by the UnixFS importer and
 * exporter. Must never read past its input.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "modules/ipld/ipld.h"
#include "modules/ipld/pb.h"

enum {
    F_TYPE = 1,
    F_DATA,
    F_FILESIZE,
    F_BLOCKSIZES,
    F_HASHTYPE,
    F_FANOUT,
    F_MODE,
    F_MTIME,
};

static int decode_mtime(const uint8_t *p, size_t n, ipld_unixfs *u)
{
    pb_reader r = {p, n, 0};
    uint32_t field;
    unsigned wire;
    uint64_t v;
    while (r.pos < r.len) {
        if (pb_read_key(&r, &field, &wire))
            return IPLD_EFORMAT;
        if (field == 1 && wire == PB_VARINT) {
            if (pb_read_varint(&r, &v))
                return IPLD_EFORMAT;
            u->mtime_seconds = (int64_t)v;
        } else if (field == 2 && wire == PB_I32) {
            if (r.len - r.pos < 4)
                return IPLD_EFORMAT;
            u->mtime_nanos = (uint32_t)p[r.pos] | (uint32_t)p[r.pos + 1] << 8 |
                             (uint32_t)p[r.pos + 2] << 16 | (uint32_t)p[r.pos + 3] << 24;
            r.pos += 4;
        } else if (pb_skip(&r, wire)) {
            return IPLD_EFORMAT;
        }
    }
    u->has_mtime = 1;
    return 0;
}

/* Counts blocksizes (packed runs count each varint) for one allocation. */
static int count_blocksizes(const uint8_t *buf, size_t len, size_t *count)
{
    pb_reader r = {buf, len, 0};
    uint32_t field;
    unsigned wire;
    uint64_t v;
    *count = 0;
    while (r.pos < r.len) {
        if (pb_read_key(&r, &field, &wire))
            return IPLD_EFORMAT;
        if (field == F_BLOCKSIZES && wire == PB_LEN) {
            const uint8_t *p;
            size_t n;
            if (pb_read_bytes(&r, &p, &n))
                return IPLD_EFORMAT;
            pb_reader pr = {p, n, 0};
            while (pr.pos < pr.len) {
                if (pb_read_varint(&pr, &v))
                    return IPLD_EFORMAT;
                (*count)++;
            }
        } else {
            if (field == F_BLOCKSIZES && wire == PB_VARINT)
                (*count)++;
            if (pb_skip(&r, wire))
                return IPLD_EFORMAT;
        }
    }
    return 0;
}

static int decode_field(pb_reader *r, uint32_t field, unsigned wire, ipld_unixfs *u,
                        uint64_t *sizes, size_t *nsizes)
{
    uint64_t v;
    const uint8_t *p;
    size_t n;
    if (wire == PB_VARINT && field != F_DATA && field != F_MTIME) {
        if (pb_read_varint(r, &v))
            return IPLD_EFORMAT;
        switch (field) {
        case F_TYPE:
            if (v > IPLD_UNIXFS_HAMT_SHARD)
                return IPLD_EFORMAT;
            u->type = (int)v;
            break;
        case F_FILESIZE:
            u->filesize = v, u->has_filesize = 1;
            break;
        case F_BLOCKSIZES:
            sizes[(*nsizes)++] = v;
            break;
        case F_HASHTYPE:
            u->hash_type = v, u->has_hash_type = 1;
            break;
        case F_FANOUT:
            u->fanout = v, u->has_fanout = 1;
            break;
        case F_MODE:
            u->mode = (uint32_t)v, u->has_mode = 1;
            break;
        }
        return 0;
    }
    if (wire == PB_LEN && (field == F_DATA || field == F_BLOCKSIZES || field == F_MTIME)) {
        if (pb_read_bytes(r, &p, &n))
            return IPLD_EFORMAT;
        if (field == F_DATA) {
            u->data = p, u->data_len = n, u->has_data = 1;
            return 0;
        }
        if (field == F_MTIME)
            return decode_mtime(p, n, u);
        pb_reader pr = {p, n, 0};
        while (pr.pos < pr.len)
            if (pb_read_varint(&pr, &sizes[(*nsizes)++]))
                return IPLD_EFORMAT;
        return 0;
    }
    if (field <= F_MTIME)
        return IPLD_EFORMAT; /* a known field with the wrong wire type */
    return pb_skip(r, wire);
}

int ipld_unixfs_decode(const uint8_t *buf, size_t len, ipld_unixfs *u)
{
    pb_reader r = {buf, len, 0};
    uint32_t field;
    unsigned wire;
    uint64_t *sizes = NULL;
    size_t count, nsizes = 0;
    int rc, have_type = 0;
    assert(u && (buf || len == 0));
    memset(u, 0, sizeof *u);
    if ((rc = count_blocksizes(buf, len, &count)) != 0)
        return rc;
    if (count && !(sizes = malloc(count * sizeof *sizes)))
        return IPLD_ENOMEM;
    while (r.pos < r.len) {
        if ((rc = pb_read_key(&r, &field, &wire)) ||
            (rc = decode_field(&r, field, wire, u, sizes, &nsizes))) {
            free(sizes);
            memset(u, 0, sizeof *u);
            return IPLD_EFORMAT;
        }
        have_type |= field == F_TYPE;
    }
    assert(nsizes == count);
    u->blocksizes = sizes;
    u->blocksize_count = nsizes;
    if (!have_type) {
        ipld_unixfs_free(u);
        return IPLD_EFORMAT; /* Type is required */
    }
    return 0;
}

void ipld_unixfs_free(ipld_unixfs *u)
{
    if (!u)
        return;
    free((void *)u->blocksizes);
    u->blocksizes = NULL;
    u->blocksize_count = 0;
}

static size_t mtime_body_size(const ipld_unixfs *u)
{
    return pb_varint_field_size(1, (uint64_t)u->mtime_seconds) +
           (u->mtime_nanos ? pb_key_size(2) + 4 : 0);
}

size_t ipld_unixfs_encoded_size(const ipld_unixfs *u)
{
    size_t n = pb_varint_field_size(F_TYPE, (uint64_t)u->type);
    if (u->has_data)
        n += pb_bytes_field_size(F_DATA, u->data_len);
    if (u->has_filesize)
        n += pb_varint_field_size(F_FILESIZE, u->filesize);
    for (size_t i = 0; i < u->blocksize_count; i++)
        n += pb_varint_field_size(F_BLOCKSIZES, u->blocksizes[i]);
    if (u->has_hash_type)
        n += pb_varint_field_size(F_HASHTYPE, u->hash_type);
    if (u->has_fanout)
        n += pb_varint_field_size(F_FANOUT, u->fanout);
    if (u->has_mode)
        n += pb_varint_field_size(F_MODE, u->mode);
    if (u->has_mtime)
        n += pb_bytes_field_size(F_MTIME, mtime_body_size(u));
    return n;
}

int ipld_unixfs_encode(const ipld_unixfs *u, uint8_t *out, size_t cap, size_t *len)
{
    size_t pos = 0, need;
    assert(u && len && u->type >= 0 && u->type <= IPLD_UNIXFS_HAMT_SHARD);
    need = ipld_unixfs_encoded_size(u);
    if (need > cap)
        return IPLD_ESPACE;
    pos += pb_put_varint_field(out + pos, F_TYPE, (uint64_t)u->type);
    if (u->has_data)
        pos += pb_put_bytes_field(out + pos, F_DATA, u->data, u->data_len);
    if (u->has_filesize)
        pos += pb_put_varint_field(out + pos, F_FILESIZE, u->filesize);
    for (size_t i = 0; i < u->blocksize_count; i++)
        pos += pb_put_varint_field(out + pos, F_BLOCKSIZES, u->blocksizes[i]);
    if (u->has_hash_type)
        pos += pb_put_varint_field(out + pos, F_HASHTYPE, u->hash_type);
    if (u->has_fanout)
        pos += pb_put_varint_field(out + pos, F_FANOUT, u->fanout);
    if (u->has_mode)
        pos += pb_put_varint_field(out + pos, F_MODE, u->mode);
    if (u->has_mtime) {
        pos += pb_put_key(out + pos, F_MTIME, PB_LEN);
        pos += ipld_varint_put(out + pos, mtime_body_size(u));
        pos += pb_put_varint_field(out + pos, 1, (uint64_t)u->mtime_seconds);
        if (u->mtime_nanos) {
            pos += pb_put_key(out + pos, 2, PB_I32);
            for (int i = 0; i < 4; i++)
                out[pos++] = (uint8_t)(u->mtime_nanos >> (8 * i));
        }
    }
    assert(pos == need);
    *len = pos;
    return 0;
}
