/*
 * test_resp_util.c — starting ffdb-server and a tiny RESP client for the
 * server tests (see test_resp_util.h). Nothing here is a test.
 *
 * Allocations made for replies and texts are kept on one list and freed at
 * rs_teardown, so tests stay one-liners and LeakSanitizer stays quiet.
 */
#include "tests/test_resp_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/test_proc.h"
#include "tests/testutil.h"

#define MAX_SERVERS 8

static rs_server servers[MAX_SERVERS];
static int server_count;
static void **garbage;
static size_t garbage_len, garbage_cap;
static int fds[256];
static int fd_count;

static void *keep(void *p)
{
    cr_assert(p, "out of memory");
    if (garbage_len == garbage_cap) {
        garbage_cap = garbage_cap ? garbage_cap * 2 : 256;
        garbage = realloc(garbage, garbage_cap * sizeof(*garbage));
        cr_assert(garbage);
    }
    garbage[garbage_len++] = p;
    return p;
}

void rs_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

void rs_setup(void)
{
    tu_setup();
    server_count = 0;
    fd_count = 0;
    signal(SIGPIPE, SIG_IGN);
}

void rs_teardown(void)
{
    for (int i = 0; i < fd_count; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    fd_count = 0;
    for (int i = 0; i < server_count; i++)
        tp_kill(&servers[i].pid);
    server_count = 0;
    for (size_t i = 0; i < garbage_len; i++)
        free(garbage[i]);
    free(garbage);
    garbage = NULL;
    garbage_len = garbage_cap = 0;
    tu_teardown();
}

/* ---- the server process ------------------------------------------------------------ */

static void spawn(rs_server *s)
{
    const char *dir = getenv("FFDB_TEST_TOOLS");
    char prog[600], port[16];
    const char *argv[64];
    int argc = 0;

    cr_assert(dir && *dir, "FFDB_TEST_TOOLS is not set (run through make test)");
    snprintf(prog, sizeof(prog), "%s/ffdb-server", dir);
    snprintf(port, sizeof(port), "%d", s->port);
    argv[argc++] = prog;
    argv[argc++] = "--port";
    argv[argc++] = port;
    argv[argc++] = "--data";
    argv[argc++] = s->data;
    argv[argc++] = "--logfile";
    argv[argc++] = s->log;
    for (int i = 0; i < s->extra_count; i++)
        argv[argc++] = s->extra[i];
    argv[argc] = NULL;
    s->pid = tp_spawn(argv, 0);
}

/* Wait until the server accepts; 0, or -1 if it died first. */
static int wait_ready(rs_server *s)
{
    int rc = tp_wait_ready(&s->pid, tp_accepts, &s->port, RS_TIMEOUT_MS);

    if (rc == -2)
        cr_assert_fail("ffdb-server did not start within %d ms; log:\n%s", RS_TIMEOUT_MS,
                       rs_log(s));
    return rc;
}

rs_server *rs_start(const char *const *extra)
{
    rs_server *s;
    char name[64];

    cr_assert(server_count < MAX_SERVERS);
    s = &servers[server_count];
    memset(s, 0, sizeof(*s));
    snprintf(name, sizeof(name), "server%d.ffdb", server_count);
    snprintf(s->data, sizeof(s->data), "%s", tu_path(name));
    snprintf(name, sizeof(name), "server%d.log", server_count);
    snprintf(s->log, sizeof(s->log), "%s", tu_path(name));
    server_count++;
    for (; extra && extra[s->extra_count]; s->extra_count++) {
        cr_assert(s->extra_count < 16);
        snprintf(s->extra[s->extra_count], sizeof(s->extra[0]), "%s", extra[s->extra_count]);
    }
    /* A port picked free can be taken before the server binds it: retry. */
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = tp_free_port();
        spawn(s);
        if (wait_ready(s) == 0)
            return s;
    }
    cr_assert_fail("ffdb-server would not start; log:\n%s", rs_log(s));
    return NULL;
}

void rs_restart(rs_server *s)
{
    cr_assert(s->pid == 0, "rs_restart of a running server");
    /* Another test running in parallel may have been handed our port while
     * no one had it bound: then move to a fresh one (the data file is what
     * matters). */
    for (int attempt = 0; attempt < 5; attempt++) {
        spawn(s);
        if (wait_ready(s) == 0)
            return;
        if (!strstr(rs_log(s), "could not listen"))
            break;
        s->port = tp_free_port();
    }
    cr_assert_fail("ffdb-server did not restart; log:\n%s", rs_log(s));
}

void rs_stop(rs_server *s)
{
    int status = 0;

    cr_assert(s->pid > 0);
    if (tp_stop(&s->pid, &status, RS_TIMEOUT_MS))
        cr_assert_fail("ffdb-server did not stop on SIGTERM; log:\n%s", rs_log(s));
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "ffdb-server exited badly (status %d); log:\n%s", status, rs_log(s));
}

void rs_kill9(rs_server *s)
{
    cr_assert(s->pid > 0);
    tp_kill(&s->pid);
}

const char *rs_log(rs_server *s)
{
    size_t len;
    unsigned char *data = tu_read_file(s->log, &len);
    char *text = keep(malloc(len + 1));

    if (len)
        memcpy(text, data, len);
    text[len] = '\0';
    free(data);
    return text;
}

/* ---- the client ------------------------------------------------------------------------ */

int rs_connect(rs_server *s)
{
    struct timeval tv = {RS_TIMEOUT_MS / 1000, 0};
    int one = 1, fd = tp_connect(s->port);

    cr_assert(fd >= 0, "connect to port %d: %s", s->port, strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (fd_count < 256)
        fds[fd_count++] = fd;
    return fd;
}

void rs_close(int fd)
{
    for (int i = 0; i < fd_count; i++)
        if (fds[i] == fd)
            fds[i] = -1;
    close(fd);
}

void rs_send_raw(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        cr_assert(n > 0, "send: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

void rs_sendv(int fd, int argc, const char *const *argv, const size_t *lens)
{
    size_t cap = 64, len = 0;
    char *buf;

    for (int i = 0; i < argc; i++)
        cap += (lens ? lens[i] : strlen(argv[i])) + 32;
    buf = malloc(cap);
    cr_assert(buf);
    len += (size_t)sprintf(buf, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);
        len += (size_t)sprintf(buf + len, "$%zu\r\n", n);
        memcpy(buf + len, argv[i], n);
        len += n;
        buf[len++] = '\r';
        buf[len++] = '\n';
    }
    rs_send_raw(fd, buf, len);
    free(buf);
}

static int collect_args(va_list ap, const char **argv, int cap)
{
    int argc = 0;
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        cr_assert(argc < cap);
        argv[argc++] = a;
    }
    return argc;
}

void rs_send(int fd, ...)
{
    const char *argv[128];
    va_list ap;
    int argc;

    va_start(ap, fd);
    argc = collect_args(ap, argv, 128);
    va_end(ap);
    rs_sendv(fd, argc, argv, NULL);
}

/* A buffered reader per fd (tests use a handful of connections). */
struct rbuf {
    int fd;
    char data[65536];
    size_t start, end;
};
static struct rbuf rbufs[32];

static struct rbuf *rbuf_of(int fd)
{
    for (int i = 0; i < 32; i++)
        if (rbufs[i].fd == fd && (rbufs[i].start || rbufs[i].end))
            return &rbufs[i];
    for (int i = 0; i < 32; i++)
        if (rbufs[i].start == rbufs[i].end) {
            rbufs[i].fd = fd;
            rbufs[i].start = rbufs[i].end = 0;
            return &rbufs[i];
        }
    cr_assert_fail("too many connections with unread data");
    return NULL;
}

static int fill(struct rbuf *b)
{
    ssize_t n;

    if (b->start == b->end)
        b->start = b->end = 0;
    if (b->end == sizeof(b->data)) {
        memmove(b->data, b->data + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
    }
    do
        n = recv(b->fd, b->data + b->end, sizeof(b->data) - b->end, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    b->end += (size_t)n;
    return 0;
}

static int read_byte(struct rbuf *b, char *c)
{
    if (b->start == b->end && fill(b))
        return -1;
    *c = b->data[b->start++];
    return 0;
}

static char *read_line(struct rbuf *b, size_t *len)
{
    size_t cap = 64, n = 0;
    char *line = malloc(cap), c;

    cr_assert(line);
    for (;;) {
        if (read_byte(b, &c)) {
            free(line);
            return NULL;
        }
        if (c == '\n' && n && line[n - 1] == '\r') {
            line[n - 1] = '\0';
            *len = n - 1;
            return line;
        }
        if (n + 2 > cap)
            line = realloc(line, cap *= 2);
        cr_assert(line);
        line[n++] = c;
    }
}

static rs_reply *parse_reply(struct rbuf *b)
{
    size_t len;
    char *line = read_line(b, &len);
    rs_reply *r;

    if (!line)
        return NULL;
    r = keep(calloc(1, sizeof(*r)));
    r->type = line[0];
    switch (line[0]) {
    case '+':
    case '-':
    case ',':
    case '(':
        r->str = keep(strdup(line + 1));
        r->len = len - 1;
        break;
    case ':':
        r->integer = strtoll(line + 1, NULL, 10);
        break;
    case '#':
        r->integer = line[1] == 't';
        break;
    case '_':
        break;
    case '$':
    case '=':
    case '!': {
        long long n = strtoll(line + 1, NULL, 10);
        if (n < 0) {
            r->type = 'N';
            break;
        }
        r->str = keep(malloc((size_t)n + 1));
        for (long long i = 0; i < n; i++)
            if (read_byte(b, &r->str[i])) {
                free(line);
                return NULL;
            }
        r->str[n] = '\0';
        r->len = (size_t)n;
        char cr, lf;
        if (read_byte(b, &cr) || read_byte(b, &lf)) {
            free(line);
            return NULL;
        }
        break;
    }
    case '*':
    case '%':
    case '~':
    case '>': {
        long long n = strtoll(line + 1, NULL, 10);
        if (n < 0) {
            r->type = 'N';
            break;
        }
        if (line[0] == '%')
            n *= 2;
        r->count = (size_t)n;
        r->elems = keep(calloc((size_t)n + 1, sizeof(*r->elems)));
        for (long long i = 0; i < n; i++)
            if (!(r->elems[i] = parse_reply(b))) {
                free(line);
                return NULL;
            }
        break;
    }
    default:
        cr_assert_fail("bad reply line: %s", line);
    }
    free(line);
    return r;
}

rs_reply *rs_read(int fd)
{
    return parse_reply(rbuf_of(fd));
}

int rs_closed(int fd, int timeout_ms)
{
    struct rbuf *b = rbuf_of(fd);
    int64_t deadline = tp_mono_ms() + timeout_ms;

    b->start = b->end = 0; /* unread data does not matter here */
    while (tp_mono_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        char buf[4096];
        if (poll(&p, 1, 50) > 0) {
            ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                return 1;
        }
    }
    return 0;
}

/* ---- text form ------------------------------------------------------------------------------ */

static void text_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap)
            *cap = *cap ? *cap * 2 : 256;
        *buf = realloc(*buf, *cap);
        cr_assert(*buf);
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
}

static void text_of(const rs_reply *r, char **buf, size_t *len, size_t *cap)
{
    char tmp[64];

    switch (r->type) {
    case '+':
        text_append(buf, len, cap, r->str, r->len);
        break;
    case '-':
        text_append(buf, len, cap, "-", 1);
        text_append(buf, len, cap, r->str, r->len);
        break;
    case ':':
        text_append(buf, len, cap, tmp, (size_t)sprintf(tmp, ":%lld", (long long)r->integer));
        break;
    case '#':
        text_append(buf, len, cap, r->integer ? "#t" : "#f", 2);
        break;
    case ',':
        text_append(buf, len, cap, ",", 1);
        text_append(buf, len, cap, r->str, r->len);
        break;
    case '_':
    case 'N':
        text_append(buf, len, cap, "nil", 3);
        break;
    case '$':
    case '=':
        text_append(buf, len, cap, "\"", 1);
        for (size_t i = 0; i < r->len; i++) {
            unsigned char c = (unsigned char)r->str[i];
            if (c >= 32 && c < 127 && c != '"' && c != '\\')
                text_append(buf, len, cap, (char *)&c, 1);
            else
                text_append(buf, len, cap, tmp, (size_t)sprintf(tmp, "\\x%02x", c));
        }
        text_append(buf, len, cap, "\"", 1);
        break;
    default: { /* aggregates */
        const char *open = r->type == '%'   ? "{"
                           : r->type == '~' ? "~["
                           : r->type == '>' ? ">["
                                            : "[";
        text_append(buf, len, cap, open, strlen(open));
        for (size_t i = 0; i < r->count; i++) {
            if (i)
                text_append(buf, len, cap, r->type == '%' && i % 2 ? ":" : ",", 1);
            text_of(r->elems[i], buf, len, cap);
        }
        text_append(buf, len, cap, r->type == '%' ? "}" : "]", 1);
    }
    }
}

const char *rs_text(const rs_reply *r)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (!r)
        return "EOF";
    text_append(&buf, &len, &cap, "", 0);
    text_of(r, &buf, &len, &cap);
    return keep(buf);
}

const char *rs_qv(int fd, int argc, const char *const *argv)
{
    rs_sendv(fd, argc, argv, NULL);
    return rs_text(rs_read(fd));
}

const char *rs_q(int fd, ...)
{
    const char *argv[128];
    va_list ap;
    int argc;

    va_start(ap, fd);
    argc = collect_args(ap, argv, 128);
    va_end(ap);
    return rs_qv(fd, argc, argv);
}

int64_t rs_info_int(int fd, const char *field)
{
    rs_reply *r;
    const char *p;
    size_t n = strlen(field);

    rs_send(fd, "INFO", "everything", NULL);
    r = rs_read(fd);
    cr_assert(r && r->str, "INFO failed");
    for (p = r->str; (p = strstr(p, field)) != NULL; p += n)
        if ((p == r->str || p[-1] == '\n') && p[n] == ':')
            return strtoll(p + n + 1, NULL, 10);
    return -1;
}

void rs_wait_info_int(int fd, const char *field, int64_t want)
{
    for (int i = 0; i < 500; i++) {
        if (rs_info_int(fd, field) == want)
            return;
        rs_sleep_ms(10);
    }
    cr_assert_fail("%s never reached %lld (is %lld)", field, (long long)want,
                   (long long)rs_info_int(fd, field));
}
