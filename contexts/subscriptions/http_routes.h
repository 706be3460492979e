/*
 * http_routes.h - the HTTP interface of Subscriptions (DESIGN.md section 7).
 *
 * The operator's routes (ACCESS_OPERATOR, access.h):
 *
 *   GET    /                                     customer list (HTML page; JSON list otherwise)
 *   GET    /customers                            list
 *   POST   /customers                            register: name, plan?, credit_limit_cents?
 *   GET    /customers/ID                         one customer
 *   GET    /customers/ID/invoices                its invoices
 *   GET    /customers/ID/history                 its changes, newest first, with their authors
 *   POST   /customers/ID/users                   add a user: email
 *   POST   /customers/ID/users/UID/keys          issue a key
 *   DELETE /customers/ID/users/UID/keys/KID      revoke a key
 *   DELETE /customers/ID/users/UID               remove a user
 *   POST   /customers/ID/users/UID/admin         make the user an administrator: admin=1|0
 *   POST   /customers/ID/payments                record a payment: amount_cents
 *   POST   /customers/ID/lock, /unlock           the operator's lock and unlock
 *   POST   /customers/ID/plan                    change plan from next month: plan
 *   POST   /logout                               end the operator's session
 *
 * Signing in (ACCESS_ANYONE):
 *
 *   GET    /login, POST /login                   operator: token
 *   GET    /portal/login, POST /portal/login     a customer's user: email, login_key
 *
 * The customer portal (ACCESS_PORTAL; ACCESS_PORTAL_ADMIN for changes):
 *
 *   GET    /portal                               303 to the user's own customer
 *   GET    /portal/customers/ID                  the user's own customer (another id: 404)
 *   GET    /portal/customers/ID/invoices
 *   POST   /portal/customers/ID/users            admin: add a user
 *   POST   /portal/customers/ID/users/UID/keys   admin: issue a key
 *   DELETE /portal/customers/ID/users/UID/keys/KID, DELETE /portal/customers/ID/users/UID
 *   POST   /portal/logout
 *
 * HTML forms cannot send DELETE, so the pages post to aliases:
 * .../users/UID/keys/KID/revoke and .../users/UID/remove. A browser
 * (Accept: text/html) gets HTML pages, and a 303 back to the customer's
 * page after a change; other clients get JSON and the statuses of
 * DESIGN.md.
 */
#ifndef SUB_HTTP_ROUTES_H
#define SUB_HTTP_ROUTES_H

#include "access.h"

struct fs_server;
struct http_routes;

/* Largest request body accepted by the routes, in bytes. */
#define SUB_MAX_BODY 16384

/* Mounts every route above on server, with the access rules of cfg
 * (borrowed: it must outlive the server). Returns the routes' state, which
 * the caller frees with http_routes_free() after closing the server, or
 * NULL (logged). */
struct http_routes *http_routes_mount(struct fs_server *server, const struct access_config *cfg);

/* Frees what http_routes_mount() returned. Accepts NULL. */
void http_routes_free(struct http_routes *routes);

#endif
