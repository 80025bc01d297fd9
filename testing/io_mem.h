/*
 * io_mem.h — an in-memory ffdb_io backend for tests and the crash harness.
 *
 * One io_mem object models one disk holding one file (the path given to
 * open is ignored: every open of the same io_mem sees the same file, so an
 * engine can close and reopen it). The file has two layers:
 *
 *   durable image   what survives power loss
 *   current image   what reads see: the durable image plus every write,
 *                   growth and truncation since the last sync (the "log")
 *
 * sync() replays the log onto the durable image. io_mem_crash() simulates
 * power loss: it decides which logged operations reached the disk (none, all,
 * or a random subset per 512-byte sector, so writes can be torn), makes that
 * the durable image, and invalidates every open handle (their calls return
 * FFDB_EIO, close still works, locks are released). The next open sees the
 * durable image.
 *
 * Like the posix backend, reads past the end of the file fill the missing
 * bytes with zeros and succeed. Offsets and lengths must be multiples of 512
 * and buffers 4096-aligned (FFDB_EINVAL otherwise), so alignment bugs that
 * O_DIRECT would hit show up here too. Locking follows flock(): one writer
 * and no readers, or any number of FFDB_RDONLY readers; otherwise
 * FFDB_ELOCKED.
 *
 * Thread-safe (one mutex). The hook runs outside the mutex, so it may call
 * any io_mem function, io_mem_crash() included. Uses only ffdb.h and libc.
 */
#ifndef FFDB_TESTING_IO_MEM_H
#define FFDB_TESTING_IO_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "ffdb.h"

struct io_mem;

enum io_mem_op {
    IO_MEM_OPEN,
    IO_MEM_READ,
    IO_MEM_WRITE, /* one call of ffdb_io.write (a batch of runs) */
    IO_MEM_SYNC,
    IO_MEM_SIZE,
    IO_MEM_GROW,
    IO_MEM_TRUNCATE,
    IO_MEM_SUBMIT, /* one call of ffdb_io.write_submit (async mode only) */
    IO_MEM_OP_COUNT
};

enum io_mem_crash_mode {
    IO_MEM_CRASH_DROP, /* every unsynced change is lost */
    IO_MEM_CRASH_KEEP, /* every unsynced change reached the disk */
    IO_MEM_CRASH_TEAR, /* each 512-byte sector of each unsynced write, and each
                          size change, reached the disk with probability 1/2 */
};

/* A new disk without the file (the first writable open creates it). NULL if
 * out of memory. */
struct io_mem *io_mem_create(void);
/* Every handle must be closed. NULL is allowed. */
void io_mem_destroy(struct io_mem *m);
/* The ffdb_io table of this disk (valid until io_mem_destroy). */
const ffdb_io *io_mem_io(struct io_mem *m);
/* FFDB_IO_* bits that open reports (default 0). */
void io_mem_set_caps(struct io_mem *m, unsigned caps);

/* ---- asynchronous writes ----------------------------------------------------- */
/* With on != 0, the table gets write_submit and write_wait (ffdb.h); set it
 * before opening. A submission only checks its runs and remembers them
 * (with a hash of their bytes) and is not counted as a write; the write
 * itself happens when the submission is waited for, as a write() call would
 * do it then (IO_MEM_WRITE faults, the hook and the log apply at that
 * moment, in the order the waits come). So an unsynced page is on the disk
 * only once its wait returned, and a failure of the write is reported by
 * the wait. If the bytes changed between submit and wait (a buffer reused
 * while in flight), the wait fails with FFDB_EINVAL, writes nothing and
 * counts async_changed. IO_MEM_SUBMIT faults make the submission itself
 * fail. Off (the default): both ops are NULL and the pager writes
 * synchronously. */
void io_mem_set_async(struct io_mem *m, int on);

/* ---- faults --------------------------------------------------------------- */
/* Make the nth call of op from now (1 = the next one) fail with code
 * (FFDB_EIO, FFDB_ENOSPC, ...). One-shot, or sticky: that call and every
 * later one fail. A failing call changes nothing. Replaces an earlier fault
 * on the same op; nth 0 disarms it. */
void io_mem_fail(struct io_mem *m, enum io_mem_op op, unsigned long nth, int code, int sticky);
void io_mem_clear_faults(struct io_mem *m);

/* ---- power loss -------------------------------------------------------------- */
void io_mem_crash(struct io_mem *m, enum io_mem_crash_mode mode, uint64_t seed);

/* ---- counting ----------------------------------------------------------------- */
struct io_mem_counts {
    uint64_t calls[IO_MEM_OP_COUNT]; /* calls of each op, failed ones included */
    uint64_t write_runs;             /* runs applied by write */
    uint64_t bytes_written;
    uint64_t full_syncs;             /* syncs with full != 0 that succeeded */
    /* Successful syncs with full == 0 while the file size had changed since
     * the last sync. They are honoured like full syncs (Linux fdatasync makes
     * a size needed to read the data durable), but a harness can insist the
     * engine asks for fsync after growth by checking this stays 0. */
    uint64_t datasync_size_changes;
    uint64_t pending;                /* logged operations not yet synced */
    uint64_t crashes;
    uint64_t async_submits;          /* successful write_submit calls */
    uint64_t async_in_flight;        /* submitted and not yet waited for */
    uint64_t async_changed;          /* waits that found the bytes changed */
    uint64_t sync_while_in_flight;   /* syncs called with a submission in flight */
};
void io_mem_counts(struct io_mem *m, struct io_mem_counts *out);

/* ---- ordering hook ---------------------------------------------------------- */
struct io_mem_event {
    enum io_mem_op op;   /* IO_MEM_WRITE (one per run) or IO_MEM_SYNC */
    uint64_t seq;        /* 1, 2, ... over all events of this disk */
    uint64_t offset;     /* write: where the run starts */
    uint64_t len;        /* write: bytes in the run */
    int full;            /* sync: full flag */
};
/* Called before each write run is applied and before each sync, outside the
 * mutex. Return 0 to let the operation proceed, or a negative FFDB code to
 * make it fail with that code (for a run: it and the rest of the batch are
 * not applied). fn NULL removes the hook. */
typedef int (*io_mem_hook_fn)(void *arg, const struct io_mem_event *ev);
void io_mem_set_hook(struct io_mem *m, io_mem_hook_fn fn, void *arg);

/* ---- the bytes on "disk" ---------------------------------------------------- */
int      io_mem_exists(struct io_mem *m);
uint64_t io_mem_durable_size(struct io_mem *m);
uint64_t io_mem_current_size(struct io_mem *m);
/* Copy up to len durable bytes from offset; returns the count copied. */
size_t   io_mem_durable_read(struct io_mem *m, uint64_t offset, void *buf, size_t len);
/* Overwrite bytes of the file in both layers (extending it if needed), like
 * corruption on the medium that reads also see. 0 or FFDB_ENOMEM. */
int      io_mem_patch(struct io_mem *m, uint64_t offset, const void *buf, size_t len);
/* Replace the whole file, both layers, by len bytes (creating it); the log
 * is discarded. 0 or FFDB_ENOMEM. */
int      io_mem_set_image(struct io_mem *m, const void *buf, size_t len);
/* Delete the file (both layers). Open handles become stale. */
void     io_mem_remove(struct io_mem *m);

#endif /* FFDB_TESTING_IO_MEM_H */
