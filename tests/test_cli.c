/*
 * test_cli.c — the ffdb tool (tools/ffdb), run as a program.
 *
 * Each test builds a small file through the public API, runs the built
 * binary ($FFDB_TEST_TOOLS/ffdb) with fork/exec, and checks its exit status,
 * stdout and stderr: every command on a generated file, --json output parsed
 * back by the small JSON reader below, dump | load round trips of random
 * binary data across several buckets, compact (smaller, same contents,
 * clean), check on each kind of injected damage (flipped byte, broken
 * overflow run, page referenced twice, leaked page, bad metas, truncation)
 * naming the right page, every error path with its exit status, and that
 * read-only commands leave even a damaged file byte for byte unchanged.
 *
 * Damage is made by editing pages with the offsets of common/format.h and
 * re-sealing them with page_seal() from common/checksum.h, so the checksum
 * holds and only the structure is wrong.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/checksum.h"
#include "common/format.h"
#include "tests/testutil.h"

TestSuite(cli, .init = tu_setup, .fini = tu_teardown, .timeout = 60);
TestSuite(cli_dump, .init = tu_setup, .fini = tu_teardown, .timeout = 60);
TestSuite(cli_damage, .init = tu_setup, .fini = tu_teardown, .timeout = 60);
TestSuite(cli_errors, .init = tu_setup, .fini = tu_teardown, .timeout = 60);

#define PS 4096u

/* ---- running the tool --------------------------------------------------------------- */

struct run {
    int status;      /* exit status, or 128 + signal */
    char *out, *err; /* NUL-terminated */
    size_t out_len, err_len;
};

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

/* Run ffdb with the NULL-terminated arguments, stdin from in (NULL:
 * /dev/null). */
static struct run vrun(const char *in, va_list ap)
{
    const char *dir = getenv("FFDB_TEST_TOOLS");
    const char *argv[32];
    char tool[512];
    const char *out_path = tu_path("stdout.txt"), *err_path = tu_path("stderr.txt");
    struct run r;
    int argc = 1, wstatus;
    pid_t pid;

    cr_assert(dir && *dir, "FFDB_TEST_TOOLS is not set (run through make test)");
    snprintf(tool, sizeof(tool), "%s/ffdb", dir);
    argv[0] = tool;
    while ((argv[argc] = va_arg(ap, const char *)) != NULL)
        cr_assert(++argc < 31);
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

static struct run run_in(const char *in, ...)
{
    va_list ap;
    struct run r;
    va_start(ap, in);
    r = vrun(in, ap);
    va_end(ap);
    return r;
}

#define RUN(...) run_in(NULL, __VA_ARGS__, (const char *)NULL)
#define RUN_IN(in, ...) run_in(in, __VA_ARGS__, (const char *)NULL)

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Exit status want, or fail showing what the tool said. */
static void expect_status(const struct run *r, int want, const char *what)
{
    cr_assert_eq(r->status, want, "%s: exit %d, expected %d\nstdout: %.2000s\nstderr: %.2000s",
                 what, r->status, want, r->out, r->err);
}

static void expect_out(const struct run *r, const char *needle, const char *what)
{
    cr_assert(strstr(r->out, needle), "%s: stdout lacks '%s':\n%.3000s", what, needle, r->out);
}

static void expect_err(const struct run *r, const char *needle, const char *what)
{
    cr_assert(strstr(r->err, needle), "%s: stderr lacks '%s':\n%.3000s", what, needle, r->err);
}

/* Run, expect status, free. */
static void run_expect(int want, const char *needle, const char *in, ...)
{
    va_list ap;
    struct run r;
    va_start(ap, in);
    r = vrun(in, ap);
    va_end(ap);
    expect_status(&r, want, needle ? needle : "run");
    if (needle)
        cr_assert(strstr(r.out, needle) || strstr(r.err, needle),
                  "output lacks '%s'\nstdout: %.2000s\nstderr: %.2000s", needle, r.out, r.err);
    run_free(&r);
}

/* ---- a tiny JSON reader --------------------------------------------------------------- */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
    int type;
    double num;   /* J_NUM, J_BOOL */
    char *str;    /* J_STR, NUL-terminated (no \u0000 in our output) */
    size_t count; /* J_ARR, J_OBJ */
    char **keys;  /* J_OBJ */
    struct jv *items;
};

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r')
        (*p)++;
}

static int parse_value(const char **p, struct jv *v);

static int parse_string(const char **p, char **out)
{
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    if (**p != '"')
        return free(s), -1;
    (*p)++;
    while (**p != '"') {
        unsigned c = (unsigned char)*(*p)++;
        if (c == 0 || c < 0x20)
            return free(s), -1;
        if (c == '\\') {
            c = (unsigned char)*(*p)++;
            if (c == 'n')
                c = '\n';
            else if (c == 't')
                c = '\t';
            else if (c == 'r')
                c = '\r';
            else if (c == 'u') {
                unsigned x;
                if (sscanf(*p, "%4x", &x) != 1 || x > 0xff)
                    return free(s), -1;
                *p += 4;
                c = x;
            } else if (c != '"' && c != '\\' && c != '/')
                return free(s), -1;
        }
        if (n + 2 > cap)
            s = realloc(s, cap *= 2);
        s[n++] = (char)c;
    }
    (*p)++;
    s[n] = '\0';
    *out = s;
    return 0;
}

static int parse_list(const char **p, struct jv *v, int obj)
{
    char close = obj ? '}' : ']';
    (*p)++;
    skip_ws(p);
    v->type = obj ? J_OBJ : J_ARR;
    if (**p == close) {
        (*p)++;
        return 0;
    }
    for (;;) {
        v->items = realloc(v->items, (v->count + 1) * sizeof(*v->items));
        v->keys = realloc(v->keys, (v->count + 1) * sizeof(*v->keys));
        v->keys[v->count] = NULL;
        memset(&v->items[v->count], 0, sizeof(*v->items));
        skip_ws(p);
        if (obj) {
            if (parse_string(p, &v->keys[v->count]) < 0)
                return -1;
            skip_ws(p);
            if (*(*p)++ != ':')
                return -1;
        }
        if (parse_value(p, &v->items[v->count++]) < 0)
            return -1;
        skip_ws(p);
        if (**p == ',') {
            (*p)++;
            continue;
        }
        if (*(*p)++ != close)
            return -1;
        return 0;
    }
}

static int parse_value(const char **p, struct jv *v)
{
    memset(v, 0, sizeof(*v));
    skip_ws(p);
    if (**p == '{' || **p == '[')
        return parse_list(p, v, **p == '{');
    if (**p == '"') {
        v->type = J_STR;
        return parse_string(p, &v->str);
    }
    if (strncmp(*p, "true", 4) == 0 || strncmp(*p, "false", 5) == 0) {
        v->type = J_BOOL;
        v->num = **p == 't';
        *p += v->num ? 4 : 5;
        return 0;
    }
    if (strncmp(*p, "null", 4) == 0) {
        *p += 4;
        return 0;
    }
    {
        char *end;
        v->num = strtod(*p, &end);
        if (end == *p)
            return -1;
        v->type = J_NUM;
        *p = end;
        return 0;
    }
}

static void jv_free(struct jv *v)
{
    for (size_t i = 0; i < v->count; i++) {
        jv_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

/* The whole of text must be one JSON value. */
static struct jv jparse(const char *text)
{
    struct jv v;
    const char *p = text;
    int rc = parse_value(&p, &v);
    skip_ws(&p);
    cr_assert(rc == 0 && *p == '\0', "not valid JSON at offset %ld:\n%.3000s", (long)(p - text),
              text);
    return v;
}

static const struct jv *jget(const struct jv *v, const char *key)
{
    cr_assert(v->type == J_OBJ, "not an object where '%s' was looked up", key);
    for (size_t i = 0; i < v->count; i++)
        if (strcmp(v->keys[i], key) == 0)
            return &v->items[i];
    cr_assert_fail("JSON object has no member '%s'", key);
    return NULL;
}

static double jnum(const struct jv *v, const char *key)
{
    const struct jv *m = jget(v, key);
    cr_assert(m->type == J_NUM || m->type == J_BOOL, "'%s' is not a number", key);
    return m->num;
}

static const char *jstr(const struct jv *v, const char *key)
{
    const struct jv *m = jget(v, key);
    cr_assert(m->type == J_STR, "'%s' is not a string", key);
    return m->str;
}

/* ---- test files ------------------------------------------------------------------------- */

static size_t key_of(char *k, unsigned i)
{
    return (size_t)snprintf(k, 16, "key%06u", i);
}

#define NKEYS 3000u
#define NBIG 4u
#define BIG_LEN(i) (9000u + 1000u * (i))

/* Bucket "b": NKEYS small entries (depth 2 at least); bucket "ov": NBIG
 * values in overflow runs; bucket "e": empty. Built with the bulk loader in
 * one transaction after creation, so every page with that txid is live. */
static void build(const char *path)
{
    ffdb *db = tu_open(path, 0, 0, FFDB_NOSYNC);
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_bulk *bulk;
    char k[16];
    unsigned char v[128];
    static unsigned char big[20000];

    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    TU_OK(ffdb_bulk_begin(b, 0.9, &bulk));
    for (unsigned i = 0; i < NKEYS; i++) {
        size_t len = 30 + i % 40;
        tu_pattern(v, len, i);
        TU_OK(ffdb_bulk_append(bulk, k, key_of(k, i), v, len));
    }
    TU_OK(ffdb_bulk_finish(bulk));
    TU_OK(ffdb_bucket_create(txn, "ov", 2, &b));
    TU_OK(ffdb_bulk_begin(b, 0, &bulk));
    for (unsigned i = 0; i < NBIG; i++) {
        tu_pattern(big, BIG_LEN(i), 1000 + i);
        TU_OK(ffdb_bulk_append(bulk, k, key_of(k, i), big, BIG_LEN(i)));
    }
    TU_OK(ffdb_bulk_finish(bulk));
    TU_OK(ffdb_bucket_create(txn, "e", 1, &b));
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);
}

/* Random binary data over many buckets: binary names, keys with every byte
 * value, empty keys and values, values in overflow runs, one of 1 MiB, and
 * MANY_BUCKETS more small buckets. Returns the entry count. */
#define MANY_BUCKETS 100u
#define HUGE_LEN (1u << 20)
static uint64_t build_random(const char *path, tu_rng *rng)
{
    ffdb *db = tu_open(path, 0, 0, FFDB_NOSYNC);
    ffdb_txn *txn;
    static const char *const names[] = {"alpha", "b\tt\\x", "\x01\xff\x80", "empty", "z"};
    static unsigned char key[300], val[12000];
    uint64_t total = 0;

    TU_OK(ffdb_begin_write(db, &txn));
    for (unsigned n = 0; n < 5; n++) {
        ffdb_bucket *b;
        unsigned count = n == 3 ? 0 : (unsigned)tu_range(rng, 50, 400);
        TU_OK(ffdb_bucket_create(txn, names[n], strlen(names[n]), &b));
        for (unsigned i = 0; i < count; i++) {
            size_t klen = i == 0 ? 0 : (size_t)tu_range(rng, 1, 40);
            size_t vlen = tu_chance(rng, 30)    ? (size_t)tu_range(rng, 5000, sizeof(val))
                          : tu_chance(rng, 100) ? 0
                                                : (size_t)tu_range(rng, 1, 200);
            tu_fill(rng, key, klen);
            tu_fill(rng, val, vlen);
            if (i == 1) /* every byte value once */
                for (klen = 0; klen < 256; klen++)
                    key[klen] = (unsigned char)klen;
            TU_OK(ffdb_put(b, key, klen, val, vlen));
        }
    }
    {
        ffdb_bucket *b;
        unsigned char *huge = malloc(HUGE_LEN);
        tu_fill(rng, huge, HUGE_LEN);
        TU_OK(ffdb_bucket_open(txn, "z", 1, &b));
        TU_OK(ffdb_put(b, "huge", 4, huge, HUGE_LEN));
        free(huge);
    }
    for (unsigned n = 0; n < MANY_BUCKETS; n++) {
        ffdb_bucket *b;
        char name[16];
        snprintf(name, sizeof(name), "many%03u", n);
        TU_OK(ffdb_bucket_create(txn, name, strlen(name), &b));
        for (unsigned i = 0; i < n % 4; i++) {
            tu_fill(rng, key, 8);
            TU_OK(ffdb_put(b, key, 8, name, strlen(name)));
            total++;
        }
    }
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_read(db, &txn));
    for (unsigned n = 0; n < 5; n++) {
        ffdb_bucket *b;
        ffdb_bucket_stat st;
        TU_OK(ffdb_bucket_open(txn, names[n], strlen(names[n]), &b));
        TU_OK(tu_bstat(b, &st));
        total += st.entries;
    }
    ffdb_abort(txn);
    ffdb_close(db);
    return total;
}

static int list_name(void *arg, const void *name, size_t len)
{
    ffdb_val *v = arg;
    for (; v->data; v++)
        ;
    v->data = memcpy(malloc(len), name, len);
    v->size = len;
    return 0;
}

/* Both files hold the same buckets with the same entries, byte for byte. */
static void expect_same_contents(const char *a, const char *b)
{
    ffdb *da = tu_open(a, 0, 0, FFDB_RDONLY), *db = tu_open(b, 0, 0, FFDB_RDONLY);
    ffdb_txn *ta, *tb;
    ffdb_val na[256], nb[256];
    size_t n = 0;

    memset(na, 0, sizeof(na));
    memset(nb, 0, sizeof(nb));
    TU_OK(ffdb_begin_read(da, &ta));
    TU_OK(ffdb_begin_read(db, &tb));
    TU_OK(ffdb_bucket_list(ta, list_name, na));
    TU_OK(ffdb_bucket_list(tb, list_name, nb));
    for (n = 0; na[n].data || nb[n].data; n++) {
        ffdb_bucket *ba, *bb;
        ffdb_cursor *ca, *cb;
        ffdb_val ka, va, kb, vb;
        int ra, rb;
        cr_assert(na[n].size == nb[n].size && memcmp(na[n].data, nb[n].data, na[n].size) == 0,
                  "bucket %zu differs", n);
        TU_OK(ffdb_bucket_open(ta, na[n].data, na[n].size, &ba));
        TU_OK(ffdb_bucket_open(tb, nb[n].data, nb[n].size, &bb));
        TU_OK(ffdb_cursor_open(ba, &ca));
        TU_OK(ffdb_cursor_open(bb, &cb));
        for (ra = ffdb_cursor_first(ca, &ka, &va), rb = ffdb_cursor_first(cb, &kb, &vb);
             ra == 0 && rb == 0;
             ra = ffdb_cursor_next(ca, &ka, &va), rb = ffdb_cursor_next(cb, &kb, &vb)) {
            cr_assert(ka.size == kb.size && (!ka.size || !memcmp(ka.data, kb.data, ka.size)),
                      "bucket %zu: keys differ", n);
            cr_assert(va.size == vb.size && (!va.size || !memcmp(va.data, vb.data, va.size)),
                      "bucket %zu: values differ", n);
        }
        cr_assert(ra == FFDB_NOTFOUND && rb == FFDB_NOTFOUND, "bucket %zu: %d vs %d", n, ra, rb);
        free((void *)na[n].data);
        free((void *)nb[n].data);
    }
    cr_assert(n > 0);
    ffdb_abort(ta);
    ffdb_abort(tb);
    ffdb_close(da);
    ffdb_close(db);
}

/* ---- raw pages of a file ---------------------------------------------------------------- */

static void read_page(const char *path, uint64_t pgno, unsigned char page[PS])
{
    size_t len;
    unsigned char *all = tu_read_file(path, &len);
    cr_assert((pgno + 1) * PS <= len, "page %llu is past the end", (unsigned long long)pgno);
    memcpy(page, all + pgno * PS, PS);
    free(all);
}

static void write_page(const char *path, uint64_t pgno, unsigned char page[PS], int seal)
{
    if (seal)
        page_seal(page, PS);
    tu_patch_file(path, pgno * PS, page, PS);
}

/* The slot (0 or 1) of the newest valid meta. */
static unsigned current_meta(const char *path)
{
    unsigned char m0[PS], m1[PS];
    read_page(path, 0, m0);
    read_page(path, 1, m1);
    if (!page_verify(m1, PS) || memcmp(m1 + META_MAGIC, FFDB_MAGIC_BYTES, 8))
        return 0;
    if (!page_verify(m0, PS) || memcmp(m0 + META_MAGIC, FFDB_MAGIC_BYTES, 8))
        return 1;
    return ld64(m1 + PH_TXID) > ld64(m0 + PH_TXID);
}

static uint64_t page_count(const char *path)
{
    unsigned char m[PS];
    read_page(path, current_meta(path), m);
    return ld64(m + META_PAGE_COUNT);
}

/* Live pages of kind in a file built by build(): every page of the commit
 * with the meta's txid (nothing was freed in it). pred may narrow. */
static uint64_t find_page(const char *path, unsigned kind, int (*pred)(const unsigned char *))
{
    unsigned char m[PS], p[PS];
    uint64_t n, txid;
    read_page(path, current_meta(path), m);
    n = ld64(m + META_PAGE_COUNT);
    txid = ld64(m + PH_TXID);
    for (uint64_t pgno = 2; pgno < n; pgno++) {
        read_page(path, pgno, p);
        if (p[PH_KIND] == kind && ld64(p + PH_TXID) == txid && (!pred || pred(p)))
            return pgno;
    }
    cr_assert_fail("no page of kind %u found", kind);
    return 0;
}

static int many_cells(const unsigned char *p)
{
    return ld16(p + PH_COUNT) > 20;
}

static int second_of_run(const unsigned char *p)
{
    return ld64(p + PH_NEXT) == 1;
}

static int at_least_three_children(const unsigned char *p)
{
    return ld16(p + PH_COUNT) >= 3;
}

/* ---- cli: each command on a generated file -------------------------------------------- */

Test(cli, help_and_usage)
{
    struct run r = RUN("--help");
    const char *cmds[] = {"info", "check", "buckets", "stat", "pages", "page",   "get",
                          "put",  "del",   "scan",    "dump", "load",  "compact"};
    expect_status(&r, 0, "--help");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        expect_out(&r, cmds[i], "--help lists commands");
    expect_out(&r, "Exit status", "--help lists exit codes");
    expect_out(&r, "7  key not found", "--help lists exit codes");
    run_free(&r);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        r = RUN(cmds[i], "--help");
        expect_status(&r, 0, cmds[i]);
        expect_out(&r, "usage: ffdb ", cmds[i]);
        run_free(&r);
    }
    r = RUN("--version");
    expect_status(&r, 0, "--version");
    expect_out(&r, "ffdb ", "--version");
    run_free(&r);
    run_expect(2, "usage: ffdb", NULL, (const char *)NULL);
    run_expect(2, "unknown command", NULL, "frobnicate", (const char *)NULL);
}

Test(cli, info_human_and_json)
{
    const char *f = tu_path("a.ffdb");
    struct run r;
    struct jv j;
    const struct jv *metas;
    unsigned cur;

    build(f);
    cur = current_meta(f);
    r = RUN("info", f);
    expect_status(&r, 0, "info");
    expect_out(&r, "page size", "info");
    expect_out(&r, "(current)", "info");
    expect_out(&r, "buckets      3", "info");
    expect_out(&r, "direct I/O", "info");
    expect_out(&r, "io_uring", "info");
    run_free(&r);

    r = RUN("info", f, "--json");
    expect_status(&r, 0, "info --json");
    j = jparse(r.out);
    cr_assert_eq(jnum(&j, "page_size"), 4096);
    cr_assert_eq(jnum(&j, "format_version"), 2);
    cr_assert_eq(jnum(&j, "current_meta"), cur);
    cr_assert_eq(jnum(&j, "bucket_count"), 3);
    cr_assert_eq(jnum(&j, "page_count"), (double)page_count(f));
    cr_assert_eq(jnum(&j, "txid"), 1);
    cr_assert_eq(jnum(jget(&j, "open"), "ok"), 1);
    metas = jget(&j, "metas");
    cr_assert_eq(metas->count, 2);
    cr_assert_eq(jnum(&metas->items[cur], "valid"), 1);
    cr_assert_eq(jnum(&metas->items[cur], "checksum_ok"), 1);
    cr_assert_str_eq(jstr(&metas->items[cur], "status"), "valid");
    cr_assert_eq(jnum(&metas->items[cur], "txid"), 1);
    jv_free(&j);
    run_free(&r);
}

/* The older meta is garbage: info still shows both, with the bad one's status. */
Test(cli, info_shows_a_garbage_meta)
{
    const char *f = tu_path("a.ffdb");
    unsigned char page[PS];
    struct run r;
    struct jv j;
    unsigned old;

    build(f);
    old = 1 - current_meta(f);
    read_page(f, old, page);
    memcpy(page + META_MAGIC, FFDB_MAGIC_BYTES, 8);
    st32(page + META_PAGE_SIZE, PS);
    page[200] ^= 0x5a; /* garbage over a meta that never got its checksum */
    write_page(f, old, page, 0);
    r = RUN("info", f, "--json");
    expect_status(&r, 0, "info with one bad meta");
    j = jparse(r.out);
    cr_assert_eq(jnum(&jget(&j, "metas")->items[old], "valid"), 0);
    cr_assert_eq(jnum(&jget(&j, "metas")->items[old], "checksum_ok"), 0);
    cr_assert_str_eq(jstr(&jget(&j, "metas")->items[old], "status"), "checksum mismatch");
    cr_assert_eq(jnum(&jget(&j, "metas")->items[1 - old], "valid"), 1);
    jv_free(&j);
    run_free(&r);
    r = RUN("info", f);
    expect_status(&r, 0, "info with one bad meta");
    expect_out(&r, "invalid: checksum mismatch", "info");
    run_free(&r);
}

Test(cli, buckets_and_stat)
{
    const char *f = tu_path("a.ffdb");
    struct run r;
    struct jv j;
    const struct jv *bs;

    build(f);
    r = RUN("buckets", f, "--json");
    expect_status(&r, 0, "buckets --json");
    j = jparse(r.out);
    bs = jget(&j, "buckets");
    cr_assert_eq(bs->count, 3);
    cr_assert_str_eq(jstr(&bs->items[0], "name"), "b");
    cr_assert_eq(jnum(&bs->items[0], "entries"), NKEYS);
    cr_assert_geq(jnum(&bs->items[0], "depth"), 2);
    cr_assert_str_eq(jstr(&bs->items[1], "name"), "e");
    cr_assert_eq(jnum(&bs->items[1], "entries"), 0);
    cr_assert_str_eq(jstr(&bs->items[2], "name"), "ov");
    cr_assert_gt(jnum(&bs->items[2], "overflow_pages"), 0);
    jv_free(&j);
    run_free(&r);

    r = RUN("buckets", f);
    expect_status(&r, 0, "buckets");
    expect_out(&r, "ENTRIES", "buckets");
    expect_out(&r, "3000", "buckets");
    run_free(&r);

    r = RUN("stat", f, "--json");
    expect_status(&r, 0, "stat --json");
    j = jparse(r.out);
    cr_assert_eq(jnum(&j, "bucket_count"), 3);
    bs = jget(&j, "buckets");
    cr_assert_eq(bs->count, 3);
    cr_assert_eq(jnum(&bs->items[0], "key_bytes"), NKEYS * 9);
    cr_assert_gt(jnum(&bs->items[0], "fill"), 0.8);
    cr_assert_eq(jnum(&bs->items[2], "value_bytes"), 9000 + 10000 + 11000 + 12000);
    jv_free(&j);
    run_free(&r);

    r = RUN("stat", f, "ov");
    expect_status(&r, 0, "stat ov");
    expect_out(&r, "VALUE BYTES", "stat ov");
    expect_out(&r, "42000", "stat ov");
    cr_assert(!strstr(r.out, "\nb "), "stat of one bucket shows only it:\n%s", r.out);
    run_free(&r);
    run_expect(6, "bucket not found", NULL, "stat", f, "nope", (const char *)NULL);
}

Test(cli, check_clean)
{
    const char *f = tu_path("a.ffdb");
    struct run r;
    struct jv j;

    build(f);
    r = RUN("check", f);
    expect_status(&r, 0, "check");
    expect_out(&r, "check: clean", "check");
    run_free(&r);
    r = RUN("check", "--json", f);
    expect_status(&r, 0, "check --json");
    j = jparse(r.out);
    cr_assert_eq(jnum(&j, "clean"), 1);
    cr_assert_eq(jnum(&j, "problem_count"), 0);
    cr_assert_eq(jget(&j, "problems")->count, 0);
    cr_assert_eq(jnum(&j, "entries"), NKEYS + NBIG);
    cr_assert_eq(jnum(&j, "reachable_pages") + jnum(&j, "free_pages"), jnum(&j, "page_count"));
    jv_free(&j);
    run_free(&r);
}

Test(cli, pages_and_page)
{
    const char *f = tu_path("a.ffdb");
    char line[64];
    struct run r;
    struct jv j;
    uint64_t leaf, ovf, n;

    build(f);
    leaf = find_page(f, PAGE_LEAF, many_cells);
    ovf = find_page(f, PAGE_OVERFLOW, second_of_run);
    n = page_count(f);
    r = RUN("pages", f);
    expect_status(&r, 0, "pages");
    expect_out(&r, "catalog", "pages");
    cr_assert(!strstr(r.out, "LEAKED") && !strstr(r.out, "TWICE") && !strstr(r.out, "!"),
              "a clean file has no notes:\n%s", r.out);
    snprintf(line, sizeof(line), "%10llu leaf", (unsigned long long)leaf);
    expect_out(&r, line, "pages lists the leaf");
    run_free(&r);

    r = RUN("pages", "--json", f);
    expect_status(&r, 0, "pages --json");
    j = jparse(r.out);
    cr_assert_eq(jget(&j, "pages")->count, n);
    cr_assert_str_eq(jstr(&jget(&j, "pages")->items[leaf], "owner"), "b");
    cr_assert_str_eq(jstr(&jget(&j, "pages")->items[ovf], "owner"), "ov");
    cr_assert_str_eq(jstr(&jget(&j, "pages")->items[ovf], "kind"), "overflow");
    cr_assert_str_eq(jstr(&jget(&j, "pages")->items[0], "owner"), "meta");
    jv_free(&j);
    run_free(&r);

    snprintf(line, sizeof(line), "%llu", (unsigned long long)leaf);
    r = RUN("page", f, line, "--hex");
    expect_status(&r, 0, "page N");
    expect_out(&r, "kind         leaf (3)", "page N");
    expect_out(&r, "checksum     ok", "page N");
    expect_out(&r, "key \"key", "page N shows keys");
    expect_out(&r, "0000 ", "page N --hex");
    run_free(&r);
    r = RUN("page", f, "0");
    expect_status(&r, 0, "page 0");
    expect_out(&r, "kind         meta (1)", "page 0");
    expect_out(&r, "magic        ok", "page 0");
    run_free(&r);
    snprintf(line, sizeof(line), "%llu", (unsigned long long)ovf);
    r = RUN("page", f, line);
    expect_status(&r, 0, "overflow page");
    expect_out(&r, "page 1 of its run", "overflow page");
    run_free(&r);
    run_expect(2, "past the end of the file", NULL, "page", f, "99999999", (const char *)NULL);
    run_expect(2, "not a page number", NULL, "page", f, "x1", (const char *)NULL);
}

Test(cli, get_put_del)
{
    const char *f = tu_path("kv.ffdb"), *in = tu_path("value.bin");
    static unsigned char big[100000];
    struct run r;

    run_expect(0, NULL, NULL, "put", f, "users", "alice", "admin", (const char *)NULL);
    run_expect(0, NULL, NULL, "put", f, "users", "b\\x00b", "v\\t\\n\\\\", (const char *)NULL);
    r = RUN("get", f, "users", "alice");
    expect_status(&r, 0, "get");
    cr_assert_str_eq(r.out, "admin\n");
    run_free(&r);
    r = RUN("get", f, "users", "b\\x00b");
    expect_status(&r, 0, "get escaped");
    cr_assert_str_eq(r.out, "v\\t\\n\\\\\n");
    run_free(&r);
    r = RUN("get", "--raw", f, "users", "b\\x00b");
    expect_status(&r, 0, "get --raw");
    cr_assert(r.out_len == 4 && memcmp(r.out, "v\t\n\\", 4) == 0);
    run_free(&r);
    r = RUN("get", "--hex", f, "users", "620062");
    expect_status(&r, 0, "get --hex");
    cr_assert_str_eq(r.out, "76090a5c\n");
    run_free(&r);

    /* A big binary value through stdin, back with --raw. */
    tu_pattern(big, sizeof(big), 7);
    tu_write_file(in, big, sizeof(big));
    r = RUN_IN(in, "put", f, "blobs", "one");
    expect_status(&r, 0, "put from stdin");
    run_free(&r);
    r = RUN("get", f, "blobs", "one", "--raw");
    expect_status(&r, 0, "get big");
    cr_assert(r.out_len == sizeof(big) && memcmp(r.out, big, sizeof(big)) == 0);
    run_free(&r);

    run_expect(0, NULL, NULL, "del", f, "users", "alice", (const char *)NULL);
    run_expect(7, "key not found: alice", NULL, "get", f, "users", "alice", (const char *)NULL);
    run_expect(7, "key not found: alice", NULL, "del", f, "users", "alice", (const char *)NULL);
    run_expect(6, "bucket not found: nope", NULL, "del", f, "nope", "k", (const char *)NULL);
    run_expect(0, "clean", NULL, "check", f, (const char *)NULL);
}

Test(cli, scan_ranges)
{
    const char *f = tu_path("a.ffdb");
    struct run r;
    struct jv j;

    build(f);
    r = RUN("scan", f, "b", "--prefix", "key00001", "--keys-only");
    expect_status(&r, 0, "scan --prefix");
    cr_assert_str_eq(r.out, "key000010\nkey000011\nkey000012\nkey000013\nkey000014\n"
                            "key000015\nkey000016\nkey000017\nkey000018\nkey000019\n");
    run_free(&r);
    r = RUN("scan", f, "b", "--from", "key002997", "--keys-only");
    expect_status(&r, 0, "scan --from");
    cr_assert_str_eq(r.out, "key002997\nkey002998\nkey002999\n");
    run_free(&r);
    r = RUN("scan", f, "b", "--from", "key000100", "--to", "key000103", "-k", "--reverse");
    expect_status(&r, 0, "scan --from --to --reverse");
    cr_assert_str_eq(r.out, "key000102\nkey000101\nkey000100\n");
    run_free(&r);
    r = RUN("scan", f, "b", "--reverse", "--limit", "2", "--keys-only");
    expect_status(&r, 0, "scan --reverse --limit");
    cr_assert_str_eq(r.out, "key002999\nkey002998\n");
    run_free(&r);
    r = RUN("scan", f, "b", "--prefix", "key0001", "--to", "key000105", "--reverse", "-k");
    expect_status(&r, 0, "scan prefix and to");
    cr_assert_str_eq(r.out, "key000104\nkey000103\nkey000102\nkey000101\nkey000100\n");
    run_free(&r);
    r = RUN("scan", f, "e");
    expect_status(&r, 0, "scan of an empty bucket");
    cr_assert_str_eq(r.out, "");
    run_free(&r);

    r = RUN("scan", f, "b", "--prefix", "key00200", "--json");
    expect_status(&r, 0, "scan --json");
    j = jparse(r.out);
    cr_assert_str_eq(jstr(&j, "bucket"), "b");
    cr_assert_eq(jnum(&j, "count"), 10);
    cr_assert_eq(jget(&j, "entries")->count, 10);
    cr_assert_str_eq(jstr(&jget(&j, "entries")->items[3], "key"), "key002003");
    cr_assert(strlen(jstr(&jget(&j, "entries")->items[3], "value")) >= 30);
    jv_free(&j);
    run_free(&r);

    r = RUN("scan", f, "b", "--hex", "--prefix", "6b6579303030303030", "--limit", "1");
    expect_status(&r, 0, "scan --hex");
    cr_assert(strncmp(r.out, "6b6579303030303030\t", 19) == 0, "%s", r.out);
    run_free(&r);
    run_expect(2, "--limit needs a number", NULL, "scan", f, "b", "--limit", "x",
               (const char *)NULL);
}

/* A file of 8 KiB pages, and names that need escaping in text and in JSON. */
Test(cli, other_page_size_and_odd_names)
{
    const char *f = tu_path("p8.ffdb");
    struct run r;
    struct jv j;

    run_expect(0, NULL, NULL, "put", "--page-size", "8192", f, "q\"uo\\\\te\\x01\\xe9", "k", "v",
               (const char *)NULL);
    r = RUN("info", "--json", f);
    expect_status(&r, 0, "info of an 8 KiB file");
    j = jparse(r.out);
    cr_assert_eq(jnum(&j, "page_size"), 8192);
    jv_free(&j);
    run_free(&r);
    r = RUN("buckets", "--json", f);
    expect_status(&r, 0, "buckets --json");
    j = jparse(r.out);
    cr_assert_str_eq(jstr(&jget(&j, "buckets")->items[0], "name"), "q\"uo\\\\te\\x01\\xe9");
    jv_free(&j);
    run_free(&r);
    r = RUN("pages", f);
    expect_status(&r, 0, "pages of an 8 KiB file");
    expect_out(&r, "q\"uo\\\\te\\x01\\xe9", "pages names the owner");
    run_free(&r);
    r = RUN("get", f, "q\"uo\\\\te\\x01\\xe9", "k");
    expect_status(&r, 0, "get from an odd bucket");
    cr_assert_str_eq(r.out, "v\n");
    run_free(&r);
    run_expect(0, "clean", NULL, "check", f, (const char *)NULL);
}

/* Read-only commands never change the file, even a damaged one. */
Test(cli, read_only_commands_leave_the_file_alone)
{
    const char *f = tu_path("a.ffdb");
    unsigned char page[PS], *before, *after;
    size_t lb, la;
    uint64_t leaf;
    char n[32];

    build(f);
    leaf = find_page(f, PAGE_LEAF, many_cells);
    read_page(f, leaf, page);
    page[PS - 100] ^= 0xff;
    write_page(f, leaf, page, 0);
    snprintf(n, sizeof(n), "%llu", (unsigned long long)leaf);
    before = tu_read_file(f, &lb);
    run_expect(0, NULL, NULL, "info", f, (const char *)NULL);
    run_expect(1, NULL, NULL, "check", f, (const char *)NULL);
    run_expect(0, NULL, NULL, "buckets", f, (const char *)NULL);
    run_expect(5, NULL, NULL, "stat", f, (const char *)NULL);
    run_expect(0, NULL, NULL, "pages", f, (const char *)NULL);
    run_expect(0, NULL, NULL, "page", f, n, "--hex", (const char *)NULL);
    run_expect(5, NULL, NULL, "scan", f, "b", (const char *)NULL);
    run_expect(5, NULL, NULL, "dump", f, (const char *)NULL);
    run_expect(0, NULL, NULL, "get", f, "ov", "key000001", (const char *)NULL);
    after = tu_read_file(f, &la);
    cr_assert(lb == la && memcmp(before, after, lb) == 0, "a read-only command changed the file");
    free(before);
    free(after);
}

/* FFDB_PROGRESS=1 draws the bar on stderr even without a terminal. */
Test(cli, progress_bar_on_request)
{
    const char *f = tu_path("a.ffdb"), *d = tu_path("dump.txt"), *g = tu_path("g.ffdb");
    struct run r;

    build(f);
    setenv("FFDB_PROGRESS", "1", 1);
    r = RUN("dump", f);
    expect_status(&r, 0, "dump with progress");
    expect_err(&r, "dump [", "progress bar");
    expect_err(&r, "ETA", "progress bar");
    tu_write_file(d, r.out, r.out_len);
    run_free(&r);
    r = RUN_IN(d, "load", g);
    expect_status(&r, 0, "load with progress");
    expect_err(&r, "load [", "progress bar");
    run_free(&r);
    r = RUN("check", f);
    expect_status(&r, 0, "check with progress");
    expect_err(&r, "check [", "progress bar");
    run_free(&r);
    r = RUN("compact", f, tu_path("c.ffdb"));
    expect_status(&r, 0, "compact with progress");
    expect_err(&r, "compact [", "progress bar");
    run_free(&r);
    unsetenv("FFDB_PROGRESS");
    r = RUN("dump", f);
    cr_assert_str_eq(r.err, "", "no progress without a terminal");
    run_free(&r);
}

/* ---- cli_dump: dump, load, compact --------------------------------------------------- */

static void round_trip(int hex)
{
    const char *src = tu_path("src.ffdb"), *dst = tu_path("dst.ffdb");
    const char *d1 = tu_path("d1.txt"), *d2 = tu_path("d2.txt");
    tu_rng rng;
    struct run r, r2;
    uint64_t entries;
    char want[64];

    tu_rng_init(&rng, tu_seed("cli round trip"));
    entries = build_random(src, &rng);
    r = hex ? RUN("dump", "--hex", src) : RUN("dump", src);
    expect_status(&r, 0, "dump");
    cr_assert(strncmp(r.out, hex ? "ffdb-dump 1 hex\n" : "ffdb-dump 1 escaped\n", 16) == 0);
    tu_write_file(d1, r.out, r.out_len);
    r2 = RUN_IN(d1, "load", dst);
    expect_status(&r2, 0, "load");
    snprintf(want, sizeof(want), "loaded %llu records into %u buckets", (unsigned long long)entries,
             5 + MANY_BUCKETS);
    expect_out(&r2, want, "load");
    run_free(&r2);
    expect_same_contents(src, dst);
    r2 = hex ? RUN("dump", "--hex", dst) : RUN("dump", dst);
    expect_status(&r2, 0, "dump of the copy");
    cr_assert(r.out_len == r2.out_len && memcmp(r.out, r2.out, r.out_len) == 0,
              TU_SEED_FMT "the dumps differ", TU_SEED_ARG);
    tu_write_file(d2, r2.out, r2.out_len);
    run_free(&r);
    run_free(&r2);
    run_expect(0, "clean", NULL, "check", dst, (const char *)NULL);
}

Test(cli_dump, round_trip_escaped)
{
    round_trip(0);
}

Test(cli_dump, round_trip_hex)
{
    round_trip(1);
}

/* Keys out of order and into a bucket that is not empty: the put path. */
Test(cli_dump, load_unsorted_and_into_existing)
{
    const char *f = tu_path("f.ffdb"), *in = tu_path("in.txt"), *tsv = tu_path("t.tsv");
    const char *dump = "ffdb-dump 1 escaped\n# a comment\nbucket b\nm\t1\nc\t2\nz\t3\na\t4\n"
                       "c\t5\nend 5\n\nbucket \\x00x\n\\x00\t\\xff\nend\n";
    const char *text = "k1\tv1\tstill v1\r\n\nk0\tv0\n\tempty key\n";
    struct run r;

    run_expect(0, NULL, NULL, "put", f, "b", "zz", "old", (const char *)NULL);
    tu_write_file(in, dump, strlen(dump));
    r = RUN_IN(in, "load", f, "--batch", "2");
    expect_status(&r, 0, "load unsorted");
    expect_out(&r, "loaded 6 records into 2 buckets", "load");
    run_free(&r);
    r = RUN("scan", f, "b");
    expect_status(&r, 0, "scan");
    cr_assert_str_eq(r.out, "a\t4\nc\t5\nm\t1\nz\t3\nzz\told\n");
    run_free(&r);
    r = RUN("get", "--hex", f, "\\x00x", "00");
    expect_status(&r, 0, "binary bucket");
    cr_assert_str_eq(r.out, "ff\n");
    run_free(&r);

    /* Plain TSV: literal bytes, the value is the rest of the line. */
    tu_write_file(tsv, text, strlen(text));
    r = RUN_IN(tsv, "load", f, "plain");
    expect_status(&r, 0, "load tsv");
    run_free(&r);
    r = RUN("scan", f, "plain");
    cr_assert_str_eq(r.out, "\tempty key\nk0\tv0\nk1\tv1\\tstill v1\n");
    run_free(&r);
    run_expect(0, "clean", NULL, "check", f, (const char *)NULL);
}

Test(cli_dump, load_one_bucket_of_a_dump)
{
    const char *src = tu_path("a.ffdb"), *dst = tu_path("b.ffdb"), *d = tu_path("d.txt");
    struct run r;

    build(src);
    r = RUN("dump", src, "ov", "e");
    expect_status(&r, 0, "dump of two buckets");
    cr_assert(!strstr(r.out, "bucket b\n"));
    tu_write_file(d, r.out, r.out_len);
    run_free(&r);
    r = RUN_IN(d, "load", dst, "ov");
    expect_status(&r, 0, "load ov only");
    expect_out(&r, "loaded 4 records into 1 bucket", "load ov");
    run_free(&r);
    run_expect(6, "bucket not found in the dump: b", d, "load", dst, "b", (const char *)NULL);
    run_expect(6, "bucket not found: nope", NULL, "dump", src, "nope", (const char *)NULL);
    r = RUN("buckets", dst);
    cr_assert(strstr(r.out, "ov") && !strstr(r.out, "\ne "), "%s", r.out);
    run_free(&r);
}

Test(cli_dump, load_rejects_malformed_input)
{
    const char *f = tu_path("f.ffdb"), *in = tu_path("in.txt");
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"ffdb-dump 2 escaped\n", "line 1: unsupported dump header"},
        {"ffdb-dump 1 escaped\nk\tv\n", "line 2: record outside a bucket section"},
        {"ffdb-dump 1 escaped\nbucket b\nk\tv\n", "line 3: the input ends inside"},
        {"ffdb-dump 1 escaped\nbucket b\nk\tv\nend 2\n", "line 4: the section holds 1"},
        {"ffdb-dump 1 escaped\nbucket b\nk\\q\tv\nend\n", "line 3: malformed escape"},
        {"ffdb-dump 1 hex\nbucket 62\n6\t00\nend\n", "line 3: malformed hex"},
        {"ffdb-dump 1 escaped\nbucket b\nwhat\n", "line 3: expected 'bucket NAME'"},
        {"ffdb-dump 1 escaped\nend\n", "line 2: end line outside"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_write_file(in, bad[i].text, strlen(bad[i].text));
        run_expect(8, bad[i].msg, in, "load", f, (const char *)NULL);
    }
    tu_write_file(in, "no tab here\n", 12);
    run_expect(8, "line 1: a record needs a tab", in, "load", f, "b", (const char *)NULL);
    run_expect(2, "name the BUCKET", in, "load", f, (const char *)NULL);
    run_expect(2, "--fill needs", in, "load", f, "b", "--fill", "2", (const char *)NULL);
}

/* A file with most of its data deleted shrinks, keeps its contents. */
Test(cli_dump, compact_makes_a_smaller_equal_file)
{
    const char *src = tu_path("frag.ffdb"), *dst = tu_path("compact.ffdb");
    ffdb *db = tu_open(src, 0, 0, FFDB_NOSYNC);
    ffdb_txn *txn;
    ffdb_bucket *b;
    unsigned char k[8], v[100];
    tu_rng rng;
    struct run r;

    tu_rng_init(&rng, tu_seed("cli compact"));
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "x", 1, &b));
    TU_OK(ffdb_bucket_create(txn, "y", 1, &b));
    for (unsigned i = 0; i < 20000; i++) {
        tu_be64(k, tu_next(&rng));
        tu_fill(&rng, v, sizeof(v));
        TU_OK(ffdb_put(b, k, sizeof(k), v, 20 + i % 80));
    }
    TU_OK(ffdb_commit(txn));
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "y", 1, &b));
    {
        ffdb_cursor *c;
        ffdb_val key;
        unsigned i = 0;
        TU_OK(ffdb_cursor_open(b, &c));
        for (int rc = ffdb_cursor_first(c, &key, NULL); rc == 0;
             rc = ffdb_cursor_next(c, &key, NULL))
            if (i++ % 10 != 0)
                TU_OK(ffdb_delete(b, key.data, key.size));
        ffdb_cursor_close(c);
    }
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);

    r = RUN("compact", src, dst);
    expect_status(&r, 0, "compact");
    expect_out(&r, "check clean", "compact");
    run_free(&r);
    cr_assert_lt(tu_file_size(dst) * 4, tu_file_size(src), "compact: %lld vs %lld bytes",
                 (long long)tu_file_size(dst), (long long)tu_file_size(src));
    expect_same_contents(src, dst);
    run_expect(0, "clean", NULL, "check", dst, (const char *)NULL);
    run_expect(2, "exists", NULL, "compact", src, dst, (const char *)NULL);
    run_expect(3, "no such file", NULL, "compact", tu_path("none"), tu_path("n2"),
               (const char *)NULL);
    cr_assert(!tu_exists(tu_path("n2")));
}

/* ---- cli_damage: check finds each kind of damage, with its page ------------------------- */

/* check exits 1 and prints a line "page N: ... needle ...". */
static void expect_problem(const char *path, uint64_t pgno, const char *needle)
{
    struct run r = RUN("check", path);
    char prefix[48];
    const char *line;
    int found = 0;

    expect_status(&r, 1, "check of a damaged file");
    snprintf(prefix, sizeof(prefix), "page %llu: ", (unsigned long long)pgno);
    for (line = r.out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, prefix, strlen(prefix)) == 0) {
            const char *end = strchr(line, '\n');
            char *copy = strndup(line, end ? (size_t)(end - line) : strlen(line));
            found |= strstr(copy, needle) != NULL;
            free(copy);
        }
    cr_assert(found, "no line '%s...%s' in:\n%.3000s", prefix, needle, r.out);
    run_free(&r);

    r = RUN("check", "--json", path);
    expect_status(&r, 1, "check --json of a damaged file");
    {
        struct jv j = jparse(r.out);
        const struct jv *ps = jget(&j, "problems");
        int hit = 0;
        cr_assert_eq(jnum(&j, "clean"), 0);
        cr_assert_eq(jnum(&j, "problem_count"), (double)ps->count);
        for (size_t i = 0; i < ps->count; i++)
            hit |= jget(&ps->items[i], "page")->type == J_NUM &&
                   jnum(&ps->items[i], "page") == (double)pgno;
        cr_assert(hit, "--json lacks page %llu", (unsigned long long)pgno);
        jv_free(&j);
    }
    run_free(&r);
}

Test(cli_damage, flipped_byte)
{
    const char *f = tu_path("a.ffdb");
    unsigned char page[PS];
    uint64_t leaf;
    struct run r;
    char line[64];

    build(f);
    leaf = find_page(f, PAGE_LEAF, many_cells);
    read_page(f, leaf, page);
    page[PS / 2] ^= 0x01;
    write_page(f, leaf, page, 0);
    expect_problem(f, leaf, "checksum");
    r = RUN("pages", f);
    snprintf(line, sizeof(line), "%10llu leaf", (unsigned long long)leaf);
    expect_out(&r, line, "pages");
    expect_out(&r, "!bad-checksum", "pages marks the page");
    run_free(&r);
}

Test(cli_damage, broken_overflow_run)
{
    const char *f = tu_path("a.ffdb");
    unsigned char page[PS];
    uint64_t ovf;

    build(f);
    ovf = find_page(f, PAGE_OVERFLOW, second_of_run);
    read_page(f, ovf, page);
    st64(page + PH_NEXT, 7);
    write_page(f, ovf, page, 1);
    expect_problem(f, ovf, "overflow run");
}

Test(cli_damage, page_referenced_twice)
{
    const char *f = tu_path("a.ffdb");
    unsigned char page[PS];
    uint64_t br, twice;
    unsigned off1, off2;
    struct run r;
    struct jv j;

    build(f);
    br = find_page(f, PAGE_BRANCH, at_least_three_children);
    read_page(f, br, page);
    off1 = ld16(page + PAGE_HEADER_SIZE + SLOT_SIZE * 1);
    off2 = ld16(page + PAGE_HEADER_SIZE + SLOT_SIZE * 2);
    twice = ld64(page + off2 + BRANCH_CHILD);
    st64(page + off1 + BRANCH_CHILD, twice);
    write_page(f, br, page, 1);
    expect_problem(f, twice, "referenced twice");
    r = RUN("pages", "--json", f);
    expect_status(&r, 0, "pages of a damaged file");
    j = jparse(r.out);
    cr_assert_str_eq(jstr(&jget(&j, "pages")->items[twice], "owner"), "TWICE");
    jv_free(&j);
    run_free(&r);
}

Test(cli_damage, leaked_page_past_the_meta_count)
{
    const char *f = tu_path("a.ffdb");
    unsigned char page[PS];
    unsigned slot;
    uint64_t n;

    build(f);
    slot = current_meta(f);
    read_page(f, slot, page);
    n = ld64(page + META_PAGE_COUNT);
    st64(page + META_PAGE_COUNT, n + 1);
    write_page(f, slot, page, 1);
    if (tu_file_size(f) < (int64_t)((n + 1) * PS)) { /* a page for the meta to claim */
        unsigned char zero[PS] = {0};
        tu_patch_file(f, n * PS, zero, PS);
    }
    expect_problem(f, n, "leaked");
}

Test(cli_damage, leaked_page_dropped_from_the_freelist)
{
    const char *f = tu_path("a.ffdb");
    unsigned char page[PS], m[PS];
    uint64_t root, a = 0;
    unsigned count;
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    char k[16];

    build(f);
    /* Free some pages: delete a run of keys. */
    db = tu_open(f, 0, 0, FFDB_NOSYNC);
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    for (unsigned i = 100; i < 2000; i++)
        TU_OK(ffdb_delete(b, k, key_of(k, i)));
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);
    read_page(f, current_meta(f), m);
    root = ld64(m + META_FREELIST_ROOT);
    cr_assert_neq(root, 0, "no freelist");
    read_page(f, root, page);
    count = ld16(page + PH_COUNT);
    cr_assert_geq(count, 1);
    a = ld64(page + PAGE_HEADER_SIZE + (count - 1) * FREELIST_ENTRY_SIZE);
    cr_assert_neq(a, 0, "the last entry is a range");
    st16(page + PH_COUNT, (uint16_t)(count - 1));
    write_page(f, root, page, 1);
    expect_problem(f, a, "leaked");
}

Test(cli_damage, both_metas_bad_and_truncated)
{
    const char *f = tu_path("a.ffdb"), *g = tu_path("b.ffdb");
    unsigned char page[PS], *all;
    size_t len;
    struct run r;
    struct jv j;
    uint64_t n;

    build(f);
    all = tu_read_file(f, &len);
    tu_write_file(g, all, len);
    for (unsigned s = 0; s < 2; s++) {
        read_page(f, s, page);
        page[300] ^= 0xff;
        write_page(f, s, page, 0);
    }
    expect_problem(f, 0, "meta");
    r = RUN("info", f, "--json");
    expect_status(&r, 5, "info of a file with two bad metas");
    j = jparse(r.out);
    cr_assert_eq(jnum(jget(&j, "open"), "ok"), 0);
    cr_assert_str_eq(jstr(jget(&j, "open"), "error"), ffdb_strerror(FFDB_CORRUPT));
    cr_assert_eq(jnum(&jget(&j, "metas")->items[0], "valid"), 0);
    cr_assert_eq(jnum(&jget(&j, "metas")->items[1], "valid"), 0);
    jv_free(&j);
    run_free(&r);
    run_expect(5, "corrupt", NULL, "get", f, "b", "key000001", (const char *)NULL);
    r = RUN("pages", f);
    expect_status(&r, 5, "pages of an unopenable file");
    expect_err(&r, "owners are unknown", "pages");
    run_free(&r);

    n = page_count(g);
    cr_assert_eq(truncate(g, (off_t)(PS * (n / 2))), 0);
    expect_problem(g, n - 1, "truncated");
    free(all);
}

/* ---- cli_errors: every error path gives its message and exit status --------------------- */

Test(cli_errors, missing_file)
{
    const char *f = tu_path("missing.ffdb");
    const char *cmds[] = {"info", "check", "buckets", "stat", "pages", "dump"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        run_expect(3, "no such file", NULL, cmds[i], f, (const char *)NULL);
    run_expect(3, "no such file", NULL, "page", f, "0", (const char *)NULL);
    run_expect(3, "no such file", NULL, "get", f, "b", "k", (const char *)NULL);
    run_expect(3, "no such file", NULL, "scan", f, "b", (const char *)NULL);
    run_expect(3, "no such file", NULL, "del", f, "b", "k", (const char *)NULL);
    cr_assert(!tu_exists(f), "a read-only command created the file");
}

Test(cli_errors, not_an_ffdb_file)
{
    const char *f = tu_path("text.txt");
    char text[10000];
    const char *cmds[] = {"info", "check", "buckets", "stat", "pages", "dump"};
    memset(text, 'x', sizeof(text));
    tu_write_file(f, text, sizeof(text));
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        run_expect(4, "not an ffdb file", NULL, cmds[i], f, (const char *)NULL);
    run_expect(4, "not an ffdb file", NULL, "get", f, "b", "k", (const char *)NULL);
    run_expect(4, "not an ffdb file", NULL, "put", f, "b", "k", "v", (const char *)NULL);
    run_expect(4, "not an ffdb file", NULL, "load", f, "b", (const char *)NULL);
    run_expect(0, "no ffdb magic", NULL, "page", f, "0", (const char *)NULL);
}

Test(cli_errors, bad_arguments)
{
    const char *f = tu_path("a.ffdb");
    build(f);
    run_expect(2, "unknown option", NULL, "info", "--bogus", f, (const char *)NULL);
    run_expect(2, "missing argument", NULL, "get", f, "b", (const char *)NULL);
    run_expect(2, "too many arguments", NULL, "info", f, f, (const char *)NULL);
    run_expect(2, "needs a value", NULL, "scan", f, "b", "--prefix", (const char *)NULL);
    run_expect(2, "not valid escaped text", NULL, "get", f, "b", "k\\", (const char *)NULL);
    run_expect(2, "not valid hex", NULL, "get", "--hex", f, "b", "abc", (const char *)NULL);
    run_expect(2, "page size must be", NULL, "put", "--page-size", "5000", tu_path("n.ffdb"), "b",
               "k", "v", (const char *)NULL);
    run_expect(6, "bucket not found: zz", NULL, "get", f, "zz", "k", (const char *)NULL);
    run_expect(6, "bucket not found", NULL, "scan", f, "zz", (const char *)NULL);
    run_expect(7, "key not found: nokey", NULL, "get", f, "b", "nokey", (const char *)NULL);
}

/* A writer in another process (here: this one) holds the file: exit 9. */
Test(cli_errors, file_locked_by_a_writer)
{
    const char *f = tu_path("a.ffdb");
    ffdb *db;

    build(f);
    db = tu_open(f, 0, 0, 0);
    run_expect(9, "locked", NULL, "check", f, (const char *)NULL);
    run_expect(9, "locked", NULL, "get", f, "b", "key000001", (const char *)NULL);
    run_expect(9, "locked", NULL, "info", f, (const char *)NULL);
    run_expect(9, "locked", NULL, "put", f, "b", "k", "v", (const char *)NULL);
    ffdb_close(db);
    run_expect(0, "clean", NULL, "check", f, (const char *)NULL);
}

/* Pages of random bytes under plausible headers: every view decodes them
 * without reading out of bounds (ASan watches), and check lists problems. */
Test(cli_damage, garbage_pages_decode_safely)
{
    const char *f = tu_path("a.ffdb");
    static const unsigned kinds[] = {PAGE_BRANCH, PAGE_LEAF, PAGE_FREELIST, PAGE_OVERFLOW, 77};
    unsigned char page[PS];
    tu_rng rng;
    struct run r;

    build(f);
    tu_rng_init(&rng, tu_seed("cli garbage pages"));
    for (uint64_t pgno = 2; pgno < 12; pgno++) {
        char n[32];
        tu_fill(&rng, page, PS);
        page[PH_KIND] = (unsigned char)kinds[pgno % 5];
        st64(page + PH_PGNO, pgno);
        if (pgno % 2) /* a plausible slot area over random cells */
            st16(page + PH_COUNT, (uint16_t)tu_range(&rng, 1, 60));
        st16(page + PH_LOWER, (uint16_t)(PAGE_HEADER_SIZE + 2 * ld16(page + PH_COUNT)));
        write_page(f, pgno, page, pgno % 3 != 0);
        snprintf(n, sizeof(n), "%llu", (unsigned long long)pgno);
        r = RUN("page", f, n, "--hex");
        expect_status(&r, 0, "page of garbage");
        expect_out(&r, "kind ", "page of garbage");
        run_free(&r);
    }
    /* The metas too, and a page past them all. */
    run_expect(0, "meta", NULL, "page", f, "1", (const char *)NULL);
    r = RUN("pages", f);
    expect_status(&r, 0, "pages of a file with garbage pages");
    expect_out(&r, "!bad-", "pages notes");
    run_free(&r);
    run_expect(1, "page ", NULL, "check", f, (const char *)NULL);
    run_expect(0, NULL, NULL, "info", f, (const char *)NULL);
    run_expect(5, NULL, NULL, "stat", f, (const char *)NULL);
    run_expect(5, NULL, NULL, "dump", f, (const char *)NULL);
}
