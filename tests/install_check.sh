#!/usr/bin/env bash
# install_check.sh — what a user outside the tree meets after `make install`
# (run by `make install-check`, and so by CI): install into a scratch
# prefix, build a program that is not part of the tree with pkg-config
# against the shared library and, with --static, against libffdb.a, run
# both, read the man pages, check what the shared library exports, install
# once more through DESTDIR, uninstall both and find no file left behind.
set -euo pipefail
work=${1:?usage: install_check.sh SCRATCH-DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
fail() { echo "install-check: $*" >&2; exit 1; }

make -C "$top" --no-print-directory install PREFIX="$prefix" >/dev/null

# A program outside the tree: the README's example, compiled from a copy.
cp "$top/examples/tour.c" "$work/prog.c"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion ffdb)" = "$(sed -n 's/^#define FFDB_VERSION_\(MAJOR\|MINOR\|PATCH\) *\([0-9]*\).*/\2/p' "$top/include/ffdb.h" | paste -sd.)" ] \
  || fail "pkg-config --modversion does not match ffdb.h"
# shellcheck disable=SC2046
cc -o "$work/prog-shared" "$work/prog.c" $(pkg-config --cflags --libs ffdb)
# shellcheck disable=SC2046
cc -o "$work/prog-static" "$work/prog.c" $(pkg-config --cflags ffdb) \
  "$(pkg-config --variable=libdir ffdb)/libffdb.a" $(pkg-config --static --libs-only-l ffdb | sed 's/-lffdb//')
ldd "$work/prog-shared" | grep -q "libffdb.so.[0-9]* => $prefix/lib/" \
  || LD_LIBRARY_PATH=$prefix/lib ldd "$work/prog-shared" | grep -q "libffdb.so.[0-9]* => $prefix/lib/" \
  || fail "prog-shared does not load the installed libffdb.so"
ldd "$work/prog-static" | grep -q libffdb && fail "prog-static should not need libffdb.so"
(cd "$work" && LD_LIBRARY_PATH=$prefix/lib ./prog-shared shared.ffdb) | grep -q "check: clean" \
  || fail "prog-shared did not run clean"
(cd "$work" && ./prog-static static.ffdb) | grep -q "check: clean" || fail "prog-static did not run clean"

# The shared library exports the public API and nothing of the layers below.
soname=$(readelf -d "$prefix/lib/libffdb.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[[ $soname =~ ^libffdb\.so\.[0-9]+$ ]] || fail "unexpected soname '$soname'"
[ -e "$prefix/lib/$soname" ] || fail "no $soname link"
internal=$(nm -D --defined-only "$prefix/lib/libffdb.so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^ffdb_' || true)
[ -z "$internal" ] || fail "libffdb.so exports internal symbols: $(echo $internal | head -c 200)"

# Tools and man pages.
"$prefix/bin/ffdb" check "$work/shared.ffdb" >/dev/null || fail "installed ffdb check failed"
"$prefix/bin/ffdb-server" --version >/dev/null || fail "installed ffdb-server does not start"
for page in 1/ffdb 1/ffdb-server 3/ffdb; do
  f=$prefix/share/man/man${page%%/*}/${page#*/}.${page%%/*}
  [ -f "$f" ] || fail "missing man page $f"
  MANWIDTH=80 man -l "$f" 2>&1 >/dev/null | grep . && fail "man reports problems in $f"
  true
done

# DESTDIR: the same tree under a staging root, pkg-config still naming the prefix.
make -C "$top" --no-print-directory install PREFIX=/opt/ffdb DESTDIR="$work/stage" >/dev/null
grep -q '^prefix=/opt/ffdb$' "$work/stage/opt/ffdb/lib/pkgconfig/ffdb.pc" || fail "DESTDIR install: wrong prefix in ffdb.pc"

# Uninstall leaves nothing but directories.
make -C "$top" --no-print-directory uninstall PREFIX="$prefix" >/dev/null
make -C "$top" --no-print-directory uninstall PREFIX=/opt/ffdb DESTDIR="$work/stage" >/dev/null
left=$(find "$prefix" "$work/stage" ! -type d)
[ -z "$left" ] || fail "uninstall left: $left"
echo "install-check: ok (shared + static builds outside the tree, soname $soname, man pages, DESTDIR, uninstall)"
