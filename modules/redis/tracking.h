/*
 * tracking.h — client-side caching (CLIENT TRACKING), Redis 7.0's
 * semantics: the server remembers which keys a tracking client read and
 * tells it when one changes, so it can drop its cached copy.
 *
 * Two modes. Default: after a read-only command of a tracking client its
 * keys go into the tracking table (key -> ids of the clients that read
 * it; keys are global, not per database, as in Redis); the first change
 * of such a key (any command of any client, the sweeper's expiry, a
 * FLUSHDB/FLUSHALL) sends each of those clients one invalidation and
 * forgets the key. BCAST [PREFIX p ...]: nothing is remembered; every
 * change of a key under one of the client's prefixes ("" = every key) is
 * sent, the keys of one command gathered into one message per prefix.
 * OPTIN (remember only after CLIENT CACHING YES), OPTOUT (remember unless
 * CLIENT CACHING NO), NOLOOP (not told of its own changes) refine it.
 *
 * The message: RESP3 push `>2 invalidate [key ...]` to the client, or,
 * with REDIRECT id, to that client: a RESP3 push again, or in RESP2 a
 * pub/sub message on `__redis__:invalidate` if it is subscribed to
 * anything (else nothing: RESP2 has no push on the same connection). A
 * flush sends a null instead of the array. A redirect target that closed
 * makes the flag broken_redirect and a RESP3 push `tracking-redir-broken`.
 *
 * Invariants:
 *   T1. Memory is bounded: the table holds at most tracking-table-max-keys
 *       keys (0 = no limit) whenever a command begins; past it keys are
 *       dropped, each with an invalidation to its readers, so no client
 *       keeps a copy the server no longer guards.
 *   T2. An invalidation caused by a client's own command reaches it after
 *       that command's reply (held in pending until the command ends).
 *   T3. A client id in the table may be stale (the client turned tracking
 *       off or closed): it is skipped when the key changes, as in Redis.
 *
 * Threading: the loop thread.
 */
#ifndef FFDB_REDIS_TRACKING_H
#define FFDB_REDIS_TRACKING_H

#include "modules/redis/redis.h"

/* CLIENT TRACKING|CACHING|GETREDIR|TRACKINGINFO: 1 if sub is one of them
 * (a reply was written), 0 if not (CLIENT goes on), or FFDB_ENOMEM. */
int tracking_client_cmd(resp_ctx *c);
/* A key changed (the store's touch hook). */
void tracking_touch_key(redis_server *s, const void *key, size_t klen);
/* FLUSHDB/FLUSHALL: every tracking client is told "everything" (a null). */
void tracking_flush(redis_server *s);
/* Around a command of c (exec_at; nested calls count). end remembers the
 * keys of a read-only command for c, and at the outermost level sends
 * what is pending (T2, BCAST). */
void tracking_begin(redis_server *s, redis_client *c);
void tracking_end(redis_server *s, redis_client *c, const resp_command *cmd, int argc,
                  const resp_arg *argv, int rc);
/* Send BCAST messages gathered outside commands (the sweeper's expiry). */
void tracking_send_pending(redis_server *s);
/* c turns tracking off: RESET, or it is closing. */
void tracking_off(redis_server *s, redis_client *c);
/* CLIENT LIST: c's flag letters appended at flags[*n] (at most 3), and
 * its redirect id (-1 when not tracking). */
int64_t tracking_list_flags(const redis_client *c, char *flags, size_t *n);
/* INFO: tracking_clients (Clients) and the table's sizes (Stats). */
typedef struct tracking_stats {
    size_t clients, keys, prefixes;
    uint64_t items; /* client ids over all keys */
} tracking_stats;
void tracking_counts(const redis_server *s, tracking_stats *out);
void tracking_free(redis_server *s);

#endif /* FFDB_REDIS_TRACKING_H */
