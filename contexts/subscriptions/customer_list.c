#include "customer_list.h"

#include "calendar.h"
#include "form.h"
#include "strbuf.h"

#include <feedserver.h>
#include <stdio.h>
#include <string.h>

/* The customers matching ?2 (a search text, "" for all): by name or by the
 * email of a current user, ignoring ASCII case. ?1 is this month. */
#define FROM_SQL                                                                                   \
    " FROM customers c WHERE (?2 = '' OR instr(lower(c.name), lower(?2)) > 0"                      \
    " OR EXISTS (SELECT 1 FROM users u WHERE u.customer_id = c.id AND u.removed_at IS NULL"        \
    " AND instr(lower(u.email), lower(?2)) > 0))"

#define PLAN_SQL                                                                                   \
    "(SELECT plan FROM plan_periods p WHERE p.customer_id = c.id AND p.from_month <= ?1"           \
    " ORDER BY p.from_month DESC LIMIT 1)"

/* The ORDER BY of each sort and direction: fixed texts, never the
 * request's. */
static const char *order_sql(const struct customer_query *q)
{
    if (q->sort == CUSTOMER_SORT_NAME)
        return q->descending ? " ORDER BY c.name COLLATE NOCASE DESC, c.id DESC"
                             : " ORDER BY c.name COLLATE NOCASE, c.id";
    return q->descending ? " ORDER BY c.registered_at DESC, c.id DESC"
                         : " ORDER BY c.registered_at, c.id";
}

int customer_query_read(struct fs_request *req, int limit_allowed, struct customer_query *out,
                        char *why, size_t why_size)
{
    const char *q = fs_request_query(req, "q"), *sort = fs_request_query(req, "sort");
    const char *order = fs_request_query(req, "order");
    const char *limit = fs_request_query(req, "limit"), *offset = fs_request_query(req, "offset");
    const char *page = fs_request_query(req, "page");
    long long n;

    memset(out, 0, sizeof *out);
    out->q = q ? q : "";
    out->limit = limit_allowed ? -1 : CUSTOMER_PAGE_SIZE;
    if (strlen(out->q) > CUSTOMER_QUERY_MAX) {
        snprintf(why, why_size, "q: a search text of at most %d bytes", CUSTOMER_QUERY_MAX);
        return -1;
    }
    if (sort && *sort) {
        if (strcmp(sort, "name") == 0)
            out->sort = CUSTOMER_SORT_NAME;
        else if (strcmp(sort, "date") != 0) {
            snprintf(why, why_size, "sort: name or date");
            return -1;
        }
    }
    if (order && *order) {
        if (strcmp(order, "desc") == 0)
            out->descending = 1;
        else if (strcmp(order, "asc") != 0) {
            snprintf(why, why_size, "order: asc or desc");
            return -1;
        }
    }
    if (limit_allowed && limit && *limit) {
        if (parse_int64(limit, 1, CUSTOMER_LIMIT_MAX, &n) != 0) {
            snprintf(why, why_size, "limit: a whole number from 1 to %d", CUSTOMER_LIMIT_MAX);
            return -1;
        }
        out->limit = n;
    }
    if (limit_allowed && offset && *offset) {
        if (parse_int64(offset, 0, 1000000000LL, &n) != 0) {
            snprintf(why, why_size, "offset: a whole number from 0");
            return -1;
        }
        out->offset = n;
    }
    if (!limit_allowed && page && *page) {
        if (parse_int64(page, 1, 1000000000LL / CUSTOMER_PAGE_SIZE, &n) != 0) {
            snprintf(why, why_size, "page: a whole number from 1");
            return -1;
        }
        out->offset = (n - 1) * CUSTOMER_PAGE_SIZE;
    }
    return 0;
}

/* Prepares sql and binds this month (?1), the search (?2), the limit (?3)
 * and the offset (?4, when the statement has them). */
static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, const struct customer_query *q,
                             char month[SUB_MONTH_SIZE])
{
    sqlite3_stmt *st = NULL;

    sub_month_of(sub_clock_now(), month);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    sqlite3_bind_text(st, 1, month, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, q->q ? q->q : "", -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) >= 4) {
        sqlite3_bind_int64(st, 3, q->limit);
        sqlite3_bind_int64(st, 4, q->offset);
    }
    return st;
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? (const char *)s : "";
}

int customer_list(sqlite3 *db, const struct customer_query *q, customer_row_fn *fn, void *userdata)
{
    char sql[1024], month[SUB_MONTH_SIZE];
    sqlite3_stmt *st;
    int rc;

    if (snprintf(sql, sizeof sql,
                 "SELECT c.id, c.name, " PLAN_SQL ", c.registered_at, coalesce(c.lock_reason, ''),"
                 " c.balance_cents" FROM_SQL "%s LIMIT ?3 OFFSET ?4",
                 order_sql(q)) >= (int)sizeof sql)
        return -1;
    st = prepare(db, sql, q, month);
    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct customer_row row = {
            .id = col(st, 0),
            .name = col(st, 1),
            .plan = col(st, 2),
            .registered_at = col(st, 3),
            .lock_reason = col(st, 4),
            .balance_cents = sqlite3_column_int64(st, 5),
        };
        fn(&row, userdata);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

long long customer_count(sqlite3 *db, const struct customer_query *q)
{
    char month[SUB_MONTH_SIZE];
    sqlite3_stmt *st = prepare(db, "SELECT count(*)" FROM_SQL " AND ?1 = ?1", q, month);
    long long n = -1;

    if (st && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

char *customer_list_json(sqlite3 *db, const struct customer_query *q)
{
    char sql[1400], month[SUB_MONTH_SIZE];
    sqlite3_stmt *st;
    char *json = NULL;

    if (snprintf(sql, sizeof sql,
                 "SELECT json_group_array(json(doc)) FROM (SELECT json_object('id', c.id,"
                 " 'name', c.name, 'plan', " PLAN_SQL ", 'balance_cents', c.balance_cents,"
                 " 'status', CASE WHEN c.lock_reason IS NULL THEN 'active' ELSE 'locked' END)"
                 " AS doc" FROM_SQL "%s LIMIT ?3 OFFSET ?4)",
                 order_sql(q)) >= (int)sizeof sql)
        return NULL;
    st = prepare(db, sql, q, month);
    if (st && sqlite3_step(st) == SQLITE_ROW)
        json = xstrdup(col(st, 0));
    sqlite3_finalize(st);
    return json;
}
