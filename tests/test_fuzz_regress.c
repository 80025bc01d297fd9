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
#include "tests/test_fuzz_util.h"
#include "tests/testutil.h"

#define FUZZ_NO_MAIN
#define FUZZ_ONE ops_one
#include "fuzz/ops.c"
#undef FUZZ_ONE
#define FUZZ_ONE file_one
#include "fuzz/file.c"
#undef FUZZ_ONE

TestSuite(fuzz_regress, .timeout = 300);

Test(fuzz_regress, ops_corpus)
{
    cr_assert(tu_fuzz_replay("corpus/ops", ops_one) > 0, "the ops seed corpus is empty");
}

Test(fuzz_regress, ops_regressions)
{
    tu_fuzz_replay("regress/ops", ops_one);
}

Test(fuzz_regress, file_corpus)
{
    cr_assert(tu_fuzz_replay("corpus/file", file_one) > 0, "the file seed corpus is empty");
}

Test(fuzz_regress, file_regressions)
{
    tu_fuzz_replay("regress/file", file_one);
}
