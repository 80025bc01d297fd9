/*
 * test_ovf_cache.c — overflow runs read through the buffer pool.
 *
 * Short runs (at most frames / 8 pages) are cached as raw pages: a 100 KiB
 * value read again is served from frames (pool hits rise, misses do not);
 * a 10 MiB value is read around the pool and leaves its contents alone.
 * Pages move between roles as they are freed and reused: a cached run's
 * pages become tree pages and another run's pages, tree pages become a run,
 * an aborted txn's run is written again, and a write txn spills while it
 * reads and frees runs; every value must read back exactly, never as the
 * stale copy a frame still holds. A cached page is not verified again, but
 * a damaged page that is not cached is FFDB_CORRUPT naming it. Readers on
 * several threads read cycling runs while a writer frees and reuses pages.
 *
 * Pages are located through the on-disk layout (common/format.h) read
 * straight from the file.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/format.h"
#include "tests/testutil.h"

TestSuite(ovfcache, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

#define PS 4096u
#define KiB 1024u
#define MiB (1024u * 1024u)

/* Pages of a run of len bytes (format.h: page size - 40 payload bytes). */
static uint64_t run_pages(uint64_t len)
{
    return (len + PS - PAGE_HEADER_SIZE - 1) / (PS - PAGE_HEADER_SIZE);
}

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---- the file as it is on disk -------------------------------------------------------- */

struct image {
    unsigned char *bytes;
    uint64_t pages;
};

static struct image image_of(const char *path)
{
    struct image im;
    size_t len = 0;
    im.bytes = tu_read_file(path, &len);
    cr_assert(im.bytes != NULL);
    im.pages = len / PS;
    return im;
}

static unsigned kind_of(const struct image *im, uint64_t pgno)
{
    return im->bytes[pgno * PS + PH_KIND];
}

static uint64_t txid_of(const struct image *im, uint64_t pgno)
{
    return rd64(im->bytes + pgno * PS + PH_TXID);
}

/* The run written by txn txid (the only one it wrote): first page and length. */
static void find_run(const char *path, uint64_t txid, uint64_t *first, uint64_t *count)
{
    struct image im = image_of(path);
    *count = 0;
    for (uint64_t p = 2; p < im.pages; p++) {
        if (kind_of(&im, p) != PAGE_OVERFLOW || txid_of(&im, p) != txid)
            continue;
        if (*count == 0)
            *first = p;
        cr_assert_eq(p, *first + *count, "txn %llu wrote more than one run",
                     (unsigned long long)txid);
        cr_assert_eq(rd64(im.bytes + p * PS + PH_NEXT), *count);
        (*count)++;
    }
    free(im.bytes);
    cr_assert(*count > 0, "no run of txn %llu in the file", (unsigned long long)txid);
}

/* Tree pages (branch or leaf) written by txn txid within [first, first + count). */
static uint64_t tree_pages_in(const char *path, uint64_t txid, uint64_t first, uint64_t count)
{
    struct image im = image_of(path);
    uint64_t n = 0;
    for (uint64_t p = first; p < first + count && p < im.pages; p++)
        n += (kind_of(&im, p) == PAGE_LEAF || kind_of(&im, p) == PAGE_BRANCH) &&
             txid_of(&im, p) == txid;
    free(im.bytes);
    return n;
}

/* ---- values --------------------------------------------------------------------------- */

static unsigned char *scratch(size_t len)
{
    static unsigned char *buf;
    static size_t cap;
    if (len > cap) {
        free(buf);
        buf = malloc(len);
        cr_assert(buf != NULL);
        cap = len;
    }
    return buf;
}

static void put_pattern(ffdb_bucket *b, const char *key, size_t len, uint64_t seed)
{
    unsigned char *v = scratch(len);
    tu_pattern(v, len, seed);
    TU_OK(ffdb_put(b, key, strlen(key), v, len));
}

static void get_pattern(ffdb_bucket *b, const char *key, size_t len, uint64_t seed)
{
    ffdb_val v;
    TU_OK(ffdb_get(b, key, strlen(key), &v));
    cr_assert_eq(v.size, len, "%s: %zu bytes back, %zu put", key, v.size, len);
    cr_assert(tu_pattern_ok(v.data, v.size, seed), "%s: the bytes differ (seed %llu)", key,
              (unsigned long long)seed);
}

/* One write txn putting key = pattern(len, seed) into bucket "v"; its txid. */
static uint64_t commit_value(ffdb *db, const char *key, size_t len, uint64_t seed)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    TU_OK(ffdb_begin_write(db, &txn));
    if (ffdb_bucket_open(txn, "v", 1, &b) == FFDB_NOTFOUND)
        TU_OK(ffdb_bucket_create(txn, "v", 1, &b));
    put_pattern(b, key, len, seed);
    uint64_t txid = ffdb_txn_id(txn);
    TU_OK(ffdb_commit(txn));
    return txid;
}

/* Read key from bucket "v" in a read txn of its own. */
static void read_value(ffdb *db, const char *key, size_t len, uint64_t seed)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "v", 1, &b));
    get_pattern(b, key, len, seed);
    ffdb_abort(txn);
}

static void delete_value(ffdb *db, const char *key)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "v", 1, &b));
    TU_OK(ffdb_delete(b, key, strlen(key)));
    TU_OK(ffdb_commit(txn));
}

static size_t small_key(char *k, unsigned i)
{
    return (size_t)snprintf(k, 16, "s%06u", i);
}

/* Bucket name gets keys [from, to) with 200-byte values of seed base + i. */
static void commit_small(ffdb *db, const char *name, unsigned from, unsigned to, uint64_t base,
                         uint64_t *txid)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    unsigned char v[200];
    char k[16];
    TU_OK(ffdb_begin_write(db, &txn));
    if (ffdb_bucket_open(txn, name, strlen(name), &b) == FFDB_NOTFOUND)
        TU_OK(ffdb_bucket_create(txn, name, strlen(name), &b));
    for (unsigned i = from; i < to; i++) {
        tu_pattern(v, sizeof v, base + i);
        TU_OK(ffdb_put(b, k, small_key(k, i), v, sizeof v));
    }
    if (txid)
        *txid = ffdb_txn_id(txn);
    TU_OK(ffdb_commit(txn));
}

static void check_small(ffdb *db, const char *name, unsigned from, unsigned to, uint64_t base)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    char k[16];
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, name, strlen(name), &b));
    for (unsigned i = from; i < to; i++) {
        TU_OK(ffdb_get(b, k, small_key(k, i), &v));
        cr_assert(v.size == 200 && tu_pattern_ok(v.data, v.size, base + i), "%s/%s differs", name,
                  k);
    }
    ffdb_abort(txn);
}

/* ---- admission ------------------------------------------------------------------------ */

Test(ovfcache, value_of_100_kib_is_served_from_the_pool)
{
    const char *path = tu_path("db");
    const size_t len = 100 * KiB;
    ffdb *db = tu_open(path, 0, 0, 0);     /* the default pool: 1024 frames */
    ffdb_txn *txn;
    ffdb_bucket *b;

    commit_value(db, "big", len, 7);
    ffdb_close(db);
    db = tu_open(path, 0, 0, 0);            /* a cold pool */

    ffdb_stat st0 = tu_stat(db);
    read_value(db, "big", len, 7);
    ffdb_stat st1 = tu_stat(db);
    cr_assert_geq(st1.pool_misses - st0.pool_misses, run_pages(len),
                  "the first read brings the run's %llu pages in (misses %llu -> %llu)",
                  (unsigned long long)run_pages(len), (unsigned long long)st0.pool_misses,
                  (unsigned long long)st1.pool_misses);

    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "v", 1, &b));
    ffdb_stat prev = tu_stat(db);
    for (int i = 0; i < 5; i++) {
        get_pattern(b, "big", len, 7);
        ffdb_stat st = tu_stat(db);
        cr_assert_eq(st.pool_misses, st1.pool_misses, "read %d missed the pool (%llu -> %llu)", i,
                     (unsigned long long)st1.pool_misses, (unsigned long long)st.pool_misses);
        cr_assert_geq(st.pool_hits - prev.pool_hits, run_pages(len), "read %d: %llu hits", i,
                      (unsigned long long)(st.pool_hits - prev.pool_hits));
        prev = st;
    }
    ffdb_abort(txn);

    /* a write txn reads it from the pool too */
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "v", 1, &b));
    get_pattern(b, "big", len, 7);
    ffdb_abort(txn);
    cr_assert_eq(tu_stat(db).pool_misses, st1.pool_misses);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(ovfcache, value_of_10_mib_is_not_cached)
{
    const char *path = tu_path("db");
    const size_t big = 10 * MiB + 123, small = 100 * KiB;
    ffdb *db = tu_open(path, 256, 0, 0);   /* caches runs up to 32 pages */

    commit_value(db, "small", small, 1);
    commit_value(db, "ten", big, 2);
    ffdb_close(db);
    db = tu_open(path, 256, 0, 0);

    read_value(db, "small", small, 1);
    read_value(db, "ten", big, 2);
    ffdb_stat st1 = tu_stat(db);
    for (int i = 0; i < 3; i++)
        read_value(db, "ten", big, 2);
    ffdb_stat st2 = tu_stat(db);
    /* The tree pages were cached by the first reads: nothing enters the
     * pool, nothing leaves it, and only the few tree pages are hits. */
    cr_assert_eq(st2.pool_misses, st1.pool_misses, "misses %llu -> %llu",
                 (unsigned long long)st1.pool_misses, (unsigned long long)st2.pool_misses);
    cr_assert_eq(st2.pool_evictions, st1.pool_evictions);
    cr_assert_lt(st2.pool_hits - st1.pool_hits, 3 * 10u, "hits %llu -> %llu",
                 (unsigned long long)st1.pool_hits, (unsigned long long)st2.pool_hits);
    /* and what was cached before is still there */
    read_value(db, "small", small, 1);
    cr_assert_eq(tu_stat(db).pool_misses, st1.pool_misses);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* ---- page reuse ----------------------------------------------------------------------- */

/* A cached run is freed; its pages become another run and tree pages in
 * later commits (no reader holds them back). Every value must come back as
 * written, never as the stale frames of the old run. */
Test(ovfcache, freed_run_becomes_another_run_and_tree_pages)
{
    const char *path = tu_path("db");
    const size_t alen = 100 * KiB, blen = 60 * KiB;
    ffdb *db = tu_open(path, 0, 0, 0);
    uint64_t afirst, acount, bfirst, bcount, t4;

    commit_small(db, "t", 0, 50, 0, NULL);
    uint64_t ta = commit_value(db, "a", alen, 11);
    find_run(path, ta, &afirst, &acount);
    cr_assert_eq(acount, run_pages(alen));
    read_value(db, "a", alen, 11);          /* cached */
    read_value(db, "a", alen, 11);
    delete_value(db, "a");

    uint64_t tb = commit_value(db, "b", blen, 22);
    find_run(path, tb, &bfirst, &bcount);
    cr_assert(bfirst < afirst + acount && afirst < bfirst + bcount,
              "run b [%llu, +%llu) does not reuse run a [%llu, +%llu)", (unsigned long long)bfirst,
              (unsigned long long)bcount, (unsigned long long)afirst, (unsigned long long)acount);
    read_value(db, "b", blen, 22);
    uint64_t misses = tu_stat(db).pool_misses;
    read_value(db, "b", blen, 22);
    cr_assert_eq(tu_stat(db).pool_misses, misses, "run b is cached");

    /* tree pages fill the rest of run a's pages */
    commit_small(db, "t", 50, 1500, 0, &t4);
    cr_assert_gt(tree_pages_in(path, t4, afirst, acount), 0,
                 "no tree page of txn %llu reuses run a's pages", (unsigned long long)t4);
    check_small(db, "t", 0, 1500, 0);
    read_value(db, "b", blen, 22);

    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "v", 1, &b));
    TU_RC(ffdb_get(b, "a", 1, &v), FFDB_NOTFOUND);
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);

    db = tu_open(path, 0, 0, 0);
    check_small(db, "t", 0, 1500, 0);
    read_value(db, "b", blen, 22);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* Tree pages sit in the pool, clean, when their bucket is dropped; a run
 * written over them must be read as itself, and be cached. */
Test(ovfcache, freed_tree_pages_become_a_run)
{
    const char *path = tu_path("db");
    const size_t len = 100 * KiB;
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    uint64_t tt, first, count;

    commit_small(db, "t", 0, 1500, 0, &tt);
    check_small(db, "t", 0, 1500, 0);       /* the tree pages are cached */
    struct image im = image_of(path);
    uint64_t leaves = 0;
    unsigned char *was_leaf = calloc(im.pages, 1);
    cr_assert(was_leaf != NULL);
    for (uint64_t p = 2; p < im.pages; p++) {
        was_leaf[p] = kind_of(&im, p) == PAGE_LEAF && txid_of(&im, p) == tt;
        leaves += was_leaf[p];
    }
    cr_assert_gt(leaves, run_pages(len));

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_drop(txn, "t", 1));
    TU_OK(ffdb_commit(txn));
    uint64_t tv = commit_value(db, "big", len, 33);
    find_run(path, tv, &first, &count);
    uint64_t reused = 0;
    for (uint64_t p = first; p < first + count && p < im.pages; p++)
        reused += was_leaf[p];
    free(was_leaf);
    free(im.bytes);
    cr_assert_gt(reused, count / 2, "run [%llu, +%llu) reuses %llu of the dropped tree's leaves",
                 (unsigned long long)first, (unsigned long long)count, (unsigned long long)reused);

    read_value(db, "big", len, 33);
    uint64_t misses = tu_stat(db).pool_misses;
    for (int i = 0; i < 3; i++)
        read_value(db, "big", len, 33);
    cr_assert_eq(tu_stat(db).pool_misses, misses, "the run is cached over the old tree frames");
    tu_check_clean(db, NULL);

    /* and back: the run's pages become tree pages again */
    delete_value(db, "big");
    commit_small(db, "t", 0, 1500, 100000, NULL);
    check_small(db, "t", 0, 1500, 100000);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* A write txn reads its own run (cached), then aborts; the next txn writes
 * a different value over the same pages with the same txid. */
Test(ovfcache, aborted_run_is_not_served_later)
{
    const char *path = tu_path("db");
    const size_t len = 100 * KiB;
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;

    commit_small(db, "v", 0, 10, 0, NULL);
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "v", 1, &b));
    put_pattern(b, "x", len, 5);
    get_pattern(b, "x", len, 5);
    get_pattern(b, "x", len, 5);
    ffdb_abort(txn);

    uint64_t ty = commit_value(db, "y", len, 6);
    uint64_t first, count;
    find_run(path, ty, &first, &count);
    read_value(db, "y", len, 6);
    read_value(db, "y", len, 6);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "v", 1, &b));
    ffdb_val v;
    TU_RC(ffdb_get(b, "x", 1, &v), FFDB_NOTFOUND);
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* One write txn with a small pool: it dirties more pages than the pool
 * holds (spills), reads runs back (cached among dirty frames), and frees
 * runs whose pages it reuses at once for tree pages and runs. */
Test(ovfcache, write_txn_spills_reads_and_reuses_runs)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 64, 0, FFDB_NOSYNC);   /* caches runs up to 8 pages */
    ffdb_txn *txn;
    ffdb_bucket *b;
    enum { NBIG = 120 };
    char k[16];
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("ovfcache::write_txn_spills_reads_and_reuses_runs"));
    size_t lens[NBIG];
    int live[NBIG] = { 0 };

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "v", 1, &b));
    for (unsigned i = 0; i < NBIG; i++) {
        lens[i] = (size_t)tu_range(&rng, 5 * KiB, 30 * KiB);
        snprintf(k, sizeof k, "big%04u", i);
        put_pattern(b, k, lens[i], 500 + i);
        live[i] = 1;
        unsigned j = (unsigned)tu_below(&rng, i + 1);
        snprintf(k, sizeof k, "big%04u", j);
        if (live[j])
            get_pattern(b, k, lens[j], 500 + j);
        if (i % 5 == 4) {                   /* free a run of this txn: reusable at once */
            j = (unsigned)tu_below(&rng, i + 1);
            snprintf(k, sizeof k, "big%04u", j);
            TU_OK(ffdb_delete(b, k, strlen(k)));
            live[j] = 0;
        }
        for (unsigned s = 0; s < 25; s++) {  /* tree pages, enough to spill */
            unsigned char v[200];
            unsigned n = i * 25 + s;
            tu_pattern(v, sizeof v, n);
            TU_OK(ffdb_put(b, k, small_key(k, n), v, sizeof v));
        }
    }
    for (unsigned i = 0; i < NBIG; i++) {
        snprintf(k, sizeof k, "big%04u", i);
        if (live[i])
            get_pattern(b, k, lens[i], 500 + i);
    }
    TU_OK(ffdb_commit(txn));
    cr_assert_gt(tu_stat(db).pool_spills, 0, TU_SEED_FMT "no spill", TU_SEED_ARG);

    for (int pass = 0; pass < 2; pass++) {
        TU_OK(ffdb_begin_read(db, &txn));
        TU_OK(ffdb_bucket_open(txn, "v", 1, &b));
        for (unsigned i = 0; i < NBIG; i++) {
            ffdb_val v;
            snprintf(k, sizeof k, "big%04u", i);
            if (live[i])
                get_pattern(b, k, lens[i], 500 + i);
            else
                TU_RC(ffdb_get(b, k, strlen(k), &v), FFDB_NOTFOUND);
        }
        ffdb_abort(txn);
    }
    check_small(db, "v", 0, NBIG * 25, 0);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* ---- corruption ----------------------------------------------------------------------- */

static void flip_byte(const char *path, uint64_t pgno, unsigned off)
{
    size_t len = 0;
    unsigned char *img = tu_read_file(path, &len);
    cr_assert(img && (pgno + 1) * PS <= len);
    unsigned char c = img[pgno * PS + off] ^ 0x5a;
    free(img);
    tu_patch_file(path, pgno * PS + off, &c, 1);
}

static void expect_corrupt(ffdb *db, const char *key, uint64_t pgno)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    ffdb_error_info info;
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "v", 1, &b));
    TU_RC(ffdb_get(b, key, strlen(key), &v), FFDB_CORRUPT);
    ffdb_last_error(&info);
    cr_assert_eq(info.pgno, pgno, "%s: corruption reported at page %llu, damaged %llu", key,
                 (unsigned long long)info.pgno, (unsigned long long)pgno);
    ffdb_abort(txn);
}

Test(ovfcache, damage_to_an_uncached_page_is_reported)
{
    const char *path = tu_path("db");
    const size_t len = 100 * KiB;
    ffdb *db = tu_open(path, 0, 0, 0);
    uint64_t afirst, acount, bfirst, bcount;

    uint64_t ta = commit_value(db, "a", len, 1);
    uint64_t tb = commit_value(db, "b", len, 2);
    find_run(path, ta, &afirst, &acount);
    find_run(path, tb, &bfirst, &bcount);
    ffdb_close(db);
    db = tu_open(path, 0, 0, 0);

    /* "a" is cached, then damaged on disk: its frames were verified when
     * they were read and are served as they are. */
    read_value(db, "a", len, 1);
    flip_byte(path, afirst + 7, 1000);
    read_value(db, "a", len, 1);

    /* "b" is not cached: the damaged page is found, named, and not cached. */
    flip_byte(path, bfirst + 9, 2000);
    expect_corrupt(db, "b", bfirst + 9);
    expect_corrupt(db, "b", bfirst + 9);
    ffdb_close(db);

    /* After a reopen the pool is cold and "a"'s damage shows too. */
    db = tu_open(path, 0, 0, 0);
    expect_corrupt(db, "a", afirst + 7);
    expect_corrupt(db, "b", bfirst + 9);
    ffdb_close(db);
}

/* ---- concurrency ---------------------------------------------------------------------- */

#define NVALS 48
#define VLEN (100 * KiB)

/* value = version (8 bytes) + pattern(VLEN - 8, seed of key and version) */
static uint64_t vseed(unsigned key, uint64_t version)
{
    return (uint64_t)key * 1000003u + version;
}

static void put_versioned(ffdb_bucket *b, unsigned key, uint64_t version)
{
    unsigned char *v = malloc(VLEN);
    char k[16];
    cr_assert(v != NULL);
    memcpy(v, &version, 8);
    tu_pattern(v + 8, VLEN - 8, vseed(key, version));
    snprintf(k, sizeof k, "val%03u", key);
    TU_OK(ffdb_put(b, k, strlen(k), v, VLEN));
    free(v);
}

struct reader {
    ffdb *db;
    atomic_int *stop;
    unsigned seed;
    long gets;
    int rc;
    char why[200];
};

static void *reader_main(void *arg)
{
    struct reader *rd = arg;
    tu_rng rng;
    tu_rng_init(&rng, rd->seed);
    while (!atomic_load(rd->stop) && rd->rc == 0) {
        ffdb_txn *txn;
        ffdb_bucket *b;
        if ((rd->rc = ffdb_begin_read(rd->db, &txn)) != 0)
            break;
        rd->rc = ffdb_bucket_open(txn, "v", 1, &b);
        for (int i = 0; rd->rc == 0 && i < 20; i++) {
            unsigned key = (unsigned)tu_below(&rng, NVALS);
            char k[16];
            ffdb_val v;
            uint64_t version;
            snprintf(k, sizeof k, "val%03u", key);
            rd->rc = ffdb_get(b, k, strlen(k), &v);
            if (rd->rc)
                break;
            memcpy(&version, v.data, 8);
            if (v.size != VLEN ||
                !tu_pattern_ok((const unsigned char *)v.data + 8, VLEN - 8, vseed(key, version))) {
                snprintf(rd->why, sizeof rd->why, "%s (version %llu, %zu bytes) differs", k,
                         (unsigned long long)version, v.size);
                rd->rc = -1;
            }
            rd->gets++;
        }
        ffdb_abort(txn);
    }
    if (rd->rc > 0 || (rd->rc < 0 && !rd->why[0])) {
        ffdb_error_info ei;
        ffdb_last_error(&ei);
        snprintf(rd->why, sizeof rd->why, "%d (%s): %s, page %llu", rd->rc, ffdb_strerror(rd->rc),
                 ei.message, (unsigned long long)ei.pgno);
    }
    return NULL;
}

/* Readers cycle through more runs than the pool holds (admitted, evicted,
 * cached again) while the writer replaces values, so freed runs are
 * reused for new runs and tree pages as soon as no reader holds them. */
Test(ovfcache, readers_and_writer_reuse_cached_pages)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 512, 0, FFDB_NOSYNC);   /* 20 runs of 25 pages at most */
    ffdb_txn *txn;
    ffdb_bucket *b;
    uint64_t version[NVALS];
    atomic_int stop = 0;
    struct reader rd[2];
    pthread_t th[2];
    tu_rng rng;
    tu_rng_init(&rng, tu_seed("ovfcache::readers_and_writer_reuse_cached_pages"));

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "v", 1, &b));
    for (unsigned i = 0; i < NVALS; i++)
        put_versioned(b, i, version[i] = 1);
    TU_OK(ffdb_commit(txn));

    for (int i = 0; i < 2; i++) {
        rd[i] = (struct reader){ .db = db, .stop = &stop, .seed = 1000u + (unsigned)i };
        cr_assert(pthread_create(&th[i], NULL, reader_main, &rd[i]) == 0);
    }
    for (int c = 0; c < 60; c++) {
        TU_OK(ffdb_begin_write(db, &txn));
        TU_OK(ffdb_bucket_open(txn, "v", 1, &b));
        for (int j = 0; j < 4; j++) {
            unsigned key = (unsigned)tu_below(&rng, NVALS);
            put_versioned(b, key, ++version[key]);
        }
        unsigned char small[300];
        char k[16];
        for (int j = 0; j < 10; j++) {     /* tree pages to reuse freed runs */
            unsigned n = (unsigned)tu_below(&rng, 2000);
            tu_pattern(small, sizeof small, n);
            TU_OK(ffdb_put(b, k, small_key(k, n), small, sizeof small));
        }
        TU_OK(ffdb_commit(txn));
        sched_yield();
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        cr_assert(rd[i].rc == 0, TU_SEED_FMT "reader %d: %s", TU_SEED_ARG, i, rd[i].why);
        cr_assert_gt(rd[i].gets, 0);
    }
    ffdb_stat st = tu_stat(db);
    cr_assert_gt(st.pool_evictions, 0);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "v", 1, &b));
    for (unsigned i = 0; i < NVALS; i++) {
        ffdb_val v;
        char k[16];
        uint64_t ver;
        snprintf(k, sizeof k, "val%03u", i);
        TU_OK(ffdb_get(b, k, strlen(k), &v));
        memcpy(&ver, v.data, 8);
        cr_assert_eq(ver, version[i]);
        cr_assert(tu_pattern_ok((const unsigned char *)v.data + 8, VLEN - 8, vseed(i, ver)));
    }
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}
