/*
 * process.c — mode 1, process crash: a writer child on a real file,
 * killed with SIGKILL.
 *
 * Per seed, one file and a chain of generations. Each generation forks a
 * child that opens the file (the first creates it), adopts what it holds
 * as its model (workload.c), and runs random transactions until it dies.
 * Over a pipe it tells the parent "ready" with the state it found,
 * "committing txid T digest D" just before ffdb_commit and "committed" once
 * it returned 0. It dies in one of two ways, chosen per (seed, generation):
 *  - the parent sends SIGKILL after a random delay (100 us .. 300 ms), so
 *    the kill lands anywhere, inside io_uring batches and syncs included;
 *  - the child kills itself at its N-th write or sync call, after writing
 *    a random prefix (whole 4 KiB blocks) of that write's runs: a kill
 *    after N bytes, exact and replayable.
 * The parent then reopens the file and verifies it (verify.c): clean, and
 * exactly the last acknowledged commit or the one in flight. The next
 * generation continues on the same file. Point K of a seed is generation K
 * (a replay runs generations 1..K again).
 *
 * The child checks the commit's write ordering on its own write and sync
 * calls (struct order), on a wrapper around ffdb_io_posix(). Real files go
 * to --dir (default $TMPDIR or /tmp), with direct I/O where the file system
 * allows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/crash/crash.h"

enum { MSG_READY = 1, MSG_BEGIN = 2, MSG_DONE = 3 };

struct msg {
    uint32_t type;
    uint32_t pad;
    uint64_t txid;
    uint64_t digest;
};

#define CHILD_TXNS 400 /* a child that is never killed stops here */
#define EXIT_OPEN 10
#define EXIT_ADOPT 11
#define EXIT_TXN 12
#define EXIT_ORDER 13
#define IO_BLOCK 4096u  /* a self-kill cuts a write at this granularity */
#define LOCK_TRIES 5000 /* ms to wait for a dead child's lock to go */

/* ---- the child ---------------------------------------------------------------------------- */

static struct {
    const ffdb_io *posix;
    ffdb_io io;
    struct order order;
    uint64_t events, kill_at;
    struct rng cut;
    int fd;
} child;

static int c_open(const ffdb_io *io, const char *path, unsigned flags, ffdb_file **f,
                  unsigned *caps)
{
    (void)io;
    return child.posix->open(child.posix, path, flags, f, caps);
}

static int c_read(ffdb_file *f, void *buf, size_t len, uint64_t offset)
{
    return child.posix->read(f, buf, len, offset);
}

/* Write whole blocks of runs up to cut bytes, then die. */
static void write_prefix_and_die(ffdb_file *f, const ffdb_io_write *runs, size_t count)
{
    uint64_t total = 0, cut, done = 0;
    ffdb_io_write *r = calloc(count ? count : 1, sizeof(*r));
    struct iovec *iov;
    size_t nr = 0, niov = 0, iov_total = 0;
    for (size_t i = 0; i < count; i++) {
        iov_total += (size_t)runs[i].iov_count;
        for (int j = 0; j < runs[i].iov_count; j++)
            total += runs[i].iov[j].iov_len;
    }
    iov = calloc(iov_total ? iov_total : 1, sizeof(*iov));
    if (!r || !iov)
        abort();
    cut = rng_below(&child.cut, total / IO_BLOCK + 1) * IO_BLOCK;
    for (size_t i = 0; i < count && done < cut; i++) {
        r[nr].offset = runs[i].offset;
        r[nr].iov = &iov[niov];
        r[nr].iov_count = 0;
        for (int j = 0; j < runs[i].iov_count && done < cut; j++) {
            size_t len = runs[i].iov[j].iov_len;
            if (len > cut - done)
                len = (size_t)(cut - done);
            iov[niov].iov_base = runs[i].iov[j].iov_base;
            iov[niov].iov_len = len;
            niov++;
            r[nr].iov_count++;
            done += len;
        }
        nr++;
    }
    if (nr)
        (void)child.posix->write(f, r, nr);
    raise(SIGKILL);
    abort();
}

static int c_write(ffdb_file *f, const ffdb_io_write *runs, size_t count)
{
    int rc;
    if (++child.events == child.kill_at)
        write_prefix_and_die(f, runs, count);
    for (size_t i = 0; i < count; i++) {
        uint64_t len = 0;
        for (int j = 0; j < runs[i].iov_count; j++)
            len += runs[i].iov[j].iov_len;
        order_write(&child.order, runs[i].offset, len);
    }
    rc = child.posix->write(f, runs, count);
    return rc;
}

static int c_sync(ffdb_file *f, int full)
{
    int rc;
    if (++child.events == child.kill_at)
        raise(SIGKILL);
    rc = child.posix->sync(f, full);
    if (rc == 0)
        order_sync(&child.order);
    return rc;
}

static int c_size(ffdb_file *f, uint64_t *bytes)
{
    return child.posix->size(f, bytes);
}

static int c_truncate(ffdb_file *f, uint64_t bytes)
{
    return child.posix->truncate(f, bytes);
}

static int c_grow(ffdb_file *f, uint64_t bytes)
{
    return child.posix->grow(f, bytes);
}

static void c_close(ffdb_file *f)
{
    child.posix->close(f);
}

static void send_msg(uint32_t type, uint64_t txid, uint64_t digest)
{
    struct msg m = {type, 0, txid, digest};
    if (write(child.fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
        _exit(EXIT_TXN); /* the parent is gone */
}

static void on_begin(void *arg, uint64_t txid, uint64_t digest)
{
    (void)arg;
    send_msg(MSG_BEGIN, txid, digest);
}

static void on_done(void *arg, uint64_t txid, uint64_t digest)
{
    (void)arg;
    send_msg(MSG_DONE, txid, digest);
}

struct gen_cfg {
    unsigned page_size;
    size_t frames;
    unsigned flags;
    uint64_t kill_at;  /* self-kill at this write/sync call; 0 = the parent kills */
    uint64_t delay_us; /* parent's kill delay after "ready" */
    struct wl_params wl;
};

static void make_gen(const struct opts *o, uint64_t seed, uint64_t gen, struct gen_cfg *g)
{
    struct rng r = {seed_mix(seed, 100 + gen)};
    struct rng s = {seed_mix(seed, 99)}; /* per file: the page size is fixed at creation */
    static const size_t frames[] = {16, 64, 1024};
    g->page_size = rng_chance(&s, 800) ? 4096 : 16384;
    g->frames = frames[rng_below(&r, 3)];
    g->flags = rng_chance(&r, 250) ? FFDB_NOURING : 0;
    g->kill_at = rng_chance(&r, 500) ? rng_range(&r, 1, 300) : 0;
    /* roughly log-uniform, 100 us .. 400 ms */
    {
        uint64_t base = 100ull << rng_below(&r, 12);
        g->delay_us = base + rng_below(&r, base);
    }
    g->wl.max_ops = o->size == SIZE_QUICK ? 100 : 300;
    g->wl.max_value = o->size == SIZE_QUICK ? 64 * 1024 : 300 * 1024;
    g->wl.max_bulk = o->size == SIZE_QUICK ? 600 : 2500;
}

static void child_main(const char *path, uint64_t seed, uint64_t gen, const struct gen_cfg *g,
                       int fd)
{
    ffdb_options opt;
    ffdb *db;
    struct workload w;
    struct wl_hooks hooks = {on_begin, on_done, NULL};
    int rc;

    child.fd = fd;
    child.posix = ffdb_io_posix();
    child.io.open = c_open;
    child.io.read = c_read;
    child.io.write = c_write;
    child.io.sync = c_sync;
    child.io.size = c_size;
    child.io.truncate = c_truncate;
    child.io.grow = c_grow;
    child.io.close = c_close;
    order_init(&child.order, g->page_size);
    child.cut.s = seed_mix(seed, 200 + gen);
    memset(&opt, 0, sizeof(opt));
    opt.io = &child.io;
    opt.page_size = g->page_size;
    opt.buffer_pages = g->frames;
    opt.flags = g->flags;
    rc = ffdb_open(path, &opt, &db);
    if (rc) {
        fprintf(stderr, "ffdb-crash child: open: %s\n", ffdb_strerror(rc));
        _exit(EXIT_OPEN);
    }
    wl_init(&w, seed_mix(seed, 300 + gen), &g->wl);
    if (gen > 1 && wl_adopt(&w, db) != 0) {
        fprintf(stderr, "ffdb-crash child: adopting the file: %s\n", w.err);
        _exit(EXIT_ADOPT);
    }
    send_msg(MSG_READY, w.acked_txid, w.acked_digest);
    child.events = 0;
    child.kill_at = g->kill_at;
    for (unsigned i = 0; i < CHILD_TXNS; i++) {
        rc = wl_txn(&w, db, &hooks);
        if (rc) {
            fprintf(stderr, "ffdb-crash child: txn %u: %s\n", i, w.err);
            _exit(EXIT_TXN);
        }
        if (child.order.violations) {
            fprintf(stderr, "ffdb-crash child: write ordering: %s\n", child.order.first);
            _exit(EXIT_ORDER);
        }
    }
    ffdb_close(db);
    wl_free(&w);
    _exit(0);
}

/* ---- the parent --------------------------------------------------------------------------- */

struct seen {
    int ready;
    uint64_t acked_txid, acked_digest;
    int inflight;
    uint64_t inflight_txid, inflight_digest;
    uint64_t commits;
};

static void take(struct seen *s, const struct msg *m)
{
    switch (m->type) {
    case MSG_READY:
        s->ready = 1;
        s->acked_txid = m->txid;
        s->acked_digest = m->digest;
        break;
    case MSG_BEGIN:
        s->inflight = 1;
        s->inflight_txid = m->txid;
        s->inflight_digest = m->digest;
        break;
    case MSG_DONE:
        s->inflight = 0;
        s->acked_txid = m->txid;
        s->acked_digest = m->digest;
        s->commits++;
        break;
    default:
        break;
    }
}

/* Read what is there (waiting at most timeout_ms, -1 = until EOF or data).
 * Returns 0 on data or timeout, 1 at EOF. */
static int pump(int fd, struct seen *s, uint8_t *buf, size_t *have, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    ssize_t n;
    int rc = poll(&p, 1, timeout_ms);
    if (rc <= 0)
        return 0;
    n = read(fd, buf + *have, 4096 - *have);
    if (n <= 0)
        return n == 0 || errno != EINTR;
    *have += (size_t)n;
    while (*have >= sizeof(struct msg)) {
        struct msg m;
        memcpy(&m, buf, sizeof(m));
        take(s, &m);
        memmove(buf, buf + sizeof(m), *have - sizeof(m));
        *have -= sizeof(m);
    }
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One generation: fork, kill, verify. 0, or -1 after reporting. */
static int generation(const struct opts *o, struct tally *t, const char *path, uint64_t seed,
                      uint64_t gen)
{
    struct gen_cfg g;
    struct seen s;
    uint8_t buf[4096];
    size_t have = 0;
    int p[2], status = 0, eof = 0, killed_inside = 0;
    pid_t pid;
    double deadline = 0, limit;
    struct expect e;
    int which = 0;
    char why[512];

    point_begin(t, o, seed, gen);
    make_gen(o, seed, gen, &g);
    memset(&s, 0, sizeof(s));
    if (pipe(p) != 0) {
        perror("pipe");
        exit(2);
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        close(p[0]);
        child_main(path, seed, gen, &g, p[1]);
    }
    close(p[1]);
    limit = now_ms() + 60000; /* a child that neither dies nor finishes is a hang */
    while (!eof && now_ms() < limit) {
        int wait_ms = 100;
        if (s.ready && !g.kill_at && deadline == 0)
            deadline = now_ms() + (double)g.delay_us / 1000.0;
        if (deadline > 0) {
            double left = deadline - now_ms();
            if (left <= 0) {
                killed_inside = s.inflight;
                kill(pid, SIGKILL);
                deadline = -1; /* killed: now read what it said until EOF */
                continue;
            }
            wait_ms = left < 1 ? 0 : (int)left;
            if (left < 1) {
                /* spin the last millisecond for a finer kill moment */
                while (now_ms() < deadline)
                    pump(p[0], &s, buf, &have, 0);
                continue;
            }
        }
        eof = pump(p[0], &s, buf, &have, wait_ms);
    }
    if (!eof)
        kill(pid, SIGKILL);
    while (!eof)
        eof = pump(p[0], &s, buf, &have, -1);
    close(p[0]);
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        fail_point(t, o, seed, gen, "the writer child failed (exit %d)", WEXITSTATUS(status));
        return -1;
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
        fail_point(t, o, seed, gen, "the writer child died of signal %d", WTERMSIG(status));
        return -1;
    }
    if (!s.ready) {
        fail_point(t, o, seed, gen, "the writer child died before it was ready");
        return -1;
    }
    if (g.kill_at)
        killed_inside = s.inflight;
    t->note[0] += WIFSIGNALED(status);
    t->note[1] += (uint64_t)killed_inside;
    memset(&e, 0, sizeof(e));
    e.acked_txid = s.acked_txid;
    e.acked_digest = s.acked_digest;
    e.inflight_possible = s.inflight;
    e.inflight_txid = s.inflight_txid;
    e.inflight_digest = s.inflight_digest;
    vlog(o, "  process seed %llu generation %llu: %s after %llu commits%s",
         (unsigned long long)seed, (unsigned long long)gen,
         !WIFSIGNALED(status) ? "finished"
         : g.kill_at          ? "killed itself at an I/O call"
                              : "killed by the parent",
         (unsigned long long)s.commits, s.inflight ? ", inside a commit" : "");
    /* The lock goes with the file description, and an io_uring that had
     * requests in flight releases it a little after its process was reaped. */
    for (int tries = 0;; tries++) {
        ffdb *db = NULL;
        int rc = ffdb_open(path, NULL, &db);
        ffdb_close(db);
        if (rc != FFDB_ELOCKED || tries == LOCK_TRIES)
            break;
        if (tries == 0)
            t->note[3]++;
        usleep(1000);
    }
    if (verify_reopen(path, NULL, &e, &which, NULL, why, sizeof(why)) != 0) {
        fail_point(t, o, seed, gen, "%s%s: %s",
                   g.kill_at ? "self-kill at an I/O call" : "SIGKILL after a delay",
                   s.inflight ? " inside a commit" : "", why);
        return -1;
    }
    t->note[2] += (uint64_t)which;
    return 0;
}

void mode_process(const struct opts *o, struct tally *t)
{
    unsigned seeds, gens;
    char dir[512];
    t->note_name[0] = "killed";
    t->note_name[1] = "inside a commit";
    t->note_name[2] = "in-flight commits recovered";
    t->note_name[3] = "locks that outlived their process";
    snprintf(dir, sizeof(dir), "%s/ffdb-crash-XXXXXX", o->dir);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "ffdb-crash: mkdtemp in %s: %s\n", o->dir, strerror(errno));
        t->failed++;
        return;
    }
    seeds = o->size == SIZE_QUICK ? 2 : o->size == SIZE_THOROUGH ? 60 : 10;
    gens = o->size == SIZE_QUICK ? 6 : o->size == SIZE_THOROUGH ? 12 : 8;
    seeds = (unsigned)(seeds * o->scale + 0.5);
    if (o->have_point) {
        seeds = 1;
        gens = (unsigned)o->point;
    }
    for (unsigned i = 0; i < seeds; i++) {
        uint64_t seed = o->seed + i;
        char path[600];
        snprintf(path, sizeof(path), "%s/p%llu.ffdb", dir, (unsigned long long)seed);
        unlink(path);
        for (unsigned gen = 1; gen <= gens; gen++) {
            if (!o->have_point || gen == gens)
                t->points++;
            if (generation(o, t, path, seed, gen) != 0)
                break; /* the file is suspect: the next generation would only repeat it */
        }
        unlink(path);
    }
    rmdir(dir);
}
