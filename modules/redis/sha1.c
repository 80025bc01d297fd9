/*
 * sha1.c — SHA-1 from FIPS 180-4 section 6.1 (sha1.h). One pass over a
 * buffer: 64-byte blocks, then the padding (0x80, zeros, the bit length
 * big-endian) in one or two last blocks. Checked against the FIPS
 * examples in tests/test_resp_script.c.
 */
#include <stdint.h>
#include <string.h>

#include "modules/redis/sha1.h"

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
    for (int t = 16; t < 80; t++)
        w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    for (int t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t < 20)
            f = (b & c) | (~b & d), k = 0x5a827999;
        else if (t < 40)
            f = b ^ c ^ d, k = 0x6ed9eba1;
        else if (t < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
        else
            f = b ^ c ^ d, k = 0xca62c1d6;
        uint32_t tmp = rol(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void redis_sha1_hex(const void *data, size_t n, char hex[41])
{
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    const unsigned char *p = data;
    unsigned char last[128];
    uint64_t bits = (uint64_t)n * 8;
    size_t full = n / 64 * 64, rest = n - full, len;

    for (size_t i = 0; i < full; i += 64)
        block(h, p + i);
    memset(last, 0, sizeof(last));
    memcpy(last, p + full, rest);
    last[rest] = 0x80;
    len = rest + 1 + 8 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        last[len - 1 - i] = (unsigned char)(bits >> (8 * i));
    block(h, last);
    if (len == 128)
        block(h, last + 64);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 8; j++)
            hex[i * 8 + j] = "0123456789abcdef"[(h[i] >> (28 - 4 * j)) & 15];
    hex[40] = '\0';
}
