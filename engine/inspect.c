/*
 * inspect.c — the inspector's read-only page API (engine/inspect.h): both
 * meta slots decoded with per-slot status, raw pages decoded with their
 * checksum status, and the owner of every page of a commit.
 *
 * Called only by tools/ffdb. Raw access goes through a pager of its own,
 * opened FFDB_RDONLY, and reads with pager_read_raw() so that a page failing
 * verification can still be shown; the owner map walks a read snapshot of
 * an open handle with the same visits ffdb_check uses. Nothing here ever
 * writes, and nothing read from a raw page is trusted: every offset and
 * length is checked against the page before it is followed.
 */
#include "engine/inspect.h"

#include <string.h>

#include "common/alloc.h"
#include "common/bytes.h"
#include "common/checksum.h"
#include "common/error.h"
#include "common/format.h"
#include "engine/db.h"
#include "freelist/freelist.h"
#include "pager/pager.h"

/* Pages read per I/O when pages are read in order (256 KiB at 4 KiB). */
#define WINDOW_PAGES 64u
/* Raw reads are aligned like direct I/O wants them. */
#define RAW_ALIGN 4096u

_Static_assert(INSPECT_HEADER_SIZE == PAGE_HEADER_SIZE, "inspect.h repeats the header size");
_Static_assert(INSPECT_KIND_META == PAGE_META && INSPECT_KIND_BRANCH == PAGE_BRANCH &&
                   INSPECT_KIND_LEAF == PAGE_LEAF && INSPECT_KIND_OVERFLOW == PAGE_OVERFLOW &&
                   INSPECT_KIND_FREELIST == PAGE_FREELIST,
               "inspect.h repeats the page kinds of format.h");

struct inspect {
    struct pager *pg;
    struct inspect_info info;
    uint64_t file_pages;
    uint8_t *window; /* WINDOW_PAGES pages of PAGE_SIZE_MAX bytes */
    uint64_t win_first, win_count;
};

static const unsigned page_sizes[] = {4096, 8192, 16384};

static int valid_page_size(uint32_t ps)
{
    return ps == 4096 || ps == 8192 || ps == 16384;
}

static void decode_tree(const uint8_t *rec, struct inspect_tree *t)
{
    t->root = ld64(rec + TREC_ROOT);
    t->entries = ld64(rec + TREC_ENTRIES);
    t->branch_pages = ld64(rec + TREC_BRANCH_PAGES);
    t->leaf_pages = ld64(rec + TREC_LEAF_PAGES);
    t->overflow_pages = ld64(rec + TREC_OVERFLOW_PAGES);
    t->depth = ld32(rec + TREC_DEPTH);
}

/* Why meta_decode() refused a slot, in words; the order follows its checks. */
static const char *meta_why(const uint8_t *page, unsigned ps, uint64_t slot, int status)
{
    if (status == 0)
        return "valid";
    if (memcmp(page + META_MAGIC, FFDB_MAGIC_BYTES, 8) != 0) {
        for (unsigned i = PH_PGNO; i < ps; i++) /* the checksum may seal a page of zeros */
            if (page[i] != 0)
                return "no ffdb magic";
        return "empty (never written)";
    }
    if (ld32(page + META_PAGE_SIZE) != ps)
        return "page size field disagrees";
    if (!page_verify(page, ps))
        return "checksum mismatch";
    if (status == FFDB_EVERSION)
        return "written by a newer format version";
    if (page[PH_KIND] != PAGE_META || ld64(page + PH_PGNO) != slot)
        return "header does not name this slot";
    return "fields out of range";
}

/* Decode slot of a page_size ps, every field, valid or not. */
static void decode_meta(const uint8_t *page, unsigned ps, unsigned slot, struct inspect_meta *m)
{
    struct meta dummy;
    memset(m, 0, sizeof(*m));
    m->slot = slot;
    m->page_size = ps;
    m->status = meta_decode(page, ps, slot, &dummy);
    m->why = meta_why(page, ps, slot, m->status);
    m->magic_ok = memcmp(page + META_MAGIC, FFDB_MAGIC_BYTES, 8) == 0;
    m->stored_checksum = ld64(page + PH_CHECKSUM);
    m->computed_checksum = page_checksum(page, ps);
    m->checksum_ok = m->stored_checksum == m->computed_checksum;
    m->version = ld32(page + META_VERSION);
    m->page_size_field = ld32(page + META_PAGE_SIZE);
    m->kind = page[PH_KIND];
    m->pgno = ld64(page + PH_PGNO);
    m->txid = ld64(page + PH_TXID);
    m->page_count = ld64(page + META_PAGE_COUNT);
    m->freelist_root = ld64(page + META_FREELIST_ROOT);
    m->freelist_pages = ld64(page + META_FREELIST_PAGES);
    m->bucket_count = ld64(page + META_BUCKET_COUNT);
    decode_tree(page + META_CATALOG, &m->catalog);
}

/* The file's page size: that of the newest meta valid at any size, else
 * what slot 0 claims, else the default. Mirrors meta_pick(). */
static unsigned pick_page_size(const uint8_t *buf, long got, int *current)
{
    uint64_t best_txid = 0;
    unsigned best = 0;
    *current = -1;
    for (unsigned s = 0; s < 3; s++) {
        unsigned ps = page_sizes[s];
        for (unsigned slot = 0; slot < 2; slot++) {
            struct meta m;
            if ((uint64_t)got < (slot + 1) * (uint64_t)ps)
                continue;
            if (meta_decode(buf + slot * ps, ps, slot, &m) == 0 && (!best || m.txid > best_txid)) {
                best = ps;
                best_txid = m.txid;
                *current = (int)slot;
            }
        }
    }
    if (best)
        return best;
    if (valid_page_size(ld32(buf + META_PAGE_SIZE)))
        return ld32(buf + META_PAGE_SIZE);
    return PAGE_SIZE_DEFAULT;
}

/* Exact size of the file in bytes: whole 4 KiB pages, plus the tail a raw
 * read reports. */
static int file_size(struct pager *pg, uint8_t *buf, uint64_t *bytes)
{
    uint64_t pages;
    long tail;
    CHECK(pager_file_pages(pg, &pages));
    tail = pager_read_raw(pg, buf, PAGE_SIZE_MIN, pages * PAGE_SIZE_MIN);
    if (tail < 0)
        return (int)tail;
    *bytes = pages * PAGE_SIZE_MIN + (uint64_t)tail;
    return 0;
}

static int read_metas(struct inspect *ins)
{
    struct inspect_info *info = &ins->info;
    uint8_t *buf = ins->window;
    unsigned ps;
    long got;

    CHECK(file_size(ins->pg, buf, &info->file_bytes));
    got = pager_read_raw(ins->pg, buf, 2 * PAGE_SIZE_MAX, 0);
    if (got < 0)
        return (int)got;
    ps = pick_page_size(buf, got, &info->current);
    info->page_size = ps;
    for (unsigned slot = 0; slot < 2; slot++)
        decode_meta(buf + slot * ps, ps, slot, &info->meta[slot]);
    pager_set_page_size(ins->pg, ps);
    ins->file_pages = info->file_bytes / ps;
    return 0;
}

int inspect_open(const char *path, struct inspect **out)
{
    struct inspect *ins;
    int rc;

    *out = NULL;
    ins = mem_calloc(1, sizeof(*ins));
    if (!ins)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate the inspector");
    ins->window = mem_alloc_aligned(RAW_ALIGN, (size_t)WINDOW_PAGES * PAGE_SIZE_MAX);
    if (!ins->window) {
        mem_free(ins);
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate the read window");
    }
    rc = pager_open(path, NULL, FFDB_RDONLY, &ins->pg);
    if (rc == 0)
        rc = read_metas(ins);
    if (rc < 0) {
        inspect_close(ins);
        return rc;
    }
    *out = ins;
    return 0;
}

void inspect_close(struct inspect *ins)
{
    if (!ins)
        return;
    pager_close(ins->pg);
    mem_free_aligned(ins->window);
    mem_free(ins);
}

void inspect_get_info(const struct inspect *ins, struct inspect_info *out)
{
    *out = ins->info;
}

uint64_t inspect_file_pages(const struct inspect *ins)
{
    return ins->file_pages;
}

/* ---- raw pages ----------------------------------------------------------------- */

static const char *kind_name(unsigned kind)
{
    switch (kind) {
    case PAGE_META:
        return "meta";
    case PAGE_BRANCH:
        return "branch";
    case PAGE_LEAF:
        return "leaf";
    case PAGE_OVERFLOW:
        return "overflow";
    case PAGE_FREELIST:
        return "freelist";
    case PAGE_COMMIT:
        return "commit";
    default:
        return "unknown";
    }
}

/* Slots that can lie within the page, whatever count claims. */
static unsigned slot_limit(const struct inspect_page *p)
{
    unsigned max = (p->page_size - PAGE_HEADER_SIZE) / SLOT_SIZE;
    return p->count < max ? p->count : max;
}

static void decode_layout(struct inspect_page *p)
{
    unsigned payload = p->page_size - PAGE_HEADER_SIZE;
    p->fill = -1;
    p->layout_ok = 1;
    if (p->kind == PAGE_BRANCH || p->kind == PAGE_LEAF) {
        uint64_t used = 0;
        unsigned n = slot_limit(p);
        p->items = n;
        p->layout_ok = p->lower == PAGE_HEADER_SIZE + SLOT_SIZE * p->count &&
                       p->lower <= p->upper && p->upper <= p->page_size;
        for (unsigned i = 0; i < n; i++) {
            struct inspect_cell c;
            const char *why;
            used += SLOT_SIZE;
            if (inspect_cell(p, i, &c, &why) == 0)
                used += c.size;
        }
        p->fill = used >= payload ? 1.0 : (double)used / payload;
    } else if (p->kind == PAGE_FREELIST) {
        unsigned max = payload / FREELIST_ENTRY_SIZE;
        p->layout_ok = p->count <= max;
        p->items = p->count < max ? p->count : max;
        p->fill = (double)(p->count < max ? p->count : max) * FREELIST_ENTRY_SIZE / payload;
    } else if (p->kind != PAGE_META && p->kind != PAGE_OVERFLOW) {
        p->layout_ok = 0;
    }
}

int inspect_read_page(struct inspect *ins, uint64_t pgno, struct inspect_page *out)
{
    unsigned ps = ins->info.page_size;
    const uint8_t *d;

    if (pgno >= ins->file_pages)
        return ERR_RAISE(FFDB_EINVAL, pgno, "page %llu is past the end of the file (%llu pages)",
                         (unsigned long long)pgno, (unsigned long long)ins->file_pages);
    if (pgno < ins->win_first || pgno >= ins->win_first + ins->win_count) {
        uint64_t n = ins->file_pages - pgno < WINDOW_PAGES ? ins->file_pages - pgno : WINDOW_PAGES;
        long got = pager_read_raw(ins->pg, ins->window, (size_t)(n * ps), pgno * ps);
        ins->win_count = 0;
        if (got < 0)
            return (int)got;
        ins->win_first = pgno;
        ins->win_count = n; /* a short read left zeros: they decode as garbage, as they are */
    }
    d = ins->window + (pgno - ins->win_first) * ps;
    memset(out, 0, sizeof(*out));
    out->pgno = pgno;
    out->page_size = ps;
    out->data = d;
    out->stored_checksum = ld64(d + PH_CHECKSUM);
    out->computed_checksum = page_checksum(d, ps);
    out->checksum_ok = out->stored_checksum == out->computed_checksum;
    out->header_pgno = ld64(d + PH_PGNO);
    out->txid = ld64(d + PH_TXID);
    out->kind = d[PH_KIND];
    out->flags = d[PH_FLAGS];
    out->count = ld16(d + PH_COUNT);
    out->lower = ld16(d + PH_LOWER);
    out->upper = ld16(d + PH_UPPER);
    out->next = ld64(d + PH_NEXT);
    out->kind_name = kind_name(out->kind);
    decode_layout(out);
    return 0;
}

static int bad(const char **why, const char *text)
{
    *why = text;
    return FFDB_CORRUPT;
}

int inspect_cell(const struct inspect_page *page, unsigned i, struct inspect_cell *c,
                 const char **why)
{
    const uint8_t *p = page->data;
    uint64_t ps = page->page_size, off, room;

    memset(c, 0, sizeof(*c));
    *why = NULL;
    if (page->kind != PAGE_BRANCH && page->kind != PAGE_LEAF)
        return bad(why, "not a branch or leaf page");
    if (i >= slot_limit(page))
        return bad(why, "slot lies past the page");
    off = ld16(p + PAGE_HEADER_SIZE + SLOT_SIZE * i);
    c->offset = (unsigned)off;
    if (off < PAGE_HEADER_SIZE || off >= ps)
        return bad(why, "cell offset outside the cell area");
    room = ps - off;
    if (page->kind == PAGE_BRANCH) {
        if (room < BRANCH_HEADER)
            return bad(why, "cell header crosses the page end");
        c->child = ld64(p + off + BRANCH_CHILD);
        c->klen = ld16(p + off + BRANCH_KLEN);
        c->key = p + off + BRANCH_HEADER;
        if (BRANCH_HEADER + c->klen > room)
            return bad(why, "key crosses the page end");
        c->size = (unsigned)(BRANCH_HEADER + c->klen);
        return 0;
    }
    if (room < LEAF_HEADER)
        return bad(why, "cell header crosses the page end");
    c->klen = ld16(p + off + LEAF_KLEN);
    c->vlen = ld32(p + off + LEAF_VLEN);
    c->big = (p[off + LEAF_FLAGS] & CELL_BIG) != 0;
    c->key = p + off + LEAF_HEADER;
    if ((uint64_t)LEAF_HEADER + c->klen + c->vlen > room)
        return bad(why, "key or value crosses the page end");
    c->val = c->key + c->klen;
    c->size = (unsigned)(LEAF_HEADER + c->klen + c->vlen);
    if (c->big) {
        if (c->vlen != BIGREF_SIZE)
            return bad(why, "overflow reference has the wrong size");
        c->ovf_pgno = ld64(c->val + BIGREF_PGNO);
        c->ovf_len = ld64(c->val + BIGREF_LEN);
    }
    return 0;
}

int inspect_freelist_entry(const struct inspect_page *page, unsigned i, uint64_t *a, uint64_t *b)
{
    const uint8_t *e;
    if (i >= (page->page_size - PAGE_HEADER_SIZE) / FREELIST_ENTRY_SIZE)
        return FFDB_CORRUPT;
    e = page->data + PAGE_HEADER_SIZE + (size_t)i * FREELIST_ENTRY_SIZE;
    *a = ld64(e);
    *b = ld64(e + 8);
    return 0;
}

void inspect_page_meta(const struct inspect_page *page, struct inspect_meta *out)
{
    decode_meta(page->data, page->page_size, (unsigned)(page->pgno & 1), out);
}

/* ---- ownership ------------------------------------------------------------------- */

struct mapper {
    struct inspect_map *map;
    uint32_t current; /* the owner whose pages are being visited */
};

static void claim(struct mapper *m, uint64_t pgno, uint64_t count, uint32_t who)
{
    struct inspect_map *map = m->map;
    for (uint64_t p = pgno; p < pgno + count && p < map->page_count; p++)
        map->owner[p] = map->owner[p] == INSPECT_OWN_NONE ? who : INSPECT_OWN_TWICE;
}

static void visit_tree_page(void *arg, uint64_t pgno, uint64_t count)
{
    struct mapper *m = arg;
    claim(m, pgno, count, m->current);
}

/* A page named by a damaged one, or that could not be read, still belongs
 * to the tree that named it. */
static void report_tree_problem(void *arg, uint64_t pgno, const char *text)
{
    struct mapper *m = arg;
    (void)text;
    m->map->problems++;
    if (pgno < m->map->page_count && m->map->owner[pgno] == INSPECT_OWN_NONE)
        m->map->owner[pgno] = m->current;
}

static int visit_free(void *arg, uint64_t pgno, uint64_t count, uint64_t txid)
{
    claim(arg, pgno, count, txid ? INSPECT_OWN_PENDING : INSPECT_OWN_FREE);
    return 0;
}

static int add_bucket(struct inspect_map *map, const void *name, size_t len)
{
    struct inspect_name *v = mem_realloc(map->buckets, (map->bucket_count + 1) * sizeof(*v));
    if (!v)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot grow the bucket list");
    map->buckets = v;
    v[map->bucket_count].data = mem_alloc(len ? len : 1);
    if (!v[map->bucket_count].data)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot copy a bucket name");
    memcpy(v[map->bucket_count].data, name, len);
    v[map->bucket_count].len = len;
    map->bucket_count++;
    return 0;
}

/* Walk each bucket's tree; a damaged catalog ends the walk, counted. */
static int map_buckets(ffdb_txn *txn, struct mapper *m, const struct bt_check_ops *ops)
{
    struct bt_cursor c;
    ffdb_val k, v;
    int rc;

    bt_cursor_init(&c, &txn->bt, &txn->meta.catalog);
    for (rc = bt_cursor_first(&c, &k, &v); rc == 0; rc = bt_cursor_next(&c, &k, &v)) {
        struct bt_tree tree;
        rc = add_bucket(m->map, k.data, k.size);
        if (rc < 0)
            break;
        if (v.size != TREC_SIZE) {
            m->map->problems++;
            continue;
        }
        bt_tree_decode(&tree, v.data);
        m->current = INSPECT_OWN_BUCKET + (uint32_t)(m->map->bucket_count - 1);
        rc = bt_check(&txn->bt, &tree, ops);
        if (rc == FFDB_CORRUPT)
            rc = 0;
        if (rc < 0)
            break;
    }
    bt_cursor_release(&c);
    if (rc == FFDB_CORRUPT) {
        m->map->problems++;
        rc = 0;
    }
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

/* The free ranges and the chain pages holding them. */
static int map_freelist(ffdb_txn *txn, struct mapper *m)
{
    struct freelist *fl;
    uint64_t pgno = txn->meta.freelist_root;
    uint8_t *page;
    int rc;

    rc = fl_load(txn->db->pager, txn->meta.freelist_root, txn->meta.freelist_pages,
                 txn->meta.page_count, txn->meta.txid, &fl);
    if (rc == FFDB_CORRUPT) {
        m->map->problems++;
        return 0;
    }
    CHECK(rc);
    fl_foreach(fl, visit_free, m);
    fl_destroy(fl);
    page = mem_alloc_aligned(RAW_ALIGN, txn->db->page_size);
    if (!page)
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate a page");
    /* fl_load verified the chain, so this walk ends within its bound. */
    for (uint64_t i = 0; i < txn->meta.freelist_pages && pgno; i++) {
        claim(m, pgno, 1, INSPECT_OWN_FREELIST);
        if (pager_read_page(txn->db->pager, pgno, page) < 0)
            break;
        pgno = ld64(page + PH_NEXT);
    }
    mem_free_aligned(page);
    return 0;
}

int inspect_map_build(ffdb *db, struct inspect_map *map)
{
    struct mapper m = {map, INSPECT_OWN_CATALOG};
    struct bt_check_ops ops = {&m, visit_tree_page, report_tree_problem, 0};
    ffdb_txn *txn;
    int rc;

    memset(map, 0, sizeof(*map));
    if (!db)
        return FFDB_EINVAL;
    CHECK(ffdb_begin_read(db, &txn));
    map->txid = txn->meta.txid;
    map->page_count = txn->meta.page_count;
    map->owner = mem_calloc(map->page_count, sizeof(*map->owner));
    if (!map->owner) {
        ffdb_abort(txn);
        return ERR_RAISE(FFDB_ENOMEM, PGNO_NONE, "cannot allocate the owner map");
    }
    claim(&m, 0, 2, INSPECT_OWN_META);
    if (txn->meta.clist_first != 0)
        claim(&m, txn->meta.clist_first, txn->meta.clist_pages, INSPECT_OWN_CLIST);
    rc = bt_check(&txn->bt, &txn->meta.catalog, &ops);
    if (rc == 0 || rc == FFDB_CORRUPT)
        rc = map_buckets(txn, &m, &ops);
    if (rc == 0)
        rc = map_freelist(txn, &m);
    ffdb_abort(txn);
    return rc;
}

void inspect_map_free(struct inspect_map *map)
{
    for (size_t i = 0; i < map->bucket_count; i++)
        mem_free(map->buckets[i].data);
    mem_free(map->buckets);
    mem_free(map->owner);
    memset(map, 0, sizeof(*map));
}

/* ---- small windows on a live handle ------------------------------------------------- */

void inspect_bucket_tree(const ffdb_bucket *b, struct inspect_tree *out)
{
    out->root = b->tree.root;
    out->entries = b->tree.entries;
    out->branch_pages = b->tree.branch_pages;
    out->leaf_pages = b->tree.leaf_pages;
    out->overflow_pages = b->tree.overflow_pages;
    out->depth = b->tree.depth;
}

uint64_t inspect_pages_read(ffdb *db)
{
    struct pager_counters c;
    pager_counters(db->pager, &c);
    return c.page_reads;
}
