#include "cloud_client.h"

#include "strbuf.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set once the process is shutting down. */
static atomic_int cancelled;
/* The CAs to trust instead of the system's, or NULL; set before threads. */
static const char *trusted_ca_file;

void cloud_client_cancel_all(void)
{
    atomic_store(&cancelled, 1);
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)userdata;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&cancelled) ? 1 : 0;
}

int cloud_client_global_init(const char *ca_file)
{
    trusted_ca_file = ca_file;
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

/* Keeps the answer in a buffer capped at CLOUD_MAX_REPLY: past it (or out
 * of memory) the transfer stops. */
static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    size_t n = size * nmemb;

    return dynbuf_add(userdata, ptr, n) == DYNBUF_OK ? n : 0;
}

static enum cloud_outcome classify(long status)
{
    if (status == 200)
        return CLOUD_DONE;
    if (status == 401 || status == 403)
        return CLOUD_REFUSED;
    if (status >= 500 || status == 408 || status == 429 || status < 200)
        return CLOUD_UNREACHABLE;
    return CLOUD_REJECTED;
}

enum cloud_outcome cloud_analyze(const char *base_url, const char *key, const char *idempotency_key,
                                 const char *text, size_t len, struct cloud_reply *reply)
{
    struct dynbuf got = DYNBUF_INIT(CLOUD_MAX_REPLY);
    struct curl_slist *headers = NULL;
    struct strbuf url = STRBUF_INIT, auth = STRBUF_INIT, idem = STRBUF_INIT;
    size_t base_len = strlen(base_url);
    CURL *curl = NULL;
    CURLcode rc;

    memset(reply, 0, sizeof *reply);
    reply->outcome = CLOUD_UNREACHABLE;
    while (base_len > 0 && base_url[base_len - 1] == '/')
        base_len--;
    sb_append(&url, base_url, base_len);
    sb_puts(&url, "/api/v1/analyze");
    sb_printf(&auth, "Authorization: Bearer %s", key);
    if (idempotency_key)
        sb_printf(&idem, "Idempotency-Key: %s", idempotency_key);
    curl = curl_easy_init();
    if (!curl) {
        snprintf(reply->error, sizeof reply->error, "cannot start an HTTP client");
        goto out;
    }
    headers = curl_slist_append(headers, sb_str(&auth));
    if (headers && idempotency_key) {
        struct curl_slist *more = curl_slist_append(headers, sb_str(&idem));
        if (!more) {
            snprintf(reply->error, sizeof reply->error, "out of memory");
            goto out;
        }
        headers = more;
    }
    if (headers) {
        struct curl_slist *more =
            curl_slist_append(headers, "Content-Type: text/plain; charset=utf-8");
        if (more)
            headers = more;
        more = curl_slist_append(headers, "Expect:");
        if (more)
            headers = more;
    }
    curl_easy_setopt(curl, CURLOPT_URL, sb_str(&url));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (trusted_ca_file) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, trusted_ca_file);
        curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
    }
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &got);
    rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        if (dynbuf_error(&got) == DYNBUF_TOO_BIG)
            snprintf(reply->error, sizeof reply->error, "the Cloud API's answer is over %d bytes",
                     CLOUD_MAX_REPLY);
        else
            snprintf(reply->error, sizeof reply->error, "the Cloud API cannot be reached: %s",
                     curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
    reply->outcome = classify(reply->status);
    if (reply->outcome != CLOUD_DONE)
        snprintf(reply->error, sizeof reply->error, "the Cloud API answered %ld", reply->status);
out:
    reply->body = dynbuf_take(&got, NULL);
    if (!reply->body)
        reply->body = xstrdup("");
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    {
        /* The login key does not outlive the call in this copy. */
        size_t n = 0;
        volatile char *p = sb_detach(&auth, &n);

        for (size_t i = 0; i < n; i++)
            p[i] = '\0';
        free((char *)p);
    }
    sb_release(&idem);
    sb_release(&url);
    return reply->outcome;
}

void cloud_reply_release(struct cloud_reply *reply)
{
    if (!reply)
        return;
    free(reply->body);
    reply->body = NULL;
}
