/*
 * sessions.h - signed-in browsers.
 *
 * A session id is 32 random bytes in hex, given to the browser in the
 * SESSION_COOKIE cookie and never stored: the sessions table keys each
 * session by the SHA-256 of its id. A session is live while its row exists,
 * its expiry has not passed, its login key is not revoked, its user not
 * removed and its customer not locked; the server checks this on every
 * request. Rows are deleted by sign-out, by the follower when access ends
 * (directory.h), and when they expire.
 */
#ifndef PRODUCT1_SESSIONS_H
#define PRODUCT1_SESSIONS_H

#include "directory.h"
#include "secrets.h"

#include <sqlite3.h>
#include <stddef.h>

#define SESSION_COOKIE "p1_session"

/* Default session lifetime: 8 hours. */
#define SESSION_DEFAULT_LIFETIME (8u * 3600u)

/* Why a session ended, when its user did not sign out. */
enum session_end_reason {
    SESSION_END_UNKNOWN,     /* no session, or no reason recorded */
    SESSION_END_EXPIRED,     /* its lifetime passed */
    SESSION_END_KEY_REVOKED, /* its login key was revoked */
    SESSION_END_USER_REMOVED,
    SESSION_END_LOCKED,    /* the customer was locked */
    SESSION_END_RESTARTED, /* Product 1 restarted: the key held in memory is gone */
};

/*
 * Starts a session for u lasting lifetime seconds: writes the new session id
 * (for the cookie) into id and the SHA-256 that keys it into hash. Returns
 * 0, or -1 (logged).
 */
int session_create(sqlite3 *db, const struct user_ref *u, unsigned lifetime,
                   char id[SHA256_HEX_SIZE], char hash[SHA256_HEX_SIZE]);

/*
 * Finds the live session whose id is id. Returns 1 and fills *out (caller
 * releases) and hash when it is live, 0 when it is not (unknown, expired or
 * ended), -1 on a database error (logged).
 */
int session_find(sqlite3 *db, const char *id, struct user_ref *out, char hash[SHA256_HEX_SIZE]);

/* Whether the session keyed by hash is live: 1, 0, or -1 on error. */
int session_is_live(sqlite3 *db, const char *hash);

/* Same, and on 1 fills *out with its user (caller releases). */
int session_user(sqlite3 *db, const char *hash, struct user_ref *out);

/* Ends the session keyed by hash. Returns 0, or -1 (logged). */
int session_end(sqlite3 *db, const char *hash);

/* Ends the session keyed by hash, recording that it ended for reason (the
 * user did not sign out). Returns 0, or -1 (logged). */
int session_end_because(sqlite3 *db, const char *hash, enum session_end_reason reason);

/* Seconds the session cookie outlives its session, and a session's end is
 * remembered past it, so that the sign-in page can say why it ended. */
#define SESSION_END_GRACE 3600u

/*
 * Records, for each session of customer_id (and of user_id, or with key_id,
 * when not NULL) that is about to be deleted, that it ended for reason.
 * Called by the follower in the transaction that deletes them. Returns 0,
 * or -1 (logged).
 */
int session_ends_record(sqlite3 *db, const char *customer_id, const char *user_id,
                        const char *key_id, enum session_end_reason reason);

/*
 * Why the session whose cookie id is id is not live: from its row (expired,
 * or its key, user or customer no longer valid) or from session_ends.
 * Writes the customer's lock reason ("overdraft", "manual") into
 * lock_reason (lock_reason_size bytes, "" if none) for SESSION_END_LOCKED.
 */
enum session_end_reason session_end_reason(sqlite3 *db, const char *id, char *lock_reason,
                                           size_t lock_reason_size);

/* Deletes sessions whose expiry has passed. Returns how many, or -1. */
int sessions_purge_expired(sqlite3 *db);

/* Deletes every session (at server start: their keys were in the memory of
 * the process that ended), recording SESSION_END_RESTARTED for each. Returns
 * 0, or -1. */
int sessions_clear(sqlite3 *db);

/*
 * Finds the SESSION_COOKIE value in a Cookie request header (may be NULL)
 * and copies it into id. Returns 1 if found and well-formed (64 hex digits),
 * else 0.
 */
int session_cookie_id(const char *cookie_header, char id[SHA256_HEX_SIZE]);

#endif
