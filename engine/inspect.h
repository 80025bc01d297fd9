/*
 * inspect.h — a read-only window on the raw file, for the ffdb inspector
 * (tools/ffdb): both meta slots with their validity, any page decoded with
 * its checksum status, and which owner (catalog, bucket, freelist, free)
 * each page belongs to.
 *
 * This is the internal page API DESIGN.md allows the inspector; nothing else
 * should need it. It lives in the engine layer so that tools need no format
 * header: everything a tool prints is decoded here into plain structs. It
 * never writes: raw access opens the file through the pager with
 * FFDB_RDONLY, and the owner map works inside a read transaction of a handle
 * the caller opened. Raw pages are untrusted: every length and offset read
 * from one is bounds-checked before use, so garbage decodes as "bad", never
 * as a crash.
 */
#ifndef FFDB_ENGINE_INSPECT_H
#define FFDB_ENGINE_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "ffdb.h"

/* Page kinds as stored in the page header (common/format.h). */
#define INSPECT_KIND_META 1
#define INSPECT_KIND_BRANCH 2
#define INSPECT_KIND_LEAF 3
#define INSPECT_KIND_OVERFLOW 4
#define INSPECT_KIND_FREELIST 5
/* Bytes of the common page header; an overflow page carries page size
 * minus this of its value. */
#define INSPECT_HEADER_SIZE 40u

/* A tree record: the catalog's (in a meta) or a bucket's (in the catalog). */
struct inspect_tree {
    uint64_t root, entries, branch_pages, leaf_pages, overflow_pages;
    uint32_t depth;
};

/* One meta slot, decoded field by field whether or not it is valid. */
struct inspect_meta {
    unsigned slot;
    unsigned page_size; /* the page size the slot was read at */
    int status;         /* 0 valid, else why not: FFDB_ENOTDB (no magic),
                           FFDB_CORRUPT, FFDB_EVERSION */
    const char *why;    /* static text: "valid", "checksum mismatch", ... */
    int magic_ok;
    int checksum_ok;
    uint64_t stored_checksum, computed_checksum;
    uint32_t version, page_size_field;
    unsigned kind;
    uint64_t pgno, txid, page_count, freelist_root, freelist_pages, bucket_count;
    uint64_t base; /* 0, or 1 + the txid open falls back to (FFDB_DEFERSYNC) */
    struct inspect_tree catalog;
};

struct inspect_info {
    uint64_t file_bytes;
    unsigned page_size; /* of the newest valid meta; else a slot's claim; else 4096 */
    int current;        /* slot of the newest valid meta, -1 if neither is valid */
    struct inspect_meta meta[2];
};

struct inspect;

/* Open path for raw reading (FFDB_RDONLY, shared lock). Works on any
 * existing file, also one ffdb_open() refuses; both metas are read and
 * decoded at once. Errors: FFDB_NOTFOUND (missing), FFDB_ELOCKED, FFDB_EIO,
 * FFDB_ENOMEM. */
int inspect_open(const char *path, struct inspect **out);
void inspect_close(struct inspect *ins);
void inspect_get_info(const struct inspect *ins, struct inspect_info *out);
/* Whole pages in the file at the page size of inspect_get_info(). */
uint64_t inspect_file_pages(const struct inspect *ins);

/* ---- raw pages ------------------------------------------------------------- */

/* A page as read from the file. data stays valid until the next read or
 * close on the same inspect handle. */
struct inspect_page {
    uint64_t pgno; /* the page asked for */
    unsigned page_size;
    const uint8_t *data;
    int checksum_ok;
    uint64_t stored_checksum, computed_checksum;
    uint64_t header_pgno, txid, next;
    unsigned kind, flags, count, lower, upper;
    const char *kind_name; /* "meta", "branch", "leaf", "overflow", "freelist", "unknown" */
    int layout_ok;         /* branch/leaf: count, lower, upper agree; freelist: count fits */
    unsigned items;        /* slots (branch/leaf) or entries (freelist) that lie within
                              the page: count, or fewer when count overruns it */
    double fill;           /* branch/leaf/freelist: used bytes / payload bytes; else -1 */
};

/* Read page pgno (< inspect_file_pages()). Reads ahead, so reading pages in
 * order costs one I/O per 64 pages. FFDB_EINVAL past the end of the file. */
int inspect_read_page(struct inspect *ins, uint64_t pgno, struct inspect_page *out);

/* A cell of a branch or leaf page. Pointers point into the page. */
struct inspect_cell {
    unsigned offset, size; /* where the cell lies within the page */
    const uint8_t *key;
    size_t klen;
    uint64_t child;     /* branch */
    int big;            /* leaf: the value is in an overflow run */
    const uint8_t *val; /* leaf, inline value */
    size_t vlen;
    uint64_t ovf_pgno, ovf_len; /* leaf, big value */
};

/* Decode cell i (< page->count) of a branch or leaf page. Returns 0, or
 * FFDB_CORRUPT with *why set when the slot or cell lies outside the page. */
int inspect_cell(const struct inspect_page *page, unsigned i, struct inspect_cell *cell,
                 const char **why);
/* Entry i of a freelist page: a != 0 is a range of b pages at a; a == 0 a
 * txid marker b. FFDB_CORRUPT if i is past what the page can hold. */
int inspect_freelist_entry(const struct inspect_page *page, unsigned i, uint64_t *a, uint64_t *b);
/* Decode a page as meta slot page->pgno (pages 0 and 1). */
void inspect_page_meta(const struct inspect_page *page, struct inspect_meta *out);

/* ---- ownership ---------------------------------------------------------------- */

#define INSPECT_OWN_NONE 0u /* reached by nothing: leaked (see ffdb check) */
#define INSPECT_OWN_META 1u
#define INSPECT_OWN_CATALOG 2u
#define INSPECT_OWN_FREELIST 3u /* a page of the freelist chain itself */
#define INSPECT_OWN_FREE 4u     /* free, reusable */
#define INSPECT_OWN_PENDING 5u  /* free, freed by a commit an old snapshot may still see */
#define INSPECT_OWN_TWICE 6u    /* claimed by two owners: corruption */
#define INSPECT_OWN_CLIST 7u    /* the last commit's commit list (freed by the next) */
#define INSPECT_OWN_BUCKET 16u  /* + index into buckets[] */

struct inspect_name {
    uint8_t *data;
    size_t len;
};

struct inspect_map {
    uint64_t txid;
    uint64_t page_count; /* of the snapshot */
    uint32_t *owner;     /* page_count entries, INSPECT_OWN_* */
    size_t bucket_count;
    struct inspect_name *buckets;
    uint64_t problems; /* problems met on the walk (ffdb check lists them) */
};

/* Build the owner of every page of db's last commit, in a read snapshot.
 * Damaged pages do not stop the walk: they are counted in problems, and a
 * page a damaged one names but that cannot be read keeps the owner that
 * named it. FFDB_ENOMEM, FFDB_EIO; FFDB_CORRUPT only if the catalog cannot
 * be walked at all. Free the map with inspect_map_free (also after errors). */
int inspect_map_build(ffdb *db, struct inspect_map *map);
void inspect_map_free(struct inspect_map *map);

/* ---- small windows on a live handle ---------------------------------------------- */

/* The bucket's tree record as its transaction sees it (no walk). */
void inspect_bucket_tree(const ffdb_bucket *b, struct inspect_tree *out);
/* Pages read from the file through db so far (any thread; for progress). */
uint64_t inspect_pages_read(ffdb *db);

#endif /* FFDB_ENGINE_INSPECT_H */
