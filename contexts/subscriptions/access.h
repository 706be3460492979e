/*
 * access.h - who may do what (DESIGN.md section 7, "Who may do what").
 *
 * Every route of Subscriptions has one rule:
 *
 *   ACCESS_ANYONE        the sign-in pages and their forms
 *   ACCESS_OPERATOR      every customer: the operator's routes
 *   ACCESS_PORTAL        a signed-in user, of the customer named in the path
 *   ACCESS_PORTAL_ADMIN  an administrator of that customer
 *
 * access_check() applies a rule to a request, in this order:
 *
 *  1. A request that changes state and that a page of another site sent
 *     (by its Origin or Sec-Fetch-Site, csrf.h) is refused with 403,
 *     whatever it presents, on loopback too.
 *  2. The caller is found. An operator presents one of the --admin-token
 *     tokens as "Authorization: Bearer TOKEN", or the cookie of a live
 *     operator session; with no admin token configured, every loopback
 *     client is the operator and others get 403. Otherwise no (or wrong)
 *     credentials get 401. A portal user presents the cookie of a live
 *     portal session, else 401.
 *  3. A request that changes state with a session cookie carries that
 *     session's CSRF token (form field "csrf" or header X-CSRF-Token), else
 *     403. Bearer tokens need none: a page of another site cannot send one.
 *  4. A portal user naming another customer's id in the path gets 404, as
 *     for an id that does not exist, so ids are never confirmed; one who is
 *     not an administrator gets 403 on ACCESS_PORTAL_ADMIN routes.
 *
 * /healthz, /status, /metrics, /system, /static and the feeds are not
 * Subscriptions' routes and keep their own rules (feeds: --feed-token).
 */
#ifndef SUB_ACCESS_H
#define SUB_ACCESS_H

#include "audit.h"
#include "result.h"
#include "sessions.h"

#include <stddef.h>

struct fs_request;

enum access_rule {
    ACCESS_ANYONE,
    ACCESS_OPERATOR,
    ACCESS_PORTAL,
    ACCESS_PORTAL_ADMIN,
};

/* What serve was told about access. Borrowed for the life of the server. */
struct access_config {
    const char *const *admin_tokens; /* --admin-token, in order (index 0 is "token 1") */
    size_t nadmin_tokens;
    unsigned session_lifetime; /* seconds a sign-in lasts */
};

enum caller_kind {
    CALLER_NOBODY,   /* not signed in: only ACCESS_ANYONE routes */
    CALLER_OPERATOR, /* an operator */
    CALLER_USER,     /* a user of a customer, in the portal */
};

/* Who sent a request, as access_check() found it. */
struct caller {
    enum caller_kind kind;
    char author[AUTHOR_SIZE];   /* who, for the audit trail and the logs (audit.h) */
    int token_index;            /* operator: the admin token, from 0; -1 on loopback without one */
    int has_session;            /* whether a session cookie identified the caller */
    struct session session;     /* that session, when has_session */
    char csrf[SHA256_HEX_SIZE]; /* its CSRF token, for the forms of pages; "" without a session */
    int stale_cookie;           /* a session cookie came whose session is over: drop it */
};

/*
 * Applies rule to req as described above and fills *who. Returns SUB_OK
 * when req may go on; otherwise SUB_UNAUTHENTICATED (401), SUB_FORBIDDEN
 * (403), SUB_NOT_FOUND (404, a portal user naming another customer) or
 * SUB_ERROR, with what to do in why.
 */
enum sub_result access_check(struct fs_request *req, const struct access_config *cfg,
                             enum access_rule rule, struct caller *who, char *why, size_t why_size);

/*
 * Step 2 for a caller who presents nothing: with no admin token configured,
 * a loopback client is the operator (SUB_OK, *who filled) and any other is
 * refused with SUB_FORBIDDEN; with admin tokens configured, SUB_UNAUTHENTICATED.
 * Separate from access_check() so that the non-loopback case can be tested
 * without another network.
 */
enum sub_result access_anonymous(const struct access_config *cfg, int loopback, struct caller *who,
                                 char *why, size_t why_size);

/* The path prefix of the caller's pages: "/portal" for a portal user, ""
 * for an operator. */
const char *caller_base(const struct caller *who);

#endif
