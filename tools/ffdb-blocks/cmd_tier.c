/*
 * cmd_tier.c — tier and move: the tiering policy and moves between the hot
 * file and the zstd-compressed cold file (modules/blocks/tier.c).
 *
 * tier prints the policy ("name value" lines, --json an object) after
 * setting what its options give; --run applies it now and adds "moved N".
 * move sends blocks to a tier now. Both keep the store's crash rules: each
 * move is a sequence of commits through the pending bucket.
 */
#include <string.h>

#include "tools/ffdb-blocks/cli.h"

enum { OPT_COLD_AFTER = 0x100, OPT_HOT_BUDGET, OPT_PROMOTE, OPT_RUN };

static int run_tier(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"cold-after", required_argument, NULL, OPT_COLD_AFTER},
                                         {"hot-budget", required_argument, NULL, OPT_HOT_BUDGET},
                                         {"promote-reads", required_argument, NULL, OPT_PROMOTE},
                                         {"run", no_argument, NULL, OPT_RUN},
                                         {0}};
    uint64_t v[3] = {0}, moved = 0;
    int set[3] = {0}, run = 0, o, status = 0, rc;
    blocks_policy p;
    blocks *bs;
    while ((o = cli_getopt(c, argc, argv, "", opts, &status)) != -1) {
        if (o == CLI_OPT_STOP)
            return status;
        if (o == OPT_RUN) {
            run = 1;
            continue;
        }
        int i = o - OPT_COLD_AFTER;
        if ((i == 1 ? cli_size(optarg, &v[i]) : cli_u64(optarg, &v[i])) != 0 ||
            (i == 2 && v[i] > 0xffff))
            return cli_usage(c, "bad value '%s' for %s", optarg, opts[i].name);
        set[i] = 1;
    }
    int change = set[0] || set[1] || set[2];
    if ((status = cli_want_args(c, argc - optind, 0, 0)) ||
        (status = cli_open(c, change || run, &bs)))
        return status;
    if ((rc = blocks_policy_get(bs, &p)) != 0)
        return cli_close(c, bs, cli_fail(c, "policy", rc));
    if (set[0])
        p.cold_after_s = v[0];
    if (set[1])
        p.hot_budget_bytes = v[1];
    if (set[2])
        p.promote_reads = (uint32_t)v[2];
    if (change && (rc = blocks_policy_set(bs, &p)) != 0)
        return cli_close(c, bs, cli_fail(c, "policy", rc));
    if (run && (rc = blocks_tier_run(bs, &moved)) != 0)
        status = cli_fail(c, "tier run", rc);
    if (c->json) {
        struct json j;
        json_init(&j, stdout);
        json_begin_object(&j);
        json_kv_u64(&j, "cold_after_s", p.cold_after_s);
        json_kv_u64(&j, "hot_budget_bytes", p.hot_budget_bytes);
        json_kv_u64(&j, "promote_reads", p.promote_reads);
        if (run)
            json_kv_u64(&j, "moved", moved);
        json_end_object(&j);
        json_end(&j);
    } else {
        printf("cold-after %llu\nhot-budget %llu\npromote-reads %u\n",
               (unsigned long long)p.cold_after_s, (unsigned long long)p.hot_budget_bytes,
               p.promote_reads);
        if (run)
            printf("moved %llu\n", (unsigned long long)moved);
    }
    return cli_close(c, bs, status);
}

const struct cli_cmd cmd_tier = {
    "tier", run_tier, "tier [--cold-after SECONDS] [--hot-budget SIZE] [--promote-reads N] [--run]",
    "show or set the tiering policy; --run moves blocks to the cold tier now",
    "Blocks not read for --cold-after seconds (0: never), and the least recently\n"
    "read while the hot tier holds more than --hot-budget bytes (0: no budget),\n"
    "go to the cold file (FILE.cold, zstd). A cold block read --promote-reads\n"
    "times (default 2) comes back hot. The policy is kept in the store.\n"};

static int move_one(const cli *c, blocks *bs, const ipld_cid *cid, const char *arg, void *ctx)
{
    int rc = blocks_tier_move(bs, cid, *(int *)ctx);
    return rc ? cli_fail(c, arg, rc) : 0;
}

static int run_move(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"hot", no_argument, NULL, 'H'}, {"cold", no_argument, NULL, 'C'}, {0}};
    int o, to_cold = -1, status = 0;
    while ((o = cli_getopt(c, argc, argv, "", opts, &status)) != -1) {
        if (o == CLI_OPT_STOP)
            return status;
        to_cold = o == 'C';
    }
    if (to_cold < 0)
        return cli_usage(c, "--hot or --cold");
    return cli_each_cid(c, argc, argv, optind, move_one, &to_cold);
}

const struct cli_cmd cmd_move = {"move", run_move, "move --hot|--cold CID...",
                                 "move blocks to the hot or the cold tier now",
                                 "Exit 1 if a block is not in the store.\n"};
