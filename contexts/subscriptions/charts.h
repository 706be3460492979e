/*
 * charts.h - the pictures of a customer's page, drawn on the server as
 * inline SVG: they need no script, no library and nothing downloaded, and
 * carry their numbers as text (a <title> per bar, a caption) for screen
 * readers and for tests.
 */
#ifndef SUB_CHARTS_H
#define SUB_CHARTS_H

struct strbuf;

/* Days a month may have. */
#define CHART_MAX_DAYS 31

/*
 * Appends a bar chart of units per day for month ("YYYY-MM"): units[i] is
 * day i+1, days the days of the month (28..31). Days with no units get no
 * bar; the tallest bar is labelled.
 */
void chart_daily_units(struct strbuf *sb, const char *month, const long long *units, int days);

/*
 * Appends a gauge of the balance against the credit limit: how much of the
 * limit is drawn (a negative balance) or how much credit is held (a
 * positive one), with the limit marked.
 */
void chart_balance(struct strbuf *sb, long long balance_cents, long long credit_limit_cents);

/* The days of month "YYYY-MM" (28..31), or 31 for a malformed month. */
int chart_days_in_month(const char *month);

#endif
