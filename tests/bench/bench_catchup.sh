#!/bin/sh
# bench_catchup.sh - a new, empty Cloud API node joining (issue 11 point 7):
# `bin/cloud-api follow` on an empty database catches up with a
# Subscriptions feed of N UserAdded entries (default 1,000,000; pages of
# 100, the size new Subscriptions databases use), timed END TO END from the
# start of the process (start-up included) until the replica holds
# position N. Its peak RSS (VmHWM) is read when it passes 100,000 and at N.
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
B=build/tests
N=${CATCHUP_ENTRIES:-1000000}
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

echo "generating a Subscriptions feed of $N UserAdded entries in pages of $PAGE..."
$B/feedgen --db "$T/sub.db" --feed subscriptions --count "$N" --type UserAdded \
    --page-size $PAGE --batch 10000 >/dev/null || exit 1
port=$($B/freeport)
$B/feedserve --db "$T/sub.db" --listen "127.0.0.1:$port" --feed subscriptions \
    2>"$T/serve.log" &
pids="$pids $!"
URL="http://127.0.0.1:$port/feeds/subscriptions"
i=0
until curl -s -o /dev/null --max-time 1 "$URL"; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "feedserve did not start"; exit 1; }
    sleep 0.05
done

# Baseline: the library alone, from 0 to N.
t0=$(ms)
$B/feedfollow --db "$T/lib.db" --feed "$URL" --type UserAdded --until "$N" --id-index 0 \
    2>/dev/null || { echo "feedfollow failed"; exit 1; }
lib_ms=$(($(ms) - t0))

# The new Cloud API node, from an empty database.
t0=$(ms)
bin/cloud-api follow --db "$T/node.db" --feed "$URL" 2>"$T/follow.log" &
node=$!
pids="$pids $node"
rss_small=""
waited=0
while :; do
    p=$(position "$T/node.db")
    [ -n "$p" ] || p=0
    if [ -z "$rss_small" ] && [ "$p" -ge 100000 ]; then rss_small=$(hwm $node); fi
    [ "$p" -ge "$N" ] && break
    kill -0 $node 2>/dev/null || { echo "cloud-api follow died:"; tail -5 "$T/follow.log"; exit 1; }
    waited=$((waited + 1))
    [ $waited -lt 6000 ] || { echo "catch-up did not finish in 300 s"; exit 1; }
    sleep 0.05
done
node_ms=$(($(ms) - t0))
rss_end=$(hwm $node)
keys=$(sqlite3 "$T/node.db" 'SELECT count(*) FROM replica_keys')
[ "$keys" = "$N" ] || { echo "the replica holds $keys keys, not $N"; exit 1; }
kill $node; wait $node 2>/dev/null

rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%d", (t > 0 ? n * 1000 / t : 0) }'; }
echo
echo "| benchmark | measured | baseline, same run | goal |"
echo "|---|---|---|---|"
echo "| a new Cloud API node catches up with $N users (end to end, start-up included) |" \
    "$node_ms ms, $(rate "$N" "$node_ms") entries/s |" \
    "feed-reader alone (feedfollow): $lib_ms ms, $(rate "$N" "$lib_ms") entries/s |" \
    ">= 100,000 entries/s |"
echo "| its peak RSS (VmHWM) at 100,000 / $N entries | ${rss_small:-?} / ${rss_end:-?} KiB | | flat |"
