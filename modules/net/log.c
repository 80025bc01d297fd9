/*
 * log.c — Redis-like log lines (see log.h) and the logger's parameters.
 */
#include "modules/net/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *const levels[] = {"debug", "verbose", "notice", "warning", NULL};

const net_param net_log_params[] = {
    {.name = "loglevel",
     .type = NET_PARAM_ENUM,
     .offset = offsetof(net_logger, level),
     .def = "notice",
     .names = levels,
     .bad = "argument(s) must be one of the following: debug, verbose, notice, warning",
     .help = "the least important lines logged"},
    {.name = "logfile",
     .type = NET_PARAM_STRING,
     .offset = offsetof(net_logger, file),
     .size = sizeof(((net_logger *)0)->file),
     .def = "",
     .help = "the file lines are appended to (\"\": stderr)"},
    {.name = NULL},
};

void net_log(const net_logger *lg, int level, const char *fmt, ...)
{
    static const char marks[] = ".-*#";
    char msg[1024], when[64];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    FILE *f = stderr;

    if (lg && level < lg->level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    strftime(when, sizeof(when), "%d %b %Y %H:%M:%S", &tm);
    if (lg && lg->file[0])
        f = fopen(lg->file, "a");
    if (!f)
        return;
    fprintf(f, "%d:M %s.%03d %c %s\n", (int)getpid(), when, (int)(tv.tv_usec / 1000),
            marks[level < NET_LOG_DEBUG     ? 0
                  : level > NET_LOG_WARNING ? 3
                                            : level],
            msg);
    if (f != stderr)
        fclose(f);
    else
        fflush(f);
}
