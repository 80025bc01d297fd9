/*
 * loop.c — the event loop (contract and invariants L1-L3 in loop.h): one
 * backend, the watches registered with it, the timers, the hooks.
 *
 * Timers are kept in an unordered array and the next one found by a scan:
 * a server has a handful (the sweeper, a per-second tick, a commit
 * deadline), and the scan costs less than keeping a heap in order as they
 * are re-armed every iteration. Removed watches and cancelled timers are
 * freed only where no walk can still reach them (L1, L2).
 */
#include "modules/net/loop.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MAX_EVENTS 1024
#define NEVER INT64_MAX

struct net_watch {
    net_loop *loop;
    int fd;
    unsigned events;
    net_watch_fn fn;
    void *arg;
    int dead;               /* removed: not called again (L1) */
    struct net_watch *next; /* on the loop's list of removed watches */
};

struct net_timer {
    net_loop *loop;
    int64_t due_us; /* NEVER: a one-shot that fired */
    int64_t period_us;
    net_timer_fn fn;
    void *arg;
    int dead; /* cancelled: freed at the end of the timer pass (L2) */
};

struct net_hook {
    net_hook_fn fn;
    void *arg;
};

struct net_loop {
    const net_ev_ops *ev;
    net_ev_backend *evb;
    net_clock clock;
    const net_sock_ops *sock;
    net_ev_event *events;
    int max_events;
    net_watch *removed; /* freed after the dispatch round (L1) */
    net_timer **timers;
    size_t timer_count, timer_cap;
    int timers_running;
    struct net_hook hooks[2][NET_MAX_HOOKS];
    int hook_count[2];
    int64_t wake_us; /* the next wait ends by then; NEVER = no request */
    int stopped;
};

/* ---- the system clock ----------------------------------------------------------------- */

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t sys_mono_us(void *arg)
{
    (void)arg;
    return clock_us(CLOCK_MONOTONIC);
}

static int64_t sys_wall_us(void *arg)
{
    (void)arg;
    return clock_us(CLOCK_REALTIME);
}

static const net_clock system_clock = {sys_mono_us, sys_wall_us, NULL};

const net_clock *net_clock_system(void)
{
    return &system_clock;
}

int64_t net_loop_mono_us(const net_loop *l)
{
    return l->clock.mono_us(l->clock.arg);
}

int64_t net_loop_mono_ms(const net_loop *l)
{
    return net_loop_mono_us(l) / 1000;
}

int64_t net_loop_wall_ms(const net_loop *l)
{
    return l->clock.wall_us(l->clock.arg) / 1000;
}

const net_sock_ops *net_loop_sock(const net_loop *l)
{
    return l->sock;
}

const char *net_loop_backend(const net_loop *l)
{
    return l->ev->name;
}

/* ---- the loop ---------------------------------------------------------------------------- */

int net_loop_new(const net_loop_options *opt, net_loop **out)
{
    net_loop *l = calloc(1, sizeof(*l));
    int rc;

    *out = NULL;
    if (!l)
        return -ENOMEM;
    l->ev = opt && opt->backend ? opt->backend : net_ev_epoll();
    l->clock = opt && opt->clock ? *opt->clock : system_clock;
    l->sock = opt && opt->sock ? opt->sock : net_sock_posix();
    l->max_events = opt && opt->max_events > 0 ? opt->max_events : DEFAULT_MAX_EVENTS;
    l->wake_us = NEVER;
    l->events = calloc((size_t)l->max_events, sizeof(*l->events));
    if (!l->events) {
        free(l);
        return -ENOMEM;
    }
    rc = l->ev->create(&l->evb, l->max_events);
    if (rc) {
        free(l->events);
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

static void free_removed(net_loop *l)
{
    while (l->removed) {
        net_watch *w = l->removed;
        l->removed = w->next;
        free(w);
    }
}

void net_loop_free(net_loop *l)
{
    if (!l)
        return;
    free_removed(l);
    for (size_t i = 0; i < l->timer_count; i++)
        free(l->timers[i]);
    free(l->timers);
    l->ev->destroy(l->evb);
    free(l->events);
    free(l);
}

void net_loop_stop(net_loop *l)
{
    l->stopped = 1;
}

void net_loop_wake_by(net_loop *l, int64_t mono_ms)
{
    int64_t us = mono_ms * 1000;
    if (us < l->wake_us)
        l->wake_us = us;
}

int net_loop_poll(net_loop *l, int timeout_ms)
{
    int n = l->ev->wait(l->evb, l->events, l->max_events, timeout_ms);

    for (int i = 0; i < n; i++) {
        net_watch *w = l->events[i].data;
        if (!w->dead)
            w->fn(w, l->events[i].events, w->arg);
    }
    free_removed(l);
    return n;
}

/* ---- watches ------------------------------------------------------------------------------- */

net_watch *net_watch_add(net_loop *l, int fd, unsigned events, net_watch_fn fn, void *arg)
{
    net_watch *w = calloc(1, sizeof(*w));

    assert(fd >= 0 && fn);
    if (!w)
        return NULL;
    w->loop = l;
    w->fd = fd;
    w->events = events;
    w->fn = fn;
    w->arg = arg;
    if (l->ev->add(l->evb, fd, events, w)) {
        free(w);
        return NULL;
    }
    return w;
}

int net_watch_set(net_watch *w, unsigned events)
{
    int rc;

    assert(!w->dead);
    if (events == w->events)
        return 0;
    rc = w->loop->ev->modify(w->loop->evb, w->fd, events, w);
    if (rc == 0)
        w->events = events;
    return rc;
}

unsigned net_watch_events(const net_watch *w)
{
    return w->events;
}

int net_watch_fd(const net_watch *w)
{
    return w->fd;
}

void net_watch_del(net_watch *w)
{
    if (!w)
        return;
    assert(!w->dead);
    w->loop->ev->remove(w->loop->evb, w->fd);
    w->dead = 1;
    w->next = w->loop->removed;
    w->loop->removed = w;
}

/* ---- timers --------------------------------------------------------------------------------- */

net_timer *net_timer_add(net_loop *l, int64_t delay_ms, int64_t period_ms, net_timer_fn fn,
                         void *arg)
{
    net_timer *t;

    assert(fn && (delay_ms >= 0 || delay_ms == NET_TIMER_UNARMED) && period_ms >= 0);
    if (l->timer_count == l->timer_cap) {
        size_t cap = l->timer_cap ? l->timer_cap * 2 : 8;
        net_timer **v = realloc(l->timers, cap * sizeof(*v));
        if (!v)
            return NULL;
        l->timers = v;
        l->timer_cap = cap;
    }
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->loop = l;
    t->fn = fn;
    t->arg = arg;
    t->period_us = period_ms * 1000;
    t->due_us = delay_ms == NET_TIMER_UNARMED ? NEVER : net_loop_mono_us(l) + delay_ms * 1000;
    l->timers[l->timer_count++] = t;
    return t;
}

void net_timer_again(net_timer *t, int64_t delay_ms)
{
    assert(!t->dead && delay_ms >= 0);
    t->due_us = net_loop_mono_us(t->loop) + delay_ms * 1000;
}

int net_timer_armed(const net_timer *t)
{
    return !t->dead && t->due_us != NEVER;
}

static void timer_remove_dead(net_loop *l)
{
    size_t keep = 0;

    for (size_t i = 0; i < l->timer_count; i++) {
        if (l->timers[i]->dead)
            free(l->timers[i]);
        else
            l->timers[keep++] = l->timers[i];
    }
    l->timer_count = keep;
}

void net_timer_cancel(net_timer *t)
{
    if (!t)
        return;
    t->dead = 1;
    t->due_us = NEVER;
    if (!t->loop->timers_running)
        timer_remove_dead(t->loop);
}

static void run_timers(net_loop *l)
{
    int64_t now = net_loop_mono_us(l);

    l->timers_running = 1;
    /* Timers added by a callback wait for the next pass (count fixed). */
    for (size_t i = 0, n = l->timer_count; i < n; i++) {
        net_timer *t = l->timers[i];
        if (t->dead || t->due_us > now)
            continue;
        if (t->period_us) {
            t->due_us += t->period_us;
            if (t->due_us <= now) /* fell behind: no burst of catch-up calls */
                t->due_us = now + t->period_us;
        } else {
            t->due_us = NEVER;
        }
        t->fn(t, t->arg);
    }
    l->timers_running = 0;
    timer_remove_dead(l);
}

/* ---- iterations ------------------------------------------------------------------------------ */

/* Milliseconds until the earliest deadline (rounded up, so a wait never
 * ends just before a timer is due), -1 if there is none. */
static int wait_timeout(net_loop *l, int max_wait_ms)
{
    int64_t now = net_loop_mono_us(l), deadline = l->wake_us, ms;

    for (size_t i = 0; i < l->timer_count; i++)
        if (l->timers[i]->due_us < deadline)
            deadline = l->timers[i]->due_us;
    if (max_wait_ms >= 0 && now + (int64_t)max_wait_ms * 1000 < deadline)
        return max_wait_ms;
    if (deadline == NEVER)
        return -1;
    if (deadline <= now)
        return 0;
    ms = (deadline - now + 999) / 1000;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static void run_hooks(net_loop *l, int when, int nevents)
{
    for (int i = 0; i < l->hook_count[when]; i++)
        l->hooks[when][i].fn(l, nevents, l->hooks[when][i].arg);
}

int net_hook_add(net_loop *l, int when, net_hook_fn fn, void *arg)
{
    assert(when == NET_HOOK_AFTER_EVENTS || when == NET_HOOK_BEFORE_SLEEP);
    if (l->hook_count[when] == NET_MAX_HOOKS)
        return -1;
    l->hooks[when][l->hook_count[when]].fn = fn;
    l->hooks[when][l->hook_count[when]].arg = arg;
    l->hook_count[when]++;
    return 0;
}

int net_loop_run_once(net_loop *l, int max_wait_ms)
{
    int timeout = wait_timeout(l, max_wait_ms), n;

    l->wake_us = NEVER; /* a wake request holds for one wait */
    n = net_loop_poll(l, timeout);
    if (n < 0)
        return n;
    run_hooks(l, NET_HOOK_AFTER_EVENTS, n);
    run_timers(l);
    run_hooks(l, NET_HOOK_BEFORE_SLEEP, n);
    return n;
}

int net_loop_run(net_loop *l)
{
    l->stopped = 0;
    while (!l->stopped) {
        int n = net_loop_run_once(l, -1);
        if (n < 0)
            return n;
    }
    return 0;
}
