/*
 * config.c — the parameters of ffdb-server: the tables it registers with
 * its net_config (net's service, log and batch tables, and its own below),
 * under Redis's parameter names, and CONFIG GET's reply. One description per
 * parameter serves the command-line flags (tools/ffdb-server/main.c), the
 * config file, CONFIG GET and CONFIG SET.
 *
 * Parameters that have no meaning for ffdb (save, appendonly, maxmemory,
 * the encoding thresholds, ...) are accepted and ignored (NET_PARAM_TEXT):
 * CONFIG GET shows what was set, and client tools that set them at start-up
 * (as many do) keep working. Parameters that cannot change while serving
 * (port, bind, the data file) are refused by CONFIG SET with Redis's
 * wording.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "modules/redis/redis.h"

/* "normal <hard> <soft> <secs> [pubsub <hard> <soft> <secs>] ...": the hard
 * limits of normal and pubsub clients are what ffdb-server enforces. */
static int set_outbuf(void *base, const char *v, int startup, char *err, size_t errlen)
{
    redis_config *cfg = base;
    char copy[512], *save = NULL, *w[32];
    int n = 0;

    (void)startup;
    snprintf(copy, sizeof(copy), "%s", v);
    for (char *t = strtok_r(copy, " ", &save); t && n < 32; t = strtok_r(NULL, " ", &save))
        w[n++] = t;
    if (n == 0 || n % 4) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        return -1;
    }
    for (int i = 0; i < n; i += 4) {
        uint64_t hard, soft;
        int secs;
        if (net_parse_memory(w[i + 1], &hard) || net_parse_memory(w[i + 2], &soft) ||
            net_parse_int(w[i + 3], 0, INT32_MAX, &secs)) {
            snprintf(err, errlen,
                     "Error in hard, soft or soft_seconds setting in buffer limit "
                     "configuration.");
            return -1;
        }
        if (!strcasecmp(w[i], "normal"))
            cfg->svc.outbuf_limit = hard;
        else if (!strcasecmp(w[i], "pubsub"))
            cfg->outbuf_limit_pubsub = hard;
        else if (strcasecmp(w[i], "replica") && strcasecmp(w[i], "slave")) {
            snprintf(err, errlen, "Invalid client class specified in buffer limit configuration.");
            return -1;
        }
    }
    return 0;
}

static void get_outbuf(const void *base, char *buf, size_t cap)
{
    const redis_config *cfg = base;
    snprintf(buf, cap, "normal %llu 0 0 slave 268435456 67108864 60 pubsub %llu 0 0",
             (unsigned long long)cfg->svc.outbuf_limit,
             (unsigned long long)cfg->outbuf_limit_pubsub);
}

static void get_dir(const void *base, char *buf, size_t cap)
{
    const redis_config *cfg = base;
    snprintf(buf, cap, "%s", cfg->dir[0] ? cfg->dir : ".");
}

static int set_dir(void *base, const char *v, int startup, char *err, size_t errlen)
{
    redis_config *cfg = base;

    (void)startup;
    if (strlen(v) >= sizeof(cfg->dir)) {
        snprintf(err, errlen, "value too long");
        return -1;
    }
    strcpy(cfg->dir, v);
    return 0;
}

#define FIELD(f) .offset = offsetof(redis_config, f)
#define STRING(f) FIELD(f), .size = sizeof(((redis_config *)0)->f)

static const net_param redis_params[] = {
    {.name = "dbfilename",
     .type = NET_PARAM_STRING,
     STRING(datafile),
     .def = "ffdb-server.ffdb",
     .flags = NET_PARAM_STARTUP,
     .help = "the ffdb file (relative to dir)"},
    {.name = "ffdb-datafile",
     .type = NET_PARAM_STRING,
     STRING(datafile),
     .flags = NET_PARAM_STARTUP | NET_PARAM_HIDDEN,
     .help = "dbfilename"},
    {.name = "dir",
     .type = NET_PARAM_CUSTOM,
     .def = "",
     .flags = NET_PARAM_STARTUP,
     .set = set_dir,
     .get = get_dir,
     .help = "where a relative dbfilename lives"},
    /* 128 MiB of 4 KiB frames, taken only as pages are used: the engine's
     * 4 MiB default makes a write batch over a working set of a few tens of
     * MiB spill and re-read pages (six times slower under batch-ms). */
    {.name = "ffdb-buffer-pages",
     .type = NET_PARAM_MEMORY,
     FIELD(buffer_pages),
     .min = 16,
     .def = "32768",
     .flags = NET_PARAM_STARTUP | NET_PARAM_ZERO_OK,
     .bad = "argument must be 0 (the engine default) or at least 16 pages",
     .help = "engine buffer pool frames"},
    {.name = "ffdb-direct-io",
     .type = NET_PARAM_BOOL,
     FIELD(direct_io),
     .def = "yes",
     .flags = NET_PARAM_STARTUP,
     .bad = "argument must be 'yes' or 'no'",
     .help = "O_DIRECT file I/O (no: buffered)"},
    {.name = "requirepass",
     .type = NET_PARAM_STRING,
     STRING(requirepass),
     .def = "",
     .help = "the password AUTH wants (\"\": none)"},
    {.name = "proto-max-bulk-len",
     .type = NET_PARAM_MEMORY,
     FIELD(limits.max_bulk_len),
     .min = 1024,
     .max = (int64_t)4 * 1024 * 1024 * 1024 - 1,
     .def = "512mb",
     .bad = "argument must be a memory value between 1kb and 4gb",
     .help = "the longest argument (and string value)"},
    {.name = "client-query-buffer-limit",
     .type = NET_PARAM_MEMORY,
     FIELD(limits.max_request_bytes),
     .min = 1024 * 1024,
     .def = "1gb",
     .bad = "argument must be a memory value of at least 1mb",
     .help = "the largest request"},
    {.name = "ffdb-max-multibulk-length",
     .type = NET_PARAM_MEMORY,
     FIELD(limits.max_elements),
     .min = 1,
     .max = INT32_MAX,
     .def = "1048576",
     .bad = "argument must be between 1 and 2147483647",
     .help = "arguments per request"},
    {.name = "client-output-buffer-limit",
     .type = NET_PARAM_CUSTOM,
     .def = "normal 1gb 0 0 pubsub 32mb 0 0",
     .set = set_outbuf,
     .get = get_outbuf,
     .help = "hard output limits of normal clients and subscribers (Redis has none for normal "
             "clients; 1gb here)"},
    {.name = "hz",
     .type = NET_PARAM_INT,
     FIELD(hz),
     .min = 1,
     .max = 500,
     .def = "10",
     .bad = "argument must be between 1 and 500 inclusive",
     .help = "sweeper steps per second"},
    {.name = "pidfile",
     .type = NET_PARAM_STRING,
     STRING(pidfile),
     .def = "",
     .help = "written at start, removed at exit"},
    {.name = "tracking-table-max-keys",
     .type = NET_PARAM_INT,
     FIELD(tracking_max_keys),
     .min = 0,
     .max = INT32_MAX,
     .def = "1000000",
     .bad = "argument must be between 0 and 2147483647 inclusive",
     .help = "keys CLIENT TRACKING remembers; past it some are dropped with an invalidation (0 = no limit)"},
    {.name = "databases",
     .type = NET_PARAM_INT,
     FIELD(databases),
     .min = STORE_DBS,
     .max = STORE_DBS,
     .def = "16",
     .bad = "ffdb-server has 16 databases",
     .help = "always 16"},
    {.name = NULL},
};

/* Accepted and ignored, with the value CONFIG GET shows until set. */
#define TEXT(n, d)                                                                                 \
    {                                                                                              \
        .name = n, .type = NET_PARAM_TEXT, .def = d, .help = "accepted, no effect"                 \
    }

static const net_param ignored_params[] = {
    TEXT("save", ""),
    TEXT("appendonly", "no"),
    TEXT("appendfilename", "appendonly.aof"),
    TEXT("maxmemory", "0"),
    TEXT("maxmemory-policy", "noeviction"),
    TEXT("maxmemory-samples", "5"),
    TEXT("tcp-keepalive", "300"),
    TEXT("tcp-backlog", "511"),
    TEXT("protected-mode", "yes"),
    TEXT("daemonize", "no"),
    TEXT("supervised", "no"),
    TEXT("rdbcompression", "yes"),
    TEXT("rdbchecksum", "yes"),
    TEXT("stop-writes-on-bgsave-error", "yes"),
    TEXT("lazyfree-lazy-eviction", "no"),
    TEXT("lazyfree-lazy-expire", "no"),
    TEXT("lazyfree-lazy-server-del", "no"),
    TEXT("lazyfree-lazy-user-del", "no"),
    TEXT("lazyfree-lazy-user-flush", "no"),
    TEXT("notify-keyspace-events", ""),
    TEXT("slowlog-log-slower-than", "10000"),
    TEXT("slowlog-max-len", "128"),
    TEXT("latency-monitor-threshold", "0"),
    TEXT("hash-max-listpack-entries", "128"),
    TEXT("hash-max-listpack-value", "64"),
    TEXT("hash-max-ziplist-entries", "128"),
    TEXT("hash-max-ziplist-value", "64"),
    TEXT("list-max-listpack-size", "-2"),
    TEXT("list-max-ziplist-size", "-2"),
    TEXT("list-compress-depth", "0"),
    TEXT("set-max-intset-entries", "512"),
    TEXT("set-max-listpack-entries", "128"),
    TEXT("zset-max-listpack-entries", "128"),
    TEXT("zset-max-listpack-value", "64"),
    TEXT("zset-max-ziplist-entries", "128"),
    TEXT("zset-max-ziplist-value", "64"),
    TEXT("activerehashing", "yes"),
    TEXT("activedefrag", "no"),
    TEXT("io-threads", "1"),
    TEXT("io-threads-do-reads", "no"),
    TEXT("lua-time-limit", "5000"),
    TEXT("busy-reply-threshold", "5000"),
    TEXT("replica-read-only", "yes"),
    TEXT("repl-diskless-sync", "yes"),
    TEXT("cluster-enabled", "no"),
    TEXT("unixsocket", ""),
    TEXT("unixsocketperm", "0"),
    TEXT("syslog-enabled", "no"),
    TEXT("always-show-logo", "no"),
    TEXT("set-proc-title", "yes"),
    TEXT("dynamic-hz", "yes"),
    TEXT("aof-use-rdb-preamble", "yes"),
    TEXT("jemalloc-bg-thread", "yes"),
    TEXT("enable-debug-command", "no"),
    TEXT("maxmemory-clients", "0"),
    {.name = NULL},
};

static void must_register(redis_config *cfg, const net_param *table, void *base)
{
    char err[256];

    if (net_config_register(&cfg->reg, table, base, err, sizeof(err))) {
        fprintf(stderr, "ffdb-server: %s\n", err);
        abort(); /* a table of this program is wrong */
    }
}

void redis_config_init(redis_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    net_config_init(&cfg->reg);
    resp_limits_default(&cfg->limits); /* the limits no parameter sets */
    cfg->svc.port = REDIS_DEFAULT_PORT;
    must_register(cfg, net_service_params, &cfg->svc);
    must_register(cfg, redis_params, cfg);
    must_register(cfg, net_batch_params, &cfg->batch);
    must_register(cfg, net_log_params, &cfg->log);
    must_register(cfg, ignored_params, NULL);
    must_register(cfg, redis_config_redis7, NULL);
}

void redis_config_free(redis_config *cfg)
{
    net_config_free(&cfg->reg);
}

int redis_config_add_extension(redis_config *cfg, const redis_extension *ops, void *arg)
{
    if (cfg->next >= REDIS_MAX_EXTENSIONS)
        return FFDB_EINVAL;
    cfg->ext[cfg->next].ops = ops;
    cfg->ext[cfg->next].arg = arg;
    cfg->next++;
    return 0;
}

/* ---- CONFIG GET --------------------------------------------------------------------- */

struct get_walk {
    resp_reply *r;
    const resp_arg *patterns;
    int count;
    size_t pairs;
};

static int get_one(void *arg, const net_param *p, const char *value)
{
    struct get_walk *w = arg;

    for (int i = 0; i < w->count; i++)
        if (resp_glob_match(w->patterns[i].p, w->patterns[i].n, p->name, strlen(p->name), 1)) {
            reply_bulk_cstr(w->r, p->name);
            reply_bulk_cstr(w->r, value);
            w->pairs++;
            break;
        }
    return 0;
}

void redis_config_reply(redis_config *cfg, resp_reply *r, const resp_arg *patterns, int count)
{
    struct get_walk w = {r, patterns, count, 0};
    resp_defer d = reply_defer(r);

    net_config_each(&cfg->reg, get_one, &w);
    reply_defer_map(r, d, w.pairs);
}
