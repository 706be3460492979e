/*
 * cli.h - table-driven command-line options for the programs' subcommands.
 *
 * Every subcommand accepts "--name VALUE" (or "--name=VALUE") options from a
 * table, prints its usage on --help (exit 0) and, on a bad argument, one line
 * naming the problem and how to get help (exit 2), as DESIGN.md section 4
 * requires. Every value is checked here, before the caller opens anything
 * (a database, a port).
 *
 * Every subcommand also takes --log-level debug|info|warn|error (default
 * info), handled here: it sets log.h's level.
 *
 * To add an option: one row in the subcommand's table; a new kind of value
 * is one enum value and one case in cli.c's set_value().
 */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>

enum cli_kind {
    CLI_STRING, /* target: const char ** */
    CLI_UINT,   /* target: unsigned * ; decimal, range [min, max] */
    CLI_LIST,   /* target: struct cli_list * ; repeatable */
    CLI_ADDR,   /* target: const char ** ; ADDR:PORT, [ADDR6]:PORT or :PORT */
    CLI_URL,    /* target: const char ** ; http:// or https:// with a host */
    CLI_DIR,    /* target: const char ** ; an existing folder */
};

/* The values of a repeatable option, in order. Strings are argv's. */
struct cli_list {
    const char *items[16];
    size_t count;
};

struct cli_option {
    const char *name; /* without the leading "--" */
    enum cli_kind kind;
    void *target;        /* where the value goes; defaults are set by the caller */
    int required;        /* non-zero: missing is an error */
    unsigned min, max;   /* CLI_UINT only */
    const char *metavar; /* shown in usage, e.g. "ADDR:PORT" */
    const char *help;    /* one line */
};

/*
 * Parses argv[0..argc) (the words after the subcommand) against the table of
 * n options. usage is the synopsis line printed first by --help, e.g.
 * "bin/subscriptions serve --listen ADDR:PORT --db FILE". Exits the process
 * with 0 after --help and with 2 after printing an error; returns only when
 * every option is valid and every required one is present.
 */
void cli_parse(const char *usage, int argc, char **argv, const struct cli_option *options,
               size_t n);

#endif
