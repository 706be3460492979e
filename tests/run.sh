#!/bin/sh
# The whole test suite: every Check program, then every integration test.
# Ends with one line "N passed, N failed" and exits non-zero on any failure.
# TESTS=pattern runs only the programs and scripts whose name contains it.
# Each program and script has TEST_TIMEOUT seconds (default 600), and at the
# end no process the suite started may still be running.
#
# Quiet by default: one line per program or script; the whole output of
# each goes to build/test-logs/NAME.log, and the output of a failing one is
# also shown in full. VERBOSE=1 shows every output as it comes.
cd "$(dirname "$0")/.." || exit 2
LOGS=build/test-logs
mkdir -p "$LOGS"
verbose=${VERBOSE:-}
[ "$verbose" != 0 ] || verbose=""

# report NAME LOG OK: one line for a program or script; its whole log when
# it failed (or with VERBOSE=1).
report() {
    if [ -n "$verbose" ]; then
        cat "$2"
    elif [ "$3" != 1 ]; then
        echo "---- $1 failed; its output ($2):"
        grep -v '^$' "$2"
        echo "----"
    fi
    if [ "$3" = 1 ]; then echo "PASS $1"; else echo "FAIL $1"; fi
}
passed=0
failed=0
failures=""
pattern=${TESTS:-}
limit=${TEST_TIMEOUT:-600}
# Every process the suite starts inherits this mark, so the processes left
# behind can be told from others on the machine.
FEEDTEST_RUN="run-$$-$(date +%s)"
export FEEDTEST_RUN

for t in build/tests/check_*; do
    [ -x "$t" ] || continue
    case "$t" in *"$pattern"*) ;; *) continue ;; esac
    log="$LOGS/$(basename "$t").log"
    timeout -k 10 "$limit" "$t" >"$log" 2>&1
    rc=$?
    [ $rc -ne 124 ] || echo "$t: timed out after $limit s" >>"$log"
    line=$(grep -E '[0-9]+%: Checks: [0-9]+' "$log" | tail -1)
    if [ -z "$line" ]; then
        failed=$((failed + 1)); failures="$failures $t(crashed)"
        report "$t" "$log" 0
        continue
    fi
    n=$(printf '%s' "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    f=$(printf '%s' "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
    e=$(printf '%s' "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    passed=$((passed + n - f - e))
    failed=$((failed + f + e))
    if [ $((f + e)) -gt 0 ] || [ $rc -ne 0 ]; then
        failures="$failures $t"; report "$t" "$log" 0
    else
        report "$t ($n checks)" "$log" 1
    fi
done

for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    case "$t" in *"$pattern"*) ;; *) continue ;; esac
    log="$LOGS/$(basename "$t" .sh).log"
    timeout -k 10 "$limit" sh "$t" >"$log" 2>&1
    rc=$?
    [ $rc -ne 124 ] || echo "not ok - $t timed out after $limit s" >>"$log"
    ok=$(grep -c '^ok ' "$log")
    bad=$(grep -c '^not ok ' "$log")
    passed=$((passed + ok))
    failed=$((failed + bad))
    if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then
        failed=$((failed + 1)); echo "not ok - $t exited $rc" >>"$log"
    fi
    if [ $rc -ne 0 ] || [ "$bad" -gt 0 ]; then
        failures="$failures $t"; report "$t" "$log" 0
    else
        report "$t ($ok)" "$log" 1
    fi
done

# Processes of this run still alive (a test that did not clean up), other
# than this shell; given a few seconds to end, then reported and killed.
leftovers() {
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [ "$pid" != $$ ] || continue
        grep -qzx "FEEDTEST_RUN=$FEEDTEST_RUN" "$p/environ" 2>/dev/null || continue
        [ "$(cut -d' ' -f3 "$p/stat" 2>/dev/null)" != Z ] || continue
        echo "$pid"
    done
}
until=$(($(date +%s) + 5))
left=$(leftovers)
while [ -n "$left" ] && [ "$(date +%s)" -lt $until ]; do sleep 0.2; left=$(leftovers); done
if [ -n "$left" ]; then
    echo "not ok - processes left behind by the suite:"
    for pid in $left; do echo "#   $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120)"; done
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null
    failed=$((failed + 1)); failures="$failures (processes-left-behind)"
fi

[ -z "$failures" ] || echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ $((passed)) -gt 0 ]
