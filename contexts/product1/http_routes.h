/*
 * http_routes.h - Product 1's HTTP interface (DESIGN.md section 7):
 *
 *   GET  /                 sign-in page, or the user's page when signed in
 *   POST /login            email, login_key -> 303 + session cookie; 401; 403
 *   POST /logout           ends the session -> 303 to /
 *   POST /analyses         text -> 201 done, 202 queued (303 for a browser)
 *   GET  /analyses         the user's analyses (JSON, or the user's page)
 *   GET  /analyses/ID      one analysis (JSON)
 *
 * Every request that needs a user checks its session row (sessions.h) and
 * the key vault: a session ended by the follower, or whose key this process
 * does not hold, is signed out.
 */
#ifndef PRODUCT1_HTTP_ROUTES_H
#define PRODUCT1_HTTP_ROUTES_H

#include "analysis_runner.h"
#include "key_vault.h"
#include "retry_worker.h"

struct fs_server;
struct strbuf;
struct fs_request;

/* What the routes share; all borrowed, and must outlive the server. */
struct product1_app {
    /* seconds a session lasts */
    unsigned session_lifetime;
    struct key_vault *vault;
    struct analysis_runner *runner;
    /* may be NULL (tests): queued work then waits for the next request */
    struct retry_worker *worker;
};

/* Mounts the routes above on server. Returns 0, or -1 (logged). */
int http_routes_mount(struct fs_server *server, struct product1_app *app);

/* Product 1's lines for /metrics (an ops_metrics_fn; userdata is the app). */
void http_routes_metrics(struct fs_request *req, struct strbuf *out, void *userdata);

#endif
