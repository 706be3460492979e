/*
 * log.h - the feed reader's log lines.
 *
 * One line per event on stderr, key=value, with a level:
 *   ts=2024-01-01T00:00:00Z level=info lib=feed-reader feed=URL msg="..." k=v...
 * A line is written with one write(2) so lines of several processes or
 * threads never interleave.
 */
#ifndef FR_LOG_H
#define FR_LOG_H

/* Writes one line: level ("info", "error"), the feed URL, a message (quoted
 * in the line), then fmt (more " key=value" pairs, printf style, may be ""). */
void fr__log(const char *level, const char *feed, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes the current UTC time as RFC 3339 ("2024-01-01T00:00:00Z") into
 * out, which holds at least 21 bytes. */
void fr__now_rfc3339(char out[21]);

#endif
