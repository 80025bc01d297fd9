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
    if (c->is_feed)
        cvec_del(&s->feeds, c);
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
    {"replconf", replconf_cmd, -1, RESP_CMD_ADMIN | RESP_CMD_NOSCRIPT, 0, 0, 0, "server",
     "An internal command for configuring the replication stream"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
