/*
 * ident.h — the public header of libffdb_ident.a: a node's ed25519 identity
 * (libsodium), kept in its data directory.
 *
 * What it owns: the key file (format below), its atomic creation on first
 * start, its checked loading, signing and verification of byte strings, and
 * the text forms of a public key (hex, and RFC 4648 base32 lower case without
 * padding, the form multibase 'b' uses).
 *
 * Who calls it: ffdb-server at start (ident_open on its data directory),
 * modules/ptr (signed records) and modules/oplog (signed entries).
 *
 * What it must never do: overwrite or repair a key file it did not create,
 * accept a key file that other users can read, or keep a secret key in memory
 * it does not wipe (ident_close). It holds no global state besides
 * libsodium's own initialisation.
 *
 * Key file, <dir>/IDENT_FILE_NAME, exactly IDENT_FILE_SIZE bytes, mode 0600:
 *
 *   offset size description
 *   0      8    magic "FFDBID01"
 *   8      32   ed25519 seed (the secret; the key pair is derived from it)
 *   40     32   ed25519 public key derived from the seed (a check: a file whose
 *               seed does not give this key is damaged, IDENT_EBADFILE)
 *
 * Creation (I1): the file is written in full to a temporary name in the same
 * directory (O_EXCL, mode 0600), fsynced, then link()ed to its name, which
 * never replaces an existing file, and the directory is fsynced. A crash
 * leaves either no key file or a whole one; two processes racing to create
 * it end with one key, which both load.
 *
 * Conventions: functions return 0 or a negative IDENT_E... code; when err is
 * not NULL a one-line message naming the file and the cause is written there
 * (err_len bytes at most, always terminated). Thread safety: an ident is
 * read-only after ident_open; signing and verifying from several threads at
 * once is safe.
 */
#ifndef FFDB_IDENT_H
#define FFDB_IDENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors (negative, clear of ffdb's -30700.. and other modules' ranges) --- */
#define IDENT_EIO (-31100)      /* a system call on the file or directory failed */
#define IDENT_EBADFILE (-31101) /* the key file has the wrong size, magic or key */
#define IDENT_EMODE (-31102)    /* the key file is not a regular file of mode 0600 */
#define IDENT_ENOENT (-31103)   /* no key file, and IDENT_NOCREATE was given */
#define IDENT_ESODIUM (-31104)  /* libsodium failed to initialise */
#define IDENT_EFORMAT (-31105)  /* a key's text form does not parse */
#define IDENT_EBADSIG (-31106)  /* a signature does not verify */

/* A static name for any code of this module ("unknown error" otherwise). */
const char *ident_strerror(int code);

/* ---- Sizes ------------------------------------------------------------------ */
#define IDENT_PK_BYTES 32
#define IDENT_SEED_BYTES 32
#define IDENT_SK_BYTES 64 /* libsodium's secret key: seed then public key */
#define IDENT_SIG_BYTES 64
#define IDENT_FILE_NAME "node.ident"
#define IDENT_FILE_MAGIC "FFDBID01"
#define IDENT_FILE_SIZE (8 + IDENT_SEED_BYTES + IDENT_PK_BYTES)
#define IDENT_HEX_LEN (2 * IDENT_PK_BYTES)           /* characters, without the NUL */
#define IDENT_B32_LEN ((IDENT_PK_BYTES * 8 + 4) / 5) /* 52 characters, without the NUL */

typedef struct ident {
    uint8_t pk[IDENT_PK_BYTES];
    uint8_t sk[IDENT_SK_BYTES];
} ident;

/* ---- Opening ---------------------------------------------------------------- */
#define IDENT_NOCREATE 0x1u /* fail with IDENT_ENOENT instead of creating */

/* Load the identity of directory dir (which must exist), creating it first
 * (I1) when there is none and IDENT_NOCREATE is not in flags. *created, when
 * not NULL, says whether this call made it. Errors: IDENT_EIO, IDENT_EBADFILE,
 * IDENT_EMODE, IDENT_ENOENT, IDENT_ESODIUM. */
int ident_open(ident *id, const char *dir, unsigned flags, int *created, char *err, size_t err_len);

/* Load the key file at path (the checks of ident_open, no creation). */
int ident_load(ident *id, const char *path, char *err, size_t err_len);

/* An identity from a 32-byte seed (tests, and embedders who keep their own
 * secret). No file is involved. Errors: IDENT_ESODIUM. */
int ident_from_seed(ident *id, const uint8_t seed[IDENT_SEED_BYTES]);

/* Wipe the secret key from memory. */
void ident_close(ident *id);

/* ---- Signatures ------------------------------------------------------------- */

/* The detached ed25519 signature of msg[0..len). */
void ident_sign(const ident *id, const void *msg, size_t len, uint8_t sig[IDENT_SIG_BYTES]);

/* 0 when sig is pk's signature of msg[0..len), IDENT_EBADSIG otherwise (also
 * for a public key that is not a valid curve point). */
int ident_verify(const uint8_t pk[IDENT_PK_BYTES], const void *msg, size_t len,
                 const uint8_t sig[IDENT_SIG_BYTES]);

/* ---- Text forms of a public key ---------------------------------------------- */

/* Lower-case hex: IDENT_HEX_LEN characters and a NUL. */
void ident_pk_hex(const uint8_t pk[IDENT_PK_BYTES], char out[IDENT_HEX_LEN + 1]);
/* RFC 4648 base32, lower case, no padding: IDENT_B32_LEN characters and a NUL. */
void ident_pk_base32(const uint8_t pk[IDENT_PK_BYTES], char out[IDENT_B32_LEN + 1]);
/* Parse either form (hex in either case, base32 in either case); the length
 * tells which. IDENT_EFORMAT for anything else. */
int ident_pk_parse(const char *text, uint8_t pk[IDENT_PK_BYTES]);

#ifdef __cplusplus
}
#endif

#endif
