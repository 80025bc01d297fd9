/*
 * ident.c — the node identity: the key file (ident.h gives its format and
 * the creation invariant I1), signatures and the text forms of a key.
 *
 * Every failure that the file system or the file's contents can cause is a
 * return code with a message naming the path; assertions guard the callers'
 * contract only. Secrets pass through stack buffers that are wiped before
 * return (sodium_memzero).
 */
#include "modules/ident/ident.h"

#include "common/hex.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

_Static_assert(IDENT_SK_BYTES == crypto_sign_SECRETKEYBYTES, "libsodium secret key size");
_Static_assert(IDENT_PK_BYTES == crypto_sign_PUBLICKEYBYTES, "libsodium public key size");
_Static_assert(IDENT_SIG_BYTES == crypto_sign_BYTES, "libsodium signature size");
_Static_assert(IDENT_SEED_BYTES == crypto_sign_SEEDBYTES, "libsodium seed size");
_Static_assert(sizeof IDENT_FILE_MAGIC - 1 == 8, "the magic is 8 bytes");

const char *ident_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case IDENT_EIO:
        return "I/O error on the identity file";
    case IDENT_EBADFILE:
        return "identity file damaged";
    case IDENT_EMODE:
        return "identity file is not a private regular file";
    case IDENT_ENOENT:
        return "no identity file";
    case IDENT_ESODIUM:
        return "libsodium failed to initialise";
    case IDENT_EFORMAT:
        return "malformed public key text";
    case IDENT_EBADSIG:
        return "bad signature";
    default:
        return "unknown error";
    }
}

/* Writes "<path>: <what>" into err; returns rc so callers can return it. */
static int fail(int rc, char *err, size_t err_len, const char *path, const char *fmt, ...)
{
    if (err && err_len) {
        int n = snprintf(err, err_len, "%s: ", path);
        if (n >= 0 && (size_t)n < err_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

static int sodium_ready(void)
{
    return sodium_init() < 0 ? IDENT_ESODIUM : 0;
}

int ident_from_seed(ident *id, const uint8_t seed[IDENT_SEED_BYTES])
{
    assert(id && seed);
    if (sodium_ready())
        return IDENT_ESODIUM;
    crypto_sign_seed_keypair(id->pk, id->sk, seed);
    return 0;
}

void ident_close(ident *id)
{
    if (id)
        sodium_memzero(id, sizeof *id);
}

/* ---- loading ------------------------------------------------------------------ */

/* Reads exactly IDENT_FILE_SIZE bytes (and sees EOF after them). */
static int read_file(int fd, uint8_t buf[IDENT_FILE_SIZE], const char *path, char *err,
                     size_t err_len)
{
    size_t got = 0;
    uint8_t extra;
    while (got < IDENT_FILE_SIZE) {
        ssize_t n = read(fd, buf + got, IDENT_FILE_SIZE - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail(IDENT_EIO, err, err_len, path, "read: %s", strerror(errno));
        if (n == 0)
            return fail(IDENT_EBADFILE, err, err_len, path, "%zu bytes, an identity file has %d",
                        got, IDENT_FILE_SIZE);
        got += (size_t)n;
    }
    ssize_t n;
    while ((n = read(fd, &extra, 1)) < 0 && errno == EINTR)
        ;
    if (n != 0)
        return fail(n < 0 ? IDENT_EIO : IDENT_EBADFILE, err, err_len, path,
                    "longer than the %d bytes of an identity file", IDENT_FILE_SIZE);
    return 0;
}

/* The mode and type checks: a regular file that nobody but its owner can
 * read or write. */
static int check_mode(int fd, const char *path, char *err, size_t err_len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return fail(IDENT_EIO, err, err_len, path, "stat: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(IDENT_EMODE, err, err_len, path, "not a regular file");
    if (st.st_mode & 077)
        return fail(IDENT_EMODE, err, err_len, path,
                    "mode %04o, an identity file must be 0600 (chmod 600 %s)",
                    (unsigned)(st.st_mode & 07777), path);
    return 0;
}

static int decode(ident *id, const uint8_t buf[IDENT_FILE_SIZE], const char *path, char *err,
                  size_t err_len)
{
    if (memcmp(buf, IDENT_FILE_MAGIC, 8) != 0)
        return fail(IDENT_EBADFILE, err, err_len, path, "not an ffdb identity file (bad magic)");
    if (ident_from_seed(id, buf + 8))
        return fail(IDENT_ESODIUM, err, err_len, path, "libsodium failed to initialise");
    if (sodium_memcmp(id->pk, buf + 8 + IDENT_SEED_BYTES, IDENT_PK_BYTES) != 0) {
        ident_close(id);
        return fail(IDENT_EBADFILE, err, err_len, path,
                    "damaged: the seed does not give the stored public key");
    }
    return 0;
}

int ident_load(ident *id, const char *path, char *err, size_t err_len)
{
    assert(id && path);
    uint8_t buf[IDENT_FILE_SIZE];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return fail(IDENT_ENOENT, err, err_len, path, "no identity file");
        if (errno == ELOOP)
            return fail(IDENT_EMODE, err, err_len, path, "a symbolic link, not a regular file");
        return fail(IDENT_EIO, err, err_len, path, "open: %s", strerror(errno));
    }
    int rc = check_mode(fd, path, err, err_len);
    if (rc == 0)
        rc = read_file(fd, buf, path, err, err_len);
    if (rc == 0)
        rc = decode(id, buf, path, err, err_len);
    close(fd);
    sodium_memzero(buf, sizeof buf);
    return rc;
}

/* ---- creation (I1) -------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Writes a new key file to a temporary name and links it to path. Returns 0,
 * a negative IDENT_E... code, or 1 when path appeared meanwhile (another process won
 * the race: load its file). */
static int create_file(const char *dir, const char *path, char *err, size_t err_len)
{
    char tmp[4096];
    uint8_t buf[IDENT_FILE_SIZE], sk[IDENT_SK_BYTES];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.%s.%ld.tmp", dir, IDENT_FILE_NAME, (long)getpid()) >=
        sizeof tmp)
        return fail(IDENT_EIO, err, err_len, path, "path too long");
    memcpy(buf, IDENT_FILE_MAGIC, 8);
    randombytes_buf(buf + 8, IDENT_SEED_BYTES);
    crypto_sign_seed_keypair(buf + 8 + IDENT_SEED_BYTES, sk, buf + 8);
    sodium_memzero(sk, sizeof sk);

    int rc = 0;
    unlink(tmp); /* a leftover of a crashed start of this pid */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = fail(IDENT_EIO, err, err_len, tmp, "create: %s", strerror(errno));
        goto out;
    }
    /* fchmod: the umask may have taken bits we did not give, never added some. */
    if (fchmod(fd, 0600) != 0 || write_all(fd, buf, sizeof buf) != 0 || fsync(fd) != 0) {
        rc = fail(IDENT_EIO, err, err_len, tmp, "write: %s", strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (link(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        rc = e == EEXIST ? 1 : fail(IDENT_EIO, err, err_len, path, "link: %s", strerror(e));
        goto out;
    }
    unlink(tmp);
    if (fsync_dir(dir) != 0)
        rc = fail(IDENT_EIO, err, err_len, dir, "fsync of the directory: %s", strerror(errno));
out:
    sodium_memzero(buf, sizeof buf);
    return rc;
}

int ident_open(ident *id, const char *dir, unsigned flags, int *created, char *err, size_t err_len)
{
    assert(id && dir);
    char path[4096];
    if (created)
        *created = 0;
    if (sodium_ready())
        return fail(IDENT_ESODIUM, err, err_len, dir, "libsodium failed to initialise");
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, IDENT_FILE_NAME) >= sizeof path)
        return fail(IDENT_EIO, err, err_len, dir, "path too long");
    int rc = ident_load(id, path, err, err_len);
    if (rc != IDENT_ENOENT || (flags & IDENT_NOCREATE))
        return rc;
    rc = create_file(dir, path, err, err_len);
    if (rc < 0)
        return rc;
    if (rc == 0 && created)
        *created = 1;
    return ident_load(id, path, err, err_len);
}

/* ---- signatures ----------------------------------------------------------------- */

void ident_sign(const ident *id, const void *msg, size_t len, uint8_t sig[IDENT_SIG_BYTES])
{
    assert(id && sig && (msg || len == 0));
    crypto_sign_detached(sig, NULL, msg, len, id->sk);
}

int ident_verify(const uint8_t pk[IDENT_PK_BYTES], const void *msg, size_t len,
                 const uint8_t sig[IDENT_SIG_BYTES])
{
    assert(pk && sig && (msg || len == 0));
    if (sodium_ready())
        return IDENT_ESODIUM;
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : IDENT_EBADSIG;
}

/* ---- text forms ------------------------------------------------------------------ */

static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";

void ident_pk_hex(const uint8_t pk[IDENT_PK_BYTES], char out[IDENT_HEX_LEN + 1])
{
    static const char H[] = "0123456789abcdef";
    for (size_t i = 0; i < IDENT_PK_BYTES; i++) {
        out[2 * i] = H[pk[i] >> 4];
        out[2 * i + 1] = H[pk[i] & 15];
    }
    out[IDENT_HEX_LEN] = 0;
}

void ident_pk_base32(const uint8_t pk[IDENT_PK_BYTES], char out[IDENT_B32_LEN + 1])
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < IDENT_PK_BYTES; i++) {
        acc = (acc << 8) | pk[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = B32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits)
        out[o++] = B32[(acc << (5 - bits)) & 31];
    assert(o == IDENT_B32_LEN);
    out[o] = 0;
}

static int b32val(int c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

int ident_pk_parse(const char *text, uint8_t pk[IDENT_PK_BYTES])
{
    assert(text && pk);
    size_t len = strlen(text);
    if (len == IDENT_HEX_LEN) {
        return hex_decode(text, len, pk) == 0 ? 0 : IDENT_EFORMAT;
    }
    if (len != IDENT_B32_LEN)
        return IDENT_EFORMAT;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b32val(text[i]);
        if (v < 0)
            return IDENT_EFORMAT;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            pk[o++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    /* The bits left over pad the last character: canonical text has them 0. */
    if (o != IDENT_PK_BYTES || (acc & ((1u << bits) - 1)) != 0)
        return IDENT_EFORMAT;
    return 0;
}
