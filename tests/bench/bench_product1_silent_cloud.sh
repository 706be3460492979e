#!/bin/sh
# Product 1's pages while the Cloud API is silent (DESIGN.md section 7, R4):
# the latency of sign-in, the history (GET /analyses) and /status, 200 calls
# each, while a stand-in Cloud API accepts connections and never answers
# and a client keeps submitting texts (so the retry worker keeps calling
# it), against the same pages with a Cloud API that answers at once, in the
# same run. Goal: p99 under 100 ms with the silent Cloud API.
# P1_BENCH_CALLS (default 200) calls per page.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
. tests/integration/wait.sh
T=$(mktemp -d "${TMPDIR:-/tmp}/p1bench.XXXXXX")
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CALLS=${P1_BENCH_CALLS:-200}
S=tests/samples/subscriptions
EMAIL=ada@example.com
KEY=Q63wgyfW3F9D9HGMbqZ_KoSplEN57MtbYKAo_1hXoSM
FEED_PORT=$(build/tests/freeport)
build/tests/samplefeed --db "$T/subs.db" --feed subscriptions "$S/CustomerRegistered.xml" \
    "$S/UserAdded.xml" "$S/LoginKeyIssued.xml" "$S/CreditUpdated.xml" >/dev/null
build/tests/feedserve --db "$T/subs.db" --listen "127.0.0.1:$FEED_PORT" --feed subscriptions \
    2>>"$T/feed.log" &
PIDS="$PIDS $!"

wait_url() { wait_http "$1" || { echo "$1 did not answer"; exit 1; }; }

# signed_in URL: whether the sample user signs in to Product 1 at URL.
signed_in() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -c "$T/jar" "$1/login" \
        --data-urlencode "email=$EMAIL" --data-urlencode "login_key=$KEY")" = 303 ]
}

# p99 FILE: the 99th percentile of the seconds in FILE, in ms.
p99() { sort -n "$1" | awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.1f", a[i] * 1000 }'; }
p50() { sort -n "$1" | awk '{ a[NR] = $1 } END { i = int(NR * 0.5); if (i < 1) i = 1; printf "%.1f", a[i] * 1000 }'; }

# measure NAME MODE: Product 1 with a MODE stand-in Cloud API; writes
# $T/NAME.PAGE, one latency per line, for login, history and status.
measure() {
    name=$1
    cport=$(build/tests/freeport); pport=$(build/tests/freeport)
    python3 tests/tools/cloud_standin.py "$2" "$cport" 2>>"$T/cloud.log" &
    cloud=$!
    bin/product1 serve --listen "127.0.0.1:$pport" --db "$T/$name.db" \
        --cloud-api "http://127.0.0.1:$cport" --retry-max 1 2>>"$T/$name.log" &
    p1=$!
    bin/product1 follow --db "$T/$name.db" --feed "http://127.0.0.1:$FEED_PORT/feeds/subscriptions" \
        2>>"$T/$name-follow.log" &
    follow=$!
    PIDS="$PIDS $cloud $p1 $follow"
    P1=http://127.0.0.1:$pport
    wait_url "$P1/healthz"
    eventually 10 signed_in "$P1" || { echo "cannot sign in"; exit 1; }
    # A client that keeps submitting texts, so the worker keeps calling.
    ( while :; do curl -s -o /dev/null --max-time 5 -b "$T/jar" -H 'Accept: application/json' \
        "$P1/analyses" --data-urlencode "text=bench text"; sleep 0.2; done ) &
    submitter=$!
    : >"$T/$name.login"; : >"$T/$name.history"; : >"$T/$name.status"
    n=0
    while [ $n -lt "$CALLS" ]; do
        curl -s -o /dev/null -w '%{time_total}\n' --max-time 10 "$P1/login" \
            --data-urlencode "email=$EMAIL" --data-urlencode "login_key=$KEY" >>"$T/$name.login"
        curl -s -o /dev/null -w '%{time_total}\n' --max-time 10 -b "$T/jar" \
            -H 'Accept: application/json' "$P1/analyses" >>"$T/$name.history"
        curl -s -o /dev/null -w '%{time_total}\n' --max-time 10 "$P1/status" >>"$T/$name.status"
        n=$((n + 1))
    done
    kill "$submitter" "$p1" "$follow" "$cloud" 2>/dev/null
    wait "$submitter" "$p1" "$follow" "$cloud" 2>/dev/null
}

wait_url "http://127.0.0.1:$FEED_PORT/feeds/subscriptions"
measure answering fast
measure silent hole
echo "Product 1 pages, $CALLS calls each, a client submitting texts meanwhile, $(nproc) cores"
status=0
for page in login history status; do
    b=$(p99 "$T/answering.$page"); s=$(p99 "$T/silent.$page")
    echo "  $page: p50 $(p50 "$T/silent.$page") ms, p99 $s ms with the Cloud API silent;" \
        "p50 $(p50 "$T/answering.$page") ms, p99 $b ms with it answering (baseline)"
    awk -v s="$s" 'BEGIN { exit !(s < 100) }' || { echo "  goal missed: $page p99 >= 100 ms"; status=1; }
done
exit $status
