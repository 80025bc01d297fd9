#!/usr/bin/env python3
"""bench/ptr_bench.py — signed records (PTR.*) over NATS: apply rate and
time to converge.

    python3 bench/ptr_bench.py [--server build/tools/ffdb-server] [-n N]

Starts a nats-server and three ffdb-server --nats nodes (each its own --dir,
so its own identity) on free loopback ports in a scratch directory,
everything killed at the end. Then:

  live     N PTR.SET pipelined into node 1 (unique keys): time from the
           first command sent until PTR.INFO records == N on each node;
           records/s applied per node = N / that time
  catchup  a fourth node started after the writes: time until it holds the
           N records (Ask/Answer only)

Prints each figure and the machine's load average (it may be shared).
"""
import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time

from benchutil import free_port, wait_port  # bench/: the shared helpers


def enc(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def info_field(port, name):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(enc(b"PTR.INFO"))
    data = b""
    while b"receive_dropped:" not in data or not data.endswith(b"\r\n\r\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    for line in data.split(b"\r\n"):
        if line.startswith(name.encode() + b":"):
            return int(line.split(b":")[1])
    return -1


def wait_records(port, n, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if info_field(port, "records") >= n:
            return time.time()
        time.sleep(0.01)
    raise SystemExit("port %d: %d records after %ds, not %d (asks_sent %d, nats_connected %d)" %
                     (port, info_field(port, "records"), timeout, n,
                      info_field(port, "asks_sent"), info_field(port, "nats_connected")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="build/tools/ffdb-server")
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--timeout", type=int, default=120)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ptr_bench.")
    procs = []
    try:
        nport = free_port()
        procs.append(subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(nport)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(nport)
        url = "nats://127.0.0.1:%d" % nport

        def node(name):
            port = free_port()
            d = os.path.join(tmp, name)
            os.mkdir(d)
            procs.append(subprocess.Popen(
                [a.server, "--port", str(port), "--dir", d, "--data", os.path.join(d, "db.ffdb"),
                 "--nats", url, "--logfile", os.path.join(d, "log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_port(port)
            end = time.time() + 10
            while info_field(port, "nats_connected") != 1:
                if time.time() > end:
                    raise SystemExit("%s never connected to NATS" % name)
                time.sleep(0.02)
            return port

        ports = [node("n%d" % i) for i in range(3)]
        time.sleep(0.5)  # the subscriptions are live at nats-server
        s = socket.create_connection(("127.0.0.1", ports[0]), 30)
        req = b"".join(enc(b"PTR.SET", b"key:%d" % i, b"value-%d" % i) for i in range(a.n))
        t0 = time.time()
        s.sendall(req)
        want = b"+OK\r\n" * a.n
        got = b""
        while len(got) < len(want):
            chunk = s.recv(1 << 20)
            if not chunk:
                raise SystemExit("node 1 closed the connection")
            got += chunk
        t_ack = time.time()
        if got != want:
            raise SystemExit("node 1 did not answer OK to every PTR.SET")
        s.close()
        print("load average: %.1f %.1f %.1f" % os.getloadavg())
        print("N=%d PTR.SET into node 1: acknowledged in %.2fs (%.0f/s)" %
              (a.n, t_ack - t0, a.n / (t_ack - t0)))
        for i, p in enumerate(ports):
            t = wait_records(p, a.n, a.timeout)
            print("node %d holds all %d: %.2fs after the first command, %.0f records/s" %
                  (i + 1, a.n, t - t0, a.n / (t - t0)))
        t1 = time.time()
        late = node("late")
        t = wait_records(late, a.n, a.timeout)
        print("late node (Ask/Answer only): %d records in %.2fs from its start (%.0f records/s)" %
              (a.n, t - t1, a.n / (t - t1)))
        for i, p in enumerate(ports + [late]):
            print("node %d: applied %d stale %d rejected_badsig %d receive_dropped %d asks_sent %d "
                  "answers_sent %d answered_records %d" %
                  (i + 1, info_field(p, "applied"), info_field(p, "stale"),
                   info_field(p, "rejected_badsig"), info_field(p, "receive_dropped"),
                   info_field(p, "asks_sent"), info_field(p, "answers_sent"),
                   info_field(p, "answered_records")))
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if os.environ.get("PTR_BENCH_KEEP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
