/*
 * workloads.c — the benchmark's workloads, written once against struct
 * engine so that every engine gets the same keys, in the same order, with
 * the same value bytes, batch sizes and warm-up.
 *
 * Keys are 16 decimal digits (their byte order is their numeric order);
 * small values are 100 pseudo-random (incompressible) bytes fixed per key.
 * "Random" orders are a keyed permutation of [0, n) computed on the fly
 * (no arrays, so they cost no memory in the RSS figures) with fixed seeds,
 * identical for every engine. Reads check what they get: a wrong or
 * missing value stops the run.
 *
 * Called by main.c inside a forked child per engine and workload; a
 * workload never prints and never looks at which engine it drives.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "bench/workloads.h"

#define VALUE_TABLE (64u * 1024u)
#define READ_SNAPSHOT 1000u    /* reads per read snapshot in read loops */
#define SEEK_SCAN 100u         /* entries scanned after each seek */
#define LARGE_TXN_BYTES (1u << 20) /* large-value writes commit about every MiB */
#define CONC_WRITE_BATCH 1000u
#define CONC_READ_SNAPSHOT 100u
#define POOL_ENTRIES_PER_FRAME 20u /* ~90% of a frame at the bulk loader's default fill */
#define POOL_WARM_GETS 1000000u /* pool rows' untimed random gets, at most */

static uint8_t value_table[VALUE_TABLE + BENCH_VALUE_SIZE];

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void bench_key(uint64_t i, uint8_t key[BENCH_KEY_SIZE])
{
    for (int k = BENCH_KEY_SIZE - 1; k >= 0; k--) {
        key[k] = (uint8_t)('0' + i % 10);
        i /= 10;
    }
}

const uint8_t *bench_value(uint64_t i)
{
    if (!value_table[0] && !value_table[1]) {
        for (size_t k = 0; k < sizeof(value_table); k += 8) {
            uint64_t x = mix(k);
            memcpy(value_table + k, &x, sizeof(value_table) - k < 8 ? sizeof(value_table) - k : 8);
        }
        value_table[0] |= 1;
    }
    return value_table + (mix(i) % VALUE_TABLE);
}

void bench_value_fill(uint64_t i, uint8_t *buf, size_t size)
{
    uint64_t x = mix(i);
    for (size_t k = 0; k < size; k += 8) {
        x = mix(x);
        memcpy(buf + k, &x, size - k < 8 ? size - k : 8);
    }
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_die(const char *engine, const char *what, const char *detail)
{
    fprintf(stderr, "bench: %s: %s: %s\n", engine, what, detail ? detail : "");
    exit(2);
}

uint64_t bench_perm(uint64_t j, uint64_t n, uint64_t seed)
{
    unsigned bits = 2, half;
    uint64_t mask, x = j;
    while ((1ull << bits) < n)
        bits++;
    bits += bits & 1;
    half = bits / 2;
    mask = (1ull << half) - 1;
    /* A 4-round Feistel network is a bijection on [0, 2^bits); walking the
     * cycle until the value lands below n makes it one on [0, n). */
    do {
        uint64_t l = x >> half, r = x & mask;
        for (uint64_t round = 0; round < 4; round++) {
            uint64_t t = l ^ (mix(r ^ (seed << 8) ^ round) & mask);
            l = r;
            r = t;
        }
        x = (l << half) | r;
    } while (x >= n);
    return x;
}

static uint64_t du_total;
static int du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path, (void)ftw;
    if (flag == FTW_F)
        du_total += (uint64_t)st->st_size;
    return 0;
}

/* Bytes of the store: a file (plus SQLite's -wal), or a directory's files. */
uint64_t bench_disk_bytes(const char *path)
{
    char wal[4096];
    struct stat st;
    du_total = 0;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        nftw(path, du_one, 16, FTW_PHYS);
        return du_total;
    }
    du_total = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    snprintf(wal, sizeof(wal), "%s-wal", path);
    if (stat(wal, &st) == 0)
        du_total += (uint64_t)st.st_size;
    return du_total;
}

/* ---- helpers ------------------------------------------------------------ */

static void *open_store(struct wl_ctx *c, const struct bench_cfg *cfg)
{
    void *db;
    if (c->e->open(cfg, &db) != 0)
        bench_die(c->e->name, "open", cfg->path);
    return db;
}

static void check_value(struct wl_ctx *c, uint64_t i, const struct bval *v)
{
    if (v->size != BENCH_VALUE_SIZE || memcmp(v->data, bench_value(i), BENCH_VALUE_SIZE) != 0)
        bench_die(c->e->name, "read", "wrong value");
}

/* Put keys order(0..count) in write batches of `batch`. */
static void put_batches(struct wl_ctx *c, void *db, uint64_t count, uint64_t batch, uint64_t n,
                        uint64_t seed)
{
    const struct engine *e = c->e;
    uint8_t key[BENCH_KEY_SIZE];
    for (uint64_t j = 0; j < count; j++) {
        uint64_t i = seed ? bench_perm(j, n, seed) : j;
        if (j % batch == 0)
            e->wbegin(db, 0);
        bench_key(i, key);
        e->put(db, key, sizeof(key), bench_value(i), BENCH_VALUE_SIZE);
        if (j % batch == batch - 1 || j == count - 1)
            e->wcommit(db);
    }
}

static void del_batches(struct wl_ctx *c, void *db, uint64_t count, uint64_t batch, uint64_t n,
                        uint64_t seed)
{
    const struct engine *e = c->e;
    uint8_t key[BENCH_KEY_SIZE];
    for (uint64_t j = 0; j < count; j++) {
        if (j % batch == 0)
            e->wbegin(db, 0);
        bench_key(bench_perm(j, n, seed), key);
        e->del(db, key, sizeof(key));
        if (j % batch == batch - 1 || j == count - 1)
            e->wcommit(db);
    }
}

static void random_gets(struct wl_ctx *c, void *rd, uint64_t count, uint64_t n, uint64_t seed)
{
    const struct engine *e = c->e;
    uint8_t key[BENCH_KEY_SIZE];
    struct bval v;
    for (uint64_t j = 0; j < count; j++) {
        uint64_t i = mix(seed ^ (j * 0x2545F4914F6CDD1Dull)) % n;
        if (j % READ_SNAPSHOT == 0)
            e->rbegin(rd);
        bench_key(i, key);
        if (e->get(rd, key, sizeof(key), &v) != 0)
            bench_die(e->name, "get", "missing key");
        check_value(c, i, &v);
        if (j % READ_SNAPSHOT == READ_SNAPSHOT - 1 || j == count - 1)
            e->rend(rd);
    }
}

static void timed(struct wl_ctx *c, double t0, uint64_t ops)
{
    c->r->seconds = bench_now() - t0;
    c->r->ops = ops;
}

/* ---- the db_bench set ---------------------------------------------------- */

static void w_fillseq(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg);
    uint8_t key[BENCH_KEY_SIZE];
    double t0 = bench_now();
    (void)arg;
    c->e->wbegin(db, 1);
    for (uint64_t i = 0; i < c->p->n; i++) {
        bench_key(i, key);
        c->e->put(db, key, sizeof(key), bench_value(i), BENCH_VALUE_SIZE);
    }
    c->e->wcommit(db);
    timed(c, t0, c->p->n);
    c->e->close(db);
}

/* fillrandom (arg 1) and overwrite (arg 2) differ only in their order. */
static void w_fill(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg);
    double t0 = bench_now();
    put_batches(c, db, c->p->n, c->p->batch, c->p->n, arg);
    timed(c, t0, c->p->n);
    c->e->close(db);
}

static void w_fillsync(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg);
    double t0 = bench_now();
    (void)arg;
    put_batches(c, db, c->p->sync_commits, 1, c->p->n, 4);
    timed(c, t0, c->p->sync_commits);
    c->e->close(db);
}

/* The disk's own rate: 4 KiB pwrite + fdatasync in place, nothing else. */
static void w_rawsync(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg)
{
    static uint8_t page[4096];
    double t0, limit = 3.0;
    uint64_t count = 0;
    (void)arg;
    int fd = open(cfg->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || pwrite(fd, page, sizeof(page), 0) != (ssize_t)sizeof(page) || fsync(fd) != 0)
        bench_die("disk", "rawsync", strerror(errno));
    t0 = bench_now();
    while (count < c->p->sync_commits && bench_now() - t0 < limit) {
        page[count % sizeof(page)]++;
        if (pwrite(fd, page, sizeof(page), 0) != (ssize_t)sizeof(page) || fdatasync(fd) != 0)
            bench_die("disk", "rawsync", strerror(errno));
        count++;
    }
    timed(c, t0, count);
    c->r->raw_rate = (double)count / c->r->seconds;
    close(fd);
    unlink(cfg->path);
}

static uint64_t scan(struct wl_ctx *c, void *rd, enum it_pos pos, uint64_t limit);

/* The warm-up every read row starts with: one untimed full scan, so that
 * each engine's cache (ffdb's pool, the OS page cache, block caches) holds
 * as much of the data set as it can, whatever the previous child did. */
static void warm_scan(struct wl_ctx *c, void *rd)
{
    scan(c, rd, IT_FIRST, 0);
}

static void w_readrandom(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg), *rd;
    double t0;
    (void)arg;
    c->e->ropen(db, &rd);
    warm_scan(c, rd);
    random_gets(c, rd, c->p->n / 10, c->p->n, 77); /* warm-up */
    t0 = bench_now();
    random_gets(c, rd, c->p->n, c->p->n, 5);
    timed(c, t0, c->p->n);
    c->e->rclose(rd);
    c->e->close(db);
}

/* A scan of `limit` entries (0 = all) from the first or last key. */
static uint64_t scan(struct wl_ctx *c, void *rd, enum it_pos pos, uint64_t limit)
{
    const struct engine *e = c->e;
    struct bval k, v;
    uint64_t count = 0;
    uint8_t prev[BENCH_KEY_SIZE];
    e->rbegin(rd);
    for (int rc = e->iter(rd, pos, NULL, 0, &k, &v); rc == 0; rc = e->step(rd, &k, &v)) {
        if (k.size != BENCH_KEY_SIZE || v.size != BENCH_VALUE_SIZE)
            bench_die(e->name, "scan", "wrong entry size");
        if (count && (memcmp(prev, k.data, BENCH_KEY_SIZE) < 0) != (pos == IT_FIRST))
            bench_die(e->name, "scan", "keys out of order");
        memcpy(prev, k.data, BENCH_KEY_SIZE);
        if (++count == limit)
            break;
    }
    e->rend(rd);
    return count;
}

/* readseq (arg IT_FIRST) and readreverse (arg IT_LAST). */
static void w_readscan(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg), *rd;
    double t0;
    uint64_t got;
    c->e->ropen(db, &rd);
    warm_scan(c, rd);
    scan(c, rd, (enum it_pos)arg, c->p->n / 10); /* warm-up */
    t0 = bench_now();
    got = scan(c, rd, (enum it_pos)arg, 0);
    timed(c, t0, got);
    if (got != c->p->n)
        bench_die(c->e->name, "scan", "wrong entry count");
    c->e->rclose(rd);
    c->e->close(db);
}

static void seeks(struct wl_ctx *c, void *rd, uint64_t count, uint64_t seed)
{
    const struct engine *e = c->e;
    uint8_t key[BENCH_KEY_SIZE];
    struct bval k, v;
    for (uint64_t j = 0; j < count; j++) {
        uint64_t i = mix(seed ^ (j * 0x2545F4914F6CDD1Dull)) % c->p->n, seen = 0;
        if (j % 100 == 0)
            e->rbegin(rd);
        bench_key(i, key);
        for (int rc = e->iter(rd, IT_SEEK, key, sizeof(key), &k, &v); rc == 0;
             rc = e->step(rd, &k, &v)) {
            if (seen == 0 && memcmp(k.data, key, sizeof(key)) != 0)
                bench_die(e->name, "seek", "landed on the wrong key");
            if (++seen == SEEK_SCAN)
                break;
        }
        if (seen != SEEK_SCAN && i + seen != c->p->n)
            bench_die(e->name, "seek", "short scan");
        if (j % 100 == 99 || j == count - 1)
            e->rend(rd);
    }
}

static void w_seekrandom(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg), *rd;
    uint64_t count = c->p->n / 10;
    double t0;
    (void)arg;
    c->e->ropen(db, &rd);
    warm_scan(c, rd);
    seeks(c, rd, count / 10, 78); /* warm-up */
    t0 = bench_now();
    seeks(c, rd, count, 6);
    timed(c, t0, count);
    c->e->rclose(rd);
    c->e->close(db);
}

static void w_deleterandom(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg);
    double t0 = bench_now();
    (void)arg;
    del_batches(c, db, c->p->n, c->p->batch, c->p->n, 3);
    timed(c, t0, c->p->n);
    c->e->close(db);
}

/* ---- large values -------------------------------------------------------- */

static uint64_t large_count(struct wl_ctx *c, uint64_t size)
{
    return size >= (1u << 20) ? c->p->large_big : c->p->large_small;
}

static void w_large_write(struct wl_ctx *c, uint64_t size, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg);
    uint64_t count = large_count(c, size), per_txn = size >= LARGE_TXN_BYTES ? 1 : LARGE_TXN_BYTES / size;
    uint8_t key[BENCH_KEY_SIZE], *buf = malloc(size);
    double t0, total = 0;
    for (uint64_t i = 0; i < count; i++) {
        bench_value_fill(i, buf, size); /* not timed */
        t0 = bench_now();
        if (i % per_txn == 0)
            c->e->wbegin(db, 0);
        bench_key(i, key);
        c->e->put(db, key, sizeof(key), buf, size);
        if (i % per_txn == per_txn - 1 || i == count - 1)
            c->e->wcommit(db);
        total += bench_now() - t0;
    }
    c->r->ops = count;
    c->r->seconds = total;
    c->r->bytes = count * size;
    free(buf);
    c->e->close(db);
}

/* One pass of gets over every large value, in a fixed random order. Each
 * value is hashed whole (XXH3, several GB/s) and compared with the hash the
 * caller computed untimed: a user reads the bytes they fetch, and an engine
 * that maps the file must not win by touching one page of ten megabytes. */
static void large_pass(struct wl_ctx *c, void *rd, uint64_t count, uint64_t size,
                       const uint64_t *want)
{
    uint8_t key[BENCH_KEY_SIZE];
    struct bval v;
    c->e->rbegin(rd);
    for (uint64_t j = 0; j < count; j++) {
        uint64_t i = bench_perm(j, count, 9);
        bench_key(i, key);
        if (c->e->get(rd, key, sizeof(key), &v) != 0 || v.size != size)
            bench_die(c->e->name, "large get", "missing or wrong size");
        if (XXH3_64bits(v.data, v.size) != want[i])
            bench_die(c->e->name, "large get", "wrong value");
    }
    c->e->rend(rd);
}

static void w_large_read(struct wl_ctx *c, uint64_t size, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg), *rd;
    uint64_t count = large_count(c, size), *want = malloc(count * sizeof(*want));
    uint8_t *buf = malloc(size);
    double t0;

    if (!want || !buf)
        bench_die(c->e->name, "large get", "out of memory");
    for (uint64_t i = 0; i < count; i++) { /* not timed */
        bench_value_fill(i, buf, size);
        want[i] = XXH3_64bits(buf, size);
    }
    free(buf);
    c->e->ropen(db, &rd);
    large_pass(c, rd, count, size, want); /* warm-up: whatever each cache can hold */
    t0 = bench_now();
    large_pass(c, rd, count, size, want);
    timed(c, t0, count);
    c->e->rclose(rd);
    c->r->bytes = count * size;
    free(want);
    c->e->close(db);
}

/* ---- concurrency ----------------------------------------------------------- */

struct conc_reader {
    struct wl_ctx *c;
    void *db;
    unsigned id;
    atomic_int *stop;
    uint64_t gets;
    pthread_t thread;
};

static void *conc_read(void *arg)
{
    struct conc_reader *cr = arg;
    const struct engine *e = cr->c->e;
    uint8_t key[BENCH_KEY_SIZE];
    struct bval v;
    void *rd;
    uint64_t j = 0, n = cr->c->p->n;
    e->ropen(cr->db, &rd);
    while (!atomic_load_explicit(cr->stop, memory_order_relaxed)) {
        e->rbegin(rd);
        for (unsigned k = 0; k < CONC_READ_SNAPSHOT; k++, j++) {
            uint64_t i = mix((cr->id + 1000) ^ (j * 0x2545F4914F6CDD1Dull)) % n;
            bench_key(i, key);
            if (e->get(rd, key, sizeof(key), &v) != 0)
                bench_die(e->name, "concurrent get", "missing key");
            check_value(cr->c, i, &v);
        }
        e->rend(rd);
        cr->gets += CONC_READ_SNAPSHOT;
    }
    e->rclose(rd);
    return NULL;
}

/* One writer (this thread) commits batches of overwrites while arg readers
 * read at random; both sides are reported. */
static void w_concurrent(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg);
    struct conc_reader readers[8];
    atomic_int stop = 0;
    uint8_t key[BENCH_KEY_SIZE];
    uint64_t puts = 0, n = c->p->n;
    double t0;
    void *rd;
    c->e->ropen(db, &rd);
    warm_scan(c, rd);
    c->e->rclose(rd);
    for (unsigned t = 0; t < arg; t++) {
        readers[t] = (struct conc_reader){.c = c, .db = db, .id = t, .stop = &stop};
        pthread_create(&readers[t].thread, NULL, conc_read, &readers[t]);
    }
    t0 = bench_now();
    while (bench_now() - t0 < c->p->conc_seconds) {
        c->e->wbegin(db, 0);
        for (unsigned k = 0; k < CONC_WRITE_BATCH; k++, puts++) {
            uint64_t i = mix(999 ^ (puts * 0x2545F4914F6CDD1Dull)) % n;
            bench_key(i, key);
            c->e->put(db, key, sizeof(key), bench_value(i), BENCH_VALUE_SIZE);
        }
        c->e->wcommit(db);
    }
    atomic_store(&stop, 1);
    timed(c, t0, puts);
    for (unsigned t = 0; t < arg; t++) {
        pthread_join(readers[t].thread, NULL);
        c->r->ops2 += readers[t].gets;
    }
    c->r->seconds2 = bench_now() - t0;
    c->e->close(db);
}

/* ---- pool size ----------------------------------------------------------- */

/* readrandom over a data set arg times the default pool (1024 frames),
 * loaded in order in one batch (bulk loader / MDB_APPEND). */
static void w_pool(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg), *rd;
    uint64_t n = arg * 1024 * POOL_ENTRIES_PER_FRAME, h0 = 0, m0 = 0, h1 = 0, m1 = 0;
    uint8_t key[BENCH_KEY_SIZE];
    double t0;
    c->e->wbegin(db, 1);
    for (uint64_t i = 0; i < n; i++) {
        bench_key(i, key);
        c->e->put(db, key, sizeof(key), bench_value(i), BENCH_VALUE_SIZE);
    }
    c->e->wcommit(db);
    c->e->ropen(db, &rd);
    warm_scan(c, rd);
    random_gets(c, rd, n < POOL_WARM_GETS ? n : POOL_WARM_GETS, n, 79); /* warm-up */
    if (c->e->pool_counters)
        c->e->pool_counters(db, &h0, &m0);
    t0 = bench_now();
    random_gets(c, rd, c->p->pool_reads, n, 7);
    timed(c, t0, c->p->pool_reads);
    if (c->e->pool_counters) {
        c->e->pool_counters(db, &h1, &m1);
        c->r->hits = h1 - h0;
        c->r->misses = m1 - m0;
    }
    if (c->e->tree_pages)
        c->e->tree_pages(db, &c->r->pages);
    c->e->rclose(rd);
    c->e->close(db);
}

/* A full scan of the store a pool-Nx row left (arg = N): the first scan
 * after open ("cold": ffdb reads its file, the peers find it in the OS page
 * cache the load left there) and the next one ("warm"), both timed. */
static void w_poolscan(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg), *rd;
    uint64_t n = arg * 1024 * POOL_ENTRIES_PER_FRAME, got;
    double t0;
    c->e->ropen(db, &rd);
    t0 = bench_now();
    got = scan(c, rd, IT_FIRST, 0);
    c->r->seconds2 = bench_now() - t0;
    c->r->ops2 = got;
    t0 = bench_now();
    if (got != n || scan(c, rd, IT_FIRST, 0) != n)
        bench_die(c->e->name, "scan", "wrong entry count");
    timed(c, t0, n);
    c->e->rclose(rd);
    c->e->close(db);
}

/* ---- space ------------------------------------------------------------------ */

static void w_space(struct wl_ctx *c, uint64_t arg, const struct bench_cfg *cfg)
{
    void *db = open_store(c, cfg), *rd;
    uint64_t m = c->p->space_n, half = m / 2;
    uint8_t key[BENCH_KEY_SIZE];
    struct bval v;
    double t0 = bench_now();
    (void)arg;
    put_batches(c, db, m, c->p->batch, m, 11);
    c->r->sizes[0] = bench_disk_bytes(c->path);
    /* The long-lived reader: a snapshot held open through all five rounds. */
    c->e->ropen(db, &rd);
    c->e->rbegin(rd);
    bench_key(0, key);
    if (c->e->get(rd, key, sizeof(key), &v) != 0)
        bench_die(c->e->name, "space", "missing key");
    for (uint64_t round = 0; round < 6; round++) {
        if (round == 5) {
            /* The reader ends; one more round may reuse what it held. */
            c->r->sizes[1] = bench_disk_bytes(c->path);
            c->e->rend(rd);
            c->e->rclose(rd);
        }
        del_batches(c, db, half, c->p->batch, m, 20 + round);
        for (uint64_t j = 0; j < half; j += c->p->batch) {
            uint64_t end = j + c->p->batch < half ? j + c->p->batch : half;
            c->e->wbegin(db, 0);
            for (uint64_t q = j; q < end; q++) {
                uint64_t i = bench_perm(q, m, 20 + round);
                bench_key(i, key);
                c->e->put(db, key, sizeof(key), bench_value(i), BENCH_VALUE_SIZE);
            }
            c->e->wcommit(db);
        }
    }
    c->e->close(db);
    c->r->sizes[2] = bench_disk_bytes(c->path);
    timed(c, t0, m + 6 * 2 * half);
}

/* ---- the table ----------------------------------------------------------- */

#define W_FILL "none (empty store)"
#define W_LARGE "one untimed pass over every value; each value hashed whole"
#define W_POOL "one full scan, then one read per entry (at most 1M), untimed"
#define W_READ "one full scan, then 10% of the timed ops in the same pattern, untimed"
const struct workload workloads[] = {
    {"rawsync", "rawsync", DUR_SYNC, 1, 0, WK_RAWSYNC, w_rawsync, "none"},
    {"fillseq", "seq", DUR_SYNC, 1, 0, WK_OPS, w_fillseq, W_FILL},
    {"fillrandom", "rnd", DUR_SYNC, 1, 1, WK_OPS, w_fill, W_FILL},
    {"fillrandom", "rnd-ns", DUR_NOSYNC, 1, 1, WK_OPS, w_fill, W_FILL},
    {"overwrite", "rnd", DUR_SYNC, 0, 2, WK_OPS, w_fill, "none (full store)"},
    {"overwrite", "rnd-ns", DUR_NOSYNC, 0, 2, WK_OPS, w_fill, "none (full store)"},
    {"fillsync", "sync", DUR_SYNC, 1, 0, WK_OPS, w_fillsync, W_FILL},
    {"rawsync", "rawsync", DUR_SYNC, 1, 0, WK_RAWSYNC, w_rawsync, "none"},
    {"readrandom", "rnd", DUR_NONE, 0, 0, WK_OPS, w_readrandom, W_READ},
    {"readseq", "rnd", DUR_NONE, 0, IT_FIRST, WK_OPS, w_readscan, W_READ},
    {"readreverse", "rnd", DUR_NONE, 0, IT_LAST, WK_OPS, w_readscan, W_READ},
    {"seekrandom", "rnd", DUR_NONE, 0, 0, WK_OPS, w_seekrandom, W_READ},
    {"conc-1r", "rnd", DUR_SYNC, 0, 1, WK_CONC, w_concurrent, "one full scan"},
    {"conc-2r", "rnd", DUR_SYNC, 0, 2, WK_CONC, w_concurrent, "one full scan"},
    {"conc-4r", "rnd", DUR_SYNC, 0, 4, WK_CONC, w_concurrent, "one full scan"},
    {"deleterandom", "rnd", DUR_SYNC, 0, 0, WK_OPS, w_deleterandom, "none (full store)"},
    {"large-100K-write", "large-100k", DUR_SYNC, 1, 100u << 10, WK_LARGE, w_large_write, W_FILL},
    {"large-100K-read", "large-100k", DUR_NONE, 0, 100u << 10, WK_LARGE, w_large_read, W_LARGE},
    {"large-10M-write", "large-10m", DUR_SYNC, 1, 10u << 20, WK_LARGE, w_large_write, W_FILL},
    {"large-10M-read", "large-10m", DUR_NONE, 0, 10u << 20, WK_LARGE, w_large_read, W_LARGE},
    {"pool-1x", "pool1", DUR_NOSYNC, 1, 1, WK_POOL, w_pool, W_POOL},
    {"pool-4x", "pool4", DUR_NOSYNC, 1, 4, WK_POOL, w_pool, W_POOL},
    {"pool-16x", "pool16", DUR_NOSYNC, 1, 16, WK_POOL, w_pool, W_POOL},
    {"pool-512x", "pool512", DUR_NOSYNC, 1, 512, WK_POOL, w_pool, W_POOL},
    {"scan-1x", "pool1", DUR_NONE, 0, 1, WK_SCAN, w_poolscan, "none (the warm row follows the cold one)"},
    {"scan-4x", "pool4", DUR_NONE, 0, 4, WK_SCAN, w_poolscan, "none (the warm row follows the cold one)"},
    {"scan-16x", "pool16", DUR_NONE, 0, 16, WK_SCAN, w_poolscan, "none (the warm row follows the cold one)"},
    {"scan-512x", "pool512", DUR_NONE, 0, 512, WK_SCAN, w_poolscan, "none (the warm row follows the cold one)"},
    {"space", "space", DUR_NOSYNC, 1, 0, WK_SPACE, w_space, "none"},
};
const unsigned workload_count = sizeof(workloads) / sizeof(workloads[0]);
