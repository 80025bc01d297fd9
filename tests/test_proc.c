/*
 * test_proc.c — starting, waiting for and stopping server processes for the
 * tests (see test_proc.h).
 */
#include "tests/test_proc.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t tp_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

int tp_free_port(void)
{
    struct sockaddr_in sa = loopback(0);
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    cr_assert(fd >= 0);
    cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    cr_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

int tp_connect(int port)
{
    struct sockaddr_in sa = loopback(port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        close(fd);
        return -1;
    }
    return fd;
}

int tp_accepts(void *port)
{
    int fd = tp_connect(*(int *)port);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

pid_t tp_spawn(const char *const *argv, int quiet)
{
    pid_t pid;

    fflush(NULL);
    pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        if (quiet)
            dup2(null, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int tp_wait_ready(pid_t *pid, int (*ready)(void *arg), void *arg, int timeout_ms)
{
    int64_t deadline = tp_mono_ms() + timeout_ms;

    while (tp_mono_ms() < deadline) {
        if (ready(arg))
            return 0;
        if (waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = 0;
            return -1;
        }
        sleep_ms(10);
    }
    return -2;
}

int tp_wait_exit(pid_t *pid, int *status, int timeout_ms)
{
    int64_t deadline = tp_mono_ms() + timeout_ms;

    while (tp_mono_ms() < deadline) {
        if (waitpid(*pid, status, WNOHANG) == *pid) {
            *pid = 0;
            return 0;
        }
        sleep_ms(5);
    }
    return -1;
}

int tp_stop(pid_t *pid, int *status, int timeout_ms)
{
    if (*pid <= 0)
        return 0;
    kill(*pid, SIGTERM);
    if (tp_wait_exit(pid, status, timeout_ms) == 0)
        return 0;
    tp_kill(pid);
    return -1;
}

void tp_kill(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}
