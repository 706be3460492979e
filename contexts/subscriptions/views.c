#include "views.h"

#include "audit.h"
#include "billing.h"
#include "calendar.h"
#include "customers.h"
#include "db.h"
#include "strbuf.h"

#include <stdlib.h>

int view_open_month(sqlite3 *db, char month[8])
{
    sub_month_of(sub_clock_now(), month);
    return billing_open_month(db, month, month);
}

enum sub_result view_customer(sqlite3 *db, const char *id, char **json, char *why, size_t why_size)
{
    struct customer_state s;
    char now_month[SUB_MONTH_SIZE], open_month[SUB_MONTH_SIZE];
    enum sub_result r;
    int rc;

    *json = NULL;
    r = customer_load(db, id, &s, why, why_size);
    if (r != SUB_OK)
        return r;
    sub_month_of(sub_clock_now(), now_month);
    if (view_open_month(db, open_month) != 0)
        return sub_fail(SUB_ERROR, why, why_size, "the database failed; try again");
    *json = db_text(
        db, &rc,
        "SELECT json_object('id', c.id, 'name', c.name, 'plan', ?2,"
        " 'next_plan', (SELECT json_object('plan', p.plan, 'from_month', p.from_month)"
        "   FROM plan_periods p WHERE p.customer_id = c.id AND p.from_month > ?3"
        "   ORDER BY p.from_month LIMIT 1) -> '$',"
        " 'balance_cents', c.balance_cents, 'credit_limit_cents', ?4,"
        " 'status', CASE WHEN c.lock_reason IS NULL THEN 'active' ELSE 'locked' END,"
        " 'lock_reason', c.lock_reason, 'registered_at', c.registered_at,"
        " 'users', (SELECT json_group_array(json(u.doc)) FROM (SELECT json_object("
        "   'user_id', u.id, 'email', u.email, 'added_at', u.added_at,"
        "   'admin', json(CASE WHEN u.is_admin THEN 'true' ELSE 'false' END),"
        "   'keys', (SELECT json_group_array(json_object('key_id', k.id,"
        "     'key_sha256', k.key_sha256, 'issued_at', k.issued_at)) FROM"
        "     (SELECT * FROM login_keys k WHERE k.user_id = u.id AND k.revoked_at IS NULL"
        "      ORDER BY k.issued_at, k.id) AS k) -> '$') AS doc"
        "   FROM users u WHERE u.customer_id = c.id AND u.removed_at IS NULL"
        "   ORDER BY u.added_at, u.id) AS u) -> '$',"
        " 'current_month', json_object('month', ?5,"
        "   'units', coalesce((SELECT units FROM monthly_usage m WHERE m.customer_id = c.id"
        "     AND m.month = ?5), 0),"
        "   'charges_cents', coalesce((SELECT charges_cents FROM monthly_usage m"
        "     WHERE m.customer_id = c.id AND m.month = ?5), 0)),"
        " 'recent_charges', (SELECT json_group_array(json(l.doc)) FROM (SELECT json_object("
        "   'kind', kind, 'amount_cents', amount_cents, 'units', units, 'month', month,"
        "   'at', at) AS doc FROM ledger WHERE customer_id = c.id ORDER BY seq DESC LIMIT 20)"
        "   AS l) -> '$')"
        " FROM customers c WHERE c.id = ?1",
        "tttit", id, s.plan, now_month, (long long)s.credit_limit_cents, open_month);
    if (!*json)
        return sub_fail(SUB_ERROR, why, why_size, "the database failed; try again");
    return SUB_OK;
}

enum sub_result view_invoices(sqlite3 *db, const char *id, char **json, char *why, size_t why_size)
{
    struct customer_state s;
    enum sub_result r = customer_load(db, id, &s, why, why_size);

    *json = NULL;
    if (r != SUB_OK)
        return r;
    *json = db_text(db, NULL,
                    "SELECT json_group_array(json(doc)) FROM (SELECT json_object('month', month,"
                    " 'plan', plan, 'fee_cents', fee_cents, 'units', units,"
                    " 'usage_cents', usage_cents, 'total_cents', total_cents,"
                    " 'issued_at', issued_at) AS doc FROM invoices WHERE customer_id = ?1"
                    " ORDER BY month DESC)",
                    "t", id);
    if (!*json)
        return sub_fail(SUB_ERROR, why, why_size, "the database failed; try again");
    return SUB_OK;
}

/* Most changes GET /customers/ID/history answers with. */
#define HISTORY_MAX 1000

static void history_json(const struct history_item *item, void *userdata)
{
    struct strbuf *sb = userdata;

    sb_puts(sb, sb_len(sb) > 1 ? "," : "");
    sb_printf(sb, "{\"seq\":%lld,\"at\":", item->seq);
    sb_json_string(sb, item->at);
    sb_puts(sb, ",\"type\":");
    sb_json_string(sb, item->type);
    sb_puts(sb, ",\"what\":");
    sb_json_string(sb, item->what);
    sb_puts(sb, ",\"author\":");
    if (item->author)
        sb_json_string(sb, item->author);
    else
        sb_puts(sb, "null");
    sb_puts(sb, "}");
}

enum sub_result view_history(sqlite3 *db, const char *id, char **json, char *why, size_t why_size)
{
    struct customer_state s;
    struct strbuf sb = STRBUF_INIT;
    enum sub_result r = customer_load(db, id, &s, why, why_size);

    *json = NULL;
    if (r != SUB_OK)
        return r;
    sb_puts(&sb, "[");
    if (audit_history(db, id, HISTORY_MAX, history_json, &sb) != 0) {
        sb_release(&sb);
        return sub_fail(SUB_ERROR, why, why_size, "the database failed; try again");
    }
    sb_puts(&sb, "]");
    *json = sb_detach(&sb, NULL);
    return SUB_OK;
}
