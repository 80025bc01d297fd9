/*
 * ev.h — the event backend of ffdb-server: readiness of sockets behind a
 * small table of operations, so the loop in server.c does not care whether
 * epoll (ev_epoll.c, the default) or another mechanism (an io_uring poll
 * backend, later) is underneath.
 *
 * The loop registers each socket once with the events it wants (readable,
 * writable), changes the mask as output piles up or drains, and removes it
 * before closing the socket. wait() fills an array of ready events and
 * returns how many. Level-triggered semantics: a socket stays ready while
 * data is unread or buffer space is free, so the loop may leave bytes for
 * the next iteration (fairness, back-pressure) without losing a wakeup.
 *
 * Every function returns 0 (wait: a count >= 0) or -errno. Single-threaded:
 * the loop thread owns its backend.
 */
#ifndef FFDB_NET_EV_H
#define FFDB_NET_EV_H

enum { EV_READ = 1u, EV_WRITE = 2u, EV_ERROR = 4u /* reported only: hang-up or error */ };

typedef struct ev_event {
    void *data;      /* what was registered with the socket */
    unsigned events; /* EV_READ | EV_WRITE | EV_ERROR */
} ev_event;

typedef struct ev_backend ev_backend;

typedef struct ev_ops {
    const char *name; /* "epoll" */
    int (*create)(ev_backend **b, int size_hint);
    void (*destroy)(ev_backend *b);
    int (*add)(ev_backend *b, int fd, unsigned events, void *data);
    int (*modify)(ev_backend *b, int fd, unsigned events, void *data);
    int (*remove)(ev_backend *b, int fd);
    /* Wait up to timeout_ms (-1 = forever, 0 = poll) for at most max events.
     * An interrupted wait (signal) returns 0 events, not an error. */
    int (*wait)(ev_backend *b, ev_event *out, int max, int timeout_ms);
} ev_ops;

/* The epoll backend (ev_epoll.c). */
const ev_ops *ev_epoll_ops(void);

#endif /* FFDB_NET_EV_H */
