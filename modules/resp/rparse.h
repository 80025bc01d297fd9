/*
 * rparse.h — the incremental RESP2/RESP3 reply parser: what a client of a
 * Redis-protocol server (a replication link, a cluster peer, a test, a
 * bridge) needs to read what the server sends back.
 *
 * It is a pull parser: each call hands out one item of the reply stream, in
 * order, depth first — a scalar (simple string, error, integer, bulk string,
 * null, boolean, double, big number, verbatim string, blob error), the header
 * of an aggregate (array, map, set, push, attribute: its element count), a
 * chunk of a streamed string, or the end marker of a streamed aggregate —
 * and says when an item completes the top-level reply. It never allocates,
 * never touches a socket and keeps no pointer into the buffer between calls.
 *
 * All RESP3 types are read, including streamed strings ("$?" followed by
 * ";<len>" chunks and ";0") and streamed aggregates ("*?", "%?", "~?", ">?"
 * ending in "."). An attribute ("|N") is handed out like a map; it does not
 * count as an element of its parent and is followed by the value it
 * describes (so a reply that is only an attribute is not complete yet).
 * RESP2's null bulk "$-1" and null array "*-1" come out as type '$' / '*'
 * with null = 1; RESP3's "_" as type '_'.
 *
 * The contract (the same as the request parser's, proto.h):
 *
 *   1. A reply starts at some byte of the caller's input buffer. The caller
 *      calls resp_reply_next() with buf pointing at that byte and len = every
 *      byte received so far from there on, and keeps those bytes until the
 *      reply is complete (the buffer may move; its contents up to the old len
 *      must stay the same). The parser remembers how far it got, so each
 *      byte is examined a bounded number of times however the reply is cut.
 *   2. RESP_OK: one item in *it; its spans (it->str) are relative to buf. If
 *      it->done, the reply spans buf[0 .. it->reply_size) and the parser is
 *      ready for the next reply at buf + it->reply_size.
 *   3. RESP_NEED_MORE: the next item is not all there; append and call again.
 *   4. RESP_PROTO_ERROR: p->error says why ("Protocol error: ..."); the
 *      stream cannot be resynchronised, so the connection must be dropped.
 *      The error stays until resp_reply_reset().
 *
 * Limits (each a protocol error, checked before the bytes are waited for):
 * nesting deeper than max_depth (at most RESP_REPLY_MAX_DEPTH), a string or
 * chunk longer than max_bulk_len, an aggregate of more than max_elements
 * elements (a map or attribute of N pairs has 2N), a line (simple string,
 * error, number, header) longer than max_line_len, and a whole reply over
 * max_reply_bytes.
 */
#ifndef FFDB_RESP_RPARSE_H
#define FFDB_RESP_RPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "modules/resp/proto.h" /* RESP_OK, RESP_NEED_MORE, RESP_PROTO_ERROR; net_span */

/* The nesting the parser can track (the size of its stack). */
#define RESP_REPLY_MAX_DEPTH 64u
#define RESP_REPLY_DEFAULT_MAX_DEPTH 32u
#define RESP_REPLY_DEFAULT_MAX_BULK_LEN (512ull * 1024 * 1024)
#define RESP_REPLY_DEFAULT_MAX_ELEMENTS (16ull * 1024 * 1024)
#define RESP_REPLY_DEFAULT_MAX_LINE_LEN (64u * 1024)
#define RESP_REPLY_DEFAULT_MAX_REPLY_BYTES (4ull * 1024 * 1024 * 1024)

/* Item types beyond the RESP type bytes ('+' '-' ':' '$' '*' '_' '#' ','
 * '(' '=' '!' '%' '~' '>' '|'): */
#define RESP_ITEM_CHUNK ';' /* a chunk of a streamed string (never empty) */
#define RESP_ITEM_END '.'   /* the end of a streamed aggregate or string */

typedef struct resp_reply_limits {
    uint32_t max_depth;
    uint64_t max_bulk_len;
    uint64_t max_elements;
    uint64_t max_line_len;
    uint64_t max_reply_bytes;
} resp_reply_limits;

void resp_reply_limits_default(resp_reply_limits *l);

/* One item. */
typedef struct resp_item {
    int type;         /* a RESP type byte, RESP_ITEM_CHUNK or RESP_ITEM_END */
    int null;         /* '$' / '*' as RESP2's null ("$-1", "*-1") */
    int streamed;     /* '$' or an aggregate of unknown length ("?"): chunks / elements
                         follow until a RESP_ITEM_END item */
    uint32_t depth;   /* 0 = the top level; elements of a depth-d aggregate are at d + 1 */
    net_span str;     /* '+' '-' '$' '!' '=' ';' (for '=' the whole "txt:..."), the
                         digits of '(' and ',' */
    int64_t integer;  /* ':'; '#' as 1 or 0 */
    double dbl;       /* ',' */
    uint64_t count;   /* aggregates: elements ('%' and '|': pairs) */
    int done;         /* this item completes the top-level reply */
    size_t reply_size; /* with done: the bytes the reply took */
} resp_item;

/* Parser state; opaque apart from error. */
typedef struct resp_reply_parser {
    resp_reply_limits limits;
    size_t pos;       /* bytes of the current reply consumed */
    size_t scan;      /* bytes after pos known to hold no '\n' */
    uint32_t depth;   /* open aggregates */
    int in_stream;    /* inside a streamed string ("$?") */
    int attr_pending; /* an attribute finished: a value it describes must follow */
    struct resp_reply_frame {
        uint64_t left;  /* elements still to come (streamed: unused) */
        uint64_t seen;  /* elements seen (streamed maps: must be even at the end) */
        char type;      /* the aggregate's type byte */
        char streamed;
    } stack[RESP_REPLY_MAX_DEPTH];
    char error[96];
} resp_reply_parser;

/* Set up with the given limits (NULL = the defaults above); max_depth is
 * capped at RESP_REPLY_MAX_DEPTH. */
void resp_reply_init(resp_reply_parser *p, const resp_reply_limits *limits);
/* Forget a partial reply and any error; keeps the limits. */
void resp_reply_reset(resp_reply_parser *p);
/* The next item of the reply at buf[0 .. len); see the contract above. */
int resp_reply_next(resp_reply_parser *p, const char *buf, size_t len, resp_item *it);
/* Frame one whole reply: RESP_OK with *size set once buf holds all of it,
 * otherwise as resp_reply_next. */
int resp_reply_frame(resp_reply_parser *p, const char *buf, size_t len, size_t *size);

#endif /* FFDB_RESP_RPARSE_H */
