/*
 * format.h — the on-disk format of an ffdb file, in one place.
 *
 * Every layer that reads or writes a field includes this header and uses the
 * offsets below through the little-endian helpers in common/bytes.h; nothing
 * else in the code base knows a byte offset. docs/FORMAT.md mirrors it: the
 * two must change together.
 *
 * The file is an array of pages of PAGE SIZE bytes (4096, 8192 or 16384,
 * fixed at creation and recorded in the meta pages). Page n starts at byte
 * n * page_size. Pages 0 and 1 are the meta pages; every other page in
 * [2, page_count) is reachable from exactly one committed meta page or is
 * free. All integers are little-endian.
 *
 * Common page header (every page, metas included)
 *   off size field
 *     0    8 checksum   XXH3-64 of bytes [8, page_size), seeded with 0
 *     8    8 pgno       the page's own number; a mismatch is corruption
 *    16    8 txid       the transaction that wrote the page
 *    24    1 kind       PAGE_META .. PAGE_COMMIT
 *    25    1 flags      0 (reserved)
 *    26    2 count      slots in use (branch/leaf); entries (freelist)
 *    28    2 lower      end of the slot array (branch/leaf)
 *    30    2 upper      start of the cell area (branch/leaf)
 *    32    8 next       freelist: next freelist page, 0 at the end
 *                       overflow: index of this page within its run
 *   40 = PAGE_HEADER_SIZE
 *
 * Meta page (pages 0 and 1), after the common header
 *    40    8 magic          "ffdb\x89\r\n\x1a" as bytes (FFDB_MAGIC)
 *    48    4 version        FORMAT_VERSION; a newer one is refused
 *    52    4 page_size
 *    56    8 page_count     pages in use, metas included; the file may be longer
 *    64    8 freelist_root  first freelist page, 0 = empty freelist
 *    72    8 freelist_pages number of pages in the freelist chain
 *    80   48 catalog        tree record of the catalog (layout below)
 *   128    8 bucket_count
 *   136    8 clist_first    first page of the commit list, 0 = none (version 2)
 *   144    8 clist_pages    pages of the commit list (consecutive)
 *   152    8 clist_entries  entries in the commit list
 *   160    8 confirmed      0, or txid + 1: the next commit is known durable
 *                           (written at a clean close over the older meta)
 *   168    8 base           0, or 1 + the txid of the meta in the other slot
 *                           that open falls back to when this one's list
 *                           fails (0 means txid - 1; FFDB_DEFERSYNC writes it)
 *   The checksum covers the whole page, so a torn meta write is invalid.
 *   A meta's pgno names its slot. Commits alternate slots (the meta of txid
 *   t in slot t % 2 as long as they do); with FFDB_DEFERSYNC every commit
 *   between two syncs goes to the slot the last synced meta is not in, so
 *   txid and slot parity may differ. Version 1 files have no commit
 *   list fields (bytes 136.. are zero); they are opened as clist_first = 0
 *   and the next commit writes a version 2 meta.
 *
 * Commit list (one-flush commit, engine/clist.c). A meta with clist_first
 * != 0 was written together with the pages of its commit, before one sync:
 * it is valid only if every page the list names holds exactly the listed
 * checksum (so none of them is missing, stale or torn); otherwise open
 * takes the other meta, which was durable before this commit began. A meta
 * with clist_first = 0 was written after its pages were synced. The list
 * lives in clist_pages consecutive pages at clist_first, inside page_count;
 * the next commit frees them. A meta whose txid is another's confirmed
 * value is taken without checking its list (after a clean close, damage to
 * it is corruption to report, not a commit cut short). Each list page: common header (kind
 * PAGE_COMMIT, txid = the meta's, count = entries in this page, next = index
 * of the page in the list), then count entries { pgno u64, checksum u64 }
 * in ascending pgno order across the list: every page the commit wrote
 * that its meta reaches (tree, overflow and freelist pages).
 *
 * Tree record (48 bytes; in the meta for the catalog, as the catalog value
 * of each bucket)
 *     0    8 root          root page, 0 = empty tree
 *     8    8 entries
 *    16    8 branch_pages
 *    24    8 leaf_pages
 *    32    8 overflow_pages
 *    40    4 depth         0 for an empty tree, 1 = root is a leaf
 *    44    4 flags         0 (reserved)
 *
 * Branch and leaf pages (slotted)
 *   The header is followed by count 2-byte slots, each the offset of a cell
 *   within the page, in key order; cells are packed from the page end down
 *   to upper. lower = PAGE_HEADER_SIZE + 2 * count <= upper <= page_size.
 *
 *   Leaf cell:   klen u16 | flags u8 | reserved u8 | vlen u32 | key | value
 *                flags & CELL_BIG: the value lives in an overflow run and the
 *                value field is { first_pgno u64, total_len u64 } (vlen = 16).
 *   Branch cell: child u64 | klen u16 | key
 *                Cell 0's key is empty and means "less than every key";
 *                child i holds the keys k with key_i <= k < key_(i+1).
 *
 * Overflow run: ceil(total_len / (page_size - 40)) consecutive pages, each
 * with the common header (kind PAGE_OVERFLOW, next = index in the run) and
 * page_size - 40 payload bytes; the last page is zero-padded.
 *
 * Freelist page: the header's count is the number of 16-byte entries after
 * the header; next chains the pages. Entry: { a u64, b u64 }:
 *   a != 0: a free range of b pages starting at pgno a, freed by the
 *           transaction named by the most recent txid marker (0 = reusable)
 *   a == 0: a txid marker: the ranges that follow were freed by txid b.
 */
#ifndef FFDB_COMMON_FORMAT_H
#define FFDB_COMMON_FORMAT_H

#include <stdint.h>

#define FFDB_MAGIC_BYTES   "ffdb\x89\r\n\x1a"
#define FORMAT_VERSION     2u
#define FORMAT_VERSION_MIN 1u  /* the oldest format still opened */

#define PAGE_SIZE_MIN      4096u
#define PAGE_SIZE_MAX      16384u
#define PAGE_SIZE_DEFAULT  4096u

enum page_kind {
    PAGE_META = 1,
    PAGE_BRANCH = 2,
    PAGE_LEAF = 3,
    PAGE_OVERFLOW = 4,
    PAGE_FREELIST = 5,
    PAGE_COMMIT = 6,
};

/* Common page header. */
#define PH_CHECKSUM   0
#define PH_PGNO       8
#define PH_TXID       16
#define PH_KIND       24
#define PH_FLAGS      25
#define PH_COUNT      26
#define PH_LOWER      28
#define PH_UPPER      30
#define PH_NEXT       32
#define PAGE_HEADER_SIZE 40u

/* Meta page fields. */
#define META_MAGIC          40
#define META_VERSION        48
#define META_PAGE_SIZE      52
#define META_PAGE_COUNT     56
#define META_FREELIST_ROOT  64
#define META_FREELIST_PAGES 72
#define META_CATALOG        80
#define META_BUCKET_COUNT   128
#define META_CLIST_FIRST    136
#define META_CLIST_PAGES    144
#define META_CLIST_ENTRIES  152
#define META_CONFIRMED      160
#define META_BASE           168
#define META_END            176

/* Tree record. */
#define TREC_ROOT           0
#define TREC_ENTRIES        8
#define TREC_BRANCH_PAGES   16
#define TREC_LEAF_PAGES     24
#define TREC_OVERFLOW_PAGES 32
#define TREC_DEPTH          40
#define TREC_FLAGS          44
#define TREC_SIZE           48

/* Leaf cell. */
#define LEAF_KLEN       0
#define LEAF_FLAGS      2
#define LEAF_VLEN       4
#define LEAF_HEADER     8
#define CELL_BIG        0x1u
#define BIGREF_PGNO     0
#define BIGREF_LEN      8
#define BIGREF_SIZE     16

/* Branch cell. */
#define BRANCH_CHILD    0
#define BRANCH_KLEN     8
#define BRANCH_HEADER   10

/* Slots. */
#define SLOT_SIZE       2

/* Freelist entries. */
#define FREELIST_ENTRY_SIZE 16

/* Commit list entries: { pgno u64, checksum u64 }. */
#define CLIST_ENTRY_SIZE    16
#define CLIST_ENTRY_PGNO    0
#define CLIST_ENTRY_SUM     8

/* Trees deeper than this are corrupt (a cycle or garbage); a real tree of
 * 2^64 keys with the smallest fan-out (3) stays below it. */
#define MAX_TREE_DEPTH  40

#endif /* FFDB_COMMON_FORMAT_H */
