/*
 * test_fuzz_regress.c — replays the fuzz corpora inside the test suite.
 *
 * Every file in fuzz/regress/ops and fuzz/corpus/ops runs once through the
 * operations harness (fuzz/ops.c), every file in fuzz/regress/file and
 * fuzz/corpus/file through the file harness (fuzz/file.c), in this process:
 * a harness that finds a divergence aborts, which Criterion reports as a
 * crash of the test. fuzz/regress/ holds every input that ever crashed or
 * hung a harness, so a fixed bug stays fixed under make test and make asan.
 * The directories are found from the working directory (the repository
 * root under make test) or FFDB_FUZZ_DIR.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/testutil.h"

#define FUZZ_NO_MAIN
#define FUZZ_ONE ops_one
#include "fuzz/ops.c"
#undef FUZZ_ONE
#define FUZZ_ONE file_one
#include "fuzz/file.c"
#undef FUZZ_ONE

TestSuite(fuzz_regress, .timeout = 300);

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    cr_assert(f != NULL, "cannot open %s", path);
    cr_assert(fseek(f, 0, SEEK_END) == 0);
    n = ftell(f);
    cr_assert(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    cr_assert(buf != NULL);
    cr_assert(fread(buf, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Run fn on every file of fuzz/<sub>; returns how many. */
static unsigned replay_dir(const char *sub, int (*fn)(const uint8_t *, size_t))
{
    const char *root = getenv("FFDB_FUZZ_DIR") ? getenv("FFDB_FUZZ_DIR") : "fuzz";
    char dir[1024], path[2048];
    struct dirent **names;
    unsigned count = 0;
    snprintf(dir, sizeof dir, "%s/%s", root, sub);
    int n = scandir(dir, &names, NULL, alphasort);
    cr_assert(n >= 0, "cannot read %s (run from the repository root or set FFDB_FUZZ_DIR)",
              dir);
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            size_t len;
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            unsigned char *buf = slurp(path, &len);
            cr_log_info("replaying %s", path);
            fn(buf, len);
            free(buf);
            count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

Test(fuzz_regress, ops_corpus)
{
    cr_assert(replay_dir("corpus/ops", ops_one) > 0, "the ops seed corpus is empty");
}

Test(fuzz_regress, ops_regressions)
{
    replay_dir("regress/ops", ops_one);
}

Test(fuzz_regress, file_corpus)
{
    cr_assert(replay_dir("corpus/file", file_one) > 0, "the file seed corpus is empty");
}

Test(fuzz_regress, file_regressions)
{
    replay_dir("regress/file", file_one);
}
