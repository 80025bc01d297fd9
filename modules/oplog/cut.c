/*
 * cut.c — the compaction cut that moves forward under constant writes
 * (issue 13; the design in modules/crdt/README.md, "Compaction under
 * writes"): a clock threshold T such that every entry held here with clock
 * < T lies in the causal past of every peer's last announced heads.
 *
 * T = min over the peers p of min(M_p + 1, g_p), M_p the highest clock in
 * p's past, g_p the lowest clock of an entry held here outside it. One
 * descending pass of "oplog.c" with a frontier: CID -> bitmask of the peers
 * whose past holds it (seeded with each peer's heads, each entry passing its
 * mask on to its parents). Memory is the frontier, not the log.
 * Who calls it: modules/crdt's OPLOG CUT / COMPACT, and the tests.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "modules/oplog/log_int.h"

#define FRONTIER_MAX (1u << 20) /* CIDs the pass may carry at once */

typedef struct front {
    uint8_t cid[OPLOG_CID_BYTES];
    uint64_t mask;
} front;

typedef struct frontier {
    front *f;
    size_t n, cap;
} frontier;

static front *front_find(frontier *fr, const uint8_t *cid)
{
    for (size_t i = 0; i < fr->n; i++)
        if (!memcmp(fr->f[i].cid, cid, OPLOG_CID_BYTES))
            return &fr->f[i];
    return NULL;
}

static int front_or(frontier *fr, const ipld_cid *id, uint64_t mask)
{
    uint8_t key[IPLD_CID_BIN_MAX];
    if (ipld_cid_to_bytes(id, key) != OPLOG_CID_BYTES)
        return OPLOG_ECORRUPT;
    front *x = front_find(fr, key);
    if (x) {
        x->mask |= mask;
        return 0;
    }
    if (fr->n == fr->cap) {
        size_t cap = fr->cap ? fr->cap * 2 : 64;
        if (cap > FRONTIER_MAX)
            return OPLOG_ELIMIT;
        front *f = realloc(fr->f, cap * sizeof *f);
        if (!f)
            return FFDB_ENOMEM;
        fr->f = f, fr->cap = cap;
    }
    memcpy(fr->f[fr->n].cid, key, OPLOG_CID_BYTES);
    fr->f[fr->n++].mask = mask;
    return 0;
}

/* The mask of cid, taken out of the frontier (0 if absent). */
static uint64_t front_take(frontier *fr, const uint8_t *cid)
{
    front *x = front_find(fr, cid);
    if (!x)
        return 0;
    uint64_t m = x->mask;
    *x = fr->f[--fr->n];
    return m;
}

int oplog_cut(ffdb_txn *txn, const ipld_cid *heads, const size_t *counts, size_t npeers,
              uint64_t *cut)
{
    uint64_t top[OPLOG_CUT_PEERS_MAX] = {0}, low[OPLOG_CUT_PEERS_MAX];
    frontier fr = {0};
    ffdb_bucket *bc, *be;
    ffdb_cursor *c = NULL;
    ffdb_val k, v;
    size_t at = 0;
    int rc = 0;
    assert(cut && (npeers == 0 || (heads && counts)));
    *cut = 0;
    if (npeers == 0 || npeers > OPLOG_CUT_PEERS_MAX)
        return FFDB_EINVAL;
    for (size_t p = 0; p < npeers; p++) {
        low[p] = UINT64_MAX;
        for (size_t i = 0; i < counts[p] && !rc; i++, at++) {
            uint64_t clock;
            int held = ol_lookup(txn, &heads[at], &clock);
            if (held <= 0) { /* a head not held here: not now */
                rc = held < 0 ? held : 1;
                break;
            }
            if (held == 2) /* dropped by a compaction: its past is gone */
                top[p] = clock > top[p] ? clock : top[p];
            else
                rc = front_or(&fr, &heads[at], 1ull << p);
        }
        if (rc)
            goto out;
    }
    rc = ol_bucket(txn, "oplog.c", 0, &bc);
    rc = rc ? rc : ol_bucket(txn, "oplog.e", 0, &be);
    rc = rc ? rc : ffdb_cursor_open(bc, &c);
    if (rc == FFDB_NOTFOUND) { /* an empty log */
        rc = 0;
        goto done;
    }
    for (rc = rc ? rc : ffdb_cursor_last(c, &k, &v); rc == 0; rc = ffdb_cursor_prev(c, &k, &v)) {
        if (k.size != OPLOG_ORDER_KEY_BYTES) {
            rc = OPLOG_ECORRUPT;
            break;
        }
        const uint8_t *cid = (const uint8_t *)k.data + 8 + OPLOG_KEY_BYTES;
        uint64_t clock = ol_get_u64(k.data), mask = front_take(&fr, cid);
        for (size_t p = 0; p < npeers; p++) {
            if (mask >> p & 1)
                top[p] = clock > top[p] ? clock : top[p];
            else
                low[p] = clock; /* descending: the lowest so far */
        }
        if (!mask)
            continue;
        ffdb_val ev;
        oplog_entry e;
        if ((rc = ffdb_get(be, cid, OPLOG_CID_BYTES, &ev)))
            break;
        if (ev.size < 8 + OPLOG_KEY_BYTES ||
            oplog_entry_decode((const uint8_t *)ev.data + 8 + OPLOG_KEY_BYTES,
                               ev.size - 8 - OPLOG_KEY_BYTES, &e)) {
            rc = OPLOG_ECORRUPT;
            break;
        }
        for (size_t i = 0; i < e.next_count && !rc; i++)
            rc = front_or(&fr, &e.next[i], mask);
        oplog_entry_free(&e);
        if (rc)
            break;
    }
    if (rc == FFDB_NOTFOUND)
        rc = 0;
done:
    if (!rc) {
        uint64_t t = UINT64_MAX;
        for (size_t p = 0; p < npeers; p++) {
            uint64_t x = top[p] + 1 < low[p] ? top[p] + 1 : low[p];
            t = x < t ? x : t;
        }
        *cut = t;
    }
out:
    if (c)
        ffdb_cursor_close(c);
    free(fr.f);
    return rc;
}
