#!/usr/bin/env bash
# bench/cluster_bench.sh — SET throughput of a 3-node ffdb-server RAFT
# cluster against one plain ffdb-server, both --fsync always, in one run
# (issue 11; target: cluster >= 0.5 x single node).
#
#   bench/cluster_bench.sh [SERVER] [-n N] [-c CLIENTS] [--dir DIR]
#
# redis-benchmark -t set -n N -r 100000 -c CLIENTS, -P 1 and -P 16, first
# against a single node, then against the leader of a fresh 3-node cluster
# on loopback (all on this machine's disk). Prints requests/s, the ratio
# cluster / single, and where the time goes on the leader: the RAFT
# counters (units proposed, log entries: units per entry is the batching)
# and the ffdb commit counters (commits, average commit time with its fsync)
# from INFO. The load average is printed before and after (shared machine).
set -euo pipefail
cd "$(dirname "$0")/.."

SERVER=build/tools/ffdb-server
N=20000
C=50
DIR=build/bench-cluster
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N=$2; shift ;;
    -c) C=$2; shift ;;
    --dir) DIR=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "cluster_bench: unknown option $1" >&2; exit 2 ;;
    *) SERVER=$1 ;;
  esac
  shift
done
[ -x "$SERVER" ] || { echo "cluster_bench: no $SERVER (make tools)" >&2; exit 2; }
command -v redis-benchmark >/dev/null || { echo "cluster_bench: needs redis-benchmark" >&2; exit 2; }

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
trap cleanup EXIT

# A free TCP port (and, with "pair", one whose +10000 is free: the RAFT file fetch).
free_port() {
  python3 - "$1" <<'EOF'
import socket, sys
def ok(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if sys.argv[1] != "pair" or (p + 10000 <= 65535 and ok(p + 10000)):
        print(p); break
EOF
}

wait_up() { # port
  for _ in $(seq 200); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "cluster_bench: server on $1 did not start" >&2
  exit 1
}

info() { # port field
  redis-cli -p "$1" info everything | tr -d '\r' | sed -n "s/^$2://p"
}

rps() { # port pipeline
  redis-benchmark -p "$1" -t set -n "$N" -r 100000 -c "$C" -P "$2" -q 2>/dev/null |
    tr '\r' '\n' | sed -n 's/^SET: \([0-9.]*\) requests per second.*/\1/p' | tail -1
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); N=$N, -c $C, --fsync always"
rm -rf "$DIR"
mkdir -p "$DIR/single" "$DIR/n1" "$DIR/n2" "$DIR/n3"

# ---- one plain node
P=$(free_port one)
"$SERVER" --port "$P" --dir "$DIR/single" --data data.ffdb --fsync always \
  --logfile "$DIR/single/log" &
PIDS+=($!)
wait_up "$P"
S1=$(rps "$P" 1)
S16=$(rps "$P" 16)
SC=$(info "$P" ffdb_commits)
SA=$(info "$P" ffdb_commit_avg_usec)
cleanup

# ---- three nodes (fsync mode of the ffdb file: $1); sets C1 C16 U1 E1 U2 E2 CC CA
cluster_run() {
  local R=() RP=() i p L=""
  rm -rf "$DIR/n1" "$DIR/n2" "$DIR/n3"
  mkdir -p "$DIR/n1" "$DIR/n2" "$DIR/n3"
  for i in 1 2 3; do R+=("$(free_port pair)"); RP+=("$(free_port one)"); done
  local LIST="1@127.0.0.1:${R[0]},2@127.0.0.1:${R[1]},3@127.0.0.1:${R[2]}"
  for i in 1 2 3; do
    "$SERVER" --port "${RP[$((i - 1))]}" --dir "$DIR/n$i" --data data.ffdb --fsync "$1" \
      --logfile "$DIR/n$i/log" --node "$i" --cluster "$LIST" &
    PIDS+=($!)
  done
  for p in "${RP[@]}"; do wait_up "$p"; done
  for _ in $(seq 200); do
    for p in "${RP[@]}"; do
      [ "$(info "$p" raft_state)" = leader ] && L=$p
    done
    [ -n "$L" ] && break
    sleep 0.05
  done
  [ -n "$L" ] || { echo "cluster_bench: no leader" >&2; exit 1; }
  sleep 0.5 # the followers learn the leader's address
  C1=$(rps "$L" 1)
  U1=$(info "$L" raft_proposals) E1=$(info "$L" raft_proposed_entries)
  local r1 ra1 a1 aa1
  r1=$(info "$L" raft_rounds) ra1=$(info "$L" raft_round_avg_usec)
  a1=$(info "$L" raft_applies) aa1=$(info "$L" raft_apply_avg_usec)
  C16=$(rps "$L" 16)
  U2=$(info "$L" raft_proposals) E2=$(info "$L" raft_proposed_entries)
  CC=$(info "$L" ffdb_commits)
  CA=$(info "$L" ffdb_commit_avg_usec)
  # the -P 16 run alone: averages of the two runs' totals, minus the -P 1 run's
  RT1=$ra1 AT1=$aa1
  RT16=$(python3 -c "r=$(info "$L" raft_rounds)-$r1; print(($(info "$L" raft_round_avg_usec)*(r+$r1)-$ra1*$r1)//max(r,1))")
  AT16=$(python3 -c "a=$(info "$L" raft_applies)-$a1; print(($(info "$L" raft_apply_avg_usec)*(a+$a1)-$aa1*$a1)//max(a,1))")
  cleanup
}
cluster_run never
N1=$C1 N16=$C16 NA=$CA NRT1=$RT1 NAT1=$AT1 NRT16=$RT16 NAT16=$AT16
cluster_run always

ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
echo
echo "| SET | one node, --fsync always | cluster, --fsync always (FFDB_DEFERSYNC) | ratio | cluster, --fsync never | ratio |"
echo "|---|---|---|---|---|---|"
echo "| -P 1  | $S1 | $C1 | $(ratio "$C1" "$S1") | $N1 | $(ratio "$N1" "$S1") |"
echo "| -P 16 | $S16 | $C16 | $(ratio "$C16" "$S16") | $N16 | $(ratio "$N16" "$S16") |"
echo
echo "where the time goes (INFO of the servers):"
echo "  one node: ffdb_commits=$SC ffdb_commit_avg_usec=$SA"
echo "  leader:   ffdb_commits=$CC ffdb_commit_avg_usec=$CA (--fsync never: ffdb_commit_avg_usec=$NA)"
echo "  leader, a RAFT round (submit -> applied here; usec) / of it the apply (commands + ffdb commit):"
echo "    --fsync always: -P 1 $RT1 / $AT1, -P 16 $RT16 / $AT16"
echo "    --fsync never:  -P 1 $NRT1 / $NAT1, -P 16 $NRT16 / $NAT16"
echo "  leader -P 1:  $U1 units in $E1 RAFT entries ($(ratio "$U1" "${E1/#0/1}") units/entry)"
echo "  leader -P 16: $((U2 - U1)) units (a client's pipelined run of writes is one unit) in $((E2 - E1)) RAFT entries ($(ratio "$((U2 - U1))" "$((E2 - E1 > 0 ? E2 - E1 : 1))") units/entry)"
echo "  per entry the leader syncs its RAFT log (libraft raft_uv) and a majority does the"
echo "  same; with --fsync always the ffdb file is opened FFDB_DEFERSYNC and synced only"
echo "  before a snapshot and at shutdown (the log is the durability point), so the apply"
echo "  is a commit without a sync. All three nodes share one disk here. With --fsync never"
echo "  the file is never synced (FFDB_NOSYNC: ffdb_sync is a no-op too): a process crash"
echo "  loses no acknowledged write; power loss: README."
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
