/*
 * test_resp_compat.c — what Redis's own test framework and Redis 7 clients
 * call that sits outside the data types (issue 15), end to end on the built
 * ffdb-server (tests/test_resp_util.h): the FUNCTION container with no
 * library loaded (FLUSH, LIST, STATS, errors). Expected replies from Redis
 * 7.0 on an empty function registry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_compat, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

Test(resp_compat, function_empty_registry)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    cr_assert_eq(rs_info_int(fd, "redis_git_sha1"), 0); /* the suite's printver reads it */
    EQ(fd, "OK", "FUNCTION", "FLUSH");
    EQ(fd, "OK", "FUNCTION", "flush", "async");
    EQ(fd, "OK", "FUNCTION", "FLUSH", "SYNC");
    EQ(fd, "-ERR syntax error", "FUNCTION", "FLUSH", "later");
    EQ(fd, "[]", "FUNCTION", "LIST");
    EQ(fd, "[]", "FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "x*");
    EQ(fd, "-ERR Unknown argument bogus", "FUNCTION", "LIST", "bogus");
    EQ(fd,
       "[\"running_script\",nil,\"engines\",[\"LUA\",[\"libraries_count\",:0,\"functions_count\","
       ":0]]]",
       "FUNCTION", "STATS");
    EQ(fd, "-ERR unknown subcommand 'nope'. Try FUNCTION HELP.", "FUNCTION", "nope");
    EQ(fd, "-ERR wrong number of arguments for 'function|stats' command", "FUNCTION", "STATS", "x");
    EQ(fd, "-ERR wrong number of arguments for 'function' command", "FUNCTION");
    /* the data is untouched by FUNCTION FLUSH */
    EQ(fd, "OK", "SET", "k", "v");
    EQ(fd, "OK", "FUNCTION", "FLUSH");
    EQ(fd, "\"v\"", "GET", "k");
    /* RESP3: STATS is a map */
    cr_assert_eq(Q(fd, "HELLO", "3")[0], '{');
    EQ(fd, "{\"running_script\":nil,\"engines\":{\"LUA\":{\"libraries_count\"::0,\"functions_count\"::0}}}",
       "FUNCTION", "STATS");
}

/* DEBUG: what the suite and clients call; the encodings it reports are
 * OBJECT ENCODING's. */
Test(resp_compat, debug_subset)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, "OK", "SET", "n", "123");
    EQ(fd, "OK", "SET", "str", "hello");
    EQ(fd, ":2", "RPUSH", "l", "a", "b");
    EQ(fd, "\"int\"", "OBJECT", "ENCODING", "n");
    EQ(fd, "Value at:0x0 refcount:1 encoding:int serializedlength:3 lru:0 lru_seconds_idle:0",
       "DEBUG", "OBJECT", "n");
    EQ(fd, "Value at:0x0 refcount:1 encoding:quicklist serializedlength:2 lru:0 lru_seconds_idle:0",
       "DEBUG", "OBJECT", "l");
    EQ(fd, "-ERR no such key", "DEBUG", "OBJECT", "nokey");
    EQ(fd, "OK", "DEBUG", "SET-ACTIVE-EXPIRE", "0");
    EQ(fd, "OK", "DEBUG", "quicklist-packed-threshold", "100");
    EQ(fd, "OK", "DEBUG", "SLEEP", "0");
    EQ(fd, "OK", "DEBUG", "SLEEP", "0.01");
    EQ(fd, "-ERR value is not a valid float", "DEBUG", "SLEEP", "x");
    EQ(fd, "OK", "DEBUG", "RELOAD");
    EQ(fd, "\"hello\"", "GET", "str"); /* RELOAD loses nothing */
    EQ(fd, "\"Hello World\"", "DEBUG", "PROTOCOL", "string");
    EQ(fd, ":12345", "DEBUG", "PROTOCOL", "integer");
    EQ(fd, "\"3.141\"", "DEBUG", "PROTOCOL", "double");
    EQ(fd, ":1", "DEBUG", "PROTOCOL", "true");
    EQ(fd, "[:0,:1,:2]", "DEBUG", "PROTOCOL", "array");
    EQ(fd, "-ERR unknown subcommand 'frob'. Try DEBUG HELP.", "DEBUG", "frob");
    cr_assert_eq(Q(fd, "HELLO", "3")[0], '{');
    EQ(fd, ",3.141", "DEBUG", "PROTOCOL", "double");
    EQ(fd, "#t", "DEBUG", "PROTOCOL", "true");
    EQ(fd, "~[:0,:1,:2]", "DEBUG", "PROTOCOL", "set");
    EQ(fd, "{:0:#f,:1:#t,:2:#f}", "DEBUG", "PROTOCOL", "map");
    EQ(fd, "nil", "DEBUG", "PROTOCOL", "null");
}

/* Redis 7.0's standard parameters: accepted, shown, survive CONFIG GET;
 * TLS and replication ones are refused rather than silently ignored. */
Test(resp_compat, config_standard_params)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, "[\"repl-ping-replica-period\",\"10\"]", "CONFIG", "GET", "repl-ping-replica-period");
    EQ(fd, "OK", "CONFIG", "SET", "repl-ping-replica-period", "2");
    EQ(fd, "[\"repl-ping-replica-period\",\"2\"]", "CONFIG", "GET", "repl-ping-replica-period");
    EQ(fd, "OK", "CONFIG", "SET", "stream-node-max-entries", "5");
    EQ(fd, "[\"hll-sparse-max-bytes\",\"3000\"]", "CONFIG", "GET", "hll-sparse-max-bytes");
    const char *got = Q(fd, "CONFIG", "SET", "tls-port", "6390");
    cr_assert(got[0] == '-', "tls-port: %s", got);
    got = Q(fd, "CONFIG", "SET", "replicaof", "127.0.0.1 1");
    cr_assert(got[0] == '-', "replicaof: %s", got);
}

/* SORT: numeric, ALPHA, LIMIT, BY (string and hash field), GET, STORE,
 * nosort orders; the replies are what redis-server 7.0.15 gave for the
 * same commands. */
Test(resp_compat, sort)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":5", "RPUSH", "l", "3", "1", "2", "10", "1.5");
    EQ(fd, "[\"1\",\"1.5\",\"2\",\"3\",\"10\"]", "SORT", "l");
    EQ(fd, "[\"10\",\"3\",\"2\",\"1.5\",\"1\"]", "SORT", "l", "DESC");
    EQ(fd, "[\"1\",\"1.5\",\"10\",\"2\",\"3\"]", "SORT", "l", "ALPHA");
    EQ(fd, "[\"1.5\",\"2\"]", "SORT", "l", "LIMIT", "1", "2");
    EQ(fd, "[]", "SORT", "l", "LIMIT", "10", "2");
    EQ(fd, "OK", "MSET", "w_3", "30", "w_1", "10", "w_2", "20", "w_10", "5", "o_1", "one", "o_2",
       "two");
    EQ(fd, "[\"1.5\",\"10\",\"1\",\"2\",\"3\"]", "SORT", "l", "BY", "w_*");
    EQ(fd, "[nil,\"1.5\",nil,\"10\",\"one\",\"1\",\"two\",\"2\",nil,\"3\"]", "SORT", "l", "BY",
       "w_*", "GET", "o_*", "GET", "#");
    EQ(fd, "[\"1.5\",\"10\",\"2\"]", "SORT", "l", "BY", "nosort", "DESC", "LIMIT", "0", "3");
    EQ(fd, ":2", "HSET", "h_1", "f", "9", "g", "x");
    EQ(fd, "[\"x\",\"1\"]", "SORT", "l", "BY", "h_*->f", "GET", "h_*->g", "GET", "#", "LIMIT", "4",
       "1");
    EQ(fd, ":3", "SADD", "s", "c", "a", "b");
    EQ(fd, ":3", "SORT", "s", "BY", "nosort", "STORE", "dst");
    EQ(fd, "[\"a\",\"b\",\"c\"]", "LRANGE", "dst", "0", "-1");
    EQ(fd, ":0", "SORT", "nokey", "STORE", "dst");
    EQ(fd, ":0", "EXISTS", "dst");
    EQ(fd, ":3", "ZADD", "z", "3", "x", "1", "y", "2", "zz");
    EQ(fd, "[\"x\",\"zz\",\"y\"]", "SORT", "z", "BY", "nosort", "DESC");
    EQ(fd, ":2", "RPUSH", "bad", "1", "x");
    EQ(fd, "-ERR One or more scores can't be converted into double", "SORT", "bad");
    EQ(fd, "-ERR syntax error", "SORT", "l", "BOGUS");
    EQ(fd, "-ERR syntax error", "SORT_RO", "l", "STORE", "x");
    EQ(fd, "OK", "SET", "str", "x");
    EQ(fd, "-WRONGTYPE Operation against a key holding the wrong kind of value", "SORT", "str");
}

/* COMMAND GETKEYS: table positions, and the commands whose keys a count
 * names. */
Test(resp_compat, command_getkeys)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, "[\"a\",\"b\"]", "COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2");
    EQ(fd, "[\"k1\",\"k2\"]", "COMMAND", "GETKEYS", "EVAL", "return 1", "2", "k1", "k2", "x");
    EQ(fd, "[\"d\",\"a\",\"b\"]", "COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b");
    EQ(fd, "[\"s1\",\"s2\"]", "COMMAND", "GETKEYS", "XREAD", "STREAMS", "s1", "s2", "0", "0");
    EQ(fd, "-ERR The command has no key arguments", "COMMAND", "GETKEYS", "PING");
    EQ(fd, "-ERR Invalid command specified", "COMMAND", "GETKEYS", "NOSUCH");
    EQ(fd, "-ERR Invalid number of arguments specified for command", "COMMAND", "GETKEYS", "GET");
}

/* MEMORY USAGE: nil for a missing key, more for more data. */
Test(resp_compat, memory_usage)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, "nil", "MEMORY", "USAGE", "none");
    EQ(fd, "OK", "SET", "s1", "x");
    EQ(fd, "OK", "SET", "s2", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    long a = strtol(Q(fd, "MEMORY", "USAGE", "s1") + 1, NULL, 10);
    long b = strtol(Q(fd, "MEMORY", "USAGE", "s2") + 1, NULL, 10);
    cr_assert(a > 0 && b >= a + 63, "small %ld, big %ld", a, b);
    EQ(fd, ":3", "RPUSH", "l", "1", "2", "3");
    cr_assert_eq(Q(fd, "MEMORY", "USAGE", "l", "SAMPLES", "0")[0], ':');
    EQ(fd, "-ERR syntax error", "MEMORY", "USAGE", "l", "SAMPLES");
}

/* DUMP / RESTORE: every type round-trips (ffdb's own payload), TTL,
 * BUSYKEY, REPLACE, a damaged payload refused. */
Test(resp_compat, dump_restore)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);
    const char *keys[] = {"l", "z", "h", "st", "x"};

    EQ(fd, ":3", "RPUSH", "l", "a", "b", "c");
    EQ(fd, ":2", "ZADD", "z", "1", "a", "2.5", "b");
    EQ(fd, ":1", "HSET", "h", "f", "v");
    EQ(fd, "OK", "SET", "st", "hello");
    EQ(fd, "\"1-1\"", "XADD", "x", "1-1", "f", "v");
    EQ(fd, "nil", "DUMP", "nokey");
    for (int i = 0; i < 5; i++) {
        rs_send(fd, "DUMP", keys[i], (const char *)NULL);
        rs_reply *d = rs_read(fd);
        cr_assert(d && d->type == '$', "DUMP %s", keys[i]);
        char dst[8];
        snprintf(dst, sizeof(dst), "%s2", keys[i]);
        const char *argv[] = {"RESTORE", dst, i == 0 ? "100000" : "0", d->str};
        size_t lens[] = {7, strlen(dst), strlen(argv[2]), d->len};
        rs_sendv(fd, 4, argv, lens);
        cr_assert_str_eq(rs_text(rs_read(fd)), "OK");
        rs_sendv(fd, 4, argv, lens);
        cr_assert_str_eq(rs_text(rs_read(fd)), "-BUSYKEY Target key name already exists.");
        d->str[d->len / 2] ^= 1; /* damaged: refused, nothing written */
        const char *argv2[] = {"RESTORE", "bad", "0", d->str};
        size_t lens2[] = {7, 3, 1, d->len};
        rs_sendv(fd, 4, argv2, lens2);
        cr_assert_str_eq(rs_text(rs_read(fd)), "-ERR DUMP payload version or checksum are wrong");
    }
    EQ(fd, "[\"a\",\"b\",\"c\"]", "LRANGE", "l2", "0", "-1");
    cr_assert(Q(fd, "PTTL", "l2")[1] != '-');
    EQ(fd, "[\"a\",\"1\",\"b\",\"2.5\"]", "ZRANGE", "z2", "0", "-1", "WITHSCORES");
    EQ(fd, "[\"b\"]", "ZRANGEBYSCORE", "z2", "2", "3");
    EQ(fd, "[\"f\",\"v\"]", "HGETALL", "h2");
    EQ(fd, "\"hello\"", "GET", "st2");
    EQ(fd, "[[\"1-1\",[\"f\",\"v\"]]]", "XRANGE", "x2", "-", "+");
    EQ(fd, ":0", "EXISTS", "bad");
    EQ(fd, "-ERR syntax error", "RESTORE", "q", "0", "x", "NOPE");
    EQ(fd, "-ERR Invalid TTL value, must be >= 0", "RESTORE", "q", "-1", "x");
}
