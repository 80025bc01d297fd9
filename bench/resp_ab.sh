#!/usr/bin/env bash
# bench/resp_ab.sh — two ffdb-server binaries against each other under
# redis-benchmark, interleaved (A B B A A B ...), so that a shared machine's
# load falls on both alike; prints the median requests/s of each cell.
#
#   bench/resp_ab.sh A_BINARY B_BINARY [-n N] [-r ROUNDS] [--fsync MODE] [--out FILE]
#
# Cells: redis-benchmark -t set,get,incr,lpush -r 100000 at -c 50 -P 1 and
# -c 50 -P 16 (N requests each, default 100,000; 5 rounds). Each run starts
# the server on a fresh data directory. --fsync is passed to both servers
# (default always). Needs redis-benchmark and redis-cli (make deps).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { sed -n '2,13p' "$0"; exit 2; }
A=$(realpath "$1")
B=$(realpath "$2")
shift 2
N=100000
ROUNDS=5
FSYNC=always
OUT=build/bench-resp/ab.md
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N=$2; shift ;;
    -r) ROUNDS=$2; shift ;;
    --fsync) FSYNC=$2; shift ;;
    --out) OUT=$2; shift ;;
    *) echo "resp_ab: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
TESTS="set,get,incr,lpush"
DIR=$(mktemp -d /tmp/resp_ab.XXXXXX)
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT
mkdir -p "$(dirname "$OUT")"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run BINARY LABEL: one server, every cell, lines "label cell rps" on stdout
run() {
  local bin=$1 label=$2 port data
  port=$(free_port)
  data="$DIR/$label.$RANDOM"
  mkdir -p "$data"
  "$bin" --port "$port" --dir "$data" --fsync $FSYNC --logfile "$data/log" &
  PID=$!
  for _ in $(seq 1 500); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.02
  done
  for p in 1 16; do
    redis-benchmark -p "$port" -t "$TESTS" -n "$N" -r 100000 -c 50 -P "$p" --csv -q 2>/dev/null |
      tr -d '"' | awk -F, -v l="$label" -v p="$p" '$2 ~ /^[0-9.]+$/ { print l, $1 "-P" p, $2 }'
  done
  kill "$PID"
  wait "$PID" 2>/dev/null || true
  PID=""
  rm -rf "$data"
}

RAW="$DIR/raw"
: >"$RAW"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then run "$A" A >>"$RAW"; run "$B" B >>"$RAW";
  else run "$B" B >>"$RAW"; run "$A" A >>"$RAW"; fi
  echo "round $r done" >&2
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

{
  echo "redis-benchmark -c 50 -n $N -r 100000, --fsync $FSYNC, $ROUNDS rounds interleaved, median requests/s"
  echo
  echo "A = $A"
  echo "B = $B"
  echo
  echo "| cell | A | B | B/A |"
  echo "|---|---:|---:|---:|"
  python3 - "$RAW" <<'EOF'
import sys, statistics, collections
cells = collections.OrderedDict()
for line in open(sys.argv[1]):
    label, cell, rps = line.split()
    cells.setdefault(cell, {"A": [], "B": []})[label].append(float(rps))
for cell, v in cells.items():
    a, b = statistics.median(v["A"]), statistics.median(v["B"])
    print(f"| {cell} | {a:,.0f} | {b:,.0f} | {b / a:.2f} |")
EOF
} | tee "$OUT"
