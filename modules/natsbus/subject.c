/*
 * subject.c — the subject scheme of the bus (natsbus.h, N4): byte names to
 * NATS tokens and back, and the full subject of a kind and name in a
 * namespace. Pure functions; no NATS call.
 */
#include <string.h>

#include "modules/natsbus/natsbus.h"

static const char hexdig[] = "0123456789ABCDEF";

static int plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static void put(char *out, size_t cap, size_t at, char c)
{
    if (at < cap)
        out[at] = c;
}

size_t natsbus_token(const void *name, size_t n, char *out, size_t cap)
{
    const unsigned char *p = name;
    size_t len = 0;

    if (n == 0)
        put(out, cap, len++, '_');
    for (size_t i = 0; i < n; i++) {
        if (plain(p[i])) {
            put(out, cap, len++, (char)p[i]);
        } else {
            put(out, cap, len++, '_');
            put(out, cap, len++, hexdig[p[i] >> 4]);
            put(out, cap, len++, hexdig[p[i] & 15]);
        }
    }
    if (cap)
        out[len < cap ? len : cap - 1] = '\0';
    return len;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* lower case is never written: not ours */
}

int natsbus_untoken(const char *tok, size_t tlen, uint8_t *out, size_t *n)
{
    size_t o = 0;

    if (tlen == 1 && tok[0] == '_') {
        *n = 0;
        return 0;
    }
    if (tlen == 0)
        return -1;
    for (size_t i = 0; i < tlen; i++) {
        unsigned char c = (unsigned char)tok[i];
        if (plain(c)) {
            out[o++] = c;
        } else if (c == '_' && i + 2 < tlen && hexval(tok[i + 1]) >= 0 &&
                   hexval(tok[i + 2]) >= 0) {
            int v = hexval(tok[i + 1]) << 4 | hexval(tok[i + 2]);
            /* A plain byte escaped is not what the encoder writes. */
            if (plain((unsigned char)v))
                return -1;
            out[o++] = (uint8_t)v;
            i += 2;
        } else {
            return -1;
        }
    }
    *n = o;
    return 0;
}

size_t natsbus_subject(const void *ns, size_t ns_len, const char *kind, const void *name, size_t n,
                       char *out, size_t cap)
{
    size_t len = 0, k = strlen(kind);

    /* "ffdb." */
    for (const char *p = "ffdb."; *p; p++)
        put(out, cap, len++, *p);
    len += natsbus_token(ns, ns_len, len < cap ? out + len : NULL, len < cap ? cap - len : 0);
    put(out, cap, len++, '.');
    for (size_t i = 0; i < k; i++)
        put(out, cap, len++, kind[i]);
    put(out, cap, len++, '.');
    if (name)
        len += natsbus_token(name, n, len < cap ? out + len : NULL, len < cap ? cap - len : 0);
    else
        put(out, cap, len++, '*');
    if (cap)
        out[len < cap ? len : cap - 1] = '\0';
    return len;
}
