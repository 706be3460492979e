/*
 * usage_windows.h - publishing closed usage windows on the usage feed.
 *
 * When a window [start, end) has closed (end <= now), each of its rows in
 * usage_units becomes one UsageRecorded entry (customerId, userId, keyId,
 * units, windowStart, windowEnd, node; DESIGN.md section 6) of the feed
 * "usage", and the row is marked with the entry's position, in the same
 * transaction: each window is published exactly once, whenever the
 * publication runs, also windows that closed while the process was down.
 * The same transaction moves usage_state.published_until to the start of the
 * window open at that moment, which the meter respects (metering.h).
 */
#ifndef CLOUD_API_USAGE_WINDOWS_H
#define CLOUD_API_USAGE_WINDOWS_H

#include <sqlite3.h>
#include <stdint.h>
#include <time.h>

/*
 * In one transaction on db (none may be open), appends a UsageRecorded entry
 * for every unpublished row whose window ended at or before now, marks them,
 * and advances the watermark for windows of window_seconds. node names this
 * node in the entries. Stores the number of entries appended in *entries
 * (may be NULL). Returns 0, or -1 (logged; nothing changed).
 */
int usage_publish_closed(sqlite3 *db, const char *node, unsigned window_seconds, time_t now,
                         int64_t *entries);

/* Writes t as RFC 3339 UTC ("2026-11-26T15:50:00Z") into out. */
void usage_format_time(int64_t t, char out[32]);

/*
 * A thread that publishes at every window boundary (and once at start),
 * and then deletes the stored answers of Idempotency-Keys older than their
 * retention (one indexed DELETE). It keeps its own connection to the
 * database.
 */
struct usage_publisher;

struct usage_publisher_config {
    const char *db_path;     /* borrowed for the call */
    const char *node;        /* copied */
    unsigned window_seconds; /* at least 1 */
    /* seconds an Idempotency-Key's answer is kept; 0: the default 24 h */
    unsigned idempotency_retention;
};

/* Publishes the windows closed so far, then starts the thread. The caller
 * owns *out and frees it with usage_publisher_close(). Returns 0, or -1
 * (logged). */
int usage_publisher_open(const struct usage_publisher_config *cfg, struct usage_publisher **out);

/* Entries published by this publisher so far, and windows runs that failed. */
void usage_publisher_counts(struct usage_publisher *p, uint64_t *entries, uint64_t *failures);

/* Stops the thread and frees p. Accepts NULL. */
void usage_publisher_close(struct usage_publisher *p);

#endif
