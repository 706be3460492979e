/*
 * sign_in.h - checking what a person presents to be let in: an operator's
 * admin token (as a Bearer token or on the sign-in page).
 *
 * Admin tokens are compared in constant time against every configured
 * token (secret_equal()), so neither the answer's timing nor which token
 * matched leaks how close a guess was. Nothing presented is ever logged.
 */
#ifndef SUB_SIGN_IN_H
#define SUB_SIGN_IN_H

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

#endif
