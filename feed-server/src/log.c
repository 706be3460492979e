#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void fs__log_quote(char *out, size_t size, const char *s)
{
    size_t n = 0;

    if (size < 3)
        return;
    out[n++] = '"';
    for (; *s && n + 3 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            out[n++] = ' ';
        } else {
            out[n++] = (char)c;
        }
    }
    out[n++] = '"';
    out[n] = '\0';
}

void fs__log(const char *level, const char *msg, const char *fmt, ...)
{
    char line[2048], ts[32], qmsg[512];
    struct tm tm;
    time_t now = time(NULL);
    int n;

    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fs__log_quote(qmsg, sizeof qmsg, msg);
    n = snprintf(line, sizeof line, "ts=%s level=%s lib=feed-server msg=%s", ts, level, qmsg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 2)
        n = (int)sizeof line - 2;
    if (fmt) {
        va_list ap;
        int m;

        line[n++] = ' ';
        va_start(ap, fmt);
        m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (m < 0)
            m = 0;
        n += m;
        if ((size_t)n >= sizeof line - 1)
            n = (int)sizeof line - 2;
    }
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}
