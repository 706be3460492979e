#!/bin/sh
# A consumer's database held by another process (the sqlite3 shell in
# BEGIN EXCLUSIVE for 12 s, as an operator's session or a backup script
# might) is a transient fault: the follower of each context meets the lock,
# logs it, keeps running, and applies what arrived meanwhile within 2 s of
# the lock's end (DESIGN.md section 5, "Consumers").
#
# The Cloud API's and Product 1's databases are locked together while a
# user is added in Subscriptions. Subscriptions' usage follower shares
# subscriptions.db with Subscriptions' server, and the Cloud API meters into
# its own database, so the three locks cannot all cover one interval: the
# lock of subscriptions.db starts once the other two followers have retried
# (the user is added by then), and the metered call is made when the Cloud
# API's database is free again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"

LOCK_SECONDS=12

# The whole script ends within 120 s, whatever hangs.
start watchdog sh -c "i=0; while [ \$i -lt 1200 ]; do sleep 0.1; i=\$((i + 1)); done
    echo '# watchdog: the test took over 120 s'; kill -TERM $$"

# now_ms: wall-clock milliseconds.
now_ms() { date +%s%3N; }

# within_ms MS CMD...: retries CMD until it succeeds or MS ms of wall-clock
# time have passed (it runs at least once).
within_ms() {
    _w_end=$(($(now_ms) + $1)); shift
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ "$(now_ms)" -lt "$_w_end" ] || return 1
        sleep 0.05
    done
}

# hold_lock NAME DB: the sqlite3 shell holds DB in BEGIN EXCLUSIVE for
# LOCK_SECONDS (the sleep is the lock's length, not a wait for anything), in
# a process group of its own so that stopping NAME at exit ends the shell
# too. Returns once the lock is held (the shell prints "held" after BEGIN
# succeeded; with .bail on a failed BEGIN ends it instead).
hold_lock() {
    start "$1" setsid sh -c 'trap "trap - TERM; kill 0" TERM
        (printf ".bail on\n.timeout 5000\nBEGIN EXCLUSIVE;\nSELECT '"'held'"';\n"
         sleep "$2"; echo "COMMIT;") | sqlite3 "$1" & wait $!' sh "$2" "$LOCK_SECONDS"
    eventually 5 grep -qx held "$T/$1.log"
}

# unlocked DB: no other connection holds DB's write lock now.
unlocked() { sqlite3 "$1" 'BEGIN IMMEDIATE; ROLLBACK;' >/dev/null 2>&1; }

# wait_released DB: waits until DB's lock is gone (at most LOCK_SECONDS + 5 s)
# and sets RELEASED to the time it was seen gone.
wait_released() {
    within_ms $(((LOCK_SECONDS + 5) * 1000)) unlocked "$1" || return 1
    RELEASED=$(now_ms)
}

# busy_logged NAME N: NAME's log shows at least N busy errors.
busy_logged() { [ "$(grep -c 'level=error.*database is busy' "$T/$1.log")" -ge "$2" ]; }
both_retried() { busy_logged cloud-api-follow 2 && busy_logged product1-follow 2; }
alive() { kill -0 "$(pid_of "$1")" 2>/dev/null; }
# lacks_key DB TABLE KEY_ID: the replica in DB does not know the key (read
# while locked: WAL readers are not blocked).
lacks_key() { [ "$(sqlite3 "$1" "SELECT count(*) FROM $2 WHERE key_id = '$3'")" = 0 ]; }
served_total() { awk '{ s += $2 } END { print s + 0 }' "$T/served" 2>/dev/null || echo 0; }
charged() { sqlite3 "$T/subscriptions.db" "SELECT -balance_cents FROM customers WHERE id = '$C'"; }
all_usage_charged() { [ "$(charged)" = "$(served_total)" ]; }
some_usage_uncharged() { [ "$(charged)" -lt "$(served_total)" ]; }
usage_entries() { sqlite3 "$T/cloud-api.db" "SELECT count(*) FROM fs_entries WHERE feed = 'usage'"; }
more_usage_than() { [ "$(usage_entries)" -gt "$1" ]; }
status_has() { curl -s -H 'Accept: application/json' "$1/status" | grep -q "$2"; }

start_system 1 || { not_ok "the system starts"; finish; }
C=$(new_customer Locked payg 1000000)
new_user "$C" first@locked.example
K0=$KEY
check "the first key works before the locks" eventually 5 analyze_is 200 "$K0"
check "... and its usage is charged" eventually 10 all_usage_charged

# 1. The Cloud API's and Product 1's databases locked; a user added meanwhile.
check "the Cloud API's database is locked by the sqlite3 shell" hold_lock api-lock "$T/cloud-api.db"
check "Product 1's database is locked by the sqlite3 shell" hold_lock p1-lock "$T/product1.db"
new_user "$C" second@locked.example
K1=$KEY
K1_ID=$KEY_ID
check "the Cloud API's follower meets the lock and says so" eventually 10 busy_logged cloud-api-follow 1
check "Product 1's follower meets the lock and says so" eventually 10 busy_logged product1-follow 1
check "... nothing is applied while it is held (Cloud API)" \
    lacks_key "$T/cloud-api.db" replica_keys "$K1_ID"
check "... (Product 1)" lacks_key "$T/product1.db" login_keys "$K1_ID"
check "both followers retry while the lock is held" eventually 10 both_retried

# 2. Subscriptions' database locked too: it outlasts the usage published
#    after the other two locks end.
check "Subscriptions' database is locked by the sqlite3 shell" hold_lock sub-lock "$T/subscriptions.db"

check "the Cloud API's database lock ends" wait_released "$T/cloud-api.db"
API_RELEASED=$RELEASED
check "Product 1's database lock ends" wait_released "$T/product1.db"
P1_RELEASED=$RELEASED
check "the Cloud API's follower is still running after the lock" alive cloud-api-follow
check "Product 1's follower is still running after the lock" alive product1-follow
check "R1 after the lock: the new key works against the Cloud API within 2 s of its end" \
    within_ms $((API_RELEASED + 2000 - $(now_ms))) analyze_is 200 "$K1"
check "R1 after the lock: the new user signs in to Product 1 within 2 s of its end" \
    within_ms $((P1_RELEASED + 2000 - $(now_ms))) login_is 303 second@locked.example "$K1"

# 3. A metered call while Subscriptions' database is still locked.
before=$(usage_entries)
expect_eq "a metered call while Subscriptions' database is locked (200)" 200 "$(analyze "$K0" metered)"
check "its usage is published" eventually 10 more_usage_than "$before"
check "Subscriptions' usage follower meets the lock and says so" eventually 15 \
    busy_logged subscriptions-follow 1
check "... and nothing more is charged while it is held" some_usage_uncharged
check "Subscriptions' database lock ends" wait_released "$T/subscriptions.db"
SUB_RELEASED=$RELEASED
check "Subscriptions' usage follower is still running after the lock" alive subscriptions-follow
check "R3 after the lock: the usage is charged within 2 s of its end" \
    within_ms $((SUB_RELEASED + 2000 - $(now_ms))) all_usage_charged

for f in cloud-api-follow product1-follow subscriptions-follow; do
    if grep -q 'level=fatal\|fatal error' "$T/$f.log"; then
        not_ok "$f logged no fatal error" "$(grep -m2 'level=fatal\|fatal error' "$T/$f.log")"
    else
        ok "$f logged no fatal error"
    fi
done
check "the busy error was recorded: the Cloud API's /status shows it" \
    status_has "$API" 'database is busy'
check "... and Subscriptions' /status too" status_has "$SUB" 'database is busy'
check "/status shows each follower's feed id" status_has "$P1" '"feed_id":"urn:uuid:'
finish
