/*
 * test_resp_hll.c — HyperLogLog end to end (the built ffdb-server on a
 * loopback port, tests/test_resp_util.h): the stored value byte for byte as
 * Redis 7.0.15 stores it (sparse, the cache stale after PFADD and fresh
 * after PFCOUNT), the estimates Redis gives for known cardinalities and
 * their error bound, the sparse-to-dense switch, PFMERGE and multi-key
 * PFCOUNT, corrupt and foreign values, expiry kept, a restart, PFDEBUG and
 * PFSELFTEST. Expected values were taken from redis-server 7.0.15;
 * tests/test_resp_diff.c compares random streams with a live one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_hll, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

#define HLL_BATCH 1000

/* PFADD key m<from> .. m<to-1>, HLL_BATCH at a time. */
static void add_range(int fd, const char *key, int from, int to)
{
    static char names[HLL_BATCH][16];
    const char *argv[HLL_BATCH + 2] = {"PFADD", key};

    for (int i = from; i < to;) {
        int n = 0;
        for (; n < HLL_BATCH && i < to; n++, i++) {
            snprintf(names[n], sizeof(names[n]), "m%d", i);
            argv[2 + n] = names[n];
        }
        const char *got = rs_qv(fd, 2 + n, argv);
        cr_assert(strcmp(got, ":1") == 0 || strcmp(got, ":0") == 0, "PFADD -> %s", got);
    }
}

static void expect_value(int fd, const char *key, const void *want, size_t n)
{
    rs_reply *r;

    rs_send(fd, "GET", key, (const char *)NULL);
    r = rs_read(fd);
    cr_assert(r && r->type == '$', "GET %s", key);
    cr_assert_eq(r->len, n, "GET %s: %zu bytes, want %zu", key, r->len, n);
    cr_assert(memcmp(r->str, want, n) == 0, "GET %s: other bytes than Redis", key);
}

Test(resp_hll, redis_bytes_and_cache)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);
    /* redis-server 7.0.15 after PFADD g a b c, then after PFCOUNT g */
    static const char stale[] = "HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80`\xf3\x80P\xb1\x84K\xfb\x80" "BZ";
    static const char fresh[] = "HYLL\x01\0\0\0\x03\0\0\0\0\0\0\0`\xf3\x80P\xb1\x84K\xfb\x80" "BZ";

    EQ(fd, ":1", "PFADD", "g", "a", "b", "c");
    expect_value(fd, "g", stale, sizeof(stale) - 1);
    EQ(fd, ":3", "PFCOUNT", "g");
    expect_value(fd, "g", fresh, sizeof(fresh) - 1);
    EQ(fd, ":0", "PFADD", "g", "a");
    expect_value(fd, "g", fresh, sizeof(fresh) - 1); /* nothing changed: cache kept */
    EQ(fd, ":1", "PFADD", "empty");
    EQ(fd, "\"HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80\\x7f\\xff\"", "GET",
       "empty");
    EQ(fd, ":0", "PFADD", "empty");
    EQ(fd, ":0", "PFCOUNT", "empty");
    EQ(fd, ":0", "PFCOUNT", "missing");
    EQ(fd, "sparse", "PFDEBUG", "ENCODING", "g");
    EQ(fd, "\"Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603\"", "PFDEBUG", "DECODE", "g");
    rs_close(fd);
}

Test(resp_hll, estimates_within_error)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);
    /* cardinality, Redis 7.0.15's PFCOUNT of m0 .. m<n-1>, its encoding */
    static const struct {
        int n;
        const char *redis;
        const char *encoding;
    } cases[] = {{1000, ":1002", "sparse"}, {20000, ":20160", "dense"},
                 {100000, ":98718", "dense"}};
    char key[32];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(key, sizeof(key), "big%d", cases[i].n);
        add_range(fd, key, 0, cases[i].n);
        const char *got = Q(fd, "PFCOUNT", key);
        cr_assert_str_eq(got, cases[i].redis, "PFCOUNT %s", key);
        /* 0.81% standard error; the estimates here are within 3 of them */
        cr_assert(fabs(atof(got + 1) - cases[i].n) <= 3 * 0.0081 * cases[i].n);
        EQ(fd, cases[i].encoding, "PFDEBUG", "ENCODING", key);
    }
    EQ(fd, ":12304", "STRLEN", "big100000");
    /* the union: m0..m99999 contains the others */
    EQ(fd, ":98718", "PFCOUNT", "big1000", "big20000", "big100000");
    EQ(fd, "OK", "PFMERGE", "u", "big1000", "big20000", "big100000");
    EQ(fd, ":98718", "PFCOUNT", "u");
    EQ(fd, "dense", "PFDEBUG", "ENCODING", "u");
    EQ(fd, "OK", "PFMERGE", "small", "big1000");
    EQ(fd, ":1002", "PFCOUNT", "small");
    EQ(fd, "sparse", "PFDEBUG", "ENCODING", "small");
    EQ(fd, ":1", "PFDEBUG", "TODENSE", "small");
    EQ(fd, ":0", "PFDEBUG", "TODENSE", "small");
    EQ(fd, ":1002", "PFCOUNT", "small");
    rs_stop(srv);
    rs_restart(srv);
    fd = rs_connect(srv);
    EQ(fd, ":98718", "PFCOUNT", "u");
    EQ(fd, ":1002", "PFCOUNT", "big1000");
    rs_close(fd);
}

Test(resp_hll, errors_and_expiry)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);
    static const char *const WT_HLL = "-WRONGTYPE Key is not a valid HyperLogLog string value.";

    EQ(fd, "OK", "SET", "s", "foo");
    EQ(fd, WT_HLL, "PFADD", "s", "a");
    EQ(fd, WT_HLL, "PFCOUNT", "s");
    EQ(fd, WT_HLL, "PFMERGE", "d", "s");
    EQ(fd, ":0", "EXISTS", "d");
    EQ(fd, ":1", "RPUSH", "l", "a");
    EQ(fd, "-WRONGTYPE Operation against a key holding the wrong kind of value", "PFADD", "l", "a");
    /* a sparse body covering too few registers: one XZERO cut off by the
     * end, read with the zero after it (16129); "a" (register 12711) lies
     * inside it, so PFADD succeeds as in Redis, while a count fails */
    EQ(fd, "OK", "SET", "c", "HYLL\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x81\x7f");
    EQ(fd, "-INVALIDOBJ Corrupted HLL object detected", "PFCOUNT", "c");
    EQ(fd, ":1", "PFADD", "c", "a");
    EQ(fd, "-INVALIDOBJ Corrupted HLL object detected", "PFCOUNT", "c");
    EQ(fd, "-INVALIDOBJ Corrupted HLL object detected", "PFMERGE", "d", "c");
    EQ(fd, ":0", "EXISTS", "d");
    EQ(fd, "OK", "SET", "dense", "HYLL\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x81");
    EQ(fd, WT_HLL, "PFCOUNT", "dense"); /* dense but not 12304 bytes */
    EQ(fd, "-ERR The specified key does not exist", "PFDEBUG", "GETREG", "nokey");
    /* the key is looked at before the subcommand, as Redis does */
    EQ(fd, "-ERR The specified key does not exist", "PFDEBUG", "foo", "nokey");
    EQ(fd, WT_HLL, "PFDEBUG", "foo", "s");
    EQ(fd, ":1", "PFADD", "h", "a");
    EQ(fd, "-ERR Unknown PFDEBUG subcommand 'foo'", "PFDEBUG", "foo", "h");
    EQ(fd, "-ERR wrong number of arguments for 'pfadd' command", "PFADD");
    EQ(fd, ":1", "PFADD", "t", "a");
    EQ(fd, ":1", "EXPIRE", "t", "1000");
    EQ(fd, ":1", "PFADD", "t", "b");
    EQ(fd, ":2", "PFCOUNT", "t");
    cr_assert(atoi(Q(fd, "TTL", "t") + 1) > 900, "PFADD and PFCOUNT keep the expiry");
    EQ(fd, "OK", "PFSELFTEST");
    rs_close(fd);
}

/* SET of a binary value. */
static void set_bytes(int fd, const char *key, const void *v, size_t n)
{
    const char *argv[] = {"SET", key, v};
    const size_t lens[] = {3, strlen(key), n};

    rs_sendv(fd, 3, argv, lens);
    rs_reply *r = rs_read(fd);
    cr_assert(r && r->type == '+', "SET %s", key);
}

/* Corrupt values as the string commands leave them (the resp_diff mixed
 * stream, FFDB_TEST_SEED=262575228917029: SETRANGE/SETBIT/BITFIELD on an HLL,
 * then PFADD): the same bytes as redis-server 7.0.15 after the same
 * commands. Registers: "p" 1094 (value 4), "a" 12711, "x" 16374 (2),
 * "r7803" 16383 (2). */
Test(resp_hll, corrupt_values_as_redis)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);
    static const char *const BAD = "-INVALIDOBJ Corrupted HLL object detected";
    /* a fresh cache of 0, then XZERO:8192: half the registers missing */
    static const char half[] = "HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x5f\xff";
    /* "p" went in (a sparse update marks the cache stale at once), "a"
     * found the corruption: the reply is an error, the change stays */
    static const char half_after[] = "HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80" "DE\x8c[\xb8";
    /* XZERO:16383, then an XZERO cut off by the end: it reads the zero
     * after the value as Redis reads the sds terminator, so 16384 */
    static const char cut[] = "HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xfe\x40";
    static const char cut_x[] = "HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xf5\x84\x07\x40";
    /* register 16383 splits the cut-off XZERO: Redis shortens the value
     * by one byte and writes the VAL past its end */
    static const char cut_r[] = "HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xf5\x84\x07";

    set_bytes(fd, "k", half, sizeof(half) - 1);
    EQ(fd, BAD, "PFADD", "k", "p", "a");
    expect_value(fd, "k", half_after, sizeof(half_after) - 1);
    EQ(fd, BAD, "PFCOUNT", "k");
    set_bytes(fd, "k2", cut, sizeof(cut) - 1);
    EQ(fd, ":0", "PFCOUNT", "k2");
    EQ(fd, "\"Z:16383 Z:1\"", "PFDEBUG", "DECODE", "k2");
    EQ(fd, ":1", "PFADD", "k2", "x");
    EQ(fd, "\"Z:16374 v:2,1 z:8 Z:1\"", "PFDEBUG", "DECODE", "k2");
    expect_value(fd, "k2", cut_x, sizeof(cut_x) - 1);
    EQ(fd, ":1", "PFADD", "k2", "r7803");
    expect_value(fd, "k2", cut_r, sizeof(cut_r) - 1);
    EQ(fd, BAD, "PFCOUNT", "k2");
    EQ(fd, "\"Z:16374 v:2,1 z:8\"", "PFDEBUG", "DECODE", "k2");
    /* PFMERGE into a checked target */
    set_bytes(fd, "k3", cut, sizeof(cut) - 1);
    EQ(fd, "OK", "PFMERGE", "k3", "k3");
    EQ(fd, ":0", "PFCOUNT", "k3");
    rs_close(fd);
}
