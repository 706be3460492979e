#!/bin/sh
# The pages of issue 14 in headless Chromium, on the whole system: forms
# that Post/Redirect/Get with a message shown once (a new login key too),
# confirmations before destructive actions, the lock or unlock that
# applies, money in dollars, the paged and searchable customers list, the
# customer's charts, Product 1's text previews and the reason of a
# sign-out, the system page's lag charts, a favicon and HTML error pages on
# all three programs, and no console error anywhere. The browser session
# is closed at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"
. "$(dirname "$0")/webdriver.sh"

wd_require
start_system 1 || { not_ok "the system starts"; finish; }
wd_session
SHOTS=${SCREENSHOTS:-}

# js_is VALUE SCRIPT: succeeds when SCRIPT returns VALUE (true reads 1).
js_is() { [ "$(wd_js "$2")" = "$1" ]; }
lacks() { ! wd_has "$1"; }
reload() { wd_open "$(wd_js 'return location.href')"; }

# --- Subscriptions, as the operator (loopback, no admin token)
wd_open "$SUB/customers"
check "Customers: the registration form is above the list" \
    js_is 1 'return !!(document.querySelector("form[action=\"/customers\"]").compareDocumentPosition(document.getElementById("customers")) & Node.DOCUMENT_POSITION_FOLLOWING)'
wd_type 'form[action="/customers"] input[name=name]' "Pages Co"
wd_type 'form[action="/customers"] input[name=credit_limit]' "50.00"
wd_click 'form[action="/customers"] button'
check "Registering: the customer's page says it was registered" eventually 3 wd_has "Customer Pages Co registered."
check "... with the credit limit typed in dollars" wd_has '$50.00'
C=$(wd_js 'return location.pathname.split("/")[2]')
check "... after a 303 to a GET page (a reload posts nothing)" js_is "/customers/$C" 'return location.pathname'
wd_type 'input[name=email]' "pages@browser.example"
wd_click 'form[action$="/users"] button'
check "Adding a user: a message says so" eventually 3 wd_has "User pages@browser.example added."
KEY=$(wd_js 'const k = document.getElementById("login-key"); return k ? k.textContent : ""')
check "... and the login key is shown once" sh -c "echo '$KEY' | grep -qE '^[A-Za-z0-9_-]{43}\$'"
reload
check "Reloading that page shows the key no more" eventually 3 js_is 1 'return document.getElementById("login-key") === null && document.body.innerText.includes("pages@browser.example")'
http GET "$SUB/customers/$C" -H 'Accept: application/json' >/dev/null
expect_eq "... and issues no other key" 1 "$(sqlite3 :memory: "select json_array_length(readfile('$T/body'), '\$.users[0].keys')")"
wd_type 'input[name=amount]' "12.34"
wd_click 'form[action$="/payments"] button'
check "Paying 12.34: a message in dollars" eventually 3 wd_has 'Payment of $12.34 recorded.'
check "... and the balance reads \$12.34" js_is '$12.34' 'return document.getElementById("balance").textContent'
expect_eq "... while the API keeps cents" 1234 "$(customer_field "$C" '$.balance_cents')"
check "Only Lock is offered while active" js_is "1 0" 'return document.querySelectorAll("a[href$=\"/lock\"]").length + " " + document.querySelectorAll("form[action$=\"/unlock\"]").length'
wd_click 'a[href$="/lock"]'
check "Lock asks for a confirmation first" eventually 3 wd_has "Lock Pages Co?"
expect_eq "... and has not locked yet" active "$(customer_field "$C" '$.status')"
wd_click '#confirm-yes'
check "Confirming locks, and says so" eventually 3 wd_has "Customer locked"
expect_eq "... locked indeed" locked "$(customer_field "$C" '$.status')"
check "Only Unlock is offered while locked" js_is "0 1" 'return document.querySelectorAll("a[href$=\"/lock\"]").length + " " + document.querySelectorAll("form[action$=\"/unlock\"]").length'
wd_click 'form[action$="/unlock"] button'
check "Unlocking says so" eventually 3 wd_has "Customer unlocked"
wd_click 'a[href$="/remove"]'
check "Remove user asks for a confirmation" eventually 3 wd_has "Remove user pages@browser.example from Pages Co?"
wd_click '#confirm-cancel'
check "... and Cancel leaves the user in place" eventually 3 js_is "/customers/$C" 'return location.pathname'
expect_eq "... (still there)" "pages@browser.example" "$(customer_field "$C" '$.users[0].email')"
wd_click 'a[href$="/revoke"]'
check "Revoke key asks for a confirmation" eventually 3 wd_has "Revoke key"
wd_open "$SUB/customers/$C"
no_console_errors "Subscriptions' operator pages: no console errors"

# Consumption: calls with the key are charged and drawn by day.
for i in 1 2 3; do analyze "$KEY" "some text $i" >/dev/null; done
has_bar() { reload; js_is 1 'return document.querySelectorAll("#usage-chart rect.bar").length > 0'; }
check "The customer page draws today's units as a bar" eventually 20 has_bar
check "... and the balance against the credit limit" js_is 1 'return !!document.querySelector("#balance-chart svg") && document.getElementById("balance-chart").textContent.includes("$50.00")'
check "... and lists the invoices" js_is 1 'return !!document.getElementById("invoices")'
no_console_errors "The charts: no console errors"
[ -z "$SHOTS" ] || wd_screenshot "$SHOTS/pages-customer.png"

# Many customers: paging and search.
i=0
while [ $i -lt 55 ]; do curl -s -o /dev/null -d "name=Many $i" "$SUB/customers"; i=$((i + 1)); done
wd_open "$SUB/customers"
check "Customers: 50 a page" js_is 50 'return document.querySelectorAll("#customers tr td a[href^=\"/customers/c_\"]").length'
wd_click 'a[rel=next]'
check "... and the next page holds the rest" eventually 3 js_is 6 'return document.querySelectorAll("#customers tr td a[href^=\"/customers/c_\"]").length'
wd_type 'input[name=q]' "pages@browser"
wd_click 'form.search button'
check "Searching by a user's email finds the customer" eventually 3 js_is "Pages Co" 'const a = document.querySelectorAll("#customers td a"); return a.length === 1 ? a[0].textContent : a.length'
wd_open "$SUB/customers?sort=name&order=desc"
check "Sorting by name, Z first" js_is "Pages Co" 'return document.querySelector("#customers td a").textContent'
no_console_errors "The customers list: no console errors"

# --- Error pages and favicons, on all three programs
for base in "$SUB" "$API" "$P1"; do
    wd_open "$base/no/such/page"
    check "$base: an unknown page is an HTML 404 for a browser" eventually 3 wd_has "404 Not found"
    check "$base: ... whose layout names an icon" js_is 1 'return !!document.querySelector("link[rel=icon][href=\"/favicon.ico\"]")'
    size=$(wd_async 'const i = new Image(); i.onload = () => done(i.naturalWidth + "x" + i.naturalHeight); i.onerror = () => done("error"); i.src = "/favicon.ico";')
    expect_eq "$base: /favicon.ico decodes as a 32x32 image" 32x32 "$size"
    size=$(wd_async 'const i = new Image(); i.onload = () => done(i.naturalWidth > 0 ? "ok" : "empty"); i.onerror = () => done("error"); i.src = "/static/favicon.svg";')
    expect_eq "$base: ... and so does the SVG icon" ok "$size"
    # The 404 of the page itself is the one console error a 404 page logs.
    wd_console_errors | grep -v 'no/such/page' | grep -q . && not_ok "$base: no other console error" "$(wd_console_errors)" || ok "$base: no other console error"
done

# --- Product 1: previews of the texts, and why a user was signed out
check "Product 1 knows the new user" eventually 5 login_is 303 pages@browser.example "$KEY"
wd_open "$P1/"
wd_type 'input[name=email]' "pages@browser.example"
wd_type 'input[name=login_key]' "$KEY"
wd_click 'form[action="/login"] button'
check "Product 1: signed in" eventually 3 wd_has "Signed in as pages@browser.example"
LONG="The start of this text is shown in the history, and the rest after eighty characters is cut off here"
wd_type 'textarea[name=text]' "$LONG"
wd_click 'form[action="/analyses"] button'
check "Product 1: a message after the analysis" eventually 5 js_is 1 'return !!document.getElementById("flash")'
check "... and the history shows the first 80 characters of the text" \
    js_is "The start of this text is shown in the history, and the rest after eighty charac…" 'return document.querySelector("#analyses td.preview").textContent'
no_console_errors "Product 1: no console errors"
[ -z "$SHOTS" ] || wd_screenshot "$SHOTS/pages-product1.png"
KID=$(customer_field "$C" '$.users[0].keys[0].key_id'); UID_=$(customer_field "$C" '$.users[0].user_id')
expect_eq "the operator revokes the key" 204 "$(http DELETE "$SUB/customers/$C/users/$UID_/keys/$KID")"
check "Product 1's open page goes to the sign-in page by itself, saying the key was revoked" \
    eventually 15 wd_has "You were signed out because your login key was revoked."
no_console_errors "Product 1's sign-out: no console errors"

# --- The system page: each follower's lag over time
wd_open "$SUB/system?subscriptions=$SUB&cloud-api=$API&product1=$P1"
check "System page: a lag chart for each of the three followers" eventually 8 \
    js_is 1 'return document.querySelectorAll("#lag-charts figure.lag-chart polyline").length === 3'
no_console_errors "System page: no console errors"
[ -z "$SHOTS" ] || wd_screenshot "$SHOTS/pages-system.png"

# --- The browser session is closed
OLD_SESSION=$WD_SESSION
wd_stop
check "the browser session is closed" sh -c "curl -s '$WD/session/$OLD_SESSION/url' | grep -q 'invalid session id'"
finish
