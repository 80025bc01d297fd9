/*
 * test_blocks.c — the block store's core (modules/blocks) through its
 * public header: put/get/has/rm with CID verification, CIDv0 and CIDv1 of
 * one block naming one entry, batches (one engine txn: all or nothing,
 * EBUSY beside them), counters and stat, persistence across reopen,
 * read-only handles, and a randomized model test (puts, removals, batches
 * committed and aborted, reopens) that checks contents, counters and
 * blocks_check after every step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/blocks.h"
#include "tests/test_blocks_util.h"
#include "tests/testutil.h"

TestSuite(blocks, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

Test(blocks, put_get_has_rm)
{
    blocks *bs = tb_open(NULL);
    ipld_cid cid;
    void *data;
    size_t len;
    uint64_t size;
    TB_OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, "hello world", 11, &cid));
    tb_cid_is(&cid, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
    cr_assert_eq(blocks_has(bs, &cid), 0);
    TB_OK(blocks_put(bs, &cid, "hello world", 11));
    TB_OK(blocks_put(bs, &cid, "hello world", 11)); /* present: not written again */
    cr_assert_eq(blocks_has(bs, &cid), 1);
    TB_OK(blocks_size(bs, &cid, &size));
    cr_assert_eq(size, 11);
    TB_OK(blocks_get(bs, &cid, 1, &data, &len));
    cr_assert_eq(len, 11);
    cr_assert_eq(memcmp(data, "hello world", 11), 0);
    free(data);
    tb_expect_counts(bs, 1, 11);
    tb_check_clean(bs);
    TB_OK(blocks_rm(bs, &cid));
    cr_assert_eq(blocks_has(bs, &cid), 0);
    TB_RC(blocks_get(bs, &cid, 1, &data, &len), FFDB_NOTFOUND);
    TB_RC(blocks_rm(bs, &cid), FFDB_NOTFOUND);
    TB_RC(blocks_size(bs, &cid, &size), FFDB_NOTFOUND);
    tb_expect_counts(bs, 0, 0);
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
}

/* An empty block and one over many overflow pages. */
Test(blocks, empty_and_large_blocks)
{
    blocks *bs = tb_open(NULL);
    size_t big = 3u << 20;
    uint8_t *buf = malloc(big);
    ipld_cid e, b;
    void *data;
    size_t len;
    tu_pattern(buf, big, 7);
    TB_OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, "", 0, &e));
    tb_cid_is(&e, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    TB_OK(blocks_put(bs, &e, "", 0));
    TB_OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_BLAKE2B_256, buf, big, &b));
    TB_OK(blocks_put(bs, &b, buf, big));
    TB_OK(blocks_get(bs, &e, 1, &data, &len));
    cr_assert_eq(len, 0);
    free(data);
    TB_OK(blocks_get(bs, &b, 1, &data, &len));
    cr_assert_eq(len, big);
    cr_assert(tu_pattern_ok(data, len, 7));
    free(data);
    tb_expect_counts(bs, 2, big);
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
    free(buf);
}

/* Qm... and its bafy... form are one block: one entry, found by either. */
Test(blocks, cid_versions_name_one_block)
{
    blocks *bs = tb_open(NULL);
    /* The empty directory: dag-pb Data = UnixFS {Type: Directory}. */
    static const uint8_t dir[] = {0x0a, 0x02, 0x08, 0x01};
    ipld_cid v0, v1;
    TB_OK(ipld_cid_of(0, IPLD_CODEC_DAG_PB, IPLD_MH_SHA2_256, dir, sizeof dir, &v0));
    tb_cid_is(&v0, "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
    ipld_cid_to_v1(&v0, &v1);
    TB_OK(blocks_put(bs, &v0, dir, sizeof dir));
    TB_OK(blocks_put(bs, &v1, dir, sizeof dir));
    cr_assert_eq(blocks_has(bs, &v1), 1);
    tb_expect_counts(bs, 1, sizeof dir);
    TB_OK(blocks_rm(bs, &v1));
    cr_assert_eq(blocks_has(bs, &v0), 0);
    TB_OK(blocks_close(bs));
}

Test(blocks, put_refuses_what_does_not_hash_to_its_cid)
{
    blocks *bs = tb_open(NULL);
    ipld_cid cid;
    TB_OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, "hello world", 11, &cid));
    TB_RC(blocks_put(bs, &cid, "hello world\n", 12), IPLD_EMISMATCH);
    cid.digest[0] ^= 1;
    TB_RC(blocks_put(bs, &cid, "hello world", 11), IPLD_EMISMATCH);
    cid.mh_code = IPLD_MH_BLAKE3; /* parses, cannot be verified */
    TB_RC(blocks_put(bs, &cid, "hello world", 11), IPLD_EUNSUPPORTED);
    blocks_batch *b;
    TB_OK(blocks_batch_begin(bs, &b));
    TB_RC(blocks_batch_put(b, &cid, "x", 1), IPLD_EUNSUPPORTED);
    TB_OK(blocks_batch_commit(b));
    tb_expect_counts(bs, 0, 0);
    TB_OK(blocks_close(bs));
}

/* A batch is one engine transaction: all its blocks or none, and other
 * writes wait for its end. */
Test(blocks, batches_are_all_or_nothing)
{
    blocks *bs = tb_open(NULL);
    blocks_batch *b;
    ipld_cid cid;
    TB_OK(blocks_batch_begin(bs, &b));
    for (int i = 0; i < 500; i++)
        tb_put_in_batch(b, i, 100 + i % 50);
    cr_assert_eq(blocks_batch_count(b), 500);
    tb_block_cid(3, 100 + 3, &cid);
    cr_assert_eq(blocks_has(bs, &cid), 0); /* reads see the last commit */
    TB_RC(blocks_put(bs, &cid, "x", 1), BLOCKS_EBUSY);
    TB_RC(blocks_rm(bs, &cid), BLOCKS_EBUSY);
    blocks_batch *b2;
    TB_RC(blocks_batch_begin(bs, &b2), BLOCKS_EBUSY);
    blocks_batch_abort(b);
    tb_expect_counts(bs, 0, 0);
    cr_assert_eq(blocks_has(bs, &cid), 0);

    TB_OK(blocks_batch_begin(bs, &b));
    uint64_t bytes = 0;
    for (int i = 0; i < 500; i++)
        bytes += tb_put_in_batch(b, i, 100 + i % 50);
    cr_assert_eq(blocks_batch_bytes(b), bytes);
    TB_OK(blocks_batch_commit(b));
    tb_expect_counts(bs, 500, bytes);
    cr_assert_eq(blocks_has(bs, &cid), 1);
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));

    /* Closing with a batch open discards it. */
    bs = tb_open(NULL);
    TB_OK(blocks_batch_begin(bs, &b));
    tb_put_in_batch(b, 9999, 10);
    TB_OK(blocks_close(bs));
    bs = tb_open(NULL);
    tb_expect_counts(bs, 500, bytes);
    TB_OK(blocks_close(bs));
}

Test(blocks, read_only_handles)
{
    blocks *bs = tb_open(NULL);
    ipld_cid cid;
    void *data;
    size_t len;
    TB_OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, "abc", 3, &cid));
    TB_OK(blocks_put(bs, &cid, "abc", 3));
    TB_OK(blocks_close(bs));
    blocks_options o = {.ffdb_flags = FFDB_RDONLY};
    bs = tb_open(&o);
    cr_assert_eq(blocks_has(bs, &cid), 1);
    TB_OK(blocks_get(bs, &cid, 1, &data, &len));
    free(data);
    TB_RC(blocks_put(bs, &cid, "abc", 3), FFDB_EREADONLY);
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
    /* A missing store with FFDB_NOCREATE is not created. */
    blocks *none;
    blocks_options nc = {.ffdb_flags = FFDB_NOCREATE};
    TB_RC(blocks_open(tu_path("missing.ffdb"), &nc, &none), FFDB_NOTFOUND);
    cr_assert(!tu_exists(tu_path("missing.ffdb")));
    /* An ffdb file that is not a block store is refused. */
    ffdb *db = tu_open(tu_path("plain.ffdb"), 0, 0, 0);
    ffdb_txn *t;
    ffdb_bucket *bk;
    TU_OK(ffdb_begin_write(db, &t));
    TU_OK(ffdb_bucket_create(t, "other", 5, &bk));
    TU_OK(ffdb_commit(t));
    ffdb_close(db);
    TB_RC(blocks_open(tu_path("plain.ffdb"), NULL, &none), FFDB_ENOTDB);
}

/* ---- model test ----------------------------------------------------------------------- */

#define MODEL_IDS 300

typedef struct model {
    uint8_t present[MODEL_IDS];
    uint32_t len[MODEL_IDS];
} model;

static void model_verify(blocks *bs, const model *m)
{
    uint64_t n = 0, bytes = 0;
    for (int i = 0; i < MODEL_IDS; i++) {
        ipld_cid cid;
        tb_block_cid(i, m->len[i], &cid);
        int has = blocks_has(bs, &cid);
        cr_assert_eq(has, m->present[i], TU_SEED_FMT "block %d: has %d, model %d", TU_SEED_ARG, i,
                     has, m->present[i]);
        if (m->present[i]) {
            n++;
            bytes += m->len[i];
            void *data;
            size_t len;
            TB_OK(blocks_get(bs, &cid, 1, &data, &len));
            cr_assert_eq(len, m->len[i]);
            free(data);
        }
    }
    tb_expect_counts(bs, n, bytes);
    tb_check_clean(bs);
}

Test(blocks, model)
{
    tu_rng r;
    model m, pending;
    blocks *bs = tb_open(NULL);
    tu_rng_init(&r, tu_seed("blocks model"));
    memset(&m, 0, sizeof m);
    for (int i = 0; i < MODEL_IDS; i++)
        m.len[i] = (uint32_t)tu_range(&r, 16, tu_chance(&r, 50) ? 20000 : 600); /* distinct */
    for (int step = 0; step < 60; step++) {
        int op = (int)tu_below(&r, 10);
        if (op < 4) { /* a batch, committed or aborted */
            blocks_batch *b;
            int commit = tu_chance(&r, 800);
            pending = m;
            TB_OK(blocks_batch_begin(bs, &b));
            for (int k = (int)tu_range(&r, 1, 40); k > 0; k--) {
                int id = (int)tu_below(&r, MODEL_IDS);
                tb_put_in_batch(b, id, m.len[id]);
                pending.present[id] = 1;
            }
            if (commit) {
                TB_OK(blocks_batch_commit(b));
                m = pending;
            } else {
                blocks_batch_abort(b);
            }
        } else if (op < 7) { /* single puts and removals */
            for (int k = (int)tu_range(&r, 1, 10); k > 0; k--) {
                int id = (int)tu_below(&r, MODEL_IDS);
                ipld_cid cid;
                tb_block_cid(id, m.len[id], &cid);
                if (tu_chance(&r, 500)) {
                    tb_put(bs, id, m.len[id]);
                    m.present[id] = 1;
                } else {
                    TB_RC(blocks_rm(bs, &cid), m.present[id] ? 0 : FFDB_NOTFOUND);
                    m.present[id] = 0;
                }
            }
        } else if (op < 8) {
            TB_OK(blocks_close(bs));
            bs = tb_open(NULL);
        }
        if (step % 10 == 9 || op == 7)
            model_verify(bs, &m);
    }
    model_verify(bs, &m);
    TB_OK(blocks_close(bs));
}
