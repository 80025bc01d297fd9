/*
 * test_blocks_util.c — the helpers declared in test_blocks_util.h.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "tests/test_blocks_util.h"
#include "tests/testutil.h"

const char *tb_store_path(void)
{
    return tu_path("store.ffdb");
}

blocks *tb_open(const blocks_options *opt)
{
    blocks *bs = NULL;
    TB_OK(blocks_open(tb_store_path(), opt, &bs));
    return bs;
}

void tb_cid_is(const ipld_cid *cid, const char *want)
{
    char s[IPLD_CID_STR_MAX];
    ipld_cid_str(cid, s);
    cr_assert_str_eq(s, want);
}

uint8_t *tb_block_data(int id, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    cr_assert(p);
    tu_pattern(p, len, 1000 + (uint64_t)id);
    return p;
}

void tb_block_cid(int id, size_t len, ipld_cid *cid)
{
    uint8_t *p = tb_block_data(id, len);
    TB_OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, p, len, cid));
    free(p);
}

void tb_put(blocks *bs, int id, size_t len)
{
    uint8_t *p = tb_block_data(id, len);
    ipld_cid cid;
    TB_OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, p, len, &cid));
    TB_OK(blocks_put(bs, &cid, p, len));
    free(p);
}

size_t tb_put_in_batch(blocks_batch *b, int id, size_t len)
{
    uint8_t *p = tb_block_data(id, len);
    ipld_cid cid;
    TB_OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, p, len, &cid));
    TB_OK(blocks_batch_put(b, &cid, p, len));
    free(p);
    return len;
}

void tb_expect_counts(blocks *bs, uint64_t n, uint64_t bytes)
{
    blocks_stat st;
    TB_OK(blocks_stat_get(bs, &st));
    cr_assert_eq(st.blocks[0] + st.blocks[1], n, "stat: %llu blocks, expected %llu",
                 (unsigned long long)(st.blocks[0] + st.blocks[1]), (unsigned long long)n);
    cr_assert_eq(st.bytes[0] + st.bytes[1], bytes, "stat: %llu bytes, expected %llu",
                 (unsigned long long)(st.bytes[0] + st.bytes[1]), (unsigned long long)bytes);
}

static void report(void *arg, const char *problem)
{
    (*(int *)arg)++;
    fprintf(stderr, "blocks_check: %s\n", problem);
}

void tb_check_clean(blocks *bs)
{
    int problems = 0;
    TB_OK(blocks_check(bs, report, &problems));
    cr_assert_eq(problems, 0);
}

/* ---- running ffdb-blocks ----------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    size_t n;
    unsigned char *data = tu_read_file(path, &n);
    char *s = malloc(n + 1);
    cr_assert(s);
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    free(data);
    *len = n;
    return s;
}

tb_run tb_runv(const char *in, const char *const *args)
{
    const char *dir = getenv("FFDB_TEST_TOOLS");
    const char *argv[64];
    char tool[512];
    const char *out_path = tu_path("tb_stdout"), *err_path = tu_path("tb_stderr");
    tb_run r;
    int argc = 0, wstatus;
    pid_t pid;
    cr_assert(dir && *dir, "FFDB_TEST_TOOLS is not set (run through make test)");
    snprintf(tool, sizeof tool, "%s/ffdb-blocks", dir);
    argv[argc++] = tool;
    argv[argc++] = "--store";
    argv[argc++] = tb_store_path();
    for (; *args; args++) {
        cr_assert(argc < 62);
        argv[argc++] = *args;
    }
    argv[argc] = NULL;
    fflush(NULL);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int i = open(in ? in : "/dev/null", O_RDONLY);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (i < 0 || o < 0 || e < 0)
            _exit(126);
        dup2(i, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(tool, (char *const *)argv);
        _exit(127);
    }
    cr_assert(waitpid(pid, &wstatus, 0) == pid);
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    r.out = slurp(out_path, &r.out_len);
    r.err = slurp(err_path, &r.err_len);
    return r;
}

tb_run tb_run_in(const char *in, ...)
{
    const char *args[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, in);
    while ((args[n] = va_arg(ap, const char *)) != NULL)
        cr_assert(++n < 63);
    va_end(ap);
    return tb_runv(in, args);
}

void tb_run_free(tb_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

void tb_expect_status(const tb_run *r, int want, const char *what)
{
    cr_assert_eq(r->status, want, "%s: exit %d, expected %d\nstdout: %.2000s\nstderr: %.2000s",
                 what, r->status, want, r->out, r->err);
}

void tb_expect_out(const tb_run *r, const char *want, const char *what)
{
    cr_assert_str_eq(r->out, want, "%s: stdout '%.2000s', expected '%s' (stderr: %.2000s)", what,
                     r->out, want, r->err);
}

/* ---- generated streams ------------------------------------------------------------- */

void tb_stream_init(tb_stream *s, const char *seed, uint64_t size)
{
    memset(s, 0, sizeof *s);
    crypto_hash_sha256(s->key, (const unsigned char *)seed, strlen(seed));
    s->size = size;
}

#define KS_BLOCK 64 /* ChaCha20's block: the counter counts these */

void tb_stream_bytes(const tb_stream *s, uint64_t pos, void *buf, size_t len)
{
    static const uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES];
    uint8_t tmp[KS_BLOCK];
    uint8_t *out = buf;
    /* A partial first block, then whole blocks straight into buf. */
    if (pos % KS_BLOCK && len) {
        size_t skip = pos % KS_BLOCK, n = KS_BLOCK - skip < len ? KS_BLOCK - skip : len;
        memset(tmp, 0, sizeof tmp);
        crypto_stream_chacha20_ietf_xor_ic(tmp, tmp, KS_BLOCK, nonce, (uint32_t)(pos / KS_BLOCK),
                                           s->key);
        memcpy(out, tmp + skip, n);
        out += n, pos += n, len -= n;
    }
    if (len) {
        memset(out, 0, len);
        cr_assert(pos / KS_BLOCK + len / KS_BLOCK < (UINT64_C(1) << 32));
        crypto_stream_chacha20_ietf_xor_ic(out, out, len, nonce, (uint32_t)(pos / KS_BLOCK),
                                           s->key);
    }
}

long tb_stream_read(void *arg, void *buf, size_t len)
{
    tb_stream *s = arg;
    uint64_t left = s->size - s->pos;
    size_t n = left < len ? (size_t)left : len;
    if (s->short_reads && n > 1) {
        s->short_reads = s->short_reads * 6364136223846793005ull + 1442695040888963407ull;
        n = 1 + (size_t)((s->short_reads >> 33) % n);
    }
    tb_stream_bytes(s, s->pos, buf, n);
    s->pos += n;
    return (long)n;
}

int tb_stream_compare(void *arg, const void *p, size_t n)
{
    tb_stream *s = arg;
    uint8_t buf[1 << 16];
    const uint8_t *q = p;
    if (n > s->size - s->pos)
        return -1;
    while (n) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        tb_stream_bytes(s, s->pos, buf, k);
        if (memcmp(buf, q, k) != 0)
            return -1;
        s->pos += k, q += k, n -= k;
    }
    return 0;
}
