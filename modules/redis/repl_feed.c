/*
 * repl_feed.c — SYNC: a connection that asks for Redis's replication
 * stream gets an empty snapshot (an RDB file with no keys) and then every
 * write command that changes the keyspace, as it ran (SELECT first when
 * the database changes), in the RESP of requests. Redis's test suite
 * reads this stream (attach_to_replication_stream) to check what a
 * command propagates.
 *
 * Not replication (README): the snapshot is empty whatever the data, so a
 * replica attached this way sees only what is written after it came; and
 * commands go as they were sent (Redis propagates effects: BLPOP as LPOP,
 * EXPIRE as PEXPIREAT, MULTI/EXEC around a transaction, a script's calls).
 * ffdb's own replication is modules/raft. Feed output is part of the
 * batch like any reply: it leaves only once the write is durable.
 */
#include <stdio.h>
#include <string.h>

#include "modules/redis/redis.h"

/* "REDIS0009", the EOF opcode, a zero checksum (Redis: checksum not kept). */
static const char EMPTY_RDB[] = "REDIS0009\xff\0\0\0\0\0\0\0\0";
#define EMPTY_RDB_LEN 18

static void feed_bulk(net_buf *b, const void *p, size_t n)
{
    char hdr[32];
    int h = snprintf(hdr, sizeof(hdr), "$%zu\r\n", n);
    net_buf_append(b, hdr, (size_t)h);
    net_buf_append(b, p, n);
    net_buf_append(b, "\r\n", 2);
}

static void feed_command(net_buf *b, int argc, const resp_arg *argv)
{
    char hdr[32];
    int h = snprintf(hdr, sizeof(hdr), "*%d\r\n", argc);
    net_buf_append(b, hdr, (size_t)h);
    for (int i = 0; i < argc; i++)
        feed_bulk(b, argv[i].p, argv[i].n);
}

void feed_propagate(redis_server *s, int db, int argc, const resp_arg *argv)
{
    for (size_t i = 0; i < s->feeds.n; i++) {
        redis_client *f = s->feeds.v[i];
        net_batch_join(&s->batch, f->conn); /* held until the write is durable (B1) */
        net_batch_leave(&s->batch, f->conn);
        if (f->feed_db != db) {
            char n[16];
            resp_arg sel[2] = {{"select", 6}, {n, (size_t)snprintf(n, sizeof(n), "%d", db)}};
            feed_command(&f->conn->out, 2, sel);
            f->feed_db = db;
        }
        feed_command(&f->conn->out, argc, argv);
    }
}

void feed_client_gone(redis_server *s, redis_client *c)
{
    if (c->is_feed == 1)
        cvec_del(&s->feeds, c);
    else if (c->is_feed == 2)
        cvec_del(&s->monitors, c);
}

/* One MONITOR line: +<unix s.us> [<db> <addr>] "arg" ... (Redis's quoting). */
void feed_monitor(redis_server *s, int db, const char *addr, int argc, const resp_arg *argv)
{
    net_buf line;
    char hdr[160];
    int64_t us = net_loop_wall_ms(s->loop) * 1000;

    if (argc > 0 && (resp_arg_is(&argv[0], "auth") || resp_arg_is(&argv[0], "hello")))
        return; /* they carry passwords */
    net_buf_init(&line, 0);
    int h = snprintf(hdr, sizeof(hdr), "+%lld.%06lld [%d %s]", (long long)(us / 1000000),
                     (long long)(us % 1000000), db, addr);
    net_buf_append(&line, hdr, (size_t)h);
    for (int i = 0; i < argc; i++) {
        net_buf_append(&line, " \"", 2);
        for (size_t j = 0; j < argv[i].n; j++) {
            unsigned char ch = (unsigned char)argv[i].p[j];
            char esc[8];
            int n;
            if (ch == '"' || ch == '\\')
                n = snprintf(esc, sizeof(esc), "\\%c", ch);
            else if (ch == '\n')
                n = snprintf(esc, sizeof(esc), "\\n");
            else if (ch == '\r')
                n = snprintf(esc, sizeof(esc), "\\r");
            else if (ch < 32 || ch > 126)
                n = snprintf(esc, sizeof(esc), "\\x%02x", ch);
            else
                esc[0] = (char)ch, n = 1;
            net_buf_append(&line, esc, (size_t)n);
        }
        net_buf_append(&line, "\"", 1);
    }
    net_buf_append(&line, "\r\n", 2);
    for (size_t i = 0; i < s->monitors.n; i++) {
        redis_client *m = s->monitors.v[i];
        net_batch_join(&s->batch, m->conn);
        net_batch_leave(&s->batch, m->conn);
        if (line.data)
            net_buf_append(&m->conn->out, line.data, line.len);
    }
    net_buf_free(&line);
}

/* MONITOR: every command run from now on, as a line. */
static int monitor_cmd(resp_ctx *c)
{
    redis_client *cli = c->cli;

    if (cli->is_feed)
        return reply_ok(c->r), 0;
    if (cvec_add(&c->srv->monitors, cli))
        return FFDB_ENOMEM;
    cli->is_feed = 2;
    cli->conn->flags |= NET_CONN_NO_IDLE;
    reply_ok(c->r);
    return 0;
}

/* SYNC: the empty snapshot, then the feed. */
static int sync_cmd(resp_ctx *c)
{
    redis_client *cli = c->cli;
    char hdr[32];
    int h;

    if (cli->is_feed)
        return 0; /* already one: nothing more to say */
    if (cvec_add(&c->srv->feeds, cli))
        return FFDB_ENOMEM;
    cli->is_feed = 1;
    cli->feed_db = -1;
    cli->conn->flags |= NET_CONN_NO_IDLE;
    h = snprintf(hdr, sizeof(hdr), "$%d\r\n", EMPTY_RDB_LEN);
    net_buf_append(&cli->conn->out, hdr, (size_t)h);
    net_buf_append(&cli->conn->out, EMPTY_RDB, EMPTY_RDB_LEN); /* no CRLF after an RDB */
    return 0;
}

/* REPLCONF ...: accepted (a replica's handshake). */
static int replconf_cmd(resp_ctx *c)
{
    reply_ok(c->r);
    return 0;
}

const resp_command redis_cmds_feed[] = {
    {"sync", sync_cmd, 1, RESP_CMD_ADMIN | RESP_CMD_NOSCRIPT | RESP_CMD_NOMULTI, 0, 0, 0, "server",
     "Internal command used for replication (here: an empty snapshot, then the write feed)"},
    {"monitor", monitor_cmd, 1, RESP_CMD_ADMIN | RESP_CMD_NOSCRIPT | RESP_CMD_NOMULTI, 0, 0, 0,
     "server", "Listen for all requests received by the server in real time"},
    {"replconf", replconf_cmd, -1, RESP_CMD_ADMIN | RESP_CMD_NOSCRIPT, 0, 0, 0, "server",
     "An internal command for configuring the replication stream"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
