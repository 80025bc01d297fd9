/*
 * test_resp_util.h — helpers of the ffdb-server tests (tests/test_resp_*.c):
 * start the built server ($FFDB_TEST_TOOLS/ffdb-server) on a free loopback
 * port with a data file in the test's scratch directory, a tiny RESP client
 * (RESP2 and RESP3 replies parsed into a tree), and a compact text form of
 * replies that makes assertions one line.
 *
 * Every wait is bounded (RS_TIMEOUT_MS) and every server a test starts is
 * stopped at the suite's .fini (rs_teardown), even when an assertion failed
 * half-way. Use as:
 *
 *   TestSuite(resp_x, .init = rs_setup, .fini = rs_teardown, .timeout = 30);
 *   Test(resp_x, get) {
 *       rs_server *srv = rs_start(NULL);
 *       int fd = rs_connect(srv);
 *       cr_assert_str_eq(rs_q(fd, "SET", "k", "v", NULL), "OK");
 *       cr_assert_str_eq(rs_q(fd, "GET", "k", NULL), "\"v\"");
 *   }
 *
 * Text form (rs_text): simple "OK"; error "-ERR ..."; integer ":3"; bulk
 * "\"bytes\"" (non-printable bytes as \xHH); null "nil"; double ",1.5";
 * bool "#t"; arrays "[a,b]", maps "{k:v,...}", sets "~[..]", pushes ">[..]".
 */
#ifndef FFDB_TESTS_TEST_RESP_UTIL_H
#define FFDB_TESTS_TEST_RESP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RS_TIMEOUT_MS 10000

typedef struct rs_server {
    pid_t pid;
    int port;
    char data[512];      /* the data file */
    char log[512];       /* its log file */
    char extra[16][128]; /* extra arguments it was started with (restart uses them) */
    int extra_count;
} rs_server;

typedef struct rs_reply {
    char type; /* + - : $ * % ~ > _ , # = ( and 'N' for a RESP2 null */
    int64_t integer;
    char *str; /* + - $ , = ( : NUL-terminated, len bytes */
    size_t len;
    struct rs_reply **elems; /* * % ~ > (a map has 2 * n elements) */
    size_t count;
} rs_reply;

/* Suite .init/.fini: scratch directory, and stop every server left. */
void rs_setup(void);
void rs_teardown(void);

/* Start a server with extra "--name value" arguments (a NULL-terminated list,
 * or NULL) on a fresh data file; waits until it accepts connections. */
rs_server *rs_start(const char *const *extra);
/* Start again on the same data file and arguments (after stop or kill). */
void rs_restart(rs_server *s);
/* SIGTERM and wait for a clean exit (asserts exit status 0). */
void rs_stop(rs_server *s);
/* SIGKILL, no goodbye. */
void rs_kill9(rs_server *s);
/* The server's log so far (malloc'd, freed at teardown). */
const char *rs_log(rs_server *s);

/* A connection with receive/send timeouts; asserts on failure. */
int rs_connect(rs_server *s);
void rs_close(int fd);

/* Send one command (NULL-terminated arguments). */
void rs_send(int fd, ...);
void rs_sendv(int fd, int argc, const char *const *argv, const size_t *lens);
/* Send raw bytes. */
void rs_send_raw(int fd, const void *buf, size_t len);
/* Read one reply (NULL on EOF or timeout). Freed at teardown. */
rs_reply *rs_read(int fd);
/* 1 if the peer closed the connection within timeout_ms (all data read). */
int rs_closed(int fd, int timeout_ms);

/* The reply's text form (freed at teardown). */
const char *rs_text(const rs_reply *r);
/* Send, read, text: "EOF" if the connection ended instead. */
const char *rs_q(int fd, ...);
/* rs_q with an argv array. */
const char *rs_qv(int fd, int argc, const char *const *argv);

/* A field of an INFO reply ("connected_clients"), as an integer (-1 if absent). */
int64_t rs_info_int(int fd, const char *field);
/* Wait (bounded: 5 s) until that field says want; asserts otherwise. */
void rs_wait_info_int(int fd, const char *field, int64_t want);

/* Milliseconds of sleep. */
void rs_sleep_ms(int ms);

/* The one-line forms the tests are written in (EQ and READ_EQ expand to
 * criterion's cr_assert_str_eq: include <criterion/criterion.h>, as
 * tests/testutil.h does, before using them).
 *   Q(fd, "GET", "k")            the reply's text form
 *   EQ(fd, "\"v\"", "GET", "k")  assert that text
 *   SEND(fd, "BLPOP", "l", "0")  send without reading (a client that waits)
 *   READ_EQ(fd, "[..]")          read the reply it waited for, assert its text */
#define Q(fd, ...) rs_q(fd, __VA_ARGS__, (const char *)NULL)
#define EQ(fd, want, ...)                                                                          \
    do {                                                                                           \
        const char *got_ = Q(fd, __VA_ARGS__);                                                     \
        cr_assert_str_eq(got_, want, "%s -> %s (want %s)", #__VA_ARGS__, got_, want);              \
    } while (0)
#define SEND(fd, ...) rs_send(fd, __VA_ARGS__, (const char *)NULL)
#define READ_EQ(fd, want)                                                                          \
    do {                                                                                           \
        const char *got_ = rs_text(rs_read(fd));                                                   \
        cr_assert_str_eq(got_, want, "waited-for reply %s (want %s)", got_, want);                 \
    } while (0)

#endif /* FFDB_TESTS_TEST_RESP_UTIL_H */
