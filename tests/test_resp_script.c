/*
 * test_resp_script.c — Lua scripting in ffdb-server end to end (the built
 * program on a loopback port, tests/test_resp_util.h): EVAL/EVALSHA and
 * the script cache, Redis's type conversions both ways, redis.call vs
 * redis.pcall errors, read-only scripts, global protection, a script as
 * one atomic unit of the engine txn (an error half-way keeps what ran
 * before it, as Redis does), FUNCTION LOAD/LIST/DELETE/DUMP/RESTORE with
 * FCALL/FCALL_RO, functions surviving a restart (persisted in the file),
 * and SHA-1 against the FIPS 180 examples. Expected replies were taken
 * from Redis 7.0.
 */
#include <stdio.h>
#include <string.h>

#include "modules/redis/sha1.h"
#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_script, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

Test(resp_script, sha1_vectors)
{
    char hex[41];
    char million[1000000];

    redis_sha1_hex("abc", 3, hex);
    cr_assert_str_eq(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    redis_sha1_hex("", 0, hex);
    cr_assert_str_eq(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    redis_sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    cr_assert_str_eq(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    memset(million, 'a', sizeof(million));
    redis_sha1_hex(million, sizeof(million), hex);
    cr_assert_str_eq(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

Test(resp_script, eval_conversions_and_errors)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);

    EQ(fd, "\"hello\"", "EVAL", "return 'hello'", "0");
    EQ(fd, ":100", "EVAL", "return 100.5", "0");
    EQ(fd, ":1", "EVAL", "return true", "0");
    EQ(fd, "nil", "EVAL", "return false", "0");
    EQ(fd, "fine", "EVAL", "return {ok='fine'}", "0");
    EQ(fd, "-ERR this is an error", "EVAL", "return {err='ERR this is an error'}", "0");
    EQ(fd, "[:1,:2,:3,\"ciao\",[:1,:2]]", "EVAL", "return {1,2,3,'ciao',{1,2}}", "0");
    EQ(fd, "[:1,:2]", "EVAL", "return {1,2,nil,4}", "0");
    EQ(fd, "[]", "EVAL", "return _G", "0");
    EQ(fd, "[\"a\",\"b\",\"c\",\"d\"]", "EVAL", "return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", "2",
       "a", "b", "c", "d");

    /* Redis -> Lua */
    EQ(fd, "OK", "SET", "k", "v");
    EQ(fd, "[\"string\",\"v\"]", "EVAL", "local x = redis.call('get', KEYS[1]) return {type(x), x}",
       "1", "k");
    EQ(fd, "[\"boolean\",:1]", "EVAL",
       "local x = redis.call('get', 'nokey') return {type(x), x == false}", "0");
    EQ(fd, "[\"table\",\"OK\"]", "EVAL",
       "local x = redis.call('set', 'a', 'b') return {type(x), x.ok}", "0");
    EQ(fd, "[\"number\",:3]", "EVAL",
       "local x = redis.call('rpush', 'l', 1, 2, 3) return {type(x), x}", "0");
    EQ(fd, "[\"1\",\"2\",\"3\"]", "EVAL", "return redis.call('lrange', 'l', 0, -1)", "0");

    /* errors: call raises, pcall returns */
    EQ(fd, "-ERR value is not an integer or out of range", "EVAL", "return redis.call('incr', 'k')",
       "0");
    EQ(fd, "[\"table\",\"ERR value is not an integer or out of range\"]", "EVAL",
       "local e = redis.pcall('incr', 'k') return {type(e), e.err}", "0");
    EQ(fd, "-ERR Unknown Redis command called from script", "EVAL", "redis.call('nosuch')", "0");
    EQ(fd, "-ERR Wrong number of args calling Redis command from script", "EVAL",
       "redis.call('get', 'a', 'b')", "0");
    EQ(fd, "-ERR This Redis command is not allowed from script", "EVAL",
       "return redis.pcall('blpop', 'x', 0)", "0");
    EQ(fd, "-ERR user_script:1: Script attempted to access nonexistent global variable 'nope'",
       "EVAL", "return nope", "0");
    EQ(fd, "-ERR user_script:1: Script attempted to create global variable 'g'", "EVAL", "g = 1",
       "0");
    EQ(fd, "-ERR Number of keys can't be greater than number of args", "EVAL", "return 1", "3",
       "a");
    EQ(fd, "-ERR Number of keys can't be negative", "EVAL", "return 1", "-1");
    cr_assert(strncmp(Q(fd, "EVAL", "return (", "0"), "-ERR Error compiling script", 27) == 0);

    /* what ran before an error stays (no rollback in Redis either) */
    EQ(fd, "-ERR value is not an integer or out of range", "EVAL",
       "redis.call('set', 'before', '1'); redis.call('incr', 'k')", "0");
    EQ(fd, "\"1\"", "GET", "before");

    /* the cache */
    EQ(fd, "\"e0e1f9fabfc9d4800c877a703b823ac0578ff8db\"", "SCRIPT", "LOAD", "return 1");
    EQ(fd, ":1", "EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0");
    EQ(fd, ":1", "EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0");
    EQ(fd, "[:1,:0]", "SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
       "ffffffffffffffffffffffffffffffffffffffff");
    EQ(fd, "OK", "SCRIPT", "FLUSH");
    EQ(fd, "-NOSCRIPT No matching script. Please use EVAL.", "EVALSHA",
       "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0");
    EQ(fd, "\"a9993e364706816aba3e25717850c26c9cd0d89d\"", "EVAL", "return redis.sha1hex('abc')",
       "0");

    /* read-only */
    EQ(fd, "\"v\"", "EVAL_RO", "return redis.call('get', KEYS[1])", "1", "k");
    EQ(fd, "-ERR Write commands are not allowed from read-only scripts.", "EVAL_RO",
       "return redis.call('set', 'x', '1')", "0");
    EQ(fd, "-ERR Write commands are not allowed from read-only scripts.", "EVAL",
       "#!lua flags=no-writes\nreturn redis.call('set', 'x', '1')", "0");
    EQ(fd, ":0", "EXISTS", "x");
    EQ(fd, "-NOTBUSY No scripts in execution right now.", "SCRIPT", "KILL");

    /* SELECT inside a script is the script's own */
    EQ(fd, "OK", "SELECT", "1");
    EQ(fd, "OK", "SET", "k", "db1");
    EQ(fd, "\"v\"", "EVAL", "redis.call('select', 0) return redis.call('get', 'k')", "0");
    EQ(fd, "\"db1\"", "GET", "k");
}

static const char LIB[] = "#!lua name=mylib\n"
                          "redis.register_function('myset', function(keys, args)\n"
                          "  return redis.call('set', keys[1], args[1]) end)\n"
                          "redis.register_function{function_name='myget', callback=function(keys)\n"
                          "  return redis.call('get', keys[1]) end, flags={'no-writes'}}\n";

Test(resp_script, functions_persist)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);

    EQ(fd, "\"mylib\"", "FUNCTION", "LOAD", LIB);
    EQ(fd, "-ERR Library 'mylib' already exists", "FUNCTION", "LOAD", LIB);
    EQ(fd, "\"mylib\"", "FUNCTION", "LOAD", "REPLACE", LIB);
    EQ(fd, "OK", "FCALL", "myset", "1", "fk", "fv");
    EQ(fd, "\"fv\"", "FCALL_RO", "MYGET", "1", "fk");
    EQ(fd, "-ERR Can not execute a script with write flag using *_ro command.", "FCALL_RO", "myset",
       "1", "fk", "x");
    EQ(fd, "-ERR Function not found", "FCALL", "nosuch", "0");
    EQ(fd, "-ERR Missing library metadata", "FUNCTION", "LOAD", "return 1");
    EQ(fd, "-ERR No functions registered", "FUNCTION", "LOAD", "#!lua name=empty\nlocal a = 1");
    EQ(fd,
       "[[\"library_name\",\"mylib\",\"engine\",\"LUA\",\"functions\",[[\"name\",\"myset\","
       "\"description\",nil,\"flags\",[]],[\"name\",\"myget\",\"description\",nil,\"flags\","
       "[\"no-writes\"]]]]]",
       "FUNCTION", "LIST");

    /* DUMP, FLUSH, RESTORE */
    rs_send(fd, "FUNCTION", "DUMP", (const char *)NULL);
    rs_reply *dump = rs_read(fd);
    cr_assert(dump && dump->type == '$');
    EQ(fd, "OK", "FUNCTION", "FLUSH");
    EQ(fd, "[]", "FUNCTION", "LIST");
    const char *argv[] = {"FUNCTION", "RESTORE", dump->str};
    size_t lens[] = {8, 7, dump->len};
    rs_sendv(fd, 3, argv, lens);
    cr_assert_str_eq(rs_text(rs_read(fd)), "OK");
    EQ(fd, "-ERR payload version or checksum are wrong", "FUNCTION", "RESTORE", "garbage");

    /* survives a restart */
    rs_close(fd);
    rs_stop(srv);
    rs_restart(srv);
    fd = rs_connect(srv);
    EQ(fd, "\"fv\"", "FCALL", "myget", "1", "fk");
    EQ(fd, "OK", "FUNCTION", "DELETE", "mylib");
    EQ(fd, "-ERR Library not found", "FUNCTION", "DELETE", "mylib");
    rs_close(fd);
    rs_stop(srv);
    rs_restart(srv);
    fd = rs_connect(srv);
    EQ(fd, "-ERR Function not found", "FCALL", "myget", "1", "fk");
}
