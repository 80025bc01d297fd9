/*
 * cmd_info.c — INFO and COMMAND: what the server tells about itself.
 *
 * INFO has Redis's sections and field names (server, clients, memory,
 * persistence, stats, replication, cpu, keyspace), so monitoring tools and
 * client libraries that parse them (redis_version, connected_clients,
 * used_memory, db0:keys=...) work unchanged, plus an "ffdb" section with the
 * engine's own figures from ffdb_stat_db(). COMMAND answers from the
 * command table in Redis 7's shape, enough for redis-cli's hints and for
 * client libraries that read key positions.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "modules/redis/block.h"
#include "modules/redis/pause.h"
#include "modules/redis/redis.h"
#include "modules/redis/tracking.h"

#define COMPAT_VERSION "7.0.0"

static void add(net_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(net_buf *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0)
        net_buf_append(b, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void human_bytes(char *buf, size_t cap, uint64_t n)
{
    static const char units[] = "BKMGTP";
    double v = (double)n;
    int u = 0;

    while (v >= 1024 && u < 5)
        v /= 1024, u++;
    if (u == 0)
        snprintf(buf, cap, "%lluB", (unsigned long long)n);
    else
        snprintf(buf, cap, "%.2f%c", v, units[u]);
}

static uint64_t rss_bytes(void)
{
    unsigned long long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (!f)
        return 0;
    if (fscanf(f, "%llu %llu", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void section_server(redis_server *s, net_buf *b)
{
    struct utsname u;
    int64_t now = redis_now_ms(s), up = (now - s->start_ms) / 1000;

    uname(&u);
    add(b, "# Server\r\n");
    add(b, "redis_version:%s\r\n", COMPAT_VERSION);
    add(b, "redis_git_sha1:00000000\r\n"); /* as a Redis built outside git reports */
    add(b, "redis_git_dirty:0\r\n");
    add(b, "ffdb_version:%d.%d.%d\r\n", FFDB_VERSION_MAJOR, FFDB_VERSION_MINOR, FFDB_VERSION_PATCH);
    add(b, "redis_mode:standalone\r\n");
    add(b, "os:%s %s %s\r\n", u.sysname, u.release, u.machine);
    add(b, "arch_bits:%d\r\n", (int)(sizeof(void *) * 8));
    add(b, "multiplexing_api:%s\r\n", net_loop_backend(s->loop));
    add(b, "process_id:%d\r\n", (int)getpid());
    add(b, "run_id:%s\r\n", s->run_id);
    add(b, "tcp_port:%d\r\n", s->svc.port);
    add(b, "server_time_usec:%lld\r\n", (long long)now * 1000);
    add(b, "uptime_in_seconds:%lld\r\n", (long long)up);
    add(b, "uptime_in_days:%lld\r\n", (long long)(up / 86400));
    add(b, "hz:%d\r\n", s->cfg->hz);
    add(b, "config_file:%s\r\n", s->cfg->reg.file);
}

static void section_clients(redis_server *s, net_buf *b)
{
    uint64_t pubsub = 0;
    tracking_stats tk;

    for (net_conn *c = s->svc.conns; c; c = c->next)
        pubsub += pubsub_count(redis_client_of(c)) > 0;
    add(b, "# Clients\r\n");
    add(b, "connected_clients:%llu\r\n", (unsigned long long)s->svc.conn_count);
    add(b, "maxclients:%d\r\n", s->cfg->svc.maxclients);
    add(b, "blocked_clients:%llu\r\n", (unsigned long long)(block_count(s) + pause_count(s)));
    add(b, "pubsub_clients:%llu\r\n", (unsigned long long)pubsub);
    add(b, "watching_clients:%llu\r\n", (unsigned long long)s->watching_clients);
    add(b, "total_watched_keys:%zu\r\n", s->watched.count);
    tracking_counts(s, &tk);
    add(b, "tracking_clients:%zu\r\n", tk.clients);
}

static void section_memory(redis_server *s, net_buf *b)
{
    uint64_t used = server_used_memory(), rss = rss_bytes();
    char h1[32], h2[32], h3[32];
    ffdb_stat st;

    memset(&st, 0, sizeof(st));
    ffdb_stat_db(s->db, &st);
    if (used > s->peak_memory)
        s->peak_memory = used;
    human_bytes(h1, sizeof(h1), used);
    human_bytes(h2, sizeof(h2), rss);
    human_bytes(h3, sizeof(h3), s->peak_memory);
    add(b, "# Memory\r\n");
    add(b, "used_memory:%llu\r\n", (unsigned long long)used);
    add(b, "used_memory_human:%s\r\n", h1);
    add(b, "used_memory_rss:%llu\r\n", (unsigned long long)rss);
    add(b, "used_memory_rss_human:%s\r\n", h2);
    add(b, "used_memory_peak:%llu\r\n", (unsigned long long)s->peak_memory);
    add(b, "used_memory_peak_human:%s\r\n", h3);
    add(b, "maxmemory:0\r\n");
    add(b, "maxmemory_policy:noeviction\r\n");
    add(b, "mem_allocator:%s\r\n", server_has_jemalloc() ? "jemalloc" : "libc");
    add(b, "ffdb_buffer_pool_bytes:%llu\r\n",
        (unsigned long long)(st.pool_frames * (uint64_t)st.page_size));
}

static void section_persistence(redis_server *s, net_buf *b)
{
    const net_batch_stats *bs = &s->batch.stats;
    uint64_t commits = bs->commits ? bs->commits : 1;
    char fsync[64];

    add(b, "# Persistence\r\n");
    add(b, "loading:0\r\n");
    add(b, "async_loading:0\r\n");
    add(b, "rdb_changes_since_last_save:%llu\r\n", (unsigned long long)s->stats.dirty);
    add(b, "rdb_bgsave_in_progress:0\r\n");
    add(b, "rdb_last_save_time:%lld\r\n", (long long)s->lastsave_s);
    add(b, "rdb_last_bgsave_status:%s\r\n", s->batch.last_commit_rc ? "err" : "ok");
    add(b, "aof_enabled:0\r\n");
    add(b, "aof_rewrite_in_progress:0\r\n");
    add(b, "aof_last_write_status:%s\r\n", s->batch.last_commit_rc ? "err" : "ok");
    net_config_get(&s->cfg->reg, "ffdb-fsync", fsync, sizeof(fsync));
    add(b, "ffdb_fsync:%s\r\n", fsync);
    add(b, "ffdb_commits:%llu\r\n", (unsigned long long)bs->commits);
    add(b, "ffdb_syncs:%llu\r\n", (unsigned long long)bs->syncs);
    add(b, "ffdb_commit_failures:%llu\r\n", (unsigned long long)bs->commit_failures);
    add(b, "ffdb_commit_avg_usec:%llu\r\n", (unsigned long long)(bs->commit_us / commits));
    add(b, "ffdb_write_batches:%llu\r\n", (unsigned long long)bs->batches);
    add(b, "ffdb_last_commit_status:%s\r\n",
        s->batch.last_commit_rc ? ffdb_strerror(s->batch.last_commit_rc) : "ok");
}

static void section_stats(redis_server *s, net_buf *b)
{
    uint64_t errors = s->errors_gone;
    tracking_stats tk;

    for (net_conn *c = s->svc.conns; c; c = c->next)
        errors += redis_client_of(c)->reply.errors;
    add(b, "# Stats\r\n");
    add(b, "total_connections_received:%llu\r\n", (unsigned long long)s->svc.stats.connections);
    add(b, "total_commands_processed:%llu\r\n", (unsigned long long)s->stats.commands);
    add(b, "instantaneous_ops_per_sec:%.0f\r\n", s->stats.ops_per_sec);
    add(b, "total_net_input_bytes:%llu\r\n", (unsigned long long)s->svc.stats.net_in);
    add(b, "total_net_output_bytes:%llu\r\n", (unsigned long long)s->svc.stats.net_out);
    add(b, "rejected_connections:%llu\r\n", (unsigned long long)s->svc.stats.rejected);
    add(b, "expired_keys:%llu\r\n", (unsigned long long)store_expired_total(s->store));
    add(b, "evicted_keys:0\r\n");
    add(b, "keyspace_hits:%llu\r\n", (unsigned long long)store_hits(s->store));
    add(b, "keyspace_misses:%llu\r\n", (unsigned long long)store_misses(s->store));
    add(b, "pubsub_channels:%zu\r\n", s->channels.count);
    add(b, "pubsub_patterns:%zu\r\n", s->patterns.count);
    tracking_counts(s, &tk);
    add(b, "tracking_total_keys:%zu\r\n", tk.keys);
    add(b, "tracking_total_items:%llu\r\n", (unsigned long long)tk.items);
    add(b, "tracking_total_prefixes:%zu\r\n", tk.prefixes);
    add(b, "total_error_replies:%llu\r\n", (unsigned long long)errors);
    add(b, "ffdb_stale_entries_removed:%llu\r\n",
        (unsigned long long)store_stale_removed_total(s->store));
    add(b, "ffdb_protocol_errors:%llu\r\n", (unsigned long long)s->stats.proto_errors);
    add(b, "ffdb_output_limit_disconnections:%llu\r\n",
        (unsigned long long)s->svc.stats.output_limit_kills);
    add(b, "ffdb_idle_timeouts:%llu\r\n", (unsigned long long)s->svc.stats.timeouts);
}

static void section_cpu(net_buf *b)
{
    struct rusage self;

    getrusage(RUSAGE_SELF, &self);
    add(b, "# CPU\r\n");
    add(b, "used_cpu_sys:%ld.%06ld\r\n", (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec);
    add(b, "used_cpu_user:%ld.%06ld\r\n", (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec);
}

static void section_keyspace(redis_server *s, net_buf *b)
{
    add(b, "# Keyspace\r\n");
    for (int db = 0; db < STORE_DBS; db++) {
        uint64_t keys = store_db_keys(s->store, db);
        if (keys)
            add(b, "db%d:keys=%llu,expires=%llu,avg_ttl=0\r\n", db, (unsigned long long)keys,
                (unsigned long long)store_db_expires(s->store, db));
    }
}

static void section_ffdb(redis_server *s, net_buf *b)
{
    ffdb_stat st;

    memset(&st, 0, sizeof(st));
    if (ffdb_stat_db(s->db, &st))
        return;
    add(b, "# Ffdb\r\n");
    add(b, "ffdb_txid:%llu\r\n", (unsigned long long)st.txid);
    add(b, "ffdb_page_size:%u\r\n", st.page_size);
    add(b, "ffdb_pages:%llu\r\n", (unsigned long long)st.page_count);
    add(b, "ffdb_file_bytes:%llu\r\n", (unsigned long long)st.file_bytes);
    add(b, "ffdb_free_pages:%llu\r\n", (unsigned long long)st.free_pages);
    add(b, "ffdb_pending_pages:%llu\r\n", (unsigned long long)st.pending_pages);
    add(b, "ffdb_freelist_pages:%llu\r\n", (unsigned long long)st.freelist_pages);
    add(b, "ffdb_buckets:%llu\r\n", (unsigned long long)st.bucket_count);
    add(b, "ffdb_direct_io:%u\r\n", st.direct_io);
    add(b, "ffdb_io_uring:%u\r\n", st.io_uring);
    add(b, "ffdb_readers:%u\r\n", st.readers);
    add(b, "ffdb_pool_frames:%llu\r\n", (unsigned long long)st.pool_frames);
    add(b, "ffdb_pool_hits:%llu\r\n", (unsigned long long)st.pool_hits);
    add(b, "ffdb_pool_misses:%llu\r\n", (unsigned long long)st.pool_misses);
    add(b, "ffdb_pool_evictions:%llu\r\n", (unsigned long long)st.pool_evictions);
    add(b, "ffdb_pool_spills:%llu\r\n", (unsigned long long)st.pool_spills);
}

enum {
    S_SERVER,
    S_CLIENTS,
    S_MEMORY,
    S_PERSISTENCE,
    S_STATS,
    S_REPLICATION,
    S_CPU,
    S_KEYSPACE,
    S_FFDB,
    S_COUNT
};
static const char *const section_names[S_COUNT] = {
    "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace", "ffdb",
};

static int info_cmd(resp_ctx *c)
{
    redis_server *s = c->srv;
    int want[S_COUNT] = {0}, any = 0;
    net_buf b;

    for (int i = 1; i < c->argc; i++) {
        if (resp_arg_is(&c->argv[i], "all") || resp_arg_is(&c->argv[i], "everything") ||
            resp_arg_is(&c->argv[i], "default")) {
            for (int k = 0; k < S_COUNT; k++)
                want[k] = 1;
        }
        for (int k = 0; k < S_COUNT; k++)
            if (resp_arg_is(&c->argv[i], section_names[k]))
                want[k] = 1;
        any = 1;
    }
    if (!any)
        for (int k = 0; k < S_COUNT; k++)
            want[k] = 1;
    net_buf_init(&b, 0);
    for (int k = 0; k < S_COUNT; k++) {
        if (!want[k])
            continue;
        if (b.len)
            add(&b, "\r\n");
        switch (k) {
        case S_SERVER:
            section_server(s, &b);
            break;
        case S_CLIENTS:
            section_clients(s, &b);
            break;
        case S_MEMORY:
            section_memory(s, &b);
            break;
        case S_PERSISTENCE:
            section_persistence(s, &b);
            break;
        case S_STATS:
            section_stats(s, &b);
            break;
        case S_REPLICATION:
            if (s->hook && s->hook->info) {
                add(&b, "# Replication\r\n");
                s->hook->info(s->hook_arg, &b);
            } else {
                add(&b, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
            }
            break;
        case S_CPU:
            section_cpu(&b);
            break;
        case S_KEYSPACE:
            section_keyspace(s, &b);
            break;
        case S_FFDB:
            section_ffdb(s, &b);
            break;
        }
    }
    for (int e = 0; e < s->cfg->next; e++) { /* the extensions' sections, last */
        const redis_extension *x = s->cfg->ext[e].ops;
        int asked = !any;
        for (int i = 1; i < c->argc && !asked; i++)
            asked = resp_arg_is(&c->argv[i], "all") || resp_arg_is(&c->argv[i], "everything") ||
                    resp_arg_is(&c->argv[i], "default") || resp_arg_is(&c->argv[i], x->name);
        if (!asked || !x->info)
            continue;
        if (b.len)
            add(&b, "\r\n");
        add(&b, "# %c%s\r\n", x->name[0] >= 'a' && x->name[0] <= 'z' ? x->name[0] - 32 : x->name[0],
            x->name + 1);
        x->info(s->cfg->ext[e].arg, &b);
    }
    reply_verbatim(c->r, b.data ? b.data : "", b.len);
    net_buf_free(&b);
    return 0;
}

/* ---- COMMAND ------------------------------------------------------------------------------ */

static const struct {
    unsigned flag;
    const char *name;
} flag_names[] = {
    {RESP_CMD_WRITE, "write"},     {RESP_CMD_READONLY, "readonly"}, {RESP_CMD_DENYOOM, "denyoom"},
    {RESP_CMD_ADMIN, "admin"},     {RESP_CMD_PUBSUB, "pubsub"},     {RESP_CMD_NOSCRIPT, "noscript"},
    {RESP_CMD_LOADING, "loading"}, {RESP_CMD_STALE, "stale"},       {RESP_CMD_FAST, "fast"},
    {RESP_CMD_NOAUTH, "no_auth"},
};
#define FLAG_NAMES (sizeof(flag_names) / sizeof(flag_names[0]))

/* Commands whose keys a count or a keyword names (COMMAND GETKEYS reads
 * them; COMMAND INFO flags them movablekeys, as Redis 7.0). */
static const struct {
    const char *name;
    int numkeys_at; /* 0: XREAD's STREAMS */
    int dest;       /* a destination key before numkeys */
} mk[] = {
    {"eval", 2, 0},        {"evalsha", 2, 0},    {"eval_ro", 2, 0},    {"evalsha_ro", 2, 0},
    {"fcall", 2, 0},       {"fcall_ro", 2, 0},   {"lmpop", 1, 0},      {"zmpop", 1, 0},
    {"blmpop", 2, 0},      {"bzmpop", 2, 0},     {"sintercard", 1, 0}, {"zintercard", 1, 0},
    {"zunion", 1, 0},      {"zinter", 1, 0},     {"zdiff", 1, 0},      {"zunionstore", 2, 1},
    {"zinterstore", 2, 1}, {"zdiffstore", 2, 1}, {"xread", 0, 0},      {"xreadgroup", 0, 0}};

static int name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return 1;
    return 0;
}

/* How COMMAND INFO shows a command, as Redis 7.0 does: a container of
 * subcommands (CLIENT, XGROUP, ...) has no flags and no keys of its own;
 * a command with movable keys reports them 0 0 0 unless a fixed first key
 * comes before (ZUNIONSTORE's destination), and the flag movablekeys; the
 * blocking commands the flag blocking. The table keeps its own key
 * positions for the server's use. */
typedef struct cmd_shape {
    int container, movable, blocking;
    int first, last, step;
} cmd_shape;

static cmd_shape command_shape(const resp_command *cmd)
{
    static const char *const containers[] = {
        "acl",    "client",   "cluster", "command", "config", "function", "latency", "memory",
        "module", "object",   "pubsub",  "script",  "slowlog", "xgroup",  "xinfo",   NULL};
    static const char *const blocking[] = {
        "blpop",    "brpop",    "blmove", "brpoplpush", "blmpop", "bzpopmin",
        "bzpopmax", "bzmpop",   "xread",  "xreadgroup", "wait",   NULL};
    static const char *const movable_other[] = {"sort", "sort_ro", "migrate", NULL};
    cmd_shape sh = {0, 0, 0, cmd->first_key, cmd->last_key, cmd->key_step};

    sh.container = name_in(cmd->name, containers);
    sh.blocking = name_in(cmd->name, blocking);
    sh.movable = name_in(cmd->name, movable_other);
    for (size_t i = 0; i < sizeof(mk) / sizeof(mk[0]); i++)
        if (strcmp(cmd->name, mk[i].name) == 0) {
            sh.movable = 1;
            if (!mk[i].dest)
                sh.first = sh.last = sh.step = 0;
        }
    if (sh.container)
        sh.first = sh.last = sh.step = 0;
    return sh;
}

static void command_info(resp_reply *r, const resp_command *cmd)
{
    cmd_shape sh = command_shape(cmd);
    size_t nflags = (size_t)sh.movable + (size_t)sh.blocking;

    reply_array(r, 10);
    reply_bulk_cstr(r, cmd->name);
    reply_int(r, cmd->arity);
    for (size_t i = 0; i < FLAG_NAMES && !sh.container; i++)
        nflags += (cmd->flags & flag_names[i].flag) != 0;
    reply_set(r, sh.container ? 0 : nflags);
    for (size_t i = 0; i < FLAG_NAMES && !sh.container; i++)
        if (cmd->flags & flag_names[i].flag)
            reply_simple(r, flag_names[i].name);
    if (sh.blocking && !sh.container)
        reply_simple(r, "blocking");
    if (sh.movable && !sh.container)
        reply_simple(r, "movablekeys");
    reply_int(r, sh.first);
    reply_int(r, sh.last);
    reply_int(r, sh.step);
    reply_set(r, 1); /* ACL categories */
    reply_simple(r, cmd->flags & RESP_CMD_WRITE ? "@write" : "@read");
    reply_set(r, 0);   /* tips */
    reply_array(r, 0); /* key specs */
    reply_array(r, 0); /* subcommands */
}

static void command_docs(resp_reply *r, const resp_command *cmd)
{
    reply_bulk_cstr(r, cmd->name);
    reply_map(r, 3);
    reply_bulk_cstr(r, "summary");
    reply_bulk_cstr(r, cmd->summary ? cmd->summary : "");
    reply_bulk_cstr(r, "since");
    reply_bulk_cstr(r, "1.0.0");
    reply_bulk_cstr(r, "group");
    reply_bulk_cstr(r, cmd->group ? cmd->group : "generic");
}

/* COMMAND GETKEYS: the key positions of a command line (a = argv of the
 * command, n words): from the table's first/last/step, or, for commands
 * whose keys a count names (EVAL, LMPOP, ZUNION, XREAD, ...), from it.
 * 0 with *first, *count, *step; -1 with no keys. */
static int movable_keys(const char *name, int n, const resp_arg *a, int *first, int *count)
{
    for (size_t i = 0; i < sizeof(mk) / sizeof(mk[0]); i++) {
        if (strcmp(name, mk[i].name) != 0)
            continue;
        if (mk[i].numkeys_at == 0) {
            for (int j = 1; j < n; j++)
                if (resp_arg_is(&a[j], "streams")) {
                    *first = j + 1;
                    *count = (n - j - 1) / 2;
                    return *count > 0 ? 0 : -1;
                }
            return -1;
        }
        int64_t k;
        if (mk[i].numkeys_at >= n ||
            resp_parse_i64(a[mk[i].numkeys_at].p, a[mk[i].numkeys_at].n, &k) || k < 0 ||
            k > n - mk[i].numkeys_at - 1)
            return -1;
        if (mk[i].dest) { /* dest, then the numkeys keys: reported as two runs */
            *first = -1;
            *count = (int)k;
            return 0;
        }
        *first = mk[i].numkeys_at + 1;
        *count = (int)k;
        return *count > 0 ? 0 : -1;
    }
    return 1; /* not movable */
}

/* The keys of cmd's line a (n words, a[0] the name): positions first,
 * first + step, ... (count of them), after a destination at 1 when dest
 * (ZUNIONSTORE dest numkeys key...: the keys from 3). 0, or -1 if none. */
static int key_span(const resp_command *cmd, int n, const resp_arg *a, int *first, int *count,
                    int *step, int *dest)
{
    int m = movable_keys(cmd->name, n, a, first, count);

    *step = 1;
    *dest = 0;
    if (m == 1 && cmd->first_key > 0) {
        int last = cmd->last_key < 0 ? n + cmd->last_key : cmd->last_key;
        *first = cmd->first_key;
        *step = cmd->key_step > 0 ? cmd->key_step : 1;
        *count = last >= *first ? (last - *first) / *step + 1 : 0;
        m = *count > 0 && last < n ? 0 : -1;
    } else if (m == 1) {
        m = -1;
    }
    if (m == 0 && *first == -1) {
        *first = 3;
        *dest = 1;
    }
    return m < 0 ? -1 : 0;
}

int redis_command_key_positions(const resp_command *cmd, int n, const resp_arg *a, int from,
                                int *pos, int cap)
{
    int first, count, step, dest, got = 0;

    if (!resp_arity_ok(cmd, n) || key_span(cmd, n, a, &first, &count, &step, &dest))
        return 0;
    for (int i = from; i < count + dest && got < cap; i++)
        pos[got++] = dest ? (i == 0 ? 1 : first + (i - 1)) : first + i * step;
    return got;
}

static int command_getkeys(resp_ctx *c)
{
    const resp_arg *a = &c->argv[2];
    int n = c->argc - 2, first = 0, count = 0, step = 1, dest = 0;
    const resp_command *cmd = redis_command_lookup(a[0].p, a[0].n);

    if (!cmd) {
        reply_error(c->r, "ERR Invalid command specified");
        return 0;
    }
    if (!resp_arity_ok(cmd, n)) {
        reply_error(c->r, "ERR Invalid number of arguments specified for command");
        return 0;
    }
    if (key_span(cmd, n, a, &first, &count, &step, &dest)) {
        reply_error(c->r, "ERR The command has no key arguments");
        return 0;
    }
    reply_array(c->r, (size_t)count + (size_t)dest);
    if (dest)
        reply_bulk(c->r, a[1].p, a[1].n);
    for (int i = 0; i < count; i++)
        reply_bulk(c->r, a[first + i * step].p, a[first + i * step].n);
    return 0;
}

static int command_cmd(resp_ctx *c)
{
    size_t n = redis_command_count();

    if (c->argc == 1) {
        reply_array(c->r, n);
        for (size_t i = 0; i < n; i++)
            command_info(c->r, redis_command_at(i));
    } else if (resp_arg_is(&c->argv[1], "count") && c->argc == 2) {
        reply_int(c->r, (int64_t)n);
    } else if (resp_arg_is(&c->argv[1], "info")) {
        if (c->argc == 2) {
            reply_array(c->r, n);
            for (size_t i = 0; i < n; i++)
                command_info(c->r, redis_command_at(i));
            return 0;
        }
        reply_array(c->r, (size_t)c->argc - 2);
        for (int i = 2; i < c->argc; i++) {
            const resp_command *cmd = redis_command_lookup(c->argv[i].p, c->argv[i].n);
            if (cmd)
                command_info(c->r, cmd);
            else
                reply_null_array(c->r);
        }
    } else if (resp_arg_is(&c->argv[1], "docs")) {
        resp_defer d = reply_defer(c->r);
        size_t pairs = 0;
        if (c->argc == 2) {
            for (size_t i = 0; i < n; i++, pairs++)
                command_docs(c->r, redis_command_at(i));
        } else {
            for (int i = 2; i < c->argc; i++) {
                const resp_command *cmd = redis_command_lookup(c->argv[i].p, c->argv[i].n);
                if (cmd)
                    command_docs(c->r, cmd), pairs++;
            }
        }
        reply_defer_map(c->r, d, pairs);
    } else if (resp_arg_is(&c->argv[1], "getkeys") && c->argc >= 3) {
        return command_getkeys(c);
    } else if (resp_arg_is(&c->argv[1], "list") && c->argc == 2) {
        reply_array(c->r, n);
        for (size_t i = 0; i < n; i++)
            reply_bulk_cstr(c->r, redis_command_at(i)->name);
    } else {
        static const char *const known[] = {"count", "info", "docs", "list", "getkeys", NULL};
        return resp_err_subcommand(c->r, c->cmd, &c->argv[1], known);
    }
    return 0;
}

const resp_command redis_cmds_info[] = {
    {"info", info_cmd, -1, RESP_CMD_LOADING | RESP_CMD_STALE | RESP_CMD_RANDOM, 0, 0, 0, "server",
     "Get information and statistics about the server"},
    {"command", command_cmd, -1, RESP_CMD_LOADING | RESP_CMD_STALE, 0, 0, 0, "server",
     "Get array of Redis command details"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
