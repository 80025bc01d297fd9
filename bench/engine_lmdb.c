/*
 * engine_lmdb.c — the benchmark driver for LMDB (liblmdb, Debian).
 *
 * Settings: one file (MDB_NOSUBDIR), the unnamed database, a 64 GiB map
 * (address space only; the file grows as used), MDB_NOTLS so that a thread
 * may hold a read txn beside the write txn, and LMDB's defaults otherwise
 * (no MDB_WRITEMAP). Durable rows use the default full sync at commit
 * (data fdatasync, then the meta page); non-durable rows MDB_NOSYNC. An
 * append batch (fillseq) puts with MDB_APPEND. Readers keep one read txn
 * and reset/renew it per snapshot, as LMDB's documentation advises.
 * Reads go through LMDB's map, that is the OS page cache.
 */
#include <lmdb.h>
#include <stdlib.h>

#include "bench/bench.h"

struct ldb {
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *w;
    unsigned put_flags;
};

struct lrd {
    struct ldb *d;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_cursor_op step_op;
};

static void check(int rc, const char *what)
{
    if (rc != 0)
        bench_die("lmdb", what, mdb_strerror(rc));
}

static int l_open(const struct bench_cfg *cfg, void **out)
{
    struct ldb *d = calloc(1, sizeof(*d));
    MDB_txn *t;
    check(mdb_env_create(&d->env), "env_create");
    check(mdb_env_set_mapsize(d->env, (size_t)64 << 30), "set_mapsize");
    check(mdb_env_set_maxreaders(d->env, 64), "set_maxreaders");
    check(mdb_env_open(d->env, cfg->path, MDB_NOSUBDIR | MDB_NOTLS | (cfg->durable ? 0 : MDB_NOSYNC),
                       0644),
          "env_open");
    check(mdb_txn_begin(d->env, NULL, 0, &t), "txn_begin");
    check(mdb_dbi_open(t, NULL, 0, &d->dbi), "dbi_open");
    check(mdb_txn_commit(t), "commit");
    *out = d;
    return 0;
}

static void l_close(void *p)
{
    struct ldb *d = p;
    mdb_env_close(d->env);
    free(d);
}

static int l_wbegin(void *p, int append)
{
    struct ldb *d = p;
    check(mdb_txn_begin(d->env, NULL, 0, &d->w), "txn_begin");
    d->put_flags = append ? MDB_APPEND : 0;
    return 0;
}

static int l_put(void *p, const void *k, size_t kl, const void *v, size_t vl)
{
    struct ldb *d = p;
    MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};
    check(mdb_put(d->w, d->dbi, &key, &val, d->put_flags), "put");
    return 0;
}

static int l_del(void *p, const void *k, size_t kl)
{
    struct ldb *d = p;
    MDB_val key = {kl, (void *)k};
    int rc = mdb_del(d->w, d->dbi, &key, NULL);
    if (rc != MDB_NOTFOUND)
        check(rc, "del");
    return 0;
}

static int l_wcommit(void *p)
{
    struct ldb *d = p;
    check(mdb_txn_commit(d->w), "commit");
    d->w = NULL;
    return 0;
}

static int l_ropen(void *p, void **out)
{
    struct lrd *r = calloc(1, sizeof(*r));
    r->d = p;
    *out = r;
    return 0;
}

static int l_rbegin(void *p)
{
    struct lrd *r = p;
    if (r->txn)
        check(mdb_txn_renew(r->txn), "txn_renew");
    else
        check(mdb_txn_begin(r->d->env, NULL, MDB_RDONLY, &r->txn), "txn_begin");
    return 0;
}

static void l_rend(void *p)
{
    struct lrd *r = p;
    if (r->cur)
        mdb_cursor_close(r->cur);
    r->cur = NULL;
    mdb_txn_reset(r->txn);
}

static int l_get(void *p, const void *k, size_t kl, struct bval *v)
{
    struct lrd *r = p;
    MDB_val key = {kl, (void *)k}, val;
    int rc = mdb_get(r->txn, r->d->dbi, &key, &val);
    if (rc == MDB_NOTFOUND)
        return 1;
    check(rc, "get");
    v->data = val.mv_data;
    v->size = val.mv_size;
    return 0;
}

static int l_move(struct lrd *r, MDB_val *key, MDB_val *val, MDB_cursor_op op, struct bval *k,
                  struct bval *v)
{
    int rc = mdb_cursor_get(r->cur, key, val, op);
    if (rc == MDB_NOTFOUND)
        return 1;
    check(rc, "cursor_get");
    k->data = key->mv_data;
    k->size = key->mv_size;
    v->data = val->mv_data;
    v->size = val->mv_size;
    return 0;
}

static int l_iter(void *p, enum it_pos pos, const void *kp, size_t kl, struct bval *k,
                  struct bval *v)
{
    struct lrd *r = p;
    MDB_val key = {kl, (void *)kp}, val;
    if (!r->cur)
        check(mdb_cursor_open(r->txn, r->d->dbi, &r->cur), "cursor_open");
    r->step_op = pos == IT_LAST ? MDB_PREV : MDB_NEXT;
    return l_move(r, &key, &val, pos == IT_FIRST ? MDB_FIRST : pos == IT_LAST ? MDB_LAST : MDB_SET_RANGE,
                  k, v);
}

static int l_step(void *p, struct bval *k, struct bval *v)
{
    struct lrd *r = p;
    MDB_val key, val;
    return l_move(r, &key, &val, r->step_op, k, v);
}

static void l_rclose(void *p)
{
    struct lrd *r = p;
    if (r->txn)
        mdb_txn_abort(r->txn);
    free(r);
}

const struct engine engine_lmdb = {
    .name = "lmdb",
    .open = l_open,
    .close = l_close,
    .wbegin = l_wbegin,
    .put = l_put,
    .del = l_del,
    .wcommit = l_wcommit,
    .ropen = l_ropen,
    .rbegin = l_rbegin,
    .rend = l_rend,
    .get = l_get,
    .iter = l_iter,
    .step = l_step,
    .rclose = l_rclose,
};
