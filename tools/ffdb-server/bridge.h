/*
 * bridge.h — ffdb-server's NATS pub/sub bridge: with --nats URL, PUBLISH on
 * any node reaches the SUBSCRIBE and PSUBSCRIBE clients of every node of
 * the same --namespace. It is a redis_extension (modules/redis/redis.h)
 * with its own natsbus connection (modules/natsbus/natsbus.h); bridge.c's
 * opening comment states what it keeps (B1-B7) and why.
 *
 * main.c installs it when --nats is set, before redis_server_run; the
 * server attaches it after its listeners are bound and detaches it before
 * the file closes. Everything runs on the server's loop thread.
 */
#ifndef FFDB_SERVER_BRIDGE_H
#define FFDB_SERVER_BRIDGE_H

#include "modules/redis/redis.h"
#include "tools/ffdb-server/nats_config.h"

typedef struct bridge bridge;

/* The NATS kind of the bridge's subjects: ffdb.<ns>.pub.<channel>. */
#define BRIDGE_KIND "pub"

/* Make the bridge for ncfg (which must outlive it; ncfg->url not empty) and
 * add it to cfg's extensions. 0 and *out, or FFDB_ENOMEM / FFDB_EINVAL (no
 * extension slot left). */
int bridge_install(redis_config *cfg, const server_nats_config *ncfg, bridge **out);
/* After redis_server_run returned. NULL is a no-op. */
void bridge_free(bridge *br);

#endif /* FFDB_SERVER_BRIDGE_H */
