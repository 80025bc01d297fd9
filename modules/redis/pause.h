/*
 * pause.h — CLIENT PAUSE timeout [WRITE|ALL] and CLIENT UNPAUSE, as Redis
 * 7.0: while a pause lasts, a client's command that it covers is postponed
 * (not refused): the client runs nothing more until the pause ends, then
 * its command runs as if it had just arrived. ALL covers every command;
 * WRITE covers what may write or replicate (commands flagged write, EXEC
 * of a queue that writes, EVAL EVALSHA FCALL unless the script declares
 * no-writes, and PUBLISH), checked before
 * MULTI queues a command, as Redis does. The sweeper deletes no expired key
 * during a pause (Redis stops its active expiry too).
 *
 * Invariants:
 *   P1. A client is postponed iff CLI_PAUSED is set; it is then in
 *       s->paused once, and its request is still unconsumed in its input.
 *   P2. When the pause ends (timeout, CLIENT UNPAUSE) every postponed
 *       client is made ready, in the order it was postponed.
 *
 * Threading: the loop thread.
 */
#ifndef FFDB_REDIS_PAUSE_H
#define FFDB_REDIS_PAUSE_H

#include "modules/redis/redis.h"

enum { PAUSE_NONE = 0, PAUSE_WRITE = 1, PAUSE_ALL = 2 };

/* Pause until the monotonic time end_mono_ms: the longer and the stricter
 * of this and a pause already on, as Redis keeps them. 0 or FFDB_ENOMEM. */
int pause_start(redis_server *s, int64_t end_mono_ms, int type);
/* End the pause now (CLIENT UNPAUSE); P2. */
void pause_end(redis_server *s);
/* 1 if a pause is on. */
int pause_active(const redis_server *s);
/* 1 if c's command is postponed by the pause (it is then listed, P1, and
 * owes no reply in this batch), 0 if it runs now. */
int pause_postpone(redis_server *s, redis_client *c, const resp_command *cmd, int argc,
                   const resp_arg *argv);
/* c is closing. */
void pause_client_gone(redis_server *s, redis_client *c);
/* Postponed clients (counted in INFO's blocked_clients, as Redis does). */
size_t pause_count(const redis_server *s);
void pause_free(redis_server *s);

#endif /* FFDB_REDIS_PAUSE_H */
