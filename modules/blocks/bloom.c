/*
 * bloom.c — the persisted bloom filter that answers most negative has()
 * calls without an index lookup.
 *
 * Owns: the "bloom" bucket: chunk u32 BE -> BLOOM_CHUNK_BYTES bits (a
 * missing chunk is all zero). A key picks one chunk and sets BLOOM_HASHES
 * bits inside it (a blocked bloom filter: one value read per query, one
 * write per insert), from XXH3-128 of the key. Bits are set in the same
 * write transaction as the block (S4), so the filter is exactly as durable
 * as the index and right after a crash and reopen. Removals do not clear
 * bits; gc rebuilds the filter, and a filter whose index has grown past
 * BLOOM_BITS_PER_KEY bits per key is rebuilt twice as large at the next
 * commit. Called by store.c and gc.c. Must never answer "absent" for a key
 * that is in the index.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "modules/blocks/store.h"

typedef struct probe {
    uint8_t chunk_key[4];
    uint32_t bit[BLOOM_HASHES];
} probe;

static void make_probe(uint32_t chunks, const uint8_t *key, size_t klen, probe *p)
{
    XXH128_hash_t h = XXH3_128bits(key, klen);
    uint32_t c = (uint32_t)(h.high64 % chunks);
    uint64_t a = h.low64, b = (h.low64 >> 32) | (h.high64 << 32) | 1;
    for (int i = 0; i < 4; i++)
        p->chunk_key[i] = (uint8_t)(c >> (24 - 8 * i));
    for (int i = 0; i < BLOOM_HASHES; i++)
        p->bit[i] = (uint32_t)((a + (uint64_t)i * b) % BLOOM_CHUNK_BITS);
}

static int load_chunks(ffdb_bucket *meta, uint32_t *chunks)
{
    uint64_t v;
    int rc = meta_get_u64s(meta, "bloom", &v, 1);
    if (rc)
        return rc;
    if (v == 0 || v > UINT32_MAX)
        return BLOCKS_ESTATE;
    *chunks = (uint32_t)v;
    return 0;
}

int bloom_add(wtx *w, const uint8_t *key, size_t klen)
{
    uint8_t bits[BLOOM_CHUNK_BYTES];
    uint32_t chunks;
    ffdb_val v;
    probe p;
    int rc = load_chunks(w->meta, &chunks);
    if (rc)
        return rc;
    make_probe(chunks, key, klen, &p);
    rc = ffdb_get(w->bloom, p.chunk_key, 4, &v);
    if (rc == 0 && v.size == BLOOM_CHUNK_BYTES)
        memcpy(bits, v.data, BLOOM_CHUNK_BYTES);
    else if (rc == 0 || rc == FFDB_NOTFOUND)
        memset(bits, 0, sizeof bits);
    else
        return rc;
    for (int i = 0; i < BLOOM_HASHES; i++)
        bits[p.bit[i] / 8] |= (uint8_t)(1u << (p.bit[i] % 8));
    return ffdb_put(w->bloom, p.chunk_key, 4, bits, sizeof bits);
}

int bloom_maybe(blocks *bs, rtx *r, const uint8_t *key, size_t klen)
{
    uint32_t chunks;
    ffdb_val v;
    probe p;
    int rc = load_chunks(r->meta, &chunks);
    (void)bs;
    if (rc)
        return rc;
    make_probe(chunks, key, klen, &p);
    rc = ffdb_get(r->bloom, p.chunk_key, 4, &v);
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.size != BLOOM_CHUNK_BYTES)
        return 1; /* damaged: never answer "absent" on a guess */
    for (int i = 0; i < BLOOM_HASHES; i++)
        if (!(((const uint8_t *)v.data)[p.bit[i] / 8] & (1u << (p.bit[i] % 8))))
            return 0;
    return 1;
}

/* Replaces the filter with one of chunks chunks holding every indexed key.
 * The filter is built in memory (chunks * 1 KiB), then written in order. */
int bloom_rebuild(wtx *w, uint32_t chunks)
{
    uint8_t *bits = calloc(chunks, BLOOM_CHUNK_BYTES);
    uint64_t v = chunks;
    ffdb_cursor *cur;
    ffdb_val k;
    int rc;
    if (!bits)
        return FFDB_ENOMEM;
    if ((rc = ffdb_cursor_open(w->index, &cur)) == 0) {
        for (rc = ffdb_cursor_first(cur, &k, NULL); rc == 0; rc = ffdb_cursor_next(cur, &k, NULL)) {
            probe p;
            make_probe(chunks, k.data, k.size, &p);
            uint32_t c = (uint32_t)p.chunk_key[0] << 24 | (uint32_t)p.chunk_key[1] << 16 |
                         (uint32_t)p.chunk_key[2] << 8 | p.chunk_key[3];
            for (int i = 0; i < BLOOM_HASHES; i++)
                bits[(size_t)c * BLOOM_CHUNK_BYTES + p.bit[i] / 8] |=
                    (uint8_t)(1u << (p.bit[i] % 8));
        }
        ffdb_cursor_close(cur);
        rc = rc == FFDB_NOTFOUND ? 0 : rc;
    }
    if (rc == 0 && (rc = ffdb_bucket_drop(w->txn, "bloom", 5)) == 0 &&
        (rc = ffdb_bucket_create(w->txn, "bloom", 5, &w->bloom)) == 0) {
        ffdb_bulk *bulk;
        if ((rc = ffdb_bulk_begin(w->bloom, 1.0, &bulk)) == 0) {
            for (uint32_t c = 0; rc == 0 && c < chunks; c++) {
                uint8_t ck[4] = {(uint8_t)(c >> 24), (uint8_t)(c >> 16), (uint8_t)(c >> 8),
                                 (uint8_t)c};
                rc = ffdb_bulk_append(bulk, ck, 4, bits + (size_t)c * BLOOM_CHUNK_BYTES,
                                      BLOOM_CHUNK_BYTES);
            }
            rc = rc ? (ffdb_bulk_abort(bulk), rc) : ffdb_bulk_finish(bulk);
        }
    }
    free(bits);
    if (rc == 0)
        rc = meta_put_u64s(w->meta, "bloom", &v, 1);
    return rc;
}

int bloom_grow_if_needed(wtx *w)
{
    uint32_t chunks;
    uint64_t keys = w->c.blocks[0] + w->c.blocks[1];
    int rc = load_chunks(w->meta, &chunks);
    if (rc)
        return rc;
    if (keys * BLOOM_BITS_PER_KEY <= (uint64_t)chunks * BLOOM_CHUNK_BITS * 2 ||
        chunks >= (UINT32_C(1) << 20))
        return 0;
    while ((uint64_t)chunks * BLOOM_CHUNK_BITS < keys * BLOOM_BITS_PER_KEY &&
           chunks < (UINT32_C(1) << 20))
        chunks *= 2;
    return bloom_rebuild(w, chunks);
}
