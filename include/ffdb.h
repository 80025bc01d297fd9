/*
 * ffdb.h — the one public header of ffdb, an embedded single-file key/value
 * storage engine: copy-on-write B+trees over checksummed pages, two
 * alternating meta pages, one writer and many snapshot readers, named
 * buckets, cursors and a bottom-up bulk loader.
 *
 * Conventions that hold for every function below:
 *  - Functions returning int return 0 on success or a negative code
 *    (FFDB_NOTFOUND or FFDB_E...). ffdb_strerror() names a code; for
 *    FFDB_CORRUPT and I/O errors ffdb_last_error() tells which page and why.
 *  - Handles (ffdb, ffdb_txn, ffdb_bucket, ffdb_cursor, ffdb_bulk) are used
 *    by one thread at a time. An ffdb handle may be shared between threads
 *    as long as each transaction stays on the thread that began it.
 *  - Buckets, cursors and bulk loaders belong to their transaction and end
 *    with it; using them after the transaction ended is undefined.
 *  - Bytes returned in an ffdb_val are owned by ffdb. They stay valid until
 *    the next call on the same transaction (for get) or the same cursor (for
 *    cursor moves), or until the transaction ends, whichever comes first.
 *  - Keys are ordered as unsigned bytes (memcmp, shorter prefix first).
 */
#ifndef FFDB_H
#define FFDB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FFDB_VERSION_MAJOR 0
#define FFDB_VERSION_MINOR 1
#define FFDB_VERSION_PATCH 0

/* ---- Error codes (all negative, clear of errno values) ----------------- */
#define FFDB_NOTFOUND   (-30700) /* key or bucket not found, cursor at the end */
#define FFDB_EXISTS     (-30701) /* insert of an existing key, create of an existing bucket */
#define FFDB_EINVAL     (-30702) /* invalid argument: NULL handle, size over a limit, bad option */
#define FFDB_ENOMEM     (-30703) /* an allocation failed; nothing was changed on disk */
#define FFDB_EIO        (-30704) /* the operating system reported an I/O error */
#define FFDB_ENOSPC     (-30705) /* the disk is full */
#define FFDB_CORRUPT    (-30706) /* a page failed verification; see ffdb_last_error() */
#define FFDB_ENOTDB     (-30707) /* the file is not an ffdb file */
#define FFDB_EVERSION   (-30708) /* the file was written by a newer format version */
#define FFDB_ELOCKED    (-30709) /* another process (or handle) has the file open */
#define FFDB_EREADONLY  (-30710) /* a write through a read transaction or a read-only handle */
#define FFDB_ENOTEMPTY  (-30711) /* bulk load into a bucket that is not empty */
#define FFDB_EKEYORDER  (-30712) /* bulk append of a key not greater than the previous one */
#define FFDB_EPOOLFULL  (-30713) /* every buffer pool frame is pinned */
#define FFDB_EFAILED    (-30714) /* an earlier sync failed: the handle refuses writes until reopened */
#define FFDB_EBADTXN    (-30715) /* the write transaction failed earlier and can only be aborted
                                    (its gets and cursor moves return it too) */
#define FFDB_EBUSY      (-30716) /* the bucket is being bulk loaded, or the txn has an open bulk load */
#define FFDB_ETOOMANY   (-30717) /* too many concurrent readers */

/* ---- Limits (see README "Limits") ---------------------------------------- */
#define FFDB_MAX_KEY_SIZE    1024u               /* bytes; also the bucket name limit */
#define FFDB_MAX_VALUE_SIZE  0xFFFFFFFFull       /* bytes: 4 GiB - 1 */
#define FFDB_MAX_READERS     4096u               /* concurrent read transactions per handle */

/* ---- Open flags ----------------------------------------------------------- */
#define FFDB_RDONLY    0x1u  /* open an existing file read-only; never writes to it */
#define FFDB_NOSYNC    0x2u  /* skip fdatasync at commit: fast, not durable across power loss; implies buffered I/O (writes land in the page cache) */
#define FFDB_NODIRECT  0x4u  /* buffered I/O instead of O_DIRECT */
#define FFDB_NOURING   0x8u  /* do not use io_uring; batched writes use pwritev */
#define FFDB_NOCREATE  0x10u /* fail with FFDB_NOTFOUND instead of creating a missing file */
/* Commit syncs the pages it wrote (sync #1), then writes its meta without
 * syncing it; the next commit's sync #1, ffdb_sync() or ffdb_close() makes
 * that meta durable. A crash or power loss may undo the last commit, never
 * more, and never corrupts the file. ffdb_commit still returns 0 only when
 * every earlier commit is durable (a commit that changed nothing syncs the
 * last one if it is not). One sync per commit instead of two; pages a commit
 * frees are reused only once its meta is durable. Ignored with FFDB_NOSYNC
 * (which syncs nothing) and FFDB_RDONLY. */
#define FFDB_NOMETASYNC 0x20u
/* A durable commit normally takes one sync: it writes its pages, a commit
 * list naming each of them with its checksum, and its meta together, then
 * syncs once; open verifies the newest meta's list and falls back to the
 * previous commit when any listed page is missing or torn (docs/FORMAT.md).
 * Commits of more than 4,096 pages sync their pages before the meta
 * instead. FFDB_TWOFLUSH makes every commit do that (the format before
 * version 2's commit lists: pages, sync, meta, sync), for comparison. */
#define FFDB_TWOFLUSH  0x40u
/* A durable handle reads with O_DIRECT but writes through the page cache,
 * so that a commit's one fdatasync writes its pages back and flushes in one
 * round trip (measured: README, "Write path"). FFDB_DIRECTWRITE writes with
 * O_DIRECT too (through io_uring where available), for comparison. */
#define FFDB_DIRECTWRITE 0x80u
/* Commits sync nothing: each writes its pages, a commit list naming every
 * page written since the last sync that its meta reaches, and its meta,
 * and returns (0 = visible to new readers, not durable). ffdb_sync() (and
 * ffdb_close()) makes every commit so far durable with one sync. A crash
 * or power loss takes the file back to some commit at or after the last
 * completed ffdb_sync() — whole, never corrupt, never older than it. Until
 * a sync, the durable meta slot is never written and pages freed since are
 * not reused (docs/FORMAT.md, "Deferred sync"); a commit that would list
 * more than 4,096 pages syncs once itself. For a replicated log that is
 * the durability point (RAFT): sync the file only before the log is cut.
 * ffdb_durable_txid() is the last synced commit. FFDB_EINVAL with
 * FFDB_NOSYNC, FFDB_NOMETASYNC or FFDB_TWOFLUSH; ignored with FFDB_RDONLY.
 * Writes go through the page cache (DIRECTWRITE: O_DIRECT) as by default. */
#define FFDB_DEFERSYNC 0x100u

typedef struct ffdb ffdb;
typedef struct ffdb_txn ffdb_txn;
typedef struct ffdb_bucket ffdb_bucket;
typedef struct ffdb_cursor ffdb_cursor;
typedef struct ffdb_bulk ffdb_bulk;

typedef struct ffdb_val {
    const void *data;
    size_t size;
} ffdb_val;

/*
 * The I/O seam. Every byte ffdb reads or writes goes through one of these
 * tables; the default one (ffdb_io_posix) uses O_DIRECT, io_uring and
 * fdatasync. Tests put fault-injecting backends underneath through it.
 * All functions return 0 or a negative FFDB_E... code (FFDB_EIO, FFDB_ENOSPC).
 * Offsets and lengths of reads and writes are multiples of 512 and buffers
 * are aligned to 4096 bytes. read and write must be safe to call from several
 * threads at once; the others are called by the writer only, except sync
 * (see there).
 */
typedef struct ffdb_file ffdb_file;     /* a backend's open file; opaque to ffdb */

typedef struct ffdb_io_write {
    uint64_t offset;                    /* bytes from the start of the file */
    const struct iovec *iov;            /* buffers written back to back from offset */
    int iov_count;
} ffdb_io_write;

#define FFDB_IO_DIRECT 0x1u  /* reported by open: the file uses direct I/O */
#define FFDB_IO_URING  0x2u  /* reported by open: batched writes use io_uring */

typedef struct ffdb_io {
    /* Open (creating if allowed by flags) path; *caps receives FFDB_IO_*
     * bits saying what the backend actually uses. Takes the advisory lock:
     * exclusive for writers, shared with FFDB_RDONLY; FFDB_ELOCKED if held. */
    int  (*open)(const struct ffdb_io *io, const char *path, unsigned flags,
                 ffdb_file **file, unsigned *caps);
    /* Fill buf with the len bytes at offset. Bytes past the end of the file
     * read as zeros and are not an error: the caller knows the file size
     * (size()) and decides what is past the end. */
    int  (*read)(ffdb_file *f, void *buf, size_t len, uint64_t offset);
    /* Write a batch of runs (they do not overlap), extending the file as
     * needed; returns only when every byte was handed to the OS and no
     * buffer is in use any more. */
    int  (*write)(ffdb_file *f, const ffdb_io_write *runs, size_t run_count);
    /* Make every write completed before the call durable. full != 0 also
     * makes the file size durable (fsync instead of fdatasync). Besides the
     * writer, ffdb_sync() may call it from another thread while the writer
     * writes, grows or truncates (never two syncs at once). */
    int  (*sync)(ffdb_file *f, int full);
    int  (*size)(ffdb_file *f, uint64_t *bytes);
    int  (*truncate)(ffdb_file *f, uint64_t bytes);
    /* Extend the file to at least bytes (fallocate where possible). */
    int  (*grow)(ffdb_file *f, uint64_t bytes);
    void (*close)(ffdb_file *f);
    void *ctx;                          /* for the backend's own use */
    /* Optional asynchronous writes; a backend without them leaves both NULL
     * (a table written before they existed does) and the pager then writes
     * synchronously through write(). Both or neither must be set. Called by
     * the writer only, never concurrently with each other or with sync.
     *
     * write_submit starts writing a batch as write() would and may return
     * before the bytes are handed to the OS. On success *ticket names the
     * submission: 0 means it is already complete (the backend chose to write
     * synchronously) and needs no wait; any other value must be passed to
     * write_wait exactly once. Until then the runs array, its iovecs and
     * every buffer they point at stay valid and unchanged. On error nothing
     * is in flight and no buffer is in use any more; part of the batch may
     * have been written, as with write().
     *
     * write_wait waits for the submission named by ticket (in any order
     * relative to others) and returns what write() would have returned for
     * the batch: 0, or FFDB_EIO, FFDB_ENOSPC, ... (a short write is retried
     * or reported, never returned as success). When it returns, no buffer of
     * the batch is in use. */
    int  (*write_submit)(ffdb_file *f, const ffdb_io_write *runs, size_t run_count,
                         uint64_t *ticket);
    int  (*write_wait)(ffdb_file *f, uint64_t ticket);
} ffdb_io;

/* The default backend: O_DIRECT (buffered fallback), io_uring (pwritev fallback). */
const ffdb_io *ffdb_io_posix(void);

typedef struct ffdb_options {
    /* Frames (pages) in the buffer pool. N >= 16: exactly N frames, fixed.
     * 0 (default): the pool grows on demand, taking a frame per miss instead
     * of evicting, up to the file's size plus a quarter (so a file that fits
     * is cached whole), never past a quarter of the memory the process may
     * use (physical memory or its cgroup's limit), and never below 1024
     * frames; it follows the file as it grows, and when available memory
     * falls under 1/16 of the total it gives a quarter of its frames back
     * (under 1/8 it stops growing). */
    size_t   buffer_pages;
    unsigned page_size;      /* at creation only: 4096, 8192 or 16384; 0 = 4096 */
    unsigned flags;          /* FFDB_RDONLY, FFDB_NOSYNC, FFDB_NODIRECT, ... */
    const ffdb_io *io;       /* NULL = ffdb_io_posix() */
} ffdb_options;

/* ---- Database ------------------------------------------------------------- */

/* Open or create the file at path. Errors: FFDB_EINVAL (bad options),
 * FFDB_ENOTDB (not an ffdb file; the file is not modified), FFDB_EVERSION,
 * FFDB_CORRUPT (both meta pages invalid), FFDB_ELOCKED, FFDB_EIO, FFDB_ENOMEM,
 * FFDB_NOTFOUND (missing file with FFDB_RDONLY or FFDB_NOCREATE). */
int  ffdb_open(const char *path, const ffdb_options *opt, ffdb **db);
/* Close the handle. Every transaction must have ended and no other call on
 * the handle (ffdb_sync included) may be running. NULL is allowed.
 * With FFDB_NOMETASYNC or FFDB_DEFERSYNC it first makes the last commit
 * durable (one sync);
 * if that sync fails the last commit may be lost to a later power loss, as
 * if it had been the commit in flight, and the handle is freed all the same. */
void ffdb_close(ffdb *db);
/* A static, human-readable name for a return code (also for 0). */
const char *ffdb_strerror(int code);

/* Details of the last error returned on the calling thread. */
typedef struct ffdb_error_info {
    int code;                /* the code returned */
    uint64_t pgno;           /* the page concerned, or UINT64_MAX if none */
    char message[160];       /* what was wrong, for people */
} ffdb_error_info;
void ffdb_last_error(ffdb_error_info *info);

/* ---- Transactions ---------------------------------------------------------- */

/* A read snapshot of the last committed state. Many may be live at once, on
 * any threads, concurrently with the writer. End it with ffdb_abort(). */
int  ffdb_begin_read(ffdb *db, ffdb_txn **txn);
/* The one write transaction; blocks while another is active. FFDB_EREADONLY on
 * a read-only handle, FFDB_EFAILED after a failed sync. */
int  ffdb_begin_write(ffdb *db, ffdb_txn **txn);
/* Commit and free txn, even on error. 0 means durable (unless FFDB_NOSYNC;
 * with FFDB_NOMETASYNC, 0 means every earlier commit is durable and this one
 * is until a power loss; with FFDB_DEFERSYNC, durable at the next
 * ffdb_sync(), and a crash before it may undo it). On a read txn, the same as ffdb_abort() and
 * returns 0. FFDB_EFAILED if an earlier sync failed (ffdb_sync's included). */
int  ffdb_commit(ffdb_txn *txn);
/* End a read txn or discard a write txn. NULL is allowed. */
void ffdb_abort(ffdb_txn *txn);
/* The txid the transaction sees (read) or will commit as (write). */
uint64_t ffdb_txn_id(const ffdb_txn *txn);

/* ---- Durability ------------------------------------------------------------ */
/* Make every commit that returned so far durable: one fdatasync, or nothing
 * when they already are (always so without FFDB_NOMETASYNC or
 * FFDB_DEFERSYNC). May be called
 * from any thread, also while another thread holds the write transaction
 * (it does not take the writer's lock and does not block readers; a commit
 * that reaches its own sync meanwhile waits for this one). Returns 0,
 * FFDB_EINVAL (NULL), FFDB_EFAILED if an earlier sync failed, or the I/O
 * error of the sync (FFDB_EIO, ...), after which the handle is failed like
 * after a failed commit sync: every later write, commit and ffdb_sync
 * returns FFDB_EFAILED until the database is reopened. A no-op returning 0
 * on a FFDB_RDONLY or FFDB_NOSYNC handle. */
int  ffdb_sync(ffdb *db);
/* The txid of the newest commit known durable: the last commit, except with
 * FFDB_NOMETASYNC, where it is the one before the last until ffdb_sync(),
 * the next commit or a commit that changed nothing made the last one
 * durable, and with FFDB_DEFERSYNC, where it is the commit the last
 * ffdb_sync() (or a commit that synced itself) made durable. At open, the txid opened. (With FFDB_NOSYNC: what it would be
 * with syncs.) 0 for NULL. Any thread. */
uint64_t ffdb_durable_txid(ffdb *db);

/* ---- Buckets ---------------------------------------------------------------- */
/* Names are 1..FFDB_MAX_KEY_SIZE bytes. A bucket handle ends with its txn. */
int  ffdb_bucket_create(ffdb_txn *, const void *name, size_t len, ffdb_bucket **);  /* FFDB_EXISTS */
int  ffdb_bucket_open  (ffdb_txn *, const void *name, size_t len, ffdb_bucket **);  /* FFDB_NOTFOUND */
int  ffdb_bucket_drop  (ffdb_txn *, const void *name, size_t len);                  /* frees its pages */
/* Visit every bucket name in order; stop early when fn returns non-zero
 * (that value is returned). */
int  ffdb_bucket_list  (ffdb_txn *, int (*fn)(void *arg, const void *name, size_t len), void *arg);

/* ---- Keys and values ------------------------------------------------------- */
/* Keys are 0..FFDB_MAX_KEY_SIZE bytes, values 0..FFDB_MAX_VALUE_SIZE bytes. */
int  ffdb_get   (ffdb_bucket *, const void *key, size_t klen, ffdb_val *val);       /* FFDB_NOTFOUND */
int  ffdb_put   (ffdb_bucket *, const void *key, size_t klen, const void *val, size_t vlen);
int  ffdb_insert(ffdb_bucket *, const void *key, size_t klen, const void *val, size_t vlen); /* FFDB_EXISTS */
int  ffdb_update(ffdb_bucket *, const void *key, size_t klen, const void *val, size_t vlen); /* FFDB_NOTFOUND */
int  ffdb_delete(ffdb_bucket *, const void *key, size_t klen);  /* a missing key is not an error */

/* ---- Cursors --------------------------------------------------------------- */
/* A cursor stays usable while its txn lives, also across writes through the
 * same txn: after a write it continues from the key it was on. Moves return
 * FFDB_NOTFOUND past either end; I/O and corruption errors are returned as
 * such, never as the end. key or val may be NULL. */
int  ffdb_cursor_open (ffdb_bucket *, ffdb_cursor **);
int  ffdb_cursor_first(ffdb_cursor *, ffdb_val *key, ffdb_val *val);
int  ffdb_cursor_last (ffdb_cursor *, ffdb_val *key, ffdb_val *val);
int  ffdb_cursor_seek (ffdb_cursor *, const void *key, size_t klen, ffdb_val *k, ffdb_val *v); /* first >= key */
int  ffdb_cursor_next (ffdb_cursor *, ffdb_val *key, ffdb_val *val);
int  ffdb_cursor_prev (ffdb_cursor *, ffdb_val *key, ffdb_val *val);
void ffdb_cursor_close(ffdb_cursor *);

/* ---- Bulk loader ----------------------------------------------------------- */
/* Build an empty bucket's tree bottom-up from strictly increasing keys.
 * fill_factor 0 means 0.7; others are clamped to [0.3, 1.0]. While a bulk load
 * is open, other writes to that bucket return FFDB_EBUSY. */
int  ffdb_bulk_begin (ffdb_bucket *, double fill_factor, ffdb_bulk **);  /* FFDB_ENOTEMPTY */
int  ffdb_bulk_append(ffdb_bulk *, const void *key, size_t klen, const void *val, size_t vlen); /* FFDB_EKEYORDER */
/* Publish the tree into the bucket and free the loader, even on error. */
int  ffdb_bulk_finish(ffdb_bulk *);
/* Discard everything appended; the bucket stays empty. NULL is allowed. */
void ffdb_bulk_abort (ffdb_bulk *);

/* ---- Statistics ------------------------------------------------------------ */
typedef struct ffdb_stat {
    uint64_t txid;             /* last committed transaction */
    uint64_t page_count;       /* pages in use by the file, metas included */
    uint64_t file_bytes;       /* size of the file on disk */
    uint64_t free_pages;       /* free pages, reusable now or pending */
    uint64_t pending_pages;    /* of those, freed but still visible to a reader */
    uint64_t freelist_pages;   /* pages holding the freelist itself */
    uint64_t bucket_count;
    unsigned page_size;
    unsigned direct_io;        /* 1 if O_DIRECT is in use */
    unsigned io_uring;         /* 1 if batched writes go through io_uring */
    unsigned readers;          /* live read transactions */
    uint64_t pool_frames;
    uint64_t pool_hits;
    uint64_t pool_misses;
    uint64_t pool_evictions;
    uint64_t pool_spills;      /* dirty pages written early to make room */
    uint64_t oldest_reader_txid; /* 0 if none */
    uint64_t durable_txid;     /* newest commit known durable (ffdb_durable_txid) */
} ffdb_stat;
int  ffdb_stat_db(ffdb *db, ffdb_stat *st);

typedef struct ffdb_bucket_stat {
    uint64_t entries;
    uint32_t depth;            /* 0 for an empty bucket */
    uint64_t branch_pages;
    uint64_t leaf_pages;
    uint64_t overflow_pages;
    uint64_t key_bytes;        /* computed by a walk */
    uint64_t value_bytes;
    double   fill;             /* used bytes / capacity of branch and leaf pages, 0..1 */
} ffdb_bucket_stat;
/* Walks the bucket's tree (reads every branch and leaf page). */
int  ffdb_stat_bucket(ffdb_bucket *, ffdb_bucket_stat *st);

/* ---- Consistency check ------------------------------------------------------ */
typedef struct ffdb_check_result {
    uint64_t page_count;       /* pages in the file per the meta */
    uint64_t reachable_pages;  /* metas + tree pages + overflow + freelist chain */
    uint64_t free_pages;       /* in the freelist */
    uint64_t problems;         /* problems reported */
    uint64_t buckets;
    uint64_t entries;          /* over all buckets */
} ffdb_check_result;
/* Verify the last committed state inside a read snapshot: every page's
 * checksum and header, key order within and across pages, branch separators,
 * overflow runs, bucket counters, and that each page in [2, page_count) is
 * reached exactly once or is free. report (may be NULL) is called once per
 * problem with the page concerned (UINT64_MAX if none). Returns 0 if clean,
 * FFDB_CORRUPT if any problem was found, or another error that stopped it. */
int  ffdb_check(ffdb *db, void (*report)(void *arg, uint64_t pgno, const char *problem),
                void *arg, ffdb_check_result *result);

#ifdef __cplusplus
}
#endif
#endif /* FFDB_H */
