/*
 * verify.c — what "recovered correctly" means, checked the same way in
 * every mode.
 *
 * After a crash the database must open, ffdb_check must find no problem and
 * account for every page (reachable + free == page_count), and its contents
 * (digest and txid, from a full scan in a read snapshot) must be exactly
 * those of the last acknowledged commit, or of the one commit that was in
 * flight when that is possible, or (FFDB_NOMETASYNC) of the newest commit
 * known durable, the one before the acknowledged one when no later sync
 * returned — nothing older, newer or in between.
 * Callers say which states are acceptable (struct expect); this file only
 * judges and explains. It never writes to the database.
 */
#include <stdio.h>
#include <string.h>

#include "tools/crash/crash.h"

struct problems {
    uint64_t count;
    uint64_t first_pgno;
    char first[200];
};

static void report(void *arg, uint64_t pgno, const char *problem)
{
    struct problems *p = arg;
    if (p->count++ == 0) {
        p->first_pgno = pgno;
        snprintf(p->first, sizeof(p->first), "%s", problem);
    }
}

int verify_check(ffdb *db, char *why, size_t why_len)
{
    struct problems p;
    ffdb_check_result res;
    int rc;
    memset(&p, 0, sizeof(p));
    memset(&res, 0, sizeof(res));
    rc = ffdb_check(db, report, &p, &res);
    if (rc != 0 || p.count) {
        snprintf(why, why_len, "ffdb_check: %s, %llu problem(s); first: %s", ffdb_strerror(rc),
                 (unsigned long long)p.count, p.count ? p.first : "-");
        return -1;
    }
    if (res.reachable_pages + res.free_pages != res.page_count) {
        snprintf(why, why_len,
                 "ffdb_check: %llu reachable + %llu free pages != %llu pages in the file",
                 (unsigned long long)res.reachable_pages, (unsigned long long)res.free_pages,
                 (unsigned long long)res.page_count);
        return -1;
    }
    return 0;
}

void expect_from(struct expect *e, const struct workload *w, int inflight_possible)
{
    memset(e, 0, sizeof(*e));
    e->acked_txid = w->acked_txid;
    e->acked_digest = w->acked_digest;
    e->inflight_possible = inflight_possible;
    e->inflight_txid = w->inflight_txid;
    e->inflight_digest = w->inflight_digest;
    e->durable_possible =
        w->nometasync && (w->durable_txid != w->acked_txid || w->durable_digest != w->acked_digest);
    e->durable_txid = w->durable_txid;
    e->durable_digest = w->durable_digest;
    e->hist = w->defersync ? w : NULL;
}

int verify_contents(ffdb *db, const struct expect *e, int *which_out, char *why, size_t why_len)
{
    char older[128] = "";
    uint64_t digest, txid;
    int rc = db_digest(db, &digest, &txid);
    if (rc) {
        snprintf(why, why_len, "reading the contents back failed: %s", ffdb_strerror(rc));
        return -1;
    }
    if (txid == e->acked_txid && digest == e->acked_digest) {
        if (which_out)
            *which_out = 0;
        return 0;
    }
    if (e->inflight_possible && txid == e->inflight_txid && digest == e->inflight_digest) {
        if (which_out)
            *which_out = 1;
        return 0;
    }
    if (e->durable_possible && txid == e->durable_txid && digest == e->durable_digest) {
        if (which_out)
            *which_out = 2;
        return 0;
    }
    for (size_t i = 0; e->hist && i < e->hist->nhist; i++) {
        if (txid == e->hist->hist[i].txid && digest == e->hist->hist[i].digest) {
            if (which_out)
                *which_out = 3;
            return 0;
        }
    }
    if (e->hist)
        snprintf(older, sizeof(older), " or one of the %zu since the last sync (txid %llu..)",
                 e->hist->nhist, (unsigned long long)e->hist->hist[0].txid);
    if (e->durable_possible)
        snprintf(older, sizeof(older), " or the durable one before it (txid %llu digest %016llx)",
                 (unsigned long long)e->durable_txid, (unsigned long long)e->durable_digest);
    if (e->inflight_possible)
        snprintf(why, why_len,
                 "recovered txid %llu digest %016llx; expected the acknowledged commit (txid %llu "
                 "digest %016llx)%s or the one in flight (txid %llu digest %016llx)",
                 (unsigned long long)txid, (unsigned long long)digest,
                 (unsigned long long)e->acked_txid, (unsigned long long)e->acked_digest, older,
                 (unsigned long long)e->inflight_txid, (unsigned long long)e->inflight_digest);
    else
        snprintf(why, why_len,
                 "recovered txid %llu digest %016llx; expected the acknowledged commit (txid %llu "
                 "digest %016llx)%s%s",
                 (unsigned long long)txid, (unsigned long long)digest,
                 (unsigned long long)e->acked_txid, (unsigned long long)e->acked_digest, older,
                 txid == e->inflight_txid && digest == e->inflight_digest
                     ? " — it is the commit in flight, whose meta was never written"
                     : "");
    return -1;
}

int verify_reopen(const char *path, const ffdb_options *opt, const struct expect *e, int *which_out,
                  ffdb **keep, char *why, size_t why_len)
{
    ffdb *db = NULL;
    int rc = ffdb_open(path, opt, &db);
    if (keep)
        *keep = NULL;
    if (rc) {
        ffdb_error_info ei;
        ffdb_last_error(&ei);
        snprintf(why, why_len, "reopen failed: %s (%s)", ffdb_strerror(rc), ei.message);
        return -1;
    }
    rc = verify_check(db, why, why_len);
    if (rc == 0)
        rc = verify_contents(db, e, which_out, why, why_len);
    if (rc == 0 && keep)
        *keep = db;
    else
        ffdb_close(db);
    return rc;
}

/* ---- explaining a difference ---------------------------------------------------------- */

struct diff {
    struct mbucket *mb;
    size_t next; /* next model entry expected */
    uint64_t extra, missing, changed;
    char first[160];
};

static void note(struct diff *d, const char *what, const void *key, size_t klen)
{
    if (d->first[0] == 0)
        snprintf(d->first, sizeof(d->first), "%s key %.*s", what, (int)(klen < 48 ? klen : 48),
                 (const char *)key);
}

void verify_diff(ffdb *db, struct model *m, char *out, size_t out_len)
{
    ffdb_txn *txn;
    size_t used = 0;
    out[0] = 0;
    if (ffdb_begin_read(db, &txn) != 0)
        return;
    for (int b = 0; b < NBUCKETS && used + 1 < out_len; b++) {
        struct diff d;
        ffdb_bucket *h;
        ffdb_cursor *c;
        ffdb_val k, v;
        int rc, n;
        memset(&d, 0, sizeof(d));
        d.mb = &m->b[b];
        rc = ffdb_bucket_open(txn, bucket_names[b], strlen(bucket_names[b]), &h);
        if (rc || !d.mb->exists) {
            if ((rc == 0) != (d.mb->exists != 0)) {
                n = snprintf(out + used, out_len - used, " bucket %s: %s;", bucket_names[b],
                             rc == 0 ? "present, expected absent" : "absent, expected present");
                used += n > 0 ? (size_t)n : 0;
            }
            continue;
        }
        if (ffdb_cursor_open(h, &c) != 0)
            continue;
        for (rc = ffdb_cursor_first(c, &k, &v); rc == 0; rc = ffdb_cursor_next(c, &k, &v)) {
            while (d.next < d.mb->n &&
                   key_cmp(d.mb->e[d.next].key, d.mb->e[d.next].klen, k.data, k.size) < 0) {
                note(&d, "missing", d.mb->e[d.next].key, d.mb->e[d.next].klen);
                d.missing++;
                d.next++;
            }
            if (d.next < d.mb->n &&
                key_cmp(d.mb->e[d.next].key, d.mb->e[d.next].klen, k.data, k.size) == 0) {
                const struct mval *mv = &d.mb->e[d.next].v;
                uint8_t want[64];
                value_fill(want, mv->len < 64 ? mv->len : 64, mv->vseed);
                if (v.size != mv->len ||
                    (v.size && memcmp(v.data, want, v.size < 64 ? v.size : 64) != 0)) {
                    note(&d, "changed", k.data, k.size);
                    d.changed++;
                }
                d.next++;
            } else {
                note(&d, "unexpected", k.data, k.size);
                d.extra++;
            }
        }
        for (; d.next < d.mb->n; d.next++) {
            note(&d, "missing", d.mb->e[d.next].key, d.mb->e[d.next].klen);
            d.missing++;
        }
        ffdb_cursor_close(c);
        if (d.missing || d.extra || d.changed) {
            n = snprintf(out + used, out_len - used,
                         " bucket %s: %llu missing, %llu unexpected, %llu changed (first: %s);",
                         bucket_names[b], (unsigned long long)d.missing,
                         (unsigned long long)d.extra, (unsigned long long)d.changed, d.first);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    ffdb_abort(txn);
}
