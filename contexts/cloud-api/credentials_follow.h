/*
 * credentials_follow.h - the follower side of the credential replica: the
 * event types of the subscriptions feed it applies (DESIGN.md section 6),
 * their required fields and the credentials.h function that applies each,
 * as a table of support/replica.h.
 *
 * Types without a handler are skipped by the feed-reader library (tolerant
 * reader); fields not named here are ignored. An entry of a known type that
 * lacks a required field, or whose keySha256 is not 64 hex digits, breaks
 * the published contract: it is refused, which stops the follower with the
 * reason in its log and in /status, rather than being half-applied or
 * silently dropped.
 */
#ifndef CLOUD_API_CREDENTIALS_FOLLOW_H
#define CLOUD_API_CREDENTIALS_FOLLOW_H

#include <sqlite3.h>

struct fr_follower;

/* A follow_setup_fn (program.h): creates the replica tables in db and
 * registers the handlers on f. Returns 0, or -1 (logged). */
int credentials_follow_setup(struct fr_follower *f, sqlite3 *db, void *userdata);

#endif
