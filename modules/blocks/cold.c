/*
 * cold.c — the cold tier's value encoding: enc u8 (0 stored as is, 1 zstd
 * frame) followed by the payload, in the cold file's "blocks" bucket.
 *
 * Owns: compression (zstd level COLD_LEVEL; a block zstd cannot shrink is
 * stored as is) and checked decompression (the frame must declare exactly
 * the content size and decode to it). Called by tier.c (moves), store.c
 * (reads, check, recovery). Must never trust a frame's declared size
 * beyond BLOCKS_MAX_BLOCK_SIZE.
 */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "modules/blocks/store.h"

#define COLD_LEVEL 3
enum { ENC_STORED = 0, ENC_ZSTD = 1 };

int cold_open(ffdb *cold, int write, ffdb_txn **txn, ffdb_bucket **b)
{
    int rc = write ? ffdb_begin_write(cold, txn) : ffdb_begin_read(cold, txn);
    if (rc)
        return rc;
    if ((rc = ffdb_bucket_open(*txn, "blocks", 6, b)) != 0) {
        ffdb_abort(*txn);
        return rc == FFDB_NOTFOUND ? BLOCKS_ESTATE : rc;
    }
    return 0;
}

int cold_put(ffdb_bucket *cold, const uint8_t *key, size_t klen, const void *data, size_t len,
             uint64_t *stored)
{
    size_t cap = ZSTD_compressBound(len) + 1, n;
    uint8_t *buf = malloc(cap);
    int rc;
    if (!buf)
        return FFDB_ENOMEM;
    n = ZSTD_compress(buf + 1, cap - 1, data, len, COLD_LEVEL);
    if (ZSTD_isError(n)) {
        free(buf);
        return BLOCKS_ECOMPRESS;
    }
    if (n < len) {
        buf[0] = ENC_ZSTD;
        n += 1;
    } else {
        buf[0] = ENC_STORED;
        if (len)
            memcpy(buf + 1, data, len);
        n = len + 1;
    }
    rc = ffdb_put(cold, key, klen, buf, n);
    free(buf);
    if (rc == 0 && stored)
        *stored = n;
    return rc;
}

int cold_get(ffdb_bucket *cold, const uint8_t *key, size_t klen, void **data, size_t *len)
{
    const uint8_t *p;
    unsigned long long size;
    ffdb_val v;
    void *out;
    int rc = ffdb_get(cold, key, klen, &v);
    if (rc)
        return rc;
    p = v.data;
    if (v.size < 1 || p[0] > ENC_ZSTD)
        return BLOCKS_ECOMPRESS;
    if (p[0] == ENC_STORED) {
        size = v.size - 1;
    } else {
        size = ZSTD_getFrameContentSize(p + 1, v.size - 1);
        if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
            size > BLOCKS_MAX_BLOCK_SIZE)
            return BLOCKS_ECOMPRESS;
    }
    if (!(out = malloc(size ? size : 1)))
        return FFDB_ENOMEM;
    if (p[0] == ENC_STORED) {
        if (size)
            memcpy(out, p + 1, size);
    } else {
        size_t n = ZSTD_decompress(out, size, p + 1, v.size - 1);
        if (ZSTD_isError(n) || n != size) {
            free(out);
            return BLOCKS_ECOMPRESS;
        }
    }
    *data = out;
    *len = size;
    return 0;
}
