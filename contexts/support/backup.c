#include "backup.h"

#include "cli.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Copies the database src_path into the new file dst_path in one step of
 * the backup API, so the copy is one consistent snapshot, then checks it.
 * Returns 0, or -1 with the reason logged. */
static int copy_database(const char *src_path, const char *dst_path)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b = NULL;
    sqlite3_stmt *check = NULL;
    const char *step = "open the database";
    int rc, ret = -1;

    if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        goto out;
    sqlite3_busy_timeout(src, 10000);
    step = "create the copy";
    if (sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        goto out;
    step = "copy";
    b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b)
        goto out;
    /* A writer holding the lock for a moment makes a step busy; retry for
     * a while rather than fail a backup taken during a burst of writes. */
    for (int tries = 0; (rc = sqlite3_backup_step(b, -1)) != SQLITE_DONE; tries++) {
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || tries >= 100)
            goto out;
        sqlite3_sleep(100);
    }
    rc = sqlite3_backup_finish(b);
    b = NULL;
    if (rc != SQLITE_OK)
        goto out;
    step = "check the copy";
    if (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &check, NULL) != SQLITE_OK ||
        sqlite3_step(check) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(check, 0), "ok") != 0)
        goto out;
    ret = 0;
out:
    if (ret != 0) {
        /* The backup API reports its errors on the destination. */
        sqlite3 *failed = dst && sqlite3_errcode(dst) != SQLITE_OK ? dst : src;

        log_error("backup failed", "step=\"%s\" error=\"%s\"", step,
                  failed ? sqlite3_errmsg(failed) : "out of memory");
    }
    sqlite3_finalize(check);
    sqlite3_backup_finish(b);
    sqlite3_close(dst);
    sqlite3_close(src);
    return ret;
}

int backup_command(const char *prog, const char *default_db, int argc, char **argv)
{
    const char *db_path = default_db, *to = NULL;
    const struct cli_option options[] = {
        {"db", CLI_STRING, &db_path, 0, 0, 0, "FILE", "the database to copy"},
        {"to", CLI_STRING, &to, 1, 0, 0, "FILE", "where to write the copy (must not exist)"},
    };
    char usage[96], tmp[PATH_MAX];

    snprintf(usage, sizeof usage, "bin/%s backup --db FILE --to FILE", prog);
    cli_parse(usage, argc, argv, options, sizeof options / sizeof options[0]);
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr, "bad value for --db: %s does not exist\n", db_path);
        return 2;
    }
    if (access(to, F_OK) == 0) {
        fprintf(stderr, "bad value for --to: %s exists; a backup never overwrites a file\n", to);
        return 2;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", to, (long)getpid()) >= (int)sizeof tmp) {
        fprintf(stderr, "bad value for --to: the path is too long\n");
        return 2;
    }
    if (copy_database(db_path, tmp) != 0) {
        unlink(tmp);
        return 1;
    }
    if (rename(tmp, to) != 0) {
        log_error("backup failed", "step=rename to=%s error=\"%s\"", to, strerror(errno));
        unlink(tmp);
        return 1;
    }
    log_info("backup written", "db=%s to=%s", db_path, to);
    return 0;
}
