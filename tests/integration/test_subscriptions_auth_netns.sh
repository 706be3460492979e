#!/bin/sh
# Without an admin token, Subscriptions serves its operator's routes to
# loopback clients only; a client from another address gets 403 with a
# JSON error that says what to do. Testing that needs a client that is not
# on loopback, so this script runs itself again in a new network namespace
# (unshare -n, as root or with a user namespace) where the loopback device
# also carries 10.9.9.1: a connection from 10.9.9.1 to 10.9.9.1 is not a
# loopback client. Where namespaces cannot be made, the script says so and
# passes nothing; check_subscriptions (test_anonymous_callers) covers the
# same decision, access_anonymous(), without a network.
if [ -z "${SUB_NETNS:-}" ]; then
    for how in "-n" "-rn"; do
        if unshare $how true 2>/dev/null; then
            SUB_NETNS=1 exec unshare $how sh "$0" "$@"
        fi
    done
    echo "# network namespaces are not available here (unshare -n): skipped;"
    echo "# check_subscriptions test_anonymous_callers covers the non-loopback refusal"
    exit 0
fi

ip link set lo up && ip addr add 10.9.9.1/32 dev lo || {
    echo "not ok - the namespace's loopback device carries 10.9.9.1"
    exit 1
}
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
OTHER="http://10.9.9.1:$PORT"
LOOP="http://127.0.0.1:$PORT"
ADMIN="netns-admin-token-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"

# from_other ARGS...: curl from 10.9.9.1, a client that is not on loopback.
from_other() { http "$@" --interface 10.9.9.1; }

start subs bin/subscriptions serve --listen "0.0.0.0:$PORT" --db "$T/subs.db"
wait_http "$LOOP/healthz" || { not_ok "server started" "$(cat "$T/subs.log")"; finish; }
check "serve says that without an admin token only loopback clients are served" \
    grep -q 'no admin token configured: the operator.s routes answer loopback clients only' "$T/subs.log"

expect_eq "no admin token: a loopback client registers a customer" 201 "$(http POST "$LOOP/customers" -d name=Acme)"
C=$(json '$.id')
for r in "GET /" "GET /customers" "GET /customers/$C" "GET /customers/$C/history" \
    "POST /customers" "POST /customers/$C/payments" "POST /customers/$C/unlock"; do
    # shellcheck disable=SC2086
    set -- $r
    expect_eq "no admin token: $1 $2 from another address: 403" 403 \
        "$(from_other "$1" "$OTHER$2" -d amount_cents=5 -d name=X)"
done
check "... with a JSON error naming the fix" \
    sh -c "grep -q '\"error\"' '$T/body' && grep -q 'loopback clients only' '$T/body' && grep -q -- '--admin-token' '$T/body'"
expect_eq "... and a browser gets the same as a page" 403 "$(from_other GET "$OTHER/customers" -H 'Accept: text/html')"
check "... in HTML" grep -q '<html' "$T/body"
expect_eq "nothing was paid from there" 0 "$(sqlite3 "$T/subs.db" "select count(*) from domain_events where type = 'payment_recorded'")"
expect_eq "/healthz keeps its rule (open)" 200 "$(from_other GET "$OTHER/healthz")"
expect_eq "/status keeps its rule (open)" 200 "$(from_other GET "$OTHER/status")"
expect_eq "/metrics keeps its rule (open)" 200 "$(from_other GET "$OTHER/metrics")"
expect_eq "the feeds keep their rule (no feed token: loopback only)" 403 "$(from_other GET "$OTHER/feeds/subscriptions")"
expect_eq "the portal's sign-in page answers (its users sign in with their keys)" 200 "$(from_other GET "$OTHER/portal/login")"
stop subs

# With an admin token, other addresses are served to whoever presents it.
start subs bin/subscriptions serve --listen "0.0.0.0:$PORT" --db "$T/subs.db" --admin-token "$ADMIN"
wait_http "$LOOP/healthz"
expect_eq "admin token: from another address without it: 401" 401 "$(from_other GET "$OTHER/customers")"
expect_eq "admin token: from another address with it: 200" 200 "$(from_other GET "$OTHER/customers" -H "Authorization: Bearer $ADMIN")"
expect_eq "admin token: a payment from another address with it: 200" 200 \
    "$(from_other POST "$OTHER/customers/$C/payments" -H "Authorization: Bearer $ADMIN" -d amount_cents=5)"
expect_eq "admin token: loopback without it: 401 as well" 401 "$(http GET "$LOOP/customers")"
stop subs
check "the admin token is not in the log" sh -c "! grep -qF -- '$ADMIN' '$T/subs.log'"
finish
