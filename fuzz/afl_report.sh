#!/usr/bin/env bash
# afl_report.sh OUT HARNESS... — summarise afl-fuzz runs under OUT/<harness>/
# (execs, CPU time, corpus, coverage, crashes, hangs). Exits 1 if any run saved
# a crash; hangs are reported loudly but do not fail (a loaded CI machine can
# make a slow input look hung: replay it with build-asan/fuzz/<h>-replay).
out=$1; shift
fail=0
for h in "$@"; do
  stats=$out/$h/default/fuzzer_stats
  if [ ! -f "$stats" ]; then
    echo "fuzz $h: no fuzzer_stats (afl-fuzz did not run; see $out/$h.log)"
    continue
  fi
  get() { sed -n "s/^$1 *: *//p" "$stats"; }
  crashes=$(find "$out/$h/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
  hangs=$(find "$out/$h/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
  echo "fuzz $h: $(get execs_done) execs in $(get run_time) s ($(get execs_per_sec)/s)," \
       "corpus $(get corpus_count), coverage $(get bitmap_cvg), edges $(get edges_found)," \
       "stability $(get stability), crashes $crashes, hangs $hangs"
  if [ "$crashes" -gt 0 ]; then
    echo "fuzz $h: CRASHES FOUND:"; ls "$out/$h/default/crashes" | grep '^id:'
    echo "  reproduce: make fuzz-replay, then build-asan/fuzz/$h-replay FILE;"
    echo "  once fixed, keep the input in fuzz/regress/$h/. The first one, base64:"
    first=$(find "$out/$h/default/crashes" -type f -name 'id:*' | sort | head -1)
    if [ "$(stat -c %s "$first")" -le 16384 ]; then base64 -w 0 "$first"; echo; else echo "  (over 16 KiB: not printed)"; fi
    fail=1
  fi
  if [ "$hangs" -gt 0 ]; then
    echo "fuzz $h: WARNING: $hangs hang(s) saved in $out/$h/default/hangs — replay them"
  fi
done
exit $fail
