/*
 * idempotency.h - the stored answers of POST /api/v1/analyze calls made
 * with an Idempotency-Key header, so that a call sent again (a client that
 * crashed after the 200 but before recording it) is answered without being
 * charged again.
 *
 * Invariants:
 *  - An answer is stored in analyze_replays under (key_sha256,
 *    idempotency_key): the SHA-256 of the login key that made the call and
 *    the client's key. A customer can only ever read back answers to its
 *    own login key.
 *  - A row is written only by the meter (metering.h), in the transaction
 *    that commits the call's units, so a stored answer always means the
 *    units were charged exactly once, and charged units always have their
 *    answer stored.
 *  - Each row holds the SHA-256 of the call's request body: the same pair
 *    with another body is a client bug, answered 422, never a replay.
 *  - Rows are kept the retention time after their commit (serve's
 *    --idempotency-retention, default IDEMPOTENCY_RETENTION_SECONDS), then
 *    deleted by idempotency_purge() (run by the usage publisher at every
 *    window); a row past it is never replayed, even before it is deleted. A
 *    call repeated later than that is a new call and is charged.
 */
#ifndef CLOUD_API_IDEMPOTENCY_H
#define CLOUD_API_IDEMPOTENCY_H

#include <sqlite3.h>
#include <stdint.h>
#include <time.h>

/* Longest Idempotency-Key value accepted. */
#define IDEMPOTENCY_KEY_MAX 255

/* How long a stored answer is replayed: 24 hours. */
#define IDEMPOTENCY_RETENTION_SECONDS (24 * 60 * 60)

/* Whether value is a valid Idempotency-Key: 1 to IDEMPOTENCY_KEY_MAX
 * visible ASCII characters ('!' to '~'). */
int idempotency_key_valid(const char *value);

/*
 * The answer stored for (key_sha256, idempotency_key) on db, committed
 * after not_before, read outside any transaction. Returns a new string
 * (caller frees), sets *found to 1 and copies the stored request body's
 * SHA-256 into request_sha256 ("" for a row stored before it was kept);
 * returns NULL with *found 0 when there is none, or NULL with *found -1
 * when the database fails (logged).
 */
char *idempotency_find(sqlite3 *db, const char *key_sha256, const char *idempotency_key,
                       time_t not_before, char request_sha256[65], int *found);

/*
 * Deletes the answers committed retention seconds or more before now, in
 * one statement on db (no transaction may be open). Stores how many in
 * *deleted (may be NULL). Returns 0, or -1 (logged).
 */
int idempotency_purge(sqlite3 *db, time_t now, unsigned retention, int64_t *deleted);

#endif
