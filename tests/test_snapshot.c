/*
 * test_snapshot.c — snapshot isolation under threads, and page reuse.
 *
 * The writer rewrites a whole bucket (every value, and which keys exist)
 * about 200 times; three reader threads begin their snapshots at different
 * commits and re-read them over and over while the writer goes on: each must
 * see exactly the state of the commit it began after (a counter key, a
 * checksum of the whole bucket, and the value every key must have in that
 * version). Once the readers are gone, a same-size workload must stop the
 * file from growing (freed pages are reused). A long reader delays reuse:
 * pending_pages stays > 0 while it lives.
 *
 * Reader threads never call Criterion assertions (those must run on the test's
 * thread); they record the first mismatch and the test thread reports it.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/testutil.h"

TestSuite(snapshot, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

#define KEYS 300u

/* Version c of the bucket: key j exists iff (j + c) % 5 != 0, with a value
 * whose length and bytes depend on (j, c). */
static int present_in(unsigned j, uint64_t c)
{
    return (j + c) % 5 != 0;
}

static size_t value_of(unsigned char *buf, unsigned j, uint64_t c)
{
    size_t len = 8 + (j * 13 + c * 7) % 150;
    /* a few keys carry overflow values, so overflow runs get freed and reused too */
    if (j % 97 == 3)
        len = 5000 + (c % 3) * 1500;
    tu_pattern(buf, len, ((uint64_t)j << 32) ^ c);
    return len;
}

static size_t key_of(char *buf, unsigned j)
{
    return (size_t)snprintf(buf, 16, "key%05u", j);
}

/* Write version c into bucket "data" and the counter into "meta". */
static int write_version(ffdb *db, uint64_t c)
{
    ffdb_txn *txn;
    ffdb_bucket *data, *meta;
    static unsigned char v[8192];
    char k[16];
    int rc = ffdb_begin_write(db, &txn);
    if (rc)
        return rc;
    rc = ffdb_bucket_open(txn, "data", 4, &data);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(txn, "data", 4, &data);
    if (rc == 0)
        rc = ffdb_bucket_open(txn, "meta", 4, &meta);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(txn, "meta", 4, &meta);
    for (unsigned j = 0; rc == 0 && j < KEYS; j++) {
        size_t kl = key_of(k, j);
        if (present_in(j, c))
            rc = ffdb_put(data, k, kl, v, value_of(v, j, c));
        else
            rc = ffdb_delete(data, k, kl);
    }
    if (rc == 0)
        rc = ffdb_put(meta, "counter", 7, &c, sizeof c);
    if (rc) {
        ffdb_abort(txn);
        return rc;
    }
    return ffdb_commit(txn);
}

/* What a reader sees: the counter and a checksum of the whole bucket. Also
 * verifies that the bucket is exactly version counter. Returns 0, an ffdb
 * code, or 1 if the contents are not version counter. */
static int observe(ffdb_txn *txn, uint64_t *counter, uint64_t *sum, char *why, size_t whylen)
{
    ffdb_bucket *data, *meta;
    ffdb_cursor *c;
    ffdb_val k, v;
    static __thread unsigned char want[8192];
    char kb[16];
    unsigned j = 0;
    uint64_t h = 0;
    int rc = ffdb_bucket_open(txn, "meta", 4, &meta);
    if (rc == 0)
        rc = ffdb_bucket_open(txn, "data", 4, &data);
    if (rc == 0)
        rc = ffdb_get(meta, "counter", 7, &v);
    if (rc)
        return rc;
    if (v.size != sizeof *counter) {
        snprintf(why, whylen, "counter of %zu bytes", v.size);
        return 1;
    }
    memcpy(counter, v.data, sizeof *counter);
    rc = ffdb_cursor_open(data, &c);
    if (rc)
        return rc;
    for (rc = ffdb_cursor_first(c, &k, &v); rc == 0; rc = ffdb_cursor_next(c, &k, &v)) {
        while (j < KEYS && !present_in(j, *counter))
            j++;
        size_t kl = key_of(kb, j);
        size_t vl = j < KEYS ? value_of(want, j, *counter) : 0;
        if (j >= KEYS || k.size != kl || memcmp(k.data, kb, kl) != 0) {
            snprintf(why, whylen, "version %llu: unexpected key '%.*s' (expected %s)",
                     (unsigned long long)*counter, (int)k.size, (const char *)k.data,
                     j < KEYS ? kb : "the end");
            ffdb_cursor_close(c);
            return 1;
        }
        if (v.size != vl || memcmp(v.data, want, vl) != 0) {
            snprintf(why, whylen, "version %llu: value of %s differs", (unsigned long long)*counter,
                     kb);
            ffdb_cursor_close(c);
            return 1;
        }
        h = tu_hash(k.data, k.size, h);
        h = tu_hash(v.data, v.size, h);
        j++;
    }
    ffdb_cursor_close(c);
    if (rc != FFDB_NOTFOUND)
        return rc;
    while (j < KEYS && !present_in(j, *counter))
        j++;
    if (j < KEYS) {
        snprintf(why, whylen, "version %llu: key %u missing", (unsigned long long)*counter, j);
        return 1;
    }
    *sum = h;
    return 0;
}

struct reader {
    ffdb *db;
    uint64_t start_after;     /* begin once this many commits are done */
    _Atomic uint64_t *commits;
    atomic_int *stop;
    atomic_int began;
    uint64_t txid, counter, sum;
    unsigned long rounds;
    int rc;                   /* first failure: ffdb code, or 1 = mismatch */
    char why[256];
};

static void *reader_main(void *p)
{
    struct reader *rd = p;
    ffdb_txn *txn;
    while (atomic_load(rd->commits) < rd->start_after)
        sched_yield();
    rd->rc = ffdb_begin_read(rd->db, &txn);
    if (rd->rc) {
        snprintf(rd->why, sizeof rd->why, "begin_read: %s", ffdb_strerror(rd->rc));
        atomic_store(&rd->began, 1);
        return NULL;
    }
    rd->txid = ffdb_txn_id(txn);
    rd->rc = observe(txn, &rd->counter, &rd->sum, rd->why, sizeof rd->why);
    atomic_store(&rd->began, 1);
    while (rd->rc == 0 && !atomic_load(rd->stop)) {
        uint64_t c2 = 0, s2 = 0;
        rd->rc = observe(txn, &c2, &s2, rd->why, sizeof rd->why);
        if (rd->rc == 0 && (c2 != rd->counter || s2 != rd->sum)) {
            snprintf(rd->why, sizeof rd->why,
                     "snapshot changed: counter %llu -> %llu, checksum %016llx -> %016llx",
                     (unsigned long long)rd->counter, (unsigned long long)c2,
                     (unsigned long long)rd->sum, (unsigned long long)s2);
            rd->rc = 1;
        }
        if (rd->rc == 0 && ffdb_txn_id(txn) != rd->txid) {
            snprintf(rd->why, sizeof rd->why, "txn id changed");
            rd->rc = 1;
        }
        rd->rounds++;
    }
    if (rd->rc && rd->rc != 1) {
        ffdb_error_info ei;
        size_t n = strlen(rd->why);
        ffdb_last_error(&ei);
        snprintf(rd->why + n, sizeof rd->why - n, " [%d %s: %s page %llu]", rd->rc,
                 ffdb_strerror(rd->rc), ei.message, (unsigned long long)ei.pgno);
    }
    ffdb_abort(txn);
    return NULL;
}

Test(snapshot, readers_see_exactly_their_snapshot)
{
    const char *path = tu_path("db");
    /* a small pool, so readers really read pages back from the file */
    ffdb *db = tu_open(path, 64, 0, FFDB_NOSYNC);
    _Atomic uint64_t commits = 0;
    atomic_int stop = 0;
    struct reader rd[3];
    pthread_t th[3];
    const uint64_t total = 200;

    TU_OK(write_version(db, 0));
    commits = 1;
    for (int i = 0; i < 3; i++) {
        memset(&rd[i], 0, sizeof rd[i]);
        rd[i].db = db;
        rd[i].start_after = 1 + (uint64_t)i * 40;
        rd[i].commits = &commits;
        rd[i].stop = &stop;
        cr_assert(pthread_create(&th[i], NULL, reader_main, &rd[i]) == 0);
    }
    for (uint64_t c = 1; c <= total; c++) {
        /* let each reader take its snapshot before the writer moves past it */
        for (int i = 0; i < 3; i++)
            if (rd[i].start_after == c)
                while (!atomic_load(&rd[i].began))
                    sched_yield();
        int rc = write_version(db, c);
        if (rc) {
            atomic_store(&stop, 1);
            for (int i = 0; i < 3; i++)
                pthread_join(th[i], NULL);
            cr_assert_fail("commit %llu failed: %d (%s)", (unsigned long long)c, rc,
                           ffdb_strerror(rc));
        }
        atomic_store(&commits, c + 1);
        if (c % 50 == 0) {
            ffdb_stat st = tu_stat(db);
            cr_assert(st.readers >= 1, "stat.readers %u with live readers", st.readers);
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++) {
        cr_assert(rd[i].rc == 0, "reader %d (began after %llu commits): %s", i,
                  (unsigned long long)rd[i].start_after, rd[i].why);
        /* began after commit start_after, before the writer's next one */
        cr_assert_eq(rd[i].counter, rd[i].start_after - 1, "reader %d saw version %llu", i,
                     (unsigned long long)rd[i].counter);
        cr_assert(rd[i].rounds >= 1, "reader %d re-read only %lu times", i, rd[i].rounds);
        fprintf(stderr, "snapshot: reader %d held version %llu, re-read it %lu times\n", i,
                (unsigned long long)rd[i].counter, rd[i].rounds);
    }
    ffdb_stat st = tu_stat(db);
    cr_assert_eq(st.readers, 0);

    /* the latest state is version total */
    {
        ffdb_txn *txn;
        uint64_t counter = 0, sum = 0;
        char why[256] = "";
        TU_OK(ffdb_begin_read(db, &txn));
        int rc = observe(txn, &counter, &sum, why, sizeof why);
        cr_assert(rc == 0, "final state: %d %s", rc, why);
        cr_assert_eq(counter, total);
        ffdb_abort(txn);
    }
    tu_check_clean(db, NULL);

    /* no readers: the same workload must stop growing the file */
    uint64_t pc_warm = 0, pc_max_late = 0;
    for (uint64_t c = total + 1; c <= total + 150; c++) {
        TU_OK(write_version(db, c));
        st = tu_stat(db);
        if (c == total + 30)
            pc_warm = st.page_count;
        if (c > total + 30 && st.page_count > pc_max_late)
            pc_max_late = st.page_count;
    }
    cr_assert(pc_max_late <= pc_warm + 4,
              "the file kept growing without readers: %llu pages after 30 commits, up to %llu "
              "over the next 120",
              (unsigned long long)pc_warm, (unsigned long long)pc_max_late);
    tu_check_clean(db, NULL);
    ffdb_close(db);

    /* and the state survives a reopen */
    db = tu_open(path, 64, 0, FFDB_NOSYNC);
    {
        ffdb_txn *txn;
        uint64_t counter = 0, sum = 0;
        char why[256] = "";
        TU_OK(ffdb_begin_read(db, &txn));
        int rc = observe(txn, &counter, &sum, why, sizeof why);
        cr_assert(rc == 0, "after reopen: %d %s", rc, why);
        cr_assert_eq(counter, total + 150);
        ffdb_abort(txn);
    }
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(snapshot, new_reader_sees_commit_old_reader_does_not)
{
    ffdb *db = tu_open(tu_path("db"), 0, 0, FFDB_NOSYNC);
    ffdb_txn *old, *w, *fresh;
    ffdb_bucket *b;
    ffdb_val v;

    TU_OK(ffdb_begin_write(db, &w));
    TU_OK(ffdb_bucket_create(w, "b", 1, &b));
    TU_OK(ffdb_put(b, "k", 1, "v1", 2));
    TU_OK(ffdb_commit(w));

    TU_OK(ffdb_begin_read(db, &old));
    TU_OK(ffdb_begin_write(db, &w));
    TU_OK(ffdb_bucket_open(w, "b", 1, &b));
    TU_OK(ffdb_put(b, "k", 1, "v2", 2));
    TU_OK(ffdb_put(b, "new", 3, "x", 1));
    TU_OK(ffdb_bucket_create(w, "c", 1, &b));
    /* a reader begun while the writer is active sees the last commit */
    TU_OK(ffdb_begin_read(db, &fresh));
    TU_OK(ffdb_bucket_open(fresh, "b", 1, &b));
    TU_OK(ffdb_get(b, "k", 1, &v));
    cr_assert(v.size == 2 && memcmp(v.data, "v1", 2) == 0);
    ffdb_abort(fresh);
    TU_OK(ffdb_commit(w));

    TU_OK(ffdb_begin_read(db, &fresh));
    cr_assert_eq(ffdb_txn_id(fresh), ffdb_txn_id(old) + 1);
    TU_OK(ffdb_bucket_open(fresh, "b", 1, &b));
    TU_OK(ffdb_get(b, "k", 1, &v));
    cr_assert(v.size == 2 && memcmp(v.data, "v2", 2) == 0, "a new reader misses the commit");
    TU_OK(ffdb_get(b, "new", 3, &v));
    TU_OK(ffdb_bucket_open(fresh, "c", 1, &b));

    TU_OK(ffdb_bucket_open(old, "b", 1, &b));
    TU_OK(ffdb_get(b, "k", 1, &v));
    cr_assert(v.size == 2 && memcmp(v.data, "v1", 2) == 0, "an old reader sees a later commit");
    TU_RC(ffdb_get(b, "new", 3, &v), FFDB_NOTFOUND);
    TU_RC(ffdb_bucket_open(old, "c", 1, &b), FFDB_NOTFOUND);
    ffdb_abort(old);
    ffdb_abort(fresh);
    ffdb_close(db);
}

Test(snapshot, long_reader_delays_reuse)
{
    const char *path = tu_path("db");
    ffdb *db = tu_open(path, 64, 0, FFDB_NOSYNC);
    ffdb_txn *reader;
    uint64_t counter = 0, sum0 = 0, sum = 0;
    char why[256] = "";

    for (uint64_t c = 0; c < 5; c++)
        TU_OK(write_version(db, c));
    /* settle: without readers the file reaches its steady size */
    for (uint64_t c = 5; c < 20; c++)
        TU_OK(write_version(db, c));
    ffdb_stat steady = tu_stat(db);

    TU_OK(ffdb_begin_read(db, &reader));
    TU_OK(observe(reader, &counter, &sum0, why, sizeof why));
    cr_assert_eq(counter, 19);
    uint64_t snapshot_pages;
    {
        ffdb_bucket *data;
        ffdb_bucket_stat bs;
        TU_OK(ffdb_bucket_open(reader, "data", 4, &data));
        TU_OK(tu_bstat(data, &bs));
        snapshot_pages = bs.branch_pages + bs.leaf_pages + bs.overflow_pages;
        cr_assert(bs.overflow_pages > 0 && bs.leaf_pages > 1);
    }
    ffdb_stat during = steady;
    for (uint64_t c = 20; c < 60; c++) {
        TU_OK(write_version(db, c));
        during = tu_stat(db);
        cr_assert(during.pending_pages > 0,
                  "commit %llu: pages freed while a reader lives are not pending",
                  (unsigned long long)c);
        cr_assert(during.pending_pages <= during.free_pages);
        cr_assert_eq(during.readers, 1);
        cr_assert_eq(during.oldest_reader_txid, ffdb_txn_id(reader));
    }
    /* every page of the reader's "data" tree was replaced since (each commit
     * rewrites every value), and none of them may be reused while it lives */
    cr_assert(during.pending_pages >= snapshot_pages,
              "%llu pending pages, but the reader's snapshot alone has %llu replaced pages",
              (unsigned long long)during.pending_pages, (unsigned long long)snapshot_pages);
    int rc = observe(reader, &counter, &sum, why, sizeof why);
    cr_assert(rc == 0 && counter == 19 && sum == sum0, "the long reader's snapshot changed: %s",
              why);
    tu_check_clean(db, NULL);
    ffdb_abort(reader);

    /* reader gone: the pending pages become reusable and the file stops growing */
    for (uint64_t c = 60; c < 63; c++)
        TU_OK(write_version(db, c));
    ffdb_stat after = tu_stat(db);
    cr_assert(after.pending_pages < during.pending_pages,
              "pending pages did not drop after the reader ended (%llu -> %llu)",
              (unsigned long long)during.pending_pages, (unsigned long long)after.pending_pages);
    cr_assert_eq(after.readers, 0);
    cr_assert_eq(after.oldest_reader_txid, 0);
    for (uint64_t c = 63; c < 120; c++)
        TU_OK(write_version(db, c));
    ffdb_stat late = tu_stat(db);
    cr_assert(late.page_count <= after.page_count + 4,
              "the file grew from %llu to %llu pages though %llu were free",
              (unsigned long long)after.page_count, (unsigned long long)late.page_count,
              (unsigned long long)after.free_pages);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* Readers on many threads at once, each beginning and ending many short
 * snapshots while the writer commits: every snapshot is consistent. */
struct churn {
    ffdb *db;
    atomic_int *stop;
    unsigned long snapshots;
    int rc;
    char why[256];
};

static void *churn_main(void *p)
{
    struct churn *ch = p;
    while (!atomic_load(ch->stop) && ch->rc == 0) {
        ffdb_txn *txn;
        uint64_t c = 0, s = 0;
        ch->rc = ffdb_begin_read(ch->db, &txn);
        if (ch->rc) {
            snprintf(ch->why, sizeof ch->why, "begin_read");
            break;
        }
        ch->rc = observe(txn, &c, &s, ch->why, sizeof ch->why);
        if (ch->rc == 0 && ffdb_txn_id(txn) == 0) {
            snprintf(ch->why, sizeof ch->why, "read txn id 0");
            ch->rc = 1;
        }
        ffdb_abort(txn);
        ch->snapshots++;
    }
    return NULL;
}

Test(snapshot, many_short_readers)
{
    ffdb *db = tu_open(tu_path("db"), 32, 0, FFDB_NOSYNC);
    atomic_int stop = 0;
    struct churn ch[3];
    pthread_t th[3];

    TU_OK(write_version(db, 0));
    for (int i = 0; i < 3; i++) {
        memset(&ch[i], 0, sizeof ch[i]);
        ch[i].db = db;
        ch[i].stop = &stop;
        cr_assert(pthread_create(&th[i], NULL, churn_main, &ch[i]) == 0);
    }
    int wrc = 0;
    for (uint64_t c = 1; c <= 60 && wrc == 0; c++)
        wrc = write_version(db, c);
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    cr_assert(wrc == 0, "writer: %d (%s)", wrc, ffdb_strerror(wrc));
    for (int i = 0; i < 3; i++) {
        cr_assert(ch[i].rc == 0, "churn reader %d: %d %s", i, ch[i].rc, ch[i].why);
        cr_assert(ch[i].snapshots > 0);
    }
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

/* A 16-frame pool shared by a writer and six reader threads: every frame may
 * end up pinned. Each call then returns correct data or FFDB_EPOOLFULL —
 * never wrong data, a crash or a deadlock (the suite's timeout). */
struct squeeze {
    ffdb *db;
    atomic_int *stop;
    unsigned long ok, full;
    int rc;
    char why[256];
};

static void *squeeze_main(void *p)
{
    struct squeeze *sq = p;
    while (!atomic_load(sq->stop) && sq->rc == 0) {
        ffdb_txn *txn;
        uint64_t c = 0, s = 0;
        int rc = ffdb_begin_read(sq->db, &txn);
        if (rc == FFDB_EPOOLFULL) {
            sq->full++;
            continue;
        }
        if (rc) {
            sq->rc = rc;
            snprintf(sq->why, sizeof sq->why, "begin_read: %s", ffdb_strerror(rc));
            break;
        }
        rc = observe(txn, &c, &s, sq->why, sizeof sq->why);
        if (rc == FFDB_EPOOLFULL)
            sq->full++;
        else if (rc)
            sq->rc = rc;
        else
            sq->ok++;
        ffdb_abort(txn);
    }
    return NULL;
}

Test(snapshot, tiny_pool_many_threads)
{
    ffdb *db = tu_open(tu_path("db"), 16, 0, FFDB_NOSYNC);
    atomic_int stop = 0;
    struct squeeze sq[6];
    pthread_t th[6];
    unsigned long writer_full = 0;
    uint64_t last = 0;

    TU_OK(write_version(db, 0));
    for (int i = 0; i < 6; i++) {
        memset(&sq[i], 0, sizeof sq[i]);
        sq[i].db = db;
        sq[i].stop = &stop;
        cr_assert(pthread_create(&th[i], NULL, squeeze_main, &sq[i]) == 0);
    }
    int wrc = 0;
    for (uint64_t c = 1; c <= 40 && wrc == 0 && writer_full < 10000; c++) {
        wrc = write_version(db, c);
        if (wrc == FFDB_EPOOLFULL || wrc == FFDB_EBADTXN) {
            writer_full++;
            wrc = 0;
            c--; /* try this version again */
            continue;
        }
        if (wrc == 0)
            last = c;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    cr_assert(wrc == 0, "writer: %d (%s)", wrc, ffdb_strerror(wrc));
    cr_assert_eq(last, 40, "the writer gave up after %lu full pools", writer_full);
    unsigned long ok = 0, full = 0;
    for (int i = 0; i < 6; i++) {
        cr_assert(sq[i].rc == 0, "reader %d: %d (%s) %s", i, sq[i].rc, ffdb_strerror(sq[i].rc),
                  sq[i].why);
        ok += sq[i].ok;
        full += sq[i].full;
    }
    fprintf(stderr, "snapshot tiny pool: %lu good snapshots, %lu EPOOLFULL; writer %lu\n", ok,
            full, writer_full);
    cr_assert(ok > 0, "no reader ever completed a scan");
    {
        ffdb_txn *txn;
        uint64_t counter = 0, sum = 0;
        char why[256] = "";
        TU_OK(ffdb_begin_read(db, &txn));
        int rc = observe(txn, &counter, &sum, why, sizeof why);
        cr_assert(rc == 0 && counter == 40, "final state: %d %s (version %llu)", rc, why,
                  (unsigned long long)counter);
        ffdb_abort(txn);
    }
    tu_check_clean(db, NULL);
    ffdb_close(db);
}
