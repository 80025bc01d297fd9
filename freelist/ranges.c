/*
 * ranges.c — sorted, merged arrays of page ranges (ranges.h).
 *
 * Owns nothing but the arrays themselves; the freelist (freelist.c,
 * persist.c) is the only caller. Must never leave a set half-changed:
 * every allocation happens before the first write to the array (R2).
 */
#include "freelist/ranges.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "ffdb.h"

/* Smallest array ever allocated, in ranges. */
#define RSET_MIN_CAP 8u

void rset_init(struct rset *s)
{
    s->r = NULL;
    s->n = 0;
    s->base = NULL;
    s->cap = 0;
}

void rset_free(struct rset *s)
{
    mem_free(s->base);
    rset_init(s);
}

static size_t room_front(const struct rset *s)
{
    return s->base ? (size_t)(s->r - s->base) : 0;
}

static size_t room_back(const struct rset *s)
{
    return s->cap - room_front(s) - s->n;
}

/* Put the ranges at offset off of a new or the same allocation. */
static void place(struct rset *s, struct range *base, size_t cap, size_t off)
{
    if (s->n > 0) /* (overlapping when in place) */
        memmove(base + off, s->r, s->n * sizeof(*base));
    if (base != s->base)
        mem_free(s->base);
    s->base = base;
    s->cap = cap;
    s->r = base + off;
}

int rset_reserve(struct rset *s, size_t extra)
{
    size_t want = s->n + extra, cap = s->cap ? s->cap : RSET_MIN_CAP;
    struct range *base;

    assert(want >= s->n);
    if (room_back(s) >= extra)
        return 0;
    /* Mostly empty: re-center in place, keeping room at both ends. */
    if (s->base && want <= s->cap / 2) {
        place(s, s->base, s->cap, (s->cap - want) / 2);
        return 0;
    }
    while (cap < 2 * want) {
        if (cap > SIZE_MAX / 4 / sizeof(*base))
            return FFDB_ENOMEM;
        cap *= 2;
    }
    base = mem_alloc(cap * sizeof(*base));
    if (!base)
        return FFDB_ENOMEM;
    place(s, base, cap, (cap - want) / 2);
    assert(room_back(s) >= extra);
    return 0;
}

int rset_copy(struct rset *dst, const struct rset *src)
{
    assert(dst->n == 0);
    if (src->n == 0)
        return 0;
    if (rset_reserve(dst, src->n) < 0)
        return FFDB_ENOMEM;
    memcpy(dst->r, src->r, src->n * sizeof(*src->r));
    dst->n = src->n;
    return 0;
}

void rset_clear(struct rset *s)
{
    s->n = 0;
    s->r = s->base;
}

int rset_assign(struct rset *dst, const struct rset *src)
{
    rset_clear(dst);
    return rset_copy(dst, src);
}

/* Make r[i] a new, unset slot, moving the shorter side that has room. The
 * caller made sure there is room at one end at least. */
static void open_slot(struct rset *s, size_t i)
{
    if (room_front(s) > 0 && (i < s->n / 2 || room_back(s) == 0)) {
        memmove(s->r - 1, s->r, i * sizeof(*s->r));
        s->r--;
    } else {
        assert(room_back(s) > 0);
        memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
    }
    s->n++;
}

/* Delete r[i..i+d), moving the shorter side. */
static void close_slots(struct rset *s, size_t i, size_t d)
{
    assert(i + d <= s->n);
    if (i < s->n - i - d) {
        memmove(s->r + d, s->r, i * sizeof(*s->r));
        s->r += d;
    } else {
        memmove(&s->r[i], &s->r[i + d], (s->n - i - d) * sizeof(*s->r));
    }
    s->n -= d;
}

size_t rset_lower(const struct rset *s, uint64_t pgno)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (range_end(&s->r[mid]) > pgno)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int rset_overlaps(const struct rset *s, uint64_t pgno, uint64_t count)
{
    size_t i = rset_lower(s, pgno);
    return count > 0 && i < s->n && s->r[i].pgno < pgno + count;
}

int rset_contains(const struct rset *s, uint64_t pgno)
{
    return rset_overlaps(s, pgno, 1);
}

uint64_t rset_pages(const struct rset *s)
{
    uint64_t pages = 0;
    for (size_t i = 0; i < s->n; i++)
        pages += s->r[i].count;
    return pages;
}

int rset_add(struct rset *s, uint64_t pgno, uint64_t count)
{
    uint64_t end = pgno + count;
    size_t i = rset_lower(s, pgno);
    int left, right;

    assert(count > 0 && end > pgno);
    assert(i == s->n || s->r[i].pgno >= end); /* no overlap */
    /* R1: merge with the neighbours the new range touches. */
    left = i > 0 && range_end(&s->r[i - 1]) == pgno;
    right = i < s->n && s->r[i].pgno == end;
    if (left && right) {
        s->r[i - 1].count += count + s->r[i].count;
        close_slots(s, i, 1);
    } else if (left) {
        s->r[i - 1].count += count;
    } else if (right) {
        s->r[i].pgno = pgno;
        s->r[i].count += count;
    } else {
        if (room_front(s) == 0 && rset_reserve(s, 1) < 0)
            return FFDB_ENOMEM;
        open_slot(s, i);
        s->r[i].pgno = pgno;
        s->r[i].count = count;
    }
    return 0;
}

int rset_remove(struct rset *s, uint64_t pgno, uint64_t count)
{
    uint64_t end = pgno + count;
    size_t i = rset_lower(s, pgno), j = rset_lower(s, end);
    struct range keep[2];
    size_t nkeep = 0;

    assert(count > 0 && end > pgno);
    /* Ranges [i, j) intersect [pgno, end) ... and so does j if it starts
     * before end (it then straddles end). */
    if (j < s->n && s->r[j].pgno < end)
        j++;
    if (i >= j)
        return 0;
    if (s->r[i].pgno < pgno)
        keep[nkeep++] = (struct range){s->r[i].pgno, pgno - s->r[i].pgno};
    if (range_end(&s->r[j - 1]) > end)
        keep[nkeep++] = (struct range){end, range_end(&s->r[j - 1]) - end};
    if (nkeep > j - i) { /* one range split in two */
        if (room_front(s) == 0 && rset_reserve(s, 1) < 0)
            return FFDB_ENOMEM;
        open_slot(s, i);
    } else if (nkeep < j - i) {
        close_slots(s, i + nkeep, j - i - nkeep);
    }
    memcpy(&s->r[i], keep, nkeep * sizeof(*keep));
    return 0;
}

size_t rset_first_fit(const struct rset *s, uint64_t count)
{
    size_t i;
    for (i = 0; i < s->n; i++)
        if (s->r[i].count >= count)
            break;
    return i;
}

static int range_cmp(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->pgno < y->pgno ? -1 : x->pgno > y->pgno;
}

/* Append r to out (capacity reserved), merging with the last range (R1). */
static void push_merged(struct range *out, size_t *n, const struct range *r)
{
    if (*n > 0 && range_end(&out[*n - 1]) == r->pgno) {
        out[*n - 1].count += r->count;
        return;
    }
    assert(*n == 0 || range_end(&out[*n - 1]) < r->pgno); /* disjoint */
    out[(*n)++] = *r;
}

int rset_union(struct rset *s, struct range *add, size_t n)
{
    struct range *out;
    size_t i = 0, j = 0, k = 0;

    if (n == 0)
        return 0;
    if (s->n + n < n || s->n + n > SIZE_MAX / sizeof(*out))
        return FFDB_ENOMEM;
    out = mem_alloc((s->n + n) * sizeof(*out));
    if (!out)
        return FFDB_ENOMEM;
    for (size_t q = 1; q < n; q++) {
        if (add[q].pgno < add[q - 1].pgno) { /* one group is sorted already */
            qsort(add, n, sizeof(*add), range_cmp);
            break;
        }
    }
    while (i < s->n || j < n) {
        if (j == n || (i < s->n && s->r[i].pgno < add[j].pgno))
            push_merged(out, &k, &s->r[i++]);
        else
            push_merged(out, &k, &add[j++]);
    }
    mem_free(s->base);
    s->base = s->r = out;
    s->n = k;
    s->cap = i + j; /* out was allocated for every input range */
    return 0;
}

int rset_valid(const struct rset *s)
{
    if (s->n > 0 && (!s->base || s->r < s->base || s->n > s->cap || room_front(s) > s->cap - s->n))
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->r[i].count == 0 || range_end(&s->r[i]) < s->r[i].pgno)
            return 0;
        if (i > 0 && range_end(&s->r[i - 1]) >= s->r[i].pgno)
            return 0;
    }
    return 1;
}
