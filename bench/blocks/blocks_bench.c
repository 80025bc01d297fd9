/*
 * blocks_bench.c — throughput of modules/blocks (issue 14), every figure
 * beside its baseline in one run:
 *
 *   add   MB/s of blocks_add (UnixFS import, stored, durable) vs sha2-256
 *         of the same bytes in one pass (crypto_hash_sha256, the call
 *         modules/ipld makes: the CPU limit of any importer);
 *   put   blocks/s into the store, one engine txn per block and one per
 *         batch, vs a flatfs-style store written by this file: one file per
 *         block under blocks/<2 chars>/<KEY>.data as kubo's flatfs lays it
 *         out by default (KEY = base32 upper of the multihash, shard
 *         next-to-last/2), each block written to a temporary file and
 *         renamed; with sync: the file fsync'd, then its directory (flatfs
 *         with sync on; its putMany syncs each file and each directory once
 *         per batch); without sync: neither. Both stores with and without
 *         fsync. Note the store rehashes every block on put (the CID check)
 *         while the flat store trusts its key;
 *   get   blocks/s reading every block back in a random order (the store
 *         without rehashing, verify=0, as the flat store);
 *   has   blocks/s for present blocks and for absent ones (the bloom filter
 *         answers those; the flat store stats a missing file).
 *
 *   build/bench/blocks_bench [--dir D] [--add-mb N] [--blocks N]
 *                            [--sync-blocks N] [--block-size B] [--batch K]
 * D (default $TMPDIR or /tmp) must be a real disk for the fsync figures.
 * Prints one line per measurement, then the ratios.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/benchutil.h"
#include "modules/blocks/blocks.h"

static void die(const char *what, int rc)
{
    fprintf(stderr, "blocks_bench: %s: %s\n", what, rc < 0 ? blocks_strerror(rc) : strerror(rc));
    exit(1);
}

static void report(const char *what, double n, const char *unit, double secs)
{
    printf("%-34s %10.0f %-6s %8.3f s %12.1f %s/s\n", what, n, unit, secs, n / secs, unit);
}

/* xorshift: incompressible, reproducible bytes. */
static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* ---- the flatfs-style baseline ----------------------------------------------------------- */

typedef struct flat {
    char root[4096];
    int sync;
} flat;

/* blocks/<next-to-last 2 chars>/<KEY>.data, KEY the base32 upper of the multihash. */
static void flat_paths(const flat *f, const ipld_cid *cid, char *dir, size_t dcap, char *file,
                       size_t fcap)
{
    uint8_t mh[IPLD_CID_BIN_MAX];
    char key[IPLD_CID_STR_MAX];
    size_t n = 0, klen;
    mh[n++] = (uint8_t)cid->mh_code; /* sha2-256 (0x12) and 32 fit one varint byte each */
    mh[n++] = (uint8_t)cid->digest_len;
    memcpy(mh + n, cid->digest, cid->digest_len);
    n += cid->digest_len;
    if (ipld_base_encode(IPLD_BASE32, 0, mh, n, key, sizeof key, &klen) != 0 || klen < 3)
        die("flat key", EINVAL);
    for (size_t i = 0; i < klen; i++)
        if (key[i] >= 'a' && key[i] <= 'z')
            key[i] = (char)(key[i] - 'a' + 'A');
    snprintf(dir, dcap, "%s/blocks/%.2s", f->root, key + klen - 3);
    snprintf(file, fcap, "%s/%s.data", dir, key);
}

static void fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        die(path, errno);
    close(fd);
}

/* The temporary file, written (and fsync'd with sync); renamed by the caller. */
static void flat_write_tmp(const flat *f, const char *dir, const void *data, size_t len, char *tmp,
                           size_t cap)
{
    static unsigned long seq;
    snprintf(tmp, cap, "%s/put-%lu.tmp", dir, seq++);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            die(dir, errno);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    if (fd < 0 || write(fd, data, len) != (ssize_t)len || (f->sync && fsync(fd) != 0))
        die(tmp, errno);
    close(fd);
}

static void flat_store(const flat *f, const ipld_cid *cid, const void *data, size_t len)
{
    char dir[4200], file[4400], tmp[4300];
    flat_paths(f, cid, dir, sizeof dir, file, sizeof file);
    flat_write_tmp(f, dir, data, len, tmp, sizeof tmp);
    if (rename(tmp, file) != 0)
        die(file, errno);
    if (f->sync)
        fsync_path(dir);
}

/* putMany: every file written and synced, renamed, then each directory synced once. */
static void flat_store_many(const flat *f, const ipld_cid *cids, uint8_t *const *data, size_t len,
                            size_t n)
{
    char dir[4200], file[4400], (*tmp)[4300] = malloc(n * sizeof *tmp);
    uint8_t touched[1024] = {0};
    if (!tmp)
        die("malloc", ENOMEM);
    for (size_t i = 0; i < n; i++) {
        flat_paths(f, &cids[i], dir, sizeof dir, file, sizeof file);
        flat_write_tmp(f, dir, data[i], len, tmp[i], sizeof tmp[i]);
    }
    for (size_t i = 0; i < n; i++) {
        flat_paths(f, &cids[i], dir, sizeof dir, file, sizeof file);
        if (rename(tmp[i], file) != 0)
            die(file, errno);
        size_t dl = strlen(dir);
        unsigned shard = (unsigned)(((dir[dl - 2] & 31) << 5) | (dir[dl - 1] & 31));
        if (f->sync && !touched[shard]) {
            touched[shard] = 1;
            fsync_path(dir);
        }
    }
    free(tmp);
}

static int flat_get(const flat *f, const ipld_cid *cid, uint8_t *buf, size_t cap)
{
    char dir[4200], file[4400];
    flat_paths(f, cid, dir, sizeof dir, file, sizeof file);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t r = read(fd, buf, cap);
    close(fd);
    return (int)r;
}

static int flat_has(const flat *f, const ipld_cid *cid)
{
    char dir[4200], file[4400];
    struct stat st;
    flat_paths(f, cid, dir, sizeof dir, file, sizeof file);
    return stat(file, &st) == 0;
}

/* ---- the runs ------------------------------------------------------------------------------ */

typedef struct set {
    size_t n, size;
    uint8_t **data;
    ipld_cid *cid, *absent;
    size_t *order; /* a random permutation for the reads */
} set;

static void set_make(set *s, size_t n, size_t size, uint64_t seed)
{
    s->n = n, s->size = size;
    s->data = calloc(n, sizeof *s->data);
    s->cid = calloc(n, sizeof *s->cid);
    s->absent = calloc(n, sizeof *s->absent);
    s->order = calloc(n, sizeof *s->order);
    if (!s->data || !s->cid || !s->absent || !s->order)
        die("malloc", ENOMEM);
    for (size_t i = 0; i < n; i++) {
        uint8_t other[16];
        if (!(s->data[i] = malloc(size)))
            die("malloc", ENOMEM);
        fill(s->data[i], size, seed + i);
        CK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, s->data[i], size, &s->cid[i]));
        fill(other, sizeof other, ~(seed + i));
        CK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, other, sizeof other, &s->absent[i]));
        s->order[i] = i;
    }
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)randombytes_uniform((uint32_t)i), t = s->order[i - 1];
        s->order[i - 1] = s->order[j], s->order[j] = t;
    }
}

static void set_free(set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->data[i]);
    free(s->data), free(s->cid), free(s->absent), free(s->order);
}

static void rm_rf(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        die("rm -rf", EIO);
}

static blocks *store_open(const char *dir, const char *name, unsigned flags)
{
    char path[4200];
    blocks *bs;
    blocks_options o = {.ffdb_flags = flags};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    snprintf(path + strlen(path), sizeof path - strlen(path), ".cold");
    unlink(path);
    path[strlen(path) - 5] = 0;
    CK(blocks_open(path, &o, &bs));
    return bs;
}

/* blocks/s of one put run into the store. */
static double put_store(const char *dir, const set *s, unsigned flags, size_t batch,
                        const char *label)
{
    blocks *bs = store_open(dir, "bench.ffdb", flags);
    double t = now_s();
    if (batch <= 1) {
        for (size_t i = 0; i < s->n; i++)
            CK(blocks_put(bs, &s->cid[i], s->data[i], s->size));
    } else {
        for (size_t i = 0; i < s->n;) {
            blocks_batch *b;
            CK(blocks_batch_begin(bs, &b));
            for (size_t k = 0; k < batch && i < s->n; k++, i++)
                CK(blocks_batch_put(b, &s->cid[i], s->data[i], s->size));
            CK(blocks_batch_commit(b));
        }
    }
    t = now_s() - t;
    report(label, (double)s->n, "blocks", t);
    CK(blocks_close(bs));
    return (double)s->n / t;
}

static double put_flat(const char *dir, const set *s, int sync, size_t batch, const char *label)
{
    flat f = {.sync = sync};
    snprintf(f.root, sizeof f.root, "%s/flatfs", dir);
    rm_rf(f.root);
    if (mkdir(f.root, 0755) != 0 && errno != EEXIST)
        die(f.root, errno);
    snprintf(f.root + strlen(f.root), sizeof f.root - strlen(f.root), "/blocks");
    if (mkdir(f.root, 0755) != 0 && errno != EEXIST)
        die(f.root, errno);
    f.root[strlen(f.root) - 7] = 0;
    double t = now_s();
    if (batch <= 1) {
        for (size_t i = 0; i < s->n; i++)
            flat_store(&f, &s->cid[i], s->data[i], s->size);
    } else {
        for (size_t i = 0; i < s->n; i += batch) {
            size_t k = s->n - i < batch ? s->n - i : batch;
            flat_store_many(&f, s->cid + i, s->data + i, s->size, k);
        }
    }
    t = now_s() - t;
    report(label, (double)s->n, "blocks", t);
    return (double)s->n / t;
}

typedef struct reads {
    double get[2], has, has_absent; /* get: after open, warm */
} reads;

static reads read_store(const char *dir, const set *s)
{
    char path[4200];
    blocks *bs;
    blocks_stat st;
    reads r;
    snprintf(path, sizeof path, "%s/bench.ffdb", dir);
    CK(blocks_open(path, NULL, &bs));
    /* Pass 0 right after open reads the file (O_DIRECT: the engine's pool
     * is the only cache); pass 1 finds the blocks in the pool. */
    for (int pass = 0; pass < 2; pass++) {
        double t = now_s();
        for (size_t i = 0; i < s->n; i++) {
            void *p;
            size_t len;
            CK(blocks_get(bs, &s->cid[s->order[i]], 0, &p, &len));
            if (len != s->size)
                die("get: size", EIO);
            free(p);
        }
        t = now_s() - t;
        report(pass ? "get   store (warm pool)" : "get   store (after open, disk)", (double)s->n,
               "blocks", t);
        r.get[pass] = (double)s->n / t;
    }
    double t;
    t = now_s();
    for (size_t i = 0; i < s->n; i++)
        if (blocks_has(bs, &s->cid[s->order[i]]) != 1)
            die("has", EIO);
    t = now_s() - t;
    report("has   store (present)", (double)s->n, "blocks", t);
    r.has = (double)s->n / t;
    CK(blocks_stat_get(bs, &st));
    uint64_t fp0 = st.bloom_false_positives, q0 = st.bloom_queries;
    t = now_s();
    for (size_t i = 0; i < s->n; i++)
        if (blocks_has(bs, &s->absent[i]) != 0)
            die("has absent", EIO);
    t = now_s() - t;
    report("has   store (absent, bloom)", (double)s->n, "blocks", t);
    r.has_absent = (double)s->n / t;
    CK(blocks_stat_get(bs, &st));
    printf("      bloom: %llu bits, %llu absent queries, %llu false positives\n",
           (unsigned long long)st.bloom_bits, (unsigned long long)(st.bloom_queries - q0),
           (unsigned long long)(st.bloom_false_positives - fp0));
    CK(blocks_close(bs));
    return r;
}

static reads read_flat(const char *dir, const set *s)
{
    flat f = {0};
    uint8_t *buf = malloc(s->size + 1);
    reads r;
    snprintf(f.root, sizeof f.root, "%s/flatfs", dir);
    if (!buf)
        die("malloc", ENOMEM);
    /* The files were just written: both passes read the page cache. */
    for (int pass = 0; pass < 2; pass++) {
        double t = now_s();
        for (size_t i = 0; i < s->n; i++)
            if (flat_get(&f, &s->cid[s->order[i]], buf, s->size + 1) != (int)s->size)
                die("flat get", EIO);
        t = now_s() - t;
        report(pass ? "get   flatfs (page cache, again)" : "get   flatfs (page cache)",
               (double)s->n, "blocks", t);
        r.get[pass] = (double)s->n / t;
    }
    double t;
    t = now_s();
    for (size_t i = 0; i < s->n; i++)
        if (!flat_has(&f, &s->cid[s->order[i]]))
            die("flat has", EIO);
    t = now_s() - t;
    report("has   flatfs (present)", (double)s->n, "blocks", t);
    r.has = (double)s->n / t;
    t = now_s();
    for (size_t i = 0; i < s->n; i++)
        if (flat_has(&f, &s->absent[i]))
            die("flat has absent", EIO);
    t = now_s() - t;
    report("has   flatfs (absent)", (double)s->n, "blocks", t);
    r.has_absent = (double)s->n / t;
    free(buf);
    return r;
}

typedef struct src {
    const uint8_t *p;
    size_t left;
} src;

static long src_read(void *arg, void *buf, size_t len)
{
    src *s = arg;
    size_t n = len < s->left ? len : s->left;
    memcpy(buf, s->p, n);
    s->p += n, s->left -= n;
    return (long)n;
}

static unsigned long arg_ul(const char *s, const char *name)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v == 0) {
        fprintf(stderr, "blocks_bench: %s takes a positive integer\n", name);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    char dir[2048];
    unsigned long add_mb = 256, nblocks = 20000, nsync = 1000, bsize = 16384, batch = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "usage: blocks_bench [--dir D] [--add-mb N] [--blocks N] "
                            "[--sync-blocks N] [--block-size B] [--batch K]\n");
            return 2;
        }
        i++;
        if (strcmp(a, "--dir") == 0)
            tmp = v;
        else if (strcmp(a, "--add-mb") == 0)
            add_mb = arg_ul(v, a);
        else if (strcmp(a, "--blocks") == 0)
            nblocks = arg_ul(v, a);
        else if (strcmp(a, "--sync-blocks") == 0)
            nsync = arg_ul(v, a);
        else if (strcmp(a, "--block-size") == 0)
            bsize = arg_ul(v, a);
        else if (strcmp(a, "--batch") == 0)
            batch = arg_ul(v, a);
        else {
            fprintf(stderr, "blocks_bench: unknown option %s\n", a);
            return 2;
        }
    }
    if (sodium_init() < 0)
        die("sodium_init", EIO);
    snprintf(dir, sizeof dir, "%s/blocks-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        die(dir, errno);
    printf("blocks_bench in %s: add %lu MiB; %lu blocks of %lu bytes (%lu with fsync), "
           "batches of %lu\n",
           dir, add_mb, nblocks, bsize, nsync, batch);

    /* add vs hashing alone */
    size_t add_len = (size_t)add_mb << 20;
    uint8_t *file = malloc(add_len), digest[32];
    if (!file)
        die("malloc", ENOMEM);
    fill(file, add_len, 42);
    double t = now_s();
    crypto_hash_sha256(digest, file, add_len);
    double hash_s = now_s() - t;
    report("sha256 one pass", (double)add_mb, "MiB", hash_s);
    blocks *bs = store_open(dir, "add.ffdb", 0);
    blocks_add_options ao = {.raw_leaves = -1, .pin = 1};
    ipld_cid root;
    uint64_t size;
    src in = {file, add_len};
    t = now_s();
    CK(blocks_add(bs, src_read, &in, &ao, &root, &size));
    CK(blocks_close(bs)); /* durable: add's batches commit with fsync */
    double add_s = now_s() - t;
    report("add   (UnixFS, CIDv0, stored)", (double)add_mb, "MiB", add_s);
    free(file);

    /* put/get/has */
    set big, small;
    set_make(&big, nblocks, bsize, 1);
    set_make(&small, nsync, bsize, 1u << 30);
    double ps_sync1 = put_store(dir, &small, 0, 1, "put   store fsync, txn/block");
    double pf_sync1 = put_flat(dir, &small, 1, 1, "put   flatfs fsync, file/block");
    double ps_syncb = put_store(dir, &small, 0, batch, "put   store fsync, txn/batch");
    double pf_syncb = put_flat(dir, &small, 1, batch, "put   flatfs fsync, putMany");
    double ps_nos1 = put_store(dir, &big, FFDB_NOSYNC, 1, "put   store nosync, txn/block");
    double ps_nosb = put_store(dir, &big, FFDB_NOSYNC, batch, "put   store nosync, txn/batch");
    double pf_nos = put_flat(dir, &big, 0, 1, "put   flatfs nosync");
    reads rs = read_store(dir, &big), rf = read_flat(dir, &big);

    printf("\nratios (store / baseline)\n");
    printf("add / sha256 one pass                  %6.2f  (%.1f vs %.1f MiB/s)\n",
           hash_s / add_s, (double)add_mb / add_s, (double)add_mb / hash_s);
    printf("put fsync txn/block / flatfs fsync     %6.2f\n", ps_sync1 / pf_sync1);
    printf("put fsync txn/batch / flatfs putMany   %6.2f\n", ps_syncb / pf_syncb);
    printf("put fsync txn/batch / txn/block        %6.2f\n", ps_syncb / ps_sync1);
    printf("put nosync txn/block / flatfs nosync   %6.2f\n", ps_nos1 / pf_nos);
    printf("put nosync txn/batch / flatfs nosync   %6.2f\n", ps_nosb / pf_nos);
    printf("put nosync txn/batch / txn/block       %6.2f\n", ps_nosb / ps_nos1);
    printf("get after open / flatfs get            %6.2f\n", rs.get[0] / rf.get[0]);
    printf("get warm pool / flatfs get             %6.2f\n", rs.get[1] / rf.get[1]);
    printf("has present / flatfs                   %6.2f\n", rs.has / rf.has);
    printf("has absent (bloom) / flatfs            %6.2f\n", rs.has_absent / rf.has_absent);
    printf("has absent / has present (store)       %6.2f\n", rs.has_absent / rs.has);
    set_free(&big);
    set_free(&small);
    rm_rf(dir);
    return 0;
}
