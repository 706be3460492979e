#include "pages.h"

#include "feedserver.h"
#include "http_routes.h"
#include "strbuf.h"
#include "web.h"

#include <string.h>

/* The Host header when it is a plain host[:port] (so it can be shown in an
 * example), else the default address. */
static const char *example_host(struct fs_request *req)
{
    const char *h = fs_request_header(req, "Host");
    size_t n = h ? strlen(h) : 0;

    if (n == 0 || n > 100 ||
        strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789.-:[]") != n)
        return "127.0.0.1:8082";
    return h;
}

/* The explanation, shared by both representations. */
static const char about[] =
    "The Cloud API analyzes texts for the customers of Subscriptions. Each call is "
    "authorized with a login key issued by Subscriptions and metered: it costs "
    "1 + bytes/1000 units (integer division), charged to the customer's balance.";

static const char rules[] =
    "characters: Unicode code points (an invalid UTF-8 byte counts as one); "
    "words: runs of non-whitespace; lines: newlines, plus one for an unterminated "
    "last line; the body is at most 1 MiB.";

static void home(struct fs_request *req, void *userdata)
{
    struct strbuf sb = STRBUF_INIT;
    const char *host = example_host(req);
    char *body;
    size_t len;

    (void)userdata;
    if (fs_request_wants_html(req)) {
        sb_puts(&sb, "<h1>Cloud API</h1>\n<p>");
        sb_html(&sb, about);
        sb_puts(&sb, "</p>\n<h2>Analyze a text</h2>\n<pre>curl -H 'Authorization: Bearer "
                     "YOUR_LOGIN_KEY' \\\n     --data-binary @letter.txt http://");
        sb_html(&sb, host);
        sb_puts(&sb, "/api/v1/analyze</pre>\n<p>Answer: <code>{\"characters\": 120, "
                     "\"words\": 21, \"lines\": 3, \"units\": 1}</code>. ");
        sb_html(&sb, rules);
        sb_puts(&sb, "</p>\n<ul>\n<li><code>401</code>: missing, unknown, revoked or removed "
                     "key</li>\n<li><code>403</code>: the customer is locked "
                     "(<code>reason</code> says why)</li>\n<li><code>413</code>: body over 1 "
                     "MiB</li>\n</ul>\n<p>Operators: <a href=\"/status\">status</a>, "
                     "<a href=\"/metrics\">metrics</a>, usage feed <a "
                     "href=\"/feeds/usage\">/feeds/usage</a>.</p>\n");
        web_reply_page(req, 200, "cloud-api", "Cloud API", sb_str(&sb));
        sb_release(&sb);
        return;
    }
    sb_puts(&sb, "Cloud API\n\n");
    sb_puts(&sb, about);
    sb_puts(&sb, "\n\n  curl -H 'Authorization: Bearer YOUR_LOGIN_KEY' --data-binary @letter.txt "
                 "http://");
    sb_puts(&sb, host);
    sb_puts(&sb, "/api/v1/analyze\n  -> {\"characters\":120,\"words\":21,\"lines\":3,"
                 "\"units\":1}\n\n");
    sb_puts(&sb, rules);
    sb_puts(&sb, "\n401: missing, unknown, revoked or removed key; 403: customer locked; "
                 "413: body over 1 MiB.\nOperators: /status, /metrics, /feeds/usage\n");
    body = sb_detach(&sb, &len);
    fs_reply_take(req, 200, "text/plain; charset=utf-8", body, len);
}

void pages_mount(struct fs_server *server, struct cloud_api *api)
{
    fs_server_route(server, "GET", "/", 0, home, api);
}
