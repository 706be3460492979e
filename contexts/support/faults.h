/*
 * faults.h - storage faults a program meets again and again while it
 * retries: the disk under its database is full (SQLITE_FULL), or the device
 * answers I/O errors (SQLITE_IOERR). A full disk can last for hours, and
 * the work that meets it (metering, publishing usage, charging it) is
 * retried the whole time: one log line per retry would bury everything
 * else, and fill the disk of the logs too.
 *
 * So each fault is logged once when it starts, at error level, and once
 * when it ends (the first success of what failed), with how many failures
 * it caused; /status lists the faults going on (ops.c). A fault is named by
 * what failed ("metering", "usage publishing", "database"); names are
 * constants of the program (borrowed for its life). Thread-safe.
 */
#ifndef FAULTS_H
#define FAULTS_H

#include <sqlite3.h>

/*
 * Called after a statement on db failed: when its error (sqlite3_errcode())
 * is a storage fault, counts one more failure of what, logging the first of
 * a run, and returns 1: the caller logs nothing more. Otherwise returns 0
 * and the caller logs the error as usual.
 */
int fault_storage(sqlite3 *db, const char *what);

/* Called when what succeeded: ends its fault, if one was going on, with
 * one log line. Cheap when there is none. */
void fault_clear(const char *what);

/* A fault going on, as fault_each() hands it. */
struct fault_info {
    const char *what;   /* what fails */
    const char *error;  /* SQLite's message for the first failure */
    const char *since;  /* RFC 3339 UTC time of the first failure */
    long long failures; /* failures since then */
};

/* Calls fn for each fault going on, under the faults' lock: fn must not
 * call fault_*(). */
void fault_each(void (*fn)(const struct fault_info *fault, void *userdata), void *userdata);

#endif
