/*
 * ranges.h — a set of page ranges kept as a sorted array (private to freelist/).
 *
 * The freelist keeps every set of pages it owns (reusable, each pending
 * group, the free-page index, the pages of the current write txn, the chain)
 * in one of these. Lookups are binary searches; inserts and removals move
 * the tail of the array, which stays cheap because a set holds ranges, not
 * pages: freeing a 1 GiB overflow run is one entry.
 *
 * R1. r[0..n) is sorted by pgno, every count is > 0, and ranges neither
 *     overlap nor touch (r[i].pgno + r[i].count < r[i+1].pgno): rset_add()
 *     merges a range with the neighbours it touches.
 * R2. A mutating function either succeeds or returns FFDB_ENOMEM before it
 *     has changed anything; after rset_reserve(s, k) the next k entries that
 *     inserts or splits need cannot fail (there are k free slots behind r[n),
 *     and a slot taken from the front leaves those alone).
 */
#ifndef FFDB_FREELIST_RANGES_H
#define FFDB_FREELIST_RANGES_H

#include <stddef.h>
#include <stdint.h>

struct range {
    uint64_t pgno;
    uint64_t count;
};

/* The ranges are r[0..n), inside an allocation base[0..cap) with room kept
 * at both ends: an insert or delete moves the shorter side of the array, so
 * work at either end (first fit takes the lowest range; the end of the file
 * grows and shrinks) costs O(1), and one in the middle moves n/2 at most. */
struct rset {
    struct range *r;
    size_t n;
    struct range *base;
    size_t cap;
};

static inline uint64_t range_end(const struct range *r)
{
    return r->pgno + r->count;
}

void rset_init(struct rset *s);
void rset_free(struct rset *s);
/* Make room for extra more ranges (behind the last one). */
int rset_reserve(struct rset *s, size_t extra);
/* dst (initialized, empty) becomes a copy of src. */
int rset_copy(struct rset *dst, const struct rset *src);
/* Empty s, keeping its array. */
void rset_clear(struct rset *s);
/* dst (initialized) becomes a copy of src, in dst's own array when it fits. */
int rset_assign(struct rset *dst, const struct rset *src);

/* Index of the first range ending after pgno (n if none). */
size_t rset_lower(const struct rset *s, uint64_t pgno);
/* 1 if some page of [pgno, pgno + count) is in the set. */
int rset_overlaps(const struct rset *s, uint64_t pgno, uint64_t count);
int rset_contains(const struct rset *s, uint64_t pgno);
/* Pages in the set. */
uint64_t rset_pages(const struct rset *s);

/* Add [pgno, pgno + count), which must not overlap the set. Needs at most
 * one more entry. */
int rset_add(struct rset *s, uint64_t pgno, uint64_t count);
/* Remove whatever part of [pgno, pgno + count) is in the set. Needs at most
 * one more entry (when it splits a range in two). */
int rset_remove(struct rset *s, uint64_t pgno, uint64_t count);
/* Index of the first (lowest) range of at least count pages, or n. */
size_t rset_first_fit(const struct rset *s, uint64_t count);
/* Add n ranges given in any order, disjoint from each other and from the
 * set; add[] is sorted in place. One pass over both. */
int rset_union(struct rset *s, struct range *add, size_t n);

/* 1 if R1 holds (for assertions and tests). */
int rset_valid(const struct rset *s);

#endif /* FFDB_FREELIST_RANGES_H */
