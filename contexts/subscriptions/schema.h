/*
 * schema.h - the tables of Subscriptions in its SQLite database.
 *
 * domain_events is the source of truth: an append-only list of internal
 * events. Every other table of this module is a projection of it, rebuilt
 * by events_rebuild() (events.h). The feed tables (fs_*) belong to the
 * feed-server library and feed_followers to the feed-reader library.
 */
#ifndef SUB_SCHEMA_H
#define SUB_SCHEMA_H

#include <sqlite3.h>

/* The name of the published feed (DESIGN.md section 6). */
#define SUB_FEED "subscriptions"
/* Entries per archive page of SUB_FEED in a new database (schema.c). */
#define SUB_FEED_PAGE_SIZE 100

/* The projection tables, in the order rebuild empties them. */
extern const char *const SUB_PROJECTION_TABLES[];
extern const unsigned SUB_NPROJECTION_TABLES;

/* Creates the missing tables and declares the published feed. Returns 0, or
 * -1 (logged). */
int schema_create(sqlite3 *db);

#endif
