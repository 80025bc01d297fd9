/*
 * engine_leveldb.c — the benchmark driver for LevelDB, through its C API
 * (leveldb/c.h; libleveldb, Debian).
 *
 * Settings: LevelDB's defaults (4 MiB write buffer, 8 MiB block cache) plus
 * a 10-bit bloom filter and no compression (the values are incompressible),
 * as its documentation suggests for point reads. Durable rows write with
 * sync=true, non-durable rows with sync=false. Batches work as in the
 * RocksDB driver: a WriteBatch applied every 1,000 puts unsynced, the rest
 * at commit with the row's sync setting. A reader snapshot is a LevelDB
 * snapshot. leveldb_get returns a malloc'd copy (the C API has no other
 * way); the driver frees it at the next call.
 */
#include <leveldb/c.h>
#include <stdlib.h>

#include "bench/bench.h"

#define APPLY_EVERY 1000

struct vdb {
    leveldb_t *db;
    leveldb_options_t *opt;
    leveldb_filterpolicy_t *bloom;
    leveldb_writeoptions_t *wsync, *wnosync;
    leveldb_writebatch_t *batch;
    unsigned pending;
};

struct vrd {
    struct vdb *d;
    leveldb_readoptions_t *ro;
    const leveldb_snapshot_t *snap;
    char *copy;
    leveldb_iterator_t *it;
    int backward;
};

static void check(char *err, const char *what)
{
    if (err)
        bench_die("leveldb", what, err);
}

static int v_open(const struct bench_cfg *cfg, void **out)
{
    struct vdb *d = calloc(1, sizeof(*d));
    char *err = NULL;
    d->opt = leveldb_options_create();
    leveldb_options_set_create_if_missing(d->opt, 1);
    leveldb_options_set_compression(d->opt, leveldb_no_compression);
    d->bloom = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_filter_policy(d->opt, d->bloom);
    d->db = leveldb_open(d->opt, cfg->path, &err);
    check(err, "open");
    d->wsync = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(d->wsync, (unsigned char)cfg->durable);
    d->wnosync = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(d->wnosync, 0);
    d->batch = leveldb_writebatch_create();
    *out = d;
    return 0;
}

static void v_close(void *p)
{
    struct vdb *d = p;
    leveldb_writebatch_destroy(d->batch);
    leveldb_writeoptions_destroy(d->wsync);
    leveldb_writeoptions_destroy(d->wnosync);
    leveldb_close(d->db);
    leveldb_options_destroy(d->opt);
    leveldb_filterpolicy_destroy(d->bloom);
    free(d);
}

static int v_wbegin(void *p, int append)
{
    struct vdb *d = p;
    (void)append;
    leveldb_writebatch_clear(d->batch);
    d->pending = 0;
    return 0;
}

static void apply(struct vdb *d, leveldb_writeoptions_t *wo)
{
    char *err = NULL;
    leveldb_write(d->db, wo, d->batch, &err);
    check(err, "write");
    leveldb_writebatch_clear(d->batch);
    d->pending = 0;
}

static int v_put(void *p, const void *k, size_t kl, const void *v, size_t vl)
{
    struct vdb *d = p;
    leveldb_writebatch_put(d->batch, k, kl, v, vl);
    if (++d->pending >= APPLY_EVERY)
        apply(d, d->wnosync);
    return 0;
}

static int v_del(void *p, const void *k, size_t kl)
{
    struct vdb *d = p;
    leveldb_writebatch_delete(d->batch, k, kl);
    if (++d->pending >= APPLY_EVERY)
        apply(d, d->wnosync);
    return 0;
}

/* An empty batch with sync=true still syncs the log (what came before). */
static int v_wcommit(void *p)
{
    struct vdb *d = p;
    apply(d, d->wsync);
    return 0;
}

static int v_ropen(void *p, void **out)
{
    struct vrd *r = calloc(1, sizeof(*r));
    r->d = p;
    r->ro = leveldb_readoptions_create();
    *out = r;
    return 0;
}

static int v_rbegin(void *p)
{
    struct vrd *r = p;
    r->snap = leveldb_create_snapshot(r->d->db);
    leveldb_readoptions_set_snapshot(r->ro, r->snap);
    return 0;
}

static void v_rend(void *p)
{
    struct vrd *r = p;
    leveldb_free(r->copy);
    r->copy = NULL;
    if (r->it)
        leveldb_iter_destroy(r->it);
    r->it = NULL;
    leveldb_readoptions_set_snapshot(r->ro, NULL);
    leveldb_release_snapshot(r->d->db, r->snap);
    r->snap = NULL;
}

static int v_get(void *p, const void *k, size_t kl, struct bval *v)
{
    struct vrd *r = p;
    char *err = NULL;
    leveldb_free(r->copy);
    r->copy = leveldb_get(r->d->db, r->ro, k, kl, &v->size, &err);
    check(err, "get");
    if (!r->copy)
        return 1;
    v->data = r->copy;
    return 0;
}

static int v_here(struct vrd *r, struct bval *k, struct bval *v)
{
    if (!leveldb_iter_valid(r->it)) {
        char *err = NULL;
        leveldb_iter_get_error(r->it, &err);
        check(err, "iterator");
        return 1;
    }
    k->data = leveldb_iter_key(r->it, &k->size);
    v->data = leveldb_iter_value(r->it, &v->size);
    return 0;
}

static int v_iter(void *p, enum it_pos pos, const void *kp, size_t kl, struct bval *k,
                  struct bval *v)
{
    struct vrd *r = p;
    if (!r->it)
        r->it = leveldb_create_iterator(r->d->db, r->ro);
    r->backward = pos == IT_LAST;
    if (pos == IT_FIRST)
        leveldb_iter_seek_to_first(r->it);
    else if (pos == IT_LAST)
        leveldb_iter_seek_to_last(r->it);
    else
        leveldb_iter_seek(r->it, kp, kl);
    return v_here(r, k, v);
}

static int v_step(void *p, struct bval *k, struct bval *v)
{
    struct vrd *r = p;
    if (r->backward)
        leveldb_iter_prev(r->it);
    else
        leveldb_iter_next(r->it);
    return v_here(r, k, v);
}

static void v_rclose(void *p)
{
    struct vrd *r = p;
    leveldb_readoptions_destroy(r->ro);
    free(r);
}

const struct engine engine_leveldb = {
    .name = "leveldb",
    .open = v_open,
    .close = v_close,
    .wbegin = v_wbegin,
    .put = v_put,
    .del = v_del,
    .wcommit = v_wcommit,
    .ropen = v_ropen,
    .rbegin = v_rbegin,
    .rend = v_rend,
    .get = v_get,
    .iter = v_iter,
    .step = v_step,
    .rclose = v_rclose,
};
