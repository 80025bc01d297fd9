/*
 * data.c — the key/value commands: `get`, `put`, `del` and `scan`.
 *
 * Keys, values and bucket names on the command line are escaped text (or hex
 * with --hex for keys and values), decoded with escape.c; results are
 * printed the same way, so what scan prints, get accepts. get and scan open
 * the file FFDB_RDONLY; put may create the file and the bucket; del needs
 * both to exist and reports a missing key (exit 7) without writing. Each
 * write command is one transaction.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/ffdb/cli.h"
#include "tools/ffdb/json.h"

static int key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static void key_not_found(const char *cmd, const void *key, size_t len, int hex)
{
    char *shown = esc_string(key, len, hex);
    cli_msg(cmd, "key not found: %s", shown ? shown : "?");
    free(shown);
}

/* ---- get -------------------------------------------------------------------- */

static int run_get(int argc, char **argv)
{
    static const struct option opts[] = {{"hex", no_argument, NULL, 'x'},
                                         {"raw", no_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    char *bucket = NULL, *key = NULL;
    size_t blen, klen;
    int c, hex = 0, raw = 0, status, rc;
    ffdb *db = NULL;
    ffdb_txn *txn = NULL;
    ffdb_bucket *b;
    ffdb_val v;

    while ((c = cli_getopt(&cmd_get, argc, argv, "xr", opts, &status)) != -1) {
        if (c == CLI_OPT_STOP)
            return status;
        if (c == 'x')
            hex = 1;
        else
            raw = 1;
    }
    if ((status = cli_want_args(&cmd_get, argc - optind, 3, 3)) != 0 ||
        (status = cli_arg_bytes(&cmd_get, "bucket", argv[optind + 1], 0, &bucket, &blen)) != 0 ||
        (status = cli_arg_bytes(&cmd_get, "key", argv[optind + 2], hex, &key, &klen)) != 0 ||
        (status = cli_open("get", argv[optind], FFDB_RDONLY, 0, &db)) != 0)
        goto out;
    if ((rc = ffdb_begin_read(db, &txn)) < 0) {
        status = cli_fail("get", argv[optind], rc);
        goto out;
    }
    if ((status = cli_bucket("get", txn, bucket, blen, &b)) != 0)
        goto out;
    rc = ffdb_get(b, key, klen, &v);
    if (rc == FFDB_NOTFOUND) {
        key_not_found("get", key, klen, hex);
        status = EXIT_NOKEY;
    } else if (rc < 0) {
        status = cli_fail("get", "get", rc);
    } else if (raw) {
        if (v.size)
            fwrite(v.data, 1, v.size, stdout);
    } else {
        esc_write(stdout, v.data, v.size, hex);
        putchar('\n');
    }
out:
    ffdb_abort(txn);
    ffdb_close(db);
    free(bucket);
    free(key);
    return cli_finish_stdout("get", status);
}

const struct cli_command cmd_get = {
    "get", run_get, "get FILE BUCKET KEY [--hex | --raw]", "Print the value of KEY.",
    "Prints the value as escaped text and a newline; exit status 7 if the key is\n"
    "missing, 6 if the bucket is.\n\n"
    "  --hex    KEY is hex, and the value is printed as hex\n"
    "  --raw    print the value's bytes exactly, with no newline (binary-safe)\n"};

/* ---- put -------------------------------------------------------------------- */

/* All of stdin into a malloc'd buffer. */
static int read_stdin(char **out, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    ssize_t got;

    if (!buf)
        return cli_fail("put", "value", FFDB_ENOMEM);
    while ((got = read(STDIN_FILENO, buf + n, cap - n)) != 0) {
        if (got < 0) {
            free(buf);
            cli_msg("put", "cannot read the value from stdin");
            return EXIT_ERROR;
        }
        n += (size_t)got;
        if (n == cap) {
            char *nb = cap > FFDB_MAX_VALUE_SIZE ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                cli_msg("put", "the value on stdin is too large");
                return EXIT_INPUT;
            }
            buf = nb;
            cap *= 2;
        }
    }
    *out = buf;
    *len = n;
    return 0;
}

/* Open the bucket, creating it if it does not exist. */
static int bucket_for_write(const char *cmd, ffdb_txn *txn, const char *name, size_t len,
                            ffdb_bucket **b)
{
    int rc = ffdb_bucket_open(txn, name, len, b);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(txn, name, len, b);
    if (rc == FFDB_EINVAL) {
        cli_msg(cmd, "bucket names are 1 to %u bytes", FFDB_MAX_KEY_SIZE);
        return EXIT_USAGE;
    }
    return rc < 0 ? cli_fail(cmd, "bucket", rc) : 0;
}

static int run_put(int argc, char **argv)
{
    static const struct option opts[] = {{"hex", no_argument, NULL, 'x'},
                                         {"page-size", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    char *bucket = NULL, *key = NULL, *val = NULL;
    size_t blen, klen, vlen;
    unsigned page_size = 0;
    int c, hex = 0, status, rc;
    ffdb *db = NULL;
    ffdb_txn *txn = NULL;
    ffdb_bucket *b;

    while ((c = cli_getopt(&cmd_put, argc, argv, "xP:", opts, &status)) != -1) {
        if (c == CLI_OPT_STOP)
            return status;
        if (c == 'x')
            hex = 1;
        else if (cli_parse_page_size(optarg, &page_size) < 0)
            return cli_usage_error(&cmd_put, "page size must be 4096, 8192 or 16384");
    }
    if ((status = cli_want_args(&cmd_put, argc - optind, 3, 4)) != 0 ||
        (status = cli_arg_bytes(&cmd_put, "bucket", argv[optind + 1], 0, &bucket, &blen)) != 0 ||
        (status = cli_arg_bytes(&cmd_put, "key", argv[optind + 2], hex, &key, &klen)) != 0)
        goto out;
    if (argc - optind == 4)
        status = cli_arg_bytes(&cmd_put, "value", argv[optind + 3], hex, &val, &vlen);
    else
        status = read_stdin(&val, &vlen);
    if (status != 0 || (status = cli_open("put", argv[optind], 0, page_size, &db)) != 0)
        goto out;
    if ((rc = ffdb_begin_write(db, &txn)) < 0) {
        status = cli_fail("put", argv[optind], rc);
        goto out;
    }
    if ((status = bucket_for_write("put", txn, bucket, blen, &b)) != 0)
        goto out;
    rc = ffdb_put(b, key, klen, val, vlen);
    if (rc == FFDB_EINVAL) {
        cli_msg("put", "keys are 0 to %u bytes, values up to %llu", FFDB_MAX_KEY_SIZE,
                (unsigned long long)FFDB_MAX_VALUE_SIZE);
        status = EXIT_USAGE;
        goto out;
    }
    if (rc == 0) {
        rc = ffdb_commit(txn);
        txn = NULL;
    }
    if (rc < 0)
        status = cli_fail("put", "put", rc);
out:
    ffdb_abort(txn);
    ffdb_close(db);
    free(bucket);
    free(key);
    free(val);
    return status;
}

const struct cli_command cmd_put = {
    "put", run_put, "put FILE BUCKET KEY [VALUE] [--hex] [--page-size N]",
    "Set KEY to VALUE (creates the file and the bucket if needed).",
    "Stores VALUE under KEY in one transaction. Without VALUE, the value is read\n"
    "from stdin as raw bytes (any size, binary-safe). The file and the bucket are\n"
    "created if they do not exist.\n\n"
    "  --hex           KEY and VALUE are hex\n"
    "  --page-size N   page size of a new file: 4096 (default), 8192 or 16384\n"};

/* ---- del -------------------------------------------------------------------- */

static int run_del(int argc, char **argv)
{
    static const struct option opts[] = {
        {"hex", no_argument, NULL, 'x'}, {"help", no_argument, NULL, 'h'}, {0}};
    char *bucket = NULL, *key = NULL;
    size_t blen, klen;
    int c, hex = 0, status, rc;
    ffdb *db = NULL;
    ffdb_txn *txn = NULL;
    ffdb_bucket *b;
    ffdb_val v;

    while ((c = cli_getopt(&cmd_del, argc, argv, "x", opts, &status)) != -1) {
        if (c == CLI_OPT_STOP)
            return status;
        hex = 1;
    }
    if ((status = cli_want_args(&cmd_del, argc - optind, 3, 3)) != 0 ||
        (status = cli_arg_bytes(&cmd_del, "bucket", argv[optind + 1], 0, &bucket, &blen)) != 0 ||
        (status = cli_arg_bytes(&cmd_del, "key", argv[optind + 2], hex, &key, &klen)) != 0 ||
        (status = cli_open("del", argv[optind], FFDB_NOCREATE, 0, &db)) != 0)
        goto out;
    if ((rc = ffdb_begin_write(db, &txn)) < 0) {
        status = cli_fail("del", argv[optind], rc);
        goto out;
    }
    if ((status = cli_bucket("del", txn, bucket, blen, &b)) != 0)
        goto out;
    /* ffdb_delete of a missing key succeeds; people want to hear about it. */
    rc = ffdb_get(b, key, klen, &v);
    if (rc == FFDB_NOTFOUND) {
        key_not_found("del", key, klen, hex);
        status = EXIT_NOKEY;
        goto out;
    }
    if (rc == 0)
        rc = ffdb_delete(b, key, klen);
    if (rc == 0) {
        rc = ffdb_commit(txn);
        txn = NULL;
    }
    if (rc < 0)
        status = cli_fail("del", "delete", rc);
out:
    ffdb_abort(txn);
    ffdb_close(db);
    free(bucket);
    free(key);
    return status;
}

const struct cli_command cmd_del = {
    "del", run_del, "del FILE BUCKET KEY [--hex]", "Delete KEY (exit status 7 if it is not there).",
    "Deletes KEY in one transaction. A missing key changes nothing and exits with\n"
    "status 7; a missing bucket with 6.\n\n"
    "  --hex    KEY is hex\n"};

/* ---- scan ------------------------------------------------------------------- */

struct scan {
    char *from, *to, *prefix; /* decoded; NULL = unset */
    size_t from_len, to_len, prefix_len;
    const void *lo, *hi; /* effective range [lo, hi); NULL = open */
    size_t lo_len, hi_len;
    char *prefix_end; /* the first key after every key with the prefix */
    uint64_t limit;   /* 0 = none */
    int reverse, keys_only, hex, json;
};

/* The smallest key greater than every key starting with p: p with its
 * trailing 0xff bytes dropped and the last byte left incremented. None
 * (NULL) when p is empty or all 0xff. */
static char *prefix_successor(const char *p, size_t len, size_t *out_len)
{
    char *s;
    while (len > 0 && (unsigned char)p[len - 1] == 0xff)
        len--;
    if (len == 0 || !(s = malloc(len)))
        return NULL;
    memcpy(s, p, len);
    s[len - 1] = (char)((unsigned char)s[len - 1] + 1);
    *out_len = len;
    return s;
}

/* Intersect [from, to) with the prefix's range. */
static void scan_range(struct scan *s)
{
    size_t end_len = 0;
    s->lo = s->from;
    s->lo_len = s->from_len;
    s->hi = s->to;
    s->hi_len = s->to_len;
    if (!s->prefix)
        return;
    if (!s->lo || key_cmp(s->prefix, s->prefix_len, s->lo, s->lo_len) > 0) {
        s->lo = s->prefix;
        s->lo_len = s->prefix_len;
    }
    s->prefix_end = prefix_successor(s->prefix, s->prefix_len, &end_len);
    if (s->prefix_end && (!s->hi || key_cmp(s->prefix_end, end_len, s->hi, s->hi_len) < 0)) {
        s->hi = s->prefix_end;
        s->hi_len = end_len;
    }
}

static int in_range(const struct scan *s, const ffdb_val *k)
{
    if (s->prefix_len > 0 &&
        (k->size < s->prefix_len || memcmp(k->data, s->prefix, s->prefix_len) != 0))
        return 0;
    if (s->lo && key_cmp(k->data, k->size, s->lo, s->lo_len) < 0)
        return 0;
    return !s->hi || key_cmp(k->data, k->size, s->hi, s->hi_len) < 0;
}

/* Position on the first key of the scan (the last for --reverse). */
static int scan_first(const struct scan *s, ffdb_cursor *cur, ffdb_val *k, ffdb_val *v)
{
    int rc;
    if (!s->reverse)
        return s->lo ? ffdb_cursor_seek(cur, s->lo, s->lo_len, k, v) : ffdb_cursor_first(cur, k, v);
    if (!s->hi)
        return ffdb_cursor_last(cur, k, v);
    rc = ffdb_cursor_seek(cur, s->hi, s->hi_len, k, v);
    if (rc == FFDB_NOTFOUND)
        return ffdb_cursor_last(cur, k, v);
    return rc < 0 ? rc : ffdb_cursor_prev(cur, k, v);
}

static void scan_print(const struct scan *s, struct json *j, const ffdb_val *k, const ffdb_val *v)
{
    if (s->json) {
        char *ks = esc_string(k->data, k->size, s->hex);
        char *vs = s->keys_only ? NULL : esc_string(v->data, v->size, s->hex);
        json_begin_object(j);
        json_kv_str(j, "key", ks ? ks : "");
        if (!s->keys_only)
            json_kv_str(j, "value", vs ? vs : "");
        json_end_object(j);
        free(ks);
        free(vs);
        return;
    }
    esc_write(stdout, k->data, k->size, s->hex);
    if (!s->keys_only) {
        putchar('\t');
        esc_write(stdout, v->data, v->size, s->hex);
    }
    putchar('\n');
}

static int scan_run(const struct scan *s, ffdb_bucket *b, const char *bucket_shown)
{
    struct json j;
    ffdb_cursor *cur;
    ffdb_val k, v;
    uint64_t count = 0;
    int rc;

    if ((rc = ffdb_cursor_open(b, &cur)) < 0)
        return cli_fail("scan", "cursor", rc);
    json_init(&j, stdout);
    if (s->json) {
        json_begin_object(&j);
        json_kv_str(&j, "bucket", bucket_shown);
        json_key(&j, "entries");
        json_begin_array(&j);
    }
    for (rc = scan_first(s, cur, &k, &v); rc == 0 && in_range(s, &k);
         rc = s->reverse ? ffdb_cursor_prev(cur, &k, &v) : ffdb_cursor_next(cur, &k, &v)) {
        if (s->limit && count == s->limit)
            break;
        scan_print(s, &j, &k, &v);
        count++;
    }
    ffdb_cursor_close(cur);
    if (rc < 0 && rc != FFDB_NOTFOUND)
        return cli_fail("scan", "scan", rc);
    if (s->json) {
        json_end_array(&j);
        json_kv_u64(&j, "count", count);
        json_end_object(&j);
        json_end(&j);
    }
    return 0;
}

static int scan_options(int argc, char **argv, struct scan *s, const char **args[3], int *status)
{
    static const struct option opts[] = {
        {"prefix", required_argument, NULL, 'p'}, {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},     {"limit", required_argument, NULL, 'n'},
        {"reverse", no_argument, NULL, 'r'},      {"keys-only", no_argument, NULL, 'k'},
        {"hex", no_argument, NULL, 'x'},          {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {0}};
    int c;
    while ((c = cli_getopt(&cmd_scan, argc, argv, "p:f:t:n:rkxj", opts, status)) != -1) {
        switch (c) {
        case CLI_OPT_STOP:
            return -1;
        case 'p':
            *args[0] = optarg;
            break;
        case 'f':
            *args[1] = optarg;
            break;
        case 't':
            *args[2] = optarg;
            break;
        case 'r':
            s->reverse = 1;
            break;
        case 'k':
            s->keys_only = 1;
            break;
        case 'x':
            s->hex = 1;
            break;
        case 'j':
            s->json = 1;
            break;
        case 'n':
            if (cli_parse_u64(optarg, &s->limit) < 0) {
                *status = cli_usage_error(&cmd_scan, "--limit needs a number, not '%s'", optarg);
                return -1;
            }
            break;
        }
    }
    return 0;
}

static int run_scan(int argc, char **argv)
{
    struct scan s;
    const char *prefix = NULL, *from = NULL, *to = NULL;
    const char **args[3] = {&prefix, &from, &to};
    char *bucket = NULL;
    size_t blen;
    int status = 0, rc;
    ffdb *db = NULL;
    ffdb_txn *txn = NULL;
    ffdb_bucket *b;

    memset(&s, 0, sizeof(s));
    if (scan_options(argc, argv, &s, args, &status) < 0)
        return status;
    if ((status = cli_want_args(&cmd_scan, argc - optind, 2, 2)) != 0 ||
        (status = cli_arg_bytes(&cmd_scan, "bucket", argv[optind + 1], 0, &bucket, &blen)) != 0 ||
        (prefix && (status = cli_arg_bytes(&cmd_scan, "prefix", prefix, s.hex, &s.prefix,
                                           &s.prefix_len)) != 0) ||
        (from &&
         (status = cli_arg_bytes(&cmd_scan, "from", from, s.hex, &s.from, &s.from_len)) != 0) ||
        (to && (status = cli_arg_bytes(&cmd_scan, "to", to, s.hex, &s.to, &s.to_len)) != 0) ||
        (status = cli_open("scan", argv[optind], FFDB_RDONLY, 0, &db)) != 0)
        goto out;
    scan_range(&s);
    if ((rc = ffdb_begin_read(db, &txn)) < 0)
        status = cli_fail("scan", argv[optind], rc);
    else if ((status = cli_bucket("scan", txn, bucket, blen, &b)) == 0)
        status = scan_run(&s, b, argv[optind + 1]);
out:
    ffdb_abort(txn);
    ffdb_close(db);
    free(bucket);
    free(s.prefix);
    free(s.from);
    free(s.to);
    free(s.prefix_end);
    return cli_finish_stdout("scan", status);
}

const struct cli_command cmd_scan = {
    "scan", run_scan,
    "scan FILE BUCKET [--prefix P] [--from A] [--to B] [--limit N] [--reverse]\n"
    "                 [--keys-only] [--hex] [--json]",
    "Print the entries of a bucket in key order, or a range of them.",
    "Prints one 'key<TAB>value' line per entry, escaped as in the dump format.\n"
    "The range is the keys k with A <= k < B that start with P (each bound is\n"
    "optional).\n\n"
    "  --prefix P    only keys starting with P\n"
    "  --from A      start at the first key >= A\n"
    "  --to B        stop before the first key >= B\n"
    "  --limit N     at most N entries\n"
    "  --reverse     from the end of the range backwards\n"
    "  --keys-only   print keys only\n"
    "  --hex         P, A, B are hex, and keys and values are printed as hex\n"
    "  --json        {\"bucket\", \"entries\": [{\"key\", \"value\"}], \"count\"} with the\n"
    "                same escaped (or hex) text as strings\n"};
