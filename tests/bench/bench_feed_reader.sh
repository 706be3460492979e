#!/bin/sh
# Feed-reader benchmarks, each printed beside its baseline from the same run:
#  - catch-up from position 0 over loopback (feedgen + feedserve +
#    feedfollow), entries/s, against raw SQLite inserts of the same rows with
#    the same schema (the ceiling; goal >= 100,000/s). The handler inserts
#    (id, pos): keyed by position, and at 100,000 also with a UNIQUE index
#    on the random ids, whose cost is SQLite's, as its ceiling shows;
#  - the follower's peak RSS for 100,000 and 1,000,000 entries (goal
#    <= 32 MiB and flat);
#  - append-to-applied latency over long-poll, p50/p99 over 1,000 entries
#    (goal p99 < 50 ms).
# FR_BENCH_SMALL / FR_BENCH_LARGE / FR_BENCH_LAT change the sizes.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
B=build/tests
T=$(mktemp -d "${TMPDIR:-/tmp}/frbench.XXXXXX")
SERVER=""
cleanup() {
    [ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SMALL=${FR_BENCH_SMALL:-100000}
LARGE=${FR_BENCH_LARGE:-1000000}
LAT=${FR_BENCH_LAT:-1000}

serve() {
    port=$($B/freeport)
    $B/feedserve --db "$1" --listen "127.0.0.1:$port" --feed "$2" 2>>"$T/serve.log" &
    SERVER=$!
    i=0
    until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/feeds/$2"; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "feedserve did not start"; exit 1; }
        sleep 0.05
    done
    URL="http://127.0.0.1:$port/feeds/$2"
}

unserve() { kill "$SERVER"; wait "$SERVER" 2>/dev/null; SERVER=""; }

field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# catch_up N ID_INDEX: feedfollow from 0 to N, then the same rows inserted
# straight into SQLite with the same schema (the ceiling).
catch_up() {
    n=$1
    [ -f "$T/prod$n.db" ] ||
        $B/feedgen --db "$T/prod$n.db" --feed bench --count "$n" --batch 10000 >/dev/null || exit 1
    serve "$T/prod$n.db" bench
    out=$($B/feedfollow --db "$T/cons$n.db" --feed "$URL" --until "$n" --stats 1 \
        --id-index "$2" 2>/dev/null)
    unserve
    got=$(sqlite3 "$T/cons$n.db" "SELECT count(*) FROM applied")
    [ "$got" = "$n" ] || { echo "catch-up of $n applied $got"; exit 1; }
    ceil=$($B/bench_feed_reader_tools sqlite "$T/ceil$n.db" "$n" "$2")
    if [ "$2" = 1 ]; then what="(id UNIQUE)"; else what="(pos key)"; fi
    printf '%-34s %8s entries/s  ceiling: raw SQLite %8s rows/s  peak RSS %6s KiB\n' \
        "catch-up $n $what" "$(field "$out" rate)" "$(field "$ceil" rate)" \
        "$(field "$out" maxrss_kib)"
    rm -f "$T"/cons$n.db* "$T"/ceil$n.db*
}

echo "goal: catch-up >= 100000 entries/s; peak RSS <= 32768 KiB and flat; p99 < 50 ms"
catch_up "$SMALL" 0
catch_up "$SMALL" 1
catch_up "$LARGE" 0

$B/feedgen --db "$T/lat.db" --feed lat --count 0 >/dev/null || exit 1
serve "$T/lat.db" lat
$B/feedfollow --db "$T/latc.db" --feed "$URL" --until "$LAT" --latency t >"$T/lat.out" 2>/dev/null &
FOLLOWER=$!
sleep 0.5
$B/bench_feed_reader_tools append "$T/lat.db" lat "$LAT" 3 || exit 1
wait $FOLLOWER
unserve
lat=$(cat "$T/lat.out")
printf '%-36s p50 %s ms   p99 %s ms   max %s ms (n=%s; baseline: 3 ms between appends)\n' \
    "append-to-applied over long-poll" "$(field "$lat" p50_ms)" "$(field "$lat" p99_ms)" \
    "$(field "$lat" max_ms)" "$(field "$lat" latency_n)"
