/*
 * crdt.h — the CRDT mode's per-command merge semantics (issue 13 step 2):
 * which Redis write commands have a convergent meaning when every node
 * accepts writes and applies the op-log in its total order, and what that
 * meaning is. ffdb-server --crdt asks crdt_classify before appending a
 * command to the log and refuses, with crdt_reason's text, what has none.
 *
 * Who calls it: the CRDT layer over the redis write hook (node.c) and the
 * tests. It knows command names only: no store, no log.
 * Table and reasons: modules/crdt/README.md.
 */
#ifndef FFDB_CRDT_H
#define FFDB_CRDT_H

#include <stddef.h>

enum crdt_semantics {
    CRDT_REJECT = 0, /* no convergent meaning: refused with crdt_reason */
    CRDT_LWW_REG,    /* string key: last writer wins by the log's order */
    CRDT_LWW_MAP,    /* hash: each field a last-writer-wins register */
    CRDT_ORSET,      /* set: add-wins observed-remove set */
    CRDT_PNCOUNTER,  /* INCRBY family: per-writer increments summed */
    CRDT_KEY_REMOVE, /* DEL/UNLINK: removes what the writer had observed */
};

/* The semantics of a write command (name as sent, any case; len bytes); for
 * CRDT_REJECT *reason is a static sentence for the error reply (NULL
 * otherwise). A name the table lacks is refused: a write command gets a
 * meaning here before the CRDT mode accepts it. Reads are never passed in. */
int crdt_classify(const char *name, size_t len, const char **reason);

/* ---- The CRDT mode of ffdb-server (node.c) ---- */

typedef struct crdt crdt;
struct redis_config;

/* Install the CRDT hook and the OPLOG commands into cfg before
 * redis_server_run: the node's key is dir's ident (created on first start).
 * With nats_url (not NULL or ""), the log is replicated over that NATS
 * (modules/crdt/sync.c) in namespace ns (NULL or "": the default one).
 * 0, or a negative code with a message in err. */
int crdt_install(struct redis_config *cfg, const char *dir, const char *nats_url, const char *ns,
                 crdt **out, char *err, size_t err_len);
void crdt_free(crdt *n);

/* The name of the table's row i, NULL past the last (the tests walk it). */
const char *crdt_row_name(size_t i);

#endif
