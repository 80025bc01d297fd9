/*
 * checksum.h — page checksums (XXH3-64 from xxHash).
 *
 * A page's checksum covers bytes [8, page_size) and is stored in bytes
 * [0, 8) (see format.h). page_seal() writes it, page_verify() checks it.
 */
#ifndef FFDB_COMMON_CHECKSUM_H
#define FFDB_COMMON_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint64_t page_checksum(const void *page, size_t page_size);
void     page_seal(void *page, size_t page_size);
/* 1 if the stored checksum matches the contents. */
int      page_verify(const void *page, size_t page_size);

#endif /* FFDB_COMMON_CHECKSUM_H */
