# tests/redis-suite/common.sh — what run.sh and hiredis.sh share (sourced,
# not run): fetch a suite's source at a tag, and a scratch directory with
# the trap that stops the server under test ($pid) and removes it.

# suite_fetch DEST TAG SRC MIRROR URL [PATH ...]: the tree at TAG (only the
# PATHs, if named) into DEST, from SRC (a git dir or URL), else from the
# local MIRROR git dir if there is one, else from URL. Exits 2 on failure.
suite_fetch() {
    local dest=$1 tag=$2 src=$3 mirror=$4 url=$5 tmp
    shift 5
    [ -z "$src" ] && [ -d "$mirror" ] && src=$mirror
    mkdir -p "$dest"
    if [ -n "$src" ] && [ -d "$src" ]; then
        git --git-dir="$src" archive "$tag" "$@" | tar -x -C "$dest" || exit 2
        return 0
    fi
    tmp=$(mktemp -d)
    git clone -q --depth 1 --branch "$tag" "${src:-$url}" "$tmp/c" || exit 2
    if [ $# -eq 0 ]; then
        cp -r "$tmp/c/." "$dest/"
    else
        (cd "$tmp/c" && cp -r "$@" "$dest/")
    fi
    rm -rf "$tmp"
}

# suite_work PREFIX: $work, a fresh /tmp/PREFIX.XXXXXX; $pid, the server a
# script starts there (stopped, and $work removed, on any exit).
suite_work() {
    work=$(mktemp -d "/tmp/$1.XXXXXX")
    pid=
    trap suite_cleanup EXIT INT TERM
}

suite_cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
