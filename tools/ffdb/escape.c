/*
 * escape.c — bytes as text and back, for the dump format, scan, get and
 * keys given on the command line.
 *
 * Escaped text keeps printable ASCII (0x20..0x7e) as it is except the
 * backslash, and writes \\ \t \n \r and \xHH (two hex digits) for every
 * other byte, so an escaped string never holds a tab or a line break and a
 * dump stays one record a line, in ASCII, whatever the data. Hex text is two
 * lowercase digits a byte. Decoding is the exact inverse; it accepts upper
 * case hex digits too and refuses anything else. Used by every command that
 * shows or reads keys; it knows nothing of ffdb.
 */
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "tools/ffdb/cli.h"

static const char hexdig[] = "0123456789abcdef";

/* Bytes of escaped text for byte c (4 at most). */
static size_t esc_byte(unsigned char c, char out[4])
{
    switch (c) {
    case '\\':
        out[0] = '\\', out[1] = '\\';
        return 2;
    case '\t':
        out[0] = '\\', out[1] = 't';
        return 2;
    case '\n':
        out[0] = '\\', out[1] = 'n';
        return 2;
    case '\r':
        out[0] = '\\', out[1] = 'r';
        return 2;
    }
    if (c >= 0x20 && c < 0x7f) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = '\\', out[1] = 'x', out[2] = hexdig[c >> 4], out[3] = hexdig[c & 15];
    return 4;
}

void esc_write(FILE *f, const void *data, size_t len, int hex)
{
    const unsigned char *p = data;
    char buf[4096];
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (n + 4 > sizeof(buf)) {
            fwrite(buf, 1, n, f);
            n = 0;
        }
        if (hex) {
            buf[n++] = hexdig[p[i] >> 4];
            buf[n++] = hexdig[p[i] & 15];
        } else {
            n += esc_byte(p[i], buf + n);
        }
    }
    fwrite(buf, 1, n, f);
}

char *esc_string(const void *data, size_t len, int hex)
{
    const unsigned char *p = data;
    char *s = len > (SIZE_MAX - 1) / 4 ? NULL : malloc(len * 4 + 1);
    size_t n = 0;

    if (!s)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (hex) {
            s[n++] = hexdig[p[i] >> 4];
            s[n++] = hexdig[p[i] & 15];
        } else {
            n += esc_byte(p[i], s + n);
        }
    }
    s[n] = '\0';
    return s;
}

static int decode_hex(char *text, size_t len, size_t *out_len)
{
    if (hex_decode(text, len, (uint8_t *)text) != 0)
        return -1;
    *out_len = len / 2;
    return 0;
}

int esc_decode(char *text, size_t len, int hex, size_t *out_len)
{
    size_t o = 0;

    if (hex)
        return decode_hex(text, len, out_len);
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\t' || c == '\n')
            return -1; /* never part of escaped text */
        if (c != '\\') {
            text[o++] = c;
            continue;
        }
        if (++i >= len)
            return -1;
        switch (text[i]) {
        case '\\':
            text[o++] = '\\';
            break;
        case 't':
            text[o++] = '\t';
            break;
        case 'n':
            text[o++] = '\n';
            break;
        case 'r':
            text[o++] = '\r';
            break;
        case 'x': {
            int hi = i + 2 < len ? hex_digit(text[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(text[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            text[o++] = (char)(hi << 4 | lo);
            i += 2;
            break;
        }
        default:
            return -1;
        }
    }
    *out_len = o;
    return 0;
}

int cli_arg_bytes(const struct cli_command *cmd, const char *what, const char *arg, int hex,
                  char **out, size_t *len)
{
    size_t n = strlen(arg);
    char *buf = malloc(n + 1);
    if (!buf) {
        cli_msg(cmd->name, "out of memory");
        return EXIT_ERROR;
    }
    memcpy(buf, arg, n + 1);
    if (esc_decode(buf, n, hex, len) < 0) {
        free(buf);
        return cli_usage_error(cmd, "%s '%s' is not valid %s", what, arg,
                               hex ? "hex" : "escaped text (\\\\ \\t \\n \\r \\xHH)");
    }
    *out = buf;
    return 0;
}
