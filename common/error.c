/*
 * error.c — error names and the thread-local record of the last error.
 *
 * Owns ffdb_strerror() and ffdb_last_error(); every layer raises through
 * err_raise(). Must never allocate: it runs on out-of-memory paths.
 */
#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local ffdb_error_info last_error = { 0, PGNO_NONE, "" };

int err_raise(int code, uint64_t pgno, const char *file, int line, const char *fmt, ...)
{
    char text[128];
    va_list ap;
    const char *base = strrchr(file, '/');

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    last_error.code = code;
    last_error.pgno = pgno;
    snprintf(last_error.message, sizeof(last_error.message), "%s (%s:%d)", text,
             base ? base + 1 : file, line);
    return code;
}

void err_clear(void)
{
    last_error.code = 0;
    last_error.pgno = PGNO_NONE;
    last_error.message[0] = '\0';
}

void ffdb_last_error(ffdb_error_info *info)
{
    if (info)
        *info = last_error;
}

int err_from_errno(int e)
{
    switch (e) {
    case ENOMEM:
        return FFDB_ENOMEM;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return FFDB_ENOSPC;
    case EWOULDBLOCK:
        return FFDB_ELOCKED;
    case ENOENT:
        return FFDB_NOTFOUND;
    case EROFS:
    case EACCES:
    case EPERM:
        return FFDB_EREADONLY;
    case EINVAL:
        return FFDB_EINVAL;
    default:
        return FFDB_EIO;
    }
}

const char *ffdb_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case FFDB_NOTFOUND:
        return "not found";
    case FFDB_EXISTS:
        return "already exists";
    case FFDB_EINVAL:
        return "invalid argument";
    case FFDB_ENOMEM:
        return "out of memory";
    case FFDB_EIO:
        return "I/O error";
    case FFDB_ENOSPC:
        return "no space left on device";
    case FFDB_CORRUPT:
        return "database file is corrupt";
    case FFDB_ENOTDB:
        return "not an ffdb file";
    case FFDB_EVERSION:
        return "file written by a newer format version";
    case FFDB_ELOCKED:
        return "file is locked by another process or handle";
    case FFDB_EREADONLY:
        return "write through a read-only transaction or handle";
    case FFDB_ENOTEMPTY:
        return "bucket is not empty";
    case FFDB_EKEYORDER:
        return "bulk load keys must be strictly increasing";
    case FFDB_EPOOLFULL:
        return "buffer pool exhausted: every frame is pinned";
    case FFDB_EFAILED:
        return "an earlier sync failed: reopen the database";
    case FFDB_EBADTXN:
        return "transaction failed earlier and must be aborted";
    case FFDB_EBUSY:
        return "bucket is busy with a bulk load";
    case FFDB_ETOOMANY:
        return "too many concurrent readers";
    default:
        return "unknown error";
    }
}
