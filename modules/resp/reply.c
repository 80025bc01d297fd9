/*
 * reply.c — RESP2/RESP3 frames into a client's output buffer (see reply.h).
 *
 * The only place that knows the wire form of a reply. Buffers grow by
 * doubling up to their cap; past the cap or on a failed allocation the
 * writer drops bytes and sets `overflow`, and the server disconnects the
 * client before anything truncated could be sent as if it were whole.
 */
#include "modules/resp/reply.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A buffer this much bigger than its content, with nothing pending, is shrunk
 * when compacted, so one big reply does not pin memory for the connection's
 * life. */
#define BUF_KEEP_BYTES (64u * 1024)

void resp_buf_init(resp_buf *b, size_t limit_bytes)
{
    memset(b, 0, sizeof(*b));
    b->limit_bytes = limit_bytes;
    b->hold = RESP_NO_HOLD;
}

void resp_buf_free(resp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = b->sent = 0;
}

int resp_buf_reserve(resp_buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (b->overflow)
        return -1;
    if (n > SIZE_MAX / 2 - b->len || (b->limit_bytes && b->len - b->sent + n > b->limit_bytes)) {
        b->overflow = 1;
        return -1;
    }
    need = b->len + n;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p) {
        b->overflow = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void resp_buf_append(resp_buf *b, const void *p, size_t n)
{
    if (n == 0 || resp_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void resp_buf_compact(resp_buf *b)
{
    if (b->sent == 0)
        return;
    if (b->hold != RESP_NO_HOLD)
        b->hold -= b->sent; /* nothing past hold is ever sent */
    if (b->sent == b->len) {
        b->len = b->sent = 0;
        if (b->cap > BUF_KEEP_BYTES) {
            free(b->data);
            b->data = NULL;
            b->cap = 0;
        }
        return;
    }
    memmove(b->data, b->data + b->sent, b->len - b->sent);
    b->len -= b->sent;
    b->sent = 0;
}

/* ---- formatting -------------------------------------------------------------- */

size_t resp_format_int(char *buf, int64_t v)
{
    char tmp[24];
    size_t n = 0, i;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    i = 0;
    if (v < 0)
        buf[i++] = '-';
    while (n)
        buf[i++] = tmp[--n];
    buf[i] = '\0';
    return i;
}

size_t resp_format_double(char *buf, double d)
{
    if (isinf(d))
        return (size_t)sprintf(buf, d > 0 ? "inf" : "-inf");
    if (d == 0)
        return (size_t)sprintf(buf, "0"); /* -0 too, as Redis prints it */
    /* %.15g is exact for every double that has a short decimal form, which
     * is most scores people write; the rest need 16 or 17 digits. */
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(buf, 32, "%.*g", prec, d);
        if (prec == 17 || strtod(buf, NULL) == d)
            return (size_t)n;
    }
    return 0; /* not reached */
}

size_t resp_format_long_double(char *buf, size_t cap, long double v)
{
    int n;

    if (isinf(v) || isnan(v))
        return 0;
    n = snprintf(buf, cap, "%.17Lf", v);
    if (n <= 0 || (size_t)n >= cap)
        return 0;
    /* Human form, as INCRBYFLOAT answers: no trailing zeros, no bare dot. */
    if (strchr(buf, '.')) {
        while (n > 0 && buf[n - 1] == '0')
            n--;
        if (n > 0 && buf[n - 1] == '.')
            n--;
    }
    if (n == 2 && buf[0] == '-' && buf[1] == '0')
        n = 1, buf[0] = '0';
    buf[n] = '\0';
    return (size_t)n;
}

/* ---- frames ------------------------------------------------------------------ */

/* "<c><n>\r\n" */
static void header(resp_reply *r, char c, int64_t n)
{
    char buf[32];
    size_t len;

    buf[0] = c;
    len = 1 + resp_format_int(buf + 1, n);
    buf[len++] = '\r';
    buf[len++] = '\n';
    resp_buf_append(r->out, buf, len);
}

void reply_simple(resp_reply *r, const char *s)
{
    size_t n = strlen(s);
    if (resp_buf_reserve(r->out, n + 3))
        return;
    resp_buf_append(r->out, "+", 1);
    resp_buf_append(r->out, s, n);
    resp_buf_append(r->out, "\r\n", 2);
}

void reply_ok(resp_reply *r)
{
    resp_buf_append(r->out, "+OK\r\n", 5);
}

void reply_error(resp_reply *r, const char *msg)
{
    size_t n = strlen(msg), at;

    r->errors++;
    if (resp_buf_reserve(r->out, n + 3))
        return;
    resp_buf_append(r->out, "-", 1);
    at = r->out->len;
    resp_buf_append(r->out, msg, n);
    /* A newline inside an error would end the frame early and desync the
     * client: errors may quote user input. */
    for (size_t i = at; i < at + n; i++)
        if (r->out->data[i] == '\r' || r->out->data[i] == '\n')
            r->out->data[i] = ' ';
    resp_buf_append(r->out, "\r\n", 2);
}

void reply_errorf(resp_reply *r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    reply_error(r, buf);
}

void reply_int(resp_reply *r, int64_t v)
{
    header(r, ':', v);
}

void reply_bulk(resp_reply *r, const void *p, size_t n)
{
    if (resp_buf_reserve(r->out, n + 32))
        return;
    header(r, '$', (int64_t)n);
    resp_buf_append(r->out, p, n);
    resp_buf_append(r->out, "\r\n", 2);
}

void reply_bulk_cstr(resp_reply *r, const char *s)
{
    reply_bulk(r, s, strlen(s));
}

void reply_bulk_int(resp_reply *r, int64_t v)
{
    char buf[24];
    reply_bulk(r, buf, resp_format_int(buf, v));
}

void reply_null(resp_reply *r)
{
    if (r->proto >= 3)
        resp_buf_append(r->out, "_\r\n", 3);
    else
        resp_buf_append(r->out, "$-1\r\n", 5);
}

void reply_null_array(resp_reply *r)
{
    if (r->proto >= 3)
        resp_buf_append(r->out, "_\r\n", 3);
    else
        resp_buf_append(r->out, "*-1\r\n", 5);
}

void reply_double(resp_reply *r, double d)
{
    char buf[40];
    size_t n = resp_format_double(buf + 1, d);

    if (r->proto >= 3) {
        buf[0] = ',';
        memcpy(buf + 1 + n, "\r\n", 2);
        resp_buf_append(r->out, buf, n + 3);
    } else {
        reply_bulk(r, buf + 1, n);
    }
}

void reply_bool(resp_reply *r, int v)
{
    if (r->proto >= 3)
        resp_buf_append(r->out, v ? "#t\r\n" : "#f\r\n", 4);
    else
        resp_buf_append(r->out, v ? ":1\r\n" : ":0\r\n", 4);
}

void reply_verbatim(resp_reply *r, const void *p, size_t n)
{
    if (r->proto < 3) {
        reply_bulk(r, p, n);
        return;
    }
    if (resp_buf_reserve(r->out, n + 40))
        return;
    header(r, '=', (int64_t)n + 4);
    resp_buf_append(r->out, "txt:", 4);
    resp_buf_append(r->out, p, n);
    resp_buf_append(r->out, "\r\n", 2);
}

void reply_array(resp_reply *r, size_t n)
{
    header(r, '*', (int64_t)n);
}

void reply_map(resp_reply *r, size_t npairs)
{
    if (r->proto >= 3)
        header(r, '%', (int64_t)npairs);
    else
        header(r, '*', (int64_t)npairs * 2);
}

void reply_set(resp_reply *r, size_t n)
{
    header(r, r->proto >= 3 ? '~' : '*', (int64_t)n);
}

void reply_push(resp_reply *r, size_t n)
{
    header(r, r->proto >= 3 ? '>' : '*', (int64_t)n);
}

/* ---- deferred headers --------------------------------------------------------- */

resp_defer reply_defer(resp_reply *r)
{
    return r->out->len;
}

static void defer_insert(resp_reply *r, resp_defer d, char c, int64_t n)
{
    char buf[32];
    size_t len;
    resp_buf *b = r->out;

    if (b->overflow || d > b->len)
        return;
    buf[0] = c;
    len = 1 + resp_format_int(buf + 1, n);
    buf[len++] = '\r';
    buf[len++] = '\n';
    if (resp_buf_reserve(b, len))
        return;
    memmove(b->data + d + len, b->data + d, b->len - d);
    memcpy(b->data + d, buf, len);
    b->len += len;
}

void reply_defer_array(resp_reply *r, resp_defer d, size_t n)
{
    defer_insert(r, d, '*', (int64_t)n);
}

void reply_defer_map(resp_reply *r, resp_defer d, size_t npairs)
{
    if (r->proto >= 3)
        defer_insert(r, d, '%', (int64_t)npairs);
    else
        defer_insert(r, d, '*', (int64_t)npairs * 2);
}

void reply_defer_set(resp_reply *r, resp_defer d, size_t n)
{
    defer_insert(r, d, r->proto >= 3 ? '~' : '*', (int64_t)n);
}
