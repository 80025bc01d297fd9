/*
 * bus.c — a nats.c connection hosted on the net loop (natsbus.h): the
 * event-loop adapter, the queue from nats.c's threads to the loop thread
 * (N1), subscriptions, publish, request/reply, close.
 *
 * The adapter. nats.c calls attach (a socket after every connect), read and
 * write (start/stop polling for that event) and detach (the connection is
 * closed) from whichever thread it is on: the caller's, its reconnect
 * thread, its timers. Each call becomes an event on the shared queue; the
 * loop thread applies them in order in drain(). The socket is watched
 * through our own dup() of it, so when nats.c closes its descriptor (a
 * reconnect) no other connection can get the same number while our watch
 * still names it, and we stop watching it ourselves as soon as the
 * connection is not connected (a dead socket reads EOF forever).
 *
 * The queue (shared, under mu) is the only state nats.c's threads touch:
 *
 *   producer (any thread)            consumer (loop thread, drain)
 *   lock; append; was_empty; unlock   read(efd)           -- clears the wakeup
 *   if was_empty: write(efd)          lock; take all; unlock
 *                                     process in order
 *
 * Invariants:
 *   Q1. An event appended to an empty queue writes the eventfd, so every
 *       event is drained by some later loop iteration.
 *   Q2. Messages are the only events that can be dropped (over
 *       max_queued_bytes); attach/read/write/detach/state never are.
 *   Q4. Read/write interest applies in the order nats.c asked for it. A
 *       change asked on the loop thread applies at once only when no
 *       earlier one waits: neither in the queue nor among the events
 *       drain() took and has not processed yet (a callback run by drain,
 *       e.g. a publish from a message handler, must not be undone by an
 *       older "write off" processed after it: nats.c would believe its
 *       write interest set and never flush its buffer again).
 *   Q3. The shared block outlives every nats.c thread that may touch it: it
 *       is freed at close only once every async subscription reported its
 *       completion and the connection reported it is closed (bounded wait;
 *       past it the block is leaked rather than freed under a live thread).
 */
#include <errno.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "modules/natsbus/natsbus.h"

#define DEFAULT_RECONNECT_WAIT_MS 250
#define DEFAULT_CONNECT_TIMEOUT_MS 2000
#define DEFAULT_MAX_QUEUED_BYTES ((size_t)64 << 20)
#define CLOSE_WAIT_MS 3000 /* Q3's bound */
#define EVENT_OVERHEAD 64  /* bytes a queued message counts beyond its payload */

enum { EV_ATTACH, EV_READ, EV_WRITE, EV_DETACH, EV_MSG, EV_STATE };

typedef struct nb_event {
    struct nb_event *next;
    int type;
    int arg; /* attach: fd; read/write: add; state: connected */
    int64_t sid;
    natsMsg *msg;
    size_t bytes;
} nb_event;

typedef struct nb_shared {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    nb_event *head, *tail;
    size_t queued_bytes, max_bytes;
    uint64_t dropped;
    uint64_t slow_consumer; /* nats.c's error handler (its own thread) */
    int efd;
    int closing;
    pthread_t loop_thread;
    int live_subs;
    int closed;
} nb_shared;

struct natsbus_sub {
    natsbus *bus;
    natsSubscription *ns;
    int64_t sid;
    size_t prefix_len; /* "ffdb.NS.KIND." */
    natsbus_msg_fn fn;
    void *arg;
    natsbus_sub *next;
};

typedef struct nb_request {
    natsbus *bus;
    uint64_t id;
    natsbus_reply_fn fn;
    void *arg;
    net_timer *timer;
    struct nb_request *next;
} nb_request;

struct natsbus {
    net_loop *loop;
    natsOptions *opts;
    natsConnection *nc;
    nb_shared *sh;
    net_watch *evw;
    net_watch *sock;
    int sock_fd;
    unsigned want;
    char *ns;
    size_t ns_len;
    natsbus_sub *subs;
    natsSubscription *inbox_sub;
    int64_t inbox_sid;
    char inbox[128];
    size_t inbox_len;
    nb_request *reqs;
    uint64_t req_seq;
    nb_event *rest; /* drain(): events taken from the queue, not yet processed (Q4) */
    natsbus_state_fn on_state;
    void *state_arg;
    natsbus_msg_fn on_late_reply;
    void *late_arg;
    natsbus_stats st;
};

const char *natsbus_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case NATSBUS_EINVAL:
        return "invalid argument";
    case NATSBUS_ETOOBIG:
        return "subject or payload too large for the bus";
    case NATSBUS_ENATS:
        return "NATS client error";
    case NATSBUS_ENOMEM:
        return "out of memory";
    case NATSBUS_ECLOSED:
        return "the bus is closed";
    default:
        return "unknown error";
    }
}

/* ---- the queue (any thread) ------------------------------------------------------ */

static void wake(nb_shared *sh)
{
    uint64_t one = 1;
    ssize_t n;

    do
        n = write(sh->efd, &one, sizeof(one));
    while (n < 0 && errno == EINTR);
}

/* Append (Q1). A message over the byte bound is dropped (Q2): 0 or -1. */
static int push(nb_shared *sh, int type, int arg, int64_t sid, natsMsg *msg)
{
    nb_event *e = calloc(1, sizeof(*e));
    int was_empty;

    if (!e)
        return -1;
    e->type = type;
    e->arg = arg;
    e->sid = sid;
    e->msg = msg;
    e->bytes = msg ? (size_t)natsMsg_GetDataLength(msg) + EVENT_OVERHEAD : 0;
    pthread_mutex_lock(&sh->mu);
    if (msg && (sh->closing || sh->queued_bytes + e->bytes > sh->max_bytes)) {
        sh->dropped += !sh->closing;
        pthread_mutex_unlock(&sh->mu);
        free(e);
        return -1;
    }
    sh->queued_bytes += e->bytes;
    was_empty = sh->head == NULL;
    if (sh->tail)
        sh->tail->next = e;
    else
        sh->head = e;
    sh->tail = e;
    pthread_mutex_unlock(&sh->mu);
    if (was_empty)
        wake(sh);
    return 0;
}

static nb_event *take_all(nb_shared *sh)
{
    nb_event *list;

    pthread_mutex_lock(&sh->mu);
    list = sh->head;
    sh->head = sh->tail = NULL;
    sh->queued_bytes = 0;
    pthread_mutex_unlock(&sh->mu);
    return list;
}

/* ---- nats.c's callbacks (any thread: only push) ----------------------------------- */

static natsStatus ev_attach(void **user, void *loop_arg, natsConnection *nc, natsSock fd)
{
    natsbus *b = loop_arg;

    (void)nc;
    *user = b;
    return push(b->sh, EV_ATTACH, (int)fd, 0, NULL) ? NATS_NO_MEMORY : NATS_OK;
}

static void set_want(natsbus *b, unsigned bit, int add);

/* On the loop thread with nothing queued or taken and unprocessed (Q4) the
 * change applies at once (the watch then never lags behind what nats.c
 * wants); otherwise it is queued behind what came before it. */
static natsStatus interest(natsbus *b, int type, unsigned bit, int add)
{
    int direct = pthread_equal(pthread_self(), b->sh->loop_thread) && b->rest == NULL;

    pthread_mutex_lock(&b->sh->mu);
    direct = direct && b->sh->head == NULL;
    pthread_mutex_unlock(&b->sh->mu);
    if (direct) {
        set_want(b, bit, add);
        return NATS_OK;
    }
    return push(b->sh, type, add, 0, NULL) ? NATS_NO_MEMORY : NATS_OK;
}

static natsStatus ev_read(void *user, bool add)
{
    return interest(user, EV_READ, NET_EV_READ, add);
}

static natsStatus ev_write(void *user, bool add)
{
    return interest(user, EV_WRITE, NET_EV_WRITE, add);
}

static natsStatus ev_detach(void *user)
{
    natsbus *b = user;
    return push(b->sh, EV_DETACH, 0, 0, NULL) ? NATS_NO_MEMORY : NATS_OK;
}

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    if (push(closure, EV_MSG, 0, natsSubscription_GetID(sub), msg))
        natsMsg_Destroy(msg);
}

static void on_complete(void *closure)
{
    nb_shared *sh = closure;

    pthread_mutex_lock(&sh->mu);
    sh->live_subs--;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
}

static void on_up(natsConnection *nc, void *closure)
{
    (void)nc;
    push(closure, EV_STATE, 1, 0, NULL);
}

static void on_down(natsConnection *nc, void *closure)
{
    (void)nc;
    push(closure, EV_STATE, 0, 0, NULL);
}

/* nats.c dropped messages of a subscription whose pending limits were
 * reached (a slow consumer): counted, nothing else to do (N3). */
static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    nb_shared *sh = closure;

    (void)nc;
    (void)sub;
    if (err != NATS_SLOW_CONSUMER)
        return;
    pthread_mutex_lock(&sh->mu);
    sh->slow_consumer++;
    pthread_mutex_unlock(&sh->mu);
}

static void on_closed(natsConnection *nc, void *closure)
{
    nb_shared *sh = closure;

    (void)nc;
    pthread_mutex_lock(&sh->mu);
    sh->closed = 1;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
}

/* ---- the loop thread ----------------------------------------------------------------- */

static void drop_sock(natsbus *b)
{
    net_watch_del(b->sock);
    b->sock = NULL;
    if (b->sock_fd >= 0)
        close(b->sock_fd);
    b->sock_fd = -1;
}

static void on_sock(net_watch *w, unsigned events, void *arg)
{
    natsbus *b = arg;
    natsConnStatus st;

    (void)w;
    if (events & (NET_EV_READ | NET_EV_ERROR))
        natsConnection_ProcessReadEvent(b->nc);
    /* nats.c treats a write event with nothing buffered as a failed write
     * (and reconnects): only when it has bytes for us. */
    if ((events & NET_EV_WRITE) && b->sock && natsConnection_Buffered(b->nc) > 0)
        natsConnection_ProcessWriteEvent(b->nc);
    st = natsConnection_Status(b->nc);
    if (st != NATS_CONN_STATUS_CONNECTED && st != NATS_CONN_STATUS_DRAINING_SUBS &&
        st != NATS_CONN_STATUS_DRAINING_PUBS)
        drop_sock(b);
}

static void attach_sock(natsbus *b, int fd)
{
    drop_sock(b);
    b->want = NET_EV_READ;
    b->sock_fd = dup(fd);
    if (b->sock_fd < 0)
        return;
    b->sock = net_watch_add(b->loop, b->sock_fd, b->want, on_sock, b);
    if (!b->sock) {
        close(b->sock_fd);
        b->sock_fd = -1;
    }
}

static void set_want(natsbus *b, unsigned bit, int add)
{
    b->want = add ? b->want | bit : b->want & ~bit;
    if (b->sock)
        net_watch_set(b->sock, b->want);
}

static void dispatch_reply(natsbus *b, natsbus_msg *m)
{
    const char *tail = m->subject + b->inbox_len + 1;
    uint64_t id = strtoull(tail, NULL, 10);

    for (nb_request *r = b->reqs; r; r = r->next)
        if (r->id == id) {
            b->st.received++;
            r->fn(r->arg, m);
            return;
        }
    if (id == 0 || id > b->req_seq)
        return; /* not an id we gave out */
    b->st.late_replies++;
    if (b->on_late_reply) {
        b->st.received++;
        b->on_late_reply(b->late_arg, m);
    }
}

static void dispatch(natsbus *b, int64_t sid, natsMsg *msg)
{
    natsbus_msg m;
    const char *subj = natsMsg_GetSubject(msg);
    uint8_t *name = NULL;

    memset(&m, 0, sizeof(m));
    m.subject = subj;
    m.data = (const uint8_t *)natsMsg_GetData(msg);
    m.len = (size_t)natsMsg_GetDataLength(msg);
    m.reply = natsMsg_GetReply(msg);
    if (m.reply && !m.reply[0])
        m.reply = NULL;
    if (sid == b->inbox_sid) {
        dispatch_reply(b, &m);
        return;
    }
    for (natsbus_sub *s = b->subs; s; s = s->next) {
        if (s->sid != sid)
            continue;
        size_t slen = strlen(subj);
        if (slen > s->prefix_len && !strchr(subj + s->prefix_len, '.') &&
            (name = malloc(slen - s->prefix_len))) {
            if (natsbus_untoken(subj + s->prefix_len, slen - s->prefix_len, name, &m.name_len) ==
                0)
                m.name = name;
        }
        b->st.received++;
        s->fn(s->arg, &m);
        free(name);
        return;
    }
}

static void process(natsbus *b, nb_event *e)
{
    switch (e->type) {
    case EV_ATTACH:
        attach_sock(b, e->arg);
        break;
    case EV_READ:
        set_want(b, NET_EV_READ, e->arg);
        break;
    case EV_WRITE:
        set_want(b, NET_EV_WRITE, e->arg);
        break;
    case EV_DETACH:
        drop_sock(b);
        break;
    case EV_MSG:
        dispatch(b, e->sid, e->msg);
        break;
    case EV_STATE:
        if (e->arg == b->st.connected)
            break;
        b->st.connected = e->arg;
        if (e->arg)
            b->st.connects++;
        else {
            b->st.disconnects++;
            drop_sock(b);
        }
        if (b->on_state)
            b->on_state(b->state_arg, e->arg);
        break;
    }
}

static void drain(natsbus *b)
{
    uint64_t v;
    nb_event *e, *next;

    if (read(b->sh->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        return;
    for (e = take_all(b->sh); e; e = next) {
        next = e->next;
        b->rest = next;
        process(b, e);
        if (e->msg)
            natsMsg_Destroy(e->msg);
        free(e);
    }
    b->rest = NULL;
}

static void on_efd(net_watch *w, unsigned events, void *arg)
{
    (void)w;
    (void)events;
    drain(arg);
}

/* ---- open and close ------------------------------------------------------------------- */

static int fail(char *err, size_t len, int rc, const char *what, natsStatus s)
{
    if (err && len)
        snprintf(err, len, "nats: %s: %s", what, natsStatus_GetText(s));
    return rc;
}

static nb_shared *shared_new(size_t max_bytes)
{
    nb_shared *sh = calloc(1, sizeof(*sh));

    if (!sh)
        return NULL;
    sh->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (sh->efd < 0) {
        free(sh);
        return NULL;
    }
    pthread_mutex_init(&sh->mu, NULL);
    pthread_cond_init(&sh->cv, NULL);
    sh->max_bytes = max_bytes;
    sh->loop_thread = pthread_self();
    return sh;
}

static natsStatus make_options(natsbus *b, const natsbus_opts *o)
{
    natsStatus s = natsOptions_Create(&b->opts);
    int64_t wait = o->reconnect_wait_ms > 0 ? o->reconnect_wait_ms : DEFAULT_RECONNECT_WAIT_MS;

    if (s == NATS_OK)
        s = natsOptions_SetURL(b->opts, o->url);
    if (s == NATS_OK)
        s = natsOptions_SetName(b->opts, o->conn_name ? o->conn_name : "ffdb");
    if (s == NATS_OK)
        s = natsOptions_SetNoEcho(b->opts, true); /* N5 */
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(b->opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(b->opts, wait);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectJitter(b->opts, wait / 4 + 1, wait / 4 + 1);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(b->opts, o->connect_timeout_ms > 0 ? o->connect_timeout_ms
                                                                      : DEFAULT_CONNECT_TIMEOUT_MS);
    if (s == NATS_OK)
        s = natsOptions_SetRetryOnFailedConnect(b->opts, true, on_up, b->sh);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(b->opts, on_down, b->sh);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(b->opts, on_up, b->sh);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(b->opts, on_closed, b->sh);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(b->opts, on_error, b->sh);
    if (s == NATS_OK)
        s = natsOptions_SetEventLoop(b->opts, b, ev_attach, ev_read, ev_write, ev_detach);
    return s;
}

static int add_sub(natsbus *b, const char *subject, natsSubscription **out)
{
    natsStatus s = natsConnection_Subscribe(out, b->nc, subject, on_msg, b->sh);

    if (s != NATS_OK)
        return NATSBUS_ENATS;
    if (natsSubscription_SetOnCompleteCB(*out, on_complete, b->sh) != NATS_OK) {
        natsSubscription_Unsubscribe(*out);
        natsSubscription_Destroy(*out);
        *out = NULL;
        return NATSBUS_ENATS;
    }
    pthread_mutex_lock(&b->sh->mu);
    b->sh->live_subs++;
    pthread_mutex_unlock(&b->sh->mu);
    return 0;
}

static int open_inbox(natsbus *b)
{
    natsInbox *inbox = NULL;
    char subj[160];

    if (natsInbox_Create(&inbox) != NATS_OK)
        return NATSBUS_ENATS;
    snprintf(b->inbox, sizeof(b->inbox), "%s", (const char *)inbox);
    b->inbox_len = strlen(b->inbox);
    natsInbox_Destroy(inbox);
    snprintf(subj, sizeof(subj), "%s.*", b->inbox);
    if (add_sub(b, subj, &b->inbox_sub))
        return NATSBUS_ENATS;
    b->inbox_sid = natsSubscription_GetID(b->inbox_sub);
    return 0;
}

int natsbus_open(net_loop *loop, const natsbus_opts *o, natsbus **out, char *err, size_t err_len)
{
    natsbus *b;
    natsStatus s;
    size_t nsl;

    *out = NULL;
    if (!o || !o->url || !o->url[0])
        return fail(err, err_len, NATSBUS_EINVAL, "no URL", NATS_INVALID_ARG);
    nsl = o->namespace_name ? (o->namespace_len ? o->namespace_len : strlen(o->namespace_name)) : 0;
    b = calloc(1, sizeof(*b));
    if (!b || !(b->ns = malloc(nsl + 1)) ||
        !(b->sh = shared_new(o->max_queued_bytes ? o->max_queued_bytes
                                                 : DEFAULT_MAX_QUEUED_BYTES))) {
        if (b)
            free(b->ns);
        free(b);
        return fail(err, err_len, NATSBUS_ENOMEM, "open", NATS_NO_MEMORY);
    }
    memcpy(b->ns, nsl ? o->namespace_name : "", nsl);
    b->ns_len = nsl;
    b->loop = loop;
    b->sock_fd = -1;
    b->on_state = o->on_state;
    b->state_arg = o->state_arg;
    b->on_late_reply = o->on_late_reply;
    b->late_arg = o->late_arg;
    b->evw = net_watch_add(loop, b->sh->efd, NET_EV_READ, on_efd, b);
    if (!b->evw) {
        natsbus_close(b);
        return fail(err, err_len, NATSBUS_ENOMEM, "watch", NATS_NO_MEMORY);
    }
    s = make_options(b, o);
    if (s != NATS_OK) {
        natsbus_close(b);
        return fail(err, err_len, NATSBUS_EINVAL, o->url, s);
    }
    s = natsConnection_Connect(&b->nc, b->opts);
    if (s == NATS_OK)
        push(b->sh, EV_STATE, 1, 0, NULL); /* connected in the call: no callback comes */
    else if (s != NATS_NOT_YET_CONNECTED) {
        b->nc = NULL;
        natsbus_close(b);
        return fail(err, err_len, NATSBUS_ENATS, o->url, s);
    }
    if (open_inbox(b)) {
        natsbus_close(b);
        return fail(err, err_len, NATSBUS_ENATS, "inbox subscription", NATS_ERR);
    }
    *out = b;
    return 0;
}

/* Q3: every async subscription completed and the connection closed. */
static int wait_quiet(nb_shared *sh)
{
    struct timespec ts;
    int ok;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += CLOSE_WAIT_MS / 1000;
    pthread_mutex_lock(&sh->mu);
    while (sh->live_subs > 0 || !sh->closed)
        if (pthread_cond_timedwait(&sh->cv, &sh->mu, &ts) == ETIMEDOUT)
            break;
    ok = sh->live_subs <= 0 && sh->closed;
    pthread_mutex_unlock(&sh->mu);
    return ok;
}

static void free_sub(natsbus_sub *s)
{
    natsSubscription_Unsubscribe(s->ns);
    natsSubscription_Destroy(s->ns);
    free(s);
}

void natsbus_close(natsbus *b)
{
    nb_event *e, *next;
    int quiet = 1;

    if (!b)
        return;
    while (b->subs) {
        natsbus_sub *s = b->subs;
        b->subs = s->next;
        free_sub(s);
    }
    if (b->inbox_sub) {
        natsSubscription_Unsubscribe(b->inbox_sub);
        natsSubscription_Destroy(b->inbox_sub);
    }
    while (b->reqs) {
        nb_request *r = b->reqs;
        b->reqs = r->next;
        net_timer_cancel(r->timer);
        free(r);
    }
    if (b->sh) {
        pthread_mutex_lock(&b->sh->mu);
        b->sh->closing = 1;
        pthread_mutex_unlock(&b->sh->mu);
    }
    if (b->nc) {
        natsConnection_Close(b->nc);
        natsConnection_Destroy(b->nc);
        quiet = wait_quiet(b->sh);
    }
    natsOptions_Destroy(b->opts);
    drop_sock(b);
    net_watch_del(b->evw);
    if (b->sh) {
        for (e = take_all(b->sh); e; e = next) {
            next = e->next;
            if (e->msg)
                natsMsg_Destroy(e->msg);
            free(e);
        }
        if (quiet) { /* else leaked on purpose (Q3) */
            close(b->sh->efd);
            pthread_mutex_destroy(&b->sh->mu);
            pthread_cond_destroy(&b->sh->cv);
            free(b->sh);
        }
    }
    free(b->ns);
    free(b);
}

int natsbus_connected(const natsbus *b)
{
    return b->st.connected;
}

void natsbus_get_stats(const natsbus *b, natsbus_stats *st)
{
    *st = b->st;
    pthread_mutex_lock(&b->sh->mu);
    st->dropped = b->sh->dropped;
    st->slow_consumer = b->sh->slow_consumer;
    pthread_mutex_unlock(&b->sh->mu);
}

/* ---- subscribe, publish, request ---------------------------------------------------------- */

static int kind_ok(const char *kind)
{
    size_t n = kind ? strlen(kind) : 0;

    if (n == 0 || n > NATSBUS_MAX_KIND)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((kind[i] >= 'a' && kind[i] <= 'z') || (kind[i] >= '0' && kind[i] <= '9') ||
              kind[i] == '-'))
            return 0;
    return 1;
}

/* The subject of kind/name, malloc'd into *out: 0, NATSBUS_EINVAL, ETOOBIG, ENOMEM. */
static int subject_of(natsbus *b, const char *kind, const void *name, size_t n, char **out)
{
    size_t len;

    if (!kind_ok(kind))
        return NATSBUS_EINVAL;
    len = natsbus_subject(b->ns, b->ns_len, kind, name, n, NULL, 0);
    if (len > NATSBUS_MAX_SUBJECT)
        return NATSBUS_ETOOBIG;
    *out = malloc(len + 1);
    if (!*out)
        return NATSBUS_ENOMEM;
    natsbus_subject(b->ns, b->ns_len, kind, name, n, *out, len + 1);
    return 0;
}

int natsbus_subscribe(natsbus *b, const char *kind, const void *name, size_t n, natsbus_msg_fn fn,
                      void *arg, natsbus_sub **out)
{
    natsbus_sub *s;
    char *subj;
    int rc = subject_of(b, kind, name, n, &subj);

    if (rc)
        return rc;
    s = calloc(1, sizeof(*s));
    if (!s) {
        free(subj);
        return NATSBUS_ENOMEM;
    }
    s->bus = b;
    s->fn = fn;
    s->arg = arg;
    s->prefix_len = natsbus_subject(b->ns, b->ns_len, kind, "", 0, NULL, 0) - 1; /* without "_" */
    rc = add_sub(b, subj, &s->ns);
    free(subj);
    if (rc) {
        free(s);
        return rc;
    }
    s->sid = natsSubscription_GetID(s->ns);
    s->next = b->subs;
    b->subs = s;
    if (out)
        *out = s;
    return 0;
}

void natsbus_unsubscribe(natsbus_sub *s)
{
    natsbus_sub **pp;

    if (!s)
        return;
    for (pp = &s->bus->subs; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    free_sub(s);
}

static int send_msg(natsbus *b, const char *subj, const char *reply, const void *data, size_t len)
{
    int64_t max = natsConnection_GetMaxPayload(b->nc);
    natsStatus s;

    if ((max > 0 && len > (uint64_t)max) || len > INT32_MAX) {
        b->st.publish_errors++;
        return NATSBUS_ETOOBIG;
    }
    s = reply ? natsConnection_PublishRequest(b->nc, subj, reply, data, (int)len)
              : natsConnection_Publish(b->nc, subj, data, (int)len);
    if (s != NATS_OK) {
        b->st.publish_errors++;
        return s == NATS_MAX_PAYLOAD ? NATSBUS_ETOOBIG : NATSBUS_ENATS;
    }
    b->st.published++;
    return 0;
}

int natsbus_publish(natsbus *b, const char *kind, const void *name, size_t n, const void *data,
                    size_t len)
{
    char *subj;
    int rc;

    if (!name)
        return NATSBUS_EINVAL;
    rc = subject_of(b, kind, name, n, &subj);
    if (rc) {
        b->st.publish_errors++;
        return rc;
    }
    rc = send_msg(b, subj, NULL, data, len);
    free(subj);
    return rc;
}

static void on_request_timeout(net_timer *t, void *arg)
{
    nb_request *r = arg, **pp;
    natsbus *b = r->bus;

    for (pp = &b->reqs; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    net_timer_cancel(t);
    r->fn(r->arg, NULL);
    free(r);
}

int natsbus_request(natsbus *b, const char *kind, const void *name, size_t n, const void *data,
                    size_t len, int64_t timeout_ms, natsbus_reply_fn fn, void *arg)
{
    char reply[180], *subj;
    nb_request *r;
    int rc;

    if (!name || !fn || timeout_ms <= 0)
        return NATSBUS_EINVAL;
    rc = subject_of(b, kind, name, n, &subj);
    if (rc)
        return rc;
    r = calloc(1, sizeof(*r));
    if (!r || !(r->timer = net_timer_add(b->loop, timeout_ms, 0, on_request_timeout, r))) {
        free(r);
        free(subj);
        return NATSBUS_ENOMEM;
    }
    r->bus = b;
    r->id = ++b->req_seq;
    r->fn = fn;
    r->arg = arg;
    snprintf(reply, sizeof(reply), "%s.%llu", b->inbox, (unsigned long long)r->id);
    rc = send_msg(b, subj, reply, data, len);
    free(subj);
    if (rc) {
        net_timer_cancel(r->timer);
        free(r);
        return rc;
    }
    r->next = b->reqs;
    b->reqs = r;
    return 0;
}

int natsbus_respond(natsbus *b, const natsbus_msg *m, const void *data, size_t len)
{
    if (!m->reply)
        return NATSBUS_EINVAL;
    return send_msg(b, m->reply, NULL, data, len);
}
