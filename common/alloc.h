/*
 * alloc.h — every heap allocation of the library goes through these.
 *
 * The library stays allocator-neutral (programs may link jemalloc); the one
 * indirection exists so tests can make the N-th allocation fail and check
 * that every failure path returns FFDB_ENOMEM and leaks nothing.
 */
#ifndef FFDB_COMMON_ALLOC_H
#define FFDB_COMMON_ALLOC_H

#include <stddef.h>

void *mem_alloc(size_t size);
void *mem_calloc(size_t count, size_t size);
void *mem_realloc(void *p, size_t size);
void  mem_free(void *p);
/* Page-aligned memory for direct I/O; size is rounded up to the alignment. */
void *mem_alloc_aligned(size_t align, size_t size);
void  mem_free_aligned(void *p);

/* Testing: fail the n-th allocation from now (1 = the next); 0 disables.
 * mem_fail_pending() says whether the planned failure has not happened yet. */
void mem_fail_after(long n);
int  mem_fail_pending(void);
/* Testing: hold a planned failure back (for work the library does for its
 * own checks, engine/check.c): returns what mem_fail_after() restores. */
long mem_fail_suspend(void);
/* Testing: number of live allocations made through this module. */
long mem_live(void);

#endif /* FFDB_COMMON_ALLOC_H */
