#!/bin/sh
# Browser tests in headless Chromium (Debian's chromium and chromium-driver):
# the pages a person uses render what they need, forms work, and no page
# logs a console error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"
. "$(dirname "$0")/webdriver.sh"

wd_require
start_system 1 || { not_ok "the system starts"; finish; }
wd_session
SHOTS=${SCREENSHOTS:-}

# Subscriptions: register a customer and add a user from the pages.
wd_open "$SUB/"
check "Subscriptions: the home page lists customers and offers a form" wd_find 'form input[name=name]'
wd_type 'form input[name=name]' "Browser Co"
wd_click 'form button[type=submit], form input[type=submit]'
check "Subscriptions: registering from the page shows the new customer" eventually 3 wd_has "Browser Co"
wd_type 'input[name=email]' "web@browser.example"
wd_click 'form[action$="/users"] button, form[action$="/users"] input[type=submit]'
check "Subscriptions: adding a user from the page shows the login key once" eventually 3 wd_has "web@browser.example"
KEYTEXT=$(wd_text | grep -oE '[A-Za-z0-9_-]{43}' | head -1)
check "Subscriptions: the page shows a 43-character login key" test -n "$KEYTEXT"
no_console_errors "Subscriptions pages: no console errors"
[ -z "$SHOTS" ] || wd_screenshot "$SHOTS/subscriptions.png"

# The feed's HTML view (Basic auth with the token as password: "?login"
# asks for it; test_feed_browser_chromium.sh tests the feed browser).
wd_open "http://feeds:$TOKEN@127.0.0.1:$SUB_PORT/feeds/subscriptions?login"
check "Feed view: the subscriptions feed renders its entries as HTML" eventually 3 wd_has "UserAdded"
check "Feed view: each event's fields are shown" wd_has "web@browser.example"
no_console_errors "Feed view: no console errors"
[ -z "$SHOTS" ] || wd_screenshot "$SHOTS/feed.png"

# Product 1: sign in with the key, run an analysis.
check "Product 1 knows the new user" eventually 3 login_is 303 web@browser.example "$KEYTEXT"
wd_open "$P1/"
wd_type 'input[name=email]' "web@browser.example"
wd_type 'input[name=login_key]' "$KEYTEXT"
wd_click 'form button[type=submit], form input[type=submit]'
check "Product 1: signing in shows the user's page" eventually 3 wd_has "web@browser.example"
wd_type 'textarea[name=text]' "Hello from a browser test"
wd_click 'form[action="/analyses"] button, form[action="/analyses"] input[type=submit]'
check "Product 1: the analysis appears as done" eventually 5 wd_has "done"
no_console_errors "Product 1 pages: no console errors"
[ -z "$SHOTS" ] || wd_screenshot "$SHOTS/product1.png"

# The system page draws the three contexts and the feeds between them.
wd_open "$SUB/system?subscriptions=$SUB&cloud-api=$API&product1=$P1"
# contexts_drawn: the number of context boxes drawn on the system page.
contexts_drawn() {
    wd POST /execute/sync '{"script":"return document.querySelectorAll(\"#system-diagram g.context\").length","args":[]}'
    [ "$(wd_value '$.value')" = 3 ]
}
check "System page: draws the three contexts" eventually 5 contexts_drawn
check "System page: lists the followers with their lag" eventually 5 wd_has "/feeds/subscriptions"
no_console_errors "System page: no console errors"
[ -z "$SHOTS" ] || wd_screenshot "$SHOTS/system.png"

# Status page.
wd_open "$API/status"
check "Status page: shows the Cloud API's follower" eventually 3 wd_has "/feeds/subscriptions"
no_console_errors "Status page: no console errors"

finish
