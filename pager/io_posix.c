/*
 * io_posix.c — the default ffdb_io backend: one file descriptor, O_DIRECT
 * where the filesystem allows it, batched writes through io_uring where the
 * kernel allows it, pwritev otherwise, and an advisory flock() lock.
 *
 * Without O_DIRECT (FFDB_NODIRECT, FFDB_NOSYNC, or a filesystem that
 * refuses it) writes are buffered and go through pwritev, never the ring.
 * A durable handle with O_DIRECT reads direct and writes buffered through
 * a second descriptor (open_write_fd); FFDB_DIRECTWRITE writes direct.
 *
 * Owns the descriptor, the lock and the ring of one open file. Called only
 * by the pager (pager/pager.c) through the ffdb_io table; it knows nothing of
 * pages or checksums. read() and write() may run on several threads at once:
 * reads use pread on the shared descriptor, writes through the ring take
 * ring_lock (one ring per file), pwritev needs no lock. It must never return
 * before a write's buffers are no longer used by the kernel, and never retry
 * a failed fsync (the pager marks itself failed instead).
 *
 * Asynchronous writes (write_submit/write_wait) go through a second ring,
 * set up on the first submission and used by the writer thread only, so
 * their completions never mix with the synchronous ring's. A submission
 * queues one writev per run and returns; its wait reaps completions (its
 * own and, on the way, those of other submissions, which are kept in their
 * slots) and then finishes short, refused or unqueued runs with pwritev,
 * exactly as a synchronous write does. What the ring cannot take (no ring,
 * more runs than it holds, every slot busy, a refused submission) is
 * written synchronously at submit and reported complete (ticket 0).
 *
 * Reads past the end of the file (see ffdb.h) fill the missing bytes with
 * zeros and succeed: the pager knows the file size and decides what is
 * "past the end"; a zero page never passes its checksum.
 *
 * Direct I/O fallback: if open() refuses O_DIRECT (EINVAL), the file is
 * opened buffered. If a direct read or write later fails with EINVAL, O_DIRECT
 * is cleared on the descriptor (fcntl F_SETFL) and the call is retried once;
 * the caps reported at open are not updated.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "ffdb.h"
#include "pager/pager.h"

#define RING_DEPTH    64u  /* SQEs per ring; larger batches are chunked */
#define WRITE_WINDOW  64   /* iovecs per pwritev call in the fallback */
#define OPEN_ATTEMPTS 8    /* create/open races before giving up */
#define ASYNC_SLOTS   8u   /* async submissions in flight per file */
#define ASYNC_RUN_BITS 8   /* user_data = slot << ASYNC_RUN_BITS | run */

_Static_assert(RING_DEPTH <= (1u << ASYNC_RUN_BITS), "a run index fits its bits");

/* One asynchronous submission: its runs (the caller keeps them alive until
 * the wait) and what the completions said. */
struct async_req {
    uint64_t ticket;                 /* 0 = free */
    const ffdb_io_write *runs;
    unsigned run_count;              /* <= RING_DEPTH */
    unsigned owed;                   /* completions not reaped yet */
    size_t done[RING_DEPTH];
    int err[RING_DEPTH];             /* errno of a failed or unqueued run */
};

/* The async ring; writer thread only, so no lock. */
struct async_ring {
    int state;                       /* 0 not set up, 1 usable, -1 refused or abandoned */
    struct io_uring ring;
    unsigned in_flight;              /* SQEs submitted and not reaped, all slots */
    uint64_t last_ticket;
    struct async_req req[ASYNC_SLOTS];
};

struct ffdb_file {
    int fd;
    int wfd;               /* buffered descriptor for writes and syncs, or -1 (see open) */
    int lock_fd;           /* holds the flock; never given to io_uring (see lock_file) */
    unsigned flags;        /* FFDB_* open flags */
    atomic_int direct;     /* O_DIRECT still set on fd */
    atomic_int ring_ok;    /* ring initialised and usable; cleared under ring_lock */
    pthread_mutex_t ring_lock;
    struct io_uring ring;
    struct async_ring *async;  /* allocated on the first write_submit */
};

static atomic_int refuse_direct_for_testing;

void pager_posix_refuse_direct(int on)
{
    atomic_store(&refuse_direct_for_testing, on);
}

/* Raise the FFDB code for errno value e with "what: strerror" as message. */
static int raise_errno(int e, const char *what)
{
    char text[64];
    const char *s = strerror_r(e, text, sizeof(text));
    return ERR_RAISE(err_from_errno(e), PGNO_NONE, "%s: %s", what, s);
}

/* Clear O_DIRECT on the descriptor after the kernel refused a direct
 * transfer; idempotent and safe from several threads. */
static void drop_direct(ffdb_file *f)
{
    int fl;
    if (!atomic_exchange(&f->direct, 0))
        return;
    fl = fcntl(f->fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(f->fd, F_SETFL, fl & ~O_DIRECT);
}

/* ---- open ------------------------------------------------------------------ */

/* open(2) that pretends the filesystem refused O_DIRECT when testing asks. */
static int open_fd(const char *path, int oflags)
{
    if ((oflags & O_DIRECT) && atomic_load(&refuse_direct_for_testing)) {
        errno = EINVAL;
        return -1;
    }
    return open(path, oflags, 0644);
}

/* Open path, creating it if flags allow (O_EXCL so that *created is exact),
 * and dropping O_DIRECT if the filesystem refuses it. */
static int open_file(const char *path, unsigned flags, int *fd, int *created, int *direct)
{
    int base = ((flags & FFDB_RDONLY) ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    int may_create = !(flags & (FFDB_RDONLY | FFDB_NOCREATE));

    /* Without syncs nothing waits for the device: writes land in the page
     * cache (a direct write would wait for the disk at every commit). */
    *direct = !(flags & (FFDB_NODIRECT | FFDB_NOSYNC));
    *created = 0;
    for (int attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
        int dflag = *direct ? O_DIRECT : 0;
        *fd = open_fd(path, base | dflag);
        if (*fd < 0 && errno == ENOENT && may_create) {
            *fd = open_fd(path, base | dflag | O_CREAT | O_EXCL);
            *created = *fd >= 0;
            if (*fd < 0 && errno == EEXIST)
                continue; /* created by someone else meanwhile: open it */
        }
        if (*fd >= 0)
            return 0;
        if (errno == EINVAL && *direct) {
            *direct = 0; /* tmpfs and friends: buffered I/O */
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == ENOENT)
            return ERR_RAISE(FFDB_NOTFOUND, PGNO_NONE, "no such file: %.100s", path);
        return raise_errno(errno, "open");
    }
    return ERR_RAISE(FFDB_EIO, PGNO_NONE, "open of %.100s kept racing with creation", path);
}

/* Take the advisory lock on a descriptor of its own. A flock belongs to the
 * open file description, and an io_uring holds a reference to the data
 * descriptor's one: when a process dies, its ring is torn down
 * asynchronously and would keep the lock alive for a while after the death,
 * so the next open got FFDB_ELOCKED. The lock descriptor is opened anew
 * through /proc/self/fd (the same inode even if the path was replaced) and
 * never used for I/O, so it is released the moment the process ends. */
static int lock_file(int fd, unsigned flags, const char *path, int *lock_fd)
{
    int op = ((flags & FFDB_RDONLY) ? LOCK_SH : LOCK_EX) | LOCK_NB;
    char self[64];
    int lfd;

    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    lfd = open(self, O_RDONLY | O_CLOEXEC);
    if (lfd < 0)
        lfd = open(path, O_RDONLY | O_CLOEXEC);
    if (lfd < 0)
        return raise_errno(errno, "open for locking");
    while (flock(lfd, op) < 0) {
        int e = errno;
        if (e == EINTR)
            continue;
        close(lfd);
        if (e == EWOULDBLOCK)
            return ERR_RAISE(FFDB_ELOCKED, PGNO_NONE,
                             "%.90s is locked by another process or handle", path);
        return raise_errno(e, "flock");
    }
    *lock_fd = lfd;
    return 0;
}

/* Make a newly created file's directory entry durable. */
static int sync_parent_dir(const char *path)
{
    size_t len = strlen(path);
    char *dir = mem_alloc(len + 2);
    char *slash;
    int dfd, rc = 0;

    if (!dir)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "no memory for a path");
    memcpy(dir, path, len + 1);
    slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        rc = raise_errno(errno, "open of the parent directory");
    else if (fsync(dfd) < 0)
        rc = raise_errno(errno, "fsync of the parent directory");
    if (dfd >= 0)
        close(dfd);
    mem_free(dir);
    return rc;
}

/* May this file use a ring at all? Only for direct writes: a buffered
 * write is a copy into the page cache, which io_uring hands to a worker
 * thread (a wake-up and a context switch per run); pwritev does the copy
 * in place, several times faster. */
static int ring_wanted(const ffdb_file *f)
{
    return !(f->flags & (FFDB_NOURING | FFDB_RDONLY)) && atomic_load(&f->direct) && f->wfd < 0;
}

/* The descriptor writes and syncs use. */
static int write_fd(const ffdb_file *f)
{
    return f->wfd >= 0 ? f->wfd : f->fd;
}

/* Durable handles write through the page cache and read direct: a
 * commit's writes are then copies, and its one fdatasync writes them back
 * and flushes in one round trip to the device, where direct writes waited
 * for the device once per batch before the flush (README, "Write path").
 * Reads stay direct (the pool is the cache); a direct read of a page still
 * dirty in the page cache writes it back first (the kernel keeps the two
 * coherent). The second descriptor is opened through /proc/self/fd, so it
 * is the same inode even if the path was replaced. FFDB_DIRECTWRITE keeps
 * direct writes through io_uring. */
static int open_write_fd(ffdb_file *f, const char *path, int direct)
{
    char self[64];
    f->wfd = -1;
    if (!direct || (f->flags & (FFDB_RDONLY | FFDB_DIRECTWRITE)))
        return 0;
    snprintf(self, sizeof(self), "/proc/self/fd/%d", f->fd);
    f->wfd = open(self, O_RDWR | O_CLOEXEC);
    if (f->wfd < 0)
        f->wfd = open(path, O_RDWR | O_CLOEXEC);
    if (f->wfd < 0)
        return raise_errno(errno, "open for buffered writes");
    return 0;
}

/* Set up the ring; on any refusal (ENOSYS, EPERM in sandboxes, ENOMEM for
 * locked memory) the file simply uses pwritev. */
static void ring_setup(ffdb_file *f)
{
    if (!ring_wanted(f))
        return;
    if (io_uring_queue_init(RING_DEPTH, &f->ring, 0) == 0)
        atomic_store(&f->ring_ok, 1);
}

static int posix_open(const ffdb_io *io, const char *path, unsigned flags, ffdb_file **out,
                      unsigned *caps)
{
    ffdb_file *f;
    int created, direct, rc;

    (void)io;
    *out = NULL;
    f = mem_calloc(1, sizeof(*f));
    if (!f)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "no memory for a file handle");
    f->flags = flags;
    rc = open_file(path, flags, &f->fd, &created, &direct);
    if (rc < 0) {
        mem_free(f);
        return rc;
    }
    atomic_init(&f->direct, direct);
    f->lock_fd = -1;
    rc = open_write_fd(f, path, direct);
    if (rc == 0)
        rc = lock_file(f->fd, flags, path, &f->lock_fd);
    if (rc == 0 && created)
        rc = sync_parent_dir(path);
    if (rc < 0) {
        if (f->lock_fd >= 0)
            close(f->lock_fd);
        if (f->wfd >= 0)
            close(f->wfd);
        close(f->fd);
        mem_free(f);
        return rc;
    }
    pthread_mutex_init(&f->ring_lock, NULL);
    ring_setup(f);
    *caps = (direct ? FFDB_IO_DIRECT : 0u) | (atomic_load(&f->ring_ok) ? FFDB_IO_URING : 0u);
    *out = f;
    return 0;
}

static void posix_close(ffdb_file *f)
{
    if (!f)
        return;
    if (atomic_load(&f->ring_ok))
        io_uring_queue_exit(&f->ring);
    if (f->async && f->async->state == 1)
        io_uring_queue_exit(&f->async->ring); /* the pager drained it */
    mem_free(f->async);
    pthread_mutex_destroy(&f->ring_lock);
    if (f->wfd >= 0)
        close(f->wfd);
    close(f->fd);
    close(f->lock_fd); /* releases the flock */
    mem_free(f);
}

/* ---- read ------------------------------------------------------------------ */

static int at_eof(ffdb_file *f, uint64_t pos)
{
    struct stat st;
    return fstat(f->fd, &st) == 0 && (uint64_t)st.st_size <= pos;
}

/* Read into the iov_count buffers back to back from offset with preadv,
 * resuming after short reads; past the end of the file reads as zeros. */
static int posix_read_v(ffdb_file *f, const struct iovec *iov_in, int iov_count, uint64_t offset)
{
    struct iovec iov[IOV_MAX];
    int first = 0, retried = 0;

    assert(iov_count > 0 && iov_count <= IOV_MAX);
    memcpy(iov, iov_in, (size_t)iov_count * sizeof(*iov));
    while (first < iov_count) {
        ssize_t r = preadv(f->fd, iov + first, iov_count - first, (off_t)offset);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EINVAL && !retried) {
                retried = 1;
                drop_direct(f);
                continue;
            }
            return raise_errno(errno, "preadv");
        }
        if (r == 0)
            break; /* end of file */
        offset += (uint64_t)r;
        /* Step over the buffers the read filled; trim the one it ended in. */
        while (first < iov_count && (size_t)r >= iov[first].iov_len)
            r -= (ssize_t)iov[first++].iov_len;
        if (first < iov_count && r > 0) {
            iov[first].iov_base = (uint8_t *)iov[first].iov_base + r;
            iov[first].iov_len -= (size_t)r;
        }
        if (first < iov_count && at_eof(f, offset))
            break;
    }
    for (; first < iov_count; first++) /* past the end */
        memset(iov[first].iov_base, 0, iov[first].iov_len);
    return 0;
}

/* One buffer: the vectored read with a single iovec. */
static int posix_read(ffdb_file *f, void *buf, size_t len, uint64_t offset)
{
    struct iovec v = {.iov_base = buf, .iov_len = len};
    return posix_read_v(f, &v, 1, offset);
}

/* ---- write ----------------------------------------------------------------- */

static size_t run_bytes(const ffdb_io_write *run)
{
    size_t total = 0;
    for (int i = 0; i < run->iov_count; i++)
        total += run->iov[i].iov_len;
    return total;
}

/* Write the run from byte skip onwards with pwritev, IOV windows at a time,
 * resuming after short writes. */
static int write_run_sync(ffdb_file *f, const ffdb_io_write *run, size_t skip)
{
    struct iovec win[WRITE_WINDOW];
    uint64_t pos = run->offset + skip;
    size_t into = skip; /* bytes already written of iov[i] */
    int i = 0, retried = 0;

    for (;;) {
        int n = 0;
        ssize_t w;
        while (i < run->iov_count && into >= run->iov[i].iov_len)
            into -= run->iov[i++].iov_len;
        if (i == run->iov_count)
            return 0;
        for (int j = i; j < run->iov_count && n < WRITE_WINDOW; j++)
            win[n++] = run->iov[j];
        win[0].iov_base = (uint8_t *)win[0].iov_base + into;
        win[0].iov_len -= into;
        w = pwritev(write_fd(f), win, n, (off_t)pos);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EINVAL && !retried) {
                retried = 1;
                drop_direct(f);
                continue;
            }
            return raise_errno(errno, "pwritev");
        }
        if (w == 0)
            return ERR_RAISE(FFDB_EIO, PGNO_NONE, "pwritev wrote nothing at byte %llu",
                             (unsigned long long)pos);
        pos += (uint64_t)w;
        into += (size_t)w;
    }
}

/* Errors a ring completion may report that a synchronous retry can fix. */
static int ring_retryable(int e)
{
    return e == EINVAL || e == EAGAIN || e == EINTR || e == ECANCELED || e == EOPNOTSUPP;
}

/* Tear the ring down after the kernel refused a submission; later writes
 * use pwritev. Called with ring_lock held and nothing in flight. */
static void ring_abandon(ffdb_file *f)
{
    atomic_store(&f->ring_ok, 0);
    io_uring_queue_exit(&f->ring);
}

/* Queue one writev SQE per run; runs the ring cannot take are marked for
 * the synchronous path (err EAGAIN). Returns the number queued. */
static unsigned ring_queue(ffdb_file *f, const ffdb_io_write *runs, unsigned n, int *err)
{
    unsigned queued = 0;
    for (unsigned i = 0; i < n; i++) {
        struct io_uring_sqe *sqe = NULL;
        if (runs[i].iov_count <= IOV_MAX)
            sqe = io_uring_get_sqe(&f->ring);
        if (!sqe) {
            err[i] = EAGAIN;
            continue;
        }
        io_uring_prep_writev(sqe, f->fd, runs[i].iov, (unsigned)runs[i].iov_count,
                             runs[i].offset);
        io_uring_sqe_set_data64(sqe, i);
        queued++;
    }
    return queued;
}

/* Reap exactly count completions into done/err (indexed by run), waiting
 * for all that are still owed in one call each round. */
static int ring_reap(ffdb_file *f, unsigned count, unsigned n, size_t *done, int *err)
{
    while (count > 0) {
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        int w = io_uring_wait_cqe_nr(&f->ring, &cqe, count);
        if (w == -EINTR)
            continue;
        if (w < 0)
            return raise_errno(-w, "io_uring_wait_cqe");
        io_uring_for_each_cqe(&f->ring, head, cqe)
        {
            uint64_t idx = io_uring_cqe_get_data64(cqe);
            if (idx < n && cqe->res < 0)
                err[idx] = -cqe->res;
            else if (idx < n)
                done[idx] = (size_t)cqe->res;
            if (++seen == count)
                break;
        }
        io_uring_cq_advance(&f->ring, seen);
        count -= seen;
    }
    return 0;
}

/* Submit up to RING_DEPTH runs, wait for every completion, then finish any
 * short, refused or unsubmitted run with pwritev. ring_lock is held. */
static int ring_write_chunk(ffdb_file *f, const ffdb_io_write *runs, unsigned n)
{
    size_t done[RING_DEPTH] = { 0 };
    int err[RING_DEPTH] = { 0 };
    unsigned queued = ring_queue(f, runs, n, err), submitted = 0;
    int rc = 0;

    while (submitted < queued) {
        int s = io_uring_submit(&f->ring);
        if (s == -EINTR)
            continue;
        if (s <= 0)
            break;
        submitted += (unsigned)s;
    }
    rc = ring_reap(f, submitted, n, done, err);
    if (submitted < queued || rc < 0) {
        /* The kernel refused a submission (or the ring broke): leave it. */
        ring_abandon(f);
        if (rc < 0)
            return rc;
        for (unsigned i = 0; i < n; i++)
            if (!err[i] && !done[i])
                err[i] = EAGAIN; /* never submitted */
    }
    for (unsigned i = 0; i < n && rc == 0; i++) {
        if (err[i] && !ring_retryable(err[i]))
            rc = raise_errno(err[i], "io_uring writev");
        else if (err[i] || done[i] < run_bytes(&runs[i]))
            rc = write_run_sync(f, &runs[i], done[i]);
    }
    return rc;
}

static int posix_write(ffdb_file *f, const ffdb_io_write *runs, size_t run_count)
{
    size_t i = 0;
    int rc = 0;

    if (atomic_load(&f->ring_ok)) {
        pthread_mutex_lock(&f->ring_lock);
        while (rc == 0 && i < run_count && atomic_load(&f->ring_ok)) {
            unsigned n = run_count - i < RING_DEPTH ? (unsigned)(run_count - i) : RING_DEPTH;
            rc = ring_write_chunk(f, runs + i, n);
            i += n;
        }
        pthread_mutex_unlock(&f->ring_lock);
    }
    for (; rc == 0 && i < run_count; i++)
        rc = write_run_sync(f, &runs[i], 0);
    return rc;
}

/* ---- asynchronous writes ------------------------------------------------------ */

/* The async ring, set up on first use; NULL when it cannot be had. */
static struct async_ring *async_ring(ffdb_file *f)
{
    struct async_ring *a = f->async;
    if (!ring_wanted(f))
        return NULL;
    if (!a) {
        a = f->async = mem_calloc(1, sizeof(*a));
        if (!a)
            return NULL;
        a->state = io_uring_queue_init(RING_DEPTH, &a->ring, 0) == 0 ? 1 : -1;
    }
    return a->state == 1 ? a : NULL;
}

/* Reap every completion available, waiting for at least min of them, into
 * the slots they belong to. */
static int async_reap(struct async_ring *a, unsigned min)
{
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    int w;

    do
        w = min ? io_uring_wait_cqe_nr(&a->ring, &cqe, min) : io_uring_peek_cqe(&a->ring, &cqe);
    while (w == -EINTR);
    if (w == -EAGAIN && min == 0)
        return 0;
    if (w < 0)
        return raise_errno(-w, "io_uring_wait_cqe");
    io_uring_for_each_cqe(&a->ring, head, cqe)
    {
        uint64_t data = io_uring_cqe_get_data64(cqe);
        unsigned slot = (unsigned)(data >> ASYNC_RUN_BITS);
        unsigned run = (unsigned)(data & ((1u << ASYNC_RUN_BITS) - 1));
        struct async_req *r = slot < ASYNC_SLOTS ? &a->req[slot] : NULL;
        seen++;
        if (!r || !r->ticket || run >= r->run_count || !r->owed)
            continue; /* not ours: cannot happen */
        if (cqe->res < 0)
            r->err[run] = -cqe->res;
        else
            r->done[run] = (size_t)cqe->res;
        r->owed--;
    }
    io_uring_cq_advance(&a->ring, seen);
    a->in_flight -= seen <= a->in_flight ? seen : a->in_flight;
    return 0;
}

/* Finish a request whose completions are all in: pwritev what the ring
 * refused, cut short or never got, and free the slot. */
static int async_complete(ffdb_file *f, struct async_req *r)
{
    int rc = 0;
    assert(r->owed == 0);
    for (unsigned i = 0; i < r->run_count && rc == 0; i++) {
        if (r->err[i] && !ring_retryable(r->err[i]))
            rc = raise_errno(r->err[i], "io_uring writev");
        else if (r->err[i] || r->done[i] < run_bytes(&r->runs[i]))
            rc = write_run_sync(f, &r->runs[i], r->done[i]);
    }
    r->ticket = 0;
    return rc;
}

/* The kernel refused a submission: reap everything still owed, so no
 * buffer stays in the kernel's hands, and give the ring up. Requests keep
 * their results for their waits. */
static void async_abandon(struct async_ring *a)
{
    while (a->in_flight > 0)
        if (async_reap(a, 1) < 0)
            break;
    for (unsigned s = 0; s < ASYNC_SLOTS; s++)
        a->req[s].owed = 0; /* what was not reaped is retried with pwritev */
    io_uring_queue_exit(&a->ring);
    a->state = -1;
}

static int posix_write_submit(ffdb_file *f, const ffdb_io_write *runs, size_t run_count,
                              uint64_t *ticket)
{
    struct async_ring *a = async_ring(f);
    struct async_req *r = NULL;
    unsigned queued = 0, submitted = 0, slot = 0;

    *ticket = 0;
    if (a && run_count <= RING_DEPTH)
        while (slot < ASYNC_SLOTS && a->req[slot].ticket)
            slot++;
    if (a && run_count <= RING_DEPTH && slot < ASYNC_SLOTS)
        r = &a->req[slot];
    if (!r)
        return posix_write(f, runs, run_count); /* complete: ticket 0 */
    /* Never more SQEs in flight than the ring holds, so the CQ cannot overflow. */
    while (a->in_flight + run_count > RING_DEPTH)
        CHECK(async_reap(a, 1));
    memset(r, 0, sizeof(*r));
    r->runs = runs;
    r->run_count = (unsigned)run_count;
    for (unsigned i = 0; i < r->run_count; i++) {
        struct io_uring_sqe *sqe = NULL;
        if (runs[i].iov_count <= IOV_MAX)
            sqe = io_uring_get_sqe(&a->ring);
        if (!sqe) {
            r->err[i] = EAGAIN; /* pwritev at the wait */
            continue;
        }
        io_uring_prep_writev(sqe, f->fd, runs[i].iov, (unsigned)runs[i].iov_count,
                             runs[i].offset);
        io_uring_sqe_set_data64(sqe, ((uint64_t)slot << ASYNC_RUN_BITS) | i);
        queued++;
    }
    r->ticket = ++a->last_ticket;
    while (submitted < queued) {
        int s = io_uring_submit(&a->ring);
        if (s == -EINTR)
            continue;
        if (s <= 0)
            break;
        submitted += (unsigned)s;
    }
    r->owed = submitted;
    a->in_flight += submitted;
    if (submitted < queued) {
        /* Queued SQEs the kernel did not take would go out with the next
         * submission: leave the ring and finish this batch now. */
        for (unsigned i = 0; i < r->run_count; i++)
            if (!r->err[i] && !r->done[i])
                r->err[i] = EAGAIN;
        async_abandon(a);
        return async_complete(f, r);
    }
    *ticket = ((uint64_t)slot << 56) | r->ticket;
    return 0;
}

static int posix_write_wait(ffdb_file *f, uint64_t ticket)
{
    struct async_ring *a = f->async;
    unsigned slot = (unsigned)(ticket >> 56);
    struct async_req *r;

    if (ticket == 0)
        return 0;
    if (!a || slot >= ASYNC_SLOTS || a->req[slot].ticket != (ticket & ((1ull << 56) - 1)))
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "no asynchronous write %llu in flight",
                         (unsigned long long)ticket);
    r = &a->req[slot];
    while (r->owed > 0) {
        int rc = async_reap(a, r->owed);
        if (rc < 0) {
            async_abandon(a); /* the ring broke: no buffer may stay in it */
            break;
        }
    }
    return async_complete(f, r);
}

/* ---- sync, size, growth ------------------------------------------------------ */

static int posix_sync(ffdb_file *f, int full)
{
    int r = full ? fsync(write_fd(f)) : fdatasync(write_fd(f));
    if (r < 0)
        return raise_errno(errno, full ? "fsync" : "fdatasync");
    return 0;
}

static int posix_size(ffdb_file *f, uint64_t *bytes)
{
    struct stat st;
    if (fstat(f->fd, &st) < 0)
        return raise_errno(errno, "fstat");
    *bytes = (uint64_t)st.st_size;
    return 0;
}

static int posix_truncate(ffdb_file *f, uint64_t bytes)
{
    while (ftruncate(f->fd, (off_t)bytes) < 0) {
        if (errno != EINTR)
            return raise_errno(errno, "ftruncate");
    }
    return 0;
}

static int posix_grow(ffdb_file *f, uint64_t bytes)
{
    uint64_t cur;
    CHECK(posix_size(f, &cur));
    if (cur >= bytes)
        return 0;
    while (fallocate(f->fd, 0, (off_t)cur, (off_t)(bytes - cur)) < 0) {
        if (errno == EINTR)
            continue;
        if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)
            return posix_truncate(f, bytes); /* sparse growth is fine too */
        return raise_errno(errno, "fallocate");
    }
    return 0;
}

static const ffdb_io posix_io = {
    .open = posix_open,
    .read = posix_read,
    .write = posix_write,
    .sync = posix_sync,
    .size = posix_size,
    .truncate = posix_truncate,
    .grow = posix_grow,
    .close = posix_close,
    .ctx = NULL,
    .write_submit = posix_write_submit,
    .write_wait = posix_write_wait,
    .read_v = posix_read_v,
};

const ffdb_io *ffdb_io_posix(void)
{
    return &posix_io;
}
