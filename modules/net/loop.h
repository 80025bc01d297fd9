/*
 * loop.h — the one event loop of every network module: watches on file
 * descriptors, timers, per-iteration hooks, a clock seam and a socket seam.
 * Connections (conn.h) and the batch-commit helper (batch.h) are built on
 * it; a foreign library with its own descriptors (a NATS client, libuv's
 * backend fd, libmicrohttpd under external polling) is hosted by watching
 * its descriptors and asking for a wakeup by its deadline (README.md).
 *
 * One iteration (net_loop_run_once):
 *
 *   1. wait for events, at most until the earliest of: the next timer, a
 *      deadline asked for with net_loop_wake_by() since the last wait, the
 *      caller's max_wait_ms (forever if none);
 *   2. call each ready watch's callback;
 *   3. call the NET_HOOK_AFTER_EVENTS hooks (in registration order) with the
 *      number of events of step 1 — a protocol's batch phase runs here;
 *   4. run the timers that are due;
 *   5. call the NET_HOOK_BEFORE_SLEEP hooks (closed connections are freed
 *      here; a module that has work left asks for net_loop_wake_by(now)).
 *
 * Invariants:
 *   L1. A watch removed with net_watch_del() is never called again, even for
 *       an event already returned by the same wait: its memory lives until
 *       the dispatch round is over.
 *   L2. A timer lives until net_timer_cancel(); a one-shot timer that fired
 *       sleeps until net_timer_again(). A cancelled timer never fires again,
 *       even later in the same pass.
 *   L3. Time comes only from the loop's clock (net_loop_mono_ms, ...), so a
 *       test with a fake clock sees every timer decision deterministically.
 *
 * Threading: a loop and everything attached to it belong to one thread.
 * net_loop_stop() may be called from a callback; nothing here is
 * async-signal-safe (a signal handler sets a flag the module checks in its
 * hook: an interrupted wait returns with 0 events).
 */
#ifndef FFDB_NET_LOOP_H
#define FFDB_NET_LOOP_H

#include <stdint.h>

#include "modules/net/ev.h"
#include "modules/net/sock.h"

typedef struct net_loop net_loop;
typedef struct net_watch net_watch;
typedef struct net_timer net_timer;

/* The clock seam: monotonic time for timers and intervals, wall time for
 * what users see (expiry, CLIENT LIST ages). Both in microseconds. */
typedef struct net_clock {
    int64_t (*mono_us)(void *arg);
    int64_t (*wall_us)(void *arg);
    void *arg;
} net_clock;

/* CLOCK_MONOTONIC and CLOCK_REALTIME. */
const net_clock *net_clock_system(void);

typedef void (*net_watch_fn)(net_watch *w, unsigned events, void *arg); /* NET_EV_... */
typedef void (*net_timer_fn)(net_timer *t, void *arg);
typedef void (*net_hook_fn)(net_loop *l, int nevents, void *arg);

enum { NET_HOOK_AFTER_EVENTS = 0, NET_HOOK_BEFORE_SLEEP = 1 };
#define NET_MAX_HOOKS 8 /* per kind */

typedef struct net_loop_options {
    const net_ev_ops *backend; /* NULL: epoll */
    const net_clock *clock;    /* NULL: the system clock */
    const net_sock_ops *sock;  /* NULL: the POSIX calls */
    int max_events;            /* events per wait; 0: 1024 */
} net_loop_options;

/* 0, or -errno (the backend could not be created, out of memory). */
int net_loop_new(const net_loop_options *opt, net_loop **out);
/* Frees the loop, its timers and watches (not the descriptors). */
void net_loop_free(net_loop *l);

/* One iteration (steps 1-5 above); max_wait_ms < 0 waits as long as nothing
 * is due. Returns the number of events, or -errno if the wait failed. */
int net_loop_run_once(net_loop *l, int max_wait_ms);
/* Iterate until net_loop_stop(); 0, or -errno of a failed wait. */
int net_loop_run(net_loop *l);
void net_loop_stop(net_loop *l);
/* Steps 1-2 only, waiting at most timeout_ms: a module that wants more
 * events before its batch runs (group commit gathering). The number of
 * events, or -errno. */
int net_loop_poll(net_loop *l, int timeout_ms);
/* The next wait ends no later than mono_ms (the loop's monotonic clock);
 * net_loop_wake_by(l, 0) makes it a poll. Holds for one wait. */
void net_loop_wake_by(net_loop *l, int64_t mono_ms);

/* Watch fd for events (NET_EV_READ | NET_EV_WRITE); NULL if the backend
 * refused it or out of memory. The loop never closes fd. */
net_watch *net_watch_add(net_loop *l, int fd, unsigned events, net_watch_fn fn, void *arg);
/* Change the events watched; 0 or -errno. */
int net_watch_set(net_watch *w, unsigned events);
unsigned net_watch_events(const net_watch *w);
int net_watch_fd(const net_watch *w);
/* Stop watching (before closing the fd); see L1. NULL is a no-op. */
void net_watch_del(net_watch *w);

/* A timer firing after delay_ms (NET_TIMER_UNARMED: not until
 * net_timer_again), then every period_ms (0: once); NULL if out of memory. */
#define NET_TIMER_UNARMED (-1)
net_timer *net_timer_add(net_loop *l, int64_t delay_ms, int64_t period_ms, net_timer_fn fn,
                         void *arg);
/* Fire next after delay_ms from now (also re-arms a one-shot that fired). */
void net_timer_again(net_timer *t, int64_t delay_ms);
/* 1 if the timer will fire (armed), 0 if it is a one-shot that fired. */
int net_timer_armed(const net_timer *t);
/* See L2. Safe inside its own callback; NULL is a no-op. */
void net_timer_cancel(net_timer *t);

/* Call fn at every iteration (when: NET_HOOK_...); 0, or -1 if NET_MAX_HOOKS
 * hooks of that kind are registered already. */
int net_hook_add(net_loop *l, int when, net_hook_fn fn, void *arg);

/* The loop's clock (L3). */
int64_t net_loop_mono_us(const net_loop *l);
int64_t net_loop_mono_ms(const net_loop *l);
int64_t net_loop_wall_ms(const net_loop *l);
/* The socket seam every connection of this loop goes through. */
const net_sock_ops *net_loop_sock(const net_loop *l);
/* The backend's name ("epoll"). */
const char *net_loop_backend(const net_loop *l);

#endif /* FFDB_NET_LOOP_H */
