#include "pages.h"

#include "audit.h"
#include "calendar.h"
#include "charts.h"
#include "csrf.h"
#include "customer_list.h"
#include "customers.h"
#include "db.h"
#include "flash.h"
#include "log.h"
#include "money.h"
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

/* A link that looks like a button: the way to a confirmation page. */
static void button_link(struct strbuf *sb, const struct caller *who, const char *path,
                        const char *label, const char *cls)
{
    sb_printf(sb, "<a class=\"button %s\" href=\"", cls);
    sb_html(sb, caller_base(who));
    sb_html(sb, path);
    sb_printf(sb, "\">%s</a> ", label);
}

void page_flash(struct strbuf *sb, struct fs_request *req, const struct caller *who,
                const char *scope)
{
    struct flash f;

    if (!flash_take(fs_request_query(req, "flash"), who->author, scope, &f))
        return;
    sb_printf(sb, "<div class=\"banner %s\" id=\"flash\" role=\"%s\">", f.bad ? "bad" : "good",
              f.bad ? "alert" : "status");
    sb_html(sb, f.text);
    sb_puts(sb, "</div>\n");
    if (f.secret[0]) {
        sb_puts(sb, "<div class=\"banner warn\" id=\"new-key\"><p><strong>Copy the login key "
                    "now:</strong> it is shown only this once and cannot be recovered (only its "
                    "SHA-256 is kept). Reloading this page does not show it again.</p>"
                    "<dl class=\"fields\">");
        if (f.detail[0]) {
            sb_puts(sb, "<dt>For</dt><dd>");
            sb_html(sb, f.detail);
            sb_puts(sb, "</dd>");
        }
        sb_puts(sb, "<dt>Login key</dt><dd><code id=\"login-key\">");
        sb_html(sb, f.secret);
        sb_puts(sb, "</code></dd></dl></div>\n");
    }
    flash_release(&f);
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

/* The customers page being built, for customer_list()'s rows. */
struct list_page {
    struct strbuf *sb;
    int rows;
};

/* customer_list()'s callback: appends row to the customers table of the
 * list_page userdata, with a link to the customer's page, and counts it. */
static void customer_row_html(const struct customer_row *row, void *userdata)
{
    struct list_page *lp = userdata;
    struct strbuf *sb = lp->sb;

    lp->rows++;
    sb_puts(sb, "<tr><td><a href=\"/customers/");
    sb_html(sb, row->id);
    sb_puts(sb, "\">");
    sb_html(sb, row->name);
    sb_puts(sb, "</a></td><td><code>");
    sb_html(sb, row->id);
    sb_puts(sb, "</code></td><td>");
    sb_html(sb, row->plan);
    sb_puts(sb, "</td><td>");
    sb_html(sb, row->registered_at);
    sb_puts(sb, "</td><td class=\"num\">");
    money_show(sb, row->balance_cents);
    sb_printf(sb, "</td><td><span class=\"badge %s\">%s</span></td></tr>\n",
              *row->lock_reason ? "locked" : "active", *row->lock_reason ? "locked" : "active");
}

/* Appends the link to the customers list with q's search and sort and the
 * given order and page (from 1). */
static void list_href(struct strbuf *sb, const struct customer_query *q, enum customer_sort sort,
                      int descending, long long page)
{
    sb_printf(sb, "/customers?sort=%s&amp;order=%s", sort == CUSTOMER_SORT_NAME ? "name" : "date",
              descending ? "desc" : "asc");
    if (q->q && *q->q) {
        sb_puts(sb, "&amp;q=");
        for (const unsigned char *p = (const unsigned char *)q->q; *p; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '-' || *p == '_' || *p == '.')
                sb_append(sb, (const char *)p, 1);
            else
                sb_printf(sb, "%%%02X", *p);
        }
    }
    if (page > 1)
        sb_printf(sb, "&amp;page=%lld", page);
}

/* A column header that sorts by sort: a second click reverses it. */
static void sort_header(struct strbuf *sb, const struct customer_query *q, enum customer_sort sort,
                        const char *label)
{
    int current = q->sort == sort;
    int next_desc = current ? !q->descending : sort == CUSTOMER_SORT_DATE;

    sb_puts(sb, "<th><a class=\"sort\" href=\"");
    list_href(sb, q, sort, next_desc, 1);
    sb_printf(sb, "\">%s%s</a></th>", label,
              current ? (q->descending ? " \xe2\x96\xbc" : " \xe2\x96\xb2") : "");
}

void page_customers(struct fs_request *req, const struct caller *who)
{
    sqlite3 *db = fs_request_db(req);
    struct strbuf sb = STRBUF_INIT;
    struct customer_query q;
    struct list_page lp = {&sb, 0};
    char why[160];
    long long total, page, pages;

    if (customer_query_read(req, 0, &q, why, sizeof why) != 0) {
        page_error(req, 400, why, "/customers");
        sb_release(&sb);
        return;
    }
    total = customer_count(db, &q);
    page = q.offset / CUSTOMER_PAGE_SIZE + 1;
    pages = total > 0 ? (total + CUSTOMER_PAGE_SIZE - 1) / CUSTOMER_PAGE_SIZE : 1;
    sb_puts(&sb, "<h1>Customers</h1>\n");
    nav(&sb, who, NULL);
    page_flash(&sb, req, who, "");
    sb_puts(&sb, "<details class=\"register\" open><summary>Register a customer</summary>\n");
    form_open(&sb, who, "register", "/customers");
    sb_puts(&sb,
            "<label>Name <input type=\"text\" name=\"name\" required maxlength=\"200\"></label>"
            "<label>Plan <select name=\"plan\"><option value=\"payg\">payg: no monthly fee, "
            "1 cent a unit, credit limit $10.00</option><option value=\"team\">team: $29.00 a "
            "month, 1 cent a unit, credit limit $100.00</option></select></label>"
            "<label>Credit limit in " SUB_CURRENCY " (empty: the plan's) <input type=\"text\" "
            "name=\"credit_limit\" inputmode=\"decimal\" placeholder=\"250.00\" "
            "pattern=\"\\$?[0-9][0-9,]*([.][0-9]{1,2})?\"></label>"
            "<button type=\"submit\">Register</button></form>\n</details>\n");
    sb_puts(&sb, "<form class=\"search\" method=\"get\" action=\"/customers\" role=\"search\">"
                 "<label>Search by name or email <input type=\"search\" name=\"q\" value=\"");
    sb_html(&sb, q.q);
    sb_printf(&sb,
              "\"></label><input type=\"hidden\" name=\"sort\" value=\"%s\">"
              "<input type=\"hidden\" name=\"order\" value=\"%s\">"
              "<button type=\"submit\" class=\"secondary\">Search</button>",
              q.sort == CUSTOMER_SORT_NAME ? "name" : "date", q.descending ? "desc" : "asc");
    if (*q.q)
        sb_puts(&sb, " <a href=\"/customers\">Show all</a>");
    sb_puts(&sb, "</form>\n<table id=\"customers\"><tr>");
    sort_header(&sb, &q, CUSTOMER_SORT_NAME, "Name");
    sb_puts(&sb, "<th>Id</th><th>Plan</th>");
    sort_header(&sb, &q, CUSTOMER_SORT_DATE, "Registered");
    sb_puts(&sb, "<th class=\"num\">Balance (" SUB_CURRENCY ")</th><th>Status</th></tr>\n");
    if (customer_list(db, &q, customer_row_html, &lp) != 0)
        sb_puts(&sb, "<tr><td colspan=\"6\" class=\"error\">The list cannot be read now: try "
                     "again.</td></tr>\n");
    else if (!lp.rows && *q.q)
        sb_puts(&sb, "<tr><td colspan=\"6\">No customer matches this search.</td></tr>\n");
    else if (!lp.rows && total > 0)
        sb_puts(&sb, "<tr><td colspan=\"6\">No customers on this page.</td></tr>\n");
    else if (!lp.rows)
        sb_puts(&sb, "<tr><td colspan=\"6\">No customers yet: register one above.</td></tr>\n");
    sb_puts(&sb, "</table>\n<p class=\"pager\" id=\"customers-pager\">");
    if (lp.rows)
        sb_printf(&sb, "<span>%lld\xe2\x80\x93%lld of %lld</span>", q.offset + 1,
                  q.offset + lp.rows, total);
    if (page > 1) {
        sb_puts(&sb, "<a rel=\"prev\" href=\"");
        list_href(&sb, &q, q.sort, q.descending, page - 1);
        sb_puts(&sb, "\">\xe2\x86\x90 Previous</a>");
    }
    if (page < pages) {
        sb_puts(&sb, "<a rel=\"next\" href=\"");
        list_href(&sb, &q, q.sort, q.descending, page + 1);
        sb_puts(&sb, "\">Next \xe2\x86\x92</a>");
    }
    sb_printf(&sb, "<span class=\"muted\">page %lld of %lld</span></p>\n", page, pages);
    page_reply(req, 200, "Customers", &sb);
}

static void users_section(struct strbuf *sb, sqlite3 *db, const char *id, const struct caller *who)
{
    int manage =
        who->kind == CALLER_OPERATOR || (who->kind == CALLER_USER && who->session.is_admin);
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
                button_link(sb, who, path, "Revoke key\xe2\x80\xa6", "danger");
        } else {
            sb_puts(sb, "no valid key");
        }
        sb_puts(sb, "</td><td>");
        if (manage) {
            snprintf(path, sizeof path, "/customers/%s/users/%s/keys", id, uid);
            button_form(sb, who, path, "Issue a key", "secondary");
            snprintf(path, sizeof path, "/customers/%s/users/%s/remove", id, uid);
            button_link(sb, who, path, "Remove user\xe2\x80\xa6", "danger");
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
                "<th class=\"num\">Units</th><th>Month</th><th class=\"num\">Amount (" SUB_CURRENCY
                ")</th></tr>\n");
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
            money_show(sb, sqlite3_column_int64(st, 4));
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

/* The operator's forms on the page of customer id: record a payment,
 * change the plan from next month, and lock or unlock (whichever applies
 * to st). Each posts to its own path under /customers/ID as who. */
static void operator_forms(struct strbuf *sb, const char *id, const struct caller *who,
                           const struct customer_state *st)
{
    char path[160];

    snprintf(path, sizeof path, "/customers/%s/payments", id);
    sb_puts(sb, "<h2>Payment</h2>");
    form_open(sb, who, NULL, path);
    sb_puts(sb, "<label>Amount in " SUB_CURRENCY " (dollars and cents, such as 25.00) <input "
                "type=\"text\" name=\"amount\" inputmode=\"decimal\" placeholder=\"25.00\" "
                "required pattern=\"\\$?[0-9][0-9,]*([.][0-9]{1,2})?\"></label>"
                "<button type=\"submit\">Record payment</button></form>\n");

    snprintf(path, sizeof path, "/customers/%s/plan", id);
    sb_puts(sb, "<h2>Plan</h2>");
    form_open(sb, who, NULL, path);
    sb_puts(sb, "<label>Plan from next month <select name=\"plan\">"
                "<option value=\"payg\">payg</option><option value=\"team\">team</option>"
                "</select></label><button type=\"submit\">Change plan</button></form>\n");

    sb_puts(sb, "<h2>Lock</h2><div id=\"lock-actions\">");
    if (st->lock_reason[0]) {
        snprintf(path, sizeof path, "/customers/%s/unlock", id);
        button_form(sb, who, path, "Unlock", "secondary");
    } else {
        snprintf(path, sizeof path, "/customers/%s/lock", id);
        button_link(sb, who, path, "Lock\xe2\x80\xa6", "danger");
    }
    sb_puts(sb, "</div>\n");
}

/* The invoices of customer id, newest first, as a table (at most limit;
 * -1 for all). */
static void invoices_table(struct strbuf *sb, sqlite3 *db, const char *id, int limit)
{
    sqlite3_stmt *st = NULL;
    int rows = 0;

    sb_puts(sb, "<table id=\"invoices\"><tr><th>Month</th><th>Plan</th><th class=\"num\">Fee</th>"
                "<th class=\"num\">Units</th><th class=\"num\">Usage</th>"
                "<th class=\"num\">Total (" SUB_CURRENCY ")</th><th>Issued</th></tr>\n");
    if (sqlite3_prepare_v2(db,
                           "SELECT month, plan, fee_cents, units, usage_cents, total_cents,"
                           " issued_at FROM invoices WHERE customer_id = ?1 ORDER BY month DESC"
                           " LIMIT ?2",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, limit);
        while (sqlite3_step(st) == SQLITE_ROW) {
            rows++;
            sb_puts(sb, "<tr><td>");
            sb_html(sb, col(st, 0));
            sb_puts(sb, "</td><td>");
            sb_html(sb, col(st, 1));
            sb_puts(sb, "</td><td class=\"num\">");
            money_show(sb, sqlite3_column_int64(st, 2));
            sb_printf(sb, "</td><td class=\"num\">%lld</td><td class=\"num\">",
                      (long long)sqlite3_column_int64(st, 3));
            money_show(sb, sqlite3_column_int64(st, 4));
            sb_puts(sb, "</td><td class=\"num\">");
            money_show(sb, sqlite3_column_int64(st, 5));
            sb_puts(sb, "</td><td>");
            sb_html(sb, col(st, 6));
            sb_puts(sb, "</td></tr>\n");
        }
    }
    sqlite3_finalize(st);
    if (!rows)
        sb_puts(sb, "<tr><td colspan=\"7\">No invoices yet: one is issued when a month "
                    "ends.</td></tr>\n");
    sb_puts(sb, "</table>\n");
}

/* This month's consumption as a chart: the units of each day of month,
 * by the start of the usage windows charged. */
static void usage_chart(struct strbuf *sb, sqlite3 *db, const char *id, const char *month)
{
    long long units[CHART_MAX_DAYS] = {0};
    int days = chart_days_in_month(month);
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(
            db,
            "SELECT CAST(substr(coalesce(json_extract(detail, '$.window_start'), at),"
            " 9, 2) AS INTEGER) AS day, sum(units) FROM ledger"
            " WHERE customer_id = ?1 AND kind = 'usage' AND month = ?2"
            " AND substr(coalesce(json_extract(detail, '$.window_start'), at), 1, 7)"
            " = ?2 GROUP BY day",
            -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, month, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            int day = sqlite3_column_int(st, 0);
            if (day >= 1 && day <= days)
                units[day - 1] += sqlite3_column_int64(st, 1);
        }
    }
    sqlite3_finalize(st);
    chart_daily_units(sb, month, units, days);
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
    units =
        db_int(db, NULL, 0, "SELECT units FROM monthly_usage WHERE customer_id = ?1 AND month = ?2",
               "tt", id, month);
    charges = db_int(db, NULL, 0,
                     "SELECT charges_cents FROM monthly_usage WHERE customer_id = ?1"
                     " AND month = ?2",
                     "tt", id, month);

    sb_puts(&sb, "<h1>");
    sb_html(&sb, name ? name : id);
    sb_printf(&sb, " <span class=\"badge %s\">%s</span></h1>\n",
              s.lock_reason[0] ? "locked" : "active", s.lock_reason[0] ? "locked" : "active");
    nav(&sb, who, id);
    page_flash(&sb, req, who, id);
    if (s.lock_reason[0])
        sb_printf(&sb,
                  "<p class=\"banner bad\">Locked (%s): the Cloud API and Product 1 refuse "
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
    money_show(&sb, s.balance_cents);
    sb_puts(&sb, "</dd><dt>Credit limit</dt><dd>");
    money_show(&sb, s.credit_limit_cents);
    sb_printf(&sb, "</dd><dt>Usage in %s</dt><dd>%lld units, ", month, units);
    money_show(&sb, charges);
    sb_puts(&sb, "</dd></dl>\n<div class=\"charts\"><section><h2>Balance and credit "
                 "limit</h2>\n");
    chart_balance(&sb, s.balance_cents, s.credit_limit_cents);
    sb_puts(&sb, "</section><section><h2>Consumption this month</h2>\n");
    usage_chart(&sb, db, id, month);
    sb_puts(&sb, "</section></div>\n");

    users_section(&sb, db, id, who);
    sb_printf(&sb, "<h2>Invoices</h2>\n");
    invoices_table(&sb, db, id, 12);
    charges_section(&sb, db, id);
    if (who->kind == CALLER_OPERATOR) {
        operator_forms(&sb, id, who, &s);
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
    char why[256];

    if (customer_load(db, id, &s, why, sizeof why) != SUB_OK) {
        page_error(req, 404, why, who->kind == CALLER_USER ? "/portal" : "/customers");
        return;
    }
    sb_puts(&sb, "<h1>Invoices</h1>\n");
    nav(&sb, who, id);
    invoices_table(&sb, db, id, -1);
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

void page_confirm(struct fs_request *req, const struct caller *who, const char *customer_id,
                  const char *title, const char *question, const char *consequence,
                  const char *action_path, const char *button)
{
    struct strbuf sb = STRBUF_INIT;

    sb_puts(&sb, "<h1>");
    sb_html(&sb, title);
    sb_puts(&sb, "</h1>\n");
    nav(&sb, who, customer_id);
    sb_puts(&sb, "<div class=\"confirm\" id=\"confirm\"><p><strong>");
    sb_html(&sb, question);
    sb_puts(&sb, "</strong></p>\n<p>");
    sb_html(&sb, consequence);
    sb_puts(&sb, "</p>\n");
    form_open(&sb, who, "inline", action_path);
    sb_puts(&sb, "<button type=\"submit\" class=\"danger\" id=\"confirm-yes\">");
    sb_html(&sb, button);
    sb_printf(&sb,
              "</button></form> <a class=\"button secondary\" id=\"confirm-cancel\" "
              "href=\"%s/customers/",
              caller_base(who));
    sb_html(&sb, customer_id);
    sb_puts(&sb, "\">Cancel</a></div>\n");
    page_reply(req, 200, title, &sb);
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
