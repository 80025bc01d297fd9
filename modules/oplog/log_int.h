/*
 * log_int.h — helpers shared by the files of modules/oplog (private).
 */
#ifndef FFDB_OPLOG_LOG_INT_H
#define FFDB_OPLOG_LOG_INT_H

#include "modules/oplog/oplog.h"

/* Open the named bucket; create it when create is set (a write txn). */
int ol_bucket(ffdb_txn *txn, const char *name, int create, ffdb_bucket **b);
uint64_t ol_get_u64(const void *p);
void ol_put_u64(uint8_t *b, uint64_t v);
/* 1 held, 2 dropped by compaction (clock set either way), 0 unknown. */
int ol_lookup(ffdb_txn *txn, const ipld_cid *id, uint64_t *clock);
/* Drop a bucket if it exists (scratch buckets of the fetch). */
int ol_drop(ffdb_txn *txn, const char *name);
/* The log's signature check (NULL when it checks none). */

/* A walk callback (oplog_walk, oplog_fetch_spill; arg is an ol_adder): adds
 * each entry to log in txn and counts the new ones. copy: buf belongs to
 * another txn, so oplog_add gets a copy of it. */
typedef struct ol_adder {
    oplog *log;
    ffdb_txn *txn;
    uint64_t added;
    int copy;
} ol_adder;
int ol_add_counted(void *arg, const ipld_cid *id, const uint8_t *buf, size_t len);

#endif
