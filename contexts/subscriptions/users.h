/*
 * users.h - the users of a customer and their login keys.
 *
 * A user belongs to one customer; its email is unique among the customer's
 * current users (case-insensitively). Each user starts with one login key
 * and may get more; a key can be revoked, and removing a user revokes all
 * its keys. The plain key leaves these functions only in struct new_key,
 * for the one answer that shows it; nothing stores it. A user may be made
 * an administrator of its customer: it then manages the customer's users
 * and keys in the portal. Every command takes the author of the change
 * (audit.h, never NULL).
 */
#ifndef SUB_USERS_H
#define SUB_USERS_H

#include "login_keys.h"
#include "result.h"

#include <sqlite3.h>
#include <stddef.h>

/* Longest email, in bytes. */
#define EMAIL_MAX 254

/* A key just made, to hand to the caller once. */
struct new_key {
    char user_id[SUB_ID_SIZE];
    char key_id[SUB_ID_SIZE];
    char login_key[LOGIN_KEY_SIZE]; /* the plain key: show it, never store it */
    char key_sha256[KEY_SHA256_SIZE];
};

/* Whether email looks like local@domain.tld, within EMAIL_MAX bytes. */
int email_valid(const char *email);

/* Adds a user with email to customer customer_id, with a first key;
 * publishes UserAdded. SUB_INVALID for a malformed email, SUB_NOT_FOUND for
 * an unknown customer, SUB_CONFLICT for an email already used there. */
enum sub_result user_add(sqlite3 *db, const char *author, const char *customer_id,
                         const char *email, struct new_key *out, char *why, size_t why_size);

/* Issues another key to user user_id of customer customer_id; publishes
 * LoginKeyIssued. SUB_NOT_FOUND for an unknown customer or current user. */
enum sub_result key_issue(sqlite3 *db, const char *author, const char *customer_id,
                          const char *user_id, struct new_key *out, char *why, size_t why_size);

/* Revokes key key_id of that user; publishes LoginKeyRevoked. SUB_NOT_FOUND
 * unless the key exists there and is not revoked yet. */
enum sub_result key_revoke(sqlite3 *db, const char *author, const char *customer_id,
                           const char *user_id, const char *key_id, char *why, size_t why_size);

/* Removes a current user and revokes its keys; publishes UserRemoved.
 * SUB_NOT_FOUND for an unknown customer or a user not current there. */
enum sub_result user_remove(sqlite3 *db, const char *author, const char *customer_id,
                            const char *user_id, char *why, size_t why_size);

/* Makes user user_id of customer customer_id an administrator of it (admin
 * 1) or not (admin 0); setting what is already so changes nothing. Internal
 * only: nothing is published. SUB_INVALID for admin other than 0 or 1,
 * SUB_NOT_FOUND for an unknown customer or a user not current there. */
enum sub_result user_set_admin(sqlite3 *db, const char *author, const char *customer_id,
                               const char *user_id, int admin, char *why, size_t why_size);

#endif
