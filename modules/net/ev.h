/*
 * ev.h — the event backend of the loop (loop.c): readiness of file
 * descriptors behind a small table of operations, so the loop does not care
 * whether epoll (ev_epoll.c, the default) or another mechanism is underneath.
 * Nothing but loop.c calls these; modules use loop.h's watches.
 *
 * The loop registers each descriptor once with the events it wants
 * (readable, writable), changes the mask as output piles up or drains, and
 * removes it before the descriptor is closed. wait() fills an array of ready
 * events and returns how many. Level-triggered semantics: a descriptor stays
 * ready while data is unread or buffer space is free, so a module may leave
 * bytes for the next iteration (fairness, back-pressure) without losing a
 * wakeup.
 *
 * Every function returns 0 (wait: a count >= 0) or -errno. Single-threaded:
 * the loop thread owns its backend.
 */
#ifndef FFDB_NET_EV_H
#define FFDB_NET_EV_H

enum {
    NET_EV_READ = 1u,
    NET_EV_WRITE = 2u,
    NET_EV_ERROR = 4u /* reported only: hang-up or error */
};

typedef struct net_ev_event {
    void *data;      /* what was registered with the socket */
    unsigned events; /* NET_EV_READ | NET_EV_WRITE | NET_EV_ERROR */
} net_ev_event;

typedef struct net_ev_backend net_ev_backend;

typedef struct net_ev_ops {
    const char *name; /* "epoll" */
    int (*create)(net_ev_backend **b, int size_hint);
    void (*destroy)(net_ev_backend *b);
    int (*add)(net_ev_backend *b, int fd, unsigned events, void *data);
    int (*modify)(net_ev_backend *b, int fd, unsigned events, void *data);
    int (*remove)(net_ev_backend *b, int fd);
    /* Wait up to timeout_ms (-1 = forever, 0 = poll) for at most max events.
     * An interrupted wait (signal) returns 0 events, not an error. */
    int (*wait)(net_ev_backend *b, net_ev_event *out, int max, int timeout_ms);
} net_ev_ops;

/* The epoll backend (ev_epoll.c). */
const net_ev_ops *net_ev_epoll(void);

#endif /* FFDB_NET_EV_H */
