#include "credentials_follow.h"

#include "credentials.h"
#include "feedreader.h"
#include "log.h"
#include "schema.h"

#include <stdio.h>

const char *const credentials_event_types[] = {
    "CustomerRegistered", "UserAdded",      "LoginKeyIssued",   "LoginKeyRevoked",
    "UserRemoved",        "CustomerLocked", "CustomerUnlocked", NULL,
};

/* Reads the required fields names[0..n) of e into values; on a missing or
 * empty one writes why and returns -1. */
static int required(const struct fr_entry *e, const char *const *names, const char **values, int n,
                    char *why, size_t why_size)
{
    for (int i = 0; i < n; i++) {
        values[i] = fr_entry_field(e, names[i]);
        if (!values[i] || !values[i][0]) {
            snprintf(why, why_size, "%s at position %lld has no %s", e->type,
                     (long long)e->position, names[i]);
            return -1;
        }
    }
    return 0;
}

/* Refuses e when sha is not a SHA-256 in hex. */
static int check_sha(const struct fr_entry *e, const char *sha, char *why, size_t why_size)
{
    if (credentials_is_sha256_hex(sha))
        return 0;
    snprintf(why, why_size, "%s at position %lld: keySha256 is not 64 hex digits", e->type,
             (long long)e->position);
    return -1;
}

/* The answer of a handler whose database call returned rc. */
static int applied(int rc, const struct fr_entry *e, char *why, size_t why_size)
{
    if (rc != 0)
        snprintf(why, why_size, "database error applying %s at position %lld", e->type,
                 (long long)e->position);
    return rc != 0;
}

static int on_customer_registered(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                                  void *userdata)
{
    static const char *const names[] = {"customerId"};
    const char *v[1];

    (void)userdata;
    if (required(e, names, v, 1, why, why_size))
        return 1;
    return applied(credentials_apply_customer_registered(db, v[0], fr_entry_field(e, "name"),
                                                         fr_entry_field(e, "plan")),
                   e, why, why_size);
}

static int on_user_added(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                         void *userdata)
{
    static const char *const names[] = {"customerId", "userId", "keyId", "keySha256"};
    const char *v[4];

    (void)userdata;
    if (required(e, names, v, 4, why, why_size) || check_sha(e, v[3], why, why_size))
        return 1;
    return applied(
        credentials_apply_user_added(db, v[0], v[1], fr_entry_field(e, "email"), v[2], v[3]), e,
        why, why_size);
}

static int on_key_issued(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                         void *userdata)
{
    static const char *const names[] = {"customerId", "userId", "keyId", "keySha256"};
    const char *v[4];

    (void)userdata;
    if (required(e, names, v, 4, why, why_size) || check_sha(e, v[3], why, why_size))
        return 1;
    return applied(credentials_apply_key_issued(db, v[0], v[1], v[2], v[3]), e, why, why_size);
}

static int on_key_revoked(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                          void *userdata)
{
    static const char *const names[] = {"userId", "keyId"};
    const char *v[2];

    (void)userdata;
    if (required(e, names, v, 2, why, why_size))
        return 1;
    return applied(credentials_apply_key_revoked(db, v[0], v[1]), e, why, why_size);
}

static int on_user_removed(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                           void *userdata)
{
    static const char *const names[] = {"customerId", "userId"};
    const char *v[2];

    (void)userdata;
    if (required(e, names, v, 2, why, why_size))
        return 1;
    return applied(credentials_apply_user_removed(db, v[0], v[1]), e, why, why_size);
}

static int on_customer_locked(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                              void *userdata)
{
    static const char *const names[] = {"customerId"};
    const char *v[1];
    const char *reason;

    (void)userdata;
    if (required(e, names, v, 1, why, why_size))
        return 1;
    reason = fr_entry_field(e, "reason");
    return applied(
        credentials_apply_customer_locked(db, v[0], reason && *reason ? reason : "manual"), e, why,
        why_size);
}

static int on_customer_unlocked(const struct fr_entry *e, sqlite3 *db, char *why, size_t why_size,
                                void *userdata)
{
    static const char *const names[] = {"customerId"};
    const char *v[1];

    (void)userdata;
    if (required(e, names, v, 1, why, why_size))
        return 1;
    return applied(credentials_apply_customer_unlocked(db, v[0]), e, why, why_size);
}

int credentials_follow_setup(struct fr_follower *f, sqlite3 *db, void *userdata)
{
    static fr_handler_fn *const handlers[] = {
        on_customer_registered, on_user_added,      on_key_issued,        on_key_revoked,
        on_user_removed,        on_customer_locked, on_customer_unlocked,
    };
    enum fr_error err;

    (void)userdata;
    if (schema_create_replica(db) != 0)
        return -1;
    for (int i = 0; credentials_event_types[i]; i++) {
        err = fr_follower_on(f, credentials_event_types[i], handlers[i], NULL);
        if (err != FR_OK) {
            log_error("cannot register a handler", "type=%s error=\"%s\"",
                      credentials_event_types[i], fr_strerror(err));
            return -1;
        }
    }
    return 0;
}
