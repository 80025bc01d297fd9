/*
 * defersync_bench.c — one put per write txn on a real file, with the
 * default durable commit, FFDB_NOSYNC and FFDB_DEFERSYNC (an ffdb_sync
 * every --every commits and one at the end, as a RAFT node syncs at its
 * snapshots). Prints commits/s and the ratios in one run.
 *
 *   defersync_bench [--n N] [--every K] [--dir DIR]
 *
 * DS_FLAGS=0x4 (say) adds open flags to the DEFERSYNC run (0x4 NODIRECT).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ffdb.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Commits/s of n one-put txns; sync_every > 0 calls ffdb_sync that often. */
static double run(const char *path, unsigned flags, unsigned n, unsigned sync_every)
{
    ffdb_options opt = {0};
    ffdb *db;
    ffdb_txn *t;
    ffdb_bucket *b;
    char key[32], val[100];
    double t0, t1;
    unlink(path);
    opt.flags = flags;
    if (ffdb_open(path, &opt, &db) || ffdb_begin_write(db, &t) ||
        ffdb_bucket_create(t, "b", 1, &b) || ffdb_commit(t)) {
        fprintf(stderr, "setup failed\n");
        exit(1);
    }
    memset(val, 'v', sizeof val);
    t0 = now_s();
    for (unsigned i = 0; i < n; i++) {
        unsigned k = (unsigned)(((uint64_t)i * 2654435761u) % 1000003u);
        int kl = snprintf(key, sizeof key, "key%010u", k);
        if (ffdb_begin_write(db, &t) || ffdb_bucket_open(t, "b", 1, &b) ||
            ffdb_put(b, key, (size_t)kl, val, sizeof val) || ffdb_commit(t)) {
            fprintf(stderr, "put %u failed\n", i);
            exit(1);
        }
        if (sync_every && (i + 1) % sync_every == 0 && ffdb_sync(db)) {
            fprintf(stderr, "ffdb_sync failed\n");
            exit(1);
        }
    }
    if (ffdb_sync(db)) {
        fprintf(stderr, "ffdb_sync failed\n");
        exit(1);
    }
    t1 = now_s();
    ffdb_close(db);
    unlink(path);
    return n / (t1 - t0);
}

int main(int argc, char **argv)
{
    unsigned n = 20000, every = 1000;
    const char *dir = ".";
    char path[4096];
    double dflt, nosync, defer;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--n"))
            n = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--every"))
            every = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
    }
    snprintf(path, sizeof path, "%s/defersync_bench.ffdb", dir);
    dflt = run(path, 0, n / 10 ? n / 10 : 1, 0); /* durable commits are slow: a tenth */
    nosync = run(path, FFDB_NOSYNC, n, 0);
    defer = run(path, FFDB_DEFERSYNC | (getenv("DS_FLAGS") ? (unsigned)strtoul(getenv("DS_FLAGS"), NULL, 0) : 0u), n, every);
    printf("one put per txn, %u txns (default: %u), ffdb_sync every %u (DEFERSYNC)\n", n,
           n / 10 ? n / 10 : 1, every);
    printf("  default (durable)  %10.0f commits/s\n", dflt);
    printf("  FFDB_NOSYNC        %10.0f commits/s\n", nosync);
    printf("  FFDB_DEFERSYNC     %10.0f commits/s\n", defer);
    printf("  DEFERSYNC / default %.2fx, DEFERSYNC / NOSYNC %.2fx\n", defer / dflt, defer / nosync);
    return 0;
}
