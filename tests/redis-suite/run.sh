#!/usr/bin/env bash
# tests/redis-suite/run.sh — Redis's own test suite against ffdb-server.
#
# Runs every tests/unit/**.tcl of Redis's suite (tag REDIS_TAG, default
# 7.0.15) in external-server mode (--host/--port --singledb) against a
# freshly started ffdb-server on a free 127.0.0.1 port, one file at a time
# (a file that aborts does not stop the others; each gets FILE_TIMEOUT
# seconds), and prints per-file counts: ok, err (a failed assertion),
# exc (an exception: the file aborted there), skip, and the file's end
# (done / abort / timeout). Not part of `make test`: it measures
# compatibility, it does not gate it.
#
# Usage: tests/redis-suite/run.sh [--server BIN] [--out FILE] [unit/NAME ...]
# The suite comes from REDIS_GIT (a git dir or URL; default the local mirror
# if present, else https://github.com/redis/redis.git), cached in
# build/redis-suite/REDIS_TAG. Needs tclsh (Debian: tcl).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/redis-suite/common.sh"
server=$here/build/tools/ffdb-server
out=
tag=${REDIS_TAG:-7.0.15}
file_timeout=${FILE_TIMEOUT:-120}
files=()
while [ $# -gt 0 ]; do
    case $1 in
        --server) server=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) files+=("$1"); shift ;;
    esac
done
command -v tclsh >/dev/null || { echo "redis-suite: tclsh not found (apt-get install tcl)" >&2; exit 2; }
[ -x "$server" ] || { echo "redis-suite: $server not built (make all)" >&2; exit 2; }

suite=$here/build/redis-suite/$tag
[ -f "$suite/runtest" ] || suite_fetch "$suite" "$tag" "${REDIS_GIT:-}" \
    /work/.mirror/redis+redis/repo https://github.com/redis/redis.git tests runtest

suite_work ffdb-redis-suite

start_server() {
    rm -f "$work"/data.ffdb* "$work/log"
    "$server" --port 0 --data "$work/data.ffdb" --fsync never >"$work/log" 2>&1 &
    pid=$!
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/.*ready: .* port \([0-9]*\)$/\1/p' "$work/log" 2>/dev/null | head -1)
        [ -n "$port" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "redis-suite: ffdb-server did not start:" >&2; cat "$work/log" >&2
    return 1
}

if [ ${#files[@]} -eq 0 ]; then
    # the suite's own list (::all_tests in test_helper.tcl), its unit/ part:
    # integration/ starts servers of its own, unit/moduleapi loads modules
    while IFS= read -r f; do files+=("$f"); done < <(sed -n '/^set ::all_tests {/,/^}/p' "$suite/tests/test_helper.tcl" | grep -o '^ *unit/[^ ]*' | tr -d ' ')
fi

report=$work/report
printf '%-32s %5s %5s %5s %5s  %s\n' file ok err exc skip end >"$report"
tot_ok=0 tot_err=0 tot_exc=0 tot_skip=0 done_files=0
for f in "${files[@]}"; do
    start_server || exit 1
    log=$work/$(echo "$f" | tr / _).log
    (cd "$suite" && timeout -k 5 "$file_timeout" tclsh tests/test_helper.tcl \
        --host 127.0.0.1 --port "$port" --singledb --single "$f" \
        --timeout "$file_timeout" --clients 1 >"$log" 2>&1)
    rc=$?
    sed -i 's/\x1b\[[0-9;]*m//g' "$log"
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
    ok=$(grep -c '^\[ok\]' "$log"); err=$(grep -c '^\[err\]' "$log")
    exc=$(grep -c '^\[exception\]' "$log"); skip=$(grep -c '^\[skip\]' "$log")
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then end=timeout
    elif [ "$exc" -gt 0 ] || ! grep -q 'All tests passed\|tests failed' "$log"; then end=abort
    else end=done; done_files=$((done_files + 1)); fi
    if [ "$end" = abort ]; then
        why=$(grep -m1 -A1 '^\[exception\]' "$log" | tail -1 | cut -c1-80)
        end="abort: $why"
    fi
    printf '%-32s %5d %5d %5d %5d  %s\n' "$f" "$ok" "$err" "$exc" "$skip" "$end" | tee -a "$report"
    tot_ok=$((tot_ok + ok)); tot_err=$((tot_err + err)); tot_exc=$((tot_exc + exc)); tot_skip=$((tot_skip + skip))
    [ -n "${KEEP_LOGS:-}" ] && mkdir -p "$KEEP_LOGS" && cp "$log" "$KEEP_LOGS/"
done
printf '%-32s %5d %5d %5d %5d  %d/%d files ran to the end\n' TOTAL "$tot_ok" "$tot_err" "$tot_exc" "$tot_skip" "$done_files" "${#files[@]}" | tee -a "$report"
[ -n "$out" ] && cp "$report" "$out"
exit 0
