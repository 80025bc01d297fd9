/*
 * config.c — the parameters of ffdb-server: one table that serves the
 * command-line flags (tools/ffdb-server/main.c), the config file, CONFIG GET
 * and CONFIG SET, under Redis's parameter names.
 *
 * Parameters that have no meaning for ffdb (save, appendonly, maxmemory,
 * the encoding thresholds, ...) are accepted and ignored: they are kept as
 * text in cfg->ignored so CONFIG GET shows what was set, and client tools
 * that set them at start-up (as many do) keep working. Parameters that
 * cannot change while serving (port, bind, the data file) are refused by
 * CONFIG SET with Redis's wording.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "modules/redis/redis.h"

/* Accepted and ignored, with the value CONFIG GET shows until set. */
static const char *const ignored_defaults[][2] = {
    {"save", ""},
    {"appendonly", "no"},
    {"appendfilename", "appendonly.aof"},
    {"maxmemory", "0"},
    {"maxmemory-policy", "noeviction"},
    {"maxmemory-samples", "5"},
    {"tcp-keepalive", "300"},
    {"tcp-backlog", "511"},
    {"protected-mode", "yes"},
    {"daemonize", "no"},
    {"supervised", "no"},
    {"rdbcompression", "yes"},
    {"rdbchecksum", "yes"},
    {"stop-writes-on-bgsave-error", "yes"},
    {"lazyfree-lazy-eviction", "no"},
    {"lazyfree-lazy-expire", "no"},
    {"lazyfree-lazy-server-del", "no"},
    {"lazyfree-lazy-user-del", "no"},
    {"lazyfree-lazy-user-flush", "no"},
    {"notify-keyspace-events", ""},
    {"slowlog-log-slower-than", "10000"},
    {"slowlog-max-len", "128"},
    {"latency-monitor-threshold", "0"},
    {"hash-max-listpack-entries", "128"},
    {"hash-max-listpack-value", "64"},
    {"hash-max-ziplist-entries", "128"},
    {"hash-max-ziplist-value", "64"},
    {"list-max-listpack-size", "-2"},
    {"list-max-ziplist-size", "-2"},
    {"list-compress-depth", "0"},
    {"set-max-intset-entries", "512"},
    {"set-max-listpack-entries", "128"},
    {"zset-max-listpack-entries", "128"},
    {"zset-max-listpack-value", "64"},
    {"zset-max-ziplist-entries", "128"},
    {"zset-max-ziplist-value", "64"},
    {"activerehashing", "yes"},
    {"activedefrag", "no"},
    {"io-threads", "1"},
    {"io-threads-do-reads", "no"},
    {"lua-time-limit", "5000"},
    {"busy-reply-threshold", "5000"},
    {"replica-read-only", "yes"},
    {"repl-diskless-sync", "yes"},
    {"cluster-enabled", "no"},
    {"unixsocket", ""},
    {"unixsocketperm", "0"},
    {"syslog-enabled", "no"},
    {"always-show-logo", "no"},
    {"set-proc-title", "yes"},
    {"dynamic-hz", "yes"},
    {"aof-use-rdb-preamble", "yes"},
    {"jemalloc-bg-thread", "yes"},
    {"enable-debug-command", "no"},
    {"maxmemory-clients", "0"},
};
#define IGNORED_COUNT (sizeof(ignored_defaults) / sizeof(ignored_defaults[0]))

void redis_config_init(redis_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strcpy(cfg->bind[0], "127.0.0.1");
    cfg->bind_count = 1;
    cfg->port = REDIS_DEFAULT_PORT;
    strcpy(cfg->datafile, "ffdb-server.ffdb");
    /* 128 MiB of 4 KiB frames, taken only as pages are used: the engine's
     * 4 MiB default makes a write batch over a working set of a few tens of
     * MiB spill and re-read pages (six times slower under batch-ms). */
    cfg->buffer_pages = 32768;
    cfg->fsync = FSYNC_ALWAYS;
    cfg->fsync_batch_ms = 100;
    cfg->maxclients = 10000;
    resp_limits_default(&cfg->limits);
    cfg->outbuf_limit = 1024ull * 1024 * 1024; /* 1 GiB: Redis has none for normal clients */
    cfg->outbuf_limit_pubsub = 32ull * 1024 * 1024;
    cfg->hz = 10;
    cfg->loglevel = 2;
    net_dict_init(&cfg->ignored, 1);
    for (size_t i = 0; i < IGNORED_COUNT; i++) {
        net_dict_entry *e = net_dict_upsert(&cfg->ignored, ignored_defaults[i][0],
                                            strlen(ignored_defaults[i][0]), NULL);
        if (e)
            e->value = strdup(ignored_defaults[i][1]);
    }
}

static int free_value(void *arg, net_dict_entry *e)
{
    (void)arg;
    free(e->value);
    return 0;
}

void redis_config_free(redis_config *cfg)
{
    net_dict_each(&cfg->ignored, free_value, NULL);
    net_dict_free(&cfg->ignored);
}

/* ---- value parsing ------------------------------------------------------------------ */

/* Redis's memory units: 1k = 1000, 1kb = 1024, m/mb, g/gb; plain bytes. */
static int parse_memory(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    uint64_t mul = 1;

    if (!*s || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (!strcasecmp(end, "k"))
        mul = 1000;
    else if (!strcasecmp(end, "kb"))
        mul = 1024;
    else if (!strcasecmp(end, "m"))
        mul = 1000 * 1000;
    else if (!strcasecmp(end, "mb"))
        mul = 1024 * 1024;
    else if (!strcasecmp(end, "g"))
        mul = 1000ull * 1000 * 1000;
    else if (!strcasecmp(end, "gb"))
        mul = 1024ull * 1024 * 1024;
    else if (*end)
        return -1;
    if (v > UINT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

static int parse_int(const char *s, long long min, long long max, int *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcasecmp(s, "yes"))
        *out = 1;
    else if (!strcasecmp(s, "no"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int set_fsync(redis_config *cfg, const char *v, int startup, char *err, size_t errlen)
{
    int mode, ms = cfg->fsync_batch_ms;

    if (!strcasecmp(v, "always")) {
        mode = FSYNC_ALWAYS;
    } else if (!strcasecmp(v, "never") || !strcasecmp(v, "no")) {
        mode = FSYNC_NEVER;
    } else if (!strcasecmp(v, "everysec")) {
        mode = FSYNC_BATCH, ms = 1000;
    } else if (!strncasecmp(v, "batch-ms", 8)) {
        const char *n = v + 8;
        while (*n == ' ')
            n++;
        if (parse_int(n, 1, 3600 * 1000, &ms)) {
            snprintf(err, errlen, "argument must be 'batch-ms N' with N in 1..3600000");
            return -1;
        }
        mode = FSYNC_BATCH;
    } else {
        snprintf(err, errlen, "argument must be one of: always, batch-ms N, never");
        return -1;
    }
    /* FFDB_NOSYNC is an open flag: moving to or from "never" needs a restart. */
    if (!startup && (mode == FSYNC_NEVER) != (cfg->fsync == FSYNC_NEVER)) {
        snprintf(err, errlen, "fsync never can only be switched at startup");
        return -1;
    }
    cfg->fsync = mode;
    cfg->fsync_batch_ms = ms;
    return 0;
}

static int set_bind(redis_config *cfg, const char *v, char *err, size_t errlen)
{
    char copy[REDIS_MAX_BINDS * 64], *save = NULL, *tok;
    int n = 0;

    snprintf(copy, sizeof(copy), "%s", v);
    for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (n == REDIS_MAX_BINDS || strlen(tok) >= sizeof(cfg->bind[0])) {
            snprintf(err, errlen, "too many bind addresses or one too long");
            return -1;
        }
        strcpy(cfg->bind[n++], tok[0] == '-' ? tok + 1 : tok); /* "-::1": optional in Redis */
    }
    if (n == 0) {
        snprintf(err, errlen, "bind needs at least one address");
        return -1;
    }
    cfg->bind_count = n;
    return 0;
}

/* "normal <hard> <soft> <secs> [pubsub <hard> <soft> <secs>] ...": the hard
 * limits of normal and pubsub clients are what ffdb-server enforces. */
static int set_outbuf(redis_config *cfg, const char *v, char *err, size_t errlen)
{
    char copy[512], *save = NULL, *w[32];
    int n = 0;

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
        if (parse_memory(w[i + 1], &hard) || parse_memory(w[i + 2], &soft) ||
            parse_int(w[i + 3], 0, INT32_MAX, &secs)) {
            snprintf(err, errlen,
                     "Error in hard, soft or soft_seconds setting in buffer limit "
                     "configuration.");
            return -1;
        }
        if (!strcasecmp(w[i], "normal"))
            cfg->outbuf_limit = hard;
        else if (!strcasecmp(w[i], "pubsub"))
            cfg->outbuf_limit_pubsub = hard;
        else if (strcasecmp(w[i], "replica") && strcasecmp(w[i], "slave")) {
            snprintf(err, errlen, "Invalid client class specified in buffer limit configuration.");
            return -1;
        }
    }
    return 0;
}

static const char *const loglevels[] = {"debug", "verbose", "notice", "warning"};

static int set_string(char *dst, size_t cap, const char *v, char *err, size_t errlen)
{
    if (strlen(v) >= cap) {
        snprintf(err, errlen, "value too long");
        return -1;
    }
    strcpy(dst, v);
    return 0;
}

static int set_ignored(redis_config *cfg, const char *name, const char *value)
{
    net_dict_entry *e = net_dict_find(&cfg->ignored, name, strlen(name));
    char *copy;

    if (!e)
        return 1;
    copy = strdup(value);
    if (!copy)
        return -1;
    free(e->value);
    e->value = copy;
    return 0;
}

int redis_config_set(redis_config *cfg, const char *name, const char *value, int startup, char *err,
                     size_t errlen)
{
    int iv;
    uint64_t mv;

#define STARTUP_ONLY                                                                               \
    do {                                                                                           \
        if (!startup) {                                                                            \
            snprintf(err, errlen, "can't set immutable config");                                   \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)
#define BAD(msg)                                                                                   \
    do {                                                                                           \
        snprintf(err, errlen, "%s", msg);                                                          \
        return -1;                                                                                 \
    } while (0)

    err[0] = '\0';
    if (!strcasecmp(name, "port")) {
        STARTUP_ONLY;
        if (parse_int(value, 0, 65535, &cfg->port))
            BAD("argument couldn't be parsed into an integer");
    } else if (!strcasecmp(name, "bind")) {
        STARTUP_ONLY;
        return set_bind(cfg, value, err, errlen);
    } else if (!strcasecmp(name, "dbfilename") || !strcasecmp(name, "ffdb-datafile")) {
        STARTUP_ONLY;
        return set_string(cfg->datafile, sizeof(cfg->datafile), value, err, errlen);
    } else if (!strcasecmp(name, "dir")) {
        STARTUP_ONLY;
        return set_string(cfg->dir, sizeof(cfg->dir), value, err, errlen);
    } else if (!strcasecmp(name, "ffdb-buffer-pages")) {
        STARTUP_ONLY;
        if (parse_memory(value, &mv) || (mv && mv < 16))
            BAD("argument must be 0 (the engine default) or at least 16 pages");
        cfg->buffer_pages = mv;
    } else if (!strcasecmp(name, "ffdb-direct-io")) {
        STARTUP_ONLY;
        if (parse_bool(value, &iv))
            BAD("argument must be 'yes' or 'no'");
        cfg->nodirect = !iv;
    } else if (!strcasecmp(name, "ffdb-pipeline-commits")) {
        STARTUP_ONLY;
        if (parse_bool(value, &iv))
            BAD("argument must be 'yes' or 'no'");
        cfg->pipeline = iv;
    } else if (!strcasecmp(name, "ffdb-fsync")) {
        return set_fsync(cfg, value, startup, err, errlen);
    } else if (!strcasecmp(name, "appendfsync")) {
        return set_fsync(cfg, value, startup, err, errlen);
    } else if (!strcasecmp(name, "requirepass")) {
        return set_string(cfg->requirepass, sizeof(cfg->requirepass), value, err, errlen);
    } else if (!strcasecmp(name, "maxclients")) {
        if (parse_int(value, 1, 1000000, &cfg->maxclients))
            BAD("argument must be between 1 and 1000000 inclusive");
    } else if (!strcasecmp(name, "timeout")) {
        if (parse_int(value, 0, INT32_MAX, &cfg->timeout_s))
            BAD("argument couldn't be parsed into an integer");
    } else if (!strcasecmp(name, "proto-max-bulk-len")) {
        if (parse_memory(value, &mv) || mv < 1024 || mv > (uint64_t)4 * 1024 * 1024 * 1024 - 1)
            BAD("argument must be a memory value between 1kb and 4gb");
        cfg->limits.max_bulk_len = mv;
    } else if (!strcasecmp(name, "client-query-buffer-limit")) {
        if (parse_memory(value, &mv) || mv < 1024 * 1024)
            BAD("argument must be a memory value of at least 1mb");
        cfg->limits.max_request_bytes = mv;
    } else if (!strcasecmp(name, "ffdb-max-multibulk-length")) {
        if (parse_memory(value, &mv) || mv < 1 || mv > INT32_MAX)
            BAD("argument must be between 1 and 2147483647");
        cfg->limits.max_elements = mv;
    } else if (!strcasecmp(name, "client-output-buffer-limit")) {
        return set_outbuf(cfg, value, err, errlen);
    } else if (!strcasecmp(name, "hz")) {
        if (parse_int(value, 1, 500, &cfg->hz))
            BAD("argument must be between 1 and 500 inclusive");
    } else if (!strcasecmp(name, "loglevel")) {
        for (iv = 0; iv < 4; iv++)
            if (!strcasecmp(value, loglevels[iv]))
                break;
        if (iv == 4)
            BAD("argument(s) must be one of the following: debug, verbose, notice, warning");
        cfg->loglevel = iv;
    } else if (!strcasecmp(name, "logfile")) {
        return set_string(cfg->logfile, sizeof(cfg->logfile), value, err, errlen);
    } else if (!strcasecmp(name, "pidfile")) {
        return set_string(cfg->pidfile, sizeof(cfg->pidfile), value, err, errlen);
    } else if (!strcasecmp(name, "databases")) {
        if (parse_int(value, STORE_DBS, STORE_DBS, &iv))
            BAD("ffdb-server has 16 databases");
    } else {
        int rc = set_ignored(cfg, name, value);
        if (rc > 0) {
            snprintf(err, errlen, "Unknown option or number of arguments for CONFIG SET - '%s'",
                     name);
            return -1;
        }
        return rc ? (snprintf(err, errlen, "out of memory"), -1) : 0;
    }
    return 0;
#undef STARTUP_ONLY
#undef BAD
}

/* ---- config file ------------------------------------------------------------------- */

int redis_config_load(redis_config *cfg, const char *path, char *err, size_t errlen)
{
    char line[4096], msg[256];
    FILE *f = fopen(path, "r");
    int lineno = 0;

    if (!f) {
        snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return -1;
    }
    set_string(cfg->config_file, sizeof(cfg->config_file), path, msg, sizeof(msg));
    while (fgets(line, sizeof(line), f)) {
        resp_span argv[64];
        char value[4096];
        size_t len = strcspn(line, "\r\n"), vlen = 0;
        long argc;
        lineno++;
        line[len] = '\0';
        argc = resp_split_inline(line, len, 0, argv, 64);
        if (argc == 0 || line[argv[0].off] == '#')
            continue;
        if (argc < 0 || argc > 64) {
            snprintf(err, errlen, "%s:%d: unbalanced quotes or too many arguments", path, lineno);
            goto fail;
        }
        value[0] = '\0';
        for (long i = 1; i < argc; i++) {
            int w = snprintf(value + vlen, sizeof(value) - vlen, "%s%.*s", i > 1 ? " " : "",
                             (int)argv[i].len, line + argv[i].off);
            vlen += w > 0 ? (size_t)w : 0;
            if (vlen >= sizeof(value))
                vlen = sizeof(value) - 1;
        }
        line[argv[0].off + argv[0].len] = '\0';
        if (argc < 2 && strcasecmp(line + argv[0].off, "save") != 0) {
            snprintf(err, errlen, "%s:%d: Bad directive or wrong number of arguments", path,
                     lineno);
            goto fail;
        }
        if (redis_config_set(cfg, line + argv[0].off, value, 1, msg, sizeof(msg))) {
            snprintf(err, errlen, "%s:%d: '%s': %s", path, lineno, line + argv[0].off, msg);
            goto fail;
        }
    }
    fclose(f);
    return 0;
fail:
    fclose(f);
    return -1;
}

/* ---- CONFIG GET --------------------------------------------------------------------- */

static const char *const own_names[] = {
    "bind",
    "port",
    "dbfilename",
    "dir",
    "ffdb-buffer-pages",
    "ffdb-direct-io",
    "ffdb-pipeline-commits",
    "ffdb-fsync",
    "appendfsync",
    "requirepass",
    "maxclients",
    "timeout",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "ffdb-max-multibulk-length",
    "client-output-buffer-limit",
    "hz",
    "loglevel",
    "logfile",
    "pidfile",
    "databases",
};
#define OWN_COUNT (sizeof(own_names) / sizeof(own_names[0]))

static void own_value(const redis_config *cfg, const char *name, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!strcmp(name, "bind")) {
        size_t n = 0;
        for (int i = 0; i < cfg->bind_count && n < cap; i++)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? " " : "", cfg->bind[i]);
    } else if (!strcmp(name, "port")) {
        snprintf(buf, cap, "%d", cfg->port);
    } else if (!strcmp(name, "dbfilename")) {
        snprintf(buf, cap, "%s", cfg->datafile);
    } else if (!strcmp(name, "dir")) {
        snprintf(buf, cap, "%s", cfg->dir[0] ? cfg->dir : ".");
    } else if (!strcmp(name, "ffdb-buffer-pages")) {
        snprintf(buf, cap, "%llu", (unsigned long long)cfg->buffer_pages);
    } else if (!strcmp(name, "ffdb-direct-io")) {
        snprintf(buf, cap, "%s", cfg->nodirect ? "no" : "yes");
    } else if (!strcmp(name, "ffdb-pipeline-commits")) {
        snprintf(buf, cap, "%s", cfg->pipeline ? "yes" : "no");
    } else if (!strcmp(name, "ffdb-fsync")) {
        if (cfg->fsync == FSYNC_BATCH)
            snprintf(buf, cap, "batch-ms %d", cfg->fsync_batch_ms);
        else
            snprintf(buf, cap, "%s", cfg->fsync == FSYNC_ALWAYS ? "always" : "never");
    } else if (!strcmp(name, "appendfsync")) {
        snprintf(buf, cap, "%s",
                 cfg->fsync == FSYNC_ALWAYS  ? "always"
                 : cfg->fsync == FSYNC_BATCH ? "everysec"
                                             : "no");
    } else if (!strcmp(name, "requirepass")) {
        snprintf(buf, cap, "%s", cfg->requirepass);
    } else if (!strcmp(name, "maxclients")) {
        snprintf(buf, cap, "%d", cfg->maxclients);
    } else if (!strcmp(name, "timeout")) {
        snprintf(buf, cap, "%d", cfg->timeout_s);
    } else if (!strcmp(name, "proto-max-bulk-len")) {
        snprintf(buf, cap, "%llu", (unsigned long long)cfg->limits.max_bulk_len);
    } else if (!strcmp(name, "client-query-buffer-limit")) {
        snprintf(buf, cap, "%llu", (unsigned long long)cfg->limits.max_request_bytes);
    } else if (!strcmp(name, "ffdb-max-multibulk-length")) {
        snprintf(buf, cap, "%llu", (unsigned long long)cfg->limits.max_elements);
    } else if (!strcmp(name, "client-output-buffer-limit")) {
        snprintf(buf, cap, "normal %llu 0 0 slave 268435456 67108864 60 pubsub %llu 0 0",
                 (unsigned long long)cfg->outbuf_limit,
                 (unsigned long long)cfg->outbuf_limit_pubsub);
    } else if (!strcmp(name, "hz")) {
        snprintf(buf, cap, "%d", cfg->hz);
    } else if (!strcmp(name, "loglevel")) {
        snprintf(buf, cap, "%s", loglevels[cfg->loglevel]);
    } else if (!strcmp(name, "logfile")) {
        snprintf(buf, cap, "%s", cfg->logfile);
    } else if (!strcmp(name, "pidfile")) {
        snprintf(buf, cap, "%s", cfg->pidfile);
    } else if (!strcmp(name, "databases")) {
        snprintf(buf, cap, "%d", STORE_DBS);
    }
}

static int matches(const char *name, const resp_arg *patterns, int count)
{
    for (int i = 0; i < count; i++)
        if (resp_glob_match(patterns[i].p, patterns[i].n, name, strlen(name), 1))
            return 1;
    return 0;
}

struct ignored_walk {
    resp_reply *r;
    const resp_arg *patterns;
    int count;
    size_t pairs;
};

static int ignored_reply(void *arg, net_dict_entry *e)
{
    struct ignored_walk *w = arg;

    if (!matches(e->key, w->patterns, w->count))
        return 0;
    reply_bulk(w->r, e->key, e->klen);
    reply_bulk_cstr(w->r, e->value ? e->value : "");
    w->pairs++;
    return 0;
}

void redis_config_reply(redis_config *cfg, resp_reply *r, const resp_arg *patterns, int count)
{
    struct ignored_walk w = {r, patterns, count, 0};
    resp_defer d = reply_defer(r);
    char value[1024];

    for (size_t i = 0; i < OWN_COUNT; i++) {
        if (!matches(own_names[i], patterns, count))
            continue;
        own_value(cfg, own_names[i], value, sizeof(value));
        reply_bulk_cstr(r, own_names[i]);
        reply_bulk_cstr(r, value);
        w.pairs++;
    }
    net_dict_each(&cfg->ignored, ignored_reply, &w);
    reply_defer_map(r, d, w.pairs);
}
