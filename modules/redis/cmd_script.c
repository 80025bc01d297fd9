/*
 * cmd_script.c — scripting: the FUNCTION container (and, later, EVAL,
 * EVALSHA, SCRIPT, FCALL on Lua 5.1).
 *
 * No function library can be loaded yet, so the registry of libraries is
 * always empty: FUNCTION FLUSH has nothing to remove and answers OK (Redis's
 * test framework calls it before every test file), FUNCTION LIST answers an
 * empty array, FUNCTION STATS reports no running script and no engine
 * libraries. Every other subcommand is refused as unknown, never faked.
 */
#include "modules/redis/cmd.h"

/* FUNCTION FLUSH [ASYNC|SYNC] | LIST [LIBRARYNAME p] [WITHCODE] | STATS | HELP */
static int function_cmd(resp_ctx *c)
{
    const resp_arg *sub = &c->argv[1];

    if (resp_arg_is(sub, "flush") && c->argc <= 3) {
        if (c->argc == 3 && !resp_arg_is(&c->argv[2], "async") && !resp_arg_is(&c->argv[2], "sync"))
            return resp_err_syntax(c->r);
        reply_ok(c->r);
    } else if (resp_arg_is(sub, "list")) {
        for (int i = 2; i < c->argc; i++) {
            if (resp_arg_is(&c->argv[i], "withcode"))
                continue;
            if (resp_arg_is(&c->argv[i], "libraryname") && i + 1 < c->argc) {
                i++;
                continue;
            }
            reply_errorf(c->r, "ERR Unknown argument %.*s", (int)c->argv[i].n, c->argv[i].p);
            return 0;
        }
        reply_array(c->r, 0);
    } else if (resp_arg_is(sub, "stats") && c->argc == 2) {
        reply_map(c->r, 2);
        reply_bulk_cstr(c->r, "running_script");
        reply_null(c->r);
        reply_bulk_cstr(c->r, "engines");
        reply_map(c->r, 0);
    } else if (resp_arg_is(sub, "help") && c->argc == 2) {
        static const char *const lines[] = {
            "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries (none can be loaded yet).",
            "LIST [LIBRARYNAME <pattern>] [WITHCODE]",
            "    Return the libraries (none yet).",
            "STATS",
            "    Return the running script (none) and the engines.",
            "HELP",
            "    Print this help.",
        };
        reply_array(c->r, sizeof(lines) / sizeof(lines[0]));
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
            reply_simple(c->r, lines[i]);
    } else {
        static const char *const known[] = {"flush", "list", "stats", "help", NULL};
        return resp_err_subcommand(c->r, c->cmd, sub, known);
    }
    return 0;
}

const resp_command redis_cmds_script[] = {
    {"function", function_cmd, -2, RESP_CMD_NOSCRIPT, 0, 0, 0, "scripting",
     "A container for function commands"},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
