/*
 * sessions.h - signed-in browsers: operators who signed in with an admin
 * token, and customers' users signed in to the portal.
 *
 * A session id is 32 random bytes from the OS in hex, handed to the browser
 * in a cookie and never stored: the sessions table keys each session by the
 * SHA-256 of its id, so a copy of the database signs nobody in. A session
 * lives until its expiry (checked here, by the server, whatever the
 * browser's cookie says) or its sign-out. A portal session also ends as soon
 * as its login key is revoked or its user removed; it outlives a lock of the
 * customer, so that a locked customer can still see why. Operator sessions
 * end when serve starts (its admin tokens may have changed).
 *
 * Times are the billing clock's (calendar.h), so tests can move them.
 */
#ifndef SUB_SESSIONS_H
#define SUB_SESSIONS_H

#include "login_keys.h"
#include "secrets.h"
#include "users.h"

#include <sqlite3.h>

/* The two kinds of sessions, and the cookies that carry their ids. The
 * portal's cookie is sent only to /portal paths. */
enum session_kind { SESSION_OPERATOR, SESSION_PORTAL };
#define OPERATOR_COOKIE "sub_operator"
#define PORTAL_COOKIE "sub_portal"
#define PORTAL_COOKIE_PATH "/portal"

/* Default session lifetime: 8 hours. */
#define SESSION_DEFAULT_LIFETIME (8u * 3600u)

/* A live session as found by session_find(). */
struct session {
    char hash[SHA256_HEX_SIZE];    /* SHA-256 of the session id: its row's key */
    int token_index;               /* operator: the admin token signed in with, from 0 */
    char customer_id[SUB_ID_SIZE]; /* portal: the user's customer */
    char user_id[SUB_ID_SIZE];     /* portal: the user */
    char key_id[SUB_ID_SIZE];      /* portal: the key signed in with */
    char email[EMAIL_MAX + 1];     /* portal: the user's email */
    int is_admin;                  /* portal: whether the user is an administrator now */
};

/*
 * Starts a session of kind lasting lifetime seconds: an operator's with
 * admin token token_index, or a portal user's (customer_id, user_id and
 * key_id; NULL for an operator). Writes the new session id (for the
 * cookie; never store or log it) into id and its SHA-256 (the row's key,
 * which may be logged) into hash. Returns 0, or -1 (logged).
 */
int session_start(sqlite3 *db, enum session_kind kind, int token_index, const char *customer_id,
                  const char *user_id, const char *key_id, unsigned lifetime,
                  char id[SHA256_HEX_SIZE], char hash[SHA256_HEX_SIZE]);

/* Finds the live session of kind whose id is id (as the cookie gave it).
 * Returns 1 and fills *out, 0 when there is none (unknown, expired,
 * ended), or -1 on a database error (logged). */
int session_find(sqlite3 *db, enum session_kind kind, const char *id, struct session *out);

/* Ends the session keyed by hash (the SHA-256 of its id). Returns 0, or -1
 * (logged). */
int session_end(sqlite3 *db, const char *hash);

/* Deletes the sessions whose expiry has passed. Returns how many, or -1. */
int sessions_purge_expired(sqlite3 *db);

/* Deletes every operator session (at serve's start). Returns 0, or -1. */
int sessions_end_operators(sqlite3 *db);

#endif
