#!/bin/sh
# A consumer in another language reads the feeds: tests/tools/feed_walk.py,
# Python's standard library only, walks a real server's feed as CloudEvents
# JSON (by the Link headers) and as Atom (by the <link> elements). Both
# walks must give exactly the same entries, all of them, in order, with the
# JSON fields equal to the Atom ones: first a feed of several pages and
# two event types (feedgen, feedserve), then Subscriptions' own feed with
# names that JSON and XML both have to escape.
. "$(dirname "$0")/lib.sh"

# The whole script gets 120 s; past that the watchdog ends it, and the
# EXIT trap stops everything it started.
(
    _wd=0
    while [ $_wd -lt 120 ] && kill -0 $$ 2>/dev/null; do sleep 1; _wd=$((_wd + 1)); done
    kill -0 $$ 2>/dev/null && echo "not ok - test_feed_python.sh took over 120 s" && kill -TERM $$
) &
echo $! >"$PIDS_DIR/watchdog"

if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3 || echo python3); fi
"$PY" -c 'import json, urllib.request, xml.etree.ElementTree' 2>/dev/null ||
    { not_ok "python3 with its standard library" "$PY does not run"; finish; }
WALK="tests/tools/feed_walk.py"
walk() { timeout 60 "$PY" "$WALK" "$@"; }

# --- a feed of four full pages and a head: 14 UsageRecorded, 9 UserAdded
DB="$T/feed.db"
build/tests/feedgen --db "$DB" --feed usage --count 14 --page-size 5 >/dev/null &&
    build/tests/feedgen --db "$DB" --feed usage --count 9 --page-size 5 --type UserAdded >/dev/null ||
    { not_ok "feedgen made the feed"; finish; }
PORT=$(free_port)
start feedserve build/tests/feedserve --db "$DB" --listen "127.0.0.1:$PORT" --feed usage
wait_http "http://127.0.0.1:$PORT/healthz" || { not_ok "feedserve started"; finish; }
HEAD="http://127.0.0.1:$PORT/feeds/usage"

walk --walk json "$HEAD" >"$T/json.out" 2>"$T/json.err"
expect_eq "the JSON walk succeeds" 0 "$?"
walk --walk atom "$HEAD" >"$T/atom.out" 2>"$T/atom.err"
expect_eq "the Atom walk succeeds" 0 "$?"
expect_eq "the JSON walk reads every entry" 23 "$(wc -l <"$T/json.out" | tr -d ' ')"
expect_eq "the Atom walk reads every entry" 23 "$(wc -l <"$T/atom.out" | tr -d ' ')"
expect_eq "in position order, from 1" "$(seq 1 23 | tr '\n' ' ')" "$(cut -f1 "$T/json.out" | tr '\n' ' ')"
expect_eq "ids are unique" 23 "$(cut -f2 "$T/json.out" | sort -u | wc -l | tr -d ' ')"
expect_eq "both types, in the order appended" "UsageRecorded:14 UserAdded:9" \
    "$(cut -f3 "$T/json.out" | uniq -c | awk '{ printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1 }')"
check "JSON data carries the fields" grep -q '"email": "user8@gen.example"' "$T/json.out"
if cmp -s "$T/json.out" "$T/atom.out"; then
    ok "the JSON and Atom walks give the same entries and fields"
else
    not_ok "the JSON and Atom walks give the same entries and fields" \
        "$(diff "$T/json.out" "$T/atom.out" | head -5)"
fi
walk "$HEAD" >"$T/both.out" 2>&1
expect_eq "feed_walk's own comparison agrees" "0 # the walks agree: 23 entries" "$? $(tail -1 "$T/both.out")"

# The head grows: a walk sees the new entries, by the same links.
build/tests/feedgen --db "$DB" --feed usage --count 3 --page-size 5 >/dev/null
walk --walk json "$HEAD" >"$T/json2.out" 2>&1
expect_eq "after 3 more appends the JSON walk reads 26" 26 "$(wc -l <"$T/json2.out" | tr -d ' ')"
walk --walk atom "$HEAD" >"$T/atom2.out" 2>&1
check "and the Atom walk the same 26" cmp -s "$T/json2.out" "$T/atom2.out"

# --- Subscriptions' feed, with names both representations must escape
SPORT=$(free_port)
SUB="http://127.0.0.1:$SPORT"
start subs bin/subscriptions serve --listen "127.0.0.1:$SPORT" --db "$T/subs.db"
wait_http "$SUB/healthz" || { not_ok "subscriptions started"; finish; }
for name in 'Ada "the" \ <Lovelace> & Co' 'Zoë – 日本 😀' "O'Brien   &amp; sons"; do
    expect_eq "register $name" 201 "$(http POST "$SUB/customers" --data-urlencode "name=$name")"
done
walk --walk json "$SUB/feeds/subscriptions" >"$T/sj.out" 2>"$T/sj.err"
expect_eq "the JSON walk of /feeds/subscriptions succeeds" 0 "$?"
walk --walk atom "$SUB/feeds/subscriptions" >"$T/sa.out" 2>"$T/sa.err"
expect_eq "the Atom walk of /feeds/subscriptions succeeds" 0 "$?"
# (each registration also publishes the customer's CreditUpdated)
expect_eq "three CustomerRegistered" "3 CustomerRegistered" "$(cut -f3 "$T/sj.out" | grep -v CreditUpdated | uniq -c | awk '{ print $1, $2 }')"
check "quotes and backslashes survive JSON" grep -q -F '"name": "Ada \"the\" \\ <Lovelace> & Co"' "$T/sj.out"
check "non-ASCII text survives JSON" grep -q -F '"name": "Zoë – 日本 😀"' "$T/sj.out"
check "markup-like text survives JSON" grep -q -F "\"name\": \"O'Brien   &amp; sons\"" "$T/sj.out"
if cmp -s "$T/sj.out" "$T/sa.out"; then
    ok "JSON and Atom agree on Subscriptions' feed"
else
    not_ok "JSON and Atom agree on Subscriptions' feed" "$(diff "$T/sj.out" "$T/sa.out" | head -5)"
fi

finish
