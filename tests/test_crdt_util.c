/*
 * test_crdt_util.c — see test_crdt_util.h.
 */
#include "tests/test_crdt_util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/test_resp_util.h"

void crdt_write_round(int fd, int who, int round, int64_t *incr)
{
    char k[16], v[32], f[16], m[16], by[16];
    snprintf(k, sizeof k, "k%d", round % 4);
    snprintf(v, sizeof v, "n%d-r%d", who, round);
    snprintf(f, sizeof f, "f%d", (round + who) % 3);
    snprintf(m, sizeof m, "m%d", (round * 3 + who) % 7);
    snprintf(by, sizeof by, "%d", who + 1);
    cr_assert_str_eq(Q(fd, "SET", k, v), "OK");
    Q(fd, "HSET", "h", f, v);
    cr_assert_eq(Q(fd, "INCRBY", "c", by)[0], ':');
    *incr += who + 1;
    Q(fd, "SADD", "s", m, v);
    if (round % 3 == 2)
        Q(fd, "SREM", "s", m);
    if (round % 5 == 4)
        cr_assert_eq(Q(fd, "DEL", k)[0], ':');
}

int64_t crdt_stat(int fd, const char *name)
{
    rs_send(fd, "OPLOG", "STATS", (const char *)NULL);
    rs_reply *r = rs_read(fd);
    cr_assert(r && (r->type == '%' || r->type == '*'), "OPLOG STATS: %s", r ? rs_text(r) : "");
    size_t count = r->type == '%' ? 2 * r->count : r->count;
    for (size_t i = 0; i + 1 < count; i += 2)
        if (!strcmp(r->elems[i]->str, name))
            return r->elems[i + 1]->integer;
    cr_assert_fail("no %s in OPLOG STATS", name);
    return -1;
}
