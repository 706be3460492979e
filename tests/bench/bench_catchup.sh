#!/bin/sh
# bench_catchup.sh - a new, empty Cloud API node joining (issue 11 point 7):
# `bin/cloud-api follow` on an empty database catches up with a
# Subscriptions feed of N UserAdded entries (default 1,000,000; pages of
# 100, the size new Subscriptions databases use), timed END TO END from the
# start of the process (start-up included) until the replica holds
# position N and is built (an empty node stages the entries and builds its
# replica once at the head: contexts/cloud-api/credentials_bulk.h).
#
# Flat RSS means the peak does not grow with the number of users: the peak
# RSS (VmHWM) of the node at the end of the N-user run, build included, is
# printed beside the same peak of a node that caught up with a feed of
# SMALL users (default 100,000; CATCHUP_SMALL), every id random, end to end
# too. (The peak while staging, read as the big run passes SMALL, is
# printed as well. The build at the head adds to it about 1 MiB once, the
# sorter's memory, and the WAL index of the build's one transaction, 8
# bytes per page written: that part grows with the users, 0.7 MiB more at
# 1,000,000 than at 100,000.)
#
# Run three times: on key hashes that count up (feedgen's default: every
# insert lands at the right edge of the key index), on random ones (as real
# SHA-256 values are: every insert lands on a random leaf of the index),
# and with every id random too, as real Subscriptions feeds are (its ids
# are random hex: each index keyed by a user or key id is then a random
# tree as well).
#
# Baseline, same run, same feed: the feed-reader library alone
# (build/tests/feedfollow, a handler that inserts the entry's position),
# i.e. what fetching, parsing and committing cost before the credential
# replica's own inserts. Goal: >= 100,000 entries/s end to end (1,000,000 in
# <= 10 s), flat RSS.
#
# CATCHUP_ENTRIES changes N. Every process started here is stopped on exit.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
. tests/integration/wait.sh
B=build/tests
N=${CATCHUP_ENTRIES:-1000000}
SMALL=${CATCHUP_SMALL:-100000}
PAGE=100
if [ -d /dev/shm ] && [ -w /dev/shm ]; then T=$(mktemp -d -p /dev/shm); else T=$(mktemp -d); fi
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ms() { echo $(($(date +%s%N) / 1000000)); }
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
position() { sqlite3 "$1" 'SELECT max(position) FROM feed_followers' 2>/dev/null; }
# staging DB: 1 while the node still builds its replica in bulk
# (contexts/cloud-api/credentials_bulk.h), else 0.
staging() { sqlite3 "$1" "SELECT count(*) FROM sqlite_schema WHERE name = 'replica_bulk'" 2>/dev/null; }

# serve DB: feedserve on DB; sets URL and SERVER.
serve() {
    port=$($B/freeport)
    $B/feedserve --db "$1" --listen "127.0.0.1:$port" --feed subscriptions 2>>"$T/serve.log" &
    SERVER=$!
    pids="$pids $SERVER"
    URL="http://127.0.0.1:$port/feeds/subscriptions"
    wait_http "$URL" || { echo "feedserve did not start"; exit 1; }
}

# caught_up NAME: whether node NAME has reached position TARGET (true too
# when its follower died, which node() then reports); takes the peak RSS
# at SMALL on the way.
caught_up() {
    p=$(position "$T/$1.db")
    [ -n "$p" ] || p=0
    if [ -z "$RSS_SMALL" ] && [ "$p" -ge "$SMALL" ]; then RSS_SMALL=$(hwm $nd); fi
    { [ "$p" -ge "$TARGET" ] && [ "$(staging "$T/$1.db")" = 0 ]; } || ! kill -0 $nd 2>/dev/null
}

# node NAME [COUNT]: a new Cloud API node follows $URL from an empty
# database $T/NAME.db until position COUNT (default N); sets NODE_MS,
# RSS_SMALL, RSS_END, BUILD_MS.
node() {
    TARGET=${2:-$N}
    t0=$(ms)
    bin/cloud-api follow --db "$T/$1.db" --feed "$URL" 2>"$T/$1.log" &
    nd=$!
    pids="$pids $nd"
    RSS_SMALL=""
    eventually 300 caught_up "$1" || { echo "catch-up did not finish in 300 s"; exit 1; }
    p=$(position "$T/$1.db")
    [ "${p:-0}" -ge "$TARGET" ] || { echo "cloud-api follow died:"; tail -5 "$T/$1.log"; exit 1; }
    NODE_MS=$(($(ms) - t0))
    RSS_END=$(hwm $nd)
    # The part of it spent building the replica at the head (logged just
    # after the build's commit).
    eventually 5 grep -q 'msg="built the credential replica"' "$T/$1.log"
    BUILD_MS=$(sed -n 's/.*msg="built the credential replica".* ms=\([0-9]*\).*/\1/p' "$T/$1.log")
    keys=$(sqlite3 "$T/$1.db" 'SELECT count(*) FROM replica_keys')
    [ "$keys" = "$TARGET" ] || { echo "the replica holds $keys keys, not $TARGET"; exit 1; }
    kill $nd; wait $nd 2>/dev/null
}
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%d", (t > 0 ? n * 1000 / t : 0) }'; }

echo "generating Subscriptions feeds of $N UserAdded entries in pages of $PAGE..."
$B/feedgen --db "$T/sub.db" --feed subscriptions --count "$N" --type UserAdded \
    --page-size $PAGE --batch 10000 >/dev/null || exit 1
$B/feedgen --db "$T/sub-random.db" --feed subscriptions --count "$N" --type UserAdded \
    --page-size $PAGE --batch 10000 --random-keys 1 >/dev/null || exit 1
$B/feedgen --db "$T/sub-real.db" --feed subscriptions --count "$N" --type UserAdded \
    --page-size $PAGE --batch 10000 --random-keys 2 >/dev/null || exit 1
if [ "$SMALL" -lt "$N" ]; then
    $B/feedgen --db "$T/sub-small.db" --feed subscriptions --count "$SMALL" --type UserAdded \
        --page-size $PAGE --batch 10000 --random-keys 2 >/dev/null || exit 1
fi

serve "$T/sub.db"
# Baseline: the library alone, from 0 to N.
t0=$(ms)
$B/feedfollow --db "$T/lib.db" --feed "$URL" --type UserAdded --until "$N" --id-index 0 \
    2>/dev/null || { echo "feedfollow failed"; exit 1; }
lib_ms=$(($(ms) - t0))
node node
seq_ms=$NODE_MS seq_small=$RSS_SMALL seq_end=$RSS_END seq_build=$BUILD_MS
kill $SERVER; wait $SERVER 2>/dev/null
serve "$T/sub-random.db"
node node-random
rnd_ms=$NODE_MS rnd_small=$RSS_SMALL rnd_end=$RSS_END rnd_build=$BUILD_MS
kill $SERVER; wait $SERVER 2>/dev/null
# The same feed shape at SMALL users, end to end: the peak that the end of
# the big run is compared with.
small_end=""
if [ "$SMALL" -lt "$N" ]; then
    serve "$T/sub-small.db"
    node node-small "$SMALL"
    small_end=$RSS_END small_build=$BUILD_MS
    kill $SERVER; wait $SERVER 2>/dev/null
fi
serve "$T/sub-real.db"
node node-real

echo
echo "| benchmark | measured | baseline, same run | goal |"
echo "|---|---|---|---|"
echo "| a new Cloud API node catches up with $N users, key hashes counting up (end to end, start-up included) |" \
    "$seq_ms ms, $(rate "$N" "$seq_ms") entries/s (building the replica: ${seq_build:-?} ms) |" \
    "feed-reader alone (feedfollow): $lib_ms ms, $(rate "$N" "$lib_ms") entries/s |" \
    ">= 100,000 entries/s |"
echo "| the same with random key hashes (as real SHA-256 values are) |" \
    "$rnd_ms ms, $(rate "$N" "$rnd_ms") entries/s (building: ${rnd_build:-?} ms) | | >= 100,000 entries/s |"
echo "| the same with every id random too (as real Subscriptions feeds are) |" \
    "$NODE_MS ms, $(rate "$N" "$NODE_MS") entries/s (building: ${BUILD_MS:-?} ms) | | >= 100,000 entries/s |"
echo "| its peak RSS (VmHWM) end to end, build included, every id random: $N users |" \
    "${RSS_END:-?} KiB (counting up: ${seq_end:-?} KiB, random hashes: ${rnd_end:-?} KiB) |" \
    "$SMALL users, same feed shape, its own node: ${small_end:-?} KiB (building: ${small_build:-?} ms) |" \
    "flat: no growth with the users |"
echo "| its peak RSS while staging, as the $N-user runs pass $SMALL | counting up: ${seq_small:-?} KiB;" \
    "random hashes: ${rnd_small:-?} KiB; random ids: ${RSS_SMALL:-?} KiB | | |"
