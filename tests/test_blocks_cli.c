/*
 * test_blocks_cli.c — ffdb-blocks run as a program: put prints the CID
 * `ipfs block put` prints (kubo's vectors), --cid refuses data that does
 * not match, has answers by exit status, get returns the bytes, rm, ls,
 * stat (text and --json), check, and every error path's exit status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test_blocks_util.h"
#include "tests/testutil.h"

TestSuite(blocks_cli, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

static const char *input(const char *name, const void *data, size_t len)
{
    const char *p = tu_path(name);
    tu_write_file(p, data, len);
    return p;
}

/* Run, expect status and (if not NULL) exactly that stdout. */
static void expect(int status, const char *out, const char *in, const char *const *args)
{
    tb_run r = tb_runv(in, args);
    tb_expect_status(&r, status, args[0]);
    if (out)
        tb_expect_out(&r, out, args[0]);
    tb_run_free(&r);
}
#define EXPECT(status, out, in, ...)                                                               \
    expect(status, out, in, (const char *const[]){__VA_ARGS__, NULL})

#define HW "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"   /* "hello world" */
#define HWNL "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4" /* with \n */

Test(blocks_cli, put_get_has_rm)
{
    const char *hw = input("hw", "hello world", 11);
    /* kubo test/cli/add_test.go: "hello world" as CIDv1 raw sha2-256. */
    EXPECT(0, HW "\n", hw, "put");
    EXPECT(0, HW "\n", hw, "put", "-"); /* again: present, same answer */
    /* kubo t0050-block.sh: `echo "Hello Mars!" | ipfs block put`. */
    EXPECT(0, "bafkreibmlvvgdyihetgocpof6xk64kjjzdeq2e4c7hqs3krdheosk4tgj4\n",
           input("mars", "Hello Mars!\n", 12), "put");
    EXPECT(0, "", NULL, "has", HW);
    EXPECT(1, "", NULL, "has", HWNL);
    EXPECT(0, "{\n  \"cid\": \"" HW "\",\n  \"present\": true\n}\n", NULL, "has", HW, "--json");
    EXPECT(0, "hello world", NULL, "get", HW);
    EXPECT(1, "", NULL, "get", HWNL);
    EXPECT(0, "", NULL, "rm", HW);
    EXPECT(1, "", NULL, "rm", HW);
    EXPECT(1, "", NULL, "has", HW);
    EXPECT(0, "bafkreibmlvvgdyihetgocpof6xk64kjjzdeq2e4c7hqs3krdheosk4tgj4\n", NULL, "ls");
    EXPECT(0, "clean\n", NULL, "check");
}

Test(blocks_cli, put_options)
{
    const char *hw = input("hw", "hello world", 11);
    EXPECT(0, "{\n  \"cid\": \"" HW "\",\n  \"size\": 11\n}\n", hw, "--json", "put");
    /* A given CID is checked: the bytes of "hello world\n" are not HW. */
    EXPECT(3, "", input("hwnl", "hello world\n", 12), "put", "--cid", HW);
    EXPECT(1, "", NULL, "has", HWNL);
    EXPECT(0, HW "\n", hw, "put", "--cid", HW);
    /* dag-pb as CIDv0: the empty directory node. */
    const char *dir = input("dir", "\x0a\x02\x08\x01", 4);
    EXPECT(0, "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn\n", dir, "put", "--cid-codec",
           "dag-pb", "--cid-version", "0");
    EXPECT(0, "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354\n", dir, "put",
           "--cid-codec", "dag-pb");
    /* kubo's sha2-512 CID of "hello world" (test/cli/add_test.go, raw leaf). */
    EXPECT(0,
           "bafkrgqbqt3gerhas23vuzrapkdeqf4vu2dwxp3srdj6hvg6nhsug2tgyn6mj3u23yx7utftq3i2ckw2fwdh5q"
           "mhid5qf3t35yvkc5e5ottlw6\n",
           hw, "put", "--mhtype", "sha2-512");
    EXPECT(2, "", hw, "put", "--cid-version", "0"); /* v0 is dag-pb only */
    EXPECT(2, "", hw, "put", "--mhtype", "blake3"); /* no library for it */
    EXPECT(2, "", hw, "put", "--cid-codec", "nonesuch");
    EXPECT(0, "", NULL, "check", "--json");
}

Test(blocks_cli, ls_and_stat)
{
    EXPECT(0, HW "\n", input("hw", "hello world", 11), "put");
    EXPECT(0, HWNL "\n", input("hwnl", "hello world\n", 12), "put");
    EXPECT(0, HWNL " 12 hot\n" HW " 11 hot\n", NULL, "ls", "-l");
    tb_run r = TB_RUN("ls", "--json");
    tb_expect_status(&r, 0, "ls --json");
    cr_assert(strstr(r.out, "\"cid\": \"" HW "\""));
    cr_assert(strstr(r.out, "\"tier\": \"hot\""));
    tb_run_free(&r);
    r = TB_RUN("stat");
    tb_expect_status(&r, 0, "stat");
    cr_assert(strstr(r.out, "blocks: 2 (23 bytes)"), "%s", r.out);
    tb_run_free(&r);
    EXPECT(1, "", NULL, "has", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    r = TB_RUN("stat", "--json");
    tb_expect_status(&r, 0, "stat --json");
    cr_assert(strstr(r.out, "\"blocks\": 2,"), "%s", r.out);
    cr_assert(strstr(r.out, "\"queries\": 1,"), "%s", r.out); /* the has() above, persisted */
    tb_run_free(&r);
}

Test(blocks_cli, errors)
{
    EXPECT(6, "", NULL, "ls"); /* no store yet: read commands do not create one */
    cr_assert(!tu_exists(tb_store_path()));
    EXPECT(2, "", NULL, "nonesuch");
    EXPECT(2, "", NULL, "get");
    EXPECT(2, "", NULL, "get", HW, HW);
    EXPECT(2, "", NULL, "ls", "--frobnicate");
    EXPECT(3, "", NULL, "has", "Qmnotacid");
    EXPECT(3, "", NULL, "get", "bafkreinotbase32!");
    EXPECT(0, HW "\n", input("hw", "hello world", 11), "put");
    EXPECT(3, "", NULL, "rm", HW, "zzz"); /* CIDs are checked before anything is removed */
    EXPECT(0, "", NULL, "has", HW);
    tb_run r = TB_RUN("--help");
    tb_expect_status(&r, 0, "--help");
    cr_assert(strstr(r.out, "Exit status:"));
    tb_run_free(&r);
    r = TB_RUN("put", "--help");
    tb_expect_status(&r, 0, "put --help");
    cr_assert(strstr(r.out, "usage: ffdb-blocks put"));
    tb_run_free(&r);
    /* Not a block store. */
    tu_write_file(tu_path("junk"), "junk", 4);
    const char *args[] = {"--store", tu_path("junk"), "ls", NULL};
    expect(6, "", NULL, args);
}

/* ---- add / cat ------------------------------------------------------------------------ */

Test(blocks_cli, add_and_cat)
{
    const char *hw = input("hw", "hello world\n", 12), *hw11 = input("hw11", "hello world", 11);
    /* `echo "hello world" > hello; ipfs add hello` (kubo's README). */
    EXPECT(0, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o\n", NULL, "add", hw);
    EXPECT(0, "hello world\n", NULL, "cat", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
    /* kubo test/cli/add_test.go, "hello world" from stdin. */
    EXPECT(0, "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD\n", hw11, "add");
    EXPECT(0, HW "\n", hw11, "add", "--cid-version", "1");
    EXPECT(0, "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa\n", hw11, "add",
           "--cid-version=1", "--raw-leaves=false");
    /* --raw-leaves --cid-version 1 of "hello world\n": the one raw leaf. */
    EXPECT(0, HWNL "\n", NULL, "add", "--raw-leaves", "--cid-version", "1", hw);
    EXPECT(0, "hello world\n", NULL, "cat", HWNL);
    /* rust-ipfs's go-ipfs vector: "foobar\n" in 2-byte chunks. */
    EXPECT(0, "QmRJHYTNvC3hmd9gJQARxLR1QMEincccBV53bBw524yyq6\n", input("foobar", "foobar\n", 7),
           "add", "--chunker", "size-2");
    EXPECT(0, "foobar\n", NULL, "cat", "QmRJHYTNvC3hmd9gJQARxLR1QMEincccBV53bBw524yyq6");
    /* The empty file. */
    EXPECT(0, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH\n", NULL, "add");
    EXPECT(0, "", NULL, "cat", "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
    EXPECT(0,
           "{\n  \"cid\": \"QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o\",\n  \"size\": 12,\n"
           "  \"pinned\": true\n}\n",
           hw, "add", "--json", "-Q");
    EXPECT(0, "clean\n", NULL, "check");
}

Test(blocks_cli, add_only_hash_and_errors)
{
    const char *f = input("f", "some bytes", 10);
    tb_run r = TB_RUN("add", "-n", f);
    tb_expect_status(&r, 0, "add -n");
    cr_assert(!tu_exists(tb_store_path()), "-n created the store");
    r.out[strcspn(r.out, "\n")] = 0;
    char cid[128], line[130];
    snprintf(cid, sizeof cid, "%s", r.out);
    snprintf(line, sizeof line, "%s\n", cid);
    tb_run_free(&r);
    EXPECT(0, line, NULL, "add", "--pin=false", f);
    r = TB_RUN("cat", cid);
    tb_expect_status(&r, 0, "cat");
    cr_assert_str_eq(r.out, "some bytes");
    tb_run_free(&r);
    EXPECT(2, "", f, "add", "--chunker", "rabin");
    EXPECT(2, "", f, "add", "--max-links", "1");
    EXPECT(2, "", f, "add", "--hash", "blake3");
    EXPECT(6, "", NULL, "add", tu_path("no-such-file"));
    /* cat: a missing root, a block that is not a file. */
    EXPECT(1, "", NULL, "cat", HW);
    EXPECT(0, HW "\n", input("hw11", "hello world", 11), "put");
    EXPECT(0, "hello world", NULL, "cat", HW); /* a raw block is a file */
    EXPECT(0, "bafyreigbtj4x7ip5legnfznufuopl4sg4knzc2cof6duas4b3q2fy6swua\n",
           input("cbor", "\xa0", 1), "put", "--cid-codec", "dag-cbor");
    EXPECT(4, "", NULL, "cat", "bafyreigbtj4x7ip5legnfznufuopl4sg4knzc2cof6duas4b3q2fy6swua");
}
