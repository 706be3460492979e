/*
 * schema.h - Product 1's tables in its own SQLite database.
 *
 * The database holds three groups of tables, all created here:
 *  - the user directory: a replica of the facts the `subscriptions` feed
 *    publishes (customers, users, login key hashes), written only by the
 *    follower (directory.c);
 *  - sessions: signed-in browsers, keyed by the SHA-256 of the session id
 *    (sessions.c); the follower deletes the rows a revocation or a lock ends;
 *  - analyses: every text a user submitted, with its status and result
 *    (analyses.c), and the `product1` feed they are published on.
 * Login keys themselves are never stored: only their SHA-256.
 */
#ifndef PRODUCT1_SCHEMA_H
#define PRODUCT1_SCHEMA_H

#include <sqlite3.h>

/* The feed Product 1 publishes (DESIGN.md section 6). */
#define PRODUCT1_FEED "product1"

/* Creates every table Product 1 needs in db if missing, and declares the
 * product1 feed. Safe to call from several processes on one file. Returns 0,
 * or -1 (logged). */
int schema_create(sqlite3 *db);

#endif
