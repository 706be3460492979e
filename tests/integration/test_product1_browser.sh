#!/bin/sh
# Product 1 in a real browser (headless Chromium through WebDriver): a user
# of the subscriptions samples signs in, submits a text and sees it done;
# with the Cloud API stopped the page shows the banner and the queued
# analysis, and once the Cloud API is back the page itself (web/static/
# product1.js) shows it done without a reload; no console errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/webdriver.sh"

command -v chromedriver >/dev/null 2>&1 || { echo "# chromedriver missing: skipped"; ok "skipped: no chromedriver"; finish; }

SAMPLES=tests/samples/subscriptions
EMAIL=ada@example.com
KEY2=Q63wgyfW3F9D9HGMbqZ_KoSplEN57MtbYKAo_1hXoSM

FEED_PORT=$(free_port); API_PORT=$(free_port); P1_PORT=$(free_port)
FEED=http://127.0.0.1:$FEED_PORT/feeds/subscriptions
API=http://127.0.0.1:$API_PORT
P1=http://127.0.0.1:$P1_PORT

start_api() {
    start cloud-api bin/cloud-api serve --listen "127.0.0.1:$API_PORT" --db "$T/cloud-api.db" --node test
    wait_http "$API/healthz"
}

build/tests/samplefeed --db "$T/subscriptions.db" --feed subscriptions \
    "$SAMPLES/CustomerRegistered.xml" "$SAMPLES/UserAdded.xml" "$SAMPLES/LoginKeyIssued.xml" \
    "$SAMPLES/CreditUpdated.xml" >/dev/null
start feed build/tests/feedserve --db "$T/subscriptions.db" --listen "127.0.0.1:$FEED_PORT" --feed subscriptions
wait_http "$FEED"
start_api
start cloud-api-follow bin/cloud-api follow --db "$T/cloud-api.db" --feed "$FEED"
start product1 bin/product1 serve --listen "127.0.0.1:$P1_PORT" --db "$T/product1.db" --cloud-api "$API" --retry-max 1
wait_http "$P1/healthz"
start product1-follow bin/product1 follow --db "$T/product1.db" --feed "$FEED"

login_ok() {
    [ "$(http POST "$P1/login" --data-urlencode "email=$EMAIL" --data-urlencode "login_key=$KEY2")" = 303 ]
}
api_ok() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY2" -d x "$API/api/v1/analyze")" = 200 ]
}
# all_done / no_banner: the user's page is shown, without "queued" / the banner.
all_done() { t=$(wd_text); echo "$t" | grep -q "Signed in as" && ! echo "$t" | grep -q queued; }
no_banner() { t=$(wd_text); echo "$t" | grep -q "Signed in as" && ! echo "$t" | grep -q "cannot be reached"; }
if eventually 5 login_ok && eventually 5 api_ok; then
    ok "the replicas know the sample user"
else
    not_ok "the replicas know the sample user"
fi

wd_start || { not_ok "the browser starts"; finish; }
wd_open "$P1/"
check "the sign-in page shows its form" eventually 3 wd_has "Sign in to Product 1"
wd_type 'input[name=email]' "$EMAIL"
wd_type 'input[name=login_key]' "$KEY2"
wd_click 'form[action="/login"] button'
check "signing in shows the user's page" eventually 3 wd_has "Signed in as $EMAIL"
check "... with no analyses yet" wd_has "No analyses yet"
wd_type 'textarea[name=text]' "Hello from the browser"
wd_click 'form[action="/analyses"] button'
check "the analysis appears as done" eventually 5 wd_has "done"
no_console_errors "signing in and analysing: no console errors"

stop cloud-api
wd_type 'textarea[name=text]' "While the Cloud API is down"
wd_click 'form[action="/analyses"] button'
check "Cloud API down: the page says it cannot be reached" eventually 5 wd_has "cannot be reached right now"
check "... and lists the analysis as queued" wd_has "queued"
start_api
check "Cloud API back: the page shows it done by itself (no reload)" eventually 20 all_done
check "... and the banner is gone" no_banner
no_console_errors "the live refresh: no console errors"

wd_click 'form[action="/logout"] button'
check "signing out shows the sign-in page" eventually 3 wd_has "Sign in to Product 1"
finish
