/*
 * ev_epoll.c — the epoll event backend (the interface is ev.h).
 *
 * Level-triggered, so the loop may leave input unread for the next iteration
 * (fairness, back-pressure) and still be woken for it. The backend keeps a
 * scratch array for epoll_wait and nothing else; the loop owns every socket.
 */
#include "modules/net/ev.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct net_ev_backend {
    int epfd;
    struct epoll_event *events;
    int cap;
};

static int ep_create(net_ev_backend **out, int size_hint)
{
    net_ev_backend *b = calloc(1, sizeof(*b));

    if (!b)
        return -ENOMEM;
    b->cap = size_hint > 16 ? size_hint : 16;
    b->events = calloc((size_t)b->cap, sizeof(*b->events));
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!b->events || b->epfd < 0) {
        int err = b->epfd < 0 ? -errno : -ENOMEM;
        if (b->epfd >= 0)
            close(b->epfd);
        free(b->events);
        free(b);
        return err;
    }
    *out = b;
    return 0;
}

static void ep_destroy(net_ev_backend *b)
{
    if (!b)
        return;
    close(b->epfd);
    free(b->events);
    free(b);
}

static int ep_ctl(net_ev_backend *b, int op, int fd, unsigned events, void *data)
{
    struct epoll_event ev = {0};

    ev.events = (events & NET_EV_READ ? EPOLLIN : 0) | (events & NET_EV_WRITE ? EPOLLOUT : 0);
    ev.data.ptr = data;
    return epoll_ctl(b->epfd, op, fd, &ev) ? -errno : 0;
}

static int ep_add(net_ev_backend *b, int fd, unsigned events, void *data)
{
    return ep_ctl(b, EPOLL_CTL_ADD, fd, events, data);
}

static int ep_modify(net_ev_backend *b, int fd, unsigned events, void *data)
{
    return ep_ctl(b, EPOLL_CTL_MOD, fd, events, data);
}

static int ep_remove(net_ev_backend *b, int fd)
{
    struct epoll_event ev = {0};
    return epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd, &ev) ? -errno : 0;
}

static int ep_wait(net_ev_backend *b, net_ev_event *out, int max, int timeout_ms)
{
    int n;

    if (max > b->cap)
        max = b->cap;
    n = epoll_wait(b->epfd, b->events, max, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        unsigned e = b->events[i].events;
        out[i].data = b->events[i].data.ptr;
        out[i].events = (e & EPOLLIN ? NET_EV_READ : 0) | (e & EPOLLOUT ? NET_EV_WRITE : 0) |
                        (e & (EPOLLERR | EPOLLHUP) ? NET_EV_ERROR : 0);
    }
    return n;
}

static const net_ev_ops epoll_ops = {
    .name = "epoll",
    .create = ep_create,
    .destroy = ep_destroy,
    .add = ep_add,
    .modify = ep_modify,
    .remove = ep_remove,
    .wait = ep_wait,
};

const net_ev_ops *net_ev_epoll(void)
{
    return &epoll_ops;
}
