/*
 * billing.h - balances: payments, and the charging of usage from the Cloud
 * API's `usage` feeds.
 *
 * Money is integer cents. A charge lowers the balance by units times the
 * unit price of the plan in effect in the month the usage counts in: the
 * month its window started or, when that month is already closed, the next
 * open one. Each usage entry is charged at most once: its feed entry id is
 * the dedupe key of the usage_charged event, a second line of defence
 * behind the follower's own exactly-once position.
 */
#ifndef SUB_BILLING_H
#define SUB_BILLING_H

#include "result.h"

#include <sqlite3.h>
#include <stddef.h>

/* Records a payment of amount_cents (1 .. SUB_MONEY_MAX) by customer_id,
 * entered by author (audit.h), which may unlock a customer locked for
 * overdraft. */
enum sub_result billing_pay(sqlite3 *db, const char *author, const char *customer_id,
                            long long amount_cents, char *why, size_t why_size);

/* One UsageRecorded entry of a `usage` feed. Every pointer is borrowed; a
 * field the entry lacks is NULL. */
struct usage_record {
    const char *entry_id;     /* the feed entry's id: the charge's dedupe key */
    const char *updated;      /* the entry's time, used when windowStart is bad */
    const char *customer_id;
    const char *user_id;
    const char *key_id;
    const char *units;        /* decimal text, as in the feed */
    const char *window_start; /* RFC 3339 */
    const char *window_end;
    const char *node;
};

/* What billing_charge_usage() did. */
enum usage_outcome {
    USAGE_CHARGED,   /* charged to the customer's balance */
    USAGE_DUPLICATE, /* this entry was charged before: nothing done */
    USAGE_UNBILLED,  /* recorded as unbilled (unknown customer, bad units) */
};

/*
 * Charges one usage record inside the caller's write transaction (the
 * follower's), locking the customer for overdraft when the charge takes it
 * below its limit. A record that cannot be charged (an unknown customer,
 * units that are not a whole number) is recorded in unbilled_usage and
 * logged, so that one bad entry never stops the billing of everyone.
 * The events' author is AUTHOR_BILLING. Returns SUB_OK with *outcome set, or SUB_ERROR (logged): roll back then.
 */
enum sub_result billing_charge_usage(sqlite3 *db, const struct usage_record *u,
                                     enum usage_outcome *outcome);

/* Writes into out the month that usage with window starting at month
 * counts in: month itself or the first month after it that is not closed.
 * Returns 0, or -1 (logged) on a database error. */
int billing_open_month(sqlite3 *db, const char *month, char out[8]);

#endif
