/*
 * test_resp_tracking.c — CLIENT TRACKING on a real ffdb-server
 * (modules/redis/tracking.c). The expected frames are what redis-server
 * 7.0.15 sends for the same commands (compared byte for byte when the
 * test was written): RESP3 invalidate pushes after the writer's reply,
 * a null after FLUSHDB, BCAST prefixes in byte order, RESP2 redirect
 * through __redis__:invalidate, Redis's error wording, and the
 * tracking-table-max-keys bound (T1).
 */
#include <stdio.h>
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_tracking, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

static int resp3(rs_server *srv)
{
    int fd = rs_connect(srv);
    Q(fd, "HELLO", "3");
    return fd;
}

Test(resp_tracking, default_mode)
{
    rs_server *srv = rs_start(NULL);
    int a = resp3(srv), b = rs_connect(srv);

    EQ(a, "OK", "CLIENT", "TRACKING", "ON");
    EQ(a, "nil", "GET", "k");
    EQ(b, "OK", "SET", "k", "v");
    READ_EQ(a, ">[\"invalidate\",[\"k\"]]");
    EQ(b, "OK", "SET", "k", "w"); /* forgotten after the first change: no second push */
    EQ(a, "PONG", "PING");
    EQ(a, "\"w\"", "GET", "k");
    EQ(a, "OK", "SET", "k", "x"); /* its own write: the push follows the reply (T2) */
    READ_EQ(a, ">[\"invalidate\",[\"k\"]]");
    EQ(a, "[\"x\",nil]", "MGET", "k", "k2");
    EQ(a, "OK", "FLUSHDB");
    READ_EQ(a, ">[\"invalidate\",nil]");
    EQ(a, "{\"flags\":~[\"on\"],\"redirect\"::0,\"prefixes\":[]}", "CLIENT", "TRACKINGINFO");
    EQ(a, ":0", "CLIENT", "GETREDIR");
    EQ(a, "OK", "CLIENT", "TRACKING", "OFF");
    EQ(a, ":-1", "CLIENT", "GETREDIR");
}

Test(resp_tracking, bcast_noloop_optin)
{
    rs_server *srv = rs_start(NULL);
    int a = resp3(srv), b = rs_connect(srv);

    EQ(a, "OK", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "b");
    EQ(b, "OK", "MSET", "a1", "1", "b2", "2", "c", "3");
    READ_EQ(a, ">[\"invalidate\",[\"a1\"]]");
    READ_EQ(a, ">[\"invalidate\",[\"b2\"]]");
    EQ(a, "-ERR Prefix 'ab' overlaps with an existing prefix 'a'. Prefixes for a single client "
          "must not overlap.",
       "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab");
    EQ(a, "-ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
          "and then re-enabling it with a different mode.",
       "CLIENT", "TRACKING", "ON");
    EQ(a, "OK", "CLIENT", "TRACKING", "OFF");
    EQ(a, "OK", "CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP");
    EQ(a, "OK", "SET", "mine", "1"); /* NOLOOP: not told of its own change */
    EQ(b, "OK", "SET", "theirs", "1");
    READ_EQ(a, ">[\"invalidate\",[\"theirs\"]]");
    EQ(a, "OK", "CLIENT", "TRACKING", "OFF");
    EQ(a, "OK", "CLIENT", "TRACKING", "ON", "OPTIN");
    EQ(a, "\"1\"", "GET", "mine"); /* not remembered: no CACHING YES */
    EQ(a, "OK", "CLIENT", "CACHING", "YES");
    EQ(a, "\"1\"", "GET", "theirs");
    EQ(b, ":1", "DEL", "mine");
    EQ(b, ":1", "DEL", "theirs");
    READ_EQ(a, ">[\"invalidate\",[\"theirs\"]]");
    EQ(a, "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.", "CLIENT",
       "CACHING", "NO");
    EQ(a, "-ERR You can't specify both OPTIN mode and OPTOUT mode", "CLIENT", "TRACKING", "ON",
       "OPTIN", "OPTOUT");
    EQ(a, "-ERR PREFIX option requires BCAST mode to be enabled", "CLIENT", "TRACKING", "ON",
       "PREFIX", "x");
    EQ(a, "-ERR syntax error", "CLIENT", "TRACKING", "ON", "NOSUCH");
}

Test(resp_tracking, resp2_redirect)
{
    rs_server *srv = rs_start(NULL);
    int a = rs_connect(srv), r = rs_connect(srv), b = rs_connect(srv);
    char id[32], flags[64];

    snprintf(id, sizeof(id), "%s", Q(r, "CLIENT", "ID") + 1);
    EQ(a, "-ERR The client ID you want redirect to does not exist", "CLIENT", "TRACKING", "ON",
       "REDIRECT", "999999");
    EQ(r, "[\"subscribe\",\"__redis__:invalidate\",:1]", "SUBSCRIBE", "__redis__:invalidate");
    EQ(a, "OK", "CLIENT", "TRACKING", "ON", "REDIRECT", id);
    cr_assert_str_eq(Q(a, "CLIENT", "GETREDIR") + 1, id);
    EQ(a, "nil", "GET", "k");
    EQ(b, "OK", "SET", "k", "v");
    READ_EQ(r, "[\"message\",\"__redis__:invalidate\",[\"k\"]]");
    snprintf(flags, sizeof(flags), "redir=%s", id);
    cr_assert(strstr(Q(a, "CLIENT", "INFO"), flags), "CLIENT INFO shows the redirect");
    cr_assert(strstr(Q(a, "CLIENT", "INFO"), "flags=t"), "CLIENT INFO flag t");
    cr_assert_eq(rs_info_int(b, "tracking_clients"), 1);
}

Test(resp_tracking, table_bound)
{
    rs_server *srv = rs_start(NULL);
    int a = resp3(srv), c = rs_connect(srv);

    EQ(a, "OK", "CLIENT", "TRACKING", "ON");
    EQ(a, "[nil,nil,nil]", "MGET", "k1", "k2", "k3");
    cr_assert_eq(rs_info_int(c, "tracking_total_keys"), 3);
    EQ(c, "OK", "CONFIG", "SET", "tracking-table-max-keys", "1");
    EQ(a, "PONG", "PING"); /* T1: two keys dropped before it, each with a push */
    const char *p1 = rs_text(rs_read(a)), *p2 = rs_text(rs_read(a));
    cr_assert(strncmp(p1, ">[\"invalidate\",[\"k", 17) == 0, "%s", p1);
    cr_assert(strncmp(p2, ">[\"invalidate\",[\"k", 17) == 0, "%s", p2);
    cr_assert_eq(rs_info_int(c, "tracking_total_keys"), 1);
}
