/*
 * test_resp_block.c — the blocking commands of ffdb-server end to end (the
 * built program on a loopback port, tests/test_resp_util.h): BLPOP BRPOP
 * BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP and the LMPOP/ZMPOP they
 * share parsing with. Served at once when data is there; otherwise the
 * client waits: woken by a push (also from inside MULTI/EXEC, by RENAME, by
 * another blocked client's BLMOVE), first blocked first served, kept
 * waiting by a push undone in the same EXEC or by a key of another type,
 * ended by its timeout, by CLIENT UNBLOCK, or by closing (nothing lost).
 * Inside MULTI a blocking command answers at once as timed out. Expected
 * replies were taken from Redis 7.0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_block, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

/* Wait (bounded) until INFO says n clients are blocked. */
static void wait_blocked(int fd, int64_t n)
{
    rs_wait_info_int(fd, "blocked_clients", n);
}

Test(resp_block, served_at_once_and_errors)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);

    EQ(fd, ":3", "RPUSH", "l", "a", "b", "c");
    EQ(fd, "[\"l\",\"a\"]", "BLPOP", "missing", "l", "0");
    EQ(fd, "[\"l\",\"c\"]", "BRPOP", "l", "0");
    EQ(fd, "\"b\"", "BLMOVE", "l", "m", "LEFT", "RIGHT", "0");
    EQ(fd, "nil", "BRPOPLPUSH", "l", "m", "0.05");
    EQ(fd, "nil", "BLPOP", "l", "0.05");
    EQ(fd, "-ERR timeout is negative", "BLPOP", "l", "-1");
    EQ(fd, "-ERR timeout is not a float or out of range", "BLPOP", "l", "abc");
    EQ(fd, "-ERR syntax error", "BLMOVE", "l", "m", "UP", "RIGHT", "0");
    EQ(fd, "OK", "SET", "s", "x");
    EQ(fd, "-WRONGTYPE Operation against a key holding the wrong kind of value", "BLPOP", "s", "0");
    EQ(fd, "-WRONGTYPE Operation against a key holding the wrong kind of value", "BZPOPMIN", "s",
       "0");

    /* LMPOP / BLMPOP */
    EQ(fd, ":4", "RPUSH", "l2", "1", "2", "3", "4");
    EQ(fd, "[\"l2\",[\"4\",\"3\"]]", "LMPOP", "2", "l", "l2", "RIGHT", "COUNT", "2");
    EQ(fd, "[\"l2\",[\"1\"]]", "BLMPOP", "0", "1", "l2", "LEFT");
    EQ(fd, "nil", "LMPOP", "1", "l", "LEFT");
    EQ(fd, "-ERR numkeys should be greater than 0", "LMPOP", "0", "l", "LEFT");
    EQ(fd, "-ERR count should be greater than 0", "LMPOP", "1", "l", "LEFT", "COUNT", "0");
    EQ(fd, "-ERR syntax error", "LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "2");
    EQ(fd, "-ERR syntax error", "LMPOP", "2", "l", "LEFT");

    /* sorted sets */
    EQ(fd, ":3", "ZADD", "z", "1", "a", "2", "b", "3", "c");
    EQ(fd, "[\"z\",\"a\",\"1\"]", "BZPOPMIN", "nz", "z", "0");
    EQ(fd, "[\"z\",\"c\",\"3\"]", "BZPOPMAX", "z", "0");
    EQ(fd, "[\"z\",[[\"b\",\"2\"]]]", "ZMPOP", "1", "z", "MIN", "COUNT", "10");
    EQ(fd, ":0", "EXISTS", "z");
    EQ(fd, "nil", "BZMPOP", "0.05", "1", "z", "MAX");
    Q(fd, "HELLO", "3"); /* RESP3 for the next two: a double score, a null */
    EQ(fd, ":1", "ZADD", "z", "5", "e");
    EQ(fd, "[\"z\",\"e\",,5]", "BZPOPMIN", "z", "0");
    EQ(fd, "nil", "BZPOPMIN", "z", "0.01");
}

Test(resp_block, wakes_in_order_and_times_out)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv), a = rs_connect(srv), b = rs_connect(srv), c = rs_connect(srv);

    SEND(a, "BLPOP", "q", "0");
    wait_blocked(fd, 1);
    SEND(b, "BRPOP", "other", "q", "0");
    wait_blocked(fd, 2);
    SEND(c, "BLPOP", "q", "0.2");
    wait_blocked(fd, 3);
    cr_assert(strstr(Q(fd, "CLIENT", "LIST"), "flags=b"), "CLIENT LIST shows no blocked flag");
    /* two elements: the first two blocked get them, the third times out */
    EQ(fd, ":2", "RPUSH", "q", "x", "y");
    READ_EQ(a, "[\"q\",\"x\"]");
    READ_EQ(b, "[\"q\",\"y\"]");
    READ_EQ(c, "nil");
    wait_blocked(fd, 0);
    EQ(fd, ":0", "EXISTS", "q");
    /* a client that was served goes on with what it pipelined meanwhile */
    SEND(a, "BLPOP", "q", "0");
    SEND(a, "PING");
    wait_blocked(fd, 1);
    EQ(fd, ":1", "LPUSH", "q", "z");
    READ_EQ(a, "[\"q\",\"z\"]");
    READ_EQ(a, "PONG");
}

Test(resp_block, multi_rename_chain_and_types)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv), a = rs_connect(srv), b = rs_connect(srv);

    /* LPUSH + DEL in one EXEC wakes no one; the next push does */
    SEND(a, "BLPOP", "k", "0");
    wait_blocked(fd, 1);
    EQ(fd, "OK", "MULTI");
    EQ(fd, "QUEUED", "LPUSH", "k", "a");
    EQ(fd, "QUEUED", "DEL", "k");
    EQ(fd, "QUEUED", "SET", "k", "str");
    EQ(fd, "[:1,:1,OK]", "EXEC");
    cr_assert_eq(rs_info_int(fd, "blocked_clients"), 1);
    EQ(fd, ":1", "DEL", "k");
    EQ(fd, "OK", "MULTI");
    EQ(fd, "QUEUED", "LPUSH", "k", "b");
    EQ(fd, "[:1]", "EXEC");
    READ_EQ(a, "[\"k\",\"b\"]");

    /* a key moved into place by RENAME */
    SEND(a, "BLPOP", "dst", "0");
    wait_blocked(fd, 1);
    EQ(fd, ":3", "RPUSH", "src", "1", "2", "3");
    EQ(fd, "OK", "RENAME", "src", "dst");
    READ_EQ(a, "[\"dst\",\"1\"]");

    /* chained: BLMOVE into a list another client waits on */
    SEND(a, "BLMOVE", "l1", "l2", "RIGHT", "LEFT", "0");
    wait_blocked(fd, 1);
    SEND(b, "BLPOP", "l2", "0");
    wait_blocked(fd, 2);
    EQ(fd, ":1", "RPUSH", "l1", "v");
    READ_EQ(a, "\"v\"");
    READ_EQ(b, "[\"l2\",\"v\"]");
    EQ(fd, ":0", "EXISTS", "l1", "l2");

    /* wrong destination type: the waiter gets WRONGTYPE, the element stays */
    EQ(fd, "OK", "SET", "t", "x");
    SEND(a, "BRPOPLPUSH", "bl", "t", "0");
    wait_blocked(fd, 1);
    EQ(fd, ":1", "RPUSH", "bl", "e");
    READ_EQ(a, "-WRONGTYPE Operation against a key holding the wrong kind of value");
    EQ(fd, "[\"e\"]", "LRANGE", "bl", "0", "-1");

    /* inside MULTI a blocking command does not block */
    EQ(fd, "OK", "MULTI");
    EQ(fd, "QUEUED", "BLPOP", "nothing", "0");
    EQ(fd, "QUEUED", "BZPOPMIN", "nothing", "0");
    EQ(fd, "QUEUED", "BLMOVE", "nothing", "x", "LEFT", "LEFT", "0");
    EQ(fd, "[nil,nil,nil]", "EXEC");
}

Test(resp_block, unblock_and_disconnect)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv), a = rs_connect(srv), b = rs_connect(srv);
    char id[32];

    snprintf(id, sizeof(id), "%s", Q(a, "CLIENT", "ID") + 1);
    SEND(a, "BLPOP", "u", "0");
    wait_blocked(fd, 1);
    EQ(fd, ":1", "CLIENT", "UNBLOCK", id);
    READ_EQ(a, "nil");
    SEND(a, "BZPOPMAX", "u", "0");
    wait_blocked(fd, 1);
    EQ(fd, ":1", "CLIENT", "UNBLOCK", id, "ERROR");
    READ_EQ(a, "-UNBLOCKED client unblocked via CLIENT UNBLOCK");
    EQ(fd, ":0", "CLIENT", "UNBLOCK", id);
    EQ(fd, "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR", "CLIENT", "UNBLOCK", id, "NOW");

    /* a blocked client that disconnects takes nothing with it */
    SEND(b, "BLPOP", "d", "0");
    SEND(a, "BLPOP", "d", "0");
    wait_blocked(fd, 2);
    rs_close(b);
    wait_blocked(fd, 1);
    EQ(fd, ":2", "RPUSH", "d", "1", "2");
    READ_EQ(a, "[\"d\",\"1\"]");
    EQ(fd, "[\"2\"]", "LRANGE", "d", "0", "-1");
    wait_blocked(fd, 0);
}
