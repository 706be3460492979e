#include "fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Keeps the body; past the cap (or out of memory) the transfer stops. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct fr__fetch *fx = userdata;
    size_t n = size * nmemb;

    return dynbuf_add(&fx->body, ptr, n) == DYNBUF_OK ? n : 0;
}

/* Keeps the ETag header of the final response; the header block of a
 * redirect is overwritten by the next one. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct fr__fetch *fx = userdata;
    size_t n = size * nmemb;

    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        fx->etag[0] = '\0';
        fx->wait_applied = 0;
    }
    if (n > 19 && strncasecmp(ptr, "preference-applied:", 19) == 0) {
        /* RFC 7240: "wait" is a token, matched case-insensitively. */
        for (const char *p = ptr + 19; p + 4 <= ptr + n; p++) {
            if (strncasecmp(p, "wait", 4) == 0)
                fx->wait_applied = 1;
        }
    }
    if (n > 5 && strncasecmp(ptr, "etag:", 5) == 0) {
        const char *v = ptr + 5, *end = ptr + n;
        size_t len;

        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        len = (size_t)(end - v);
        if (len < sizeof fx->etag) {
            memcpy(fx->etag, v, len);
            fx->etag[len] = '\0';
        }
    }
    return n;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct fr__fetch *fx = userdata;

    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    /* A Content-Length over the cap fails before any of the body arrives. */
    if (dltotal > 0 && (curl_off_t)fx->body.max < dltotal) {
        fx->too_large = 1;
        return 1;
    }
    return *fx->stop ? 1 : 0;
}

enum fr_error fr__fetch_init(struct fr__fetch *fx, const struct fr_config *cfg,
                             const volatile sig_atomic_t *stop)
{
    memset(fx, 0, sizeof *fx);
    fx->stop = stop;
    dynbuf_init(&fx->body, cfg->max_document ? cfg->max_document : FR__MAX_DOCUMENT);
    fx->connect_timeout = cfg->connect_timeout ? cfg->connect_timeout : 5;
    fx->read_timeout = cfg->read_timeout ? cfg->read_timeout : 10;
    if (cfg->token) {
        size_t n = strlen(cfg->token) + sizeof "Authorization: Bearer ";
        if (strpbrk(cfg->token, "\r\n"))
            return FR_ERR_INVALID;
        fx->auth_header = malloc(n);
        if (!fx->auth_header)
            return FR_ERR_NOMEM;
        snprintf(fx->auth_header, n, "Authorization: Bearer %s", cfg->token);
    }
    fx->curl = curl_easy_init();
    if (!fx->curl)
        return FR_ERR_NOMEM;
    curl_easy_setopt(fx->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(fx->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(fx->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(fx->curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(fx->curl, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(fx->curl, CURLOPT_CONNECTTIMEOUT, (long)fx->connect_timeout);
    /* gzip is asked for and decoded by libcurl before on_body(), so the
     * body's cap counts decompressed bytes. */
    curl_easy_setopt(fx->curl, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(fx->curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(fx->curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg->ca_file) {
        /* The file is the whole trust: the system's CAs are not added. */
        curl_easy_setopt(fx->curl, CURLOPT_CAINFO, cfg->ca_file);
        curl_easy_setopt(fx->curl, CURLOPT_CAPATH, NULL);
    }
    curl_easy_setopt(fx->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)fx->body.max);
    curl_easy_setopt(fx->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(fx->curl, CURLOPT_WRITEDATA, fx);
    curl_easy_setopt(fx->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(fx->curl, CURLOPT_HEADERDATA, fx);
    curl_easy_setopt(fx->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(fx->curl, CURLOPT_XFERINFODATA, fx);
    curl_easy_setopt(fx->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(fx->curl, CURLOPT_ERRORBUFFER, fx->errbuf);
    curl_easy_setopt(fx->curl, CURLOPT_USERAGENT, "feed-reader/1");
    curl_easy_setopt(fx->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    return FR_OK;
}

void fr__fetch_release(struct fr__fetch *fx)
{
    if (fx->curl)
        curl_easy_cleanup(fx->curl);
    free(fx->auth_header);
    dynbuf_release(&fx->body);
    memset(fx, 0, sizeof *fx);
}

/* Whether a Content-Type names an Atom or XML document. */
static int is_xml_type(const char *ct)
{
    static const char *const ok[] = {"application/atom+xml", "application/xml", "text/xml"};

    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t n = strlen(ok[i]);
        if (strncasecmp(ct, ok[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
            return 1;
    }
    return 0;
}

enum fr_error fr__fetch_get(struct fr__fetch *fx, const char *url, const char *etag, unsigned wait,
                            long *status, char *msg, size_t msg_size)
{
    struct curl_slist *headers = NULL, *h;
    char inm[300], prefer[32];
    enum fr_error err = FR_ERR_NOMEM;
    const char *ct = NULL;
    CURLcode rc;
    long timeout = (long)wait + fx->read_timeout + fx->connect_timeout;

    *status = 0;
    msg[0] = '\0';
    /* A body grown by an unusually large document is not kept, so a
     * follower's memory stays flat after one. */
    dynbuf_reset(&fx->body, (size_t)4 << 20);
    fx->too_large = 0;
    fx->etag[0] = '\0';
    fx->wait_applied = 0;
    fx->errbuf[0] = '\0';

    if (!(h = curl_slist_append(headers, "Accept: application/atom+xml")))
        goto out;
    headers = h;
    if (fx->auth_header) {
        if (!(h = curl_slist_append(headers, fx->auth_header)))
            goto out;
        headers = h;
    }
    if (etag && etag[0]) {
        snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
        if (!(h = curl_slist_append(headers, inm)))
            goto out;
        headers = h;
        if (wait > 0) {
            snprintf(prefer, sizeof prefer, "Prefer: wait=%u", wait);
            if (!(h = curl_slist_append(headers, prefer)))
                goto out;
            headers = h;
        }
    }
    curl_easy_setopt(fx->curl, CURLOPT_URL, url);
    curl_easy_setopt(fx->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(fx->curl, CURLOPT_TIMEOUT, timeout);
    /* Held long-polls send nothing for up to wait seconds; past that, a
     * trickle under 1 KiB/s for read_timeout seconds is a stalled body. */
    curl_easy_setopt(fx->curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(fx->curl, CURLOPT_LOW_SPEED_TIME, (long)(wait + fx->read_timeout));

    rc = curl_easy_perform(fx->curl);
    curl_easy_getinfo(fx->curl, CURLINFO_RESPONSE_CODE, status);
    if (fx->too_large || rc == CURLE_FILESIZE_EXCEEDED ||
        dynbuf_error(&fx->body) == DYNBUF_TOO_BIG) {
        snprintf(msg, msg_size, "document over %zu bytes (decompressed) at %s", fx->body.max, url);
        err = FR_ERR_TOO_LARGE;
        goto out;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK && *fx->stop) {
        snprintf(msg, msg_size, "stopped");
        err = FR_ERR_STOPPED;
        goto out;
    }
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
        rc == CURLE_SSL_CERTPROBLEM) {
        snprintf(msg, msg_size,
                 "GET %s: TLS certificate refused: %s (check the host name and --ca-file)", url,
                 fx->errbuf[0] ? fx->errbuf : curl_easy_strerror(rc));
        err = FR_ERR_HTTP;
        goto out;
    }
    if (rc != CURLE_OK) {
        snprintf(msg, msg_size, "GET %s: %s", url,
                 dynbuf_error(&fx->body) ? "out of memory for the body"
                 : fx->errbuf[0]         ? fx->errbuf
                                         : curl_easy_strerror(rc));
        err = rc == CURLE_OUT_OF_MEMORY ? FR_ERR_NOMEM : FR_ERR_HTTP;
        goto out;
    }
    if (*status == 304 || *status == 404) {
        err = FR_OK;
        goto out;
    }
    if (*status != 200) {
        snprintf(msg, msg_size, "GET %s: HTTP status %ld", url, *status);
        err = FR_ERR_HTTP;
        goto out;
    }
    curl_easy_getinfo(fx->curl, CURLINFO_CONTENT_TYPE, &ct);
    if (!is_xml_type(ct)) {
        snprintf(msg, msg_size, "GET %s: content type \"%.64s\" is not Atom", url, ct ? ct : "");
        err = FR_ERR_HTTP;
        goto out;
    }
    err = FR_OK;
out:
    curl_easy_setopt(fx->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return err;
}
