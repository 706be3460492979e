/*
 * main.c - bin/product1: the Product 1 program.
 *
 *   bin/product1 serve  [--listen ADDR:PORT] [--db FILE] [--cloud-api URL]
 *                       [--feed-token TOKEN]... [--session-lifetime SECONDS]
 *                       [--retry-max SECONDS] [--ca-file FILE]
 *   bin/product1 follow [--db FILE] --feed URL [--token TOKEN] [--poll-interval SECONDS]
 *                       [--ca-file FILE]
 *
 * `serve` signs users in from the user directory, runs their analyses
 * through the Cloud API (queuing them while it is down, with a worker thread
 * that finishes them when it is back) and publishes /feeds/product1;
 * `follow` keeps the user directory up to date from Subscriptions' feed.
 * Both use the same database (default var/product1.db).
 */
#include "cloud_client.h"
#include "directory.h"
#include "feedserver.h"
#include "http_routes.h"
#include "key_vault.h"
#include "log.h"
#include "ops.h"
#include "backup.h"
#include "program.h"
#include "retry_worker.h"
#include "schema.h"
#include "sessions.h"
#include "web.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_DB "var/product1.db"
#define DEFAULT_LISTEN "127.0.0.1:8083"
#define DEFAULT_CLOUD_API "http://127.0.0.1:8082"
/* Request threads: a submitted analysis waits for the Cloud API (up to
 * 10 s), so more threads than cores keep pages answering meanwhile. */
#define SERVE_THREADS 8

static const char serve_usage[] =
    "bin/product1 serve [--listen ADDR:PORT] [--db FILE] [--cloud-api URL] "
    "[--feed-token TOKEN]... [--session-lifetime SECONDS] [--retry-max SECONDS] [--ca-file FILE]";
static const char follow_usage[] = "bin/product1 follow [--db FILE] --feed URL [--token TOKEN] "
                                   "[--poll-interval SECONDS] [--ca-file FILE]";

/* Creates the schema and ends the sessions of a previous run, whose keys
 * were only in that process's memory. Returns 0, or -1 (logged). */
static int prepare_db(const char *path)
{
    sqlite3 *db = program_open_db(path);
    int status = -1;

    if (!db)
        goto out;
    if (schema_create(db) != 0 || sessions_clear(db) != 0)
        goto out;
    status = 0;
out:
    sqlite3_close(db);
    return status;
}

/* Cuts Cloud API calls in progress short once a stop signal arrives: a
 * request or the worker waiting on a Cloud API that does not answer would
 * otherwise hold the shutdown for up to the call's 10 s timeout. */
static void cancel_calls(void *userdata)
{
    (void)userdata;
    cloud_client_cancel_all();
}

static int valid_url(const char *url)
{
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

static int serve(int argc, char **argv)
{
    struct serve_options o = {DEFAULT_LISTEN, DEFAULT_DB, {{0}, 0}};
    const char *cloud_api = DEFAULT_CLOUD_API, *ca_file = NULL;
    unsigned lifetime = SESSION_DEFAULT_LIFETIME;
    unsigned retry_max = RETRY_DEFAULT_MAX_MS / 1000;
    const struct cli_option options[] = {
        SERVE_OPTION_ROWS(o),
        {"cloud-api", CLI_STRING, &cloud_api, 0, 0, 0, "URL",
         "base URL of the Cloud API (default " DEFAULT_CLOUD_API ")"},
        {"session-lifetime", CLI_UINT, &lifetime, 0, 1, 30 * 86400, "SECONDS",
         "how long a sign-in lasts (default 28800, 8 hours)"},
        {"retry-max", CLI_UINT, &retry_max, 0, 1, 3600, "SECONDS",
         "longest pause between retries of queued analyses while the Cloud API is down "
         "(default 5)"},
        {"ca-file", CLI_STRING, &ca_file, 0, 0, 0, "FILE",
         "PEM file of the CA to trust for an https Cloud API (default: the system's CAs)"},
    };
    struct product1_app app;
    struct fs_server *server = NULL;
    enum fs_error err;
    int status = 1;

    memset(&app, 0, sizeof app);
    cli_parse(serve_usage, argc, argv, options, sizeof options / sizeof options[0]);
    if (!valid_url(cloud_api)) {
        fprintf(stderr, "bin/product1 serve: bad value for --cloud-api: expected an http:// or "
                        "https:// URL (see --help)\n");
        return 2;
    }
    if (cloud_client_global_init(ca_file) != 0) {
        log_error("cannot initialise libcurl", NULL);
        return 1;
    }
    if (prepare_db(o.db) != 0)
        return 1;
    app.session_lifetime = lifetime;
    app.vault = vault_new();
    app.runner = runner_new(cloud_api, app.vault);
    server = program_open_server(&o, SERVE_THREADS);
    if (!server)
        goto out;
    err = fs_server_feed(server, PRODUCT1_FEED);
    if (err != FS_OK) {
        log_error("cannot serve feed", "feed=%s error=\"%s\"", PRODUCT1_FEED, fs_strerror(err));
        goto out;
    }
    ops_mount(server, "product1", http_routes_metrics, &app);
    web_mount_static(server);
    if (http_routes_mount(server, &app) != 0)
        goto out;
    app.worker = retry_worker_start(o.db, app.runner, app.vault, retry_max * 1000);
    if (!app.worker)
        goto out;
    log_info("starting", "cloud_api=%s session_lifetime=%u retry_max=%u", cloud_api, lifetime,
             retry_max);
    status = program_run_server(server, cancel_calls, NULL);
    server = NULL;
out:
    cloud_client_cancel_all();
    fs_server_close(server);
    retry_worker_stop(app.worker);
    runner_free(app.runner);
    vault_free(app.vault);
    return status;
}

static int follow_setup(struct fr_follower *f, sqlite3 *db, void *userdata)
{
    (void)userdata;
    if (schema_create(db) != 0)
        return -1;
    return directory_follow(f);
}

static int follow(int argc, char **argv)
{
    return program_follow(follow_usage, DEFAULT_DB, argc, argv, follow_setup, NULL);
}

static int cmd_backup(int argc, char **argv)
{
    return backup_command("product1", DEFAULT_DB, argc, argv);
}

int main(int argc, char **argv)
{
    static const struct program_command commands[] = {
        {"serve", "sign users in, run their analyses through the Cloud API, publish "
                  "/feeds/product1",
         serve},
        {"follow", "keep the user directory up to date from /feeds/subscriptions", follow},
        {"backup", "an online, consistent copy of the database: --to FILE", cmd_backup},
    };

    return program_main("product1", argc, argv, commands, sizeof commands / sizeof commands[0]);
}
