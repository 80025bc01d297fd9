/*
 * config.c — the table-driven configuration (contract in config.h): the
 * registry of tables, parsing a value by its type into the module's field,
 * printing it back, the config file.
 *
 * It knows no parameter itself; every name comes from a registered table.
 * NET_PARAM_TEXT values (parameters accepted for compatibility, without an
 * effect) are the only ones stored here, in cfg->text.
 */
#include "modules/net/config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "modules/net/text.h"

#define LINE_MAX_BYTES 4096
#define LINE_MAX_WORDS 64

void net_config_init(net_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    net_dict_init(&cfg->text, 1);
}

static int free_value(void *arg, net_dict_entry *e)
{
    (void)arg;
    free(e->value);
    return 0;
}

void net_config_free(net_config *cfg)
{
    net_dict_each(&cfg->text, free_value, NULL);
    net_dict_free(&cfg->text);
}

/* ---- value parsing ----------------------------------------------------------------------- */

int net_parse_memory(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {{"", 1},           {"k", 1000},         {"kb", 1024},
                 {"m", 1000000},    {"mb", 1024 * 1024}, {"g", 1000000000ull},
                 {"gb", 1ull << 30}};
    char *end;
    unsigned long long v;

    if (!*s || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcasecmp(end, units[i].unit)) {
            if (v > UINT64_MAX / units[i].mul)
                return -1;
            *out = v * units[i].mul;
            return 0;
        }
    return -1;
}

int net_parse_int(const char *s, long long min, long long max, int *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

int net_parse_bool(const char *s, int *out)
{
    if (!strcasecmp(s, "yes"))
        *out = 1;
    else if (!strcasecmp(s, "no"))
        *out = 0;
    else
        return -1;
    return 0;
}

/* ---- the registry --------------------------------------------------------------------------- */

static const net_param *find(const net_config *cfg, const char *name, void **base)
{
    for (int t = 0; t < cfg->table_count; t++)
        for (const net_param *p = cfg->tables[t].params; p->name; p++)
            if (!strcasecmp(p->name, name)) {
                if (base)
                    *base = cfg->tables[t].base;
                return p;
            }
    return NULL;
}

const net_param *net_config_find(const net_config *cfg, const char *name)
{
    return find(cfg, name, NULL);
}

static int set_text(net_config *cfg, const net_param *p, const char *value)
{
    net_dict_entry *e = net_dict_upsert(&cfg->text, p->name, strlen(p->name), NULL);
    char *copy = strdup(value);

    if (!e || !copy) {
        free(copy);
        return -1;
    }
    free(e->value);
    e->value = copy;
    return 0;
}

static int bad(const net_param *p, char *err, size_t errlen, const char *fallback)
{
    snprintf(err, errlen, "%s", p->bad ? p->bad : fallback);
    return -1;
}

static int set_enum(const net_param *p, int *field, const char *value, char *err, size_t errlen)
{
    for (int i = 0; p->names[i]; i++)
        if (!strcasecmp(value, p->names[i])) {
            *field = i;
            return 0;
        }
    return bad(p, err, errlen, "argument is not one of the allowed values");
}

/* Parse value into p's field at base. */
static int set_value(net_config *cfg, const net_param *p, void *base, const char *value,
                     int startup, char *err, size_t errlen)
{
    /* TEXT and CUSTOM parameters may have no base: no field before the switch. */
#define FIELD ((char *)base + p->offset)
    uint64_t mv;
    int iv;

    switch (p->type) {
    case NET_PARAM_INT:
        if (net_parse_int(value, (p->flags & NET_PARAM_ZERO_OK) ? 0 : p->min, p->max, &iv) ||
            (iv && iv < p->min))
            return bad(p, err, errlen, "argument couldn't be parsed into an integer");
        *(int *)FIELD = iv;
        return 0;
    case NET_PARAM_MEMORY:
        if (net_parse_memory(value, &mv) || (p->max && mv > (uint64_t)p->max) ||
            (mv < (uint64_t)p->min && !(mv == 0 && (p->flags & NET_PARAM_ZERO_OK))))
            return bad(p, err, errlen, "argument must be a memory value");
        *(uint64_t *)FIELD = mv;
        return 0;
    case NET_PARAM_BOOL:
        if (net_parse_bool(value, &iv))
            return bad(p, err, errlen, "argument must be 'yes' or 'no'");
        *(int *)FIELD = (p->flags & NET_PARAM_INVERT) ? !iv : iv;
        return 0;
    case NET_PARAM_STRING:
        if (strlen(value) >= p->size)
            return bad(p, err, errlen, "value too long");
        memcpy(FIELD, value, strlen(value) + 1);
        return 0;
    case NET_PARAM_ENUM:
        return set_enum(p, (int *)FIELD, value, err, errlen);
    case NET_PARAM_CUSTOM:
        return p->set(base, value, startup, err, errlen);
    case NET_PARAM_TEXT:
        if (set_text(cfg, p, value))
            return bad(p, err, errlen, "out of memory");
        return 0;
    }
#undef FIELD
    assert(0 && "unknown parameter type");
    return -1;
}

int net_config_register(net_config *cfg, const net_param *table, void *base, char *err,
                        size_t errlen)
{
    if (cfg->table_count == NET_CONFIG_MAX_TABLES) {
        snprintf(err, errlen, "too many config tables");
        return -1;
    }
    for (const net_param *p = table; p->name; p++) {
        assert(p->type != NET_PARAM_CUSTOM || (p->set && p->get));
        assert(p->type != NET_PARAM_ENUM || p->names);
        if (find(cfg, p->name, NULL)) {
            snprintf(err, errlen, "config parameter '%s' is defined twice", p->name);
            return -1;
        }
    }
    cfg->tables[cfg->table_count].params = table;
    cfg->tables[cfg->table_count].base = base;
    cfg->table_count++;
    for (const net_param *p = table; p->name; p++) {
        char msg[256];
        if (p->def && set_value(cfg, p, base, p->def, 1, msg, sizeof(msg))) {
            snprintf(err, errlen, "bad default of '%s': %s", p->name, msg);
            return -1;
        }
    }
    return 0;
}

int net_config_set(net_config *cfg, const char *name, const char *value, int startup, char *err,
                   size_t errlen)
{
    void *base = NULL;
    const net_param *p = find(cfg, name, &base);

    err[0] = '\0';
    if (!p) {
        snprintf(err, errlen, "Unknown option or number of arguments for CONFIG SET - '%s'", name);
        return -1;
    }
    if ((p->flags & NET_PARAM_STARTUP) && !startup) {
        snprintf(err, errlen, "can't set immutable config");
        return -1;
    }
    return set_value(cfg, p, base, value, startup, err, errlen);
}

/* ---- printing values ---------------------------------------------------------------------- */

static void get_value(const net_config *cfg, const net_param *p, const void *base, char *buf,
                      size_t cap)
{
#define FIELD ((const char *)base + p->offset)
    net_dict_entry *e;
    int v;

    buf[0] = '\0';
    switch (p->type) {
    case NET_PARAM_INT:
        snprintf(buf, cap, "%d", *(const int *)FIELD);
        break;
    case NET_PARAM_MEMORY:
        snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)FIELD);
        break;
    case NET_PARAM_BOOL:
        v = *(const int *)FIELD;
        snprintf(buf, cap, "%s", ((p->flags & NET_PARAM_INVERT) ? !v : v) ? "yes" : "no");
        break;
    case NET_PARAM_STRING:
        snprintf(buf, cap, "%s", FIELD);
        break;
    case NET_PARAM_ENUM:
        snprintf(buf, cap, "%s", p->names[*(const int *)FIELD]);
        break;
    case NET_PARAM_CUSTOM:
        p->get(base, buf, cap);
        break;
    case NET_PARAM_TEXT:
        e = net_dict_find(&cfg->text, p->name, strlen(p->name));
        snprintf(buf, cap, "%s", e && e->value ? (const char *)e->value : "");
        break;
    }
#undef FIELD
}

int net_config_get(const net_config *cfg, const char *name, char *buf, size_t cap)
{
    void *base = NULL;
    const net_param *p = find(cfg, name, &base);

    if (!p)
        return -1;
    get_value(cfg, p, base, buf, cap);
    return 0;
}

int net_config_each(const net_config *cfg,
                    int (*fn)(void *arg, const net_param *p, const char *value), void *arg)
{
    char value[1024];

    for (int t = 0; t < cfg->table_count; t++)
        for (const net_param *p = cfg->tables[t].params; p->name; p++) {
            int rc;
            if (p->flags & NET_PARAM_HIDDEN)
                continue;
            get_value(cfg, p, cfg->tables[t].base, value, sizeof(value));
            rc = fn(arg, p, value);
            if (rc)
                return rc;
        }
    return 0;
}

/* ---- the config file ------------------------------------------------------------------------ */

/* The words after the first, joined by single spaces. */
static void join_words(const char *line, const net_span *argv, long argc, char *value, size_t cap)
{
    size_t vlen = 0;

    value[0] = '\0';
    for (long i = 1; i < argc; i++) {
        int w = snprintf(value + vlen, cap - vlen, "%s%.*s", i > 1 ? " " : "", (int)argv[i].len,
                         line + argv[i].off);
        vlen += w > 0 ? (size_t)w : 0;
        if (vlen >= cap)
            vlen = cap - 1;
    }
}

/* One line of a config file; 0, or -1 with the message in err. */
static int load_line(net_config *cfg, char *line, const char *path, int lineno, char *err,
                     size_t errlen)
{
    net_span argv[LINE_MAX_WORDS];
    char value[LINE_MAX_BYTES], msg[256];
    size_t len = strcspn(line, "\r\n");
    long argc;
    const char *name;

    line[len] = '\0';
    argc = net_split_args(line, len, 0, argv, LINE_MAX_WORDS);
    if (argc == 0 || line[argv[0].off] == '#')
        return 0;
    if (argc < 0 || argc > LINE_MAX_WORDS) {
        snprintf(err, errlen, "%s:%d: unbalanced quotes or too many arguments", path, lineno);
        return -1;
    }
    join_words(line, argv, argc, value, sizeof(value));
    line[argv[0].off + argv[0].len] = '\0';
    name = line + argv[0].off;
    /* Redis's "save" alone (no value) turns snapshots off: the one
     * parameter that may stand without a value. */
    if (argc < 2 && strcasecmp(name, "save") != 0) {
        snprintf(err, errlen, "%s:%d: Bad directive or wrong number of arguments", path, lineno);
        return -1;
    }
    if (net_config_set(cfg, name, value, 1, msg, sizeof(msg))) {
        snprintf(err, errlen, "%s:%d: '%s': %s", path, lineno, name, msg);
        return -1;
    }
    return 0;
}

int net_config_load(net_config *cfg, const char *path, char *err, size_t errlen)
{
    char line[LINE_MAX_BYTES];
    FILE *f = fopen(path, "r");
    int lineno = 0, rc = 0;

    if (!f) {
        snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(cfg->file, sizeof(cfg->file), "%s", path);
    while (rc == 0 && fgets(line, sizeof(line), f))
        rc = load_line(cfg, line, path, ++lineno, err, errlen);
    fclose(f);
    return rc;
}
