#!/bin/sh
# Slow clients (slowloris): 2,500 connections that each send their request a
# byte every 5 s, against Subscriptions and against the Cloud API at once.
# Both keep answering, and the followers keep replicating, because every
# such connection is cut at the request deadline and the connection limit
# is sized to the raised file-descriptor limit, not 1024.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"

start_system 1 || { not_ok "the system starts"; finish; }
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

N=2500
start slowloris "$PY" tests/tools/slowloris.py "127.0.0.1:$SUB_PORT,127.0.0.1:$API_PORT" $N 120 "$T/slow"
all_open() { [ "$(awk '$1 == "open" { print $2 }' "$T/slow" 2>/dev/null)" -ge $((2 * N - 50)) ]; }
check "$N slow connections are held open against each server" eventually 30 all_open
healthy() { curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1/healthz" | grep -q 200; }
for i in 1 2 3; do
    check "Subscriptions answers /healthz within 1 s (try $i)" healthy "$SUB"
    check "the Cloud API answers /healthz within 1 s (try $i)" healthy "$API"
done
C=$(new_customer Busy)
new_user "$C" ada@busy.example
check "a new user can be added" test -n "$KEY"
check "the Cloud API follower still replicates: the key works within 2 s" eventually 2 analyze_is 200 "$KEY"
cut_some() { [ "$(awk '$1 == "cut" { print $2 }' "$T/slow")" -gt 0 ]; }
check "the servers cut slow connections at the deadline" eventually 40 cut_some
# The cuts seen may all be the Cloud API's so far, and a server logs its
# cuts just after making them: a wait, not a look.
check "Subscriptions logs the cut" eventually 30 grep -q "too slow to send their request" "$T/subscriptions.log"
finish
