/*
 * main.c - bin/cloud-api: the Cloud API program.
 *
 *   bin/cloud-api serve  [--listen ADDR:PORT] [--db FILE] [--feed-token TOKEN]...
 *                        [--usage-window SECONDS] [--node NAME]
 *   bin/cloud-api follow [--db FILE] --feed URL [--token TOKEN] [--poll-interval SECONDS]
 *                        [--ca-file FILE]
 *
 * `serve` answers the API from the credential replica, meters every call
 * and publishes the usage feed; `follow` keeps the replica up to date from
 * Subscriptions' feed. Both use the same database (default
 * var/cloud-api.db). CLOUD_API_METERING=off makes `serve` skip metering
 * entirely: for the benchmark's baseline only, never in production.
 */
#include "credentials.h"
#include "credentials_follow.h"
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
/* Request threads: a metered call waits for its group commit, so more
 * threads than cores keep more calls in each commit. */
#define SERVE_THREADS 64
#define NODE_MAX 64

static const char serve_usage[] =
    "bin/cloud-api serve [--listen ADDR:PORT] [--db FILE] [--feed-token TOKEN]... "
    "[--usage-window SECONDS] [--node NAME]\n\n"
    "Answers POST /api/v1/analyze from the credential replica, meters every call and\n"
    "publishes the usage per window at /feeds/usage.\n"
    "Defaults: --listen " DEFAULT_LISTEN " --db " DEFAULT_DB ".\n"
    "CLOUD_API_METERING=off in the environment turns metering off: for the benchmark's\n"
    "baseline only, never in production.";
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
    struct serve_options o = {DEFAULT_LISTEN, DEFAULT_DB, {{0}, 0}};
    unsigned window = DEFAULT_WINDOW;
    const char *node = default_node(host, sizeof host);
    const struct cli_option options[] = {
        SERVE_OPTION_ROWS(o),
        {"usage-window", CLI_UINT, &window, 0, 1, 86400, "SECONDS",
         "length of a usage window (default 10)"},
        {"node", CLI_STRING, &node, 0, 0, 0, "NAME",
         "this node's name in UsageRecorded entries (default: host name, else node-1)"},
    };
    const char *metering = getenv("CLOUD_API_METERING");
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
    if (key_lookup_open(o.db, &api.keys) != 0)
        goto out;
    if (metering && strcmp(metering, "off") == 0) {
        log_warn("metering is OFF: calls are not recorded (benchmark baseline only)", "%s",
                 "env=CLOUD_API_METERING");
    } else {
        mc.db_path = o.db;
        mc.window_seconds = window;
        mc.clock = NULL;
        if (meter_open(&mc, &api.meter) != 0)
            goto out;
    }
    pc.db_path = o.db;
    pc.node = node;
    pc.window_seconds = window;
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
    log_info("cloud-api serving", "node=%s usage_window=%u metering=%s", node, window,
             api.meter ? "on" : "off");
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
