#include "billing.h"

#include "audit.h"
#include "calendar.h"
#include "credit.h"
#include "customers.h"
#include "db.h"
#include "events.h"
#include "form.h"
#include "lockout.h"
#include "log.h"
#include "plans.h"

#include <stdio.h>
#include <string.h>

/* Most units one usage entry may carry: keeps units * price far from
 * overflow. */
#define UNITS_MAX 1000000000000LL

enum sub_result billing_pay(sqlite3 *db, const char *author, const char *customer_id,
                            long long amount_cents, char *why, size_t why_size)
{
    struct customer_state state;
    char at[SUB_TIME_SIZE];
    struct event_data d;
    enum sub_result r;

    if (amount_cents <= 0 || amount_cents > SUB_MONEY_MAX)
        return sub_fail(SUB_INVALID, why, why_size,
                        "amount_cents: a whole number of cents from 1 to %lld", SUB_MONEY_MAX);
    sub_time_format(sub_clock_now(), at);
    event_data_init(&d);
    event_data_int(&d, "amount_cents", amount_cents);
    r = events_begin(db);
    if (r == SUB_OK)
        r = customer_load(db, customer_id, &state, why, why_size);
    if (r == SUB_OK && state.balance_cents > SUB_MONEY_MAX * 1000)
        r = sub_fail(SUB_INVALID, why, why_size, "amount_cents: the balance is already too large");
    if (r == SUB_OK)
        r = event_append(db, "payment_recorded", customer_id, at, NULL, event_data_json(&d),
                         author);
    if (r == SUB_OK)
        r = lockout_after_payment(db, author, customer_id, at);
    if (r == SUB_OK)
        r = credit_publish(db, customer_id, at);
    r = events_end(db, r);
    event_data_release(&d);
    if (r == SUB_OK)
        log_info("payment recorded", "customer=%s amount_cents=%lld by=%s", customer_id,
                 amount_cents, author);
    else if (r == SUB_ERROR)
        sub_fail(r, why, why_size, "the database failed; try again");
    return r;
}

int billing_open_month(sqlite3 *db, const char *month, char out[8])
{
    char m[SUB_MONTH_SIZE];
    int rc;

    snprintf(m, sizeof m, "%s", month);
    for (;;) {
        long long closed =
            db_int(db, &rc, 0, "SELECT count(*) FROM closed_months WHERE month = ?1", "t", m);
        if (rc != SQLITE_ROW)
            return -1;
        if (!closed || strcmp(m, "9999-12") == 0)
            break;
        sub_month_next(m, m);
    }
    memcpy(out, m, SUB_MONTH_SIZE);
    return 0;
}

/* Records u as unbilled for reason. */
static enum sub_result unbilled(sqlite3 *db, const struct usage_record *u, const char *at,
                                const char *reason, enum usage_outcome *outcome)
{
    struct event_data d;
    enum sub_result r;

    event_data_init(&d);
    event_data_str(&d, "entry_id", u->entry_id);
    event_data_str(&d, "units", u->units);
    event_data_str(&d, "reason", reason);
    r = event_append(db, "usage_unbilled", u->customer_id, at, u->entry_id, event_data_json(&d),
                     AUTHOR_BILLING);
    event_data_release(&d);
    if (r == SUB_CONFLICT) {
        *outcome = USAGE_DUPLICATE;
        return SUB_OK;
    }
    if (r == SUB_OK) {
        *outcome = USAGE_UNBILLED;
        log_warn("usage not billed", "entry=%s customer=%s units=%s reason=\"%s\"", u->entry_id,
                 u->customer_id ? u->customer_id : "-", u->units ? u->units : "-", reason);
    }
    return r;
}

enum sub_result billing_charge_usage(sqlite3 *db, const struct usage_record *u,
                                     enum usage_outcome *outcome)
{
    char at[SUB_TIME_SIZE], month[SUB_MONTH_SIZE];
    struct customer_state state;
    const struct plan *plan;
    struct event_data d;
    long long units, amount;
    enum sub_result r;

    sub_time_format(sub_clock_now(), at);
    if (!u->entry_id || !*u->entry_id) {
        log_error("usage entry without an id", NULL);
        return SUB_ERROR;
    }
    if (!u->customer_id || !*u->customer_id)
        return unbilled(db, u, at, "no customerId", outcome);
    if (!u->units || parse_int64(u->units, 0, UNITS_MAX, &units) != 0)
        return unbilled(db, u, at, "units is not a whole number from 0", outcome);
    r = customer_load(db, u->customer_id, &state, NULL, 0);
    if (r == SUB_NOT_FOUND)
        return unbilled(db, u, at, "unknown customer", outcome);
    if (r != SUB_OK)
        return r;
    if (sub_month_of_time(u->window_start, month) != 0 && sub_month_of_time(u->updated, month) != 0)
        sub_month_of(sub_clock_now(), month);
    if (billing_open_month(db, month, month) != 0)
        return SUB_ERROR;
    plan = customer_plan_of(db, u->customer_id, month);
    if (!plan)
        return SUB_ERROR;
    amount = units * plan->unit_price_cents;

    event_data_init(&d);
    event_data_str(&d, "entry_id", u->entry_id);
    event_data_str(&d, "user_id", u->user_id);
    event_data_str(&d, "key_id", u->key_id);
    event_data_str(&d, "node", u->node);
    event_data_str(&d, "window_start", u->window_start);
    event_data_str(&d, "window_end", u->window_end);
    event_data_int(&d, "units", units);
    event_data_int(&d, "unit_price_cents", plan->unit_price_cents);
    event_data_int(&d, "amount_cents", amount);
    event_data_str(&d, "month", month);
    r = event_append(db, "usage_charged", u->customer_id, at, u->entry_id, event_data_json(&d),
                     AUTHOR_BILLING);
    event_data_release(&d);
    if (r == SUB_CONFLICT) {
        *outcome = USAGE_DUPLICATE;
        log_info("usage already charged", "entry=%s customer=%s", u->entry_id, u->customer_id);
        return SUB_OK;
    }
    if (r == SUB_OK)
        r = lockout_after_charge(db, AUTHOR_BILLING, u->customer_id, at);
    if (r == SUB_OK)
        r = credit_publish(db, u->customer_id, at);
    if (r == SUB_OK) {
        *outcome = USAGE_CHARGED;
        log_info("usage charged", "entry=%s customer=%s units=%lld amount_cents=%lld month=%s",
                 u->entry_id, u->customer_id, units, amount, month);
    }
    return r;
}
