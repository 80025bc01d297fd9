/*
 * cmd_list.c — the list commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP (with
 * count) LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM RPOPLPUSH LMOVE LPOS.
 *
 * A list's elements are sub-keys at big-endian indexes (store.h), and this
 * file keeps one more invariant on top of S1–S6:
 *
 *   L1 Every index in [head, tail) holds exactly one element and no other
 *      index of the list's version does: size == tail - head.
 *
 * So the element at position i is the sub-key head + i: LINDEX and LSET are
 * one lookup, pushes and pops at either end one put or delete and the
 * metadata (O(log N) engine work, O(1) operations), and LRANGE a seek and a
 * walk. LINSERT and LREM keep L1 by shifting elements: LINSERT moves the
 * shorter side by one, LREM closes the gaps behind the removed elements, so
 * both are O(N) in the part that moves, as in Redis. LTRIM deletes what it
 * cuts (O(removed)), or drops the key in O(1) when it cuts everything.
 *
 * Element bytes from the engine are valid only until the next engine call,
 * so an element that is written back (a shift, LMOVE) is copied first.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/redis/cmd.h"

enum { LEFT = 0, RIGHT = 1 };

/* A live list: 0, FFDB_NOTFOUND, STORE_EWRONGTYPE or an engine code. */
static int get_list(resp_ctx *c, const resp_arg *key, store_meta *m)
{
    return store_lookup_type(c->st, c->db, key->p, key->n, STORE_LIST, m);
}

static int elem_get(resp_ctx *c, const store_meta *m, uint64_t index, ffdb_val *v)
{
    uint8_t k[8];

    store_list_index_encode(index, k);
    return store_sub_get(c->st, m, k, 8, v);
}

static int elem_put(resp_ctx *c, const store_meta *m, uint64_t index, const void *p, size_t n)
{
    uint8_t k[8];

    store_list_index_encode(index, k);
    return store_sub_put(c->st, m, k, 8, p, n);
}

static int elem_del(resp_ctx *c, const store_meta *m, uint64_t index)
{
    uint8_t k[8];

    store_list_index_encode(index, k);
    return store_sub_del(c->st, m, k, 8, NULL);
}

/* A copy of an element (a shift writes it elsewhere). */
typedef struct elem_buf {
    void *p;
    size_t n, cap;
} elem_buf;

static int elem_copy(elem_buf *b, const ffdb_val *v)
{
    if (v->size > b->cap) {
        void *p = realloc(b->p, v->size);
        if (!p)
            return FFDB_ENOMEM;
        b->p = p;
        b->cap = v->size;
    }
    if (v->size)
        memcpy(b->p, v->data, v->size);
    b->n = v->size;
    return 0;
}

/* Move the element at index from to index to (both inside the list's range,
 * to free or stale). */
static int elem_move(resp_ctx *c, const store_meta *m, elem_buf *b, uint64_t from, uint64_t to)
{
    ffdb_val v;
    int rc = elem_get(c, m, from, &v);

    if (rc == FFDB_NOTFOUND)
        return FFDB_CORRUPT; /* L1 says it is there */
    if (!rc)
        rc = elem_copy(b, &v);
    if (!rc)
        rc = elem_put(c, m, to, b->p, b->n);
    return rc;
}

/* LEFT or RIGHT from argv (LMOVE); -1 if it is neither. */
static int side_arg(const resp_arg *a)
{
    return resp_arg_is(a, "left") ? LEFT : resp_arg_is(a, "right") ? RIGHT : -1;
}

/* ---- pushes and pops ------------------------------------------------------------------------- */

/* Push one element at an end; the caller saves m. */
static int push_one(resp_ctx *c, store_meta *m, int where, const resp_arg *v)
{
    uint64_t at = where == LEFT ? m->head - 1 : m->tail;
    int rc = elem_put(c, m, at, v->p, v->n);

    if (rc)
        return rc;
    if (where == LEFT)
        m->head--;
    else
        m->tail++;
    m->size++;
    return 0;
}

/* LPUSH RPUSH LPUSHX RPUSHX: reply the new length. */
static int push_generic(resp_ctx *c, int where, int only_existing)
{
    store_meta m;
    int rc = get_list(c, &c->argv[1], &m);

    if (rc == FFDB_NOTFOUND && only_existing) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc == FFDB_NOTFOUND)
        rc = store_meta_create(c->st, c->db, c->argv[1].p, c->argv[1].n, STORE_LIST, &m);
    if (rc)
        return redis_store_error(c, rc);
    for (int i = 2; i < c->argc; i++) {
        rc = push_one(c, &m, where, &c->argv[i]);
        if (rc)
            return rc;
    }
    rc = store_meta_save(c->st, &m);
    if (rc)
        return rc;
    reply_int(c->r, (int64_t)m.size);
    return 0;
}

static int lpush_cmd(resp_ctx *c)
{
    return push_generic(c, LEFT, 0);
}

static int rpush_cmd(resp_ctx *c)
{
    return push_generic(c, RIGHT, 0);
}

static int lpushx_cmd(resp_ctx *c)
{
    return push_generic(c, LEFT, 1);
}

static int rpushx_cmd(resp_ctx *c)
{
    return push_generic(c, RIGHT, 1);
}

/* Pop the element at an end, replying it as a bulk string first (the
 * reply copies it before the delete frees the engine's bytes). The caller
 * saves m. */
static int pop_one(resp_ctx *c, store_meta *m, int where)
{
    uint64_t at = where == LEFT ? m->head : m->tail - 1;
    ffdb_val v;
    int rc = elem_get(c, m, at, &v);

    if (rc == FFDB_NOTFOUND)
        return FFDB_CORRUPT; /* L1 */
    if (rc)
        return rc;
    reply_bulk(c->r, v.data, v.size);
    rc = elem_del(c, m, at);
    if (rc)
        return rc;
    if (where == LEFT)
        m->head++;
    else
        m->tail--;
    m->size--;
    return 0;
}

/* LPOP/RPOP key [count]: without count one element or nil; with count an
 * array of up to count elements, or a null array for a missing key. */
static int pop_generic(resp_ctx *c, int where)
{
    int64_t count = 1;
    store_meta m;
    int rc;

    if (c->argc > 3)
        return resp_err_arity(c->r, c->cmd);
    if (c->argc == 3 && (resp_parse_i64(c->argv[2].p, c->argv[2].n, &count) || count < 0)) {
        reply_error(c->r, "ERR value is out of range, must be positive");
        return 0;
    }
    rc = get_list(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND) {
        if (c->argc == 3)
            reply_null_array(c->r);
        else
            reply_null(c->r);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    if (c->argc == 3) {
        if ((uint64_t)count > m.size)
            count = (int64_t)m.size;
        reply_array(c->r, (size_t)count);
    }
    if (count == 0)
        return 0;
    for (int64_t i = 0; i < count; i++) {
        rc = pop_one(c, &m, where);
        if (rc)
            return rc;
    }
    return store_meta_save(c->st, &m); /* the last element takes the key along */
}

static int lpop_cmd(resp_ctx *c)
{
    return pop_generic(c, LEFT);
}

static int rpop_cmd(resp_ctx *c)
{
    return pop_generic(c, RIGHT);
}

/* LMOVE src dst LEFT|RIGHT LEFT|RIGHT and RPOPLPUSH src dst (RIGHT LEFT).
 * src == dst rotates one list, through one metadata record. */
static int move_generic(resp_ctx *c, int from, int to)
{
    const resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    int same = src->n == dst->n && memcmp(src->p, dst->p, src->n) == 0;
    store_meta sm, dm_own, *dm = same ? &sm : &dm_own;
    elem_buf b = {NULL, 0, 0};
    resp_arg moved;
    ffdb_val v;
    uint64_t at;
    int rc = get_list(c, src, &sm);

    if (rc == FFDB_NOTFOUND) {
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    if (!same) {
        rc = get_list(c, dst, dm);
        if (rc == FFDB_NOTFOUND)
            rc = store_meta_create(c->st, c->db, dst->p, dst->n, STORE_LIST, dm);
        if (rc)
            return redis_store_error(c, rc);
    }
    at = from == LEFT ? sm.head : sm.tail - 1;
    rc = elem_get(c, &sm, at, &v);
    if (rc == FFDB_NOTFOUND)
        rc = FFDB_CORRUPT;
    if (!rc)
        rc = elem_copy(&b, &v);
    if (!rc)
        rc = elem_del(c, &sm, at);
    if (!rc) {
        if (from == LEFT)
            sm.head++;
        else
            sm.tail--;
        sm.size--;
        moved.p = b.p ? b.p : "";
        moved.n = b.n;
        rc = push_one(c, dm, to, &moved);
    }
    if (!rc && !same)
        rc = store_meta_save(c->st, &sm);
    if (!rc)
        rc = store_meta_save(c->st, dm);
    if (!rc)
        reply_bulk(c->r, moved.p, moved.n);
    free(b.p);
    return rc;
}

static int rpoplpush_cmd(resp_ctx *c)
{
    return move_generic(c, RIGHT, LEFT);
}

static int lmove_cmd(resp_ctx *c)
{
    int from = side_arg(&c->argv[3]), to = side_arg(&c->argv[4]);

    if (from < 0 || to < 0)
        return resp_err_syntax(c->r);
    return move_generic(c, from, to);
}

/* ---- reading --------------------------------------------------------------------------------- */

static int llen_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = get_list(c, &c->argv[1], &m);

    return redis_reply_size(c, rc, &m);
}

/* The position an index argument names in m (negative from the end); 0 if
 * it is outside the list. */
static int position(const store_meta *m, int64_t index, uint64_t *pos)
{
    if (index < 0)
        index += (int64_t)m->size;
    if (index < 0 || (uint64_t)index >= m->size)
        return 0;
    *pos = (uint64_t)index;
    return 1;
}

static int lindex_cmd(resp_ctx *c)
{
    store_meta m;
    int64_t index;
    uint64_t pos;
    ffdb_val v;
    int rc = get_list(c, &c->argv[1], &m);

    if (rc == FFDB_NOTFOUND) { /* the key is looked at first, as in Redis */
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    if (resp_arg_i64(c->r, &c->argv[2], &index))
        return 0;
    if (!position(&m, index, &pos)) {
        reply_null(c->r);
        return 0;
    }
    rc = elem_get(c, &m, m.head + pos, &v);
    if (rc)
        return rc == FFDB_NOTFOUND ? FFDB_CORRUPT : rc;
    reply_bulk(c->r, v.data, v.size);
    return 0;
}

static int lrange_cmd(resp_ctx *c)
{
    int64_t start, end;
    uint64_t s, e;
    store_meta m;
    store_iter *it;
    uint8_t k[8];
    ffdb_val f, v;
    int rc;

    if (resp_arg_i64(c->r, &c->argv[2], &start) || resp_arg_i64(c->r, &c->argv[3], &end))
        return 0;
    rc = get_list(c, &c->argv[1], &m);
    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    if (rc || !redis_clamp_range(start, end, m.size, &s, &e)) {
        reply_array(c->r, 0);
        return 0;
    }
    rc = store_iter_open(c->st, &m, STORE_SUB, &it);
    if (rc)
        return rc;
    reply_array(c->r, (size_t)(e - s + 1));
    store_list_index_encode(m.head + (uint64_t)s, k);
    rc = store_iter_seek(it, k, 8, &f, &v);
    for (uint64_t i = s; rc == 0 && i <= e && !c->r->out->overflow; i++) {
        reply_bulk(c->r, v.data, v.size);
        if (i < e)
            rc = store_iter_next(it, &f, &v);
    }
    store_iter_close(it);
    return rc == FFDB_NOTFOUND ? FFDB_CORRUPT : rc; /* L1: the range is there */
}

/* LPOS key element [RANK rank] [COUNT num] [MAXLEN len], with Redis's
 * arithmetic (including RANK -9223372036854775808, which Redis 7.0 takes as
 * "every match from the tail"). */
static int lpos_cmd(resp_ctx *c)
{
    const resp_arg *ele = &c->argv[2];
    int64_t rank = 1, count = -1, maxlen = 0, matches = 0, index = 0, found = -1;
    uint64_t urank;
    int from_tail = 0, rc;
    size_t replied = 0;
    store_meta m;
    store_iter *it;
    ffdb_val f, v;
    resp_defer d = 0;

    for (int j = 3; j < c->argc; j++) {
        const resp_arg *opt = &c->argv[j];
        int more = j + 1 < c->argc;
        if (resp_arg_is(opt, "rank") && more) {
            if (resp_arg_i64(c->r, &c->argv[++j], &rank))
                return 0;
            if (rank == 0) {
                reply_error(c->r, "ERR RANK can't be zero: use 1 to start from the first match, 2 "
                                  "from the second ... or use negative to start from the end of "
                                  "the list");
                return 0;
            }
        } else if (resp_arg_is(opt, "count") && more) {
            if (resp_parse_i64(c->argv[j + 1].p, c->argv[j + 1].n, &count) || count < 0) {
                reply_error(c->r, "ERR COUNT can't be negative");
                return 0;
            }
            j++;
        } else if (resp_arg_is(opt, "maxlen") && more) {
            if (resp_parse_i64(c->argv[j + 1].p, c->argv[j + 1].n, &maxlen) || maxlen < 0) {
                reply_error(c->r, "ERR MAXLEN can't be negative");
                return 0;
            }
            j++;
        } else {
            return resp_err_syntax(c->r);
        }
    }
    if (rank < 0) {
        from_tail = 1;
        rank = (int64_t)(0 - (uint64_t)rank); /* INT64_MIN stays negative, as in Redis */
    }
    urank = (uint64_t)rank;
    rc = get_list(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND)
        return redis_reply_missing(c, count != -1);
    if (rc)
        return redis_store_error(c, rc);
    rc = store_iter_open(c->st, &m, STORE_SUB, &it);
    if (rc)
        return rc;
    if (count != -1)
        d = reply_defer(c->r);
    rc = from_tail ? store_iter_last(it, &f, &v) : store_iter_first(it, &f, &v);
    for (; rc == 0 && (maxlen == 0 || index < maxlen); index++) {
        if (v.size == ele->n && memcmp(v.data, ele->p, ele->n) == 0) {
            matches++;
            found = from_tail ? (int64_t)m.size - index - 1 : index;
            if (matches >= rank) {
                if (count == -1)
                    break;
                reply_int(c->r, found);
                replied++;
                /* matches - rank + 1 >= count, wrapping like Redis's longs */
                if (count && (int64_t)((uint64_t)matches - urank + 1) >= count)
                    break;
            }
        }
        found = -1;
        rc = from_tail ? store_iter_prev(it, &f, &v) : store_iter_next(it, &f, &v);
    }
    store_iter_close(it);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    if (count != -1)
        reply_defer_array(c->r, d, replied);
    else if (found != -1)
        reply_int(c->r, found);
    else
        reply_null(c->r);
    return 0;
}

/* ---- changing the middle --------------------------------------------------------------------- */

static int lset_cmd(resp_ctx *c)
{
    store_meta m;
    int64_t index;
    uint64_t pos;
    int rc = get_list(c, &c->argv[1], &m);

    if (rc == FFDB_NOTFOUND)
        return resp_err_no_key(c->r);
    if (rc)
        return redis_store_error(c, rc);
    if (resp_arg_i64(c->r, &c->argv[2], &index))
        return 0;
    if (!position(&m, index, &pos)) {
        reply_error(c->r, "ERR index out of range");
        return 0;
    }
    rc = elem_put(c, &m, m.head + pos, c->argv[3].p, c->argv[3].n);
    if (rc)
        return rc;
    reply_ok(c->r);
    return 0;
}

/* Make room at position q (0..size) and store v there, moving the shorter
 * side of the list by one index (L1). */
static int insert_at(resp_ctx *c, store_meta *m, uint64_t q, const resp_arg *v)
{
    elem_buf b = {NULL, 0, 0};
    int rc = 0;

    if (q <= m->size - q) { /* the first q elements move left */
        for (uint64_t j = 0; j < q && !rc; j++)
            rc = elem_move(c, m, &b, m->head + j, m->head + j - 1);
        if (!rc)
            rc = elem_put(c, m, m->head + q - 1, v->p, v->n);
        if (!rc)
            m->head--;
    } else { /* the last size - q elements move right, the last first */
        for (uint64_t j = m->size; j > q && !rc; j--)
            rc = elem_move(c, m, &b, m->head + j - 1, m->head + j);
        if (!rc)
            rc = elem_put(c, m, m->head + q, v->p, v->n);
        if (!rc)
            m->tail++;
    }
    free(b.p);
    if (!rc)
        m->size++;
    return rc;
}

/* LINSERT key BEFORE|AFTER pivot element: the new length, -1 without the
 * pivot, 0 without the key. */
static int linsert_cmd(resp_ctx *c)
{
    const resp_arg *pivot = &c->argv[3];
    int after;
    store_meta m;
    store_iter *it;
    ffdb_val f, v;
    uint64_t pos = 0;
    int rc;

    if (resp_arg_is(&c->argv[2], "after"))
        after = 1;
    else if (resp_arg_is(&c->argv[2], "before"))
        after = 0;
    else
        return resp_err_syntax(c->r);
    rc = get_list(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    rc = store_iter_open(c->st, &m, STORE_SUB, &it);
    if (rc)
        return rc;
    for (rc = store_iter_first(it, &f, &v); rc == 0; rc = store_iter_next(it, &f, &v), pos++)
        if (v.size == pivot->n && memcmp(v.data, pivot->p, pivot->n) == 0)
            break;
    store_iter_close(it);
    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, -1);
        return 0;
    }
    if (!rc)
        rc = insert_at(c, &m, pos + (uint64_t)after, &c->argv[4]);
    if (!rc)
        rc = store_meta_save(c->st, &m);
    if (rc)
        return rc;
    reply_int(c->r, (int64_t)m.size);
    return 0;
}

/* LREM key count element: remove up to |count| matches from the head
 * (count > 0) or the tail (count < 0), or all (0). The survivors behind the
 * first removed element move up to close the gaps; the indexes left over at
 * the end are deleted (L1). */
static int lrem_cmd(resp_ctx *c)
{
    const resp_arg *ele = &c->argv[3];
    elem_buf b = {NULL, 0, 0};
    int64_t count;
    uint64_t removed = 0, limit, n, w;
    store_meta m;
    int rc, back;

    if (resp_arg_i64(c->r, &c->argv[2], &count))
        return 0;
    rc = get_list(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    back = count < 0;
    limit = count == 0 ? UINT64_MAX : back ? 0 - (uint64_t)count : (uint64_t)count;
    n = m.size;
    /* Positions are counted from the end we start at; w is where the next
     * survivor goes. */
    w = 0;
    for (uint64_t i = 0; i < n && !rc; i++) {
        uint64_t at = back ? m.tail - 1 - i : m.head + i;
        ffdb_val v;
        rc = elem_get(c, &m, at, &v);
        if (rc == FFDB_NOTFOUND)
            rc = FFDB_CORRUPT;
        if (rc)
            break;
        if (removed < limit && v.size == ele->n && memcmp(v.data, ele->p, ele->n) == 0) {
            removed++;
            continue;
        }
        if (removed) {
            rc = elem_copy(&b, &v);
            if (!rc)
                rc = elem_put(c, &m, back ? m.tail - 1 - w : m.head + w, b.p, b.n);
        }
        w++;
    }
    free(b.p);
    for (uint64_t i = w; i < n && !rc; i++) /* the stale end */
        rc = elem_del(c, &m, back ? m.tail - 1 - i : m.head + i);
    if (rc)
        return rc;
    if (removed) {
        if (back)
            m.head += removed;
        else
            m.tail -= removed;
        m.size -= removed;
        rc = store_meta_save(c->st, &m);
        if (rc)
            return rc;
    }
    reply_int(c->r, (int64_t)removed);
    return 0;
}

/* LTRIM key start stop: keep [start, stop]. */
static int ltrim_cmd(resp_ctx *c)
{
    int64_t start, end;
    uint64_t s, e;
    store_meta m;
    int rc;

    if (resp_arg_i64(c->r, &c->argv[2], &start) || resp_arg_i64(c->r, &c->argv[3], &end))
        return 0;
    rc = get_list(c, &c->argv[1], &m);
    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    if (rc == 0 && !redis_clamp_range(start, end, m.size, &s, &e)) {
        /* Everything goes: O(1), the sweeper takes the elements (S4). */
        rc = store_key_delete(c->st, c->db, c->argv[1].p, c->argv[1].n, NULL);
    } else if (rc == 0) {
        uint64_t keep_from = m.head + (uint64_t)s, keep_to = m.head + (uint64_t)e + 1;
        for (uint64_t i = m.head; i < keep_from && !rc; i++)
            rc = elem_del(c, &m, i);
        for (uint64_t i = keep_to; i < m.tail && !rc; i++)
            rc = elem_del(c, &m, i);
        if (!rc && (keep_from != m.head || keep_to != m.tail)) {
            m.head = keep_from;
            m.tail = keep_to;
            m.size = keep_to - keep_from;
            rc = store_meta_save(c->st, &m);
        }
    } else {
        rc = 0;
    }
    if (rc)
        return rc;
    reply_ok(c->r);
    return 0;
}

#define W (RESP_CMD_WRITE | RESP_CMD_DENYOOM)
#define R RESP_CMD_READONLY
#define F RESP_CMD_FAST

const resp_command redis_cmds_list[] = {
    {"lpush", lpush_cmd, -3, W | F, 1, 1, 1, "list", "Prepend one or multiple elements to a list"},
    {"rpush", rpush_cmd, -3, W | F, 1, 1, 1, "list", "Append one or multiple elements to a list"},
    {"lpushx", lpushx_cmd, -3, W | F, 1, 1, 1, "list",
     "Prepend an element to a list, only if the list exists"},
    {"rpushx", rpushx_cmd, -3, W | F, 1, 1, 1, "list",
     "Append an element to a list, only if the list exists"},
    {"lpop", lpop_cmd, -2, RESP_CMD_WRITE | F, 1, 1, 1, "list",
     "Remove and get the first elements in a list"},
    {"rpop", rpop_cmd, -2, RESP_CMD_WRITE | F, 1, 1, 1, "list",
     "Remove and get the last elements in a list"},
    {"rpoplpush", rpoplpush_cmd, 3, W, 1, 2, 1, "list",
     "Remove the last element in a list, prepend it to another list and return it"},
    {"lmove", lmove_cmd, 5, W, 1, 2, 1, "list",
     "Pop an element from a list, push it to another list and return it"},
    {"llen", llen_cmd, 2, R | F, 1, 1, 1, "list", "Get the length of a list"},
    {"lindex", lindex_cmd, 3, R, 1, 1, 1, "list", "Get an element from a list by its index"},
    {"lrange", lrange_cmd, 4, R, 1, 1, 1, "list", "Get a range of elements from a list"},
    {"lpos", lpos_cmd, -3, R, 1, 1, 1, "list", "Return the index of matching elements on a list"},
    {"lset", lset_cmd, 4, W, 1, 1, 1, "list", "Set the value of an element in a list by its index"},
    {"linsert", linsert_cmd, 5, W, 1, 1, 1, "list",
     "Insert an element before or after another element in a list"},
    {"lrem", lrem_cmd, 4, RESP_CMD_WRITE, 1, 1, 1, "list", "Remove elements from a list"},
    {"ltrim", ltrim_cmd, 4, RESP_CMD_WRITE, 1, 1, 1, "list", "Trim a list to the specified range"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
