#include "credit.h"

#include "db.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int credit_set_node(sqlite3 *db, const char *name)
{
    return db_ok(db_exec(db,
                         "INSERT INTO usage_node(id, node) VALUES (1, ?1)"
                         " ON CONFLICT(id) DO UPDATE SET node = excluded.node",
                         "t", name));
}

/* Parses the whole of s as a decimal integer (optional '-') into *out.
 * Returns 0, or -1. */
static int parse_ll(const char *s, size_t len, long long *out)
{
    char buf[32], *end;

    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    *out = strtoll(buf, &end, 10);
    return errno == 0 && *end == '\0' ? 0 : -1;
}

int credit_position_of(const char *charged_through, const char *node, long long *position)
{
    const char *p = charged_through ? charged_through : "";
    size_t node_len = strlen(node);

    *position = 0;
    while (*p) {
        size_t len = strcspn(p, " ");
        const char *eq = memchr(p, '=', len);
        long long value;

        if (len > 0) {
            if (!eq || parse_ll(eq + 1, len - (size_t)(eq + 1 - p), &value) != 0 || value < 0)
                return -1;
            if ((size_t)(eq - p) == node_len && memcmp(p, node, node_len) == 0)
                *position = value;
        }
        p += len;
        while (*p == ' ')
            p++;
    }
    return 0;
}

int credit_apply_update(sqlite3 *db, const char *customer_id, const char *credit_left_cents,
                        const char *unit_price_cents, const char *charged_through)
{
    long long left, price, through = 0, old;
    char *node;
    int rc;

    if (parse_ll(credit_left_cents, strlen(credit_left_cents), &left) != 0 ||
        parse_ll(unit_price_cents, strlen(unit_price_cents), &price) != 0 || price < 0) {
        log_error("malformed CreditUpdated",
                  "customer=%s credit_left_cents=\"%s\""
                  " unit_price_cents=\"%s\"",
                  customer_id, credit_left_cents, unit_price_cents);
        return -2;
    }
    node = db_text(db, &rc, "SELECT node FROM usage_node WHERE id = 1", "");
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    if (node && credit_position_of(charged_through, node, &through) != 0) {
        log_error("malformed CreditUpdated", "customer=%s charged_through=\"%s\"", customer_id,
                  charged_through);
        free(node);
        return -2;
    }
    free(node);
    old = db_int(db, &rc, 0, "SELECT charged_through FROM credit_use WHERE customer_id = ?1", "t",
                 customer_id);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    /* The units of this customer published in (old, through] are in the
     * new balance: they leave served_units. */
    return db_ok(db_exec(
        db,
        "INSERT INTO credit_use(customer_id, credit_left_cents, unit_price_cents,"
        " charged_through, served_units) VALUES (?1, ?2, ?3, max(?4, ?5), 0)"
        " ON CONFLICT(customer_id) DO UPDATE SET credit_left_cents = excluded.credit_left_cents,"
        " unit_price_cents = excluded.unit_price_cents,"
        " charged_through = excluded.charged_through,"
        " served_units = max(0, served_units - (SELECT coalesce(sum(units), 0) FROM usage_units"
        "  WHERE customer_id = ?1 AND position > ?5 AND position <= ?4))",
        "tiiii", customer_id, left, price, through, old));
}
