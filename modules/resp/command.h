/*
 * command.h — the command table of ffdb-server, the handler contract, and
 * the argument helpers every command shares.
 *
 * Commands live in one file per family (cmd_server.c, cmd_keys.c,
 * cmd_string.c, cmd_hash.c, cmd_list.c, cmd_set.c, cmd_zset.c, multi.c,
 * pubsub.c). Each file exports one table, resp_cmds_<family>[], ended by an
 * entry whose name is NULL; command.c merges them at start-up into a lookup by
 * name. Adding a command = one handler + one table row in its family's file.
 *
 * ---- Execution model (what a handler may assume) ----------------------------
 *
 * One event-loop thread runs every handler, so a handler is never concurrent
 * with another handler. In each loop iteration the server reads what every
 * ready client sent, then runs the queued commands, client by client in
 * arrival order (each client's commands in its own order), all inside ONE
 * engine transaction, the batch:
 *
 *   - A command flagged RESP_CMD_WRITE runs in the batch's write txn (begun
 *     at the first write of the iteration; read-only commands before it ran
 *     in a read snapshot). A command flagged RESP_CMD_READONLY runs in
 *     whatever txn is open, so it sees the writes made before it in the same
 *     batch (a pipelined GET after SET sees the SET). Other commands get
 *     c->st == NULL.
 *   - At the end of the batch the server commits (--fsync always: durable)
 *     and only then sends the batch's replies. A reply therefore never
 *     acknowledges a write that is not durable, and never shows a value that
 *     a crash could take back.
 *   - A handler validates everything first and writes last: a user error
 *     (syntax, WRONGTYPE, not an integer) is an error reply and must leave no
 *     write behind, because there is no rollback of one command inside a
 *     batch. Only the engine's own failures (FFDB_ENOMEM, FFDB_EIO, ...) are
 *     returned, and they fail the whole batch: the txn is aborted and every
 *     command in it answers "-ERR ..." instead of its reply.
 *   - MULTI/EXEC: EXEC runs its queued commands back to back inside the batch
 *     txn; nothing else runs between them. Errors inside EXEC behave as in
 *     Redis (the other commands still run); an engine failure aborts all.
 *   - c->now_ms is fixed for the command; every expiry decision uses it.
 *
 * Handler contract: return 0 after writing exactly one reply to c->r (an
 * error reply counts), or a negative FFDB_E... code after an engine failure
 * (anything written is discarded). Never keep pointers into c->argv or into
 * ffdb_val results past the handler's return.
 */
#ifndef FFDB_RESP_COMMAND_H
#define FFDB_RESP_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "modules/resp/proto.h"
#include "modules/resp/reply.h"
#include "modules/resp/store.h"

typedef struct resp_server resp_server; /* server.h */
typedef struct resp_client resp_client; /* server.h */

/* One argument of a command: bytes valid during the handler call. */
typedef struct resp_arg {
    const char *p;
    size_t n;
} resp_arg;

/* Flags (as COMMAND INFO reports them, plus what the server needs). */
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

/* What a handler gets. */
typedef struct resp_ctx {
    resp_server *srv;
    resp_client *cli;
    resp_reply *r;  /* the client's reply writer */
    store_txn *st;  /* the batch txn; NULL unless READONLY or WRITE */
    int db;         /* selected database 0..STORE_DBS-1 */
    int64_t now_ms; /* Unix time in ms, fixed for the command */
    int argc;       /* argv[0] is the command name as sent */
    const resp_arg *argv;
    const struct resp_command *cmd;
} resp_ctx;

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

/* The families. Each is ended by an entry with name == NULL. */
extern const resp_command resp_cmds_server[];
extern const resp_command resp_cmds_info[];
extern const resp_command resp_cmds_keys[];
extern const resp_command resp_cmds_string[];
extern const resp_command resp_cmds_hash[];
extern const resp_command resp_cmds_list[];
extern const resp_command resp_cmds_set[];
extern const resp_command resp_cmds_zset[];
extern const resp_command resp_cmds_multi[];
extern const resp_command resp_cmds_pubsub[];

/* Build the lookup table (once, before serving). 0 or FFDB_ENOMEM; aborts on a
 * duplicate name (a programming error). */
int resp_commands_init(void);
void resp_commands_free(void);
/* By name, any case; NULL if unknown. */
const resp_command *resp_command_lookup(const char *name, size_t len);
/* Every command, for COMMAND and COMMAND COUNT. */
size_t resp_command_count(void);
const resp_command *resp_command_at(size_t i);
/* 1 if argc fits cmd's arity. */
int resp_arity_ok(const resp_command *cmd, int argc);

/* ---- Replies with Redis's wording (each returns 0, for `return resp_...`) --- */

int resp_err_arity(resp_ctx *c);  /* ERR wrong number of arguments for 'get' command */
int resp_err_syntax(resp_ctx *c); /* ERR syntax error */
int resp_err_wrongtype(
    resp_ctx *c); /* WRONGTYPE Operation against a key holding the wrong kind of value */
int resp_err_not_int(resp_ctx *c);   /* ERR value is not an integer or out of range */
int resp_err_not_float(resp_ctx *c); /* ERR value is not a valid float */
int resp_err_no_key(resp_ctx *c);    /* ERR no such key */
/* For containers (CLIENT, CONFIG, ...) when argv[1] matched no branch: if it
 * is one of known (a NULL-terminated list of subcommand names) the arity was
 * wrong: "ERR wrong number of arguments for 'client|setname' command";
 * otherwise "ERR unknown subcommand 'foo'. Try CLIENT HELP.". */
int resp_err_subcommand(resp_ctx *c, const char *const *known);
/* Map a store/engine result to a reply: STORE_EWRONGTYPE, STORE_EKEYLEN and
 * STORE_EFIELDLEN become error replies (returns 0); engine errors are
 * returned as they are (the batch fails); 0 stays 0 (no reply written). */
int resp_store_error(resp_ctx *c, int rc);

/* ---- Argument parsing ------------------------------------------------------ */

/* Pure parsers (no reply). 0 on success, -1 if the text is not one.
 * Integers: resp_parse_i64() in proto.h. */
/* Doubles as Redis reads them (strtod): no spaces, "inf"/"-inf"/"+inf" ok,
 * NaN refused. */
int resp_parse_double(const char *p, size_t n, double *out);
int resp_parse_long_double(const char *p, size_t n, long double *out);

/* The same, replying the Redis error on failure. Return 0 if parsed, or 1 if
 * an error reply was written — then the handler returns 0:
 *     if (resp_arg_i64(c, &c->argv[2], &n)) return 0;                          */
int resp_arg_i64(resp_ctx *c, const resp_arg *a, int64_t *out);
int resp_arg_double(resp_ctx *c, const resp_arg *a, double *out);
/* A count/index within [min, max]; outside is "ERR value is out of range"
 * (or the not-an-integer error for non-numbers). */
int resp_arg_range(resp_ctx *c, const resp_arg *a, int64_t min, int64_t max, int64_t *out);
/* Case-insensitive comparison of an argument with an ASCII word. */
int resp_arg_is(const resp_arg *a, const char *word);

/* The largest string value a command may create (proto-max-bulk-len);
 * beyond it: "ERR string exceeds maximum allowed size (proto-max-bulk-len)". */
uint64_t resp_max_string(const resp_ctx *c);

/* A pseudo-random 64-bit number (SPOP, SRANDMEMBER, HRANDFIELD, ...); not
 * for secrets. */
uint64_t resp_rand(resp_ctx *c);

/* ---- Glob patterns (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET) --------------- */

/* Redis's glob: * ? [abc] [^a-z] and \x escapes. 1 if s matches. */
int resp_glob_match(const char *pat, size_t plen, const char *s, size_t n, int nocase);

/* ---- SCAN-family cursors ---------------------------------------------------- */

/* Keys are ordered bytes, not hash slots, so a cursor names a position: the
 * next key (or field) to return. The server keeps recent positions in a table;
 * a cursor number is (first 6 bytes of the position, big-endian) << 16 | slot.
 * Cursor 0 starts at the beginning; a result cursor of 0 means done. A cursor
 * whose slot was reused since resumes at its 6-byte prefix, so a client never
 * misses a key that existed throughout and never loops forever; it may see
 * some keys twice, which Redis's SCAN contract allows. */
typedef struct resp_scan_args {
    uint64_t cursor;
    const char *match; /* NULL = every element */
    size_t match_len;
    int64_t count; /* COUNT, default 10 */
    int type;      /* SCAN TYPE: STORE_... or -1 for any */
} resp_scan_args;

/* Parse "cursor [MATCH p] [COUNT n] [TYPE t]" starting at argv[cursor_at].
 * allow_type enables TYPE (SCAN only). 0, or 1 after an error reply. */
int resp_scan_parse(resp_ctx *c, int cursor_at, int allow_type, resp_scan_args *a);
/* The position a cursor stands for (copied into pos, up to cap bytes; *len
 * set); cursor 0 is the empty position. */
void resp_cursor_position(resp_server *s, uint64_t cursor, void *pos, size_t cap, size_t *len);
/* A new cursor number for the position pos (never 0). */
uint64_t resp_cursor_save(resp_server *s, const void *pos, size_t len);

#endif /* FFDB_RESP_COMMAND_H */
