/*
 * test_fuzz_rparse.c — replays the RESP reply parser harness's corpus
 * (fuzz/corpus/rparse) and regressions (fuzz/regress/rparse) inside the test
 * suite, as test_fuzz_resp.c does for the request parser.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/testutil.h"

#define FUZZ_NO_MAIN
#include "fuzz/rparse.c"

TestSuite(fuzz_rparse, .timeout = 300);

static unsigned replay(const char *sub)
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
            rparse_one(buf ? buf : (const unsigned char *)"", len);
            free(buf);
            count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

Test(fuzz_rparse, corpus)
{
    cr_assert(replay("corpus/rparse") > 0, "the rparse seed corpus is empty");
}

Test(fuzz_rparse, regressions)
{
    replay("regress/rparse");
}
