#include "program.h"

#include "log.h"
#include "web.h"

#include <errno.h>
#include <feedreader.h>
#include <feedserver.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static sigset_t stop_signals;
/* The program's name, from program_init(). */
static const char *program_name = "program";

/* What the token hint of the feed browser adds (fs_server_config): where an
 * operator finds the feed token of this system. */
static const char token_hint_html[] =
    "<p>Operators find it where the program was started: it is the value of its "
    "<code>--feed-token</code>. Under <code>make run</code> it is in the file "
    "<code>var/feed-token</code>:</p>\n<pre>curl -H \"Authorization: Bearer $(cat "
    "var/feed-token)\" ...</pre>\n";

/* The libraries' lines go to the program's logger (log.h), under their
 * name. Their levels are those of log.h, in the same order. */
_Static_assert((int)FS_LOG_ERROR == (int)LOG_ERROR && (int)FR_LOG_FATAL == (int)LOG_FATAL,
               "the libraries' log levels are log.h's");

static void log_feed_server(enum fs_log_level level, const char *msg, const char *const *keys,
                            const char *const *values, size_t n, void *userdata)
{
    (void)userdata;
    log_library((enum log_level)level, "feed-server", msg, keys, values, n);
}

static void log_feed_reader(enum fr_log_level level, const char *msg, const char *const *keys,
                            const char *const *values, size_t n, void *userdata)
{
    (void)userdata;
    log_library((enum log_level)level, "feed-reader", msg, keys, values, n);
}

/* Raises the soft limit on open files to the hard one: each connection is a
 * descriptor, and the server sizes its connection limit from this, so that
 * a crowd of slow clients does not exhaust it at the default 1024. */
static void raise_file_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_warn("cannot raise the open-file limit", "error=\"%s\"", strerror(errno));
}

void program_init(const char *prog)
{
    log_init(prog);
    program_name = prog;
    raise_file_limit();
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void print_usage(FILE *out, const char *prog, const struct program_command *commands,
                        size_t n)
{
    fprintf(out, "usage: bin/%s COMMAND [OPTIONS]\n\ncommands:\n", prog);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`bin/%s COMMAND --help` shows a command's options.\n", prog);
}

int program_main(const char *prog, int argc, char **argv, const struct program_command *commands,
                 size_t n)
{
    program_init(prog);
    if (argc < 2) {
        print_usage(stderr, prog, commands, n);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_usage(stdout, prog, commands, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "bin/%s: unknown command '%s' (see bin/%s --help)\n", prog, argv[1], prog);
    return 2;
}

int program_wait_signal(void)
{
    int sig = 0;

    while (sigwait(&stop_signals, &sig) != 0)
        ;
    return sig;
}

/* Creates the folder that will hold path (one level, such as var/), so that
 * the defaults work from a fresh checkout. */
static void make_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    char *slash;

    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return;
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        log_warn("cannot create folder", "dir=%s error=\"%s\"", dir, strerror(errno));
}

sqlite3 *program_open_db(const char *path)
{
    sqlite3 *db = NULL;
    enum fs_error err;

    make_parent_dir(path);
    err = fs_db_open(path, &db);
    if (err != FS_OK) {
        log_error("cannot open database", "db=%s error=\"%s\"", path, fs_strerror(err));
        return NULL;
    }
    return db;
}

struct fs_server *program_open_server(const struct serve_options *o, unsigned threads)
{
    struct fs_server_config cfg = {0};
    struct fs_server *server = NULL;
    enum fs_error err;

    web_set_root(o->web_dir);
    make_parent_dir(o->db);
    cfg.listen = o->listen;
    cfg.db_path = o->db;
    cfg.tokens = o->tokens.items;
    cfg.ntokens = o->tokens.count;
    cfg.threads = threads;
    cfg.log = log_feed_server;
    /* The feed browser in the site's layout, with the token's whereabouts. */
    cfg.html_layout = web_feed_layout(program_name);
    cfg.token_hint_html = token_hint_html;
    err = fs_server_open(&cfg, &server);
    if (err != FS_OK) {
        log_error("cannot open server", "listen=%s db=%s error=\"%s\"", o->listen, o->db,
                  fs_strerror(err));
        return NULL;
    }
    return server;
}

int program_run_server(struct fs_server *server, program_stop_fn *before_close, void *userdata)
{
    enum fs_error err = fs_server_start(server);
    int sig;

    if (err != FS_OK) {
        log_error("cannot start server", "error=\"%s\"", fs_strerror(err));
        fs_server_close(server);
        return 1;
    }
    log_info("serving", "port=%u", fs_server_port(server));
    sig = program_wait_signal();
    log_info("stopping", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    if (before_close)
        before_close(userdata);
    fs_server_close(server);
    log_info("stopped", NULL);
    return 0;
}

/* Waits for SIGINT/SIGTERM on its own thread and stops the follower, which
 * may be in the middle of a long-poll. */
static void *stop_on_signal(void *arg)
{
    int sig = program_wait_signal();

    log_info("stopping", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fr_follower_stop(arg);
    return NULL;
}

int program_follow(const char *usage, const char *default_db, int argc, char **argv,
                   follow_setup_fn *setup, void *userdata)
{
    struct fr_config cfg = {0};
    const char *db_path = default_db;
    const char *feed = NULL, *token = NULL, *ca_file = NULL;
    unsigned poll_interval = 0;
    const struct cli_option options[] = {
        {"db", CLI_STRING, &db_path, 0, 0, 0, "FILE", "SQLite database file"},
        {"feed", CLI_URL, &feed, 1, 0, 0, "URL",
         "the feed to follow, http(s)://HOST:PORT/feeds/NAME"},
        {"token", CLI_STRING, &token, 0, 0, 0, "TOKEN", "bearer token to present to the producer"},
        {"poll-interval", CLI_UINT, &poll_interval, 0, 1, 3600, "SECONDS",
         "poll with a plain conditional GET every SECONDS instead of long-polling"},
        {"ca-file", CLI_STRING, &ca_file, 0, 0, 0, "FILE",
         "PEM file of the CA to trust for an https feed (default: the system's CAs)"},
    };
    sqlite3 *db = NULL;
    struct fr_follower *f = NULL;
    pthread_t stopper;
    int started = 0, status = 1;
    enum fr_error err;

    cli_parse(usage, argc, argv, options, sizeof options / sizeof options[0]);
    if (strncmp(feed, "http://", 7) != 0 && strncmp(feed, "https://", 8) != 0) {
        fprintf(stderr, "bad value for --feed: expected an http:// or https:// URL\n");
        return 2;
    }
    db = program_open_db(db_path);
    if (!db)
        goto out;
    cfg.feed_url = feed;
    cfg.token = token;
    cfg.ca_file = ca_file;
    cfg.db = db;
    cfg.poll_interval = poll_interval;
    /* The contexts' deadlines are a second or two (R1, R2), also right after
     * a producer's redeploy, so a follower whose producer was down retries at
     * least every 2 s, not the library's 30 s: a request every 2 s costs a
     * producer nothing. */
    cfg.max_backoff_ms = 2000;
    cfg.log = log_feed_reader;
    err = fr_follower_open(&cfg, &f);
    if (err != FR_OK) {
        log_error("cannot start follower", "feed=%s error=\"%s\"", feed, fr_strerror(err));
        goto out;
    }
    if (setup(f, db, userdata) != 0)
        goto out;
    if (pthread_create(&stopper, NULL, stop_on_signal, f) != 0)
        goto out;
    started = 1;
    log_info("following", "feed=%s db=%s position=%lld mode=%s", feed, db_path,
             (long long)fr_follower_position(f), poll_interval ? "poll" : "long-poll");
    err = fr_follower_run(f);
    if (err == FR_ERR_STOPPED) {
        status = 0;
        log_info("stopped", "position=%lld", (long long)fr_follower_position(f));
    } else {
        log_error("follower stopped on a fatal error", "feed=%s error=\"%s\" detail=\"%s\"", feed,
                  fr_strerror(err), fr_follower_last_error(f));
    }
out:
    if (started) {
        pthread_cancel(stopper);
        pthread_join(stopper, NULL);
    }
    fr_follower_close(f);
    /* Statements a handler kept prepared between entries (credentials.c
     * does) belong to the connection: finalized here, so that it closes. */
    for (sqlite3_stmt *st = db ? sqlite3_next_stmt(db, NULL) : NULL; st;
         st = sqlite3_next_stmt(db, NULL))
        sqlite3_finalize(st);
    sqlite3_close(db);
    return status;
}
