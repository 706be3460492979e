# wait.sh: waiting for a condition with a deadline in wall-clock seconds,
# never a fixed sleep. Sourced by lib.sh, and by the benchmarks that keep
# their own set-up (they do not source lib.sh).

# wait_http URL [SECONDS]: waits until URL answers at all (any status), for
# at most SECONDS (default 10) of wall-clock time.
wait_http() {
    _wh_until=$(($(date +%s) + ${2:-10}))
    while :; do
        curl -s -o /dev/null --max-time 1 "$1" && return 0
        [ "$(date +%s)" -le $_wh_until ] || break
        sleep 0.05
    done
    echo "# $1 did not answer" >&2
    return 1
}

# eventually SECONDS CMD...: retries CMD until it succeeds or SECONDS of
# wall-clock time have passed (however long each try takes).
eventually() {
    _ev_until=$(($(date +%s) + $1)); shift
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ "$(date +%s)" -le $_ev_until ] || return 1
        sleep 0.05
    done
}
