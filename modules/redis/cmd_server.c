/*
 * cmd_server.c — connection and server commands: PING ECHO QUIT RESET AUTH
 * HELLO SELECT DBSIZE FLUSHDB FLUSHALL TIME LASTSAVE SAVE BGSAVE BGREWRITEAOF
 * SHUTDOWN,
 * and the containers CLIENT and CONFIG. INFO and COMMAND live in
 * cmd_info.c (they are mostly formatting).
 *
 * These touch the server's insides (server.h), unlike the data-type
 * families. Replies and errors follow Redis 7.0 word for word where clients
 * depend on them (HELLO's map, AUTH's WRONGPASS, CLIENT LIST's fields).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modules/redis/block.h"
#include "modules/redis/pause.h"
#include "modules/redis/redis.h"
#include "modules/redis/tracking.h"

/* The Redis version we answer as: clients pick features by it. */
#define COMPAT_VERSION "7.0.0"

static int ping_cmd(resp_ctx *c)
{
    if (c->argc > 2)
        return resp_err_arity(c->r, c->cmd);
    if (c->r->proto == 2 && pubsub_count(c->cli)) {
        /* A subscribed RESP2 connection only carries arrays. */
        reply_array(c->r, 2);
        reply_bulk_cstr(c->r, "pong");
        reply_bulk(c->r, c->argc == 2 ? c->argv[1].p : "", c->argc == 2 ? c->argv[1].n : 0);
    } else if (c->argc == 2) {
        reply_bulk(c->r, c->argv[1].p, c->argv[1].n);
    } else {
        reply_simple(c->r, "PONG");
    }
    return 0;
}

static int echo_cmd(resp_ctx *c)
{
    reply_bulk(c->r, c->argv[1].p, c->argv[1].n);
    return 0;
}

static int quit_cmd(resp_ctx *c)
{
    reply_ok(c->r);
    net_conn_close(c->cli->conn, 1);
    return 0;
}

static int reset_cmd(resp_ctx *c)
{
    redis_client *cli = c->cli;

    multi_discard(cli);
    multi_unwatch_all(c->srv, cli);
    pubsub_unsubscribe_all(c->srv, cli);
    pubsub_client_init(cli);
    tracking_off(c->srv, cli);
    cli->db = 0;
    cli->reply.proto = 2;
    free(cli->name);
    cli->name = NULL;
    cli->authed = c->srv->cfg->requirepass[0] == '\0';
    server_apply_limits(c->srv, cli);
    reply_simple(c->r, "RESET");
    return 0;
}

/* 1 if user/pass are right; replies the Redis error otherwise. Without a
 * requirepass the default user has no password: AUTH with only a password is
 * an error (as in Redis), "default" with any password is fine. */
static int check_auth(resp_ctx *c, const resp_arg *user, const resp_arg *pass)
{
    const char *want = c->srv->cfg->requirepass;

    if (!want[0] && !user) {
        reply_error(c->r, "ERR AUTH <password> called without any password configured for the "
                          "default user. Are you sure your configuration is correct?");
        return 0;
    }
    if (user && !resp_arg_is(user, "default"))
        goto wrong;
    if (!want[0])
        return 1;
    if (pass->n != strlen(want) || memcmp(pass->p, want, pass->n) != 0)
        goto wrong;
    return 1;
wrong:
    reply_error(c->r, "WRONGPASS invalid username-password pair or user is disabled.");
    return 0;
}

static int auth_cmd(resp_ctx *c)
{
    if (c->argc > 3)
        return resp_err_syntax(c->r);
    if (check_auth(c, c->argc == 3 ? &c->argv[1] : NULL, &c->argv[c->argc - 1])) {
        c->cli->authed = 1;
        reply_ok(c->r);
    }
    return 0;
}

static int valid_client_name(const resp_arg *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->p[i] < '!' || a->p[i] > '~')
            return 0;
    return 1;
}

static int set_name(redis_client *cli, const resp_arg *a)
{
    char *name = NULL;

    if (a->n) {
        name = malloc(a->n + 1);
        if (!name)
            return FFDB_ENOMEM;
        memcpy(name, a->p, a->n);
        name[a->n] = '\0';
    }
    free(cli->name);
    cli->name = name;
    return 0;
}

static int hello_cmd(resp_ctx *c)
{
    redis_client *cli = c->cli;
    int64_t ver = cli->reply.proto;
    const resp_arg *setname = NULL;

    if (c->argc >= 2) {
        if (resp_parse_i64(c->argv[1].p, c->argv[1].n, &ver)) {
            reply_error(c->r, "ERR Protocol version is not an integer or out of range");
            return 0;
        }
        if (ver < 2 || ver > 3) {
            reply_error(c->r, "NOPROTO unsupported protocol version");
            return 0;
        }
    }
    for (int i = 2; i < c->argc; i++) {
        if (resp_arg_is(&c->argv[i], "auth") && i + 2 < c->argc) {
            if (!check_auth(c, &c->argv[i + 1], &c->argv[i + 2]))
                return 0;
            cli->authed = 1;
            i += 2;
        } else if (resp_arg_is(&c->argv[i], "setname") && i + 1 < c->argc) {
            setname = &c->argv[++i];
            if (!valid_client_name(setname)) {
                reply_error(c->r, "ERR Client names cannot contain spaces, newlines or special "
                                  "characters.");
                return 0;
            }
        } else {
            reply_errorf(c->r, "ERR Syntax error in HELLO option '%.*s'",
                         (int)(c->argv[i].n < 64 ? c->argv[i].n : 64), c->argv[i].p);
            return 0;
        }
    }
    if (!cli->authed) {
        reply_error(c->r, "NOAUTH HELLO must be called with the client already authenticated, "
                          "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                          "authenticate the client and select the RESP protocol version at the "
                          "same time");
        return 0;
    }
    if (setname && set_name(cli, setname))
        return FFDB_ENOMEM;
    cli->reply.proto = (int)ver;
    reply_map(c->r, 7);
    reply_bulk_cstr(c->r, "server");
    reply_bulk_cstr(c->r, "redis");
    reply_bulk_cstr(c->r, "version");
    reply_bulk_cstr(c->r, COMPAT_VERSION);
    reply_bulk_cstr(c->r, "proto");
    reply_int(c->r, ver);
    reply_bulk_cstr(c->r, "id");
    reply_int(c->r, (int64_t)cli->conn->id);
    reply_bulk_cstr(c->r, "mode");
    reply_bulk_cstr(c->r, "standalone");
    reply_bulk_cstr(c->r, "role");
    reply_bulk_cstr(c->r, "master");
    reply_bulk_cstr(c->r, "modules");
    reply_array(c->r, 0);
    return 0;
}

static int select_cmd(resp_ctx *c)
{
    int64_t db;

    if (resp_arg_i64(c->r, &c->argv[1], &db))
        return 0;
    if (db < 0 || db >= STORE_DBS) {
        reply_error(c->r, "ERR DB index is out of range");
        return 0;
    }
    c->cli->db = (int)db;
    reply_ok(c->r);
    return 0;
}

static int dbsize_cmd(resp_ctx *c)
{
    reply_int(c->r, (int64_t)store_txn_db_keys(c->st, c->db));
    return 0;
}

/* FLUSHDB/FLUSHALL [ASYNC|SYNC]: both are synchronous here (a bucket drop). */
static int flush_option_ok(resp_ctx *c)
{
    if (c->argc == 1)
        return 1;
    if (c->argc == 2 && (resp_arg_is(&c->argv[1], "async") || resp_arg_is(&c->argv[1], "sync")))
        return 1;
    resp_err_syntax(c->r);
    return 0;
}

static int flushdb_cmd(resp_ctx *c)
{
    int rc;

    if (!flush_option_ok(c))
        return 0;
    rc = store_flushdb(c->st, c->db);
    if (rc)
        return rc;
    multi_touch_db(c->srv, c->db);
    block_touch_db(c->srv, c->db);
    tracking_flush(c->srv);
    c->srv->stats.dirty++;
    reply_ok(c->r);
    return 0;
}

static int flushall_cmd(resp_ctx *c)
{
    if (!flush_option_ok(c))
        return 0;
    for (int db = 0; db < STORE_DBS; db++) {
        int rc = store_flushdb(c->st, db);
        if (rc)
            return rc;
    }
    multi_touch_db(c->srv, -1);
    block_touch_db(c->srv, -1);
    tracking_flush(c->srv);
    c->srv->stats.dirty++;
    reply_ok(c->r);
    return 0;
}

static int time_cmd(resp_ctx *c)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    reply_array(c->r, 2);
    reply_bulk_int(c->r, (int64_t)ts.tv_sec);
    reply_bulk_int(c->r, (int64_t)(ts.tv_nsec / 1000));
    return 0;
}

static int lastsave_cmd(resp_ctx *c)
{
    reply_int(c->r, c->srv->lastsave_s);
    return 0;
}

/* Every acknowledged write is already in the file (or will be within
 * batch-ms); SAVE makes the open batch commit before this reply goes out. */
static int save_cmd(resp_ctx *c)
{
    net_batch_request_commit(&c->srv->batch);
    reply_ok(c->r);
    return 0;
}

static int bgsave_cmd(resp_ctx *c)
{
    if (c->argc > 2 || (c->argc == 2 && !resp_arg_is(&c->argv[1], "schedule")))
        return resp_err_syntax(c->r);
    net_batch_request_commit(&c->srv->batch);
    reply_simple(c->r, "Background saving started");
    return 0;
}

/* There is no append-only file to rewrite: the data file is the log. As
 * BGSAVE, the open batch commits; Redis's reply, and INFO's
 * aof_rewrite_in_progress stays 0, so a client waiting on it goes on. */
static int bgrewriteaof_cmd(resp_ctx *c)
{
    net_batch_request_commit(&c->srv->batch);
    reply_simple(c->r, "Background append only file rewriting started");
    return 0;
}

static int shutdown_cmd(resp_ctx *c)
{
    for (int i = 1; i < c->argc; i++) {
        if (resp_arg_is(&c->argv[i], "abort")) {
            reply_error(c->r, "ERR There is no shutdown in progress.");
            return 0;
        }
        if (!resp_arg_is(&c->argv[i], "nosave") && !resp_arg_is(&c->argv[i], "save") &&
            !resp_arg_is(&c->argv[i], "now") && !resp_arg_is(&c->argv[i], "force"))
            return resp_err_syntax(c->r);
    }
    /* NOSAVE too commits: what was acknowledged must stay. No reply: the
     * connection just closes, as with Redis. */
    redis_log(c->srv, NET_LOG_WARNING, "user requested shutdown...");
    c->srv->shutdown = 1;
    net_batch_request_commit(&c->srv->batch);
    net_conn_close(c->cli->conn, 1);
    return 0;
}

/* ---- CLIENT ------------------------------------------------------------------------------ */

static int by_id(const void *a, const void *b)
{
    uint64_t x = (*(redis_client *const *)a)->conn->id, y = (*(redis_client *const *)b)->conn->id;
    return x < y ? -1 : x > y;
}

static int client_list(resp_ctx *c, int type /* -1 any, 0 normal, 1 pubsub */, const resp_arg *ids,
                       int nids)
{
    redis_server *s = c->srv;
    redis_client **all = malloc((s->svc.conn_count ? s->svc.conn_count : 1) * sizeof(*all));
    size_t n = 0;
    net_buf b;

    if (!all)
        return FFDB_ENOMEM;
    for (net_conn *x = s->svc.conns; x; x = x->next)
        all[n++] = redis_client_of(x);
    qsort(all, n, sizeof(*all), by_id);
    net_buf_init(&b, 0);
    for (size_t i = 0; i < n; i++) {
        int keep = type < 0 || (type == 1) == (pubsub_count(all[i]) > 0);
        if (nids) {
            keep = 0;
            for (int k = 0; k < nids; k++) {
                int64_t id;
                if (resp_parse_i64(ids[k].p, ids[k].n, &id) == 0 &&
                    (uint64_t)id == all[i]->conn->id)
                    keep = 1;
            }
        }
        if (keep)
            server_client_info(s, all[i], &b);
    }
    reply_verbatim(c->r, b.data ? b.data : "", b.len);
    net_buf_free(&b);
    free(all);
    return 0;
}

static void kill_client(resp_ctx *c, redis_client *x)
{
    /* Itself: after this reply; another: now, without what it had pending. */
    net_conn_close(x->conn, x == c->cli);
}

static int client_kill(resp_ctx *c)
{
    const resp_arg *a = c->argv + 2;
    int n = c->argc - 2, skipme = 1, killed = 0;
    const resp_arg *addr = NULL, *laddr = NULL;
    int64_t id = -1;
    int type = -1;

    if (n == 1) { /* the old form: CLIENT KILL ip:port */
        for (net_conn *x = c->srv->svc.conns; x; x = x->next)
            if (strlen(x->addr) == a[0].n && memcmp(x->addr, a[0].p, a[0].n) == 0) {
                kill_client(c, redis_client_of(x));
                reply_ok(c->r);
                return 0;
            }
        reply_error(c->r, "ERR No such client");
        return 0;
    }
    if (n % 2)
        return resp_err_syntax(c->r);
    for (int i = 0; i < n; i += 2) {
        if (resp_arg_is(&a[i], "id")) {
            if (resp_parse_i64(a[i + 1].p, a[i + 1].n, &id) || id < 1) {
                reply_error(c->r, "ERR client-id should be greater than 0");
                return 0;
            }
        } else if (resp_arg_is(&a[i], "addr")) {
            addr = &a[i + 1];
        } else if (resp_arg_is(&a[i], "laddr")) {
            laddr = &a[i + 1];
        } else if (resp_arg_is(&a[i], "type")) {
            if (resp_arg_is(&a[i + 1], "normal"))
                type = 0;
            else if (resp_arg_is(&a[i + 1], "pubsub"))
                type = 1;
            else if (resp_arg_is(&a[i + 1], "master") || resp_arg_is(&a[i + 1], "replica") ||
                     resp_arg_is(&a[i + 1], "slave"))
                type = 2; /* none here */
            else {
                reply_errorf(c->r, "ERR Unknown client type '%.*s'", (int)a[i + 1].n, a[i + 1].p);
                return 0;
            }
        } else if (resp_arg_is(&a[i], "skipme")) {
            if (resp_arg_is(&a[i + 1], "yes"))
                skipme = 1;
            else if (resp_arg_is(&a[i + 1], "no"))
                skipme = 0;
            else
                return resp_err_syntax(c->r);
        } else if (resp_arg_is(&a[i], "user")) {
            if (!resp_arg_is(&a[i + 1], "default")) {
                reply_errorf(c->r, "ERR No such user '%.*s'", (int)a[i + 1].n, a[i + 1].p);
                return 0;
            }
        } else {
            return resp_err_syntax(c->r);
        }
    }
    for (net_conn *x = c->srv->svc.conns; x; x = x->next) {
        if ((id >= 0 && x->id != (uint64_t)id) || (skipme && x == c->cli->conn) ||
            (addr && (strlen(x->addr) != addr->n || memcmp(x->addr, addr->p, addr->n))) ||
            (laddr && (strlen(x->laddr) != laddr->n || memcmp(x->laddr, laddr->p, laddr->n))) ||
            (type >= 0 && (type == 2 || (type == 1) != (pubsub_count(redis_client_of(x)) > 0))))
            continue;
        kill_client(c, redis_client_of(x));
        killed++;
    }
    reply_int(c->r, killed);
    return 0;
}

/* CLIENT PAUSE timeout [WRITE|ALL]: errors in Redis's order (the mode, then
 * the timeout). */
static int client_pause(resp_ctx *c)
{
    int type = PAUSE_ALL;
    int64_t ms;

    if (c->argc == 4) {
        if (resp_arg_is(&c->argv[3], "write"))
            type = PAUSE_WRITE;
        else if (!resp_arg_is(&c->argv[3], "all")) {
            reply_error(c->r, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return 0;
        }
    }
    if (resp_parse_i64(c->argv[2].p, c->argv[2].n, &ms)) {
        reply_error(c->r, "ERR timeout is not an integer or out of range");
        return 0;
    }
    if (ms < 0) {
        reply_error(c->r, "ERR timeout is negative");
        return 0;
    }
    if (ms > INT64_MAX / 2) {
        reply_error(c->r, "ERR timeout is out of range");
        return 0;
    }
    if (pause_start(c->srv, redis_mono_ms(c->srv) + ms, type))
        return FFDB_ENOMEM;
    reply_ok(c->r);
    return 0;
}

static int client_cmd(resp_ctx *c)
{
    const resp_arg *sub = &c->argv[1];
    redis_client *cli = c->cli;
    int rc = tracking_client_cmd(c);

    if (rc)
        return rc < 0 ? rc : 0;
    if (resp_arg_is(sub, "id") && c->argc == 2) {
        reply_int(c->r, (int64_t)cli->conn->id);
    } else if (resp_arg_is(sub, "getname") && c->argc == 2) {
        if (cli->name)
            reply_bulk_cstr(c->r, cli->name);
        else
            reply_null(c->r);
    } else if (resp_arg_is(sub, "setname") && c->argc == 3) {
        if (!valid_client_name(&c->argv[2])) {
            reply_error(c->r,
                        "ERR Client names cannot contain spaces, newlines or special characters.");
            return 0;
        }
        if (set_name(cli, &c->argv[2]))
            return FFDB_ENOMEM;
        reply_ok(c->r);
    } else if (resp_arg_is(sub, "list")) {
        int type = -1;
        if (c->argc == 4 && resp_arg_is(&c->argv[2], "type")) {
            if (resp_arg_is(&c->argv[3], "normal"))
                type = 0;
            else if (resp_arg_is(&c->argv[3], "pubsub"))
                type = 1;
            else
                type = 2;
        } else if (c->argc >= 4 && resp_arg_is(&c->argv[2], "id")) {
            return client_list(c, -1, &c->argv[3], c->argc - 3);
        } else if (c->argc != 2) {
            return resp_err_syntax(c->r);
        }
        return client_list(c, type, NULL, 0);
    } else if (resp_arg_is(sub, "info") && c->argc == 2) {
        net_buf b;
        net_buf_init(&b, 0);
        server_client_info(c->srv, cli, &b);
        reply_verbatim(c->r, b.data ? b.data : "", b.len);
        net_buf_free(&b);
    } else if (resp_arg_is(sub, "kill") && c->argc >= 3) {
        return client_kill(c);
    } else if (resp_arg_is(sub, "reply") && c->argc == 3) {
        if (resp_arg_is(&c->argv[2], "on")) {
            cli->flags &= ~(CLI_REPLY_OFF | CLI_REPLY_SKIP | CLI_REPLY_SKIP_NEXT);
            reply_ok(c->r);
        } else if (resp_arg_is(&c->argv[2], "off")) {
            cli->flags |= CLI_REPLY_OFF;
        } else if (resp_arg_is(&c->argv[2], "skip")) {
            if (!(cli->flags & CLI_REPLY_OFF))
                cli->flags |= CLI_REPLY_SKIP | CLI_REPLY_SKIP_NEXT;
        } else {
            return resp_err_syntax(c->r);
        }
    } else if (resp_arg_is(sub, "unblock") && (c->argc == 3 || c->argc == 4)) {
        int64_t id;
        int error = c->argc == 4 && resp_arg_is(&c->argv[3], "error");
        if (c->argc == 4 && !error && !resp_arg_is(&c->argv[3], "timeout")) {
            reply_error(c->r, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return 0;
        }
        if (resp_arg_i64(c->r, &c->argv[2], &id))
            return 0;
        reply_int(c->r, id > 0 ? block_unblock(c->srv, (uint64_t)id, error) : 0);
    } else if (resp_arg_is(sub, "pause") && (c->argc == 3 || c->argc == 4)) {
        return client_pause(c);
    } else if (resp_arg_is(sub, "unpause") && c->argc == 2) {
        pause_end(c->srv);
        reply_ok(c->r);
    } else if ((resp_arg_is(sub, "setinfo") && c->argc == 4) ||
               (resp_arg_is(sub, "no-evict") && c->argc == 3) ||
               (resp_arg_is(sub, "no-touch") && c->argc == 3)) {
        reply_ok(c->r); /* accepted: nothing to do here */
    } else if (resp_arg_is(sub, "help") && c->argc == 2) {
        static const char *const lines[] = {
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ID",
            "GETNAME",
            "SETNAME <name>",
            "LIST [TYPE normal|pubsub] [ID <id> ...]",
            "INFO",
            "KILL <ip:port> | KILL [ID <id>] [ADDR <ip:port>] [LADDR <ip:port>] "
            "[TYPE normal|pubsub] [USER default] [SKIPME yes|no]",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "REPLY (ON|OFF|SKIP)",
            "PAUSE <timeout> [WRITE|ALL]",
            "UNPAUSE",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] "
            "[NOLOOP]",
            "CACHING (YES|NO)",
            "GETREDIR",
            "TRACKINGINFO",
        };
        reply_array(c->r, sizeof(lines) / sizeof(lines[0]));
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
            reply_simple(c->r, lines[i]);
    } else {
        static const char *const known[] = {"id",       "getname", "setname", "list",
                                            "info",     "kill",    "setinfo", "no-evict",
                                            "no-touch", "help",    "unblock", "reply", "pause",
                                            "unpause",  "tracking", "caching", "getredir",
                                            "trackinginfo", NULL};
        return resp_err_subcommand(c->r, c->cmd, &c->argv[1], known);
    }
    return 0;
}

/* ---- CONFIG ------------------------------------------------------------------------------- */

/* What a changed parameter means for the running server. */
static void config_apply(redis_server *s)
{
    for (net_conn *x = s->svc.conns; x; x = x->next)
        server_apply_limits(s, redis_client_of(x));
}

static int config_set(resp_ctx *c)
{
    char name[128], value[4096], err[256];

    if (c->argc < 4 || c->argc % 2) {
        static const char *const known[] = {"set", NULL};
        return resp_err_subcommand(c->r, c->cmd, &c->argv[1], known);
    }
    for (int i = 2; i < c->argc; i += 2) {
        const resp_arg *n = &c->argv[i], *v = &c->argv[i + 1];
        snprintf(name, sizeof(name), "%.*s", (int)n->n, n->p);
        snprintf(value, sizeof(value), "%.*s", (int)v->n, v->p);
        if (net_config_set(&c->srv->cfg->reg, name, value, 0, err, sizeof(err))) {
            if (strncmp(err, "Unknown option", 14) == 0)
                reply_errorf(c->r, "ERR %s", err);
            else
                reply_errorf(c->r, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
                             name, err);
            config_apply(c->srv);
            return 0;
        }
    }
    config_apply(c->srv);
    reply_ok(c->r);
    return 0;
}

static int config_cmd(resp_ctx *c)
{
    const resp_arg *sub = &c->argv[1];

    if (resp_arg_is(sub, "get") && c->argc >= 3) {
        redis_config_reply(c->srv->cfg, c->r, &c->argv[2], c->argc - 2);
    } else if (resp_arg_is(sub, "set")) {
        return config_set(c);
    } else if (resp_arg_is(sub, "resetstat") && c->argc == 2) {
        redis_stats *st = &c->srv->stats;
        uint64_t dirty = st->dirty;
        memset(st, 0, sizeof(*st));
        st->dirty = dirty;
        memset(&c->srv->svc.stats, 0, sizeof(c->srv->svc.stats));
        memset(&c->srv->batch.stats, 0, sizeof(c->srv->batch.stats));
        reply_ok(c->r);
    } else if (resp_arg_is(sub, "rewrite") && c->argc == 2) {
        reply_error(c->r, c->srv->cfg->reg.file[0]
                              ? "ERR CONFIG REWRITE is not supported by ffdb-server"
                              : "ERR The server is running without a config file");
    } else if (resp_arg_is(sub, "help") && c->argc == 2) {
        reply_array(c->r, 5);
        reply_simple(c->r, "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        reply_simple(c->r, "GET <pattern> [<pattern> ...]");
        reply_simple(c->r, "SET <directive> <value> [<directive> <value> ...]");
        reply_simple(c->r, "RESETSTAT");
        reply_simple(c->r, "REWRITE (not supported)");
    } else {
        static const char *const known[] = {"get", "set", "resetstat", "rewrite", "help", NULL};
        return resp_err_subcommand(c->r, c->cmd, &c->argv[1], known);
    }
    return 0;
}

#define CONN (RESP_CMD_NOSCRIPT | RESP_CMD_LOADING | RESP_CMD_STALE | RESP_CMD_FAST)
#define ADMIN (RESP_CMD_ADMIN | RESP_CMD_NOSCRIPT | RESP_CMD_LOADING | RESP_CMD_STALE)

const resp_command redis_cmds_server[] = {
    {"ping", ping_cmd, -1, RESP_CMD_FAST | RESP_CMD_SUBOK, 0, 0, 0, "connection",
     "Ping the server"},
    {"echo", echo_cmd, 2, RESP_CMD_FAST, 0, 0, 0, "connection", "Echo the given string"},
    {"quit", quit_cmd, -1, CONN | RESP_CMD_NOAUTH | RESP_CMD_SUBOK | RESP_CMD_NOMULTI, 0, 0, 0,
     "connection", "Close the connection"},
    {"reset", reset_cmd, 1, CONN | RESP_CMD_NOAUTH | RESP_CMD_SUBOK | RESP_CMD_NOMULTI, 0, 0, 0,
     "connection", "Reset the connection"},
    {"auth", auth_cmd, -2, CONN | RESP_CMD_NOAUTH, 0, 0, 0, "connection",
     "Authenticate to the server"},
    {"hello", hello_cmd, -1, CONN | RESP_CMD_NOAUTH, 0, 0, 0, "connection", "Handshake with Redis"},
    {"select", select_cmd, 2, CONN, 0, 0, 0, "connection", "Change the selected database"},
    {"client", client_cmd, -2, ADMIN, 0, 0, 0, "connection",
     "A container for client connection commands"},
    {"dbsize", dbsize_cmd, 1, RESP_CMD_READONLY | RESP_CMD_FAST, 0, 0, 0, "server",
     "Return the number of keys in the selected database"},
    {"flushdb", flushdb_cmd, -1, RESP_CMD_WRITE, 0, 0, 0, "server",
     "Remove all keys from the current database"},
    {"flushall", flushall_cmd, -1, RESP_CMD_WRITE, 0, 0, 0, "server",
     "Remove all keys from all databases"},
    {"time", time_cmd, 1, RESP_CMD_LOADING | RESP_CMD_STALE | RESP_CMD_FAST | RESP_CMD_RANDOM, 0, 0,
     0, "server", "Return the current server time"},
    {"lastsave", lastsave_cmd, 1,
     RESP_CMD_LOADING | RESP_CMD_STALE | RESP_CMD_FAST | RESP_CMD_RANDOM, 0, 0, 0, "server",
     "Get the UNIX time stamp of the last successful save to disk"},
    {"save", save_cmd, 1, ADMIN, 0, 0, 0, "server",
     "Synchronously save the dataset to disk (commits the open batch)"},
    {"bgsave", bgsave_cmd, -1, ADMIN, 0, 0, 0, "server",
     "Asynchronously save the dataset to disk (commits the open batch)"},
    {"bgrewriteaof", bgrewriteaof_cmd, 1, ADMIN, 0, 0, 0, "server",
     "Asynchronously rewrite the append-only file (commits the open batch)"},
    {"shutdown", shutdown_cmd, -1, ADMIN, 0, 0, 0, "server",
     "Commit, close the data file and stop the server"},
    {"config", config_cmd, -2, ADMIN, 0, 0, 0, "server",
     "A container for server configuration commands"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
