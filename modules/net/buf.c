/*
 * buf.c — the growable output buffer of a connection (see buf.h). Buffers
 * grow by doubling up to their cap; past the cap or on a failed allocation
 * the buffer drops bytes and sets `overflow`, and the connection layer closes
 * the connection before anything truncated could be sent as if it were whole.
 */
#include "modules/net/buf.h"

#include <stdlib.h>
#include <string.h>

/* A buffer this much bigger than its content, with nothing pending, is shrunk
 * when compacted, so one big reply does not pin memory for the connection's
 * life. */
#define BUF_KEEP_BYTES (64u * 1024)

void net_buf_init(net_buf *b, size_t limit_bytes)
{
    memset(b, 0, sizeof(*b));
    b->limit_bytes = limit_bytes;
    b->hold = NET_NO_HOLD;
}

void net_buf_free(net_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = b->sent = 0;
}

int net_buf_reserve(net_buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (b->overflow)
        return -1;
    if (n > SIZE_MAX / 2 - b->len || (b->limit_bytes && b->len - b->sent + n > b->limit_bytes)) {
        b->overflow = 1;
        return -1;
    }
    need = b->len + n;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p) {
        b->overflow = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void net_buf_append(net_buf *b, const void *p, size_t n)
{
    if (n == 0 || net_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void net_buf_compact(net_buf *b)
{
    if (b->sent == 0)
        return;
    if (b->hold != NET_NO_HOLD)
        b->hold -= b->sent; /* nothing past hold is ever sent */
    if (b->sent == b->len) {
        b->len = b->sent = 0;
        if (b->cap > BUF_KEEP_BYTES) {
            free(b->data);
            b->data = NULL;
            b->cap = 0;
        }
        return;
    }
    memmove(b->data, b->data + b->sent, b->len - b->sent);
    b->len -= b->sent;
    b->sent = 0;
}
