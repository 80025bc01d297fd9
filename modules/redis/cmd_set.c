/*
 * cmd_set.c — the set commands: SADD SREM SCARD SISMEMBER SMISMEMBER
 * SMEMBERS SPOP SRANDMEMBER SMOVE SINTER SUNION SDIFF SINTERSTORE
 * SUNIONSTORE SDIFFSTORE SINTERCARD SSCAN.
 *
 * A set is a collection whose members are sub-keys with empty values
 * (store.h), so every set is also sorted by member bytes. The algebra uses
 * that: SINTER walks the smallest set and looks members up in the others,
 * SDIFF walks the first, SUNION merges the sets' ordered walks, so none of
 * them holds a set in memory, and the *STORE forms stream into the
 * destination. The destination gets a fresh version before the walk starts
 * (store_meta_create), while the sources are read through the versions
 * looked up before: a destination that is also a source is read as it was,
 * its old elements going to the sweeper afterwards (S4).
 *
 * Output order is byte order, not Redis's hash order: SMEMBERS SINTER
 * SUNION SDIFF carry RESP_CMD_SORTED, SPOP SRANDMEMBER SSCAN
 * RESP_CMD_RANDOM. Members are at most STORE_MAX_FIELD bytes: adding a
 * longer one is an error reply, looking one up finds nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/redis/cmd.h"

/* A live set: 0, FFDB_NOTFOUND, STORE_EWRONGTYPE or an engine code. */
static int get_set(resp_ctx *c, const resp_arg *key, store_meta *m)
{
    return store_lookup_type(c->st, c->db, key->p, key->n, STORE_SET, m);
}

/* 1 if m holds the member, 0 if not, or an engine code. */
static int is_member(resp_ctx *c, const store_meta *m, const void *p, size_t n)
{
    ffdb_val v;
    int rc;

    if (n > STORE_MAX_FIELD)
        return 0; /* cannot have been added */
    rc = store_sub_get(c->st, m, p, n, &v);
    return rc == 0 ? 1 : rc == FFDB_NOTFOUND ? 0 : rc;
}

/* Add a member (at most STORE_MAX_FIELD bytes); *added says if it was new.
 * The caller saves m. */
static int add_member(resp_ctx *c, store_meta *m, const void *p, size_t n, int *added)
{
    int rc = is_member(c, m, p, n);

    *added = 0;
    if (rc)
        return rc < 0 ? rc : 0;
    rc = store_sub_put(c->st, m, p, n, NULL, 0);
    if (rc)
        return rc;
    m->size++;
    *added = 1;
    return 0;
}

/* ---- single sets ----------------------------------------------------------------------------- */

static int sadd_cmd(resp_ctx *c)
{
    store_meta m;
    uint64_t old_size;
    int64_t added = 0;
    int rc;

    for (int i = 2; i < c->argc; i++)
        if (c->argv[i].n > STORE_MAX_FIELD)
            return redis_store_error(c, STORE_EFIELDLEN);
    rc = get_set(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND)
        rc = store_meta_create(c->st, c->db, c->argv[1].p, c->argv[1].n, STORE_SET, &m);
    if (rc)
        return redis_store_error(c, rc);
    old_size = m.size;
    for (int i = 2; i < c->argc; i++) {
        int one;
        rc = add_member(c, &m, c->argv[i].p, c->argv[i].n, &one);
        if (rc)
            return rc;
        added += one;
    }
    if (m.size != old_size) {
        rc = store_meta_save(c->st, &m);
        if (rc)
            return rc;
    }
    reply_int(c->r, added);
    return 0;
}

static int srem_cmd(resp_ctx *c)
{
    store_meta m;
    int64_t removed = 0;
    int rc = get_set(c, &c->argv[1], &m);

    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    for (int i = 2; i < c->argc && m.size > 0; i++) {
        int existed;
        rc = store_sub_del(c->st, &m, c->argv[i].p, c->argv[i].n, &existed);
        if (rc)
            return rc;
        removed += existed;
        m.size -= (uint64_t)existed;
    }
    return redis_reply_removed(c, &m, removed);
}

static int scard_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = get_set(c, &c->argv[1], &m);

    return redis_reply_size(c, rc, &m);
}

static int sismember_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = get_set(c, &c->argv[1], &m);

    if (rc == 0)
        rc = is_member(c, &m, c->argv[2].p, c->argv[2].n);
    else if (rc == FFDB_NOTFOUND)
        rc = 0;
    if (rc < 0)
        return redis_store_error(c, rc);
    reply_int(c->r, rc);
    return 0;
}

static int smismember_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = get_set(c, &c->argv[1], &m), exists = rc == 0;

    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    reply_array(c->r, (size_t)c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        rc = exists ? is_member(c, &m, c->argv[i].p, c->argv[i].n) : 0;
        if (rc < 0)
            return rc;
        reply_int(c->r, rc);
    }
    return 0;
}

/* Every member of m, in order, as the elements of a reply the caller has
 * opened. */
static int reply_members(resp_ctx *c, const store_meta *m)
{
    store_iter *it;
    ffdb_val f, v;
    uint64_t n = 0;
    int rc = store_iter_open(c->st, m, STORE_SUB, &it);

    if (rc)
        return rc;
    for (rc = store_iter_first(it, &f, &v); rc == 0 && !c->r->out->overflow;
         rc = store_iter_next(it, &f, &v), n++)
        reply_bulk(c->r, f.data, f.size);
    store_iter_close(it);
    if (c->r->out->overflow)
        return 0; /* the client is dropped anyway */
    if (rc == FFDB_NOTFOUND)
        return n == m->size ? 0 : FFDB_CORRUPT; /* S2 */
    return rc;
}

static int smembers_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = get_set(c, &c->argv[1], &m);

    if (rc == FFDB_NOTFOUND) {
        reply_set(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    reply_set(c->r, m.size);
    return reply_members(c, &m);
}

/* ---- random members: SPOP SRANDMEMBER -------------------------------------------------------- */

/* Members chosen by store_sample, copied (SPOP deletes them afterwards). */
typedef struct picked {
    char *data; /* the members, back to back */
    size_t len, cap;
    size_t *ends; /* end offset of each member in data */
    size_t count, ends_cap;
} picked;

static int pick_visit(void *arg, const ffdb_val *f, const ffdb_val *v)
{
    picked *p = arg;

    (void)v;
    if (p->len + f->size > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        while (cap < p->len + f->size)
            cap *= 2;
        char *d = realloc(p->data, cap);
        if (!d)
            return FFDB_ENOMEM;
        p->data = d;
        p->cap = cap;
    }
    if (p->count == p->ends_cap) {
        size_t *e = redis_array_grow(p->ends, &p->ends_cap, sizeof(*e));
        if (!e)
            return FFDB_ENOMEM;
        p->ends = e;
    }
    if (f->size) /* an empty member may be the first: data still NULL */
        memcpy(p->data + p->len, f->data, f->size);
    p->len += f->size;
    p->ends[p->count++] = p->len;
    return 0;
}

static void picked_free(picked *p)
{
    free(p->data);
    free(p->ends);
}

/* Delete the picked members from m, reply them (as a set, or one bulk
 * string if single), save m. */
static int pop_picked(resp_ctx *c, store_meta *m, picked *p, int single)
{
    int rc = 0;

    if (!single)
        reply_set(c->r, p->count);
    for (size_t i = 0, start = 0; i < p->count && !rc; start = p->ends[i++]) {
        rc = store_sub_del(c->st, m, p->data + start, p->ends[i] - start, NULL);
        reply_bulk(c->r, p->data + start, p->ends[i] - start);
    }
    m->size -= p->count;
    return rc ? rc : store_meta_save(c->st, m);
}

/* SPOP key [count]: one random member, or up to count different ones (a
 * set reply). Taking the whole set deletes the key in O(1). */
static int spop_cmd(resp_ctx *c)
{
    picked p = {0};
    int64_t count = 1;
    store_meta m;
    int rc;

    if (c->argc > 3)
        return resp_err_syntax(c->r);
    if (c->argc == 3 && (resp_parse_i64(c->argv[2].p, c->argv[2].n, &count) || count < 0)) {
        reply_error(c->r, "ERR value is out of range, must be positive");
        return 0;
    }
    rc = get_set(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND || (rc == 0 && count == 0)) {
        if (c->argc == 3)
            reply_set(c->r, 0);
        else
            reply_null(c->r);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    if ((uint64_t)count >= m.size && c->argc == 3) {
        reply_set(c->r, m.size);
        rc = reply_members(c, &m);
        if (!rc)
            rc = store_key_delete(c->st, c->db, c->argv[1].p, c->argv[1].n, NULL);
        return rc;
    }
    rc = store_sample(c->st, &m, (uint64_t)count, 1, redis_rand(c), pick_visit, &p);
    if (!rc)
        rc = pop_picked(c, &m, &p, c->argc == 2);
    picked_free(&p);
    return rc;
}

static int rand_visit(void *arg, const ffdb_val *f, const ffdb_val *v)
{
    resp_reply *r = arg;

    (void)v;
    reply_bulk(r, f->data, f->size);
    return r->out->overflow; /* the client is dropped anyway: stop */
}

/* SRANDMEMBER key [count]: a positive count asks for different members (at
 * most the set's size), a negative one for |count| picks that may repeat. */
static int srandmember_cmd(resp_ctx *c)
{
    int64_t l = 0;
    uint64_t count;
    store_meta m;
    int rc;

    if (c->argc > 3)
        return resp_err_syntax(c->r);
    if (c->argc == 3) {
        if (redis_rand_count(c, &c->argv[2], &l))
            return 0;
    }
    rc = get_set(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND) {
        if (c->argc == 3)
            reply_array(c->r, 0);
        else
            reply_null(c->r);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    if (c->argc == 2) {
        rc = store_sample(c->st, &m, 1, 1, redis_rand(c), rand_visit, c->r);
        return rc < 0 ? rc : 0;
    }
    count = l < 0 ? (uint64_t)-l : (uint64_t)l;
    if (l >= 0 && count > m.size)
        count = m.size;
    reply_array(c->r, count);
    rc = store_sample(c->st, &m, count, l >= 0, redis_rand(c), rand_visit, c->r);
    return rc < 0 ? rc : 0;
}

/* SMOVE src dst member: 1 if moved (or already in src == dst), 0 if src
 * does not hold it. Both keys' types are checked before anything moves. */
static int smove_cmd(resp_ctx *c)
{
    const resp_arg *src = &c->argv[1], *dst = &c->argv[2], *mem = &c->argv[3];
    store_meta sm, dm;
    int rc = get_set(c, src, &sm), drc, added;

    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    drc = get_set(c, dst, &dm);
    if (drc && drc != FFDB_NOTFOUND)
        return redis_store_error(c, drc);
    rc = is_member(c, &sm, mem->p, mem->n);
    if (rc <= 0 || (src->n == dst->n && memcmp(src->p, dst->p, src->n) == 0)) {
        if (rc < 0)
            return rc;
        reply_int(c->r, rc);
        return 0;
    }
    if (drc == FFDB_NOTFOUND) {
        rc = store_meta_create(c->st, c->db, dst->p, dst->n, STORE_SET, &dm);
        if (rc)
            return redis_store_error(c, rc);
    }
    rc = store_sub_del(c->st, &sm, mem->p, mem->n, NULL);
    if (!rc) {
        sm.size--;
        rc = store_meta_save(c->st, &sm);
    }
    if (!rc)
        rc = add_member(c, &dm, mem->p, mem->n, &added);
    if (!rc && added)
        rc = store_meta_save(c->st, &dm);
    if (rc)
        return rc;
    reply_int(c->r, 1);
    return 0;
}

/* ---- the algebra: SINTER SUNION SDIFF, their STORE forms, SINTERCARD ------------------------- */

enum { TO_REPLY, TO_STORE, TO_COUNT };

/* Where the members of a result go. */
typedef struct sink {
    resp_ctx *c;
    int mode;       /* TO_REPLY (a set reply), TO_STORE (into dst), TO_COUNT */
    store_meta dst; /* TO_STORE: the new destination */
    uint64_t n;     /* members so far */
    uint64_t limit; /* TO_COUNT: stop there (0 = no limit) */
} sink;

/* One member of the result (bytes of the caller's, never the engine's: a
 * TO_STORE write could move them). 0 to go on, 1 to stop, or an engine
 * code. */
static int sink_emit(sink *s, const void *p, size_t n)
{
    int rc = 0;

    s->n++;
    if (s->mode == TO_REPLY) {
        reply_bulk(s->c->r, p, n);
        return s->c->r->out->overflow;
    }
    if (s->mode == TO_STORE) {
        rc = store_sub_put(s->c->st, &s->dst, p, n, NULL, 0);
        s->dst.size++;
        return rc;
    }
    return s->limit && s->n >= s->limit;
}

/* A walk over one source set, holding a copy of its current member. */
typedef struct walk {
    store_iter *it;
    uint8_t cur[STORE_MAX_FIELD];
    size_t n;
    int live; /* cur holds a member */
} walk;

static int walk_step(walk *w, int first)
{
    ffdb_val f, v;
    int rc = first ? store_iter_first(w->it, &f, &v) : store_iter_next(w->it, &f, &v);

    w->live = rc == 0;
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (f.size > STORE_MAX_FIELD)
        return FFDB_CORRUPT;
    memcpy(w->cur, f.data, f.size);
    w->n = f.size;
    return 0;
}

static int walk_open(resp_ctx *c, const store_meta *m, walk *w)
{
    int rc = store_iter_open(c->st, m, STORE_SUB, &w->it);
    return rc ? rc : walk_step(w, 1);
}

static int cmp_member(const walk *a, const walk *b)
{
    int d = memcmp(a->cur, b->cur, a->n < b->n ? a->n : b->n);
    return d ? d : (a->n > b->n) - (a->n < b->n);
}

/* Members of the first set (drive) that every other set holds (want 1) or
 * none holds (want 0). sets[i] is NULL for a missing key. */
static int walk_filtered(resp_ctx *c, store_meta **sets, int nsets, int drive, int want, sink *s)
{
    walk *w = malloc(sizeof(*w));
    int rc;

    if (!w)
        return FFDB_ENOMEM;
    rc = walk_open(c, sets[drive], w);
    while (!rc && w->live) {
        int keep = 1;
        for (int i = 0; i < nsets && keep && !rc; i++) {
            if (i == drive || !sets[i])
                continue;
            rc = is_member(c, sets[i], w->cur, w->n);
            if (rc >= 0)
                keep = rc == want, rc = 0;
        }
        if (!rc && keep)
            rc = sink_emit(s, w->cur, w->n);
        if (!rc)
            rc = walk_step(w, 0);
    }
    store_iter_close(w->it);
    free(w);
    return rc > 0 ? 0 : rc;
}

/* The union, by merging the sets' ordered walks (each member once). */
static int walk_union(resp_ctx *c, store_meta **sets, int nsets, sink *s)
{
    walk *w = calloc((size_t)nsets, sizeof(*w));
    int rc = 0;

    if (!w)
        return FFDB_ENOMEM;
    for (int i = 0; i < nsets && !rc; i++)
        if (sets[i])
            rc = walk_open(c, sets[i], &w[i]);
    while (!rc) {
        int min = -1;
        for (int i = 0; i < nsets; i++)
            if (w[i].live && (min < 0 || cmp_member(&w[i], &w[min]) < 0))
                min = i;
        if (min < 0)
            break;
        rc = sink_emit(s, w[min].cur, w[min].n);
        for (int i = 0; i < nsets && !rc; i++) /* min last: the others compare with it */
            if (i != min && w[i].live && cmp_member(&w[i], &w[min]) == 0)
                rc = walk_step(&w[i], 0);
        if (!rc)
            rc = walk_step(&w[min], 0);
    }
    for (int i = 0; i < nsets; i++)
        store_iter_close(w[i].it);
    free(w);
    return rc > 0 ? 0 : rc;
}

enum { OP_INTER, OP_UNION, OP_DIFF };

/* Look up the sets at keys[0..n): every one must be a set or missing
 * (WRONGTYPE otherwise, checked for all before anything is written). m[i]
 * is filled and sets[i] points at it, or is NULL for a missing key. 0, or
 * 1 after an error reply, or an engine code. */
static int load_sets(resp_ctx *c, const resp_arg *keys, int n, store_meta *m, store_meta **sets)
{
    for (int i = 0; i < n; i++) {
        int rc = get_set(c, &keys[i], &m[i]);
        sets[i] = rc == 0 ? &m[i] : NULL;
        if (rc == STORE_EWRONGTYPE)
            return resp_err_wrongtype(c->r), 1;
        if (rc && rc != FFDB_NOTFOUND)
            return rc;
    }
    return 0;
}

/* Run op over the loaded sets into s. */
static int set_op(resp_ctx *c, int op, store_meta **sets, int n, sink *s)
{
    int drive = 0;

    if (op == OP_UNION)
        return walk_union(c, sets, n, s);
    if (op == OP_DIFF)
        return sets[0] ? walk_filtered(c, sets, n, 0, 0, s) : 0;
    for (int i = 0; i < n; i++) { /* an intersection walks its smallest set */
        if (!sets[i])
            return 0;
        if (sets[i]->size < sets[drive]->size)
            drive = i;
    }
    return walk_filtered(c, sets, n, drive, 1, s);
}

/* SINTER SUNION SDIFF key [key ...] (dst NULL: a set reply), and the STORE
 * forms with dst (reply: the size of dst, which the result replaces). */
static int algebra(resp_ctx *c, int op, const resp_arg *dst, const resp_arg *keys, int n)
{
    store_meta *m = malloc(sizeof(*m) * (size_t)n);
    store_meta **sets = malloc(sizeof(*sets) * (size_t)n);
    sink s = {c, dst ? TO_STORE : TO_REPLY, {0}, 0, 0};
    resp_defer d = 0;
    int rc = m && sets ? 0 : FFDB_ENOMEM;

    if (!rc && dst && dst->n > STORE_MAX_KEY) {
        redis_store_error(c, STORE_EKEYLEN);
        rc = 1; /* replied */
    }
    if (!rc)
        rc = load_sets(c, keys, n, m, sets);
    if (!rc && dst)
        rc = store_meta_create(c->st, c->db, dst->p, dst->n, STORE_SET, &s.dst);
    if (!rc && !dst)
        d = reply_defer(c->r);
    if (!rc)
        rc = set_op(c, op, sets, n, &s);
    if (!rc && dst)
        rc = store_meta_save(c->st, &s.dst); /* an empty result deletes dst */
    if (!rc && dst)
        reply_int(c->r, (int64_t)s.dst.size);
    else if (!rc)
        reply_defer_set(c->r, d, s.n);
    free(m);
    free(sets);
    return rc > 0 ? 0 : rc;
}

static int sinter_cmd(resp_ctx *c)
{
    return algebra(c, OP_INTER, NULL, c->argv + 1, c->argc - 1);
}

static int sunion_cmd(resp_ctx *c)
{
    return algebra(c, OP_UNION, NULL, c->argv + 1, c->argc - 1);
}

static int sdiff_cmd(resp_ctx *c)
{
    return algebra(c, OP_DIFF, NULL, c->argv + 1, c->argc - 1);
}

static int sinterstore_cmd(resp_ctx *c)
{
    return algebra(c, OP_INTER, &c->argv[1], c->argv + 2, c->argc - 2);
}

static int sunionstore_cmd(resp_ctx *c)
{
    return algebra(c, OP_UNION, &c->argv[1], c->argv + 2, c->argc - 2);
}

static int sdiffstore_cmd(resp_ctx *c)
{
    return algebra(c, OP_DIFF, &c->argv[1], c->argv + 2, c->argc - 2);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
static int sintercard_cmd(resp_ctx *c)
{
    int64_t numkeys, limit = 0;
    store_meta *m, **sets;
    sink s = {c, TO_COUNT, {0}, 0, 0};
    int rc;

    if (resp_parse_i64(c->argv[1].p, c->argv[1].n, &numkeys) || numkeys <= 0) {
        reply_error(c->r, "ERR numkeys should be greater than 0");
        return 0;
    }
    if (numkeys > c->argc - 2) {
        reply_error(c->r, "ERR Number of keys can't be greater than number of args");
        return 0;
    }
    for (int i = 2 + (int)numkeys; i < c->argc; i++) {
        if (resp_arg_is(&c->argv[i], "limit") && i + 1 < c->argc) {
            if (resp_parse_i64(c->argv[i + 1].p, c->argv[i + 1].n, &limit) || limit < 0) {
                reply_error(c->r, "ERR LIMIT can't be negative");
                return 0;
            }
            i++;
        } else {
            return resp_err_syntax(c->r);
        }
    }
    m = malloc(sizeof(*m) * (size_t)numkeys);
    sets = malloc(sizeof(*sets) * (size_t)numkeys);
    rc = m && sets ? load_sets(c, c->argv + 2, (int)numkeys, m, sets) : FFDB_ENOMEM;
    s.limit = (uint64_t)limit;
    if (!rc)
        rc = set_op(c, OP_INTER, sets, (int)numkeys, &s);
    if (!rc)
        reply_int(c->r, (int64_t)s.n);
    free(m);
    free(sets);
    return rc > 0 ? 0 : rc;
}

/* ---- SSCAN ----------------------------------------------------------------------------------- */

/* SSCAN key cursor [MATCH pattern] [COUNT count]: the cursor names the next
 * member (command.h). Errors in Redis's order: the cursor, the key's type
 * (a missing key is an empty scan whatever the options), the options. */
static int sscan_get(resp_ctx *c, store_meta *m)
{
    return get_set(c, &c->argv[1], m);
}

static int sscan_emit(resp_reply *r, const ffdb_val *member, const ffdb_val *value)
{
    (void)value;
    reply_bulk(r, member->data, member->size);
    return 1;
}

static int sscan_cmd(resp_ctx *c)
{
    return redis_scan_members(c, sscan_get, sscan_emit);
}

#define W (RESP_CMD_WRITE | RESP_CMD_DENYOOM)
#define R RESP_CMD_READONLY
#define F RESP_CMD_FAST
#define SORTED RESP_CMD_SORTED

const resp_command redis_cmds_set[] = {
    {"sadd", sadd_cmd, -3, W | F, 1, 1, 1, "set", "Add one or more members to a set"},
    {"srem", srem_cmd, -3, RESP_CMD_WRITE | F, 1, 1, 1, "set",
     "Remove one or more members from a set"},
    {"scard", scard_cmd, 2, R | F, 1, 1, 1, "set", "Get the number of members in a set"},
    {"sismember", sismember_cmd, 3, R | F, 1, 1, 1, "set",
     "Determine if a given value is a member of a set"},
    {"smismember", smismember_cmd, -3, R | F, 1, 1, 1, "set",
     "Returns the membership associated with the given elements for a set"},
    {"smembers", smembers_cmd, 2, R | SORTED, 1, 1, 1, "set", "Get all the members in a set"},
    {"spop", spop_cmd, -2, RESP_CMD_WRITE | F | RESP_CMD_RANDOM, 1, 1, 1, "set",
     "Remove and return one or multiple random members from a set"},
    {"srandmember", srandmember_cmd, -2, R | RESP_CMD_RANDOM, 1, 1, 1, "set",
     "Get one or multiple random members from a set"},
    {"smove", smove_cmd, 4, RESP_CMD_WRITE | F, 1, 2, 1, "set",
     "Move a member from one set to another"},
    {"sinter", sinter_cmd, -2, R | SORTED, 1, -1, 1, "set", "Intersect multiple sets"},
    {"sunion", sunion_cmd, -2, R | SORTED, 1, -1, 1, "set", "Add multiple sets"},
    {"sdiff", sdiff_cmd, -2, R | SORTED, 1, -1, 1, "set", "Subtract multiple sets"},
    {"sinterstore", sinterstore_cmd, -3, W, 1, -1, 1, "set",
     "Intersect multiple sets and store the resulting set in a key"},
    {"sunionstore", sunionstore_cmd, -3, W, 1, -1, 1, "set",
     "Add multiple sets and store the resulting set in a key"},
    {"sdiffstore", sdiffstore_cmd, -3, W, 1, -1, 1, "set",
     "Subtract multiple sets and store the resulting set in a key"},
    {"sintercard", sintercard_cmd, -3, R, 2, 2, 1, "set",
     "Intersect multiple sets and return the cardinality of the result"},
    {"sscan", sscan_cmd, -3, R | RESP_CMD_RANDOM, 1, 1, 1, "set",
     "Incrementally iterate Set elements"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
