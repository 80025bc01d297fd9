/*
 * test_resp_stream.c — streams in ffdb-server end to end (the built program
 * on a loopback port, tests/test_resp_util.h): XADD IDs (explicit, ms-*,
 * errors at or below the top), XRANGE/XREVRANGE with COUNT and exclusive
 * bounds, XLEN XDEL XTRIM (MAXLEN, MINID), an empty stream that stays, a
 * consumer group (XGROUP CREATE, XREADGROUP new and history, XPENDING
 * summary and extended, XACK, XCLAIM, XAUTOCLAIM, XINFO GROUPS), XREAD
 * BLOCK woken by an XADD and timing out, and the stream surviving a
 * restart. Expected replies were taken from Redis 7.0.
 */
#include <stdio.h>
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_stream, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

static void wait_blocked(int fd, int64_t n)
{
    for (int i = 0; i < 500; i++) {
        if (rs_info_int(fd, "blocked_clients") == n)
            return;
        rs_sleep_ms(10);
    }
    cr_assert_fail("blocked_clients never reached %lld", (long long)n);
}

Test(resp_stream, add_range_trim)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);

    EQ(fd, "\"1-1\"", "XADD", "s", "1-1", "a", "1");
    EQ(fd, "\"1-2\"", "XADD", "s", "1-*", "b", "2");
    EQ(fd, "\"5-0\"", "XADD", "s", "5", "c", "3", "d", "4");
    EQ(fd, "-ERR The ID specified in XADD is equal or smaller than the target stream top item",
       "XADD", "s", "5-0", "x", "y");
    EQ(fd, "-ERR The ID specified in XADD must be greater than 0-0", "XADD", "t", "0-0", "x", "y");
    EQ(fd, "-ERR Invalid stream ID specified as stream command argument", "XADD", "s", "zz", "x",
       "y");
    EQ(fd, "-ERR wrong number of arguments for 'xadd' command", "XADD", "s", "*", "x");
    EQ(fd, "nil", "XADD", "nope", "NOMKSTREAM", "*", "x", "y");
    EQ(fd, ":3", "XLEN", "s");
    EQ(fd, "[[\"1-1\",[\"a\",\"1\"]],[\"1-2\",[\"b\",\"2\"]],[\"5-0\",[\"c\",\"3\",\"d\",\"4\"]]]",
       "XRANGE", "s", "-", "+");
    EQ(fd, "[[\"5-0\",[\"c\",\"3\",\"d\",\"4\"]]]", "XREVRANGE", "s", "+", "-", "COUNT", "1");
    EQ(fd, "[[\"1-2\",[\"b\",\"2\"]]]", "XRANGE", "s", "(1-1", "(5-0");
    EQ(fd, "[[\"1-1\",[\"a\",\"1\"]],[\"1-2\",[\"b\",\"2\"]]]", "XRANGE", "s", "1", "1");
    EQ(fd, "-ERR invalid end ID for the interval", "XRANGE", "s", "-", "(0-0");
    EQ(fd, ":1", "XDEL", "s", "1-2", "9-9");
    EQ(fd, ":2", "XLEN", "s");
    EQ(fd, ":1", "XTRIM", "s", "MAXLEN", "1");
    EQ(fd, "[[\"5-0\",[\"c\",\"3\",\"d\",\"4\"]]]", "XRANGE", "s", "-", "+");
    EQ(fd, ":1", "XTRIM", "s", "MINID", "6");
    EQ(fd, ":0", "XLEN", "s");
    EQ(fd, ":1", "EXISTS", "s"); /* an empty stream stays */
    EQ(fd, "stream", "TYPE", "s");
    EQ(fd, "\"7-0\"", "XADD", "s", "7", "e", "5");
    EQ(fd, "\"8-0\"", "XADD", "s", "8", "e", "6");
    EQ(fd, "\"9-0\"", "XADD", "s", "MAXLEN", "=", "2", "9", "e", "7");
    EQ(fd, "[[\"8-0\",[\"e\",\"6\"]],[\"9-0\",[\"e\",\"7\"]]]", "XRANGE", "s", "-", "+");
    EQ(fd, "OK", "SET", "str", "x");
    EQ(fd, "-WRONGTYPE Operation against a key holding the wrong kind of value", "XADD", "str", "*",
       "a", "b");

    /* it survives a restart */
    rs_close(fd);
    rs_stop(srv);
    rs_restart(srv);
    fd = rs_connect(srv);
    EQ(fd, ":2", "XLEN", "s");
    EQ(fd, "[[\"9-0\",[\"e\",\"7\"]]]", "XREVRANGE", "s", "+", "-", "COUNT", "1");
}

Test(resp_stream, groups)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);

    EQ(fd,
       "-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may "
       "want to use the MKSTREAM option to create an empty stream automatically.",
       "XGROUP", "CREATE", "s", "g", "$");
    EQ(fd, "OK", "XGROUP", "CREATE", "s", "g", "$", "MKSTREAM");
    EQ(fd, "-BUSYGROUP Consumer Group name already exists", "XGROUP", "CREATE", "s", "g", "0");
    EQ(fd, "\"1-0\"", "XADD", "s", "1", "a", "1");
    EQ(fd, "\"2-0\"", "XADD", "s", "2", "b", "2");
    EQ(fd, "[[\"s\",[[\"1-0\",[\"a\",\"1\"]]]]]", "XREADGROUP", "GROUP", "g", "alice", "COUNT", "1",
       "STREAMS", "s", ">");
    EQ(fd, "[[\"s\",[[\"2-0\",[\"b\",\"2\"]]]]]", "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s",
       ">");
    EQ(fd, "nil", "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">");
    /* history: what alice has pending */
    EQ(fd, "[[\"s\",[[\"1-0\",[\"a\",\"1\"]]]]]", "XREADGROUP", "GROUP", "g", "alice", "STREAMS",
       "s", "0");
    EQ(fd, "[:2,\"1-0\",\"2-0\",[[\"alice\",\"1\"],[\"bob\",\"1\"]]]", "XPENDING", "s", "g");
    const char *ext = Q(fd, "XPENDING", "s", "g", "-", "+", "10", "alice");
    const char *want = "[[\"1-0\",\"alice\",:";
    cr_assert(strncmp(ext, want, strlen(want)) == 0 && strstr(ext, ",:2]]"), "%s", ext);
    EQ(fd, "-NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option",
       "XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">");
    /* bob takes alice's entry, then acks both */
    EQ(fd, "[[\"1-0\",[\"a\",\"1\"]]]", "XCLAIM", "s", "g", "bob", "0", "1-0");
    EQ(fd, "[\"0-0\",[\"1-0\",\"2-0\"],[]]", "XAUTOCLAIM", "s", "g", "carol", "0", "0", "JUSTID");
    EQ(fd, ":2", "XACK", "s", "g", "1-0", "2-0", "3-0");
    EQ(fd, "[:0,nil,nil,nil]", "XPENDING", "s", "g");
    const char *groups = Q(fd, "XINFO", "GROUPS", "s");
    cr_assert(strstr(groups, "\"name\",\"g\",\"consumers\",:3,\"pending\",:0,"
                             "\"last-delivered-id\",\"2-0\""),
              "%s", groups);
    EQ(fd, ":0", "XGROUP", "DELCONSUMER", "s", "g", "carol");
    EQ(fd, ":1", "XGROUP", "DESTROY", "s", "g");
    EQ(fd, ":0", "XGROUP", "DESTROY", "s", "g");
}

Test(resp_stream, xread_block)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv), a = rs_connect(srv);

    EQ(fd, "\"1-0\"", "XADD", "s", "1", "old", "x");
    EQ(fd, "[[\"s\",[[\"1-0\",[\"old\",\"x\"]]]]]", "XREAD", "STREAMS", "s", "0");
    EQ(fd, "nil", "XREAD", "STREAMS", "s", "$");
    EQ(fd, "nil", "XREAD", "BLOCK", "50", "STREAMS", "s", "$");
    rs_send(a, "XREAD", "BLOCK", "0", "STREAMS", "s", "$", (const char *)NULL);
    wait_blocked(fd, 1);
    EQ(fd, "\"2-0\"", "XADD", "s", "2", "new", "y");
    cr_assert_str_eq(rs_text(rs_read(a)), "[[\"s\",[[\"2-0\",[\"new\",\"y\"]]]]]");
    /* a group reader blocked on ">" gets the next entry */
    EQ(fd, "OK", "XGROUP", "CREATE", "s", "g", "$");
    rs_send(a, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
            (const char *)NULL);
    wait_blocked(fd, 1);
    EQ(fd, "\"3-0\"", "XADD", "s", "3", "z", "z");
    cr_assert_str_eq(rs_text(rs_read(a)), "[[\"s\",[[\"3-0\",[\"z\",\"z\"]]]]]");
    EQ(fd, "[:1,\"3-0\",\"3-0\",[[\"c\",\"1\"]]]", "XPENDING", "s", "g");
}
