#include "credit.h"

#include "customers.h"
#include "db.h"
#include "log.h"
#include "publish.h"
#include "strbuf.h"

#include <stdio.h>

enum sub_result credit_node_applied(sqlite3 *db, const char *node, long long position)
{
    if (!node || !*node)
        return SUB_OK;
    return db_ok(db_exec(db,
                         "INSERT INTO usage_nodes(node, position) VALUES (?1, ?2)"
                         " ON CONFLICT(node) DO UPDATE SET position ="
                         " max(position, excluded.position)",
                         "ti", node, position)) == 0
               ? SUB_OK
               : SUB_ERROR;
}

/* Writes "NODE=POSITION ..." of every node into sb, capped. Returns 0, or
 * -1 (logged). */
static int charged_through(sqlite3 *db, struct strbuf *sb)
{
    sqlite3_stmt *st = NULL;
    int rc, status = -1;

    if (sqlite3_prepare_v2(db, "SELECT node, position FROM usage_nodes ORDER BY node", -1, &st,
                           NULL) != SQLITE_OK)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sb_len(sb))
            sb_puts(sb, " ");
        sb_printf(sb, "%s=%lld", (const char *)sqlite3_column_text(st, 0),
                  (long long)sqlite3_column_int64(st, 1));
        if (sb_len(sb) > CREDIT_CHARGED_THROUGH_MAX) {
            log_error("too many nodes for chargedThrough", "max_bytes=%d",
                      CREDIT_CHARGED_THROUGH_MAX);
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        log_error("cannot read the usage nodes", "error=\"%s\"", sqlite3_errmsg(db));
        goto out;
    }
    status = 0;
out:
    sqlite3_finalize(st);
    return status;
}

enum sub_result credit_publish(sqlite3 *db, const char *id, const char *at)
{
    struct customer_state s;
    struct strbuf through = STRBUF_INIT;
    char left[32], price[32];
    enum sub_result r = customer_load(db, id, &s, NULL, 0);

    if (r != SUB_OK)
        goto out;
    if (charged_through(db, &through) != 0) {
        r = SUB_ERROR;
        goto out;
    }
    snprintf(left, sizeof left, "%lld", s.balance_cents + s.credit_limit_cents);
    snprintf(price, sizeof price, "%lld", s.unit_price_cents);
    r = publish(db, "CreditUpdated", at, "customerId", id, "creditLeftCents", left,
                "unitPriceCents", price, "chargedThrough", sb_str(&through), NULL);
out:
    sb_release(&through);
    return r;
}
