/*
 * result.h - how a Subscriptions command reports its outcome.
 *
 * Every command returns one enum sub_result and, when it is not SUB_OK,
 * writes into the caller's why buffer a sentence that tells the caller what
 * to fix. The HTTP layer maps the results to statuses in one place
 * (http_routes.c): INVALID 400, UNAUTHENTICATED 401, FORBIDDEN 403,
 * NOT_FOUND 404, CONFLICT 409, ERROR 503 (the database failed: nothing
 * changed, try again).
 */
#ifndef SUB_RESULT_H
#define SUB_RESULT_H

#include <stddef.h>

enum sub_result {
    SUB_OK = 0,
    SUB_INVALID,   /* a field is missing, empty or malformed */
    SUB_NOT_FOUND, /* no such customer, user or key */
    SUB_CONFLICT,  /* the change conflicts with the state (email already used) */
    SUB_ERROR,     /* the database failed; logged */
    SUB_UNAUTHENTICATED, /* no credentials, or wrong ones (access.h) */
    SUB_FORBIDDEN,       /* known caller, or a cross-site request, not allowed to do this */
};

/* Writes the message made from fmt into why (why_size bytes, may be 0) and
 * returns result, so that a command can `return sub_fail(...)`. */
enum sub_result sub_fail(enum sub_result result, char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
