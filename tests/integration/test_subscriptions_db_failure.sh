#!/bin/sh
# Errors, not fallbacks (issue 12): when Subscriptions cannot read a
# customer's plan (here plan_periods is moved away under the running
# program and replaced by a view of a table that does not exist, so every
# read of it fails as a damaged table would), a payment answers 503 and changes
# nothing, closing the month fails and invoices nobody, and a charge of
# usage stops the follower (logged) instead of billing at payg prices. Once
# the table is back, the same work is done right: the team customer pays
# its 2,900-cent fee.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
U="http://127.0.0.1:$PORT"
DB="$T/subs.db"
start subs bin/subscriptions serve --listen "127.0.0.1:$PORT" --db "$DB"
wait_http "$U/healthz" || { not_ok "server started"; finish; }
http POST "$U/customers" -d 'name=Team Co&plan=team' >/dev/null; C=$(json '$.id')
MONTH=$(date -u +%Y-%m)

sqlite3 "$DB" 'ALTER TABLE plan_periods RENAME TO plan_periods_away;
    CREATE VIEW plan_periods AS SELECT * FROM table_that_is_not_there'
expect_eq "plan unreadable: a payment answers 503" 503 \
    "$(http POST "$U/customers/$C/payments" -d amount_cents=100)"
check "... saying to try again" eval 'json "\$.error" | grep -q "try again"'
bin/subscriptions close-month --db "$DB" --month "$MONTH" >/dev/null 2>"$T/close.err"
check "plan unreadable: close-month fails" [ $? != 0 ]
expect_eq "... and invoices nobody" 0 "$(sqlite3 "$DB" 'select count(*) from invoices')"
expect_eq "... nor closes the month" 0 "$(sqlite3 "$DB" 'select count(*) from closed_months')"
check "... and logs why" grep -q "plan" "$T/close.err"

sqlite3 "$DB" 'DROP VIEW plan_periods; ALTER TABLE plan_periods_away RENAME TO plan_periods'
expect_eq "plan readable again: the payment answers 200" 200 \
    "$(http POST "$U/customers/$C/payments" -d amount_cents=100)"
bin/subscriptions close-month --db "$DB" --month "$MONTH" >/dev/null 2>>"$T/close.err"
expect_eq "close-month succeeds" 0 $?
expect_eq "the team customer is invoiced the team fee" 2900 \
    "$(sqlite3 "$DB" "select fee_cents from invoices where customer_id = '$C'")"
expect_eq "and charged it once" -2800 "$(sqlite3 "$DB" "select balance_cents from customers where id = '$C'")"
finish
