/*
 * events.h - the internal event store of Subscriptions and its projections.
 *
 * Invariants:
 *  - domain_events is append-only; each event's data is a JSON object. The
 *    events say what was decided (the amount charged, the month it counts
 *    in, the lock and its reason), so replaying them needs no clock and no
 *    rule: a projection is a pure fold of the events in seq order.
 *  - The projection tables (schema.h) are changed only by events_project(),
 *    which applies one event with the SQL listed for its type. Commands
 *    call it right after appending the event, in the same transaction, and
 *    events_rebuild() calls it for every event after emptying the
 *    projections: live and rebuilt projections are equal by construction.
 *  - Every event records its author (audit.h): who made the change. The
 *    projections never read it, so replaying needs no author either.
 *  - An event with a dedupe key is stored at most once: appending one whose
 *    key is taken stores nothing and reports SUB_CONFLICT, which is how a
 *    usage entry is charged once and a month invoiced once.
 *
 * Event types and their data fields:
 *   customer_registered  name, plan, credit_limit_cents (or null), month
 *   plan_change_scheduled plan, from_month
 *   user_added           user_id, email
 *   key_issued           user_id, key_id, key_sha256
 *   key_revoked          user_id, key_id
 *   user_removed         user_id (its keys are revoked with it)
 *   user_admin_set       user_id, admin (1: administrator of the customer, 0: not)
 *   payment_recorded     amount_cents
 *   usage_charged        entry_id, user_id, key_id, node, window_start,
 *                        window_end, units, unit_price_cents, amount_cents, month
 *   usage_unbilled       entry_id, units, reason
 *   customer_locked      reason ("overdraft" or "manual")
 *   customer_unlocked    reason ("payment" or "manual")
 *   month_closed         month
 *   invoice_issued       month, plan, fee_cents, units, usage_cents, total_cents
 */
#ifndef SUB_EVENTS_H
#define SUB_EVENTS_H

#include "result.h"
#include "strbuf.h"

#include <sqlite3.h>

/* The data of an event being built as a JSON object. */
struct event_data {
    struct strbuf sb; /* "{...", closed by event_data_json() */
    int fields;       /* fields written so far */
};

void event_data_init(struct event_data *d);
/* Adds a text field; value NULL writes null. key and value are copied. */
void event_data_str(struct event_data *d, const char *key, const char *value);
void event_data_int(struct event_data *d, const char *key, long long value);
/* Closes the object and returns its text, owned by d. */
const char *event_data_json(struct event_data *d);
void event_data_release(struct event_data *d);

/*
 * Appends the event type for customer_id (NULL for none) at time at with
 * data (a JSON object), made by author (audit.h; NULL only in tests), and
 * applies it to the projections. Must run inside a write transaction. dedupe (may be NULL) is the event's idempotency key:
 * if an event with that key exists, nothing is written and SUB_CONFLICT is
 * returned. Otherwise SUB_OK, or SUB_ERROR (logged) when SQLite failed,
 * after which the caller rolls back.
 */
enum sub_result event_append(sqlite3 *db, const char *type, const char *customer_id,
                             const char *at, const char *dedupe, const char *data_json,
                             const char *author);

/* Applies the stored event seq, of type type, to the projections. Returns
 * 0, or -1 (logged). */
int events_project(sqlite3 *db, long long seq, const char *type);

/*
 * Empties every projection table and applies every internal event again,
 * in one transaction (nothing changes on failure). Returns the number of
 * events applied, or -1 (logged).
 */
long long events_rebuild(sqlite3 *db);

/* Opens a command's write transaction (BEGIN IMMEDIATE): SUB_OK or
 * SUB_ERROR (logged). */
enum sub_result events_begin(sqlite3 *db);

/* Ends a command's transaction: commits when result is SUB_OK (returning
 * SUB_ERROR if the commit fails), rolls back otherwise. Returns the
 * command's result. */
enum sub_result events_end(sqlite3 *db, enum sub_result result);

#endif
