#!/usr/bin/env bash
# tests/redis-suite/hiredis.sh — a client library's own test program
# (hiredis's test.c, tag HIREDIS_TAG, default v1.2.0) against ffdb-server,
# and against redis-server beside it for reference.
#
# The source comes at run time from HIREDIS_GIT (a git dir or URL; default
# the local mirror if present, else https://github.com/redis/hiredis.git)
# into build/hiredis-suite/HIREDIS_TAG (never committed), where its own
# Makefile builds hiredis-test. Each server is started fresh on a free
# 127.0.0.1 port; the program runs with --skip-throughput
# --skip-inherit-fd, unbuffered (it ends at the first assert() that
# fails, so the lines before it are the count), under a timeout. Prints
# per server: tests passed, failed, and where the run ended.
#
# Usage: tests/redis-suite/hiredis.sh [--server BIN]. Not part of make test.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/redis-suite/common.sh"
server=$here/build/tools/ffdb-server
tag=${HIREDIS_TAG:-v1.2.0}
while [ $# -gt 0 ]; do
    case $1 in
        --server) server=$2; shift 2 ;;
        *) echo "usage: $0 [--server BIN]" >&2; exit 2 ;;
    esac
done
[ -x "$server" ] || { echo "hiredis-suite: $server not built (make all)" >&2; exit 2; }

src_dir=$here/build/hiredis-suite/$tag
[ -f "$src_dir/test.c" ] || suite_fetch "$src_dir" "$tag" "${HIREDIS_GIT:-}" \
    /work/.mirror/redis+hiredis/repo https://github.com/redis/hiredis.git
make -s -C "$src_dir" hiredis-test >/dev/null || exit 2

suite_work ffdb-hiredis-suite

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
    for _ in $(seq 100); do
        redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

run_one() { # name, then the server's command line (PORT replaced)
    local name=$1 port out
    shift
    port=$(free_port)
    "${@//PORT/$port}" >"$work/$name.log" 2>&1 &
    pid=$!
    wait_port "$port" || { echo "hiredis-suite: $name did not start" >&2; cat "$work/$name.log" >&2; return 1; }
    out=$work/$name.out
    (cd "$src_dir" && timeout -k 5 120 stdbuf -o0 ./hiredis-test -h 127.0.0.1 -p "$port" \
        --skip-throughput --skip-inherit-fd) 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >"$out"
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
    local ok err end
    ok=$(grep -c ': PASSED$' "$out"); err=$(grep -c ': FAILED$' "$out")
    if grep -q 'ALL TESTS PASSED\|TESTS FAILED' "$out"; then end=done
    else end="ended: $(grep -v ': PASSED$' "$out" | tail -1 | cut -c1-100)"; fi
    printf '%-14s %4d passed %4d failed  %s\n' "$name" "$ok" "$err" "$end"
    [ -n "${KEEP_LOGS:-}" ] && mkdir -p "$KEEP_LOGS" && cp "$out" "$KEEP_LOGS/"
    return 0
}

echo "hiredis $tag test program (--skip-throughput --skip-inherit-fd):"
run_one ffdb-server "$server" --port PORT --data "$work/data.ffdb" --fsync never
if command -v redis-server >/dev/null; then
    run_one redis-server redis-server --port PORT --save '' --appendonly no --dir "$work"
fi
exit 0
