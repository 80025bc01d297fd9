/*
 * cmd_stream.c — the stream commands: XADD XLEN XRANGE XREVRANGE XDEL
 * XTRIM XSETID XREAD (BLOCK), and consumer groups: XGROUP XREADGROUP
 * (BLOCK) XACK XPENDING XCLAIM XAUTOCLAIM XINFO, on the layout of
 * stream.h. A range is one cursor walk over the entries' sub keys; a
 * group's pending entries (PEL) are another contiguous run, ID-ordered.
 *
 * XREAD/XREADGROUP BLOCK wait through block.h like BLPOP (an XADD touches
 * the key); XREAD's "$" is fixed to the stream's last ID when it blocks.
 *
 * Divergence (README): trimming with "~" trims exactly (Redis trims whole
 * radix-tree nodes, so it may leave more entries); LIMIT bounds it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/redis/block.h"
#include "modules/redis/cmd.h"
#include "modules/redis/stream.h"

#define ID_MAX ((stream_id){UINT64_MAX, UINT64_MAX})
#define ID_MIN ((stream_id){0, 0})

static const char *const E_ID = "ERR Invalid stream ID specified as stream command argument";

/* ---- arguments ------------------------------------------------------------------------------ */

static int parse_u64(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* "ms[-seq]" (missing seq = def_seq), "-" and "+": 0 or -1. *seq_star set
 * when the seq is "*" (XADD's ms-*), if seq_star is given. */
static int parse_id(const resp_arg *a, uint64_t def_seq, stream_id *id, int *seq_star)
{
    const char *dash;

    if (seq_star)
        *seq_star = 0;
    if (a->n == 1 && a->p[0] == '-') {
        *id = ID_MIN;
        return 0;
    }
    if (a->n == 1 && a->p[0] == '+') {
        *id = ID_MAX;
        return 0;
    }
    dash = memchr(a->p, '-', a->n);
    if (!dash) {
        id->seq = def_seq;
        return parse_u64(a->p, a->n, &id->ms);
    }
    if (parse_u64(a->p, (size_t)(dash - a->p), &id->ms))
        return -1;
    size_t rest = a->n - (size_t)(dash - a->p) - 1;
    if (seq_star && rest == 1 && dash[1] == '*') {
        *seq_star = 1;
        return 0;
    }
    return parse_u64(dash + 1, rest, &id->seq);
}

static int id_arg(resp_ctx *c, const resp_arg *a, uint64_t def_seq, stream_id *id)
{
    if (parse_id(a, def_seq, id, NULL)) {
        reply_error(c->r, E_ID);
        return 1;
    }
    return 0;
}

static int id_next(stream_id *id)
{
    if (id->seq < UINT64_MAX) {
        id->seq++;
        return 0;
    }
    if (id->ms < UINT64_MAX) {
        id->ms++, id->seq = 0;
        return 0;
    }
    return -1;
}

static int id_prev(stream_id *id)
{
    if (id->seq > 0) {
        id->seq--;
        return 0;
    }
    if (id->ms > 0) {
        id->ms--, id->seq = UINT64_MAX;
        return 0;
    }
    return -1;
}

static void reply_id(resp_reply *r, stream_id id)
{
    char buf[48];
    reply_bulk(r, buf, stream_id_format(id, buf));
}

/* ---- the stream ------------------------------------------------------------------------------ */

/* The stream at key: 0, FFDB_NOTFOUND, 1 after a WRONGTYPE reply (or
 * quietly absent on a blocked re-run), or an engine code. */
static int get_stream(resp_ctx *c, const resp_arg *key, store_meta *m, stream_state *s)
{
    int rc = store_lookup_type(c->st, c->db, key->p, key->n, STORE_STREAM, m);

    if (rc == STORE_EWRONGTYPE && redis_block_rerun(c))
        return FFDB_NOTFOUND;
    if (rc == STORE_EWRONGTYPE || rc == STORE_EKEYLEN) {
        redis_store_error(c, rc);
        return 1;
    }
    if (rc)
        return rc;
    return stream_state_get(c->st, m, s);
}

static int create_stream(resp_ctx *c, const resp_arg *key, store_meta *m, stream_state *s)
{
    int rc = store_meta_create(c->st, c->db, key->p, key->n, STORE_STREAM, m);
    if (rc)
        return rc;
    memset(s, 0, sizeof(*s));
    m->size = 1; /* the state entry */
    return stream_state_put(c->st, m, s);
}

/* The stream under argv[1] for a command that answers 0 when there is none:
 * 0, 1 (absent: the 0 is written), or get_stream's answer. */
static int stream_or_zero(resp_ctx *c, store_meta *m, stream_state *s)
{
    int rc = get_stream(c, &c->argv[1], m, s);
    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, 0);
        return 1;
    }
    return rc;
}

/* The changed state and metadata back into the store. */
static int save_stream(resp_ctx *c, store_meta *m, const stream_state *s)
{
    int rc = stream_state_put(c->st, m, s);
    return rc ? rc : store_meta_save(c->st, m);
}

static void reply_pair_part(void *arg, const void *p, size_t n)
{
    reply_bulk(arg, p, n);
}

/* [id, [field, value, ...]] of an entry value. */
static int reply_entry(resp_ctx *c, stream_id id, const ffdb_val *v)
{
    uint32_t pairs;
    int rc = stream_entry_pairs(v, &pairs);
    if (rc)
        return rc;
    reply_array(c->r, 2);
    reply_id(c->r, id);
    reply_array(c->r, 2 * (size_t)pairs);
    return stream_entry_each(v, reply_pair_part, c->r);
}

/* Entries in [start, end] (rev: from end down), up to count (-1: all),
 * as an array. */
static int reply_range(resp_ctx *c, const store_meta *m, stream_id start, stream_id end,
                       int64_t count, int rev)
{
    uint8_t f[STREAM_FIELD_MAX];
    store_iter *it;
    ffdb_val k, v;
    resp_defer d = reply_defer(c->r);
    size_t n = 0;
    int rc;

    if (stream_id_cmp(start, end) > 0 || count == 0) {
        reply_defer_array(c->r, d, 0);
        return 0;
    }
    rc = store_iter_open(c->st, m, STORE_SUB, &it);
    if (rc)
        return rc;
    rc = rev ? store_iter_seek_le(it, f, stream_entry_field(f, end), &k, &v)
             : store_iter_seek(it, f, stream_entry_field(f, start), &k, &v);
    while (rc == 0 && (count < 0 || (int64_t)n < count)) {
        const uint8_t *p = k.data;
        if (k.size != 17 || p[0] != STREAM_F_ENTRY)
            break;
        stream_id id = stream_field_id(p + 1);
        if (rev ? stream_id_cmp(id, start) < 0 : stream_id_cmp(id, end) > 0)
            break;
        rc = reply_entry(c, id, &v);
        if (rc)
            break;
        n++;
        rc = rev ? store_iter_prev(it, &k, &v) : store_iter_next(it, &k, &v);
    }
    store_iter_close(it);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    reply_defer_array(c->r, d, n);
    return 0;
}

/* The first entry of the stream after id (exclusive): 1 found, 0 none, or an engine code. */
static int has_after(resp_ctx *c, const store_meta *m, stream_id id)
{
    uint8_t f[STREAM_FIELD_MAX];
    store_iter *it;
    ffdb_val k, v;
    int rc, found = 0;

    if (id_next(&id))
        return 0;
    rc = store_iter_open(c->st, m, STORE_SUB, &it);
    if (rc)
        return rc;
    rc = store_iter_seek(it, f, stream_entry_field(f, id), &k, &v);
    if (rc == 0 && k.size == 17 && ((const uint8_t *)k.data)[0] == STREAM_F_ENTRY)
        found = 1;
    store_iter_close(it);
    return rc && rc != FFDB_NOTFOUND ? rc : found;
}

/* ---- trimming ----------------------------------------------------------------------------------
 */

typedef struct trim_args {
    int kind; /* 0 none, 1 MAXLEN, 2 MINID */
    int approx;
    uint64_t maxlen;
    stream_id minid;
    int64_t limit; /* -1: none */
} trim_args;

/* MAXLEN|MINID [=|~] threshold [LIMIT n] at argv[*i]: 0 (advanced), or 1 after an error reply. */
static int trim_parse(resp_ctx *c, int *i, trim_args *t)
{
    const resp_arg *a = &c->argv[*i];
    int j = *i + 1;

    t->kind = resp_arg_is(a, "maxlen") ? 1 : 2;
    if (j < c->argc && c->argv[j].n == 1 && (c->argv[j].p[0] == '=' || c->argv[j].p[0] == '~'))
        t->approx = c->argv[j++].p[0] == '~';
    if (j >= c->argc) {
        resp_err_syntax(c->r);
        return 1;
    }
    if (t->kind == 1) {
        int64_t v;
        if (resp_arg_i64(c->r, &c->argv[j], &v))
            return 1;
        if (v < 0) {
            reply_error(c->r, "ERR The MAXLEN argument must be >= 0.");
            return 1;
        }
        t->maxlen = (uint64_t)v;
    } else if (id_arg(c, &c->argv[j], 0, &t->minid)) {
        return 1;
    }
    j++;
    if (j + 1 < c->argc && resp_arg_is(&c->argv[j], "limit")) {
        if (resp_arg_i64(c->r, &c->argv[j + 1], &t->limit))
            return 1;
        if (t->limit < 0) {
            reply_error(c->r, "ERR The LIMIT argument must be >= 0.");
            return 1;
        }
        if (!t->approx) {
            reply_error(c->r,
                        "ERR syntax error, LIMIT cannot be used without the special ~ option");
            return 1;
        }
        j += 2;
    }
    *i = j;
    return 0;
}

/* Delete from the head while the stream is over its bound: *deleted. */
static int trim(resp_ctx *c, store_meta *m, stream_state *s, const trim_args *t, int64_t *deleted)
{
    uint8_t f[STREAM_FIELD_MAX];
    *deleted = 0;

    while (t->kind && (t->limit < 0 || *deleted < t->limit)) {
        store_iter *it;
        ffdb_val k, v;
        stream_id id;
        if (t->kind == 1 && s->length <= t->maxlen)
            break;
        int rc = store_iter_open(c->st, m, STORE_SUB, &it);
        if (rc)
            return rc;
        rc = store_iter_seek(it, f, stream_entry_field(f, ID_MIN), &k, &v);
        int entry = rc == 0 && k.size == 17 && ((const uint8_t *)k.data)[0] == STREAM_F_ENTRY;
        if (entry)
            id = stream_field_id((const uint8_t *)k.data + 1);
        store_iter_close(it);
        if (rc && rc != FFDB_NOTFOUND)
            return rc;
        if (!entry || (t->kind == 2 && stream_id_cmp(id, t->minid) >= 0))
            break;
        rc = store_sub_del(c->st, m, f, stream_entry_field(f, id), NULL);
        if (rc)
            return rc;
        m->size--;
        s->length--;
        (*deleted)++;
    }
    return 0;
}

/* ---- XADD XLEN XRANGE XREVRANGE XDEL XTRIM XSETID ----------------------------------------------
 */

static int xadd_cmd(resp_ctx *c)
{
    trim_args t = {0, 0, 0, {0, 0}, -1};
    int nomk = 0, i = 2, star = 0, seq_star = 0, rc;
    stream_id id = {0, 0};
    store_meta m;
    stream_state s;

    for (; i < c->argc; i++) {
        const resp_arg *a = &c->argv[i];
        if (resp_arg_is(a, "nomkstream"))
            nomk = 1;
        else if (resp_arg_is(a, "maxlen") || resp_arg_is(a, "minid")) {
            if (trim_parse(c, &i, &t))
                return 0;
            i--;
        } else
            break;
    }
    if (i >= c->argc || (c->argc - i - 1) < 2 || (c->argc - i - 1) % 2)
        return resp_err_arity(c->r, c->cmd);
    if (c->argv[i].n == 1 && c->argv[i].p[0] == '*')
        star = 1;
    else if (parse_id(&c->argv[i], 0, &id, &seq_star) || c->argv[i].p[0] == '-' ||
             c->argv[i].p[0] == '+') {
        reply_error(c->r, E_ID);
        return 0;
    }
    if (!star && !seq_star && id.ms == 0 && id.seq == 0) {
        reply_error(c->r, "ERR The ID specified in XADD must be greater than 0-0");
        return 0;
    }
    rc = get_stream(c, &c->argv[1], &m, &s);
    if (rc == FFDB_NOTFOUND) {
        if (nomk) {
            reply_null(c->r);
            return 0;
        }
        memset(&s, 0, sizeof(s));
        m.saved = 0;
    } else if (rc) {
        return rc < 0 ? rc : 0;
    }
    if (star) {
        uint64_t now = (uint64_t)c->now_ms;
        id = now > s.last.ms ? (stream_id){now, 0} : s.last;
        if (now <= s.last.ms && id_next(&id)) {
            reply_error(
                c->r,
                "ERR The stream has exhausted the last possible ID, unable to add more items");
            return 0;
        }
    } else if (seq_star) {
        if (id.ms == s.last.ms && (s.entries_added || s.last.seq)) {
            if (s.last.seq == UINT64_MAX) {
                reply_error(c->r, "ERR The ID specified in XADD is equal or smaller than the "
                                  "target stream top item");
                return 0;
            }
            id.seq = s.last.seq + 1;
        } else {
            id.seq = id.ms == 0 ? 1 : 0;
        }
    }
    if (stream_id_cmp(id, s.last) <= 0 && !(s.last.ms == 0 && s.last.seq == 0 && !star)) {
        reply_error(
            c->r,
            "ERR The ID specified in XADD is equal or smaller than the target stream top item");
        return 0;
    }
    if (stream_id_cmp(id, s.last) <= 0 && star) {
        reply_error(c->r,
                    "ERR The stream has exhausted the last possible ID, unable to add more items");
        return 0;
    }
    if (!m.saved && (rc = create_stream(c, &c->argv[1], &m, &s)))
        return redis_store_error(c, rc);

    int n = c->argc - i - 1;
    const void **p = malloc((size_t)n * sizeof(*p));
    size_t *len = malloc((size_t)n * sizeof(*len)), vlen;
    void *val = NULL;
    uint8_t f[STREAM_FIELD_MAX];
    if (p && len) {
        for (int j = 0; j < n; j++)
            p[j] = c->argv[i + 1 + j].p, len[j] = c->argv[i + 1 + j].n;
        val = stream_entry_encode(p, len, n, &vlen);
    }
    free(p);
    free(len);
    if (!val)
        return FFDB_ENOMEM;
    rc = store_sub_put(c->st, &m, f, stream_entry_field(f, id), val, vlen);
    free(val);
    if (rc)
        return rc;
    m.size++;
    s.length++;
    s.entries_added++;
    s.last = id;
    int64_t deleted;
    rc = trim(c, &m, &s, &t, &deleted);
    if (!rc)
        rc = save_stream(c, &m, &s);
    if (rc)
        return rc;
    reply_id(c->r, id);
    return 0;
}

static int xlen_cmd(resp_ctx *c)
{
    store_meta m;
    stream_state s;
    int rc = stream_or_zero(c, &m, &s);

    if (rc)
        return rc < 0 ? rc : 0;
    reply_int(c->r, (int64_t)s.length);
    return 0;
}

/* A range bound: "(" exclusive, "-" "+", ms (seq def_seq). 0 with *empty
 * set if the exclusive bound leaves nothing; 1 after an error reply. */
static int bound_arg(resp_ctx *c, const resp_arg *a, int is_start, stream_id *id, int *empty)
{
    resp_arg b = *a;
    int excl = b.n > 1 && b.p[0] == '(';

    if (excl)
        b.p++, b.n--;
    if (excl && b.n == 1 && (b.p[0] == '-' || b.p[0] == '+')) {
        reply_error(c->r, E_ID);
        return 1;
    }
    if (id_arg(c, &b, is_start ? 0 : UINT64_MAX, id))
        return 1;
    if (excl && (is_start ? id_next(id) : id_prev(id))) {
        reply_error(c->r, is_start ? "ERR invalid start ID for the interval"
                                   : "ERR invalid end ID for the interval");
        return 1;
    }
    (void)empty;
    return 0;
}

static int range_generic(resp_ctx *c, int rev)
{
    stream_id start, end;
    int64_t count = -1;
    int empty = 0, rc;
    store_meta m;
    stream_state s;

    if (bound_arg(c, &c->argv[rev ? 3 : 2], 1, &start, &empty) ||
        bound_arg(c, &c->argv[rev ? 2 : 3], 0, &end, &empty))
        return 0;
    if (c->argc == 6 && resp_arg_is(&c->argv[4], "count")) {
        if (resp_arg_i64(c->r, &c->argv[5], &count))
            return 0;
        if (count < 0)
            count = 0;
    } else if (c->argc != 4) {
        return resp_err_syntax(c->r);
    }
    rc = get_stream(c, &c->argv[1], &m, &s);
    if (rc == FFDB_NOTFOUND || (rc == 0 && empty)) {
        reply_array(c->r, 0);
        return 0;
    }
    if (rc)
        return rc < 0 ? rc : 0;
    return reply_range(c, &m, start, end, count, rev);
}

static int xrange_cmd(resp_ctx *c)
{
    return range_generic(c, 0);
}

static int xrevrange_cmd(resp_ctx *c)
{
    return range_generic(c, 1);
}

static int xdel_cmd(resp_ctx *c)
{
    store_meta m;
    stream_state s;
    int64_t deleted = 0;
    int rc;

    for (int i = 2; i < c->argc; i++) {
        stream_id id;
        if (id_arg(c, &c->argv[i], 0, &id))
            return 0;
    }
    rc = stream_or_zero(c, &m, &s);
    if (rc)
        return rc < 0 ? rc : 0;
    for (int i = 2; i < c->argc; i++) {
        uint8_t f[STREAM_FIELD_MAX];
        stream_id id;
        int existed;
        parse_id(&c->argv[i], 0, &id, NULL);
        rc = store_sub_del(c->st, &m, f, stream_entry_field(f, id), &existed);
        if (rc)
            return rc;
        if (existed) {
            deleted++, m.size--, s.length--;
            if (stream_id_cmp(id, s.max_deleted) > 0)
                s.max_deleted = id;
        }
    }
    if (deleted && (rc = save_stream(c, &m, &s)))
        return rc;
    reply_int(c->r, deleted);
    return 0;
}

static int xtrim_cmd(resp_ctx *c)
{
    trim_args t = {0, 0, 0, {0, 0}, -1};
    int i = 2, rc;
    int64_t deleted;
    store_meta m;
    stream_state s;

    if (!resp_arg_is(&c->argv[2], "maxlen") && !resp_arg_is(&c->argv[2], "minid"))
        return resp_err_syntax(c->r);
    if (trim_parse(c, &i, &t))
        return 0;
    if (i != c->argc)
        return resp_err_syntax(c->r);
    rc = stream_or_zero(c, &m, &s);
    if (rc)
        return rc < 0 ? rc : 0;
    rc = trim(c, &m, &s, &t, &deleted);
    if (!rc && deleted)
        rc = save_stream(c, &m, &s);
    if (rc)
        return rc;
    reply_int(c->r, deleted);
    return 0;
}

/* XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id] */
static int xsetid_cmd(resp_ctx *c)
{
    stream_id id, maxdel = {0, 0};
    int64_t added = -1;
    int has_maxdel = 0, rc;
    store_meta m;
    stream_state s;

    if (id_arg(c, &c->argv[2], 0, &id))
        return 0;
    for (int i = 3; i < c->argc; i += 2) {
        if (i + 1 >= c->argc)
            return resp_err_syntax(c->r);
        if (resp_arg_is(&c->argv[i], "entriesadded")) {
            if (resp_arg_i64(c->r, &c->argv[i + 1], &added))
                return 0;
            if (added < 0) {
                reply_error(c->r, "ERR entries_added must be positive");
                return 0;
            }
        } else if (resp_arg_is(&c->argv[i], "maxdeletedid")) {
            if (id_arg(c, &c->argv[i + 1], 0, &maxdel))
                return 0;
            has_maxdel = 1;
        } else {
            return resp_err_syntax(c->r);
        }
    }
    rc = get_stream(c, &c->argv[1], &m, &s);
    if (rc == FFDB_NOTFOUND) {
        reply_error(c->r, "ERR no such key");
        return 0;
    }
    if (rc)
        return rc < 0 ? rc : 0;
    if (has_maxdel && stream_id_cmp(id, maxdel) < 0) {
        reply_error(
            c->r,
            "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
        return 0;
    }
    if (added >= 0 && (uint64_t)added < s.length) {
        reply_error(
            c->r,
            "ERR The entries_added specified in XSETID is smaller than the target stream length");
        return 0;
    }
    if (s.length > 0) {
        stream_id top = ID_MIN;
        store_iter *it;
        ffdb_val k, v;
        uint8_t f[STREAM_FIELD_MAX];
        rc = store_iter_open(c->st, &m, STORE_SUB, &it);
        if (rc)
            return rc;
        rc = store_iter_seek_le(it, f, stream_entry_field(f, ID_MAX), &k, &v);
        if (rc == 0 && k.size == 17 && ((const uint8_t *)k.data)[0] == STREAM_F_ENTRY)
            top = stream_field_id((const uint8_t *)k.data + 1);
        store_iter_close(it);
        if (stream_id_cmp(id, top) < 0) {
            reply_error(
                c->r, "ERR The ID specified in XSETID is smaller than the target stream top item");
            return 0;
        }
    }
    s.last = id;
    if (added >= 0)
        s.entries_added = (uint64_t)added;
    if (has_maxdel)
        s.max_deleted = maxdel;
    rc = stream_state_put(c->st, &m, &s);
    if (rc)
        return rc;
    reply_ok(c->r);
    return 0;
}

/* ---- groups: records
 * ------------------------------------------------------------------------------ */

static int nogroup(resp_ctx *c, const resp_arg *key, const resp_arg *g)
{
    reply_errorf(c->r, "NOGROUP No such key '%.*s' or consumer group '%.*s'", (int)key->n, key->p,
                 (int)g->n, g->p);
    return 1;
}

static int names_ok(resp_ctx *c, const resp_arg *a)
{
    if (a->n > STREAM_NAME_MAX) {
        reply_errorf(c->r, "ERR names of groups and consumers are limited to %d bytes here",
                     STREAM_NAME_MAX);
        return 0;
    }
    return 1;
}

/* Make sure consumer exists (seen now; active now if active): *created. */
static int consumer_touch(resp_ctx *c, store_meta *m, const resp_arg *g, const resp_arg *name,
                          int active, int *created)
{
    uint8_t f[STREAM_FIELD_MAX], v[16];
    size_t fl = stream_consumer_field(f, g->p, g->n, name->p, name->n);
    ffdb_val old;
    int rc = store_sub_get(c->st, m, f, fl, &old);
    uint64_t active_ms = (uint64_t)-1;

    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    if (created)
        *created = rc == FFDB_NOTFOUND;
    if (rc == 0 && old.size >= 16)
        active_ms = ((uint64_t)((const uint8_t *)old.data)[8] << 56) |
                    ((uint64_t)((const uint8_t *)old.data)[9] << 48) |
                    ((uint64_t)((const uint8_t *)old.data)[10] << 40) |
                    ((uint64_t)((const uint8_t *)old.data)[11] << 32) |
                    ((uint64_t)((const uint8_t *)old.data)[12] << 24) |
                    ((uint64_t)((const uint8_t *)old.data)[13] << 16) |
                    ((uint64_t)((const uint8_t *)old.data)[14] << 8) |
                    ((const uint8_t *)old.data)[15];
    if (rc == FFDB_NOTFOUND)
        m->size++;
    if (active)
        active_ms = (uint64_t)c->now_ms;
    for (int i = 0; i < 8; i++) {
        v[i] = (uint8_t)((uint64_t)c->now_ms >> (56 - 8 * i));
        v[8 + i] = (uint8_t)(active_ms >> (56 - 8 * i));
    }
    return store_sub_put(c->st, m, f, fl, v, sizeof(v));
}

static int pel_put(resp_ctx *c, const store_meta *m, const resp_arg *g, stream_id id,
                   uint64_t delivery_ms, uint64_t count, const void *consumer, size_t clen)
{
    uint8_t f[STREAM_FIELD_MAX], *v = malloc(16 + clen);
    int rc;

    if (!v)
        return FFDB_ENOMEM;
    for (int i = 0; i < 8; i++) {
        v[i] = (uint8_t)(delivery_ms >> (56 - 8 * i));
        v[8 + i] = (uint8_t)(count >> (56 - 8 * i));
    }
    memcpy(v + 16, consumer, clen);
    rc = store_sub_put(c->st, m, f, stream_pel_field(f, g->p, g->n, id), v, 16 + clen);
    free(v);
    return rc;
}

/* Visit the PEL of group g from id start on: fn(arg, pending) until it returns non-zero
 * (1 = stop, returned as 0; < 0 an error). The pending's bytes live until the next store call:
 * fn copies what it keeps and must not write. */
typedef int (*pel_fn)(void *arg, const stream_pending *p);
static int pel_walk(resp_ctx *c, const store_meta *m, const resp_arg *g, stream_id start, pel_fn fn,
                    void *arg)
{
    uint8_t f[STREAM_FIELD_MAX];
    size_t prefix = 3 + g->n;
    store_iter *it;
    ffdb_val k, v;
    int rc = store_iter_open(c->st, m, STORE_SUB, &it);

    if (rc)
        return rc;
    stream_pel_field(f, g->p, g->n, start);
    for (rc = store_iter_seek(it, f, prefix + 16, &k, &v); rc == 0;
         rc = store_iter_next(it, &k, &v)) {
        stream_pending p;
        if (k.size < prefix || memcmp(k.data, f, prefix) != 0)
            break;
        rc = stream_pending_decode(&k, &v, g->n, &p);
        if (!rc)
            rc = fn(arg, &p);
        if (rc)
            break;
    }
    store_iter_close(it);
    if (rc == 1 || rc == FFDB_NOTFOUND)
        return 0;
    return rc;
}

/* ---- XGROUP -------------------------------------------------------------------------------------
 */

typedef struct collect {
    stream_id *ids;
    size_t n, cap;
    const resp_arg *consumer; /* only this one's, or NULL */
} collect;

static int collect_push(collect *k, stream_id id)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        stream_id *p = realloc(k->ids, cap * sizeof(*p));
        if (!p)
            return FFDB_ENOMEM;
        k->ids = p;
        k->cap = cap;
    }
    k->ids[k->n++] = id;
    return 0;
}

static int collect_fn(void *arg, const stream_pending *p)
{
    collect *k = arg;
    if (k->consumer && (p->consumer_len != k->consumer->n ||
                        memcmp(p->consumer, k->consumer->p, p->consumer_len) != 0))
        return 0;
    return collect_push(k, p->id);
}

/* Delete everything of group g (its PEL, consumers, record): O(its size). */
static int group_destroy(resp_ctx *c, store_meta *m, const resp_arg *g)
{
    uint8_t f[STREAM_FIELD_MAX];
    int rc;

    for (int kind = STREAM_F_PEL; kind <= STREAM_F_CONSUMER; kind++) {
        size_t prefix = 3 + g->n;
        for (;;) {
            store_iter *it;
            ffdb_val k, v;
            uint8_t key[STREAM_FIELD_MAX];
            size_t kl = 0;
            f[0] = (uint8_t)kind, f[1] = (uint8_t)(g->n >> 8), f[2] = (uint8_t)g->n;
            memcpy(f + 3, g->p, g->n);
            rc = store_iter_open(c->st, m, STORE_SUB, &it);
            if (rc)
                return rc;
            rc = store_iter_seek(it, f, prefix, &k, &v);
            if (rc == 0 && k.size >= prefix && k.size <= sizeof(key) &&
                memcmp(k.data, f, prefix) == 0)
                memcpy(key, k.data, kl = k.size);
            store_iter_close(it);
            if (rc && rc != FFDB_NOTFOUND)
                return rc;
            if (!kl)
                break;
            rc = store_sub_del(c->st, m, key, kl, NULL);
            if (rc)
                return rc;
            m->size--;
        }
    }
    rc = store_sub_del(c->st, m, f, stream_group_field(f, g->p, g->n), NULL);
    if (rc)
        return rc;
    m->size--;
    return 0;
}

/* ENTRIESREAD n option at argv[i]: 0, or 1 after an error reply. */
static int entries_read_arg(resp_ctx *c, int i, uint64_t *er)
{
    int64_t v;
    if (i + 1 >= c->argc || !resp_arg_is(&c->argv[i], "entriesread")) {
        resp_err_syntax(c->r);
        return 1;
    }
    if (resp_arg_i64(c->r, &c->argv[i + 1], &v))
        return 1;
    if (v < -1) {
        reply_error(c->r, "ERR value for ENTRIESREAD must be positive or -1");
        return 1;
    }
    *er = v < 0 ? UINT64_MAX : (uint64_t)v;
    return 0;
}

static int entries_read_given(const resp_ctx *c)
{
    for (int i = 5; i < c->argc; i++)
        if (resp_arg_is(&c->argv[i], "entriesread"))
            return 1;
    return 0;
}

/* A HELP subcommand's answer, as Redis words it: the heading, the lines
 * (NULL-terminated), "HELP". */
static int reply_help(resp_ctx *c, const char *const *lines)
{
    char head[96];
    size_t n = 0;
    while (lines[n])
        n++;
    snprintf(head, sizeof head, "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             c->cmd->name);
    for (size_t i = 0; c->cmd->name[i]; i++)
        head[i] = (char)toupper((unsigned char)head[i]);
    reply_array(c->r, n + 2);
    reply_simple(c->r, head);
    for (size_t i = 0; i < n; i++)
        reply_simple(c->r, lines[i]);
    reply_simple(c->r, "HELP");
    return 0;
}

/* The subcommand argv[1] names among names[] (NULL-terminated, "help"
 * among them) with an argument count arity[] allows (as Redis's table
 * has it: n exactly, -n at least n): its index. HELP is answered with
 * help[] and any other argv[1] with Redis's error: -1. */
static int subcommand_of(resp_ctx *c, const char *const *names, const int *arity,
                         const char *const *help)
{
    const resp_arg *sub = &c->argv[1];

    for (int i = 0; names[i]; i++) {
        if (!resp_arg_is(sub, names[i]) ||
            !(arity[i] < 0 ? c->argc >= -arity[i] : c->argc == arity[i]))
            continue;
        if (strcmp(names[i], "help") == 0) {
            reply_help(c, help);
            return -1;
        }
        return i;
    }
    resp_err_subcommand(c->r, c->cmd, sub, names);
    return -1;
}

static const char *const xgroup_help[] = {
    "CREATE <key> <groupname> <id|$> [option]",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "DELCONSUMER <key> <groupname> <consumer>",
    "DESTROY <key> <groupname>",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    NULL,
};

static int xgroup_cmd(resp_ctx *c)
{
    static const char *const subs[] = {"create", "createconsumer", "delconsumer", "destroy",
                                       "setid",  "help",           NULL};
    static const int arity[] = {-5, 5, 5, 4, -5, 2};
    store_meta m;
    stream_state s;
    stream_group grp;
    int rc, sub = subcommand_of(c, subs, arity, xgroup_help);

    if (sub < 0)
        return 0;
    int create = sub == 0, mkc = sub == 1, delc = sub == 2, destroy = sub == 3, setid = sub == 4;
    const resp_arg *key = &c->argv[2], *g = &c->argv[3];
    int mkstream = 0, dollar = 0;
    uint64_t er = UINT64_MAX;
    stream_id id = {0, 0};
    if (!names_ok(c, g) || (c->argc >= 5 && (mkc || delc) && !names_ok(c, &c->argv[4])))
        return 0;
    if (create || setid) {
        dollar = c->argv[4].n == 1 && c->argv[4].p[0] == '$';
        if (!dollar && id_arg(c, &c->argv[4], 0, &id))
            return 0;
        for (int i = 5; i < c->argc; i++) {
            if (create && resp_arg_is(&c->argv[i], "mkstream"))
                mkstream = 1;
            else if (entries_read_arg(c, i, &er))
                return 0;
            else
                i++;
        }
    }
    rc = get_stream(c, key, &m, &s);
    if (rc == FFDB_NOTFOUND && create && mkstream) {
        rc = create_stream(c, key, &m, &s);
        if (rc)
            return redis_store_error(c, rc);
    } else if (rc == FFDB_NOTFOUND) {
        reply_error(c->r, "ERR The XGROUP subcommand requires the key to exist. Note that for "
                          "CREATE you may want to use the MKSTREAM option to create an empty "
                          "stream automatically.");
        return 0;
    } else if (rc) {
        return rc < 0 ? rc : 0;
    }
    if (dollar)
        id = s.last;
    if (er == UINT64_MAX && (create || setid) && !entries_read_given(c))
        er = dollar ? s.entries_added : (id.ms == 0 && id.seq == 0) ? 0 : UINT64_MAX;
    rc = stream_group_get(c->st, &m, g->p, g->n, &grp);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    if (create) {
        if (rc == 0) {
            reply_error(c->r, "BUSYGROUP Consumer Group name already exists");
            return 0;
        }
        grp.last = id;
        grp.entries_read = er;
        m.size++;
        if ((rc = stream_group_put(c->st, &m, g->p, g->n, &grp)) ||
            (rc = store_meta_save(c->st, &m)))
            return rc;
        reply_ok(c->r);
        return 0;
    }
    if (rc == FFDB_NOTFOUND) {
        if (destroy) {
            reply_int(c->r, 0);
            return 0;
        }
        reply_errorf(c->r, "NOGROUP No such consumer group '%.*s' for key name '%.*s'", (int)g->n,
                     g->p, (int)key->n, key->p);
        return 0;
    }
    if (setid) {
        grp.last = id;
        grp.entries_read = er;
        if ((rc = stream_group_put(c->st, &m, g->p, g->n, &grp)))
            return rc;
        reply_ok(c->r);
        return 0;
    }
    if (destroy) {
        if ((rc = group_destroy(c, &m, g)) || (rc = store_meta_save(c->st, &m)))
            return rc;
        reply_int(c->r, 1);
        return 0;
    }
    if (mkc) {
        int created;
        if ((rc = consumer_touch(c, &m, g, &c->argv[4], 0, &created)) ||
            (rc = store_meta_save(c->st, &m)))
            return rc;
        reply_int(c->r, created);
        return 0;
    }
    /* DELCONSUMER: its pending entries go too */
    collect k = {NULL, 0, 0, &c->argv[4]};
    uint8_t f[STREAM_FIELD_MAX];
    int existed;
    rc = pel_walk(c, &m, g, ID_MIN, collect_fn, &k);
    for (size_t i = 0; i < k.n && !rc; i++) {
        rc = store_sub_del(c->st, &m, f, stream_pel_field(f, g->p, g->n, k.ids[i]), NULL);
        m.size--;
    }
    free(k.ids);
    if (!rc)
        rc = store_sub_del(c->st, &m, f,
                           stream_consumer_field(f, g->p, g->n, c->argv[4].p, c->argv[4].n),
                           &existed);
    if (!rc && existed)
        m.size--;
    if (!rc)
        rc = store_meta_save(c->st, &m);
    if (rc)
        return rc;
    reply_int(c->r, (int64_t)k.n);
    return 0;
}

/* ---- XREAD / XREADGROUP -------------------------------------------------------------------------
 */

typedef struct read_args {
    int64_t count;    /* -1: all */
    int64_t block_ms; /* -1: no BLOCK */
    int noack;
    const resp_arg *group, *consumer;
    int streams_at, nstreams;
} read_args;

static int read_parse(resp_ctx *c, int is_group, read_args *a)
{
    int i = 1;

    a->count = -1;
    a->block_ms = -1;
    a->noack = 0;
    a->group = a->consumer = NULL;
    for (; i < c->argc; i++) {
        const resp_arg *o = &c->argv[i];
        int more = i + 1 < c->argc;
        if (resp_arg_is(o, "count") && more) {
            if (resp_arg_i64(c->r, &c->argv[++i], &a->count))
                return 1;
            if (a->count <= 0)
                a->count = -1;
        } else if (resp_arg_is(o, "block") && more) {
            if (resp_arg_i64(c->r, &c->argv[++i], &a->block_ms))
                return 1;
            if (a->block_ms < 0) {
                reply_error(c->r, "ERR timeout is negative");
                return 1;
            }
        } else if (is_group && resp_arg_is(o, "group") && i + 2 < c->argc) {
            a->group = &c->argv[i + 1];
            a->consumer = &c->argv[i + 2];
            i += 2;
        } else if (is_group && resp_arg_is(o, "noack")) {
            a->noack = 1;
        } else if (resp_arg_is(o, "streams")) {
            break;
        } else {
            resp_err_syntax(c->r);
            return 1;
        }
    }
    int rest = c->argc - i - 1;
    if (i >= c->argc || rest <= 0 || rest % 2) {
        reply_errorf(c->r,
                     "ERR Unbalanced '%s' list of streams: for each stream key an ID or '%s' must "
                     "be specified.",
                     is_group ? "xreadgroup" : "xread", is_group ? ">" : "$");
        return 1;
    }
    if (is_group && !a->group) {
        reply_error(c->r, "ERR Missing GROUP option for XREADGROUP");
        return 1;
    }
    if (is_group && (!names_ok(c, a->group) || !names_ok(c, a->consumer)))
        return 1;
    a->streams_at = i + 1;
    a->nstreams = rest / 2;
    return 0;
}

/* Block until one of the streams has more: argv again with each ID fixed
 * ("$" made the stream's last ID). */
static int read_block(resp_ctx *c, const read_args *a, const stream_id *after, int is_group)
{
    resp_arg *argv = malloc((size_t)c->argc * sizeof(*argv));
    char(*ids)[48] = malloc((size_t)a->nstreams * sizeof(*ids));
    int rc;

    if (!argv || !ids) {
        free(argv);
        free(ids);
        return FFDB_ENOMEM;
    }
    memcpy(argv, c->argv, (size_t)c->argc * sizeof(*argv));
    if (!is_group)
        for (int j = 0; j < a->nstreams; j++) {
            argv[a->streams_at + a->nstreams + j].p = ids[j];
            argv[a->streams_at + a->nstreams + j].n = stream_id_format(after[j], ids[j]);
        }
    rc = redis_block_on_args(c, c->argc, argv, a->streams_at, a->nstreams, a->block_ms,
                             REDIS_BLOCK_NULL_ARRAY);
    free(argv);
    free(ids);
    return rc;
}

static int xread_cmd(resp_ctx *c)
{
    read_args a;
    stream_id *after;
    int *ready, nready = 0, rc = 0;

    if (read_parse(c, 0, &a))
        return 0;
    after = calloc((size_t)a.nstreams, sizeof(*after));
    ready = calloc((size_t)a.nstreams, sizeof(*ready));
    if (!after || !ready) {
        free(after);
        free(ready);
        return FFDB_ENOMEM;
    }
    for (int j = 0; j < a.nstreams && !rc; j++) {
        const resp_arg *idarg = &c->argv[a.streams_at + a.nstreams + j];
        store_meta m;
        stream_state s;
        int dollar = idarg->n == 1 && idarg->p[0] == '$';
        if (!dollar && parse_id(idarg, 0, &after[j], NULL)) {
            reply_error(c->r, E_ID);
            rc = 1;
            break;
        }
        rc = get_stream(c, &c->argv[a.streams_at + j], &m, &s);
        if (rc == FFDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc)
            break;
        if (dollar)
            after[j] = s.last;
        rc = has_after(c, &m, after[j]);
        if (rc > 0)
            ready[j] = 1, nready++, rc = 0;
    }
    if (rc) {
        free(after);
        free(ready);
        return rc < 0 ? rc : 0;
    }
    if (nready == 0) {
        if (a.block_ms >= 0)
            rc = read_block(c, &a, after, 0);
        else
            reply_null_array(c->r);
        free(after);
        free(ready);
        return rc;
    }
    if (c->r->proto >= 3)
        reply_map(c->r, (size_t)nready);
    else
        reply_array(c->r, (size_t)nready);
    for (int j = 0; j < a.nstreams && !rc; j++) {
        store_meta m;
        stream_state s;
        if (!ready[j])
            continue;
        rc = get_stream(c, &c->argv[a.streams_at + j], &m, &s);
        if (rc)
            break;
        if (c->r->proto < 3)
            reply_array(c->r, 2);
        reply_bulk(c->r, c->argv[a.streams_at + j].p, c->argv[a.streams_at + j].n);
        stream_id from = after[j];
        id_next(&from);
        rc = reply_range(c, &m, from, ID_MAX, a.count, 0);
    }
    free(after);
    free(ready);
    return rc < 0 ? rc : 0;
}

/* Deliver new entries after the group's last to the consumer: the reply
 * array of entries; *n delivered. */
static int deliver_new(resp_ctx *c, store_meta *m, stream_state *s, const read_args *a,
                       stream_group *grp, int64_t *n)
{
    uint8_t f[STREAM_FIELD_MAX];
    collect k = {NULL, 0, 0, NULL};
    store_iter *it;
    ffdb_val key, v;
    stream_id from = grp->last;
    int rc;

    *n = 0;
    (void)s;
    if (id_next(&from)) {
        reply_array(c->r, 0);
        return 0;
    }
    /* the IDs first (no writes while the cursor walks) */
    rc = store_iter_open(c->st, m, STORE_SUB, &it);
    if (rc)
        return rc;
    for (rc = store_iter_seek(it, f, stream_entry_field(f, from), &key, &v);
         rc == 0 && (a->count < 0 || (int64_t)k.n < a->count); rc = store_iter_next(it, &key, &v)) {
        if (key.size != 17 || ((const uint8_t *)key.data)[0] != STREAM_F_ENTRY)
            break;
        rc = collect_push(&k, stream_field_id((const uint8_t *)key.data + 1));
        if (rc)
            break;
    }
    store_iter_close(it);
    if (rc && rc != FFDB_NOTFOUND) {
        free(k.ids);
        return rc;
    }
    rc = 0;
    reply_array(c->r, k.n);
    for (size_t i = 0; i < k.n && !rc; i++) {
        rc = store_sub_get(c->st, m, f, stream_entry_field(f, k.ids[i]), &v);
        if (!rc)
            rc = reply_entry(c, k.ids[i], &v);
        if (rc)
            break;
        grp->last = k.ids[i];
        if (grp->entries_read != UINT64_MAX)
            grp->entries_read++;
        if (!a->noack) {
            ffdb_val old;
            int had = store_sub_get(c->st, m, f,
                                    stream_pel_field(f, a->group->p, a->group->n, k.ids[i]), &old);
            if (had && had != FFDB_NOTFOUND)
                rc = had;
            else {
                if (had == FFDB_NOTFOUND)
                    m->size++;
                rc = pel_put(c, m, a->group, k.ids[i], (uint64_t)c->now_ms, 1, a->consumer->p,
                             a->consumer->n);
            }
        }
    }
    *n = (int64_t)k.n;
    free(k.ids);
    return rc;
}

/* The consumer's pending entries after id (history): the reply array. */
static int deliver_history(resp_ctx *c, store_meta *m, const read_args *a, stream_id after)
{
    uint8_t f[STREAM_FIELD_MAX];
    collect k = {NULL, 0, 0, a->consumer};
    int rc;

    if (id_next(&after)) {
        reply_array(c->r, 0);
        return 0;
    }
    rc = pel_walk(c, m, a->group, after, collect_fn, &k);
    if (rc) {
        free(k.ids);
        return rc;
    }
    size_t n = a->count >= 0 && (size_t)a->count < k.n ? (size_t)a->count : k.n;
    reply_array(c->r, n);
    for (size_t i = 0; i < n && !rc; i++) {
        ffdb_val v, pv;
        stream_pending p;
        uint8_t pf[STREAM_FIELD_MAX];
        size_t pfl = stream_pel_field(pf, a->group->p, a->group->n, k.ids[i]);
        rc = store_sub_get(c->st, m, f, stream_entry_field(f, k.ids[i]), &v);
        if (rc == FFDB_NOTFOUND) {
            reply_array(c->r, 2);
            reply_id(c->r, k.ids[i]);
            reply_null(c->r);
            rc = 0;
            continue;
        }
        if (!rc)
            rc = reply_entry(c, k.ids[i], &v);
        if (!rc)
            rc = store_sub_get(c->st, m, pf, pfl, &pv);
        if (!rc) {
            ffdb_val kf = {pf, pfl};
            rc = stream_pending_decode(&kf, &pv, a->group->n, &p);
        }
        if (!rc)
            rc = pel_put(c, m, a->group, k.ids[i], (uint64_t)c->now_ms, p.delivery_count + 1,
                         a->consumer->p, a->consumer->n);
    }
    free(k.ids);
    return rc;
}

static int xreadgroup_cmd(resp_ctx *c)
{
    read_args a;
    int rc = 0, nready = 0, any_history = 0;
    int *ready;

    if (read_parse(c, 1, &a))
        return 0;
    ready = calloc((size_t)a.nstreams, sizeof(*ready));
    if (!ready)
        return FFDB_ENOMEM;
    /* everything checked before any write */
    for (int j = 0; j < a.nstreams && !rc; j++) {
        const resp_arg *key = &c->argv[a.streams_at + j];
        const resp_arg *idarg = &c->argv[a.streams_at + a.nstreams + j];
        int gt = idarg->n == 1 && idarg->p[0] == '>';
        stream_id id;
        store_meta m;
        stream_state s;
        stream_group grp;
        if (!gt && parse_id(idarg, 0, &id, NULL)) {
            reply_error(c->r, E_ID);
            rc = 1;
            break;
        }
        rc = get_stream(c, key, &m, &s);
        if (rc == 0)
            rc = stream_group_get(c->st, &m, a.group->p, a.group->n, &grp);
        if (rc == FFDB_NOTFOUND) {
            if (redis_block_rerun(c)) {
                reply_errorf(c->r, "NOGROUP the consumer group this client was blocked on no "
                                   "longer exists");
                rc = 1;
                break;
            }
            reply_errorf(c->r,
                         "NOGROUP No such key '%.*s' or consumer group '%.*s' in XREADGROUP with "
                         "GROUP option",
                         (int)key->n, key->p, (int)a.group->n, a.group->p);
            rc = 1;
            break;
        }
        if (rc)
            break;
        if (!gt) {
            ready[j] = 2, nready++, any_history = 1;
            continue;
        }
        rc = has_after(c, &m, grp.last);
        if (rc > 0)
            ready[j] = 1, nready++, rc = 0;
    }
    if (rc) {
        free(ready);
        return rc < 0 ? rc : 0;
    }
    if (nready == 0) {
        free(ready);
        if (a.block_ms >= 0)
            return read_block(c, &a, NULL, 1);
        reply_null_array(c->r);
        return 0;
    }
    (void)any_history;
    if (c->r->proto >= 3)
        reply_map(c->r, (size_t)nready);
    else
        reply_array(c->r, (size_t)nready);
    for (int j = 0; j < a.nstreams && !rc; j++) {
        const resp_arg *key = &c->argv[a.streams_at + j];
        store_meta m;
        stream_state s;
        stream_group grp;
        int64_t n;
        if (!ready[j])
            continue;
        rc = get_stream(c, key, &m, &s);
        if (!rc)
            rc = stream_group_get(c->st, &m, a.group->p, a.group->n, &grp);
        if (!rc)
            rc = consumer_touch(c, &m, a.group, a.consumer, ready[j] == 1, NULL);
        if (rc)
            break;
        if (c->r->proto < 3)
            reply_array(c->r, 2);
        reply_bulk(c->r, key->p, key->n);
        if (ready[j] == 1) {
            rc = deliver_new(c, &m, &s, &a, &grp, &n);
            if (!rc)
                rc = stream_group_put(c->st, &m, a.group->p, a.group->n, &grp);
        } else {
            stream_id id;
            parse_id(&c->argv[a.streams_at + a.nstreams + j], 0, &id, NULL);
            rc = deliver_history(c, &m, &a, id);
        }
        if (!rc)
            rc = store_meta_save(c->st, &m);
    }
    free(ready);
    return rc < 0 ? rc : 0;
}

/* ---- XACK XPENDING XCLAIM XAUTOCLAIM ------------------------------------------------------------
 */

/* The stream and group of argv[1], argv[2]: 0, or 1 after an error reply
 * (NOGROUP with nogroup_reply, else quiet with *missing), or an engine code. */
static int get_group(resp_ctx *c, store_meta *m, stream_state *s, stream_group *grp, int *missing)
{
    int rc = get_stream(c, &c->argv[1], m, s);
    if (rc == 0)
        rc = stream_group_get(c->st, m, c->argv[2].p, c->argv[2].n, grp);
    if (rc == FFDB_NOTFOUND) {
        if (missing)
            *missing = 1;
        else
            nogroup(c, &c->argv[1], &c->argv[2]);
        return 1;
    }
    return rc;
}

static int xack_cmd(resp_ctx *c)
{
    store_meta m;
    stream_state s;
    stream_group grp;
    int missing = 0, rc;
    int64_t acked = 0;

    for (int i = 3; i < c->argc; i++) {
        stream_id id;
        if (id_arg(c, &c->argv[i], 0, &id))
            return 0;
    }
    rc = get_group(c, &m, &s, &grp, &missing);
    if (missing) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return rc < 0 ? rc : 0;
    for (int i = 3; i < c->argc; i++) {
        uint8_t f[STREAM_FIELD_MAX];
        stream_id id;
        int existed;
        parse_id(&c->argv[i], 0, &id, NULL);
        rc = store_sub_del(c->st, &m, f, stream_pel_field(f, c->argv[2].p, c->argv[2].n, id),
                           &existed);
        if (rc)
            return rc;
        if (existed)
            acked++, m.size--;
    }
    if (acked && (rc = store_meta_save(c->st, &m)))
        return rc;
    reply_int(c->r, acked);
    return 0;
}

typedef struct pending_who {
    char *name;
    size_t n;
    uint64_t count;
} pending_who;

typedef struct pending_sum {
    uint64_t count;
    stream_id min, max;
    pending_who *who;
    size_t nwho, cap;
} pending_sum;

static int sum_fn(void *arg, const stream_pending *p)
{
    pending_sum *ps = arg;
    if (ps->count == 0)
        ps->min = p->id;
    ps->max = p->id;
    ps->count++;
    for (size_t i = 0; i < ps->nwho; i++)
        if (ps->who[i].n == p->consumer_len &&
            memcmp(ps->who[i].name, p->consumer, p->consumer_len) == 0) {
            ps->who[i].count++;
            return 0;
        }
    if (ps->nwho == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 8;
        void *q = realloc(ps->who, cap * sizeof(*ps->who));
        if (!q)
            return FFDB_ENOMEM;
        ps->who = q;
        ps->cap = cap;
    }
    ps->who[ps->nwho].name = malloc(p->consumer_len + 1);
    if (!ps->who[ps->nwho].name)
        return FFDB_ENOMEM;
    memcpy(ps->who[ps->nwho].name, p->consumer, p->consumer_len);
    ps->who[ps->nwho].n = p->consumer_len;
    ps->who[ps->nwho].count = 1;
    ps->nwho++;
    return 0;
}

static int who_cmp(const void *a, const void *b)
{
    const pending_who *x = a, *y = b;
    int r = memcmp(x->name, y->name, x->n < y->n ? x->n : y->n);
    return r ? r : (x->n > y->n) - (x->n < y->n);
}

typedef struct pending_ext {
    resp_ctx *c;
    stream_id end;
    int64_t count, min_idle;
    const resp_arg *consumer;
    size_t n;
} pending_ext;

static int ext_fn(void *arg, const stream_pending *p)
{
    pending_ext *e = arg;
    int64_t idle = e->c->now_ms - (int64_t)p->delivery_ms;
    if (stream_id_cmp(p->id, e->end) > 0 || (e->count >= 0 && (int64_t)e->n >= e->count))
        return 1;
    if (e->consumer && (p->consumer_len != e->consumer->n ||
                        memcmp(p->consumer, e->consumer->p, p->consumer_len) != 0))
        return 0;
    if (idle < e->min_idle)
        return 0;
    reply_array(e->c->r, 4);
    reply_id(e->c->r, p->id);
    reply_bulk(e->c->r, p->consumer, p->consumer_len);
    reply_int(e->c->r, idle < 0 ? 0 : idle);
    reply_int(e->c->r, (int64_t)p->delivery_count);
    e->n++;
    return 0;
}

/* XPENDING key group [[IDLE min-idle] start end count [consumer]] */
static int xpending_cmd(resp_ctx *c)
{
    store_meta m;
    stream_state s;
    stream_group grp;
    int rc, i = 3;
    int64_t min_idle = 0, count = 0;
    stream_id start, end;
    int empty = 0;

    if (c->argc > 3) {
        if (resp_arg_is(&c->argv[3], "idle") && c->argc >= 5) {
            if (resp_arg_i64(c->r, &c->argv[4], &min_idle))
                return 0;
            i = 5;
        }
        if (c->argc - i < 3 || c->argc - i > 4)
            return resp_err_syntax(c->r);
        if (bound_arg(c, &c->argv[i], 1, &start, &empty) ||
            bound_arg(c, &c->argv[i + 1], 0, &end, &empty) ||
            resp_arg_i64(c->r, &c->argv[i + 2], &count))
            return 0;
        if (count < 0)
            count = 0;
    } else if (c->argc != 3) {
        return resp_err_syntax(c->r);
    }
    rc = get_group(c, &m, &s, &grp, NULL);
    if (rc)
        return rc < 0 ? rc : 0;
    if (c->argc == 3) {
        pending_sum ps;
        memset(&ps, 0, sizeof(ps));
        rc = pel_walk(c, &m, &c->argv[2], ID_MIN, sum_fn, &ps);
        if (!rc) {
            reply_array(c->r, 4);
            reply_int(c->r, (int64_t)ps.count);
            if (ps.count == 0) {
                reply_null(c->r);
                reply_null(c->r);
                reply_null_array(c->r);
            } else {
                reply_id(c->r, ps.min);
                reply_id(c->r, ps.max);
                qsort(ps.who, ps.nwho, sizeof(*ps.who), who_cmp);
                reply_array(c->r, ps.nwho);
                for (size_t j = 0; j < ps.nwho; j++) {
                    char num[24];
                    reply_array(c->r, 2);
                    reply_bulk(c->r, ps.who[j].name, ps.who[j].n);
                    reply_bulk(c->r, num,
                               (size_t)snprintf(num, sizeof(num), "%llu",
                                                (unsigned long long)ps.who[j].count));
                }
            }
        }
        for (size_t j = 0; j < ps.nwho; j++)
            free(ps.who[j].name);
        free(ps.who);
        return rc;
    }
    if (empty || count == 0 || stream_id_cmp(start, end) > 0) {
        reply_array(c->r, 0);
        return 0;
    }
    pending_ext e = {c, end, count, min_idle, c->argc - i == 4 ? &c->argv[i + 3] : NULL, 0};
    resp_defer d = reply_defer(c->r);
    rc = pel_walk(c, &m, &c->argv[2], start, ext_fn, &e);
    if (rc)
        return rc;
    reply_defer_array(c->r, d, e.n);
    return 0;
}

/* Claim id for consumer: 1 claimed (entry replied or id), 0 not claimed
 * (not pending / too young / deleted: then its PEL entry went), or an
 * engine code. */
typedef struct claim_opts {
    int64_t min_idle, idle, time_ms, retry;
    int force, justid;
} claim_opts;

static int claim_one(resp_ctx *c, store_meta *m, const resp_arg *g, const resp_arg *consumer,
                     stream_id id, const claim_opts *o, int *deleted)
{
    uint8_t pf[STREAM_FIELD_MAX], ef[STREAM_FIELD_MAX];
    size_t pfl = stream_pel_field(pf, g->p, g->n, id);
    ffdb_val pv, ev;
    stream_pending p;
    int rc = store_sub_get(c->st, m, pf, pfl, &pv);
    uint64_t count;

    *deleted = 0;
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    if (rc == FFDB_NOTFOUND) {
        if (!o->force)
            return 0;
        rc = store_sub_get(c->st, m, ef, stream_entry_field(ef, id), &ev);
        if (rc == FFDB_NOTFOUND)
            return 0;
        if (rc)
            return rc;
        m->size++;
        count = 0;
    } else {
        ffdb_val kf = {pf, pfl};
        rc = stream_pending_decode(&kf, &pv, g->n, &p);
        if (rc)
            return rc;
        if (o->min_idle > 0 && c->now_ms - (int64_t)p.delivery_ms < o->min_idle)
            return 0;
        count = p.delivery_count;
    }
    rc = store_sub_get(c->st, m, ef, stream_entry_field(ef, id), &ev);
    if (rc == FFDB_NOTFOUND) { /* deleted from the stream: its PEL entry goes */
        *deleted = 1;
        rc = store_sub_del(c->st, m, pf, pfl, NULL);
        if (!rc)
            m->size--;
        return rc;
    }
    if (rc)
        return rc;
    uint64_t when =
        (uint64_t)(o->time_ms >= 0 ? o->time_ms : c->now_ms - (o->idle >= 0 ? o->idle : 0));
    if (o->retry >= 0)
        count = (uint64_t)o->retry;
    else if (!o->justid)
        count++;
    if (o->justid)
        reply_id(c->r, id);
    else if ((rc = reply_entry(c, id, &ev)))
        return rc;
    rc = pel_put(c, m, g, id, when, count, consumer->p, consumer->n);
    return rc ? rc : 1;
}

/* XCLAIM key group consumer min-idle-time id... [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID]
 * [LASTID id] */
static int xclaim_cmd(resp_ctx *c)
{
    claim_opts o = {0, -1, -1, -1, 0, 0};
    store_meta m;
    stream_state s;
    stream_group grp;
    int i, rc;
    stream_id lastid = {0, 0};
    int has_last = 0;

    if (!names_ok(c, &c->argv[3]) || resp_arg_i64(c->r, &c->argv[4], &o.min_idle))
        return 0;
    if (o.min_idle < 0)
        o.min_idle = 0;
    for (i = 5; i < c->argc; i++) {
        stream_id id;
        if (parse_id(&c->argv[i], 0, &id, NULL))
            break;
    }
    int ids_end = i;
    if (ids_end == 5) {
        reply_error(c->r, E_ID);
        return 0;
    }
    for (; i < c->argc; i++) {
        const resp_arg *a = &c->argv[i];
        int more = i + 1 < c->argc;
        if (resp_arg_is(a, "force"))
            o.force = 1;
        else if (resp_arg_is(a, "justid"))
            o.justid = 1;
        else if (resp_arg_is(a, "idle") && more) {
            if (resp_arg_i64(c->r, &c->argv[++i], &o.idle))
                return 0;
        } else if (resp_arg_is(a, "time") && more) {
            if (resp_arg_i64(c->r, &c->argv[++i], &o.time_ms))
                return 0;
        } else if (resp_arg_is(a, "retrycount") && more) {
            if (resp_arg_i64(c->r, &c->argv[++i], &o.retry))
                return 0;
        } else if (resp_arg_is(a, "lastid") && more) {
            if (id_arg(c, &c->argv[++i], 0, &lastid))
                return 0;
            has_last = 1;
        } else {
            reply_errorf(c->r, "ERR Unrecognized XCLAIM option '%.*s'", (int)a->n, a->p);
            return 0;
        }
    }
    rc = get_group(c, &m, &s, &grp, NULL);
    if (rc)
        return rc < 0 ? rc : 0;
    if (has_last && stream_id_cmp(lastid, grp.last) > 0) {
        grp.last = lastid;
        if ((rc = stream_group_put(c->st, &m, c->argv[2].p, c->argv[2].n, &grp)))
            return rc;
    }
    if ((rc = consumer_touch(c, &m, &c->argv[2], &c->argv[3], 0, NULL)))
        return rc;
    resp_defer d = reply_defer(c->r);
    size_t n = 0;
    for (i = 5; i < ids_end; i++) {
        stream_id id;
        int deleted;
        parse_id(&c->argv[i], 0, &id, NULL);
        rc = claim_one(c, &m, &c->argv[2], &c->argv[3], id, &o, &deleted);
        if (rc < 0)
            return rc;
        n += (size_t)rc;
    }
    reply_defer_array(c->r, d, n);
    return store_meta_save(c->st, &m);
}

/* XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID] */
static int xautoclaim_cmd(resp_ctx *c)
{
    claim_opts o = {0, -1, -1, -1, 0, 0};
    store_meta m;
    stream_state s;
    stream_group grp;
    stream_id start;
    int64_t count = 100;
    int rc, empty = 0;

    if (!names_ok(c, &c->argv[3]) || resp_arg_i64(c->r, &c->argv[4], &o.min_idle))
        return 0;
    if (o.min_idle < 0)
        o.min_idle = 0;
    if (bound_arg(c, &c->argv[5], 1, &start, &empty))
        return 0;
    for (int i = 6; i < c->argc; i++) {
        if (resp_arg_is(&c->argv[i], "justid"))
            o.justid = 1;
        else if (resp_arg_is(&c->argv[i], "count") && i + 1 < c->argc) {
            if (resp_arg_i64(c->r, &c->argv[++i], &count))
                return 0;
            if (count < 1 || count > INT64_MAX / 10) {
                reply_error(c->r, "ERR COUNT must be > 0");
                return 0;
            }
        } else {
            return resp_err_syntax(c->r);
        }
    }
    rc = get_group(c, &m, &s, &grp, NULL);
    if (rc)
        return rc < 0 ? rc : 0;
    collect k = {NULL, 0, 0, NULL};
    rc = pel_walk(c, &m, &c->argv[2], start, collect_fn, &k);
    if (!rc)
        rc = consumer_touch(c, &m, &c->argv[2], &c->argv[3], 0, NULL);
    if (rc) {
        free(k.ids);
        return rc;
    }
    /* Redis looks at up to count * 10 pending entries, claims up to count */
    size_t look = k.n < (size_t)count * 10 ? k.n : (size_t)count * 10, i, claimed = 0;
    collect gone = {NULL, 0, 0, NULL};
    reply_array(c->r, 3);
    resp_defer cur = reply_defer(c->r);
    (void)cur;
    /* the cursor first needs the stop point: claim into a second buffer? Redis
     * replies cursor, then entries: we know the cursor only after claiming, so
     * the entries are written after a deferred cursor... a bulk cannot be deferred:
     * claim first into a scratch reply. */
    net_buf scratch;
    resp_reply rr = {&scratch, c->r->proto, 0};
    resp_reply *real = c->r;
    net_buf_init(&scratch, 0);
    c->r = &rr;
    for (i = 0; i < look && claimed < (size_t)count; i++) {
        int deleted;
        rc = claim_one(c, &m, &c->argv[2], &c->argv[3], k.ids[i], &o, &deleted);
        if (rc < 0)
            break;
        claimed += (size_t)rc;
        if (deleted && (rc = collect_push(&gone, k.ids[i])))
            break;
        rc = 0;
    }
    c->r = real;
    if (rc < 0) {
        net_buf_free(&scratch);
        free(k.ids);
        free(gone.ids);
        return rc;
    }
    reply_id(c->r, i < k.n ? k.ids[i] : ID_MIN);
    reply_array(c->r, claimed);
    if (scratch.len)
        net_buf_append(c->r->out, scratch.data, scratch.len);
    reply_array(c->r, gone.n);
    for (size_t j = 0; j < gone.n; j++)
        reply_id(c->r, gone.ids[j]);
    net_buf_free(&scratch);
    free(k.ids);
    free(gone.ids);
    return store_meta_save(c->st, &m);
}

/* ---- XINFO --------------------------------------------------------------------------------------
 */

typedef struct name_list {
    char **names;
    size_t *lens;
    size_t n, cap;
} name_list;

/* Names of the records with prefix (groups: 0x02; consumers: 0x04|len|group). */
static int list_names(resp_ctx *c, const store_meta *m, const uint8_t *prefix, size_t plen,
                      name_list *out)
{
    store_iter *it;
    ffdb_val k, v;
    int rc = store_iter_open(c->st, m, STORE_SUB, &it);

    if (rc)
        return rc;
    for (rc = store_iter_seek(it, prefix, plen, &k, &v); rc == 0;
         rc = store_iter_next(it, &k, &v)) {
        if (k.size < plen || memcmp(k.data, prefix, plen) != 0)
            break;
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 8;
            char **np = realloc(out->names, cap * sizeof(*np));
            size_t *nl = np ? realloc(out->lens, cap * sizeof(*nl)) : NULL;
            if (np)
                out->names = np;
            if (!nl) {
                rc = FFDB_ENOMEM;
                break;
            }
            out->lens = nl;
            out->cap = cap;
        }
        size_t n = k.size - plen;
        out->names[out->n] = malloc(n + 1);
        if (!out->names[out->n]) {
            rc = FFDB_ENOMEM;
            break;
        }
        memcpy(out->names[out->n], (const uint8_t *)k.data + plen, n);
        out->lens[out->n++] = n;
    }
    store_iter_close(it);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

static void names_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->lens);
}

static int count_fn(void *arg, const stream_pending *p)
{
    collect *k = arg;
    (void)p;
    if (k->consumer && (p->consumer_len != k->consumer->n ||
                        memcmp(p->consumer, k->consumer->p, p->consumer_len) != 0))
        return 0;
    k->n++;
    return 0;
}

static int reply_first_last(resp_ctx *c, const store_meta *m, int last)
{
    uint8_t f[STREAM_FIELD_MAX];
    store_iter *it;
    ffdb_val k, v;
    int rc = store_iter_open(c->st, m, STORE_SUB, &it);
    if (rc)
        return rc;
    rc = last ? store_iter_seek_le(it, f, stream_entry_field(f, ID_MAX), &k, &v)
              : store_iter_seek(it, f, stream_entry_field(f, ID_MIN), &k, &v);
    if (rc == 0 && k.size == 17 && ((const uint8_t *)k.data)[0] == STREAM_F_ENTRY)
        rc = reply_entry(c, stream_field_id((const uint8_t *)k.data + 1), &v);
    else if (rc == 0 || rc == FFDB_NOTFOUND)
        reply_null(c->r), rc = 0;
    store_iter_close(it);
    return rc;
}

static int first_id(resp_ctx *c, const store_meta *m, stream_id *id)
{
    uint8_t f[STREAM_FIELD_MAX];
    store_iter *it;
    ffdb_val k, v;
    int rc = store_iter_open(c->st, m, STORE_SUB, &it);
    *id = ID_MIN;
    if (rc)
        return rc;
    rc = store_iter_seek(it, f, stream_entry_field(f, ID_MIN), &k, &v);
    if (rc == 0 && k.size == 17 && ((const uint8_t *)k.data)[0] == STREAM_F_ENTRY)
        *id = stream_field_id((const uint8_t *)k.data + 1);
    store_iter_close(it);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

static const char *const xinfo_help[] = {
    "CONSUMERS <key> <groupname>",
    "GROUPS <key>",
    "STREAM <key> [FULL [COUNT <count>]]",
    NULL,
};

static int xinfo_cmd(resp_ctx *c)
{
    static const char *const subs[] = {"consumers", "groups", "stream", "help", NULL};
    static const int arity[] = {4, 3, -3, 2};
    store_meta m;
    stream_state s;
    int rc, sub = subcommand_of(c, subs, arity, xinfo_help);

    if (sub < 0)
        return 0;
    int groups = sub == 1, stream = sub == 2; /* else CONSUMERS */
    rc = get_stream(c, &c->argv[2], &m, &s);
    if (rc == FFDB_NOTFOUND) {
        reply_error(c->r, "ERR no such key");
        return 0;
    }
    if (rc)
        return rc < 0 ? rc : 0;
    uint8_t prefix[STREAM_FIELD_MAX];
    name_list names = {NULL, NULL, 0, 0};
    if (stream) {
        stream_id first;
        prefix[0] = STREAM_F_GROUP;
        rc = list_names(c, &m, prefix, 1, &names);
        if (!rc)
            rc = first_id(c, &m, &first);
        if (rc) {
            names_free(&names);
            return rc;
        }
        reply_map(c->r, 10);
        reply_bulk_cstr(c->r, "length");
        reply_int(c->r, (int64_t)s.length);
        /* no radix tree here: what Redis's would have at 100 entries a node */
        reply_bulk_cstr(c->r, "radix-tree-keys");
        reply_int(c->r, (int64_t)((s.length + 99) / 100));
        reply_bulk_cstr(c->r, "radix-tree-nodes");
        reply_int(c->r, (int64_t)((s.length + 99) / 100 * 2 + 1));
        reply_bulk_cstr(c->r, "last-generated-id");
        reply_id(c->r, s.last);
        reply_bulk_cstr(c->r, "max-deleted-entry-id");
        reply_id(c->r, s.max_deleted);
        reply_bulk_cstr(c->r, "entries-added");
        reply_int(c->r, (int64_t)s.entries_added);
        reply_bulk_cstr(c->r, "recorded-first-entry-id");
        reply_id(c->r, first);
        reply_bulk_cstr(c->r, "groups");
        reply_int(c->r, (int64_t)names.n);
        reply_bulk_cstr(c->r, "first-entry");
        rc = reply_first_last(c, &m, 0);
        if (!rc) {
            reply_bulk_cstr(c->r, "last-entry");
            rc = reply_first_last(c, &m, 1);
        }
        names_free(&names);
        return rc;
    }
    if (groups) {
        prefix[0] = STREAM_F_GROUP;
        rc = list_names(c, &m, prefix, 1, &names);
        if (rc) {
            names_free(&names);
            return rc;
        }
        reply_array(c->r, names.n);
        for (size_t i = 0; i < names.n && !rc; i++) {
            resp_arg g = {names.names[i], names.lens[i]};
            stream_group grp;
            name_list cons = {NULL, NULL, 0, 0};
            collect k = {NULL, 0, 0, NULL};
            size_t pl;
            rc = stream_group_get(c->st, &m, g.p, g.n, &grp);
            if (rc)
                break;
            pl = stream_consumer_field(prefix, g.p, g.n, "", 0);
            rc = list_names(c, &m, prefix, pl, &cons);
            if (!rc)
                rc = pel_walk(c, &m, &g, ID_MIN, count_fn, &k);
            names_free(&cons);
            if (rc)
                break;
            reply_map(c->r, 6);
            reply_bulk_cstr(c->r, "name");
            reply_bulk(c->r, g.p, g.n);
            reply_bulk_cstr(c->r, "consumers");
            reply_int(c->r, (int64_t)cons.n);
            reply_bulk_cstr(c->r, "pending");
            reply_int(c->r, (int64_t)k.n);
            reply_bulk_cstr(c->r, "last-delivered-id");
            reply_id(c->r, grp.last);
            reply_bulk_cstr(c->r, "entries-read");
            if (grp.entries_read == UINT64_MAX)
                reply_null(c->r);
            else
                reply_int(c->r, (int64_t)grp.entries_read);
            reply_bulk_cstr(c->r, "lag");
            if (grp.entries_read == UINT64_MAX || grp.entries_read > s.entries_added)
                reply_null(c->r);
            else
                reply_int(c->r, (int64_t)(s.entries_added - grp.entries_read));
        }
        names_free(&names);
        return rc;
    }
    /* CONSUMERS key group */
    stream_group grp;
    const resp_arg *g = &c->argv[3];
    rc = stream_group_get(c->st, &m, g->p, g->n, &grp);
    if (rc == FFDB_NOTFOUND) {
        reply_errorf(c->r, "NOGROUP No such consumer group '%.*s' for key name '%.*s'", (int)g->n,
                     g->p, (int)c->argv[2].n, c->argv[2].p);
        return 0;
    }
    if (rc)
        return rc;
    size_t pl = stream_consumer_field(prefix, g->p, g->n, "", 0);
    rc = list_names(c, &m, prefix, pl, &names);
    if (rc) {
        names_free(&names);
        return rc;
    }
    reply_array(c->r, names.n);
    for (size_t i = 0; i < names.n && !rc; i++) {
        resp_arg who = {names.names[i], names.lens[i]};
        collect k = {NULL, 0, 0, &who};
        uint8_t f[STREAM_FIELD_MAX];
        ffdb_val v;
        int64_t seen = c->now_ms, active = -1;
        rc = pel_walk(c, &m, g, ID_MIN, count_fn, &k);
        if (!rc)
            rc =
                store_sub_get(c->st, &m, f, stream_consumer_field(f, g->p, g->n, who.p, who.n), &v);
        if (rc)
            break;
        if (v.size >= 16) {
            const uint8_t *p = v.data;
            uint64_t a = 0, b = 0;
            for (int j = 0; j < 8; j++)
                a = a << 8 | p[j], b = b << 8 | p[8 + j];
            seen = (int64_t)a;
            active = b == UINT64_MAX ? -1 : (int64_t)b;
        }
        reply_map(c->r, 4);
        reply_bulk_cstr(c->r, "name");
        reply_bulk(c->r, who.p, who.n);
        reply_bulk_cstr(c->r, "pending");
        reply_int(c->r, (int64_t)k.n);
        reply_bulk_cstr(c->r, "idle");
        reply_int(c->r, c->now_ms - seen);
        reply_bulk_cstr(c->r, "inactive");
        reply_int(c->r, active < 0 ? -1 : c->now_ms - active);
    }
    names_free(&names);
    return rc;
}

#define W (RESP_CMD_WRITE | RESP_CMD_DENYOOM)
#define R RESP_CMD_READONLY

const resp_command redis_cmds_stream[] = {
    {"xadd", xadd_cmd, -5, W | RESP_CMD_FAST, 1, 1, 1, "stream", "Appends a new entry to a stream"},
    {"xlen", xlen_cmd, 2, R | RESP_CMD_FAST, 1, 1, 1, "stream",
     "Return the number of entries in a stream"},
    {"xrange", xrange_cmd, -4, R, 1, 1, 1, "stream",
     "Return a range of elements in a stream, with IDs matching the specified IDs interval"},
    {"xrevrange", xrevrange_cmd, -4, R, 1, 1, 1, "stream",
     "Return a range of elements in a stream, with IDs matching the specified IDs interval, in "
     "reverse order (from greater to smaller IDs) compared to XRANGE"},
    {"xdel", xdel_cmd, -3, RESP_CMD_WRITE | RESP_CMD_FAST, 1, 1, 1, "stream",
     "Removes the specified entries from the stream. Returns the number of items actually "
     "deleted, that may be different from the number of IDs passed in case certain IDs do not "
     "exist."},
    {"xtrim", xtrim_cmd, -4, RESP_CMD_WRITE, 1, 1, 1, "stream",
     "Trims the stream to (approximately if '~' is passed) a certain size"},
    {"xsetid", xsetid_cmd, -3, W | RESP_CMD_FAST, 1, 1, 1, "stream",
     "An internal command for replicating stream values"},
    {"xread", xread_cmd, -4, R, 0, 0, 0, "stream",
     "Return never seen elements in multiple streams, with IDs greater than the ones reported by "
     "the caller for each stream. Can block."},
    {"xgroup", xgroup_cmd, -2, W, 2, 2, 1, "stream", "A container for consumer groups commands"},
    {"xreadgroup", xreadgroup_cmd, -7, RESP_CMD_WRITE, 0, 0, 0, "stream",
     "Return new entries from a stream using a consumer group, or access the history of the "
     "pending entries for a given consumer. Can block."},
    {"xack", xack_cmd, -4, RESP_CMD_WRITE | RESP_CMD_FAST, 1, 1, 1, "stream",
     "Marks a pending message as correctly processed, effectively removing it from the pending "
     "entries list of the consumer group."},
    {"xpending", xpending_cmd, -3, R, 1, 1, 1, "stream",
     "Return information and entries from a stream consumer group pending entries list, that "
     "are messages fetched but never acknowledged."},
    {"xclaim", xclaim_cmd, -6, RESP_CMD_WRITE | RESP_CMD_FAST, 1, 1, 1, "stream",
     "Changes (or acquires) ownership of a message in a consumer group, as if the message was "
     "delivered to the specified consumer."},
    {"xautoclaim", xautoclaim_cmd, -6, RESP_CMD_WRITE | RESP_CMD_FAST, 1, 1, 1, "stream",
     "Changes (or acquires) ownership of messages in a consumer group, as if the messages were "
     "delivered to the specified consumer."},
    {"xinfo", xinfo_cmd, -2, R, 2, 2, 1, "stream", "A container for stream introspection commands"},
    {NULL},
};
