#include "log.h"

#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "dynbuf.h"

void fr__now_rfc3339(char out[21])
{
    time_t now = time(NULL);
    struct tm tm;

    if (!gmtime_r(&now, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        out[0] = '\0';
}

const char *fr_log_level_name(enum fr_log_level level)
{
    static const char *const names[] = {
        [FR_LOG_DEBUG] = "debug", [FR_LOG_INFO] = "info",   [FR_LOG_WARN] = "warn",
        [FR_LOG_ERROR] = "error", [FR_LOG_FATAL] = "fatal",
    };

    return (unsigned)level < sizeof names / sizeof names[0] ? names[level] : "error";
}

void fr_log_stderr(enum fr_log_level level, const char *msg, const char *const *keys,
                   const char *const *values, size_t n, void *userdata)
{
    (void)userdata;
    dynbuf_log_write(STDERR_FILENO, fr_log_level_name(level), "feed-reader", msg, keys, values, n);
}

void fr__log(const struct fr_config *cfg, enum fr_log_level level, const char *msg, ...)
{
    const char *keys[FR__LOG_PAIRS] = {"feed"}, *values[FR__LOG_PAIRS] = {cfg->feed_url};
    size_t n;
    va_list ap;

    va_start(ap, msg);
    n = 1 + dynbuf_log_pairs(keys + 1, values + 1, FR__LOG_PAIRS - 1, ap);
    va_end(ap);
    (cfg->log ? cfg->log : fr_log_stderr)(level, msg, keys, values, n, cfg->log_userdata);
}
