/*
 * cmd_refs.c — versioned roots: commit, branch, checkout, log, diff, head.
 *
 * A thin layer over modules/blocks/refs.c: commit prints the new commit's
 * CID, log one commit CID a line (newest first), diff one change a line
 * ("A|D|M<TAB>path", then with --blocks "+ CID" / "- CID"); --json gives
 * the details. Exit 1 when a rev names nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "tools/ffdb-blocks/cli.h"

static int rev_fail(const cli *c, const char *rev, int rc)
{
    if (rc == FFDB_NOTFOUND) {
        cli_msg(c, "%s: no such branch or commit", rev);
        return EXIT_ABSENT;
    }
    if (rc == IPLD_EFORMAT) {
        cli_msg(c, "%s: not a commit", rev);
        return EXIT_DAMAGED;
    }
    if (rc == FFDB_EINVAL) {
        cli_msg(c, "%s: not a valid branch name", rev);
        return EXIT_USAGE;
    }
    return cli_fail(c, rev, rc);
}

/* ---- commit ------------------------------------------------------------------------- */

enum { OPT_PARENT = 0x100 };

static int run_commit(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"message", required_argument, NULL, 'm'},
                                         {"parent", required_argument, NULL, OPT_PARENT},
                                         {0}};
    const char *msg = NULL;
    ipld_cid root, out, *parents = NULL;
    size_t np = 0;
    blocks *bs;
    int o, status = 0, rc;
    while ((o = cli_getopt(c, argc, argv, "m:", opts, &status)) != -1) {
        if (o == CLI_OPT_STOP)
            goto done;
        if (o == 'm') {
            msg = optarg;
            continue;
        }
        ipld_cid *p = realloc(parents, (np + 1) * sizeof *p);
        if (!p) {
            status = cli_fail(c, "commit", FFDB_ENOMEM);
            goto done;
        }
        parents = p;
        if ((status = cli_cid(c, optarg, &parents[np++])) != 0)
            goto done;
    }
    if ((status = cli_want_args(c, argc - optind, 1, 1)) != 0)
        goto done;
    if (!msg) {
        status = cli_usage(c, "a message is needed (-m MSG)");
        goto done;
    }
    if ((status = cli_cid(c, argv[optind], &root)) != 0 || (status = cli_open(c, 1, &bs)) != 0)
        goto done;
    rc = blocks_commit_root(bs, &root, msg, parents, np, &out);
    if (rc == FFDB_NOTFOUND) {
        cli_msg(c, "%s: not in the store (or a --parent is missing)", argv[optind]);
        status = EXIT_ABSENT;
    } else if (rc == IPLD_EFORMAT) {
        cli_msg(c, "a --parent is not a commit");
        status = EXIT_DAMAGED;
    } else if (rc) {
        status = cli_fail(c, "commit", rc);
    } else {
        cli_print_cid(&out);
    }
    status = cli_close(c, bs, status);
done:
    free(parents);
    return status;
}

const struct cli_cmd cmd_commit = {
    "commit", run_commit, "commit ROOT -m MSG [--parent COMMIT]...",
    "record ROOT as a commit on the current branch, print the commit's CID",
    "The commit is a dag-cbor block {root, parents, message, time}; its parents\n"
    "are HEAD's commit (none on a new branch) and each --parent (merges). The\n"
    "current branch (or a detached HEAD) moves to it. ROOT must be stored.\n"};

/* ---- branch ------------------------------------------------------------------------- */

typedef struct list_ctx {
    const cli *c;
    struct json j;
    char head[BLOCKS_BRANCH_MAX + 1];
} list_ctx;

static int list_one(void *arg, const char *name, const ipld_cid *commit)
{
    list_ctx *l = arg;
    char s[IPLD_CID_STR_MAX];
    if (l->c->json) {
        json_begin_object(&l->j);
        json_kv_str(&l->j, "name", name);
        json_kv_str(&l->j, "commit", cli_cid_str(commit, s));
        json_kv_bool(&l->j, "current", strcmp(name, l->head) == 0);
        json_end_object(&l->j);
    } else {
        printf("%c %s %s\n", strcmp(name, l->head) == 0 ? '*' : ' ', name, cli_cid_str(commit, s));
    }
    return 0;
}

static int run_branch(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"delete", no_argument, NULL, 'd'}, {0}};
    list_ctx l = {.c = c};
    ipld_cid head;
    blocks *bs;
    int o, del = 0, status = 0, rc;
    while ((o = cli_getopt(c, argc, argv, "d", opts, &status)) != -1) {
        if (o == CLI_OPT_STOP)
            return status;
        del = 1;
    }
    int n = argc - optind;
    if ((status = cli_want_args(c, n, del ? 1 : 0, del ? 1 : 2)) != 0)
        return status;
    if (n > 0 && !blocks_branch_name_ok(argv[optind]))
        return rev_fail(c, argv[optind], FFDB_EINVAL);
    if ((status = cli_open(c, n > 0, &bs)) != 0)
        return status;
    if (del) {
        rc = blocks_branch_delete(bs, argv[optind]);
        if (rc == BLOCKS_EBUSY) {
            cli_msg(c, "%s: the current branch (check out another first)", argv[optind]);
            status = EXIT_ERROR;
        } else if (rc) {
            status = rev_fail(c, argv[optind], rc);
        }
    } else if (n > 0) {
        rc = blocks_branch_create(bs, argv[optind], n > 1 ? argv[optind + 1] : NULL);
        if (rc == FFDB_EXISTS) {
            cli_msg(c, "%s: a branch of that name exists", argv[optind]);
            status = EXIT_ERROR;
        } else if (rc) {
            status = rev_fail(c, n > 1 ? argv[optind + 1] : "HEAD", rc);
        }
    } else if ((rc = blocks_head(bs, l.head, &head)) < 0) {
        status = cli_fail(c, "HEAD", rc);
    } else {
        if (c->json) {
            json_init(&l.j, stdout);
            json_begin_array(&l.j);
        }
        if ((rc = blocks_branches(bs, list_one, &l)) != 0)
            status = cli_fail(c, "branch", rc);
        if (c->json) {
            json_end_array(&l.j);
            json_end(&l.j);
        }
    }
    return cli_close(c, bs, status);
}

const struct cli_cmd cmd_branch = {
    "branch", run_branch, "branch [-d] [NAME [REV]]",
    "list branches ('*' marks the current one), create NAME at REV (HEAD), or delete it",
    "A REV is HEAD, a branch name or a commit CID. Names are 1..200 bytes of\n"
    "[A-Za-z0-9._-] in '/'-separated parts, never a CID. -d deletes NAME (not\n"
    "the current branch); its commits are then gc's unless another ref reaches them.\n"};

/* ---- checkout, head ---------------------------------------------------------------------- */

static int run_checkout(cli *c, int argc, char **argv)
{
    blocks *bs;
    int o, status = 0, rc;
    while ((o = cli_getopt(c, argc, argv, "", NULL, &status)) != -1)
        if (o == CLI_OPT_STOP)
            return status;
    if ((status = cli_want_args(c, argc - optind, 1, 1)) || (status = cli_open(c, 1, &bs)))
        return status;
    if ((rc = blocks_checkout(bs, argv[optind])) != 0)
        status = rev_fail(c, argv[optind], rc);
    return cli_close(c, bs, status);
}

const struct cli_cmd cmd_checkout = {
    "checkout", run_checkout, "checkout BRANCH|COMMIT",
    "make BRANCH current, or detach HEAD at COMMIT",
    "Commits then move that branch, or the detached HEAD (which gc keeps too).\n"};

static int run_head(cli *c, int argc, char **argv)
{
    char branch[BLOCKS_BRANCH_MAX + 1], s[IPLD_CID_STR_MAX];
    ipld_cid commit;
    blocks *bs;
    int o, status = 0, rc;
    while ((o = cli_getopt(c, argc, argv, "", NULL, &status)) != -1)
        if (o == CLI_OPT_STOP)
            return status;
    if ((status = cli_want_args(c, argc - optind, 0, 0)) || (status = cli_open(c, 0, &bs)))
        return status;
    if ((rc = blocks_head(bs, branch, &commit)) < 0) {
        status = cli_fail(c, "HEAD", rc);
    } else if (c->json) {
        struct json j;
        json_init(&j, stdout);
        json_begin_object(&j);
        json_key(&j, "branch");
        branch[0] ? json_str(&j, branch) : json_null(&j);
        json_key(&j, "commit");
        rc ? json_str(&j, cli_cid_str(&commit, s)) : json_null(&j);
        json_end_object(&j);
        json_end(&j);
    } else {
        if (rc)
            cli_print_cid(&commit);
        status = rc ? EXIT_OK : EXIT_ABSENT;
        if (branch[0])
            fprintf(stderr, "on branch %s%s\n", branch, rc ? "" : " (no commit yet)");
        else
            fprintf(stderr, "HEAD detached\n");
    }
    return cli_close(c, bs, status);
}

const struct cli_cmd cmd_head = {"head", run_head, "head",
                                 "print HEAD's commit (its branch goes to stderr)",
                                 "Exit 1 when the current branch has no commit yet.\n"};

/* ---- log ----------------------------------------------------------------------------------- */

typedef struct log_ctx {
    const cli *c;
    struct json j;
    uint64_t left; /* commits still to show (-n) */
} log_ctx;

static int log_one(void *arg, const blocks_commit *cm)
{
    log_ctx *l = arg;
    char s[IPLD_CID_STR_MAX];
    if (l->left == 0)
        return 1;
    l->left--;
    if (!l->c->json) {
        cli_print_cid(&cm->cid);
        return 0;
    }
    json_begin_object(&l->j);
    json_kv_str(&l->j, "cid", cli_cid_str(&cm->cid, s));
    json_kv_str(&l->j, "root", cli_cid_str(&cm->root, s));
    json_key(&l->j, "parents");
    json_begin_array(&l->j);
    for (size_t i = 0; i < cm->parent_count; i++)
        json_str(&l->j, cli_cid_str(&cm->parents[i], s));
    json_end_array(&l->j);
    json_kv_str(&l->j, "message", cm->message);
    json_key(&l->j, "time");
    if (cm->time >= 0)
        json_u64(&l->j, (uint64_t)cm->time);
    else
        json_double(&l->j, (double)cm->time);
    json_end_object(&l->j);
    return 0;
}

static int run_log(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"max-count", required_argument, NULL, 'n'}, {0}};
    log_ctx l = {.c = c, .left = UINT64_MAX};
    blocks *bs;
    int o, status = 0, rc;
    while ((o = cli_getopt(c, argc, argv, "n:", opts, &status)) != -1) {
        if (o == CLI_OPT_STOP)
            return status;
        if (cli_u64(optarg, &l.left) != 0)
            return cli_usage(c, "-n takes a count");
    }
    if ((status = cli_want_args(c, argc - optind, 0, 1)) || (status = cli_open(c, 0, &bs)))
        return status;
    const char *rev = optind < argc ? argv[optind] : "HEAD";
    if (c->json) {
        json_init(&l.j, stdout);
        json_begin_array(&l.j);
    }
    rc = blocks_log(bs, rev, log_one, &l);
    if (c->json) {
        json_end_array(&l.j);
        json_end(&l.j);
    }
    if (rc && rc != 1)
        status = rev_fail(c, rev, rc);
    return cli_close(c, bs, status);
}

const struct cli_cmd cmd_log = {
    "log", run_log, "log [-n N] [REV]", "the commits reachable from REV (HEAD), newest first",
    "One commit CID a line; --json adds root, parents, message, time.\n"};

/* ---- diff ---------------------------------------------------------------------------------- */

typedef struct diff_ctx {
    const cli *c;
    struct json j;
    int in_blocks;
} diff_ctx;

static int diff_path(void *arg, int change, const char *path, const ipld_cid *a, const ipld_cid *b)
{
    diff_ctx *d = arg;
    char s[IPLD_CID_STR_MAX];
    if (!d->c->json) {
        printf("%c\t%s\n", change, path);
        return 0;
    }
    json_begin_object(&d->j);
    json_kv_str(&d->j, "change",
                change == BLOCKS_DIFF_ADDED     ? "added"
                : change == BLOCKS_DIFF_REMOVED ? "removed"
                                                : "modified");
    json_kv_str(&d->j, "path", path);
    if (a)
        json_kv_str(&d->j, "a", cli_cid_str(a, s));
    if (b)
        json_kv_str(&d->j, "b", cli_cid_str(b, s));
    json_end_object(&d->j);
    return 0;
}

static int diff_block(void *arg, int side, const ipld_cid *cid)
{
    diff_ctx *d = arg;
    char s[IPLD_CID_STR_MAX];
    if (!d->c->json) {
        printf("%c %s\n", side < 0 ? '-' : '+', cli_cid_str(cid, s));
        return 0;
    }
    if (!d->in_blocks) {
        json_end_array(&d->j);
        json_key(&d->j, "blocks");
        json_begin_array(&d->j);
        d->in_blocks = 1;
    }
    json_begin_object(&d->j);
    json_kv_str(&d->j, "cid", cli_cid_str(cid, s));
    json_kv_str(&d->j, "only_in", side < 0 ? "a" : "b");
    json_end_object(&d->j);
    return 0;
}

static int run_diff(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"blocks", no_argument, NULL, 'b'}, {0}};
    diff_ctx d = {.c = c};
    blocks_diff_fns fns = {diff_path, NULL};
    blocks *bs;
    int o, status = 0, rc;
    while ((o = cli_getopt(c, argc, argv, "b", opts, &status)) != -1) {
        if (o == CLI_OPT_STOP)
            return status;
        fns.block = diff_block;
    }
    if ((status = cli_want_args(c, argc - optind, 2, 2)) || (status = cli_open(c, 0, &bs)))
        return status;
    if (c->json) {
        json_init(&d.j, stdout);
        json_begin_object(&d.j);
        json_key(&d.j, "paths");
        json_begin_array(&d.j);
    }
    rc = blocks_diff(bs, argv[optind], argv[optind + 1], &fns, &d);
    if (c->json) {
        if (fns.block && !d.in_blocks) {
            json_end_array(&d.j);
            json_key(&d.j, "blocks");
            json_begin_array(&d.j);
        }
        json_end_array(&d.j);
        json_end_object(&d.j);
        json_end(&d.j);
    }
    if (rc)
        status = rev_fail(c, "diff", rc);
    return cli_close(c, bs, status);
}

const struct cli_cmd cmd_diff = {
    "diff", run_diff, "diff [--blocks] A B",
    "what differs between the DAGs of two revs (or any two stored roots)",
    "A and B are HEAD, branches, commits (their roots are compared) or any DAG\n"
    "root CIDs. One line per path that differs, UnixFS directories compared by\n"
    "entry name: 'A<TAB>path' only in B, 'D<TAB>path' only in A, 'M<TAB>path' in\n"
    "both with other content ('.' is the root). --blocks adds '- CID' for each\n"
    "block only under A and '+ CID' for each only under B.\n"};
