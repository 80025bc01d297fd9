/*
 * dict.h — a small hash table from byte strings to pointers, for the
 * server's in-memory indexes: commands by name, watched keys, pub/sub
 * channels. Keys are copied in; values are the caller's. Chained buckets,
 * doubled when the load passes 1, so every operation is O(1) on average.
 *
 * Not for the keyspace (that lives in the file); single-threaded.
 */
#ifndef FFDB_NET_DICT_H
#define FFDB_NET_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct net_dict_entry {
    struct net_dict_entry *next;
    uint64_t hash;
    void *value;
    size_t klen;
    char key[]; /* klen bytes, then a NUL for convenience */
} net_dict_entry;

typedef struct net_dict {
    net_dict_entry **slots;
    size_t slot_count; /* a power of two, or 0 before the first insert */
    size_t count;
    int nocase; /* keys compare ASCII-case-insensitively (command names) */
} net_dict;

void net_dict_init(net_dict *d, int nocase);
/* Free the entries (not the values). */
void net_dict_free(net_dict *d);
net_dict_entry *net_dict_find(const net_dict *d, const void *key, size_t klen);
/* The entry for key, created with value NULL if absent (*created = 1).
 * NULL if out of memory. */
net_dict_entry *net_dict_upsert(net_dict *d, const void *key, size_t klen, int *created);
/* Remove key's entry; its value is the caller's to free first. */
void net_dict_remove(net_dict *d, const void *key, size_t klen);

/* Visit every entry (do not change the dict meanwhile); stop at a non-zero
 * return and give it back. */
int net_dict_each(const net_dict *d, int (*fn)(void *arg, net_dict_entry *e), void *arg);

/* 64-bit hash of bytes (FNV-1a with a final mix). */
uint64_t net_dict_hash(const void *key, size_t klen, int nocase);

#endif /* FFDB_NET_DICT_H */
