/*
 * block.h — clients blocked on keys: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
 * BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP (cmd_block.c), and later XREAD BLOCK.
 *
 * A blocking command's handler first tries to serve; with nothing to serve
 * it calls redis_block_on() and writes no reply. The client then waits:
 * its request is consumed (block.c keeps a copy of the arguments), it runs
 * nothing else (its further requests stay in its input), and it owes no
 * reply to the current batch. It is woken in one of four ways:
 *
 *   a key it waits on is touched  the store's touch hook (every key change,
 *                                 also inside MULTI/EXEC and RENAME) lists the
 *                                 key as ready; after the top-level command
 *                                 that touched it, block_serve_ready() runs
 *                                 the handler again for each client waiting
 *                                 on it, first blocked first served, in the
 *                                 batch's txn (so the reply waits for the
 *                                 commit like any other). A handler that
 *                                 still finds nothing calls redis_block_on()
 *                                 again, which keeps the client's place;
 *   its timeout passes            a one-shot net timer writes the command's
 *                                 timeout reply (a null or null array);
 *   CLIENT UNBLOCK id [TIMEOUT|ERROR]  the same, or -UNBLOCKED;
 *   its connection closes         it is forgotten, no reply.
 *
 * Invariants:
 *   K1. A client is blocked iff c->blocked != NULL; it is then listed, once,
 *       in the waiters of every distinct key it names, in blocking order,
 *       and counted in blocked_clients.
 *   K2. A blocked client runs no command but its own blocked one (re-run).
 *   K3. Only a command run at the top level blocks: inside EXEC, a script,
 *       or with a write hook (replication) redis_block_on() writes the
 *       timeout reply at once, as Redis does inside MULTI.
 *
 * Threading: the loop thread.
 */
#ifndef FFDB_REDIS_BLOCK_H
#define FFDB_REDIS_BLOCK_H

#include <stdint.h>

#include "modules/redis/cmd.h"

/* What a client gets when its wait ends without data. */
enum {
    REDIS_BLOCK_NULL = 0,       /* a null bulk (BLMOVE, BRPOPLPUSH) */
    REDIS_BLOCK_NULL_ARRAY = 1, /* a null array (BLPOP, BZPOPMIN, BLMPOP, XREAD, ...) */
};

/* ---- for handlers ------------------------------------------------------------------------- */

/* A timeout in seconds, a float (BLPOP's), as ms (0 = forever): 0, or 1
 * after Redis's error reply. */
int redis_block_timeout_arg(resp_ctx *c, const resp_arg *a, int64_t *timeout_ms);
/* 1 if the command runs again because a key it waits on changed: a key of
 * another type is then treated as absent (Redis 7.0 keeps such a client
 * blocked instead of answering WRONGTYPE). */
int redis_block_rerun(const resp_ctx *c);
/* Nothing to serve: block c's client on keys[0..nkeys) for timeout_ms (0 =
 * forever), or, where it cannot block (K3), write the timeout reply now.
 * 0 or FFDB_ENOMEM. The handler writes no reply after it. */
int redis_block_on(resp_ctx *c, const resp_arg *keys, int nkeys, int64_t timeout_ms,
                   int on_timeout);
/* The same, with the arguments the command runs again with given (XREAD
 * turns "$" into the stream's last ID): argv[0..argc), its keys at
 * argv[first_key..first_key + nkeys). */
int redis_block_on_args(resp_ctx *c, int argc, const resp_arg *argv, int first_key, int nkeys,
                        int64_t timeout_ms, int on_timeout);

/* ---- for the server -------------------------------------------------------------------- */

typedef struct redis_server redis_server;
typedef struct redis_client redis_client;
typedef struct redis_blocking redis_blocking;

int block_init(redis_server *s);
void block_free(redis_server *s);
/* The store's touch hook: key changed (anything; only waited-on keys count). */
void block_touch(redis_server *s, int db, const void *key, size_t klen);
/* FLUSHDB (db) / FLUSHALL (-1): every waited-on key of it changed. */
void block_touch_db(redis_server *s, int db);
/* The next command run by server_run_command, with these arguments, is top-level
 * and may block (K3). */
void block_allow(redis_server *s, const resp_arg *argv);
/* Serve the clients waiting on the keys touched since the last call. */
void block_serve_ready(redis_server *s);
/* c's connection closes: forget it (no reply). */
void block_client_gone(redis_server *s, redis_client *c);
/* CLIENT UNBLOCK: 1 if client id was blocked (now answered: timeout reply,
 * or -UNBLOCKED if error), else 0. */
int block_unblock(redis_server *s, uint64_t id, int error);
/* blocked_clients (INFO). */
uint64_t block_count(const redis_server *s);

#endif /* FFDB_REDIS_BLOCK_H */
