/*
 * uvhost.c — libuv (libraft's I/O backend) hosted on the net loop, so a
 * node has one loop (modules/net/README.md, "Hosting foreign event
 * sources"): the backend descriptor is a read watch, uv_run(UV_RUN_NOWAIT)
 * runs when it is ready and after every iteration's events (libuv's due
 * timers), and the net loop never sleeps past uv_backend_timeout(). Must
 * never call uv_run in a mode that blocks.
 */
#include <assert.h>
#include <stdlib.h>

#include "modules/raft/raft.h"

struct rf_uv_host {
    net_loop *loop;
    uv_loop_t uv;
    net_watch *watch;
    int closed;
    struct rf_uv_host *next_retired;
};

/* Hosts freed while their hooks may still run (net has no hook removal):
 * kept closed here, reachable, so a loop iteration after rf_uv_host_free —
 * ffdb-server stopping because rf_node_new failed on a taken port — reads a
 * closed host instead of freed memory (ASan found it in test_cluster). */
static rf_uv_host *retired;

static void run_nowait(rf_uv_host *h)
{
    if (!h->closed)
        uv_run(&h->uv, UV_RUN_NOWAIT);
}

static void on_ready(net_watch *w, unsigned events, void *arg)
{
    (void)w;
    (void)events;
    run_nowait(arg);
}

static void after_events(net_loop *l, int nevents, void *arg)
{
    (void)l;
    (void)nevents;
    run_nowait(arg);
}

static void before_sleep(net_loop *l, int nevents, void *arg)
{
    rf_uv_host *h = arg;
    (void)nevents;
    if (h->closed || !uv_loop_alive(&h->uv))
        return;
    int t = uv_backend_timeout(&h->uv);
    if (t >= 0)
        net_loop_wake_by(l, net_loop_mono_ms(l) + t);
}

int rf_uv_host_new(net_loop *l, rf_uv_host **out)
{
    rf_uv_host *h = calloc(1, sizeof *h);
    if (!h)
        return FFDB_ENOMEM;
    h->loop = l;
    int rc = uv_loop_init(&h->uv);
    if (rc) {
        free(h);
        return rc;
    }
    h->watch = net_watch_add(l, uv_backend_fd(&h->uv), NET_EV_READ, on_ready, h);
    if (!h->watch || net_hook_add(l, NET_HOOK_AFTER_EVENTS, after_events, h) ||
        net_hook_add(l, NET_HOOK_BEFORE_SLEEP, before_sleep, h)) {
        /* A hook that was added stays: it sees closed and does nothing. */
        net_watch_del(h->watch);
        h->watch = NULL;
        h->closed = 1;
        uv_loop_close(&h->uv);
        h->next_retired = retired;
        retired = h;
        return FFDB_ENOMEM;
    }
    /* The first wait may come before any before-sleep hook has run: make
     * it a poll, so handles started before it are seen. */
    net_loop_wake_by(l, 0);
    *out = h;
    return 0;
}

uv_loop_t *rf_uv_loop(rf_uv_host *h)
{
    return &h->uv;
}

void rf_uv_host_free(rf_uv_host *h)
{
    if (!h)
        return;
    /* Closed handles finish their close callbacks in a few rounds. */
    for (int i = 0; i < 1000 && uv_run(&h->uv, UV_RUN_NOWAIT); i++) {
    }
    net_watch_del(h->watch);
    h->watch = NULL;
    h->closed = 1;
    uv_loop_close(&h->uv);
    /* The hooks still point here (net has no hook removal): retired, not freed. */
    h->next_retired = retired;
    retired = h;
}
