/*
 * main.c — ffdb-blocks' entry point: the command table, --help, --version,
 * the common options given before the command, and dispatch.
 *
 * It owns the list of commands and the exit status table people read in
 * --help; each command's options and output belong to its own file
 * (cmd_block.c, ...). It never opens the store itself.
 */
#include <stdio.h>
#include <string.h>

#include "tools/ffdb-blocks/cli.h"

static const struct cli_cmd *const commands[] = {
    &cmd_put,   &cmd_get,  &cmd_has,  &cmd_rm,     &cmd_ls,     &cmd_stat,
    &cmd_check, &cmd_add,  &cmd_cat,  &cmd_import, &cmd_export, &cmd_pin,
    &cmd_unpin, &cmd_pins, &cmd_gc,   &cmd_commit, &cmd_branch, &cmd_checkout,
    &cmd_head,  &cmd_log,  &cmd_diff, &cmd_serve,  &cmd_tier,   &cmd_move,
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static const char exit_codes[] =
    "Exit status:\n"
    "  0  success\n"
    "  1  not there: has found no such block; get, cat, rm, ... found no such block or ref\n"
    "  2  bad command line\n"
    "  3  a malformed CID, or data that does not hash to the CID given\n"
    "  4  damaged data: check found problems, a stored block does not decode or verify\n"
    "  5  malformed input file (CAR)\n"
    "  6  any other error (I/O error, store locked by another process, no such store)\n";

static void usage(FILE *f)
{
    fprintf(f, "usage: ffdb-blocks [--store FILE] [--json] COMMAND [ARGS...]\n\n"
               "A content-addressed block store on ffdb, with the CIDs IPFS computes.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f,
            "\nThe store is --store FILE (default ./%s; the cold tier is FILE.cold).\n"
            "Results go to stdout, one CID alone on its line, or one JSON document\n"
            "with --json; messages go to stderr. Options may come anywhere.\n\n%s\n"
            "Run 'ffdb-blocks COMMAND --help' for a command's arguments and options.\n",
            DEFAULT_STORE, exit_codes);
}

int main(int argc, char **argv)
{
    cli c = {.store = DEFAULT_STORE};
    int i = 1;
    /* Common options before the command; the command parses the rest. */
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            c.json = 1;
        } else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) {
            c.store = argv[++i];
        } else if (strncmp(argv[i], "--store=", 8) == 0) {
            c.store = argv[i] + 8;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("ffdb-blocks %d.%d.%d\n", FFDB_VERSION_MAJOR, FFDB_VERSION_MINOR,
                   FFDB_VERSION_PATCH);
            return EXIT_OK;
        } else {
            fprintf(stderr, "ffdb-blocks: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (i == argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (size_t k = 0; k < COMMAND_COUNT; k++)
        if (strcmp(commands[k]->name, argv[i]) == 0) {
            c.cmd = commands[k];
            return c.cmd->run(&c, argc - i, argv + i);
        }
    fprintf(stderr, "ffdb-blocks: unknown command '%s' (ffdb-blocks --help lists them)\n", argv[i]);
    return EXIT_USAGE;
}
