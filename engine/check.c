/*
 * check.c — ffdb_check: verify a whole committed state inside a read
 * snapshot, and prove every page is owned exactly once or free.
 *
 * Reads only; never changes the file. Trees are verified by bt_check(); this
 * file adds the page accounting (one bit per page: metas, catalog, buckets,
 * overflow runs, the freelist chain, the free ranges) and the catalog's
 * records. Problems are reported and counted; the walk carries on past them.
 *
 * The debug check (built with -DFFDB_DEBUG_CHECK, as make asan does): every
 * successful commit runs the whole check on the state it committed and
 * aborts the process on a problem, so a commit that breaks a tree, the
 * freelist or the page accounting is caught at the commit that did it. It
 * reads through a pool of its own (DB_CHECK_PAGES frames, made at the first
 * check), so the handle's pool and its counters see nothing of it; after a
 * commit it drops from that pool every page the txn allocated, the only
 * pages a commit writes (E1). A handle checks the committed state once,
 * at its first write txn: if that is damaged already, its commits are not
 * checked (a damaged file says nothing about the writer). Bound: a file of
 * up to DB_CHECK_PAGES pages is checked at every commit, cached whole in
 * the check pool; a larger one at every ceil(pages / DB_CHECK_PAGES)-th
 * txid, so the work per commit stays about that of DB_CHECK_PAGES pages.
 * An I/O error or a failed allocation during a check is not a problem: the
 * check is skipped (allocation failures planned with mem_fail_after() are
 * held back while it runs). Its reads are I/O calls like any other: a test
 * that counts them to aim faults (ffdb-crash --mode ioerr) sets
 * FFDB_NO_DEBUG_CHECK in the environment, which turns it off for the
 * handles that begin writing meanwhile.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bufpool/pool.h"
#include "common/alloc.h"
#include "common/bytes.h"
#include "common/error.h"
#include "engine/db.h"
#include "freelist/freelist.h"
#include "pager/pager.h"

struct accounting {
    uint8_t *seen;               /* one bit per page */
    uint64_t page_count;
    ffdb_check_result *res;
    void (*report)(void *arg, uint64_t pgno, const char *problem);
    void *arg;
};

static void problem(struct accounting *a, uint64_t pgno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct accounting *a, uint64_t pgno, const char *fmt, ...)
{
    char text[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    a->res->problems++;
    if (a->report)
        a->report(a->arg, pgno, text);
}

static void report_tree_problem(void *arg, uint64_t pgno, const char *text)
{
    problem(arg, pgno, "%s", text);
}

/* Mark pages [pgno, pgno+count) as owned by what: twice is a problem. */
static void own(struct accounting *a, uint64_t pgno, uint64_t count, const char *what)
{
    for (uint64_t p = pgno; p < pgno + count; p++) {
        if (p >= a->page_count) {
            problem(a, p, "page %llu (%s) is past the end of the file", (unsigned long long)p, what);
            return;
        }
        if (a->seen[p / 8] & (1u << (p % 8)))
            problem(a, p, "page %llu (%s) is referenced twice", (unsigned long long)p, what);
        a->seen[p / 8] |= (uint8_t)(1u << (p % 8));
        if (strcmp(what, "free") != 0)
            a->res->reachable_pages++;
        else
            a->res->free_pages++;
    }
}

static void visit_tree_page(void *arg, uint64_t pgno, uint64_t count)
{
    own(arg, pgno, count, "tree");
}

static int visit_free(void *arg, uint64_t pgno, uint64_t count, uint64_t txid)
{
    (void)txid;
    own(arg, pgno, count, "free");
    return 0;
}

static int check_buckets(ffdb_txn *txn, struct accounting *a, const struct bt_check_ops *ops)
{
    struct bt_cursor c;
    ffdb_val k, v;
    int rc;

    bt_cursor_init(&c, &txn->bt, &txn->meta.catalog);
    for (rc = bt_cursor_first(&c, &k, &v); rc == 0; rc = bt_cursor_next(&c, &k, &v)) {
        struct bt_tree tree;
        a->res->buckets++;
        if (v.size != TREC_SIZE) {
            problem(a, PGNO_NONE, "catalog record %llu has %zu bytes",
                    (unsigned long long)a->res->buckets, v.size);
            continue;
        }
        bt_tree_decode(&tree, v.data);
        a->res->entries += tree.entries;
        rc = bt_check(&txn->bt, &tree, ops);
        if (rc < 0 && rc != FFDB_CORRUPT)
            break;
    }
    bt_cursor_release(&c);
    if (rc == FFDB_NOTFOUND)
        rc = 0;
    if (rc == 0 && a->res->buckets != txn->meta.bucket_count)
        problem(a, 0, "meta records %llu buckets, the catalog holds %llu",
                (unsigned long long)txn->meta.bucket_count, (unsigned long long)a->res->buckets);
    return rc;
}

/* Own the freelist chain pages and every free range of the snapshot. */
static int check_freelist(ffdb_txn *txn, struct accounting *a)
{
    struct freelist *fl;
    uint8_t *page;
    uint64_t pgno = txn->meta.freelist_root;
    int rc;

    rc = fl_load(txn->db->pager, txn->meta.freelist_root, txn->meta.freelist_pages,
                 txn->meta.page_count, txn->meta.txid, &fl);
    if (rc < 0) {
        ffdb_error_info info;
        ffdb_last_error(&info);
        if (rc != FFDB_CORRUPT)
            return rc;
        problem(a, info.pgno, "freelist: %s", info.message);
        return 0;
    }
    fl_foreach(fl, visit_free, a);
    fl_destroy(fl);
    /* fl_load verified the chain; walk it once more to own its pages. */
    page = mem_alloc_aligned(4096, txn->db->page_size);
    if (!page)
        return FFDB_ENOMEM;
    for (uint64_t i = 0; i < txn->meta.freelist_pages && pgno; i++) {
        own(a, pgno, 1, "freelist");
        if (pager_read_page(txn->db->pager, pgno, page) < 0)
            break;
        pgno = ld64(page + PH_NEXT);
    }
    mem_free_aligned(page);
    return 0;
}

/* The whole check of txn's snapshot (a read txn); problems are counted in
 * result. Returns 0, FFDB_CORRUPT, or the error that stopped it. */
static int check_snapshot(ffdb_txn *txn,
                          void (*report)(void *arg, uint64_t pgno, const char *problem), void *arg,
                          int stop_on_error, ffdb_check_result *result)
{
    struct accounting a;
    struct bt_check_ops ops;
    int rc;

    assert(!txn->write && result);
    memset(result, 0, sizeof(*result));
    memset(&a, 0, sizeof(a));
    a.page_count = txn->meta.page_count;
    a.res = result;
    a.report = report;
    a.arg = arg;
    result->page_count = a.page_count;
    a.seen = mem_calloc(a.page_count / 8 + 1, 1);
    if (!a.seen)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate the page map");
    own(&a, 0, 2, "meta");
    if (txn->meta.clist_first != 0) /* clist.c: the next commit frees them */
        own(&a, txn->meta.clist_first, txn->meta.clist_pages, "commit list");
    ops.arg = &a;
    ops.visit = visit_tree_page;
    ops.report = report_tree_problem;
    ops.stop_on_error = stop_on_error;
    rc = bt_check(&txn->bt, &txn->meta.catalog, &ops);
    if (rc == 0 || rc == FFDB_CORRUPT)
        rc = check_buckets(txn, &a, &ops);
    if (rc == 0)
        rc = check_freelist(txn, &a);
    if (rc == 0)
        for (uint64_t p = 2; p < a.page_count; p++)
            if (!(a.seen[p / 8] & (1u << (p % 8))))
                problem(&a, p, "page %llu is leaked: neither reachable nor free",
                        (unsigned long long)p);
    mem_free(a.seen);
    if (rc < 0)
        return rc;
    return result->problems ? FFDB_CORRUPT : 0;
}

int ffdb_check(ffdb *db, void (*report)(void *arg, uint64_t pgno, const char *problem), void *arg,
               ffdb_check_result *result)
{
    ffdb_check_result local;
    ffdb_txn *txn;
    int rc;

    if (!db)
        return FFDB_EINVAL;
    if (!result)
        result = &local;
    memset(result, 0, sizeof(*result));
    CHECK(ffdb_begin_read(db, &txn));
    rc = check_snapshot(txn, report, arg, 0, result);
    ffdb_abort(txn);
    return rc;
}

/* ---- the debug check (FFDB_DEBUG_CHECK) ---------------------------------------- */

static void debug_report(void *arg, uint64_t pgno, const char *problem)
{
    const ffdb_txn *txn = arg;
    fprintf(stderr, "ffdb debug check: commit %llu: page %llu: %s\n",
            (unsigned long long)txn->meta.txid, (unsigned long long)pgno, problem);
}

/* Check the committed state through the handle's check pool, so that its
 * own pool (frames, counters) sees nothing of it; a planned allocation
 * failure is held back meanwhile. 1 = clean, 0 = problems (reported if
 * report is set), < 0 = could not tell (an I/O error, no memory). */
static int debug_run(ffdb *db, int report)
{
    ffdb_check_result res;
    ffdb_txn *txn;
    long held = mem_fail_suspend();
    int rc = 0;

    if (!db->check_pool)
        rc = pool_open(db->pager, DB_CHECK_PAGES, 0, bt_page_verify, &db->page_size, &db->check_pool);
    if (rc == 0)
        rc = ffdb_begin_read(db, &txn);
    if (rc == 0) {
        /* A read txn's bt_txn holds nothing yet: aim it at the check pool. */
        bt_txn_init(&txn->bt, db->check_pool, NULL, txn->meta.txid, txn->meta.page_count);
        rc = check_snapshot(txn, report ? debug_report : NULL, txn, 1, &res);
        ffdb_abort(txn);
    }
    mem_fail_after(held);
    err_clear(); /* what the caller reports is its own last error */
    if (rc == FFDB_CORRUPT)
        return 0;
    return rc < 0 ? rc : 1;
}

void db_debug_check_begin(ffdb *db)
{
    int r;
    if (db->check_state != DB_CHECK_UNKNOWN)
        return;
    /* For a test that counts every I/O call of a txn and aims faults at
     * them (ffdb-crash --mode ioerr), the check's reads would take them. */
    if (getenv("FFDB_NO_DEBUG_CHECK")) {
        db->check_state = DB_CHECK_OFF;
        return;
    }
    r = debug_run(db, 0);
    /* A file damaged before this handle wrote anything teaches nothing
     * about the writer: its commits are not checked. */
    if (r >= 0)
        db->check_state = r ? DB_CHECK_CLEAN : DB_CHECK_OFF;
}

void db_debug_check_forget(ffdb *db)
{
    /* E1: the txn wrote only pages it allocated; no other page changed. */
    if (db->check_pool)
        (void)fl_txn_foreach(db->fl, db_discard_range, db->check_pool);
}

void db_debug_check_commit(ffdb *db)
{
    uint64_t stride = (db->meta.page_count + DB_CHECK_PAGES - 1) / DB_CHECK_PAGES;
    if (db->check_state != DB_CHECK_CLEAN || db->meta.txid % stride != 0)
        return;
    if (debug_run(db, 1) == 0) {
        fprintf(stderr, "ffdb debug check: commit %llu left a damaged file behind\n",
                (unsigned long long)db->meta.txid);
        abort();
    }
}
