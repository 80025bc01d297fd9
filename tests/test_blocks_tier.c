/*
 * test_blocks_tier.c — hot/cold tiering (modules/blocks/tier.c, cold.c):
 * the policy is persisted; blocks not read for cold_after_s and the least
 * recently read past the hot budget go cold, compressed; reads from cold
 * are transparent and verified; promote_reads reads bring a block back;
 * explicit moves both ways; stat per tier; the CLI's tier command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/blocks.h"
#include "tests/test_blocks_util.h"
#include "tests/testutil.h"

TestSuite(blocks_tier, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

static uint64_t now = 1700000000;
static uint64_t clock_fn(void *arg)
{
    (void)arg;
    return now;
}

typedef struct find {
    ipld_cid want;
    int tier;
} find;

static int find_one(void *arg, const ipld_cid *cid, uint64_t size, int tier)
{
    find *f = arg;
    (void)size;
    if (ipld_cid_equal(cid, &f->want))
        f->tier = tier;
    return 0;
}

/* The tier blocks_list reports for block id (-1: not listed). */
static int tier_of(blocks *bs, int id, size_t len)
{
    find f = {.tier = -1};
    tb_block_cid(id, len, &f.want);
    TB_OK(blocks_list(bs, find_one, &f));
    return f.tier;
}

static void read_block(blocks *bs, int id, size_t len)
{
    ipld_cid cid;
    void *data;
    size_t got;
    tb_block_cid(id, len, &cid);
    TB_OK(blocks_get(bs, &cid, 1, &data, &got));
    uint8_t *want = tb_block_data(id, len);
    cr_assert_eq(got, len);
    cr_assert_eq(memcmp(data, want, len), 0);
    free(want);
    free(data);
}

Test(blocks_tier, policy_moves_reads_and_promotes)
{
    blocks_options o = {.now = clock_fn};
    blocks *bs = tb_open(&o);
    blocks_policy p;
    blocks_stat st;
    uint64_t moved;
    enum { N = 40, LEN = 4096 };
    /* compressible blocks (tu_pattern repeats), so the cold tier is smaller */
    for (int id = 0; id < N; id++)
        tb_put(bs, id, LEN);
    TB_OK(blocks_policy_get(bs, &p));
    cr_assert_eq(p.cold_after_s, 0);
    cr_assert_eq(p.promote_reads, 2);
    TB_OK(blocks_tier_run(bs, &moved));
    cr_assert_eq(moved, 0, "no policy: nothing moves");
    /* cold after 1 hour: blocks 0..9 are read later, the rest go */
    now += 1800;
    for (int id = 0; id < 10; id++)
        read_block(bs, id, LEN);
    now += 1801;
    p = (blocks_policy){.cold_after_s = 3600, .promote_reads = 3};
    TB_OK(blocks_policy_set(bs, &p));
    TB_OK(blocks_tier_run(bs, &moved));
    cr_assert_eq(moved, N - 10);
    for (int id = 0; id < N; id++)
        cr_assert_eq(tier_of(bs, id, LEN), id < 10 ? 0 : 1, "block %d", id);
    TB_OK(blocks_stat_get(bs, &st));
    cr_assert_eq(st.blocks[0], 10);
    cr_assert_eq(st.blocks[1], N - 10);
    cr_assert_eq(st.bytes[1], (uint64_t)(N - 10) * LEN);
    tb_check_clean(bs);
    /* a compressible block takes less room cold (tb_put's are random) */
    {
        static char text[65536];
        ipld_cid c;
        blocks_stat before;
        for (size_t i = 0; i < sizeof text; i++)
            text[i] = "compressible "[i % 13];
        TB_OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, text, sizeof text, &c));
        TB_OK(blocks_put(bs, &c, text, sizeof text));
        TB_OK(blocks_stat_get(bs, &before));
        TB_OK(blocks_tier_move(bs, &c, 1));
        TB_OK(blocks_stat_get(bs, &st));
        cr_assert_lt(st.cold_stored_bytes - before.cold_stored_bytes, sizeof text / 20);
        void *back;
        size_t len;
        TB_OK(blocks_get(bs, &c, 1, &back, &len));
        cr_assert_eq(len, sizeof text);
        cr_assert_eq(memcmp(back, text, len), 0);
        free(back);
        TB_OK(blocks_rm(bs, &c));
    }
    /* reads from cold are transparent; the third read (at a flush) promotes */
    read_block(bs, 20, LEN);
    read_block(bs, 20, LEN);
    TB_OK(blocks_flush(bs));
    cr_assert_eq(tier_of(bs, 20, LEN), 1);
    read_block(bs, 20, LEN);
    TB_OK(blocks_flush(bs));
    cr_assert_eq(tier_of(bs, 20, LEN), 0);
    tb_check_clean(bs);
    /* the hot budget: the least recently read go first */
    TB_OK(blocks_close(bs));
    bs = tb_open(&o);
    TB_OK(blocks_policy_get(bs, &p));
    cr_assert_eq(p.cold_after_s, 3600, "policy persisted");
    cr_assert_eq(p.promote_reads, 3);
    now += 120;
    read_block(bs, 0, LEN);
    TB_OK(blocks_flush(bs));
    p = (blocks_policy){.hot_budget_bytes = 2 * LEN};
    TB_OK(blocks_policy_set(bs, &p));
    TB_OK(blocks_tier_run(bs, &moved));
    TB_OK(blocks_stat_get(bs, &st));
    cr_assert_leq(st.bytes[0], 2 * LEN);
    cr_assert_eq(tier_of(bs, 0, LEN), 0, "the most recently read stays hot");
    /* explicit moves */
    ipld_cid cid;
    tb_block_cid(0, LEN, &cid);
    TB_OK(blocks_tier_move(bs, &cid, 1));
    cr_assert_eq(tier_of(bs, 0, LEN), 1);
    TB_OK(blocks_tier_move(bs, &cid, 1));
    TB_OK(blocks_tier_move(bs, &cid, 0));
    cr_assert_eq(tier_of(bs, 0, LEN), 0);
    tb_block_cid(999, LEN, &cid);
    TB_RC(blocks_tier_move(bs, &cid, 1), FFDB_NOTFOUND);
    /* removal of a cold block leaves nothing in the cold file */
    tb_block_cid(30, LEN, &cid);
    cr_assert_eq(tier_of(bs, 30, LEN), 1);
    TB_OK(blocks_rm(bs, &cid));
    cr_assert_eq(blocks_has(bs, &cid), 0);
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
}

Test(blocks_tier, cli)
{
    tb_run r = TB_RUN("tier");
    tb_expect_status(&r, 6, "tier on a missing store");
    tb_run_free(&r);
    blocks *bs = tb_open(NULL);
    for (int id = 0; id < 5; id++)
        tb_put(bs, id, 1000);
    TB_OK(blocks_close(bs));
    r = TB_RUN("tier", "--hot-budget", "2k", "--promote-reads", "4");
    tb_expect_out(&r, "cold-after 0\nhot-budget 2048\npromote-reads 4\n", "tier set");
    tb_run_free(&r);
    r = TB_RUN("tier", "--run");
    tb_expect_out(&r, "cold-after 0\nhot-budget 2048\npromote-reads 4\nmoved 3\n", "tier --run");
    tb_run_free(&r);
    ipld_cid cid;
    char s[IPLD_CID_STR_MAX];
    tb_block_cid(0, 1000, &cid);
    ipld_cid_str(&cid, s);
    r = TB_RUN("move", "--hot", s);
    tb_expect_status(&r, 0, "move --hot");
    tb_run_free(&r);
    r = TB_RUN("move", "--cold", s);
    tb_expect_status(&r, 0, "move --cold");
    tb_run_free(&r);
    r = TB_RUN("--json", "stat");
    cr_assert(strstr(r.out, "\"cold\""), "%s", r.out);
    tb_run_free(&r);
    r = TB_RUN("check");
    tb_expect_status(&r, 0, "check");
    tb_run_free(&r);
    r = TB_RUN("tier", "--hot-budget", "lots");
    tb_expect_status(&r, 2, "bad size");
    tb_run_free(&r);
}
