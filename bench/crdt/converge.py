#!/usr/bin/env python3
"""converge.py — time for two ffdb-server --crdt nodes to converge after a
partition (issue 13), and the rate local writes are logged and applied.

Two nodes on free loopback ports, each in its own scratch directory; during
the partition each takes --writes conflicting writes (SET on a shared key
range, HSET, INCRBY). Then the partition heals: entries are exchanged both
ways (OPLOG ENTRIES -> OPLOG-ADD, the anti-entropy the NATS transport will
do) until DEBUG DIGEST agrees. Prints the write rate during the partition
and the heal time (exchange + rebuild), --runs times, and the medians.

  bench/crdt/converge.py [--server build/tools/ffdb-server] [--writes N] [--runs R]
Every process it starts is killed at the end (also on failure).
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchutil import free_port  # noqa: E402 (bench/: shared helpers)


class Conn:
    def __init__(self, port):
        for _ in range(200):
            try:
                self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                time.sleep(0.02)
        else:
            raise RuntimeError("server on port %d did not start" % port)
        self.f = self.s.makefile("rb")

    def send(self, *args):
        args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))

    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"*":
            return [self.read() for _ in range(int(rest))]
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b":":
            return int(rest)
        if t == b"-":
            raise RuntimeError(rest.decode())
        return rest

    def q(self, *args):
        self.send(*args)
        return self.read()


def one_run(server, writes, base):
    procs, conns = [], []
    try:
        for i in range(2):
            d = os.path.join(base, "n%d" % i)
            os.makedirs(d)
            port = free_port()
            procs.append(subprocess.Popen([server, "--port", str(port), "--dir", d, "--crdt", "yes",
                                           "--logfile", os.path.join(d, "log")]))
            conns.append(Conn(port))
        t0 = time.monotonic()
        for i in range(writes):  # pipelined in chunks, alternating nodes
            for n, c in enumerate(conns):
                c.send("SET", "k%d" % (i % 100), "n%d-%d" % (n, i))
                c.send("HSET", "h", "f%d" % (i % 10), i)
                c.send("INCRBY", "c", n + 1)
            if i % 50 == 49 or i == writes - 1:
                k = 50 if i % 50 == 49 else (i % 50) + 1
                for c in conns:
                    for _ in range(3 * k):
                        c.read()
        write_s = time.monotonic() - t0
        t1 = time.monotonic()
        ea = conns[0].q("OPLOG", "ENTRIES")
        eb = conns[1].q("OPLOG", "ENTRIES")
        conns[1].q("OPLOG-ADD", *ea)
        conns[0].q("OPLOG-ADD", *eb)
        da, db = conns[0].q("DEBUG", "DIGEST"), conns[1].q("DEBUG", "DIGEST")
        heal_s = time.monotonic() - t1
        if da != db:
            raise RuntimeError("digests differ after the exchange: %s %s" % (da, db))
        return 2 * 3 * writes / write_s, heal_s
    finally:
        for c in conns:
            c.s.close()
        for p in procs:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="build/tools/ffdb-server")
    ap.add_argument("--writes", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    rates, heals = [], []
    for r in range(a.runs):
        base = tempfile.mkdtemp(prefix="ffdb-crdt-bench-")
        try:
            rate, heal = one_run(a.server, a.writes, base)
        finally:
            shutil.rmtree(base, ignore_errors=True)
        rates.append(rate)
        heals.append(heal)
        print("run %d: %.0f writes/s logged+applied (2 nodes), heal after %d writes per node: %.3f s"
              % (r + 1, rate, 3 * a.writes, heal))
    print("median: %.0f writes/s, heal %.3f s" % (statistics.median(rates), statistics.median(heals)))


if __name__ == "__main__":
    main()
