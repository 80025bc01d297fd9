/*
 * pb.c — the protobuf wire format helpers of pb.h: varints (10 bytes at
 * most), field keys, length-delimited payloads. Used by dagpb.c and
 * unixfs.c only. Must never read past r->len.
 */
#include <assert.h>
#include <string.h>

#include "modules/ipld/ipld.h"
#include "modules/ipld/pb.h"

int pb_read_varint(pb_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 10 && r->pos < r->len; i++) {
        uint8_t b = r->buf[r->pos++];
        if (i == 9 && b > 1)
            return IPLD_EFORMAT; /* more than 64 bits */
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return IPLD_EFORMAT;
}

int pb_read_key(pb_reader *r, uint32_t *field, unsigned *wire)
{
    uint64_t k;
    if (pb_read_varint(r, &k) || (k >> 3) == 0 || (k >> 3) > UINT32_MAX)
        return IPLD_EFORMAT;
    *field = (uint32_t)(k >> 3);
    *wire = (unsigned)(k & 7);
    return 0;
}

int pb_read_bytes(pb_reader *r, const uint8_t **p, size_t *n)
{
    uint64_t len;
    if (pb_read_varint(r, &len) || len > r->len - r->pos)
        return IPLD_EFORMAT;
    *p = r->buf + r->pos;
    *n = (size_t)len;
    r->pos += (size_t)len;
    return 0;
}

int pb_skip(pb_reader *r, unsigned wire)
{
    uint64_t v;
    const uint8_t *p;
    size_t n;
    switch (wire) {
    case PB_VARINT:
        return pb_read_varint(r, &v);
    case PB_LEN:
        return pb_read_bytes(r, &p, &n);
    case PB_I64:
    case PB_I32:
        n = wire == PB_I64 ? 8 : 4;
        if (r->len - r->pos < n)
            return IPLD_EFORMAT;
        r->pos += n;
        return 0;
    default:
        return IPLD_EFORMAT;
    }
}

size_t pb_key_size(uint32_t field)
{
    return ipld_varint_size((uint64_t)field << 3);
}

size_t pb_put_key(uint8_t *out, uint32_t field, unsigned wire)
{
    return ipld_varint_put(out, ((uint64_t)field << 3) | wire);
}

size_t pb_varint_field_size(uint32_t field, uint64_t v)
{
    return pb_key_size(field) + ipld_varint_size(v);
}

size_t pb_put_varint_field(uint8_t *out, uint32_t field, uint64_t v)
{
    size_t n = pb_put_key(out, field, PB_VARINT);
    return n + ipld_varint_put(out + n, v);
}

size_t pb_bytes_field_size(uint32_t field, size_t len)
{
    return pb_key_size(field) + ipld_varint_size(len) + len;
}

size_t pb_put_bytes_field(uint8_t *out, uint32_t field, const void *p, size_t len)
{
    size_t n = pb_put_key(out, field, PB_LEN);
    n += ipld_varint_put(out + n, len);
    if (len)
        memcpy(out + n, p, len);
    return n + len;
}
