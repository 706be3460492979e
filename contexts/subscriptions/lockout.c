#include "lockout.h"

#include "customers.h"
#include "events.h"
#include "log.h"
#include "publish.h"

#include <string.h>

enum sub_result lockout_lock(sqlite3 *db, const char *author, const char *id, const char *reason,
                             const char *at)
{
    struct event_data d;
    enum sub_result r;

    event_data_init(&d);
    event_data_str(&d, "reason", reason);
    r = event_append(db, "customer_locked", id, at, NULL, event_data_json(&d), author);
    if (r == SUB_OK)
        r = publish(db, "CustomerLocked", at, "customerId", id, "reason", reason, NULL);
    event_data_release(&d);
    if (r == SUB_OK)
        log_info("customer locked", "id=%s reason=%s by=%s", id, reason, author);
    return r;
}

enum sub_result lockout_unlock(sqlite3 *db, const char *author, const char *id, const char *reason,
                               const char *at)
{
    struct event_data d;
    enum sub_result r;

    event_data_init(&d);
    event_data_str(&d, "reason", reason);
    r = event_append(db, "customer_unlocked", id, at, NULL, event_data_json(&d), author);
    if (r == SUB_OK)
        r = publish(db, "CustomerUnlocked", at, "customerId", id, NULL);
    event_data_release(&d);
    if (r == SUB_OK)
        log_info("customer unlocked", "id=%s reason=%s by=%s", id, reason, author);
    return r;
}

enum sub_result lockout_after_charge(sqlite3 *db, const char *author, const char *id,
                                     const char *at)
{
    struct customer_state s;
    enum sub_result r = customer_load(db, id, &s, NULL, 0);

    if (r == SUB_OK && !s.lock_reason[0] && s.balance_cents < -s.credit_limit_cents)
        r = lockout_lock(db, author, id, "overdraft", at);
    return r;
}

enum sub_result lockout_after_payment(sqlite3 *db, const char *author, const char *id,
                                      const char *at)
{
    struct customer_state s;
    enum sub_result r = customer_load(db, id, &s, NULL, 0);

    if (r == SUB_OK && strcmp(s.lock_reason, "overdraft") == 0 &&
        s.balance_cents >= -s.credit_limit_cents)
        r = lockout_unlock(db, author, id, "payment", at);
    return r;
}
