/*
 * cmd_zset.c — the zset commands of ffdb-server (ZADD and its family).
 *
 * Not written yet: this file holds the family's table so the server links
 * and COMMAND lists what exists. Add handlers and rows here as described in
 * modules/resp/README.md ("How to add a command"); the data layout of this
 * type is at the top of store.h.
 */
#include "modules/resp/command.h"

const resp_command resp_cmds_zset[] = {
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
