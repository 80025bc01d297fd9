/*
 * ptr.h — the public header of libffdb_ptr.a: signed last-writer-wins
 * records (the "pointers" seed) kept in an ffdb bucket.
 *
 * What it owns: records (modules/ptr/ptr.proto is the wire contract), the
 * hybrid logical clock (HLC), the merge rule, tombstones and their retention,
 * the optional binding of a key to one signer, the limits and the counters of
 * rejected records. It does no networking: modules/natsbus carries the bytes
 * ptr_set/ptr_del return and hands received ones to ptr_apply.
 *
 * Who calls it: ffdb-server (PTR.* commands, the NATS bridge) and embedders.
 * A ptr handle is used by one thread at a time (the server's loop).
 *
 * The merge rule (R1): of two records of one key the winner is the one with
 * the greater (hlc, signer public key, body bytes), compared in that order
 * (unsigned, bytewise). Every node applies the same rule to the same set of
 * records and ends with the same winner whatever the arrival order.
 * R2: a record is verified (sizes, then signature, then decoding, namespace,
 * future skew, binding) before it is compared or stored; a record failing a
 * check is dropped and counted under its reason, never stored.
 * R3: a delete is a tombstone record that wins like any other, so an older
 * set arriving later loses to it; tombstones older than tombstone_retention_ms
 * (by their HLC's physical part) are purged by ptr_gc. A set older than a
 * purged tombstone could come back: retention must exceed the longest
 * partition a deployment expects (default 7 days).
 * R4: the local HLC never goes backwards and is above every accepted record's
 * hlc, so a node's new write beats every record it has seen for the key,
 * whatever its wall clock says.
 * R5: a received message byte for byte equal to the stored message of its
 * key is a duplicate: stale, without a second signature check (its bytes
 * were verified when stored, and every check of R2 would pass the same way
 * and R1 find it equal). Catching up brings each record from every peer,
 * so this is what keeps a late node's work to one verification per record.
 * To find the stored message the bytes are decoded first (protobuf-c,
 * bounded by the size limit); they are trusted for nothing but the lookup.
 *
 * Storage: bucket "ptr/" + namespace; key = record key, value = the Signed
 * message as received (re-sent verbatim in Answers). A batch of ptr_apply is
 * one engine write txn.
 *
 * Errors: 0, FFDB_NOTFOUND, FFDB_E... of the engine, or PTR_E... below.
 */
#ifndef FFDB_PTR_H
#define FFDB_PTR_H

#include <stddef.h>
#include <stdint.h>

#include "ffdb.h"
#include "modules/ident/ident.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PTR_ELIMIT (-31200)  /* a key or value over the configured limit */
#define PTR_EBOUND (-31201)  /* the key is bound to another signer */
#define PTR_EFORMAT (-31202) /* bytes that are not a valid record */

/* Why a received record was dropped (counters in ptr_stats.rejects). */
enum ptr_reject {
    PTR_R_MALFORMED, /* not a Signed/Record message, wrong field sizes */
    PTR_R_OVERSIZE,  /* message, key or value over a limit */
    PTR_R_BADSIG,    /* the signature does not verify */
    PTR_R_NAMESPACE, /* a record of another namespace */
    PTR_R_FUTURE,    /* hlc's physical part beyond now + max_future_skew_ms */
    PTR_R_BINDING,   /* the key is bound to another signer */
    PTR_R_COUNT
};
const char *ptr_reject_name(enum ptr_reject r);

typedef struct ptr_opts {
    const char *namespace_name;      /* NULL or "" = the default namespace */
    size_t max_key_bytes;            /* 0 = 512 */
    size_t max_value_bytes;          /* 0 = 65536 */
    uint64_t max_future_skew_ms;     /* 0 = 60,000 */
    uint64_t tombstone_retention_ms; /* 0 = 7 days */
    int bind_keys;                   /* 1: the first signer of a key owns it */
    /* Clock seam (tests): milliseconds since the epoch; NULL = CLOCK_REALTIME. */
    uint64_t (*now_ms)(void *arg);
    void *now_arg;
} ptr_opts;

typedef struct ptr ptr;

typedef struct ptr_stats {
    uint64_t records;    /* keys stored, tombstones included */
    uint64_t tombstones; /* of which deletes */
    uint64_t applied;    /* received records that won and were stored */
    uint64_t stale;      /* received records that lost to the stored one (not errors) */
    uint64_t rejects[PTR_R_COUNT];
    uint64_t hlc; /* the local clock */
} ptr_stats;

/* What a record says, after verification. Views point into a buffer that
 * lives until the next call on the handle (ptr_get) or the callback's end. */
typedef struct ptr_entry {
    ffdb_val key, value;
    int deleted; /* a tombstone */
    uint64_t hlc;
    uint8_t signer[IDENT_PK_BYTES];
} ptr_entry;

/* Open (creating the bucket) on db for identity id (kept by pointer; it must
 * outlive the handle). opts may be NULL. */
int ptr_open(ffdb *db, const ident *id, const ptr_opts *opts, ptr **out);
void ptr_close(ptr *p);

/* A local write: a record signed by the handle's identity with the next HLC,
 * stored in its own txn. When wire is not NULL, *wire and *wire_len receive the
 * Signed message to broadcast (malloc'd, the caller frees it).
 * Errors: PTR_ELIMIT, PTR_EBOUND, FFDB_E... */
int ptr_set(ptr *p, const void *key, size_t klen, const void *val, size_t vlen, uint8_t **wire,
            size_t *wire_len);
int ptr_del(ptr *p, const void *key, size_t klen, uint8_t **wire, size_t *wire_len);

/* The stored record of key: 0 (tombstones too: e->deleted), FFDB_NOTFOUND. */
int ptr_get(ptr *p, const void *key, size_t klen, ptr_entry *e);

/* Apply received Signed messages (msgs[i], lens[i]) in one engine txn. Bad
 * ones are dropped and counted (R2); *applied, when not NULL, receives how
 * many won. Only engine errors are returned (the txn is then aborted and
 * nothing of the batch is stored). */
int ptr_apply(ptr *p, const uint8_t *const *msgs, const size_t *lens, size_t n, size_t *applied);

/* Visit the stored records in key order from the first key >= from (NULL:
 * all); fn returns non-zero to stop (returned). Tombstones are visited with
 * e->deleted set; wire and wire_len are the stored Signed message. */
typedef int (*ptr_visit_fn)(void *arg, const ptr_entry *e, const uint8_t *wire, size_t wire_len);
int ptr_scan(ptr *p, const void *from, size_t from_len, ptr_visit_fn fn, void *arg);

/* Purge tombstones older than the retention (R3); *purged when not NULL. */
int ptr_gc(ptr *p, size_t *purged);

void ptr_get_stats(ptr *p, ptr_stats *st);

/* ---- in the caller's transaction -------------------------------------------------
 * Every operation has a *_txn form that works in a txn the caller owns (t: a
 * write txn for writes, any txn for reads) and neither begins, commits nor
 * aborts it: a program with its own batching (ffdb-server's one write txn per
 * loop iteration) makes records part of it. The forms without _txn are thin
 * wrappers that run the _txn form in a txn of their own (one road).
 * On an engine error the caller must abort t. The counters of ptr_get_stats
 * (records, tombstones) follow the writes made; if the caller aborts a txn
 * after writes that succeeded, ptr_recount in a later txn sets them right. */
int ptr_open_txn(ffdb *db, ffdb_txn *t, const ident *id, const ptr_opts *opts, ptr **out);
int ptr_set_txn(ptr *p, ffdb_txn *t, const void *key, size_t klen, const void *val, size_t vlen,
                uint8_t **wire, size_t *wire_len);
int ptr_del_txn(ptr *p, ffdb_txn *t, const void *key, size_t klen, uint8_t **wire,
                size_t *wire_len);
int ptr_apply_txn(ptr *p, ffdb_txn *t, const uint8_t *const *msgs, const size_t *lens, size_t n,
                  size_t *applied);
int ptr_get_txn(ptr *p, ffdb_txn *t, const void *key, size_t klen, ptr_entry *e);
int ptr_scan_txn(ptr *p, ffdb_txn *t, const void *from, size_t from_len, ptr_visit_fn fn,
                 void *arg);
int ptr_gc_txn(ptr *p, ffdb_txn *t, size_t *purged);
/* Count records and tombstones again from what t sees. */
int ptr_recount(ptr *p, ffdb_txn *t);

/* ---- catching up: Ask and Answer (sync.c) -----------------------------------------
 * A node sends its summary (Ask, ptr.proto): keys fall in PTR_SUMMARY_RANGES
 * ranges by a hash, each range has a digest of its stored records (the same
 * records give the same digest on every node, R1 making them the same
 * winners). A peer answers with its records of every range whose digest
 * differs from the asker's; the asker applies them (R1: only newer ones win)
 * and asks again while answers bring something new or say there is more. Answers are bounded
 * (max_bytes per Ask, chunk_bytes per message), so a large gap takes a few
 * rounds. */
#define PTR_SUMMARY_RANGES 256
#define PTR_ASK_MAX_BYTES 4096 /* an Ask is ~2.1 KB; anything larger is refused */

typedef struct ptr_summary {
    uint64_t digest[PTR_SUMMARY_RANGES];
    uint32_t count[PTR_SUMMARY_RANGES]; /* records per range (local use, not sent) */
} ptr_summary;

int ptr_summary_txn(ptr *p, ffdb_txn *t, ptr_summary *s);
/* The Ask of summary s from node (malloc'd into *out). */
int ptr_ask_encode(const ptr_summary *s, const uint8_t node[IDENT_PK_BYTES], const void *from,
                   size_t from_len, uint8_t **out, size_t *len);
/* 0, or PTR_EFORMAT for bytes that are not an Ask of this scheme (or whose
 * from is over from_cap bytes); from gets its from key. */
int ptr_ask_decode(const uint8_t *msg, size_t len, ptr_summary *s, uint8_t node[IDENT_PK_BYTES],
                   uint8_t *from, size_t from_cap, size_t *from_len);
/* One message of an answer (a Batch); non-zero stops the answer (returned). */
typedef int (*ptr_emit_fn)(void *arg, const uint8_t *batch, size_t len);
/* Answer theirs: emit Batch messages of at most chunk_bytes (a larger record
 * goes alone) holding this store's records, in key order from the key from
 * on, of every range whose digest differs, at most max_bytes in all; the
 * last message of an answer that stopped at max_bytes holds more, the key
 * to ask from next. *sent: records sent. */
int ptr_answer_txn(ptr *p, ffdb_txn *t, const ptr_summary *theirs, const void *from,
                   size_t from_len, size_t chunk_bytes, size_t max_bytes, ptr_emit_fn emit,
                   void *arg, size_t *sent);
/* Apply a received Batch (a broadcast or an answer) in t: its records as
 * ptr_apply_txn; broken framing is one PTR_R_MALFORMED reject. more, when
 * not NULL, gets the Batch's more key (size 0: none), a view into batch. */
int ptr_apply_batch_txn(ptr *p, ffdb_txn *t, const uint8_t *batch, size_t len, size_t *applied,
                        ffdb_val *more);
/* The framing of a received Batch without applying it: *records, and its
 * more key (size 0: none; a view into batch). 0, or PTR_EFORMAT for broken
 * framing (nothing of it counted: ptr_apply_batch_txn counts it). */
int ptr_batch_info(const uint8_t *batch, size_t len, size_t *records, ffdb_val *more);
/* The largest Signed message this handle accepts (its limits). */
size_t ptr_record_max_bytes(const ptr *p);
/* Count a reject found outside ptr_apply (a broken batch, a bad Ask). */
void ptr_count_reject(ptr *p, enum ptr_reject r);

/* ---- the hybrid logical clock (hlc.c) ---------------------------------------- */
#define PTR_HLC_LOGICAL_BITS 16
static inline uint64_t ptr_hlc_ms(uint64_t hlc)
{
    return hlc >> PTR_HLC_LOGICAL_BITS;
}

typedef struct ptr_hlc {
    uint64_t last;
} ptr_hlc;

/* The next timestamp for a local event at wall time now_ms: above last and
 * at least now_ms << 16. */
uint64_t ptr_hlc_tick(ptr_hlc *c, uint64_t now_ms);
/* Take a received timestamp into account (R4): last = max(last, remote). */
void ptr_hlc_observe(ptr_hlc *c, uint64_t remote);

#ifdef __cplusplus
}
#endif

#endif
