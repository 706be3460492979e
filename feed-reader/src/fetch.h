/*
 * fetch.h - one HTTP GET of a feed document, hardened.
 *
 * A fetcher owns one libcurl easy handle, reused so that a follower keeps
 * its connection to the producer alive. Every response is untrusted: the
 * body is capped while it arrives (its buffer's max is max_document:
 * FR_ERR_TOO_LARGE as soon as it passes it, or a Content-Length says it
 * would), transfers have connect, total and low-speed limits, only http
 * and https are spoken (also after a redirect, of which there are at most
 * 3), and a 200 must be Atom or XML. Documents are asked for gzipped;
 * the cap applies to the bytes after decompression, so a small gzip bomb
 * is refused like a large document. https peers and host names are
 * verified, against cfg->ca_file when given.
 */
#ifndef FR_FETCH_H
#define FR_FETCH_H

#include <curl/curl.h>
#include <signal.h>
#include <stddef.h>

#include "dynbuf.h"
#include "feedreader.h"

/* Largest document accepted when the configuration says nothing. */
#define FR__MAX_DOCUMENT ((size_t)32 << 20)

struct fr__fetch {
    /* the reused easy handle */
    CURL *curl;
    /* "Authorization: Bearer TOKEN", or NULL */
    char *auth_header;
    /* the body of the last response, at most max_document bytes */
    struct dynbuf body;
    /* set when a Content-Length announced a body over the cap */
    int too_large;
    /* ETag of the last response, "" if none */
    char etag[256];
    /* the last response carried Preference-Applied with a wait: the
     * producer held the long-poll (a cache answering for it does not) */
    int wait_applied;
    /* connect timeout and margin beyond a long-poll's wait, in seconds */
    unsigned connect_timeout, read_timeout;
    /* non-zero: abort the transfer now (fr_follower_stop) */
    const volatile sig_atomic_t *stop;
    /* libcurl's message of the last failure */
    char errbuf[CURL_ERROR_SIZE];
};

/* Sets up fx for cfg; stop is watched during transfers. Release with
 * fr__fetch_release() even after a failure. */
enum fr_error fr__fetch_init(struct fr__fetch *fx, const struct fr_config *cfg,
                             const volatile sig_atomic_t *stop);

void fr__fetch_release(struct fr__fetch *fx);

/*
 * GETs url. With etag (may be NULL) it sends If-None-Match, and with wait > 0
 * also "Prefer: wait=WAIT" and allows WAIT more seconds for the answer.
 * Returns FR_OK with *status 200 (body in fx->body, decompressed, ETag in
 * fx->etag; fx->wait_applied tells whether the wait was honoured), 304
 * or 404; any other status, a transport failure or a wrong content type is
 * FR_ERR_HTTP, a body over the cap FR_ERR_TOO_LARGE, a stop FR_ERR_STOPPED;
 * then msg (msg_size bytes) says what happened.
 */
enum fr_error fr__fetch_get(struct fr__fetch *fx, const char *url, const char *etag, unsigned wait,
                            long *status, char *msg, size_t msg_size);

#endif
