/*
 * member.c — membership change as one call each way: rf_member_add asks
 * libraft to add a server (a spare) and, once that configuration is
 * committed, to make it a voter (libraft catches the new server up before
 * it counts); rf_member_remove removes a server. ffdb-server maps CLUSTER
 * MEET/FORGET onto these. Only the leader can change the configuration
 * (RAFT_NOTLEADER otherwise).
 */
#include <assert.h>
#include <stdlib.h>

#include "modules/raft/raft.h"

static void finish(rf_change *c, int status)
{
    c->busy = 0;
    if (c->done)
        c->done(c, status);
}

static void on_assigned(struct raft_change *req, int status)
{
    finish(req->data, status);
}

static void on_added(struct raft_change *req, int status)
{
    rf_change *c = req->data;
    if (status == 0)
        status = raft_assign(c->raft, &c->req, c->id, RAFT_VOTER, on_assigned);
    if (status)
        finish(c, status);
}

int rf_member_add(rf_change *c, struct raft *r, uint64_t id, const char *address)
{
    assert(!c->busy);
    c->raft = r;
    c->id = id;
    c->req.data = c;
    int rc = raft_add(r, &c->req, id, address, on_added);
    c->busy = rc == 0;
    return rc;
}

int rf_member_remove(rf_change *c, struct raft *r, uint64_t id)
{
    assert(!c->busy);
    c->raft = r;
    c->id = id;
    c->req.data = c;
    int rc = raft_remove(r, &c->req, id, on_assigned);
    c->busy = rc == 0;
    return rc;
}
