/*
 * pages.h - Product 1's HTML pages: the sign-in page and the user's page
 * (a form to submit text, the list of analyses with their status and
 * results, and a banner while the Cloud API cannot be reached). Pages work
 * without JavaScript; web/static/product1.js refreshes the part with id
 * "p1-live" every few seconds when scripts run.
 */
#ifndef PRODUCT1_PAGES_H
#define PRODUCT1_PAGES_H

#include "directory.h"
#include "flash.h"
#include "sessions.h"

#include <sqlite3.h>

struct fs_request;

/* The program name shown in page headers. */
#define PRODUCT1_PROG "product1"

/* Answers with the sign-in page and status; error (may be NULL) is shown
 * above the form, email (may be NULL) refills its field. */
void page_sign_in(struct fs_request *req, unsigned status, const char *error, const char *email);

/* The same, with notice (may be NULL), such as why the user was signed
 * out, shown above everything. */
void page_sign_in_with(struct fs_request *req, unsigned status, const char *error,
                       const char *email, const char *notice);

/* Why a user was signed out, in words for the sign-in page, or NULL when
 * it is not known. lock_reason is the customer's ("overdraft", "manual"). */
const char *page_sign_out_words(enum session_end_reason why, const char *lock_reason);

/* What the user's page says about the Cloud API. */
struct cloud_state {
    int reachable;     /* 1, 0, or -1 not known yet */
    const char *error; /* why it was not reachable, "" if not known */
};

/* Answers with user u's page and status, listing their analyses (with the
 * start of each text) from db; notice (may be NULL) is shown as an error
 * above the form, flash (may be NULL) says what the last action did. */
void page_user(struct fs_request *req, unsigned status, sqlite3 *db, const struct user_ref *u,
               const struct cloud_state *cloud, const char *notice, const struct flash *flash);

#endif
