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
  catchup  a fourth node started after the writes: time from its start
           until it holds the N records (Ask/Answer only); --late-runs times
           (5), each with a fresh node (own data and identity) stopped after
           its run, reported as min/median/max, with the late node's
           PTR.INFO counters (asks, answers, late answers, records/answer)

Prints each figure and the machine's load average (it may be shared), and
the floor of a catch-up on this machine at this moment: N ed25519
verifications (libsodium through ctypes, one record each), measured right
after the late runs; each record must be verified once (ptr.h R2), so the
late node's time over that floor is what the protocol costs.
"""
import argparse
import ctypes
import ctypes.util
import os
import shutil
import socket
import subprocess
import tempfile
import time

from benchutil import free_port, start_nats, stop_all, wait_port  # bench/: the shared helpers


def enc(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def info_field(port, name):
    return info(port).get(name, -1)


ALL_PORTS = []


def verify_floor(n):
    """Seconds for n ed25519 verifications of a 150-byte message (libsodium)."""
    na = ctypes.CDLL(ctypes.util.find_library("sodium"))
    if na.sodium_init() < 0:
        raise SystemExit("libsodium would not initialise")
    pk, sk, sig = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64), \
        ctypes.create_string_buffer(64)
    msg = b"r" * 150
    na.crypto_sign_keypair(pk, sk)
    na.crypto_sign_detached(sig, None, msg, ctypes.c_ulonglong(len(msg)), sk)
    t0 = time.time()
    for _ in range(n):
        if na.crypto_sign_verify_detached(sig, msg, ctypes.c_ulonglong(len(msg)), pk) != 0:
            raise SystemExit("a good signature did not verify")
    return time.time() - t0


def info(port):
    """PTR.INFO of the node on port, as a dict of its integer fields."""
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(enc(b"PTR.INFO"))
    data = b""
    while b"receive_dropped:" not in data or not data.endswith(b"\r\n\r\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    out = {}
    for line in data.split(b"\r\n"):
        k, sep, v = line.partition(b":")
        if sep and v.isdigit():
            out[k.decode()] = int(v)
    return out


def wait_records(port, n, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if info_field(port, "records") >= n:
            return time.time()
        time.sleep(0.01)
    raise SystemExit("port %d: %d records after %ds, not %d; PTR.INFO: %s" %
                     (port, info_field(port, "records"), timeout, n,
                      " ".join("%s=%d" % kv for kv in sorted(info(port).items()))) +
                     "\nevery node: " + "; ".join(
                         "%d: records=%d published=%d publish_errors=%d answers_sent=%d" %
                         (p, info_field(p, "records"), info_field(p, "nats_published"),
                          info_field(p, "nats_publish_errors"), info_field(p, "answers_sent"))
                         for p in ALL_PORTS))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="build/tools/ffdb-server")
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--late-runs", type=int, default=5)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ptr_bench.")
    procs = []
    try:
        nport = start_nats(procs)
        url = "nats://127.0.0.1:%d" % nport

        def node(name):
            port = free_port()
            d = os.path.join(tmp, name)
            os.mkdir(d)
            p = subprocess.Popen(
                [a.server, "--port", str(port), "--dir", d, "--data", os.path.join(d, "db.ffdb"),
                 "--nats", url, "--logfile", os.path.join(d, "log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            ALL_PORTS.append(port)
            wait_port(port)
            end = time.time() + 10
            while info_field(port, "nats_connected") != 1:
                if time.time() > end:
                    raise SystemExit("%s never connected to NATS" % name)
                time.sleep(0.02)
            return port, p

        ports = [node("n%d" % i)[0] for i in range(3)]
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
        times = []
        for run in range(a.late_runs):
            t1 = time.time()
            late, lp = node("late%d" % run)
            t = wait_records(late, a.n, a.timeout)
            times.append(t - t1)
            time.sleep(0.3)  # answers still in flight are counted too
            c = info(late)
            print("late node %d (Ask/Answer only): %d records in %.2fs from its start; asks %d "
                  "(followed more %d), answers %d (late %d), %d records in them (%.0f/answer), "
                  "applied %d, stale %d, nats_dropped %d, slow_consumer %d, disconnects %d" %
                  (run + 1, a.n, t - t1, c["asks_sent"], c["asks_followed"],
                   c["answers_received"], c["answers_late"], c["answer_records"],
                   c["answer_records"] / max(1, c["answers_received"]), c["applied"], c["stale"],
                   c["nats_dropped"], c["nats_slow_consumer"], c["nats_disconnects"]))
            lp.terminate()
            lp.wait(10)
        times.sort()
        floor = verify_floor(a.n)
        print("late node over %d runs: min %.2fs median %.2fs max %.2fs; floor (%d ed25519 "
              "verifications now): %.2fs, median/floor %.2f; load average %.1f" %
              (len(times), times[0], times[len(times) // 2], times[-1], a.n, floor,
               times[len(times) // 2] / floor, os.getloadavg()[0]))
        for i, p in enumerate(ports):
            print("node %d: applied %d stale %d rejected_badsig %d receive_dropped %d asks_sent %d "
                  "answers_sent %d answered_records %d" %
                  (i + 1, info_field(p, "applied"), info_field(p, "stale"),
                   info_field(p, "rejected_badsig"), info_field(p, "receive_dropped"),
                   info_field(p, "asks_sent"), info_field(p, "answers_sent"),
                   info_field(p, "answered_records")))
    finally:
        stop_all(procs)
        if os.environ.get("PTR_BENCH_KEEP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
