#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *program = "program";

void log_init(const char *prog)
{
    program = prog;
}

static const char *level_name(enum log_level level)
{
    switch (level) {
    case LOG_DEBUG:
        return "debug";
    case LOG_INFO:
        return "info";
    case LOG_WARN:
        return "warn";
    case LOG_ERROR:
        return "error";
    }
    return "info";
}

/* Builds the whole line in one buffer and writes it with one write(2), so
 * lines from several threads or processes sharing stderr never interleave.
 * A line longer than the buffer is cut, never overflowed. */
void log_event(enum log_level level, const char *msg, const char *fmt, ...)
{
    char line[2048];
    char ts[32];
    struct tm tm;
    time_t now = time(NULL);
    size_t len;
    int n;

    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    n = snprintf(line, sizeof line, "ts=%s level=%s prog=%s msg=\"%s\"", ts, level_name(level),
                 program, msg);
    len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (fmt && *fmt && len < sizeof line - 2) {
        va_list ap;

        line[len++] = ' ';
        va_start(ap, fmt);
        n = vsnprintf(line + len, sizeof line - len, fmt, ap);
        va_end(ap);
        if (n > 0)
            len += (size_t)n < sizeof line - len ? (size_t)n : sizeof line - len - 1;
    }
    line[len++] = '\n';
    if (write(STDERR_FILENO, line, len) < 0)
        return;
}
