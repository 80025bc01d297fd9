/*
 * test_crash.c — the crash-recovery harness's short pass, so CI guards it.
 *
 * Runs tools/crash (ffdb-crash, found through FFDB_TEST_TOOLS, which `make
 * test` and `make asan` set) with --quick over all five modes (defer: FFDB_DEFERSYNC power losses): process
 * kills on a real file in the test's scratch directory, power losses,
 * I/O errors, and the exhaustive small cases with torn metas. The seed
 * comes from FFDB_TEST_SEED or the clock and is printed; the harness
 * prints the replay command of any failed point. The pass must exit 0
 * and report a non-zero number of crash points with 0 failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/testutil.h"

TestSuite(crash, .init = tu_setup, .fini = tu_teardown, .timeout = 180);

Test(crash, quick_pass_of_every_mode)
{
    const char *tools = getenv("FFDB_TEST_TOOLS");
    uint64_t seed = tu_seed("crash::quick_pass_of_every_mode");
    char cmd[1024], line[512];
    unsigned long long points = 0, failed = ~0ull;
    int modes = 0, status;
    FILE *out;

    cr_assert(tools && *tools, "FFDB_TEST_TOOLS is not set (run through make test)");
    snprintf(cmd, sizeof cmd, "'%s/ffdb-crash' --quick --seed %llu --dir '%s' 2>&1", tools,
             (unsigned long long)seed, tu_dir());
    out = popen(cmd, "r");
    cr_assert(out != NULL, "cannot run %s", cmd);
    while (fgets(line, sizeof line, out)) {
        fputs(line, stderr);
        if (strstr(line, " crash points, ") && strncmp(line, "total:", 6) != 0)
            modes++;
        sscanf(line, "total: %llu crash points, %llu failed", &points, &failed);
    }
    status = pclose(out);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              TU_SEED_FMT "ffdb-crash exited with status %d", TU_SEED_ARG, status);
    cr_assert_eq(modes, 5, TU_SEED_FMT "%d modes reported, expected 5", TU_SEED_ARG, modes);
    cr_assert_eq(failed, 0, TU_SEED_FMT "%llu crash points failed", TU_SEED_ARG, failed);
    cr_assert(points >= 200, TU_SEED_FMT "only %llu crash points were tried", TU_SEED_ARG, points);
}
