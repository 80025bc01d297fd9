/*
 * main.c — ffdb-server: a Redis-protocol server on an ffdb file.
 *
 * This file only turns the command line (and an optional Redis-style config
 * file) into a redis_config (its parameters are the tables registered with
 * a net_config, modules/net/config.h) and hands it to redis_server_run() in
 * modules/redis/server.c, which owns everything else. Every config-file
 * parameter can also be given as a flag, "--name value", as with
 * redis-server; the common ones have short, documented flags below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/crdt/crdt.h"
#include "modules/redis/redis.h"
#include "tools/ffdb-server/bridge.h"
#include "tools/ffdb-server/cluster.h"
#include "tools/ffdb-server/nats_config.h"
#include "tools/ffdb-server/records.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ffdb-server [CONFIG-FILE] [OPTIONS]\n"
            "\n"
            "A Redis-protocol server storing its data in one ffdb file.\n"
            "\n"
            "Options (each also a config-file line \"name value\"):\n"
            "  --bind ADDR...           addresses to listen on (default 127.0.0.1)\n"
            "  --port N                 TCP port (default %d; 0 = any free port)\n"
            "  --data FILE              the ffdb data file (config: dbfilename;\n"
            "                           default ffdb-server.ffdb)\n"
            "  --dir DIR                directory of a relative data file\n"
            "  --buffer-pages N         engine buffer pool frames (default 32768 = 128 MiB\n"
            "                           at 4 KiB pages, allocated as used)\n"
            "  --fsync always           commit every batch durably before replying (default)\n"
            "  --fsync batch-ms N       reply at once, commit at least every N ms\n"
            "  --fsync never            commit without fsync (FFDB_NOSYNC)\n"
            "  --pipeline-commits yes   with --fsync always: one sync per batch, each\n"
            "                           batch acknowledged by the next batch's commit\n"
            "                           (FFDB_NOMETASYNC; pays where flushes are slow)\n"
            "  --requirepass PASS       clients must AUTH first\n"
            "  --maxclients N           most clients at once (default 10000)\n"
            "  --timeout SECONDS        close clients idle this long (default 0 = never)\n"
            "  --proto-max-bulk-len N   largest argument (default 512mb)\n"
            "  --pidfile FILE, --logfile FILE, --loglevel debug|verbose|notice|warning\n"
            "  --NAME VALUE             any other parameter CONFIG SET knows\n"
            "\n"
            "Cluster mode (RAFT replication; without --cluster nothing changes):\n"
            "  --node N                 this node's id in the cluster list\n"
            "  --cluster LIST           id@host:port,... the RAFT transport of every node\n"
            "                           (id@host:port/respport also names its RESP port);\n"
            "                           the file fetch of snapshots listens on port + 10000\n"
            "  --cluster-join yes       a new node: do not bootstrap, wait for CLUSTER MEET\n"
            "  --cluster-election-ms N  election timeout (default 1000; heartbeat N/10)\n"
            "  --cluster-snapshot-threshold N, --cluster-snapshot-trailing N\n"
            "                           log entries between snapshots, kept after one\n"
            "\n"
            "CRDT mode (every node accepts writes; modules/crdt/README.md):\n"
            "  --crdt yes               writes become signed op-log entries merged in the\n"
            "                           log's order; with --nats the nodes replicate it\n"
            "                           over NATS (--namespace scopes it)\n"
            "\n"
            "NATS (pub/sub across nodes, signed records):\n"
            "  --nats URL               the NATS server(s), nats://host:port[,...]\n"
            "  --namespace NAME         the tenant: scopes subjects and records\n"
            "  --help, --version\n",
            REDIS_DEFAULT_PORT);
}

/* A flag's parameter name in the config table. */
static const char *param_name(const char *flag)
{
    static const char *const map[][2] = {
        {"data", "dbfilename"},
        {"buffer-pages", "ffdb-buffer-pages"},
        {"fsync", "ffdb-fsync"},
        {"direct-io", "ffdb-direct-io"},
        {"pipeline-commits", "ffdb-pipeline-commits"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(flag, map[i][0]) == 0)
            return map[i][1];
    return flag;
}

int main(int argc, char **argv)
{
    redis_config cfg;
    cluster_config ccfg;
    server_nats_config ncfg;
    cluster *cl = NULL;
    bridge *br = NULL;
    char err[512];
    int i = 1, rc, crdt_mode = 0;
    crdt *node = NULL;
    records *rec = NULL;

    redis_config_init(&cfg);
    memset(&ccfg, 0, sizeof(ccfg));
    memset(&ncfg, 0, sizeof(ncfg));
    if (net_config_register(&cfg.reg, server_nats_params, &ncfg, err, sizeof(err))) {
        fprintf(stderr, "ffdb-server: %s\n", err); /* a programming error: names clash */
        return 1;
    }
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v"))) {
        printf("ffdb-server %d.%d.%d\n", FFDB_VERSION_MAJOR, FFDB_VERSION_MINOR,
               FFDB_VERSION_PATCH);
        return 0;
    }
    if (argc > 1 && argv[1][0] != '-') { /* redis-server style: the config file first */
        if (net_config_load(&cfg.reg, argv[1], err, sizeof(err))) {
            fprintf(stderr, "ffdb-server: %s\n", err);
            return 2;
        }
        i = 2;
    }
    for (; i < argc; i++) {
        char value[2048];
        const char *name, *flag = argv[i];
        if (strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) {
            fprintf(stderr, "ffdb-server: bad argument '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
        if (!strcmp(argv[i], "--node") || !strncmp(argv[i], "--cluster", 9)) {
            const char *f = argv[i] + 2, *v = argv[++i];
            char *end;
            unsigned long long n = strtoull(v, &end, 10);
            int bad = 0;
            if (!strcmp(f, "cluster"))
                bad = cluster_parse(&ccfg, v, err, sizeof(err));
            else if (!strcmp(f, "cluster-join"))
                ccfg.join = !strcmp(v, "yes");
            else if (*end || (!strcmp(f, "node") && n == 0))
                bad = snprintf(err, sizeof(err), "a number is needed") > 0 ? -1 : -1;
            else if (!strcmp(f, "node"))
                ccfg.id = n;
            else if (!strcmp(f, "cluster-election-ms"))
                ccfg.election_ms = (unsigned)n;
            else if (!strcmp(f, "cluster-snapshot-threshold"))
                ccfg.snapshot_threshold = (unsigned)n;
            else if (!strcmp(f, "cluster-snapshot-trailing"))
                ccfg.snapshot_trailing = (unsigned)n;
            else
                bad = snprintf(err, sizeof(err), "unknown cluster flag") > 0 ? -1 : -1;
            if (bad) {
                fprintf(stderr, "ffdb-server: --%s %s: %s\n", f, v, err);
                return 2;
            }
            continue;
        }
        name = param_name(argv[i] + 2);
        if (!strcmp(name, "crdt")) {
            crdt_mode = !strcmp(argv[++i], "yes");
            continue;
        }
        if (!strcmp(name, "config")) {
            if (net_config_load(&cfg.reg, argv[++i], err, sizeof(err))) {
                fprintf(stderr, "ffdb-server: %s\n", err);
                return 2;
            }
            continue;
        }
        snprintf(value, sizeof(value), "%s", argv[++i]);
        /* Values of several words ("--fsync batch-ms 5", "--bind a b"): take
         * arguments up to the next flag. */
        while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
            size_t n = strlen(value);
            snprintf(value + n, sizeof(value) - n, " %s", argv[++i]);
        }
        if (net_config_set(&cfg.reg, name, value, 1, err, sizeof(err))) {
            fprintf(stderr, "ffdb-server: %s %s: %s\n", flag, value, err);
            return 2;
        }
    }
    if (ncfg.ns[0] && !ncfg.url[0]) {
        fprintf(stderr, "ffdb-server: --namespace needs --nats\n");
        return 2;
    }
    if (crdt_mode && ccfg.nservers) {
        fprintf(stderr, "ffdb-server: --crdt and --cluster exclude each other\n");
        return 2;
    }
    if (crdt_mode) { /* the CRDT mode (modules/crdt): the node's key beside its data */
        char kdir[1024] = ".";
        const char *slash = strrchr(cfg.datafile, '/');
        if (cfg.dir[0])
            snprintf(kdir, sizeof(kdir), "%s", cfg.dir);
        else if (slash)
            snprintf(kdir, sizeof(kdir), "%.*s", (int)(slash - cfg.datafile), cfg.datafile);
        err[0] = 0;
        if (crdt_install(&cfg, kdir[0] ? kdir : "/", ncfg.url, ncfg.ns, &node, err,
                         sizeof(err))) {
            fprintf(stderr, "ffdb-server: --crdt: %s\n", err);
            return 2;
        }
    }
    if (ccfg.nservers) {
        if (cluster_check(&ccfg, err, sizeof(err))) {
            fprintf(stderr, "ffdb-server: %s\n", err);
            return 2;
        }
        cl = cluster_new(&ccfg);
        if (!cl)
            return 1;
        cfg.hook = &cluster_hook;
        cfg.hook_arg = cl;
        cfg.hook_runs = 1; /* a client's pipelined writes: one unit, one RAFT round */
        cfg.hook_open_flags = cluster_open_flags(&cfg);
    } else if (ccfg.id) {
        fprintf(stderr, "ffdb-server: --node needs --cluster\n");
        return 2;
    }
    if (ncfg.url[0] && bridge_install(&cfg, &ncfg, &br)) { /* pub/sub across nodes */
        fprintf(stderr, "ffdb-server: --nats: no room for the pub/sub bridge\n");
        return 1;
    }
    if (ncfg.url[0]) { /* signed records (PTR.*) over NATS */
        rec = records_new(&ncfg);
        if (!rec || redis_config_add_extension(&cfg, &records_extension, rec)) {
            fprintf(stderr, "ffdb-server: cannot install the signed records\n");
            return 1;
        }
    }
    rc = redis_server_run(&cfg);
    records_free(rec);
    bridge_free(br);
    crdt_free(node);
    cluster_free(cl);
    redis_config_free(&cfg);
    return rc;
}
