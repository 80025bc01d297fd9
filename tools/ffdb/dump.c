/*
 * dump.c — `dump` writes buckets as portable text, `load` reads that text
 * (or plain TSV) back into a file.
 *
 * The dump format (README, "The ffdb tool"):
 *
 *   ffdb-dump 1 escaped          header: format version and encoding (or hex)
 *   bucket <name>                a bucket section begins
 *   <key>\t<value>               one record a line, in key order
 *   end <count>                  the section ends; count checks for truncation
 *
 * Keys, values and names are escaped text or hex (escape.c), so a record
 * line holds exactly one tab and directives hold none. Lines without a tab
 * that are empty or start with '#' are ignored by load.
 *
 * dump opens the file FFDB_RDONLY and reads one snapshot. load writes: a
 * bucket that is empty when its section starts is filled with the bulk
 * loader while keys keep increasing (one transaction); the first key out of
 * order publishes what was bulk-loaded and the rest goes in with ffdb_put in
 * transactions of --batch records. Committed batches stay if load fails
 * later on.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/inspect.h"
#include "tools/ffdb/cli.h"
#include "tools/ffdb/progress.h"

#define DUMP_MAGIC "ffdb-dump"
#define DUMP_VERSION 1
/* A batch of puts is committed after this many records or bytes. */
#define DEFAULT_BATCH 10000u
#define BATCH_BYTES (64u << 20)

/* ---- dump -------------------------------------------------------------------- */

static int dump_bucket(ffdb_bucket *b, const struct cli_name *name, int hex, struct progress *pr,
                       uint64_t *done)
{
    ffdb_cursor *cur;
    ffdb_val k, v;
    uint64_t count = 0;
    int rc;

    fputs("bucket ", stdout);
    esc_write(stdout, name->data, name->len, hex);
    putchar('\n');
    if ((rc = ffdb_cursor_open(b, &cur)) < 0)
        return cli_fail("dump", "cursor", rc);
    for (rc = ffdb_cursor_first(cur, &k, &v); rc == 0; rc = ffdb_cursor_next(cur, &k, &v)) {
        esc_write(stdout, k.data, k.size, hex);
        putchar('\t');
        esc_write(stdout, v.data, v.size, hex);
        putchar('\n');
        count++;
        progress_update(pr, ++*done);
    }
    ffdb_cursor_close(cur);
    if (rc != FFDB_NOTFOUND)
        return cli_fail("dump", "scan", rc);
    printf("end %llu\n", (unsigned long long)count);
    return ferror(stdout) ? cli_finish_stdout("dump", EXIT_ERROR) : 0;
}

/* The buckets to dump: those named (decoded), else all of them. */
static int dump_names(ffdb_txn *txn, int argc, char **argv, struct cli_names *names)
{
    if (argc == 0)
        return cli_list_buckets("dump", txn, names);
    memset(names, 0, sizeof(*names));
    names->v = calloc((size_t)argc, sizeof(*names->v));
    if (!names->v)
        return cli_fail("dump", "arguments", FFDB_ENOMEM);
    for (int i = 0; i < argc; i++) {
        int status =
            cli_arg_bytes(&cmd_dump, "bucket", argv[i], 0, &names->v[i].data, &names->v[i].len);
        if (status)
            return status;
        names->count++;
    }
    return 0;
}

static int run_dump(int argc, char **argv)
{
    static const struct option opts[] = {
        {"hex", no_argument, NULL, 'x'}, {"help", no_argument, NULL, 'h'}, {0}};
    struct cli_names names = {0, NULL};
    ffdb_bucket **buckets = NULL;
    struct progress pr;
    uint64_t total = 0, done = 0;
    int c, hex = 0, status, rc;
    ffdb *db = NULL;
    ffdb_txn *txn = NULL;

    while ((c = cli_getopt(&cmd_dump, argc, argv, "x", opts, &status)) != -1) {
        if (c == CLI_OPT_STOP)
            return status;
        hex = 1;
    }
    if ((status = cli_want_args(&cmd_dump, argc - optind, 1, -1)) != 0 ||
        (status = cli_open("dump", argv[optind], FFDB_RDONLY, 0, &db)) != 0)
        return status;
    if ((rc = ffdb_begin_read(db, &txn)) < 0) {
        status = cli_fail("dump", argv[optind], rc);
        goto out;
    }
    if ((status = dump_names(txn, argc - optind - 1, argv + optind + 1, &names)) != 0)
        goto out;
    /* Every bucket is opened before the first line, so a missing one
     * leaves no partial dump behind. */
    if (!(buckets = calloc(names.count + 1, sizeof(*buckets)))) {
        status = cli_fail("dump", "buckets", FFDB_ENOMEM);
        goto out;
    }
    for (size_t i = 0; i < names.count && status == 0; i++) {
        struct inspect_tree t;
        status = cli_bucket("dump", txn, names.v[i].data, names.v[i].len, &buckets[i]);
        if (status == 0) {
            inspect_bucket_tree(buckets[i], &t);
            total += t.entries;
        }
    }
    if (status)
        goto out;
    progress_start(&pr, "dump", "entries", total);
    printf("%s %d %s\n", DUMP_MAGIC, DUMP_VERSION, hex ? "hex" : "escaped");
    for (size_t i = 0; i < names.count && status == 0; i++)
        status = dump_bucket(buckets[i], &names.v[i], hex, &pr, &done);
    progress_finish(&pr);
out:
    free(buckets);
    cli_names_free(&names);
    ffdb_abort(txn);
    ffdb_close(db);
    return cli_finish_stdout("dump", status);
}

const struct cli_command cmd_dump = {
    "dump", run_dump, "dump FILE [BUCKET...] [--hex]",
    "Write buckets (all by default) as portable text on stdout.",
    "Writes one snapshot in the dump format that 'ffdb load' reads back exactly:\n\n"
    "  ffdb-dump 1 escaped        (or: ffdb-dump 1 hex)\n"
    "  bucket <name>\n"
    "  <key><TAB><value>          one line per entry, in key order\n"
    "  end <count>\n\n"
    "Names, keys and values are escaped text: printable ASCII as is, except\n"
    "\\\\ \\t \\n \\r and \\xHH for every other byte; or two hex digits a byte.\n\n"
    "  --hex    hex instead of escaped text\n"};

/* ---- load: input ----------------------------------------------------------------- */

struct input {
    char *line;
    size_t cap;
    size_t len; /* of the line, without its line break */
    uint64_t lineno, bytes;
};

/* Next line into in->line; 0 at the end of the input. */
static int next_line(struct input *in)
{
    ssize_t got = getline(&in->line, &in->cap, stdin);
    if (got < 0)
        return 0;
    in->lineno++;
    in->bytes += (uint64_t)got;
    in->len = (size_t)got;
    if (in->len > 0 && in->line[in->len - 1] == '\n')
        in->len--;
    if (in->len > 0 && in->line[in->len - 1] == '\r')
        in->len--; /* CRLF input; an escaped \r is never a raw byte */
    in->line[in->len] = '\0';
    return 1;
}

static int bad_input(const struct input *in, const char *what)
{
    cli_msg("load", "line %llu: %s", (unsigned long long)in->lineno, what);
    return EXIT_INPUT;
}

/* Split the line at its first tab and decode both halves in place. */
static int parse_record(struct input *in, int hex, int literal, char **key, size_t *klen,
                        char **val, size_t *vlen)
{
    char *tab = memchr(in->line, '\t', in->len);
    if (!tab)
        return bad_input(in, "a record needs a tab between key and value");
    *key = in->line;
    *val = tab + 1;
    *klen = (size_t)(tab - in->line);
    *vlen = in->len - *klen - 1;
    if (literal)
        return 0;
    if (esc_decode(*key, *klen, hex, klen) < 0 || esc_decode(*val, *vlen, hex, vlen) < 0)
        return bad_input(in, hex ? "malformed hex" : "malformed escape (\\\\ \\t \\n \\r \\xHH)");
    return 0;
}

/* ---- load: writing one bucket ------------------------------------------------------ */

struct loader {
    ffdb *db;
    double fill;
    uint64_t batch;
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bulk *bulk;
    char *name;
    size_t name_len;
    uint64_t in_txn, txn_bytes, records;
};

static int open_bucket(struct loader *l)
{
    int rc = ffdb_begin_write(l->db, &l->txn);
    if (rc < 0)
        return cli_fail("load", "transaction", rc);
    rc = ffdb_bucket_open(l->txn, l->name, l->name_len, &l->b);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(l->txn, l->name, l->name_len, &l->b);
    if (rc == FFDB_EINVAL) {
        cli_msg("load", "bucket names are 1 to %u bytes", FFDB_MAX_KEY_SIZE);
        return EXIT_INPUT;
    }
    return rc < 0 ? cli_fail("load", "bucket", rc) : 0;
}

/* Commit what is pending and, if more is coming, start the next batch. */
static int commit_batch(struct loader *l, int more)
{
    int rc = ffdb_commit(l->txn);
    l->txn = NULL;
    l->b = NULL;
    l->in_txn = l->txn_bytes = 0;
    if (rc < 0)
        return cli_fail("load", "commit", rc);
    return more ? open_bucket(l) : 0;
}

static int loader_begin(struct loader *l, const char *name, size_t len)
{
    struct inspect_tree t;
    int status, rc;

    free(l->name);
    l->name = malloc(len ? len : 1);
    if (!l->name)
        return cli_fail("load", "bucket", FFDB_ENOMEM);
    memcpy(l->name, name, len);
    l->name_len = len;
    l->records = 0;
    if ((status = open_bucket(l)) != 0)
        return status;
    inspect_bucket_tree(l->b, &t);
    if (t.entries == 0 && (rc = ffdb_bulk_begin(l->b, l->fill, &l->bulk)) < 0)
        return cli_fail("load", "bulk load", rc);
    return 0;
}

static int loader_add(struct loader *l, const struct input *in, const char *k, size_t klen,
                      const char *v, size_t vlen)
{
    int rc, status;
    if (l->bulk) {
        rc = ffdb_bulk_append(l->bulk, k, klen, v, vlen);
        if (rc != FFDB_EKEYORDER)
            goto done;
        /* Not sorted from here on: keep what was bulk-loaded, put the rest. */
        rc = ffdb_bulk_finish(l->bulk);
        l->bulk = NULL;
        if (rc < 0)
            return cli_fail("load", "bulk load", rc);
        if ((status = commit_batch(l, 1)) != 0)
            return status;
    }
    rc = ffdb_put(l->b, k, klen, v, vlen);
    l->in_txn++;
    l->txn_bytes += klen + vlen;
done:
    if (rc == FFDB_EINVAL)
        return bad_input(in, "key over 1024 bytes or value over 4 GiB - 1");
    if (rc < 0)
        return cli_fail("load", "write", rc);
    l->records++;
    if (!l->bulk && (l->in_txn >= l->batch || l->txn_bytes >= BATCH_BYTES))
        return commit_batch(l, 1);
    return 0;
}

static int loader_end(struct loader *l)
{
    if (l->bulk) {
        int rc = ffdb_bulk_finish(l->bulk);
        l->bulk = NULL;
        if (rc < 0)
            return cli_fail("load", "bulk load", rc);
    }
    return commit_batch(l, 0);
}

static void loader_abort(struct loader *l)
{
    ffdb_bulk_abort(l->bulk);
    ffdb_abort(l->txn);
    free(l->name);
    l->bulk = NULL;
    l->txn = NULL;
    l->name = NULL;
}

/* ---- load: the two input forms -------------------------------------------------------- */

struct load_totals {
    uint64_t buckets, records;
};

/* "end" or "end N" closes the section that held count records. */
static int end_section(struct loader *l, struct input *in, uint64_t count, int skipping,
                       struct load_totals *tot)
{
    uint64_t said;
    if (in->len > 3 && (cli_parse_u64(in->line + 4, &said) < 0 || said != count)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "the section holds %llu records but its end line says '%s'",
                 (unsigned long long)count, in->line + 4);
        return bad_input(in, msg);
    }
    if (skipping)
        return 0;
    tot->buckets++;
    tot->records += count;
    return loader_end(l);
}

static int start_section(struct loader *l, struct input *in, int hex, const struct cli_name *only,
                         int *skipping)
{
    char *name = in->line + 7;
    size_t len;
    if (esc_decode(name, in->len - 7, hex, &len) < 0 || len == 0)
        return bad_input(in, "malformed bucket name");
    *skipping = only && (only->len != len || memcmp(only->data, name, len) != 0);
    return *skipping ? 0 : loader_begin(l, name, len);
}

static int load_dump(struct loader *l, struct input *in, int hex, const struct cli_name *only,
                     struct progress *pr, struct load_totals *tot)
{
    int in_section = 0, skipping = 0, found = 0, status;
    uint64_t count = 0;

    while (next_line(in)) {
        progress_update(pr, in->bytes);
        if (memchr(in->line, '\t', in->len)) {
            char *k, *v;
            size_t klen, vlen;
            if (!in_section)
                return bad_input(in, "record outside a bucket section");
            count++;
            if (skipping)
                continue;
            if ((status = parse_record(in, hex, 0, &k, &klen, &v, &vlen)) != 0 ||
                (status = loader_add(l, in, k, klen, v, vlen)) != 0)
                return status;
        } else if (in->len == 0 || in->line[0] == '#') {
            continue;
        } else if (strncmp(in->line, "bucket ", 7) == 0) {
            if (in_section)
                return bad_input(in, "bucket line inside a section (missing end line)");
            if ((status = start_section(l, in, hex, only, &skipping)) != 0)
                return status;
            in_section = 1;
            found |= !skipping;
            count = 0;
        } else if (strcmp(in->line, "end") == 0 || strncmp(in->line, "end ", 4) == 0) {
            if (!in_section)
                return bad_input(in, "end line outside a bucket section");
            if ((status = end_section(l, in, count, skipping, tot)) != 0)
                return status;
            in_section = 0;
        } else {
            return bad_input(in, "expected 'bucket NAME', 'end COUNT' or a KEY<TAB>VALUE record");
        }
    }
    if (in_section)
        return bad_input(in, "the input ends inside a bucket section (truncated dump?)");
    if (only && !found) {
        char *shown = esc_string(only->data, only->len, 0);
        cli_msg("load", "bucket not found in the dump: %s", shown ? shown : "?");
        free(shown);
        return EXIT_NOBUCKET;
    }
    return 0;
}

/* Plain TSV: every line KEY<TAB>VALUE into one bucket; the first line was
 * read already (have_line). Empty lines are skipped. */
static int load_tsv(struct loader *l, struct input *in, int have_line, int hex, int literal,
                    const struct cli_name *bucket, struct progress *pr, struct load_totals *tot)
{
    int status = loader_begin(l, bucket->data, bucket->len);
    for (; status == 0 && (have_line || next_line(in)); have_line = 0) {
        char *k, *v;
        size_t klen, vlen;
        progress_update(pr, in->bytes);
        if (in->len == 0)
            continue;
        if ((status = parse_record(in, hex, literal, &k, &klen, &v, &vlen)) == 0)
            status = loader_add(l, in, k, klen, v, vlen);
    }
    if (status == 0) {
        tot->buckets = 1;
        tot->records = l->records;
        status = loader_end(l);
    }
    return status;
}

/* Read the header (or the first TSV line) and load the rest. */
static int load_input(struct loader *l, const struct cli_name *bucket, int hex, int escaped,
                      struct progress *pr, struct load_totals *tot)
{
    struct input in = {NULL, 0, 0, 0, 0};
    int status, have = next_line(&in), version = 0;
    char enc[16] = "";

    if (have && strncmp(in.line, DUMP_MAGIC " ", sizeof(DUMP_MAGIC)) == 0) {
        if (sscanf(in.line, DUMP_MAGIC " %d %15s", &version, enc) != 2 || version != DUMP_VERSION ||
            (strcmp(enc, "escaped") != 0 && strcmp(enc, "hex") != 0))
            status = bad_input(&in, "unsupported dump header (this ffdb reads "
                                    "'ffdb-dump 1 escaped' and 'ffdb-dump 1 hex')");
        else
            status = load_dump(l, &in, strcmp(enc, "hex") == 0, bucket, pr, tot);
    } else if (!bucket) {
        status = cli_usage_error(&cmd_load, "input without an ffdb-dump header is TSV: name the "
                                            "BUCKET to load it into");
    } else {
        status = load_tsv(l, &in, have, hex, !hex && !escaped, bucket, pr, tot);
    }
    free(in.line);
    return status;
}

static int load_options(int argc, char **argv, struct loader *l, int *hex, int *escaped,
                        unsigned *page_size, int *status)
{
    static const struct option opts[] = {{"fill", required_argument, NULL, 'F'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"escaped", no_argument, NULL, 'e'},
                                         {"hex", no_argument, NULL, 'x'},
                                         {"page-size", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int c;
    while ((c = cli_getopt(&cmd_load, argc, argv, "F:b:exP:", opts, status)) != -1) {
        if (c == CLI_OPT_STOP)
            return -1;
        if (c == 'e')
            *escaped = 1;
        else if (c == 'x')
            *hex = 1;
        else if (c == 'F' && cli_parse_fill(optarg, &l->fill) < 0)
            *status = cli_usage_error(&cmd_load, "--fill needs a number in [0.3, 1.0]");
        else if (c == 'b' && (cli_parse_u64(optarg, &l->batch) < 0 || l->batch == 0))
            *status = cli_usage_error(&cmd_load, "--batch needs a positive number");
        else if (c == 'P' && cli_parse_page_size(optarg, page_size) < 0)
            *status = cli_usage_error(&cmd_load, "page size must be 4096, 8192 or 16384");
        if (*status)
            return -1;
    }
    return 0;
}

static int run_load(int argc, char **argv)
{
    struct loader l;
    struct cli_name bucket = {NULL, 0};
    struct load_totals tot = {0, 0};
    struct progress pr;
    struct stat st;
    unsigned page_size = 0;
    int hex = 0, escaped = 0, status = 0;

    memset(&l, 0, sizeof(l));
    l.batch = DEFAULT_BATCH;
    if (load_options(argc, argv, &l, &hex, &escaped, &page_size, &status) < 0)
        return status;
    if ((status = cli_want_args(&cmd_load, argc - optind, 1, 2)) != 0)
        return status;
    if (argc - optind == 2 && (status = cli_arg_bytes(&cmd_load, "bucket", argv[optind + 1], 0,
                                                      &bucket.data, &bucket.len)) != 0)
        return status;
    if ((status = cli_open("load", argv[optind], 0, page_size, &l.db)) != 0) {
        free(bucket.data);
        return status;
    }
    progress_start(&pr, "load", "bytes",
                   fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0);
    status = load_input(&l, bucket.data ? &bucket : NULL, hex, escaped, &pr, &tot);
    progress_finish(&pr);
    loader_abort(&l);
    ffdb_close(l.db);
    free(bucket.data);
    if (status == 0)
        printf("loaded %llu record%s into %llu bucket%s\n", (unsigned long long)tot.records,
               cli_s(tot.records), (unsigned long long)tot.buckets, cli_s(tot.buckets));
    return cli_finish_stdout("load", status);
}

const struct cli_command cmd_load = {
    "load", run_load,
    "load FILE [BUCKET] [--fill F] [--batch N] [--escaped | --hex] [--page-size N] < INPUT",
    "Load a dump (or plain TSV into BUCKET) from stdin; creates FILE if needed.",
    "Input starting with an 'ffdb-dump 1' header is a dump (see 'ffdb dump --help');\n"
    "with BUCKET, only that bucket's section is loaded. Any other input is TSV:\n"
    "KEY<TAB>VALUE lines loaded into BUCKET, bytes taken literally (the value is\n"
    "the rest of the line), or decoded with --escaped or --hex. A trailing CR is\n"
    "dropped from every line. Buckets are created as needed; existing keys are\n"
    "overwritten. A bucket that is empty when loading starts is filled by the bulk\n"
    "loader while keys arrive in increasing order (one transaction); other records\n"
    "are written in transactions of --batch records.\n\n"
    "  --fill F        bulk-load fill factor, 0.3 to 1.0 (default 0.7)\n"
    "  --batch N       records per transaction outside bulk loads (default 10000)\n"
    "  --escaped       TSV input is escaped text\n"
    "  --hex           TSV input is hex\n"
    "  --page-size N   page size of a new file: 4096 (default), 8192 or 16384\n"};
