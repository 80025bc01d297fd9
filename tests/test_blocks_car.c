/*
 * test_blocks_car.c — CAR import and export (modules/blocks/car.c) against
 * the IPLD spec's fixtures (tests/vectors/car: carv1-basic, carv2-basic):
 * import gives the published roots and blocks, export of those roots gives
 * the published bytes again; a UnixFS DAG exported and imported into a
 * fresh store has the same CIDs and file; every truncation and a damaged
 * byte anywhere in a CAR get a clear error and leave a clean store; the CLI
 * commands import and export.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/blocks.h"
#include "tests/test_blocks_util.h"
#include "tests/testutil.h"

TestSuite(blocks_car, .init = tu_setup, .fini = tu_teardown, .timeout = 180);

/* carv1-basic.json's blocks in file order; its roots are the first and last. */
static const char *const v1_blocks[] = {
    "bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm",
    "QmNX6Tffavsya4xgBi2VJQnSuqy9GsxongxZZ9uZBqp16d",
    "bafkreifw7plhl6mofk6sfvhnfh64qmkq73oeqwl6sloru6rehaoujituke",
    "QmWXZxVQ9yZfhQxLD35eDR8LiMRsYtHxYqTFCBbJoiJVys",
    "bafkreiebzrnroamgos2adnbpgw5apo3z4iishhbdx77gldnbk57d4zdio4",
    "QmdwjhxpxzcMsR3qUuj7vUL8pbA7MgR3GAxWi2GLHjsKCT",
    "bafkreidbxzk2ryxwwtqxem4l3xyyjvw35yu4tcct4cqeqxwo47zhxgxqwq",
    "bafyreidj5idub6mapiupjwjsyyxhyhedxycv4vihfsicm2vt46o7morwlm",
};
/* carv1-basic.json's section offsets (each section's varint), and the end. */
static const size_t v1_sections[] = {100, 192, 325, 366, 496, 537, 619, 660, 715};

static uint8_t *vector(const char *name, size_t *len)
{
    char path[512];
    const char *dir = getenv("FFDB_TEST_VECTORS") ? getenv("FFDB_TEST_VECTORS") : "tests/vectors";
    snprintf(path, sizeof path, "%s/car/%s", dir, name);
    uint8_t *p = tu_read_file(path, len);
    cr_assert(p, "cannot read %s", path);
    return p;
}

typedef struct mem_in {
    const uint8_t *p;
    size_t len, pos, step; /* step: at most this many bytes per read (0 = any) */
    int fail_at;           /* fail (-1) once pos reaches this (-1 = never) */
} mem_in;

static long mem_read(void *arg, void *buf, size_t len)
{
    mem_in *m = arg;
    if (m->fail_at >= 0 && m->pos >= (size_t)m->fail_at)
        return -1;
    size_t n = m->len - m->pos < len ? m->len - m->pos : len;
    if (m->step && n > m->step)
        n = m->step;
    memcpy(buf, m->p + m->pos, n);
    m->pos += n;
    return (long)n;
}

typedef struct mem_out {
    uint8_t *p;
    size_t len, cap;
} mem_out;

static int mem_write(void *arg, const void *p, size_t n)
{
    mem_out *m = arg;
    if (m->len + n > m->cap) {
        m->cap = (m->len + n) * 2;
        m->p = realloc(m->p, m->cap);
        cr_assert(m->p);
    }
    memcpy(m->p + m->len, p, n);
    m->len += n;
    return 0;
}

static int import_mem(blocks *bs, const uint8_t *p, size_t len, size_t step, int pin,
                      blocks_car_info *info)
{
    mem_in m = {p, len, 0, step, -1};
    return blocks_car_import(bs, mem_read, &m, pin, info);
}

static void parse(const char *s, ipld_cid *cid)
{
    TB_OK(ipld_cid_parse(s, cid));
}

Test(blocks_car, v1_fixture_roundtrip)
{
    size_t len;
    uint8_t *car = vector("carv1-basic.car", &len);
    blocks *bs = tb_open(NULL);
    blocks_car_info info;
    ipld_cid roots[2];
    cr_assert_eq(len, 715);
    TB_OK(import_mem(bs, car, len, 7, 1, &info)); /* reads of 7 bytes: every boundary split */
    cr_assert_eq(info.root_count, 2);
    tb_cid_is(&info.roots[0], v1_blocks[0]);
    tb_cid_is(&info.roots[1], v1_blocks[7]);
    cr_assert_eq(info.blocks, 8);
    roots[0] = info.roots[0];
    roots[1] = info.roots[1];
    blocks_car_info_free(&info);
    for (size_t i = 0; i < 8; i++) {
        ipld_cid cid;
        parse(v1_blocks[i], &cid);
        cr_assert_eq(blocks_has(bs, &cid), 1, "%s", v1_blocks[i]);
    }
    tb_expect_counts(bs, 8, 323); /* carv1-basic.json: the blockLengths */
    blocks_stat st;
    TB_OK(blocks_stat_get(bs, &st));
    cr_assert_eq(st.pins, 2);
    tb_check_clean(bs);

    /* Export gives the fixture byte for byte (order, CIDv0 sections, header). */
    mem_out out = {0};
    uint64_t n;
    TB_OK(blocks_car_export(bs, roots, 2, mem_write, &out, &n));
    cr_assert_eq(n, 8);
    cr_assert_eq(out.len, len);
    cr_assert_eq(memcmp(out.p, car, len), 0);
    free(out.p);
    /* The second root alone: its DAG is the one block. */
    memset(&out, 0, sizeof out);
    TB_OK(blocks_car_export(bs, &roots[1], 1, mem_write, &out, &n));
    cr_assert_eq(n, 1);
    free(out.p);

    /* Importing again changes nothing. */
    TB_OK(import_mem(bs, car, len, 0, 1, &info));
    blocks_car_info_free(&info);
    tb_expect_counts(bs, 8, 323);
    TB_OK(blocks_close(bs));
    free(car);
}

Test(blocks_car, v2_fixture)
{
    size_t len;
    uint8_t *car = vector("carv2-basic.car", &len);
    blocks *bs = tb_open(NULL);
    blocks_car_info info;
    TB_OK(import_mem(bs, car, len, 0, 0, &info));
    cr_assert_eq(info.root_count, 1);
    tb_cid_is(&info.roots[0], "QmfEoLyB5NndqeKieExd1rtJzTduQUPEV8TwAYcUiy3H5Z");
    cr_assert_eq(info.blocks, 5);
    /* The payload is the CARv1 at the header's data offset (data size bytes). */
    uint64_t off = 0, size = 0;
    for (int i = 7; i >= 0; i--) {
        off = off << 8 | car[11 + 16 + i];
        size = size << 8 | car[11 + 24 + i];
    }
    cr_assert_leq(off + size, len);
    mem_out out = {0};
    TB_OK(blocks_car_export(bs, info.roots, 1, mem_write, &out, NULL));
    cr_assert_eq(out.len, size);
    cr_assert_eq(memcmp(out.p, car + off, size), 0);
    free(out.p);
    blocks_car_info_free(&info);
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
    free(car);
}

typedef struct cid_list {
    char (*s)[IPLD_CID_STR_MAX];
    size_t n, cap;
} cid_list;

static int collect(void *arg, const ipld_cid *cid, uint64_t size, int tier)
{
    cid_list *l = arg;
    (void)size, (void)tier;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->s = realloc(l->s, l->cap * sizeof *l->s);
        cr_assert(l->s);
    }
    ipld_cid_str(cid, l->s[l->n++]);
    return 0;
}

/* A multi-level UnixFS DAG (small chunks and fan-out), dag-pb and raw leaves:
 * export -> import into a fresh store gives the same CIDs and the file. */
Test(blocks_car, unixfs_export_import_same_cids)
{
    for (int v = 0; v < 2; v++) {
        blocks_add_options o = {.cid_version = (unsigned)v, .raw_leaves = -1, .chunk_size = 256,
                                .max_links = 7, .pin = 1};
        tb_stream s;
        ipld_cid root;
        uint64_t size;
        blocks *a = tb_open(NULL);
        tb_stream_init(&s, "car", 256 * 7 * 7 * 2 + 13);
        TB_OK(blocks_add(a, tb_stream_read, &s, &o, &root, &size));
        mem_out out = {0};
        uint64_t n;
        TB_OK(blocks_car_export(a, &root, 1, mem_write, &out, &n));
        cid_list la = {0}, lb = {0};
        TB_OK(blocks_list(a, collect, &la));
        cr_assert_eq(n, la.n);
        TB_OK(blocks_close(a));

        char path[64];
        snprintf(path, sizeof path, "fresh%d.ffdb", v);
        blocks *b;
        TB_OK(blocks_open(tu_path(path), NULL, &b));
        blocks_car_info info;
        TB_OK(import_mem(b, out.p, out.len, 0, 1, &info));
        cr_assert_eq(info.root_count, 1);
        cr_assert(ipld_cid_equal(&info.roots[0], &root));
        cr_assert_eq(info.roots[0].version, v, "the root keeps its version");
        blocks_car_info_free(&info);
        TB_OK(blocks_list(b, collect, &lb));
        cr_assert_eq(la.n, lb.n);
        for (size_t i = 0; i < la.n; i++)
            cr_assert_str_eq(la.s[i], lb.s[i]);
        tb_stream_init(&s, "car", size);
        TB_OK(blocks_cat(b, &root, tb_stream_compare, &s));
        cr_assert_eq(s.pos, size);
        /* And a second export is the same CAR. */
        mem_out again = {0};
        TB_OK(blocks_car_export(b, &root, 1, mem_write, &again, NULL));
        cr_assert_eq(again.len, out.len);
        cr_assert_eq(memcmp(again.p, out.p, out.len), 0);
        tb_check_clean(b);
        TB_OK(blocks_close(b));
        free(out.p);
        free(again.p);
        free(la.s);
        free(lb.s);
        tu_teardown();
        tu_setup();
    }
}

/* Every cut of the fixture: a cut at a section boundary is a shorter valid
 * CAR; anywhere else it is IPLD_EFORMAT. Either way the store stays clean. */
Test(blocks_car, truncated_everywhere)
{
    size_t len;
    uint8_t *car = vector("carv1-basic.car", &len);
    blocks *bs = tb_open(NULL);
    for (size_t cut = 0; cut < len; cut++) {
        blocks_car_info info;
        int boundary = 0;
        uint64_t want_blocks = 0;
        for (size_t i = 0; i < 9; i++)
            if (v1_sections[i] == cut) {
                boundary = 1;
                want_blocks = i;
            }
        int rc = import_mem(bs, car, cut, 3, 0, &info);
        if (boundary) {
            TB_OK(rc);
            cr_assert_eq(info.blocks, want_blocks, "cut %zu", cut);
        } else {
            TB_RC(rc, IPLD_EFORMAT);
            cr_assert_eq(info.root_count, 0);
            cr_assert_null(info.roots);
        }
        blocks_car_info_free(&info);
    }
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
    free(car);
}

/* A changed byte in any block's bytes is a mismatch; in the header or a
 * CID it is a format error or a mismatch; never a stored bad block. */
Test(blocks_car, damaged_byte_everywhere)
{
    size_t len;
    uint8_t *car = vector("carv1-basic.car", &len);
    uint8_t *bad = malloc(len);
    for (size_t at = 0; at < len; at++) {
        blocks *bs = tb_open(NULL);
        blocks_car_info info;
        memcpy(bad, car, len);
        bad[at] ^= 0x41;
        int rc = import_mem(bs, bad, len, 0, 1, &info);
        blocks_car_info_free(&info);
        cr_assert(rc == 0 || rc == IPLD_EFORMAT || rc == IPLD_EMISMATCH ||
                      rc == IPLD_EUNSUPPORTED || rc == BLOCKS_ELIMIT,
                  "byte %zu: %d (%s)", at, rc, blocks_strerror(rc));
        tb_check_clean(bs); /* every stored block hashes to its CID */
        TB_OK(blocks_close(bs));
        tu_teardown();
        tu_setup();
    }
    free(bad);
    free(car);
}

Test(blocks_car, bad_headers_and_errors)
{
    blocks *bs = tb_open(NULL);
    blocks_car_info info;
    /* empty stream; header length 0; version 3; no roots; roots not links */
    static const uint8_t empty[1] = {0};
    TB_RC(import_mem(bs, empty, 0, 0, 0, &info), IPLD_EFORMAT);
    TB_RC(import_mem(bs, empty, 1, 0, 0, &info), IPLD_EFORMAT);
    /* {"version": 3} */
    static const uint8_t v3[] = {0x0a, 0xa1, 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x03};
    TB_RC(import_mem(bs, v3, sizeof v3, 0, 0, &info), IPLD_EFORMAT);
    /* {"roots": [], "version": 1} */
    static const uint8_t none[] = {0x11, 0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x80,
                                   0x67, 'v',  'e',  'r', 's', 'i', 'o', 'n', 0x01};
    TB_RC(import_mem(bs, none, sizeof none, 0, 0, &info), IPLD_EFORMAT);
    /* {"roots": [1], "version": 1} */
    static const uint8_t notlink[] = {0x12, 0xa2, 0x65, 'r', 'o', 'o', 't', 's', 0x81, 0x01,
                                      0x67, 'v',  'e',  'r', 's', 'i', 'o', 'n', 0x01};
    TB_RC(import_mem(bs, notlink, sizeof notlink, 0, 0, &info), IPLD_EFORMAT);
    /* a header length past the limit */
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    TB_RC(import_mem(bs, huge, sizeof huge, 0, 0, &info), IPLD_EFORMAT);

    /* A read error is FFDB_EIO. */
    size_t len;
    uint8_t *car = vector("carv1-basic.car", &len);
    mem_in m = {car, len, 0, 50, 300};
    TB_RC(blocks_car_import(bs, mem_read, &m, 0, &info), FFDB_EIO);

    /* Export of a DAG with a missing block; of no roots; inside a batch. */
    blocks *fresh;
    TB_OK(blocks_open(tu_path("other.ffdb"), NULL, &fresh));
    ipld_cid root;
    parse(v1_blocks[0], &root);
    mem_out out = {0};
    TB_RC(blocks_car_export(fresh, &root, 1, mem_write, &out, NULL), FFDB_NOTFOUND);
    TB_RC(blocks_car_export(fresh, &root, 0, mem_write, &out, NULL), IPLD_EFORMAT);
    blocks_batch *b;
    TB_OK(blocks_batch_begin(fresh, &b));
    TB_RC(blocks_car_export(fresh, &root, 1, mem_write, &out, NULL), BLOCKS_EBUSY);
    TB_RC(import_mem(fresh, car, len, 0, 0, &info), BLOCKS_EBUSY);
    blocks_batch_abort(b);
    free(out.p);
    TB_OK(blocks_close(fresh));
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
    free(car);
}

Test(blocks_car, cli_import_export)
{
    char in[512], out[512];
    const char *dir = getenv("FFDB_TEST_VECTORS") ? getenv("FFDB_TEST_VECTORS") : "tests/vectors";
    snprintf(in, sizeof in, "%s/car/carv1-basic.car", dir);
    snprintf(out, sizeof out, "%s", tu_path("out.car"));
    tb_run r = TB_RUN("import", in);
    tb_expect_status(&r, 0, "import");
    tb_expect_out(&r,
                  "bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm\n"
                  "bafyreidj5idub6mapiupjwjsyyxhyhedxycv4vihfsicm2vt46o7morwlm\n",
                  "import roots");
    tb_run_free(&r);
    r = TB_RUN("export", "-o", out, v1_blocks[0], v1_blocks[7]);
    tb_expect_status(&r, 0, "export");
    tb_run_free(&r);
    size_t a, b;
    uint8_t *pa = tu_read_file(in, &a), *pb = tu_read_file(out, &b);
    cr_assert_eq(a, b);
    cr_assert_eq(memcmp(pa, pb, a), 0);
    free(pa);
    free(pb);
    /* export to stdout, import from stdin into a second store */
    r = TB_RUN("--json", "stat");
    tb_expect_status(&r, 0, "stat");
    cr_assert(strstr(r.out, "\"pins\": 2") || strstr(r.out, "\"pins\":2"), "%s", r.out);
    tb_run_free(&r);
    r = TB_RUN_IN(in, "import", "--pin-roots=false", "-");
    tb_expect_status(&r, 0, "import from stdin");
    tb_run_free(&r);
    /* a malformed CAR: exit 5; a missing block: exit 1; a bad CID: exit 3 */
    tu_write_file(tu_path("bad.car"), "\x05garbage", 8);
    r = TB_RUN("import", tu_path("bad.car"));
    tb_expect_status(&r, 5, "malformed CAR");
    tb_run_free(&r);
    r = TB_RUN("export", "-o", out, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
    tb_expect_status(&r, 1, "missing block");
    cr_assert(!tu_exists(out), "no half-written CAR is left");
    tb_run_free(&r);
    r = TB_RUN("export", "notacid");
    tb_expect_status(&r, 3, "bad CID");
    tb_run_free(&r);
}
