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

#define SESSION_COOKIE "p1_session"

/* Default session lifetime: 8 hours. */
#define SESSION_DEFAULT_LIFETIME (8u * 3600u)

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

/* Deletes sessions whose expiry has passed. Returns how many, or -1. */
int sessions_purge_expired(sqlite3 *db);

/* Deletes every session (at server start: their keys were in the memory of
 * the process that ended). Returns 0, or -1. */
int sessions_clear(sqlite3 *db);

/*
 * Finds the SESSION_COOKIE value in a Cookie request header (may be NULL)
 * and copies it into id. Returns 1 if found and well-formed (64 hex digits),
 * else 0.
 */
int session_cookie_id(const char *cookie_header, char id[SHA256_HEX_SIZE]);

#endif
