/*
 * test_resp_zset.c — the sorted set commands of ffdb-server end to end (the
 * built program on a loopback port, tests/test_resp_util.h): ZADD with every
 * option and its errors, ZINCRBY, scores at -inf/+inf and NaN refused,
 * ranks from both ends, ZRANGE in all its forms (rank, BYSCORE with ( and
 * infinities, BYLEX with [ ( + -, REV, LIMIT, WITHSCORES in RESP2 and
 * RESP3), the older range commands, ZCOUNT/ZLEXCOUNT, the ZREMRANGEBY*
 * family, ZPOPMIN/ZPOPMAX, ZRANDMEMBER, ZUNIONSTORE/ZINTERSTORE with WEIGHTS
 * and AGGREGATE (sets as inputs, a destination that is an input), ZSCAN,
 * WRONGTYPE, a big set, and the data surviving a restart. Expected replies
 * were taken from Redis 7.0, except that scores are written in their
 * shortest form ("0.1", as Redis 7.2 does; 7.0 wrote "0.10000000000000001").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_zset, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

static const char *const WT = "-WRONGTYPE Operation against a key holding the wrong kind of value";

/* ZADD key i m<i> for i in [from, to), in one request (scores = ranks). */
static void fill(int fd, const char *key, int from, int to)
{
    const char **argv = malloc(sizeof(*argv) * (size_t)(2 + 2 * (to - from)));
    char(*names)[2][16] = malloc(sizeof(*names) * (size_t)(to - from));
    int argc = 0;

    argv[argc++] = "ZADD";
    argv[argc++] = key;
    for (int i = from; i < to; i++) {
        snprintf(names[i - from][0], 16, "%d", i);
        snprintf(names[i - from][1], 16, "m%05d", i);
        argv[argc++] = names[i - from][0];
        argv[argc++] = names[i - from][1];
    }
    rs_sendv(fd, argc, argv, NULL);
    rs_reply *r = rs_read(fd);
    cr_assert(r && r->type == ':', "ZADD: %s", rs_text(r));
    free(argv);
    free(names);
}

Test(resp_zset, zadd_options)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":3", "ZADD", "z", "1", "a", "2", "b", "3", "c");
    EQ(fd, "zset", "TYPE", "z");
    EQ(fd, ":1", "ZADD", "z", "NX", "5", "a", "4", "d");
    EQ(fd, ":0", "ZADD", "z", "XX", "5", "a", "4", "e");
    EQ(fd, ":2", "ZADD", "z", "XX", "CH", "6", "a", "6", "b");
    EQ(fd, ":2", "ZADD", "z", "ch", "6", "a", "7", "b", "1", "f");
    EQ(fd, "\"7\"", "ZADD", "z", "INCR", "1", "a");
    EQ(fd, "nil", "ZADD", "z", "INCR", "NX", "1", "a");
    EQ(fd, "nil", "ZADD", "z", "INCR", "XX", "1", "zz");
    EQ(fd, ":0", "ZADD", "z", "GT", "1", "a");
    EQ(fd, ":1", "ZADD", "z", "GT", "CH", "10", "a");
    EQ(fd, ":2", "ZADD", "z", "LT", "CH", "1", "a", "100", "zz");
    EQ(fd, "nil", "ZADD", "z", "GT", "INCR", "-1", "a");
    EQ(fd, "\"0\"", "ZADD", "z", "LT", "INCR", "-1", "a");
    EQ(fd, ":2", "ZADD", "z", "-inf", "neg", "+inf", "pos");
    EQ(fd, "\"inf\"", "ZADD", "z", "INCR", "inf", "pos");
    EQ(fd, "-ERR resulting score is not a number (NaN)", "ZADD", "z", "INCR", "-inf", "pos");
    EQ(fd, "\"inf\"", "ZSCORE", "z", "pos");
    EQ(fd,
       "[\"neg\",\"-inf\",\"a\",\"0\",\"f\",\"1\",\"c\",\"3\",\"d\",\"4\",\"b\",\"7\",\"zz\","
       "\"100\",\"pos\",\"inf\"]",
       "ZRANGE", "z", "0", "-1", "WITHSCORES");
    EQ(fd, ":0", "ZADD", "newk", "XX", "5", "a");
    EQ(fd, ":0", "EXISTS", "newk");
    EQ(fd, ":1", "ZADD", "newk", "GT", "5", "a");
    /* Errors, in Redis's order. */
    EQ(fd, "-ERR wrong number of arguments for 'zadd' command", "ZADD", "z", "1");
    EQ(fd, "-ERR syntax error", "ZADD", "z", "1", "a", "2");
    EQ(fd, "-ERR syntax error", "ZADD", "z", "NX", "1");
    EQ(fd, "-ERR syntax error", "ZADD", "z", "inc", "1", "a");
    EQ(fd, "-ERR value is not a valid float", "ZADD", "z", "x", "a");
    EQ(fd, "-ERR value is not a valid float", "ZADD", "z", "nan", "a");
    EQ(fd, "-ERR value is not a valid float", "ZADD", "z", "1", "a", "NaN", "b");
    EQ(fd, "-ERR XX and NX options at the same time are not compatible", "ZADD", "z", "NX", "XX",
       "1", "a");
    EQ(fd, "-ERR GT, LT, and/or NX options at the same time are not compatible", "ZADD", "z", "GT",
       "LT", "1", "a");
    EQ(fd, "-ERR GT, LT, and/or NX options at the same time are not compatible", "ZADD", "z", "NX",
       "GT", "1", "a");
    EQ(fd, "-ERR INCR option supports a single increment-element pair", "ZADD", "z", "INCR", "1",
       "a", "2", "b");
    EQ(fd, ":8", "ZCARD", "z"); /* no error wrote anything */
    /* ZINCRBY */
    EQ(fd, "\"1\"", "ZINCRBY", "z", "1", "a");
    EQ(fd, "\"2.5\"", "ZINCRBY", "z", "2.5", "newm");
    EQ(fd, "\"-1.5\"", "ZINCRBY", "z", "-4", "newm");
    EQ(fd, "-ERR value is not a valid float", "ZINCRBY", "z", "x", "a");
    EQ(fd, "-ERR value is not a valid float", "ZINCRBY", "z", "nan", "a");
    EQ(fd, "-ERR resulting score is not a number (NaN)", "ZINCRBY", "z", "-inf", "pos");
    EQ(fd, "-ERR wrong number of arguments for 'zincrby' command", "ZINCRBY", "z", "1.5");
    /* Scores print in their shortest form. */
    EQ(fd, ":3", "ZADD", "f", "0.1", "p", "1e300", "q", "-0.0", "r");
    EQ(fd, "\"0.1\"", "ZSCORE", "f", "p");
    EQ(fd, "\"1e+300\"", "ZSCORE", "f", "q");
    EQ(fd, "\"0\"", "ZSCORE", "f", "r");
}

Test(resp_zset, members_scores_ranks)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":5", "ZADD", "z", "1", "a", "2", "b", "2", "c", "-inf", "lo", "+inf", "hi");
    EQ(fd, ":5", "ZCARD", "z");
    EQ(fd, ":0", "ZCARD", "nokey");
    EQ(fd, "\"2\"", "ZSCORE", "z", "b");
    EQ(fd, "\"-inf\"", "ZSCORE", "z", "lo");
    EQ(fd, "nil", "ZSCORE", "z", "nope");
    EQ(fd, "nil", "ZSCORE", "nokey", "a");
    EQ(fd, "[\"1\",nil,\"inf\"]", "ZMSCORE", "z", "a", "nope", "hi");
    EQ(fd, "[nil,nil]", "ZMSCORE", "nokey", "a", "b");
    EQ(fd, "-ERR wrong number of arguments for 'zmscore' command", "ZMSCORE", "z");
    EQ(fd, ":0", "ZRANK", "z", "lo");
    EQ(fd, ":2", "ZRANK", "z", "b");
    EQ(fd, ":3", "ZRANK", "z", "c");
    EQ(fd, ":4", "ZRANK", "z", "hi");
    EQ(fd, ":0", "ZREVRANK", "z", "hi");
    EQ(fd, ":1", "ZREVRANK", "z", "c");
    EQ(fd, "nil", "ZRANK", "z", "nope");
    EQ(fd, "nil", "ZREVRANK", "nokey", "a");
    EQ(fd, ":0", "ZREM", "z", "nope");
    EQ(fd, ":2", "ZREM", "z", "lo", "hi", "lo");
    EQ(fd, ":0", "ZREM", "nokey", "a");
    EQ(fd, ":3", "ZREM", "z", "a", "b", "c");
    EQ(fd, ":0", "EXISTS", "z");
    /* TTLs stay with writes and go with the last member. */
    EQ(fd, ":1", "ZADD", "t", "1", "a");
    EQ(fd, ":1", "EXPIRE", "t", "100");
    EQ(fd, ":1", "ZADD", "t", "2", "b");
    EQ(fd, "\"3\"", "ZINCRBY", "t", "1", "b");
    EQ(fd, ":100", "TTL", "t");
    EQ(fd, "[\"a\",\"1\"]", "ZPOPMIN", "t");
    EQ(fd, ":100", "TTL", "t");
    EQ(fd, ":1", "ZREM", "t", "b");
    EQ(fd, ":-2", "TTL", "t");
}

Test(resp_zset, ranges)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":5", "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
    EQ(fd, "[\"a\",\"b\",\"c\",\"d\",\"e\"]", "ZRANGE", "z", "0", "-1");
    EQ(fd, "[\"b\",\"2\",\"c\",\"3\"]", "ZRANGE", "z", "1", "2", "WITHSCORES");
    EQ(fd, "[\"d\",\"e\"]", "ZRANGE", "z", "-2", "-1");
    EQ(fd, "[]", "ZRANGE", "z", "3", "1");
    EQ(fd, "[\"a\",\"b\",\"c\",\"d\",\"e\"]", "ZRANGE", "z", "-100", "100");
    EQ(fd, "[]", "ZRANGE", "z", "5", "10");
    EQ(fd, "[\"e\",\"d\",\"c\",\"b\",\"a\"]", "ZRANGE", "z", "0", "-1", "REV");
    EQ(fd, "[\"e\",\"5\",\"d\",\"4\"]", "ZRANGE", "z", "0", "1", "REV", "WITHSCORES");
    EQ(fd, "[\"a\",\"b\",\"c\"]", "ZRANGE", "z", "1", "3", "BYSCORE");
    EQ(fd, "[\"b\",\"c\"]", "ZRANGE", "z", "(1", "3", "BYSCORE");
    EQ(fd, "[\"b\"]", "ZRANGE", "z", "(1", "(3", "BYSCORE");
    EQ(fd, "[]", "ZRANGE", "z", "(1", "(2", "BYSCORE");
    EQ(fd, "[\"c\",\"b\",\"a\"]", "ZRANGE", "z", "3", "1", "BYSCORE", "REV");
    EQ(fd, "[\"c\",\"3\",\"b\",\"2\"]", "ZRANGE", "z", "3", "(1", "BYSCORE", "REV", "WITHSCORES");
    EQ(fd, "[\"b\",\"c\"]", "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2");
    EQ(fd, "[\"b\",\"c\",\"d\",\"e\"]", "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1",
       "-1");
    EQ(fd, "[]", "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2");
    EQ(fd, "[]", "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", "0");
    EQ(fd, "[]", "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "5", "1");
    EQ(fd, "[\"d\",\"4\",\"c\",\"3\"]", "ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT",
       "1", "2", "WITHSCORES");
    EQ(fd, "[\"a\",\"b\"]", "ZRANGE", "z", "0", "1", "LIMIT", "0",
       "-1"); /* -1: no LIMIT, as Redis */
    EQ(fd, "[]", "ZRANGE", "z", "(5", "+inf", "BYSCORE");
    EQ(fd, "[]", "ZRANGE", "z", "-inf", "(1", "BYSCORE");
    EQ(fd, "[]", "ZRANGE", "z", "3", "1", "BYSCORE");
    EQ(fd, "[\"a\",\"b\"]", "ZRANGE", "z", "", "2", "BYSCORE"); /* "" reads as 0 (strtod) */
    EQ(fd, "[]", "ZRANGE", "nokey", "0", "-1");
    EQ(fd, "[]", "ZRANGE", "nokey", "0", "-1", "BYSCORE");
    EQ(fd, "-ERR value is not an integer or out of range", "ZRANGE", "z", "x", "1");
    EQ(fd, "-ERR min or max is not a float", "ZRANGE", "z", "x", "1", "BYSCORE");
    EQ(fd, "-ERR min or max is not a float", "ZRANGE", "z", "[1", "2", "BYSCORE");
    EQ(fd, "-ERR min or max is not a float", "ZRANGE", "z", "nan", "2", "BYSCORE");
    EQ(fd, "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
       "ZRANGE", "z", "0", "1", "LIMIT", "0", "1");
    EQ(fd, "-ERR syntax error, WITHSCORES not supported in combination with BYLEX", "ZRANGE", "z",
       "[a", "[b", "BYLEX", "WITHSCORES");
    EQ(fd, "-ERR syntax error", "ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX");
    EQ(fd, "-ERR syntax error", "ZRANGE", "z", "0", "1", "REV", "REV");
    EQ(fd, "-ERR syntax error", "ZRANGE", "z", "0", "1", "FOO");
    EQ(fd, "-ERR syntax error", "ZRANGE", "z", "0", "1", "LIMIT", "0");
    /* The older forms. */
    EQ(fd, "[\"e\",\"d\"]", "ZREVRANGE", "z", "0", "1");
    EQ(fd, "[\"e\",\"5\",\"d\",\"4\"]", "ZREVRANGE", "z", "0", "1", "WITHSCORES");
    EQ(fd, "-ERR syntax error", "ZREVRANGE", "z", "0", "1", "WITHSCORES", "x");
    EQ(fd, "-ERR syntax error", "ZREVRANGE", "z", "0", "1", "BYSCORE");
    EQ(fd, "[\"b\",\"c\",\"d\"]", "ZRANGEBYSCORE", "z", "2", "4");
    EQ(fd, "[\"c\",\"3\"]", "ZRANGEBYSCORE", "z", "2", "4", "WITHSCORES", "LIMIT", "1", "1");
    EQ(fd, "[\"c\",\"3\"]", "ZRANGEBYSCORE", "z", "2", "4", "LIMIT", "1", "1", "WITHSCORES");
    EQ(fd, "-ERR syntax error", "ZRANGEBYSCORE", "z", "2", "4", "LIMIT", "1");
    EQ(fd, "-ERR syntax error", "ZRANGEBYSCORE", "z", "2", "4", "REV");
    EQ(fd, "[\"d\",\"c\",\"b\"]", "ZREVRANGEBYSCORE", "z", "4", "2");
    EQ(fd, "[]", "ZREVRANGEBYSCORE", "z", "2", "4");
    EQ(fd, "[\"e\",\"5\",\"d\",\"4\"]", "ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES",
       "LIMIT", "0", "2");
    /* ZCOUNT */
    EQ(fd, ":5", "ZCOUNT", "z", "-inf", "+inf");
    EQ(fd, ":2", "ZCOUNT", "z", "(1", "3");
    EQ(fd, ":2", "ZCOUNT", "z", "1", "(3");
    EQ(fd, ":0", "ZCOUNT", "z", "3", "1");
    EQ(fd, ":0", "ZCOUNT", "z", "(", "(");
    EQ(fd, ":0", "ZCOUNT", "nokey", "0", "1");
    EQ(fd, "-ERR min or max is not a float", "ZCOUNT", "z", "x", "3");
}

Test(resp_zset, lex_ranges)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":7", "ZADD", "s", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "g");
    EQ(fd, "[\"b\",\"c\",\"d\"]", "ZRANGE", "s", "[b", "(e", "BYLEX");
    EQ(fd, "[\"c\",\"d\",\"e\"]", "ZRANGE", "s", "-", "+", "BYLEX", "LIMIT", "2", "3");
    EQ(fd, "[\"g\",\"f\",\"e\",\"d\",\"c\",\"b\",\"a\"]", "ZRANGE", "s", "+", "-", "BYLEX", "REV");
    EQ(fd, "[\"c\",\"b\"]", "ZRANGE", "s", "(e", "-", "BYLEX", "REV", "LIMIT", "1", "2");
    EQ(fd, "[\"c\",\"d\",\"e\",\"f\",\"g\"]", "ZRANGEBYLEX", "s", "[c", "+");
    EQ(fd, "[\"d\"]", "ZRANGEBYLEX", "s", "[c", "+", "LIMIT", "1", "1");
    EQ(fd, "[\"c\",\"b\",\"a\"]", "ZREVRANGEBYLEX", "s", "[c", "-");
    EQ(fd, "[\"g\"]", "ZREVRANGEBYLEX", "s", "+", "[e", "LIMIT", "0", "1");
    EQ(fd, "[\"c\"]", "ZRANGEBYLEX", "s", "[c", "[c");
    EQ(fd, "[]", "ZRANGEBYLEX", "s", "(c", "[c");
    EQ(fd, "[]", "ZRANGEBYLEX", "s", "+", "-");
    EQ(fd, "[]", "ZRANGEBYLEX", "s", "[z", "+");
    EQ(fd, "[\"a\",\"b\"]", "ZRANGEBYLEX", "s", "-", "(bb");
    EQ(fd, "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\"]", "ZRANGEBYLEX", "s", "[", "+");
    EQ(fd, "-ERR min or max not valid string range item", "ZRANGEBYLEX", "s", "b", "e");
    EQ(fd, "-ERR min or max not valid string range item", "ZRANGEBYLEX", "s", "", "+");
    EQ(fd, "-ERR min or max not valid string range item", "ZRANGEBYLEX", "s", "-", "++");
    EQ(fd, "-ERR syntax error, WITHSCORES not supported in combination with BYLEX", "ZRANGEBYLEX",
       "s", "[c", "+", "WITHSCORES");
    EQ(fd, ":7", "ZLEXCOUNT", "s", "-", "+");
    EQ(fd, ":3", "ZLEXCOUNT", "s", "[b", "(e");
    EQ(fd, ":3", "ZLEXCOUNT", "s", "(b", "[e");
    EQ(fd, ":0", "ZLEXCOUNT", "s", "+", "-");
    EQ(fd, ":0", "ZLEXCOUNT", "nokey", "-", "+");
    EQ(fd, "-ERR min or max not valid string range item", "ZLEXCOUNT", "s", "b", "e");
    /* Mixed scores: Redis walks in score order from the first member at or
     * above min and stops at the first one above max. */
    EQ(fd, ":3", "ZADD", "m", "1", "b", "2", "a", "3", "c");
    EQ(fd, "[\"b\",\"a\",\"c\"]", "ZRANGEBYLEX", "m", "[a", "+");
    EQ(fd, "[]", "ZRANGEBYLEX", "m", "-", "[a");
    EQ(fd, "[\"c\"]", "ZREVRANGEBYLEX", "m", "+", "[b");
    EQ(fd, ":3", "ZLEXCOUNT", "m", "[a", "[c");
    EQ(fd, ":2", "ZREMRANGEBYLEX", "m", "[b", "[b");
    EQ(fd, "[\"c\"]", "ZRANGE", "m", "0", "-1");
}

Test(resp_zset, remove_ranges_and_pop)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":5", "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
    EQ(fd, ":2", "ZREMRANGEBYRANK", "z", "-2", "-1");
    EQ(fd, ":0", "ZREMRANGEBYRANK", "z", "5", "10");
    EQ(fd, ":0", "ZREMRANGEBYRANK", "nokey", "0", "1");
    EQ(fd, "-ERR value is not an integer or out of range", "ZREMRANGEBYRANK", "z", "x", "1");
    EQ(fd, ":1", "ZREMRANGEBYSCORE", "z", "(1", "2");
    EQ(fd, ":0", "ZREMRANGEBYSCORE", "z", "(1", "(2");
    EQ(fd, "-ERR min or max is not a float", "ZREMRANGEBYSCORE", "z", "x", "2");
    EQ(fd, "[\"a\",\"c\"]", "ZRANGE", "z", "0", "-1");
    EQ(fd, "-ERR min or max not valid string range item", "ZREMRANGEBYLEX", "z", "a", "+");
    EQ(fd, ":2", "ZREMRANGEBYLEX", "z", "-", "+");
    EQ(fd, ":0", "EXISTS", "z");
    EQ(fd, ":5", "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
    EQ(fd, ":5", "ZREMRANGEBYRANK", "z", "0", "-1"); /* all of it: the key goes */
    EQ(fd, ":0", "EXISTS", "z");
    /* ZPOPMIN / ZPOPMAX */
    EQ(fd, ":3", "ZADD", "z", "1", "a", "2", "b", "3", "c");
    EQ(fd, "[]", "ZPOPMIN", "z", "0");
    EQ(fd, "-ERR value is out of range, must be positive", "ZPOPMIN", "z", "-1");
    EQ(fd, "-ERR value is out of range, must be positive", "ZPOPMIN", "z", "x");
    EQ(fd, "-ERR syntax error", "ZPOPMIN", "z", "1", "2");
    EQ(fd, "[\"c\",\"3\"]", "ZPOPMAX", "z");
    EQ(fd, "[\"a\",\"1\"]", "ZPOPMIN", "z", "1");
    EQ(fd, "[]", "ZPOPMIN", "nokey");
    EQ(fd, "[]", "ZPOPMIN", "nokey", "2");
    EQ(fd, ":3", "ZADD", "z", "1", "a", "3", "c", "4", "d");
    EQ(fd, "[\"d\",\"4\",\"c\",\"3\"]", "ZPOPMAX", "z", "2");
    EQ(fd, "[\"a\",\"1\",\"b\",\"2\"]", "ZPOPMIN", "z", "10");
    EQ(fd, ":0", "EXISTS", "z");
}

Test(resp_zset, randmember_and_scan)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);
    int seen[600] = {0}, total = 0, rounds = 0;
    char cursor[32] = "0";
    rs_reply *r;

    EQ(fd, "nil", "ZRANDMEMBER", "nokey");
    EQ(fd, "[]", "ZRANDMEMBER", "nokey", "3", "WITHSCORES");
    EQ(fd, ":3", "ZADD", "z", "1", "a", "2", "b", "3", "c");
    EQ(fd, "[]", "ZRANDMEMBER", "z", "0");
    EQ(fd, "[\"c\",\"3\",\"b\",\"2\",\"a\",\"1\"]", "ZRANDMEMBER", "z", "5", "WITHSCORES");
    EQ(fd, "-ERR syntax error", "ZRANDMEMBER", "z", "1", "WITHSCORE");
    EQ(fd,
       "-ERR value is out of range, value must between -9223372036854775807 and "
       "9223372036854775807",
       "ZRANDMEMBER", "z", "-9223372036854775808");
    EQ(fd, "-ERR value is out of range", "ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES");
    rs_send(fd, "ZRANDMEMBER", "z", "-7", "WITHSCORES", NULL);
    r = rs_read(fd);
    cr_assert_eq(r->count, 14);
    for (size_t i = 0; i < r->count; i += 2)
        cr_assert_eq(r->elems[i]->str[0] - 'a' + 1, atoi(r->elems[i + 1]->str));
    fill(fd, "big", 0, 600);
    rs_send(fd, "ZRANDMEMBER", "big", "50", NULL);
    r = rs_read(fd);
    cr_assert_eq(r->count, 50);
    for (size_t i = 0; i < r->count; i++)
        total += !seen[atoi(r->elems[i]->str + 1)]++;
    cr_assert_eq(total, 50);
    /* ZSCAN: every member once over many calls, with its score. */
    memset(seen, 0, sizeof(seen));
    total = 0;
    do {
        rs_send(fd, "ZSCAN", "big", cursor, "COUNT", "11", NULL);
        r = rs_read(fd);
        cr_assert(r && r->type == '*' && r->count == 2, "%s", rs_text(r));
        for (size_t i = 0; i < r->elems[1]->count; i += 2) {
            int n = atoi(r->elems[1]->elems[i]->str + 1);
            cr_assert_eq(atoi(r->elems[1]->elems[i + 1]->str), n);
            total += !seen[n]++;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->elems[0]->str);
        cr_assert(++rounds < 1000, "ZSCAN does not end");
    } while (strcmp(cursor, "0") != 0);
    cr_assert_eq(total, 600);
    EQ(fd, "[\"0\",[\"m00599\",\"599\"]]", "ZSCAN", "big", "0", "MATCH", "*599", "COUNT", "1000");
    EQ(fd, "[\"0\",[]]", "ZSCAN", "nokey", "0");
    EQ(fd, "-ERR invalid cursor", "ZSCAN", "big", "x");
}

Test(resp_zset, union_and_inter_store)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":3", "ZADD", "a", "1", "x", "2", "y", "3", "z");
    EQ(fd, ":3", "ZADD", "b", "10", "y", "20", "z", "30", "w");
    EQ(fd, ":2", "SADD", "s", "x", "w");
    EQ(fd, ":4", "ZUNIONSTORE", "d", "2", "a", "b");
    EQ(fd, "[\"x\",\"1\",\"y\",\"12\",\"z\",\"23\",\"w\",\"30\"]", "ZRANGE", "d", "0", "-1",
       "WITHSCORES");
    EQ(fd, ":4", "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "2", "3");
    EQ(fd, "[\"x\",\"2\",\"y\",\"34\",\"z\",\"66\",\"w\",\"90\"]", "ZRANGE", "d", "0", "-1",
       "WITHSCORES");
    EQ(fd, ":4", "ZUNIONSTORE", "d", "2", "a", "b", "AGGREGATE", "MIN");
    EQ(fd, "[\"x\",\"1\",\"y\",\"2\",\"z\",\"3\",\"w\",\"30\"]", "ZRANGE", "d", "0", "-1",
       "WITHSCORES");
    EQ(fd, ":4", "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2", "AGGREGATE", "max");
    EQ(fd, "[\"x\",\"1\",\"y\",\"20\",\"z\",\"40\",\"w\",\"60\"]", "ZRANGE", "d", "0", "-1",
       "WITHSCORES");
    EQ(fd, ":2", "ZINTERSTORE", "d", "2", "a", "b");
    EQ(fd, "[\"y\",\"12\",\"z\",\"23\"]", "ZRANGE", "d", "0", "-1", "WITHSCORES");
    EQ(fd, ":1", "ZINTERSTORE", "d", "2", "a", "s"); /* a set's members score 1 */
    EQ(fd, "[\"x\",\"2\"]", "ZRANGE", "d", "0", "-1", "WITHSCORES");
    EQ(fd, ":4", "ZUNIONSTORE", "d", "3", "a", "b", "s");
    EQ(fd, "[\"x\",\"2\",\"y\",\"12\",\"z\",\"23\",\"w\",\"31\"]", "ZRANGE", "d", "0", "-1",
       "WITHSCORES");
    EQ(fd, ":0", "ZINTERSTORE", "d", "2", "a", "nokey"); /* empty: dst goes */
    EQ(fd, ":0", "EXISTS", "d");
    /* inf * 0 and inf + -inf count as 0, as in Redis. */
    EQ(fd, ":1", "ZADD", "i1", "inf", "x");
    EQ(fd, ":1", "ZADD", "i2", "-inf", "x");
    EQ(fd, ":1", "ZUNIONSTORE", "d", "2", "i1", "i2");
    EQ(fd, "\"0\"", "ZSCORE", "d", "x");
    EQ(fd, ":1", "ZUNIONSTORE", "d", "2", "i1", "i2", "WEIGHTS", "0", "1");
    EQ(fd, "\"-inf\"", "ZSCORE", "d", "x");
    EQ(fd, ":1", "ZINTERSTORE", "d", "2", "i1", "i2", "WEIGHTS", "1", "0");
    EQ(fd, "\"0\"", "ZSCORE", "d", "x");
    /* A destination that is also an input, and of another type. */
    EQ(fd, ":4", "ZUNIONSTORE", "a", "2", "a", "b");
    EQ(fd, "[\"x\",\"1\",\"y\",\"12\",\"z\",\"23\",\"w\",\"30\"]", "ZRANGE", "a", "0", "-1",
       "WITHSCORES");
    EQ(fd, "OK", "SET", "str", "v");
    EQ(fd, ":3", "ZUNIONSTORE", "str", "1", "b");
    EQ(fd, "zset", "TYPE", "str");
    EQ(fd, ":1", "EXPIRE", "d", "100");
    EQ(fd, ":3", "ZINTERSTORE", "d", "1", "b");
    EQ(fd, ":-1", "TTL", "d");
    /* Errors, in Redis's order. */
    EQ(fd, "-ERR at least 1 input key is needed for 'zunionstore' command", "ZUNIONSTORE", "d", "0",
       "a");
    EQ(fd, "-ERR at least 1 input key is needed for 'zinterstore' command", "ZINTERSTORE", "d",
       "-1", "a");
    EQ(fd, "-ERR value is not an integer or out of range", "ZUNIONSTORE", "d", "x", "a");
    EQ(fd, "-ERR syntax error", "ZUNIONSTORE", "d", "3", "a", "b");
    EQ(fd, "-ERR syntax error", "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1");
    EQ(fd, "-ERR weight value is not a float", "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1",
       "x");
    EQ(fd, "-ERR syntax error", "ZUNIONSTORE", "d", "2", "a", "b", "AGGREGATE", "foo");
    EQ(fd, "-ERR syntax error", "ZUNIONSTORE", "d", "2", "a", "b", "AGGREGATE");
    EQ(fd, "-ERR syntax error", "ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES");
    EQ(fd, "OK", "SET", "str", "v");
    EQ(fd, WT, "ZUNIONSTORE", "d", "2", "a", "str");
    EQ(fd, WT, "ZINTERSTORE", "d", "2", "a", "str", "foo"); /* types before options */
    EQ(fd, ":3", "ZCARD", "d");
}

Test(resp_zset, wrongtype_and_resp3)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, "OK", "SET", "str", "v");
    EQ(fd, WT, "ZADD", "str", "1", "a");
    EQ(fd, WT, "ZINCRBY", "str", "1", "a");
    EQ(fd, WT, "ZREM", "str", "a");
    EQ(fd, WT, "ZCARD", "str");
    EQ(fd, WT, "ZSCORE", "str", "a");
    EQ(fd, WT, "ZMSCORE", "str", "a");
    EQ(fd, WT, "ZRANK", "str", "a");
    EQ(fd, WT, "ZREVRANK", "str", "a");
    EQ(fd, WT, "ZCOUNT", "str", "0", "1");
    EQ(fd, "-ERR min or max is not a float", "ZCOUNT", "str", "x", "1"); /* parsed first */
    EQ(fd, WT, "ZLEXCOUNT", "str", "-", "+");
    EQ(fd, WT, "ZRANGE", "str", "0", "1");
    EQ(fd, "-ERR value is not an integer or out of range", "ZRANGE", "str", "x", "1");
    EQ(fd, WT, "ZRANGEBYSCORE", "str", "0", "1");
    EQ(fd, WT, "ZREVRANGEBYLEX", "str", "+", "-");
    EQ(fd, WT, "ZREMRANGEBYRANK", "str", "0", "1");
    EQ(fd, WT, "ZREMRANGEBYSCORE", "str", "0", "1");
    EQ(fd, WT, "ZREMRANGEBYLEX", "str", "-", "+");
    EQ(fd, WT, "ZPOPMIN", "str");
    EQ(fd, WT, "ZPOPMAX", "str", "0");
    EQ(fd, WT, "ZRANDMEMBER", "str");
    EQ(fd, WT, "ZSCAN", "str", "0");
    EQ(fd, "\"v\"", "GET", "str");
    EQ(fd, ":1", "ZADD", "z", "1", "a");
    EQ(fd, WT, "GET", "z");
    EQ(fd, WT, "SADD", "z", "a");
    /* RESP3: doubles, and member-score pairs. */
    cr_assert(Q(fd, "HELLO", "3")[0] == '{');
    EQ(fd, ":1", "ZADD", "z", "2.5", "b");
    EQ(fd, ",1", "ZSCORE", "z", "a");
    EQ(fd, "[,1,nil]", "ZMSCORE", "z", "a", "x");
    EQ(fd, ",3.5", "ZINCRBY", "z", "1", "b");
    EQ(fd, ",4.5", "ZADD", "z", "INCR", "1", "b");
    EQ(fd, "[[\"a\",,1],[\"b\",,4.5]]", "ZRANGE", "z", "0", "-1", "WITHSCORES");
    EQ(fd, "[[\"b\",,4.5]]", "ZRANGEBYSCORE", "z", "2", "+inf", "WITHSCORES");
    EQ(fd, "[\"a\",\"b\"]", "ZRANGE", "z", "0", "-1");
    EQ(fd, "[[\"b\",,4.5],[\"a\",,1]]", "ZRANDMEMBER", "z", "2", "WITHSCORES");
    EQ(fd, "[\"0\",[\"a\",\"1\",\"b\",\"4.5\"]]", "ZSCAN", "z", "0");
    EQ(fd, "[\"a\",,1]", "ZPOPMIN", "z");
    EQ(fd, "[[\"b\",,4.5]]", "ZPOPMAX", "z", "5");
    EQ(fd, "[]", "ZPOPMIN", "z");
    EQ(fd, ",inf", "ZADD", "z", "INCR", "+inf", "x");
    EQ(fd, ",-inf", "ZADD", "z", "INCR", "-inf", "y");
}

/* A big set: ranks from both ends, range seeks, removals in the middle. */
Test(resp_zset, big_set)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    for (int i = 0; i < 5; i++)
        fill(fd, "z", i * 1000, (i + 1) * 1000);
    EQ(fd, ":5000", "ZCARD", "z");
    EQ(fd, ":4321", "ZRANK", "z", "m04321");
    EQ(fd, ":678", "ZREVRANK", "z", "m04321");
    EQ(fd, "[\"m04998\",\"m04999\"]", "ZRANGE", "z", "-2", "-1");
    EQ(fd, "[\"m02500\",\"m02501\"]", "ZRANGE", "z", "2500", "2501");
    EQ(fd, "[\"m04000\",\"m03999\"]", "ZRANGE", "z", "999", "1000", "REV");
    EQ(fd, "[\"m03000\",\"m03001\"]", "ZRANGEBYSCORE", "z", "(2999", "3001");
    EQ(fd, "[\"m03001\",\"m03000\"]", "ZREVRANGEBYSCORE", "z", "(3002", "3000");
    EQ(fd, ":1001", "ZCOUNT", "z", "1000", "2000");
    EQ(fd, ":999", "ZREMRANGEBYSCORE", "z", "(1000", "(2000");
    EQ(fd, ":1000", "ZREMRANGEBYRANK", "z", "1001", "2000");
    EQ(fd, ":3001", "ZCARD", "z");
    EQ(fd, "[\"m01000\",\"m03000\",\"m03001\"]", "ZRANGE", "z", "1000", "1002");
    EQ(fd, ":1", "DEL", "z");
    EQ(fd, ":0", "ZCARD", "z");
    EQ(fd, "[]", "ZRANGE", "z", "0", "-1");
}

Test(resp_zset, survives_restart)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    fill(fd, "z", 0, 300);
    EQ(fd, ":2", "ZADD", "z", "-inf", "lo", "+inf", "hi");
    EQ(fd, "\"0.5\"", "ZINCRBY", "z", "0.5", "m00000");
    rs_stop(s);
    rs_restart(s);
    fd = rs_connect(s);
    EQ(fd, ":302", "ZCARD", "z");
    EQ(fd, "[\"lo\",\"-inf\",\"m00000\",\"0.5\"]", "ZRANGE", "z", "0", "1", "WITHSCORES");
    EQ(fd, "[\"hi\",\"inf\"]", "ZRANGE", "z", "-1", "-1", "WITHSCORES");
    EQ(fd, ":150", "ZRANK", "z", "m00149");
    EQ(fd, "[\"hi\",\"inf\"]", "ZPOPMAX", "z");
    rs_kill9(s);
    rs_restart(s);
    fd = rs_connect(s);
    EQ(fd, ":301", "ZCARD", "z");
    EQ(fd, "nil", "ZSCORE", "z", "hi");
}
