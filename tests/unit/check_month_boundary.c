/*
 * check_month_boundary - the automatic month closer across a UTC month
 * boundary, with the clock that tests set (calendar.h): nothing is invoiced
 * before the month ends; once it has, each customer gets exactly one
 * invoice for it, also with two closers on one database (two servers), and
 * usage counts in the month its window started.
 */
#include "billing.h"
#include "calendar.h"
#include "customers.h"
#include "db.h"
#include "events.h"
#include "month_closer.h"
#include "schema.h"
#include "testkit.h"

#include <check.h>
#include <feedserver.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static char *dir, *path;
static sqlite3 *db;

static time_t at_utc(int year, int month, int day, int hour, int min, int sec)
{
    struct tm tm = {0};

    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    return timegm(&tm);
}

static void setup(void)
{
    dir = tk_tempdir();
    path = tk_path(dir, "s.db");
    ck_assert_int_eq(fs_db_open(path, &db), FS_OK);
    ck_assert_int_eq(schema_create(db), 0);
}

static void teardown(void)
{
    sqlite3_close(db);
    tk_rmtree(dir);
    free(path);
    free(dir);
    sub_clock_set(0);
}

static void charge(const char *customer, const char *entry, const char *units,
                   const char *window_start)
{
    struct usage_record u = {.entry_id = entry,
                             .customer_id = customer,
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
    ck_assert_int_eq(outcome, USAGE_CHARGED);
}

/* Waits until both closers have finished at least n rounds. */
static void wait_rounds(struct month_closer *a, struct month_closer *b, unsigned long n)
{
    int64_t until = tk_now_ms() + 20000;

    while ((month_closer_rounds(a) < n || month_closer_rounds(b) < n) && tk_now_ms() < until)
        usleep(20000);
    ck_assert_uint_ge(month_closer_rounds(a), n);
    ck_assert_uint_ge(month_closer_rounds(b), n);
}

static long long invoices(const char *month)
{
    return db_int(db, NULL, -1, "SELECT count(*) FROM invoices WHERE month = ?1", "t", month);
}

START_TEST(test_the_closer_invoices_each_customer_once_when_the_month_ends)
{
    char team[SUB_ID_SIZE], payg[SUB_ID_SIZE], why[256];
    struct month_closer *a, *b;
    unsigned long ra, rb;

    sub_clock_set(at_utc(2026, 11, 30, 23, 59, 58));
    ck_assert_int_eq(customer_register(db, "operator:token-1", "Team", "team", NULL, team, why, sizeof why),
                     SUB_OK);
    ck_assert_int_eq(customer_register(db, "operator:token-1", "Payg", "payg", NULL, payg, why, sizeof why),
                     SUB_OK);
    charge(payg, "urn:uuid:nov", "40", "2026-11-30T23:59:50Z");

    /* Two servers on one database, each with its closer, checking every second. */
    a = month_closer_start(path, 1);
    b = month_closer_start(path, 1);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    wait_rounds(a, b, 2);
    ck_assert_int_eq(invoices("2026-11"), 0);

    /* The month ends. */
    sub_clock_set(at_utc(2026, 12, 1, 0, 0, 1));
    charge(payg, "urn:uuid:dec", "7", "2026-12-01T00:00:00Z");
    ra = month_closer_rounds(a);
    rb = month_closer_rounds(b);
    wait_rounds(a, b, (ra > rb ? ra : rb) + 2);
    month_closer_stop(a);
    month_closer_stop(b);

    ck_assert_int_eq(invoices("2026-11"), 2);
    ck_assert_int_eq(invoices("2026-12"), 0);
    ck_assert_int_eq(
        db_int(db, NULL, -1,
               "SELECT units FROM invoices WHERE month = '2026-11' AND customer_id = ?1", "t",
               payg),
        40);
    ck_assert_int_eq(db_int(db, NULL, -1,
                            "SELECT fee_cents FROM invoices WHERE month = '2026-11'"
                            " AND customer_id = ?1",
                            "t", team),
                     2900);
    /* The fee was charged once; December's usage waits for December. */
    ck_assert_int_eq(
        db_int(db, NULL, 0, "SELECT balance_cents FROM customers WHERE id = ?1", "t", team), -2900);
    ck_assert_int_eq(
        db_int(db, NULL, 0, "SELECT balance_cents FROM customers WHERE id = ?1", "t", payg), -47);
    ck_assert_int_eq(
        db_int(db, NULL, -1, "SELECT units FROM monthly_usage WHERE month = '2026-12'", ""), 7);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("month_boundary");
    TCase *tc = tcase_create("closer");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_the_closer_invoices_each_customer_once_when_the_month_ends);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
