/*
 * cmd_sort.c — SORT and SORT_RO: the elements of a list, set or sorted set,
 * ordered by their own value or by keys named after them (BY), picked with
 * LIMIT, replaced by other keys' values (GET), returned or stored as a list
 * (STORE).
 *
 * As in Redis 7.0: numbers compare as doubles, ties by the element's bytes;
 * BY a pattern without '*' does not sort; a BY or GET key that is missing
 * (or of another type) weighs 0 / sorts first with ALPHA / reads nil;
 * "pattern->field" reads a hash field; "#" is the element. ALPHA compares
 * bytes (Redis uses strcoll() outside STORE, which is byte order in the C
 * locale). Sets come in member byte order when not sorted (Redis: hash
 * order). Everything is read and validated before STORE writes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "modules/redis/cmd.h"

typedef struct sort_item {
    char *p; /* the element (own copy) */
    size_t n;
    char *w; /* BY value (own copy), NULL if none */
    size_t wn;
    double score;
} sort_item;

typedef struct sort_job {
    int desc, alpha, by_pattern;
} sort_job;

static sort_job job; /* one event-loop thread: the comparator's context */

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);
    return r ? r : (an > bn) - (an < bn);
}

static int item_cmp(const void *x, const void *y)
{
    const sort_item *a = x, *b = y;
    int cmp;

    if (!job.alpha) {
        cmp = a->score > b->score   ? 1
              : a->score < b->score ? -1
                                    : bytes_cmp(a->p, a->n, b->p, b->n);
    } else if (job.by_pattern) {
        if (!a->w || !b->w)
            cmp = (a->w != NULL) - (b->w != NULL);
        else
            cmp = bytes_cmp(a->w, a->wn, b->w, b->wn);
    } else {
        cmp = bytes_cmp(a->p, a->n, b->p, b->n);
    }
    return job.desc ? -cmp : cmp;
}

static char *dup_bytes(const void *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (d && n)
        memcpy(d, p, n);
    return d;
}

/* The value pattern names for element e: *out is a malloc'd copy, or NULL
 * when there is none. 0 or an engine error. */
static int pattern_value(resp_ctx *c, const resp_arg *pat, const char *e, size_t en, char **out,
                         size_t *outn)
{
    const char *star, *arrow = NULL;
    size_t klen, flen = 0;
    char *key;
    store_meta m;
    int rc;

    *out = NULL;
    *outn = 0;
    if (pat->n == 1 && pat->p[0] == '#') {
        *out = dup_bytes(e, en);
        *outn = en;
        return *out ? 0 : FFDB_ENOMEM;
    }
    star = memchr(pat->p, '*', pat->n);
    if (!star)
        return 0;
    for (const char *q = star + 1; q + 2 < pat->p + pat->n; q++)
        if (q[0] == '-' && q[1] == '>') {
            arrow = q;
            break;
        }
    klen = (size_t)((arrow ? arrow : pat->p + pat->n) - pat->p) - 1 + en;
    if (arrow)
        flen = (size_t)(pat->p + pat->n - (arrow + 2));
    key = malloc(klen ? klen : 1);
    if (!key)
        return FFDB_ENOMEM;
    memcpy(key, pat->p, (size_t)(star - pat->p));
    memcpy(key + (star - pat->p), e, en);
    memcpy(key + (star - pat->p) + en, star + 1, klen - (size_t)(star - pat->p) - en);
    rc = store_lookup(c->st, c->db, key, klen, &m);
    if (rc == 0 && !arrow && m.type == STORE_STRING) {
        *out = dup_bytes(m.value.data, m.value.size);
        *outn = m.value.size;
        rc = *out ? 0 : FFDB_ENOMEM;
    } else if (rc == 0 && arrow && m.type == STORE_HASH) {
        ffdb_val v;
        rc = store_sub_get(c->st, &m, arrow + 2, flen, &v);
        if (rc == 0) {
            *out = dup_bytes(v.data, v.size);
            *outn = v.size;
            rc = *out ? 0 : FFDB_ENOMEM;
        }
    }
    free(key);
    return rc == FFDB_NOTFOUND || rc == STORE_EFIELDLEN ? 0 : rc;
}

/* The elements of m's collection, copied, in its natural order. */
static int load_items(resp_ctx *c, const store_meta *m, sort_item **items, size_t *count)
{
    store_iter *it;
    ffdb_val f, v;
    size_t n = 0;
    int space = m->type == STORE_ZSET ? STORE_ZSCORE : STORE_SUB;
    int rc = store_iter_open(c->st, m, space, &it);

    *items = calloc(m->size ? m->size : 1, sizeof(**items));
    if (!*items) {
        if (rc == 0)
            store_iter_close(it);
        return FFDB_ENOMEM;
    }
    if (rc)
        return rc;
    for (rc = store_iter_first(it, &f, &v); rc == 0 && n < m->size;
         rc = store_iter_next(it, &f, &v)) {
        const void *p = m->type == STORE_LIST ? v.data : f.data;
        size_t len = m->type == STORE_LIST ? v.size : f.size;
        if (m->type == STORE_ZSET) {
            double sc;
            ffdb_val mem;
            rc = store_zscore_split(&f, &sc, &mem);
            if (rc)
                break;
            p = mem.data, len = mem.size;
        }
        (*items)[n].p = dup_bytes(p, len);
        (*items)[n].n = len;
        if (!(*items)[n++].p) {
            rc = FFDB_ENOMEM;
            break;
        }
    }
    store_iter_close(it);
    *count = n;
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

static void free_items(sort_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i].p), free(items[i].w);
    free(items);
}

/* Redis's rule: strtod() over the bytes up to the first NUL must end there,
 * without ERANGE or NaN (so "" is 0, " 1" and "0x1p3" are numbers). */
static int parse_score(const char *p, size_t n, double *out)
{
    const char *nul = memchr(p, 0, n);
    char *buf, *end;
    int bad;

    if (nul)
        n = (size_t)(nul - p);
    buf = malloc(n + 1);
    if (!buf)
        return FFDB_ENOMEM;
    memcpy(buf, p, n);
    buf[n] = 0;
    errno = 0;
    *out = strtod(buf, &end);
    bad = *end || errno == ERANGE || *out != *out;
    free(buf);
    return bad ? -1 : 0;
}

static int sort_generic(resp_ctx *c, int readonly)
{
    const resp_arg *by = NULL, *dest = NULL;
    const resp_arg *gets[64];
    int ngets = 0, dontsort = 0, rc;
    int64_t offset = 0, limit = -1;
    sort_item *items = NULL;
    size_t n = 0, from, to;
    store_meta m;

    memset(&job, 0, sizeof(job));
    for (int i = 2; i < c->argc; i++) {
        int left = c->argc - i - 1;
        if (resp_arg_is(&c->argv[i], "asc")) {
            job.desc = 0;
        } else if (resp_arg_is(&c->argv[i], "desc")) {
            job.desc = 1;
        } else if (resp_arg_is(&c->argv[i], "alpha")) {
            job.alpha = 1;
        } else if (resp_arg_is(&c->argv[i], "limit") && left >= 2) {
            if (resp_arg_i64(c->r, &c->argv[i + 1], &offset) ||
                resp_arg_i64(c->r, &c->argv[i + 2], &limit))
                return 0;
            i += 2;
        } else if (resp_arg_is(&c->argv[i], "store") && left >= 1 && !readonly) {
            dest = &c->argv[++i];
        } else if (resp_arg_is(&c->argv[i], "by") && left >= 1) {
            by = &c->argv[++i];
            if (!memchr(by->p, '*', by->n))
                dontsort = 1;
        } else if (resp_arg_is(&c->argv[i], "get") && left >= 1) {
            if (ngets == (int)(sizeof(gets) / sizeof(gets[0]))) {
                reply_error(c->r, "ERR too many GET patterns");
                return 0;
            }
            gets[ngets++] = &c->argv[++i];
        } else {
            return resp_err_syntax(c->r);
        }
    }
    rc = store_lookup(c->st, c->db, c->argv[1].p, c->argv[1].n, &m);
    if (rc && rc != FFDB_NOTFOUND)
        return rc;
    if (rc == 0 && m.type != STORE_LIST && m.type != STORE_SET && m.type != STORE_ZSET)
        return resp_err_wrongtype(c->r);
    if (dest && dest->n > STORE_MAX_KEY)
        return redis_store_error(c, STORE_EKEYLEN);
    if (rc == 0 && (rc = load_items(c, &m, &items, &n)))
        goto out;
    /* A set stored unsorted would depend on the order: Redis sorts it then. */
    if (dontsort && rc == 0 && n && m.type == STORE_SET && dest)
        dontsort = 0, job.alpha = 1, by = NULL;
    job.by_pattern = by != NULL;
    if (!dontsort) {
        for (size_t i = 0; i < n; i++) {
            const char *src = items[i].p;
            size_t sn = items[i].n;
            if (by) {
                if ((rc = pattern_value(c, by, items[i].p, items[i].n, &items[i].w, &items[i].wn)))
                    goto out;
                src = items[i].w, sn = items[i].wn;
            }
            if (job.alpha)
                continue;
            if (by && !src) {
                items[i].score = 0;
            } else if ((rc = parse_score(src, sn, &items[i].score))) {
                if (rc == FFDB_ENOMEM)
                    goto out;
                reply_error(c->r, "ERR One or more scores can't be converted into double");
                rc = 0;
                goto out;
            }
        }
        if (n > 1)
            qsort(items, n, sizeof(*items), item_cmp);
    } else if (job.desc && n && m.type != STORE_SET) {
        /* lists and sorted sets keep their own order, DESC walks it backwards */
        for (size_t i = 0; i < n / 2; i++) {
            sort_item t = items[i];
            items[i] = items[n - 1 - i];
            items[n - 1 - i] = t;
        }
    }
    /* LIMIT, as Redis clamps it */
    if (offset < 0)
        offset = 0;
    if (limit < 0 || (uint64_t)offset + (uint64_t)limit > n)
        limit = (int64_t)n - offset;
    if (limit < 0 || (uint64_t)offset >= n)
        offset = 0, limit = 0;
    from = (size_t)offset;
    to = from + (size_t)limit;

    if (!dest) {
        reply_array(c->r, (to - from) * (size_t)(ngets ? ngets : 1));
        for (size_t i = from; i < to; i++) {
            if (!ngets) {
                reply_bulk(c->r, items[i].p, items[i].n);
                continue;
            }
            for (int g = 0; g < ngets; g++) {
                char *v;
                size_t vn;
                if ((rc = pattern_value(c, gets[g], items[i].p, items[i].n, &v, &vn)))
                    goto out; /* an engine failure: the batch fails, the reply is dropped */
                if (v)
                    reply_bulk(c->r, v, vn);
                else
                    reply_null(c->r);
                free(v);
            }
        }
    } else {
        store_meta d;
        uint8_t k[8];
        if ((rc = store_meta_create(c->st, c->db, dest->p, dest->n, STORE_LIST, &d)))
            goto out;
        for (size_t i = from; i < to; i++) {
            for (int g = 0; g < (ngets ? ngets : 1); g++) {
                char *v = NULL;
                size_t vn = 0;
                if (ngets && (rc = pattern_value(c, gets[g], items[i].p, items[i].n, &v, &vn)))
                    goto out;
                store_list_index_encode(d.tail, k);
                rc = store_sub_put(c->st, &d, k, sizeof(k), ngets ? (v ? v : "") : items[i].p,
                                   ngets ? vn : items[i].n);
                free(v);
                if (rc)
                    goto out;
                d.tail++, d.size++;
            }
        }
        if ((rc = store_meta_save(c->st, &d)))
            goto out;
        reply_int(c->r, (int64_t)d.size);
    }
    rc = 0;
out:
    free_items(items, n);
    return rc;
}

static int sort_cmd(resp_ctx *c)
{
    return sort_generic(c, 0);
}

static int sort_ro_cmd(resp_ctx *c)
{
    return sort_generic(c, 1);
}

const resp_command redis_cmds_sort[] = {
    {"sort", sort_cmd, -2, RESP_CMD_WRITE | RESP_CMD_DENYOOM, 1, 1, 1, "generic",
     "Sort the elements in a list, set or sorted set"},
    {"sort_ro", sort_ro_cmd, -2, RESP_CMD_READONLY, 1, 1, 1, "generic",
     "Sort the elements in a list, set or sorted set. Read-only variant of SORT."},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
