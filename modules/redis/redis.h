/*
 * server.h — the server and client structs of ffdb-server and the functions
 * the server's own parts share (server.c: the loop and the batch; conn.c:
 * sockets; config.c: options; multi.c, pubsub.c, cmd_server.c: the commands
 * that need the server's insides).
 *
 * Command families that only touch the keyspace (strings, hashes, ...) do not
 * include this header: cmd.h, store.h and reply.h are their whole world.
 *
 * Threading: everything here belongs to the one event-loop thread, except
 * redis_server_stop(), which a signal handler may call.
 */
#ifndef FFDB_REDIS_H
#define FFDB_REDIS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "ffdb.h"
#include "modules/redis/cmd.h"
#include "modules/net/dict.h"
#include "modules/net/ev.h"
#include "modules/resp/proto.h"
#include "modules/resp/reply.h"
#include "modules/redis/store.h"

/* ---- configuration (config.c) ------------------------------------------------------ */

enum { FSYNC_ALWAYS = 0, FSYNC_BATCH = 1, FSYNC_NEVER = 2 };

#define REDIS_MAX_BINDS 8
#define REDIS_DEFAULT_PORT 6380

typedef struct redis_config {
    char bind[REDIS_MAX_BINDS][64]; /* addresses to listen on */
    int bind_count;
    int port;              /* 0 = any free port (tests read it from the log) */
    char datafile[1024];   /* the ffdb file (Redis's dbfilename) */
    char dir[1024];        /* where a relative datafile lives ("" = cwd) */
    uint64_t buffer_pages; /* engine buffer pool frames (0 = engine default) */
    int fsync;             /* FSYNC_... */
    int fsync_batch_ms;    /* for FSYNC_BATCH */
    char requirepass[256]; /* "" = no AUTH needed */
    int maxclients;
    int timeout_s;                /* idle clients closed after this; 0 = never */
    resp_limits limits;           /* request limits (proto.h) */
    uint64_t outbuf_limit;        /* normal clients: hard output limit, bytes (0 = none) */
    uint64_t outbuf_limit_pubsub; /* subscribers */
    int hz;                       /* timer ticks per second (sweeper, timeouts) */
    int loglevel;                 /* 0 debug, 1 verbose, 2 notice, 3 warning */
    char logfile[1024];           /* "" = stderr */
    char pidfile[1024];
    int nodirect;           /* FFDB_NODIRECT: buffered I/O */
    int pipeline;           /* --fsync always with FFDB_NOMETASYNC: one sync serves two batches */
    char config_file[1024]; /* the file read at start, for CONFIG GET */
    net_dict ignored;       /* Redis parameters accepted and ignored: name -> value */
} redis_config;

void redis_config_init(redis_config *cfg);
void redis_config_free(redis_config *cfg);
/* Set one parameter by its Redis name from its text form (words joined by
 * spaces where a parameter takes several, like "save 900 1"). startup != 0
 * allows the parameters that cannot change while serving. 0, or -1 with a
 * message in err (Redis's wording where Redis has one). */
int redis_config_set(redis_config *cfg, const char *name, const char *value, int startup, char *err,
                     size_t errlen);
/* Read a Redis-style config file: "name value ...", # comments, quotes. */
int redis_config_load(redis_config *cfg, const char *path, char *err, size_t errlen);
/* CONFIG GET: every parameter matching any of the patterns, as a map. */
void redis_config_reply(redis_config *cfg, resp_reply *r, const resp_arg *patterns, int count);

/* ---- clients ------------------------------------------------------------------------ */

enum {
    CLI_CLOSE_ASAP = 1u << 0,   /* drop without sending what is pending */
    CLI_CLOSE_AFTER = 1u << 1,  /* close once the output is sent (QUIT, protocol error) */
    CLI_MULTI = 1u << 2,        /* between MULTI and EXEC */
    CLI_DIRTY_CAS = 1u << 3,    /* a watched key changed: EXEC fails */
    CLI_DIRTY_EXEC = 1u << 4,   /* a command was refused while queuing: EXECABORT */
    CLI_READY = 1u << 5,        /* on the ready list */
    CLI_FLUSH = 1u << 6,        /* on the flush list */
    CLI_IN_BATCH = 1u << 7,     /* ran a command in the current batch */
    CLI_WANT_WRITE = 1u << 8,   /* registered for EV_WRITE */
    CLI_NO_READ = 1u << 9,      /* reading paused (back-pressure) */
    CLI_BATCH_WROTE = 1u << 10, /* ran a write command in the current batch */
};

/* A command queued by MULTI: its own copy of the arguments. */
typedef struct redis_queued {
    const resp_command *cmd;
    int argc;
    resp_arg *argv; /* point into mem */
    char *mem;
} redis_queued;

typedef struct redis_watch {
    int db;
    size_t klen;
    char *key;
    int expired_at_watch; /* Redis: a key already expired is not "modified" by expiring */
} redis_watch;

struct redis_client {
    int kind; /* EVK_CLIENT (first field: the event data tag) */
    int fd;
    uint64_t id;
    char addr[64];  /* "ip:port" of the peer */
    char laddr[64]; /* our side */
    char *name;     /* CLIENT SETNAME, or NULL */
    int db;
    int authed;
    unsigned flags;   /* CLI_... */
    unsigned ev_mask; /* events registered with the backend */
    int64_t created_ms;
    int64_t last_ms; /* last time it sent anything */
    const char *last_cmd;

    /* input */
    char *in; /* received bytes; a request starts at in + in_start */
    size_t in_len, in_cap, in_start;
    resp_parser parser;
    resp_request req; /* spans of the request being parsed */
    resp_arg *argv;   /* arguments of the command being run */
    size_t argv_cap;

    /* output */
    net_buf out;
    resp_reply reply;    /* over out; proto 2 or 3 */
    size_t batch_mark;   /* out.len when its first command of the batch began */
    unsigned batch_cmds; /* commands it ran in the batch (each owes a reply) */
    unsigned held_cmds;  /* commands whose replies sit past out.hold */
    uint64_t held_txid;  /* the commit they wait for */

    /* MULTI / WATCH */
    redis_queued *queue;
    size_t queue_len, queue_cap;
    redis_watch *watched;
    size_t watched_len, watched_cap;

    /* pub/sub: what it is subscribed to (values unused) */
    net_dict chans;
    net_dict pats;

    uint64_t commands;                /* commands run */
    struct redis_client *prev, *next; /* all clients */
};

/* A vector of clients: the value of a watched key or a channel in the
 * server's dicts. */
typedef struct redis_cvec {
    redis_client **v;
    size_t n, cap;
} redis_cvec;

int cvec_add(redis_cvec *v, redis_client *c);  /* 0 or -1 (out of memory) */
void cvec_del(redis_cvec *v, redis_client *c); /* order not kept */

/* ---- the server ---------------------------------------------------------------------- */

#define REDIS_CURSOR_SLOTS 1024

typedef struct redis_cursor_slot {
    uint64_t id;
    size_t len;
    char *pos;
} redis_cursor_slot;

typedef struct redis_listener {
    int kind; /* EVK_LISTENER */
    int fd;
} redis_listener;

enum { EVK_LISTENER = 1, EVK_CLIENT = 2 };

typedef struct redis_stats {
    uint64_t connections; /* accepted */
    uint64_t rejected;    /* refused: maxclients */
    uint64_t commands;
    uint64_t net_in, net_out; /* bytes */
    uint64_t batches;         /* write batches committed */
    uint64_t batch_commands;  /* commands in those */
    uint64_t commits;
    uint64_t commit_failures;
    uint64_t commit_us; /* time spent in ffdb_commit */
    uint64_t syncs;     /* ffdb_sync calls: commits made durable without a next commit */
    uint64_t keyspace_hits, keyspace_misses;
    uint64_t dirty; /* key changes since the last commit */
    uint64_t dirty_total;
    uint64_t pubsub_messages;
    uint64_t proto_errors;
    uint64_t output_limit_kills;
    uint64_t timeouts;
    uint64_t ops_last, ops_sample_ms; /* for instantaneous_ops_per_sec */
    double ops_per_sec;
} redis_stats;

struct redis_server {
    redis_config cfg;
    ffdb *db;
    store *store;
    const ev_ops *ev;
    ev_backend *evb;
    redis_listener listeners[REDIS_MAX_BINDS * 2];
    int listener_count;
    int port; /* the port actually bound */

    redis_client *clients; /* all clients */
    uint64_t client_count;
    uint64_t next_client_id;
    redis_client **ready; /* have input to run */
    size_t ready_len, ready_cap;
    redis_client **flush; /* have output to send */
    size_t flush_len, flush_cap;
    redis_client **batch; /* ran commands in the current batch */
    size_t batch_len, batch_cap;

    /* the batch transaction */
    ffdb_txn *txn;
    store_txn *st;
    int txn_write;
    int64_t last_commit_ms; /* monotonic */
    int commit_requested;   /* SAVE, SHUTDOWN: commit at the end of this batch */
    int64_t lastsave_s;     /* Unix time of the last commit that wrote */
    int last_commit_rc;
    int64_t last_commit_us;    /* how long the last commit took */
    size_t last_batch_writers; /* clients that wrote in the last committed batch */

    /* Replies waiting for a sync (--fsync always: the engine runs with
     * FFDB_NOMETASYNC, and a commit's meta is durable only after the next
     * commit or ffdb_sync; see server.c) */
    int unsynced;        /* the last commit's meta is not known durable */
    int hold_failed;     /* a client could not be listed as waiting */
    uint64_t last_txid;  /* the last successful commit */
    size_t released;     /* clients whose replies this iteration's commit freed */
    redis_client **held; /* clients with out.hold set */
    size_t held_len, held_cap;

    net_dict watched; /* db|key -> redis_client** vector (see multi.c) */
    uint64_t watching_clients;
    net_dict channels; /* channel -> subscriber vector (pubsub.c) */
    net_dict patterns; /* pattern -> subscriber vector */

    redis_cursor_slot cursors[REDIS_CURSOR_SLOTS];
    uint64_t cursor_seq;

    redis_stats stats;
    int64_t start_ms; /* Unix ms */
    int64_t start_mono_ms;
    uint64_t rand_state;
    char run_id[41]; /* INFO: random hex, new at every start */
    uint64_t peak_memory;
    uint64_t errors_gone;              /* error replies of clients already closed */
    volatile sig_atomic_t stop_signal; /* SIGTERM/SIGINT seen */
    int shutdown;                      /* SHUTDOWN or a signal: finish and exit */
    int exit_code;
};

/* Open the data file, bind, and serve until SHUTDOWN or a signal; then commit,
 * close every client and the file. cfg is taken over (the server frees it).
 * Returns the process exit status. */
int redis_server_run(redis_config *cfg);
/* A pseudo-random number (RANDOMKEY, run_id); not for secrets. */
uint64_t redis_random(redis_server *s);
/* Ask the loop to shut down gracefully (async-signal-safe). */
void redis_server_stop(void);

/* Log at a level (stderr or the logfile), Redis-like lines. */
void redis_log(redis_server *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int64_t redis_now_ms(void);  /* Unix time */
int64_t redis_mono_ms(void); /* monotonic */

/* ---- used across the server's files --------------------------------------------------- */

/* conn.c */
int conn_listen(redis_server *s);
void conn_close_listeners(redis_server *s);
void conn_accept(redis_server *s, redis_listener *l);
void conn_read(redis_server *s, redis_client *c);
/* Send what is pending; returns -1 if the client went away (it is then
 * marked CLI_CLOSE_ASAP). */
int conn_write(redis_server *s, redis_client *c);
/* Forget that c waits for a sync (it is being freed). */
void server_unhold(redis_server *s, redis_client *c);
void conn_free(redis_server *s, redis_client *c);
void conn_update_events(redis_server *s, redis_client *c);
/* 1 if the client's pending output is over the back-pressure threshold. */
int conn_backpressured(const redis_client *c);

/* server.c */
void server_mark_flush(redis_server *s, redis_client *c);
void server_mark_ready(redis_server *s, redis_client *c);
/* Run one command (argv[0] is its name) for client c in the current batch:
 * lookup, arity, auth, MULTI queuing, the txn it needs. */
void server_run_command(redis_server *s, redis_client *c, int argc, const resp_arg *argv);
/* Execute an already-checked command inside the batch txn (EXEC uses it). */
int server_exec_command(redis_server *s, redis_client *c, const resp_command *cmd, int argc,
                        const resp_arg *argv);
/* Make sure the batch has a txn of the kind cmd needs. */
int server_need_txn(redis_server *s, int write);
/* The ID-ordered CLIENT LIST line of c into b. */
void server_client_info(redis_server *s, redis_client *c, net_buf *b);
/* The used memory as the allocator sees it (jemalloc when linked). */
uint64_t server_used_memory(void);
/* 1 if jemalloc is the allocator (INFO mem_allocator). */
int server_has_jemalloc(void);

/* multi.c */
void multi_touch_key(void *server, int db, const void *key, size_t klen);
void multi_touch_db(redis_server *s, int db); /* FLUSHDB: every watched key of db (-1: all) */
void multi_unwatch_all(redis_server *s, redis_client *c);
void multi_discard(redis_client *c);
int multi_queue(redis_server *s, redis_client *c, const resp_command *cmd, int argc,
                const resp_arg *argv);

/* pubsub.c */
void pubsub_unsubscribe_all(redis_server *s, redis_client *c);
size_t pubsub_count(const redis_client *c);
int pubsub_publish(redis_server *s, const resp_arg *channel, const resp_arg *message);

#endif /* FFDB_REDIS_H */
