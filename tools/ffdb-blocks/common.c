/*
 * common.c — the helpers every ffdb-blocks command uses: messages and exit
 * statuses, option parsing with the common options, opening the store,
 * CIDs on the command line, reading stdin, sizes.
 *
 * It owns the mapping from error codes to exit statuses (cli.h's table).
 * It never prints results: commands do.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/ffdb-blocks/cli.h"

void cli_msg(const cli *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ffdb-blocks %s: ", c->cmd ? c->cmd->name : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_exit_code(int rc)
{
    switch (rc) {
    case 0:
        return EXIT_OK;
    case FFDB_NOTFOUND:
        return EXIT_ABSENT;
    case IPLD_EMISMATCH:
    case IPLD_EUNSUPPORTED:
        return EXIT_BADCID;
    case IPLD_EFORMAT:
    case BLOCKS_ESTATE:
    case BLOCKS_ECOMPRESS:
    case FFDB_CORRUPT:
        return EXIT_DAMAGED;
    default:
        return EXIT_ERROR;
    }
}

int cli_fail(const cli *c, const char *what, int rc)
{
    if (rc == FFDB_CORRUPT) {
        ffdb_error_info ei;
        ffdb_last_error(&ei);
        cli_msg(c, "%s: %s (%s)", what, blocks_strerror(rc), ei.message);
    } else {
        cli_msg(c, "%s: %s", what, blocks_strerror(rc));
    }
    return cli_exit_code(rc);
}

int cli_usage(const cli *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ffdb-blocks %s: ", c->cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: ffdb-blocks %s\n(ffdb-blocks %s --help for more)\n", c->cmd->synopsis,
            c->cmd->name);
    return EXIT_USAGE;
}

static int help(const cli *c)
{
    printf("usage: ffdb-blocks %s\n\n%s\n", c->cmd->synopsis, c->cmd->summary);
    if (c->cmd->help && *c->cmd->help)
        printf("\n%s", c->cmd->help);
    printf("\nCommon options: --store FILE (default %s), --json, --help\n", DEFAULT_STORE);
    return EXIT_OK;
}

#define OPT_MAX 32
enum { OPT_STORE = 0x1000, OPT_JSON };

int cli_getopt(cli *c, int argc, char **argv, const char *shortopts, const struct option *longopts,
               int *status)
{
    static struct option all[OPT_MAX];
    char spec[64];
    size_t n = 0;
    all[n++] = (struct option){"store", required_argument, NULL, OPT_STORE};
    all[n++] = (struct option){"json", no_argument, NULL, OPT_JSON};
    all[n++] = (struct option){"help", no_argument, NULL, 'h'};
    for (size_t i = 0; longopts && longopts[i].name; i++) {
        assert(n + 1 < OPT_MAX);
        all[n++] = longopts[i];
    }
    all[n] = (struct option){0};
    snprintf(spec, sizeof spec, ":h%s", shortopts ? shortopts : "");
    opterr = 0;
    for (;;) {
        int o = getopt_long(argc, argv, spec, all, NULL);
        if (o == OPT_STORE) {
            c->store = optarg;
        } else if (o == OPT_JSON) {
            c->json = 1;
        } else if (o == 'h') {
            *status = help(c);
            return CLI_OPT_STOP;
        } else if (o == '?') {
            *status = cli_usage(c, "unknown option '%s'", argv[optind - 1]);
            return CLI_OPT_STOP;
        } else if (o == ':') {
            *status = cli_usage(c, "option '%s' needs a value", argv[optind - 1]);
            return CLI_OPT_STOP;
        } else {
            return o;
        }
    }
}

int cli_want_args(const cli *c, int have, int min, int max)
{
    if (have < min)
        return cli_usage(c, "missing argument");
    if (max >= 0 && have > max)
        return cli_usage(c, "too many arguments");
    return 0;
}

int cli_open(const cli *c, int write, blocks **bs)
{
    blocks_options o = {0};
    int rc;
    o.ffdb_flags = write ? 0 : FFDB_NOCREATE;
    rc = blocks_open(c->store, &o, bs);
    if (rc == 0)
        return 0;
    if (rc == FFDB_NOTFOUND && !write) {
        cli_msg(c, "%s: no such store", c->store);
        return EXIT_ERROR;
    }
    if (rc == FFDB_ENOTDB) {
        cli_msg(c, "%s: not a block store", c->store);
        return EXIT_ERROR;
    }
    cli_fail(c, c->store, rc);
    return EXIT_ERROR;
}

int cli_close(const cli *c, blocks *bs, int status)
{
    int rc = blocks_close(bs);
    if (rc) {
        cli_fail(c, "close", rc);
        return status ? status : EXIT_ERROR;
    }
    return status;
}

int cli_cid(const cli *c, const char *text, ipld_cid *cid)
{
    int rc = ipld_cid_parse(text, cid);
    if (rc == 0)
        return 0;
    cli_msg(c, "%s: not a valid CID (%s)", text, ipld_strerror(rc));
    return EXIT_BADCID;
}

int cli_each_cid(const cli *c, int argc, char **argv, int first, cli_cid_fn fn, void *ctx)
{
    int status;
    blocks *bs;
    ipld_cid cid;

    if ((status = cli_want_args(c, argc - first, 1, 1 << 20)) != 0)
        return status;
    for (int i = first; i < argc; i++)
        if ((status = cli_cid(c, argv[i], &cid)) != 0)
            return status;
    if ((status = cli_open(c, 1, &bs)) != 0)
        return status;
    for (int i = first; status == 0 && i < argc; i++) {
        cli_cid(c, argv[i], &cid);
        status = fn(c, bs, &cid, argv[i], ctx);
    }
    return cli_close(c, bs, status);
}

const char *cli_cid_str(const ipld_cid *cid, char *buf)
{
    ipld_cid_str(cid, buf);
    return buf;
}

void cli_print_cid(const ipld_cid *cid)
{
    char s[IPLD_CID_STR_MAX];
    puts(cli_cid_str(cid, s));
}

int cli_read_all(const cli *c, FILE *f, uint8_t **data, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            if (ferror(f))
                break;
            *data = buf;
            *len = n;
            return 0;
        }
        if (cap >= BLOCKS_MAX_BLOCK_SIZE) {
            free(buf);
            cli_msg(c, "input over %llu bytes", (unsigned long long)BLOCKS_MAX_BLOCK_SIZE);
            return EXIT_INPUT;
        }
        uint8_t *p = realloc(buf, cap * 2);
        if (!p)
            break;
        buf = p;
        cap *= 2;
    }
    free(buf);
    cli_msg(c, "reading input: %s", buf ? strerror(errno) : "out of memory");
    return EXIT_ERROR;
}

int cli_u64(const char *s, uint64_t *v)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

int cli_size(const char *s, uint64_t *v)
{
    char *end;
    unsigned shift = 0;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno)
        return -1;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    case 't':
    case 'T':
        shift = 40;
        end++;
        break;
    }
    if (*end == 'i' && shift)
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || (shift && x > (UINT64_MAX >> shift)))
        return -1;
    *v = (uint64_t)x << shift;
    return 0;
}
