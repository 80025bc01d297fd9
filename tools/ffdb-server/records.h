/*
 * records.h — ffdb-server's signed records (issue 12, part 2): a
 * redis_extension that, when --nats is set, opens the node's identity in
 * the data directory, a natsbus of its own, and modules/ptr in the bucket of
 * the namespace, and serves PTR.SET key value, PTR.GET key, PTR.DEL key,
 * PTR.KEYS pattern and PTR.INFO. Its INFO section is "records".
 */
#ifndef FFDB_SERVER_RECORDS_H
#define FFDB_SERVER_RECORDS_H

#include "modules/redis/redis.h"
#include "tools/ffdb-server/nats_config.h"

typedef struct records records;

extern const redis_extension records_extension;

/* The extension's state for the NATS parameters ncfg (read at attach). */
records *records_new(const server_nats_config *ncfg);
void records_free(records *r);

#endif /* FFDB_SERVER_RECORDS_H */
