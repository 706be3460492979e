#!/bin/sh
# The feed browser in headless Chromium, against the real system: a
# protected feed explains the token instead of opening a bare password
# dialog (also when reached from the customers page), the feed is in the
# site's layout and newest first, an entry has its page, and the live tail
# shows an entry committed while it is open; no console errors, and the
# browser session is closed at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"
. "$(dirname "$0")/webdriver.sh"

wd_require
start_system 1 || { not_ok "the system starts"; finish; }
wd_session
new_customer FeedBrowserCo >/dev/null || not_ok "a customer is registered"
new_customer SecondCo >/dev/null || not_ok "a second customer is registered"

# js EXPR: prints the value of a JavaScript expression in the page.
js() { wd_js "return $1"; }
js_is() { [ "$(js "$1")" = "$2" ]; }
# newest: the position of the feed's newest entry (each registration also
# publishes CreditUpdated, so positions are read, not assumed).
newest() {
    http GET "$SUB/feeds/subscriptions" -H 'Accept: application/cloudevents-batch+json' \
        -H "Authorization: Bearer $TOKEN" >/dev/null
    json '$[#-1].position'
}

# A protected feed without the token: a page that says what to do.
wd_open "$SUB/feeds/subscriptions"
check "no token: the page says the feed needs the token" eventually 3 wd_has "needs the feed token"
check "no token: it says where make run keeps it" wd_has "var/feed-token"
check "no token: it offers to enter the token" test -n "$(wd_find '#fs-login')"
no_console_errors "token hint: no console errors"
[ -z "${SCREENSHOTS:-}" ] || wd_screenshot "$SCREENSHOTS/feed-token-hint.png"
# The customers page's link to the feed leads there too, not to a dialog.
wd_open "$SUB/"
if wd_click 'a[href="/feeds/subscriptions"]'; then
    check "the customers page's feed link shows the hint" eventually 3 wd_has "needs the feed token"
else
    not_ok "the customers page links to the feed"
fi

# With the token: the hint's link ("?login") makes the browser ask for it
# (a person types it in the dialog; here it comes in the URL once), and the
# browser then sends it for every page of the feeds.
wd_open "http://feeds:$TOKEN@127.0.0.1:$SUB_PORT/feeds/subscriptions?login"
check "after ?login the feed renders" eventually 3 wd_has SecondCo
wd_open "$SUB/feeds/subscriptions"
check "the feed renders its entries" eventually 3 wd_has SecondCo
check "the feed page has the site's header" test -n "$(wd_find 'header .brand')"
N=$(newest)
check "newest first: the top row is the newest entry" js_is \
    "document.querySelector('table.fs-entries tbody tr').id" "e$N"
check "the feed links to its live tail" test -n "$(wd_find 'a[href="/feeds/subscriptions/tail"]')"
no_console_errors "feed page: no console errors"
[ -z "${SCREENSHOTS:-}" ] || wd_screenshot "$SCREENSHOTS/feed-browser.png"
wd_click 'table.fs-entries tbody tr a'
check "an entry's page opens from the list" eventually 3 wd_has "entry $N: "
check "the entry's page links to its Atom" test -n "$(wd_find "a[href\$=\"entries/$N?format=atom\"]")"
check "the entry's page links to its CloudEvents JSON" test -n "$(wd_find "a[href\$=\"entries/$N?format=json\"]")"
no_console_errors "entry page: no console errors"
[ -z "${SCREENSHOTS:-}" ] || wd_screenshot "$SCREENSHOTS/feed-entry.png"

# The live tail: an entry committed while the page is open appears on top.
wd_open "$SUB/feeds/subscriptions/tail"
check "the tail is live" eventually 5 js_is "document.getElementById('fs-tail-state').dataset.live" "1"
check "the tail shows the newest entry" wd_has SecondCo
new_customer TailLiveCo >/dev/null
check "an entry committed later appears in the tail" eventually 5 wd_has TailLiveCo
N=$(newest)
check "... on top" eventually 3 js_is "document.querySelector('#fs-tail tbody tr').id" "e$N"
no_console_errors "live tail: no console errors"
[ -z "${SCREENSHOTS:-}" ] || wd_screenshot "$SCREENSHOTS/feed-tail.png"

# The tail across page boundaries, on a feed of 5 entries a page served by
# the library alone (its own plain page): an empty head (a page just
# filled) shows that page; entries that fill a page between two polls are
# all shown.
FS_PORT=$(free_port)
build/tests/feedgen --db "$T/feeds.db" --feed usage --count 5 --page-size 5 >/dev/null
start feedserve build/tests/feedserve --db "$T/feeds.db" --listen "127.0.0.1:$FS_PORT" --feed usage
wait_http "http://127.0.0.1:$FS_PORT/healthz" || not_ok "feedserve starts"
wd_open "http://127.0.0.1:$FS_PORT/feeds/usage/tail"
check "an empty head: the tail shows the page that just filled" eventually 5 js_is \
    "document.querySelectorAll('#fs-tail tbody tr').length + ':' + document.querySelector('#fs-tail tbody tr').id" "5:e5"
build/tests/feedgen --db "$T/feeds.db" --feed usage --count 7 --page-size 5 >/dev/null
check "a page filled between two polls: every entry is shown, newest on top" eventually 5 js_is \
    "Array.from(document.querySelectorAll('#fs-tail tbody tr')).map(function (r) { return r.id; }).join(',')" \
    "e12,e11,e10,e9,e8,e7,e6,e5,e4,e3,e2,e1"
no_console_errors "live tail across pages: no console errors"

# The session is closed: chromedriver forgets it.
OLD=$WD_SESSION
wd_stop
check "the browser session is closed" sh -c "curl -s '$WD/session/$OLD/url' | grep -q 'invalid session id'"
finish
