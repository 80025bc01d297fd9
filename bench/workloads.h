/*
 * workloads.h — the benchmark's workloads (the db_bench set plus large
 * values, concurrency, pool size and space), as a table main.c walks.
 *
 * A workload runs inside one child process for one engine: it opens the
 * engine's store named by `store`, does its untimed setup and warm-up,
 * times the measured part, and fills a wl_result. It never prints.
 */
#ifndef FFDB_BENCH_WORKLOADS_H
#define FFDB_BENCH_WORKLOADS_H

#include <stdint.h>

#include "bench/bench.h"

struct bench_params {
    uint64_t n;              /* entries in the main data set */
    uint64_t batch;          /* puts per write transaction: 1,000 */
    uint64_t sync_commits;   /* fillsync commits: 10,000 */
    uint64_t large_small;    /* count of 100 KiB values */
    uint64_t large_big;      /* count of 10 MiB values */
    uint64_t pool_reads;     /* timed reads per pool-size row */
    double conc_seconds;     /* length of each concurrency row */
    uint64_t space_n;        /* entries in the space workload */
    uint64_t pool_max;       /* largest pool-Nx / scan-Nx factor run: 512 (a 2 GiB file), quick 16 */
};

enum wl_dur { DUR_NONE, DUR_SYNC, DUR_NOSYNC };

struct wl_result {
    uint64_t ops;            /* operations timed */
    double seconds;
    uint64_t ops2;           /* second side (concurrency: reader gets) */
    double seconds2;
    uint64_t bytes;          /* payload bytes moved (large values) */
    uint64_t hits, misses;   /* ffdb pool counters over the timed part */
    uint64_t sizes[3];       /* space: loaded, after rounds with a reader, after it ended */
    uint64_t pages;          /* pool rows: ffdb tree pages of the data set (0 for others) */
    double raw_rate;         /* rawsync: 4 KiB pwrite+fdatasync per second */
    int failed;
};

struct wl_ctx {
    const struct engine *e;
    const struct bench_params *p;
    const char *path;        /* this engine's store */
    struct wl_result *r;
};

struct workload {
    const char *name;
    const char *store;       /* data set the workload opens (per engine) */
    enum wl_dur dur;         /* how the store is opened: the row's durability */
    int fresh;               /* remove the store first */
    uint64_t arg;            /* threads, pool factor, value size... */
    int kind;                /* WK_* below: how main reports it */
    void (*run)(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg);
    const char *warmup;      /* stated in the report */
};

enum { WK_OPS, WK_CONC, WK_POOL, WK_SPACE, WK_RAWSYNC, WK_LARGE, WK_SCAN };

extern const struct workload workloads[];
extern const unsigned workload_count;

/* A permutation of [0, n) without memory: index j -> key number. */
uint64_t bench_perm(uint64_t j, uint64_t n, uint64_t seed);
uint64_t bench_disk_bytes(const char *path);

#endif /* FFDB_BENCH_WORKLOADS_H */
