/*
 * benchutil.h — what the single-file C benchmarks (bench/blocks,
 * bench/oplog) share: a monotonic clock in seconds and CK(x), which stops
 * the program with x's text and its error code. The including file defines
 * die(what, rc): only it knows which strerror names its codes.
 */
#ifndef FFDB_BENCH_BENCHUTIL_H
#define FFDB_BENCH_BENCHUTIL_H

#include <time.h>

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints "<program>: what: <the code's text>" and exits 1. */
static void die(const char *what, int rc);

#define CK(x)                                                                                      \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            die(#x, rc_);                                                                          \
    } while (0)

#endif /* FFDB_BENCH_BENCHUTIL_H */
