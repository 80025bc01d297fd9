/*
 * reply.h — the reply writer of ffdb-server: RESP2 and RESP3 frames appended
 * to a client's growable output buffer.
 *
 * Every command handler answers through these functions and nothing else, so
 * that one place knows how each kind of value looks in each protocol version
 * (a map is "%N" in RESP3 and a flat "*2N" array in RESP2, a double is ","
 * in RESP3 and a bulk string in RESP2, a null is "_" or "$-1"/"*-1", ...).
 * It never touches a socket: the connection layer sends the buffer.
 *
 * Memory: replies go into a net_buf (modules/net/buf.h), whose hard cap
 * (the client-output-buffer-limit) bounds what one huge reply (KEYS * over
 * ten million keys) can cost; past it the buffer sets `overflow` and the
 * connection layer drops the client.
 *
 * Counting: each reply_error*() bumps `errors` (INFO's total_error_replies).
 *
 * Deferred lengths: for replies whose element count is known only at the end
 * (a scan with a filter), call reply_defer() where the header goes, write the
 * elements, then reply_defer_array/map/set() with the count. The header is
 * inserted in place (the elements move up). Close nested deferred headers
 * innermost first. A handle stays valid only while nothing before it in the
 * buffer changes — in practice, until the command handler returns.
 */
#ifndef FFDB_RESP_REPLY_H
#define FFDB_RESP_REPLY_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "modules/net/buf.h"

/* The writer: an output buffer and the protocol version of the connection. */
typedef struct resp_reply {
    net_buf *out;
    int proto;       /* 2 or 3 (HELLO 3) */
    uint64_t errors; /* error replies written */
} resp_reply;

/* ---- scalars ------------------------------------------------------------- */

/* "+OK". s must not contain \r or \n. */
void reply_simple(resp_reply *r, const char *s);
void reply_ok(resp_reply *r);
/* "-ERR ..." — msg carries its own code: reply_error(r, "ERR syntax error"),
 * reply_error(r, "WRONGTYPE Operation against ..."). \r and \n in msg become
 * spaces so a message can never break the framing. */
void reply_error(resp_reply *r, const char *msg);
void reply_errorf(resp_reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ":123" */
void reply_int(resp_reply *r, int64_t v);
/* "$3\r\nfoo" */
void reply_bulk(resp_reply *r, const void *p, size_t n);
void reply_bulk_cstr(resp_reply *r, const char *s);
void reply_bulk_int(resp_reply *r, int64_t v); /* an integer as a bulk string */
/* A missing value: RESP2 "$-1", RESP3 "_". */
void reply_null(resp_reply *r);
/* A missing aggregate (EXEC aborted by WATCH, BLPOP timeout): RESP2 "*-1", RESP3 "_". */
void reply_null_array(resp_reply *r);
/* RESP3 ",1.5"; RESP2 the same text as a bulk string. Written as the
 * shortest text that reads back to the same double ("inf", "-inf"; never
 * "nan": callers reject NaN first). */
void reply_double(resp_reply *r, double d);
/* RESP3 "#t"/"#f"; RESP2 ":1"/":0". */
void reply_bool(resp_reply *r, int v);
/* Text for humans (INFO, CLIENT LIST): RESP3 verbatim "=N\r\ntxt:...",
 * RESP2 a bulk string. */
void reply_verbatim(resp_reply *r, const void *p, size_t n);

/* ---- aggregates (then write exactly that many elements) ----------------- */

void reply_array(resp_reply *r, size_t n);    /* "*n" */
void reply_map(resp_reply *r, size_t npairs); /* RESP3 "%n"; RESP2 "*2n"; then key, value, ... */
void reply_set(resp_reply *r, size_t n);      /* RESP3 "~n"; RESP2 "*n" */
/* Out-of-band messages (pub/sub): RESP3 ">n"; RESP2 "*n". */
void reply_push(resp_reply *r, size_t n);

/* ---- deferred headers ----------------------------------------------------- */

typedef size_t resp_defer; /* where the header goes; opaque */
resp_defer reply_defer(resp_reply *r);
void reply_defer_array(resp_reply *r, resp_defer d, size_t n);
void reply_defer_map(resp_reply *r, resp_defer d, size_t npairs);
void reply_defer_set(resp_reply *r, resp_defer d, size_t n);

/* ---- formatting helpers shared by commands ------------------------------- */

/* Shortest decimal text of d that reads back as d ("1.5", "0.1", "1e+300",
 * "inf", "-inf"); returns its length. buf needs 32 bytes. */
size_t resp_format_double(char *buf, double d);
/* Decimal text of v; returns its length. buf needs 21 bytes. */
size_t resp_format_int(char *buf, int64_t v);
/* INCRBYFLOAT's output: a long double with 17 fraction digits, then trailing
 * zeros and a trailing dot removed ("10.5", "3"). Returns the length, or 0
 * for inf/NaN or if it needs cap bytes or more (RESP_LONG_DOUBLE_CHARS is
 * enough for any finite value Redis accepts). */
#define RESP_LONG_DOUBLE_CHARS 5200
size_t resp_format_long_double(char *buf, size_t cap, long double v);

#endif /* FFDB_RESP_REPLY_H */
