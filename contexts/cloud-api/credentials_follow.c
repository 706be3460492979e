#include "credentials_follow.h"

#include "credentials.h"
#include "credentials_bulk.h"
#include "credit.h"
#include "feedreader.h"
#include "replica.h"
#include "schema.h"

#include <stdio.h>

/* The effect of each event type: its required fields' values are v[], in
 * the order the table in credentials_follow_setup() lists them; optional
 * ones are read here. While the replica is built in bulk
 * (credentials_bulk.h) the replica's events are staged instead. */

static int customer_registered(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    if (credentials_bulk_on(db))
        return credentials_bulk_stage(db, BULK_CUSTOMER_REGISTERED, e->position, v[0], NULL, NULL,
                                      NULL, fr_entry_field(e, "name"), fr_entry_field(e, "plan"));
    return credentials_apply_customer_registered(db, v[0], fr_entry_field(e, "name"),
                                                 fr_entry_field(e, "plan"));
}

static int user_added(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    if (credentials_bulk_on(db))
        return credentials_bulk_stage(db, BULK_USER_ADDED, e->position, v[0], v[1], v[2], v[3],
                                      fr_entry_field(e, "email"), NULL);
    return credentials_apply_user_added(db, v[0], v[1], fr_entry_field(e, "email"), v[2], v[3]);
}

static int key_issued(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    if (credentials_bulk_on(db))
        return credentials_bulk_stage(db, BULK_KEY_ISSUED, e->position, v[0], v[1], v[2], v[3],
                                      NULL, NULL);
    return credentials_apply_key_issued(db, v[0], v[1], v[2], v[3]);
}

static int key_revoked(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    if (credentials_bulk_on(db))
        return credentials_bulk_stage(db, BULK_KEY_REVOKED, e->position, NULL, v[0], v[1], NULL,
                                      NULL, NULL);
    return credentials_apply_key_revoked(db, v[0], v[1]);
}

static int user_removed(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    if (credentials_bulk_on(db))
        return credentials_bulk_stage(db, BULK_USER_REMOVED, e->position, v[0], v[1], NULL, NULL,
                                      NULL, NULL);
    return credentials_apply_user_removed(db, v[0], v[1]);
}

/* A lock without a reason is a manual one. */
static int customer_locked(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    const char *reason = fr_entry_field(e, "reason");

    if (!reason || !*reason)
        reason = "manual";
    if (credentials_bulk_on(db))
        return credentials_bulk_stage(db, BULK_CUSTOMER_LOCKED, e->position, v[0], NULL, NULL, NULL,
                                      reason, NULL);
    return credentials_apply_customer_locked(db, v[0], reason);
}

static int customer_unlocked(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    if (credentials_bulk_on(db))
        return credentials_bulk_stage(db, BULK_CUSTOMER_UNLOCKED, e->position, v[0], NULL, NULL,
                                      NULL, NULL, NULL);
    return credentials_apply_customer_unlocked(db, v[0]);
}

/* The credit left of a customer (credit.h); chargedThrough is optional
 * (empty before any node's usage was charged). */
static int credit_updated(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    return credit_apply_update(db, v[0], v[1], v[2], fr_entry_field(e, "chargedThrough")) == 0 ? 0
                                                                                               : -1;
}

/* The head hook: a replica staged while far behind is built once the
 * follower is at the head. A busy database (or one that cannot be written
 * now) is retried after the follower's back-off. */
static int at_head(sqlite3 *db, int64_t position, char *why, size_t why_size, void *userdata)
{
    int rc;

    (void)userdata;
    if (!credentials_bulk_on(db))
        return FR_HANDLER_OK;
    rc = credentials_bulk_build(db) & 0xff;
    if (rc == SQLITE_OK)
        return FR_HANDLER_OK;
    snprintf(why, why_size, "building the credential replica at position %lld: %s",
             (long long)position, sqlite3_errstr(rc));
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_FULL || rc == SQLITE_IOERR
               ? FR_HANDLER_RETRY
               : FR_HANDLER_REFUSE;
}

int credentials_follow_setup(struct fr_follower *f, sqlite3 *db, void *userdata)
{
    static const struct replica_event events[] = {
        {"CustomerRegistered", {"customerId"}, customer_registered},
        {"UserAdded", {"customerId", "userId", "keyId", "keySha256"}, user_added},
        {"LoginKeyIssued", {"customerId", "userId", "keyId", "keySha256"}, key_issued},
        {"LoginKeyRevoked", {"userId", "keyId"}, key_revoked},
        {"UserRemoved", {"customerId", "userId"}, user_removed},
        {"CustomerLocked", {"customerId"}, customer_locked},
        {"CustomerUnlocked", {"customerId"}, customer_unlocked},
        {"CreditUpdated", {"customerId", "creditLeftCents", "unitPriceCents"}, credit_updated},
    };

    const struct credentials_follow_options *o = userdata;

    if (schema_create_replica(db) != 0 || schema_create_usage(db) != 0)
        return -1;
    if (credentials_bulk_start(db, fr_follower_position(f), !(o && o->one_at_a_time)) < 0)
        return -1;
    if (fr_follower_at_head(f, at_head, NULL) != FR_OK)
        return -1;
    return replica_follow(f, events, sizeof events / sizeof events[0]);
}
