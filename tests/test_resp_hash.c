/*
 * test_resp_hash.c — the hash commands of ffdb-server end to end (the built
 * program on a loopback port, tests/test_resp_util.h): HSET and friends,
 * HINCRBY(FLOAT), HGETALL/HKEYS/HVALS in RESP2 and RESP3, HSCAN over a hash
 * bigger than one COUNT, HRANDFIELD's counts, error replies in Redis 7's
 * wording, WRONGTYPE, an emptied hash disappearing, TTLs kept by writes, and
 * the data surviving a restart. Expected replies were taken from Redis 7.0;
 * where ffdb-server orders fields its own way (byte order) the test says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_hash, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

/* HSET key f00000 v0 ... for fields [from, to), pipelined in one request. */
static void fill(int fd, const char *key, int from, int to)
{
    const char **argv = malloc(sizeof(*argv) * (size_t)(2 + 2 * (to - from)));
    char(*names)[2][16] = malloc(sizeof(*names) * (size_t)(to - from));
    int argc = 0;

    argv[argc++] = "HSET";
    argv[argc++] = key;
    for (int i = from; i < to; i++) {
        snprintf(names[i - from][0], 16, "f%05d", i);
        snprintf(names[i - from][1], 16, "v%d", i);
        argv[argc++] = names[i - from][0];
        argv[argc++] = names[i - from][1];
    }
    rs_sendv(fd, argc, argv, NULL);
    rs_reply *r = rs_read(fd);
    cr_assert(r && r->type == ':', "HSET of %d fields: %s", to - from, rs_text(r));
    free(argv);
    free(names);
}

Test(resp_hash, set_get_delete)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":2", "HSET", "h", "a", "1", "b", "2");
    EQ(fd, ":1", "HSET", "h", "a", "1", "c", "3");
    EQ(fd, ":1", "HSET", "h", "d", "x", "d", "y"); /* the same field twice counts once */
    EQ(fd, "\"y\"", "HGET", "h", "d");
    EQ(fd, "OK", "HMSET", "h", "x", "9");
    EQ(fd, ":0", "HSETNX", "h", "a", "5");
    EQ(fd, ":1", "HSETNX", "h", "n", "5");
    EQ(fd, "\"1\"", "HGET", "h", "a");
    EQ(fd, "nil", "HGET", "h", "zz");
    EQ(fd, "nil", "HGET", "nokey", "a");
    EQ(fd, "[\"1\",nil,\"2\"]", "HMGET", "h", "a", "zz", "b");
    EQ(fd, "[nil,nil]", "HMGET", "nokey", "a", "b");
    EQ(fd, ":0", "HDEL", "h", "zz");
    EQ(fd, ":2", "HDEL", "h", "a", "b", "zz", "a");
    EQ(fd, ":1", "HEXISTS", "h", "c");
    EQ(fd, ":0", "HEXISTS", "h", "a");
    EQ(fd, ":0", "HEXISTS", "nokey", "a");
    EQ(fd, ":4", "HLEN", "h");
    EQ(fd, ":0", "HLEN", "nokey");
    EQ(fd, ":1", "HSTRLEN", "h", "c");
    EQ(fd, ":0", "HSTRLEN", "h", "zz");
    EQ(fd, ":0", "HSTRLEN", "nokey", "zz");
    EQ(fd, "hash", "TYPE", "h");
    /* Byte order (Redis answers in insertion order for small hashes). */
    EQ(fd, "[\"c\",\"3\",\"d\",\"y\",\"n\",\"5\",\"x\",\"9\"]", "HGETALL", "h");
    EQ(fd, "[\"c\",\"d\",\"n\",\"x\"]", "HKEYS", "h");
    EQ(fd, "[\"3\",\"y\",\"5\",\"9\"]", "HVALS", "h");
    EQ(fd, "[]", "HGETALL", "nokey");
    EQ(fd, "[]", "HKEYS", "nokey");
    EQ(fd, "[]", "HVALS", "nokey");
    /* Binary fields and values, and an empty value. */
    EQ(fd, ":1", "HSET", "h", "\x01\xff", "");
    EQ(fd, "\"\"", "HGET", "h", "\x01\xff");
    EQ(fd, ":1", "HSTRLEN", "h", "c");
    /* The last field takes the key with it. */
    EQ(fd, ":5", "HDEL", "h", "c", "d", "n", "x", "\x01\xff");
    EQ(fd, ":0", "EXISTS", "h");
    EQ(fd, "none", "TYPE", "h");
    EQ(fd, ":0", "DBSIZE");
}

Test(resp_hash, errors_and_wrongtype)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);
    char *longf = malloc(1010);

    EQ(fd, "-ERR wrong number of arguments for 'hset' command", "HSET", "h");
    EQ(fd, "-ERR wrong number of arguments for 'hset' command", "HSET", "h", "a");
    EQ(fd, "-ERR wrong number of arguments for 'hset' command", "HSET", "h", "a", "1", "b");
    EQ(fd, "-ERR wrong number of arguments for 'hmset' command", "HMSET", "h", "a", "1", "b");
    EQ(fd, "-ERR wrong number of arguments for 'hdel' command", "HDEL", "h");
    EQ(fd, "-ERR wrong number of arguments for 'hincrby' command", "HINCRBY", "h", "c");
    EQ(fd, "-ERR wrong number of arguments for 'hget' command", "HGET", "h", "a", "b");
    EQ(fd, ":0", "EXISTS", "h"); /* no error left a key behind */
    EQ(fd, "OK", "SET", "str", "v");
    const char *wt = "-WRONGTYPE Operation against a key holding the wrong kind of value";
    EQ(fd, wt, "HSET", "str", "a", "1");
    EQ(fd, wt, "HSETNX", "str", "a", "1");
    EQ(fd, wt, "HMSET", "str", "a", "1");
    EQ(fd, wt, "HGET", "str", "a");
    EQ(fd, wt, "HMGET", "str", "a");
    EQ(fd, wt, "HDEL", "str", "a");
    EQ(fd, wt, "HEXISTS", "str", "a");
    EQ(fd, wt, "HLEN", "str");
    EQ(fd, wt, "HSTRLEN", "str", "a");
    EQ(fd, wt, "HGETALL", "str");
    EQ(fd, wt, "HKEYS", "str");
    EQ(fd, wt, "HVALS", "str");
    EQ(fd, wt, "HINCRBY", "str", "a", "1");
    EQ(fd, wt, "HINCRBYFLOAT", "str", "a", "1");
    EQ(fd, wt, "HSCAN", "str", "0");
    EQ(fd, wt, "HRANDFIELD", "str");
    EQ(fd, "\"v\"", "GET", "str");
    EQ(fd, ":1", "HSET", "h", "a", "1");
    EQ(fd, wt, "GET", "h");
    EQ(fd, wt, "INCR", "h");
    /* Fields are at most 1008 bytes: a longer one is refused on write and
     * simply absent on read. */
    memset(longf, 'f', 1009);
    longf[1009] = '\0';
    cr_assert(strncmp(Q(fd, "HSET", "h", longf, "v"), "-ERR field or member too long", 29) == 0);
    EQ(fd, "nil", "HGET", "h", longf);
    EQ(fd, ":0", "HDEL", "h", longf);
    longf[1008] = '\0';
    EQ(fd, ":1", "HSET", "h", longf, "v");
    EQ(fd, "\"v\"", "HGET", "h", longf);
    free(longf);
}

Test(resp_hash, counters)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":5", "HINCRBY", "h", "n", "5");
    EQ(fd, ":-5", "HINCRBY", "h", "n", "-10");
    EQ(fd, "-ERR value is not an integer or out of range", "HINCRBY", "h", "n", "x");
    EQ(fd, "-ERR value is not an integer or out of range", "HINCRBY", "h", "n", "1.5");
    EQ(fd, ":1", "HSET", "h", "s", "abc");
    EQ(fd, "-ERR hash value is not an integer", "HINCRBY", "h", "s", "1");
    EQ(fd, ":1", "HSET", "h", "sp", " 1");
    EQ(fd, "-ERR hash value is not an integer", "HINCRBY", "h", "sp", "1");
    EQ(fd, "-ERR hash value is not a float", "HINCRBYFLOAT", "h", "sp", "1");
    EQ(fd, ":1", "HSET", "h", "big", "9223372036854775807");
    EQ(fd, "-ERR increment or decrement would overflow", "HINCRBY", "h", "big", "1");
    EQ(fd, "\"9223372036854775807\"", "HGET", "h", "big");
    EQ(fd, "\"1.5\"", "HINCRBYFLOAT", "h", "f", "1.5");
    EQ(fd, "\"1.6\"", "HINCRBYFLOAT", "h", "f", "0.1");
    EQ(fd, "-ERR hash value is not a float", "HINCRBYFLOAT", "h", "s", "1");
    EQ(fd, "-ERR value is not a valid float", "HINCRBYFLOAT", "h", "f", "abc");
    EQ(fd, "-ERR value is not a valid float", "HINCRBYFLOAT", "h", "f", "nan");
    EQ(fd, "-ERR value is NaN or Infinity", "HINCRBYFLOAT", "h", "f", "inf");
    EQ(fd, ":1", "HSET", "h", "e", "1e3");
    EQ(fd, "\"1001\"", "HINCRBYFLOAT", "h", "e", "1");
    EQ(fd, ":1002", "HINCRBY", "h", "e", "1");
    EQ(fd, ":1", "HSET", "h", "i", "10");
    EQ(fd, "\"5010\"", "HINCRBYFLOAT", "h", "i", "5.0e3");
    EQ(fd, ":0", "HSET", "h", "i", "1e4932");
    EQ(fd, "-ERR increment would produce NaN or Infinity", "HINCRBYFLOAT", "h", "i", "1e4932");
    EQ(fd, "\"1e4932\"", "HGET", "h", "i");
}

Test(resp_hash, resp3_replies)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    cr_assert(Q(fd, "HELLO", "3")[0] == '{');
    EQ(fd, ":3", "HSET", "h", "a", "1", "b", "2", "c", "3");
    EQ(fd, "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}", "HGETALL", "h");
    EQ(fd, "{}", "HGETALL", "nokey");
    EQ(fd, "[\"a\",\"b\",\"c\"]", "HKEYS", "h");
    EQ(fd, "[[\"a\",\"1\"],[\"b\",\"2\"],[\"c\",\"3\"]]", "HRANDFIELD", "h", "3", "WITHVALUES");
    EQ(fd, "[[\"a\",\"1\"],[\"b\",\"2\"],[\"c\",\"3\"]]", "HRANDFIELD", "h", "10", "WITHVALUES");
    EQ(fd, "nil", "HGET", "h", "zz");
    EQ(fd, "[\"0\",[\"a\",\"1\",\"b\",\"2\",\"c\",\"3\"]]", "HSCAN", "h", "0");
}

Test(resp_hash, scan_sees_everything)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);
    int seen[500] = {0}, total = 0, rounds = 0;
    char cursor[32] = "0";

    fill(fd, "h", 0, 500);
    EQ(fd, ":500", "HLEN", "h");
    do {
        rs_reply *r;
        rs_send(fd, "HSCAN", "h", cursor, "COUNT", "7", NULL);
        r = rs_read(fd);
        cr_assert(r && r->type == '*' && r->count == 2, "%s", rs_text(r));
        cr_assert(r->elems[1]->count <= 14);
        for (size_t i = 0; i < r->elems[1]->count; i += 2) {
            int n = atoi(r->elems[1]->elems[i]->str + 1);
            cr_assert(n >= 0 && n < 500);
            cr_assert_eq(atoi(r->elems[1]->elems[i + 1]->str + 1), n);
            if (!seen[n]++)
                total++;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->elems[0]->str);
        cr_assert(++rounds < 1000, "HSCAN does not end");
    } while (strcmp(cursor, "0") != 0);
    cr_assert_eq(total, 500);
    /* MATCH filters what COUNT examined. */
    EQ(fd, "[\"0\",[\"f00499\",\"v499\"]]", "HSCAN", "h", "0", "MATCH", "*499", "COUNT", "1000");
    EQ(fd, "[\"0\",[]]", "HSCAN", "nokey", "0");
    EQ(fd, "[\"0\",[]]", "HSCAN", "nokey", "0", "COUNT", "0"); /* as Redis: key first */
    EQ(fd, "-ERR invalid cursor", "HSCAN", "h", "x");
    EQ(fd, "-ERR invalid cursor", "HSCAN", "nokey", "-1");
    EQ(fd, "-ERR syntax error", "HSCAN", "h", "0", "COUNT", "0");
    EQ(fd, "-ERR syntax error", "HSCAN", "h", "0", "COUNT", "-1");
    EQ(fd, "-ERR syntax error", "HSCAN", "h", "0", "MATCH");
    EQ(fd, "-ERR syntax error", "HSCAN", "h", "0", "FOO", "bar");
}

/* Distinct fields of a HRANDFIELD reply; asserts every one is a real field
 * with its value when withvalues. */
static int randfield_distinct(rs_reply *r, int withvalues, int nfields)
{
    int seen[1000] = {0}, distinct = 0;
    size_t step = withvalues ? 2 : 1;

    cr_assert(r && r->type == '*');
    for (size_t i = 0; i < r->count; i += step) {
        int n = atoi(r->elems[i]->str + 1);
        cr_assert(n >= 0 && n < nfields, "%s", r->elems[i]->str);
        if (withvalues)
            cr_assert_eq(atoi(r->elems[i + 1]->str + 1), n);
        distinct += !seen[n]++;
    }
    return distinct;
}

Test(resp_hash, randfield_counts)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);
    rs_reply *r;

    EQ(fd, "nil", "HRANDFIELD", "nokey");
    EQ(fd, "[]", "HRANDFIELD", "nokey", "5");
    EQ(fd, "[]", "HRANDFIELD", "nokey", "-5", "WITHVALUES");
    EQ(fd, ":1", "HSET", "one", "f00000", "v0");
    EQ(fd, "\"f00000\"", "HRANDFIELD", "one");
    EQ(fd, "[]", "HRANDFIELD", "one", "0");
    EQ(fd, "[\"f00000\",\"v0\",\"f00000\",\"v0\"]", "HRANDFIELD", "one", "-2", "WITHVALUES");
    EQ(fd, "-ERR syntax error", "HRANDFIELD", "one", "1", "withvalu");
    EQ(fd, "-ERR syntax error", "HRANDFIELD", "one", "1", "WITHVALUES", "x");
    EQ(fd, "-ERR value is not an integer or out of range", "HRANDFIELD", "one", "x");
    EQ(fd,
       "-ERR value is out of range, value must between -9223372036854775807 and "
       "9223372036854775807",
       "HRANDFIELD", "one", "-9223372036854775808");
    EQ(fd, "-ERR value is out of range", "HRANDFIELD", "one", "9223372036854775807", "WITHVALUES");
    /* A small hash (uniform walk) and a big one (random seeks). */
    fill(fd, "small", 0, 20);
    fill(fd, "big", 0, 1000);
    const char *keys[2] = {"small", "big"};
    int sizes[2] = {20, 1000};
    for (int k = 0; k < 2; k++) {
        rs_send(fd, "HRANDFIELD", keys[k], "10", "WITHVALUES", NULL);
        r = rs_read(fd);
        cr_assert_eq(r->count, 20);
        cr_assert_eq(randfield_distinct(r, 1, sizes[k]), 10);
        rs_send(fd, "HRANDFIELD", keys[k], "-30", NULL);
        r = rs_read(fd);
        cr_assert_eq(r->count, 30);
        randfield_distinct(r, 0, sizes[k]);
        rs_send(fd, "HRANDFIELD", keys[k], "2000", NULL);
        r = rs_read(fd);
        cr_assert_eq(r->count, (size_t)sizes[k]);
        cr_assert_eq(randfield_distinct(r, 0, sizes[k]), sizes[k]);
        rs_send(fd, "HRANDFIELD", keys[k], "300", NULL);
        r = rs_read(fd);
        cr_assert_eq(randfield_distinct(r, 0, sizes[k]), sizes[k] < 300 ? sizes[k] : 300);
    }
    /* Single picks reach many fields, not one. */
    int seen[1000] = {0}, distinct = 0;
    for (int i = 0; i < 400; i++) {
        rs_send(fd, "HRANDFIELD", "big", NULL);
        r = rs_read(fd);
        cr_assert(r && r->type == '$');
        distinct += !seen[atoi(r->str + 1)]++;
    }
    cr_assert_geq(distinct, 100, "400 picks reached only %d of 1000 fields", distinct);
}

Test(resp_hash, ttl_kept_and_big_hash_deleted_at_once)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":1", "HSET", "h", "a", "1");
    EQ(fd, ":1", "EXPIRE", "h", "100");
    EQ(fd, ":1", "HSET", "h", "b", "2");
    EQ(fd, ":2", "HINCRBY", "h", "a", "1");
    EQ(fd, ":1", "HDEL", "h", "b");
    EQ(fd, ":100", "TTL", "h");
    EQ(fd, ":1", "HDEL", "h", "a");
    EQ(fd, ":-2", "TTL", "h");
    EQ(fd, ":1", "HSET", "h", "a", "1");
    EQ(fd, ":-1", "TTL", "h"); /* a new hash, no old expiry */
    EQ(fd, ":1", "PEXPIRE", "h", "50");
    rs_sleep_ms(80);
    EQ(fd, "nil", "HGET", "h", "a");
    EQ(fd, ":1", "HSET", "h", "z", "1");
    EQ(fd, "[\"z\"]", "HKEYS", "h"); /* nothing of the expired hash shows */
    /* DEL of a big hash is O(1); a new hash of the same name starts empty. */
    for (int i = 0; i < 10; i++)
        fill(fd, "big", i * 500, (i + 1) * 500);
    EQ(fd, ":5000", "HLEN", "big");
    EQ(fd, ":1", "DEL", "big");
    EQ(fd, ":0", "HLEN", "big");
    EQ(fd, ":1", "HSET", "big", "f00001", "new");
    EQ(fd, "[\"f00001\",\"new\"]", "HGETALL", "big");
    /* The sweeper takes the old elements away in the background. */
    for (int i = 0; i < 500 && rs_info_int(fd, "ffdb_stale_entries_removed") < 5000; i++)
        rs_sleep_ms(10);
    cr_assert_geq(rs_info_int(fd, "ffdb_stale_entries_removed"), 5000);
    EQ(fd, "[\"f00001\",\"new\"]", "HGETALL", "big");
}

Test(resp_hash, survives_restart)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    fill(fd, "h", 0, 300);
    EQ(fd, ":1", "HDEL", "h", "f00007");
    EQ(fd, "\"2.5\"", "HINCRBYFLOAT", "h", "fl", "2.5");
    EQ(fd, ":1", "EXPIRE", "h", "1000");
    rs_stop(s);
    rs_restart(s);
    fd = rs_connect(s);
    EQ(fd, ":300", "HLEN", "h");
    EQ(fd, "nil", "HGET", "h", "f00007");
    EQ(fd, "\"v299\"", "HGET", "h", "f00299");
    EQ(fd, "\"2.5\"", "HGET", "h", "fl");
    const char *ttl = Q(fd, "TTL", "h");
    cr_assert(ttl[0] == ':' && atoi(ttl + 1) > 990, "%s", ttl);
    rs_kill9(s);
    rs_restart(s);
    fd = rs_connect(s);
    EQ(fd, ":300", "HLEN", "h");
}
