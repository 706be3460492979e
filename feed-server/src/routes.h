/*
 * routes.h - matching request paths against the library's own routes and
 * those a context mounted with fs_server_route().
 *
 * A pattern is a path of "/"-separated segments; "*" matches exactly one
 * non-empty segment and is captured as a parameter. A path matches the
 * first route mounted for its method (HEAD also matches GET routes); a path
 * that matches only under other methods is a 405 with those methods in Allow.
 */
#ifndef FS_ROUTES_H
#define FS_ROUTES_H

#include "http_server.h"

/* Whether pattern is usable: starts with "/", at most FS_MAX_PARAMS "*". */
int fs__route_pattern_ok(const char *pattern);

/*
 * Classifies req by its method and path: sets kind, and for a route, the
 * route and its params; for a feed, the feed and page; else an error status
 * and message (404, 405 with req->allow, 401/403 from auth).
 */
void fs__route_classify(struct fs_request *req);

#endif
