/*
 * crash.h — the crash-recovery harness (ffdb-crash): what its files share.
 *
 * The harness proves ffdb's durability promise: a commit that returned 0
 * survives any crash, and a crash at any earlier point leaves the previous
 * commit whole. It drives random or enumerated transactions (workload.c)
 * against a model of the expected contents, crashes the writer in four ways
 * (process.c: SIGKILL of a child on a real file; power.c: power loss through
 * testing/io_mem; ioerr.c: EIO/ENOSPC at every I/O call of a transaction;
 * exhaustive.c: every I/O boundary of every small workload, and every torn
 * meta page), then reopens and verifies (verify.c): ffdb_check is clean and
 * the contents are those of the last acknowledged commit or of the one in
 * flight. disk.c sits between the engine and its I/O backend to count I/O
 * events, assert the commit's write ordering and build crash images.
 *
 * Power and exhaustive modes also run workloads opened with
 * FFDB_NOMETASYNC (a commit's meta is synced by the next sync, not its
 * own). There a crash may also bring back the newest commit known durable:
 * the one before the last acknowledged commit, unless a later commit or an
 * ffdb_sync (which these workloads call now and then) returned since.
 *
 * The harness uses the public API (include/ffdb.h) and testing/io_mem.h only;
 * it never reaches into the engine. It is a test tool: it may abort() on its
 * own programming errors, never on anything the engine returns.
 */
#ifndef FFDB_TOOLS_CRASH_H
#define FFDB_TOOLS_CRASH_H

#include <stddef.h>
#include <stdint.h>

#include "ffdb.h"
#include "testing/io_mem.h"

/* ---- seeds and randomness (workload.c) ------------------------------------ */

struct rng {
    uint64_t s;
};

uint64_t rng_next(struct rng *r);
uint64_t rng_below(struct rng *r, uint64_t n);            /* [0, n), n > 0 */
uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi); /* [lo, hi] */
int      rng_chance(struct rng *r, unsigned permille);
/* A seed derived from two numbers (seed, point, ...), well mixed. */
uint64_t seed_mix(uint64_t a, uint64_t b);

/* ---- options and tallies (main.c) ------------------------------------------ */

enum run_size { SIZE_QUICK, SIZE_NORMAL, SIZE_THOROUGH };

struct opts {
    enum run_size size;
    int verbose;
    uint64_t seed;          /* first seed of the pass */
    int have_point;         /* replay exactly (seed, point) */
    uint64_t point;
    const char *dir;        /* scratch directory for real files (process mode) */
    double scale;           /* multiplies the number of points per mode */
};

/* Per-mode counts. A mode adds what it tried and what failed. */
struct tally {
    const char *mode;
    uint64_t points;
    uint64_t failed;
    uint64_t note[6];       /* mode-specific figures, named by note_name */
    const char *note_name[6];
};

/* Print a failure (with the replay command) and count it. */
void fail_point(struct tally *t, const struct opts *o, uint64_t seed, uint64_t point,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Say which point runs now: if the harness dies (signal, sanitizer), it
 * prints that point's replay command. */
void point_begin(const struct tally *t, const struct opts *o, uint64_t seed, uint64_t point);
/* Verbose progress line (only with -v). */
void vlog(const struct opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the model (workload.c) --------------------------------------------------- */

#define NBUCKETS 4
extern const char *const bucket_names[NBUCKETS]; /* in byte order */

/* A value is described by its length and a seed; its bytes are generated
 * (value_fill) and carry the seed in their first 8 bytes, so a value read
 * back from a file can be checked on its own and turned back into a model. */
struct mval {
    uint32_t len;
    uint64_t vseed;
};

struct mentry {
    uint8_t *key;
    uint32_t klen;
    struct mval v;
};

struct mbucket {
    int exists;
    struct mentry *e;       /* sorted by key (memcmp, shorter prefix first) */
    size_t n, cap;
    int digest_ok;
    uint64_t digest;
};

struct model {
    struct mbucket b[NBUCKETS];
};

void     model_init(struct model *m);
void     model_free(struct model *m);
void     model_copy_bucket(struct model *dst, const struct model *src, int b);
void     model_copy(struct model *dst, const struct model *src);
uint64_t model_digest(struct model *m);
/* Rebuild the model from a database (every value must be a generated one):
 * 0, or an ffdb code / -1 with why filled in. */
int      model_load(struct model *m, ffdb *db, char *why, size_t why_len);
void     value_fill(uint8_t *buf, uint32_t len, uint64_t vseed);
int      key_cmp(const void *a, size_t alen, const void *b, size_t blen);

/* The digest of what a database holds (every bucket, key and value, in
 * order) in a read snapshot, and its txid. 0 or an ffdb code. */
int      db_digest(ffdb *db, uint64_t *digest, uint64_t *txid);
/* The same inside a transaction (a snapshot held for a while). */
int      txn_digest(ffdb_txn *txn, uint64_t *digest, uint64_t *txid);

/* ---- the workload (workload.c) -------------------------------------------------- */

#define WL_HIST_MAX 256      /* DEFERSYNC commits between syncs (the workload syncs before) */

struct wl_params {
    unsigned max_ops;       /* operations in a large transaction */
    uint32_t max_value;     /* largest value (overflow runs) */
    unsigned max_bulk;      /* largest bulk load */
};

/* Called around ffdb_commit: before with the txid and digest the commit
 * would make durable, after once it returned 0 (the acknowledgement). */
struct wl_hooks {
    void (*before_commit)(void *arg, uint64_t txid, uint64_t digest);
    void (*after_commit)(void *arg, uint64_t txid, uint64_t digest);
    void *arg;
};

#define WL_EMODEL 1         /* the engine answered an operation wrongly (not an I/O matter) */

struct workload {
    struct rng rng;
    struct wl_params p;
    struct model cur;       /* inside a txn: the expected state so far */
    struct model acked;     /* the last acknowledged commit */
    int touched[NBUCKETS];  /* buckets changed by the current txn */
    uint64_t acked_txid, acked_digest;
    int inflight;           /* a commit returned an error: cur is its state */
    uint64_t inflight_txid, inflight_digest;
    int commit_on_error;    /* ioerr: after a failed operation, still commit */
    /* FFDB_NOMETASYNC: the newest commit known durable (the acknowledged
     * one before the last, or the last once ffdb_sync or a commit that
     * changed nothing returned); it differs from acked in the buckets of
     * dmask. Without the flag it is acked and dmask stays empty. */
    int nometasync;
    struct model durable;
    int dmask[NBUCKETS];
    uint64_t durable_txid, durable_digest;
    unsigned syncs;         /* ffdb_sync calls that returned 0 */
    /* FFDB_DEFERSYNC: every commit since the last completed sync (the
     * synced one first), any of which a power loss may bring back. */
    int defersync;
    struct { uint64_t txid, digest; } hist[WL_HIST_MAX];
    size_t nhist;
    int error_in_commit;    /* the last error came from ffdb_commit itself */
    int op_failed;          /* an operation failed before the commit */
    unsigned txns, commits, aborts;
    char err[256];
};

void wl_init(struct workload *w, uint64_t seed, const struct wl_params *p);
void wl_free(struct workload *w);
/* Run one random transaction: 0 if it committed or was deliberately
 * aborted, WL_EMODEL on a wrong answer, or the ffdb code of the failure
 * (the txn was aborted or its commit failed; w->inflight tells which). */
int  wl_txn(struct workload *w, ffdb *db, const struct wl_hooks *h);
/* The same for one of the fixed small transactions of exhaustive mode. */
#define WL_SHAPES 8
int  wl_shape_txn(struct workload *w, ffdb *db, unsigned shape, const struct wl_hooks *h);
/* Open flag FFDB_NOMETASYNC is used: track the durable state (call before
 * the first transaction). */
void wl_set_nometasync(struct workload *w);
/* Open flag FFDB_DEFERSYNC is used: note every commit since the last sync
 * (call before the first transaction). */
void wl_set_defersync(struct workload *w);
/* After a DEFERSYNC recovery to one of hist: start over from what db holds. */
int  wl_resync(struct workload *w, ffdb *db);
/* ffdb_sync: 0 (the acknowledged state is now durable), or its code. */
int  wl_sync(struct workload *w, ffdb *db);
/* After a failure and a reopen: the state that is now committed is the
 * acknowledged one (which = 0), the one in flight (1) or, with
 * FFDB_NOMETASYNC, the durable one before the acknowledged one (2). The
 * reopened file is durable: so is that state. */
void wl_resolve(struct workload *w, int which);
/* Start from what db holds (process mode, a new child on an old file). */
int  wl_adopt(struct workload *w, ffdb *db);

/* ---- the disk between the engine and io_mem (disk.c) ----------------------------- */

/* The commit's ordering rules, checked on the stream of writes and syncs
 * (page 0 and 1 are metas): a meta never follows an unsynced one (E7).
 * The engine's one-flush commit writes its pages, its commit list and its
 * meta between two syncs in any order, and open verifies the list
 * (engine/clist.c); with FFDB_NOMETASYNC (nometasync) the next commit's
 * pages may follow the unsynced meta, and its meta waits for a sync (E10). */
struct order {
    unsigned page_size;
    int armed;              /* off while a file is created (both metas at once) */
    /* FFDB_NOMETASYNC: the next commit's pages may follow an unsynced meta
     * (its sync #1 makes that meta durable before its own meta is
     * written); every other rule holds, at most one unsynced meta included. */
    int nometasync;
    int defersync;          /* FFDB_DEFERSYNC: metas follow unsynced metas (D1) */
    int data_unsynced;
    int meta_unsynced;
    uint64_t meta_writes;
    uint64_t violations;
    char first[200];        /* the first violation */
};
void order_init(struct order *o, unsigned page_size);
void order_write(struct order *o, uint64_t offset, uint64_t len);
void order_sync(struct order *o);

enum crash_kind {
    CRASH_DROP,             /* nothing unsynced reached the disk */
    CRASH_KEEP,             /* everything written reached it */
    CRASH_TEAR,             /* each 512-byte sector with probability 1/2 (io_mem) */
    CRASH_REORDER,          /* a random order of the unsynced writes (the one being
                               issued included), cut at a random point, the last torn */
    CRASH_KINDS,
    CRASH_KILL = CRASH_KINDS /* no power loss: the process dies; every write it made
                               stays readable, synced or not (power mode only) */
};
extern const char *const crash_kind_name[CRASH_KINDS + 1];

struct pending_op {
    int is_size;            /* a size change (grow or truncate) rather than a write */
    uint64_t offset;        /* write: where; size: the new size */
    uint64_t len;
    uint8_t *data;
};

struct disk {
    struct io_mem *m;
    ffdb_io io;             /* the table given to ffdb_open: forwards to io_mem */
    const ffdb_io *inner;
    struct order order;
    uint64_t events;        /* write runs and syncs seen (the crash points) */
    uint64_t crash_at;      /* crash before this event (0 = never) */
    enum crash_kind kind;
    uint64_t crash_seed;
    int crashed;
    int dead;               /* CRASH_KILL: every later write and sync fails */
    uint64_t crash_event;
    /* writes since the last successful sync, for CRASH_REORDER */
    struct pending_op *pend;
    size_t npend, cappend;
    const ffdb_io_write *batch; /* the write call in progress */
    size_t batch_count;
    /* async mode: the runs of each submission, for its wait (io_mem writes
     * a submitted batch only when it is waited for) */
    struct {
        uint64_t ticket;
        const ffdb_io_write *runs;
        size_t count;
    } subs[16];
    /* capture of a meta write (exhaustive mode's meta tearing) */
    int capture_meta;       /* crash at the next meta write, keeping image + page */
    uint8_t *cap_image;
    uint64_t cap_image_size;
    uint8_t *cap_meta;
    uint64_t cap_meta_offset;
};

int  disk_init(struct disk *d, unsigned page_size);
void disk_free(struct disk *d);
/* Crash before event n (counting from now) with the given kind. */
void disk_arm(struct disk *d, uint64_t n, enum crash_kind kind, uint64_t seed);
/* Power loss now, between calls. */
void disk_crash_now(struct disk *d, enum crash_kind kind, uint64_t seed);
/* The I/O stream kept the rules: ordering (struct order), and a sync after
 * a change of the file size asked for fsync. 0, or -1 with why. */
int  disk_io_rules(struct disk *d, char *why, size_t why_len);
/* Give the engine asynchronous writes (io_mem's async mode: a batch lands
 * when the engine waits for it) or not; before opening. */
void disk_set_async(struct disk *d, int on);
/* Options that open the database on this disk. */
void disk_options(struct disk *d, ffdb_options *o, size_t frames);

/* ---- verification (verify.c) -------------------------------------------------------- */

struct expect {
    uint64_t acked_txid, acked_digest;
    int inflight_possible;
    uint64_t inflight_txid, inflight_digest;
    int durable_possible;   /* FFDB_NOMETASYNC: the acknowledged meta may be lost */
    uint64_t durable_txid, durable_digest;
    const struct workload *hist; /* FFDB_DEFERSYNC: any of its hist (which = 3) */
};
/* Fill e from the workload: acked, in flight if inflight_possible, and the
 * durable state when it differs from acked. */
void expect_from(struct expect *e, const struct workload *w, int inflight_possible);

/* Reopen (path with options, which may be NULL for defaults), run
 * ffdb_check, compare with the expectation. 0 if all is well; otherwise
 * why says what is wrong. *which_out: 0 acked, 1 in-flight, 2 durable.
 * The handle is returned through keep when not NULL (else closed). */
int  verify_reopen(const char *path, const ffdb_options *opt, const struct expect *e,
                   int *which_out, ffdb **keep, char *why, size_t why_len);
/* ffdb_check clean and every page accounted for: 0, or -1 with why. */
int  verify_check(ffdb *db, char *why, size_t why_len);
/* Contents of db against the expectation (no check). */
int  verify_contents(ffdb *db, const struct expect *e, int *which_out, char *why, size_t why_len);
/* Say which keys differ between db and model (for failure messages). */
void verify_diff(ffdb *db, struct model *m, char *out, size_t out_len);

/* ---- the modes ------------------------------------------------------------------------- */

void mode_process(const struct opts *o, struct tally *t);
void mode_power(const struct opts *o, struct tally *t);
void mode_defer(const struct opts *o, struct tally *t); /* power.c, FFDB_DEFERSYNC */
void mode_ioerr(const struct opts *o, struct tally *t);
void mode_exhaustive(const struct opts *o, struct tally *t);

#endif /* FFDB_TOOLS_CRASH_H */
