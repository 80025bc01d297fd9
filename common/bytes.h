/*
 * bytes.h — little-endian loads and stores at any alignment.
 *
 * Every on-disk integer goes through these helpers, so the code never
 * depends on host byte order or on the alignment of a cell inside a page.
 * On x86-64 and arm64 each compiles to a single move.
 */
#ifndef FFDB_COMMON_BYTES_H
#define FFDB_COMMON_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint16_t ld16(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)(b[0] | (b[1] << 8));
}

static inline uint32_t ld32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
           ((uint32_t)b[3] << 24);
}

static inline uint64_t ld64(const void *p)
{
    return (uint64_t)ld32(p) | ((uint64_t)ld32((const uint8_t *)p + 4) << 32);
}

static inline void st16(void *p, uint16_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static inline void st32(void *p, uint32_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static inline void st64(void *p, uint64_t v)
{
    st32(p, (uint32_t)v);
    st32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

/* Byte-wise key order: memcmp, then the shorter key first. */
static inline int key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

#endif /* FFDB_COMMON_BYTES_H */
