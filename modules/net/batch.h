/*
 * batch.h — the batch-commit helper: the group commit of a network module
 * on one ffdb file, and the replies that wait for durability.
 *
 * A module runs, in each loop iteration, the requests that arrived as one
 * batch inside one engine transaction (the txn is begun on demand:
 * net_batch_need_txn), commits it at the end of the iteration, and only
 * then lets the batch's replies go. The helper owns that transaction, the
 * list of connections that ran commands in it (each with the mark where its
 * replies of this batch begin), the commit policy (--fsync always: commit
 * every batch; batch-ms N: at most every N ms, replies sent at once; never:
 * no syncs), and — with pipelined commits (FFDB_NOMETASYNC: a commit's meta
 * becomes durable with the next commit or ffdb_sync) — the replies held
 * past out.hold until ffdb_durable_txid() covers the commit they depend on;
 * a failed sync turns every held reply into an error.
 *
 * A module's iteration, in its NET_HOOK_AFTER_EVENTS hook:
 *
 *   net_batch_round_begin(b, nevents);   gather, settle if no one came
 *   for each request: net_batch_join(b, c); [net_batch_need_txn(b, write);]
 *                     run it, writing its reply into c->out;
 *                     on an engine failure: net_batch_fail(b, rc)
 *   net_batch_round_end(b, shutting_down);  commit, hold or release, flush
 *
 * Batch state machine (b->txn, per iteration):
 *
 *   none --need_txn(read)--> read txn --need_txn(write)--> write txn
 *   none --need_txn(write)-----------------------------> write txn
 *   read txn  --round_end--> abort (no I/O) --> none
 *   write txn --round_end--> commit, replies released --> none
 *                 (batch-ms: replies released now, commit when due)
 *   any txn --net_batch_fail or a failed commit--> abort; every command of
 *                 the batch answers with an error (ops->fail_reply) --> none
 *
 * Invariant B1: with --fsync always, no byte of a reply produced while a
 * write txn was open leaves the process before that txn is durable, and no
 * reply produced while a commit is not yet durable leaves before it is.
 * (A batch's connections are flushed only by round_end, after the commit —
 * the connection layer refuses to flush a connection in a batch, C3 — and
 * never past out.hold, C2; hold is set to the batch mark of every member
 * whose commit is not durable yet.)
 *
 * Threading: the loop thread.
 */
#ifndef FFDB_NET_BATCH_H
#define FFDB_NET_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "ffdb.h"
#include "modules/net/config.h"
#include "modules/net/conn.h"

enum { NET_FSYNC_ALWAYS = 0, NET_FSYNC_BATCH = 1, NET_FSYNC_NEVER = 2 };

typedef struct net_batch_config {
    int fsync;          /* NET_FSYNC_... */
    int fsync_batch_ms; /* NET_FSYNC_BATCH: the longest a write waits for its commit */
    int pipeline;       /* NET_FSYNC_ALWAYS with FFDB_NOMETASYNC: one sync serves two batches */
} net_batch_config;

/* ffdb-fsync always|batch-ms N|never, appendfsync always|everysec|no (the
 * same setting in Redis's words), ffdb-pipeline-commits yes|no (base: a
 * net_batch_config). */
extern const net_param net_batch_params[];

/* The flags ffdb_open needs for cfg (FFDB_NOSYNC, FFDB_NOMETASYNC). */
unsigned net_batch_open_flags(const net_batch_config *cfg);

/* What the module plugs in. */
typedef struct net_batch_ops {
    /* A txn was begun: attach the module's state to it. Non-zero: the txn
     * is aborted and net_batch_need_txn returns that code. */
    int (*begin)(void *arg, ffdb_txn *txn, int write);
    /* Before ffdb_commit (the module writes what it kept back); non-zero
     * aborts instead. NULL: nothing to do. */
    int (*prepare)(void *arg);
    /* The txn is gone: committed (1) or aborted (0). */
    void (*end)(void *arg, int committed);
    /* Append one error reply to c, for one command whose effect is lost:
     * "<what>: <ffdb_strerror(rc)>". */
    void (*fail_reply)(void *arg, net_conn *c, const char *what, int rc);
    /* Connections with requests waiting to run (gathering; NULL: none). */
    size_t (*ready)(void *arg);
} net_batch_ops;

typedef struct net_batch_stats {
    uint64_t batches; /* write batches committed */
    uint64_t commits;
    uint64_t commit_failures;
    uint64_t commit_us; /* time spent in ffdb_commit */
    uint64_t syncs;     /* ffdb_sync calls: commits made durable without a next commit */
    uint64_t thread_syncs; /* of them, run on the sync thread (pipelined commits) */
} net_batch_stats;

typedef struct net_batch {
    ffdb *db;
    net_service *svc;
    const net_batch_config *cfg;
    const net_batch_ops *ops;
    void *arg;

    ffdb_txn *txn; /* the batch's txn, or NULL */
    int txn_write;
    net_conn **members; /* ran commands in the current batch */
    size_t member_len, member_cap;
    int commit_requested;   /* commit at the end of this batch whatever the policy */
    int64_t last_commit_ms; /* monotonic */
    int64_t last_commit_us; /* how long the last commit took */
    int last_commit_rc;
    size_t last_batch_writers; /* connections that wrote in the last committed batch */
    net_timer *due;            /* batch-ms: the commit deadline of an open write txn */

    /* replies that wait for a sync (pipelined commits) */
    net_conn **held; /* connections with out.hold set */
    size_t held_len, held_cap;
    int unsynced;       /* the last commit's meta is not known durable */
    int hold_failed;    /* a connection could not be listed as waiting */
    uint64_t last_txid; /* the last successful commit */
    size_t released;    /* connections this round's commit released */

    /* the sync thread (pipelined commits): ffdb_sync off the loop thread,
     * so the loop runs the next batch while the disk flushes this one */
    struct net_batch_syncer *syncer; /* NULL until the first sync asked of it */
    int sync_in_flight;              /* asked and not yet reported back */

    net_batch_stats stats;
} net_batch;

/* 0 or -ENOMEM. cfg must outlive the helper (CONFIG SET may change it). */
int net_batch_init(net_batch *b, net_service *svc, ffdb *db, const net_batch_config *cfg,
                   const net_batch_ops *ops, void *arg);
/* The txn must be gone (net_batch_finish). */
void net_batch_free(net_batch *b);

/* Start of a round: sync for held replies if the wait ended with no event,
 * gather more requests (group commit), reset the round's counters. */
void net_batch_round_begin(net_batch *b, int nevents);
/* c runs one command in this batch (it owes one reply). */
void net_batch_join(net_batch *b, net_conn *c);
/* c's last joined command owes no reply in this batch after all (it waits
 * for something outside the batch, e.g. a replication hook). */
void net_batch_leave(net_batch *b, net_conn *c);
/* The command c runs writes (the batch's writers size the next gathering). */
void net_batch_wrote(net_batch *b, net_conn *c);
/* Make sure the batch has a txn that can write (write) or read; 0 or the
 * engine's code. A read txn becomes a write txn in place of it: a snapshot
 * taken in this batch shows the last commit, where the write txn starts. */
int net_batch_need_txn(net_batch *b, int write);
/* An engine failure inside a command: the txn is rolled back and every
 * reply of the batch so far becomes an error. */
void net_batch_fail(net_batch *b, int rc);
/* Commit at the end of this batch even under batch-ms (SAVE, SHUTDOWN). */
void net_batch_request_commit(net_batch *b);
/* End of a round: commit (or keep open under batch-ms), hold or release the
 * batch's replies, sync now if no one can bring the next batch soon, and
 * flush the service. force commits whatever the policy. */
void net_batch_round_end(net_batch *b, int force);
/* Shutdown: commit what is open, make it durable, flush. */
void net_batch_finish(net_batch *b);

/* Work outside a round (a sweeper): commit the open write txn now (0 or
 * the engine's code; its members' replies become errors on failure), or
 * drop the open txn. */
int net_batch_commit(net_batch *b);
void net_batch_drop(net_batch *b);
/* Make the last commit durable now and release what waited for it. */
void net_batch_settle(net_batch *b);
/* c is closing: forget that it waits. */
void net_batch_forget(net_batch *b, net_conn *c);

#endif /* FFDB_NET_BATCH_H */
