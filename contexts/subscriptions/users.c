#include "users.h"

#include "calendar.h"
#include "customers.h"
#include "db.h"
#include "events.h"
#include "log.h"
#include "publish.h"

#include <stdio.h>
#include <string.h>

int email_valid(const char *email)
{
    const char *at, *dot, *p;
    size_t len;

    if (!email || (len = strlen(email)) == 0 || len > EMAIL_MAX)
        return 0;
    at = strchr(email, '@');
    if (!at || at == email || strchr(at + 1, '@'))
        return 0;
    for (p = email; p < at; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),:;<>[\\]", *p))
            return 0;
    for (p = at + 1; *p; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                 (*p >= '0' && *p <= '9') || *p == '-' || *p == '.';
        if (!ok || (*p == '.' && (p[1] == '.' || p[1] == '\0' || p == at + 1)))
            return 0;
    }
    dot = strrchr(at + 1, '.');
    return dot != NULL && at[1] != '-';
}

/* Checks that user_id is a current user of customer_id. */
static enum sub_result find_user(sqlite3 *db, const char *customer_id, const char *user_id,
                                 char *why, size_t why_size)
{
    struct customer_state state;
    enum sub_result r = customer_load(db, customer_id, &state, why, why_size);
    long long n;
    int rc;

    if (r != SUB_OK)
        return r;
    n = db_int(db, &rc, 0,
               "SELECT count(*) FROM users WHERE id = ?1 AND customer_id = ?2 AND removed_at IS NULL",
               "tt", user_id, customer_id);
    if (rc != SQLITE_ROW)
        return sub_fail(SUB_ERROR, why, why_size, "the database failed; try again");
    if (n == 0)
        return sub_fail(SUB_NOT_FOUND, why, why_size, "customer %s has no user with id %s",
                        customer_id, user_id);
    return SUB_OK;
}

/* Makes a key for out->user_id and appends its key_issued event. */
static enum sub_result new_key_event(sqlite3 *db, const char *author, const char *customer_id,
                                     const char *at, struct new_key *out, char *why,
                                     size_t why_size)
{
    struct event_data d;
    enum sub_result r;

    if (sub_id_new('k', out->key_id) != 0 || login_key_new(out->login_key, out->key_sha256) != 0)
        return sub_fail(SUB_ERROR, why, why_size, "no random bytes from the OS; try again");
    event_data_init(&d);
    event_data_str(&d, "user_id", out->user_id);
    event_data_str(&d, "key_id", out->key_id);
    event_data_str(&d, "key_sha256", out->key_sha256);
    r = event_append(db, "key_issued", customer_id, at, NULL, event_data_json(&d), author);
    event_data_release(&d);
    return r;
}

enum sub_result user_add(sqlite3 *db, const char *author, const char *customer_id,
                         const char *email, struct new_key *out, char *why, size_t why_size)
{
    struct customer_state state;
    char at[SUB_TIME_SIZE];
    struct event_data d;
    enum sub_result r;
    long long taken;
    int rc;

    memset(out, 0, sizeof *out);
    if (!email || !*email)
        return sub_fail(SUB_INVALID, why, why_size, "email: give the user's email address");
    if (!email_valid(email))
        return sub_fail(SUB_INVALID, why, why_size,
                        "email: an address like name@example.com (an @ and a domain)");
    if (sub_id_new('u', out->user_id) != 0)
        return sub_fail(SUB_ERROR, why, why_size, "no random bytes from the OS; try again");
    sub_time_format(sub_clock_now(), at);
    event_data_init(&d);
    event_data_str(&d, "user_id", out->user_id);
    event_data_str(&d, "email", email);

    r = events_begin(db);
    if (r == SUB_OK)
        r = customer_load(db, customer_id, &state, why, why_size);
    if (r == SUB_OK) {
        taken = db_int(db, &rc, 0,
                       "SELECT count(*) FROM users WHERE customer_id = ?1 AND removed_at IS NULL"
                       " AND email = ?2 COLLATE NOCASE",
                       "tt", customer_id, email);
        if (rc != SQLITE_ROW)
            r = SUB_ERROR;
        else if (taken)
            r = sub_fail(SUB_CONFLICT, why, why_size,
                         "email: %s is already a user of this customer", email);
    }
    if (r == SUB_OK)
        r = event_append(db, "user_added", customer_id, at, NULL, event_data_json(&d), author);
    if (r == SUB_OK)
        r = new_key_event(db, author, customer_id, at, out, why, why_size);
    if (r == SUB_OK)
        r = publish(db, "UserAdded", at, "customerId", customer_id, "userId", out->user_id,
                    "email", email, "keyId", out->key_id, "keySha256", out->key_sha256, NULL);
    r = events_end(db, r);
    event_data_release(&d);
    if (r == SUB_OK)
        log_info("user added", "customer=%s user=%s key=%s by=%s", customer_id, out->user_id,
                 out->key_id, author);
    else
        memset(out->login_key, 0, sizeof out->login_key);
    if (r == SUB_ERROR)
        sub_fail(r, why, why_size, "the database failed; try again");
    return r;
}

enum sub_result key_issue(sqlite3 *db, const char *author, const char *customer_id,
                          const char *user_id, struct new_key *out, char *why, size_t why_size)
{
    char at[SUB_TIME_SIZE];
    enum sub_result r;

    memset(out, 0, sizeof *out);
    snprintf(out->user_id, sizeof out->user_id, "%s", user_id);
    sub_time_format(sub_clock_now(), at);
    r = events_begin(db);
    if (r == SUB_OK)
        r = find_user(db, customer_id, user_id, why, why_size);
    if (r == SUB_OK)
        r = new_key_event(db, author, customer_id, at, out, why, why_size);
    if (r == SUB_OK)
        r = publish(db, "LoginKeyIssued", at, "customerId", customer_id, "userId", user_id,
                    "keyId", out->key_id, "keySha256", out->key_sha256, NULL);
    r = events_end(db, r);
    if (r == SUB_OK)
        log_info("key issued", "customer=%s user=%s key=%s by=%s", customer_id, user_id,
                 out->key_id, author);
    else
        memset(out->login_key, 0, sizeof out->login_key);
    if (r == SUB_ERROR)
        sub_fail(r, why, why_size, "the database failed; try again");
    return r;
}

enum sub_result key_revoke(sqlite3 *db, const char *author, const char *customer_id,
                           const char *user_id, const char *key_id, char *why, size_t why_size)
{
    char at[SUB_TIME_SIZE];
    struct event_data d;
    enum sub_result r;
    long long n;
    int rc;

    sub_time_format(sub_clock_now(), at);
    event_data_init(&d);
    event_data_str(&d, "user_id", user_id);
    event_data_str(&d, "key_id", key_id);
    r = events_begin(db);
    if (r == SUB_OK)
        r = find_user(db, customer_id, user_id, why, why_size);
    if (r == SUB_OK) {
        n = db_int(db, &rc, 0,
                   "SELECT count(*) FROM login_keys WHERE id = ?1 AND user_id = ?2"
                   " AND customer_id = ?3 AND revoked_at IS NULL",
                   "ttt", key_id, user_id, customer_id);
        if (rc != SQLITE_ROW)
            r = SUB_ERROR;
        else if (n == 0)
            r = sub_fail(SUB_NOT_FOUND, why, why_size, "user %s has no valid key with id %s",
                         user_id, key_id);
    }
    if (r == SUB_OK)
        r = event_append(db, "key_revoked", customer_id, at, NULL, event_data_json(&d), author);
    if (r == SUB_OK)
        r = publish(db, "LoginKeyRevoked", at, "customerId", customer_id, "userId", user_id,
                    "keyId", key_id, NULL);
    r = events_end(db, r);
    event_data_release(&d);
    if (r == SUB_OK)
        log_info("key revoked", "customer=%s user=%s key=%s by=%s", customer_id, user_id, key_id,
                 author);
    if (r == SUB_ERROR)
        sub_fail(r, why, why_size, "the database failed; try again");
    return r;
}

enum sub_result user_remove(sqlite3 *db, const char *author, const char *customer_id,
                            const char *user_id, char *why, size_t why_size)
{
    char at[SUB_TIME_SIZE];
    struct event_data d;
    enum sub_result r;

    sub_time_format(sub_clock_now(), at);
    event_data_init(&d);
    event_data_str(&d, "user_id", user_id);
    r = events_begin(db);
    if (r == SUB_OK)
        r = find_user(db, customer_id, user_id, why, why_size);
    if (r == SUB_OK)
        r = event_append(db, "user_removed", customer_id, at, NULL, event_data_json(&d), author);
    if (r == SUB_OK)
        r = publish(db, "UserRemoved", at, "customerId", customer_id, "userId", user_id, NULL);
    r = events_end(db, r);
    event_data_release(&d);
    if (r == SUB_OK)
        log_info("user removed", "customer=%s user=%s by=%s", customer_id, user_id, author);
    if (r == SUB_ERROR)
        sub_fail(r, why, why_size, "the database failed; try again");
    return r;
}

enum sub_result user_set_admin(sqlite3 *db, const char *author, const char *customer_id,
                               const char *user_id, int admin, char *why, size_t why_size)
{
    char at[SUB_TIME_SIZE];
    struct event_data d;
    enum sub_result r;
    long long now;
    int rc;

    if (admin != 0 && admin != 1)
        return sub_fail(SUB_INVALID, why, why_size, "admin: 1 (an administrator) or 0 (not)");
    sub_time_format(sub_clock_now(), at);
    event_data_init(&d);
    event_data_str(&d, "user_id", user_id);
    event_data_int(&d, "admin", admin);
    r = events_begin(db);
    if (r == SUB_OK)
        r = find_user(db, customer_id, user_id, why, why_size);
    if (r == SUB_OK) {
        now = db_int(db, &rc, 0, "SELECT is_admin FROM users WHERE id = ?1", "t", user_id);
        if (rc != SQLITE_ROW)
            r = SUB_ERROR;
        else if (now != admin)
            r = event_append(db, "user_admin_set", customer_id, at, NULL, event_data_json(&d),
                             author);
    }
    r = events_end(db, r);
    event_data_release(&d);
    if (r == SUB_OK)
        log_info("user administrator set", "customer=%s user=%s admin=%d by=%s", customer_id,
                 user_id, admin, author);
    if (r == SUB_ERROR)
        sub_fail(r, why, why_size, "the database failed; try again");
    return r;
}
