#!/bin/sh
# Subscriptions over HTTP against the real program: every route of
# DESIGN.md section 7, its success and its error paths, JSON and form
# bodies, browser pages and redirects, and the command-line errors.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
U="http://127.0.0.1:$PORT"
DB="$T/subs.db"
start subs bin/subscriptions serve --listen "127.0.0.1:$PORT" --db "$DB"
wait_http "$U/healthz" || { not_ok "server started" "$(cat "$T/subs.log")"; finish; }

JSON='Content-Type: application/json'
HTML='Accept: text/html'

# --- register
expect_eq "POST /customers (form) 201" 201 "$(http POST "$U/customers" -d 'name=Acme Ltd')"
C=$(json '$.id')
expect_eq "Location names the customer" "/customers/$C" "$(header Location)"
expect_eq "POST /customers (JSON, team, limit) 201" 201 \
    "$(http POST "$U/customers" -H "$JSON" -d '{"name":"Beta","plan":"team","credit_limit_cents":5000}')"
C2=$(json '$.id')
expect_eq "empty name 400" 400 "$(http POST "$U/customers" -d 'name=')"
check "error body says what to fix" grep -q '"error"' "$T/body"
expect_eq "missing name 400" 400 "$(http POST "$U/customers" -H "$JSON" -d '{}')"
expect_eq "unknown plan 400" 400 "$(http POST "$U/customers" -d 'name=X&plan=gold')"
expect_eq "negative credit limit 400" 400 "$(http POST "$U/customers" -d 'name=X&credit_limit_cents=-1')"
expect_eq "non-numeric credit limit 400" 400 "$(http POST "$U/customers" -d 'name=X&credit_limit_cents=lots')"
expect_eq "broken JSON 400" 400 "$(http POST "$U/customers" -H "$JSON" -d '{"name": ')"
BIG=$(head -c 20000 /dev/zero | tr '\0' 'a')
expect_eq "oversized body 413" 413 "$(http POST "$U/customers" -d "name=$BIG")"
expect_eq "wrong method 405" 405 "$(http PUT "$U/customers")"
expect_eq "unknown route 404" 404 "$(http GET "$U/nothing/here")"

# --- text a feed cannot carry (it would make /feeds/subscriptions unreadable)
feed_entries() {
    curl -s --max-time 10 "$U/feeds/subscriptions" -o "$T/feed.xml"
    python3 -c 'import sys, xml.etree.ElementTree as E
print(len(E.parse(sys.argv[1]).getroot().findall("{http://www.w3.org/2005/Atom}entry")))' "$T/feed.xml"
}
BEFORE=$(feed_entries)
for bad in 'x%C0%80y' 'x%ED%A0%80y' 'x%EF%BF%BEy' 'x%F4%90%80%80y' 'x%01y' 'x%FFy'; do
    expect_eq "name=$bad 400" 400 "$(http POST "$U/customers" -d "name=$bad")"
    check "the error names the field ($bad)" grep -q 'the field name' "$T/body"
done
expect_eq "JSON lone surrogate 400" 400 "$(http POST "$U/customers" -H "$JSON" -d '{"name":"x\ud800y"}')"
expect_eq "JSON \\u0000 400" 400 "$(http POST "$U/customers" -H "$JSON" -d '{"name":"Acme\u0000Evil"}')"
expect_eq "JSON number as name 400" 400 "$(http POST "$U/customers" -H "$JSON" -d '{"name":42}')"
expect_eq "JSON true as credit limit 400" 400 \
    "$(http POST "$U/customers" -H "$JSON" -d '{"name":"T","credit_limit_cents":true}')"
check "the error names the field (credit_limit_cents)" grep -q 'credit_limit_cents' "$T/body"
expect_eq "overlong email 400" 400 "$(http POST "$U/customers/$C/users" -d 'email=a%C0%80@example.com')"
expect_eq "nothing was published" "$BEFORE" "$(feed_entries)"
expect_eq "a real character pair is a name" 201 \
    "$(http POST "$U/customers" -H "$JSON" -d '{"name":"Smile \ud83d\ude00"}')"
# CustomerRegistered and the customer's CreditUpdated
expect_eq "and is published, readable" $((BEFORE + 2)) "$(feed_entries)"
http GET "$U/customers/$(json '$.id')" >/dev/null
expect_eq "stored as sent" "Smile 😀" "$(json '$.name')"

# --- read
expect_eq "GET /customers 200" 200 "$(http GET "$U/customers")"
expect_eq "list holds all three" 3 "$(sqlite3 :memory: "select json_array_length(readfile('$T/body'))")"
expect_eq "GET /customers/ID 200" 200 "$(http GET "$U/customers/$C")"
expect_eq "customer name" "Acme Ltd" "$(json '$.name')"
expect_eq "default plan payg" payg "$(json '$.plan')"
expect_eq "payg credit limit" 1000 "$(json '$.credit_limit_cents')"
expect_eq "status active" active "$(json '$.status')"
expect_eq "balance 0" 0 "$(json '$.balance_cents')"
http GET "$U/customers/$C2" >/dev/null
expect_eq "own credit limit" 5000 "$(json '$.credit_limit_cents')"
expect_eq "unknown customer 404" 404 "$(http GET "$U/customers/c_0000000000000000")"

# --- users and keys
expect_eq "POST users 201" 201 "$(http POST "$U/customers/$C/users" -d 'email=ada@example.com')"
USER=$(json '$.user_id'); KEY1=$(json '$.key_id'); LOGIN1=$(json '$.login_key')
expect_eq "login key is 43 base64url characters" 43 "$(printf %s "$LOGIN1" | tr -cd 'A-Za-z0-9_-' | wc -c | tr -d ' ')"
expect_eq "no-store on a key" no-store "$(header Cache-Control)"
http GET "$U/customers/$C" >/dev/null
SHA=$(printf %s "$LOGIN1" | sha256sum | cut -d' ' -f1)
expect_eq "keySha256 is sha256 of the key text" "$SHA" "$(json '$.users[0].keys[0].key_sha256')"
check "customer JSON never shows the key" sh -c "! grep -q -- '$LOGIN1' '$T/body'"
expect_eq "same email again 409" 409 "$(http POST "$U/customers/$C/users" -H "$JSON" -d '{"email":"ADA@example.com"}')"
expect_eq "email without @ 400" 400 "$(http POST "$U/customers/$C/users" -d 'email=ada.example.com')"
expect_eq "email without domain 400" 400 "$(http POST "$U/customers/$C/users" -d 'email=ada@')"
expect_eq "missing email 400" 400 "$(http POST "$U/customers/$C/users")"
expect_eq "user of unknown customer 404" 404 "$(http POST "$U/customers/c_0000000000000000/users" -d 'email=x@example.com')"
expect_eq "POST keys 201" 201 "$(http POST "$U/customers/$C/users/$USER/keys")"
KEY2=$(json '$.key_id')
expect_eq "new key has the same shape" "$USER" "$(json '$.user_id')"
expect_eq "key for unknown user 404" 404 "$(http POST "$U/customers/$C/users/u_0000000000000000/keys")"
expect_eq "DELETE key 204" 204 "$(http DELETE "$U/customers/$C/users/$USER/keys/$KEY1")"
expect_eq "DELETE revoked key 404" 404 "$(http DELETE "$U/customers/$C/users/$USER/keys/$KEY1")"
expect_eq "DELETE unknown key 404" 404 "$(http DELETE "$U/customers/$C/users/$USER/keys/k_0000000000000000")"
expect_eq "POST on a key 405" 405 "$(http POST "$U/customers/$C/users/$USER/keys/$KEY2")"
http POST "$U/customers/$C/users" -d 'email=bob@example.com' >/dev/null
BOB=$(json '$.user_id')
expect_eq "DELETE user 204" 204 "$(http DELETE "$U/customers/$C/users/$BOB")"
expect_eq "DELETE removed user 404" 404 "$(http DELETE "$U/customers/$C/users/$BOB")"
expect_eq "email free again after removal" 201 "$(http POST "$U/customers/$C/users" -d 'email=bob@example.com')"

# --- payments, lock, plan
expect_eq "payment (form) 200" 200 "$(http POST "$U/customers/$C/payments" -d 'amount_cents=1250')"
expect_eq "balance after payment" 1250 "$(json '$.balance_cents')"
expect_eq "payment (JSON number) 200" 200 "$(http POST "$U/customers/$C/payments" -H "$JSON" -d '{"amount_cents": 50}')"
expect_eq "balance adds up" 1300 "$(json '$.balance_cents')"
expect_eq "negative amount 400" 400 "$(http POST "$U/customers/$C/payments" -d 'amount_cents=-5')"
expect_eq "non-numeric amount 400" 400 "$(http POST "$U/customers/$C/payments" -d 'amount_cents=ten')"
expect_eq "fractional amount 400" 400 "$(http POST "$U/customers/$C/payments" -H "$JSON" -d '{"amount_cents": 1.5}')"
expect_eq "missing amount 400" 400 "$(http POST "$U/customers/$C/payments")"
expect_eq "payment to unknown customer 404" 404 "$(http POST "$U/customers/c_0000000000000000/payments" -d 'amount_cents=5')"
expect_eq "lock 200" 200 "$(http POST "$U/customers/$C/lock")"
expect_eq "locked" locked "$(json '$.status')"
expect_eq "lock reason manual" manual "$(json '$.lock_reason')"
expect_eq "unlock 200" 200 "$(http POST "$U/customers/$C/unlock")"
expect_eq "active again" active "$(json '$.status')"
expect_eq "lock unknown customer 404" 404 "$(http POST "$U/customers/c_0000000000000000/lock")"
expect_eq "unlock unknown customer 404" 404 "$(http POST "$U/customers/c_0000000000000000/unlock")"
expect_eq "GET on lock 405" 405 "$(http GET "$U/customers/$C/lock")"
expect_eq "plan change 200" 200 "$(http POST "$U/customers/$C/plan" -d 'plan=team')"
expect_eq "plan unchanged this month" payg "$(json '$.plan')"
expect_eq "team from next month" team "$(json '$.next_plan.plan')"
expect_eq "unknown plan 400" 400 "$(http POST "$U/customers/$C/plan" -d 'plan=gold')"
expect_eq "missing plan 400" 400 "$(http POST "$U/customers/$C/plan")"
expect_eq "plan of unknown customer 404" 404 "$(http POST "$U/customers/c_0000000000000000/plan" -d 'plan=team')"
expect_eq "GET invoices 200" 200 "$(http GET "$U/customers/$C/invoices")"
expect_eq "no invoices yet" "[]" "$(cat "$T/body")"
expect_eq "invoices of unknown customer 404" 404 "$(http GET "$U/customers/c_0000000000000000/invoices")"

# --- browser pages and form posts
expect_eq "GET / page 200" 200 "$(http GET "$U/" -H "$HTML")"
check "home page is HTML with the register form" grep -q 'action="/customers"' "$T/body"
check "home page lists the customer" grep -q "Acme Ltd" "$T/body"
expect_eq "customer page 200" 200 "$(http GET "$U/customers/$C" -H "$HTML")"
check "customer page has the forms" sh -c "grep -q '/customers/$C/payments' '$T/body' && grep -q '/customers/$C/users' '$T/body' && grep -q '/customers/$C/lock' '$T/body' && grep -q '/customers/$C/plan' '$T/body' && grep -q '/revoke' '$T/body'"
expect_eq "invoices page 200" 200 "$(http GET "$U/customers/$C/invoices" -H "$HTML")"
expect_eq "form payment from a browser: 303" 303 "$(http POST "$U/customers/$C/payments" -H "$HTML" -d 'amount_cents=1')"
expect_eq "303 back to the customer page" "/customers/$C" "$(header Location)"
expect_eq "browser register: 303" 303 "$(http POST "$U/customers" -H "$HTML" -d 'name=Gamma')"
check "303 to the new customer" sh -c "grep -qi '^location: /customers/c_' '$T/headers'"
expect_eq "browser add user shows the key once: 201" 201 "$(http POST "$U/customers/$C/users" -H "$HTML" -d 'email=carol@example.com')"
check "key page shows a key" grep -q 'id="login-key"' "$T/body"
expect_eq "browser revoke alias: 303" 303 "$(http POST "$U/customers/$C/users/$USER/keys/$KEY2/revoke" -H "$HTML")"
expect_eq "browser remove alias: 303" 303 "$(http POST "$U/customers/$C/users/$USER/remove" -H "$HTML")"
expect_eq "browser error page 400" 400 "$(http POST "$U/customers/$C/payments" -H "$HTML" -d 'amount_cents=x')"
check "error page is HTML" grep -q '<html' "$T/body"
expect_eq "unknown customer page 404" 404 "$(http GET "$U/customers/c_0000000000000000" -H "$HTML")"

# --- operations
expect_eq "GET /status 200" 200 "$(http GET "$U/status")"
expect_eq "GET /metrics 200" 200 "$(http GET "$U/metrics")"
check "metrics count customers" grep -q '^subscriptions_customers 4' "$T/body"
expect_eq "GET /feeds/subscriptions 200" 200 "$(http GET "$U/feeds/subscriptions")"

# --- command lines
bin/subscriptions --help >/dev/null 2>&1; expect_eq "--help exits 0" 0 $?
bin/subscriptions serve --help >/dev/null 2>&1; expect_eq "serve --help exits 0" 0 $?
bin/subscriptions serve --bogus >/dev/null 2>&1; expect_eq "bad option exits 2" 2 $?
bin/subscriptions nonsense >/dev/null 2>&1; expect_eq "unknown command exits 2" 2 $?
bin/subscriptions close-month --db "$T/x.db" --month 2026-13 >/dev/null 2>&1; expect_eq "bad month exits 2" 2 $?
bin/subscriptions close-month --db "$T/x.db" >/dev/null 2>&1; expect_eq "missing month exits 2" 2 $?
bin/subscriptions follow --db "$T/x.db" --feed ftp://x >/dev/null 2>&1; expect_eq "bad feed URL exits 2" 2 $?

stop subs
expect_eq "serve stops on SIGTERM" 0 "$(grep -c 'level=error' "$T/subs.log")"
finish
