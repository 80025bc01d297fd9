/*
 * cmd_pin.c — pin, unpin, pins and gc: what gc keeps, and gc itself.
 *
 * pin is recursive unless --direct (as `ipfs pin add`); gc deletes every
 * block not reachable from a pin or a version root, in one engine
 * transaction (modules/blocks/gc.c).
 */
#include <string.h>

#include "tools/ffdb-blocks/cli.h"

static int pin_one(const cli *c, blocks *bs, const ipld_cid *cid, const char *arg, void *ctx)
{
    int rc = blocks_pin(bs, cid, *(int *)ctx);
    return rc ? cli_fail(c, arg, rc) : 0;
}

static int run_pin(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"direct", no_argument, NULL, 'd'}, {0}};
    int o, recursive = 1, status = 0;
    while ((o = cli_getopt(c, argc, argv, "d", opts, &status)) != -1) {
        if (o == CLI_OPT_STOP)
            return status;
        recursive = 0;
    }
    return cli_each_cid(c, argc, argv, optind, pin_one, &recursive);
}

const struct cli_cmd cmd_pin = {
    "pin", run_pin, "pin [--direct] CID...", "pin CIDs so gc keeps them (recursively by default)",
    "A recursive pin keeps the block and its whole DAG; --direct keeps the block\n"
    "alone. The blocks need not be present yet.\n"};

static int unpin_one(const cli *c, blocks *bs, const ipld_cid *cid, const char *arg, void *ctx)
{
    int rc = blocks_unpin(bs, cid);
    (void)ctx;
    if (rc == FFDB_NOTFOUND) {
        cli_msg(c, "%s: not pinned", arg);
        return EXIT_ABSENT;
    }
    return rc ? cli_fail(c, arg, rc) : 0;
}

static int run_unpin(cli *c, int argc, char **argv)
{
    int o, status = 0;
    while ((o = cli_getopt(c, argc, argv, "", NULL, &status)) != -1)
        if (o == CLI_OPT_STOP)
            return status;
    return cli_each_cid(c, argc, argv, optind, unpin_one, NULL);
}

const struct cli_cmd cmd_unpin = {"unpin", run_unpin, "unpin CID...", "remove pins",
                                  "Exit 1 if a CID is not pinned (the ones before it are unpinned).\n"};

typedef struct pins_ctx {
    int json;
    struct json j;
} pins_ctx;

static int pins_one(void *arg, const ipld_cid *cid, int recursive)
{
    pins_ctx *p = arg;
    char s[IPLD_CID_STR_MAX];
    if (p->json) {
        json_begin_object(&p->j);
        json_kv_str(&p->j, "cid", cli_cid_str(cid, s));
        json_kv_str(&p->j, "type", recursive ? "recursive" : "direct");
        json_end_object(&p->j);
    } else {
        printf("%s %s\n", cli_cid_str(cid, s), recursive ? "recursive" : "direct");
    }
    return 0;
}

static int run_pins(cli *c, int argc, char **argv)
{
    pins_ctx p = {.json = c->json};
    int o, status = 0, rc;
    blocks *bs;
    while ((o = cli_getopt(c, argc, argv, "", NULL, &status)) != -1)
        if (o == CLI_OPT_STOP)
            return status;
    if ((status = cli_want_args(c, argc - optind, 0, 0)) || (status = cli_open(c, 0, &bs)))
        return status;
    if (p.json) {
        json_init(&p.j, stdout);
        json_begin_array(&p.j);
    }
    rc = blocks_pins(bs, pins_one, &p);
    if (p.json) {
        json_end_array(&p.j);
        json_end(&p.j);
    }
    return cli_close(c, bs, rc ? cli_fail(c, "pins", rc) : EXIT_OK);
}

const struct cli_cmd cmd_pins = {"pins", run_pins, "pins", "list the pins (CIDv1, recursive or direct)",
                                 "One line a pin: the CID and its type.\n"};

static int run_gc(cli *c, int argc, char **argv)
{
    blocks_gc_result res;
    int o, status = 0, rc;
    blocks *bs;
    while ((o = cli_getopt(c, argc, argv, "", NULL, &status)) != -1)
        if (o == CLI_OPT_STOP)
            return status;
    if ((status = cli_want_args(c, argc - optind, 0, 0)) || (status = cli_open(c, 1, &bs)))
        return status;
    if ((rc = blocks_gc(bs, &res)) != 0) {
        status = cli_fail(c, "gc", rc);
    } else if (c->json) {
        struct json j;
        json_init(&j, stdout);
        json_begin_object(&j);
        json_kv_u64(&j, "kept", res.kept);
        json_kv_u64(&j, "removed", res.removed);
        json_kv_u64(&j, "removed_bytes", res.removed_bytes);
        json_end_object(&j);
        json_end(&j);
    } else {
        printf("kept %llu, removed %llu blocks (%llu bytes)\n", (unsigned long long)res.kept,
               (unsigned long long)res.removed, (unsigned long long)res.removed_bytes);
    }
    return cli_close(c, bs, status);
}

const struct cli_cmd cmd_gc = {
    "gc", run_gc, "gc", "delete every block not reachable from a pin or a version root",
    "The mark set lives in scratch buckets of the one engine transaction that\n"
    "also sweeps, so memory stays bounded; a crash leaves the store as it was.\n"
    "Also rebuilds the bloom filter.\n"};
