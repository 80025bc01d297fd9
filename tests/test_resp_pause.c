/*
 * test_resp_pause.c — CLIENT PAUSE / CLIENT UNPAUSE of ffdb-server end to
 * end (the built program on a loopback port, tests/test_resp_util.h), with
 * Redis 7.0's rules: paused commands wait (they are not refused) and run in
 * order when the pause ends; WRITE holds writes, EXEC of a queue that
 * writes, EVAL/EVALSHA/FCALL and PUBLISH, and lets reads, EVAL_RO, scripts
 * and functions that declare no-writes and a read-only EXEC through; ALL holds everything, CLIENT UNPAUSE too (only
 * the timeout ends it); no expired key is deleted while a pause lasts.
 * Postponed clients count in INFO's blocked_clients, as in Redis.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_pause, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

/* Wait (bounded) until INFO says n clients are blocked or postponed. */
static void wait_blocked(int fd, int64_t n)
{
    rs_wait_info_int(fd, "blocked_clients", n);
}

/* 1 if a reply byte is waiting on fd within ms. */
static int reply_waiting(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) > 0;
}

Test(resp_pause, errors)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv);

    EQ(fd, "-ERR CLIENT PAUSE mode must be WRITE or ALL", "CLIENT", "PAUSE", "100", "READ");
    EQ(fd, "-ERR CLIENT PAUSE mode must be WRITE or ALL", "CLIENT", "PAUSE", "x", "READ");
    EQ(fd, "-ERR timeout is not an integer or out of range", "CLIENT", "PAUSE", "1.5");
    EQ(fd, "-ERR timeout is negative", "CLIENT", "PAUSE", "-1", "WRITE");
    EQ(fd, "-ERR wrong number of arguments for 'client|unpause' command", "CLIENT", "UNPAUSE",
       "x");
    EQ(fd, "OK", "CLIENT", "UNPAUSE"); /* no pause on: still OK */
    EQ(fd, "OK", "SET", "k", "v");
}

Test(resp_pause, write_pause_holds_writes_and_lets_reads_run)
{
    rs_server *srv = rs_start(NULL);
    int ctl = rs_connect(srv), w = rs_connect(srv), p = rs_connect(srv), e = rs_connect(srv);
    int m = rs_connect(srv);

    EQ(ctl, "OK", "SET", "k", "old");
    EQ(ctl, "\"ro\"", "FUNCTION", "LOAD",
       "#!lua name=ro\nredis.register_function{function_name='rof', callback=function(keys) "
       "return redis.call('get', keys[1]) end, flags={'no-writes'}}");
    EQ(m, "OK", "MULTI");
    EQ(m, "QUEUED", "SET", "k", "from-multi");
    EQ(ctl, "OK", "CLIENT", "PAUSE", "100000", "WRITE");
    SEND(w, "SET", "k", "new");
    SEND(w, "GET", "k"); /* pipelined behind the write: waits with it, in order */
    wait_blocked(ctl, 1);
    SEND(p, "PUBLISH", "ch", "hello");
    wait_blocked(ctl, 2);
    SEND(e, "EVAL", "return redis.call('get', KEYS[1])", "1", "k");
    wait_blocked(ctl, 3);
    SEND(m, "EXEC");
    wait_blocked(ctl, 4);

    /* Reads, read-only scripts and a read-only EXEC run during the pause. */
    EQ(ctl, "\"old\"", "GET", "k");
    EQ(ctl, "\"old\"", "EVAL_RO", "return redis.call('get', KEYS[1])", "1", "k");
    /* Scripts that declare no-writes too (Redis reads their flags first). */
    EQ(ctl, "\"old\"", "EVAL", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "1",
       "k");
    EQ(ctl, "\"old\"", "FCALL", "rof", "1", "k");
    EQ(ctl, "OK", "MULTI");
    EQ(ctl, "QUEUED", "GET", "k");
    EQ(ctl, "[\"old\"]", "EXEC");
    cr_assert(!reply_waiting(w, 50), "a paused write answered");

    EQ(ctl, "OK", "CLIENT", "UNPAUSE");
    READ_EQ(w, "OK");
    READ_EQ(w, "\"new\"");
    READ_EQ(p, ":0");
    READ_EQ(e, "\"new\"");
    READ_EQ(m, "[OK]");
    EQ(ctl, "\"from-multi\"", "GET", "k");
    wait_blocked(ctl, 0);
}

Test(resp_pause, all_pause_holds_everything_until_the_timeout)
{
    rs_server *srv = rs_start(NULL);
    int ctl = rs_connect(srv), r = rs_connect(srv), u = rs_connect(srv);

    EQ(ctl, "OK", "CLIENT", "PAUSE", "1500", "ALL");
    SEND(r, "PING");
    SEND(u, "CLIENT", "UNPAUSE"); /* postponed as well, as in Redis */
    cr_assert(!reply_waiting(r, 100), "PING answered during CLIENT PAUSE ALL");
    READ_EQ(r, "PONG"); /* after the timeout (the connection's read timeout is longer) */
    READ_EQ(u, "OK");
    EQ(ctl, "OK", "SET", "k", "v");
}

Test(resp_pause, the_stricter_and_longer_pause_wins)
{
    rs_server *srv = rs_start(NULL);
    int ctl = rs_connect(srv), r = rs_connect(srv);

    EQ(ctl, "OK", "CLIENT", "PAUSE", "100000", "WRITE");
    EQ(ctl, "OK", "CLIENT", "PAUSE", "10", "ALL"); /* ALL now, to the longer end */
    SEND(r, "GET", "k");
    cr_assert(!reply_waiting(r, 200), "a read answered under WRITE then ALL");
    rs_close(ctl);
    ctl = rs_connect(srv);
    SEND(ctl, "CLIENT", "UNPAUSE");
    cr_assert(!reply_waiting(ctl, 50), "UNPAUSE ran under ALL");
    rs_close(ctl);
    rs_close(r);
    /* The pause outlives its clients; SIGTERM still stops the server. */
    rs_stop(srv);
}

Test(resp_pause, no_key_expires_during_a_pause)
{
    rs_server *srv = rs_start(NULL);
    int ctl = rs_connect(srv);

    EQ(ctl, "OK", "MULTI");
    EQ(ctl, "QUEUED", "SET", "a", "1", "PX", "20");
    EQ(ctl, "QUEUED", "SET", "b", "2", "PX", "20");
    EQ(ctl, "QUEUED", "CLIENT", "PAUSE", "100000", "WRITE");
    EQ(ctl, "[OK,OK,OK]", "EXEC");
    rs_sleep_ms(400); /* several sweeper rounds (hz 10) */
    EQ(ctl, "nil", "GET", "a"); /* expired keys are invisible... */
    EQ(ctl, ":2", "DBSIZE");    /* ...but not deleted while paused */
    EQ(ctl, "OK", "CLIENT", "UNPAUSE");
    for (int i = 0; i < 300 && rs_info_int(ctl, "expired_keys") < 2; i++)
        rs_sleep_ms(10);
    EQ(ctl, ":0", "DBSIZE");
}

Test(resp_pause, a_postponed_client_that_closes_is_forgotten)
{
    rs_server *srv = rs_start(NULL);
    int ctl = rs_connect(srv), w = rs_connect(srv);

    EQ(ctl, "OK", "CLIENT", "PAUSE", "100000", "WRITE");
    SEND(w, "SET", "k", "v");
    wait_blocked(ctl, 1);
    rs_close(w);
    wait_blocked(ctl, 0);
    EQ(ctl, "OK", "CLIENT", "UNPAUSE");
    EQ(ctl, "nil", "GET", "k");
}
