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

  3. compaction (--compact): OPLOG COMPACT on every node once the cut is
     stable (each retried until every peer announced the same heads): the
     log's entries and the data file's size before and after, the time the
     compaction took; then another partition of node 2 and its heal, with
     every node compacted (the refolds start from the checkpoints).

  bench/crdt/nats_bench.py [--server build/tools/ffdb-server] [--writes N]
        [--partition P] [--history R] [--compact] [--runs K]
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


def converge(nodes, timeout=120, what="LEN"):
    """Digests and OPLOG what (LEN; HEADS once nodes compacted) agree."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        d = [(nd.c.q("DEBUG", "DIGEST"), nd.c.q("OPLOG", what)) for nd in nodes]
        if all(x == d[0] for x in d):
            return
        time.sleep(0.01)
    raise RuntimeError("no convergence in %d s: %s" % (timeout, d))


def file_bytes(nd):
    return os.path.getsize(os.path.join(nd.d, "ffdb-server.ffdb"))


def compact_phase(a, nodes, url, timeout=60):
    """Compact every node at a stable cut; then a partition and its heal."""
    before = [(int(nd.c.q("OPLOG", "LEN")), file_bytes(nd)) for nd in nodes]
    took = []
    for nd in nodes:
        end = time.monotonic() + timeout
        while True:
            t0 = time.monotonic()
            try:
                nd.c.q("OPLOG", "COMPACT")
                took.append(time.monotonic() - t0)
                break
            except RuntimeError as e:  # not stable yet: a peer's heads lag
                r = str(e)
                if "not now" not in r:
                    raise
            if time.monotonic() > end:
                raise RuntimeError("never stable: %r" % r)
            time.sleep(0.05)
    converge(nodes, what="HEADS")
    after = [(int(nd.c.q("OPLOG", "LEN")), file_bytes(nd)) for nd in nodes]
    nodes[2].stop()
    nodes[2].start(None)
    rounds(nodes, a.partition, "q")
    nodes[2].stop()
    t1 = time.monotonic()
    nodes[2].start(url)
    converge(nodes, what="HEADS")
    heal = time.monotonic() - t1
    for nd in nodes:
        if nd.c.q("OPLOG", "VERIFY") != b"OK":
            raise RuntimeError("verify after compaction failed")
    return before, after, statistics.median(took), heal


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
        comp = compact_phase(a, nodes, url) if a.compact else None
        return entries / t_append, 3 * entries / t_apply, heal, length, st, comp
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
    ap.add_argument("--compact", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    res = []
    for r in range(a.runs):
        base = tempfile.mkdtemp(prefix="ffdb-crdt-nats-bench-")
        try:
            res.append(one_run(a, base))
        finally:
            shutil.rmtree(base, ignore_errors=True)
        ap_, apl, heal, length, st, comp = res[-1]
        print("run %d: append %.0f entries/s (3 nodes), applied on all %.0f entries/s, heal %.3f s"
              " (log %d entries; node 2: %d fetched, %d keys refolded, %d rebuilds)"
              % (r + 1, ap_, apl, heal, length, st.get(b"fetched", 0), st.get(b"refolds", 0),
                 st.get(b"rebuilds", 0)))
        if comp:
            before, after, took, heal2 = comp
            print("  compaction: log %s -> %s entries, file %s -> %s bytes, %.3f s per node;"
                  " heal after it %.3f s"
                  % ("/".join(str(x[0]) for x in before), "/".join(str(x[0]) for x in after),
                     "/".join(str(x[1]) for x in before), "/".join(str(x[1]) for x in after),
                     took, heal2))
    print("median: append %.0f entries/s, applied %.0f entries/s, heal %.3f s (history %d rounds,"
          " partition %d rounds per node)"
          % (statistics.median(x[0] for x in res), statistics.median(x[1] for x in res),
             statistics.median(x[2] for x in res), a.history, a.partition))
    if a.compact:
        print("median: compaction %.3f s per node, heal after it %.3f s"
              % (statistics.median(x[5][2] for x in res), statistics.median(x[5][3] for x in res)))


if __name__ == "__main__":
    main()
