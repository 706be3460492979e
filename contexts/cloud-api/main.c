/*
 * main.c - bin/cloud-api: the Cloud API program.
 *
 *   bin/cloud-api serve  [--listen ADDR:PORT] [--db FILE] [--feed-token TOKEN]...
 *                        [--usage-window SECONDS] [--node NAME]
 *                        [--idempotency-retention SECONDS]
 *   bin/cloud-api follow [--db FILE] --feed URL [--token TOKEN] [--poll-interval SECONDS]
 *                        [--ca-file FILE]
 *
 * `serve` answers the API from the credential replica, meters every call
 * and publishes the usage feed; `follow` keeps the replica up to date from
 * Subscriptions' feed. Both use the same database (default
 * var/cloud-api.db).
 *
 * Metering has no switch: `serve` always meters and checks the credit
 * limit. The benchmark's baseline is another program built from this file
 * with -DCLOUD_API_UNMETERED (build/bench/cloud-api-unmetered, never
 * installed), which leaves the meter out.
 */
#include "credentials.h"
#include "credentials_follow.h"
#include "credit.h"
#include "idempotency.h"
#include "feedserver.h"
#include "http_routes.h"
#include "log.h"
#include "metering.h"
#include "backup.h"
#include "program.h"
#include "schema.h"
#include "usage_windows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DB "var/cloud-api.db"
#define DEFAULT_LISTEN "127.0.0.1:8082"
#define DEFAULT_WINDOW 10
/* Request threads: one per core. A metered call does not hold its thread
 * while its units are committed (its answer is deferred, metering.h), so
 * more threads only add context switches: 64 threads measured 0.44x the
 * unmetered rate where 2 measured 0.65x (docs/benchmarks.md). */
#define SERVE_THREADS 2
#define NODE_MAX 64
/* Longest --idempotency-retention: 30 days. */
#define RETENTION_MAX (30 * 24 * 60 * 60)

static const char serve_usage[] =
    "bin/cloud-api serve [--listen ADDR:PORT] [--db FILE] [--feed-token TOKEN]... "
    "[--usage-window SECONDS] [--node NAME] [--idempotency-retention SECONDS]\n\n"
    "Answers POST /api/v1/analyze from the credential replica, meters every call within\n"
    "its customer's credit and publishes the usage per window at /feeds/usage.\n"
    "Defaults: --listen " DEFAULT_LISTEN " --db " DEFAULT_DB ".";
static const char follow_usage[] =
    "bin/cloud-api follow [--db FILE] --feed URL [--token TOKEN] [--poll-interval SECONDS]\n"
    "                     [--ca-file FILE]\n\n"
    "Keeps the credential replica of the database up to date from Subscriptions'\n"
    "feed (http://HOST:PORT/feeds/subscriptions). Default: --db " DEFAULT_DB ".";

/* Whether name may name a node: 1..NODE_MAX of [A-Za-z0-9._-]. */
static int valid_node(const char *name)
{
    size_t n = strlen(name);

    return n > 0 && n <= NODE_MAX &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* The default node name: this machine's host name, or "node-1" when it has
 * none usable. */
static const char *default_node(char *buf, size_t size)
{
    if (gethostname(buf, size) == 0) {
        buf[size - 1] = '\0';
        if (valid_node(buf))
            return buf;
    }
    return "node-1";
}

static int serve(int argc, char **argv)
{
    char host[NODE_MAX + 2];
    struct serve_options o = {DEFAULT_LISTEN, DEFAULT_DB, {{0}, 0}, NULL};
    unsigned window = DEFAULT_WINDOW, retention = IDEMPOTENCY_RETENTION_SECONDS;
    const char *node = default_node(host, sizeof host);
    const struct cli_option options[] = {
        SERVE_OPTION_ROWS(o),
        {"usage-window", CLI_UINT, &window, 0, 1, 86400, "SECONDS",
         "length of a usage window (default 10)"},
        {"node", CLI_STRING, &node, 0, 0, 0, "NAME",
         "this node's name in UsageRecorded entries (default: host name, else node-1)"},
        {"idempotency-retention", CLI_UINT, &retention, 0, 1, RETENTION_MAX, "SECONDS",
         "how long an Idempotency-Key's answer is replayed (default 86400)"},
    };
    struct cloud_api api;
    struct fs_server *server = NULL;
    struct usage_publisher_config pc;
    struct meter_config mc;
    sqlite3 *db = NULL;
    enum fs_error err;
    int status = 1;

    memset(&api, 0, sizeof api);
    cli_parse(serve_usage, argc, argv, options, sizeof options / sizeof options[0]);
    if (!valid_node(node)) {
        fprintf(stderr,
                "bin/cloud-api serve: --node must be 1-%d characters of "
                "[A-Za-z0-9._-] (see --help)\n",
                NODE_MAX);
        return 2;
    }
    db = program_open_db(o.db);
    if (!db)
        goto out;
    if (schema_create_replica(db) != 0 || schema_create_usage(db) != 0)
        goto out;
    if (key_lookup_open(o.db, &api.keys) != 0 || credit_set_node(db, node) != 0)
        goto out;
    api.idempotency_retention = retention;
#ifdef CLOUD_API_UNMETERED
    (void)mc;
    log_warn("unmetered build: calls are neither recorded nor charged (benchmark baseline only)",
             "%s", "program=cloud-api-unmetered");
#else
    mc.db_path = o.db;
    mc.window_seconds = window;
    mc.idempotency_retention = retention;
    mc.clock = NULL;
    if (meter_open(&mc, &api.meter) != 0)
        goto out;
#endif
    pc.db_path = o.db;
    pc.node = node;
    pc.window_seconds = window;
    pc.idempotency_retention = retention;
    if (usage_publisher_open(&pc, &api.publisher) != 0)
        goto out;
    server = program_open_server(&o, SERVE_THREADS);
    if (!server)
        goto out;
    err = fs_server_feed(server, CLOUD_API_USAGE_FEED);
    if (err != FS_OK) {
        log_error("cannot serve the usage feed", "error=\"%s\"", fs_strerror(err));
        goto out;
    }
    http_routes_mount(server, &api);
    log_info("cloud-api serving", "node=%s usage_window=%u idempotency_retention=%u metering=%s",
             node, window, retention, api.meter ? "on" : "off");
    status = program_run_server(server, NULL, NULL);
    server = NULL;
out:
    fs_server_close(server);
    meter_close(api.meter);
    usage_publisher_close(api.publisher);
    key_lookup_close(api.keys);
    sqlite3_close(db);
    return status;
}

static int follow(int argc, char **argv)
{
    return program_follow(follow_usage, DEFAULT_DB, argc, argv, credentials_follow_setup, NULL);
}

static int cmd_backup(int argc, char **argv)
{
    return backup_command("cloud-api", DEFAULT_DB, argc, argv);
}

int main(int argc, char **argv)
{
    static const struct program_command commands[] = {
        {"serve", "answer POST /api/v1/analyze, meter it, publish /feeds/usage", serve},
        {"follow", "keep the credential replica up to date from /feeds/subscriptions", follow},
        {"backup", "an online, consistent copy of the database: --to FILE", cmd_backup},
    };

    return program_main("cloud-api", argc, argv, commands, sizeof commands / sizeof commands[0]);
}
