/*
 * sha1.c — SHA-1 for the script cache's names (sha1.h), from OpenSSL's
 * libcrypto (EVP, the interface OpenSSL 3 keeps): the project takes crypto
 * primitives from a well-kept library, never from its own code. Checked
 * against the FIPS 180-4 examples in tests/test_resp_script.c.
 */
#include <assert.h>

#include <openssl/evp.h>

#include "modules/redis/sha1.h"

void redis_sha1_hex(const void *p, size_t n, char hex[41])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int ok;

    ok = EVP_Digest(p, n, md, &len, EVP_sha1(), NULL);
    /* SHA-1 is built into every libcrypto: failing is a broken install */
    assert(ok == 1 && len == 20);
    (void)ok;
    for (unsigned i = 0; i < 20; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[40] = '\0';
}
