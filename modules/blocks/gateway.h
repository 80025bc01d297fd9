/*
 * gateway.h — the block store's HTTP gateway: the IPFS trustless gateway
 * subset on libmicrohttpd, driven by modules/net's loop.
 *
 *   GET|HEAD /ipfs/{cid}              ?format=raw or Accept: application/vnd.ipld.raw
 *                                     -> the block, verified against its CID
 *   GET|HEAD /ipfs/{cid}              ?format=car or Accept: application/vnd.ipld.car
 *                                     -> a CARv1 of the DAG (order=dfs, dups=n;
 *                                        ?dag-scope=block|entity|all)
 *   GET|HEAD /ipfs/{cid}[/path]       otherwise -> the UnixFS file's bytes (path
 *                                     through UnixFS directories by entry name)
 *
 * Status codes: 200; 206 a file's byte range (Range: bytes=A-B, A- or -N,
 * one range; others are ignored and the whole file sent); 304
 * (If-None-Match equal to the Etag); 400 a bad CID, a path with a raw
 * block, an unknown format or dag-scope; 404 not under /ipfs/, or a root
 * (or the file's block a range starts in) not in the store; 405 other
 * methods; 406 only unsupported types accepted (CARv2, dups=y, other
 * orders, dag-json, ...) or file bytes asked of something that is not a
 * UnixFS file; 416 a range past the end; 500 a store error; 501 /ipns/, a
 * CAR of a path, entity-bytes. modules/blocks/README.md "HTTP gateway" has
 * the headers.
 *
 * MHD runs in external mode on one epoll descriptor that the loop watches
 * (no MHD thread); each ready event and each MHD deadline (a loop timer)
 * calls MHD_run. A request is parsed and its first block read inside that
 * call; file bytes and CARs are then streamed: MHD asks a content-reader
 * callback for the next bytes only when the client's socket can take them,
 * and the callback reads at most a block (blocks_file_read,
 * blocks_car_stream_read: one short read txn per block, none held between
 * calls). So a slow client or a large response never holds up other
 * requests or the store's writers, and memory per response is bounded: MHD's
 * connection pool (256 KiB) plus one block and one node per tree level (a
 * CAR adds 16 bytes per block written, to send each once). A file's
 * Content-Length is its root's filesize; a block found missing or damaged
 * after the status line cuts the connection (stats' cut counts it), and a
 * CAR missing a child ends there (the trustless gateway's answer for an
 * incomplete DAG, chunked). The gateway only reads the store (blocks_get
 * records the reads for tiering).
 */
#ifndef FFDB_BLOCKS_GATEWAY_H
#define FFDB_BLOCKS_GATEWAY_H

#include <stdint.h>

#include "modules/blocks/blocks.h"
#include "modules/net/loop.h"

typedef struct blocks_gateway blocks_gateway;

typedef struct blocks_gateway_options {
    const char *bind;         /* numeric address; NULL = "127.0.0.1" */
    int port;                 /* 0 = any free port (blocks_gateway_port says which) */
    unsigned max_connections; /* 0 = 256 */
    unsigned timeout_s;       /* idle connection timeout; 0 = 30 */
} blocks_gateway_options;

typedef struct blocks_gateway_stats {
    uint64_t requests;
    uint64_t status[6]; /* by class: [2] 2xx, [3] 3xx, [4] 4xx, [5] 5xx */
    uint64_t streams;   /* streamed bodies (files, CARs) being sent now */
    uint64_t cut;       /* streamed bodies cut short by a store error */
} blocks_gateway_stats;

/* Listen and serve bs through loop (both outlive the gateway). Returns 0,
 * or -1 with a message in err (cannot listen, MHD refused to start). */
int blocks_gateway_start(blocks *bs, net_loop *loop, const blocks_gateway_options *opt,
                         blocks_gateway **gw, char *err, size_t errlen);
int blocks_gateway_port(const blocks_gateway *gw);
void blocks_gateway_stats_get(const blocks_gateway *gw, blocks_gateway_stats *st);
/* Close every connection and the listening socket; NULL is a no-op. */
void blocks_gateway_stop(blocks_gateway *gw);

#endif /* FFDB_BLOCKS_GATEWAY_H */
