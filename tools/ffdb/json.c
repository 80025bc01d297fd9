/*
 * json.c — the streaming JSON writer of json.h: two-space indented output,
 * one member a line, strings escaped per RFC 8259.
 *
 * Used by the --json paths of the commands. It checks nothing about the
 * order of calls beyond keeping depth within JSON_MAX_DEPTH; the callers
 * are few and fixed.
 */
#include "tools/ffdb/json.h"

#include <assert.h>
#include <math.h>
#include <string.h>

void json_init(struct json *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
}

static void indent(struct json *j)
{
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->f);
}

/* What goes before a value or a key: a comma, a line break, the indent. */
static void separate(struct json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth == 0)
        return;
    if (j->count[j->depth - 1]++ > 0)
        fputc(',', j->f);
    indent(j);
}

static void open_level(struct json *j, char c)
{
    separate(j);
    assert(j->depth < JSON_MAX_DEPTH);
    fputc(c, j->f);
    j->count[j->depth++] = 0;
}

static void close_level(struct json *j, char c)
{
    assert(j->depth > 0);
    j->depth--;
    if (j->count[j->depth] > 0)
        indent(j);
    fputc(c, j->f);
}

void json_begin_object(struct json *j)
{
    open_level(j, '{');
}

void json_end_object(struct json *j)
{
    close_level(j, '}');
}

void json_begin_array(struct json *j)
{
    open_level(j, '[');
}

void json_end_array(struct json *j)
{
    close_level(j, ']');
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t cp;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF are invalid. */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void write_string(FILE *f, const unsigned char *p, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t len = utf8_len(p + i, n - i);
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c < 0x20 || c == 0x7f || len == 0) {
            fprintf(f, "\\u%04x", c);
        } else {
            fwrite(p + i, 1, len, f);
            i += len;
            continue;
        }
        i++;
    }
    fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
    separate(j);
    write_string(j->f, (const unsigned char *)key, strlen(key));
    fputs(": ", j->f);
    j->after_key = 1;
}

void json_strn(struct json *j, const void *s, size_t len)
{
    separate(j);
    write_string(j->f, s, len);
}

void json_str(struct json *j, const char *s)
{
    json_strn(j, s, strlen(s));
}

void json_u64(struct json *j, uint64_t v)
{
    separate(j);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_double(struct json *j, double v)
{
    separate(j);
    if (isfinite(v))
        fprintf(j->f, "%.6g", v);
    else
        fputs("null", j->f);
}

void json_bool(struct json *j, int v)
{
    separate(j);
    fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
    separate(j);
    fputs("null", j->f);
}

void json_end(struct json *j)
{
    fputc('\n', j->f);
}

void json_kv_str(struct json *j, const char *key, const char *s)
{
    json_key(j, key);
    json_str(j, s);
}

void json_kv_u64(struct json *j, const char *key, uint64_t v)
{
    json_key(j, key);
    json_u64(j, v);
}

void json_kv_double(struct json *j, const char *key, double v)
{
    json_key(j, key);
    json_double(j, v);
}

void json_kv_bool(struct json *j, const char *key, int v)
{
    json_key(j, key);
    json_bool(j, v);
}
