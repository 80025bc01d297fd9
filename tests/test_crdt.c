/*
 * test_crdt.c — the CRDT mode's command table (modules/crdt): every write
 * command of ffdb-server's table has an explicit row (so a new write command
 * cannot slip into CRDT mode without a meaning), every row names a command
 * the server knows, and the semantics named in the README hold.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "modules/crdt/crdt.h"
#include "modules/redis/cmd.h"

static const resp_command *const families[] = {
    redis_cmds_server, redis_cmds_info, redis_cmds_keys, redis_cmds_string, redis_cmds_hash,
    redis_cmds_list,   redis_cmds_set,  redis_cmds_zset, redis_cmds_multi,  redis_cmds_pubsub,
};

static int known(const char *name)
{
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const resp_command *c = families[f]; c->name; c++)
            if (!strcmp(c->name, name))
                return 1;
    return 0;
}

Test(crdt, every_write_command_has_a_row)
{
    const char *generic;
    crdt_classify("nosuchcommand", 13, &generic);
    cr_assert_not_null(generic);
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const resp_command *c = families[f]; c->name; c++) {
            if (!(c->flags & RESP_CMD_WRITE))
                continue;
            const char *reason;
            int s = crdt_classify(c->name, strlen(c->name), &reason);
            cr_expect(s != CRDT_REJECT || reason != generic, "write command %s has no row",
                      c->name);
        }
}

Test(crdt, the_readme_table)
{
    const char *r;
    cr_assert_eq(crdt_classify("SET", 3, &r), CRDT_LWW_REG);
    cr_assert_null(r);
    cr_assert_eq(crdt_classify("hset", 4, &r), CRDT_LWW_MAP);
    cr_assert_eq(crdt_classify("SAdd", 4, &r), CRDT_ORSET);
    cr_assert_eq(crdt_classify("srem", 4, &r), CRDT_ORSET);
    cr_assert_eq(crdt_classify("incrby", 6, &r), CRDT_PNCOUNTER);
    cr_assert_eq(crdt_classify("del", 3, &r), CRDT_KEY_REMOVE);
    cr_assert_eq(crdt_classify("setnx", 5, &r), CRDT_REJECT);
    cr_assert_not_null(strstr(r, "absence"));
    cr_assert_eq(crdt_classify("lpush", 5, &r), CRDT_REJECT);
    cr_assert_eq(crdt_classify("sets", 4, &r), CRDT_REJECT, "prefixes do not match");
    cr_assert_eq(crdt_classify("se", 2, &r), CRDT_REJECT);
}

/* Every row of the table names a command the server has. */
Test(crdt, every_row_names_a_server_command)
{
    size_t i;
    for (i = 0; crdt_row_name(i); i++)
        cr_expect(known(crdt_row_name(i)), "%s is in the table but not a server command",
                  crdt_row_name(i));
    cr_assert_gt(i, 60);
}
