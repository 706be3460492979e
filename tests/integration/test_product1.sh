#!/bin/sh
# Product 1 against the contract samples of the subscriptions feed, served by
# build/tests/feedserve, and a real Cloud API process following the same
# feed: sign-in paths and cookie flags, analyses done through the Cloud API,
# queued while it is stopped and done after it restarts with no user action,
# sign-in while Subscriptions' feed is down, sessions ended by a revoked key,
# a lock and a removal, sign-out, session expiry, and the AnalysisCompleted
# entries the program publishes in the shape of its contract sample.
. "$(dirname "$0")/lib.sh"

SAMPLES=tests/samples/subscriptions
EMAIL=ada@example.com
KEY1=kmOH4d1Wx6m9SVZE9mcTz4tagUOh5hn0I0JIxYptLr8   # UserAdded; revoked by LoginKeyRevoked
KEY2=Q63wgyfW3F9D9HGMbqZ_KoSplEN57MtbYKAo_1hXoSM   # LoginKeyIssued

FEED_PORT=$(free_port); API_PORT=$(free_port); P1_PORT=$(free_port)
FEED=http://127.0.0.1:$FEED_PORT/feeds/subscriptions
API=http://127.0.0.1:$API_PORT
P1=http://127.0.0.1:$P1_PORT

# samples NAME...: appends the sample events NAME to the subscriptions feed.
samples() {
    for n in "$@"; do set -- "$@" "$SAMPLES/$n.xml"; shift; done
    build/tests/samplefeed --db "$T/subscriptions.db" --feed subscriptions "$@" >/dev/null
}

start_feed() {
    start feed build/tests/feedserve --db "$T/subscriptions.db" --listen "127.0.0.1:$FEED_PORT" \
        --feed subscriptions
    wait_http "$FEED"
}
start_api() {
    start cloud-api bin/cloud-api serve --listen "127.0.0.1:$API_PORT" --db "$T/cloud-api.db" \
        --usage-window 1 --node test
    wait_http "$API/healthz"
}
# start_p1 [OPTIONS...]: Product 1's server on its test database.
start_p1() {
    start product1 bin/product1 serve --listen "127.0.0.1:$P1_PORT" --db "$T/product1.db" \
        --cloud-api "$API" --retry-max 2 "$@"
    wait_http "$P1/healthz"
}

# login JAR EMAIL KEY: signs in, keeping the cookie in $T/JAR; prints the status.
login() {
    http POST "$P1/login" -c "$T/$1" --data-urlencode "email=$2" --data-urlencode "login_key=$3"
}
login_is() { [ "$(login jar.tmp "$2" "$3")" = "$1" ]; }
# list_is STATUS JAR: GET /analyses as a script gets STATUS.
list_is() { [ "$(http GET "$P1/analyses" -b "$T/$2" -H 'Accept: application/json')" = "$1" ]; }
body_has() { grep -q -- "$1" "$T/body"; }
error_has() { json '$.error' | grep -q -- "$1"; }
cookie_has() { header Set-Cookie | grep -q -- "$1"; }
# analyses_has JAR PATTERN: the user's JSON list matches PATTERN.
analyses_has() {
    curl -s -b "$T/$1" -H 'Accept: application/json' "$P1/analyses" | grep -q -- "$2"
}

# ---- The programs -----------------------------------------------------------
bin/product1 --help >/dev/null
expect_eq "product1 --help exits 0" 0 $?
bin/product1 serve --bogus 2>/dev/null
expect_eq "product1 serve with a bad argument exits 2" 2 $?
bin/product1 serve --cloud-api ftp://x 2>/dev/null
expect_eq "product1 serve with a bad --cloud-api exits 2" 2 $?
bin/product1 follow --help | grep -q -- --poll-interval
expect_eq "product1 follow --help shows its options" 0 $?

samples CustomerRegistered UserAdded LoginKeyIssued CreditUpdated
start_feed
start_api
start cloud-api-follow bin/cloud-api follow --db "$T/cloud-api.db" --feed "$FEED"
start_p1
start product1-follow bin/product1 follow --db "$T/product1.db" --feed "$FEED"

# ---- Sign-in ----------------------------------------------------------------
expect_eq "GET / is the sign-in page" 200 "$(http GET "$P1/" -H 'Accept: text/html')"
check "the sign-in page has the email and login key fields" \
    sh -c "grep -q 'name=\"email\"' '$T/body' && grep -q 'name=\"login_key\"' '$T/body'"
check "the replica signs in the sample user" eventually 5 login_is 303 "$EMAIL" "$KEY1"
expect_eq "a good pair: 303" 303 "$(login jar1 "$EMAIL" "$KEY1")"
expect_eq "... to the user's page" / "$(header Location)"
COOKIE=$(header Set-Cookie)
check "the session cookie is HttpOnly" sh -c "echo '$COOKIE' | grep -q 'HttpOnly'"
check "the session cookie is SameSite=Strict" sh -c "echo '$COOKIE' | grep -q 'SameSite=Strict'"
check "the session cookie has Path=/ and an expiry" \
    sh -c "echo '$COOKIE' | grep -q 'Path=/' && echo '$COOKIE' | grep -q 'Max-Age=28800'"
check "the session id is 64 random hex digits" \
    sh -c "echo '$COOKIE' | grep -Eq '^p1_session=[0-9a-f]{64};'"
expect_eq "a wrong key: 401" 401 "$(login x "$EMAIL" wrong-key)"
expect_eq "a wrong email: 401" 401 "$(login x bob@example.com "$KEY1")"
check "... with a JSON reason" error_has "do not match"
expect_eq "a missing login_key: 400" 400 "$(http POST "$P1/login" -d "email=$EMAIL")"
expect_eq "broken JSON: 400" 400 "$(http POST "$P1/login" -H 'Content-Type: application/json' -d '{')"
expect_eq "an overlong UTF-8 email: 400" 400 "$(http POST "$P1/login" -d "email=a%C0%80@example.com&login_key=x")"
check "... naming the field" error_has "the field email"
expect_eq "a number as login_key: 400" 400 \
    "$(http POST "$P1/login" -H 'Content-Type: application/json' -d "{\"email\":\"$EMAIL\",\"login_key\":7}")"
expect_eq "a browser's wrong pair: 401 with the sign-in page" 401 \
    "$(http POST "$P1/login" -H 'Accept: text/html' -d "email=$EMAIL&login_key=nope")"
check "... saying so" body_has "do not match"
expect_eq "GET /login: 405" 405 "$(http GET "$P1/login")"
expect_eq "the signed-in user's page" 200 "$(http GET "$P1/" -b "$T/jar1" -H 'Accept: text/html')"
check "... shows who is signed in and the form" \
    sh -c "grep -q '$EMAIL' '$T/body' && grep -q 'action=\"/analyses\"' '$T/body'"
check "the user's page has no Cloud API banner before any trouble" \
    sh -c "! grep -q 'cloud-down' '$T/body'"

# ---- Analyses through the real Cloud API -----------------------------------
expect_eq "GET /analyses signed out: 401" 401 "$(http GET "$P1/analyses" -H 'Accept: application/json')"
expect_eq "POST /analyses signed out: 401" 401 "$(http POST "$P1/analyses" -d text=x)"
expect_eq "GET /analyses: an empty list" "[]" "$(curl -s -b "$T/jar1" -H 'Accept: application/json' "$P1/analyses")"
check "the Cloud API accepts the sample key (its replica follows the same feed)" \
    eventually 5 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $KEY2' -d x '$API/api/v1/analyze')\" = 200 ]"
expect_eq "POST /analyses: 201 with the result" 201 \
    "$(http POST "$P1/analyses" -b "$T/jar1" -H 'Accept: application/json' --data-urlencode 'text=Hello, Cloud API.
Second line')"
expect_eq "... done" done "$(json '$.status')"
expect_eq "... its words" 5 "$(json '$.result.words')"
expect_eq "... its units" 1 "$(json '$.result.units')"
FIRST=$(json '$.id')
expect_eq "... and a Location" "/analyses/$FIRST" "$(header Location)"
expect_eq "GET /analyses/ID" 200 "$(http GET "$P1/analyses/$FIRST" -b "$T/jar1")"
expect_eq "GET /analyses/unknown: 404" 404 "$(http GET "$P1/analyses/an_nope" -b "$T/jar1")"
expect_eq "a JSON body works too" 201 \
    "$(http POST "$P1/analyses" -b "$T/jar1" -H 'Content-Type: application/json' -d '{"text":"json text"}')"
expect_eq "an empty text: 400" 400 "$(http POST "$P1/analyses" -b "$T/jar1" -d 'text=%20')"
expect_eq "a browser's form post: 303 back to the user's page" 303 \
    "$(http POST "$P1/analyses" -b "$T/jar1" -H 'Accept: text/html' -d 'text=from+a+form')"
check "... Location / with a one-time message" sh -c "echo '$(header Location)' | grep -qE '^/[?]flash=[0-9a-f]{32}\$'"
FLASH=$(header Location)
http GET "$P1$FLASH" -b "$T/jar1" -H 'Accept: text/html' >/dev/null
check "... which says what happened" body_has 'id="flash"'
http GET "$P1$FLASH" -b "$T/jar1" -H 'Accept: text/html' >/dev/null
check "... once" sh -c "! grep -q 'id=\"flash\"' '$T/body'"
check "the history shows the start of each text" body_has '<td class="preview" title="from a form">from a form</td>'

http GET "$P1/analyses" -b "$T/jar1" -H 'Accept: application/json' >/dev/null
expect_eq "GET /analyses lists the three" 3 "$(sqlite3 :memory: "select json_array_length(readfile('$T/body'))")"
expect_eq "... each with id, status, created_at and result" "done" \
    "$(sqlite3 :memory: "select json_extract(readfile('$T/body'), '\$[0].status')")"
expect_eq "GET /analyses for a browser: the user's page" 200 "$(http GET "$P1/analyses" -b "$T/jar1" -H 'Accept: text/html')"
check "... listing results" sh -c "grep -q 'badge done' '$T/body'"

# The product1 feed: one AnalysisCompleted per completed analysis, in the
# shape of the contract sample.
curl -s "$P1/feeds/product1" >"$T/p1feed.xml"
expect_eq "each completed analysis is published once" 3 "$(grep -o '<AnalysisCompleted ' "$T/p1feed.xml" | wc -l | tr -d ' ')"
build/tests/samplefeed --print tests/samples/product1/AnalysisCompleted.xml >"$T/want"
build/tests/samplefeed --print "$T/p1feed.xml" | sort -u >"$T/got"
check "the published entries have the sample's type, version and fields" cmp -s "$T/want" "$T/got"

# ---- The Cloud API stopped: queued, then done with no user action -----------
stop cloud-api
expect_eq "Cloud API down: POST /analyses is 202" 202 \
    "$(http POST "$P1/analyses" -b "$T/jar1" -H 'Accept: application/json' -d 'text=while+the+API+is+down')"
expect_eq "... queued" queued "$(json '$.status')"
QUEUED=$(json '$.id')
check "Cloud API down: the list shows it queued" analyses_has jar1 "\"id\":\"$QUEUED\",\"status\":\"queued\""
http GET "$P1/" -b "$T/jar1" -H 'Accept: text/html' >/dev/null
check "Cloud API down: the user's page shows the banner" body_has 'id="cloud-down"'
check "... saying work is queued, in good English" body_has "1 of your analyses is queued and will run by itself as soon"
check "Cloud API down: history is still shown" body_has "badge done"
expect_eq "Cloud API down: a browser's post still goes back to the page" 303 \
    "$(http POST "$P1/analyses" -b "$T/jar1" -H 'Accept: text/html' -d 'text=second+while+down')"
start_api
check "Cloud API back: the queued analyses complete with no user action" eventually 20 \
    sh -c "! curl -s -b '$T/jar1' -H 'Accept: application/json' '$P1/analyses' | grep -q queued"
check "... the first one is done" analyses_has jar1 "\"id\":\"$QUEUED\",\"status\":\"done\""
http GET "$P1/" -b "$T/jar1" -H 'Accept: text/html' >/dev/null
check "... and the banner is gone" sh -c "! grep -q 'cloud-down' '$T/body'"
expect_eq "... each published once" 5 "$(curl -s "$P1/feeds/product1" | grep -o '<AnalysisCompleted ' | wc -l | tr -d ' ')"

# ---- Subscriptions down: sign-in still works ---------------------------------
stop feed
expect_eq "Subscriptions' feed down: sign-in still works" 303 "$(login jar2 "$EMAIL" "$KEY2")"
expect_eq "... and the history is shown" 200 "$(http GET "$P1/analyses" -b "$T/jar2" -H 'Accept: application/json')"
start_feed

# ---- A revoked key ends its session; a lock ends them all ---------------------
samples LoginKeyRevoked
check "a revoked key ends the session signed in with it" eventually 5 list_is 401 jar1
check "... not the session with the user's other key" list_is 200 jar2
http GET "$P1/" -b "$T/jar1" -H 'Accept: text/html' >/dev/null
check "... and its sign-in page says why: the key was revoked" body_has 'id="sign-in-notice" role="status">You were signed out because your login key was revoked.'
expect_eq "signing in with the revoked key: 401, as a wrong key" 401 "$(login x "$EMAIL" "$KEY1")"
wrong_body=$(login x "$EMAIL" "wrong-$KEY1" >/dev/null; cat "$T/body")
check "... with the very answer a wrong key gets" [ "$(login x "$EMAIL" "$KEY1" >/dev/null; cat "$T/body")" = "$wrong_body" ]
samples CustomerLocked
check "a locked customer's sessions end" eventually 5 list_is 401 jar2
expect_eq "signing in to a locked customer: 403" 403 "$(login x "$EMAIL" "$KEY2")"
check "... saying it is locked" error_has locked
expect_eq "a browser that was signed in is sent to the sign-in page" 303 \
    "$(http GET "$P1/analyses" -b "$T/jar2" -H 'Accept: text/html')"
http GET "$P1/" -b "$T/jar2" -H 'Accept: text/html' >/dev/null
check "... which says why: the customer is locked" body_has 'You were signed out because your customer is locked'
samples CustomerUnlocked
check "an unlocked customer's user signs in again" eventually 5 login_is 303 "$EMAIL" "$KEY2"

# ---- Sign-out --------------------------------------------------------------
login jar3 "$EMAIL" "$KEY2" >/dev/null
expect_eq "POST /logout: 303" 303 "$(http POST "$P1/logout" -b "$T/jar3" -c "$T/jar3")"
expect_eq "... to /" / "$(header Location)"
check "... clearing the cookie" cookie_has 'Max-Age=0' 
check "after sign-out the session is gone" list_is 401 jar3

# ---- Hostile input -------------------------------------------------------------
head -c 20000 /dev/zero | tr '\0' a >"$T/big"
expect_eq "a login body over its limit: 413" 413 "$(http POST "$P1/login" --data-binary "@$T/big")"
expect_eq "a garbage session cookie: 401" 401 \
    "$(http GET "$P1/analyses" -H 'Cookie: p1_session=zz; p1_session=%00' -H 'Accept: application/json')"
expect_eq "a JSON body that is not an object: 400" 400 \
    "$(http POST "$P1/login" -H 'Content-Type: application/json' -d '[1,2]')"
login jar5 "$EMAIL" "$KEY2" >/dev/null
head -c 1100000 /dev/zero | tr '\0' a | sed 's/^/text=/' >"$T/huge"
expect_eq "a text over 1 MiB: 413" 413 "$(http POST "$P1/analyses" -b "$T/jar5" --data-binary "@$T/huge")"
expect_eq "the server still answers" 200 "$(http GET "$P1/healthz")"

samples UserRemoved
check "a removed user can no longer sign in (401, as a wrong key)" eventually 5 login_is 401 "$EMAIL" "$KEY2"
check "... with the very answer a wrong key gets" [ "$(cat "$T/body")" = "$wrong_body" ]

# ---- Session expiry (a short --session-lifetime) -----------------------------
stop product1
start_p1 --session-lifetime 2
# The user comes back as a new user id holding a new key id with KEY2's text.
KEY2_SHA=$(printf '%s' "$KEY2" | sha256sum | cut -d' ' -f1)
sed -e 's/u_8a3e2f6b1c0d4e59/u_again/; s/k_2b7f9c1e4a6d8053/k_again/' \
    -e "s/<keySha256>[0-9a-f]*</<keySha256>$KEY2_SHA</" "$SAMPLES/UserAdded.xml" >"$T/UserAddedAgain.xml"
build/tests/samplefeed --db "$T/subscriptions.db" --feed subscriptions --fresh-ids \
    "$T/UserAddedAgain.xml" >/dev/null
check "the user added again signs in" eventually 5 login_is 303 "$EMAIL" "$KEY2"
login jar4 "$EMAIL" "$KEY2" >/dev/null
check "the cookie carries the short lifetime" cookie_has 'Max-Age=2$'
check "the fresh session works" list_is 200 jar4
sleep 3
check "an expired session is signed out" list_is 401 jar4
expect_eq "... and GET / shows the sign-in page again" 200 "$(http GET "$P1/" -b "$T/jar4" -H 'Accept: text/html')"
check "... (the sign-in form)" body_has 'action="/login"'
check "... saying that the session expired" body_has 'You were signed out because your session expired.'
http GET "$P1/" -H 'Accept: text/html' >/dev/null
check "a browser that never signed in is told nothing of the kind" sh -c "! grep -q 'sign-in-notice' '$T/body'"

# ---- Operations --------------------------------------------------------------
expect_eq "GET /healthz" 200 "$(http GET "$P1/healthz")"
expect_eq "GET /status" 200 "$(http GET "$P1/status" -H 'Accept: application/json')"
check "... shows the follower of the subscriptions feed" body_has "feeds/subscriptions"
expect_eq "GET /metrics" 200 "$(http GET "$P1/metrics")"
check "... with Product 1's own metrics" body_has 'product1_analyses{status="done"} 5'
expect_eq "GET /static/product1.js" 200 "$(http GET "$P1/static/product1.js")"
expect_eq "an unknown route: 404" 404 "$(http GET "$P1/nope")"

finish
