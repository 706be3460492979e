/*
 * credit.h - the credit a customer has left, published for the Cloud API
 * so that each node can refuse a call that would take the customer past
 * its credit limit (DESIGN.md section 7: the credit limit holds).
 *
 * Every change of a balance or a limit (registration, payment, usage
 * charge, invoice fee, plan change) publishes, in the transaction of the
 * change, a CreditUpdated entry:
 *
 *   customerId       the customer
 *   creditLeftCents  balance_cents + credit_limit_cents: what may still be
 *                    charged before the balance is below -credit_limit_cents
 *                    (negative when it already is)
 *   unitPriceCents   the price of a unit in the plan in effect now
 *   chargedThrough   for each Cloud API node whose usage feed Subscriptions
 *                    has charged, "NODE=POSITION" separated by spaces: the
 *                    balance holds every UsageRecorded entry of that node's
 *                    feed up to POSITION and none after it
 *
 * A node then knows exactly which of its own units the credit already
 * counts (those published at or before its position) and which it must
 * still subtract (those after it, and those not published yet).
 *
 * usage_nodes keeps, per node, the position of the last UsageRecorded entry
 * applied by the usage followers, written in the follower's transaction
 * together with the charge. It is not a projection of domain events (the
 * follower positions are not either): rebuild leaves it alone.
 */
#ifndef SUB_CREDIT_H
#define SUB_CREDIT_H

#include "result.h"

#include <sqlite3.h>

/* Longest chargedThrough value published; past it (hundreds of nodes) the
 * entry cannot be published and the change fails (logged). */
#define CREDIT_CHARGED_THROUGH_MAX 4096

/* Records that the usage feed of node has been applied up to position,
 * in the caller's transaction. node NULL or "" records nothing. SUB_OK or
 * SUB_ERROR (logged). */
enum sub_result credit_node_applied(sqlite3 *db, const char *node, long long position);

/* Publishes CreditUpdated for customer id at time at, in the caller's
 * write transaction, from the customer's state now. SUB_OK, SUB_NOT_FOUND
 * for an unknown customer, or SUB_ERROR (logged). */
enum sub_result credit_publish(sqlite3 *db, const char *id, const char *at);

/*
 * Once per database: publishes CreditUpdated for every customer, in one
 * transaction (none may be open), so that a database made before
 * CreditUpdated existed gives each node the credit of customers registered
 * then (a node refuses the calls of a customer it has no credit for). A
 * database whose customers all came later is marked done at once. Returns
 * 0, or -1 (logged; nothing published, tried again at the next start).
 */
int credit_backfill(sqlite3 *db);

#endif
