#include "customers.h"

#include "credit.h"
#include "db.h"
#include "events.h"
#include "lockout.h"
#include "log.h"
#include "plans.h"
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy_word(char out[SUB_WORD_SIZE], const unsigned char *s)
{
    snprintf(out, SUB_WORD_SIZE, "%s", s ? (const char *)s : "");
}

int customer_plan_in(sqlite3 *db, const char *id, const char *month, char plan[SUB_WORD_SIZE])
{
    int rc;
    char *name = db_text(db, &rc,
                         "SELECT plan FROM plan_periods WHERE customer_id = ?1"
                         " ORDER BY from_month <= ?2 DESC,"
                         " CASE WHEN from_month <= ?2 THEN from_month END DESC, from_month"
                         " LIMIT 1",
                         "tt", id, month);

    plan[0] = '\0';
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        log_error("cannot read a customer's plan", "id=%s month=%s error=\"%s\"", id, month,
                  sqlite3_errmsg(db));
        return -1;
    }
    if (!name) {
        log_error("customer has no plan", "id=%s month=%s", id, month);
        return 1;
    }
    copy_word(plan, (const unsigned char *)name);
    free(name);
    return 0;
}

const struct plan *customer_plan_of(sqlite3 *db, const char *id, const char *month)
{
    char name[SUB_WORD_SIZE];
    const struct plan *p;

    if (customer_plan_in(db, id, month, name) != 0)
        return NULL;
    p = plan_find(name);
    if (!p)
        log_error("customer's plan is not in the catalogue", "id=%s month=%s plan=%s", id, month,
                  name);
    return p;
}

enum sub_result customer_load(sqlite3 *db, const char *id, struct customer_state *out, char *why,
                              size_t why_size)
{
    sqlite3_stmt *st = NULL;
    enum sub_result result = SUB_ERROR;
    const struct plan *plan;
    char month[SUB_MONTH_SIZE];
    int has_limit = 0, rc;

    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db,
                           "SELECT balance_cents, credit_limit_cents, lock_reason FROM customers"
                           " WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        result = sub_fail(SUB_NOT_FOUND, why, why_size, "no customer with id %s", id);
        goto out;
    }
    if (rc != SQLITE_ROW)
        goto out;
    out->balance_cents = sqlite3_column_int64(st, 0);
    if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
        has_limit = 1;
        out->credit_limit_cents = sqlite3_column_int64(st, 1);
    }
    copy_word(out->lock_reason, sqlite3_column_text(st, 2));
    sub_month_of(sub_clock_now(), month);
    plan = customer_plan_of(db, id, month);
    if (!plan)
        goto out;
    copy_word(out->plan, (const unsigned char *)plan->name);
    out->unit_price_cents = plan->unit_price_cents;
    if (!has_limit)
        out->credit_limit_cents = plan->credit_limit_cents;
    result = SUB_OK;
out:
    if (result == SUB_ERROR) {
        log_error("cannot read customer", "id=%s error=\"%s\"", id, sqlite3_errmsg(db));
        sub_fail(SUB_ERROR, why, why_size, "the database failed; try again");
    }
    sqlite3_finalize(st);
    return result;
}

/* Whether name has a visible character and no control characters. */
static int name_ok(const char *name)
{
    int visible = 0;

    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return 0;
        if (*p != ' ')
            visible = 1;
    }
    return visible;
}

enum sub_result customer_register(sqlite3 *db, const char *author, const char *name,
                                  const char *plan, const long long *credit_limit_cents,
                                  char id[SUB_ID_SIZE], char *why, size_t why_size)
{
    const struct plan *p = (plan && *plan) ? plan_find(plan) : plan_default();
    char at[SUB_TIME_SIZE], month[SUB_MONTH_SIZE];
    struct event_data d;
    enum sub_result r;

    if (!name || !name_ok(name))
        return sub_fail(SUB_INVALID, why, why_size, "name: give the customer's name (not empty)");
    if (strlen(name) > CUSTOMER_NAME_MAX)
        return sub_fail(SUB_INVALID, why, why_size, "name: at most %d bytes", CUSTOMER_NAME_MAX);
    if (!p)
        return sub_fail(SUB_INVALID, why, why_size, "plan: one of %s", plan_names());
    if (credit_limit_cents && (*credit_limit_cents < 0 || *credit_limit_cents > SUB_MONEY_MAX))
        return sub_fail(SUB_INVALID, why, why_size,
                        "credit_limit_cents: a whole number of cents from 0 to %lld",
                        SUB_MONEY_MAX);
    if (sub_id_new('c', id) != 0)
        return sub_fail(SUB_ERROR, why, why_size, "no random bytes from the OS; try again");

    sub_time_format(sub_clock_now(), at);
    sub_month_of(sub_clock_now(), month);
    event_data_init(&d);
    event_data_str(&d, "name", name);
    event_data_str(&d, "plan", p->name);
    if (credit_limit_cents)
        event_data_int(&d, "credit_limit_cents", *credit_limit_cents);
    else
        event_data_str(&d, "credit_limit_cents", NULL);
    event_data_str(&d, "month", month);

    r = events_begin(db);
    if (r == SUB_OK)
        r = event_append(db, "customer_registered", id, at, NULL, event_data_json(&d), author);
    if (r == SUB_OK)
        r = publish(db, "CustomerRegistered", at, "customerId", id, "name", name, "plan", p->name,
                    NULL);
    if (r == SUB_OK)
        r = credit_publish(db, id, at);
    r = events_end(db, r);
    event_data_release(&d);
    if (r == SUB_OK)
        log_info("customer registered", "id=%s plan=%s by=%s", id, p->name, author);
    else
        sub_fail(r, why, why_size, "the database failed; try again");
    return r;
}

enum sub_result customer_change_plan(sqlite3 *db, const char *author, const char *id,
                                     const char *plan, char from_month[SUB_MONTH_SIZE], char *why,
                                     size_t why_size)
{
    const struct plan *p = plan_find(plan);
    struct customer_state state;
    char at[SUB_TIME_SIZE], due[SUB_WORD_SIZE];
    struct event_data d;
    enum sub_result r;

    if (!plan || !*plan)
        return sub_fail(SUB_INVALID, why, why_size, "plan: give one of %s", plan_names());
    if (!p)
        return sub_fail(SUB_INVALID, why, why_size, "plan: one of %s", plan_names());
    sub_time_format(sub_clock_now(), at);
    sub_month_of(sub_clock_now(), from_month);
    sub_month_next(from_month, from_month);

    event_data_init(&d);
    event_data_str(&d, "plan", p->name);
    event_data_str(&d, "from_month", from_month);
    r = events_begin(db);
    if (r == SUB_OK)
        r = customer_load(db, id, &state, why, why_size);
    if (r == SUB_OK && customer_plan_in(db, id, from_month, due) < 0)
        r = sub_fail(SUB_ERROR, why, why_size, "the database failed; try again");
    if (r == SUB_OK && strcmp(due, p->name) != 0)
        r = event_append(db, "plan_change_scheduled", id, at, NULL, event_data_json(&d), author);
    if (r == SUB_OK)
        r = credit_publish(db, id, at);
    r = events_end(db, r);
    event_data_release(&d);
    if (r == SUB_OK)
        log_info("plan change scheduled", "id=%s plan=%s from=%s by=%s", id, p->name, from_month,
                 author);
    return r;
}

enum sub_result customer_lock(sqlite3 *db, const char *author, const char *id, char *why,
                              size_t why_size)
{
    struct customer_state state;
    char at[SUB_TIME_SIZE];
    enum sub_result r;

    sub_time_format(sub_clock_now(), at);
    r = events_begin(db);
    if (r == SUB_OK)
        r = customer_load(db, id, &state, why, why_size);
    if (r == SUB_OK && strcmp(state.lock_reason, "manual") != 0)
        r = lockout_lock(db, author, id, "manual", at);
    return events_end(db, r);
}

enum sub_result customer_unlock(sqlite3 *db, const char *author, const char *id, char *why,
                                size_t why_size)
{
    struct customer_state state;
    char at[SUB_TIME_SIZE];
    enum sub_result r;

    sub_time_format(sub_clock_now(), at);
    r = events_begin(db);
    if (r == SUB_OK)
        r = customer_load(db, id, &state, why, why_size);
    if (r == SUB_OK && state.lock_reason[0])
        r = lockout_unlock(db, author, id, "manual", at);
    return events_end(db, r);
}
