/*
 * credentials.h - the credential replica: which login keys exist, whose
 * they are, and whether they may be used now.
 *
 * The replica is a copy of what Subscriptions publishes on its feed, kept in
 * the Cloud API's own database so that calls are authorized while
 * Subscriptions is down. The follower applies each event with one
 * credentials_apply_* function (inside its transaction); serve looks keys up
 * with a struct key_lookup.
 *
 * A key may be used when it is known, not revoked, its user is not removed
 * and its customer is not locked. Keys are stored and found by the lowercase
 * hex SHA-256 of their text: the key itself is never stored.
 * Once revoked (directly, or by the removal of its user) a key stays revoked.
 */
#ifndef CLOUD_API_CREDENTIALS_H
#define CLOUD_API_CREDENTIALS_H

#include <sqlite3.h>
#include <stddef.h>

/* Longest id (customer, user, key) or lock reason a lookup hands back,
 * without the NUL; a longer stored value makes the lookup fail. */
#define CREDENTIAL_ID_MAX 255

/*
 * The effect of each event of the subscriptions feed on the replica. Each
 * runs in the caller's transaction and returns 0, or -1 (logged) when the
 * database fails. Arguments are borrowed; optional ones may be NULL.
 * Events about ids the replica does not know are applied as far as they
 * make sense (a lock of an unknown customer is remembered for when its keys
 * arrive) and never fail.
 */
int credentials_apply_customer_registered(sqlite3 *db, const char *customer_id, const char *name,
                                          const char *plan);
/* A new user with their first key (UserAdded); key_sha256 is hex. */
int credentials_apply_user_added(sqlite3 *db, const char *customer_id, const char *user_id,
                                 const char *email, const char *key_id, const char *key_sha256);
/* Another key for a user (LoginKeyIssued). */
int credentials_apply_key_issued(sqlite3 *db, const char *customer_id, const char *user_id,
                                 const char *key_id, const char *key_sha256);
int credentials_apply_key_revoked(sqlite3 *db, const char *user_id, const char *key_id);
/* Removes the user and revokes all their keys. */
int credentials_apply_user_removed(sqlite3 *db, const char *customer_id, const char *user_id);
/* reason is "overdraft" or "manual" (any text is kept as given). */
int credentials_apply_customer_locked(sqlite3 *db, const char *customer_id, const char *reason);
int credentials_apply_customer_unlocked(sqlite3 *db, const char *customer_id);

/* What a presented key is worth. */
enum credential_state {
    CREDENTIAL_VALID,
    CREDENTIAL_UNKNOWN,      /* no such key */
    CREDENTIAL_REVOKED,      /* revoked, alone or with its user */
    CREDENTIAL_USER_REMOVED, /* its user was removed */
    CREDENTIAL_LOCKED,       /* its customer is locked; see lock_reason */
    CREDENTIAL_BUILDING,     /* not found, and the replica is still being
                              * built in bulk (credentials_bulk.h): no key
                              * is known yet */
    CREDENTIAL_ERROR,        /* the database failed (logged) */
};

/* A looked-up key. The ids are set for every state but UNKNOWN and ERROR. */
struct credential {
    enum credential_state state;
    char key_id[CREDENTIAL_ID_MAX + 1];
    char user_id[CREDENTIAL_ID_MAX + 1];
    char customer_id[CREDENTIAL_ID_MAX + 1];
    /* Why the customer is locked ("overdraft", "manual"), or "". */
    char lock_reason[CREDENTIAL_ID_MAX + 1];
};

/*
 * Looks keys up for the request threads of `serve`. It keeps a pool of its
 * own connections to the database, each with its lookup statement prepared
 * once; a lookup borrows one, so concurrent lookups never wait for each
 * other and never prepare SQL. Thread-safe.
 */
struct key_lookup;

/* Opens a lookup on the database file path (whose replica tables exist).
 * The caller owns *out and frees it with key_lookup_close(). Returns 0, or
 * -1 (logged). */
int key_lookup_open(const char *path, struct key_lookup **out);

/* Finds the key whose text is the len bytes at key and fills *cred. */
void key_lookup_find(struct key_lookup *kl, const char *key, size_t len, struct credential *cred);

/* Closes every connection of kl and frees it. Accepts NULL. No lookup may
 * be running. */
void key_lookup_close(struct key_lookup *kl);

#endif
