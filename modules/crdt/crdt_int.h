/*
 * crdt_int.h — what node.c (the hook, the fold) and sync.c (the NATS
 * transport) share inside modules/crdt (private).
 *
 * Both run on the server's loop thread. Work that does not come from a
 * client (a NATS message, a timer) runs in the server's batch through
 * crdt_work_begin/crdt_work_end, so every add and its fold commit together
 * as one batch, exactly as OPLOG-ADD from a client does.
 */
#ifndef FFDB_CRDT_INT_H
#define FFDB_CRDT_INT_H

#include "modules/crdt/crdt.h"
#include "modules/oplog/oplog.h"
#include "modules/redis/redis.h"

typedef struct crdt_sync crdt_sync;

/* The largest entry the mode takes: one entry must fit one NATS message of
 * the transport (a push or an answer: pk (32) | u32 length | entry, at most
 * 512 KiB, sync.c), or peers could never receive it and would silently
 * differ. A local write whose operation exceeds CRDT_OP_MAX is refused
 * before anything is logged; an entry from a peer over CRDT_ENTRY_MAX is
 * refused (OPLOG_ELIMIT) by every node alike. CRDT_OP_MAX leaves room for
 * the entry's other fields (64 links of 36 bytes, key, signature, clock). */
#define CRDT_ENTRY_MAX ((512u << 10) - 64)
#define CRDT_OP_MAX (CRDT_ENTRY_MAX - 4096)
#define CRDT_OP_ARGS_MAX 1024 /* arguments of one operation */

static inline void crdt_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

static inline uint32_t crdt_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct crdt_stats {
    uint64_t applied;  /* operations folded into the keyspace */
    uint64_t rebuilds; /* whole-keyspace refolds (a late entry with a key the index cannot hold) */
    uint64_t refolds;  /* keys refolded from their history (a late entry, C1) */
    uint64_t skipped;  /* operations without a convergent meaning, skipped everywhere */
    uint64_t refused;  /* entries from the bus refused (malformed, bad signature, bad clock) */
    uint64_t pushed;   /* messages of local entries published */
    uint64_t received; /* entries received on the bus (pushed or fetched), held or not */
    uint64_t fetches;  /* walks back from a peer's head started */
    uint64_t fetch_failures; /* walks given up (timeouts, a peer gone, garbage) */
    uint64_t fetched;  /* entries added through a fetch */
    uint64_t announces; /* heads announced (anti-entropy) */
    uint64_t compactions; /* snapshots this node wrote (OPLOG COMPACT, the threshold) */
    uint64_t below_cut;   /* new entries refused: clock below the cut (rule b) */
} crdt_stats;

struct crdt {
    ident id;
    oplog *log;
    redis_server *s;
    crdt_stats st;
    char nats_url[512]; /* "" = no transport */
    char ns[256];
    crdt_sync *sync; /* NULL without --nats */
};

/* Entries from outside (OPLOG-ADD, the bus), added and folded (C1) in one
 * txn: begin, one call per entry, end (the late entries' keys refolded,
 * "last" kept). */
typedef struct crdt_ingest {
    uint8_t last[OPLOG_ORDER_KEY_BYTES];
    int have; /* last is set */
    int late; /* an entry sorted before last: refold at the end */
    int full; /* a late entry's key is not in the index: rebuild everything */
    int64_t now_ms;
    uint64_t added;
    uint64_t cut; /* crdt.m "cut": entries below it are in the state (rules b, c) */
} crdt_ingest;

int crdt_ingest_begin(crdt *n, ffdb_txn *txn, crdt_ingest *g, int64_t now_ms);
/* 0 added (and folded or marked late), 1 already held; a refusal
 * (crdt_refusal(rc)) leaves the txn as it was; anything else is the
 * engine's. */
int crdt_ingest_one(crdt *n, ffdb_txn *txn, crdt_ingest *g, const uint8_t *buf, size_t len);
int crdt_ingest_end(crdt *n, ffdb_txn *txn, crdt_ingest *g);
/* 1 if rc says an entry was refused (ipld or oplog codes), not the engine. */
int crdt_refusal(int rc);

/* Work outside a client's command (a NATS callback, a timer): the batch's
 * txn (write or read) for it, then the end of that work: an engine error
 * fails the batch; the batch is committed when the work ran outside the
 * server's round. */
int crdt_work_begin(crdt *n, int write, ffdb_txn **txn, int *outside);
void crdt_work_end(crdt *n, int outside, int rc);

/* node.c: an operation's bytes (u8 db | u32 argc | argc x (u32 length |
 * bytes)) into argv (cap CRDT_OP_ARGS_MAX, pointing into buf); *tail is what
 * follows the arguments. 0 or IPLD_EFORMAT. */
int crdt_op_decode(const uint8_t *buf, size_t len, int *db, resp_arg *argv, int *argc,
                   const uint8_t **tail, size_t *tail_len);
/* Open the bucket, creating it if absent. */
int crdt_bucket_make(ffdb_txn *txn, const char *name, ffdb_bucket **b);

/* node.c, for compaction under writes: the cut (crdt.m "cut", 0 if none);
 * the keys of the entries from the cut on marked in crdt.r and each
 * refolded up to the cut (the keyspace is then the state at the cut;
 * *too_long if a key cannot be indexed: nothing done); crdt_refold_marked
 * then refolds the marked keys in full; the key index's rows below the cut
 * dropped. */
int crdt_cut_get(ffdb_txn *txn, uint64_t *cut);
int crdt_state_to_cut(crdt *n, ffdb_txn *txn, uint64_t cut, int64_t now_ms, int *too_long);
int crdt_refold_marked(crdt *n, ffdb_txn *txn, int64_t now_ms);
int crdt_index_drop_below(ffdb_txn *txn, uint64_t cut);

/* compact.c: compaction at a stable cut (modules/crdt/README.md). */
/* Compact the whole log if the cut is stable: 0 with why[0] == 0 and
 * *dropped set, 0 with why set (not compacted: the reason), or an engine
 * error. st is the store's view of txn (a write txn). */
int crdt_compact(crdt *n, ffdb_txn *txn, store_txn *st, char *why, size_t why_len,
                 uint64_t *dropped);
/* node.c: the automatic threshold (crdt.m "auto", entries held; 0: off),
 * and a compaction in the batch's write txn (*txn set). */
int crdt_auto_get(ffdb_txn *txn, uint64_t *every);
/* A u64 of crdt.m (FFDB_NOTFOUND if absent). */
int crdt_meta_u64(ffdb_txn *txn, const char *name, uint64_t *v);
int crdt_meta_u64_put(ffdb_txn *txn, const char *name, uint64_t v);
int crdt_compact_now(crdt *n, ffdb_txn **txn, char *why, size_t why_len, uint64_t *dropped);
/* Fold the state at the cut into the keyspace: one key's (prefix db | u32
 * key length | key) or, with prefix NULL, every key's. */
int crdt_state_load(crdt *n, ffdb_txn *txn, const uint8_t *prefix, size_t plen, int64_t now_ms);
/* OPLOG VERIFY's part for the snapshot this node wrote: its entry held,
 * every state block hashing to its CID, the root's chunks held. */
int crdt_state_verify(ffdb_txn *txn, uint64_t *problems, void (*report)(void *, const char *),
                      void *arg);

/* A node behind a peer's cut (C3): the state's blocks fetched into
 * "crdt.f", then loaded. held: the state's root is in crdt.b or crdt.f;
 * block_held: that block is in crdt.f; block_put: keep a block asked for
 * (hash-checked by the caller), the root's chunks wanted through
 * crdt_sync_swant; block_get: a block of crdt.b (malloc'd), for a peer;
 * adopt: the fetched state replaces crdt.b/crdt.z, the snapshot's parents
 * are covered (oplog_cover) and g rebuilds everything at its end. */
int crdt_state_held(ffdb_txn *txn, const ipld_cid *root);
/* The CID of the node's latest snapshot entry (crdt.m "snap"), FFDB_NOTFOUND
 * if it never compacted nor loaded a state. */
int crdt_snap_get(ffdb_txn *txn, ipld_cid *snap);
int crdt_state_block_held(ffdb_txn *txn, const ipld_cid *id);
int crdt_state_block_put(ffdb_txn *txn, crdt_sync *y, const ipld_cid *id, const uint8_t *buf,
                         size_t len);
int crdt_state_block_get(ffdb_txn *txn, const ipld_cid *id, uint8_t **buf, size_t *len);
int crdt_state_adopt(crdt *n, ffdb_txn *txn, crdt_ingest *g, const ipld_cid *snap,
                     const ipld_cid *root, const ipld_cid *next, size_t next_count);
int crdt_sync_swant(crdt_sync *y, const ipld_cid *id);
int crdt_sync_is_root(const crdt_sync *y, const ipld_cid *id);

/* sync.c: the NATS transport. */
int crdt_sync_open(crdt *n, char *err, size_t err_len);
void crdt_sync_close(crdt_sync *y);
/* A local entry was appended: publish it at the end of this iteration. */
void crdt_sync_local(crdt_sync *y, const uint8_t *buf, size_t len);
/* 1 if the cut at this node's heads is stable: every peer of "crdt.p" (the
 * writers in the log, the nodes that announced) last announced exactly
 * these heads; 0 and why set if not; or an engine error. */
int crdt_sync_stable(crdt_sync *y, ffdb_txn *txn, char *why, size_t why_len);
/* The cut under writes (oplog_cut) over this node and every peer of
 * "crdt.p" at its last announced heads: 0 with *cut set, or 0 and why set
 * when there is none now (a peer not heard from, truncated heads, a head
 * not held yet), or an engine error. */
int crdt_sync_cut(crdt_sync *y, ffdb_txn *txn, uint64_t *cut, char *why, size_t why_len);
/* Remember a peer (its writer key) in "crdt.p"; a write txn. */
int crdt_peer_note(ffdb_txn *txn, const uint8_t pk[OPLOG_KEY_BYTES]);

/* Append a frame, u32 BE head then the n bytes at p, to the buffer *buf of
 * *len bytes in *cap (grown by doubling, or to fit). 0, or FFDB_ENOMEM with
 * the buffer as it was. */
int crdt_frame_add(uint8_t **buf, size_t *len, size_t *cap, uint32_t head, const void *p, size_t n);

#endif
