/*
 * log.h - one line per event to stderr, as key=value pairs with a level:
 *
 *   ts=2026-11-26T15:50:00Z level=info prog=subscriptions msg="customer registered" id=c_1
 *
 * Lines are written with one write(2) so lines of several threads never mix.
 */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Names the program in every line ("prog=NAME"); NAME is borrowed for the
 * life of the process. */
void log_init(const char *prog);

/* Writes one line: level, msg (quoted), then the key=value pairs made from
 * fmt as by printf (may be NULL). Values with spaces should be quoted by the
 * caller: "email=\"%s\"". */
void log_event(enum log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_info(msg, ...) log_event(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_event(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_event(LOG_ERROR, msg, __VA_ARGS__)

#endif
