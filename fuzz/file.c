/*
 * file.c — the file-format fuzz harness: the input is an ffdb file image.
 *
 * The image is loaded into an in-memory disk (testing/io_mem) and the harness
 * does what a user would do with a file of unknown health: open it, run
 * ffdb_check, list every bucket, scan each with a cursor both ways, get every
 * key it saw, write into it and commit, close. It must never crash, hang,
 * leak or read out of bounds — only return documented errors.
 *
 * Who calls it: afl-fuzz (persistent mode), the ASan replay program and
 * tests/test_fuzz_regress.c, through file_one() (see fuzz.h).
 *
 * Checksums would stop almost every mutation at the first page read, so some
 * inputs are re-sealed before opening: every page gets a valid XXH3 checksum
 * (page_seal) and the fuzzer reaches the structural checks behind it.
 * Control: if the input length is not a multiple of 512, the last
 * (len % 512) bytes are a trailer and its first byte is the control byte;
 * otherwise the control byte is a hash of the image. Control bits:
 *   0-1  re-seal every page unless both are 0
 *   2    open read-only          3  no write transaction
 *   4-5  pool of 16, 24, 32 or 64 frames
 *   6    also set each page's pgno field to its position before sealing
 *   7    drop a bucket in the write transaction
 * The rest of the trailer is patches of 4 bytes {page, where, a, b}, applied
 * before sealing, so the fuzzer can aim at fields without hunting for them
 * in 60 KiB of image: page % page count; where < 0xA0 is a byte offset
 * (header, meta fields, slots), else the cell of slot (where - 0xA0) % count
 * plus (b & 15) + 16 * ((b >> 4) & 3) bytes (cell headers, keys, overflow
 * references); b & 0x80 writes an edge-case u16 (table by a), b & 0x40 an
 * edge-case u64 (page numbers), otherwise the byte a.
 *
 * Oracles beyond "no crash": when ffdb_check calls the file clean, the scans
 * must agree with each other, with get and with the check's counts, and a
 * successful commit must leave the file clean. (A checker that passes a file
 * the engine then finds corrupt is a bug too.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_ONE
#define FUZZ_ONE file_one
#endif
#include "common/checksum.h"
#include "common/format.h"
#include "fuzz/fuzz.h"

#define FILE_MAX_BUCKETS 16
#define FILE_MAX_KEYS 512         /* keys remembered per bucket for gets */
#define FILE_MAX_STEPS 200000     /* cursor moves per scan (a DAG of pages can be huge) */

/* Codes the engine may return on a damaged file. */
static int file_rc_ok(int rc)
{
    switch (rc) {
    case 0:
    case FFDB_NOTFOUND:
    case FFDB_CORRUPT:
    case FFDB_ENOTDB:
    case FFDB_EVERSION:
    case FFDB_EIO:
    case FFDB_ENOMEM:
    case FFDB_EBADTXN:
    case FFDB_EPOOLFULL:
        return 1;
    default:
        return 0;
    }
}

#define FILE_RC(expr)                                                                       \
    do {                                                                                    \
        int fr_rc_ = (expr);                                                                \
        if (!file_rc_ok(fr_rc_))                                                            \
            FUZZ_FAIL("%s returned %d (%s)", #expr, fr_rc_, ffdb_strerror(fr_rc_));         \
    } while (0)

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    h = h ? h : 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

struct fkey {
    uint8_t *k;
    size_t klen;
    uint64_t vhash;
    size_t vlen;
};

struct fbucket {
    uint8_t name[FFDB_MAX_KEY_SIZE];
    size_t len;
    struct fkey keys[FILE_MAX_KEYS];
    size_t nkeys;
    uint64_t entries;             /* counted by the forward scan */
};

struct file_run {
    unsigned ctrl;
    int clean;                    /* ffdb_check found nothing wrong */
    ffdb_check_result check;
    struct fbucket *b;
    size_t nb;
    int list_overflow;            /* more buckets than FILE_MAX_BUCKETS */
};

static struct file_run F;

static int file_verbose; /* FUZZ_VERBOSE in the replay program: print what check says */

static void count_problem(void *arg, uint64_t pgno, const char *problem)
{
    if (file_verbose)
        fprintf(stderr, "fuzz: check: page %llu: %s\n", (unsigned long long)pgno, problem);
    (*(uint64_t *)arg)++;
}

static int file_list_cb(void *arg, const void *name, size_t len)
{
    (void)arg;
    if (len < 1 || len > FFDB_MAX_KEY_SIZE) {
        /* a damaged catalog; a clean one only holds names a user can open */
        FUZZ_ASSERT(!F.clean, "clean file, but bucket_list gave a name of %zu bytes", len);
        return 0;
    }
    if (F.nb == FILE_MAX_BUCKETS) {
        F.list_overflow = 1;
        return 0;
    }
    memcpy(F.b[F.nb].name, name, len);
    F.b[F.nb].len = len;
    F.nb++;
    return 0;
}

static void forget_keys(void)
{
    for (size_t i = 0; i < F.nb; i++) {
        for (size_t j = 0; j < F.b[i].nkeys; j++)
            free(F.b[i].keys[j].k);
        F.b[i].nkeys = 0;
    }
}

/* Scan one bucket both ways, then get what the scan saw. */
static void scan_bucket(ffdb_txn *txn, struct fbucket *fb)
{
    ffdb_bucket *b = NULL;
    ffdb_cursor *c = NULL;
    ffdb_val k, v;
    ffdb_bucket_stat bs;
    uint64_t back = 0, steps;
    int rc, rc_stat, fwd_rc, back_rc;
    uint8_t *prev = NULL;
    size_t prev_len = 0;

    rc = ffdb_bucket_open(txn, fb->name, fb->len, &b);
    FILE_RC(rc);
    if (F.clean)
        FUZZ_RC(rc, 0);
    if (rc)
        return;
    memset(&bs, 0, sizeof bs);
    rc_stat = ffdb_stat_bucket(b, &bs);
    FILE_RC(rc_stat);
    FILE_RC(ffdb_cursor_open(b, &c));
    if (!c)
        return;
    fb->entries = 0;
    for (steps = 0, rc = ffdb_cursor_first(c, &k, &v); rc == 0 && steps < FILE_MAX_STEPS;
         rc = ffdb_cursor_next(c, &k, &v), steps++) {
        FUZZ_ASSERT(k.size <= FFDB_MAX_KEY_SIZE, "cursor gave a key of %zu bytes", k.size);
        if (F.clean && prev)
            FUZZ_ASSERT(fz_key_cmp(prev, prev_len, k.data, k.size) < 0,
                        "clean file, but the scan is out of order");
        free(prev);
        prev = malloc(k.size + 1);
        if (!prev)
            abort();
        if (k.size)
            memcpy(prev, k.data, k.size);
        prev_len = k.size;
        if (fb->nkeys < FILE_MAX_KEYS) {
            struct fkey *fk = &fb->keys[fb->nkeys++];
            fk->k = malloc(k.size + 1);
            if (!fk->k)
                abort();
            if (k.size)
                memcpy(fk->k, k.data, k.size);
            fk->klen = k.size;
            fk->vhash = fnv(v.data, v.size, 0);
            fk->vlen = v.size;
        }
        fb->entries++;
    }
    free(prev);
    fwd_rc = rc;
    if (rc != 0)
        FILE_RC(rc);
    for (steps = 0, rc = ffdb_cursor_last(c, &k, NULL); rc == 0 && steps < FILE_MAX_STEPS;
         rc = ffdb_cursor_prev(c, &k, NULL), steps++)
        back++;
    back_rc = rc;
    if (rc != 0)
        FILE_RC(rc);
    if (F.clean) {
        FUZZ_RC(fwd_rc, FFDB_NOTFOUND);
        FUZZ_RC(back_rc, FFDB_NOTFOUND);
        FUZZ_RC(rc_stat, 0);
        FUZZ_ASSERT(back == fb->entries && bs.entries == fb->entries,
                    "clean file, but forward scan %llu, backward %llu, stat %llu entries",
                    (unsigned long long)fb->entries, (unsigned long long)back,
                    (unsigned long long)bs.entries);
    }
    for (size_t j = 0; j < fb->nkeys; j++) {
        struct fkey *fk = &fb->keys[j];
        rc = ffdb_get(b, fk->k, fk->klen, &v);
        FILE_RC(rc);
        if (F.clean) {
            FUZZ_RC(rc, 0);
            FUZZ_ASSERT(v.size == fk->vlen && fnv(v.data, v.size, 0) == fk->vhash,
                        "clean file, but get and the cursor disagree on a value");
        }
        if (j % 7 == 0) {
            rc = ffdb_cursor_seek(c, fk->k, fk->klen, &k, NULL);
            FILE_RC(rc);
            if (F.clean)
                FUZZ_ASSERT(rc == 0 && fz_val_is(k, fk->k, fk->klen),
                            "clean file, but seek did not find a key the scan saw");
            if (rc == 0)
                FILE_RC(ffdb_cursor_prev(c, NULL, NULL));
        }
    }
    FILE_RC(ffdb_cursor_seek(c, "\xff\xff\xff", 3, NULL, NULL));
    FILE_RC(ffdb_cursor_seek(c, "", 0, NULL, NULL));
    ffdb_cursor_close(c);
}

static void read_all(ffdb *db)
{
    ffdb_txn *txn = NULL;
    uint64_t entries = 0;
    int rc = ffdb_begin_read(db, &txn);
    FILE_RC(rc);
    if (rc)
        return;
    rc = ffdb_bucket_list(txn, file_list_cb, NULL);
    FILE_RC(rc);
    if (F.clean)
        FUZZ_RC(rc, 0);
    for (size_t i = 0; i < F.nb; i++) {
        scan_bucket(txn, &F.b[i]);
        entries += F.b[i].entries;
    }
    if (F.clean && !F.list_overflow)
        FUZZ_ASSERT(F.nb == F.check.buckets && entries == F.check.entries,
                    "clean file: check counted %llu buckets, %llu entries; scans %zu, %llu",
                    (unsigned long long)F.check.buckets, (unsigned long long)F.check.entries,
                    F.nb, (unsigned long long)entries);
    ffdb_abort(txn);
}

/* Write into what was read. Returns 1 if every call succeeded and it committed. */
static int write_some(ffdb *db)
{
    static uint8_t big[9000];
    ffdb_txn *txn = NULL;
    ffdb_bucket *b = NULL;
    int rc, ok = 1;

    rc = ffdb_begin_write(db, &txn);
    FILE_RC(rc);
    if (rc)
        return 0;
    fz_pattern(big, sizeof big, F.ctrl);
#define STEP(expr)                                                                          \
    do {                                                                                    \
        int st_rc_ = (expr);                                                                \
        FILE_RC(st_rc_);                                                                    \
        if (st_rc_ != 0)                                                                    \
            ok = 0;                                                                         \
    } while (0)
    for (size_t i = 0; i < F.nb && i < 4; i++) {
        struct fbucket *fb = &F.b[i];
        rc = ffdb_bucket_open(txn, fb->name, fb->len, &b);
        STEP(rc);
        if (rc)
            continue;
        STEP(ffdb_put(b, "fuzz-new", 8, "value", 5));
        if (fb->nkeys) {
            struct fkey *fk = &fb->keys[fb->nkeys / 2];
            STEP(ffdb_put(b, fk->k, fk->klen, big, sizeof big)); /* inline -> overflow */
            STEP(ffdb_delete(b, fb->keys[0].k, fb->keys[0].klen));
            fk = &fb->keys[fb->nkeys - 1];
            STEP(ffdb_put(b, fk->k, fk->klen, "short", 5));
        }
        ffdb_cursor *c = NULL;
        STEP(ffdb_cursor_open(b, &c));
        if (c) {
            rc = ffdb_cursor_seek(c, "fuzz", 4, NULL, NULL);
            if (rc != FFDB_NOTFOUND)
                STEP(rc);
            rc = ffdb_cursor_next(c, NULL, NULL);
            if (rc != FFDB_NOTFOUND)
                STEP(rc);
            ffdb_cursor_close(c);
        }
    }
    if (F.nb > 0 && ffdb_bucket_open(txn, F.b[0].name, F.b[0].len, &b) == 0) {
        /* enough deletes to merge pages and enough puts to split them, so the
         * rebalancing code meets whatever the file holds */
        struct fbucket *fb = &F.b[0];
        char key[16];
        for (size_t j = 1; j < fb->nkeys; j++)
            STEP(ffdb_delete(b, fb->keys[j].k, fb->keys[j].klen));
        for (unsigned j = 0; j < 150; j++) {
            int kl = snprintf(key, sizeof key, "fz%04u", j * 37 % 1000);
            STEP(ffdb_put(b, key, (size_t)kl, big + j, 20 + j % 90));
        }
    }
    if ((F.ctrl & 0x80) && F.nb > 1) {
        rc = ffdb_bucket_drop(txn, F.b[1].name, F.b[1].len);
        STEP(rc);
    }
    rc = ffdb_bucket_create(txn, "fuzz-bucket", 11, &b);
    if (rc != FFDB_EXISTS)
        STEP(rc);
    if (rc == 0) {
        STEP(ffdb_put(b, "k", 1, big, 100));
        STEP(ffdb_put(b, "big", 3, big, sizeof big));
    }
#undef STEP
    rc = ffdb_commit(txn);
    FILE_RC(rc);
    return ok && rc == 0;
}

/* Check the file; sets F.clean and F.check. */
static void run_check(ffdb *db)
{
    uint64_t problems = 0;
    int rc;
    memset(&F.check, 0, sizeof F.check);
    rc = ffdb_check(db, count_problem, &problems, &F.check);
    FILE_RC(rc);
    FUZZ_ASSERT((rc == 0) == (problems == 0) || rc != FFDB_CORRUPT,
                "check returned %d with %llu problems reported", rc,
                (unsigned long long)problems);
    F.clean = rc == 0 && problems == 0 &&
              F.check.reachable_pages + F.check.free_pages == F.check.page_count;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Apply the trailer's patches (see the top of the file) to the image. */
static void apply_patches(uint8_t *img, size_t img_len, size_t ps, const uint8_t *t, size_t n)
{
    size_t pages = img_len / ps;
    if (pages == 0)
        return;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        uint8_t *page = img + (t[i] % pages) * ps;
        unsigned where = t[i + 1], a = t[i + 2], b = t[i + 3];
        size_t off = where;
        if (where >= 0xA0) {
            unsigned count = page[PH_COUNT] | (unsigned)page[PH_COUNT + 1] << 8;
            if (count == 0 || PAGE_HEADER_SIZE + 2 * count > ps)
                continue;
            size_t slot = PAGE_HEADER_SIZE + 2 * ((where - 0xA0) % count);
            off = (page[slot] | (size_t)page[slot + 1] << 8) + (b & 15) + 16 * ((b >> 4) & 3);
        }
        if (b & 0x80) {
            const uint64_t v16[8] = {0, 1, 0x7fff, 0x8000, 0xffff, ps, ps - 1, PAGE_HEADER_SIZE};
            if (off + 2 <= ps)
                put_le(page + off, v16[a % 8], 2);
        } else if (b & 0x40) {
            const uint64_t v64[8] = {0, 1, 2, pages, pages - 1, pages + 1, UINT64_MAX,
                                     1ull << 40};
            if (off + 8 <= ps)
                put_le(page + off, v64[a % 8], 8);
        } else if (off < ps) {
            page[off] = (uint8_t)a;
        }
    }
}

/* The page size the image claims (else 4096), for re-sealing. */
static size_t image_page_size(const uint8_t *img, size_t len)
{
    if (len >= META_END) {
        uint32_t ps = (uint32_t)img[META_PAGE_SIZE] | (uint32_t)img[META_PAGE_SIZE + 1] << 8 |
                      (uint32_t)img[META_PAGE_SIZE + 2] << 16 |
                      (uint32_t)img[META_PAGE_SIZE + 3] << 24;
        if (ps == 4096 || ps == 8192 || ps == 16384)
            return ps;
    }
    return 4096;
}

static int FUZZ_ONE(const uint8_t *data, size_t len)
{
    static const size_t pools[4] = {16, 24, 32, 64};
    long live = mem_live();
    size_t img_len = len & ~(size_t)511;
    uint8_t *img = malloc(img_len + 1);
    struct io_mem *disk = io_mem_create();
    ffdb_options opt;
    ffdb *db = NULL;
    int rc;

    if (!img || !disk)
        abort();
#ifndef __AFL_FUZZ_TESTCASE_LEN
    file_verbose = getenv("FUZZ_VERBOSE") != NULL;
#endif
    memset(&F, 0, sizeof F);
    F.b = calloc(FILE_MAX_BUCKETS, sizeof *F.b);
    if (!F.b)
        abort();
    memcpy(img, data, img_len);
    if (img_len != len) {
        F.ctrl = data[img_len];
    } else {
        uint64_t h = 0;
        for (size_t i = 0; i < len; i += 61)
            h = fnv(&data[i], 1, h);
        F.ctrl = (unsigned)(h ^ (h >> 8) ^ (h >> 16)) & 0xff;
    }
    if (img_len != len)
        apply_patches(img, img_len, image_page_size(img, img_len), data + img_len + 1,
                      len - img_len - 1);
    if (F.ctrl & 3) {
        size_t ps = image_page_size(img, img_len);
        for (size_t off = 0; off + ps <= img_len; off += ps) {
            if (F.ctrl & 0x40) {
                uint64_t pgno = off / ps;
                for (int i = 0; i < 8; i++)
                    img[off + PH_PGNO + i] = (uint8_t)(pgno >> (8 * i));
            }
            page_seal(img + off, ps);
        }
    }
    if (io_mem_set_image(disk, img, img_len) != 0)
        abort();
    free(img);

    memset(&opt, 0, sizeof opt);
    opt.io = io_mem_io(disk);
    opt.buffer_pages = pools[(F.ctrl >> 4) & 3];
    opt.flags = (F.ctrl & 4) ? FFDB_RDONLY : 0;
    rc = ffdb_open("fuzz.ffdb", &opt, &db);
    FILE_RC(rc);
    if (rc == 0) {
        run_check(db);
        ffdb_stat st;
        FILE_RC(ffdb_stat_db(db, &st));
        read_all(db);
#ifndef __AFL_FUZZ_TESTCASE_LEN
        if (file_verbose)
            fprintf(stderr, "fuzz: ctrl 0x%02x, check %s, %zu buckets\n", F.ctrl,
                    F.clean ? "clean" : "not clean", F.nb);
#endif
        if (!(F.ctrl & 0x0c)) {
            int was_clean = F.clean, wrote = write_some(db);
            if (was_clean) {
                /* the engine must not turn a clean file into a damaged one */
                run_check(db);
                FUZZ_ASSERT(!wrote || F.clean, "clean file, committed writes, now unclean");
            }
        }
        ffdb_close(db);
        if (F.clean && !(F.ctrl & 4)) {
            db = NULL;
            FUZZ_RC(ffdb_open("fuzz.ffdb", &opt, &db), 0);
            run_check(db);
            FUZZ_ASSERT(F.clean, "a clean file is unclean after close and reopen");
            ffdb_close(db);
        }
    }
    FUZZ_ASSERT(mem_live() == live, "%ld allocations of the library leaked", mem_live() - live);
    forget_keys();
    free(F.b);
    io_mem_destroy(disk);
    memset(&F, 0, sizeof F);
    return 0;
}
