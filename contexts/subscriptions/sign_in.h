/*
 * sign_in.h - checking what a person presents to be let in: an operator's
 * admin token (as a Bearer token or on the sign-in page), a user's email
 * and login key (on the portal's sign-in page).
 *
 * Admin tokens are compared in constant time against every configured
 * token (secret_equal()), so neither the answer's timing nor which token
 * matched leaks how close a guess was. A wrong, revoked or removed login
 * key, or an unknown email, are all refused alike, so a refusal does not
 * tell which part was wrong. Nothing presented is ever logged.
 */
#ifndef SUB_SIGN_IN_H
#define SUB_SIGN_IN_H

#include "login_keys.h"
#include "result.h"

#include <sqlite3.h>
#include <stddef.h>

/* Bytes of an admin token: at least ADMIN_TOKEN_MIN, at most
 * ADMIN_TOKEN_MAX, visible ASCII. Longer presented tokens are wrong. */
#define ADMIN_TOKEN_MIN 16
#define ADMIN_TOKEN_MAX 256

/* Whether token is fit to be an admin token (--admin-token): 0, or -1 with
 * what to fix in why (which never quotes the token). */
int sign_in_token_fit(const char *token, char *why, size_t why_size);

/* The index (from 0) of the token among tokens[0..ntokens) that equals
 * presented (may be NULL), or -1 when none does. */
int sign_in_token_index(const char *const *tokens, size_t ntokens, const char *presented);

/* The user that a good email and login key name. */
struct portal_user {
    char customer_id[SUB_ID_SIZE];
    char user_id[SUB_ID_SIZE];
    char key_id[SUB_ID_SIZE];
};

/*
 * Checks email and login_key (either may be NULL) against the current
 * users and their valid keys (by the key's SHA-256; the email in any
 * case). SUB_OK fills *out; SUB_UNAUTHENTICATED (the same sentence in why
 * for every wrong pair) when no current user with that email holds that
 * valid key; SUB_ERROR (logged). A locked customer's users may sign in.
 */
enum sub_result sign_in_portal(sqlite3 *db, const char *email, const char *login_key,
                               struct portal_user *out, char *why, size_t why_size);

#endif
