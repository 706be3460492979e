/*
 * links.h - resolving the links of a feed document, and keeping the walk on
 * the producer's origin.
 *
 * A link's href is a URI reference (RFC 3986): absolute, network-path
 * ("//host/x"), absolute-path ("/feeds/x/pages/3") or relative ("pages/3",
 * "../x"). It is resolved against the URL the document was requested at,
 * with libcurl's URL API (curl_url()), never by hand. A resolved link whose
 * scheme, host (compared without regard to case) or port (the scheme's
 * default when none is written) differs from that URL's is refused: a
 * document cannot send the follower, and its bearer token, anywhere else.
 * Resolved URLs carry no fragment (it is never sent) and are at most
 * FR__URL_MAX bytes.
 */
#ifndef FR_LINKS_H
#define FR_LINKS_H

#include <stddef.h>
#include <stdint.h>

#include "feedreader.h"

#define FR__URL_MAX 2048

/*
 * Resolves href against base (an absolute http(s) URL) into *out, a new
 * string the caller frees with free(). Returns FR_OK; FR_ERR_PARSE when href
 * is not a URI reference libcurl accepts, is too long, or leaves base's
 * scheme, host and port; FR_ERR_NOMEM. On failure *out is NULL and msg
 * (msg_size bytes) says why, naming href.
 */
enum fr_error fr__link_resolve(const char *base, const char *href, char **out, char *msg,
                               size_t msg_size);

/*
 * Normalises url (absolute) as libcurl writes it, without fragment, into
 * *out (caller frees). For comparing a configured URL with resolved links.
 */
enum fr_error fr__url_normalize(const char *url, char **out);

/*
 * Whether url's path ends in "/pages/N" (N decimal, no query): then
 * *prefix_len is the length of url up to and including "/pages/" and *page
 * is N. This is the archive URL shape of the project's own producers, the
 * only one from which the follower builds URLs itself (from f:pageSize).
 */
int fr__url_page_pattern(const char *url, size_t *prefix_len, int64_t *page);

#endif
