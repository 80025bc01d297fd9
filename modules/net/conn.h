/*
 * conn.h — connections and the services that own them: listening sockets
 * (several binds, port 0 = any free port), accepted and outbound
 * (non-blocking connect) connections with an input buffer, an output buffer
 * (buf.h) with back-pressure and a hard limit, close-after-flush, idle
 * timeouts, and a per-protocol table of hooks. A protocol module (RESP,
 * HTTP, a RAFT transport) fills a net_proto and never touches a socket.
 *
 * What the layer does on its own: reads what arrives into c->in and tells
 * the protocol (input hook); sends c->out when the protocol asks
 * (net_conn_flush / net_service_flush) or when a blocked socket becomes
 * writable — never past out.hold; pauses reading while unsent output is over
 * NET_OUT_BACKPRESSURE or unparsed input over NET_IN_BACKLOG (TCP then
 * pushes back on the peer instead of us buffering for it), and tells the
 * protocol again (input hook) once the output drained with input waiting;
 * drops a connection whose output hit its limit; refuses connections over
 * maxclients; closes idle ones (unless NET_CONN_NO_IDLE); frees closed
 * connections before the loop sleeps, after the protocol's close hook.
 *
 * Invariants:
 *   C1. A connection is freed only in the before-sleep phase (or by
 *       net_service_free), so a pointer to it stays valid for the whole
 *       iteration that marked it closed.
 *   C2. Bytes at or past out.hold are never written to the socket.
 *   C3. A connection in a batch (NET_CONN_IN_BATCH, batch.h) is never
 *       flushed: its replies wait for the batch's end.
 *
 * Threading: the loop thread.
 */
#ifndef FFDB_NET_CONN_H
#define FFDB_NET_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "modules/net/buf.h"
#include "modules/net/config.h"
#include "modules/net/log.h"
#include "modules/net/loop.h"

#define NET_MAX_BINDS 8
#define NET_IN_BACKLOG (1024u * 1024)       /* unparsed input that pauses reading */
#define NET_OUT_BACKPRESSURE (1024u * 1024) /* unsent output that pauses a connection */

typedef struct net_conn net_conn;
typedef struct net_service net_service;

enum {
    NET_CONN_CLOSE_ASAP = 1u << 0,  /* drop without sending what is pending */
    NET_CONN_CLOSE_AFTER = 1u << 1, /* close once the output is sent */
    NET_CONN_FLUSH = 1u << 2,       /* on the service's flush list */
    NET_CONN_WANT_WRITE = 1u << 3,  /* the socket was full: waiting for writable */
    NET_CONN_NO_READ = 1u << 4,     /* reading paused (back-pressure) */
    NET_CONN_NO_IDLE = 1u << 5,     /* never closed for idleness (subscribers) */
    NET_CONN_OUTBOUND = 1u << 6,    /* we connected (net_service_connect) */
    NET_CONN_CONNECTING = 1u << 7,  /* connect in progress */
    NET_CONN_IN_BATCH = 1u << 8,    /* ran a command in the current batch (batch.h) */
    NET_CONN_BATCH_WROTE = 1u << 9, /* ran a write command in it */
};

struct net_conn {
    net_service *svc;
    net_watch *watch;
    int fd;
    uint64_t id;                 /* unique in the service, from 1 */
    char addr[64];               /* "ip:port" of the peer */
    char laddr[64];              /* our side */
    unsigned flags;              /* NET_CONN_... */
    int error;                   /* -errno that closed it (0: closed by us or by the peer) */
    int64_t created_ms, last_ms; /* wall clock: created, last input */

    /* input: received bytes; the protocol consumes from in + in_start */
    char *in;
    size_t in_len, in_cap, in_start;

    net_buf out; /* replies, sent by this layer */

    /* the batch-commit helper's (batch.c) */
    size_t batch_mark;   /* out.len when its first command of the batch began */
    unsigned batch_cmds; /* commands it ran in the batch (each owes a reply) */
    unsigned held_cmds;  /* commands whose replies sit past out.hold */
    uint64_t held_txid;  /* the commit they wait for */

    void *udata; /* the protocol's state for this connection */
    net_conn *prev, *next;
};

/* What a protocol plugs in. Only input is required. */
typedef struct net_proto {
    const char *name;
    /* Sent (best effort) to a connection refused at maxclients; NULL: none. */
    const char *reject;
    /* A connection was accepted, or an outbound one connected: set up
     * c->udata. Non-zero refuses it (closed at once, close hook not called). */
    int (*accept)(net_conn *c);
    /* There is unconsumed input (new bytes, or output drained with input
     * waiting). Parse or queue; advance c->in_start past what was used. The
     * buffer may move between calls, so keep offsets, not pointers. */
    void (*input)(net_conn *c);
    /* Bytes still missing for the message being read, if known (0 if not):
     * the read size, and no pause while a big message is incomplete. */
    uint64_t (*want)(net_conn *c, size_t pending);
    /* Once a second, for each connection (NULL: none). */
    void (*tick)(net_conn *c);
    /* The connection is about to be freed (closed by either side). */
    void (*close)(net_conn *c);
} net_proto;

/* Parameters of a service; a config table (net_service_params) serves
 * them. */
typedef struct net_service_config {
    char bind[NET_MAX_BINDS][64]; /* addresses to listen on */
    int bind_count;
    int port;              /* 0 = any free port */
    int maxclients;        /* accepted connections at once */
    int timeout_s;         /* idle connections closed after this; 0 = never */
    uint64_t outbuf_limit; /* hard output limit of a new connection (0: none) */
} net_service_config;

/* bind, port, maxclients, timeout (base: a net_service_config; defaults:
 * 127.0.0.1, 10000, 0). The port has no default: the program sets its own
 * before registering the table. */
extern const net_param net_service_params[];

typedef struct net_service_stats {
    uint64_t connections;     /* accepted */
    uint64_t rejected;        /* refused: maxclients */
    uint64_t net_in, net_out; /* bytes */
    uint64_t output_limit_kills;
    uint64_t timeouts;
} net_service_stats;

struct net_service {
    net_loop *loop;
    const net_proto *proto;
    void *arg; /* the protocol's server */
    const net_service_config *cfg;
    const net_logger *log;
    int listen_fd[NET_MAX_BINDS];
    net_watch *listen_watch[NET_MAX_BINDS];
    int listener_count;
    int port;    /* the port actually bound */
    int closing; /* no new connections */

    net_conn *conns; /* every connection, newest first */
    uint64_t conn_count;
    uint64_t next_id;
    net_conn **flush; /* have output to send */
    size_t flush_len, flush_cap;
    net_timer *second;
    net_service_stats stats;
};

/* Set up a service on loop (no sockets yet); 0 or -ENOMEM. cfg and log are
 * read while serving and must outlive the service. */
int net_service_init(net_service *svc, net_loop *loop, const net_proto *proto, void *arg,
                     const net_service_config *cfg, const net_logger *log);
/* Close every connection (close hooks run) and listener. */
void net_service_free(net_service *svc);
/* Listen on every cfg->bind at cfg->port; svc->port is the port bound
 * (the first listener's if cfg->port is 0: every bind then shares it). 0, or
 * -1 (logged; listeners opened so far stay until net_service_free). */
int net_service_listen(net_service *svc);
/* Stop accepting: close the listeners. */
void net_service_close_listeners(net_service *svc);
/* Connect to host:port without blocking; the accept hook runs once
 * connected, the close hook if it fails (c->error says why). udata is set
 * before either. 0 with *out, or -1 (logged). */
int net_service_connect(net_service *svc, const char *host, int port, void *udata, net_conn **out);
/* Send what is pending on every connection marked for flushing. */
void net_service_flush(net_service *svc);

/* Mark c's output to be sent by the next net_service_flush(). */
void net_conn_mark_flush(net_conn *c);
/* Send c's pending output now, as far as the socket takes it (C2, C3).
 * 0, or -1 if the connection is closing (its output is then dropped). */
int net_conn_flush(net_conn *c);
/* Close: at once (flush_first 0: pending output is dropped) or once the
 * output is sent. The close hook runs and c is freed before the loop
 * sleeps (C1). */
void net_conn_close(net_conn *c, int flush_first);
/* 1 if the unsent output is over NET_OUT_BACKPRESSURE: do not run more of
 * its requests until it drained (the input hook is called again then). */
int net_conn_backpressured(const net_conn *c);
/* Bytes of input not consumed yet. */
static inline size_t net_conn_pending_input(const net_conn *c)
{
    return c->in_len - c->in_start;
}

#endif /* FFDB_NET_CONN_H */
