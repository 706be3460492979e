#include "invoices.h"

#include "audit.h"
#include "calendar.h"
#include "credit.h"
#include "customers.h"
#include "db.h"
#include "events.h"
#include "lockout.h"
#include "log.h"
#include "plans.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The ids of customers registered in or before month, in registration
 * order, as a NULL-terminated array the caller frees with free_ids(). */
static char **customers_of(sqlite3 *db, const char *month)
{
    sqlite3_stmt *st = NULL;
    char **ids = xmalloc(sizeof *ids);
    size_t n = 0;
    int rc;

    ids[0] = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT id FROM customers WHERE registered_month <= ?1"
                           " ORDER BY registered_at, id",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, month, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ids = xrealloc(ids, (n + 2) * sizeof *ids);
        ids[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
        ids[n] = NULL;
    }
    if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    return ids;
fail:
    log_error("cannot list customers", "error=\"%s\"", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return NULL;
}

static void free_ids(char **ids)
{
    for (size_t i = 0; ids && ids[i]; i++)
        free(ids[i]);
    free(ids);
}

/* Issues customer id's invoice for month at time at. */
static enum sub_result issue_invoice(sqlite3 *db, const char *id, const char *month, const char *at)
{
    char dedupe[64];
    const struct plan *plan;
    struct event_data d;
    long long units, usage_cents;
    enum sub_result r;
    int rc;

    plan = customer_plan_of(db, id, month);
    if (!plan)
        return SUB_ERROR;
    units =
        db_int(db, &rc, 0, "SELECT units FROM monthly_usage WHERE customer_id = ?1 AND month = ?2",
               "tt", id, month);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return SUB_ERROR;
    usage_cents = db_int(db, &rc, 0,
                         "SELECT charges_cents FROM monthly_usage WHERE customer_id = ?1"
                         " AND month = ?2",
                         "tt", id, month);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return SUB_ERROR;
    snprintf(dedupe, sizeof dedupe, "invoice/%s/%s", id, month);

    event_data_init(&d);
    event_data_str(&d, "month", month);
    event_data_str(&d, "plan", plan->name);
    event_data_int(&d, "fee_cents", plan->monthly_fee_cents);
    event_data_int(&d, "units", units);
    event_data_int(&d, "usage_cents", usage_cents);
    event_data_int(&d, "total_cents", plan->monthly_fee_cents + usage_cents);
    r = event_append(db, "invoice_issued", id, at, dedupe, event_data_json(&d), AUTHOR_BILLING);
    event_data_release(&d);
    if (r == SUB_CONFLICT)
        return SUB_OK;
    if (r == SUB_OK && plan->monthly_fee_cents > 0)
        r = lockout_after_charge(db, AUTHOR_BILLING, id, at);
    if (r == SUB_OK)
        r = credit_publish(db, id, at);
    return r;
}

enum sub_result invoices_close_month(sqlite3 *db, const char *month, long long *issued, char *why,
                                     size_t why_size)
{
    char at[SUB_TIME_SIZE], now_month[SUB_MONTH_SIZE], dedupe[32];
    struct event_data d;
    char **ids = NULL;
    long long count = 0, closed;
    enum sub_result r;
    int rc;

    if (issued)
        *issued = 0;
    if (!sub_month_valid(month))
        return sub_fail(SUB_INVALID, why, why_size, "month: YYYY-MM, such as 2026-11");
    sub_month_of(sub_clock_now(), now_month);
    if (strcmp(month, now_month) > 0)
        return sub_fail(SUB_INVALID, why, why_size,
                        "month: %s has not started yet (this month is %s)", month, now_month);
    sub_time_format(sub_clock_now(), at);

    r = events_begin(db);
    if (r != SUB_OK)
        return sub_fail(r, why, why_size, "the database failed; try again");
    closed = db_int(db, &rc, 0, "SELECT count(*) FROM closed_months WHERE month = ?1", "t", month);
    if (rc != SQLITE_ROW) {
        r = SUB_ERROR;
        goto out;
    }
    if (closed) {
        count = -1;
        goto out;
    }
    ids = customers_of(db, month);
    if (!ids) {
        r = SUB_ERROR;
        goto out;
    }
    for (size_t i = 0; ids[i] && r == SUB_OK; i++) {
        r = issue_invoice(db, ids[i], month, at);
        count++;
    }
    snprintf(dedupe, sizeof dedupe, "month/%s", month);
    event_data_init(&d);
    event_data_str(&d, "month", month);
    if (r == SUB_OK)
        r = event_append(db, "month_closed", NULL, at, dedupe, event_data_json(&d), AUTHOR_BILLING);
    event_data_release(&d);
out:
    r = events_end(db, r);
    free_ids(ids);
    if (r != SUB_OK)
        return sub_fail(r, why, why_size, "the database failed; try again");
    if (count >= 0)
        log_info("month closed", "month=%s invoices=%lld", month, count);
    if (issued)
        *issued = count;
    return SUB_OK;
}

int invoices_close_past_months(sqlite3 *db)
{
    char month[SUB_MONTH_SIZE], now_month[SUB_MONTH_SIZE], why[256];
    char *first;
    int rc, closed = 0;

    first = db_text(db, &rc, "SELECT min(registered_month) FROM customers", "");
    if (rc != SQLITE_ROW)
        return -1;
    if (!first)
        return 0;
    snprintf(month, sizeof month, "%s", first);
    free(first);
    if (!sub_month_valid(month))
        return 0;
    sub_month_of(sub_clock_now(), now_month);
    while (strcmp(month, now_month) < 0) {
        long long issued = 0;

        if (invoices_close_month(db, month, &issued, why, sizeof why) != SUB_OK) {
            log_error("cannot close month", "month=%s error=\"%s\"", month, why);
            return -1;
        }
        if (issued >= 0)
            closed++;
        sub_month_next(month, month);
    }
    return closed;
}
