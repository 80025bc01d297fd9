/*
 * tier.c — hot/cold tiering: recorded reads, the policy, and crash-safe
 * moves of blocks between the hot file and the zstd-compressed cold file.
 *
 * Owns: the access table (reads recorded in memory, written by
 * blocks_flush at most once per ATIME_RESOLUTION_S per block), the "lru"
 * bucket's order, the "policy" meta record, and the move protocol. Two
 * files cannot commit together, so every move goes through "pending" (S2):
 *
 *   to cold:  hot txn  pending[k] = 1                     (commit 1)
 *             cold txn blocks[k] = zstd(block)             (commit 2)
 *             hot txn  drop hot copy and lru, index = cold, (commit 3)
 *                      counters, delete pending[k]
 *   to hot:   hot txn  hot copy, lru, index = hot,         (commit 1)
 *                      pending[k] = 1
 *             then store_finish_pending: cold txn deletes k (commit 2),
 *             hot txn deletes pending[k]                    (commit 3)
 *
 * A crash anywhere leaves the index naming a tier that holds the block
 * (commit 3 of a move to cold is the switch; before it the hot copy is
 * intact, after it the cold copy is durable); open's recovery then deletes
 * the cold copy of every pending key the index does not call cold. Called
 * by the public API and by store.c (access_record). Must never delete a
 * block's only copy.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/store.h"

#define MOVE_BATCH_BLOCKS 256
#define MOVE_BATCH_BYTES (16u << 20)
#define PROMOTE_MAX 1024

/* ---- policy ------------------------------------------------------------------------- */

int blocks_policy_get(blocks *bs, blocks_policy *p)
{
    uint64_t v[3];
    rtx r;
    int rc = rtx_begin(bs, &r);
    if (rc)
        return rc;
    rc = meta_get_u64s(r.meta, "policy", v, 3);
    rtx_end(&r);
    p->cold_after_s = v[0];
    p->hot_budget_bytes = v[1];
    p->promote_reads = v[2] ? (uint32_t)v[2] : 2;
    return rc;
}

int blocks_policy_set(blocks *bs, const blocks_policy *p)
{
    uint64_t v[3] = {p->cold_after_s, p->hot_budget_bytes, p->promote_reads};
    wtx w;
    int rc;
    if (bs->batch)
        return BLOCKS_EBUSY;
    if ((rc = wtx_begin(bs, &w)) != 0)
        return rc;
    if ((rc = meta_put_u64s(w.meta, "policy", v, 3)) != 0) {
        wtx_abort(&w);
        return rc;
    }
    return wtx_commit(&w);
}

/* ---- recorded reads ------------------------------------------------------------------- */

static uint32_t slot_of(const uint8_t *key, size_t klen)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ key[i]) * 16777619u;
    return h % ACCESS_SLOTS;
}

void access_record(blocks *bs, const uint8_t *key, size_t klen)
{
    uint32_t i = slot_of(key, klen);
    if (bs->opt.ffdb_flags & FFDB_RDONLY)
        return;
    for (uint32_t n = 0; n < ACCESS_SLOTS; n++, i = (i + 1) % ACCESS_SLOTS) {
        access_slot *s = &bs->access[i];
        if (s->klen == klen && memcmp(s->key, key, klen) == 0) {
            s->reads++;
            return;
        }
        if (s->klen == 0) {
            if (bs->access_used + 1 >= ACCESS_SLOTS * 3 / 4) {
                /* Full: write what is recorded (not inside a batch: the
                 * batch's commit is not ours to make; the read is lost to
                 * the policy, nothing else). */
                if (bs->batch || blocks_flush(bs) != 0)
                    return;
                access_record(bs, key, klen);
                return;
            }
            memcpy(s->key, key, klen);
            s->klen = (uint8_t)klen;
            s->reads = 1;
            bs->access_used++;
            return;
        }
    }
}

/* One recorded block: a hot one gets its access time (and lru position)
 * renewed, a cold one counts reads and is listed for promotion. */
static int flush_slot(wtx *w, const access_slot *s, uint64_t now, uint32_t promote_reads,
                      uint8_t (*promote)[KEY_MAX], size_t *plen, size_t *np)
{
    uint8_t rec[REC_SIZE], lk[8 + KEY_MAX];
    int tier;
    uint64_t size, atime;
    uint32_t reads;
    ffdb_val v;
    int rc = ffdb_get(w->index, s->key, s->klen, &v);
    if (rc == FFDB_NOTFOUND)
        return 0; /* removed since */
    if (rc || v.size != REC_SIZE)
        return rc ? rc : BLOCKS_ESTATE;
    memcpy(rec, v.data, REC_SIZE);
    rec_get(rec, &tier, &size, &atime, &reads);
    if (tier == TIER_HOT) {
        if (now < atime + ATIME_RESOLUTION_S)
            return 0;
        if ((rc = ffdb_delete(w->lru, lk, lru_key(lk, atime, s->key, s->klen))) != 0 ||
            (rc = ffdb_put(w->lru, lk, lru_key(lk, now, s->key, s->klen), "", 0)) != 0)
            return rc;
        put_le64(rec + REC_ATIME, now);
        return ffdb_put(w->index, s->key, s->klen, rec, REC_SIZE);
    }
    reads = reads + s->reads > 0xffff ? 0xffff : reads + s->reads;
    if (reads >= promote_reads && *np < PROMOTE_MAX) {
        memcpy(promote[*np], s->key, s->klen);
        plen[(*np)++] = s->klen;
    }
    uint32_t stored = rec_stored(rec);
    rec_put(rec, TIER_COLD, size, now, reads);
    rec_set_stored(rec, stored);
    return ffdb_put(w->index, s->key, s->klen, rec, REC_SIZE);
}

static int promote_one(blocks *bs, const uint8_t *key, size_t klen);

int blocks_flush(blocks *bs)
{
    uint8_t(*promote)[KEY_MAX] = NULL;
    size_t plen[PROMOTE_MAX], np = 0;
    uint64_t stats[3], now = store_now(bs);
    blocks_policy pol;
    wtx w;
    int rc;
    if (bs->batch)
        return BLOCKS_EBUSY;
    if (bs->access_used == 0 && !bs->stat_delta[0])
        return 0;
    if ((rc = blocks_policy_get(bs, &pol)) != 0 || (rc = wtx_begin(bs, &w)) != 0)
        return rc;
    if (!(promote = malloc(PROMOTE_MAX * KEY_MAX))) {
        wtx_abort(&w);
        return FFDB_ENOMEM;
    }
    for (uint32_t i = 0; rc == 0 && i < ACCESS_SLOTS; i++)
        if (bs->access[i].klen)
            rc = flush_slot(&w, &bs->access[i], now, pol.promote_reads, promote, plen, &np);
    if (rc == 0 && (rc = meta_get_u64s(w.meta, "stats", stats, 3)) == 0) {
        for (int i = 0; i < 3; i++)
            stats[i] += bs->stat_delta[i];
        rc = meta_put_u64s(w.meta, "stats", stats, 3);
    }
    rc = rc ? (wtx_abort(&w), rc) : wtx_commit(&w);
    if (rc == 0) {
        memset(bs->access, 0, ACCESS_SLOTS * sizeof *bs->access);
        bs->access_used = 0;
        memset(bs->stat_delta, 0, sizeof bs->stat_delta);
        for (size_t i = 0; rc == 0 && i < np; i++)
            rc = promote_one(bs, promote[i], plen[i]);
    }
    free(promote);
    return rc;
}

/* ---- moves ---------------------------------------------------------------------------- */

typedef struct move_set {
    uint8_t (*key)[KEY_MAX];
    size_t klen[MOVE_BATCH_BLOCKS];
    uint32_t stored[MOVE_BATCH_BLOCKS];
    size_t n;
} move_set;

/* Commit 1: announce the keys. */
static int mark_pending(blocks *bs, const move_set *m)
{
    uint8_t op = 1;
    wtx w;
    int rc = wtx_begin(bs, &w);
    for (size_t i = 0; rc == 0 && i < m->n; i++)
        rc = ffdb_put(w.pending, m->key[i], m->klen[i], &op, 1);
    return rc ? (w.txn ? (wtx_abort(&w), rc) : rc) : wtx_commit(&w);
}

/* Commit 2: the compressed copies. */
static int write_cold(blocks *bs, move_set *m)
{
    ffdb_txn *ctxn;
    ffdb_bucket *cold;
    rtx r;
    int rc = rtx_begin(bs, &r);
    if (rc)
        return rc;
    if ((rc = cold_open(bs->cold, 1, &ctxn, &cold)) != 0) {
        rtx_end(&r);
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < m->n; i++) {
        ffdb_val v;
        uint64_t stored = 0;
        if ((rc = ffdb_get(r.blocks, m->key[i], m->klen[i], &v)) == 0)
            rc = cold_put(cold, m->key[i], m->klen[i], v.data, v.size, &stored);
        m->stored[i] = (uint32_t)stored;
    }
    rtx_end(&r);
    return rc ? (ffdb_abort(ctxn), rc) : ffdb_commit(ctxn);
}

/* Commit 3: the switch. */
static int switch_to_cold(blocks *bs, const move_set *m)
{
    uint8_t rec[REC_SIZE], lk[8 + KEY_MAX];
    wtx w;
    int rc = wtx_begin(bs, &w);
    for (size_t i = 0; rc == 0 && i < m->n; i++) {
        ffdb_val v;
        int tier;
        uint64_t size, atime;
        if ((rc = ffdb_get(w.index, m->key[i], m->klen[i], &v)) != 0 || v.size != REC_SIZE) {
            rc = rc ? rc : BLOCKS_ESTATE;
            break;
        }
        rec_get(v.data, &tier, &size, &atime, NULL);
        if (tier != TIER_HOT)
            continue;
        rec_put(rec, TIER_COLD, size, atime, 0);
        rec_set_stored(rec, m->stored[i]);
        if ((rc = ffdb_delete(w.blocks, m->key[i], m->klen[i])) != 0 ||
            (rc = ffdb_delete(w.lru, lk, lru_key(lk, atime, m->key[i], m->klen[i]))) != 0 ||
            (rc = ffdb_put(w.index, m->key[i], m->klen[i], rec, REC_SIZE)) != 0 ||
            (rc = ffdb_delete(w.pending, m->key[i], m->klen[i])) != 0)
            break;
        w.c.blocks[TIER_HOT]--, w.c.bytes[TIER_HOT] -= size;
        w.c.blocks[TIER_COLD]++, w.c.bytes[TIER_COLD] += size;
        w.c.cold_stored += m->stored[i];
    }
    return rc ? (w.txn ? (wtx_abort(&w), rc) : rc) : wtx_commit(&w);
}

static int move_to_cold(blocks *bs, move_set *m)
{
    int rc;
    if ((rc = mark_pending(bs, m)) != 0 || (rc = write_cold(bs, m)) != 0 ||
        (rc = switch_to_cold(bs, m)) != 0)
        return rc;
    /* Keys switch_to_cold skipped (none in one thread) stay pending until
     * recovery removes their cold copies; finish them now. */
    return store_finish_pending(bs);
}

static int promote_one(blocks *bs, const uint8_t *key, size_t klen)
{
    uint8_t rec[REC_SIZE], lk[8 + KEY_MAX], op = 1;
    uint64_t now = store_now(bs);
    void *data;
    size_t len;
    ffdb_val v;
    rtx r;
    wtx w;
    int tier, rc;
    if ((rc = rtx_begin(bs, &r)) != 0)
        return rc;
    rc = store_read_block(bs, &r, key, klen, &data, &len);
    rtx_end(&r);
    if (rc)
        return rc == FFDB_NOTFOUND ? 0 : rc;
    if ((rc = wtx_begin(bs, &w)) != 0) {
        free(data);
        return rc;
    }
    if ((rc = ffdb_get(w.index, key, klen, &v)) == 0 && v.size == REC_SIZE) {
        rec_get(v.data, &tier, NULL, NULL, NULL);
        uint32_t stored = rec_stored(v.data);
        if (tier == TIER_COLD) {
            rec_put(rec, TIER_HOT, len, now, 0);
            if ((rc = ffdb_put(w.blocks, key, klen, data, len)) == 0 &&
                (rc = ffdb_put(w.lru, lk, lru_key(lk, now, key, klen), "", 0)) == 0 &&
                (rc = ffdb_put(w.index, key, klen, rec, REC_SIZE)) == 0 &&
                (rc = ffdb_put(w.pending, key, klen, &op, 1)) == 0) {
                w.c.blocks[TIER_COLD]--, w.c.bytes[TIER_COLD] -= len;
                w.c.blocks[TIER_HOT]++, w.c.bytes[TIER_HOT] += len;
                w.c.cold_stored -= stored;
            }
        }
    }
    free(data);
    rc = rc ? (wtx_abort(&w), rc) : wtx_commit(&w);
    return rc ? rc : store_finish_pending(bs);
}

int blocks_tier_move(blocks *bs, const ipld_cid *cid, int to_cold)
{
    uint8_t key[KEY_MAX];
    size_t klen = store_key(cid, key);
    uint64_t size;
    move_set m = {0};
    int rc;
    if (bs->batch)
        return BLOCKS_EBUSY;
    if ((rc = blocks_size(bs, cid, &size)) != 0)
        return rc;
    if (!to_cold)
        return promote_one(bs, key, klen);
    if (!(m.key = malloc(KEY_MAX)))
        return FFDB_ENOMEM;
    memcpy(m.key[0], key, klen);
    m.klen[0] = klen;
    m.n = 1;
    {
        rtx r;
        ffdb_val v;
        int tier = TIER_HOT;
        if ((rc = rtx_begin(bs, &r)) == 0) {
            if ((rc = ffdb_get(r.index, key, klen, &v)) == 0 && v.size == REC_SIZE)
                rec_get(v.data, &tier, NULL, NULL, NULL);
            rtx_end(&r);
        }
        if (rc == 0 && tier == TIER_HOT)
            rc = move_to_cold(bs, &m);
    }
    free(m.key);
    return rc;
}

/* Picks the next batch of hot blocks the policy sends cold, oldest first. */
static int select_cold(blocks *bs, const blocks_policy *pol, move_set *m)
{
    uint64_t now = store_now(bs), bytes = 0;
    counts c;
    ffdb_cursor *cur;
    ffdb_bucket *lru;
    ffdb_val k, v;
    rtx r;
    int rc = rtx_begin(bs, &r);
    m->n = 0;
    if (rc)
        return rc;
    if ((rc = meta_get_u64s(r.meta, "counts", (uint64_t *)&c, COUNTS_SIZE / 8)) != 0 ||
        (rc = ffdb_bucket_open(r.txn, "lru", 3, &lru)) != 0 ||
        (rc = ffdb_cursor_open(lru, &cur)) != 0) {
        rtx_end(&r);
        return rc;
    }
    for (rc = ffdb_cursor_first(cur, &k, NULL);
         rc == 0 && m->n < MOVE_BATCH_BLOCKS && bytes < MOVE_BATCH_BYTES;
         rc = ffdb_cursor_next(cur, &k, NULL)) {
        uint64_t atime = 0, size;
        if (k.size <= 8 || k.size > 8 + KEY_MAX) {
            rc = BLOCKS_ESTATE;
            break;
        }
        for (int i = 0; i < 8; i++)
            atime = (atime << 8) | ((const uint8_t *)k.data)[i];
        int old = pol->cold_after_s && atime + pol->cold_after_s <= now;
        int over = pol->hot_budget_bytes && c.bytes[TIER_HOT] - bytes > pol->hot_budget_bytes;
        if (!old && !over)
            break; /* the rest are younger, and the budget is met */
        if ((rc = ffdb_get(r.index, (const uint8_t *)k.data + 8, k.size - 8, &v)) != 0 ||
            v.size != REC_SIZE) {
            rc = rc ? rc : BLOCKS_ESTATE;
            break;
        }
        rec_get(v.data, NULL, &size, NULL, NULL);
        memcpy(m->key[m->n], (const uint8_t *)k.data + 8, k.size - 8);
        m->klen[m->n++] = k.size - 8;
        bytes += size;
    }
    ffdb_cursor_close(cur);
    rtx_end(&r);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

int blocks_tier_run(blocks *bs, uint64_t *moved)
{
    blocks_policy pol;
    move_set m = {0};
    int rc;
    if (moved)
        *moved = 0;
    if (bs->batch)
        return BLOCKS_EBUSY;
    if ((rc = blocks_flush(bs)) != 0 || (rc = blocks_policy_get(bs, &pol)) != 0)
        return rc;
    if (!(m.key = malloc(MOVE_BATCH_BLOCKS * KEY_MAX)))
        return FFDB_ENOMEM;
    while ((rc = select_cold(bs, &pol, &m)) == 0 && m.n > 0) {
        if ((rc = move_to_cold(bs, &m)) != 0)
            break;
        if (moved)
            *moved += m.n;
    }
    free(m.key);
    return rc;
}
