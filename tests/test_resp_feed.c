/*
 * test_resp_feed.c — SYNC's write feed and CLIENT REPLY in ffdb-server end
 * to end: a SYNC connection gets an empty RDB snapshot, then each write
 * that changed the keyspace as a command (SELECT first, a DEL of nothing
 * not at all); CLIENT REPLY OFF/SKIP/ON drop replies, not effects.
 */
#include <string.h>
#include <sys/socket.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_feed, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

/* Read exactly n bytes (bounded by the socket's receive timeout). */
static void read_n(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);
        cr_assert(r > 0, "feed ended after %zu of %zu bytes", got, n);
        got += (size_t)r;
    }
}

Test(resp_feed, sync_stream)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv), feed = rs_connect(srv);
    char buf[512];

    rs_send_raw(feed, "SYNC\r\n", 6);
    read_n(feed, buf, 23);
    cr_assert(memcmp(buf, "$18\r\nREDIS0009\xff", 15) == 0);
    EQ(fd, "OK", "SET", "a", "1");
    EQ(fd, ":0", "DEL", "nothing"); /* changed nothing: not fed */
    EQ(fd, ":2", "INCR", "a");
    static const char want[] = "*2\r\n$6\r\nselect\r\n$1\r\n0\r\n"
                               "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
                               "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n";
    read_n(feed, buf, sizeof(want) - 1);
    cr_assert(memcmp(buf, want, sizeof(want) - 1) == 0, "feed: %.*s", (int)sizeof(want) - 1, buf);
}

Test(resp_feed, client_reply)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);

    rs_send(fd, "CLIENT", "REPLY", "SKIP", (const char *)NULL);
    rs_send(fd, "SET", "k", "skipped", (const char *)NULL);
    EQ(fd, "\"skipped\"", "GET", "k");
    rs_send(fd, "CLIENT", "REPLY", "OFF", (const char *)NULL);
    rs_send(fd, "SET", "k", "off", (const char *)NULL);
    rs_send(fd, "GET", "k", (const char *)NULL);
    EQ(fd, "OK", "CLIENT", "REPLY", "ON");
    EQ(fd, "\"off\"", "GET", "k");
    EQ(fd, "-ERR syntax error", "CLIENT", "REPLY", "MAYBE");
}

Test(resp_feed, monitor)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv), mon = rs_connect(srv);
    char buf[512] = "";
    size_t got = 0;

    EQ(mon, "OK", "MONITOR");
    EQ(fd, "OK", "SET", "foo", "b\"ar");
    Q(fd, "AUTH", "x"); /* an error (no password set); never logged */
    EQ(fd, "nil", "EVAL", "return redis.call('get', KEYS[1]) and nil", "1", "nokey");
    while (got < sizeof(buf) - 1 && !strstr(buf, "[0 lua] \"get\" \"nokey\"")) {
        ssize_t r = recv(mon, buf + got, sizeof(buf) - 1 - got, 0);
        cr_assert(r > 0, "monitor ended: %.*s", (int)got, buf);
        got += (size_t)r;
        buf[got] = '\0';
    }
    cr_assert(strstr(buf, "\"SET\" \"foo\" \"b\\\"ar\"\r\n"), "%s", buf);
    cr_assert(!strstr(buf, "AUTH"), "%s", buf);
}
