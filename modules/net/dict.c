/*
 * dict.c — the server's in-memory hash table (see dict.h).
 */
#include "modules/net/dict.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

uint64_t net_dict_hash(const void *key, size_t klen, int nocase)
{
    const unsigned char *p = key;
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (size_t i = 0; i < klen; i++) {
        h ^= nocase ? lower(p[i]) : p[i];
        h *= UINT64_C(0x100000001b3);
    }
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

void net_dict_init(net_dict *d, int nocase)
{
    memset(d, 0, sizeof(*d));
    d->nocase = nocase;
}

void net_dict_free(net_dict *d)
{
    for (size_t i = 0; i < d->slot_count; i++) {
        net_dict_entry *e = d->slots[i];
        while (e) {
            net_dict_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(d->slots);
    d->slots = NULL;
    d->slot_count = d->count = 0;
}

static int same(const net_dict *d, const net_dict_entry *e, uint64_t h, const void *key,
                size_t klen)
{
    if (e->hash != h || e->klen != klen)
        return 0;
    return d->nocase ? strncasecmp(e->key, key, klen) == 0 : memcmp(e->key, key, klen) == 0;
}

net_dict_entry *net_dict_find(const net_dict *d, const void *key, size_t klen)
{
    uint64_t h;

    if (!d->slot_count)
        return NULL;
    h = net_dict_hash(key, klen, d->nocase);
    for (net_dict_entry *e = d->slots[h & (d->slot_count - 1)]; e; e = e->next)
        if (same(d, e, h, key, klen))
            return e;
    return NULL;
}

static int grow(net_dict *d)
{
    size_t n = d->slot_count ? d->slot_count * 2 : 16;
    net_dict_entry **slots = calloc(n, sizeof(*slots));

    if (!slots)
        return -1;
    for (size_t i = 0; i < d->slot_count; i++) {
        net_dict_entry *e = d->slots[i];
        while (e) {
            net_dict_entry *next = e->next;
            e->next = slots[e->hash & (n - 1)];
            slots[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(d->slots);
    d->slots = slots;
    d->slot_count = n;
    return 0;
}

net_dict_entry *net_dict_upsert(net_dict *d, const void *key, size_t klen, int *created)
{
    net_dict_entry *e = net_dict_find(d, key, klen);
    uint64_t h;

    if (created)
        *created = 0;
    if (e)
        return e;
    if (d->count >= d->slot_count && grow(d))
        return NULL;
    e = malloc(sizeof(*e) + klen + 1);
    if (!e)
        return NULL;
    h = net_dict_hash(key, klen, d->nocase);
    e->hash = h;
    e->value = NULL;
    e->klen = klen;
    memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    e->next = d->slots[h & (d->slot_count - 1)];
    d->slots[h & (d->slot_count - 1)] = e;
    d->count++;
    if (created)
        *created = 1;
    return e;
}

void net_dict_remove(net_dict *d, const void *key, size_t klen)
{
    uint64_t h;
    net_dict_entry **pp;

    if (!d->slot_count)
        return;
    h = net_dict_hash(key, klen, d->nocase);
    for (pp = &d->slots[h & (d->slot_count - 1)]; *pp; pp = &(*pp)->next)
        if (same(d, *pp, h, key, klen)) {
            net_dict_entry *e = *pp;
            *pp = e->next;
            free(e);
            d->count--;
            return;
        }
}

int net_dict_each(const net_dict *d, int (*fn)(void *arg, net_dict_entry *e), void *arg)
{
    for (size_t i = 0; i < d->slot_count; i++)
        for (net_dict_entry *e = d->slots[i]; e; e = e->next) {
            int rc = fn(arg, e);
            if (rc)
                return rc;
        }
    return 0;
}
