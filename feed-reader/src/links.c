#include "links.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The scheme, host and port of the URL in u (port defaulted by scheme), as
 * strings the caller frees with curl_free(). Returns 0 when all three
 * exist. */
static int origin_of(CURLU *u, char **scheme, char **host, char **port)
{
    *scheme = *host = *port = NULL;
    if (curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        return -1;
    return 0;
}

static void free_origin(char *scheme, char *host, char *port)
{
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
}

enum fr_error fr__link_resolve(const char *base, const char *href, char **out, char *msg,
                               size_t msg_size)
{
    CURLU *b = curl_url(), *u = NULL;
    char *bs = NULL, *bh = NULL, *bp = NULL, *us = NULL, *uh = NULL, *up = NULL, *s = NULL;
    enum fr_error err = FR_ERR_NOMEM;
    CURLUcode rc;

    *out = NULL;
    msg[0] = '\0';
    if (!b)
        goto out;
    err = FR_ERR_PARSE;
    if (curl_url_set(b, CURLUPART_URL, base, 0) != CURLUE_OK || origin_of(b, &bs, &bh, &bp) != 0) {
        snprintf(msg, msg_size, "cannot resolve links against %.200s", base);
        goto out;
    }
    /* A handle holding base resolves a reference set on it (RFC 3986 5.2). */
    u = curl_url_dup(b);
    if (!u) {
        err = FR_ERR_NOMEM;
        goto out;
    }
    rc = curl_url_set(u, CURLUPART_URL, href, 0);
    if (rc == CURLUE_OUT_OF_MEMORY) {
        err = FR_ERR_NOMEM;
        goto out;
    }
    if (rc != CURLUE_OK || origin_of(u, &us, &uh, &up) != 0) {
        snprintf(msg, msg_size, "link \"%.200s\" is not a URL the follower can use", href);
        goto out;
    }
    if (strcasecmp(us, bs) != 0 || strcasecmp(uh, bh) != 0 || strcmp(up, bp) != 0) {
        snprintf(msg, msg_size,
                 "link \"%.200s\" leaves %s://%s:%s (links must stay on the document's scheme,"
                 " host and port)",
                 href, bs, bh, bp);
        goto out;
    }
    if (curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK) {
        snprintf(msg, msg_size, "link \"%.200s\" is not a URL the follower can use", href);
        goto out;
    }
    if (strlen(s) > FR__URL_MAX) {
        snprintf(msg, msg_size, "link \"%.200s...\" is longer than %d bytes", href, FR__URL_MAX);
        goto out;
    }
    *out = strdup(s);
    err = *out ? FR_OK : FR_ERR_NOMEM;
out:
    if (err == FR_ERR_NOMEM)
        snprintf(msg, msg_size, "out of memory");
    curl_free(s);
    free_origin(bs, bh, bp);
    free_origin(us, uh, up);
    curl_url_cleanup(u);
    curl_url_cleanup(b);
    return err;
}

enum fr_error fr__url_normalize(const char *url, char **out)
{
    CURLU *u = curl_url();
    char *s = NULL;
    enum fr_error err = FR_ERR_NOMEM;

    *out = NULL;
    if (!u)
        return FR_ERR_NOMEM;
    err = FR_ERR_INVALID;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK || strlen(s) > FR__URL_MAX)
        goto out;
    *out = strdup(s);
    err = *out ? FR_OK : FR_ERR_NOMEM;
out:
    curl_free(s);
    curl_url_cleanup(u);
    return err;
}

int fr__url_page_pattern(const char *url, size_t *prefix_len, int64_t *page)
{
    static const char mark[] = "/pages/";
    const char *digits, *end;
    char *stop;
    long long n;

    if (strpbrk(url, "?#"))
        return 0;
    end = url + strlen(url);
    digits = end;
    while (digits > url && digits[-1] >= '0' && digits[-1] <= '9')
        digits--;
    if (digits == end || end - digits > 18 || (size_t)(digits - url) < sizeof mark - 1 ||
        memcmp(digits - (sizeof mark - 1), mark, sizeof mark - 1) != 0)
        return 0;
    errno = 0;
    n = strtoll(digits, &stop, 10);
    if (errno || stop != end || n < 0)
        return 0;
    *prefix_len = (size_t)(digits - url);
    *page = n;
    return 1;
}
