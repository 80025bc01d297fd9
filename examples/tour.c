/*
 * tour.c — ffdb at work, end to end: create a file, bulk-load a bucket,
 * write and read in transactions, scan with a cursor, read a snapshot while
 * a writer commits, check the file and print its statistics.
 *
 * Usage: tour [FILE]   (default: tour.ffdb in the current directory)
 * This is the program the README's run command builds and runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ffdb.h"

#define ENTRIES 200000

static void die(const char *what, int rc)
{
    ffdb_error_info info;
    ffdb_last_error(&info);
    fprintf(stderr, "tour: %s: %s%s%s\n", what, ffdb_strerror(rc), info.code ? " — " : "",
            info.code ? info.message : "");
    exit(1);
}

#define TRY(what, call)                                                                            \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ < 0)                                                                               \
            die(what, rc_);                                                                        \
    } while (0)

static void report(void *arg, uint64_t pgno, const char *problem)
{
    (void)arg;
    fprintf(stderr, "  problem at page %llu: %s\n", (unsigned long long)pgno, problem);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "tour.ffdb";
    ffdb *db;
    ffdb_txn *txn, *snap;
    ffdb_bucket *users, *old_view;
    ffdb_bulk *bulk;
    ffdb_cursor *cur;
    ffdb_val k, v;
    ffdb_stat st;
    ffdb_bucket_stat bs;
    ffdb_check_result cr;
    char key[32], val[64];
    int rc, n;

    unlink(path);
    TRY("open", ffdb_open(path, NULL, &db));
    printf("created %s\n", path);

    /* 1. Bulk-load 200,000 sorted entries into a new bucket. */
    TRY("begin", ffdb_begin_write(db, &txn));
    TRY("create bucket", ffdb_bucket_create(txn, "users", 5, &users));
    TRY("bulk begin", ffdb_bulk_begin(users, 0.9, &bulk));
    for (int i = 0; i < ENTRIES; i++) {
        int kl = snprintf(key, sizeof(key), "user:%08d", i);
        int vl = snprintf(val, sizeof(val), "{\"id\":%d,\"karma\":%d}", i, (i * 37) % 1000);
        TRY("bulk append", ffdb_bulk_append(bulk, key, (size_t)kl, val, (size_t)vl));
    }
    TRY("bulk finish", ffdb_bulk_finish(bulk));
    TRY("commit", ffdb_commit(txn));
    printf("bulk-loaded %d entries (fill factor 0.9)\n", ENTRIES);

    /* 2. A snapshot reader starts now; the writer then changes things. */
    TRY("begin read", ffdb_begin_read(db, &snap));
    TRY("open bucket", ffdb_bucket_open(snap, "users", 5, &old_view));

    TRY("begin", ffdb_begin_write(db, &txn));
    TRY("open bucket", ffdb_bucket_open(txn, "users", 5, &users));
    TRY("put", ffdb_put(users, "user:00000042", 13, "{\"id\":42,\"karma\":9001}", 22));
    TRY("insert", ffdb_insert(users, "user:99999999", 13, "{\"id\":-1}", 9));
    rc = ffdb_insert(users, "user:00000001", 13, "dup", 3);
    printf("insert of an existing key: %s\n", ffdb_strerror(rc));
    for (int i = 100; i < 200; i++) {
        int kl = snprintf(key, sizeof(key), "user:%08d", i);
        TRY("delete", ffdb_delete(users, key, (size_t)kl));
    }
    TRY("commit", ffdb_commit(txn));
    printf("committed: 1 update, 1 insert, 100 deletes\n");

    /* 3. The snapshot still sees the state it began with. */
    TRY("get", ffdb_get(old_view, "user:00000042", 13, &v));
    printf("snapshot sees user:00000042 = %.*s\n", (int)v.size, (const char *)v.data);
    ffdb_abort(snap);

    TRY("begin read", ffdb_begin_read(db, &txn));
    TRY("open bucket", ffdb_bucket_open(txn, "users", 5, &users));
    TRY("get", ffdb_get(users, "user:00000042", 13, &v));
    printf("new reader sees user:00000042 = %.*s\n", (int)v.size, (const char *)v.data);

    /* 4. Cursor: seek and scan a range, then count everything. */
    TRY("cursor", ffdb_cursor_open(users, &cur));
    printf("range scan from user:00000097:\n");
    n = 0;
    for (rc = ffdb_cursor_seek(cur, "user:00000097", 13, &k, &v); rc == 0 && n < 5;
         rc = ffdb_cursor_next(cur, &k, &v), n++)
        printf("  %.*s = %.*s\n", (int)k.size, (const char *)k.data, (int)v.size,
               (const char *)v.data);
    if (rc < 0 && rc != FFDB_NOTFOUND)
        die("cursor", rc);
    n = 0;
    for (rc = ffdb_cursor_first(cur, &k, NULL); rc == 0; rc = ffdb_cursor_next(cur, &k, NULL))
        n++;
    if (rc != FFDB_NOTFOUND)
        die("scan", rc);
    printf("full scan: %d entries\n", n);
    TRY("last", ffdb_cursor_last(cur, &k, NULL));
    printf("last key: %.*s\n", (int)k.size, (const char *)k.data);
    ffdb_cursor_close(cur);

    TRY("bucket stat", ffdb_stat_bucket(users, &bs));
    printf("bucket users: %llu entries, depth %u, %llu branch + %llu leaf pages, fill %.0f%%\n",
           (unsigned long long)bs.entries, bs.depth, (unsigned long long)bs.branch_pages,
           (unsigned long long)bs.leaf_pages, bs.fill * 100);
    ffdb_abort(txn);

    /* 5. Verify the whole file and print the engine's figures. */
    rc = ffdb_check(db, report, NULL, &cr);
    printf("check: %s (%llu pages: %llu reachable, %llu free)\n", rc == 0 ? "clean" : "PROBLEMS",
           (unsigned long long)cr.page_count, (unsigned long long)cr.reachable_pages,
           (unsigned long long)cr.free_pages);
    TRY("stat", ffdb_stat_db(db, &st));
    printf("file: txid %llu, %llu pages of %u bytes, %llu free, %.1f MiB on disk\n",
           (unsigned long long)st.txid, (unsigned long long)st.page_count, st.page_size,
           (unsigned long long)st.free_pages, (double)st.file_bytes / (1 << 20));
    printf("io: direct I/O %s, io_uring %s\n", st.direct_io ? "on" : "off (buffered fallback)",
           st.io_uring ? "on" : "off (pwritev)");
    printf("pool: %llu frames, %llu hits, %llu misses, %llu evictions\n",
           (unsigned long long)st.pool_frames, (unsigned long long)st.pool_hits,
           (unsigned long long)st.pool_misses, (unsigned long long)st.pool_evictions);
    ffdb_close(db);
    return rc == 0 ? 0 : 1;
}
