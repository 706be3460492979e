/*
 * sign_in_pages.c - the operator's sign-in page of pages.h (an admin
 * token). Its form carries no CSRF token, as there is no session yet; the
 * server's origin rule (csrf.h) still refuses a sign-in posted by a page of
 * another site.
 */
#include "pages.h"

#include "strbuf.h"

#include <feedserver.h>

/* The banner with why, when there is one. */
static void banner(struct strbuf *sb, const char *why)
{
    if (!why)
        return;
    sb_puts(sb, "<p class=\"banner bad\" id=\"sign-in-error\">");
    sb_html(sb, why);
    sb_puts(sb, "</p>\n");
}

void page_operator_sign_in(struct fs_request *req, unsigned status, const char *why,
                           int has_tokens)
{
    struct strbuf sb = STRBUF_INIT;

    sb_puts(&sb, "<h1>Operator sign-in</h1>\n");
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
    fs_reply_header(req, "Cache-Control", "no-store");
    page_reply(req, status, "Sign in", &sb);
}
