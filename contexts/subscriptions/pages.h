/*
 * pages.h - the HTML pages of Subscriptions.
 *
 * For operators: the customer list with a form to register one, a
 * customer's page (users, keys, balance, status, this month's usage,
 * recent charges, its history, and the forms that act on them), its
 * invoices and history, and the pages that confirm a destructive action.
 * A form's POST answers a browser with 303 to the page it concerns,
 * carrying a one-time flash (flash.h): what happened, and a new login key
 * shown once. For
 * a customer's user, in the portal (under /portal): the same customer page
 * and invoices of the user's own customer, with the forms for users and
 * keys only when the user is an administrator of it. And the two sign-in
 * pages (sign_in_pages.c).
 *
 * Every page works without JavaScript; forms post
 * application/x-www-form-urlencoded to the same routes as the JSON API and
 * carry the session's CSRF token (csrf.h) when the viewer signed in. Pages
 * may not be framed by another site (X-Frame-Options, CSP frame-ancestors),
 * so a page of another site cannot trick a click on a form.
 */
#ifndef SUB_PAGES_H
#define SUB_PAGES_H

#include "access.h"
#include "users.h"

#include <stddef.h>

struct fs_request;
struct strbuf;

/* The program name shown in the layout. */
#define SUB_PROG "subscriptions"

/* Answers 200 with the customer list (operators). */
void page_customers(struct fs_request *req, const struct caller *who);

/* Answers 200 with customer id's page, as who may see it, or 404. */
void page_customer(struct fs_request *req, const char *id, const struct caller *who);

/* Answers 200 with customer id's invoices, or 404. */
void page_invoices(struct fs_request *req, const char *id, const struct caller *who);

/* Answers 200 with customer id's whole history (operators), or 404. */
void page_history(struct fs_request *req, const char *id, const struct caller *who);

/*
 * Answers 200 with a page that asks to confirm a destructive action:
 * question and its consequence, a button (label button) that posts the
 * form to action_path (under the caller's base, with the CSRF field) and a
 * Cancel link back to customer customer_id. Works without JavaScript.
 */
void page_confirm(struct fs_request *req, const struct caller *who, const char *customer_id,
                  const char *title, const char *question, const char *consequence,
                  const char *action_path, const char *button);

/*
 * Appends the flash (flash.h) named by req's "flash" query parameter if it
 * is who's and for scope (a customer id, or "" for the customers list),
 * taking it so that it is never shown again: the message, and a new login
 * key once with what it is for.
 */
void page_flash(struct strbuf *sb, struct fs_request *req, const struct caller *who,
                const char *scope);

/* Answers status with a page saying why, linking back to back_href. */
void page_error(struct fs_request *req, unsigned status, const char *why, const char *back_href);

/* Answers status with the operator's sign-in page (a token field), saying
 * why above it when why is not NULL; has_tokens 0 says that there is no
 * sign-in, since no admin token is configured. */
void page_operator_sign_in(struct fs_request *req, unsigned status, const char *why,
                           int has_tokens);

/* The scope of the one-time "You signed out." flash (flash.h, owner "")
 * that the two sign-in pages show. */
#define SIGNED_OUT_SCOPE "signed-out"

/* Answers status with the portal's sign-in page (email and login key),
 * saying why above it when why is not NULL. */
void page_portal_sign_in(struct fs_request *req, unsigned status, const char *why);

/* Answers status with the page whose body is sb (released here), in the
 * layout, with the headers every page of Subscriptions carries. */
void page_reply(struct fs_request *req, unsigned status, const char *title, struct strbuf *sb);

/* Appends the hidden CSRF field of who's session to a form (nothing
 * without a session). */
void page_csrf_field(struct strbuf *sb, const struct caller *who);

#endif
