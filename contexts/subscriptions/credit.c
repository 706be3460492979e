#include "credit.h"

#include "calendar.h"
#include "customers.h"
#include "db.h"
#include "log.h"
#include "publish.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>

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

int credit_backfill(sqlite3 *db)
{
    char at[SUB_TIME_SIZE];
    sqlite3_stmt *st = NULL;
    char **ids = NULL;
    size_t n = 0;
    long long done;
    int rc, status = -1;

    if (db_begin(db) != SQLITE_OK)
        return -1;
    done = db_int(db, &rc, 0, "SELECT count(*) FROM credit_backfill", "");
    if (rc != SQLITE_ROW)
        goto out;
    if (done) {
        status = 0;
        goto out;
    }
    if (sqlite3_prepare_v2(db, "SELECT id FROM customers ORDER BY registered_at, id", -1, &st,
                           NULL) != SQLITE_OK)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ids = xrealloc(ids, (n + 1) * sizeof *ids);
        ids[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    if (rc != SQLITE_DONE)
        goto out;
    sub_time_format(sub_clock_now(), at);
    for (size_t i = 0; i < n; i++)
        if (credit_publish(db, ids[i], at) != SUB_OK)
            goto out;
    if (db_exec(db, "INSERT INTO credit_backfill(id) VALUES (1)", "") != SQLITE_DONE)
        goto out;
    if (db_commit(db) != SQLITE_OK)
        goto out;
    if (n > 0)
        log_info("credit published for the customers of an older database", "customers=%zu", n);
    status = 0;
out:
    if (status != 0)
        log_error("cannot publish the customers' credit", "error=\"%s\"", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (!sqlite3_get_autocommit(db))
        db_rollback(db);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
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
