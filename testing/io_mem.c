/*
 * io_mem.c — the in-memory disk behind testing/io_mem.h.
 *
 * Owns the two images of the one file, the log of unsynced changes, the
 * fault plan, the counters and the lock state. Called by tests and by the
 * pager through the ffdb_io table. It includes only ffdb.h and libc and must
 * never call into the library (it is what the library is tested against),
 * nor run the hook with the mutex held.
 *
 * Invariant: replaying the log, in order, onto the durable image yields the
 * current image. sync replays it all; a crash replays all, none or a random
 * subset and then copies durable into current.
 */
#include "testing/io_mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR     512u
#define BUF_ALIGN  4096u

struct image {
    uint8_t *data;
    uint64_t size, cap;
};

enum log_kind { LOG_WRITE, LOG_SIZE };

struct log_op {
    enum log_kind kind;
    uint64_t offset;   /* write: where; size: the new size */
    uint64_t len;      /* write */
    uint8_t *data;     /* write: a copy of the bytes */
};

struct fault {
    unsigned long countdown; /* 0 = disarmed */
    int code;
    int sticky, firing;
};

/* A submission waiting for its write_wait (async mode). */
struct async_sub {
    struct async_sub *next;
    ffdb_file *file;
    uint64_t ticket;
    const ffdb_io_write *runs;
    size_t run_count;
    uint64_t hash;             /* of the bytes at submit time */
};

struct io_mem {
    pthread_mutex_t lock;
    ffdb_io io;
    unsigned caps;
    int exists;
    struct image durable, current;
    struct log_op *log;
    size_t log_len, log_cap;
    struct fault faults[IO_MEM_OP_COUNT];
    struct io_mem_counts counts;
    uint64_t gen;               /* bumped by crash/remove: older handles are stale */
    unsigned writers, readers;  /* open handles of this generation */
    io_mem_hook_fn hook;
    void *hook_arg;
    uint64_t seq;
    struct async_sub *subs;     /* submissions in flight */
    uint64_t last_ticket;
};

struct ffdb_file {
    struct io_mem *m;
    unsigned flags;
    uint64_t gen;
};

/* ---- images and the log -------------------------------------------------------- */

/* Set img's size; bytes that appear by growth are zero. */
static int image_resize(struct image *img, uint64_t size)
{
    if (size > img->cap) {
        uint64_t cap = img->cap ? img->cap : 65536;
        uint8_t *p;
        while (cap < size)
            cap *= 2;
        if (cap > SIZE_MAX || !(p = realloc(img->data, (size_t)cap)))
            return FFDB_ENOMEM;
        img->data = p;
        img->cap = cap;
    }
    if (size > img->size)
        memset(img->data + img->size, 0, (size_t)(size - img->size));
    img->size = size;
    return 0;
}

static int image_write(struct image *img, uint64_t offset, const void *buf, uint64_t len)
{
    if (len == 0)
        return 0;
    if (offset + len > img->size && image_resize(img, offset + len) < 0)
        return FFDB_ENOMEM;
    memcpy(img->data + offset, buf, (size_t)len);
    return 0;
}

static int image_copy(struct image *dst, const struct image *src)
{
    if (image_resize(dst, src->size) < 0)
        return FFDB_ENOMEM;
    if (src->size)
        memcpy(dst->data, src->data, (size_t)src->size);
    return 0;
}

static void log_clear(struct io_mem *m)
{
    for (size_t i = 0; i < m->log_len; i++)
        free(m->log[i].data);
    m->log_len = 0;
    m->counts.pending = 0;
}

static int log_push(struct io_mem *m, enum log_kind kind, uint64_t offset, const void *buf,
                    uint64_t len)
{
    struct log_op *op;
    if (m->log_len == m->log_cap) {
        size_t cap = m->log_cap ? m->log_cap * 2 : 64;
        struct log_op *p = realloc(m->log, cap * sizeof(*p));
        if (!p)
            return FFDB_ENOMEM;
        m->log = p;
        m->log_cap = cap;
    }
    op = &m->log[m->log_len];
    op->kind = kind;
    op->offset = offset;
    op->len = len;
    op->data = NULL;
    if (kind == LOG_WRITE) {
        if (!(op->data = malloc(len ? (size_t)len : 1)))
            return FFDB_ENOMEM;
        memcpy(op->data, buf, (size_t)len);
    }
    m->log_len++;
    m->counts.pending = m->log_len;
    return 0;
}

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Replay the log onto the durable image: everything (rng NULL) or each
 * sector and size change with probability 1/2. Then clear the log. */
static int log_replay(struct io_mem *m, uint64_t *rng)
{
    int rc = 0;
    for (size_t i = 0; i < m->log_len && rc == 0; i++) {
        const struct log_op *op = &m->log[i];
        if (op->kind == LOG_SIZE) {
            if (!rng || (splitmix(rng) & 1))
                rc = image_resize(&m->durable, op->offset);
            continue;
        }
        if (!rng) {
            rc = image_write(&m->durable, op->offset, op->data, op->len);
            continue;
        }
        for (uint64_t s = 0; s < op->len && rc == 0; s += SECTOR) {
            uint64_t n = op->len - s < SECTOR ? op->len - s : SECTOR;
            if (splitmix(rng) & 1)
                rc = image_write(&m->durable, op->offset + s, op->data + s, n);
        }
    }
    log_clear(m);
    return rc;
}

/* ---- common checks ---------------------------------------------------------------- */

/* Count a call of op and apply the fault plan: 0 or the injected code. */
static int fault_check(struct io_mem *m, enum io_mem_op op)
{
    struct fault *f = &m->faults[op];
    m->counts.calls[op]++;
    if (f->firing)
        return f->code; /* sticky */
    if (f->countdown == 0 || --f->countdown > 0)
        return 0;
    if (f->sticky)
        f->firing = 1;
    return f->code;
}

/* Lock m and check the handle is of the current generation; on error the
 * mutex is released. */
static int enter(ffdb_file *f, enum io_mem_op op)
{
    struct io_mem *m = f->m;
    int rc;
    pthread_mutex_lock(&m->lock);
    rc = fault_check(m, op);
    if (rc == 0 && (f->gen != m->gen || !m->exists))
        rc = FFDB_EIO; /* the disk lost power, or the file was removed */
    if (rc < 0)
        pthread_mutex_unlock(&m->lock);
    return rc;
}

static int aligned(const void *buf, uint64_t len, uint64_t offset)
{
    return (uintptr_t)buf % BUF_ALIGN == 0 && len % SECTOR == 0 && offset % SECTOR == 0;
}

static int run_hook(struct io_mem *m, struct io_mem_event *ev)
{
    io_mem_hook_fn fn;
    void *arg;
    pthread_mutex_lock(&m->lock);
    fn = m->hook;
    arg = m->hook_arg;
    ev->seq = ++m->seq;
    pthread_mutex_unlock(&m->lock);
    return fn ? fn(arg, ev) : 0;
}

/* Forget f's submissions when it closes with some still in flight: a bug
 * of the caller, which tests see in async_in_flight staying above 0. */
static void drop_subs(struct io_mem *m, ffdb_file *f)
{
    for (struct async_sub **pp = &m->subs; *pp;) {
        struct async_sub *s = *pp;
        if (s->file == f) {
            *pp = s->next;
            free(s);
        } else {
            pp = &s->next;
        }
    }
}

/* ---- the ffdb_io table ---------------------------------------------------------------- */

static int mem_open(const ffdb_io *io, const char *path, unsigned flags, ffdb_file **out,
                    unsigned *caps)
{
    struct io_mem *m = io->ctx;
    int rdonly = (flags & FFDB_RDONLY) != 0, rc;
    ffdb_file *f;

    (void)path;
    *out = NULL;
    pthread_mutex_lock(&m->lock);
    rc = fault_check(m, IO_MEM_OPEN);
    if (rc == 0 && !m->exists && (flags & (FFDB_RDONLY | FFDB_NOCREATE)))
        rc = FFDB_NOTFOUND;
    if (rc == 0 && (m->writers || (!rdonly && m->readers)))
        rc = FFDB_ELOCKED;
    if (rc == 0 && !(f = calloc(1, sizeof(*f))))
        rc = FFDB_ENOMEM;
    if (rc == 0) {
        m->exists = 1;
        f->m = m;
        f->flags = flags;
        f->gen = m->gen;
        if (rdonly)
            m->readers++;
        else
            m->writers++;
        *caps = m->caps;
        *out = f;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static void mem_close(ffdb_file *f)
{
    struct io_mem *m;
    if (!f)
        return;
    m = f->m;
    pthread_mutex_lock(&m->lock);
    drop_subs(m, f);
    if (f->gen == m->gen) {
        if (f->flags & FFDB_RDONLY)
            m->readers--;
        else
            m->writers--;
    }
    pthread_mutex_unlock(&m->lock);
    free(f);
}

static int mem_read(ffdb_file *f, void *buf, size_t len, uint64_t offset)
{
    struct io_mem *m = f->m;
    uint64_t have;
    int rc = enter(f, IO_MEM_READ);

    if (rc < 0)
        return rc;
    if (!aligned(buf, len, offset)) {
        pthread_mutex_unlock(&m->lock);
        return FFDB_EINVAL;
    }
    have = offset < m->current.size ? m->current.size - offset : 0;
    if (have > len)
        have = len;
    if (have)
        memcpy(buf, m->current.data + offset, (size_t)have);
    memset((uint8_t *)buf + have, 0, (size_t)(len - have));
    pthread_mutex_unlock(&m->lock);
    return 0;
}

/* Apply one run to the current image and the log. Mutex held. */
static int apply_run(struct io_mem *m, const ffdb_io_write *run, uint64_t len)
{
    uint64_t pos = run->offset;
    uint8_t *flat = malloc(len ? (size_t)len : 1);
    int rc;

    if (!flat)
        return FFDB_ENOMEM;
    for (int i = 0; i < run->iov_count; i++) {
        memcpy(flat + (pos - run->offset), run->iov[i].iov_base, run->iov[i].iov_len);
        pos += run->iov[i].iov_len;
    }
    rc = log_push(m, LOG_WRITE, run->offset, flat, len);
    if (rc == 0 && (rc = image_write(&m->current, run->offset, flat, len)) < 0) {
        free(m->log[--m->log_len].data); /* keep log and current image in step */
        m->counts.pending = m->log_len;
    }
    free(flat);
    if (rc == 0) {
        m->counts.write_runs++;
        m->counts.bytes_written += len;
    }
    return rc;
}

/* Total length of a run, or 0 if it breaks the alignment contract. */
static uint64_t run_length(const ffdb_io_write *run)
{
    uint64_t len = 0;
    if (run->iov_count <= 0 || run->offset % SECTOR)
        return 0;
    for (int i = 0; i < run->iov_count; i++) {
        if (!aligned(run->iov[i].iov_base, run->iov[i].iov_len, 0) || !run->iov[i].iov_len)
            return 0;
        len += run->iov[i].iov_len;
    }
    return len;
}

static int mem_write(ffdb_file *f, const ffdb_io_write *runs, size_t run_count)
{
    struct io_mem *m = f->m;
    int rc = enter(f, IO_MEM_WRITE);

    if (rc < 0)
        return rc;
    pthread_mutex_unlock(&m->lock);
    if (f->flags & FFDB_RDONLY)
        return FFDB_EREADONLY;
    for (size_t i = 0; i < run_count; i++)
        if (run_length(&runs[i]) == 0)
            return FFDB_EINVAL;
    for (size_t i = 0; i < run_count && rc == 0; i++) {
        struct io_mem_event ev = { IO_MEM_WRITE, 0, runs[i].offset, run_length(&runs[i]), 0 };
        rc = run_hook(m, &ev);
        if (rc < 0)
            break;
        pthread_mutex_lock(&m->lock);
        rc = f->gen == m->gen && m->exists ? apply_run(m, &runs[i], ev.len) : FFDB_EIO;
        pthread_mutex_unlock(&m->lock);
    }
    return rc;
}

/* ---- asynchronous writes (io_mem_set_async) ------------------------------------------ */

static uint64_t runs_hash(const ffdb_io_write *runs, size_t run_count)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < run_count; i++)
        for (int j = 0; j < runs[i].iov_count; j++) {
            const uint64_t *w = runs[i].iov[j].iov_base; /* aligned, multiple of 512 */
            for (size_t k = 0; k < runs[i].iov[j].iov_len / 8; k++)
                h = (h ^ w[k]) * 0x100000001b3ull;
        }
    return h;
}

static int mem_write_submit(ffdb_file *f, const ffdb_io_write *runs, size_t run_count,
                            uint64_t *ticket)
{
    struct io_mem *m = f->m;
    struct async_sub *s;
    int rc = enter(f, IO_MEM_SUBMIT);

    *ticket = 0;
    if (rc < 0)
        return rc;
    pthread_mutex_unlock(&m->lock);
    if (f->flags & FFDB_RDONLY)
        return FFDB_EREADONLY;
    for (size_t i = 0; i < run_count; i++)
        if (run_length(&runs[i]) == 0)
            return FFDB_EINVAL;
    if (!(s = calloc(1, sizeof(*s))))
        return FFDB_ENOMEM;
    s->file = f;
    s->runs = runs;
    s->run_count = run_count;
    s->hash = runs_hash(runs, run_count);
    pthread_mutex_lock(&m->lock);
    s->ticket = ++m->last_ticket;
    s->next = m->subs;
    m->subs = s;
    m->counts.async_submits++;
    m->counts.async_in_flight++;
    pthread_mutex_unlock(&m->lock);
    *ticket = s->ticket;
    return 0;
}

static int mem_write_wait(ffdb_file *f, uint64_t ticket)
{
    struct io_mem *m = f->m;
    struct async_sub **pp, *s = NULL;
    int rc;

    if (ticket == 0)
        return 0;
    pthread_mutex_lock(&m->lock);
    for (pp = &m->subs; *pp; pp = &(*pp)->next)
        if ((*pp)->ticket == ticket && (*pp)->file == f) {
            s = *pp;
            *pp = s->next;
            m->counts.async_in_flight--;
            break;
        }
    pthread_mutex_unlock(&m->lock);
    if (!s)
        return FFDB_EINVAL;
    if (runs_hash(s->runs, s->run_count) != s->hash) {
        pthread_mutex_lock(&m->lock);
        m->counts.async_changed++;
        pthread_mutex_unlock(&m->lock);
        rc = FFDB_EINVAL;
    } else {
        rc = mem_write(f, s->runs, s->run_count); /* the disk gets to it now */
    }
    free(s);
    return rc;
}

void io_mem_set_async(struct io_mem *m, int on)
{
    pthread_mutex_lock(&m->lock);
    m->io.write_submit = on ? mem_write_submit : NULL;
    m->io.write_wait = on ? mem_write_wait : NULL;
    pthread_mutex_unlock(&m->lock);
}

static int mem_sync(ffdb_file *f, int full)
{
    struct io_mem *m = f->m;
    struct io_mem_event ev = { IO_MEM_SYNC, 0, 0, 0, full };
    int rc = enter(f, IO_MEM_SYNC), size_changed = 0;

    if (rc < 0)
        return rc;
    for (const struct async_sub *s = m->subs; s; s = s->next)
        if (s->file == f) {
            m->counts.sync_while_in_flight++;
            break;
        }
    pthread_mutex_unlock(&m->lock);
    rc = run_hook(m, &ev);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&m->lock);
    if (f->gen != m->gen || !m->exists) {
        pthread_mutex_unlock(&m->lock);
        return FFDB_EIO;
    }
    for (size_t i = 0; i < m->log_len; i++)
        if (m->log[i].kind == LOG_SIZE || m->log[i].offset + m->log[i].len > m->durable.size)
            size_changed = 1;
    rc = log_replay(m, NULL);
    if (rc == 0 && full)
        m->counts.full_syncs++;
    else if (rc == 0 && size_changed)
        m->counts.datasync_size_changes++;
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_size(ffdb_file *f, uint64_t *bytes)
{
    int rc = enter(f, IO_MEM_SIZE);
    if (rc < 0)
        return rc;
    *bytes = f->m->current.size;
    pthread_mutex_unlock(&f->m->lock);
    return 0;
}

/* grow (only up) and truncate (to exactly bytes) share this. */
static int resize_op(ffdb_file *f, enum io_mem_op op, uint64_t bytes)
{
    struct io_mem *m = f->m;
    int rc = enter(f, op);
    if (rc < 0)
        return rc;
    if (f->flags & FFDB_RDONLY)
        rc = FFDB_EREADONLY;
    else if (op == IO_MEM_GROW && bytes <= m->current.size)
        rc = 0;
    else if ((rc = log_push(m, LOG_SIZE, bytes, NULL, 0)) == 0 &&
             (rc = image_resize(&m->current, bytes)) < 0)
        m->counts.pending = --m->log_len; /* keep log and current image in step */
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_grow(ffdb_file *f, uint64_t bytes)
{
    return resize_op(f, IO_MEM_GROW, bytes);
}

static int mem_truncate(ffdb_file *f, uint64_t bytes)
{
    return resize_op(f, IO_MEM_TRUNCATE, bytes);
}

/* ---- controls ---------------------------------------------------------------------------- */

struct io_mem *io_mem_create(void)
{
    struct io_mem *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->io.open = mem_open;
    m->io.read = mem_read;
    m->io.write = mem_write;
    m->io.sync = mem_sync;
    m->io.size = mem_size;
    m->io.truncate = mem_truncate;
    m->io.grow = mem_grow;
    m->io.close = mem_close;
    m->io.ctx = m;
    return m;
}

void io_mem_destroy(struct io_mem *m)
{
    if (!m)
        return;
    log_clear(m);
    while (m->subs) {
        struct async_sub *s = m->subs;
        m->subs = s->next;
        free(s);
    }
    free(m->log);
    free(m->durable.data);
    free(m->current.data);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

const ffdb_io *io_mem_io(struct io_mem *m)
{
    return &m->io;
}

void io_mem_set_caps(struct io_mem *m, unsigned caps)
{
    pthread_mutex_lock(&m->lock);
    m->caps = caps;
    pthread_mutex_unlock(&m->lock);
}

void io_mem_fail(struct io_mem *m, enum io_mem_op op, unsigned long nth, int code, int sticky)
{
    pthread_mutex_lock(&m->lock);
    m->faults[op].countdown = nth;
    m->faults[op].code = code;
    m->faults[op].sticky = sticky;
    m->faults[op].firing = 0;
    pthread_mutex_unlock(&m->lock);
}

void io_mem_clear_faults(struct io_mem *m)
{
    pthread_mutex_lock(&m->lock);
    memset(m->faults, 0, sizeof(m->faults));
    pthread_mutex_unlock(&m->lock);
}

/* Power loss: the log reaches the disk per mode; handles go stale. Out of
 * memory during the replay leaves a prefix applied, still a possible state. */
void io_mem_crash(struct io_mem *m, enum io_mem_crash_mode mode, uint64_t seed)
{
    uint64_t rng = seed;
    pthread_mutex_lock(&m->lock);
    if (mode == IO_MEM_CRASH_DROP)
        log_clear(m);
    else
        (void)log_replay(m, mode == IO_MEM_CRASH_TEAR ? &rng : NULL);
    (void)image_copy(&m->current, &m->durable);
    m->gen++;
    m->writers = m->readers = 0;
    m->counts.crashes++;
    pthread_mutex_unlock(&m->lock);
}

void io_mem_counts(struct io_mem *m, struct io_mem_counts *out)
{
    pthread_mutex_lock(&m->lock);
    *out = m->counts;
    pthread_mutex_unlock(&m->lock);
}

void io_mem_set_hook(struct io_mem *m, io_mem_hook_fn fn, void *arg)
{
    pthread_mutex_lock(&m->lock);
    m->hook = fn;
    m->hook_arg = arg;
    pthread_mutex_unlock(&m->lock);
}

int io_mem_exists(struct io_mem *m)
{
    int e;
    pthread_mutex_lock(&m->lock);
    e = m->exists;
    pthread_mutex_unlock(&m->lock);
    return e;
}

uint64_t io_mem_durable_size(struct io_mem *m)
{
    uint64_t s;
    pthread_mutex_lock(&m->lock);
    s = m->durable.size;
    pthread_mutex_unlock(&m->lock);
    return s;
}

uint64_t io_mem_current_size(struct io_mem *m)
{
    uint64_t s;
    pthread_mutex_lock(&m->lock);
    s = m->current.size;
    pthread_mutex_unlock(&m->lock);
    return s;
}

size_t io_mem_durable_read(struct io_mem *m, uint64_t offset, void *buf, size_t len)
{
    size_t n = 0;
    pthread_mutex_lock(&m->lock);
    if (offset < m->durable.size) {
        uint64_t have = m->durable.size - offset;
        n = have < len ? (size_t)have : len;
        memcpy(buf, m->durable.data + offset, n);
    }
    pthread_mutex_unlock(&m->lock);
    return n;
}

int io_mem_patch(struct io_mem *m, uint64_t offset, const void *buf, size_t len)
{
    int rc;
    pthread_mutex_lock(&m->lock);
    rc = image_write(&m->durable, offset, buf, len);
    if (rc == 0)
        rc = image_write(&m->current, offset, buf, len);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int io_mem_set_image(struct io_mem *m, const void *buf, size_t len)
{
    int rc;
    pthread_mutex_lock(&m->lock);
    log_clear(m);
    m->durable.size = m->current.size = 0;
    m->exists = 1;
    rc = image_write(&m->durable, 0, buf, len);
    if (rc == 0)
        rc = image_copy(&m->current, &m->durable);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

void io_mem_remove(struct io_mem *m)
{
    pthread_mutex_lock(&m->lock);
    log_clear(m);
    m->durable.size = m->current.size = 0;
    m->exists = 0;
    m->gen++;
    m->writers = m->readers = 0;
    pthread_mutex_unlock(&m->lock);
}
