/*
 * buf.h — a growable byte buffer: a connection's output (replies waiting to
 * be sent) and a scratch buffer where a module needs one. The protocol layers
 * write into it (modules/resp/reply.h); the connection layer (conn.h) sends
 * data[sent .. min(len, hold)) and nothing else.
 *
 * Memory: the buffer grows geometrically. It has a hard cap (limit_bytes, a
 * client output buffer limit) on what is written but not sent; past it the
 * buffer stops appending and sets `overflow`, and the connection layer drops
 * the connection at its next write. So one huge reply costs at most the cap,
 * never unbounded memory. An allocation failure also sets overflow.
 *
 * hold: bytes from `hold` on are not sent yet even though they are written —
 * the batch-commit helper (batch.h) sets it while those replies wait for a
 * commit to become durable. NET_NO_HOLD = nothing held.
 *
 * Single-threaded: the loop thread owns every buffer.
 */
#ifndef FFDB_NET_BUF_H
#define FFDB_NET_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct net_buf {
    char *data;
    size_t len;         /* bytes written */
    size_t cap;         /* bytes allocated */
    size_t sent;        /* bytes of data already sent (owned by the connection layer) */
    size_t limit_bytes; /* hard cap on len - sent; 0 = no cap */
    int overflow;       /* the cap was hit or an allocation failed */
    size_t hold;        /* bytes from here on wait (batch.h); NET_NO_HOLD = none */
} net_buf;

#define NET_NO_HOLD SIZE_MAX

void net_buf_init(net_buf *b, size_t limit_bytes);
void net_buf_free(net_buf *b);
/* Make room for n more bytes; 0, or -1 with overflow set. */
int net_buf_reserve(net_buf *b, size_t n);
/* Append bytes (dropped, with overflow set, past the cap). */
void net_buf_append(net_buf *b, const void *p, size_t n);
/* Drop what was sent and move the rest to the front; frees a big, idle buffer. */
void net_buf_compact(net_buf *b);
/* Bytes written but not sent yet. */
static inline size_t net_buf_pending(const net_buf *b)
{
    return b->len - b->sent;
}
/* Bytes that may be sent now: written, not sent, not held. */
static inline size_t net_buf_sendable(const net_buf *b)
{
    size_t end = b->hold < b->len ? b->hold : b->len;
    return end > b->sent ? end - b->sent : 0;
}

#endif /* FFDB_NET_BUF_H */
