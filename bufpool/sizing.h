/*
 * sizing.h — what the machine offers a growing buffer pool (bufpool only).
 *
 * The default pool grows on demand up to a cap derived from the machine and
 * the file, as WiredTiger and InnoDB size their caches, and gives memory back
 * when the machine runs short. These helpers read the numbers; the policy
 * that uses them is in pool.c (pool_open, adjust_limit).
 */
#ifndef FFDB_BUFPOOL_SIZING_H
#define FFDB_BUFPOOL_SIZING_H

#include <stdint.h>

/* Memory this process may use: physical memory, lowered by a cgroup limit
 * (v2 memory.max or v1 limit_in_bytes) when one is set. Never 0. */
uint64_t sizing_memory_total(void);
/* Memory available now (MemAvailable, or the cgroup's limit minus its use
 * when that is smaller); UINT64_MAX when it cannot be told. */
uint64_t sizing_memory_available(void);

#endif /* FFDB_BUFPOOL_SIZING_H */
