/*
 * test_crdt_util.h — what the CRDT mode's process tests share
 * (tests/test_crdt_nodes.c, tests/test_crdt_nats.c): one round of
 * conflicting writes, and a counter of OPLOG STATS.
 */
#ifndef FFDB_TESTS_TEST_CRDT_UTIL_H
#define FFDB_TESTS_TEST_CRDT_UTIL_H

#include <stdint.h>

/* Round `round` of node `who` on connection fd: SET on a shared string,
 * HSET on a shared hash field, INCRBY of the shared counter "c" by who + 1
 * (added to *incr), SADD/SREM on the shared set, DEL every fifth round. */
void crdt_write_round(int fd, int who, int round, int64_t *incr);
/* The OPLOG STATS counter name on connection fd (asserts it exists). */
int64_t crdt_stat(int fd, const char *name);

#endif
