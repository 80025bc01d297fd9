/*
 * node.c — a real RAFT node: libraft on its libuv backend (raft_uv_init,
 * log and snapshots in <dir>/raft) and TCP transport (raft_uv_tcp_init),
 * hosted on the net loop (uvhost.c); and the snapshot's file fetch over
 * the network: every node serves the stream of its file (rf_dump, from
 * one read txn) on its fetch port, and a node restoring a snapshot it is
 * behind pulls it from the node that took it (or the leader) into
 * rf_load, whose end record (count and XXH64) is checked before the swap.
 *
 * Fetch wire (v1): the client connects and sends "FFRQ"; the server answers
 * with the dump stream (raft.h) and closes. Nothing else is framed: the
 * stream carries its own end record and checksum.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <raft/uv.h>

#include "modules/raft/node.h"

#define FETCH_CHUNK (256u << 10)
#define FETCH_IDLE_MS 10000 /* a fetch whose peer says nothing this long fails */

typedef struct dump_conn dump_conn;
struct dump_conn {
    uv_tcp_t tcp;
    uv_write_t wr;
    rf_node *node;
    ffdb_txn *txn;
    rf_dump *dump;
    char *buf;
    size_t got; /* bytes of the request read */
    int writing;
    dump_conn *next;
};

struct rf_node {
    rf_uv_host *host;
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft raft;
    rf_fsm *fsm;
    uv_tcp_t fetch_srv;
    int fetch_open;
    dump_conn *dumps;
    int inited; /* 1: transport, 2: io, 3: raft */
    int started;
    int closed;
    char fetch_addr[RF_ADDR_MAX];
};

/* "host:port" into sin; 0 or FFDB_EINVAL. */
int rf_addr_parse(const char *addr, struct sockaddr_in *sin)
{
    char host[RF_ADDR_MAX];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host)
        return FFDB_EINVAL;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return FFDB_EINVAL;
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
        return FFDB_EINVAL;
    return 0;
}

int rf_fetch_address(const char *raft_addr, char *out, size_t cap)
{
    struct sockaddr_in sin;
    if (rf_addr_parse(raft_addr, &sin))
        return FFDB_EINVAL;
    unsigned port = ntohs(sin.sin_port) + RF_FETCH_PORT_OFFSET;
    if (port > 65535)
        return FFDB_EINVAL;
    const char *colon = strrchr(raft_addr, ':');
    int n = snprintf(out, cap, "%.*s:%u", (int)(colon - raft_addr), raft_addr, port);
    return n > 0 && (size_t)n < cap ? 0 : FFDB_EINVAL;
}

/* ---- the fetch server ------------------------------------------------------------------------ */

static void dump_closed(uv_handle_t *h)
{
    dump_conn *d = h->data;
    free(d->buf);
    free(d);
}

static void dump_end(dump_conn *d)
{
    rf_node *n = d->node;
    for (dump_conn **p = &n->dumps; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    if (d->dump)
        rf_dump_free(d->dump);
    if (d->txn)
        ffdb_abort(d->txn);
    d->dump = NULL;
    d->txn = NULL;
    uv_close((uv_handle_t *)&d->tcp, dump_closed);
}

static void dump_next(dump_conn *d);

static void dump_written(uv_write_t *w, int status)
{
    dump_conn *d = w->data;
    d->writing = 0;
    if (status || !d->dump) {
        if (d->dump || status)
            dump_end(d);
        return;
    }
    dump_next(d);
}

static void dump_next(dump_conn *d)
{
    long n = rf_dump_read(d->dump, d->buf, FETCH_CHUNK);
    if (n <= 0) {
        dump_end(d); /* 0: the end record went out; < 0: the peer sees a short stream */
        return;
    }
    uv_buf_t b = uv_buf_init(d->buf, (unsigned)n);
    d->wr.data = d;
    d->writing = 1;
    if (uv_write(&d->wr, (uv_stream_t *)&d->tcp, &b, 1, dump_written))
        dump_end(d);
}

static void req_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    dump_conn *d = h->data;
    (void)suggested;
    *b = uv_buf_init(d->buf, 64);
}

static void req_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    dump_conn *d = s->data;
    if (nread == 0)
        return;
    if (nread < 0 || d->got + (size_t)nread > 4 ||
        memcmp(b->base, &"FFRQ"[d->got], (size_t)nread) != 0) {
        uv_read_stop(s);
        if (!d->writing)
            dump_end(d);
        return;
    }
    d->got += (size_t)nread;
    if (d->got < 4)
        return;
    uv_read_stop(s);
    ffdb *db = rf_fsm_db(d->node->fsm);
    if (!db || ffdb_begin_read(db, &d->txn) || rf_dump_new(d->txn, &d->dump)) {
        dump_end(d);
        return;
    }
    dump_next(d);
}

static void on_fetch_conn(uv_stream_t *srv, int status)
{
    rf_node *n = srv->data;
    if (status)
        return;
    dump_conn *d = calloc(1, sizeof *d);
    if (!d)
        return;
    d->buf = malloc(FETCH_CHUNK);
    d->node = n;
    uv_tcp_init(rf_uv_loop(n->host), &d->tcp);
    d->tcp.data = d;
    if (!d->buf || uv_accept(srv, (uv_stream_t *)&d->tcp) ||
        uv_read_start((uv_stream_t *)&d->tcp, req_alloc, req_read)) {
        uv_close((uv_handle_t *)&d->tcp, dump_closed);
        return;
    }
    d->next = n->dumps;
    n->dumps = d;
}

void rf_node_abort_dumps(rf_node *n)
{
    while (n->dumps) {
        dump_conn *d = n->dumps;
        if (d->writing) {
            /* uv_close cancels the write; its callback sees no dump. */
            n->dumps = d->next;
            if (d->dump)
                rf_dump_free(d->dump);
            if (d->txn)
                ffdb_abort(d->txn);
            d->dump = NULL;
            d->txn = NULL;
            uv_close((uv_handle_t *)&d->tcp, dump_closed);
        } else {
            dump_end(d);
        }
    }
}

/* ---- the fetch client (blocking: libraft's restore is synchronous) ---------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, int ms)
{
    struct pollfd p = {fd, ev, 0};
    int rc;
    do
        rc = poll(&p, 1, ms);
    while (rc < 0 && errno == EINTR);
    return rc > 0 ? 0 : FFDB_EIO;
}

int rf_fetch_file(const char *fetch_addr, const char *tmp_path, const ffdb_options *opt)
{
    struct sockaddr_in sin;
    rf_load *ld;
    if (rf_addr_parse(fetch_addr, &sin))
        return FFDB_EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FFDB_EIO;
    int rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
    if (rc && errno == EINPROGRESS) {
        int err = 0;
        socklen_t el = sizeof err;
        rc = wait_fd(fd, POLLOUT, 3000);
        if (rc == 0 && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err))
            rc = FFDB_EIO;
    } else if (rc) {
        rc = FFDB_EIO;
    }
    if (rc == 0 && (wait_fd(fd, POLLOUT, 3000) || send(fd, "FFRQ", 4, MSG_NOSIGNAL) != 4))
        rc = FFDB_EIO;
    if (rc) {
        close(fd);
        return rc;
    }
    rc = rf_load_new(tmp_path, opt, &ld);
    if (rc) {
        close(fd);
        return rc;
    }
    char *buf = malloc(FETCH_CHUNK);
    if (!buf) {
        rf_load_abort(ld);
        close(fd);
        return FFDB_ENOMEM;
    }
    int64_t deadline = mono_ms() + FETCH_IDLE_MS;
    for (;;) {
        ssize_t got = recv(fd, buf, FETCH_CHUNK, 0);
        if (got > 0) {
            rc = rf_load_feed(ld, buf, (size_t)got);
            if (rc)
                break;
            deadline = mono_ms() + FETCH_IDLE_MS;
            continue;
        }
        if (got == 0)
            break; /* the server closed: finish checks the end record */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            rc = FFDB_EIO;
            break;
        }
        int64_t left = deadline - mono_ms();
        if (left <= 0 || wait_fd(fd, POLLIN, (int)left)) {
            rc = FFDB_EIO;
            break;
        }
    }
    free(buf);
    close(fd);
    if (rc) {
        rf_load_abort(ld);
        return rc;
    }
    return rf_load_finish(ld); /* FFDB_EINVAL: short, or its checksum fails */
}

/* ---- the node -------------------------------------------------------------------------------- */

static int mkdir_p(const char *dir)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return FFDB_EINVAL;
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) && errno != EEXIST)
                return FFDB_EIO;
            *s = '/';
        }
    if (mkdir(p, 0755) && errno != EEXIST)
        return FFDB_EIO;
    return 0;
}

int rf_node_new(net_loop *l, rf_fsm *fsm, const rf_node_config *cfg, rf_node **out)
{
    char dir[4096];
    struct sockaddr_in sin;
    rf_node *n = calloc(1, sizeof *n);
    if (!n)
        return FFDB_ENOMEM;
    n->fsm = fsm;
    int rc = snprintf(dir, sizeof dir, "%s/raft", cfg->dir) >= (int)sizeof dir ? FFDB_EINVAL : 0;
    if (rc == 0)
        rc = mkdir_p(dir);
    if (rc == 0)
        rc = rf_uv_host_new(l, &n->host);
    if (rc) {
        free(n);
        return rc;
    }
    uv_loop_t *uv = rf_uv_loop(n->host);
    rc = rf_fetch_address(cfg->address, n->fetch_addr, sizeof n->fetch_addr);
    if (rc == 0)
        rc = rf_addr_parse(n->fetch_addr, &sin);
    if (rc == 0) {
        uv_tcp_init(uv, &n->fetch_srv);
        n->fetch_srv.data = n;
        n->fetch_open = 1;
        if (uv_tcp_bind(&n->fetch_srv, (struct sockaddr *)&sin, 0) ||
            uv_listen((uv_stream_t *)&n->fetch_srv, 16, on_fetch_conn))
            rc = FFDB_EIO;
    }
    if (rc == 0)
        rc = raft_uv_tcp_init(&n->transport, uv) ? FFDB_EIO : 0;
    if (rc == 0) {
        n->inited = 1;
        rc = raft_uv_init(&n->io, uv, dir, &n->transport) ? FFDB_EIO : 0;
    }
    if (rc == 0) {
        n->inited = 2;
        raft_uv_set_snapshot_compression(&n->io, false); /* 40 bytes of metadata */
        raft_uv_set_connect_retry_delay(&n->io, 100);
        rc = raft_init(&n->raft, &n->io, rf_fsm_raft(fsm), cfg->id, cfg->address) ? FFDB_EIO : 0;
    }
    if (rc == 0) {
        n->inited = 3;
        rf_fsm_bind(fsm, &n->raft);
        raft_set_election_timeout(&n->raft, cfg->election_ms ? cfg->election_ms : 1000);
        raft_set_heartbeat_timeout(&n->raft, cfg->heartbeat_ms ? cfg->heartbeat_ms : 100);
        if (cfg->snapshot_threshold)
            raft_set_snapshot_threshold(&n->raft, cfg->snapshot_threshold);
        if (cfg->snapshot_trailing)
            raft_set_snapshot_trailing(&n->raft, cfg->snapshot_trailing);
        raft_set_pre_vote(&n->raft, true);
        if (cfg->nservers) {
            struct raft_configuration conf;
            raft_configuration_init(&conf);
            for (size_t i = 0; i < cfg->nservers && rc == 0; i++)
                rc = raft_configuration_add(&conf, cfg->servers[i].id, cfg->servers[i].address,
                                            RAFT_VOTER);
            if (rc == 0) {
                rc = raft_bootstrap(&n->raft, &conf);
                if (rc == RAFT_CANTBOOTSTRAP)
                    rc = 0; /* not a pristine node: it has its state */
            }
            raft_configuration_close(&conf);
            rc = rc ? FFDB_EIO : 0;
        }
    }
    if (rc == 0) {
        rc = raft_start(&n->raft) ? FFDB_EIO : 0;
        n->started = rc == 0;
    }
    if (rc) {
        rf_node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static void raft_closed(struct raft *r)
{
    rf_node *n = r->data;
    n->closed = 1;
}

static void noop_close(uv_handle_t *h)
{
    (void)h;
}

void rf_node_free(rf_node *n)
{
    if (!n)
        return;
    uv_loop_t *uv = rf_uv_loop(n->host);
    rf_node_abort_dumps(n);
    if (n->fetch_open)
        uv_close((uv_handle_t *)&n->fetch_srv, noop_close);
    if (n->inited >= 3) {
        n->raft.data = n;
        raft_close(&n->raft, raft_closed);
        /* The loop no longer runs the host: spin libuv until libraft is done. */
        for (int i = 0; i < 5000 && !n->closed; i++)
            if (!uv_run(uv, UV_RUN_NOWAIT))
                usleep(1000);
    }
    if (n->inited >= 2)
        raft_uv_close(&n->io);
    if (n->inited >= 1)
        raft_uv_tcp_close(&n->transport);
    rf_uv_host_free(n->host);
    free(n);
}

struct raft *rf_node_raft(rf_node *n)
{
    return &n->raft;
}

const char *rf_node_fetch_address(const rf_node *n)
{
    return n->fetch_addr;
}

const char *rf_node_address_of(rf_node *n, uint64_t id)
{
    const struct raft_configuration *c = &n->raft.configuration;
    for (unsigned i = 0; i < c->n; i++)
        if (c->servers[i].id == id)
            return c->servers[i].address;
    return NULL;
}
