#!/bin/sh
# Who may do what, in headless Chromium (Debian's chromium and
# chromium-driver): an operator signs in with the admin token and makes a
# change, a page of another origin that posts a form to Subscriptions with
# the operator's cookie is refused, the operator signs out, and a
# customer's admin signs in to the portal and makes a change there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webdriver.sh"

wd_require
PORT=$(free_port)
SUB="http://127.0.0.1:$PORT"
ADMIN="browser-admin-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
AUTH="Authorization: Bearer $ADMIN"
SHOTS=${SCREENSHOTS:-}
start subs bin/subscriptions serve --listen "127.0.0.1:$PORT" --db "$T/subs.db" --admin-token "$ADMIN"
wait_http "$SUB/healthz" || { not_ok "Subscriptions starts"; finish; }
wd_session

# lacks TEXT: succeeds when the page's visible text does not contain TEXT.
lacks() { ! wd_has "$1"; }

# customer_json ID PATH: a field of the customer, read with the admin token.
customer_json() { http GET "$SUB/customers/$1" -H "$AUTH" >/dev/null; json "$2"; }

# --- the operator
wd_open "$SUB/customers"
check "Operator: a page without a session leads to the sign-in page" eventually 3 wd_has "Operator sign-in"
wd_type 'input[name=token]' "wrong-token-0123456789"
wd_click 'form[action="/login"] button'
check "Operator: a wrong token is refused on the page" eventually 3 wd_has "not valid"
wd_type 'input[name=token]' "$ADMIN"
wd_click 'form[action="/login"] button'
check "Operator: signing in with the admin token shows the customers" eventually 3 wd_has "Signed in as operator (admin token 1)"
wd_type 'form[action="/customers"] input[name=name]' "Browser Co"
wd_click 'form[action="/customers"] button'
check "Operator: registering a customer from the page works" eventually 3 wd_has "Browser Co"
C=$(http GET "$SUB/customers" -H "$AUTH" >/dev/null; json '$[0].id')
wd_type 'input[name=email]' "admin@browser.example"
wd_click 'form[action$="/users"] button'
check "Operator: adding a user shows the login key once" eventually 3 wd_has "admin@browser.example"
KEY=$(wd_text | grep -oE '[A-Za-z0-9_-]{43}' | head -1)
check "Operator: the page shows a 43-character login key" test -n "$KEY"
wd_open "$SUB/customers/$C"
wd_click 'form[action$="/admin"] button'
check "Operator: making the user a customer admin from the page works" eventually 3 wd_has "Remove admin"
expect_eq "Operator: ... as the customer says" 1 "$(customer_json "$C" '$.users[0].admin')"
check "Operator: the history names the signed-in operator" wd_has "operator (token 1, session"
no_console_errors "Operator pages: no console errors"
[ -z "$SHOTS" ] || wd_screenshot "$SHOTS/subscriptions-operator.png"

# --- a page of another origin (the same host, another port: the same
# site, so the browser sends the SameSite=Strict cookie along) posts a
# payment with the operator's cookie.
EVIL_PORT=$(free_port)
mkdir -p "$T/evil"
cat >"$T/evil/index.html" <<EOF
<!doctype html><title>Win a prize</title>
<form id="f" method="post" action="$SUB/customers/$C/payments">
<input type="hidden" name="amount_cents" value="99999"></form>
<script>document.getElementById("f").submit();</script>
EOF
start evil python3 -m http.server --bind 127.0.0.1 --directory "$T/evil" "$EVIL_PORT"
wait_http "http://127.0.0.1:$EVIL_PORT/" || not_ok "the other origin's page is served"
wd_open "http://127.0.0.1:$EVIL_PORT/"
check "Another origin: its form post is refused with a page saying why" eventually 5 wd_has "another site"
expect_eq "Another origin: ... and no payment was recorded" 0 "$(customer_json "$C" '$.balance_cents')"
wd_console_errors >/dev/null

# --- the operator signs out
wd_open "$SUB/customers/$C"
wd_click 'form[action="/logout"] button'
check "Operator: signing out leads to the sign-in page" eventually 3 wd_has "Operator sign-in"
wd_open "$SUB/customers/$C"
check "Operator: after signing out the pages need a sign-in again" eventually 3 wd_has "Operator sign-in"

# --- the customer's admin, in the portal
wd_open "$SUB/portal/login"
wd_type 'input[name=email]' "admin@browser.example"
wd_type 'input[name=login_key]' "$KEY"
wd_click 'form[action="/portal/login"] button'
check "Portal: the customer's admin signs in and sees the customer" eventually 3 wd_has "Signed in as admin@browser.example (administrator)"
check "Portal: ... its balance" wd_has "Balance"
check "Portal: ... and none of the operator's forms" lacks "Record payment"
wd_type 'input[name=email]' "second@browser.example"
wd_click 'form[action$="/users"] button'
check "Portal: the admin adds a user, whose key is shown once" eventually 3 wd_has "second@browser.example"
expect_eq "Portal: ... recorded as made by the admin" "user:$(customer_json "$C" '$.users[0].user_id')" \
    "$(sqlite3 "$T/subs.db" "select author from domain_events where type = 'user_added' order by seq desc limit 1")"
wd_open "$SUB/portal/customers/c_0000000000000000"
check "Portal: another customer's id is not found" eventually 3 wd_has "Not found"
wd_console_errors >/dev/null
wd_open "$SUB/portal"
check "Portal: /portal leads to the user's own customer" eventually 3 wd_has "Browser Co"
no_console_errors "Portal pages: no console errors"
[ -z "$SHOTS" ] || wd_screenshot "$SHOTS/subscriptions-portal.png"
wd_click 'form[action="/portal/logout"] button'
check "Portal: signing out leads to the portal's sign-in" eventually 3 wd_has "Customer portal"

finish
