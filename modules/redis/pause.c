/*
 * pause.c — CLIENT PAUSE's postponed clients and the pause's timer (see
 * pause.h for the rules and invariants P1, P2). server.c asks
 * pause_postpone() for every command a client sends (after AUTH and the
 * subscriber check, before MULTI queues it) and skips postponed clients in
 * its run loop; the sweeper asks pause_active().
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "modules/redis/pause.h"
#include "modules/redis/script.h"

int pause_active(const redis_server *s)
{
    return s->pause_type != PAUSE_NONE;
}

size_t pause_count(const redis_server *s)
{
    return s->paused.n;
}

/* P2: in the order they were postponed (cvec_del would reorder). */
void pause_end(redis_server *s)
{
    size_t n = s->paused.n;

    s->pause_type = PAUSE_NONE;
    s->pause_end_ms = 0;
    s->paused.n = 0;
    for (size_t i = 0; i < n; i++) {
        redis_client *c = s->paused.v[i];
        assert(c->flags & CLI_PAUSED);
        c->flags &= ~CLI_PAUSED;
        server_client_ready(s, c);
    }
    if (n)
        net_loop_wake_by(s->loop, 0);
}

static void on_pause_timer(net_timer *t, void *arg)
{
    redis_server *s = arg;
    int64_t left = s->pause_end_ms - redis_mono_ms(s);

    if (s->pause_type == PAUSE_NONE)
        return;
    if (left > 0) {
        net_timer_again(t, left);
        return;
    }
    pause_end(s);
}

int pause_start(redis_server *s, int64_t end_mono_ms, int type)
{
    int64_t left;

    assert(type == PAUSE_WRITE || type == PAUSE_ALL);
    if (!s->pause_timer) {
        s->pause_timer = net_timer_add(s->loop, 0, 0, on_pause_timer, s);
        if (!s->pause_timer)
            return FFDB_ENOMEM;
    }
    if (type > s->pause_type)
        s->pause_type = type;
    if (end_mono_ms > s->pause_end_ms)
        s->pause_end_ms = end_mono_ms;
    left = s->pause_end_ms - redis_mono_ms(s);
    net_timer_again(s->pause_timer, left > 0 ? left : 0);
    return 0;
}

/* Redis's is_may_replicate_command: write, EXEC of a queue that writes, and
 * the commands flagged may-replicate; a script that declares no-writes does
 * not (Redis reads its flags before the pause). */
static int may_replicate(redis_server *s, const redis_client *c, const resp_command *cmd,
                         int argc, const resp_arg *argv)
{
    static const char *const scripts[] = {"eval", "evalsha", "fcall", NULL};

    if (strcmp(cmd->name, "exec") == 0 && (c->flags & CLI_MULTI)) {
        for (size_t i = 0; i < c->queue_len; i++) {
            const redis_queued *q = &c->queue[i];
            if (strcmp(q->cmd->name, "exec") != 0 && may_replicate(s, c, q->cmd, q->argc, q->argv))
                return 1;
        }
        return 0;
    }
    for (int i = 0; scripts[i]; i++)
        if (strcmp(cmd->name, scripts[i]) == 0)
            return !script_declares_no_writes(s, argc, argv);
    return (cmd->flags & RESP_CMD_WRITE) || strcmp(cmd->name, "publish") == 0;
}

int pause_postpone(redis_server *s, redis_client *c, const resp_command *cmd, int argc,
                   const resp_arg *argv)
{
    if (s->pause_type == PAUSE_NONE || c == s->sink || c->is_feed)
        return 0;
    if (s->pause_type == PAUSE_WRITE && !may_replicate(s, c, cmd, argc, argv))
        return 0;
    if (!(c->flags & CLI_PAUSED)) {
        if (cvec_add(&s->paused, c))
            return 0; /* out of memory: it runs, as if there were no pause */
        c->flags |= CLI_PAUSED;
    }
    net_batch_leave(&s->batch, c->conn);
    return 1;
}

/* Keeps the others in order (P2). */
void pause_client_gone(redis_server *s, redis_client *c)
{
    size_t j = 0;

    if (!(c->flags & CLI_PAUSED))
        return;
    for (size_t i = 0; i < s->paused.n; i++)
        if (s->paused.v[i] != c)
            s->paused.v[j++] = s->paused.v[i];
    s->paused.n = j;
    c->flags &= ~CLI_PAUSED;
}

void pause_free(redis_server *s)
{
    free(s->paused.v);
    s->paused.v = NULL;
    s->paused.n = s->paused.cap = 0;
}
