/*
 * cmd_memory.c — MEMORY USAGE (what a key costs in the file: its key,
 * metadata and elements, the elements estimated from a sample as Redis
 * does, SAMPLES n, 0 = all), MEMORY STATS (the process's figures),
 * MEMORY DOCTOR, PURGE, MALLOC-STATS and HELP.
 *
 * The figure is bytes of keys and values as stored, with a fixed overhead
 * per record; it is not Redis's in-memory size and not page-exact.
 */
#include <stdio.h>
#include <string.h>

#include "modules/redis/redis.h"

#define RECORD_OVERHEAD 16 /* a record's slot and header in a page, about */
#define MEMORY_SAMPLES 5

static int memory_usage(resp_ctx *c)
{
    int64_t samples = MEMORY_SAMPLES;
    store_meta m;
    int rc;

    if (c->argc == 5 && resp_arg_is(&c->argv[3], "samples")) {
        if (resp_arg_i64(c->r, &c->argv[4], &samples))
            return 0;
        if (samples < 0)
            return resp_err_syntax(c->r);
    } else if (c->argc != 3) {
        return resp_err_syntax(c->r);
    }
    rc = store_lookup(c->st, c->db, c->argv[2].p, c->argv[2].n, &m);
    if (rc == FFDB_NOTFOUND) {
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return rc;
    uint64_t bytes = c->argv[2].n + 10 + RECORD_OVERHEAD + (m.expire_ms ? c->argv[2].n + 24 : 0);
    if (m.type == STORE_STRING) {
        reply_int(c->r, (int64_t)(bytes + m.value.size));
        return 0;
    }
    store_iter *it;
    ffdb_val k, v;
    uint64_t seen = 0, elem = 0;
    rc = store_iter_open(c->st, &m, STORE_SUB, &it);
    if (rc)
        return rc;
    for (rc = store_iter_first(it, &k, &v); rc == 0 && (samples == 0 || (int64_t)seen < samples);
         rc = store_iter_next(it, &k, &v)) {
        elem += 8 + k.size + v.size + RECORD_OVERHEAD;
        seen++;
    }
    store_iter_close(it);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    if (seen)
        bytes +=
            elem * m.size / seen * (m.type == STORE_ZSET ? 2 : 1); /* zsets: the score index too */
    reply_int(c->r, (int64_t)bytes + 16);
    return 0;
}

static int memory_cmd(resp_ctx *c)
{
    const resp_arg *sub = &c->argv[1];

    if (resp_arg_is(sub, "usage") && c->argc >= 3)
        return memory_usage(c);
    if (resp_arg_is(sub, "doctor") && c->argc == 2) {
        reply_bulk_cstr(c->r, "Hi Sam, I can't find any memory issue in your instance. I can only "
                              "account for what occurs on this base.");
    } else if (resp_arg_is(sub, "purge") && c->argc == 2) {
        reply_ok(c->r);
    } else if (resp_arg_is(sub, "malloc-stats") && c->argc == 2) {
        reply_bulk_cstr(c->r, "Stats not supported for the current allocator");
    } else if (resp_arg_is(sub, "stats") && c->argc == 2) {
        uint64_t used = server_used_memory();
        reply_map(c->r, 4);
        reply_bulk_cstr(c->r, "peak.allocated");
        reply_int(c->r, (int64_t)(c->srv->peak_memory > used ? c->srv->peak_memory : used));
        reply_bulk_cstr(c->r, "total.allocated");
        reply_int(c->r, (int64_t)used);
        reply_bulk_cstr(c->r, "keys.count");
        uint64_t keys = 0;
        for (int db = 0; db < STORE_DBS; db++)
            keys += store_db_keys(c->srv->store, db);
        reply_int(c->r, (int64_t)keys);
        reply_bulk_cstr(c->r, "dataset.bytes");
        reply_int(c->r, (int64_t)used);
    } else if (resp_arg_is(sub, "help") && c->argc == 2) {
        static const char *const lines[] = {
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "MALLOC-STATS",
            "PURGE",
            "STATS",
            "USAGE <key> [SAMPLES <count>]",
            "HELP",
        };
        reply_array(c->r, sizeof(lines) / sizeof(lines[0]));
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
            reply_simple(c->r, lines[i]);
    } else {
        static const char *const known[] = {"usage", "doctor", "purge", "malloc-stats",
                                            "stats", "help",   NULL};
        return resp_err_subcommand(c->r, c->cmd, sub, known);
    }
    return 0;
}

const resp_command redis_cmds_memory[] = {
    {"memory", memory_cmd, -2, RESP_CMD_READONLY, 2, 2, 1, "server",
     "A container for memory diagnostics commands"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
