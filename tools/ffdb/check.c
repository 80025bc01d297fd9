/*
 * check.c — `ffdb check FILE`: run ffdb_check on the last commit and list
 * every problem with its page number; exit 0 only for a clean file.
 *
 * A file ffdb_open refuses as corrupt (both metas bad, a truncated file, a
 * damaged freelist chain) is a problem too: it is listed with the page
 * ffdb_last_error names. The file is opened FFDB_RDONLY and never changed.
 * Problems are collected and printed after the check so that the progress
 * bar (a watcher thread polling the pages read) never mixes with them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/inspect.h"
#include "tools/ffdb/cli.h"
#include "tools/ffdb/json.h"
#include "tools/ffdb/progress.h"

struct problem {
    uint64_t pgno; /* UINT64_MAX if none */
    char *text;
};

struct problems {
    size_t count, cap;
    struct problem *v;
    int oom;
};

static void add_problem(void *arg, uint64_t pgno, const char *text)
{
    struct problems *ps = arg;
    char prefix[32];

    /* Many engine messages begin with "page N: "; the listing says it already. */
    snprintf(prefix, sizeof(prefix), "page %llu: ", (unsigned long long)pgno);
    if (strncmp(text, prefix, strlen(prefix)) == 0)
        text += strlen(prefix);
    if (ps->count == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        struct problem *v = realloc(ps->v, cap * sizeof(*v));
        if (!v) {
            ps->oom = 1;
            return;
        }
        ps->v = v;
        ps->cap = cap;
    }
    ps->v[ps->count].pgno = pgno;
    ps->v[ps->count].text = strdup(text);
    if (!ps->v[ps->count].text) {
        ps->oom = 1;
        return;
    }
    ps->count++;
}

/* ---- progress: a thread polls the pages read so far ----------------------------- */

struct watcher {
    ffdb *db;
    struct progress bar;
    atomic_int stop;
    pthread_t thread;
    int running;
};

static void *watch(void *arg)
{
    struct watcher *w = arg;
    struct timespec pause = {0, 100 * 1000 * 1000};
    while (!atomic_load(&w->stop)) {
        uint64_t done = inspect_pages_read(w->db);
        /* Pages are read about once each; never claim to be done early. */
        if (done >= w->bar.total)
            done = w->bar.total ? w->bar.total - 1 : 0;
        progress_draw(&w->bar, done);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void watcher_start(struct watcher *w, ffdb *db)
{
    ffdb_stat st;
    memset(w, 0, sizeof(*w));
    w->db = db;
    ffdb_stat_db(db, &st);
    progress_start(&w->bar, "check", "pages", st.page_count);
    atomic_init(&w->stop, 0);
    if (w->bar.on && pthread_create(&w->thread, NULL, watch, w) == 0)
        w->running = 1;
}

static void watcher_stop(struct watcher *w)
{
    atomic_store(&w->stop, 1);
    if (w->running)
        pthread_join(w->thread, NULL);
    progress_finish(&w->bar);
}

/* ---- output ------------------------------------------------------------------------ */

static void print_human(const char *path, const struct problems *ps, const ffdb_check_result *res,
                        int opened)
{
    for (size_t i = 0; i < ps->count; i++) {
        if (ps->v[i].pgno != UINT64_MAX)
            printf("page %llu: %s\n", (unsigned long long)ps->v[i].pgno, ps->v[i].text);
        else
            printf("(no page): %s\n", ps->v[i].text);
    }
    if (!opened) {
        printf("check: %zu problem%s: %s cannot be opened\n", ps->count, ps->count == 1 ? "" : "s",
               path);
        return;
    }
    if (ps->count == 0)
        printf("check: clean: ");
    else
        printf("check: %zu problem%s: ", ps->count, ps->count == 1 ? "" : "s");
    printf("%s (%llu pages: %llu reachable, %llu free; %llu bucket%s, %llu entries)\n", path,
           (unsigned long long)res->page_count, (unsigned long long)res->reachable_pages,
           (unsigned long long)res->free_pages, (unsigned long long)res->buckets,
           cli_s(res->buckets), (unsigned long long)res->entries);
}

static void print_json(const char *path, const struct problems *ps, const ffdb_check_result *res,
                       int opened)
{
    struct json j;
    json_init(&j, stdout);
    json_begin_object(&j);
    json_kv_str(&j, "file", path);
    json_kv_bool(&j, "clean", opened && ps->count == 0);
    json_kv_bool(&j, "opened", opened);
    json_kv_u64(&j, "problem_count", ps->count);
    json_key(&j, "problems");
    json_begin_array(&j);
    for (size_t i = 0; i < ps->count; i++) {
        json_begin_object(&j);
        json_key(&j, "page");
        if (ps->v[i].pgno != UINT64_MAX)
            json_u64(&j, ps->v[i].pgno);
        else
            json_null(&j);
        json_kv_str(&j, "message", ps->v[i].text);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_kv_u64(&j, "page_count", res->page_count);
    json_kv_u64(&j, "reachable_pages", res->reachable_pages);
    json_kv_u64(&j, "free_pages", res->free_pages);
    json_kv_u64(&j, "buckets", res->buckets);
    json_kv_u64(&j, "entries", res->entries);
    json_end_object(&j);
    json_end(&j);
}

/* ffdb_open failed: a corrupt file is a problem to list, the rest are errors. */
static int open_failed(const char *path, int rc, struct problems *ps)
{
    ffdb_error_info info;
    if (rc == FFDB_NOTFOUND) {
        cli_msg("check", "%s: no such file", path);
        return EXIT_MISSING;
    }
    if (rc == FFDB_ENOTDB || rc == FFDB_EVERSION)
        return cli_fail("check", path, rc);
    if (rc != FFDB_CORRUPT)
        return cli_fail("check", path, rc);
    ffdb_last_error(&info);
    add_problem(ps, info.code == rc ? info.pgno : UINT64_MAX,
                info.code == rc && info.message[0] ? info.message : ffdb_strerror(rc));
    return 0;
}

static int run_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
    struct problems ps = {0, 0, NULL, 0};
    ffdb_check_result res;
    ffdb_options opt;
    struct watcher w;
    ffdb *db = NULL;
    int c, json = 0, status, rc, opened;

    while ((c = cli_getopt(&cmd_check, argc, argv, "j", opts, &status)) != -1) {
        if (c == CLI_OPT_STOP)
            return status;
        json = 1;
    }
    if ((status = cli_want_args(&cmd_check, argc - optind, 1, 1)) != 0)
        return status;
    memset(&res, 0, sizeof(res));
    memset(&opt, 0, sizeof(opt));
    opt.flags = FFDB_RDONLY;
    rc = ffdb_open(argv[optind], &opt, &db);
    if (rc < 0 && (status = open_failed(argv[optind], rc, &ps)) != 0)
        return status;
    opened = db != NULL;
    if (opened) {
        watcher_start(&w, db);
        rc = ffdb_check(db, add_problem, &ps, &res);
        watcher_stop(&w);
        ffdb_close(db);
        if (rc < 0 && rc != FFDB_CORRUPT)
            status = cli_fail("check", argv[optind], rc);
    }
    if (ps.oom)
        status = cli_fail("check", "problem list", FFDB_ENOMEM);
    if (status == 0) {
        if (json)
            print_json(argv[optind], &ps, &res, opened);
        else
            print_human(argv[optind], &ps, &res, opened);
        status = ps.count ? EXIT_PROBLEMS : EXIT_CLEAN;
    }
    for (size_t i = 0; i < ps.count; i++)
        free(ps.v[i].text);
    free(ps.v);
    return cli_finish_stdout("check", status);
}

const struct cli_command cmd_check = {
    "check", run_check, "check FILE [--json]",
    "Full consistency check; lists every problem with its page number.",
    "Verifies the last commit: every page's checksum and header, key order within\n"
    "and across pages, branch separators, overflow runs, the bucket counters, the\n"
    "freelist, and that every page is reachable exactly once or free (no leaked\n"
    "page, no page owned twice). Each problem is printed as 'page N: what', then a\n"
    "summary line. A file that cannot be opened because it is damaged is reported\n"
    "the same way. Exit status 0 only if the file is clean, 1 if problems were\n"
    "found. Never changes the file.\n\n"
    "  --json   {\"clean\", \"problems\": [{\"page\", \"message\"}], counts...}\n"};
