/*
 * redis.h — the server and client structs of ffdb-server and the functions
 * the server's own parts share (server.c: the protocol hooks, the command
 * path, the timers; config.c: parameters; multi.c, pubsub.c, cmd_server.c:
 * the commands that need the server's insides).
 *
 * The server is a policy over modules/net: one net_loop, one net_service
 * (listeners and connections; each connection's udata is its
 * redis_client), one net_batch (the group commit on the data file), and
 * the config tables registered with one net_config. What is Redis's is
 * here: the command path, MULTI/WATCH, pub/sub, the sweeper, INFO.
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
#include "modules/net/batch.h"
#include "modules/net/config.h"
#include "modules/net/conn.h"
#include "modules/net/dict.h"
#include "modules/net/log.h"
#include "modules/net/loop.h"
#include "modules/redis/cmd.h"
#include "modules/redis/store.h"
#include "modules/resp/proto.h"
#include "modules/resp/reply.h"

/* ---- the write hook (replication, op logs) ------------------------------------------ */

/* One command of a unit: its arguments, argv[0] the name. */
typedef struct redis_cmdv {
    int argc;
    const resp_arg *argv;
} redis_cmdv;

/* A unit of commands that must happen together: one write command, one
 * MULTI/EXEC (multi = 1: the commands run back to back and answer as one
 * EXEC array), or the sweeper's expiry of some keys. Everything that makes
 * its effect is in it: the database and the clock every expiry decision
 * uses, so applying the same units in the same order on any node gives the
 * same keyspace. The pointers are valid only during the call that hands the
 * unit over: a hook keeps its own copy. */
typedef struct redis_unit {
    uint64_t id; /* the proposal's id on this server; 0 = nobody here waits */
    int db;
    int64_t now_ms;
    int multi;
    int ncmds;
    const redis_cmdv *cmds;
    int readonly; /* read gate: the client said READONLY (stale local reads allowed) */
} redis_unit;

/* The replies a unit owes its client: one per command, one for an EXEC. A
 * unit of several commands with multi = 0 is a client's run of pipelined
 * writes (redis_config.hook_runs): each command answers on its own, in
 * order, and the run is applied whole or not at all. */
static inline int redis_unit_replies(const redis_unit *u)
{
    return u->multi ? 1 : u->ncmds;
}

enum {
    REDIS_HOOK_RUN = 0,     /* read gate: run the command here now */
    REDIS_HOOK_TAKEN = 1,   /* the hook has it: the client waits (apply / release) */
    REDIS_HOOK_REPLIED = 2, /* refused: the hook wrote one reply to r (-MOVED, -READONLY) */
};

/* Whoever owns the keyspace's changes (RAFT replication, a CRDT op log)
 * installs one hook (redis_config.hook) before redis_server_run. With a
 * hook, no write command touches the store where it arrives: every command
 * flagged RESP_CMD_WRITE, every EXEC whose queue holds one, and the expiry
 * of keys whose time passed (the sweeper proposes FFDB-EXPIRED, a DEL that
 * deletes only what is still expired by the unit's clock) is handed to
 * propose(), and its client waits, running nothing else, until the owner
 * applies the unit (redis_server_apply with the unit's id). Without a hook
 * nothing of this runs. Every callback runs on the loop thread. */
typedef struct redis_hook {
    /* At start, after the listeners are bound (the owner adds its timers,
     * watches and services to s->loop), and before the file closes. NULL:
     * nothing to do. */
    void (*attach)(void *arg, redis_server *s);
    void (*detach)(void *arg, redis_server *s);
    /* A write unit. REDIS_HOOK_TAKEN (the owner copies it and applies it
     * later, here and elsewhere) or REDIS_HOOK_REPLIED (refused: one reply
     * written to r; r is NULL for the sweeper's units, which have no
     * client). Required. */
    int (*propose)(void *arg, const redis_unit *u, resp_reply *r);
    /* A read command, or an EXEC that only reads: REDIS_HOOK_RUN,
     * REDIS_HOOK_REPLIED (a redirect or a refusal in r), or REDIS_HOOK_TAKEN:
     * the client waits until redis_server_release(s, u->id), then the
     * command runs here (e.g. once a read index is applied). NULL: every
     * read runs. */
    int (*read_gate)(void *arg, const redis_unit *u, resp_reply *r);
    /* Commands the owner serves itself (CLUSTER, READONLY, READWRITE), asked
     * before the command table for an authenticated client outside MULTI:
     * 1 if it wrote the one reply to r, 0 to go on as usual. NULL: none. */
    int (*command)(void *arg, redis_client *c, int argc, const resp_arg *argv, resp_reply *r);
    /* INFO's Replication section: its lines into b (without the header).
     * NULL: "role:master". */
    void (*info)(void *arg, net_buf *b);
} redis_hook;

/* Something the embedding program plugs in beside the write hook (the NATS
 * pub/sub bridge, signed records): it lives on the server's loop, may serve
 * commands of its own and an INFO section, and has no say over writes. Up to
 * REDIS_MAX_EXTENSIONS, added with redis_config_add_extension before
 * redis_server_run, attached in the order added (after the hook), detached
 * in reverse. Every callback may be NULL; all run on the loop thread. */
typedef struct redis_extension {
    const char *name; /* its INFO section ("INFO name" asks for it alone) */
    /* After the listeners are bound (add timers, watches, services to
     * s->loop). 0, or -1 with a message in err: the server does not start. */
    int (*attach)(void *arg, redis_server *s, char *err, size_t errlen);
    void (*detach)(void *arg, redis_server *s);
    /* Asked after the hook's command, for an authenticated client outside
     * MULTI: 1 if it wrote the one reply to r, 0 to go on as usual. */
    int (*command)(void *arg, redis_client *c, int argc, const resp_arg *argv, resp_reply *r);
    /* Its INFO section's lines into b (without the header). */
    void (*info)(void *arg, net_buf *b);
} redis_extension;

#define REDIS_MAX_EXTENSIONS 4

/* Apply units in order, through the same command path as a single node,
 * inside the batch's write txn (one txn for all of them, committed as any
 * batch: replies held until durable). A unit whose id is a client's
 * waiting proposal answers that client, which then goes on with its next
 * commands; any other unit's replies are discarded. 0, or the engine's code
 * (the batch failed: every waiting client of it got an error). */
int redis_server_apply(redis_server *s, const redis_unit *units, size_t n);
/* The read that read_gate took as u->id may run now. 0, or FFDB_NOTFOUND if
 * no client waits for it (it closed). */
int redis_server_release(redis_server *s, uint64_t id);
/* Answer the waiting proposal id with an error instead (the owner lost it:
 * leadership changed, the log was truncated). 0 or FFDB_NOTFOUND. */
int redis_server_drop(redis_server *s, uint64_t id, const char *error);
/* Replace the data file under the running server (a RAFT snapshot fetched
 * from a peer): the open batch is committed, the store and the file are
 * closed, replace(arg) runs (it renames the new file into place), and the
 * file is opened again. Clients stay connected (WATCHes fail). 0, or the
 * code of replace or of the reopen (then the server has no file: it must
 * stop). Not inside a round. */
int redis_server_replace_data(redis_server *s, int (*replace)(void *arg), void *arg);
/* Run fn(arg, txn) in the current batch's txn (begun if none is open; write:
 * one that can write), for what an extension keeps in its own buckets (the
 * signed records of a PTR.SET, or received from NATS): fn's writes commit
 * with the batch, as a command's do, and a client whose command called this
 * gets its reply when they are durable. Outside a round the batch ends here
 * (committed, or kept open under batch-ms). fn must not commit or abort
 * txn. A non-zero return of fn (an engine code) fails the batch, when it
 * writes: every command of it answers with an error; it is returned. */
int redis_server_in_txn(redis_server *s, int write, int (*fn)(void *arg, ffdb_txn *txn),
                        void *arg);

/* ---- pub/sub subscribers (pubsub.c) -------------------------------------------------- */

/* Whatever receives messages from the registry: a client connection (its
 * push frames), or a bridge (NATS, another node's link). The registry keeps
 * pointers to it: unsubscribe it from everything before it goes. */
typedef struct redis_subscriber redis_subscriber;
typedef struct redis_subscriber_ops {
    /* One message: pattern is the pattern it matched (NULL for a channel
     * subscription). Returns how many receivers it stands for (a client: 1;
     * a bridge: what it knows of elsewhere, or 0); PUBLISH answers the sum.
     * It must not subscribe or unsubscribe anyone while delivering. */
    int64_t (*message)(redis_subscriber *sub, const resp_arg *pattern, const resp_arg *channel,
                       const resp_arg *message);
} redis_subscriber_ops;

struct redis_subscriber {
    const redis_subscriber_ops *ops;
    void *arg;      /* the owner's (a client: its redis_client) */
    net_dict chans; /* what it is subscribed to (values unused) */
    net_dict pats;
};

void redis_subscriber_init(redis_subscriber *sub, const redis_subscriber_ops *ops, void *arg);
/* Subscribe sub to a channel (pattern = 0) or a glob pattern (1): 1 if new,
 * 0 if it already was, FFDB_ENOMEM. */
int redis_subscribe(redis_server *s, redis_subscriber *sub, int pattern, const void *name,
                    size_t n);
/* 1 if it was subscribed, 0 if not. */
int redis_unsubscribe(redis_server *s, redis_subscriber *sub, int pattern, const void *name,
                      size_t n);
/* Leave every channel and pattern (the dicts are freed; init again to reuse). */
void redis_unsubscribe_all(redis_server *s, redis_subscriber *sub);

/* Sees every PUBLISH made here (a bridge forwards it); returns the
 * receivers it knows of elsewhere, added to PUBLISH's answer. One observer
 * per server; NULL fn removes it. */
typedef int64_t (*redis_publish_fn)(void *arg, const resp_arg *channel, const resp_arg *message);
void redis_publish_observe(redis_server *s, redis_publish_fn fn, void *arg);
/* Deliver a message to this server's subscribers. from: the subscriber it
 * came through (a bridge injecting a remote message), which is skipped, and
 * the observer is not told (no echo); NULL: a local PUBLISH, the observer
 * is told. Returns the receivers (subscribers' counts plus the observer's). */
int64_t redis_publish(redis_server *s, redis_subscriber *from, const resp_arg *channel,
                      const resp_arg *message);

/* ---- configuration (config.c) ------------------------------------------------------ */

#define REDIS_DEFAULT_PORT 6380

typedef struct redis_config {
    net_config reg;               /* every table below, for flags, file, CONFIG GET/SET */
    net_service_config svc;       /* bind, port, maxclients, timeout, the normal output limit */
    net_logger log;               /* loglevel, logfile */
    net_batch_config batch;       /* fsync, pipelined commits */
    char datafile[1024];          /* the ffdb file (Redis's dbfilename) */
    char dir[1024];               /* where a relative datafile lives ("" = cwd) */
    uint64_t buffer_pages;        /* engine buffer pool frames (0 = engine default) */
    char requirepass[256];        /* "" = no AUTH needed */
    resp_limits limits;           /* request limits (proto.h) */
    uint64_t outbuf_limit_pubsub; /* subscribers' output limit */
    int hz;                       /* timer ticks per second (sweeper) */
    char pidfile[1024];
    int direct_io;          /* 0: FFDB_NODIRECT, buffered I/O */
    int databases;          /* always STORE_DBS; a parameter so config files that set it load */
    int tracking_max_keys;  /* tracking-table-max-keys (tracking.h T1; 0 = no limit) */
    const redis_hook *hook; /* not a parameter: set by the program embedding the server */
    void *hook_arg;
    /* Not a parameter: the hook takes a client's run of pipelined write
     * commands (those already received behind the first, up to the first
     * command that is not a write) as ONE unit, multi = 0, so they are
     * proposed together; it must then answer a refusal with
     * redis_unit_replies(u) replies. 0: one unit per write command. */
    int hook_runs;
    /* Not a parameter: engine flags the hook ORs into the data file's open
     * flags (cluster mode: FFDB_DEFERSYNC, the RAFT log is the durability
     * point). 0 for none. */
    unsigned hook_open_flags;
    struct redis_extension_slot {
        const redis_extension *ops;
        void *arg;
    } ext[REDIS_MAX_EXTENSIONS]; /* not parameters: redis_config_add_extension */
    int next;
} redis_config;

/* Redis 7.0's remaining standard parameters, no effect (config_redis7.c). */
extern const net_param redis_config_redis7[];

/* Every parameter at its default (an invalid table is a programming error:
 * it aborts). Set parameters with net_config_set(&cfg->reg, ...) and
 * net_config_load(&cfg->reg, ...). */
void redis_config_init(redis_config *cfg);
void redis_config_free(redis_config *cfg);
/* Plug an extension in (see redis_extension). 0, or FFDB_EINVAL when all
 * REDIS_MAX_EXTENSIONS slots are taken. */
int redis_config_add_extension(redis_config *cfg, const redis_extension *ops, void *arg);
/* CONFIG GET: every parameter matching any of the patterns, as a map. */
void redis_config_reply(redis_config *cfg, resp_reply *r, const resp_arg *patterns, int count);

/* ---- clients ------------------------------------------------------------------------ */

enum {
    CLI_MULTI = 1u << 0,      /* between MULTI and EXEC */
    CLI_DIRTY_CAS = 1u << 1,  /* a watched key changed: EXEC fails */
    CLI_DIRTY_EXEC = 1u << 2, /* a command was refused while queuing: EXECABORT */
    CLI_READY = 1u << 3,      /* on the ready list */
    CLI_HELD = 1u << 4,       /* waits for the hook (held_id): runs nothing */
    CLI_GATE_PASS = 1u << 5,  /* the released read runs without asking the gate again */
    CLI_REPLY_OFF = 1u << 6,  /* CLIENT REPLY OFF: replies dropped */
    CLI_REPLY_SKIP = 1u << 7, /* this command's reply is dropped (CLIENT REPLY SKIP) */
    CLI_REPLY_SKIP_NEXT = 1u << 8, /* ...and the next one's */
    CLI_READONLY = 1u << 9,   /* READONLY (cluster): stale local reads allowed (the hook's) */
    CLI_PAUSED = 1u << 10,    /* postponed by CLIENT PAUSE (pause.h, P1) */
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
    net_conn *conn; /* the connection (id, addresses, buffers, ages) */
    char *name;     /* CLIENT SETNAME, or NULL */
    int db;
    int authed;
    unsigned flags; /* CLI_... */
    const char *last_cmd;

    /* input: requests parsed from conn->in */
    resp_parser parser;
    resp_request req; /* spans of the request being parsed */
    resp_arg *argv;   /* arguments of the command being run */
    size_t argv_cap;

    resp_reply reply; /* over conn->out; proto 2 or 3 */

    /* MULTI / WATCH */
    redis_queued *queue;
    size_t queue_len, queue_cap;
    redis_watch *watched;
    size_t watched_len, watched_cap;

    redis_subscriber sub; /* pub/sub: its push frames (pubsub.c) */

    uint64_t commands; /* commands run */
    uint64_t held_id;  /* CLI_HELD: the unit it waits for */
    int held_replies;  /* CLI_HELD: the replies that unit owes (redis_unit_replies) */
    struct redis_blocked *blocked; /* waits on keys (block.h), or NULL */
    int is_feed, feed_db;          /* 1: SYNC's write feed, 2: MONITOR (repl_feed.c) */
    struct redis_tracking_client *tracking; /* CLIENT TRACKING (tracking.h), or NULL: off */
};

/* A vector of clients: the value of a watched key or a channel in the
 * server's dicts. */
typedef struct redis_cvec {
    redis_client **v;
    size_t n, cap;
} redis_cvec;

int cvec_add(redis_cvec *v, redis_client *c);  /* 0 or -1 (out of memory) */
void cvec_del(redis_cvec *v, redis_client *c); /* order not kept */

/* The client of a connection of the server's service. */
static inline redis_client *redis_client_of(net_conn *c)
{
    return c->udata;
}

/* ---- the server ---------------------------------------------------------------------- */

#define REDIS_CURSOR_SLOTS 1024

typedef struct redis_cursor_slot {
    uint64_t id;
    size_t len;
    char *pos;
} redis_cursor_slot;

/* What Redis counts and net does not (connections and bytes: svc.stats;
 * commits and syncs: batch.stats). */
typedef struct redis_stats {
    uint64_t commands;
    uint64_t dirty; /* key changes since the last commit */
    uint64_t dirty_total;
    uint64_t pubsub_messages;
    uint64_t proto_errors;
    uint64_t ops_last, ops_sample_ms; /* for instantaneous_ops_per_sec */
    double ops_per_sec;
} redis_stats;

struct redis_server {
    redis_config *cfg;
    ffdb *db;
    store *store;
    net_loop *loop;
    net_service svc;
    net_batch batch;
    store_txn *st; /* the store's view of batch.txn, or NULL */

    redis_client **ready; /* have input to run */
    size_t ready_len, ready_cap;

    const redis_hook *hook; /* cfg->hook, or NULL */
    int attached;           /* extensions attached (cfg->ext[0..attached)) */
    void *hook_arg;
    redis_cvec held;    /* clients waiting for the hook */
    uint64_t unit_seq;  /* the last proposal id */
    redis_client *sink; /* runs remote units: its replies are discarded */
    int in_round;       /* inside on_events: apply joins the open batch */

    int64_t lastsave_s; /* Unix time of the last commit that wrote */
    net_timer *sweeper;
    net_timer *second;

    net_dict watched; /* db|key -> redis_client** vector (see multi.c) */
    uint64_t watching_clients;
    net_dict channels; /* channel -> redis_subscriber* vector (pubsub.c) */
    net_dict patterns; /* pattern -> redis_subscriber* vector */
    redis_publish_fn pub_observer;
    void *pub_observer_arg;
    /* 1 while redis_server_apply runs a unit that no client of this process
     * proposed (id 0: another node's RAFT entry, a CRDT fold or refold). With
     * an observer (a bridge carrying pub/sub between nodes) a PUBLISH in it
     * is neither delivered nor observed here: the proposer's node delivered
     * it and its bridge carried it to every node, so each subscriber gets
     * it once (pubsub.c). */
    int replaying;

    redis_cursor_slot cursors[REDIS_CURSOR_SLOTS];
    uint64_t cursor_seq;

    struct redis_blocking *blocking; /* clients blocked on keys (block.c) */
    struct redis_lua *lua;           /* the Lua VM, made on first use (script.h) */
    struct redis_tracking *tracking; /* CLIENT TRACKING's tables (tracking.h), or NULL */
    int exec_depth;                  /* exec_at calls running (EXEC nests them) */
    redis_cvec feeds;                /* SYNC connections (repl_feed.c) */
    redis_cvec monitors;             /* MONITOR connections (repl_feed.c) */
    int pause_type;                  /* CLIENT PAUSE (pause.h): PAUSE_NONE, _WRITE, _ALL */
    int64_t pause_end_ms;            /* monotonic */
    redis_cvec paused;               /* postponed clients, in order */
    net_timer *pause_timer;

    redis_stats stats;
    int64_t start_ms; /* Unix ms */
    /* Added to the wall clock (redis_now_ms): FFDB_TEST_CLOCK_SKEW_MS, read
     * once at start, for the cluster's skewed-clock test only; 0 otherwise. */
    int64_t clock_skew_ms;
    int64_t start_mono_ms;
    uint64_t rand_state;
    char run_id[41]; /* INFO: random hex, new at every start */
    uint64_t peak_memory;
    uint64_t errors_gone; /* error replies of clients already closed */
    int shutdown;         /* SHUTDOWN or a signal: finish and exit */
    int exit_code;
};

/* Open the data file, bind, and serve until SHUTDOWN or a signal; then commit,
 * close every client and the file. cfg stays the caller's (the server reads
 * it, CONFIG SET changes it). Returns the process exit status. */
int redis_server_run(redis_config *cfg);
/* A pseudo-random number (RANDOMKEY, run_id); not for secrets. */
uint64_t redis_random(redis_server *s);
/* Ask the loop to shut down gracefully (async-signal-safe). */
void redis_server_stop(void);
/* 1 once redis_server_stop() was called (a running script looks at it). */
int redis_server_stopping(void);

/* The server's log (net/log.h), at NET_LOG_... levels. */
#define redis_log(s, level, ...) net_log(&(s)->cfg->log, (level), __VA_ARGS__)

/* The loop's clock: Unix time, monotonic. */
int64_t redis_now_ms(const redis_server *s);
int64_t redis_mono_ms(const redis_server *s);

/* ---- used across the server's files --------------------------------------------------- */

/* server.c */
/* Run one command (argv[0] is its name) for client c in the current batch:
 * lookup, arity, auth, MULTI queuing, the hook, the txn it needs. Returns 1
 * if the request must stay unconsumed (a read the gate made wait), else 0. */
int server_run_command(redis_server *s, redis_client *c, int argc, const resp_arg *argv);
/* Execute an already-checked command inside the batch txn (EXEC uses it). */
int server_exec_command(redis_server *s, redis_client *c, const resp_command *cmd, int argc,
                        const resp_arg *argv);
/* With a hook: hand unit u of client c (its reply: c->reply) to the hook.
 * 1 if c now waits, 0 if the hook replied. */
int server_propose(redis_server *s, redis_client *c, redis_unit *u);
/* Make sure the batch has a txn of the kind cmd needs. */
int server_need_txn(redis_server *s, int write);
/* c has requests to run now (it was held or blocked). */
void server_client_ready(redis_server *s, redis_client *c);
/* The output limit a client has now (Redis's classes: normal, pubsub). */
void server_apply_limits(redis_server *s, redis_client *c);
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
/* An applied EXEC unit's watch check (multi.c): 0 if it does not lead with
 * "@watch", 1 if the watched keys hold what they held at EXEC (run the rest),
 * 2 if one changed (the EXEC answers a null array), or an engine error. */
int multi_watch_check(redis_server *s, const redis_unit *u);
int multi_queue(redis_server *s, redis_client *c, const resp_command *cmd, int argc,
                const resp_arg *argv);

/* repl_feed.c */
/* A write command changed the keyspace: to every SYNC connection. */
void feed_propagate(redis_server *s, int db, int argc, const resp_arg *argv);
void feed_client_gone(redis_server *s, redis_client *c);
/* A command about to run: to every MONITOR connection. */
void feed_monitor(redis_server *s, int db, const char *addr, int argc, const resp_arg *argv);

/* cmd_info.c */
/* The positions in a (n words, a[0] the name) of cmd's keys, as COMMAND
 * GETKEYS lists them, from the from-th on: up to cap into pos; how many
 * (0: none, or a line of the wrong arity). */
int redis_command_key_positions(const resp_command *cmd, int n, const resp_arg *a, int from,
                                int *pos, int cap);

/* pubsub.c */
/* A client's subscriber (its connection's push frames), at accept and RESET. */
void pubsub_client_init(redis_client *c);
void pubsub_unsubscribe_all(redis_server *s, redis_client *c);
size_t pubsub_count(const redis_client *c);
/* A local PUBLISH (redis_publish with from = NULL). */
int64_t pubsub_publish(redis_server *s, const resp_arg *channel, const resp_arg *message);

#endif /* FFDB_REDIS_H */
