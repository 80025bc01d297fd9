/*
 * pages.c — the raw page views: `pages FILE` (one line per page: number,
 * kind, txid, fill, owner) and `page FILE N` (one page decoded: header,
 * slots or entries, and a hex dump on request).
 *
 * Both read through engine/inspect.h, which opens the file FFDB_RDONLY and
 * decodes untrusted bytes with bounds checks, so they work on damaged files
 * too: a page that fails its checksum is shown with a note, never trusted.
 * Owners come from an owner map built in a read snapshot when the file can
 * be opened at all. Nothing here writes.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/inspect.h"
#include "tools/ffdb/cli.h"
#include "tools/ffdb/json.h"

/* Shown bytes of a key or value before "..." in `page`. */
#define SHOW_BYTES 48

static int open_inspect(const char *cmd, const char *path, struct inspect **ins)
{
    int rc = inspect_open(path, ins);
    if (rc == FFDB_NOTFOUND) {
        cli_msg(cmd, "%s: no such file", path);
        return EXIT_MISSING;
    }
    return rc < 0 ? cli_fail(cmd, path, rc) : 0;
}

/* ---- pages -------------------------------------------------------------------- */

/* The owner map, when the file opens; else *open_rc says why not. */
static int build_map(const char *path, struct inspect_map *map, int *open_rc)
{
    ffdb_options opt;
    ffdb *db;
    int rc;

    memset(map, 0, sizeof(*map));
    memset(&opt, 0, sizeof(opt));
    opt.flags = FFDB_RDONLY;
    *open_rc = ffdb_open(path, &opt, &db);
    if (*open_rc < 0) {
        cli_fail("pages", path, *open_rc);
        cli_msg("pages", "owners are unknown; listing the pages of the file as they are");
        return 0;
    }
    rc = inspect_map_build(db, map);
    ffdb_close(db);
    if (rc < 0) {
        inspect_map_free(map);
        return cli_fail("pages", "owner map", rc);
    }
    return 0;
}

static char *owner_text(const struct inspect_map *map, uint64_t pgno)
{
    static const char *const names[] = {"LEAKED", "meta",    "catalog", "freelist",
                                        "free",   "pending", "TWICE",   "commit list"};
    uint32_t o;
    if (!map->owner)
        return strdup("?");
    if (pgno >= map->page_count)
        return strdup("(past page_count)");
    o = map->owner[pgno];
    if (o >= INSPECT_OWN_BUCKET && o - INSPECT_OWN_BUCKET < map->bucket_count)
        return esc_string(map->buckets[o - INSPECT_OWN_BUCKET].data,
                          map->buckets[o - INSPECT_OWN_BUCKET].len, 0);
    return strdup(o < sizeof(names) / sizeof(names[0]) ? names[o] : "?");
}

/* Notes on what is wrong with a page, "" if nothing. */
static void page_notes(const struct inspect_page *p, char *out, size_t size)
{
    out[0] = '\0';
    if (!p->checksum_ok)
        snprintf(out + strlen(out), size - strlen(out), " bad-checksum");
    if (p->header_pgno != p->pgno)
        snprintf(out + strlen(out), size - strlen(out), " names-page-%llu",
                 (unsigned long long)p->header_pgno);
    if (!p->layout_ok)
        snprintf(out + strlen(out), size - strlen(out), " bad-layout");
}

static int list_pages(struct inspect *ins, const struct inspect_map *map, uint64_t count, int json)
{
    struct json j;
    json_init(&j, stdout);
    if (json) {
        json_begin_object(&j);
        json_key(&j, "pages");
        json_begin_array(&j);
    } else {
        printf("%10s %-8s %10s %6s  %s\n", "PAGE", "KIND", "TXID", "FILL", "OWNER");
    }
    for (uint64_t pgno = 0; pgno < count; pgno++) {
        struct inspect_page p;
        char notes[96], fill[16], *owner;
        int rc = inspect_read_page(ins, pgno, &p);
        if (rc < 0)
            return cli_fail("pages", "read", rc);
        page_notes(&p, notes, sizeof(notes));
        owner = owner_text(map, pgno);
        if (!owner)
            return cli_fail("pages", "owner", FFDB_ENOMEM);
        if (p.fill >= 0)
            snprintf(fill, sizeof(fill), "%.0f%%", p.fill * 100);
        else
            strcpy(fill, "-");
        if (json) {
            json_begin_object(&j);
            json_kv_u64(&j, "page", pgno);
            json_kv_str(&j, "kind", p.kind_name);
            json_kv_u64(&j, "txid", p.txid);
            json_key(&j, "fill");
            if (p.fill >= 0)
                json_double(&j, p.fill);
            else
                json_null(&j);
            json_kv_str(&j, "owner", owner);
            json_kv_bool(&j, "checksum_ok", p.checksum_ok);
            json_kv_str(&j, "notes", notes[0] ? notes + 1 : "");
            json_end_object(&j);
        } else {
            printf("%10llu %-8s %10llu %6s  %s%s%s\n", (unsigned long long)pgno, p.kind_name,
                   (unsigned long long)p.txid, fill, owner, notes[0] ? "  !" : "",
                   notes[0] ? notes + 1 : "");
        }
        free(owner);
    }
    if (json) {
        json_end_array(&j);
        json_end_object(&j);
        json_end(&j);
    }
    return 0;
}

static int run_pages(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
    struct inspect *ins;
    struct inspect_map map;
    uint64_t count;
    int c, json = 0, status, open_rc;

    while ((c = cli_getopt(&cmd_pages, argc, argv, "j", opts, &status)) != -1) {
        if (c == CLI_OPT_STOP)
            return status;
        json = 1;
    }
    if ((status = cli_want_args(&cmd_pages, argc - optind, 1, 1)) != 0)
        return status;
    if ((status = open_inspect("pages", argv[optind], &ins)) != 0)
        return status;
    status = build_map(argv[optind], &map, &open_rc);
    if (status == 0) {
        /* The committed pages; the file may be longer (it grows ahead). */
        count = inspect_file_pages(ins);
        if (map.owner && map.page_count < count)
            count = map.page_count;
        status = list_pages(ins, &map, count, json);
    }
    if (status == 0 && open_rc < 0)
        status = cli_exit_code(open_rc);
    inspect_map_free(&map);
    inspect_close(ins);
    return cli_finish_stdout("pages", status);
}

const struct cli_command cmd_pages = {
    "pages", run_pages, "pages FILE [--json]",
    "One line per page: number, kind, txid, fill, owner bucket.",
    "Lists every page of the last commit (the file may be longer: it grows ahead)\n"
    "with its kind, the txid that wrote it, its fill and its owner: a bucket name,\n"
    "catalog, freelist (a chain page), free, pending (freed, still visible to old\n"
    "snapshots), meta, LEAKED (owned by nothing) or TWICE (claimed twice). Damaged\n"
    "pages get notes (bad-checksum, names-page-N, bad-layout). A file that cannot\n"
    "be opened is listed as it is, owners '?', and the exit status says why.\n\n"
    "  --json   {\"pages\": [{\"page\", \"kind\", \"txid\", \"fill\", \"owner\", ...}]}\n"};

/* ---- page N ---------------------------------------------------------------------- */

static void show_bytes(const char *label, const uint8_t *p, size_t len)
{
    printf("  %s \"", label);
    esc_write(stdout, p, len < SHOW_BYTES ? len : SHOW_BYTES, 0);
    printf("\"%s (%zu)", len > SHOW_BYTES ? "..." : "", len);
}

static void show_cells(const struct inspect_page *p)
{
    for (unsigned i = 0; i < p->items; i++) {
        struct inspect_cell c;
        const char *why;
        int rc = inspect_cell(p, i, &c, &why);
        printf("[%u] @%u", i, c.offset);
        if (rc < 0) {
            printf("  BAD: %s\n", why);
            continue;
        }
        if (p->kind == INSPECT_KIND_BRANCH)
            printf("  child %llu", (unsigned long long)c.child);
        show_bytes("key", c.key, c.klen);
        if (p->kind == INSPECT_KIND_LEAF && c.big)
            printf("  value in overflow run at page %llu, %llu bytes",
                   (unsigned long long)c.ovf_pgno, (unsigned long long)c.ovf_len);
        else if (p->kind == INSPECT_KIND_LEAF)
            show_bytes("value", c.val, c.vlen);
        printf("\n");
    }
    if (p->items < p->count)
        printf("BAD: %u more slots would lie past the end of the page\n", p->count - p->items);
}

static void show_freelist(const struct inspect_page *p)
{
    for (unsigned i = 0; i < p->items; i++) {
        uint64_t a, b;
        if (inspect_freelist_entry(p, i, &a, &b) < 0)
            break;
        if (a)
            printf("[%u] free range %llu+%llu\n", i, (unsigned long long)a, (unsigned long long)b);
        else
            printf("[%u] marker: the ranges after it were freed by txid %llu\n", i,
                   (unsigned long long)b);
    }
    if (p->items < p->count)
        printf("BAD: %u more entries would lie past the end of the page\n", p->count - p->items);
}

static void show_meta(const struct inspect_page *p)
{
    struct inspect_meta m;
    inspect_page_meta(p, &m);
    printf("meta         %s\n", m.status == 0 ? "valid" : m.why);
    printf("magic        %s\n", m.magic_ok ? "ok" : "missing");
    printf("version      %u\n", m.version);
    printf("page size    %u\n", m.page_size_field);
    printf("page count   %llu\n", (unsigned long long)m.page_count);
    printf("freelist     root %llu, %llu pages\n", (unsigned long long)m.freelist_root,
           (unsigned long long)m.freelist_pages);
    printf("catalog      root %llu, depth %u, %llu entries, %llu branch + %llu leaf pages\n",
           (unsigned long long)m.catalog.root, m.catalog.depth,
           (unsigned long long)m.catalog.entries, (unsigned long long)m.catalog.branch_pages,
           (unsigned long long)m.catalog.leaf_pages);
    printf("buckets      %llu\n", (unsigned long long)m.bucket_count);
}

/* xxd-like, with runs of identical lines folded into "*". */
static void hex_dump(const uint8_t *p, size_t len)
{
    int folded = 0;
    for (size_t off = 0; off < len; off += 16) {
        if (off > 0 && off + 16 <= len && memcmp(p + off, p + off - 16, 16) == 0) {
            if (!folded)
                printf("*\n");
            folded = 1;
            continue;
        }
        folded = 0;
        printf("%04zx ", off);
        for (size_t i = 0; i < 16; i++)
            printf("%s%02x", i == 8 ? "  " : " ", p[off + i]);
        printf("  |");
        for (size_t i = 0; i < 16; i++)
            putchar(p[off + i] >= 0x20 && p[off + i] < 0x7f ? p[off + i] : '.');
        printf("|\n");
    }
    printf("%04zx\n", len);
}

static void show_page(const struct inspect_page *p)
{
    printf("page         %llu (offset %llu, %u bytes)\n", (unsigned long long)p->pgno,
           (unsigned long long)p->pgno * p->page_size, p->page_size);
    if (p->checksum_ok)
        printf("checksum     ok (%016llx)\n", (unsigned long long)p->stored_checksum);
    else
        printf("checksum     BAD: stored %016llx, computed %016llx\n",
               (unsigned long long)p->stored_checksum, (unsigned long long)p->computed_checksum);
    printf("pgno         %llu%s\n", (unsigned long long)p->header_pgno,
           p->header_pgno == p->pgno ? "" : " (does not match: misplaced or garbage)");
    printf("txid         %llu\n", (unsigned long long)p->txid);
    printf("kind         %s (%u)\n", p->kind_name, p->kind);
    printf("flags        %u\n", p->flags);
    printf("count        %u\n", p->count);
    printf("lower/upper  %u / %u\n", p->lower, p->upper);
    printf("next         %llu\n", (unsigned long long)p->next);
    if (p->fill >= 0)
        printf("fill         %.1f%%\n", p->fill * 100);
    if (!p->layout_ok)
        printf("layout       BAD: the header's count, lower and upper disagree\n");
    if (p->pgno < 2) { /* a meta slot, whatever its kind byte says */
        show_meta(p);
        return;
    }
    switch (p->kind) {
    case INSPECT_KIND_BRANCH:
    case INSPECT_KIND_LEAF:
        show_cells(p);
        break;
    case INSPECT_KIND_FREELIST:
        show_freelist(p);
        break;
    case INSPECT_KIND_OVERFLOW:
        printf("overflow     page %llu of its run; %u payload bytes\n", (unsigned long long)p->next,
               p->page_size - INSPECT_HEADER_SIZE);
        break;
    }
}

static int run_page(int argc, char **argv)
{
    static const struct option opts[] = {
        {"hex", no_argument, NULL, 'x'}, {"help", no_argument, NULL, 'h'}, {0}};
    struct inspect *ins;
    struct inspect_page p;
    uint64_t pgno;
    int c, hex = 0, status, rc;

    while ((c = cli_getopt(&cmd_page, argc, argv, "x", opts, &status)) != -1) {
        if (c == CLI_OPT_STOP)
            return status;
        hex = 1;
    }
    if ((status = cli_want_args(&cmd_page, argc - optind, 2, 2)) != 0)
        return status;
    if (cli_parse_u64(argv[optind + 1], &pgno) < 0)
        return cli_usage_error(&cmd_page, "'%s' is not a page number", argv[optind + 1]);
    if ((status = open_inspect("page", argv[optind], &ins)) != 0)
        return status;
    if (pgno >= inspect_file_pages(ins)) {
        status =
            cli_usage_error(&cmd_page, "page %llu is past the end of the file (%llu pages)",
                            (unsigned long long)pgno, (unsigned long long)inspect_file_pages(ins));
    } else if ((rc = inspect_read_page(ins, pgno, &p)) < 0) {
        status = cli_fail("page", "read", rc);
    } else {
        show_page(&p);
        if (hex)
            hex_dump(p.data, p.page_size);
    }
    inspect_close(ins);
    return cli_finish_stdout("page", status);
}

const struct cli_command cmd_page = {
    "page", run_page, "page FILE N [--hex]",
    "Decode one page: header, checksum status, slots or entries.",
    "Reads page N raw (never trusting it) and shows its header, whether its\n"
    "checksum and page number hold, and by kind: the meta fields; each slot of a\n"
    "branch (child, key) or leaf (key, value or overflow run); each entry of a\n"
    "freelist page; an overflow page's index in its run. Keys and values are\n"
    "escaped and cut at 48 bytes. Cells that lie outside the page are marked BAD.\n\n"
    "  --hex    add a hex dump of the whole page\n"};
