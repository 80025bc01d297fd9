/*
 * log.h — the log of a server: Redis-like lines ("pid:M 01 Jan 2025
 * 12:00:00.000 * message") at four levels, to stderr or appended to a
 * logfile (opened per line, so a rotated file is picked up at once).
 * Every module logs through the server's one net_logger; its parameters
 * (loglevel, logfile) are a config table (net_log_params) the program
 * registers.
 *
 * Threading: any thread may log (one line is one fprintf), but the logger's
 * settings change only on the loop thread.
 */
#ifndef FFDB_NET_LOG_H
#define FFDB_NET_LOG_H

#include "modules/net/config.h"

enum { NET_LOG_DEBUG = 0, NET_LOG_VERBOSE = 1, NET_LOG_NOTICE = 2, NET_LOG_WARNING = 3 };

typedef struct net_logger {
    int level;       /* lines below it are dropped */
    char file[1024]; /* "" = stderr */
} net_logger;

/* loglevel debug|verbose|notice|warning, logfile PATH (base: a net_logger). */
extern const net_param net_log_params[];

/* A line at level (lg NULL: stderr, every level). */
void net_log(const net_logger *lg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* FFDB_NET_LOG_H */
