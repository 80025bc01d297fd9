/*
 * blocks.h — the public header of libffdb_blocks.a: a content-addressed
 * block store on ffdb, keyed by CID, with IPFS-identical CIDs.
 *
 * A store is two ffdb files: the hot file at `path` (blocks, their index,
 * pins, refs, the bloom filter, counters) and the cold file `path.cold`
 * (zstd-compressed blocks moved out of the hot tier). It uses
 * include/ffdb.h and modules/ipld only. Layout and crash rules: README.md.
 *
 * Conventions: functions return 0 or a negative code: ffdb's FFDB_E...
 * (FFDB_NOTFOUND for a missing block), ipld's IPLD_E... (a bad CID, a
 * block that does not match its CID: IPLD_EMISMATCH), or BLOCKS_E... below.
 * blocks_strerror() names any of them. A store handle is used by one thread
 * at a time. Every write is an engine transaction: when a call returns 0,
 * what it wrote survives a crash.
 */
#ifndef FFDB_BLOCKS_H
#define FFDB_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "ffdb.h"
#include "modules/ipld/ipld.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BLOCKS_ECOMPRESS (-30900) /* zstd failed, or a cold block did not decompress */
#define BLOCKS_EBUSY (-30901)     /* a batch is open on the store */
#define BLOCKS_ELIMIT (-30902)    /* a limit below was exceeded */
#define BLOCKS_ESTATE (-30903)    /* the store's contents contradict each other (check) */

#define BLOCKS_MAX_BLOCK_SIZE (UINT64_C(1) << 30) /* 1 GiB (ffdb values allow 4 GiB) */

const char *blocks_strerror(int code);

typedef struct blocks blocks;
typedef struct blocks_batch blocks_batch;

typedef struct blocks_options {
    size_t buffer_pages; /* the hot file's pool (0 = ffdb's default) */
    unsigned ffdb_flags; /* passed to both files, e.g. FFDB_NOSYNC for benchmarks */
    /* Clock seam, seconds (NULL = time()). Tiering and commits read it. */
    uint64_t (*now)(void *arg);
    void *now_arg;
    /* At creation: bloom filter size in 1 KiB chunks (0 = 256: 2 Mi bits). */
    uint32_t bloom_chunks;
    /* I/O backends of the hot and the cold file (NULL = ffdb_io_posix();
     * cold_io NULL = io): the seam the crash tests inject power loss through. */
    const ffdb_io *io, *cold_io;
} blocks_options;

/* Open or create the store at path (and path.cold). Runs recovery of tier
 * moves a crash interrupted (README "Crash rules"). Errors: ffdb's open
 * errors (FFDB_ELOCKED if another process has it), FFDB_ENOTDB, ... */
int blocks_open(const char *path, const blocks_options *opt, blocks **bs);
/* Flush access times and counters (one write txn if there are any), close
 * both files. Returns the flush's error, and closes in any case. */
int blocks_close(blocks *bs);

/* ---- Blocks ---------------------------------------------------------------------- */

/* Store data under cid after checking that it hashes to cid
 * (IPLD_EMISMATCH, IPLD_EUNSUPPORTED otherwise). A block already present is
 * not written again. One write txn. */
int blocks_put(blocks *bs, const ipld_cid *cid, const void *data, size_t len);
/* Get a copy of the block (malloc'd, the caller frees it) from either tier.
 * verify != 0 rehashes it and returns IPLD_EMISMATCH if it changed.
 * FFDB_NOTFOUND if absent. Records the access (for tiering). */
int blocks_get(blocks *bs, const ipld_cid *cid, int verify, void **data, size_t *len);
/* 1 if present, 0 if not, or a negative error. The bloom filter answers
 * most absent CIDs without a lookup. */
int blocks_has(blocks *bs, const ipld_cid *cid);
/* Size of a present block without reading it (FFDB_NOTFOUND). */
int blocks_size(blocks *bs, const ipld_cid *cid, uint64_t *size);
/* Remove the block from whichever tier holds it; FFDB_NOTFOUND if absent.
 * Pins are not consulted (gc is the safe way to free space). */
int blocks_rm(blocks *bs, const ipld_cid *cid);

/* A batch: every put goes into one engine write transaction, committed by
 * blocks_batch_commit (durable when it returns 0) or discarded by
 * blocks_batch_abort. While a batch is open other writes on the store
 * return BLOCKS_EBUSY; reads see the last commit. */
int blocks_batch_begin(blocks *bs, blocks_batch **b);
int blocks_batch_put(blocks_batch *b, const ipld_cid *cid, const void *data, size_t len);
/* Blocks put so far in the batch, and their bytes. */
uint64_t blocks_batch_count(const blocks_batch *b);
uint64_t blocks_batch_bytes(const blocks_batch *b);
int blocks_batch_commit(blocks_batch *b); /* frees b, even on error */
void blocks_batch_abort(blocks_batch *b); /* NULL allowed */

/* Visit every block (CIDv1 as stored, size, tier 0 hot / 1 cold) in key
 * order; fn returning non-zero stops the walk and is returned. */
int blocks_list(blocks *bs, int (*fn)(void *arg, const ipld_cid *cid, uint64_t size, int tier),
                void *arg);

typedef struct blocks_stat {
    uint64_t blocks[2];         /* by tier: 0 hot, 1 cold */
    uint64_t bytes[2];          /* block bytes by tier (uncompressed) */
    uint64_t cold_stored_bytes; /* what the cold tier's blocks take compressed */
    uint64_t file_bytes[2];     /* the hot and cold ffdb files on disk */
    uint64_t pins;
    uint64_t bloom_bits;
    uint64_t bloom_queries;         /* has() calls that consulted the filter */
    uint64_t bloom_negatives;       /* ... answered "absent" by the filter alone */
    uint64_t bloom_false_positives; /* ... the filter said "maybe", the block was absent */
} blocks_stat;
int blocks_stat_get(blocks *bs, blocks_stat *st);

/* Check that every indexed block is in exactly the tier its index says (and
 * not in the other), that it hashes to its CID, that the bloom filter has
 * it (S4), and that the counters match.
 * report (may be NULL) gets each problem. 0 if clean, BLOCKS_ESTATE if not. */
int blocks_check(blocks *bs, void (*report)(void *arg, const char *problem), void *arg);

/* ---- Links, pins, gc ---------------------------------------------------------------- */

/* Call fn for each link of a block of codec (dag-pb links, dag-cbor tag-42
 * values; raw has none), in encoding order. IPLD_EFORMAT if it does not
 * decode; IPLD_EUNSUPPORTED for other codecs. */
int blocks_links(uint64_t codec, const void *data, size_t len,
                 int (*fn)(void *arg, const ipld_cid *cid), void *arg);

/* Pin cid (recursive: its whole DAG is kept by gc; else the block alone).
 * The block need not be present. */
int blocks_pin(blocks *bs, const ipld_cid *cid, int recursive);
int blocks_unpin(blocks *bs, const ipld_cid *cid); /* FFDB_NOTFOUND */
int blocks_pins(blocks *bs, int (*fn)(void *arg, const ipld_cid *cid, int recursive), void *arg);

typedef struct blocks_gc_result {
    uint64_t kept, removed, removed_bytes;
} blocks_gc_result;
/* Delete every block not reachable from a pin or a ref (branches, HEAD):
 * marks in scratch buckets of one write txn, so memory stays bounded by the
 * buffer pool whatever the store's size. Also rebuilds the bloom filter. */
int blocks_gc(blocks *bs, blocks_gc_result *res);

/* ---- Tiering ---------------------------------------------------------------------- */

typedef struct blocks_policy {
    uint64_t cold_after_s;     /* blocks not read for this long go cold (0 = never) */
    uint64_t hot_budget_bytes; /* above this, least recently read go cold (0 = none) */
    uint32_t promote_reads;    /* reads of a cold block that bring it back (0 = 2) */
} blocks_policy;
/* The policy is persisted in the store; set replaces it. */
int blocks_policy_get(blocks *bs, blocks_policy *p);
int blocks_policy_set(blocks *bs, const blocks_policy *p);
/* Apply the policy now: move blocks to the cold tier in bounded batches,
 * each crash-safe (README). *moved (may be NULL) counts them. */
int blocks_tier_run(blocks *bs, uint64_t *moved);
/* Move one block to the other tier now (to_cold 1 or 0); 0 if already there. */
int blocks_tier_move(blocks *bs, const ipld_cid *cid, int to_cold);
/* Write recorded accesses (access times, cold reads; promotes cold blocks
 * read promote_reads times) and query counters. Called by close. */
int blocks_flush(blocks *bs);

/* ---- Versioned roots (refs.c) ------------------------------------------------------ */

/* A commit records a DAG root with its history, as a dag-cbor block
 * {"message", "parents": [links], "root": link, "time": seconds} stored in
 * the store under its CIDv1 dag-cbor sha2-256 (README "Commits"). Refs:
 * branches ("main" at first) each name a commit; HEAD names the current
 * branch, or a commit ("detached"). gc keeps every commit a ref reaches,
 * its root's DAG and its ancestors. Refs and HEAD are in the hot file:
 * they survive restarts and crashes like blocks. A "rev" is "HEAD", a
 * branch name or the CID of a stored commit. */
#define BLOCKS_BRANCH_MAX 200 /* bytes of a branch name */
#define BLOCKS_PATH_MAX 4096  /* bytes of a path diff reports */

typedef struct blocks_commit {
    ipld_cid cid;  /* the commit object's CID */
    ipld_cid root; /* the DAG it records */
    ipld_cid *parents;
    size_t parent_count;
    char *message; /* NUL-terminated */
    int64_t time;  /* seconds since the epoch (the store's clock) */
} blocks_commit;
void blocks_commit_free(blocks_commit *c); /* the arrays; NULL allowed */

/* Record a commit of root (which must be stored: FFDB_NOTFOUND) with HEAD's
 * commit (if any) and extra[0..n) (stored commits, for merges) as parents,
 * and move HEAD's branch (or a detached HEAD) to it, in one engine
 * transaction. *out is the commit's CID. */
int blocks_commit_root(blocks *bs, const ipld_cid *root, const char *message, const ipld_cid *extra,
                  size_t n, ipld_cid *out);
/* Read a stored commit (IPLD_EFORMAT if the block is not a commit object;
 * FFDB_NOTFOUND if absent). Free it with blocks_commit_free. */
int blocks_commit_get(blocks *bs, const ipld_cid *cid, blocks_commit *c);
/* The commit object's encoding (canonical dag-cbor, malloc'd), and its
 * strict decoder (c->cid is left zero). */
int blocks_commit_encode(const ipld_cid *root, const ipld_cid *parents, size_t n,
                         const char *message, int64_t time, uint8_t **out, size_t *len);
int blocks_commit_decode(const void *data, size_t len, blocks_commit *c);

/* 1 if name is a valid branch name: 1..BLOCKS_BRANCH_MAX bytes of
 * [A-Za-z0-9._-] in '/'-separated components, none empty, "." or "..",
 * not starting with '-', not "HEAD", and not parseable as a CID. */
int blocks_branch_name_ok(const char *name);
/* HEAD: branch gets the current branch ("" when detached); returns 1 with
 * *commit set, or 0 when the branch has no commit yet (a new store). */
int blocks_head(blocks *bs, char branch[BLOCKS_BRANCH_MAX + 1], ipld_cid *commit);
/* The commit a rev names: FFDB_NOTFOUND for a missing branch or block (or
 * HEAD without a commit), IPLD_EFORMAT for a CID that is not a commit. */
int blocks_resolve(blocks *bs, const char *rev, ipld_cid *commit);
/* A new branch at rev (NULL = HEAD). FFDB_EINVAL for a bad name,
 * FFDB_EXISTS if there is one. */
int blocks_branch_create(blocks *bs, const char *name, const char *rev);
/* Delete a branch (FFDB_NOTFOUND; BLOCKS_EBUSY for the current one). Its
 * commits become garbage unless another ref reaches them. */
int blocks_branch_delete(blocks *bs, const char *name);
/* Each branch and its commit, in name order. */
int blocks_branches(blocks *bs, int (*fn)(void *arg, const char *name, const ipld_cid *commit),
                    void *arg);
/* Make HEAD the branch rev names, or detach it at the commit rev names. */
int blocks_checkout(blocks *bs, const char *rev);
/* Every commit reachable from rev (NULL = HEAD) once, newest first; fn
 * returning non-zero stops the walk and is returned. */
int blocks_log(blocks *bs, const char *rev, int (*fn)(void *arg, const blocks_commit *c),
               void *arg);

/* What differs between the DAGs of two revs (a rev here may also be the
 * CID of any stored DAG root). Paths: UnixFS directories are compared by
 * entry name, recursively, skipping equal CIDs; an entry only in b is
 * BLOCKS_DIFF_ADDED, only in a REMOVED, in both with different CIDs and
 * not both directories MODIFIED (the roots themselves are the path ".").
 * Blocks: every block reachable from one root and not the other (-1 only
 * under a, +1 only under b), in walk order. Either callback may be NULL.
 * Memory: the two block sets (about 150 bytes a block). */
enum { BLOCKS_DIFF_ADDED = 'A', BLOCKS_DIFF_REMOVED = 'D', BLOCKS_DIFF_MODIFIED = 'M' };
typedef struct blocks_diff_fns {
    int (*path)(void *arg, int change, const char *path, const ipld_cid *a, const ipld_cid *b);
    int (*block)(void *arg, int side, const ipld_cid *cid);
} blocks_diff_fns;
int blocks_diff(blocks *bs, const char *rev_a, const char *rev_b, const blocks_diff_fns *fns,
                void *arg);

/* ---- UnixFS import and export ------------------------------------------------------ */

typedef struct blocks_add_options {
    unsigned cid_version; /* 0 (kubo's default) or 1 */
    int raw_leaves;       /* -1 = kubo's default: yes with CIDv1, no with CIDv0 */
    uint32_t chunk_size;  /* 0 = 262144 (size-262144, kubo's default chunker) */
    uint32_t max_links;   /* 0 = 174 (kubo's default) */
    uint64_t mh_code;     /* 0 = sha2-256 (blake2b-256 also works; needs CIDv1) */
    int only_hash;        /* compute the CIDs, store nothing (bs may be NULL) */
    int pin;              /* pin the root recursively (kubo's default is yes) */
} blocks_add_options;

/* Read a file through read (returns bytes read, 0 at the end, -1 on error)
 * and build its UnixFS DAG exactly as kubo's `ipfs add` does with the
 * balanced layout and fixed-size chunker; store it in batches; *root is the
 * root CID. Memory: one chunk plus one node per tree level. */
int blocks_add(blocks *bs, long (*read)(void *arg, void *buf, size_t len), void *arg,
               const blocks_add_options *opt, ipld_cid *root, uint64_t *size);
/* Write the file of a UnixFS DAG (raw, or dag-pb File/Raw nodes) through
 * write (returns 0 or -1), verifying every block's hash and that sizes
 * agree with the UnixFS metadata. FFDB_NOTFOUND if a block is missing,
 * IPLD_EFORMAT if the DAG is not a file. */
int blocks_cat(blocks *bs, const ipld_cid *root, int (*write)(void *arg, const void *p, size_t n),
               void *arg);

/* A UnixFS file read piece by piece (the gateway streams responses with
 * it): memory is one block plus one decoded node per tree level, and no
 * transaction stays open between calls (each block is one blocks_get, so a
 * slow reader never holds the engine's old pages). Every block is verified
 * against its CID and every subtree against its parent's blocksizes and
 * filesize as blocks_cat does; a block missing or damaged after open shows
 * as an error of blocks_file_read. A handle is used by one thread. */
typedef struct blocks_file blocks_file;
/* Open the file under root (raw, or dag-pb File/Raw): reads and checks the
 * root block. *size is the file's bytes (the root's UnixFS filesize, or the
 * sum of its blocksizes and data; UINT64_MAX if the root names neither).
 * FFDB_NOTFOUND if the root is absent, IPLD_EFORMAT if it is not a file. */
int blocks_file_open(blocks *bs, const ipld_cid *root, blocks_file **f, uint64_t *size);
/* Position at off (at most the size): subtrees wholly before off are
 * skipped by their blocksizes, without reading them. FFDB_EINVAL past the
 * end. */
int blocks_file_seek(blocks_file *f, uint64_t off);
/* Up to cap bytes into buf: the count, 0 at the end of the file, or a
 * negative error (then every later call returns it too). */
long blocks_file_read(blocks_file *f, void *buf, size_t cap);
void blocks_file_close(blocks_file *f); /* NULL allowed */

/* ---- CAR files -------------------------------------------------------------------- */

typedef struct blocks_car_info {
    ipld_cid *roots; /* the header's roots (malloc'd: blocks_car_info_free) */
    size_t root_count;
    uint64_t blocks, bytes; /* sections read and stored, and their block bytes */
} blocks_car_info;

/* Import a CAR (CARv1, or the CARv1 payload of a CARv2) read through read
 * (bytes read, 0 at the end, -1 on error: FFDB_EIO). Every block is checked
 * against its section's CID (IPLD_EMISMATCH) and stored in batches of one
 * engine transaction each; blocks of batches committed before an error stay
 * (they are valid). pin_roots pins each root recursively after the last
 * block. IPLD_EFORMAT for a malformed CAR (header, a cut-off section),
 * BLOCKS_ELIMIT for a section over BLOCKS_MAX_BLOCK_SIZE. On success info
 * holds the roots and counts (blocks_car_info_free); on error it is empty. */
int blocks_car_import(blocks *bs, long (*read)(void *arg, void *buf, size_t len), void *arg,
                      int pin_roots, blocks_car_info *info);
void blocks_car_info_free(blocks_car_info *info); /* NULL allowed */
/* Write a CARv1 with the header roots[0..n) (n >= 1) and the DAGs under
 * them: depth-first pre-order from each root in turn, links in encoding
 * order, each block once, each section's CID as its parent links it (as
 * kubo's `ipfs dag export`). Every block is verified on the way. Blocks of
 * codecs without known links are written without their children.
 * FFDB_NOTFOUND if a block of the DAG is missing (the output is then cut
 * short); write returns 0 or -1 (FFDB_EIO). Takes the store's write lock
 * for its scratch buckets (memory stays bounded whatever the DAG's size);
 * writes nothing to the store. *blocks (may be NULL) counts sections. */
int blocks_car_export(blocks *bs, const ipld_cid *roots, size_t n,
                      int (*write)(void *arg, const void *p, size_t n), void *arg,
                      uint64_t *blocks);

/* The same with the trustless gateway's dag-scope: BLOCKS_SCOPE_ALL (the
 * whole DAG under each root, as above), BLOCKS_SCOPE_BLOCK (each root
 * block alone), BLOCKS_SCOPE_ENTITY (a UnixFS file's whole DAG; any other
 * root alone). Identity-hashed CIDs are never written as sections (their
 * bytes are in the CID), in every scope. */
enum { BLOCKS_SCOPE_ALL = 0, BLOCKS_SCOPE_BLOCK = 1, BLOCKS_SCOPE_ENTITY = 2 };
int blocks_car_export_scope(blocks *bs, const ipld_cid *roots, size_t n, int scope,
                            int (*write)(void *arg, const void *p, size_t n), void *arg,
                            uint64_t *blocks);

/* A CARv1 of one root's DAG in the given scope (the same sections, in the
 * same order, as blocks_car_export_scope), produced piece by piece: the
 * gateway streams it. No transaction stays open between calls; memory is
 * the walk's stack (the links of the blocks on the path from the root) and
 * the set of blocks written (16 bytes a block, BLOCKS_CAR_STREAM_MAX blocks
 * at most: then BLOCKS_ELIMIT). A child missing from the store ends the CAR
 * where it is (blocks_car_stream_read returns 0, blocks_car_stream_missing
 * says so), as the trustless gateway answers for an incomplete DAG; the
 * root must be stored (FFDB_NOTFOUND from open). */
#define BLOCKS_CAR_STREAM_MAX (UINT64_C(1) << 22)
typedef struct blocks_car_stream blocks_car_stream;
int blocks_car_stream_open(blocks *bs, const ipld_cid *root, int scope, blocks_car_stream **s);
/* Up to cap bytes of the CAR: the count, 0 at its end, or a negative error
 * (then every later call returns it too). */
long blocks_car_stream_read(blocks_car_stream *s, void *buf, size_t cap);
int blocks_car_stream_missing(const blocks_car_stream *s); /* 1 if cut short */
void blocks_car_stream_close(blocks_car_stream *s);        /* NULL allowed */

#ifdef __cplusplus
}
#endif
#endif /* FFDB_BLOCKS_H */
