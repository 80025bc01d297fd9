/*
 * hlc.c — the hybrid logical clock of modules/ptr (ptr.h, R4): 48 bits of
 * wall-clock milliseconds and 16 bits of counter in one uint64, so timestamps
 * compare as integers, stay close to real time, and never go backwards when
 * the wall clock does or when a peer's clock runs ahead.
 */
#include <assert.h>

#include "modules/ptr/ptr.h"

uint64_t ptr_hlc_tick(ptr_hlc *c, uint64_t now_ms)
{
    assert(c);
    uint64_t wall = now_ms << PTR_HLC_LOGICAL_BITS;
    /* The counter overflowing into the milliseconds is harmless: it is the
     * same as the wall clock being one millisecond ahead. */
    c->last = wall > c->last ? wall : c->last + 1;
    assert(c->last >= wall);
    return c->last;
}

void ptr_hlc_observe(ptr_hlc *c, uint64_t remote)
{
    assert(c);
    if (remote > c->last)
        c->last = remote;
}
