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
    /* An integer below 2^52 in magnitude as an integer, as Redis's
     * d2string (7.0) and fpconv (7.2) print it: %.15g would turn the GEO
     * score 1791873972053020 into 1.79187397205302e+15. */
    if (fabs(d) < 4503599627370496.0 && d == (double)(long long)d)
        return (size_t)sprintf(buf, "%lld", (long long)d);
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
    net_buf_append(r->out, buf, len);
}

void reply_simple(resp_reply *r, const char *s)
{
    size_t n = strlen(s);
    if (net_buf_reserve(r->out, n + 3))
        return;
    net_buf_append(r->out, "+", 1);
    net_buf_append(r->out, s, n);
    net_buf_append(r->out, "\r\n", 2);
}

void reply_ok(resp_reply *r)
{
    net_buf_append(r->out, "+OK\r\n", 5);
}

void reply_error(resp_reply *r, const char *msg)
{
    size_t n = strlen(msg), at;

    r->errors++;
    if (net_buf_reserve(r->out, n + 3))
        return;
    net_buf_append(r->out, "-", 1);
    at = r->out->len;
    net_buf_append(r->out, msg, n);
    /* A newline inside an error would end the frame early and desync the
     * client: errors may quote user input. */
    for (size_t i = at; i < at + n; i++)
        if (r->out->data[i] == '\r' || r->out->data[i] == '\n')
            r->out->data[i] = ' ';
    net_buf_append(r->out, "\r\n", 2);
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
    if (net_buf_reserve(r->out, n + 32))
        return;
    header(r, '$', (int64_t)n);
    net_buf_append(r->out, p, n);
    net_buf_append(r->out, "\r\n", 2);
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
        net_buf_append(r->out, "_\r\n", 3);
    else
        net_buf_append(r->out, "$-1\r\n", 5);
}

void reply_null_array(resp_reply *r)
{
    if (r->proto >= 3)
        net_buf_append(r->out, "_\r\n", 3);
    else
        net_buf_append(r->out, "*-1\r\n", 5);
}

void reply_double(resp_reply *r, double d)
{
    char buf[40];
    size_t n = resp_format_double(buf + 1, d);

    if (r->proto >= 3) {
        buf[0] = ',';
        memcpy(buf + 1 + n, "\r\n", 2);
        net_buf_append(r->out, buf, n + 3);
    } else {
        reply_bulk(r, buf + 1, n);
    }
}

void reply_bool(resp_reply *r, int v)
{
    if (r->proto >= 3)
        net_buf_append(r->out, v ? "#t\r\n" : "#f\r\n", 4);
    else
        net_buf_append(r->out, v ? ":1\r\n" : ":0\r\n", 4);
}

void reply_verbatim(resp_reply *r, const void *p, size_t n)
{
    if (r->proto < 3) {
        reply_bulk(r, p, n);
        return;
    }
    if (net_buf_reserve(r->out, n + 40))
        return;
    header(r, '=', (int64_t)n + 4);
    net_buf_append(r->out, "txt:", 4);
    net_buf_append(r->out, p, n);
    net_buf_append(r->out, "\r\n", 2);
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
    net_buf *b = r->out;

    if (b->overflow || d > b->len)
        return;
    buf[0] = c;
    len = 1 + resp_format_int(buf + 1, n);
    buf[len++] = '\r';
    buf[len++] = '\n';
    if (net_buf_reserve(b, len))
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
