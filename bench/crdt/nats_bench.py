#!/usr/bin/env python3
"""nats_bench.py — ffdb-server --crdt yes --nats over a real nats-server
(issue 13): three nodes, entries/s appended and applied, and the time to
converge after a partition heals, against the length of the log before it.

  1. append: the three nodes take --writes rounds each at once (SET on a
     shared key range, HSET, INCRBY; pipelined 50 rounds at a time); the
     append rate is entries logged per second summed over the nodes, the
     apply rate every entry on every node (pushed over NATS, checked,
     folded) per second until DEBUG DIGEST and OPLOG LEN agree.
  2. partition: node 2 is restarted without --nats (cut off) and all three
     take --partition rounds each; then node 2 is restarted with --nats and
     the heal time runs from its start to DEBUG DIGEST agreeing on all three
     (anti-entropy: heads announced, the missing history fetched both ways,
     late entries refolded per key).

--history R first runs R rounds per node (converged) so the log is long
before the partition: the heal time should not grow with it.

  bench/crdt/nats_bench.py [--server build/tools/ffdb-server] [--writes N]
        [--partition P] [--history R] [--runs K]
Every process it starts is killed at the end (also on failure).
"""
import argparse, os, shutil, signal, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from converge import Conn, free_port  # noqa: E402


class Node:
    def __init__(self, server, d, nats):
        self.server, self.d, self.port = server, d, free_port()
        os.makedirs(d, exist_ok=True)
        self.proc = None
        self.start(nats)

    def start(self, nats):
        args = [self.server, "--port", str(self.port), "--dir", self.d, "--crdt", "yes",
                "--logfile", os.path.join(self.d, "log")]
        if nats:
            args += ["--nats", nats]
        self.proc = subprocess.Popen(args)
        self.c = Conn(self.port)

    def stop(self):
        self.c.s.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


def rounds(nodes, n, tag):
    """n rounds on every node at once, pipelined 50 at a time."""
    for i in range(n):
        for k, nd in enumerate(nodes):
            nd.c.send("SET", "k%d" % (i % 100), "%s-n%d-%d" % (tag, k, i))
            nd.c.send("HSET", "h", "f%d" % (i % 10), i)
            nd.c.send("INCRBY", "c", k + 1)
        if i % 50 == 49 or i == n - 1:
            m = 50 if i % 50 == 49 else (i % 50) + 1
            for nd in nodes:
                for _ in range(3 * m):
                    nd.c.read()


def converge(nodes, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        d = [(nd.c.q("DEBUG", "DIGEST"), nd.c.q("OPLOG", "LEN")) for nd in nodes]
        if all(x == d[0] for x in d):
            return
        time.sleep(0.01)
    raise RuntimeError("no convergence in %d s: %s" % (timeout, d))


def one_run(a, base):
    nats_port = free_port()
    url = "nats://127.0.0.1:%d" % nats_port
    nats = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(nats_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nodes = []
    try:
        time.sleep(0.3)
        nodes = [Node(a.server, os.path.join(base, "n%d" % i), url) for i in range(3)]
        time.sleep(0.5)  # the buses connect
        if a.history:
            rounds(nodes, a.history, "h")
            converge(nodes)
        t0 = time.monotonic()
        rounds(nodes, a.writes, "w")
        t_append = time.monotonic() - t0
        converge(nodes)
        t_apply = time.monotonic() - t0
        entries = 3 * 3 * a.writes
        nodes[2].stop()
        nodes[2].start(None)  # cut off from the bus
        rounds(nodes, a.partition, "p")
        nodes[2].stop()
        t1 = time.monotonic()
        nodes[2].start(url)
        converge(nodes)
        heal = time.monotonic() - t1
        length = nodes[0].c.q("OPLOG", "LEN")
        st = nodes[2].c.q("OPLOG", "STATS")
        st = dict(zip(st[0::2], st[1::2]))
        return entries / t_append, 3 * entries / t_apply, heal, length, st
    finally:
        for nd in nodes:
            if nd.proc:
                nd.proc.kill()
                nd.proc.wait()
        nats.kill()
        nats.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="build/tools/ffdb-server")
    ap.add_argument("--writes", type=int, default=300)
    ap.add_argument("--partition", type=int, default=30)
    ap.add_argument("--history", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    res = []
    for r in range(a.runs):
        base = tempfile.mkdtemp(prefix="ffdb-crdt-nats-bench-")
        try:
            res.append(one_run(a, base))
        finally:
            shutil.rmtree(base, ignore_errors=True)
        ap_, apl, heal, length, st = res[-1]
        print("run %d: append %.0f entries/s (3 nodes), applied on all %.0f entries/s, heal %.3f s"
              " (log %d entries; node 2: %d fetched, %d keys refolded, %d rebuilds)"
              % (r + 1, ap_, apl, heal, length, st.get(b"fetched", 0), st.get(b"refolds", 0),
                 st.get(b"rebuilds", 0)))
    print("median: append %.0f entries/s, applied %.0f entries/s, heal %.3f s (history %d rounds,"
          " partition %d rounds per node)"
          % (statistics.median(x[0] for x in res), statistics.median(x[1] for x in res),
             statistics.median(x[2] for x in res), a.history, a.partition))


if __name__ == "__main__":
    main()
