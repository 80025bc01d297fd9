/*
 * test_shape.c — damaged tree shapes with valid checksums: a branch whose
 * children share a subtree. Walks must stay finite and report corruption,
 * and nothing in the file may reach an assert (freelist double free).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/checksum.h"
#include "common/format.h"
#include "ffdb.h"
#include "tests/testutil.h"

#define KEYS 3000

static void build(const char *path)
{
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    char k[16], v[64];
    cr_assert_eq(ffdb_open(path, NULL, &db), 0);
    cr_assert_eq(ffdb_begin_write(db, &txn), 0);
    cr_assert_eq(ffdb_bucket_create(txn, "b", 1, &b), 0);
    memset(v, 'v', sizeof(v));
    for (int i = 0; i < KEYS; i++) {
        int kl = snprintf(k, sizeof(k), "k%06d", i);
        cr_assert_eq(ffdb_put(b, k, (size_t)kl, v, sizeof(v)), 0);
    }
    cr_assert_eq(ffdb_commit(txn), 0);
    ffdb_close(db);
}

/* Point cell 1 of the first multi-child branch page at cell 0's child. */
static uint64_t share_subtree(const char *path)
{
    FILE *f = fopen(path, "r+b");
    uint8_t page[4096];
    cr_assert(f);
    for (uint64_t pgno = 2;; pgno++) {
        if (fseek(f, (long)(pgno * 4096), SEEK_SET) || fread(page, 1, sizeof(page), f) != sizeof(page))
            break;
        if (page[PH_KIND] != PAGE_BRANCH || ld16(page + PH_COUNT) < 2 || !page_verify(page, 4096))
            continue;
        const uint8_t *c0 = page + ld16(page + PAGE_HEADER_SIZE);
        uint8_t *c1 = page + ld16(page + PAGE_HEADER_SIZE + SLOT_SIZE);
        st64(c1 + BRANCH_CHILD, ld64(c0 + BRANCH_CHILD));
        page_seal(page, 4096);
        cr_assert_eq(fseek(f, (long)(pgno * 4096), SEEK_SET), 0);
        cr_assert_eq(fwrite(page, 1, sizeof(page), f), sizeof(page));
        fclose(f);
        return pgno;
    }
    fclose(f);
    cr_assert_fail("no branch page found");
    return 0;
}

TestSuite(shape, .init = tu_setup, .fini = tu_teardown);

Test(shape, shared_subtree_is_corruption)
{
    const char *path = tu_path("db");
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k;
    long steps = 0;
    int rc;

    build(path);
    share_subtree(path);
    cr_assert_eq(ffdb_open(path, NULL, &db), 0);

    /* A full scan either way ends, with FFDB_CORRUPT, within KEYS steps. */
    cr_assert_eq(ffdb_begin_read(db, &txn), 0);
    cr_assert_eq(ffdb_bucket_open(txn, "b", 1, &b), 0);
    cr_assert_eq(ffdb_cursor_open(b, &c), 0);
    for (rc = ffdb_cursor_first(c, &k, NULL); rc == 0 && steps <= KEYS; rc = ffdb_cursor_next(c, &k, NULL))
        steps++;
    cr_assert_eq(rc, FFDB_CORRUPT, "forward scan ended with %d after %ld steps", rc, steps);
    steps = 0;
    for (rc = ffdb_cursor_last(c, &k, NULL); rc == 0 && steps <= KEYS; rc = ffdb_cursor_prev(c, &k, NULL))
        steps++;
    cr_assert_eq(rc, FFDB_CORRUPT, "backward scan ended with %d after %ld steps", rc, steps);
    ffdb_abort(txn);

    /* The checker names the problem. */
    ffdb_check_result res;
    cr_assert_eq(ffdb_check(db, NULL, NULL, &res), FFDB_CORRUPT);
    cr_assert(res.problems > 0);

    /* Dropping the bucket meets the shared pages twice: an error, not an abort. */
    cr_assert_eq(ffdb_begin_write(db, &txn), 0);
    rc = ffdb_bucket_drop(txn, "b", 1);
    cr_assert_eq(rc, FFDB_CORRUPT, "drop returned %d", rc);
    cr_assert_eq(ffdb_commit(txn), FFDB_EBADTXN);
    ffdb_close(db);
}

/* A write txn that failed halfway (here: a drop that met the shared pages
 * twice) may have left its trees half-changed: it reads nothing more. */
Test(shape, a_failed_write_txn_reads_nothing)
{
    const char *path = tu_path("db");
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_cursor *c;
    ffdb_val k, v;

    build(path);
    share_subtree(path);
    cr_assert_eq(ffdb_open(path, NULL, &db), 0);
    cr_assert_eq(ffdb_begin_write(db, &txn), 0);
    cr_assert_eq(ffdb_bucket_open(txn, "b", 1, &b), 0);
    cr_assert_eq(ffdb_cursor_open(b, &c), 0);
    cr_assert_eq(ffdb_cursor_first(c, &k, &v), 0);
    cr_assert_eq(ffdb_bucket_drop(txn, "b", 1), FFDB_CORRUPT);
    cr_assert_eq(ffdb_get(b, "k000001", 7, &v), FFDB_EBADTXN);
    cr_assert_eq(ffdb_cursor_next(c, &k, &v), FFDB_EBADTXN);
    cr_assert_eq(ffdb_cursor_first(c, &k, &v), FFDB_EBADTXN);
    cr_assert_eq(ffdb_commit(txn), FFDB_EBADTXN);
    ffdb_close(db);
}

/* One leaf cell: klen, flags, vlen, key, value (format.h). */
static size_t leaf_cell(uint8_t *out, const char *key, size_t vlen)
{
    size_t klen = strlen(key);
    st16(out + LEAF_KLEN, (uint16_t)klen);
    st16(out + LEAF_FLAGS, 0);
    st32(out + LEAF_VLEN, (uint32_t)vlen);
    memcpy(out + LEAF_HEADER, key, klen);
    memset(out + LEAF_HEADER + klen, 'x', vlen);
    return LEAF_HEADER + klen + vlen;
}

/* Rewrite the leaf holding only key "mm" as [a, mm, z] with inline values
 * of 100, 2800 and 1100 bytes: every cell in bounds, none overlapping, but
 * the middle one over T5's third of a page. Returns its page number. */
static uint64_t oversize_leaf(const char *path)
{
    static const struct {
        const char *key;
        size_t vlen;
    } cells[3] = {{"a", 100}, {"mm", 2800}, {"z", 1100}};
    FILE *f = fopen(path, "r+b");
    uint8_t page[4096];
    cr_assert(f);
    for (uint64_t pgno = 2;; pgno++) {
        if (fseek(f, (long)(pgno * 4096), SEEK_SET) ||
            fread(page, 1, sizeof(page), f) != sizeof(page))
            break;
        const uint8_t *c0 = page + ld16(page + PAGE_HEADER_SIZE);
        if (page[PH_KIND] != PAGE_LEAF || ld16(page + PH_COUNT) != 1 || ld16(c0 + LEAF_KLEN) != 2 ||
            memcmp(c0 + LEAF_HEADER, "mm", 2) != 0)
            continue;
        unsigned upper = 4096;
        for (unsigned i = 0; i < 3; i++) {
            uint8_t cell[4096];
            size_t size = leaf_cell(cell, cells[i].key, cells[i].vlen);
            upper -= (unsigned)size;
            memcpy(page + upper, cell, size);
            st16(page + PAGE_HEADER_SIZE + SLOT_SIZE * i, (uint16_t)upper);
        }
        st16(page + PH_COUNT, 3);
        st16(page + PH_LOWER, PAGE_HEADER_SIZE + 3 * SLOT_SIZE);
        st16(page + PH_UPPER, (uint16_t)upper);
        page_seal(page, 4096);
        cr_assert_eq(fseek(f, (long)(pgno * 4096), SEEK_SET), 0);
        cr_assert_eq(fwrite(page, 1, sizeof(page), f), sizeof(page));
        fclose(f);
        return pgno;
    }
    fclose(f);
    cr_assert_fail("no leaf holding mm");
    return 0;
}

/* Such a page used to pass the verify hook; a put that split it then found
 * no cut whose halves fit ([1300-byte new cell, a, mm] > one page) and
 * returned FFDB_EINVAL from a "cannot happen" path. T5 is now part of the
 * hook: the page is FFDB_CORRUPT, named, the moment it is read. */
Test(shape, oversized_cell_is_corruption)
{
    const char *path = tu_path("db");
    char big[1300];
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    ffdb_error_info info;

    cr_assert_eq(ffdb_open(path, NULL, &db), 0);
    cr_assert_eq(ffdb_begin_write(db, &txn), 0);
    cr_assert_eq(ffdb_bucket_create(txn, "b", 1, &b), 0);
    cr_assert_eq(ffdb_put(b, "mm", 2, "v", 1), 0);
    cr_assert_eq(ffdb_commit(txn), 0);
    ffdb_close(db);
    uint64_t pgno = oversize_leaf(path);

    cr_assert_eq(ffdb_open(path, NULL, &db), 0);
    cr_assert_eq(ffdb_begin_read(db, &txn), 0);
    cr_assert_eq(ffdb_bucket_open(txn, "b", 1, &b), 0);
    cr_assert_eq(ffdb_get(b, "mm", 2, &v), FFDB_CORRUPT);
    ffdb_last_error(&info);
    cr_assert_eq(info.pgno, pgno);
    cr_assert(strstr(info.message, "T5"), "%s", info.message);
    ffdb_abort(txn);

    memset(big, 'n', sizeof(big));
    cr_assert_eq(ffdb_begin_write(db, &txn), 0);
    cr_assert_eq(ffdb_bucket_open(txn, "b", 1, &b), 0);
    cr_assert_eq(ffdb_put(b, "0", 1, big, sizeof(big)), FFDB_CORRUPT);
    ffdb_abort(txn);
    cr_assert_eq(ffdb_check(db, NULL, NULL, NULL), FFDB_CORRUPT);
    ffdb_close(db);
}
