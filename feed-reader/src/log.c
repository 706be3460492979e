#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void fr__now_rfc3339(char out[21])
{
    time_t now = time(NULL);
    struct tm tm;

    if (!gmtime_r(&now, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        out[0] = '\0';
}

/* Copies msg into out with '"' and '\\' escaped and control characters
 * replaced, so that a message from the network cannot forge log lines. */
static size_t quote(char *out, size_t size, const char *msg)
{
    size_t n = 0;

    for (; *msg && n + 3 < size; msg++) {
        unsigned char c = (unsigned char)*msg;
        if (c == '"' || c == '\\')
            out[n++] = '\\';
        out[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[n] = '\0';
    return n;
}

void fr__log(const char *level, const char *feed, const char *msg, const char *fmt, ...)
{
    char line[2048], ts[21], qmsg[1024];
    va_list ap;
    int n, m;

    fr__now_rfc3339(ts);
    quote(qmsg, sizeof qmsg, msg);
    n = snprintf(line, sizeof line, "ts=%s level=%s lib=feed-reader feed=%s msg=\"%s\"", ts, level,
                 feed ? feed : "-", qmsg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 2)
        n = (int)sizeof line - 2;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof line - 1 - (size_t)n, fmt, ap);
    va_end(ap);
    if (m > 0)
        n += (size_t)m >= sizeof line - 1 - (size_t)n ? (int)(sizeof line - 2 - (size_t)n) : m;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}
