/*
 * credentials_follow.h - the follower side of the credential replica: one
 * handler per event type of the subscriptions feed (DESIGN.md section 6),
 * each reading the entry's fields and applying it with credentials.h.
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

/* The event types the replica applies, NULL-terminated. */
extern const char *const credentials_event_types[];

/* A follow_setup_fn (program.h): creates the replica tables in db and
 * registers the handlers on f. Returns 0, or -1 (logged). */
int credentials_follow_setup(struct fr_follower *f, sqlite3 *db, void *userdata);

#endif
