/*
 * program.h - what the three programs share around their main(): signals,
 * the options every `serve` takes, and the whole `follow` subcommand.
 *
 * DESIGN.md section 4: every program has `serve` and `follow`; each exits
 * cleanly on SIGINT/SIGTERM, with 2 and a one-line message on a bad
 * argument, and prints its usage on --help.
 */
#ifndef PROGRAM_H
#define PROGRAM_H

#include "cli.h"

#include <sqlite3.h>

struct fr_follower;
struct fs_server;

/* Names the program for logs and blocks SIGINT/SIGTERM in every thread, so
 * that program_wait_signal() receives them. Call first in main(). */
void program_init(const char *prog);

/* Waits until SIGINT or SIGTERM arrives and returns its number. */
int program_wait_signal(void);

/* The options every `serve` takes. */
struct serve_options {
    const char *listen;      /* --listen ADDR:PORT */
    const char *db;          /* --db FILE */
    struct cli_list tokens;  /* --feed-token TOKEN, repeatable */
};

/* The cli_option rows for struct serve_options o, to put in a table. */
#define SERVE_OPTION_ROWS(o)                                                                      \
    {"listen", CLI_STRING, &(o).listen, 0, 0, 0, "ADDR:PORT", "address to listen on"},            \
        {"db", CLI_STRING, &(o).db, 0, 0, 0, "FILE", "SQLite database file"},                     \
    {                                                                                             \
        "feed-token", CLI_LIST, &(o).tokens, 0, 0, 0, "TOKEN",                                    \
            "bearer token that may read the feeds (repeatable; none: loopback only)"              \
    }

/*
 * Opens the HTTP server for o on the database file o->db with threads
 * threads and logs where it listens. Feeds and routes are then added by the
 * caller, which starts it. Returns NULL (logged) on failure.
 */
struct fs_server *program_open_server(const struct serve_options *o, unsigned threads);

/*
 * Starts server, waits for SIGINT/SIGTERM, closes it, and returns the exit
 * status: 0 after a signal, 1 if the server could not start.
 */
int program_run_server(struct fs_server *server);

/* Prepares the consumer's side of a follower: creates the context's tables
 * in db and registers its handlers on f. Returns 0, or -1 (logged). */
typedef int follow_setup_fn(struct fr_follower *f, sqlite3 *db, void *userdata);

/*
 * The whole `follow` subcommand: parses argv (--db FILE, defaulting to
 * default_db, --feed URL, --token TOKEN, --poll-interval SECONDS, --help),
 * opens the database, calls setup, and follows until SIGINT/SIGTERM.
 * Returns the exit status: 0 after a signal, 1 on a fatal follower error
 * (a feed that went backwards, a refused entry, a database failure).
 */
int program_follow(const char *usage, const char *default_db, int argc, char **argv,
                   follow_setup_fn *setup, void *userdata);

#endif
