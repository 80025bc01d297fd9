/*
 * nats_config.c — the table of nats_config.h.
 */
#include <stddef.h>

#include "tools/ffdb-server/nats_config.h"

const net_param server_nats_params[] = {
    {.name = "nats",
     .type = NET_PARAM_STRING,
     .offset = offsetof(server_nats_config, url),
     .size = sizeof(((server_nats_config *)0)->url),
     .def = "",
     .flags = NET_PARAM_STARTUP,
     .help = "the NATS server(s) of the pub/sub bridge and the signed records "
             "(nats://host:port[,...]; \"\" = none)"},
    {.name = "namespace",
     .type = NET_PARAM_STRING,
     .offset = offsetof(server_nats_config, ns),
     .size = sizeof(((server_nats_config *)0)->ns),
     .def = "",
     .flags = NET_PARAM_STARTUP,
     .help = "the tenant: scopes NATS subjects and the records' bucket (\"\" = default)"},
    {.name = NULL},
};
