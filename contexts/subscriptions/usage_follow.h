/*
 * usage_follow.h - the consumer side of a Cloud API node's `usage` feed:
 * `bin/subscriptions follow --feed URL` charges each UsageRecorded entry
 * (customerId, userId, keyId, units, windowStart, windowEnd, node) to the
 * customer's balance, exactly once (billing.h).
 */
#ifndef SUB_USAGE_FOLLOW_H
#define SUB_USAGE_FOLLOW_H

#include <sqlite3.h>

struct fr_follower;

/* The follow_setup_fn of program.h: creates the tables of Subscriptions in
 * db and handles UsageRecorded on f. Returns 0, or -1 (logged). */
int usage_follow_setup(struct fr_follower *f, sqlite3 *db, void *userdata);

#endif
