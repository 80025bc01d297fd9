/*
 * common.c — what every command of the ffdb tool needs: messages on stderr,
 * the mapping from engine return codes to exit statuses, opening a file or
 * a bucket with a clear message, help text and strict number parsing.
 *
 * Called by every command file. It decides nothing about a command's
 * output; it must never print to stdout except for --help, so that stdout
 * carries only results.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ffdb/cli.h"
#include "tools/ffdb/progress.h"

void cli_msg(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    progress_interrupt();
    fprintf(stderr, "ffdb %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_exit_code(int rc)
{
    switch (rc) {
    case 0:
        return EXIT_CLEAN;
    case FFDB_ENOTDB:
    case FFDB_EVERSION:
        return EXIT_NOTDB;
    case FFDB_CORRUPT:
        return EXIT_CORRUPT;
    default:
        return EXIT_ERROR;
    }
}

int cli_fail(const char *cmd, const char *what, int rc)
{
    ffdb_error_info info;
    char page[32];

    ffdb_last_error(&info);
    snprintf(page, sizeof(page), "page %llu", (unsigned long long)info.pgno);
    if (info.code == rc && info.message[0] && info.pgno != UINT64_MAX &&
        !strstr(info.message, page))
        cli_msg(cmd, "%s: %s: %s (page %llu)", what, ffdb_strerror(rc), info.message,
                (unsigned long long)info.pgno);
    else if (info.code == rc && info.message[0])
        cli_msg(cmd, "%s: %s: %s", what, ffdb_strerror(rc), info.message);
    else
        cli_msg(cmd, "%s: %s", what, ffdb_strerror(rc));
    return cli_exit_code(rc);
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    progress_interrupt();
    fprintf(stderr, "ffdb %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: ffdb %s\nRun 'ffdb %s --help' for details.\n", cmd->synopsis,
            cmd->name);
    return EXIT_USAGE;
}

int cli_help(const struct cli_command *cmd)
{
    printf("usage: ffdb %s\n\n%s\n\n%s", cmd->synopsis, cmd->summary, cmd->help);
    return cli_finish_stdout(cmd->name, EXIT_CLEAN);
}

int cli_getopt(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts, int *status)
{
    char spec[64];
    int c;

    /* Each process runs one command, so getopt starts fresh at argv[1]. */
    snprintf(spec, sizeof(spec), ":h%s", shortopts);
    opterr = 0;
    c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c == 'h') {
        *status = cli_help(cmd);
        return CLI_OPT_STOP;
    }
    if (c == '?') {
        *status = cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        return CLI_OPT_STOP;
    }
    if (c == ':') {
        *status = cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        return CLI_OPT_STOP;
    }
    return c;
}

int cli_want_args(const struct cli_command *cmd, int have, int min, int max)
{
    if (have < min)
        return cli_usage_error(cmd, "missing argument");
    if (max >= 0 && have > max)
        return cli_usage_error(cmd, "too many arguments");
    return 0;
}

int cli_open(const char *cmd, const char *path, unsigned flags, unsigned page_size, ffdb **db)
{
    ffdb_options opt;
    int rc;

    memset(&opt, 0, sizeof(opt));
    opt.flags = flags;
    opt.page_size = page_size;
    rc = ffdb_open(path, &opt, db);
    if (rc == 0)
        return 0;
    if (rc == FFDB_NOTFOUND) {
        cli_msg(cmd, "%s: no such file", path);
        return EXIT_MISSING;
    }
    if (rc == FFDB_ENOTDB) {
        cli_msg(cmd, "%s: not an ffdb file", path);
        return EXIT_NOTDB;
    }
    return cli_fail(cmd, path, rc);
}

int cli_bucket(const char *cmd, ffdb_txn *txn, const void *name, size_t len, ffdb_bucket **b)
{
    int rc = ffdb_bucket_open(txn, name, len, b);
    char *shown;
    if (rc == 0)
        return 0;
    if (rc != FFDB_NOTFOUND && rc != FFDB_EINVAL)
        return cli_fail(cmd, "bucket", rc);
    shown = esc_string(name, len, 0);
    cli_msg(cmd, "bucket not found: %s", shown ? shown : "?");
    free(shown);
    return EXIT_NOBUCKET;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_fill(const char *s, double *out)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno || !*s || *end || !(v >= 0.3 && v <= 1.0))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_page_size(const char *s, unsigned *out)
{
    uint64_t v;
    if (cli_parse_u64(s, &v) < 0 || (v != 4096 && v != 8192 && v != 16384))
        return -1;
    *out = (unsigned)v;
    return 0;
}

int cli_finish_stdout(const char *cmd, int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_msg(cmd, "cannot write the output: %s", strerror(errno));
        return status == EXIT_CLEAN ? EXIT_ERROR : status;
    }
    return status;
}

static int add_name(void *arg, const void *name, size_t len)
{
    struct cli_names *names = arg;
    struct cli_name *v = realloc(names->v, (names->count + 1) * sizeof(*v));
    if (!v)
        return FFDB_ENOMEM;
    names->v = v;
    v[names->count].data = malloc(len + 1);
    if (!v[names->count].data)
        return FFDB_ENOMEM;
    memcpy(v[names->count].data, name, len);
    v[names->count].data[len] = '\0';
    v[names->count].len = len;
    names->count++;
    return 0;
}

int cli_list_buckets(const char *cmd, ffdb_txn *txn, struct cli_names *out)
{
    int rc;
    memset(out, 0, sizeof(*out));
    rc = ffdb_bucket_list(txn, add_name, out);
    if (rc < 0) {
        cli_names_free(out);
        return cli_fail(cmd, "list of buckets", rc);
    }
    return 0;
}

void cli_names_free(struct cli_names *names)
{
    for (size_t i = 0; i < names->count; i++)
        free(names->v[i].data);
    free(names->v);
    memset(names, 0, sizeof(*names));
}

const char *cli_bytes(uint64_t n, char buf[32])
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double)n;
    int i = 0;
    if (n < 1024) {
        snprintf(buf, 32, "%llu bytes", (unsigned long long)n);
        return buf;
    }
    while (v >= 1024 && i < 6) {
        v /= 1024;
        i++;
    }
    snprintf(buf, 32, "%.1f %s", v, units[i]);
    return buf;
}
