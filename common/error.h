/*
 * error.h — how the engine reports an error.
 *
 * Every failure is an int below zero (the FFDB_E... codes of ffdb.h). Where
 * the cause is worth telling a person (a bad page, an I/O error) the code is
 * raised through ERR_RAISE / ERR_CORRUPT, which record the page number, the
 * message and the source line in a thread-local slot that ffdb_last_error()
 * reads. Corruption is always returned, never asserted: nothing a file
 * contains may reach an assert().
 */
#ifndef FFDB_COMMON_ERROR_H
#define FFDB_COMMON_ERROR_H

#include <stdint.h>

#include "ffdb.h"

#define PGNO_NONE UINT64_MAX

/* Record code with its page, message and source line; returns code. */
int err_raise(int code, uint64_t pgno, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Forget the recorded error (on the calling thread). */
void err_clear(void);

/* Map an errno value to an FFDB_E... code. */
int err_from_errno(int e);

#define ERR_RAISE(code, pgno, ...) err_raise((code), (pgno), __FILE__, __LINE__, __VA_ARGS__)
#define ERR_CORRUPT(pgno, ...) err_raise(FFDB_CORRUPT, (pgno), __FILE__, __LINE__, __VA_ARGS__)

/* Propagate a failing call: CHECK(x) returns its code from the caller. */
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        int check_rc_ = (x);                                                                       \
        if (check_rc_ < 0)                                                                         \
            return check_rc_;                                                                      \
    } while (0)

#endif /* FFDB_COMMON_ERROR_H */
