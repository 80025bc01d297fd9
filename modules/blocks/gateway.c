/*
 * gateway.c — the trustless gateway subset over the block store
 * (gateway.h has the routes and status codes).
 *
 * Owns: request parsing (the /ipfs/ path, ?format=, Accept with q-values
 * and CAR parameters, dag-scope), the responses and their headers, and the
 * glue that runs libmicrohttpd inside modules/net's loop: MHD's epoll
 * descriptor is one loop watch, MHD's next deadline one loop timer, and
 * both call MHD_run (MHD never starts a thread); file bytes and CARs are
 * streamed by content-reader callbacks, a block at a time as the socket
 * drains (gateway.h). Called by ffdb-blocks serve. Must never: send a
 * byte that was not verified against its block's CID, block the loop on
 * the network, or crash on any request (every header and path is
 * length-checked input).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "modules/blocks/gateway.h"
#include "modules/net/sock.h"

#define FLUSH_PERIOD_MS 60000 /* recorded reads reach the store (tiering) */
#define ETAG_MAX (IPLD_CID_STR_MAX + 32)
#define STREAM_BLOCK (64u << 10)    /* bytes MHD asks a streamed body for at once */
#define CONN_MEMORY (256u << 10)    /* MHD's pool per connection: headers and that buffer */

enum { FMT_PLAIN = 1, FMT_RAW, FMT_CAR };

struct blocks_gateway {
    blocks *bs;
    net_loop *loop;
    struct MHD_Daemon *d;
    net_watch *watch;
    net_timer *timer, *flush;
    int port;
    blocks_gateway_stats st;
};

typedef struct req {
    blocks_gateway *gw;
    struct MHD_Connection *c;
    const char *url;  /* "/ipfs/CID[/path]" */
    const char *path; /* after the CID: "" or "/..." */
    ipld_cid cid;
    char cid_text[IPLD_CID_STR_MAX];
} req;

/* ---- responses ------------------------------------------------------------------------ */

static enum MHD_Result queue(req *r, unsigned status, struct MHD_Response *resp)
{
    enum MHD_Result ok;
    if (!resp)
        return MHD_NO; /* out of memory: MHD closes the connection */
    r->gw->st.requests++;
    if (status / 100 < 6)
        r->gw->st.status[status / 100]++;
    ok = MHD_queue_response(r->c, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result reply_text(req *r, unsigned status, const char *msg)
{
    char body[512];
    int n = snprintf(body, sizeof body, "%s\n", msg);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    }
    return queue(r, status, resp);
}

/* The headers every content response carries. */
static void content_headers(req *r, struct MHD_Response *resp, const char *type, const char *etag,
                            const char *ext)
{
    char xpath[1024], disp[IPLD_CID_STR_MAX + 48];
    snprintf(xpath, sizeof xpath, "/ipfs/%s%s", r->cid_text, r->path);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            "public, max-age=29030400, immutable");
    MHD_add_response_header(resp, "X-Ipfs-Path", xpath);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept");
    if (ext) {
        snprintf(disp, sizeof disp, "attachment; filename=\"%s.%s\"", r->cid_text, ext);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
    }
}

/* 1 if the client holds this version already (If-None-Match). */
static int not_modified(req *r, const char *etag)
{
    const char *inm =
        MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    return inm && (strcmp(inm, "*") == 0 || strstr(inm, etag) != NULL);
}

static enum MHD_Result reply_304(req *r, const char *etag)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                "public, max-age=29030400, immutable");
    }
    return queue(r, MHD_HTTP_NOT_MODIFIED, resp);
}

/* ---- streamed bodies: a file or a CAR, read as the socket takes it -------------------------- */

typedef struct stream {
    blocks_gateway *gw;
    blocks_file *file;
    blocks_car_stream *car;
    uint64_t left; /* bytes still to give; UINT64_MAX = to the end (a CAR) */
} stream;

/* MHD asks for the next bytes when the socket can take them, inside MHD_run
 * on the loop: one block is read per call at most (a short read txn). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream *s = cls;
    long n;
    (void)pos; /* MHD asks in order, from 0 */
    if (s->left == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->left < max)
        max = (size_t)s->left;
    n = s->file ? blocks_file_read(s->file, buf, max) : blocks_car_stream_read(s->car, buf, max);
    if (n == 0 && s->car)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n <= 0) {
        /* A block missing or damaged after the status line (or a file shorter
         * than its metadata): cut the connection, the client sees the body short. */
        s->gw->st.cut++;
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (s->left != UINT64_MAX)
        s->left -= (uint64_t)n;
    return n;
}

static void stream_free(void *cls)
{
    stream *s = cls;
    blocks_file_close(s->file);
    blocks_car_stream_close(s->car);
    s->gw->st.streams--;
    free(s);
}

/* The response that streams s (freed with it, also on failure). */
static struct MHD_Response *stream_response(stream *s, uint64_t size)
{
    struct MHD_Response *resp;
    stream *own = malloc(sizeof *own);
    if (own) {
        *own = *s;
        own->gw->st.streams++;
        resp = MHD_create_response_from_callback(size, STREAM_BLOCK, stream_read, own, stream_free);
        if (resp)
            return resp;
        stream_free(own);
        return NULL;
    }
    blocks_file_close(s->file);
    blocks_car_stream_close(s->car);
    return NULL;
}

/* ---- request parsing ------------------------------------------------------------------------ */

static int ieq(const char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* One media range of Accept: its format (0 = one we do not serve) and q. */
static int media_range(const char *s, size_t n, double *q)
{
    const char *semi = memchr(s, ';', n);
    size_t tlen = semi ? (size_t)(semi - s) : n;
    const char *t = s;
    int car_ok = 1;
    *q = 1.0;
    trim(&t, &tlen);
    while (semi) {
        const char *p = semi + 1, *end = s + n, *next = memchr(p, ';', (size_t)(end - p));
        size_t plen = (size_t)((next ? next : end) - p);
        const char *eq = memchr(p, '=', plen);
        if (eq) {
            const char *k = p, *v = eq + 1;
            size_t klen = (size_t)(eq - p), vlen = (size_t)(p + plen - v);
            trim(&k, &klen);
            trim(&v, &vlen);
            if (ieq(k, klen, "q"))
                *q = strtod(v, NULL); /* stops at the value's end: a ';' or ',' */
            else if (ieq(k, klen, "version"))
                car_ok &= ieq(v, vlen, "1");
            else if (ieq(k, klen, "order"))
                car_ok &= ieq(v, vlen, "dfs") || ieq(v, vlen, "unk");
            else if (ieq(k, klen, "dups"))
                car_ok &= ieq(v, vlen, "n");
        }
        semi = next;
    }
    if (ieq(t, tlen, "application/vnd.ipld.raw"))
        return FMT_RAW;
    if (ieq(t, tlen, "application/vnd.ipld.car"))
        return car_ok ? FMT_CAR : 0;
    if ((tlen >= 21 && strncasecmp(t, "application/vnd.ipld.", 21) == 0) ||
        (tlen >= 21 && strncasecmp(t, "application/vnd.ipfs.", 21) == 0) ||
        ieq(t, tlen, "application/json") || ieq(t, tlen, "application/cbor") ||
        ieq(t, tlen, "application/x-tar"))
        return 0;
    return FMT_PLAIN;
}

/* The response format: ?format= first (the spec's precedence), then the
 * Accept range with the highest q (the first of equals). 0 with *status
 * set when none can be served. */
static int choose_format(req *r, unsigned *status, const char **why)
{
    const char *f = MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, "format");
    const char *a = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    if (f) {
        static const char *const known[] = {"dag-json", "dag-cbor", "json",
                                            "cbor",     "tar",      "ipns-record"};
        if (strcmp(f, "raw") == 0)
            return FMT_RAW;
        if (strcmp(f, "car") == 0)
            return FMT_CAR;
        for (size_t i = 0; i < sizeof known / sizeof *known; i++)
            if (strcmp(f, known[i]) == 0) {
                *status = MHD_HTTP_NOT_ACCEPTABLE;
                *why = "this gateway serves format=raw and format=car only";
                return 0;
            }
        *status = MHD_HTTP_BAD_REQUEST;
        *why = "unknown format";
        return 0;
    }
    if (!a || !*a)
        return FMT_PLAIN;
    int best = 0;
    double best_q = 0;
    for (const char *s = a; *s;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        double q;
        int fmt = media_range(s, n, &q);
        if (fmt && q > best_q)
            best = fmt, best_q = q;
        s += n + (comma ? 1 : 0);
    }
    if (!best) {
        *status = MHD_HTTP_NOT_ACCEPTABLE;
        *why = "none of the accepted types is served here (application/vnd.ipld.raw, "
               "application/vnd.ipld.car; version=1; order=dfs; dups=n, or file bytes)";
    }
    return best;
}

/* ---- the three kinds of response ------------------------------------------------------------- */

static enum MHD_Result store_error(req *r, int rc)
{
    char msg[256];
    snprintf(msg, sizeof msg, "store error: %s", blocks_strerror(rc));
    return reply_text(r, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
}

static enum MHD_Result serve_raw(req *r)
{
    char etag[ETAG_MAX];
    void *data = NULL;
    size_t len = 0;
    int rc = 0;
    if (*r->path)
        return reply_text(r, MHD_HTTP_BAD_REQUEST, "a raw block is asked for by CID alone");
    snprintf(etag, sizeof etag, "\"%s.raw\"", r->cid_text);
    if (r->cid.mh_code == IPLD_MH_IDENTITY) {
        len = r->cid.digest_len;
        if (!(data = malloc(len ? len : 1)))
            return MHD_NO;
        memcpy(data, r->cid.digest, len);
    } else if ((rc = blocks_get(r->gw->bs, &r->cid, 1, &data, &len)) == FFDB_NOTFOUND) {
        return reply_text(r, MHD_HTTP_NOT_FOUND, "block not found");
    } else if (rc) {
        return store_error(r, rc);
    }
    if (not_modified(r, etag)) {
        free(data);
        return reply_304(r, etag);
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    content_headers(r, resp, "application/vnd.ipld.raw", etag, "bin");
    return queue(r, MHD_HTTP_OK, resp);
}

static int present(req *r, const ipld_cid *cid)
{
    return cid->mh_code == IPLD_MH_IDENTITY ? 1 : blocks_has(r->gw->bs, cid);
}

static enum MHD_Result serve_car(req *r)
{
    static const char *const scopes[] = {"all", "block", "entity"};
    const char *scope_text = MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, "dag-scope");
    const char *v;
    char etag[ETAG_MAX];
    int scope = -1, rc;
    stream s = {.gw = r->gw, .left = UINT64_MAX};
    struct MHD_Response *resp;
    if (*r->path)
        return reply_text(r, MHD_HTTP_NOT_IMPLEMENTED, "CARs of paths are not served here");
    if (MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, "entity-bytes"))
        return reply_text(r, MHD_HTTP_NOT_IMPLEMENTED, "entity-bytes is not supported");
    for (int i = 0; i < 3; i++)
        if (strcmp(scope_text ? scope_text : "all", scopes[i]) == 0)
            scope = i;
    if (scope < 0)
        return reply_text(r, MHD_HTTP_BAD_REQUEST, "dag-scope is block, entity or all");
    if (((v = MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, "car-version")) &&
         strcmp(v, "1") != 0) ||
        ((v = MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, "car-order")) &&
         strcmp(v, "dfs") != 0 && strcmp(v, "unk") != 0) ||
        ((v = MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, "car-dups")) &&
         strcmp(v, "n") != 0))
        return reply_text(r, MHD_HTTP_NOT_ACCEPTABLE, "CARs here are version=1; order=dfs; dups=n");
    if ((rc = present(r, &r->cid)) < 0)
        return store_error(r, rc);
    if (rc == 0)
        return reply_text(r, MHD_HTTP_NOT_FOUND, "root block not found");
    snprintf(etag, sizeof etag, "\"%s.car.dfs.n.%s\"", r->cid_text, scopes[scope]);
    if (not_modified(r, etag))
        return reply_304(r, etag);
    /* Streamed as the client takes it; a missing child ends the CAR where it
     * is: the root is there, so the answer is 200 and the client finds the
     * DAG incomplete (spec). Chunked: the length is known at the end only. */
    if ((rc = blocks_car_stream_open(r->gw->bs, &r->cid, scope, &s.car)) != 0)
        return rc == FFDB_NOTFOUND ? reply_text(r, MHD_HTTP_NOT_FOUND, "root block not found")
                                   : store_error(r, rc);
    if (!(resp = stream_response(&s, MHD_SIZE_UNKNOWN)))
        return MHD_NO;
    content_headers(r, resp, "application/vnd.ipld.car; version=1; order=dfs; dups=n", etag, "car");
    return queue(r, MHD_HTTP_OK, resp);
}

/* Follows path ("/a/b") through UnixFS directories from *cid. */
static int resolve_path(blocks *bs, ipld_cid *cid, const char *path)
{
    while (*path) {
        const char *seg = path + strspn(path, "/");
        size_t n = strcspn(seg, "/");
        void *data;
        size_t len;
        ipld_pb_node node;
        ipld_unixfs u;
        int rc, found = 0;
        path = seg + n;
        if (n == 0)
            continue;
        if (cid->codec != IPLD_CODEC_DAG_PB || cid->mh_code == IPLD_MH_IDENTITY)
            return FFDB_NOTFOUND;
        if ((rc = blocks_get(bs, cid, 1, &data, &len)) != 0)
            return rc;
        if ((rc = ipld_pb_decode(data, len, &node)) != 0) {
            free(data);
            return rc;
        }
        int dir = 0;
        if (node.has_data && ipld_unixfs_decode(node.data, node.data_len, &u) == 0) {
            dir = u.type == IPLD_UNIXFS_DIRECTORY;
            ipld_unixfs_free(&u);
        }
        for (size_t i = 0; dir && !found && i < node.link_count; i++)
            if (node.links[i].name_len == n && memcmp(node.links[i].name, seg, n) == 0) {
                *cid = node.links[i].cid;
                found = 1;
            }
        ipld_pb_node_free(&node);
        free(data);
        if (!found)
            return FFDB_NOTFOUND;
    }
    return 0;
}

/* Range: one "bytes=A-B", "bytes=A-" or "bytes=-N" of a file of size
 * bytes: 1 with [*from, *to] (inclusive, cut to the size), -1 when it
 * cannot be met (416), 0 to send the whole file (no Range, or one this
 * gateway ignores as RFC 9110 allows: other units, several ranges,
 * malformed). */
static int byte_range(req *r, uint64_t size, uint64_t *from, uint64_t *to)
{
    const char *h = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    const char *p;
    char *end;
    if (!h || strncasecmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    p = h + 6;
    while (*p == ' ')
        p++;
    if (*p == '-') { /* the last N bytes */
        if (!isdigit((unsigned char)p[1]))
            return 0;
        errno = 0;
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (errno || *end)
            return 0;
        if (n == 0 || size == 0)
            return -1;
        *from = n >= size ? 0 : size - n;
        *to = size - 1;
        return 1;
    }
    if (!isdigit((unsigned char)*p))
        return 0;
    errno = 0;
    unsigned long long a = strtoull(p, &end, 10), b = UINT64_MAX;
    if (errno || *end != '-')
        return 0;
    p = end + 1;
    if (*p) {
        if (!isdigit((unsigned char)*p))
            return 0;
        b = strtoull(p, &end, 10);
        if (errno || *end || b < a)
            return 0;
    }
    if (a >= size)
        return -1;
    *from = a;
    *to = b >= size ? size - 1 : b;
    return 1;
}

static enum MHD_Result serve_plain(req *r)
{
    ipld_cid target = r->cid;
    char etag[ETAG_MAX], text[IPLD_CID_STR_MAX], crange[80];
    int rc = resolve_path(r->gw->bs, &target, r->path);
    stream s = {.gw = r->gw};
    uint64_t size, from = 0, to = 0;
    unsigned status = MHD_HTTP_OK;
    struct MHD_Response *resp;
    if (rc == FFDB_NOTFOUND || rc == IPLD_EFORMAT)
        return reply_text(r, MHD_HTTP_NOT_FOUND, "no such block or path");
    if (rc)
        return store_error(r, rc);
    ipld_cid_str(&target, text);
    snprintf(etag, sizeof etag, "\"%s\"", text);
    if (target.mh_code == IPLD_MH_IDENTITY) {
        if (target.codec != IPLD_CODEC_RAW)
            return reply_text(r, MHD_HTTP_NOT_ACCEPTABLE, "not a UnixFS file");
        resp = MHD_create_response_from_buffer(
            target.digest_len, target.digest, MHD_RESPMEM_MUST_COPY);
        if (resp)
            content_headers(r, resp, "application/octet-stream", etag, NULL);
        return queue(r, MHD_HTTP_OK, resp);
    }
    rc = blocks_file_open(r->gw->bs, &target, &s.file, &size);
    if (rc == FFDB_NOTFOUND)
        return reply_text(r, MHD_HTTP_NOT_FOUND, "block not found");
    if (rc == IPLD_EFORMAT)
        return reply_text(r, MHD_HTTP_NOT_ACCEPTABLE,
                          "not a UnixFS file: ask for application/vnd.ipld.raw or "
                          "application/vnd.ipld.car");
    if (rc)
        return store_error(r, rc);
    if (not_modified(r, etag)) {
        blocks_file_close(s.file);
        return reply_304(r, etag);
    }
    s.left = size;
    switch (size == UINT64_MAX ? 0 : byte_range(r, size, &from, &to)) {
    case -1:
        blocks_file_close(s.file);
        snprintf(crange, sizeof crange, "bytes */%llu", (unsigned long long)size);
        resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
        return queue(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
    case 1:
        if ((rc = blocks_file_seek(s.file, from)) != 0) {
            blocks_file_close(s.file);
            return rc == FFDB_NOTFOUND ? reply_text(r, MHD_HTTP_NOT_FOUND,
                                                    "a block of the file is not in the store")
                                       : store_error(r, rc);
        }
        s.left = to - from + 1;
        status = MHD_HTTP_PARTIAL_CONTENT;
        snprintf(crange, sizeof crange, "bytes %llu-%llu/%llu", (unsigned long long)from,
                 (unsigned long long)to, (unsigned long long)size);
    }
    /* Streamed block by block as the socket takes it: Content-Length is the
     * root's filesize; a block found missing later cuts the connection. */
    if (!(resp = stream_response(&s, s.left == UINT64_MAX ? MHD_SIZE_UNKNOWN : s.left)))
        return MHD_NO;
    content_headers(r, resp, "application/octet-stream", etag, NULL);
    if (size != UINT64_MAX)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    if (status == MHD_HTTP_PARTIAL_CONTENT)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, crange);
    return queue(r, status, resp);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    req r = {.gw = cls, .c = c, .url = url, .path = ""};
    unsigned status = 0;
    const char *why = NULL;
    (void)version, (void)upload, (void)upload_size, (void)con_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(&r, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
    if (strncmp(url, "/ipns/", 6) == 0)
        return reply_text(&r, MHD_HTTP_NOT_IMPLEMENTED, "IPNS is not served here");
    if (strncmp(url, "/ipfs/", 6) != 0)
        return reply_text(&r, MHD_HTTP_NOT_FOUND, "not found: paths start with /ipfs/");
    size_t n = strcspn(url + 6, "/");
    if (n == 0 || n >= sizeof r.cid_text)
        return reply_text(&r, MHD_HTTP_BAD_REQUEST, "invalid CID");
    memcpy(r.cid_text, url + 6, n);
    r.cid_text[n] = 0;
    r.path = url + 6 + n;
    if (ipld_cid_parse(r.cid_text, &r.cid) != 0)
        return reply_text(&r, MHD_HTTP_BAD_REQUEST, "invalid CID");
    switch (choose_format(&r, &status, &why)) {
    case FMT_RAW:
        return serve_raw(&r);
    case FMT_CAR:
        return serve_car(&r);
    case FMT_PLAIN:
        return serve_plain(&r);
    }
    return reply_text(&r, status, why);
}

/* ---- MHD inside the net loop ------------------------------------------------------------------
 */

/* One MHD pass, then the loop timer set to MHD's next deadline. */
static void pump(blocks_gateway *gw)
{
    MHD_UNSIGNED_LONG_LONG ms;
    MHD_run(gw->d);
    if (MHD_get_timeout(gw->d, &ms) == MHD_YES)
        net_timer_again(gw->timer, ms > 3600000 ? 3600000 : (int64_t)ms);
}

static void on_ready(net_watch *w, unsigned events, void *arg)
{
    (void)w, (void)events;
    pump(arg);
}

static void on_timer(net_timer *t, void *arg)
{
    (void)t;
    pump(arg);
}

static void on_flush(net_timer *t, void *arg)
{
    blocks_gateway *gw = arg;
    (void)t;
    blocks_flush(gw->bs); /* a failure loses recorded reads only */
}

int blocks_gateway_start(blocks *bs, net_loop *loop, const blocks_gateway_options *opt,
                         blocks_gateway **out, char *err, size_t errlen)
{
    blocks_gateway_options o = opt ? *opt : (blocks_gateway_options){0};
    blocks_gateway *gw = calloc(1, sizeof *gw);
    const union MHD_DaemonInfo *info;
    int fd;
    *out = NULL;
    if (!gw) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gw->bs = bs;
    gw->loop = loop;
    if ((fd = net_listen_tcp(o.bind ? o.bind : "127.0.0.1", o.port, &gw->port, err, errlen)) < 0) {
        free(gw);
        return -1;
    }
    gw->d = MHD_start_daemon(
        MHD_USE_EPOLL, 0, NULL, NULL, handle, gw, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o.max_connections ? o.max_connections : 256),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o.timeout_s ? o.timeout_s : 30),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_END);
    if (!gw->d) {
        snprintf(err, errlen, "libmicrohttpd did not start");
        close(fd);
        free(gw);
        return -1;
    }
    info = MHD_get_daemon_info(gw->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || !(gw->timer = net_timer_add(loop, NET_TIMER_UNARMED, 0, on_timer, gw)) ||
        !(gw->flush = net_timer_add(loop, FLUSH_PERIOD_MS, FLUSH_PERIOD_MS, on_flush, gw)) ||
        !(gw->watch = net_watch_add(loop, info->epoll_fd, NET_EV_READ, on_ready, gw))) {
        snprintf(err, errlen, "cannot attach libmicrohttpd to the loop");
        blocks_gateway_stop(gw);
        return -1;
    }
    pump(gw);
    *out = gw;
    return 0;
}

int blocks_gateway_port(const blocks_gateway *gw)
{
    return gw->port;
}

void blocks_gateway_stats_get(const blocks_gateway *gw, blocks_gateway_stats *st)
{
    *st = gw->st;
}

void blocks_gateway_stop(blocks_gateway *gw)
{
    if (!gw)
        return;
    net_watch_del(gw->watch);
    net_timer_cancel(gw->timer);
    net_timer_cancel(gw->flush);
    if (gw->d)
        MHD_stop_daemon(gw->d); /* closes the listening socket */
    free(gw);
}
