/*
 * test_resp_server.c — ffdb-server end to end: the built program on a free
 * loopback port, driven over sockets by the small client of
 * test_resp_util.c. Strings, keys, expiry (lazy and by the sweeper),
 * MULTI/EXEC/WATCH, pub/sub in RESP2 and RESP3, server commands, limits,
 * malformed requests (only that connection closes), group commit, and
 * durability across kill -9.
 *
 * Every server is stopped by rs_teardown, whatever happens; every wait is
 * bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_strings, .init = rs_setup, .fini = rs_teardown, .timeout = 60);
TestSuite(resp_keys, .init = rs_setup, .fini = rs_teardown, .timeout = 60);
TestSuite(resp_expiry, .init = rs_setup, .fini = rs_teardown, .timeout = 60);
TestSuite(resp_multi, .init = rs_setup, .fini = rs_teardown, .timeout = 60);
TestSuite(resp_pubsub, .init = rs_setup, .fini = rs_teardown, .timeout = 60);
TestSuite(resp_admin, .init = rs_setup, .fini = rs_teardown, .timeout = 60);
TestSuite(resp_limits, .init = rs_setup, .fini = rs_teardown, .timeout = 60);
TestSuite(resp_durability, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

/* ---- strings ---------------------------------------------------------------------------- */

Test(resp_strings, get_set_and_options)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, "nil", "GET", "k");
    EQ(fd, "OK", "SET", "k", "v1");
    EQ(fd, "\"v1\"", "GET", "k");
    EQ(fd, "nil", "SET", "k", "v2", "NX");
    EQ(fd, "OK", "SET", "k", "v2", "XX");
    EQ(fd, "nil", "SET", "other", "x", "XX");
    EQ(fd, "\"v2\"", "SET", "k", "v3", "GET");
    EQ(fd, "nil", "SET", "fresh", "x", "GET");
    EQ(fd, "OK", "SET", "k", "v4", "EX", "100");
    EQ(fd, ":100", "TTL", "k");
    EQ(fd, "OK", "SET", "k", "v5", "KEEPTTL");
    EQ(fd, ":100", "TTL", "k");
    EQ(fd, "OK", "SET", "k", "v6");
    EQ(fd, ":-1", "TTL", "k");
    EQ(fd, "-ERR syntax error", "SET", "k", "v", "NX", "XX");
    EQ(fd, "-ERR syntax error", "SET", "k", "v", "EX", "1", "PX", "1");
    EQ(fd, "-ERR value is not an integer or out of range", "SET", "k", "v", "EX", "x");
    EQ(fd, "-ERR invalid expire time in 'set' command", "SET", "k", "v", "EX", "0");
    EQ(fd, "-ERR wrong number of arguments for 'get' command", "GET");
    EQ(fd, "-ERR wrong number of arguments for 'set' command", "SET", "k");
    EQ(fd, ":1", "SETNX", "n", "1");
    EQ(fd, ":0", "SETNX", "n", "2");
    EQ(fd, "OK", "SETEX", "e", "10", "v");
    EQ(fd, "-ERR invalid expire time in 'setex' command", "SETEX", "e", "-1", "v");
    EQ(fd, "OK", "PSETEX", "e", "10000", "v");
    EQ(fd, "\"v\"", "GETSET", "e", "w");
    EQ(fd, ":-1", "TTL", "e");
    EQ(fd, "\"w\"", "GETDEL", "e");
    EQ(fd, "nil", "GET", "e");
    EQ(fd, "OK", "MSET", "a", "1", "b", "2");
    EQ(fd, "[\"1\",\"2\",nil]", "MGET", "a", "b", "c");
    EQ(fd, "-ERR wrong number of arguments for 'mset' command", "MSET", "a", "1", "b");
    EQ(fd, ":0", "MSETNX", "a", "9", "z", "9");
    EQ(fd, "nil", "GET", "z");
    EQ(fd, ":1", "MSETNX", "y", "9", "z", "9");
    EQ(fd, "\"v6\"", "GETEX", "k", "EX", "50");
    EQ(fd, ":50", "TTL", "k");
    EQ(fd, "\"v6\"", "GETEX", "k", "PERSIST");
    EQ(fd, ":-1", "TTL", "k");
    EQ(fd, "-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' ", "NOPE", "a", "b");
}

Test(resp_strings, counters_ranges_and_bits)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":1", "INCR", "c");
    EQ(fd, ":11", "INCRBY", "c", "10");
    EQ(fd, ":10", "DECR", "c");
    EQ(fd, ":0", "DECRBY", "c", "10");
    EQ(fd, "OK", "SET", "c", "9223372036854775807");
    EQ(fd, "-ERR increment or decrement would overflow", "INCR", "c");
    EQ(fd, "OK", "SET", "c", "abc");
    EQ(fd, "-ERR value is not an integer or out of range", "INCR", "c");
    EQ(fd, "-ERR value is not an integer or out of range", "INCRBY", "c", "1.5");
    EQ(fd, "\"10.5\"", "INCRBYFLOAT", "f", "10.5");
    EQ(fd, "\"10.6\"", "INCRBYFLOAT", "f", "0.1");
    EQ(fd, "OK", "SET", "f", "5.0e3");
    EQ(fd, "\"5200\"", "INCRBYFLOAT", "f", "2.0e2");
    EQ(fd, "-ERR value is not a valid float", "INCRBYFLOAT", "f", "x");
    EQ(fd, "OK", "SET", "s", "Hello");
    EQ(fd, ":11", "APPEND", "s", " World");
    EQ(fd, ":11", "STRLEN", "s");
    EQ(fd, "\"World\"", "GETRANGE", "s", "-5", "-1");
    EQ(fd, "\"Hello World\"", "GETRANGE", "s", "0", "100");
    EQ(fd, "\"\"", "GETRANGE", "s", "5", "2");
    EQ(fd, ":11", "SETRANGE", "s", "6", "Redis");
    EQ(fd, "\"Hello Redis\"", "GET", "s");
    EQ(fd, ":8", "SETRANGE", "pad", "3", "abcde");
    EQ(fd, "\"\\x00\\x00\\x00abcde\"", "GET", "pad");
    EQ(fd, "-ERR offset is out of range", "SETRANGE", "s", "-1", "x");
    EQ(fd, ":0", "SETBIT", "bits", "7", "1");
    EQ(fd, ":1", "SETBIT", "bits", "7", "0");
    EQ(fd, ":0", "GETBIT", "bits", "7");
    EQ(fd, ":0", "SETBIT", "bits", "100", "1");
    EQ(fd, ":1", "GETBIT", "bits", "100");
    EQ(fd, ":0", "GETBIT", "bits", "1000000");
    EQ(fd, "-ERR bit is not an integer or out of range", "SETBIT", "bits", "1", "2");
    EQ(fd, "-ERR bit offset is not an integer or out of range", "SETBIT", "bits", "-1", "1");
    EQ(fd, "OK", "SET", "bc", "foobar");
    EQ(fd, ":26", "BITCOUNT", "bc");
    EQ(fd, ":4", "BITCOUNT", "bc", "0", "0");
    EQ(fd, ":6", "BITCOUNT", "bc", "1", "1");
    EQ(fd, ":17", "BITCOUNT", "bc", "5", "30", "BIT");
    EQ(fd, ":0", "BITCOUNT", "nokey");
}

Test(resp_strings, binary_values_and_big_values)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);
    size_t n = 3 * 1024 * 1024;
    char *big = malloc(n);
    const char *argv[3] = {"SET", "big", big};
    size_t lens[3] = {3, 3, n};
    rs_reply *r;

    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7);
    rs_sendv(fd, 3, argv, lens);
    cr_assert_str_eq(rs_text(rs_read(fd)), "OK");
    rs_send(fd, "GET", "big", NULL);
    r = rs_read(fd);
    cr_assert(r && r->type == '$' && r->len == n && memcmp(r->str, big, n) == 0);
    EQ(fd, ":3145728", "STRLEN", "big");
    free(big);
}

/* ---- keys ------------------------------------------------------------------------------------ */

Test(resp_keys, generic_commands)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, "OK", "MSET", "a", "1", "b", "2", "c", "3");
    EQ(fd, ":3", "DBSIZE");
    EQ(fd, ":2", "EXISTS", "a", "b", "nokey");
    EQ(fd, ":2", "EXISTS", "a", "a");
    EQ(fd, "string", "TYPE", "a");
    EQ(fd, "none", "TYPE", "nokey");
    EQ(fd, ":2", "DEL", "a", "b", "nokey");
    EQ(fd, ":1", "UNLINK", "c");
    EQ(fd, ":0", "DBSIZE");
    EQ(fd, "OK", "SET", "src", "v");
    EQ(fd, "-ERR no such key", "RENAME", "nokey", "x");
    EQ(fd, "OK", "RENAME", "src", "dst");
    EQ(fd, "nil", "GET", "src");
    EQ(fd, "\"v\"", "GET", "dst");
    EQ(fd, "OK", "RENAME", "dst", "dst");
    EQ(fd, "OK", "SET", "other", "o");
    EQ(fd, ":0", "RENAMENX", "dst", "other");
    EQ(fd, ":1", "RENAMENX", "dst", "third");
    EQ(fd, ":1", "COPY", "third", "copy");
    EQ(fd, ":0", "COPY", "third", "copy");
    EQ(fd, ":1", "COPY", "third", "copy", "REPLACE");
    EQ(fd, ":1", "COPY", "third", "copy", "DB", "3");
    EQ(fd, "-ERR source and destination objects are the same", "COPY", "copy", "copy");
    EQ(fd, ":1", "MOVE", "copy", "1");
    EQ(fd, ":0", "MOVE", "nokey", "1");
    EQ(fd, "-ERR DB index is out of range", "MOVE", "third", "16");
    EQ(fd, "OK", "SELECT", "1");
    EQ(fd, "\"v\"", "GET", "copy");
    EQ(fd, "OK", "SELECT", "3");
    EQ(fd, "\"v\"", "GET", "copy");
    EQ(fd, "-ERR DB index is out of range", "SELECT", "16");
    EQ(fd, "OK", "FLUSHDB");
    EQ(fd, ":0", "DBSIZE");
    EQ(fd, "OK", "SELECT", "0");
    EQ(fd, ":2", "DBSIZE");
    EQ(fd, "OK", "FLUSHALL");
    EQ(fd, ":0", "DBSIZE");
    EQ(fd, "nil", "RANDOMKEY");
    EQ(fd, "OK", "SET", "only", "1");
    EQ(fd, "\"only\"", "RANDOMKEY");
}

Test(resp_keys, keys_and_scan_see_everything)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);
    char key[32];
    int seen[300] = {0}, total = 0, rounds = 0;
    const char *cursor = "0";

    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "user:%03d", i);
        rs_send(fd, "SET", key, "x", NULL);
    }
    for (int i = 0; i < 300; i++)
        cr_assert_str_eq(rs_text(rs_read(fd)), "OK");
    EQ(fd, "OK", "SET", "other", "x");
    EQ(fd, "[\"user:010\",\"user:011\",\"user:012\"]", "KEYS", "user:01[0-2]");
    rs_send(fd, "KEYS", "*", NULL);
    cr_assert_eq(rs_read(fd)->count, 301);
    do {
        rs_reply *r;
        rs_send(fd, "SCAN", cursor, "MATCH", "user:*", "COUNT", "7", NULL);
        r = rs_read(fd);
        cr_assert(r && r->type == '*' && r->count == 2);
        for (size_t i = 0; i < r->elems[1]->count; i++) {
            int n = atoi(r->elems[1]->elems[i]->str + 5);
            cr_assert(n >= 0 && n < 300);
            if (!seen[n]++)
                total++;
        }
        cursor = r->elems[0]->str;
        cr_assert(++rounds < 1000, "SCAN does not end");
    } while (strcmp(cursor, "0") != 0);
    cr_assert_eq(total, 300);
    rs_send(fd, "SCAN", "0", "TYPE", "hash", "COUNT", "1000", NULL);
    cr_assert_eq(rs_read(fd)->elems[1]->count, 0);
    EQ(fd, "-ERR invalid cursor", "SCAN", "x");
    EQ(fd, "-ERR syntax error", "SCAN", "0", "COUNT", "0");
}

/* ---- expiry ------------------------------------------------------------------------------------
 */

Test(resp_expiry, lazy_and_active)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);
    char key[32];

    EQ(fd, "OK", "SET", "k", "v");
    EQ(fd, ":1", "PEXPIRE", "k", "100");
    const char *pttl = Q(fd, "PTTL", "k");
    cr_assert(pttl[0] == ':' && atoi(pttl + 1) > 0 && atoi(pttl + 1) <= 100, "%s", pttl);
    rs_sleep_ms(150);
    EQ(fd, "nil", "GET", "k");
    EQ(fd, ":-2", "TTL", "k");
    EQ(fd, ":0", "EXISTS", "k");
    /* The sweeper deletes what expired: DBSIZE counts keys not yet swept. */
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "t%d", i);
        rs_send(fd, "SET", key, "v", "PX", "50", NULL);
        cr_assert_str_eq(rs_text(rs_read(fd)), "OK");
    }
    for (int i = 0; i < 200 && strcmp(Q(fd, "DBSIZE"), ":0") != 0; i++)
        rs_sleep_ms(20);
    EQ(fd, ":0", "DBSIZE");
    cr_assert_geq(rs_info_int(fd, "expired_keys"), 50);
}

Test(resp_expiry, expire_options_and_persist)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":0", "EXPIRE", "nokey", "10");
    EQ(fd, "OK", "SET", "k", "v");
    EQ(fd, ":0", "EXPIRE", "k", "10", "XX");
    EQ(fd, ":0", "EXPIRE", "k", "10", "GT");
    EQ(fd, ":1", "EXPIRE", "k", "10", "NX");
    EQ(fd, ":0", "EXPIRE", "k", "20", "NX");
    EQ(fd, ":1", "EXPIRE", "k", "20", "GT");
    EQ(fd, ":0", "EXPIRE", "k", "5", "GT");
    EQ(fd, ":1", "EXPIRE", "k", "5", "LT");
    EQ(fd, ":5", "TTL", "k");
    EQ(fd, "-ERR NX and XX, GT or LT options at the same time are not compatible", "EXPIRE", "k",
       "5", "NX", "XX");
    EQ(fd, "-ERR Unsupported option foo", "EXPIRE", "k", "5", "foo");
    EQ(fd, ":1", "PERSIST", "k");
    EQ(fd, ":0", "PERSIST", "k");
    EQ(fd, ":-1", "TTL", "k");
    EQ(fd, ":1", "EXPIREAT", "k", "4102444800");
    EQ(fd, ":4102444800", "EXPIRETIME", "k");
    EQ(fd, ":4102444800000", "PEXPIRETIME", "k");
    EQ(fd, ":1", "EXPIRE", "k", "-1"); /* the past deletes */
    EQ(fd, ":0", "EXISTS", "k");
    EQ(fd, "OK", "SET", "k", "v");
    EQ(fd, ":1", "PEXPIREAT", "k", "1");
    EQ(fd, "nil", "GET", "k");
    EQ(fd, "-ERR invalid expire time in 'expire' command", "EXPIRE", "k", "9223372036854775807");
}

/* ---- MULTI / EXEC / WATCH -------------------------------------------------------------------- */

Test(resp_multi, exec_discard_and_errors)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, "-ERR EXEC without MULTI", "EXEC");
    EQ(fd, "-ERR DISCARD without MULTI", "DISCARD");
    EQ(fd, "OK", "MULTI");
    EQ(fd, "-ERR MULTI calls can not be nested", "MULTI");
    EQ(fd, "QUEUED", "SET", "a", "1");
    EQ(fd, "QUEUED", "INCR", "a");
    EQ(fd, "QUEUED", "INCR", "s");
    EQ(fd, "QUEUED", "GET", "a");
    EQ(fd, "[OK,:2,:1,\"2\"]", "EXEC");
    EQ(fd, "OK", "MULTI");
    EQ(fd, "QUEUED", "SET", "a", "x");
    EQ(fd, "OK", "DISCARD");
    EQ(fd, "\"2\"", "GET", "a");
    /* An error while queuing aborts EXEC; a runtime error does not. */
    EQ(fd, "OK", "MULTI");
    EQ(fd, "-ERR unknown command 'NOPE', with args beginning with: ", "NOPE");
    EQ(fd, "QUEUED", "SET", "a", "y");
    EQ(fd, "-EXECABORT Transaction discarded because of previous errors.", "EXEC");
    EQ(fd, "\"2\"", "GET", "a");
    EQ(fd, "OK", "SET", "str", "x");
    EQ(fd, "OK", "MULTI");
    EQ(fd, "QUEUED", "INCR", "str");
    EQ(fd, "QUEUED", "SET", "a", "z");
    EQ(fd, "[-ERR value is not an integer or out of range,OK]", "EXEC");
    EQ(fd, "\"z\"", "GET", "a");
    EQ(fd, "OK", "MULTI");
    EQ(fd, "-ERR WATCH inside MULTI is not allowed", "WATCH", "a");
    EQ(fd, "[]", "EXEC");
}

Test(resp_multi, watch)
{
    rs_server *s = rs_start(NULL);
    int a = rs_connect(s), b = rs_connect(s);

    EQ(a, "OK", "SET", "w", "1");
    EQ(a, "OK", "WATCH", "w");
    EQ(b, "OK", "SET", "w", "2");
    EQ(a, "OK", "MULTI");
    EQ(a, "QUEUED", "SET", "w", "3");
    EQ(a, "nil", "EXEC");
    EQ(a, "\"2\"", "GET", "w");
    /* Untouched: runs. */
    EQ(a, "OK", "WATCH", "w");
    EQ(b, "OK", "SET", "unrelated", "x");
    EQ(a, "OK", "MULTI");
    EQ(a, "QUEUED", "SET", "w", "4");
    EQ(a, "[OK]", "EXEC");
    /* UNWATCH forgets. */
    EQ(a, "OK", "WATCH", "w");
    EQ(b, "OK", "SET", "w", "5");
    EQ(a, "OK", "UNWATCH");
    EQ(a, "OK", "MULTI");
    EQ(a, "QUEUED", "GET", "w");
    EQ(a, "[\"5\"]", "EXEC");
    /* A watched key that expires in between counts as changed. */
    EQ(a, "OK", "SET", "w", "6", "PX", "50");
    EQ(a, "OK", "WATCH", "w");
    rs_sleep_ms(80);
    EQ(a, "OK", "MULTI");
    EQ(a, "QUEUED", "SET", "w", "7");
    EQ(a, "nil", "EXEC");
    /* FLUSHDB touches every watched key. */
    EQ(a, "OK", "SET", "w", "8");
    EQ(a, "OK", "WATCH", "w");
    EQ(b, "OK", "FLUSHDB");
    EQ(a, "OK", "MULTI");
    EQ(a, "QUEUED", "SET", "w", "9");
    EQ(a, "nil", "EXEC");
}

/* ---- pub/sub ------------------------------------------------------------------------------------
 */

Test(resp_pubsub, resp2)
{
    rs_server *s = rs_start(NULL);
    int sub = rs_connect(s), pub = rs_connect(s);

    EQ(sub, "[\"subscribe\",\"news\",:1]", "SUBSCRIBE", "news");
    rs_send(sub, "PSUBSCRIBE", "n*", NULL);
    cr_assert_str_eq(rs_text(rs_read(sub)), "[\"psubscribe\",\"n*\",:2]");
    EQ(pub, ":2", "PUBLISH", "news", "hello");
    cr_assert_str_eq(rs_text(rs_read(sub)), "[\"message\",\"news\",\"hello\"]");
    cr_assert_str_eq(rs_text(rs_read(sub)), "[\"pmessage\",\"n*\",\"news\",\"hello\"]");
    EQ(pub, ":0", "PUBLISH", "other", "x");
    EQ(pub, "[\"news\"]", "PUBSUB", "CHANNELS");
    EQ(pub, "[\"news\",:1,\"x\",:0]", "PUBSUB", "NUMSUB", "news", "x");
    EQ(pub, ":1", "PUBSUB", "NUMPAT");
    EQ(sub,
       "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
       "are allowed in this context",
       "GET", "x");
    EQ(sub, "[\"pong\",\"\"]", "PING");
    EQ(sub, "[\"unsubscribe\",\"news\",:1]", "UNSUBSCRIBE");
    EQ(sub, "[\"punsubscribe\",\"n*\",:0]", "PUNSUBSCRIBE");
    EQ(sub, "PONG", "PING");
    EQ(pub, ":0", "PUBLISH", "news", "gone");
}

Test(resp_pubsub, resp3_push_frames)
{
    rs_server *s = rs_start(NULL);
    int sub = rs_connect(s), pub = rs_connect(s);
    rs_reply *r;

    rs_send(sub, "HELLO", "3", NULL);
    r = rs_read(sub);
    cr_assert(r && r->type == '%');
    EQ(sub, ">[\"subscribe\",\"ch\",:1]", "SUBSCRIBE", "ch");
    EQ(sub, "nil", "GET", "nokey"); /* RESP3: commands still work while subscribed */
    EQ(pub, ":1", "PUBLISH", "ch", "m");
    cr_assert_str_eq(rs_text(rs_read(sub)), ">[\"message\",\"ch\",\"m\"]");
    /* A subscriber that goes away is forgotten. */
    rs_close(sub);
    for (int i = 0; i < 100 && strcmp(Q(pub, "PUBLISH", "ch", "x"), ":0") != 0; i++)
        rs_sleep_ms(10);
    EQ(pub, ":0", "PUBLISH", "ch", "x");
}

/* ---- server commands ------------------------------------------------------------------------- */

Test(resp_admin, connection_and_info)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s), other = rs_connect(s);
    const char *t;

    EQ(fd, "PONG", "PING");
    EQ(fd, "\"hi\"", "PING", "hi");
    EQ(fd, "\"x\"", "ECHO", "x");
    EQ(fd, "nil", "CLIENT", "GETNAME");
    EQ(fd, "OK", "CLIENT", "SETNAME", "tester");
    EQ(fd, "\"tester\"", "CLIENT", "GETNAME");
    EQ(fd, "-ERR Client names cannot contain spaces, newlines or special characters.", "CLIENT",
       "SETNAME", "a b");
    t = Q(fd, "CLIENT", "LIST");
    cr_assert(strstr(t, "name=tester") && strstr(t, "cmd=client"), "%s", t);
    t = Q(fd, "CLIENT", "ID");
    cr_assert(t[0] == ':');
    EQ(other, ":1", "CLIENT", "KILL", "SKIPME", "yes", "ID", Q(fd, "CLIENT", "ID") + 1);
    cr_assert(rs_closed(fd, 2000));
    fd = rs_connect(s);
    t = Q(fd, "INFO");
    cr_assert(strstr(t, "redis_version:") && strstr(t, "connected_clients:2") &&
                  strstr(t, "ffdb_txid:") && strstr(t, "# Keyspace"),
              "%s", t);
    EQ(fd, "OK", "SET", "k", "v");
    t = Q(fd, "INFO", "keyspace");
    cr_assert(strstr(t, "db0:keys=1,expires=0"), "%s", t);
    cr_assert(strstr(Q(fd, "INFO", "persistence"), "ffdb_fsync:always"));
    t = Q(fd, "CONFIG", "GET", "maxclients");
    cr_assert_str_eq(t, "[\"maxclients\",\"10000\"]");
    EQ(fd, "OK", "CONFIG", "SET", "timeout", "100");
    EQ(fd, "[\"timeout\",\"100\"]", "CONFIG", "GET", "timeout");
    EQ(fd, "OK", "CONFIG", "SET", "maxmemory", "100mb"); /* accepted, ignored */
    EQ(fd, "[\"maxmemory\",\"100mb\"]", "CONFIG", "GET", "maxmemory");
    EQ(fd, "-ERR Unknown option or number of arguments for CONFIG SET - 'nope'", "CONFIG", "SET",
       "nope", "1");
    EQ(fd,
       "-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config",
       "CONFIG", "SET", "port", "1");
    t = Q(fd, "COMMAND", "COUNT");
    cr_assert(t[0] == ':' && atoi(t + 1) > 50, "%s", t);
    t = Q(fd, "COMMAND", "INFO", "get");
    cr_assert(strstr(t, "[[\"get\",:2,[readonly,fast],:1,:1,:1,") == t, "%s", t);
    t = Q(fd, "TIME");
    cr_assert(t[0] == '[', "%s", t);
    t = Q(fd, "LASTSAVE");
    cr_assert(t[0] == ':', "%s", t);
    EQ(fd, "OK", "SAVE");
    EQ(fd, "Background saving started", "BGSAVE");
    t = Q(fd, "HELLO", "3", "SETNAME", "h3");
    cr_assert(strstr(t, "{\"server\":\"redis\"") && strstr(t, "\"proto\"::3"), "%s", t);
    EQ(fd, "-NOPROTO unsupported protocol version", "HELLO", "4");
    EQ(fd, "nil", "GET", "nokey"); /* RESP3 null */
}

Test(resp_admin, auth)
{
    const char *args[] = {"--requirepass", "secret", NULL};
    rs_server *s = rs_start(args);
    int fd = rs_connect(s);

    EQ(fd, "-NOAUTH Authentication required.", "GET", "k");
    EQ(fd, "-WRONGPASS invalid username-password pair or user is disabled.", "AUTH", "nope");
    EQ(fd, "OK", "AUTH", "secret");
    EQ(fd, "nil", "GET", "k");
    fd = rs_connect(s);
    EQ(fd, "-WRONGPASS invalid username-password pair or user is disabled.", "HELLO", "3", "AUTH",
       "default", "bad");
    cr_assert(Q(fd, "HELLO", "3", "AUTH", "default", "secret")[0] == '{');
    EQ(fd, "nil", "GET", "k");
}

Test(resp_admin, shutdown_commits_and_exits)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, "OK", "SET", "k", "v");
    rs_send(fd, "SHUTDOWN", NULL);
    cr_assert(rs_closed(fd, 5000));
    for (int i = 0; i < 500 && !strstr(rs_log(s), "bye bye"); i++)
        rs_sleep_ms(10);
    cr_assert(strstr(rs_log(s), "bye bye"), "%s", rs_log(s));
    s->pid = (waitpid(s->pid, NULL, 0), 0);
    rs_restart(s);
    fd = rs_connect(s);
    EQ(fd, "\"v\"", "GET", "k");
    rs_stop(s);
}

/* ---- limits and bad input ------------------------------------------------------------------- */

Test(resp_limits, malformed_requests_close_only_that_connection)
{
    static const char *const bad[] = {
        "*1\r\n$-5\r\n",   "*1\r\n$99999999999\r\n", "*abc\r\n",
        "*2\r\n+PING\r\n", "GET \"unbalanced\r\n",
    };
    static const char *const errors[] = {
        "-ERR Protocol error: invalid bulk length",
        "-ERR Protocol error: invalid bulk length",
        "-ERR Protocol error: invalid multibulk length",
        "-ERR Protocol error: expected '$', got '+'",
        "-ERR Protocol error: unbalanced quotes in request",
    };
    rs_server *s = rs_start(NULL);
    int good = rs_connect(s);

    EQ(good, "OK", "SET", "k", "v");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int fd = rs_connect(s);
        rs_send_raw(fd, bad[i], strlen(bad[i]));
        cr_assert_str_eq(rs_text(rs_read(fd)), errors[i]);
        cr_assert(rs_closed(fd, 2000), "case %zu: still open", i);
        rs_close(fd);
        EQ(good, "\"v\"", "GET", "k");
    }
    /* Half a command, then gone; a giant inline line. */
    int fd = rs_connect(s);
    rs_send_raw(fd, "*3\r\n$3\r\nSET\r\n$1\r\n", 17);
    rs_close(fd);
    fd = rs_connect(s);
    char *line = malloc(100000);
    memset(line, 'a', 100000);
    rs_send_raw(fd, line, 100000);
    free(line);
    cr_assert_str_eq(rs_text(rs_read(fd)), "-ERR Protocol error: too big inline request");
    cr_assert(rs_closed(fd, 2000));
    EQ(good, "\"v\"", "GET", "k");
    cr_assert_geq(rs_info_int(good, "ffdb_protocol_errors"), 6);
}

Test(resp_limits, maxclients_timeout_and_output_limit)
{
    const char *args[] = {"--maxclients", "3",   "--timeout", "1", "--client-output-buffer-limit",
                          "normal",       "1mb", "0",         "0", NULL};
    rs_server *s = rs_start(args);
    int a = rs_connect(s), b, c, d;
    size_t n = 2 * 1024 * 1024;
    char *big = malloc(n);
    const char *argv[3] = {"SET", "big", big};
    size_t lens[3] = {3, 3, n};

    /* rs_start's probe connection may not be gone yet. */
    for (int i = 0; i < 200 && rs_info_int(a, "connected_clients") != 1; i++)
        rs_sleep_ms(10);
    b = rs_connect(s);
    c = rs_connect(s);
    EQ(a, "PONG", "PING");
    EQ(b, "PONG", "PING");
    EQ(c, "PONG", "PING");
    d = rs_connect(s);
    cr_assert_str_eq(rs_text(rs_read(d)), "-ERR max number of clients reached");
    cr_assert(rs_closed(d, 2000));
    /* A reply over the output limit drops that client, not the server. */
    memset(big, 'x', n);
    rs_sendv(a, 3, argv, lens);
    cr_assert_str_eq(rs_text(rs_read(a)), "OK");
    rs_send(a, "GET", "big", NULL);
    cr_assert(rs_closed(a, 3000));
    free(big);
    EQ(b, ":2097152", "STRLEN", "big");
    /* Idle clients go after --timeout; busy ones stay. */
    for (int i = 0; i < 8 && !rs_closed(c, 300); i++)
        EQ(b, "PONG", "PING");
    cr_assert(rs_closed(c, 3000));
    EQ(b, "PONG", "PING");
}

/* ---- group commit and durability ------------------------------------------------------------- */

static void acknowledged_writes_survive_kill9(const char *const *extra)
{
    rs_server *s = rs_start(extra);
    int fds[4], fd;
    char key[32], val[32];

    for (int c = 0; c < 4; c++)
        fds[c] = rs_connect(s);
    /* Four clients pipeline writes at once: they share commits. */
    for (int i = 0; i < 200; i++)
        for (int c = 0; c < 4; c++) {
            snprintf(key, sizeof(key), "k%d:%d", c, i);
            snprintf(val, sizeof(val), "v%d", i);
            rs_send(fds[c], "SET", key, val, NULL);
        }
    for (int i = 0; i < 200; i++)
        for (int c = 0; c < 4; c++)
            cr_assert_str_eq(rs_text(rs_read(fds[c])), "OK");
    cr_assert_lt(rs_info_int(fds[0], "ffdb_commits"), 800, "no group commit");
    /* A sync of its own only for a commit no later commit made durable. */
    cr_assert_leq(rs_info_int(fds[0], "ffdb_syncs"), rs_info_int(fds[0], "ffdb_commits"));
    EQ(fds[0], ":1", "INCR", "counter");
    EQ(fds[0], "OK", "MULTI");
    EQ(fds[0], "QUEUED", "SET", "m1", "x");
    EQ(fds[0], "QUEUED", "SET", "m2", "y");
    EQ(fds[0], "[OK,OK]", "EXEC");
    rs_kill9(s);
    rs_restart(s);
    fd = rs_connect(s);
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < 200; i += 37) {
            snprintf(key, sizeof(key), "k%d:%d", c, i);
            snprintf(val, sizeof(val), "\"v%d\"", i);
            cr_assert_str_eq(Q(fd, "GET", key), val);
        }
    EQ(fd, ":803", "DBSIZE");
    EQ(fd, "\"1\"", "GET", "counter");
    EQ(fd, "[\"x\",\"y\"]", "MGET", "m1", "m2");
    rs_stop(s);
    cr_assert(!strstr(rs_log(s), "Sanitizer"), "%s", rs_log(s));
}

Test(resp_durability, acknowledged_writes_survive_kill9)
{
    acknowledged_writes_survive_kill9(NULL);
}

Test(resp_durability, acknowledged_writes_survive_kill9_pipelined)
{
    static const char *const pipe[] = {"--pipeline-commits", "yes", NULL};
    acknowledged_writes_survive_kill9(pipe);
}

Test(resp_durability, pipelined_reads_see_earlier_writes)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);
    static const char req[] = "*3\r\n$3\r\nSET\r\n$1\r\np\r\n$1\r\n1\r\n"
                              "*2\r\n$3\r\nGET\r\n$1\r\np\r\n"
                              "*2\r\n$4\r\nINCR\r\n$1\r\np\r\n"
                              "*2\r\n$3\r\nGET\r\n$1\r\np\r\n";

    rs_send_raw(fd, req, sizeof(req) - 1);
    cr_assert_str_eq(rs_text(rs_read(fd)), "OK");
    cr_assert_str_eq(rs_text(rs_read(fd)), "\"1\"");
    cr_assert_str_eq(rs_text(rs_read(fd)), ":2");
    cr_assert_str_eq(rs_text(rs_read(fd)), "\"2\"");
}

/* With --pipeline-commits a lone client's write has no later batch to make
 * it durable: the server syncs on its own before replying, and a read of it
 * waits for that too. */
Test(resp_durability, lone_write_is_synced_before_its_reply)
{
    static const char *const pipe[] = {"--pipeline-commits", "yes", NULL};
    rs_server *s = rs_start(pipe);
    int fd = rs_connect(s);

    cr_assert_eq(rs_info_int(fd, "ffdb_syncs"), 0);
    EQ(fd, "OK", "SET", "k", "v");
    cr_assert_eq(rs_info_int(fd, "ffdb_syncs"), 1);
    EQ(fd, "\"v\"", "GET", "k");
    EQ(fd, ":1", "INCR", "n");
    cr_assert_eq(rs_info_int(fd, "ffdb_syncs"), 2);
    cr_assert_eq(rs_info_int(fd, "ffdb_commits"), 2);
    rs_kill9(s);
    rs_restart(s);
    fd = rs_connect(s);
    EQ(fd, "[\"v\",\"1\"]", "MGET", "k", "n");
}

Test(resp_durability, batch_ms_and_never_modes)
{
    const char *batch[] = {"--fsync", "batch-ms", "20", NULL};
    const char *never[] = {"--fsync", "never", NULL};
    rs_server *a = rs_start(batch), *b = rs_start(never);
    int fa = rs_connect(a), fb = rs_connect(b);

    EQ(fa, "OK", "SET", "k", "a");
    EQ(fb, "OK", "SET", "k", "b");
    cr_assert(strstr(Q(fa, "CONFIG", "GET", "ffdb-fsync"), "batch-ms 20"));
    rs_sleep_ms(100); /* past the batch window: committed */
    rs_kill9(a);
    rs_stop(b);
    rs_restart(a);
    rs_restart(b);
    fa = rs_connect(a);
    fb = rs_connect(b);
    EQ(fa, "\"a\"", "GET", "k");
    EQ(fb, "\"b\"", "GET", "k");
}

Test(resp_limits, pipelined_replies_larger_than_buffers_all_arrive)
{
    /* 200 replies of 100 KB to a client that reads only afterwards: the
     * server holds the client back (back-pressure) and must resume it when
     * the socket drains, without losing or reordering anything. */
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s), other = rs_connect(s);
    size_t n = 100 * 1024;
    char *val = malloc(n);
    const char *argv[3] = {"SET", "v", val};
    size_t lens[3] = {3, 1, n};

    memset(val, 'y', n);
    rs_sendv(fd, 3, argv, lens);
    cr_assert_str_eq(rs_text(rs_read(fd)), "OK");
    for (int i = 0; i < 200; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%d", i);
        rs_send(fd, i % 2 ? "GET" : "ECHO", i % 2 ? "v" : key, NULL);
    }
    EQ(other, "PONG", "PING"); /* others are served meanwhile */
    for (int i = 0; i < 200; i++) {
        rs_reply *r = rs_read(fd);
        cr_assert(r && r->type == '$', "reply %d", i);
        if (i % 2)
            cr_assert_eq(r->len, n, "reply %d", i);
        else
            cr_assert_eq(atoi(r->str), i, "reply %d out of order", i);
    }
    free(val);
}

Test(resp_admin, config_file_and_flags)
{
    const char *conf = tu_path("server.conf");
    FILE *f = fopen(conf, "w");
    const char *args[] = {"--config", conf, "--maxclients", "77", NULL};
    rs_server *s;
    int fd;

    cr_assert(f);
    fprintf(f, "# a comment\nmaxclients 50\ntimeout 300\nsave 900 1\nappendonly yes\n"
               "requirepass \"pass word\"\nffdb-fsync batch-ms 5\n");
    fclose(f);
    s = rs_start(args);
    fd = rs_connect(s);
    EQ(fd, "OK", "AUTH", "pass word");
    EQ(fd, "[\"maxclients\",\"77\"]", "CONFIG", "GET", "maxclients"); /* flags win */
    EQ(fd, "[\"timeout\",\"300\"]", "CONFIG", "GET", "timeout");
    EQ(fd, "[\"save\",\"900 1\"]", "CONFIG", "GET", "save");
    EQ(fd, "[\"ffdb-fsync\",\"batch-ms 5\"]", "CONFIG", "GET", "ffdb-fsync");
    EQ(fd, "[\"appendfsync\",\"everysec\"]", "CONFIG", "GET", "appendfsync");
}

Test(resp_limits, random_bytes_never_hurt_the_server)
{
    static const char *const prefixes[] = {
        "", "*", "*2\r\n$", "*3\r\n$3\r\nSET\r\n$", "$", "*1\r\n$4\r\nPING\r\n*"};
    rs_server *s = rs_start(NULL);
    int good = rs_connect(s);
    tu_rng rng;
    char buf[4096];

    tu_rng_init(&rng, tu_seed("random bytes to ffdb-server"));
    for (int conn = 0; conn < 60; conn++) {
        int fd = rs_connect(s);
        const char *p = prefixes[tu_below(&rng, 6)];
        size_t n = 1 + tu_below(&rng, sizeof(buf) - 1);
        rs_send_raw(fd, p, strlen(p));
        tu_fill(&rng, buf, n);
        if (tu_chance(&rng, 500)) /* digits and CRLFs: deeper into the parser */
            for (size_t i = 0; i < n; i++)
                buf[i] = "0123456789\r\n*$-"[(unsigned char)buf[i] % 15];
        send(fd, buf, n, MSG_NOSIGNAL);
        if (conn % 3 == 0)
            rs_closed(fd, 50); /* sometimes wait for the verdict, sometimes not */
        rs_close(fd);
        if (conn % 10 == 0)
            EQ(good, "PONG", "PING");
    }
    EQ(good, "PONG", "PING");
    for (int i = 0; i < 200 && rs_info_int(good, "connected_clients") != 1; i++)
        rs_sleep_ms(10);
    cr_assert_eq(rs_info_int(good, "connected_clients"), 1, TU_SEED_FMT "connections leaked",
                 TU_SEED_ARG);
    rs_stop(s);
    cr_assert(!strstr(rs_log(s), "Sanitizer"), "%s", rs_log(s));
}

Test(resp_limits, big_requests_do_not_pin_memory)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);
    size_t n = 20 * 1024 * 1024;
    char *big = malloc(n);
    const char *argv[3] = {"SET", "big", big}, *info, *p;
    size_t lens[3] = {3, 3, n};
    rs_reply *r;

    memset(big, 'z', n);
    rs_sendv(fd, 3, argv, lens);
    cr_assert_str_eq(rs_text(rs_read(fd)), "OK");
    rs_send(fd, "GET", "big", NULL);
    r = rs_read(fd);
    cr_assert(r && r->len == n);
    free(big);
    info = Q(fd, "CLIENT", "INFO");
    p = strstr(info, "tot-mem=");
    cr_assert(p && atol(p + 8) < 1024 * 1024, "%s", info);
}

Test(resp_durability, kill9_under_load_loses_no_acknowledged_write)
{
    /* Two clients write as fast as replies come back (a window of 16
     * requests in flight each); the server is killed at a moment the clients
     * do not choose. Every write acknowledged before the kill must be there
     * after the restart. */
    rs_server *s = rs_start(NULL);
    int fds[2] = {rs_connect(s), rs_connect(s)}, fd;
    int sent[2] = {0, 0}, acked[2] = {0, 0};
    char key[32];

    for (int round = 0; round < 400; round++) {
        for (int c = 0; c < 2; c++) {
            while (sent[c] - acked[c] < 16) {
                snprintf(key, sizeof(key), "c%d:%d", c, sent[c]++);
                rs_send(fds[c], "SET", key, "v", NULL);
            }
            rs_reply *r = rs_read(fds[c]);
            cr_assert(r && strcmp(rs_text(r), "OK") == 0);
            acked[c]++;
        }
        if (round == 300) {
            kill(s->pid, SIGKILL); /* replies may still be in flight */
            break;
        }
    }
    /* Replies that were already on their way count as acknowledged too. */
    for (int c = 0; c < 2; c++) {
        rs_reply *r;
        while (acked[c] < sent[c] && (r = rs_read(fds[c])) != NULL)
            acked[c]++;
    }
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    rs_restart(s);
    fd = rs_connect(s);
    for (int c = 0; c < 2; c++) {
        cr_assert_geq(acked[c], 300);
        for (int i = 0; i < acked[c]; i++) {
            snprintf(key, sizeof(key), "c%d:%d", c, i);
            cr_assert_str_eq(Q(fd, "EXISTS", key), ":1", "acknowledged write %s lost", key);
        }
    }
}
