#!/usr/bin/env bash
# bench/resp_types_bench.sh — the Redis types of issue 15 beside redis-server:
# XADD, XRANGE (10 entries), EVALSHA (a script doing one GET), and a BLPOP
# ping-pong (two clients handing one element back and forth through two
# lists, round trips/s). Both servers durable: ffdb-server --fsync always,
# redis-server --appendonly yes --appendfsync always, each on a fresh data
# directory under /tmp. Runs are interleaved (ffdb, redis, ffdb, ...)
# ROUNDS times (default 3) and the medians printed as a markdown table with
# ratios. redis-benchmark -c 50 -n N (default 20000) for the first three.
#
#   bench/resp_types_bench.sh [ROUNDS] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
N=${2:-20000}
FFDB=build/tools/ffdb-server
[ -x "$FFDB" ] || make tools >/dev/null
work=$(mktemp -d /tmp/ffdb-types-bench.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start() { # ffdb|redis
    rm -rf "$work/d"; mkdir -p "$work/d"
    port=$(free_port)
    if [ "$1" = ffdb ]; then
        "$FFDB" --port "$port" --data "$work/d/data.ffdb" --fsync always >"$work/log" 2>&1 &
    else
        redis-server --port "$port" --bind 127.0.0.1 --dir "$work/d" --save "" --appendonly yes \
            --appendfsync always >"$work/log" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
    echo "server $1 did not start" >&2; cat "$work/log" >&2; exit 1
}
stop() { redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

rps() { # redis-benchmark args... -> requests/s
    redis-benchmark -p "$port" -c 50 -n "$N" -q "$@" 2>/dev/null | tr '\r' '\n' |
        sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1
}

pingpong() { # round trips/s over 2 s
    python3 - "$port" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1); return s
def cmd(*a):
    return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a)
a, b = conn(), conn()
a.sendall(cmd(b"BLPOP", b"q1", b"0"))
time.sleep(0.05)
n, t0 = 0, time.time()
while time.time() - t0 < 2.0:
    b.sendall(cmd(b"RPUSH", b"q1", b"x") + cmd(b"BLPOP", b"q2", b"0"))
    b.recv(64)  # :1
    a.recv(64)  # [q1, x]
    a.sendall(cmd(b"RPUSH", b"q2", b"x") + cmd(b"BLPOP", b"q1", b"0"))
    a.recv(64)
    while True:
        d = b.recv(64)
        if d.count(b"\r\n") >= 5 or b"q2" in d: break
    n += 1
print("%.0f" % (n / (time.time() - t0)))
PY
}

declare -A res
for r in $(seq "$ROUNDS"); do
    for srv in ffdb redis; do
        start "$srv"
        res[$srv,xadd,$r]=$(rps XADD s '*' f v)
        res[$srv,xrange,$r]=$(rps XRANGE s - + COUNT 10)
        sha=$(redis-cli -p "$port" script load "return redis.call('get', KEYS[1])")
        redis-cli -p "$port" set k v >/dev/null
        res[$srv,evalsha,$r]=$(rps EVALSHA "$sha" 1 k)
        res[$srv,pingpong,$r]=$(pingpong)
        stop
    done
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| command | ffdb-server | redis-server | ffdb / redis |"
echo "|---|---|---|---|"
for t in xadd xrange evalsha pingpong; do
    f=(); g=()
    for r in $(seq "$ROUNDS"); do f+=("${res[ffdb,$t,$r]}"); g+=("${res[redis,$t,$r]}"); done
    mf=$(median "${f[@]}"); mg=$(median "${g[@]}")
    printf '| %s | %s | %s | %.2f |\n' "$t" "$mf" "$mg" "$(echo "$mf / $mg" | bc -l)"
done
