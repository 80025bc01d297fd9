/*
 * ptr.c — signed last-writer-wins records in an ffdb bucket: verification
 * (R2), the merge rule (R1), tombstones (R3), local writes and the scan.
 * ptr.h states the rules; this file keeps them. Every check that a received
 * message can fail is a counted reject, never an assertion.
 */
#include "modules/ptr/ptr.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modules/ptr/ptr.pb-c.h"

#define DOMAIN "ffdb-ptr-v1"
#define DOMAIN_BYTES (sizeof DOMAIN) /* with its NUL */
#define BUCKET_PREFIX "ptr/"
#define NS_MAX 200
#define ENVELOPE_SLACK 256 /* protobuf tags, lengths, signer, sig, namespace */

struct ptr {
    ffdb *db;
    const ident *id;
    ptr_opts o;
    char ns[NS_MAX + 1];
    size_t ns_len;
    char bucket[sizeof BUCKET_PREFIX + NS_MAX];
    size_t bucket_len;
    ptr_hlc clock;
    ptr_stats st;
    /* What ptr_get's views point into (freed at the next call). */
    Ffdb__Ptr__Record *held;
};

const char *ptr_reject_name(enum ptr_reject r)
{
    static const char *const names[PTR_R_COUNT] = {"malformed", "oversize", "badsig",
                                                   "namespace", "future",   "binding"};
    return (unsigned)r < PTR_R_COUNT ? names[r] : "unknown";
}

static uint64_t wall_ms(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_ms(const ptr *p)
{
    return p->o.now_ms(p->o.now_arg);
}

/* ---- verification (R2) ------------------------------------------------------------ */

/* A received message, checked: sig verified, body decoded. */
typedef struct checked {
    Ffdb__Ptr__Signed *env;
    Ffdb__Ptr__Record *rec;
} checked;

static void checked_free(checked *c)
{
    if (c->rec)
        ffdb__ptr__record__free_unpacked(c->rec, NULL);
    if (c->env)
        ffdb__ptr__signed__free_unpacked(c->env, NULL);
    c->rec = NULL;
    c->env = NULL;
}

static int sig_ok(const uint8_t *signer, const uint8_t *body, size_t len, const uint8_t *sig)
{
    uint8_t *m = malloc(DOMAIN_BYTES + IDENT_PK_BYTES + len);
    if (!m)
        return FFDB_ENOMEM;
    memcpy(m, DOMAIN, DOMAIN_BYTES);
    memcpy(m + DOMAIN_BYTES, signer, IDENT_PK_BYTES);
    if (len)
        memcpy(m + DOMAIN_BYTES + IDENT_PK_BYTES, body, len);
    int rc = ident_verify(signer, m, DOMAIN_BYTES + IDENT_PK_BYTES + len, sig);
    free(m);
    return rc;
}

/* 0 with *c filled, a reason (> 0, 1 + enum ptr_reject), or FFDB_ENOMEM.
 * local: a record this handle just signed, whose HLC may be legitimately
 * ahead of a wall clock that went back (R4): no future-skew check. */
size_t ptr_record_max_bytes(const ptr *p)
{
    return p->o.max_key_bytes + p->o.max_value_bytes + p->ns_len + ENVELOPE_SLACK;
}

void ptr_count_reject(ptr *p, enum ptr_reject r)
{
    assert((unsigned)r < PTR_R_COUNT);
    p->st.rejects[r]++;
}

static int check_msg(ptr *p, const uint8_t *msg, size_t len, int local, checked *c)
{
    size_t max = ptr_record_max_bytes(p);
    memset(c, 0, sizeof *c);
    if (len > max)
        return 1 + PTR_R_OVERSIZE;
    c->env = ffdb__ptr__signed__unpack(NULL, len, msg);
    if (!c->env)
        return 1 + PTR_R_MALFORMED;
    if (c->env->signer.len != IDENT_PK_BYTES || c->env->sig.len != IDENT_SIG_BYTES) {
        checked_free(c);
        return 1 + PTR_R_MALFORMED;
    }
    int rc = sig_ok(c->env->signer.data, c->env->body.data, c->env->body.len, c->env->sig.data);
    if (rc) {
        checked_free(c);
        return rc == FFDB_ENOMEM ? rc : 1 + PTR_R_BADSIG;
    }
    c->rec = ffdb__ptr__record__unpack(NULL, c->env->body.len, c->env->body.data);
    int reason = 0;
    if (!c->rec)
        reason = 1 + PTR_R_MALFORMED;
    else if (c->rec->op != FFDB__PTR__OP__SET && c->rec->op != FFDB__PTR__OP__DEL)
        reason = 1 + PTR_R_MALFORMED;
    else if (c->rec->op == FFDB__PTR__OP__DEL && c->rec->value.len)
        reason = 1 + PTR_R_MALFORMED;
    else if (c->rec->key.len > p->o.max_key_bytes || c->rec->value.len > p->o.max_value_bytes)
        reason = 1 + PTR_R_OVERSIZE;
    else if (c->rec->namespace_.len != p->ns_len ||
             (p->ns_len && memcmp(c->rec->namespace_.data, p->ns, p->ns_len) != 0))
        reason = 1 + PTR_R_NAMESPACE;
    else if (!local && ptr_hlc_ms(c->rec->hlc) > now_ms(p) + p->o.max_future_skew_ms)
        reason = 1 + PTR_R_FUTURE;
    if (reason)
        checked_free(c);
    return reason;
}

/* ---- the merge rule (R1) ------------------------------------------------------------- */

static int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (al > bl) - (al < bl);
}

/* > 0 when a wins over b. */
static int rec_cmp(const checked *a, const checked *b)
{
    if (a->rec->hlc != b->rec->hlc)
        return a->rec->hlc > b->rec->hlc ? 1 : -1;
    int c = memcmp(a->env->signer.data, b->env->signer.data, IDENT_PK_BYTES);
    if (c)
        return c;
    return bytes_cmp(a->env->body.data, a->env->body.len, b->env->body.data, b->env->body.len);
}

static void fill_entry(const checked *c, ptr_entry *e)
{
    e->key.data = c->rec->key.data;
    e->key.size = c->rec->key.len;
    e->value.data = c->rec->value.data;
    e->value.size = c->rec->value.len;
    e->deleted = c->rec->op == FFDB__PTR__OP__DEL;
    e->hlc = c->rec->hlc;
    memcpy(e->signer, c->env->signer.data, IDENT_PK_BYTES);
}

/* Decodes a stored message (it was verified when it came in). */
static int load_stored(ptr *p, ffdb_bucket *b, const void *key, size_t klen, checked *c)
{
    ffdb_val v;
    int rc = ffdb_get(b, key, klen, &v);
    if (rc)
        return rc;
    memset(c, 0, sizeof *c);
    c->env = ffdb__ptr__signed__unpack(NULL, v.size, v.data);
    if (c->env)
        c->rec = ffdb__ptr__record__unpack(NULL, c->env->body.len, c->env->body.data);
    if (!c->env || !c->rec || c->env->signer.len != IDENT_PK_BYTES) {
        checked_free(c);
        (void)p;
        return PTR_EFORMAT; /* the bucket holds something ptr did not write */
    }
    return 0;
}

/* 1 if msg is byte for byte the Signed message stored for its key (R5),
 * 0 if not (or undecodable: check_msg then says why), < 0 an engine error.
 * The bytes are decoded only to find the key; nothing of them is trusted. */
static int is_stored_copy(ptr *p, ffdb_bucket *b, const uint8_t *msg, size_t len)
{
    if (len > ptr_record_max_bytes(p))
        return 0;
    Ffdb__Ptr__Signed *env = ffdb__ptr__signed__unpack(NULL, len, msg);
    Ffdb__Ptr__Record *rec =
        env ? ffdb__ptr__record__unpack(NULL, env->body.len, env->body.data) : NULL;
    ffdb_val v;
    int rc = rec ? ffdb_get(b, rec->key.data, rec->key.len, &v) : FFDB_NOTFOUND;
    int same = rc == 0 && v.size == len && memcmp(v.data, msg, len) == 0;
    if (rec)
        ffdb__ptr__record__free_unpacked(rec, NULL);
    if (env)
        ffdb__ptr__signed__free_unpacked(env, NULL);
    return rc && rc != FFDB_NOTFOUND ? rc : same;
}

/* Outcome of one record in a txn: 1 stored, 0 lost (stale), > 1 a reject
 * (2 + reason), < 0 an engine error. */
static int apply_one(ptr *p, ffdb_bucket *b, const uint8_t *msg, size_t len, int local)
{
    checked in, old;
    int rc = local ? 0 : is_stored_copy(p, b, msg, len);
    if (rc)
        return rc < 0 ? rc : 0; /* R5: a copy of what is stored loses, as it would verified */
    rc = check_msg(p, msg, len, local, &in);
    if (rc)
        return rc < 0 ? rc : 1 + rc;
    ptr_hlc_observe(&p->clock, in.rec->hlc);
    rc = load_stored(p, b, in.rec->key.data, in.rec->key.len, &old);
    int have_old = rc == 0;
    if (rc && rc != FFDB_NOTFOUND)
        goto out;
    if (have_old && p->o.bind_keys &&
        memcmp(old.env->signer.data, in.env->signer.data, IDENT_PK_BYTES) != 0) {
        rc = 2 + PTR_R_BINDING;
        goto out;
    }
    if (have_old && rec_cmp(&in, &old) <= 0) {
        rc = 0;
        goto out;
    }
    rc = ffdb_put(b, in.rec->key.data, in.rec->key.len, msg, len);
    if (rc == 0) {
        int was_tomb = have_old && old.rec->op == FFDB__PTR__OP__DEL;
        int is_tomb = in.rec->op == FFDB__PTR__OP__DEL;
        p->st.records += !have_old;
        p->st.tombstones += (uint64_t)(is_tomb - was_tomb);
        rc = 1;
    }
out:
    if (have_old)
        checked_free(&old);
    checked_free(&in);
    return rc;
}

static void count(ptr *p, int outcome)
{
    if (outcome == 1)
        p->st.applied++;
    else if (outcome == 0)
        p->st.stale++;
    else if (outcome > 1)
        p->st.rejects[outcome - 2]++;
}

int ptr_apply_txn(ptr *p, ffdb_txn *t, const uint8_t *const *msgs, const size_t *lens, size_t n,
                  size_t *applied)
{
    assert(p && t && (msgs || n == 0));
    ffdb_bucket *b;
    ptr_stats before = p->st;
    size_t won = 0;
    int rc = ffdb_bucket_open(t, p->bucket, p->bucket_len, &b);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int o = apply_one(p, b, msgs[i], lens[i], 0);
        if (o < 0)
            rc = o;
        else {
            count(p, o);
            won += o == 1;
        }
    }
    if (rc) {
        p->st = before; /* the caller aborts: nothing of the batch is stored */
        won = 0;
    }
    if (applied)
        *applied = won;
    return rc;
}

/* Run fn in a write txn of the handle's own, committed when fn returns 0.
 * The thin wrappers of the *_txn functions (one road). */
static int own_write(ptr *p, int (*fn)(ptr *p, ffdb_txn *t, void *arg), void *arg)
{
    ffdb_txn *t;
    ptr_stats before = p->st;
    int rc = ffdb_begin_write(p->db, &t);
    if (rc)
        return rc;
    rc = fn(p, t, arg);
    if (rc == 0)
        rc = ffdb_commit(t);
    else
        ffdb_abort(t);
    if (rc < 0 && rc != PTR_EBOUND && rc != PTR_ELIMIT)
        p->st = before; /* the engine lost the txn: counters as before it */
    return rc;
}

typedef struct apply_args {
    const uint8_t *const *msgs;
    const size_t *lens;
    size_t n, *applied;
} apply_args;

static int apply_fn(ptr *p, ffdb_txn *t, void *arg)
{
    apply_args *a = arg;
    return ptr_apply_txn(p, t, a->msgs, a->lens, a->n, a->applied);
}

int ptr_apply(ptr *p, const uint8_t *const *msgs, const size_t *lens, size_t n, size_t *applied)
{
    apply_args a = {msgs, lens, n, applied};
    int rc = own_write(p, apply_fn, &a);
    if (rc && applied)
        *applied = 0;
    return rc;
}

/* ---- local writes ------------------------------------------------------------------ */

static int local_write(ptr *p, ffdb_txn *t, int del, const void *key, size_t klen, const void *val,
                       size_t vlen, uint8_t **wire, size_t *wire_len)
{
    assert(p && t && (key || klen == 0) && (val || vlen == 0));
    if (klen > p->o.max_key_bytes || vlen > p->o.max_value_bytes)
        return PTR_ELIMIT;
    Ffdb__Ptr__Record r = FFDB__PTR__RECORD__INIT;
    r.key.data = (uint8_t *)key;
    r.key.len = klen;
    r.op = del ? FFDB__PTR__OP__DEL : FFDB__PTR__OP__SET;
    r.value.data = (uint8_t *)val;
    r.value.len = del ? 0 : vlen;
    r.hlc = ptr_hlc_tick(&p->clock, now_ms(p));
    r.namespace_.data = (uint8_t *)p->ns;
    r.namespace_.len = p->ns_len;
    size_t blen = ffdb__ptr__record__get_packed_size(&r);
    uint8_t *m = malloc(DOMAIN_BYTES + IDENT_PK_BYTES + blen), sig[IDENT_SIG_BYTES];
    if (!m)
        return FFDB_ENOMEM;
    memcpy(m, DOMAIN, DOMAIN_BYTES);
    memcpy(m + DOMAIN_BYTES, p->id->pk, IDENT_PK_BYTES);
    ffdb__ptr__record__pack(&r, m + DOMAIN_BYTES + IDENT_PK_BYTES);
    ident_sign(p->id, m, DOMAIN_BYTES + IDENT_PK_BYTES + blen, sig);
    Ffdb__Ptr__Signed s = FFDB__PTR__SIGNED__INIT;
    s.body.data = m + DOMAIN_BYTES + IDENT_PK_BYTES;
    s.body.len = blen;
    s.signer.data = (uint8_t *)p->id->pk;
    s.signer.len = IDENT_PK_BYTES;
    s.sig.data = sig;
    s.sig.len = IDENT_SIG_BYTES;
    size_t slen = ffdb__ptr__signed__get_packed_size(&s);
    uint8_t *out = malloc(slen);
    if (!out) {
        free(m);
        return FFDB_ENOMEM;
    }
    ffdb__ptr__signed__pack(&s, out);
    free(m);

    /* One road: the local record is applied like a received one. */
    ffdb_bucket *b;
    int rc = ffdb_bucket_open(t, p->bucket, p->bucket_len, &b);
    if (rc == 0) {
        rc = apply_one(p, b, out, slen, 1);
        if (rc == 2 + PTR_R_BINDING)
            rc = PTR_EBOUND;
        /* R4 (the tick is above every record seen) and our own limits make
         * a stale or otherwise rejected local record a bug. */
        assert(rc < 0 || rc == 1 || rc == PTR_EBOUND);
        rc = rc == 1 ? 0 : rc;
    }
    if (rc == 0 && wire) {
        *wire = out;
        *wire_len = slen;
        out = NULL;
    }
    free(out);
    return rc;
}

int ptr_set_txn(ptr *p, ffdb_txn *t, const void *key, size_t klen, const void *val, size_t vlen,
                uint8_t **wire, size_t *wire_len)
{
    return local_write(p, t, 0, key, klen, val, vlen, wire, wire_len);
}

int ptr_del_txn(ptr *p, ffdb_txn *t, const void *key, size_t klen, uint8_t **wire,
                size_t *wire_len)
{
    return local_write(p, t, 1, key, klen, NULL, 0, wire, wire_len);
}

typedef struct write_args {
    int del;
    const void *key, *val;
    size_t klen, vlen;
    uint8_t **wire;
    size_t *wire_len;
} write_args;

static int write_fn(ptr *p, ffdb_txn *t, void *arg)
{
    write_args *a = arg;
    return local_write(p, t, a->del, a->key, a->klen, a->val, a->vlen, a->wire, a->wire_len);
}

/* A local write in a txn of its own; the wire is handed over only once committed. */
static int own_local(ptr *p, int del, const void *key, size_t klen, const void *val, size_t vlen,
                     uint8_t **wire, size_t *wire_len)
{
    uint8_t *w = NULL;
    size_t wl = 0;
    write_args a = {del, key, val, klen, vlen, wire ? &w : NULL, wire ? &wl : NULL};
    int rc = own_write(p, write_fn, &a);
    if (rc == 0 && wire) {
        *wire = w;
        *wire_len = wl;
    } else
        free(w); /* written, but the commit failed: nothing to broadcast */
    return rc;
}

int ptr_set(ptr *p, const void *key, size_t klen, const void *val, size_t vlen, uint8_t **wire,
            size_t *wire_len)
{
    return own_local(p, 0, key, klen, val, vlen, wire, wire_len);
}

int ptr_del(ptr *p, const void *key, size_t klen, uint8_t **wire, size_t *wire_len)
{
    return own_local(p, 1, key, klen, NULL, 0, wire, wire_len);
}

/* ---- reads -------------------------------------------------------------------------- */

int ptr_get_txn(ptr *p, ffdb_txn *t, const void *key, size_t klen, ptr_entry *e)
{
    assert(p && t && e);
    if (p->held) {
        ffdb__ptr__record__free_unpacked(p->held, NULL);
        p->held = NULL;
    }
    ffdb_bucket *b;
    checked c;
    int rc = ffdb_bucket_open(t, p->bucket, p->bucket_len, &b);
    if (rc == 0)
        rc = load_stored(p, b, key, klen, &c);
    if (rc == 0) {
        fill_entry(&c, e);
        p->held = c.rec; /* its bytes are copies; the envelope can go */
        c.rec = NULL;
        checked_free(&c);
    }
    return rc;
}

/* Run fn in a read txn of the handle's own (the wrappers of reads). */
static int own_read(ptr *p, int (*fn)(ptr *p, ffdb_txn *t, void *arg), void *arg)
{
    ffdb_txn *t;
    int rc = ffdb_begin_read(p->db, &t);
    if (rc)
        return rc;
    rc = fn(p, t, arg);
    ffdb_abort(t);
    return rc;
}

typedef struct get_args {
    const void *key;
    size_t klen;
    ptr_entry *e;
} get_args;

static int get_fn(ptr *p, ffdb_txn *t, void *arg)
{
    get_args *a = arg;
    return ptr_get_txn(p, t, a->key, a->klen, a->e);
}

int ptr_get(ptr *p, const void *key, size_t klen, ptr_entry *e)
{
    get_args a = {key, klen, e};
    return own_read(p, get_fn, &a);
}

int ptr_scan_txn(ptr *p, ffdb_txn *t, const void *from, size_t from_len, ptr_visit_fn fn,
                 void *arg)
{
    assert(p && t && fn);
    ffdb_bucket *b;
    ffdb_cursor *cur = NULL;
    ffdb_val k, v;
    int rc;
    if ((rc = ffdb_bucket_open(t, p->bucket, p->bucket_len, &b)) == 0 &&
        (rc = ffdb_cursor_open(b, &cur)) == 0)
        rc = from ? ffdb_cursor_seek(cur, from, from_len, &k, &v) : ffdb_cursor_first(cur, &k, &v);
    while (rc == 0) {
        checked c = {0};
        c.env = ffdb__ptr__signed__unpack(NULL, v.size, v.data);
        if (c.env)
            c.rec = ffdb__ptr__record__unpack(NULL, c.env->body.len, c.env->body.data);
        if (!c.rec || c.env->signer.len != IDENT_PK_BYTES) {
            checked_free(&c);
            rc = PTR_EFORMAT;
            break;
        }
        ptr_entry e;
        fill_entry(&c, &e);
        int stop = fn(arg, &e, v.data, v.size);
        checked_free(&c);
        if (stop) {
            rc = stop;
            break;
        }
        rc = ffdb_cursor_next(cur, &k, &v);
    }
    if (cur)
        ffdb_cursor_close(cur);
    return rc == FFDB_NOTFOUND ? 0 : rc;
}

typedef struct scan_args {
    const void *from;
    size_t from_len;
    ptr_visit_fn fn;
    void *arg;
} scan_args;

static int scan_fn(ptr *p, ffdb_txn *t, void *arg)
{
    scan_args *a = arg;
    return ptr_scan_txn(p, t, a->from, a->from_len, a->fn, a->arg);
}

int ptr_scan(ptr *p, const void *from, size_t from_len, ptr_visit_fn fn, void *arg)
{
    scan_args a = {from, from_len, fn, arg};
    return own_read(p, scan_fn, &a);
}

/* ---- tombstone retention (R3) ---------------------------------------------------------- */

typedef struct gc_list {
    uint8_t **keys;
    size_t *lens, n, cap;
    uint64_t before_ms;
} gc_list;

static int gc_visit(void *arg, const ptr_entry *e, const uint8_t *wire, size_t wire_len)
{
    gc_list *g = arg;
    (void)wire;
    (void)wire_len;
    if (!e->deleted || ptr_hlc_ms(e->hlc) >= g->before_ms)
        return 0;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        uint8_t **k = realloc(g->keys, cap * sizeof *k);
        if (!k)
            return FFDB_ENOMEM;
        g->keys = k;
        size_t *l = realloc(g->lens, cap * sizeof *l);
        if (!l)
            return FFDB_ENOMEM;
        g->lens = l;
        g->cap = cap;
    }
    uint8_t *copy = malloc(e->key.size + 1);
    if (!copy)
        return FFDB_ENOMEM;
    if (e->key.size)
        memcpy(copy, e->key.data, e->key.size);
    g->keys[g->n] = copy;
    g->lens[g->n++] = e->key.size;
    return 0;
}

int ptr_gc_txn(ptr *p, ffdb_txn *t, size_t *purged)
{
    assert(p && t);
    uint64_t now = now_ms(p);
    gc_list g = {.before_ms =
                     now > p->o.tombstone_retention_ms ? now - p->o.tombstone_retention_ms : 0};
    ffdb_bucket *b;
    int rc = ptr_scan_txn(p, t, NULL, 0, gc_visit, &g);
    if (rc == 0 && g.n)
        rc = ffdb_bucket_open(t, p->bucket, p->bucket_len, &b);
    for (size_t i = 0; rc == 0 && i < g.n; i++)
        rc = ffdb_delete(b, g.keys[i], g.lens[i]);
    if (rc == 0) {
        p->st.records -= g.n;
        p->st.tombstones -= g.n;
    }
    if (purged)
        *purged = rc == 0 ? g.n : 0;
    for (size_t i = 0; i < g.n; i++)
        free(g.keys[i]);
    free(g.keys);
    free(g.lens);
    return rc;
}

static int gc_fn(ptr *p, ffdb_txn *t, void *arg)
{
    return ptr_gc_txn(p, t, arg);
}

int ptr_gc(ptr *p, size_t *purged)
{
    int rc = own_write(p, gc_fn, purged);
    if (rc && purged)
        *purged = 0;
    return rc;
}

/* ---- open / close ---------------------------------------------------------------------- */

static int count_visit(void *arg, const ptr_entry *e, const uint8_t *wire, size_t wire_len)
{
    ptr *p = arg;
    (void)wire;
    (void)wire_len;
    p->st.records++;
    p->st.tombstones += (uint64_t)e->deleted;
    ptr_hlc_observe(&p->clock, e->hlc); /* R4 across restarts */
    return 0;
}

/* The handle of ptr_open before any I/O: options and their defaults. */
static int handle_new(ffdb *db, const ident *id, const ptr_opts *opts, ptr **out)
{
    assert(db && id && out);
    ptr *p = calloc(1, sizeof *p);
    if (!p)
        return FFDB_ENOMEM;
    if (opts)
        p->o = *opts;
    const char *ns = p->o.namespace_name ? p->o.namespace_name : "";
    p->o.namespace_name = NULL; /* not kept: copied below */
    p->ns_len = strlen(ns);
    if (p->ns_len > NS_MAX) {
        free(p);
        return FFDB_EINVAL;
    }
    memcpy(p->ns, ns, p->ns_len);
    p->bucket_len = (size_t)snprintf(p->bucket, sizeof p->bucket, BUCKET_PREFIX "%s", p->ns);
    if (!p->o.max_key_bytes)
        p->o.max_key_bytes = 512;
    if (!p->o.max_value_bytes)
        p->o.max_value_bytes = 65536;
    if (!p->o.max_future_skew_ms)
        p->o.max_future_skew_ms = 60000;
    if (!p->o.tombstone_retention_ms)
        p->o.tombstone_retention_ms = 7ull * 24 * 3600 * 1000;
    if (!p->o.now_ms)
        p->o.now_ms = wall_ms;
    p->db = db;
    p->id = id;
    *out = p;
    return 0;
}

int ptr_recount(ptr *p, ffdb_txn *t)
{
    assert(p && t);
    p->st.records = 0;
    p->st.tombstones = 0;
    return ptr_scan_txn(p, t, NULL, 0, count_visit, p);
}

static int open_fn(ptr *p, ffdb_txn *t, void *arg)
{
    ffdb_bucket *b;
    (void)arg;
    int rc = ffdb_bucket_create(t, p->bucket, p->bucket_len, &b);
    rc = rc == FFDB_EXISTS ? 0 : rc;
    return rc ? rc : ptr_recount(p, t);
}

int ptr_open_txn(ffdb *db, ffdb_txn *t, const ident *id, const ptr_opts *opts, ptr **out)
{
    assert(t);
    int rc = handle_new(db, id, opts, out);
    if (rc == 0 && (rc = open_fn(*out, t, NULL)) != 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int ptr_open(ffdb *db, const ident *id, const ptr_opts *opts, ptr **out)
{
    int rc = handle_new(db, id, opts, out);
    if (rc == 0 && (rc = own_write(*out, open_fn, NULL)) != 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

void ptr_close(ptr *p)
{
    if (!p)
        return;
    if (p->held)
        ffdb__ptr__record__free_unpacked(p->held, NULL);
    free(p);
}

void ptr_get_stats(ptr *p, ptr_stats *st)
{
    assert(p && st);
    *st = p->st;
    st->hlc = p->clock.last;
}
