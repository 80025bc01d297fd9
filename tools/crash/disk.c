/*
 * disk.c — the disk under the engine in the in-process modes (power, ioerr,
 * exhaustive): an ffdb_io table that forwards every call to a
 * testing/io_mem disk, plus io_mem's ordering hook.
 *
 * Owns the event count (each write run and each sync is one crash point),
 * the ordering assertion (struct order, also used by process.c on real
 * files), the copy of every write since the last sync (to build reordered
 * crash images, which io_mem cannot), and the capture of a meta write for
 * the torn-meta cases. The hook runs before io_mem applies a run or a sync;
 * it crashes by calling io_mem_crash() (or io_mem_set_image() for a
 * reordered image) and failing the call with FFDB_EIO, as a dead disk would.
 *
 * One disk is active at a time (the forwarding functions find it through
 * a static pointer): the harness is single-threaded in these modes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/crash/crash.h"

#define SECTOR 512u

const char *const crash_kind_name[CRASH_KINDS + 1] = {"drop", "keep", "tear", "reorder", "kill"};

static struct disk *active;

/* ---- the ordering assertion --------------------------------------------------------- */

void order_init(struct order *o, unsigned page_size)
{
    memset(o, 0, sizeof(*o));
    o->page_size = page_size;
    o->armed = 1;
}

static void violation(struct order *o, const char *fmt, unsigned long long a)
{
    if (o->violations++ == 0)
        snprintf(o->first, sizeof(o->first), fmt, a);
}

/* A creation writes both metas in one run [0, 2 pages): that is one meta
 * write, allowed like any other. */
void order_write(struct order *o, uint64_t offset, uint64_t len)
{
    uint64_t meta_end = 2ull * o->page_size;
    int meta = offset<meta_end, data = offset + len> meta_end;
    if (!o->armed)
        return;
    if (meta && data)
        violation(o, "one write covers a meta page and data pages (offset %llu)",
                  (unsigned long long)offset);
    if (meta) {
        /* A one-flush commit writes its meta beside its unsynced pages
         * (they are named in its commit list, verified at open), with
         * FFDB_NOMETASYNC too (E10): only the meta before it must be
         * durable by then. */
        if (o->meta_unsynced && !o->defersync)
            violation(o, "meta page %llu written while the previous meta was not yet synced",
                      (unsigned long long)(offset / o->page_size));
        o->meta_unsynced = 1;
        o->meta_writes++;
    }
    /* Pages after an unsynced meta: the next commit's with FFDB_NOMETASYNC;
     * otherwise the commit list of the meta's own one-flush commit, which
     * goes out in the same batch (the pager writes in pgno order). */
    if (data)
        o->data_unsynced = 1;
}

void order_sync(struct order *o)
{
    o->data_unsynced = 0;
    o->meta_unsynced = 0;
}

/* ---- writes since the last sync -------------------------------------------------------- */

static void pend_clear(struct disk *d)
{
    for (size_t i = 0; i < d->npend; i++)
        free(d->pend[i].data);
    d->npend = 0;
}

static struct pending_op *pend_push(struct disk *d)
{
    if (d->npend == d->cappend) {
        d->cappend = d->cappend ? 2 * d->cappend : 64;
        d->pend = realloc(d->pend, d->cappend * sizeof(*d->pend));
        if (!d->pend)
            abort();
    }
    memset(&d->pend[d->npend], 0, sizeof(d->pend[0]));
    return &d->pend[d->npend++];
}

/* Copy the run of the write call in progress that starts at offset. */
static void pend_write(struct disk *d, uint64_t offset, uint64_t len)
{
    struct pending_op *p;
    const ffdb_io_write *run = NULL;
    uint64_t pos = 0;
    for (size_t i = 0; i < d->batch_count && !run; i++)
        if (d->batch[i].offset == offset)
            run = &d->batch[i];
    if (!run)
        abort(); /* the hook names a run the write call did not pass */
    p = pend_push(d);
    p->offset = offset;
    p->len = len;
    p->data = malloc(len ? len : 1);
    if (!p->data)
        abort();
    for (int i = 0; i < run->iov_count; i++) {
        memcpy(p->data + pos, run->iov[i].iov_base, run->iov[i].iov_len);
        pos += run->iov[i].iov_len;
    }
}

/* ---- crash images ------------------------------------------------------------------------ */

struct image {
    uint8_t *data;
    uint64_t size, cap;
};

static void image_resize(struct image *im, uint64_t size)
{
    if (size > im->cap) {
        uint64_t cap = im->cap ? im->cap : 65536;
        while (cap < size)
            cap *= 2;
        im->data = realloc(im->data, cap);
        if (!im->data)
            abort();
        im->cap = cap;
    }
    if (size > im->size)
        memset(im->data + im->size, 0, size - im->size);
    im->size = size;
}

static void image_write(struct image *im, uint64_t offset, const uint8_t *buf, uint64_t len)
{
    if (offset + len > im->size)
        image_resize(im, offset + len);
    memcpy(im->data + offset, buf, len);
}

static void image_durable(struct disk *d, struct image *im)
{
    memset(im, 0, sizeof(*im));
    image_resize(im, io_mem_durable_size(d->m));
    if (im->size && io_mem_durable_read(d->m, 0, im->data, im->size) != im->size)
        abort();
}

/* Apply one pending op; tear: only a random subset of its sectors. */
static void apply_op(struct image *im, const struct pending_op *p, struct rng *tear)
{
    if (p->is_size == 1) {
        if (p->offset > im->size)
            image_resize(im, p->offset);
        return;
    }
    if (p->is_size == 2) {
        image_resize(im, p->offset);
        return;
    }
    for (uint64_t s = 0; s < p->len; s += SECTOR)
        if (!tear || rng_chance(tear, 500))
            image_write(im, p->offset + s, p->data + s, p->len - s < SECTOR ? p->len - s : SECTOR);
}

/* Some of the pending ops, in a random order, reached the disk; the last
 * of them maybe only in part. */
static void crash_reorder(struct disk *d, uint64_t seed)
{
    struct rng r = {seed};
    struct image im;
    size_t *perm = malloc((d->npend + 1) * sizeof(*perm)), cut;
    for (size_t i = 0; i < d->npend; i++)
        perm[i] = i;
    for (size_t i = d->npend; i > 1; i--) {
        size_t j = rng_below(&r, i), x = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = x;
    }
    cut = rng_below(&r, d->npend + 1);
    image_durable(d, &im);
    for (size_t i = 0; i < cut; i++)
        apply_op(&im, &d->pend[perm[i]], i + 1 == cut && rng_chance(&r, 500) ? &r : NULL);
    io_mem_crash(d->m, IO_MEM_CRASH_DROP, 0);
    if (io_mem_set_image(d->m, im.data, im.size) != 0)
        abort();
    free(im.data);
    free(perm);
}

static void crash(struct disk *d, enum crash_kind kind, uint64_t seed)
{
    static const enum io_mem_crash_mode mode[] = {IO_MEM_CRASH_DROP, IO_MEM_CRASH_KEEP,
                                                  IO_MEM_CRASH_TEAR};
    d->crashed = 1;
    if (kind == CRASH_KILL) {
        d->dead = 1; /* the writes stay pending, as in the page cache */
        return;
    }
    if (kind == CRASH_REORDER)
        crash_reorder(d, seed);
    else
        io_mem_crash(d->m, mode[kind], seed);
    pend_clear(d);
    order_sync(&d->order); /* nothing is unsynced on a disk that just lost power */
}

/* Keep the durable image and the meta page about to be written, then
 * lose power before it lands. */
static void capture_meta(struct disk *d, uint64_t offset, uint64_t len)
{
    struct image im;
    size_t before = d->npend;
    image_durable(d, &im);
    for (size_t i = 0; i < d->npend; i++)
        apply_op(&im, &d->pend[i], NULL);
    pend_write(d, offset, len);
    free(d->cap_image);
    free(d->cap_meta);
    d->cap_image = im.data;
    d->cap_image_size = im.size;
    d->cap_meta = d->pend[before].data;
    d->pend[before].data = NULL;
    d->cap_meta_offset = offset;
    d->capture_meta = 0;
    crash(d, CRASH_DROP, 0);
}

/* ---- io_mem's hook ------------------------------------------------------------------------- */

static int hook(void *arg, const struct io_mem_event *ev)
{
    struct disk *d = arg;
    int is_meta = ev->op == IO_MEM_WRITE && ev->offset < 2ull * d->order.page_size;

    if (d->crashed)
        return FFDB_EIO;
    d->events++;
    if (d->capture_meta && is_meta) {
        d->crash_event = d->events;
        capture_meta(d, ev->offset, ev->len);
        return FFDB_EIO;
    }
    if (d->crash_at && d->events == d->crash_at) {
        d->crash_event = d->events;
        if (ev->op == IO_MEM_WRITE && d->kind == CRASH_REORDER) {
            pend_write(d, ev->offset, ev->len); /* issued: it may land in part */
            if (is_meta)
                d->order.meta_writes++;
        }
        crash(d, d->kind, d->crash_seed);
        return FFDB_EIO;
    }
    if (ev->op == IO_MEM_WRITE) {
        order_write(&d->order, ev->offset, ev->len);
        pend_write(d, ev->offset, ev->len);
    } else {
        order_sync(&d->order);
        pend_clear(d);
    }
    return 0;
}

/* ---- the forwarding ffdb_io table ------------------------------------------------------------ */

static int fw_open(const ffdb_io *io, const char *path, unsigned flags, ffdb_file **file,
                   unsigned *caps)
{
    struct disk *d = io->ctx;
    return d->inner->open(d->inner, path, flags, file, caps);
}

static int fw_read(ffdb_file *f, void *buf, size_t len, uint64_t offset)
{
    return active->inner->read(f, buf, len, offset);
}

static int fw_write(ffdb_file *f, const ffdb_io_write *runs, size_t run_count)
{
    int rc;
    if (active->dead)
        return FFDB_EIO;
    active->batch = runs;
    active->batch_count = run_count;
    rc = active->inner->write(f, runs, run_count);
    active->batch = NULL;
    active->batch_count = 0;
    return rc;
}

static int fw_write_submit(ffdb_file *f, const ffdb_io_write *runs, size_t run_count,
                           uint64_t *ticket)
{
    size_t i = 0;
    int rc;
    *ticket = 0;
    if (active->dead)
        return FFDB_EIO;
    while (i < sizeof(active->subs) / sizeof(active->subs[0]) && active->subs[i].ticket)
        i++;
    if (i == sizeof(active->subs) / sizeof(active->subs[0]))
        return fw_write(f, runs, run_count); /* complete at once */
    rc = active->inner->write_submit(f, runs, run_count, ticket);
    if (rc == 0 && *ticket) {
        active->subs[i].ticket = *ticket;
        active->subs[i].runs = runs;
        active->subs[i].count = run_count;
    }
    return rc;
}

/* The write happens now (io_mem's async mode): the hook sees its runs. */
static int fw_write_wait(ffdb_file *f, uint64_t ticket)
{
    int rc;
    for (size_t i = 0; i < sizeof(active->subs) / sizeof(active->subs[0]); i++)
        if (ticket && active->subs[i].ticket == ticket) {
            active->batch = active->subs[i].runs;
            active->batch_count = active->subs[i].count;
            active->subs[i].ticket = 0;
        }
    rc = active->inner->write_wait(f, ticket); /* a dead disk's hook fails it */
    active->batch = NULL;
    active->batch_count = 0;
    return rc;
}

static int fw_sync(ffdb_file *f, int full)
{
    if (active->dead)
        return FFDB_EIO;
    return active->inner->sync(f, full);
}

static int fw_size(ffdb_file *f, uint64_t *bytes)
{
    return active->inner->size(f, bytes);
}

static int fw_resize(ffdb_file *f, uint64_t bytes, int is_size)
{
    int rc;
    if (active->dead)
        return FFDB_EIO;
    rc = is_size == 1 ? active->inner->grow(f, bytes) : active->inner->truncate(f, bytes);
    if (rc == 0) {
        struct pending_op *p = pend_push(active);
        p->is_size = is_size;
        p->offset = bytes;
    }
    return rc;
}

static int fw_grow(ffdb_file *f, uint64_t bytes)
{
    return fw_resize(f, bytes, 1);
}

static int fw_truncate(ffdb_file *f, uint64_t bytes)
{
    return fw_resize(f, bytes, 2);
}

static void fw_close(ffdb_file *f)
{
    active->inner->close(f);
}

/* ---- the disk ---------------------------------------------------------------------------------
 */

int disk_init(struct disk *d, unsigned page_size)
{
    if (active)
        abort(); /* one disk at a time */
    memset(d, 0, sizeof(*d));
    d->m = io_mem_create();
    if (!d->m)
        return FFDB_ENOMEM;
    d->inner = io_mem_io(d->m);
    d->io.open = fw_open;
    d->io.read = fw_read;
    d->io.write = fw_write;
    d->io.sync = fw_sync;
    d->io.size = fw_size;
    d->io.truncate = fw_truncate;
    d->io.grow = fw_grow;
    d->io.close = fw_close;
    d->io.ctx = d;
    order_init(&d->order, page_size);
    io_mem_set_hook(d->m, hook, d);
    active = d;
    return 0;
}

void disk_free(struct disk *d)
{
    pend_clear(d);
    free(d->pend);
    free(d->cap_image);
    free(d->cap_meta);
    io_mem_destroy(d->m);
    active = NULL;
    memset(d, 0, sizeof(*d));
}

void disk_arm(struct disk *d, uint64_t n, enum crash_kind kind, uint64_t seed)
{
    d->crash_at = n ? d->events + n : 0;
    d->kind = kind;
    d->crash_seed = seed;
    d->crashed = 0;
    d->dead = 0;
}

void disk_crash_now(struct disk *d, enum crash_kind kind, uint64_t seed)
{
    d->kind = kind;
    crash(d, kind, seed);
}

int disk_io_rules(struct disk *d, char *why, size_t why_len)
{
    struct io_mem_counts c;
    if (d->order.violations) {
        snprintf(why, why_len, "write ordering: %s (%llu violations)", d->order.first,
                 (unsigned long long)d->order.violations);
        return -1;
    }
    io_mem_counts(d->m, &c);
    if (c.datasync_size_changes) {
        snprintf(why, why_len,
                 "%llu fdatasync calls (full = 0) made a change of the file size durable: "
                 "the engine must ask for fsync after growing or cutting the file",
                 (unsigned long long)c.datasync_size_changes);
        return -1;
    }
    return 0;
}

void disk_set_async(struct disk *d, int on)
{
    io_mem_set_async(d->m, on);
    d->io.write_submit = on ? fw_write_submit : NULL;
    d->io.write_wait = on ? fw_write_wait : NULL;
}

void disk_options(struct disk *d, ffdb_options *o, size_t frames)
{
    memset(o, 0, sizeof(*o));
    o->io = &d->io;
    o->buffer_pages = frames;
    o->page_size = d->order.page_size;
}
