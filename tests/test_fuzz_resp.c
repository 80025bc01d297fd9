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
#include "tests/test_fuzz_util.h"
#include "tests/testutil.h"

#define FUZZ_NO_MAIN
#include "fuzz/resp.c"

TestSuite(fuzz_resp, .timeout = 300);

/* Run every file of fuzz/<sub> through the harness; how many there were. */
Test(fuzz_resp, corpus)
{
    cr_assert(tu_fuzz_replay("corpus/resp", resp_one) > 0, "the resp seed corpus is empty");
}

Test(fuzz_resp, regressions)
{
    tu_fuzz_replay("regress/resp", resp_one);
}
