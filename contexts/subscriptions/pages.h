/*
 * pages.h - the HTML pages of Subscriptions, for operators in a browser:
 * the customer list with a form to register one, a customer's page (users,
 * keys, balance, status, this month's usage, recent charges, and the forms
 * that act on them), its invoices, and the page that shows a new login key
 * once. Every page works without JavaScript; forms post
 * application/x-www-form-urlencoded to the same routes as the JSON API.
 */
#ifndef SUB_PAGES_H
#define SUB_PAGES_H

#include "users.h"

struct fs_request;

/* The program name shown in the layout. */
#define SUB_PROG "subscriptions"

/* Answers 200 with the customer list. */
void page_customers(struct fs_request *req);

/* Answers 200 with customer id's page, or 404. */
void page_customer(struct fs_request *req, const char *id);

/* Answers 200 with customer id's invoices, or 404. */
void page_invoices(struct fs_request *req, const char *id);

/* Answers 201 with the page that shows key (a new user's first key when
 * email is not NULL) once. */
void page_new_key(struct fs_request *req, const char *customer_id, const char *email,
                  const struct new_key *key);

/* Answers status with a page saying why, linking back to back_href. */
void page_error(struct fs_request *req, unsigned status, const char *why, const char *back_href);

#endif
