/*
 * nats_config.h — the parameters ffdb-server's NATS-based parts share: the
 * pub/sub bridge and the signed records both use the bus at `nats` and
 * scope what they send and store by `namespace` (natsbus turns its bytes
 * into one subject token, so two namespaces never meet on one NATS).
 *
 * The table is registered with the server's net_config in main.c, so the
 * parameters are flags (--nats URL, --namespace NAME), config-file lines
 * and CONFIG GET entries like every other; both are start-up only.
 */
#ifndef FFDB_SERVER_NATS_CONFIG_H
#define FFDB_SERVER_NATS_CONFIG_H

#include "modules/net/config.h"

/* nats-records: the signed records (PTR.*) beside the bridge. auto: on,
 * except beside --cluster (records.c says why); yes: on, and a start with
 * --cluster is refused; no: off (PTR.* answer an error). */
enum { NATS_RECORDS_AUTO, NATS_RECORDS_YES, NATS_RECORDS_NO };

typedef struct server_nats_config {
    char url[512]; /* "" = no NATS: nothing of the bridge or the records runs */
    char ns[256];  /* the namespace's bytes ("" = the default namespace) */
    int records;   /* NATS_RECORDS_... */
} server_nats_config;

extern const net_param server_nats_params[];

#endif /* FFDB_SERVER_NATS_CONFIG_H */
