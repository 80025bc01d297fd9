/*
 * test_blocks_bloom.c — the persisted bloom filter (modules/blocks/bloom.c):
 * no present block is ever answered absent (S4), before and after reopen,
 * after the filter grows and after gc rebuilds it; absent blocks are
 * mostly answered by the filter; the counted record (queries, negatives,
 * false positives) adds up and survives reopen.
 */
#include <stdlib.h>

#include "modules/blocks/blocks.h"
#include "tests/test_blocks_util.h"
#include "tests/testutil.h"

TestSuite(blocks_bloom, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

static void expect_has(blocks *bs, int from, int to, size_t len, int want)
{
    for (int id = from; id < to; id++) {
        ipld_cid cid;
        tb_block_cid(id, len, &cid);
        cr_assert_eq(blocks_has(bs, &cid), want, "block %d", id);
    }
}

Test(blocks_bloom, consistent_across_reopen_growth_and_gc)
{
    blocks_options o = {.bloom_chunks = 1}; /* 8192 bits: grows past ~800 keys */
    blocks *bs;
    blocks_batch *b;
    blocks_stat st, st2;
    const int n = 3000, absent = 2000;
    TB_OK(blocks_open(tu_path("store.ffdb"), &o, &bs));
    TB_OK(blocks_batch_begin(bs, &b));
    for (int id = 0; id < n; id++)
        tb_put_in_batch(b, id, 40);
    TB_OK(blocks_batch_commit(b));
    TB_OK(blocks_stat_get(bs, &st));
    cr_assert_gt(st.bloom_bits, 8192, "the filter grew with the index");
    expect_has(bs, 0, n, 40, 1);
    TB_OK(blocks_close(bs));

    TB_OK(blocks_open(tu_path("store.ffdb"), NULL, &bs)); /* the persisted filter answers */
    expect_has(bs, 0, n, 40, 1);
    expect_has(bs, n, n + absent, 40, 0);
    TB_OK(blocks_stat_get(bs, &st));
    cr_assert_eq(st.bloom_queries, 2 * (uint64_t)n + absent);
    cr_assert_eq(st.bloom_negatives + st.bloom_false_positives, absent);
    cr_assert_gt(st.bloom_negatives, absent * 9 / 10, "%llu false positives of %d",
                 (unsigned long long)st.bloom_false_positives, absent);
    TB_OK(blocks_close(bs));

    TB_OK(blocks_open(tu_path("store.ffdb"), NULL, &bs)); /* the record persisted */
    TB_OK(blocks_stat_get(bs, &st2));
    cr_assert_eq(st2.bloom_queries, st.bloom_queries);
    cr_assert_eq(st2.bloom_negatives, st.bloom_negatives);
    cr_assert_eq(st2.bloom_false_positives, st.bloom_false_positives);

    /* gc (nothing pinned: all removed) rebuilds it; new blocks are found. */
    blocks_gc_result res;
    TB_OK(blocks_gc(bs, &res));
    cr_assert_eq(res.removed, n);
    expect_has(bs, 0, 200, 40, 0);
    for (int id = 0; id < 50; id++)
        tb_put(bs, id, 40);
    TB_OK(blocks_close(bs));
    TB_OK(blocks_open(tu_path("store.ffdb"), NULL, &bs));
    expect_has(bs, 0, 50, 40, 1);
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
}
