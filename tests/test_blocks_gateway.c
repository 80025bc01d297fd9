/*
 * test_blocks_gateway.c — the HTTP gateway (modules/blocks/gateway.c)
 * through a real `ffdb-blocks serve --port 0` process and curl: file
 * bytes, raw blocks and CARs by Accept and ?format=, HEAD, paths through
 * UnixFS directories, dag-scope, the probe CID, If-None-Match, and the
 * status codes 400/404/405/406/416/501; and a client reading a large file
 * slowly while other requests (a block, ranges, a whole CAR) are answered
 * and no temporary file can be made (TMPDIR missing: bodies are streamed
 * from the store). The server's address comes from its
 * stdout (bounded wait); it dies with the test process (PR_SET_PDEATHSIG)
 * and is killed at the end.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "modules/blocks/blocks.h"
#include "tests/test_blocks_util.h"
#include "tests/testutil.h"

static pid_t server_pid;

/* SIGTERM, then SIGKILL after 2 s; returns the wait status (-1 if none ran). */
static int kill_server(void)
{
    int status = -1;
    if (server_pid <= 0)
        return -1;
    kill(server_pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
            server_pid = 0;
            return status;
        }
        usleep(20000);
    }
    kill(server_pid, SIGKILL);
    waitpid(server_pid, &status, 0);
    server_pid = 0;
    return status;
}

static void fini(void)
{
    kill_server();
    tu_teardown();
}

TestSuite(blocks_gateway, .init = tu_setup, .fini = fini, .timeout = 120);

/* Starts the server on the test's store; addr gets "127.0.0.1:PORT". */
static void start_server(char *addr, size_t cap)
{
    const char *tools = getenv("FFDB_TEST_TOOLS");
    char tool[4096];
    int fds[2];
    cr_assert(tools && *tools, "FFDB_TEST_TOOLS is not set (run through make test)");
    snprintf(tool, sizeof tool, "%s/ffdb-blocks", tools);
    cr_assert_eq(pipe(fds), 0);
    server_pid = fork();
    cr_assert_geq(server_pid, 0);
    if (server_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(tool, tool, "--store", tb_store_path(), "serve", "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    while (n + 1 < cap && (n == 0 || addr[n - 1] != '\n')) {
        cr_assert_gt(poll(&p, 1, 10000), 0, "the server printed no address within 10 s");
        ssize_t got = read(fds[0], addr + n, cap - 1 - n);
        cr_assert_gt(got, 0, "the server exited before listening");
        n += (size_t)got;
    }
    close(fds[0]);
    addr[n - 1] = 0;
}

typedef struct reply {
    int code;
    char type[256];
    long size;
    char headers[4096];
} reply;

/* curl URL with extra options (a string shell-quoted by the caller); the
 * body goes to tu_path(out) (NULL: discarded). */
static reply curl(const char *addr, const char *opts, const char *path, const char *out)
{
    char cmd[8192], hdr[4096];
    reply r = {0};
    snprintf(hdr, sizeof hdr, "%s", tu_path("headers"));
    snprintf(cmd, sizeof cmd,
             "curl -s -S --max-time 20 %s -D '%s' -o '%s' -w '%%{http_code} %%{size_download} "
             "%%{content_type}' 'http://%s%s'",
             opts, hdr, out ? tu_path(out) : "/dev/null", addr, path);
    FILE *f = popen(cmd, "r");
    cr_assert(f);
    char line[512] = "";
    if (!fgets(line, sizeof line, f))
        line[0] = 0;
    cr_assert_eq(pclose(f), 0, "curl failed: %s", cmd);
    cr_assert_geq(sscanf(line, "%d %ld %255[^\n]", &r.code, &r.size, r.type), 2, "%s", line);
    size_t hlen;
    unsigned char *h = tu_read_file(hdr, &hlen);
    snprintf(r.headers, sizeof r.headers, "%.*s", (int)hlen, h);
    free(h);
    return r;
}

static void expect_body(const char *out, const void *want, size_t len)
{
    size_t got;
    unsigned char *b = tu_read_file(tu_path(out), &got);
    cr_assert_eq(got, len, "body of %zu bytes, expected %zu", got, len);
    cr_assert(len == 0 || memcmp(b, want, len) == 0, "body differs");
    free(b);
}

static long read_file(void *arg, void *buf, size_t len)
{
    size_t n = fread(buf, 1, len, arg);
    return n == 0 && ferror((FILE *)arg) ? -1 : (long)n;
}

static int import_car(const char *car, const char *store, blocks **bs, blocks_car_info *info)
{
    FILE *f = fopen(tu_path(car), "rb");
    cr_assert(f);
    TB_OK(blocks_open(tu_path(store), NULL, bs));
    int rc = blocks_car_import(*bs, read_file, f, 0, info);
    fclose(f);
    return rc;
}

static void put_dir(blocks *bs, const char *name, const ipld_cid *child, ipld_cid *cid)
{
    ipld_unixfs u = {.type = IPLD_UNIXFS_DIRECTORY};
    uint8_t data[16], buf[1024];
    size_t dlen, len;
    TB_OK(ipld_unixfs_encode(&u, data, sizeof data, &dlen));
    ipld_pb_link l = {.cid = *child,
                      .name = (const uint8_t *)name,
                      .name_len = strlen(name),
                      .has_name = 1,
                      .tsize = 1,
                      .has_tsize = 1};
    ipld_pb_node node = {
        .links = &l, .link_count = 1, .data = data, .data_len = dlen, .has_data = 1};
    TB_OK(ipld_pb_encode(&node, buf, sizeof buf, &len));
    TB_OK(ipld_cid_of(0, IPLD_CODEC_DAG_PB, IPLD_MH_SHA2_256, buf, len, cid));
    TB_OK(blocks_put(bs, cid, buf, len));
}

Test(blocks_gateway, trustless_subset)
{
    blocks *bs = tb_open(NULL);
    blocks_add_options ao = {.raw_leaves = -1, .chunk_size = 1024, .max_links = 8, .pin = 1};
    enum { FILE_SIZE = 100000 };
    uint8_t *file = malloc(FILE_SIZE);
    ipld_cid root, dir, top, commit;
    tb_stream s;
    uint64_t size;
    char addr[128], rs[IPLD_CID_STR_MAX], ds[IPLD_CID_STR_MAX], cs[IPLD_CID_STR_MAX];
    char url[1024];
    tb_stream_init(&s, "gateway", FILE_SIZE);
    tb_stream_bytes(&s, 0, file, FILE_SIZE);
    TB_OK(blocks_add(bs, tb_stream_read, &s, &ao, &root, &size));
    put_dir(bs, "file.bin", &root, &dir);
    put_dir(bs, "sub", &dir, &top);
    TB_OK(blocks_commit_root(bs, &top, "for the gateway", NULL, 0, &commit));
    void *rootblock;
    size_t rootlen;
    TB_OK(blocks_get(bs, &root, 1, &rootblock, &rootlen));
    blocks_stat st;
    TB_OK(blocks_stat_get(bs, &st));
    uint64_t stored = st.blocks[0] + st.blocks[1];
    TB_OK(blocks_close(bs));
    ipld_cid_str(&root, rs);
    ipld_cid_str(&top, ds);
    ipld_cid_str(&commit, cs);
    start_server(addr, sizeof addr);

    /* plain GET: the file's bytes */
    snprintf(url, sizeof url, "/ipfs/%s", rs);
    reply r = curl(addr, "", url, "body");
    cr_assert_eq(r.code, 200);
    cr_assert_str_eq(r.type, "application/octet-stream");
    expect_body("body", file, FILE_SIZE);
    cr_assert(strstr(r.headers, "immutable"), "%s", r.headers);
    /* HEAD: the same headers, no body */
    r = curl(addr, "-I", url, "body");
    cr_assert_eq(r.code, 200);
    cr_assert_eq(r.size, 0);
    cr_assert(strstr(r.headers, "Content-Length: 100000"), "%s", r.headers);
    /* raw block by Accept and by ?format= */
    r = curl(addr, "-H 'Accept: application/vnd.ipld.raw'", url, "raw");
    cr_assert_eq(r.code, 200);
    cr_assert_str_eq(r.type, "application/vnd.ipld.raw");
    expect_body("raw", rootblock, rootlen);
    cr_assert(strstr(r.headers, "attachment; filename=\""), "%s", r.headers);
    snprintf(url, sizeof url, "/ipfs/%s?format=raw", rs);
    r = curl(addr, "-H 'Accept: text/html'", url, "raw");
    cr_assert_eq(r.code, 200);
    expect_body("raw", rootblock, rootlen);
    free(rootblock);
    /* q-values choose */
    snprintf(url, sizeof url, "/ipfs/%s", rs);
    r = curl(addr, "-H 'Accept: application/vnd.ipld.raw;q=0.5, application/vnd.ipld.car;q=0.9'",
             url, NULL);
    cr_assert_str_eq(r.type, "application/vnd.ipld.car; version=1; order=dfs; dups=n");
    /* CAR of the whole DAG under the top directory: import into a fresh store */
    snprintf(url, sizeof url, "/ipfs/%s?format=car", ds);
    r = curl(addr, "", url, "dag.car");
    cr_assert_eq(r.code, 200);
    cr_assert_str_eq(r.type, "application/vnd.ipld.car; version=1; order=dfs; dups=n");
    {
        blocks *fresh;
        blocks_car_info info;
        tb_stream back;
        cr_assert_eq(import_car("dag.car", "fresh.ffdb", &fresh, &info), 0);
        cr_assert_eq(info.root_count, 1);
        cr_assert(ipld_cid_equal(&info.roots[0], &top));
        cr_assert_eq(info.blocks, stored - 1 /* all but the commit */);
        tb_stream_init(&back, "gateway", FILE_SIZE);
        TB_OK(blocks_cat(fresh, &root, tb_stream_compare, &back));
        blocks_car_info_free(&info);
        TB_OK(blocks_close(fresh));
    }
    /* dag-scope=block: one section */
    snprintf(url, sizeof url, "/ipfs/%s?format=car&dag-scope=block", rs);
    r = curl(addr, "", url, "block.car");
    cr_assert_eq(r.code, 200);
    {
        blocks *fresh;
        blocks_car_info info;
        cr_assert_eq(import_car("block.car", "fresh2.ffdb", &fresh, &info), 0);
        cr_assert_eq(info.blocks, 1);
        cr_assert_eq(blocks_has(fresh, &root), 1);
        blocks_car_info_free(&info);
        TB_OK(blocks_close(fresh));
    }
    snprintf(url, sizeof url, "/ipfs/%s?format=car&dag-scope=nope", rs);
    cr_assert_eq(curl(addr, "", url, NULL).code, 400);
    /* a path through directories */
    snprintf(url, sizeof url, "/ipfs/%s/sub/file.bin", ds);
    r = curl(addr, "", url, "body");
    cr_assert_eq(r.code, 200);
    expect_body("body", file, FILE_SIZE);
    snprintf(url, sizeof url, "/ipfs/%s/sub/nosuch", ds);
    cr_assert_eq(curl(addr, "", url, NULL).code, 404);
    snprintf(url, sizeof url, "/ipfs/%s/sub?format=raw", ds);
    cr_assert_eq(curl(addr, "", url, NULL).code, 400);
    snprintf(url, sizeof url, "/ipfs/%s/sub?format=car", ds);
    cr_assert_eq(curl(addr, "", url, NULL).code, 501);
    /* not files: a directory, a commit (dag-cbor) */
    snprintf(url, sizeof url, "/ipfs/%s", ds);
    cr_assert_eq(curl(addr, "", url, NULL).code, 406);
    snprintf(url, sizeof url, "/ipfs/%s", cs);
    cr_assert_eq(curl(addr, "", url, NULL).code, 406);
    snprintf(url, sizeof url, "/ipfs/%s?format=raw", cs);
    cr_assert_eq(curl(addr, "", url, NULL).code, 200);
    /* what is not served */
    snprintf(url, sizeof url, "/ipfs/%s", rs);
    cr_assert_eq(curl(addr, "-H 'Accept: application/vnd.ipld.dag-json'", url, NULL).code, 406);
    cr_assert_eq(curl(addr, "-H 'Accept: application/vnd.ipld.car; version=2'", url, NULL).code,
                 406);
    cr_assert_eq(curl(addr, "-H 'Accept: application/vnd.ipld.car; dups=y'", url, NULL).code, 406);
    snprintf(url, sizeof url, "/ipfs/%s?format=dag-json", rs);
    cr_assert_eq(curl(addr, "", url, NULL).code, 406);
    snprintf(url, sizeof url, "/ipfs/%s?format=xyz", rs);
    cr_assert_eq(curl(addr, "", url, NULL).code, 400);
    snprintf(url, sizeof url, "/ipfs/%s", rs);
    cr_assert_eq(curl(addr, "-X POST", url, NULL).code, 405);
    cr_assert_eq(curl(addr, "", "/ipfs/notacid", NULL).code, 400);
    cr_assert_eq(
        curl(addr, "", "/ipfs/bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", NULL)
            .code,
        404);
    cr_assert_eq(curl(addr, "-H 'Accept: application/vnd.ipld.raw'",
                      "/ipfs/bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", NULL)
                     .code,
                 404);
    cr_assert_eq(
        curl(addr, "-I", "/ipfs/bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", NULL)
            .code,
        404);
    cr_assert_eq(curl(addr, "", "/elsewhere", NULL).code, 404);
    cr_assert_eq(curl(addr, "", "/ipns/example.com", NULL).code, 501);
    /* the probe CID */
    r = curl(addr, "", "/ipfs/bafkqaaa?format=raw", "probe");
    cr_assert_eq(r.code, 200);
    cr_assert_eq(r.size, 0);
    r = curl(addr, "", "/ipfs/bafkqaaa?format=car", "probe.car");
    cr_assert_eq(r.code, 200);
    cr_assert_gt(r.size, 0);
    /* If-None-Match */
    snprintf(url, sizeof url, "/ipfs/%s?format=raw", rs);
    char opt[512];
    snprintf(opt, sizeof opt, "-H 'If-None-Match: \"%s.raw\"'", rs);
    cr_assert_eq(curl(addr, opt, url, NULL).code, 304);
    int status = kill_server();
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the server did not stop cleanly on SIGTERM (status %d)", status);
    free(file);
}

/* A GET on its own socket with a small receive buffer: the slow client. */
static int slow_get(const char *addr, const char *path)
{
    char host[64], req[1024];
    int port, fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    cr_assert_eq(sscanf(addr, "%63[^:]:%d", host, &port), 2, "%s", addr);
    cr_assert_geq(fd, 0);
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    sa.sin_port = htons((uint16_t)port);
    cr_assert_eq(inet_pton(AF_INET, host, &sa.sin_addr), 1);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr);
    cr_assert_eq(write(fd, req, (size_t)n), n);
    return fd;
}

/* Up to cap bytes from fd, waiting at most 10 s for the first; 0 at its end. */
static size_t recv_some(int fd, void *buf, size_t cap)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_gt(poll(&p, 1, 10000), 0, "the server sent nothing for 10 s");
    ssize_t n = recv(fd, buf, cap, 0);
    cr_assert_geq(n, 0);
    return (size_t)n;
}

Test(blocks_gateway, slow_client_streams)
{
    enum { SIZE = 32 << 20 };
    blocks *bs = tb_open(NULL);
    blocks_add_options ao = {.raw_leaves = -1, .pin = 1};
    ipld_cid root, small;
    tb_stream s;
    uint64_t size;
    char addr[128], rs[IPLD_CID_STR_MAX], ss[IPLD_CID_STR_MAX], url[1024], hdr[8192];
    tb_stream_init(&s, "slow", SIZE);
    TB_OK(blocks_add(bs, tb_stream_read, &s, &ao, &root, &size));
    tb_put(bs, 7, 100);
    tb_block_cid(7, 100, &small);
    blocks_stat st;
    TB_OK(blocks_stat_get(bs, &st));
    uint64_t stored = st.blocks[0] + st.blocks[1] - 1;
    TB_OK(blocks_close(bs));
    ipld_cid_str(&root, rs);
    ipld_cid_str(&small, ss);
    setenv("TMPDIR", tu_path("no-such-dir"), 1); /* the server could not spool a body */
    start_server(addr, sizeof addr);

    /* A: the headers and the first bytes, then it stops reading */
    snprintf(url, sizeof url, "/ipfs/%s", rs);
    int fd = slow_get(addr, url);
    size_t hlen = 0;
    char *end = NULL;
    while (!end) {
        cr_assert_lt(hlen + 1, sizeof hdr, "no end of the headers");
        size_t n = recv_some(fd, hdr + hlen, sizeof hdr - 1 - hlen);
        cr_assert_gt(n, 0, "the server closed before the headers");
        hlen += n;
        hdr[hlen] = 0;
        end = strstr(hdr, "\r\n\r\n");
    }
    cr_assert(strncmp(hdr, "HTTP/1.1 200", 12) == 0, "%s", hdr);
    cr_assert(strcasestr(hdr, "Content-Length: 33554432"), "%s", hdr);
    cr_assert(strcasestr(hdr, "Accept-Ranges: bytes"), "%s", hdr);
    tb_stream back;
    tb_stream_init(&back, "slow", SIZE);
    size_t first = hlen - (size_t)(end + 4 - hdr);
    cr_assert_eq(tb_stream_compare(&back, end + 4, first), 0);

    /* while A waits: a block, ranges, HEAD, a whole CAR of the same file */
    snprintf(url, sizeof url, "/ipfs/%s?format=raw", ss);
    reply r = curl(addr, "", url, "small");
    cr_assert_eq(r.code, 200);
    uint8_t *want = tb_block_data(7, 100);
    expect_body("small", want, 100);
    free(want);
    snprintf(url, sizeof url, "/ipfs/%s", rs);
    uint8_t part[100];
    r = curl(addr, "-H 'Range: bytes=1000000-1000099'", url, "part");
    cr_assert_eq(r.code, 206, "%s", r.headers);
    cr_assert(strcasestr(r.headers, "Content-Range: bytes 1000000-1000099/33554432"), "%s",
              r.headers);
    tb_stream_bytes(&s, 1000000, part, 100);
    expect_body("part", part, 100);
    r = curl(addr, "-H 'Range: bytes=-10'", url, "part");
    cr_assert_eq(r.code, 206, "%s", r.headers);
    tb_stream_bytes(&s, SIZE - 10, part, 10);
    expect_body("part", part, 10);
    r = curl(addr, "-H 'Range: bytes=262140-262149'", url, "part"); /* across two leaves */
    cr_assert_eq(r.code, 206, "%s", r.headers);
    tb_stream_bytes(&s, 262140, part, 10);
    expect_body("part", part, 10);
    r = curl(addr, "-H 'Range: bytes=33554432-'", url, NULL);
    cr_assert_eq(r.code, 416, "%s", r.headers);
    cr_assert(strcasestr(r.headers, "Content-Range: bytes */33554432"), "%s", r.headers);
    r = curl(addr, "-H 'Range: bytes=0-1,5-6'", url, NULL); /* several: ignored, whole file */
    cr_assert_eq(r.code, 200);
    cr_assert_eq(r.size, SIZE);
    r = curl(addr, "-I", url, NULL);
    cr_assert_eq(r.code, 200);
    cr_assert_eq(r.size, 0);
    cr_assert(strcasestr(r.headers, "Content-Length: 33554432"), "%s", r.headers);
    snprintf(url, sizeof url, "/ipfs/%s?format=car", rs);
    r = curl(addr, "", url, "slow.car");
    cr_assert_eq(r.code, 200);
    {
        blocks *fresh;
        blocks_car_info info;
        tb_stream again;
        cr_assert_eq(import_car("slow.car", "fresh.ffdb", &fresh, &info), 0);
        cr_assert_eq(info.blocks, stored);
        tb_stream_init(&again, "slow", SIZE);
        TB_OK(blocks_cat(fresh, &root, tb_stream_compare, &again));
        blocks_car_info_free(&info);
        TB_OK(blocks_close(fresh));
    }

    /* A got only part of its file meanwhile; now it reads the rest */
    size_t got = first;
    char buf[65536];
    int queued = 0;
    /* What waits in A's receive buffer now, before it reads again: the server
     * must not have pushed the whole file at a client that did not read
     * (draining here would race the server refilling it). */
    cr_assert_eq(ioctl(fd, FIONREAD, &queued), 0);
    cr_assert_lt(got + (size_t)queued, SIZE, "the whole file was sent to a client that did not read");
    while (got < SIZE) {
        size_t k = recv_some(fd, buf, sizeof buf);
        cr_assert_gt(k, 0, "the server closed at %zu of %d bytes", got, SIZE);
        cr_assert_eq(tb_stream_compare(&back, buf, k), 0, "bytes differ near %zu", got);
        got += k;
    }
    cr_assert_eq(got, SIZE);
    close(fd);
    int status = kill_server();
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    unsetenv("TMPDIR");
}
