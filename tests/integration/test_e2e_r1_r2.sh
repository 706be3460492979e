#!/bin/sh
# End to end, R1 and R2 (DESIGN.md section 1): a new key works everywhere
# within 2 s; a lock or a revocation is refused everywhere within 2 s, and a
# payment or an unlock restores access. Real programs, real feeds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"

start_system 1 || { not_ok "the system starts"; finish; }

# R1: a user added in Subscriptions is accepted by the Cloud API and Product 1.
C=$(new_customer Acme payg 1000)
new_user "$C" ada@acme.example
ADA=$KEY; ADA_KEY_ID=$KEY_ID; ADA_ID=$USER_ID
check "R1: a new user's key works against the Cloud API within 2 s" eventually 2 analyze_is 200 "$ADA"
check "R1: the new user signs in to Product 1 within 2 s" eventually 2 login_is 303 ada@acme.example "$ADA"
check "R1: a wrong key is refused by the Cloud API (401)" analyze_is 401 "not-a-key-$$"
expect_eq "R1: the 401 asks for a bearer token" "Bearer" "$(analyze "nope" x >/dev/null; header WWW-Authenticate | cut -c1-6)"

# A second key and a second user of the same customer.
status=$(http POST "$SUB/customers/$C/users/$ADA_ID/keys")
expect_eq "a second key is issued (201)" 201 "$status"
ADA2=$(json '$.login_key'); ADA2_KEY_ID=$(json '$.key_id')
new_user "$C" bob@acme.example
BOB=$KEY
check "R1: a newly issued key works within 2 s" eventually 2 analyze_is 200 "$ADA2"
check "R1: a second user's key works within 2 s" eventually 2 analyze_is 200 "$BOB"

# R2: a manual lock is refused everywhere, for every key of the customer.
expect_eq "manual lock (200)" 200 "$(http POST "$SUB/customers/$C/lock")"
check "R2: after a manual lock the Cloud API refuses the first key within 2 s (403)" eventually 2 analyze_is 403 "$ADA"
check "R2: ... and the second key (403)" analyze_is 403 "$ADA2"
check "R2: ... and the other user's key (403)" analyze_is 403 "$BOB"
check "R2: Product 1 refuses to sign in a locked customer's user (403)" eventually 2 login_is 403 bob@acme.example "$BOB"
expect_eq "unlock (200)" 200 "$(http POST "$SUB/customers/$C/unlock")"
check "R2: an unlock restores access within 2 s" eventually 2 analyze_is 200 "$ADA"
check "R2: ... for every key" eventually 2 analyze_is 200 "$BOB"

# R2: a revoked key is refused; the user's other key still works.
expect_eq "revoke a key (204)" 204 "$(http DELETE "$SUB/customers/$C/users/$ADA_ID/keys/$ADA_KEY_ID")"
check "R2: a revoked key is refused by the Cloud API within 2 s (401)" eventually 2 analyze_is 401 "$ADA"
check "R2: ... and by Product 1's sign-in" eventually 2 login_refused ada@acme.example "$ADA"
check "R2: the user's other key still works" analyze_is 200 "$ADA2"
i=0; late=0
while [ $i -lt 20 ]; do [ "$(analyze "$ADA" x)" = 401 ] || late=1; i=$((i + 1)); done
expect_eq "R2: no call with the revoked key is accepted once refused" 0 "$late"

# R2: usage past the credit limit is refused (credit.h: with one node the
# balance never goes past -credit_limit, so usage never ends in an overdraft
# lock); a payment restores access.
D=$(new_customer Overdraw payg 5)
new_user "$D" eve@overdraw.example
EVE=$KEY
check "the small-credit customer's key works" eventually 2 analyze_is 200 "$EVE"
BIG=$(head -c 9000 /dev/zero | tr '\0' a)
expect_eq "R2: a call past the credit limit is refused (403)" 403 "$(analyze "$EVE" "$BIG")"
expect_eq "R2: ... saying the credit limit is the reason" credit_limit "$(json '$.reason')"
expect_eq "a payment is recorded (200)" 200 "$(http POST "$SUB/customers/$D/payments" -d amount_cents=1000)"
big_is_ok() { [ "$(analyze "$EVE" "$BIG")" = 200 ]; }
check "R2: a payment restores access within 2 s" eventually 2 big_is_ok

finish
