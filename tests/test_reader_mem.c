/*
 * test_reader_mem.c — the freelist's state under a long-lived reader (F5 in
 * freelist/freelist.h). A reader held open over many commits used to
 * keep one pending group per commit (RSS ~190 MiB in the bench's space
 * row); groups no reader can tell apart are merged, so the count stays at
 * (live readers + durable txid + 1) and the ranges at what the freed pages
 * need. Counted through fl_counts (the engine's freelist), not RSS. The
 * reader still sees its snapshot, and once it ends everything is released.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/db.h"
#include "freelist/freelist.h"
#include "tests/testutil.h"

TestSuite(reader_mem, .init = tu_setup, .fini = tu_teardown, .timeout = 240);

#define KEYS 200u
/* 20,000 in make test (a few seconds); FFDB_READER_COMMITS=100000 for the
 * issue's figure (about a minute and 1.5 GiB of file on this machine). */
static unsigned commits(void)
{
    const char *e = getenv("FFDB_READER_COMMITS");
    unsigned long n = e ? strtoul(e, NULL, 10) : 0;
    return n >= 4000 && n <= 10000000 ? (unsigned)n : 20000u;
}

static void put_one(ffdb *db, unsigned k, unsigned gen)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    char key[16], val[32];
    int n = snprintf(val, sizeof val, "v%u", gen);

    snprintf(key, sizeof key, "k%04u", k);
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    TU_OK(ffdb_put(b, key, 5, val, (size_t)n));
    TU_OK(ffdb_commit(txn));
}

static struct fl_counts counts(ffdb *db)
{
    struct fl_counts c;
    fl_counts(db->fl, &c); /* the writer's: no write txn is open here */
    return c;
}

Test(reader_mem, pending_groups_stay_bounded_under_a_long_lived_reader)
{
    ffdb *db = tu_open(tu_path("r.ffdb"), 0, 0, FFDB_NOSYNC);
    ffdb_txn *txn, *reader, *second = NULL;
    ffdb_bucket *b, *rb;
    ffdb_val v;
    char key[16];
    uint64_t max_groups = 0, max_ranges = 0;
    struct fl_counts c;
    const unsigned COMMITS = commits();

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    for (unsigned k = 0; k < KEYS; k++) {
        snprintf(key, sizeof key, "k%04u", k);
        TU_OK(ffdb_put(b, key, 5, "v0", 2));
    }
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_read(db, &reader));
    TU_OK(ffdb_bucket_open(reader, "b", 1, &rb));
    for (unsigned i = 1; i <= COMMITS; i++) {
        put_one(db, (i * 7919u) % KEYS, i);
        if (i == COMMITS / 2)
            TU_OK(ffdb_begin_read(db, &second)); /* a second barrier for a while */
        if (i == COMMITS / 2 + 1000) {
            ffdb_abort(second);
            second = NULL;
        }
        if (i % 1000 == 0) {
            c = counts(db);
            if (c.groups > max_groups)
                max_groups = c.groups;
            if (c.ranges > max_ranges)
                max_ranges = c.ranges;
            cr_assert_gt(c.pending, 0, "commit %u: the reader keeps freed pages pending", i);
            cr_assert_leq(c.groups, 4, "commit %u: %llu pending groups", i,
                          (unsigned long long)c.groups);
            /* every pending page is a page of the file, and they coalesce */
            cr_assert_leq(c.ranges, tu_stat(db).page_count, "commit %u", i);
        }
    }
    fprintf(stderr, "reader_mem: %u commits under a reader: at most %llu groups, %llu ranges, "
                    "file %llu pages\n",
            COMMITS, (unsigned long long)max_groups, (unsigned long long)max_ranges,
            (unsigned long long)tu_stat(db).page_count);
    /* the reader still sees its snapshot */
    for (unsigned k = 0; k < KEYS; k += 17) {
        snprintf(key, sizeof key, "k%04u", k);
        TU_OK(ffdb_get(rb, key, 5, &v));
        cr_assert(v.size == 2 && memcmp(v.data, "v0", 2) == 0, "key %u", k);
    }
    ffdb_abort(reader);
    put_one(db, 1, 0);
    put_one(db, 2, 0);
    c = counts(db);
    cr_assert_leq(c.groups, 1, "after the reader ended: %llu groups", (unsigned long long)c.groups);
    ffdb_close(db);
}
