/*
 * hex.h — hex digits, once for the whole tree: the one header below
 * include/ffdb.h that modules and tools may include, because it is pure
 * (static inline, no state, nothing to link), so it adds no edge between
 * layers. Users: modules/net/text.c (\xHH in inline commands and config
 * lines), modules/ident (hex public keys), tools/ffdb (hex arguments and
 * \xHH escapes).
 */
#ifndef FFDB_COMMON_HEX_H
#define FFDB_COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (either case), or -1. */
static inline int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode len hex digits (len even) into len / 2 bytes at out; out may be
 * text itself (each byte lands before the digits it came from). 0, or -1
 * for an odd length or a non-hex digit (out then holds a partial result). */
static inline int hex_decode(const char *text, size_t len, uint8_t *out)
{
    if (len % 2)
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

#endif /* FFDB_COMMON_HEX_H */
