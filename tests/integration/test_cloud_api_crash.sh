#!/bin/sh
# Metering that loses nothing: clients call the Cloud API in parallel, the
# server is killed with SIGKILL in the middle of the burst, stays down while
# a window closes, and is started again. The units published as
# UsageRecorded must cover every 200 answer (nothing lost) and exceed them by
# at most the calls that were in flight at the kill (committed, but their 200
# never sent: at most one per client); each window is published once, also
# the ones that closed while the server was down.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
API=http://127.0.0.1:$PORT
WINDOW=2
CLIENTS=6
KEY=crash-test-key

serve() {
    start api bin/cloud-api serve --listen "127.0.0.1:$PORT" --db "$T/api.db" \
        --usage-window $WINDOW --node crash-node
    wait_http "$API/healthz"
}
serve
# A credit no test run can spend (credit.h), as a CreditUpdated would give.
sqlite3 "$T/api.db" "insert into replica_customers(customer_id) values ('c1');
  insert into credit_use(customer_id, credit_left_cents, unit_price_cents)
  values ('c1', 1000000000000, 1);
  insert into replica_users(user_id, customer_id) values ('u1', 'c1');
  insert into replica_keys(key_sha256, key_id, user_id, customer_id)
  values ('$(printf %s $KEY | sha256sum | cut -d' ' -f1)', 'k1', 'u1', 'c1')"
for units in 1 2 3; do
    head -c $((units * 1000 - 1)) /dev/zero | tr '\0' x >"$T/body$units"
done

# client N UNITS: posts the UNITS-unit body until $T/stop exists, 25 calls
# per curl process, and writes one status code per call to $T/codes.N.UNITS.
client() {
    urls=""
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do
        urls="$urls -o /dev/null $API/api/v1/analyze"
    done
    while [ ! -f "$T/stop" ]; do
        # shellcheck disable=SC2086
        curl -s --max-time 10 -H "Authorization: Bearer $KEY" --data-binary "@$T/body$2" \
            -w '%{http_code}\n' $urls >>"$T/codes.$1.$2"
    done
}
pids=""
i=0
while [ $i -lt $CLIENTS ]; do
    client $i $((i % 3 + 1)) &
    pids="$pids $!"
    i=$((i + 1))
done

sleep 1
stop api KILL
closed_while_down() {
    sqlite3 "$T/api.db" "select count(*) from usage_units
                         where position is null and window_end <= $(date +%s)"
}
sleep $((WINDOW + 1))
check "some units were committed in a window that closed while the server was down" \
    [ "$(closed_while_down)" -gt 0 ]
serve
check "those windows are published right after the restart" \
    eventually 2 [ "$(closed_while_down)" = 0 ]
sleep 1
touch "$T/stop"
# shellcheck disable=SC2086
wait $pids

ok_units=0
ok_calls=0
refused=0
for f in "$T"/codes.*; do
    units=${f##*.}
    n=$(grep -c '^200$' "$f")
    ok_calls=$((ok_calls + n))
    ok_units=$((ok_units + n * units))
    refused=$((refused + $(grep -c '^000$' "$f")))
done
echo "# $ok_calls calls answered 200 ($ok_units units), $refused failed while the server was down"
check "calls were answered 200 before and after the kill" [ "$ok_calls" -gt 50 ]
check "calls failed while the server was down" [ "$refused" -gt 0 ]

# published: the units of every UsageRecorded entry on /feeds/usage.
published() {
    curl -s "$API/feeds/usage" | tr '<' '\n' | awk -F'>' '$1 == "units" { s += $2 } END { print s + 0 }'
}
all_closed_published() {
    [ "$(sqlite3 "$T/api.db" "select count(*) from usage_units where position is null")" = 0 ]
}
check "every window closes and is published" eventually $((WINDOW * 3)) all_closed_published
total=$(published)
echo "# UsageRecorded total: $total units; 200 answers: $ok_units units"
check "nothing lost: the usage feed holds at least the units of every 200" [ "$total" -ge "$ok_units" ]
check "nothing doubled: at most the calls in flight at the kill are over" \
    [ "$total" -le $((ok_units + CLIENTS * 3)) ]
expect_eq "the feed agrees with the stored totals" \
    "$(sqlite3 "$T/api.db" "select sum(units) from usage_units")" "$total"
expect_eq "one entry per window, customer, user and key" \
    "$(sqlite3 "$T/api.db" "select count(*) from usage_units")" \
    "$(curl -s "$API/feeds/usage" | grep -o '<UsageRecorded ' | wc -l | tr -d ' ')"
finish
