/*
 * metering.h - durable consumption, committed in groups.
 *
 * Every 200 answer of the API is preceded by meter_record(), which returns
 * only once the call's units are committed to the database (synchronous=FULL
 * in WAL mode: they survive a crash of the process and of the machine).
 * Calls that arrive while a commit is running wait together and go into the
 * next transaction, so the cost of a commit is shared by many calls (group
 * commit): one committer thread, a queue guarded by a mutex, and a condition
 * variable on which the callers wait for their batch.
 *
 * Units accumulate in usage_units per (window, customer, user, key). The
 * window of a call is the --usage-window of the wall clock at which its
 * batch commits: [t - t % W, t - t % W + W). A window that has already been
 * published (usage_state.published_until, see usage_windows.h) never
 * receives units: a late commit (the clock stepped back) goes into the first
 * window still open, so no unit is lost and no published total changes.
 */
#ifndef CLOUD_API_METERING_H
#define CLOUD_API_METERING_H

#include <stdint.h>
#include <time.h>

struct meter;

struct meter_config {
    /* The database file (whose usage tables exist). Borrowed for the call. */
    const char *db_path;
    /* Window length in seconds, at least 1. */
    unsigned window_seconds;
    /* Current Unix time; NULL means time(). Tests set it. */
    time_t (*clock)(void);
};

/* Opens the meter with its own connection and committer thread. The caller
 * owns *out and frees it with meter_close(). Returns 0, or -1 (logged). */
int meter_open(const struct meter_config *cfg, struct meter **out);

/*
 * Adds units to the usage of (customer_id, user_id, key_id) and waits until
 * the transaction holding them has committed. Returns 0 once they are
 * durable, -1 if that commit failed (logged; nothing of the batch was
 * stored, so the caller must not report success). Strings are borrowed for
 * the call. Thread-safe; must not be called once meter_close() has begun.
 */
int meter_record(struct meter *m, const char *customer_id, const char *user_id,
                 const char *key_id, uint64_t units);

/* Counters, for /metrics. */
struct meter_stats {
    uint64_t calls;         /* calls recorded durably */
    uint64_t units;         /* their units */
    uint64_t commits;       /* transactions committed */
    uint64_t failures;      /* calls whose commit failed */
    uint64_t largest_batch; /* most calls in one transaction */
};

void meter_get_stats(struct meter *m, struct meter_stats *out);

/* Commits what is queued, stops the committer and frees m. Accepts NULL. */
void meter_close(struct meter *m);

#endif
