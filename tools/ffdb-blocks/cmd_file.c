/*
 * cmd_file.c — add and cat: files in and out as UnixFS DAGs, with the
 * options of `ipfs add` that change the CID.
 *
 * add prints the root CID (CIDv0 by default, as kubo); cat writes the file
 * after verifying every block. The DAG building and reading is
 * modules/blocks/unixfs.c's; this file only maps options and streams.
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

static int write_stdout(void *arg, const void *p, size_t n)
{
    (void)arg;
    return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

static int parse_bool(const char *s, int *v)
{
    if (!s || strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "1") == 0)
        *v = 1;
    else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || strcmp(s, "0") == 0)
        *v = 0;
    else
        return -1;
    return 0;
}

enum { OPT_VERSION = 0x100, OPT_RAW, OPT_CHUNKER, OPT_LINKS, OPT_HASH, OPT_PIN };

static int parse_add(cli *c, int argc, char **argv, blocks_add_options *o)
{
    static const struct option opts[] = {
        {"cid-version", required_argument, NULL, OPT_VERSION},
        {"raw-leaves", optional_argument, NULL, OPT_RAW},
        {"chunker", required_argument, NULL, OPT_CHUNKER},
        {"max-links", required_argument, NULL, OPT_LINKS},
        {"max-file-links", required_argument, NULL, OPT_LINKS},
        {"hash", required_argument, NULL, OPT_HASH},
        {"only-hash", no_argument, NULL, 'n'},
        {"pin", optional_argument, NULL, OPT_PIN},
        {"quiet", no_argument, NULL, 'q'},
        {"quieter", no_argument, NULL, 'Q'},
        {0},
    };
    int opt, status = 0;
    uint64_t v;
    while ((opt = cli_getopt(c, argc, argv, "nqQ", opts, &status)) != -1) {
        switch (opt) {
        case CLI_OPT_STOP:
            return status;
        case OPT_VERSION:
            if (cli_u64(optarg, &v) != 0 || v > 1)
                return cli_usage(c, "--cid-version is 0 or 1");
            o->cid_version = (unsigned)v;
            break;
        case OPT_RAW:
            if (parse_bool(optarg, &o->raw_leaves) != 0)
                return cli_usage(c, "--raw-leaves takes true or false");
            break;
        case OPT_CHUNKER:
            if (strncmp(optarg, "size-", 5) != 0 || cli_u64(optarg + 5, &v) != 0 || v == 0 ||
                v > (1u << 24))
                return cli_usage(c, "--chunker is size-N (1 <= N <= 16777216)");
            o->chunk_size = (uint32_t)v;
            break;
        case OPT_LINKS:
            if (cli_u64(optarg, &v) != 0 || v < 2 || v > 65536)
                return cli_usage(c, "--max-links is 2..65536");
            o->max_links = (uint32_t)v;
            break;
        case OPT_HASH:
            if (ipld_mh_from_name(optarg, &v) != 0)
                return cli_usage(c, "unknown hash function '%s'", optarg);
            o->mh_code = v;
            break;
        case 'n':
            o->only_hash = 1;
            break;
        case OPT_PIN:
            if (parse_bool(optarg, &o->pin) != 0)
                return cli_usage(c, "--pin takes true or false");
            break;
        }
    }
    return cli_want_args(c, argc - optind, 0, 1);
}

static int run_add(cli *c, int argc, char **argv)
{
    blocks_add_options o = {.raw_leaves = -1, .pin = 1};
    blocks *bs = NULL;
    ipld_cid root;
    uint64_t size;
    FILE *in = stdin;
    char s[IPLD_CID_STR_MAX];
    int status, rc;
    if ((status = parse_add(c, argc, argv, &o)) != 0)
        return status;
    const char *name = optind < argc ? argv[optind] : "-";
    if (strcmp(name, "-") != 0 && !(in = fopen(name, "rb"))) {
        cli_msg(c, "%s: %s", name, strerror(errno));
        return EXIT_ERROR;
    }
    if (!o.only_hash && (status = cli_open(c, 1, &bs)) != 0) {
        if (in != stdin)
            fclose(in);
        return status;
    }
    rc = blocks_add(bs, read_file, in, &o, &root, &size);
    if (in != stdin)
        fclose(in);
    if (rc == FFDB_EIO)
        cli_msg(c, "%s: read error", name);
    else if (rc == IPLD_EUNSUPPORTED)
        cli_msg(c, "that hash function is not implemented");
    else if (rc)
        cli_fail(c, name, rc);
    if (rc == 0 && c->json) {
        struct json j;
        json_init(&j, stdout);
        json_begin_object(&j);
        json_kv_str(&j, "cid", cli_cid_str(&root, s));
        json_kv_u64(&j, "size", size);
        json_kv_bool(&j, "pinned", o.pin && !o.only_hash);
        json_end_object(&j);
        json_end(&j);
    } else if (rc == 0) {
        cli_print_cid(&root);
    }
    status = rc == IPLD_EUNSUPPORTED ? EXIT_USAGE : cli_exit_code(rc);
    return bs ? cli_close(c, bs, status) : status;
}

const struct cli_cmd cmd_add = {
    "add", run_add,
    "add [--cid-version 0|1] [--raw-leaves[=false]] [--chunker size-N] [--max-links N] "
    "[--hash H] [-n|--only-hash] [--pin=false] [FILE]",
    "import a file (or stdin) as a UnixFS DAG and print its root CID, as `ipfs add`",
    "The DAG is built as kubo's `ipfs add` builds it by default: fixed-size chunks\n"
    "of 256 KiB (--chunker size-N), the balanced layout with at most 174 links per\n"
    "node (--max-links), dag-pb leaves, CIDv0. --cid-version 1 implies raw leaves\n"
    "unless --raw-leaves=false; --hash other than sha2-256 implies CIDv1. The\n"
    "blocks are stored in batches of one engine transaction each, and the root is\n"
    "pinned recursively unless --pin=false. -n computes the CID and stores\n"
    "nothing. -q and -Q are accepted for kubo's sake (the output is the CID alone\n"
    "already).\n"};

static int run_cat(cli *c, int argc, char **argv)
{
    ipld_cid cid;
    blocks *bs;
    int o, status = 0, rc;
    while ((o = cli_getopt(c, argc, argv, "", NULL, &status)) != -1)
        if (o == CLI_OPT_STOP)
            return status;
    if ((status = cli_want_args(c, argc - optind, 1, 1)) ||
        (status = cli_cid(c, argv[optind], &cid)) || (status = cli_open(c, 0, &bs)))
        return status;
    rc = blocks_cat(bs, &cid, write_stdout, NULL);
    if (fflush(stdout) != 0 && rc == 0)
        rc = FFDB_EIO;
    if (rc == IPLD_EFORMAT)
        cli_msg(c, "%s: not a UnixFS file, or its blocks disagree with it", argv[optind]);
    else if (rc == FFDB_NOTFOUND)
        cli_msg(c, "%s: a block of the file is not in the store", argv[optind]);
    else if (rc)
        cli_fail(c, argv[optind], rc);
    return cli_close(c, bs, cli_exit_code(rc));
}

const struct cli_cmd cmd_cat = {
    "cat", run_cat, "cat CID", "write the file of a UnixFS DAG (or a raw block) to stdout",
    "Every block is verified against its CID on the way, and the sizes against\n"
    "the UnixFS metadata. Exit 1 if a block is missing, 4 if the DAG is not a\n"
    "file or does not verify.\n"};
