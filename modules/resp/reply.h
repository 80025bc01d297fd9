/*
 * reply.h — the reply writer of ffdb-server: RESP2 and RESP3 frames appended
 * to a client's growable output buffer.
 *
 * Every command handler answers through these functions and nothing else, so
 * that one place knows how each kind of value looks in each protocol version
 * (a map is "%N" in RESP3 and a flat "*2N" array in RESP2, a double is ","
 * in RESP3 and a bulk string in RESP2, a null is "_" or "$-1"/"*-1", ...).
 * It never touches a socket: the server sends out.data[sent .. len).
 *
 * Memory: the buffer grows geometrically. It has a hard cap (limit_bytes,
 * the server's client-output-buffer-limit); past it the writer stops
 * appending, sets `overflow`, and the server disconnects the client at the
 * next check. So one huge reply (KEYS * over ten million keys) costs at most
 * the cap, never unbounded memory. An allocation failure also sets overflow.
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

/* A growable byte buffer: the client's output (and a scratch buffer where
 * handlers need one). */
typedef struct resp_buf {
    char *data;
    size_t len;         /* bytes written */
    size_t cap;         /* bytes allocated */
    size_t sent;        /* bytes of data already sent (owned by the server) */
    size_t limit_bytes; /* hard cap on len; 0 = no cap */
    int overflow;       /* the cap was hit or an allocation failed */
    size_t hold;        /* bytes from here on wait for a sync; RESP_NO_HOLD = none */
} resp_buf;

#define RESP_NO_HOLD SIZE_MAX

void resp_buf_init(resp_buf *b, size_t limit_bytes);
void resp_buf_free(resp_buf *b);
/* Make room for n more bytes; 0, or -1 with overflow set. */
int resp_buf_reserve(resp_buf *b, size_t n);
/* Append bytes (dropped, with overflow set, past the cap). */
void resp_buf_append(resp_buf *b, const void *p, size_t n);
/* Drop what was sent and move the rest to the front; frees a big, idle buffer. */
void resp_buf_compact(resp_buf *b);
/* Bytes written but not sent yet. */
static inline size_t resp_buf_pending(const resp_buf *b)
{
    return b->len - b->sent;
}

/* The writer: an output buffer and the protocol version of the connection. */
typedef struct resp_reply {
    resp_buf *out;
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
