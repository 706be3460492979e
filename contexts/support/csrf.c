#include "csrf.h"

#include <feedserver.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest Origin or Host header considered; longer ones are refused. */
#define ORIGIN_MAX 300

int csrf_changes_state(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

/* A host and a port, as parsed from an Origin or a Host header. */
struct endpoint {
    char host[ORIGIN_MAX];
    long port; /* -1 when the text named none */
};

/* Parses "host[:port]" or "[v6]:port" (hostport[0..len)) into *e. Returns
 * 0, or -1 when it is malformed. */
static int parse_hostport(const char *hostport, size_t len, struct endpoint *e)
{
    const char *end = hostport + len, *colon = NULL;
    size_t host_len;

    e->port = -1;
    if (len == 0 || len >= sizeof e->host)
        return -1;
    if (hostport[0] == '[') {
        const char *close = memchr(hostport, ']', len);
        if (!close)
            return -1;
        host_len = (size_t)(close - hostport) + 1;
        if (close + 1 < end) {
            if (close[1] != ':')
                return -1;
            colon = close + 1;
        }
    } else {
        colon = memchr(hostport, ':', len);
        host_len = colon ? (size_t)(colon - hostport) : len;
    }
    if (host_len == 0)
        return -1;
    for (size_t i = 0; i < host_len; i++) {
        unsigned char c = (unsigned char)hostport[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == '@')
            return -1;
    }
    memcpy(e->host, hostport, host_len);
    e->host[host_len] = '\0';
    if (colon) {
        char digits[8];
        size_t n = (size_t)(end - colon - 1);
        char *stop;

        if (n == 0 || n >= sizeof digits || strspn(colon + 1, "0123456789") < n)
            return -1;
        memcpy(digits, colon + 1, n);
        digits[n] = '\0';
        e->port = strtol(digits, &stop, 10);
        if (*stop || e->port < 1 || e->port > 65535)
            return -1;
    }
    return 0;
}

/* Whether origin ("scheme://host[:port]") names the host and port of the
 * Host header host. */
static int same_origin(const char *origin, const char *host)
{
    struct endpoint o, h;
    long default_port;
    const char *rest;

    if (strncmp(origin, "http://", 7) == 0) {
        default_port = 80;
        rest = origin + 7;
    } else if (strncmp(origin, "https://", 8) == 0) {
        default_port = 443;
        rest = origin + 8;
    } else {
        return 0;
    }
    if (parse_hostport(rest, strlen(rest), &o) != 0 || parse_hostport(host, strlen(host), &h) != 0)
        return 0;
    if (o.port < 0)
        o.port = default_port;
    if (h.port < 0)
        h.port = default_port;
    return strcasecmp(o.host, h.host) == 0 && o.port == h.port;
}

int csrf_check_origin(const char *origin, const char *sec_fetch_site, const char *host, char *why,
                      size_t why_size)
{
    int fetch_same_origin = sec_fetch_site && strcasecmp(sec_fetch_site, "same-origin") == 0;

    if (sec_fetch_site && !fetch_same_origin && strcasecmp(sec_fetch_site, "none") != 0) {
        snprintf(why, why_size,
                 "refused: this request was sent from a page of another site or port "
                 "(Sec-Fetch-Site is not same-origin); use the form on this server's own page");
        return -1;
    }
    if (!origin)
        return 0;
    if (strcmp(origin, "null") == 0) {
        if (fetch_same_origin)
            return 0;
        snprintf(why, why_size,
                 "refused: this request was sent from a page with no origin (Origin: null); use "
                 "the form on this server's own page");
        return -1;
    }
    if (!host || strlen(origin) > ORIGIN_MAX || strlen(host) > ORIGIN_MAX ||
        !same_origin(origin, host)) {
        snprintf(why, why_size,
                 "refused: this request was sent from a page of another origin than this "
                 "server's; use the form on this server's own page");
        return -1;
    }
    return 0;
}

int csrf_check_request(const struct fs_request *req, char *why, size_t why_size)
{
    return csrf_check_origin(fs_request_header(req, "Origin"),
                             fs_request_header(req, "Sec-Fetch-Site"),
                             fs_request_header(req, "Host"), why, why_size);
}

int csrf_token(const char *session_id, char out[SHA256_HEX_SIZE])
{
    return hmac_sha256_hex(session_id, strlen(session_id), "csrf", 4, out);
}

int csrf_token_ok(const char *session_id, const char *presented)
{
    char expected[SHA256_HEX_SIZE];
    int ok;

    if (!presented || !*presented || strlen(presented) > 2 * (SHA256_HEX_SIZE - 1) ||
        csrf_token(session_id, expected) != 0)
        return 0;
    ok = secret_equal(expected, strlen(expected), presented, strlen(presented));
    memset(expected, 0, sizeof expected);
    return ok;
}
