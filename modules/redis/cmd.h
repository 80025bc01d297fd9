/*
 * cmd.h — the world of a Redis command handler: the context it gets
 * (struct resp_ctx, which modules/resp/command.h leaves to us), the command
 * families, and the helpers that know the server (SCAN cursors, random
 * numbers, store errors as replies). With modules/resp/command.h (table,
 * argument parsers, Redis's error wording), reply.h and store.h it is all a
 * data-type family includes.
 *
 * Commands live in one file per family (cmd_server.c, cmd_keys.c,
 * cmd_string.c, cmd_hash.c, cmd_list.c, cmd_set.c, cmd_zset.c, multi.c,
 * pubsub.c). Each file exports one table, redis_cmds_<family>[], ended by an
 * entry whose name is NULL; cmd.c merges them at start-up into one
 * resp_cmdtab. Adding a command = one handler + one table row in its
 * family's file.
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
#ifndef FFDB_REDIS_CMD_H
#define FFDB_REDIS_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "modules/redis/store.h"
#include "modules/resp/command.h"
#include "modules/resp/proto.h"
#include "modules/resp/reply.h"

typedef struct redis_server redis_server; /* redis.h */
typedef struct redis_client redis_client; /* redis.h */

/* What a handler gets (resp_ctx is declared by modules/resp/command.h). */
struct resp_ctx {
    redis_server *srv;
    redis_client *cli;
    resp_reply *r;  /* the client's reply writer */
    store_txn *st;  /* the batch txn; NULL unless READONLY or WRITE */
    int db;         /* selected database 0..STORE_DBS-1 */
    int64_t now_ms; /* Unix time in ms, fixed for the command */
    int argc;       /* argv[0] is the command name as sent */
    const resp_arg *argv;
    const resp_command *cmd;
};

/* The families. Each is ended by an entry with name == NULL. */
extern const resp_command redis_cmds_server[];
extern const resp_command redis_cmds_info[];
extern const resp_command redis_cmds_keys[];
extern const resp_command redis_cmds_string[];
extern const resp_command redis_cmds_hash[];
extern const resp_command redis_cmds_list[];
extern const resp_command redis_cmds_set[];
extern const resp_command redis_cmds_zset[];
extern const resp_command redis_cmds_multi[];
extern const resp_command redis_cmds_pubsub[];
extern const resp_command redis_cmds_script[];
extern const resp_command redis_cmds_debug[];
extern const resp_command redis_cmds_bit[];
extern const resp_command redis_cmds_sort[];
extern const resp_command redis_cmds_block[];
extern const resp_command redis_cmds_lua[];
extern const resp_command redis_cmds_stream[];
extern const resp_command redis_cmds_feed[];
extern const resp_command redis_cmds_memory[];
extern const resp_command redis_cmds_dump[];
extern const resp_command redis_cmds_hll[];
extern const resp_command redis_cmds_geo[];

/* Redis's name for the encoding a value of this type and size would have
 * in Redis (OBJECT ENCODING, DEBUG OBJECT; cmd_debug.c). */
const char *redis_object_encoding(const store_meta *m);
/* The DEBUG DIGEST bytes of one key (db, type, expiry, key, value; all
 * zeros when it is absent or expired at the txn's clock): what WATCH
 * compares when a write hook applies EXEC (multi.c). 0 or an engine error. */
#define REDIS_KEY_DIGEST 20
int redis_key_digest(store_txn *st, int db, const void *key, size_t klen,
                     uint8_t out[REDIS_KEY_DIGEST]);

/* Pop count members (1..m->size) of the sorted set m, named key, from its
 * low (max = 0) or high end as member, score pairs (each an array of 2 if
 * nested, else flat; the caller wrote the enclosing header); saves or
 * deletes the key (cmd_zset.c; ZMPOP and the blocking pops use it). */
int redis_zset_pop(resp_ctx *c, store_meta *m, const resp_arg *key, int max, int64_t count,
                   int nested);
/* The score of member p/n of the sorted set m: 0, FFDB_NOTFOUND (also for a
 * member too long to be there), or an engine code (cmd_zset.c; the GEO
 * commands read their points through it). */
int redis_zset_score(resp_ctx *c, const store_meta *m, const void *p, size_t n, double *score);

/* The server's command table: every family above, built once before
 * serving (0 or FFDB_ENOMEM; aborts on a name defined twice, a programming
 * error). A later module adds its own family with redis_commands_add(). */
int redis_commands_init(void);
int redis_commands_add(const resp_command *family);
void redis_commands_free(void);
const resp_cmdtab *redis_commands(void);
/* By name, any case; NULL if unknown. */
const resp_command *redis_command_lookup(const char *name, size_t len);
/* Every command, for COMMAND and COMMAND COUNT. */
size_t redis_command_count(void);
const resp_command *redis_command_at(size_t i);

/* Map a store/engine result to a reply: STORE_EWRONGTYPE, STORE_EKEYLEN and
 * STORE_EFIELDLEN become error replies (returns 0); engine errors are
 * returned as they are (the batch fails); 0 stays 0 (no reply written). */
int redis_store_error(resp_ctx *c, int rc);

/* The largest string value a command may create (proto-max-bulk-len);
 * beyond it: "ERR string exceeds maximum allowed size (proto-max-bulk-len)". */
uint64_t redis_max_string(const resp_ctx *c);

/* A pseudo-random 64-bit number (SPOP, SRANDMEMBER, HRANDFIELD, ...); not
 * for secrets. */
uint64_t redis_rand(resp_ctx *c);

/* ---- SCAN-family cursors ---------------------------------------------------- */

/* Keys are ordered bytes, not hash slots, so a cursor names a position: the
 * next key (or field) to return. The server keeps recent positions in a table;
 * a cursor number is (first 6 bytes of the position, big-endian) << 16 | slot.
 * Cursor 0 starts at the beginning; a result cursor of 0 means done. A cursor
 * whose slot was reused since resumes at its 6-byte prefix, so a client never
 * misses a key that existed throughout and never loops forever; it may see
 * some keys twice, which Redis's SCAN contract allows. */
typedef struct redis_scan_args {
    uint64_t cursor;
    const char *match; /* NULL = every element */
    size_t match_len;
    int64_t count; /* COUNT, default 10 */
    int type;      /* SCAN TYPE: STORE_... or -1 for any */
} redis_scan_args;

/* Parse "cursor [MATCH p] [COUNT n] [TYPE t]" starting at argv[cursor_at].
 * allow_type enables TYPE (SCAN only). 0, or 1 after an error reply. */
int redis_scan_parse(resp_ctx *c, int cursor_at, int allow_type, redis_scan_args *a);
/* The position a cursor stands for (copied into pos, up to cap bytes; *len
 * set); cursor 0 is the empty position. */
void redis_cursor_position(redis_server *s, uint64_t cursor, void *pos, size_t cap, size_t *len);
/* A new cursor number for the position pos (never 0). */
uint64_t redis_cursor_save(redis_server *s, const void *pos, size_t len);

/* The reply for a missing key where a command answers one element or many:
 * an empty array (aggregate) or a null. Returns 0, for "return
 * redis_reply_missing(...)". */
int redis_reply_missing(resp_ctx *c, int aggregate);

/* HLEN LLEN SCARD ZCARD: the size of m, found by a lookup that returned rc
 * (0; FFDB_NOTFOUND: no key, size 0; else the error replied). Returns 0
 * or what redis_store_error does. */
int redis_reply_size(resp_ctx *c, int rc, const store_meta *m);
/* SREM ZREM: save m if removed members left it (the last one takes the key
 * along), then reply removed. 0 or an engine code. */
int redis_reply_removed(resp_ctx *c, store_meta *m, int64_t removed);

/* A growing array that is full: v (of *cap elements of elem_size bytes)
 * realloc'd to twice as many (16 at first); *cap updated. NULL on
 * overflow or no memory, v then untouched and still the caller's. */
void *redis_array_grow(void *v, size_t *cap, size_t elem_size);

/* Redis's rank rule (LRANGE, LTRIM, ZRANGE by rank, ZREMRANGEBYRANK):
 * negative from the end, start clamped at 0, end at size - 1; 1 with the
 * range in *s..*e, 0 if it is empty. (GETRANGE and BITCOUNT clamp another
 * way, Redis's own quirk: cmd_string.c.) */
int redis_clamp_range(int64_t start, int64_t end, uint64_t size, uint64_t *s, uint64_t *e);

/* The reply of every SCAN-family command: [cursor, [n elements]], the
 * elements already encoded in items (NULL when n is 0). */
void redis_scan_reply(resp_ctx *c, uint64_t cursor, size_t n, const net_buf *items);

/* SSCAN, HSCAN and ZSCAN, one road: "key cursor [MATCH p] [COUNT n]" at
 * argv[1..]. get looks the key up with its type check (0, FFDB_NOTFOUND, or
 * an error it has not replied to); the members from the cursor's position
 * on, COUNT of them examined, each that matches handed to emit, which
 * writes its reply elements into r and returns how many (or a negative
 * FFDB_ error). Errors come in Redis's order: the cursor, the key's type (a
 * missing key is an empty scan whatever the options), the options. */
typedef int (*redis_scan_get_fn)(resp_ctx *c, store_meta *m);
typedef int (*redis_scan_emit_fn)(resp_reply *r, const ffdb_val *member, const ffdb_val *value);
int redis_scan_members(resp_ctx *c, redis_scan_get_fn get, redis_scan_emit_fn emit);

/* HRANDFIELD and ZRANDMEMBER, one road: "key [count [<with>]]" (with:
 * "withvalues", "withscores"). A positive count asks for different members
 * (at most the collection's size), a negative one for |count| picks that may
 * repeat; without a count, one member as a bulk string (null for a missing
 * key). get looks the key up as for a scan; visit (a store_elem_fn whose arg
 * is a redis_rand_pick) writes one pick, paired with its value in a
 * 2-element array in RESP3 when with is set, and returns r->out->overflow;
 * whole, if not NULL, answers a positive count of at least the size instead
 * of a sample (ZRANDMEMBER: the whole set, highest first). */
/* The count of SRANDMEMBER, HRANDFIELD, ZRANDMEMBER: an integer whose
 * absolute value exists (not INT64_MIN). 0, or 1 after the error reply. */
int redis_rand_count(resp_ctx *c, const resp_arg *arg, int64_t *count);
typedef struct redis_rand_pick {
    resp_reply *r;
    int with;
} redis_rand_pick;
typedef int (*redis_rand_whole_fn)(resp_ctx *c, const store_meta *m, int with);
int redis_rand_members(resp_ctx *c, const char *with, redis_scan_get_fn get, store_elem_fn visit,
                       redis_rand_whole_fn whole);

#endif /* FFDB_REDIS_CMD_H */
