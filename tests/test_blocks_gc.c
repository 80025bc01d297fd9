/*
 * test_blocks_gc.c — pins and gc (modules/blocks/gc.c): gc keeps exactly
 * the blocks reachable from pins (recursive ones with their DAG, direct
 * ones alone) across dag-pb and dag-cbor links, cold blocks included,
 * survives reopen, and the CLI's pin/unpin/pins/gc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/blocks.h"
#include "tests/test_blocks_util.h"
#include "tests/testutil.h"

TestSuite(blocks_gc, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

static void add_file(blocks *bs, const char *seed, uint64_t size, int pin, ipld_cid *root)
{
    blocks_add_options o = {.raw_leaves = -1, .chunk_size = 256, .max_links = 5, .pin = pin};
    tb_stream s;
    uint64_t n;
    tb_stream_init(&s, seed, size);
    TB_OK(blocks_add(bs, tb_stream_read, &s, &o, root, &n));
}

static uint64_t count(blocks *bs)
{
    blocks_stat st;
    TB_OK(blocks_stat_get(bs, &st));
    return st.blocks[0] + st.blocks[1];
}

/* A dag-cbor block linking to target; stored; its CID in *cid. */
static void put_cbor_link(blocks *bs, const ipld_cid *target, ipld_cid *cid)
{
    cbor_item_t *m = cbor_new_definite_map(1);
    uint8_t *enc;
    size_t len;
    TB_OK(ipld_cbor_map_put(m, "x", ipld_cbor_link(target)));
    TB_OK(ipld_cbor_encode(m, &enc, &len));
    cbor_decref(&m);
    TB_OK(ipld_cid_of(1, IPLD_CODEC_DAG_CBOR, IPLD_MH_SHA2_256, enc, len, cid));
    TB_OK(blocks_put(bs, cid, enc, len));
    free(enc);
}

Test(blocks_gc, keeps_exactly_the_reachable)
{
    blocks *bs = tb_open(NULL);
    ipld_cid a, b, c, link, loose;
    blocks_gc_result res;
    add_file(bs, "a", 256 * 30 + 1, 1, &a);  /* pinned recursively */
    add_file(bs, "b", 256 * 12, 0, &b);      /* unpinned: garbage */
    add_file(bs, "c", 256 * 7, 0, &c);       /* reachable through a pinned dag-cbor block */
    put_cbor_link(bs, &c, &link);
    TB_OK(blocks_pin(bs, &link, 1));
    tb_put(bs, 1, 100);                      /* direct pin: kept alone */
    tb_block_cid(1, 100, &loose);
    TB_OK(blocks_pin(bs, &loose, 0));
    tb_put(bs, 2, 100);                      /* loose: garbage */
    uint64_t before = count(bs);
    /* What each DAG holds, measured by gc on a copy of the pins. */
    TB_OK(blocks_gc(bs, &res));
    cr_assert_eq(res.kept + res.removed, before);
    cr_assert_gt(res.removed, 12); /* b's leaves and root, block 2 */
    cr_assert_eq(blocks_has(bs, &b), 0);
    ipld_cid two;
    tb_block_cid(2, 100, &two);
    cr_assert_eq(blocks_has(bs, &two), 0);
    cr_assert_eq(blocks_has(bs, &loose), 1);
    cr_assert_eq(blocks_has(bs, &link), 1);
    tb_stream s;
    tb_stream_init(&s, "a", 256 * 30 + 1);
    TB_OK(blocks_cat(bs, &a, tb_stream_compare, &s));
    tb_stream_init(&s, "c", 256 * 7);
    TB_OK(blocks_cat(bs, &c, tb_stream_compare, &s));
    tb_check_clean(bs);
    /* A second gc removes nothing. */
    TB_OK(blocks_gc(bs, &res));
    cr_assert_eq(res.removed, 0);
    /* Unpin survives reopen; then gc frees a's DAG, a cold part included. */
    TB_OK(blocks_tier_move(bs, &a, 1));
    TB_OK(blocks_unpin(bs, &a));
    TB_RC(blocks_unpin(bs, &a), FFDB_NOTFOUND);
    TB_OK(blocks_close(bs));
    bs = tb_open(NULL);
    TB_OK(blocks_gc(bs, &res));
    cr_assert_eq(blocks_has(bs, &a), 0);
    cr_assert_eq(blocks_has(bs, &link), 1);
    tb_stream_init(&s, "c", 256 * 7);
    TB_OK(blocks_cat(bs, &c, tb_stream_compare, &s));
    /* The direct pin made recursive, then everything unpinned: empty. */
    TB_OK(blocks_unpin(bs, &link));
    TB_OK(blocks_unpin(bs, &loose));
    TB_OK(blocks_gc(bs, &res));
    cr_assert_eq(count(bs), 0);
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
}

Test(blocks_gc, cli_pin_unpin_gc)
{
    tu_write_file(tu_path("f"), "some file bytes\n", 16);
    tb_run r = TB_RUN("add", "--pin=false", "--cid-version", "1", tu_path("f"));
    tb_expect_status(&r, 0, "add");
    char cid[128];
    snprintf(cid, sizeof cid, "%.*s", (int)strcspn(r.out, "\n"), r.out);
    tb_run_free(&r);
    r = TB_RUN("pin", cid);
    tb_expect_status(&r, 0, "pin");
    tb_run_free(&r);
    r = TB_RUN("pins");
    tb_expect_status(&r, 0, "pins");
    cr_assert(strstr(r.out, cid), "%s", r.out);
    tb_run_free(&r);
    r = TB_RUN("gc");
    tb_expect_status(&r, 0, "gc");
    tb_run_free(&r);
    r = TB_RUN("has", cid);
    tb_expect_status(&r, 0, "kept while pinned");
    tb_run_free(&r);
    r = TB_RUN("unpin", cid);
    tb_expect_status(&r, 0, "unpin");
    tb_run_free(&r);
    r = TB_RUN("unpin", cid);
    tb_expect_status(&r, 1, "unpin again");
    tb_run_free(&r);
    r = TB_RUN("gc");
    tb_expect_status(&r, 0, "gc");
    tb_run_free(&r);
    r = TB_RUN("has", cid);
    tb_expect_status(&r, 1, "gone after unpin and gc");
    tb_run_free(&r);
}
