/*
 * test_resp_list.c — the list commands of ffdb-server end to end (the built
 * program on a loopback port, tests/test_resp_util.h): pushes and pops at
 * both ends (with counts), LRANGE/LINDEX with negative and out-of-range
 * indexes, LSET, LINSERT and LREM in the middle of a list (which shift
 * elements), LTRIM, LMOVE/RPOPLPUSH (also onto the same list), LPOS with
 * RANK/COUNT/MAXLEN, error replies in Redis 7's wording, WRONGTYPE, TTLs
 * kept by writes, a randomized run against an in-test model, and the data
 * surviving a restart. Expected replies were taken from Redis 7.0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_list, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

static const char *const WT = "-WRONGTYPE Operation against a key holding the wrong kind of value";

/* TTL of key is still about want seconds: the work in between can take a
 * second or more under a sanitizer, and TTL rounds to whole seconds. */
#define TTL_NEAR(fd, key, want)                                                                    \
    do {                                                                                           \
        const char *got_ = Q(fd, "TTL", key);                                                      \
        long ttl_ = got_[0] == ':' ? strtol(got_ + 1, NULL, 10) : -99;                             \
        cr_assert(ttl_ <= (want) && ttl_ >= (want) - 10, "TTL %s -> %s (want about %d)", key, got_, \
                  want);                                                                           \
    } while (0)

/* RPUSH key e<from> .. e<to-1> in one request. */
static void fill(int fd, const char *key, int from, int to)
{
    const char **argv = malloc(sizeof(*argv) * (size_t)(2 + to - from));
    char(*names)[16] = malloc(sizeof(*names) * (size_t)(to - from));
    int argc = 0;

    argv[argc++] = "RPUSH";
    argv[argc++] = key;
    for (int i = from; i < to; i++) {
        snprintf(names[i - from], 16, "e%d", i);
        argv[argc++] = names[i - from];
    }
    rs_sendv(fd, argc, argv, NULL);
    rs_reply *r = rs_read(fd);
    cr_assert(r && r->type == ':', "RPUSH: %s", rs_text(r));
    free(argv);
    free(names);
}

Test(resp_list, push_pop_index_range)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":3", "LPUSH", "l", "a", "b", "c");
    EQ(fd, ":5", "RPUSH", "l", "d", "e");
    EQ(fd, "[\"c\",\"b\",\"a\",\"d\",\"e\"]", "LRANGE", "l", "0", "-1");
    EQ(fd, "list", "TYPE", "l");
    EQ(fd, ":0", "LPUSHX", "nokey", "a");
    EQ(fd, ":0", "RPUSHX", "nokey", "a");
    EQ(fd, ":0", "EXISTS", "nokey");
    EQ(fd, ":6", "LPUSHX", "l", "z");
    EQ(fd, ":8", "RPUSHX", "l", "y", "z");
    EQ(fd, ":8", "LLEN", "l");
    EQ(fd, ":0", "LLEN", "nokey");
    EQ(fd, "\"z\"", "LINDEX", "l", "0");
    EQ(fd, "\"y\"", "LINDEX", "l", "-2");
    EQ(fd, "nil", "LINDEX", "l", "8");
    EQ(fd, "nil", "LINDEX", "l", "100");
    EQ(fd, "nil", "LINDEX", "l", "-100");
    EQ(fd, "nil", "LINDEX", "nokey", "0");
    EQ(fd, "[\"e\",\"y\",\"z\"]", "LRANGE", "l", "-3", "-1");
    EQ(fd, "[]", "LRANGE", "l", "5", "2");
    EQ(fd, "[\"z\",\"c\",\"b\",\"a\",\"d\",\"e\",\"y\",\"z\"]", "LRANGE", "l", "-100", "100");
    EQ(fd, "[]", "LRANGE", "l", "100", "200");
    EQ(fd, "[\"z\"]", "LRANGE", "l", "-1", "-1");
    EQ(fd, "[\"z\"]", "LRANGE", "l", "-100", "0");
    EQ(fd, "[]", "LRANGE", "nokey", "0", "-1");
    EQ(fd, "OK", "LSET", "l", "0", "A");
    EQ(fd, "OK", "LSET", "l", "-1", "Z");
    EQ(fd, "-ERR index out of range", "LSET", "l", "8", "x");
    EQ(fd, "-ERR index out of range", "LSET", "l", "-9", "x");
    EQ(fd, "-ERR no such key", "LSET", "nokey", "0", "x");
    EQ(fd, "[\"A\",\"c\",\"b\",\"a\",\"d\",\"e\",\"y\",\"Z\"]", "LRANGE", "l", "0", "-1");
    /* Pops, with and without counts. */
    EQ(fd, "\"A\"", "LPOP", "l");
    EQ(fd, "\"Z\"", "RPOP", "l");
    EQ(fd, "[\"c\",\"b\"]", "LPOP", "l", "2");
    EQ(fd, "[\"y\",\"e\"]", "RPOP", "l", "2");
    EQ(fd, "[]", "RPOP", "l", "0");
    EQ(fd, "nil", "LPOP", "nokey");
    EQ(fd, "nil", "LPOP", "nokey", "2");
    EQ(fd, "[\"a\",\"d\"]", "LPOP", "l", "10");
    EQ(fd, ":0", "EXISTS", "l"); /* the last pop took the key */
    EQ(fd, ":1", "RPUSH", "l", "x");
    EQ(fd, "\"x\"", "RPOP", "l");
    EQ(fd, ":0", "EXISTS", "l");
    /* Empty and binary elements. */
    EQ(fd, ":2", "RPUSH", "l", "", "\x01\xff");
    EQ(fd, "[\"\",\"\\x01\\xff\"]", "LRANGE", "l", "0", "-1");
    EQ(fd, "\"\"", "LPOP", "l");
}

Test(resp_list, errors_and_wrongtype)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, "-ERR wrong number of arguments for 'lpush' command", "LPUSH", "l");
    EQ(fd, "-ERR wrong number of arguments for 'rpushx' command", "RPUSHX", "l");
    EQ(fd, "-ERR wrong number of arguments for 'lpop' command", "LPOP", "l", "1", "2");
    EQ(fd, "-ERR wrong number of arguments for 'lrange' command", "LRANGE", "l", "0");
    EQ(fd, "-ERR wrong number of arguments for 'linsert' command", "LINSERT", "l", "before");
    EQ(fd, "-ERR wrong number of arguments for 'lmove' command", "LMOVE", "a", "b");
    EQ(fd, "-ERR value is not an integer or out of range", "LRANGE", "nokey", "x", "1");
    EQ(fd, "-ERR value is not an integer or out of range", "LTRIM", "nokey", "0", "x");
    EQ(fd, "-ERR value is not an integer or out of range", "LREM", "nokey", "x", "a");
    EQ(fd, "-ERR syntax error", "LINSERT", "nokey", "middle", "a", "b");
    EQ(fd, "-ERR syntax error", "LMOVE", "nokey", "dst", "left", "middle");
    EQ(fd, "-ERR value is out of range, must be positive", "LPOP", "nokey", "-1");
    EQ(fd, "-ERR value is out of range, must be positive", "RPOP", "nokey", "x");
    EQ(fd, ":1", "RPUSH", "l", "a");
    EQ(fd, "-ERR value is not an integer or out of range", "LINDEX", "l", "x");
    EQ(fd, "-ERR value is not an integer or out of range", "LSET", "l", "x", "y");
    EQ(fd, "nil", "LINDEX", "nokey", "x"); /* the key is looked at first */
    EQ(fd, "-ERR no such key", "LSET", "nokey", "x", "y");
    EQ(fd, "OK", "SET", "s", "v");
    EQ(fd, WT, "LPUSH", "s", "a");
    EQ(fd, WT, "RPUSH", "s", "a");
    EQ(fd, WT, "LPUSHX", "s", "a");
    EQ(fd, WT, "RPUSHX", "s", "a");
    EQ(fd, WT, "LPOP", "s");
    EQ(fd, WT, "RPOP", "s", "0");
    EQ(fd, WT, "LLEN", "s");
    EQ(fd, WT, "LRANGE", "s", "0", "-1");
    EQ(fd, WT, "LINDEX", "s", "x");
    EQ(fd, WT, "LSET", "s", "x", "y");
    EQ(fd, WT, "LINSERT", "s", "before", "a", "b");
    EQ(fd, WT, "LREM", "s", "0", "a");
    EQ(fd, WT, "LTRIM", "s", "0", "1");
    EQ(fd, WT, "LPOS", "s", "a");
    EQ(fd, WT, "RPOPLPUSH", "s", "l");
    EQ(fd, WT, "RPOPLPUSH", "l", "s"); /* the destination is checked before anything moves */
    EQ(fd, WT, "LMOVE", "l", "s", "left", "left");
    EQ(fd, "nil", "LMOVE", "nokey", "s", "left", "left"); /* no source: nothing to check */
    EQ(fd, "[\"a\"]", "LRANGE", "l", "0", "-1");
    EQ(fd, "\"v\"", "GET", "s");
    EQ(fd, WT, "GET", "l");
    EQ(fd, WT, "HSET", "l", "f", "v");
}

Test(resp_list, insert_remove_trim)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":8", "RPUSH", "l", "A", "c", "b", "a", "d", "e", "y", "Z");
    EQ(fd, ":9", "LINSERT", "l", "before", "A", "pre");
    EQ(fd, ":10", "LINSERT", "l", "AFTER", "Z", "post");
    EQ(fd, ":-1", "LINSERT", "l", "after", "nothere", "x");
    EQ(fd, ":0", "LINSERT", "nokey", "after", "a", "x");
    EQ(fd, ":11", "LINSERT", "l", "before", "b", "mid");
    EQ(fd, ":12", "LINSERT", "l", "after", "e", "mid2");
    EQ(fd, "[\"pre\",\"A\",\"c\",\"mid\",\"b\",\"a\",\"d\",\"e\",\"mid2\",\"y\",\"Z\",\"post\"]",
       "LRANGE", "l", "0", "-1");
    EQ(fd, ":0", "LREM", "l", "0", "nothere");
    EQ(fd, ":16", "RPUSH", "l", "b", "b", "x", "b");
    EQ(fd, ":2", "LREM", "l", "2", "b");
    EQ(fd,
       "[\"pre\",\"A\",\"c\",\"mid\",\"a\",\"d\",\"e\",\"mid2\",\"y\",\"Z\",\"post\",\"b\","
       "\"x\",\"b\"]",
       "LRANGE", "l", "0", "-1");
    EQ(fd, ":1", "LREM", "l", "-1", "b");
    EQ(fd, "[\"x\"]", "LRANGE", "l", "-1", "-1");
    EQ(fd, ":1", "LREM", "l", "0", "b");
    EQ(fd, ":1", "LREM", "l", "-5", "mid2");
    EQ(fd, "[\"pre\",\"A\",\"c\",\"mid\",\"a\",\"d\",\"e\",\"y\",\"Z\",\"post\",\"x\"]", "LRANGE",
       "l", "0", "-1");
    EQ(fd, ":0", "LREM", "nokey", "1", "a");
    EQ(fd, "OK", "LTRIM", "l", "1", "-2");
    EQ(fd, "[\"A\",\"c\",\"mid\",\"a\",\"d\",\"e\",\"y\",\"Z\",\"post\"]", "LRANGE", "l", "0",
       "-1");
    EQ(fd, "OK", "LTRIM", "l", "-100", "100");
    EQ(fd, ":9", "LLEN", "l");
    EQ(fd, "OK", "LTRIM", "l", "2", "3");
    EQ(fd, "[\"mid\",\"a\"]", "LRANGE", "l", "0", "-1");
    EQ(fd, "OK", "LTRIM", "l", "5", "2");
    EQ(fd, ":0", "EXISTS", "l");
    EQ(fd, "OK", "LTRIM", "nokey", "0", "1");
    /* Removing every element deletes the key. */
    EQ(fd, ":3", "RPUSH", "l", "a", "a", "a");
    EQ(fd, ":3", "LREM", "l", "0", "a");
    EQ(fd, ":0", "EXISTS", "l");
}

Test(resp_list, lmove_and_rpoplpush)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":3", "RPUSH", "src", "a", "b", "c");
    EQ(fd, "\"c\"", "RPOPLPUSH", "src", "dst");
    EQ(fd, "\"b\"", "RPOPLPUSH", "src", "src");
    EQ(fd, "[\"b\",\"a\"]", "LRANGE", "src", "0", "-1");
    EQ(fd, "\"b\"", "LMOVE", "src", "dst", "LEFT", "RIGHT");
    EQ(fd, "[\"c\",\"b\"]", "LRANGE", "dst", "0", "-1");
    EQ(fd, "\"c\"", "LMOVE", "dst", "dst", "left", "right");
    EQ(fd, "[\"b\",\"c\"]", "LRANGE", "dst", "0", "-1");
    EQ(fd, "\"c\"", "LMOVE", "dst", "dst", "right", "left");
    EQ(fd, "[\"c\",\"b\"]", "LRANGE", "dst", "0", "-1");
    EQ(fd, "\"a\"", "LMOVE", "src", "dst", "right", "right");
    EQ(fd, ":0", "EXISTS", "src"); /* emptied by the move */
    EQ(fd, "[\"c\",\"b\",\"a\"]", "LRANGE", "dst", "0", "-1");
    EQ(fd, "nil", "RPOPLPUSH", "src", "dst");
    /* A one-element list rotated onto itself stays. */
    EQ(fd, ":1", "RPUSH", "one", "x");
    EQ(fd, "\"x\"", "LMOVE", "one", "one", "left", "left");
    EQ(fd, "[\"x\"]", "LRANGE", "one", "0", "-1");
    /* The destination keeps its expiry, the source too. */
    EQ(fd, ":1", "EXPIRE", "dst", "100");
    EQ(fd, "\"x\"", "LMOVE", "one", "dst", "left", "left");
    TTL_NEAR(fd, "dst", 100);
    EQ(fd, ":4", "LLEN", "dst");
}

Test(resp_list, lpos)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    EQ(fd, ":8", "RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c");
    EQ(fd, ":2", "LPOS", "l", "c");
    EQ(fd, ":6", "LPOS", "l", "c", "RANK", "2");
    EQ(fd, ":7", "LPOS", "l", "c", "RANK", "-1");
    EQ(fd, "nil", "LPOS", "l", "c", "RANK", "-4");
    EQ(fd, "[:2,:6,:7]", "LPOS", "l", "c", "COUNT", "0");
    EQ(fd, "[:2,:6]", "LPOS", "l", "c", "COUNT", "2");
    EQ(fd, "[:7,:6,:2]", "LPOS", "l", "c", "COUNT", "0", "RANK", "-1");
    EQ(fd, "[:2]", "LPOS", "l", "c", "COUNT", "2", "MAXLEN", "3");
    EQ(fd, ":2", "LPOS", "l", "c", "MAXLEN", "3");
    EQ(fd, "nil", "LPOS", "l", "c", "MAXLEN", "2");
    EQ(fd, ":7", "LPOS", "l", "c", "RANK", "-1", "MAXLEN", "2");
    EQ(fd, "[:2,:6]", "LPOS", "l", "c", "RANK", "1", "COUNT", "2", "MAXLEN", "0");
    EQ(fd, "[:6,:7]", "LPOS", "l", "c", "RANK", "2", "COUNT", "5");
    EQ(fd, ":7", "LPOS", "l", "c", "RANK", "-9223372036854775808");
    EQ(fd, "nil", "LPOS", "l", "c", "RANK", "10");
    EQ(fd, "nil", "LPOS", "l", "zz");
    EQ(fd, "[]", "LPOS", "l", "zz", "COUNT", "1");
    EQ(fd, "nil", "LPOS", "nokey", "a");
    EQ(fd, "[]", "LPOS", "nokey", "a", "COUNT", "1");
    EQ(fd,
       "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or "
       "use negative to start from the end of the list",
       "LPOS", "l", "c", "RANK", "0");
    EQ(fd, "-ERR COUNT can't be negative", "LPOS", "l", "c", "COUNT", "-1");
    EQ(fd, "-ERR COUNT can't be negative", "LPOS", "l", "c", "COUNT", "x");
    EQ(fd, "-ERR MAXLEN can't be negative", "LPOS", "l", "c", "MAXLEN", "-1");
    EQ(fd, "-ERR value is not an integer or out of range", "LPOS", "l", "c", "RANK", "x");
    EQ(fd, "-ERR syntax error", "LPOS", "l", "c", "COUNT");
    EQ(fd, "-ERR syntax error", "LPOS", "l", "c", "FOO", "1");
}

Test(resp_list, resp3_replies)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    cr_assert(Q(fd, "HELLO", "3")[0] == '{');
    EQ(fd, "nil", "LPOP", "nokey");
    EQ(fd, "nil", "LPOP", "nokey", "2");
    EQ(fd, ":2", "RPUSH", "l", "a", "b");
    EQ(fd, "[\"a\",\"b\"]", "LPOP", "l", "5");
    EQ(fd, "nil", "LPOS", "l", "a");
}

/* A big list: the ends stay cheap, LINSERT and LREM shift either half, DEL
 * is O(1), TTLs are kept by writes. */
Test(resp_list, big_list)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    for (int i = 0; i < 10; i++)
        fill(fd, "l", i * 1000, (i + 1) * 1000);
    EQ(fd, ":10000", "LLEN", "l");
    EQ(fd, "\"e5000\"", "LINDEX", "l", "5000");
    EQ(fd, "\"e9999\"", "LINDEX", "l", "-1");
    EQ(fd, "[\"e4999\",\"e5000\"]", "LRANGE", "l", "4999", "5000");
    EQ(fd, ":1", "EXPIRE", "l", "100");
    EQ(fd, ":10001", "LINSERT", "l", "before", "e10", "near-head");
    EQ(fd, ":10002", "LINSERT", "l", "after", "e9990", "near-tail");
    EQ(fd, "[\"e9\",\"near-head\",\"e10\"]", "LRANGE", "l", "9", "11");
    EQ(fd, "[\"e9990\",\"near-tail\",\"e9991\"]", "LRANGE", "l", "9991", "9993");
    EQ(fd, ":1", "LREM", "l", "1", "e3");
    EQ(fd, ":1", "LREM", "l", "-1", "e9998");
    EQ(fd, "[\"e2\",\"e4\"]", "LRANGE", "l", "2", "3");
    EQ(fd, "[\"e9997\",\"e9999\"]", "LRANGE", "l", "-2", "-1");
    EQ(fd, ":10000", "LLEN", "l");
    TTL_NEAR(fd, "l", 100);
    EQ(fd, ":5005", "LPOS", "l", "e5005"); /* near-head moved it on by one, e3 back */
    EQ(fd, "OK", "LTRIM", "l", "100", "-101");
    EQ(fd, ":9800", "LLEN", "l");
    EQ(fd, "\"e100\"", "LINDEX", "l", "0"); /* e3 went, near-head came */
    TTL_NEAR(fd, "l", 100);
    EQ(fd, ":1", "DEL", "l");
    EQ(fd, ":0", "LLEN", "l");
    EQ(fd, ":1", "LPUSH", "l", "fresh");
    EQ(fd, "[\"fresh\"]", "LRANGE", "l", "0", "-1");
}

/* Random pushes, pops, inserts, removals, sets and trims on a few lists,
 * checked against arrays kept by the test. */
#define MODEL_MAX 4096
struct model {
    int v[MODEL_MAX];
    int n;
};

static void model_insert(struct model *m, int at, int v)
{
    memmove(m->v + at + 1, m->v + at, sizeof(int) * (size_t)(m->n - at));
    m->v[at] = v;
    m->n++;
}

static void model_check(int fd, const char *key, const struct model *m)
{
    rs_send(fd, "LRANGE", key, "0", "-1", NULL);
    rs_reply *r = rs_read(fd);
    cr_assert(r && r->type == '*' && r->count == (size_t)m->n, "%s: %zu elements, model %d", key,
              r ? r->count : 0, m->n);
    for (int i = 0; i < m->n; i++)
        cr_assert_eq(atoi(r->elems[i]->str), m->v[i], "%s[%d]", key, i);
}

Test(resp_list, random_against_model)
{
    /* Thousands of round trips: durability is not what this tests. */
    const char *const never[] = {"--fsync", "never", NULL};
    rs_server *s = rs_start(never);
    int fd = rs_connect(s);
    static struct model lists[2];
    tu_rng rng;
    char a[32], b[32], key[8];

    tu_rng_init(&rng, tu_seed("list model"));
    for (int step = 0; step < 3000; step++) {
        int k = (int)tu_below(&rng, 2), op = (int)tu_below(&rng, 8);
        struct model *m = &lists[k];
        int v = (int)tu_below(&rng, 20);
        snprintf(key, sizeof(key), "l%d", k);
        snprintf(a, sizeof(a), "%d", v);
        if (op <= 1 && m->n < MODEL_MAX - 1) { /* LPUSH / RPUSH */
            Q(fd, op ? "RPUSH" : "LPUSH", key, a);
            model_insert(m, op ? m->n : 0, v);
        } else if (op == 2 && m->n > 0) { /* LPOP / RPOP */
            int left = (int)tu_below(&rng, 2);
            Q(fd, left ? "LPOP" : "RPOP", key);
            if (left)
                memmove(m->v, m->v + 1, sizeof(int) * (size_t)--m->n);
            else
                m->n--;
        } else if (op == 3 && m->n < MODEL_MAX - 1) { /* LINSERT */
            int pivot = (int)tu_below(&rng, 20), after = (int)tu_below(&rng, 2), at = -1;
            snprintf(b, sizeof(b), "%d", pivot);
            for (int i = 0; i < m->n && at < 0; i++)
                if (m->v[i] == pivot)
                    at = i;
            const char *got = Q(fd, "LINSERT", key, after ? "AFTER" : "BEFORE", b, a);
            if (at >= 0)
                model_insert(m, at + after, v);
            cr_assert_eq(atoi(got + 1), m->n == 0 ? 0 : at < 0 ? -1 : m->n, "%s", got);
        } else if (op == 4) { /* LREM */
            int count = (int)tu_below(&rng, 5) - 2, removed = 0, w = 0;
            snprintf(b, sizeof(b), "%d", count);
            const char *got = Q(fd, "LREM", key, b, a);
            int limit = count == 0 ? MODEL_MAX : abs(count);
            if (count >= 0) {
                for (int i = 0; i < m->n; i++)
                    if (m->v[i] == v && removed < limit)
                        removed++;
                    else
                        m->v[w++] = m->v[i];
            } else {
                w = m->n - 1;
                for (int i = m->n - 1; i >= 0; i--)
                    if (m->v[i] == v && removed < limit)
                        removed++;
                    else
                        m->v[w--] = m->v[i];
                memmove(m->v, m->v + removed, sizeof(int) * (size_t)(m->n - removed));
            }
            m->n -= removed;
            cr_assert_eq(atoi(got + 1), removed, "LREM %s %s %s -> %s", key, b, a, got);
        } else if (op == 5 && m->n > 0) { /* LSET */
            int at = (int)tu_below(&rng, (uint64_t)m->n);
            snprintf(b, sizeof(b), "%d", at - (tu_below(&rng, 2) ? m->n : 0));
            cr_assert_str_eq(Q(fd, "LSET", key, b, a), "OK");
            m->v[at] = v;
        } else if (op == 6 && tu_below(&rng, 10) == 0) { /* LTRIM, now and then */
            int start = (int)tu_below(&rng, 4), end = -1 - (int)tu_below(&rng, 4);
            snprintf(a, sizeof(a), "%d", start);
            snprintf(b, sizeof(b), "%d", end);
            cr_assert_str_eq(Q(fd, "LTRIM", key, a, b), "OK");
            end += m->n;
            if (start > end || start >= m->n) {
                m->n = 0;
            } else {
                memmove(m->v, m->v + start, sizeof(int) * (size_t)(end - start + 1));
                m->n = end - start + 1;
            }
        } else if (op == 7 && tu_below(&rng, 2)) { /* RPOPLPUSH onto the other list */
            struct model *o = &lists[!k];
            char okey[8];
            snprintf(okey, sizeof(okey), "l%d", !k);
            Q(fd, "RPOPLPUSH", key, okey);
            if (m->n > 0 && o->n < MODEL_MAX - 1) {
                int x = m->v[--m->n];
                model_insert(o, 0, x);
            } else if (m->n > 0) {
                cr_assert_fail("model full");
            }
        }
        if (step % 100 == 99) {
            model_check(fd, "l0", &lists[0]);
            model_check(fd, "l1", &lists[1]);
        }
    }
    model_check(fd, "l0", &lists[0]);
    model_check(fd, "l1", &lists[1]);
}

Test(resp_list, survives_restart)
{
    rs_server *s = rs_start(NULL);
    int fd = rs_connect(s);

    fill(fd, "l", 0, 500);
    EQ(fd, ":501", "LPUSH", "l", "head");
    EQ(fd, ":502", "LINSERT", "l", "after", "e250", "mid");
    EQ(fd, "\"e499\"", "RPOP", "l");
    rs_stop(s);
    rs_restart(s);
    fd = rs_connect(s);
    EQ(fd, ":501", "LLEN", "l");
    EQ(fd, "\"head\"", "LINDEX", "l", "0");
    EQ(fd, "[\"e250\",\"mid\",\"e251\"]", "LRANGE", "l", "251", "253");
    EQ(fd, "\"e498\"", "LINDEX", "l", "-1");
    EQ(fd, ":502", "RPUSH", "l", "tail");
    rs_kill9(s);
    rs_restart(s);
    fd = rs_connect(s);
    EQ(fd, "\"tail\"", "LINDEX", "l", "-1");
}
