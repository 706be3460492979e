/*
 * check_subscriptions - the domain rules of Subscriptions against a
 * temporary database, without HTTP: keys and ids, registration, users and
 * keys, balance arithmetic, overdraft lock and unlock, usage charged once,
 * invoices and plan changes, month closing, rebuild equal to live, and the
 * published entries.
 */
#include "billing.h"
#include "calendar.h"
#include "customers.h"
#include "db.h"
#include "events.h"
#include "invoices.h"
#include "login_keys.h"
#include "schema.h"
#include "strbuf.h"
#include "testkit.h"
#include "users.h"
#include "views.h"

#include <check.h>
#include <feedserver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The author of the changes the tests make. */
#define BY "operator:token-1"

static char *dir;
static sqlite3 *db;

static time_t at_utc(int year, int month, int day)
{
    struct tm tm = {0};

    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = 12;
    return timegm(&tm);
}

static void setup(void)
{
    char *path;

    dir = tk_tempdir();
    path = tk_path(dir, "s.db");
    ck_assert_int_eq(fs_db_open(path, &db), FS_OK);
    ck_assert_int_eq(schema_create(db), 0);
    free(path);
    sub_clock_set(at_utc(2026, 3, 15));
}

static void teardown(void)
{
    sqlite3_close(db);
    tk_rmtree(dir);
    free(dir);
    sub_clock_set(0);
}

static void new_customer(const char *plan, const long long *limit, char id[SUB_ID_SIZE])
{
    char why[256] = "";

    ck_assert_msg(customer_register(db, BY, "Acme", plan, limit, id, why, sizeof why) == SUB_OK, "%s",
                  why);
}

static long long balance(const char *id)
{
    return db_int(db, NULL, -999999, "SELECT balance_cents FROM customers WHERE id = ?1", "t", id);
}

static char *lock_reason(const char *id)
{
    static char reason[32];
    char *r = db_text(db, NULL, "SELECT coalesce(lock_reason, '') FROM customers WHERE id = ?1",
                      "t", id);

    snprintf(reason, sizeof reason, "%s", r ? r : "?");
    free(r);
    return reason;
}

/* Charges units to id in a transaction as the follower would, with entry
 * id entry and a window starting at window_start; returns the outcome. */
static enum usage_outcome charge(const char *id, const char *entry, const char *units,
                                 const char *window_start)
{
    struct usage_record u = {.entry_id = entry, .customer_id = id, .user_id = "u_x",
                             .key_id = "k_x", .units = units, .window_start = window_start,
                             .window_end = window_start, .node = "n1"};
    enum usage_outcome outcome = USAGE_UNBILLED;

    ck_assert_int_eq(events_begin(db), SUB_OK);
    ck_assert_int_eq(billing_charge_usage(db, &u, &outcome), SUB_OK);
    ck_assert_int_eq(events_end(db, SUB_OK), SUB_OK);
    return outcome;
}

struct feed_tally {
    char types[4096];
};

static int tally_entry(const struct fs_entry *e, void *userdata)
{
    struct feed_tally *t = userdata;
    size_t n = strlen(t->types);

    snprintf(t->types + n, sizeof t->types - n, "%s%s", n ? " " : "", e->type);
    return 0;
}

/* The types of the published entries, space-separated, in feed order. */
static const char *published(void)
{
    static struct feed_tally t;

    t.types[0] = '\0';
    ck_assert_int_eq(fs_feed_read(db, SUB_FEED, 1, INT64_MAX, tally_entry, &t), FS_OK);
    return t.types;
}

START_TEST(test_base64url_and_sha256)
{
    const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    char out[16], hex[KEY_SHA256_SIZE], key[LOGIN_KEY_SIZE], again[KEY_SHA256_SIZE];

    ck_assert_uint_eq(base64url_encode(bytes, 3, out), 4);
    ck_assert_str_eq(out, "-_-_");
    ck_assert_uint_eq(base64url_encode(bytes, 2, out), 3);
    ck_assert_str_eq(out, "-_8");
    ck_assert_uint_eq(base64url_encode((const unsigned char *)"f", 1, out), 2);
    ck_assert_str_eq(out, "Zg");
    ck_assert_int_eq(key_sha256_hex("abc", hex), 0);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    ck_assert_int_eq(login_key_new(key, hex), 0);
    ck_assert_uint_eq(strlen(key), 43);
    ck_assert_uint_eq(strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                      43);
    ck_assert_int_eq(key_sha256_hex(key, again), 0);
    ck_assert_str_eq(hex, again);
}
END_TEST

START_TEST(test_months)
{
    char m[SUB_MONTH_SIZE];

    ck_assert(sub_month_valid("2026-11"));
    ck_assert(!sub_month_valid("2026-13"));
    ck_assert(!sub_month_valid("2026-1"));
    ck_assert(!sub_month_valid("26-11-01"));
    sub_month_next("2026-12", m);
    ck_assert_str_eq(m, "2027-01");
    ck_assert_int_eq(sub_month_of_time("2026-05-31T23:59:59Z", m), 0);
    ck_assert_str_eq(m, "2026-05");
    ck_assert_int_eq(sub_month_of_time("yesterday", m), -1);
}
END_TEST

START_TEST(test_email_rules)
{
    ck_assert(email_valid("ada@example.com"));
    ck_assert(email_valid("a.b+c@mail.example.org"));
    ck_assert(!email_valid("ada"));
    ck_assert(!email_valid("ada@"));
    ck_assert(!email_valid("@example.com"));
    ck_assert(!email_valid("ada@localhost"));
    ck_assert(!email_valid("ada@@example.com"));
    ck_assert(!email_valid("a da@example.com"));
    ck_assert(!email_valid("ada@example..com"));
    ck_assert(!email_valid("ada@example.com."));
}
END_TEST

START_TEST(test_register_validates)
{
    char id[SUB_ID_SIZE], why[256];
    long long bad = -1, good = 5000;

    ck_assert_int_eq(customer_register(db, BY, "", NULL, NULL, id, why, sizeof why), SUB_INVALID);
    ck_assert_int_eq(customer_register(db, BY, "   ", NULL, NULL, id, why, sizeof why), SUB_INVALID);
    ck_assert_int_eq(customer_register(db, BY, NULL, NULL, NULL, id, why, sizeof why), SUB_INVALID);
    ck_assert_int_eq(customer_register(db, BY, "A", "gold", NULL, id, why, sizeof why), SUB_INVALID);
    ck_assert_ptr_nonnull(strstr(why, "payg"));
    ck_assert_int_eq(customer_register(db, BY, "A", NULL, &bad, id, why, sizeof why), SUB_INVALID);
    ck_assert_int_eq(customer_register(db, BY, "A", "team", &good, id, why, sizeof why), SUB_OK);
    ck_assert_str_eq(published(), "CustomerRegistered");
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT credit_limit_cents FROM customers", ""), 5000);
    ck_assert_uint_eq(strlen(id), 18);
}
END_TEST

START_TEST(test_users_and_keys)
{
    char c[SUB_ID_SIZE], why[256];
    struct new_key k1, k2, k3;

    new_customer(NULL, NULL, c);
    ck_assert_int_eq(user_add(db, BY, c, "nope", &k1, why, sizeof why), SUB_INVALID);
    ck_assert_int_eq(user_add(db, BY, "c_unknown", "ada@example.com", &k1, why, sizeof why),
                     SUB_NOT_FOUND);
    ck_assert_int_eq(user_add(db, BY, c, "ada@example.com", &k1, why, sizeof why), SUB_OK);
    ck_assert_uint_eq(strlen(k1.login_key), 43);
    ck_assert_int_eq(user_add(db, BY, c, "ADA@example.com", &k2, why, sizeof why), SUB_CONFLICT);
    ck_assert_int_eq(key_issue(db, BY, c, k1.user_id, &k2, why, sizeof why), SUB_OK);
    ck_assert_str_ne(k1.key_id, k2.key_id);
    ck_assert_int_eq(key_issue(db, BY, c, "u_unknown", &k3, why, sizeof why), SUB_NOT_FOUND);
    ck_assert_int_eq(key_revoke(db, BY, c, k1.user_id, k1.key_id, why, sizeof why), SUB_OK);
    ck_assert_int_eq(key_revoke(db, BY, c, k1.user_id, k1.key_id, why, sizeof why), SUB_NOT_FOUND);
    ck_assert_int_eq(key_revoke(db, BY, c, k1.user_id, "k_unknown", why, sizeof why), SUB_NOT_FOUND);
    ck_assert_int_eq(user_remove(db, BY, c, k1.user_id, why, sizeof why), SUB_OK);
    ck_assert_int_eq(user_remove(db, BY, c, k1.user_id, why, sizeof why), SUB_NOT_FOUND);
    ck_assert_int_eq(db_int(db, NULL, -1,
                            "SELECT count(*) FROM login_keys WHERE revoked_at IS NULL", ""),
                     0);
    /* The email is free again once its user is removed. */
    ck_assert_int_eq(user_add(db, BY, c, "ada@example.com", &k3, why, sizeof why), SUB_OK);
    ck_assert_str_eq(published(), "CustomerRegistered UserAdded LoginKeyIssued LoginKeyRevoked "
                                  "UserRemoved UserAdded");
    /* Only hashes are kept: no plain key anywhere in the events or keys. */
    ck_assert_int_eq(db_int(db, NULL, -1,
                            "SELECT count(*) FROM domain_events WHERE instr(data, ?1) > 0", "t",
                            k3.login_key),
                     0);
    ck_assert_int_eq(db_int(db, NULL, -1,
                            "SELECT count(*) FROM login_keys WHERE key_sha256 = ?1", "t",
                            k3.key_sha256),
                     1);
}
END_TEST

START_TEST(test_balance_arithmetic)
{
    char c[SUB_ID_SIZE], why[256];

    new_customer("payg", NULL, c);
    ck_assert_int_eq(charge(c, "urn:uuid:1", "300", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_int_eq(balance(c), -300);
    ck_assert_int_eq(billing_pay(db, BY, c, 500, why, sizeof why), SUB_OK);
    ck_assert_int_eq(balance(c), 200);
    ck_assert_int_eq(billing_pay(db, BY, c, 0, why, sizeof why), SUB_INVALID);
    ck_assert_int_eq(billing_pay(db, BY, c, -5, why, sizeof why), SUB_INVALID);
    ck_assert_int_eq(billing_pay(db, BY, "c_unknown", 5, why, sizeof why), SUB_NOT_FOUND);
    ck_assert_int_eq(charge(c, "urn:uuid:2", "0", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_int_eq(balance(c), 200);
    ck_assert_int_eq(db_int(db, NULL, 0,
                            "SELECT units FROM monthly_usage WHERE customer_id = ?1"
                            " AND month = '2026-03'",
                            "t", c),
                     300);
}
END_TEST

START_TEST(test_usage_charged_once)
{
    char c[SUB_ID_SIZE];

    new_customer(NULL, NULL, c);
    ck_assert_int_eq(charge(c, "urn:uuid:same", "40", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_int_eq(charge(c, "urn:uuid:same", "40", "2026-03-15T10:00:00Z"), USAGE_DUPLICATE);
    ck_assert_int_eq(balance(c), -40);
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT count(*) FROM ledger", ""), 1);
}
END_TEST

START_TEST(test_usage_that_cannot_be_charged)
{
    char c[SUB_ID_SIZE];

    new_customer(NULL, NULL, c);
    ck_assert_int_eq(charge("c_unknown", "urn:uuid:a", "5", "2026-03-15T10:00:00Z"),
                     USAGE_UNBILLED);
    ck_assert_int_eq(charge(c, "urn:uuid:b", "-5", "2026-03-15T10:00:00Z"), USAGE_UNBILLED);
    ck_assert_int_eq(charge(c, "urn:uuid:c", "many", "2026-03-15T10:00:00Z"), USAGE_UNBILLED);
    ck_assert_int_eq(charge(c, "urn:uuid:c", "many", "2026-03-15T10:00:00Z"), USAGE_DUPLICATE);
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT count(*) FROM unbilled_usage", ""), 3);
    ck_assert_int_eq(balance(c), 0);
    /* A bad windowStart counts in the current month. */
    ck_assert_int_eq(charge(c, "urn:uuid:d", "7", "garbage"), USAGE_CHARGED);
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT units FROM monthly_usage WHERE month = '2026-03'",
                            ""),
                     7);
}
END_TEST

START_TEST(test_overdraft_lock_and_payment_unlock)
{
    char c[SUB_ID_SIZE], why[256];

    new_customer("payg", NULL, c);
    ck_assert_int_eq(charge(c, "urn:uuid:1", "1000", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_str_eq(lock_reason(c), ""); /* -1000 is not below -1000 */
    ck_assert_int_eq(charge(c, "urn:uuid:2", "1", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_str_eq(lock_reason(c), "overdraft");
    ck_assert_int_eq(charge(c, "urn:uuid:3", "50", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_int_eq(balance(c), -1051);
    ck_assert_str_eq(published(), "CustomerRegistered CustomerLocked");
    ck_assert_int_eq(billing_pay(db, BY, c, 50, why, sizeof why), SUB_OK);
    ck_assert_str_eq(lock_reason(c), "overdraft"); /* -1001: still past the limit */
    ck_assert_int_eq(billing_pay(db, BY, c, 1, why, sizeof why), SUB_OK);
    ck_assert_str_eq(lock_reason(c), ""); /* -1000: back within */
    ck_assert_str_eq(published(), "CustomerRegistered CustomerLocked CustomerUnlocked");
}
END_TEST

START_TEST(test_custom_credit_limit)
{
    char c[SUB_ID_SIZE];
    long long limit = 0;

    new_customer("payg", &limit, c);
    ck_assert_int_eq(charge(c, "urn:uuid:1", "1", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_str_eq(lock_reason(c), "overdraft");
}
END_TEST

START_TEST(test_manual_lock_only_lifted_by_unlock)
{
    char c[SUB_ID_SIZE], why[256];

    new_customer("payg", NULL, c);
    ck_assert_int_eq(customer_lock(db, BY, c, why, sizeof why), SUB_OK);
    ck_assert_str_eq(lock_reason(c), "manual");
    ck_assert_int_eq(customer_lock(db, BY, c, why, sizeof why), SUB_OK);
    ck_assert_int_eq(billing_pay(db, BY, c, 100, why, sizeof why), SUB_OK);
    ck_assert_str_eq(lock_reason(c), "manual");
    ck_assert_int_eq(charge(c, "urn:uuid:1", "5000", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_str_eq(lock_reason(c), "manual");
    ck_assert_int_eq(billing_pay(db, BY, c, 5000, why, sizeof why), SUB_OK);
    ck_assert_str_eq(lock_reason(c), "manual");
    ck_assert_int_eq(customer_unlock(db, BY, c, why, sizeof why), SUB_OK);
    ck_assert_str_eq(lock_reason(c), "");
    ck_assert_int_eq(customer_unlock(db, BY, c, why, sizeof why), SUB_OK);
    ck_assert_str_eq(published(), "CustomerRegistered CustomerLocked CustomerUnlocked");
    ck_assert_int_eq(customer_lock(db, BY, "c_unknown", why, sizeof why), SUB_NOT_FOUND);
    ck_assert_int_eq(customer_unlock(db, BY, "c_unknown", why, sizeof why), SUB_NOT_FOUND);
}
END_TEST

START_TEST(test_unlock_of_overdrawn_customer)
{
    char c[SUB_ID_SIZE], why[256];

    new_customer("payg", NULL, c);
    ck_assert_int_eq(charge(c, "urn:uuid:1", "2000", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_str_eq(lock_reason(c), "overdraft");
    /* A manual lock over an overdraft lock makes it manual: payments no
     * longer lift it. */
    ck_assert_int_eq(customer_lock(db, BY, c, why, sizeof why), SUB_OK);
    ck_assert_str_eq(lock_reason(c), "manual");
    ck_assert_int_eq(customer_unlock(db, BY, c, why, sizeof why), SUB_OK);
    ck_assert_str_eq(lock_reason(c), "");
    /* Still overdrawn: the next charge locks again. */
    ck_assert_int_eq(charge(c, "urn:uuid:2", "1", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_str_eq(lock_reason(c), "overdraft");
}
END_TEST

START_TEST(test_invoice_fee_plus_usage)
{
    char c[SUB_ID_SIZE], why[256];
    long long issued = 0;

    new_customer("team", NULL, c);
    ck_assert_int_eq(charge(c, "urn:uuid:1", "150", "2026-03-02T10:00:00Z"), USAGE_CHARGED);
    ck_assert_int_eq(charge(c, "urn:uuid:2", "50", "2026-02-28T23:59:50Z"), USAGE_CHARGED);
    ck_assert_int_eq(invoices_close_month(db, "2026-03", &issued, why, sizeof why), SUB_OK);
    ck_assert_int_eq(issued, 1);
    ck_assert_int_eq(db_int(db, NULL, 0,
                            "SELECT fee_cents * 1000000 + units * 1000 + usage_cents FROM invoices"
                            " WHERE customer_id = ?1 AND month = '2026-03'",
                            "t", c),
                     2900LL * 1000000 + 150 * 1000 + 150);
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT total_cents FROM invoices", ""), 3050);
    ck_assert_int_eq(balance(c), -200 - 2900);
    ck_assert_str_eq(lock_reason(c), "");

    /* Closing it again changes nothing. */
    ck_assert_int_eq(invoices_close_month(db, "2026-03", &issued, why, sizeof why), SUB_OK);
    ck_assert_int_eq(issued, -1);
    ck_assert_int_eq(balance(c), -3100);
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT count(*) FROM invoices", ""), 1);

    /* A future month cannot be closed; a malformed one is refused. */
    ck_assert_int_eq(invoices_close_month(db, "2026-04", &issued, why, sizeof why), SUB_INVALID);
    ck_assert_int_eq(invoices_close_month(db, "2026-3", &issued, why, sizeof why), SUB_INVALID);
}
END_TEST

START_TEST(test_fee_may_lock)
{
    char c[SUB_ID_SIZE], why[256];
    long long limit = 2000;

    new_customer("team", &limit, c);
    ck_assert_int_eq(invoices_close_month(db, "2026-03", NULL, why, sizeof why), SUB_OK);
    ck_assert_int_eq(balance(c), -2900);
    ck_assert_str_eq(lock_reason(c), "overdraft");
}
END_TEST

START_TEST(test_usage_in_closed_month_counts_in_next)
{
    char c[SUB_ID_SIZE], why[256];

    new_customer("payg", NULL, c);
    ck_assert_int_eq(invoices_close_month(db, "2026-03", NULL, why, sizeof why), SUB_OK);
    ck_assert_int_eq(charge(c, "urn:uuid:1", "9", "2026-03-31T23:59:59Z"), USAGE_CHARGED);
    ck_assert_int_eq(balance(c), -9);
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT units FROM monthly_usage WHERE month = '2026-04'",
                            ""),
                     9);
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT units FROM invoices WHERE month = '2026-03'", ""),
                     0);
}
END_TEST

START_TEST(test_plan_change_from_next_month)
{
    char c[SUB_ID_SIZE], why[256], from[SUB_MONTH_SIZE];
    long long issued;

    new_customer("payg", NULL, c);
    ck_assert_int_eq(customer_change_plan(db, BY, c, "gold", from, why, sizeof why), SUB_INVALID);
    ck_assert_int_eq(customer_change_plan(db, BY, "c_unknown", "team", from, why, sizeof why),
                     SUB_NOT_FOUND);
    ck_assert_int_eq(customer_change_plan(db, BY, c, "team", from, why, sizeof why), SUB_OK);
    ck_assert_str_eq(from, "2026-04");
    ck_assert_int_eq(invoices_close_month(db, "2026-03", &issued, why, sizeof why), SUB_OK);
    ck_assert_int_eq(db_int(db, NULL, -1, "SELECT fee_cents FROM invoices WHERE month = '2026-03'",
                            ""),
                     0);
    sub_clock_set(at_utc(2026, 4, 30));
    ck_assert_int_eq(invoices_close_month(db, "2026-04", &issued, why, sizeof why), SUB_OK);
    ck_assert_int_eq(db_int(db, NULL, -1, "SELECT fee_cents FROM invoices WHERE month = '2026-04'",
                            ""),
                     2900);
    ck_assert_int_eq(balance(c), -2900);
    ck_assert_str_eq(lock_reason(c), ""); /* team's limit is 10000 */
}
END_TEST

START_TEST(test_close_past_months)
{
    char c[SUB_ID_SIZE], late[SUB_ID_SIZE];

    new_customer("team", NULL, c);
    sub_clock_set(at_utc(2026, 5, 2));
    new_customer("team", NULL, late);
    ck_assert_int_eq(invoices_close_past_months(db), 2);
    ck_assert_int_eq(invoices_close_past_months(db), 0);
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT count(*) FROM closed_months", ""), 2);
    ck_assert_int_eq(balance(c), -5800);
    ck_assert_int_eq(balance(late), 0); /* registered in May: no invoice for March or April */
}
END_TEST

/* Every projection table, every row, as one text. */
static char *dump_projections(void)
{
    struct strbuf sb = STRBUF_INIT;
    char sql[128];

    for (unsigned i = 0; i < SUB_NPROJECTION_TABLES; i++) {
        sqlite3_stmt *st = NULL;

        snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY 1, 2", SUB_PROJECTION_TABLES[i]);
        ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        sb_printf(&sb, "== %s\n", SUB_PROJECTION_TABLES[i]);
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const unsigned char *v = sqlite3_column_text(st, c);
                sb_printf(&sb, "%s|", v ? (const char *)v : "NULL");
            }
            sb_puts(&sb, "\n");
        }
        sqlite3_finalize(st);
    }
    return sb_detach(&sb, NULL);
}

START_TEST(test_rebuild_equals_live)
{
    char c[SUB_ID_SIZE], d[SUB_ID_SIZE], why[256], from[SUB_MONTH_SIZE];
    struct new_key k, k2;
    char *before, *after;

    new_customer("payg", NULL, c);
    new_customer("team", NULL, d);
    ck_assert_int_eq(user_add(db, BY, c, "ada@example.com", &k, why, sizeof why), SUB_OK);
    ck_assert_int_eq(key_issue(db, BY, c, k.user_id, &k2, why, sizeof why), SUB_OK);
    ck_assert_int_eq(key_revoke(db, BY, c, k.user_id, k2.key_id, why, sizeof why), SUB_OK);
    ck_assert_int_eq(user_add(db, BY, d, "bob@example.com", &k, why, sizeof why), SUB_OK);
    ck_assert_int_eq(user_remove(db, BY, d, k.user_id, why, sizeof why), SUB_OK);
    ck_assert_int_eq(charge(c, "urn:uuid:1", "1500", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_int_eq(charge("c_nobody", "urn:uuid:2", "1", "2026-03-15T10:00:00Z"),
                     USAGE_UNBILLED);
    ck_assert_int_eq(billing_pay(db, BY, c, 600, why, sizeof why), SUB_OK);
    ck_assert_int_eq(customer_lock(db, BY, d, why, sizeof why), SUB_OK);
    ck_assert_int_eq(customer_change_plan(db, BY, c, "team", from, why, sizeof why), SUB_OK);
    ck_assert_int_eq(invoices_close_month(db, "2026-03", NULL, why, sizeof why), SUB_OK);
    ck_assert_int_eq(charge(d, "urn:uuid:3", "7", "2026-03-15T10:00:00Z"), USAGE_CHARGED);

    before = dump_projections();
    ck_assert_int_gt(events_rebuild(db), 10);
    after = dump_projections();
    ck_assert_str_eq(before, after);
    ck_assert_ptr_nonnull(strstr(before, "2900"));
    free(before);
    free(after);
}
END_TEST

START_TEST(test_views)
{
    char c[SUB_ID_SIZE], why[256];
    struct new_key k;
    char *json = NULL;

    new_customer("payg", NULL, c);
    ck_assert_int_eq(user_add(db, BY, c, "ada@example.com", &k, why, sizeof why), SUB_OK);
    ck_assert_int_eq(charge(c, "urn:uuid:1", "12", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_int_eq(view_customer(db, c, &json, why, sizeof why), SUB_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"balance_cents\":-12"));
    ck_assert_ptr_nonnull(strstr(json, "\"current_month\":{\"month\":\"2026-03\",\"units\":12,"
                                       "\"charges_cents\":12}"));
    ck_assert_ptr_nonnull(strstr(json, "\"status\":\"active\""));
    ck_assert_ptr_nonnull(strstr(json, k.key_sha256));
    ck_assert_ptr_null(strstr(json, k.login_key));
    free(json);
    ck_assert_int_eq(view_customer(db, "c_unknown", &json, why, sizeof why), SUB_NOT_FOUND);
    ck_assert_int_eq(view_invoices(db, c, &json, why, sizeof why), SUB_OK);
    ck_assert_str_eq(json, "[]");
    free(json);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("subscriptions");
    TCase *t = tcase_create("domain");

    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_base64url_and_sha256);
    tcase_add_test(t, test_months);
    tcase_add_test(t, test_email_rules);
    tcase_add_test(t, test_register_validates);
    tcase_add_test(t, test_users_and_keys);
    tcase_add_test(t, test_balance_arithmetic);
    tcase_add_test(t, test_usage_charged_once);
    tcase_add_test(t, test_usage_that_cannot_be_charged);
    tcase_add_test(t, test_overdraft_lock_and_payment_unlock);
    tcase_add_test(t, test_custom_credit_limit);
    tcase_add_test(t, test_manual_lock_only_lifted_by_unlock);
    tcase_add_test(t, test_unlock_of_overdrawn_customer);
    tcase_add_test(t, test_invoice_fee_plus_usage);
    tcase_add_test(t, test_fee_may_lock);
    tcase_add_test(t, test_usage_in_closed_month_counts_in_next);
    tcase_add_test(t, test_plan_change_from_next_month);
    tcase_add_test(t, test_close_past_months);
    tcase_add_test(t, test_rebuild_equals_live);
    tcase_add_test(t, test_views);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tk_run(suite());
}
