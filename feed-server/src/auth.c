#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "feed_browser.h"

/* Whether the given credential equals one of the tokens, comparing in time
 * that does not depend on where they differ. */
static int token_ok(const struct fs_server *s, const char *cred, size_t len)
{
    int ok = 0;

    for (size_t i = 0; i < s->cfg.ntokens; i++) {
        const char *t = s->cfg.tokens[i];
        if (t && strlen(t) == len && CRYPTO_memcmp(t, cred, len) == 0)
            ok = 1;
    }
    return ok;
}

/* Decodes the Basic credentials and checks the password part. */
static int basic_ok(const struct fs_server *s, const char *b64)
{
    unsigned char out[768];
    size_t len = strlen(b64);
    int n, ok = 0;
    char *colon;

    while (len && b64[len - 1] == ' ')
        len--;
    if (len == 0 || len > 1000 || len % 4)
        return 0;
    n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
    if (n < 0)
        return 0;
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    if (len >= 1 && b64[len - 1] == '=')
        n--;
    if (len >= 2 && b64[len - 2] == '=')
        n--;
    out[n] = '\0';
    colon = memchr(out, ':', (size_t)n);
    if (colon)
        ok = token_ok(s, colon + 1, (size_t)n - (size_t)(colon + 1 - (char *)out));
    OPENSSL_cleanse(out, sizeof out);
    return ok;
}

void fs__auth_challenge(struct MHD_Response *resp, int basic)
{
    MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"feeds\"");
    if (basic)
        MHD_add_response_header(resp, "WWW-Authenticate",
                                "Basic realm=\"feeds\", charset=\"UTF-8\"");
}

void fs__auth_check(struct fs_request *req)
{
    const struct fs_server *s = req->server;
    const char *h;
    int ok = 0;

    if (s->cfg.ntokens == 0) {
        if (fs_request_is_loopback(req))
            return;
        req->kind = FS_KIND_ERROR;
        req->err_status = 403;
        snprintf(req->err_msg, sizeof req->err_msg,
                 "feeds are served to loopback clients only: no feed token is configured");
        return;
    }
    h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *t = h + 7;
        while (*t == ' ')
            t++;
        ok = token_ok(s, t, strlen(t));
    } else if (h && strncasecmp(h, "Basic ", 6) == 0) {
        const char *t = h + 6;
        while (*t == ' ')
            t++;
        ok = basic_ok(s, t);
    }
    if (ok)
        return;
    req->kind = FS_KIND_ERROR;
    req->err_status = 401;
    req->www_authenticate = 1;
    if (req->tail ||
        fs__browser_repr(req, fs__negotiate_feed(fs_request_header(req, MHD_HTTP_HEADER_ACCEPT))) ==
            FS_REPR_HTML) {
        req->token_hint = 1;
        if (!fs__query_has(req, "login"))
            req->www_authenticate = 2;
    }
    snprintf(req->err_msg, sizeof req->err_msg, "%s",
             h ? "the token is not valid for these feeds"
               : "send a feed token as \"Authorization: Bearer TOKEN\"");
}
