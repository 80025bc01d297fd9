/*
 * command.h — the RESP command table (what a command is on the wire: name,
 * arity, flags, key positions, docs), its lookup, and the argument helpers
 * and error replies with Redis's wording that every command shares.
 *
 * The table knows no handler's insides: a handler gets a resp_ctx, a
 * struct the application that runs the commands defines (modules/redis:
 * redis/cmd.h) and this layer only passes on. One program has one such
 * application. Commands come in families, each an array of resp_command
 * ended by an entry whose name is NULL; resp_cmdtab_add() merges a family
 * into a table, so a later module adds its own commands by adding its own
 * family (every module that runs commands shares one command path).
 *
 * The error replies and parsers write through a resp_reply (reply.h) and
 * nothing else, so any RESP speaker can use them. Their wording is Redis's,
 * letter for letter, because client libraries match on it (redis-py turns
 * "WRONGTYPE" into ResponseError subclasses, hiredis users compare strings).
 *
 * Threading: a table is built before serving and read-only afterwards.
 */
#ifndef FFDB_RESP_COMMAND_H
#define FFDB_RESP_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "modules/net/dict.h"
#include "modules/resp/proto.h"
#include "modules/resp/reply.h"

/* One argument of a command: bytes valid during the handler call. */
typedef struct resp_arg {
    const char *p;
    size_t n;
} resp_arg;

/* Flags (as COMMAND INFO reports them, plus what a server needs). */
enum {
    RESP_CMD_WRITE = 1u << 0,    /* may modify the keyspace: runs in the write txn */
    RESP_CMD_READONLY = 1u << 1, /* reads the keyspace: runs in a txn */
    RESP_CMD_ADMIN = 1u << 2,
    RESP_CMD_PUBSUB = 1u << 3,
    RESP_CMD_NOSCRIPT = 1u << 4,
    RESP_CMD_FAST = 1u << 5, /* O(1) or O(log N) */
    RESP_CMD_LOADING = 1u << 6,
    RESP_CMD_STALE = 1u << 7,
    RESP_CMD_DENYOOM = 1u << 8,
    RESP_CMD_NOAUTH = 1u << 9,   /* allowed before AUTH (AUTH, HELLO, QUIT) */
    RESP_CMD_NOMULTI = 1u << 10, /* not queued by MULTI: runs at once (EXEC, DISCARD, ...) */
    RESP_CMD_SUBOK = 1u << 11,   /* allowed in RESP2 subscribed mode */
    RESP_CMD_RANDOM = 1u << 12,  /* reply may differ for the same state (RANDOMKEY, TIME) */
    RESP_CMD_SORTED = 1u << 13,  /* KEYS-like output order is our own (for diff tests) */
};

/* The application's per-call context (defined by the module that runs the
 * commands; see the top of this file). */
typedef struct resp_ctx resp_ctx;
typedef int (*resp_handler)(resp_ctx *c);

typedef struct resp_command {
    const char *name; /* lower case, as COMMAND reports it */
    resp_handler fn;
    int arity;      /* as in Redis: N = exactly N args (name included), -N = at least N */
    unsigned flags; /* RESP_CMD_... */
    int first_key;  /* COMMAND INFO key positions: 0 = no keys */
    int last_key;   /* -1 = the last argument */
    int key_step;
    const char *group;   /* COMMAND DOCS group: "string", "hash", "generic", ... */
    const char *summary; /* COMMAND DOCS summary, one line */
} resp_command;

/* A table of commands: lookup by name (any case) and the list in the order
 * the families were added. */
typedef struct resp_cmdtab {
    net_dict names;
    const resp_command **all;
    size_t count, cap;
} resp_cmdtab;

void resp_cmdtab_init(resp_cmdtab *t);
void resp_cmdtab_free(resp_cmdtab *t);
/* Add a family (ended by name == NULL). 0, FFDB_ENOMEM, or FFDB_EXISTS if
 * a name is already in the table (nothing of the family is added then). */
int resp_cmdtab_add(resp_cmdtab *t, const resp_command *family);
/* By name, any case; NULL if unknown. */
const resp_command *resp_cmdtab_lookup(const resp_cmdtab *t, const char *name, size_t len);
size_t resp_cmdtab_count(const resp_cmdtab *t);
const resp_command *resp_cmdtab_at(const resp_cmdtab *t, size_t i);
/* 1 if argc fits cmd's arity. */
int resp_arity_ok(const resp_command *cmd, int argc);

/* ---- Replies with Redis's wording (each returns 0, for `return resp_...`) --- */

int resp_err_arity(resp_reply *r,
                   const resp_command *cmd); /* ERR wrong number of arguments for 'get' command */
int resp_err_syntax(resp_reply *r);          /* ERR syntax error */
/* WRONGTYPE Operation against a key holding the wrong kind of value */
int resp_err_wrongtype(resp_reply *r);
int resp_err_not_int(resp_reply *r);   /* ERR value is not an integer or out of range */
int resp_err_not_float(resp_reply *r); /* ERR value is not a valid float */
int resp_err_no_key(resp_reply *r);    /* ERR no such key */
/* For containers (CLIENT, CONFIG, ...) when the subcommand sub matched no
 * branch: if it is one of known (a NULL-terminated list of subcommand names)
 * the arity was wrong: "ERR wrong number of arguments for 'client|setname'
 * command"; otherwise "ERR unknown subcommand 'foo'. Try CLIENT HELP.". */
int resp_err_subcommand(resp_reply *r, const resp_command *cmd, const resp_arg *sub,
                        const char *const *known);
/* "ERR unknown command 'foo', with args beginning with: 'a' 'b' " for
 * argv[0] and the first arguments (at most 128 bytes of them). */
void resp_err_unknown(resp_reply *r, int argc, const resp_arg *argv);

/* ---- Argument parsing ------------------------------------------------------ */

/* Pure parsers (no reply). 0 on success, -1 if the text is not one.
 * Integers: resp_parse_i64() in proto.h. */
/* Doubles as Redis reads them (strtod): no spaces, "inf"/"-inf"/"+inf" ok,
 * NaN refused. */
int resp_parse_double(const char *p, size_t n, double *out);
int resp_parse_long_double(const char *p, size_t n, long double *out);

/* The same, replying the Redis error on failure. Return 0 if parsed, or 1 if
 * an error reply was written — then the handler returns 0:
 *     if (resp_arg_i64(c->r, &c->argv[2], &n)) return 0;                       */
int resp_arg_i64(resp_reply *r, const resp_arg *a, int64_t *out);
int resp_arg_double(resp_reply *r, const resp_arg *a, double *out);
/* A count/index within [min, max]; outside is "ERR value is out of range"
 * (or the not-an-integer error for non-numbers). */
int resp_arg_range(resp_reply *r, const resp_arg *a, int64_t min, int64_t max, int64_t *out);
/* Case-insensitive comparison of an argument with an ASCII word. */
int resp_arg_is(const resp_arg *a, const char *word);

/* ---- Glob patterns (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET) --------------- */

/* Redis's glob: * ? [abc] [^a-z] and \x escapes. 1 if s matches. */
int resp_glob_match(const char *pat, size_t plen, const char *s, size_t n, int nocase);

#endif /* FFDB_RESP_COMMAND_H */
