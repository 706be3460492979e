/*
 * schema.h - the Cloud API's tables, in its own SQLite database.
 *
 * One database file holds, side by side:
 *  - the credential replica (replica_customers, replica_users, replica_keys),
 *    written only by the `follow` process from the subscriptions feed;
 *  - the metered usage (usage_units, usage_state), written by `serve`: units
 *    accumulated per window, customer, user and key, each row later marked
 *    with the position of the UsageRecorded entry that published it;
 *  - the stored answers of calls made with an Idempotency-Key
 *    (analyze_replays, idempotency.h), written by `serve` with the units;
 *  - the `usage` feed (the feed-server library's tables).
 * Creating the schema is idempotent, so both processes call it at start.
 */
#ifndef CLOUD_API_SCHEMA_H
#define CLOUD_API_SCHEMA_H

#include <sqlite3.h>

/* The feed this node publishes its UsageRecorded entries on. */
#define CLOUD_API_USAGE_FEED "usage"

/* Creates the replica tables if missing. Returns 0, or -1 (logged). */
int schema_create_replica(sqlite3 *db);

/* Creates the usage tables (analyze_replays included) and declares the
 * usage feed if missing. Returns 0, or -1 (logged). */
int schema_create_usage(sqlite3 *db);

#endif
