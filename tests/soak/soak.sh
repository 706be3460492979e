#!/bin/sh
# soak.sh - the chaos soak (docs/soak.md): the whole system with two Cloud
# API nodes under steady load while a chaos loop SIGKILLs a random process
# and restarts it, then an exact reconciliation of what the clients were
# answered against what the nodes metered and published and what
# Subscriptions charged. `make soak` runs it with the long settings;
# tests/integration/test_soak_short.sh runs it with small ones in `make test`.
#
# Settings (environment):
#   SOAK_KILLS    SIGKILLs to make (default 1000)
#   SOAK_MIN_MS   shortest pause between two kills, ms (default 200)
#   SOAK_MAX_MS   longest pause between two kills, ms (default 2000)
#   SOAK_WINDOW   the Cloud API nodes' --usage-window, seconds (default 1)
#   SOAK_PACE_MS  each load thread's pause between two calls, ms (default 5)
#   SOAK_TIMEOUT  the whole run's limit, seconds (default: from the kills)
#   SOAK_OUT      where the table, the kills, the journal and the programs'
#                 logs of the last run are kept (default build/soak)
#
# Prints "ok - " / "not ok - " lines (tests/run.sh counts them) around the
# table, and exits non-zero when a check failed.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/system.sh"

KILLS=${SOAK_KILLS:-1000}
MIN_MS=${SOAK_MIN_MS:-200}
MAX_MS=${SOAK_MAX_MS:-2000}
WINDOW=${SOAK_WINDOW:-1}
# Each kill costs its pause and a restart; set-up and settling a few minutes.
LIMIT=${SOAK_TIMEOUT:-$((240 + KILLS * (MAX_MS + 1500) / 1000))}
OUT=${SOAK_OUT:-build/soak}
LOAD_DIR=$T/load
mkdir -p "$LOAD_DIR" "$OUT"
(cd "$OUT" && rm -rf table.txt kills.txt self-exits.txt calls.tsv.gz events.jsonl customers.json \
    analyses.json logs)

# Debian's python3 (the test packages), as test_feed_python.sh takes it.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3 || echo python3); fi
ms_now() { date +%s%3N; }
T0=$(ms_now)
say() { echo "# [$(( ($(ms_now) - T0) / 1000 )) s] $*"; }

# The overall limit: a watchdog stops this script, whose exit stops
# everything it started.
trap 'not_ok "the soak finished within its limit of $LIMIT s"; exit 1' TERM
start watchdog sh -c "sleep $LIMIT; kill -TERM $$"

# The nine processes: the six of system.sh, and a second Cloud API node with
# its own database, credential follower and usage feed, followed by a
# Subscriptions usage follower of its own.
PROCS="subscriptions subscriptions-follow cloud-api cloud-api-follow product1 product1-follow
cloud-api-2 cloud-api-2-follow subscriptions-follow-2"

# soak_start NAME: starts one of them and, for a server, waits until it answers.
soak_start() {
    case "$1" in
    cloud-api-2)
        start "$1" bin/cloud-api serve --listen "127.0.0.1:$API2_PORT" --db "$T/cloud-api-2.db" \
            --feed-token "$TOKEN" --usage-window "$WINDOW" --node node-2
        wait_http "$API2/healthz" ;;
    cloud-api-2-follow)
        start "$1" bin/cloud-api follow --db "$T/cloud-api-2.db" --feed "$SUB/feeds/subscriptions" \
            --token "$TOKEN" ;;
    subscriptions-follow-2)
        start "$1" bin/subscriptions follow --db "$T/subscriptions.db" --feed "$API2/feeds/usage" \
            --token "$TOKEN" ;;
    *) start_ctx "$1" ;;
    esac
}

# A random number from the kernel.
rand() { od -An -tu4 -N4 /dev/urandom | tr -d ' \n'; }

# check_running: every process runs; one that ended although nobody killed it
# is recorded in $T/self-exits with its exit status and started again.
check_running() {
    for _p in $PROCS; do
        _pid=$(pid_of "$_p")
        kill -0 "$_pid" 2>/dev/null && continue
        wait "$_pid"
        _rc=$?
        echo "$(ms_now) $_p exited on its own with status $_rc" >>"$T/self-exits"
        say "$_p exited on its own with status $_rc; its log ends:"
        tail -n 5 "$T/$_p.log" | sed 's/^/#   /'
        rm -f "$PIDS_DIR/$_p"
        soak_start "$_p" || echo "$(ms_now) $_p could not be started again" >>"$T/self-exits"
    done
}

say "soak: $KILLS kills, one every $MIN_MS-$MAX_MS ms, usage window $WINDOW s, limit $LIMIT s"
start_system "$WINDOW" || { not_ok "the system starts"; finish; }
API2_PORT=$(free_port)
API2=http://127.0.0.1:$API2_PORT
for p in cloud-api-2 cloud-api-2-follow subscriptions-follow-2; do
    soak_start "$p" || { not_ok "the second Cloud API node starts"; finish; }
done
: >"$T/self-exits"
: >"$T/kills"

start load "$PY" tests/soak/load.py run --dir "$LOAD_DIR" --sub "$SUB" --api "$API" \
    --api2 "$API2" --p1 "$P1" --pace-ms "${SOAK_PACE_MS:-5}"
LOAD_PID=$(pid_of load)
ready() { [ -f "$LOAD_DIR/ready" ]; }
if ! eventually 60 ready; then
    not_ok "the load generator sets up its customers and users" "$(tail -n 5 "$T/load.log")"
    finish
fi
say "load running; chaos starts"

# The chaos loop: a random process every MIN_MS-MAX_MS ms, SIGKILLed and
# started again at once.
kills=0
ROUND=""
restart_failures=0
while [ "$kills" -lt "$KILLS" ]; do
    pause=$((MIN_MS + $(rand) % (MAX_MS - MIN_MS + 1)))
    sleep "$((pause / 1000)).$(printf '%03d' $((pause % 1000)))"
    kill -0 "$LOAD_PID" 2>/dev/null || { not_ok "the load generator kept running" \
        "$(tail -n 5 "$T/load.log")"; finish; }
    check_running
    # The victims come in rounds: each round is the nine in a random order,
    # so that every process is killed about as often as the others.
    [ -n "$ROUND" ] || ROUND=$(for p in $PROCS; do echo "$(rand) $p"; done | sort -n | cut -d' ' -f2)
    victim=$(echo "$ROUND" | head -n 1)
    ROUND=$(echo "$ROUND" | sed 1d)
    stop "$victim" KILL
    echo "$(ms_now) $victim" >>"$T/kills"
    soak_start "$victim" || restart_failures=$((restart_failures + 1))
    kills=$((kills + 1))
    [ $((kills % 100)) -ne 0 ] || say "$kills kills; $(wc -l <"$LOAD_DIR/calls.tsv") calls so far"
done
check_running
say "chaos over after $kills kills; settling"
expect_eq "every killed process started again at once" 0 "$restart_failures"

# Settle: the load generator stops calling, finishes its idempotent calls
# and waits for Product 1's queue; then the reconciliation waits for every
# window to be published and charged.
touch "$LOAD_DIR/stop"
load_done() { ! kill -0 "$LOAD_PID" 2>/dev/null; }
eventually 240 load_done || not_ok "the load generator settles within 240 s"
wait "$LOAD_PID"
load_rc=$?
[ -f "$LOAD_DIR/done" ] || { not_ok "the load generator settled" "exit status $load_rc: \
$(tail -n 5 "$T/load.log")"; finish; }

echo
echo "Kills: $kills SIGKILLs in $(( ($(ms_now) - T0) / 1000 )) s, by process:"
awk '{ n[$2]++ } END { for (p in n) printf "  %-24s %d\n", p, n[p] }' "$T/kills" | sort
"$PY" tests/soak/load.py reconcile --dir "$LOAD_DIR" --sub "$SUB" --api "$API" --api2 "$API2" \
    --p1 "$P1" --db1 "$T/cloud-api.db" --db2 "$T/cloud-api-2.db" --token "$TOKEN" \
    | tee "$OUT/table.txt"
# tee's status hides the reconciliation's: the lines it printed say it all.
grep -q '^not ok ' "$OUT/table.txt" && FAILED=1
grep -q '^ok ' "$OUT/table.txt" || not_ok "the reconciliation ran"

check_running
if [ -s "$T/self-exits" ]; then
    not_ok "no process exited on its own (killed ones were started again by the chaos loop)" \
        "$(cat "$T/self-exits" | tr '\n' ';')"
else
    ok "no process exited on its own during $kills kills: every follower kept following"
fi
[ "$kills" -ge "$KILLS" ] && ok "the chaos loop made $kills SIGKILLs"

cp "$T/kills" "$OUT/kills.txt"
cp "$T/self-exits" "$OUT/self-exits.txt"
gzip -c "$LOAD_DIR/calls.tsv" >"$OUT/calls.tsv.gz"
cp "$LOAD_DIR/events.jsonl" "$LOAD_DIR/customers.json" "$LOAD_DIR/analyses.json" "$OUT/"
mkdir -p "$OUT/logs"
for log in "$T"/*.log; do gzip -c "$log" >"$OUT/logs/$(basename "$log").gz"; done
say "soak over; table, kills, journal and logs in $OUT/"
finish
