/*
 * invoices.h - closing a month: one invoice per customer.
 *
 * Closing month M, once: every customer registered in or before M gets an
 * invoice with the monthly fee of its plan in M (not prorated), the units
 * counted in M and their charges; the fee is charged to the balance, which
 * may lock the customer for overdraft. The month is then closed: usage that
 * arrives later for it counts in the next open month (billing.h). Closing
 * a closed month changes nothing. A month is closed by an operator
 * (`close-month`, also the current month) or by `serve` once it has ended;
 * either way the events' author is AUTHOR_BILLING (audit.h).
 */
#ifndef SUB_INVOICES_H
#define SUB_INVOICES_H

#include "result.h"

#include <sqlite3.h>
#include <stddef.h>

/*
 * Closes month ("YYYY-MM") in one transaction. On SUB_OK, *issued (may be
 * NULL) is the number of invoices issued, and -1 when the month was already
 * closed. SUB_INVALID for a malformed month or one that has not started.
 */
enum sub_result invoices_close_month(sqlite3 *db, const char *month, long long *issued,
                                     char *why, size_t why_size);

/*
 * Closes, oldest first, every month that has ended, is not closed, and is
 * not before the month of the first registration. Returns the number of
 * months closed, or -1 (logged) when one failed.
 */
int invoices_close_past_months(sqlite3 *db);

#endif
