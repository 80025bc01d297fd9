/*
 * bench.h — the small interface every engine driver implements, and the
 * shared pieces of the side-by-side benchmark (keys, values, clock).
 *
 * One driver per engine (engine_ffdb.c, engine_lmdb.c, engine_sqlite.c,
 * engine_rocksdb.c, engine_leveldb.c) fills a struct engine with the
 * operations below; workloads.c drives them and knows nothing of any
 * engine's API; main.c chooses, forks, measures and reports. A driver must
 * never tune itself for a particular workload: it opens its store once with
 * the settings stated in its opening paragraph, and only the durability
 * switch (cfg->durable) and the ffdb pool size vary between rows.
 *
 * The write side is used by one thread at a time. Readers are opened per
 * thread (eng_reader) and may run concurrently with the writer.
 */
#ifndef FFDB_BENCH_H
#define FFDB_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_KEY_SIZE   16u   /* every key: 16 decimal digits, sorted = numeric */
#define BENCH_VALUE_SIZE 100u  /* every small value */

struct bench_cfg {
    const char *path;       /* a file (ffdb, LMDB, SQLite) or directory (RocksDB, LevelDB) */
    int durable;            /* 1: every commit is durable on return; 0: no syncs */
    size_t pool_pages;      /* ffdb buffer pool frames; 0 = ffdb's default (1024) */
    int create;             /* 1: start from an empty store (the path was removed) */
};

struct bval {
    const void *data;
    size_t size;
};

/* How a reader positions an iterator. The direction of later steps is fixed
 * by it: IT_FIRST and IT_SEEK step forward, IT_LAST backward. */
enum it_pos { IT_FIRST, IT_LAST, IT_SEEK };

struct engine {
    const char *name;
    int (*open)(const struct bench_cfg *cfg, void **db);
    void (*close)(void *db);

    /* Writer. wbegin(append = 1) announces that every put until wcommit has
     * a key greater than all keys in the (empty) store: ffdb uses its bulk
     * loader, LMDB MDB_APPEND; the others ignore the hint. */
    int (*wbegin)(void *db, int append);
    int (*put)(void *db, const void *k, size_t kl, const void *v, size_t vl);
    int (*del)(void *db, const void *k, size_t kl);
    int (*wcommit)(void *db);

    /* Readers: one per thread. rbegin starts a snapshot, rend ends it; gets
     * and iterators live between the two. A returned bval stays valid until
     * the next call on the reader. get returns 0 if found, 1 if not. */
    int (*ropen)(void *db, void **rd);
    int (*rbegin)(void *rd);
    void (*rend)(void *rd);
    int (*get)(void *rd, const void *k, size_t kl, struct bval *v);
    /* Position (IT_SEEK: first key >= k) and step; 0 = on an entry, 1 = end. */
    int (*iter)(void *rd, enum it_pos pos, const void *k, size_t kl, struct bval *key,
                struct bval *val);
    int (*step)(void *rd, struct bval *key, struct bval *val);
    void (*rclose)(void *rd);

    /* Optional (may be NULL): buffer pool hits and misses so far. */
    int (*pool_counters)(void *db, uint64_t *hits, uint64_t *misses);
    /* Optional: branch + leaf pages of the store's tree. */
    int (*tree_pages)(void *db, uint64_t *pages);
};

extern const struct engine engine_ffdb, engine_ffdb_big, engine_lmdb, engine_sqlite, engine_rocksdb,
    engine_leveldb;

/* Shared helpers (workloads.c). */
void bench_key(uint64_t i, uint8_t key[BENCH_KEY_SIZE]);
const uint8_t *bench_value(uint64_t i);                /* key i's BENCH_VALUE_SIZE bytes */
void bench_value_fill(uint64_t i, uint8_t *buf, size_t size); /* a large value for key i */
double bench_now(void);                                /* seconds, monotonic */
void bench_die(const char *engine, const char *what, const char *detail);

#endif /* FFDB_BENCH_H */
