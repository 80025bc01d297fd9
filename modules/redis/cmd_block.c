/*
 * cmd_block.c — the blocking list and sorted-set commands (BLPOP BRPOP
 * BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP) and the multi-key pops
 * they share their parsing with (LMPOP ZMPOP).
 *
 * Each handler tries to serve at once through the plain command's code
 * (LPOP, LMOVE, RPOPLPUSH: their handlers; sorted sets: redis_zset_pop), so
 * an element is popped one way whether a client waited for it or not. With
 * nothing to serve it calls redis_block_on (block.h) and writes no reply;
 * block.c runs it again when a key it names changes. On such a re-run a key
 * of another type counts as absent (Redis 7.0: the client waits on), while
 * on the first run it is a WRONGTYPE error, as in Redis.
 */
#include <stdio.h>
#include <string.h>

#include "modules/redis/block.h"
#include "modules/redis/cmd.h"

enum { LEFT = 0, RIGHT = 1 };

/* Run the plain command name with argv (argv[0] is the name) in c. */
static int delegate(resp_ctx *c, const char *name, int argc, const resp_arg *argv)
{
    const resp_command *cmd = redis_command_lookup(name, strlen(name));
    resp_ctx sub = *c;

    sub.cmd = cmd;
    sub.argc = argc;
    sub.argv = argv;
    return cmd->fn(&sub);
}

/* The first of keys[0..n) holding a non-empty value of type: *found is its
 * index (m its metadata) or -1. 0, 1 after a WRONGTYPE reply, or an engine
 * code. */
static int first_ready(resp_ctx *c, const resp_arg *keys, int n, int type, store_meta *m,
                       int *found)
{
    *found = -1;
    for (int i = 0; i < n; i++) {
        int rc = store_lookup_type(c->st, c->db, keys[i].p, keys[i].n, type, m);
        if (rc == FFDB_NOTFOUND || (rc == STORE_EWRONGTYPE && redis_block_rerun(c)))
            continue;
        if (rc == STORE_EWRONGTYPE || rc == STORE_EKEYLEN) {
            redis_store_error(c, rc);
            return 1;
        }
        if (rc)
            return rc;
        *found = i;
        return 0;
    }
    return 0;
}

/* ---- the arguments of LMPOP/ZMPOP/BLMPOP/BZMPOP --------------------------------------------- */

typedef struct mpop_args {
    const resp_arg *keys;
    int nkeys;
    int where; /* 0: w0 (LEFT, MIN), 1: w1 (RIGHT, MAX) */
    int64_t count;
} mpop_args;

/* numkeys key... w0|w1 [COUNT n] from argv[at]: 0, or 1 after an error reply. */
static int mpop_parse(resp_ctx *c, int at, const char *w0, const char *w1, mpop_args *a)
{
    int64_t numkeys;
    int i, counted = 0;

    if (resp_parse_i64(c->argv[at].p, c->argv[at].n, &numkeys) || numkeys <= 0 ||
        numkeys > 0x7fffffff) {
        reply_error(c->r, "ERR numkeys should be greater than 0");
        return 1;
    }
    if (numkeys >= c->argc - at - 1) {
        resp_err_syntax(c->r);
        return 1;
    }
    a->keys = &c->argv[at + 1];
    a->nkeys = (int)numkeys;
    a->count = 1;
    i = at + 1 + (int)numkeys;
    if (resp_arg_is(&c->argv[i], w0))
        a->where = 0;
    else if (resp_arg_is(&c->argv[i], w1))
        a->where = 1;
    else {
        resp_err_syntax(c->r);
        return 1;
    }
    for (i++; i < c->argc; i += 2) {
        if (!resp_arg_is(&c->argv[i], "count") || counted || i + 1 >= c->argc) {
            resp_err_syntax(c->r);
            return 1;
        }
        if (resp_parse_i64(c->argv[i + 1].p, c->argv[i + 1].n, &a->count) || a->count <= 0) {
            reply_error(c->r, "ERR count should be greater than 0");
            return 1;
        }
        counted = 1;
    }
    return 0;
}

/* ---- lists ---------------------------------------------------------------------------------- */

/* The head of BLPOP, BRPOP, BZPOPMIN, BZPOPMAX "key [key ...] timeout":
 * 1 with the first key of type that has elements in *found (an index into
 * argv[1..]) and its meta in *m; else 0 with *rc the handler's result (the
 * command answered with an error, blocked, or failed). */
static int bpop_first(resp_ctx *c, int type, store_meta *m, int *found, int *rc)
{
    const resp_arg *keys = &c->argv[1];
    int n = c->argc - 2;
    int64_t timeout;

    *rc = 0;
    if (redis_block_timeout_arg(c, &c->argv[c->argc - 1], &timeout))
        return 0;
    *rc = first_ready(c, keys, n, type, m, found);
    if (*rc) {
        *rc = *rc < 0 ? *rc : 0;
        return 0;
    }
    if (*found < 0) {
        *rc = redis_block_on(c, keys, n, timeout, REDIS_BLOCK_NULL_ARRAY);
        return 0;
    }
    return 1;
}

/* BLPOP/BRPOP key [key ...] timeout: [key, element]. */
static int bpop_list(resp_ctx *c, int where)
{
    const resp_arg *keys = &c->argv[1];
    int found, rc;
    store_meta m;

    if (!bpop_first(c, STORE_LIST, &m, &found, &rc))
        return rc;
    resp_arg a[2] = {{where == LEFT ? "lpop" : "rpop", 4}, keys[found]};
    reply_array(c->r, 2);
    reply_bulk(c->r, keys[found].p, keys[found].n);
    return delegate(c, a[0].p, 2, a);
}

static int blpop_cmd(resp_ctx *c)
{
    return bpop_list(c, LEFT);
}

static int brpop_cmd(resp_ctx *c)
{
    return bpop_list(c, RIGHT);
}

/* BLMOVE src dst LEFT|RIGHT LEFT|RIGHT timeout, BRPOPLPUSH src dst timeout:
 * LMOVE's reply (the element), a null bulk on timeout. */
static int bmove(resp_ctx *c, const char *plain, int plain_argc)
{
    int found, rc;
    int64_t timeout;
    store_meta m;

    if (plain_argc == 5) {
        for (int i = 3; i <= 4; i++)
            if (!resp_arg_is(&c->argv[i], "left") && !resp_arg_is(&c->argv[i], "right"))
                return resp_err_syntax(c->r);
    }
    if (redis_block_timeout_arg(c, &c->argv[c->argc - 1], &timeout))
        return 0;
    rc = first_ready(c, &c->argv[1], 1, STORE_LIST, &m, &found);
    if (rc)
        return rc < 0 ? rc : 0;
    if (found < 0)
        return redis_block_on(c, &c->argv[1], 1, timeout, REDIS_BLOCK_NULL);
    resp_arg a[5];
    a[0].p = plain;
    a[0].n = strlen(plain);
    memcpy(a + 1, c->argv + 1, (size_t)(plain_argc - 1) * sizeof(*a));
    return delegate(c, plain, plain_argc, a);
}

static int blmove_cmd(resp_ctx *c)
{
    return bmove(c, "lmove", 5);
}

static int brpoplpush_cmd(resp_ctx *c)
{
    return bmove(c, "rpoplpush", 3);
}

/* LMPOP and BLMPOP (numkeys at argv[at]): [key, [element ...]]. */
static int lmpop_generic(resp_ctx *c, int at, int block)
{
    mpop_args a;
    int64_t timeout = 0;
    int found, rc;
    store_meta m;
    char count[24];

    if (mpop_parse(c, at, "left", "right", &a))
        return 0;
    if (block && redis_block_timeout_arg(c, &c->argv[1], &timeout))
        return 0;
    rc = first_ready(c, a.keys, a.nkeys, STORE_LIST, &m, &found);
    if (rc)
        return rc < 0 ? rc : 0;
    if (found < 0) {
        if (block)
            return redis_block_on(c, a.keys, a.nkeys, timeout, REDIS_BLOCK_NULL_ARRAY);
        reply_null_array(c->r);
        return 0;
    }
    resp_arg p[3] = {{a.where == LEFT ? "lpop" : "rpop", 4}, a.keys[found], {count, 0}};
    p[2].n = (size_t)snprintf(count, sizeof(count), "%lld", (long long)a.count);
    reply_array(c->r, 2);
    reply_bulk(c->r, a.keys[found].p, a.keys[found].n);
    return delegate(c, p[0].p, 3, p);
}

static int lmpop_cmd(resp_ctx *c)
{
    return lmpop_generic(c, 1, 0);
}

static int blmpop_cmd(resp_ctx *c)
{
    return lmpop_generic(c, 2, 1);
}

/* ---- sorted sets ------------------------------------------------------------------------------
 */

/* BZPOPMIN/BZPOPMAX key [key ...] timeout: [key, member, score]. */
static int bzpop(resp_ctx *c, int max)
{
    const resp_arg *keys = &c->argv[1];
    int found, rc;
    store_meta m;

    if (!bpop_first(c, STORE_ZSET, &m, &found, &rc))
        return rc;
    reply_array(c->r, 3);
    reply_bulk(c->r, keys[found].p, keys[found].n);
    return redis_zset_pop(c, &m, &keys[found], max, 1, 0);
}

static int bzpopmin_cmd(resp_ctx *c)
{
    return bzpop(c, 0);
}

static int bzpopmax_cmd(resp_ctx *c)
{
    return bzpop(c, 1);
}

/* ZMPOP and BZMPOP (numkeys at argv[at]): [key, [[member, score] ...]]. */
static int zmpop_generic(resp_ctx *c, int at, int block)
{
    mpop_args a;
    int64_t timeout = 0;
    int found, rc;
    store_meta m;

    if (mpop_parse(c, at, "min", "max", &a))
        return 0;
    if (block && redis_block_timeout_arg(c, &c->argv[1], &timeout))
        return 0;
    rc = first_ready(c, a.keys, a.nkeys, STORE_ZSET, &m, &found);
    if (rc)
        return rc < 0 ? rc : 0;
    if (found < 0) {
        if (block)
            return redis_block_on(c, a.keys, a.nkeys, timeout, REDIS_BLOCK_NULL_ARRAY);
        reply_null_array(c->r);
        return 0;
    }
    if ((uint64_t)a.count > m.size)
        a.count = (int64_t)m.size;
    reply_array(c->r, 2);
    reply_bulk(c->r, a.keys[found].p, a.keys[found].n);
    reply_array(c->r, (size_t)a.count);
    return redis_zset_pop(c, &m, &a.keys[found], a.where, a.count, 1);
}

static int zmpop_cmd(resp_ctx *c)
{
    return zmpop_generic(c, 1, 0);
}

static int bzmpop_cmd(resp_ctx *c)
{
    return zmpop_generic(c, 2, 1);
}

#define W (RESP_CMD_WRITE | RESP_CMD_DENYOOM)

const resp_command redis_cmds_block[] = {
    {"blpop", blpop_cmd, -3, RESP_CMD_WRITE | RESP_CMD_NOSCRIPT, 1, -2, 1, "list",
     "Remove and get the first element in a list, or block until one is available"},
    {"brpop", brpop_cmd, -3, RESP_CMD_WRITE | RESP_CMD_NOSCRIPT, 1, -2, 1, "list",
     "Remove and get the last element in a list, or block until one is available"},
    {"blmove", blmove_cmd, 6, W | RESP_CMD_NOSCRIPT, 1, 2, 1, "list",
     "Pop an element from a list, push it to another list and return it; or block until one "
     "is available"},
    {"brpoplpush", brpoplpush_cmd, 4, W | RESP_CMD_NOSCRIPT, 1, 2, 1, "list",
     "Pop an element from a list, push it to another list and return it; or block until one "
     "is available"},
    {"lmpop", lmpop_cmd, -4, RESP_CMD_WRITE, 0, 0, 0, "list", "Pop elements from a list"},
    {"blmpop", blmpop_cmd, -5, RESP_CMD_WRITE | RESP_CMD_NOSCRIPT, 0, 0, 0, "list",
     "Pop elements from a list, or block until one is available"},
    {"bzpopmin", bzpopmin_cmd, -3, RESP_CMD_WRITE | RESP_CMD_FAST | RESP_CMD_NOSCRIPT, 1, -2, 1,
     "sorted-set",
     "Remove and return the member with the lowest score from one or more sorted sets, or "
     "block until one is available"},
    {"bzpopmax", bzpopmax_cmd, -3, RESP_CMD_WRITE | RESP_CMD_FAST | RESP_CMD_NOSCRIPT, 1, -2, 1,
     "sorted-set",
     "Remove and return the member with the highest score from one or more sorted sets, or "
     "block until one is available"},
    {"zmpop", zmpop_cmd, -4, RESP_CMD_WRITE, 0, 0, 0, "sorted-set",
     "Remove and return members with scores in a sorted set"},
    {"bzmpop", bzmpop_cmd, -5, RESP_CMD_WRITE | RESP_CMD_NOSCRIPT, 0, 0, 0, "sorted-set",
     "Remove and return members with scores in a sorted set or block until one is available"},
    {NULL},
};
