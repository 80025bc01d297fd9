/*
 * test_resp_proto.c — unit tests of modules/resp without a server: the
 * request parser (whole, byte by byte, pipelined, inline, every limit and
 * malformed input), the reply writer in RESP2 and RESP3, the score and list
 * encodings' byte order, the glob matcher and the number parsers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/resp/command.h"
#include "modules/resp/proto.h"
#include "modules/resp/reply.h"
#include "modules/redis/store.h"
#include "tests/testutil.h"

TestSuite(resp_parser, .timeout = 30);
TestSuite(resp_reply, .timeout = 30);
TestSuite(resp_encoding, .timeout = 30);

/* ---- a parsing harness -------------------------------------------------------------- */

struct parsed {
    int rc;
    size_t argc, size;
    char args[16][64];
    char error[96];
};

/* Parse one request from text, feeding step bytes at a time (0 = all at
 * once), growing argv on demand as the server does. */
static struct parsed parse(const char *text, size_t len, size_t step, const resp_limits *lim)
{
    struct parsed out;
    resp_parser p;
    resp_request req = {0};
    char *buf = malloc(len + 1);
    size_t have = step ? 0 : len;
    int rc;

    memset(&out, 0, sizeof(out));
    cr_assert(buf);
    memcpy(buf, text, len);
    resp_parser_init(&p, lim);
    for (;;) {
        rc = resp_parse(&p, buf, have, &req);
        if (rc == RESP_NEED_ARGV) {
            cr_assert(req.argc_needed > req.argv_cap);
            req.argv = realloc(req.argv, req.argc_needed * sizeof(*req.argv));
            req.argv_cap = req.argc_needed;
            continue;
        }
        if (rc == RESP_NEED_MORE && have < len) {
            have += step ? step : len;
            if (have > len)
                have = len;
            continue;
        }
        break;
    }
    out.rc = rc;
    if (rc == RESP_OK) {
        out.argc = req.argc;
        out.size = req.size;
        for (size_t i = 0; i < req.argc && i < 16; i++)
            snprintf(out.args[i], sizeof(out.args[i]), "%.*s", (int)req.argv[i].len,
                     buf + req.argv[i].off);
    }
    snprintf(out.error, sizeof(out.error), "%s", p.error);
    free(req.argv);
    free(buf);
    return out;
}

#define PARSE(s) parse(s, sizeof(s) - 1, 0, NULL)

Test(resp_parser, multibulk_whole_and_byte_by_byte)
{
    static const char req[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n";
    for (size_t step = 0; step <= 3; step++) {
        struct parsed p = parse(req, sizeof(req) - 1, step, NULL);
        cr_assert_eq(p.rc, RESP_OK, "step %zu: rc %d (%s)", step, p.rc, p.error);
        cr_assert_eq(p.argc, 3);
        cr_assert_str_eq(p.args[0], "SET");
        cr_assert_str_eq(p.args[1], "key");
        cr_assert_str_eq(p.args[2], "va\r\nl"); /* binary safe */
        cr_assert_eq(p.size, sizeof(req) - 1);
    }
}

Test(resp_parser, pipelined_requests_one_at_a_time)
{
    char buf[] = "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n";
    size_t len = sizeof(buf) - 1, at = 0, count = 0;
    resp_span spans[4];
    resp_request req = {spans, 4, 0, 0, 0, 0};
    resp_parser p;

    resp_parser_init(&p, NULL);
    while (at < len) {
        cr_assert_eq(resp_parse(&p, buf + at, len - at, &req), RESP_OK);
        at += req.size;
        count++;
    }
    cr_assert_eq(count, 3);
    cr_assert(req.inline_cmd);
    cr_assert_eq(resp_parse(&p, buf + at, 0, &req), RESP_NEED_MORE);
}

Test(resp_parser, byte_by_byte_big_bulk_is_linear)
{
    /* A 1 MiB argument fed one byte at a time: the parser must resume, not
     * rescan (this would take minutes if it were quadratic). */
    size_t n = 1 << 20, len;
    char *req = malloc(n + 64);
    resp_span spans[2];
    resp_request r = {spans, 2, 0, 0, 0, 0};
    resp_parser p;
    int rc = RESP_NEED_MORE;

    len = (size_t)sprintf(req, "*1\r\n$%zu\r\n", n);
    memset(req + len, 'x', n);
    len += n;
    memcpy(req + len, "\r\n", 2);
    len += 2;
    resp_parser_init(&p, NULL);
    for (size_t have = 1; have <= len && rc == RESP_NEED_MORE; have++) {
        rc = resp_parse(&p, req, have, &r);
        if (rc == RESP_NEED_MORE && have > 16)
            cr_assert(resp_parse_wanted(&p, have) > 0 || have >= len - 2);
    }
    cr_assert_eq(rc, RESP_OK);
    cr_assert_eq(r.argc, 1);
    cr_assert_eq(spans[0].len, n);
    free(req);
}

Test(resp_parser, inline_commands)
{
    struct parsed p = PARSE("set  key \"a b\\x41\\n\" 'it''s'\r\n");
    cr_assert_eq(p.rc, RESP_PROTO_ERROR); /* 'it''s': a quote right after a quote */

    p = PARSE("set key \"a b\\x41\\n\" 'it\\'s'\r\n");
    cr_assert_eq(p.rc, RESP_OK, "%s", p.error);
    cr_assert_eq(p.argc, 4);
    cr_assert_str_eq(p.args[2], "a bA\n");
    cr_assert_str_eq(p.args[3], "it's");

    p = PARSE("PING\n"); /* a bare \n ends a line too */
    cr_assert_eq(p.rc, RESP_OK);
    cr_assert_str_eq(p.args[0], "PING");

    p = PARSE("\r\n"); /* empty line: nothing to run */
    cr_assert_eq(p.rc, RESP_OK);
    cr_assert_eq(p.argc, 0);
    cr_assert_eq(p.size, 2);

    p = PARSE("get \"unterminated\r\n");
    cr_assert_eq(p.rc, RESP_PROTO_ERROR);
    cr_assert_str_eq(p.error, "Protocol error: unbalanced quotes in request");

    p = PARSE("get\"x\"\r\n"); /* quotes may start inside a word in Redis too */
    cr_assert_eq(p.rc, RESP_OK);
}

Test(resp_parser, empty_and_null_multibulk)
{
    struct parsed p = PARSE("*0\r\n");
    cr_assert_eq(p.rc, RESP_OK);
    cr_assert_eq(p.argc, 0);
    p = PARSE("*-1\r\n");
    cr_assert_eq(p.rc, RESP_OK);
    cr_assert_eq(p.argc, 0);
    p = PARSE("*1\r\n$0\r\n\r\n");
    cr_assert_eq(p.rc, RESP_OK);
    cr_assert_eq(p.argc, 1);
    cr_assert_str_eq(p.args[0], "");
}

Test(resp_parser, malformed_input_is_a_protocol_error)
{
    static const struct {
        const char *text, *error;
    } cases[] = {
        {"*x\r\n", "Protocol error: invalid multibulk length"},
        {"*3000000000\r\n", "Protocol error: invalid multibulk length"},
        {"*01\r\n$1\r\na\r\n", "Protocol error: invalid multibulk length"},
        {"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n$999999999999\r\n", "Protocol error: invalid bulk length"},
        {"*1\r\n:1\r\n", "Protocol error: expected '$', got ':'"},
        {"*1\r\n$1\r\nab\r\n", "Protocol error: expected CRLF after bulk string"},
        {"*1\r\n$1\r\n", NULL}, /* incomplete: more is needed, not an error */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct parsed p = parse(cases[i].text, strlen(cases[i].text), 0, NULL);
        if (!cases[i].error) {
            cr_assert_eq(p.rc, RESP_NEED_MORE, "case %zu", i);
            continue;
        }
        cr_assert_eq(p.rc, RESP_PROTO_ERROR, "case %zu: rc %d", i, p.rc);
        cr_assert_str_eq(p.error, cases[i].error, "case %zu", i);
    }
}

Test(resp_parser, header_lines_without_end_are_bounded)
{
    char buf[200];
    struct parsed p;

    memset(buf, '1', sizeof(buf));
    buf[0] = '*';
    p = parse(buf, sizeof(buf), 0, NULL);
    cr_assert_eq(p.rc, RESP_PROTO_ERROR);
    cr_assert_str_eq(p.error, "Protocol error: too big mbulk count string");
    memcpy(buf, "*1\r\n$", 5);
    p = parse(buf, sizeof(buf), 0, NULL);
    cr_assert_eq(p.rc, RESP_PROTO_ERROR);
    cr_assert_str_eq(p.error, "Protocol error: too big bulk count string");
}

Test(resp_parser, limits)
{
    resp_limits lim;
    struct parsed p;
    char *big;

    resp_limits_default(&lim);
    lim.max_bulk_len = 10;
    lim.max_elements = 3;
    lim.max_inline_len = 32;
    lim.max_request_bytes = 50;
    p = parse("*1\r\n$11\r\n", 9, 0, &lim);
    cr_assert_eq(p.rc, RESP_PROTO_ERROR);
    cr_assert_str_eq(p.error, "Protocol error: invalid bulk length");
    p = parse("*1\r\n$10\r\n0123456789\r\n", 22, 0, &lim);
    cr_assert_eq(p.rc, RESP_OK);
    p = parse("*4\r\n", 4, 0, &lim);
    cr_assert_eq(p.rc, RESP_PROTO_ERROR);
    cr_assert_str_eq(p.error, "Protocol error: invalid multibulk length");
    static const char three[] = "*3\r\n$10\r\n0123456789\r\n$10\r\n0123456789\r\n$10\r\n";
    p = parse(three, sizeof(three) - 1, 0, &lim);
    cr_assert_eq(p.rc, RESP_PROTO_ERROR);
    cr_assert_str_eq(p.error, "Protocol error: too big request");
    big = malloc(100);
    memset(big, 'a', 100);
    p = parse(big, 100, 0, &lim);
    cr_assert_eq(p.rc, RESP_PROTO_ERROR);
    cr_assert_str_eq(p.error, "Protocol error: too big inline request");
    free(big);
}

Test(resp_parser, argv_grows_by_doubling_not_by_claim)
{
    resp_parser p;
    resp_request req = {0};
    char buf[] = "*1000000\r\n$1\r\na\r\n";

    resp_parser_init(&p, NULL);
    cr_assert_eq(resp_parse(&p, buf, sizeof(buf) - 1, &req), RESP_NEED_ARGV);
    cr_assert_leq(req.argc_needed, 16, "a claimed count must not size the array");
}

Test(resp_parser, integers_as_redis_reads_them)
{
    int64_t v;
    cr_assert_eq(resp_parse_i64("123", 3, &v), 0);
    cr_assert_eq(v, 123);
    cr_assert_eq(resp_parse_i64("-9223372036854775808", 20, &v), 0);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(resp_parse_i64("9223372036854775807", 19, &v), 0);
    cr_assert_eq(resp_parse_i64("9223372036854775808", 19, &v), -1);
    cr_assert_eq(resp_parse_i64("+1", 2, &v), -1);
    cr_assert_eq(resp_parse_i64(" 1", 2, &v), -1);
    cr_assert_eq(resp_parse_i64("01", 2, &v), -1);
    cr_assert_eq(resp_parse_i64("-0", 2, &v), -1);
    cr_assert_eq(resp_parse_i64("", 0, &v), -1);
    cr_assert_eq(resp_parse_i64("0", 1, &v), 0);
}

Test(resp_parser, doubles_as_redis_reads_them)
{
    double d;
    cr_assert_eq(resp_parse_double("1.5", 3, &d), 0);
    cr_assert_float_eq(d, 1.5, 0);
    cr_assert_eq(resp_parse_double("-inf", 4, &d), 0);
    cr_assert(isinf(d) && d < 0);
    cr_assert_eq(resp_parse_double("+inf", 4, &d), 0);
    cr_assert_eq(resp_parse_double("nan", 3, &d), -1);
    cr_assert_eq(resp_parse_double("1e999", 5, &d), -1);
    cr_assert_eq(resp_parse_double(" 1", 2, &d), -1);
    cr_assert_eq(resp_parse_double("1x", 2, &d), -1);
    cr_assert_eq(resp_parse_double("", 0, &d), -1);
}

/* ---- the reply writer ------------------------------------------------------------------ */

static char *render(int proto, void (*write)(resp_reply *r))
{
    static char out[4096];
    net_buf b;
    resp_reply r = {&b, proto, 0};

    net_buf_init(&b, 0);
    write(&r);
    cr_assert(!b.overflow);
    snprintf(out, sizeof(out), "%.*s", (int)b.len, b.data);
    net_buf_free(&b);
    return out;
}

static void w_scalars(resp_reply *r)
{
    reply_ok(r);
    reply_int(r, -42);
    reply_bulk(r, "ab", 2);
    reply_null(r);
    reply_null_array(r);
    reply_double(r, 1.5);
    reply_bool(r, 1);
    reply_error(r, "ERR bad\r\nthing");
}

Test(resp_reply, scalars_in_both_protocols)
{
    cr_assert_str_eq(
        render(2, w_scalars),
        "+OK\r\n:-42\r\n$2\r\nab\r\n$-1\r\n*-1\r\n$3\r\n1.5\r\n:1\r\n-ERR bad  thing\r\n");
    cr_assert_str_eq(render(3, w_scalars),
                     "+OK\r\n:-42\r\n$2\r\nab\r\n_\r\n_\r\n,1.5\r\n#t\r\n-ERR bad  thing\r\n");
}

static void w_aggregates(resp_reply *r)
{
    reply_map(r, 1);
    reply_bulk_cstr(r, "k");
    reply_int(r, 1);
    reply_set(r, 1);
    reply_bulk_cstr(r, "m");
    reply_push(r, 1);
    reply_bulk_cstr(r, "p");
}

Test(resp_reply, maps_sets_and_pushes_flatten_in_resp2)
{
    cr_assert_str_eq(render(2, w_aggregates),
                     "*2\r\n$1\r\nk\r\n:1\r\n*1\r\n$1\r\nm\r\n*1\r\n$1\r\np\r\n");
    cr_assert_str_eq(render(3, w_aggregates),
                     "%1\r\n$1\r\nk\r\n:1\r\n~1\r\n$1\r\nm\r\n>1\r\n$1\r\np\r\n");
}

static void w_deferred(resp_reply *r)
{
    resp_defer outer = reply_defer(r), inner;
    reply_bulk_cstr(r, "a");
    inner = reply_defer(r);
    for (int i = 0; i < 12; i++)
        reply_int(r, i);
    reply_defer_array(r, inner, 12);
    reply_defer_map(r, outer, 1);
}

Test(resp_reply, deferred_lengths_nest)
{
    cr_assert_str_eq(
        render(2, w_deferred),
        "*2\r\n$1\r\na\r\n*12\r\n:0\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n:7\r\n:8\r\n"
        ":9\r\n:10\r\n:11\r\n");
    cr_assert(strncmp(render(3, w_deferred), "%1\r\n$1\r\na\r\n*12\r\n", 16) == 0);
}

Test(resp_reply, doubles_are_shortest_round_trip)
{
    static const struct {
        double d;
        const char *text;
    } cases[] = {
        {1.5, "1.5"},      {0.1, "0.1"},        {-2, "-2"},
        {1e300, "1e+300"}, {3.0, "3"},          {1.0 / 3, "0.3333333333333333"},
        {INFINITY, "inf"}, {-INFINITY, "-inf"}, {-0.0, "0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[40];
        resp_format_double(buf, cases[i].d);
        cr_assert_str_eq(buf, cases[i].text);
    }
    char buf[RESP_LONG_DOUBLE_CHARS];
    resp_format_long_double(buf, sizeof(buf), 10.5L);
    cr_assert_str_eq(buf, "10.5");
    resp_format_long_double(buf, sizeof(buf), 3.0L);
    cr_assert_str_eq(buf, "3");
    cr_assert_eq(resp_format_long_double(buf, sizeof(buf), (long double)INFINITY), 0);
}

Test(resp_reply, the_cap_stops_growth)
{
    net_buf b;
    resp_reply r = {&b, 2, 0};
    char big[1000];

    memset(big, 'x', sizeof(big));
    net_buf_init(&b, 4096);
    for (int i = 0; i < 10; i++)
        reply_bulk(&r, big, sizeof(big));
    cr_assert(b.overflow);
    cr_assert_leq(b.len, 4096);
    net_buf_free(&b);
}

/* A hold marks where the bytes that wait for a sync begin; compaction (after
 * a partial send) moves it with the data, and bytes appended after it stay
 * behind it. */
Test(resp_reply, hold_moves_with_compaction)
{
    net_buf b;

    net_buf_init(&b, 0);
    cr_assert_eq(b.hold, NET_NO_HOLD);
    net_buf_append(&b, "+OK\r\n", 5);
    net_buf_append(&b, ":1\r\n", 4);
    b.hold = 5; /* the ":1" waits */
    b.sent = 3; /* a partial write of "+OK\r\n" */
    net_buf_compact(&b);
    cr_assert_eq(b.len, 6);
    cr_assert_eq(b.hold, 2); /* still in front of ":1" */
    cr_assert(memcmp(b.data + b.hold, ":1\r\n", 4) == 0);
    b.sent = 2; /* the rest of "+OK\r\n", up to the hold */
    net_buf_append(&b, ":2\r\n", 4);
    net_buf_compact(&b);
    cr_assert_eq(b.hold, 0);
    cr_assert_eq(b.len, 8);
    cr_assert(memcmp(b.data, ":1\r\n:2\r\n", 8) == 0);
    b.hold = NET_NO_HOLD;
    b.sent = b.len;
    net_buf_compact(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.hold, NET_NO_HOLD);
    net_buf_free(&b);
}

/* ---- encodings -------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

Test(resp_encoding, score_bytes_sort_like_numbers)
{
    double v[400];
    uint8_t enc[400][8];
    size_t n = 0;
    tu_rng rng;

    tu_rng_init(&rng, tu_seed("score order"));
    v[n++] = -INFINITY;
    v[n++] = INFINITY;
    v[n++] = 0.0;
    v[n++] = -1e-310; /* subnormal */
    v[n++] = 1e-310;
    v[n++] = -1.0;
    v[n++] = 1.0;
    v[n++] = -1.7976931348623157e308;
    v[n++] = 1.7976931348623157e308;
    while (n < 400) {
        uint64_t bits = tu_next(&rng);
        double d;
        memcpy(&d, &bits, 8);
        if (!isnan(d))
            v[n++] = d;
    }
    qsort(v, n, sizeof(v[0]), cmp_double);
    for (size_t i = 0; i < n; i++) {
        store_score_encode(v[i], enc[i]);
        cr_assert(store_score_decode(enc[i]) == v[i] ||
                  (v[i] == 0 && store_score_decode(enc[i]) == 0));
        if (i)
            cr_assert(memcmp(enc[i - 1], enc[i], 8) <= 0, TU_SEED_FMT "%g vs %g", TU_SEED_ARG,
                      v[i - 1], v[i]);
        if (i && v[i - 1] < v[i])
            cr_assert(memcmp(enc[i - 1], enc[i], 8) < 0);
    }
    uint8_t a[8], b[8];
    store_score_encode(-0.0, a);
    store_score_encode(0.0, b);
    cr_assert(memcmp(a, b, 8) == 0, "-0 and 0 are one score");
}

Test(resp_encoding, list_indexes_sort_like_numbers)
{
    uint8_t a[8], b[8];
    store_list_index_encode(STORE_LIST_START - 1, a);
    store_list_index_encode(STORE_LIST_START, b);
    cr_assert(memcmp(a, b, 8) < 0);
    cr_assert_eq(store_list_index_decode(b), STORE_LIST_START);
}

Test(resp_encoding, glob)
{
    cr_assert(resp_glob_match("*", 1, "", 0, 0));
    cr_assert(resp_glob_match("h?llo", 5, "hello", 5, 0));
    cr_assert(resp_glob_match("h*llo", 5, "heeeello", 8, 0));
    cr_assert(resp_glob_match("h[ae]llo", 8, "hallo", 5, 0));
    cr_assert(!resp_glob_match("h[ae]llo", 8, "hillo", 5, 0));
    cr_assert(resp_glob_match("h[^e]llo", 8, "hallo", 5, 0));
    cr_assert(!resp_glob_match("h[^e]llo", 8, "hello", 5, 0));
    cr_assert(resp_glob_match("h[a-b]llo", 9, "hbllo", 5, 0));
    cr_assert(resp_glob_match("h\\*llo", 6, "h*llo", 5, 0));
    cr_assert(!resp_glob_match("h\\*llo", 6, "hello", 5, 0));
    cr_assert(resp_glob_match("*a*b*c", 6, "xxaxxbxxc", 9, 0));
    cr_assert(!resp_glob_match("*a*b*c", 6, "xxaxxbxx", 8, 0));
    cr_assert(resp_glob_match("FOO*", 4, "foobar", 6, 1));
    cr_assert(!resp_glob_match("FOO*", 4, "foobar", 6, 0));
    cr_assert(resp_glob_match("user:*", 6, "user:", 5, 0));
}
