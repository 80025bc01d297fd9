/*
 * proto.c — the incremental RESP2 request parser (the contract is in proto.h).
 *
 * A request is parsed in place in the caller's buffer. The state kept between
 * calls (pos, want, got, bulk_len) is exactly what is needed to resume where
 * the last call stopped, so each byte is examined a bounded number of times
 * however the request is cut into reads. Every length read from the wire is
 * checked against the limits before it is used, and nothing here allocates:
 * a malicious "*2147483647" costs nothing until elements actually arrive.
 *
 * Wording of errors follows Redis (networking.c) so that client libraries and
 * people see the messages they know.
 */
#include "modules/resp/proto.h"

#include "modules/net/text.h"

#include <stdio.h>
#include <string.h>

void resp_limits_default(resp_limits *l)
{
    l->max_bulk_len = RESP_DEFAULT_MAX_BULK_LEN;
    l->max_elements = RESP_DEFAULT_MAX_ELEMENTS;
    l->max_inline_len = RESP_DEFAULT_MAX_INLINE_LEN;
    l->max_request_bytes = RESP_DEFAULT_MAX_REQUEST_BYTES;
}

void resp_parser_init(resp_parser *p, const resp_limits *limits)
{
    memset(p, 0, sizeof(*p));
    if (limits)
        p->limits = *limits;
    else
        resp_limits_default(&p->limits);
    resp_parser_reset(p);
}

void resp_parser_reset(resp_parser *p)
{
    p->pos = 0;
    p->want = 0;
    p->got = 0;
    p->bulk_len = -1;
    p->kind = 0;
    p->error[0] = '\0';
}

int resp_parse_i64(const char *s, size_t n, int64_t *out)
{
    uint64_t v = 0, limit;
    size_t i = 0;
    int neg = 0;

    if (n == 0 || n > 20)
        return -1;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
        if (n == 1)
            return -1;
    }
    /* Leading zeros are refused (as Redis's string2ll does), so that every
     * number has exactly one spelling: "01" is not a key index. */
    if (s[i] == '0' && n > i + 1)
        return -1;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9 || v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg && v == 0 && n > 1)
        return -1; /* "-0" */
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static int proto_error(resp_parser *p, const char *msg)
{
    snprintf(p->error, sizeof(p->error), "Protocol error: %s", msg);
    return RESP_PROTO_ERROR;
}

/* ---- inline commands ------------------------------------------------------- */

static int parse_inline(resp_parser *p, char *buf, size_t len, resp_request *req)
{
    char *nl = memchr(buf + p->pos, '\n', len - p->pos);
    size_t line_len;
    long n;

    if (!nl) {
        if (len > p->limits.max_inline_len)
            return proto_error(p, "too big inline request");
        p->pos = len;
        return RESP_NEED_MORE;
    }
    line_len = (size_t)(nl - buf);
    if (line_len > p->limits.max_inline_len)
        return proto_error(p, "too big inline request");
    req->size = line_len + 1;
    if (line_len && buf[line_len - 1] == '\r')
        line_len--;
    n = net_split_args(buf, line_len, 0, NULL, 0);
    if (n < 0)
        return proto_error(p, "unbalanced quotes in request");
    if ((size_t)n > req->argv_cap) {
        req->argc_needed = (size_t)n;
        return RESP_NEED_ARGV;
    }
    net_split_args(buf, line_len, 0, req->argv, req->argv_cap);
    req->argc = (size_t)n;
    req->inline_cmd = 1;
    resp_parser_reset(p);
    return RESP_OK;
}

/* ---- multibulk ------------------------------------------------------------- */

/* parse_count's answer when the count was read and elements follow. */
#define PARSE_GO_ON 3

/* A header line "<c><digits>\r\n" at buf[at]: its number and the offset after
 * it. RESP_NEED_MORE if the line is not complete; -1 if longer than allowed. */
static int header_line(const char *buf, size_t len, size_t at, int64_t *num, size_t *next,
                       int *bad_number)
{
    size_t lim = at + RESP_MAX_HEADER_LINE < len ? at + RESP_MAX_HEADER_LINE : len;
    const char *cr = memchr(buf + at + 1, '\r', lim - at - 1);

    if (!cr)
        return lim - at >= RESP_MAX_HEADER_LINE ? -1 : RESP_NEED_MORE;
    if ((size_t)(cr - buf) + 1 >= len)
        return RESP_NEED_MORE; /* the \n has not arrived */
    *bad_number = resp_parse_i64(buf + at + 1, (size_t)(cr - buf) - at - 1, num) != 0;
    if (cr[1] != '\n')
        *bad_number = 1;
    *next = (size_t)(cr - buf) + 2;
    return 0;
}

static int parse_count(resp_parser *p, char *buf, size_t len, resp_request *req)
{
    int64_t n;
    size_t next;
    int bad = 0;
    int rc = header_line(buf, len, 0, &n, &next, &bad);

    if (rc == RESP_NEED_MORE)
        return rc;
    if (rc)
        return proto_error(p, "too big mbulk count string");
    if (bad || n > INT32_MAX || (n > 0 && (uint64_t)n > p->limits.max_elements))
        return proto_error(p, "invalid multibulk length");
    if (n <= 0) { /* "*0" and "*-1": nothing to run */
        req->argc = 0;
        req->size = next;
        resp_parser_reset(p);
        return RESP_OK;
    }
    p->want = (uint64_t)n;
    p->pos = next;
    return PARSE_GO_ON;
}

static int parse_multibulk(resp_parser *p, char *buf, size_t len, resp_request *req)
{
    int rc;

    if (p->want == 0) {
        rc = parse_count(p, buf, len, req);
        if (rc != PARSE_GO_ON)
            return rc;
    }
    while (p->got < p->want) {
        if (p->bulk_len < 0) {
            int64_t n;
            size_t next;
            int bad = 0;
            if (p->pos >= len)
                return RESP_NEED_MORE;
            if (buf[p->pos] != '$') {
                char c = buf[p->pos], msg[40];
                snprintf(msg, sizeof(msg), "expected '$', got '%c'",
                         (c >= 32 && c < 127) ? c : '?');
                return proto_error(p, msg);
            }
            rc = header_line(buf, len, p->pos, &n, &next, &bad);
            if (rc == RESP_NEED_MORE)
                return rc;
            if (rc)
                return proto_error(p, "too big bulk count string");
            if (bad || n < 0 || (uint64_t)n > p->limits.max_bulk_len)
                return proto_error(p, "invalid bulk length");
            if (next + (uint64_t)n + 2 > p->limits.max_request_bytes)
                return proto_error(p, "too big request");
            if (p->got >= req->argv_cap) {
                /* Grow by doubling, not to the announced count: the count
                 * is the client's claim, the bytes are not here yet. */
                uint64_t need = p->got < 16 ? 16 : p->got * 2;
                req->argc_needed = (size_t)(need < p->want ? need : p->want);
                return RESP_NEED_ARGV;
            }
            p->bulk_len = n;
            p->pos = next;
        }
        if (len - p->pos < (uint64_t)p->bulk_len + 2)
            return RESP_NEED_MORE;
        if (buf[p->pos + p->bulk_len] != '\r' || buf[p->pos + p->bulk_len + 1] != '\n')
            return proto_error(p, "expected CRLF after bulk string");
        req->argv[p->got].off = p->pos;
        req->argv[p->got].len = (size_t)p->bulk_len;
        p->pos += (size_t)p->bulk_len + 2;
        p->bulk_len = -1;
        p->got++;
    }
    req->argc = (size_t)p->got;
    req->size = p->pos;
    req->inline_cmd = 0;
    resp_parser_reset(p);
    return RESP_OK;
}

int resp_parse(resp_parser *p, char *buf, size_t len, resp_request *req)
{
    if (p->error[0])
        return RESP_PROTO_ERROR;
    req->argc = 0;
    if (len == 0)
        return RESP_NEED_MORE;
    if (p->kind == 0)
        p->kind = buf[0] == '*' ? '*' : 'i';
    if (p->kind == '*')
        return parse_multibulk(p, buf, len, req);
    return parse_inline(p, buf, len, req);
}

uint64_t resp_parse_wanted(const resp_parser *p, size_t len)
{
    if (p->kind == '*' && p->bulk_len >= 0 && p->pos + (uint64_t)p->bulk_len + 2 > len)
        return p->pos + (uint64_t)p->bulk_len + 2 - len;
    return 0;
}
