/*
 * http_routes.h - the HTTP interface of Subscriptions (DESIGN.md section 7).
 *
 *   GET    /                                     customer list (HTML page; JSON list otherwise)
 *   GET    /customers                            list
 *   POST   /customers                            register: name, plan?, credit_limit_cents?
 *   GET    /customers/ID                         one customer
 *   GET    /customers/ID/invoices                its invoices
 *   POST   /customers/ID/users                   add a user: email
 *   POST   /customers/ID/users/UID/keys          issue a key
 *   DELETE /customers/ID/users/UID/keys/KID      revoke a key
 *   DELETE /customers/ID/users/UID               remove a user
 *   POST   /customers/ID/payments                record a payment: amount_cents
 *   POST   /customers/ID/lock, /unlock           the operator's lock and unlock
 *   POST   /customers/ID/plan                    change plan from next month: plan
 *
 * HTML forms cannot send DELETE, so the pages post to two aliases:
 * POST /customers/ID/users/UID/keys/KID/revoke and POST
 * /customers/ID/users/UID/remove. A browser (Accept: text/html) gets HTML
 * pages, and a 303 back to the customer's page after a change; other
 * clients get JSON and the statuses of DESIGN.md.
 */
#ifndef SUB_HTTP_ROUTES_H
#define SUB_HTTP_ROUTES_H

struct fs_server;

/* Largest request body accepted by the routes, in bytes. */
#define SUB_MAX_BODY 16384

/* Mounts every route above on server. Returns 0, or -1 (logged). */
int http_routes_mount(struct fs_server *server);

#endif
