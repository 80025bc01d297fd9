/*
 * test_resp_gaps.c — commands and subcommands that Redis 7.0's own test
 * files stopped at on ffdb-server (issue 15): LCS, DEBUG DIGEST-VALUE and
 * LOADAOF. Each test starts a real ffdb-server (test_resp_util.h); the
 * expected replies are redis-server 7.0.15's for the same commands (LCS is
 * also in test_resp_diff.c's string stream).
 */
#include <stdio.h>
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_gaps, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

Test(resp_gaps, lcs)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);

    EQ(fd, "OK", "MSET", "a", "ohmytext", "b", "mynewtext");
    EQ(fd, "\"mytext\"", "LCS", "a", "b");
    EQ(fd, ":6", "LCS", "a", "b", "LEN");
    EQ(fd, "[\"matches\",[[[:4,:7],[:5,:8]],[[:2,:3],[:0,:1]]],\"len\",:6]", "LCS", "a", "b", "IDX");
    EQ(fd, "[\"matches\",[[[:4,:7],[:5,:8],:4]],\"len\",:6]", "LCS", "a", "b", "IDX", "MINMATCHLEN",
       "4", "WITHMATCHLEN");
    EQ(fd, "-ERR If you want both the length and indexes, please just use IDX.", "LCS", "a", "b",
       "LEN", "IDX");
    EQ(fd, "\"\"", "LCS", "a", "missing");
    EQ(fd, ":0", "LCS", "missing", "missing2", "LEN");
    EQ(fd, "-ERR syntax error", "LCS", "a", "b", "foo");
    EQ(fd, "-ERR value is not an integer or out of range", "LCS", "a", "b", "MINMATCHLEN", "x");
    EQ(fd, ":1", "RPUSH", "l", "x");
    EQ(fd, "-ERR The specified keys must contain string values", "LCS", "a", "l");
    EQ(fd, "-ERR wrong number of arguments for 'lcs' command", "LCS", "a");
}

Test(resp_gaps, debug_digest_value)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);
    char d1[64];

    EQ(fd, ":3", "RPUSH", "l", "x", "y", "z");
    EQ(fd, ":1", "COPY", "l", "l2");
    EQ(fd, "OK", "SET", "s", "v");
    snprintf(d1, sizeof d1, "%s", Q(fd, "DEBUG", "DIGEST-VALUE", "l"));
    cr_assert_eq(strlen(d1), 2 + 40, "%s", d1); /* [<40 hex>] */
    EQ(fd, d1, "DEBUG", "DIGEST-VALUE", "l2"); /* another name, the same value */
    EQ(fd, ":1", "EXPIRE", "l2", "1000");
    EQ(fd, d1, "DEBUG", "DIGEST-VALUE", "l2"); /* the expiry is not the value */
    EQ(fd, "[0000000000000000000000000000000000000000]", "DEBUG", "DIGEST-VALUE", "missing");
    cr_assert_str_neq(Q(fd, "DEBUG", "DIGEST-VALUE", "s"), d1);
    EQ(fd, "[]", "DEBUG", "DIGEST-VALUE");
    EQ(fd, "OK", "DEBUG", "LOADAOF");
    EQ(fd, "\"v\"", "GET", "s");
}

Test(resp_gaps, zrangestore)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);

    EQ(fd, ":4", "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d");
    EQ(fd, ":4", "ZRANGESTORE", "d", "z", "0", "-1");
    EQ(fd, "[\"a\",\"1\",\"b\",\"2\",\"c\",\"3\",\"d\",\"4\"]", "ZRANGE", "d", "0", "-1",
       "WITHSCORES");
    EQ(fd, ":1", "ZRANGESTORE", "d", "z", "3", "(1", "BYSCORE", "REV", "LIMIT", "0", "1");
    EQ(fd, "[\"c\",\"3\"]", "ZRANGE", "d", "0", "-1", "WITHSCORES");
    EQ(fd, ":2", "ZRANGESTORE", "d", "z", "[a", "[c", "BYLEX", "LIMIT", "1", "5");
    EQ(fd, ":0", "ZRANGESTORE", "d", "z", "5", "6"); /* empty: dst deleted */
    EQ(fd, ":0", "EXISTS", "d");
    EQ(fd, "-ERR syntax error", "ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES");
    EQ(fd, "OK", "SET", "s", "x");
    EQ(fd, "-WRONGTYPE Operation against a key holding the wrong kind of value", "ZRANGESTORE",
       "d", "s", "0", "-1");
    EQ(fd, ":2", "ZRANGESTORE", "s", "z", "0", "1"); /* dst of another type: replaced */
    EQ(fd, "zset", "TYPE", "s");
    EQ(fd, ":2", "ZRANGESTORE", "z", "z", "1", "2"); /* dst is src */
    EQ(fd, "[\"b\",\"c\"]", "ZRANGE", "z", "0", "-1");
    EQ(fd, ":0", "ZRANGESTORE", "d", "missing", "0", "1");
}

Test(resp_gaps, bgrewriteaof)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);

    EQ(fd, "OK", "SET", "k", "v");
    EQ(fd, "Background append only file rewriting started", "BGREWRITEAOF");
    cr_assert_eq(rs_info_int(fd, "aof_rewrite_in_progress"), 0);
    EQ(fd, "-ERR wrong number of arguments for 'bgrewriteaof' command", "BGREWRITEAOF", "x");
    rs_stop(srv);
    rs_restart(srv);
    fd = rs_connect(srv);
    EQ(fd, "\"v\"", "GET", "k");
}
