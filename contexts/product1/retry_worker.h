/*
 * retry_worker.h - the thread of `serve` that finishes queued analyses.
 *
 * Each round goes through the sessions whose login key the vault holds and
 * runs the queued analyses of their users, oldest first, with that key; an
 * analysis whose user has no live session waits for their next sign-in, and
 * never holds up anyone else's. When the Cloud API cannot be reached the
 * worker pauses, doubling the pause from RETRY_MIN_MS up to its maximum;
 * it starts a round at once when woken (a sign-in). Each round also drops
 * expired sessions and the keys of sessions that ended.
 */
#ifndef PRODUCT1_RETRY_WORKER_H
#define PRODUCT1_RETRY_WORKER_H

#include "analysis_runner.h"
#include "key_vault.h"

/* First pause after the Cloud API could not be reached. */
#define RETRY_MIN_MS 250u
/* Default longest pause between attempts. */
#define RETRY_DEFAULT_MAX_MS 5000u
/* Pause between rounds when nothing fails (wakes also come by signal). */
#define RETRY_IDLE_MS 2000u

struct retry_worker;

/*
 * Starts the worker thread on its own connection to the database at db_path
 * (borrowed), using runner and vault (borrowed; they must outlive it), with
 * pauses of at most max_ms. Returns NULL (logged) on failure.
 */
struct retry_worker *retry_worker_start(const char *db_path, struct analysis_runner *runner,
                                        struct key_vault *vault, unsigned max_ms);

/* Makes the worker start a round now. Thread-safe. Accepts NULL. */
void retry_worker_wake(struct retry_worker *w);

/* The number of rounds the worker has finished, so a test can wait for one
 * to have happened instead of sleeping. Thread-safe. */
unsigned long retry_worker_rounds(struct retry_worker *w);

/* Stops the thread, waits for it and frees w. Accepts NULL. */
void retry_worker_stop(struct retry_worker *w);

#endif
