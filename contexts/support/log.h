/*
 * log.h - the programs' one logger: every line a program writes, its own
 * and those the two libraries hand it (program.c sets their log
 * functions), goes to stderr through here, one line per event, as
 * key=value pairs with a level (docs/logging.md):
 *
 *   ts=2026-11-26T15:50:00Z level=info prog=subscriptions msg="customer registered" id=c_1
 *   ts=2026-11-26T15:50:01Z level=error prog=cloud-api lib=feed-reader msg="..." feed=URL ...
 *
 * Every value, msg included, is escaped (dynbuf_add_log_pair()): quotes,
 * backslashes and control characters cannot end the line or forge a pair.
 * Lines are written with one write(2) so lines of several threads never mix.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };

/* Names the program in every line ("prog=NAME"); NAME is borrowed for the
 * life of the process. */
void log_init(const char *prog);

/* Lines below min are dropped (--log-level; default LOG_INFO). Fatal lines
 * are always written. Set it once at start, before threads. */
void log_set_level(enum log_level min);

/* Parses "debug", "info", "warn" or "error" into *level. Returns 0, or -1
 * for anything else. */
int log_level_parse(const char *name, enum log_level *level);

/*
 * Writes one line: level, msg, then the key=value pairs that fmt describes:
 * "key=VALUE key=VALUE...", each VALUE bare or in double quotes, made of
 * text and printf conversions ("id=%s units=%lld", "error=\"%s\"",
 * "session=%.*s"). fmt may be NULL. The keys and the text of fmt are the
 * program's; each VALUE, once formatted, is escaped, and quoted when fmt
 * quotes it or when it needs it.
 */
void log_event(enum log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes one line of a library (lib, such as "feed-server"): level, msg and
 * the n pairs keys[i]=values[i], as the libraries' log functions hand them. */
void log_library(enum log_level level, const char *lib, const char *msg, const char *const *keys,
                 const char *const *values, size_t n);

#define log_info(msg, ...) log_event(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_event(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_event(LOG_ERROR, msg, __VA_ARGS__)

#endif
