/*
 * lock_holder.c — helper program of tests/test_lock.c: holds an ffdb file
 * open in a second process.
 *
 *   lock_holder hold PATH   open PATH, print "ready" (or "error <code>"),
 *                           keep it open until stdin reaches EOF, close
 *   lock_holder try PATH    open PATH, print the return code, close
 *
 * Exit status: 0 on success, 2 when the open failed in "hold" mode, 1 on a
 * usage error. Uses only the public API.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ffdb.h"

int main(int argc, char **argv)
{
    ffdb *db = NULL;
    ffdb_options opt;
    char buf[256];
    int rc;

    if (argc != 3 || (strcmp(argv[1], "hold") != 0 && strcmp(argv[1], "try") != 0)) {
        fprintf(stderr, "usage: %s hold|try PATH\n", argv[0]);
        return 1;
    }
    memset(&opt, 0, sizeof opt);
    opt.buffer_pages = 16;
    rc = ffdb_open(argv[2], &opt, &db);
    if (strcmp(argv[1], "try") == 0) {
        printf("%d\n", rc);
        fflush(stdout);
        ffdb_close(db);
        return 0;
    }
    if (rc != 0) {
        printf("error %d\n", rc);
        fflush(stdout);
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    while (read(STDIN_FILENO, buf, sizeof buf) > 0)
        ;
    ffdb_close(db);
    return 0;
}
