/*
 * compact.c — `ffdb compact SRC DST`: rewrite the live data of SRC into a
 * fresh file with the bulk loader, dense and in key order, then prove the
 * result with ffdb_check.
 *
 * SRC is opened FFDB_RDONLY and read in one snapshot. DST must not exist: it
 * is created here (FFDB_NOSYNC while it is built, one bucket a transaction),
 * cut to the pages of its last commit, synced, and checked; if anything
 * fails, DST is removed so no half-built file is left behind.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/inspect.h"
#include "tools/ffdb/cli.h"
#include "tools/ffdb/progress.h"

#define DEFAULT_FILL 1.0

struct copy {
    ffdb *src, *dst;
    ffdb_txn *snap; /* SRC's snapshot */
    double fill;
    struct progress bar;
    uint64_t done, entries;
};

/* Copy one bucket: one write transaction on DST, one bulk load. */
static int copy_bucket(struct copy *c, const struct cli_name *name)
{
    ffdb_bucket *from, *to;
    ffdb_cursor *cur = NULL;
    ffdb_bulk *bulk = NULL;
    ffdb_txn *txn = NULL;
    ffdb_val k, v;
    int status, rc;

    if ((status = cli_bucket("compact", c->snap, name->data, name->len, &from)) != 0)
        return status;
    if ((rc = ffdb_begin_write(c->dst, &txn)) < 0 ||
        (rc = ffdb_bucket_create(txn, name->data, name->len, &to)) < 0 ||
        (rc = ffdb_bulk_begin(to, c->fill, &bulk)) < 0 || (rc = ffdb_cursor_open(from, &cur)) < 0)
        goto fail;
    for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0; rc = ffdb_cursor_next(cur, &k, &v)) {
        if ((rc = ffdb_bulk_append(bulk, k.data, k.size, v.data, v.size)) < 0)
            break;
        c->entries++;
        progress_update(&c->bar, ++c->done);
    }
    ffdb_cursor_close(cur);
    if (rc != FFDB_NOTFOUND)
        goto fail;
    rc = ffdb_bulk_finish(bulk);
    bulk = NULL;
    if (rc == 0) {
        rc = ffdb_commit(txn);
        txn = NULL;
    }
    if (rc == 0)
        return 0;
fail:
    ffdb_bulk_abort(bulk);
    ffdb_abort(txn);
    /* Keys out of order in SRC can only mean a damaged SRC. */
    if (rc == FFDB_EKEYORDER) {
        cli_msg("compact", "source keys are out of order: the source is corrupt (run ffdb check)");
        return EXIT_CORRUPT;
    }
    return cli_fail("compact", "copy", rc);
}

/* Cut DST to the pages of its last commit (it grew ahead in chunks) and
 * make that and every page durable. The engine accepts a file of exactly
 * page_count pages. */
static int settle(const char *path, uint64_t bytes)
{
    int fd = open(path, O_RDWR | O_CLOEXEC), ok;
    if (fd < 0) {
        cli_msg("compact", "%s: cannot reopen to truncate", path);
        return EXIT_ERROR;
    }
    ok = ftruncate(fd, (off_t)bytes) == 0 && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        cli_msg("compact", "%s: cannot truncate and sync", path);
        return EXIT_ERROR;
    }
    return 0;
}

static void report_problem(void *arg, uint64_t pgno, const char *problem)
{
    (void)arg;
    if (pgno != UINT64_MAX)
        cli_msg("compact", "check of the result: page %llu: %s", (unsigned long long)pgno, problem);
    else
        cli_msg("compact", "check of the result: %s", problem);
}

/* Reopen DST read-only and check it; the entry count must match too. */
static int verify(const char *path, uint64_t entries, ffdb_check_result *res)
{
    ffdb *db;
    int rc, status = cli_open("compact", path, FFDB_RDONLY, 0, &db);
    if (status)
        return status;
    rc = ffdb_check(db, report_problem, NULL, res);
    ffdb_close(db);
    if (rc == FFDB_CORRUPT)
        return EXIT_PROBLEMS;
    if (rc < 0)
        return cli_fail("compact", "check", rc);
    if (res->entries != entries) {
        cli_msg("compact", "the result holds %llu entries, the source %llu",
                (unsigned long long)res->entries, (unsigned long long)entries);
        return EXIT_PROBLEMS;
    }
    return 0;
}

/* Copy every bucket of the snapshot; DST is closed on return. */
static int copy_all(struct copy *c, const char *dst_path, ffdb_stat *dst_st)
{
    struct cli_names names;
    uint64_t total = 0;
    int status = cli_list_buckets("compact", c->snap, &names);

    for (size_t i = 0; status == 0 && i < names.count; i++) {
        ffdb_bucket *b;
        struct inspect_tree t;
        if ((status = cli_bucket("compact", c->snap, names.v[i].data, names.v[i].len, &b)) == 0) {
            inspect_bucket_tree(b, &t);
            total += t.entries;
        }
    }
    if (status == 0)
        progress_start(&c->bar, "compact", "entries", total);
    for (size_t i = 0; status == 0 && i < names.count; i++)
        status = copy_bucket(c, &names.v[i]);
    progress_finish(&c->bar);
    cli_names_free(&names);
    if (status == 0)
        ffdb_stat_db(c->dst, dst_st);
    ffdb_close(c->dst);
    c->dst = NULL;
    if (status == 0)
        status = settle(dst_path, dst_st->page_count * dst_st->page_size);
    return status;
}

static int compact_options(int argc, char **argv, double *fill, unsigned *page_size, int *status)
{
    static const struct option opts[] = {{"fill", required_argument, NULL, 'F'},
                                         {"page-size", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int c;
    while ((c = cli_getopt(&cmd_compact, argc, argv, "F:P:", opts, status)) != -1) {
        if (c == CLI_OPT_STOP)
            return -1;
        if (c == 'F' && cli_parse_fill(optarg, fill) < 0)
            *status = cli_usage_error(&cmd_compact, "--fill needs a number in [0.3, 1.0]");
        else if (c == 'P' && cli_parse_page_size(optarg, page_size) < 0)
            *status = cli_usage_error(&cmd_compact, "page size must be 4096, 8192 or 16384");
        if (*status)
            return -1;
    }
    return 0;
}

static int run_compact(int argc, char **argv)
{
    struct copy c;
    struct stat sb;
    ffdb_stat src_st, dst_st;
    ffdb_check_result res;
    unsigned page_size = 0;
    const char *src, *dst;
    char b1[32], b2[32];
    int status = 0, rc;

    memset(&c, 0, sizeof(c));
    c.fill = DEFAULT_FILL;
    if (compact_options(argc, argv, &c.fill, &page_size, &status) < 0)
        return status;
    if ((status = cli_want_args(&cmd_compact, argc - optind, 2, 2)) != 0)
        return status;
    src = argv[optind];
    dst = argv[optind + 1];
    if (lstat(dst, &sb) == 0)
        return cli_usage_error(&cmd_compact, "%s exists; compact writes a new file only", dst);
    if ((status = cli_open("compact", src, FFDB_RDONLY, 0, &c.src)) != 0)
        return status;
    ffdb_stat_db(c.src, &src_st);
    if ((rc = ffdb_begin_read(c.src, &c.snap)) < 0) {
        status = cli_fail("compact", src, rc);
    } else if ((status = cli_open("compact", dst, FFDB_NOSYNC,
                                  page_size ? page_size : src_st.page_size, &c.dst)) == 0) {
        status = copy_all(&c, dst, &dst_st);
        if (status == 0)
            status = verify(dst, c.entries, &res);
        if (status != 0)
            unlink(dst);
    }
    ffdb_abort(c.snap);
    ffdb_close(c.src);
    if (status == 0)
        printf("compacted %s (%s, %llu pages) into %s (%s, %llu pages): %llu bucket%s, %llu "
               "entries, check clean\n",
               src, cli_bytes(src_st.file_bytes, b1), (unsigned long long)src_st.page_count, dst,
               cli_bytes(dst_st.page_count * dst_st.page_size, b2),
               (unsigned long long)dst_st.page_count, (unsigned long long)res.buckets,
               cli_s(res.buckets), (unsigned long long)res.entries);
    return cli_finish_stdout("compact", status);
}

const struct cli_command cmd_compact = {
    "compact", run_compact, "compact SRC DST [--fill F] [--page-size N]",
    "Rewrite SRC's live data densely into a new file DST, then check DST.",
    "Copies one snapshot of SRC, bucket by bucket in key order, with the bulk\n"
    "loader into DST (which must not exist), cuts DST to the pages it uses, and\n"
    "runs a full check on it. The result holds the same buckets, keys and values\n"
    "in fewer pages. On any failure DST is removed. SRC is never changed.\n\n"
    "  --fill F        fill factor of the new pages, 0.3 to 1.0 (default 1.0)\n"
    "  --page-size N   page size of DST (default: SRC's)\n"};
