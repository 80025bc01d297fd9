/*
 * sha1.h — SHA-1 (FIPS 180-4), for the script cache's names: EVALSHA,
 * SCRIPT LOAD and redis.sha1hex name a script by the SHA-1 of its body,
 * as Redis does. Not for security.
 */
#ifndef FFDB_REDIS_SHA1_H
#define FFDB_REDIS_SHA1_H

#include <stddef.h>

/* The 40 lowercase hex digits of SHA-1(p[0..n)), NUL-terminated. */
void redis_sha1_hex(const void *p, size_t n, char hex[41]);

#endif /* FFDB_REDIS_SHA1_H */
