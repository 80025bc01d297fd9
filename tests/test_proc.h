/*
 * test_proc.h — the one process helper of the tests that run real servers
 * (ffdb-server in test_resp_util.c, nats-server in test_nats_util.c,
 * redis-server in test_resp_diff.c): a free loopback port, fork + exec with
 * the standard descriptors on /dev/null, a bounded wait until the process
 * is ready or dead, a bounded stop, and kill. Every wait has a deadline; the
 * callers keep the pids and kill what is left at their suite's .fini.
 */
#ifndef FFDB_TESTS_TEST_PROC_H
#define FFDB_TESTS_TEST_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* A loopback TCP port that was free a moment ago (the caller retries on a
 * start that fails, since another test may take it first). */
int tp_free_port(void);
/* Milliseconds of the monotonic clock. */
int64_t tp_mono_ms(void);
/* A TCP connection to 127.0.0.1:port (close-on-exec), or -1. */
int tp_connect(int port);
/* 1 if something accepts a connection on the port *(int *)port. */
int tp_accepts(void *port);

/* fork + exec argv (argv[0] looked up in PATH unless it has a '/'); stdin
 * and stdout on /dev/null, stderr too when quiet. Asserts the fork. */
pid_t tp_spawn(const char *const *argv, int quiet);
/* Poll ready(arg) every 10 ms: 0 once it says 1, -1 if the process exited
 * first (*pid becomes 0), -2 after timeout_ms. */
int tp_wait_ready(pid_t *pid, int (*ready)(void *arg), void *arg, int timeout_ms);
/* 0 once the process exited (its status in *status when not NULL, *pid
 * becomes 0), -1 if it still runs after timeout_ms. */
int tp_wait_exit(pid_t *pid, int *status, int timeout_ms);
/* SIGTERM and tp_wait_exit; if it outlives that, SIGKILL and -1. */
int tp_stop(pid_t *pid, int *status, int timeout_ms);
/* SIGKILL and reap; nothing when *pid <= 0. */
void tp_kill(pid_t *pid);

#endif
