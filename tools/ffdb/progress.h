/*
 * progress.h — a progress bar on stderr for the long commands of the ffdb
 * tool (load, dump, compact, check): percentage, count, rate and ETA.
 *
 * It draws only when stderr is a terminal, so scripts and pipes see no
 * progress at all; FFDB_PROGRESS=1 forces it on (tests exercise the drawing
 * that way), FFDB_PROGRESS=0 off. Redraws at most ten times a second and
 * clears its line when done, so results on stdout are never mixed with it.
 */
#ifndef FFDB_TOOL_PROGRESS_H
#define FFDB_TOOL_PROGRESS_H

#include <stdint.h>

struct progress {
    int on;
    const char *label;
    const char *unit; /* "entries", "pages", "bytes" */
    uint64_t total;   /* 0 = unknown: count and rate only */
    uint64_t calls;
    double start, last;
    int drawn;
};

void progress_start(struct progress *p, const char *label, const char *unit, uint64_t total);
/* Cheap enough to call per record: looks at the clock every 256 calls. */
void progress_update(struct progress *p, uint64_t done);
/* Redraw now (for callers that poll, such as check's watcher thread). */
void progress_draw(struct progress *p, uint64_t done);
/* Clear the line. */
void progress_finish(struct progress *p);
/* Clear the line of the bar being drawn, if any, so that a message can be
 * printed; the bar comes back at its next redraw. Called by cli_msg(). */
void progress_interrupt(void);

#endif /* FFDB_TOOL_PROGRESS_H */
