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
FLASH=$(header Location)
check "303 back to the customer page, with a one-time message" sh -c "echo '$FLASH' | grep -qE '^/customers/$C[?]flash=[0-9a-f]{32}\$'"
expect_eq "... whose page says what was done" 200 "$(http GET "$U$FLASH" -H "$HTML")"
check "... (the payment, in dollars)" grep -q 'id="flash" role="status">Payment of \$0.01 recorded.' "$T/body"
http GET "$U$FLASH" -H "$HTML" >/dev/null
check "... once: a reload shows the page without it" sh -c "! grep -q 'id=\"flash\"' '$T/body'"
BAL0=$(http GET "$U/customers/$C" >/dev/null; json '$.balance_cents')
expect_eq "form payment in dollars and cents: 303" 303 "$(http POST "$U/customers/$C/payments" -H "$HTML" -d 'amount=1.50')"
expect_eq "... recorded in cents" $((BAL0 + 150)) "$(http GET "$U/customers/$C" >/dev/null; json '$.balance_cents')"
expect_eq "browser register: 303" 303 "$(http POST "$U/customers" -H "$HTML" -d 'name=Gamma' -d 'credit_limit=12.34')"
check "303 to the new customer" sh -c "grep -qi '^location: /customers/c_' '$T/headers'"
expect_eq "... with the credit limit given in dollars" 1234 "$(http GET "$U$(header Location | sed 's/?.*//')" >/dev/null; json '$.credit_limit_cents')"
expect_eq "browser add user: 303 (Post/Redirect/Get), no key in the answer" 303 "$(http POST "$U/customers/$C/users" -H "$HTML" -d 'email=carol@example.com')"
check "... no key in the 303 itself" sh -c "! grep -qE '[A-Za-z0-9_-]{43}' '$T/body' '$T/headers'"
KEYPAGE=$(header Location)
http GET "$U$KEYPAGE" -H "$HTML" >/dev/null
check "the page it leads to shows the key" grep -q 'id="login-key"' "$T/body"
KEYSHOWN=$(sed -n 's/.*id="login-key">\([^<]*\)<.*/\1/p' "$T/body")
check "... a key that signs in to the portal" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -d email=carol@example.com --data-urlencode login_key='$KEYSHOWN' '$U/portal/login')\" = 303 ]"
http GET "$U$KEYPAGE" -H "$HTML" >/dev/null
check "reloading that page shows no key and issues none" sh -c "! grep -q 'id=\"login-key\"' '$T/body' && [ \"\$(sqlite3 '$T/subs.db' \"select count(*) from login_keys k join users u on u.id = k.user_id where u.email = 'carol@example.com'\")\" = 1 ]"
expect_eq "a confirmation page before locking (GET)" 200 "$(http GET "$U/customers/$C/lock" -H "$HTML")"
check "... with a form that posts the lock" grep -q "action=\"/customers/$C/lock\"" "$T/body"
expect_eq "... which a script is told to POST: 405" 405 "$(http GET "$U/customers/$C/lock")"
expect_eq "a confirmation page before removing a user" 200 "$(http GET "$U/customers/$C/users/$USER/remove" -H "$HTML")"
expect_eq "a confirmation page before revoking a key" 200 "$(http GET "$U/customers/$C/users/$USER/keys/$KEY2/revoke" -H "$HTML")"
http GET "$U/customers/$C" -H "$HTML" >/dev/null
check "the customer page offers Lock (through its confirmation) and not Unlock" sh -c "grep -q 'href=\"/customers/$C/lock\"' '$T/body' && ! grep -q '/customers/$C/unlock' '$T/body'"
check "... shows money with its currency" grep -q 'id="balance">\$[0-9,]*[.][0-9][0-9]<' "$T/body"
check "... charts this month's consumption and the balance against the limit" sh -c "grep -q 'id=\"usage-chart\"' '$T/body' && grep -q 'id=\"balance-chart\"' '$T/body'"
check "... and lists the invoices" grep -q 'id="invoices"' "$T/body"
expect_eq "browser revoke alias: 303" 303 "$(http POST "$U/customers/$C/users/$USER/keys/$KEY2/revoke" -H "$HTML")"
expect_eq "browser remove alias: 303" 303 "$(http POST "$U/customers/$C/users/$USER/remove" -H "$HTML")"
expect_eq "a browser's bad form value: 303 back to the page" 303 "$(http POST "$U/customers/$C/payments" -H "$HTML" -d 'amount_cents=x')"
http GET "$U$(header Location)" -H "$HTML" >/dev/null
check "... which says what to fix" grep -q 'id="flash" role="alert">amount_cents' "$T/body"
expect_eq "an unknown route, for a browser: an HTML 404" 404 "$(http GET "$U/no/such/page" -H "$HTML")"
check "... in the layout" sh -c "grep -q '<html' '$T/body' && grep -q 'rel=\"icon\"' '$T/body'"
expect_eq "... for a script: JSON" 404 "$(http GET "$U/no/such/page")"
check "... {\"error\"}" test -n "$(json '$.error')"
expect_eq "a wrong method, for a browser: an HTML 405" 405 "$(http PUT "$U/customers" -H "$HTML")"
check "... in the layout" grep -q '<html' "$T/body"
expect_eq "/favicon.ico: 200" 200 "$(http GET "$U/favicon.ico")"
expect_eq "... an icon" image/x-icon "$(header Content-Type)"
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

# The customers list: search, sort and paging (docs/routes.md).
http GET "$U/customers" >/dev/null
ALL_BEFORE=$(sqlite3 :memory: "select json_array_length(readfile('$T/body'))")
expect_eq "GET /customers without parameters: every customer, as before" "$ALL_BEFORE" "$(header X-Total-Count)"
i=0
while [ $i -lt 60 ]; do
    curl -s -o /dev/null -d "name=Paged $(printf '%02d' $i)" "$U/customers"
    i=$((i + 1))
done
curl -s -o /dev/null -d "name=Searchable" "$U/customers"
SC=$(http GET "$U/customers?q=searchable" >/dev/null; json '$[0].id')
curl -s -o /dev/null -d email=Findme@Example.com "$U/customers/$SC/users"
expect_eq "?q= finds a customer by a part of its name, ignoring case" "Searchable" "$(http GET "$U/customers?q=EARCHAB" >/dev/null; json '$[0].name')"
expect_eq "... or by the email of one of its users" "$SC" "$(http GET "$U/customers?q=findme@example" >/dev/null; json '$[0].id')"
expect_eq "... with the number found in X-Total-Count" 1 "$(header X-Total-Count)"
expect_eq "?q=a&sort=name&order=desc&limit=2: the last two names" '["Searchable","Paged 59"]' \
    "$(http GET "$U/customers?q=a&sort=name&order=desc&limit=2" >/dev/null; sqlite3 :memory: "select json_group_array(json_extract(value, '\$.name')) from json_each(readfile('$T/body'))")"
expect_eq "?q=Paged&sort=name&limit=5&offset=10: a window" '"Paged 10"' \
    "$(http GET "$U/customers?q=Paged&sort=name&limit=5&offset=10" >/dev/null; sqlite3 :memory: "select json_quote(json_extract(readfile('$T/body'), '\$[0].name'))")"
expect_eq "... of 60" 60 "$(header X-Total-Count)"
expect_eq "a bad sort: 400" 400 "$(http GET "$U/customers?sort=price")"
expect_eq "a limit over 1000: 400" 400 "$(http GET "$U/customers?limit=1001")"
expect_eq "the customers page: 200" 200 "$(http GET "$U/customers?q=Paged&sort=name" -H "$HTML")"
check "... 50 a page" test "$(grep -c '<tr><td><a href="/customers/c_' "$T/body")" = 50
check "... with a link to the next page" grep -q 'rel="next" href="/customers?sort=name&amp;order=asc&amp;q=Paged&amp;page=2"' "$T/body"
check "... and the registration form above the list" sh -c "[ \$(grep -n 'action=\"/customers\"' '$T/body' | head -1 | cut -d: -f1) -lt \$(grep -n 'id=\"customers\"' '$T/body' | cut -d: -f1) ]"
http GET "$U/customers?q=Paged&sort=name&page=2" -H "$HTML" >/dev/null
check "page 2 holds the last 10" sh -c "[ \$(grep -c '<tr><td><a href=\"/customers/c_' '$T/body') = 10 ] && grep -q 'Paged 59' '$T/body' && ! grep -q 'Paged 49' '$T/body'"
check "... and a link back" grep -q 'rel="prev"' "$T/body"
http GET "$U/customers?q=findme" -H "$HTML" >/dev/null
check "searching the page by email finds the customer" grep -q '>Searchable</a>' "$T/body"

stop subs
expect_eq "serve stops on SIGTERM" 0 "$(grep -c 'level=error' "$T/subs.log")"
finish
