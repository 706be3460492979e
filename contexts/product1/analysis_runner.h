/*
 * analysis_runner.h - runs one queued analysis through the Cloud API and
 * records the outcome; shared by the request that submits a text and by the
 * retry worker that finishes queued ones.
 *
 * Invariants:
 *  - An analysis is sent by at most one thread of the process at a time (an
 *    in-flight set), and is sent again only while it is still `queued`, so
 *    a result is never recorded twice.
 *  - Every call for an analysis, first attempt and retries, carries
 *    "Idempotency-Key: <analysis id>". The result is recorded after the
 *    Cloud API's 200, so a crash in between leaves the analysis queued and
 *    it is sent again after the restart; the Cloud API then answers with
 *    the stored result and charges nothing, provided the resend comes
 *    within its 24-hour retention (the analysis waits for its user's next
 *    sign-in after a restart, so a later resend is charged again).
 *  - The Cloud API is called only with a key held in the key vault for a
 *    live session of the analysis's user (or the key the submitting request
 *    just used).
 *  - The runner remembers whether the last call reached the Cloud API, so
 *    pages can say that work is being queued. While the last call did not,
 *    a run for a waiting request (runner_run_within()) does not call at all:
 *    the analysis stays queued for the retry worker, whose calls tell when
 *    the Cloud API is back. So a Cloud API that accepts connections and
 *    never answers costs one request its budget, not every request.
 */
#ifndef PRODUCT1_ANALYSIS_RUNNER_H
#define PRODUCT1_ANALYSIS_RUNNER_H

#include "key_vault.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct analysis_runner;

enum run_result {
    RUN_DONE,   /* the result is recorded (and published) */
    RUN_QUEUED, /* the Cloud API could not be reached, or does not know a key issued
                   seconds ago yet: still queued */
    RUN_FAILED, /* the Cloud API refused it for good: marked failed */
    RUN_NO_KEY, /* no live session of the user holds a key: still queued */
    RUN_BUSY,   /* another thread is running it now */
    RUN_GONE,   /* it is not queued (any more) */
    RUN_ERROR,  /* the database failed (logged) */
};

/* Counters for /metrics. */
struct runner_stats {
    uint64_t done;
    uint64_t failed;
    uint64_t unreachable;
};

/* A new runner calling the Cloud API at cloud_url (borrowed, must outlive
 * it) with keys from vault (borrowed). Free with runner_free(). */
struct analysis_runner *runner_new(const char *cloud_url, struct key_vault *vault);

void runner_free(struct analysis_runner *r);

/*
 * Runs queued analysis id on db: with key when not NULL, else with the key of
 * a live session of its user found in the vault (forgetting keys of ended
 * sessions on the way). On RUN_FAILED, reason (may be NULL) receives why.
 */
enum run_result runner_run(struct analysis_runner *r, sqlite3 *db, const char *id, const char *key,
                           char *reason, size_t reason_size);

/*
 * runner_run() for a request a user waits on: the call is bounded by
 * budget_ms (CLOUD_PAGE_BUDGET_MS), and is not made while the last call did
 * not reach the Cloud API (RUN_QUEUED at once, the worker finishes it).
 */
enum run_result runner_run_within(struct analysis_runner *r, sqlite3 *db, const char *id,
                                  const char *key, unsigned budget_ms, char *reason,
                                  size_t reason_size);

/*
 * Whether the last call reached the Cloud API: 1 yes, 0 no (error then holds
 * why), -1 no call yet.
 */
int runner_reachable(struct analysis_runner *r, char *error, size_t error_size);

void runner_stats(struct analysis_runner *r, struct runner_stats *out);

#endif
