/*
 * fsm.c — the state machine: the ffdb file is the state. apply runs one
 * entry in one engine write txn together with the applied index (R1) and
 * skips what the file already has (R2); snapshot hands libraft only the
 * metadata of a durable state (R3); restore fetches a file from a peer and
 * swaps it in by rename (R4). Called by libraft from the loop's thread.
 * Must never serialise the data set into memory.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "modules/raft/le.h"
#include "modules/raft/raft.h"

struct rf_fsm {
    struct raft_fsm fsm; /* .data = this */
    struct raft *raft;
    char *path;
    ffdb_options opt;
    int has_opt;
    ffdb *db;
    uint64_t node_id;
    uint64_t applied_index, applied_term;
    int failed;
    int borrowed; /* rf_fsm_new_on: the owner's file and txns */
    rf_fsm_ops ops;
};

/* The applied index and term recorded in db (0, 0 for a fresh file). */
static int read_applied(ffdb *db, uint64_t *index, uint64_t *term)
{
    ffdb_txn *txn;
    ffdb_bucket *b;
    ffdb_val v;
    int rc = ffdb_begin_read(db, &txn);
    if (rc)
        return rc;
    *index = *term = 0;
    rc = ffdb_bucket_open(txn, RF_META_BUCKET, strlen(RF_META_BUCKET), &b);
    if (rc == 0)
        rc = ffdb_get(b, RF_META_APPLIED, strlen(RF_META_APPLIED), &v);
    if (rc == 0) {
        if (v.size != 16) {
            rc = FFDB_CORRUPT;
        } else {
            *index = get_u64(v.data);
            *term = get_u64((const uint8_t *)v.data + 8);
        }
    } else if (rc == FFDB_NOTFOUND) {
        rc = 0;
    }
    ffdb_abort(txn);
    return rc;
}

int rf_fsm_write_applied(ffdb_txn *txn, uint64_t index, uint64_t term)
{
    ffdb_bucket *b;
    uint8_t v[16];
    int rc = ffdb_bucket_open(txn, RF_META_BUCKET, strlen(RF_META_BUCKET), &b);
    if (rc == FFDB_NOTFOUND)
        rc = ffdb_bucket_create(txn, RF_META_BUCKET, strlen(RF_META_BUCKET), &b);
    if (rc)
        return rc;
    put_u64(v, index);
    put_u64(v + 8, term);
    return ffdb_put(b, RF_META_APPLIED, strlen(RF_META_APPLIED), v, sizeof v);
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    rf_fsm *m = fsm->data;
    rf_entry_iter it;
    ffdb_txn *txn;
    assert(m->raft);
    uint64_t index = raft_last_applied(m->raft) + 1;
    *result = NULL;
    if (m->failed)
        return m->failed;
    if (index <= m->applied_index)
        return 0; /* R2 */
    int bad = rf_entry_open(&it, buf->base, buf->len);
    if (m->borrowed) {
        uint64_t term = bad ? m->applied_term : it.term;
        int rc = m->ops.apply(m->ops.arg, NULL, bad ? NULL : &it, index, result);
        if (!bad)
            rf_entry_close(&it);
        if (rc) {
            m->failed = rc;
            return rc;
        }
        m->applied_index = index;
        m->applied_term = term;
        return 0;
    }
    int rc = ffdb_begin_write(m->db, &txn);
    if (rc)
        goto fail;
    /* A malformed entry (a proposer's bug) changes nothing but is applied:
     * every node skips it the same way. */
    if (!bad)
        rc = m->ops.apply(m->ops.arg, txn, &it, index, result);
    uint64_t term = bad ? m->applied_term : it.term;
    if (rc == 0)
        rc = rf_fsm_write_applied(txn, index, term);
    if (rc) {
        ffdb_abort(txn);
        goto fail;
    }
    rc = ffdb_commit(txn);
    if (rc)
        goto fail;
    rf_entry_close(&it);
    assert(index > m->applied_index);
    m->applied_index = index;
    m->applied_term = term;
    return 0;
fail:
    rf_entry_close(&it);
    m->failed = rc;
    return rc;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    rf_fsm *m = fsm->data;
    ffdb_txn *txn;
    rf_snap_meta meta = {m->applied_index, m->applied_term, 0, m->node_id};
    if (m->failed)
        return RAFT_IOERR;
    int rc = m->ops.flush ? m->ops.flush(m->ops.arg) : 0;
    if (rc == 0)
        rc = ffdb_sync(m->db); /* R3 */
    if (rc == 0)
        rc = ffdb_begin_read(m->db, &txn);
    if (rc)
        return RAFT_IOERR;
    meta.txid = ffdb_txn_id(txn);
    ffdb_abort(txn);
    struct raft_buffer *b = raft_malloc(sizeof *b);
    void *base = raft_malloc(RF_SNAP_BYTES);
    if (!b || !base) {
        raft_free(b);
        raft_free(base);
        return RAFT_NOMEM;
    }
    rf_snap_encode(&meta, base);
    b->base = base;
    b->len = RF_SNAP_BYTES;
    *bufs = b;
    *n_bufs = 1;
    return 0;
}

static int sync_dir_of(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (n == 0)
        n = 1;
    if (n >= sizeof dir)
        return FFDB_EINVAL;
    memcpy(dir, slash ? path : ".", n);
    dir[n] = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return FFDB_EIO;
    int rc = fsync(fd) ? FFDB_EIO : 0;
    close(fd);
    return rc;
}

int rf_rename_durable(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0)
        return FFDB_EIO;
    return sync_dir_of(path);
}

/* R4: the fetched file at tmp becomes the live one. */
static int swap_in(rf_fsm *m, const char *tmp, const rf_snap_meta *meta)
{
    ffdb *db;
    uint64_t index, term;
    int rc = ffdb_open(tmp, m->has_opt ? &m->opt : NULL, &db);
    if (rc)
        return rc;
    rc = read_applied(db, &index, &term);
    ffdb_close(db);
    if (rc)
        return rc;
    if (index < meta->index)
        return FFDB_EINVAL; /* older than promised */
    if (m->borrowed) {
        rc = m->ops.replace(m->ops.arg, tmp, m->path, &m->db);
        if (rc == 0)
            rc = read_applied(m->db, &m->applied_index, &m->applied_term);
        if (rc)
            m->failed = rc;
        return rc;
    }
    ffdb_close(m->db);
    m->db = NULL;
    rc = rf_rename_durable(tmp, m->path);
    int orc = ffdb_open(m->path, m->has_opt ? &m->opt : NULL, &m->db);
    if (rc == 0)
        rc = orc;
    if (orc == 0 && rc == 0)
        rc = read_applied(m->db, &m->applied_index, &m->applied_term);
    if (rc) {
        m->failed = rc;
        return rc;
    }
    if (m->ops.swapped)
        m->ops.swapped(m->ops.arg, m->db);
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    rf_fsm *m = fsm->data;
    rf_snap_meta meta;
    char tmp[4200];
    if (m->failed)
        return RAFT_IOERR;
    if (rf_snap_decode(buf->base, buf->len, &meta))
        return RAFT_MALFORMED;
    if (meta.index > m->applied_index) {
        if (!m->ops.fetch)
            return RAFT_IOERR;
        snprintf(tmp, sizeof tmp, "%s.fetch", m->path);
        int rc = m->ops.fetch(m->ops.arg, &meta, tmp);
        if (rc == 0)
            rc = swap_in(m, tmp, &meta);
        if (rc) {
            unlink(tmp);
            return RAFT_IOERR;
        }
    }
    raft_free(buf->base);
    return 0;
}

int rf_fsm_new(const char *path, const ffdb_options *opt, uint64_t node_id, const rf_fsm_ops *ops,
               rf_fsm **out)
{
    rf_fsm *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        return FFDB_ENOMEM;
    }
    if (opt) {
        m->opt = *opt;
        m->has_opt = 1;
    }
    m->node_id = node_id;
    m->ops = *ops;
    m->fsm.version = 1;
    m->fsm.data = m;
    m->fsm.apply = fsm_apply;
    m->fsm.snapshot = fsm_snapshot;
    m->fsm.restore = fsm_restore;
    int rc = ffdb_open(path, opt, &m->db);
    if (rc == 0)
        rc = read_applied(m->db, &m->applied_index, &m->applied_term);
    if (rc) {
        rf_fsm_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int rf_fsm_new_on(ffdb *db, const char *path, uint64_t node_id, const rf_fsm_ops *ops,
                  rf_fsm **out)
{
    rf_fsm *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        return FFDB_ENOMEM;
    }
    assert(ops->replace);
    m->borrowed = 1;
    m->db = db;
    m->node_id = node_id;
    m->ops = *ops;
    m->fsm.version = 1;
    m->fsm.data = m;
    m->fsm.apply = fsm_apply;
    m->fsm.snapshot = fsm_snapshot;
    m->fsm.restore = fsm_restore;
    int rc = read_applied(m->db, &m->applied_index, &m->applied_term);
    if (rc) {
        m->db = NULL;
        rf_fsm_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void rf_fsm_free(rf_fsm *m)
{
    if (!m)
        return;
    if (m->db && !m->borrowed)
        ffdb_close(m->db);
    free(m->path);
    free(m);
}

struct raft_fsm *rf_fsm_raft(rf_fsm *m)
{
    return &m->fsm;
}
void rf_fsm_bind(rf_fsm *m, struct raft *r)
{
    m->raft = r;
}
ffdb *rf_fsm_db(rf_fsm *m)
{
    return m->db;
}
uint64_t rf_fsm_applied_index(const rf_fsm *m)
{
    return m->applied_index;
}
uint64_t rf_fsm_applied_term(const rf_fsm *m)
{
    return m->applied_term;
}
int rf_fsm_failed(const rf_fsm *m)
{
    return m->failed;
}
