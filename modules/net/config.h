/*
 * config.h — table-driven configuration: each module describes its
 * parameters once (name, type, where the value lives, default, bounds,
 * whether it may change while serving, help), registers the table with a
 * net_config, and the same description serves the config file, the
 * command-line flags ("--name value") and a protocol's CONFIG GET/SET.
 *
 * A table is an array of net_param ended by an entry whose name is NULL; a
 * parameter's value lives in the module's own struct (`base` at registration,
 * `offset` in the entry), so the module reads plain fields while serving.
 * Registration applies the defaults. Names compare case-insensitively and
 * must be unique across tables (net_config_register refuses a duplicate).
 *
 * The file format is Redis's: one "name value ..." per line, # comments,
 * words split as Redis splits arguments (double quotes with \n, \xHH
 * escapes, single quotes; text.h). A value of several words is passed on
 * joined by single spaces ("save 900 1").
 *
 * Errors: set/load return 0, or -1 with a message in err (Redis's wording
 * where Redis has one: the protocols show it to clients as it is).
 *
 * Threading: the loop thread, or before the loop starts.
 */
#ifndef FFDB_NET_CONFIG_H
#define FFDB_NET_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "modules/net/dict.h"

typedef enum net_param_type {
    NET_PARAM_INT,    /* int; decimal within [min, max] */
    NET_PARAM_MEMORY, /* uint64_t; bytes with Redis's units (1k, 1kb, 1m, 1mb, 1g, 1gb) */
    NET_PARAM_BOOL,   /* int 0/1; "yes" or "no" (NET_PARAM_INVERT: stored negated) */
    NET_PARAM_STRING, /* char[size] */
    NET_PARAM_ENUM,   /* int index into names[] */
    NET_PARAM_CUSTOM, /* set() and get() do the work on base */
    NET_PARAM_TEXT,   /* accepted and shown, no effect: the text is kept by net_config */
} net_param_type;

enum {
    NET_PARAM_STARTUP = 1u << 0, /* set only at start-up (CONFIG SET refuses it) */
    NET_PARAM_HIDDEN = 1u << 1,  /* settable, not listed (an alias) */
    NET_PARAM_ZERO_OK = 1u << 2, /* INT/MEMORY: 0 allowed below min ("0 = the default") */
    NET_PARAM_INVERT =
        1u << 3, /* BOOL: the field holds the opposite ("direct-io yes" = nodirect 0) */
};

typedef struct net_param {
    const char *name;
    net_param_type type;
    size_t offset;            /* of the field in the registered struct */
    size_t size;              /* NET_PARAM_STRING: the char array's size */
    int64_t min, max;         /* INT, MEMORY bounds (MEMORY: max 0 = none) */
    const char *def;          /* the default, as text; NULL = leave the field as it is */
    unsigned flags;           /* NET_PARAM_... */
    const char *bad;          /* the error for a value that does not parse or is out of bounds */
    const char *const *names; /* NET_PARAM_ENUM: value names, NULL-terminated */
    int (*set)(void *base, const char *value, int startup, char *err, size_t errlen);
    void (*get)(const void *base, char *buf, size_t cap);
    const char *help;
} net_param;

#define NET_CONFIG_MAX_TABLES 16

typedef struct net_config {
    struct net_config_table {
        const net_param *params;
        void *base;
    } tables[NET_CONFIG_MAX_TABLES];
    int table_count;
    net_dict text;   /* NET_PARAM_TEXT values: name -> malloc'd string */
    char file[1024]; /* the config file read, "" if none */
} net_config;

void net_config_init(net_config *cfg);
void net_config_free(net_config *cfg);
/* Add a table whose fields live at base, and apply its defaults. 0, or -1
 * with a message in err (a name already registered, a bad default). */
int net_config_register(net_config *cfg, const net_param *table, void *base, char *err,
                        size_t errlen);
/* Set a parameter from its text. startup != 0 allows NET_PARAM_STARTUP ones. */
int net_config_set(net_config *cfg, const char *name, const char *value, int startup, char *err,
                   size_t errlen);
/* A parameter's value as text into buf; 0, or -1 if there is no such name. */
int net_config_get(const net_config *cfg, const char *name, char *buf, size_t cap);
/* Read a config file (see above); remembered in cfg->file. */
int net_config_load(net_config *cfg, const char *path, char *err, size_t errlen);
/* Visit every listed parameter with its value, in registration order; stop
 * at a non-zero return and give it back. */
int net_config_each(const net_config *cfg,
                    int (*fn)(void *arg, const net_param *p, const char *value), void *arg);
/* The parameter called name, or NULL. */
const net_param *net_config_find(const net_config *cfg, const char *name);

/* Parsers the tables and custom setters share: 0, or -1 if s is not one. */
int net_parse_memory(const char *s, uint64_t *out); /* Redis's units */
int net_parse_int(const char *s, long long min, long long max, int *out);
int net_parse_bool(const char *s, int *out); /* yes / no */

#endif /* FFDB_NET_CONFIG_H */
