/*
 * node.h — a RAFT node of ffdb: libraft on its libuv backend (the log and
 * libraft's snapshots in <dir>/raft) and TCP transport, hosted on the net
 * loop, with the snapshot file fetch over the network (node.c).
 *
 * Addresses are IPv4 "host:port". A node's fetch service listens on the
 * host of its RAFT address at port + RF_FETCH_PORT_OFFSET (as Redis cluster's
 * bus port is the client port + 10000), so every node can find every other
 * node's from the RAFT configuration alone.
 *
 * Threading: the loop's thread. rf_node_free only after the net loop stopped
 * (rf_uv_host_free's rule); it spins libuv itself until libraft is closed.
 */
#ifndef FFDB_RAFT_NODE_H
#define FFDB_RAFT_NODE_H

#include <netinet/in.h>

#include "modules/raft/raft.h"

#define RF_FETCH_PORT_OFFSET 10000
#define RF_ADDR_MAX 256

typedef struct rf_server {
    uint64_t id;
    char address[RF_ADDR_MAX];
} rf_server;

typedef struct rf_node_config {
    uint64_t id;
    const char *dir;     /* the node's directory; libraft's files in <dir>/raft */
    const char *address; /* this node's RAFT address (from the cluster list) */
    /* The initial voters: bootstrapped on a pristine node (ignored on one
     * with state). 0 servers: join an existing cluster (CLUSTER MEET on its
     * leader adds it). */
    const rf_server *servers;
    size_t nservers;
    unsigned election_ms, heartbeat_ms; /* 0: 1000, 100 */
    unsigned snapshot_threshold, snapshot_trailing; /* 0: libraft's 1024, 128 */
} rf_node_config;

typedef struct rf_node rf_node;

/* Start node cfg->id on loop l with state machine fsm (its file stays the
 * caller's). 0, or FFDB_EIO (bind, libraft) / FFDB_EINVAL (an address). */
int rf_node_new(net_loop *l, rf_fsm *fsm, const rf_node_config *cfg, rf_node **out);
void rf_node_free(rf_node *n);
struct raft *rf_node_raft(rf_node *n);
const char *rf_node_fetch_address(const rf_node *n);
/* The RAFT address of server id in the current configuration, or NULL. */
const char *rf_node_address_of(rf_node *n, uint64_t id);
/* End the file streams being served (before the file is replaced). */
void rf_node_abort_dumps(rf_node *n);

/* The fetch address of the node whose RAFT address is raft_addr. */
int rf_fetch_address(const char *raft_addr, char *out, size_t cap);
/* Pull the file stream of the node serving at fetch_addr into a fresh
 * ffdb file at tmp_path (blocking, bounded by an idle timeout): 0, or
 * FFDB_EIO (connection), FFDB_EINVAL (a short or damaged stream: its end
 * record's count or XXH64 does not match; the file is removed). */
int rf_fetch_file(const char *fetch_addr, const char *tmp_path, const ffdb_options *opt);
/* "host:port" (IPv4) into sin: 0 or FFDB_EINVAL. */
int rf_addr_parse(const char *addr, struct sockaddr_in *sin);

#endif /* FFDB_RAFT_NODE_H */
