#include "ops.h"

#include "faults.h"
#include "strbuf.h"
#include "web.h"

#include <feedreader.h>
#include <feedserver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

/* Below this many free bytes, /status calls the database's disk full:
 * SQLite can no longer count on growing its files. */
#define DISK_FULL_BYTES ((long long)1 << 20)

/* What the /status and /metrics routes need; one server per process. */
static struct {
    struct fs_server *server;
    const char *prog;
    ops_metrics_fn *extra;
    void *userdata;
} ops;

/* The rows of a /status or /metrics list, as the callbacks below write them. */
struct collect {
    /* where the rows go */
    struct strbuf *out;
    /* rows written so far (the JSON ones put a comma before all but the
     * first; the HTML ones say "none" when there were none) */
    int count;
};

static void json_feed(const char *feed, int64_t head, void *userdata)
{
    struct collect *c = userdata;

    sb_puts(c->out, c->count++ ? "," : "");
    sb_puts(c->out, "{\"name\":");
    sb_json_string(c->out, feed);
    sb_printf(c->out, ",\"head\":%lld}", (long long)head);
}

static void json_follower(const struct fr_status *s, void *userdata)
{
    struct collect *c = userdata;
    int64_t lag = s->head > s->position ? s->head - s->position : 0;

    sb_puts(c->out, c->count++ ? "," : "");
    sb_puts(c->out, "{\"feed_url\":");
    sb_json_string(c->out, s->feed_url);
    sb_puts(c->out, ",\"feed_id\":");
    sb_json_string(c->out, s->feed_id);
    sb_printf(c->out,
              ",\"position\":%lld,\"head\":%lld,\"lag\":%lld,\"skipped\":%lld,\"errors\":%lld,"
              "\"last_success\":",
              (long long)s->position, (long long)s->head, (long long)lag, (long long)s->skipped,
              (long long)s->errors);
    sb_json_string(c->out, s->last_success);
    sb_puts(c->out, ",\"last_error\":");
    sb_json_string(c->out, s->last_error);
    sb_puts(c->out, ",\"last_error_at\":");
    sb_json_string(c->out, s->last_error_at);
    sb_puts(c->out, ",\"last_poll\":");
    sb_json_string(c->out, s->last_poll);
    sb_puts(c->out, ",\"last_applied\":");
    sb_json_string(c->out, s->last_applied);
    sb_printf(c->out, ",\"error_resolved\":%s}", s->error_resolved ? "true" : "false");
}

static void html_feed(const char *feed, int64_t head, void *userdata)
{
    struct collect *c = userdata;

    c->count++;
    sb_puts(c->out, "<tr><td><a href=\"/feeds/");
    sb_html(c->out, feed);
    sb_puts(c->out, "\">");
    sb_html(c->out, feed);
    sb_printf(c->out, "</a></td><td class=\"num\">%lld</td></tr>\n", (long long)head);
}

static void html_follower(const struct fr_status *s, void *userdata)
{
    struct collect *c = userdata;
    int64_t lag = s->head > s->position ? s->head - s->position : 0;

    c->count++;
    sb_puts(c->out, "<tr><td><a href=\"");
    sb_html(c->out, s->feed_url);
    sb_puts(c->out, "\">");
    sb_html(c->out, s->feed_url);
    sb_puts(c->out, "</a>");
    if (*s->feed_id) {
        sb_puts(c->out, "<br><small>");
        sb_html(c->out, s->feed_id);
        sb_puts(c->out, "</small>");
    }
    sb_printf(c->out,
              "</td><td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
              "<td class=\"num%s\">%lld</td><td>",
              (long long)s->position, (long long)s->head, lag ? " behind" : "", (long long)lag);
    /* The last good poll says the follower is alive even when nothing
     * new came for hours; a follower of an older table has only the last
     * success. */
    sb_html(c->out, *s->last_poll ? s->last_poll : s->last_success);
    sb_puts(c->out, "</td><td>");
    sb_html(c->out, s->last_applied);
    /* An error followed by a success is history, not an alarm. */
    sb_printf(c->out, "</td><td class=\"%s\">", s->error_resolved ? "resolved" : "error");
    if (*s->last_error && s->error_resolved)
        sb_puts(c->out, "<span class=\"badge\">resolved</span> ");
    sb_html(c->out, s->last_error);
    if (*s->last_error_at) {
        sb_puts(c->out, " <small>(");
        sb_html(c->out, s->last_error_at);
        sb_puts(c->out, ")</small>");
    }
    sb_puts(c->out, "</td></tr>\n");
}

/* The file of db's main database and the bytes free on its file system
 * (-1 when unknown). */
static long long free_bytes(sqlite3 *db, const char **path)
{
    const char *file = db ? sqlite3_db_filename(db, "main") : NULL;
    struct statvfs vfs;

    *path = file ? file : "";
    if (!file || !*file || statvfs(file, &vfs) != 0)
        return -1;
    return (long long)vfs.f_bavail * (long long)vfs.f_frsize;
}

static void json_fault(const struct fault_info *f, void *userdata)
{
    struct collect *c = userdata;

    sb_puts(c->out, c->count++ ? ",{\"what\":" : "{\"what\":");
    sb_json_string(c->out, f->what);
    sb_puts(c->out, ",\"error\":");
    sb_json_string(c->out, f->error);
    sb_puts(c->out, ",\"since\":");
    sb_json_string(c->out, f->since);
    sb_printf(c->out, ",\"failures\":%lld}", f->failures);
}

static void html_fault(const struct fault_info *f, void *userdata)
{
    struct collect *c = userdata;

    c->count++;
    sb_puts(c->out, "<tr><td>");
    sb_html(c->out, f->what);
    sb_puts(c->out, "</td><td class=\"error\">");
    sb_html(c->out, f->error);
    sb_puts(c->out, "</td><td>");
    sb_html(c->out, f->since);
    sb_printf(c->out, "</td><td class=\"num\">%lld</td></tr>\n", f->failures);
}

/* The storage part of /status: the database's disk, and the storage faults
 * this process is meeting (faults.h), which it retries and logs once. A
 * follower is another process: its fault shows here as a full disk, and in
 * its row of the followers once it can write again. */
static void storage_status(struct strbuf *sb, sqlite3 *db, int html)
{
    struct collect c = {sb, 0};
    const char *path;
    long long free = free_bytes(db, &path);
    int full = free >= 0 && free < DISK_FULL_BYTES;

    if (html) {
        sb_puts(sb, "<h2>Storage</h2>\n<p>Database <code>");
        sb_html(sb, path);
        if (free >= 0)
            sb_printf(sb, "</code>: %lld bytes free%s.</p>\n", free,
                      full ? " &mdash; <strong class=\"error\">the disk is full</strong>" : "");
        else
            sb_puts(sb, "</code>.</p>\n");
        sb_puts(sb, "<table><tr><th>failing</th><th>error</th><th>since</th>"
                    "<th>failures</th></tr>\n");
        fault_each(html_fault, &c);
        if (!c.count)
            sb_puts(sb, "<tr><td colspan=\"4\">none</td></tr>\n");
        sb_puts(sb, "</table>\n");
        return;
    }
    sb_puts(sb, ",\"storage\":{\"db\":");
    sb_json_string(sb, path);
    sb_printf(sb, ",\"free_bytes\":%lld,\"disk_full\":%s,\"faults\":[", free,
              full ? "true" : "false");
    fault_each(json_fault, &c);
    sb_puts(sb, "]}");
}

/* GET /status: the feeds this program serves and the followers recorded in
 * its database. Readable from other origins, so the system page of any
 * context can show every context's state. */
static void status_route(struct fs_request *req, void *userdata)
{
    struct strbuf sb = STRBUF_INIT;
    struct collect c = {&sb, 0};
    sqlite3 *db = fs_request_db(req);
    size_t len;
    char *body;

    (void)userdata;
    fs_reply_header(req, "Access-Control-Allow-Origin", "*");
    fs_reply_header(req, "Cache-Control", "no-store");
    if (fs_request_wants_html(req)) {
        sb_puts(&sb, "<h1>Status</h1>\n<h2>Feeds served</h2>\n"
                     "<table><tr><th>feed</th><th>head position</th></tr>\n");
        fs_server_heads(ops.server, html_feed, &c);
        if (!c.count)
            sb_puts(&sb, "<tr><td colspan=\"2\">none</td></tr>\n");
        sb_puts(&sb, "</table>\n<h2>Followers</h2>\n<table><tr><th>feed</th><th>position</th>"
                     "<th>head seen</th><th>lag</th><th>last good poll</th>"
                     "<th>last entry applied</th><th>last error</th></tr>\n");
        c.count = 0;
        if (db)
            fr_status_list(db, html_follower, &c);
        if (!c.count)
            sb_puts(&sb,
                    "<tr><td colspan=\"7\">none (start one with <code>follow</code>)</td></tr>\n");
        sb_puts(&sb, "</table>\n");
        storage_status(&sb, db, 1);
        sb_puts(&sb,
                "<p><a href=\"/metrics\">metrics</a> · <a href=\"/status\" "
                "type=\"application/json\">JSON</a> (ask with Accept: application/json)</p>\n");
        web_reply_page(req, 200, ops.prog, "Status", sb_str(&sb));
        sb_release(&sb);
        return;
    }
    sb_puts(&sb, "{\"program\":");
    sb_json_string(&sb, ops.prog);
    sb_puts(&sb, ",\"feeds\":[");
    fs_server_heads(ops.server, json_feed, &c);
    sb_puts(&sb, "],\"followers\":[");
    c.count = 0;
    if (db)
        fr_status_list(db, json_follower, &c);
    sb_puts(&sb, "]");
    storage_status(&sb, db, 0);
    sb_puts(&sb, "}\n");
    body = sb_detach(&sb, &len);
    fs_reply_take(req, 200, "application/json", body, len);
}

static void metric_feed(const char *feed, int64_t head, void *userdata)
{
    struct collect *c = userdata;

    sb_printf(c->out, "feed_head_position{program=\"%s\",feed=\"%s\"} %lld\n", ops.prog, feed,
              (long long)head);
}

/* Prometheus label values escape \, " and newline. */
static void label(struct strbuf *sb, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            sb_printf(sb, "\\%c", *s);
        else if (*s == '\n')
            sb_puts(sb, "\\n");
        else
            sb_append(sb, s, 1);
    }
}

/* The follower families of /metrics, in order: one pass over the followers
 * per family, so that a family's samples stay together however many
 * followers share the database (the text format forbids interleaving). */
static const struct {
    const char *name, *type, *help;
} follower_families[] = {
    {"feed_follower_position", "gauge", "Last entry applied by each follower."},
    {"feed_follower_head", "gauge", "Head of the feed the follower last saw."},
    {"feed_follower_lag", "gauge", "Entries the follower is behind the head it last saw."},
    {"feed_follower_skipped_total", "counter",
     "Entries skipped: types the follower has no handler for."},
    {"feed_follower_errors_total", "counter", "Failed fetches or applies."},
};

struct family_pass {
    struct strbuf *out;
    size_t family;
};

static void metric_follower(const struct fr_status *s, void *userdata)
{
    struct family_pass *f = userdata;
    long long values[] = {s->position, s->head, s->head > s->position ? s->head - s->position : 0,
                          s->skipped, s->errors};

    sb_printf(f->out, "%s{program=\"%s\",feed_url=\"", follower_families[f->family].name, ops.prog);
    label(f->out, s->feed_url);
    sb_printf(f->out, "\"} %lld\n", values[f->family]);
}

/* Adds every follower family: HELP, TYPE, then one sample per follower. */
static void metric_followers(struct strbuf *out, sqlite3 *db)
{
    for (size_t i = 0; i < sizeof follower_families / sizeof follower_families[0]; i++) {
        struct family_pass f = {out, i};

        sb_printf(out, "# HELP %s %s\n# TYPE %s %s\n", follower_families[i].name,
                  follower_families[i].help, follower_families[i].name, follower_families[i].type);
        if (db)
            fr_status_list(db, metric_follower, &f);
    }
}

/* GET /metrics in the Prometheus text format. */
static void metrics_route(struct fs_request *req, void *userdata)
{
    struct strbuf sb = STRBUF_INIT;
    struct collect c = {&sb, 0};
    struct fs_server_stats st;
    sqlite3 *db = fs_request_db(req);
    size_t len;
    char *body;

    (void)userdata;
    fs_server_stats(ops.server, &st);
    sb_printf(&sb,
              "# HELP feed_http_requests_total HTTP requests answered.\n"
              "# TYPE feed_http_requests_total counter\n"
              "feed_http_requests_total{program=\"%s\"} %llu\n"
              "# HELP feed_http_responses_total HTTP responses by status class.\n"
              "# TYPE feed_http_responses_total counter\n",
              ops.prog, (unsigned long long)st.requests);
    for (int k = 2; k <= 5; k++)
        sb_printf(&sb, "feed_http_responses_total{program=\"%s\",class=\"%dxx\"} %llu\n", ops.prog,
                  k, (unsigned long long)st.responses[k]);
    sb_printf(&sb,
              "# HELP feed_http_not_modified_total Polls answered 304 Not Modified.\n"
              "# TYPE feed_http_not_modified_total counter\n"
              "feed_http_not_modified_total{program=\"%s\"} %llu\n"
              "# HELP feed_long_polls_held Long-polls held now.\n"
              "# TYPE feed_long_polls_held gauge\n"
              "feed_long_polls_held{program=\"%s\"} %llu\n"
              "# HELP feed_long_polls_woken_total Long-polls answered because an entry arrived.\n"
              "# TYPE feed_long_polls_woken_total counter\n"
              "feed_long_polls_woken_total{program=\"%s\"} %llu\n"
              "# HELP feed_head_position Entries appended to each feed served (its head).\n"
              "# TYPE feed_head_position gauge\n",
              ops.prog, (unsigned long long)st.not_modified, ops.prog,
              (unsigned long long)st.long_polls_held, ops.prog,
              (unsigned long long)st.long_polls_woken);
    fs_server_heads(ops.server, metric_feed, &c);
    metric_followers(&sb, db);
    if (ops.extra)
        ops.extra(req, &sb, ops.userdata);
    body = sb_detach(&sb, &len);
    fs_reply_take(req, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

/* GET /system: the page that draws the three contexts; web/system.html
 * holds its body and web/static/system.js draws it from each /status. */
static void system_route(struct fs_request *req, void *userdata)
{
    char *body = web_read_file("system.html", NULL);

    (void)userdata;
    if (!body) {
        fs_reply_error(req, 500, "web/system.html is missing from %s", web_root());
        return;
    }
    web_reply_page(req, 200, ops.prog, "System", body);
    free(body);
}

void ops_mount(struct fs_server *server, const char *prog, ops_metrics_fn *extra, void *userdata)
{
    ops.server = server;
    ops.prog = prog;
    ops.extra = extra;
    ops.userdata = userdata;
    fs_server_route(server, "GET", "/status", 0, status_route, NULL);
    fs_server_route(server, "GET", "/metrics", 0, metrics_route, NULL);
    fs_server_route(server, "GET", "/system", 0, system_route, NULL);
}
