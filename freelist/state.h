/*
 * state.h — the freelist's in-memory state, shared by freelist.c (the
 * transaction rules) and persist.c (the chain on disk). Private to freelist/.
 *
 * The state is a struct flstate value so that a transaction can keep a deep
 * copy for abort (F4) and fl_txn_prepare() can keep one to undo a failed
 * prepare: save, mutate, then either drop the copy or swap it back in.
 * Swapping back never allocates, so no failure path can itself fail.
 */
#ifndef FFDB_FREELIST_STATE_H
#define FFDB_FREELIST_STATE_H

#include <assert.h>
#include <stdint.h>

#include "freelist/freelist.h"
#include "freelist/ranges.h"

/* Page numbers stay below this, so pgno * page_size (<= 16 KiB) never
 * overflows a 64-bit byte offset. Allocation past it is FFDB_ENOSPC. */
#define FL_PAGE_COUNT_MAX (1ull << 48)
/* Pages 0 and 1 are the metas. */
#define FL_FIRST_PGNO 2u

/* The pages freed by one transaction, waiting for the readers that may still
 * see them to end. */
struct pgroup {
    uint64_t txid;
    struct rset set;
};

struct flstate {
    uint64_t page_count;   /* high-water mark, metas included */
    struct rset reusable;  /* free and invisible to every reader */
    struct pgroup *groups; /* pending, by ascending txid; none is empty */
    size_t ngroups, gcap;
    struct rset index; /* reusable and all pending pages, merged: the
                          O(log n) answer to "is this page free?" */
    struct rset txn;   /* allocated by the current write txn */
};

struct freelist {
    struct flstate cur;
    struct flstate saved; /* cur at fl_txn_begin(), for fl_txn_abort(); between
                             txns only its arrays are kept, for the next copy */
    struct flstate spare; /* fl_txn_prepare()'s backup, kept the same way */
    uint64_t txid;        /* the current write txn; 0 = none */
    int prepared;         /* fl_txn_prepare() succeeded in this txn */
    /* The committed chain, named by the last durable meta. */
    uint64_t root, npages;
    struct rset chain;
    /* The chain written by fl_txn_prepare(), committed by fl_txn_commit(). */
    uint64_t new_root, new_npages;
    struct rset new_chain;
};

void flstate_init(struct flstate *st);
void flstate_free(struct flstate *st);
/* dst (initialized; its content is dropped, its arrays reused) becomes a
 * deep copy of src. On failure dst is left empty. */
int flstate_copy(struct flstate *dst, const struct flstate *src);
/* Exchange two states (never allocates). */
void flstate_swap(struct flstate *a, struct flstate *b);
/* 1 if F1 and the internal agreements (index = reusable + pending) hold.
 * Costs O(ranges); for assertions at transaction boundaries and tests. */
int flstate_valid(const struct flstate *st);
/* flstate_valid() at every transaction boundary only in debug-check builds
 * (-DFFDB_DEBUG_CHECK, make asan): at -O2 it cost a few % per commit. */
#ifdef FFDB_DEBUG_CHECK
#define FL_ASSERT_VALID(st) assert(flstate_valid(st))
#else
#define FL_ASSERT_VALID(st) ((void)0)
#endif

/* Misuse by the caller asserts when this is non-zero (the default) in
 * builds without NDEBUG, and returns FFDB_EINVAL otherwise. Tests clear it
 * to check the release-build path: the error and the untouched state. */
extern int fl_misuse_asserts;
#define FL_MISUSE(what) (assert(!fl_misuse_asserts || !(what)), FFDB_EINVAL)

/* Take count pages (first fit, else the end of the file) for the current txn. */
int fl_alloc_pages(struct freelist *fl, uint64_t count, uint64_t *pgno, int *reused);
/* Free count pages known to be valid (F1 checked by the caller). */
int fl_free_pages(struct freelist *fl, uint64_t pgno, uint64_t count);
/* Entries the serialized freelist needs: the ranges of the merged free set. */
uint64_t fl_entry_count(const struct flstate *st);

#endif /* FFDB_FREELIST_STATE_H */
