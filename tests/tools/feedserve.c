/*
 * feedserve - serve feeds of a database with the feed-server library, for
 * integration tests and benchmarks.
 *
 *   feedserve --db FILE --listen ADDR:PORT --feed NAME [--feed NAME2]...
 *             [--page-size N] [--token T]... [--threads N] [--page-cache N]
 *
 * Declares each feed (page size N, default 500, or the size an existing
 * feed has when --page-size is not given) if needed and serves them
 * until SIGTERM or SIGINT. Prints nothing but the library's logs.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feedserver.h"

#define MAX_ITEMS 32

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: feedserve --db FILE --listen ADDR:PORT --feed NAME [--feed NAME]... "
                    "[--page-size N] [--token T]... [--threads N] [--page-cache N]\n");
    exit(2);
}

static long number(const char *s, long min, long max)
{
    char *end;
    long v;

    if (!s)
        usage();
    v = strtol(s, &end, 10);
    if (end == s || *end || v < min || v > max)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    const char *feeds[MAX_ITEMS], *tokens[MAX_ITEMS];
    size_t nfeeds = 0, ntokens = 0;
    struct fs_server_config cfg = {0};
    struct fs_server *server = NULL;
    struct sigaction sa;
    long page_size = 0;
    sqlite3 *db = NULL;
    enum fs_error err;
    int status = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (strcmp(a, "--db") == 0)
            cfg.db_path = v;
        else if (strcmp(a, "--listen") == 0)
            cfg.listen = v;
        else if (strcmp(a, "--feed") == 0 && nfeeds < MAX_ITEMS)
            feeds[nfeeds++] = v;
        else if (strcmp(a, "--token") == 0 && ntokens < MAX_ITEMS)
            tokens[ntokens++] = v;
        else if (strcmp(a, "--page-size") == 0)
            page_size = number(v, 1, 1000000);
        else if (strcmp(a, "--page-cache") == 0)
            cfg.page_cache = (unsigned)number(v, 1, 1000000);
        else if (strcmp(a, "--threads") == 0)
            cfg.threads = (unsigned)number(v, 1, 256);
        else
            usage();
        i++;
    }
    if (!cfg.db_path || !cfg.listen || nfeeds == 0)
        usage();
    cfg.tokens = tokens;
    cfg.ntokens = ntokens;
    if ((err = fs_db_open(cfg.db_path, &db)) != FS_OK)
        goto fail;
    for (size_t i = 0; i < nfeeds; i++) {
        err = fs_feed_declare(db, feeds[i], (unsigned)page_size);
        /* Without --page-size, an existing feed keeps the size it has. */
        if (err == FS_ERR_CONFLICT && page_size == 0)
            err = FS_OK;
        if (err != FS_OK)
            goto fail;
    }
    if ((err = fs_server_open(&cfg, &server)) != FS_OK)
        goto fail;
    for (size_t i = 0; i < nfeeds; i++) {
        if ((err = fs_server_feed(server, feeds[i])) != FS_OK)
            goto fail;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if ((err = fs_server_start(server)) != FS_OK)
        goto fail;
    while (!stop)
        pause();
    status = 0;
    goto out;
fail:
    fprintf(stderr, "feedserve: %s\n", fs_strerror(err));
out:
    fs_server_close(server);
    sqlite3_close(db);
    return status;
}
