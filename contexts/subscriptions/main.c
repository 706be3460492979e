/*
 * bin/subscriptions - customers, users, login keys, balances and invoices.
 *
 *   serve       the HTTP API and pages, and the feed `subscriptions`
 *   follow      charges the usage of one Cloud API node (its `usage` feed)
 *   rebuild     rebuilds every projection from the internal events
 *   close-month issues the invoices of a month
 *
 * DESIGN.md section 4 fixes these command lines.
 */
#include "access.h"
#include "customers.h"
#include "db.h"
#include "events.h"
#include "http_routes.h"
#include "invoices.h"
#include "log.h"
#include "month_closer.h"
#include "ops.h"
#include "backup.h"
#include "program.h"
#include "schema.h"
#include "sessions.h"
#include "sign_in.h"
#include "strbuf.h"
#include "usage_follow.h"
#include "web.h"

#include <feedserver.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_LISTEN "127.0.0.1:8081"
#define DEFAULT_DB "var/subscriptions.db"

/* Seconds between the month closer's checks. */
#define MONTH_CHECK_SECONDS 60

/* Opens db_path and creates the tables. Returns NULL (logged) on failure. */
static sqlite3 *open_db(const char *db_path)
{
    sqlite3 *db = program_open_db(db_path);

    if (!db)
        return NULL;
    if (schema_create(db) != 0) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* The context's own lines of /metrics. */
static void metrics(struct fs_request *req, struct strbuf *out, void *userdata)
{
    sqlite3 *db = fs_request_db(req);

    (void)userdata;
    sb_printf(out, "# TYPE subscriptions_customers gauge\nsubscriptions_customers %lld\n",
              db_int(db, NULL, 0, "SELECT count(*) FROM customers", ""));
    sb_printf(out,
              "# TYPE subscriptions_customers_locked gauge\nsubscriptions_customers_locked %lld\n",
              db_int(db, NULL, 0, "SELECT count(*) FROM customers WHERE lock_reason IS NOT NULL",
                     ""));
    sb_printf(out,
              "# TYPE subscriptions_usage_charged_total counter\n"
              "subscriptions_usage_charged_total %lld\n",
              db_int(db, NULL, 0, "SELECT count(*) FROM ledger WHERE kind = 'usage'", ""));
    sb_printf(out,
              "# TYPE subscriptions_usage_unbilled_total counter\n"
              "subscriptions_usage_unbilled_total %lld\n",
              db_int(db, NULL, 0, "SELECT count(*) FROM unbilled_usage", ""));
    sb_printf(out,
              "# TYPE subscriptions_internal_events_total counter\n"
              "subscriptions_internal_events_total %lld\n",
              db_int(db, NULL, 0, "SELECT count(*) FROM domain_events", ""));
}

/* Checks every --admin-token and fills cfg from them. Returns 0, or 2
 * after printing what to fix (never the token itself). */
static int admin_tokens(const struct cli_list *tokens, unsigned lifetime,
                        struct access_config *cfg)
{
    char why[160];

    for (size_t i = 0; i < tokens->count; i++) {
        if (sign_in_token_fit(tokens->items[i], why, sizeof why) != 0) {
            fprintf(stderr, "bad value for --admin-token (number %zu): %s\n", i + 1, why);
            return 2;
        }
    }
    cfg->admin_tokens = tokens->items;
    cfg->nadmin_tokens = tokens->count;
    cfg->session_lifetime = lifetime;
    return 0;
}

static int cmd_serve(int argc, char **argv)
{
    struct serve_options o = {DEFAULT_LISTEN, DEFAULT_DB, {{0}, 0}};
    struct cli_list tokens = {{0}, 0};
    unsigned lifetime = SESSION_DEFAULT_LIFETIME;
    const struct cli_option options[] = {
        SERVE_OPTION_ROWS(o),
        {"admin-token", CLI_LIST, &tokens, 0, 0, 0, "TOKEN",
         "an operator's bearer token, also for the sign-in page (repeatable; none: loopback "
         "only)"},
        {"session-lifetime", CLI_UINT, &lifetime, 0, 1, 30u * 24 * 3600, "SECONDS",
         "how long a sign-in (operator or portal) lasts (default 28800)"},
    };
    struct access_config access = {0};
    struct http_routes *routes = NULL;
    struct fs_server *server = NULL;
    struct month_closer *closer = NULL;
    sqlite3 *db;
    int status = 1;

    cli_parse("bin/subscriptions serve --listen ADDR:PORT --db FILE [--feed-token TOKEN]... "
              "[--admin-token TOKEN]... [--session-lifetime SECONDS]",
              argc, argv, options, sizeof options / sizeof options[0]);
    if (admin_tokens(&tokens, lifetime, &access) != 0)
        return 2;
    server = program_open_server(&o, 4);
    if (!server)
        goto out;
    db = open_db(o.db);
    if (!db)
        goto out;
    /* The admin tokens may have changed since the last start: operators
     * sign in again. */
    if (sessions_end_operators(db) != 0) {
        sqlite3_close(db);
        goto out;
    }
    sqlite3_close(db);
    if (fs_server_feed(server, SUB_FEED) != FS_OK)
        goto out;
    routes = http_routes_mount(server, &access);
    if (!routes)
        goto out;
    ops_mount(server, "subscriptions", metrics, NULL);
    web_mount_static(server);
    if (access.nadmin_tokens == 0)
        log_info("no admin token configured: the operator's routes answer loopback clients only",
                 NULL);
    else
        log_info("the operator's routes need an admin token or a sign-in", "admin_tokens=%zu",
                 access.nadmin_tokens);
    closer = month_closer_start(o.db, MONTH_CHECK_SECONDS);
    if (!closer)
        goto out;
    status = program_run_server(server, NULL, NULL);
    server = NULL;
out:
    month_closer_stop(closer);
    fs_server_close(server);
    http_routes_free(routes);
    return status;
}

static int cmd_follow(int argc, char **argv)
{
    return program_follow("bin/subscriptions follow --db FILE --feed URL [--token TOKEN] "
                          "[--poll-interval SECONDS] [--ca-file FILE]",
                          DEFAULT_DB, argc, argv, usage_follow_setup, NULL);
}

static int cmd_rebuild(int argc, char **argv)
{
    const char *db_path = DEFAULT_DB;
    const struct cli_option options[] = {
        {"db", CLI_STRING, &db_path, 0, 0, 0, "FILE", "SQLite database file"},
    };
    sqlite3 *db;
    long long n;

    cli_parse("bin/subscriptions rebuild --db FILE", argc, argv, options,
              sizeof options / sizeof options[0]);
    db = open_db(db_path);
    if (!db)
        return 1;
    n = events_rebuild(db);
    sqlite3_close(db);
    if (n < 0)
        return 1;
    printf("rebuilt the projections from %lld internal events\n", n);
    log_info("projections rebuilt", "events=%lld", n);
    return 0;
}

static int cmd_close_month(int argc, char **argv)
{
    const char *db_path = DEFAULT_DB, *month = NULL;
    const struct cli_option options[] = {
        {"db", CLI_STRING, &db_path, 0, 0, 0, "FILE", "SQLite database file"},
        {"month", CLI_STRING, &month, 1, 0, 0, "YYYY-MM", "the month to close (UTC)"},
    };
    char why[256];
    long long issued = 0;
    enum sub_result r;
    sqlite3 *db;

    cli_parse("bin/subscriptions close-month --db FILE --month YYYY-MM", argc, argv, options,
              sizeof options / sizeof options[0]);
    if (!sub_month_valid(month)) {
        fprintf(stderr, "bad value for --month: expected YYYY-MM, such as 2026-11\n");
        return 2;
    }
    db = open_db(db_path);
    if (!db)
        return 1;
    r = invoices_close_month(db, month, &issued, why, sizeof why);
    sqlite3_close(db);
    if (r == SUB_INVALID) {
        fprintf(stderr, "bad value for --month: %s\n", why);
        return 2;
    }
    if (r != SUB_OK) {
        fprintf(stderr, "close-month: %s\n", why);
        return 1;
    }
    if (issued < 0)
        printf("%s was already closed: nothing changed\n", month);
    else
        printf("closed %s: %lld invoices issued\n", month, issued);
    return 0;
}

static int cmd_backup(int argc, char **argv)
{
    return backup_command("subscriptions", DEFAULT_DB, argc, argv);
}

int main(int argc, char **argv)
{
    static const struct program_command commands[] = {
        {"serve", "the HTTP API, pages and the feed `subscriptions` (default " DEFAULT_LISTEN ")",
         cmd_serve},
        {"follow", "charge the usage of one Cloud API node: --feed URL/feeds/usage", cmd_follow},
        {"rebuild", "rebuild every projection from the internal events", cmd_rebuild},
        {"close-month", "issue the invoices of a month: --month YYYY-MM", cmd_close_month},
        {"backup", "an online, consistent copy of the database: --to FILE", cmd_backup},
    };

    return program_main("subscriptions", argc, argv, commands,
                        sizeof commands / sizeof commands[0]);
}
