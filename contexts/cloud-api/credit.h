/*
 * credit.h - the credit limit on a Cloud API node (DESIGN.md section 7:
 * a call that would take its customer past the credit limit gets 403).
 *
 * Subscriptions stays the authority on balances; it publishes, with every
 * change of a customer's balance or limit, a CreditUpdated entry: the
 * credit left (balance + limit, in cents), the unit price, and for each
 * node the position of that node's usage feed up to which the balance
 * already holds its charges (chargedThrough).
 *
 * This node keeps, per customer, in credit_use (schema.h):
 *   left     the credit left of the last CreditUpdated
 *   price    its unit price
 *   through  this node's position in its chargedThrough
 *   served   the units this node committed that the credit does not count
 *            yet: those in usage rows published after `through`, or not
 *            published at all
 * and the meter (metering.h) accepts a call of u units only if
 * (served + u) * price <= left, adding u to served in the transaction that
 * commits the call's units. The follower, applying a CreditUpdated whose
 * position for this node moved from `through` to p, subtracts from served
 * the units of this customer's rows published in (through, p]: they are in
 * the new balance now. Both writes are in write transactions on the same
 * database, so they are serialized and no unit is counted twice or missed.
 *
 * The bound that follows: with one node, every unit served is either in
 * the balance or in served, so the balance never goes below -credit_limit
 * (a call that would cross is refused; there is no in-flight overshoot,
 * since the check and the commit are one transaction). With N nodes each
 * node checks only its own unbilled units, so the others' unbilled units
 * can be spent again: the balance never ends below
 * -credit_limit - (N - 1) * C, C the highest credit left a CreditUpdated
 * showed while the calls were made (docs/credit.md has the proof).
 *
 * A customer this node has no CreditUpdated for has no credit here: its
 * calls are refused until one arrives (Subscriptions publishes one at
 * registration).
 */
#ifndef CLOUD_API_CREDIT_H
#define CLOUD_API_CREDIT_H

#include <sqlite3.h>

/* Records name as this node's name, for the follower (serve calls it at
 * start). Returns 0, or -1 (logged). */
int credit_set_node(sqlite3 *db, const char *name);

/*
 * Applies one CreditUpdated to credit_use, inside the caller's (the
 * follower's) transaction: credit_left_cents and unit_price_cents are
 * decimal integers, charged_through "NODE=POSITION ..." (may be NULL or
 * empty: this node's position is then 0). Returns 0; -1 when the database
 * failed (logged); -2 when a field is malformed (logged; nothing written).
 */
int credit_apply_update(sqlite3 *db, const char *customer_id, const char *credit_left_cents,
                        const char *unit_price_cents, const char *charged_through);

/* Finds the position of node in a chargedThrough value: 0 when node is
 * absent, -1 when the value is malformed (a pair without '=' or a position
 * that is not a whole number). Sets *position. */
int credit_position_of(const char *charged_through, const char *node, long long *position);

#endif
