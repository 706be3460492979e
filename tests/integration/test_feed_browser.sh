#!/bin/sh
# The feed browser and quiet starts, through the real programs: a follower
# started before its producer waits at info level and /status shows the
# refused connections as resolved once it polls; the Subscriptions feed in a
# browser (Accept: text/html) is in the site's layout, newest first, with a
# page per entry, a live tail, a way to the head instead of a 404, and a
# token hint instead of a bare password dialog.
. "$(dirname "$0")/lib.sh"

SUB_PORT=$(free_port); API_PORT=$(free_port)
SUB=http://127.0.0.1:$SUB_PORT
API=http://127.0.0.1:$API_PORT
TOKEN=token-$$-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
HTML='Accept: text/html'

# --- a follower whose producer is not up yet
start cloud-api bin/cloud-api serve --listen "127.0.0.1:$API_PORT" --db "$T/api.db" --feed-token "$TOKEN" --node node-1
wait_http "$API/healthz" || { not_ok "the Cloud API starts"; finish; }
start follow bin/cloud-api follow --db "$T/api.db" --feed "$SUB/feeds/subscriptions" --token "$TOKEN"
waiting() { grep 'level=info' "$T/follow.log" | grep -q 'msg="waiting for the producer"'; }
check "a follower started before its producer says once, at info, that it waits" eventually 5 waiting
start subs bin/subscriptions serve --listen "127.0.0.1:$SUB_PORT" --db "$T/subs.db" --feed-token "$TOKEN"
wait_http "$SUB/healthz" || { not_ok "Subscriptions starts"; finish; }
for n in Alpha Beta Gamma; do
    http POST "$SUB/customers" -d "name=$n" >/dev/null
done
follower_at() {
    http GET "$API/status" -H 'Accept: application/json' >/dev/null
    [ "$(json '$.followers[0].position')" -ge "$1" ]
}
check "the follower catches up once the producer is up" eventually 10 follower_at 3
expect_eq "the waits were logged once" 1 "$(grep -c 'msg="waiting for the producer"' "$T/follow.log")"
expect_eq "no error line at start" "" "$(grep 'level=error' "$T/follow.log")"
check "then: the producer answers (info)" grep -q 'msg="the producer answers"' "$T/follow.log"

http GET "$API/status" -H 'Accept: application/json' >/dev/null
check "/status: the refused connections were recorded" test "$(json '$.followers[0].errors')" -ge 1
check "/status: last_poll is set" test -n "$(json '$.followers[0].last_poll')"
check "/status: last_applied is set" test -n "$(json '$.followers[0].last_applied')"
expect_eq "/status: the error is resolved by the later success" 1 "$(json '$.followers[0].error_resolved')"
check "/status keeps last_success" test -n "$(json '$.followers[0].last_success')"
http GET "$API/status" -H "$HTML" >/dev/null
check "/status page: a last good poll column" grep -q 'last good poll' "$T/body"
check "/status page: the error shown as resolved, not red" grep -q '<td class="resolved"><span class="badge">resolved</span>' "$T/body"
check "/status page: no red error" sh -c "! grep -q '<td class=\"error\">[^<]' '$T/body'"

# --- the feed in a browser
expect_eq "no token: 401" 401 "$(http GET "$SUB/feeds/subscriptions" -H "$HTML")"
check "no token: a page that says the feed needs the token" grep -q 'needs the feed token' "$T/body"
check "no token: it says where make run keeps it" grep -q 'var/feed-token' "$T/body"
check "no token: it shows how to pass it with curl" grep -q 'Authorization: Bearer TOKEN' "$T/body"
check "no token: no Basic challenge, so no bare password dialog" sh -c "! grep -qi '^WWW-Authenticate: Basic' '$T/headers'"
http GET "$SUB/feeds/subscriptions?login" -H "$HTML" >/dev/null
check "?login: the Basic challenge, to enter the token" grep -qi '^WWW-Authenticate: Basic' "$T/headers"
expect_eq "a follower without a token: 401 JSON as before" 401 "$(http GET "$SUB/feeds/subscriptions")"
check "a follower without a token: both challenges" grep -qi '^WWW-Authenticate: Basic' "$T/headers"

A="Authorization: Bearer $TOKEN"
expect_eq "with the token: the HTML view" 200 "$(http GET "$SUB/feeds/subscriptions" -H "$HTML" -H "$A")"
check "in the site's layout (header and stylesheet)" grep -q '<span class="brand">subscriptions</span>' "$T/body"
check "with the site's stylesheet" grep -q 'href="/static/style.css"' "$T/body"
e3=$(grep -n 'id="e3"' "$T/body" | cut -d: -f1); e1=$(grep -n 'id="e1"' "$T/body" | cut -d: -f1)
check "newest first" test "${e3:-0}" -gt 0 -a "${e3:-0}" -lt "${e1:-0}"
check "links to the live tail" grep -q 'href="/feeds/subscriptions/tail"' "$T/body"
check "links to the raw Atom" grep -q 'href="/feeds/subscriptions?format=atom"' "$T/body"
expect_eq "?format=atom is the Atom document" "application/atom+xml; charset=utf-8" \
    "$(http GET "$SUB/feeds/subscriptions?format=atom" -H "$HTML" -H "$A" >/dev/null; header Content-Type)"
expect_eq "page 0 of a small feed: a browser goes to the head (303, not 404)" 303 \
    "$(http GET "$SUB/feeds/subscriptions/pages/0" -H "$HTML" -H "$A")"
expect_eq "... whose Location is the head" /feeds/subscriptions "$(header Location)"

# Where Beta's registration is (other types, CreditUpdated, sit between).
http GET "$SUB/feeds/subscriptions" -H 'Accept: application/cloudevents-batch+json' -H "$A" >/dev/null
B=$(sqlite3 :memory: "select json_extract(e.value, '\$.position') from json_each(readfile('$T/body')) e
    where json_extract(e.value, '\$.type') = 'CustomerRegistered'
      and json_extract(e.value, '\$.data.name') = 'Beta'")
expect_eq "an entry's page" 200 "$(http GET "$SUB/feeds/subscriptions/entries/$B" -H "$HTML" -H "$A")"
check "the entry's page names it" grep -q "entry $B: CustomerRegistered" "$T/body"
check "the entry's page shows its fields" grep -q '<dd>Beta</dd>' "$T/body"
check "the entry's page links to its Atom and JSON" grep -q "entries/$B?format=json" "$T/body"
expect_eq "the entry as Atom" 200 "$(http GET "$SUB/feeds/subscriptions/entries/$B" -H "$A")"
check "an Atom entry document" grep -q '^<entry xmlns="http://www.w3.org/2005/Atom"' "$T/body"
expect_eq "the entry as a CloudEvent" 200 "$(http GET "$SUB/feeds/subscriptions/entries/$B" -H 'Accept: application/json' -H "$A")"
expect_eq "the CloudEvent's position" "$B" "$(json '$.position')"
expect_eq "the CloudEvent's data" Beta "$(json '$.data.name')"
expect_eq "no entry 99 yet" 404 "$(http GET "$SUB/feeds/subscriptions/entries/99" -H "$A")"
expect_eq "the live tail page" 200 "$(http GET "$SUB/feeds/subscriptions/tail" -H "$HTML" -H "$A")"
check "the tail long-polls from its own script" grep -q 'wait=25' "$T/body"

finish
