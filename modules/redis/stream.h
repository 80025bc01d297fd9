/*
 * stream.h — the stream type on the store (store_stream.c), for the
 * X... commands (cmd_stream.c). A stream is a collection (STORE_STREAM):
 * its elements are sub entries of its version, told apart by a first byte,
 * so a range read is one cursor walk over contiguous, ID-ordered keys.
 *
 *   field                                    value
 *   0x00                                     state: last ID, max deleted ID (16 each),
 *                                            entries added, length (8 each); big-endian
 *   0x01 | ms(8) | seq(8)                    an entry: u32 count of pairs, then per
 *                                            field and value u32 length + bytes
 *   0x02 | group                             a group: last delivered ID (16),
 *                                            entries read (8; UINT64_MAX = unknown)
 *   0x03 | len(2) | group | ms(8) | seq(8)   a pending entry (PEL): delivery ms (8),
 *                                            delivery count (8), the consumer's name
 *   0x04 | len(2) | group | consumer         a consumer: seen ms (8), active ms (8)
 *
 * All numbers big-endian. The state entry always exists, so m.size (every
 * sub entry, S2) is never 0 for a live stream: an empty stream stays, as
 * in Redis. XLEN is the state's length.
 */
#ifndef FFDB_REDIS_STREAM_H
#define FFDB_REDIS_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "modules/redis/store.h"

enum {
    STREAM_F_STATE = 0,
    STREAM_F_ENTRY = 1,
    STREAM_F_GROUP = 2,
    STREAM_F_PEL = 3,
    STREAM_F_CONSUMER = 4,
};

#define STREAM_NAME_MAX 256 /* group and consumer names */
#define STREAM_FIELD_MAX (1 + 2 + STREAM_NAME_MAX + STREAM_NAME_MAX)

typedef struct stream_id {
    uint64_t ms, seq;
} stream_id;

typedef struct stream_state {
    stream_id last, max_deleted;
    uint64_t entries_added, length;
} stream_state;

typedef struct stream_group {
    stream_id last;
    uint64_t entries_read; /* UINT64_MAX: unknown */
} stream_group;

typedef struct stream_pending {
    stream_id id;
    uint64_t delivery_ms, delivery_count;
    const char *consumer; /* into the engine's bytes */
    size_t consumer_len;
} stream_pending;

int stream_id_cmp(stream_id a, stream_id b);
/* "ms-seq" into buf (>= 42 bytes): its length. */
size_t stream_id_format(stream_id id, char *buf);

/* Field builders: the length written into f (STREAM_FIELD_MAX bytes). */
size_t stream_entry_field(uint8_t *f, stream_id id);
size_t stream_group_field(uint8_t *f, const void *group, size_t glen);
size_t stream_pel_field(uint8_t *f, const void *group, size_t glen, stream_id id);
size_t stream_consumer_field(uint8_t *f, const void *group, size_t glen, const void *name,
                             size_t nlen);
/* The ID of an entry or PEL field (the bytes after the prefix). */
stream_id stream_field_id(const uint8_t *p);

/* The state: 0, or FFDB_CORRUPT / engine codes. */
int stream_state_get(store_txn *st, const store_meta *m, stream_state *s);
int stream_state_put(store_txn *st, const store_meta *m, const stream_state *s);
int stream_group_get(store_txn *st, const store_meta *m, const void *g, size_t glen,
                     stream_group *out); /* FFDB_NOTFOUND */
int stream_group_put(store_txn *st, const store_meta *m, const void *g, size_t glen,
                     const stream_group *grp);
int stream_pending_decode(const ffdb_val *field, const ffdb_val *val, size_t glen,
                          stream_pending *p);
/* Encode pairs of args (field, value, ...) as an entry value (malloc'd). */
void *stream_entry_encode(const void *const *p, const size_t *n, int count, size_t *len);
/* Walk the pairs of an entry value: fn(arg, bytes, len) per string; FFDB_CORRUPT if malformed. */
int stream_entry_pairs(const ffdb_val *v, uint32_t *count);
int stream_entry_each(const ffdb_val *v, void (*fn)(void *arg, const void *p, size_t n), void *arg);

#endif /* FFDB_REDIS_STREAM_H */
