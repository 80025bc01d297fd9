/*
 * test_corrupt.c — damaged files: the engine reports, never crashes.
 *
 * A flipped byte in a leaf, branch or overflow page → FFDB_CORRUPT from get,
 * cursors and ffdb_check, naming the page (ffdb_last_error, check report);
 * pages with a valid checksum but impossible contents (slot counts, cell
 * lengths, child pointers past the end or to itself, a child newer than its
 * commit) → FFDB_CORRUPT too, without reading out of bounds (run under ASan).
 * A bad newest meta → open falls back to the previous commit. Both metas bad,
 * or a file that is not ffdb → FFDB_CORRUPT / FFDB_ENOTDB and the file is not
 * modified. A newer format version → FFDB_EVERSION. A truncated file → a clear
 * FFDB_CORRUPT. A 0-byte file is initialised as a new database.
 *
 * Pages are located through the on-disk layout (common/format.h) read
 * straight from the file; checksums are recomputed with XXH3-64 as the
 * format says, independently of the library's code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/format.h"
#include "tests/testutil.h"

TestSuite(corrupt, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

#define PS 4096u

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static void wr64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (unsigned char)v;
}

static void wr16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t page_sum(const unsigned char *page)
{
    return XXH3_64bits(page + 8, PS - 8);
}

static int page_valid(const unsigned char *page)
{
    return rd64(page + PH_CHECKSUM) == page_sum(page);
}

static void page_reseal(unsigned char *page)
{
    wr64(page + PH_CHECKSUM, page_sum(page));
}

/* ---- building the test database ---------------------------------------------------- */

#define NKEYS 3000u
#define NBIG 6u

static size_t key_of(char *k, unsigned i)
{
    return (size_t)snprintf(k, 16, "key%06u", i);
}

static size_t small_val(unsigned char *v, unsigned i)
{
    size_t len = 30 + i % 40;
    tu_pattern(v, len, i);
    return len;
}

#define BIG_LEN(i) (9000u + 1000u * (i))

/* Bucket "b": NKEYS small entries; bucket "ov": NBIG overflow values. All in
 * one write txn after creation, so every tree page carries that txn's id. */
static void build(const char *path)
{
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    char k[16];
    unsigned char v[128];
    static unsigned char big[20000];

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    for (unsigned i = 0; i < NKEYS; i++) {
        size_t kl = key_of(k, i), vl = small_val(v, i);
        TU_OK(ffdb_put(b, k, kl, v, vl));
    }
    TU_OK(ffdb_bucket_create(txn, "ov", 2, &b));
    for (unsigned i = 0; i < NBIG; i++) {
        size_t kl = key_of(k, i);
        tu_pattern(big, BIG_LEN(i), 1000 + i);
        TU_OK(ffdb_put(b, k, kl, big, BIG_LEN(i)));
    }
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);
}

struct image {
    unsigned char *bytes;
    size_t len;
    uint64_t pages;
    uint64_t txid;        /* of the newest valid meta */
    int newest_slot;
};

/* The newest commit of the last image loaded: damage to data pages must not
 * make open go back to an older one. */
static uint64_t image_txid;

static void load_image(const char *path, struct image *im)
{
    im->bytes = tu_read_file(path, &im->len);
    cr_assert(im->bytes && im->len >= 2 * PS && im->len % PS == 0, "file of %zu bytes", im->len);
    im->pages = im->len / PS;
    im->newest_slot = -1;
    for (int s = 0; s < 2; s++) {
        const unsigned char *m = im->bytes + (size_t)s * PS;
        if (!page_valid(m) || memcmp(m + META_MAGIC, FFDB_MAGIC_BYTES, 8) != 0)
            continue;
        uint64_t t = rd64(m + PH_TXID);
        if (im->newest_slot < 0 || t > im->txid) {
            im->txid = t;
            im->newest_slot = s;
        }
    }
    cr_assert(im->newest_slot >= 0, "no valid meta page in a freshly built file");
    uint64_t pc = rd64(im->bytes + (size_t)im->newest_slot * PS + META_PAGE_COUNT);
    cr_assert(pc <= im->pages, "meta page_count %llu > %llu pages in the file",
              (unsigned long long)pc, (unsigned long long)im->pages);
    im->pages = pc;
    image_txid = im->txid;
}

/* Pages of a kind written by the last commit, with a valid checksum. */
static size_t find_pages(const struct image *im, int kind, uint64_t *out, size_t max)
{
    size_t n = 0;
    for (uint64_t p = 2; p < im->pages && n < max; p++) {
        const unsigned char *pg = im->bytes + p * PS;
        if (pg[PH_KIND] == kind && rd64(pg + PH_PGNO) == p && rd64(pg + PH_TXID) == im->txid &&
            page_valid(pg))
            out[n++] = p;
    }
    return n;
}

/* ---- reading a damaged database ---------------------------------------------------- */

struct reports {
    unsigned count;
    uint64_t pages[32];
};

static void collect_report(void *arg, uint64_t pgno, const char *problem)
{
    struct reports *r = arg;
    (void)problem;
    if (r->count < 32)
        r->pages[r->count] = pgno;
    r->count++;
}

static int reported(const struct reports *r, uint64_t pgno)
{
    for (unsigned i = 0; i < r->count && i < 32; i++)
        if (r->pages[i] == pgno)
            return 1;
    return 0;
}

/* rc must be 0 or FFDB_CORRUPT; on FFDB_CORRUPT remember it (and the page). */
struct outcome {
    unsigned corrupt;
    uint64_t pgno;        /* last_error page of the first FFDB_CORRUPT */
    const char *where;
};

static int note(struct outcome *o, int rc, const char *where, int allow_notfound)
{
    if (rc == FFDB_CORRUPT) {
        if (o->corrupt++ == 0) {
            ffdb_error_info ei;
            ffdb_last_error(&ei);
            cr_assert_eq(ei.code, FFDB_CORRUPT, "%s: last_error code %d", where, ei.code);
            o->pgno = ei.pgno;
            o->where = where;
        }
        return 1;
    }
    cr_assert(rc == 0 || (allow_notfound && rc == FFDB_NOTFOUND), "%s returned %d (%s)", where,
              rc, ffdb_strerror(rc));
    return 0;
}

/* Read everything: scan both buckets (forward and back) and get every key.
 * Every result is either right or FFDB_CORRUPT; never a wrong value, never a
 * missing key. */
static void read_all(ffdb *db, struct outcome *o)
{
    ffdb_txn *txn;
    char k[16];
    unsigned char v[128];
    static unsigned char big[20000];

    TU_OK(ffdb_begin_read(db, &txn));
    for (int which = 0; which < 2; which++) {
        ffdb_bucket *b;
        ffdb_cursor *c;
        ffdb_val kv, vv;
        const char *name = which ? "ov" : "b";
        unsigned n = which ? NBIG : NKEYS;
        int rc;
        if (note(o, ffdb_bucket_open(txn, name, strlen(name), &b), "bucket_open", 0))
            continue;
        /* forward scan */
        TU_OK(ffdb_cursor_open(b, &c));
        unsigned i = 0;
        for (rc = ffdb_cursor_first(c, &kv, &vv); rc == 0; rc = ffdb_cursor_next(c, &kv, &vv)) {
            size_t kl = key_of(k, i);
            cr_assert(kv.size == kl && memcmp(kv.data, k, kl) == 0,
                      "scan of %s: entry %u is the wrong key (a damaged page must not read as "
                      "other data)", name, i);
            i++;
        }
        if (!note(o, rc, "cursor scan", 1))
            cr_assert_eq(i, n, "scan of %s ended after %u of %u entries without an error", name,
                         i, n);
        /* backward scan */
        i = n;
        for (rc = ffdb_cursor_last(c, &kv, NULL); rc == 0; rc = ffdb_cursor_prev(c, &kv, NULL))
            i--;
        if (!note(o, rc, "backward scan", 1))
            cr_assert_eq(i, 0, "backward scan of %s stopped early without an error", name);
        ffdb_cursor_close(c);
        /* every key */
        for (unsigned j = 0; j < n; j++) {
            size_t kl = key_of(k, j);
            rc = ffdb_get(b, k, kl, &vv);
            if (note(o, rc, "get", 0))
                continue;
            if (which) {
                tu_pattern(big, BIG_LEN(j), 1000 + j);
                cr_assert(vv.size == BIG_LEN(j) && memcmp(vv.data, big, vv.size) == 0,
                          "get of %s/%u returned wrong bytes", name, j);
            } else {
                size_t vl = small_val(v, j);
                cr_assert(vv.size == vl && memcmp(vv.data, v, vl) == 0,
                          "get of %s/%u returned wrong bytes", name, j);
            }
        }
    }
    ffdb_abort(txn);
}

/* Open the damaged file and expect damage at page pgno (UINT64_MAX: anywhere)
 * to be reported by ffdb_check, and by reads unless reads_may_pass (damage
 * to header fields that leaves every byte a read returns intact). */
static void expect_damage(const char *path, uint64_t pgno, const char *what, int reads_may_pass)
{
    ffdb *db = NULL;
    ffdb_options opt = {0};
    struct outcome o = {0, 0, NULL};
    struct reports rep = {0, {0}};
    ffdb_check_result res;
    int rc;

    opt.buffer_pages = 16;
    rc = ffdb_open(path, &opt, &db);
    if (rc == FFDB_CORRUPT)
        return; /* refusing to open is a clear error too */
    cr_assert(rc == 0, "%s: open returned %d (%s)", what, rc, ffdb_strerror(rc));
    {
        ffdb_stat st = tu_stat(db);
        cr_assert_eq(st.txid, image_txid,
                     "%s: open silently went back from commit %llu to commit %llu instead of "
                     "reporting the damage", what, (unsigned long long)image_txid,
                     (unsigned long long)st.txid);
    }
    read_all(db, &o);
    cr_assert(o.corrupt > 0 || reads_may_pass, "%s (page %llu): every read succeeded", what,
              (unsigned long long)pgno);
    if (pgno != UINT64_MAX && o.corrupt > 0)
        cr_assert_eq(o.pgno, pgno, "%s: %s reported page %llu, the damage is on page %llu", what,
                     o.where, (unsigned long long)o.pgno, (unsigned long long)pgno);
    memset(&res, 0, sizeof res);
    rc = ffdb_check(db, collect_report, &rep, &res);
    cr_assert_eq(rc, FFDB_CORRUPT, "%s: ffdb_check returned %d (%s)", what, rc,
                 ffdb_strerror(rc));
    cr_assert(res.problems >= 1 && rep.count >= 1, "%s: check found no problem", what);
    if (pgno != UINT64_MAX)
        cr_assert(reported(&rep, pgno), "%s: check did not name page %llu (first: %llu)", what,
                  (unsigned long long)pgno, (unsigned long long)rep.pages[0]);
    ffdb_close(db);
}

static void expect_damage_found(const char *path, uint64_t pgno, const char *what)
{
    expect_damage(path, pgno, what, 0);
}

/* ---- flipped bytes ------------------------------------------------------------------- */

static void flip_pages_of_kind(int kind, const char *what)
{
    const char *path = tu_path("db");
    struct image im;
    uint64_t cand[512];
    size_t n;

    build(path);
    load_image(path, &im);
    n = find_pages(&im, kind, cand, 512);
    cr_assert(n >= 1, "no %s page written by the last commit (txid %llu)", what,
              (unsigned long long)im.txid);
    /* first, middle and last such page */
    size_t picks[3] = {0, n / 2, n - 1};
    for (int t = 0; t < 3; t++) {
        if (t > 0 && picks[t] == picks[t - 1])
            continue;
        uint64_t p = cand[picks[t]];
        unsigned char byte = im.bytes[p * PS + 100] ^ 0x5a;
        tu_write_file(path, im.bytes, im.len);
        tu_patch_file(path, p * PS + 100, &byte, 1);
        expect_damage_found(path, p, what);
        /* a flip in the header (the pgno field) is caught as well */
        tu_write_file(path, im.bytes, im.len);
        byte = im.bytes[p * PS + PH_PGNO] ^ 0x01;
        tu_patch_file(path, p * PS + PH_PGNO, &byte, 1);
        expect_damage_found(path, p, what);
    }
    free(im.bytes);
}

Test(corrupt, flipped_byte_in_leaf)
{
    flip_pages_of_kind(PAGE_LEAF, "leaf");
}

Test(corrupt, flipped_byte_in_branch)
{
    flip_pages_of_kind(PAGE_BRANCH, "branch");
}

Test(corrupt, flipped_byte_in_overflow)
{
    flip_pages_of_kind(PAGE_OVERFLOW, "overflow");
}

/* A whole page of zeros (a lost write) in the middle of the tree. */
Test(corrupt, zeroed_page)
{
    const char *path = tu_path("db");
    struct image im;
    uint64_t cand[512];
    static unsigned char zero[PS];
    size_t n;

    build(path);
    load_image(path, &im);
    n = find_pages(&im, PAGE_LEAF, cand, 512);
    cr_assert(n >= 2);
    tu_patch_file(path, cand[n / 2] * PS, zero, PS);
    expect_damage_found(path, cand[n / 2], "zeroed leaf");
    free(im.bytes);
}

/* Valid checksums over impossible contents. */
static void resealed(struct image *im, const char *path, uint64_t p, const char *what,
                     void (*damage)(unsigned char *page, uint64_t pgno, const struct image *im),
                     int reads_may_pass)
{
    unsigned char *copy = malloc(im->len);
    cr_assert(copy != NULL);
    memcpy(copy, im->bytes, im->len);
    damage(copy + p * PS, p, im);
    page_reseal(copy + p * PS);
    tu_write_file(path, copy, im->len);
    free(copy);
    expect_damage(path, UINT64_MAX, what, reads_may_pass);
}

static void dmg_count(unsigned char *pg, uint64_t p, const struct image *im)
{
    (void)p;
    (void)im;
    wr16(pg + PH_COUNT, 0xFFFF);
}

static void dmg_slot(unsigned char *pg, uint64_t p, const struct image *im)
{
    (void)p;
    (void)im;
    wr16(pg + PAGE_HEADER_SIZE + 2 * 3, PS - 2); /* slot 3 points at the last 2 bytes */
}

static void dmg_klen(unsigned char *pg, uint64_t p, const struct image *im)
{
    (void)p;
    (void)im;
    uint16_t cell = rd16(pg + PAGE_HEADER_SIZE + 2 * 5);
    if ((unsigned)cell + LEAF_HEADER <= PS)
        wr16(pg + cell + LEAF_KLEN, 0xFFF0);
}

static void dmg_vlen(unsigned char *pg, uint64_t p, const struct image *im)
{
    (void)p;
    (void)im;
    uint16_t cell = rd16(pg + PAGE_HEADER_SIZE + 2 * 5);
    if ((unsigned)cell + LEAF_HEADER <= PS)
        wr32(pg + cell + LEAF_VLEN, 0x7FFFFFF0u);
}

static void dmg_upper(unsigned char *pg, uint64_t p, const struct image *im)
{
    (void)p;
    (void)im;
    wr16(pg + PH_LOWER, PS);
    wr16(pg + PH_UPPER, 10);
}

static void dmg_child_past_end(unsigned char *pg, uint64_t p, const struct image *im)
{
    (void)p;
    uint16_t cell = rd16(pg + PAGE_HEADER_SIZE + 2 * 1);
    if ((unsigned)cell + BRANCH_HEADER <= PS)
        wr64(pg + cell + BRANCH_CHILD, im->pages + 1000);
}

static void dmg_child_self(unsigned char *pg, uint64_t p, const struct image *im)
{
    (void)im;
    uint16_t cell = rd16(pg + PAGE_HEADER_SIZE + 2 * 1);
    if ((unsigned)cell + BRANCH_HEADER <= PS)
        wr64(pg + cell + BRANCH_CHILD, p);
}

static void dmg_child_meta(unsigned char *pg, uint64_t p, const struct image *im)
{
    (void)p;
    (void)im;
    uint16_t cell = rd16(pg + PAGE_HEADER_SIZE);
    if ((unsigned)cell + BRANCH_HEADER <= PS)
        wr64(pg + cell + BRANCH_CHILD, 0);
}

static void dmg_newer_txid(unsigned char *pg, uint64_t p, const struct image *im)
{
    (void)p;
    wr64(pg + PH_TXID, im->txid + 5);
}

static void dmg_kind(unsigned char *pg, uint64_t p, const struct image *im)
{
    (void)p;
    (void)im;
    pg[PH_KIND] = PAGE_FREELIST;
}

static void dmg_overflow_index(unsigned char *pg, uint64_t p, const struct image *im)
{
    (void)p;
    (void)im;
    wr64(pg + PH_NEXT, rd64(pg + PH_NEXT) + 7);
}

Test(corrupt, valid_checksum_impossible_contents)
{
    const char *path = tu_path("db");
    struct image im;
    uint64_t leaves[512], branches[64], overflows[64];
    size_t nl, nb, no;

    build(path);
    load_image(path, &im);
    nl = find_pages(&im, PAGE_LEAF, leaves, 512);
    nb = find_pages(&im, PAGE_BRANCH, branches, 64);
    no = find_pages(&im, PAGE_OVERFLOW, overflows, 64);
    cr_assert(nl > 4 && nb >= 1 && no >= 3, "leaves %zu branches %zu overflow %zu", nl, nb, no);
    uint64_t leaf = leaves[nl / 2];
    resealed(&im, path, leaf, "leaf count 0xFFFF", dmg_count, 0);
    resealed(&im, path, leaf, "leaf slot past the end", dmg_slot, 0);
    resealed(&im, path, leaf, "leaf key length 0xFFF0", dmg_klen, 0);
    resealed(&im, path, leaf, "leaf value length 2 GiB", dmg_vlen, 0);
    resealed(&im, path, leaf, "leaf lower > upper", dmg_upper, 0);
    resealed(&im, path, leaf, "leaf txid newer than the commit", dmg_newer_txid, 0);
    resealed(&im, path, leaf, "leaf claims to be a freelist page", dmg_kind, 0);
    resealed(&im, path, branches[0], "branch child past the end", dmg_child_past_end, 0);
    resealed(&im, path, branches[0], "branch child is itself", dmg_child_self, 0);
    resealed(&im, path, branches[0], "branch child is a meta page", dmg_child_meta, 0);
    resealed(&im, path, branches[0], "branch count 0xFFFF", dmg_count, 0);
    resealed(&im, path, overflows[1], "overflow page index wrong", dmg_overflow_index, 1);
    resealed(&im, path, overflows[1], "overflow page claims to be a leaf", dmg_kind, 1);
    free(im.bytes);
}

/* ---- meta pages ---------------------------------------------------------------------- */

static void two_commits(const char *path)
{
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    TU_OK(ffdb_put(b, "first", 5, "A", 1));
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    TU_OK(ffdb_put(b, "second", 6, "B", 1));
    TU_OK(ffdb_put(b, "first", 5, "A2", 2));
    TU_OK(ffdb_bucket_create(txn, "c", 1, &b));
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);
}

static void expect_first_commit(const char *path, uint64_t want_txid)
{
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    ffdb_stat st = tu_stat(db);
    cr_assert_eq(st.txid, want_txid, "fell back to txid %llu, expected %llu",
                 (unsigned long long)st.txid, (unsigned long long)want_txid);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    TU_OK(ffdb_get(b, "first", 5, &v));
    cr_assert(v.size == 1 && memcmp(v.data, "A", 1) == 0, "the previous commit's value");
    TU_RC(ffdb_get(b, "second", 6, &v), FFDB_NOTFOUND);
    TU_RC(ffdb_bucket_open(txn, "c", 1, &b), FFDB_NOTFOUND);
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    /* the database goes on from there */
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    TU_OK(ffdb_put(b, "third", 5, "C", 1));
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);
    db = tu_open(path, 0, 0, 0);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    TU_OK(ffdb_get(b, "third", 5, &v));
    TU_RC(ffdb_get(b, "second", 6, &v), FFDB_NOTFOUND);
    ffdb_abort(txn);
    cr_assert_eq(tu_stat(db).txid, want_txid + 1);
    tu_check_clean(db, NULL);
    ffdb_close(db);
}

Test(corrupt, newest_meta_falls_back)
{
    const char *path = tu_path("db");
    struct image im;
    static unsigned char zero[PS];

    two_commits(path);
    load_image(path, &im);
    const unsigned char *other = im.bytes + (size_t)(1 - im.newest_slot) * PS;
    cr_assert(page_valid(other), "the previous commit's meta is not valid");
    uint64_t prev_txid = rd64(other + PH_TXID);
    cr_assert_eq(prev_txid + 1, im.txid);
    cr_assert_eq((int)(im.txid % 2), im.newest_slot, "meta of txid %llu in slot %d",
                 (unsigned long long)im.txid, im.newest_slot);
    size_t off = (size_t)im.newest_slot * PS;

    /* a flipped byte */
    unsigned char byte = im.bytes[off + 200] ^ 0xff;
    tu_patch_file(path, off + 200, &byte, 1);
    expect_first_commit(path, prev_txid);

    /* torn: only the first 64 bytes (header, magic) reached the disk; the
     * fields after them are zeros */
    tu_write_file(path, im.bytes, im.len);
    tu_patch_file(path, off + 64, zero, PS - 64);
    expect_first_commit(path, prev_txid);

    /* a lost write: all zeros */
    tu_write_file(path, im.bytes, im.len);
    tu_patch_file(path, off, zero, PS);
    expect_first_commit(path, prev_txid);

    /* a flipped byte in the magic */
    tu_write_file(path, im.bytes, im.len);
    byte = im.bytes[off + META_MAGIC] ^ 0x20;
    tu_patch_file(path, off + META_MAGIC, &byte, 1);
    expect_first_commit(path, prev_txid);
    free(im.bytes);
}

static void expect_refused_unchanged(const char *path, const unsigned char *bytes, size_t len,
                                     int want1, int want2, const char *what)
{
    for (int ro = 0; ro < 2; ro++) {
        ffdb_options opt = {0};
        ffdb *db = NULL;
        opt.flags = ro ? FFDB_RDONLY : 0;
        int rc = ffdb_open(path, &opt, &db);
        cr_assert(rc == want1 || rc == want2, "%s%s: open returned %d (%s), expected %s or %s",
                  what, ro ? " (read-only)" : "", rc, ffdb_strerror(rc), ffdb_strerror(want1),
                  ffdb_strerror(want2));
        size_t now_len;
        unsigned char *now = tu_read_file(path, &now_len);
        cr_assert(now_len == len && (len == 0 || memcmp(now, bytes, len) == 0),
                  "%s: a refused open modified the file (%zu -> %zu bytes)", what, len, now_len);
        free(now);
    }
}

Test(corrupt, both_metas_bad)
{
    const char *path = tu_path("db");
    struct image im;
    tu_rng rng;

    two_commits(path);
    load_image(path, &im);
    tu_rng_init(&rng, 42);

    /* garbage over both metas */
    tu_fill(&rng, im.bytes, 2 * PS);
    tu_write_file(path, im.bytes, im.len);
    expect_refused_unchanged(path, im.bytes, im.len, FFDB_CORRUPT, FFDB_ENOTDB,
                             "garbage metas");
    free(im.bytes);

    /* magic intact, checksums wrong in both */
    two_commits(tu_path("db2"));
    load_image(tu_path("db2"), &im);
    im.bytes[200] ^= 1;
    im.bytes[PS + 200] ^= 1;
    tu_write_file(tu_path("db2"), im.bytes, im.len);
    expect_refused_unchanged(tu_path("db2"), im.bytes, im.len, FFDB_CORRUPT, FFDB_CORRUPT,
                             "both metas with bad checksums");
    free(im.bytes);
}

Test(corrupt, newer_format_version)
{
    const char *path = tu_path("db");
    struct image im;
    two_commits(path);
    load_image(path, &im);
    for (int s = 0; s < 2; s++) {
        unsigned char *m = im.bytes + (size_t)s * PS;
        if (!page_valid(m))
            continue;
        wr32(m + META_VERSION, FORMAT_VERSION + 1);
        page_reseal(m);
    }
    tu_write_file(path, im.bytes, im.len);
    expect_refused_unchanged(path, im.bytes, im.len, FFDB_EVERSION, FFDB_EVERSION,
                             "format version + 1");
    free(im.bytes);
}

Test(corrupt, not_an_ffdb_file)
{
    const char *path = tu_path("notdb");
    tu_rng rng;
    static unsigned char buf[64 * 1024];

    tu_rng_init(&rng, 7);
    tu_fill(&rng, buf, sizeof buf);
    tu_write_file(path, buf, sizeof buf);
    expect_refused_unchanged(path, buf, sizeof buf, FFDB_ENOTDB, FFDB_ENOTDB, "random bytes");

    size_t len = 0;
    while (len + 64 < sizeof buf) {
        memcpy(buf + len, "This is a plain text file, not a database at all.\n", 51);
        len += 51;
    }
    tu_write_file(path, buf, len);
    expect_refused_unchanged(path, buf, len, FFDB_ENOTDB, FFDB_ENOTDB, "a text file");


    memset(buf, 0, 2 * PS);
    tu_write_file(path, buf, 2 * PS);
    expect_refused_unchanged(path, buf, 2 * PS, FFDB_ENOTDB, FFDB_CORRUPT, "8 KiB of zeros");

    /* the magic alone does not make a database */
    memset(buf, 0, 3 * PS);
    memcpy(buf + META_MAGIC, FFDB_MAGIC_BYTES, 8);
    tu_write_file(path, buf, 3 * PS);
    expect_refused_unchanged(path, buf, 3 * PS, FFDB_CORRUPT, FFDB_ENOTDB,
                             "magic without a checksum");

    /* files shorter than a page are not empty: not a database either */
    tu_write_file(path, "hello\n", 6);
    expect_refused_unchanged(path, (const unsigned char *)"hello\n", 6, FFDB_ENOTDB,
                             FFDB_ENOTDB, "a 6-byte file");
    tu_fill(&rng, buf, PS - 1);
    tu_write_file(path, buf, PS - 1);
    expect_refused_unchanged(path, buf, PS - 1, FFDB_ENOTDB, FFDB_ENOTDB, "a 4095-byte file");
}

/* ---- truncation and empty files ------------------------------------------------------ */

/* Cut the file to keep(size) bytes. */
static void truncated(size_t (*keep)(size_t size), const char *what, int reads_may_pass)
{
    const char *path = tu_path("db");
    struct image im;
    build(path);
    load_image(path, &im);
    /* The file may run ahead of the meta's page count (it grows in
     * chunks): cut from the pages in use. */
    size_t k = keep((size_t)im.pages * PS);
    cr_assert(k < im.len);
    cr_assert(truncate(path, (off_t)k) == 0);
    expect_damage(path, UINT64_MAX, what, reads_may_pass);
    free(im.bytes);
}

static size_t half(size_t size)
{
    return size / 2 / PS * PS;
}

static size_t half_mid_page(size_t size)
{
    return size / 2 / PS * PS + 1234;
}

static size_t all_but_last_page(size_t size)
{
    return size - PS;
}

Test(corrupt, truncated_to_half)
{
    truncated(half, "file cut to half", 0);
}

Test(corrupt, truncated_mid_page)
{
    truncated(half_mid_page, "file cut in the middle of a page", 0);
}

Test(corrupt, truncated_last_page)
{
    /* the last page in use may be a free one: reads may all work, ffdb_check must not */
    truncated(all_but_last_page, "file without its last page", 1);
}

Test(corrupt, empty_file_is_initialised)
{
    const char *path = tu_path("db");
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;

    tu_write_file(path, "", 0);
    cr_assert_eq(tu_file_size(path), 0);
    db = tu_open(path, 0, 0, 0);
    cr_assert(tu_file_size(path) >= 2 * PS, "a 0-byte file was not initialised");
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    TU_OK(ffdb_put(b, "k", 1, "v", 1));
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);
    db = tu_open(path, 0, 0, 0);
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    TU_OK(ffdb_get(b, "k", 1, &v));
    ffdb_abort(txn);
    tu_check_clean(db, NULL);
    ffdb_close(db);

    /* read-only, a 0-byte file is not a database (nothing may be written) */
    tu_write_file(path, "", 0);
    {
        ffdb_options opt = {0};
        ffdb *ro = NULL;
        opt.flags = FFDB_RDONLY;
        int rc = ffdb_open(path, &opt, &ro);
        cr_assert(rc == FFDB_ENOTDB || rc == FFDB_NOTFOUND, "RDONLY open of a 0-byte file: %d (%s)",
                  rc, ffdb_strerror(rc));
        cr_assert_eq(tu_file_size(path), 0);
    }
}
