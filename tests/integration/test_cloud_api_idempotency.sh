#!/bin/sh
# Idempotency-Key retention (DESIGN.md section 7): a stored answer is
# replayed for --idempotency-retention seconds, the same key with another
# body meanwhile gets 422, and once the retention has passed the key names
# a new call, charged again.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
API=http://127.0.0.1:$PORT
KEY=retention-test-key
start api bin/cloud-api serve --listen "127.0.0.1:$PORT" --db "$T/api.db" \
    --usage-window 1 --node ret-node --idempotency-retention 2
wait_http "$API/healthz" || { not_ok "cloud-api started"; finish; }
sqlite3 "$T/api.db" "insert into replica_customers(customer_id) values ('c1');
  insert into credit_use(customer_id, credit_left_cents, unit_price_cents) values ('c1', 100000, 1);
  insert into replica_users(user_id, customer_id) values ('u1', 'c1');
  insert into replica_keys(key_sha256, key_id, user_id, customer_id)
  values ('$(printf %s $KEY | sha256sum | cut -d' ' -f1)', 'k1', 'u1', 'c1')"
once() {
    http POST "$API/api/v1/analyze" -H "Authorization: Bearer $KEY" -H "Idempotency-Key: $1" \
        --data-binary "$2"
}
units() { sqlite3 "$T/api.db" "select coalesce(sum(units), 0) from usage_units"; }

expect_eq "first call: 200" 200 "$(once order-1 'first body')"
expect_eq "the same key and body: 200" 200 "$(once order-1 'first body')"
expect_eq "... replayed" true "$(header Idempotent-Replayed)"
expect_eq "the same key with another body: 422" 422 "$(once order-1 'another body')"
expect_eq "charged once" 1 "$(units)"
new_call() { [ "$(once order-1 'another body')" = 200 ] && [ -z "$(header Idempotent-Replayed)" ]; }
check "after the retention the key names a new call" eventually 8 new_call
expect_eq "which is charged" 2 "$(units)"
stored_purged() { [ "$(sqlite3 "$T/api.db" "select count(*) from analyze_replays")" = 0 ]; }
check "stored answers past the retention are deleted" eventually 8 stored_purged
check "serve --help documents --idempotency-retention" \
    eval 'bin/cloud-api serve --help 2>&1 | grep -q -- --idempotency-retention'
finish
