/*
 * exhaustive.c — mode 4, every crash point of every small workload, and
 * every torn meta page.
 *
 * The workloads are all sequences of one to three of the eight fixed
 * transactions of workload.c (put, overflow value, deletes, 150 puts that
 * split, 140 deletes that merge, bulk load, bucket drop/create, two
 * buckets): 8 + 64 + 512 = 584, numbered as seeds 0..583. A dry run counts
 * a workload's I/O events; its points are then, in turn, a crash before
 * every event in each of the four power-loss kinds (drop, keep, tear,
 * reorder): point 4 * (event - 1) + kind + 1.
 *
 * The torn-meta points follow, for the workloads that have them: the
 * commit's meta write is caught, and the slot is rebuilt from each of the
 * 2^(page_size/512) subsets of its sectors (256 at 4 KiB), over the slot's
 * old contents and over garbage. Recovery must pick the new commit exactly
 * when the slot holds the whole new meta, and the previous commit otherwise
 * — so both slots are covered by a workload's two commits.
 *
 * Workload seed 1000 + w is workload w opened with FFDB_NOMETASYNC: the
 * same points, where a crash may also bring back the newest commit known
 * durable (the one before the last acknowledged commit); the torn-meta
 * expectations do not change, as the commit before is durable once a
 * commit writes its meta. The quick pass runs both forms of its workloads.
 *
 * The creation of a file is the pseudo-workload numbered 584: a crash
 * before each of its I/O events in each kind, then the creation's write
 * (both metas, 2 pages) torn to subsets of its sectors — all of them in a
 * thorough pass, else one per (first sector of each page, last sector)
 * combination, which covers every distinct outcome. Until ffdb_open has
 * returned there is no commit to keep, but the file must not be left
 * unusable: the next open must give a clean, empty database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/crash/crash.h"

#define DB_PATH "exhaustive.ffdb"
#define PAGE_SIZE 4096u
#define SECTORS (PAGE_SIZE / 512u)
#define MASKS (1u << SECTORS)
#define WORKLOADS (WL_SHAPES + WL_SHAPES * WL_SHAPES + WL_SHAPES * WL_SHAPES * WL_SHAPES)
#define MAX_TXNS 3
#define NMS_BASE 1000u /* seed NMS_BASE + w: workload w with FFDB_NOMETASYNC */

_Static_assert(NMS_BASE > WORKLOADS, "NOMETASYNC seeds do not meet the others");

_Static_assert(SECTORS <= 16, "torn-meta masks are enumerated exhaustively");

struct shape_list {
    unsigned count;
    unsigned shape[MAX_TXNS];
};

static void decode_workload(uint64_t index, struct shape_list *l)
{
    uint64_t i = index % WORKLOADS;
    unsigned n = 1, span = WL_SHAPES;
    while (i >= span) {
        i -= span;
        span *= WL_SHAPES;
        n++;
    }
    l->count = n;
    for (unsigned k = n; k-- > 0;) {
        l->shape[k] = (unsigned)(i % WL_SHAPES);
        i /= WL_SHAPES;
    }
}

/* What the dry run learns. */
struct plan {
    uint64_t events;
    unsigned metas;              /* commits that wrote a meta */
    unsigned meta_txn[MAX_TXNS]; /* their txn index */
};

struct watch {
    struct disk *d;
    uint64_t meta_at_begin;
};

static void before_commit(void *arg, uint64_t txid, uint64_t digest)
{
    struct watch *wt = arg;
    (void)txid;
    (void)digest;
    wt->meta_at_begin = wt->d->order.meta_writes;
}

static size_t frames_for(uint64_t w)
{
    return w % 2 ? 16 : 256;
}

/* Rebuild the torn slot (mask of sectors from the new meta, the rest old
 * or garbage), reopen, and judge. 0, or -1 after reporting. */
static int torn_meta(const struct opts *o, struct tally *t, uint64_t seed, uint64_t point,
                     struct disk *d, const struct workload *w, const ffdb_options *opt,
                     unsigned mask, int garbage)
{
    uint64_t off = d->cap_meta_offset, size = d->cap_image_size;
    uint8_t *img, *slot;
    struct expect e;
    int whole;
    char why[512];

    if (off + PAGE_SIZE > size)
        size = off + PAGE_SIZE;
    img = calloc(1, size);
    if (!img)
        abort();
    memcpy(img, d->cap_image, d->cap_image_size);
    slot = img + off;
    for (unsigned s = 0; s < SECTORS; s++) {
        if (mask & (1u << s)) {
            memcpy(slot + s * 512, d->cap_meta + s * 512, 512);
        } else if (garbage) {
            struct rng r = {seed_mix(point, s)};
            for (unsigned b = 0; b < 512; b += 8) {
                uint64_t x = rng_next(&r);
                memcpy(slot + s * 512 + b, &x, 8);
            }
        }
    }
    whole = memcmp(slot, d->cap_meta, PAGE_SIZE) == 0;
    if (io_mem_set_image(d->m, img, size) != 0)
        abort();
    free(img);
    memset(&e, 0, sizeof(e));
    e.acked_txid = whole ? w->inflight_txid : w->acked_txid;
    e.acked_digest = whole ? w->inflight_digest : w->acked_digest;
    if (verify_reopen(DB_PATH, opt, &e, NULL, NULL, why, sizeof(why)) != 0) {
        fail_point(t, o, seed, point,
                   "meta of txid %llu (slot %llu) torn to sectors 0x%02x over %s: %s",
                   (unsigned long long)w->inflight_txid, (unsigned long long)(off / PAGE_SIZE),
                   mask, garbage ? "garbage" : "the old slot", why);
        return -1;
    }
    t->note[1] += (uint64_t)whole;
    return 0;
}

/* Run workload seed. point 0: dry run (fills *p). Event points crash and
 * recover; torn-meta points run their masks (all of them when point is
 * the first of its group and !single). 0, or -1 after reporting. */
static int run(const struct opts *o, struct tally *t, uint64_t seed, uint64_t point, struct plan *p,
               int single)
{
    struct shape_list l;
    struct disk d;
    struct workload w;
    struct watch wt;
    struct wl_hooks hooks = {before_commit, NULL, &wt};
    struct wl_params params = {0, 0, 0};
    ffdb_options opt;
    ffdb *db = NULL;
    uint64_t event = 0, meta_point = 0;
    enum crash_kind kind = CRASH_DROP;
    int rc, result = -1, capture_txn = -1;
    int nms = seed >= NMS_BASE;
    uint64_t index = nms ? seed - NMS_BASE : seed;
    char why[512];

    point_begin(t, o, seed, point);
    decode_workload(index, &l);
    if (point && point <= 4 * p->events) {
        event = (point - 1) / 4 + 1;
        kind = (enum crash_kind)((point - 1) % 4);
    } else if (point) {
        meta_point = point - 4 * p->events - 1; /* (meta, garbage, mask) */
        if (meta_point >= (uint64_t)p->metas * 2 * MASKS) {
            fail_point(t, o, seed, point, "no such point");
            return -1;
        }
        capture_txn = (int)p->meta_txn[meta_point / (2 * MASKS)];
    }
    if (point) {
        char shapes[16] = "";
        for (unsigned i = 0; i < l.count; i++)
            snprintf(shapes + strlen(shapes), sizeof(shapes) - strlen(shapes), "%s%u", i ? "," : "",
                     l.shape[i]);
        vlog(o, "  exhaustive workload %llu (txns %s%s) point %llu: %s", (unsigned long long)seed,
             shapes, nms ? ", NOMETASYNC" : "", (unsigned long long)point,
             event ? crash_kind_name[kind] : "torn meta");
    }
    if (disk_init(&d, PAGE_SIZE) != 0)
        abort();
    wt.d = &d;
    wt.meta_at_begin = 0;
    disk_options(&d, &opt, frames_for(index));
    wl_init(&w, seed_mix(seed, 21), &params);
    if (nms) {
        opt.flags |= FFDB_NOMETASYNC;
        d.order.nometasync = 1;
        wl_set_nometasync(&w);
    }
    rc = ffdb_open(DB_PATH, &opt, &db);
    if (rc) {
        fail_point(t, o, seed, point, "open of a new file: %s", ffdb_strerror(rc));
        goto out;
    }
    d.events = 0;
    if (event)
        disk_arm(&d, event, kind, seed_mix(seed, point));
    for (unsigned i = 0; i < l.count; i++) {
        uint64_t metas = d.order.meta_writes;
        if ((int)i == capture_txn)
            d.capture_meta = 1;
        rc = wl_shape_txn(&w, db, l.shape[i], &hooks);
        if (d.crashed)
            break;
        if (rc) {
            fail_point(t, o, seed, point, "txn %u (shape %u) failed without a crash: %s", i,
                       l.shape[i], w.err);
            goto out;
        }
        if (!point && d.order.meta_writes > metas)
            p->meta_txn[p->metas++] = i;
    }
    if (!point)
        p->events = d.events;
    if (disk_io_rules(&d, why, sizeof(why)) != 0) {
        fail_point(t, o, seed, point, "%s", why);
        goto out;
    }
    if (point && !d.crashed) {
        fail_point(t, o, seed, point, "the workload ended before its crash point");
        goto out;
    }
    ffdb_close(db);
    db = NULL;
    if (!point) {
        /* the dry run ends with a power loss: every commit was acknowledged
         * (and with FFDB_NOMETASYNC the close made the last one durable) */
        struct expect e;
        memset(&e, 0, sizeof(e));
        e.acked_txid = w.acked_txid;
        e.acked_digest = w.acked_digest;
        disk_crash_now(&d, CRASH_DROP, 0);
        disk_arm(&d, 0, CRASH_DROP, 0);
        if (verify_reopen(DB_PATH, &opt, &e, NULL, NULL, why, sizeof(why)) != 0) {
            fail_point(t, o, seed, point, "power loss after the last commit: %s", why);
            goto out;
        }
        result = 0;
        goto out;
    }
    disk_arm(&d, 0, CRASH_DROP, 0);
    if (event) {
        struct expect e;
        expect_from(&e, &w,
                    w.inflight && kind != CRASH_DROP && d.order.meta_writes > wt.meta_at_begin);
        if (verify_reopen(DB_PATH, &opt, &e, NULL, NULL, why, sizeof(why)) != 0) {
            fail_point(t, o, seed, point, "%s crash before event %llu%s: %s", crash_kind_name[kind],
                       (unsigned long long)event, w.inflight ? " (inside a commit)" : "", why);
            goto out;
        }
        result = 0;
        goto out;
    }
    if (!d.cap_meta) {
        fail_point(t, o, seed, point, "the meta write to tear never came");
        goto out;
    }
    result = 0;
    {
        uint64_t group = meta_point / MASKS * MASKS; /* same meta, same background */
        int garbage = (int)(meta_point / MASKS % 2);
        if (single) {
            result =
                torn_meta(o, t, seed, point, &d, &w, &opt, (unsigned)(meta_point % MASKS), garbage);
        } else {
            for (unsigned mask = 0; mask < MASKS; mask++) {
                t->points++;
                if (torn_meta(o, t, seed, point - (meta_point - group) + mask, &d, &w, &opt, mask,
                              garbage) != 0)
                    result = -1;
            }
        }
    }
out:
    ffdb_close(db);
    wl_free(&w);
    disk_free(&d);
    return result;
}

/* ---- the creation of the file ------------------------------------------------------- */

#define CREATION WORKLOADS /* its seed */
#define CREATE_EVENTS 2u   /* the write of both metas, the sync */
#define CREATE_SECTORS (2 * SECTORS)

/* Open what is on d and expect an empty, clean database at txid 0 — or,
 * for a file of zeros only (no byte of the creation reached the disk, but
 * its size did), a refusal that leaves the file as it is: zeros are not
 * taken for a database (tests/test_corrupt.c). */
static int expect_empty(struct tally *t, struct disk *d, const ffdb_options *opt, char *why,
                        size_t why_len)
{
    struct expect e;
    struct model empty;
    uint64_t size = io_mem_durable_size(d->m);
    uint8_t *img = malloc(size + 1);
    int zeros = size > 0, rc;

    if (!img)
        abort();
    io_mem_durable_read(d->m, 0, img, size);
    for (uint64_t i = 0; i < size && zeros; i++)
        zeros = img[i] == 0;
    disk_arm(d, 0, CRASH_DROP, 0);
    if (zeros) {
        ffdb *db = NULL;
        rc = ffdb_open(DB_PATH, opt, &db);
        ffdb_close(db);
        if (rc != FFDB_ENOTDB && rc != FFDB_CORRUPT) {
            snprintf(why, why_len, "a file of %llu zero bytes: open returned %s",
                     (unsigned long long)size, ffdb_strerror(rc));
            rc = -1;
        } else if (io_mem_durable_size(d->m) != size || io_mem_current_size(d->m) != size) {
            snprintf(why, why_len, "a refused file of zeros was changed");
            rc = -1;
        } else {
            t->note[4]++;
            rc = 0;
        }
        free(img);
        return rc;
    }
    free(img);
    memset(&e, 0, sizeof(e));
    model_init(&empty);
    e.acked_digest = model_digest(&empty);
    return verify_reopen(DB_PATH, opt, &e, NULL, NULL, why, why_len);
}

/* Creation point: 1..4*CREATE_EVENTS crash before an event; after that,
 * torn creation images (mask of sectors). 0, or -1 after reporting. */
static int creation(const struct opts *o, struct tally *t, uint64_t point)
{
    struct disk d;
    ffdb_options opt;
    ffdb *db = NULL;
    char why[512];
    int result = -1;

    point_begin(t, o, CREATION, point);
    if (disk_init(&d, PAGE_SIZE) != 0)
        abort();
    disk_options(&d, &opt, 16);
    if (point <= 4 * CREATE_EVENTS) {
        enum crash_kind kind = (enum crash_kind)((point - 1) % 4);
        disk_arm(&d, (point - 1) / 4 + 1, kind, seed_mix(CREATION, point));
        if (ffdb_open(DB_PATH, &opt, &db) == 0) {
            fail_point(t, o, CREATION, point, "the creation survived its crash point");
            goto out;
        }
        if (expect_empty(t, &d, &opt, why, sizeof(why)) != 0) {
            fail_point(t, o, CREATION, point, "%s crash before creation event %llu: %s",
                       crash_kind_name[kind], (unsigned long long)((point - 1) / 4 + 1), why);
            goto out;
        }
    } else {
        uint32_t mask = (uint32_t)(point - 4 * CREATE_EVENTS - 1);
        uint8_t full[CREATE_SECTORS * 512], img[CREATE_SECTORS * 512];
        uint64_t size = 0;
        if (ffdb_open(DB_PATH, &opt, &db) != 0)
            abort();
        ffdb_close(db);
        db = NULL;
        if (io_mem_durable_read(d.m, 0, full, sizeof(full)) != sizeof(full))
            abort();
        memset(img, 0, sizeof(img));
        for (unsigned s = 0; s < CREATE_SECTORS; s++)
            if (mask & (1u << s)) {
                memcpy(img + s * 512, full + s * 512, 512);
                size = (s + 1) * 512ull; /* a sector that landed extends the file */
            }
        disk_crash_now(&d, CRASH_DROP, 0);
        if (io_mem_set_image(d.m, img, size) != 0)
            abort();
        if (expect_empty(t, &d, &opt, why, sizeof(why)) != 0) {
            fail_point(t, o, CREATION, point, "creation torn to sectors 0x%04x (%llu bytes): %s",
                       mask, (unsigned long long)size, why);
            goto out;
        }
    }
    result = 0;
out:
    ffdb_close(db);
    disk_free(&d);
    return result;
}

static void creation_points(const struct opts *o, struct tally *t)
{
    for (uint64_t k = 1; k <= 4 * CREATE_EVENTS; k++) {
        t->points++;
        t->note[3]++;
        creation(o, t, k);
    }
    if (o->size == SIZE_THOROUGH) {
        for (uint32_t mask = 0; mask < (1u << CREATE_SECTORS); mask++) {
            t->points++;
            t->note[3]++;
            creation(o, t, 4 * CREATE_EVENTS + 1 + mask);
        }
        return;
    }
    /* each page's first sector in or out, and where the file ends */
    for (unsigned bits = 0; bits < 4 * CREATE_SECTORS; bits++) {
        unsigned last = bits / 4;
        uint32_t mask = (1u << last) | (bits & 1 ? 1u : 0) | (bits & 2 ? 1u << SECTORS : 0);
        if (mask >> (last + 1) || ((bits & 1) && last == 0) || ((bits & 2) && last == SECTORS))
            continue; /* past the end (the file would be longer), or counted already */
        t->points++;
        t->note[3]++;
        creation(o, t, 4 * CREATE_EVENTS + 1 + mask);
    }
}

/* All event points of workload seed, and its torn-meta groups if wanted
 * (backgrounds: 1 = the old slot only, 2 = also garbage). */
static void workload(const struct opts *o, struct tally *t, uint64_t seed, int backgrounds)
{
    struct plan p;
    uint64_t before = t->points;
    memset(&p, 0, sizeof(p));
    if (run(o, t, seed, 0, &p, 0) != 0)
        return;
    t->note[2]++;
    for (uint64_t k = 1; k <= 4 * p.events; k++) {
        t->points++;
        t->note[0]++;
        run(o, t, seed, k, &p, 0);
    }
    for (unsigned m = 0; m < p.metas; m++)
        for (int g = 0; g < backgrounds; g++)
            run(o, t, seed, 4 * p.events + 1 + ((uint64_t)m * 2 + (uint64_t)g) * MASKS, &p, 0);
    if (seed >= NMS_BASE)
        t->note[5] += t->points - before;
}

void mode_exhaustive(const struct opts *o, struct tally *t)
{
    t->note_name[0] = "event points";
    t->note_name[1] = "torn metas that were whole";
    t->note_name[2] = "workloads";
    t->note_name[3] = "creation points";
    t->note_name[4] = "files of zeros refused";
    t->note_name[5] = "NOMETASYNC points";
    if (o->have_point && o->seed == CREATION) {
        t->points++;
        creation(o, t, o->point);
        return;
    }
    if (o->have_point) {
        struct plan p;
        memset(&p, 0, sizeof(p));
        if (run(o, t, o->seed, 0, &p, 0) == 0) {
            t->points++;
            t->note[5] += o->seed >= NMS_BASE;
            run(o, t, o->seed, o->point, &p, 1);
        }
        return;
    }
    if (o->size == SIZE_QUICK) {
        /* A few workloads of two and three txns; torn metas of one with
         * two commits. Each also with FFDB_NOMETASYNC. */
        static const uint64_t pick[] = {8 + 3 * 8 + 1, 72 + 5 * 64 + 3 * 8 + 6, 72 + 7 * 64 + 2};
        for (unsigned i = 0; i < sizeof(pick) / sizeof(pick[0]); i++) {
            workload(o, t, pick[i], i == 0 ? 2 : 0);
            workload(o, t, NMS_BASE + pick[i], i == 0 ? 1 : 0);
        }
        creation_points(o, t);
        return;
    }
    creation_points(o, t);
    for (uint64_t w = 0; w < WORKLOADS; w++) {
        /* torn metas (both backgrounds) for the two-txn workloads, or a sample */
        int bg = (w >= WL_SHAPES && w < WL_SHAPES + WL_SHAPES * WL_SHAPES) &&
                         (o->size == SIZE_THOROUGH || w % 8 == 0)
                     ? 2
                     : 0;
        if (o->size != SIZE_THOROUGH && w % 4 != 0 && !bg)
            continue;
        workload(o, t, w, bg);
        /* the FFDB_NOMETASYNC form: every other one (thorough), or an eighth */
        if (w % (o->size == SIZE_THOROUGH ? 2 : 8) == 0)
            workload(o, t, NMS_BASE + w, bg ? 1 : 0);
    }
}
