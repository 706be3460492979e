#include "pages.h"

#include "analyses.h"
#include "feedserver.h"
#include "strbuf.h"
#include "web.h"

#include <stdlib.h>
#include <string.h>

/* Analyses shown on the user's page (the JSON list has them all). */
#define PAGE_ANALYSES 100

const char *page_sign_out_words(enum session_end_reason why, const char *lock_reason)
{
    switch (why) {
    case SESSION_END_EXPIRED:
        return "You were signed out because your session expired. Sign in again.";
    case SESSION_END_KEY_REVOKED:
        return "You were signed out because your login key was revoked. Ask an administrator of "
               "your customer for a new key.";
    case SESSION_END_USER_REMOVED:
        return "You were signed out because your user was removed from your customer.";
    case SESSION_END_LOCKED:
        if (lock_reason && strcmp(lock_reason, "overdraft") == 0)
            return "You were signed out because your customer is locked: its balance went past "
                   "its credit limit. A payment unlocks it.";
        return "You were signed out because your customer is locked. An operator unlocks it.";
    case SESSION_END_RESTARTED:
        return "You were signed out because Product 1 restarted (it keeps login keys in memory "
               "only). Sign in again.";
    case SESSION_END_UNKNOWN:
    default:
        return NULL;
    }
}

void page_sign_in(struct fs_request *req, unsigned status, const char *error, const char *email)
{
    page_sign_in_with(req, status, error, email, NULL);
}

void page_sign_in_with(struct fs_request *req, unsigned status, const char *error,
                       const char *email, const char *notice)
{
    struct strbuf sb = STRBUF_INIT;

    sb_puts(&sb, "<h1>Sign in to Product 1</h1>\n");
    if (notice) {
        sb_puts(&sb, "<div class=\"banner warn\" id=\"sign-in-notice\" role=\"status\">");
        sb_html(&sb, notice);
        sb_puts(&sb, "</div>\n");
    }
    if (error) {
        sb_puts(&sb, "<div class=\"banner bad\" role=\"alert\">");
        sb_html(&sb, error);
        sb_puts(&sb, "</div>\n");
    }
    sb_puts(&sb, "<form method=\"post\" action=\"/login\">\n"
                 "<label>Email <input type=\"email\" name=\"email\" required "
                 "autocomplete=\"username\" value=\"");
    sb_html(&sb, email ? email : "");
    sb_puts(&sb, "\"></label>\n"
                 "<label>Login key <input type=\"password\" name=\"login_key\" required "
                 "autocomplete=\"current-password\"></label>\n"
                 "<button type=\"submit\">Sign in</button>\n"
                 "</form>\n"
                 "<p>Your login key was given to you when your administrator added you in "
                 "Subscriptions.</p>\n");
    web_reply_page(req, status, PRODUCT1_PROG, "Sign in", sb_str(&sb));
    sb_release(&sb);
}

static void badge(struct strbuf *sb, const char *status)
{
    sb_puts(sb, "<span class=\"badge ");
    sb_html(sb, status);
    sb_puts(sb, "\">");
    sb_html(sb, status);
    sb_puts(sb, "</span>");
}

/* The rows of the analyses table being built. */
struct rows {
    struct strbuf *sb;
    int count;
};

static void row_html(const struct analysis_row *row, void *userdata)
{
    struct rows *rows = userdata;
    struct strbuf *sb = rows->sb;
    int done = row->status && row->status[0] == 'd';

    rows->count++;

    sb_puts(sb, "<tr><td><code>");
    sb_html(sb, row->id ? row->id : "");
    sb_puts(sb, "</code></td><td class=\"preview\" title=\"");
    sb_html(sb, row->preview ? row->preview : "");
    sb_puts(sb, "\">");
    sb_html(sb, row->preview ? row->preview : "");
    if (row->cut)
        sb_puts(sb, "\xe2\x80\xa6");
    sb_puts(sb, "</td><td>");
    sb_html(sb, row->created_at ? row->created_at : "");
    sb_puts(sb, "</td><td>");
    badge(sb, row->status ? row->status : "");
    sb_puts(sb, "</td>");
    if (done) {
        sb_printf(sb,
                  "<td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
                  "<td class=\"num\">%lld</td><td class=\"num\">%lld</td><td></td></tr>\n",
                  row->characters, row->words, row->lines, row->units);
    } else {
        sb_puts(sb, "<td></td><td></td><td></td><td></td><td>");
        if (row->reason)
            sb_html(sb, row->reason);
        else
            sb_puts(sb, "waiting for the Cloud API");
        sb_puts(sb, "</td></tr>\n");
    }
}

/* The banner about the Cloud API: shown only while the last call did not
 * reach it. */
static void cloud_banner(struct strbuf *sb, const struct cloud_state *cloud, long long queued)
{
    if (cloud->reachable != 0)
        return;
    sb_puts(sb, "<div class=\"banner warn\" id=\"cloud-down\" role=\"status\"><strong>The Cloud "
                "API cannot be reached right now.</strong> ");
    if (queued > 0)
        sb_printf(sb,
                  "%lld of your analyses %s queued and will run by %s as soon as it is back; "
                  "you may leave this page.",
                  queued, queued == 1 ? "is" : "are", queued == 1 ? "itself" : "themselves");
    else
        sb_puts(sb, "New analyses are kept and will run by themselves as soon as it is back.");
    sb_puts(sb, "</div>\n");
}

void page_user(struct fs_request *req, unsigned status, sqlite3 *db, const struct user_ref *u,
               const struct cloud_state *cloud, const char *notice, const struct flash *flash)
{
    struct strbuf sb = STRBUF_INIT;
    struct rows rows = {&sb, 0};
    long long queued = analyses_count(db, "queued", u->customer_id, u->user_id);

    sb_puts(&sb, "<h1>Analyses</h1>\n<p>Signed in as <strong>");
    sb_html(&sb, u->email);
    sb_puts(&sb, "</strong> (customer <code>");
    sb_html(&sb, u->customer_id);
    sb_puts(&sb, "</code>) "
                 "<form class=\"inline\" method=\"post\" action=\"/logout\">"
                 "<button type=\"submit\" class=\"secondary\">Sign out</button></form></p>\n");
    if (notice) {
        sb_puts(&sb, "<div class=\"banner bad\" role=\"alert\">");
        sb_html(&sb, notice);
        sb_puts(&sb, "</div>\n");
    }
    if (flash && flash->text[0]) {
        sb_printf(&sb, "<div class=\"banner %s\" id=\"flash\" role=\"%s\">",
                  flash->bad ? "bad" : "good", flash->bad ? "alert" : "status");
        sb_html(&sb, flash->text);
        sb_puts(&sb, "</div>\n");
    }
    sb_puts(&sb, "<form method=\"post\" action=\"/analyses\">\n"
                 "<label>Text to analyse<textarea name=\"text\" required></textarea></label>\n"
                 "<button type=\"submit\">Analyse</button>\n"
                 "</form>\n"
                 "<section id=\"p1-live\">\n");
    cloud_banner(&sb, cloud, queued);
    sb_puts(&sb, "<h2>Your analyses</h2>\n"
                 "<table id=\"analyses\"><thead><tr><th>Id</th><th>Text</th><th>Submitted</th>"
                 "<th>Status</th>"
                 "<th class=\"num\">Characters</th><th class=\"num\">Words</th>"
                 "<th class=\"num\">Lines</th><th class=\"num\">Units</th><th>Note</th></tr>"
                 "</thead>\n<tbody>\n");
    if (analyses_each(db, u, PAGE_ANALYSES, row_html, &rows) != 0)
        sb_puts(&sb, "<tr><td colspan=\"9\" class=\"error\">The list cannot be read right now."
                     "</td></tr>\n");
    else if (rows.count == 0)
        sb_puts(&sb, "<tr><td colspan=\"9\">No analyses yet: submit a text above.</td></tr>\n");
    sb_puts(&sb, "</tbody></table>\n</section>\n"
                 "<script src=\"/static/product1.js\" defer></script>\n");
    web_reply_page(req, status, PRODUCT1_PROG, "Analyses", sb_str(&sb));
    sb_release(&sb);
}
