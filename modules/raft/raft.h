/*
 * raft.h — RAFT replication of an ffdb file on canonical libraft 0.15.
 *
 * libffdb_raft.a uses include/ffdb.h, modules/net (the one event loop),
 * libraft and libuv. It knows no Redis: a log entry carries a batch of
 * commands (argument vectors) and the state machine hands each applied
 * entry to a callback with an open engine write txn; ffdb-server wires that
 * callback to modules/redis through the write hook. README.md explains the
 * design; the wire formats are tabled below and there.
 *
 * Pieces:
 *   rf_entry_*   the log entry encoding (a batch of commands)
 *   rf_fsm_*     the state machine: the ffdb file, applied index in the file
 *   rf_dump_*, rf_load_*   the snapshot's file content as a stream
 *   rf_member_*  membership change (add as a voter, remove)
 *   rf_uv_*      libuv hosted on a net_loop (no second loop)
 *
 * Invariants:
 *   R1. The applied index and term live in the ffdb file (bucket
 *       RF_META_BUCKET, key RF_META_APPLIED) and are written in the SAME
 *       engine write txn as the entry's commands: one txn per applied entry.
 *   R2. An entry whose index is <= the file's applied index is not applied
 *       again (restart replays the log from the last snapshot; a file
 *       fetched from a peer may be ahead of the local log).
 *   R3. A snapshot's metadata is handed to libraft only once the file state
 *       it names is durable (ffdb_sync), so log truncation never loses an
 *       entry the file does not have.
 *   R4. A fetched file replaces the live one only by rename() after it is
 *       complete, checked (count and XXH64 of the stream) and synced; a
 *       crash at any point leaves the old file or the new one, whole.
 *
 * Threading: everything here belongs to the loop's thread.
 */
#ifndef FFDB_RAFT_RAFT_H
#define FFDB_RAFT_RAFT_H

#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <uv.h>

#include "ffdb.h"
#include "modules/net/loop.h"

/* ---- log entries ----------------------------------------------------------------------------
 *
 * Entry v1, little-endian:
 *
 *   off  size  field
 *   0    4     magic "FFR1"
 *   4    8     term of the leader that proposed it (the entry's term)
 *   12   4     command count n (>= 1)
 *   16   ...   n commands: u32 argc (>= 1), then argc times (u32 len, len bytes)
 *
 * then 0-7 zero bytes, so the length is a multiple of 8. A MULTI/EXEC
 * block is one entry.
 *
 * The padding is libraft's rule, not ours: raft_uv sends an entry's buffer
 * as it is, but its receiver steps over the entries of an AppendEntries
 * message rounding each length up to 8. An entry of 60 bytes in a batch of
 * several (a restarted or lagging follower catching up) therefore shifted
 * the next one by 4 bytes: it failed to decode and was skipped as
 * malformed on that node only (the state diverged; tests/test_cluster.c
 * failover and meet found it).
 */
#define RF_ENTRY_MAGIC "FFR1"
#define RF_ENTRY_HDR 16
#define RF_ENTRY_MAX_BYTES (512u << 20) /* an entry is at most 512 MiB */

typedef struct rf_entry_writer {
    uint8_t *buf; /* malloc'ed; handed over by rf_entry_finish */
    size_t len, cap;
    uint32_t ncmds;
    int err; /* sticky: FFDB_ENOMEM or FFDB_EINVAL (over RF_ENTRY_MAX_BYTES) */
} rf_entry_writer;

void rf_entry_begin(rf_entry_writer *w, uint64_t term);
/* Append one command of argc >= 1 arguments. */
void rf_entry_add(rf_entry_writer *w, int argc, const char *const *argv, const size_t *lens);
/* 0 and the encoded entry in *buf and *len (malloc'ed, the caller frees it), or
 * the sticky error (FFDB_EINVAL also for an entry with no command); the
 * writer is reset either way. */
int rf_entry_finish(rf_entry_writer *w, void **buf, size_t *len);
void rf_entry_discard(rf_entry_writer *w);

/* A decoded command: pointers into the entry's buffer. */
typedef struct rf_cmd {
    int argc;
    const char **argv;
    size_t *lens;
} rf_cmd;

typedef struct rf_entry_iter {
    const uint8_t *p, *end;
    uint64_t term;
    uint32_t ncmds, left;
    const char **argv;
    size_t *lens;
    int cap;
} rf_entry_iter;

/* Check the whole entry (every length inside it) and start an iteration:
 * 0, or FFDB_EINVAL for a malformed entry. */
int rf_entry_open(rf_entry_iter *it, const void *buf, size_t len);
/* 1 and the next command in *cmd (valid until the next call or close),
 * 0 at the end, FFDB_ENOMEM. */
int rf_entry_next(rf_entry_iter *it, rf_cmd *cmd);
void rf_entry_close(rf_entry_iter *it);

/* ---- snapshot metadata ----------------------------------------------------------------------
 *
 * The buffer libraft stores and sends as "the snapshot" (v1, little-endian):
 *
 *   off  size  field
 *   0    4     magic "FFRS"
 *   4    4     version 1
 *   8    8     applied index of the file state
 *   16   8     its term
 *   24   8     ffdb txid of that state on the node that took it
 *   32   8     id of that node (a fetch asks it, or the leader, for the file)
 */
#define RF_SNAP_MAGIC "FFRS"
#define RF_SNAP_BYTES 40

typedef struct rf_snap_meta {
    uint64_t index, term, txid, node_id;
} rf_snap_meta;

void rf_snap_encode(const rf_snap_meta *m, uint8_t out[RF_SNAP_BYTES]);
/* 0, or FFDB_EINVAL. */
int rf_snap_decode(const void *buf, size_t len, rf_snap_meta *m);

/* ---- the state machine ---------------------------------------------------------------------- */

#define RF_META_BUCKET "ffdb.raft"
#define RF_META_APPLIED "applied" /* 16 bytes: u64 index, u64 term, little-endian */

typedef struct rf_fsm rf_fsm;

typedef struct rf_fsm_ops {
    /* Apply one entry's commands inside txn (which the fsm commits with the
     * applied index, R1). A command's own error is its reply, not a
     * failure: return 0. A negative code (the engine failed) aborts the
     * txn and fails the fsm (rf_fsm_failed): the node must stop, it can no
     * longer follow the log. *result is handed to the proposer's callback. */
    int (*apply)(void *arg, ffdb_txn *txn, rf_entry_iter *entry, uint64_t index, void **result);
    /* Write at tmp_path a complete ffdb file of a state at or past m
     * (rf_load_*, from a stream of rf_dump_* on a peer); 0 or a negative
     * code. NULL: restores that need a file fail. */
    int (*fetch)(void *arg, const rf_snap_meta *m, const char *tmp_path);
    /* The live file was replaced: db is the new handle (the old one is
     * closed). May be NULL. */
    void (*swapped)(void *arg, ffdb *db);
    void *arg;
    /* Borrowed file (rf_fsm_new_on) only: */
    /* Before a snapshot: make every applied entry committed (the owner's
     * open txn). NULL: nothing is held back. */
    int (*flush)(void *arg);
    /* Close the live file, rename tmp_path over path durably
     * (rf_rename_durable), open it again and hand back the new handle. */
    int (*replace)(void *arg, const char *tmp_path, const char *path, ffdb **db);
} rf_fsm_ops;

/* Open (or create) the ffdb file at path as the state machine of node_id.
 * 0, or the ffdb_open error. */
int rf_fsm_new(const char *path, const ffdb_options *opt, uint64_t node_id, const rf_fsm_ops *ops,
               rf_fsm **out);
/* The same on a file the caller owns and keeps open (ffdb-server's: its
 * batch txn is where entries apply). Then apply is called with txn NULL
 * (entry NULL for a malformed entry, which changes nothing) and the callback
 * itself writes rf_fsm_write_applied(its txn, index, entry's term) in the
 * txn that holds the entry's commands and commits it (R1); restore swaps
 * through ops.replace; the fsm never closes the file. */
int rf_fsm_new_on(ffdb *db, const char *path, uint64_t node_id, const rf_fsm_ops *ops,
                  rf_fsm **out);
/* Record index and term as applied in txn (R1). */
int rf_fsm_write_applied(ffdb_txn *txn, uint64_t index, uint64_t term);
/* rename(tmp, path) and sync the directory: 0 or FFDB_EIO. */
int rf_rename_durable(const char *tmp, const char *path);
void rf_fsm_free(rf_fsm *m);
/* The libraft fsm (version 1: apply, snapshot, restore) to pass to
 * raft_init; rf_fsm_bind tells the fsm its raft instance (for the index of
 * the entry being applied). */
struct raft_fsm *rf_fsm_raft(rf_fsm *m);
void rf_fsm_bind(rf_fsm *m, struct raft *r);
ffdb *rf_fsm_db(rf_fsm *m);
uint64_t rf_fsm_applied_index(const rf_fsm *m);
uint64_t rf_fsm_applied_term(const rf_fsm *m);
/* 0, or the code that failed the fsm. */
int rf_fsm_failed(const rf_fsm *m);

/* ---- the file content as a stream -----------------------------------------------------------
 *
 * Dump v1, little-endian: "FFRD", u32 version 1, then records:
 *   1  bucket: u32 name length, name        (buckets in catalog order)
 *   2  pair:   u32 key length, u64 value length, key, value (cursor order)
 *   3  end:    u64 number of bucket and pair records, u64 XXH64 (seed 0)
 *              of every byte of the stream before this record
 * A stream is read from one read txn: a consistent state.
 */
typedef struct rf_dump rf_dump;
/* Start a dump of txn's state (a read txn the caller keeps open and ends
 * after rf_dump_free). 0, FFDB_ENOMEM or a catalog read error. */
int rf_dump_new(ffdb_txn *txn, rf_dump **out);
/* Fill buf with up to cap bytes: their count (0 once the end is sent), or a
 * negative code. */
long rf_dump_read(rf_dump *d, void *buf, size_t cap);
void rf_dump_free(rf_dump *d);

typedef struct rf_load rf_load;
/* Create a fresh ffdb file at path (an existing one is removed first). */
int rf_load_new(const char *path, const ffdb_options *opt, rf_load **out);
/* Feed the next bytes of a stream: 0 or FFDB_EINVAL (malformed stream,
 * keys out of order) or an engine code. */
int rf_load_feed(rf_load *ld, const void *buf, size_t len);
/* The end record was read and checked: commit, sync and close the file;
 * 0, FFDB_EINVAL for a stream that is short or fails its check. The loader
 * is freed either way; on error the file is removed. */
int rf_load_finish(rf_load *ld);
void rf_load_abort(rf_load *ld);

/* ---- membership change --------------------------------------------------------------------- */

typedef struct rf_change rf_change;
struct rf_change {
    struct raft_change req;
    struct raft *raft;
    uint64_t id;
    int busy;
    /* Called once with 0 (the change is committed) or a RAFT_ code. */
    void (*done)(rf_change *c, int status);
    void *arg;
};

/* Add server id at address as a voter: raft_add, then raft_assign(VOTER)
 * once that is committed. 0 (c->done follows) or a RAFT_ code (e.g.
 * RAFT_NOTLEADER, RAFT_DUPLICATEID, RAFT_CANTCHANGE while another change
 * is in flight). c stays alive until done. */
int rf_member_add(rf_change *c, struct raft *r, uint64_t id, const char *address);
/* Remove server id; as above. */
int rf_member_remove(rf_change *c, struct raft *r, uint64_t id);

/* ---- libuv on the net loop ------------------------------------------------------------------
 *
 * libuv's backend descriptor is watched for reading; when it is ready and
 * after every iteration's events, uv_run(UV_RUN_NOWAIT) runs; before the
 * net loop sleeps it asks to wake by uv_backend_timeout(). libuv never
 * blocks, so there is one loop.
 */
typedef struct rf_uv_host rf_uv_host;
/* 0, or a negative code. The host's hooks stay registered on l for the
 * loop's life (net has no hook removal), so a freed host is kept closed
 * (its hooks then do nothing) rather than released. */
int rf_uv_host_new(net_loop *l, rf_uv_host **out);
uv_loop_t *rf_uv_loop(rf_uv_host *h);
/* Let closed handles finish (a bounded number of NOWAIT rounds), close
 * the libuv loop and retire the host: the loop may run again (a server
 * stopping after a failed start), its hooks see a closed host. */
void rf_uv_host_free(rf_uv_host *h);

#endif /* FFDB_RAFT_RAFT_H */
