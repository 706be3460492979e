/*
 * sign_in.h - signing a user in with an email and a login key.
 *
 * The pair is checked against the user directory (directory.h) by the
 * SHA-256 of the key text, so it works while Subscriptions is down. A good
 * pair starts a session (sessions.h) and puts the key in the key vault, in
 * memory only, for calls to the Cloud API on the user's behalf.
 */
#ifndef PRODUCT1_SIGN_IN_H
#define PRODUCT1_SIGN_IN_H

#include "directory.h"
#include "key_vault.h"
#include "secrets.h"

#include <sqlite3.h>

enum sign_in_result {
    SIGN_IN_OK, /* a session started */
    /* no user with that email holds that key, or it was revoked, or its
     * user removed: all alike (401), so that a leaked key's holder is not
     * told it was once real */
    SIGN_IN_WRONG_PAIR,
    SIGN_IN_LOCKED, /* the customer is locked (403) */
    SIGN_IN_ERROR,  /* the database failed (500, logged) */
};

/*
 * Checks email and key; on SIGN_IN_OK starts a session of lifetime seconds,
 * writes its id (for the cookie) into session_id, holds key in vault, and
 * fills *user (caller releases). Otherwise *user is empty. A key longer than
 * LOGIN_KEY_MAX is a wrong pair, and so is a revoked key (the log, not the
 * caller, says it was revoked).
 */
enum sign_in_result sign_in(sqlite3 *db, struct key_vault *vault, const char *email,
                            const char *key, unsigned lifetime, struct user_ref *user,
                            char session_id[SHA256_HEX_SIZE]);

/* A short English sentence for a refused sign-in, for pages and JSON. */
const char *sign_in_message(enum sign_in_result r);

#endif
