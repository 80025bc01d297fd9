/*
 * sock.c — the POSIX socket operations behind the seam (sock.h) and the
 * helpers that open listening and connecting sockets. Nothing here keeps
 * state; the connection layer (conn.c) owns every descriptor.
 */
#include "modules/net/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_BACKLOG 511

static int px_accept(void *arg, int lfd, struct sockaddr_storage *sa, socklen_t *len)
{
    int fd = accept4(lfd, (struct sockaddr *)sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    (void)arg;
    return fd < 0 ? -errno : fd;
}

static ssize_t px_read(void *arg, int fd, void *buf, size_t n)
{
    ssize_t r = read(fd, buf, n);
    (void)arg;
    return r < 0 ? -errno : r;
}

static ssize_t px_write(void *arg, int fd, const void *buf, size_t n)
{
    ssize_t r = write(fd, buf, n);
    (void)arg;
    return r < 0 ? -errno : r;
}

static int px_connect(void *arg, int fd, const struct sockaddr *sa, socklen_t len)
{
    (void)arg;
    return connect(fd, sa, len) ? -errno : 0;
}

static int px_close(void *arg, int fd)
{
    (void)arg;
    return close(fd) ? -errno : 0;
}

static const net_sock_ops posix_ops = {px_accept, px_read, px_write, px_connect, px_close, NULL};

const net_sock_ops *net_sock_posix(void)
{
    return &posix_ops;
}

void net_addr_text(const struct sockaddr_storage *sa, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    snprintf(buf, cap, "%s:%d", host, port);
}

static int port_of(int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);

    if (getsockname(fd, (struct sockaddr *)&sa, &len))
        return 0;
    return ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
                                         : ((struct sockaddr_in6 *)&sa)->sin6_port);
}

int net_listen_tcp(const char *addr, int port, int *bound_port, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    char portstr[16];
    int fd = -1, one = 1, rc;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    snprintf(portstr, sizeof(portstr), "%d", port);
    rc = getaddrinfo(strcmp(addr, "*") == 0 ? NULL : addr, portstr, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "bad bind address '%s': %s", addr, gai_strerror(rc));
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (res->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, LISTEN_BACKLOG))
        goto fail;
    *bound_port = port_of(fd);
    freeaddrinfo(res);
    return fd;
fail:
    snprintf(err, errlen, "could not listen on %s:%d: %s", addr, port, strerror(errno));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return -1;
}

int net_socket_for(const char *host, int port, int *fd, struct sockaddr_storage *sa, socklen_t *len,
                   char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    char portstr[16];
    int rc;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof(portstr), "%d", port);
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    *fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        freeaddrinfo(res);
        return -1;
    }
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}
