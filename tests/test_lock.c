/*
 * test_lock.c — one process owns a file for writing.
 *
 * A helper program (tests/helpers/lock_holder, found through
 * $FFDB_TEST_HELPERS) opens the database in a second process; while it holds
 * it, ffdb_open here returns FFDB_ELOCKED, and after it exits the open
 * succeeds. The other way round, the helper gets FFDB_ELOCKED while this
 * process holds the file. A second handle in the same process is refused
 * too; read-only handles share the file with each other but not with a
 * writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/testutil.h"

TestSuite(lock, .init = tu_setup, .fini = tu_teardown, .timeout = 60);

struct helper {
    pid_t pid;
    int to_child;   /* its stdin */
    int from_child; /* its stdout */
};

static const char *helper_path(void)
{
    static char path[1024];
    const char *dir = getenv("FFDB_TEST_HELPERS");
    if (!dir || !*dir)
        dir = "build/tests/helpers";
    snprintf(path, sizeof path, "%s/lock_holder", dir);
    cr_assert(access(path, X_OK) == 0,
              "helper %s not found (%s); run through `make test` or set FFDB_TEST_HELPERS", path,
              strerror(errno));
    return path;
}

static void spawn(struct helper *h, const char *mode, const char *db)
{
    int in[2], out[2];
    const char *prog = helper_path();
    cr_assert(pipe(in) == 0 && pipe(out) == 0);
    h->pid = fork();
    cr_assert(h->pid >= 0, "fork: %s", strerror(errno));
    if (h->pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execl(prog, prog, mode, db, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    h->to_child = in[1];
    h->from_child = out[0];
}

/* One line from the helper (without the newline), waiting up to 20 s. */
static void read_line(struct helper *h, char *buf, size_t len)
{
    size_t n = 0;
    while (n + 1 < len) {
        struct pollfd p = {h->from_child, POLLIN, 0};
        int r = poll(&p, 1, 20000);
        cr_assert(r > 0, "the helper said nothing for 20 s");
        ssize_t got = read(h->from_child, buf + n, 1);
        cr_assert(got == 1, "the helper closed its output early (after '%.*s')", (int)n, buf);
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = 0;
}

static int finish(struct helper *h)
{
    int status = 0;
    if (h->to_child >= 0)
        close(h->to_child);
    h->to_child = -1;
    cr_assert(waitpid(h->pid, &status, 0) == h->pid);
    close(h->from_child);
    cr_assert(WIFEXITED(status), "the helper died (status 0x%x)", status);
    return WEXITSTATUS(status);
}

static void make_db(const char *path)
{
    ffdb *db = tu_open(path, 0, 0, 0);
    ffdb_txn *txn;
    ffdb_bucket *b;
    TU_OK(ffdb_begin_write(db, &txn));
    TU_OK(ffdb_bucket_create(txn, "b", 1, &b));
    TU_OK(ffdb_put(b, "k", 1, "v", 1));
    TU_OK(ffdb_commit(txn));
    ffdb_close(db);
}

static void expect_data(ffdb *db)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    TU_OK(ffdb_begin_read(db, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &b));
    TU_OK(ffdb_get(b, "k", 1, &v));
    cr_assert(v.size == 1 && memcmp(v.data, "v", 1) == 0);
    ffdb_abort(txn);
}

Test(lock, second_process_holds_the_file)
{
    const char *path = tu_path("db");
    struct helper h;
    char line[64];
    ffdb *db = NULL;
    ffdb_options opt = {0};

    make_db(path);
    spawn(&h, "hold", path);
    read_line(&h, line, sizeof line);
    cr_assert(strcmp(line, "ready") == 0, "helper: %s", line);

    TU_RC(ffdb_open(path, NULL, &db), FFDB_ELOCKED);
    opt.flags = FFDB_RDONLY;
    TU_RC(ffdb_open(path, &opt, &db), FFDB_ELOCKED);
    /* the refused opens changed nothing: still refused, and the helper is fine */
    TU_RC(ffdb_open(path, NULL, &db), FFDB_ELOCKED);

    cr_assert_eq(finish(&h), 0, "the helper failed");
    db = tu_open(path, 0, 0, 0);
    expect_data(db);
    ffdb_close(db);
}

Test(lock, helper_refused_while_we_hold_it)
{
    const char *path = tu_path("db");
    struct helper h;
    char line[64];
    char want[16];

    make_db(path);
    ffdb *db = tu_open(path, 0, 0, 0);
    spawn(&h, "try", path);
    read_line(&h, line, sizeof line);
    snprintf(want, sizeof want, "%d", FFDB_ELOCKED);
    cr_assert(strcmp(line, want) == 0, "the helper's open returned %s, expected %s (ELOCKED)",
              line, want);
    cr_assert_eq(finish(&h), 0);
    /* our handle is unaffected */
    expect_data(db);
    ffdb_close(db);

    spawn(&h, "try", path);
    read_line(&h, line, sizeof line);
    cr_assert(strcmp(line, "0") == 0, "after close the helper's open returned %s", line);
    cr_assert_eq(finish(&h), 0);
}

Test(lock, helper_dies_lock_released)
{
    const char *path = tu_path("db");
    struct helper h;
    char line[64];
    ffdb *db = NULL;

    make_db(path);
    spawn(&h, "hold", path);
    read_line(&h, line, sizeof line);
    cr_assert(strcmp(line, "ready") == 0, "helper: %s", line);
    TU_RC(ffdb_open(path, NULL, &db), FFDB_ELOCKED);
    /* killed, not closed: the lock goes with the process */
    kill(h.pid, SIGKILL);
    int status;
    cr_assert(waitpid(h.pid, &status, 0) == h.pid);
    close(h.to_child);
    close(h.from_child);
    db = tu_open(path, 0, 0, 0);
    expect_data(db);
    ffdb_close(db);
}

Test(lock, same_process_second_handle)
{
    const char *path = tu_path("db");
    ffdb *a, *b = NULL;
    ffdb_options opt = {0};
    ffdb_txn *txn;
    ffdb_bucket *bk;

    make_db(path);
    a = tu_open(path, 0, 0, 0);
    TU_RC(ffdb_open(path, NULL, &b), FFDB_ELOCKED);
    opt.flags = FFDB_RDONLY;
    TU_RC(ffdb_open(path, &opt, &b), FFDB_ELOCKED);
    /* the first handle still works */
    TU_OK(ffdb_begin_write(a, &txn));
    TU_OK(ffdb_bucket_open(txn, "b", 1, &bk));
    TU_OK(ffdb_put(bk, "k2", 2, "v2", 2));
    TU_OK(ffdb_commit(txn));
    expect_data(a);
    ffdb_close(a);
    b = tu_open(path, 0, 0, 0);
    expect_data(b);
    ffdb_close(b);
}

Test(lock, readers_share_writers_do_not)
{
    const char *path = tu_path("db");
    ffdb *r1, *r2, *w = NULL;

    make_db(path);
    r1 = tu_open(path, 0, 0, FFDB_RDONLY);
    r2 = tu_open(path, 0, 0, FFDB_RDONLY);
    expect_data(r1);
    expect_data(r2);
    TU_RC(ffdb_open(path, NULL, &w), FFDB_ELOCKED);
    ffdb_close(r1);
    TU_RC(ffdb_open(path, NULL, &w), FFDB_ELOCKED);
    ffdb_close(r2);
    w = tu_open(path, 0, 0, 0);
    ffdb_close(w);
}
