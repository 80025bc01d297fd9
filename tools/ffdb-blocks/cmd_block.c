/*
 * cmd_block.c — the single-block commands of ffdb-blocks: put, get, has,
 * rm, ls, stat, check.
 *
 * put computes the CID the way `ipfs block put` does (CIDv1, raw, sha2-256
 * unless told otherwise) or checks the one given; get writes the block's
 * bytes after verifying them; has answers through the exit status. Each
 * command opens the store, does one thing and closes it.
 */
#include <stdlib.h>
#include <string.h>

#include "tools/ffdb-blocks/cli.h"

/* ---- put ----------------------------------------------------------------------------- */

enum { OPT_CODEC = 0x100, OPT_MH, OPT_VERSION, OPT_CID, OPT_LONG };

static int parse_put_options(cli *c, int argc, char **argv, ipld_cid *want, int *have_want,
                             uint64_t *codec, uint64_t *mh, unsigned *version)
{
    static const struct option opts[] = {
        {"cid-codec", required_argument, NULL, OPT_CODEC},
        {"format", required_argument, NULL, OPT_CODEC},
        {"mhtype", required_argument, NULL, OPT_MH},
        {"cid-version", required_argument, NULL, OPT_VERSION},
        {"cid", required_argument, NULL, OPT_CID},
        {0},
    };
    uint8_t digest[IPLD_DIGEST_MAX];
    size_t dlen;
    int o, status = 0;
    uint64_t v;
    while ((o = cli_getopt(c, argc, argv, "", opts, &status)) != -1) {
        switch (o) {
        case CLI_OPT_STOP:
            return status;
        case OPT_CODEC:
            if (ipld_codec_from_name(optarg, codec) != 0)
                return cli_usage(c, "unknown codec '%s'", optarg);
            break;
        case OPT_MH:
            if (ipld_mh_from_name(optarg, mh) != 0 || ipld_mh_digest_size(*mh) <= 0 ||
                ipld_mh_sum(*mh, "", 0, digest, &dlen) != 0)
                return cli_usage(c, "unsupported hash function '%s'", optarg);
            break;
        case OPT_VERSION:
            if (cli_u64(optarg, &v) != 0 || v > 1)
                return cli_usage(c, "--cid-version is 0 or 1");
            *version = (unsigned)v;
            break;
        case OPT_CID:
            if ((status = cli_cid(c, optarg, want)) != 0)
                return status;
            *have_want = 1;
            break;
        }
    }
    if (*version == 0 && (*codec != IPLD_CODEC_DAG_PB || *mh != IPLD_MH_SHA2_256))
        return cli_usage(c, "CIDv0 is dag-pb with sha2-256 only");
    return cli_want_args(c, argc - optind, 0, 1);
}

static int run_put(cli *c, int argc, char **argv)
{
    uint64_t codec = IPLD_CODEC_RAW, mh = IPLD_MH_SHA2_256;
    unsigned version = 1;
    ipld_cid cid, want;
    int have_want = 0, status, rc;
    uint8_t *data;
    size_t len;
    FILE *in = stdin;
    blocks *bs;
    char s[IPLD_CID_STR_MAX];
    if ((status = parse_put_options(c, argc, argv, &want, &have_want, &codec, &mh, &version)))
        return status;
    if (optind < argc && strcmp(argv[optind], "-") != 0 && !(in = fopen(argv[optind], "rb"))) {
        cli_msg(c, "%s: cannot open", argv[optind]);
        return EXIT_ERROR;
    }
    status = cli_read_all(c, in, &data, &len);
    if (in != stdin)
        fclose(in);
    if (status)
        return status;
    if (have_want) {
        cid = want;
    } else if ((rc = ipld_cid_of(version, codec, mh, data, len, &cid)) != 0) {
        free(data);
        return cli_fail(c, "hash", rc);
    }
    if ((status = cli_open(c, 1, &bs)) != 0) {
        free(data);
        return status;
    }
    rc = blocks_put(bs, &cid, data, len);
    free(data);
    if (rc == IPLD_EMISMATCH) {
        cli_msg(c, "the data does not hash to %s", cli_cid_str(&cid, s));
        return cli_close(c, bs, EXIT_BADCID);
    }
    if (rc)
        return cli_close(c, bs, cli_fail(c, "put", rc));
    if (c->json) {
        struct json j;
        json_init(&j, stdout);
        json_begin_object(&j);
        json_kv_str(&j, "cid", cli_cid_str(&cid, s));
        json_kv_u64(&j, "size", len);
        json_end_object(&j);
        json_end(&j);
    } else {
        cli_print_cid(&cid);
    }
    return cli_close(c, bs, EXIT_OK);
}

const struct cli_cmd cmd_put = {
    "put", run_put,
    "put [--cid-codec raw|dag-pb|dag-cbor] [--mhtype H] [--cid-version 0|1] "
    "[--cid CID] [FILE]",
    "store one block read from FILE or stdin and print its CID",
    "The CID is computed as `ipfs block put` does: CIDv1, codec raw, sha2-256,\n"
    "unless --cid-codec (or --format), --mhtype (sha2-256, sha2-512, blake2b-256)\n"
    "or --cid-version 0 (dag-pb with sha2-256 only) say otherwise. With --cid the\n"
    "block is stored under that CID, and refused (exit 3) if it does not hash to\n"
    "it. A block already present is not written again.\n"};

/* ---- get / has / rm ---------------------------------------------------------------- */

static int one_cid(cli *c, int argc, char **argv, int min, int max)
{
    int o, status = 0;
    while ((o = cli_getopt(c, argc, argv, "", NULL, &status)) != -1)
        if (o == CLI_OPT_STOP)
            return status;
    return cli_want_args(c, argc - optind, min, max);
}

static int run_get(cli *c, int argc, char **argv)
{
    ipld_cid cid;
    blocks *bs;
    void *data;
    size_t len;
    int status, rc;
    if ((status = one_cid(c, argc, argv, 1, 1)) || (status = cli_cid(c, argv[optind], &cid)) ||
        (status = cli_open(c, 0, &bs)))
        return status;
    rc = blocks_get(bs, &cid, 1, &data, &len);
    if (rc)
        return cli_close(c, bs, cli_fail(c, argv[optind], rc));
    if (len && fwrite(data, 1, len, stdout) != len)
        status = EXIT_ERROR;
    free(data);
    if (fflush(stdout) != 0)
        status = EXIT_ERROR;
    if (status)
        cli_msg(c, "writing the block failed");
    return cli_close(c, bs, status);
}

const struct cli_cmd cmd_get = {
    "get", run_get, "get CID", "write a block's bytes to stdout (verified against the CID)",
    "Exit 1 if the store has no such block, 4 if its bytes no longer hash to it.\n"};

static int run_has(cli *c, int argc, char **argv)
{
    ipld_cid cid;
    blocks *bs;
    char s[IPLD_CID_STR_MAX];
    int status, rc;
    if ((status = one_cid(c, argc, argv, 1, 1)) || (status = cli_cid(c, argv[optind], &cid)) ||
        (status = cli_open(c, 0, &bs)))
        return status;
    rc = blocks_has(bs, &cid);
    if (rc < 0)
        return cli_close(c, bs, cli_fail(c, argv[optind], rc));
    if (c->json) {
        struct json j;
        json_init(&j, stdout);
        json_begin_object(&j);
        json_kv_str(&j, "cid", cli_cid_str(&cid, s));
        json_kv_bool(&j, "present", rc);
        json_end_object(&j);
        json_end(&j);
    }
    return cli_close(c, bs, rc ? EXIT_OK : EXIT_ABSENT);
}

const struct cli_cmd cmd_has = {"has", run_has, "has CID",
                                "exit 0 if the store has the block, 1 if not",
                                "Prints nothing (with --json: {\"cid\": ..., \"present\": ...}).\n"
                                "The bloom filter answers most absent CIDs without a lookup.\n"};

static int run_rm(cli *c, int argc, char **argv)
{
    blocks *bs;
    int status, missing = 0;
    if ((status = one_cid(c, argc, argv, 1, -1)))
        return status;
    for (int i = optind; i < argc; i++) {
        ipld_cid cid;
        if ((status = cli_cid(c, argv[i], &cid)))
            return status;
    }
    if ((status = cli_open(c, 1, &bs)))
        return status;
    for (int i = optind; i < argc && status == 0; i++) {
        ipld_cid cid;
        ipld_cid_parse(argv[i], &cid);
        int rc = blocks_rm(bs, &cid);
        if (rc == FFDB_NOTFOUND) {
            cli_msg(c, "%s: no such block", argv[i]);
            missing = 1;
        } else if (rc) {
            status = cli_fail(c, argv[i], rc);
        }
    }
    return cli_close(c, bs, status ? status : missing ? EXIT_ABSENT : EXIT_OK);
}

const struct cli_cmd cmd_rm = {
    "rm", run_rm, "rm CID...", "remove blocks from whichever tier holds them",
    "Pins are not consulted (gc is the safe way to free space). Exit 1 if one of\n"
    "the blocks was not there (the others are removed).\n"};

/* ---- ls / stat / check ----------------------------------------------------------------- */

typedef struct ls_ctx {
    struct json j;
    int json, lng;
} ls_ctx;

static int ls_one(void *arg, const ipld_cid *cid, uint64_t size, int tier)
{
    ls_ctx *l = arg;
    char s[IPLD_CID_STR_MAX];
    cli_cid_str(cid, s);
    if (l->json) {
        json_begin_object(&l->j);
        json_kv_str(&l->j, "cid", s);
        json_kv_u64(&l->j, "size", size);
        json_kv_str(&l->j, "tier", tier ? "cold" : "hot");
        json_end_object(&l->j);
    } else if (l->lng) {
        printf("%s %llu %s\n", s, (unsigned long long)size, tier ? "cold" : "hot");
    } else {
        puts(s);
    }
    return 0;
}

static int run_ls(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"long", no_argument, NULL, 'l'}, {0}};
    ls_ctx l = {.lng = 0};
    blocks *bs;
    int o, status = 0, rc;
    while ((o = cli_getopt(c, argc, argv, "l", opts, &status)) != -1) {
        if (o == CLI_OPT_STOP)
            return status;
        l.lng = 1;
    }
    if ((status = cli_want_args(c, argc - optind, 0, 0)) || (status = cli_open(c, 0, &bs)))
        return status;
    l.json = c->json;
    if (l.json) {
        json_init(&l.j, stdout);
        json_begin_array(&l.j);
    }
    rc = blocks_list(bs, ls_one, &l);
    if (l.json) {
        json_end_array(&l.j);
        json_end(&l.j);
    }
    return cli_close(c, bs, rc ? cli_fail(c, "ls", rc) : EXIT_OK);
}

const struct cli_cmd cmd_ls = {
    "ls", run_ls, "ls [-l|--long]", "list every block's CID (CIDv1, in key order)",
    "-l adds the size in bytes and the tier (hot or cold). Blocks are listed by\n"
    "their CIDv1: a block put as Qm... is listed as its bafy... form.\n"};

static void stat_json(const blocks_stat *st)
{
    struct json j;
    json_init(&j, stdout);
    json_begin_object(&j);
    json_kv_u64(&j, "blocks", st->blocks[0] + st->blocks[1]);
    json_kv_u64(&j, "bytes", st->bytes[0] + st->bytes[1]);
    const char *tier[2] = {"hot", "cold"};
    for (int t = 0; t < 2; t++) {
        json_key(&j, tier[t]);
        json_begin_object(&j);
        json_kv_u64(&j, "blocks", st->blocks[t]);
        json_kv_u64(&j, "bytes", st->bytes[t]);
        if (t == 1)
            json_kv_u64(&j, "stored_bytes", st->cold_stored_bytes);
        json_kv_u64(&j, "file_bytes", st->file_bytes[t]);
        json_end_object(&j);
    }
    json_kv_u64(&j, "pins", st->pins);
    json_key(&j, "bloom");
    json_begin_object(&j);
    json_kv_u64(&j, "bits", st->bloom_bits);
    json_kv_u64(&j, "queries", st->bloom_queries);
    json_kv_u64(&j, "negatives", st->bloom_negatives);
    json_kv_u64(&j, "false_positives", st->bloom_false_positives);
    json_end_object(&j);
    json_end_object(&j);
    json_end(&j);
}

static void stat_text(const blocks_stat *st)
{
    uint64_t asked_absent = st->bloom_negatives + st->bloom_false_positives;
    printf("blocks: %llu (%llu bytes)\n", (unsigned long long)(st->blocks[0] + st->blocks[1]),
           (unsigned long long)(st->bytes[0] + st->bytes[1]));
    printf("hot:    %llu blocks, %llu bytes, file %llu bytes\n", (unsigned long long)st->blocks[0],
           (unsigned long long)st->bytes[0], (unsigned long long)st->file_bytes[0]);
    printf("cold:   %llu blocks, %llu bytes (%llu compressed), file %llu bytes\n",
           (unsigned long long)st->blocks[1], (unsigned long long)st->bytes[1],
           (unsigned long long)st->cold_stored_bytes, (unsigned long long)st->file_bytes[1]);
    printf("pins:   %llu\n", (unsigned long long)st->pins);
    printf("bloom:  %llu bits; %llu queries, %llu answered absent by the filter, %llu false "
           "positives (%.2f%% of absent)\n",
           (unsigned long long)st->bloom_bits, (unsigned long long)st->bloom_queries,
           (unsigned long long)st->bloom_negatives, (unsigned long long)st->bloom_false_positives,
           asked_absent ? 100.0 * (double)st->bloom_false_positives / (double)asked_absent : 0.0);
}

static int run_stat(cli *c, int argc, char **argv)
{
    blocks_stat st;
    blocks *bs;
    int status, rc;
    if ((status = one_cid(c, argc, argv, 0, 0)) || (status = cli_open(c, 0, &bs)))
        return status;
    if ((rc = blocks_stat_get(bs, &st)) != 0)
        return cli_close(c, bs, cli_fail(c, "stat", rc));
    if (c->json)
        stat_json(&st);
    else
        stat_text(&st);
    return cli_close(c, bs, EXIT_OK);
}

const struct cli_cmd cmd_stat = {
    "stat", run_stat, "stat", "counts and bytes per tier, pins, the bloom filter's record",
    "The false-positive rate is counted: has() calls the filter answered 'maybe'\n"
    "for an absent block, over all has() calls for absent blocks.\n"};

static void report(void *arg, const char *problem)
{
    (void)arg;
    printf("%s\n", problem);
}

static int run_check(cli *c, int argc, char **argv)
{
    blocks *bs;
    int status, rc;
    if ((status = one_cid(c, argc, argv, 0, 0)) || (status = cli_open(c, 0, &bs)))
        return status;
    rc = blocks_check(bs, report, NULL);
    if (rc == BLOCKS_ESTATE)
        return cli_close(c, bs, EXIT_DAMAGED);
    if (rc)
        return cli_close(c, bs, cli_fail(c, "check", rc));
    if (!c->json)
        printf("clean\n");
    return cli_close(c, bs, EXIT_OK);
}

const struct cli_cmd cmd_check = {
    "check", run_check, "check", "verify every block against its CID and the tiers' bookkeeping",
    "Each problem is printed on its own line; exit 4 if there is any.\n"};
