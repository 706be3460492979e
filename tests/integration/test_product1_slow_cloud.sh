#!/bin/sh
# Product 1 while the Cloud API is silent (DESIGN.md section 7, R4): with a
# listener that accepts connections and never answers, and then with one
# that answers after 30 s, POST /analyses answers 202 (the text is kept and
# queued) instead of waiting, and sign-in, the history and /status keep
# answering. When a Cloud API that answers at once takes the port, the
# retry worker finishes every queued analysis with no user action. Times are
# not asserted here: `make bench` measures the pages' latency (docs/benchmarks.md).
. "$(dirname "$0")/lib.sh"

SAMPLES=tests/samples/subscriptions
EMAIL=ada@example.com
KEY2=Q63wgyfW3F9D9HGMbqZ_KoSplEN57MtbYKAo_1hXoSM   # LoginKeyIssued
FEED_PORT=$(free_port); HOLE_PORT=$(free_port); P1_PORT=$(free_port)
FEED=http://127.0.0.1:$FEED_PORT/feeds/subscriptions
P1=http://127.0.0.1:$P1_PORT

# The stand-in Cloud API (tests/tools/cloud_standin.py): "hole" accepts and
# never answers, "slow" answers 200 after 30 s, "fast" answers 200 at once.
cloud() { start cloud python3 tests/tools/cloud_standin.py "$1" "$HOLE_PORT"; }
cloud_ready() { curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$HOLE_PORT/" ; [ $? != 7 ]; }

build/tests/samplefeed --db "$T/subscriptions.db" --feed subscriptions "$SAMPLES/CustomerRegistered.xml" \
    "$SAMPLES/UserAdded.xml" "$SAMPLES/LoginKeyIssued.xml" "$SAMPLES/CreditUpdated.xml" >/dev/null
start feed build/tests/feedserve --db "$T/subscriptions.db" --listen "127.0.0.1:$FEED_PORT" \
    --feed subscriptions
wait_http "$FEED"
cloud hole
check "the black hole listens" eventually 5 cloud_ready
start product1 bin/product1 serve --listen "127.0.0.1:$P1_PORT" --db "$T/product1.db" \
    --cloud-api "http://127.0.0.1:$HOLE_PORT" --retry-max 1
wait_http "$P1/healthz"
start product1-follow bin/product1 follow --db "$T/product1.db" --feed "$FEED"

# p1 ARGS...: a call to Product 1 that gives up after 5 s (a page that waits
# on the Cloud API's silence would show as 000).
p1() { curl -s -o "$T/body" -w '%{http_code}' --max-time 5 "$@"; }
login() { p1 -c "$T/$1" "$P1/login" --data-urlencode "email=$EMAIL" --data-urlencode "login_key=$KEY2"; }
login_ok() { [ "$(login jar)" = 303 ]; }
submit() { p1 -b "$T/jar" -H 'Accept: application/json' "$P1/analyses" --data-urlencode "text=$1"; }
pages_answer() { # LABEL: sign-in, history (JSON and page) and /status all answer
    expect_eq "$1: sign-in answers (303)" 303 "$(login jar2)"
    expect_eq "$1: the history answers (200)" 200 \
        "$(p1 -b "$T/jar" -H 'Accept: application/json' "$P1/analyses")"
    expect_eq "$1: the user's page answers (200)" 200 "$(p1 -b "$T/jar" -H 'Accept: text/html' "$P1/")"
    expect_eq "$1: /status answers (200)" 200 "$(p1 "$P1/status")"
}

check "the sample user signs in" eventually 5 login_ok
# ---- a Cloud API that accepts and never answers -------------------------------
expect_eq "black hole: POST /analyses answers 202" 202 "$(submit 'first text')"
expect_eq "... the analysis is queued" queued "$(json '$.status')"
pages_answer "black hole"
expect_eq "black hole: the next POST /analyses answers 202 too" 202 "$(submit 'second text')"
pages_answer "black hole, with the worker calling it"

# ---- a Cloud API that answers after 30 s --------------------------------------
# (Product 1 restarted, so that it does not know the Cloud API was silent
# and the first submission really waits on this one, within its budget.)
stop cloud
cloud slow
check "the slow Cloud API listens" eventually 5 cloud_ready
stop product1
start product1 bin/product1 serve --listen "127.0.0.1:$P1_PORT" --db "$T/product1.db" \
    --cloud-api "http://127.0.0.1:$HOLE_PORT" --retry-max 1
wait_http "$P1/healthz"
expect_eq "signed in again after the restart" 303 "$(login jar)"
expect_eq "slow: POST /analyses answers 202" 202 "$(submit 'third text')"
pages_answer "slow"

# ---- the Cloud API answers again: the worker finishes everything ---------------
stop cloud
cloud fast
all_done() {
    [ "$(curl -s -b "$T/jar" -H 'Accept: application/json' "$P1/analyses" | grep -o '"status":"done"' | wc -l)" = 3 ]
}
check "once it answers, the worker finishes all three analyses" eventually 30 all_done
finish
