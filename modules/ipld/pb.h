/*
 * pb.h — protobuf wire helpers shared by dagpb.c and unixfs.c (private to
 * the module). A reader over buf[pos..len) and writers into out[pos..cap).
 * Protobuf varints may take 10 bytes and need not be minimal, unlike
 * multiformats varints (ipld_varint_get).
 */
#ifndef FFDB_IPLD_PB_H
#define FFDB_IPLD_PB_H

#include <stddef.h>
#include <stdint.h>

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

typedef struct pb_reader {
    const uint8_t *buf;
    size_t len, pos;
} pb_reader;

int pb_read_varint(pb_reader *r, uint64_t *v);
/* Field key: *field and *wire. */
int pb_read_key(pb_reader *r, uint32_t *field, unsigned *wire);
/* A length-delimited payload: *p and *n, bounds-checked. */
int pb_read_bytes(pb_reader *r, const uint8_t **p, size_t *n);
/* Skip a field of the wire type (groups are refused). */
int pb_skip(pb_reader *r, unsigned wire);

/* Sizes and writers (the caller sized out with the size functions). */
size_t pb_key_size(uint32_t field);
size_t pb_put_key(uint8_t *out, uint32_t field, unsigned wire);
size_t pb_varint_field_size(uint32_t field, uint64_t v);
size_t pb_put_varint_field(uint8_t *out, uint32_t field, uint64_t v);
size_t pb_bytes_field_size(uint32_t field, size_t n);
size_t pb_put_bytes_field(uint8_t *out, uint32_t field, const void *p, size_t n);

#endif
