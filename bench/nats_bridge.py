#!/usr/bin/env python3
"""bench/nats_bridge.py — messages/s through ffdb-server's NATS pub/sub bridge.

    python3 bench/nats_bridge.py [--server build/tools/ffdb-server] [-n N] [-P P]

Starts a nats-server and three ffdb-server --nats nodes on free loopback
ports (scratch directory, everything killed at the end), then for each case
a subscriber (a raw socket counting "message" frames) and one
redis-benchmark client sending N PUBLISH commands, P pipelined:

  plain    PUBLISH -> SUBSCRIBE on a fourth node without --nats (no bridge)
  local    PUBLISH on node 1 -> SUBSCRIBE on node 1 (no NATS on the path;
           the bridge still forwards every message to NATS)
  remote   PUBLISH on node 1 -> SUBSCRIBE on node 3 (through nats-server)

messages/s = N / (time from the first PUBLISH sent to the N-th message
received). Prints each, the ratios remote/plain and remote/local and how many arrived (NATS
core is at most once: a slow consumer loses messages, and that is shown,
not hidden). The machine may be shared: the load average is printed.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


from benchutil import free_port, start_nats, stop_all, wait_port  # noqa: E402 (bench/: shared helpers)


def command(port, *args):
    s = socket.create_connection(("127.0.0.1", port), 5)
    req = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    s.sendall(req)
    data = s.recv(65536)
    s.close()
    return data


def wait_connected(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if b"nats_connected:1" in command(port, b"INFO", b"nats"):
            return
        time.sleep(0.05)
    raise SystemExit("node on %d never connected to NATS" % port)


MARK = b"$7\r\nmessage\r\n"


def run_case(pub_port, sub_port, n, pipeline, channel):
    sub = socket.create_connection(("127.0.0.1", sub_port), 5)
    sub.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel))
    sub.recv(4096)  # the subscribe confirmation
    sub.settimeout(10)
    t0 = time.time()
    bench = subprocess.Popen(
        ["redis-benchmark", "-p", str(pub_port), "-c", "1", "-n", str(n), "-P", str(pipeline),
         "-q", "PUBLISH", channel.decode(), "payload-of-32-bytes-xxxxxxxxxxxx"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    got, tail = 0, b""
    try:
        while got < n:
            chunk = sub.recv(1 << 20)
            if not chunk:
                break
            buf = tail + chunk
            got += buf.count(MARK)
            tail = buf[-(len(MARK) - 1):]
    except socket.timeout:
        pass
    t1 = time.time()
    bench.wait()
    sub.close()
    return got, n / (t1 - t0) if got == n else got / (t1 - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="build/tools/ffdb-server")
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("-P", type=int, default=32)
    a = ap.parse_args()
    for prog in ("nats-server", "redis-benchmark"):
        if not shutil.which(prog):
            raise SystemExit("%s is needed (make deps)" % prog)
    tmp = tempfile.mkdtemp(prefix="ffdb-bench-nats-")
    procs = []
    try:
        nport = start_nats(procs)
        ports = []
        for i in range(3):
            p = free_port()
            procs.append(subprocess.Popen(
                [a.server, "--port", str(p), "--data", os.path.join(tmp, "n%d.ffdb" % i),
                 "--fsync", "never", "--nats", "nats://127.0.0.1:%d" % nport,
                 "--logfile", os.path.join(tmp, "n%d.log" % i)]))
            ports.append(p)
        plain = free_port()
        procs.append(subprocess.Popen(
            [a.server, "--port", str(plain), "--data", os.path.join(tmp, "plain.ffdb"),
             "--fsync", "never", "--logfile", os.path.join(tmp, "plain.log")]))
        wait_port(plain)
        for p in ports:
            wait_port(p)
            wait_connected(p)
        time.sleep(0.3)  # the bridges' subscriptions reach nats-server
        print("load average before: %.2f %.2f %.2f" % os.getloadavg())
        pgot, base = run_case(plain, plain, a.n, a.P, b"bench-plain")
        lgot, local = run_case(ports[0], ports[0], a.n, a.P, b"bench-local")
        rgot, remote = run_case(ports[0], ports[2], a.n, a.P, b"bench-remote")
        print("load average after:  %.2f %.2f %.2f" % os.getloadavg())
        print("| path | messages | received | messages/s |")
        print("|---|---|---|---|")
        print("| PUBLISH -> SUBSCRIBE, no --nats (plain) | %d | %d | %.0f |" % (a.n, pgot, base))
        print("| PUBLISH node1 -> SUBSCRIBE node1 (local) | %d | %d | %.0f |" % (a.n, lgot, local))
        print("| PUBLISH node1 -> SUBSCRIBE node3 (NATS) | %d | %d | %.0f |" % (a.n, rgot, remote))
        print("ratio remote/plain: %.2f, remote/local: %.2f" %
              (remote / base if base else 0, remote / local if local else 0))
        print(command(ports[2], b"INFO", b"nats").decode(errors="replace").split("\r\n", 1)[1])
    finally:
        stop_all(procs, 5)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
