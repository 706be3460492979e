#include "audit.h"
#include "money.h"

#include "log.h"
#include "strbuf.h"
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void author_operator(int token_index, const char *session_hash, char out[AUTHOR_SIZE])
{
    if (token_index < 0)
        snprintf(out, AUTHOR_SIZE, "operator:loopback");
    else if (session_hash && *session_hash)
        snprintf(out, AUTHOR_SIZE, "operator:token-%d:session-%.*s", token_index + 1,
                 AUTHOR_SESSION_DIGITS, session_hash);
    else
        snprintf(out, AUTHOR_SIZE, "operator:token-%d", token_index + 1);
}

void author_user(const char *user_id, char out[AUTHOR_SIZE])
{
    snprintf(out, AUTHOR_SIZE, "user:%s", user_id);
}

static void put(struct strbuf *sb, const char *s, int html)
{
    if (html)
        sb_html(sb, s);
    else
        sb_puts(sb, s);
}

void audit_author_words(struct strbuf *sb, const char *author, int html)
{
    int token = 0, n = 0;
    char session[AUTHOR_SESSION_DIGITS + 1] = "";

    if (!author || !*author) {
        sb_puts(sb, "not recorded");
    } else if (strcmp(author, "operator:loopback") == 0) {
        sb_puts(sb, "operator on loopback (no admin token configured)");
    } else if (sscanf(author, "operator:token-%d%n", &token, &n) == 1 && author[n] == '\0') {
        sb_printf(sb, "operator (token %d)", token);
    } else if (sscanf(author, "operator:token-%d:session-%12[0-9a-f]", &token, session) == 2) {
        sb_printf(sb, "operator (token %d, session %s)", token, session);
    } else if (strncmp(author, "user:", 5) == 0) {
        sb_puts(sb, "customer admin ");
        put(sb, author + 5, html);
    } else {
        put(sb, author, html);
    }
}

/* Columns of the history query, by name. */
enum {
    H_SEQ, H_AT, H_TYPE, H_AUTHOR, H_NAME, H_PLAN, H_FROM_MONTH, H_USER, H_EMAIL, H_KEY,
    H_AMOUNT, H_REASON, H_MONTH, H_TOTAL, H_ADMIN,
};

static const char *text(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? (const char *)s : "";
}

/* The user of an event in words: "ada@example.com (u_...)" or "u_...". */
static void user_words(struct strbuf *sb, sqlite3_stmt *st)
{
    if (*text(st, H_EMAIL))
        sb_printf(sb, "%s (%s)", text(st, H_EMAIL), text(st, H_USER));
    else
        sb_puts(sb, text(st, H_USER));
}

/* Writes the change that the current row of st describes into sb. */
static void describe(struct strbuf *sb, sqlite3_stmt *st)
{
    const char *type = text(st, H_TYPE);

    if (strcmp(type, "customer_registered") == 0) {
        sb_printf(sb, "registered as \"%s\" on plan %s", text(st, H_NAME), text(st, H_PLAN));
    } else if (strcmp(type, "plan_change_scheduled") == 0) {
        sb_printf(sb, "plan changed to %s from %s", text(st, H_PLAN), text(st, H_FROM_MONTH));
    } else if (strcmp(type, "user_added") == 0) {
        sb_puts(sb, "user added: ");
        user_words(sb, st);
    } else if (strcmp(type, "key_issued") == 0) {
        sb_printf(sb, "login key %s issued to ", text(st, H_KEY));
        user_words(sb, st);
    } else if (strcmp(type, "key_revoked") == 0) {
        sb_printf(sb, "login key %s of ", text(st, H_KEY));
        user_words(sb, st);
        sb_puts(sb, " revoked");
    } else if (strcmp(type, "user_removed") == 0) {
        sb_puts(sb, "user removed: ");
        user_words(sb, st);
    } else if (strcmp(type, "user_admin_set") == 0) {
        user_words(sb, st);
        sb_puts(sb, sqlite3_column_int64(st, H_ADMIN) ? " made an administrator"
                                                      : " no longer an administrator");
    } else if (strcmp(type, "payment_recorded") == 0) {
        sb_puts(sb, "payment of ");
        money_plain(sb, sqlite3_column_int64(st, H_AMOUNT));
    } else if (strcmp(type, "customer_locked") == 0) {
        sb_printf(sb, "locked (%s)", text(st, H_REASON));
    } else if (strcmp(type, "customer_unlocked") == 0) {
        sb_printf(sb, "unlocked (%s)", text(st, H_REASON));
    } else if (strcmp(type, "invoice_issued") == 0) {
        sb_printf(sb, "invoice for %s issued: ", text(st, H_MONTH));
        money_plain(sb, sqlite3_column_int64(st, H_TOTAL));
    } else {
        sb_puts(sb, type);
    }
}

#define F(name) "json_extract(e.data, '$." name "')"
/* The history of customer ?1, newest first, at most ?2 changes; the
 * columns are in the order of the H_ names above. */
static const char HISTORY_SQL[] =
    "SELECT e.seq, e.at, e.type, e.author, " F("name") ", " F("plan") ", " F("from_month") ", "
    F("user_id") ", (SELECT u.email FROM users u WHERE u.id = " F("user_id") "), " F("key_id") ", "
    F("amount_cents") ", " F("reason") ", " F("month") ", " F("total_cents") ", " F("admin")
    " FROM domain_events e WHERE e.customer_id = ?1"
    " AND e.type NOT IN ('usage_charged', 'usage_unbilled') ORDER BY e.seq DESC LIMIT ?2";
#undef F

int audit_history(sqlite3 *db, const char *customer_id, int limit, history_fn *fn,
                  void *userdata)
{
    sqlite3_stmt *st = NULL;
    int rc, result = -1;

    if (sqlite3_prepare_v2(db, HISTORY_SQL, -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, customer_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct strbuf what = STRBUF_INIT;
        struct history_item item;

        describe(&what, st);
        item.seq = sqlite3_column_int64(st, H_SEQ);
        item.at = text(st, H_AT);
        item.type = text(st, H_TYPE);
        item.author = sqlite3_column_type(st, H_AUTHOR) == SQLITE_NULL ? NULL : text(st, H_AUTHOR);
        item.what = sb_str(&what);
        fn(&item, userdata);
        sb_release(&what);
    }
    if (rc == SQLITE_DONE)
        result = 0;
out:
    if (result != 0)
        log_error("cannot read the history", "customer=%s error=\"%s\"", customer_id,
                  sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return result;
}
