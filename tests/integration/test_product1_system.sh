#!/bin/sh
# Product 1 in the whole system, as `make run` wires it: a user added in the
# real Subscriptions signs in to Product 1 and runs an analysis through the
# real Cloud API; a key revoked in Subscriptions ends the session it opened;
# a customer locked by an operator is refused; with Subscriptions stopped,
# users already known still sign in and see their history.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"

start_system 2 || { not_ok "the system starts"; finish; }

C=$(new_customer ProductTest payg 100000)
new_user "$C" pat@p1.example
PAT_KEY=$KEY; PAT_KEY_ID=$KEY_ID; PAT=$USER_ID
new_user "$C" sam@p1.example
SAM_KEY=$KEY

login_to() { http POST "$P1/login" -c "$T/$1" --data-urlencode "email=$2" --data-urlencode "login_key=$3"; }
list_is() { [ "$(http GET "$P1/analyses" -b "$T/$2" -H 'Accept: application/json')" = "$1" ]; }

check "a user added in Subscriptions signs in to Product 1" \
    eventually 5 login_is 303 pat@p1.example "$PAT_KEY"
login_to pat "pat@p1.example" "$PAT_KEY" >/dev/null
expect_eq "an analysis runs through the real Cloud API: 201" 201 \
    "$(http POST "$P1/analyses" -b "$T/pat" -H 'Accept: application/json' -d 'text=one+two+three')"
expect_eq "... with the Cloud API's figures" 3 "$(json '$.result.words')"
check "the analysis is published on /feeds/product1" \
    sh -c "curl -s -H 'Authorization: Bearer $TOKEN' '$P1/feeds/product1' | grep -q '<customerId>$C</customerId>'"

# Subscriptions stopped: Product 1 keeps signing known users in.
stop subscriptions
expect_eq "Subscriptions down: a known user still signs in" 303 "$(login_to sam sam@p1.example "$SAM_KEY")"
check "Subscriptions down: the history is still shown" list_is 200 pat
expect_eq "Subscriptions down: analyses still run" 201 \
    "$(http POST "$P1/analyses" -b "$T/sam" -H 'Accept: application/json' -d 'text=still+working')"
start_ctx subscriptions

# A key revoked in Subscriptions ends the session it opened.
expect_eq "revoking Pat's key in Subscriptions" 204 \
    "$(http DELETE "$SUB/customers/$C/users/$PAT/keys/$PAT_KEY_ID")"
check "the revoked key's session ends in Product 1" eventually 5 list_is 401 pat
check "signing in with the revoked key is refused as a wrong key (401)" login_is 401 pat@p1.example "$PAT_KEY"
check "Sam's session goes on" list_is 200 sam

# A customer locked by an operator: every session ends, sign-in is refused.
expect_eq "locking the customer in Subscriptions" 200 "$(http POST "$SUB/customers/$C/lock")"
check "the locked customer's sessions end in Product 1" eventually 5 list_is 401 sam
check "signing in to a locked customer is refused (403)" login_is 403 sam@p1.example "$SAM_KEY"
expect_eq "unlocking it" 200 "$(http POST "$SUB/customers/$C/unlock")"
check "after the unlock the user signs in again" eventually 5 login_is 303 sam@p1.example "$SAM_KEY"

finish
