/*
 * proto.h — the incremental RESP2 request parser of ffdb-server.
 *
 * It owns the grammar of what clients send: arrays of bulk strings
 * ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", what every client library sends) and
 * inline commands (a line of space-separated words with Redis's quoting, what
 * people type into telnet). It never allocates memory, never touches a socket
 * and knows no command: the server feeds it bytes, it answers "a whole
 * request", "need more bytes" or "protocol error".
 *
 * The contract with the caller (server.c, the fuzz target, the tests):
 *
 *   1. A request starts at some byte of the caller's input buffer. The caller
 *      calls resp_parse() with buf pointing at that byte and len = every byte
 *      received so far from there on. While the answer is RESP_NEED_MORE the
 *      caller keeps the bytes, appends what arrives next, and calls again with
 *      the same request start (the buffer may have moved; its contents up to
 *      the old len must be the same). The parser remembers how far it got, so
 *      feeding a 512 MiB bulk string byte by byte is linear, not quadratic.
 *   2. On RESP_OK the request spans buf[0 .. req->size); the arguments are
 *      spans (offset, length) relative to buf, so they stay meaningful when
 *      the caller moves its buffer. A request with no arguments (an empty
 *      inline line, "*0\r\n", "*-1\r\n") is RESP_OK with argc 0: skip it.
 *      The parser is ready for the next request at buf + req->size.
 *   3. On RESP_PROTO_ERROR, p->error holds Redis's wording without the "ERR "
 *      code ("Protocol error: invalid bulk length"); the server replies
 *      "-ERR <error>" and closes that connection after the reply is sent.
 *      The parser must be reset before further use (it never is, in the
 *      server: the connection is gone).
 *
 * Limits (each a protocol error when exceeded, checked before any byte of
 * the offending part is buffered): a bulk string longer than max_bulk_len
 * (Redis proto-max-bulk-len, 512 MiB), an array of more than max_elements,
 * an inline line longer than max_inline_len (64 KiB) and a whole request over
 * max_request_bytes (Redis client-query-buffer-limit, 1 GiB). The argument
 * span array (req->argv) is owned by the caller and grown by the caller:
 * when it is too small the parser answers RESP_NEED_ARGV with
 * req->argc_needed set, the caller grows it and calls again (no bytes are
 * lost). This keeps the parser free of malloc, which the fuzz target likes.
 */
#ifndef FFDB_RESP_PROTO_H
#define FFDB_RESP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "modules/net/text.h"

/* Defaults, in Redis's names where Redis has the same limit. */
#define RESP_DEFAULT_MAX_BULK_LEN (512ull * 1024 * 1024)       /* proto-max-bulk-len */
#define RESP_DEFAULT_MAX_ELEMENTS (1024ull * 1024)             /* arguments per request */
#define RESP_DEFAULT_MAX_INLINE_LEN (64u * 1024)               /* PROTO_INLINE_MAX_SIZE */
#define RESP_DEFAULT_MAX_REQUEST_BYTES (1024ull * 1024 * 1024) /* client-query-buffer-limit */
/* A header line ("*123\r\n", "$456\r\n") longer than this is an error, as in
 * Redis ("too big mbulk count string"). */
#define RESP_MAX_HEADER_LINE 64u

typedef struct resp_limits {
    uint64_t max_bulk_len;
    uint64_t max_elements;
    uint64_t max_inline_len;
    uint64_t max_request_bytes;
} resp_limits;

/* Fill *l with the defaults above. */
void resp_limits_default(resp_limits *l);

/* One argument: bytes buf[off .. off + len) of the request's buffer. An inline
 * argument with quotes or escapes is unescaped in place (it never grows), so
 * it too is a plain span of the buffer (net/text.h splits inline lines). */
typedef net_span resp_span;

/* A parsed request. argv/argv_cap are the caller's; the rest is filled in. */
typedef struct resp_request {
    resp_span *argv; /* caller-owned array of argv_cap spans */
    size_t argv_cap;
    size_t argc;        /* on RESP_OK: number of arguments (0 = skip it) */
    size_t argc_needed; /* on RESP_NEED_ARGV: grow argv to at least this */
    size_t size;        /* on RESP_OK: bytes the request took from buf */
    int inline_cmd;     /* on RESP_OK: 1 if it came as an inline command */
} resp_request;

/* Parser state; zero it with resp_parser_init(). Opaque to callers apart
 * from error; the fields are here so it can live inside the client struct. */
typedef struct resp_parser {
    resp_limits limits;
    size_t pos;       /* bytes of the current request already examined */
    uint64_t want;    /* elements announced by "*N" (0 until read) */
    uint64_t got;     /* elements complete so far */
    int64_t bulk_len; /* length of the bulk being read; -1 = read its "$" line */
    int kind;         /* 0 = not started, '*' = multibulk, 'i' = inline */
    char error[96];   /* the protocol error, NUL-terminated */
} resp_parser;

enum {
    RESP_OK = 0,          /* a whole request in *req */
    RESP_NEED_MORE = 1,   /* give me more bytes (keep these) */
    RESP_NEED_ARGV = 2,   /* grow req->argv to req->argc_needed and call again */
    RESP_PROTO_ERROR = -1 /* p->error says why; close the connection */
};

/* Set up a parser with the given limits (NULL = defaults). */
void resp_parser_init(resp_parser *p, const resp_limits *limits);
/* Forget a partial request (the caller discarded its bytes). Keeps limits. */
void resp_parser_reset(resp_parser *p);
/* Parse one request from buf[0 .. len); see the contract above. Inline
 * arguments are unescaped inside buf, which is why buf is not const. */
int resp_parse(resp_parser *p, char *buf, size_t len, resp_request *req);

/* Bytes still missing for the bulk string being read (0 if unknown), so the
 * caller can size its buffer and read a big argument in few calls. len is
 * what was passed to the last resp_parse. */
uint64_t resp_parse_wanted(const resp_parser *p, size_t len);

/* Integers as Redis reads them (string2ll): optional '-', digits, no '+', no
 * spaces, no leading zeros, within int64. 0, or -1 if s is not one. */
int resp_parse_i64(const char *s, size_t n, int64_t *out);

#endif /* FFDB_RESP_PROTO_H */
