/*
 * test_resp_busy.c — a script that never returns (ffdb-server end to end,
 * tests/test_resp_util.h). Redis 7.0's busy-script handling (-BUSY replies
 * to other clients past busy-reply-threshold, SCRIPT KILL, FUNCTION KILL)
 * is not in ffdb-server yet; what is: SIGTERM (and SHUTDOWN's signal path)
 * ends a running script through the Lua count hook, the script's command
 * fails its batch, so nothing the script wrote reaches the file, and the
 * server exits cleanly.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_resp_util.h"
#include "tests/testutil.h"

TestSuite(resp_busy, .init = rs_setup, .fini = rs_teardown, .timeout = 60);

/* load: how many leading words of script_cmd are a FUNCTION LOAD to run first. */
static void busy_then_sigterm(const char *const *script_cmd, int argc, int load)
{
    rs_server *srv = rs_start(NULL);
    int fd = rs_connect(srv), run = rs_connect(srv), other = rs_connect(srv);
    struct pollfd p = {other, POLLIN, 0};
    const char *got;

    got = Q(fd, "SET", "k", "old");
    cr_assert_str_eq(got, "OK");
    if (load) {
        got = rs_qv(fd, load, script_cmd);
        cr_assert_str_eq(got, "\"spin\"", "FUNCTION LOAD -> %s", got);
        script_cmd += load;
        argc -= load;
    }
    rs_sendv(run, argc, script_cmd, NULL);
    rs_send(other, "PING", NULL);
    /* The script holds the loop: the PING sent after it gets no answer. */
    cr_assert(poll(&p, 1, 300) == 0, "the server answered while a script spins");
    rs_stop(srv); /* asserts a clean exit within the helper's bound */
    got = rs_text(rs_read(run));
    cr_assert(strstr(got, "killed by the server's shutdown") != NULL, "script reply %s", got);
    rs_restart(srv);
    fd = rs_connect(srv);
    got = Q(fd, "GET", "k");
    cr_assert_str_eq(got, "\"old\"", "the killed script's write is in the file: %s", got);
}

Test(resp_busy, sigterm_ends_a_spinning_eval_and_nothing_of_it_is_written)
{
    const char *cmd[] = {"EVAL", "redis.call('set', KEYS[1], 'script') while true do end", "1",
                         "k"};
    busy_then_sigterm(cmd, 4, 0);
}

Test(resp_busy, sigterm_ends_a_spinning_function_and_nothing_of_it_is_written)
{
    const char *cmd[] = {"FUNCTION", "LOAD",
                         "#!lua name=spin\nredis.register_function('spin', function(keys) "
                         "redis.call('set', keys[1], 'fn') while true do end end)",
                         "FCALL", "spin", "1", "k"};
    busy_then_sigterm(cmd, 7, 3);
}
