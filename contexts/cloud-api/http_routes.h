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
 *   403 {"error","reason"} when the key's customer is locked;
 *   503 when the usage could not be stored (nothing charged; retry).
 *
 * Optional "Idempotency-Key: K" (1-128 of [A-Za-z0-9._:-]) makes a retry
 * safe: the first 200 for (login key, K) is stored with its units, in one
 * transaction, and any later call with the same login key and K within 24
 * hours gets that same body again with "Idempotent-Replayed: true", charged
 * nothing, whatever its text (idempotency.h). Another login key with the
 * same K is another call.
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
    /* NULL when metering is off (CLOUD_API_METERING=off, for benchmarks). */
    struct meter *meter;
    /* May be NULL (then /metrics shows no publication counters). */
    struct usage_publisher *publisher;
    /* Analyze answers by outcome, for /metrics; replayed counts the 200s
     * that were stored answers sent again (also counted in ok). */
    atomic_ullong ok, unauthorized, locked, failed, replayed;
};

/* Mounts POST /api/v1/analyze, GET / and the /status and /metrics pages. */
void http_routes_mount(struct fs_server *server, struct cloud_api *api);

#endif
