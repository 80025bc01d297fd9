/*
 * test_large.c — big values, many buckets, dropping buckets, size limits.
 *
 * Values of 1 MiB, 10 MiB and 100 MiB go through put, commit, reopen and get
 * byte for byte; deleting them gives their overflow pages back (the file
 * shrinks or the free page count grows by as much). 500 buckets survive a
 * reopen and list in order; dropping buckets frees every page they held.
 * Sizes over FFDB_MAX_KEY_SIZE / FFDB_MAX_VALUE_SIZE are refused with
 * FFDB_EINVAL before any byte is read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"

TestSuite(large, .init = tu_setup, .fini = tu_teardown, .timeout = 180);

#define MiB (1024u * 1024u)

/* Pages an overflow run of len bytes takes (format.h: page_size - 40 payload). */
static uint64_t run_pages(uint64_t len, unsigned page_size)
{
    return (len + page_size - 40 - 1) / (page_size - 40);
}

/* Pages given back after a delete: the file shrank or the freelist grew. */
static int64_t pages_returned(ffdb_stat before, ffdb_stat after)
{
    int64_t shrink = (int64_t)before.page_count - (int64_t)after.page_count;
    int64_t freed = (int64_t)after.free_pages - (int64_t)before.free_pages;
    return shrink + freed;
}

static void get_compare(ffdb_bucket *b, const char *key, size_t len, uint64_t seed)
{
    ffdb_val v;
    TU_OK(ffdb_get(b, key, strlen(key), &v));
    cr_assert_eq(v.size, len, "%s: %zu bytes back, %zu put", key, v.size, len);
    cr_assert(tu_pattern_ok(v.data, v.size, seed), "%s: the bytes differ", key);
}

Test(large, mib_values)
{
    const char *path = tu_path("db");
    const size_t sizes[2] = {1 * MiB, 10 * MiB + 12345};
    unsigned char *buf = malloc(sizes[1]);
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bucket_stat bs;

    cr_assert(buf != NULL);
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "big", 3, &b));
    TU_OK(ffdb_put(b, "small", 5, "s", 1));
    tu_pattern(buf, sizes[0], 1);
    TU_OK(ffdb_put(b, "one", 3, buf, sizes[0]));
    tu_pattern(buf, sizes[1], 10);
    TU_OK(ffdb_put(b, "ten", 3, buf, sizes[1]));
    /* readable inside the writing txn too */
    get_compare(b, "one", sizes[0], 1);
    get_compare(b, "ten", sizes[1], 10);
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);

    db = tu_open(path, 16, 0, 0); /* a tiny pool: the values cannot sit in frames */
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "big", 3, &b));
    get_compare(b, "one", sizes[0], 1);
    get_compare(b, "ten", sizes[1], 10);
    TU_OK(tu_bstat(b, &bs));
    uint64_t want = run_pages(sizes[0], 4096) + run_pages(sizes[1], 4096);
    cr_assert_eq(bs.overflow_pages, want, "overflow_pages %llu, runs need %llu",
                 (unsigned long long)bs.overflow_pages, (unsigned long long)want);
    cr_assert_eq(bs.value_bytes, sizes[0] + sizes[1] + 1);
    ffdb_abort(txn);
    tu_check_clean(db, NULL);

    /* overwrite 10 MiB with a different 10 MiB value, then with a small one */
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "big", 3, &b));
    tu_pattern(buf, sizes[1] - 1000, 11);
    TU_OK(ffdb_put(b, "ten", 3, buf, sizes[1] - 1000));
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "big", 3, &b));
    get_compare(b, "ten", sizes[1] - 1000, 11);
    ffdb_abort(txn);

    ffdb_stat before = tu_stat(db);
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "big", 3, &b));
    TU_OK(ffdb_update(b, "ten", 3, "tiny", 4));
    TU_OK(ffdb_delete(b, "one", 3));
    TU_OK(ffdb_commit(txn));
    /* one more commit so pages freed by the last one are past any snapshot */
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "big", 3, &b));
    TU_OK(ffdb_put(b, "x", 1, "y", 1));
    TU_OK(ffdb_commit(txn));
    ffdb_stat after = tu_stat(db);
    uint64_t gone = run_pages(sizes[0], 4096) + run_pages(sizes[1] - 1000, 4096);
    cr_assert(pages_returned(before, after) >= (int64_t)gone - 8,
              "deleting %llu overflow pages gave back %lld (pages %llu -> %llu, free %llu -> %llu)",
              (unsigned long long)gone, (long long)pages_returned(before, after),
              (unsigned long long)before.page_count, (unsigned long long)after.page_count,
              (unsigned long long)before.free_pages, (unsigned long long)after.free_pages);
    tu_check_clean(db, NULL);
    ffdb_close(db);
    free(buf);
}

Test(large, value_of_100_mib)
{
    const char *path = tu_path("db");
    const size_t size = 100 * MiB + 777;
    unsigned char *buf = malloc(size);
    ffdb *db = tu_open(path, 0, 0, FFDB_NOSYNC);
    ffdb_txn *txn;
    ffdb_bucket *b;

    cr_assert(buf != NULL);
    tu_pattern(buf, size, 100);
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "huge", 4, &b));
    TU_OK(ffdb_put(b, "a", 1, "before", 6));
    TU_OK(ffdb_put(b, "h", 1, buf, size));
    TU_OK(ffdb_put(b, "z", 1, "after", 5));
    TU_OK(ffdb_commit(txn));
    free(buf);
    ffdb_stat with = tu_stat(db);
    cr_assert(with.page_count >= run_pages(size, 4096));
    ffdb_close(db);
    cr_assert(tu_file_size(path) >= (int64_t)size, "the file is only %lld bytes",
              (long long)tu_file_size(path));

    db = tu_open(path, 64, 0, FFDB_NOSYNC);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "huge", 4, &b));
    get_compare(b, "h", size, 100);
    {
        ffdb_cursor *c;
        ffdb_val k, v;
        TU_OK(ffdb_cursor_open(b, &c));
        TU_OK(ffdb_cursor_seek(c, "b", 1, &k, &v));
        cr_assert(k.size == 1 && memcmp(k.data, "h", 1) == 0);
        cr_assert(v.size == size && tu_pattern_ok(v.data, v.size, 100));
        TU_OK(ffdb_cursor_next(c, &k, &v));
        cr_assert(k.size == 1 && memcmp(k.data, "z", 1) == 0);
        ffdb_cursor_close(c);
    }
    ffdb_abort(txn);

    ffdb_stat before = tu_stat(db);
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "huge", 4, &b));
    TU_OK(ffdb_delete(b, "h", 1));
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "huge", 4, &b));
    TU_OK(ffdb_put(b, "m", 1, "more", 4));
    TU_OK(ffdb_commit(txn));
    ffdb_stat after = tu_stat(db);
    uint64_t gone = run_pages(size, 4096);
    cr_assert(pages_returned(before, after) >= (int64_t)gone - 8,
              "deleting %llu overflow pages gave back %lld", (unsigned long long)gone,
              (long long)pages_returned(before, after));
    /* a few more small commits: pages written at the end of the file by the
     * last commits move down into the freed run, so the tail becomes free */
    for (int i = 0; i < 5; i++) {
        char k[16];
        snprintf(k, sizeof k, "n%d", i);
        TU_OK(ffdb_begin_write(db, &txn));
        TU_OK(ffdb_bucket_open(txn, "huge", 4, &b));
        TU_OK(ffdb_put(b, k, strlen(k), "more", 4));
        TU_OK(ffdb_commit(txn));
    }
    tu_check_clean(db, NULL);
    ffdb_close(db);
    /* the issue: free pages at the end of the file are truncated away */
    cr_assert(tu_file_size(path) < (int64_t)(size / 2),
              "after deleting the 100 MiB value the file is still %lld bytes",
              (long long)tu_file_size(path));

    db = tu_open(path, 0, 0, FFDB_NOSYNC);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "huge", 4, &b));
    {
        ffdb_val v;
        TU_RC(ffdb_get(b, "h", 1, &v), FFDB_NOTFOUND);
        TU_OK(ffdb_get(b, "a", 1, &v));
        TU_OK(ffdb_get(b, "m", 1, &v));
    }
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

static void bucket_name(char *out, unsigned i)
{
    snprintf(out, 32, "bucket-%04u", i);
}

struct list_check {
    unsigned next;
    unsigned step;  /* names expected: 0, step, 2*step, ... */
    unsigned limit;
    int bad;
};

static int list_in_order(void *arg, const void *name, size_t len)
{
    struct list_check *lc = arg;
    char want[32];
    bucket_name(want, lc->next);
    if (lc->next >= lc->limit || len != strlen(want) || memcmp(name, want, len) != 0) {
        lc->bad = 1;
        return 1;
    }
    lc->next += lc->step;
    return 0;
}

Test(large, many_buckets)
{
    const char *path = tu_path("db");
    const unsigned n = 500;
    ffdb *db = tu_open(path, 64, 0, FFDB_NOSYNC);
    ffdb_txn *txn;
    ffdb_bucket *b;
    char name[32];
    ffdb_check_result res;

    TU_OK(ffdb_begin_write(db, &txn));
    for (unsigned i = 0; i < n; i++) {
        unsigned j = (i * 7) % n; /* create out of order */
        bucket_name(name, j);
        TU_OK(ffdb_bucket_create(txn, name, strlen(name), &b));
        for (unsigned k = 0; k < 1 + j % 10; k++) {
            char key[16];
            unsigned val = j * 100 + k;
            snprintf(key, sizeof key, "k%u", k);
            TU_OK(ffdb_put(b, key, strlen(key), &val, sizeof val));
        }
    }
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);

    db = tu_open(path, 64, 0, FFDB_NOSYNC);
    cr_assert_eq(tu_stat(db).bucket_count, n);
    TU_OK(ffdb_begin_read(db, &txn));
    {
        struct list_check lc = {0, 1, n, 0};
        TU_OK(ffdb_bucket_list(txn, list_in_order, &lc));
        cr_assert(!lc.bad && lc.next == n, "bucket list out of order or short (%u)", lc.next);
    }
    for (unsigned j = 0; j < n; j++) {
        ffdb_bucket_stat bs;
        bucket_name(name, j);
        TU_OK(ffdb_bucket_open(txn, name, strlen(name), &b));
        TU_OK(tu_bstat(b, &bs));
        cr_assert_eq(bs.entries, 1 + j % 10, "%s has %llu entries", name,
                     (unsigned long long)bs.entries);
        ffdb_val v;
        TU_OK(ffdb_get(b, "k0", 2, &v));
        unsigned val;
        cr_assert_eq(v.size, sizeof val);
        memcpy(&val, v.data, sizeof val);
        cr_assert_eq(val, j * 100);
    }
    ffdb_abort(txn);
    tu_check_clean(db, &res);
    cr_assert_eq(res.buckets, n);
    ffdb_stat before = tu_stat(db);

    /* drop the odd ones */
    TU_OK(ffdb_begin_write(db, &txn));
    for (unsigned j = 1; j < n; j += 2) {
        bucket_name(name, j);
        TU_OK(ffdb_bucket_drop(txn, name, strlen(name)));
    }
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_write(db, &txn)); /* let the freed pages age past the last snapshot */
    TU_OK(ffdb_commit(txn));
    ffdb_stat after = tu_stat(db);
    cr_assert_eq(after.bucket_count, n / 2);
    /* each dropped bucket had at least one leaf page */
    cr_assert(pages_returned(before, after) >= (int64_t)n / 2 - 8,
              "dropping %u buckets gave back only %lld pages", n / 2,
              (long long)pages_returned(before, after));
    tu_check_clean(db, &res);
    cr_assert_eq(res.buckets, n / 2);
    TU_OK(ffdb_begin_read(db, &txn));
    {
        struct list_check lc = {0, 2, n, 0};
        TU_OK(ffdb_bucket_list(txn, list_in_order, &lc));
        cr_assert(!lc.bad && lc.next == n, "bucket list after drops (%u)", lc.next);
    }
    ffdb_abort(txn);
    ffdb_close(db);
}

Test(large, drop_bucket_frees_pages)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 32, 0, FFDB_NOSYNC);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bucket_stat bs;
    static unsigned char v[30000];
    char k[16];

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "keep", 4, &b));
    TU_OK(ffdb_put(b, "k", 1, "v", 1));
    TU_OK(ffdb_bucket_create(txn, "victim", 6, &b));
    for (unsigned i = 0; i < 8000; i++) {
        size_t vl = i % 500 == 0 ? sizeof v : 20 + i % 60;
        snprintf(k, sizeof k, "%08u", i);
        tu_pattern(v, vl, i);
        TU_OK(ffdb_put(b, k, 8, v, vl));
    }
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "victim", 6, &b));
    TU_OK(tu_bstat(b, &bs));
    ffdb_abort(txn);
    uint64_t held = bs.branch_pages + bs.leaf_pages + bs.overflow_pages;
    cr_assert(bs.depth >= 2 && bs.overflow_pages > 0);
    ffdb_stat before = tu_stat(db);

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_drop(txn, "victim", 6));
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "keep", 4, &b));
    TU_OK(ffdb_put(b, "k2", 2, "v", 1));
    TU_OK(ffdb_commit(txn));
    ffdb_stat after = tu_stat(db);
    cr_assert(pages_returned(before, after) >= (int64_t)held - 8,
              "the dropped bucket held %llu pages; %lld came back", (unsigned long long)held,
              (long long)pages_returned(before, after));
    tu_check_clean(db, NULL);

    /* the freed pages are reused: refilling the same data barely grows the file */
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "victim", 6, &b));
    for (unsigned i = 0; i < 8000; i++) {
        size_t vl = i % 500 == 0 ? sizeof v : 20 + i % 60;
        snprintf(k, sizeof k, "%08u", i);
        tu_pattern(v, vl, i);
        TU_OK(ffdb_put(b, k, 8, v, vl));
    }
    TU_OK(ffdb_commit(txn));
    ffdb_stat refill = tu_stat(db);
    cr_assert(refill.page_count <= before.page_count + held / 10 + 4,
              "refilling grew the file from %llu to %llu pages", (unsigned long long)before.page_count,
              (unsigned long long)refill.page_count);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(large, size_limits)
{
    ffdb *db = tu_open(tu_path("db"), 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    static unsigned char key[FFDB_MAX_KEY_SIZE + 64];
    ffdb_val v;

    memset(key, 'k', sizeof key);
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    TU_OK(ffdb_put(b, key, FFDB_MAX_KEY_SIZE, "v", 1));
    TU_OK(ffdb_insert(b, key, FFDB_MAX_KEY_SIZE - 1, "v", 1));
    TU_RC(ffdb_put(b, key, FFDB_MAX_KEY_SIZE + 1, "v", 1), FFDB_EINVAL);
    TU_RC(ffdb_put(b, key, FFDB_MAX_KEY_SIZE + 63, "v", 1), FFDB_EINVAL);
    TU_RC(ffdb_insert(b, key, FFDB_MAX_KEY_SIZE + 1, "v", 1), FFDB_EINVAL);
    TU_RC(ffdb_update(b, key, FFDB_MAX_KEY_SIZE + 1, "v", 1), FFDB_EINVAL);
    TU_RC(ffdb_put(b, key, SIZE_MAX, "v", 1), FFDB_EINVAL);
    /* a value length over the limit: refused without reading the (tiny) buffer */
    TU_RC(ffdb_put(b, "x", 1, "v", (size_t)FFDB_MAX_VALUE_SIZE + 1), FFDB_EINVAL);
    TU_RC(ffdb_put(b, "x", 1, "v", SIZE_MAX), FFDB_EINVAL);
    TU_RC(ffdb_update(b, key, FFDB_MAX_KEY_SIZE, "v", SIZE_MAX), FFDB_EINVAL);
    TU_RC(ffdb_insert(b, "x", 1, "v", (size_t)FFDB_MAX_VALUE_SIZE + 1), FFDB_EINVAL);
    TU_RC(ffdb_get(b, "x", 1, &v), FFDB_NOTFOUND);
    TU_OK(ffdb_get(b, key, FFDB_MAX_KEY_SIZE, &v));
    cr_assert(v.size == 1 && memcmp(v.data, "v", 1) == 0, "a refused update changed the value");
    {
        ffdb_bulk *bulk;
        ffdb_bucket *e;
        TU_OK(ffdb_bucket_create(txn, "e", 1, &e));
        TU_OK(ffdb_bulk_begin(e, 0, &bulk));
        TU_RC(ffdb_bulk_append(bulk, key, FFDB_MAX_KEY_SIZE + 1, "v", 1), FFDB_EINVAL);
        ffdb_bulk_abort(bulk);
    }
    TU_OK(ffdb_commit(txn));
    tu_check_clean(db, NULL);
    ffdb_close(db);
}
