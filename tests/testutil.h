/*
 * testutil.h — shared helpers of the engine-level test suites (tests/test_*.c).
 *
 * What lives here: a scratch directory per test (created by tu_setup, removed
 * with everything in it by tu_teardown — use them as a suite's .init/.fini),
 * a small deterministic PRNG whose seed comes from FFDB_TEST_SEED or the clock
 * and is printed so a failing run can be repeated, and a few assertions that
 * every suite needs (ffdb_check is clean and accounts for every page).
 *
 * Tests use the public API only (include/ffdb.h); the on-disk layout in
 * common/format.h is used by the corruption tests to find pages to damage.
 * Criterion runs every test in its own process, so the globals here are per
 * test.
 */
#ifndef FFDB_TESTS_TESTUTIL_H
#define FFDB_TESTS_TESTUTIL_H

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdint.h>

#include "ffdb.h"

/* ---- Scratch directory ---------------------------------------------------- */

/* Create the test's scratch directory ($TMPDIR or /tmp). Suite .init. */
void tu_setup(void);
/* Remove the scratch directory and everything in it. Suite .fini. */
void tu_teardown(void);
/* The scratch directory. */
const char *tu_dir(void);
/* dir/name; the string stays valid until tu_teardown. */
const char *tu_path(const char *name);

/* ---- PRNG (splitmix64) ------------------------------------------------------ */

typedef struct tu_rng {
    uint64_t state;
} tu_rng;

/* The seed of a randomized test: FFDB_TEST_SEED if set, else clock ^ pid.
 * Prints "<what>: seed <n> (FFDB_TEST_SEED=<n> repeats it)" to stderr and
 * remembers it for TU_SEED_MSG. */
uint64_t tu_seed(const char *what);
/* The last seed tu_seed() returned (0 if none). */
uint64_t tu_last_seed(void);

void     tu_rng_init(tu_rng *r, uint64_t seed);
uint64_t tu_next(tu_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t tu_below(tu_rng *r, uint64_t n);
/* Uniform in [lo, hi]. */
uint64_t tu_range(tu_rng *r, uint64_t lo, uint64_t hi);
/* 1 with probability permille / 1000. */
int      tu_chance(tu_rng *r, unsigned permille);
void     tu_fill(tu_rng *r, void *buf, size_t len);

/* Deterministic bytes that depend on (seed, offset): a big value can be
 * regenerated for comparison instead of kept. */
void     tu_pattern(void *buf, size_t len, uint64_t seed);
/* 1 if buf holds exactly tu_pattern(len, seed). */
int      tu_pattern_ok(const void *buf, size_t len, uint64_t seed);

/* A 64-bit FNV-1a style hash chained through h (start with 0). */
uint64_t tu_hash(const void *buf, size_t len, uint64_t h);

/* ---- Database helpers (assert on failure) ----------------------------------- */

/* Open path with the given pool size, page size (0 = default) and flags. */
ffdb *tu_open(const char *path, size_t buffer_pages, unsigned page_size, unsigned flags);
/* Open path through io (e.g. io_mem_io()) with the given pool size and flags. */
ffdb *tu_open_io(const char *path, const ffdb_io *io, size_t buffer_pages, unsigned flags);
/* ffdb_check must return 0, report no problem, and account for every page:
 * reachable + free == page_count. The result goes to *out if not NULL. */
void  tu_check_clean(ffdb *db, ffdb_check_result *out);
ffdb_stat tu_stat(ffdb *db);
/* ffdb_stat_bucket() with *st zeroed first. */
int   tu_bstat(ffdb_bucket *b, ffdb_bucket_stat *st);

/* Key helpers: the big-endian encoding of i (so byte order = numeric order). */
void  tu_be64(void *out, uint64_t i);

/* ---- File helpers ----------------------------------------------------------- */

/* The whole file in a malloc'd buffer (NULL and *len = 0 if missing). */
unsigned char *tu_read_file(const char *path, size_t *len);
void     tu_write_file(const char *path, const void *buf, size_t len);
/* Overwrite len bytes at offset (the file is not truncated). */
void     tu_patch_file(const char *path, uint64_t offset, const void *buf, size_t len);
int64_t  tu_file_size(const char *path);   /* -1 if missing */
int      tu_exists(const char *path);

/* Shorthand for messages of randomized tests. */
#define TU_SEED_FMT "[seed %llu] "
#define TU_SEED_ARG ((unsigned long long)tu_last_seed())

/* rc must be 0; prints ffdb_strerror and ffdb_last_error otherwise. */
#define TU_OK(expr)                                                                      \
    do {                                                                                 \
        int tu_rc_ = (expr);                                                             \
        if (tu_rc_ != 0) {                                                               \
            ffdb_error_info tu_ei_;                                                      \
            ffdb_last_error(&tu_ei_);                                                    \
            cr_assert_fail("%s:%d: %s returned %d (%s; last error: %s, page %llu)", __FILE__,   \
                     __LINE__, #expr, tu_rc_, ffdb_strerror(tu_rc_), tu_ei_.message,     \
                     (unsigned long long)tu_ei_.pgno);                                   \
        }                                                                                \
    } while (0)

/* rc must equal want. */
#define TU_RC(expr, want)                                                                \
    do {                                                                                 \
        int tu_rc_ = (expr);                                                             \
        int tu_want_ = (want);                                                           \
        if (tu_rc_ != tu_want_)                                                          \
            cr_assert_fail("%s:%d: %s returned %d (%s), expected %d (%s)", __FILE__, __LINE__, \
                     #expr, tu_rc_, ffdb_strerror(tu_rc_), tu_want_,                     \
                     ffdb_strerror(tu_want_));                                           \
    } while (0)

#endif /* FFDB_TESTS_TESTUTIL_H */
