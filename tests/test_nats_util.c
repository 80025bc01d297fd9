/*
 * test_nats_util.c — starting and stopping real nats-server processes for
 * the tests (see test_nats_util.h).
 */
#include "tests/test_nats_util.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/testutil.h"

#define MAX_NATS 4
#define TN_TIMEOUT_MS 10000

static tn_nats servers[MAX_NATS];
static int server_count;

int64_t tn_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int free_port(void)
{
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    cr_assert(fd >= 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    cr_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* 1 if something on port answers with nats-server's INFO line. */
static int greets(int port)
{
    struct sockaddr_in sa = {0};
    struct pollfd p;
    char buf[8] = {0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = 0;

    if (fd < 0)
        return 0;
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        p.fd = fd;
        p.events = POLLIN;
        if (poll(&p, 1, 1000) == 1 && read(fd, buf, 4) == 4)
            ok = memcmp(buf, "INFO", 4) == 0;
    }
    close(fd);
    return ok;
}

static int spawn_wait(tn_nats *n)
{
    char port[16];
    int64_t deadline;

    snprintf(port, sizeof(port), "%d", n->port);
    fflush(NULL);
    n->pid = fork();
    cr_assert(n->pid >= 0);
    if (n->pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execlp("nats-server", "nats-server", "-a", "127.0.0.1", "-p", port, "-l", n->log,
               (char *)NULL);
        _exit(127);
    }
    deadline = tn_mono_ms() + TN_TIMEOUT_MS;
    while (tn_mono_ms() < deadline) {
        int status;
        if (greets(n->port))
            return 0;
        if (waitpid(n->pid, &status, WNOHANG) == n->pid) {
            n->pid = 0;
            return -1;
        }
        usleep(10000);
    }
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
        n->port = free_port();
        snprintf(n->url, sizeof(n->url), "nats://127.0.0.1:%d", n->port);
        if (spawn_wait(n) == 0)
            return n;
    }
    cr_assert_fail("nats-server would not start (is the nats-server package installed?)");
    return NULL;
}

void tn_stop(tn_nats *n)
{
    int64_t deadline = tn_mono_ms() + TN_TIMEOUT_MS;

    if (n->pid <= 0)
        return;
    kill(n->pid, SIGTERM);
    while (tn_mono_ms() < deadline) {
        if (waitpid(n->pid, NULL, WNOHANG) == n->pid) {
            n->pid = 0;
            return;
        }
        usleep(5000);
    }
    kill(n->pid, SIGKILL);
    waitpid(n->pid, NULL, 0);
    n->pid = 0;
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
        if (servers[i].pid > 0) {
            kill(servers[i].pid, SIGKILL);
            waitpid(servers[i].pid, NULL, 0);
            servers[i].pid = 0;
        }
    server_count = 0;
}
