/*
 * test_blocks_util.h — helpers of the block store suites (test_blocks*.c,
 * test_unixfs.c, ...): a store in the test's scratch directory, assertions
 * that name blocks_strerror's text, generated blocks (block id -> bytes ->
 * CID, so a test keeps ids, not bytes), counters and a clean blocks_check.
 */
#ifndef FFDB_TESTS_TEST_BLOCKS_UTIL_H
#define FFDB_TESTS_TEST_BLOCKS_UTIL_H

#include <criterion/criterion.h>
#include <stdint.h>

#include "modules/blocks/blocks.h"

/* Open (creating) tu_path("store.ffdb") with opt (NULL = defaults). */
blocks *tb_open(const blocks_options *opt);
const char *tb_store_path(void);

#define TB_RC(expr, want)                                                                          \
    do {                                                                                           \
        int tb_rc_ = (expr), tb_want_ = (want);                                                    \
        if (tb_rc_ != tb_want_)                                                                    \
            cr_assert_fail("%s:%d: %s returned %d (%s), expected %d (%s)", __FILE__, __LINE__,     \
                           #expr, tb_rc_, blocks_strerror(tb_rc_), tb_want_,                       \
                           blocks_strerror(tb_want_));                                             \
    } while (0)
#define TB_OK(expr) TB_RC(expr, 0)

void tb_cid_is(const ipld_cid *cid, const char *want);
/* The bytes of block id (len bytes, tu_pattern seeded by id) and its CIDv1 raw. */
uint8_t *tb_block_data(int id, size_t len);
void tb_block_cid(int id, size_t len, ipld_cid *cid);
void tb_put(blocks *bs, int id, size_t len);
size_t tb_put_in_batch(blocks_batch *b, int id, size_t len);
/* stat's totals over both tiers must be n blocks of bytes bytes. */
void tb_expect_counts(blocks *bs, uint64_t n, uint64_t bytes);
/* blocks_check returns 0 and reports nothing. */
void tb_check_clean(blocks *bs);

/* ---- running ffdb-blocks ($FFDB_TEST_TOOLS/ffdb-blocks) ------------------------------ */

typedef struct tb_run {
    int status;      /* exit status, or 128 + signal */
    char *out, *err; /* NUL-terminated; free with tb_run_free */
    size_t out_len, err_len;
} tb_run;

/* Run ffdb-blocks --store <tb_store_path()> ARGS... (NULL-terminated) with
 * stdin from the file in (NULL: /dev/null). */
tb_run tb_runv(const char *in, const char *const *args);
tb_run tb_run_in(const char *in, ...);
#define TB_RUN(...) tb_run_in(NULL, __VA_ARGS__, (const char *)NULL)
#define TB_RUN_IN(in, ...) tb_run_in(in, __VA_ARGS__, (const char *)NULL)
void tb_run_free(tb_run *r);
/* Exit status want, or fail showing what the tool said. */
void tb_expect_status(const tb_run *r, int want, const char *what);
/* stdout is exactly want. */
void tb_expect_out(const tb_run *r, const char *want, const char *what);

/* ---- generated streams (files that are never held in memory) ------------------------- */

/* The bytes of kubo's test/cli/testutils DeterministicRandomReader: the
 * ChaCha20 (IETF, zero nonce, counter 0) keystream under sha256(seed), so
 * CIDs kubo's tests publish for IPFSAddDeterministic(size, seed) apply. */
typedef struct tb_stream {
    uint8_t key[32];
    uint64_t pos, size;
    uint64_t short_reads; /* non-zero: reads return 1..len bytes at random (seeded so) */
} tb_stream;

void tb_stream_init(tb_stream *s, const char *seed, uint64_t size);
/* The stream's bytes [pos, pos + len) into buf. */
void tb_stream_bytes(const tb_stream *s, uint64_t pos, void *buf, size_t len);
/* A read callback for blocks_add (arg = tb_stream *). */
long tb_stream_read(void *arg, void *buf, size_t len);
/* A write callback for blocks_cat comparing with a stream (arg = tb_stream *,
 * whose pos advances); returns -1 at the first difference or past its end. */
int tb_stream_compare(void *arg, const void *p, size_t n);

#endif
