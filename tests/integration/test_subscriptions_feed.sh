#!/bin/sh
# Subscriptions as a producer and a consumer, against the real programs:
# the entries it publishes have the shape of its contract samples, the plain
# login key never reaches the database file, usage from a Cloud API `usage`
# feed is charged once and an overdraft locks the customer, months close
# once (by hand and by `serve` when a month has ended), and rebuilding the
# projections from the internal events gives the live projections.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
U="http://127.0.0.1:$PORT"
DB="$T/subs.db"
start subs bin/subscriptions serve --listen "127.0.0.1:$PORT" --db "$DB"
wait_http "$U/healthz" || { not_ok "server started" "$(cat "$T/subs.log")"; finish; }

# A story that publishes every type of the catalogue.
http POST "$U/customers" -d 'name=Acme' >/dev/null; C=$(json '$.id')
http POST "$U/customers" -d 'name=Team Co&plan=team' >/dev/null; C2=$(json '$.id')
http POST "$U/customers/$C/users" -d 'email=ada@example.com' >/dev/null
USER=$(json '$.user_id'); KEY1=$(json '$.key_id'); LOGIN1=$(json '$.login_key')
http POST "$U/customers/$C/users/$USER/keys" >/dev/null; LOGIN2=$(json '$.login_key')
http POST "$U/customers/$C2/users" -d 'email=bob@example.com' >/dev/null; LOGIN3=$(json '$.login_key')
http DELETE "$U/customers/$C/users/$USER/keys/$KEY1" >/dev/null
http POST "$U/customers/$C2/lock" >/dev/null
http POST "$U/customers/$C2/unlock" >/dev/null
http POST "$U/customers/$C/users" -d 'email=eve@example.com' >/dev/null; EVE=$(json '$.user_id')
expect_eq "remove a user" 204 "$(http DELETE "$U/customers/$C/users/$EVE")"

# --- the published entries have the shape of the samples
expect_eq "GET /feeds/subscriptions" 200 "$(http GET "$U/feeds/subscriptions")"
cp "$T/body" "$T/feed.xml"
build/tests/samplefeed --print "$T/feed.xml" | sort -u >"$T/emitted"
build/tests/samplefeed --print tests/samples/subscriptions/*.xml | sort -u >"$T/samples"
expect_eq "every sample type, version and field set is emitted" "" "$(comm -13 "$T/emitted" "$T/samples")"
expect_eq "nothing emitted that has no sample" "" "$(comm -23 "$T/emitted" "$T/samples")"
expect_eq "eight types in the catalogue" 8 "$(wc -l <"$T/samples" | tr -d ' ')"
check "UserAdded carries the key's SHA-256" grep -q "<keySha256>$(printf %s "$LOGIN2" | sha256sum | cut -d' ' -f1)</keySha256>" "$T/feed.xml"
check "CustomerLocked manual published" grep -q '<reason>manual</reason>' "$T/feed.xml"

# --- the plain login keys never reach the database file
sqlite3 "$DB" 'PRAGMA wal_checkpoint(PASSIVE)' >/dev/null 2>&1
for k in "$LOGIN1" "$LOGIN2" "$LOGIN3"; do
    [ -n "$k" ] || not_ok "a login key was handed out"
    if grep -a -q -F -- "$k" "$DB" "$DB-wal" "$DB-shm" 2>/dev/null; then
        not_ok "plain login key absent from the database files" "$k found"
    else
        ok "plain login key absent from the database files"
    fi
done

# --- usage from a Cloud API node's feed: charged once, overdraft locks
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
usage_entry() { # ID UNITS: a copy of the Cloud API's UsageRecorded sample for customer $C
    sed -e "s|<id>[^<]*</id>|<id>urn:uuid:$1</id>|" \
        -e "s|<customerId>[^<]*</customerId>|<customerId>$C</customerId>|" \
        -e "s|<units>[^<]*</units>|<units>$2</units>|" \
        -e "s|<windowStart>[^<]*</windowStart>|<windowStart>$NOW</windowStart>|" \
        tests/samples/usage/UsageRecorded.xml >"$T/usage-$1.xml"
    echo "$T/usage-$1.xml"
}
USAGE_DB="$T/usage.db"
build/tests/samplefeed --db "$USAGE_DB" --feed usage \
    "$(usage_entry 11111111-1111-4111-8111-000000000001 600)" \
    "$(usage_entry 11111111-1111-4111-8111-000000000002 401)" \
    tests/samples/usage/UsageRecorded.xml
expect_eq "usage feed made" 0 $?
UPORT=$(free_port)
start usage build/tests/feedserve --db "$USAGE_DB" --listen "127.0.0.1:$UPORT" --feed usage
wait_http "http://127.0.0.1:$UPORT/healthz"
start follow bin/subscriptions follow --db "$DB" --feed "http://127.0.0.1:$UPORT/feeds/usage"
balance_is() { http GET "$U/customers/$C" >/dev/null; [ "$(json '$.balance_cents')" = "$1" ]; }
check "usage charged to the balance" eventually 10 balance_is -1001
http GET "$U/customers/$C" >/dev/null
expect_eq "overdraft locks the customer" locked "$(json '$.status')"
expect_eq "lock reason overdraft" overdraft "$(json '$.lock_reason')"
expect_eq "current month's units" 1001 "$(json '$.current_month.units')"
expect_eq "current month's charges" 1001 "$(json '$.current_month.charges_cents')"
http GET "$U/feeds/subscriptions" >/dev/null
check "CustomerLocked overdraft published" grep -q '<reason>overdraft</reason>' "$T/body"
expect_eq "the sample's unknown customer is kept as unbilled" 1 "$(sqlite3 "$DB" 'select count(*) from unbilled_usage')"

# A restarted follower charges nothing twice; a new entry is charged.
stop follow
build/tests/samplefeed --db "$USAGE_DB" --feed usage "$(usage_entry 11111111-1111-4111-8111-000000000003 9)"
start follow bin/subscriptions follow --db "$DB" --feed "http://127.0.0.1:$UPORT/feeds/usage"
check "after a restart only the new entry is charged" eventually 10 balance_is -1010
sleep 0.3
check "and nothing more" balance_is -1010

# A payment back within the limit unlocks.
http POST "$U/customers/$C/payments" -d 'amount_cents=5' >/dev/null
expect_eq "a payment short of the limit keeps the lock" locked "$(json '$.status')"
http POST "$U/customers/$C/payments" -d 'amount_cents=5' >/dev/null
expect_eq "a payment back to -limit unlocks" active "$(json '$.status')"
http GET "$U/feeds/subscriptions" >/dev/null
check "CustomerUnlocked published" grep -q '<CustomerUnlocked' "$T/body"
stop follow

# --- close-month by hand: exactly once
MONTH=$(date -u +%Y-%m)
bin/subscriptions close-month --db "$DB" --month "$MONTH" >"$T/close1" 2>>"$T/close.log"
expect_eq "close-month exits 0" 0 $?
http GET "$U/customers/$C2/invoices" >/dev/null
expect_eq "team invoice: fee" 2900 "$(json '$[0].fee_cents')"
expect_eq "team invoice: month" "$MONTH" "$(json '$[0].month')"
http GET "$U/customers/$C/invoices" >/dev/null
expect_eq "payg invoice: usage units" 1010 "$(json '$[0].units')"
expect_eq "payg invoice: total" 1010 "$(json '$[0].total_cents')"
http GET "$U/customers/$C2" >/dev/null
expect_eq "fee charged to the balance" -2900 "$(json '$.balance_cents')"
BEFORE=$(sqlite3 "$DB" 'select count(*), sum(balance_cents) from customers, (select 1) ; select count(*) from invoices; select count(*) from domain_events')
bin/subscriptions close-month --db "$DB" --month "$MONTH" >"$T/close2" 2>>"$T/close.log"
expect_eq "closing again exits 0" 0 $?
check "closing again says nothing changed" grep -q 'already closed' "$T/close2"
expect_eq "closing again changes nothing" "$BEFORE" "$(sqlite3 "$DB" 'select count(*), sum(balance_cents) from customers, (select 1) ; select count(*) from invoices; select count(*) from domain_events')"
http GET "$U/customers/$C" >/dev/null
expect_eq "after closing, usage counts in the next month" "$(date -u -d "$(date -u +%Y-%m-15) +1 month" +%Y-%m)" "$(json '$.current_month.month')"
bin/subscriptions close-month --db "$DB" --month 2999-01 >/dev/null 2>&1
expect_eq "a month that has not started exits 2" 2 $?

# --- rebuild equals live
stop subs
dump() {
    for t in customers plan_periods users login_keys ledger monthly_usage invoices closed_months unbilled_usage; do
        echo "== $t"; sqlite3 "$DB" "select * from $t order by 1, 2"
    done
}
dump >"$T/live"
bin/subscriptions rebuild --db "$DB" >"$T/rebuild.out" 2>>"$T/rebuild.log"
expect_eq "rebuild exits 0" 0 $?
dump >"$T/rebuilt"
check "rebuilt projections equal the live ones" cmp -s "$T/live" "$T/rebuilt"
check "the projections are not empty" grep -q 2900 "$T/rebuilt"
check "rebuild reports the events" grep -q 'internal events' "$T/rebuild.out"

# --- serve closes an ended month by itself
PREV=$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%Y-%m)
sqlite3 "$DB" "update domain_events set data = json_set(data, '\$.month', '$PREV') where type = 'customer_registered' and customer_id = '$C2'"
bin/subscriptions rebuild --db "$DB" >/dev/null 2>&1
start subs2 bin/subscriptions serve --listen "127.0.0.1:$PORT" --db "$DB"
wait_http "$U/healthz"
month_invoiced() { [ "$(sqlite3 "$DB" "select count(*) from invoices where month = '$PREV' and customer_id = '$C2'")" = 1 ]; }
check "serve invoices an ended month" eventually 10 month_invoiced
expect_eq "and only customers registered by then" 0 "$(sqlite3 "$DB" "select count(*) from invoices where month = '$PREV' and customer_id = '$C'")"
stop subs2
# --- read-your-writes: right after a write's answer, the same client sees
# its entry in the head (its position is the head's), under a new ETag (the
# old one gets 200, not 304).
start subs3 bin/subscriptions serve --listen "127.0.0.1:$PORT" --db "$DB"
wait_http "$U/healthz"
ryw_ok=0
ryw_bad=""
etag='"none"'
curl -s -o "$T/head.xml" --max-time 10 "$U/feeds/subscriptions"
head=$(sed -n 's:.*<f\:head>\([0-9]*\)</f\:head>.*:\1:p' "$T/head.xml")
for i in $(seq 100); do
    curl -s -o /dev/null --max-time 10 -X POST "$U/customers" -d "name=ryw-$i"
    st=$(curl -s -o "$T/head.xml" -D "$T/head.h" -w '%{http_code}' --max-time 10 \
        -H "If-None-Match: $etag" "$U/feeds/subscriptions")
    new=$(grep -i '^etag:' "$T/head.h" | cut -d' ' -f2 | tr -d '\r')
    now=$(sed -n 's:.*<f\:head>\([0-9]*\)</f\:head>.*:\1:p' "$T/head.xml")
    # a registration publishes CustomerRegistered and CreditUpdated
    if [ "$st" = 200 ] && [ "$new" != "$etag" ] && [ "$now" = $((head + 2)) ]; then
        ryw_ok=$((ryw_ok + 1))
    else
        ryw_bad="write $i: HTTP $st"
    fi
    etag=$new
    head=$now
done
expect_eq "the head shows each of 100 writes at once, under a new ETag" "100" "$ryw_ok${ryw_bad:+ ($ryw_bad)}"

finish
