#!/bin/sh
# Cloud API end to end: the real follower applies Subscriptions' contract
# samples (served by feedserve) one story step at a time, and every status
# code path of POST /api/v1/analyze follows from the replica's state; the
# units of the 200 answers come out as UsageRecorded entries on /feeds/usage,
# a call repeated with the same Idempotency-Key counted once.
. "$(dirname "$0")/lib.sh"

S=tests/samples/subscriptions
KEY1=kmOH4d1Wx6m9SVZE9mcTz4tagUOh5hn0I0JIxYptLr8 # UserAdded; revoked later
KEY2=Q63wgyfW3F9D9HGMbqZ_KoSplEN57MtbYKAo_1hXoSM # LoginKeyIssued
SUBS_PORT=$(free_port)
API_PORT=$(free_port)
API=http://127.0.0.1:$API_PORT
FEED=http://127.0.0.1:$SUBS_PORT/feeds/subscriptions

append() { build/tests/samplefeed --db "$T/subs.db" --feed subscriptions "$@" >/dev/null; }
start_subs() {
    start subs build/tests/feedserve --db "$T/subs.db" --listen "127.0.0.1:$SUBS_PORT" \
        --feed subscriptions
    wait_http "$FEED"
}
# analyze KEY FILE: the status of an analyze call with that key and body.
analyze() { http POST "$API/api/v1/analyze" -H "Authorization: Bearer $1" --data-binary "@$2"; }
# analyze_once KEY IDEMPOTENCY-KEY FILE: the same with an Idempotency-Key.
analyze_once() {
    http POST "$API/api/v1/analyze" -H "Authorization: Bearer $1" -H "Idempotency-Key: $2" \
        --data-binary "@$3"
}
# status_is CODE KEY: succeeds when a call with KEY (a small body) gets CODE.
status_is() { [ "$(analyze "$2" "$T/small")" = "$1" ]; }
# position: the follower's position, from the replica's database.
position() { sqlite3 "$T/api.db" "select position from feed_followers" 2>/dev/null; }

printf 'Hello world\nsecond line' >"$T/small"
append "$S/CustomerRegistered.xml" "$S/UserAdded.xml" "$S/LoginKeyIssued.xml" \
    "$S/CreditUpdated.xml"
start_subs
start api bin/cloud-api serve --listen "127.0.0.1:$API_PORT" --db "$T/api.db" \
    --usage-window 1 --node node-a
wait_http "$API/healthz"
# A node whose replica is still being built in bulk (as a new node's is
# until it reaches the head: contexts/cloud-api/credentials_bulk.h) knows
# no key yet and says so with a 503, never a 401; the follower then finds
# the staging table, stages the samples and builds the replica at the head.
sqlite3 "$T/api.db" "CREATE TABLE replica_bulk (position INTEGER PRIMARY KEY,
    type INTEGER NOT NULL, customer_id TEXT, user_id TEXT, key_id TEXT, key_sha256 TEXT,
    a TEXT, b TEXT)"
expect_eq "a replica still being built: 503" 503 "$(analyze "$KEY1" "$T/small")"
check "the 503 says the node is catching up" grep -q "catching up" "$T/body"
start follow bin/cloud-api follow --db "$T/api.db" --feed "$FEED"
check "the follower builds the replica at the head" eventually 5 sh -c \
    "[ \"\$(sqlite3 '$T/api.db' \"select count(*) from sqlite_schema where name = 'replica_bulk'\")\" = 0 ]"

# ---- the replica applies each type; the key states follow -----------------
check "a key of UserAdded is accepted once replicated" eventually 5 status_is 200 "$KEY1"
check "a key of LoginKeyIssued is accepted" status_is 200 "$KEY2"
expect_eq "200 answers the figures" '{"characters":23,"words":4,"lines":2,"units":1}' \
    "$(analyze "$KEY2" "$T/small" >/dev/null; cat "$T/body")"
expect_eq "replica holds the customer of CustomerRegistered" "Example Ltd|payg" \
    "$(sqlite3 "$T/api.db" "select name, plan from replica_customers")"
expect_eq "replica holds the credit of CreditUpdated (node-1's position is not this node's)" \
    "958|1|0" "$(sqlite3 "$T/api.db" "select credit_left_cents, unit_price_cents, charged_through
                                      from credit_use where customer_id = 'c_5f1d0a9e3b7c4d21'")"

sed 's/UserAdded/SomethingNewV9/g' "$S/UserAdded.xml" >"$T/Unknown.xml"
append --fresh-ids "$T/Unknown.xml"
append "$S/LoginKeyRevoked.xml"
check "LoginKeyRevoked: the key gets 401" eventually 5 status_is 401 "$KEY1"
expect_eq "an unknown type is skipped, the follower goes on" 6 "$(position)"
expect_eq "revoked key: WWW-Authenticate names Bearer" Bearer "$(header WWW-Authenticate | cut -d' ' -f1)"
check "the other key still works" status_is 200 "$KEY2"
expect_eq "a call with an Idempotency-Key before the lock: 200" 200 \
    "$(analyze_once "$KEY2" before-lock "$T/small")"

append "$S/CustomerLocked.xml"
check "CustomerLocked: 403" eventually 5 status_is 403 "$KEY2"
expect_eq "403 says why" overdraft "$(json '$.reason')"
expect_eq "locked: a call repeated with its Idempotency-Key gets its stored 200" 200 \
    "$(analyze_once "$KEY2" before-lock "$T/small")"
expect_eq "locked: the stored 200 says it is replayed" true "$(header Idempotent-Replayed)"
expect_eq "locked: a new Idempotency-Key is refused" 403 \
    "$(analyze_once "$KEY2" after-lock "$T/small")"

# Subscriptions down: the replica keeps answering; what it missed flows later.
stop subs
append "$S/CustomerUnlocked.xml"
check "Subscriptions down: a locked key is still refused" status_is 403 "$KEY2"
start_subs
check "CustomerUnlocked (published while the follower could not reach it): 200" \
    eventually 10 status_is 200 "$KEY2"
stop subs
check "Subscriptions down: a valid key keeps working" status_is 200 "$KEY2"
start_subs
append "$S/UserRemoved.xml"
check "UserRemoved: 401" eventually 10 status_is 401 "$KEY2"
expect_eq "the follower reached the head" 9 "$(position)"

# ---- every other status path --------------------------------------------------
expect_eq "no Authorization header: 401" 401 \
    "$(http POST "$API/api/v1/analyze" --data-binary "@$T/small")"
expect_eq "no Authorization header: WWW-Authenticate: Bearer" 'Bearer realm="cloud-api"' \
    "$(header WWW-Authenticate)"
expect_eq "another scheme: 401" 401 \
    "$(http POST "$API/api/v1/analyze" -H "Authorization: Basic $KEY2" --data-binary "@$T/small")"
expect_eq "unknown key: 401" 401 "$(analyze not-a-key "$T/small")"
check "401 body is JSON saying what to fix" [ -n "$(json '$.error')" ]
head -c 1048577 /dev/zero | tr '\0' a >"$T/big"
expect_eq "body over 1 MiB: 413" 413 "$(analyze "$KEY2" "$T/big")"
expect_eq "GET on the route: 405" 405 "$(http GET "$API/api/v1/analyze")"
expect_eq "unknown route: 404" 404 "$(http POST "$API/api/v1/nothing" --data-binary "@$T/small")"
expect_eq "GET / explains the API" 200 "$(http GET "$API/")"
check "GET / shows a curl example" grep -q "curl -H 'Authorization: Bearer" "$T/body"
expect_eq "GET / for a browser is HTML" 200 "$(http GET "$API/" -H 'Accept: text/html')"
check "GET / HTML names the route" grep -q "/api/v1/analyze" "$T/body"
expect_eq "/status answers" 200 "$(http GET "$API/status")"
check "/status shows the follower of the subscriptions feed" grep -q "$FEED" "$T/body"
expect_eq "/metrics answers" 200 "$(http GET "$API/metrics")"
check "/metrics counts analyze calls" grep -q 'cloud_api_analyze_total{result="ok"}' "$T/body"

# ---- usage: the 200 answers, exactly, as UsageRecorded -------------------------
# A fresh key, and a known number of units: 1 + bytes/1000 per call.
sqlite3 "$T/api.db" "insert into replica_customers(customer_id) values ('c_usage');
  insert into credit_use(customer_id, credit_left_cents, unit_price_cents)
  values ('c_usage', 1000000, 1);
  insert into replica_users(user_id, customer_id) values ('u_usage', 'c_usage');
  insert into replica_keys(key_sha256, key_id, user_id, customer_id)
  values ('$(printf %s usage-key | sha256sum | cut -d' ' -f1)', 'k_usage', 'u_usage', 'c_usage')"
head -c 2500 /dev/zero | tr '\0' b >"$T/mid"
want=0
for f in small mid small mid mid; do
    code=$(analyze usage-key "$T/$f")
    [ "$code" = 200 ] && want=$((want + $(json '$.units')))
done
expect_eq "usage calls answered 200" 11 "$want"
expect_eq "the scheme is case-insensitive (RFC 7235)" 200 \
    "$(http POST "$API/api/v1/analyze" -H "Authorization: bearer  usage-key " --data-binary "@$T/small")"
want=$((want + 1))

# Idempotency-Key: a repeated call gets the same body, is charged once.
expect_eq "Idempotency-Key: the first call is answered" 200 \
    "$(analyze_once usage-key retry-1 "$T/mid")"
first=$(cat "$T/body")
want=$((want + $(json '$.units')))
expect_eq "the first call is not a replay" "" "$(header Idempotent-Replayed)"
expect_eq "the same Idempotency-Key again: 200" 200 "$(analyze_once usage-key retry-1 "$T/mid")"
expect_eq "the same Idempotency-Key again: the same body" "$first" "$(cat "$T/body")"
expect_eq "the same Idempotency-Key again: Idempotent-Replayed: true" true \
    "$(header Idempotent-Replayed)"
expect_eq "the same Idempotency-Key with another body: 422" 422 \
    "$(analyze_once usage-key retry-1 "$T/small")"
check "the 422 says to use a new key" eval 'json "\$.error" | grep -q "new key"'
expect_eq "after the 422 the first body still gets its answer" "$first" \
    "$(analyze_once usage-key retry-1 "$T/mid" >/dev/null; cat "$T/body")"
expect_eq "any visible ASCII is a valid Idempotency-Key" 200 \
    "$(analyze_once usage-key 'order/42{#1}!' "$T/small")"
want=$((want + 1))
expect_eq "a malformed Idempotency-Key: 400" 400 "$(analyze_once usage-key 'not valid!' "$T/small")"
check "the 400 says what a valid Idempotency-Key is" \
    eval 'json "\$.error" | grep -q Idempotency-Key'
too_long=$(head -c 256 /dev/zero | tr '\0' k)
expect_eq "an Idempotency-Key over 255 characters: 400" 400 \
    "$(analyze_once usage-key "$too_long" "$T/small")"
# Another user of the customer, same Idempotency-Key: another call, charged.
sqlite3 "$T/api.db" "insert into replica_users(user_id, customer_id) values ('u_usage2', 'c_usage');
  insert into replica_keys(key_sha256, key_id, user_id, customer_id)
  values ('$(printf %s usage-key-2 | sha256sum | cut -d' ' -f1)', 'k_usage2', 'u_usage2', 'c_usage')"
expect_eq "another login key with the same Idempotency-Key: 200" 200 \
    "$(analyze_once usage-key-2 retry-1 "$T/small")"
expect_eq "another login key with the same Idempotency-Key: not a replay" "" \
    "$(header Idempotent-Replayed)"
want=$((want + $(json '$.units')))
# Eight identical calls at once: all answered alike, one charged.
race_pids=""
for i in 1 2 3 4 5 6 7 8; do
    curl -s -o "$T/race.$i" -w '%{http_code}' --max-time 40 -H "Authorization: Bearer usage-key" \
        -H "Idempotency-Key: race-1" --data-binary "@$T/mid" "$API/api/v1/analyze" \
        >"$T/race.$i.code" &
    race_pids="$race_pids $!"
done
# shellcheck disable=SC2086 # one pid per word
wait $race_pids
expect_eq "eight identical calls at once: all 200" 200200200200200200200200 \
    "$(cat "$T"/race.?.code)"
expect_eq "eight identical calls at once: one body" 1 \
    "$(cat "$T"/race.? | sort -u | wc -l | tr -d ' ')"
want=$((want + 3))
# usage_total: the units of every UsageRecorded of customer c_usage in the feed.
usage_total() {
    curl -s "$API/feeds/usage" | tr '<' '\n' | awk -F'>' '
        $1 == "UsageRecorded xmlns=\"\" version=\"1\"" { n = 0; c = "" }
        $1 == "customerId" { c = $2 }
        $1 == "units" { n = $2 }
        $1 == "/UsageRecorded" && c == "c_usage" { s += n }
        END { print s + 0 }'
}
units_published() { [ "$(usage_total)" = "$want" ]; }
check "UsageRecorded units of the window equal the 200 answers'" eventually 5 units_published
check "entries name this node" eval 'curl -s "$API/feeds/usage" | grep -q "<node>node-a</node>"'
expect_eq "every usage row is published once" \
    "$(sqlite3 "$T/api.db" "select count(*) from usage_units")" \
    "$(sqlite3 "$T/api.db" "select count(distinct position) from usage_units where position is not null")"
finish
