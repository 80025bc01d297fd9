/*
 * entry.c — the log entry encoding (raft.h, "log entries"): a writer that
 * builds one entry from commands, and an iterator that checks a whole entry
 * before it yields the first command, so the state machine never applies
 * half of a malformed entry. Called by the proposer (ffdb-server) and by
 * fsm.c's apply. Must never read past the entry's buffer.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "modules/raft/le.h"
#include "modules/raft/raft.h"

static uint8_t *reserve(rf_entry_writer *w, size_t n)
{
    if (w->err)
        return NULL;
    if (n > RF_ENTRY_MAX_BYTES - w->len) {
        w->err = FFDB_EINVAL;
        return NULL;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (!b) {
            w->err = FFDB_ENOMEM;
            return NULL;
        }
        w->buf = b;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

void rf_entry_begin(rf_entry_writer *w, uint64_t term)
{
    memset(w, 0, sizeof *w);
    uint8_t *p = reserve(w, RF_ENTRY_HDR);
    if (!p)
        return;
    memcpy(p, RF_ENTRY_MAGIC, 4);
    put_u64(p + 4, term);
    put_u32(p + 12, 0);
}

void rf_entry_add(rf_entry_writer *w, int argc, const char *const *argv, const size_t *lens)
{
    assert(argc >= 1);
    uint8_t *p = reserve(w, 4);
    if (!p)
        return;
    put_u32(p, (uint32_t)argc);
    for (int i = 0; i < argc; i++) {
        if (lens[i] > UINT32_MAX) {
            w->err = FFDB_EINVAL;
            return;
        }
        if (!(p = reserve(w, 4 + lens[i])))
            return;
        put_u32(p, (uint32_t)lens[i]);
        memcpy(p + 4, argv[i], lens[i]);
    }
    w->ncmds++;
}

int rf_entry_finish(rf_entry_writer *w, void **buf, size_t *len)
{
    int rc = w->err ? w->err : (w->ncmds == 0 ? FFDB_EINVAL : 0);
    if (rc) {
        rf_entry_discard(w);
        return rc;
    }
    size_t pad = (8 - w->len % 8) % 8; /* raft.h: libraft's transport needs it */
    uint8_t *z = pad ? reserve(w, pad) : NULL;
    if (pad && !z) {
        rc = w->err;
        rf_entry_discard(w);
        return rc;
    }
    if (z)
        memset(z, 0, pad);
    put_u32(w->buf + 12, w->ncmds);
    *buf = w->buf;
    *len = w->len;
    memset(w, 0, sizeof *w);
    return 0;
}

void rf_entry_discard(rf_entry_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

/* Walk every command once without keeping anything: the entry is well
 * formed iff ncmds commands end less than 8 bytes before its end, and only
 * zero bytes (the padding) follow them. */
static int check_body(const uint8_t *p, const uint8_t *end, uint32_t ncmds)
{
    for (uint32_t c = 0; c < ncmds; c++) {
        if (end - p < 4)
            return FFDB_EINVAL;
        uint32_t argc = get_u32(p);
        p += 4;
        if (argc == 0)
            return FFDB_EINVAL;
        for (uint32_t a = 0; a < argc; a++) {
            if (end - p < 4)
                return FFDB_EINVAL;
            uint32_t n = get_u32(p);
            p += 4;
            if ((size_t)(end - p) < n)
                return FFDB_EINVAL;
            p += n;
        }
    }
    if (end - p >= 8)
        return FFDB_EINVAL; /* more than the padding */
    for (; p < end; p++)
        if (*p)
            return FFDB_EINVAL;
    return 0;
}

int rf_entry_open(rf_entry_iter *it, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    memset(it, 0, sizeof *it);
    if (len < RF_ENTRY_HDR || len > RF_ENTRY_MAX_BYTES || memcmp(p, RF_ENTRY_MAGIC, 4) != 0)
        return FFDB_EINVAL;
    uint32_t ncmds = get_u32(p + 12);
    if (ncmds == 0)
        return FFDB_EINVAL;
    int rc = check_body(p + RF_ENTRY_HDR, p + len, ncmds);
    if (rc)
        return rc;
    it->p = p + RF_ENTRY_HDR;
    it->end = p + len;
    it->term = get_u64(p + 4);
    it->ncmds = it->left = ncmds;
    return 0;
}

int rf_entry_next(rf_entry_iter *it, rf_cmd *cmd)
{
    if (it->left == 0)
        return 0;
    uint32_t argc = get_u32(it->p); /* checked by rf_entry_open */
    if ((int)argc > it->cap || it->cap == 0) {
        int cap = (int)argc < 8 ? 8 : (int)argc;
        const char **av = realloc(it->argv, (size_t)cap * sizeof *av);
        if (!av)
            return FFDB_ENOMEM;
        it->argv = av;
        size_t *ln = realloc(it->lens, (size_t)cap * sizeof *ln);
        if (!ln)
            return FFDB_ENOMEM;
        it->lens = ln;
        it->cap = cap;
    }
    it->p += 4;
    for (uint32_t a = 0; a < argc; a++) {
        uint32_t n = get_u32(it->p);
        it->argv[a] = (const char *)it->p + 4;
        it->lens[a] = n;
        it->p += 4 + n;
    }
    assert(it->p <= it->end);
    it->left--;
    cmd->argc = (int)argc;
    cmd->argv = it->argv;
    cmd->lens = it->lens;
    return 1;
}

void rf_entry_close(rf_entry_iter *it)
{
    free(it->argv);
    free(it->lens);
    memset(it, 0, sizeof *it);
}

void rf_snap_encode(const rf_snap_meta *m, uint8_t out[RF_SNAP_BYTES])
{
    memcpy(out, RF_SNAP_MAGIC, 4);
    put_u32(out + 4, 1);
    put_u64(out + 8, m->index);
    put_u64(out + 16, m->term);
    put_u64(out + 24, m->txid);
    put_u64(out + 32, m->node_id);
}

int rf_snap_decode(const void *buf, size_t len, rf_snap_meta *m)
{
    const uint8_t *p = buf;
    if (len != RF_SNAP_BYTES || memcmp(p, RF_SNAP_MAGIC, 4) != 0 || get_u32(p + 4) != 1)
        return FFDB_EINVAL;
    m->index = get_u64(p + 8);
    m->term = get_u64(p + 16);
    m->txid = get_u64(p + 24);
    m->node_id = get_u64(p + 32);
    return 0;
}
