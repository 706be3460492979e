/*
 * csrf.h - refusing cross-site requests that would change state.
 *
 * Two rules, which a program applies to every request that changes state
 * (every method but GET, HEAD and OPTIONS):
 *
 *  1. The browser's own word. A request whose Sec-Fetch-Site is anything
 *     but "same-origin" or "none" (a page of another site, or of the same
 *     site on another port, started it), or whose Origin is not the
 *     server's own origin (compared with the Host header the request was
 *     sent to), came from another page and is refused. Programs (curl,
 *     scripts) send neither header and are not affected.
 *  2. The session's token. A form posted with a session cookie must carry
 *     that session's CSRF token, HMAC-SHA256(session id, "csrf"): pages
 *     put it in a hidden field, and a page of another site cannot know it,
 *     since the session id is in an HttpOnly cookie. Nothing is stored.
 *
 * The origin rule compares host and port only: the programs speak plain
 * HTTP and may sit behind a proxy that terminates TLS, so the scheme the
 * browser used is not known here; a proxy must pass the browser's Host
 * header on.
 */
#ifndef SUPPORT_CSRF_H
#define SUPPORT_CSRF_H

#include "secrets.h"

#include <stddef.h>

struct fs_request;

/* The form field and the request header that carry the CSRF token. */
#define CSRF_FIELD "csrf"
#define CSRF_HEADER "X-CSRF-Token"

/* Whether method changes state: anything but GET, HEAD and OPTIONS. */
int csrf_changes_state(const char *method);

/*
 * Decides from a request's Origin, Sec-Fetch-Site and Host headers (each
 * NULL when absent) whether a page of another site sent it. Returns 0 when
 * it may go on (same origin, or a client that sends neither header), -1
 * with the reason in why (why_size bytes) when it must be refused. Origin
 * "null" (a sandboxed or privacy-sensitive context) is refused unless
 * Sec-Fetch-Site says "same-origin".
 */
int csrf_check_origin(const char *origin, const char *sec_fetch_site, const char *host, char *why,
                      size_t why_size);

/* csrf_check_origin() on the headers of req. */
int csrf_check_request(const struct fs_request *req, char *why, size_t why_size);

/* Writes the CSRF token of the session whose id is session_id into out.
 * Returns 0, or -1 if libcrypto failed. */
int csrf_token(const char *session_id, char out[SHA256_HEX_SIZE]);

/* Whether presented (may be NULL) is the CSRF token of session_id,
 * compared in constant time: 1 or 0. */
int csrf_token_ok(const char *session_id, const char *presented);

#endif
