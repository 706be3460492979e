#!/bin/sh
# The command line of every program (DESIGN.md section 4): --help on every
# subcommand (exit 0), every bad argument exits 2 with one line BEFORE
# anything is opened (no database, no folder created), and --log-level
# filters the lines of the program and of both libraries.
. "$(dirname "$0")/lib.sh"

# The subcommands of each program.
COMMANDS="subscriptions:serve subscriptions:follow subscriptions:rebuild subscriptions:close-month
subscriptions:backup cloud-api:serve cloud-api:follow cloud-api:backup product1:serve
product1:follow product1:backup"

for pc in $COMMANDS; do
    p=${pc%%:*}; c=${pc#*:}
    out=$("$ROOT/bin/$p" "$c" --help 2>&1); rc=$?
    if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q "^usage: bin/$p $c" &&
        printf '%s' "$out" | grep -q -- "--log-level"; then
        ok "bin/$p $c --help: usage with --log-level, exit 0"
    else
        not_ok "bin/$p $c --help: usage with --log-level, exit 0" "rc=$rc: $out"
    fi
done
for p in subscriptions cloud-api product1; do
    "$ROOT/bin/$p" --help >/dev/null 2>&1
    expect_eq "bin/$p --help exits 0" 0 $?
    "$ROOT/bin/$p" 2>/dev/null
    expect_eq "bin/$p without a command exits 2" 2 $?
    "$ROOT/bin/$p" frobnicate 2>/dev/null
    expect_eq "bin/$p with an unknown command exits 2" 2 $?
done

# bad CMD...: runs CMD in an empty folder (the defaults point at var/):
# it must exit 2, print exactly one line, and create nothing.
bad() {
    rm -rf "$T/empty" && mkdir "$T/empty"
    (cd "$T/empty" && timeout 10 "$@" >"$T/out" 2>"$T/err")
    rc=$?
    lines=$(cat "$T/out" "$T/err" | wc -l)
    made=$(ls -A "$T/empty" | tr '\n' ' ')
    if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && [ -z "$made" ]; then
        ok "exit 2, one line, nothing opened: $*"
    else
        not_ok "exit 2, one line, nothing opened: $*" "rc=$rc lines=$lines created='$made': $(cat "$T/err")"
    fi
}
B=$ROOT/bin
bad "$B/cloud-api" serve --listen nope
bad "$B/cloud-api" serve --listen 127.0.0.1:99999
bad "$B/cloud-api" serve --usage-window 0
bad "$B/cloud-api" serve --node 'a b'
bad "$B/cloud-api" serve --log-level loud
bad "$B/cloud-api" serve --no-such-option 1
bad "$B/cloud-api" serve stray
bad "$B/cloud-api" serve --db
bad "$B/cloud-api" follow --feed ftp://example/feeds/x
bad "$B/cloud-api" follow --token t
bad "$B/cloud-api" follow --feed http://127.0.0.1:1/feeds/subscriptions --poll-interval 0
bad "$B/subscriptions" serve --listen 10.0.0:8081
bad "$B/subscriptions" serve --session-lifetime x
bad "$B/subscriptions" serve --admin-token short
bad "$B/subscriptions" follow --feed nope
bad "$B/subscriptions" close-month --month 2026-13
bad "$B/subscriptions" close-month
bad "$B/subscriptions" rebuild --log-level
bad "$B/subscriptions" backup --to
bad "$B/product1" serve --cloud-api localhost:8082
bad "$B/product1" serve --listen '[::1:8083'
bad "$B/product1" serve --retry-max 100000
bad "$B/product1" follow --feed 'http:// x'
bad "$B/subscriptions" serve --web-dir /no/such/folder

# --log-level: a server at warn writes no info line; at debug the
# libraries' debug lines (if any) may appear, and info lines do.
port=$(free_port)
start quiet "$B/cloud-api" serve --listen "127.0.0.1:$port" --db "$T/c.db" --log-level warn
wait_http "http://127.0.0.1:$port/healthz"
curl -s -o /dev/null "http://127.0.0.1:$port/status"
stop quiet
if grep -q 'level=info' "$T/quiet.log"; then
    not_ok "--log-level warn: no info line" "$(grep -m1 'level=info' "$T/quiet.log")"
else
    ok "--log-level warn: no info line"
fi
port=$(free_port)
start chatty "$B/cloud-api" serve --listen "127.0.0.1:$port" --db "$T/c.db" --log-level=info
wait_http "http://127.0.0.1:$port/healthz"
stop chatty
check "--log-level=info: info lines of the program and of feed-server" \
    sh -c "grep -q 'level=info prog=cloud-api msg=\"serving\"' '$T/chatty.log' &&
           grep -q 'level=info prog=cloud-api lib=feed-server' '$T/chatty.log'"
port=$(free_port)
start follower "$B/product1" follow --db "$T/p.db" --feed "http://127.0.0.1:$port/feeds/subscriptions" --log-level error
sleep_until=$(($(date +%s) + 2))
while [ "$(date +%s)" -lt $sleep_until ]; do sleep 0.2; done
stop follower
check "--log-level error on a follower: no info or warn line" \
    sh -c "! grep -q 'level=info\|level=warn' '$T/follower.log'"
finish
