/*
 * cmd_hash.c — the hash commands: HSET HMSET HSETNX HGET HMGET HDEL HEXISTS
 * HLEN HSTRLEN HGETALL HKEYS HVALS HINCRBY HINCRBYFLOAT HSCAN HRANDFIELD.
 *
 * A hash is a collection (store.h): its fields are sub-keys version|field
 * whose values are the hash's values, so HGET is one engine lookup and
 * HGETALL one ordered walk. Fields come back in byte order, not in Redis's
 * insertion or hash order; the commands whose output order is therefore our
 * own carry RESP_CMD_SORTED (HGETALL HKEYS HVALS) or RESP_CMD_RANDOM (HSCAN,
 * HRANDFIELD). Fields are limited to STORE_MAX_FIELD bytes: a write of a
 * longer one is an error reply, a read of one finds nothing (it cannot have
 * been stored). Like every family it includes command.h only and writes
 * through store.h after every argument was checked.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "modules/redis/cmd.h"

/* A live hash at argv[1]: 0, FFDB_NOTFOUND, STORE_EWRONGTYPE or an engine code. */
static int get_hash(resp_ctx *c, store_meta *m)
{
    return store_lookup_type(c->st, c->db, c->argv[1].p, c->argv[1].n, STORE_HASH, m);
}

/* The hash at argv[1] for a write: the live one, or a new empty one (in the
 * file only once store_meta_save sees a field). */
static int hash_for_write(resp_ctx *c, store_meta *m)
{
    int rc = get_hash(c, m);

    if (rc == FFDB_NOTFOUND)
        rc = store_meta_create(c->st, c->db, c->argv[1].p, c->argv[1].n, STORE_HASH, m);
    return rc;
}

/* A field's value; FFDB_NOTFOUND also for a field too long to exist. */
static int field_get(resp_ctx *c, const store_meta *m, const resp_arg *f, ffdb_val *v)
{
    if (f->n > STORE_MAX_FIELD)
        return FFDB_NOTFOUND;
    return store_sub_get(c->st, m, f->p, f->n, v);
}

/* Write the metadata back if the write changed it (a new hash, a new size).
 * Overwriting a field's value leaves the record alone: one engine put fewer. */
static int save_if_changed(resp_ctx *c, store_meta *m, uint64_t old_size)
{
    if (m->saved && m->size == old_size)
        return 0;
    return store_meta_save(c->st, m);
}

/* ---- setting and reading fields ------------------------------------------------------------ */

/* HSET key field value [field value ...] (replies the fields added) and
 * HMSET (replies OK). */
static int hset_generic(resp_ctx *c, int reply_added)
{
    store_meta m;
    int64_t added = 0;
    uint64_t old_size;
    int rc;

    if (c->argc % 2)
        return resp_err_arity(c->r, c->cmd);
    for (int i = 2; i < c->argc; i += 2)
        if (c->argv[i].n > STORE_MAX_FIELD)
            return redis_store_error(c, STORE_EFIELDLEN);
    rc = hash_for_write(c, &m);
    if (rc)
        return redis_store_error(c, rc);
    old_size = m.size;
    for (int i = 2; i < c->argc; i += 2) {
        ffdb_val old;
        rc = store_sub_get(c->st, &m, c->argv[i].p, c->argv[i].n, &old);
        if (rc == FFDB_NOTFOUND)
            added++, m.size++;
        else if (rc)
            return rc;
        rc = store_sub_put(c->st, &m, c->argv[i].p, c->argv[i].n, c->argv[i + 1].p,
                           c->argv[i + 1].n);
        if (rc)
            return rc;
    }
    rc = save_if_changed(c, &m, old_size);
    if (rc)
        return rc;
    if (reply_added)
        reply_int(c->r, added);
    else
        reply_ok(c->r);
    return 0;
}

static int hset_cmd(resp_ctx *c)
{
    return hset_generic(c, 1);
}

static int hmset_cmd(resp_ctx *c)
{
    return hset_generic(c, 0);
}

static int hsetnx_cmd(resp_ctx *c)
{
    const resp_arg *f = &c->argv[2];
    store_meta m;
    ffdb_val old;
    int rc;

    if (f->n > STORE_MAX_FIELD)
        return redis_store_error(c, STORE_EFIELDLEN);
    rc = hash_for_write(c, &m);
    if (rc)
        return redis_store_error(c, rc);
    rc = store_sub_get(c->st, &m, f->p, f->n, &old);
    if (rc == 0) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc != FFDB_NOTFOUND)
        return rc;
    rc = store_sub_put(c->st, &m, f->p, f->n, c->argv[3].p, c->argv[3].n);
    if (rc)
        return rc;
    m.size++;
    rc = store_meta_save(c->st, &m);
    if (rc)
        return rc;
    reply_int(c->r, 1);
    return 0;
}

static int hget_cmd(resp_ctx *c)
{
    store_meta m;
    ffdb_val v;
    int rc = get_hash(c, &m);

    if (rc == 0)
        rc = field_get(c, &m, &c->argv[2], &v);
    if (rc == FFDB_NOTFOUND) {
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    reply_bulk(c->r, v.data, v.size);
    return 0;
}

static int hmget_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = get_hash(c, &m), exists = rc == 0;

    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    reply_array(c->r, (size_t)c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        ffdb_val v;
        rc = exists ? field_get(c, &m, &c->argv[i], &v) : FFDB_NOTFOUND;
        if (rc == 0)
            reply_bulk(c->r, v.data, v.size);
        else if (rc == FFDB_NOTFOUND)
            reply_null(c->r);
        else
            return rc;
    }
    return 0;
}

static int hdel_cmd(resp_ctx *c)
{
    store_meta m;
    uint64_t old_size;
    int64_t removed = 0;
    int rc = get_hash(c, &m);

    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    old_size = m.size;
    for (int i = 2; i < c->argc && m.size > 0; i++) {
        int existed;
        rc = store_sub_del(c->st, &m, c->argv[i].p, c->argv[i].n, &existed);
        if (rc)
            return rc;
        removed += existed;
        m.size -= (uint64_t)existed;
    }
    rc = save_if_changed(c, &m, old_size); /* the last field takes the key along */
    if (rc)
        return rc;
    reply_int(c->r, removed);
    return 0;
}

static int hexists_cmd(resp_ctx *c)
{
    store_meta m;
    ffdb_val v;
    int rc = get_hash(c, &m);

    if (rc == 0)
        rc = field_get(c, &m, &c->argv[2], &v);
    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    reply_int(c->r, rc == 0);
    return 0;
}

static int hlen_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = get_hash(c, &m);

    return redis_reply_size(c, rc, &m);
}

static int hstrlen_cmd(resp_ctx *c)
{
    store_meta m;
    ffdb_val v;
    int rc = get_hash(c, &m);

    if (rc == 0)
        rc = field_get(c, &m, &c->argv[2], &v);
    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    reply_int(c->r, rc ? 0 : (int64_t)v.size);
    return 0;
}

/* ---- whole hashes: HGETALL HKEYS HVALS ------------------------------------------------------ */

enum { WANT_FIELDS = 1, WANT_VALUES = 2 };

/* Every field and/or value in field order. The count is the metadata's size
 * (S2); a walk that disagrees is corruption and fails the batch. */
static int hgetall_generic(resp_ctx *c, int want)
{
    store_meta m;
    store_iter *it;
    ffdb_val f, v;
    uint64_t n = 0;
    int rc = get_hash(c, &m);

    if (rc == FFDB_NOTFOUND) {
        if (want == (WANT_FIELDS | WANT_VALUES))
            reply_map(c->r, 0);
        else
            reply_array(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    rc = store_iter_open(c->st, &m, STORE_SUB, &it);
    if (rc)
        return rc;
    if (want == (WANT_FIELDS | WANT_VALUES))
        reply_map(c->r, m.size);
    else
        reply_array(c->r, m.size);
    for (rc = store_iter_first(it, &f, &v); rc == 0 && !c->r->out->overflow;
         rc = store_iter_next(it, &f, &v), n++) {
        if (want & WANT_FIELDS)
            reply_bulk(c->r, f.data, f.size);
        if (want & WANT_VALUES)
            reply_bulk(c->r, v.data, v.size);
    }
    store_iter_close(it);
    if (rc == FFDB_NOTFOUND && n != m.size)
        rc = FFDB_CORRUPT;
    return rc == FFDB_NOTFOUND || c->r->out->overflow ? 0 : rc;
}

static int hgetall_cmd(resp_ctx *c)
{
    return hgetall_generic(c, WANT_FIELDS | WANT_VALUES);
}

static int hkeys_cmd(resp_ctx *c)
{
    return hgetall_generic(c, WANT_FIELDS);
}

static int hvals_cmd(resp_ctx *c)
{
    return hgetall_generic(c, WANT_VALUES);
}

/* ---- counters -------------------------------------------------------------------------------- */

static int hincrby_cmd(resp_ctx *c)
{
    const resp_arg *f = &c->argv[2];
    char buf[24];
    store_meta m;
    ffdb_val old;
    int64_t by, v = 0;
    int rc, added;

    if (resp_arg_i64(c->r, &c->argv[3], &by))
        return 0;
    if (f->n > STORE_MAX_FIELD)
        return redis_store_error(c, STORE_EFIELDLEN);
    rc = hash_for_write(c, &m);
    if (rc)
        return redis_store_error(c, rc);
    rc = store_sub_get(c->st, &m, f->p, f->n, &old);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    added = rc == FFDB_NOTFOUND;
    if (!added && resp_parse_i64(old.data, old.size, &v)) {
        reply_error(c->r, "ERR hash value is not an integer");
        return 0;
    }
    if (__builtin_add_overflow(v, by, &v)) {
        reply_error(c->r, "ERR increment or decrement would overflow");
        return 0;
    }
    rc = store_sub_put(c->st, &m, f->p, f->n, buf, resp_format_int(buf, v));
    if (!rc && added) {
        m.size++;
        rc = store_meta_save(c->st, &m);
    }
    if (rc)
        return rc;
    reply_int(c->r, v);
    return 0;
}

static int hincrbyfloat_cmd(resp_ctx *c)
{
    const resp_arg *f = &c->argv[2];
    char buf[RESP_LONG_DOUBLE_CHARS];
    long double by, v = 0;
    store_meta m;
    ffdb_val old;
    size_t n;
    int rc, added;

    if (resp_parse_long_double(c->argv[3].p, c->argv[3].n, &by))
        return resp_err_not_float(c->r);
    if (isnan(by) || isinf(by)) {
        reply_error(c->r, "ERR value is NaN or Infinity");
        return 0;
    }
    if (f->n > STORE_MAX_FIELD)
        return redis_store_error(c, STORE_EFIELDLEN);
    rc = hash_for_write(c, &m);
    if (rc)
        return redis_store_error(c, rc);
    rc = store_sub_get(c->st, &m, f->p, f->n, &old);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    added = rc == FFDB_NOTFOUND;
    if (!added && resp_parse_long_double(old.data, old.size, &v)) {
        reply_error(c->r, "ERR hash value is not a float");
        return 0;
    }
    v += by;
    n = resp_format_long_double(buf, sizeof(buf), v);
    if (n == 0) { /* inf, NaN, or too long to write */
        reply_error(c->r, "ERR increment would produce NaN or Infinity");
        return 0;
    }
    rc = store_sub_put(c->st, &m, f->p, f->n, buf, n);
    if (!rc && added) {
        m.size++;
        rc = store_meta_save(c->st, &m);
    }
    if (rc)
        return rc;
    reply_bulk(c->r, buf, n);
    return 0;
}

/* ---- HSCAN and HRANDFIELD ------------------------------------------------------------------- */

/* HSCAN key cursor [MATCH pattern] [COUNT count]. The cursor names the next
 * field (command.h). Errors come in Redis's order: a bad cursor, then the
 * key's type (a missing key is an empty scan whatever the options), then
 * the options. */
static int hscan_emit(resp_reply *r, const ffdb_val *field, const ffdb_val *value)
{
    reply_bulk(r, field->data, field->size);
    reply_bulk(r, value->data, value->size);
    return 2;
}

static int hscan_cmd(resp_ctx *c)
{
    return redis_scan_members(c, get_hash, hscan_emit);
}

static int rand_visit(void *arg, const ffdb_val *f, const ffdb_val *v)
{
    redis_rand_pick *w = arg;

    if (w->with && w->r->proto >= 3)
        reply_array(w->r, 2);
    reply_bulk(w->r, f->data, f->size);
    if (w->with)
        reply_bulk(w->r, v->data, v->size);
    return w->r->out->overflow; /* the client is dropped anyway: stop */
}

/* HRANDFIELD key [count [WITHVALUES]]: a positive count asks for different
 * fields (at most the hash's size), a negative one for |count| picks that
 * may repeat. RESP3 pairs a field with its value in a 2-element array. */
static int hrandfield_cmd(resp_ctx *c)
{
    return redis_rand_members(c, "withvalues", get_hash, rand_visit, NULL);
}

#define W (RESP_CMD_WRITE | RESP_CMD_DENYOOM)
#define R RESP_CMD_READONLY
#define F RESP_CMD_FAST

const resp_command redis_cmds_hash[] = {
    {"hset", hset_cmd, -4, W | F, 1, 1, 1, "hash", "Set the string value of a hash field"},
    {"hmset", hmset_cmd, -4, W | F, 1, 1, 1, "hash", "Set multiple hash fields to multiple values"},
    {"hsetnx", hsetnx_cmd, 4, W | F, 1, 1, 1, "hash",
     "Set the value of a hash field, only if the field does not exist"},
    {"hget", hget_cmd, 3, R | F, 1, 1, 1, "hash", "Get the value of a hash field"},
    {"hmget", hmget_cmd, -3, R | F, 1, 1, 1, "hash", "Get the values of all the given hash fields"},
    {"hdel", hdel_cmd, -3, RESP_CMD_WRITE | F, 1, 1, 1, "hash", "Delete one or more hash fields"},
    {"hexists", hexists_cmd, 3, R | F, 1, 1, 1, "hash", "Determine if a hash field exists"},
    {"hlen", hlen_cmd, 2, R | F, 1, 1, 1, "hash", "Get the number of fields in a hash"},
    {"hstrlen", hstrlen_cmd, 3, R | F, 1, 1, 1, "hash",
     "Get the length of the value of a hash field"},
    {"hgetall", hgetall_cmd, 2, R | RESP_CMD_SORTED, 1, 1, 1, "hash",
     "Get all the fields and values in a hash"},
    {"hkeys", hkeys_cmd, 2, R | RESP_CMD_SORTED, 1, 1, 1, "hash", "Get all the fields in a hash"},
    {"hvals", hvals_cmd, 2, R | RESP_CMD_SORTED, 1, 1, 1, "hash", "Get all the values in a hash"},
    {"hincrby", hincrby_cmd, 4, W | F, 1, 1, 1, "hash",
     "Increment the integer value of a hash field by the given number"},
    {"hincrbyfloat", hincrbyfloat_cmd, 4, W | F, 1, 1, 1, "hash",
     "Increment the float value of a hash field by the given amount"},
    {"hscan", hscan_cmd, -3, R | RESP_CMD_RANDOM, 1, 1, 1, "hash",
     "Incrementally iterate hash fields and associated values"},
    {"hrandfield", hrandfield_cmd, -2, R | RESP_CMD_RANDOM, 1, 1, 1, "hash",
     "Get one or multiple random fields from a hash"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
