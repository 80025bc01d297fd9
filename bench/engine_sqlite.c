/*
 * engine_sqlite.c — the benchmark driver for SQLite (libsqlite3, Debian).
 *
 * Settings: one table kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID (the
 * documented layout for a table keyed by its primary key), WAL journal,
 * synchronous=FULL on durable rows and OFF on non-durable ones, a 4 MiB page
 * cache (cache_size=-4096, the size of ffdb's default pool), prepared
 * statements throughout, each connection opened with SQLITE_OPEN_NOMUTEX
 * and used by one thread. A write batch is one BEGIN IMMEDIATE ... COMMIT;
 * every reader has its own connection and a snapshot is BEGIN ... COMMIT.
 * Iterators are ordered SELECTs, stepped one row at a time.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

struct sdb {
    sqlite3 *w;
    const char *path;
    int durable;
    sqlite3_stmt *put, *del, *begin, *commit;
};

struct srd {
    sqlite3 *c;
    sqlite3_stmt *get, *first, *last, *seek, *begin, *commit;
    sqlite3_stmt *it;  /* the positioned iterator, one of first/last/seek */
};

static void check(sqlite3 *c, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        bench_die("sqlite", what, c ? sqlite3_errmsg(c) : sqlite3_errstr(rc));
}

static void exec(sqlite3 *c, const char *sql)
{
    check(c, sqlite3_exec(c, sql, NULL, NULL, NULL), sql);
}

static sqlite3_stmt *prep(sqlite3 *c, const char *sql)
{
    sqlite3_stmt *s;
    check(c, sqlite3_prepare_v2(c, sql, -1, &s, NULL), sql);
    return s;
}

static sqlite3 *connect(const char *path, int durable)
{
    sqlite3 *c;
    int rc = sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    check(c, rc, "open");
    sqlite3_busy_timeout(c, 60000);
    exec(c, "PRAGMA journal_mode=WAL");
    exec(c, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
    exec(c, "PRAGMA cache_size=-4096");
    return c;
}

/* Run a statement that returns no rows and reset it. */
static void run(sqlite3 *c, sqlite3_stmt *s, const char *what)
{
    check(c, sqlite3_step(s), what);
    sqlite3_reset(s);
}

static int s_open(const struct bench_cfg *cfg, void **out)
{
    struct sdb *d = calloc(1, sizeof(*d));
    d->path = cfg->path;
    d->durable = cfg->durable;
    d->w = connect(cfg->path, cfg->durable);
    exec(d->w, "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
    d->put = prep(d->w, "INSERT OR REPLACE INTO kv(k, v) VALUES(?1, ?2)");
    d->del = prep(d->w, "DELETE FROM kv WHERE k = ?1");
    d->begin = prep(d->w, "BEGIN IMMEDIATE");
    d->commit = prep(d->w, "COMMIT");
    *out = d;
    return 0;
}

static void s_close(void *p)
{
    struct sdb *d = p;
    sqlite3_finalize(d->put);
    sqlite3_finalize(d->del);
    sqlite3_finalize(d->begin);
    sqlite3_finalize(d->commit);
    sqlite3_close(d->w);
    free(d);
}

static int s_wbegin(void *p, int append)
{
    struct sdb *d = p;
    (void)append;
    run(d->w, d->begin, "begin");
    return 0;
}

static int s_put(void *p, const void *k, size_t kl, const void *v, size_t vl)
{
    struct sdb *d = p;
    sqlite3_bind_blob(d->put, 1, k, (int)kl, SQLITE_STATIC);
    sqlite3_bind_blob64(d->put, 2, v, vl, SQLITE_STATIC);
    run(d->w, d->put, "insert");
    return 0;
}

static int s_del(void *p, const void *k, size_t kl)
{
    struct sdb *d = p;
    sqlite3_bind_blob(d->del, 1, k, (int)kl, SQLITE_STATIC);
    run(d->w, d->del, "delete");
    return 0;
}

static int s_wcommit(void *p)
{
    struct sdb *d = p;
    run(d->w, d->commit, "commit");
    return 0;
}

static int s_ropen(void *p, void **out)
{
    struct sdb *d = p;
    struct srd *r = calloc(1, sizeof(*r));
    r->c = connect(d->path, d->durable);
    r->get = prep(r->c, "SELECT v FROM kv WHERE k = ?1");
    r->first = prep(r->c, "SELECT k, v FROM kv ORDER BY k");
    r->last = prep(r->c, "SELECT k, v FROM kv ORDER BY k DESC");
    r->seek = prep(r->c, "SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k");
    r->begin = prep(r->c, "BEGIN");
    r->commit = prep(r->c, "COMMIT");
    *out = r;
    return 0;
}

static int s_rbegin(void *p)
{
    struct srd *r = p;
    run(r->c, r->begin, "begin");
    return 0;
}

static void s_rend(void *p)
{
    struct srd *r = p;
    sqlite3_reset(r->get);
    if (r->it)
        sqlite3_reset(r->it);
    r->it = NULL;
    run(r->c, r->commit, "commit");
}

static int s_get(void *p, const void *k, size_t kl, struct bval *v)
{
    struct srd *r = p;
    int rc;
    sqlite3_reset(r->get);
    sqlite3_bind_blob(r->get, 1, k, (int)kl, SQLITE_STATIC);
    rc = sqlite3_step(r->get);
    if (rc == SQLITE_DONE)
        return 1;
    check(r->c, rc, "select");
    v->data = sqlite3_column_blob(r->get, 0);
    v->size = (size_t)sqlite3_column_bytes(r->get, 0);
    return 0;
}

static int s_row(struct srd *r, struct bval *k, struct bval *v)
{
    int rc = sqlite3_step(r->it);
    if (rc == SQLITE_DONE)
        return 1;
    check(r->c, rc, "step");
    k->data = sqlite3_column_blob(r->it, 0);
    k->size = (size_t)sqlite3_column_bytes(r->it, 0);
    v->data = sqlite3_column_blob(r->it, 1);
    v->size = (size_t)sqlite3_column_bytes(r->it, 1);
    return 0;
}

static int s_iter(void *p, enum it_pos pos, const void *kp, size_t kl, struct bval *k,
                  struct bval *v)
{
    struct srd *r = p;
    if (r->it)
        sqlite3_reset(r->it);
    r->it = pos == IT_FIRST ? r->first : pos == IT_LAST ? r->last : r->seek;
    if (pos == IT_SEEK)
        sqlite3_bind_blob(r->it, 1, kp, (int)kl, SQLITE_STATIC);
    return s_row(r, k, v);
}

static int s_step(void *p, struct bval *k, struct bval *v)
{
    return s_row(p, k, v);
}

static void s_rclose(void *p)
{
    struct srd *r = p;
    sqlite3_stmt *all[] = {r->get, r->first, r->last, r->seek, r->begin, r->commit};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        sqlite3_finalize(all[i]);
    sqlite3_close(r->c);
    free(r);
}

const struct engine engine_sqlite = {
    .name = "sqlite",
    .open = s_open,
    .close = s_close,
    .wbegin = s_wbegin,
    .put = s_put,
    .del = s_del,
    .wcommit = s_wcommit,
    .ropen = s_ropen,
    .rbegin = s_rbegin,
    .rend = s_rend,
    .get = s_get,
    .iter = s_iter,
    .step = s_step,
    .rclose = s_rclose,
};
