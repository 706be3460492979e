/*
 * check_subscriptions - the domain rules of Subscriptions against a
 * temporary database, without HTTP: keys and ids, registration, users and
 * keys, balance arithmetic, overdraft lock and unlock, usage charged once,
 * invoices and plan changes, month closing, rebuild equal to live, and the
 * published entries. And who may do what: the cross-site rules, CSRF
 * tokens, admin tokens, cookies, the refusal of non-loopback clients
 * without an admin token, sessions, the portal's sign-in, the authors of
 * changes and the history, and the migration of an older database.
 */
#include "access.h"
#include "audit.h"
#include "billing.h"
#include "calendar.h"
#include "charts.h"
#include "customer_list.h"
#include "credit.h"
#include "customers.h"
#include "db.h"
#include "events.h"
#include "invoices.h"
#include "login_keys.h"
#include "money.h"
#include "schema.h"
#include "sessions.h"
#include "sign_in.h"
#include "strbuf.h"
#include "testkit.h"
#include "users.h"
#include "views.h"

#include <check.h>
#include <cookies.h>
#include <csrf.h>
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

    ck_assert_msg(customer_register(db, BY, "Acme", plan, limit, id, why, sizeof why) == SUB_OK,
                  "%s", why);
}

static long long balance(const char *id)
{
    return db_int(db, NULL, -999999, "SELECT balance_cents FROM customers WHERE id = ?1", "t", id);
}

static char *lock_reason(const char *id)
{
    static char reason[32];
    char *r =
        db_text(db, NULL, "SELECT coalesce(lock_reason, '') FROM customers WHERE id = ?1", "t", id);

    snprintf(reason, sizeof reason, "%s", r ? r : "?");
    free(r);
    return reason;
}

/* Charges units to id in a transaction as the follower would, with entry
 * id entry and a window starting at window_start; returns the outcome. */
static enum usage_outcome charge(const char *id, const char *entry, const char *units,
                                 const char *window_start)
{
    struct usage_record u = {.entry_id = entry,
                             .customer_id = id,
                             .user_id = "u_x",
                             .key_id = "k_x",
                             .units = units,
                             .window_start = window_start,
                             .window_end = window_start,
                             .node = "n1"};
    enum usage_outcome outcome = USAGE_UNBILLED;

    ck_assert_int_eq(events_begin(db), SUB_OK);
    ck_assert_int_eq(billing_charge_usage(db, &u, &outcome), SUB_OK);
    ck_assert_int_eq(events_end(db, SUB_OK), SUB_OK);
    return outcome;
}

/* billing_charge_usage()'s result for 3 units to id as entry, rolled
 * back unless SUB_OK. */
static enum sub_result charge_status(const char *id, const char *entry)
{
    struct usage_record u = {.entry_id = entry,
                             .customer_id = id,
                             .user_id = "u_x",
                             .key_id = "k_x",
                             .units = "3",
                             .window_start = "2026-03-15T10:00:00Z",
                             .node = "n1"};
    enum usage_outcome outcome;
    enum sub_result r;

    ck_assert_int_eq(events_begin(db), SUB_OK);
    r = billing_charge_usage(db, &u, &outcome);
    ck_assert_int_eq(events_end(db, r), r);
    return r;
}

struct feed_tally {
    char types[4096];
};

/* Adds e's type to the tally; CreditUpdated (published with every balance
 * change, see test_credit_updated) is left out, so that the tests of the
 * other types read as the story they tell. */
static int tally_entry(const struct fs_entry *e, void *userdata)
{
    struct feed_tally *t = userdata;
    size_t n = strlen(t->types);

    if (strcmp(e->type, "CreditUpdated") != 0)
        snprintf(t->types + n, sizeof t->types - n, "%s%s", n ? " " : "", e->type);
    return 0;
}

/* The text of element name in the entry xml, into out. */
static void field_text(const char *xml, const char *name, char *out, size_t size)
{
    char open[64];
    const char *p, *end;

    snprintf(open, sizeof open, "<%s>", name);
    out[0] = '\0';
    p = strstr(xml, open);
    if (!p)
        return;
    p += strlen(open);
    end = strchr(p, '<');
    if (end)
        snprintf(out, size, "%.*s", (int)(end - p), p);
}

/* Appends "LEFT@THROUGH" of each CreditUpdated entry to the tally. */
static int tally_credit(const struct fs_entry *e, void *userdata)
{
    struct feed_tally *t = userdata;
    size_t n = strlen(t->types);
    char left[32], through[128];

    if (strcmp(e->type, "CreditUpdated") != 0)
        return 0;
    field_text(e->xml, "creditLeftCents", left, sizeof left);
    field_text(e->xml, "chargedThrough", through, sizeof through);
    snprintf(t->types + n, sizeof t->types - n, "%s%s@%s", n ? " " : "", left, through);
    return 0;
}

/* Empties t, hands every entry of the feed to fn (tally_entry or
 * tally_credit) and returns t's text, which t keeps. */
static const char *tally_feed(struct feed_tally *t, fs_entry_fn *fn)
{
    struct fs_feed *feed;

    t->types[0] = '\0';
    ck_assert_int_eq(fs_feed_open(db, SUB_FEED, &feed), FS_OK);
    ck_assert_int_eq(fs_feed_read(feed, 1, INT64_MAX, fn, t), FS_OK);
    fs_feed_close(feed);
    return t->types;
}

/* The CreditUpdated entries published so far, "LEFT@THROUGH ...". */
static const char *credits(void)
{
    static struct feed_tally t;

    return tally_feed(&t, tally_credit);
}

/* The types of the published entries, space-separated, in feed order. */
static const char *published(void)
{
    static struct feed_tally t;

    return tally_feed(&t, tally_entry);
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
    ck_assert_uint_eq(
        strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
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
    ck_assert_int_eq(customer_register(db, BY, "   ", NULL, NULL, id, why, sizeof why),
                     SUB_INVALID);
    ck_assert_int_eq(customer_register(db, BY, NULL, NULL, NULL, id, why, sizeof why), SUB_INVALID);
    ck_assert_int_eq(customer_register(db, BY, "A", "gold", NULL, id, why, sizeof why),
                     SUB_INVALID);
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
    ck_assert_int_eq(key_revoke(db, BY, c, k1.user_id, "k_unknown", why, sizeof why),
                     SUB_NOT_FOUND);
    ck_assert_int_eq(user_remove(db, BY, c, k1.user_id, why, sizeof why), SUB_OK);
    ck_assert_int_eq(user_remove(db, BY, c, k1.user_id, why, sizeof why), SUB_NOT_FOUND);
    ck_assert_int_eq(
        db_int(db, NULL, -1, "SELECT count(*) FROM login_keys WHERE revoked_at IS NULL", ""), 0);
    /* The email is free again once its user is removed. */
    ck_assert_int_eq(user_add(db, BY, c, "ada@example.com", &k3, why, sizeof why), SUB_OK);
    ck_assert_str_eq(published(), "CustomerRegistered UserAdded LoginKeyIssued LoginKeyRevoked "
                                  "UserRemoved UserAdded");
    /* Only hashes are kept: no plain key anywhere in the events or keys. */
    ck_assert_int_eq(db_int(db, NULL, -1,
                            "SELECT count(*) FROM domain_events WHERE instr(data, ?1) > 0", "t",
                            k3.login_key),
                     0);
    ck_assert_int_eq(db_int(db, NULL, -1, "SELECT count(*) FROM login_keys WHERE key_sha256 = ?1",
                            "t", k3.key_sha256),
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
    ck_assert_int_eq(
        db_int(db, NULL, 0, "SELECT units FROM monthly_usage WHERE month = '2026-03'", ""), 7);
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
    ck_assert_int_eq(
        db_int(db, NULL, 0, "SELECT units FROM monthly_usage WHERE month = '2026-04'", ""), 9);
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
    ck_assert_int_eq(
        db_int(db, NULL, -1, "SELECT fee_cents FROM invoices WHERE month = '2026-03'", ""), 0);
    sub_clock_set(at_utc(2026, 4, 30));
    ck_assert_int_eq(invoices_close_month(db, "2026-04", &issued, why, sizeof why), SUB_OK);
    ck_assert_int_eq(
        db_int(db, NULL, -1, "SELECT fee_cents FROM invoices WHERE month = '2026-04'", ""), 2900);
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
    ck_assert_int_eq(user_set_admin(db, BY, c, k.user_id, 1, why, sizeof why), SUB_OK);
    ck_assert_int_eq(user_add(db, BY, d, "bob@example.com", &k, why, sizeof why), SUB_OK);
    ck_assert_int_eq(user_remove(db, BY, d, k.user_id, why, sizeof why), SUB_OK);
    ck_assert_int_eq(charge(c, "urn:uuid:1", "1500", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_int_eq(charge("c_nobody", "urn:uuid:2", "1", "2026-03-15T10:00:00Z"), USAGE_UNBILLED);
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
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT count(*) FROM users WHERE is_admin = 1", ""), 1);
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

START_TEST(test_origin_rules)
{
    const char *host = "127.0.0.1:8081";
    char why[256];

    /* Programs send neither header; a browser's own page names itself. */
    ck_assert_int_eq(csrf_check_origin(NULL, NULL, host, why, sizeof why), 0);
    ck_assert_int_eq(
        csrf_check_origin("http://127.0.0.1:8081", "same-origin", host, why, sizeof why), 0);
    ck_assert_int_eq(csrf_check_origin(NULL, "none", host, why, sizeof why), 0);
    ck_assert_int_eq(csrf_check_origin("http://EXAMPLE.com", NULL, "example.com", why, sizeof why),
                     0);
    ck_assert_int_eq(
        csrf_check_origin("https://example.com", NULL, "example.com:443", why, sizeof why), 0);
    ck_assert_int_eq(csrf_check_origin("http://[::1]:8081", NULL, "[::1]:8081", why, sizeof why),
                     0);
    /* Another site, another port, another host, no origin at all. */
    ck_assert_int_eq(csrf_check_origin("http://evil.example", NULL, host, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "another origin"));
    ck_assert_int_eq(csrf_check_origin("http://127.0.0.1:9999", NULL, host, why, sizeof why), -1);
    ck_assert_int_eq(csrf_check_origin("http://127.0.0.1", NULL, host, why, sizeof why), -1);
    ck_assert_int_eq(csrf_check_origin("http://localhost:8081", NULL, host, why, sizeof why), -1);
    ck_assert_int_eq(
        csrf_check_origin("http://127.0.0.1:8081.evil.example", NULL, host, why, sizeof why), -1);
    ck_assert_int_eq(csrf_check_origin("http://user@127.0.0.1:8081", NULL, host, why, sizeof why),
                     -1);
    ck_assert_int_eq(csrf_check_origin("ftp://127.0.0.1:8081", NULL, host, why, sizeof why), -1);
    ck_assert_int_eq(csrf_check_origin("null", NULL, host, why, sizeof why), -1);
    ck_assert_int_eq(csrf_check_origin("null", "same-origin", host, why, sizeof why), 0);
    ck_assert_int_eq(csrf_check_origin("http://127.0.0.1:8081", NULL, NULL, why, sizeof why), -1);
    ck_assert_int_eq(csrf_check_origin("http://127.0.0.1:80810", NULL, host, why, sizeof why), -1);
    /* Sec-Fetch-Site: only same-origin and none. */
    ck_assert_int_eq(csrf_check_origin(NULL, "cross-site", host, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "Sec-Fetch-Site"));
    ck_assert_int_eq(csrf_check_origin(NULL, "same-site", host, why, sizeof why), -1);
    ck_assert_int_eq(
        csrf_check_origin("http://127.0.0.1:8081", "cross-site", host, why, sizeof why), -1);
    ck_assert_int_eq(csrf_check_origin(NULL, "bogus", host, why, sizeof why), -1);
    /* Which methods change state. */
    ck_assert(csrf_changes_state("POST"));
    ck_assert(csrf_changes_state("DELETE"));
    ck_assert(csrf_changes_state("PUT"));
    ck_assert(!csrf_changes_state("GET"));
    ck_assert(!csrf_changes_state("HEAD"));
}
END_TEST

START_TEST(test_csrf_tokens_and_secrets)
{
    char a[SHA256_HEX_SIZE], b[SHA256_HEX_SIZE], again[SHA256_HEX_SIZE];
    const char *tokens[] = {"first-admin-token-0001", "second-admin-token-002"};
    char why[160];

    ck_assert_int_eq(csrf_token("session-one", a), 0);
    ck_assert_int_eq(csrf_token("session-one", again), 0);
    ck_assert_int_eq(csrf_token("session-two", b), 0);
    ck_assert_str_eq(a, again);
    ck_assert_str_ne(a, b);
    ck_assert_uint_eq(strlen(a), 64);
    ck_assert(csrf_token_ok("session-one", a));
    ck_assert(!csrf_token_ok("session-two", a));
    ck_assert(!csrf_token_ok("session-one", NULL));
    ck_assert(!csrf_token_ok("session-one", ""));
    a[63] = a[63] == '0' ? '1' : '0';
    ck_assert(!csrf_token_ok("session-one", a));

    ck_assert(secret_equal("abc", 3, "abc", 3));
    ck_assert(!secret_equal("abc", 3, "abd", 3));
    ck_assert(!secret_equal("abc", 3, "abcd", 4));
    ck_assert(!secret_equal("", 0, "a", 1));

    ck_assert_int_eq(sign_in_token_index(tokens, 2, "first-admin-token-0001"), 0);
    ck_assert_int_eq(sign_in_token_index(tokens, 2, "second-admin-token-002"), 1);
    ck_assert_int_eq(sign_in_token_index(tokens, 2, "second-admin-token-00"), -1);
    ck_assert_int_eq(sign_in_token_index(tokens, 2, "second-admin-token-0022"), -1);
    ck_assert_int_eq(sign_in_token_index(tokens, 2, ""), -1);
    ck_assert_int_eq(sign_in_token_index(tokens, 2, NULL), -1);
    ck_assert_int_eq(sign_in_token_index(tokens, 0, "first-admin-token-0001"), -1);

    ck_assert_int_eq(sign_in_token_fit("0123456789abcdef", why, sizeof why), 0);
    ck_assert_int_eq(sign_in_token_fit("short", why, sizeof why), -1);
    ck_assert_int_eq(sign_in_token_fit("has a space in it, long enough", why, sizeof why), -1);
    ck_assert_ptr_null(strstr(why, "long enough"));
}
END_TEST

START_TEST(test_cookies)
{
    char v[65];

    ck_assert_int_eq(cookie_get("a=1; sub_operator=abc123; b=2", "sub_operator", v, sizeof v), 1);
    ck_assert_str_eq(v, "abc123");
    ck_assert_int_eq(
        cookie_get("sub_operator=first; sub_operator=second", "sub_operator", v, sizeof v), 1);
    ck_assert_str_eq(v, "first");
    ck_assert_int_eq(cookie_get("xsub_operator=abc", "sub_operator", v, sizeof v), 0);
    ck_assert_int_eq(cookie_get("sub_operatorx=abc", "sub_operator", v, sizeof v), 0);
    ck_assert_int_eq(cookie_get("sub_operator=", "sub_operator", v, sizeof v), 0);
    ck_assert_int_eq(cookie_get("sub_operator=a\"b", "sub_operator", v, sizeof v), 0);
    ck_assert_int_eq(cookie_get(NULL, "sub_operator", v, sizeof v), 0);
    ck_assert_str_eq(v, "");
    /* A value that does not fit is no cookie, never a cut one. */
    ck_assert_int_eq(cookie_get("sub_operator=0123456789", "sub_operator", v, 6), 0);
}
END_TEST

START_TEST(test_anonymous_callers)
{
    const char *tokens[] = {"first-admin-token-0001"};
    struct access_config none = {NULL, 0, 60}, some = {tokens, 1, 60};
    struct caller who;
    char why[256];

    /* No admin token: loopback clients are the operator, others are not
     * served (the same function access_check() calls for them). */
    memset(&who, 0, sizeof who);
    ck_assert_int_eq(access_anonymous(&none, 1, &who, why, sizeof why), SUB_OK);
    ck_assert_int_eq(who.kind, CALLER_OPERATOR);
    ck_assert_str_eq(who.author, "operator:loopback");
    memset(&who, 0, sizeof who);
    ck_assert_int_eq(access_anonymous(&none, 0, &who, why, sizeof why), SUB_FORBIDDEN);
    ck_assert_int_eq(who.kind, CALLER_NOBODY);
    ck_assert_ptr_nonnull(strstr(why, "loopback clients only"));
    ck_assert_ptr_nonnull(strstr(why, "--admin-token"));
    /* With admin tokens, nobody is let in without one, loopback or not. */
    ck_assert_int_eq(access_anonymous(&some, 1, &who, why, sizeof why), SUB_UNAUTHENTICATED);
    ck_assert_int_eq(access_anonymous(&some, 0, &who, why, sizeof why), SUB_UNAUTHENTICATED);
    ck_assert_int_eq(who.kind, CALLER_NOBODY);
}
END_TEST

START_TEST(test_operator_sessions)
{
    char id[SHA256_HEX_SIZE], hash[SHA256_HEX_SIZE], other[SHA256_HEX_SIZE], h2[SHA256_HEX_SIZE];
    struct session s;

    ck_assert_int_eq(session_start(db, SESSION_OPERATOR, 1, NULL, NULL, NULL, 600, id, hash), 0);
    ck_assert_uint_eq(strlen(id), 64);
    /* Only the SHA-256 of the id is stored. */
    ck_assert_int_eq(
        db_int(db, NULL, -1, "SELECT count(*) FROM sessions WHERE id_sha256 = ?1", "t", id), 0);
    ck_assert_int_eq(
        db_int(db, NULL, -1, "SELECT count(*) FROM sessions WHERE id_sha256 = ?1", "t", hash), 1);
    ck_assert_int_eq(session_find(db, SESSION_OPERATOR, id, &s), 1);
    ck_assert_int_eq(s.token_index, 1);
    ck_assert_str_eq(s.hash, hash);
    ck_assert_int_eq(session_find(db, SESSION_PORTAL, id, &s), 0);
    ck_assert_int_eq(session_find(db, SESSION_OPERATOR, "0000", &s), 0);
    /* The server's own clock ends it, whatever the cookie says. */
    sub_clock_set(at_utc(2026, 3, 15) + 599);
    ck_assert_int_eq(session_find(db, SESSION_OPERATOR, id, &s), 1);
    sub_clock_set(at_utc(2026, 3, 15) + 600);
    ck_assert_int_eq(session_find(db, SESSION_OPERATOR, id, &s), 0);
    ck_assert_int_eq(sessions_purge_expired(db), 1);
    sub_clock_set(at_utc(2026, 3, 15));
    /* Sign-out, and serve's start. */
    ck_assert_int_eq(session_start(db, SESSION_OPERATOR, 0, NULL, NULL, NULL, 600, id, hash), 0);
    ck_assert_int_eq(session_start(db, SESSION_OPERATOR, 0, NULL, NULL, NULL, 600, other, h2), 0);
    ck_assert_str_ne(id, other);
    ck_assert_int_eq(session_end(db, hash), 0);
    ck_assert_int_eq(session_find(db, SESSION_OPERATOR, id, &s), 0);
    ck_assert_int_eq(session_find(db, SESSION_OPERATOR, other, &s), 1);
    ck_assert_int_eq(sessions_end_operators(db), 0);
    ck_assert_int_eq(session_find(db, SESSION_OPERATOR, other, &s), 0);
}
END_TEST

START_TEST(test_portal_sign_in)
{
    char c[SUB_ID_SIZE], d[SUB_ID_SIZE], why[256], wrong_why[256];
    char id[SHA256_HEX_SIZE], hash[SHA256_HEX_SIZE];
    struct new_key k, k2, other;
    struct portal_user u;
    struct session s;

    new_customer("payg", NULL, c);
    new_customer("payg", NULL, d);
    ck_assert_int_eq(user_add(db, BY, c, "ada@example.com", &k, why, sizeof why), SUB_OK);
    ck_assert_int_eq(key_issue(db, BY, c, k.user_id, &k2, why, sizeof why), SUB_OK);
    ck_assert_int_eq(user_add(db, BY, d, "ada@example.com", &other, why, sizeof why), SUB_OK);

    ck_assert_int_eq(sign_in_portal(db, "ADA@example.com", k.login_key, &u, why, sizeof why),
                     SUB_OK);
    ck_assert_str_eq(u.customer_id, c);
    ck_assert_str_eq(u.user_id, k.user_id);
    ck_assert_str_eq(u.key_id, k.key_id);
    /* The same email at another customer: the key decides. */
    ck_assert_int_eq(sign_in_portal(db, "ada@example.com", other.login_key, &u, why, sizeof why),
                     SUB_OK);
    ck_assert_str_eq(u.customer_id, d);

    /* Wrong, revoked and removed are refused alike. */
    ck_assert_int_eq(
        sign_in_portal(db, "ada@example.com", "not-a-key", &u, wrong_why, sizeof wrong_why),
        SUB_UNAUTHENTICATED);
    ck_assert_str_eq(u.customer_id, "");
    ck_assert_int_eq(sign_in_portal(db, "bob@example.com", k.login_key, &u, why, sizeof why),
                     SUB_UNAUTHENTICATED);
    ck_assert_str_eq(why, wrong_why);
    ck_assert_int_eq(sign_in_portal(db, "", k.login_key, &u, why, sizeof why), SUB_UNAUTHENTICATED);
    ck_assert_int_eq(sign_in_portal(db, "ada@example.com", NULL, &u, why, sizeof why),
                     SUB_UNAUTHENTICATED);

    /* A session of k2, then k2 revoked: the session ends, sign-in refused. */
    ck_assert_int_eq(sign_in_portal(db, "ada@example.com", k2.login_key, &u, why, sizeof why),
                     SUB_OK);
    ck_assert_int_eq(
        session_start(db, SESSION_PORTAL, -1, u.customer_id, u.user_id, u.key_id, 600, id, hash),
        0);
    ck_assert_int_eq(session_find(db, SESSION_PORTAL, id, &s), 1);
    ck_assert_str_eq(s.customer_id, c);
    ck_assert_str_eq(s.email, "ada@example.com");
    ck_assert_int_eq(s.is_admin, 0);
    ck_assert_int_eq(session_find(db, SESSION_OPERATOR, id, &s), 0);
    /* The admin flag is read live. */
    ck_assert_int_eq(user_set_admin(db, BY, c, k.user_id, 1, why, sizeof why), SUB_OK);
    ck_assert_int_eq(session_find(db, SESSION_PORTAL, id, &s), 1);
    ck_assert_int_eq(s.is_admin, 1);
    /* A locked customer's users still get in, to see why. */
    ck_assert_int_eq(customer_lock(db, BY, c, why, sizeof why), SUB_OK);
    ck_assert_int_eq(session_find(db, SESSION_PORTAL, id, &s), 1);
    ck_assert_int_eq(sign_in_portal(db, "ada@example.com", k.login_key, &u, why, sizeof why),
                     SUB_OK);
    ck_assert_int_eq(key_revoke(db, BY, c, k.user_id, k2.key_id, why, sizeof why), SUB_OK);
    ck_assert_int_eq(session_find(db, SESSION_PORTAL, id, &s), 0);
    ck_assert_int_eq(sign_in_portal(db, "ada@example.com", k2.login_key, &u, why, sizeof why),
                     SUB_UNAUTHENTICATED);
    ck_assert_str_eq(why, wrong_why);
    /* A session of k, then its user removed. */
    ck_assert_int_eq(session_start(db, SESSION_PORTAL, -1, c, k.user_id, k.key_id, 600, id, hash),
                     0);
    ck_assert_int_eq(session_find(db, SESSION_PORTAL, id, &s), 1);
    ck_assert_int_eq(user_remove(db, BY, c, k.user_id, why, sizeof why), SUB_OK);
    ck_assert_int_eq(session_find(db, SESSION_PORTAL, id, &s), 0);
    ck_assert_int_eq(sign_in_portal(db, "ada@example.com", k.login_key, &u, why, sizeof why),
                     SUB_UNAUTHENTICATED);
    ck_assert_str_eq(why, wrong_why);
}
END_TEST

START_TEST(test_user_admin_flag)
{
    char c[SUB_ID_SIZE], d[SUB_ID_SIZE], why[256];
    struct new_key k;
    char *json = NULL;

    new_customer("payg", NULL, c);
    new_customer("payg", NULL, d);
    ck_assert_int_eq(user_add(db, BY, c, "ada@example.com", &k, why, sizeof why), SUB_OK);
    ck_assert_int_eq(user_set_admin(db, BY, c, k.user_id, 2, why, sizeof why), SUB_INVALID);
    ck_assert_int_eq(user_set_admin(db, BY, d, k.user_id, 1, why, sizeof why), SUB_NOT_FOUND);
    ck_assert_int_eq(user_set_admin(db, BY, "c_unknown", k.user_id, 1, why, sizeof why),
                     SUB_NOT_FOUND);
    ck_assert_int_eq(user_set_admin(db, BY, c, k.user_id, 1, why, sizeof why), SUB_OK);
    ck_assert_int_eq(user_set_admin(db, BY, c, k.user_id, 1, why, sizeof why), SUB_OK);
    ck_assert_int_eq(db_int(db, NULL, 0, "SELECT count(*) FROM domain_events WHERE type = ?1", "t",
                            "user_admin_set"),
                     1);
    ck_assert_int_eq(view_customer(db, c, &json, why, sizeof why), SUB_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"admin\":true"));
    free(json);
    ck_assert_int_eq(user_set_admin(db, BY, c, k.user_id, 0, why, sizeof why), SUB_OK);
    ck_assert_int_eq(view_customer(db, c, &json, why, sizeof why), SUB_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"admin\":false"));
    free(json);
    /* Internal only: the feed does not carry it. */
    ck_assert_str_eq(published(), "CustomerRegistered CustomerRegistered UserAdded");
}
END_TEST

/* The history of customer id as "what / author" lines, newest first. */
static void history_line(const struct history_item *item, void *userdata)
{
    struct strbuf *sb = userdata;

    sb_printf(sb, "%s / %s\n", item->what, item->author ? item->author : "-");
}

static char *history_of(const char *id)
{
    struct strbuf sb = STRBUF_INIT;

    ck_assert_int_eq(audit_history(db, id, 100, history_line, &sb), 0);
    return sb_detach(&sb, NULL);
}

START_TEST(test_authors_and_history)
{
    char c[SUB_ID_SIZE], why[256], author[AUTHOR_SIZE], from[SUB_MONTH_SIZE];
    const char *hash = "3f2a9c1b04de5566778899aabbccddeeff00112233445566778899aabbccddee";
    struct strbuf words = STRBUF_INIT;
    char expected[1024];
    struct new_key k;
    char *h, *json = NULL;

    author_operator(-1, NULL, author);
    ck_assert_str_eq(author, "operator:loopback");
    author_operator(1, hash, author);
    ck_assert_str_eq(author, "operator:token-2:session-3f2a9c1b04de");
    author_user("u_1", author);
    ck_assert_str_eq(author, "user:u_1");

    ck_assert_int_eq(
        customer_register(db, "operator:token-1", "Acme", NULL, NULL, c, why, sizeof why), SUB_OK);
    ck_assert_int_eq(user_add(db, "user:u_admin", c, "ada@example.com", &k, why, sizeof why),
                     SUB_OK);
    ck_assert_int_eq(
        billing_pay(db, "operator:token-2:session-3f2a9c1b04de", c, 1250, why, sizeof why), SUB_OK);
    ck_assert_int_eq(
        customer_change_plan(db, "operator:loopback", c, "team", from, why, sizeof why), SUB_OK);
    ck_assert_int_eq(charge(c, "urn:uuid:1", "3000", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_int_eq(invoices_close_month(db, "2026-03", NULL, why, sizeof why), SUB_OK);

    ck_assert_int_eq(billing_pay(db, "operator:token-1", c, 1000, why, sizeof why), SUB_OK);

    h = history_of(c);
    snprintf(expected, sizeof expected,
             "unlocked (payment) / operator:token-1\n"
             "payment of 10.00 / operator:token-1\n"
             "invoice for 2026-03 issued: 30.00 / billing\n"
             "locked (overdraft) / billing\n"
             "plan changed to team from 2026-04 / operator:loopback\n"
             "payment of 12.50 / operator:token-2:session-3f2a9c1b04de\n"
             "login key %s issued to ada@example.com (%s) / user:u_admin\n"
             "user added: ada@example.com (%s) / user:u_admin\n"
             "registered as \"Acme\" on plan payg / operator:token-1\n",
             k.key_id, k.user_id, k.user_id);
    ck_assert_str_eq(h, expected);
    free(h);
    /* The usage charge is an event of billing too, but not in the list. */
    ck_assert_int_eq(db_int(db, NULL, 0,
                            "SELECT count(*) FROM domain_events WHERE type = ?1"
                            " AND author = ?2",
                            "tt", "usage_charged", AUTHOR_BILLING),
                     1);
    ck_assert_int_eq(view_history(db, c, &json, why, sizeof why), SUB_OK);
    ck_assert_ptr_nonnull(strstr(json, "{\"seq\":"));
    ck_assert_ptr_nonnull(strstr(json, "\"type\":\"payment_recorded\",\"what\":\"payment of "
                                       "10.00\",\"author\":\"operator:token-1\"}"));
    free(json);
    ck_assert_int_eq(view_history(db, "c_unknown", &json, why, sizeof why), SUB_NOT_FOUND);

    audit_author_words(&words, "operator:token-2:session-3f2a9c1b04de", 0);
    sb_puts(&words, "|");
    audit_author_words(&words, "operator:loopback", 0);
    sb_puts(&words, "|");
    audit_author_words(&words, "user:u_<1>", 1);
    sb_puts(&words, "|");
    audit_author_words(&words, NULL, 1);
    ck_assert_str_eq(sb_str(&words),
                     "operator (token 2, session 3f2a9c1b04de)|operator on loopback (no "
                     "admin token configured)|customer admin u_&lt;1&gt;|not recorded");
    sb_release(&words);
}
END_TEST

START_TEST(test_migrates_an_older_database)
{
    char *path = tk_path(dir, "old.db");
    struct strbuf sb = STRBUF_INIT;
    char why[256];
    struct new_key k;
    sqlite3 *old;

    ck_assert_int_eq(fs_db_open(path, &old), FS_OK);
    ck_assert_int_eq(
        db_exec_script(old, "CREATE TABLE domain_events (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                            " type TEXT NOT NULL, customer_id TEXT, at TEXT NOT NULL,"
                            " dedupe TEXT UNIQUE, data TEXT NOT NULL CHECK (json_valid(data)));"
                            "CREATE TABLE users (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL,"
                            " email TEXT NOT NULL, added_at TEXT NOT NULL, removed_at TEXT);"
                            "INSERT INTO domain_events (type, customer_id, at, data) VALUES"
                            " ('customer_registered', 'c_old', '2026-03-01T00:00:00Z',"
                            "  '{\"name\":\"Old\",\"plan\":\"payg\",\"credit_limit_cents\":null,"
                            "\"month\":\"2026-03\"}'),"
                            " ('user_added', 'c_old', '2026-03-01T00:00:00Z',"
                            "  '{\"user_id\":\"u_old\",\"email\":\"old@example.com\"}');"),
        SQLITE_OK);
    ck_assert_int_eq(schema_create(old), 0);
    ck_assert_int_eq(schema_create(old), 0);
    ck_assert_int_eq(db_int(old, NULL, 0,
                            "SELECT count(*) FROM pragma_table_info('domain_events')"
                            " WHERE name = 'author'",
                            ""),
                     1);
    ck_assert_int_eq(events_rebuild(old), 2);
    ck_assert_int_eq(db_int(old, NULL, -1, "SELECT is_admin FROM users WHERE id = 'u_old'", ""), 0);
    ck_assert_int_eq(user_set_admin(old, BY, "c_old", "u_old", 1, why, sizeof why), SUB_OK);
    ck_assert_int_eq(user_add(old, BY, "c_old", "new@example.com", &k, why, sizeof why), SUB_OK);
    ck_assert_int_eq(events_rebuild(old), 5);
    ck_assert_int_eq(db_int(old, NULL, -1, "SELECT is_admin FROM users WHERE id = 'u_old'", ""), 1);
    ck_assert_int_eq(audit_history(old, "c_old", 10, history_line, &sb), 0);
    ck_assert_ptr_nonnull(strstr(sb_str(&sb), "user added: old@example.com (u_old) / -\n"));
    ck_assert_ptr_nonnull(
        strstr(sb_str(&sb), "old@example.com (u_old) made an administrator / " BY));
    sb_release(&sb);
    sqlite3_close(old);
    free(path);
}
END_TEST

/* Money for people: "$1,234.56" and "−$22.87"; the history keeps "-22.87". */
START_TEST(test_money_shown_with_its_currency)
{
    struct strbuf sb = STRBUF_INIT;

    money_show(&sb, -2287);
    sb_puts(&sb, " ");
    money_show(&sb, 123456789);
    sb_puts(&sb, " ");
    money_show(&sb, 5);
    sb_puts(&sb, " ");
    money_plain(&sb, -2287);
    ck_assert_str_eq(sb_str(&sb), "\xe2\x88\x92$22.87 $1,234,567.89 $0.05 -22.87");
    sb_release(&sb);
}
END_TEST

/* Amounts typed in dollars become cents; anything else is refused. */
START_TEST(test_money_typed_in_dollars)
{
    static const struct {
        const char *text;
        long long cents; /* -1: refused */
    } cases[] = {
        {"12", 1200},   {"12.5", 1250}, {"12.34", 1234}, {" $1,234.56 ", 123456},
        {".5", 50},     {"0.01", 1},    {"0", -1},       {"12.345", -1},
        {"-3", -1},     {"", -1},       {"$", -1},       {"1e3", -1},
        {"12.3.4", -1}, {",12", -1},    {"abc", -1},     {"99999999999999999999", -1},
    };
    long long cents;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = money_parse(cases[i].text, 1, SUB_MONEY_MAX, &cents);
        if (cases[i].cents < 0)
            ck_assert_msg(rc == -1, "\"%s\" should be refused", cases[i].text);
        else
            ck_assert_msg(rc == 0 && cents == cases[i].cents, "\"%s\" -> %lld", cases[i].text,
                          cents);
    }
    ck_assert_int_eq(money_parse("0", 0, 100, &cents), 0);
    ck_assert_int_eq(cents, 0);
    ck_assert_int_eq(money_parse("1.01", 0, 100, &cents), -1);
}
END_TEST

START_TEST(test_charts)
{
    long long units[CHART_MAX_DAYS] = {0};
    struct strbuf sb = STRBUF_INIT;

    ck_assert_int_eq(chart_days_in_month("2026-02"), 28);
    ck_assert_int_eq(chart_days_in_month("2028-02"), 29);
    ck_assert_int_eq(chart_days_in_month("2100-02"), 28);
    ck_assert_int_eq(chart_days_in_month("2026-04"), 30);
    ck_assert_int_eq(chart_days_in_month("2026-13"), 31);
    units[2] = 40;
    units[9] = 10;
    chart_daily_units(&sb, "2026-04", units, 30);
    ck_assert_ptr_nonnull(strstr(sb_str(&sb), "<title>2026-04-03: 40 units</title>"));
    ck_assert_ptr_nonnull(strstr(sb_str(&sb), "<title>2026-04-10: 10 units</title>"));
    ck_assert_ptr_nonnull(strstr(sb_str(&sb), "50 in all, at most 40 on day 3."));
    ck_assert_ptr_null(strstr(sb_str(&sb), "2026-04-31"));
    sb_release(&sb);
    chart_balance(&sb, -2500, 10000);
    ck_assert_ptr_nonnull(strstr(sb_str(&sb), "25% of the limit drawn."));
    sb_release(&sb);
    chart_balance(&sb, -12000, 10000);
    ck_assert_ptr_nonnull(strstr(sb_str(&sb), "(over the limit)."));
    sb_release(&sb);
}
END_TEST

static void collect_names(const struct customer_row *row, void *userdata)
{
    struct strbuf *sb = userdata;

    sb_puts(sb, row->name);
    sb_puts(sb, ";");
}

/* The customers list: search by name or a current user's email, sort,
 * window; without parameters, registration order as before. */
START_TEST(test_customer_list)
{
    static const char *const names[] = {"bravo", "Alpha", "charlie", "Delta"};
    char id[SUB_ID_SIZE], why[256];
    struct new_key k;
    struct customer_query q = {.q = "", .limit = -1};
    struct strbuf sb = STRBUF_INIT;
    char *json;

    for (int i = 0; i < 4; i++) {
        sub_clock_set(at_utc(2026, 3, 15) + i);
        ck_assert_int_eq(customer_register(db, BY, names[i], NULL, NULL, id, why, sizeof why),
                         SUB_OK);
    }
    ck_assert_int_eq(user_add(db, BY, id, "Someone@Example.org", &k, why, sizeof why), SUB_OK);
    ck_assert_int_eq(customer_list(db, &q, collect_names, &sb), 0);
    ck_assert_str_eq(sb_str(&sb), "bravo;Alpha;charlie;Delta;");
    sb_release(&sb);
    q.sort = CUSTOMER_SORT_NAME;
    ck_assert_int_eq(customer_list(db, &q, collect_names, &sb), 0);
    ck_assert_str_eq(sb_str(&sb), "Alpha;bravo;charlie;Delta;");
    sb_release(&sb);
    q.descending = 1;
    q.limit = 2;
    q.offset = 1;
    ck_assert_int_eq(customer_list(db, &q, collect_names, &sb), 0);
    ck_assert_str_eq(sb_str(&sb), "charlie;bravo;");
    sb_release(&sb);
    q.q = "LPH";
    q.limit = -1;
    q.offset = 0;
    ck_assert_int_eq(customer_count(db, &q), 1);
    q.q = "someone@example";
    ck_assert_int_eq(customer_count(db, &q), 1);
    json = customer_list_json(db, &q);
    ck_assert_ptr_nonnull(strstr(json, "\"name\":\"Delta\""));
    free(json);
    q.q = "%";
    ck_assert_int_eq(customer_count(db, &q), 0);
}
END_TEST

START_TEST(test_credit_updated)
{
    char c[SUB_ID_SIZE], c2[SUB_ID_SIZE], why[256], month[SUB_MONTH_SIZE];
    long long limit = 300;

    new_customer("payg", NULL, c);
    ck_assert_str_eq(credits(), "1000@");
    ck_assert_int_eq(events_begin(db), SUB_OK);
    ck_assert_int_eq(credit_node_applied(db, "n1", 5), SUB_OK);
    ck_assert_int_eq(credit_node_applied(db, "n2", 2), SUB_OK);
    ck_assert_int_eq(credit_node_applied(db, "n1", 4), SUB_OK); /* never goes back */
    ck_assert_int_eq(events_end(db, SUB_OK), SUB_OK);
    ck_assert_int_eq(charge(c, "urn:uuid:1", "60", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_str_eq(credits(), "1000@ 940@n1=5 n2=2");
    ck_assert_int_eq(billing_pay(db, BY, c, 100, why, sizeof why), SUB_OK);
    ck_assert_str_eq(credits(), "1000@ 940@n1=5 n2=2 1040@n1=5 n2=2");
    /* a duplicate charge changes no balance and publishes nothing */
    ck_assert_int_eq(charge(c, "urn:uuid:1", "60", "2026-03-15T10:00:00Z"), USAGE_DUPLICATE);
    ck_assert_str_eq(credits(), "1000@ 940@n1=5 n2=2 1040@n1=5 n2=2");
    /* a customer's own limit; a team customer's fee at the month's close */
    new_customer("payg", &limit, c2);
    ck_assert_int_eq(customer_change_plan(db, BY, c2, "team", month, why, sizeof why), SUB_OK);
    ck_assert_int_eq(invoices_close_month(db, "2026-03", NULL, why, sizeof why), SUB_OK);
    /* both customers are invoiced, in registration order (same second:
     * then by id, which is random) */
    ck_assert(strcmp(credits(), "1000@ 940@n1=5 n2=2 1040@n1=5 n2=2 300@n1=5 n2=2 300@n1=5 n2=2"
                                " 1040@n1=5 n2=2 300@n1=5 n2=2") == 0 ||
              strcmp(credits(), "1000@ 940@n1=5 n2=2 1040@n1=5 n2=2 300@n1=5 n2=2 300@n1=5 n2=2"
                                " 300@n1=5 n2=2 1040@n1=5 n2=2") == 0);
}
END_TEST

START_TEST(test_credit_backfill_once)
{
    char c[SUB_ID_SIZE];

    /* a customer registered before the backfill ran (as in a database
     * made before CreditUpdated existed): it gets one more, once */
    new_customer("payg", NULL, c);
    ck_assert_str_eq(credits(), "1000@");
    ck_assert_int_eq(credit_backfill(db), 0);
    ck_assert_int_eq(credit_backfill(db), 0);
    ck_assert_str_eq(credits(), "1000@ 1000@");
}
END_TEST

/* An authorizer that makes every read of plan_periods fail, as a damaged
 * table or an I/O error would: statements that read it do not prepare. */
static int deny_plans(void *userdata, int action, const char *a, const char *b, const char *c,
                      const char *d)
{
    (void)userdata;
    (void)b;
    (void)c;
    (void)d;
    return action == SQLITE_READ && a && strcmp(a, "plan_periods") == 0 ? SQLITE_DENY : SQLITE_OK;
}

START_TEST(test_failed_plan_lookup_is_an_error)
{
    char c[SUB_ID_SIZE], plan[SUB_WORD_SIZE], why[256], month[SUB_MONTH_SIZE];
    struct usage_record u = {.entry_id = "urn:uuid:9",
                             .customer_id = NULL,
                             .user_id = "u_x",
                             .key_id = "k_x",
                             .units = "7",
                             .window_start = "2026-03-15T10:00:00Z",
                             .node = "n1"};
    enum usage_outcome outcome;
    long long issued = -1;

    new_customer("team", NULL, c);
    u.customer_id = c;
    sqlite3_set_authorizer(db, deny_plans, NULL);
    ck_assert_int_eq(customer_plan_in(db, c, "2026-03", plan), -1);
    ck_assert_str_eq(plan, "");
    ck_assert_ptr_null(customer_plan_of(db, c, "2026-03"));
    /* usage: an error, so the follower retries; nothing charged */
    ck_assert_int_eq(events_begin(db), SUB_OK);
    ck_assert_int_eq(billing_charge_usage(db, &u, &outcome), SUB_ERROR);
    ck_assert_int_eq(events_end(db, SUB_ERROR), SUB_ERROR);
    /* the month: not closed, no invoice, rather than a payg invoice */
    ck_assert_int_eq(invoices_close_month(db, "2026-03", &issued, why, sizeof why), SUB_ERROR);
    ck_assert_int_eq(db_int(db, NULL, -1, "SELECT count(*) FROM invoices", ""), 0);
    ck_assert_int_eq(db_int(db, NULL, -1, "SELECT count(*) FROM closed_months", ""), 0);
    /* payments and plan changes fail alike */
    ck_assert_int_eq(billing_pay(db, BY, c, 10, why, sizeof why), SUB_ERROR);
    ck_assert_int_eq(customer_change_plan(db, BY, c, "payg", month, why, sizeof why), SUB_ERROR);
    sqlite3_set_authorizer(db, NULL, NULL);
    ck_assert_int_eq(balance(c), 0);

    /* once the database answers, the same work is done right */
    ck_assert_int_eq(charge(c, "urn:uuid:9", "7", "2026-03-15T10:00:00Z"), USAGE_CHARGED);
    ck_assert_int_eq(invoices_close_month(db, "2026-03", &issued, why, sizeof why), SUB_OK);
    ck_assert_int_eq(db_int(db, NULL, -1, "SELECT fee_cents FROM invoices", ""), 2900);
    ck_assert_int_eq(balance(c), -2907);

    /* a plan the catalogue does not know, or none at all: errors too */
    ck_assert_int_eq(sqlite3_exec(db, "UPDATE plan_periods SET plan = 'gold'", NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(charge_status(c, "urn:uuid:10"), SUB_ERROR);
    ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM plan_periods", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(customer_plan_in(db, c, "2026-03", plan), 1);
    ck_assert_int_eq(charge_status(c, "urn:uuid:11"), SUB_ERROR);
    ck_assert_int_eq(balance(c), -2907);
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
    tcase_add_test(t, test_credit_updated);
    tcase_add_test(t, test_credit_backfill_once);
    tcase_add_test(t, test_failed_plan_lookup_is_an_error);
    suite_add_tcase(s, t);
    t = tcase_create("access");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_origin_rules);
    tcase_add_test(t, test_csrf_tokens_and_secrets);
    tcase_add_test(t, test_cookies);
    tcase_add_test(t, test_anonymous_callers);
    tcase_add_test(t, test_operator_sessions);
    tcase_add_test(t, test_portal_sign_in);
    tcase_add_test(t, test_user_admin_flag);
    tcase_add_test(t, test_authors_and_history);
    tcase_add_test(t, test_migrates_an_older_database);
    tcase_add_test(t, test_money_shown_with_its_currency);
    tcase_add_test(t, test_money_typed_in_dollars);
    tcase_add_test(t, test_charts);
    tcase_add_test(t, test_customer_list);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tk_run(suite());
}
