#!/bin/sh
# The Cloud API with the real Subscriptions (DESIGN.md section 1): a key
# created in Subscriptions is accepted at once (R1), the calls are charged to
# the customer's balance through the usage feed (R3), and a lock refuses the
# key (R2). Each direction runs its own follower, as in `make run`.
. "$(dirname "$0")/lib.sh"

SP=$(free_port)
CP=$(free_port)
SUBS=http://127.0.0.1:$SP
API=http://127.0.0.1:$CP

start subs bin/subscriptions serve --listen "127.0.0.1:$SP" --db "$T/subs.db"
start api bin/cloud-api serve --listen "127.0.0.1:$CP" --db "$T/api.db" --usage-window 1 \
    --node sys-node
wait_http "$SUBS/healthz" && wait_http "$API/healthz"
start api-follow bin/cloud-api follow --db "$T/api.db" --feed "$SUBS/feeds/subscriptions"
start subs-follow bin/subscriptions follow --db "$T/subs.db" --feed "$API/feeds/usage"

expect_eq "customer registered" 201 "$(http POST "$SUBS/customers" -d name=Acme)"
CID=$(json '$.id')
expect_eq "user added" 201 "$(http POST "$SUBS/customers/$CID/users" -d email=ada@example.com)"
KEY=$(json '$.login_key')
call() { http POST "$API/api/v1/analyze" -H "Authorization: Bearer $KEY" --data-binary "$1"; }
accepted() { [ "$(call 'hello')" = 200 ]; }
check "R1: the new key is accepted by the Cloud API (bound 5 s)" eventually 5 accepted
call 'hello world' >/dev/null
call "$(head -c 1500 /dev/zero | tr '\0' a)" >/dev/null
# 1 + 1 + 2 units answered 200 (plus the first accepted call: 1 unit)
units_charged() {
    curl -s "$SUBS/customers/$CID" >"$T/customer"
    [ "$(sqlite3 :memory: "select json_extract(readfile('$T/customer'), '\$.current_month.units')")" = 4 ]
}
check "R3: the units reach the customer's month in Subscriptions" eventually 10 units_charged
expect_eq "R3: charged to the balance" -4 \
    "$(sqlite3 :memory: "select json_extract(readfile('$T/customer'), '\$.balance_cents')")"
expect_eq "lock" 200 "$(http POST "$SUBS/customers/$CID/lock")"
refused() { [ "$(call 'x')" = 403 ]; }
check "R2: the locked customer's key gets 403 (bound 5 s)" eventually 5 refused
finish
