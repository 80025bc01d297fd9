/*
 * nats_config.c — the table of nats_config.h.
 */
#include <stddef.h>

#include "tools/ffdb-server/nats_config.h"

static const char *const records_names[] = {"auto", "yes", "no", NULL};

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
    {.name = "nats-records",
     .type = NET_PARAM_ENUM,
     .offset = offsetof(server_nats_config, records),
     .names = records_names,
     .def = "auto",
     .flags = NET_PARAM_STARTUP,
     .help = "the signed records (PTR.*) over NATS: auto (on, off beside --cluster), yes "
             "(on; refused with --cluster), no"},
    {.name = NULL},
};
