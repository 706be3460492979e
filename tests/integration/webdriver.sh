# webdriver.sh - drive headless Chromium from shell tests through
# chromedriver's W3C WebDriver HTTP API, with curl: no browser-automation
# library needed. Source it after lib.sh.
#
#   wd_require               ends the test, not ok, without chromedriver
#   wd_start                 starts chromedriver and a browser session (closed
#                            at exit by lib.sh's cleanup, or with wd_stop)
#   wd_session               wd_start, or not ok and the end of the test
#   wd_open URL              navigates and waits for the page to load
#   wd_type CSS TEXT         types into the first element matching CSS
#   wd_click CSS             clicks it
#   wd_text                  prints the page's visible text
#   wd_js SCRIPT             prints what SCRIPT (a function body) returns
#   wd_async SCRIPT          the same for a script that calls done(value)
#   wd_console_errors        prints the console errors since the last call
#   wd_screenshot FILE       saves a PNG of the page

WD_ARGS='"--headless","--no-sandbox","--disable-gpu","--disable-quic","--no-first-run","--disable-background-networking","--disable-component-update","--disable-sync","--window-size=1200,900"'

# jstr TEXT: TEXT as a JSON string literal.
jstr() { printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"; }

# wd METHOD PATH [JSON]: one WebDriver call; the answer is in $T/wd.json.
wd() {
    curl -s -X "$1" -H 'Content-Type: application/json' --max-time 60 \
        -d "${3:-{\}}" -o "$T/wd.json" "$WD/session/$WD_SESSION$2"
}
wd_value() { sqlite3 :memory: "select json_extract(readfile('$T/wd.json'), '$1')"; }

wd_start() {
    port=$(free_port)
    WD=http://127.0.0.1:$port
    start chromedriver chromedriver --port="$port"
    wait_http "$WD/status" || return 1
    WD_SESSION=
    curl -s -X POST -H 'Content-Type: application/json' -o "$T/wd.json" "$WD/session" -d \
        "{\"capabilities\":{\"alwaysMatch\":{\"browserName\":\"chrome\",\"goog:chromeOptions\":{\"binary\":\"/usr/bin/chromium\",\"args\":[$WD_ARGS]},\"goog:loggingPrefs\":{\"browser\":\"ALL\"}}}}"
    WD_SESSION=$(wd_value '$.value.sessionId')
    [ -n "$WD_SESSION" ]
}

# wd_require: ends the test with a "not ok" when chromedriver is missing.
wd_require() {
    command -v chromedriver >/dev/null ||
        { not_ok "chromedriver is installed (make test installs chromium-driver)"; finish; }
}

# wd_session: wd_start, or a "not ok" with chromedriver's log and the end
# of the test.
wd_session() {
    wd_start || { not_ok "a headless Chromium session starts"; cat "$T/chromedriver.log"; finish; }
}

# wd_stop: ends the browser session, so chromedriver closes the browser.
wd_stop() {
    [ -n "${WD_SESSION:-}" ] || return 0
    curl -s -X DELETE --max-time 10 -o /dev/null "$WD/session/$WD_SESSION"
    WD_SESSION=
}
CLEANUP_HOOKS="$CLEANUP_HOOKS wd_stop"

wd_open() { wd POST /url "{\"url\":$(jstr "$1")}"; }

# wd_find CSS: prints the element id of the first match (empty if none).
wd_find() {
    wd POST /element "{\"using\":\"css selector\",\"value\":$(jstr "$1")}"
    wd_value '$.value.element-6066-11e4-a52e-4f735466cecf'
}

wd_type() {
    e=$(wd_find "$1"); [ -n "$e" ] || return 1
    wd POST "/element/$e/value" "{\"text\":$(jstr "$2")}"
}

wd_click() {
    e=$(wd_find "$1"); [ -n "$e" ] || return 1
    wd POST "/element/$e/click" '{}'
}

wd_text() {
    wd POST /execute/sync '{"script":"return document.body.innerText","args":[]}'
    wd_value '$.value'
}

# wd_js SCRIPT: prints what SCRIPT (a function body) returns in the page.
wd_js() { wd POST /execute/sync "{\"script\":$(jstr "$1"),\"args\":[]}"; wd_value '$.value'; }
# wd_async SCRIPT: the same for a script that calls done(value) when ready.
wd_async() {
    wd POST /execute/async "{\"script\":$(jstr "const done = arguments[arguments.length - 1]; $1"),\"args\":[]}"
    wd_value '$.value'
}

# wd_has TEXT: succeeds when the page's visible text contains TEXT.
wd_has() { wd_text | grep -qF -- "$1"; }

wd_console_errors() {
    wd POST /se/log '{"type":"browser"}'
    sqlite3 :memory: "select message from json_each(json_extract(readfile('$T/wd.json'), '\$.value')) where json_extract(value, '\$.level') = 'SEVERE'" 2>/dev/null
}

wd_screenshot() {
    wd GET /screenshot
    wd_value '$.value' | base64 -d >"$1"
}

# no_console_errors DESCRIPTION: ok when the page logged no console error.
no_console_errors() {
    errs=$(wd_console_errors)
    if [ -z "$errs" ]; then ok "$1"; else not_ok "$1" "$errs"; fi
}
