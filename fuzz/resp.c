/*
 * resp.c — the RESP request parser harness (modules/resp/proto.c): the input
 * is what a client sends, cut into pieces the way a network cuts it.
 *
 * The stream is parsed twice. Once as the server does it: bytes arrive in
 * chunks whose sizes come from the input itself, the caller keeps a
 * request's bytes while the parser asks for more, now and then moves them
 * to a new buffer (the contract allows it), and grows the argument array
 * only when asked. Once more with every byte there from the start. Both
 * passes must see the same requests and the same error (a hash of every
 * event is compared): how the bytes are cut must never change what they
 * mean. Along the way the parser's contract (proto.h) is checked:
 *
 *   - progress: RESP_NEED_MORE only while bytes are missing, RESP_NEED_ARGV
 *     only for a larger array than the caller has, so the loop always ends;
 *   - RESP_OK: 0 < size <= bytes given; argc <= the array; every span lies
 *     inside the request, in order, without overlap; a multibulk request
 *     re-encoded from its arguments is exactly its bytes (numbers have one
 *     spelling); an inline one ends at its first '\n';
 *   - the parser writes only into the request it returns (inline unescaping):
 *     every byte after it, and every byte while it asks for more, is as
 *     received;
 *   - an error is worded "Protocol error: ...", and stays (the next call
 *     answers the same);
 *   - resp_parse_wanted never asks for more than the largest bulk allowed;
 *   - resp_parse_i64 agrees with a plain reference on the input's first
 *     bytes, and net_split_args counts what it then splits.
 * The parser never allocates (proto.h); the harness does, and frees all.
 *
 * Input: byte 0 configures, byte 1 seeds the chunk sizes, the rest is the
 * stream. Byte 0: bits 0-1 the limits (Redis's defaults, or small ones so
 * they are hit: bulk 64, 8 elements, inline 100, request 300, or tiny: bulk
 * 3, 2 elements, inline 8, request 24), bits 2-4 the argument array's first
 * size (0-7), bit 5 move the kept bytes to a new buffer now and then, bits
 * 6-7 the chunks (sizes from a generator seeded by byte 1: 1-16 bytes, one
 * byte at a time, 1-512 bytes, or the sizes read from the stream's own bytes).
 *
 * Who calls it: afl-fuzz (persistent mode), the ASan replay program
 * (fuzz/fuzz.mk) and tests/test_fuzz_resp.c, through resp_one() (fuzz.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_ONE
#define FUZZ_ONE resp_one
#endif
#include "fuzz/fuzz.h"
#include "modules/resp/proto.h"

#define RESP_FZ_MAX_STEPS 10000000 /* parser calls per pass: a loop that never ends fails */

typedef struct rz_pass {
    const uint8_t *input; /* the whole input: configuration bytes and stream */
    size_t len;
    int chunked;
    /* results */
    uint64_t hash;     /* every event, hashed */
    uint64_t requests; /* RESP_OK answers */
    int error;         /* ended in a protocol error */
} rz_pass;

static void rz_limits(uint8_t cfg, resp_limits *l)
{
    resp_limits_default(l);
    switch (cfg & 3) {
    case 1:
        l->max_bulk_len = 64;
        l->max_elements = 8;
        l->max_inline_len = 100;
        l->max_request_bytes = 300;
        break;
    case 2:
        l->max_bulk_len = 3;
        l->max_elements = 2;
        l->max_inline_len = 8;
        l->max_request_bytes = 24;
        break;
    default:
        break;
    }
}

/* A multibulk request is exactly the encoding of its arguments. */
static void rz_check_multibulk(const char *req, const resp_request *r)
{
    char head[32];
    size_t at;
    int n = snprintf(head, sizeof(head), "*%zu\r\n", r->argc);

    FUZZ_ASSERT((size_t)n <= r->size && memcmp(req, head, (size_t)n) == 0,
                "request does not start with its count");
    at = (size_t)n;
    for (size_t i = 0; i < r->argc; i++) {
        n = snprintf(head, sizeof(head), "$%zu\r\n", r->argv[i].len);
        FUZZ_ASSERT(at + (size_t)n <= r->size && memcmp(req + at, head, (size_t)n) == 0,
                    "argument %zu: header is not its length", i);
        at += (size_t)n;
        FUZZ_ASSERT(r->argv[i].off == at, "argument %zu: span at %zu, bytes at %zu", i,
                    r->argv[i].off, at);
        at += r->argv[i].len;
        FUZZ_ASSERT(at + 2 <= r->size && req[at] == '\r' && req[at + 1] == '\n',
                    "argument %zu: no CRLF after it", i);
        at += 2;
    }
    FUZZ_ASSERT(at == r->size, "request of %zu bytes re-encodes to %zu", r->size, at);
}

/* Checks of a RESP_OK answer (req: the request as the parser left it, orig:
 * as received); folds it into the pass's hash. */
static void rz_ok(rz_pass *ps, const char *req, const uint8_t *orig, size_t avail,
                  const resp_request *r)
{
    FUZZ_ASSERT(r->size > 0 && r->size <= avail, "size %zu of %zu bytes", r->size, avail);
    FUZZ_ASSERT(r->argc <= r->argv_cap, "argc %zu over the array (%zu)", r->argc, r->argv_cap);
    for (size_t i = 0; i < r->argc; i++) {
        FUZZ_ASSERT(r->argv[i].off + r->argv[i].len <= r->size, "span %zu outside", i);
        FUZZ_ASSERT(i == 0 || r->argv[i].off >= r->argv[i - 1].off + r->argv[i - 1].len,
                    "span %zu overlaps the one before", i);
    }
    if (r->inline_cmd) {
        const uint8_t *nl = memchr(orig, '\n', r->size);
        FUZZ_ASSERT(nl && (size_t)(nl - orig) == r->size - 1, "inline request not one line");
        for (size_t i = 0; i < r->argc; i++)
            FUZZ_ASSERT(r->argv[i].off + r->argv[i].len <= r->size - 1, "span %zu past EOL", i);
    } else if (r->argc > 0) {
        rz_check_multibulk(req, r);
    } else {
        FUZZ_ASSERT(req[0] == '*' || req[r->size - 1] == '\n', "empty request of odd shape");
    }
    ps->requests++;
    ps->hash = fz_mix(ps->hash, "ok", 2);
    ps->hash = fz_mix(ps->hash, &r->size, sizeof(r->size));
    ps->hash = fz_mix(ps->hash, &r->inline_cmd, sizeof(r->inline_cmd));
    for (size_t i = 0; i < r->argc; i++) {
        ps->hash = fz_mix(ps->hash, &r->argv[i].len, sizeof(r->argv[i].len));
        ps->hash = fz_mix(ps->hash, req + r->argv[i].off, r->argv[i].len);
    }
}

/* Grow argv as asked; the request must need more than the caller has. */
static void rz_grow(resp_request *r, const resp_limits *l)
{
    resp_span *nv;

    FUZZ_ASSERT(r->argc_needed > r->argv_cap, "NEED_ARGV for %zu with %zu there", r->argc_needed,
                r->argv_cap);
    FUZZ_ASSERT(r->argc_needed <= l->max_elements || r->argc_needed <= l->max_inline_len,
                "NEED_ARGV for %zu arguments", r->argc_needed);
    nv = realloc(r->argv, r->argc_needed * sizeof(*nv));
    FUZZ_ASSERT(nv, "out of memory");
    r->argv = nv;
    r->argv_cap = r->argc_needed;
}

/* One pass over the stream; results in ps. */
static void rz_run(rz_pass *ps)
{
    resp_parser p;
    resp_limits lim;
    resp_request req = {0};
    uint8_t cfg = ps->input[0];
    size_t start = 0;
    fz_feed f;

    fz_feed_init(&f, ps->input + 2, ps->len - 2, cfg, ps->input[1], ps->chunked);
    rz_limits(cfg, &lim);
    resp_parser_init(&p, &lim);
    req.argv_cap = (cfg >> 2) & 7;
    req.argv = req.argv_cap ? calloc(req.argv_cap, sizeof(*req.argv)) : NULL;
    ps->hash = 0xcbf29ce484222325ull;
    for (long step = 0;; step++) {
        FUZZ_ASSERT(step < RESP_FZ_MAX_STEPS, "the parser loops (start %zu, fed %zu)", start,
                    f.fed);
        int rc = resp_parse(&p, f.buf + start, f.fed - start, &req);
        /* Nothing past the request (or past anything, unless OK) changed. */
        size_t kept = rc == RESP_OK ? start + req.size : start;
        FUZZ_ASSERT(memcmp(f.buf + kept, f.stream + kept, f.fed - kept) == 0,
                    "the parser wrote outside the request it returned (rc %d)", rc);
        if (rc == RESP_OK) {
            rz_ok(ps, f.buf + start, f.stream + start, f.fed - start, &req);
            FUZZ_ASSERT(resp_parse_wanted(&p, 0) == 0, "a finished parser wants bytes");
            start += req.size;
            continue;
        }
        if (rc == RESP_NEED_ARGV) {
            rz_grow(&req, &lim);
            continue;
        }
        if (rc == RESP_PROTO_ERROR) {
            FUZZ_ASSERT(strncmp(p.error, "Protocol error: ", 16) == 0, "error worded \"%s\"",
                        p.error);
            FUZZ_ASSERT(resp_parse(&p, f.buf + start, f.fed - start, &req) == RESP_PROTO_ERROR,
                        "an error that does not stay");
            ps->error = 1;
            ps->hash = fz_mix(ps->hash, p.error, strlen(p.error));
            break;
        }
        FUZZ_ASSERT(rc == RESP_NEED_MORE, "resp_parse returned %d", rc);
        FUZZ_ASSERT(resp_parse_wanted(&p, f.fed - start) <= lim.max_bulk_len + 2,
                    "wants %llu bytes", (unsigned long long)resp_parse_wanted(&p, f.fed - start));
        if (!fz_feed_more(&f)) {
            ps->hash = fz_mix(ps->hash, "more", 4);
            break;
        }
    }
    free(req.argv);
    fz_feed_free(&f);
}

/* resp_parse_i64 against a plain reading of the same bytes. */
static void rz_check_i64(const uint8_t *data, size_t len)
{
    size_t n = len < 24 ? len : 24, i = 0;
    int neg = 0, ok = n > 0;
    __int128 v = 0;
    int64_t got;

    if (ok && data[0] == '-')
        neg = 1, i = 1, ok = n > 1;
    if (ok && data[i] == '0' && n > i + 1)
        ok = 0; /* leading zero */
    for (; ok && i < n; i++) {
        if (data[i] < '0' || data[i] > '9')
            ok = 0;
        else
            v = v * 10 + (data[i] - '0');
    }
    if (neg)
        v = -v;
    if (ok && (v > INT64_MAX || v < INT64_MIN || (neg && v == 0)))
        ok = 0;
    int rc = resp_parse_i64((const char *)data, n, &got);
    FUZZ_ASSERT((rc == 0) == ok, "resp_parse_i64 of %zu bytes: %d, reference %d", n, rc, ok);
    FUZZ_ASSERT(!ok || got == (int64_t)v, "resp_parse_i64: %lld", (long long)got);
}

/* net_split_args: the count without writing equals the count with. */
static void rz_check_split(const uint8_t *data, size_t len)
{
    size_t n = len < 200 ? len : 200;
    char *line = malloc(n + 1);
    resp_span spans[256];
    long counted, split;

    FUZZ_ASSERT(line, "out of memory");
    memcpy(line, data, n);
    counted = net_split_args(line, n, 0, NULL, 0);
    FUZZ_ASSERT(memcmp(line, data, n) == 0, "counting wrote into the line");
    split = net_split_args(line, n, 0, spans, 256);
    FUZZ_ASSERT(counted == split, "split counted %ld, then split %ld", counted, split);
    for (long i = 0; i < split && i < 256; i++)
        FUZZ_ASSERT(spans[i].off + spans[i].len <= n, "inline span %ld outside", i);
    free(line);
}

static int resp_one(const uint8_t *data, size_t len)
{
    rz_pass chunked = {.input = data, .len = len, .chunked = 1};
    rz_pass whole = {.input = data, .len = len};

    if (len < 2)
        return 0;
    rz_check_i64(data + 2, len - 2);
    rz_check_split(data + 2, len - 2);
    rz_run(&chunked);
    rz_run(&whole);
    FUZZ_ASSERT(chunked.hash == whole.hash && chunked.requests == whole.requests &&
                    chunked.error == whole.error,
                "cut in pieces: %llu requests%s; whole: %llu requests%s",
                (unsigned long long)chunked.requests, chunked.error ? ", error" : "",
                (unsigned long long)whole.requests, whole.error ? ", error" : "");
    return 0;
}
