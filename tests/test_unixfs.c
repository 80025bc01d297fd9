/*
 * test_unixfs.c — the UnixFS importer (blocks_add) and exporter
 * (blocks_cat) against the CIDs kubo publishes, and round trips at every
 * chunk and fan-out boundary.
 *
 * Vectors (CIDs are facts, quoted with where they are published):
 *   kubo README / docs         `ipfs add` of "hello world\n"
 *   kubo test/cli/add_test.go  "hello world" as CIDv0, CIDv1 (raw leaf),
 *                              CIDv1 without raw leaves, sha2-512; and
 *                              IPFSAddDeterministic(size, seed) files under
 *                              the legacy-cid-v0, test-cid-v1 and
 *                              test-cid-v1-wide profiles (174 and 175
 *                              chunks, 1024 links): the bytes are kubo's
 *                              testutils DeterministicRandomReader, i.e. the
 *                              ChaCha20 keystream under sha256(seed), which
 *                              tb_stream reproduces from that definition
 *   rs-ipfs/rust-ipfs unixfs/src/file/adder.rs tests, which quote go-ipfs
 *                              results: the empty file, "foobar\n" whole
 *                              and in 2-byte chunks, a 237-byte text in
 *                              1- and 32-byte chunks (a 2-level tree), 174
 *                              and 349 zero bytes in 1- and 2-byte chunks
 * The files of 1 GiB and more run only with FFDB_TEST_LARGE=1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/blocks.h"
#include "tests/test_blocks_util.h"
#include "tests/testutil.h"

TestSuite(unixfs, .init = tu_setup, .fini = tu_teardown, .timeout = 600);

#define KIB 1024ull
#define MIB (1024ull * 1024)

/* ---- reading from memory ------------------------------------------------------------ */

typedef struct mem_in {
    const uint8_t *p;
    size_t len, pos;
} mem_in;

static long mem_read(void *arg, void *buf, size_t len)
{
    mem_in *m = arg;
    size_t n = m->len - m->pos < len ? m->len - m->pos : len;
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

/* kubo's defaults, as the API spells them. */
static blocks_add_options defaults(void)
{
    return (blocks_add_options){.raw_leaves = -1, .pin = 1};
}

/* ---- published vectors: small inputs ------------------------------------------------- */

static const char lorem[] =
    "Lorem ipsum dolor sit amet, sit enim montes aliquam. Cras non lorem, rhoncus condimentum, "
    "irure et ante. Pulvinar suscipit odio ante, et tellus a enim, wisi ipsum, vel rhoncus eget "
    "faucibus varius, luctus turpis nibh vel odio nulla pede.";

typedef struct small_vec {
    const char *what;
    const char *data; /* NULL: zeros */
    size_t len;
    unsigned cid_version;
    int raw_leaves;
    uint32_t chunk;
    uint64_t mh;
    const char *cid;
} small_vec;

static const small_vec small[] = {
    {"hello world\\n", "hello world\n", 12, 0, -1, 0, 0,
     "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"},
    {"hello world", "hello world", 11, 0, -1, 0, 0,
     "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"},
    {"hello world v1", "hello world", 11, 1, -1, 0, 0,
     "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"},
    {"hello world v1 no raw leaves", "hello world", 11, 1, 0, 0, 0,
     "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa"},
    {"hello world sha2-512", "hello world", 11, 0, -1, 0, IPLD_MH_SHA2_512,
     "bafkrgqbqt3gerhas23vuzrapkdeqf4vu2dwxp3srdj6hvg6nhsug2tgyn6mj3u23yx7utftq3i2ckw2fwdh5qmhid5q"
     "f3t35yvkc5e5ottlw6"},
    {"empty file", "", 0, 0, -1, 0, 0, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"},
    {"foobar\\n", "foobar\n", 7, 0, -1, 0, 0, "QmRgutAxd8t7oGkSm4wmeuByG6M51wcTso6cubDdQtuEfL"},
    {"foobar\\n size-2", "foobar\n", 7, 0, -1, 2, 0,
     "QmRJHYTNvC3hmd9gJQARxLR1QMEincccBV53bBw524yyq6"},
    {"lorem size-1", lorem, sizeof lorem - 1, 0, -1, 1, 0,
     "QmRQ6NZNUs4JrCT2y7tmCC1wUhjqYuTssB8VXbbN3rMffg"},
    {"lorem size-32", lorem, sizeof lorem - 1, 0, -1, 32, 0,
     "QmYSLcVQqxKygiq7x9w1XGYxU29EShB8ZemiaQ8GAAw17h"},
    {"174 zeros size-1", NULL, 174, 0, -1, 1, 0, "QmdgQac8c6Bo3MP5bHAg2yQ25KebFUsmkZFvyByYzf8UCB"},
    {"349 zeros size-2", NULL, 349, 0, -1, 2, 0, "QmcHNWF1d56uCDSfJPA7t9fadZRV9we5HGSTGSmwuqmMP9"},
};

/* Adds v (stored), checks the root, cats it back; returns the block count. */
static uint64_t add_small(blocks *bs, const small_vec *v)
{
    uint8_t *zeros = calloc(v->len + 1, 1);
    mem_in in = {v->data ? (const uint8_t *)v->data : zeros, v->len, 0};
    blocks_add_options o = defaults();
    ipld_cid root;
    uint64_t size;
    blocks_stat before, after;
    o.cid_version = v->cid_version;
    o.raw_leaves = v->raw_leaves;
    o.chunk_size = v->chunk;
    o.mh_code = v->mh;
    TB_OK(blocks_stat_get(bs, &before));
    TB_OK(blocks_add(bs, mem_read, &in, &o, &root, &size));
    tb_cid_is(&root, v->cid);
    cr_assert_eq(size, v->len, "%s", v->what);
    mem_out out = {0};
    TB_OK(blocks_cat(bs, &root, mem_write, &out));
    cr_assert_eq(out.len, v->len, "%s: cat gave %zu bytes", v->what, out.len);
    cr_assert(v->len == 0 || memcmp(out.p, in.p, v->len) == 0, "%s: cat differs", v->what);
    free(out.p);
    free(zeros);
    TB_OK(blocks_stat_get(bs, &after));
    return after.blocks[0] - before.blocks[0];
}

Test(unixfs, published_small_vectors)
{
    blocks *bs = tb_open(NULL);
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
        add_small(bs, &small[i]);
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
}

/* rust-ipfs: "lorem size-1" is 237 leaves under two nodes (174 + 63
 * links) and a root: kubo's balanced layout, block for block. */
Test(unixfs, lorem_tree_shape)
{
    blocks *bs = tb_open(NULL);
    cr_assert_eq(sizeof lorem - 1, 237);
    /* Leaves are 1-byte dag-pb nodes; equal bytes give one block, so count
     * distinct ones the way the store does. */
    uint64_t added = add_small(bs, &small[8]);
    cr_assert(added > 3 && added < 240);
    ipld_cid root;
    void *data;
    size_t len;
    ipld_pb_node node;
    TB_OK(ipld_cid_parse(small[8].cid, &root));
    TB_OK(blocks_get(bs, &root, 1, &data, &len));
    TB_OK(ipld_pb_decode(data, len, &node));
    cr_assert_eq(node.link_count, 2);
    ipld_pb_node_free(&node);
    free(data);
    TB_OK(blocks_close(bs));
}

/* Only the root matters for the CID: --only-hash stores nothing. */
Test(unixfs, only_hash_stores_nothing)
{
    blocks_add_options o = defaults();
    mem_in in = {(const uint8_t *)lorem, sizeof lorem - 1, 0};
    ipld_cid root;
    o.only_hash = 1;
    o.chunk_size = 32;
    TB_OK(blocks_add(NULL, mem_read, &in, &o, &root, NULL));
    tb_cid_is(&root, "QmYSLcVQqxKygiq7x9w1XGYxU29EShB8ZemiaQ8GAAw17h");
    blocks *bs = tb_open(NULL);
    in.pos = 0;
    TB_OK(blocks_add(bs, mem_read, &in, &o, &root, NULL));
    tb_expect_counts(bs, 0, 0);
    TB_OK(blocks_close(bs));
}

/* ---- published vectors: kubo's deterministic files ----------------------------------- */

typedef struct big_vec {
    const char *seed;
    uint64_t size;
    unsigned cid_version;
    uint32_t chunk, links;
    int store, large;
    const char *cid;
} big_vec;

static const big_vec big[] = {
    /* legacy-cid-v0: CIDv0, no raw leaves, 256 KiB chunks, 174 links */
    {"v0-seed", 44544 * KIB, 0, 0, 0, 1, 0, "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2"},
    {"v0-seed", 44800 * KIB, 0, 0, 0, 0, 0, "QmepeWtdmS1hHXx1oZXsPUv6bMrfRRKfZcoPPU4eEfjnbf"},
    {"hello world", 262144 * KIB, 0, 0, 1024, 0, 0,
     "QmbBftNHWmjSWKLC49dMVrfnY8pjrJYntiAXirFJ7oJrNk"},
    /* test-cid-v1: CIDv1, raw leaves, 1 MiB chunks, 174 links */
    {"v1-seed", 174 * MIB, 1, 1 << 20, 0, 0, 0,
     "bafybeigwduxcf2aawppv3isnfeshnimkyplvw3hthxjhr2bdeje4tdaicu"},
    {"v1-seed", 175 * MIB, 1, 1 << 20, 0, 1, 0,
     "bafybeidhd7lo2n2v7lta5yamob3xwhbxcczmmtmhquwhjesi35jntf7mpu"},
    /* test-cid-v1-wide: as test-cid-v1 with 1024 links */
    {"v1-seed-1024", 1024 * MIB, 1, 1 << 20, 1024, 0, 1,
     "bafybeiej5w63ir64oxgkr5htqmlerh5k2rqflurn2howimexrlkae64xru"},
    {"v1-seed-1024", 1025 * MIB, 1, 1 << 20, 1024, 0, 1,
     "bafybeieilp2qx24pe76hxrxe6bpef5meuxto3kj5dd6mhb5kplfeglskdm"},
};

static int large_tests(void)
{
    const char *e = getenv("FFDB_TEST_LARGE");
    return e && *e && strcmp(e, "0") != 0;
}

static void run_big(blocks *bs, const big_vec *v)
{
    blocks_add_options o = defaults();
    tb_stream s;
    ipld_cid root;
    uint64_t size;
    tb_stream_init(&s, v->seed, v->size);
    o.cid_version = v->cid_version;
    o.chunk_size = v->chunk;
    o.max_links = v->links;
    o.only_hash = !v->store;
    TB_OK(blocks_add(v->store ? bs : NULL, tb_stream_read, &s, &o, &root, &size));
    tb_cid_is(&root, v->cid);
    cr_assert_eq(size, v->size);
    if (v->store) {
        tb_stream_init(&s, v->seed, v->size);
        TB_OK(blocks_cat(bs, &root, tb_stream_compare, &s));
        cr_assert_eq(s.pos, v->size);
    }
}

Test(unixfs, kubo_deterministic_files)
{
    blocks *bs = tb_open(NULL);
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        if (!big[i].large || large_tests())
            run_big(bs, &big[i]);
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
}

/* ---- round trips at every chunk and fan-out boundary ---------------------------------- */

/* Adds size bytes of a generated stream with chunk/links (0 = kubo's),
 * stored, and cats them back comparing byte for byte; returns the root. */
static ipld_cid round_trip(blocks *bs, uint64_t size, uint32_t chunk, uint32_t links,
                           unsigned version)
{
    blocks_add_options o = defaults();
    tb_stream s;
    ipld_cid root, again;
    uint64_t got;
    char seed[64];
    snprintf(seed, sizeof seed, "round trip %llu", (unsigned long long)size);
    o.chunk_size = chunk;
    o.max_links = links;
    o.cid_version = version;
    tb_stream_init(&s, seed, size);
    TB_OK(blocks_add(bs, tb_stream_read, &s, &o, &root, &got));
    cr_assert_eq(got, size);
    tb_stream_init(&s, seed, size);
    TB_OK(blocks_cat(bs, &root, tb_stream_compare, &s));
    cr_assert_eq(s.pos, size, "cat of %llu bytes gave %llu", (unsigned long long)size,
                 (unsigned long long)s.pos);
    /* Reads of any length give the same DAG (only the bytes count). */
    tb_stream_init(&s, seed, size);
    s.short_reads = size | 1;
    o.only_hash = 1;
    TB_OK(blocks_add(NULL, tb_stream_read, &s, &o, &again, NULL));
    cr_assert(ipld_cid_equal(&root, &again));
    return root;
}

/* Links of a stored dag-pb node. */
static size_t link_count(blocks *bs, const ipld_cid *cid, ipld_cid *first, ipld_cid *last)
{
    void *data;
    size_t len, n;
    ipld_pb_node node;
    TB_OK(blocks_get(bs, cid, 1, &data, &len));
    if (cid->codec != IPLD_CODEC_DAG_PB) {
        free(data);
        return 0;
    }
    TB_OK(ipld_pb_decode(data, len, &node));
    n = node.link_count;
    if (n && first)
        *first = node.links[0].cid;
    if (n && last)
        *last = node.links[n - 1].cid;
    ipld_pb_node_free(&node);
    free(data);
    return n;
}

/* Depth of the leftmost path (0 for a leaf). */
static unsigned depth_of(blocks *bs, const ipld_cid *cid)
{
    ipld_cid c = *cid, first;
    unsigned d = 0;
    while (link_count(bs, &c, &first, NULL) > 0)
        c = first, d++;
    return d;
}

Test(unixfs, boundaries_at_kubo_sizes)
{
    const uint64_t c = 256 * KIB, f = 174 * c;
    const uint64_t sizes[] = {0, 1, c - 1, c, c + 1, f - 1, f, f + 1};
    const unsigned depth[] = {0, 0, 0, 0, 1, 1, 1, 2};
    blocks *bs = tb_open(NULL);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ipld_cid root = round_trip(bs, sizes[i], 0, 0, i & 1);
        cr_assert_eq(depth_of(bs, &root), depth[i], "size %llu: depth %u, expected %u",
                     (unsigned long long)sizes[i], depth_of(bs, &root), depth[i]);
    }
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
}

/* The second fan-out boundary, 174^2 chunks, with 256-byte chunks (the
 * layout depends on chunk counts only); kubo's sizes under
 * FFDB_TEST_LARGE (174^2 x 256 KiB + 1 = 7.4 GiB through the store). */
Test(unixfs, boundaries_at_two_levels)
{
    const uint64_t c = large_tests() ? 256 * KIB : 256, f2 = 174 * 174 * c;
    blocks *bs = tb_open(&(blocks_options){.ffdb_flags = FFDB_NOSYNC});
    ipld_cid root, first, last;
    uint32_t chunk = large_tests() ? 0 : 256;
    root = round_trip(bs, f2, chunk, 0, 0);
    cr_assert_eq(depth_of(bs, &root), 2);
    cr_assert_eq(link_count(bs, &root, &first, &last), 174);
    cr_assert_eq(link_count(bs, &last, NULL, NULL), 174);
    root = round_trip(bs, f2 + 1, chunk, 0, 0);
    cr_assert_eq(depth_of(bs, &root), 3);
    cr_assert_eq(link_count(bs, &root, &first, &last), 2);
    cr_assert_eq(link_count(bs, &first, NULL, NULL), 174);
    cr_assert_eq(link_count(bs, &last, &first, NULL), 1); /* the new subtree: one path */
    cr_assert_eq(link_count(bs, &first, &first, NULL), 1);
    cr_assert_eq(link_count(bs, &first, NULL, NULL), 0); /* the last leaf */
    TB_OK(blocks_close(bs));
}

/* Small fan-outs reach many levels quickly: every size up to 3^4 + 1
 * chunks with 3 links, raw leaves and not. */
Test(unixfs, every_size_with_small_fanout)
{
    blocks *bs = tb_open(&(blocks_options){.ffdb_flags = FFDB_NOSYNC});
    for (uint64_t n = 0; n <= 3 * 3 * 3 * 3 * 4 + 1; n++)
        round_trip(bs, n, 4, 3, (unsigned)(n & 1));
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
}

/* ---- cat refuses what is not a whole, consistent file ---------------------------------- */

static void put_pb(blocks *bs, const ipld_unixfs *u, ipld_pb_link *links, size_t n, ipld_cid *cid)
{
    uint8_t data[4096], block[8192];
    size_t dlen, blen;
    TB_OK(ipld_unixfs_encode(u, data, sizeof data, &dlen));
    ipld_pb_node node = {links, n, data, dlen, 1};
    TB_OK(ipld_pb_encode(&node, block, sizeof block, &blen));
    TB_OK(ipld_cid_of(0, IPLD_CODEC_DAG_PB, IPLD_MH_SHA2_256, block, blen, cid));
    TB_OK(blocks_put(bs, cid, block, blen));
}

Test(unixfs, cat_refuses_bad_dags)
{
    blocks *bs = tb_open(NULL);
    mem_out out = {0};
    ipld_cid leaf, bad, raw, cbor;
    /* A raw root is a file of its bytes. */
    TB_OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, "abc", 3, &raw));
    TB_OK(blocks_put(bs, &raw, "abc", 3));
    TB_OK(blocks_cat(bs, &raw, mem_write, &out));
    cr_assert_eq(out.len, 3);
    /* A node whose blocksizes or filesize disagree with its children. */
    ipld_unixfs lu = {.type = IPLD_UNIXFS_FILE, .filesize = 3, .has_filesize = 1};
    put_pb(bs, &lu, NULL, 0, &leaf); /* claims 3 bytes, holds none */
    out.len = 0;
    TB_RC(blocks_cat(bs, &leaf, mem_write, &out), IPLD_EFORMAT);
    uint64_t sizes[1] = {4};
    ipld_pb_link link = {
        .cid = raw, .has_name = 1, .name = (const uint8_t *)"", .tsize = 3, .has_tsize = 1};
    ipld_unixfs iu = {.type = IPLD_UNIXFS_FILE,
                      .filesize = 4,
                      .has_filesize = 1,
                      .blocksizes = sizes,
                      .blocksize_count = 1};
    put_pb(bs, &iu, &link, 1, &bad);
    TB_RC(blocks_cat(bs, &bad, mem_write, &out), IPLD_EFORMAT);
    /* A directory is not a file; neither is dag-cbor. */
    ipld_unixfs du = {.type = IPLD_UNIXFS_DIRECTORY};
    put_pb(bs, &du, NULL, 0, &bad);
    TB_RC(blocks_cat(bs, &bad, mem_write, &out), IPLD_EFORMAT);
    static const uint8_t empty_map[] = {0xa0};
    TB_OK(ipld_cid_of(1, IPLD_CODEC_DAG_CBOR, IPLD_MH_SHA2_256, empty_map, 1, &cbor));
    TB_OK(blocks_put(bs, &cbor, empty_map, 1));
    TB_RC(blocks_cat(bs, &cbor, mem_write, &out), IPLD_EFORMAT);
    /* A missing block. */
    blocks_add_options o = defaults();
    mem_in in = {(const uint8_t *)lorem, sizeof lorem - 1, 0};
    ipld_cid root, first;
    o.chunk_size = 100;
    TB_OK(blocks_add(bs, mem_read, &in, &o, &root, NULL));
    cr_assert_eq(link_count(bs, &root, &first, NULL), 3);
    TB_OK(blocks_rm(bs, &first));
    TB_RC(blocks_cat(bs, &root, mem_write, &out), FFDB_NOTFOUND);
    free(out.p);
    TB_OK(blocks_close(bs));
}
