#!/bin/sh
# End to end, R3 and R4 (DESIGN.md section 1): usage served by the Cloud API
# is charged by Subscriptions unit for unit; each context is stopped in turn
# (SIGTERM and SIGKILL) while the others go on with all that does not need
# it; after a restart everything pending flows with no manual step, and the
# totals reconcile.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"

start_system 1 || { not_ok "the system starts"; finish; }
WINDOW_PLUS=8   # usage window (1 s) plus a few seconds

# text N: N bytes of text (N / 1000 + 1 units).
text() { head -c "$1" /dev/zero | tr '\0' w; }

C=$(new_customer Metered payg 1000000)
new_user "$C" meter@metered.example
K=$KEY
check "the key works" eventually 2 analyze_is 200 "$K"

# R3: every unit served is charged, exactly.
i=1
while [ $i -le 25 ]; do analyze "$K" "$(text $((i * 400)))" >/dev/null; i=$((i + 1)); done
SERVED=$(served_units "$K")
check "R3: $SERVED units served are charged exactly within the window plus a few seconds" \
    eventually $WINDOW_PLUS balance_is "$C" "-$SERVED"

# R4: Subscriptions down (SIGKILL). The API keeps serving known keys and
# metering; Product 1 keeps signing in.
stop subscriptions KILL
check "R4: Subscriptions down: the Cloud API accepts a known key" analyze_is 200 "$K"
analyze "$K" "$(text 5000)" >/dev/null
check "R4: Subscriptions down: Product 1 signs a known user in" login_is 303 meter@metered.example "$K"
sleep 2   # let a usage window close while Subscriptions is down
start_ctx subscriptions
SERVED=$(served_units "$K")
check "R4: Subscriptions back: usage served while it was down is charged exactly" \
    eventually $WINDOW_PLUS balance_is "$C" "-$SERVED"

# R4: Subscriptions stopped (SIGTERM) right after adding a user: the key
# reaches the Cloud API, at the latest once Subscriptions is back.
new_user "$C" late@metered.example
LATE=$KEY
stop subscriptions TERM
start_ctx subscriptions
check "R4: a key created just before Subscriptions stopped reaches the Cloud API" \
    eventually 8 analyze_is 200 "$LATE"

# R4: the Cloud API down (SIGTERM): Subscriptions goes on, Product 1 queues.
P=$(new_customer Product payg 1000000)
new_user "$P" pat@product.example
PK=$KEY
# Product 1's follower may still be backing off after the outages above.
check "Product 1 knows the new user once its follower is back from back-off" eventually 8 login_is 303 pat@product.example "$PK"
curl -s -o /dev/null -c "$T/jar" --data-urlencode email=pat@product.example --data-urlencode "login_key=$PK" "$P1/login"
stop cloud-api TERM
expect_eq "R4: Cloud API down: Product 1 queues an analysis (202)" 202 \
    "$(http POST "$P1/analyses" -b "$T/jar" -H 'Accept: application/json' -d 'text=hello while the API is down')"
new_user "$C" during@metered.example
DURING=$KEY
check "R4: Cloud API down: Subscriptions still adds users" test -n "$DURING"
check "R4: Cloud API down: Product 1 still shows the history" \
    sh -c "curl -s -b '$T/jar' -H 'Accept: application/json' '$P1/analyses' | grep -q queued"
start_ctx cloud-api
check "R4: Cloud API back: the queued analysis completes with no user action" eventually 15 \
    sh -c "curl -s -b '$T/jar' -H 'Accept: application/json' '$P1/analyses' | grep -q '\"done\"'"
check "R4: Cloud API back: a user added while it was down works" eventually 3 analyze_is 200 "$DURING"

# R4: the Cloud API killed (SIGKILL) in the middle of a burst of calls.
# Units of calls that got a 200 must all be charged; calls cut off by the
# kill got no answer and may or may not have been counted.
: >"$T/cut"
# burst NAME: calls of 2 units each until the Cloud API has been killed
# (at most 2,000). The two bursts run at once, so each keeps its answers
# in its own file (analyze's $T/body is shared): reading the other burst's
# half-written body lost a 200's units once.
burst() {
    n=0
    while [ $n -lt 2000 ] && [ ! -f "$T/killed" ]; do
        s=$(curl -s -o "$T/burst.$1" -w '%{http_code}' --max-time 40 \
            -H "Authorization: Bearer $K" --data-binary "$(text 1500)" "$API/api/v1/analyze")
        rc=$?
        if [ "$s" = 200 ]; then
            u=$(sqlite3 :memory: "select json_extract(readfile('$T/burst.$1'), '\$.units')")
            echo "$K ${u:-unreadable} burst" >>"$T/served"
        elif [ $rc = 7 ]; then
            : # refused: the API was down and nothing was sent
        elif [ "$s" != 401 ]; then
            echo 2 >>"$T/cut"
        fi
        n=$((n + 1))
    done
}
burst_calls() { [ "$(grep -c ' burst$' "$T/served")" -ge "$1" ]; }
burst 1 & B1=$!
burst 2 & B2=$!
# The kill lands in the middle of the bursts: after 20 answered calls.
check "the bursts are under way" eventually 10 burst_calls 20
stop cloud-api KILL
touch "$T/killed"
wait $B1 $B2
start_ctx cloud-api
check "the Cloud API serves again after SIGKILL" eventually 3 analyze_is 200 "$K"
check "every 200 of the bursts had a readable body" sh -c "! grep -q unreadable '$T/served'"
# Every key of the customer: LATE and DURING were each called too.
SERVED=$(( $(served_units "$K") + $(served_units "$LATE") + $(served_units "$DURING") ))
CUT=$(awk '{ s += $1 } END { print s + 0 }' "$T/cut")
sleep $WINDOW_PLUS
CHARGED=$(( - $(customer_field "$C" '$.balance_cents') ))
check "R4: after a SIGKILL of the Cloud API, every unit answered 200 is charged ($SERVED served, $CHARGED charged)" \
    test "$CHARGED" -ge "$SERVED"
check "R4: ... and nothing is charged twice (at most the $CUT units of calls cut off)" \
    test "$CHARGED" -le $((SERVED + CUT))

# R4: Product 1 down: the others go on.
stop product1 KILL
check "R4: Product 1 down: the Cloud API still serves" analyze_is 200 "$K"
check "R4: Product 1 down: Subscriptions still registers customers" new_customer Another
start_ctx product1
check "R4: Product 1 back: it signs users in" eventually 3 login_is 303 pat@product.example "$PK"

finish
