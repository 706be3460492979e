#!/bin/sh
# Scale-out benchmark (issue 11, docs/scale-out.md):
#   1. 1,000 pollers (wrk, 1,000 keep-alive connections, tests/bench/
#      scale_poll.lua: If-None-Match with the last head ETag, an archive
#      page every 20th request) for SCALE_SECONDS (default 10) against a
#      protected Subscriptions feed straight at the origin, then through
#      the shipped nginx configuration (deploy/nginx/feeds.conf): client
#      throughput and the requests that reached the origin, side by side.
#      An entry is appended every second during each run, so the head
#      changes as it does in production.
#   2. The deployment tests with 20 s of 50 pollers (make test runs 10 s):
#      the origin's cost through nginx and through Varnish.
#   3. R1 and R2 with the Cloud API follower reading Subscriptions through
#      the shipped nginx configuration, beside the same system with the
#      follower straight at Subscriptions (goal: p99 <= 100 ms).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/deploy.sh"

SECS=${SCALE_SECONDS:-10}
CONNS=${SCALE_CONNECTIONS:-1000}
command -v wrk >/dev/null || { echo "bench_scale: wrk is missing (mk/configure.sh bench)"; exit 1; }
command -v nginx >/dev/null || { echo "bench_scale: nginx is missing"; exit 1; }

# wrk needs a file descriptor per connection, and so do nginx and the origin.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

deploy_origin || { echo "bench_scale: the origin did not start"; exit 1; }
start_nginx_cache || { echo "bench_scale: nginx did not start"; exit 1; }

# run_pollers ID LABEL BASE: one wrk run; prints the figures line.
run_pollers() {
    id=$1; label=$2; base=$3
    (
        i=0
        while [ $i -lt "$SECS" ]; do sleep 1; append 1 >/dev/null; i=$((i + 1)); done
    ) &
    appender=$!
    r0=$(origin_requests)
    wrk -t 2 -c "$CONNS" -d "${SECS}s" --timeout 10s -s tests/bench/scale_poll.lua \
        "$base$FEED" -- "$FEED" "$TOKEN" >"$T/wrk-$id.out" 2>&1
    r1=$(origin_requests)
    wait $appender
    HEAD_POS=$((HEAD_POS + SECS))
    rps=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' "$T/wrk-$id.out")
    total=$(awk '/requests in/ { print $1 }' "$T/wrk-$id.out")
    errs=$(awk '/Socket errors|Non-2xx/ { printf "%s; ", $0 }' "$T/wrk-$id.out")
    p99=$(awk '/Latency/ && !done { print $2; done = 1 }' "$T/wrk-$id.out")
    statuses=$(grep '^statuses' "$T/wrk-$id.out" | cut -d' ' -f2-)
    origin=$((r1 - r0 - 1))
    printf '%-28s %9s req/s  %9s requests  origin: %8d requests (%d/s)  mean latency %s  %s %s\n' \
        "$label" "$rps" "$total" "$origin" $((origin / SECS)) "$p99" "$statuses" "$errs"
}

echo "1,000 pollers of a protected head (wrk -c $CONNS, ${SECS} s each, one append a second)"
run_pollers origin "straight at the origin" "$ORIGIN"
run_pollers nginx "through deploy/nginx" "$CACHE"
stop nginx
stop origin

echo "50 pollers for 20 s through each shipped cache (make test runs 10 s)"
for c in nginx varnish; do
    DEPLOY_SECONDS=20 sh "tests/integration/test_deploy_$c.sh" >"$T/deploy-$c.out" 2>&1
    grep -E '^# (nginx|varnish), 20 s|cost the origin' "$T/deploy-$c.out" | sed 's/^/  /'
    grep -q '^not ok' "$T/deploy-$c.out" && { echo "  (test_deploy_$c.sh failed)"; grep '^not ok' "$T/deploy-$c.out"; }
done

echo "R1/R2 with the Cloud API follower straight at Subscriptions (baseline)"
. "$(dirname "$0")/../integration/system.sh"
start_system 2 || { echo "bench_scale: the system did not start" >&2; exit 1; }
TRIALS=${TRIALS:-100}
"$ROOT/build/tests/system_latency" "$SUB" "$API" "$TRIALS" || exit 1
echo "R1/R2 with the Cloud API follower reading Subscriptions through deploy/nginx (goal: p99 <= 100 ms)"
ORIGIN_PORT=$SUB_PORT
start_nginx_cache -system || { echo "bench_scale: nginx did not start in front of the system"; exit 1; }
stop cloud-api-follow
start cloud-api-follow bin/cloud-api follow --db "$T/cloud-api.db" --feed "$CACHE/feeds/subscriptions" \
    --token "$TOKEN"
eventually 10 grep -q 'Prefer\|feeds/subscriptions' "$T/nginx-system/access.log" ||
    { echo "bench_scale: the follower does not read through nginx"; exit 1; }
"$ROOT/build/tests/system_latency" "$SUB" "$API" "$TRIALS" || exit 1
grep -c 'feeds/subscriptions' "$T/nginx-system/access.log" | sed 's/^/  requests of the follower through nginx: /'
