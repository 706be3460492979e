#!/bin/sh
# fuzz.sh BUILD SECONDS: runs every harness in BUILD/fuzzers for SECONDS,
# starting from its seed corpus (tests/fuzz/corpus/NAME, left unchanged: new
# inputs go to BUILD/corpus/NAME). A crash leaves its input in
# BUILD/artifacts/ and makes the run fail. Ends with one summary line.
set -u
cd "$(dirname "$0")/.." || exit 2
build=$1
seconds=$2
passed=0
failed=0
mkdir -p "$build/artifacts"
for f in "$build"/fuzzers/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f" | sed 's/^fuzz_//')
    mkdir -p "$build/corpus/$name"
    echo "== $name ($seconds s)"
    if timeout -k 10 $((seconds + 60)) "$f" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/artifacts/$name-" "$build/corpus/$name" "tests/fuzz/corpus/$name" \
        >"$build/$name.log" 2>&1; then
        grep -E '^(#[0-9]+.*DONE|Done)' "$build/$name.log" | tail -1
        passed=$((passed + 1))
    else
        tail -n 30 "$build/$name.log"
        echo "not ok - fuzz_$name found a failure (input in $build/artifacts/)"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
