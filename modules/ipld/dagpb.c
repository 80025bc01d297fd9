/*
 * dagpb.c — the dag-pb codec (the DAG-PB spec): PBNode { Links = 2 (repeated
 * PBLink), Data = 1 }, PBLink { Hash = 1, Name = 2, Tsize = 3 }.
 *
 * Owns: the canonical encoder (links first, then Data; link fields in field
 * order) and a strict decoder. Called by the UnixFS importer and exporter,
 * the GC's and CAR export's link walkers, and the gateway later. Must never
 * accept what the spec calls a bad block: unknown fields or wire types,
 * duplicate or out-of-order link fields, a link without a valid CID Hash.
 * Protobuf libraries accept all of those, which is why this is written by
 * hand (see README.md).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "modules/ipld/ipld.h"
#include "modules/ipld/pb.h"

enum { NODE_DATA = 1, NODE_LINKS = 2, LINK_HASH = 1, LINK_NAME = 2, LINK_TSIZE = 3 };

/* One PBLink message body. Invariant P1: fields appear in increasing field
 * number, each at most once, Hash among them. */
static int decode_link(const uint8_t *p, size_t n, ipld_pb_link *l)
{
    pb_reader r = {p, n, 0};
    uint32_t field, last = 0;
    unsigned wire;
    const uint8_t *b;
    size_t bn;
    int have_hash = 0;
    memset(l, 0, sizeof *l);
    while (r.pos < r.len) {
        if (pb_read_key(&r, &field, &wire) || field <= last)
            return IPLD_EFORMAT;
        last = field;
        if (field == LINK_HASH && wire == PB_LEN) {
            if (pb_read_bytes(&r, &b, &bn) || ipld_cid_from_bytes(b, bn, &l->cid))
                return IPLD_EFORMAT;
            have_hash = 1;
        } else if (field == LINK_NAME && wire == PB_LEN) {
            if (pb_read_bytes(&r, &l->name, &l->name_len))
                return IPLD_EFORMAT;
            l->has_name = 1;
        } else if (field == LINK_TSIZE && wire == PB_VARINT) {
            if (pb_read_varint(&r, &l->tsize))
                return IPLD_EFORMAT;
            l->has_tsize = 1;
        } else {
            return IPLD_EFORMAT;
        }
    }
    /* P1 makes a Hash after Name or Tsize impossible; it must be there. */
    return have_hash ? 0 : IPLD_EFORMAT;
}

/* Counts the links first so the array is allocated once. */
static int count_links(const uint8_t *buf, size_t len, size_t *count)
{
    pb_reader r = {buf, len, 0};
    uint32_t field;
    unsigned wire;
    *count = 0;
    while (r.pos < r.len) {
        if (pb_read_key(&r, &field, &wire) || wire != PB_LEN ||
            (field != NODE_DATA && field != NODE_LINKS) || pb_skip(&r, wire))
            return IPLD_EFORMAT;
        if (field == NODE_LINKS)
            (*count)++;
    }
    return 0;
}

int ipld_pb_decode(const uint8_t *buf, size_t len, ipld_pb_node *node)
{
    pb_reader r = {buf, len, 0};
    uint32_t field;
    unsigned wire;
    const uint8_t *p;
    size_t n, count;
    int rc, links_done = 0;
    assert(node && (buf || len == 0));
    memset(node, 0, sizeof *node);
    if ((rc = count_links(buf, len, &count)) != 0)
        return rc;
    if (count && !(node->links = calloc(count, sizeof *node->links)))
        return IPLD_ENOMEM;
    while (r.pos < r.len) {
        if ((rc = pb_read_key(&r, &field, &wire)) || (rc = pb_read_bytes(&r, &p, &n)))
            goto fail;
        rc = IPLD_EFORMAT;
        if (field == NODE_DATA) {
            if (node->has_data)
                goto fail; /* duplicate Data */
            node->has_data = 1, node->data = p, node->data_len = n;
            links_done = node->link_count > 0;
        } else {
            /* Links are contiguous: none may follow Data that followed links. */
            if (links_done || (rc = decode_link(p, n, &node->links[node->link_count])) != 0)
                goto fail;
            node->link_count++;
        }
    }
    assert(node->link_count == count);
    return 0;
fail:
    ipld_pb_node_free(node);
    return rc ? rc : IPLD_EFORMAT;
}

void ipld_pb_node_free(ipld_pb_node *node)
{
    if (!node)
        return;
    free(node->links);
    node->links = NULL;
    node->link_count = 0;
}

static size_t link_body_size(const ipld_pb_link *l)
{
    uint8_t bin[IPLD_CID_BIN_MAX];
    size_t n = pb_bytes_field_size(LINK_HASH, ipld_cid_to_bytes(&l->cid, bin));
    if (l->has_name)
        n += pb_bytes_field_size(LINK_NAME, l->name_len);
    if (l->has_tsize)
        n += pb_varint_field_size(LINK_TSIZE, l->tsize);
    return n;
}

size_t ipld_pb_encoded_size(const ipld_pb_node *node)
{
    size_t n = 0;
    assert(node);
    for (size_t i = 0; i < node->link_count; i++)
        n += pb_bytes_field_size(NODE_LINKS, link_body_size(&node->links[i]));
    if (node->has_data)
        n += pb_bytes_field_size(NODE_DATA, node->data_len);
    return n;
}

int ipld_pb_encode(const ipld_pb_node *node, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t bin[IPLD_CID_BIN_MAX];
    size_t pos = 0, need = ipld_pb_encoded_size(node);
    assert(out || cap == 0);
    if (need > cap)
        return IPLD_ESPACE;
    for (size_t i = 0; i < node->link_count; i++) {
        const ipld_pb_link *l = &node->links[i];
        size_t bn = ipld_cid_to_bytes(&l->cid, bin);
        pos += pb_put_key(out + pos, NODE_LINKS, PB_LEN);
        pos += ipld_varint_put(out + pos, link_body_size(l));
        pos += pb_put_bytes_field(out + pos, LINK_HASH, bin, bn);
        if (l->has_name)
            pos += pb_put_bytes_field(out + pos, LINK_NAME, l->name, l->name_len);
        if (l->has_tsize)
            pos += pb_put_varint_field(out + pos, LINK_TSIZE, l->tsize);
    }
    if (node->has_data)
        pos += pb_put_bytes_field(out + pos, NODE_DATA, node->data, node->data_len);
    assert(pos == need);
    *len = pos;
    return 0;
}

static int name_cmp(const ipld_pb_link *a, const ipld_pb_link *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = n ? memcmp(a->name, b->name, n) : 0;
    if (c)
        return c;
    return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

int ipld_pb_sort_links(ipld_pb_link *links, size_t count)
{
    /* Bottom-up merge sort: stable, O(n log n) moves of the large link
     * structs (directories hold thousands). */
    ipld_pb_link *tmp, *src = links, *dst;
    if (count < 2)
        return 0;
    if (!(tmp = malloc(count * sizeof *tmp)))
        return IPLD_ENOMEM;
    dst = tmp;
    for (size_t width = 1; width < count; width *= 2) {
        for (size_t lo = 0; lo < count; lo += 2 * width) {
            size_t mid = lo + width < count ? lo + width : count;
            size_t hi = lo + 2 * width < count ? lo + 2 * width : count;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = name_cmp(&src[j], &src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        ipld_pb_link *t = src;
        src = dst, dst = t;
    }
    if (src != links)
        memcpy(links, src, count * sizeof *links);
    free(tmp);
    return 0;
}
