/*
 * test_fuzz_resp.c — replays the RESP parser harness's corpus inside the
 * test suite.
 *
 * Every file in fuzz/corpus/resp and fuzz/regress/resp runs once through
 * fuzz/resp.c in this process; a divergence aborts, which Criterion reports
 * as a crash of the test. fuzz/regress/resp holds every input that ever
 * crashed or hung the harness, so a fixed parser bug stays fixed under make
 * test and make asan. (The engine harnesses are replayed by
 * test_fuzz_regress.c the same way.) The directories are found from the
 * working directory (the repository root under make test) or FFDB_FUZZ_DIR.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/testutil.h"

#define FUZZ_NO_MAIN
#include "fuzz/resp.c"

TestSuite(fuzz_resp, .timeout = 300);

/* Run every file of fuzz/<sub> through the harness; how many there were. */
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
            resp_one(buf ? buf : (const unsigned char *)"", len);
            free(buf);
            count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

Test(fuzz_resp, corpus)
{
    cr_assert(replay("corpus/resp") > 0, "the resp seed corpus is empty");
}

Test(fuzz_resp, regressions)
{
    replay("regress/resp");
}
