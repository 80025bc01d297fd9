/*
 * ipld.h — the public header of libffdb_ipld.a: the IPFS/IPLD encodings that
 * more than one module needs, implemented from their specifications.
 *
 *   varint     unsigned LEB128 as multiformats uses it (at most 9 bytes)
 *   multihash  sha2-256, sha2-512, blake2b-256 (libsodium) and identity
 *   multibase  base32 lower ('b', the CIDv1 default), base58btc ('z', and bare
 *              for CIDv0), base16 ('f'), base64url ('u') and base64 ('m')
 *   CID        v0 and v1: parse, format, binary form, validation, verification
 *   dag-pb     PBNode/PBLink codec (canonical encoder, bounds-checked decoder)
 *   UnixFS     the Data message carried in dag-pb nodes
 *   dag-cbor   canonical encoder and checked decoder over libcbor items,
 *              CIDs as tag 42
 *
 * Who calls it: modules/blocks (block store, UnixFS importer, CAR, commits)
 * and modules/oplog (log entries). It depends on libsodium and libcbor and on
 * nothing of ffdb: no engine call, no file, no global state.
 *
 * What it must never do: trust its input. Every decoder takes a length and
 * returns IPLD_EFORMAT for bytes that do not follow the format, never reads
 * past the length, and never aborts on content. Assertions guard programmer
 * errors only (NULL where the contract says non-NULL).
 *
 * Conventions: functions return 0 or a negative code (IPLD_E... below, or
 * FFDB_ENOMEM from include/ffdb.h when an allocation fails). Output buffers
 * are caller-owned and sized with the *_MAX constants; decoded views point
 * into the caller's input and live as long as it does. Wire formats are
 * described in modules/ipld/README.md.
 */
#ifndef FFDB_IPLD_H
#define FFDB_IPLD_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors (negative, clear of ffdb's -30700.. range) ------------------------ */
#define IPLD_EFORMAT (-30800)      /* the bytes or text do not follow the format */
#define IPLD_EUNSUPPORTED (-30801) /* valid but not implemented: hash function, base, codec */
#define IPLD_EMISMATCH (-30802)    /* the data does not hash to the digest of the CID */
#define IPLD_ESPACE (-30803)       /* an output buffer is too small */
#define IPLD_ENOMEM (-30703)       /* = FFDB_ENOMEM */

/* A static name for any code of this module (others: "unknown error"). */
const char *ipld_strerror(int code);

/* ---- Multicodec constants (the multiformats table) --------------------------- */
#define IPLD_CODEC_RAW 0x55u
#define IPLD_CODEC_DAG_PB 0x70u
#define IPLD_CODEC_DAG_CBOR 0x71u
#define IPLD_CODEC_LIBP2P_KEY 0x72u

#define IPLD_MH_IDENTITY 0x00u
#define IPLD_MH_SHA2_256 0x12u
#define IPLD_MH_SHA2_512 0x13u
#define IPLD_MH_BLAKE3 0x1eu /* recognised by name only: no Debian library */
#define IPLD_MH_BLAKE2B_256 0xb220u

/* Name of a codec or hash function ("dag-pb", "sha2-256"), NULL if unknown. */
const char *ipld_codec_name(uint64_t codec);
const char *ipld_mh_name(uint64_t code);
/* The reverse: 0 and *code set, or IPLD_EUNSUPPORTED. */
int ipld_codec_from_name(const char *name, uint64_t *codec);
int ipld_mh_from_name(const char *name, uint64_t *code);

/* ---- Unsigned varint -------------------------------------------------------- */
#define IPLD_VARINT_MAX 10 /* bytes of a uint64 (multiformats allow 9: values < 2^63) */

/* Encode v at out (IPLD_VARINT_MAX bytes of room); returns the bytes written. */
size_t ipld_varint_put(uint8_t *out, uint64_t v);
/* Bytes ipld_varint_put would write. */
size_t ipld_varint_size(uint64_t v);
/* Decode from buf[0..len): *v and *used on success. IPLD_EFORMAT when the
 * bytes end mid-varint, exceed 9 bytes (multiformats' limit) or are not
 * minimal (a trailing 0x00 byte: the multiformats spec forbids it). */
int ipld_varint_get(const uint8_t *buf, size_t len, uint64_t *v, size_t *used);

/* ---- Multihash ---------------------------------------------------------------- */
#define IPLD_DIGEST_MAX 128 /* identity digests up to 128 bytes, as kubo accepts */

/* Hash data with the function code into digest; *digest_len is its length.
 * IPLD_EUNSUPPORTED for functions not implemented (blake3 among them);
 * identity copies the data (IPLD_ESPACE over IPLD_DIGEST_MAX). */
int ipld_mh_sum(uint64_t code, const void *data, size_t len, uint8_t digest[IPLD_DIGEST_MAX],
                size_t *digest_len);
/* The fixed digest length of a function, 0 for identity (any), -1 unknown. */
int ipld_mh_digest_size(uint64_t code);

/* ---- Multibase ---------------------------------------------------------------- */
/* Base prefixes (the multibase character). */
#define IPLD_BASE32 'b'
#define IPLD_BASE58BTC 'z'
#define IPLD_BASE16 'f'
#define IPLD_BASE64URL 'u'
#define IPLD_BASE64 'm'

/* Encode bin[0..len) as text in base (one of the above, prefix character
 * included) into out[0..cap); NUL-terminated; *out_len excludes the NUL.
 * with_prefix 0 omits the multibase character (CIDv0 is bare base58btc). */
int ipld_base_encode(int base, int with_prefix, const uint8_t *bin, size_t len, char *out,
                     size_t cap, size_t *out_len);
/* Decode text: the first character names the base ('b', 'B', 'z', 'f', 'F',
 * 'u', 'm'), unless bare58 is set, which reads the whole text as base58btc.
 * Writes at most cap bytes. IPLD_EFORMAT for characters outside the alphabet
 * or non-zero padding bits; IPLD_EUNSUPPORTED for other bases. */
int ipld_base_decode(const char *text, size_t text_len, int bare58, uint8_t *out, size_t cap,
                     size_t *out_len);

/* ---- CID ---------------------------------------------------------------------- */
typedef struct ipld_cid {
    uint8_t version;  /* 0 or 1 */
    uint64_t codec;   /* IPLD_CODEC_...; always dag-pb for v0 */
    uint64_t mh_code; /* IPLD_MH_...; always sha2-256 for v0 */
    size_t digest_len;
    uint8_t digest[IPLD_DIGEST_MAX];
} ipld_cid;

/* Room for any CID: binary form, text form (with NUL). */
#define IPLD_CID_BIN_MAX (4 * IPLD_VARINT_MAX + IPLD_DIGEST_MAX)
#define IPLD_CID_STR_MAX (2 * IPLD_CID_BIN_MAX + 3) /* base16 is the longest */

/* The CID of data: version 0 needs dag-pb and sha2-256 (else IPLD_EFORMAT). */
int ipld_cid_of(unsigned version, uint64_t codec, uint64_t mh_code, const void *data, size_t len,
                ipld_cid *cid);
/* 0 if data hashes to cid's digest; IPLD_EMISMATCH if not; IPLD_EUNSUPPORTED
 * if the hash function is not implemented. */
int ipld_cid_verify(const ipld_cid *cid, const void *data, size_t len);

/* Binary form: v0 = the multihash (0x12 0x20 digest), v1 = varint(1)
 * varint(codec) varint(mh_code) varint(digest_len) digest. Returns the size,
 * written to out (IPLD_CID_BIN_MAX bytes of room). */
size_t ipld_cid_to_bytes(const ipld_cid *cid, uint8_t *out);
/* Parse a binary CID that fills buf[0..len) exactly. */
int ipld_cid_from_bytes(const uint8_t *buf, size_t len, ipld_cid *cid);
/* Parse a binary CID at the start of buf; *used = its length (CAR, dag-pb). */
int ipld_cid_read(const uint8_t *buf, size_t len, ipld_cid *cid, size_t *used);

/* Text form: v0 as bare base58btc ("Qm..."), v1 in base (IPLD_BASE32 is
 * what IPFS prints). out needs IPLD_CID_STR_MAX bytes. Returns the length. */
size_t ipld_cid_format(const ipld_cid *cid, int base, char *out);
/* Shorthand: v0 base58btc, v1 base32. */
size_t ipld_cid_str(const ipld_cid *cid, char out[IPLD_CID_STR_MAX]);
/* Parse text: 46 characters starting "Qm" are CIDv0; anything else is a
 * multibase string of a CIDv1. Validates as ipld_cid_validate. */
int ipld_cid_parse(const char *text, ipld_cid *cid);
/* Structural rules: version 0 or 1; v0 only dag-pb/sha2-256/32 bytes; the
 * digest length is the function's fixed size (any up to IPLD_DIGEST_MAX for
 * identity); codec and function below 2^63. Unknown functions are valid (they
 * cannot be verified). */
int ipld_cid_validate(const ipld_cid *cid);
/* Equality of the same content address in any version: v0 X and v1 dag-pb X
 * are equal. */
int ipld_cid_equal(const ipld_cid *a, const ipld_cid *b);
/* The same CID as version 1 (v0 becomes v1 dag-pb; v1 is copied). */
void ipld_cid_to_v1(const ipld_cid *in, ipld_cid *out);

/* ---- dag-pb ------------------------------------------------------------------- */
typedef struct ipld_pb_link {
    ipld_cid cid;        /* Hash (required) */
    const uint8_t *name; /* Name bytes, valid while the input lives */
    size_t name_len;
    int has_name; /* Name present (also when empty) */
    uint64_t tsize;
    int has_tsize;
} ipld_pb_link;

typedef struct ipld_pb_node {
    ipld_pb_link *links; /* decode: malloc'd array, freed by ipld_pb_node_free */
    size_t link_count;
    const uint8_t *data;
    size_t data_len;
    int has_data; /* Data present (also when empty) */
} ipld_pb_node;

/* Decode a dag-pb block. Strict as the dag-pb spec asks: PBLink fields in
 * order 1, 2, 3, each at most once, Hash present and a valid CID; PBNode Data
 * at most once, before or after the links (which must be contiguous); no
 * other field or wire type. Zero bytes decode as no Data and no links. On
 * success node->links must be released with ipld_pb_node_free. */
int ipld_pb_decode(const uint8_t *buf, size_t len, ipld_pb_node *node);
void ipld_pb_node_free(ipld_pb_node *node);
/* Bytes ipld_pb_encode writes for node. */
size_t ipld_pb_encoded_size(const ipld_pb_node *node);
/* Canonical encoding: each link as Hash, Name (if has_name), Tsize (if
 * has_tsize), links in the order given (sorting is the caller's: see
 * ipld_pb_sort_links), then Data (if has_data). IPLD_ESPACE if cap is short. */
int ipld_pb_encode(const ipld_pb_node *node, uint8_t *out, size_t cap, size_t *len);
/* Stable sort of links by Name bytes (missing = empty), as the spec orders them. */
int ipld_pb_sort_links(ipld_pb_link *links, size_t count); /* IPLD_ENOMEM */

/* ---- UnixFS Data (the Data field of dag-pb UnixFS nodes) ------------------------ */
enum ipld_unixfs_type {
    IPLD_UNIXFS_RAW = 0,
    IPLD_UNIXFS_DIRECTORY = 1,
    IPLD_UNIXFS_FILE = 2,
    IPLD_UNIXFS_METADATA = 3,
    IPLD_UNIXFS_SYMLINK = 4,
    IPLD_UNIXFS_HAMT_SHARD = 5,
};

typedef struct ipld_unixfs {
    int type;            /* enum ipld_unixfs_type */
    const uint8_t *data; /* Data bytes (file contents of a leaf) */
    size_t data_len;
    int has_data;
    uint64_t filesize;
    int has_filesize;
    const uint64_t *blocksizes; /* encode: caller's array; decode: malloc'd */
    size_t blocksize_count;
    uint64_t hash_type, fanout;
    int has_hash_type, has_fanout;
    uint32_t mode;
    int has_mode;
    int64_t mtime_seconds;
    uint32_t mtime_nanos;
    int has_mtime;
} ipld_unixfs;

/* Decode a UnixFS Data message (Type required; unknown fields with valid wire
 * types are skipped; blocksizes packed or not). Release with ipld_unixfs_free. */
int ipld_unixfs_decode(const uint8_t *buf, size_t len, ipld_unixfs *u);
void ipld_unixfs_free(ipld_unixfs *u);
/* Encoding in field order (Type, Data, filesize, blocksizes unpacked,
 * hashType, fanout, mode, mtime), as go-unixfs' protobuf writes it. */
size_t ipld_unixfs_encoded_size(const ipld_unixfs *u);
int ipld_unixfs_encode(const ipld_unixfs *u, uint8_t *out, size_t cap, size_t *len);

/* ---- dag-cbor ------------------------------------------------------------------- */
/* Values are libcbor items (cbor_item_t, reference counted: cbor_decref).
 * A link is tag 42 over a byte string 0x00 + binary CID. */
#define IPLD_CBOR_DEPTH_MAX 64 /* nesting the decoder accepts */

/* Canonical encoding of item into a malloc'd buffer (*out, *len): minimal
 * integer and length forms, definite lengths, map keys (text strings only)
 * sorted by length then bytes and unique, floats as 64-bit and finite, tag 42
 * only (over a valid 0x00-prefixed CID). IPLD_EFORMAT if item holds anything
 * dag-cbor cannot express. The item is not modified. */
int ipld_cbor_encode(const cbor_item_t *item, uint8_t **out, size_t *len);
/* Decode one dag-cbor object filling buf[0..len). Rejects what the encoder
 * refuses (other tags, non-text keys, undefined and simple values,
 * indefinite lengths, NaN/Inf, nesting over IPLD_CBOR_DEPTH_MAX, trailing
 * bytes); with strict, also any encoding that is not the canonical one
 * (the decoded value re-encodes to other bytes). *item is the caller's
 * (cbor_decref). */
int ipld_cbor_decode(const uint8_t *buf, size_t len, int strict, cbor_item_t **item);

/* Builders (NULL on allocation failure; the result has one reference). */
cbor_item_t *ipld_cbor_link(const ipld_cid *cid);
cbor_item_t *ipld_cbor_text(const char *s);
cbor_item_t *ipld_cbor_uint(uint64_t v);
cbor_item_t *ipld_cbor_int(int64_t v);
/* Add key -> value to a map made by cbor_new_definite_map/indefinite_map;
 * takes over the caller's reference to value (released on failure too).
 * Order does not matter: the encoder sorts. */
int ipld_cbor_map_put(cbor_item_t *map, const char *key, cbor_item_t *value);

/* Readers (item may be anything; they check its type). */
/* The value under key in a map, or NULL (borrowed: no reference taken). */
cbor_item_t *ipld_cbor_map_get(const cbor_item_t *map, const char *key);
/* 0 and *cid if item is a tag-42 link; IPLD_EFORMAT otherwise. */
int ipld_cbor_get_link(const cbor_item_t *item, ipld_cid *cid);
/* 0 and *v if item is an unsigned or negative integer that fits. */
int ipld_cbor_get_int(const cbor_item_t *item, int64_t *v);
/* A view of a definite text string: 0, *s (not NUL-terminated), *len. */
int ipld_cbor_get_text(const cbor_item_t *item, const char **s, size_t *len);
/* Visit every link in item depth-first in encoding order (for GC, CAR
 * export); stops early and returns what fn returned if not 0. */
int ipld_cbor_links(const cbor_item_t *item, int (*fn)(void *arg, const ipld_cid *cid), void *arg);

#ifdef __cplusplus
}
#endif
#endif /* FFDB_IPLD_H */
