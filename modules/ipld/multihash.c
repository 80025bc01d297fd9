/*
 * multihash.c — error names, the multicodec table, unsigned varints and the
 * multihash functions of ipld.h.
 *
 * Owns: the names of codecs and hash functions this module knows, the
 * varint codec every other file of the module uses, and hashing through
 * libsodium (sha2-256, sha2-512, blake2b-256 = crypto_generichash with a
 * 32-byte output and no key, which is BLAKE2b-256 as the multihash table
 * defines it). Called by cid.c, dagpb.c, unixfs.c and the module's users.
 * Must never: read past a length, or accept a varint the multiformats spec
 * forbids (over 9 bytes, or not minimal).
 */
#include <assert.h>
#include <string.h>

#include <sodium.h>

#include "modules/ipld/ipld.h"

const char *ipld_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case IPLD_EFORMAT:
        return "malformed encoding";
    case IPLD_EUNSUPPORTED:
        return "unsupported codec, hash function or base";
    case IPLD_EMISMATCH:
        return "data does not match its CID";
    case IPLD_ESPACE:
        return "output buffer too small";
    case IPLD_ENOMEM:
        return "out of memory";
    default:
        return "unknown error";
    }
}

/* ---- names --------------------------------------------------------------------- */

struct name_entry {
    uint64_t code;
    const char *name;
};

static const struct name_entry codecs[] = {
    {IPLD_CODEC_RAW, "raw"},
    {IPLD_CODEC_DAG_PB, "dag-pb"},
    {IPLD_CODEC_DAG_CBOR, "dag-cbor"},
    {IPLD_CODEC_LIBP2P_KEY, "libp2p-key"},
};

static const struct name_entry hashes[] = {
    {IPLD_MH_IDENTITY, "identity"},       {IPLD_MH_SHA2_256, "sha2-256"},
    {IPLD_MH_SHA2_512, "sha2-512"},       {IPLD_MH_BLAKE3, "blake3"},
    {IPLD_MH_BLAKE2B_256, "blake2b-256"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup_name(const struct name_entry *t, size_t n, uint64_t code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return t[i].name;
    return NULL;
}

static int lookup_code(const struct name_entry *t, size_t n, const char *name, uint64_t *code)
{
    assert(name && code);
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0) {
            *code = t[i].code;
            return 0;
        }
    return IPLD_EUNSUPPORTED;
}

const char *ipld_codec_name(uint64_t codec)
{
    return lookup_name(codecs, COUNT(codecs), codec);
}

const char *ipld_mh_name(uint64_t code)
{
    return lookup_name(hashes, COUNT(hashes), code);
}

int ipld_codec_from_name(const char *name, uint64_t *codec)
{
    return lookup_code(codecs, COUNT(codecs), name, codec);
}

int ipld_mh_from_name(const char *name, uint64_t *code)
{
    return lookup_code(hashes, COUNT(hashes), name, code);
}

/* ---- varint ---------------------------------------------------------------------- */

size_t ipld_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t ipld_varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    assert(out);
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    assert(n <= IPLD_VARINT_MAX);
    return n;
}

/* Multiformats varints carry at most 63 bits in at most 9 bytes. */
#define VARINT_BYTES_MAX 9

int ipld_varint_get(const uint8_t *buf, size_t len, uint64_t *v, size_t *used)
{
    uint64_t x = 0;
    assert(v && used && (buf || len == 0));
    for (size_t i = 0; i < len && i < VARINT_BYTES_MAX; i++) {
        x |= (uint64_t)(buf[i] & 0x7f) << (7 * i);
        if (!(buf[i] & 0x80)) {
            if (i > 0 && buf[i] == 0)
                return IPLD_EFORMAT; /* not minimal */
            *v = x;
            *used = i + 1;
            return 0;
        }
    }
    return IPLD_EFORMAT;
}

/* ---- multihash ------------------------------------------------------------------- */

int ipld_mh_digest_size(uint64_t code)
{
    switch (code) {
    case IPLD_MH_IDENTITY:
        return 0;
    case IPLD_MH_SHA2_256:
    case IPLD_MH_BLAKE3:
    case IPLD_MH_BLAKE2B_256:
        return 32;
    case IPLD_MH_SHA2_512:
        return 64;
    default:
        return -1;
    }
}

int ipld_mh_sum(uint64_t code, const void *data, size_t len, uint8_t digest[IPLD_DIGEST_MAX],
                size_t *digest_len)
{
    assert(digest && digest_len && (data || len == 0));
    switch (code) {
    case IPLD_MH_IDENTITY:
        if (len > IPLD_DIGEST_MAX)
            return IPLD_ESPACE;
        if (len)
            memcpy(digest, data, len);
        *digest_len = len;
        return 0;
    case IPLD_MH_SHA2_256:
        crypto_hash_sha256(digest, data, len);
        *digest_len = 32;
        return 0;
    case IPLD_MH_SHA2_512:
        crypto_hash_sha512(digest, data, len);
        *digest_len = 64;
        return 0;
    case IPLD_MH_BLAKE2B_256:
        crypto_generichash(digest, 32, data, len, NULL, 0);
        *digest_len = 32;
        return 0;
    default:
        return IPLD_EUNSUPPORTED;
    }
}
