/*
 * test_debug_check.c — the debug check of builds with -DFFDB_DEBUG_CHECK
 * (make asan): every commit checks the state it committed and aborts the
 * process on a problem (engine/check.c).
 *
 * A commit that damages the file cannot be made through the API, so the
 * damage is done beside it: a page of a long overflow run (read from disk at
 * every check, never cached) is made to name another index in its run,
 * sealed again, between two commits. The next commit must abort; the same
 * steps on a handle whose file was damaged before it first wrote must not
 * (its commits are not checked), and neither may a commit on a clean file.
 * Without FFDB_DEBUG_CHECK the suite is empty.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "common/checksum.h"
#include "common/format.h"
#include "tests/testutil.h"

#ifdef FFDB_DEBUG_CHECK

TestSuite(debug_check, .init = tu_setup, .fini = tu_teardown, .timeout = 60);

#define PS 4096u
#define RUN_LEN (3u << 20) /* 3 MiB: longer than the check pool caches (frames / 8) */

static ffdb *open_db(void)
{
    return tu_open(tu_path("db"), 0, 0, FFDB_NODIRECT);
}

static void put_one(ffdb *db, const char *key, const void *val, size_t vlen)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    TU_OK(ffdb_begin_write(db, &txn));
    int rc = ffdb_bucket_open(txn, "b", 1, &b);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(txn, "b", 1, &b);
    TU_OK(rc);
    TU_OK(ffdb_put(b, key, strlen(key), val, vlen));
    TU_OK(ffdb_commit(txn));
}

/* Make page 1 of the run that starts at the first overflow page claim to be
 * page 2 of it, with a valid checksum. */
static void damage_run(void)
{
    FILE *f = fopen(tu_path("db"), "r+b");
    uint8_t page[PS];
    cr_assert(f);
    for (uint64_t pgno = 2;; pgno++) {
        cr_assert_eq(fseek(f, (long)(pgno * PS), SEEK_SET), 0);
        cr_assert_eq(fread(page, 1, PS, f), PS, "no overflow run found");
        if (page[PH_KIND] != PAGE_OVERFLOW || ld64(page + PH_NEXT) != 1)
            continue;
        st64(page + PH_NEXT, 2);
        page_seal(page, PS);
        cr_assert_eq(fseek(f, (long)(pgno * PS), SEEK_SET), 0);
        cr_assert_eq(fwrite(page, 1, PS, f), PS);
        break;
    }
    fclose(f);
}

static void make_file_with_run(void)
{
    static unsigned char big[RUN_LEN];
    ffdb *db = open_db();
    memset(big, 'r', sizeof big);
    put_one(db, "run", big, sizeof big);
    put_one(db, "k1", "v", 1); /* checked: clean */
    ffdb_close(db);
}

Test(debug_check, a_commit_leaving_a_damaged_file_aborts, .signal = SIGABRT)
{
    make_file_with_run();
    ffdb *db = open_db();
    put_one(db, "k2", "v", 1); /* the handle learns the file is clean */
    damage_run();
    put_one(db, "k3", "v", 1); /* its check meets the damage: abort */
    ffdb_close(db);
}

Test(debug_check, a_file_damaged_before_the_first_write_is_not_checked)
{
    make_file_with_run();
    damage_run();
    ffdb *db = open_db();
    put_one(db, "k2", "v", 1);
    put_one(db, "k3", "v", 1);
    cr_assert_eq(ffdb_check(db, NULL, NULL, NULL), FFDB_CORRUPT);
    ffdb_close(db);
}

#endif /* FFDB_DEBUG_CHECK */
