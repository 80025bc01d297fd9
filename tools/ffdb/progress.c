/*
 * progress.c — the progress bar of progress.h.
 *
 * Called from the record loops of load, dump and compact, and from check's
 * watcher thread; one struct progress is only ever touched by one thread.
 * Writes to stderr only, and only when it is on.
 */
#include "tools/ffdb/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 30
#define LINE_WIDTH 100

/* The bar of this process's command (one at a time), for progress_interrupt. */
static struct progress *active;
#define REDRAW_SECONDS 0.1

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int wanted(void)
{
    const char *env = getenv("FFDB_PROGRESS");
    if (env && *env)
        return strcmp(env, "0") != 0;
    return isatty(STDERR_FILENO);
}

void progress_start(struct progress *p, const char *label, const char *unit, uint64_t total)
{
    memset(p, 0, sizeof(*p));
    p->on = wanted();
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->start = p->last = now();
    if (p->on)
        active = p;
    progress_draw(p, 0);
}

/* 1234567 -> "1.2M": counts and rates in three significant digits. */
static void human(double v, char *out, size_t size)
{
    static const char suffix[] = " kMGTP";
    int i = 0;
    while (v >= 1000 && i < 5) {
        v /= 1000;
        i++;
    }
    if (i == 0)
        snprintf(out, size, "%.0f", v);
    else
        snprintf(out, size, "%.*f%c", v < 10 ? 2 : v < 100 ? 1 : 0, v, suffix[i]);
}

void progress_draw(struct progress *p, uint64_t done)
{
    double t = now(), elapsed = t - p->start, rate = elapsed > 0 ? (double)done / elapsed : 0;
    char count[16], ratebuf[16];

    if (!p->on)
        return;
    p->last = t;
    p->drawn = 1;
    human((double)done, count, sizeof(count));
    human(rate, ratebuf, sizeof(ratebuf));
    if (p->total == 0) {
        fprintf(stderr, "\r%s %s %s, %s/s   ", p->label, count, p->unit, ratebuf);
    } else {
        double frac = done >= p->total ? 1.0 : (double)done / (double)p->total;
        int fill = (int)(frac * BAR_WIDTH);
        char bar[BAR_WIDTH + 1];
        double eta = rate > 0 ? (double)(p->total - (done < p->total ? done : p->total)) / rate : 0;
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
        bar[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r%s [%s] %3d%% %s %s, %s/s, ETA %d:%02d   ", p->label, bar,
                (int)(frac * 100), count, p->unit, ratebuf, (int)eta / 60, (int)eta % 60);
    }
    fflush(stderr);
}

void progress_update(struct progress *p, uint64_t done)
{
    if (!p->on || (++p->calls & 255) != 0)
        return;
    if (now() - p->last >= REDRAW_SECONDS)
        progress_draw(p, done);
}

static void clear_line(struct progress *p)
{
    if (!p->on || !p->drawn)
        return;
    fprintf(stderr, "\r%*s\r", LINE_WIDTH, "");
    fflush(stderr);
    p->drawn = 0;
}

void progress_finish(struct progress *p)
{
    clear_line(p);
    if (active == p)
        active = NULL;
}

void progress_interrupt(void)
{
    if (active)
        clear_line(active);
}
