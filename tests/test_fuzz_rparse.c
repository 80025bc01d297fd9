/*
 * test_fuzz_rparse.c — replays the RESP reply parser harness's corpus
 * (fuzz/corpus/rparse) and regressions (fuzz/regress/rparse) inside the test
 * suite, as test_fuzz_resp.c does for the request parser.
 */
#include "tests/test_fuzz_util.h"
#include "tests/testutil.h"

#define FUZZ_NO_MAIN
#include "fuzz/rparse.c"

TestSuite(fuzz_rparse, .timeout = 300);

Test(fuzz_rparse, corpus)
{
    cr_assert(tu_fuzz_replay("corpus/rparse", rparse_one) > 0, "the rparse seed corpus is empty");
}

Test(fuzz_rparse, regressions)
{
    tu_fuzz_replay("regress/rparse", rparse_one);
}
