/*
 * command.c — the command table (the families merged into one lookup), the
 * argument parsers and error replies with Redis's wording, the glob matcher
 * and SCAN cursors (contracts in command.h).
 *
 * The table is built once at start-up and read-only afterwards. The wording
 * of every error here is Redis's, letter for letter, because client
 * libraries match on it (redis-py turns "WRONGTYPE" into ResponseError
 * subclasses, hiredis users compare strings).
 */
#include "modules/resp/command.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "modules/resp/dict.h"
#include "modules/resp/server.h"

static const resp_command *const families[] = {
    resp_cmds_server, resp_cmds_info, resp_cmds_keys, resp_cmds_string, resp_cmds_hash,
    resp_cmds_list,   resp_cmds_set,  resp_cmds_zset, resp_cmds_multi,  resp_cmds_pubsub,
};
#define FAMILY_COUNT (sizeof(families) / sizeof(families[0]))

static dict table;
static const resp_command **all;
static size_t all_count;

int resp_commands_init(void)
{
    size_t n = 0;

    if (all)
        return 0;
    for (size_t f = 0; f < FAMILY_COUNT; f++)
        for (const resp_command *c = families[f]; c->name; c++)
            n++;
    all = calloc(n ? n : 1, sizeof(*all));
    if (!all)
        return FFDB_ENOMEM;
    dict_init(&table, 1);
    for (size_t f = 0; f < FAMILY_COUNT; f++)
        for (const resp_command *c = families[f]; c->name; c++) {
            int created;
            dict_entry *e = dict_upsert(&table, c->name, strlen(c->name), &created);
            if (!e) {
                resp_commands_free();
                return FFDB_ENOMEM;
            }
            if (!created) {
                fprintf(stderr, "ffdb-server: command '%s' is defined twice\n", c->name);
                abort();
            }
            e->value = (void *)c;
            all[all_count++] = c;
        }
    return 0;
}

void resp_commands_free(void)
{
    dict_free(&table);
    free(all);
    all = NULL;
    all_count = 0;
}

const resp_command *resp_command_lookup(const char *name, size_t len)
{
    dict_entry *e = dict_find(&table, name, len);
    return e ? e->value : NULL;
}

size_t resp_command_count(void)
{
    return all_count;
}

const resp_command *resp_command_at(size_t i)
{
    return i < all_count ? all[i] : NULL;
}

int resp_arity_ok(const resp_command *cmd, int argc)
{
    return cmd->arity >= 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

/* ---- error replies ------------------------------------------------------------------ */

int resp_err_arity(resp_ctx *c)
{
    reply_errorf(c->r, "ERR wrong number of arguments for '%s' command", c->cmd->name);
    return 0;
}

int resp_err_syntax(resp_ctx *c)
{
    reply_error(c->r, "ERR syntax error");
    return 0;
}

int resp_err_wrongtype(resp_ctx *c)
{
    reply_error(c->r, "WRONGTYPE Operation against a key holding the wrong kind of value");
    return 0;
}

int resp_err_not_int(resp_ctx *c)
{
    reply_error(c->r, "ERR value is not an integer or out of range");
    return 0;
}

int resp_err_not_float(resp_ctx *c)
{
    reply_error(c->r, "ERR value is not a valid float");
    return 0;
}

int resp_err_no_key(resp_ctx *c)
{
    reply_error(c->r, "ERR no such key");
    return 0;
}

int resp_err_subcommand(resp_ctx *c, const char *const *known)
{
    const resp_arg *sub = &c->argv[1];
    char upper[32];
    size_t i;

    for (i = 0; c->cmd->name[i] && i < sizeof(upper) - 1; i++)
        upper[i] = (char)toupper((unsigned char)c->cmd->name[i]);
    upper[i] = '\0';
    for (; known && *known; known++)
        if (resp_arg_is(sub, *known)) {
            reply_errorf(c->r, "ERR wrong number of arguments for '%s|%s' command", c->cmd->name,
                         *known);
            return 0;
        }
    reply_errorf(c->r, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                 (int)(sub->n < 128 ? sub->n : 128), sub->p, upper);
    return 0;
}

int resp_store_error(resp_ctx *c, int rc)
{
    switch (rc) {
    case STORE_EWRONGTYPE:
        return resp_err_wrongtype(c);
    case STORE_EKEYLEN:
        reply_errorf(c->r, "ERR key too long (ffdb-server keys are at most %u bytes)",
                     STORE_MAX_KEY);
        return 0;
    case STORE_EFIELDLEN:
        reply_errorf(c->r, "ERR field or member too long (at most %u bytes in ffdb-server)",
                     STORE_MAX_FIELD);
        return 0;
    default:
        return rc;
    }
}

/* ---- argument parsing ---------------------------------------------------------------- */

/* Copy a to a NUL-terminated buffer for strtod; 0 if it does not fit. */
static int to_cstr(const char *p, size_t n, char *buf, size_t cap)
{
    if (n == 0 || n >= cap)
        return 0;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 1;
}

int resp_parse_double(const char *p, size_t n, double *out)
{
    char buf[320], *end;
    double d;

    if (!to_cstr(p, n, buf, sizeof(buf)) || isspace((unsigned char)buf[0]))
        return -1;
    errno = 0;
    d = strtod(buf, &end);
    if (end != buf + n || isnan(d)) /* all of it: "1\0x" is not 1 (nor "\0" 0) */
        return -1;
    /* Overflow to inf or underflow to 0 is a misread number (Redis refuses
     * it too); "inf" itself is fine. */
    if (errno == ERANGE && (isinf(d) || d == 0))
        return -1;
    *out = d;
    return 0;
}

int resp_parse_long_double(const char *p, size_t n, long double *out)
{
    char buf[RESP_LONG_DOUBLE_CHARS], *end;
    long double d;

    if (!to_cstr(p, n, buf, sizeof(buf)) || isspace((unsigned char)buf[0]))
        return -1;
    errno = 0;
    d = strtold(buf, &end);
    if (end != buf + n || isnan(d) || errno == ERANGE)
        return -1;
    *out = d;
    return 0;
}

int resp_arg_i64(resp_ctx *c, const resp_arg *a, int64_t *out)
{
    if (resp_parse_i64(a->p, a->n, out) == 0)
        return 0;
    resp_err_not_int(c);
    return 1;
}

int resp_arg_double(resp_ctx *c, const resp_arg *a, double *out)
{
    if (resp_parse_double(a->p, a->n, out) == 0)
        return 0;
    resp_err_not_float(c);
    return 1;
}

int resp_arg_range(resp_ctx *c, const resp_arg *a, int64_t min, int64_t max, int64_t *out)
{
    if (resp_arg_i64(c, a, out))
        return 1;
    if (*out < min || *out > max) {
        reply_error(c->r, "ERR value is out of range");
        return 1;
    }
    return 0;
}

int resp_arg_is(const resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->n == n && strncasecmp(a->p, word, n) == 0;
}

uint64_t resp_max_string(const resp_ctx *c)
{
    return c->srv->cfg.limits.max_bulk_len;
}

uint64_t resp_rand(resp_ctx *c)
{
    return resp_random(c->srv);
}

/* ---- glob ----------------------------------------------------------------------------- */

static unsigned char fold(unsigned char c, int nocase)
{
    return nocase ? (unsigned char)tolower(c) : c;
}

/* Does the class at pat[*i] (just after '[') match c? Advances *i past ']'. */
static int class_match(const char *pat, size_t plen, size_t *i, unsigned char c, int nocase)
{
    int negate = 0, match = 0;

    if (*i < plen && pat[*i] == '^')
        negate = 1, (*i)++;
    while (*i < plen && pat[*i] != ']') {
        if (pat[*i] == '\\' && *i + 1 < plen) {
            (*i)++;
            if (fold((unsigned char)pat[*i], nocase) == fold(c, nocase))
                match = 1;
        } else if (*i + 2 < plen && pat[*i + 1] == '-') {
            unsigned char lo = fold((unsigned char)pat[*i], nocase);
            unsigned char hi = fold((unsigned char)pat[*i + 2], nocase);
            unsigned char x = fold(c, nocase);
            if (lo > hi) {
                unsigned char t = lo;
                lo = hi, hi = t;
            }
            if (x >= lo && x <= hi)
                match = 1;
            *i += 2;
        } else if (fold((unsigned char)pat[*i], nocase) == fold(c, nocase)) {
            match = 1;
        }
        (*i)++;
    }
    if (*i < plen)
        (*i)++; /* the ']' */
    return negate ? !match : match;
}

int resp_glob_match(const char *pat, size_t plen, const char *s, size_t n, int nocase)
{
    size_t p = 0, i = 0, star_p = (size_t)-1, star_i = 0;

    /* Greedy with backtracking to the last '*' only: a later star can always
     * absorb what an earlier one would have, so this is exact and O(p * n). */
    while (i < n) {
        if (p < plen && pat[p] == '*') {
            while (p < plen && pat[p] == '*')
                p++;
            if (p == plen)
                return 1;
            star_p = p;
            star_i = i;
            continue;
        }
        if (p < plen) {
            size_t q = p;
            int ok;
            if (pat[q] == '?') {
                ok = 1, q++;
            } else if (pat[q] == '[') {
                q++;
                ok = class_match(pat, plen, &q, (unsigned char)s[i], nocase);
            } else {
                if (pat[q] == '\\' && q + 1 < plen)
                    q++;
                ok = fold((unsigned char)pat[q], nocase) == fold((unsigned char)s[i], nocase);
                q++;
            }
            if (ok) {
                p = q, i++;
                continue;
            }
        }
        if (star_p == (size_t)-1)
            return 0;
        p = star_p;
        i = ++star_i;
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

/* ---- SCAN cursors ---------------------------------------------------------------------- */

int resp_scan_parse(resp_ctx *c, int cursor_at, int allow_type, resp_scan_args *a)
{
    const resp_arg *cur = &c->argv[cursor_at];
    uint64_t v = 0;

    memset(a, 0, sizeof(*a));
    a->count = 10;
    a->type = -1;
    if (cur->n == 0 || cur->n > 20)
        goto bad_cursor;
    for (size_t i = 0; i < cur->n; i++) {
        unsigned d = (unsigned char)cur->p[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            goto bad_cursor;
        v = v * 10 + d;
    }
    a->cursor = v;
    for (int i = cursor_at + 1; i < c->argc; i += 2) {
        const resp_arg *opt = &c->argv[i];
        if (i + 1 >= c->argc)
            return resp_err_syntax(c), 1;
        if (resp_arg_is(opt, "count")) {
            if (resp_arg_i64(c, &c->argv[i + 1], &a->count))
                return 1;
            if (a->count < 1)
                return resp_err_syntax(c), 1;
        } else if (resp_arg_is(opt, "match")) {
            a->match = c->argv[i + 1].p;
            a->match_len = c->argv[i + 1].n;
            if (a->match_len == 1 && a->match[0] == '*')
                a->match = NULL; /* matches everything: skip the work */
        } else if (allow_type && resp_arg_is(opt, "type")) {
            static const int types[] = {STORE_STRING, STORE_HASH, STORE_LIST, STORE_SET,
                                        STORE_ZSET};
            a->type = 99; /* an unknown type matches nothing */
            for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
                if (resp_arg_is(&c->argv[i + 1], store_type_name(types[t])))
                    a->type = types[t];
        } else {
            return resp_err_syntax(c), 1;
        }
    }
    return 0;
bad_cursor:
    reply_error(c->r, "ERR invalid cursor");
    return 1;
}

void resp_cursor_position(resp_server *s, uint64_t cursor, void *pos, size_t cap, size_t *len)
{
    size_t slot = cursor & 0xffff;
    uint8_t *out = pos;
    size_t n;

    *len = 0;
    if (cursor == 0)
        return;
    if (slot < RESP_CURSOR_SLOTS && s->cursors[slot].id == cursor) {
        n = s->cursors[slot].len < cap ? s->cursors[slot].len : cap;
        memcpy(pos, s->cursors[slot].pos, n);
        *len = n;
        return;
    }
    /* Forgotten: resume from the 6-byte prefix, trailing zero bytes dropped so
     * the position is never past a key that starts with those bytes. */
    for (n = 0; n < 6 && n < cap; n++)
        out[n] = (uint8_t)(cursor >> (56 - 8 * n));
    while (n > 0 && out[n - 1] == 0)
        n--;
    *len = n;
}

uint64_t resp_cursor_save(resp_server *s, const void *pos, size_t len)
{
    size_t slot = 1 + (size_t)(s->cursor_seq++ % (RESP_CURSOR_SLOTS - 1));
    resp_cursor_slot *cs = &s->cursors[slot];
    const uint8_t *p = pos;
    uint64_t prefix = 0;
    char *copy = malloc(len ? len : 1);

    for (size_t i = 0; i < 6; i++)
        prefix = prefix << 8 | (i < len ? p[i] : 0);
    if (copy) {
        memcpy(copy, pos, len);
        free(cs->pos);
        cs->pos = copy;
        cs->len = len;
        cs->id = prefix << 16 | slot;
    }
    return prefix << 16 | slot; /* without the copy it still resumes by prefix */
}
