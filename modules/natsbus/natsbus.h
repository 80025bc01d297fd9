/*
 * natsbus.h — the public header of libffdb_natsbus.a: a NATS client
 * (nats.c, libnats) hosted on modules/net's loop, with the subject scheme
 * every ffdb module on the bus shares.
 *
 * What it owns: one NATS connection per natsbus, its socket watched by the
 * net loop (natsOptions_SetEventLoop with our own attach/read/write/detach),
 * reconnection (forever, every reconnect_wait_ms), subscriptions, publish,
 * request/reply with any number of answers, and the mapping of arbitrary
 * byte names (Redis channels, record keys) to NATS subject tokens.
 *
 * Who calls it: ffdb-server's NATS bridge (pub/sub, signed records), the
 * op log's transport, and tests. It uses only modules/net and libnats.
 *
 * Threading (N1): nats.c runs its own threads (reconnect, pings, message
 * delivery); none of them calls into the owner. Everything they report —
 * socket attach/detach, read/write interest, messages, connection state — is
 * put on a queue under a mutex and an eventfd wakes the loop, which drains it.
 * Every callback of this header (natsbus_msg_fn, natsbus_reply_fn,
 * natsbus_state_fn) runs on the loop thread, so an owner may touch its store
 * there without locks. All functions here must be called on the loop thread.
 *
 * Ordering (N2): messages of one subscription are handed over in the order
 * nats-server delivered them; NATS keeps the order of one publisher's
 * messages, so one publisher's messages reach a subscriber in order.
 *
 * Loss (N3): this is NATS core (at most once). Messages published while
 * disconnected are buffered by nats.c (up to 8 MiB) and sent after the
 * reconnect; messages sent by others during the gap are not received. The
 * queue towards the loop is bounded (max_queued_bytes): beyond it messages
 * are dropped and counted (stats.dropped), as a slow consumer.
 *
 * Subjects (N4): "ffdb." NS "." KIND "." NAME, where NS is the encoded
 * namespace (natsbus_token of the --namespace bytes; the default namespace
 * "" is "_"), KIND a fixed ASCII token of the caller ("pub", "ptr", ...)
 * and NAME the encoded name. A token keeps [A-Za-z0-9-] and writes every
 * other byte as "_" and two upper-case hex digits; the empty name is "_"
 * alone. Decoding is exact, so any byte string round-trips, and no token
 * holds '.', '*', '>' or white space, so two namespaces never share a
 * subject. Subjects longer than NATSBUS_MAX_SUBJECT are refused
 * (NATSBUS_ETOOBIG).
 *
 * No echo (N5): the connection is made with NoEcho: a subscriber never gets
 * what its own connection published, so a bridge cannot loop a message back.
 *
 * Errors: 0 or a negative NATSBUS_E... code; natsbus_strerror names them.
 */
#ifndef FFDB_NATSBUS_H
#define FFDB_NATSBUS_H

#include <stddef.h>
#include <stdint.h>

#include "modules/net/loop.h"

#define NATSBUS_EINVAL (-31300)  /* a bad argument (url, kind) */
#define NATSBUS_ETOOBIG (-31301) /* subject or payload over the limit */
#define NATSBUS_ENATS (-31302)   /* nats.c refused (see the log line) */
#define NATSBUS_ENOMEM (-31303)
#define NATSBUS_ECLOSED (-31304) /* the bus is closing */

#define NATSBUS_MAX_SUBJECT 3800 /* characters; nats-server's control line is 4 KiB */
#define NATSBUS_MAX_KIND 32

const char *natsbus_strerror(int code);

typedef struct natsbus natsbus;
typedef struct natsbus_sub natsbus_sub;

/* One received message. Views valid during the callback only. */
typedef struct natsbus_msg {
    const char *subject;  /* the full NATS subject */
    const uint8_t *name;  /* the decoded NAME token (N4); NULL if the subject is not ours */
    size_t name_len;
    const uint8_t *data;
    size_t len;
    const char *reply;    /* where an answer goes (natsbus_respond), or NULL */
} natsbus_msg;

typedef void (*natsbus_msg_fn)(void *arg, const natsbus_msg *m);
/* An answer to a request; m == NULL once, when the request's time is up
 * (after that the callback is never called again for it: a later answer
 * goes to natsbus_opts.on_late_reply, or is dropped, and is counted in
 * stats.late_replies either way). */
typedef void (*natsbus_reply_fn)(void *arg, const natsbus_msg *m);
/* The connection came up (1) or went down (0). */
typedef void (*natsbus_state_fn)(void *arg, int connected);

typedef struct natsbus_opts {
    const char *url;            /* "nats://127.0.0.1:4222"; several: comma-separated */
    const char *namespace_name; /* bytes of the namespace; NULL = "" */
    size_t namespace_len;       /* 0 with a non-NULL name: strlen */
    const char *conn_name;      /* shown by nats-server; NULL = "ffdb" */
    int64_t reconnect_wait_ms;  /* 0 = 250 */
    int64_t connect_timeout_ms; /* 0 = 2000 */
    size_t max_queued_bytes;    /* 0 = 64 MiB (N3) */
    natsbus_state_fn on_state;  /* may be NULL */
    void *state_arg;
    /* An answer to one of this bus's requests whose time was up (NULL:
     * dropped). m->reply and m->name are as for a live answer. */
    natsbus_msg_fn on_late_reply;
    void *late_arg;
} natsbus_opts;

typedef struct natsbus_stats {
    uint64_t published, publish_errors;
    uint64_t received; /* messages handed to callbacks */
    uint64_t dropped;  /* over max_queued_bytes (N3) */
    uint64_t slow_consumer; /* nats.c's slow-consumer reports (it dropped messages) */
    uint64_t late_replies;  /* answers after their request's time (on_late_reply) */
    uint64_t connects; /* times the connection came up */
    uint64_t disconnects;
    int connected;
} natsbus_stats;

/* Create the connection on loop. If nats-server cannot be reached now, the
 * bus still opens and keeps trying (on_state(1) when it connects). err gets
 * a one-line reason on failure. */
int natsbus_open(net_loop *loop, const natsbus_opts *o, natsbus **out, char *err, size_t err_len);
/* Unsubscribe everything, close the connection; pending requests are
 * dropped without their callback. NULL is a no-op. */
void natsbus_close(natsbus *b);
int natsbus_connected(const natsbus *b);
void natsbus_get_stats(const natsbus *b, natsbus_stats *st);

/* Subscribe to KIND.NAME in the bus's namespace, or to every name of kind
 * when name is NULL. fn runs on the loop thread (N1). */
int natsbus_subscribe(natsbus *b, const char *kind, const void *name, size_t n, natsbus_msg_fn fn,
                      void *arg, natsbus_sub **out);
/* Stop it; no callback of it runs afterwards. NULL is a no-op. */
void natsbus_unsubscribe(natsbus_sub *s);

/* Publish data to KIND.NAME. NATSBUS_ETOOBIG over the server's max payload
 * or NATSBUS_MAX_SUBJECT. */
int natsbus_publish(natsbus *b, const char *kind, const void *name, size_t n, const void *data,
                    size_t len);
/* Publish a request and collect every answer until timeout_ms: fn(arg, m)
 * per answer, then fn(arg, NULL). On an error return fn is never called. */
int natsbus_request(natsbus *b, const char *kind, const void *name, size_t n, const void *data,
                    size_t len, int64_t timeout_ms, natsbus_reply_fn fn, void *arg);
/* Answer a request (m->reply must not be NULL). */
int natsbus_respond(natsbus *b, const natsbus_msg *m, const void *data, size_t len);

/* ---- the subject scheme (N4), subject.c ------------------------------------ */

/* Encode name as a token into out (cap bytes, NUL-terminated when it fits).
 * Returns the token's length without the NUL (as snprintf: may exceed cap). */
size_t natsbus_token(const void *name, size_t n, char *out, size_t cap);
/* Decode a token of tlen characters into out (at least tlen bytes): 0 and
 * *n, or -1 if it is not a token this scheme writes. */
int natsbus_untoken(const char *tok, size_t tlen, uint8_t *out, size_t *n);
/* The subject of KIND.NAME in namespace ns (name NULL: KIND.*). As
 * natsbus_token: the length, which may exceed cap. */
size_t natsbus_subject(const void *ns, size_t ns_len, const char *kind, const void *name, size_t n,
                       char *out, size_t cap);

#endif /* FFDB_NATSBUS_H */
