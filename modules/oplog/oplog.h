/*
 * oplog.h — the public header of libffdb_oplog.a: a hash-linked operation log
 * (the IPFS-LOG of seeds/001) kept in ffdb buckets.
 *
 * What it owns: log entries (dag-cbor objects named by their CIDv1, dag-cbor,
 * sha2-256; layout in modules/oplog/README.md, a wire contract), their
 * storage in the caller's ffdb file (buckets "oplog.e" by CID, "oplog.c" the
 * clock index, "oplog.h" the heads, "oplog.g" CIDs dropped by compaction,
 * "oplog.m" counters, "oplog.p"/"oplog.w" the fetch's spill), appends, the
 * join of entries from another log, verification, the fetch of missing
 * entries through a transport callback, and compaction behind a snapshot
 * entry.
 *
 * The total order: entries sort by (clock, writer key, CID bytes). The clock
 * index key is exactly that tuple, so a cursor over "oplog.c" walks the log
 * in its order, and every node that holds the same entries walks them the
 * same way (O1 below).
 *
 * Invariants (checked by oplog_verify):
 *   O1  the clock index holds one key per stored entry, clock||writer||cid.
 *   O2  an entry's clock is greater than the clock of each entry it links to
 *       (its "next"), so ascending clock order puts parents first.
 *   O3  every link of a stored entry names a stored entry or one compaction
 *       dropped ("oplog.g"); nothing is stored whose parents are unknown.
 *   O4  the heads are exactly the stored entries no stored entry links to.
 *   O5  a stored entry's bytes hash to its key and its signature verifies
 *       under its writer key.
 *
 * Who calls it: the CRDT mode of modules/redis (ffdb-server --crdt) and the
 * tests. Transactions are the caller's: every call takes an ffdb_txn, so one
 * engine txn can append an entry and apply its operation together.
 *
 * Signatures: ed25519 (32-byte keys, 64-byte signatures) through
 * modules/ident: a local entry is signed with the caller's ident, every
 * entry from outside is checked with ident_verify (one road for keys and
 * signatures in every module).
 *
 * What it must never do: trust an entry from outside. Every entry that
 * enters through oplog_add or a fetch is re-hashed, decoded strictly,
 * signature-checked and link-checked before anything is written.
 *
 * Errors: 0 or negative: OPLOG_E... below, FFDB_E... from the engine,
 * IPLD_E... from decoding (IPLD_EFORMAT for a malformed entry).
 */
#ifndef FFDB_OPLOG_H
#define FFDB_OPLOG_H

#include <stddef.h>
#include <stdint.h>

#include "ffdb.h"
#include "modules/ident/ident.h"
#include "modules/ipld/ipld.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors (negative, clear of ffdb's -30700.. and ipld's -30800..) ---------- */
#define OPLOG_EBADSIG (-30900)   /* the signature does not verify under the writer key */
#define OPLOG_EMISSING (-30901)  /* an entry links to one the log does not hold */
#define OPLOG_ECLOCK (-30902)    /* an entry's clock is not above its parents' */
#define OPLOG_EMISMATCH (-30903) /* bytes do not hash to the CID they were given as */
#define OPLOG_ELIMIT (-30904)    /* a size limit below was exceeded */
#define OPLOG_ECORRUPT (-30905)  /* a stored log breaks an invariant (oplog_verify) */
#define OPLOG_EBELOWCUT (-30906) /* a new entry's clock is below the node's compaction cut */

const char *oplog_strerror(int code);

/* ---- Limits ------------------------------------------------------------------- */
#define OPLOG_KEY_BYTES 32      /* ed25519 public key */
#define OPLOG_SIG_BYTES 64      /* ed25519 signature */
#define OPLOG_NEXT_MAX 64       /* links an entry may carry (heads it follows) */
#define OPLOG_OP_MAX (1u << 20) /* bytes of an operation */
#define OPLOG_CID_BYTES 36      /* binary CIDv1 dag-cbor sha2-256 */
#define OPLOG_ORDER_KEY_BYTES (8 + OPLOG_KEY_BYTES + OPLOG_CID_BYTES)

_Static_assert(OPLOG_KEY_BYTES == IDENT_PK_BYTES, "writer keys are ident public keys");
_Static_assert(OPLOG_SIG_BYTES == IDENT_SIG_BYTES, "entry signatures are ident signatures");

/* ---- Entries ------------------------------------------------------------------ */
enum oplog_kind { OPLOG_KIND_OP = 0, OPLOG_KIND_SNAPSHOT = 1 };

/* A decoded entry. op points into the decoded item; release with
 * oplog_entry_free. */
typedef struct oplog_entry {
    ipld_cid id; /* the CID of the encoded bytes */
    int kind;    /* enum oplog_kind */
    uint64_t clock;
    uint8_t writer[OPLOG_KEY_BYTES];
    uint8_t sig[OPLOG_SIG_BYTES];
    size_t next_count;
    ipld_cid next[OPLOG_NEXT_MAX]; /* sorted by binary CID, unique */
    const uint8_t *op;             /* the operation (OPLOG_KIND_OP) */
    size_t op_len;
    ipld_cid state;    /* OPLOG_KIND_SNAPSHOT: the CID of the state at the cut */
    cbor_item_t *item; /* owner of op's bytes */
} oplog_entry;

/* Build and sign an entry: *out (malloc'd, canonical dag-cbor) and *id.
 * next need not be sorted; duplicates are refused (FFDB_EINVAL). state is
 * read for OPLOG_KIND_SNAPSHOT only. The writer is signer's public key. */
int oplog_entry_build(int kind, uint64_t clock, const ipld_cid *next, size_t next_count,
                      const uint8_t *op, size_t op_len, const ipld_cid *state,
                      const ident *signer, uint8_t **out, size_t *len, ipld_cid *id);
/* Decode bytes strictly (canonical dag-cbor, exactly the fields of the
 * contract) and compute e->id. Does not check the signature. */
int oplog_entry_decode(const uint8_t *buf, size_t len, oplog_entry *e);
/* Check e's signature under e->writer (the bytes signed are re-derived from
 * e): 0 or OPLOG_EBADSIG. */
int oplog_entry_check_sig(const oplog_entry *e);
void oplog_entry_free(oplog_entry *e);

/* The order key clock||writer||cid of an entry (OPLOG_ORDER_KEY_BYTES). */
void oplog_order_key(uint64_t clock, const uint8_t writer[OPLOG_KEY_BYTES], const ipld_cid *id,
                     uint8_t out[OPLOG_ORDER_KEY_BYTES]);

/* ---- The log ------------------------------------------------------------------ */
typedef struct oplog oplog;

/* A log over the file's buckets. Signatures of entries added (oplog_add,
 * fetch) and in oplog_verify are always checked. Buckets are created on the
 * first write txn that touches them. */
int oplog_new(oplog **log);
void oplog_free(oplog *log);

/* Append a local operation: clock = 1 + the highest clock the log holds,
 * next = the current heads (the first OPLOG_NEXT_MAX in CID order).
 * *id may be NULL. */
int oplog_append(oplog *log, ffdb_txn *txn, const ident *signer, const uint8_t *op,
                 size_t op_len, ipld_cid *id);
/* Add an entry from elsewhere after full checks (O2, O3, O5). 0 if added,
 * 1 if already held; OPLOG_EMISSING if a parent is unknown. */
int oplog_add(oplog *log, ffdb_txn *txn, const uint8_t *buf, size_t len);

/* The entry's bytes (malloc'd): FFDB_NOTFOUND if not held. */
int oplog_get(ffdb_txn *txn, const ipld_cid *id, uint8_t **buf, size_t *len);
int oplog_has(ffdb_txn *txn, const ipld_cid *id); /* 1, 0 or negative */
/* 1 if the entry is held or was dropped by a compaction, 0 if unknown. */
int oplog_known(ffdb_txn *txn, const ipld_cid *id);
/* Entries held, and the highest clock. */
int oplog_len(ffdb_txn *txn, uint64_t *count, uint64_t *max_clock);
/* The heads in CID order; *count set, at most cap written (count may exceed). */
int oplog_heads(ffdb_txn *txn, ipld_cid *heads, size_t cap, size_t *count);

/* Visit entries in the total order, starting after the order key `after`
 * (NULL: from the first). fn's nonzero return stops the walk and is
 * returned. Entry bytes are valid during the call only. */
typedef int (*oplog_visit_fn)(void *arg, const ipld_cid *id, const uint8_t *buf, size_t len);
int oplog_walk(ffdb_txn *txn, const uint8_t *after, oplog_visit_fn fn, void *arg);

/* Add every entry of src (a txn on another file) that dst lacks, in src's
 * order (parents first); returns the count added via *added. */
int oplog_join(oplog *dst, ffdb_txn *dst_txn, ffdb_txn *src_txn, uint64_t *added);

/* Check O1..O5 on the whole log; *problems counts what is wrong and report
 * (may be NULL) is told each one. 0 if the walk ran (problems may be > 0). */
int oplog_verify(oplog *log, ffdb_txn *txn, uint64_t *problems,
                 void (*report)(void *arg, const char *problem), void *arg);

/* ---- Fetching missing entries ------------------------------------------------- */
/* The transport: fetch the entries named by want[0..n) (n <= batch), calling
 * got(got_arg, bytes, len) for each one found (in any order; unknown CIDs are
 * simply not delivered). 0 or a negative code (which aborts the fetch). */
typedef int (*oplog_got_fn)(void *got_arg, const uint8_t *buf, size_t len);
typedef int (*oplog_transport_fn)(void *arg, const ipld_cid *want, size_t n, oplog_got_fn got,
                                  void *got_arg);

/* Walk back from head through the transport until known entries are
 * reached, at most batch CIDs per request; fetched entries are hash-checked
 * against the CID asked for and spilled to the file ("oplog.p", "oplog.w"),
 * so memory stays at one batch whatever the length of the missing history.
 * When the walk closes, the spill is added in clock order with full checks.
 * *added counts entries added. OPLOG_EMISSING if the transport cannot
 * deliver some entry (nothing of the spill is added then). */
int oplog_fetch(oplog *log, ffdb_txn *txn, const ipld_cid *head, size_t batch,
                oplog_transport_fn transport, void *arg, uint64_t *added);

/* The same walk in steps, for a transport whose answers come later (NATS
 * request/reply on the server's loop, modules/crdt): the walk's state is in
 * the scratch buckets of the file, so the steps may run in different txns
 * of it (one fetch at a time per file), and memory stays one batch.
 *   oplog_fetch_begin   drop any old walk; want head (nothing if held)
 *   oplog_fetch_take    up to cap CIDs to ask for next (*n 0: the walk closed)
 *   oplog_fetch_got     one entry of an answer: 1 if it is one of want[0..n)
 *                       not got yet (got[i] set; hash-checked by its CID,
 *                       spilled, its unknown parents wanted; a snapshot's
 *                       parents also marked coverable), 0 if not an answer
 *                       (garbage, another CID, a repeat)
 *   oplog_fetch_giveup  after an answer: the asked CIDs not got that a
 *                       snapshot's state covers are given up (not asked
 *                       again; oplog_fetch_covered says 1): the count
 *   oplog_fetch_rewant  the asked CIDs not got go back to the wanted
 *   oplog_fetch_spill   the fetched entries in the total order (parents
 *                       first) for the caller to oplog_add (fn as oplog_walk)
 *   oplog_fetch_end     drop the walk's scratch */
int oplog_fetch_begin(ffdb_txn *txn, const ipld_cid *head);
int oplog_fetch_take(ffdb_txn *txn, ipld_cid *want, size_t cap, size_t *n);
int oplog_fetch_got(ffdb_txn *txn, const ipld_cid *want, size_t n, uint8_t *got,
                    const uint8_t *buf, size_t len);
int oplog_fetch_rewant(ffdb_txn *txn, const ipld_cid *want, size_t n, const uint8_t *got);
int oplog_fetch_giveup(ffdb_txn *txn, const ipld_cid *want, size_t n, const uint8_t *got);
int oplog_fetch_covered(ffdb_txn *txn, const ipld_cid *id);
/* A peer's "dropped behind my snapshot" for id (asked, not got): id is
 * given up as covered (as a snapshot's parent is) and the snapshot is
 * wanted; 1 if id was asked for, 0 if not (ignored). */
int oplog_fetch_dropped(ffdb_txn *txn, const ipld_cid *want, size_t n, const uint8_t *got,
                        const ipld_cid *id, const ipld_cid *snap);
/* Every CID given up as covered taken as dropped (oplog_cover): what a node
 * that loads the covering snapshot's state does. */
int oplog_fetch_cover_given_up(ffdb_txn *txn);
int oplog_fetch_spill(ffdb_txn *txn, oplog_visit_fn fn, void *arg);
int oplog_fetch_end(ffdb_txn *txn);

/* ---- Compaction ---------------------------------------------------------------- */
/* Append a snapshot entry whose next is the current heads and whose state is
 * the given CID (of the data at the cut, kept by the caller), then drop every
 * entry it reaches (their CIDs move to "oplog.g", so later entries that
 * link to them still pass O3). *id may be NULL; *dropped counts entries dropped. */
int oplog_compact(oplog *log, ffdb_txn *txn, const ident *signer, const ipld_cid *state,
                  ipld_cid *id, uint64_t *dropped);

/* The same with the cut under writes (oplog_cut): the snapshot still links
 * to every head, but only the entries with clock < cut are dropped (those
 * above it stay, and fold after the state at the cut). */
int oplog_compact_cut(oplog *log, ffdb_txn *txn, const ident *signer, const ipld_cid *state,
                      uint64_t cut, ipld_cid *id, uint64_t *dropped);
/* Drop every held entry with clock < cut (into "oplog.g", as compaction
 * does): what a node that loads a state with that cut does first (the
 * state holds them already; folding them again would count them twice). */
int oplog_drop_below(ffdb_txn *txn, uint64_t cut, uint64_t *dropped);

/* The cut under writes: the clock threshold T below which every entry held
 * here lies in the causal past of every peer's last announced heads
 * (heads: peer 0's counts[0] CIDs, then peer 1's, ...; include this node's
 * own). T = min over p of min(M_p + 1, g_p): M_p the highest clock in p's
 * past, g_p the lowest clock held here outside it. 0 with *cut set, 1 if a
 * head is not held here (not now), FFDB_EINVAL for 0 or more than
 * OPLOG_CUT_PEERS_MAX peers. One descending pass; memory = its frontier. */
#define OPLOG_CUT_PEERS_MAX 64
int oplog_cut(ffdb_txn *txn, const ipld_cid *heads, const size_t *counts, size_t npeers,
              uint64_t *cut);

/* Take an entry a snapshot covers, not held, as dropped (in "oplog.g", its
 * clock unknown: 0), so entries linking to it pass O3: what a node that
 * loads a snapshot's state from a peer does with the snapshot's parents. */
int oplog_cover(ffdb_txn *txn, const ipld_cid *id);

#ifdef __cplusplus
}
#endif
#endif /* FFDB_OPLOG_H */
