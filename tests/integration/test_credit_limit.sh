#!/bin/sh
# The credit limit holds (DESIGN.md section 7, credit.h), with the real
# programs: concurrent callers with 100 kB bodies (101 units) call until
# they are refused, and once every unit is charged the balance is checked
# against the bound. One node: the balance never ends below -credit_limit.
# Two nodes: never below -credit_limit - (2 - 1) * the credit left when the
# calls began. A payment restores access within 2 s; a 1 MiB body is past a
# fresh payg customer's credit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"

CALLERS=4
MAX_CALLS=40
head -c 100000 /dev/zero | tr '\0' a >"$T/100k"

# caller NAME KEY URL: calls until refused (at most MAX_CALLS times), one
# "STATUS UNITS" line per call in $T/calls.NAME.
caller() {
    _n=0
    while [ $_n -lt $MAX_CALLS ]; do
        _code=$(curl -s -o "$T/out.$1" -w '%{http_code}' --max-time 20 \
            -H "Authorization: Bearer $2" --data-binary "@$T/100k" "$3/api/v1/analyze")
        _units=0
        [ "$_code" = 200 ] && _units=$(sqlite3 :memory: "select json_extract(readfile('$T/out.$1'), '\$.units')")
        echo "$_code $_units" >>"$T/calls.$1"
        [ "$_code" = 403 ] && { cp "$T/out.$1" "$T/refusal.$1"; break; }
        _n=$((_n + 1))
    done
}

# served PREFIX: the units of every 200 answer of the callers named PREFIX*.
served() { cat "$T"/calls."$1"* 2>/dev/null | awk '$1 == 200 { s += $2 } END { print s + 0 }'; }
# refused PREFIX: how many callers named PREFIX* ended with a 403.
refused() { cat "$T"/calls."$1"* 2>/dev/null | awk '$1 == 403 { n++ } END { print n + 0 }'; }
# others PREFIX: answers other than 200 and 403.
others() { cat "$T"/calls."$1"* 2>/dev/null | awk '$1 != 200 && $1 != 403 { n++ } END { print n + 0 }'; }

start_system 1 || { not_ok "the system starts"; finish; }

# ---- one node -------------------------------------------------------------
C=$(new_customer One payg)
new_user "$C" one@credit.example
K1=$KEY
check "the key works" eventually 2 analyze_is 200 "$K1"
head -c 1048576 /dev/zero | tr '\0' a >"$T/1m"
expect_eq "a 1 MiB body (1,049 units) is past a fresh payg customer's 1,000 cents" 403 \
    "$(http POST "$API/api/v1/analyze" -H "Authorization: Bearer $K1" --data-binary "@$T/1m")"
expect_eq "the 403 names the credit limit" credit_limit "$(json '$.reason')"

pids=""
i=0
while [ $i -lt $CALLERS ]; do
    caller "one$i" "$K1" "$API" &
    pids="$pids $!"
    i=$((i + 1))
done
# shellcheck disable=SC2086 # one pid per word
wait $pids
ONE=$(( $(served one) + 1 ))   # the warm-up call of analyze_is: 1 unit
expect_eq "one node: every caller ends refused (403)" $CALLERS "$(refused one)"
expect_eq "one node: no other answer" 0 "$(others one)"
check "one node: the refusal says why (credit_limit)" grep -q credit_limit "$T/refusal.one0"
charged_one() { balance_is "$C" "-$ONE"; }
check "one node: every unit served is charged ($ONE units)" eventually 15 charged_one
balance=$(customer_field "$C" '$.balance_cents')
echo "# one node: $ONE units served, balance $balance, credit limit 1000"
check "one node: the balance is not below -credit_limit ($balance >= -1000)" [ "$balance" -ge -1000 ]
check "one node: the credit was used, not refused early (> 1000 - 101 served)" [ "$ONE" -gt 899 ]
expect_eq "one node: usage past the credit does not lock (403 instead)" active \
    "$(customer_field "$C" '$.status')"

expect_eq "a payment of 500 cents (200)" 200 "$(http POST "$SUB/customers/$C/payments" -d amount_cents=500)"
k1_big_ok() { [ "$(http POST "$API/api/v1/analyze" -H "Authorization: Bearer $K1" --data-binary "@$T/100k")" = 200 ]; }
check "a payment restores access within 2 s" eventually 2 k1_big_ok

# ---- two nodes ------------------------------------------------------------
API2_PORT=$(free_port)
API2=http://127.0.0.1:$API2_PORT
start cloud-api-2 bin/cloud-api serve --listen "127.0.0.1:$API2_PORT" --db "$T/cloud-api-2.db" \
    --feed-token "$TOKEN" --usage-window 1 --node node-2
wait_http "$API2/healthz"
start cloud-api-2-follow bin/cloud-api follow --db "$T/cloud-api-2.db" \
    --feed "$SUB/feeds/subscriptions" --token "$TOKEN"
start subscriptions-follow-2 bin/subscriptions follow --db "$T/subscriptions.db" \
    --feed "$API2/feeds/usage" --token "$TOKEN"

D=$(new_customer Two payg)
new_user "$D" two@credit.example
K2=$KEY
on_node() { [ "$(http POST "$2/api/v1/analyze" -H "Authorization: Bearer $1" --data-binary x)" = 200 ]; }
check "the key works on node 1" eventually 2 on_node "$K2" "$API"
check "the key works on node 2" eventually 2 on_node "$K2" "$API2"
WARM=2
pids=""
i=0
while [ $i -lt $CALLERS ]; do
    url=$API
    [ $((i % 2)) = 1 ] && url=$API2
    caller "two$i" "$K2" "$url" &
    pids="$pids $!"
    i=$((i + 1))
done
# shellcheck disable=SC2086 # one pid per word
wait $pids
TWO=$(( $(served two) + WARM ))
expect_eq "two nodes: every caller ends refused (403)" $CALLERS "$(refused two)"
expect_eq "two nodes: no other answer" 0 "$(others two)"
charged_two() { balance_is "$D" "-$TWO"; }
check "two nodes: every unit served is charged ($TWO units)" eventually 15 charged_two
balance=$(customer_field "$D" '$.balance_cents')
echo "# two nodes: $TWO units served, balance $balance, bound -1000 - (2 - 1) * 1000"
check "two nodes: the balance is not below -credit_limit - (N-1) * credit ($balance >= -2000)" \
    [ "$balance" -ge -2000 ]
finish
