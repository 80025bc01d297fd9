#!/usr/bin/env bash
# bench/resp_bench.sh — redis-benchmark against ffdb-server and Debian's
# redis-server, in one run, on this machine's disk.
#
#   bench/resp_bench.sh [--quick | -n N] [--out FILE] [--dir DIR] [-t TESTS]
#                       [-c "50 512"] [-P "1 16"] [--configs "..."] [--rounds R]
#
# Up to five servers, one at a time, each on a fresh data directory, each
# driven by the same redis-benchmark commands:
#   redis-always    redis-server --appendonly yes --appendfsync always   (durable)
#   ffdb-always     ffdb-server  --fsync always                          (durable; the default)
#   ffdb-pipe       ffdb-server  --fsync always --pipeline-commits yes   (durable)
#   redis-everysec  redis-server --appendonly yes --appendfsync everysec (up to 1 s lost)
#   ffdb-batch      ffdb-server  --fsync batch-ms 1000                   (up to 1 s lost)
# --configs picks and orders them (default: all but ffdb-pipe). For each:
# redis-benchmark -t TESTS -n N -r 100000 (TESTS default
# set,get,incr,lpush,hset,zadd) for every -c and -P value (default -c 50 and
# 512, -P 1 and 16; N = 1,000,000, --quick: 100,000). With --rounds R the
# whole sequence of servers runs R times, interleaved, and each cell is the
# median of its R figures. The database is flushed between runs. Prints a
# markdown table of requests/s and ratios (also written to --out, default
# build/bench-resp/results.md), and whether the issue's targets were met:
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
CLIENTS="50 512"
PIPES="1 16"
CONFIGS="redis-always ffdb-always redis-everysec ffdb-batch"
ROUNDS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) N=100000 ;;
    -n) N=$2; shift ;;
    --out) OUT=$2; shift ;;
    --dir) DIR=$2; shift ;;
    -t) TESTS=$2; shift ;;
    -c) CLIENTS=$2; shift ;;
    -P) PIPES=$2; shift ;;
    --configs) CONFIGS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
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
    ffdb-pipe)
      "$SERVER" --port "$PORT" --data "$d/data.ffdb" --fsync always --pipeline-commits yes \
        --logfile "$d/log" & ;;
    ffdb-batch)
      "$SERVER" --port "$PORT" --data "$d/data.ffdb" --fsync batch-ms 1000 --logfile "$d/log" & ;;
    *) echo "resp_bench: unknown configuration $1" >&2; exit 2 ;;
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

declare -A RPS ALL
# run NAME: every -c/-P combination against configuration NAME; each
# figure is appended to ALL[cell] (one per round).
run() {
  local name=$1 c p t line
  start "$name"
  for c in $CLIENTS; do
    for p in $PIPES; do
      redis-cli -p "$PORT" flushall >/dev/null
      echo "  $name -c $c -P $p: redis-benchmark -t $TESTS -n $N -r 100000" >&2
      while IFS= read -r line; do
        t=$(echo "$line" | cut -d, -f1 | tr -d '"')
        [ "$t" = test ] && continue
        ALL[$name,$c,$p,$t]+="$(echo "$line" | cut -d, -f2 | tr -d '"') "
      done < <(redis-benchmark -p "$PORT" -t "$TESTS" -n "$N" -r 100000 -c "$c" -P "$p" --csv 2>/dev/null)
    done
  done
  stop
}
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }

load() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_BEFORE=$(load)
START=$(date +%s)
for round in $(seq "$ROUNDS"); do
  for cfg in $CONFIGS; do
    echo "resp_bench: round $round, $cfg" >&2
    run "$cfg"
  done
done
for cell in "${!ALL[@]}"; do RPS[$cell]=$(median "${ALL[$cell]}"); done
LOAD_AFTER=$(load)
SECS=$(( $(date +%s) - START ))

fmt() { [ -n "${1:-}" ] && printf "%.0f" "$1" || printf -- "-"; }
ratio() { if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; else printf -- "-"; fi; }

{
  echo "redis-benchmark -n $N -r 100000, $(nproc) cores, load average $LOAD_BEFORE before and $LOAD_AFTER after, $SECS s;"
  [ "$ROUNDS" -gt 1 ] && echo "each cell the median of $ROUNDS interleaved rounds;"
  echo "ffdb-server $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(redis-server --version | cut -d' ' -f1-3)."
  echo
  echo "| test | -c | -P | redis always | ffdb always | ratio | ffdb always, pipelined commits | ratio | redis everysec | ffdb batch-ms 1000 | ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for t in $(echo "$TESTS" | tr 'a-z,' 'A-Z '); do
    for c in $CLIENTS; do
      for p in $PIPES; do
        ra=${RPS[redis-always,$c,$p,$t]:-}; fa=${RPS[ffdb-always,$c,$p,$t]:-}; fp=${RPS[ffdb-pipe,$c,$p,$t]:-}
        re=${RPS[redis-everysec,$c,$p,$t]:-}; fb=${RPS[ffdb-batch,$c,$p,$t]:-}
        echo "| $t | $c | $p | $(fmt "$ra") | $(fmt "$fa") | $(ratio "$fa" "$ra") | $(fmt "$fp") | $(ratio "$fp" "$ra") | $(fmt "$re") | $(fmt "$fb") | $(ratio "$fb" "$re") |"
      done
    done
  done
  if [ "$ROUNDS" -gt 1 ]; then
    echo
    echo "Each round's figures (requests/s, in round order):"
    for cell in $(printf '%s\n' "${!ALL[@]}" | sort); do echo "- $cell: ${ALL[$cell]% }"; done
  fi
  echo
  echo "Targets (each -c/-P combination):"
  verdict() { # ffdb redis factor; "-" when a side was not run
    local ok
    if [ -z "$1" ] || [ -z "$2" ]; then echo "-"; return; fi
    ok=$(awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN{print (a >= f*b) ? "met" : "MISSED"}')
    echo "$ok ($(ratio "$1" "$2")x)"
  }
  for c in $CLIENTS; do
    for p in $PIPES; do
      g1=$(verdict "${RPS[ffdb-always,$c,$p,GET]:-}" "${RPS[redis-always,$c,$p,GET]:-}" 1.0)
      g2=$(verdict "${RPS[ffdb-batch,$c,$p,GET]:-}" "${RPS[redis-everysec,$c,$p,GET]:-}" 1.0)
      s1=$(verdict "${RPS[ffdb-always,$c,$p,SET]:-}" "${RPS[redis-always,$c,$p,SET]:-}" 1.0)
      s3=$(verdict "${RPS[ffdb-pipe,$c,$p,SET]:-}" "${RPS[redis-always,$c,$p,SET]:-}" 1.0)
      s2=$(verdict "${RPS[ffdb-batch,$c,$p,SET]:-}" "${RPS[redis-everysec,$c,$p,SET]:-}" 0.5)
      echo "- -c $c -P $p: GET >= 1.0x: $g1 (durable), $g2 (batched); durable SET >= 1.0x: $s1, pipelined commits $s3; batched SET >= 0.5x: $s2"
    done
  done
} | tee "$OUT"
