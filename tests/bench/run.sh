#!/bin/sh
# make bench: every benchmark, each printing its figures beside the baseline
# measured in the same run. BENCH=pattern runs only the matching ones.
cd "$(dirname "$0")/../.." || exit 2
status=0
for b in tests/bench/bench_*.sh; do
    [ -f "$b" ] || continue
    case "$b" in *"${BENCH:-}"*) ;; *) continue ;; esac
    echo "== $b"
    sh "$b" || { echo "FAILED: $b"; status=1; }
done
exit $status
