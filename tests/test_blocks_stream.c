/*
 * test_blocks_stream.c — the streaming readers the gateway sends from:
 * blocks_file_* (a UnixFS file piece by piece, with seek) against
 * blocks_cat and the bytes added, at chunk and fan-out boundaries, in
 * pieces of odd sizes, from every kind of offset; a leaf missing after
 * open is an error after the bytes before it; and blocks_car_stream_*
 * gives byte for byte what blocks_car_export_scope writes, in every scope,
 * ending cleanly (missing set) where a child is missing.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/blocks.h"
#include "tests/test_blocks_util.h"
#include "tests/testutil.h"

TestSuite(blocks_stream, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

static ipld_cid add_file(blocks *bs, const char *seed, uint64_t size, uint32_t chunk,
                         uint32_t links, int raw)
{
    blocks_add_options ao = {.raw_leaves = raw, .chunk_size = chunk, .max_links = links};
    tb_stream s;
    ipld_cid root;
    uint64_t got;
    tb_stream_init(&s, seed, size);
    TB_OK(blocks_add(bs, tb_stream_read, &s, &ao, &root, &got));
    cr_assert_eq(got, size);
    return root;
}

/* Reads [off, size) in pieces of piece bytes and compares with the stream. */
static void read_from(blocks *bs, const ipld_cid *root, const char *seed, uint64_t size,
                      uint64_t off, size_t piece)
{
    blocks_file *f;
    uint64_t fsize, pos = off;
    uint8_t *buf = malloc(piece), *want = malloc(piece);
    tb_stream s;
    long n;
    tb_stream_init(&s, seed, size);
    TB_OK(blocks_file_open(bs, root, &f, &fsize));
    cr_assert_eq(fsize, size);
    if (off)
        TB_OK(blocks_file_seek(f, off));
    while ((n = blocks_file_read(f, buf, piece)) > 0) {
        cr_assert_leq(pos + (uint64_t)n, size, "read past the end at %llu",
                      (unsigned long long)pos);
        tb_stream_bytes(&s, pos, want, (size_t)n);
        cr_assert(memcmp(buf, want, (size_t)n) == 0, "bytes differ at %llu (from %llu)",
                  (unsigned long long)pos, (unsigned long long)off);
        pos += (uint64_t)n;
    }
    TB_OK((int)n);
    cr_assert_eq(pos, size, "ended at %llu of %llu (from %llu)", (unsigned long long)pos,
                 (unsigned long long)size, (unsigned long long)off);
    cr_assert_eq(blocks_file_read(f, buf, piece), 0);
    blocks_file_close(f);
    free(buf);
    free(want);
}

Test(blocks_stream, file_reads_and_seeks)
{
    blocks *bs = tb_open(NULL);
    enum { CHUNK = 256, LINKS = 4 };
    /* around one chunk, one full node, two levels, three levels */
    static const uint64_t sizes[] = {0,
                                     1,
                                     CHUNK - 1,
                                     CHUNK,
                                     CHUNK + 1,
                                     CHUNK * LINKS,
                                     CHUNK * LINKS + 1,
                                     CHUNK * LINKS * LINKS - 1,
                                     CHUNK * LINKS * LINKS * LINKS + 77};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int raw = 0; raw <= 1; raw++) {
            char seed[32];
            snprintf(seed, sizeof seed, "stream-%zu-%d", i, raw);
            uint64_t size = sizes[i];
            ipld_cid root = add_file(bs, seed, size, CHUNK, LINKS, raw);
            uint64_t offs[] = {0, 1, CHUNK - 1, CHUNK, CHUNK * LINKS + 3, size / 2, size - 1,
                               size};
            for (size_t k = 0; k < sizeof offs / sizeof *offs; k++)
                if (offs[k] <= size)
                    read_from(bs, &root, seed, size, offs[k], k % 2 ? 7 : 1000);
        }
    blocks_file *f;
    uint64_t size;
    ipld_cid root = add_file(bs, "past", 1000, CHUNK, LINKS, 0);
    TB_OK(blocks_file_open(bs, &root, &f, &size));
    TB_RC(blocks_file_seek(f, 1001), FFDB_EINVAL);
    blocks_file_close(f);
    TB_OK(blocks_close(bs));
}

Test(blocks_stream, file_not_a_file_or_missing)
{
    blocks *bs = tb_open(NULL);
    blocks_file *f;
    uint64_t size;
    ipld_cid absent, commit, root;
    tb_block_cid(1, 100, &absent);
    TB_RC(blocks_file_open(bs, &absent, &f, &size), FFDB_NOTFOUND);
    cr_assert_null(f);
    root = add_file(bs, "cut", 256 * 20, 256, 4, 1);
    TB_OK(blocks_commit_root(bs, &root, "m", NULL, 0, &commit));
    TB_RC(blocks_file_open(bs, &commit, &f, &size), IPLD_EFORMAT);
    /* a leaf removed after open: the bytes before it, then the error */
    TB_OK(blocks_file_open(bs, &root, &f, &size));
    cr_assert_eq(size, 256 * 20);
    ipld_cid leaf;
    uint8_t buf[256];
    tb_stream s;
    tb_stream_init(&s, "cut", size);
    tb_stream_bytes(&s, 256 * 10, buf, sizeof buf);
    TB_OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, buf, sizeof buf, &leaf));
    TB_OK(blocks_rm(bs, &leaf));
    uint64_t got = 0;
    long n;
    while ((n = blocks_file_read(f, buf, 100)) > 0)
        got += (uint64_t)n;
    TB_RC((int)n, FFDB_NOTFOUND);
    cr_assert_eq(got, 256 * 10);
    TB_RC((int)blocks_file_read(f, buf, 100), FFDB_NOTFOUND);
    blocks_file_close(f);
    TB_OK(blocks_close(bs));
}

typedef struct membuf {
    uint8_t *p;
    size_t len, cap;
} membuf;

static int mem_write(void *arg, const void *p, size_t n)
{
    membuf *m = arg;
    if (m->len + n > m->cap) {
        m->cap = (m->len + n) * 2;
        cr_assert(m->p = realloc(m->p, m->cap));
    }
    memcpy(m->p + m->len, p, n);
    m->len += n;
    return 0;
}

/* The stream's bytes (in pieces of piece) equal export's; returns missing. */
static int car_same(blocks *bs, const ipld_cid *root, int scope, size_t piece)
{
    membuf want = {0}, got = {0};
    blocks_car_stream *s;
    uint8_t buf[4096];
    long n;
    int rc = blocks_car_export_scope(bs, root, 1, scope, mem_write, &want, NULL);
    cr_assert(rc == 0 || rc == FFDB_NOTFOUND, "export: %s", blocks_strerror(rc));
    TB_OK(blocks_car_stream_open(bs, root, scope, &s));
    while ((n = blocks_car_stream_read(s, buf, piece)) > 0)
        mem_write(&got, buf, (size_t)n);
    TB_OK((int)n);
    cr_assert_eq(got.len, want.len, "scope %d: %zu bytes streamed, %zu exported", scope, got.len,
                 want.len);
    cr_assert(memcmp(got.p, want.p, got.len) == 0, "scope %d: the CARs differ", scope);
    int missing = blocks_car_stream_missing(s);
    cr_assert_eq(missing, rc == FFDB_NOTFOUND);
    blocks_car_stream_close(s);
    free(want.p);
    free(got.p);
    return missing;
}

static long zero_read(void *arg, void *buf, size_t len)
{
    uint64_t *left = arg;
    size_t n = len < *left ? len : (size_t)*left;
    memset(buf, 0, n);
    *left -= n;
    return (long)n;
}

Test(blocks_stream, car_as_export)
{
    blocks *bs = tb_open(NULL);
    /* zero-filled chunks repeat: dups=n must write each once */
    blocks_add_options ao = {.raw_leaves = 0, .chunk_size = 256, .max_links = 4};
    uint64_t zleft = 256 * 40;
    ipld_cid zroot, root, commit, absent;
    root = add_file(bs, "car", 256 * 70 + 5, 256, 4, 0);
    TB_OK(blocks_add(bs, zero_read, &zleft, &ao, &zroot, NULL));
    TB_OK(blocks_commit_root(bs, &root, "m", NULL, 0, &commit));
    for (int scope = BLOCKS_SCOPE_ALL; scope <= BLOCKS_SCOPE_ENTITY; scope++) {
        cr_assert_eq(car_same(bs, &root, scope, 1), 0);
        cr_assert_eq(car_same(bs, &root, scope, 4096), 0);
        cr_assert_eq(car_same(bs, &commit, scope, 333), 0);
        cr_assert_eq(car_same(bs, &zroot, scope, 100), 0);
    }
    tb_block_cid(5, 10, &absent);
    blocks_car_stream *s;
    TB_RC(blocks_car_stream_open(bs, &absent, BLOCKS_SCOPE_ALL, &s), FFDB_NOTFOUND);
    /* a leaf gone: the CAR ends there, as export does */
    uint8_t leaf[256];
    ipld_cid lc;
    tb_stream ts;
    tb_stream_init(&ts, "car", 256 * 70 + 5);
    tb_stream_bytes(&ts, 256 * 30, leaf, sizeof leaf);
    uint8_t pb[512];
    size_t pblen, dlen;
    uint8_t ud[300];
    ipld_unixfs u = {.type = IPLD_UNIXFS_FILE,
                     .data = leaf,
                     .data_len = sizeof leaf,
                     .has_data = 1,
                     .filesize = sizeof leaf,
                     .has_filesize = 1};
    TB_OK(ipld_unixfs_encode(&u, ud, sizeof ud, &dlen));
    ipld_pb_node node = {.data = ud, .data_len = dlen, .has_data = 1};
    TB_OK(ipld_pb_encode(&node, pb, sizeof pb, &pblen));
    TB_OK(ipld_cid_of(0, IPLD_CODEC_DAG_PB, IPLD_MH_SHA2_256, pb, pblen, &lc));
    TB_OK(blocks_rm(bs, &lc));
    cr_assert_eq(car_same(bs, &root, BLOCKS_SCOPE_ALL, 1000), 1);
    TB_OK(blocks_close(bs));
}
