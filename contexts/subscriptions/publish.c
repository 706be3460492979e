#include "publish.h"

#include "db.h"
#include "log.h"
#include "schema.h"

#include <feedserver.h>
#include <stdarg.h>

#define MAX_FIELDS 8

enum sub_result publish(sqlite3 *db, const char *type, const char *at, ...)
{
    struct fs_field fields[MAX_FIELDS];
    struct fs_event ev = {0};
    enum fs_error err;
    const char *name;
    va_list ap;
    size_t n = 0;

    va_start(ap, at);
    while ((name = va_arg(ap, const char *)) != NULL && n < MAX_FIELDS) {
        fields[n].name = name;
        fields[n].value = va_arg(ap, const char *);
        n++;
    }
    va_end(ap);
    ev.type = type;
    ev.version = 1;
    ev.updated = at;
    ev.fields = fields;
    ev.nfields = n;
    err = db_feed_append(db, SUB_FEED, &ev, NULL);
    if (err != FS_OK) {
        log_error("cannot publish", "type=%s error=\"%s\"", type, fs_strerror(err));
        /* Input is checked before this (form_parse()), so text a feed cannot
         * carry reaching here is still the caller's, not the database's. */
        return err == FS_ERR_TEXT ? SUB_INVALID : SUB_ERROR;
    }
    return SUB_OK;
}
