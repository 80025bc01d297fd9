/*
 * cmd_zset.c — the sorted set commands: ZADD (NX XX GT LT CH INCR) ZINCRBY
 * ZREM ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZCOUNT ZLEXCOUNT ZRANGE (BYSCORE
 * BYLEX REV LIMIT WITHSCORES) ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE
 * ZRANGEBYLEX ZREVRANGEBYLEX ZREMRANGEBYRANK ZREMRANGEBYSCORE
 * ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZRANDMEMBER ZUNION ZINTER ZDIFF ZINTERCARD
 * ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZRANGESTORE ZSCAN.
 *
 * A sorted set lives twice (store.h): in the sub space, member -> score
 * (8 bytes, store_score_encode), for ZSCORE and membership, and in the
 * zscore index, score|member with no value, which orders the elements as
 * Redis does (by score, then member bytes). Score ranges seek in the index
 * (-inf and +inf are ordinary encodings there); ranks walk it from the
 * nearer end, O(rank), since nothing stores subtree counts. The two spaces
 * change together in zset_put/zset_del and nowhere else (Z1: every member
 * has exactly one sub entry and one index entry with the same score).
 *
 * Lexical ranges follow what Redis does for its small (listpack) sets,
 * which is what it documents when all scores are equal and a defined walk
 * when they are not: elements are visited in index order, the first one at
 * or above min starts the range (if it is also at or below max) and the
 * range ends at the first element above max. When the first and last
 * scores are equal (the documented use) the start is found by a seek.
 *
 * Scores are written with reply_double (RESP3 doubles, RESP2 bulk strings).
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "modules/redis/cmd.h"

/* A live sorted set: 0, FFDB_NOTFOUND, STORE_EWRONGTYPE or an engine code. */
static int get_zset(resp_ctx *c, const resp_arg *key, store_meta *m)
{
    return store_lookup_type(c->st, c->db, key->p, key->n, STORE_ZSET, m);
}

/* A member's score: 0, FFDB_NOTFOUND (also for a member too long to be
 * there), or an engine code. */
int redis_zset_score(resp_ctx *c, const store_meta *m, const void *p, size_t n, double *score)
{
    ffdb_val v;
    int rc;

    if (n > STORE_MAX_FIELD)
        return FFDB_NOTFOUND;
    rc = store_sub_get(c->st, m, p, n, &v);
    if (rc)
        return rc;
    if (v.size != 8)
        return FFDB_CORRUPT;
    *score = store_score_decode(v.data);
    return 0;
}

/* Set a member's score (Z1); old is its current score if had_old. The
 * caller counts m->size and saves m. */
static int zset_put(resp_ctx *c, const store_meta *m, const void *p, size_t n, double score,
                    int had_old, double old)
{
    uint8_t enc[8];
    int rc = had_old ? store_zscore_del(c->st, m, old, p, n) : 0;

    store_score_encode(score, enc);
    if (!rc)
        rc = store_zscore_put(c->st, m, score, p, n);
    if (!rc)
        rc = store_sub_put(c->st, m, p, n, enc, 8);
    return rc;
}

/* Remove a member whose score is known (Z1); the caller counts and saves. */
static int zset_del(resp_ctx *c, const store_meta *m, const void *p, size_t n, double score)
{
    int rc = store_zscore_del(c->st, m, score, p, n);
    return rc ? rc : store_sub_del(c->st, m, p, n, NULL);
}

/* One element in a reply: member, and its score if asked (RESP3 pairs them
 * in a 2-element array, RESP2 writes them one after the other). */
static void reply_elem(resp_reply *r, const void *p, size_t n, double score, int withscores)
{
    if (withscores && r->proto >= 3)
        reply_array(r, 2);
    reply_bulk(r, p, n);
    if (withscores)
        reply_double(r, score);
}

/* The header of a reply of n elements (see reply_elem). */
static void reply_elems_header(resp_reply *r, size_t n, int withscores)
{
    reply_array(r, withscores && r->proto < 3 ? 2 * n : n);
}

static void reply_elems_defer(resp_reply *r, resp_defer d, size_t n, int withscores)
{
    reply_defer_array(r, d, withscores && r->proto < 3 ? 2 * n : n);
}

/* ---- ZADD ZINCRBY ------------------------------------------------------------------------- */

enum { Z_NX = 1, Z_XX = 2, Z_GT = 4, Z_LT = 8, Z_CH = 16, Z_INCR = 32 };

/* Redis's zsetAdd for one member: the outcome and the score it ends with. */
enum { ADD_NOP, ADD_ADDED, ADD_UPDATED, ADD_SAME };

static int zadd_one(resp_ctx *c, store_meta *m, unsigned flags, double score, const resp_arg *mem,
                    int *outcome, double *newscore)
{
    double cur;
    int rc = redis_zset_score(c, m, mem->p, mem->n, &cur);

    *outcome = ADD_NOP;
    if (rc == FFDB_NOTFOUND) {
        if (flags & Z_XX)
            return 0;
        rc = zset_put(c, m, mem->p, mem->n, score, 0, 0);
        if (rc)
            return rc;
        m->size++;
        *outcome = ADD_ADDED;
        *newscore = score;
        return 0;
    }
    if (rc)
        return rc;
    if (flags & Z_NX)
        return 0;
    if (flags & Z_INCR)
        score += cur; /* NaN was ruled out by the caller */
    if (((flags & Z_LT) && score >= cur) || ((flags & Z_GT) && score <= cur))
        return 0;
    *newscore = score;
    *outcome = ADD_SAME;
    if (score == cur)
        return 0;
    *outcome = ADD_UPDATED;
    return zset_put(c, m, mem->p, mem->n, score, 1, cur);
}

/* The options, scores and members of ZADD (ZINCRBY: incr_only), checked
 * in Redis's order. *scores is malloc'd. 0, 1 after an error reply, or
 * FFDB_ENOMEM. */
static int zadd_parse(resp_ctx *c, int incr_only, unsigned *flags, int *at, int *pairs,
                      double **scores)
{
    static const char *const names[] = {"nx", "xx", "gt", "lt", "ch", "incr"}; /* Z_ bits */

    *flags = incr_only ? Z_INCR : 0;
    for (*at = 2; !incr_only && *at < c->argc; ++*at) {
        int k;
        for (k = 0; k < 6 && !resp_arg_is(&c->argv[*at], names[k]); k++)
            ;
        if (k == 6)
            break;
        *flags |= 1u << k;
    }
    *pairs = (c->argc - *at) / 2;
    if ((c->argc - *at) % 2 || *pairs == 0)
        return resp_err_syntax(c->r), 1;
    if ((*flags & Z_NX) && (*flags & Z_XX)) {
        reply_error(c->r, "ERR XX and NX options at the same time are not compatible");
        return 1;
    }
    if (((*flags & Z_NX) && (*flags & (Z_GT | Z_LT))) || ((*flags & Z_GT) && (*flags & Z_LT))) {
        reply_error(c->r, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return 1;
    }
    if ((*flags & Z_INCR) && *pairs > 1) {
        reply_error(c->r, "ERR INCR option supports a single increment-element pair");
        return 1;
    }
    *scores = malloc(sizeof(**scores) * (size_t)*pairs);
    if (!*scores)
        return FFDB_ENOMEM;
    for (int j = 0; j < *pairs; j++)
        if (resp_arg_double(c->r, &c->argv[*at + 2 * j], &(*scores)[j]))
            return 1;
    for (int j = 0; j < *pairs; j++)
        if (c->argv[*at + 2 * j + 1].n > STORE_MAX_FIELD)
            return redis_store_error(c, STORE_EFIELDLEN), 1;
    return 0;
}

/* ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...] and
 * ZINCRBY key increment member (incr_only). */
static int zadd_generic(resp_ctx *c, int incr_only)
{
    unsigned flags;
    int at, pairs, rc;
    double *scores = NULL, last = 0;
    int64_t added = 0, updated = 0, processed = 0;
    store_meta m;

    rc = zadd_parse(c, incr_only, &flags, &at, &pairs, &scores);
    if (!rc) {
        rc = get_zset(c, &c->argv[1], &m);
        if (rc == FFDB_NOTFOUND && (flags & Z_XX))
            pairs = 0, rc = 0; /* nothing to do, and no key to create */
        else if (rc == FFDB_NOTFOUND)
            rc = store_meta_create(c->st, c->db, c->argv[1].p, c->argv[1].n, STORE_ZSET, &m);
        if (rc < 0 && redis_store_error(c, rc) == 0)
            rc = 1; /* WRONGTYPE or key too long: replied */
    }
    if (!rc && (flags & Z_INCR) && pairs == 1) {
        /* The one error INCR can meet after parsing, found before writing. */
        double cur;
        int frc = redis_zset_score(c, &m, c->argv[at + 1].p, c->argv[at + 1].n, &cur);
        if (frc && frc != FFDB_NOTFOUND) {
            rc = frc;
        } else if (frc == 0 && !(flags & Z_NX) && isnan(cur + scores[0])) {
            reply_error(c->r, "ERR resulting score is not a number (NaN)");
            rc = 1;
        }
    }
    for (int j = 0; j < pairs && !rc; j++) {
        int outcome;
        rc = zadd_one(c, &m, flags, scores[j], &c->argv[at + 2 * j + 1], &outcome, &last);
        added += outcome == ADD_ADDED;
        updated += outcome == ADD_UPDATED;
        processed += outcome != ADD_NOP;
    }
    free(scores);
    if (!rc && pairs && (added || !m.saved))
        rc = store_meta_save(c->st, &m);
    if (rc)
        return rc > 0 ? 0 : rc;
    if (!(flags & Z_INCR))
        reply_int(c->r, (flags & Z_CH) ? added + updated : added);
    else if (processed)
        reply_double(c->r, last);
    else
        reply_null(c->r);
    return 0;
}

static int zadd_cmd(resp_ctx *c)
{
    return zadd_generic(c, 0);
}

static int zincrby_cmd(resp_ctx *c)
{
    return zadd_generic(c, 1);
}

/* ---- single members ----------------------------------------------------------------------- */

static int zrem_cmd(resp_ctx *c)
{
    store_meta m;
    int64_t removed = 0;
    int rc = get_zset(c, &c->argv[1], &m);

    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    for (int i = 2; i < c->argc && m.size > 0; i++) {
        double score;
        rc = redis_zset_score(c, &m, c->argv[i].p, c->argv[i].n, &score);
        if (rc == FFDB_NOTFOUND)
            continue;
        if (!rc)
            rc = zset_del(c, &m, c->argv[i].p, c->argv[i].n, score);
        if (rc)
            return rc;
        removed++;
        m.size--;
    }
    return redis_reply_removed(c, &m, removed);
}

static int zcard_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = get_zset(c, &c->argv[1], &m);

    return redis_reply_size(c, rc, &m);
}

static int zscore_cmd(resp_ctx *c)
{
    store_meta m;
    double score;
    int rc = get_zset(c, &c->argv[1], &m);

    if (rc == 0)
        rc = redis_zset_score(c, &m, c->argv[2].p, c->argv[2].n, &score);
    if (rc == FFDB_NOTFOUND) {
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    reply_double(c->r, score);
    return 0;
}

static int zmscore_cmd(resp_ctx *c)
{
    store_meta m;
    int rc = get_zset(c, &c->argv[1], &m), exists = rc == 0;

    if (rc && rc != FFDB_NOTFOUND)
        return redis_store_error(c, rc);
    reply_array(c->r, (size_t)c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        double score;
        rc = exists ? redis_zset_score(c, &m, c->argv[i].p, c->argv[i].n, &score) : FFDB_NOTFOUND;
        if (rc == 0)
            reply_double(c->r, score);
        else if (rc == FFDB_NOTFOUND)
            reply_null(c->r);
        else
            return rc;
    }
    return 0;
}

/* ZRANK / ZREVRANK: walk the index from the start to the member's entry. */
static int zrank_generic(resp_ctx *c, int rev)
{
    const resp_arg *mem = &c->argv[2];
    store_meta m;
    store_iter *it;
    ffdb_val f, v, member;
    double score;
    uint64_t rank = 0;
    int rc = get_zset(c, &c->argv[1], &m);

    if (rc == 0)
        rc = redis_zset_score(c, &m, mem->p, mem->n, &score);
    if (rc == FFDB_NOTFOUND) {
        reply_null(c->r);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    rc = store_iter_open(c->st, &m, STORE_ZSCORE, &it);
    if (rc)
        return rc;
    for (rc = store_iter_first(it, &f, &v); rc == 0; rc = store_iter_next(it, &f, &v), rank++) {
        double s;
        rc = store_zscore_split(&f, &s, &member);
        if (rc || (s == score && member.size == mem->n && memcmp(member.data, mem->p, mem->n) == 0))
            break;
    }
    store_iter_close(it);
    if (rc)
        return rc == FFDB_NOTFOUND ? FFDB_CORRUPT : rc; /* Z1: the entry is there */
    reply_int(c->r, (int64_t)(rev ? m.size - 1 - rank : rank));
    return 0;
}

static int zrank_cmd(resp_ctx *c)
{
    return zrank_generic(c, 0);
}

static int zrevrank_cmd(resp_ctx *c)
{
    return zrank_generic(c, 1);
}

/* ---- ranges: parsing ---------------------------------------------------------------------- */

/* A score interval, as Redis's zrangespec. */
typedef struct score_range {
    double min, max;
    int minex, maxex;
} score_range;

/* One end: "(" for exclusive, then what strtod reads to the end (Redis's
 * zslParseRange: "" is 0, "inf" and "-inf" are fine, NaN is not). */
static int parse_score_bound(const resp_arg *a, double *out, int *ex)
{
    char buf[256], *s = buf, *end;
    const char *p = a->p;
    size_t n = a->n;
    double d;

    *ex = n > 0 && p[0] == '(';
    p += *ex;
    n -= (size_t)*ex;
    if (n >= sizeof(buf) && !(s = malloc(n + 1)))
        return -1;
    memcpy(s, p, n);
    s[n] = '\0';
    d = strtod(s, &end);
    n = *end != '\0' || isnan(d);
    if (s != buf)
        free(s);
    if (n)
        return -1;
    *out = d;
    return 0;
}

static int parse_score_range(const resp_arg *min, const resp_arg *max, score_range *r)
{
    return parse_score_bound(min, &r->min, &r->minex) || parse_score_bound(max, &r->max, &r->maxex)
               ? -1
               : 0;
}

static int score_gte_min(const score_range *r, double s)
{
    return r->minex ? s > r->min : s >= r->min;
}

static int score_lte_max(const score_range *r, double s)
{
    return r->maxex ? s < r->max : s <= r->max;
}

/* A lexical bound: "-" (below everything), "+" (above everything), or
 * "[" / "(" and the bytes. */
enum { LEX_NEG, LEX_POS, LEX_STR };

typedef struct lex_bound {
    int kind;
    int ex;
    const char *p;
    size_t n;
} lex_bound;

typedef struct lex_range {
    lex_bound min, max;
} lex_range;

static int parse_lex_bound(const resp_arg *a, lex_bound *b)
{
    b->p = a->p + 1;
    b->n = a->n ? a->n - 1 : 0;
    b->ex = 1;
    if (a->n == 1 && a->p[0] == '-')
        b->kind = LEX_NEG;
    else if (a->n == 1 && a->p[0] == '+')
        b->kind = LEX_POS;
    else if (a->n >= 1 && (a->p[0] == '(' || a->p[0] == '['))
        b->kind = LEX_STR, b->ex = a->p[0] == '(';
    else
        return -1;
    return 0;
}

static int parse_lex_range(const resp_arg *min, const resp_arg *max, lex_range *r)
{
    return parse_lex_bound(min, &r->min) || parse_lex_bound(max, &r->max) ? -1 : 0;
}

/* Redis's sdscmplex: bytes, with "-" below and "+" above every string. */
static int lex_cmp(const lex_bound *a, const void *p, size_t n)
{
    int d;

    if (a->kind != LEX_STR)
        return a->kind == LEX_NEG ? -1 : 1;
    d = memcmp(a->p, p, a->n < n ? a->n : n);
    return d ? d : (a->n > n) - (a->n < n);
}

static int lex_gte_min(const lex_range *r, const ffdb_val *m)
{
    int d = lex_cmp(&r->min, m->data, m->size); /* min ? member */
    return r->min.ex ? d < 0 : d <= 0;
}

static int lex_lte_max(const lex_range *r, const ffdb_val *m)
{
    int d = lex_cmp(&r->max, m->data, m->size);
    return r->max.ex ? d > 0 : d >= 0;
}

/* An interval that holds nothing whatever the set (zslIsInLexRange). */
static int lex_range_empty(const lex_range *r)
{
    int d;

    if (r->min.kind == r->max.kind && r->min.kind != LEX_STR)
        d = 0;
    else if (r->min.kind == LEX_NEG || r->max.kind == LEX_POS)
        d = -1;
    else if (r->min.kind == LEX_POS || r->max.kind == LEX_NEG)
        d = 1;
    else
        d = -lex_cmp(&r->max, r->min.p, r->min.n);
    return d > 0 || (d == 0 && (r->min.ex || r->max.ex));
}

/* ---- ranges: walking the index ------------------------------------------------------------- */

/* The element an index walk stands on. */
typedef struct zpos {
    ffdb_val f, v;   /* as the iterator returned them */
    double score;    /* split out of f */
    ffdb_val member; /* points into f */
} zpos;

static int zpos_split(int rc, zpos *z)
{
    return rc ? rc : store_zscore_split(&z->f, &z->score, &z->member);
}

static int z_first(store_iter *it, zpos *z)
{
    return zpos_split(store_iter_first(it, &z->f, &z->v), z);
}

static int z_last(store_iter *it, zpos *z)
{
    return zpos_split(store_iter_last(it, &z->f, &z->v), z);
}

static int z_next(store_iter *it, zpos *z)
{
    return zpos_split(store_iter_next(it, &z->f, &z->v), z);
}

static int z_prev(store_iter *it, zpos *z)
{
    return zpos_split(store_iter_prev(it, &z->f, &z->v), z);
}

static int z_step(store_iter *it, zpos *z, int rev)
{
    return rev ? z_prev(it, z) : z_next(it, z);
}

/* Stand on the element of ascending rank `rank` (< size), walking from the
 * nearer end. */
static int z_seek_rank(store_iter *it, uint64_t size, uint64_t rank, zpos *z)
{
    int rc;

    if (rank <= size / 2) {
        rc = z_first(it, z);
        for (uint64_t i = 0; i < rank && !rc; i++)
            rc = z_next(it, z);
    } else {
        rc = z_last(it, z);
        for (uint64_t i = size - 1; i > rank && !rc; i--)
            rc = z_prev(it, z);
    }
    return rc;
}

/* 8 big-endian bytes plus or minus one (the next or previous encoded
 * score; encodings never reach the all-zero or all-one words). */
static void be_step(uint8_t k[8], int up)
{
    for (int i = 7; i >= 0; i--) {
        k[i] = (uint8_t)(k[i] + (up ? 1 : -1));
        if (k[i] != (up ? 0 : 0xff))
            break;
    }
}

/* Stand on the first element at or above the range's min (forward), or
 * the last at or below its max (rev). FFDB_NOTFOUND if there is none; the
 * other end is the caller's to check. */
static int z_seek_score(store_iter *it, const score_range *r, int rev, zpos *z)
{
    uint8_t k[8 + STORE_MAX_FIELD];

    if (!rev) {
        store_score_encode(r->min, k);
        if (r->minex)
            be_step(k, 1); /* past every member of that score */
        return zpos_split(store_iter_seek(it, k, 8, &z->f, &z->v), z);
    }
    store_score_encode(r->max, k);
    if (r->maxex)
        be_step(k, 0);
    memset(k + 8, 0xff, STORE_MAX_FIELD); /* above every member of that score */
    return zpos_split(store_iter_seek_le(it, k, sizeof(k), &z->f, &z->v), z);
}

/* 1 if z is inside the range at the end the walk goes towards. */
static int score_in(const score_range *r, const zpos *z, int rev)
{
    return rev ? score_gte_min(r, z->score) : score_lte_max(r, z->score);
}

static int score_range_empty(const score_range *r)
{
    return r->min > r->max || (r->min == r->max && (r->minex || r->maxex));
}

/* Stand where a lexical walk starts (module comment): the first element,
 * in index order, at or above min, if it is at or below max (forward); the
 * last at or below max, if it is at or above min (rev). FFDB_NOTFOUND if the
 * walk is empty. */
static int z_seek_lex(store_iter *it, const lex_range *r, int rev, zpos *z)
{
    uint8_t k[8 + STORE_MAX_FIELD];
    const lex_bound *b = rev ? &r->max : &r->min;
    int rc, same;

    if (lex_range_empty(r))
        return FFDB_NOTFOUND;
    rc = z_last(it, z);
    if (rc || !lex_gte_min(r, &z->member))
        return rc ? rc : FFDB_NOTFOUND;
    memcpy(k, z->f.data, 8);
    rc = z_first(it, z);
    if (rc || !lex_lte_max(r, &z->member))
        return rc ? rc : FFDB_NOTFOUND;
    same = memcmp(k, z->f.data, 8) == 0; /* one score: members are in order */
    if (same && b->kind == LEX_STR) {
        size_t n = b->n < STORE_MAX_FIELD ? b->n : STORE_MAX_FIELD;
        memcpy(k + 8, b->p, n);
        if (!rev) {
            rc = zpos_split(store_iter_seek(it, k, 8 + n, &z->f, &z->v), z);
        } else {
            /* A bound cut to STORE_MAX_FIELD bytes is at or below it, and
             * no member of that length or less lies between the two. */
            rc = zpos_split(store_iter_seek_le(it, k, 8 + n, &z->f, &z->v), z);
        }
    } else if (rev) {
        rc = z_last(it, z);
    }
    /* The rest of the way one element at a time (the seek only shortened it). */
    while (!rc && !(rev ? lex_lte_max(r, &z->member) : lex_gte_min(r, &z->member)))
        rc = z_step(it, z, rev);
    if (!rc && !(rev ? lex_gte_min(r, &z->member) : lex_lte_max(r, &z->member)))
        rc = FFDB_NOTFOUND;
    return rc;
}

static int lex_in(const lex_range *r, const zpos *z, int rev)
{
    return rev ? lex_gte_min(r, &z->member) : lex_lte_max(r, &z->member);
}

/* ---- ZRANGE and its older forms ----------------------------------------------------------- */

enum { BY_AUTO, BY_RANK, BY_SCORE, BY_LEX };
enum { DIR_AUTO, DIR_FWD, DIR_REV };

struct zsink;
static int zsink_add(resp_ctx *c, struct zsink *k, const uint8_t *p, size_t n, double score);

typedef struct zrange_req {
    int by, rev, withscores;
    int at;              /* argv index of the source key (2 for ZRANGESTORE) */
    struct zsink *sink;  /* ZRANGESTORE: the elements go here, not to the reply */
    int64_t start, end;    /* BY_RANK */
    score_range score;     /* BY_SCORE */
    lex_range lex;         /* BY_LEX */
    int64_t offset, limit; /* limit < 0: no limit */
} zrange_req;

/* The bounds lo hi of the range q->by names (ranks, scores or lex) into q.
 * 0, or 1 after an error reply. */
static int zrange_bounds(resp_ctx *c, const resp_arg *lo, const resp_arg *hi, zrange_req *q)
{
    if (q->by == BY_RANK && (resp_arg_i64(c->r, lo, &q->start) || resp_arg_i64(c->r, hi, &q->end)))
        return 1;
    if (q->by == BY_SCORE && parse_score_range(lo, hi, &q->score)) {
        reply_error(c->r, "ERR min or max is not a float");
        return 1;
    }
    if (q->by == BY_LEX && parse_lex_range(lo, hi, &q->lex)) {
        reply_error(c->r, "ERR min or max not valid string range item");
        return 1;
    }
    return 0;
}

/* Options and range of ZRANGE key a b [BYSCORE|BYLEX] [REV] [LIMIT o c]
 * [WITHSCORES] and of the older commands (by and dir preset), checked in
 * Redis's order. 0, or 1 after an error reply. */
static int zrange_parse(resp_ctx *c, int by, int dir, int at, zrange_req *q)
{
    const resp_arg *lo = &c->argv[at + 1], *hi = &c->argv[at + 2];

    memset(q, 0, sizeof(*q));
    q->limit = -1;
    q->at = at;
    for (int j = at + 3; j < c->argc; j++) {
        const resp_arg *a = &c->argv[j];
        if (at == 1 && resp_arg_is(a, "withscores")) {
            q->withscores = 1;
        } else if (resp_arg_is(a, "limit") && c->argc - j - 1 >= 2) {
            if (resp_arg_i64(c->r, &c->argv[j + 1], &q->offset) ||
                resp_arg_i64(c->r, &c->argv[j + 2], &q->limit))
                return 1;
            j += 2;
        } else if (dir == DIR_AUTO && resp_arg_is(a, "rev")) {
            dir = DIR_REV;
        } else if (by == BY_AUTO && resp_arg_is(a, "bylex")) {
            by = BY_LEX;
        } else if (by == BY_AUTO && resp_arg_is(a, "byscore")) {
            by = BY_SCORE;
        } else {
            return resp_err_syntax(c->r), 1;
        }
    }
    q->by = by == BY_AUTO ? BY_RANK : by;
    q->rev = dir == DIR_REV;
    /* Redis tells "no LIMIT" by a count of -1, so LIMIT 0 -1 passes here. */
    if (q->limit != -1 && q->by == BY_RANK) {
        reply_error(c->r, "ERR syntax error, LIMIT is only supported in combination with either "
                          "BYSCORE or BYLEX");
        return 1;
    }
    if (q->withscores && q->by == BY_LEX) {
        reply_error(c->r, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return 1;
    }
    if (q->rev && q->by != BY_RANK) { /* max comes first */
        lo = &c->argv[at + 2];
        hi = &c->argv[at + 1];
    }
    return zrange_bounds(c, lo, hi, q);
}

/* One element of a range: to the reply, or copied into ZRANGESTORE's sink. */
static int zrange_out(resp_ctx *c, const zrange_req *q, const zpos *z)
{
    if (q->sink)
        return zsink_add(c, q->sink, z->member.data, z->member.size, z->score);
    reply_elem(c->r, z->member.data, z->member.size, z->score, q->withscores);
    return 0;
}

/* Reply the elements of a score or lex range (offset, limit applied). */
static int zrange_walk(resp_ctx *c, const store_meta *m, store_iter *it, const zrange_req *q)
{
    resp_defer d = q->sink ? 0 : reply_defer(c->r);
    int64_t limit = q->limit;
    size_t n = 0;
    zpos z;
    int rc;

    if (q->offset < 0 || (q->by == BY_SCORE && score_range_empty(&q->score)))
        rc = FFDB_NOTFOUND;
    else if (q->offset > 0 && (uint64_t)q->offset >= m->size)
        rc = FFDB_NOTFOUND;
    else if (q->by == BY_SCORE)
        rc = z_seek_score(it, &q->score, q->rev, &z);
    else
        rc = z_seek_lex(it, &q->lex, q->rev, &z);
    /* As Redis: the offset skips elements without looking at the range. */
    for (int64_t i = 0; i < q->offset && !rc; i++)
        rc = z_step(it, &z, q->rev);
    while (!rc && limit-- != 0 && !c->r->out->overflow) {
        if (q->by == BY_SCORE ? !score_in(&q->score, &z, q->rev) : !lex_in(&q->lex, &z, q->rev))
            break;
        rc = zrange_out(c, q, &z);
        n++;
        if (!rc)
            rc = z_step(it, &z, q->rev);
    }
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    if (!q->sink)
        reply_elems_defer(c->r, d, n, q->withscores);
    return 0;
}

/* The range of q (parsed) of the sorted set at argv[q->at]: replied, or
 * with q->sink collected there. 1 after an error reply (WRONGTYPE). */
static int zrange_run(resp_ctx *c, zrange_req *q)
{
    store_meta m;
    store_iter *it;
    uint64_t s = 0, e = 0;
    zpos z;
    int rc;

    rc = get_zset(c, &c->argv[q->at], &m);
    if (rc == FFDB_NOTFOUND || (rc == 0 && q->by == BY_RANK &&
                                !redis_clamp_range(q->start, q->end, m.size, &s, &e))) {
        if (!q->sink)
            reply_array(c->r, 0);
        return 0;
    }
    if (rc) {
        rc = redis_store_error(c, rc);
        return rc ? rc : 1;
    }
    rc = store_iter_open(c->st, &m, STORE_ZSCORE, &it);
    if (rc)
        return rc;
    if (q->by != BY_RANK) {
        rc = zrange_walk(c, &m, it, q);
    } else {
        if (!q->sink)
            reply_elems_header(c->r, (size_t)(e - s + 1), q->withscores);
        rc = z_seek_rank(it, m.size, q->rev ? m.size - 1 - s : s, &z);
        for (uint64_t i = s; !rc && i <= e && !c->r->out->overflow; i++) {
            rc = zrange_out(c, q, &z);
            if (!rc && i < e)
                rc = z_step(it, &z, q->rev);
        }
        if (rc == FFDB_NOTFOUND)
            rc = FFDB_CORRUPT; /* S2: the ranks are there */
    }
    store_iter_close(it);
    return rc;
}

static int zrange_generic(resp_ctx *c, int by, int dir)
{
    zrange_req q;
    int rc;

    if (zrange_parse(c, by, dir, 1, &q))
        return 0;
    rc = zrange_run(c, &q);
    return rc > 0 ? 0 : rc;
}

/* The six commands zrange_generic serves: (by, direction). */
#define ZRANGE_CMD(name, by, dir)                                                                  \
    static int name(resp_ctx *c)                                                                   \
    {                                                                                              \
        return zrange_generic(c, by, dir);                                                         \
    }
ZRANGE_CMD(zrange_cmd, BY_AUTO, DIR_AUTO)
ZRANGE_CMD(zrevrange_cmd, BY_RANK, DIR_REV)
ZRANGE_CMD(zrangebyscore_cmd, BY_SCORE, DIR_FWD)
ZRANGE_CMD(zrevrangebyscore_cmd, BY_SCORE, DIR_REV)
ZRANGE_CMD(zrangebylex_cmd, BY_LEX, DIR_FWD)
ZRANGE_CMD(zrevrangebylex_cmd, BY_LEX, DIR_REV)
#undef ZRANGE_CMD

/* ZCOUNT key min max, ZLEXCOUNT key min max. */
static int zcount_generic(resp_ctx *c, int by)
{
    zrange_req q = {0};
    store_meta m;
    store_iter *it;
    int64_t n = 0;
    zpos z;
    int rc;

    q.by = by;
    if (zrange_bounds(c, &c->argv[2], &c->argv[3], &q))
        return 0;
    rc = get_zset(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    rc = store_iter_open(c->st, &m, STORE_ZSCORE, &it);
    if (rc)
        return rc;
    if (by == BY_SCORE)
        rc = score_range_empty(&q.score) ? FFDB_NOTFOUND : z_seek_score(it, &q.score, 0, &z);
    else
        rc = z_seek_lex(it, &q.lex, 0, &z);
    while (!rc && (by == BY_SCORE ? score_in(&q.score, &z, 0) : lex_in(&q.lex, &z, 0))) {
        n++;
        rc = z_next(it, &z);
    }
    store_iter_close(it);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    reply_int(c->r, n);
    return 0;
}

static int zcount_cmd(resp_ctx *c)
{
    return zcount_generic(c, BY_SCORE);
}

static int zlexcount_cmd(resp_ctx *c)
{
    return zcount_generic(c, BY_LEX);
}

/* ---- removing ranges and popping ---------------------------------------------------------- */

/* Delete the element z stands on and stand on the one after it (in index
 * order): the field is copied first, since the deletes free its bytes. */
static int z_delete_here(resp_ctx *c, store_meta *m, store_iter *it, zpos *z)
{
    uint8_t k[8 + STORE_MAX_FIELD];
    size_t n = z->f.size;
    double score = z->score;
    int rc;

    if (n > sizeof(k))
        return FFDB_CORRUPT;
    memcpy(k, z->f.data, n);
    rc = zset_del(c, m, k + 8, n - 8, score);
    if (rc)
        return rc;
    m->size--;
    return zpos_split(store_iter_seek(it, k, n, &z->f, &z->v), z);
}

/* ZREMRANGEBYRANK key start stop, ZREMRANGEBYSCORE key min max,
 * ZREMRANGEBYLEX key min max: reply how many went. */
static int zremrange_generic(resp_ctx *c, int by)
{
    zrange_req q = {0};
    store_meta m;
    store_iter *it;
    uint64_t s = 0, e = 0, removed = 0;
    zpos z;
    int rc;

    q.by = by;
    if (zrange_bounds(c, &c->argv[2], &c->argv[3], &q))
        return 0;
    rc = get_zset(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND ||
        (rc == 0 && by == BY_RANK && !redis_clamp_range(q.start, q.end, m.size, &s, &e))) {
        reply_int(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    if (by == BY_RANK && e - s + 1 == m.size) { /* everything: O(1), S4 */
        rc = store_key_delete(c->st, c->db, c->argv[1].p, c->argv[1].n, NULL);
        if (!rc)
            reply_int(c->r, (int64_t)m.size);
        return rc;
    }
    rc = store_iter_open(c->st, &m, STORE_ZSCORE, &it);
    if (rc)
        return rc;
    if (by == BY_RANK)
        rc = z_seek_rank(it, m.size, s, &z);
    else if (by == BY_SCORE)
        rc = score_range_empty(&q.score) ? FFDB_NOTFOUND : z_seek_score(it, &q.score, 0, &z);
    else
        rc = z_seek_lex(it, &q.lex, 0, &z);
    while (!rc && (by == BY_RANK    ? removed < e - s + 1
                   : by == BY_SCORE ? score_in(&q.score, &z, 0)
                                    : lex_in(&q.lex, &z, 0))) {
        rc = z_delete_here(c, &m, it, &z);
        removed++;
    }
    store_iter_close(it);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    if (removed) {
        rc = store_meta_save(c->st, &m);
        if (rc)
            return rc;
    }
    reply_int(c->r, (int64_t)removed);
    return 0;
}

static int zremrangebyrank_cmd(resp_ctx *c)
{
    return zremrange_generic(c, BY_RANK);
}

static int zremrangebyscore_cmd(resp_ctx *c)
{
    return zremrange_generic(c, BY_SCORE);
}

static int zremrangebylex_cmd(resp_ctx *c)
{
    return zremrange_generic(c, BY_LEX);
}

/* Pop count members (1..m->size) of the sorted set m (named key) from its
 * low (max = 0) or high end, replying each as member, score: a pair array
 * each if nested, else flat (the caller wrote the enclosing header). The
 * key is saved, or deleted with its last member. Shared with ZMPOP,
 * BZPOPMIN, BZMPOP (cmd_block.c). */
int redis_zset_pop(resp_ctx *c, store_meta *m, const resp_arg *key, int max, int64_t count,
                   int nested)
{
    store_iter *it;
    zpos z;
    int all, rc;

    assert(count >= 1 && (uint64_t)count <= m->size);
    rc = store_iter_open(c->st, m, STORE_ZSCORE, &it);
    if (rc)
        return rc;
    all = (uint64_t)count == m->size;
    rc = max ? z_last(it, &z) : z_first(it, &z);
    for (int64_t i = 0; i < count && !rc; i++) {
        if (nested)
            reply_array(c->r, 2);
        reply_bulk(c->r, z.member.data, z.member.size);
        reply_double(c->r, z.score);
        if (all) { /* the key goes in O(1) below */
            rc = z_step(it, &z, max);
            continue;
        }
        rc = z_delete_here(c, m, it, &z); /* on the next one, or past the last */
        if (max && (rc == 0 || rc == FFDB_NOTFOUND))
            rc = z_last(it, &z);
    }
    store_iter_close(it);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    if (all)
        return store_key_delete(c->st, c->db, key->p, key->n, NULL);
    return store_meta_save(c->st, m);
}

/* ZPOPMIN/ZPOPMAX key [count]: without count one flat member-score pair;
 * with count, pairs (nested in RESP3); a missing key is an empty array. */
static int zpop_generic(resp_ctx *c, int max)
{
    int64_t count = 1;
    int has_count = c->argc == 3, rc;
    store_meta m;

    if (c->argc > 3)
        return resp_err_syntax(c->r);
    if (has_count && (resp_parse_i64(c->argv[2].p, c->argv[2].n, &count) || count < 0)) {
        reply_error(c->r, "ERR value is out of range, must be positive");
        return 0;
    }
    rc = get_zset(c, &c->argv[1], &m);
    if (rc == FFDB_NOTFOUND || (rc == 0 && count == 0)) {
        reply_array(c->r, 0);
        return 0;
    }
    if (rc)
        return redis_store_error(c, rc);
    if ((uint64_t)count > m.size)
        count = (int64_t)m.size;
    if (has_count && c->r->proto >= 3)
        reply_array(c->r, (size_t)count);
    else
        reply_array(c->r, 2 * (size_t)count);
    return redis_zset_pop(c, &m, &c->argv[1], max, count, has_count && c->r->proto >= 3);
}

static int zpopmin_cmd(resp_ctx *c)
{
    return zpop_generic(c, 0);
}

static int zpopmax_cmd(resp_ctx *c)
{
    return zpop_generic(c, 1);
}

/* ---- ZRANDMEMBER ZSCAN ----------------------------------------------------------------------- */

/* The zset at argv[1] (ZRANDMEMBER, ZSCAN). */
static int zset_get_arg1(resp_ctx *c, store_meta *m)
{
    return get_zset(c, &c->argv[1], m);
}

static int rand_visit(void *arg, const ffdb_val *f, const ffdb_val *v)
{
    redis_rand_pick *w = arg;

    if (v->size != 8)
        return FFDB_CORRUPT;
    reply_elem(w->r, f->data, f->size, store_score_decode(v->data), w->with);
    return w->r->out->overflow; /* the client is dropped anyway: stop */
}

/* ZRANDMEMBER key [count [WITHSCORES]]: as HRANDFIELD. */
/* A count of at least the size: the whole set, highest first, as Redis answers. */
static int zrandmember_whole(resp_ctx *c, const store_meta *m, int withscores)
{
    store_iter *it;
    zpos z;
    int rc;

    reply_elems_header(c->r, m->size, withscores);
    rc = store_iter_open(c->st, m, STORE_ZSCORE, &it);
    if (rc)
        return rc;
    for (rc = z_last(it, &z); !rc && !c->r->out->overflow; rc = z_prev(it, &z))
        reply_elem(c->r, z.member.data, z.member.size, z.score, withscores);
    store_iter_close(it);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

static int zrandmember_cmd(resp_ctx *c)
{
    return redis_rand_members(c, "withscores", zset_get_arg1, rand_visit, zrandmember_whole);
}

/* ZSCAN key cursor [MATCH pattern] [COUNT count]: members in byte order,
 * each with its score as a bulk string (also in RESP3, as Redis). The
 * cursor names the next member; errors come in Redis's order (cursor, type,
 * options). */
static int zscan_emit(resp_reply *r, const ffdb_val *member, const ffdb_val *score)
{
    char num[32];

    if (score->size != 8)
        return FFDB_CORRUPT;
    reply_bulk(r, member->data, member->size);
    reply_bulk(r, num, resp_format_double(num, store_score_decode(score->data)));
    return 2;
}

static int zscan_cmd(resp_ctx *c)
{
    return redis_scan_members(c, zset_get_arg1, zscan_emit);
}

/* ---- ZUNION ZINTER ZDIFF ZINTERCARD and their STORE forms -------------------------------- */

/* One road for the seven commands, as Redis's zunionInterDiffGenericCommand:
 * the inputs (sorted sets, or sets whose members score 1, or missing keys)
 * are walked by zunion_walk / zinter_walk / zdiff_walk, which hand each
 * member of the result with its final score to a zsink. The sink writes it
 * into the destination (the STORE forms), counts it (ZINTERCARD, which stops
 * at LIMIT), or collects it for the reply (ZUNION ZINTER ZDIFF, which answer
 * in Redis's order: by score, then member bytes). */

enum { AGG_SUM, AGG_MIN, AGG_MAX };
enum { ZOP_UNION, ZOP_INTER, ZOP_DIFF };

/* One input: a sorted set or a set (whose members score 1), or a missing key. */
typedef struct zsrc {
    store_meta m;
    int present, is_set;
    double weight;
    store_iter *it;
    uint8_t cur[STORE_MAX_FIELD]; /* a copy: writes to dst would move the engine's bytes */
    size_t n;
    double score; /* of cur, unweighted */
    int live;
} zsrc;

/* A member of a result collected for the reply. */
typedef struct zelem {
    double score;
    size_t n;
    uint8_t *p;
} zelem;

/* Where the result goes: dst (STORE), a count (ZINTERCARD), or v[]. */
typedef struct zsink {
    store_meta *dst;
    int count_only;
    uint64_t count, limit; /* limit 0: none */
    zelem *v;
    size_t n, cap;
} zsink;

#define ZSINK_FULL 1 /* ZINTERCARD reached its LIMIT: the walk stops */

static int zsink_add(resp_ctx *c, zsink *k, const uint8_t *p, size_t n, double score)
{
    if (k->dst) {
        int rc = zset_put(c, k->dst, p, n, score, 0, 0);
        if (!rc)
            k->dst->size++;
        return rc;
    }
    if (k->count_only) {
        k->count++;
        return k->limit && k->count >= k->limit ? ZSINK_FULL : 0;
    }
    if (k->n == k->cap) {
        zelem *v = redis_array_grow(k->v, &k->cap, sizeof(*v));
        if (!v)
            return FFDB_ENOMEM;
        k->v = v;
    }
    k->v[k->n].p = malloc(n ? n : 1);
    if (!k->v[k->n].p)
        return FFDB_ENOMEM;
    memcpy(k->v[k->n].p, p, n);
    k->v[k->n].n = n;
    k->v[k->n].score = score;
    k->n++;
    return 0;
}

static void zsink_free(zsink *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i].p);
    free(k->v);
}

/* Redis's skiplist order: score, then member bytes (shorter first on a tie). */
static int zelem_cmp(const void *pa, const void *pb)
{
    const zelem *a = pa, *b = pb;
    int d;

    if (a->score != b->score)
        return a->score < b->score ? -1 : 1;
    d = memcmp(a->p, b->p, a->n < b->n ? a->n : b->n);
    return d ? d : (a->n > b->n) - (a->n < b->n);
}

/* Redis's zunionInterAggregate (a sum of +inf and -inf is 0). */
static void aggregate(double *acc, double val, int agg)
{
    if (agg == AGG_SUM) {
        *acc += val;
        if (isnan(*acc))
            *acc = 0;
    } else if (agg == AGG_MIN) {
        *acc = val < *acc ? val : *acc;
    } else {
        *acc = val > *acc ? val : *acc;
    }
}

/* Step a source's walk in member order (its sub space) and copy the element. */
static int zsrc_step(zsrc *s, int first)
{
    ffdb_val f, v;
    int rc = first ? store_iter_first(s->it, &f, &v) : store_iter_next(s->it, &f, &v);

    s->live = rc == 0;
    if (rc)
        return rc == FFDB_NOTFOUND ? 0 : rc;
    if (f.size > STORE_MAX_FIELD || (!s->is_set && v.size != 8))
        return FFDB_CORRUPT;
    memcpy(s->cur, f.data, f.size);
    s->n = f.size;
    s->score = s->is_set ? 1.0 : store_score_decode(v.data);
    return 0;
}

/* A member's unweighted score in a source: 0, FFDB_NOTFOUND or an engine code. */
static int zsrc_score(resp_ctx *c, const zsrc *s, const void *p, size_t n, double *score)
{
    ffdb_val v;
    int rc;

    if (!s->present)
        return FFDB_NOTFOUND;
    if (!s->is_set)
        return redis_zset_score(c, &s->m, p, n, score);
    if (n > STORE_MAX_FIELD)
        return FFDB_NOTFOUND;
    rc = store_sub_get(c->st, &s->m, p, n, &v);
    *score = 1.0;
    return rc;
}

/* Byte order of two sources' current members (shorter first on a tie). */
static int member_cmp(const zsrc *a, const zsrc *b)
{
    int d = memcmp(a->cur, b->cur, a->n < b->n ? a->n : b->n);
    return d ? d : (a->n > b->n) - (a->n < b->n);
}

static int same_member(const zsrc *s, const uint8_t *p, size_t n)
{
    return s->live && s->n == n && memcmp(s->cur, p, n) == 0;
}

/* The union: the sources' member-ordered walks merged; each member's score
 * aggregated over the sources in `order` (Redis adds them up smallest set
 * first, which decides the last bit of a float sum). */
static int zunion_walk(resp_ctx *c, zsrc *src, const int *order, int n, int agg, zsink *out)
{
    uint8_t min[STORE_MAX_FIELD];
    int rc = 0;

    for (int i = 0; i < n && !rc; i++)
        if (src[i].present && !(rc = store_iter_open(c->st, &src[i].m, STORE_SUB, &src[i].it)))
            rc = zsrc_step(&src[i], 1);
    while (!rc) {
        int lo = -1, have = 0;
        size_t len;
        double acc = 0;
        for (int i = 0; i < n; i++)
            if (src[i].live && (lo < 0 || member_cmp(&src[i], &src[lo]) < 0))
                lo = i;
        if (lo < 0)
            break;
        len = src[lo].n;
        memcpy(min, src[lo].cur, len);
        for (int k = 0; k < n && !rc; k++) {
            zsrc *s = &src[order[k]];
            double val;
            if (!same_member(s, min, len))
                continue;
            val = s->weight * s->score;
            if (isnan(val))
                val = 0;
            if (have)
                aggregate(&acc, val, agg);
            else
                acc = val;
            have = 1;
            rc = zsrc_step(s, 0);
        }
        if (!rc)
            rc = zsink_add(c, out, min, len, acc);
    }
    for (int i = 0; i < n; i++)
        store_iter_close(src[i].it);
    return rc;
}

/* The intersection (diff = 0) or the difference (diff = 1): one source
 * walked (the smallest, or for the difference the first), the others looked
 * up. A member is kept if every other source has it (its score aggregated)
 * or, for the difference, if none has it (its score as in the first). */
static int zlookup_walk(resp_ctx *c, zsrc *src, const int *order, int n, int agg, int diff,
                        zsink *out)
{
    zsrc *d = &src[order[0]];
    int rc;

    if (!d->present)
        return 0; /* walking an empty input: an empty result */
    for (int i = 0; i < n && !diff; i++)
        if (!src[i].present)
            return 0;
    rc = store_iter_open(c->st, &d->m, STORE_SUB, &d->it);
    if (!rc)
        rc = zsrc_step(d, 1);
    while (!rc && d->live) {
        double acc = d->weight * d->score;
        int k, found = 0;
        if (isnan(acc))
            acc = 0;
        for (k = 1; k < n && !rc; k++) {
            double val;
            rc = zsrc_score(c, &src[order[k]], d->cur, d->n, &val);
            if (rc == FFDB_NOTFOUND && diff) {
                rc = 0;
                continue;
            }
            if (rc)
                break;
            if (diff) {
                found = 1;
                break;
            }
            aggregate(&acc, val * src[order[k]].weight, agg);
        }
        if (rc == FFDB_NOTFOUND)
            rc = 0; /* not in every input */
        else if (!rc && !found)
            rc = zsink_add(c, out, d->cur, d->n, acc);
        if (!rc)
            rc = zsrc_step(d, 0);
    }
    store_iter_close(d->it);
    return rc;
}

/* The options after the keys, each allowed where Redis allows it: WEIGHTS
 * and AGGREGATE (union, intersection; not ZINTERCARD), WITHSCORES (the
 * forms that reply the members), LIMIT (ZINTERCARD). 0, or 1 after an error
 * reply. */
static int zsetop_options(resp_ctx *c, int j, zsrc *src, int n, int op, int to_dst, zsink *k,
                          int *agg, int *withscores)
{
    int weighted = op != ZOP_DIFF && !k->count_only;

    while (j < c->argc) {
        int remaining = c->argc - j;
        if (weighted && remaining >= n + 1 && resp_arg_is(&c->argv[j], "weights")) {
            for (int i = 0; i < n; i++)
                if (resp_parse_double(c->argv[j + 1 + i].p, c->argv[j + 1 + i].n, &src[i].weight)) {
                    reply_error(c->r, "ERR weight value is not a float");
                    return 1;
                }
            j += n + 1;
        } else if (weighted && remaining >= 2 && resp_arg_is(&c->argv[j], "aggregate")) {
            const resp_arg *a = &c->argv[j + 1];
            if (resp_arg_is(a, "sum"))
                *agg = AGG_SUM;
            else if (resp_arg_is(a, "min"))
                *agg = AGG_MIN;
            else if (resp_arg_is(a, "max"))
                *agg = AGG_MAX;
            else
                return resp_err_syntax(c->r), 1;
            j += 2;
        } else if (!to_dst && !k->count_only && resp_arg_is(&c->argv[j], "withscores")) {
            *withscores = 1;
            j++;
        } else if (k->count_only && remaining >= 2 && resp_arg_is(&c->argv[j], "limit")) {
            int64_t limit;
            if (resp_parse_i64(c->argv[j + 1].p, c->argv[j + 1].n, &limit) || limit < 0) {
                reply_error(c->r, "ERR LIMIT can't be negative");
                return 1;
            }
            k->limit = (uint64_t)limit;
            j += 2;
        } else {
            return resp_err_syntax(c->r), 1;
        }
    }
    return 0;
}

/* Look the inputs up (0, or 1 after a WRONGTYPE reply, or an engine code)
 * and order them smallest first, ties in argument order (a stable sort, as
 * glibc's qsort is for this size); the difference keeps argument order. */
static int zsetop_inputs(resp_ctx *c, int at, zsrc *src, int *order, int n, int op)
{
    for (int i = 0; i < n; i++) {
        const resp_arg *k = &c->argv[at + i];
        int rc = store_lookup(c->st, c->db, k->p, k->n, &src[i].m);
        src[i].present = rc == 0;
        src[i].is_set = rc == 0 && src[i].m.type == STORE_SET;
        src[i].weight = 1.0;
        if (rc == 0 && src[i].m.type != STORE_ZSET && src[i].m.type != STORE_SET)
            return resp_err_wrongtype(c->r), 1;
        if (rc && rc != FFDB_NOTFOUND)
            return rc;
    }
    for (int i = 0; i < n; i++) {
        int j = i;
        uint64_t size = src[i].present ? src[i].m.size : 0;
        for (; op != ZOP_DIFF && j > 0 &&
               (src[order[j - 1]].present ? src[order[j - 1]].m.size : 0) > size;
             j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    return 0;
}

/* The reply of ZUNION / ZINTER / ZDIFF: the members in Redis's order. */
static void zsetop_reply(resp_ctx *c, zsink *k, int withscores)
{
    if (k->n > 1)
        qsort(k->v, k->n, sizeof(*k->v), zelem_cmp);
    reply_elems_header(c->r, k->n, withscores);
    for (size_t i = 0; i < k->n; i++)
        reply_elem(c->r, k->v[i].p, k->v[i].n, k->v[i].score, withscores);
}

/* ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]:
 * the range collected first (dst may be src), then dst replaced by it, or
 * deleted if it is empty. */
static int zrangestore_cmd(resp_ctx *c)
{
    zsink sink = {0};
    zrange_req q;
    store_meta dst;
    int rc;

    if (zrange_parse(c, BY_AUTO, DIR_AUTO, 2, &q))
        return 0;
    if (c->argv[1].n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    q.sink = &sink;
    rc = zrange_run(c, &q);
    if (!rc)
        rc = store_meta_create(c->st, c->db, c->argv[1].p, c->argv[1].n, STORE_ZSET, &dst);
    sink.dst = &dst;
    for (size_t i = 0; !rc && i < sink.n; i++)
        rc = zsink_add(c, &sink, sink.v[i].p, sink.v[i].n, sink.v[i].score);
    if (!rc)
        rc = store_meta_save(c->st, &dst);
    if (!rc)
        reply_int(c->r, (int64_t)dst.size);
    zsink_free(&sink);
    return rc > 0 ? 0 : rc;
}

/* The seven commands. to_dst: argv[1] is the destination (any type, also one
 * of the inputs), replaced by the result, deleted if it is empty; inputs are
 * read through the versions looked up before dst got its new one. */
static int zsetop_generic(resp_ctx *c, int op, int to_dst, int count_only)
{
    int at = to_dst ? 3 : 2, agg = AGG_SUM, withscores = 0, rc = 0, *order = NULL;
    int64_t nkeys;
    store_meta dst;
    zsink sink = {.count_only = count_only};
    zsrc *src = NULL;

    if (resp_arg_i64(c->r, &c->argv[at - 1], &nkeys))
        return 0;
    if (nkeys < 1) {
        reply_errorf(c->r, "ERR at least 1 input key is needed for '%s' command", c->cmd->name);
        return 0;
    }
    if (nkeys > c->argc - at)
        return resp_err_syntax(c->r);
    src = calloc((size_t)nkeys, sizeof(*src));
    order = calloc((size_t)nkeys, sizeof(*order));
    if (!src || !order)
        rc = FFDB_ENOMEM;
    if (!rc)
        rc = zsetop_inputs(c, at, src, order, (int)nkeys, op);
    if (!rc)
        rc = zsetop_options(c, at + (int)nkeys, src, (int)nkeys, op, to_dst, &sink, &agg,
                            &withscores);
    if (!rc && to_dst && c->argv[1].n > STORE_MAX_KEY) {
        redis_store_error(c, STORE_EKEYLEN);
        rc = 1;
    }
    if (!rc && to_dst) {
        rc = store_meta_create(c->st, c->db, c->argv[1].p, c->argv[1].n, STORE_ZSET, &dst);
        sink.dst = &dst;
    }
    if (!rc) {
        rc = op == ZOP_UNION ? zunion_walk(c, src, order, (int)nkeys, agg, &sink)
                             : zlookup_walk(c, src, order, (int)nkeys, agg, op == ZOP_DIFF, &sink);
        rc = rc == ZSINK_FULL ? 0 : rc;
    }
    if (!rc && to_dst)
        rc = store_meta_save(c->st, &dst);
    if (!rc && to_dst)
        reply_int(c->r, (int64_t)dst.size);
    else if (!rc && count_only)
        reply_int(c->r, (int64_t)sink.count);
    else if (!rc)
        zsetop_reply(c, &sink, withscores);
    zsink_free(&sink);
    free(src);
    free(order);
    return rc > 0 ? 0 : rc;
}

/* The seven commands zsetop_generic serves: (op, to a destination key,
 * only the count). */
#define ZSETOP_CMD(name, op, to_dst, count_only)                                                   \
    static int name(resp_ctx *c)                                                                   \
    {                                                                                              \
        return zsetop_generic(c, op, to_dst, count_only);                                          \
    }
ZSETOP_CMD(zunionstore_cmd, ZOP_UNION, 1, 0)
ZSETOP_CMD(zinterstore_cmd, ZOP_INTER, 1, 0)
ZSETOP_CMD(zdiffstore_cmd, ZOP_DIFF, 1, 0)
ZSETOP_CMD(zunion_cmd, ZOP_UNION, 0, 0)
ZSETOP_CMD(zinter_cmd, ZOP_INTER, 0, 0)
ZSETOP_CMD(zdiff_cmd, ZOP_DIFF, 0, 0)
ZSETOP_CMD(zintercard_cmd, ZOP_INTER, 0, 1)
#undef ZSETOP_CMD

#define W (RESP_CMD_WRITE | RESP_CMD_DENYOOM)
#define R RESP_CMD_READONLY
#define F RESP_CMD_FAST

const resp_command redis_cmds_zset[] = {
    {"zadd", zadd_cmd, -4, W | F, 1, 1, 1, "sorted-set",
     "Add one or more members to a sorted set, or update its score if it already exists"},
    {"zincrby", zincrby_cmd, 4, W | F, 1, 1, 1, "sorted-set",
     "Increment the score of a member in a sorted set"},
    {"zrem", zrem_cmd, -3, RESP_CMD_WRITE | F, 1, 1, 1, "sorted-set",
     "Remove one or more members from a sorted set"},
    {"zcard", zcard_cmd, 2, R | F, 1, 1, 1, "sorted-set",
     "Get the number of members in a sorted set"},
    {"zscore", zscore_cmd, 3, R | F, 1, 1, 1, "sorted-set",
     "Get the score associated with the given member in a sorted set"},
    {"zmscore", zmscore_cmd, -3, R | F, 1, 1, 1, "sorted-set",
     "Get the score associated with the given members in a sorted set"},
    {"zrank", zrank_cmd, 3, R | F, 1, 1, 1, "sorted-set",
     "Determine the index of a member in a sorted set"},
    {"zrevrank", zrevrank_cmd, 3, R | F, 1, 1, 1, "sorted-set",
     "Determine the index of a member in a sorted set, with scores ordered from high to low"},
    {"zcount", zcount_cmd, 4, R | F, 1, 1, 1, "sorted-set",
     "Count the members in a sorted set with scores within the given values"},
    {"zlexcount", zlexcount_cmd, 4, R | F, 1, 1, 1, "sorted-set",
     "Count the number of members in a sorted set between a given lexicographical range"},
    {"zrangestore", zrangestore_cmd, -5, RESP_CMD_WRITE | RESP_CMD_DENYOOM, 1, 2, 1, "sorted-set",
     "Store a range of members from sorted set into another key"},
    {"zrange", zrange_cmd, -4, R, 1, 1, 1, "sorted-set",
     "Return a range of members in a sorted set"},
    {"zrevrange", zrevrange_cmd, -4, R, 1, 1, 1, "sorted-set",
     "Return a range of members in a sorted set, by index, with scores ordered from high to low"},
    {"zrangebyscore", zrangebyscore_cmd, -4, R, 1, 1, 1, "sorted-set",
     "Return a range of members in a sorted set, by score"},
    {"zrevrangebyscore", zrevrangebyscore_cmd, -4, R, 1, 1, 1, "sorted-set",
     "Return a range of members in a sorted set, by score, with scores ordered from high to low"},
    {"zrangebylex", zrangebylex_cmd, -4, R, 1, 1, 1, "sorted-set",
     "Return a range of members in a sorted set, by lexicographical range"},
    {"zrevrangebylex", zrevrangebylex_cmd, -4, R, 1, 1, 1, "sorted-set",
     "Return a range of members in a sorted set, by lexicographical range, ordered from higher to "
     "lower strings"},
    {"zremrangebyrank", zremrangebyrank_cmd, 4, RESP_CMD_WRITE, 1, 1, 1, "sorted-set",
     "Remove all members in a sorted set within the given indexes"},
    {"zremrangebyscore", zremrangebyscore_cmd, 4, RESP_CMD_WRITE, 1, 1, 1, "sorted-set",
     "Remove all members in a sorted set within the given scores"},
    {"zremrangebylex", zremrangebylex_cmd, 4, RESP_CMD_WRITE, 1, 1, 1, "sorted-set",
     "Remove all members in a sorted set between the given lexicographical range"},
    {"zpopmin", zpopmin_cmd, -2, RESP_CMD_WRITE | F, 1, 1, 1, "sorted-set",
     "Remove and return members with the lowest scores in a sorted set"},
    {"zpopmax", zpopmax_cmd, -2, RESP_CMD_WRITE | F, 1, 1, 1, "sorted-set",
     "Remove and return members with the highest scores in a sorted set"},
    {"zrandmember", zrandmember_cmd, -2, R | RESP_CMD_RANDOM, 1, 1, 1, "sorted-set",
     "Get one or multiple random elements from a sorted set"},
    {"zunionstore", zunionstore_cmd, -4, W, 1, 1, 1, "sorted-set",
     "Add multiple sorted sets and store the resulting sorted set in a new key"},
    {"zinterstore", zinterstore_cmd, -4, W, 1, 1, 1, "sorted-set",
     "Intersect multiple sorted sets and store the resulting sorted set in a new key"},
    {"zdiffstore", zdiffstore_cmd, -4, W, 1, 1, 1, "sorted-set",
     "Subtract multiple sorted sets and store the resulting sorted set in a new key"},
    {"zunion", zunion_cmd, -3, R, 0, 0, 0, "sorted-set", "Add multiple sorted sets"},
    {"zinter", zinter_cmd, -3, R, 0, 0, 0, "sorted-set", "Intersect multiple sorted sets"},
    {"zdiff", zdiff_cmd, -3, R, 0, 0, 0, "sorted-set", "Subtract multiple sorted sets"},
    {"zintercard", zintercard_cmd, -3, R, 0, 0, 0, "sorted-set",
     "Intersect multiple sorted sets and return the cardinality of the result"},
    {"zscan", zscan_cmd, -3, R | RESP_CMD_RANDOM, 1, 1, 1, "sorted-set",
     "Incrementally iterate sorted sets elements and associated scores"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
