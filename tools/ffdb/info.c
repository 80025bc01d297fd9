/*
 * info.c — the commands that describe a file: `info` (both meta pages and
 * the figures of the last commit), `buckets` (each bucket's tree record)
 * and `stat` (a walk of each bucket: fill, key and value bytes).
 *
 * All three are read-only: the file is opened with FFDB_RDONLY (info also
 * through the raw inspector, so it can show the metas of a file ffdb_open
 * refuses). Human tables by default, --json for scripts. They never write.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/inspect.h"
#include "tools/ffdb/cli.h"
#include "tools/ffdb/json.h"

/* ---- info ------------------------------------------------------------------ */

struct open_result {
    int rc; /* of ffdb_open */
    ffdb_error_info err;
    ffdb_stat st; /* when rc == 0 */
};

static void open_for_info(const char *path, struct open_result *r)
{
    ffdb_options opt;
    ffdb *db = NULL;

    memset(r, 0, sizeof(*r));
    memset(&opt, 0, sizeof(opt));
    opt.flags = FFDB_RDONLY;
    opt.buffer_pages = 16; /* nothing is read past the metas and the freelist */
    r->rc = ffdb_open(path, &opt, &db);
    if (r->rc < 0) {
        ffdb_last_error(&r->err);
        return;
    }
    ffdb_stat_db(db, &r->st);
    ffdb_close(db);
}

static void print_meta(const struct inspect_meta *m, int current)
{
    printf("meta %u       ", m->slot);
    if (m->status == 0)
        printf("valid, txid %llu, %llu pages, %llu bucket%s, checksum ok%s\n",
               (unsigned long long)m->txid, (unsigned long long)m->page_count,
               (unsigned long long)m->bucket_count, cli_s(m->bucket_count),
               current ? " (current)" : "");
    if (m->status == 0 && m->base != 0) /* FFDB_DEFERSYNC: format.h */
        printf("             base %llu: falls back to txid %llu if its commit list fails\n",
               (unsigned long long)m->base, (unsigned long long)(m->base - 1));
    else if (m->magic_ok)
        printf("invalid: %s; checksum %s, claims txid %llu, %llu pages\n", m->why,
               m->checksum_ok ? "ok" : "bad", (unsigned long long)m->txid,
               (unsigned long long)m->page_count);
    else
        printf("invalid: %s\n", m->why);
}

static void info_human(const char *path, const struct inspect_info *ii, const struct open_result *r)
{
    char b1[32], b2[32];
    printf("file         %s\n", path);
    if (ii->file_bytes < 1024)
        printf("size         %llu bytes\n", (unsigned long long)ii->file_bytes);
    else
        printf("size         %s (%llu bytes)\n", cli_bytes(ii->file_bytes, b1),
               (unsigned long long)ii->file_bytes);
    printf("page size    %u%s\n", ii->page_size,
           ii->current < 0 ? " (no valid meta: a guess)" : "");
    if (ii->current >= 0)
        printf("format       version %u\n", ii->meta[ii->current].version);
    print_meta(&ii->meta[0], ii->current == 0);
    print_meta(&ii->meta[1], ii->current == 1);
    if (r->rc < 0) {
        printf("open         failed: %s: %s", ffdb_strerror(r->rc), r->err.message);
        if (r->err.pgno != UINT64_MAX)
            printf(" (page %llu)", (unsigned long long)r->err.pgno);
        printf("\n");
        return;
    }
    printf("txid         %llu\n", (unsigned long long)r->st.txid);
    printf("pages        %llu in use (%s)", (unsigned long long)r->st.page_count,
           cli_bytes(r->st.page_count * r->st.page_size, b2));
    if (r->st.file_bytes / r->st.page_size > r->st.page_count)
        printf("; the file holds %llu (it grows ahead in chunks)",
               (unsigned long long)(r->st.file_bytes / r->st.page_size));
    printf("\nfree pages   %llu: %llu reusable, %llu pending (kept for snapshots older than "
           "the commit that freed them)\n",
           (unsigned long long)r->st.free_pages,
           (unsigned long long)(r->st.free_pages - r->st.pending_pages),
           (unsigned long long)r->st.pending_pages);
    printf("freelist     %llu chain page%s\n", (unsigned long long)r->st.freelist_pages,
           r->st.freelist_pages == 1 ? "" : "s");
    printf("buckets      %llu\n", (unsigned long long)r->st.bucket_count);
    printf("direct I/O   %s\n", r->st.direct_io ? "on" : "off (the filesystem refused O_DIRECT)");
    printf("io_uring     %s\n", r->st.io_uring ? "on" : "off (read-only handles do not use it)");
}

static void json_meta(struct json *j, const struct inspect_meta *m)
{
    json_begin_object(j);
    json_kv_u64(j, "slot", m->slot);
    json_kv_bool(j, "valid", m->status == 0);
    json_kv_str(j, "status", m->why);
    json_kv_bool(j, "checksum_ok", m->checksum_ok);
    json_kv_bool(j, "magic_ok", m->magic_ok);
    json_kv_u64(j, "version", m->version);
    json_kv_u64(j, "page_size", m->page_size_field);
    json_kv_u64(j, "txid", m->txid);
    json_kv_u64(j, "page_count", m->page_count);
    json_kv_u64(j, "freelist_root", m->freelist_root);
    json_kv_u64(j, "freelist_pages", m->freelist_pages);
    json_kv_u64(j, "bucket_count", m->bucket_count);
    json_kv_u64(j, "base", m->base);
    json_kv_u64(j, "catalog_root", m->catalog.root);
    json_end_object(j);
}

static void info_json(const char *path, const struct inspect_info *ii, const struct open_result *r)
{
    struct json j;
    json_init(&j, stdout);
    json_begin_object(&j);
    json_kv_str(&j, "file", path);
    json_kv_u64(&j, "file_bytes", ii->file_bytes);
    json_kv_u64(&j, "page_size", ii->page_size);
    json_key(&j, "format_version");
    if (ii->current >= 0)
        json_u64(&j, ii->meta[ii->current].version);
    else
        json_null(&j);
    json_key(&j, "current_meta");
    if (ii->current >= 0)
        json_u64(&j, (uint64_t)ii->current);
    else
        json_null(&j);
    json_key(&j, "metas");
    json_begin_array(&j);
    json_meta(&j, &ii->meta[0]);
    json_meta(&j, &ii->meta[1]);
    json_end_array(&j);
    json_key(&j, "open");
    json_begin_object(&j);
    json_kv_bool(&j, "ok", r->rc == 0);
    if (r->rc < 0) {
        json_kv_str(&j, "error", ffdb_strerror(r->rc));
        json_kv_str(&j, "message", r->err.message);
        json_key(&j, "page");
        if (r->err.pgno != UINT64_MAX)
            json_u64(&j, r->err.pgno);
        else
            json_null(&j);
    }
    json_end_object(&j);
    if (r->rc == 0) {
        json_kv_u64(&j, "txid", r->st.txid);
        json_kv_u64(&j, "page_count", r->st.page_count);
        json_kv_u64(&j, "free_pages", r->st.free_pages);
        json_kv_u64(&j, "reusable_pages", r->st.free_pages - r->st.pending_pages);
        json_kv_u64(&j, "pending_pages", r->st.pending_pages);
        json_kv_u64(&j, "freelist_pages", r->st.freelist_pages);
        json_kv_u64(&j, "bucket_count", r->st.bucket_count);
        json_kv_bool(&j, "direct_io", (int)r->st.direct_io);
        json_kv_bool(&j, "io_uring", (int)r->st.io_uring);
    }
    json_end_object(&j);
    json_end(&j);
}

static int run_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
    struct inspect *ins;
    struct inspect_info ii;
    struct open_result r;
    int c, json = 0, status;

    while ((c = cli_getopt(&cmd_info, argc, argv, "j", opts, &status)) != -1) {
        if (c == CLI_OPT_STOP)
            return status;
        json = 1;
    }
    if ((status = cli_want_args(&cmd_info, argc - optind, 1, 1)) != 0)
        return status;
    status = inspect_open(argv[optind], &ins);
    if (status == FFDB_NOTFOUND) {
        cli_msg("info", "%s: no such file", argv[optind]);
        return EXIT_MISSING;
    }
    if (status < 0)
        return cli_fail("info", argv[optind], status);
    inspect_get_info(ins, &ii);
    inspect_close(ins);
    open_for_info(argv[optind], &r);
    if (json)
        info_json(argv[optind], &ii, &r);
    else
        info_human(argv[optind], &ii, &r);
    status = cli_finish_stdout("info", EXIT_CLEAN);
    if (r.rc < 0 && status == EXIT_CLEAN) {
        cli_msg("info", "%s: cannot be opened: %s", argv[optind], ffdb_strerror(r.rc));
        status = cli_exit_code(r.rc);
    }
    return status;
}

const struct cli_command cmd_info = {
    "info", run_info, "info FILE [--json]",
    "Both meta pages, page size, page count, file size, free pages, I/O mode.",
    "Shows each meta slot with its validity and checksum status (even when it is\n"
    "garbage), which one is current, the format version, the page count of the\n"
    "last commit against the size of the file, free pages (reusable now and still\n"
    "pending for old snapshots), the freelist chain, the bucket count, and whether\n"
    "direct I/O and io_uring are in use. A file that cannot be opened still has\n"
    "its metas shown; the exit status then says why (4 not ffdb, 5 corrupt).\n\n"
    "  --json   one JSON object instead of the table\n"};

/* ---- buckets --------------------------------------------------------------------- */

/* Open path read-only and begin a snapshot; 0 or an exit status. */
static int begin_snapshot(const char *cmd, const char *path, ffdb **db, ffdb_txn **txn)
{
    int rc, status = cli_open(cmd, path, FFDB_RDONLY, 0, db);
    if (status)
        return status;
    rc = ffdb_begin_read(*db, txn);
    if (rc < 0) {
        ffdb_close(*db);
        return cli_fail(cmd, path, rc);
    }
    return 0;
}

static int name_width(const struct cli_names *names, size_t min)
{
    size_t w = min;
    for (size_t i = 0; i < names->count; i++) {
        char *s = esc_string(names->v[i].data, names->v[i].len, 0);
        size_t n = s ? strlen(s) : 0;
        free(s);
        if (n > w)
            w = n;
    }
    return (int)(w > 40 ? 40 : w);
}

static int run_buckets(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
    struct cli_names names;
    struct json j;
    ffdb *db;
    ffdb_txn *txn;
    int c, json = 0, status, width;

    while ((c = cli_getopt(&cmd_buckets, argc, argv, "j", opts, &status)) != -1) {
        if (c == CLI_OPT_STOP)
            return status;
        json = 1;
    }
    if ((status = cli_want_args(&cmd_buckets, argc - optind, 1, 1)) != 0)
        return status;
    if ((status = begin_snapshot("buckets", argv[optind], &db, &txn)) != 0)
        return status;
    if ((status = cli_list_buckets("buckets", txn, &names)) != 0)
        goto out;
    width = name_width(&names, 4);
    json_init(&j, stdout);
    if (json) {
        json_begin_object(&j);
        json_key(&j, "buckets");
        json_begin_array(&j);
    } else {
        printf("%-*s %12s %5s %8s %10s %10s\n", width, "NAME", "ENTRIES", "DEPTH", "BRANCH", "LEAF",
               "OVERFLOW");
    }
    for (size_t i = 0; i < names.count && status == 0; i++) {
        ffdb_bucket *b;
        struct inspect_tree t;
        char *shown;
        if ((status = cli_bucket("buckets", txn, names.v[i].data, names.v[i].len, &b)) != 0)
            break;
        inspect_bucket_tree(b, &t);
        shown = esc_string(names.v[i].data, names.v[i].len, 0);
        if (!shown) {
            status = cli_fail("buckets", "name", FFDB_ENOMEM);
            break;
        }
        if (json) {
            json_begin_object(&j);
            json_kv_str(&j, "name", shown);
            json_kv_u64(&j, "entries", t.entries);
            json_kv_u64(&j, "depth", t.depth);
            json_kv_u64(&j, "branch_pages", t.branch_pages);
            json_kv_u64(&j, "leaf_pages", t.leaf_pages);
            json_kv_u64(&j, "overflow_pages", t.overflow_pages);
            json_end_object(&j);
        } else {
            printf("%-*s %12llu %5u %8llu %10llu %10llu\n", width, shown,
                   (unsigned long long)t.entries, t.depth, (unsigned long long)t.branch_pages,
                   (unsigned long long)t.leaf_pages, (unsigned long long)t.overflow_pages);
        }
        free(shown);
    }
    if (json && status == 0) {
        json_end_array(&j);
        json_end_object(&j);
        json_end(&j);
    }
    cli_names_free(&names);
out:
    ffdb_abort(txn);
    ffdb_close(db);
    return cli_finish_stdout("buckets", status);
}

const struct cli_command cmd_buckets = {
    "buckets", run_buckets, "buckets FILE [--json]",
    "List the buckets: entries, depth, pages by kind.",
    "One line per bucket, in name order, from each bucket's tree record (no walk):\n"
    "entries, tree depth, and its branch, leaf and overflow pages. Names are shown\n"
    "as escaped text.\n\n"
    "  --json   {\"buckets\": [{\"name\", \"entries\", \"depth\", ...}]}\n"};

/* ---- stat ------------------------------------------------------------------------- */

struct bucket_row {
    char *shown;
    ffdb_bucket_stat st;
};

static void stat_human(const ffdb_stat *st, const struct bucket_row *rows, size_t n, int width)
{
    char b1[32], b2[32];
    printf("txid %llu, %llu pages of %u bytes (%s), file %s\n", (unsigned long long)st->txid,
           (unsigned long long)st->page_count, st->page_size,
           cli_bytes(st->page_count * st->page_size, b1), cli_bytes(st->file_bytes, b2));
    printf("free pages %llu (%llu pending), freelist %llu page%s, %llu bucket%s\n\n",
           (unsigned long long)st->free_pages, (unsigned long long)st->pending_pages,
           (unsigned long long)st->freelist_pages, cli_s(st->freelist_pages),
           (unsigned long long)st->bucket_count, cli_s(st->bucket_count));
    printf("%-*s %12s %5s %8s %10s %10s %6s %14s %14s\n", width, "BUCKET", "ENTRIES", "DEPTH",
           "BRANCH", "LEAF", "OVERFLOW", "FILL", "KEY BYTES", "VALUE BYTES");
    for (size_t i = 0; i < n; i++) {
        const ffdb_bucket_stat *s = &rows[i].st;
        printf("%-*s %12llu %5u %8llu %10llu %10llu %5.1f%% %14llu %14llu\n", width, rows[i].shown,
               (unsigned long long)s->entries, s->depth, (unsigned long long)s->branch_pages,
               (unsigned long long)s->leaf_pages, (unsigned long long)s->overflow_pages,
               s->fill * 100, (unsigned long long)s->key_bytes, (unsigned long long)s->value_bytes);
    }
}

static void stat_json(const ffdb_stat *st, const struct bucket_row *rows, size_t n)
{
    struct json j;
    json_init(&j, stdout);
    json_begin_object(&j);
    json_kv_u64(&j, "txid", st->txid);
    json_kv_u64(&j, "page_size", st->page_size);
    json_kv_u64(&j, "page_count", st->page_count);
    json_kv_u64(&j, "file_bytes", st->file_bytes);
    json_kv_u64(&j, "free_pages", st->free_pages);
    json_kv_u64(&j, "pending_pages", st->pending_pages);
    json_kv_u64(&j, "freelist_pages", st->freelist_pages);
    json_kv_u64(&j, "bucket_count", st->bucket_count);
    json_key(&j, "buckets");
    json_begin_array(&j);
    for (size_t i = 0; i < n; i++) {
        const ffdb_bucket_stat *s = &rows[i].st;
        json_begin_object(&j);
        json_kv_str(&j, "name", rows[i].shown);
        json_kv_u64(&j, "entries", s->entries);
        json_kv_u64(&j, "depth", s->depth);
        json_kv_u64(&j, "branch_pages", s->branch_pages);
        json_kv_u64(&j, "leaf_pages", s->leaf_pages);
        json_kv_u64(&j, "overflow_pages", s->overflow_pages);
        json_kv_double(&j, "fill", s->fill);
        json_kv_u64(&j, "key_bytes", s->key_bytes);
        json_kv_u64(&j, "value_bytes", s->value_bytes);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    json_end(&j);
}

/* Walk each bucket of names into rows[i]; 0 or an exit status. */
static int collect_rows(ffdb_txn *txn, const struct cli_names *names, struct bucket_row *rows)
{
    for (size_t i = 0; i < names->count; i++) {
        ffdb_bucket *b;
        int rc, status = cli_bucket("stat", txn, names->v[i].data, names->v[i].len, &b);
        if (status)
            return status;
        rc = ffdb_stat_bucket(b, &rows[i].st);
        if (rc < 0)
            return cli_fail("stat", "bucket walk", rc);
        rows[i].shown = esc_string(names->v[i].data, names->v[i].len, 0);
        if (!rows[i].shown)
            return cli_fail("stat", "name", FFDB_ENOMEM);
    }
    return 0;
}

static int run_stat(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
    struct cli_names names = {0, NULL};
    struct bucket_row *rows = NULL;
    ffdb_stat st;
    ffdb *db;
    ffdb_txn *txn;
    int c, json = 0, status;

    while ((c = cli_getopt(&cmd_stat, argc, argv, "j", opts, &status)) != -1) {
        if (c == CLI_OPT_STOP)
            return status;
        json = 1;
    }
    if ((status = cli_want_args(&cmd_stat, argc - optind, 1, 2)) != 0)
        return status;
    if ((status = begin_snapshot("stat", argv[optind], &db, &txn)) != 0)
        return status;
    if (argc - optind == 2) {
        names.v = calloc(1, sizeof(*names.v));
        if (names.v)
            status = cli_arg_bytes(&cmd_stat, "bucket", argv[optind + 1], 0, &names.v[0].data,
                                   &names.v[0].len);
        else
            status = cli_fail("stat", "arguments", FFDB_ENOMEM);
        names.count = status == 0 && names.v ? 1 : 0;
    } else {
        status = cli_list_buckets("stat", txn, &names);
    }
    if (status == 0 && !(rows = calloc(names.count + 1, sizeof(*rows))))
        status = cli_fail("stat", "rows", FFDB_ENOMEM);
    if (status == 0)
        status = collect_rows(txn, &names, rows);
    if (status == 0) {
        ffdb_stat_db(db, &st);
        if (json)
            stat_json(&st, rows, names.count);
        else
            stat_human(&st, rows, names.count, name_width(&names, 6));
    }
    for (size_t i = 0; rows && i < names.count; i++)
        free(rows[i].shown);
    free(rows);
    cli_names_free(&names);
    ffdb_abort(txn);
    ffdb_close(db);
    return cli_finish_stdout("stat", status);
}

const struct cli_command cmd_stat = {
    "stat", run_stat, "stat FILE [BUCKET] [--json]",
    "Per bucket: entries, depth, pages by kind, fill, key and value bytes.",
    "Walks every branch and leaf page of each bucket (or of BUCKET only) and shows\n"
    "its entries, depth, pages by kind, fill (bytes used in branch and leaf pages\n"
    "over their capacity) and the bytes of its keys and values, below the figures\n"
    "of the file: txid, pages, free pages, freelist pages, buckets.\n\n"
    "  --json   one object: file figures and a \"buckets\" array\n"};
