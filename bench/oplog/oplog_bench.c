/*
 * oplog_bench.c — throughput of modules/oplog (issue 13 step 4, in process):
 * entries/s appended (signed, stored; --per-txn entries per engine txn),
 * joined into a fresh log (re-hash, decode, signature check, store), fetched
 * back from a head through an in-process transport (--batch CIDs per ask),
 * and verified. No network: the convergence time of ffdb-server --crdt
 * after a partition waits for the CRDT mode (see modules/oplog/README.md).
 *
 *   build/bench/oplog_bench [--entries N] [--per-txn K] [--batch B] [--dir D]
 * Prints one line per phase: name, entries, seconds, entries/s.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/benchutil.h"
#include "modules/oplog/oplog.h"

static void die(const char *what, int rc)
{
    fprintf(stderr, "oplog_bench: %s: %s\n", what, oplog_strerror(rc));
    exit(1);
}

static ffdb *open_db(const char *dir, const char *name)
{
    char path[4096];
    ffdb *db;
    ffdb_options o = {.flags = FFDB_NOSYNC};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    CK(ffdb_open(path, &o, &db));
    return db;
}

static void report(const char *phase, unsigned long n, double secs)
{
    printf("%-8s %8lu entries %8.3f s %10.0f entries/s\n", phase, n, secs, (double)n / secs);
}

struct src {
    ffdb *db;
};

static int serve(void *arg, const ipld_cid *want, size_t n, oplog_got_fn got, void *got_arg)
{
    struct src *s = arg;
    ffdb_txn *t;
    int rc = ffdb_begin_read(s->db, &t);
    for (size_t i = 0; !rc && i < n; i++) {
        uint8_t *buf;
        size_t len;
        if (oplog_get(t, &want[i], &buf, &len) == 0) {
            rc = got(got_arg, buf, len);
            free(buf);
        }
    }
    ffdb_abort(t);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned long entries = 20000, per_txn = 100, batch = 64;
    const char *dir = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--entries"))
            entries = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--per-txn"))
            per_txn = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--batch"))
            batch = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
    }
    if (sodium_init() < 0 || !per_txn || !batch)
        return 2;
    ident signer;
    uint8_t seed[IDENT_SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    CK(ident_from_seed(&signer, seed));
    oplog *log;
    CK(oplog_new(&log));
    ffdb *a = open_db(dir, "oplog_bench_a.ffdb"), *b = open_db(dir, "oplog_bench_b.ffdb"),
         *c = open_db(dir, "oplog_bench_c.ffdb");
    ffdb_txn *t, *ts;
    char op[64];
    double t0 = now_s();
    for (unsigned long i = 0; i < entries;) {
        CK(ffdb_begin_write(a, &t));
        for (unsigned long k = 0; k < per_txn && i < entries; k++, i++) {
            int n = snprintf(op, sizeof op, "SET key:%lu value:%lu", i % 1000, i);
            CK(oplog_append(log, t, &signer, (const uint8_t *)op, (size_t)n, NULL));
        }
        CK(ffdb_commit(t));
    }
    report("append", entries, now_s() - t0);

    uint64_t added;
    t0 = now_s();
    CK(ffdb_begin_read(a, &ts));
    CK(ffdb_begin_write(b, &t));
    CK(oplog_join(log, t, ts, &added));
    CK(ffdb_commit(t));
    ffdb_abort(ts);
    report("join", (unsigned long)added, now_s() - t0);

    ipld_cid head;
    size_t count;
    CK(ffdb_begin_read(a, &ts));
    CK(oplog_heads(ts, &head, 1, &count));
    ffdb_abort(ts);
    struct src s = {a};
    t0 = now_s();
    CK(ffdb_begin_write(c, &t));
    CK(oplog_fetch(log, t, &head, batch, serve, &s, &added));
    CK(ffdb_commit(t));
    report("fetch", (unsigned long)added, now_s() - t0);

    uint64_t problems;
    t0 = now_s();
    CK(ffdb_begin_read(c, &ts));
    CK(oplog_verify(log, ts, &problems, NULL, NULL));
    ffdb_abort(ts);
    report("verify", entries, now_s() - t0);
    if (problems)
        fprintf(stderr, "oplog_bench: verify found %llu problems\n", (unsigned long long)problems);
    oplog_free(log);
    ffdb_close(a);
    ffdb_close(b);
    ffdb_close(c);
    return problems != 0;
}
