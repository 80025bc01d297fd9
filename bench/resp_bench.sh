#!/usr/bin/env bash
# bench/resp_bench.sh — redis-benchmark against ffdb-server and Debian's
# redis-server, in one run, on this machine's disk.
#
#   bench/resp_bench.sh [--quick | -n N] [--out FILE] [--dir DIR]
#
# Four servers, one at a time, each on a fresh data directory, each driven by
# the same redis-benchmark commands:
#   redis-server --appendonly yes --appendfsync always     (durable)
#   ffdb-server  --fsync always                            (durable; the default)
#   redis-server --appendonly yes --appendfsync everysec   (up to 1 s lost)
#   ffdb-server  --fsync batch-ms 1000                     (up to 1 s lost)
# For each: redis-benchmark -t set,get,incr,lpush,hset,zadd -n N -r 100000
# with -c 50 and -c 512, and -P 1 and -P 16 (N = 1,000,000; --quick: 100,000).
# The database is flushed between runs. Prints a markdown table of requests/s and ratios (also
# written to --out, default build/bench-resp/results.md), and whether the
# issue's targets were met:
#   GET                ffdb >= 1.0 x redis-server (same durability)
#   SET, durable       ffdb --fsync always >= redis-server appendfsync always
#   SET, batched       ffdb --fsync batch-ms 1000 >= 0.5 x redis everysec
#
# Builds ffdb-server first (make tools). Needs redis-server, redis-benchmark
# and redis-cli (make deps). The machine may be shared: the load average is
# printed before and after, so a figure can be judged.
set -euo pipefail
cd "$(dirname "$0")/.."

N=1000000
OUT=build/bench-resp/results.md
DIR=build/bench-resp
TESTS="set,get,incr,lpush,hset,zadd"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) N=100000 ;;
    -n) N=$2; shift ;;
    --out) OUT=$2; shift ;;
    --dir) DIR=$2; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "resp_bench: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for p in redis-server redis-benchmark redis-cli; do
  command -v $p >/dev/null || { echo "resp_bench: $p is missing (make deps)" >&2; exit 2; }
done
make -s tools >/dev/null
SERVER=$PWD/build/tools/ffdb-server
mkdir -p "$DIR" "$(dirname "$OUT")"
DIR=$(cd "$DIR" && pwd)

PID=""
cleanup() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_up() { # port
  for _ in $(seq 1 500); do
    redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.02
  done
  echo "resp_bench: server on port $1 did not start" >&2; exit 1
}

# start NAME: starts one of the four configurations; sets PID and PORT.
start() {
  local d=$DIR/$1
  rm -rf "$d"; mkdir -p "$d"
  PORT=$(free_port)
  case $1 in
    redis-always|redis-everysec)
      redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly yes \
        --appendfsync "${1#redis-}" --dir "$d" --daemonize no --logfile "$d/log" &
      ;;
    ffdb-always)
      "$SERVER" --port "$PORT" --data "$d/data.ffdb" --fsync always --logfile "$d/log" & ;;
    ffdb-batch)
      "$SERVER" --port "$PORT" --data "$d/data.ffdb" --fsync batch-ms 1000 --logfile "$d/log" & ;;
  esac
  PID=$!
  wait_up "$PORT"
}

stop() {
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  for _ in $(seq 1 500); do kill -0 "$PID" 2>/dev/null || break; sleep 0.02; done
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=""
}

declare -A RPS
# run NAME: every -c/-P combination against configuration NAME.
run() {
  local name=$1 c p t line
  start "$name"
  for c in 50 512; do
    for p in 1 16; do
      redis-cli -p "$PORT" flushall >/dev/null
      echo "  $name -c $c -P $p: redis-benchmark -t $TESTS -n $N -r 100000" >&2
      while IFS= read -r line; do
        t=$(echo "$line" | cut -d, -f1 | tr -d '"')
        [ "$t" = test ] && continue
        RPS[$name,$c,$p,$t]=$(echo "$line" | cut -d, -f2 | tr -d '"')
      done < <(redis-benchmark -p "$PORT" -t "$TESTS" -n "$N" -r 100000 -c "$c" -P "$p" --csv 2>/dev/null)
    done
  done
  stop
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_BEFORE=$(load)
START=$(date +%s)
for cfg in redis-always ffdb-always redis-everysec ffdb-batch; do
  echo "resp_bench: $cfg" >&2
  run "$cfg"
done
LOAD_AFTER=$(load)
SECS=$(( $(date +%s) - START ))

fmt() { [ -n "${1:-}" ] && printf "%.0f" "$1" || printf -- "-"; }
ratio() { if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; else printf -- "-"; fi; }

{
  echo "redis-benchmark -n $N -r 100000, $(nproc) cores, load average $LOAD_BEFORE before and $LOAD_AFTER after, $SECS s;"
  echo "ffdb-server $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(redis-server --version | cut -d' ' -f1-3)."
  echo
  echo "| test | -c | -P | redis always | ffdb always | ratio | redis everysec | ffdb batch-ms 1000 | ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for t in SET GET INCR LPUSH HSET ZADD; do
    for c in 50 512; do
      for p in 1 16; do
        ra=${RPS[redis-always,$c,$p,$t]:-}; fa=${RPS[ffdb-always,$c,$p,$t]:-}
        re=${RPS[redis-everysec,$c,$p,$t]:-}; fb=${RPS[ffdb-batch,$c,$p,$t]:-}
        echo "| $t | $c | $p | $(fmt "$ra") | $(fmt "$fa") | $(ratio "$fa" "$ra") | $(fmt "$re") | $(fmt "$fb") | $(ratio "$fb" "$re") |"
      done
    done
  done
  echo
  echo "Targets (each -c/-P combination):"
  verdict() { # label ffdb redis factor
    local ok
    ok=$(awk -v a="$2" -v b="$3" -v f="$4" 'BEGIN{print (a >= f*b) ? "met" : "MISSED"}')
    echo "$ok ($(ratio "$2" "$3")x)"
  }
  for c in 50 512; do
    for p in 1 16; do
      g1=$(verdict GET "${RPS[ffdb-always,$c,$p,GET]:-0}" "${RPS[redis-always,$c,$p,GET]:-1}" 1.0)
      g2=$(verdict GET "${RPS[ffdb-batch,$c,$p,GET]:-0}" "${RPS[redis-everysec,$c,$p,GET]:-1}" 1.0)
      s1=$(verdict SET "${RPS[ffdb-always,$c,$p,SET]:-0}" "${RPS[redis-always,$c,$p,SET]:-1}" 1.0)
      s2=$(verdict SET "${RPS[ffdb-batch,$c,$p,SET]:-0}" "${RPS[redis-everysec,$c,$p,SET]:-1}" 0.5)
      echo "- -c $c -P $p: GET >= 1.0x: $g1 (durable), $g2 (batched); durable SET >= 1.0x: $s1; batched SET >= 0.5x: $s2"
    done
  done
} | tee "$OUT"
