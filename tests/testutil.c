/*
 * testutil.c — scratch directories, the PRNG and common assertions of the
 * engine-level suites. See testutil.h. Linked into the one Criterion binary;
 * nothing here is a test.
 */
#include "tests/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- Scratch directory ---------------------------------------------------- */

static char scratch_dir[512];
static char **paths;
static size_t path_count;

void tu_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(scratch_dir, sizeof scratch_dir, "%s/ffdb-test-XXXXXX", tmp);
    cr_assert(mkdtemp(scratch_dir) != NULL, "mkdtemp(%s): %s", scratch_dir, strerror(errno));
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void tu_teardown(void)
{
    if (scratch_dir[0])
        nftw(scratch_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    scratch_dir[0] = 0;
    for (size_t i = 0; i < path_count; i++)
        free(paths[i]);
    free(paths);
    paths = NULL;
    path_count = 0;
}

const char *tu_dir(void)
{
    cr_assert(scratch_dir[0], "tu_setup() was not called (suite .init)");
    return scratch_dir;
}

const char *tu_path(const char *name)
{
    size_t len = strlen(tu_dir()) + strlen(name) + 2;
    char *p = malloc(len);
    char **np = realloc(paths, (path_count + 1) * sizeof *paths);
    cr_assert(p && np, "out of memory");
    snprintf(p, len, "%s/%s", scratch_dir, name);
    paths = np;
    paths[path_count++] = p;
    return p;
}

/* ---- PRNG --------------------------------------------------------------------- */

static uint64_t last_seed;

uint64_t tu_seed(const char *what)
{
    const char *env = getenv("FFDB_TEST_SEED");
    uint64_t seed;
    if (env && *env) {
        seed = strtoull(env, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^
               ((uint64_t)getpid() << 32);
        seed &= 0xFFFFFFFFFFFFull; /* short enough to type back */
    }
    last_seed = seed;
    fprintf(stderr, "%s: seed %llu (FFDB_TEST_SEED=%llu repeats it)\n", what,
            (unsigned long long)seed, (unsigned long long)seed);
    return seed;
}

uint64_t tu_last_seed(void)
{
    return last_seed;
}

void tu_rng_init(tu_rng *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t tu_below(tu_rng *r, uint64_t n)
{
    return n ? tu_next(r) % n : 0;
}

uint64_t tu_range(tu_rng *r, uint64_t lo, uint64_t hi)
{
    return lo + tu_below(r, hi - lo + 1);
}

int tu_chance(tu_rng *r, unsigned permille)
{
    return tu_below(r, 1000) < permille;
}

void tu_fill(tu_rng *r, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len >= 8) {
        uint64_t x = tu_next(r);
        memcpy(p, &x, 8);
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t x = tu_next(r);
        memcpy(p, &x, len);
    }
}

/* Word i of the pattern: a cheap mix of (seed, i). */
static inline uint64_t pattern_word(uint64_t seed, uint64_t i)
{
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + i * 0xD1B54A32D192ED03ull + 1;
    z ^= z >> 29;
    z *= 0xBF58476D1CE4E5B9ull;
    return z ^ (z >> 32);
}

void tu_pattern(void *buf, size_t len, uint64_t seed)
{
    unsigned char *p = buf;
    uint64_t i = 0;
    for (; len >= 8; len -= 8, p += 8, i++) {
        uint64_t w = pattern_word(seed, i);
        memcpy(p, &w, 8);
    }
    if (len) {
        uint64_t w = pattern_word(seed, i);
        memcpy(p, &w, len);
    }
}

int tu_pattern_ok(const void *buf, size_t len, uint64_t seed)
{
    const unsigned char *p = buf;
    uint64_t i = 0;
    for (; len >= 8; len -= 8, p += 8, i++) {
        uint64_t w = pattern_word(seed, i);
        if (memcmp(p, &w, 8) != 0)
            return 0;
    }
    if (len) {
        uint64_t w = pattern_word(seed, i);
        if (memcmp(p, &w, len) != 0)
            return 0;
    }
    return 1;
}

uint64_t tu_hash(const void *buf, size_t len, uint64_t h)
{
    const unsigned char *p = buf;
    h ^= 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    /* fold the length in so ("a","") and ("","a") differ when chained */
    h ^= (uint64_t)len * 0x9E3779B97F4A7C15ull;
    return h;
}

/* ---- Database helpers ----------------------------------------------------------- */

static ffdb *open_with(const char *path, const ffdb_options *opt)
{
    ffdb *db = NULL;
    TU_OK(ffdb_open(path, opt, &db));
    cr_assert(db != NULL, "ffdb_open returned 0 but no handle");
    return db;
}

ffdb *tu_open(const char *path, size_t buffer_pages, unsigned page_size, unsigned flags)
{
    ffdb_options opt = {0};
    opt.buffer_pages = buffer_pages;
    opt.page_size = page_size;
    opt.flags = flags;
    return open_with(path, &opt);
}

ffdb *tu_open_io(const char *path, const ffdb_io *io, size_t buffer_pages, unsigned flags)
{
    ffdb_options opt = {0};
    opt.io = io;
    opt.buffer_pages = buffer_pages;
    opt.flags = flags;
    return open_with(path, &opt);
}

static void report_problem(void *arg, uint64_t pgno, const char *problem)
{
    (void)arg;
    fprintf(stderr, "ffdb_check: page %llu: %s\n", (unsigned long long)pgno,
            problem ? problem : "(null)");
}

void tu_check_clean(ffdb *db, ffdb_check_result *out)
{
    ffdb_check_result res;
    int rc;
    memset(&res, 0, sizeof res);
    rc = ffdb_check(db, report_problem, NULL, &res);
    cr_assert(rc == 0, TU_SEED_FMT "ffdb_check returned %d (%s), %llu problems", TU_SEED_ARG,
              rc, ffdb_strerror(rc), (unsigned long long)res.problems);
    cr_assert(res.problems == 0, TU_SEED_FMT "ffdb_check: %llu problems", TU_SEED_ARG,
              (unsigned long long)res.problems);
    cr_assert(res.reachable_pages + res.free_pages == res.page_count,
              TU_SEED_FMT "ffdb_check: reachable %llu + free %llu != page_count %llu", TU_SEED_ARG,
              (unsigned long long)res.reachable_pages, (unsigned long long)res.free_pages,
              (unsigned long long)res.page_count);
    cr_assert(res.reachable_pages >= 2, "ffdb_check: the metas are not counted as reachable");
    if (out)
        *out = res;
}

ffdb_stat tu_stat(ffdb *db)
{
    ffdb_stat st;
    memset(&st, 0, sizeof st);
    TU_OK(ffdb_stat_db(db, &st));
    return st;
}

int tu_bstat(ffdb_bucket *b, ffdb_bucket_stat *st)
{
    if (st)
        memset(st, 0, sizeof *st);
    return ffdb_stat_bucket(b, st);
}

void tu_be64(void *out, uint64_t i)
{
    unsigned char *p = out;
    for (int b = 7; b >= 0; b--) {
        p[b] = (unsigned char)i;
        i >>= 8;
    }
}

/* ---- File helpers ------------------------------------------------------------------ */

unsigned char *tu_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    unsigned char *buf;
    size_t done = 0;
    *len = 0;
    if (fd < 0)
        return NULL;
    cr_assert(fstat(fd, &st) == 0, "fstat(%s): %s", path, strerror(errno));
    buf = malloc((size_t)st.st_size + 1);
    cr_assert(buf != NULL, "out of memory reading %s", path);
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
        cr_assert(n > 0, "read(%s): %s", path, strerror(errno));
        done += (size_t)n;
    }
    close(fd);
    *len = done;
    return buf;
}

void tu_write_file(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t done = 0;
    cr_assert(fd >= 0, "open(%s): %s", path, strerror(errno));
    while (done < len) {
        ssize_t n = write(fd, (const char *)buf + done, len - done);
        cr_assert(n > 0, "write(%s): %s", path, strerror(errno));
        done += (size_t)n;
    }
    close(fd);
}

void tu_patch_file(const char *path, uint64_t offset, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY);
    size_t done = 0;
    cr_assert(fd >= 0, "open(%s): %s", path, strerror(errno));
    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(offset + done));
        cr_assert(n > 0, "pwrite(%s): %s", path, strerror(errno));
        done += (size_t)n;
    }
    close(fd);
}

int64_t tu_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (int64_t)st.st_size;
}

int tu_exists(const char *path)
{
    return access(path, F_OK) == 0;
}
