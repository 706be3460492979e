/*
 * customers.h - registering customers, reading their state, changing their
 * plan, and the operator's lock and unlock.
 *
 * A customer's plan is kept as periods (plan_periods): the plan of month M
 * is the one that starts latest at or before M. Registration starts one in
 * the month of registration; a plan change starts one in the next month, so
 * it takes effect from the next month. The credit limit is the customer's
 * own when set at registration, else the limit of the plan in effect.
 *
 * Every command takes the author of the change (audit.h, never NULL) and
 * records it with the events it appends.
 */
#ifndef SUB_CUSTOMERS_H
#define SUB_CUSTOMERS_H

#include "calendar.h"
#include "login_keys.h"
#include "result.h"

#include <sqlite3.h>
#include <stddef.h>

/* Bytes of a plan name or a lock reason with the NUL. */
#define SUB_WORD_SIZE 16

/* Longest customer name, in bytes. */
#define CUSTOMER_NAME_MAX 200

/* Largest credit limit and payment, in cents. */
#define SUB_MONEY_MAX 1000000000000LL

/* What the billing rules need to know of a customer now. */
struct customer_state {
    long long balance_cents;
    long long credit_limit_cents;    /* in effect now */
    char lock_reason[SUB_WORD_SIZE]; /* "" when active, "overdraft" or "manual" */
    char plan[SUB_WORD_SIZE];        /* plan in effect this month */
    long long unit_price_cents;      /* that plan's price of a unit */
};

/* Reads customer id into *out: SUB_OK, SUB_NOT_FOUND or SUB_ERROR. */
enum sub_result customer_load(sqlite3 *db, const char *id, struct customer_state *out, char *why,
                              size_t why_size);

/*
 * Writes the plan of customer id in month into plan: the period starting
 * latest at or before month, or, for a month before its registration (a
 * clock stepped back), the plan it registered with. Returns 0; 1 when the
 * customer has no plan at all; -1 when the query failed. Both failures are
 * logged and leave plan empty: there is no default plan to fall back on,
 * since charging the wrong price would be final (the dedupe keys of
 * charges and invoices make a wrong result permanent).
 */
int customer_plan_in(sqlite3 *db, const char *id, const char *month, char plan[SUB_WORD_SIZE]);

struct plan;

/* The catalogue entry of customer id's plan in month (customer_plan_in()),
 * or NULL (logged) when it cannot be read or is not in the catalogue: the
 * caller fails its command (SUB_ERROR), never picks a default. */
const struct plan *customer_plan_of(sqlite3 *db, const char *id, const char *month);

/*
 * Registers a customer called name on plan (NULL or "" for the default)
 * with credit limit *credit_limit_cents (NULL for the plan's), publishing
 * CustomerRegistered, and writes its new id into id. SUB_INVALID for an
 * empty or too long name, an unknown plan or a limit out of range.
 */
enum sub_result customer_register(sqlite3 *db, const char *author, const char *name,
                                  const char *plan, const long long *credit_limit_cents,
                                  char id[SUB_ID_SIZE], char *why, size_t why_size);

/* Schedules plan for customer id from the next month, written into
 * from_month. Changing to the plan already due then changes nothing. */
enum sub_result customer_change_plan(sqlite3 *db, const char *author, const char *id,
                                     const char *plan, char from_month[SUB_MONTH_SIZE], char *why,
                                     size_t why_size);

/* The operator's lock: the customer is locked for reason "manual", which
 * only customer_unlock() lifts. Locking a customer already locked by hand
 * changes nothing. */
enum sub_result customer_lock(sqlite3 *db, const char *author, const char *id, char *why,
                              size_t why_size);

/* The operator's unlock: lifts any lock, manual or overdraft. An overdrawn
 * customer unlocked this way is locked again by its next charge. Unlocking
 * an active customer changes nothing. */
enum sub_result customer_unlock(sqlite3 *db, const char *author, const char *id, char *why,
                                size_t why_size);

#endif
