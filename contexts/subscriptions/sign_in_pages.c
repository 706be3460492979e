/*
 * sign_in_pages.c - the two sign-in pages of pages.h: the operator's (an
 * admin token) and the customer portal's (an email and a login key).
 * Their forms carry no CSRF token, as there is no session yet; the
 * server's origin rule (csrf.h) still refuses a sign-in posted by a page
 * of another site.
 */
#include "pages.h"

#include "flash.h"
#include "strbuf.h"

#include <feedserver.h>

/* The one-time message of a sign-out (pages.h, SIGNED_OUT_SCOPE), when the
 * request carries one. */
static void signed_out_banner(struct strbuf *sb, struct fs_request *req)
{
    struct flash f;

    if (!flash_take(fs_request_query(req, "flash"), "", SIGNED_OUT_SCOPE, &f))
        return;
    sb_puts(sb, "<p class=\"banner good\" id=\"flash\" role=\"status\">");
    sb_html(sb, f.text);
    sb_puts(sb, "</p>\n");
}

/* The banner with why, when there is one. */
static void banner(struct strbuf *sb, const char *why)
{
    if (!why)
        return;
    sb_puts(sb, "<p class=\"banner bad\" id=\"sign-in-error\">");
    sb_html(sb, why);
    sb_puts(sb, "</p>\n");
}

void page_operator_sign_in(struct fs_request *req, unsigned status, const char *why, int has_tokens)
{
    struct strbuf sb = STRBUF_INIT;

    sb_puts(&sb, "<h1>Operator sign-in</h1>\n");
    signed_out_banner(&sb, req);
    banner(&sb, why);
    if (!has_tokens) {
        sb_puts(&sb, "<p class=\"banner warn\">No admin token is configured: this server answers "
                     "loopback clients only, without a sign-in. Start <code>bin/subscriptions "
                     "serve</code> with <code>--admin-token TOKEN</code> to serve others.</p>\n"
                     "<p><a href=\"/customers\">Customers</a></p>\n");
    } else {
        sb_puts(&sb, "<form method=\"post\" action=\"/login\">"
                     "<label>Admin token <input type=\"password\" name=\"token\" required "
                     "autocomplete=\"current-password\" maxlength=\"256\"></label>"
                     "<button type=\"submit\">Sign in</button></form>\n"
                     "<p class=\"muted\">The token is one of those given to <code>serve</code> "
                     "with <code>--admin-token</code> (<code>make run</code> keeps one in "
                     "<code>var/admin-token</code>). Scripts send it as <code>Authorization: "
                     "Bearer TOKEN</code> instead.</p>\n");
    }
    sb_puts(&sb, "<p class=\"muted\">A customer's user? Sign in to the <a href=\"/portal/login\">"
                 "customer portal</a>.</p>\n");
    fs_reply_header(req, "Cache-Control", "no-store");
    page_reply(req, status, "Sign in", &sb);
}

void page_portal_sign_in(struct fs_request *req, unsigned status, const char *why)
{
    struct strbuf sb = STRBUF_INIT;

    sb_puts(&sb, "<h1>Customer portal</h1>\n");
    signed_out_banner(&sb, req);
    banner(&sb, why);
    sb_puts(&sb, "<p>See your balance, this month's consumption and your invoices; an "
                 "administrator of your customer also manages its users and login keys.</p>\n"
                 "<form method=\"post\" action=\"/portal/login\">"
                 "<label>Email <input type=\"email\" name=\"email\" required "
                 "autocomplete=\"username\"></label>"
                 "<label>Login key <input type=\"password\" name=\"login_key\" required "
                 "autocomplete=\"current-password\" maxlength=\"100\"></label>"
                 "<button type=\"submit\">Sign in</button></form>\n");
    fs_reply_header(req, "Cache-Control", "no-store");
    page_reply(req, status, "Customer portal", &sb);
}
