/*
 * multibase.c — text encodings of binary strings (the multibase table):
 * base32 lower/upper (RFC 4648, no padding), base58btc (the Bitcoin
 * alphabet), base16, base64url and base64 (RFC 4648, no padding).
 *
 * Owns: the alphabets and the bit packing. Called by cid.c and by users that
 * print or read CIDs and keys. Must never: write past cap, or accept a
 * character outside the alphabet or non-zero padding bits (two texts for one
 * value would make CIDs compare unequal).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "modules/ipld/ipld.h"

static const char b32_lower[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b32_upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char b16[] = "0123456789abcdef";
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Bases that pack bits (16, 32, 64): bits per character and alphabet. */
static int bit_base(int base, const char **alpha, unsigned *bits)
{
    switch (base) {
    case 'b':
        *alpha = b32_lower, *bits = 5;
        return 0;
    case 'B':
        *alpha = b32_upper, *bits = 5;
        return 0;
    case 'f':
        *alpha = b16, *bits = 4;
        return 0;
    case 'F':
        *alpha = "0123456789ABCDEF", *bits = 4;
        return 0;
    case 'u':
        *alpha = b64url, *bits = 6;
        return 0;
    case 'm':
        *alpha = b64, *bits = 6;
        return 0;
    default:
        return IPLD_EUNSUPPORTED;
    }
}

static int bits_encode(const char *alpha, unsigned bits, const uint8_t *bin, size_t len, char *out,
                       size_t cap, size_t *pos)
{
    uint32_t acc = 0;
    unsigned have = 0;
    uint32_t mask = (1u << bits) - 1;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | bin[i];
        have += 8;
        while (have >= bits) {
            if (*pos + 1 >= cap)
                return IPLD_ESPACE;
            have -= bits;
            out[(*pos)++] = alpha[(acc >> have) & mask];
        }
    }
    if (have) {
        if (*pos + 1 >= cap)
            return IPLD_ESPACE;
        out[(*pos)++] = alpha[(acc << (bits - have)) & mask];
    }
    return 0;
}

static int bits_decode(const char *alpha, unsigned bits, const char *text, size_t n, uint8_t *out,
                       size_t cap, size_t *out_len)
{
    int8_t value[256];
    uint32_t acc = 0;
    unsigned have = 0;
    size_t w = 0;
    memset(value, -1, sizeof value);
    for (unsigned i = 0; alpha[i]; i++)
        value[(unsigned char)alpha[i]] = (int8_t)i;
    for (size_t i = 0; i < n; i++) {
        int v = value[(unsigned char)text[i]];
        if (v < 0)
            return IPLD_EFORMAT;
        acc = (acc << bits) | (uint32_t)v;
        have += bits;
        if (have >= 8) {
            have -= 8;
            if (w >= cap)
                return IPLD_ESPACE;
            out[w++] = (uint8_t)(acc >> have);
        }
        acc &= (1u << have) - 1;
    }
    /* Leftover bits are padding: fewer than a character's worth, all zero. */
    if (have >= bits || acc != 0)
        return IPLD_EFORMAT;
    *out_len = w;
    return 0;
}

/* base58btc: big-number division, quadratic in the length (CIDs are short). */
#define B58_MAX 512

static int b58_encode(const uint8_t *bin, size_t len, char *out, size_t cap, size_t *pos)
{
    uint8_t digits[B58_MAX * 138 / 100 + 2];
    size_t zeros = 0, ndig = 0;
    if (len > B58_MAX)
        return IPLD_ESPACE;
    while (zeros < len && bin[zeros] == 0)
        zeros++;
    for (size_t i = zeros; i < len; i++) {
        unsigned carry = bin[i];
        for (size_t j = 0; j < ndig; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            digits[ndig++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    if (*pos + zeros + ndig >= cap)
        return IPLD_ESPACE;
    for (size_t i = 0; i < zeros; i++)
        out[(*pos)++] = '1';
    while (ndig)
        out[(*pos)++] = b58[digits[--ndig]];
    return 0;
}

static int b58_decode(const char *text, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t bytes[B58_MAX];
    size_t zeros = 0, nb = 0;
    const char *p;
    while (zeros < n && text[zeros] == '1')
        zeros++;
    for (size_t i = zeros; i < n; i++) {
        if (!text[i] || !(p = strchr(b58, text[i])))
            return IPLD_EFORMAT;
        unsigned carry = (unsigned)(p - b58);
        for (size_t j = 0; j < nb; j++) {
            carry += (unsigned)bytes[j] * 58;
            bytes[j] = (uint8_t)carry;
            carry >>= 8;
        }
        while (carry) {
            if (nb >= sizeof bytes)
                return IPLD_ESPACE;
            bytes[nb++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    if (zeros + nb > cap)
        return IPLD_ESPACE;
    memset(out, 0, zeros);
    for (size_t i = 0; i < nb; i++)
        out[zeros + i] = bytes[nb - 1 - i];
    *out_len = zeros + nb;
    return 0;
}

int ipld_base_encode(int base, int with_prefix, const uint8_t *bin, size_t len, char *out,
                     size_t cap, size_t *out_len)
{
    const char *alpha;
    unsigned bits;
    size_t pos = 0;
    int rc;
    assert(out && out_len && (bin || len == 0));
    if (cap < 2)
        return IPLD_ESPACE;
    if (with_prefix)
        out[pos++] = (char)base;
    if (base == 'z')
        rc = b58_encode(bin, len, out, cap, &pos);
    else if ((rc = bit_base(base, &alpha, &bits)) == 0)
        rc = bits_encode(alpha, bits, bin, len, out, cap, &pos);
    if (rc)
        return rc;
    out[pos] = '\0';
    *out_len = pos;
    return 0;
}

int ipld_base_decode(const char *text, size_t text_len, int bare58, uint8_t *out, size_t cap,
                     size_t *out_len)
{
    const char *alpha;
    unsigned bits;
    int rc;
    assert(out && out_len && (text || text_len == 0));
    if (bare58)
        return b58_decode(text, text_len, out, cap, out_len);
    if (text_len < 1)
        return IPLD_EFORMAT;
    if (text[0] == 'z')
        return b58_decode(text + 1, text_len - 1, out, cap, out_len);
    if ((rc = bit_base(text[0], &alpha, &bits)) != 0)
        return rc;
    return bits_decode(alpha, bits, text + 1, text_len - 1, out, cap, out_len);
}
