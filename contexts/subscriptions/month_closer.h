/*
 * month_closer.h - the thread of `serve` that issues the invoices when a
 * UTC month ends: at start and then every interval it closes every ended
 * month not closed yet (invoices.h). Closing is idempotent, so several
 * servers on one database, or an operator's close-month, never invoice a
 * month twice.
 */
#ifndef SUB_MONTH_CLOSER_H
#define SUB_MONTH_CLOSER_H

struct month_closer;

/* Starts the thread on the database file db_path (its own connection),
 * checking every interval_seconds. Returns NULL (logged) on failure. */
struct month_closer *month_closer_start(const char *db_path, unsigned interval_seconds);

/* The number of checks finished so far, so a test can wait for one to have
 * happened instead of sleeping. Thread-safe. */
unsigned long month_closer_rounds(struct month_closer *mc);

/* Stops the thread, waits for it and frees mc. Accepts NULL. */
void month_closer_stop(struct month_closer *mc);

#endif
