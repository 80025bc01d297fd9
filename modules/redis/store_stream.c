/*
 * store_stream.c — the byte layout of streams on the store (stream.h):
 * field builders, the state and group records, entries' values, PEL
 * records. It reads and writes only through store_sub_get/put.
 */
#include <stdlib.h>
#include <string.h>

#include "modules/redis/store_int.h"
#include "modules/redis/stream.h"

int stream_id_cmp(stream_id a, stream_id b)
{
    if (a.ms != b.ms)
        return a.ms < b.ms ? -1 : 1;
    if (a.seq != b.seq)
        return a.seq < b.seq ? -1 : 1;
    return 0;
}

static size_t u64_text(uint64_t v, char *buf)
{
    char tmp[24];
    size_t n = 0, i = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    while (n)
        buf[i++] = tmp[--n];
    return i;
}

size_t stream_id_format(stream_id id, char *buf)
{
    size_t n = u64_text(id.ms, buf);
    buf[n++] = '-';
    return n + u64_text(id.seq, buf + n);
}

static size_t id_put(uint8_t *p, stream_id id)
{
    be64_put(p, id.ms);
    be64_put(p + 8, id.seq);
    return 16;
}

stream_id stream_field_id(const uint8_t *p)
{
    stream_id id = {be64_get(p), be64_get(p + 8)};
    return id;
}

size_t stream_entry_field(uint8_t *f, stream_id id)
{
    f[0] = STREAM_F_ENTRY;
    return 1 + id_put(f + 1, id);
}

static size_t named(uint8_t *f, int kind, const void *g, size_t glen)
{
    f[0] = (uint8_t)kind;
    f[1] = (uint8_t)(glen >> 8);
    f[2] = (uint8_t)glen;
    memcpy(f + 3, g, glen);
    return 3 + glen;
}

size_t stream_group_field(uint8_t *f, const void *group, size_t glen)
{
    f[0] = STREAM_F_GROUP;
    memcpy(f + 1, group, glen);
    return 1 + glen;
}

size_t stream_pel_field(uint8_t *f, const void *group, size_t glen, stream_id id)
{
    size_t n = named(f, STREAM_F_PEL, group, glen);
    return n + id_put(f + n, id);
}

size_t stream_consumer_field(uint8_t *f, const void *group, size_t glen, const void *name,
                             size_t nlen)
{
    size_t n = named(f, STREAM_F_CONSUMER, group, glen);
    memcpy(f + n, name, nlen);
    return n + nlen;
}

int stream_state_get(store_txn *st, const store_meta *m, stream_state *s)
{
    uint8_t f = STREAM_F_STATE;
    ffdb_val v;
    int rc = store_sub_get(st, m, &f, 1, &v);

    if (rc == FFDB_NOTFOUND)
        return FFDB_CORRUPT; /* every stream has one */
    if (rc)
        return rc;
    if (v.size < 48)
        return FFDB_CORRUPT;
    const uint8_t *p = v.data;
    s->last = stream_field_id(p);
    s->max_deleted = stream_field_id(p + 16);
    s->entries_added = be64_get(p + 32);
    s->length = be64_get(p + 40);
    return 0;
}

int stream_state_put(store_txn *st, const store_meta *m, const stream_state *s)
{
    uint8_t f = STREAM_F_STATE, p[48];

    id_put(p, s->last);
    id_put(p + 16, s->max_deleted);
    be64_put(p + 32, s->entries_added);
    be64_put(p + 40, s->length);
    return store_sub_put(st, m, &f, 1, p, sizeof(p));
}

int stream_group_get(store_txn *st, const store_meta *m, const void *g, size_t glen,
                     stream_group *out)
{
    uint8_t f[STREAM_FIELD_MAX];
    ffdb_val v;
    int rc;

    if (glen > STREAM_NAME_MAX)
        return FFDB_NOTFOUND;
    rc = store_sub_get(st, m, f, stream_group_field(f, g, glen), &v);
    if (rc)
        return rc;
    if (v.size < 24)
        return FFDB_CORRUPT;
    out->last = stream_field_id(v.data);
    out->entries_read = be64_get((const uint8_t *)v.data + 16);
    return 0;
}

int stream_group_put(store_txn *st, const store_meta *m, const void *g, size_t glen,
                     const stream_group *grp)
{
    uint8_t f[STREAM_FIELD_MAX], v[24];

    id_put(v, grp->last);
    be64_put(v + 16, grp->entries_read);
    return store_sub_put(st, m, f, stream_group_field(f, g, glen), v, sizeof(v));
}

int stream_pending_decode(const ffdb_val *field, const ffdb_val *val, size_t glen,
                          stream_pending *p)
{
    if (field->size != 3 + glen + 16 || val->size < 16)
        return FFDB_CORRUPT;
    p->id = stream_field_id((const uint8_t *)field->data + 3 + glen);
    p->delivery_ms = be64_get(val->data);
    p->delivery_count = be64_get((const uint8_t *)val->data + 8);
    p->consumer = (const char *)val->data + 16;
    p->consumer_len = val->size - 16;
    return 0;
}

static void u32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t u32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void *stream_entry_encode(const void *const *p, const size_t *n, int count, size_t *len)
{
    size_t total = 4;
    uint8_t *buf, *q;

    for (int i = 0; i < count; i++)
        total += 4 + n[i];
    buf = malloc(total);
    if (!buf)
        return NULL;
    u32_put(buf, (uint32_t)(count / 2));
    q = buf + 4;
    for (int i = 0; i < count; i++) {
        u32_put(q, (uint32_t)n[i]);
        memcpy(q + 4, p[i], n[i]);
        q += 4 + n[i];
    }
    *len = total;
    return buf;
}

int stream_entry_pairs(const ffdb_val *v, uint32_t *count)
{
    if (v->size < 4)
        return FFDB_CORRUPT;
    *count = u32_get(v->data);
    return 0;
}

int stream_entry_each(const ffdb_val *v, void (*fn)(void *arg, const void *p, size_t n), void *arg)
{
    const uint8_t *p = v->data, *end = p + v->size;
    uint32_t pairs;

    if (v->size < 4)
        return FFDB_CORRUPT;
    pairs = u32_get(p);
    p += 4;
    for (uint64_t i = 0; i < 2 * (uint64_t)pairs; i++) {
        uint32_t n;
        if (end - p < 4 || (n = u32_get(p)) > (size_t)(end - p - 4))
            return FFDB_CORRUPT;
        fn(arg, p + 4, n);
        p += 4 + n;
    }
    return 0;
}
