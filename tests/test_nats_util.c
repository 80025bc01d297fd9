/*
 * test_nats_util.c — starting and stopping real nats-server processes for
 * the tests (see test_nats_util.h).
 */
#include "tests/test_nats_util.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/test_proc.h"
#include "tests/testutil.h"

#define MAX_NATS 4
#define TN_TIMEOUT_MS 10000

static tn_nats servers[MAX_NATS];
static int server_count;

int64_t tn_mono_ms(void)
{
    return tp_mono_ms();
}

/* 1 if something on the port *(int *)arg answers with nats-server's INFO line. */
static int greets(void *arg)
{
    struct pollfd p;
    char buf[8] = {0};
    int fd = tp_connect(*(int *)arg), ok = 0;

    if (fd < 0)
        return 0;
    p.fd = fd;
    p.events = POLLIN;
    if (poll(&p, 1, 1000) == 1 && read(fd, buf, 4) == 4)
        ok = memcmp(buf, "INFO", 4) == 0;
    close(fd);
    return ok;
}

static int spawn_wait(tn_nats *n)
{
    char port[16];
    const char *argv[] = {"nats-server", "-a", "127.0.0.1", "-p", port, "-l", n->log, NULL};

    snprintf(port, sizeof(port), "%d", n->port);
    n->pid = tp_spawn(argv, 1);
    if (tp_wait_ready(&n->pid, greets, &n->port, TN_TIMEOUT_MS) == 0)
        return 0;
    tp_kill(&n->pid);
    return -1;
}

tn_nats *tn_start(void)
{
    tn_nats *n;
    char name[64];

    cr_assert(server_count < MAX_NATS);
    n = &servers[server_count];
    memset(n, 0, sizeof(*n));
    snprintf(name, sizeof(name), "nats%d.log", server_count);
    snprintf(n->log, sizeof(n->log), "%s", tu_path(name));
    server_count++;
    for (int attempt = 0; attempt < 5; attempt++) {
        n->port = tp_free_port();
        snprintf(n->url, sizeof(n->url), "nats://127.0.0.1:%d", n->port);
        if (spawn_wait(n) == 0)
            return n;
    }
    cr_assert_fail("nats-server would not start (is the nats-server package installed?)");
    return NULL;
}

void tn_stop(tn_nats *n)
{
    tp_stop(&n->pid, NULL, TN_TIMEOUT_MS);
}

void tn_restart(tn_nats *n)
{
    cr_assert(n->pid == 0);
    /* The port was ours a moment ago; a parallel test could take it, but
     * then the clients could not come back either: fail clearly. */
    for (int attempt = 0; attempt < 20; attempt++) {
        if (spawn_wait(n) == 0)
            return;
        usleep(100000);
    }
    cr_assert_fail("nats-server did not restart on port %d", n->port);
}

void tn_teardown(void)
{
    for (int i = 0; i < server_count; i++)
        tp_kill(&servers[i].pid);
    server_count = 0;
}
