/*
 * test_blocks_refs.c — versioned roots (modules/blocks/refs.c): the commit
 * object's encoding and strict decoding, commit/branch/checkout/log with
 * HEAD and branches surviving reopen, gc keeping exactly what refs reach
 * (detached HEAD included), diff of paths and blocks over UnixFS
 * directories, branch names, and the CLI across restarts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules/blocks/blocks.h"
#include "tests/test_blocks_util.h"
#include "tests/testutil.h"

TestSuite(blocks_refs, .init = tu_setup, .fini = tu_teardown, .timeout = 120);

static uint64_t fake_now = 1700000000;
static uint64_t clock_fn(void *arg)
{
    (void)arg;
    return fake_now;
}

static blocks *open_clocked(void)
{
    blocks_options o = {.now = clock_fn};
    return tb_open(&o);
}

static void add_file(blocks *bs, const char *seed, uint64_t size, ipld_cid *root)
{
    blocks_add_options o = {.raw_leaves = -1, .chunk_size = 256, .max_links = 4, .pin = 0};
    tb_stream s;
    uint64_t n;
    tb_stream_init(&s, seed, size);
    TB_OK(blocks_add(bs, tb_stream_read, &s, &o, root, &n));
}

static uint64_t count(blocks *bs)
{
    blocks_stat st;
    TB_OK(blocks_stat_get(bs, &st));
    return st.blocks[0] + st.blocks[1];
}

Test(blocks_refs, commit_object_format)
{
    ipld_cid root, parent;
    uint8_t *enc;
    size_t len;
    blocks_commit c;
    tb_block_cid(1, 10, &root);
    tb_block_cid(2, 10, &parent);
    TB_OK(blocks_commit_encode(&root, &parent, 1, "msg", 1700000000, &enc, &len));
    /* canonical dag-cbor: a map of 4, keys by length then bytes */
    cr_assert_eq(enc[0], 0xa4);
    cr_assert_eq(memcmp(enc + 1, "\x64root", 5), 0);
    const uint8_t *t = memmem(enc, len, "\x64time", 5), *m = memmem(enc, len, "\x67message", 8),
                  *p = memmem(enc, len, "\x67parents", 8);
    cr_assert(t && m && p && t < m && m < p);
    TB_OK(blocks_commit_decode(enc, len, &c));
    cr_assert(ipld_cid_equal(&c.root, &root));
    cr_assert_eq(c.parent_count, 1);
    cr_assert(ipld_cid_equal(&c.parents[0], &parent));
    cr_assert_str_eq(c.message, "msg");
    cr_assert_eq(c.time, 1700000000);
    blocks_commit_free(&c);
    /* every cut and every changed byte is refused or decodes to a valid commit */
    for (size_t i = 0; i < len; i++) {
        TB_RC(blocks_commit_decode(enc, i, &c), IPLD_EFORMAT);
        enc[i] ^= 0x01;
        if (blocks_commit_decode(enc, len, &c) == 0)
            blocks_commit_free(&c);
        enc[i] ^= 0x01;
    }
    free(enc);
    /* other shapes are not commits */
    cbor_item_t *map = cbor_new_definite_map(5);
    TB_OK(ipld_cbor_map_put(map, "root", ipld_cbor_link(&root)));
    TB_OK(ipld_cbor_map_put(map, "parents", cbor_new_definite_array(0)));
    TB_OK(ipld_cbor_map_put(map, "message", ipld_cbor_text("m")));
    TB_OK(ipld_cbor_map_put(map, "time", ipld_cbor_int(1)));
    TB_OK(ipld_cbor_encode(map, &enc, &len));
    TB_OK(blocks_commit_decode(enc, len, &c));
    blocks_commit_free(&c);
    free(enc);
    TB_OK(ipld_cbor_map_put(map, "extra", ipld_cbor_int(1)));
    TB_OK(ipld_cbor_encode(map, &enc, &len));
    TB_RC(blocks_commit_decode(enc, len, &c), IPLD_EFORMAT);
    free(enc);
    cbor_decref(&map);
    map = cbor_new_definite_map(4);
    TB_OK(ipld_cbor_map_put(map, "root", ipld_cbor_text("not a link")));
    TB_OK(ipld_cbor_map_put(map, "parents", cbor_new_definite_array(0)));
    TB_OK(ipld_cbor_map_put(map, "message", ipld_cbor_text("m")));
    TB_OK(ipld_cbor_map_put(map, "time", ipld_cbor_int(1)));
    TB_OK(ipld_cbor_encode(map, &enc, &len));
    TB_RC(blocks_commit_decode(enc, len, &c), IPLD_EFORMAT);
    free(enc);
    cbor_decref(&map);
}

Test(blocks_refs, branch_names)
{
    const char *good[] = {"main", "dev", "feature/x", "a.b_c-d", "v1.0", "x/y/z"};
    const char *bad[] = {"",
                         "-x",
                         "HEAD",
                         "a//b",
                         "/a",
                         "a/",
                         "a/../b",
                         "..",
                         ".",
                         "a b",
                         "a:b",
                         "é",
                         "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
                         "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"};
    char longname[BLOCKS_BRANCH_MAX + 2];
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        cr_assert(blocks_branch_name_ok(good[i]), "%s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert(!blocks_branch_name_ok(bad[i]), "%s", bad[i]);
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    cr_assert(!blocks_branch_name_ok(longname));
    longname[BLOCKS_BRANCH_MAX] = 0;
    cr_assert(blocks_branch_name_ok(longname));
}

typedef struct log_list {
    ipld_cid cid[16];
    char msg[16][16];
    int n;
} log_list;

static int collect_log(void *arg, const blocks_commit *c)
{
    log_list *l = arg;
    cr_assert_lt(l->n, 16);
    l->cid[l->n] = c->cid;
    snprintf(l->msg[l->n], sizeof l->msg[0], "%s", c->message);
    l->n++;
    return 0;
}

Test(blocks_refs, commit_branch_checkout_log_across_reopen)
{
    blocks *bs = open_clocked();
    char branch[BLOCKS_BRANCH_MAX + 1];
    ipld_cid r1, r2, r3, c1, c2, c3, c4, head, got;
    log_list l = {0};
    blocks_commit c;
    /* a new store is on main, without a commit */
    cr_assert_eq(blocks_head(bs, branch, &head), 0);
    cr_assert_str_eq(branch, "main");
    TB_RC(blocks_resolve(bs, "HEAD", &got), FFDB_NOTFOUND);
    TB_RC(blocks_branch_create(bs, "dev", NULL), FFDB_NOTFOUND);
    add_file(bs, "one", 2000, &r1);
    add_file(bs, "two", 3000, &r2);
    add_file(bs, "three", 100, &r3);
    /* a root that is not stored cannot be committed */
    ipld_cid absent;
    tb_block_cid(99, 10, &absent);
    TB_RC(blocks_commit_root(bs, &absent, "x", NULL, 0, &got), FFDB_NOTFOUND);
    fake_now += 10;
    TB_OK(blocks_commit_root(bs, &r1, "first", NULL, 0, &c1));
    cr_assert_eq(c1.version, 1);
    cr_assert_eq(c1.codec, IPLD_CODEC_DAG_CBOR);
    fake_now += 10;
    TB_OK(blocks_commit_root(bs, &r2, "second", NULL, 0, &c2));
    TB_OK(blocks_commit_get(bs, &c2, &c));
    cr_assert(ipld_cid_equal(&c.root, &r2));
    cr_assert_eq(c.parent_count, 1);
    cr_assert(ipld_cid_equal(&c.parents[0], &c1));
    cr_assert_eq(c.time, (int64_t)fake_now);
    blocks_commit_free(&c);
    TB_RC(blocks_commit_get(bs, &r1, &c), IPLD_EFORMAT);
    /* branch dev at c1, commit there */
    TB_OK(blocks_branch_create(bs, "dev", "main"));
    TB_RC(blocks_branch_create(bs, "dev", NULL), FFDB_EXISTS);
    TB_RC(blocks_branch_create(bs, "bad name", NULL), FFDB_EINVAL);
    TB_OK(blocks_branch_delete(bs, "dev"));
    char c1s[IPLD_CID_STR_MAX];
    ipld_cid_str(&c1, c1s);
    TB_OK(blocks_branch_create(bs, "dev", c1s));
    TB_OK(blocks_checkout(bs, "dev"));
    TB_RC(blocks_branch_delete(bs, "dev"), BLOCKS_EBUSY);
    fake_now += 10;
    TB_OK(blocks_commit_root(bs, &r3, "on dev", NULL, 0, &c3));
    TB_OK(blocks_close(bs));

    /* reopen: HEAD is dev at c3, main at c2 */
    bs = open_clocked();
    cr_assert_eq(blocks_head(bs, branch, &head), 1);
    cr_assert_str_eq(branch, "dev");
    cr_assert(ipld_cid_equal(&head, &c3));
    TB_OK(blocks_resolve(bs, "main", &got));
    cr_assert(ipld_cid_equal(&got, &c2));
    TB_OK(blocks_log(bs, NULL, collect_log, &l));
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.msg[0], "on dev");
    cr_assert_str_eq(l.msg[1], "first");
    /* a merge commit on main: parents c2 and c3; log shows all four once */
    TB_OK(blocks_checkout(bs, "main"));
    fake_now += 10;
    TB_OK(blocks_commit_root(bs, &r3, "merge", &c3, 1, &c4));
    TB_OK(blocks_commit_get(bs, &c4, &c));
    cr_assert_eq(c.parent_count, 2);
    blocks_commit_free(&c);
    TB_RC(blocks_commit_root(bs, &r3, "bad parent", &r1, 1, &got), IPLD_EFORMAT);
    memset(&l, 0, sizeof l);
    TB_OK(blocks_log(bs, "main", collect_log, &l));
    cr_assert_eq(l.n, 4);
    cr_assert_str_eq(l.msg[0], "merge");
    cr_assert_str_eq(l.msg[1], "on dev");
    cr_assert_str_eq(l.msg[2], "second");
    cr_assert_str_eq(l.msg[3], "first");
    /* detached HEAD at c1: commits move HEAD only */
    TB_OK(blocks_checkout(bs, c1s));
    cr_assert_eq(blocks_head(bs, branch, &head), 1);
    cr_assert_str_eq(branch, "");
    cr_assert(ipld_cid_equal(&head, &c1));
    TB_RC(blocks_checkout(bs, "nosuch"), FFDB_NOTFOUND);
    char r1s[IPLD_CID_STR_MAX];
    ipld_cid_str(&r1, r1s);
    TB_RC(blocks_checkout(bs, r1s), IPLD_EFORMAT);
    fake_now += 10;
    ipld_cid c5;
    TB_OK(blocks_commit_root(bs, &r2, "detached", NULL, 0, &c5));
    TB_OK(blocks_close(bs));
    bs = open_clocked();
    cr_assert_eq(blocks_head(bs, branch, &head), 1);
    cr_assert_str_eq(branch, "");
    cr_assert(ipld_cid_equal(&head, &c5));
    TB_OK(blocks_resolve(bs, "main", &got));
    cr_assert(ipld_cid_equal(&got, &c4));
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
}

Test(blocks_refs, gc_keeps_what_refs_reach)
{
    blocks *bs = open_clocked();
    ipld_cid r1, r2, junk, c1, c2, c3;
    blocks_gc_result res;
    tb_stream s;
    add_file(bs, "one", 5000, &r1);
    add_file(bs, "two", 4000, &r2);
    add_file(bs, "junk", 3000, &junk);
    uint64_t n_junk = count(bs);
    TB_OK(blocks_commit_root(bs, &r1, "first", NULL, 0, &c1));
    fake_now++;
    TB_OK(blocks_commit_root(bs, &r2, "second", NULL, 0, &c2));
    /* nothing is pinned: refs alone keep both commits and both DAGs */
    TB_OK(blocks_gc(bs, &res));
    cr_assert_gt(res.removed, 0);
    cr_assert_eq(blocks_has(bs, &junk), 0);
    cr_assert_eq(blocks_has(bs, &c1), 1);
    tb_stream_init(&s, "one", 5000);
    TB_OK(blocks_cat(bs, &r1, tb_stream_compare, &s));
    tb_stream_init(&s, "two", 4000);
    TB_OK(blocks_cat(bs, &r2, tb_stream_compare, &s));
    uint64_t kept = count(bs);
    cr_assert_eq(kept + res.removed, n_junk + 2);
    /* a side branch's commit; then drop the branch: gc frees that commit */
    TB_OK(blocks_branch_create(bs, "side", "main"));
    TB_OK(blocks_checkout(bs, "side"));
    fake_now++;
    TB_OK(blocks_commit_root(bs, &r1, "side commit", NULL, 0, &c3));
    TB_OK(blocks_checkout(bs, "main"));
    TB_OK(blocks_gc(bs, &res));
    cr_assert_eq(res.removed, 0);
    TB_OK(blocks_branch_delete(bs, "side"));
    TB_OK(blocks_gc(bs, &res));
    cr_assert_eq(res.removed, 1);
    cr_assert_eq(blocks_has(bs, &c3), 0);
    /* a detached HEAD keeps what it names after reopen */
    char c1s[IPLD_CID_STR_MAX];
    ipld_cid_str(&c1, c1s);
    TB_OK(blocks_branch_create(bs, "old", c1s));
    TB_OK(blocks_checkout(bs, "old"));
    TB_OK(blocks_branch_delete(bs, "main"));
    TB_OK(blocks_close(bs));
    bs = open_clocked();
    TB_OK(blocks_gc(bs, &res));
    cr_assert_eq(blocks_has(bs, &c2), 0);
    cr_assert_eq(blocks_has(bs, &r2), 0);
    cr_assert_eq(blocks_has(bs, &c1), 1);
    tb_stream_init(&s, "one", 5000);
    TB_OK(blocks_cat(bs, &r1, tb_stream_compare, &s));
    TB_OK(blocks_checkout(bs, c1s));
    TB_OK(blocks_branch_delete(bs, "old"));
    TB_OK(blocks_gc(bs, &res));
    cr_assert_eq(res.removed, 0);
    tb_stream_init(&s, "one", 5000);
    TB_OK(blocks_cat(bs, &r1, tb_stream_compare, &s));
    tb_check_clean(bs);
    TB_OK(blocks_close(bs));
}

/* ---- diff over hand-built UnixFS directories -------------------------------------------- */

static void put_raw(blocks *bs, const char *text, ipld_cid *cid)
{
    TB_OK(ipld_cid_of(1, IPLD_CODEC_RAW, IPLD_MH_SHA2_256, text, strlen(text), cid));
    TB_OK(blocks_put(bs, cid, text, strlen(text)));
}

/* A directory of n entries (names sorted by the caller). */
static void put_dir(blocks *bs, const char **names, const ipld_cid *cids, size_t n, ipld_cid *cid)
{
    ipld_pb_link links[8];
    ipld_unixfs u = {.type = IPLD_UNIXFS_DIRECTORY};
    uint8_t data[16], buf[4096];
    size_t dlen, len;
    cr_assert_leq(n, 8);
    TB_OK(ipld_unixfs_encode(&u, data, sizeof data, &dlen));
    for (size_t i = 0; i < n; i++)
        links[i] = (ipld_pb_link){.cid = cids[i],
                                  .name = (const uint8_t *)names[i],
                                  .name_len = strlen(names[i]),
                                  .has_name = 1,
                                  .tsize = 1,
                                  .has_tsize = 1};
    ipld_pb_node node = {
        .links = links, .link_count = n, .data = data, .data_len = dlen, .has_data = 1};
    TB_OK(ipld_pb_encode(&node, buf, sizeof buf, &len));
    TB_OK(ipld_cid_of(1, IPLD_CODEC_DAG_PB, IPLD_MH_SHA2_256, buf, len, cid));
    TB_OK(blocks_put(bs, cid, buf, len));
}

typedef struct diff_out {
    char text[2048];
    int blocks_a, blocks_b;
} diff_out;

static int on_path(void *arg, int change, const char *path, const ipld_cid *a, const ipld_cid *b)
{
    diff_out *d = arg;
    size_t n = strlen(d->text);
    cr_assert(change == BLOCKS_DIFF_ADDED     ? !a && b
              : change == BLOCKS_DIFF_REMOVED ? a && !b
                                              : a && b);
    snprintf(d->text + n, sizeof d->text - n, "%c %s\n", change, path);
    return 0;
}

static int on_block(void *arg, int side, const ipld_cid *cid)
{
    diff_out *d = arg;
    (void)cid;
    if (side < 0)
        d->blocks_a++;
    else
        d->blocks_b++;
    return 0;
}

Test(blocks_refs, diff_paths_and_blocks)
{
    blocks *bs = open_clocked();
    ipld_cid f1, f2, f3, f4, sub_a, sub_b, top_a, top_b, ca, cb;
    blocks_diff_fns fns = {on_path, on_block};
    diff_out d = {0};
    put_raw(bs, "one", &f1);
    put_raw(bs, "two", &f2);
    put_raw(bs, "three", &f3);
    put_raw(bs, "four", &f4);
    /* a: {keep: f1, sub: {x: f2, y: f3}, gone: f3, file: f1}
     * b: {keep: f1, sub: {x: f4, z: f1}, new: f2, file: sub_b} */
    const char *sa_names[] = {"x", "y"}, *sb_names[] = {"x", "z"};
    ipld_cid sa[] = {f2, f3}, sb[] = {f4, f1};
    put_dir(bs, sa_names, sa, 2, &sub_a);
    put_dir(bs, sb_names, sb, 2, &sub_b);
    const char *ta_names[] = {"file", "gone", "keep", "sub"};
    const char *tb_names[] = {"file", "keep", "new", "sub"};
    ipld_cid ta[] = {f1, f3, f1, sub_a}, tb[] = {sub_b, f1, f2, sub_b};
    put_dir(bs, ta_names, ta, 4, &top_a);
    put_dir(bs, tb_names, tb, 4, &top_b);
    TB_OK(blocks_commit_root(bs, &top_a, "a", NULL, 0, &ca));
    fake_now++;
    TB_OK(blocks_commit_root(bs, &top_b, "b", NULL, 0, &cb));
    char cas[IPLD_CID_STR_MAX], cbs[IPLD_CID_STR_MAX], ras[IPLD_CID_STR_MAX];
    ipld_cid_str(&ca, cas);
    ipld_cid_str(&cb, cbs);
    TB_OK(blocks_diff(bs, cas, "main", &fns, &d));
    cr_assert_str_eq(d.text, "M file\n"
                             "D gone\n"
                             "M sub/x\n"
                             "D sub/y\n"
                             "A sub/z\n"
                             "A new\n");
    /* blocks: under a only top_a, sub_a, f3; under b only top_b, sub_b, f4 */
    cr_assert_eq(d.blocks_a, 3);
    cr_assert_eq(d.blocks_b, 3);
    /* the same rev twice, and a root CID against its own commit: nothing */
    memset(&d, 0, sizeof d);
    TB_OK(blocks_diff(bs, "main", cbs, &fns, &d));
    ipld_cid_str(&top_b, ras);
    TB_OK(blocks_diff(bs, ras, "HEAD", &fns, &d));
    cr_assert_str_eq(d.text, "");
    cr_assert_eq(d.blocks_a + d.blocks_b, 0);
    /* two files: the root itself differs */
    char f1s[IPLD_CID_STR_MAX], f2s[IPLD_CID_STR_MAX];
    ipld_cid_str(&f1, f1s);
    ipld_cid_str(&f2, f2s);
    TB_OK(blocks_diff(bs, f1s, f2s, &fns, &d));
    cr_assert_str_eq(d.text, "M .\n");
    TB_RC(blocks_diff(bs, "nosuch", "main", &fns, &d), FFDB_NOTFOUND);
    TB_OK(blocks_close(bs));
}

/* ---- the CLI: every command is a new process, so state is persisted -------------------- */

Test(blocks_refs, cli_across_restarts)
{
    char path[4096], root[128], c1[128], c2[128], want[512];
    FILE *f;
    snprintf(path, sizeof path, "%s", tu_path("f1"));
    f = fopen(path, "wb");
    cr_assert(f);
    fputs("version one\n", f);
    fclose(f);
    tb_run r = TB_RUN("add", path);
    tb_expect_status(&r, 0, "add");
    snprintf(root, sizeof root, "%.*s", (int)strcspn(r.out, "\n"), r.out);
    tb_run_free(&r);
    r = TB_RUN("head");
    tb_expect_status(&r, 1, "head of a new store");
    tb_run_free(&r);
    r = TB_RUN("commit", root);
    tb_expect_status(&r, 2, "commit without -m");
    tb_run_free(&r);
    r = TB_RUN("commit", root, "-m", "one");
    tb_expect_status(&r, 0, "commit");
    snprintf(c1, sizeof c1, "%.*s", (int)strcspn(r.out, "\n"), r.out);
    cr_assert_eq(strncmp(c1, "bafyrei", 7), 0, "%s", c1);
    tb_run_free(&r);
    r = TB_RUN("head");
    snprintf(want, sizeof want, "%s\n", c1);
    tb_expect_out(&r, want, "head after commit");
    tb_run_free(&r);
    r = TB_RUN("branch", "dev");
    tb_expect_status(&r, 0, "branch dev");
    tb_run_free(&r);
    r = TB_RUN("checkout", "dev");
    tb_expect_status(&r, 0, "checkout dev");
    tb_run_free(&r);
    r = TB_RUN("commit", root, "-m", "two");
    tb_expect_status(&r, 0, "commit on dev");
    snprintf(c2, sizeof c2, "%.*s", (int)strcspn(r.out, "\n"), r.out);
    tb_run_free(&r);
    r = TB_RUN("branch");
    snprintf(want, sizeof want, "* dev %s\n  main %s\n", c2, c1);
    tb_expect_out(&r, want, "branch list");
    tb_run_free(&r);
    r = TB_RUN("log");
    snprintf(want, sizeof want, "%s\n%s\n", c2, c1);
    tb_expect_out(&r, want, "log");
    tb_run_free(&r);
    r = TB_RUN("log", "-n", "1", "main");
    snprintf(want, sizeof want, "%s\n", c1);
    tb_expect_out(&r, want, "log -n 1 main");
    tb_run_free(&r);
    r = TB_RUN("--json", "log", "-n", "1");
    tb_expect_status(&r, 0, "log --json");
    cr_assert(strstr(r.out, "\"message\": \"two\""), "%s", r.out);
    tb_run_free(&r);
    r = TB_RUN("diff", "main", "dev");
    tb_expect_out(&r, "", "diff of commits of one root");
    tb_run_free(&r);
    r = TB_RUN("checkout", c1);
    tb_expect_status(&r, 0, "checkout a commit");
    tb_run_free(&r);
    r = TB_RUN("--json", "head");
    cr_assert(strstr(r.out, "\"branch\": null"), "%s", r.out);
    tb_run_free(&r);
    r = TB_RUN("checkout", "nosuch");
    tb_expect_status(&r, 1, "checkout of a missing branch");
    tb_run_free(&r);
    r = TB_RUN("checkout", root);
    tb_expect_status(&r, 4, "checkout of a non-commit");
    tb_run_free(&r);
    r = TB_RUN("branch", "bad name");
    tb_expect_status(&r, 2, "bad branch name");
    tb_run_free(&r);
    r = TB_RUN("unpin", root);
    tb_expect_status(&r, 0, "unpin");
    tb_run_free(&r);
    r = TB_RUN("gc");
    tb_expect_out(&r, "kept 3, removed 0 blocks (0 bytes)\n", "gc keeps the refs' blocks");
    tb_run_free(&r);
    r = TB_RUN("cat", root);
    tb_expect_out(&r, "version one\n", "cat after gc");
    tb_run_free(&r);
}
