/*
 * http_routes.h - the Cloud API's HTTP interface: POST /api/v1/analyze, the
 * home page, and the context's lines of /metrics.
 *
 * POST /api/v1/analyze (DESIGN.md section 7): the login key comes as
 * "Authorization: Bearer KEY"; the body (any content type, at most
 * ANALYZE_MAX_BODY bytes, else 413 from the library) is the text. Answers:
 *   200 {"characters","words","lines","units"} once the units are durable;
 *   400 for a malformed Idempotency-Key;
 *   401 + WWW-Authenticate: Bearer for a missing, malformed, unknown,
 *       revoked or removed key;
 *   403 {"error","reason"} when the key's customer is locked (reason
 *       "overdraft" or "manual"), or when the call would take it past its
 *       credit limit (reason "credit_limit", credit.h);
 *   422 for an Idempotency-Key already used with another body;
 *   503 when the usage could not be stored (nothing charged; retry).
 *
 * Optional "Idempotency-Key: K" (1-255 visible ASCII) makes a retry safe:
 * the first 200 for (login key, K) is stored with its units and the
 * SHA-256 of its body, in one transaction, and any later call with the
 * same login key, K and body within the retention (serve's
 * --idempotency-retention, default 24 hours) gets that same answer again
 * with "Idempotent-Replayed: true", charged nothing (idempotency.h).
 * Another login key with the same K is another call.
 */
#ifndef CLOUD_API_HTTP_ROUTES_H
#define CLOUD_API_HTTP_ROUTES_H

#include <stdatomic.h>

#define ANALYZE_MAX_BODY (1024 * 1024)

struct fs_server;
struct key_lookup;
struct meter;
struct usage_publisher;

/* Everything the routes use; owned by main(), outlives the server. */
struct cloud_api {
    struct key_lookup *keys;
    /* Never NULL in bin/cloud-api; NULL only in the benchmark's unmetered
     * build (CLOUD_API_UNMETERED, main.c). */
    struct meter *meter;
    /* Seconds an Idempotency-Key's answer is replayed. */
    unsigned idempotency_retention;
    /* May be NULL (then /metrics shows no publication counters). */
    struct usage_publisher *publisher;
    /* Analyze answers by outcome, for /metrics (over_credit: refused by the
     * credit limit); replayed counts the 200s
     * that were stored answers sent again (also counted in ok). */
    atomic_ullong ok, unauthorized, locked, over_credit, failed, replayed;
};

/* Mounts POST /api/v1/analyze, GET / and the /status and /metrics pages. */
void http_routes_mount(struct fs_server *server, struct cloud_api *api);

#endif
