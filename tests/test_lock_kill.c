/*
 * test_lock_kill.c — the file lock dies with its process.
 *
 * A writer killed with SIGKILL while its io_uring was in use used to leave
 * its flock alive for a moment (the ring, torn down asynchronously, kept the
 * locked file description open), so an immediate reopen got FFDB_ELOCKED.
 * The lock now lives on a descriptor of its own that io_uring never sees.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ffdb.h"
#include "tests/testutil.h"

#define ROUNDS 12

/* The child: commit forever, saying "r" after a few commits (or "e"). */
static void writer_child(const char *path, int out)
{
    ffdb *db;
    ffdb_txn *txn;
    ffdb_bucket *b;
    char v[3000];
    memset(v, 'x', sizeof(v));
    if (ffdb_open(path, NULL, &db) != 0) {
        (void)!write(out, "e", 1);
        _exit(1);
    }
    for (int i = 0;; i++) {
        char k[16];
        int kl = snprintf(k, sizeof(k), "k%d", i);
        if (ffdb_begin_write(db, &txn) != 0)
            _exit(1);
        if (ffdb_bucket_open(txn, "b", 1, &b) != 0 && ffdb_bucket_create(txn, "b", 1, &b) != 0)
            _exit(1);
        ffdb_put(b, k, (size_t)kl, v, sizeof(v));
        ffdb_commit(txn);
        if (i == 5)
            (void)!write(out, "r", 1);
    }
}

TestSuite(lock_kill, .init = tu_setup, .fini = tu_teardown);

Test(lock_kill, reopen_right_after_sigkill)
{
    const char *path = tu_path("db");
    for (int round = 0; round < ROUNDS; round++) {
        int pfd[2];
        char said = 0;
        ffdb *db;
        cr_assert_eq(pipe(pfd), 0);
        pid_t child = fork();
        cr_assert(child >= 0);
        if (child == 0) {
            close(pfd[0]);
            writer_child(path, pfd[1]);
        }
        close(pfd[1]);
        cr_assert_eq(read(pfd[0], &said, 1), 1, "round %d: the writer died early", round);
        close(pfd[0]);
        cr_assert_eq(said, 'r', "round %d: the writer could not open the file", round);
        usleep(1000);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        int rc = ffdb_open(path, NULL, &db);
        cr_assert_eq(rc, 0, "round %d: reopen after SIGKILL returned %s", round, ffdb_strerror(rc));
        ffdb_close(db);
    }
}
