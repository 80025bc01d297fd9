/*
 * cluster.h — ffdb-server's cluster mode: RAFT replication (modules/raft)
 * through the redis write hook (modules/redis). cluster.c explains it.
 */
#ifndef FFDB_SERVER_CLUSTER_H
#define FFDB_SERVER_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "modules/raft/node.h"
#include "modules/redis/redis.h"

#define CLUSTER_MAX_SERVERS 16

typedef struct cluster_server {
    uint64_t id;
    char raft[RF_ADDR_MAX]; /* host:port of the RAFT transport */
    char resp[RF_ADDR_MAX]; /* host:respport if given (id@host:port/respport), else "" */
} cluster_server;

typedef struct cluster_config {
    uint64_t id; /* --node */
    cluster_server servers[CLUSTER_MAX_SERVERS];
    size_t nservers;
    int join;                     /* --cluster-join yes: do not bootstrap; CLUSTER MEET adds it */
    unsigned election_ms;         /* --cluster-election-ms (heartbeat: a tenth) */
    unsigned snapshot_threshold;  /* --cluster-snapshot-threshold */
    unsigned snapshot_trailing;   /* --cluster-snapshot-trailing */
} cluster_config;

typedef struct cluster cluster;

/* "1@127.0.0.1:7101,2@127.0.0.1:7102/7002,...": 0, or -1 with err. */
int cluster_parse(cluster_config *cfg, const char *list, char *err, size_t errlen);
/* --node is set and in the list: 0, or -1 with err. */
int cluster_check(const cluster_config *cfg, char *err, size_t errlen);
cluster *cluster_new(const cluster_config *cfg);
void cluster_free(cluster *cl);

/* The engine flags cluster mode adds to the data file's open flags
 * (redis_config.hook_open_flags) for the server configured by cfg: with
 * --fsync always (without --pipeline-commits), FFDB_DEFERSYNC — the RAFT log, synced by libraft before
 * an entry counts, is the durability point; the file is synced before
 * every snapshot and at shutdown (cluster.c, "durability"). 0 otherwise. */
unsigned cluster_open_flags(const redis_config *cfg);

/* The hook to install (redis_config.hook, hook_arg = the cluster). */
extern const redis_hook cluster_hook;

#endif /* FFDB_SERVER_CLUSTER_H */
