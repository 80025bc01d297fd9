/*
 * conn.c — sockets of ffdb-server: listening, accepting (with maxclients),
 * reading into a client's input buffer, writing its output buffer, and
 * freeing a client with everything it holds.
 *
 * It never runs a command and never parses: reading only appends bytes and
 * puts the client on the ready list; server.c parses and executes. Limits
 * enforced here: maxclients at accept, the output buffer hard limit (the
 * client is dropped, not the server's memory), back-pressure (a client whose
 * replies pile up unread is neither read nor served until it drains).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "modules/redis/redis.h"

#define READ_CHUNK (16u * 1024)         /* usual read size */
#define READ_MAX (1024u * 1024)         /* most read at once into a big argument */
#define IN_BACKLOG (1024u * 1024)       /* unparsed input that pauses reading */
#define OUT_BACKPRESSURE (1024u * 1024) /* unsent output that pauses a client */
#define ACCEPTS_PER_TICK 1000
#define IN_KEEP_BYTES (64u * 1024) /* input buffer kept between requests */
#define ARGV_KEEP 1024             /* argument slots kept between requests */

static void addr_text(const struct sockaddr_storage *sa, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    snprintf(buf, cap, "%s:%d", host, port);
}

static int listen_one(redis_server *s, const char *addr, int port)
{
    struct addrinfo hints = {0}, *res = NULL;
    char portstr[16];
    int fd = -1, one = 1, rc;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    snprintf(portstr, sizeof(portstr), "%d", port);
    rc = getaddrinfo(strcmp(addr, "*") == 0 ? NULL : addr, portstr, &hints, &res);
    if (rc) {
        redis_log(s, 3, "bad bind address '%s': %s", addr, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (res->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 511))
        goto fail;
    if (s->port == 0) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        getsockname(fd, (struct sockaddr *)&sa, &len);
        s->port = ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
                                                : ((struct sockaddr_in6 *)&sa)->sin6_port);
    }
    freeaddrinfo(res);
    return fd;
fail:
    redis_log(s, 3, "could not listen on %s:%d: %s", addr, port, strerror(errno));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return -1;
}

int conn_listen(redis_server *s)
{
    s->port = s->cfg.port;
    for (int i = 0; i < s->cfg.bind_count; i++) {
        redis_listener *l = &s->listeners[s->listener_count];
        int fd = listen_one(s, s->cfg.bind[i], s->port);
        if (fd < 0)
            return -1;
        l->kind = EVK_LISTENER;
        l->fd = fd;
        if (s->ev->add(s->evb, fd, EV_READ, l)) {
            close(fd);
            return -1;
        }
        s->listener_count++;
        redis_log(s, 2, "listening on %s port %d", s->cfg.bind[i], s->port);
    }
    return 0;
}

void conn_close_listeners(redis_server *s)
{
    for (int i = 0; i < s->listener_count; i++) {
        s->ev->remove(s->evb, s->listeners[i].fd);
        close(s->listeners[i].fd);
    }
    s->listener_count = 0;
}

static void reject(redis_server *s, int fd)
{
    static const char msg[] = "-ERR max number of clients reached\r\n";
    /* Best effort: the socket is new, its send buffer empty. */
    ssize_t n = write(fd, msg, sizeof(msg) - 1);
    (void)n;
    close(fd);
    s->stats.rejected++;
}

static redis_client *client_new(redis_server *s, int fd, const struct sockaddr_storage *sa)
{
    redis_client *c = calloc(1, sizeof(*c));
    struct sockaddr_storage local;
    socklen_t len = sizeof(local);

    if (!c)
        return NULL;
    c->kind = EVK_CLIENT;
    c->fd = fd;
    c->id = ++s->next_client_id;
    addr_text(sa, c->addr, sizeof(c->addr));
    if (getsockname(fd, (struct sockaddr *)&local, &len) == 0)
        addr_text(&local, c->laddr, sizeof(c->laddr));
    c->authed = s->cfg.requirepass[0] == '\0';
    c->created_ms = c->last_ms = redis_now_ms();
    resp_parser_init(&c->parser, &s->cfg.limits);
    net_buf_init(&c->out, s->cfg.outbuf_limit);
    c->reply.out = &c->out;
    c->reply.proto = 2;
    net_dict_init(&c->chans, 0);
    net_dict_init(&c->pats, 0);
    return c;
}

void conn_accept(redis_server *s, redis_listener *l)
{
    for (int i = 0; i < ACCEPTS_PER_TICK; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        int one = 1;
        int fd = accept4(l->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        redis_client *c;

        if (fd < 0) {
            /* Out of descriptors: say so once a second at most; the
             * connection waits in the backlog until one is free. */
            static int64_t last_log;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                redis_mono_ms() - last_log >= 1000) {
                last_log = redis_mono_ms();
                redis_log(s, 3, "accept: %s", strerror(errno));
            }
            return;
        }
        if (s->shutdown) {
            close(fd);
            continue;
        }
        if (s->client_count >= (uint64_t)s->cfg.maxclients) {
            reject(s, fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c = client_new(s, fd, &sa);
        if (!c || s->ev->add(s->evb, fd, EV_READ, c)) {
            free(c);
            close(fd);
            continue;
        }
        c->ev_mask = EV_READ;
        c->next = s->clients;
        if (s->clients)
            s->clients->prev = c;
        s->clients = c;
        s->client_count++;
        s->stats.connections++;
    }
}

/* Move the unconsumed input to the front of the buffer, and give back the
 * memory of a big request once it is done (a 512 MiB SET must not pin 512 MiB
 * for the connection's life). Only between batches: argv spans point into
 * the buffer while commands run. */
static void in_compact(redis_client *c)
{
    if (c->in_start == c->in_len && c->in_cap > IN_KEEP_BYTES) {
        free(c->in);
        c->in = NULL;
        c->in_cap = c->in_len = c->in_start = 0;
    }
    if (c->parser.kind == 0 && c->req.argv_cap > ARGV_KEEP) {
        /* No request half-parsed: the span array may shrink too. */
        free(c->req.argv);
        free(c->argv);
        c->req.argv = NULL;
        c->argv = NULL;
        c->req.argv_cap = c->argv_cap = 0;
    }
    if (c->in_start == 0)
        return;
    memmove(c->in, c->in + c->in_start, c->in_len - c->in_start);
    c->in_len -= c->in_start;
    c->in_start = 0;
}

void conn_read(redis_server *s, redis_client *c)
{
    size_t pending, want;
    uint64_t hint;
    ssize_t n;

    if (c->flags & (CLI_CLOSE_ASAP | CLI_CLOSE_AFTER | CLI_NO_READ))
        return;
    in_compact(c);
    pending = c->in_len;
    hint = resp_parse_wanted(&c->parser, pending);
    want = hint > READ_CHUNK ? (hint < READ_MAX ? (size_t)hint : READ_MAX) : READ_CHUNK;
    if (c->in_cap - c->in_len < want) {
        size_t cap = c->in_cap ? c->in_cap : READ_CHUNK;
        char *p;
        while (cap - c->in_len < want)
            cap *= 2;
        p = realloc(c->in, cap);
        if (!p) {
            redis_log(s, 3, "out of memory reading from client %llu", (unsigned long long)c->id);
            c->flags |= CLI_CLOSE_ASAP;
            return;
        }
        c->in = p;
        c->in_cap = cap;
    }
    n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            c->flags |= CLI_CLOSE_ASAP;
        return;
    }
    if (n == 0) {
        c->flags |= CLI_CLOSE_ASAP; /* the peer closed */
        return;
    }
    c->in_len += (size_t)n;
    s->stats.net_in += (uint64_t)n;
    c->last_ms = redis_now_ms();
    server_mark_ready(s, c);
}

int conn_backpressured(const redis_client *c)
{
    return net_buf_pending(&c->out) > OUT_BACKPRESSURE;
}

void conn_update_events(redis_server *s, redis_client *c)
{
    unsigned want = 0;

    if (c->flags & CLI_CLOSE_ASAP)
        return;
    /* Pause reading while replies pile up unread or unparsed input is large:
     * TCP then pushes back on the client instead of us buffering for it. */
    if (conn_backpressured(c) ||
        (c->in_len - c->in_start > IN_BACKLOG &&
         resp_parse_wanted(&c->parser, c->in_len - c->in_start) == 0) ||
        (c->flags & CLI_CLOSE_AFTER))
        c->flags |= CLI_NO_READ;
    else
        c->flags &= ~CLI_NO_READ;
    if (!(c->flags & CLI_NO_READ))
        want |= EV_READ;
    if (c->flags & CLI_WANT_WRITE)
        want |= EV_WRITE;
    if (want != c->ev_mask) {
        if (s->ev->modify(s->evb, c->fd, want, c) == 0)
            c->ev_mask = want;
    }
}

int conn_write(redis_server *s, redis_client *c)
{
    net_buf *b = &c->out;

    if (c->flags & CLI_CLOSE_ASAP)
        return -1;
    if (b->overflow) {
        redis_log(s, 2, "client %llu (%s) closed: output buffer limit reached",
                  (unsigned long long)c->id, c->addr);
        s->stats.output_limit_kills++;
        c->flags |= CLI_CLOSE_ASAP;
        return -1;
    }
    size_t end = b->hold < b->len ? b->hold : b->len; /* held bytes wait for a sync */

    while (b->sent < end) {
        ssize_t n = write(c->fd, b->data + b->sent, end - b->sent);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->flags |= CLI_WANT_WRITE;
                conn_update_events(s, c);
                return 0;
            }
            c->flags |= CLI_CLOSE_ASAP;
            return -1;
        }
        b->sent += (size_t)n;
        s->stats.net_out += (uint64_t)n;
    }
    net_buf_compact(b);
    c->flags &= ~CLI_WANT_WRITE;
    if ((c->flags & CLI_CLOSE_AFTER) && b->sent == b->len) {
        c->flags |= CLI_CLOSE_ASAP;
        return -1;
    }
    conn_update_events(s, c);
    return 0;
}

void conn_free(redis_server *s, redis_client *c)
{
    s->errors_gone += c->reply.errors;
    if (c->out.hold != NET_NO_HOLD)
        server_unhold(s, c);
    multi_unwatch_all(s, c);
    multi_discard(c);
    pubsub_unsubscribe_all(s, c);
    s->ev->remove(s->evb, c->fd);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->client_count--;
    free(c->in);
    free(c->req.argv);
    free(c->argv);
    free(c->name);
    free(c->queue);
    free(c->watched);
    net_buf_free(&c->out);
    free(c);
}
