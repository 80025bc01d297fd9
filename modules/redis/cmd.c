/*
 * cmd.c — the server's command table (every family merged into one
 * resp_cmdtab), and the handler helpers that need the server: store errors
 * as replies, the string limit, random numbers, SCAN cursors (contracts in
 * cmd.h).
 */
#include "modules/redis/cmd.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/redis/redis.h"

static const resp_command *const families[] = {
    redis_cmds_server, redis_cmds_info,   redis_cmds_keys, redis_cmds_string, redis_cmds_hash,
    redis_cmds_list,   redis_cmds_set,    redis_cmds_zset, redis_cmds_multi,  redis_cmds_pubsub,
    redis_cmds_script, redis_cmds_debug,  redis_cmds_bit,  redis_cmds_sort,   redis_cmds_block,
    redis_cmds_lua,    redis_cmds_stream, redis_cmds_feed, redis_cmds_memory, redis_cmds_dump,
    redis_cmds_hll,
    redis_cmds_geo,
};
#define FAMILY_COUNT (sizeof(families) / sizeof(families[0]))

static resp_cmdtab table;
static int table_ready;

int redis_commands_add(const resp_command *family)
{
    int rc = resp_cmdtab_add(&table, family);

    if (rc == FFDB_EXISTS) {
        fprintf(stderr, "ffdb-server: a command of the family of '%s' is defined twice\n",
                family->name);
        abort();
    }
    return rc;
}

int redis_commands_init(void)
{
    if (table_ready)
        return 0;
    resp_cmdtab_init(&table);
    table_ready = 1;
    for (size_t f = 0; f < FAMILY_COUNT; f++) {
        int rc = redis_commands_add(families[f]);
        if (rc) {
            redis_commands_free();
            return rc;
        }
    }
    return 0;
}

void redis_commands_free(void)
{
    if (table_ready)
        resp_cmdtab_free(&table);
    table_ready = 0;
}

const resp_cmdtab *redis_commands(void)
{
    return &table;
}

const resp_command *redis_command_lookup(const char *name, size_t len)
{
    return table_ready ? resp_cmdtab_lookup(&table, name, len) : NULL;
}

size_t redis_command_count(void)
{
    return resp_cmdtab_count(&table);
}

const resp_command *redis_command_at(size_t i)
{
    return resp_cmdtab_at(&table, i);
}

int redis_store_error(resp_ctx *c, int rc)
{
    switch (rc) {
    case STORE_EWRONGTYPE:
        return resp_err_wrongtype(c->r);
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

uint64_t redis_max_string(const resp_ctx *c)
{
    return c->srv->cfg->limits.max_bulk_len;
}

uint64_t redis_rand(resp_ctx *c)
{
    return redis_random(c->srv);
}

/* ---- SCAN cursors ---------------------------------------------------------------------- */

int redis_scan_parse(resp_ctx *c, int cursor_at, int allow_type, redis_scan_args *a)
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
            return resp_err_syntax(c->r), 1;
        if (resp_arg_is(opt, "count")) {
            if (resp_arg_i64(c->r, &c->argv[i + 1], &a->count))
                return 1;
            if (a->count < 1)
                return resp_err_syntax(c->r), 1;
        } else if (resp_arg_is(opt, "match")) {
            a->match = c->argv[i + 1].p;
            a->match_len = c->argv[i + 1].n;
            if (a->match_len == 1 && a->match[0] == '*')
                a->match = NULL; /* matches everything: skip the work */
        } else if (allow_type && resp_arg_is(opt, "type")) {
            static const int types[] = {STORE_STRING, STORE_HASH, STORE_LIST,
                                        STORE_SET,    STORE_ZSET, STORE_STREAM};
            a->type = 99; /* an unknown type matches nothing */
            for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
                if (resp_arg_is(&c->argv[i + 1], store_type_name(types[t])))
                    a->type = types[t];
        } else {
            return resp_err_syntax(c->r), 1;
        }
    }
    return 0;
bad_cursor:
    reply_error(c->r, "ERR invalid cursor");
    return 1;
}

void redis_cursor_position(redis_server *s, uint64_t cursor, void *pos, size_t cap, size_t *len)
{
    size_t slot = cursor & 0xffff;
    uint8_t *out = pos;
    size_t n;

    *len = 0;
    if (cursor == 0)
        return;
    if (slot < REDIS_CURSOR_SLOTS && s->cursors[slot].id == cursor) {
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

int redis_reply_missing(resp_ctx *c, int aggregate)
{
    if (aggregate)
        reply_array(c->r, 0);
    else
        reply_null(c->r);
    return 0;
}

int redis_reply_size(resp_ctx *c, int rc, const store_meta *m)
{
    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    reply_int(c->r, rc ? 0 : (int64_t)m->size);
    return 0;
}

int redis_reply_removed(resp_ctx *c, store_meta *m, int64_t removed)
{
    if (removed) {
        int rc = store_meta_save(c->st, m);
        if (rc)
            return rc;
    }
    reply_int(c->r, removed);
    return 0;
}

void *redis_array_grow(void *v, size_t *cap, size_t elem_size)
{
    size_t n = *cap ? 2 * *cap : 16;
    void *grown;

    assert(elem_size > 0);
    if (n < *cap || n > SIZE_MAX / elem_size)
        return NULL;
    grown = realloc(v, n * elem_size);
    if (grown)
        *cap = n;
    return grown;
}

int redis_clamp_range(int64_t start, int64_t end, uint64_t size, uint64_t *s, uint64_t *e)
{
    int64_t n = size > INT64_MAX ? INT64_MAX : (int64_t)size;

    if (start < 0)
        start += n;
    if (end < 0)
        end += n;
    if (start < 0)
        start = 0;
    if (start > end || start >= n)
        return 0;
    if (end >= n)
        end = n - 1;
    *s = (uint64_t)start;
    *e = (uint64_t)end;
    return 1;
}

void redis_scan_reply(resp_ctx *c, uint64_t cursor, size_t n, const net_buf *items)
{
    assert(n == 0 || items);
    reply_array(c->r, 2);
    reply_bulk_int(c->r, (int64_t)cursor);
    reply_array(c->r, n);
    if (n)
        net_buf_append(c->r->out, items->data, items->len);
}

int redis_scan_members(resp_ctx *c, redis_scan_get_fn get, redis_scan_emit_fn emit)
{
    resp_ctx cursor_only = *c;
    redis_scan_args a;
    store_meta m;
    store_iter *it;
    uint8_t pos[STORE_MAX_FIELD];
    size_t pos_len, n = 0;
    net_buf out;
    resp_reply aside = {&out, c->r->proto, 0};
    ffdb_val f, v;
    uint64_t cursor = 0;
    int rc;

    cursor_only.argc = 3;
    if (redis_scan_parse(&cursor_only, 2, 0, &a))
        return 0;
    rc = get(c, &m);
    if (rc == FFDB_NOTFOUND) {
        redis_scan_reply(c, 0, 0, NULL);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    if (redis_scan_parse(c, 2, 0, &a))
        return 0;
    redis_cursor_position(c->srv, a.cursor, pos, sizeof(pos), &pos_len);
    rc = store_iter_open(c->st, &m, STORE_SUB, &it);
    if (rc)
        return rc;
    net_buf_init(&out, 0);
    rc = store_iter_seek(it, pos, pos_len, &f, &v);
    for (int64_t seen = 0; rc == 0; seen++, rc = store_iter_next(it, &f, &v)) {
        if (seen == a.count) { /* the next call starts here */
            cursor = redis_cursor_save(c->srv, f.data, f.size);
            break;
        }
        if (a.match && !resp_glob_match(a.match, a.match_len, (const char *)f.data, f.size, 0))
            continue;
        int added = emit(&aside, &f, &v);
        if (added < 0) {
            rc = added;
            break;
        }
        n += (size_t)added;
    }
    store_iter_close(it);
    if (rc == 0 || rc == FFDB_NOTFOUND) {
        rc = 0;
        redis_scan_reply(c, cursor, n, &out);
    }
    net_buf_free(&out);
    return rc;
}

int redis_rand_count(resp_ctx *c, const resp_arg *arg, int64_t *count)
{
    if (resp_arg_i64(c->r, arg, count))
        return 1;
    if (*count == INT64_MIN) {
        reply_error(c->r, "ERR value is out of range, value must between "
                          "-9223372036854775807 and 9223372036854775807");
        return 1;
    }
    return 0;
}

int redis_rand_members(resp_ctx *c, const char *with, redis_scan_get_fn get, store_elem_fn visit,
                       redis_rand_whole_fn whole)
{
    redis_rand_pick w = {c->r, 0};
    int64_t l = 0;
    uint64_t count;
    store_meta m;
    int rc;

    if (c->argc >= 3) {
        if (redis_rand_count(c, &c->argv[2], &l))
            return 0;
        if (c->argc > 4 || (c->argc == 4 && !resp_arg_is(&c->argv[3], with)))
            return resp_err_syntax(c->r);
        w.with = c->argc == 4;
        if (w.with && (l < -INT64_MAX / 2 || l > INT64_MAX / 2)) {
            reply_error(c->r, "ERR value is out of range");
            return 0;
        }
    }
    rc = get(c, &m);
    if (rc == FFDB_NOTFOUND)
        return redis_reply_missing(c, c->argc >= 3);
    if (rc)
        return redis_store_error(c, rc);
    if (c->argc == 2) { /* one member, as a bulk string */
        rc = store_sample(c->st, &m, 1, 1, redis_rand(c), visit, &w);
        return rc < 0 ? rc : 0;
    }
    count = l < 0 ? (uint64_t)-l : (uint64_t)l;
    if (l >= 0 && count >= m.size) {
        if (whole)
            return whole(c, &m, w.with);
        count = m.size;
    }
    reply_array(c->r, count * (w.with && c->r->proto < 3 ? 2 : 1));
    rc = store_sample(c->st, &m, count, l >= 0, redis_rand(c), visit, &w);
    return rc < 0 ? rc : 0;
}

uint64_t redis_cursor_save(redis_server *s, const void *pos, size_t len)
{
    size_t slot = 1 + (size_t)(s->cursor_seq++ % (REDIS_CURSOR_SLOTS - 1));
    redis_cursor_slot *cs = &s->cursors[slot];
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
