/*
 * feed_browser.h - the feed browser's answers beyond the feed documents
 * (feed_http.c answers those): one entry (GET /feeds/NAME/entries/N), the
 * live tail (GET /feeds/NAME/tail), the redirect of a browser sent to an
 * archive page not full yet, the token hint of a protected feed, and the
 * "format" query parameter that picks a representation for a link. The
 * pages themselves are written by html_view.c.
 *
 * An entry never changes once committed, but a database restored from an
 * old copy can hold another entry at the same position, so an entry's
 * answer is revalidated (Cache-Control: no-cache) with a strong ETag made,
 * like a document's, of the feed's uuid, the position, the digest of the
 * entry's id and the representation: "<feed>-e<N>-<entry>-<repr>-id".
 */
#ifndef FS_FEED_BROWSER_H
#define FS_FEED_BROWSER_H

#include <stdint.h>

#include "http_server.h"
#include "negotiate.h"

/* The representation req asks for: its "format" query parameter (atom,
 * json or html) when it has a known one, else negotiated (from Accept). */
enum fs__repr fs__browser_repr(struct fs_request *req, enum fs__repr negotiated);

/* Whether req's query string has the argument key, with a value or not. */
int fs__query_has(struct fs_request *req, const char *key);

/* Answers req, a GET of /feeds/NAME/entries/N (req->entry is N), in repr:
 * an Atom entry document, one CloudEvent, or the entry's page; 404 when
 * the feed has no entry N yet. */
void fs__browser_entry(struct fs_request *req, enum fs__repr repr);

/* Answers req, a GET of /feeds/NAME/tail, with the live tail page. */
void fs__browser_tail(struct fs_request *req);

/* Answers a browser that asked for archive page `page` of req's feed, not
 * full yet: 303 to the head, which holds its entries so far. */
void fs__browser_to_head(struct fs_request *req, int64_t page);

/* Answers req, refused a protected feed (401, req->token_hint set), with
 * the page that says what the token is and how to send it. */
void fs__browser_token_hint(struct fs_request *req);

#endif
