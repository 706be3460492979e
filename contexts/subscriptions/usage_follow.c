#include "usage_follow.h"

#include "billing.h"
#include "credit.h"
#include "log.h"
#include "schema.h"

#include <feedreader.h>
#include <stdio.h>

/* Applies one UsageRecorded entry inside the follower's transaction. Only a
 * database failure refuses it, and the whole document is rolled back: a busy
 * or locked database is retried by the follower (billing returns at the
 * first failed statement, so sqlite3_errcode() still tells it), any other
 * failure stops it. An entry that cannot be charged is recorded as unbilled
 * and accepted. */
static int on_usage(const struct fr_entry *entry, sqlite3 *db, char *why, size_t why_size,
                    void *userdata)
{
    struct usage_record u = {
        .entry_id = entry->id,
        .updated = entry->updated,
        .customer_id = fr_entry_field(entry, "customerId"),
        .user_id = fr_entry_field(entry, "userId"),
        .key_id = fr_entry_field(entry, "keyId"),
        .units = fr_entry_field(entry, "units"),
        .window_start = fr_entry_field(entry, "windowStart"),
        .window_end = fr_entry_field(entry, "windowEnd"),
        .node = fr_entry_field(entry, "node"),
    };
    enum usage_outcome outcome;

    (void)userdata;
    if (credit_node_applied(db, u.node, (long long)entry->position) != SUB_OK ||
        billing_charge_usage(db, &u, &outcome) != SUB_OK) {
        snprintf(why, why_size, "cannot charge usage entry %s at position %lld: database error",
                 entry->id ? entry->id : "?", (long long)entry->position);
        return -1;
    }
    return 0;
}

int usage_follow_setup(struct fr_follower *f, sqlite3 *db, void *userdata)
{
    enum fr_error err;

    (void)userdata;
    if (schema_create(db) != 0)
        return -1;
    err = fr_follower_on(f, "UsageRecorded", on_usage, NULL);
    if (err != FR_OK) {
        log_error("cannot handle UsageRecorded", "error=\"%s\"", fr_strerror(err));
        return -1;
    }
    return 0;
}
