#!/bin/sh
# Who may do what in Subscriptions (issue 16), against the real program
# started with two admin tokens: every route without credentials, with
# wrong ones and with right ones; the operator's sign-in, sessions, expiry
# and sign-out; cross-site form posts refused while the application's own
# forms work; the customer portal (own customer only, another customer's
# ids 404, admins manage users and keys); the audit trail; and, at the end,
# no admin token, session id, CSRF token or login key in the program's log
# or in this script's own output.
. "$(dirname "$0")/lib.sh"

rand() { od -An -tx1 -N12 /dev/urandom | tr -d ' \n'; }
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
DB="$T/subs.db"
A1="admin-one-$(rand)"
A2="admin-two-$(rand)"
SECRETS="$T/secrets"
printf '%s\n%s\n' "$A1" "$A2" >"$SECRETS"
# secret VALUE...: remembers values that must never be logged.
secret() { for v in "$@"; do [ -z "$v" ] || printf '%s\n' "$v" >>"$SECRETS"; done; }

start_subs() {
    start subs bin/subscriptions serve --listen "127.0.0.1:$PORT" --db "$DB" \
        --admin-token "$A1" --admin-token "$A2"
    wait_http "$U/healthz"
}

JSON='Content-Type: application/json'
HTML='Accept: text/html'
AUTH1="Authorization: Bearer $A1"
AUTH2="Authorization: Bearer $A2"
WRONG="Authorization: Bearer wrong-token-0123456789abcdef"
SAME="Origin: $U"
EVIL='Origin: http://evil.example'
ZERO=c_0000000000000000

# events: the number of internal events (every change is one or more).
events() { sqlite3 "$DB" 'select count(*) from domain_events'; }
# jar_value JAR NAME: a cookie's value from a curl cookie jar.
jar_value() { awk -v n="$2" '$6 == n { v = $7 } END { print v }' "$1"; }
# csrf_of_body: the CSRF token in the hidden field of the last page.
csrf_of_body() { sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/body" | head -1; }
balance_of() { http GET "$U/customers/$1" -H "$AUTH1" >/dev/null; json '$.balance_cents'; }

main() {
start_subs || { not_ok "server started" "$(cat "$T/subs.log")"; return; }
check "serve says operator routes need an admin token" grep -q 'need an admin token or a sign-in' "$T/subs.log"

# --- what stays open
expect_eq "GET /healthz needs nothing" 200 "$(http GET "$U/healthz")"
expect_eq "GET /status needs nothing" 200 "$(http GET "$U/status")"
expect_eq "GET /metrics needs nothing" 200 "$(http GET "$U/metrics")"
expect_eq "feeds keep their own rule (loopback, no feed token)" 200 "$(http GET "$U/feeds/subscriptions")"
expect_eq "GET /login is open" 200 "$(http GET "$U/login" -H "$HTML")"
check "the sign-in page has a token field" grep -q 'name="token"' "$T/body"
expect_eq "GET /portal/login is open" 200 "$(http GET "$U/portal/login" -H "$HTML")"
check "the portal sign-in page asks for email and login key" sh -c "grep -q 'name=\"email\"' '$T/body' && grep -q 'name=\"login_key\"' '$T/body'"

# --- ids to work on, made with the first token
http POST "$U/customers" -H "$AUTH1" -d 'name=Acme' >/dev/null; C=$(json '$.id')
http POST "$U/customers" -H "$AUTH1" -d 'name=Other Ltd' >/dev/null; D=$(json '$.id')
new_user() { # CUSTOMER EMAIL: sets NU (user), NK (key id), NL (login key)
    http POST "$U/customers/$1/users" -H "$AUTH1" -d "email=$2" >/dev/null
    NU=$(json '$.user_id'); NK=$(json '$.key_id'); NL=$(json '$.login_key'); secret "$NL"
}
new_key() { # CUSTOMER USER: sets NK, NL
    http POST "$U/customers/$1/users/$2/keys" -H "$AUTH1" >/dev/null
    NK=$(json '$.key_id'); NL=$(json '$.login_key'); secret "$NL"
}
new_user "$C" u1@acme.example; U1=$NU; K1=$NK
new_key "$C" "$U1"; K2=$NK
new_user "$C" u2@acme.example; U2=$NU
new_user "$C" u3@acme.example; U3=$NU
new_user "$C" u4@acme.example; U4=$NU
expect_eq "the ids were made" 1 "$([ -n "$C" ] && [ -n "$D" ] && [ -n "$K2" ] && [ -n "$U3" ] && echo 1)"

# The operator's routes: METHOD PATH EXPECTED-WITH-A-TOKEN ARGS...
ROUTES="$T/routes"
cat >"$ROUTES" <<EOF
GET / 200
GET /customers 200
POST /customers 201 -d name=Gamma
GET /customers/$C 200
GET /customers/$C/invoices 200
GET /customers/$C/history 200
POST /customers/$C/users 201 -d email=new@acme.example
POST /customers/$C/users/$U1/keys 201
DELETE /customers/$C/users/$U1/keys/$K1 204
POST /customers/$C/users/$U1/keys/$K2/revoke 204
POST /customers/$C/users/$U2/admin 200 -d admin=1
DELETE /customers/$C/users/$U3 204
POST /customers/$C/users/$U4/remove 204
POST /customers/$C/payments 200 -d amount_cents=700
POST /customers/$C/lock 200
POST /customers/$C/unlock 200
POST /customers/$C/plan 200 -d plan=team
EOF
BEFORE=$(events)
n=0
while read -r m p exp rest; do
    # shellcheck disable=SC2086
    s=$(http "$m" "$U$p" $rest)
    expect_eq "$m $p without credentials: 401" 401 "$s"
    [ "$s" != 401 ] || check "$m $p: 401 says how to sign in, with WWW-Authenticate" \
        sh -c "grep -q 'admin token' '$T/body' && grep -qi '^WWW-Authenticate: Bearer' '$T/headers'"
    # shellcheck disable=SC2086
    expect_eq "$m $p with a wrong token: 401" 401 "$(http "$m" "$U$p" -H "$WRONG" $rest)"
    # shellcheck disable=SC2086
    expect_eq "$m $p with a made-up session cookie: 401" 401 "$(http "$m" "$U$p" -b "sub_operator=$(printf '%064d' 0)" $rest)"
    n=$((n + 1))
done <"$ROUTES"
expect_eq "none of the $n refused requests changed anything" "$BEFORE" "$(events)"
while read -r m p exp rest; do
    # shellcheck disable=SC2086
    expect_eq "$m $p with an admin token: $exp" "$exp" "$(http "$m" "$U$p" -H "$AUTH1" $rest)"
done <"$ROUTES"
expect_eq "the second admin token works too" 200 "$(http POST "$U/customers/$C/payments" -H "$AUTH2" -d amount_cents=5)"
expect_eq "a browser without a session is sent to the sign-in page" 303 "$(http GET "$U/customers" -H "$HTML")"
expect_eq "... at /login" /login "$(header Location)"
expect_eq "a browser's form post without a session: 401 page" 401 "$(http POST "$U/customers/$C/lock" -H "$HTML" -H "$SAME")"
check "... saying to sign in, as HTML" sh -c "grep -q '<html' '$T/body' && grep -q 'Sign in' '$T/body'"

# --- the operator's sign-in in a browser (curl speaking as one)
OJ="$T/operator.jar"
expect_eq "sign-in with a wrong token: 401" 401 "$(http POST "$U/login" -H "$HTML" -H "$SAME" -d token=wrong-token-0123456789)"
check "... and the sign-in page again, saying why" grep -q 'not valid' "$T/body"
expect_eq "sign-in with no token: 400" 400 "$(http POST "$U/login" -H "$HTML" -H "$SAME" -d token=)"
expect_eq "sign-in posted by another site: 403" 403 "$(http POST "$U/login" -H "$HTML" -H "$EVIL" -d "token=$A1")"
expect_eq "sign-in with the first token: 303" 303 "$(http POST "$U/login" -c "$OJ" -H "$HTML" -H "$SAME" -H 'Sec-Fetch-Site: same-origin' -d "token=$A1")"
expect_eq "... to the customers" /customers "$(header Location)"
COOKIE=$(header Set-Cookie)
check "the session cookie is HttpOnly" sh -c "echo '$COOKIE' | grep -q 'HttpOnly'"
check "the session cookie is SameSite=Strict" sh -c "echo '$COOKIE' | grep -q 'SameSite=Strict'"
check "the session cookie has Path=/" sh -c "echo '$COOKIE' | grep -q 'Path=/;'"
check "the session cookie expires (Max-Age)" sh -c "echo '$COOKIE' | grep -q 'Max-Age=28800'"
SID=$(jar_value "$OJ" sub_operator); secret "$SID"
expect_eq "the session id is 64 hex digits" 64 "$(printf %s "$SID" | tr -cd 0-9a-f | wc -c | tr -d ' ')"
expect_eq "only the session id's SHA-256 is stored" "1 0" \
    "$(sqlite3 "$DB" "select count(*) from sessions where id_sha256 = '$(printf %s "$SID" | sha256sum | cut -d' ' -f1)'") $(sqlite3 "$DB" "select count(*) from sessions where id_sha256 = '$SID'")"
expect_eq "the session opens the customer page" 200 "$(http GET "$U/customers/$C" -b "$OJ" -H "$HTML")"
CSRF=$(csrf_of_body); secret "$CSRF"
check "its forms carry the session's CSRF token" test -n "$CSRF"
check "it says who is signed in" grep -q 'Signed in as operator (admin token 1)' "$T/body"
check "it cannot be framed by another site" sh -c "grep -qi '^X-Frame-Options: DENY' '$T/headers' && grep -qi \"frame-ancestors 'none'\" '$T/headers'"
expect_eq "the session works for JSON too" 200 "$(http GET "$U/customers/$C" -b "$OJ")"

# --- cross-site writes
B0=$(balance_of "$C")
expect_eq "a cross-site form post (Origin: http://evil.example) with the session and its token: 403" 403 \
    "$(http POST "$U/customers/$C/payments" -b "$OJ" -H "$HTML" -H "$EVIL" -d amount_cents=100 -d "csrf=$CSRF")"
check "... saying why, as HTML" sh -c "grep -q '<html' '$T/body' && grep -q 'another origin' '$T/body'"
expect_eq "a cross-site form post (Sec-Fetch-Site: cross-site): 403" 403 \
    "$(http POST "$U/customers/$C/payments" -b "$OJ" -H 'Sec-Fetch-Site: cross-site' -d amount_cents=100 -d "csrf=$CSRF")"
expect_eq "a form post from the same site on another port (Sec-Fetch-Site: same-site): 403" 403 \
    "$(http POST "$U/customers/$C/payments" -b "$OJ" -H 'Sec-Fetch-Site: same-site' -H "Origin: http://127.0.0.1:1" -d amount_cents=100 -d "csrf=$CSRF")"
expect_eq "a form post with Origin: null: 403" 403 \
    "$(http POST "$U/customers/$C/unlock" -b "$OJ" -H 'Origin: null' -d "csrf=$CSRF")"
expect_eq "an own-origin form post without the CSRF token: 403" 403 \
    "$(http POST "$U/customers/$C/payments" -b "$OJ" -H "$HTML" -H "$SAME" -d amount_cents=100)"
check "... saying to reload the page" grep -q 'CSRF token' "$T/body"
expect_eq "... with another session's token: 403" 403 \
    "$(http POST "$U/customers/$C/payments" -b "$OJ" -H "$SAME" -d amount_cents=100 -d "csrf=$(printf %s x | sha256sum | cut -d' ' -f1)")"
expect_eq "a cross-site request with the admin token: 403 too" 403 \
    "$(http POST "$U/customers/$C/lock" -H "$AUTH1" -H "$EVIL")"
expect_eq "a cross-site request on loopback with nothing: 403" 403 \
    "$(http POST "$U/customers/$C/lock" -H 'Sec-Fetch-Site: cross-site')"
expect_eq "no refused post moved the balance" "$B0" "$(balance_of "$C")"
expect_eq "the same form from the application itself (same Origin + CSRF token): 303" 303 \
    "$(http POST "$U/customers/$C/payments" -b "$OJ" -H "$HTML" -H "$SAME" -H 'Sec-Fetch-Site: same-origin' -d amount_cents=100 -d "csrf=$CSRF")"
expect_eq "... back to the customer page" "/customers/$C" "$(header Location | sed 's/?flash=.*//')"
expect_eq "... and the payment is recorded" $((B0 + 100)) "$(balance_of "$C")"
expect_eq "a JSON post with the token in X-CSRF-Token: 200" 200 \
    "$(http POST "$U/customers/$C/payments" -b "$OJ" -H "$JSON" -H "X-CSRF-Token: $CSRF" -d '{"amount_cents": 1}')"
expect_eq "curl with a Bearer token and no Origin keeps working" 200 "$(http POST "$U/customers/$C/payments" -H "$AUTH1" -d amount_cents=1)"

# --- the audit trail names the session, never its id
http GET "$U/customers/$C/history" -H "$AUTH1" >/dev/null
SH=$(printf %s "$SID" | sha256sum | cut -c1-12)
expect_eq "the form payment is recorded as the operator's session" "operator:token-1:session-$SH" \
    "$(sqlite3 :memory: "select json_extract(value, '\$.author') from json_each(readfile('$T/body')) where json_extract(value, '\$.what') = 'payment of 1.00' limit 1")"
expect_eq "the second token's payment as token 2" "operator:token-2" \
    "$(sqlite3 :memory: "select json_extract(value, '\$.author') from json_each(readfile('$T/body')) where json_extract(value, '\$.what') = 'payment of 0.05'")"
expect_eq "registration as token 1" "operator:token-1" \
    "$(sqlite3 :memory: "select json_extract(value, '\$.author') from json_each(readfile('$T/body')) where json_extract(value, '\$.type') = 'customer_registered'")"
expect_eq "every event has an author" 0 "$(sqlite3 "$DB" 'select count(*) from domain_events where author is null')"
MONTH=$(date -u +%Y-%m)
bin/subscriptions close-month --db "$DB" --month "$MONTH" >"$T/close.out" 2>&1
expect_eq "close-month: the invoices are billing's" billing \
    "$(sqlite3 "$DB" "select group_concat(distinct author) from domain_events where type in ('invoice_issued', 'month_closed')")"
expect_eq "the customer page lists the history" 200 "$(http GET "$U/customers/$C" -b "$OJ" -H "$HTML")"
check "... with who did what" sh -c "grep -q '>History<' '$T/body' && grep -q 'operator (token 1, session $SH)' '$T/body' && grep -q 'operator (token 2)' '$T/body' && grep -q '>billing<' '$T/body'"
expect_eq "the history page" 200 "$(http GET "$U/customers/$C/history" -b "$OJ" -H "$HTML")"
expect_eq "history of an unknown customer: 404" 404 "$(http GET "$U/customers/$ZERO/history" -H "$AUTH1")"

# --- sign-out
expect_eq "sign-out without the CSRF token: 403" 403 "$(http POST "$U/logout" -b "$OJ" -H "$SAME")"
expect_eq "sign-out: 303" 303 "$(http POST "$U/logout" -b "$OJ" -c "$OJ" -H "$HTML" -H "$SAME" -d "csrf=$CSRF")"
expect_eq "... to the sign-in page" /login "$(header Location | sed 's/?flash=.*//')"
check "... dropping the cookie" sh -c "grep -qi '^Set-Cookie: sub_operator=;.*Max-Age=0' '$T/headers'"
OUT=$(header Location)
http GET "$U$OUT" -H "$HTML" >/dev/null
check "... which says, once, that the operator signed out" grep -q 'id="flash" role="status">You signed out.' "$T/body"
http GET "$U$OUT" -H "$HTML" >/dev/null
check "... (not on a reload)" sh -c "! grep -q 'You signed out' '$T/body'"
expect_eq "the old session id no longer works (JSON)" 401 "$(http GET "$U/customers" -b "sub_operator=$SID")"
expect_eq "the old session id no longer works (browser)" 303 "$(http GET "$U/customers" -H "$HTML" -b "sub_operator=$SID")"
check "... and its stale cookie is dropped" grep -qi '^Set-Cookie: sub_operator=;' "$T/headers"

# --- restart: operator sessions end (the tokens may have changed)
OJ2="$T/operator2.jar"
http POST "$U/login" -c "$OJ2" -H "$SAME" -d "token=$A2" >/dev/null
SID2=$(jar_value "$OJ2" sub_operator); secret "$SID2"
expect_eq "a second sign-in works" 200 "$(http GET "$U/customers" -b "$OJ2")"
stop subs
start_subs
expect_eq "after a restart of serve the operator signs in again" 401 "$(http GET "$U/customers" -b "$OJ2")"

# --- the customer portal
http POST "$U/customers/$C/users" -H "$AUTH1" -d email=ada@acme.example >/dev/null
ADA=$(json '$.user_id'); ADA_KEY=$(json '$.login_key'); secret "$ADA_KEY"
http POST "$U/customers/$C/users" -H "$AUTH1" -d email=bob@acme.example >/dev/null
BOB=$(json '$.user_id'); BOB_KEY=$(json '$.login_key'); secret "$BOB_KEY"
http POST "$U/customers/$C/users/$BOB/keys" -H "$AUTH1" >/dev/null
BOB_K2=$(json '$.key_id'); BOB_KEY2=$(json '$.login_key'); secret "$BOB_KEY2"
http POST "$U/customers/$D/users" -H "$AUTH1" -d email=dan@other.example >/dev/null
DAN=$(json '$.user_id'); DAN_K=$(json '$.key_id'); DAN_KEY=$(json '$.login_key'); secret "$DAN_KEY"
http POST "$U/customers/$C/users" -H "$AUTH1" -d email=gone@acme.example >/dev/null
GONE=$(json '$.user_id'); GONE_KEY=$(json '$.login_key'); secret "$GONE_KEY"
http DELETE "$U/customers/$C/users/$GONE" -H "$AUTH1" >/dev/null
http DELETE "$U/customers/$C/users/$BOB/keys/$BOB_K2" -H "$AUTH1" >/dev/null
expect_eq "the operator makes ada a customer admin" 200 "$(http POST "$U/customers/$C/users/$ADA/admin" -H "$AUTH1" -d admin=1)"
expect_eq "... shown in the customer document" 1 \
    "$(sqlite3 :memory: "select json_extract(value, '\$.admin') from json_each(json_extract(readfile('$T/body'), '\$.users')) where json_extract(value, '\$.user_id') = '$ADA'")"
expect_eq "admin must be 1 or 0" 400 "$(http POST "$U/customers/$C/users/$ADA/admin" -H "$AUTH1" -d admin=yes)"
expect_eq "admin of another customer's user: 404" 404 "$(http POST "$U/customers/$C/users/$DAN/admin" -H "$AUTH1" -d admin=1)"
http GET "$U/customers/$C" -H "$AUTH1" -H "$HTML" >/dev/null
check "the customer page has the admin control" grep -q "/customers/$C/users/$BOB/admin" "$T/body"

portal_login() { # EMAIL KEY [JAR]
    http POST "$U/portal/login" ${3:+-c "$3"} -H "$SAME" --data-urlencode "email=$1" --data-urlencode "login_key=$2"
}
expect_eq "portal: a wrong key: 401" 401 "$(portal_login ada@acme.example wrong-key)"
WRONG_BODY=$(cat "$T/body")
expect_eq "portal: a revoked key: 401" 401 "$(portal_login bob@acme.example "$BOB_KEY2")"
expect_eq "... with the same answer as a wrong key" "$WRONG_BODY" "$(cat "$T/body")"
expect_eq "portal: a removed user's key: 401" 401 "$(portal_login gone@acme.example "$GONE_KEY")"
expect_eq "... with the same answer as a wrong key" "$WRONG_BODY" "$(cat "$T/body")"
expect_eq "portal: another user's key: 401" 401 "$(portal_login ada@acme.example "$BOB_KEY")"
expect_eq "... with the same answer as a wrong key" "$WRONG_BODY" "$(cat "$T/body")"
expect_eq "portal: sign-in posted by another site: 403" 403 "$(http POST "$U/portal/login" -H "$EVIL" --data-urlencode "email=ada@acme.example" --data-urlencode "login_key=$ADA_KEY")"
expect_eq "portal: a browser sees the page again with the reason" 401 \
    "$(http POST "$U/portal/login" -H "$HTML" -H "$SAME" --data-urlencode "email=ada@acme.example" --data-urlencode "login_key=wrong")"
check "... as HTML" grep -q 'id="sign-in-error"' "$T/body"

AJ="$T/ada.jar"
expect_eq "portal: ada signs in: 303" 303 "$(portal_login ADA@acme.example "$ADA_KEY" "$AJ")"
expect_eq "... to her own customer" "/portal/customers/$C" "$(header Location)"
PCOOKIE=$(header Set-Cookie)
check "the portal cookie is HttpOnly, SameSite=Strict, for /portal only, expiring" \
    sh -c "echo '$PCOOKIE' | grep -q 'HttpOnly; SameSite=Strict; Path=/portal; Max-Age='"
ASID=$(jar_value "$AJ" sub_portal); secret "$ASID"
expect_eq "GET /portal: 303 to her customer" 303 "$(http GET "$U/portal" -b "$AJ")"
expect_eq "... there" "/portal/customers/$C" "$(header Location)"
expect_eq "portal: her customer as JSON" 200 "$(http GET "$U/portal/customers/$C" -b "$AJ")"
expect_eq "... which no cache may keep" no-store "$(header Cache-Control)"
expect_eq "... its balance" "$(balance_of "$C")" "$(http GET "$U/portal/customers/$C" -b "$AJ" >/dev/null; json '$.balance_cents')"
expect_eq "... its credit limit" 1000 "$(json '$.credit_limit_cents')"
# (this month was closed above, so new usage counts in the next one)
expect_eq "... this month's consumption" "$(date -u -d "$MONTH-15 +1 month" +%Y-%m)" "$(json '$.current_month.month')"
expect_eq "... its units" 0 "$(json '$.current_month.units')"
expect_eq "portal: her invoices" 200 "$(http GET "$U/portal/customers/$C/invoices" -b "$AJ")"
expect_eq "... the month closed above" "$MONTH" "$(json '$[0].month')"
expect_eq "portal: her customer's page" 200 "$(http GET "$U/portal/customers/$C" -b "$AJ" -H "$HTML")"
PCSRF=$(csrf_of_body); secret "$PCSRF"
check "... shows balance, credit limit, consumption, users and keys" sh -c "grep -q 'Balance' '$T/body' && grep -q 'Credit limit' '$T/body' && grep -q 'Usage in' '$T/body' && grep -q 'bob@acme.example' '$T/body'"
check "... and the forms of an admin, with the CSRF token" sh -c "grep -q 'action=\"/portal/customers/$C/users\"' '$T/body' && test -n '$PCSRF'"
check "... but none of the operator's (payment, lock, plan, admin flag, history)" \
    sh -c "! grep -q -e '/payments' -e '/lock' -e '/plan' -e '/admin\"' -e '>History<' '$T/body'"
expect_eq "portal: the portal cookie does not open the operator's routes" 401 "$(http GET "$U/customers" -b "sub_operator=$ASID")"
expect_eq "portal: nor the operator's cookie the portal" 401 "$(http GET "$U/portal/customers/$C" -b "sub_portal=$SID2")"

# Another customer's ids: 404 like ids that do not exist, on every route.
for r in "GET /portal/customers/$D" "GET /portal/customers/$D/invoices" \
    "POST /portal/customers/$D/users -d email=x@other.example" \
    "POST /portal/customers/$D/users/$DAN/keys" "DELETE /portal/customers/$D/users/$DAN/keys/$DAN_K" \
    "POST /portal/customers/$D/users/$DAN/keys/$DAN_K/revoke" "DELETE /portal/customers/$D/users/$DAN" \
    "POST /portal/customers/$D/users/$DAN/remove"; do
    # shellcheck disable=SC2086
    set -- $r
    m=$1; p=$2; shift 2
    expect_eq "portal admin: $m on another customer's ids: 404" 404 "$(http "$m" "$U$p" -b "$AJ" -H "X-CSRF-Token: $PCSRF" "$@")"
    OTHER=$(sed "s/$D/ID/g" "$T/body")
    z=$(printf %s "$p" | sed "s/$D/$ZERO/")
    http "$m" "$U$z" -b "$AJ" -H "X-CSRF-Token: $PCSRF" "$@" >/dev/null
    expect_eq "... the same answer as an id that does not exist" "$(sed "s/$ZERO/ID/g" "$T/body")" "$OTHER"
done
expect_eq "portal admin: another customer's user under her own customer: 404" 404 \
    "$(http POST "$U/portal/customers/$C/users/$DAN/keys" -b "$AJ" -H "X-CSRF-Token: $PCSRF")"
expect_eq "portal admin: another customer's key under her own user: 404" 404 \
    "$(http DELETE "$U/portal/customers/$C/users/$ADA/keys/$DAN_K" -b "$AJ" -H "X-CSRF-Token: $PCSRF")"
expect_eq "nothing of the other customer changed" 1 \
    "$(sqlite3 "$DB" "select count(*) from login_keys where customer_id = '$D' and revoked_at is null")"

# An admin manages users and keys, with the same rules as the operator.
expect_eq "portal admin: adding a user without the CSRF token: 403" 403 \
    "$(http POST "$U/portal/customers/$C/users" -b "$AJ" -H "$SAME" -d email=carl@acme.example)"
expect_eq "portal admin: a cross-site add: 403" 403 \
    "$(http POST "$U/portal/customers/$C/users" -b "$AJ" -H "$EVIL" -d email=carl@acme.example -d "csrf=$PCSRF")"
expect_eq "portal admin: adds a user from the page: 303" 303 \
    "$(http POST "$U/portal/customers/$C/users" -b "$AJ" -H "$HTML" -H "$SAME" -d email=carl@acme.example -d "csrf=$PCSRF")"
KEYPAGE=$(header Location)
check "... to her customer's page in the portal" sh -c "echo '$KEYPAGE' | grep -q '^/portal/customers/$C?flash='"
http GET "$U$KEYPAGE" -b "$AJ" -H "$HTML" >/dev/null
check "... which shows the new key once" grep -q 'id="login-key"' "$T/body"
secret "$(sed -n 's/.*id="login-key">\([^<]*\)<.*/\1/p' "$T/body")"
http GET "$U$KEYPAGE" -b "$AJ" -H "$HTML" >/dev/null
check "... and not on a reload" sh -c "! grep -q 'id=\"login-key\"' '$T/body'"
expect_eq "portal admin: the same email again: 409" 409 \
    "$(http POST "$U/portal/customers/$C/users" -b "$AJ" -H "X-CSRF-Token: $PCSRF" -d email=CARL@acme.example)"
expect_eq "portal admin: a bad email: 400" 400 \
    "$(http POST "$U/portal/customers/$C/users" -b "$AJ" -H "X-CSRF-Token: $PCSRF" -d email=carl)"
expect_eq "portal admin: adds a user (JSON): 201" 201 \
    "$(http POST "$U/portal/customers/$C/users" -b "$AJ" -H "X-CSRF-Token: $PCSRF" -H "$JSON" -d '{"email":"dora@acme.example"}')"
DORA=$(json '$.user_id'); secret "$(json '$.login_key')"
expect_eq "portal admin: issues a key: 201" 201 "$(http POST "$U/portal/customers/$C/users/$DORA/keys" -b "$AJ" -H "X-CSRF-Token: $PCSRF")"
DK=$(json '$.key_id'); secret "$(json '$.login_key')"
expect_eq "portal admin: revokes it: 204" 204 "$(http DELETE "$U/portal/customers/$C/users/$DORA/keys/$DK" -b "$AJ" -H "X-CSRF-Token: $PCSRF")"
expect_eq "portal admin: revokes it again: 404" 404 "$(http DELETE "$U/portal/customers/$C/users/$DORA/keys/$DK" -b "$AJ" -H "X-CSRF-Token: $PCSRF")"
expect_eq "portal admin: the page's revoke and remove forms: 303" "303 303" \
    "$(http POST "$U/portal/customers/$C/users/$DORA/keys/$(sqlite3 "$DB" "select id from login_keys where user_id = '$DORA' and revoked_at is null")/revoke" -b "$AJ" -H "$HTML" -H "$SAME" -d "csrf=$PCSRF") $(http POST "$U/portal/customers/$C/users/$DORA/remove" -b "$AJ" -H "$HTML" -H "$SAME" -d "csrf=$PCSRF")"
expect_eq "... back to her customer in the portal" "/portal/customers/$C" "$(header Location | sed 's/?flash=.*//')"
expect_eq "the portal's changes are recorded as made by ada" "user:$ADA" \
    "$(sqlite3 "$DB" "select group_concat(distinct author) from domain_events where customer_id = '$C' and json_extract(data, '\$.user_id') = '$DORA'")"
http GET "$U/customers/$C" -H "$AUTH1" -H "$HTML" >/dev/null
check "... and shown so on the operator's page" grep -q "customer admin $ADA" "$T/body"

# A user who is not an admin sees, but does not manage.
BJ="$T/bob.jar"
expect_eq "portal: bob signs in: 303" 303 "$(portal_login bob@acme.example "$BOB_KEY" "$BJ")"
BSID=$(jar_value "$BJ" sub_portal); secret "$BSID"
expect_eq "portal: bob sees his customer" 200 "$(http GET "$U/portal/customers/$C" -b "$BJ" -H "$HTML")"
BCSRF=$(csrf_of_body); secret "$BCSRF"
check "... without the forms that manage users" sh -c "! grep -q 'action=\"/portal/customers/$C/users' '$T/body'"
expect_eq "portal: bob may not add a user: 403" 403 "$(http POST "$U/portal/customers/$C/users" -b "$BJ" -H "X-CSRF-Token: $BCSRF" -d email=eve@acme.example)"
check "... told to ask an administrator" grep -q 'administrator' "$T/body"
expect_eq "portal: nor revoke ada's key: 403" 403 "$(http DELETE "$U/portal/customers/$C/users/$ADA/keys/$(sqlite3 "$DB" "select id from login_keys where user_id = '$ADA'")" -b "$BJ" -H "X-CSRF-Token: $BCSRF")"
expect_eq "portal: another customer is still 404 for him" 404 "$(http GET "$U/portal/customers/$D" -b "$BJ")"

# A locked customer's users still see why.
http POST "$U/customers/$C/lock" -H "$AUTH1" >/dev/null
expect_eq "portal: a locked customer's session goes on" 200 "$(http GET "$U/portal/customers/$C" -b "$AJ" -H "$HTML")"
check "... showing the lock" grep -q 'Locked (manual)' "$T/body"
expect_eq "portal: a locked customer's user signs in" 303 "$(portal_login ada@acme.example "$ADA_KEY")"
http POST "$U/customers/$C/unlock" -H "$AUTH1" >/dev/null

# Sessions end with their user, and at sign-out.
http DELETE "$U/customers/$C/users/$BOB" -H "$AUTH1" >/dev/null
expect_eq "portal: a removed user's session ends" 401 "$(http GET "$U/portal/customers/$C" -b "$BJ")"
expect_eq "... and a browser is sent to the portal's sign-in" 303 "$(http GET "$U/portal/customers/$C" -b "$BJ" -H "$HTML")"
expect_eq "... at /portal/login" /portal/login "$(header Location)"
expect_eq "portal: sign-out: 303" 303 "$(http POST "$U/portal/logout" -b "$AJ" -H "$SAME" -d "csrf=$PCSRF")"
expect_eq "... to the portal's sign-in" /portal/login "$(header Location)"
expect_eq "portal: the session has ended" 401 "$(http GET "$U/portal/customers/$C" -b "$AJ")"
AK=$(sqlite3 "$DB" "select id from login_keys where user_id = '$ADA' and revoked_at is null")
BEFORE=$(events)
FAKE="sub_portal=$(printf '%064d' 0)"
for r in "GET /portal" "GET /portal/customers/$C" "GET /portal/customers/$C/invoices" \
    "POST /portal/customers/$C/users -d email=z@acme.example" "POST /portal/customers/$C/users/$ADA/keys" \
    "DELETE /portal/customers/$C/users/$ADA/keys/$AK" "POST /portal/customers/$C/users/$ADA/keys/$AK/revoke" \
    "DELETE /portal/customers/$C/users/$ADA" "POST /portal/customers/$C/users/$ADA/remove" "POST /portal/logout"; do
    # shellcheck disable=SC2086
    set -- $r
    m=$1; p=$2; shift 2
    expect_eq "portal: $m $p without a session: 401" 401 "$(http "$m" "$U$p" "$@")"
    expect_eq "portal: $m $p with a made-up session cookie: 401" 401 "$(http "$m" "$U$p" -b "$FAKE" "$@")"
    expect_eq "portal: $m $p with the ended session: 401" 401 "$(http "$m" "$U$p" -b "$AJ" -H "X-CSRF-Token: $PCSRF" "$@")"
done
expect_eq "portal: none of those changed anything" "$BEFORE" "$(events)"

# --- untrusted input at the door
BIGC=$(head -c 9000 /dev/zero | tr '\0' 'a')
expect_eq "an oversized Cookie header is no session, not a crash" 401 "$(http GET "$U/customers" -H "Cookie: sub_operator=$BIGC")"
expect_eq "an oversized token is just wrong" 401 "$(http GET "$U/customers" -H "Authorization: Bearer $BIGC")"
expect_eq "a malformed Origin is refused" 403 "$(http POST "$U/customers" -H "$AUTH1" -H 'Origin: http://[::1' -d name=X)"
OJ3="$T/operator3.jar"
http POST "$U/login" -c "$OJ3" -H "$SAME" -d "token=$A1" >/dev/null
secret "$(jar_value "$OJ3" sub_operator)"
expect_eq "a huge CSRF field is refused" 403 "$(http POST "$U/customers" -b "$OJ3" -H "$SAME" -d "csrf=$BIGC")"
expect_eq "a CSRF header of the wrong size is refused" 403 "$(http POST "$U/customers" -b "$OJ3" -H "$SAME" -H "X-CSRF-Token: $BIGC")"
expect_eq "the server is still up" 200 "$(http GET "$U/healthz")"

# --- server-side expiry
stop subs
start subs bin/subscriptions serve --listen "127.0.0.1:$PORT" --db "$DB" --admin-token "$A1" --session-lifetime 1
wait_http "$U/healthz"
EJ="$T/expiry.jar"
http POST "$U/login" -c "$EJ" -H "$SAME" -d "token=$A1" >/dev/null
secret "$(jar_value "$EJ" sub_operator)"
expect_eq "a session with --session-lifetime 1 works at once" 200 "$(http GET "$U/customers" -b "$EJ")"
sleep 2
expect_eq "... and ends on the server after a second, whatever the browser sends" 401 \
    "$(http GET "$U/customers" -H "Cookie: sub_operator=$(jar_value "$EJ" sub_operator)")"

# --- command line
bin/subscriptions serve --help >"$T/help" 2>&1
check "serve --help documents --admin-token" grep -q -- '--admin-token TOKEN' "$T/help"
check "serve --help documents --session-lifetime" grep -q -- '--session-lifetime SECONDS' "$T/help"
bin/subscriptions serve --listen 127.0.0.1:0 --db "$T/x.db" --admin-token short >"$T/bad.out" 2>&1
expect_eq "a short admin token exits 2" 2 $?
check "... with a one-line message that does not echo it" sh -c "grep -q 'admin token has' '$T/bad.out' && ! grep -q 'short' '$T/bad.out'"
bin/subscriptions serve --listen 127.0.0.1:0 --db "$T/x.db" --admin-token 'with space and long enough' >"$T/bad.out" 2>&1
expect_eq "an admin token with a space exits 2" 2 $?

# --- without an admin token: loopback clients are served, and serve says so
stop subs
start subs bin/subscriptions serve --listen "127.0.0.1:$PORT" --db "$DB"
wait_http "$U/healthz"
check "serve says the operator's routes answer loopback only" grep -q 'no admin token configured' "$T/subs.log"
expect_eq "no admin token: a loopback client needs nothing" 200 "$(http POST "$U/customers/$C/payments" -d amount_cents=1)"
expect_eq "... and is recorded as the operator on loopback" operator:loopback \
    "$(sqlite3 "$DB" "select author from domain_events order by seq desc limit 1")"
expect_eq "no admin token: the sign-in page says there is none" 200 "$(http GET "$U/login" -H "$HTML")"
check "... and why" grep -q 'No admin token is configured' "$T/body"
expect_eq "no admin token: POST /login: 404" 404 "$(http POST "$U/login" -d "token=$A1")"
expect_eq "no admin token: a cross-site post is still refused" 403 "$(http POST "$U/customers/$C/lock" -H "$EVIL")"
stop subs
}

{ main; } >"$T/out" 2>&1
cat "$T/out"

# --- no secret in any log: the program's (all runs) and this script's output
leaks=0
while read -r s; do
    [ -n "$s" ] || continue
    if grep -qF -- "$s" "$T/subs.log" "$T/out" "$T/close.out" 2>/dev/null; then leaks=$((leaks + 1)); fi
done <"$SECRETS"
expect_eq "no admin token, session id, CSRF token or login key of the $(wc -l <"$SECRETS" | tr -d ' ') used appears in the logs" 0 "$leaks"
check "the log names a session by its id's SHA-256 prefix instead" \
    grep -q "msg=\"operator signed in\" token=1 session=$SH" "$T/subs.log"
finish
