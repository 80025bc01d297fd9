/*
 * script.h — Lua 5.1 scripting as Redis 7.0 does it: one VM per server,
 * EVAL scripts cached by the SHA-1 of their body, FUNCTION libraries of
 * named functions (script_lua.c: the VM, the redis.* API, the type
 * conversions, running a script; cmd_script.c: FUNCTION and FCALL;
 * script_lua.c also has EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT).
 *
 * A script runs inside the command that started it, so in the batch's
 * txn: every redis.call is a command of that txn, the whole script is
 * atomic (nothing else runs meanwhile) and its writes commit, and become
 * durable, with the batch — one engine txn. Libraries are also persisted
 * in the file (bucket resp:functions, name -> code) and loaded again when
 * the VM is made; EVAL's cache is memory only, as in Redis.
 *
 * Not here (README): the busy-script time limit (a script runs to its
 * end; SCRIPT KILL and FUNCTION KILL answer NOTBUSY), cjson/cmsgpack/bit,
 * and the script debugger.
 */
#ifndef FFDB_REDIS_SCRIPT_H
#define FFDB_REDIS_SCRIPT_H

#include <stddef.h>

#include "modules/net/dict.h"
#include "modules/redis/cmd.h"

enum {
    SCRIPT_NO_WRITES = 1u << 0,
    SCRIPT_ALLOW_OOM = 1u << 1,
    SCRIPT_ALLOW_STALE = 1u << 2,
    SCRIPT_NO_CLUSTER = 1u << 3,
    SCRIPT_CROSS_SLOT = 1u << 4,
};

/* A script ended by the server's shutdown (SIGTERM, SIGINT) while it ran:
 * its command fails the batch, so nothing of it is written. */
#define SCRIPT_EKILLED (-31101)
/* Lua instructions between two looks at the shutdown flag (the count hook). */
#define SCRIPT_HOOK_COUNT 100000

typedef struct script_lib script_lib;

typedef struct script_func {
    char *name;
    char *desc; /* or NULL */
    int ref;    /* the callback, in the Lua registry */
    unsigned flags;
    script_lib *lib;
} script_func;

struct script_lib {
    char *name;
    char *code;
    size_t code_len;
    script_func **funcs;
    size_t nfuncs, cap;
};

typedef struct redis_lua {
    struct lua_State *L;
    net_dict scripts; /* sha1 hex -> registry ref + 1 (as a pointer) */
    script_lib **libs;
    size_t nlibs, libs_cap;
    net_dict funcs;      /* name -> script_func* */
    resp_ctx *cur;       /* the running script's command */
    int db;              /* the script's database (SELECT inside it) */
    int ro;              /* writes refused */
    int resp;            /* redis.setresp */
    int engine_rc;       /* an engine failure inside redis.call */
    script_lib *loading; /* FUNCTION LOAD: register_function adds here */
    int loaded;          /* the file's libraries are in */
} redis_lua;

/* The server's VM, made on first use (then the file's libraries are
 * loaded through c->st): 0, or an engine code. */
int script_vm(resp_ctx *c, redis_lua **out);
void script_vm_free(redis_lua *R);
/* Run the Lua function in registry ref for command c: numkeys at
 * argv[at], then keys, then args; as_function: passed as (KEYS, ARGV)
 * parameters, else as the globals KEYS and ARGV. One reply; 0 or an
 * engine code. */
int script_run(resp_ctx *c, redis_lua *R, int ref, int ro, int at, int as_function);
/* FUNCTION LOAD: compile and run code, whose register_function calls make
 * a library; replace lets it take the place of one of the same name.
 * 0 with *lib set, or 1 after an error reply. */
int script_lib_load(resp_ctx *c, redis_lua *R, const char *code, size_t n, int replace,
                    script_lib **lib);
/* The library named so, or NULL. */
script_lib *script_lib_find(redis_lua *R, const void *name, size_t n);
/* Remove lib from the registry (and the file when st != NULL; 0 or an engine code). */
int script_lib_remove(redis_lua *R, store_txn *st, script_lib *lib);
/* Save lib in the file: 0 or an engine code. */
int script_lib_save(store_txn *st, const script_lib *lib);

/* CLIENT PAUSE WRITE (pause.c): 1 if the EVAL, EVALSHA or FCALL of argv
 * declares no-writes (the cached script's or function's flags, or an EVAL
 * body's shebang line), so it runs during the pause, as in Redis 7.0. An
 * unknown sha or function counts as writing. */
int script_declares_no_writes(redis_server *s, int argc, const resp_arg *argv);

#endif /* FFDB_REDIS_SCRIPT_H */
