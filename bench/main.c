/*
 * main.c — the side-by-side benchmark's driver: options, running every
 * workload for every engine, and the report (table, JSON, chart data).
 *
 * Each engine+workload runs in its own forked child, so that one engine's
 * memory, threads and page-cache habits never leak into another's figures:
 * the child runs the workload and sends back a wl_result through a pipe;
 * the parent reads the child's peak RSS (ru_maxrss) from wait4(). Engines
 * run one after another for each workload (LMDB first, so every later row
 * can print its ratio at once), which spreads slow drifts of a loaded
 * machine over all engines instead of one. The parent allocates nothing
 * large, so a child starts small.
 *
 *   bench [--quick | --scale] [--n N] [--only w1,w2] [--engines e1,e2]
 *         [--dir DIR] [--out DIR]
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/workloads.h"

#define MAX_ROWS 256

static const struct engine *const all_engines[] = {&engine_lmdb,    &engine_ffdb,
                                                   &engine_ffdb_big, &engine_sqlite,
                                                   &engine_rocksdb, &engine_leveldb};
#define ENGINE_COUNT (sizeof(all_engines) / sizeof(all_engines[0]))

struct row {
    char workload[40];
    const char *dur;
    const char *engine;
    uint64_t ops;
    double seconds, ops_s, us_op, ratio; /* ratio < 0: none */
    double rss_mib;
    double mb_s;                         /* large values */
    double hit_rate;                     /* pool rows, ffdb; < 0: none */
    uint64_t sizes[3];                   /* space rows */
    char note[96];
};

static struct row rows[MAX_ROWS];
static unsigned row_count;
static const char *out_dir = "bench/results";
static const char *data_dir = "build/bench-data";
static char machine_cpu[600], machine_kernel[600], machine_disk[600];
static double load_start[3], load_end[3];
static double idle_rss_mib;
static int quick;

static void usage(void)
{
    fprintf(stderr,
            "usage: bench [--quick | --scale] [--n N] [--only w1,w2,...] [--engines e1,e2,...]\n"
            "             [--dir DATA_DIR] [--out RESULTS_DIR]\n"
            "workloads:");
    for (unsigned w = 0; w < workload_count; w++)
        if (w == 0 || strcmp(workloads[w].name, workloads[w - 1].name) != 0)
            fprintf(stderr, " %s", workloads[w].name);
    fprintf(stderr, "\n");
    exit(1);
}

static int in_list(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        /* A list entry matches a name or a prefix ending in '-' ("conc-"). */
        if ((n == len && memcmp(p, name, n) == 0) || (n && p[n - 1] == '-' && n <= len && memcmp(p, name, n) == 0))
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_store(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-lock", "-journal"};
    char p[4096];
    for (size_t s = 0; s < sizeof(suffixes) / sizeof(suffixes[0]); s++) {
        snprintf(p, sizeof(p), "%s%s", path, suffixes[s]);
        nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
}

static void read_loadavg(double l[3])
{
    FILE *f = fopen("/proc/loadavg", "r");
    l[0] = l[1] = l[2] = -1;
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3)
            l[0] = -1;
        fclose(f);
    }
}

static void read_machine(void)
{
    char line[512], path[128];
    struct utsname u;
    struct stat st;
    FILE *f = fopen("/proc/cpuinfo", "r");
    snprintf(machine_cpu, sizeof(machine_cpu), "unknown");
    while (f && fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(machine_cpu, sizeof(machine_cpu), "%s", colon + 2);
            machine_cpu[strcspn(machine_cpu, "\n")] = 0;
            break;
        }
    }
    if (f)
        fclose(f);
    uname(&u);
    snprintf(machine_kernel, sizeof(machine_kernel), "%s %s", u.sysname, u.release);
    snprintf(machine_disk, sizeof(machine_disk), "unknown");
    if (stat(data_dir, &st) == 0) {
        snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major(st.st_dev), minor(st.st_dev));
        f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
            if (strncmp(line, "DEVNAME=", 8) == 0) {
                line[strcspn(line, "\n")] = 0;
                snprintf(machine_disk, sizeof(machine_disk), "%s", line + 8);
            }
        if (f)
            fclose(f);
    }
}

/* Run one workload for one engine (NULL: the engine-less rawsync) in a
 * child; return 0 and fill res and rss_kib, or -1 if the child failed. */
static int run_child(const struct workload *w, const struct engine *e, const struct bench_params *p,
                     struct wl_result *res, long *rss_kib)
{
    char path[4096];
    int fds[2], status;
    struct rusage ru;
    pid_t pid;
    ssize_t got;

    snprintf(path, sizeof(path), "%s/%s", data_dir, e ? e->name : "disk");
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", data_dir, e ? e->name : "disk", w->store);
    if (w->fresh)
        remove_store(path);
    if (pipe(fds) != 0)
        return -1;
    fflush(stdout);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        struct bench_cfg cfg = {.path = path, .durable = w->dur != DUR_NOSYNC, .create = w->fresh};
        struct wl_ctx c = {.e = e, .p = p, .path = path, .r = res};
        close(fds[0]);
        memset(res, 0, sizeof(*res));
        w->run(&c, w->arg, &cfg);
        if (write(fds[1], res, sizeof(*res)) != (ssize_t)sizeof(*res))
            _exit(3);
        _exit(0);
    }
    close(fds[1]);
    got = read(fds[0], res, sizeof(*res));
    close(fds[0]);
    if (wait4(pid, &status, 0, &ru) < 0)
        return -1;
    *rss_kib = ru.ru_maxrss;
    if (got != (ssize_t)sizeof(*res) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return 0;
}

static double idle_rss(void)
{
    struct rusage ru;
    int status;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
        return -1;
    return (double)ru.ru_maxrss / 1024.0;
}

static const char *dur_name(enum wl_dur d)
{
    return d == DUR_SYNC ? "sync" : d == DUR_NOSYNC ? "nosync" : "-";
}

static const struct row *find_row(const char *workload, const char *dur, const char *engine)
{
    for (unsigned i = 0; i < row_count; i++)
        if (strcmp(rows[i].workload, workload) == 0 && strcmp(rows[i].dur, dur) == 0 &&
            strcmp(rows[i].engine, engine) == 0)
            return &rows[i];
    return NULL;
}

static void print_header(void)
{
    printf("%-20s %-6s %-8s %10s %12s %10s %8s %8s  %s\n", "workload", "dur", "engine", "ops",
           "ops/s", "us/op", "x lmdb", "RSS MiB", "note");
}

static void print_row(const struct row *r)
{
    char ratio[16] = "-", ops_s[16] = "-", us_op[16] = "-";
    if (r->ratio >= 0)
        snprintf(ratio, sizeof(ratio), "%.2f", r->ratio);
    if (r->ops_s > 0) {
        snprintf(ops_s, sizeof(ops_s), "%.0f", r->ops_s);
        snprintf(us_op, sizeof(us_op), "%.2f", r->us_op);
    }
    printf("%-20s %-6s %-8s %10llu %12s %10s %8s %8.1f  %s\n", r->workload, r->dur, r->engine,
           (unsigned long long)r->ops, ops_s, us_op, ratio, r->rss_mib, r->note);
}

static struct row *add_row(const char *workload, enum wl_dur dur, const char *engine, uint64_t ops,
                           double seconds, double rss_mib)
{
    struct row *r = &rows[row_count++], *lm;
    memset(r, 0, sizeof(*r));
    snprintf(r->workload, sizeof(r->workload), "%s", workload);
    r->dur = dur_name(dur);
    r->engine = engine;
    r->ops = ops;
    r->seconds = seconds;
    r->ops_s = seconds > 0 ? (double)ops / seconds : 0;
    r->us_op = ops ? seconds * 1e6 / (double)ops : 0;
    r->rss_mib = rss_mib;
    r->hit_rate = -1;
    r->ratio = -1;
    lm = (struct row *)find_row(workload, r->dur, "lmdb");
    if (lm && lm->ops_s > 0 && r->ops_s > 0)
        r->ratio = r->ops_s / lm->ops_s;
    return r;
}

/* One of the two rows a workload reports ("conc-1r writer", "scan-1x cold"). */
static struct row *sub_row(const struct workload *w, const char *side, enum wl_dur dur,
                           const char *engine, uint64_t ops, double seconds, double rss_mib)
{
    char label[48];
    snprintf(label, sizeof(label), "%s %s", w->name, side);
    return add_row(label, dur, engine, ops, seconds, rss_mib);
}

static void record(const struct workload *w, const struct engine *e, const struct wl_result *res,
                   double rss_mib)
{
    const char *name = e ? e->name : "disk";
    struct row *r;

    switch (w->kind) {
    case WK_CONC:
        r = sub_row(w, "writer", w->dur, name, res->ops, res->seconds, rss_mib);
        snprintf(r->note, sizeof(r->note), "puts in txns of 1000 beside %llu reader(s)",
                 (unsigned long long)w->arg);
        print_row(r);
        r = sub_row(w, "readers", DUR_NONE, name, res->ops2, res->seconds2, rss_mib);
        snprintf(r->note, sizeof(r->note), "gets by %llu thread(s), snapshots of 100",
                 (unsigned long long)w->arg);
        break;
    case WK_SCAN:
        r = sub_row(w, "cold", w->dur, name, res->ops2, res->seconds2, rss_mib);
        snprintf(r->note, sizeof(r->note), "first full scan after open, %llu entries",
                 (unsigned long long)res->ops2);
        print_row(r);
        r = sub_row(w, "warm", w->dur, name, res->ops, res->seconds, rss_mib);
        snprintf(r->note, sizeof(r->note), "the second full scan");
        break;
    case WK_SPACE:
        r = add_row(w->name, w->dur, name, res->ops, 0, rss_mib);
        memcpy(r->sizes, res->sizes, sizeof(r->sizes));
        snprintf(r->note, sizeof(r->note), "MiB: loaded %.1f, 5 rounds w/ reader %.1f, after %.1f",
                 res->sizes[0] / 1048576.0, res->sizes[1] / 1048576.0, res->sizes[2] / 1048576.0);
        break;
    default:
        r = add_row(w->name, w->dur, name, res->ops, res->seconds, rss_mib);
        if (w->kind == WK_LARGE) {
            r->mb_s = (double)res->bytes / res->seconds / 1048576.0;
            snprintf(r->note, sizeof(r->note), "%.1f MiB/s", r->mb_s);
        } else if (w->kind == WK_POOL) {
            if (res->hits + res->misses) {
                r->hit_rate = (double)res->hits / (double)(res->hits + res->misses);
                snprintf(r->note, sizeof(r->note), "pool hit rate %.1f%%, tree %llu pages = %.1fx pool",
                         100 * r->hit_rate, (unsigned long long)res->pages, res->pages / 1024.0);
            } else if (e == &engine_lmdb) {
                snprintf(r->note, sizeof(r->note), "through the OS page cache");
            }
        } else if (w->kind == WK_RAWSYNC) {
            snprintf(r->note, sizeof(r->note), "4 KiB pwrite + fdatasync, in place");
        } else if (strcmp(w->name, "fillsync") == 0) {
            const struct row *raw = find_row("rawsync", "sync", "disk");
            if (raw && raw->ops_s > 0)
                snprintf(r->note, sizeof(r->note), "%.0f%% of the raw fdatasync rate before",
                         100 * r->ops_s / raw->ops_s);
        } else if (strcmp(w->name, "fillseq") == 0) {
            snprintf(r->note, sizeof(r->note), "%s",
                     strncmp(name, "ffdb", 4) == 0 ? "bulk loader, one txn"
                     : e == &engine_lmdb ? "MDB_APPEND, one txn"
                                         : "sorted puts, one commit");
        }
    }
    print_row(r);
}

static void json_str(FILE *f, const char *key, const char *val, int comma)
{
    fprintf(f, "\"%s\": \"", key);
    for (const char *c = val; *c; c++)
        fprintf(f, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
    fprintf(f, "\"%s", comma ? ", " : "");
}

static void write_json(const struct bench_params *p, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
        return;
    }
    fprintf(f, "{\n  \"machine\": {");
    fprintf(f, "\"nproc\": %ld, ", sysconf(_SC_NPROCESSORS_ONLN));
    json_str(f, "cpu", machine_cpu, 1);
    json_str(f, "kernel", machine_kernel, 1);
    json_str(f, "disk", machine_disk, 1);
    fprintf(f, "\"loadavg_start\": [%.2f, %.2f, %.2f], \"loadavg_end\": [%.2f, %.2f, %.2f]},\n",
            load_start[0], load_start[1], load_start[2], load_end[0], load_end[1], load_end[2]);
    fprintf(f,
            "  \"params\": {\"mode\": \"%s\", \"entries\": %llu, \"key_bytes\": %u, \"value_bytes\": %u, "
            "\"batch\": %llu, \"fillsync_commits\": %llu, \"idle_child_rss_mib\": %.1f},\n",
            quick ? "quick" : "full", (unsigned long long)p->n, BENCH_KEY_SIZE, BENCH_VALUE_SIZE,
            (unsigned long long)p->batch, (unsigned long long)p->sync_commits, idle_rss_mib);
    fprintf(f, "  \"rows\": [\n");
    for (unsigned i = 0; i < row_count; i++) {
        const struct row *r = &rows[i];
        fprintf(f, "    {");
        json_str(f, "workload", r->workload, 1);
        json_str(f, "durability", r->dur, 1);
        json_str(f, "engine", r->engine, 1);
        fprintf(f, "\"ops\": %llu, \"seconds\": %.6f, \"ops_per_sec\": %.1f, \"us_per_op\": %.3f, ",
                (unsigned long long)r->ops, r->seconds, r->ops_s, r->us_op);
        if (r->ratio >= 0)
            fprintf(f, "\"ratio_to_lmdb\": %.3f, ", r->ratio);
        if (r->hit_rate >= 0)
            fprintf(f, "\"pool_hit_rate\": %.4f, ", r->hit_rate);
        if (r->mb_s > 0)
            fprintf(f, "\"mib_per_sec\": %.1f, ", r->mb_s);
        if (r->sizes[0])
            fprintf(f, "\"bytes_loaded\": %llu, \"bytes_with_reader\": %llu, \"bytes_after\": %llu, ",
                    (unsigned long long)r->sizes[0], (unsigned long long)r->sizes[1],
                    (unsigned long long)r->sizes[2]);
        fprintf(f, "\"peak_rss_mib\": %.1f, ", r->rss_mib);
        json_str(f, "note", r->note, 0);
        fprintf(f, "}%s\n", i + 1 < row_count ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
}

static void human(char *out, size_t size, double v)
{
    if (v >= 1e6)
        snprintf(out, size, "%.2fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(out, size, "%.1fk", v / 1e3);
    else
        snprintf(out, size, "%.0f", v);
}

/* The README's tables: ops/s with the ratio to LMDB, one column per engine;
 * then peak RSS; then the space rows. */
static void write_markdown(const struct bench_params *p, const char *path)
{
    FILE *f = fopen(path, "w");
    char cell[64];
    if (!f)
        return;
    fprintf(f, "%s run, %llu entries (16-byte keys, 100-byte values), %ld cpus, %s, %s, disk %s, "
               "load average %.2f at the start and %.2f at the end.\n\n",
            quick ? "Quick" : "Full", (unsigned long long)p->n, sysconf(_SC_NPROCESSORS_ONLN), machine_cpu,
            machine_kernel, machine_disk, load_start[0], load_end[0]);
    fprintf(f, "ops/s (ratio to LMDB):\n\n| workload | durability |");
    for (size_t e = 0; e < ENGINE_COUNT; e++)
        fprintf(f, " %s |", all_engines[e]->name);
    fprintf(f, "\n|---|---|");
    for (size_t e = 0; e < ENGINE_COUNT; e++)
        fprintf(f, "---:|");
    fprintf(f, "\n");
    for (unsigned i = 0; i < row_count; i++) {
        const struct row *r = &rows[i];
        if (strcmp(r->engine, "lmdb") != 0 || r->ops_s <= 0)
            continue;
        fprintf(f, "| %s | %s |", r->workload, r->dur);
        for (size_t e = 0; e < ENGINE_COUNT; e++) {
            const struct row *o = find_row(r->workload, r->dur, all_engines[e]->name);
            if (!o || o->ops_s <= 0) {
                fprintf(f, " - |");
                continue;
            }
            human(cell, sizeof(cell), o->ops_s);
            if (e == 0 || o->ratio < 0)
                fprintf(f, " %s |", cell);
            else
                fprintf(f, " %s (%.2fx) |", cell, o->ratio);
        }
        fprintf(f, "\n");
    }
    for (unsigned i = 0; i < row_count; i++)
        if (strcmp(rows[i].workload, "rawsync") == 0)
            fprintf(f, "\nDisk: 4 KiB pwrite + fdatasync in place: %.0f/s.", rows[i].ops_s);
    fprintf(f, "\n\nPeak RSS in MiB (each row in its own process; an idle child: %.1f MiB):\n\n"
               "| workload | durability |", idle_rss_mib);
    for (size_t e = 0; e < ENGINE_COUNT; e++)
        fprintf(f, " %s |", all_engines[e]->name);
    fprintf(f, "\n|---|---|");
    for (size_t e = 0; e < ENGINE_COUNT; e++)
        fprintf(f, "---:|");
    fprintf(f, "\n");
    for (unsigned i = 0; i < row_count; i++) {
        const struct row *r = &rows[i];
        if (strcmp(r->engine, "lmdb") != 0 || strstr(r->workload, " readers"))
            continue;
        fprintf(f, "| %s | %s |", r->workload, r->dur);
        for (size_t e = 0; e < ENGINE_COUNT; e++) {
            const struct row *o = find_row(r->workload, r->dur, all_engines[e]->name);
            fprintf(f, o ? " %.1f |" : " - |", o ? o->rss_mib : 0);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\nSpace (MiB on disk: loaded %llu entries / after 5 rounds of delete-half + reinsert "
               "with a reader open / after the reader ended and one more round):\n\n"
               "| engine | loaded | with reader | after |\n|---|---:|---:|---:|\n",
            (unsigned long long)p->space_n);
    for (unsigned i = 0; i < row_count; i++)
        if (strcmp(rows[i].workload, "space") == 0)
            fprintf(f, "| %s | %.1f | %.1f | %.1f |\n", rows[i].engine, rows[i].sizes[0] / 1048576.0,
                    rows[i].sizes[1] / 1048576.0, rows[i].sizes[2] / 1048576.0);
    fprintf(f, "\nPool size (readrandom; ffdb pool hit rate over the timed reads):\n\n");
    for (unsigned i = 0; i < row_count; i++)
        if (strncmp(rows[i].workload, "pool-", 5) == 0 && rows[i].hit_rate >= 0)
            fprintf(f, "- %s, %s: %s\n", rows[i].workload, rows[i].engine, rows[i].note);
    fclose(f);
}

/* Ratios to LMDB per workload row, one column per other engine, for gnuplot. */
static void write_ratios(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fprintf(f, "row");
    for (size_t e = 1; e < ENGINE_COUNT; e++)
        fprintf(f, "\t%s", all_engines[e]->name);
    fprintf(f, "\n");
    for (unsigned i = 0; i < row_count; i++) {
        const struct row *r = &rows[i];
        int any = 0;
        if (strcmp(r->engine, "lmdb") != 0 || r->ops_s <= 0)
            continue;
        for (size_t e = 1; e < ENGINE_COUNT; e++) {
            const struct row *o = find_row(r->workload, r->dur, all_engines[e]->name);
            any |= o && o->ratio > 0;
        }
        if (!any)
            continue;
        fprintf(f, "\"%s%s%s\"", r->workload, strcmp(r->dur, "-") ? " " : "",
                strcmp(r->dur, "-") ? r->dur : "");
        for (size_t e = 1; e < ENGINE_COUNT; e++) {
            const struct row *o = find_row(r->workload, r->dur, all_engines[e]->name);
            if (o && o->ratio > 0)
                fprintf(f, "\t%.4f", o->ratio);
            else
                fprintf(f, "\tNaN");
        }
        fprintf(f, "\n");
    }
    fclose(f);
}

static void target(const char *what, const char *workload, const char *dur, double goal)
{
    const struct row *r = find_row(workload, dur, "ffdb");
    const struct row *big = find_row(workload, dur, "ffdb-256M");
    if ((!r || r->ratio < 0) && (!big || big->ratio < 0))
        return;
    printf("  %-44s", what);
    if (r && r->ratio >= 0)
        printf("  ffdb %6.2fx %-6s", r->ratio, r->ratio >= goal ? "met" : "MISSED");
    if (big && big->ratio >= 0)
        printf("  ffdb-256M %6.2fx %-6s", big->ratio, big->ratio >= goal ? "met" : "MISSED");
    printf("  (target >= %.1fx)\n", goal);
}

/* The disk's fdatasync rate: the mean of the measurements around fillsync. */
static double raw_sync_rate(void)
{
    double sum = 0;
    int count = 0;
    for (unsigned i = 0; i < row_count; i++)
        if (strcmp(rows[i].workload, "rawsync") == 0 && rows[i].ops_s > 0) {
            sum += rows[i].ops_s;
            count++;
        }
    return count ? sum / count : 0;
}

static void print_targets(void)
{
    const struct row *fs = find_row("fillsync", "sync", "ffdb");
    double worst = 0, raw = raw_sync_rate();
    printf("\nTargets of issue 16 (ffdb / LMDB, same run):\n");
    target("readrandom, data set in the pool (pool-1x)", "pool-1x", "nosync", 1.0);
    target("readrandom, the --n data set", "readrandom", "-", 1.0);
    target("readrandom, 2 GiB file (pool-512x)", "pool-512x", "nosync", 1.0);
    target("readseq", "readseq", "-", 1.0);
    target("readseq, 1x pool, warm", "scan-1x warm", "-", 1.0);
    target("readseq, 16x pool, warm", "scan-16x warm", "-", 1.0);
    target("readseq, 2 GiB file, cold", "scan-512x cold", "-", 1.0);
    target("readseq, 2 GiB file, warm", "scan-512x warm", "-", 1.0);
    target("fillseq: bulk loader vs MDB_APPEND", "fillseq", "sync", 3.0);
    target("fillrandom, txns of 1000, durable", "fillrandom", "sync", 2.0);
    target("fillrandom, txns of 1000, no sync", "fillrandom", "nosync", 2.0);
    target("overwrite, txns of 1000, durable", "overwrite", "sync", 2.0);
    target("overwrite, txns of 1000, no sync", "overwrite", "nosync", 2.0);
    target("fillsync (one put per durable commit)", "fillsync", "sync", 2.0);
    /* The issue's own reading of fillsync's target: half the disk's rate. */
    if (raw > 0 && fs && fs->ops_s > 0)
        printf("  %-44s %5.0f%% of %.0f/s (4 KiB pwrite+fdatasync, mean of the rawsync rows)  %s"
               " (target >= 50%%)\n",
               "fillsync: ffdb's share of the disk's rate", 100 * fs->ops_s / raw, raw,
               fs->ops_s >= 0.5 * raw ? "met" : "MISSED");
    for (unsigned i = 0; i < row_count; i++)
        if (strcmp(rows[i].engine, "ffdb") == 0 && rows[i].rss_mib > worst)
            worst = rows[i].rss_mib;
    if (worst > 0)
        printf("  %-44s %6.1f MiB (the default pool grows with the file)\n", "ffdb peak RSS, worst row",
               worst);
}

int main(int argc, char **argv)
{
    struct bench_params p = {.n = 1000000, .batch = 1000, .sync_commits = 10000, .large_small = 1000,
                             .large_big = 100, .pool_reads = 300000, .conc_seconds = 5.0, .pool_max = 512};
    const char *only = NULL, *engines = NULL;
    char path[4096];
    uint64_t n_set = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--scale") == 0)
            n_set = 10000000;
        else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            n_set = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--engines") == 0 && i + 1 < argc)
            engines = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            data_dir = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out_dir = argv[++i];
        else
            usage();
    }
    if (quick) {
        p = (struct bench_params){.n = 30000, .batch = 1000, .sync_commits = 300, .large_small = 50,
                                  .large_big = 5, .pool_reads = 50000, .conc_seconds = 1.0, .pool_max = 16};
    }
    if (n_set)
        p.n = n_set;
    p.space_n = p.n / 4;
    mkdir("build", 0755);
    mkdir(data_dir, 0755);
    mkdir(out_dir, 0755);
    read_machine();
    read_loadavg(load_start);
    idle_rss_mib = idle_rss();
    (void)bench_value(0); /* build the value table before forking */

    printf("ffdb side-by-side benchmark (%s): %llu entries, %u-byte keys, %u-byte values\n",
           quick ? "quick" : "full", (unsigned long long)p.n, BENCH_KEY_SIZE, BENCH_VALUE_SIZE);
    printf("machine: %ld cpus, %s, %s, disk %s; load average %.2f %.2f %.2f\n",
           sysconf(_SC_NPROCESSORS_ONLN), machine_cpu, machine_kernel, machine_disk, load_start[0],
           load_start[1], load_start[2]);
    printf("each row runs in its own child process; RSS = its peak (an idle child: %.1f MiB)\n",
           idle_rss_mib);
    printf("warm-up: read rows first scan the whole data set, then do 10%% of their pattern, untimed;\n"
           "write rows none. durability: sync = every commit durable, nosync = no syncs, - = reads\n\n");
    print_header();

    for (unsigned w = 0; w < workload_count; w++) {
        const struct workload *wl = &workloads[w];
        if (only && !in_list(only, wl->name) && wl->kind != WK_RAWSYNC)
            continue;
        if (only && wl->kind == WK_RAWSYNC && !in_list(only, "fillsync") && !in_list(only, "rawsync"))
            continue;
        if ((wl->kind == WK_POOL || wl->kind == WK_SCAN) && wl->arg > p.pool_max)
            continue;
        for (size_t e = 0; e < ENGINE_COUNT; e++) {
            const struct engine *en = wl->kind == WK_RAWSYNC ? NULL : all_engines[e];
            struct wl_result res;
            long rss = 0;
            if (en && engines && !in_list(engines, en->name))
                continue;
            if (run_child(wl, en, &p, &res, &rss) != 0) {
                struct row *r = add_row(wl->name, wl->dur, en ? en->name : "disk", 0, 0, rss / 1024.0);
                snprintf(r->note, sizeof(r->note), "FAILED");
                print_row(r);
            } else {
                record(wl, en, &res, rss / 1024.0);
            }
            if (!en)
                break;
        }
    }
    read_loadavg(load_end);
    print_targets();
    printf("\nload average at the end: %.2f %.2f %.2f\n", load_end[0], load_end[1], load_end[2]);
    snprintf(path, sizeof(path), "%s/latest.json", out_dir);
    write_json(&p, path);
    snprintf(path, sizeof(path), "%s/ratios.tsv", out_dir);
    write_ratios(path);
    snprintf(path, sizeof(path), "%s/latest.md", out_dir);
    write_markdown(&p, path);
    printf("wrote %s/latest.json, latest.md and ratios.tsv\n", out_dir);
    return 0;
}
