/*
 * lockout.h - the overdraft rule and the lock transitions (DESIGN.md
 * section 7), shared by payments, usage charges, monthly fees and the
 * operator's lock and unlock.
 *
 * A customer is active or locked, and a lock has one reason: "overdraft"
 * (the balance went below -credit_limit_cents) or "manual" (an operator).
 * A charge that leaves an active customer below the limit locks it for
 * overdraft; a payment that brings a customer locked for overdraft back to
 * at least -credit_limit_cents unlocks it; a manual lock is lifted only by
 * the operator's unlock. Each transition is an internal event and a
 * published CustomerLocked or CustomerUnlocked entry, in the caller's
 * transaction, made by the caller's author (audit.h).
 */
#ifndef SUB_LOCKOUT_H
#define SUB_LOCKOUT_H

#include "result.h"

#include <sqlite3.h>

/* Locks customer id for reason ("overdraft" or "manual") at time at. */
enum sub_result lockout_lock(sqlite3 *db, const char *author, const char *id, const char *reason,
                             const char *at);

/* Unlocks customer id at time at; reason ("payment" or "manual") is kept
 * in the internal event. */
enum sub_result lockout_unlock(sqlite3 *db, const char *author, const char *id, const char *reason,
                               const char *at);

/* After a charge to customer id: locks it for overdraft if it is active and
 * below its limit. */
enum sub_result lockout_after_charge(sqlite3 *db, const char *author, const char *id,
                                     const char *at);

/* After a payment by customer id: unlocks it if it is locked for overdraft
 * and back within its limit. */
enum sub_result lockout_after_payment(sqlite3 *db, const char *author, const char *id,
                                      const char *at);

#endif
