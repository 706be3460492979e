#!/bin/sh
# End to end, under faults: followers killed repeatedly (SIGKILL) during a
# burst of new users still replicate every key exactly once; a producer whose
# database is restored from an older copy stops its followers with a clear
# error instead of re-applying anything.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"

start_system 1 || { not_ok "the system starts"; finish; }

C=$(new_customer Burst payg 1000000)
: >"$T/keys"
killer() {
    n=0
    while [ $n -lt 15 ]; do
        sleep 0.2
        stop cloud-api-follow KILL
        stop product1-follow KILL
        start cloud-api-follow $(ctx_cmd cloud-api-follow)
        start product1-follow $(ctx_cmd product1-follow)
        n=$((n + 1))
    done
}
killer & KILLER=$!
i=0
while [ $i -lt 40 ]; do
    new_user "$C" "user$i@burst.example" && echo "$KEY" >>"$T/keys"
    i=$((i + 1))
done
wait $KILLER
expect_eq "40 users were added during the kills" 40 "$(wc -l <"$T/keys" | tr -d ' ')"
all_keys_work() {
    while read -r k; do analyze_is 200 "$k" || return 1; done <"$T/keys"
}
check "every key added during repeated follower kills works against the Cloud API" eventually 10 all_keys_work
check "the Cloud API's follower caught up to the head" eventually 10 \
    sh -c "curl -s '$API/status' | grep -q '\"lag\":0'"
check "Product 1's follower caught up too" eventually 10 \
    sh -c "curl -s '$P1/status' | grep -q '\"lag\":0'"

# A producer restored from an older copy of its database.
sqlite3 "$T/subscriptions.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
stop subscriptions TERM
cp "$T/subscriptions.db" "$T/old-subscriptions.db"
start_ctx subscriptions
new_user "$C" after1@burst.example
new_user "$C" after2@burst.example
check "the followers apply the new users" eventually 3 analyze_is 200 "$KEY"
stop subscriptions TERM
cp "$T/old-subscriptions.db" "$T/subscriptions.db"
rm -f "$T/subscriptions.db-wal" "$T/subscriptions.db-shm"
start_ctx subscriptions
check "the Cloud API's follower stops when the feed went backwards" eventually 40 \
    sh -c "! kill -0 $(pid_of cloud-api-follow) 2>/dev/null"
check "... and says so clearly in its log" grep -qi "backwards" "$T/cloud-api-follow.log"
check "... and in /status" sh -c "curl -s '$API/status' | grep -qi backwards"
check "the Cloud API still answers from its replica" analyze_is 200 "$KEY"

finish
