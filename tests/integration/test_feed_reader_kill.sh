#!/bin/sh
# A follower killed with SIGKILL at random instants while it catches up a
# feed, restarted each time, ends with every entry applied exactly once and
# its stored position matching what it applied.
#   KILL_ENTRIES (default 20000) entries, KILLS (default 60) kills.
. "$(dirname "$0")/lib.sh"

N=${KILL_ENTRIES:-20000}
KILLS=${KILLS:-60}
PORT=$(free_port)
URL="http://127.0.0.1:$PORT/feeds/k"

build/tests/feedgen --db "$T/prod.db" --feed k --count "$N" --page-size 100 >/dev/null ||
    { not_ok "feedgen"; finish; }
start serve build/tests/feedserve --db "$T/prod.db" --listen "127.0.0.1:$PORT" --feed k --page-size 100
wait_http "$URL" || { not_ok "feedserve answers" "$(cat "$T/serve.log")"; finish; }

# rand_sleep: sleeps 5..84 ms.
rand_sleep() {
    r=$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')
    sleep "0.0$(printf '%02d' $((r % 80 + 5)))"
}

kills=0
mid=0
while [ $kills -lt "$KILLS" ]; do
    start follow build/tests/feedfollow --db "$T/cons.db" --feed "$URL" --slow-us 20
    rand_sleep
    stop follow KILL
    kills=$((kills + 1))
    pos=$(sqlite3 "$T/cons.db" "SELECT position FROM feed_followers" 2>/dev/null)
    case "$pos" in '' | 0 | "$N") ;; *) mid=$((mid + 1)) ;; esac
done
echo "# $kills kills, $mid of them with the feed partly applied"
check "at least 50 followers killed with SIGKILL" [ "$kills" -ge 50 ]
check "kills landed mid catch-up" [ "$mid" -ge 10 ]

start follow build/tests/feedfollow --db "$T/cons.db" --feed "$URL" --until "$N"
caught_up() { [ "$(sqlite3 "$T/cons.db" "SELECT position FROM feed_followers")" = "$N" ]; }
check "the restarted follower catches up" eventually 60 caught_up
stop follow TERM

expect_eq "every entry applied once" "$N|$N|$N|$N" \
    "$(sqlite3 "$T/cons.db" "SELECT count(*), count(DISTINCT id), count(DISTINCT pos), max(pos) FROM applied")"
expect_eq "stored position matches the applied entries" "$N" \
    "$(sqlite3 "$T/cons.db" "SELECT position FROM feed_followers")"
expect_eq "positions 1..N, none missing" "0" \
    "$(sqlite3 "$T/cons.db" "SELECT count(*) FROM applied a WHERE pos > 1 AND NOT EXISTS (SELECT 1 FROM applied b WHERE b.pos = a.pos - 1)")"
if grep -q "refused\|backwards" "$T/follow.log"; then
    not_ok "no refusal or backwards error in the follower's log" "$(grep -m3 'refused\|backwards' "$T/follow.log")"
else
    ok "no refusal or backwards error in the follower's log"
fi
finish
