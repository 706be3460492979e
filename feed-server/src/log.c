#include "log.h"

#include <stdarg.h>
#include <unistd.h>

#include "dynbuf.h"

const char *fs_log_level_name(enum fs_log_level level)
{
    switch (level) {
    case FS_LOG_DEBUG:
        return "debug";
    case FS_LOG_INFO:
        return "info";
    case FS_LOG_WARN:
        return "warn";
    case FS_LOG_ERROR:
        return "error";
    }
    return "error";
}

void fs_log_stderr(enum fs_log_level level, const char *msg, const char *const *keys,
                   const char *const *values, size_t n, void *userdata)
{
    (void)userdata;
    dynbuf_log_write(STDERR_FILENO, fs_log_level_name(level), "feed-server", msg, keys, values, n);
}

/* Calls the log function with the pair (key0, value0), if key0 is not
 * NULL, and then those of ap. */
static void vlog(const struct fs_server_config *cfg, enum fs_log_level level, const char *msg,
                 const char *key0, const char *value0, va_list ap)
{
    const char *keys[FS__LOG_PAIRS] = {key0}, *values[FS__LOG_PAIRS] = {value0};
    size_t first = key0 ? 1 : 0;
    size_t n = first + dynbuf_log_pairs(keys + first, values + first, FS__LOG_PAIRS - first, ap);

    (cfg->log ? cfg->log : fs_log_stderr)(level, msg, keys, values, n, cfg->log_userdata);
}

void fs__log(const struct fs_server_config *cfg, enum fs_log_level level, const char *msg, ...)
{
    va_list ap;

    va_start(ap, msg);
    vlog(cfg, level, msg, NULL, NULL, ap);
    va_end(ap);
}

void fs__log_db(const struct fs_server_config *cfg, sqlite3 *db, const char *msg, ...)
{
    va_list ap;

    va_start(ap, msg);
    vlog(cfg, FS_LOG_ERROR, msg, "sqlite", db ? sqlite3_errmsg(db) : "no connection", ap);
    va_end(ap);
}
