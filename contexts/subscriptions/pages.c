#include "pages.h"

#include "audit.h"
#include "calendar.h"
#include "csrf.h"
#include "customers.h"
#include "db.h"
#include "log.h"
#include "plans.h"
#include "strbuf.h"
#include "views.h"
#include "web.h"

#include <feedserver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Changes listed on a customer's page; its history page lists up to
 * HISTORY_ALL. */
#define HISTORY_RECENT 30
#define HISTORY_ALL 1000

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? (const char *)s : "";
}

void page_reply(struct fs_request *req, unsigned status, const char *title, struct strbuf *sb)
{
    fs_reply_header(req, "X-Frame-Options", "DENY");
    fs_reply_header(req, "Content-Security-Policy", "frame-ancestors 'none'");
    web_reply_page(req, status, SUB_PROG, title, sb_str(sb));
    sb_release(sb);
}

void page_csrf_field(struct strbuf *sb, const struct caller *who)
{
    if (who && who->csrf[0])
        sb_printf(sb, "<input type=\"hidden\" name=\"" CSRF_FIELD "\" value=\"%s\">", who->csrf);
}

/* Opens a form posting to base + path (escaped), with the CSRF field. */
static void form_open(struct strbuf *sb, const struct caller *who, const char *cls,
                      const char *path)
{
    sb_puts(sb, "<form");
    if (cls)
        sb_printf(sb, " class=\"%s\"", cls);
    sb_puts(sb, " method=\"post\" action=\"");
    sb_html(sb, caller_base(who));
    sb_html(sb, path);
    sb_puts(sb, "\">");
    page_csrf_field(sb, who);
}

static void button_form(struct strbuf *sb, const struct caller *who, const char *path,
                        const char *label, const char *cls)
{
    form_open(sb, who, "inline", path);
    sb_printf(sb, "<button type=\"submit\" class=\"%s\">%s</button></form> ", cls, label);
}

/* Who is signed in, and the sign-out button. */
static void signed_in_as(struct strbuf *sb, const struct caller *who)
{
    if (!who || who->kind == CALLER_NOBODY)
        return;
    /* A div, not a p: the sign-out form would end a p. */
    sb_puts(sb, "<div class=\"muted\" id=\"signed-in\">");
    if (who->kind == CALLER_USER) {
        sb_puts(sb, "Signed in as ");
        sb_html(sb, who->session.email);
        sb_puts(sb, who->session.is_admin ? " (administrator)" : "");
        sb_puts(sb, " ");
        button_form(sb, who, "/logout", "Sign out", "secondary");
    } else if (who->token_index < 0) {
        sb_puts(sb, "Operator on loopback: no admin token is configured, so this server answers "
                    "loopback clients only.");
    } else {
        sb_printf(sb, "Signed in as operator (admin token %d)", who->token_index + 1);
        if (who->has_session) {
            sb_puts(sb, " ");
            button_form(sb, who, "/logout", "Sign out", "secondary");
        }
    }
    sb_puts(sb, "</div>\n");
}

static void nav(struct strbuf *sb, const struct caller *who, const char *customer_id)
{
    const char *base = caller_base(who);

    signed_in_as(sb, who);
    sb_puts(sb, "<p class=\"pager\">");
    if (who->kind != CALLER_USER)
        sb_puts(sb, "<a href=\"/customers\">All customers</a>");
    if (customer_id) {
        sb_printf(sb, "<a href=\"%s/customers/", base);
        sb_html(sb, customer_id);
        sb_puts(sb, "\">Customer</a>");
        sb_printf(sb, "<a href=\"%s/customers/", base);
        sb_html(sb, customer_id);
        sb_puts(sb, "/invoices\">Invoices</a>");
        if (who->kind != CALLER_USER) {
            sb_puts(sb, "<a href=\"/customers/");
            sb_html(sb, customer_id);
            sb_puts(sb, "/history\">History</a>");
        }
    }
    if (who->kind != CALLER_USER)
        sb_puts(sb, "<a href=\"/feeds/subscriptions\">Feed <code>subscriptions</code></a>"
                    "<a href=\"/status\">Status</a>");
    sb_puts(sb, "</p>\n");
}

void page_customers(struct fs_request *req, const struct caller *who)
{
    sqlite3 *db = fs_request_db(req);
    struct strbuf sb = STRBUF_INIT;
    sqlite3_stmt *st = NULL;
    char month[SUB_MONTH_SIZE];
    int rows = 0;

    sub_month_of(sub_clock_now(), month);
    sb_puts(&sb, "<h1>Customers</h1>\n");
    nav(&sb, who, NULL);
    sb_puts(&sb, "<table><tr><th>Name</th><th>Id</th><th>Plan</th><th class=\"num\">Balance</th>"
                 "<th>Status</th></tr>\n");
    if (sqlite3_prepare_v2(db,
                           "SELECT c.id, c.name, (SELECT plan FROM plan_periods p"
                           " WHERE p.customer_id = c.id AND p.from_month <= ?1"
                           " ORDER BY p.from_month DESC LIMIT 1), c.balance_cents, c.lock_reason"
                           " FROM customers c ORDER BY c.registered_at, c.id",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, month, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *reason = col(st, 4);
            rows++;
            sb_puts(&sb, "<tr><td><a href=\"/customers/");
            sb_html(&sb, col(st, 0));
            sb_puts(&sb, "\">");
            sb_html(&sb, col(st, 1));
            sb_puts(&sb, "</a></td><td><code>");
            sb_html(&sb, col(st, 0));
            sb_puts(&sb, "</code></td><td>");
            sb_html(&sb, col(st, 2));
            sb_puts(&sb, "</td><td class=\"num\">");
            view_money(&sb, sqlite3_column_int64(st, 3));
            sb_printf(&sb, "</td><td><span class=\"badge %s\">%s</span></td></tr>\n",
                      *reason ? "locked" : "active", *reason ? "locked" : "active");
        }
    }
    sqlite3_finalize(st);
    if (!rows)
        sb_puts(&sb, "<tr><td colspan=\"5\">No customers yet: register one below.</td></tr>\n");
    sb_puts(&sb, "</table>\n<h2>Register a customer</h2>\n");
    form_open(&sb, who, NULL, "/customers");
    sb_puts(&sb, "<label>Name <input type=\"text\" name=\"name\" required maxlength=\"200\"></label>"
                 "<label>Plan <select name=\"plan\"><option value=\"payg\">payg: no monthly fee, "
                 "1 cent a unit, credit limit 10.00</option><option value=\"team\">team: 29.00 a "
                 "month, 1 cent a unit, credit limit 100.00</option></select></label>"
                 "<label>Credit limit in cents (empty: the plan's) <input type=\"number\" "
                 "name=\"credit_limit_cents\" min=\"0\"></label>"
                 "<button type=\"submit\">Register</button></form>\n");
    page_reply(req, 200, "Customers", &sb);
}

static void users_section(struct strbuf *sb, sqlite3 *db, const char *id, const struct caller *who)
{
    int manage = who->kind == CALLER_OPERATOR || (who->kind == CALLER_USER && who->session.is_admin);
    sqlite3_stmt *st = NULL;
    char path[256];
    int rows = 0;

    sb_puts(sb, "<h2>Users and login keys</h2>\n<table><tr><th>Email</th><th>User</th>"
                "<th>Keys (SHA-256 shown; the key itself is shown only once)</th><th></th></tr>\n");
    if (sqlite3_prepare_v2(db,
                           "SELECT u.id, u.email, k.id, k.key_sha256, u.is_admin FROM users u"
                           " LEFT JOIN login_keys k ON k.user_id = u.id AND k.revoked_at IS NULL"
                           " WHERE u.customer_id = ?1 AND u.removed_at IS NULL"
                           " ORDER BY u.added_at, u.id, k.issued_at, k.id",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *uid = col(st, 0), *kid = col(st, 2);
        int is_admin = sqlite3_column_int(st, 4) != 0;

        rows++;
        sb_puts(sb, "<tr><td>");
        sb_html(sb, col(st, 1));
        if (is_admin)
            sb_puts(sb, " <span class=\"badge active\">admin</span>");
        sb_puts(sb, "</td><td><code>");
        sb_html(sb, uid);
        sb_puts(sb, "</code></td><td>");
        if (*kid) {
            sb_puts(sb, "<code>");
            sb_html(sb, kid);
            sb_puts(sb, "</code> <code>");
            sb_html(sb, col(st, 3));
            sb_puts(sb, "</code> ");
            snprintf(path, sizeof path, "/customers/%s/users/%s/keys/%s/revoke", id, uid, kid);
            if (manage)
                button_form(sb, who, path, "Revoke key", "danger");
        } else {
            sb_puts(sb, "no valid key");
        }
        sb_puts(sb, "</td><td>");
        if (manage) {
            snprintf(path, sizeof path, "/customers/%s/users/%s/keys", id, uid);
            button_form(sb, who, path, "Issue a key", "secondary");
            snprintf(path, sizeof path, "/customers/%s/users/%s/remove", id, uid);
            button_form(sb, who, path, "Remove user", "danger");
        }
        if (who->kind == CALLER_OPERATOR) {
            snprintf(path, sizeof path, "/customers/%s/users/%s/admin", id, uid);
            form_open(sb, who, "inline", path);
            sb_printf(sb,
                      "<input type=\"hidden\" name=\"admin\" value=\"%d\"><button type=\"submit\""
                      " class=\"secondary\">%s</button></form> ",
                      is_admin ? 0 : 1, is_admin ? "Remove admin" : "Make admin");
        }
        sb_puts(sb, "</td></tr>\n");
    }
out:
    sqlite3_finalize(st);
    if (!rows)
        sb_puts(sb, "<tr><td colspan=\"4\">No users yet.</td></tr>\n");
    sb_puts(sb, "</table>\n");
    if (manage) {
        snprintf(path, sizeof path, "/customers/%s/users", id);
        form_open(sb, who, NULL, path);
        sb_puts(sb, "<label>Email <input type=\"email\" name=\"email\" required></label>"
                    "<button type=\"submit\">Add user</button></form>\n");
    }
}

static void charges_section(struct strbuf *sb, sqlite3 *db, const char *id)
{
    sqlite3_stmt *st = NULL;
    int rows = 0;

    sb_puts(sb, "<h2>Recent charges and payments</h2>\n<table><tr><th>When</th><th>What</th>"
                "<th class=\"num\">Units</th><th>Month</th><th class=\"num\">Amount</th></tr>\n");
    if (sqlite3_prepare_v2(db,
                           "SELECT at, kind, units, month, amount_cents FROM ledger"
                           " WHERE customer_id = ?1 ORDER BY seq DESC LIMIT 20",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            rows++;
            sb_puts(sb, "<tr><td>");
            sb_html(sb, col(st, 0));
            sb_puts(sb, "</td><td>");
            sb_html(sb, col(st, 1));
            sb_puts(sb, "</td><td class=\"num\">");
            sb_html(sb, col(st, 2));
            sb_puts(sb, "</td><td>");
            sb_html(sb, col(st, 3));
            sb_puts(sb, "</td><td class=\"num\">");
            view_money(sb, sqlite3_column_int64(st, 4));
            sb_puts(sb, "</td></tr>\n");
        }
    }
    sqlite3_finalize(st);
    if (!rows)
        sb_puts(sb, "<tr><td colspan=\"5\">Nothing charged or paid yet.</td></tr>\n");
    sb_puts(sb, "</table>\n");
}

static void history_row(const struct history_item *item, void *userdata)
{
    struct strbuf *sb = userdata;

    sb_puts(sb, "<tr><td>");
    sb_html(sb, item->at);
    sb_puts(sb, "</td><td>");
    sb_html(sb, item->what);
    sb_puts(sb, "</td><td>");
    audit_author_words(sb, item->author, 1);
    sb_puts(sb, "</td></tr>\n");
}

/* The table of the latest limit changes of customer id. */
static void history_section(struct strbuf *sb, sqlite3 *db, const char *id, int limit)
{
    size_t before;

    sb_puts(sb, "<h2 id=\"history\">History</h2>\n<table class=\"history\"><tr><th>When</th>"
                "<th>What</th><th>Who</th></tr>\n");
    before = sb_len(sb);
    if (audit_history(db, id, limit, history_row, sb) != 0)
        sb_puts(sb, "<tr><td colspan=\"3\">The history cannot be read now: try again.</td></tr>\n");
    else if (sb_len(sb) == before)
        sb_puts(sb, "<tr><td colspan=\"3\">No changes yet.</td></tr>\n");
    sb_puts(sb, "</table>\n<p class=\"muted\">Usage charges, made by billing, are listed under "
                "recent charges.</p>\n");
}

static void operator_forms(struct strbuf *sb, const char *id, const struct caller *who)
{
    char path[160];

    snprintf(path, sizeof path, "/customers/%s/payments", id);
    sb_puts(sb, "<h2>Payment</h2>");
    form_open(sb, who, NULL, path);
    sb_puts(sb, "<label>Amount in cents <input type=\"number\" name=\"amount_cents\" min=\"1\" "
                "required></label><button type=\"submit\">Record payment</button></form>\n");

    snprintf(path, sizeof path, "/customers/%s/plan", id);
    sb_puts(sb, "<h2>Plan</h2>");
    form_open(sb, who, NULL, path);
    sb_puts(sb, "<label>Plan from next month <select name=\"plan\">"
                "<option value=\"payg\">payg</option><option value=\"team\">team</option>"
                "</select></label><button type=\"submit\">Change plan</button></form>\n");

    sb_puts(sb, "<h2>Lock</h2><div>");
    snprintf(path, sizeof path, "/customers/%s/lock", id);
    button_form(sb, who, path, "Lock", "danger");
    snprintf(path, sizeof path, "/customers/%s/unlock", id);
    button_form(sb, who, path, "Unlock", "secondary");
    sb_puts(sb, "</div>\n");
}

void page_customer(struct fs_request *req, const char *id, const struct caller *who)
{
    sqlite3 *db = fs_request_db(req);
    struct strbuf sb = STRBUF_INIT;
    struct customer_state s;
    char why[256], month[SUB_MONTH_SIZE], now_month[SUB_MONTH_SIZE];
    char *name = NULL, *next = NULL;
    enum sub_result r = customer_load(db, id, &s, why, sizeof why);
    long long units, charges;

    if (r != SUB_OK) {
        page_error(req, r == SUB_NOT_FOUND ? 404 : 500, why,
                   who->kind == CALLER_USER ? "/portal" : "/customers");
        return;
    }
    sub_month_of(sub_clock_now(), now_month);
    if (view_open_month(db, month) != 0)
        snprintf(month, sizeof month, "%s", now_month);
    name = db_text(db, NULL, "SELECT name FROM customers WHERE id = ?1", "t", id);
    next = db_text(db, NULL,
                   "SELECT plan || ' from ' || from_month FROM plan_periods WHERE customer_id = ?1"
                   " AND from_month > ?2 ORDER BY from_month LIMIT 1",
                   "tt", id, now_month);
    units = db_int(db, NULL, 0,
                   "SELECT units FROM monthly_usage WHERE customer_id = ?1 AND month = ?2", "tt",
                   id, month);
    charges = db_int(db, NULL, 0,
                     "SELECT charges_cents FROM monthly_usage WHERE customer_id = ?1"
                     " AND month = ?2",
                     "tt", id, month);

    sb_puts(&sb, "<h1>");
    sb_html(&sb, name ? name : id);
    sb_printf(&sb, " <span class=\"badge %s\">%s</span></h1>\n",
              s.lock_reason[0] ? "locked" : "active", s.lock_reason[0] ? "locked" : "active");
    nav(&sb, who, id);
    if (s.lock_reason[0])
        sb_printf(&sb, "<p class=\"banner bad\">Locked (%s): the Cloud API and Product 1 refuse "
                       "every key of this customer. %s</p>\n",
                  s.lock_reason,
                  strcmp(s.lock_reason, "overdraft") == 0
                      ? "A payment that brings the balance back within the credit limit unlocks it."
                      : "Only an unlock lifts a manual lock.");
    sb_puts(&sb, "<dl class=\"fields\"><dt>Id</dt><dd>");
    sb_html(&sb, id);
    sb_puts(&sb, "</dd><dt>Plan</dt><dd>");
    sb_html(&sb, s.plan);
    if (next) {
        sb_puts(&sb, " (then ");
        sb_html(&sb, next);
        sb_puts(&sb, ")");
    }
    sb_puts(&sb, "</dd><dt>Balance</dt><dd id=\"balance\">");
    view_money(&sb, s.balance_cents);
    sb_puts(&sb, "</dd><dt>Credit limit</dt><dd>");
    view_money(&sb, s.credit_limit_cents);
    sb_printf(&sb, "</dd><dt>Usage in %s</dt><dd>%lld units, ", month, units);
    view_money(&sb, charges);
    sb_puts(&sb, "</dd></dl>\n");

    users_section(&sb, db, id, who);
    charges_section(&sb, db, id);
    if (who->kind == CALLER_OPERATOR) {
        operator_forms(&sb, id, who);
        history_section(&sb, db, id, HISTORY_RECENT);
    }
    free(name);
    free(next);
    page_reply(req, 200, "Customer", &sb);
}

void page_invoices(struct fs_request *req, const char *id, const struct caller *who)
{
    sqlite3 *db = fs_request_db(req);
    struct strbuf sb = STRBUF_INIT;
    struct customer_state s;
    sqlite3_stmt *st = NULL;
    char why[256];
    int rows = 0;

    if (customer_load(db, id, &s, why, sizeof why) != SUB_OK) {
        page_error(req, 404, why, who->kind == CALLER_USER ? "/portal" : "/customers");
        return;
    }
    sb_puts(&sb, "<h1>Invoices</h1>\n");
    nav(&sb, who, id);
    sb_puts(&sb, "<table><tr><th>Month</th><th>Plan</th><th class=\"num\">Fee</th>"
                 "<th class=\"num\">Units</th><th class=\"num\">Usage</th>"
                 "<th class=\"num\">Total</th><th>Issued</th></tr>\n");
    if (sqlite3_prepare_v2(db,
                           "SELECT month, plan, fee_cents, units, usage_cents, total_cents,"
                           " issued_at FROM invoices WHERE customer_id = ?1 ORDER BY month DESC",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            rows++;
            sb_puts(&sb, "<tr><td>");
            sb_html(&sb, col(st, 0));
            sb_puts(&sb, "</td><td>");
            sb_html(&sb, col(st, 1));
            sb_puts(&sb, "</td><td class=\"num\">");
            view_money(&sb, sqlite3_column_int64(st, 2));
            sb_printf(&sb, "</td><td class=\"num\">%lld</td><td class=\"num\">",
                      (long long)sqlite3_column_int64(st, 3));
            view_money(&sb, sqlite3_column_int64(st, 4));
            sb_puts(&sb, "</td><td class=\"num\">");
            view_money(&sb, sqlite3_column_int64(st, 5));
            sb_puts(&sb, "</td><td>");
            sb_html(&sb, col(st, 6));
            sb_puts(&sb, "</td></tr>\n");
        }
    }
    sqlite3_finalize(st);
    if (!rows)
        sb_puts(&sb, "<tr><td colspan=\"7\">No invoices yet: one is issued when a month "
                     "ends.</td></tr>\n");
    sb_puts(&sb, "</table>\n");
    page_reply(req, 200, "Invoices", &sb);
}

void page_history(struct fs_request *req, const char *id, const struct caller *who)
{
    sqlite3 *db = fs_request_db(req);
    struct strbuf sb = STRBUF_INIT;
    struct customer_state s;
    char why[256];

    if (customer_load(db, id, &s, why, sizeof why) != SUB_OK) {
        page_error(req, 404, why, "/customers");
        return;
    }
    sb_puts(&sb, "<h1>History</h1>\n");
    nav(&sb, who, id);
    history_section(&sb, db, id, HISTORY_ALL);
    page_reply(req, 200, "History", &sb);
}

void page_new_key(struct fs_request *req, const struct caller *who, const char *customer_id,
                  const char *email, const struct new_key *key)
{
    struct strbuf sb = STRBUF_INIT;

    sb_puts(&sb, email ? "<h1>User added</h1>\n" : "<h1>Login key issued</h1>\n");
    nav(&sb, who, customer_id);
    sb_puts(&sb, "<p class=\"banner warn\">Copy the login key now: it is shown only this once "
                 "and cannot be recovered (only its SHA-256 is kept).</p>\n<dl class=\"fields\">");
    if (email) {
        sb_puts(&sb, "<dt>Email</dt><dd>");
        sb_html(&sb, email);
        sb_puts(&sb, "</dd>");
    }
    sb_puts(&sb, "<dt>User</dt><dd>");
    sb_html(&sb, key->user_id);
    sb_puts(&sb, "</dd><dt>Key id</dt><dd>");
    sb_html(&sb, key->key_id);
    sb_puts(&sb, "</dd><dt>Login key</dt><dd><code id=\"login-key\">");
    sb_html(&sb, key->login_key);
    sb_printf(&sb, "</code></dd></dl>\n<p><a href=\"%s/customers/", caller_base(who));
    sb_html(&sb, customer_id);
    sb_puts(&sb, "\">Back to the customer</a></p>\n");
    fs_reply_header(req, "Cache-Control", "no-store");
    page_reply(req, 201, email ? "User added" : "Login key issued", &sb);
}

void page_error(struct fs_request *req, unsigned status, const char *why, const char *back_href)
{
    struct strbuf sb = STRBUF_INIT;

    sb_printf(&sb, "<h1>%s</h1>\n<p class=\"banner bad\">",
              status == 404   ? "Not found"
              : status == 401 ? "Sign in first"
              : status >= 500 ? "Server error"
                              : "Cannot do that");
    sb_html(&sb, why);
    sb_puts(&sb, "</p>\n<p><a href=\"");
    sb_html(&sb, back_href);
    sb_printf(&sb, "\">%s</a></p>\n", status == 401 ? "Sign in" : "Back");
    page_reply(req, status, "Error", &sb);
}
