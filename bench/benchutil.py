"""benchutil.py — the loopback helpers the Python benches share (bench/*.py,
bench/crdt/*.py): a free port to start a server on, and a wait until it
listens, nats-server started on one, and the stop of what a bench started."""
import socket
import subprocess
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit("nothing listens on %d" % port)


def start_nats(procs):
    """nats-server on a free loopback port, appended to procs (stop_all
    stops it); returns the port once it listens."""
    port = free_port()
    procs.append(subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_port(port)
    return port


def stop_all(procs, timeout=10):
    """SIGTERM every process, last started first; SIGKILL what has not
    exited within timeout seconds."""
    for p in reversed(procs):
        p.terminate()
    for p in reversed(procs):
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
