/*
 * calendar.h - the clock and the months of billing.
 *
 * Times are RFC 3339 UTC strings with whole seconds ("2026-11-26T16:00:00Z")
 * and months are "YYYY-MM" strings; both sort as text in time order, which
 * the SQL of the projections relies on. The clock can be set by tests so
 * that month boundaries are reachable; the programs use the real one.
 */
#ifndef SUB_CALENDAR_H
#define SUB_CALENDAR_H

#include <time.h>

/* Bytes of a time string and of a month string, with the NUL. */
#define SUB_TIME_SIZE 21
#define SUB_MONTH_SIZE 8

/* The current time: the real clock unless sub_clock_set() fixed it. */
time_t sub_clock_now(void);

/* Fixes the clock at t for tests; 0 returns to the real clock. */
void sub_clock_set(time_t t);

/* Writes t as an RFC 3339 UTC time into out. */
void sub_time_format(time_t t, char out[SUB_TIME_SIZE]);

/* Writes the month of t (UTC) into out. */
void sub_month_of(time_t t, char out[SUB_MONTH_SIZE]);

/* Whether s is a month "YYYY-MM" with a year 1970-9999 and a month 01-12. */
int sub_month_valid(const char *s);

/* Writes the month after month (valid) into out; out may be month. */
void sub_month_next(const char *month, char out[SUB_MONTH_SIZE]);

/* Writes the month that the RFC 3339 time s falls in (its first seven
 * characters, UTC times only) into out; returns -1 when s does not start
 * with "YYYY-MM-DDT". */
int sub_month_of_time(const char *s, char out[SUB_MONTH_SIZE]);

#endif
