/*
 * cid.c — content identifiers, versions 0 and 1 (the CID spec).
 *
 * Owns: the binary and text forms of a CID, their validation, and the
 * computation and verification of a CID over data. Called by everything
 * that names a block. Must never: accept a CID whose text or bytes carry
 * anything after the digest, or a v0 CID that is not dag-pb/sha2-256.
 *
 * Binary (what dag-pb links, CAR sections, dag-cbor tag 42 and the block
 * store's keys hold):
 *   v0: 0x12 0x20 <32-byte sha2-256 digest>        (a bare multihash)
 *   v1: varint(1) varint(codec) varint(mh code) varint(digest length) digest
 * Text: v0 is the binary in bare base58btc (46 characters, "Qm..."); v1 is a
 * multibase string, base32 lower ('b') by default.
 */
#include <assert.h>
#include <string.h>

#include "modules/ipld/ipld.h"

#define V0_LEN 34
#define V0_TEXT_LEN 46
#define CODE_MAX (UINT64_C(1) << 63)

int ipld_cid_validate(const ipld_cid *cid)
{
    int size;
    assert(cid);
    if (cid->version == 0)
        return (cid->codec == IPLD_CODEC_DAG_PB && cid->mh_code == IPLD_MH_SHA2_256 &&
                cid->digest_len == 32)
                   ? 0
                   : IPLD_EFORMAT;
    if (cid->version != 1 || cid->codec >= CODE_MAX || cid->mh_code >= CODE_MAX ||
        cid->digest_len > IPLD_DIGEST_MAX)
        return IPLD_EFORMAT;
    size = ipld_mh_digest_size(cid->mh_code);
    if (size > 0 && (size_t)size != cid->digest_len)
        return IPLD_EFORMAT;
    return 0;
}

int ipld_cid_of(unsigned version, uint64_t codec, uint64_t mh_code, const void *data, size_t len,
                ipld_cid *cid)
{
    int rc;
    assert(cid);
    memset(cid, 0, sizeof *cid);
    cid->version = (uint8_t)version;
    cid->codec = codec;
    cid->mh_code = mh_code;
    if ((rc = ipld_mh_sum(mh_code, data, len, cid->digest, &cid->digest_len)) != 0)
        return rc;
    return ipld_cid_validate(cid);
}

int ipld_cid_verify(const ipld_cid *cid, const void *data, size_t len)
{
    uint8_t digest[IPLD_DIGEST_MAX];
    size_t n;
    int rc;
    assert(cid);
    if (cid->mh_code == IPLD_MH_IDENTITY && len > IPLD_DIGEST_MAX)
        return IPLD_EMISMATCH;
    if ((rc = ipld_mh_sum(cid->mh_code, data, len, digest, &n)) != 0)
        return rc;
    if (n != cid->digest_len || memcmp(digest, cid->digest, n) != 0)
        return IPLD_EMISMATCH;
    return 0;
}

size_t ipld_cid_to_bytes(const ipld_cid *cid, uint8_t *out)
{
    size_t n = 0;
    assert(cid && out && ipld_cid_validate(cid) == 0);
    if (cid->version == 1) {
        n += ipld_varint_put(out + n, 1);
        n += ipld_varint_put(out + n, cid->codec);
    }
    n += ipld_varint_put(out + n, cid->mh_code);
    n += ipld_varint_put(out + n, cid->digest_len);
    memcpy(out + n, cid->digest, cid->digest_len);
    return n + cid->digest_len;
}

/* Reads varint at buf[*pos], advancing *pos. */
static int take_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v)
{
    size_t used;
    int rc = ipld_varint_get(buf + *pos, len - *pos, v, &used);
    if (rc == 0)
        *pos += used;
    return rc;
}

int ipld_cid_read(const uint8_t *buf, size_t len, ipld_cid *cid, size_t *used)
{
    uint64_t version, dlen;
    size_t pos = 0;
    assert(cid && used && (buf || len == 0));
    memset(cid, 0, sizeof *cid);
    if (len >= V0_LEN && buf[0] == 0x12 && buf[1] == 0x20) {
        cid->version = 0;
        cid->codec = IPLD_CODEC_DAG_PB;
        cid->mh_code = IPLD_MH_SHA2_256;
        cid->digest_len = 32;
        memcpy(cid->digest, buf + 2, 32);
        *used = V0_LEN;
        return 0;
    }
    if (take_varint(buf, len, &pos, &version) || version != 1 ||
        take_varint(buf, len, &pos, &cid->codec) || take_varint(buf, len, &pos, &cid->mh_code) ||
        take_varint(buf, len, &pos, &dlen) || dlen > IPLD_DIGEST_MAX || dlen > len - pos)
        return IPLD_EFORMAT;
    cid->version = 1;
    cid->digest_len = (size_t)dlen;
    memcpy(cid->digest, buf + pos, cid->digest_len);
    *used = pos + cid->digest_len;
    return ipld_cid_validate(cid);
}

int ipld_cid_from_bytes(const uint8_t *buf, size_t len, ipld_cid *cid)
{
    size_t used;
    int rc = ipld_cid_read(buf, len, cid, &used);
    if (rc == 0 && used != len)
        return IPLD_EFORMAT;
    return rc;
}

size_t ipld_cid_format(const ipld_cid *cid, int base, char *out)
{
    uint8_t bin[IPLD_CID_BIN_MAX];
    size_t n = ipld_cid_to_bytes(cid, bin), text_len;
    int rc;
    if (cid->version == 0)
        rc = ipld_base_encode('z', 0, bin, n, out, IPLD_CID_STR_MAX, &text_len);
    else
        rc = ipld_base_encode(base, 1, bin, n, out, IPLD_CID_STR_MAX, &text_len);
    /* The buffer is sized for the longest CID in base32; other bases are
     * shorter, except base16, which a caller asks for with a short CID. */
    assert(rc == 0);
    (void)rc;
    return text_len;
}

size_t ipld_cid_str(const ipld_cid *cid, char out[IPLD_CID_STR_MAX])
{
    return ipld_cid_format(cid, IPLD_BASE32, out);
}

int ipld_cid_parse(const char *text, ipld_cid *cid)
{
    uint8_t bin[IPLD_CID_BIN_MAX];
    size_t len, n;
    int rc;
    assert(text && cid);
    len = strlen(text);
    if (len == V0_TEXT_LEN && text[0] == 'Q' && text[1] == 'm') {
        rc = ipld_base_decode(text, len, 1, bin, sizeof bin, &n);
        if (rc)
            return rc == IPLD_ESPACE ? IPLD_EFORMAT : rc;
        if (n != V0_LEN || bin[0] != 0x12 || bin[1] != 0x20)
            return IPLD_EFORMAT;
        return ipld_cid_from_bytes(bin, n, cid);
    }
    rc = ipld_base_decode(text, len, 0, bin, sizeof bin, &n);
    if (rc)
        return rc == IPLD_ESPACE ? IPLD_EFORMAT : rc;
    /* A multibase v1 string must hold a v1 CID (v0 bytes start with 0x12). */
    if (n < 1 || bin[0] != 0x01)
        return IPLD_EFORMAT;
    return ipld_cid_from_bytes(bin, n, cid);
}

void ipld_cid_to_v1(const ipld_cid *in, ipld_cid *out)
{
    assert(in && out);
    if (out != in)
        *out = *in;
    out->version = 1;
}

int ipld_cid_equal(const ipld_cid *a, const ipld_cid *b)
{
    assert(a && b);
    return a->codec == b->codec && a->mh_code == b->mh_code && a->digest_len == b->digest_len &&
           memcmp(a->digest, b->digest, a->digest_len) == 0;
}
