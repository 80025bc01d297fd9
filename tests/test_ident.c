/*
 * test_ident.c — modules/ident: RFC 8032's ed25519 vectors through
 * ident_from_seed/sign/verify, the key file's creation (mode 0600 whatever
 * the umask, one key when processes race), its refusals (wrong mode, symlink,
 * wrong size, magic or key: a clear error and the file left as it was), and
 * the text forms of a key (round trips, case, canonical padding bits).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "modules/ident/ident.h"
#include "tests/testutil.h"

TestSuite(ident, .init = tu_setup, .fini = tu_teardown, .timeout = 60);

static void unhex(const char *s, uint8_t *out, size_t n)
{
    cr_assert_eq(strlen(s), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        cr_assert(sscanf(s + 2 * i, "%2x", &v) == 1);
        out[i] = (uint8_t)v;
    }
}

static size_t file_bytes(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "open %s", path);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void put_bytes(const char *path, const uint8_t *buf, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, buf, len), (ssize_t)len);
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

/* RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte). */
Test(ident, rfc8032_vectors)
{
    static const struct {
        const char *seed, *pk, *msg, *sig;
    } v[] = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701"
         "cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d"
         "0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t seed[32], pk[32], msg[8], sig[64], got[64];
        size_t mlen = strlen(v[i].msg) / 2;
        unhex(v[i].seed, seed, 32);
        unhex(v[i].pk, pk, 32);
        unhex(v[i].msg, msg, mlen);
        unhex(v[i].sig, sig, 64);
        ident id;
        cr_assert_eq(ident_from_seed(&id, seed), 0);
        cr_assert_arr_eq(id.pk, pk, 32, "vector %zu: public key", i);
        ident_sign(&id, msg, mlen, got);
        cr_assert_arr_eq(got, sig, 64, "vector %zu: signature", i);
        cr_assert_eq(ident_verify(pk, msg, mlen, sig), 0);
        char hex[IDENT_HEX_LEN + 1];
        ident_pk_hex(pk, hex);
        cr_assert_str_eq(hex, v[i].pk);
        ident_close(&id);
    }
}

Test(ident, a_tampered_message_signature_or_key_does_not_verify)
{
    uint8_t seed[32] = {1}, sig[64], msg[100];
    memset(msg, 'x', sizeof msg);
    ident id, other;
    cr_assert_eq(ident_from_seed(&id, seed), 0);
    seed[0] = 2;
    cr_assert_eq(ident_from_seed(&other, seed), 0);
    ident_sign(&id, msg, sizeof msg, sig);
    cr_assert_eq(ident_verify(id.pk, msg, sizeof msg, sig), 0);
    for (size_t bit = 0; bit < 8 * sizeof msg; bit += 37) {
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_eq(ident_verify(id.pk, msg, sizeof msg, sig), IDENT_EBADSIG);
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t bit = 0; bit < 512; bit += 7) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_eq(ident_verify(id.pk, msg, sizeof msg, sig), IDENT_EBADSIG);
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    cr_assert_eq(ident_verify(other.pk, msg, sizeof msg, sig), IDENT_EBADSIG);
    cr_assert_eq(ident_verify(id.pk, msg, sizeof msg - 1, sig), IDENT_EBADSIG);
    uint8_t zero[32] = {0};
    cr_assert_eq(ident_verify(zero, msg, sizeof msg, sig), IDENT_EBADSIG);
}

Test(ident, first_open_creates_a_private_file_and_the_next_loads_it)
{
    ident a, b;
    int created = -1;
    char err[256];
    mode_t old = umask(0); /* a permissive umask must not widen the mode */
    cr_assert_eq(ident_open(&a, tu_dir(), 0, &created, err, sizeof err), 0, "%s", err);
    umask(old);
    cr_assert_eq(created, 1);
    struct stat st;
    cr_assert_eq(stat(tu_path(IDENT_FILE_NAME), &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600);
    cr_assert_eq(st.st_size, IDENT_FILE_SIZE);
    cr_assert_eq(ident_open(&b, tu_dir(), IDENT_NOCREATE, &created, err, sizeof err), 0, "%s", err);
    cr_assert_eq(created, 0);
    cr_assert_arr_eq(a.pk, b.pk, 32);
    cr_assert_arr_eq(a.sk, b.sk, 64);
    /* No temporary file is left beside it. */
    int entries = 0;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", tu_dir());
    FILE *p = popen(cmd, "r");
    cr_assert(p && fscanf(p, "%d", &entries) == 1);
    pclose(p);
    cr_assert_eq(entries, 1);
    /* Signatures of the loaded key verify with the created one. */
    uint8_t sig[64];
    ident_sign(&b, "m", 1, sig);
    cr_assert_eq(ident_verify(a.pk, "m", 1, sig), 0);
    ident_close(&a);
    ident_close(&b);
    for (size_t i = 0; i < sizeof a.sk; i++)
        cr_assert_eq(a.sk[i], 0);
}

Test(ident, nocreate_on_an_empty_directory_is_enoent_and_creates_nothing)
{
    ident id;
    char err[256];
    cr_assert_eq(ident_open(&id, tu_dir(), IDENT_NOCREATE, NULL, err, sizeof err), IDENT_ENOENT);
    cr_assert(strstr(err, IDENT_FILE_NAME), "%s", err);
    cr_assert_neq(access(tu_path(IDENT_FILE_NAME), F_OK), 0);
    cr_assert_eq(ident_open(&id, tu_path("no-such-dir"), 0, NULL, err, sizeof err), IDENT_EIO);
}

Test(ident, a_readable_file_is_refused_and_left_alone)
{
    ident id;
    char err[256];
    cr_assert_eq(ident_open(&id, tu_dir(), 0, NULL, err, sizeof err), 0);
    uint8_t before[IDENT_FILE_SIZE], after[IDENT_FILE_SIZE];
    cr_assert_eq(file_bytes(tu_path(IDENT_FILE_NAME), before, sizeof before), IDENT_FILE_SIZE);
    static const mode_t modes[] = {0644, 0640, 0604, 0660, 0606, 0700};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        cr_assert_eq(chmod(tu_path(IDENT_FILE_NAME), modes[i]), 0);
        int rc = ident_open(&id, tu_dir(), 0, NULL, err, sizeof err);
        if (modes[i] & 077) {
            cr_assert_eq(rc, IDENT_EMODE, "mode %o", modes[i]);
            cr_assert(strstr(err, "0600") && strstr(err, IDENT_FILE_NAME), "%s", err);
        } else {
            cr_assert_eq(rc, 0, "mode %o: %s", modes[i], err); /* 0700: only the owner */
        }
    }
    cr_assert_eq(file_bytes(tu_path(IDENT_FILE_NAME), after, sizeof after), IDENT_FILE_SIZE);
    cr_assert_arr_eq(before, after, sizeof before);
}

Test(ident, a_symlink_or_a_directory_is_refused)
{
    ident id;
    char err[256];
    cr_assert_eq(ident_open(&id, tu_dir(), 0, NULL, err, sizeof err), 0);
    cr_assert_eq(rename(tu_path(IDENT_FILE_NAME), tu_path("real")), 0);
    cr_assert_eq(symlink(tu_path("real"), tu_path(IDENT_FILE_NAME)), 0);
    cr_assert_eq(ident_open(&id, tu_dir(), 0, NULL, err, sizeof err), IDENT_EMODE, "%s", err);
    cr_assert_eq(unlink(tu_path(IDENT_FILE_NAME)), 0);
    cr_assert_eq(mkdir(tu_path(IDENT_FILE_NAME), 0700), 0);
    int rc = ident_open(&id, tu_dir(), 0, NULL, err, sizeof err);
    cr_assert(rc == IDENT_EMODE || rc == IDENT_EBADFILE || rc == IDENT_EIO, "rc %d", rc);
    cr_assert_neq(rc, 0);
}

Test(ident, a_damaged_file_is_refused_and_never_replaced)
{
    ident id;
    char err[256];
    cr_assert_eq(ident_open(&id, tu_dir(), 0, NULL, err, sizeof err), 0);
    uint8_t good[IDENT_FILE_SIZE], now[IDENT_FILE_SIZE + 1];
    file_bytes(tu_path(IDENT_FILE_NAME), good, sizeof good);
    struct {
        const char *what;
        size_t len, flip; /* flip: byte to change, or len for none */
    } cases[] = {
        {"empty", 0, 0},
        {"truncated", IDENT_FILE_SIZE - 1, IDENT_FILE_SIZE - 1},
        {"bad magic", IDENT_FILE_SIZE, 3},
        {"seed changed", IDENT_FILE_SIZE, 8},
        {"key changed", IDENT_FILE_SIZE, IDENT_FILE_SIZE - 1},
        {"one byte too long", IDENT_FILE_SIZE + 1, IDENT_FILE_SIZE + 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t bad[IDENT_FILE_SIZE + 1] = {0};
        memcpy(bad, good, sizeof good);
        if (cases[i].flip < cases[i].len)
            bad[cases[i].flip] ^= 0x40;
        put_bytes(tu_path(IDENT_FILE_NAME), bad, cases[i].len, 0600);
        cr_assert_eq(ident_open(&id, tu_dir(), 0, NULL, err, sizeof err), IDENT_EBADFILE, "%s",
                     cases[i].what);
        cr_assert(strstr(err, IDENT_FILE_NAME), "%s: %s", cases[i].what, err);
        cr_assert_eq(file_bytes(tu_path(IDENT_FILE_NAME), now, sizeof now), cases[i].len, "%s",
                     cases[i].what);
        cr_assert_arr_eq(now, bad, cases[i].len);
    }
}

Test(ident, processes_racing_to_create_end_with_one_key)
{
    enum { N = 6 };
    int fds[N][2];
    for (int i = 0; i < N; i++) {
        cr_assert_eq(pipe(fds[i]), 0);
        pid_t pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
            ident id;
            uint8_t out[33] = {0};
            if (ident_open(&id, tu_dir(), 0, NULL, NULL, 0) == 0) {
                out[0] = 1;
                memcpy(out + 1, id.pk, 32);
            }
            (void)!write(fds[i][1], out, sizeof out);
            _exit(0);
        }
        close(fds[i][1]);
    }
    uint8_t first[33];
    for (int i = 0; i < N; i++) {
        uint8_t got[33];
        cr_assert_eq(read(fds[i][0], got, sizeof got), 33);
        close(fds[i][0]);
        cr_assert_eq(got[0], 1, "child %d failed", i);
        if (i == 0)
            memcpy(first, got, sizeof got);
        cr_assert_arr_eq(got, first, sizeof got, "child %d has another key", i);
    }
    while (wait(NULL) > 0)
        ;
    ident id;
    cr_assert_eq(ident_open(&id, tu_dir(), IDENT_NOCREATE, NULL, NULL, 0), 0);
    cr_assert_arr_eq(id.pk, first + 1, 32);
}

Test(ident, text_forms_round_trip_and_reject_what_is_not_canonical)
{
    tu_rng r;
    tu_rng_init(&r, tu_seed("ident text"));
    for (int i = 0; i < 200; i++) {
        uint8_t pk[32], back[32];
        char hex[IDENT_HEX_LEN + 1], b32[IDENT_B32_LEN + 1];
        tu_fill(&r, pk, sizeof pk);
        ident_pk_hex(pk, hex);
        ident_pk_base32(pk, b32);
        cr_assert_eq(strlen(hex), IDENT_HEX_LEN);
        cr_assert_eq(strlen(b32), IDENT_B32_LEN);
        cr_assert_eq(ident_pk_parse(hex, back), 0);
        cr_assert_arr_eq(back, pk, 32);
        cr_assert_eq(ident_pk_parse(b32, back), 0);
        cr_assert_arr_eq(back, pk, 32);
        for (char *c = b32; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 'a' + 'A');
        cr_assert_eq(ident_pk_parse(b32, back), 0, "upper case base32");
        cr_assert_arr_eq(back, pk, 32);
    }
    /* RFC 4648 alphabet on a known key: all zero bytes are all 'a'. */
    uint8_t zero[32] = {0}, ff[32], out[32];
    memset(ff, 0xff, sizeof ff);
    char b32[IDENT_B32_LEN + 1];
    ident_pk_base32(zero, b32);
    cr_assert_str_eq(b32, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    ident_pk_base32(ff, b32);
    cr_assert_str_eq(
        b32, "777777777777777777777777777777777777777777777777777q"); /* last: 1 bit + 4 zero */
    cr_assert_eq(ident_pk_parse("777777777777777777777777777777777777777777777777777r", out),
                 IDENT_EFORMAT, "nonzero padding bits");
    cr_assert_eq(ident_pk_parse("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", out),
                 IDENT_EFORMAT);
    cr_assert_eq(ident_pk_parse("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", out),
                 IDENT_EFORMAT);
    cr_assert_eq(ident_pk_parse("", out), IDENT_EFORMAT);
    cr_assert_eq(
        ident_pk_parse("0g00000000000000000000000000000000000000000000000000000000000000", out),
        IDENT_EFORMAT);
    cr_assert_eq(
        ident_pk_parse("D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A", out), 0);
    cr_assert_eq(out[0], 0xd7);
    cr_assert_str_eq(ident_strerror(IDENT_EMODE), "identity file is not a private regular file");
    cr_assert_str_eq(ident_strerror(12345), "unknown error");
}
