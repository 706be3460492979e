/*
 * publish.h - the entries of the published feed `subscriptions`
 * (DESIGN.md section 6), appended in the transaction of the command that
 * caused them. Types and field names here are the contract with the Cloud
 * API and Product 1; tests/samples/subscriptions/ holds one sample of each.
 */
#ifndef SUB_PUBLISH_H
#define SUB_PUBLISH_H

#include "result.h"

#include <sqlite3.h>

/* Appends an entry of type at time at (RFC 3339) whose fields are the
 * NULL-terminated list of name, value pairs that follows. Must run inside
 * the command's write transaction. SUB_OK, SUB_INVALID for a value a feed
 * cannot carry (fs_text_check()), or SUB_ERROR; both logged. */
enum sub_result publish(sqlite3 *db, const char *type, const char *at, ...);

#endif
