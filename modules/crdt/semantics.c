/*
 * semantics.c — the table behind crdt_classify. One row per Redis write
 * command ffdb-server knows; a write command missing from the table is
 * refused (a new command must be given a meaning here before the CRDT mode
 * accepts it). Keep in step with modules/crdt/README.md (checklist: a row
 * here, a row there, a case in tests/test_crdt.c).
 */
#include <assert.h>
#include <string.h>
#include <strings.h>

#include "modules/crdt/crdt.h"

struct row {
    const char *name;
    int semantics;
    const char *reason;
};

static const struct row rows[] = {
    {"set", CRDT_LWW_REG, NULL},
    {"setex", CRDT_LWW_REG, NULL},
    {"psetex", CRDT_LWW_REG, NULL},
    {"mset", CRDT_LWW_REG, NULL},
    {"getset", CRDT_LWW_REG, NULL},
    {"hset", CRDT_LWW_MAP, NULL},
    {"hmset", CRDT_LWW_MAP, NULL},
    {"hdel", CRDT_LWW_MAP, NULL},
    {"sadd", CRDT_ORSET, NULL},
    {"srem", CRDT_ORSET, NULL},
    {"incr", CRDT_PNCOUNTER, NULL},
    {"decr", CRDT_PNCOUNTER, NULL},
    {"incrby", CRDT_PNCOUNTER, NULL},
    {"decrby", CRDT_PNCOUNTER, NULL},
    {"hincrby", CRDT_PNCOUNTER, NULL},
    {"del", CRDT_KEY_REMOVE, NULL},
    {"unlink", CRDT_KEY_REMOVE, NULL},
    {"setnx", CRDT_REJECT, "SETNX decides on absence, which nodes see differently; use SET"},
    {"msetnx", CRDT_REJECT, "MSETNX decides on absence, which nodes see differently; use MSET"},
    {"hsetnx", CRDT_REJECT, "HSETNX decides on absence, which nodes see differently; use HSET"},
    {"append", CRDT_REJECT, "APPEND of concurrent writers has no order-free result; use SET"},
    {"setrange", CRDT_REJECT, "SETRANGE over concurrent writes has no convergent result; use SET"},
    {"incrbyfloat", CRDT_REJECT, "float increments do not commute exactly; use INCRBY"},
    {"hincrbyfloat", CRDT_REJECT, "float increments do not commute exactly; use HINCRBY"},
    {"lpush", CRDT_REJECT, "lists are not replicated in CRDT mode (no convergent list type)"},
    {"rpush", CRDT_REJECT, "lists are not replicated in CRDT mode (no convergent list type)"},
    {"lpop", CRDT_REJECT, "lists are not replicated in CRDT mode (no convergent list type)"},
    {"rpop", CRDT_REJECT, "lists are not replicated in CRDT mode (no convergent list type)"},
    {"lset", CRDT_REJECT, "lists are not replicated in CRDT mode (no convergent list type)"},
    {"lrem", CRDT_REJECT, "lists are not replicated in CRDT mode (no convergent list type)"},
    {"ltrim", CRDT_REJECT, "lists are not replicated in CRDT mode (no convergent list type)"},
    {"linsert", CRDT_REJECT, "lists are not replicated in CRDT mode (no convergent list type)"},
    {"zadd", CRDT_REJECT, "sorted sets are not replicated in CRDT mode yet"},
    {"zrem", CRDT_REJECT, "sorted sets are not replicated in CRDT mode yet"},
    {"zincrby", CRDT_REJECT, "sorted sets are not replicated in CRDT mode yet"},
    {"spop", CRDT_REJECT, "SPOP removes a random member, which nodes pick differently; use SREM"},
    {"smove", CRDT_REJECT, "SMOVE is a conditional move across keys; use SREM and SADD"},
    {"rename", CRDT_REJECT, "RENAME moves a key nodes may see differently"},
    {"renamenx", CRDT_REJECT, "RENAMENX decides on absence, which nodes see differently"},
    {"expire", CRDT_REJECT, "expiry needs one clock; not replicated in CRDT mode"},
    {"pexpire", CRDT_REJECT, "expiry needs one clock; not replicated in CRDT mode"},
    {"expireat", CRDT_REJECT, "expiry needs one clock; not replicated in CRDT mode"},
    {"pexpireat", CRDT_REJECT, "expiry needs one clock; not replicated in CRDT mode"},
    {"persist", CRDT_REJECT, "expiry needs one clock; not replicated in CRDT mode"},
    {"flushdb", CRDT_REJECT, "FLUSHDB would erase writes other nodes have not sent yet"},
    {"flushall", CRDT_REJECT, "FLUSHALL would erase writes other nodes have not sent yet"},
    {"move", CRDT_REJECT, "MOVE between databases is not replicated in CRDT mode"},
    {"copy", CRDT_REJECT, "COPY reads a value nodes may see differently"},
    {"getdel", CRDT_KEY_REMOVE, NULL},
    {"getex", CRDT_REJECT, "expiry needs one clock; not replicated in CRDT mode"},
    {"setbit", CRDT_REJECT,
     "SETBIT edits bytes in place; concurrent edits do not converge; use SET"},
    {"lpushx", CRDT_REJECT, "lists are not replicated in CRDT mode (no convergent list type)"},
    {"rpushx", CRDT_REJECT, "lists are not replicated in CRDT mode (no convergent list type)"},
    {"rpoplpush", CRDT_REJECT, "lists are not replicated in CRDT mode (no convergent list type)"},
    {"lmove", CRDT_REJECT, "lists are not replicated in CRDT mode (no convergent list type)"},
    {"sinterstore", CRDT_REJECT,
     "a *STORE writes what this node read, which others see differently"},
    {"sunionstore", CRDT_REJECT,
     "a *STORE writes what this node read, which others see differently"},
    {"sdiffstore", CRDT_REJECT,
     "a *STORE writes what this node read, which others see differently"},
    {"zremrangebyrank", CRDT_REJECT, "sorted sets are not replicated in CRDT mode yet"},
    {"zremrangebyscore", CRDT_REJECT, "sorted sets are not replicated in CRDT mode yet"},
    {"zremrangebylex", CRDT_REJECT, "sorted sets are not replicated in CRDT mode yet"},
    {"zpopmin", CRDT_REJECT, "sorted sets are not replicated in CRDT mode yet"},
    {"zpopmax", CRDT_REJECT, "sorted sets are not replicated in CRDT mode yet"},
    {"zunionstore", CRDT_REJECT, "sorted sets are not replicated in CRDT mode yet"},
    {"zinterstore", CRDT_REJECT, "sorted sets are not replicated in CRDT mode yet"},
    {"zrangestore", CRDT_REJECT, "sorted sets are not replicated in CRDT mode yet"},
    {"zdiffstore", CRDT_REJECT, "sorted sets are not replicated in CRDT mode yet"},
    {"ffdb-expired", CRDT_REJECT, "expiry needs one clock; not replicated in CRDT mode"},
};

int crdt_classify(const char *name, size_t len, const char **reason)
{
    assert(name && reason);
    *reason = NULL;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (strlen(rows[i].name) == len && !strncasecmp(rows[i].name, name, len)) {
            *reason = rows[i].reason;
            return rows[i].semantics;
        }
    *reason = "command has no convergent meaning in CRDT mode";
    return CRDT_REJECT;
}

const char *crdt_row_name(size_t i)
{
    return i < sizeof rows / sizeof rows[0] ? rows[i].name : NULL;
}
