/*
 * test_fuzz_util.h — what the fuzz replay tests share (test_fuzz_regress.c,
 * test_fuzz_resp.c, test_fuzz_rparse.c): run a harness's one-input function
 * on every file of a corpus directory inside the test suite. A harness that
 * finds a divergence aborts, which Criterion reports as a crash of the test.
 * Include it after the harness (with FUZZ_NO_MAIN) and tests/testutil.h.
 */
#ifndef FFDB_TESTS_FUZZ_UTIL_H
#define FFDB_TESTS_FUZZ_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/testutil.h"

/* Run fn on every file of fuzz/<sub> (fuzz/ is found from the working
 * directory, the repository root under make test, or FFDB_FUZZ_DIR), in
 * name order; returns how many files there were. */
static unsigned tu_fuzz_replay(const char *sub, int (*fn)(const uint8_t *, size_t))
{
    const char *root = getenv("FFDB_FUZZ_DIR") ? getenv("FFDB_FUZZ_DIR") : "fuzz";
    char dir[1024], path[2048];
    struct dirent **names;
    unsigned count = 0;
    int n;

    snprintf(dir, sizeof(dir), "%s/%s", root, sub);
    n = scandir(dir, &names, NULL, alphasort);
    cr_assert(n >= 0, "cannot read %s (run from the repository root or set FFDB_FUZZ_DIR)", dir);
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            size_t len;
            unsigned char *buf;
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
            buf = tu_read_file(path, &len);
            cr_assert(buf || len == 0, "cannot read %s", path);
            cr_log_info("replaying %s", path);
            fn(buf ? buf : (const unsigned char *)"", len);
            free(buf);
            count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

#endif /* FFDB_TESTS_FUZZ_UTIL_H */
