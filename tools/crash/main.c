/*
 * main.c — ffdb-crash: arguments, the passes over the four modes, and the
 * counts.
 *
 *   ffdb-crash [--mode all|process|power|ioerr|exhaustive|defer[,...]] [--quick|--thorough]
 *              [--seed N] [--point K] [--scale X] [--dir DIR] [-v]
 *
 * Each mode runs its seeds from --seed on (default: from the clock) and
 * tries crash points; it prints how many it tried and how many failed, and
 * each failure prints the command that replays exactly that point. The exit
 * status is 0 only if no point failed. --quick is the short pass of
 * `make test`, --thorough the long one of `make crashtest`.
 *
 * This file only parses, dispatches and counts; what a crash point is and
 * what counts as recovered is up to each mode and verify.c.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/crash/crash.h"

#define FAILURES_SHOWN 20 /* per mode; the rest are only counted */

static const char *const mode_names[] = {"process", "power", "ioerr", "exhaustive", "defer"};
static void (*const mode_fns[])(const struct opts *, struct tally *) = {
    mode_process, mode_power, mode_ioerr, mode_exhaustive, mode_defer};
#define MODE_COUNT 5

void fail_point(struct tally *t, const struct opts *o, uint64_t seed, uint64_t point,
                const char *fmt, ...)
{
    va_list ap;
    const char *size = o->size == SIZE_QUICK      ? " --quick"
                       : o->size == SIZE_THOROUGH ? " --thorough"
                                                  : "";
    if (t->failed++ < FAILURES_SHOWN) {
        printf("FAIL %s seed %llu point %llu: ", t->mode, (unsigned long long)seed,
               (unsigned long long)point);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n  replay: ffdb-crash --mode %s%s --seed %llu --point %llu -v\n", t->mode, size,
               (unsigned long long)seed, (unsigned long long)point);
        fflush(stdout);
    }
}

/* The point being run, for a last word if the harness itself dies. */
static char current[256];
static size_t current_len;

void point_begin(const struct tally *t, const struct opts *o, uint64_t seed, uint64_t point)
{
    const char *size = o->size == SIZE_QUICK      ? " --quick"
                       : o->size == SIZE_THOROUGH ? " --thorough"
                                                  : "";
    int n = snprintf(current, sizeof(current),
                     "\nffdb-crash died in mode %s seed %llu point %llu\n"
                     "  replay: ffdb-crash --mode %s%s --seed %llu --point %llu -v\n",
                     t->mode, (unsigned long long)seed, (unsigned long long)point, t->mode, size,
                     (unsigned long long)seed, (unsigned long long)point);
    current_len = n > 0 && (size_t)n < sizeof(current) ? (size_t)n : 0;
}

static void last_word(void)
{
    if (current_len)
        (void)!write(STDERR_FILENO, current, current_len);
}

static void on_fatal(int sig)
{
    last_word();
    signal(sig, SIG_DFL);
    raise(sig);
}

#if defined(__SANITIZE_ADDRESS__)
void __sanitizer_set_death_callback(void (*callback)(void));
#endif

void vlog(const struct opts *o, const char *fmt, ...)
{
    va_list ap;
    if (!o->verbose)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: ffdb-crash [--mode all|process|power|ioerr|exhaustive|defer[,...]]\n"
                    "                  [--quick|--thorough] [--seed N] [--point K] [--scale X]\n"
                    "                  [--dir DIR] [-v]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct opts o;
    int want[MODE_COUNT] = {1, 1, 1, 1, 1}, seed_given = 0;
    uint64_t total = 0, failed = 0;
    double t0 = now_s();

    memset(&o, 0, sizeof(o));
    o.size = SIZE_NORMAL;
    o.scale = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) {
            o.size = SIZE_QUICK;
        } else if (!strcmp(a, "--thorough")) {
            o.size = SIZE_THOROUGH;
        } else if (!strcmp(a, "-v")) {
            o.verbose = 1;
        } else if (!strcmp(a, "--seed") && v) {
            o.seed = strtoull(v, NULL, 0);
            seed_given = 1;
            i++;
        } else if (!strcmp(a, "--point") && v) {
            o.point = strtoull(v, NULL, 0);
            o.have_point = 1;
            i++;
        } else if (!strcmp(a, "--scale") && v) {
            o.scale = strtod(v, NULL);
            if (!(o.scale > 0))
                usage();
            i++;
        } else if (!strcmp(a, "--dir") && v) {
            o.dir = v;
            i++;
        } else if (!strcmp(a, "--mode") && v) {
            char buf[256], *save = NULL;
            snprintf(buf, sizeof(buf), "%s", v);
            memset(want, 0, sizeof(want));
            for (char *m = strtok_r(buf, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
                int found = 0;
                for (int k = 0; k < MODE_COUNT; k++)
                    if (!strcmp(m, "all") || !strcmp(m, mode_names[k]))
                        want[k] = found = 1;
                if (!found)
                    usage();
            }
            i++;
        } else {
            usage();
        }
    }
    if (!seed_given)
        o.seed = ((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20)) % 1000000007ull;
    if (o.have_point && (!seed_given || want[0] + want[1] + want[2] + want[3] + want[4] != 1)) {
        fprintf(stderr, "ffdb-crash: --point needs --seed and exactly one --mode\n");
        return 2;
    }
    if (!o.dir) {
        o.dir = getenv("TMPDIR");
        if (!o.dir || !*o.dir)
            o.dir = "/tmp";
    }
    {
        static const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
        for (unsigned i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
            signal(fatal[i], on_fatal);
#if defined(__SANITIZE_ADDRESS__)
        __sanitizer_set_death_callback(last_word);
#endif
    }
    printf("ffdb-crash: seed %llu, %s pass%s\n", (unsigned long long)o.seed,
           o.size == SIZE_QUICK      ? "quick"
           : o.size == SIZE_THOROUGH ? "thorough"
                                     : "normal",
           o.have_point ? " (one point)" : "");
    fflush(stdout);
    for (int k = 0; k < MODE_COUNT; k++) {
        struct tally t;
        double t1;
        if (!want[k])
            continue;
        memset(&t, 0, sizeof(t));
        t.mode = mode_names[k];
        t1 = now_s();
        mode_fns[k](&o, &t);
        current_len = 0;
        printf("%-10s %7llu crash points, %llu failed  (", t.mode, (unsigned long long)t.points,
               (unsigned long long)t.failed);
        for (int n = 0; n < 6; n++)
            if (t.note_name[n])
                printf("%llu %s, ", (unsigned long long)t.note[n], t.note_name[n]);
        printf("%.1f s)\n", now_s() - t1);
        fflush(stdout);
        total += t.points;
        failed += t.failed;
    }
    printf("total: %llu crash points, %llu failed (%.1f s)\n", (unsigned long long)total,
           (unsigned long long)failed, now_s() - t0);
    return failed ? 1 : 0;
}
