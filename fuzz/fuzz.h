/*
 * fuzz.h — what the fuzz harnesses share: a reader over the input bytes, a
 * deterministic byte pattern, the key order (ops.c, file.c), a stream fed in
 * chunks (resp.c, rparse.c), the failure macro, and the program around a
 * harness's one-input function.
 *
 * A harness defines one function, int NAME(const uint8_t *data, size_t len),
 * that runs one input from a clean state and leaves a clean state behind
 * (every handle closed, every allocation of the library freed). Any
 * divergence from what the API promises calls FUZZ_FAIL, which prints what
 * went wrong and aborts, so both AFL++ and a sanitizer build see a crash.
 *
 * Built three ways (fuzz/fuzz.mk):
 *   afl-clang-fast   persistent mode (__AFL_LOOP) with deferred init;
 *   plain + ASan     a replay program: every file named on the command line,
 *                    and every file in every directory named, runs once;
 *   inside tests     tests/test_fuzz_regress.c includes the harness with
 *                    FUZZ_NO_MAIN and replays fuzz/regress/ and fuzz/corpus/.
 * Uses the public API, testing/io_mem.h and common/alloc.h (for mem_live,
 * the count of live allocations, which is how a persistent harness notices
 * a leak without waiting for LeakSanitizer at exit).
 */
#ifndef FFDB_FUZZ_FUZZ_H
#define FFDB_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "ffdb.h"
#include "testing/io_mem.h"

/* ---- failure ---------------------------------------------------------------- */

#define FUZZ_FAIL(...)                                                                      \
    do {                                                                                    \
        ffdb_error_info fz_ei_;                                                             \
        ffdb_last_error(&fz_ei_);                                                           \
        fprintf(stderr, "fuzz: %s:%d: ", __FILE__, __LINE__);                               \
        fprintf(stderr, __VA_ARGS__);                                                       \
        fprintf(stderr, " (last error: %s, page %llu)\n", fz_ei_.message,                   \
                (unsigned long long)fz_ei_.pgno);                                           \
        abort();                                                                            \
    } while (0)

#define FUZZ_ASSERT(cond, ...)                                                              \
    do {                                                                                    \
        if (!(cond))                                                                        \
            FUZZ_FAIL(__VA_ARGS__);                                                         \
    } while (0)

/* rc must be want. */
#define FUZZ_RC(expr, want)                                                                 \
    do {                                                                                    \
        int fz_rc_ = (expr), fz_want_ = (want);                                             \
        if (fz_rc_ != fz_want_)                                                             \
            FUZZ_FAIL("%s returned %d (%s), expected %d (%s)", #expr, fz_rc_,               \
                      ffdb_strerror(fz_rc_), fz_want_, ffdb_strerror(fz_want_));            \
    } while (0)

/* ---- reading the input ---------------------------------------------------------- */

typedef struct fz_in {
    const uint8_t *p;
    size_t len, pos;
} fz_in;

static inline int fz_more(const fz_in *in)
{
    return in->pos < in->len;
}

/* The next byte; 0 past the end (callers stop on !fz_more at op boundaries). */
static inline unsigned fz_u8(fz_in *in)
{
    return in->pos < in->len ? in->p[in->pos++] : 0;
}

static inline unsigned fz_u16(fz_in *in)
{
    unsigned lo = fz_u8(in);
    return lo | (fz_u8(in) << 8);
}

/* Copy n bytes (zeros past the end). */
static inline void fz_bytes(fz_in *in, void *out, size_t n)
{
    size_t have = in->pos < in->len ? in->len - in->pos : 0;
    if (have > n)
        have = n;
    memcpy(out, in->p + in->pos, have);
    memset((uint8_t *)out + have, 0, n - have);
    in->pos += have;
}

/* ---- helpers -------------------------------------------------------------------- */

/* Deterministic bytes from a seed (splitmix64 stream). */
static inline void fz_pattern(void *buf, size_t len, uint64_t seed)
{
    uint8_t *p = buf;
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        for (size_t j = 0; j < 8 && i + j < len; j++)
            p[i + j] = (uint8_t)(z >> (8 * j));
    }
}

/* The engine's key order: unsigned bytes, a prefix first. */
static inline int fz_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static inline int fz_val_is(ffdb_val v, const void *data, size_t len)
{
    return v.size == len && (len == 0 || memcmp(v.data, data, len) == 0);
}

/* ---- a stream cut the way a network cuts it (the RESP harnesses) ------------------- */

/* FNV-1a over n bytes, continuing from h: what a harness hashes its events with. */
static inline uint64_t fz_mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* A stream fed to a parser: buf holds the stream; the first fed bytes have
 * "arrived" (the parser may only rely on those), the rest arrive in chunks
 * by fz_feed_more. Configured by the input's byte 0 (bit 5: the arrived
 * bytes move to a new buffer now and then, as a growing buffer moves; bits
 * 6-7: chunks of 1-16 bytes, one byte at a time, 1-512 bytes, or sizes read
 * from the stream's own bytes) and byte 1 (the chunk sizes' seed). A whole
 * feed (chunked 0) has every byte there from the start. */
typedef struct fz_feed {
    const uint8_t *stream; /* as received */
    size_t total;          /* its length */
    char *buf;             /* what the parser reads */
    size_t fed;            /* bytes arrived */
    uint8_t cfg;
    uint64_t state, feeds;
} fz_feed;

static inline void fz_feed_init(fz_feed *f, const uint8_t *stream, size_t total, uint8_t cfg,
                                uint8_t seed, int chunked)
{
    f->stream = stream;
    f->total = total;
    f->cfg = cfg;
    f->state = seed * 0x9E3779B97F4A7C15ull + 1;
    f->feeds = 0;
    f->fed = chunked ? 0 : total;
    f->buf = malloc(total + 1);
    FUZZ_ASSERT(f->buf, "out of memory");
    memcpy(f->buf, stream, total);
}

/* The next chunk size (at least 1). */
static inline size_t fz_feed_chunk(fz_feed *f)
{
    f->state = f->state * 6364136223846793005ull + 1442695040888963407ull;
    switch (f->cfg >> 6) {
    case 0:
        return 1 + (size_t)((f->state >> 33) % 16);
    case 1:
        return 1;
    case 2:
        return 1 + (size_t)((f->state >> 33) % 512);
    default: /* the stream says: its byte at the feed point, as a size */
        return 1 + (f->fed < f->total ? f->stream[f->fed] : 0);
    }
}

/* The next chunk arrives; 0 when the whole stream is there already. */
static inline int fz_feed_more(fz_feed *f)
{
    size_t was = f->fed;

    if (f->fed == f->total)
        return 0;
    f->fed += fz_feed_chunk(f);
    if (f->fed > f->total)
        f->fed = f->total;
    memcpy(f->buf + was, f->stream + was, f->fed - was); /* the bytes that arrived */
    /* The arrived bytes move at the 1st, 2nd, 4th, 8th... feed (every feed
     * would make a big input fed byte by byte quadratic in the harness). */
    f->feeds++;
    if ((f->cfg & 0x20) && (f->feeds & (f->feeds - 1)) == 0) {
        char *nb = malloc(f->total + 1);
        FUZZ_ASSERT(nb, "out of memory");
        memcpy(nb, f->buf, f->fed);
        free(f->buf);
        f->buf = nb;
    }
    return 1;
}

static inline void fz_feed_free(fz_feed *f)
{
    free(f->buf);
    f->buf = NULL;
}

/* ---- the program around a harness ------------------------------------------------ */

#ifndef FUZZ_NO_MAIN
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_ONE
#error "define FUZZ_ONE as the harness's one-input function before including fuzz.h"
#endif
static int FUZZ_ONE(const uint8_t *data, size_t len);

#ifdef __AFL_FUZZ_TESTCASE_LEN
__AFL_FUZZ_INIT();

int main(void)
{
#ifdef __AFL_HAVE_MANUAL_CONTROL
    __AFL_INIT();
#endif
    const uint8_t *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(10000)) {
        size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
        FUZZ_ONE(buf, len);
    }
    return 0;
}
#else
static uint8_t *fz_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int fz_run_path(const char *path, unsigned long *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz: cannot stat %s\n", path);
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        struct dirent **names;
        int n = scandir(path, &names, NULL, alphasort), bad = 0;
        if (n < 0) {
            fprintf(stderr, "fuzz: cannot read %s\n", path);
            return 1;
        }
        for (int i = 0; i < n; i++) {
            char sub[4096];
            if (names[i]->d_name[0] != '.') {
                snprintf(sub, sizeof sub, "%s/%s", path, names[i]->d_name);
                bad |= fz_run_path(sub, count);
            }
            free(names[i]);
        }
        free(names);
        return bad;
    }
    size_t len = 0;
    uint8_t *buf = fz_read_file(path, &len);
    if (!buf && len) {
        fprintf(stderr, "fuzz: cannot read %s\n", path);
        return 1;
    }
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz: %s (%zu bytes)\n", path, len);
    alarm(60); /* a hang is a failure too */
    FUZZ_ONE(buf ? buf : (const uint8_t *)"", len);
    alarm(0);
    free(buf);
    (*count)++;
    return 0;
}

/* Replay: each argument is a file or a directory of files. */
int main(int argc, char **argv)
{
    unsigned long count = 0;
    int bad = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...  (runs each input once)\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        bad |= fz_run_path(argv[i], &count);
    printf("%s: %lu inputs replayed, no failure\n", argv[0], count);
    return bad;
}
#endif /* __AFL_FUZZ_TESTCASE_LEN */
#endif /* FUZZ_NO_MAIN */

#endif /* FFDB_FUZZ_FUZZ_H */
