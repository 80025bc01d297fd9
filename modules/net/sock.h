/*
 * sock.h — the socket seam: every accept, read, write, connect and close of
 * a connection goes through a small table of operations owned by the loop
 * (net_loop_options.sock), as the engine's file I/O goes through ffdb_io. A
 * fault test swaps in a table that injects resets, short writes or EAGAIN;
 * everyone else gets net_sock_posix().
 *
 * Every operation returns what the system call would, with errors as -errno
 * (never -1 and errno). The descriptors are non-blocking.
 *
 * Also here: the helpers that make a listening or a connecting socket
 * (these use the system directly: a fault test injects at the operations).
 */
#ifndef FFDB_NET_SOCK_H
#define FFDB_NET_SOCK_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

typedef struct net_sock_ops {
    /* A new connection on listening socket lfd, non-blocking and close-on-
     * exec; its fd, or -errno (-EAGAIN: none waiting). */
    int (*accept)(void *arg, int lfd, struct sockaddr_storage *sa, socklen_t *len);
    /* Bytes read (0: the peer closed), or -errno. */
    ssize_t (*read)(void *arg, int fd, void *buf, size_t n);
    /* Bytes written (maybe fewer than n), or -errno. */
    ssize_t (*write)(void *arg, int fd, const void *buf, size_t n);
    /* Start connecting fd: 0, -EINPROGRESS (finish with SO_ERROR when
     * writable), or -errno. */
    int (*connect)(void *arg, int fd, const struct sockaddr *sa, socklen_t len);
    int (*close)(void *arg, int fd);
    void *arg;
} net_sock_ops;

/* accept4, read, write, connect, close. */
const net_sock_ops *net_sock_posix(void);

/* A listening TCP socket on addr ("*" = every address, IPv4 or IPv6
 * numeric) and port (0: any free port; *bound_port says which). Returns the
 * fd, or -1 with a message in err. */
int net_listen_tcp(const char *addr, int port, int *bound_port, char *err, size_t errlen);
/* A non-blocking TCP socket for host:port (numeric or a name) and its
 * address; 0, or -1 with a message in err. */
int net_socket_for(const char *host, int port, int *fd, struct sockaddr_storage *sa, socklen_t *len,
                   char *err, size_t errlen);
/* "ip:port" of a socket address. */
void net_addr_text(const struct sockaddr_storage *sa, char *buf, size_t cap);

#endif /* FFDB_NET_SOCK_H */
