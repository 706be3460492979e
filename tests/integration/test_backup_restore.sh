#!/bin/sh
# Backups and the restore drill (DESIGN.md section 4, `backup`): a copy taken
# while the system serves and writes is consistent and complete up to one
# commit; Subscriptions restored from it makes its consumers stop with the
# "went backwards" error instead of applying another history on top.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/system.sh"

start_system 1 || { not_ok "the system starts"; finish; }

C=$(new_customer Acme)
new_user "$C" ada@acme.example
ADA=$KEY
check "the first user's key works" eventually 5 analyze_is 200 "$ADA"

# Customers registered while the backup runs: the copy holds a whole number
# of them, each with its entry in the feed, never a half-written one.
(
    i=0
    while [ $i -lt 60 ]; do
        curl -s -o /dev/null --max-time 5 -X POST "$SUB/customers" -d "name=busy-$i"
        i=$((i + 1))
    done
) &
WRITER=$!
ten_written() { [ "$(sqlite3 "$T/subscriptions.db" "select count(*) from customers")" -ge 10 ]; }
eventually 10 ten_written
bin/subscriptions backup --db "$T/subscriptions.db" --to "$T/backup.db" >"$T/backup.log" 2>&1
expect_eq "backup while serving exits 0" 0 $?
wait $WRITER
expect_eq "the copy passes integrity_check" ok "$(sqlite3 "$T/backup.db" 'pragma integrity_check')"
COPIED=$(sqlite3 "$T/backup.db" "select count(*) from customers")
PUBLISHED=$(sqlite3 "$T/backup.db" "select count(*) from fs_entries where type = 'CustomerRegistered'")
expect_eq "every customer in the copy has its published entry" "$COPIED" "$PUBLISHED"
check "the copy holds what was there when it began" test "$COPIED" -ge 10
check "no temporary file is left beside the copy" sh -c "! ls '$T'/backup.db.tmp-* 2>/dev/null"

bin/subscriptions backup --db "$T/subscriptions.db" --to "$T/backup.db" 2>"$T/err"
expect_eq "a backup never overwrites a file: exit 2" 2 $?
check "... and says so in one line" grep -q "never overwrites" "$T/err"
bin/cloud-api backup --db "$T/nothing.db" --to "$T/x.db" 2>/dev/null
expect_eq "a missing database: exit 2" 2 $?
bin/product1 backup --db "$T/product1.db" 2>/dev/null
expect_eq "no --to: exit 2" 2 $?
bin/product1 backup --db "$T/product1.db" --to "$T/p1-backup.db" 2>/dev/null
expect_eq "Product 1 backs up too" 0 $?
bin/cloud-api backup --db "$T/cloud-api.db" --to "$T/api-backup.db" 2>/dev/null
expect_eq "the Cloud API backs up too" 0 $?

# After the backup the followers apply newer entries...
new_user "$C" bob@acme.example
BOB=$KEY
check "a key made after the backup works" eventually 5 analyze_is 200 "$BOB"

# ...so Subscriptions restored from the older copy has gone backwards.
stop subscriptions
rm -f "$T/subscriptions.db-wal" "$T/subscriptions.db-shm"
mv "$T/backup.db" "$T/subscriptions.db"
start_ctx subscriptions || not_ok "Subscriptions starts from the restored copy"
new_customer Other >/dev/null

exited() { ! kill -0 "$(pid_of "$1")" 2>/dev/null; }
check "the Cloud API follower stops" eventually 10 exited cloud-api-follow
check "Product 1's follower stops" eventually 10 exited product1-follow
wait "$(pid_of cloud-api-follow)"
expect_eq "... with exit status 1" 1 $?
check "the Cloud API follower says the feed went backwards" grep -q "went backwards" "$T/cloud-api-follow.log"
check "Product 1's follower says so too" grep -q "went backwards" "$T/product1-follow.log"
check "the Cloud API keeps answering from its replica" analyze_is 200 "$BOB"
finish
