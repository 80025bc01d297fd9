/*
 * test_api.c — the public API contract of include/ffdb.h, call by call:
 * open/create/reopen and options, buckets, get/put/insert/update/delete,
 * argument validation and limits, cursors (small and multi-page buckets,
 * continuing across writes), ffdb_val lifetime, abort and durability,
 * statistics, ffdb_strerror and ffdb_check.
 *
 * Only the public header is used. Every test works in its own scratch
 * directory (tu_setup/tu_teardown).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/testutil.h"

TestSuite(api, .init = tu_setup, .fini = tu_teardown, .timeout = 60);
TestSuite(api_cursor, .init = tu_setup, .fini = tu_teardown, .timeout = 60);

/* ---- small helpers ---------------------------------------------------------------- */

static ffdb_bucket *create_bucket(ffdb_txn *txn, const char *name)
{
    ffdb_bucket *b = NULL;
    TU_OK(ffdb_bucket_create(txn, name, strlen(name), &b));
    cr_assert(b != NULL);
    return b;
}

static ffdb_bucket *open_bucket(ffdb_txn *txn, const char *name)
{
    ffdb_bucket *b = NULL;
    TU_OK(ffdb_bucket_open(txn, name, strlen(name), &b));
    cr_assert(b != NULL);
    return b;
}

static void put_str(ffdb_bucket *b, const char *k, const char *v)
{
    TU_OK(ffdb_put(b, k, strlen(k), v, strlen(v)));
}

/* The value of k must be exactly v. */
static void expect_str(ffdb_bucket *b, const char *k, const char *v)
{
    ffdb_val val = {0};
    int rc = ffdb_get(b, k, strlen(k), &val);
    cr_assert(rc == 0, "get(%s) returned %d (%s)", k, rc, ffdb_strerror(rc));
    cr_assert(val.size == strlen(v) && (val.size == 0 || memcmp(val.data, v, val.size) == 0),
              "get(%s) = '%.*s', expected '%s'", k, (int)val.size, (const char *)val.data, v);
}

static void expect_missing(ffdb_bucket *b, const char *k)
{
    ffdb_val val = {0};
    TU_RC(ffdb_get(b, k, strlen(k), &val), FFDB_NOTFOUND);
}

static int val_eq(ffdb_val v, const void *data, size_t size)
{
    return v.size == size && (size == 0 || memcmp(v.data, data, size) == 0);
}

/* Fixed-width keys "k%08u" sort like their numbers. */
static size_t num_key(char *buf, unsigned i)
{
    return (size_t)snprintf(buf, 16, "k%08u", i);
}

/* A value for key i: 10..90 bytes, content depends on i and gen. */
static size_t num_val(unsigned char *buf, unsigned i, unsigned gen)
{
    size_t len = 10 + (i * 7 + gen) % 81;
    tu_pattern(buf, len, ((uint64_t)i << 8) ^ gen);
    return len;
}

/* ---- open / create / reopen ------------------------------------------------------------ */

Test(api, create_and_reopen)
{
    const char *path = tu_path("db");
    ffdb *db = NULL;
    ffdb_txn *txn;
    ffdb_bucket *b;

    cr_assert(!tu_exists(path));
    TU_OK(ffdb_open(path, NULL, &db));
    cr_assert(tu_exists(path), "ffdb_open did not create the file");
    ffdb_stat st = tu_stat(db);
    cr_assert_eq(st.page_size, 4096u, "default page size %u", st.page_size);
    cr_assert(st.page_count >= 2, "a new file has at least the two metas (%llu)",
              (unsigned long long)st.page_count);
    cr_assert_eq(st.bucket_count, 0);

    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "things");
    put_str(b, "hello", "world");
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);

    db = NULL;
    TU_OK(ffdb_open(path, NULL, &db));
    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "things");
    expect_str(b, "hello", "world");
    ffdb_abort(txn);
    st = tu_stat(db);
    cr_assert_eq(st.bucket_count, 1);
    ffdb_close(db);
}

Test(api, missing_file_with_nocreate_or_rdonly)
{
    const char *path = tu_path("nothere");
    ffdb_options opt = {0};
    ffdb *db = NULL;
    opt.flags = FFDB_NOCREATE;
    TU_RC(ffdb_open(path, &opt, &db), FFDB_NOTFOUND);
    cr_assert(!tu_exists(path), "FFDB_NOCREATE created the file");
    opt.flags = FFDB_RDONLY;
    TU_RC(ffdb_open(path, &opt, &db), FFDB_NOTFOUND);
    cr_assert(!tu_exists(path), "FFDB_RDONLY created the file");
}

Test(api, rdonly_handle_refuses_writes)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "b");
    put_str(b, "k", "v");
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);

    db = tu_open(path, 0, 0, FFDB_RDONLY);
    txn = NULL;
    TU_RC(ffdb_begin_write(db, &txn), FFDB_EREADONLY);
    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    expect_str(b, "k", "v");
    TU_RC(ffdb_put(b, "x", 1, "y", 1), FFDB_EREADONLY);
    ffdb_abort(txn);
    ffdb_close(db);
}

static void page_size_roundtrip(unsigned ps)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 0, ps, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    char k[16];
    unsigned char v[128];
    ffdb_stat st = tu_stat(db);
    cr_assert_eq(st.page_size, ps, "page size %u, asked for %u", st.page_size, ps);

    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "b");
    for (unsigned i = 0; i < 2000; i++) {
        size_t kl = num_key(k, i), vl = num_val(v, i, 0);
        TU_OK(ffdb_put(b, k, kl, v, vl));
    }
    TU_OK(ffdb_commit(txn));
    st = tu_stat(db);
    cr_assert(st.file_bytes >= st.page_count * ps, "file %llu bytes < %llu pages of %u",
              (unsigned long long)st.file_bytes, (unsigned long long)st.page_count, ps);
    ffdb_close(db);
    cr_assert(tu_file_size(path) % ps == 0, "file size %lld not a multiple of %u",
              (long long)tu_file_size(path), ps);

    /* page_size 0 on reopen: the recorded one is used */
    db = tu_open(path, 0, 0, 0);
    st = tu_stat(db);
    cr_assert_eq(st.page_size, ps, "reopen: page size %u, file has %u", st.page_size, ps);
    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    for (unsigned i = 0; i < 2000; i += 7) {
        ffdb_val val;
        size_t kl = num_key(k, i), vl = num_val(v, i, 0);
        TU_OK(ffdb_get(b, k, kl, &val));
        cr_assert(val_eq(val, v, vl), "key %u differs after reopen", i);
    }
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);

    /* NULL options on reopen: the same */
    db = NULL;
    TU_OK(ffdb_open(path, NULL, &db));
    st = tu_stat(db);
    cr_assert_eq(st.page_size, ps);
    ffdb_close(db);

    /* another (valid) page size on reopen is ignored ("at creation only") or
     * refused, but never changes the file */
    {
        ffdb_options opt = {0};
        int rc;
        db = NULL;
        opt.page_size = ps == 4096 ? 8192 : 4096;
        rc = ffdb_open(path, &opt, &db);
        cr_assert(rc == 0 || rc == FFDB_EINVAL, "reopen with another page size: %d (%s)", rc,
                  ffdb_strerror(rc));
        if (rc == 0) {
            st = tu_stat(db);
            cr_assert_eq(st.page_size, ps, "reopen changed the page size to %u", st.page_size);
            ffdb_close(db);
        }
    }
}

Test(api, page_size_8192)
{
    page_size_roundtrip(8192);
}

Test(api, page_size_16384)
{
    page_size_roundtrip(16384);
}

Test(api, page_size_4096_explicit)
{
    page_size_roundtrip(4096);
}

Test(api, bad_options)
{
    static const unsigned bad_sizes[] = {1, 512, 1000, 2048, 4095, 4097, 6144, 12288, 32768,
                                         65536, 0x80000000u};
    const char *path = tu_path("db");
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        ffdb_options opt = {0};
        ffdb *db = NULL;
        opt.page_size = bad_sizes[i];
        TU_RC(ffdb_open(path, &opt, &db), FFDB_EINVAL);
    }
    for (size_t frames = 1; frames < 16; frames++) {
        ffdb_options opt = {0};
        ffdb *db = NULL;
        opt.buffer_pages = frames;
        int rc = ffdb_open(path, &opt, &db);
        cr_assert(rc == FFDB_EINVAL, "buffer_pages %zu (minimum 16): %d (%s)", frames, rc,
                  ffdb_strerror(rc));
    }
    /* the minimum itself works */
    ffdb *db = tu_open(path, 16, 0, 0);
    ffdb_stat st = tu_stat(db);
    cr_assert_eq(st.pool_frames, 16);
    ffdb_close(db);
    db = tu_open(path, 0, 0, 0);
    st = tu_stat(db);
    cr_assert_eq(st.pool_frames, 1024, "default pool %llu frames",
                 (unsigned long long)st.pool_frames);
    ffdb_close(db);
}

/* ---- NULL handles and arguments ------------------------------------------------------ */

static int list_count_cb(void *arg, const void *name, size_t len)
{
    (void)name;
    (void)len;
    ++*(int *)arg;
    return 0;
}

Test(api, null_arguments)
{
    const char *path = tu_path("db");
    ffdb *db = NULL;
    ffdb_txn *txn = NULL;
    ffdb_bucket *b = NULL;
    ffdb_cursor *c = NULL;
    ffdb_bulk *bulk = NULL;
    ffdb_val v;
    ffdb_stat st;
    ffdb_bucket_stat bs;

    TU_RC(ffdb_open(NULL, NULL, &db), FFDB_EINVAL);
    TU_RC(ffdb_open(path, NULL, NULL), FFDB_EINVAL);
    db = tu_open(path, 0, 0, 0);

    TU_RC(ffdb_begin_read(NULL, &txn), FFDB_EINVAL);
    TU_RC(ffdb_begin_read(db, NULL), FFDB_EINVAL);
    TU_RC(ffdb_begin_write(NULL, &txn), FFDB_EINVAL);
    TU_RC(ffdb_begin_write(db, NULL), FFDB_EINVAL);
    TU_RC(ffdb_commit(NULL), FFDB_EINVAL);
    ffdb_abort(NULL);
    TU_RC(ffdb_stat_db(NULL, &st), FFDB_EINVAL);
    TU_RC(ffdb_stat_db(db, NULL), FFDB_EINVAL);
    TU_RC(ffdb_check(NULL, NULL, NULL, NULL), FFDB_EINVAL);

    TU_OK(ffdb_begin_write(db, &txn));
    TU_RC(ffdb_bucket_create(NULL, "b", 1, &b), FFDB_EINVAL);
    TU_RC(ffdb_bucket_create(txn, NULL, 1, &b), FFDB_EINVAL);
    TU_RC(ffdb_bucket_create(txn, "b", 1, NULL), FFDB_EINVAL);
    TU_RC(ffdb_bucket_create(txn, "b", 0, &b), FFDB_EINVAL);
    TU_RC(ffdb_bucket_open(NULL, "b", 1, &b), FFDB_EINVAL);
    TU_RC(ffdb_bucket_open(txn, NULL, 1, &b), FFDB_EINVAL);
    TU_RC(ffdb_bucket_open(txn, "b", 1, NULL), FFDB_EINVAL);
    TU_RC(ffdb_bucket_open(txn, "b", 0, &b), FFDB_EINVAL);
    TU_RC(ffdb_bucket_drop(NULL, "b", 1), FFDB_EINVAL);
    TU_RC(ffdb_bucket_drop(txn, NULL, 1), FFDB_EINVAL);
    TU_RC(ffdb_bucket_drop(txn, "b", 0), FFDB_EINVAL);
    TU_RC(ffdb_bucket_list(NULL, list_count_cb, NULL), FFDB_EINVAL);
    TU_RC(ffdb_bucket_list(txn, NULL, NULL), FFDB_EINVAL);

    b = create_bucket(txn, "b");
    TU_RC(ffdb_get(NULL, "k", 1, &v), FFDB_EINVAL);
    TU_RC(ffdb_get(b, NULL, 1, &v), FFDB_EINVAL);
    TU_RC(ffdb_put(NULL, "k", 1, "v", 1), FFDB_EINVAL);
    TU_RC(ffdb_put(b, NULL, 1, "v", 1), FFDB_EINVAL);
    TU_RC(ffdb_put(b, "k", 1, NULL, 1), FFDB_EINVAL);
    TU_RC(ffdb_insert(NULL, "k", 1, "v", 1), FFDB_EINVAL);
    TU_RC(ffdb_insert(b, NULL, 1, "v", 1), FFDB_EINVAL);
    TU_RC(ffdb_insert(b, "k", 1, NULL, 1), FFDB_EINVAL);
    TU_RC(ffdb_update(NULL, "k", 1, "v", 1), FFDB_EINVAL);
    TU_RC(ffdb_update(b, NULL, 1, "v", 1), FFDB_EINVAL);
    TU_RC(ffdb_update(b, "k", 1, NULL, 1), FFDB_EINVAL);
    TU_RC(ffdb_delete(NULL, "k", 1), FFDB_EINVAL);
    TU_RC(ffdb_delete(b, NULL, 1), FFDB_EINVAL);
    /* nothing above may have written anything */
    TU_RC(ffdb_get(b, "k", 1, &v), FFDB_NOTFOUND);

    TU_RC(ffdb_cursor_open(NULL, &c), FFDB_EINVAL);
    TU_RC(ffdb_cursor_open(b, NULL), FFDB_EINVAL);
    TU_RC(ffdb_cursor_first(NULL, NULL, NULL), FFDB_EINVAL);
    TU_RC(ffdb_cursor_last(NULL, NULL, NULL), FFDB_EINVAL);
    TU_RC(ffdb_cursor_next(NULL, NULL, NULL), FFDB_EINVAL);
    TU_RC(ffdb_cursor_prev(NULL, NULL, NULL), FFDB_EINVAL);
    TU_RC(ffdb_cursor_seek(NULL, "k", 1, NULL, NULL), FFDB_EINVAL);
    ffdb_cursor_close(NULL);
    TU_OK(ffdb_cursor_open(b, &c));
    TU_RC(ffdb_cursor_seek(c, NULL, 1, NULL, NULL), FFDB_EINVAL);
    /* key and val may be NULL */
    put_str(b, "k", "v");
    TU_OK(ffdb_cursor_first(c, NULL, NULL));
    ffdb_cursor_close(c);

    TU_RC(ffdb_bulk_begin(NULL, 0, &bulk), FFDB_EINVAL);
    TU_RC(ffdb_bulk_begin(b, 0, NULL), FFDB_EINVAL);
    TU_RC(ffdb_bulk_append(NULL, "k", 1, "v", 1), FFDB_EINVAL);
    TU_RC(ffdb_bulk_finish(NULL), FFDB_EINVAL);
    ffdb_bulk_abort(NULL);

    TU_RC(tu_bstat(NULL, &bs), FFDB_EINVAL);
    TU_RC(tu_bstat(b, NULL), FFDB_EINVAL);
    ffdb_abort(txn);
    ffdb_close(db);
    ffdb_close(NULL);
}

/* ---- read transactions refuse writes ------------------------------------------------- */

Test(api, writes_through_read_txn)
{
    ffdb *db = tu_open(tu_path("db"), 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bulk *bulk = NULL;

    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "b");
    create_bucket(txn, "other");
    put_str(b, "k", "v");
    TU_OK(ffdb_commit(txn));

    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    TU_RC(ffdb_put(b, "k", 1, "w", 1), FFDB_EREADONLY);
    TU_RC(ffdb_put(b, "new", 3, "w", 1), FFDB_EREADONLY);
    TU_RC(ffdb_insert(b, "new", 3, "w", 1), FFDB_EREADONLY);
    TU_RC(ffdb_update(b, "k", 1, "w", 1), FFDB_EREADONLY);
    TU_RC(ffdb_delete(b, "k", 1), FFDB_EREADONLY);
    {
        ffdb_bucket *nb = NULL;
        TU_RC(ffdb_bucket_create(txn, "c", 1, &nb), FFDB_EREADONLY);
    }
    TU_RC(ffdb_bucket_drop(txn, "other", 5), FFDB_EREADONLY);
    {
        ffdb_bucket *e = NULL;
        ffdb_txn *w;
        /* bulk loading through a read txn: an empty bucket, so only the txn kind decides */
        ffdb_abort(txn);
        TU_OK(ffdb_begin_write(db, &w));
        create_bucket(w, "empty");
        TU_OK(ffdb_commit(w));
        TU_OK(ffdb_begin_read(db, &txn));
        e = open_bucket(txn, "empty");
        TU_RC(ffdb_bulk_begin(e, 0, &bulk), FFDB_EREADONLY);
        b = open_bucket(txn, "b");
    }
    expect_str(b, "k", "v");
    /* commit of a read txn is an abort that returns 0 */
    TU_OK(ffdb_commit(txn));

    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    expect_str(b, "k", "v");
    open_bucket(txn, "other");
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* ---- buckets ------------------------------------------------------------------------------ */

struct name_list {
    char names[16][32];
    size_t lens[16];
    int count;
    int stop_at;
};

static int collect_names(void *arg, const void *name, size_t len)
{
    struct name_list *nl = arg;
    if (nl->count < 16 && len < 32) {
        memcpy(nl->names[nl->count], name, len);
        nl->lens[nl->count] = len;
    }
    nl->count++;
    if (nl->stop_at && nl->count == nl->stop_at)
        return 77;
    return 0;
}

Test(api, buckets)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b = NULL;
    struct name_list nl;
    static const char bin_name[] = {'x', 0, 'y'};

    TU_OK(ffdb_begin_write(db, &txn));
    TU_RC(ffdb_bucket_open(txn, "nope", 4, &b), FFDB_NOTFOUND);
    TU_RC(ffdb_bucket_drop(txn, "nope", 4), FFDB_NOTFOUND);
    create_bucket(txn, "beta");
    create_bucket(txn, "alpha");
    create_bucket(txn, "gamma");
    TU_RC(ffdb_bucket_create(txn, "beta", 4, &b), FFDB_EXISTS);
    TU_OK(ffdb_bucket_create(txn, bin_name, sizeof bin_name, &b));
    put_str(b, "in", "binary");
    /* "x" is a prefix of bin_name: a different bucket */
    TU_RC(ffdb_bucket_open(txn, "x", 1, &b), FFDB_NOTFOUND);
    put_str(open_bucket(txn, "alpha"), "a", "1");
    put_str(open_bucket(txn, "gamma"), "g", "3");
    TU_OK(ffdb_commit(txn));

    TU_OK(ffdb_begin_read(db, &txn));
    memset(&nl, 0, sizeof nl);
    TU_OK(ffdb_bucket_list(txn, collect_names, &nl));
    cr_assert_eq(nl.count, 4, "listed %d buckets", nl.count);
    cr_assert(nl.lens[0] == 5 && memcmp(nl.names[0], "alpha", 5) == 0);
    cr_assert(nl.lens[1] == 4 && memcmp(nl.names[1], "beta", 4) == 0);
    cr_assert(nl.lens[2] == 5 && memcmp(nl.names[2], "gamma", 5) == 0);
    cr_assert(nl.lens[3] == 3 && memcmp(nl.names[3], bin_name, 3) == 0);
    /* stopping early returns the callback's value */
    memset(&nl, 0, sizeof nl);
    nl.stop_at = 2;
    TU_RC(ffdb_bucket_list(txn, collect_names, &nl), 77);
    cr_assert_eq(nl.count, 2);
    TU_OK(ffdb_bucket_open(txn, bin_name, sizeof bin_name, &b));
    expect_str(b, "in", "binary");
    ffdb_abort(txn);
    cr_assert_eq(tu_stat(db).bucket_count, 4);

    /* drop, and drop + re-create in one txn gives an empty bucket */
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_drop(txn, "alpha", 5));
    TU_RC(ffdb_bucket_open(txn, "alpha", 5, &b), FFDB_NOTFOUND);
    TU_RC(ffdb_bucket_drop(txn, "alpha", 5), FFDB_NOTFOUND);
    TU_OK(ffdb_bucket_drop(txn, "gamma", 5));
    b = create_bucket(txn, "gamma");
    expect_missing(b, "g");
    put_str(b, "g2", "new");
    TU_OK(ffdb_commit(txn));

    ffdb_close(db);
    db = tu_open(path, 0, 0, 0);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_RC(ffdb_bucket_open(txn, "alpha", 5, &b), FFDB_NOTFOUND);
    b = open_bucket(txn, "gamma");
    expect_missing(b, "g");
    expect_str(b, "g2", "new");
    memset(&nl, 0, sizeof nl);
    TU_OK(ffdb_bucket_list(txn, collect_names, &nl));
    cr_assert_eq(nl.count, 3);
    ffdb_abort(txn);
    cr_assert_eq(tu_stat(db).bucket_count, 3);

    /* a bucket created in an aborted txn does not exist */
    TU_OK(ffdb_begin_write(db, &txn));
    put_str(create_bucket(txn, "ghost"), "a", "b");
    TU_OK(ffdb_bucket_drop(txn, "beta", 4));
    ffdb_abort(txn);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_RC(ffdb_bucket_open(txn, "ghost", 5, &b), FFDB_NOTFOUND);
    open_bucket(txn, "beta");
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(api, bucket_name_limits)
{
    ffdb *db = tu_open(tu_path("db"), 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b = NULL;
    char name[FFDB_MAX_KEY_SIZE + 1];
    memset(name, 'n', sizeof name);
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, name, FFDB_MAX_KEY_SIZE, &b));
    put_str(b, "k", "v");
    TU_RC(ffdb_bucket_create(txn, name, FFDB_MAX_KEY_SIZE + 1, &b), FFDB_EINVAL);
    TU_RC(ffdb_bucket_create(txn, name, (size_t)-1, &b), FFDB_EINVAL);
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, name, FFDB_MAX_KEY_SIZE, &b));
    expect_str(b, "k", "v");
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* ---- get / put / insert / update / delete -------------------------------------------- */

Test(api, put_insert_update_delete)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;

    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "b");
    expect_missing(b, "a");
    put_str(b, "a", "1");
    expect_str(b, "a", "1");
    put_str(b, "a", "one");                       /* put overwrites */
    expect_str(b, "a", "one");
    TU_RC(ffdb_insert(b, "a", 1, "X", 1), FFDB_EXISTS);
    expect_str(b, "a", "one");                    /* a failed insert changes nothing */
    TU_OK(ffdb_insert(b, "b", 1, "two", 3));
    expect_str(b, "b", "two");
    TU_RC(ffdb_update(b, "c", 1, "3", 1), FFDB_NOTFOUND);
    expect_missing(b, "c");                       /* a failed update creates nothing */
    TU_OK(ffdb_update(b, "b", 1, "TWO", 3));
    expect_str(b, "b", "TWO");
    TU_OK(ffdb_delete(b, "a", 1));
    expect_missing(b, "a");
    TU_OK(ffdb_delete(b, "a", 1));                /* missing key: not an error */
    TU_OK(ffdb_delete(b, "zzz", 3));
    TU_OK(ffdb_insert(b, "a", 1, "again", 5));    /* insert after delete */
    expect_str(b, "a", "again");
    /* values of very different sizes on the same key, including overflow */
    {
        static unsigned char big[20000];
        ffdb_val v;
        tu_pattern(big, sizeof big, 5);
        TU_OK(ffdb_put(b, "s", 1, big, sizeof big));
        TU_OK(ffdb_get(b, "s", 1, &v));
        cr_assert(val_eq(v, big, sizeof big));
        TU_OK(ffdb_update(b, "s", 1, "small", 5));
        expect_str(b, "s", "small");
        TU_OK(ffdb_update(b, "s", 1, big, 5000));
        TU_OK(ffdb_get(b, "s", 1, &v));
        cr_assert(val_eq(v, big, 5000));
    }
    TU_OK(ffdb_commit(txn));

    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    expect_str(b, "a", "again");
    expect_str(b, "b", "TWO");
    expect_missing(b, "c");
    expect_missing(b, "zzz");
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(api, empty_keys_and_values)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v;

    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "b");
    put_str(b, "a", "");
    TU_OK(ffdb_put(b, "", 0, "empty key", 9));
    TU_OK(ffdb_put(b, "\0", 1, "nul", 3));
    TU_RC(ffdb_insert(b, "", 0, "x", 1), FFDB_EXISTS);
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);

    db = tu_open(path, 0, 0, 0);
    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    expect_str(b, "", "empty key");
    expect_str(b, "a", "");
    TU_OK(ffdb_get(b, NULL, 0, &v)); /* an empty key may come with a NULL pointer */
    cr_assert(val_eq(v, "empty key", 9));
    TU_OK(ffdb_cursor_open(b, &c));
    TU_OK(ffdb_cursor_first(c, &k, &v));
    cr_assert_eq(k.size, 0, "the empty key sorts first");
    cr_assert(val_eq(v, "empty key", 9));
    TU_OK(ffdb_cursor_next(c, &k, &v));
    cr_assert(val_eq(k, "\0", 1), "\"\\0\" sorts right after the empty key");
    TU_OK(ffdb_cursor_next(c, &k, &v));
    cr_assert(val_eq(k, "a", 1));
    cr_assert_eq(v.size, 0);
    TU_RC(ffdb_cursor_next(c, &k, &v), FFDB_NOTFOUND);
    TU_OK(ffdb_cursor_seek(c, "", 0, &k, &v));
    cr_assert_eq(k.size, 0);
    ffdb_cursor_close(c);
    ffdb_abort(txn);

    TU_OK(ffdb_begin_write(db, &txn));
    b = open_bucket(txn, "b");
    TU_OK(ffdb_delete(b, "", 0));
    expect_missing(b, "");
    TU_OK(ffdb_update(b, "a", 1, "", 0));
    expect_str(b, "a", "");
    TU_OK(ffdb_commit(txn));
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(api, key_size_limits)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v;
    static unsigned char key[FFDB_MAX_KEY_SIZE + 1];
    int rc;

    memset(key, 0xAB, sizeof key);
    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "b");
    TU_OK(ffdb_put(b, key, FFDB_MAX_KEY_SIZE, "max", 3));
    TU_RC(ffdb_put(b, key, FFDB_MAX_KEY_SIZE + 1, "over", 4), FFDB_EINVAL);
    TU_RC(ffdb_insert(b, key, FFDB_MAX_KEY_SIZE + 1, "over", 4), FFDB_EINVAL);
    TU_RC(ffdb_update(b, key, FFDB_MAX_KEY_SIZE + 1, "over", 4), FFDB_EINVAL);
    TU_RC(ffdb_put(b, key, (size_t)-1, "over", 4), FFDB_EINVAL);
    rc = ffdb_get(b, key, FFDB_MAX_KEY_SIZE + 1, &v);
    cr_assert(rc == FFDB_EINVAL || rc == FFDB_NOTFOUND, "get of an oversized key: %d (%s)", rc,
              ffdb_strerror(rc));
    rc = ffdb_delete(b, key, FFDB_MAX_KEY_SIZE + 1);
    cr_assert(rc == FFDB_EINVAL || rc == 0, "delete of an oversized key: %d (%s)", rc,
              ffdb_strerror(rc));
    /* values over the limit are refused before their bytes are touched */
    TU_RC(ffdb_put(b, "k", 1, "tiny", (size_t)FFDB_MAX_VALUE_SIZE + 1), FFDB_EINVAL);
    TU_RC(ffdb_put(b, "k", 1, "tiny", (size_t)-1), FFDB_EINVAL);
    TU_RC(ffdb_insert(b, "k", 1, "tiny", (size_t)-1), FFDB_EINVAL);
    expect_missing(b, "k");

    /* many maximal keys: several to a page, many pages */
    for (unsigned i = 0; i < 300; i++) {
        tu_be64(key + FFDB_MAX_KEY_SIZE - 8, i);
        key[0] = (unsigned char)(i % 3); /* not all keys share a 1 KiB prefix */
        TU_OK(ffdb_put(b, key, FFDB_MAX_KEY_SIZE, &i, sizeof i));
    }
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);

    db = tu_open(path, 16, 0, 0);
    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    memset(key, 0xAB, sizeof key);
    TU_OK(ffdb_get(b, key, FFDB_MAX_KEY_SIZE, &v));
    cr_assert(val_eq(v, "max", 3));
    TU_OK(ffdb_cursor_open(b, &c));
    unsigned n = 0;
    ffdb_val prev = {0};
    unsigned char prevbuf[FFDB_MAX_KEY_SIZE];
    for (rc = ffdb_cursor_first(c, &k, &v); rc == 0; rc = ffdb_cursor_next(c, &k, &v)) {
        cr_assert_eq(k.size, FFDB_MAX_KEY_SIZE);
        if (n > 0)
            cr_assert(memcmp(prev.data, k.data, FFDB_MAX_KEY_SIZE) < 0, "keys out of order");
        memcpy(prevbuf, k.data, k.size);
        prev.data = prevbuf;
        prev.size = k.size;
        n++;
    }
    TU_RC(rc, FFDB_NOTFOUND);
    cr_assert_eq(n, 301, "scanned %u maximal keys", n);
    ffdb_cursor_close(c);
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* ---- abort, durability ---------------------------------------------------------------- */

Test(api, abort_discards)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    char k[16];
    unsigned char v[128];

    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "b");
    put_str(b, "keep", "yes");
    TU_OK(ffdb_commit(txn));
    ffdb_stat before = tu_stat(db);

    /* a big aborted txn: inserts, overwrites, deletes, a new bucket */
    TU_OK(ffdb_begin_write(db, &txn));
    b = open_bucket(txn, "b");
    for (unsigned i = 0; i < 3000; i++) {
        size_t kl = num_key(k, i), vl = num_val(v, i, 1);
        TU_OK(ffdb_put(b, k, kl, v, vl));
    }
    put_str(b, "keep", "no");
    put_str(create_bucket(txn, "nb"), "x", "y");
    ffdb_abort(txn);

    ffdb_stat after = tu_stat(db);
    cr_assert_eq(after.txid, before.txid, "abort changed the txid");
    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    expect_str(b, "keep", "yes");
    num_key(k, 5);
    expect_missing(b, k);
    {
        ffdb_bucket *nb;
        TU_RC(ffdb_bucket_open(txn, "nb", 2, &nb), FFDB_NOTFOUND);
    }
    ffdb_abort(txn);
    /* the aborted txn's pages went back: nothing leaked */
    tu_check_clean(db, NULL);
    ffdb_close(db);
    db = tu_open(path, 0, 0, 0);
    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    expect_str(b, "keep", "yes");
    expect_missing(b, k);
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(api, commit_durable_across_reopen)
{
    const char *path = tu_path("db");
    char k[16];
    unsigned char v[128];
    uint64_t base_txid = 0;
    /* ten rounds, each reopening and changing a tenth of the keys; with fsync */
    for (unsigned round = 0; round < 10; round++) {
        ffdb *db = tu_open(path, 64, 0, 0);
        ffdb_txn *txn;
        ffdb_bucket *b;
        ffdb_stat st = tu_stat(db);
        if (round == 0)
            base_txid = st.txid;
        cr_assert_eq(st.txid, base_txid + round, "txid %llu after %u commits",
                     (unsigned long long)st.txid, round);
        TU_OK(ffdb_begin_write(db, &txn));
        cr_assert_eq(ffdb_txn_id(txn), st.txid + 1);
        if (round == 0)
            b = create_bucket(txn, "b");
        else
            b = open_bucket(txn, "b");
        for (unsigned i = 0; i < 1000; i++) {
            if (round == 0 || i % 10 == round) {
                size_t kl = num_key(k, i), vl = num_val(v, i, round);
                TU_OK(ffdb_put(b, k, kl, v, vl));
            }
        }
        TU_OK(ffdb_commit(txn));
        ffdb_close(db);

        db = tu_open(path, 64, 0, 0);
        TU_OK(ffdb_begin_read(db, &txn));
        b = open_bucket(txn, "b");
        for (unsigned i = 0; i < 1000; i++) {
            unsigned gen = (i % 10 != 0 && i % 10 <= round) ? i % 10 : 0;
            ffdb_val val;
            size_t kl = num_key(k, i), vl = num_val(v, i, gen);
            TU_OK(ffdb_get(b, k, kl, &val));
            cr_assert(val_eq(val, v, vl), "round %u key %u", round, i);
        }
        ffdb_abort(txn);
        ffdb_close(db);
    }
}

/* ---- cursors -------------------------------------------------------------------------- */

Test(api_cursor, empty_and_small)
{
    ffdb *db = tu_open(tu_path("db"), 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v;

    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "b");
    TU_OK(ffdb_cursor_open(b, &c));
    TU_RC(ffdb_cursor_first(c, &k, &v), FFDB_NOTFOUND);
    TU_RC(ffdb_cursor_last(c, &k, &v), FFDB_NOTFOUND);
    TU_RC(ffdb_cursor_seek(c, "", 0, &k, &v), FFDB_NOTFOUND);
    ffdb_cursor_close(c);
    put_str(b, "b", "2");
    put_str(b, "d", "4");
    put_str(b, "f", "6");
    TU_OK(ffdb_commit(txn));

    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    TU_OK(ffdb_cursor_open(b, &c));
    TU_OK(ffdb_cursor_first(c, &k, &v));
    cr_assert(val_eq(k, "b", 1) && val_eq(v, "2", 1));
    TU_RC(ffdb_cursor_prev(c, &k, &v), FFDB_NOTFOUND);
    TU_OK(ffdb_cursor_last(c, &k, &v));
    cr_assert(val_eq(k, "f", 1) && val_eq(v, "6", 1));
    TU_RC(ffdb_cursor_next(c, &k, &v), FFDB_NOTFOUND);
    TU_OK(ffdb_cursor_seek(c, "a", 1, &k, &v));
    cr_assert(val_eq(k, "b", 1));
    TU_OK(ffdb_cursor_seek(c, "b", 1, &k, &v));
    cr_assert(val_eq(k, "b", 1), "seek to an existing key lands on it");
    TU_OK(ffdb_cursor_seek(c, "c", 1, &k, &v));
    cr_assert(val_eq(k, "d", 1));
    TU_OK(ffdb_cursor_seek(c, "bb", 2, &k, &v));
    cr_assert(val_eq(k, "d", 1));
    TU_OK(ffdb_cursor_next(c, &k, &v));
    cr_assert(val_eq(k, "f", 1));
    TU_OK(ffdb_cursor_seek(c, "e\xff", 2, &k, &v));
    cr_assert(val_eq(k, "f", 1));
    TU_OK(ffdb_cursor_prev(c, &k, &v));
    cr_assert(val_eq(k, "d", 1) && val_eq(v, "4", 1));
    TU_RC(ffdb_cursor_seek(c, "g", 1, &k, &v), FFDB_NOTFOUND);
    TU_RC(ffdb_cursor_seek(c, "f\x00", 2, &k, &v), FFDB_NOTFOUND);
    /* the cursor is usable again after NOTFOUND */
    TU_OK(ffdb_cursor_last(c, &k, &v));
    cr_assert(val_eq(k, "f", 1));
    /* two cursors on one bucket move independently */
    {
        ffdb_cursor *c2;
        ffdb_val k2;
        TU_OK(ffdb_cursor_open(b, &c2));
        TU_OK(ffdb_cursor_first(c2, &k2, NULL));
        TU_OK(ffdb_cursor_prev(c, &k, NULL));
        cr_assert(val_eq(k, "d", 1));
        TU_OK(ffdb_cursor_next(c2, &k2, NULL));
        cr_assert(val_eq(k2, "d", 1));
        TU_OK(ffdb_cursor_next(c2, &k2, NULL));
        cr_assert(val_eq(k2, "f", 1));
        TU_OK(ffdb_cursor_prev(c, &k, NULL));
        cr_assert(val_eq(k, "b", 1));
        ffdb_cursor_close(c2);
    }
    ffdb_cursor_close(c);
    /* a cursor left open ends with its txn */
    TU_OK(ffdb_cursor_open(b, &c));
    TU_OK(ffdb_cursor_first(c, &k, &v));
    ffdb_abort(txn);
    ffdb_close(db);
}

#define MANY 6000u

static void fill_many(ffdb *db)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    char k[16];
    unsigned char v[128];
    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "b");
    /* insert in a scrambled order so splits happen everywhere */
    for (unsigned j = 0; j < MANY; j++) {
        unsigned i = (unsigned)(((uint64_t)j * 7919u) % MANY); /* 7919 is prime: a permutation */
        size_t kl = num_key(k, i * 2), vl = num_val(v, i * 2, 0); /* even numbers only */
        TU_OK(ffdb_insert(b, k, kl, v, vl));
    }
    TU_OK(ffdb_commit(txn));
}

Test(api_cursor, multi_page_scan_and_seek)
{
    ffdb *db = tu_open(tu_path("db"), 32, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v;
    char kb[16];
    unsigned char vb[128];
    unsigned n;
    int rc;

    cr_assert(MANY * 2 < 100000000u);
    fill_many(db);
    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    {
        ffdb_bucket_stat bs;
        TU_OK(tu_bstat(b, &bs));
        cr_assert(bs.depth >= 2 && bs.leaf_pages > 10, "%u keys in depth %u, %llu leaves", MANY,
                  bs.depth, (unsigned long long)bs.leaf_pages);
    }
    TU_OK(ffdb_cursor_open(b, &c));
    /* forward */
    n = 0;
    for (rc = ffdb_cursor_first(c, &k, &v); rc == 0; rc = ffdb_cursor_next(c, &k, &v), n++) {
        size_t kl = num_key(kb, n * 2), vl = num_val(vb, n * 2, 0);
        cr_assert(val_eq(k, kb, kl), "forward scan: entry %u is '%.*s', expected %s", n,
                  (int)k.size, (const char *)k.data, kb);
        cr_assert(val_eq(v, vb, vl), "forward scan: value of %s", kb);
    }
    TU_RC(rc, FFDB_NOTFOUND);
    cr_assert_eq(n, MANY);
    TU_RC(ffdb_cursor_next(c, &k, &v), FFDB_NOTFOUND);
    /* backward */
    n = MANY;
    for (rc = ffdb_cursor_last(c, &k, &v); rc == 0; rc = ffdb_cursor_prev(c, &k, &v)) {
        n--;
        size_t kl = num_key(kb, n * 2);
        cr_assert(val_eq(k, kb, kl), "backward scan: expected %s", kb);
    }
    TU_RC(rc, FFDB_NOTFOUND);
    cr_assert_eq(n, 0);
    TU_RC(ffdb_cursor_prev(c, &k, &v), FFDB_NOTFOUND);
    /* seeks: on a key, between keys (odd numbers), then walk a little both ways */
    for (unsigned i = 0; i < MANY * 2; i += 37) {
        unsigned want = (i + 1) / 2 * 2; /* next even number >= i */
        size_t kl = num_key(kb, i);
        rc = ffdb_cursor_seek(c, kb, kl, &k, &v);
        if (want >= MANY * 2) {
            TU_RC(rc, FFDB_NOTFOUND);
            continue;
        }
        TU_OK(rc);
        kl = num_key(kb, want);
        cr_assert(val_eq(k, kb, kl), "seek(%u) gave '%.*s'", i, (int)k.size, (const char *)k.data);
        for (unsigned s = 1; s <= 3 && want + 2 * s < MANY * 2; s++) {
            TU_OK(ffdb_cursor_next(c, &k, &v));
            kl = num_key(kb, want + 2 * s);
            cr_assert(val_eq(k, kb, kl));
        }
        kl = num_key(kb, want);
        TU_OK(ffdb_cursor_seek(c, kb, kl, &k, &v));
        cr_assert(val_eq(k, kb, kl), "seek(%u) again", want);
        for (unsigned s = 1; s <= 3 && 2 * s <= want; s++) {
            TU_OK(ffdb_cursor_prev(c, &k, &v));
            kl = num_key(kb, want - 2 * s);
            cr_assert(val_eq(k, kb, kl));
        }
    }
    ffdb_cursor_close(c);
    ffdb_abort(txn);
    ffdb_close(db);
}

/* A cursor continues from the key it was on after writes through its txn. */
Test(api_cursor, continues_after_writes)
{
    ffdb *db = tu_open(tu_path("db"), 32, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v;
    char kb[16];
    unsigned char vb[128];
    size_t kl;

    fill_many(db);
    TU_OK(ffdb_begin_write(db, &txn));
    b = open_bucket(txn, "b");
    TU_OK(ffdb_cursor_open(b, &c));

    kl = num_key(kb, 1000);
    TU_OK(ffdb_cursor_seek(c, kb, kl, &k, &v));
    cr_assert(val_eq(k, kb, kl));
    /* insert right after the current key: next returns it */
    kl = num_key(kb, 1001);
    TU_OK(ffdb_put(b, kb, kl, "odd", 3));
    TU_OK(ffdb_cursor_next(c, &k, &v));
    cr_assert(val_eq(k, kb, kl) && val_eq(v, "odd", 3), "next after a put gave '%.*s'",
              (int)k.size, (const char *)k.data);
    /* delete the following key: next skips it */
    kl = num_key(kb, 1002);
    TU_OK(ffdb_delete(b, kb, kl));
    TU_OK(ffdb_cursor_next(c, &k, &v));
    kl = num_key(kb, 1004);
    cr_assert(val_eq(k, kb, kl), "next after a delete gave '%.*s'", (int)k.size,
              (const char *)k.data);
    /* overwrite the current key's value: the cursor stays, next/prev work */
    TU_OK(ffdb_put(b, kb, kl, "changed", 7));
    TU_OK(ffdb_cursor_prev(c, &k, &v));
    kl = num_key(kb, 1001);
    cr_assert(val_eq(k, kb, kl), "prev after overwriting the current key gave '%.*s'",
              (int)k.size, (const char *)k.data);
    TU_OK(ffdb_cursor_next(c, &k, &v));
    kl = num_key(kb, 1004);
    cr_assert(val_eq(k, kb, kl) && val_eq(v, "changed", 7));
    /* delete the current key itself: next goes to its successor */
    TU_OK(ffdb_delete(b, kb, kl));
    TU_OK(ffdb_cursor_next(c, &k, &v));
    kl = num_key(kb, 1006);
    cr_assert(val_eq(k, kb, kl), "next after deleting the current key gave '%.*s'",
              (int)k.size, (const char *)k.data);
    /* many inserts around the cursor (splits under it), then continue both ways */
    for (unsigned i = 0; i < 2000; i++) {
        unsigned n = 3 + (i * 7919u) % 4000u;
        if (n % 2 == 0)
            n++; /* odd keys only: new ones */
        size_t nl = num_key(kb, n);
        num_val(vb, n, 9);
        TU_OK(ffdb_put(b, kb, nl, vb, 40));
    }
    {
        /* the successor of 1006 is now 1007 if it was inserted, else 1008 */
        ffdb_val tmp;
        size_t l7 = num_key(kb, 1007);
        int has7 = ffdb_get(b, kb, l7, &tmp) == 0;
        TU_OK(ffdb_cursor_next(c, &k, &v));
        kl = num_key(kb, has7 ? 1007 : 1008);
        cr_assert(val_eq(k, kb, kl), "next after splits gave '%.*s', expected %s", (int)k.size,
                  (const char *)k.data, kb);
        TU_OK(ffdb_cursor_prev(c, &k, &v));
        kl = num_key(kb, 1006);
        cr_assert(val_eq(k, kb, kl), "prev after splits gave '%.*s'", (int)k.size,
                  (const char *)k.data);
    }
    /* delete a long run ahead of the cursor (merges), then next jumps over it */
    for (unsigned i = 1007; i < 3000; i++) {
        kl = num_key(kb, i);
        TU_OK(ffdb_delete(b, kb, kl));
    }
    TU_OK(ffdb_cursor_next(c, &k, &v));
    kl = num_key(kb, 3000);
    cr_assert(val_eq(k, kb, kl), "next after deleting a run gave '%.*s'", (int)k.size,
              (const char *)k.data);
    /* delete everything before the cursor; prev then hits the start */
    for (unsigned i = 0; i < 3000; i++) {
        kl = num_key(kb, i);
        TU_OK(ffdb_delete(b, kb, kl));
    }
    TU_RC(ffdb_cursor_prev(c, &k, &v), FFDB_NOTFOUND);
    TU_OK(ffdb_cursor_first(c, &k, &v));
    kl = num_key(kb, 3000);
    cr_assert(val_eq(k, kb, kl));
    ffdb_cursor_close(c);
    TU_OK(ffdb_commit(txn));
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* ---- ffdb_val lifetime ------------------------------------------------------------------- */

/* Values never point into a frame that may be evicted: a cursor's value stays
 * valid while another cursor and gets sweep a pool of 16 frames; a get's value
 * stays valid while another transaction reads everything. */
Test(api, val_validity)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 16, 0, 0);
    ffdb_txn *txn, *other;
    ffdb_bucket *b, *ob;
    ffdb_cursor *c1, *c2;
    ffdb_val k1, v1, gv, k, v;
    char kb[16], want_k[16];
    unsigned char want_v[128];
    size_t wkl, wvl;
    int rc;
    static unsigned char big[30000];

    fill_many(db);
    tu_pattern(big, sizeof big, 77);
    TU_OK(ffdb_begin_write(db, &txn));
    b = open_bucket(txn, "b");
    TU_OK(ffdb_put(b, "big", 3, big, sizeof big));
    TU_OK(ffdb_commit(txn));

    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    TU_OK(ffdb_cursor_open(b, &c1));
    TU_OK(ffdb_cursor_open(b, &c2));
    wkl = num_key(want_k, 500);
    wvl = num_val(want_v, 500, 0);
    TU_OK(ffdb_cursor_seek(c1, want_k, wkl, &k1, &v1));
    cr_assert(val_eq(k1, want_k, wkl) && val_eq(v1, want_v, wvl));
    for (rc = ffdb_cursor_first(c2, &k, &v); rc == 0; rc = ffdb_cursor_next(c2, &k, &v))
        ;
    TU_RC(rc, FFDB_NOTFOUND);
    for (unsigned i = 0; i < MANY * 2; i += 10) {
        size_t kl = num_key(kb, i);
        TU_OK(ffdb_get(b, kb, kl, &gv));
    }
    cr_assert(val_eq(k1, want_k, wkl) && val_eq(v1, want_v, wvl),
              "a cursor's key/value changed while other calls evicted its page");

    /* a big value from get survives another txn's full sweep */
    TU_OK(ffdb_get(b, "big", 3, &gv));
    cr_assert(val_eq(gv, big, sizeof big));
    TU_OK(ffdb_begin_read(db, &other));
    ob = open_bucket(other, "b");
    {
        ffdb_cursor *oc;
        TU_OK(ffdb_cursor_open(ob, &oc));
        for (rc = ffdb_cursor_first(oc, &k, &v); rc == 0; rc = ffdb_cursor_next(oc, &k, &v))
            ;
        TU_RC(rc, FFDB_NOTFOUND);
        ffdb_cursor_close(oc);
    }
    ffdb_abort(other);
    cr_assert(val_eq(gv, big, sizeof big), "a get value changed while another txn read");
    ffdb_cursor_close(c1);
    ffdb_cursor_close(c2);
    ffdb_abort(txn);
    ffdb_close(db);
}

/* ---- statistics -------------------------------------------------------------------------- */

Test(api, stats)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 100, 0, 0);
    ffdb_txn *txn, *r;
    ffdb_bucket *b;
    ffdb_bucket_stat bs;
    char k[16];
    unsigned char v[128];
    uint64_t kbytes = 0, vbytes = 0;
    static unsigned char big[50000];

    ffdb_stat st0 = tu_stat(db);
    cr_assert_eq(st0.pool_frames, 100);
    cr_assert_eq(st0.readers, 0);
    cr_assert_eq(st0.oldest_reader_txid, 0);
    cr_assert(st0.direct_io == 0 || st0.direct_io == 1);
    cr_assert(st0.io_uring == 0 || st0.io_uring == 1);

    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "b");
    TU_OK(tu_bstat(b, &bs));
    cr_assert(bs.entries == 0 && bs.depth == 0 && bs.leaf_pages == 0 && bs.branch_pages == 0,
              "empty bucket: entries %llu depth %u", (unsigned long long)bs.entries, bs.depth);
    for (unsigned i = 0; i < 5000; i++) {
        size_t kl = num_key(k, i), vl = num_val(v, i, 0);
        TU_OK(ffdb_put(b, k, kl, v, vl));
        kbytes += kl;
        vbytes += vl;
    }
    TU_OK(tu_bstat(b, &bs)); /* inside the write txn: counts the uncommitted tree */
    cr_assert_eq(bs.entries, 5000);
    create_bucket(txn, "c");
    TU_OK(ffdb_commit(txn));

    ffdb_stat st1 = tu_stat(db);
    cr_assert_eq(st1.txid, st0.txid + 1);
    cr_assert_eq(st1.bucket_count, 2);
    cr_assert(st1.page_count > st0.page_count);
    cr_assert(st1.file_bytes >= st1.page_count * st1.page_size, "file_bytes %llu < %llu pages",
              (unsigned long long)st1.file_bytes, (unsigned long long)st1.page_count);
    cr_assert(st1.free_pages < st1.page_count && st1.pending_pages <= st1.free_pages);
    cr_assert(st1.pool_misses + st1.pool_hits > 0);

    TU_OK(ffdb_begin_read(db, &r));
    cr_assert_eq(ffdb_txn_id(r), st1.txid);
    {
        ffdb_stat sr = tu_stat(db);
        cr_assert_eq(sr.readers, 1);
        cr_assert_eq(sr.oldest_reader_txid, st1.txid);
    }
    b = open_bucket(r, "b");
    TU_OK(tu_bstat(b, &bs));
    cr_assert_eq(bs.entries, 5000);
    cr_assert(bs.depth >= 2);
    cr_assert(bs.leaf_pages >= 5000 * (8 + 9 + 10) / 4096, "%llu leaves",
              (unsigned long long)bs.leaf_pages);
    cr_assert(bs.branch_pages >= 1);
    cr_assert_eq(bs.overflow_pages, 0);
    cr_assert_eq(bs.key_bytes, kbytes, "key_bytes %llu, put %llu",
                 (unsigned long long)bs.key_bytes, (unsigned long long)kbytes);
    cr_assert_eq(bs.value_bytes, vbytes, "value_bytes %llu, put %llu",
                 (unsigned long long)bs.value_bytes, (unsigned long long)vbytes);
    cr_assert(bs.fill > 0.3 && bs.fill <= 1.0, "fill %f", bs.fill);
    cr_assert(bs.leaf_pages + bs.branch_pages + 2 <= st1.page_count);
    ffdb_abort(r);
    cr_assert_eq(tu_stat(db).readers, 0);

    /* an overflow value shows up as overflow pages */
    tu_pattern(big, sizeof big, 1);
    TU_OK(ffdb_begin_write(db, &txn));
    cr_assert_eq(ffdb_txn_id(txn), st1.txid + 1);
    b = open_bucket(txn, "c");
    TU_OK(ffdb_put(b, "big", 3, big, sizeof big));
    TU_OK(tu_bstat(b, &bs));
    cr_assert(bs.overflow_pages >= sizeof big / 4096, "overflow_pages %llu",
              (unsigned long long)bs.overflow_pages);
    cr_assert(bs.overflow_pages <= sizeof big / (4096 - 40) + 1);
    cr_assert_eq(bs.value_bytes, sizeof big);
    cr_assert_eq(bs.entries, 1);
    cr_assert_eq(bs.depth, 1);
    TU_OK(ffdb_commit(txn));
    ffdb_check_result cres;
    tu_check_clean(db, &cres);
    cr_assert_eq(cres.buckets, 2);
    cr_assert_eq(cres.entries, 5001);
    cr_assert_eq(cres.page_count, tu_stat(db).page_count);
    ffdb_close(db);
}

/* A reader held across many commits keeps every page they free pending. The
 * freelist on disk holds them once, as merged ranges, so the file grows with
 * the pages the commits write, not with commits x pending ranges (each
 * commit rewriting every pending group made the growth quadratic). */
Test(api, long_lived_reader_space_stays_linear)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 512, 0, FFDB_NOSYNC);
    ffdb_txn *txn, *r;
    ffdb_bucket *b;
    char k[16];
    unsigned char v[128];
    tu_rng rng;
    enum { ENTRIES = 60000, COMMITS = 300, PUTS = 100 };

    tu_rng_init(&rng, tu_seed("long-lived reader"));
    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "b");
    for (unsigned i = 0; i < ENTRIES; i++)
        TU_OK(ffdb_put(b, k, num_key(k, i), v, num_val(v, i, 0)));
    TU_OK(ffdb_commit(txn));
    ffdb_stat st0 = tu_stat(db);

    TU_OK(ffdb_begin_read(db, &r));
    uint64_t max_chain = 0;
    for (unsigned c = 0; c < COMMITS; c++) {
        TU_OK(ffdb_begin_write(db, &txn));
        b = open_bucket(txn, "b");
        for (unsigned p = 0; p < PUTS; p++) {
            unsigned i = (unsigned)tu_below(&rng, ENTRIES);
            TU_OK(ffdb_put(b, k, num_key(k, i), v, num_val(v, i, c + 1)));
        }
        TU_OK(ffdb_commit(txn));
        ffdb_stat st = tu_stat(db);
        if (st.freelist_pages > max_chain)
            max_chain = st.freelist_pages;
    }
    ffdb_stat st1 = tu_stat(db);
    /* Each commit writes at most its PUTS leaves, their branches and a short
     * chain; nothing is reusable while r lives. */
    uint64_t bound = (uint64_t)COMMITS * (PUTS + 20);
    cr_assert_leq(st1.page_count - st0.page_count, bound,
                  "%llu pages grew to %llu over %d commits (bound %llu); chain up to %llu pages",
                  (unsigned long long)st0.page_count, (unsigned long long)st1.page_count, COMMITS,
                  (unsigned long long)bound, (unsigned long long)max_chain);
    cr_assert_leq(max_chain, 8, "freelist chain reached %llu pages", (unsigned long long)max_chain);
    cr_assert_geq(st1.pending_pages, (uint64_t)COMMITS * PUTS / 2);
    ffdb_abort(r);

    /* with the reader gone, the next commits reuse the pending pages */
    for (unsigned c = 0; c < 20; c++) {
        TU_OK(ffdb_begin_write(db, &txn));
        b = open_bucket(txn, "b");
        for (unsigned p = 0; p < PUTS; p++) {
            unsigned i = (unsigned)tu_below(&rng, ENTRIES);
            TU_OK(ffdb_put(b, k, num_key(k, i), v, num_val(v, i, 7)));
        }
        TU_OK(ffdb_commit(txn));
    }
    ffdb_stat st2 = tu_stat(db);
    cr_assert_leq(st2.page_count, st1.page_count, "the file grew after the reader ended");
    cr_assert_leq(st2.pending_pages, PUTS + 20); /* the last commit's, until the next begins */
    tu_check_clean(db, NULL);
    ffdb_close(db);

    /* reopened: every free page is reusable, and the file is clean */
    db = tu_open(path, 512, 0, 0);
    ffdb_stat st3 = tu_stat(db);
    cr_assert_eq(st3.pending_pages, 0);
    cr_assert_eq(st3.free_pages, st2.free_pages);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* ---- ffdb_strerror ------------------------------------------------------------------------- */

Test(api, strerror_every_code)
{
    static const int codes[] = {
        FFDB_NOTFOUND, FFDB_EXISTS,    FFDB_EINVAL,    FFDB_ENOMEM,    FFDB_EIO,
        FFDB_ENOSPC,   FFDB_CORRUPT,   FFDB_ENOTDB,    FFDB_EVERSION,  FFDB_ELOCKED,
        FFDB_EREADONLY, FFDB_ENOTEMPTY, FFDB_EKEYORDER, FFDB_EPOOLFULL, FFDB_EFAILED,
        FFDB_EBADTXN,  FFDB_EBUSY,     FFDB_ETOOMANY,
    };
    const size_t n = sizeof codes / sizeof codes[0];
    const char *ok = ffdb_strerror(0);
    cr_assert(ok != NULL && ok[0] != 0, "ffdb_strerror(0)");
    for (size_t i = 0; i < n; i++) {
        const char *s = ffdb_strerror(codes[i]);
        cr_assert(s != NULL && s[0] != 0, "no message for %d", codes[i]);
        cr_assert(strcmp(s, ok) != 0, "code %d reads like success: %s", codes[i], s);
        for (size_t j = 0; j < i; j++)
            cr_assert(strcmp(s, ffdb_strerror(codes[j])) != 0, "codes %d and %d share '%s'",
                      codes[i], codes[j], s);
    }
    /* unknown codes still get a string */
    cr_assert(ffdb_strerror(-1) != NULL);
    cr_assert(ffdb_strerror(12345) != NULL);
    cr_assert(ffdb_strerror(-30699) != NULL);
    cr_assert(ffdb_strerror(-30799) != NULL);
}

/* ---- a second writer blocks ----------------------------------------------------------------- */

struct writer_arg {
    ffdb *db;
    volatile int began;
    int rc;
};

static void *second_writer(void *p)
{
    struct writer_arg *a = p;
    ffdb_txn *txn = NULL;
    a->rc = ffdb_begin_write(a->db, &txn);
    __atomic_store_n(&a->began, 1, __ATOMIC_SEQ_CST);
    if (a->rc == 0) {
        ffdb_bucket *b = NULL;
        a->rc = ffdb_bucket_open(txn, "b", 1, &b);
        if (a->rc == 0)
            a->rc = ffdb_put(b, "second", 6, "w", 1);
        if (a->rc == 0)
            a->rc = ffdb_commit(txn);
        else
            ffdb_abort(txn);
    }
    return NULL;
}

Test(api, second_writer_blocks)
{
    ffdb *db = tu_open(tu_path("db"), 0, 0, FFDB_NOSYNC);
    ffdb_txn *txn;
    ffdb_bucket *b;
    pthread_t th;
    struct writer_arg a = {db, 0, -1};
    struct timespec ts = {0, 200 * 1000 * 1000};

    TU_OK(ffdb_begin_write(db, &txn));
    b = create_bucket(txn, "b");
    put_str(b, "first", "w");
    cr_assert(pthread_create(&th, NULL, second_writer, &a) == 0);
    nanosleep(&ts, NULL);
    cr_assert(!__atomic_load_n(&a.began, __ATOMIC_SEQ_CST),
              "a second ffdb_begin_write returned while the first was active");
    TU_OK(ffdb_commit(txn));
    pthread_join(th, NULL);
    TU_RC(a.rc, 0);
    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    expect_str(b, "first", "w");
    expect_str(b, "second", "w");
    ffdb_abort(txn);
    ffdb_close(db);
}

/* ---- ffdb_check after random work -------------------------------------------------------- */

Test(api, check_clean_after_random_work)
{
    const char *path = tu_path("db");
    uint64_t seed = tu_seed("api::check_clean_after_random_work");
    tu_rng rng;
    ffdb *db = tu_open(path, 32, 0, FFDB_NOSYNC);
    static unsigned char val[40000];
    char k[16];
    uint64_t expect_entries = 0;
    static unsigned char present[2][800];
    ffdb_check_result res;

    tu_rng_init(&rng, seed);
    for (unsigned t = 0; t < 40; t++) {
        ffdb_txn *txn;
        ffdb_bucket *b[2];
        static unsigned char shadow[2][800];
        TU_OK(ffdb_begin_write(db, &txn));
        for (int j = 0; j < 2; j++) {
            const char *name = j ? "two" : "one";
            if (ffdb_bucket_open(txn, name, 3, &b[j]) == FFDB_NOTFOUND)
                b[j] = create_bucket(txn, name);
        }
        memcpy(shadow, present, sizeof present);
        unsigned ops = (unsigned)tu_range(&rng, 1, 150);
        for (unsigned o = 0; o < ops; o++) {
            int j = (int)tu_below(&rng, 2);
            unsigned i = (unsigned)tu_below(&rng, 800);
            size_t kl = num_key(k, i);
            if (tu_chance(&rng, 600)) {
                size_t vl = tu_chance(&rng, 30) ? tu_range(&rng, 4000, sizeof val)
                                                : tu_below(&rng, 200);
                tu_fill(&rng, val, vl);
                TU_OK(ffdb_put(b[j], k, kl, val, vl));
                shadow[j][i] = 1;
            } else {
                TU_OK(ffdb_delete(b[j], k, kl));
                shadow[j][i] = 0;
            }
        }
        if (tu_chance(&rng, 250)) {
            ffdb_abort(txn);
        } else {
            TU_OK(ffdb_commit(txn));
            memcpy(present, shadow, sizeof present);
        }
        if (t % 10 == 9) {
            ffdb_close(db);
            db = tu_open(path, 32, 0, FFDB_NOSYNC);
        }
    }
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 800; i++)
            expect_entries += present[j][i];
    tu_check_clean(db, &res);
    cr_assert_eq(res.entries, expect_entries, TU_SEED_FMT "check counts %llu entries, want %llu",
                 TU_SEED_ARG, (unsigned long long)res.entries,
                 (unsigned long long)expect_entries);
    cr_assert_eq(res.buckets, 2);
    cr_assert_eq(res.page_count, tu_stat(db).page_count);
    ffdb_close(db);
}

/* FFDB_MAX_READERS read transactions at once; one more is FFDB_ETOOMANY. */
Test(api, too_many_readers)
{
    ffdb *db = tu_open(tu_path("db"), 0, 0, FFDB_NOSYNC);
    ffdb_txn **r = calloc(FFDB_MAX_READERS + 1, sizeof *r);
    ffdb_txn *extra = NULL;
    unsigned n;
    cr_assert(r != NULL);
    for (n = 0; n < FFDB_MAX_READERS; n++)
        TU_OK(ffdb_begin_read(db, &r[n]));
    TU_RC(ffdb_begin_read(db, &extra), FFDB_ETOOMANY);
    cr_assert_eq(tu_stat(db).readers, FFDB_MAX_READERS);
    /* the writer is not affected */
    {
        ffdb_txn *w;
        ffdb_bucket *b;
        TU_OK(ffdb_begin_write(db, &w));
        TU_OK(ffdb_bucket_create(w, "b", 1, &b));
        TU_OK(ffdb_commit(w));
    }
    ffdb_abort(r[7]);
    TU_OK(ffdb_begin_read(db, &r[7]));
    {
        ffdb_bucket *b;
        TU_OK(ffdb_bucket_open(r[7], "b", 1, &b)); /* the new one sees the commit */
        TU_RC(ffdb_bucket_open(r[8], "b", 1, &b), FFDB_NOTFOUND);
    }
    for (n = 0; n < FFDB_MAX_READERS; n++)
        ffdb_abort(r[n]);
    cr_assert_eq(tu_stat(db).readers, 0);
    free(r);
    ffdb_close(db);
}

/* More open cursors than frames in a 16-frame pool: every move returns the
 * right entry or FFDB_EPOOLFULL; once the cursors close, all is well again. */
Test(api_cursor, more_cursors_than_frames)
{
    ffdb *db = tu_open(tu_path("db"), 16, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_cursor *c[40];
    int positioned[40] = {0};
    ffdb_val k, v;
    char kb[16];
    unsigned full = 0;

    fill_many(db);
    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    for (unsigned i = 0; i < 40; i++) {
        int rc = ffdb_cursor_open(b, &c[i]);
        if (rc == FFDB_EPOOLFULL) {
            c[i] = NULL;
            full++;
            continue;
        }
        TU_OK(rc);
        size_t kl = num_key(kb, i * 300); /* a different leaf for each */
        rc = ffdb_cursor_seek(c[i], kb, kl, &k, &v);
        if (rc == FFDB_EPOOLFULL) {
            full++;
            continue;
        }
        TU_OK(rc);
        cr_assert(val_eq(k, kb, kl), "cursor %u", i);
        positioned[i] = 1;
    }
    for (unsigned i = 0; i < 40; i++) {
        if (!positioned[i])
            continue;
        int rc = ffdb_cursor_next(c[i], &k, &v);
        if (rc == FFDB_EPOOLFULL) {
            full++;
            continue;
        }
        if (rc == 0) {
            size_t kl = num_key(kb, i * 300 + 2);
            cr_assert(val_eq(k, kb, kl), "cursor %u after next: '%.*s'", i, (int)k.size,
                      (const char *)k.data);
        } else {
            cr_assert_fail("cursor %u: next returned %d (%s)", i, rc, ffdb_strerror(rc));
        }
    }
    for (unsigned i = 0; i < 40; i++)
        ffdb_cursor_close(c[i]);
    fprintf(stderr, "api_cursor::more_cursors_than_frames: %u x EPOOLFULL\n", full);
    /* with the cursors gone, a full scan works */
    TU_OK(ffdb_cursor_open(b, &c[0]));
    unsigned n = 0;
    int rc;
    for (rc = ffdb_cursor_first(c[0], &k, &v); rc == 0; rc = ffdb_cursor_next(c[0], &k, &v))
        n++;
    TU_RC(rc, FFDB_NOTFOUND);
    cr_assert_eq(n, MANY);
    ffdb_cursor_close(c[0]);
    ffdb_abort(txn);
    ffdb_close(db);
}

/* ---- read-ahead of scans ---------------------------------------------------- */

static _Atomic unsigned long scan_reads;

static int counting_read(ffdb_file *f, void *buf, size_t len, uint64_t offset)
{
    scan_reads++;
    return ffdb_io_posix()->read(f, buf, len, offset);
}

static int counting_read_v(ffdb_file *f, const struct iovec *iov, int iov_count, uint64_t offset)
{
    scan_reads++;
    return ffdb_io_posix()->read_v(f, iov, iov_count, offset);
}

/* Bulk-load count entries into bucket "b" of a new file at path; reopen
 * it through io with frames frames and scan it both ways with point reads
 * between the steps. Every entry must come once, in order; a scan must
 * take fewer backend reads than max_reads_per_100_leaves per 100 leaves
 * (0: not checked). */
static void scan_through(const char *path, ffdb_io *io, size_t frames, unsigned count,
                         unsigned max_reads_per_100_leaves)
{
    ffdb *db = tu_open(path, 64, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bulk *bulk;
    ffdb_cursor *c;
    ffdb_val k, v;
    char kb[16];
    unsigned char vb[128];
    int rc;

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    TU_OK(ffdb_bulk_begin(b, 0, &bulk));
    for (unsigned i = 0; i < count; i++) {
        size_t kl = num_key(kb, i), vl = num_val(vb, i, 0);
        TU_OK(ffdb_bulk_append(bulk, kb, kl, vb, vl));
    }
    TU_OK(ffdb_bulk_finish(bulk));
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);

    db = tu_open_io(path, io, frames, 0);
    TU_OK(ffdb_begin_read(db, &txn));
    b = open_bucket(txn, "b");
    ffdb_bucket_stat bs;
    TU_OK(tu_bstat(b, &bs));
    cr_assert(bs.leaf_pages > 200, "%llu leaves", (unsigned long long)bs.leaf_pages);
    TU_OK(ffdb_cursor_open(b, &c));
    for (int dir = 1; dir >= -1; dir -= 2) {
        unsigned n = 0;
        scan_reads = 0;
        for (rc = dir > 0 ? ffdb_cursor_first(c, &k, &v) : ffdb_cursor_last(c, &k, &v); rc == 0;
             rc = dir > 0 ? ffdb_cursor_next(c, &k, &v) : ffdb_cursor_prev(c, &k, &v), n++) {
            unsigned i = dir > 0 ? n : count - 1 - n;
            size_t kl = num_key(kb, i), vl = num_val(vb, i, 0);
            cr_assert(val_eq(k, kb, kl) && val_eq(v, vb, vl), "dir %d: entry %u", dir, n);
            if (n % 997 == 0) { /* point reads between the steps */
                ffdb_val gv;
                size_t gl = num_key(kb, (n * 7919u) % count);
                TU_OK(ffdb_get(b, kb, gl, &gv));
            }
        }
        TU_RC(rc, FFDB_NOTFOUND);
        cr_assert_eq(n, count);
        if (max_reads_per_100_leaves)
            cr_assert(scan_reads * 100 < bs.leaf_pages * max_reads_per_100_leaves,
                      "dir %d: %lu reads for %llu leaves", dir, (unsigned long)scan_reads,
                      (unsigned long long)bs.leaf_pages);
    }
    ffdb_cursor_close(c);
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* A scan of a bulk-loaded bucket (its leaves are consecutive pages) larger
 * than the pool reads its leaves in runs, straight into the frames (one
 * vectored read per run), not one read per leaf, and still sees every
 * entry once, in order, both ways; a second, interleaved cursor and point
 * reads are not disturbed. */
Test(api_cursor, scans_larger_than_the_pool_read_leaves_in_runs)
{
    ffdb_io io = *ffdb_io_posix();
    io.read = counting_read;
    io.read_v = counting_read_v;
    scan_through(tu_path("ra"), &io, 64, 20000, 25); /* frames/8 = 8 leaves a read at most */
}

/* The smallest pool (16 frames: read-ahead may take 2 of them) still
 * returns every key both ways, and still reads leaves in pairs (branches
 * and the odd leaf between pairs come one a read). */
Test(api_cursor, a_scan_with_the_smallest_pool_returns_every_key)
{
    ffdb_io io = *ffdb_io_posix();
    io.read = counting_read;
    io.read_v = counting_read_v;
    scan_through(tu_path("ra16"), &io, 16, 20000, 75);
}

/* A backend without read_v (tables written before it existed): read-ahead
 * reads the run page by page into the frames, and the scan is unchanged. */
Test(api_cursor, read_ahead_without_a_vectored_read)
{
    ffdb_io io = *ffdb_io_posix();
    io.read = counting_read;
    io.read_v = NULL;
    scan_through(tu_path("ranov"), &io, 64, 20000, 0);
}
