/*
 * conn.c — services and connections (contract and invariants C1-C3 in
 * conn.h): listening, accepting (maxclients), connecting, reading into a
 * connection's input buffer, writing its output buffer, back-pressure, idle
 * timeouts, and freeing closed connections before the loop sleeps.
 *
 * It never parses: reading only appends bytes and calls the protocol's
 * input hook. Every socket call goes through the loop's socket seam.
 */
#include "modules/net/conn.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define READ_CHUNK (16u * 1024)    /* usual read size */
#define READ_MAX (1024u * 1024)    /* most read at once into a big message */
#define ACCEPTS_PER_TICK 1000      /* accepts per wakeup (fairness) */
#define IN_KEEP_BYTES (64u * 1024) /* input buffer kept between messages */
#define CONN_HOOKED (1u << 31)     /* the protocol knows it: its close hook runs */

/* ---- parameters ---------------------------------------------------------------------------- */

static int set_bind(void *base, const char *v, int startup, char *err, size_t errlen)
{
    net_service_config *cfg = base;
    char copy[NET_MAX_BINDS * 64], *save = NULL, *tok;
    int n = 0;

    (void)startup;
    snprintf(copy, sizeof(copy), "%s", v);
    for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (n == NET_MAX_BINDS || strlen(tok) >= sizeof(cfg->bind[0])) {
            snprintf(err, errlen, "too many bind addresses or one too long");
            return -1;
        }
        strcpy(cfg->bind[n++], tok[0] == '-' ? tok + 1 : tok); /* "-::1": optional in Redis */
    }
    if (n == 0) {
        snprintf(err, errlen, "bind needs at least one address");
        return -1;
    }
    cfg->bind_count = n;
    return 0;
}

static void get_bind(const void *base, char *buf, size_t cap)
{
    const net_service_config *cfg = base;
    size_t n = 0;

    buf[0] = '\0';
    for (int i = 0; i < cfg->bind_count && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? " " : "", cfg->bind[i]);
}

const net_param net_service_params[] = {
    {.name = "bind",
     .type = NET_PARAM_CUSTOM,
     .def = "127.0.0.1",
     .flags = NET_PARAM_STARTUP,
     .set = set_bind,
     .get = get_bind,
     .help = "addresses to listen on (\"*\": every one)"},
    {.name = "port",
     .type = NET_PARAM_INT,
     .offset = offsetof(net_service_config, port),
     .min = 0,
     .max = 65535,
     .flags = NET_PARAM_STARTUP, /* no default: the program's */
     .bad = "argument couldn't be parsed into an integer",
     .help = "TCP port (0: any free port, logged)"},
    {.name = "maxclients",
     .type = NET_PARAM_INT,
     .offset = offsetof(net_service_config, maxclients),
     .min = 1,
     .max = 1000000,
     .def = "10000",
     .bad = "argument must be between 1 and 1000000 inclusive",
     .help = "connections served at once; more are refused"},
    {.name = "timeout",
     .type = NET_PARAM_INT,
     .offset = offsetof(net_service_config, timeout_s),
     .min = 0,
     .max = INT32_MAX,
     .def = "0",
     .bad = "argument couldn't be parsed into an integer",
     .help = "seconds after which an idle client is closed (0: never)"},
    {.name = NULL},
};

/* ---- connections ------------------------------------------------------------------------------
 */

static void on_conn_event(net_watch *w, unsigned events, void *arg);

static net_conn *conn_new(net_service *svc, int fd, const struct sockaddr_storage *peer)
{
    net_conn *c = calloc(1, sizeof(*c));
    struct sockaddr_storage local;
    socklen_t len = sizeof(local);

    if (!c)
        return NULL;
    c->svc = svc;
    c->fd = fd;
    c->id = ++svc->next_id;
    net_addr_text(peer, c->addr, sizeof(c->addr));
    if (getsockname(fd, (struct sockaddr *)&local, &len) == 0)
        net_addr_text(&local, c->laddr, sizeof(c->laddr));
    c->created_ms = c->last_ms = net_loop_wall_ms(svc->loop);
    net_buf_init(&c->out, svc->cfg->outbuf_limit);
    return c;
}

/* Register c with the loop and the service; 0, or -1 (c not linked). */
static int conn_link(net_service *svc, net_conn *c, unsigned events)
{
    c->watch = net_watch_add(svc->loop, c->fd, events, on_conn_event, c);
    if (!c->watch)
        return -1;
    c->next = svc->conns;
    if (svc->conns)
        svc->conns->prev = c;
    svc->conns = c;
    svc->conn_count++;
    return 0;
}

static void conn_free(net_conn *c)
{
    net_service *svc = c->svc;

    if (c->flags & NET_CONN_FLUSH)
        for (size_t i = 0; i < svc->flush_len; i++)
            if (svc->flush[i] == c) {
                svc->flush[i] = svc->flush[--svc->flush_len];
                break;
            }
    net_watch_del(c->watch);
    net_loop_sock(svc->loop)->close(net_loop_sock(svc->loop)->arg, c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        svc->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    svc->conn_count--;
    free(c->in);
    net_buf_free(&c->out);
    free(c);
}

/* Close hook, then free (C1: only from reap() and net_service_free). */
static void conn_destroy(net_conn *c)
{
    if (c->svc->proto->close && (c->flags & CONN_HOOKED))
        c->svc->proto->close(c);
    conn_free(c);
}

void net_conn_close(net_conn *c, int flush_first)
{
    c->flags |= flush_first ? NET_CONN_CLOSE_AFTER : NET_CONN_CLOSE_ASAP;
    if (flush_first)
        net_conn_mark_flush(c);
}

int net_conn_backpressured(const net_conn *c)
{
    return net_buf_pending(&c->out) > NET_OUT_BACKPRESSURE;
}

static uint64_t wanted(const net_conn *c)
{
    net_conn *m = (net_conn *)c;
    return c->svc->proto->want ? c->svc->proto->want(m, net_conn_pending_input(c)) : 0;
}

/* The events c waits for now: reading unless back-pressured or closing,
 * writing while the socket was full. */
static void update_events(net_conn *c)
{
    unsigned want = 0;

    if (c->flags & NET_CONN_CLOSE_ASAP)
        return;
    if (net_conn_backpressured(c) ||
        (net_conn_pending_input(c) > NET_IN_BACKLOG && wanted(c) == 0) ||
        (c->flags & NET_CONN_CLOSE_AFTER))
        c->flags |= NET_CONN_NO_READ;
    else
        c->flags &= ~NET_CONN_NO_READ;
    if (!(c->flags & NET_CONN_NO_READ))
        want |= NET_EV_READ;
    if (c->flags & (NET_CONN_WANT_WRITE | NET_CONN_CONNECTING))
        want |= NET_EV_WRITE;
    net_watch_set(c->watch, want);
}

/* Move the unconsumed input to the front of the buffer, and give back the
 * memory of a big message once it is consumed (a 512 MiB SET must not pin
 * 512 MiB for the connection's life). */
static void in_compact(net_conn *c)
{
    if (c->in_start == c->in_len && c->in_cap > IN_KEEP_BYTES) {
        free(c->in);
        c->in = NULL;
        c->in_cap = c->in_len = c->in_start = 0;
    }
    if (c->in_start == 0)
        return;
    memmove(c->in, c->in + c->in_start, c->in_len - c->in_start);
    c->in_len -= c->in_start;
    c->in_start = 0;
}

static int in_reserve(net_conn *c, size_t want)
{
    size_t cap = c->in_cap ? c->in_cap : READ_CHUNK;
    char *p;

    if (c->in_cap - c->in_len >= want)
        return 0;
    while (cap - c->in_len < want)
        cap *= 2;
    p = realloc(c->in, cap);
    if (!p)
        return -1;
    c->in = p;
    c->in_cap = cap;
    return 0;
}

static void conn_read(net_conn *c)
{
    const net_sock_ops *so = net_loop_sock(c->svc->loop);
    uint64_t hint;
    size_t want;
    ssize_t n;

    if (c->flags & (NET_CONN_CLOSE_ASAP | NET_CONN_CLOSE_AFTER | NET_CONN_NO_READ))
        return;
    in_compact(c);
    hint = wanted(c);
    want = hint > READ_CHUNK ? (hint < READ_MAX ? (size_t)hint : READ_MAX) : READ_CHUNK;
    if (in_reserve(c, want)) {
        net_log(c->svc->log, NET_LOG_WARNING, "out of memory reading from client %llu",
                (unsigned long long)c->id);
        c->flags |= NET_CONN_CLOSE_ASAP;
        return;
    }
    n = so->read(so->arg, c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (n < 0) {
        if (n != -EAGAIN && n != -EWOULDBLOCK && n != -EINTR) {
            c->error = (int)n;
            c->flags |= NET_CONN_CLOSE_ASAP;
        }
        return;
    }
    if (n == 0) {
        c->flags |= NET_CONN_CLOSE_ASAP; /* the peer closed */
        return;
    }
    c->in_len += (size_t)n;
    c->svc->stats.net_in += (uint64_t)n;
    c->last_ms = net_loop_wall_ms(c->svc->loop);
    c->svc->proto->input(c);
}

/* Drained below the back-pressure mark with input waiting: requests it
 * sent while we held it back must run now, even if it sends nothing more. */
static void after_write(net_conn *c)
{
    if (!(c->flags & NET_CONN_CLOSE_ASAP) && !net_conn_backpressured(c) &&
        net_conn_pending_input(c) > 0)
        c->svc->proto->input(c);
}

int net_conn_flush(net_conn *c)
{
    const net_sock_ops *so = net_loop_sock(c->svc->loop);
    net_buf *b = &c->out;

    assert(!(c->flags & NET_CONN_IN_BATCH)); /* C3 */
    if (c->flags & (NET_CONN_CLOSE_ASAP | NET_CONN_CONNECTING))
        return (c->flags & NET_CONN_CLOSE_ASAP) ? -1 : 0;
    if (b->overflow) {
        net_log(c->svc->log, NET_LOG_NOTICE, "client %llu (%s) closed: output buffer limit reached",
                (unsigned long long)c->id, c->addr);
        c->svc->stats.output_limit_kills++;
        c->flags |= NET_CONN_CLOSE_ASAP;
        return -1;
    }
    while (net_buf_sendable(b) > 0) { /* C2: never past out.hold */
        ssize_t n = so->write(so->arg, c->fd, b->data + b->sent, net_buf_sendable(b));
        if (n == -EINTR)
            continue;
        if (n == -EAGAIN || n == -EWOULDBLOCK) {
            c->flags |= NET_CONN_WANT_WRITE;
            update_events(c);
            return 0;
        }
        if (n < 0) {
            c->error = (int)n;
            c->flags |= NET_CONN_CLOSE_ASAP;
            return -1;
        }
        b->sent += (size_t)n;
        c->svc->stats.net_out += (uint64_t)n;
    }
    net_buf_compact(b);
    c->flags &= ~NET_CONN_WANT_WRITE;
    if ((c->flags & NET_CONN_CLOSE_AFTER) && b->sent == b->len) {
        c->flags |= NET_CONN_CLOSE_ASAP;
        return -1;
    }
    update_events(c);
    return 0;
}

void net_conn_mark_flush(net_conn *c)
{
    net_service *svc = c->svc;

    if (c->flags & NET_CONN_FLUSH)
        return;
    if (svc->flush_len == svc->flush_cap) {
        size_t cap = svc->flush_cap ? svc->flush_cap * 2 : 64;
        net_conn **p = realloc(svc->flush, cap * sizeof(*p));
        if (!p)
            return; /* sent when the socket next becomes writable or at the next flush */
        svc->flush = p;
        svc->flush_cap = cap;
    }
    svc->flush[svc->flush_len++] = c;
    c->flags |= NET_CONN_FLUSH;
}

void net_service_flush(net_service *svc)
{
    for (size_t i = 0; i < svc->flush_len; i++) {
        net_conn *c = svc->flush[i];
        c->flags &= ~NET_CONN_FLUSH;
        if (net_conn_flush(c) == 0)
            after_write(c);
    }
    svc->flush_len = 0;
}

/* A non-blocking connect finished (writable or error). */
static void connect_done(net_conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    c->flags &= ~NET_CONN_CONNECTING;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0 &&
        (!c->svc->proto->accept || c->svc->proto->accept(c) == 0)) {
        struct sockaddr_storage local;
        len = sizeof(local);
        if (getsockname(c->fd, (struct sockaddr *)&local, &len) == 0)
            net_addr_text(&local, c->laddr, sizeof(c->laddr));
        update_events(c);
        return;
    }
    c->error = err ? -err : -ECONNREFUSED;
    c->flags |= NET_CONN_CLOSE_ASAP;
}

static void on_conn_event(net_watch *w, unsigned events, void *arg)
{
    net_conn *c = arg;

    (void)w;
    if (c->flags & NET_CONN_CONNECTING) {
        connect_done(c);
        return;
    }
    if (events & NET_EV_WRITE) {
        net_conn_flush(c);
        after_write(c);
    }
    if (events & NET_EV_ERROR) {
        /* Reset or hung up both ways: nothing can be sent any more, and a
         * level-triggered hang-up would wake us forever. */
        c->flags |= NET_CONN_CLOSE_ASAP;
        return;
    }
    if (events & NET_EV_READ)
        conn_read(c);
}

/* ---- accepting ----------------------------------------------------------------------------------
 */

static void reject(net_service *svc, int fd)
{
    const net_sock_ops *so = net_loop_sock(svc->loop);

    /* Best effort: the socket is new, its send buffer empty. */
    if (svc->proto->reject)
        so->write(so->arg, fd, svc->proto->reject, strlen(svc->proto->reject));
    so->close(so->arg, fd);
    svc->stats.rejected++;
}

static void accept_one(net_service *svc, int fd, const struct sockaddr_storage *sa)
{
    const net_sock_ops *so = net_loop_sock(svc->loop);
    net_conn *c;
    int one = 1;

    if (svc->closing) {
        so->close(so->arg, fd);
        return;
    }
    if (svc->conn_count >= (uint64_t)svc->cfg->maxclients) {
        reject(svc, fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c = conn_new(svc, fd, sa);
    if (!c || conn_link(svc, c, NET_EV_READ)) {
        free(c);
        so->close(so->arg, fd);
        return;
    }
    if (svc->proto->accept && svc->proto->accept(c)) {
        conn_free(c); /* refused: the protocol never knew it */
        return;
    }
    c->flags |= CONN_HOOKED;
    svc->stats.connections++;
}

static void on_listener(net_watch *w, unsigned events, void *arg)
{
    net_service *svc = arg;
    const net_sock_ops *so = net_loop_sock(svc->loop);

    (void)events;
    for (int i = 0; i < ACCEPTS_PER_TICK; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        int fd = so->accept(so->arg, net_watch_fd(w), &sa, &len);

        if (fd < 0) {
            /* Out of descriptors: say so once a second at most; the
             * connection waits in the backlog until one is free. */
            static int64_t last_log;
            int64_t now = net_loop_mono_ms(svc->loop);
            if (fd != -EAGAIN && fd != -EWOULDBLOCK && fd != -EINTR && now - last_log >= 1000) {
                last_log = now;
                net_log(svc->log, NET_LOG_WARNING, "accept: %s", strerror(-fd));
            }
            return;
        }
        accept_one(svc, fd, &sa);
    }
}

int net_service_listen(net_service *svc)
{
    svc->port = svc->cfg->port;
    for (int i = 0; i < svc->cfg->bind_count; i++) {
        char err[256];
        int bound = 0;
        int fd = net_listen_tcp(svc->cfg->bind[i], svc->port, &bound, err, sizeof(err));
        if (fd < 0) {
            net_log(svc->log, NET_LOG_WARNING, "%s", err);
            return -1;
        }
        svc->listen_watch[svc->listener_count] =
            net_watch_add(svc->loop, fd, NET_EV_READ, on_listener, svc);
        if (!svc->listen_watch[svc->listener_count]) {
            net_loop_sock(svc->loop)->close(net_loop_sock(svc->loop)->arg, fd);
            return -1;
        }
        svc->listen_fd[svc->listener_count++] = fd;
        svc->port = bound; /* port 0: the next binds share the port the first got */
        net_log(svc->log, NET_LOG_NOTICE, "listening on %s port %d", svc->cfg->bind[i], svc->port);
    }
    return 0;
}

void net_service_close_listeners(net_service *svc)
{
    const net_sock_ops *so = net_loop_sock(svc->loop);

    for (int i = 0; i < svc->listener_count; i++) {
        net_watch_del(svc->listen_watch[i]);
        so->close(so->arg, svc->listen_fd[i]);
    }
    svc->listener_count = 0;
}

int net_service_connect(net_service *svc, const char *host, int port, void *udata, net_conn **out)
{
    const net_sock_ops *so = net_loop_sock(svc->loop);
    struct sockaddr_storage sa;
    socklen_t len;
    char err[256];
    net_conn *c;
    int fd, rc, one = 1;

    if (net_socket_for(host, port, &fd, &sa, &len, err, sizeof(err))) {
        net_log(svc->log, NET_LOG_WARNING, "connect %s:%d: %s", host, port, err);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c = conn_new(svc, fd, &sa);
    rc = c ? so->connect(so->arg, fd, (struct sockaddr *)&sa, len) : -ENOMEM;
    if (rc && rc != -EINPROGRESS) {
        net_log(svc->log, NET_LOG_WARNING, "connect %s:%d: %s", host, port, strerror(-rc));
        free(c);
        so->close(so->arg, fd);
        return -1;
    }
    c->udata = udata;
    c->flags |= NET_CONN_OUTBOUND | NET_CONN_CONNECTING | CONN_HOOKED;
    if (conn_link(svc, c, NET_EV_WRITE)) {
        free(c);
        so->close(so->arg, fd);
        return -1;
    }
    *out = c;
    return 0;
}

/* ---- housekeeping
 * --------------------------------------------------------------------------------- */

/* Free the connections marked for closing, outside every walk (C1). */
static void reap(net_loop *l, int nevents, void *arg)
{
    net_service *svc = arg;
    net_conn *c = svc->conns;

    (void)l, (void)nevents;
    while (c) {
        net_conn *next = c->next;
        if (c->flags & NET_CONN_CLOSE_ASAP)
            conn_destroy(c);
        c = next;
    }
}

/* Once a second: the protocol's tick, and idle connections closed. */
static void every_second(net_timer *t, void *arg)
{
    net_service *svc = arg;
    int64_t now = net_loop_wall_ms(svc->loop);
    int64_t limit_ms = (int64_t)svc->cfg->timeout_s * 1000;

    (void)t;
    for (net_conn *c = svc->conns; c; c = c->next) {
        if (c->flags & NET_CONN_CLOSE_ASAP)
            continue;
        if (svc->proto->tick)
            svc->proto->tick(c);
        if (limit_ms <= 0 || (c->flags & NET_CONN_NO_IDLE) || now - c->last_ms <= limit_ms)
            continue;
        net_log(svc->log, NET_LOG_VERBOSE, "closing idle client %llu (%s)",
                (unsigned long long)c->id, c->addr);
        c->flags |= NET_CONN_CLOSE_ASAP;
        svc->stats.timeouts++;
    }
}

int net_service_init(net_service *svc, net_loop *loop, const net_proto *proto, void *arg,
                     const net_service_config *cfg, const net_logger *log)
{
    assert(proto && proto->input);
    memset(svc, 0, sizeof(*svc));
    svc->loop = loop;
    svc->proto = proto;
    svc->arg = arg;
    svc->cfg = cfg;
    svc->log = log;
    svc->second = net_timer_add(loop, 1000, 1000, every_second, svc);
    if (!svc->second || net_hook_add(loop, NET_HOOK_BEFORE_SLEEP, reap, svc)) {
        net_timer_cancel(svc->second);
        return -ENOMEM;
    }
    return 0;
}

void net_service_free(net_service *svc)
{
    net_service_close_listeners(svc);
    while (svc->conns)
        conn_destroy(svc->conns);
    net_timer_cancel(svc->second);
    svc->second = NULL;
    free(svc->flush);
    svc->flush = NULL;
    svc->flush_len = svc->flush_cap = 0;
}
