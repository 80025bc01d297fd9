/*
 * test_resp_digest.c — DEBUG DIGEST of ffdb-server (the built program on a
 * loopback port, tests/test_resp_util.h): 40 zeros for an empty data set;
 * two servers given the same data in different orders (keys, hash fields,
 * set members, a list built by LPUSH on one and RPUSH on the other) answer
 * the same digest; any change of a value, a field, a type or an expiry
 * changes it; it survives a restart.
 */
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_digest, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

static const char *digest(int fd)
{
    static char buf[64];
    const char *d = Q(fd, "DEBUG", "DIGEST");
    cr_assert_eq(strlen(d), 40, "digest %s", d);
    strcpy(buf, d);
    return buf;
}

Test(resp_digest, order_independent_and_sensitive)
{
    rs_server *a = rs_start(NULL), *b = rs_start(NULL);
    int fa = rs_connect(a), fb = rs_connect(b);
    char da[64];

    cr_assert_str_eq(digest(fa), "0000000000000000000000000000000000000000");
    Q(fa, "SET", "s", "v");
    Q(fa, "HSET", "h", "f1", "1", "f2", "2");
    Q(fa, "SADD", "set", "x", "y", "z");
    Q(fa, "RPUSH", "l", "a", "b", "c");
    Q(fa, "SELECT", "3");
    Q(fa, "SET", "other", "db");

    Q(fb, "SELECT", "3");
    Q(fb, "SET", "other", "db");
    Q(fb, "SELECT", "0");
    Q(fb, "LPUSH", "l", "c", "b", "a");
    Q(fb, "SADD", "set", "z");
    Q(fb, "SADD", "set", "y", "x");
    Q(fb, "HSET", "h", "f2", "2");
    Q(fb, "HSET", "h", "f1", "1");
    Q(fb, "SET", "s", "old");
    Q(fb, "SET", "s", "v");
    strcpy(da, digest(fa));
    cr_assert_str_eq(digest(fb), da);
    cr_assert_str_neq(da, "0000000000000000000000000000000000000000");

    Q(fb, "HSET", "h", "f1", "x");
    cr_assert_str_neq(digest(fb), da, "a field's value counts");
    Q(fb, "HSET", "h", "f1", "1");
    cr_assert_str_eq(digest(fb), da);
    Q(fb, "SADD", "set", "w");
    cr_assert_str_neq(digest(fb), da, "a member counts");
    Q(fb, "SREM", "set", "w");
    cr_assert_str_eq(digest(fb), da);
    Q(fb, "EXPIRE", "s", "1000");
    cr_assert_str_neq(digest(fb), da, "an expiry counts");
    Q(fb, "PERSIST", "s");
    cr_assert_str_eq(digest(fb), da);
    Q(fb, "DEL", "s");
    Q(fb, "SADD", "s", "v");
    cr_assert_str_neq(digest(fb), da, "the type counts");
    Q(fb, "DEL", "s");
    Q(fb, "SET", "s", "v");

    rs_close(fb);
    rs_stop(b);
    rs_restart(b);
    fb = rs_connect(b);
    cr_assert_str_eq(digest(fb), da);
    cr_assert_str_eq(Q(fb, "DEBUG", "DIGEST", "x"),
                     "-ERR unknown subcommand 'DIGEST'. Try DEBUG HELP.");
    rs_close(fa);
    rs_close(fb);
}
