/*
 * test_resp_store.c — the Redis data model (modules/redis/store.h) on a real
 * file, without a server: collections built from sub-keys, O(1) delete with
 * the sweeper removing the elements later, expiry through the ttl index,
 * RENAME within and across databases, COPY, iterators at the edges of a
 * collection, the zscore index order, RANDOMKEY, and that the counters
 * survive a reopen. These are the helpers the data-type commands are built
 * on (cmd_hash.c, cmd_list.c, ...), tested where a failure is easy to read.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "modules/redis/store.h"
#include "tests/testutil.h"

TestSuite(resp_store, .init = tu_setup, .fini = tu_teardown, .timeout = 60);

struct fixture {
    ffdb *db;
    store *s;
    ffdb_txn *txn;
    store_txn *st;
};

static void begin(struct fixture *f, int64_t now)
{
    TU_OK(ffdb_begin_write(f->db, &f->txn));
    TU_OK(store_txn_begin(f->s, f->txn, 1, &f->st));
    store_txn_set_now(f->st, now);
}

static void commit(struct fixture *f)
{
    TU_OK(store_txn_prepare(f->st));
    TU_OK(ffdb_commit(f->txn));
    store_txn_end(f->st, 1);
}

static void open_fixture(struct fixture *f)
{
    f->db = tu_open(tu_path("store.ffdb"), 64, 0, FFDB_NODIRECT);
    TU_OK(store_open(f->db, &f->s));
}

static void close_fixture(struct fixture *f)
{
    store_close(f->s);
    ffdb_close(f->db);
}

/* A hash with n fields f0..f(n-1) = v0.. */
static void make_hash(struct fixture *f, int db, const char *key, int n)
{
    store_meta m;
    char field[16], val[16];

    TU_OK(store_meta_create(f->st, db, key, strlen(key), STORE_HASH, &m));
    for (int i = 0; i < n; i++) {
        snprintf(field, sizeof(field), "f%03d", i);
        snprintf(val, sizeof(val), "v%d", i);
        TU_OK(store_sub_put(f->st, &m, field, strlen(field), val, strlen(val)));
        m.size++;
    }
    TU_OK(store_meta_save(f->st, &m));
}

static int count_elements(struct fixture *f, int db, const char *key, int space)
{
    store_meta m;
    store_iter *it;
    ffdb_val k, v;
    int n = 0, rc;

    TU_OK(store_lookup(f->st, db, key, strlen(key), &m));
    TU_OK(store_iter_open(f->st, &m, space, &it));
    for (rc = store_iter_first(it, &k, &v); rc == 0; rc = store_iter_next(it, &k, &v))
        n++;
    TU_RC(rc, FFDB_NOTFOUND);
    store_iter_close(it);
    return n;
}

static uint64_t bucket_entries(ffdb_txn *txn, const char *name)
{
    ffdb_bucket *b;
    ffdb_bucket_stat st;
    TU_OK(ffdb_bucket_open(txn, name, strlen(name), &b));
    TU_OK(tu_bstat(b, &st));
    return st.entries;
}

Test(resp_store, strings_types_and_counters)
{
    struct fixture f;
    store_meta m;

    open_fixture(&f);
    begin(&f, 1000);
    TU_OK(store_string_put(f.st, 0, "k", 1, "hello", 5, 0));
    TU_OK(store_string_put(f.st, 0, "e", 1, "", 0, 5000));
    make_hash(&f, 0, "h", 3);
    TU_OK(store_lookup(f.st, 0, "k", 1, &m));
    cr_assert_eq(m.type, STORE_STRING);
    cr_assert(m.value.size == 5 && memcmp(m.value.data, "hello", 5) == 0);
    TU_RC(store_lookup_type(f.st, 0, "h", 1, STORE_STRING, &m), STORE_EWRONGTYPE);
    TU_OK(store_lookup_type(f.st, 0, "h", 1, STORE_HASH, &m));
    cr_assert_eq(m.size, 3);
    cr_assert_eq(store_txn_db_keys(f.st, 0), 3);
    commit(&f);
    cr_assert_eq(store_db_keys(f.s, 0), 3);
    cr_assert_eq(store_db_expires(f.s, 0), 1);
    close_fixture(&f);

    open_fixture(&f); /* the counters are in the file */
    cr_assert_eq(store_db_keys(f.s, 0), 3);
    cr_assert_eq(store_db_expires(f.s, 0), 1);
    begin(&f, 6000); /* e expired */
    TU_RC(store_lookup(f.st, 0, "e", 1, &m), FFDB_NOTFOUND);
    cr_assert_eq(store_key_expired(f.st, 0, "e", 1), 1);
    commit(&f);
    close_fixture(&f);
}

Test(resp_store, delete_is_constant_and_the_sweeper_cleans_up)
{
    struct fixture f;
    store_sweep_result res;
    int deleted;

    open_fixture(&f);
    begin(&f, 1000);
    make_hash(&f, 2, "big", 500);
    commit(&f);
    begin(&f, 1000);
    cr_assert_eq(bucket_entries(f.txn, "db2:sub"), 500);
    TU_OK(store_key_delete(f.st, 2, "big", 3, &deleted));
    cr_assert_eq(deleted, 1);
    /* Gone for readers at once; the elements are still in the file. */
    cr_assert_eq(bucket_entries(f.txn, "db2:sub"), 500);
    cr_assert_eq(bucket_entries(f.txn, "db2:gc"), 1);
    make_hash(&f, 2, "big", 2); /* a new key of the same name: a new version */
    cr_assert_eq(count_elements(&f, 2, "big", STORE_SUB), 2);
    commit(&f);
    for (int step = 0; step < 10; step++) {
        memset(&res, 0, sizeof(res));
        begin(&f, 1000);
        TU_OK(store_sweep(f.st, 2, 100, &res));
        commit(&f);
        if (!res.more)
            break;
    }
    begin(&f, 1000);
    cr_assert_eq(bucket_entries(f.txn, "db2:sub"), 2);
    cr_assert_eq(bucket_entries(f.txn, "db2:gc"), 0);
    cr_assert_eq(count_elements(&f, 2, "big", STORE_SUB), 2);
    commit(&f);
    cr_assert_eq(store_stale_removed_total(f.s), 500);
    close_fixture(&f);
}

Test(resp_store, expiry_through_the_ttl_index)
{
    struct fixture f;
    store_sweep_result res;
    store_meta m;

    open_fixture(&f);
    begin(&f, 1000);
    make_hash(&f, 0, "h", 10);
    TU_OK(store_key_expire(f.st, 0, "h", 1, 1500));
    TU_OK(store_string_put(f.st, 0, "s", 1, "v", 1, 1200));
    TU_OK(store_string_put(f.st, 0, "keep", 4, "v", 1, 0));
    commit(&f);
    cr_assert_eq(store_db_expires(f.s, 0), 2);
    begin(&f, 1300); /* s expired, h not yet */
    memset(&res, 0, sizeof(res));
    TU_OK(store_sweep(f.st, 0, 1000, &res));
    cr_assert_eq(res.expired_keys, 1);
    TU_OK(store_lookup(f.st, 0, "h", 1, &m));
    commit(&f);
    begin(&f, 2000);
    memset(&res, 0, sizeof(res));
    TU_OK(store_sweep(f.st, 0, 1000, &res));
    cr_assert_eq(res.expired_keys, 1);
    cr_assert_eq(res.stale_entries, 10);
    commit(&f);
    cr_assert_eq(store_db_keys(f.s, 0), 1);
    cr_assert_eq(store_db_expires(f.s, 0), 0);
    begin(&f, 2000);
    cr_assert_eq(bucket_entries(f.txn, "db0:ttl"), 0);
    cr_assert_eq(bucket_entries(f.txn, "db0:sub"), 0);
    commit(&f);
    close_fixture(&f);
}

Test(resp_store, rename_and_copy)
{
    struct fixture f;
    store_meta m;
    ffdb_val v;

    open_fixture(&f);
    begin(&f, 1000);
    make_hash(&f, 0, "a", 20);
    TU_OK(store_key_expire(f.st, 0, "a", 1, 99999));
    TU_OK(store_string_put(f.st, 0, "b", 1, "x", 1, 0));
    TU_OK(store_key_rename(f.st, 0, "a", 1, 0, "b", 1)); /* replaces the string */
    TU_RC(store_lookup(f.st, 0, "a", 1, &m), FFDB_NOTFOUND);
    TU_OK(store_lookup_type(f.st, 0, "b", 1, STORE_HASH, &m));
    cr_assert_eq(m.size, 20);
    cr_assert_eq(m.expire_ms, 99999);
    cr_assert_eq(count_elements(&f, 0, "b", STORE_SUB), 20);
    TU_OK(store_key_rename(f.st, 0, "b", 1, 5, "c", 1)); /* another database */
    cr_assert_eq(count_elements(&f, 5, "c", STORE_SUB), 20);
    cr_assert_eq(bucket_entries(f.txn, "db0:sub"), 0);
    TU_OK(store_key_copy(f.st, 5, "c", 1, 5, "d", 1, 0));
    TU_RC(store_key_copy(f.st, 5, "c", 1, 5, "d", 1, 0), FFDB_EXISTS);
    TU_OK(store_lookup(f.st, 5, "d", 1, &m));
    TU_OK(store_sub_get(f.st, &m, "f007", 4, &v));
    cr_assert(v.size == 2 && memcmp(v.data, "v7", 2) == 0);
    TU_OK(store_sub_put(f.st, &m, "f007", 4, "changed", 7));
    TU_OK(store_lookup(f.st, 5, "c", 1, &m)); /* the copy is independent */
    TU_OK(store_sub_get(f.st, &m, "f007", 4, &v));
    cr_assert(v.size == 2 && memcmp(v.data, "v7", 2) == 0);
    cr_assert_eq(store_txn_db_keys(f.st, 0), 0);
    cr_assert_eq(store_txn_db_keys(f.st, 5), 2);
    commit(&f);
    cr_assert_eq(store_db_expires(f.s, 5), 2);
    close_fixture(&f);
}

Test(resp_store, iterators_stay_inside_their_collection)
{
    struct fixture f;
    store_meta m;
    store_iter *it;
    ffdb_val k, v;

    open_fixture(&f);
    begin(&f, 1000);
    make_hash(&f, 0, "x", 5); /* versions either side of y's */
    make_hash(&f, 0, "y", 5);
    make_hash(&f, 0, "z", 5);
    TU_OK(store_lookup(f.st, 0, "y", 1, &m));
    TU_OK(store_iter_open(f.st, &m, STORE_SUB, &it));
    TU_OK(store_iter_last(it, &k, &v));
    cr_assert(k.size == 4 && memcmp(k.data, "f004", 4) == 0);
    TU_RC(store_iter_next(it, &k, &v), FFDB_NOTFOUND);
    TU_OK(store_iter_first(it, &k, &v));
    cr_assert(memcmp(k.data, "f000", 4) == 0);
    TU_RC(store_iter_prev(it, &k, &v), FFDB_NOTFOUND);
    TU_OK(store_iter_seek(it, "f002x", 5, &k, &v));
    cr_assert(memcmp(k.data, "f003", 4) == 0);
    TU_OK(store_iter_seek_le(it, "f002x", 5, &k, &v));
    cr_assert(memcmp(k.data, "f002", 4) == 0);
    TU_OK(store_iter_seek_le(it, "f002", 4, &k, &v));
    cr_assert(memcmp(k.data, "f002", 4) == 0);
    TU_RC(store_iter_seek_le(it, "a", 1, &k, &v), FFDB_NOTFOUND);
    TU_RC(store_iter_seek(it, "g", 1, &k, &v), FFDB_NOTFOUND);
    store_iter_close(it);
    commit(&f);
    close_fixture(&f);
}

Test(resp_store, zscore_index_walks_by_score)
{
    static const double scores[] = {3.5, -1, 0, 1e10, -INFINITY, 2, INFINITY, -0.5};
    struct fixture f;
    store_meta m;
    store_iter *it;
    ffdb_val k, v, member;
    double prev = -INFINITY, score;
    int n = 0, rc;

    open_fixture(&f);
    begin(&f, 1000);
    TU_OK(store_meta_create(f.st, 0, "z", 1, STORE_ZSET, &m));
    for (int i = 0; i < 8; i++) {
        char name[16];
        uint8_t enc[8];
        snprintf(name, sizeof(name), "m%d", i);
        store_score_encode(scores[i], enc);
        TU_OK(store_sub_put(f.st, &m, name, strlen(name), enc, 8));
        TU_OK(store_zscore_put(f.st, &m, scores[i], name, strlen(name)));
        m.size++;
    }
    TU_OK(store_meta_save(f.st, &m));
    TU_OK(store_iter_open(f.st, &m, STORE_ZSCORE, &it));
    for (rc = store_iter_first(it, &k, &v); rc == 0; rc = store_iter_next(it, &k, &v)) {
        TU_OK(store_zscore_split(&k, &score, &member));
        cr_assert_geq(score, prev);
        prev = score;
        n++;
    }
    cr_assert_eq(n, 8);
    store_iter_close(it);
    TU_OK(store_zscore_del(f.st, &m, 2, "m5", 2));
    cr_assert_eq(count_elements(&f, 0, "z", STORE_ZSCORE), 7);
    commit(&f);
    close_fixture(&f);
}

Test(resp_store, random_key_reaches_many_keys)
{
    struct fixture f;
    char key[STORE_MAX_KEY];
    size_t klen;
    int seen[100] = {0}, distinct = 0;

    open_fixture(&f);
    begin(&f, 1000);
    TU_RC(store_random_key(f.st, 0, 1, key, &klen), FFDB_NOTFOUND);
    for (int i = 0; i < 100; i++) {
        char k[32];
        snprintf(k, sizeof(k), "user:%05d", i * 7);
        TU_OK(store_string_put(f.st, 0, k, strlen(k), "v", 1, 0));
    }
    for (uint64_t r = 1; r <= 400; r++) {
        int id;
        TU_OK(store_random_key(f.st, 0, r * 0x9e3779b97f4a7c15ull, key, &klen));
        key[klen] = '\0';
        cr_assert_eq(sscanf(key, "user:%d", &id), 1);
        if (!seen[id / 7]++)
            distinct++;
    }
    cr_assert_geq(distinct, 30, "RANDOMKEY reached only %d of 100 keys", distinct);
    commit(&f);
    close_fixture(&f);
}
