/*
 * test_nats_util.h — a real nats-server for the tests that need a bus
 * (tests/test_natsbus.c, tests/test_nats_bridge.c): started on a free
 * loopback port with its log in the test's scratch directory, stopped,
 * restarted on the same port (a reconnect test), and killed at the suite's
 * .fini (tn_teardown) whatever happened. Every wait is bounded.
 */
#ifndef FFDB_TESTS_TEST_NATS_UTIL_H
#define FFDB_TESTS_TEST_NATS_UTIL_H

#include <stdint.h>
#include <sys/types.h>

typedef struct tn_nats {
    pid_t pid;
    int port;
    char url[64]; /* nats://127.0.0.1:PORT */
    char log[512];
} tn_nats;

/* Start nats-server on a free port; waits until it greets a client. */
tn_nats *tn_start(void);
/* SIGTERM and wait. */
void tn_stop(tn_nats *n);
/* Start again on the same port (the clients reconnect to it). */
void tn_restart(tn_nats *n);
/* Kill every nats-server this process started (suite .fini). */
void tn_teardown(void);
/* Milliseconds of the monotonic clock. */
int64_t tn_mono_ms(void);

#endif
