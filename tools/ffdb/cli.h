/*
 * cli.h — what the files of the ffdb tool share: exit codes, the command
 * table entry, opening files with the right message and exit code, argument
 * decoding, and the escaping used by scan, get and the dump format.
 *
 * Every command is a function run(argc, argv) with argv[0] the command name;
 * it returns the process exit status. Commands print results on stdout and
 * every message on stderr, prefixed "ffdb CMD:". The tool sees the engine
 * only through include/ffdb.h and engine/inspect.h.
 */
#ifndef FFDB_TOOL_CLI_H
#define FFDB_TOOL_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <getopt.h>
#include <stdio.h>

#include "ffdb.h"

/* Exit statuses; main.c's usage text and the README list them. */
#define EXIT_CLEAN 0    /* success (check: no problem found) */
#define EXIT_PROBLEMS 1 /* check (or compact's verification) found problems */
#define EXIT_USAGE 2    /* bad command line */
#define EXIT_MISSING 3  /* the file does not exist */
#define EXIT_NOTDB 4    /* not an ffdb file, or one of a newer format */
#define EXIT_CORRUPT 5  /* the file is damaged */
#define EXIT_NOBUCKET 6 /* bucket not found */
#define EXIT_NOKEY 7    /* key not found */
#define EXIT_INPUT 8    /* malformed input to load (or a key/value in it over the limits) */
#define EXIT_ERROR 9    /* anything else: I/O error, file locked, out of memory, ... */

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis; /* "info FILE [--json]" */
    const char *summary;  /* one line for ffdb --help */
    const char *help;     /* the rest of ffdb CMD --help */
};

/* The commands, defined beside their code. */
extern const struct cli_command cmd_info, cmd_check, cmd_buckets, cmd_stat, cmd_pages, cmd_page,
    cmd_get, cmd_put, cmd_del, cmd_scan, cmd_dump, cmd_load, cmd_compact;

/* ---- messages and exit codes (common.c) ---------------------------------------- */

/* "ffdb CMD: message" on stderr. */
void cli_msg(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The exit status for an engine return code met outside a lookup. */
int cli_exit_code(int rc);
/* Report rc from what (e.g. "get", a path) with ffdb_last_error()'s details
 * and return the matching exit status. */
int cli_fail(const char *cmd, const char *what, int rc);
/* Print "ffdb CMD: message" and a pointer to --help; returns EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The full help of a command on stdout; returns EXIT_CLEAN. */
int cli_help(const struct cli_command *cmd);
/* getopt_long over a command's argv (GNU: options may follow arguments;
 * "--" ends them). Returns the next option's value, -1 at the end, or
 * CLI_OPT_STOP after --help (*status = EXIT_CLEAN, help printed) or a bad
 * option (*status = EXIT_USAGE, message printed). shortopts must not start
 * with ':'; 'h' is added. Positional arguments start at optind. */
#define CLI_OPT_STOP (-2)
int cli_getopt(const struct cli_command *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts, int *status);
/* Check the count of positional arguments left after options. */
int cli_want_args(const struct cli_command *cmd, int have, int min, int max);

/* Open path. RDONLY opens never create or write. On failure the message is
 * printed and the exit status returned; 0 on success. */
int cli_open(const char *cmd, const char *path, unsigned flags, unsigned page_size, ffdb **db);
/* Open bucket name in txn; prints "bucket not found" (EXIT_NOBUCKET) etc. */
int cli_bucket(const char *cmd, ffdb_txn *txn, const void *name, size_t len, ffdb_bucket **b);

/* Every bucket name of txn, in key order. */
struct cli_names {
    size_t count;
    struct cli_name {
        char *data;
        size_t len;
    } * v;
};
/* Returns 0 or an exit status (message printed). */
int cli_list_buckets(const char *cmd, ffdb_txn *txn, struct cli_names *out);
void cli_names_free(struct cli_names *names);

/* "s" unless n is 1: "%llu bucket%s". */
static inline const char *cli_s(uint64_t n)
{
    return n == 1 ? "" : "s";
}

/* "10.3 MiB" into buf. */
const char *cli_bytes(uint64_t n, char buf[32]);

/* Strict parsing of numbers given as arguments; 0 or -1. */
int cli_parse_u64(const char *s, uint64_t *out);
int cli_parse_fill(const char *s, double *out);
int cli_parse_page_size(const char *s, unsigned *out);

/* Flush stdout; a failed write (full disk, closed pipe) becomes EXIT_ERROR. */
int cli_finish_stdout(const char *cmd, int status);

/* ---- escaping (escape.c) ------------------------------------------------------- */

/* Bytes as text: escaped (printable ASCII as is, \\ \t \n \r and \xHH for
 * the rest) or hex (two lowercase digits a byte). */
void esc_write(FILE *f, const void *data, size_t len, int hex);
/* The same into a malloc'd, NUL-terminated string; NULL if out of memory. */
char *esc_string(const void *data, size_t len, int hex);
/* Decode text[0..len) in place; *out_len receives the byte count. -1 on a
 * malformed escape or hex digit. */
int esc_decode(char *text, size_t len, int hex, size_t *out_len);
/* Decode a command-line argument into a malloc'd buffer (*out, *len).
 * Prints the error and returns EXIT_USAGE if it is malformed. */
int cli_arg_bytes(const struct cli_command *cmd, const char *what, const char *arg, int hex,
                  char **out, size_t *len);

#endif /* FFDB_TOOL_CLI_H */
