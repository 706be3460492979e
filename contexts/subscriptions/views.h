/*
 * views.h - the JSON documents the routes answer with, built by SQLite's
 * json_object()/json_group_array() from the projections.
 */
#ifndef SUB_VIEWS_H
#define SUB_VIEWS_H

#include "result.h"

#include <sqlite3.h>
#include <stddef.h>

struct strbuf;

/*
 * The customer document: {"id","name","plan","next_plan","balance_cents",
 * "credit_limit_cents","status","lock_reason","registered_at","users":[{
 * "user_id","email","added_at","admin","keys":[{"key_id","key_sha256",
 * "issued_at"}]}],"current_month":{"month","units","charges_cents"},
 * "recent_charges":[{"kind","amount_cents","units","month","at"}]}.
 * Only current users and valid keys are listed; "current_month" is the
 * month that new usage counts in. Returns SUB_OK with *json (caller frees),
 * SUB_NOT_FOUND or SUB_ERROR.
 */
enum sub_result view_customer(sqlite3 *db, const char *id, char **json, char *why, size_t why_size);

/* [{"month","plan","fee_cents","units","usage_cents","total_cents",
 * "issued_at"}, ...] newest first; SUB_NOT_FOUND for an unknown customer. */
enum sub_result view_invoices(sqlite3 *db, const char *id, char **json, char *why, size_t why_size);

/* [{"seq","at","type","what","author"}, ...]: the changes of customer id,
 * newest first (audit.h; "author" null when not recorded). SUB_NOT_FOUND
 * for an unknown customer. */
enum sub_result view_history(sqlite3 *db, const char *id, char **json, char *why, size_t why_size);

/* Writes into month the month new usage counts in now: this month, or the
 * first open month after it when it is closed. */
int view_open_month(sqlite3 *db, char month[8]);

#endif
