/*
 * command.c — the command table (families merged into one lookup), the
 * argument parsers and error replies with Redis's wording, and the glob
 * matcher (contracts in command.h). It runs no command: the handlers and
 * their context belong to the module that serves them (modules/redis).
 */
#include "modules/resp/command.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ffdb.h"

void resp_cmdtab_init(resp_cmdtab *t)
{
    memset(t, 0, sizeof(*t));
    net_dict_init(&t->names, 1);
}

void resp_cmdtab_free(resp_cmdtab *t)
{
    net_dict_free(&t->names);
    free(t->all);
    memset(t, 0, sizeof(*t));
}

int resp_cmdtab_add(resp_cmdtab *t, const resp_command *family)
{
    size_t n = 0;

    for (const resp_command *c = family; c->name; c++) {
        if (net_dict_find(&t->names, c->name, strlen(c->name)))
            return FFDB_EXISTS;
        n++;
    }
    if (t->count + n > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->count + n)
            cap *= 2;
        const resp_command **all = realloc(t->all, cap * sizeof(*all));
        if (!all)
            return FFDB_ENOMEM;
        t->all = all;
        t->cap = cap;
    }
    for (const resp_command *c = family; c->name; c++) {
        int created;
        net_dict_entry *e = net_dict_upsert(&t->names, c->name, strlen(c->name), &created);
        if (!e || !created) {
            /* Out of memory, or a name twice in the family: take the family back. */
            for (const resp_command *u = family; u < c; u++)
                net_dict_remove(&t->names, u->name, strlen(u->name));
            if (e && !created)
                return FFDB_EXISTS;
            return FFDB_ENOMEM;
        }
        e->value = (void *)c;
    }
    for (const resp_command *c = family; c->name; c++)
        t->all[t->count++] = c;
    return 0;
}

const resp_command *resp_cmdtab_lookup(const resp_cmdtab *t, const char *name, size_t len)
{
    net_dict_entry *e = net_dict_find(&t->names, name, len);
    return e ? e->value : NULL;
}

size_t resp_cmdtab_count(const resp_cmdtab *t)
{
    return t->count;
}

const resp_command *resp_cmdtab_at(const resp_cmdtab *t, size_t i)
{
    return i < t->count ? t->all[i] : NULL;
}

int resp_arity_ok(const resp_command *cmd, int argc)
{
    return cmd->arity >= 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

/* ---- error replies ------------------------------------------------------------------ */

int resp_err_arity(resp_reply *r, const resp_command *cmd)
{
    reply_errorf(r, "ERR wrong number of arguments for '%s' command", cmd->name);
    return 0;
}

int resp_err_syntax(resp_reply *r)
{
    reply_error(r, "ERR syntax error");
    return 0;
}

int resp_err_wrongtype(resp_reply *r)
{
    reply_error(r, "WRONGTYPE Operation against a key holding the wrong kind of value");
    return 0;
}

int resp_err_not_int(resp_reply *r)
{
    reply_error(r, "ERR value is not an integer or out of range");
    return 0;
}

int resp_err_not_float(resp_reply *r)
{
    reply_error(r, "ERR value is not a valid float");
    return 0;
}

int resp_err_no_key(resp_reply *r)
{
    reply_error(r, "ERR no such key");
    return 0;
}

int resp_err_subcommand(resp_reply *r, const resp_command *cmd, const resp_arg *sub,
                        const char *const *known)
{
    char upper[32];
    size_t i;

    for (i = 0; cmd->name[i] && i < sizeof(upper) - 1; i++)
        upper[i] = (char)toupper((unsigned char)cmd->name[i]);
    upper[i] = '\0';
    for (; known && *known; known++)
        if (resp_arg_is(sub, *known)) {
            reply_errorf(r, "ERR wrong number of arguments for '%s|%s' command", cmd->name, *known);
            return 0;
        }
    reply_errorf(r, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                 (int)(sub->n < 128 ? sub->n : 128), sub->p, upper);
    return 0;
}

void resp_err_unknown(resp_reply *r, int argc, const resp_arg *argv)
{
    char args[160];
    size_t n = 0;

    args[0] = '\0';
    for (int i = 1; i < argc && n < 128; i++) {
        int w = snprintf(args + n, sizeof(args) - n, "'%.*s' ",
                         (int)(argv[i].n < 128 - n ? argv[i].n : 128 - n), argv[i].p);
        if (w < 0)
            break;
        n += (size_t)w < sizeof(args) - n ? (size_t)w : sizeof(args) - n - 1;
    }
    reply_errorf(r, "ERR unknown command '%.*s', with args beginning with: %s",
                 (int)(argv[0].n < 128 ? argv[0].n : 128), argv[0].p, args);
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

int resp_arg_i64(resp_reply *r, const resp_arg *a, int64_t *out)
{
    if (resp_parse_i64(a->p, a->n, out) == 0)
        return 0;
    resp_err_not_int(r);
    return 1;
}

int resp_arg_double(resp_reply *r, const resp_arg *a, double *out)
{
    if (resp_parse_double(a->p, a->n, out) == 0)
        return 0;
    resp_err_not_float(r);
    return 1;
}

int resp_arg_range(resp_reply *r, const resp_arg *a, int64_t min, int64_t max, int64_t *out)
{
    if (resp_arg_i64(r, a, out))
        return 1;
    if (*out < min || *out > max) {
        reply_error(r, "ERR value is out of range");
        return 1;
    }
    return 0;
}

int resp_arg_is(const resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->n == n && strncasecmp(a->p, word, n) == 0;
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
