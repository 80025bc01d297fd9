/*
 * refs.c — versioned roots: commit objects, branches, HEAD, log and diff
 * ("git for DAGs").
 *
 * Owns: the "refs" bucket and the commit object format. A commit is a
 * dag-cbor block stored like any other (CIDv1 dag-cbor sha2-256):
 *
 *   {"message": text, "parents": [link...], "root": link, "time": int}
 *
 * (canonical dag-cbor: keys sorted by length then bytes, so the encoding
 * is root, time, message, parents; links are tag 42). Refs:
 *
 *   "HEAD"             "ref:refs/heads/NAME" (on a branch) or a binary
 *                      CID (detached at a commit); missing = on "main"
 *   "refs/heads/NAME"  the binary CID of the branch's commit
 *
 * Invariants:
 *   R1 A ref holding a binary CID names a commit object in the store: the
 *      commit block and the ref move are one engine transaction, and gc
 *      marks every such ref recursively (gc.c), so the commit, its root's
 *      DAG and every ancestor stay.
 *   R2 A branch name is 1..BLOCKS_BRANCH_MAX bytes of [A-Za-z0-9._/-], with
 *      no empty, "." or ".." component and never a valid CID (so checkout
 *      NAME|CID has one reading).
 * Called by the API and the CLI. Must never move a ref to something that
 * is not a stored commit.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/store.h"

#define NAME(s) s, sizeof(s) - 1
#define HEAD_KEY "HEAD"
#define SYM_PREFIX "ref:"
#define BRANCH_PREFIX "refs/heads/"
#define DEFAULT_BRANCH "main"
#define REF_KEY_MAX (sizeof BRANCH_PREFIX - 1 + BLOCKS_BRANCH_MAX)

/* ---- a set of CIDs in memory, in insertion order (log, diff) ---------------------- */

typedef struct keyset {
    ipld_cid *cid; /* insertion order */
    size_t n, cap;
    uint32_t *slot; /* open addressing: index + 1, 0 = empty */
    size_t slots;
} keyset;

static uint64_t cid_hash(const ipld_cid *c)
{
    uint64_t h = 1469598103934665603ull ^ c->codec;
    for (size_t i = 0; i < c->digest_len; i++)
        h = (h ^ c->digest[i]) * 1099511628211ull;
    return h;
}

static void keyset_free(keyset *s)
{
    free(s->cid);
    free(s->slot);
    memset(s, 0, sizeof *s);
}

static size_t keyset_find(const keyset *s, const ipld_cid *c)
{
    if (!s->slots)
        return SIZE_MAX;
    for (size_t i = cid_hash(c) & (s->slots - 1);; i = (i + 1) & (s->slots - 1)) {
        if (!s->slot[i])
            return SIZE_MAX;
        if (ipld_cid_equal(&s->cid[s->slot[i] - 1], c))
            return s->slot[i] - 1;
    }
}

static int keyset_has(const keyset *s, const ipld_cid *c)
{
    return keyset_find(s, c) != SIZE_MAX;
}

static void slot_insert(keyset *s, size_t idx)
{
    size_t i = cid_hash(&s->cid[idx]) & (s->slots - 1);
    while (s->slot[i])
        i = (i + 1) & (s->slots - 1);
    s->slot[i] = (uint32_t)(idx + 1);
}

/* 1 if added, 0 if it was there, FFDB_ENOMEM / BLOCKS_ELIMIT. */
static int keyset_add(keyset *s, const ipld_cid *c)
{
    if (keyset_has(s, c))
        return 0;
    if (s->n >= UINT32_MAX - 1)
        return BLOCKS_ELIMIT;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        ipld_cid *p = realloc(s->cid, cap * sizeof *p);
        if (!p)
            return FFDB_ENOMEM;
        s->cid = p;
        s->cap = cap;
    }
    if ((s->n + 1) * 2 > s->slots) {
        size_t slots = s->slots ? 2 * s->slots : 128;
        uint32_t *t = calloc(slots, sizeof *t);
        if (!t)
            return FFDB_ENOMEM;
        free(s->slot);
        s->slot = t;
        s->slots = slots;
        for (size_t i = 0; i < s->n; i++)
            slot_insert(s, i);
    }
    s->cid[s->n] = *c;
    slot_insert(s, s->n++);
    return 1;
}

/* ---- commit objects -------------------------------------------------------------------- */

void blocks_commit_free(blocks_commit *c)
{
    if (!c)
        return;
    free(c->parents);
    free(c->message);
    memset(c, 0, sizeof *c);
}

int blocks_commit_encode(const ipld_cid *root, const ipld_cid *parents, size_t n,
                         const char *message, int64_t time, uint8_t **out, size_t *len)
{
    cbor_item_t *map = cbor_new_definite_map(4), *arr = cbor_new_definite_array(n);
    int rc = IPLD_ENOMEM;
    assert(root && message && out && len);
    if (!map || !arr)
        goto out;
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *l = ipld_cbor_link(&parents[i]);
        int ok = l && cbor_array_push(arr, l);
        if (l)
            cbor_decref(&l);
        if (!ok)
            goto out;
    }
    rc = ipld_cbor_map_put(map, "parents", arr);
    arr = NULL;
    if (rc == 0)
        rc = ipld_cbor_map_put(map, "root", ipld_cbor_link(root));
    if (rc == 0)
        rc = ipld_cbor_map_put(map, "message", ipld_cbor_text(message));
    if (rc == 0)
        rc = ipld_cbor_map_put(map, "time", ipld_cbor_int(time));
    if (rc == 0)
        rc = ipld_cbor_encode(map, out, len);
out:
    if (map)
        cbor_decref(&map);
    if (arr)
        cbor_decref(&arr);
    return rc;
}

int blocks_commit_decode(const void *data, size_t len, blocks_commit *c)
{
    cbor_item_t *item, *parents, *msg;
    const char *text;
    size_t tlen;
    int rc;
    memset(c, 0, sizeof *c);
    if ((rc = ipld_cbor_decode(data, len, 1, &item)) != 0)
        return rc;
    rc = IPLD_EFORMAT;
    parents = ipld_cbor_map_get(item, "parents");
    msg = ipld_cbor_map_get(item, "message");
    if (!cbor_isa_map(item) || cbor_map_size(item) != 4 || !parents || !cbor_isa_array(parents) ||
        !msg || ipld_cbor_get_text(msg, &text, &tlen) != 0 || memchr(text, 0, tlen) ||
        ipld_cbor_get_link(ipld_cbor_map_get(item, "root"), &c->root) != 0 ||
        ipld_cbor_get_int(ipld_cbor_map_get(item, "time"), &c->time) != 0)
        goto out;
    c->parent_count = cbor_array_size(parents);
    if (!(c->parents = calloc(c->parent_count ? c->parent_count : 1, sizeof *c->parents)) ||
        !(c->message = malloc(tlen + 1))) {
        rc = IPLD_ENOMEM;
        goto out;
    }
    memcpy(c->message, text, tlen);
    c->message[tlen] = 0;
    for (size_t i = 0; i < c->parent_count; i++)
        if (ipld_cbor_get_link(cbor_array_handle(parents)[i], &c->parents[i]) != 0)
            goto out;
    rc = 0;
out:
    cbor_decref(&item);
    if (rc)
        blocks_commit_free(c);
    return rc;
}

/* The commit stored under cid (IPLD_EFORMAT if that block is not one). */
static int read_commit(blocks *bs, ffdb_bucket *index, ffdb_bucket *hot, const ipld_cid *cid,
                       blocks_commit *c)
{
    uint8_t key[KEY_MAX];
    size_t klen = store_key(cid, key), len;
    void *data;
    int rc;
    memset(c, 0, sizeof *c);
    if (cid->codec != IPLD_CODEC_DAG_CBOR)
        return IPLD_EFORMAT;
    if ((rc = store_read_from(bs, index, hot, key, klen, &data, &len)) != 0)
        return rc;
    if ((rc = ipld_cid_verify(cid, data, len)) == 0 &&
        (rc = blocks_commit_decode(data, len, c)) == 0)
        c->cid = *cid;
    free(data);
    return rc;
}

int blocks_commit_get(blocks *bs, const ipld_cid *cid, blocks_commit *c)
{
    rtx r;
    int rc = rtx_begin(bs, &r);
    if (rc)
        return rc;
    rc = read_commit(bs, r.index, r.blocks, cid, c);
    rtx_end(&r);
    return rc;
}

/* ---- refs --------------------------------------------------------------------------------- */

int blocks_branch_name_ok(const char *name)
{
    size_t n = strlen(name), comp = 0;
    ipld_cid cid;
    if (n == 0 || n > BLOCKS_BRANCH_MAX || name[0] == '-' || strcmp(name, HEAD_KEY) == 0 ||
        ipld_cid_parse(name, &cid) == 0)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        char ch = name[i];
        if (ch == '/' || ch == 0) {
            if (comp == 0 || (comp == 1 && name[i - 1] == '.') ||
                (comp == 2 && name[i - 1] == '.' && name[i - 2] == '.'))
                return 0;
            comp = 0;
            continue;
        }
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
        comp++;
    }
    return 1;
}

static size_t branch_key(char out[REF_KEY_MAX + 1], const char *name)
{
    return (size_t)snprintf(out, REF_KEY_MAX + 1, "%s%s", BRANCH_PREFIX, name);
}

/* HEAD: *branch the current branch ("" if detached), *commit its commit;
 * returns 1 if HEAD has a commit, 0 if its branch has none yet. */
static int read_head(ffdb_bucket *refs, char branch[BLOCKS_BRANCH_MAX + 1], ipld_cid *commit)
{
    char key[REF_KEY_MAX + 1];
    ffdb_val v;
    int rc = ffdb_get(refs, NAME(HEAD_KEY), &v);
    branch[0] = 0;
    if (rc == FFDB_NOTFOUND) {
        strcpy(branch, DEFAULT_BRANCH);
    } else if (rc) {
        return rc;
    } else if (v.size > sizeof SYM_PREFIX - 1 + sizeof BRANCH_PREFIX - 1 &&
               memcmp(v.data, SYM_PREFIX BRANCH_PREFIX, sizeof SYM_PREFIX BRANCH_PREFIX - 1) == 0) {
        size_t n = v.size - (sizeof SYM_PREFIX BRANCH_PREFIX - 1);
        if (n > BLOCKS_BRANCH_MAX)
            return BLOCKS_ESTATE;
        memcpy(branch, (const char *)v.data + sizeof SYM_PREFIX BRANCH_PREFIX - 1, n);
        branch[n] = 0;
    } else {
        return ipld_cid_from_bytes(v.data, v.size, commit) ? BLOCKS_ESTATE : 1;
    }
    rc = ffdb_get(refs, key, branch_key(key, branch), &v);
    if (rc == FFDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    return ipld_cid_from_bytes(v.data, v.size, commit) ? BLOCKS_ESTATE : 1;
}

int blocks_head(blocks *bs, char branch[BLOCKS_BRANCH_MAX + 1], ipld_cid *commit)
{
    rtx r;
    int rc = rtx_begin(bs, &r);
    if (rc)
        return rc;
    rc = read_head(r.refs, branch, commit);
    rtx_end(&r);
    return rc;
}

/* rev: "HEAD", a branch name, or the CID of a stored commit. */
static int resolve_in(blocks *bs, ffdb_bucket *index, ffdb_bucket *hot, ffdb_bucket *refs,
                      const char *rev, ipld_cid *commit, int *is_branch)
{
    char key[REF_KEY_MAX + 1], branch[BLOCKS_BRANCH_MAX + 1];
    blocks_commit c;
    ffdb_val v;
    int rc;
    *is_branch = 0;
    if (strcmp(rev, HEAD_KEY) == 0) {
        rc = read_head(refs, branch, commit);
        return rc == 0 ? FFDB_NOTFOUND : rc < 0 ? rc : 0;
    }
    if (blocks_branch_name_ok(rev)) {
        *is_branch = 1;
        if ((rc = ffdb_get(refs, key, branch_key(key, rev), &v)) != 0)
            return rc;
        return ipld_cid_from_bytes(v.data, v.size, commit) ? BLOCKS_ESTATE : 0;
    }
    if ((rc = ipld_cid_parse(rev, commit)) != 0)
        return rc;
    if ((rc = read_commit(bs, index, hot, commit, &c)) != 0)
        return rc;
    blocks_commit_free(&c);
    return 0;
}

int blocks_resolve(blocks *bs, const char *rev, ipld_cid *commit)
{
    int is_branch;
    rtx r;
    int rc = rtx_begin(bs, &r);
    if (rc)
        return rc;
    rc = resolve_in(bs, r.index, r.blocks, r.refs, rev, commit, &is_branch);
    rtx_end(&r);
    return rc;
}

/* Moves HEAD's branch (or a detached HEAD) to commit, in w. */
static int move_head(wtx *w, const ipld_cid *commit)
{
    char key[REF_KEY_MAX + 1], branch[BLOCKS_BRANCH_MAX + 1];
    uint8_t bin[IPLD_CID_BIN_MAX];
    ipld_cid old;
    size_t blen = ipld_cid_to_bytes(commit, bin);
    int rc = read_head(w->refs, branch, &old);
    if (rc < 0)
        return rc;
    if (branch[0] == 0)
        return ffdb_put(w->refs, NAME(HEAD_KEY), bin, blen);
    return ffdb_put(w->refs, key, branch_key(key, branch), bin, blen);
}

int blocks_commit_root(blocks *bs, const ipld_cid *root, const char *message,
                       const ipld_cid *extra_parents, size_t extra, ipld_cid *out)
{
    char branch[BLOCKS_BRANCH_MAX + 1];
    uint8_t key[KEY_MAX], *data = NULL;
    ipld_cid *parents, head;
    size_t n = 0, len;
    ffdb_val v;
    wtx w;
    int rc;
    assert(bs && root && message && out);
    if (bs->batch)
        return BLOCKS_EBUSY;
    if ((rc = ipld_cid_validate(root)) != 0)
        return rc;
    if (!(parents = calloc(extra + 1, sizeof *parents)))
        return FFDB_ENOMEM;
    if ((rc = wtx_begin(bs, &w)) != 0) {
        free(parents);
        return rc;
    }
    /* The root must be stored (a commit of nothing could not be checked
     * out or diffed); so must every parent, and be a commit (R1). */
    if ((rc = ffdb_get(w.index, key, store_key(root, key), &v)) != 0)
        goto out;
    if ((rc = read_head(w.refs, branch, &head)) == 1)
        parents[n++] = head;
    else if (rc < 0)
        goto out;
    for (size_t i = 0; i < extra; i++) {
        blocks_commit pc;
        if ((rc = read_commit(bs, w.index, w.blocks, &extra_parents[i], &pc)) != 0)
            goto out;
        blocks_commit_free(&pc);
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            dup |= ipld_cid_equal(&parents[j], &extra_parents[i]);
        if (!dup)
            parents[n++] = extra_parents[i];
    }
    if ((rc = blocks_commit_encode(root, parents, n, message, (int64_t)store_now(bs), &data,
                                   &len)) != 0 ||
        (rc = ipld_cid_of(1, IPLD_CODEC_DAG_CBOR, IPLD_MH_SHA2_256, data, len, out)) != 0 ||
        (rc = store_put_in(&w, key, store_key(out, key), data, len)) != 0)
        goto out;
    rc = move_head(&w, out);
out:
    free(data);
    free(parents);
    if (rc) {
        wtx_abort(&w);
        return rc;
    }
    return wtx_commit(&w);
}

int blocks_branch_create(blocks *bs, const char *name, const char *rev)
{
    char key[REF_KEY_MAX + 1];
    uint8_t bin[IPLD_CID_BIN_MAX];
    ipld_cid commit;
    ffdb_val v;
    wtx w;
    int is_branch, rc;
    if (bs->batch)
        return BLOCKS_EBUSY;
    if (!blocks_branch_name_ok(name))
        return FFDB_EINVAL;
    if ((rc = wtx_begin(bs, &w)) != 0)
        return rc;
    rc = ffdb_get(w.refs, key, branch_key(key, name), &v);
    if (rc == 0)
        rc = FFDB_EXISTS;
    else if (rc == FFDB_NOTFOUND)
        rc = resolve_in(bs, w.index, w.blocks, w.refs, rev ? rev : HEAD_KEY, &commit, &is_branch);
    if (rc == 0)
        rc = ffdb_put(w.refs, key, branch_key(key, name), bin, ipld_cid_to_bytes(&commit, bin));
    if (rc) {
        wtx_abort(&w);
        return rc;
    }
    return wtx_commit(&w);
}

int blocks_branch_delete(blocks *bs, const char *name)
{
    char key[REF_KEY_MAX + 1], branch[BLOCKS_BRANCH_MAX + 1];
    ipld_cid head;
    ffdb_val v;
    wtx w;
    int rc;
    if (bs->batch)
        return BLOCKS_EBUSY;
    if (!blocks_branch_name_ok(name))
        return FFDB_EINVAL;
    if ((rc = wtx_begin(bs, &w)) != 0)
        return rc;
    if ((rc = read_head(w.refs, branch, &head)) >= 0)
        rc = strcmp(branch, name) == 0 ? BLOCKS_EBUSY : 0;
    if (rc == 0 && (rc = ffdb_get(w.refs, key, branch_key(key, name), &v)) == 0)
        rc = ffdb_delete(w.refs, key, branch_key(key, name));
    if (rc) {
        wtx_abort(&w);
        return rc;
    }
    return wtx_commit(&w);
}

int blocks_branches(blocks *bs, int (*fn)(void *arg, const char *name, const ipld_cid *commit),
                    void *arg)
{
    char name[BLOCKS_BRANCH_MAX + 1];
    const size_t plen = sizeof BRANCH_PREFIX - 1;
    ffdb_cursor *cur;
    ffdb_val k, v;
    rtx r;
    int rc = rtx_begin(bs, &r);
    if (rc)
        return rc;
    if ((rc = ffdb_cursor_open(r.refs, &cur)) == 0) {
        for (rc = ffdb_cursor_seek(cur, NAME(BRANCH_PREFIX), &k, &v); rc == 0;
             rc = ffdb_cursor_next(cur, &k, &v)) {
            ipld_cid cid;
            if (k.size <= plen || memcmp(k.data, BRANCH_PREFIX, plen) != 0) {
                rc = FFDB_NOTFOUND;
                break;
            }
            if (k.size - plen > BLOCKS_BRANCH_MAX || ipld_cid_from_bytes(v.data, v.size, &cid)) {
                rc = BLOCKS_ESTATE;
                break;
            }
            memcpy(name, (const char *)k.data + plen, k.size - plen);
            name[k.size - plen] = 0;
            if ((rc = fn(arg, name, &cid)) != 0)
                break;
        }
        ffdb_cursor_close(cur);
    }
    rtx_end(&r);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

int blocks_checkout(blocks *bs, const char *rev)
{
    char val[sizeof SYM_PREFIX + REF_KEY_MAX];
    uint8_t bin[IPLD_CID_BIN_MAX];
    ipld_cid commit;
    wtx w;
    int is_branch, rc;
    if (bs->batch)
        return BLOCKS_EBUSY;
    if ((rc = wtx_begin(bs, &w)) != 0)
        return rc;
    rc = resolve_in(bs, w.index, w.blocks, w.refs, rev, &commit, &is_branch);
    if (rc == 0 && is_branch) {
        int n = snprintf(val, sizeof val, "%s%s%s", SYM_PREFIX, BRANCH_PREFIX, rev);
        rc = ffdb_put(w.refs, NAME(HEAD_KEY), val, (size_t)n);
    } else if (rc == 0) {
        rc = ffdb_put(w.refs, NAME(HEAD_KEY), bin, ipld_cid_to_bytes(&commit, bin));
    }
    if (rc) {
        wtx_abort(&w);
        return rc;
    }
    return wtx_commit(&w);
}

/* ---- log ------------------------------------------------------------------------------------ */

/* Commits found but not shown yet: an unsorted list, the newest taken each
 * step (histories branch rarely, so the list stays short). */
typedef struct cand {
    ipld_cid cid;
    int64_t time;
} cand;

typedef struct log_ctx {
    blocks *bs;
    rtx r;
    keyset seen;
    cand *c;
    size_t n, cap;
} log_ctx;

/* Queues cid (once) with its commit's time. */
static int log_queue(log_ctx *l, const ipld_cid *cid)
{
    blocks_commit c;
    int rc = keyset_add(&l->seen, cid);
    if (rc <= 0)
        return rc;
    if ((rc = read_commit(l->bs, l->r.index, l->r.blocks, cid, &c)) != 0)
        return rc;
    int64_t t = c.time;
    blocks_commit_free(&c);
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        cand *p = realloc(l->c, cap * sizeof *p);
        if (!p)
            return FFDB_ENOMEM;
        l->c = p;
        l->cap = cap;
    }
    l->c[l->n++] = (cand){*cid, t};
    return 0;
}

/* Every ancestor of rev's commit once, newest first (by time; ties in the
 * order found). Memory: the commits seen, about 150 bytes each. */
int blocks_log(blocks *bs, const char *rev, int (*fn)(void *arg, const blocks_commit *c), void *arg)
{
    log_ctx l = {.bs = bs};
    ipld_cid start;
    int is_branch, rc;
    if ((rc = rtx_begin(bs, &l.r)) != 0)
        return rc;
    rc = resolve_in(bs, l.r.index, l.r.blocks, l.r.refs, rev ? rev : HEAD_KEY, &start, &is_branch);
    if (rc == 0)
        rc = log_queue(&l, &start);
    while (rc == 0 && l.n > 0) {
        blocks_commit c;
        size_t best = 0;
        for (size_t i = 1; i < l.n; i++)
            if (l.c[i].time > l.c[best].time)
                best = i;
        ipld_cid cid = l.c[best].cid;
        memmove(&l.c[best], &l.c[best + 1], (l.n - best - 1) * sizeof *l.c);
        l.n--;
        if ((rc = read_commit(bs, l.r.index, l.r.blocks, &cid, &c)) != 0)
            break;
        for (size_t i = 0; rc == 0 && i < c.parent_count; i++)
            rc = log_queue(&l, &c.parents[i]);
        if (rc == 0)
            rc = fn(arg, &c);
        blocks_commit_free(&c);
    }
    rtx_end(&l.r);
    keyset_free(&l.seen);
    free(l.c);
    return rc;
}

/* ---- diff -------------------------------------------------------------------------------------
 */

typedef struct diff_ctx {
    blocks *bs;
    rtx *r;
    const blocks_diff_fns *fns;
    void *arg;
    char path[BLOCKS_PATH_MAX + 1];
} diff_ctx;

/* The DAG root a rev names: a commit's root, else the CID itself (any DAG). */
static int diff_root(diff_ctx *d, const char *rev, ipld_cid *root)
{
    blocks_commit c;
    int is_branch;
    int rc = resolve_in(d->bs, d->r->index, d->r->blocks, d->r->refs, rev, root, &is_branch);
    if (rc == IPLD_EFORMAT && !is_branch && ipld_cid_parse(rev, root) == 0)
        return 0; /* a stored block that is not a commit: diff it as it is */
    if (rc)
        return rc;
    if ((rc = read_commit(d->bs, d->r->index, d->r->blocks, root, &c)) != 0)
        return rc;
    *root = c.root;
    blocks_commit_free(&c);
    return 0;
}

static int read_cid(diff_ctx *d, const ipld_cid *cid, void **data, size_t *len)
{
    uint8_t key[KEY_MAX];
    return store_read_from(d->bs, d->r->index, d->r->blocks, key, store_key(cid, key), data, len);
}

/* Every block under root (present ones; links of missing blocks are unknown). */
static int collect(diff_ctx *d, const ipld_cid *root, keyset *set);

static int collect_link(void *arg, const ipld_cid *cid)
{
    keyset *todo = arg;
    int rc = keyset_add(todo, cid);
    return rc < 0 ? rc : 0;
}

static int collect(diff_ctx *d, const ipld_cid *root, keyset *set)
{
    int rc = keyset_add(set, root);
    /* set doubles as the work list: entries are expanded in insertion order */
    for (size_t i = 0; rc >= 0 && i < set->n; i++) {
        void *data;
        size_t len;
        ipld_cid cid = set->cid[i];
        if ((rc = read_cid(d, &cid, &data, &len)) == FFDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc)
            break;
        rc = blocks_links(cid.codec, data, len, collect_link, set);
        free(data);
        if (rc == IPLD_EUNSUPPORTED || rc == IPLD_EFORMAT)
            rc = 0;
    }
    return rc < 0 ? rc : 0;
}

/* A UnixFS directory node decoded (its links name the entries), or not. */
static int as_dir(diff_ctx *d, const ipld_cid *cid, void **data, ipld_pb_node *node)
{
    size_t len;
    ipld_unixfs u;
    int rc;
    *data = NULL;
    if (cid->codec != IPLD_CODEC_DAG_PB)
        return 0;
    if ((rc = read_cid(d, cid, data, &len)) != 0)
        return rc == FFDB_NOTFOUND ? 0 : rc;
    if (ipld_pb_decode(*data, len, node) != 0) {
        free(*data);
        *data = NULL;
        return 0;
    }
    int dir = 0;
    if (node->has_data && ipld_unixfs_decode(node->data, node->data_len, &u) == 0) {
        dir = u.type == IPLD_UNIXFS_DIRECTORY;
        ipld_unixfs_free(&u);
    }
    if (!dir) {
        ipld_pb_node_free(node);
        free(*data);
        *data = NULL;
    }
    return dir;
}

static int diff_paths(diff_ctx *d, size_t plen, const ipld_cid *a, const ipld_cid *b);

static int emit(diff_ctx *d, int change, const ipld_cid *a, const ipld_cid *b)
{
    return d->fns->path ? d->fns->path(d->arg, change, d->path[0] ? d->path : ".", a, b) : 0;
}

/* path + "/" + name into d->path; BLOCKS_ELIMIT past BLOCKS_PATH_MAX. */
static int path_push(diff_ctx *d, size_t plen, const ipld_pb_link *l, size_t *out)
{
    size_t n = plen + (plen ? 1 : 0) + l->name_len;
    if (n > BLOCKS_PATH_MAX)
        return BLOCKS_ELIMIT;
    if (plen)
        d->path[plen] = '/';
    memcpy(d->path + plen + (plen ? 1 : 0), l->name, l->name_len);
    d->path[n] = 0;
    *out = n;
    return 0;
}

static const ipld_pb_link *find_link(const ipld_pb_node *n, const ipld_pb_link *l)
{
    for (size_t i = 0; i < n->link_count; i++)
        if (n->links[i].name_len == l->name_len &&
            memcmp(n->links[i].name, l->name, l->name_len) == 0)
            return &n->links[i];
    return NULL;
}

static int diff_dirs(diff_ctx *d, size_t plen, const ipld_pb_node *na, const ipld_pb_node *nb)
{
    size_t n;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < na->link_count; i++) {
        const ipld_pb_link *la = &na->links[i], *lb = find_link(nb, la);
        if ((rc = path_push(d, plen, la, &n)) != 0)
            break;
        if (!lb)
            rc = emit(d, BLOCKS_DIFF_REMOVED, &la->cid, NULL);
        else if (!ipld_cid_equal(&la->cid, &lb->cid))
            rc = diff_paths(d, n, &la->cid, &lb->cid);
    }
    for (size_t i = 0; rc == 0 && i < nb->link_count; i++) {
        const ipld_pb_link *lb = &nb->links[i];
        if (find_link(na, lb))
            continue;
        if ((rc = path_push(d, plen, lb, &n)) == 0)
            rc = emit(d, BLOCKS_DIFF_ADDED, NULL, &lb->cid);
    }
    d->path[plen] = 0;
    return rc;
}

/* a and b differ; d->path[0..plen) names them. */
static int diff_paths(diff_ctx *d, size_t plen, const ipld_cid *a, const ipld_cid *b)
{
    ipld_pb_node na, nb;
    void *da, *db;
    int rc, ra = as_dir(d, a, &da, &na), rb;
    if (ra < 0)
        return ra;
    if ((rb = as_dir(d, b, &db, &nb)) < 0) {
        rc = rb;
    } else if (ra && rb) {
        rc = diff_dirs(d, plen, &na, &nb);
    } else {
        rc = emit(d, BLOCKS_DIFF_MODIFIED, a, b);
    }
    if (ra > 0) {
        ipld_pb_node_free(&na);
        free(da);
    }
    if (rb > 0) {
        ipld_pb_node_free(&nb);
        free(db);
    }
    return rc;
}

int blocks_diff(blocks *bs, const char *rev_a, const char *rev_b, const blocks_diff_fns *fns,
                void *arg)
{
    diff_ctx d = {.bs = bs, .fns = fns, .arg = arg};
    keyset sa = {0}, sb = {0};
    ipld_cid a, b;
    rtx r;
    int rc = rtx_begin(bs, &r);
    if (rc)
        return rc;
    d.r = &r;
    if ((rc = diff_root(&d, rev_a, &a)) != 0 || (rc = diff_root(&d, rev_b, &b)) != 0)
        goto out;
    if (ipld_cid_equal(&a, &b))
        goto out;
    if ((rc = diff_paths(&d, 0, &a, &b)) != 0 || !fns->block)
        goto out;
    if ((rc = collect(&d, &a, &sa)) != 0 || (rc = collect(&d, &b, &sb)) != 0)
        goto out;
    for (size_t i = 0; rc == 0 && i < sa.n; i++)
        if (!keyset_has(&sb, &sa.cid[i]))
            rc = fns->block(arg, -1, &sa.cid[i]);
    for (size_t i = 0; rc == 0 && i < sb.n; i++)
        if (!keyset_has(&sa, &sb.cid[i]))
            rc = fns->block(arg, 1, &sb.cid[i]);
out:
    rtx_end(&r);
    keyset_free(&sa);
    keyset_free(&sb);
    return rc;
}
