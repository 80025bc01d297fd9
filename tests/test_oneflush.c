/*
 * test_oneflush.c — the one-flush durable commit (engine/clist.c): commit
 * lists, their verification at open and the fall-back to the previous
 * commit, on the in-memory disk of testing/io_mem.h.
 *
 * A small commit syncs once (FFDB_TWOFLUSH: twice; a commit of more than
 * 4,096 pages: twice). After commit T returned, damaging any page its list
 * names — a torn page, a stale but well-sealed page (an older write that
 * landed instead), a lost list page — makes open take commit T - 1, whole
 * and clean; damaging nothing keeps T. A version 1 file (no list fields)
 * opens, and its next commit writes a version 2 meta. `ffdb check` counts
 * the list pages of the last commit as owned. A clean close commits once
 * more without a list, so damage found after it is reported as corruption. The power-loss proof
 * over many crash points is ffdb-crash's (tools/crash/power.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/checksum.h"
#include "common/format.h"
#include "testing/io_mem.h"
#include "tests/testutil.h"

TestSuite(oneflush, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

#define PAGE 4096u

static ffdb *mem_open(struct io_mem *m, unsigned flags)
{
    return tu_open_io("mem.ffdb", io_mem_io(m), 0, flags);
}

/* Put n keys of generation gen in one commit. */
static void write_gen(ffdb *db, unsigned gen, unsigned n)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    char k[24], v[64];
    int rc;
    TU_OK(ffdb_begin_write(db, &txn));
    rc = ffdb_bucket_open(txn, "b", 1, &b);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(txn, "b", 1, &b);
    TU_OK(rc);
    for (unsigned i = 0; i < n; i++) {
        size_t kl = (size_t)snprintf(k, sizeof k, "k%06u", (i * 7919u) % n);
        size_t vl = (size_t)snprintf(v, sizeof v, "v%u-%u", gen, (i * 7919u) % n);
        TU_OK(ffdb_put(b, k, kl, v, vl));
    }
    TU_OK(ffdb_put(b, "gen", 3, &gen, sizeof gen));
    TU_OK(ffdb_commit(txn));
}

static unsigned gen_of(ffdb *db)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    unsigned gen = 0;
    TU_OK(ffdb_begin_read(db, &txn));
    if (ffdb_bucket_open(txn, "b", 1, &b) == 0) {
        TU_OK(ffdb_get(b, "gen", 3, &v));
        cr_assert_eq(v.size, sizeof gen);
        memcpy(&gen, v.data, sizeof gen);
    }
    ffdb_abort(txn);
    return gen;
}

static uint64_t syncs_of(struct io_mem *m)
{
    struct io_mem_counts c;
    io_mem_counts(m, &c);
    return c.calls[IO_MEM_SYNC];
}

/* The meta of txid (slot txid % 2) as the disk holds it. */
static void read_meta(struct io_mem *m, uint64_t txid, uint8_t *page)
{
    cr_assert_eq(io_mem_durable_read(m, (txid % 2) * PAGE, page, PAGE), PAGE);
    cr_assert_eq(ld64(page + PH_TXID), txid);
}

Test(oneflush, a_small_commit_syncs_once)
{
    for (int two = 0; two < 2; two++) {
        struct io_mem *m = io_mem_create();
        ffdb *db = mem_open(m, two ? FFDB_TWOFLUSH : 0);
        uint64_t before = syncs_of(m);
        for (unsigned g = 1; g <= 10; g++)
            write_gen(db, g, 200);
        cr_assert_eq(syncs_of(m) - before, two ? 20u : 10u, "%s: %llu syncs for 10 commits",
                     two ? "FFDB_TWOFLUSH" : "default", (unsigned long long)(syncs_of(m) - before));
        tu_check_clean(db, NULL);
        ffdb_close(db);
        db = mem_open(m, 0);
        cr_assert_eq(gen_of(db), 10u);
        tu_check_clean(db, NULL);
        ffdb_close(db);
        io_mem_destroy(m);
    }
}

Test(oneflush, a_commit_of_more_pages_than_a_list_holds_syncs_twice)
{
    struct io_mem *m = io_mem_create();
    ffdb *db = mem_open(m, 0);
    uint8_t meta[PAGE];
    uint64_t before = syncs_of(m);
    {
        ffdb_txn *txn;
        ffdb_bucket *b;
        static char v[300];
        unsigned gen = 1;
        TU_OK(ffdb_begin_write(db, &txn));
        TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
        for (unsigned i = 0; i < 60000; i++) /* ~18 MB: well over 4,096 leaves */
            TU_OK(ffdb_put(b, &i, sizeof i, v, sizeof v));
        TU_OK(ffdb_put(b, "gen", 3, &gen, sizeof gen));
        TU_OK(ffdb_commit(txn));
    }
    cr_assert_eq(syncs_of(m) - before, 2u, "%llu syncs",
                 (unsigned long long)(syncs_of(m) - before));
    read_meta(m, 1, meta);
    cr_assert_eq(ld64(meta + META_CLIST_FIRST), 0u, "a list for a commit too large for one");
    write_gen(db, 2, 20);
    ffdb_close(db);
    db = mem_open(m, 0);
    cr_assert_eq(gen_of(db), 2u);
    tu_check_clean(db, NULL);
    ffdb_close(db);
    io_mem_destroy(m);
}

enum damage { TORN_PAGE, STALE_PAGE, LOST_LIST_PAGE, NO_DAMAGE };

/* Commit generations 1 and 2, damage what commit 2 wrote, reopen: commit 2
 * stays only when nothing was damaged. */
static void damage_and_reopen(enum damage what, unsigned which)
{
    struct io_mem *m = io_mem_create();
    ffdb *db = mem_open(m, 0);
    uint8_t meta[PAGE], list[PAGE], page[PAGE];
    uint64_t first, entries, pgno;
    write_gen(db, 1, 3000);
    write_gen(db, 2, 3000);
    /* The power goes with commit 2 synced (a clean close would seal it). */
    io_mem_crash(m, IO_MEM_CRASH_DROP, 0);
    ffdb_close(db);
    read_meta(m, 2, meta);
    cr_assert_eq(ld32(meta + META_VERSION), FORMAT_VERSION);
    first = ld64(meta + META_CLIST_FIRST);
    entries = ld64(meta + META_CLIST_ENTRIES);
    cr_assert(first > 2 && entries > 1, "commit 2 has no commit list");
    cr_assert_eq(io_mem_durable_read(m, first * PAGE, list, PAGE), PAGE);
    cr_assert_eq(list[PH_KIND], PAGE_COMMIT);
    pgno = ld64(list + PAGE_HEADER_SIZE + (which % ld16(list + PH_COUNT)) * CLIST_ENTRY_SIZE);
    switch (what) {
    case TORN_PAGE:
        memset(page, 0xa5, 512); /* one sector of something else */
        cr_assert_eq(io_mem_patch(m, pgno * PAGE + 1024, page, 512), 0);
        break;
    case STALE_PAGE: /* well sealed, but not what the commit wrote */
        cr_assert_eq(io_mem_durable_read(m, pgno * PAGE, page, PAGE), PAGE);
        page[PAGE - 1] ^= 1;
        page_seal(page, PAGE);
        cr_assert_eq(io_mem_patch(m, pgno * PAGE, page, PAGE), 0);
        break;
    case LOST_LIST_PAGE:
        memset(page, 0, PAGE);
        cr_assert_eq(io_mem_patch(m, first * PAGE, page, PAGE), 0);
        break;
    case NO_DAMAGE:
        break;
    }
    db = mem_open(m, FFDB_RDONLY);
    cr_assert_eq(gen_of(db), what == NO_DAMAGE ? 2u : 1u, "damage %d of page %llu", what,
                 (unsigned long long)pgno);
    tu_check_clean(db, NULL);
    ffdb_close(db);
    /* A writer goes on from there. */
    db = mem_open(m, 0);
    write_gen(db, 3, 100);
    tu_check_clean(db, NULL);
    ffdb_close(db);
    db = mem_open(m, 0);
    cr_assert_eq(gen_of(db), 3u);
    ffdb_close(db);
    io_mem_destroy(m);
}

Test(oneflush, open_takes_the_last_commit_when_its_pages_are_whole)
{
    damage_and_reopen(NO_DAMAGE, 0);
}

Test(oneflush, a_torn_page_of_the_last_commit_brings_back_the_one_before)
{
    for (unsigned w = 0; w < 5; w++)
        damage_and_reopen(TORN_PAGE, w * 37);
}

Test(oneflush, a_stale_page_of_the_last_commit_brings_back_the_one_before)
{
    for (unsigned w = 0; w < 5; w++)
        damage_and_reopen(STALE_PAGE, w * 53 + 1);
}

Test(oneflush, a_lost_list_page_brings_back_the_one_before)
{
    damage_and_reopen(LOST_LIST_PAGE, 0);
}

/* A file written before commit lists: version 1, nothing past byte 136. */
Test(oneflush, a_version_1_file_opens_and_moves_to_version_2)
{
    struct io_mem *m = io_mem_create();
    ffdb *db = mem_open(m, FFDB_TWOFLUSH);
    uint8_t meta[PAGE];
    write_gen(db, 1, 500);
    ffdb_close(db);
    read_meta(m, 1, meta);
    cr_assert_eq(ld64(meta + META_CLIST_FIRST), 0u);
    st32(meta + META_VERSION, 1);
    page_seal(meta, PAGE);
    cr_assert_eq(io_mem_patch(m, 1 * PAGE, meta, PAGE), 0);
    db = mem_open(m, 0);
    cr_assert_eq(gen_of(db), 1u);
    tu_check_clean(db, NULL);
    write_gen(db, 2, 500);
    ffdb_close(db);
    read_meta(m, 2, meta);
    cr_assert_eq(ld32(meta + META_VERSION), FORMAT_VERSION);
    cr_assert(ld64(meta + META_CLIST_FIRST) != 0);
    db = mem_open(m, 0);
    cr_assert_eq(gen_of(db), 2u);
    ffdb_close(db);
    io_mem_destroy(m);
}

Test(oneflush, a_clean_close_confirms_the_last_commit)
{
    struct io_mem *m = io_mem_create();
    ffdb *db = mem_open(m, 0);
    uint8_t meta[PAGE], page[PAGE];
    uint64_t before, pgno;
    write_gen(db, 1, 3000);
    write_gen(db, 2, 3000);
    before = syncs_of(m);
    ffdb_close(db);
    cr_assert_eq(syncs_of(m) - before, 1u, "the confirmation takes one sync");
    read_meta(m, 1, meta);
    cr_assert_eq(ld64(meta + META_CONFIRMED), 2u);
    /* Damage to commit 2 is now corruption: reported, not undone. */
    read_meta(m, 2, meta);
    cr_assert_eq(io_mem_durable_read(m, ld64(meta + META_CLIST_FIRST) * PAGE, page, PAGE), PAGE);
    pgno = ld64(page + PAGE_HEADER_SIZE);
    memset(page, 0, PAGE);
    cr_assert_eq(io_mem_patch(m, pgno * PAGE, page, PAGE), 0);
    db = mem_open(m, FFDB_RDONLY);
    cr_assert_eq(tu_stat(db).txid, 2u, "open undid a confirmed commit");
    {
        ffdb_check_result res;
        cr_assert_eq(ffdb_check(db, NULL, NULL, &res), FFDB_CORRUPT);
    }
    ffdb_close(db);
    io_mem_destroy(m);
}

/* The list's pages are pages of the txn, freed by the next commit and
 * reused: many one-put commits keep the file at the size of its data. */
Test(oneflush, many_small_commits_do_not_grow_the_file)
{
    struct io_mem *m = io_mem_create();
    ffdb *db = mem_open(m, 0);
    ffdb_stat st;
    for (unsigned g = 1; g <= 2000; g++)
        write_gen(db, g, 1);
    TU_OK(ffdb_stat_db(db, &st));
    cr_assert_lt(st.page_count, 64u, "%llu pages after 2,000 one-put commits",
                 (unsigned long long)st.page_count);
    tu_check_clean(db, NULL);
    ffdb_close(db);
    io_mem_destroy(m);
}
