/*
 * test_bulk.c — the bulk loader contract (include/ffdb.h "Bulk loader").
 *
 * Only into an empty bucket (FFDB_ENOTEMPTY), strictly increasing keys
 * (FFDB_EKEYORDER), fill factor 0 = 0.7 and clamping to [0.3, 1.0] (seen in
 * ffdb_bucket_stat's fill over 100k small entries), the loaded contents read
 * back exactly, abort leaves the bucket empty and leaks no page, large
 * (overflow) values, zero entries, normal writes afterwards, and other writes
 * to the bucket return FFDB_EBUSY while the load is open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "tests/testutil.h"

TestSuite(bulk, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

/* Entry i: an 8-byte big-endian key 3*i+1 (gaps for later puts), a value of
 * 8..23 bytes. */
static void entry(unsigned i, unsigned char *k, unsigned char *v, size_t *vl)
{
    tu_be64(k, (uint64_t)i * 3 + 1);
    *vl = 8 + i % 16;
    tu_pattern(v, *vl, i);
}

static void load(ffdb_bucket *b, double fill, unsigned n)
{
    ffdb_bulk *bulk = NULL;
    unsigned char k[8], v[32];
    size_t vl;
    TU_OK(ffdb_bulk_begin(b, fill, &bulk));
    cr_assert(bulk != NULL);
    for (unsigned i = 0; i < n; i++) {
        entry(i, k, v, &vl);
        TU_OK(ffdb_bulk_append(bulk, k, 8, v, vl));
    }
    TU_OK(ffdb_bulk_finish(bulk));
}

/* The bucket holds exactly entries 0..n-1. */
static void expect_loaded(ffdb_bucket *b, unsigned n)
{
    ffdb_cursor *c;
    ffdb_val k, v;
    unsigned char wk[8], wv[32];
    size_t vl;
    unsigned i = 0;
    int rc;
    TU_OK(ffdb_cursor_open(b, &c));
    for (rc = ffdb_cursor_first(c, &k, &v); rc == 0; rc = ffdb_cursor_next(c, &k, &v), i++) {
        cr_assert(i < n, "more than %u entries", n);
        entry(i, wk, wv, &vl);
        cr_assert(k.size == 8 && memcmp(k.data, wk, 8) == 0, "entry %u: wrong key", i);
        cr_assert(v.size == vl && memcmp(v.data, wv, vl) == 0, "entry %u: wrong value", i);
    }
    TU_RC(rc, FFDB_NOTFOUND);
    cr_assert_eq(i, n, "scanned %u entries, loaded %u", i, n);
    /* and backwards, and point lookups */
    for (rc = ffdb_cursor_last(c, &k, NULL); rc == 0; rc = ffdb_cursor_prev(c, &k, NULL)) {
        cr_assert(i > 0);
        i--;
        entry(i, wk, wv, &vl);
        cr_assert(k.size == 8 && memcmp(k.data, wk, 8) == 0, "backward: entry %u", i);
    }
    TU_RC(rc, FFDB_NOTFOUND);
    cr_assert_eq(i, 0);
    ffdb_cursor_close(c);
    for (unsigned j = 0; j < n; j += 1 + n / 200) {
        entry(j, wk, wv, &vl);
        TU_OK(ffdb_get(b, wk, 8, &v));
        cr_assert(v.size == vl && memcmp(v.data, wv, vl) == 0);
        tu_be64(wk, (uint64_t)j * 3 + 2); /* a gap */
        TU_RC(ffdb_get(b, wk, 8, &v), FFDB_NOTFOUND);
    }
}

Test(bulk, not_empty)
{
    ffdb *db = tu_open(tu_path("db"), 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bulk *bulk = NULL;

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    TU_OK(ffdb_put(b, "k", 1, "v", 1));
    TU_RC(ffdb_bulk_begin(b, 0, &bulk), FFDB_ENOTEMPTY);
    TU_OK(ffdb_commit(txn));
    /* also when the entry is committed */
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    TU_RC(ffdb_bulk_begin(b, 0, &bulk), FFDB_ENOTEMPTY);
    ffdb_val v;
    TU_OK(ffdb_get(b, "k", 1, &v));
    /* and a bucket that was bulk loaded is not empty any more */
    ffdb_bucket *c;
    TU_OK(ffdb_bucket_create(txn, "c", 1, &c));
    load(c, 0, 10);
    TU_RC(ffdb_bulk_begin(c, 0, &bulk), FFDB_ENOTEMPTY);
    TU_OK(ffdb_commit(txn));
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(bulk, key_order)
{
    ffdb *db = tu_open(tu_path("db"), 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bulk *bulk;
    ffdb_val v;

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    TU_OK(ffdb_bulk_begin(b, 0, &bulk));
    TU_OK(ffdb_bulk_append(bulk, "b", 1, "1", 1));
    TU_RC(ffdb_bulk_append(bulk, "b", 1, "2", 1), FFDB_EKEYORDER);   /* equal */
    TU_RC(ffdb_bulk_append(bulk, "a", 1, "2", 1), FFDB_EKEYORDER);   /* smaller */
    TU_RC(ffdb_bulk_append(bulk, "", 0, "2", 1), FFDB_EKEYORDER);    /* empty < "b" */
    TU_RC(ffdb_bulk_append(bulk, "\x00zz", 3, "2", 1), FFDB_EKEYORDER);
    ffdb_bulk_abort(bulk);
    TU_RC(ffdb_get(b, "b", 1, &v), FFDB_NOTFOUND);

    /* a key that extends the previous one is greater; the empty key may come first */
    TU_OK(ffdb_bulk_begin(b, 0, &bulk));
    TU_OK(ffdb_bulk_append(bulk, "", 0, "e", 1));
    TU_OK(ffdb_bulk_append(bulk, "a", 1, "1", 1));
    TU_OK(ffdb_bulk_append(bulk, "a\x00", 2, "2", 1));
    TU_OK(ffdb_bulk_append(bulk, "ab", 2, "3", 1));
    TU_OK(ffdb_bulk_append(bulk, "\x80", 1, "4", 1)); /* unsigned order */
    TU_OK(ffdb_bulk_append(bulk, "\xff", 1, "5", 1));
    TU_RC(ffdb_bulk_append(bulk, "\x7f", 1, "x", 1), FFDB_EKEYORDER);
    ffdb_bulk_abort(bulk);
    TU_OK(ffdb_bulk_begin(b, 0, &bulk));
    TU_OK(ffdb_bulk_append(bulk, "", 0, "e", 1));
    TU_OK(ffdb_bulk_append(bulk, "a", 1, "1", 1));
    TU_OK(ffdb_bulk_append(bulk, "a\x00", 2, "2", 1));
    TU_OK(ffdb_bulk_append(bulk, "\xff", 1, "5", 1));
    TU_OK(ffdb_bulk_finish(bulk));
    TU_OK(ffdb_get(b, "", 0, &v));
    cr_assert(v.size == 1 && memcmp(v.data, "e", 1) == 0);
    TU_OK(ffdb_get(b, "a\x00", 2, &v));
    cr_assert(v.size == 1 && memcmp(v.data, "2", 1) == 0);
    TU_RC(ffdb_get(b, "ab", 2, &v), FFDB_NOTFOUND);
    TU_OK(ffdb_commit(txn));
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

static double fill_of(ffdb *db, const char *name, ffdb_bucket_stat *out)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, name, strlen(name), &b));
    TU_OK(tu_bstat(b, out));
    ffdb_abort(txn);
    return out->fill;
}

Test(bulk, fill_factor_and_clamping)
{
    const char *path = tu_path("db");
    const unsigned n = 100000;
    ffdb *db = tu_open(path, 0, 0, FFDB_NOSYNC);
    ffdb_txn *txn;
    ffdb_bucket *b;
    static const struct {
        const char *name;
        double asked;
    } loads[] = {{"default", 0}, {"half", 0.5}, {"full", 1.0}, {"over", 2.0}, {"under", 0.1}};
    ffdb_bucket_stat bs[5];

    TU_OK(ffdb_begin_write(db, &txn));
    for (int i = 0; i < 5; i++) {
        TU_OK(ffdb_bucket_create(txn, loads[i].name, strlen(loads[i].name), &b));
        load(b, loads[i].asked, n);
    }
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);
    db = tu_open(path, 64, 0, FFDB_NOSYNC);

    for (int i = 0; i < 5; i++) {
        fill_of(db, loads[i].name, &bs[i]);
        cr_assert_eq(bs[i].entries, n, "%s: %llu entries", loads[i].name,
                     (unsigned long long)bs[i].entries);
        cr_assert(bs[i].depth >= 2, "%s: depth %u", loads[i].name, bs[i].depth);
        fprintf(stderr, "bulk fill %s (asked %.2f): fill %.3f, %llu leaves, %llu branches\n",
                loads[i].name, loads[i].asked, bs[i].fill, (unsigned long long)bs[i].leaf_pages,
                (unsigned long long)bs[i].branch_pages);
    }
    cr_assert(bs[0].fill >= 0.6 && bs[0].fill <= 0.8, "default fill %.3f, want 0.7 +- 0.1",
              bs[0].fill);
    cr_assert(bs[1].fill >= 0.4 && bs[1].fill <= 0.6, "fill 0.5 gave %.3f", bs[1].fill);
    cr_assert(bs[2].fill >= 0.9, "fill 1.0 gave %.3f", bs[2].fill);
    cr_assert(bs[3].fill >= 0.9, "fill 2.0 (clamped to 1.0) gave %.3f", bs[3].fill);
    cr_assert(bs[4].fill >= 0.2 && bs[4].fill <= 0.4, "fill 0.1 (clamped to 0.3) gave %.3f",
              bs[4].fill);
    /* clamping means the same tree as the bound itself */
    cr_assert(bs[3].leaf_pages <= bs[2].leaf_pages + 1 && bs[2].leaf_pages <= bs[3].leaf_pages + 1,
              "fill 2.0 and 1.0 differ: %llu vs %llu leaves", (unsigned long long)bs[3].leaf_pages,
              (unsigned long long)bs[2].leaf_pages);
    /* leaves scale with 1/fill */
    cr_assert(bs[4].leaf_pages > 2 * bs[0].leaf_pages && bs[0].leaf_pages > bs[2].leaf_pages,
              "leaves: fill 0.3 %llu, 0.7 %llu, 1.0 %llu", (unsigned long long)bs[4].leaf_pages,
              (unsigned long long)bs[0].leaf_pages, (unsigned long long)bs[2].leaf_pages);

    TU_OK(ffdb_begin_read(db, &txn));
    for (int i = 0; i < 5; i += 2) {
        TU_OK(ffdb_bucket_open(txn, loads[i].name, strlen(loads[i].name), &b));
        expect_loaded(b, n);
    }
    ffdb_abort(txn);
    ffdb_check_result res;
    tu_check_clean(db, &res);
    cr_assert_eq(res.entries, 5ull * n);
    ffdb_close(db);
}

Test(bulk, small_pool_spills)
{
    /* the loaded tree is far bigger than 16 frames */
    ffdb *db = tu_open(tu_path("db"), 16, 0, FFDB_NOSYNC);
    ffdb_txn *txn;
    ffdb_bucket *b;
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    load(b, 0, 50000);
    expect_loaded(b, 50000);
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    expect_loaded(b, 50000);
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(bulk, abort_leaves_bucket_empty_and_leaks_nothing)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 32, 0, FFDB_NOSYNC);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bulk *bulk;
    ffdb_val k, v;
    static unsigned char big[20000];
    unsigned char kb[8], vb[32];
    size_t vl;

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    TU_OK(ffdb_bulk_begin(b, 0, &bulk));
    for (unsigned i = 0; i < 20000; i++) {
        entry(i, kb, vb, &vl);
        if (i % 1000 == 7) {
            tu_pattern(big, sizeof big, i);
            TU_OK(ffdb_bulk_append(bulk, kb, 8, big, sizeof big));
        } else {
            TU_OK(ffdb_bulk_append(bulk, kb, 8, vb, vl));
        }
    }
    ffdb_bulk_abort(bulk);
    {
        ffdb_cursor *c;
        ffdb_bucket_stat bs;
        TU_OK(ffdb_cursor_open(b, &c));
        TU_RC(ffdb_cursor_first(c, &k, &v), FFDB_NOTFOUND);
        ffdb_cursor_close(c);
        TU_OK(tu_bstat(b, &bs));
        cr_assert(bs.entries == 0 && bs.depth == 0, "after abort: %llu entries, depth %u",
                  (unsigned long long)bs.entries, bs.depth);
    }
    /* the bucket stays usable, for a normal put and a new bulk load */
    TU_OK(ffdb_bulk_begin(b, 0, &bulk));
    TU_OK(ffdb_bulk_append(bulk, "a", 1, "1", 1));
    ffdb_bulk_abort(bulk);
    TU_OK(ffdb_put(b, "z", 1, "26", 2));
    TU_OK(ffdb_commit(txn));
    tu_check_clean(db, NULL);

    /* an aborted bulk load in an aborted txn, and in a committed one */
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "c", 1, &b));
    TU_OK(ffdb_bulk_begin(b, 0.5, &bulk));
    for (unsigned i = 0; i < 5000; i++) {
        entry(i, kb, vb, &vl);
        TU_OK(ffdb_bulk_append(bulk, kb, 8, vb, vl));
    }
    ffdb_bulk_abort(bulk);
    ffdb_abort(txn);
    tu_check_clean(db, NULL);

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "c", 1, &b));
    TU_OK(ffdb_bulk_begin(b, 0.5, &bulk));
    for (unsigned i = 0; i < 5000; i++) {
        entry(i, kb, vb, &vl);
        TU_OK(ffdb_bulk_append(bulk, kb, 8, vb, vl));
    }
    ffdb_bulk_abort(bulk);
    TU_OK(ffdb_commit(txn));
    ffdb_check_result res;
    tu_check_clean(db, &res);
    cr_assert_eq(res.entries, 1);
    cr_assert_eq(res.buckets, 2);
    ffdb_close(db);

    db = tu_open(path, 32, 0, FFDB_NOSYNC);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "c", 1, &b));
    TU_RC(ffdb_get(b, kb, 8, &v), FFDB_NOTFOUND);
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    TU_OK(ffdb_get(b, "z", 1, &v));
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(bulk, large_values)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 32, 0, FFDB_NOSYNC);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bulk *bulk;
    static unsigned char v[60000];
    char k[16];
    const unsigned n = 300;

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    TU_OK(ffdb_bulk_begin(b, 0, &bulk));
    for (unsigned i = 0; i < n; i++) {
        size_t vl = i % 3 == 0 ? 5000 + (i * 997) % 50000 : i % 200;
        snprintf(k, sizeof k, "%06u", i);
        tu_pattern(v, vl, i);
        TU_OK(ffdb_bulk_append(bulk, k, 6, v, vl));
    }
    TU_OK(ffdb_bulk_finish(bulk));
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);

    db = tu_open(path, 16, 0, FFDB_NOSYNC);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    {
        ffdb_cursor *c;
        ffdb_val kv, vv;
        unsigned i = 0;
        int rc;
        ffdb_bucket_stat bs;
        TU_OK(ffdb_cursor_open(b, &c));
        for (rc = ffdb_cursor_first(c, &kv, &vv); rc == 0; rc = ffdb_cursor_next(c, &kv, &vv), i++) {
            size_t vl = i % 3 == 0 ? 5000 + (i * 997) % 50000 : i % 200;
            snprintf(k, sizeof k, "%06u", i);
            cr_assert(kv.size == 6 && memcmp(kv.data, k, 6) == 0, "entry %u key", i);
            cr_assert(vv.size == vl && tu_pattern_ok(vv.data, vl, i), "entry %u value", i);
        }
        TU_RC(rc, FFDB_NOTFOUND);
        cr_assert_eq(i, n);
        ffdb_cursor_close(c);
        TU_OK(tu_bstat(b, &bs));
        cr_assert(bs.overflow_pages >= n / 3, "overflow pages %llu",
                  (unsigned long long)bs.overflow_pages);
    }
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(bulk, zero_entries)
{
    ffdb *db = tu_open(tu_path("db"), 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bulk *bulk;
    ffdb_bucket_stat bs;
    ffdb_val k;

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    TU_OK(ffdb_bulk_begin(b, 0, &bulk));
    TU_OK(ffdb_bulk_finish(bulk));
    TU_OK(tu_bstat(b, &bs));
    cr_assert(bs.entries == 0 && bs.depth == 0);
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    {
        ffdb_cursor *c;
        TU_OK(ffdb_cursor_open(b, &c));
        TU_RC(ffdb_cursor_last(c, &k, NULL), FFDB_NOTFOUND);
        ffdb_cursor_close(c);
    }
    ffdb_abort(txn);
    /* still empty: a bulk load works again */
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    load(b, 0, 100);
    TU_OK(ffdb_commit(txn));
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(bulk, then_normal_writes)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 32, 0, FFDB_NOSYNC);
    ffdb_txn *txn;
    ffdb_bucket *b;
    const unsigned n = 20000;
    /* the model: present[x] for key x in [0, 3n] */
    unsigned char *present = calloc(3 * n + 3, 1);
    unsigned char k[8], v[32];
    size_t vl;

    cr_assert(present != NULL);
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    load(b, 1.0, n); /* full leaves: every insert splits */
    for (unsigned i = 0; i < n; i++)
        present[3 * i + 1] = 1;
    /* in the same txn: inserts into the gaps, deletes, updates */
    for (unsigned x = 0; x < 3 * n; x += 7) {
        tu_be64(k, x);
        if (present[x]) {
            TU_OK(ffdb_delete(b, k, 8));
            present[x] = 0;
        } else {
            TU_OK(ffdb_insert(b, k, 8, "ins", 3));
            present[x] = 2;
        }
    }
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    for (unsigned x = 0; x < 3 * n; x += 5) {
        tu_be64(k, x);
        if (x % 2) {
            TU_OK(ffdb_delete(b, k, 8));
            present[x] = 0;
        } else {
            TU_OK(ffdb_put(b, k, 8, "put", 3));
            present[x] = 3;
        }
    }
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);

    db = tu_open(path, 32, 0, FFDB_NOSYNC);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    {
        ffdb_cursor *c;
        ffdb_val kv, vv;
        unsigned x = 0;
        int rc;
        TU_OK(ffdb_cursor_open(b, &c));
        for (rc = ffdb_cursor_first(c, &kv, &vv); rc == 0; rc = ffdb_cursor_next(c, &kv, &vv)) {
            while (x < 3 * n && !present[x])
                x++;
            cr_assert(x < 3 * n, "more keys than the model");
            tu_be64(k, x);
            cr_assert(kv.size == 8 && memcmp(kv.data, k, 8) == 0, "key %u expected", x);
            if (present[x] == 1) {
                entry((x - 1) / 3, k, v, &vl);
                cr_assert(vv.size == vl && memcmp(vv.data, v, vl) == 0, "loaded value of %u", x);
            } else {
                const char *want = present[x] == 2 ? "ins" : "put";
                cr_assert(vv.size == 3 && memcmp(vv.data, want, 3) == 0, "value of %u", x);
            }
            x++;
        }
        TU_RC(rc, FFDB_NOTFOUND);
        while (x < 3 * n && !present[x])
            x++;
        cr_assert(x >= 3 * n, "key %u missing", x);
        ffdb_cursor_close(c);
    }
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
    free(present);
}

Test(bulk, bucket_busy_during_load)
{
    ffdb *db = tu_open(tu_path("db"), 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b, *other;
    ffdb_bulk *bulk, *bulk2 = NULL;
    ffdb_val v;

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    TU_OK(ffdb_bucket_create(txn, "o", 1, &other));
    TU_OK(ffdb_bulk_begin(b, 0, &bulk));
    TU_OK(ffdb_bulk_append(bulk, "a", 1, "1", 1));
    TU_RC(ffdb_put(b, "x", 1, "v", 1), FFDB_EBUSY);
    TU_RC(ffdb_insert(b, "x", 1, "v", 1), FFDB_EBUSY);
    TU_RC(ffdb_update(b, "a", 1, "v", 1), FFDB_EBUSY);
    TU_RC(ffdb_delete(b, "a", 1), FFDB_EBUSY);
    TU_RC(ffdb_bulk_begin(b, 0, &bulk2), FFDB_EBUSY);
    /* a second bulk load in the same txn: "the txn has an open bulk load" */
    TU_RC(ffdb_bulk_begin(other, 0, &bulk2), FFDB_EBUSY);
    TU_OK(ffdb_bulk_append(bulk, "b", 1, "2", 1));
    TU_OK(ffdb_bulk_finish(bulk));
    /* after finish the bucket takes normal writes again */
    TU_OK(ffdb_put(b, "c", 1, "3", 1));
    TU_OK(ffdb_delete(b, "a", 1));
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    TU_RC(ffdb_get(b, "a", 1, &v), FFDB_NOTFOUND);
    TU_OK(ffdb_get(b, "b", 1, &v));
    TU_OK(ffdb_get(b, "c", 1, &v));
    TU_RC(ffdb_get(b, "x", 1, &v), FFDB_NOTFOUND);
    ffdb_abort(txn);

    /* and after abort too */
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "o", 1, &other));
    TU_OK(ffdb_bulk_begin(other, 0, &bulk));
    TU_RC(ffdb_put(other, "x", 1, "v", 1), FFDB_EBUSY);
    ffdb_bulk_abort(bulk);
    TU_OK(ffdb_put(other, "x", 1, "v", 1));
    TU_OK(ffdb_commit(txn));
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* Committing with a bulk load still open fails with FFDB_EBUSY, frees the txn
 * (and the loader with it) and changes nothing. */
Test(bulk, commit_with_open_bulk)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bulk *bulk;
    ffdb_val v;
    long live;

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "keep", 4, &b));
    TU_OK(ffdb_put(b, "k", 1, "v", 1));
    TU_OK(ffdb_commit(txn));

    /* Three times: the handle keeps the freelist's state arrays across txns
     * (for the next commit's copy), and an abort swaps the saved and the
     * current state, so the first two failed commits may leave arrays
     * behind in each; the third must allocate nothing that stays. */
    for (int round = 0; round < 3; round++) {
        live = mem_live();
        TU_OK(ffdb_begin_write(db, &txn));
        TU_OK(ffdb_bucket_open(txn, "keep", 4, &b));
        TU_OK(ffdb_put(b, "k2", 2, "v", 1));
        TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
        TU_OK(ffdb_bulk_begin(b, 0, &bulk));
        for (unsigned i = 0; i < 3000; i++) {
            unsigned char k[8], val[32];
            size_t vl;
            entry(i, k, val, &vl);
            TU_OK(ffdb_bulk_append(bulk, k, 8, val, vl));
        }
        TU_RC(ffdb_commit(txn), FFDB_EBUSY);
    }
    cr_assert_eq(mem_live(), live, "the failed commit leaked %ld allocations", mem_live() - live);

    TU_OK(ffdb_begin_read(db, &txn));
    TU_RC(ffdb_bucket_open(txn, "b", 1, &b), FFDB_NOTFOUND);
    TU_OK(ffdb_bucket_open(txn, "keep", 4, &b));
    TU_RC(ffdb_get(b, "k2", 2, &v), FFDB_NOTFOUND);
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    /* the writer slot was released */
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "keep", 4, &b));
    TU_OK(ffdb_put(b, "k3", 2, "v", 1));
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);
}
