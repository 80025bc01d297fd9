/*
 * cli.h — what the files of ffdb-blocks share: exit statuses, the command
 * table entry, the options every command takes (--store, --json), opening
 * the store, parsing and printing CIDs, and mapping error codes to exit
 * statuses.
 *
 * Every command is a function run(ctx, argc, argv) with argv[0] the command
 * name; it returns the process exit status. Results go to stdout (a CID
 * alone on its line, or one JSON document with --json), messages to stderr
 * prefixed "ffdb-blocks CMD:". The tool sees the store only through
 * modules/blocks/blocks.h.
 */
#ifndef FFDB_BLOCKS_TOOL_CLI_H
#define FFDB_BLOCKS_TOOL_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "modules/blocks/blocks.h"
#include "tools/ffdb/json.h"

/* Exit statuses; main.c's --help and the README list them. */
#define EXIT_OK 0
#define EXIT_ABSENT 1  /* has: not there; get, cat, rm, unpin, checkout...: no such block or ref */
#define EXIT_USAGE 2   /* bad command line */
#define EXIT_BADCID 3  /* a malformed CID, or data that does not match the CID given */
#define EXIT_DAMAGED 4 /* check found problems; stored data that does not decode or verify */
#define EXIT_INPUT 5   /* malformed input file (CAR) */
#define EXIT_ERROR 6   /* anything else: I/O error, store locked, missing store, ... */

#define DEFAULT_STORE "blocks.ffdb"

typedef struct cli {
    const char *store; /* --store FILE */
    int json;          /* --json */
    const struct cli_cmd *cmd;
} cli;

struct cli_cmd {
    const char *name;
    int (*run)(cli *c, int argc, char **argv);
    const char *synopsis; /* "put [--cid-codec C] < DATA" */
    const char *summary;  /* one line for --help */
    const char *help;     /* the rest of CMD --help */
};

extern const struct cli_cmd cmd_put, cmd_get, cmd_has, cmd_rm, cmd_ls, cmd_stat, cmd_check, cmd_add,
    cmd_cat, cmd_import, cmd_export, cmd_pin, cmd_unpin, cmd_pins, cmd_gc, cmd_commit, cmd_branch,
    cmd_checkout, cmd_head, cmd_log, cmd_diff, cmd_serve, cmd_tier, cmd_move;

/* "ffdb-blocks CMD: message" on stderr. */
void cli_msg(const cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report rc (what failed: a CID, a path) and return its exit status. */
int cli_fail(const cli *c, const char *what, int rc);
int cli_exit_code(int rc);

/* getopt_long over argv with the command's options plus --store, --json
 * and --help (handled here). Returns the next option of the command's own,
 * -1 at the end, or CLI_OPT_STOP with *status set (help printed: EXIT_OK; a
 * bad option: EXIT_USAGE). Positional arguments start at optind. */
#define CLI_OPT_STOP (-2)
int cli_getopt(cli *c, int argc, char **argv, const char *shortopts, const struct option *longopts,
               int *status);
/* The positional argument count must be in [min, max]; else a usage message. */
int cli_want_args(const cli *c, int have, int min, int max);
int cli_usage(const cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open the store. write: create it if missing; else it must exist (a
 * missing store is reported, EXIT_ERROR). Returns 0 or the exit status. */
int cli_open(const cli *c, int write, blocks **bs);
/* Close it; a failure to flush is reported. Returns status, or EXIT_ERROR. */
int cli_close(const cli *c, blocks *bs, int status);

/* Parse a CID argument (EXIT_BADCID and a message on failure, else 0). */
int cli_cid(const cli *c, const char *text, ipld_cid *cid);
/* The commands that take CID... (pin, unpin, move): at least one argument
 * from argv[first], every one a CID (checked before the store is opened),
 * then fn on each in order, with the store open for writing, until fn
 * returns a nonzero exit status; the store is closed and the status
 * returned. */
typedef int (*cli_cid_fn)(const cli *c, blocks *bs, const ipld_cid *cid, const char *arg,
                          void *ctx);
int cli_each_cid(const cli *c, int argc, char **argv, int first, cli_cid_fn fn, void *ctx);
/* Print a CID alone on its line (v0 base58btc, v1 base32). */
void cli_print_cid(const ipld_cid *cid);
/* The text form into buf (IPLD_CID_STR_MAX). */
const char *cli_cid_str(const ipld_cid *cid, char *buf);

/* Read a whole stream into a malloc'd buffer (0, or EXIT_ERROR with a message). */
int cli_read_all(const cli *c, FILE *f, uint8_t **data, size_t *len);
/* Parse "1024", "4k", "2M", "1G" (binary units) into *v; 0 or -1. */
int cli_size(const char *s, uint64_t *v);
/* Parse a non-negative integer; 0 or -1. */
int cli_u64(const char *s, uint64_t *v);

#endif /* FFDB_BLOCKS_TOOL_CLI_H */
