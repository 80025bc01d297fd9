/*
 * pool.c — the buffer pool: frames, the pgno -> frame table, pins, clock
 * replacement, dirty bits and spills.
 *
 * Owns every frame of one handle and decides which page lives in which
 * frame. Called by the btree, the engine and (for counters) ffdb_stat, from
 * the writer and from any number of reader threads at once; it calls only
 * the pager. It is also the btree's road to the disk for pages that never
 * enter a frame (run reads and writes, asynchronous batches), so that the
 * rule such writes need — no cached copy may survive them (P6) — is kept
 * here, once. It must never hold a stripe lock across I/O, never wait for a
 * frame while holding another frame exclusively, and never write a page it
 * was told to discard.
 *
 * Concurrency design
 *   - The table is a chained hash: bucket heads (int32 frame indexes) and a
 *     next index per frame. Links change only under stripe lock
 *     b & stripe_mask of their bucket b; there is no global lock. A hit does
 *     not even take the stripe lock: it walks the chain lock-free, pins the
 *     frame whose key is pgno and re-checks the key (probe_fast). Misses,
 *     and anything unsure, go through the locked probe. A hit costs three
 *     cache lines: the bucket head (the low bits of pgno pick it, so a hot
 *     tree's heads are few and cached), the frame (its key, link and pin
 *     count share one line) and the page, whose first line is prefetched
 *     from the frame index before the frame's line arrives.
 *   - frame->pins is the pin count, or FRAME_EXCL alone: a thread that wins
 *     the CAS 0 -> FRAME_EXCL owns the frame outright (to evict, discard or
 *     install it) and no one can pin it meanwhile. A frame's pgno, key and
 *     chain membership change only while it is EXCL and under its stripe
 *     lock (the one exception: a failed loader unlinks its pinned frame).
 *   - A page being read is linked in the table in state LOADING, pinned by
 *     its loader; a second thread missing the same page pins that frame and
 *     waits for VALID or FAILED (published with release, read with acquire).
 *   - The clock hand is an atomic counter; ref bits are relaxed hints. Hits
 *     are counted in per-thread shards with a plain store (no locked add),
 *     misses in the stripe, so no counter is a cache line every reader writes.
 *   - A frame's role (hooked or raw) is set with its pgno and read after a
 *     pin, like the data: the hit paths check it after pinning (P5).
 *     Raw frames are filled while EXCL and unlinked, then installed VALID;
 *     they never pass through LOADING.
 *
 * Frame states (status) and who moves them:
 *
 *     FREE --claim+install(get)--> LOADING --read ok--> VALID
 *       ^                             |                   |
 *       |                        read/verify fails        | evict (claim,
 *       |                             v                   |  spill, unlink)
 *       +------ claim (clock) ---- FAILED                 |  discard
 *       +-------------------------------------------------+
 *     FREE --claim+install(new)--> VALID (dirty)
 *     FREE --claim_clean+fill+install(raw)--> VALID (raw, clean)
 */
#include "bufpool/pool.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/alloc.h"
#include "common/bytes.h"
#include "common/error.h"
#include "common/format.h"
#include "bufpool/sizing.h"
#include "pager/pager.h"

#define POOL_MIN_FRAMES   16u
#define POOL_MAX_FRAMES   (1u << 24)      /* frame indexes are int32 */
#define POOL_MAX_STRIPES  128u            /* power of two */
#define POOL_FLUSH_BATCH  256u            /* pages per pager_write_pages call */
#define CLOCK_PASSES      4u              /* the last one ignores ref bits */
#define DATA_ALIGN        4096u           /* O_DIRECT buffer alignment */
#define CACHE_LINE        64u
#define HIT_SHARDS        64u
#define RAW_CLAIM_SCAN    256u            /* frames a raw install looks at, at most */

#define FRAME_EXCL      0x80000000u
#define FRAME_PIN_MASK  0x7fffffffu
#define NO_FRAME        (-1)
#define SIZE_CHECK_EVERY 1024u            /* claims between looks at memory and file size */

_Static_assert(POOL_MIN_FRAMES >= 4, "the clock needs a few frames");
_Static_assert((POOL_MAX_STRIPES & (POOL_MAX_STRIPES - 1)) == 0, "stripes: power of two");
_Static_assert(POOL_MAX_FRAMES <= (uint32_t)INT32_MAX / 4, "frame indexes fit int32");
_Static_assert(sizeof(struct pool_frame) <= CACHE_LINE / 2, "frame header fits a line");
_Static_assert(POOL_ASYNC_MAX <= PAGER_ASYNC_MAX, "every async batch the pool admits has a slot");

enum frame_status { FS_FREE = 0, FS_LOADING, FS_VALID, FS_FAILED };

/* Who vouches for a frame's contents (P4, P5): the verify hook (pool_get,
 * pool_new), or the caller of pool_install_raw() (a raw page the hook never
 * saw). pool_get serves only FR_HOOKED frames, pool_lookup_raw only FR_RAW. */
enum frame_role { FR_HOOKED = 0, FR_RAW };

/* A frame's place in the table. Lock-free walkers read it on the way to
 * the frame they pin, so it shares the frame's line: a hit costs the bucket
 * head, this line and the page, not a separate link array as well. */
struct link {
    _Atomic uint64_t key;        /* pgno while linked, else PGNO_NONE */
    _Atomic int32_t next;        /* chain link; written under the stripe lock */
};

struct frame {
    struct pool_frame pub;       /* what callers see; must stay first */
    struct link link;            /* changes only when a page enters or leaves */
    _Atomic uint32_t pins;       /* pin count, or FRAME_EXCL */
    _Atomic uint8_t status;      /* enum frame_status */
    _Atomic uint8_t ref;         /* clock reference bit */
    _Atomic uint8_t dirty;
    _Atomic uint8_t role;        /* enum frame_role; set by install (EXCL) or pool_new */
    uint8_t listed;              /* in pool->dirty_list (the writer's alone) */
    int err;                     /* why a load failed; read after FS_FAILED */
} __attribute__((aligned(CACHE_LINE)));

/* Hit counters, sharded by thread: one counter every reader bumped would be
 * a cache line bouncing between all cores on every hit. */
struct hit_shard {
    _Atomic uint64_t hits;
} __attribute__((aligned(CACHE_LINE)));

struct stripe {
    pthread_mutex_t lock;
    _Atomic uint64_t misses;     /* written under lock, read by counters */
} __attribute__((aligned(CACHE_LINE)));

struct pool {
    struct pager *pager;
    size_t page_size;
    /* Frames in use: [0, frame_count) are initialized; a growing pool adds
     * one at a time (under grow_lock, published with release) up to limit,
     * which the sizing policy moves between frame_min and frame_max. Frames
     * at or above limit are emptied by the clock and their memory returned
     * (shrink); a fixed pool has frame_min == frame_max == limit. */
    _Atomic uint32_t frame_count;
    _Atomic uint32_t limit;
    uint32_t frame_min, frame_max;
    int grows;
    pthread_mutex_t grow_lock;
    _Atomic uint64_t claims;     /* victims asked for: paces the size checks */
    size_t frames_bytes, buckets_bytes, data_bytes;  /* the mappings */
    uint32_t bucket_bits;
    uint32_t stripe_mask;
    struct frame *frames;
    struct hit_shard *shards;    /* HIT_SHARDS */
    _Atomic int32_t *buckets;    /* chain heads; written under the stripes */
    struct stripe *stripes;
    uint8_t *data;               /* frame_max * page_size, aligned */
    pool_verify_fn verify;
    void *verify_ctx;
    _Atomic uint64_t hand __attribute__((aligned(CACHE_LINE)));
    _Atomic uint64_t evictions __attribute__((aligned(CACHE_LINE)));
    _Atomic uint64_t spills;
    /* Frames the writer made dirty since the last full flush, each once
     * (frame->listed), so a commit's flush visits those and not every frame
     * of a pool grown large. Entries may be stale (the frame was spilled,
     * dropped or reused since): the flush re-checks each. Writer only.
     * dirty_lost: the list could not grow, the flush scans every frame. */
    uint32_t *dirty_list;
    size_t ndirty, dirty_cap;
    int dirty_lost;
};

/* Result of a table probe that tries to pin. */
enum probe { PROBE_MISS, PROBE_PINNED, PROBE_BUSY };

/* Every page the pool writes names itself, as the pager's read check will
 * demand when it comes back (P4): the writer filled in the header. */
static inline int names_itself(const void *page, uint64_t pgno)
{
    return ld64((const uint8_t *)page + PH_PGNO) == pgno;
}

/* ---- table -------------------------------------------------------------- */

/* Chain links hold ~index, so the zero pages of a fresh mapping read as
 * NO_FRAME: the bucket table is sized for frame_max but costs memory only
 * where frames are linked. */
static inline int32_t idx_load(_Atomic int32_t *p, memory_order mo)
{
    return ~atomic_load_explicit(p, mo);
}

static inline void idx_store(_Atomic int32_t *p, int32_t i, memory_order mo)
{
    atomic_store_explicit(p, ~i, mo);
}

static inline uint32_t frames_in_use(const struct pool *pool)
{
    return atomic_load_explicit(&((struct pool *)pool)->frame_count, memory_order_acquire);
}

/* The low bits of pgno, not a mixing hash: the table has at least as many
 * buckets as the pool has frames, so a file that fits in it gets one page
 * per bucket, and the bucket heads of neighbouring pages share cache lines
 * (the heads a hot tree touches stay few and cached, instead of one line
 * per page spread over the whole table). A larger file wraps around; the
 * engine hands out page numbers densely from 2 up, so no stride of the
 * table size piles pages into one chain. */
static uint32_t bucket_of(const struct pool *pool, uint64_t pgno)
{
    return (uint32_t)(pgno & (((uint64_t)1 << pool->bucket_bits) - 1));
}

static struct stripe *stripe_of(struct pool *pool, uint32_t bucket)
{
    return &pool->stripes[bucket & pool->stripe_mask];
}

static struct frame *frame_of(struct pool_frame *pf)
{
    return (struct frame *)pf;
}

static struct link *link_of(struct frame *f)
{
    return &f->link;
}

/* Caller holds the bucket's stripe lock. */
static struct frame *chain_find(struct pool *pool, uint32_t bucket, uint64_t pgno)
{
    int32_t i = idx_load(&pool->buckets[bucket], memory_order_relaxed);
    while (i != NO_FRAME) {
        struct frame *f = &pool->frames[i];
        if (f->pub.pgno == pgno)
            return f;
        i = idx_load(&pool->frames[i].link.next, memory_order_relaxed);
    }
    return NULL;
}

/* Caller holds the bucket's stripe lock and the frame is in that chain. */
static void chain_unlink(struct pool *pool, uint32_t bucket, struct frame *f)
{
    int32_t idx = (int32_t)(f - pool->frames), i;
    _Atomic int32_t *link = &pool->buckets[bucket];
    while ((i = idx_load(link, memory_order_relaxed)) != idx) {
        assert(i != NO_FRAME);
        link = &pool->frames[i].link.next;
    }
    /* A lock-free walker standing on f still reaches the rest of the chain
     * (or a chain f joins later, then the end): it never loops or faults,
     * at worst it reports a miss and the caller takes the locked path. */
    idx_store(link, idx_load(&link_of(f)->next, memory_order_relaxed), memory_order_release);
    atomic_store_explicit(&link_of(f)->key, PGNO_NONE, memory_order_relaxed);
}

/* Remove frame f (held EXCL, or pinned by its failed loader) from the table. */
static void table_remove(struct pool *pool, struct frame *f)
{
    uint32_t b = bucket_of(pool, f->pub.pgno);
    struct stripe *s = stripe_of(pool, b);
    assert(f->pub.pgno != PGNO_NONE);
    pthread_mutex_lock(&s->lock);
    chain_unlink(pool, b, f);
    pthread_mutex_unlock(&s->lock);
}

/* ---- pins ----------------------------------------------------------------- */

/* Pin f unless it is claimed exclusively. The caller then checks that f
 * still holds its page: under the stripe lock it must (it was found in the
 * chain), lock-free the key is re-read (probe_fast). Acquire: pairs with the
 * release that published the frame's key, data and status. */
static int try_pin(struct frame *f)
{
    uint32_t p = atomic_load_explicit(&f->pins, memory_order_relaxed);
    do {
        if (p & FRAME_EXCL)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&f->pins, &p, p + 1, memory_order_acquire,
                                                    memory_order_relaxed));
    return 1;
}

/* Claim an unpinned frame outright (pins 0 -> EXCL). P1: this is the only
 * way to a frame's pgno and data, and it fails while any pin is held. */
static int try_claim(struct frame *f)
{
    uint32_t zero = 0;
    return atomic_compare_exchange_strong_explicit(&f->pins, &zero, FRAME_EXCL,
                                                   memory_order_acquire, memory_order_relaxed);
}

/* Give up an exclusive claim; release publishes what the owner changed. */
static void release_excl(struct frame *f, uint32_t new_pins)
{
    assert(atomic_load_explicit(&f->pins, memory_order_relaxed) == FRAME_EXCL);
    atomic_store_explicit(&f->pins, new_pins, memory_order_release);
}

static void set_ref(struct frame *f)
{
    if (!atomic_load_explicit(&f->ref, memory_order_relaxed))
        atomic_store_explicit(&f->ref, 1, memory_order_relaxed);
}

static atomic_uint next_shard;
static _Thread_local unsigned my_shard;     /* 1 + shard index, 0 = unset */

static void count_hit(struct pool *pool, struct frame *f)
{
    if (!my_shard)
        my_shard = 1 + atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % HIT_SHARDS;
    /* A plain load and store, not a locked add: a shard is one thread's
     * (unless more than HIT_SHARDS threads read), so the count stays exact,
     * and a hit costs no atomic operation besides its pin. */
    _Atomic uint64_t *c = &pool->shards[my_shard - 1].hits;
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    set_ref(f);
}

/* Bump a stripe counter; the caller holds the stripe lock, so a plain
 * load and store suffice (atomic only so counters can be read racily). */
static void count(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Find pgno and pin it. PROBE_BUSY: it is claimed by an evictor or a
 * discard that will finish soon; the caller yields and probes again. */
static enum probe probe_pin(struct pool *pool, uint64_t pgno, struct frame **out)
{
    uint32_t b = bucket_of(pool, pgno);
    struct stripe *s = stripe_of(pool, b);
    enum probe r = PROBE_MISS;

    pthread_mutex_lock(&s->lock);
    struct frame *f = chain_find(pool, b, pgno);
    if (f) {
        r = try_pin(f) ? PROBE_PINNED : PROBE_BUSY;
        if (r == PROBE_PINNED) {
            count_hit(pool, f);
            *out = f;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

/* The lock-free hit path: walk the chain without the stripe lock, pin the
 * frame that carries pgno, then check it still does. The check is sound
 * because a key changes only under EXCL (impossible while we hold a pin) or
 * when a failed loader unlinks its frame; then status says FS_FAILED, as it
 * would for a waiter that pinned just before the unlink. Returns NULL when
 * unsure; the caller then takes the locked path, which decides misses. */
static struct frame *probe_fast(struct pool *pool, uint64_t pgno)
{
    uint32_t b = bucket_of(pool, pgno);
    int32_t i = idx_load(&pool->buckets[b], memory_order_acquire);

    for (uint32_t steps = 0; i != NO_FRAME && steps < pool->frame_max; steps++) {
        struct link *l = &pool->frames[i].link;
        /* The page's address follows from the index alone: start loading
         * its header while the frame's line comes in. */
        __builtin_prefetch(pool->data + (size_t)i * pool->page_size);
        if (atomic_load_explicit(&l->key, memory_order_relaxed) == pgno) {
            struct frame *f = &pool->frames[i];
            if (!try_pin(f))
                return NULL;
            if (atomic_load_explicit(&l->key, memory_order_relaxed) == pgno) {
                count_hit(pool, f);
                return f;
            }
            atomic_fetch_sub_explicit(&f->pins, 1, memory_order_release);
            return NULL;
        }
        i = idx_load(&l->next, memory_order_acquire);
    }
    return NULL;
}

/* ---- victims -------------------------------------------------------------- */

/* Make a freshly claimed frame empty: spill it if dirty (P3), unlink it.
 * On a write error the frame goes back as it was and the error is returned. */
static int empty_victim(struct pool *pool, struct frame *f)
{
    uint8_t st = atomic_load_explicit(&f->status, memory_order_relaxed);

    assert(atomic_load_explicit(&f->pins, memory_order_relaxed) == FRAME_EXCL); /* P1 */
    /* P3: pins == 0 means the writer is not touching the data, and the
     * acquire of the claim made its last changes visible. */
    if (atomic_load_explicit(&f->dirty, memory_order_relaxed)) {
        struct pager_page pp = { f->pub.pgno, f->pub.data };
        int rc;
        assert(st == FS_VALID && names_itself(f->pub.data, f->pub.pgno));
        assert(atomic_load_explicit(&f->role, memory_order_relaxed) == FR_HOOKED); /* P3 */
        rc = pager_write_pages(pool->pager, &pp, 1);
        if (rc < 0) {
            release_excl(f, 0);
            return rc;
        }
        atomic_store_explicit(&f->dirty, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&pool->spills, 1, memory_order_relaxed);
    }
    /* A LOADING frame is always pinned by its loader, so it cannot be here. */
    assert(st != FS_LOADING);
    if (st == FS_VALID) {
        table_remove(pool, f);
        atomic_fetch_add_explicit(&pool->evictions, 1, memory_order_relaxed);
    }
    atomic_store_explicit(&f->status, FS_FREE, memory_order_relaxed);
    return 0;
}

/* ---- sizing: growing and shrinking ------------------------------------------- */

/* Frame i enters use, claimed (EXCL) for the caller. Its memory is the zero
 * pages of the mappings until now. Caller holds grow_lock. */
static struct frame *init_frame(struct pool *pool, uint32_t i, uint32_t pins)
{
    struct frame *f = &pool->frames[i];
    f->pub.data = pool->data + (size_t)i * pool->page_size;
    f->pub.pgno = PGNO_NONE;
    atomic_init(&pool->frames[i].link.key, PGNO_NONE);
    idx_store(&pool->frames[i].link.next, NO_FRAME, memory_order_relaxed);
    atomic_init(&f->pins, pins);
    return f;
}

/* A growing pool below its limit takes a fresh frame instead of evicting:
 * the pool fills on demand. NULL when the pool is at its limit. */
static struct frame *try_grow(struct pool *pool)
{
    struct frame *f = NULL;
    if (!pool->grows || frames_in_use(pool) >= atomic_load_explicit(&pool->limit,
                                                                    memory_order_relaxed))
        return NULL;
    pthread_mutex_lock(&pool->grow_lock);
    uint32_t n = atomic_load_explicit(&pool->frame_count, memory_order_relaxed);
    if (n < atomic_load_explicit(&pool->limit, memory_order_relaxed) && n < pool->frame_max) {
        f = init_frame(pool, n, FRAME_EXCL);
        /* Release: whoever sees the new count sees the frame initialized. */
        atomic_store_explicit(&pool->frame_count, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&pool->grow_lock);
    return f;
}

/* The sizing policy of a growing pool (pool.h): the limit follows the file
 * (its size and a quarter more, for the pages it is about to gain) up to
 * frame_max (a quarter of the machine's memory); when available memory
 * falls under 1/16 of the total the limit drops by a quarter of what is in
 * use (the clock then empties the frames above it and returns their
 * memory), under 1/8 it does not rise, and above that it follows the file
 * again. Called every SIZE_CHECK_EVERY claims, so its cost (a read of
 * /proc/meminfo) is spread over that many misses. */
static void adjust_limit(struct pool *pool)
{
    uint64_t file = pager_known_pages(pool->pager), want = file + file / 4;
    uint32_t lim = atomic_load_explicit(&pool->limit, memory_order_relaxed);
    uint32_t used = frames_in_use(pool), next;
    uint64_t total = sizing_memory_total(), avail = sizing_memory_available();

    if (want > pool->frame_max)
        want = pool->frame_max;
    if (want < pool->frame_min)
        want = pool->frame_min;
    if (used > lim)
        used = lim;
    if (avail < total / 16)
        next = used - used / 4;
    else if (avail < total / 8)
        next = lim < want ? lim : (uint32_t)want;
    else
        next = (uint32_t)want;
    if (next < pool->frame_min)
        next = pool->frame_min;
    atomic_store_explicit(&pool->limit, next, memory_order_relaxed);
}

/* Frame f (index at or above the limit) leaves use: emptied like a victim
 * and its page memory handed back to the system. Not an error if it cannot
 * be claimed or spilled now; the clock comes back. */
static void shed_frame(struct pool *pool, struct frame *f)
{
    if (atomic_load_explicit(&f->status, memory_order_relaxed) == FS_FREE ||
        atomic_load_explicit(&f->pins, memory_order_relaxed) != 0 || !try_claim(f))
        return;
    if (empty_victim(pool, f) < 0)     /* the spill failed: f is back as it was */
        return;
    madvise(f->pub.data, pool->page_size, MADV_DONTNEED);
    atomic_store_explicit(&f->ref, 0, memory_order_relaxed);
    release_excl(f, 0);
}

/* Clock: claim an unpinned frame, clearing ref bits as the hand passes.
 * The last pass ignores ref bits so hot but unpinned frames still count;
 * if that finds nothing either, every frame is pinned (or being claimed). */
static int claim_victim(struct pool *pool, uint64_t pgno, struct frame **out)
{
    if (pool->grows) {
        uint64_t c = atomic_fetch_add_explicit(&pool->claims, 1, memory_order_relaxed);
        if (c % SIZE_CHECK_EVERY == SIZE_CHECK_EVERY - 1)
            adjust_limit(pool);
        if ((*out = try_grow(pool)) != NULL)
            return 0;
    }
    uint32_t n = frames_in_use(pool);
    uint32_t lim = atomic_load_explicit(&pool->limit, memory_order_relaxed);

    assert(n >= POOL_MIN_FRAMES); /* try_grow fails only at the limit, >= frame_min */
    for (uint32_t pass = 0; pass < CLOCK_PASSES; pass++) {
        int honor_ref = pass + 1 < CLOCK_PASSES;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t h = atomic_fetch_add_explicit(&pool->hand, 1, memory_order_relaxed);
            uint32_t idx = (uint32_t)(h % n);
            struct frame *f = &pool->frames[idx];
            if (idx >= lim) {          /* shrinking: this frame leaves use */
                shed_frame(pool, f);
                continue;
            }
            if (atomic_load_explicit(&f->pins, memory_order_relaxed) != 0)
                continue;
            if (honor_ref && atomic_load_explicit(&f->ref, memory_order_relaxed)) {
                atomic_store_explicit(&f->ref, 0, memory_order_relaxed);
                continue;
            }
            if (!try_claim(f))
                continue;
            CHECK(empty_victim(pool, f));
            assert(atomic_load_explicit(&f->status, memory_order_relaxed) == FS_FREE);
            *out = f;
            return 0;
        }
        if (pass > 0)
            sched_yield();
    }
    return ERR_RAISE(FFDB_EPOOLFULL, pgno, "buffer pool full: all %u frames pinned", n);
}

/* Link claimed, empty frame v under pgno with the given status and role and
 * pin it once (EXCL -> 1). If pgno appeared meanwhile (another thread loaded
 * it), v goes back free and the existing frame is pinned instead (P2). */
static enum probe install(struct pool *pool, struct frame *v, uint64_t pgno, uint8_t status,
                          uint8_t role, struct frame **out)
{
    uint32_t b = bucket_of(pool, pgno);
    struct stripe *s = stripe_of(pool, b);
    enum probe r;

    /* v is claimed and empty: in no chain, so pgno cannot meet it (P2). */
    assert(pgno != PGNO_NONE && atomic_load_explicit(&v->pins, memory_order_relaxed) == FRAME_EXCL);
    assert(atomic_load_explicit(&v->status, memory_order_relaxed) == FS_FREE);
    pthread_mutex_lock(&s->lock);
    struct frame *f = chain_find(pool, b, pgno);
    if (f) {
        atomic_store_explicit(&v->dirty, 0, memory_order_relaxed);
        atomic_store_explicit(&v->ref, 0, memory_order_relaxed);
        release_excl(v, 0);
        r = try_pin(f) ? PROBE_PINNED : PROBE_BUSY;
        if (r == PROBE_PINNED) {
            count_hit(pool, f);
            *out = f;
        }
    } else {
        v->pub.pgno = pgno;
        atomic_store_explicit(&link_of(v)->key, pgno, memory_order_relaxed);
        atomic_store_explicit(&v->status, status, memory_order_relaxed);
        atomic_store_explicit(&v->role, role, memory_order_relaxed);
        atomic_store_explicit(&v->ref, 1, memory_order_relaxed);
        idx_store(&link_of(v)->next, idx_load(&pool->buckets[b], memory_order_relaxed),
                  memory_order_relaxed);
        /* Release: a lock-free walker that sees v sees its key and link. */
        idx_store(&pool->buckets[b], (int32_t)(v - pool->frames), memory_order_release);
        count(&s->misses);
        release_excl(v, 1);
        *out = v;
        r = PROBE_MISS;
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

/* ---- loading -------------------------------------------------------------- */

/* Read pgno into f (linked, LOADING, pinned by us) and publish the result.
 * P4: only a page that passed the pager and the verify hook becomes VALID. */
static int load_frame(struct pool *pool, struct frame *f, uint64_t pgno)
{
    int rc;
    assert(f->pub.pgno == pgno && atomic_load_explicit(&f->status, memory_order_relaxed) == FS_LOADING);
    rc = pager_read_page(pool->pager, pgno, f->pub.data);
    if (rc == 0 && pool->verify)
        rc = pool->verify(pool->verify_ctx, f->pub.data, pgno);
    if (rc == 0) {
        atomic_store_explicit(&f->status, FS_VALID, memory_order_release);
        return 0;
    }
    /* Unlink first so a later pool_get retries the read in a fresh frame;
     * waiters already pinned here see FS_FAILED and return the same code. */
    f->err = rc;
    table_remove(pool, f);
    atomic_store_explicit(&f->status, FS_FAILED, memory_order_release);
    atomic_store_explicit(&f->ref, 0, memory_order_relaxed);
    atomic_fetch_sub_explicit(&f->pins, 1, memory_order_release);
    return rc;
}

/* f is pinned by us and may still be loading on another thread. */
static int await_loaded(struct frame *f, uint64_t pgno)
{
    uint8_t st;
    while ((st = atomic_load_explicit(&f->status, memory_order_acquire)) == FS_LOADING)
        sched_yield();
    if (st == FS_VALID)
        return 0;
    assert(st == FS_FAILED);
    int rc = f->err;
    atomic_fetch_sub_explicit(&f->pins, 1, memory_order_release);
    return ERR_RAISE(rc, pgno, "page %llu: read failed on another thread (%s)",
                     (unsigned long long)pgno, ffdb_strerror(rc));
}

/* ---- public: lifecycle ------------------------------------------------------ */

static void pool_free(struct pool *pool, uint32_t locks_inited)
{
    for (uint32_t i = 0; i < locks_inited; i++)
        pthread_mutex_destroy(&pool->stripes[i].lock);
    if (locks_inited)
        pthread_mutex_destroy(&pool->grow_lock);
    if (pool->data)
        munmap(pool->data, pool->data_bytes);
    if (pool->buckets)
        munmap((void *)pool->buckets, pool->buckets_bytes);
    if (pool->frames)
        munmap(pool->frames, pool->frames_bytes);
    free(pool->dirty_list);
    mem_free_aligned(pool->stripes);    /* the shards share this block */
    mem_free(pool);
}

/* Anonymous memory, zero until touched, that costs nothing until then (so a
 * growing pool reserves its cap at open and pays per frame in use). */
static void *map_zero(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Four blocks: stripes + hit shards (cache-line aligned, allocated), and
 * three mappings sized for frame_max: frames (with their links), bucket heads, and the
 * page data (page aligned, as direct I/O needs). The mappings start zero,
 * which the encodings rely on (FS_FREE, ~index links); frames enter use
 * through init_frame(). */
static int pool_alloc_parts(struct pool *pool)
{
    size_t n = pool->frame_max, nb = (size_t)1 << pool->bucket_bits;
    size_t nstripes = pool->stripe_mask + 1;
    size_t lines = nstripes * sizeof(struct stripe) + HIT_SHARDS * sizeof(struct hit_shard);

    _Static_assert(FS_FREE == 0 && ~NO_FRAME == 0, "zero pages are free frames and empty links");
    _Static_assert(DATA_ALIGN <= 4096, "mappings are page aligned");
    pool->stripes = mem_alloc_aligned(CACHE_LINE, lines);
    if (!pool->stripes)
        return FFDB_ENOMEM;
    pool->frames_bytes = n * sizeof(struct frame);
    pool->buckets_bytes = nb * sizeof(*pool->buckets);
    pool->data_bytes = n * pool->page_size;
    pool->frames = map_zero(pool->frames_bytes);
    pool->buckets = map_zero(pool->buckets_bytes);
    pool->data = map_zero(pool->data_bytes);
    if (!pool->frames || !pool->buckets || !pool->data)
        return FFDB_ENOMEM;
    /* Transparent huge pages where the system allows them on request: a
     * random read touches a bucket head, a frame and a page, each of which
     * would otherwise miss the TLB as well as the cache. Frames fill the
     * mappings from the front, so the huge pages fill as the pool grows;
     * a shed frame's madvise(DONTNEED) splits its huge page. A hint only. */
    madvise(pool->data, pool->data_bytes, MADV_HUGEPAGE);
    madvise(pool->frames, pool->frames_bytes, MADV_HUGEPAGE);
    madvise((void *)pool->buckets, pool->buckets_bytes, MADV_HUGEPAGE);
    pool->shards = (struct hit_shard *)(pool->stripes + nstripes);
    memset(pool->stripes, 0, lines);
    /* A growing pool starts empty and takes frames as it misses; a fixed
     * one has them all from the start. */
    uint32_t start = pool->grows ? 0 : pool->frame_min;
    for (uint32_t i = 0; i < start; i++)
        init_frame(pool, i, 0);
    atomic_init(&pool->frame_count, start);
    atomic_init(&pool->limit, pool->frame_min);
    return 0;
}

/* The cap of a growing pool: a quarter of the memory the process may use
 * (physical memory or its cgroup's limit), in frames. */
static uint32_t growth_cap(size_t page_size, size_t frame_min)
{
    uint64_t frames = sizing_memory_total() / 4 / page_size;
    if (frames > POOL_MAX_FRAMES)
        frames = POOL_MAX_FRAMES;
    return frames < frame_min ? (uint32_t)frame_min : (uint32_t)frames;
}

int pool_open(struct pager *pager, size_t frame_count, int grow, pool_verify_fn verify,
              void *verify_ctx, struct pool **out)
{
    struct pool *pool;
    uint32_t inited = 0;
    int rc;

    assert(out);
    *out = NULL;
    if (!pager || frame_count < POOL_MIN_FRAMES || frame_count > POOL_MAX_FRAMES)
        return ERR_RAISE(FFDB_EINVAL, PGNO_NONE, "buffer pool: %zu frames (allowed %u..%u)",
                         frame_count, POOL_MIN_FRAMES, POOL_MAX_FRAMES);
    pool = mem_calloc(1, sizeof(*pool));
    if (!pool)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "buffer pool: out of memory");
    pool->pager = pager;
    pool->page_size = pager_page_size(pager);
    pool->frame_min = (uint32_t)frame_count;
    pool->frame_max = grow ? growth_cap(pool->page_size, frame_count) : (uint32_t)frame_count;
    pool->grows = pool->frame_max > pool->frame_min;
    pool->verify = verify;
    pool->verify_ctx = verify_ctx;
    pool->bucket_bits = 1;
    /* Load factor <= 1/2 for a fixed pool, <= 1 for a growing one at its
     * cap (the table is sized once: lock-free walkers forbid rehashing). */
    while (((size_t)1 << pool->bucket_bits) < (pool->grows ? 1 : 2) * (size_t)pool->frame_max)
        pool->bucket_bits++;
    pool->stripe_mask = POOL_MAX_STRIPES - 1;
    if ((1u << pool->bucket_bits) < POOL_MAX_STRIPES)
        pool->stripe_mask = (1u << pool->bucket_bits) - 1;
    rc = pool_alloc_parts(pool);
    if (rc == 0 && pthread_mutex_init(&pool->grow_lock, NULL) != 0)
        rc = FFDB_ENOMEM;
    for (; rc == 0 && inited <= pool->stripe_mask; inited++)
        if (pthread_mutex_init(&pool->stripes[inited].lock, NULL) != 0)
            rc = FFDB_ENOMEM;
    if (rc < 0) {
        pool_free(pool, inited);
        return ERR_RAISE(rc, PGNO_NONE, "buffer pool: out of memory for %zu frames", frame_count);
    }
    if (pool->grows)
        adjust_limit(pool);
    *out = pool;
    return 0;
}

void pool_close(struct pool *pool)
{
    if (!pool)
        return;
    for (uint32_t i = 0; i < frames_in_use(pool); i++)
        assert(atomic_load(&pool->frames[i].pins) == 0);
    pool_free(pool, pool->stripe_mask + 1);
}

/* ---- public: pin and unpin ----------------------------------------------- */

/* Drop f (held EXCL, linked under its pgno) without writing it (P3's one
 * exception). Caller holds f's stripe lock. */
static void drop_claimed(struct pool *pool, uint32_t bucket, struct frame *f)
{
    chain_unlink(pool, bucket, f);
    atomic_store_explicit(&f->dirty, 0, memory_order_relaxed);
    atomic_store_explicit(&f->ref, 0, memory_order_relaxed);
    atomic_store_explicit(&f->status, FS_FREE, memory_order_relaxed);
    release_excl(f, 0);
}

/* Drop the raw frame cached for pgno, if it is still there and unpinned;
 * if a raw reader holds it, yield so it can finish. */
static void drop_raw(struct pool *pool, uint64_t pgno)
{
    uint32_t b = bucket_of(pool, pgno);
    struct stripe *s = stripe_of(pool, b);
    int dropped = 0;

    pthread_mutex_lock(&s->lock);
    struct frame *f = chain_find(pool, b, pgno);
    if (f && atomic_load_explicit(&f->role, memory_order_relaxed) == FR_RAW && try_claim(f)) {
        /* Raw frames are never dirty: dropping one loses nothing (P3). */
        assert(!atomic_load_explicit(&f->dirty, memory_order_relaxed));
        drop_claimed(pool, b, f);
        dropped = 1;
    }
    pthread_mutex_unlock(&s->lock);
    if (!dropped)
        sched_yield();
}

int pool_get(struct pool *pool, uint64_t pgno, struct pool_frame **out)
{
    struct frame *f = NULL, *v;

    for (;;) {
        enum probe r = PROBE_PINNED;
        f = probe_fast(pool, pgno);
        if (!f)
            r = probe_pin(pool, pgno, &f);
        if (r == PROBE_BUSY) {
            sched_yield();
            continue;
        }
        if (r == PROBE_MISS) {
            CHECK(claim_victim(pool, pgno, &v));
            r = install(pool, v, pgno, FS_LOADING, FR_HOOKED, &f);
            if (r == PROBE_BUSY)
                continue;
            if (r == PROBE_MISS) {
                CHECK(load_frame(pool, f, pgno));
                *out = &f->pub;
                return 0;
            }
        }
        /* Pinned a cached frame; P1 keeps it ours while we wait. */
        CHECK(await_loaded(f, pgno));
        assert(f->pub.pgno == pgno); /* P1, P2 */
        if (atomic_load_explicit(&f->role, memory_order_relaxed) == FR_HOOKED) {
            *out = &f->pub;
            return 0;
        }
        /* P5: a raw page never passed the hook. Drop it and read the page
         * again, so the hook decides (it rejects an overflow page). */
        atomic_fetch_sub_explicit(&f->pins, 1, memory_order_release);
        drop_raw(pool, pgno);
    }
}

/* Take the cached stale copy of pgno for pool_new(): 1 = pinned in *out,
 * 0 = not cached, -1 = an evictor has claimed it (try again), or
 * FFDB_CORRUPT if someone holds a pin on a page that is being created. */
static int take_stale(struct pool *pool, uint64_t pgno, struct frame **out)
{
    uint32_t b = bucket_of(pool, pgno);
    struct stripe *s = stripe_of(pool, b);
    int r = 0;

    pthread_mutex_lock(&s->lock);
    struct frame *f = chain_find(pool, b, pgno);
    if (f) {
        uint32_t seen = 0;
        if (atomic_compare_exchange_strong_explicit(&f->pins, &seen, 1, memory_order_acquire,
                                                    memory_order_relaxed))
            r = 1;
        else
            r = seen == FRAME_EXCL ? -1 : FFDB_CORRUPT;
        *out = f;
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

/* Note f in the dirty list (the writer made it dirty). A list that cannot
 * grow costs only speed (the flush scans every frame), so it uses plain
 * realloc, outside the allocation-failure tests' counting. */
static void list_dirty(struct pool *pool, struct frame *f)
{
    if (f->listed || pool->dirty_lost)
        return;
    if (pool->ndirty == pool->dirty_cap) {
        size_t cap = pool->dirty_cap ? 2 * pool->dirty_cap : 256;
        uint32_t *l = realloc(pool->dirty_list, cap * sizeof(*l));
        if (!l) {
            pool->dirty_lost = 1;
            return;
        }
        pool->dirty_list = l;
        pool->dirty_cap = cap;
    }
    f->listed = 1;
    pool->dirty_list[pool->ndirty++] = (uint32_t)(f - pool->frames);
}

/* Empty the dirty list: every frame on it is clean or not the writer's. */
static void list_reset(struct pool *pool)
{
    for (size_t i = 0; i < pool->ndirty; i++)
        pool->frames[pool->dirty_list[i]].listed = 0;
    pool->ndirty = 0;
    if (pool->dirty_lost) {
        for (uint32_t i = 0, n = frames_in_use(pool); i < n; i++)
            pool->frames[i].listed = 0;
        pool->dirty_lost = 0;
    }
}

int pool_new(struct pool *pool, uint64_t pgno, struct pool_frame **out)
{
    CHECK(pool_new_raw(pool, pgno, out));
    memset((*out)->data, 0, pool->page_size);
    return 0;
}

int pool_new_raw(struct pool *pool, uint64_t pgno, struct pool_frame **out)
{
    struct frame *f = NULL, *v;

    for (;;) {
        int r = take_stale(pool, pgno, &f);
        /* Someone still reads the page being created: it was handed out as
         * free while a tree still reaches it, which only a damaged file
         * (freelist and tree disagree) can cause. */
        if (r == FFDB_CORRUPT)
            return ERR_CORRUPT(pgno, "page %llu is allocated while a reader uses it",
                               (unsigned long long)pgno);
        if (r < 0) {
            sched_yield();
            continue;
        }
        if (r == 0) {
            CHECK(claim_victim(pool, pgno, &v));
            enum probe p = install(pool, v, pgno, FS_VALID, FR_HOOKED, &f);
            if (p == PROBE_BUSY)
                continue;
        }
        assert(atomic_load_explicit(&f->status, memory_order_relaxed) == FS_VALID);
        assert(f->pub.pgno == pgno && (atomic_load(&f->pins) & FRAME_PIN_MASK) >= 1); /* P1 */
        /* A stale raw copy taken over becomes the writer's own page. */
        atomic_store_explicit(&f->role, FR_HOOKED, memory_order_relaxed);
        atomic_store_explicit(&f->dirty, 1, memory_order_relaxed);
        list_dirty(pool, f);
        set_ref(f);
        *out = &f->pub;
        return 0;
    }
}

void pool_unpin(struct pool *pool, struct pool_frame *frame)
{
    struct frame *f = frame_of(frame);
    (void)pool;
    /* Release: the writer's changes to the data happen before any later
     * claim (acquire) that may spill them. */
    uint32_t old = atomic_fetch_sub_explicit(&f->pins, 1, memory_order_release);
    assert((old & FRAME_PIN_MASK) > 0 && !(old & FRAME_EXCL));
    (void)old;
}

void pool_mark_dirty(struct pool *pool, struct pool_frame *frame)
{
    struct frame *f = frame_of(frame);
    (void)pool;
    assert((atomic_load(&f->pins) & FRAME_PIN_MASK) > 0);
    assert(atomic_load_explicit(&f->role, memory_order_relaxed) == FR_HOOKED); /* P3 */
    atomic_store_explicit(&f->dirty, 1, memory_order_relaxed);
    list_dirty(pool, f);
}

/* ---- public: discard and flush ---------------------------------------------- */

void pool_discard(struct pool *pool, uint64_t pgno)
{
    uint32_t b = bucket_of(pool, pgno);
    struct stripe *s = stripe_of(pool, b);

    assert(pgno != PGNO_NONE);
    for (;;) {
        pthread_mutex_lock(&s->lock);
        struct frame *f = chain_find(pool, b, pgno);
        if (f && try_claim(f)) {
            drop_claimed(pool, b, f);
            f = NULL;
        }
        /* The page is normally not pinned. If it is anyway (a damaged file
         * handed out a page a reader still reaches), keep it: P1 wins. If an
         * evictor holds it, wait until it is gone. */
        uint32_t p = f ? atomic_load(&f->pins) : 0;
        pthread_mutex_unlock(&s->lock);
        if (p != FRAME_EXCL)
            return;
        sched_yield();
    }
}

void pool_discard_dirty(struct pool *pool)
{
    int left = 0;
    for (uint32_t i = 0, n = frames_in_use(pool); i < n; i++) {
        struct frame *f = &pool->frames[i];
        while (atomic_load_explicit(&f->dirty, memory_order_relaxed)) {
            if (!try_claim(f)) {
                /* The writer unpinned everything, so a claim is an evictor
                 * spilling it (afterwards it is clean, or back); a pin can
                 * only be a reader of a damaged file: leave that frame. */
                uint32_t p = atomic_load(&f->pins);
                if (p != FRAME_EXCL) {
                    left = 1;
                    break;
                }
                sched_yield();
                continue;
            }
            if (atomic_load_explicit(&f->dirty, memory_order_relaxed)) {
                uint32_t b = bucket_of(pool, f->pub.pgno);
                struct stripe *s = stripe_of(pool, b);
                pthread_mutex_lock(&s->lock);
                drop_claimed(pool, b, f);
                pthread_mutex_unlock(&s->lock);
            } else {
                release_excl(f, 0);
            }
        }
    }
    list_reset(pool);
    pool->dirty_lost = left; /* a frame left dirty: the next flush scans them all */
}

/* Pin pgno if it is cached and dirty. 1 = pinned, 0 = nothing to write. */
static int pin_if_dirty(struct pool *pool, uint64_t pgno, struct frame **out)
{
    for (;;) {
        struct frame *f;
        enum probe r = probe_pin(pool, pgno, &f);
        if (r == PROBE_MISS)
            return 0;
        if (r == PROBE_PINNED) {
            if (atomic_load_explicit(&f->dirty, memory_order_relaxed)) {
                *out = f;
                return 1;
            }
            atomic_fetch_sub_explicit(&f->pins, 1, memory_order_release);
            return 0;
        }
        /* Being spilled: wait, because a failed spill leaves it dirty. */
        sched_yield();
    }
}

/* Write the pinned frames of batch, mark them clean, unpin them. */
static int flush_batch(struct pool *pool, struct frame **batch, struct pager_page *pages, size_t n)
{
    int rc = 0;
    assert(n <= POOL_FLUSH_BATCH);
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        /* pin_if_dirty: pinned and dirty, so no one else writes or drops it. */
        assert(atomic_load_explicit(&batch[i]->dirty, memory_order_relaxed));
        assert(names_itself(batch[i]->pub.data, batch[i]->pub.pgno));
        pages[i].pgno = batch[i]->pub.pgno;
        pages[i].data = batch[i]->pub.data;
    }
    rc = pager_write_pages(pool->pager, pages, n);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            atomic_store_explicit(&batch[i]->dirty, 0, memory_order_relaxed);
        atomic_fetch_sub_explicit(&batch[i]->pins, 1, memory_order_release);
    }
    return rc;
}

/* Next page to consider in [lo, hi): probing every pgno when the range is
 * small, otherwise only the pgnos of dirty frames (the range may be huge). */
static int next_candidate(struct pool *pool, int by_frame, uint64_t *cursor, uint64_t lo,
                          uint64_t hi, uint64_t *pgno)
{
    if (!by_frame) {
        if (*cursor >= hi)
            return 0;
        *pgno = (*cursor)++;
        return 1;
    }
    for (;;) {
        struct frame *f;
        if (pool->dirty_lost) {
            if (*cursor >= frames_in_use(pool))
                return 0;
            f = &pool->frames[(*cursor)++];
        } else {
            if (*cursor >= pool->ndirty)
                return 0;
            f = &pool->frames[pool->dirty_list[(*cursor)++]];
        }
        uint64_t k = atomic_load_explicit(&f->link.key, memory_order_relaxed);
        if (atomic_load_explicit(&f->dirty, memory_order_relaxed) && k >= lo && k < hi) {
            *pgno = k;
            return 1;
        }
    }
}

int pool_flush_range(struct pool *pool, uint64_t pgno, uint64_t count)
{
    struct frame *batch[POOL_FLUSH_BATCH];
    struct pager_page pages[POOL_FLUSH_BATCH];
    /* Keep most frames unpinned so readers can still load pages. */
    size_t frames = frames_in_use(pool);
    /* A growing pool takes a new frame for a reader rather than wait, so
     * its batches are sized by its limit: sized by the few frames a young
     * pool holds, a commit went out one page per write (one device round
     * trip each, the durable commit's main cost after its flush). */
    size_t room = pool->grows ? atomic_load_explicit(&pool->limit, memory_order_relaxed) : frames;
    size_t cap = room / 4 < POOL_FLUSH_BATCH ? room / 4 : POOL_FLUSH_BATCH;
    if (cap == 0)       /* a growing pool that has not taken frames yet */
        cap = 1;
    uint64_t hi = count > UINT64_MAX - pgno ? UINT64_MAX : pgno + count;
    /* Every dirty frame is on the list (or dirty_lost): visit those. */
    int by_frame = count > frames || count > pool->ndirty;
    uint64_t cursor = by_frame ? 0 : pgno, p;
    size_t n = 0;

    while (next_candidate(pool, by_frame, &cursor, pgno, hi, &p)) {
        if (!pin_if_dirty(pool, p, &batch[n]))
            continue;
        if (++n == cap) {
            CHECK(flush_batch(pool, batch, pages, n));
            n = 0;
        }
    }
    CHECK(flush_batch(pool, batch, pages, n));
    if (pgno == 0 && hi == UINT64_MAX)
        list_reset(pool); /* all written: nothing on it is dirty now */
    return 0;
}

/* ---- public: raw pages -------------------------------------------------------- */

/* A growing pool's size is its limit: what it holds once full, as things
 * stand (frames are taken as it misses). */
static uint32_t pool_size_now(const struct pool *pool)
{
    return pool->grows ? atomic_load_explicit(&((struct pool *)pool)->limit, memory_order_relaxed)
                       : pool->frame_min;
}

size_t pool_frame_count(const struct pool *pool)
{
    return pool_size_now(pool);
}

int pool_lookup_raw(struct pool *pool, uint64_t pgno, struct pool_frame **out)
{
    struct frame *f = probe_fast(pool, pgno);
    if (!f && probe_pin(pool, pgno, &f) != PROBE_PINNED)
        return 0;    /* not cached, or being evicted: the caller reads it */
    /* Acquire: a frame still loading on another thread is not ours to read. */
    if (atomic_load_explicit(&f->status, memory_order_acquire) != FS_VALID ||
        atomic_load_explicit(&f->role, memory_order_relaxed) != FR_RAW) {
        atomic_fetch_sub_explicit(&f->pins, 1, memory_order_release);
        return 0;
    }
    assert(f->pub.pgno == pgno && !atomic_load_explicit(&f->dirty, memory_order_relaxed)); /* P3 */
    *out = &f->pub;
    return 1;
}

/* Clock for raw pages: claim a clean, unpinned frame whose ref bit is clear,
 * looking at no more than RAW_CLAIM_SCAN frames. Unlike claim_victim it
 * never spills (a read must not write the writer's pages), never takes a
 * frame whose ref bit is set (a raw page does not push out a page in use)
 * and never waits: 0 = no frame, and the page is simply not cached. */
static int claim_clean(struct pool *pool, struct frame **out)
{
    if ((*out = try_grow(pool)) != NULL)
        return 1;
    uint32_t n = frames_in_use(pool), scan = n < RAW_CLAIM_SCAN ? n : RAW_CLAIM_SCAN;
    assert(n >= POOL_MIN_FRAMES); /* as in claim_victim */
    uint32_t lim = atomic_load_explicit(&pool->limit, memory_order_relaxed);

    for (uint32_t i = 0; i < scan; i++) {
        uint64_t h = atomic_fetch_add_explicit(&pool->hand, 1, memory_order_relaxed);
        struct frame *f = &pool->frames[h % n];
        if (h % n >= lim ||
            atomic_load_explicit(&f->pins, memory_order_relaxed) != 0 ||
            atomic_load_explicit(&f->dirty, memory_order_relaxed))
            continue;
        if (atomic_load_explicit(&f->ref, memory_order_relaxed)) {
            atomic_store_explicit(&f->ref, 0, memory_order_relaxed);
            continue;
        }
        if (!try_claim(f))
            continue;
        /* Dirty bits change only under a pin, so this one is final. */
        if (atomic_load_explicit(&f->dirty, memory_order_relaxed)) {
            release_excl(f, 0);
            continue;
        }
        if (empty_victim(pool, f) < 0)    /* clean: no write, cannot fail */
            continue;
        assert(atomic_load_explicit(&f->status, memory_order_relaxed) == FS_FREE);
        *out = f;
        return 1;
    }
    return 0;
}

static void count_miss(struct pool *pool, uint64_t pgno)
{
    struct stripe *s = stripe_of(pool, bucket_of(pool, pgno));
    pthread_mutex_lock(&s->lock);
    count(&s->misses);
    pthread_mutex_unlock(&s->lock);
}

void pool_install_raw(struct pool *pool, uint64_t pgno, const void *page)
{
    struct frame *v, *f;

    assert(page && pgno != PGNO_NONE && names_itself(page, pgno)); /* the pager checked it */
    if (!claim_clean(pool, &v)) {
        count_miss(pool, pgno);
        return;
    }
    /* Fill v while it is ours alone (EXCL, unlinked); install publishes it
     * with release, so whoever pins it later sees these bytes. */
    memcpy(v->pub.data, page, pool->page_size);
    switch (install(pool, v, pgno, FS_VALID, FR_RAW, &f)) {
    case PROBE_MISS:      /* cached; the miss was counted by install */
    case PROBE_PINNED:    /* another thread cached pgno first (P2) */
        atomic_fetch_sub_explicit(&f->pins, 1, memory_order_release);
        break;
    case PROBE_BUSY:      /* pgno is being evicted: leave it */
        break;
    }
}

/* ---- read-ahead -------------------------------------------------------------- */

/* 1 if pgno has a frame now (any role or state). A lock-free walk that
 * pins nothing: an answer that is stale at once is fine for read-ahead,
 * which install() keeps exact (P2). */
static int cached(struct pool *pool, uint64_t pgno)
{
    uint32_t b = bucket_of(pool, pgno);
    int32_t i = idx_load(&pool->buckets[b], memory_order_acquire);

    for (uint32_t steps = 0; i != NO_FRAME && steps < pool->frame_max; steps++) {
        struct link *l = &pool->frames[i].link;
        if (atomic_load_explicit(&l->key, memory_order_relaxed) == pgno)
            return 1;
        i = idx_load(&l->next, memory_order_acquire);
    }
    return 0;
}

/* Read the run [first, first + n) of uncached pages straight into clean
 * frames with one read (no bounce buffer, no copy), and install each page
 * the verify hook accepts (P4) as a hooked frame whose ref bit is clear: a
 * read-ahead page that no one uses is the first the clock takes. With too
 * few clean frames only part of the run is read: the part the scan wants
 * first (the top of a descending run). Best effort: on a read error
 * nothing is installed and pool_get() meets the error again. */
static void read_run_into_frames(struct pool *pool, uint64_t first, size_t n, int down)
{
    struct frame *v[POOL_PREFETCH_MAX];
    void *bufs[POOL_PREFETCH_MAX];
    size_t got = 0;
    int ok;

    assert(n > 1 && n <= POOL_PREFETCH_MAX && POOL_PREFETCH_MAX <= PAGER_READV_MAX);
    while (got < n && claim_clean(pool, &v[got])) {
        bufs[got] = v[got]->pub.data;
        got++;
    }
    if (down)
        first += n - got;
    /* The frames are ours alone (EXCL, unlinked) while the read fills them;
     * install publishes each with release. */
    ok = got > 1 && pager_read_pages(pool->pager, first, got, bufs) == 0;
    for (size_t i = 0; i < got; i++) {
        struct frame *f;
        if (!ok || (pool->verify && pool->verify(pool->verify_ctx, bufs[i], first + i) < 0)) {
            release_excl(v[i], 0);
            continue;
        }
        switch (install(pool, v[i], first + i, FS_VALID, FR_HOOKED, &f)) {
        case PROBE_MISS:   /* cached; install counted the miss */
            atomic_store_explicit(&f->ref, 0, memory_order_relaxed);
            /* fall through */
        case PROBE_PINNED: /* another thread loaded it first (P2) */
            atomic_fetch_sub_explicit(&f->pins, 1, memory_order_release);
            break;
        case PROBE_BUSY:
            break;
        }
    }
    err_clear(); /* best effort: pool_get reads a bad page again and says why */
}

size_t pool_prefetch(struct pool *pool, const uint64_t *pgnos, size_t count)
{
    size_t limit = pool_size_now(pool) / 8, i = 0;

    if (count > limit)
        count = limit;
    if (count > POOL_PREFETCH_MAX)
        count = POOL_PREFETCH_MAX;
    while (i < count) {
        size_t n = 1;
        if (pgnos[i] == PGNO_NONE || cached(pool, pgnos[i])) {
            i++;
            continue;
        }
        /* A run ascends (a forward scan) or descends (a backward one). */
        int down = i + 1 < count && pgnos[i + 1] + 1 == pgnos[i];
        while (i + n < count && !cached(pool, pgnos[i + n]) &&
               (down ? pgnos[i + n] + n == pgnos[i] : pgnos[i + n] == pgnos[i] + n))
            n++;
        /* A single page gains nothing over the pool_get that follows. */
        if (n > 1)
            read_run_into_frames(pool, down ? pgnos[i + n - 1] : pgnos[i], n, down);
        i += n;
    }
    return count;
}

/* ---- public: pages outside the frames ------------------------------------------ */

unsigned pool_page_size(const struct pool *pool)
{
    return (unsigned)pool->page_size;
}

int pool_read_run(struct pool *pool, uint64_t pgno, size_t count, void *buf)
{
    return pager_read_run(pool->pager, pgno, count, buf);
}

/* P6: no copy of [pgno, pgno + count) stays cached, dirty or not. */
static void drop_copies(struct pool *pool, uint64_t pgno, size_t count)
{
    for (size_t i = 0; i < count; i++)
        pool_discard(pool, pgno + i);
}

int pool_write_run(struct pool *pool, uint64_t pgno, size_t count, void *buf)
{
    for (size_t i = 0; i < count; i++)
        assert(names_itself((uint8_t *)buf + i * pool->page_size, pgno + i));
    drop_copies(pool, pgno, count);
    return pager_write_run(pool->pager, pgno, count, buf);
}

int pool_write_async(struct pool *pool, const struct pool_page *pages, size_t count,
                     uint64_t *ticket)
{
    struct pager_page local[POOL_FLUSH_BATCH], *pp = local;
    int rc;

    *ticket = 0;
    if (count > POOL_FLUSH_BATCH && !(pp = mem_alloc(count * sizeof(*pp))))
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "no memory for a batch of %zu pages", count);
    for (size_t i = 0; i < count; i++) {
        assert(names_itself(pages[i].data, pages[i].pgno));
        drop_copies(pool, pages[i].pgno, 1);
        pp[i].pgno = pages[i].pgno;
        pp[i].data = pages[i].data;
    }
    /* The pager copies the array (pager.h): only the page data must live on. */
    rc = pager_write_pages_async(pool->pager, pp, count, ticket);
    if (pp != local)
        mem_free(pp);
    return rc;
}

int pool_write_wait(struct pool *pool, uint64_t ticket)
{
    return pager_write_wait(pool->pager, ticket);
}

/* ---- public: counters ------------------------------------------------------- */

void pool_counters(struct pool *pool, struct pool_counters *out)
{
    memset(out, 0, sizeof(*out));
    out->frames = pool_size_now(pool);
    for (uint32_t i = 0; i <= pool->stripe_mask; i++) {
        out->misses += atomic_load_explicit(&pool->stripes[i].misses, memory_order_relaxed);
    }
    for (uint32_t i = 0; i < HIT_SHARDS; i++)
        out->hits += atomic_load_explicit(&pool->shards[i].hits, memory_order_relaxed);
    out->evictions = atomic_load_explicit(&pool->evictions, memory_order_relaxed);
    out->spills = atomic_load_explicit(&pool->spills, memory_order_relaxed);
    for (uint32_t i = 0, n = frames_in_use(pool); i < n; i++) {
        struct frame *f = &pool->frames[i];
        uint32_t p = atomic_load_explicit(&f->pins, memory_order_relaxed);
        out->pinned += (p & FRAME_PIN_MASK) != 0;

        out->dirty += atomic_load_explicit(&f->dirty, memory_order_relaxed) != 0;
    }
}
