/*
 * checksum.c — XXH3-64 over a page, minus the checksum field itself.
 */
#include "common/checksum.h"

#include <xxhash.h>

#include "common/bytes.h"
#include "common/format.h"

uint64_t page_checksum(const void *page, size_t page_size)
{
    return XXH3_64bits((const uint8_t *)page + 8, page_size - 8);
}

void page_seal(void *page, size_t page_size)
{
    st64((uint8_t *)page + PH_CHECKSUM, page_checksum(page, page_size));
}

int page_verify(const void *page, size_t page_size)
{
    return ld64((const uint8_t *)page + PH_CHECKSUM) == page_checksum(page, page_size);
}
