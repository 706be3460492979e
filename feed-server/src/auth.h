/*
 * auth.h - who may read the feeds.
 *
 * With tokens configured, a request must present one of them, as
 * "Authorization: Bearer TOKEN" (followers) or as the password of Basic
 * authentication (browsers, which prompt for it after the 401). With no
 * tokens, only loopback clients may read, and others get 403.
 *
 * A browser (a request for HTML) refused gets the token hint page
 * (feed_browser.h) with the Bearer challenge alone, so that it shows the
 * page instead of a password dialog with no word of what to type; the
 * same URL with "?login" adds the Basic challenge, which opens the dialog.
 */
#ifndef FS_AUTH_H
#define FS_AUTH_H

#include "http_server.h"

/* Checks req against the server's tokens; on refusal turns req into a 401
 * (with challenges) or 403 error. */
void fs__auth_check(struct fs_request *req);

/* Adds the WWW-Authenticate challenges of a 401 to resp: Bearer, and
 * Basic too when basic is non-zero. */
void fs__auth_challenge(struct MHD_Response *resp, int basic);

#endif
