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

/* How to follow; userdata NULL takes the defaults (all zero). */
struct credentials_follow_options {
    /* Never build an empty replica in bulk (credentials_bulk.h): apply
     * every entry one at a time, as tests compare the two ways. A build a
     * crash interrupted is still finished in bulk. */
    int one_at_a_time;
};

/* A follow_setup_fn (program.h): creates the replica tables in db,
 * decides whether an empty replica is built in bulk (credentials_bulk.h),
 * and registers the handlers and the head hook on f. userdata is a struct
 * credentials_follow_options, or NULL. Returns 0, or -1 (logged). */
int credentials_follow_setup(struct fr_follower *f, sqlite3 *db, void *userdata);

#endif
