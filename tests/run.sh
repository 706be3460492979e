#!/bin/sh
# The whole test suite: every Check program, then every integration test.
# Ends with one line "N passed, N failed" and exits non-zero on any failure.
# TESTS=pattern runs only the programs and scripts whose name contains it.
cd "$(dirname "$0")/.." || exit 2
passed=0
failed=0
failures=""
pattern=${TESTS:-}

for t in build/tests/check_*; do
    [ -x "$t" ] || continue
    case "$t" in *"$pattern"*) ;; *) continue ;; esac
    echo "== $t"
    out=$("$t" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -v '^$'
    line=$(printf '%s\n' "$out" | grep -E '[0-9]+%: Checks: [0-9]+' | tail -1)
    if [ -z "$line" ]; then
        failed=$((failed + 1)); failures="$failures $t(crashed)"
        continue
    fi
    n=$(printf '%s' "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    f=$(printf '%s' "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
    e=$(printf '%s' "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    passed=$((passed + n - f - e))
    failed=$((failed + f + e))
    if [ $((f + e)) -gt 0 ] || [ $rc -ne 0 ]; then failures="$failures $t"; fi
done

for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    case "$t" in *"$pattern"*) ;; *) continue ;; esac
    echo "== $t"
    log=$(mktemp)
    sh "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    ok=$(grep -c '^ok ' "$log")
    bad=$(grep -c '^not ok ' "$log")
    rm -f "$log"
    passed=$((passed + ok))
    failed=$((failed + bad))
    if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then
        failed=$((failed + 1)); echo "not ok - $t exited $rc"
    fi
    if [ $rc -ne 0 ] || [ "$bad" -gt 0 ]; then failures="$failures $t"; fi
done

[ -z "$failures" ] || echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ $((passed)) -gt 0 ]
