/*
 * alloc.c — the library's allocation wrappers and the failure-injection hook.
 *
 * The counters are atomics because reader threads allocate too; the hook is
 * only armed by single-threaded tests.
 */
#include "common/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_long fail_countdown;
static atomic_long live_allocs;

static int should_fail(void)
{
    long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (n <= 0)
        return 0;
    return atomic_fetch_sub(&fail_countdown, 1) == 1;
}

void mem_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

long mem_fail_suspend(void)
{
    return atomic_exchange(&fail_countdown, 0);
}

int mem_fail_pending(void)
{
    return atomic_load(&fail_countdown) > 0;
}

long mem_live(void)
{
    return atomic_load(&live_allocs);
}

void *mem_alloc(size_t size)
{
    void *p;
    if (should_fail())
        return NULL;
    p = malloc(size ? size : 1);
    if (p)
        atomic_fetch_add_explicit(&live_allocs, 1, memory_order_relaxed);
    return p;
}

void *mem_calloc(size_t count, size_t size)
{
    void *p;
    if (should_fail())
        return NULL;
    p = calloc(count ? count : 1, size ? size : 1);
    if (p)
        atomic_fetch_add_explicit(&live_allocs, 1, memory_order_relaxed);
    return p;
}

void *mem_realloc(void *p, size_t size)
{
    void *q;
    if (!p)
        return mem_alloc(size);
    if (should_fail())
        return NULL;
    q = realloc(p, size ? size : 1);
    return q;
}

void mem_free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub_explicit(&live_allocs, 1, memory_order_relaxed);
    free(p);
}

void *mem_alloc_aligned(size_t align, size_t size)
{
    void *p = NULL;
    if (should_fail())
        return NULL;
    size = (size + align - 1) / align * align;
    if (posix_memalign(&p, align, size ? size : align) != 0)
        return NULL;
    atomic_fetch_add_explicit(&live_allocs, 1, memory_order_relaxed);
    return p;
}

void mem_free_aligned(void *p)
{
    mem_free(p);
}
