/*
 * directory.h - Product 1's user directory: a replica of the customers,
 * users and login-key hashes that Subscriptions publishes on its
 * `subscriptions` feed, and the sign-in lookup against it.
 *
 * Invariants:
 *  - Only the follower writes these tables, one feed entry per call, inside
 *    the transaction that also stores the feed position (feedreader.h), so
 *    the replica always equals the feed up to a position.
 *  - An event that ends access (LoginKeyRevoked, UserRemoved,
 *    CustomerLocked) deletes the sessions it ends in that same transaction:
 *    the server, which checks the session row on every request, refuses
 *    them from the next request on.
 *  - Only SHA-256 hashes of login keys are kept (lowercase hex).
 */
#ifndef PRODUCT1_DIRECTORY_H
#define PRODUCT1_DIRECTORY_H

#include <sqlite3.h>

struct fr_follower;

/* Who is signed in: the user and the login key they used. Strings are owned
 * by the struct; release with user_ref_release(). */
struct user_ref {
    char *customer_id;
    char *user_id;
    char *key_id;
    char *email;
};

void user_ref_release(struct user_ref *u);

/* Registers the handlers of the seven `subscriptions` event types on f.
 * Other types are left to the follower to skip. Returns 0, or -1. */
int directory_follow(struct fr_follower *f);

/*
 * The effect of each event on the replica; the follower's handlers call
 * these with the entry's fields, and tests call them directly. Each is
 * idempotent and tolerant of events arriving for rows it has not seen (a
 * missing customer is created). Return 0, or -1 on a database error (logged).
 * Optional fields (name, plan, reason) may be NULL.
 */
int directory_customer_registered(sqlite3 *db, const char *customer_id, const char *name,
                                  const char *plan);
int directory_user_added(sqlite3 *db, const char *customer_id, const char *user_id,
                         const char *email, const char *key_id, const char *key_sha256);
int directory_key_issued(sqlite3 *db, const char *customer_id, const char *user_id,
                         const char *key_id, const char *key_sha256);
int directory_key_revoked(sqlite3 *db, const char *customer_id, const char *user_id,
                          const char *key_id);
int directory_user_removed(sqlite3 *db, const char *customer_id, const char *user_id);
int directory_customer_locked(sqlite3 *db, const char *customer_id, const char *reason);
int directory_customer_unlocked(sqlite3 *db, const char *customer_id);

enum directory_match {
    DIRECTORY_OK,       /* the pair names an active user with a valid key */
    DIRECTORY_NO_MATCH, /* no such email with that key (or the user was removed) */
    DIRECTORY_REVOKED,  /* the key was that user's, and is revoked */
    DIRECTORY_LOCKED,   /* the pair is right but the customer is locked */
    DIRECTORY_ERROR,    /* the database failed (logged) */
};

/*
 * Finds the user whose email is email (case-insensitive) and who holds a
 * login key whose SHA-256 is key_sha256. An email may exist in several
 * customers: the key decides which. On DIRECTORY_OK, DIRECTORY_REVOKED and
 * DIRECTORY_LOCKED fills *out (caller releases it); otherwise *out is empty.
 */
enum directory_match directory_find(sqlite3 *db, const char *email, const char *key_sha256,
                                    struct user_ref *out);

#endif
