#include "events.h"

#include "db.h"
#include "log.h"
#include "schema.h"

#include <stdio.h>
#include <string.h>

void event_data_init(struct event_data *d)
{
    struct strbuf empty = STRBUF_INIT;

    d->sb = empty;
    d->fields = 0;
    sb_puts(&d->sb, "{");
}

static void key(struct event_data *d, const char *k)
{
    if (d->fields++)
        sb_puts(&d->sb, ",");
    sb_json_string(&d->sb, k);
    sb_puts(&d->sb, ":");
}

void event_data_str(struct event_data *d, const char *k, const char *value)
{
    key(d, k);
    if (value)
        sb_json_string(&d->sb, value);
    else
        sb_puts(&d->sb, "null");
}

void event_data_int(struct event_data *d, const char *k, long long value)
{
    key(d, k);
    sb_printf(&d->sb, "%lld", value);
}

const char *event_data_json(struct event_data *d)
{
    sb_puts(&d->sb, "}");
    return sb_str(&d->sb);
}

void event_data_release(struct event_data *d)
{
    sb_release(&d->sb);
}

/* Fields of the event ?1 as SQL expressions. */
#define EV "(SELECT customer_id AS cid, at, data FROM domain_events WHERE seq = ?1)"
#define F(name) "json_extract(data, '$." name "')"

/* The projection of one event type: SQL statements run in order with the
 * event's seq as ?1. */
struct projection {
    const char *type;
    const char *sql[3];
};

static const struct projection PROJECTIONS[] = {
    {"customer_registered",
     {"INSERT INTO customers (id, name, credit_limit_cents, balance_cents, lock_reason,"
      " registered_at, registered_month)"
      " SELECT cid, " F("name") ", " F("credit_limit_cents") ", 0, NULL, at, " F("month") " FROM " EV,
      "INSERT OR REPLACE INTO plan_periods (customer_id, from_month, plan)"
      " SELECT cid, " F("month") ", " F("plan") " FROM " EV}},
    {"plan_change_scheduled",
     {"INSERT OR REPLACE INTO plan_periods (customer_id, from_month, plan)"
      " SELECT cid, " F("from_month") ", " F("plan") " FROM " EV}},
    {"user_added",
     {"INSERT INTO users (id, customer_id, email, added_at)"
      " SELECT " F("user_id") ", cid, " F("email") ", at FROM " EV}},
    {"key_issued",
     {"INSERT INTO login_keys (id, customer_id, user_id, key_sha256, issued_at)"
      " SELECT " F("key_id") ", cid, " F("user_id") ", " F("key_sha256") ", at FROM " EV}},
    {"key_revoked",
     {"UPDATE login_keys SET revoked_at = e.at FROM " EV " AS e"
      " WHERE login_keys.id = json_extract(e.data, '$.key_id') AND revoked_at IS NULL"}},
    {"user_removed",
     {"UPDATE users SET removed_at = e.at FROM " EV " AS e"
      " WHERE users.id = json_extract(e.data, '$.user_id')",
      "UPDATE login_keys SET revoked_at = e.at FROM " EV " AS e"
      " WHERE login_keys.user_id = json_extract(e.data, '$.user_id') AND revoked_at IS NULL"}},
    {"user_admin_set",
     {"UPDATE users SET is_admin = json_extract(e.data, '$.admin') FROM " EV " AS e"
      " WHERE users.id = json_extract(e.data, '$.user_id')"}},
    {"payment_recorded",
     {"UPDATE customers SET balance_cents = balance_cents + json_extract(e.data, '$.amount_cents')"
      " FROM " EV " AS e WHERE customers.id = e.cid",
      "INSERT INTO ledger (seq, customer_id, kind, amount_cents, at)"
      " SELECT ?1, cid, 'payment', " F("amount_cents") ", at FROM " EV}},
    {"usage_charged",
     {"UPDATE customers SET balance_cents = balance_cents - json_extract(e.data, '$.amount_cents')"
      " FROM " EV " AS e WHERE customers.id = e.cid",
      "INSERT INTO ledger (seq, customer_id, kind, amount_cents, units, month, at, detail)"
      " SELECT ?1, cid, 'usage', -" F("amount_cents") ", " F("units") ", " F("month") ", at,"
      " json_object('user_id', " F("user_id") ", 'key_id', " F("key_id") ", 'node', " F("node")
      ", 'window_start', " F("window_start") ", 'window_end', " F("window_end") ") FROM " EV,
      "INSERT INTO monthly_usage (customer_id, month, units, charges_cents)"
      " SELECT cid, " F("month") ", " F("units") ", " F("amount_cents") " FROM " EV " WHERE 1"
      " ON CONFLICT (customer_id, month) DO UPDATE SET units = units + excluded.units,"
      " charges_cents = charges_cents + excluded.charges_cents"}},
    {"usage_unbilled",
     {"INSERT OR IGNORE INTO unbilled_usage (entry_id, customer_id, units, reason, at)"
      " SELECT " F("entry_id") ", cid, " F("units") ", " F("reason") ", at FROM " EV}},
    {"customer_locked",
     {"UPDATE customers SET lock_reason = json_extract(e.data, '$.reason')"
      " FROM " EV " AS e WHERE customers.id = e.cid"}},
    {"customer_unlocked",
     {"UPDATE customers SET lock_reason = NULL FROM " EV " AS e WHERE customers.id = e.cid"}},
    {"month_closed",
     {"INSERT OR IGNORE INTO closed_months (month, closed_at) SELECT " F("month") ", at FROM " EV}},
    {"invoice_issued",
     {"INSERT INTO invoices (customer_id, month, plan, fee_cents, units, usage_cents,"
      " total_cents, issued_at)"
      " SELECT cid, " F("month") ", " F("plan") ", " F("fee_cents") ", " F("units") ", "
      F("usage_cents") ", " F("total_cents") ", at FROM " EV,
      "UPDATE customers SET balance_cents = balance_cents - json_extract(e.data, '$.fee_cents')"
      " FROM " EV " AS e WHERE customers.id = e.cid",
      "INSERT INTO ledger (seq, customer_id, kind, amount_cents, month, at, detail)"
      " SELECT ?1, cid, 'fee', -" F("fee_cents") ", " F("month") ", at, " F("plan")
      " FROM " EV " WHERE " F("fee_cents") " > 0"}},
};

int events_project(sqlite3 *db, long long seq, const char *type)
{
    for (size_t i = 0; i < sizeof PROJECTIONS / sizeof PROJECTIONS[0]; i++) {
        if (strcmp(PROJECTIONS[i].type, type) != 0)
            continue;
        for (size_t j = 0; j < 3 && PROJECTIONS[i].sql[j]; j++) {
            int rc = db_exec(db, PROJECTIONS[i].sql[j], "i", seq);
            if (rc != SQLITE_DONE && rc != SQLITE_ROW)
                return -1;
        }
        return 0;
    }
    log_error("internal event of unknown type", "seq=%lld type=%s", seq, type);
    return -1;
}

enum sub_result event_append(sqlite3 *db, const char *type, const char *customer_id,
                             const char *at, const char *dedupe, const char *data_json,
                             const char *author)
{
    int rc = db_exec(db,
                     "INSERT INTO domain_events (type, customer_id, at, dedupe, data, author)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (dedupe) DO NOTHING",
                     "tttttt", type, customer_id, at, dedupe, data_json, author);

    if (rc != SQLITE_DONE)
        return SUB_ERROR;
    if (sqlite3_changes(db) == 0)
        return SUB_CONFLICT;
    if (events_project(db, (long long)sqlite3_last_insert_rowid(db), type) != 0)
        return SUB_ERROR;
    return SUB_OK;
}

long long events_rebuild(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    long long count = 0;
    char sql[96];
    int rc;

    if (db_begin(db) != SQLITE_OK)
        return -1;
    for (unsigned i = 0; i < SUB_NPROJECTION_TABLES; i++) {
        snprintf(sql, sizeof sql, "DELETE FROM %s", SUB_PROJECTION_TABLES[i]);
        if (db_exec(db, sql, "") != SQLITE_DONE)
            goto fail;
    }
    if (sqlite3_prepare_v2(db, "SELECT seq, type FROM domain_events ORDER BY seq", -1, &st, NULL) !=
        SQLITE_OK) {
        log_error("cannot read internal events", "error=\"%s\"", sqlite3_errmsg(db));
        goto fail;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (events_project(db, sqlite3_column_int64(st, 0),
                           (const char *)sqlite3_column_text(st, 1)) != 0)
            goto fail;
        count++;
    }
    if (rc != SQLITE_DONE) {
        log_error("cannot read internal events", "error=\"%s\"", sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (db_commit(db) != SQLITE_OK)
        goto fail;
    return count;
fail:
    sqlite3_finalize(st);
    db_rollback(db);
    return -1;
}

enum sub_result events_begin(sqlite3 *db)
{
    return db_begin(db) == SQLITE_OK ? SUB_OK : SUB_ERROR;
}

enum sub_result events_end(sqlite3 *db, enum sub_result result)
{
    if (result == SUB_OK && db_commit(db) != SQLITE_OK)
        result = SUB_ERROR;
    if (result != SUB_OK)
        db_rollback(db);
    return result;
}
