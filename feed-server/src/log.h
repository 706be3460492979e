/*
 * log.h - the library's log: one line per event on stderr, as key=value
 * pairs starting with ts, level, lib=feed-server and msg. Lines are written
 * with one write() each so lines from several threads never interleave.
 */
#ifndef FS_LOG_H
#define FS_LOG_H

#include <stddef.h>

/*
 * Logs msg at level ("debug", "info", "warn", "error"), followed by the
 * extra key=value pairs that fmt and its arguments make (fmt may be NULL).
 * The message is quoted; extra values are written as given, so a caller
 * quotes any value that may hold spaces with fs__log_quote().
 */
void fs__log(const char *level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies s into out as a quoted logfmt value ("..." with quotes and
 * backslashes escaped, control characters as spaces), truncated to fit. */
void fs__log_quote(char *out, size_t size, const char *s);

#endif
