/*
 * rparse.c — the RESP reply parser harness (modules/resp/rparse.c): the
 * input is what a server sends back, cut into pieces the way a network cuts
 * it.
 *
 * The stream is parsed twice: once fed in chunks whose sizes come from the
 * input (the kept bytes moving to a new buffer now and then, as the contract
 * allows), once with every byte there from the start. Both passes must hand
 * out the same items and end the same way (a hash of every event is
 * compared). Along the way the contract (rparse.h) is checked:
 *
 *   - progress: RESP_NEED_MORE only while bytes are missing, so the loop ends;
 *   - every span lies inside the bytes given and inside its reply; depths
 *     follow the nesting; a reply's size is at most the bytes given;
 *   - a reply re-encoded from its items is exactly its bytes (every number
 *     and length has one spelling; doubles and big numbers are spans);
 *   - an error is worded "Protocol error: ...", and stays.
 *
 * Input: byte 0 configures, byte 1 seeds the chunk sizes, the rest is the
 * stream. Byte 0: bits 0-1 the limits (the defaults, small ones: depth 4,
 * bulk 64, 8 elements, line 40, reply 400; or tiny: depth 1, bulk 3, 2
 * elements, line 6, reply 40), bit 5 move the kept bytes now and then, bits
 * 6-7 the chunks (1-16 bytes, one at a time, 1-512, or sizes read from the
 * stream).
 *
 * Who calls it: afl-fuzz, the ASan replay program (fuzz/fuzz.mk) and
 * tests/test_fuzz_rparse.c, through rparse_one().
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_ONE
#define FUZZ_ONE rparse_one
#endif
#include "fuzz/fuzz.h"
#include "modules/resp/rparse.h"

#define RP_FZ_MAX_STEPS 10000000

typedef struct rp_pass {
    const uint8_t *input; /* the whole input: configuration bytes and stream */
    size_t len;
    int chunked;
    uint64_t hash, replies, items;
    uint64_t part; /* the items of the reply in progress, mixed into hash when it is done */
    int error;
    /* the re-encoding of the reply being read */
    char *enc;
    size_t enc_len;
    int in_stream;
} rp_pass;

static void rp_limits(uint8_t cfg, resp_reply_limits *l)
{
    resp_reply_limits_default(l);
    if ((cfg & 3) == 1)
        *l = (resp_reply_limits){4, 64, 8, 40, 400};
    else if ((cfg & 3) == 2)
        *l = (resp_reply_limits){1, 3, 2, 6, 40};
}

static void rp_put(rp_pass *ps, const void *p, size_t n)
{
    /* A reply's re-encoding is never longer than the stream. */
    FUZZ_ASSERT(ps->enc_len + n <= ps->len - 2, "re-encoding longer than the stream");
    memcpy(ps->enc + ps->enc_len, p, n);
    ps->enc_len += n;
}

static void rp_putf(rp_pass *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rp_putf(rp_pass *ps, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    rp_put(ps, tmp, (size_t)n);
}

/* Re-encode one item. */
static void rp_encode(rp_pass *ps, const char *buf, const resp_item *it)
{
    const char *s = buf + it->str.off;
    char t = (char)it->type;

    switch (it->type) {
    case '+': case '-': case '(': case ',':
        rp_put(ps, &t, 1), rp_put(ps, s, it->str.len), rp_put(ps, "\r\n", 2);
        break;
    case ':':
        rp_putf(ps, ":%" PRId64 "\r\n", it->integer);
        break;
    case '_':
        rp_put(ps, "_\r\n", 3);
        break;
    case '#':
        rp_put(ps, it->integer ? "#t\r\n" : "#f\r\n", 4);
        break;
    case '$': case '!': case '=':
        if (it->null) {
            rp_put(ps, "$-1\r\n", 5);
        } else if (it->streamed) {
            rp_put(ps, "$?\r\n", 4);
            ps->in_stream = 1;
        } else {
            rp_putf(ps, "%c%zu\r\n", t, it->str.len);
            rp_put(ps, s, it->str.len), rp_put(ps, "\r\n", 2);
        }
        break;
    case RESP_ITEM_CHUNK:
        rp_putf(ps, ";%zu\r\n", it->str.len);
        rp_put(ps, s, it->str.len), rp_put(ps, "\r\n", 2);
        break;
    case RESP_ITEM_END:
        if (ps->in_stream)
            rp_put(ps, ";0\r\n", 4), ps->in_stream = 0;
        else
            rp_put(ps, ".\r\n", 3);
        break;
    default: /* aggregates */
        if (it->null)
            rp_put(ps, "*-1\r\n", 5);
        else if (it->streamed)
            rp_putf(ps, "%c?\r\n", t);
        else
            rp_putf(ps, "%c%" PRIu64 "\r\n", t, it->count);
        break;
    }
}

static void rp_item(rp_pass *ps, const char *buf, size_t avail, const resp_item *it)
{
    FUZZ_ASSERT(it->str.off + it->str.len <= avail, "span outside the bytes given");
    FUZZ_ASSERT(it->depth < RESP_REPLY_MAX_DEPTH, "depth %u", it->depth);
    rp_encode(ps, buf, it);
    ps->items++;
    ps->part = fz_mix(ps->part, &it->type, sizeof(it->type));
    ps->part = fz_mix(ps->part, &it->depth, sizeof(it->depth));
    ps->part = fz_mix(ps->part, buf + it->str.off, it->str.len);
    if (it->done) {
        FUZZ_ASSERT(it->reply_size > 0 && it->reply_size <= avail, "reply of %zu of %zu bytes",
                    it->reply_size, avail);
        FUZZ_ASSERT(it->str.off + it->str.len <= it->reply_size, "span outside its reply");
        FUZZ_ASSERT(ps->enc_len == it->reply_size && memcmp(ps->enc, buf, ps->enc_len) == 0,
                    "reply of %zu bytes re-encodes to %zu other bytes", it->reply_size,
                    ps->enc_len);
        FUZZ_ASSERT(!ps->in_stream, "reply done inside a streamed string");
        ps->enc_len = 0;
        ps->replies++;
        ps->hash = fz_mix(ps->hash, &ps->part, sizeof(ps->part));
        ps->hash = fz_mix(ps->hash, &it->reply_size, sizeof(it->reply_size));
        ps->part = 0;
    }
}

static void rp_run(rp_pass *ps)
{
    resp_reply_parser p;
    resp_reply_limits lim;
    resp_item it;
    size_t start = 0;
    fz_feed f;

    fz_feed_init(&f, ps->input + 2, ps->len - 2, ps->input[0], ps->input[1], ps->chunked);
    ps->enc = malloc(ps->len - 1); /* the stream's length + 1 */
    FUZZ_ASSERT(ps->enc, "out of memory");
    rp_limits(ps->input[0], &lim);
    resp_reply_init(&p, &lim);
    ps->hash = 0xcbf29ce484222325ull;
    for (long step = 0;; step++) {
        FUZZ_ASSERT(step < RP_FZ_MAX_STEPS, "the parser loops");
        int rc = resp_reply_next(&p, f.buf + start, f.fed - start, &it);
        if (rc == RESP_OK) {
            rp_item(ps, f.buf + start, f.fed - start, &it);
            if (it.done)
                start += it.reply_size;
            continue;
        }
        if (rc == RESP_PROTO_ERROR) {
            FUZZ_ASSERT(strncmp(p.error, "Protocol error: ", 16) == 0, "error worded \"%s\"",
                        p.error);
            FUZZ_ASSERT(resp_reply_next(&p, f.buf + start, f.fed - start, &it) ==
                            RESP_PROTO_ERROR,
                        "an error that does not stay");
            /* Where in a malformed reply the error is seen (and so its
             * words, and the items of that reply given before it) may
             * depend on how the bytes were cut; the replies before it and
             * that it fails may not. */
            ps->error = 1;
            break;
        }
        FUZZ_ASSERT(rc == RESP_NEED_MORE, "resp_reply_next returned %d", rc);
        if (!fz_feed_more(&f)) {
            ps->hash = fz_mix(ps->hash, "more", 4);
            break;
        }
    }
    free(ps->enc);
    fz_feed_free(&f);
}

static int rparse_one(const uint8_t *data, size_t len)
{
    rp_pass chunked = {.input = data, .len = len, .chunked = 1};
    rp_pass whole = {.input = data, .len = len};

    if (len < 2)
        return 0;
    rp_run(&chunked);
    rp_run(&whole);
    FUZZ_ASSERT(chunked.hash == whole.hash && chunked.replies == whole.replies &&
                    chunked.items == whole.items && chunked.error == whole.error,
                "cut in pieces: %llu replies%s; whole: %llu replies%s",
                (unsigned long long)chunked.replies, chunked.error ? ", error" : "",
                (unsigned long long)whole.replies, whole.error ? ", error" : "");
    return 0;
}
