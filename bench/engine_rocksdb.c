/*
 * engine_rocksdb.c — the benchmark driver for RocksDB, through its C API
 * (rocksdb/c.h; librocksdb, Debian).
 *
 * Settings: RocksDB's defaults (64 MiB memtable, default block cache) plus
 * what its tuning guide recommends for point reads of incompressible data:
 * a 10-bit bloom filter, no compression, and increase_parallelism(2) for
 * the 2-core machine. Durable rows write with sync=true (the WAL is synced
 * at every commit), non-durable rows with sync=false (the WAL is written,
 * not synced). A write batch is a WriteBatch; so that a huge batch (a whole
 * fillseq) does not hold the data set in memory, it is applied every 1,000
 * puts unsynced and the commit applies the rest with the row's sync
 * setting. A reader snapshot is a RocksDB snapshot; values come through
 * rocksdb_get_pinned (no copy).
 */
#include <rocksdb/c.h>
#include <stdlib.h>

#include "bench/bench.h"

#define APPLY_EVERY 1000

struct rdb {
    rocksdb_t *db;
    rocksdb_options_t *opt;
    rocksdb_block_based_table_options_t *table;
    rocksdb_writeoptions_t *wsync, *wnosync;
    rocksdb_writebatch_t *batch;
};

struct rrd {
    struct rdb *d;
    rocksdb_readoptions_t *ro;
    const rocksdb_snapshot_t *snap;
    rocksdb_pinnableslice_t *pinned;
    rocksdb_iterator_t *it;
    int backward;
};

static void check(char *err, const char *what)
{
    if (err)
        bench_die("rocksdb", what, err);
}

static int r_open(const struct bench_cfg *cfg, void **out)
{
    struct rdb *d = calloc(1, sizeof(*d));
    char *err = NULL;
    d->opt = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(d->opt, 1);
    rocksdb_options_increase_parallelism(d->opt, 2);
    rocksdb_options_set_compression(d->opt, rocksdb_no_compression);
    d->table = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_filter_policy(d->table, rocksdb_filterpolicy_create_bloom(10));
    rocksdb_options_set_block_based_table_factory(d->opt, d->table);
    d->db = rocksdb_open(d->opt, cfg->path, &err);
    check(err, "open");
    d->wsync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(d->wsync, cfg->durable);
    d->wnosync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(d->wnosync, 0);
    d->batch = rocksdb_writebatch_create();
    *out = d;
    return 0;
}

static void r_close(void *p)
{
    struct rdb *d = p;
    rocksdb_writebatch_destroy(d->batch);
    rocksdb_writeoptions_destroy(d->wsync);
    rocksdb_writeoptions_destroy(d->wnosync);
    rocksdb_close(d->db);
    rocksdb_options_destroy(d->opt);
    rocksdb_block_based_options_destroy(d->table);
    free(d);
}

static int r_wbegin(void *p, int append)
{
    struct rdb *d = p;
    (void)append;
    rocksdb_writebatch_clear(d->batch);
    return 0;
}

static void apply(struct rdb *d, rocksdb_writeoptions_t *wo)
{
    char *err = NULL;
    rocksdb_write(d->db, wo, d->batch, &err);
    check(err, "write");
    rocksdb_writebatch_clear(d->batch);
}

static int r_put(void *p, const void *k, size_t kl, const void *v, size_t vl)
{
    struct rdb *d = p;
    rocksdb_writebatch_put(d->batch, k, kl, v, vl);
    if (rocksdb_writebatch_count(d->batch) >= APPLY_EVERY)
        apply(d, d->wnosync);
    return 0;
}

static int r_del(void *p, const void *k, size_t kl)
{
    struct rdb *d = p;
    rocksdb_writebatch_delete(d->batch, k, kl);
    if (rocksdb_writebatch_count(d->batch) >= APPLY_EVERY)
        apply(d, d->wnosync);
    return 0;
}

/* An empty batch with sync=true still syncs the WAL (what came before). */
static int r_wcommit(void *p)
{
    struct rdb *d = p;
    apply(d, d->wsync);
    return 0;
}

static int r_ropen(void *p, void **out)
{
    struct rrd *r = calloc(1, sizeof(*r));
    r->d = p;
    r->ro = rocksdb_readoptions_create();
    *out = r;
    return 0;
}

static int r_rbegin(void *p)
{
    struct rrd *r = p;
    r->snap = rocksdb_create_snapshot(r->d->db);
    rocksdb_readoptions_set_snapshot(r->ro, r->snap);
    return 0;
}

static void r_rend(void *p)
{
    struct rrd *r = p;
    if (r->pinned)
        rocksdb_pinnableslice_destroy(r->pinned);
    r->pinned = NULL;
    if (r->it)
        rocksdb_iter_destroy(r->it);
    r->it = NULL;
    rocksdb_readoptions_set_snapshot(r->ro, NULL);
    rocksdb_release_snapshot(r->d->db, r->snap);
    r->snap = NULL;
}

static int r_get(void *p, const void *k, size_t kl, struct bval *v)
{
    struct rrd *r = p;
    char *err = NULL;
    if (r->pinned)
        rocksdb_pinnableslice_destroy(r->pinned);
    r->pinned = rocksdb_get_pinned(r->d->db, r->ro, k, kl, &err);
    check(err, "get");
    if (!r->pinned)
        return 1;
    v->data = rocksdb_pinnableslice_value(r->pinned, &v->size);
    return 0;
}

static int r_here(struct rrd *r, struct bval *k, struct bval *v)
{
    if (!rocksdb_iter_valid(r->it)) {
        char *err = NULL;
        rocksdb_iter_get_error(r->it, &err);
        check(err, "iterator");
        return 1;
    }
    k->data = rocksdb_iter_key(r->it, &k->size);
    v->data = rocksdb_iter_value(r->it, &v->size);
    return 0;
}

static int r_iter(void *p, enum it_pos pos, const void *kp, size_t kl, struct bval *k,
                  struct bval *v)
{
    struct rrd *r = p;
    if (!r->it)
        r->it = rocksdb_create_iterator(r->d->db, r->ro);
    r->backward = pos == IT_LAST;
    if (pos == IT_FIRST)
        rocksdb_iter_seek_to_first(r->it);
    else if (pos == IT_LAST)
        rocksdb_iter_seek_to_last(r->it);
    else
        rocksdb_iter_seek(r->it, kp, kl);
    return r_here(r, k, v);
}

static int r_step(void *p, struct bval *k, struct bval *v)
{
    struct rrd *r = p;
    if (r->backward)
        rocksdb_iter_prev(r->it);
    else
        rocksdb_iter_next(r->it);
    return r_here(r, k, v);
}

static void r_rclose(void *p)
{
    struct rrd *r = p;
    rocksdb_readoptions_destroy(r->ro);
    free(r);
}

const struct engine engine_rocksdb = {
    .name = "rocksdb",
    .open = r_open,
    .close = r_close,
    .wbegin = r_wbegin,
    .put = r_put,
    .del = r_del,
    .wcommit = r_wcommit,
    .ropen = r_ropen,
    .rbegin = r_rbegin,
    .rend = r_rend,
    .get = r_get,
    .iter = r_iter,
    .step = r_step,
    .rclose = r_rclose,
};
