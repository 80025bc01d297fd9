/*
 * main.c — the ffdb tool's entry point: the command table, `ffdb --help`,
 * `ffdb --version`, and dispatch to the command files.
 *
 * It owns the list of commands and the exit status table people read in
 * --help; each command's options and output belong to its own file
 * (info.c, check.c, pages.c, data.c, dump.c, compact.c). It never touches a
 * database itself.
 */
#include <stdio.h>
#include <string.h>

#include "tools/ffdb/cli.h"

static const struct cli_command *const commands[] = {
    &cmd_info, &cmd_check, &cmd_buckets, &cmd_stat, &cmd_pages, &cmd_page,    &cmd_get,
    &cmd_put,  &cmd_del,   &cmd_scan,    &cmd_dump, &cmd_load,  &cmd_compact,
};
#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static const char exit_codes[] =
    "Exit status:\n"
    "  0  success (check: the file is clean)\n"
    "  1  check found problems (also compact's check of its result)\n"
    "  2  bad command line (unknown command or option, missing or malformed argument)\n"
    "  3  the file does not exist\n"
    "  4  not an ffdb file, or written by a newer format version\n"
    "  5  the file is corrupt\n"
    "  6  bucket not found\n"
    "  7  key not found\n"
    "  8  malformed input to load (bad line, escape or count; a key or value too large)\n"
    "  9  any other error (I/O error, file locked by another process, out of memory)\n";

static void usage(FILE *f)
{
    fprintf(f, "usage: ffdb [--help | --version] COMMAND [ARGS...]\n\n"
               "Inspect, check and move data in and out of ffdb files.\n\nCommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f,
            "\nKeys, values and bucket names on the command line and in the output are\n"
            "escaped text (\\\\ \\t \\n \\r \\xHH for bytes that are not printable ASCII),\n"
            "or hex with --hex. Options may come anywhere; put -- before an argument\n"
            "that starts with '-'. Read-only commands never change the file.\n\n%s\n"
            "Run 'ffdb COMMAND --help' for a command's arguments and options.\n",
            exit_codes);
}

static const struct cli_command *find(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    const struct cli_command *cmd;

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc > 2 && (cmd = find(argv[2])) != NULL)
            return cli_help(cmd);
        usage(stdout);
        return cli_finish_stdout("help", EXIT_CLEAN);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ffdb %d.%d.%d\n", FFDB_VERSION_MAJOR, FFDB_VERSION_MINOR, FFDB_VERSION_PATCH);
        return cli_finish_stdout("version", EXIT_CLEAN);
    }
    cmd = find(argv[1]);
    if (!cmd) {
        fprintf(stderr, "ffdb: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return EXIT_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}
