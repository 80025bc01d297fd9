/*
 * test_resp_rparse.c — the RESP2/RESP3 reply parser (modules/resp/rparse.h):
 * every type, nesting, attributes, streamed strings and aggregates, fed
 * whole and byte by byte (both must give the same items), every limit and
 * malformed input; then replies of a real ffdb-server in RESP2 and RESP3
 * (HELLO 3), read off the socket in whatever pieces recv() returns.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "modules/resp/rparse.h"
#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_rparse, .timeout = 30);
TestSuite(resp_rparse_server, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

/* The items of a stream as text, one per item: "<depth><type>[value]",
 * "|" between replies; "E:<error>" at an error, "M" if it ended wanting more. */
static void rp_text(const char *in, size_t len, size_t step, const resp_reply_limits *lim,
                    char *out, size_t cap)
{
    resp_reply_parser p;
    resp_item it;
    size_t start = 0, fed = step ? 0 : len, o = 0;

    resp_reply_init(&p, lim);
    out[0] = '\0';
    for (int guard = 0; guard < 100000; guard++) {
        int rc = resp_reply_next(&p, in + start, fed - start, &it);
        if (rc == RESP_NEED_MORE) {
            if (fed == len) {
                o += (size_t)snprintf(out + o, cap - o, "M");
                return;
            }
            fed = fed + step > len ? len : fed + step;
            continue;
        }
        if (rc == RESP_PROTO_ERROR) {
            snprintf(out + o, cap - o, "E:%s", p.error);
            return;
        }
        cr_assert_eq(rc, RESP_OK);
        o += (size_t)snprintf(out + o, cap - o, "%u%c", it.depth, it.type);
        if (it.null)
            o += (size_t)snprintf(out + o, cap - o, "nil");
        else if (it.type == ':' || it.type == '#')
            o += (size_t)snprintf(out + o, cap - o, "%lld", (long long)it.integer);
        else if (it.type == ',')
            o += (size_t)snprintf(out + o, cap - o, "%g", it.dbl);
        else if (strchr("*%~>|", it.type))
            o += (size_t)snprintf(out + o, cap - o, it.streamed ? "?" : "%llu",
                                  (unsigned long long)it.count);
        else if (it.streamed)
            o += (size_t)snprintf(out + o, cap - o, "?");
        else
            o += (size_t)snprintf(out + o, cap - o, "%.*s", (int)it.str.len, in + start + it.str.off);
        o += (size_t)snprintf(out + o, cap - o, " ");
        if (it.done) {
            cr_assert(it.reply_size <= fed - start);
            start += it.reply_size;
            o += (size_t)snprintf(out + o, cap - o, "| ");
            if (start == len)
                return;
        }
    }
    cr_assert_fail("the parser loops");
}

/* Parsed whole and byte by byte, the same text, which is want. */
static void expect(const char *in, const resp_reply_limits *lim, const char *want)
{
    char whole[4096], bytes[4096], seven[4096];
    size_t len = strlen(in);

    rp_text(in, len, 0, lim, whole, sizeof(whole));
    rp_text(in, len, 1, lim, bytes, sizeof(bytes));
    rp_text(in, len, 7, lim, seven, sizeof(seven));
    cr_assert_str_eq(whole, want, "whole: got  %s\n            want %s", whole, want);
    cr_assert_str_eq(bytes, want, "byte by byte: %s", bytes);
    cr_assert_str_eq(seven, want, "7 at a time: %s", seven);
}

Test(resp_rparse, resp2_types)
{
    expect("+OK\r\n-ERR no\r\n:-12\r\n$3\r\nabc\r\n$0\r\n\r\n$-1\r\n*-1\r\n", NULL,
           "0+OK | 0-ERR no | 0:-12 | 0$abc | 0$ | 0$nil | 0*nil | ");
    expect("*3\r\n$1\r\na\r\n*2\r\n:1\r\n*0\r\n:2\r\n", NULL,
           "0*3 1$a 1*2 2:1 2*0 1:2 | ");
    expect("$4\r\na\r\nb\r\n", NULL, "0$a\r\nb | "); /* CRLF inside a bulk is data */
}

Test(resp_rparse, resp3_types)
{
    expect("_\r\n#t\r\n#f\r\n,1.5\r\n,-inf\r\n,2E3\r\n(-123456789012345678901234567890\r\n", NULL,
           "0_ | 0#1 | 0#0 | 0,1.5 | 0,-inf | 0,2000 | 0(-123456789012345678901234567890 | ");
    expect("=8\r\ntxt:abcd\r\n!5\r\nERR x\r\n", NULL, "0=txt:abcd | 0!ERR x | ");
    expect("%2\r\n+a\r\n:1\r\n+b\r\n~1\r\n_\r\n", NULL, "0%2 1+a 1:1 1+b 1~1 2_ | ");
    expect(">2\r\n+message\r\n+x\r\n+OK\r\n", NULL, "0>2 1+message 1+x | 0+OK | ");
}

Test(resp_rparse, attributes_do_not_count)
{
    /* An attribute before a top-level value: the reply ends after the value. */
    expect("|1\r\n+ttl\r\n:5\r\n+v\r\n", NULL, "0|1 1+ttl 1:5 0+v | ");
    /* Inside an array it is not one of the elements. */
    expect("*2\r\n:1\r\n|1\r\n+a\r\n+b\r\n:2\r\n", NULL, "0*2 1:1 1|1 2+a 2+b 1:2 | ");
    /* Only an attribute: not complete. */
    expect("|1\r\n+a\r\n+b\r\n", NULL, "0|1 1+a 1+b M");
    expect("|0\r\n:7\r\n", NULL, "0|0 0:7 | ");
}

Test(resp_rparse, streamed)
{
    expect("$?\r\n;2\r\nab\r\n;1\r\nc\r\n;0\r\n", NULL, "0$? 0;ab 0;c 0. | ");
    expect("*?\r\n:1\r\n*?\r\n.\r\n.\r\n+z\r\n", NULL, "0*? 1:1 1*? 1. 0. | 0+z | ");
    expect("%?\r\n+a\r\n:1\r\n.\r\n", NULL, "0%? 1+a 1:1 0. | ");
    expect("%?\r\n+a\r\n.\r\n", NULL, "0%? 1+a E:Protocol error: unexpected end of aggregate");
    expect(".\r\n", NULL, "E:Protocol error: unexpected end of aggregate");
    expect("*1\r\n.\r\n", NULL, "0*1 E:Protocol error: unexpected end of aggregate");
    expect("$?\r\n+x\r\n", NULL, "0$? E:Protocol error: expected ';' in streamed string");
}

Test(resp_rparse, malformed)
{
    expect("+OK\n", NULL, "E:Protocol error: expected CRLF");
    expect("\r\n", NULL, "E:Protocol error: empty line in reply");
    expect("@x\r\n", NULL, "E:Protocol error: unknown reply type");
    expect(":01\r\n", NULL, "E:Protocol error: invalid integer in reply");
    expect(":\r\n", NULL, "E:Protocol error: invalid integer in reply");
    expect(":99999999999999999999\r\n", NULL, "E:Protocol error: invalid integer in reply");
    expect("$-2\r\n", NULL, "E:Protocol error: invalid bulk length");
    expect("$x\r\n", NULL, "E:Protocol error: invalid bulk length");
    expect("!-1\r\n", NULL, "E:Protocol error: invalid bulk length");
    expect("$3\r\nabcd\r\n", NULL, "E:Protocol error: expected CRLF after bulk string");
    expect("=3\r\ntxt\r\n", NULL, "E:Protocol error: invalid verbatim string");
    expect("=5\r\ntxt-a\r\n", NULL, "E:Protocol error: invalid verbatim string");
    expect("*-2\r\n", NULL, "E:Protocol error: invalid multibulk length");
    expect("%-1\r\n", NULL, "E:Protocol error: invalid multibulk length");
    expect("_x\r\n", NULL, "E:Protocol error: invalid null in reply");
    expect("#x\r\n", NULL, "E:Protocol error: invalid boolean in reply");
    expect(",1.\r\n", NULL, "E:Protocol error: invalid double in reply");
    expect(",.5\r\n", NULL, "E:Protocol error: invalid double in reply");
    expect(",1e\r\n", NULL, "E:Protocol error: invalid double in reply");
    expect("(1a\r\n", NULL, "E:Protocol error: invalid big number in reply");
    expect("+a\rb\r\n", NULL, "E:Protocol error: CR inside a simple string");
    /* Cut short: wants more, whatever the cut. */
    expect("*2\r\n:1\r\n", NULL, "0*2 1:1 M");
    expect("$10\r\nabc", NULL, "M");
}

Test(resp_rparse, limits)
{
    resp_reply_limits l;

    resp_reply_limits_default(&l);
    l.max_depth = 2;
    expect("*1\r\n*1\r\n:1\r\n", &l, "0*1 1*1 2:1 | ");
    expect("*1\r\n*1\r\n*1\r\n:1\r\n", &l, "0*1 1*1 E:Protocol error: too deep nesting in reply");
    resp_reply_limits_default(&l);
    l.max_bulk_len = 3;
    expect("$3\r\nabc\r\n", &l, "0$abc | ");
    expect("$4\r\n", &l, "E:Protocol error: too big bulk string in reply"); /* before the bytes */
    expect("$?\r\n;4\r\n", &l, "0$? E:Protocol error: too big bulk string in reply");
    resp_reply_limits_default(&l);
    l.max_elements = 4;
    expect("*4\r\n", &l, "0*4 M");
    expect("*5\r\n", &l, "E:Protocol error: too many elements in reply");
    expect("%3\r\n", &l, "E:Protocol error: too many elements in reply"); /* 6 elements */
    resp_reply_limits_default(&l);
    l.max_line_len = 4;
    expect("+abcd\r\n", &l, "E:Protocol error: too long line in reply");
    expect("+abc\r\n", &l, "0+abc | ");
    expect("+abcdefgh", &l, "E:Protocol error: too long line in reply"); /* no CRLF yet */
    resp_reply_limits_default(&l);
    l.max_reply_bytes = 12;
    expect("$2\r\nab\r\n", &l, "0$ab | ");
    expect("$7\r\nabcdefg\r\n", &l, "E:Protocol error: too big reply");
    /* The deepest the stack holds. */
    resp_reply_limits_default(&l);
    l.max_depth = 1000;
    {
        char deep[8 * (RESP_REPLY_MAX_DEPTH + 2)];
        size_t o = 0;
        resp_reply_parser p;
        size_t size;
        for (unsigned i = 0; i <= RESP_REPLY_MAX_DEPTH; i++)
            o += (size_t)snprintf(deep + o, sizeof(deep) - o, "*1\r\n");
        o += (size_t)snprintf(deep + o, sizeof(deep) - o, ":1\r\n");
        resp_reply_init(&p, &l);
        cr_assert_eq(resp_reply_frame(&p, deep, o, &size), RESP_PROTO_ERROR);
        cr_assert_str_eq(p.error, "Protocol error: too deep nesting in reply");
    }
}

Test(resp_rparse, error_stays_and_reset)
{
    resp_reply_parser p;
    resp_item it;
    size_t size;

    resp_reply_init(&p, NULL);
    cr_assert_eq(resp_reply_next(&p, "?\r\n", 3, &it), RESP_PROTO_ERROR);
    cr_assert_eq(resp_reply_next(&p, "+OK\r\n", 5, &it), RESP_PROTO_ERROR);
    resp_reply_reset(&p);
    cr_assert_eq(resp_reply_frame(&p, "*2\r\n+OK\r\n:1\r\n+x", 17, &size), RESP_OK);
    cr_assert_eq(size, 13);
}

/* ---- against a real server ------------------------------------------------------ */

/* Read replies off fd until `count` are framed; each reply's items as text
 * (rp_text of the reply's bytes) into out. */
static void server_replies(int fd, int count, char *out, size_t cap)
{
    char buf[65536];
    size_t have = 0, start = 0, o = 0;
    resp_reply_parser p;

    resp_reply_init(&p, NULL);
    out[0] = '\0';
    while (count > 0) {
        size_t size;
        int rc = resp_reply_frame(&p, buf + start, have - start, &size);
        cr_assert_neq(rc, RESP_PROTO_ERROR, "%s", p.error);
        if (rc == RESP_OK) {
            rp_text(buf + start, size, 0, NULL, out + o, cap - o);
            o += strlen(out + o);
            start += size;
            count--;
            continue;
        }
        cr_assert(have < sizeof(buf), "replies too long for the test");
        ssize_t n = recv(fd, buf + have, sizeof(buf) - have, 0);
        cr_assert(n > 0, "recv: %s", n < 0 ? strerror(errno) : "EOF");
        have += (size_t)n;
    }
}

Test(resp_rparse_server, resp2_and_resp3)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);
    char got[8192];
    static const char cmds[] =
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n"
        "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
        "*2\r\n$3\r\nGET\r\n$4\r\nnone\r\n"
        "*4\r\n$5\r\nHMSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\n1\r\n"
        "*2\r\n$7\r\nHGETALL\r\n$1\r\nh\r\n"
        "*1\r\n$5\r\nBOGUS\r\n"
        "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n";

    rs_send_raw(fd, cmds, sizeof(cmds) - 1);
    server_replies(fd, 7, got, sizeof(got));
    cr_assert_str_eq(got,
                     "0+OK | 0$v1 | 0$nil | 0+OK | 0*2 1$f 1$1 | "
                     "0-ERR unknown command 'BOGUS', with args beginning with:  | 0:1 | ",
                     "RESP2: %s", got);
    rs_send_raw(fd, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", 22);
    server_replies(fd, 1, got, sizeof(got));
    cr_assert(strncmp(got, "0%", 2) == 0 && strstr(got, "1$proto 1:3 "), "HELLO 3: %s", got);
    const char *from = strstr(cmds, "*2\r\n$3\r\nGET\r\n$4"); /* GET none on */
    rs_send_raw(fd, from, strlen(from));
    server_replies(fd, 5, got, sizeof(got));
    cr_assert_str_eq(got,
                     "0_ | 0+OK | 0%1 1$f 1$1 | "
                     "0-ERR unknown command 'BOGUS', with args beginning with:  | 0:2 | ",
                     "RESP3: %s", got);
    rs_close(fd);
    rs_stop(s);
}
