#include "credentials_follow.h"

#include "credentials.h"
#include "credit.h"
#include "feedreader.h"
#include "replica.h"
#include "schema.h"

/* The effect of each event type: its required fields' values are v[], in
 * the order the table in credentials_follow_setup() lists them; optional
 * ones are read here. */

static int customer_registered(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    return credentials_apply_customer_registered(db, v[0], fr_entry_field(e, "name"),
                                                 fr_entry_field(e, "plan"));
}

static int user_added(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    return credentials_apply_user_added(db, v[0], v[1], fr_entry_field(e, "email"), v[2], v[3]);
}

static int key_issued(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    (void)e;
    return credentials_apply_key_issued(db, v[0], v[1], v[2], v[3]);
}

static int key_revoked(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    (void)e;
    return credentials_apply_key_revoked(db, v[0], v[1]);
}

static int user_removed(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    (void)e;
    return credentials_apply_user_removed(db, v[0], v[1]);
}

/* A lock without a reason is a manual one. */
static int customer_locked(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    const char *reason = fr_entry_field(e, "reason");

    return credentials_apply_customer_locked(db, v[0], reason && *reason ? reason : "manual");
}

static int customer_unlocked(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    (void)e;
    return credentials_apply_customer_unlocked(db, v[0]);
}

/* The credit left of a customer (credit.h); chargedThrough is optional
 * (empty before any node's usage was charged). */
static int credit_updated(sqlite3 *db, const struct fr_entry *e, const char *const *v)
{
    return credit_apply_update(db, v[0], v[1], v[2], fr_entry_field(e, "chargedThrough")) == 0 ? 0
                                                                                               : -1;
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

    (void)userdata;
    if (schema_create_replica(db) != 0 || schema_create_usage(db) != 0)
        return -1;
    return replica_follow(f, events, sizeof events / sizeof events[0]);
}
