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

/* One subcommand of a program: its name, a one-line summary for the
 * program's usage, and the function that runs it with the words after it. */
struct program_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/*
 * The whole main() of a program: calls program_init(prog), then runs the
 * command named by argv[1] from the table of n commands and returns its exit
 * status. With no command, or "--help", prints the usage made from the table
 * (exit 2, or 0 for --help); an unknown command exits 2 with one line.
 */
int program_main(const char *prog, int argc, char **argv, const struct program_command *commands,
                 size_t n);

/* Names the program for logs, raises the open-file limit to its hard limit,
 * and blocks SIGINT/SIGTERM in every thread, so that program_wait_signal()
 * receives them. Call first in main(). */
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
 * Opens (creating if needed) the database at path with fs_db_open(), after
 * creating the folder that holds it (one level, such as var/, so defaults
 * work from a fresh checkout). Returns NULL (logged) on failure; the caller
 * closes the connection with sqlite3_close().
 */
sqlite3 *program_open_db(const char *path);

/*
 * Opens the HTTP server for o on the database file o->db with threads
 * threads and logs where it listens. Feeds and routes are then added by the
 * caller, which starts it. Returns NULL (logged) on failure.
 */
struct fs_server *program_open_server(const struct serve_options *o, unsigned threads);

/* Called once a stop signal has arrived, before the server closes: the place
 * to cut short work that would hold up the close (calls in progress). */
typedef void program_stop_fn(void *userdata);

/*
 * Starts server, waits for SIGINT/SIGTERM, calls before_close (may be NULL),
 * closes the server, and returns the exit status: 0 after a signal, 1 if the
 * server could not start. server is freed either way.
 */
int program_run_server(struct fs_server *server, program_stop_fn *before_close, void *userdata);

/* Prepares the consumer's side of a follower: creates the context's tables
 * in db and registers its handlers on f. Returns 0, or -1 (logged). */
typedef int follow_setup_fn(struct fr_follower *f, sqlite3 *db, void *userdata);

/*
 * The whole `follow` subcommand: parses argv (--db FILE, defaulting to
 * default_db, --feed URL, --token TOKEN, --poll-interval SECONDS,
 * --ca-file FILE, --help),
 * opens the database, calls setup, and follows until SIGINT/SIGTERM.
 * Returns the exit status: 0 after a signal, 1 on a fatal follower error
 * (a feed that went backwards, a refused entry, a database failure).
 */
int program_follow(const char *usage, const char *default_db, int argc, char **argv,
                   follow_setup_fn *setup, void *userdata);

#endif
