/*
 * rparse.c — the incremental RESP2/RESP3 reply parser (the contract is in
 * rparse.h).
 *
 * State between calls: pos (the bytes of the reply already handed out as
 * items), scan (how far past pos a line's '\n' has been looked for in vain,
 * so a long line arriving in pieces is scanned once), and a stack of the
 * open aggregates with the elements each still expects. An item is handed
 * out only when all of its bytes are there, so a call that answers
 * RESP_NEED_MORE has changed nothing but scan.
 *
 * Every count and length read from the wire is checked against the limits
 * before it is used; reads stay inside buf[0 .. len).
 */
#include "modules/resp/rparse.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void resp_reply_limits_default(resp_reply_limits *l)
{
    l->max_depth = RESP_REPLY_DEFAULT_MAX_DEPTH;
    l->max_bulk_len = RESP_REPLY_DEFAULT_MAX_BULK_LEN;
    l->max_elements = RESP_REPLY_DEFAULT_MAX_ELEMENTS;
    l->max_line_len = RESP_REPLY_DEFAULT_MAX_LINE_LEN;
    l->max_reply_bytes = RESP_REPLY_DEFAULT_MAX_REPLY_BYTES;
}

void resp_reply_init(resp_reply_parser *p, const resp_reply_limits *limits)
{
    memset(p, 0, sizeof(*p));
    if (limits)
        p->limits = *limits;
    else
        resp_reply_limits_default(&p->limits);
    if (p->limits.max_depth > RESP_REPLY_MAX_DEPTH)
        p->limits.max_depth = RESP_REPLY_MAX_DEPTH;
    resp_reply_reset(p);
}

void resp_reply_reset(resp_reply_parser *p)
{
    p->pos = 0;
    p->scan = 0;
    p->depth = 0;
    p->in_stream = 0;
    p->attr_pending = 0;
    p->error[0] = '\0';
}

static int rp_error(resp_reply_parser *p, const char *msg)
{
    snprintf(p->error, sizeof(p->error), "Protocol error: %s", msg);
    return RESP_PROTO_ERROR;
}

/* The line at pos: its content is buf[pos .. pos + *n), the CRLF follows.
 * RESP_OK, RESP_NEED_MORE or an error. */
static int rp_line(resp_reply_parser *p, const char *buf, size_t len, size_t *n)
{
    size_t from = p->pos + p->scan;
    const char *nl;

    assert(from <= len);
    nl = memchr(buf + from, '\n', len - from);
    if (!nl) {
        p->scan = len - p->pos;
        if (p->scan > p->limits.max_line_len + 1)
            return rp_error(p, "too long line in reply");
        return RESP_NEED_MORE;
    }
    *n = (size_t)(nl - (buf + p->pos));
    if (*n == 0 || buf[p->pos + *n - 1] != '\r')
        return rp_error(p, "expected CRLF");
    (*n)--;
    if (*n > p->limits.max_line_len)
        return rp_error(p, "too long line in reply");
    return RESP_OK;
}

/* A double as RESP3 spells it: inf, -inf, nan, or
 * [+|-]digits[.digits][(e|E)[+|-]digits]. */
static int rp_double(const char *s, size_t n, double *out)
{
    char tmp[128];
    size_t i = 0, digits = 0;

    if (n == 3 && memcmp(s, "inf", 3) == 0)
        return *out = INFINITY, 0;
    if (n == 4 && memcmp(s, "-inf", 4) == 0)
        return *out = -INFINITY, 0;
    if (n == 3 && memcmp(s, "nan", 3) == 0)
        return *out = NAN, 0;
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    if (s[i] == '+' || s[i] == '-')
        i++;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < n && s[i] == '.') {
        size_t frac = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            frac++;
        if (frac == 0)
            return -1;
    }
    if (digits == 0)
        return -1;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            exp++;
        if (exp == 0)
            return -1;
    }
    if (i != n)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    return 0;
}

/* A big number: an optional '-' and at least one digit. */
static int rp_bignum(const char *s, size_t n)
{
    size_t i = n > 0 && s[0] == '-';
    if (i == n)
        return -1;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    return 0;
}

/* A value (or an aggregate's end) finished at depth p->depth: count it in
 * the open aggregates, closing those it completes. was_attr: what finished
 * was an attribute, which counts in no parent. Sets it->done when the top
 * level is complete. */
static void rp_value_done(resp_reply_parser *p, resp_item *it, int was_attr)
{
    for (;;) {
        if (was_attr) {
            p->attr_pending = 1;
            return;
        }
        p->attr_pending = 0;
        if (p->depth == 0) {
            it->done = 1;
            it->reply_size = p->pos;
            p->pos = 0;
            p->scan = 0;
            return;
        }
        struct resp_reply_frame *f = &p->stack[p->depth - 1];
        f->seen++;
        if (f->streamed)
            return;
        assert(f->left > 0);
        if (--f->left > 0)
            return;
        was_attr = f->type == '|';
        p->depth--;
    }
}

/* Open an aggregate of n elements (streamed: unknown). */
static int rp_open(resp_reply_parser *p, resp_item *it, char type, uint64_t n, int streamed)
{
    if (p->depth >= p->limits.max_depth)
        return rp_error(p, "too deep nesting in reply");
    if (!streamed && n == 0) {
        rp_value_done(p, it, type == '|');
        return RESP_OK;
    }
    struct resp_reply_frame *f = &p->stack[p->depth++];
    f->left = n;
    f->seen = 0;
    f->type = type;
    f->streamed = (char)streamed;
    return RESP_OK;
}

/* A length-prefixed string ('$', '!', '=', or a ';' chunk) whose header line
 * is n bytes at pos: hand it out once its bytes are all there. */
static int rp_string(resp_reply_parser *p, const char *buf, size_t len, size_t n, resp_item *it)
{
    int64_t slen;
    char type = buf[p->pos];
    size_t data;

    if (resp_parse_i64(buf + p->pos + 1, n - 1, &slen) != 0 || slen < -1)
        return rp_error(p, "invalid bulk length");
    if (slen == -1) {
        if (type != '$')
            return rp_error(p, "invalid bulk length");
        it->null = 1;
        p->pos += n + 2;
        p->scan = 0;
        rp_value_done(p, it, 0);
        return RESP_OK;
    }
    if (type == ';' && slen == 0) { /* ";0\r\n" ends a streamed string: no data follows */
        it->type = RESP_ITEM_END;
        p->in_stream = 0;
        p->pos += n + 2;
        p->scan = 0;
        rp_value_done(p, it, 0);
        return RESP_OK;
    }
    if ((uint64_t)slen > p->limits.max_bulk_len)
        return rp_error(p, "too big bulk string in reply");
    if (type == '=' && slen < 4)
        return rp_error(p, "invalid verbatim string");
    data = p->pos + n + 2;
    if ((uint64_t)(data - p->pos) + (uint64_t)slen + 2 > p->limits.max_reply_bytes - p->pos)
        return rp_error(p, "too big reply");
    if (len - data < (uint64_t)slen + 2) {
        /* The header is known not to hold the '\n' twice: skip its scan. */
        p->scan = n + 1;
        return RESP_NEED_MORE;
    }
    if (buf[data + slen] != '\r' || buf[data + slen + 1] != '\n')
        return rp_error(p, "expected CRLF after bulk string");
    if (type == '=' && buf[data + 3] != ':')
        return rp_error(p, "invalid verbatim string");
    it->str.off = data;
    it->str.len = (size_t)slen;
    p->pos = data + (size_t)slen + 2;
    p->scan = 0;
    if (type == ';') {
        it->type = RESP_ITEM_CHUNK;
        return RESP_OK;
    }
    rp_value_done(p, it, 0);
    return RESP_OK;
}

/* An aggregate header line of n bytes at pos. */
static int rp_aggregate(resp_reply_parser *p, const char *buf, size_t n, resp_item *it)
{
    char type = buf[p->pos];
    const char *num = buf + p->pos + 1;
    int64_t count;
    uint64_t elems;

    p->pos += n + 2;
    p->scan = 0;
    if (n == 2 && num[0] == '?') {
        it->streamed = 1;
        return rp_open(p, it, type, 0, 1);
    }
    if (resp_parse_i64(num, n - 1, &count) != 0 || count < -1)
        return rp_error(p, "invalid multibulk length");
    if (count == -1) {
        if (type != '*')
            return rp_error(p, "invalid multibulk length");
        it->null = 1;
        rp_value_done(p, it, 0);
        return RESP_OK;
    }
    elems = (uint64_t)count;
    if (elems > p->limits.max_elements || ((type == '%' || type == '|') &&
                                           elems > p->limits.max_elements / 2))
        return rp_error(p, "too many elements in reply");
    it->count = elems;
    if (type == '%' || type == '|')
        elems *= 2;
    return rp_open(p, it, type, elems, 0);
}

/* The end marker "." of a streamed aggregate (line of n bytes at pos). */
static int rp_end(resp_reply_parser *p, size_t n, resp_item *it)
{
    struct resp_reply_frame *f;

    if (n != 1 || p->depth == 0 || !p->stack[p->depth - 1].streamed)
        return rp_error(p, "unexpected end of aggregate");
    f = &p->stack[p->depth - 1];
    if (p->attr_pending || ((f->type == '%' || f->type == '|') && f->seen % 2 != 0))
        return rp_error(p, "unexpected end of aggregate");
    p->pos += n + 2;
    p->scan = 0;
    it->type = RESP_ITEM_END;
    p->depth--;
    it->depth = p->depth;
    rp_value_done(p, it, f->type == '|');
    return RESP_OK;
}

/* A simple line value ('+' '-' ':' '_' '#' ',' '(') of n bytes at pos. */
static int rp_simple(resp_reply_parser *p, const char *buf, size_t n, resp_item *it)
{
    const char *s = buf + p->pos + 1;
    size_t sn = n - 1;

    switch (buf[p->pos]) {
    case ':':
        if (resp_parse_i64(s, sn, &it->integer) != 0)
            return rp_error(p, "invalid integer in reply");
        break;
    case '_':
        if (sn != 0)
            return rp_error(p, "invalid null in reply");
        break;
    case '#':
        if (sn != 1 || (s[0] != 't' && s[0] != 'f'))
            return rp_error(p, "invalid boolean in reply");
        it->integer = s[0] == 't';
        break;
    case ',':
        if (rp_double(s, sn, &it->dbl) != 0)
            return rp_error(p, "invalid double in reply");
        break;
    case '(':
        if (rp_bignum(s, sn) != 0)
            return rp_error(p, "invalid big number in reply");
        break;
    default: /* '+' '-' */
        if (memchr(s, '\r', sn))
            return rp_error(p, "CR inside a simple string");
        break;
    }
    it->str.off = p->pos + 1;
    it->str.len = sn;
    p->pos += n + 2;
    p->scan = 0;
    rp_value_done(p, it, 0);
    return RESP_OK;
}

int resp_reply_next(resp_reply_parser *p, const char *buf, size_t len, resp_item *it)
{
    size_t n;
    int rc;

    if (p->error[0])
        return RESP_PROTO_ERROR;
    assert(p->pos <= len);
    memset(it, 0, sizeof(*it));
    it->depth = p->depth;
    if (p->pos > p->limits.max_reply_bytes)
        return rp_error(p, "too big reply");
    rc = rp_line(p, buf, len, &n);
    if (rc != RESP_OK)
        return rc;
    if (n == 0)
        return rp_error(p, "empty line in reply");
    if (p->pos + n + 2 > p->limits.max_reply_bytes)
        return rp_error(p, "too big reply");
    it->type = (unsigned char)buf[p->pos];
    if (p->in_stream) {
        if (it->type != ';')
            return rp_error(p, "expected ';' in streamed string");
        return rp_string(p, buf, len, n, it);
    }
    switch (it->type) {
    case '+': case '-': case ':': case '_': case '#': case ',': case '(':
        return rp_simple(p, buf, n, it);
    case '$': case '!': case '=':
        if (it->type == '$' && n == 2 && buf[p->pos + 1] == '?') {
            it->streamed = 1;
            p->in_stream = 1;
            p->pos += n + 2;
            p->scan = 0;
            return RESP_OK;
        }
        return rp_string(p, buf, len, n, it);
    case '*': case '%': case '~': case '>': case '|':
        return rp_aggregate(p, buf, n, it);
    case '.':
        return rp_end(p, n, it);
    default:
        return rp_error(p, "unknown reply type");
    }
}

int resp_reply_frame(resp_reply_parser *p, const char *buf, size_t len, size_t *size)
{
    resp_item it;

    for (;;) {
        int rc = resp_reply_next(p, buf, len, &it);
        if (rc != RESP_OK)
            return rc;
        if (it.done) {
            *size = it.reply_size;
            return RESP_OK;
        }
    }
}
