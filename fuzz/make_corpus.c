/*
 * make_corpus.c — writes the seed corpora of the two fuzz harnesses.
 *
 *   make_corpus DIR      writes the files under DIR/ops and DIR/file (make fuzz-corpus)
 *
 * ops seeds are short op programs in the encoding of fuzz/ops.c (its op
 * numbers are used by including it); each is run through the harness before
 * it is written, so a seed that diverges fails here. file seeds are small
 * real databases (4096-byte pages, a few pages each, one of 8192) built
 * through the public API on an io_mem disk and cut to their page count; some
 * get a one-byte control trailer (see fuzz/file.c) asking for re-sealed pages
 * or a read-only open.
 */
#define FUZZ_NO_MAIN
#define FUZZ_ONE ops_one
#include "fuzz/ops.c"

#include <errno.h>
#include <sys/stat.h>

static const char *out_dir;

static void write_seed(const char *sub, const char *name, const void *buf, size_t len)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", out_dir, sub);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, sub, name);
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    printf("%s: %zu bytes\n", path, len);
}

/* ---- ops seeds ------------------------------------------------------------------ */

#define SEED(name, ...)                                                                     \
    do {                                                                                    \
        static const uint8_t prog_[] = {__VA_ARGS__};                                       \
        ops_one(prog_, sizeof prog_);                                                       \
        write_seed("ops", name, prog_, sizeof prog_);                                       \
    } while (0)

/* short keys are bytes < 0xC0; 0xC3 'a' 'b' 'c' is the literal key "abc" */
static void ops_seeds(void)
{
    SEED("basic", 0x00, OP_BCREATE, 0, OP_PUT, 0, 0x21, 10, OP_PUT, 0, 0x45, 0x30,
         OP_INSERT, 0, 0x21, 5, OP_UPDATE, 0, 0x66, 7, OP_GET, 0, 0x21, OP_DELETE, 0, 0x45,
         OP_COMMIT, OP_CFIRST, 0, OP_CNEXT, 0, 3, OP_CLAST, 0, OP_CPREV, 0, 2, OP_CHECK);
    SEED("batch_reopen", 0x00, OP_BCREATE, 0, OP_BATCH, 0, 40, 1, 0x48, OP_COMMIT,
         OP_BATCH, 0, 30, 2, 0x90, OP_RANGE_DELETE, 0, 0x00, 100, OP_COMMIT, OP_REOPEN,
         OP_CSEEK, 0, 0xC2, 0x40, 0x00, OP_CNEXT, 0, 8, OP_VERIFY, 0, OP_CHECK);
    SEED("bulk", 0x04, OP_BCREATE, 1, OP_BULK, 1, 200, 0x1b, 3, OP_VERIFY, 1, OP_COMMIT,
         OP_BCREATE, 2, OP_BULK, 2, 50, 0x43, 1, OP_COMMIT, OP_CHECK, OP_BULK, 1, 10, 0, 1);
    SEED("overflow_reader", 0x00, OP_BCREATE, 3, OP_PUT, 3, 0x20, 0xE2, 5, OP_PUT, 3, 0x40,
         0xB8, 9, OP_COMMIT, OP_LONG_READER, 0, OP_DELETE, 3, 0x20, OP_PUT, 3, 0x40, 0xE0, 1,
         OP_COMMIT, OP_LONG_READER, 3, OP_LONG_READER, 0, OP_CHECK);
    SEED("crash", 0x00, OP_BCREATE, 0, OP_BATCH, 0, 20, 3, 0x41, OP_COMMIT, OP_BATCH, 0, 60,
         4, 0x42, OP_CRASH, 2, 9, OP_BATCH, 0, 5, 5, 5, OP_COMMIT, OP_CRASH, 1, 1);
    SEED("readonly_drop", 0x08, OP_BCREATE, 0, OP_BCREATE, 1, OP_PUT, 1, 0x30, 1, OP_COMMIT,
         OP_BEGIN_READ, OP_PUT, 1, 0x30, 2, OP_GET, 1, 0x30, OP_BDROP, 0, OP_BLIST,
         OP_CFIRST, 1, OP_ABORT, OP_BDROP, 0, OP_BLIST, OP_COMMIT, OP_STAT);
    SEED("oom", 0x00, OP_BCREATE, 0, OP_BATCH, 0, 20, 6, 0x44, OP_COMMIT, OP_OOM_PUT, 0, 0x31,
         0xE1, 0, 3, OP_PUT, 0, 0x32, 9, OP_OOM_PUT, 0, 0x33, 0x20, 40, OP_OOM_COMMIT, 5,
         OP_BATCH, 0, 10, 7, 0x45, OP_OOM_COMMIT, 60, OP_BEGIN_READ, OP_OOM_READ, 0, 2,
         OP_OOM_READ, 0, 30, OP_CHECK);
    SEED("readonly_reopen", 0x00, OP_BCREATE, 0, OP_PUT, 0, 0x21, 10, OP_COMMIT, OP_REOPEN_RO,
         OP_PUT, 0, 0x22, 3, OP_GET, 0, 0x21, OP_CFIRST, 0, OP_BCREATE, 1, OP_LONG_READER, 0,
         OP_CHECK, OP_COMMIT, OP_REOPEN, OP_PUT, 0, 0x22, 4, OP_COMMIT);
    SEED("deep_tree", 0x00, OP_BCREATE, 0, OP_BATCH, 0, 0xBF, 1, 0x00, OP_BATCH, 0, 0xBF, 2,
         0x00, OP_COMMIT, OP_VERIFY, 0, OP_RANGE_DELETE, 0, 0x00, 127, OP_RANGE_DELETE, 0,
         0xC1, 0x80, 127, OP_RANGE_DELETE, 0, 0xC1, 0x40, 127, OP_COMMIT, OP_CHECK,
         OP_BCREATE, 1, OP_BULK, 1, 250, 0x83, 1, OP_COMMIT, OP_RANGE_DELETE, 1, 0x00, 120,
         OP_COMMIT);
    SEED("bigpage", 0x03, OP_BCREATE, 0, OP_BCREATE, 1, OP_BATCH, 1, 63, 9, 0xff,
         OP_PUT, 0, 0xFF, 0, 0x10, OP_PUT, 0, 0xFF, 1, 0x10, OP_PUT, 0, 0xF3, 4, 0xA9, 3,
         OP_COMMIT, OP_CLAST, 1, OP_CPREV, 1, 7, OP_CCLOSE, 1, OP_VERIFY, 1);
}

/* ---- file seeds ----------------------------------------------------------------- */

static void build_file(const char *name, unsigned page_size, int shape, int ctrl,
                       const uint8_t *patches, size_t patch_len)
{
    struct io_mem *m = io_mem_create();
    ffdb_options opt;
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_stat st;
    char key[64], val[9000];

    memset(&opt, 0, sizeof opt);
    opt.io = io_mem_io(m);
    opt.page_size = page_size;
    if (!m || ffdb_open("seed.ffdb", &opt, &db) != 0)
        abort();
    memset(val, 'v', sizeof val);
#define OK(x)                                                                               \
    do {                                                                                    \
        if ((x) != 0) {                                                                     \
            fprintf(stderr, "%s failed\n", #x);                                             \
            abort();                                                                        \
        }                                                                                   \
    } while (0)
    if (shape > 0) {
        OK(ffdb_begin_write(db, &txn));
        OK(ffdb_bucket_create(txn, "users", 5, &b));
        unsigned n = shape == 1 ? 20 : shape == 2 ? 300 : 40;
        for (unsigned i = 0; i < n; i++) {
            int kl = snprintf(key, sizeof key, "user:%05u", i * 7);
            OK(ffdb_put(b, key, (size_t)kl, val, 10 + i % 30));
        }
        if (shape == 3)
            OK(ffdb_put(b, "big", 3, val, sizeof val));
        if (shape == 2) {
            OK(ffdb_bucket_create(txn, "idx", 3, &b));
            for (unsigned i = 0; i < 60; i++) {
                int kl = snprintf(key, sizeof key, "%c%03u", 'a' + i % 26, i);
                OK(ffdb_put(b, key, (size_t)kl, "", 0));
            }
        }
        if (shape == 4) {
            char nm[16];
            for (int i = 0; i < 6; i++) {
                snprintf(nm, sizeof nm, "b%d", i);
                OK(ffdb_bucket_create(txn, nm, 2, &b));
                OK(ffdb_put(b, "k", 1, nm, 2));
            }
        }
        if (shape == 5) {
            ffdb_bulk *bk;
            OK(ffdb_bucket_create(txn, "bulk", 4, &b));
            OK(ffdb_bulk_begin(b, 0.5, &bk));
            for (unsigned i = 0; i < 150; i++) {
                int kl = snprintf(key, sizeof key, "b%04u", i);
                OK(ffdb_bulk_append(bk, key, (size_t)kl, val, i % 20));
            }
            OK(ffdb_bulk_finish(bk));
        }
        OK(ffdb_commit(txn));
        /* a second commit frees pages: a freelist with entries */
        OK(ffdb_begin_write(db, &txn));
        OK(ffdb_bucket_open(txn, "users", 5, &b));
        for (unsigned i = 0; i < n; i += 3) {
            int kl = snprintf(key, sizeof key, "user:%05u", i * 7);
            OK(ffdb_delete(b, key, (size_t)kl));
        }
        if (shape == 4)
            OK(ffdb_bucket_drop(txn, "b3", 2));
        OK(ffdb_commit(txn));
    }
#undef OK
    if (ffdb_stat_db(db, &st) != 0)
        abort();
    ffdb_close(db);
    size_t len = (size_t)(st.page_count * st.page_size);
    uint8_t *img = calloc(1, len + 1 + patch_len);
    if (!img || io_mem_durable_read(m, 0, img, len) != len)
        abort();
    if (ctrl >= 0) {
        img[len++] = (uint8_t)ctrl;
        if (patch_len)
            memcpy(img + len, patches, patch_len);
        len += patch_len;
    }
    write_seed("file", name, img, len);
    free(img);
    io_mem_destroy(m);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR   (writes DIR/ops and DIR/file)\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0777);
    ops_seeds();
    /* patches: {page, where, a, b} (fuzz/file.c) */
    static const uint8_t child_to_self[] = {5, 0xA1, 5, 0x40, 5, 0xA2, 0, 0x40};
    static const uint8_t bad_count[] = {3, 26, 0, 0x80, 7, 0xA0, 2, 0x80};
    build_file("empty", 4096, 0, -1, NULL, 0);
    build_file("small", 4096, 1, -1, NULL, 0);
    build_file("small_resealed", 4096, 1, 0x01, NULL, 0);
    build_file("two_buckets", 4096, 2, 0x11, NULL, 0);
    build_file("two_buckets_patched", 4096, 2, 0x01, child_to_self, sizeof child_to_self);
    build_file("overflow", 4096, 3, 0x21, NULL, 0);
    build_file("overflow_patched", 4096, 3, 0x01, bad_count, sizeof bad_count);
    build_file("six_buckets", 4096, 4, 0x00, NULL, 0);
    build_file("bulk_readonly", 4096, 5, 0x05, NULL, 0);
    build_file("page8k", 8192, 1, 0x31, NULL, 0);
    return 0;
}
