/*
 * test_ipld.c — modules/ipld against published vectors and its own round
 * trips: varints (minimality, limits), multibase alphabets, CID text and
 * binary forms (kubo's `ipfs cid` conversions), dag-pb and dag-cbor blocks
 * from the IPLD cross-codec fixtures (decode, re-encode byte for byte, CID),
 * UnixFS Data encodings kubo writes, and rejection of malformed input
 * (truncations and byte flips of every fixture never crash a decoder).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/ipld/ipld.h"
#include "tests/testutil.h"

TestSuite(ipld, .timeout = 60);

/* ---- helpers ----------------------------------------------------------------- */

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s) / 2;
    cr_assert(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        cr_assert(sscanf(s + 2 * i, "%2x", &v) == 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

typedef struct fixture {
    char cid[256], name[128];
    uint8_t *bytes;
    size_t len;
} fixture;

/* Reads tests/vectors/<file> (lines "<cid> <hex|-> <name>"). */
static fixture *load_fixtures(const char *file, size_t *count)
{
    char path[512], *line = NULL;
    size_t cap = 0, n = 0, alloc = 16;
    const char *dir = getenv("FFDB_TEST_VECTORS") ? getenv("FFDB_TEST_VECTORS") : "tests/vectors";
    fixture *f = malloc(alloc * sizeof *f);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *fp = fopen(path, "r");
    cr_assert(fp, "cannot open %s", path);
    while (getline(&line, &cap, fp) > 0) {
        if (line[0] == '#')
            continue;
        char *hex = malloc(strlen(line) + 1);
        if (n == alloc)
            f = realloc(f, (alloc *= 2) * sizeof *f);
        cr_assert(sscanf(line, "%255s %s %127s", f[n].cid, hex, f[n].name) == 3);
        f[n].len = 0;
        f[n].bytes = malloc(strlen(hex) / 2 + 1);
        if (strcmp(hex, "-") != 0)
            f[n].len = unhex(hex, f[n].bytes, strlen(hex) / 2 + 1);
        free(hex);
        n++;
    }
    free(line);
    fclose(fp);
    *count = n;
    return f;
}

static void free_fixtures(fixture *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].bytes);
    free(f);
}

static void cid_is(const ipld_cid *cid, const char *want)
{
    char s[IPLD_CID_STR_MAX];
    ipld_cid_str(cid, s);
    cr_assert_str_eq(s, want);
}

/* ---- varint and multibase ---------------------------------------------------------- */

Test(ipld, varint)
{
    uint8_t b[IPLD_VARINT_MAX];
    uint64_t v;
    size_t used;
    const uint64_t vals[] = {
        0, 1, 127, 128, 255, 300, 16383, 16384, UINT64_C(1) << 62, (UINT64_C(1) << 63) - 1};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        size_t n = ipld_varint_put(b, vals[i]);
        cr_assert_eq(n, ipld_varint_size(vals[i]));
        cr_assert_eq(ipld_varint_get(b, n, &v, &used), 0);
        cr_assert_eq(v, vals[i]);
        cr_assert_eq(used, n);
        cr_assert_eq(ipld_varint_get(b, n - 1, &v, &used), IPLD_EFORMAT); /* truncated */
    }
    /* 300 = ac 02 (the multiformats spec's example); 80 00 is not minimal. */
    cr_assert_eq(ipld_varint_put(b, 300), 2);
    cr_assert(b[0] == 0xac && b[1] == 0x02);
    cr_assert_eq(ipld_varint_get((const uint8_t *)"\x80\x00", 2, &v, &used), IPLD_EFORMAT);
    /* 2^63 needs 10 bytes: over the 9-byte limit. */
    cr_assert_eq(ipld_varint_get(b, ipld_varint_put(b, UINT64_C(1) << 63), &v, &used),
                 IPLD_EFORMAT);
}

Test(ipld, multibase_round_trips)
{
    const int bases[] = {'b', 'B', 'z', 'f', 'F', 'u', 'm'};
    uint8_t in[64], out[64];
    char text[256];
    size_t tlen, olen;
    tu_rng r;
    tu_rng_init(&r, tu_seed("multibase"));
    for (size_t len = 0; len <= sizeof in; len++) {
        tu_fill(&r, in, len);
        if (len > 2)
            in[0] = in[1] = 0; /* leading zeros matter to base58 */
        for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
            cr_assert_eq(ipld_base_encode(bases[b], 1, in, len, text, sizeof text, &tlen), 0);
            cr_assert_eq(ipld_base_decode(text, tlen, 0, out, sizeof out, &olen), 0,
                         TU_SEED_FMT "base %c len %zu", TU_SEED_ARG, bases[b], len);
            cr_assert_eq(olen, len);
            cr_assert(len == 0 || memcmp(in, out, len) == 0);
        }
    }
    /* RFC 4648 test vectors ("foobar"), multibase prefixes. */
    cr_assert_eq(ipld_base_encode('b', 1, (const uint8_t *)"foobar", 6, text, sizeof text, &tlen),
                 0);
    cr_assert_str_eq(text, "bmzxw6ytboi");
    cr_assert_eq(ipld_base_encode('m', 1, (const uint8_t *)"foobar", 6, text, sizeof text, &tlen),
                 0);
    cr_assert_str_eq(text, "mZm9vYmFy");
    /* base58btc of "hello world" (the multibase spec's example). */
    cr_assert_eq(
        ipld_base_encode('z', 1, (const uint8_t *)"hello world", 11, text, sizeof text, &tlen), 0);
    cr_assert_str_eq(text, "zStV1DL6CwTryKyV");
    /* Bad characters and non-zero padding bits. */
    cr_assert_eq(ipld_base_decode("b0", 2, 0, out, sizeof out, &olen), IPLD_EFORMAT);
    cr_assert_eq(ipld_base_decode("bmz", 3, 0, out, sizeof out, &olen), IPLD_EFORMAT);
    cr_assert_eq(ipld_base_decode("zI0", 3, 0, out, sizeof out, &olen), IPLD_EFORMAT);
    cr_assert_eq(ipld_base_decode("q123", 4, 0, out, sizeof out, &olen), IPLD_EUNSUPPORTED);
}

/* ---- CIDs -------------------------------------------------------------------------- */

/* kubo test/sharness/t0290-cid.sh: one CID in three forms, and one digest
 * under three codecs. */
Test(ipld, cid_forms_from_kubo)
{
    ipld_cid a, b, c;
    char s[IPLD_CID_STR_MAX];
    cr_assert_eq(ipld_cid_parse("QmS4ustL54uo8FzR9455qaxZwuMiUhyvMcX9Ba8nUH4uVv", &a), 0);
    cr_assert_eq(ipld_cid_parse("zdj7WZAAFKPvYPPzyJLso2hhxo8a7ZACFQ4DvvfrNXTHidofr", &b), 0);
    cr_assert_eq(ipld_cid_parse("bafybeibxm2nsadl3fnxv2sxcxmxaco2jl53wpeorjdzidjwf5aqdg7wa6u", &c),
                 0);
    cr_assert_eq(a.version, 0);
    cr_assert(ipld_cid_equal(&a, &b) && ipld_cid_equal(&b, &c));
    ipld_cid_to_v1(&a, &a);
    cid_is(&a, "bafybeibxm2nsadl3fnxv2sxcxmxaco2jl53wpeorjdzidjwf5aqdg7wa6u");
    ipld_cid_format(&a, IPLD_BASE58BTC, s);
    cr_assert_str_eq(s, "zdj7WZAAFKPvYPPzyJLso2hhxo8a7ZACFQ4DvvfrNXTHidofr");

    cr_assert_eq(ipld_cid_parse("QmYNmQKp6SuaVrpgWRsPTgCQCnpxUYGq76YEKBXuj2N4H6", &a), 0);
    ipld_cid_to_v1(&a, &a);
    cid_is(&a, "bafybeievd6mwe6vcwnkwo3eizs3h7w3a34opszbyfxziqdxguhjw7imdve");
    a.codec = IPLD_CODEC_RAW;
    cid_is(&a, "bafkreievd6mwe6vcwnkwo3eizs3h7w3a34opszbyfxziqdxguhjw7imdve");
    a.codec = IPLD_CODEC_DAG_CBOR;
    cid_is(&a, "bafyreievd6mwe6vcwnkwo3eizs3h7w3a34opszbyfxziqdxguhjw7imdve");
    /* base64url and base16 forms parse to the same CID. */
    cr_assert_eq(ipld_cid_parse("uAXASIDsp4T3Wnd6kXFOQaljH3GFK_ixkjMtVhB9VOBrPK3bp", &b), 0);
    cid_is(&b, "bafybeib3fhqt3vu532sfyu4qnjmmpxdbjl7cyzemznkyih2vhanm6k3w5e");
    ipld_cid_format(&b, IPLD_BASE16, s);
    cr_assert_eq(ipld_cid_parse(s, &c), 0);
    cr_assert(ipld_cid_equal(&b, &c) && c.version == 1);
}

Test(ipld, cid_of_data)
{
    ipld_cid cid;
    /* `echo "Hello Mars!" | ipfs block put` (kubo t0050-block.sh). */
    cr_assert_eq(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, "Hello Mars!\n", 12, &cid), 0);
    cid_is(&cid, "bafkreibmlvvgdyihetgocpof6xk64kjjzdeq2e4c7hqs3krdheosk4tgj4");
    cr_assert_eq(ipld_cid_verify(&cid, "Hello Mars!\n", 12), 0);
    cr_assert_eq(ipld_cid_verify(&cid, "Hello Mars?\n", 12), IPLD_EMISMATCH);
    /* "hello world" raw (kubo test/cli/add_test.go shortStringCidV1). */
    cr_assert_eq(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, "hello world", 11, &cid), 0);
    cid_is(&cid, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
    /* The empty identity CID kubo's CAR tests pin (t0054): bafkqaaa. */
    cr_assert_eq(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_IDENTITY, "", 0, &cid), 0);
    cid_is(&cid, "bafkqaaa");
    /* The zero-length dag-pb block (dag-pb spec). */
    cr_assert_eq(ipld_cid_of(0, IPLD_CODEC_DAG_PB, IPLD_MH_SHA2_256, "", 0, &cid), 0);
    cid_is(&cid, "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n");
    ipld_cid_to_v1(&cid, &cid);
    cid_is(&cid, "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    /* v0 is only dag-pb + sha2-256; blake3 is named but not implemented. */
    cr_assert_eq(ipld_cid_of(0, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, "x", 1, &cid), IPLD_EFORMAT);
    cr_assert_eq(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_BLAKE3, "x", 1, &cid), IPLD_EUNSUPPORTED);
}

Test(ipld, cid_rejects)
{
    ipld_cid cid;
    const char *bad[] = {
        "",
        "Qm",
        "QmS4ustL54uo8FzR9455qaxZwuMiUhyvMcX9Ba8nUH4uV0",  /* '0' not base58 */
        "QmS4ustL54uo8FzR9455qaxZwuMiUhyvMcX9Ba8nUH4uVvv", /* 47 chars: not v0, not multibase */
        "bafybeibxm2nsadl3fnxv2sxcxmxaco2jl53wpeorjdzidjwf5aqdg7wa6",    /* short digest */
        "bafybeibxm2nsadl3fnxv2sxcxmxaco2jl53wpeorjdzidjwf5aqdg7wa6uaa", /* trailing bytes */
        "bciqbxm2nsadl3fnxv2sxcxmxaco2jl53wpeorjdzidjwf5aqdg7wa6u",      /* v0 bytes in multibase */
        "BAFYBEIBXM2NSADL3FNXV2SXCXMXACO2JL53WPEORJDZIDJWF5AQDG7WA6U!",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_neq(ipld_cid_parse(bad[i], &cid), 0, "accepted %s", bad[i]);
    /* Upper-case base32 is valid multibase. */
    cr_assert_eq(
        ipld_cid_parse("BAFYBEIBXM2NSADL3FNXV2SXCXMXACO2JL53WPEORJDZIDJWF5AQDG7WA6U", &cid), 0);
}

Test(ipld, cid_binary_round_trips)
{
    tu_rng r;
    tu_rng_init(&r, tu_seed("cid binary"));
    for (int i = 0; i < 2000; i++) {
        ipld_cid a, b;
        uint8_t bin[IPLD_CID_BIN_MAX], data[32];
        char s[IPLD_CID_STR_MAX];
        const uint64_t codecs[] = {IPLD_CODEC_RAW, IPLD_CODEC_DAG_PB, IPLD_CODEC_DAG_CBOR,
                                   0x300001};
        const uint64_t mhs[] = {IPLD_MH_SHA2_256, IPLD_MH_SHA2_512, IPLD_MH_BLAKE2B_256,
                                IPLD_MH_IDENTITY};
        size_t len = tu_below(&r, sizeof data), used;
        tu_fill(&r, data, len);
        int v0 = tu_chance(&r, 200);
        cr_assert_eq(ipld_cid_of(v0 ? 0 : 1, v0 ? IPLD_CODEC_DAG_PB : codecs[tu_below(&r, 4)],
                                 v0 ? IPLD_MH_SHA2_256 : mhs[tu_below(&r, 4)], data, len, &a),
                     0);
        size_t n = ipld_cid_to_bytes(&a, bin);
        cr_assert_eq(ipld_cid_from_bytes(bin, n, &b), 0);
        cr_assert(ipld_cid_equal(&a, &b) && a.version == b.version);
        cr_assert_eq(ipld_cid_read(bin, n, &b, &used), 0);
        cr_assert_eq(used, n);
        for (size_t cut = 0; cut < n; cut++)
            cr_assert_neq(ipld_cid_from_bytes(bin, cut, &b), 0);
        ipld_cid_str(&a, s);
        cr_assert_eq(ipld_cid_parse(s, &b), 0, TU_SEED_FMT "%s", TU_SEED_ARG, s);
        cr_assert(ipld_cid_equal(&a, &b) && a.version == b.version);
    }
}

/* ---- dag-pb ------------------------------------------------------------------------- */

Test(ipld, dagpb_fixtures)
{
    size_t n;
    fixture *f = load_fixtures("dag-pb-fixtures.txt", &n);
    cr_assert_geq(n, 15);
    for (size_t i = 0; i < n; i++) {
        ipld_pb_node node;
        ipld_cid cid;
        uint8_t out[4096];
        size_t len;
        cr_assert_eq(ipld_pb_decode(f[i].bytes, f[i].len, &node), 0, "%s", f[i].name);
        cr_assert_eq(ipld_pb_encode(&node, out, sizeof out, &len), 0);
        cr_assert_eq(len, f[i].len, "%s", f[i].name);
        cr_assert(len == 0 || memcmp(out, f[i].bytes, len) == 0, "%s re-encodes", f[i].name);
        ipld_pb_node_free(&node);
        cr_assert_eq(
            ipld_cid_of(1, IPLD_CODEC_DAG_PB, IPLD_MH_SHA2_256, f[i].bytes, f[i].len, &cid), 0);
        cid_is(&cid, f[i].cid);
    }
    free_fixtures(f, n);
}

Test(ipld, dagpb_rejects)
{
    ipld_pb_node node;
    struct {
        const char *hex, *why;
    } bad[] = {
        {"0a", "truncated Data"},
        {"0a0500010203", "Data longer than the block"},
        {"0a000a00", "duplicate Data"},
        {"1200", "link without Hash"},
        {"120b1209736f6d65206e616d65", "link with Name only"},
        {"120d12000a09015500050001020304", "Name before Hash"},
        {"120d0a090155000500010203041880", "truncated Tsize"},
        {"120f0a0901550005000102030418001800", "duplicate Tsize"},
        {"12040a020102", "Hash not a CID"},
        {"1a00", "unknown field 3"},
        {"0800", "Data with varint wire type"},
        {"120b0a09015500050001020304"
         "0a00"
         "120b0a09015500050001020304",
         "links split by Data"},
        {"120d0a0901550005000102030420 00", "unknown link field"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[256];
        char hex[600];
        size_t k = 0;
        for (const char *p = bad[i].hex; *p; p++)
            if (*p != ' ')
                hex[k++] = *p;
        hex[k] = 0;
        size_t n = unhex(hex, b, sizeof b);
        cr_assert_eq(ipld_pb_decode(b, n, &node), IPLD_EFORMAT, "accepted: %s", bad[i].why);
    }
    /* Data before links is accepted (old IPFS data has it), and re-encodes
     * in canonical order. */
    uint8_t b[64], out[64];
    size_t n = unhex("0a0101120b0a09015500050001020304", b, sizeof b), len;
    cr_assert_eq(ipld_pb_decode(b, n, &node), 0);
    cr_assert_eq(node.link_count, 1);
    cr_assert_eq(ipld_pb_encode(&node, out, sizeof out, &len), 0);
    cr_assert(len == n && memcmp(out, "\x12\x0b", 2) == 0 &&
              memcmp(out + 13, "\x0a\x01\x01", 3) == 0);
    ipld_pb_node_free(&node);
}

Test(ipld, dagpb_sort_links)
{
    ipld_pb_link l[5];
    const char *names[] = {"b", "", "ab", "a", "b"};
    memset(l, 0, sizeof l);
    for (int i = 0; i < 5; i++) {
        l[i].name = (const uint8_t *)names[i];
        l[i].name_len = strlen(names[i]);
        l[i].has_name = i != 1;
        l[i].tsize = (uint64_t)i;
    }
    cr_assert_eq(ipld_pb_sort_links(l, 5), 0);
    const uint64_t want[] = {1, 3, 2, 0, 4}; /* "", a, ab, b (0), b (4): stable */
    for (int i = 0; i < 5; i++)
        cr_assert_eq(l[i].tsize, want[i]);
}

/* ---- UnixFS ------------------------------------------------------------------------- */

Test(ipld, unixfs_encodings)
{
    uint8_t out[64];
    size_t len;
    /* A leaf of "hello world" and an empty file, as kubo writes them. */
    ipld_unixfs u = {.type = IPLD_UNIXFS_FILE,
                     .data = (const uint8_t *)"hello world",
                     .data_len = 11,
                     .has_data = 1,
                     .filesize = 11,
                     .has_filesize = 1};
    cr_assert_eq(ipld_unixfs_encode(&u, out, sizeof out, &len), 0);
    cr_assert_eq(len, 17);
    cr_assert(memcmp(out, "\x08\x02\x12\x0bhello world\x18\x0b", 17) == 0);
    const uint64_t sizes[] = {262144, 1};
    ipld_unixfs node = {.type = IPLD_UNIXFS_FILE,
                        .filesize = 262145,
                        .has_filesize = 1,
                        .blocksizes = sizes,
                        .blocksize_count = 2};
    cr_assert_eq(ipld_unixfs_encode(&node, out, sizeof out, &len), 0);
    cr_assert_eq(len, 12);
    cr_assert(memcmp(out, "\x08\x02\x18\x81\x80\x10\x20\x80\x80\x10\x20\x01", 12) == 0);
    ipld_unixfs d;
    cr_assert_eq(ipld_unixfs_decode(out, len, &d), 0);
    cr_assert(d.type == IPLD_UNIXFS_FILE && d.filesize == 262145 && d.blocksize_count == 2 &&
              d.blocksizes[0] == 262144 && d.blocksizes[1] == 1 && !d.has_data);
    ipld_unixfs_free(&d);
    /* Packed blocksizes (other writers) decode the same. */
    cr_assert_eq(ipld_unixfs_decode((const uint8_t *)"\x08\x02\x22\x04\x80\x80\x10\x01", 8, &d), 0);
    cr_assert(d.blocksize_count == 2 && d.blocksizes[0] == 262144 && d.blocksizes[1] == 1);
    ipld_unixfs_free(&d);
    /* Type is required; wrong wire types and truncations are refused. */
    cr_assert_eq(ipld_unixfs_decode((const uint8_t *)"\x18\x01", 2, &d), IPLD_EFORMAT);
    cr_assert_eq(ipld_unixfs_decode((const uint8_t *)"\x08\x02\x12\x05ab", 5, &d), IPLD_EFORMAT);
    cr_assert_eq(ipld_unixfs_decode((const uint8_t *)"\x08\x02\x1a\x00", 4, &d), IPLD_EFORMAT);
    cr_assert_eq(ipld_unixfs_decode((const uint8_t *)"\x08\x09", 2, &d), IPLD_EFORMAT);
    /* mtime and mode survive a round trip. */
    ipld_unixfs m = {.type = IPLD_UNIXFS_FILE,
                     .has_mode = 1,
                     .mode = 0644,
                     .has_mtime = 1,
                     .mtime_seconds = -5,
                     .mtime_nanos = 7};
    cr_assert_eq(ipld_unixfs_encode(&m, out, sizeof out, &len), 0);
    cr_assert_eq(ipld_unixfs_decode(out, len, &d), 0);
    cr_assert(d.has_mode && d.mode == 0644 && d.has_mtime && d.mtime_seconds == -5 &&
              d.mtime_nanos == 7);
    ipld_unixfs_free(&d);
}

/* ---- dag-cbor ----------------------------------------------------------------------- */

Test(ipld, dagcbor_fixtures)
{
    size_t n;
    fixture *f = load_fixtures("dag-cbor-fixtures.txt", &n);
    cr_assert_geq(n, 100);
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *item;
        uint8_t *out;
        size_t len;
        ipld_cid cid;
        int rc = ipld_cbor_decode(f[i].bytes, f[i].len, 1, &item);
        cr_assert_eq(rc, 0, "%s: %s", f[i].name, ipld_strerror(rc));
        cr_assert_eq(ipld_cbor_encode(item, &out, &len), 0);
        cr_assert(len == f[i].len && memcmp(out, f[i].bytes, len) == 0, "%s re-encodes", f[i].name);
        free(out);
        cbor_decref(&item);
        cr_assert_eq(
            ipld_cid_of(1, IPLD_CODEC_DAG_CBOR, IPLD_MH_SHA2_256, f[i].bytes, f[i].len, &cid), 0);
        cid_is(&cid, f[i].cid);
    }
    free_fixtures(f, n);
}

Test(ipld, dagcbor_canonical_encoding)
{
    ipld_cid cid;
    cbor_item_t *map = cbor_new_indefinite_map(), *back;
    uint8_t *out;
    size_t len;
    cr_assert_eq(
        ipld_cid_parse("bafkreibmlvvgdyihetgocpof6xk64kjjzdeq2e4c7hqs3krdheosk4tgj4", &cid), 0);
    /* Inserted out of order, with a wide integer: the encoder sorts and
     * shortens. */
    cr_assert_eq(ipld_cbor_map_put(map, "version", cbor_build_uint64(1)), 0);
    cr_assert_eq(ipld_cbor_map_put(map, "roots", cbor_new_indefinite_array()), 0);
    cr_assert(cbor_array_push(ipld_cbor_map_get(map, "roots"), ipld_cbor_link(&cid)));
    cr_assert_eq(ipld_cbor_map_put(map, "a", ipld_cbor_int(-1000)), 0);
    cr_assert_eq(ipld_cbor_encode(map, &out, &len), 0);
    /* a2... keys "a" (1) < "roots" (5) < "version" (7). */
    const uint8_t head[] = {0xa3, 0x61, 'a',  0x39, 0x03, 0xe7, 0x65, 'r',  'o',  'o',  't',
                            's',  0x81, 0xd8, 0x2a, 0x58, 0x25, 0x00, 0x01, 0x55, 0x12, 0x20};
    cr_assert(len > sizeof head && memcmp(out, head, sizeof head) == 0);
    cr_assert(memcmp(out + len - 9, "\x67version\x01", 9) == 0);
    cr_assert_eq(ipld_cbor_decode(out, len, 1, &back), 0);
    ipld_cid got;
    cr_assert_eq(ipld_cbor_get_link(cbor_array_handle(ipld_cbor_map_get(back, "roots"))[0], &got),
                 0);
    cr_assert(ipld_cid_equal(&got, &cid));
    int64_t v;
    cr_assert_eq(ipld_cbor_get_int(ipld_cbor_map_get(back, "a"), &v), 0);
    cr_assert_eq(v, -1000);
    cbor_decref(&back);
    free(out);
    /* Duplicate keys cannot be encoded. */
    cr_assert_eq(ipld_cbor_map_put(map, "a", ipld_cbor_int(1)), 0);
    cr_assert_eq(ipld_cbor_encode(map, &out, &len), IPLD_EFORMAT);
    cbor_decref(&map);
}

Test(ipld, dagcbor_rejects)
{
    struct {
        const char *hex, *why;
        int strict_only;
    } bad[] = {
        {"", "empty", 0},
        {"01ff", "trailing byte", 0},
        {"0101", "two objects", 0},
        {"c100", "tag 1", 0},
        {"d82a4100", "link without CID bytes", 0},
        {"d82a420001", "link that is not a CID", 0},
        {"a10101", "integer map key", 0},
        {"f7", "undefined", 0},
        {"f0", "simple value 16", 0},
        {"f820", "simple value 32", 0},
        {"5f4100ff", "indefinite bytes", 0},
        {"9f01ff", "indefinite array", 0},
        {"fb7ff8000000000000", "NaN", 0},
        {"fb7ff0000000000000", "Infinity", 0},
        {"9b00000000ffffffff", "array longer than its input", 0},
        {"1818", "24 is not minimal... (it is: 0x18 0x18)", -1},
        {"1800", "0 in two bytes", 1},
        {"a2616201616101", "unsorted keys", 1},
        {"a261610161610", "truncated", 0},
        {"a2616101616102", "duplicate keys", 1},
        {"f93c00", "half float", 1},
        {"d9002a4100", "tag 42 in two bytes", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[64];
        cbor_item_t *item;
        size_t n = unhex(bad[i].hex, b, sizeof b);
        if (bad[i].strict_only < 0) {
            cr_assert_eq(ipld_cbor_decode(b, n, 1, &item), 0);
            cbor_decref(&item);
            continue;
        }
        cr_assert_eq(ipld_cbor_decode(b, n, 1, &item), IPLD_EFORMAT, "strict accepted %s",
                     bad[i].why);
        if (bad[i].strict_only) {
            int rc = ipld_cbor_decode(b, n, 0, &item);
            if (rc == 0)
                cbor_decref(&item);
        } else {
            cr_assert_eq(ipld_cbor_decode(b, n, 0, &item), IPLD_EFORMAT, "accepted %s", bad[i].why);
        }
    }
    /* Nesting: 64 levels decode, 65 do not (and 100,000 do not crash). */
    uint8_t *deep = malloc(100001);
    cbor_item_t *item;
    memset(deep, 0x81, 100000);
    deep[64] = 0x00;
    cr_assert_eq(ipld_cbor_decode(deep, 65, 1, &item), 0);
    cbor_decref(&item);
    deep[64] = 0x81;
    deep[65] = 0x00;
    cr_assert_eq(ipld_cbor_decode(deep, 66, 1, &item), IPLD_EFORMAT);
    deep[100000] = 0x00;
    cr_assert_eq(ipld_cbor_decode(deep, 100001, 0, &item), IPLD_EFORMAT);
    free(deep);
}

/* Every truncation and many byte flips of every fixture: decoders return
 * (0 or an error), never crash, never read out of bounds (ASan). */
Test(ipld, decoders_survive_damage)
{
    const char *files[] = {"dag-pb-fixtures.txt", "dag-cbor-fixtures.txt"};
    tu_rng r;
    tu_rng_init(&r, tu_seed("ipld damage"));
    for (int fi = 0; fi < 2; fi++) {
        size_t n;
        fixture *f = load_fixtures(files[fi], &n);
        for (size_t i = 0; i < n; i++) {
            size_t len = f[i].len;
            uint8_t *b = malloc(len + 1);
            for (int round = 0; round < 40; round++) {
                size_t cut = round < 20 ? tu_below(&r, len + 1) : len;
                if (len)
                    memcpy(b, f[i].bytes, len);
                if (round >= 20 && len)
                    b[tu_below(&r, len)] ^= (uint8_t)(1u << tu_below(&r, 8));
                uint8_t *exact = malloc(cut ? cut : 1);
                if (cut)
                    memcpy(exact, b, cut);
                if (fi == 0) {
                    ipld_pb_node node;
                    if (ipld_pb_decode(exact, cut, &node) == 0)
                        ipld_pb_node_free(&node);
                    ipld_unixfs u;
                    if (ipld_unixfs_decode(exact, cut, &u) == 0)
                        ipld_unixfs_free(&u);
                } else {
                    cbor_item_t *item;
                    if (ipld_cbor_decode(exact, cut, round & 1, &item) == 0)
                        cbor_decref(&item);
                }
                free(exact);
            }
            free(b);
        }
        free_fixtures(f, n);
    }
}
