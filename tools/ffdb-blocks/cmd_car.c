/*
 * cmd_car.c — import and export: CAR files in and out of the store, as
 * `ipfs dag import` / `ipfs dag export`.
 *
 * import prints the header's roots (one CID a line) and pins them unless
 * --pin-roots=false; export writes a CARv1 of the DAGs under its CIDs to
 * stdout or -o FILE. The CAR format is modules/blocks/car.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ffdb-blocks/cli.h"

static long read_file(void *arg, void *buf, size_t len)
{
    FILE *f = arg;
    size_t n = fread(buf, 1, len, f);
    return n == 0 && ferror(f) ? -1 : (long)n;
}

static int write_file(void *arg, const void *p, size_t n)
{
    return fwrite(p, 1, n, arg) == n ? 0 : -1;
}

enum { OPT_PIN_ROOTS = 0x100 };

static int run_import(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"pin-roots", optional_argument, NULL, OPT_PIN_ROOTS},
                                         {0}};
    blocks_car_info info;
    blocks *bs;
    FILE *in = stdin;
    char s[IPLD_CID_STR_MAX];
    int o, pin = 1, status = 0, rc;
    while ((o = cli_getopt(c, argc, argv, "", opts, &status)) != -1) {
        if (o == CLI_OPT_STOP)
            return status;
        if (!optarg || strcmp(optarg, "true") == 0)
            pin = 1;
        else if (strcmp(optarg, "false") == 0)
            pin = 0;
        else
            return cli_usage(c, "--pin-roots takes true or false");
    }
    if ((status = cli_want_args(c, argc - optind, 0, 1)) != 0)
        return status;
    const char *name = optind < argc ? argv[optind] : "-";
    if (strcmp(name, "-") != 0 && !(in = fopen(name, "rb"))) {
        cli_msg(c, "%s: %s", name, strerror(errno));
        return EXIT_ERROR;
    }
    if ((status = cli_open(c, 1, &bs)) != 0) {
        if (in != stdin)
            fclose(in);
        return status;
    }
    rc = blocks_car_import(bs, read_file, in, pin, &info);
    if (in != stdin)
        fclose(in);
    if (rc == IPLD_EFORMAT) {
        cli_msg(c, "%s: not a well-formed CAR file", name);
        status = EXIT_INPUT;
    } else if (rc == IPLD_EMISMATCH) {
        cli_msg(c, "%s: a block does not match the CID of its section", name);
        status = EXIT_BADCID;
    } else if (rc == FFDB_EIO) {
        cli_msg(c, "%s: read error", name);
        status = EXIT_ERROR;
    } else if (rc) {
        status = cli_fail(c, name, rc);
    } else if (c->json) {
        struct json j;
        json_init(&j, stdout);
        json_begin_object(&j);
        json_key(&j, "roots");
        json_begin_array(&j);
        for (size_t i = 0; i < info.root_count; i++)
            json_str(&j, cli_cid_str(&info.roots[i], s));
        json_end_array(&j);
        json_kv_u64(&j, "blocks", info.blocks);
        json_kv_u64(&j, "bytes", info.bytes);
        json_kv_bool(&j, "pinned", pin);
        json_end_object(&j);
        json_end(&j);
    } else {
        for (size_t i = 0; i < info.root_count; i++)
            cli_print_cid(&info.roots[i]);
    }
    blocks_car_info_free(&info);
    return cli_close(c, bs, status);
}

const struct cli_cmd cmd_import = {
    "import", run_import, "import [--pin-roots=false] [FILE]",
    "import a CAR file (or stdin) and print its roots, as `ipfs dag import`",
    "Reads CARv1, or the CARv1 payload of a CARv2. Every block is checked\n"
    "against the CID of its section and stored in batches of one engine\n"
    "transaction each; the roots are pinned recursively unless --pin-roots=false.\n"
    "Exit 5 for a malformed CAR, 3 for a block that does not match its CID.\n"};

static int run_export(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'}, {0}};
    const char *out_name = NULL;
    ipld_cid *roots;
    blocks *bs;
    FILE *out = stdout;
    uint64_t n = 0;
    int o, status = 0, rc;
    while ((o = cli_getopt(c, argc, argv, "o:", opts, &status)) != -1) {
        if (o == CLI_OPT_STOP)
            return status;
        out_name = optarg;
    }
    if ((status = cli_want_args(c, argc - optind, 1, 1024)) != 0)
        return status;
    size_t count = (size_t)(argc - optind);
    if (!(roots = calloc(count, sizeof *roots)))
        return cli_fail(c, "export", FFDB_ENOMEM);
    for (size_t i = 0; i < count; i++)
        if ((status = cli_cid(c, argv[optind + (int)i], &roots[i])) != 0) {
            free(roots);
            return status;
        }
    if ((status = cli_open(c, 0, &bs)) != 0) {
        free(roots);
        return status;
    }
    if (out_name && !(out = fopen(out_name, "wb"))) {
        cli_msg(c, "%s: %s", out_name, strerror(errno));
        free(roots);
        return cli_close(c, bs, EXIT_ERROR);
    }
    rc = blocks_car_export(bs, roots, count, write_file, out, &n);
    if ((out == stdout ? fflush(out) : fclose(out)) != 0 && rc == 0)
        rc = FFDB_EIO;
    free(roots);
    if (rc == FFDB_NOTFOUND)
        cli_msg(c, "a block of the DAG is not in the store");
    else if (rc == FFDB_EIO)
        cli_msg(c, "%s: write error", out_name ? out_name : "stdout");
    else if (rc)
        cli_fail(c, "export", rc);
    if (rc && out_name)
        remove(out_name); /* no half-written CAR left behind */
    if (rc == 0 && c->json && out_name) {
        struct json j;
        json_init(&j, stdout);
        json_begin_object(&j);
        json_kv_u64(&j, "blocks", n);
        json_end_object(&j);
        json_end(&j);
    }
    return cli_close(c, bs, cli_exit_code(rc));
}

const struct cli_cmd cmd_export = {
    "export", run_export, "export [-o FILE] CID...",
    "write a CARv1 of the DAGs under the CIDs, as `ipfs dag export`",
    "The CIDs are the header's roots. Blocks follow depth-first from each root\n"
    "in turn, links in order, each block once, each verified against its CID.\n"
    "Output goes to stdout, or to FILE with -o (removed again on failure; with\n"
    "--json a summary is printed then). Exit 1 if a block of the DAG is missing.\n"};
