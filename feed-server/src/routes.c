#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "feed_http.h"

int fs__route_pattern_ok(const char *pattern)
{
    unsigned stars = 0;

    if (!pattern || pattern[0] != '/' || strlen(pattern) > 1024)
        return 0;
    for (const char *p = pattern; (p = strchr(p, '*')) != NULL; p++) {
        if (p[-1] != '/' || (p[1] != '/' && p[1] != '\0'))
            return 0;
        stars++;
    }
    return stars <= FS_MAX_PARAMS;
}

/* Matches path against pattern; on success stores copies of the "*"
 * segments in params (the caller frees them) and returns 1. */
static int match(const char *pattern, const char *path, char **params, unsigned *nparams)
{
    unsigned n = 0;

    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t len = strcspn(path, "/");

            if (len == 0 || n >= FS_MAX_PARAMS)
                goto fail;
            params[n] = strndup(path, len);
            if (!params[n])
                goto fail;
            n++;
            path += len;
            pattern++;
        } else if (*pattern == *path) {
            pattern++;
            path++;
        } else {
            goto fail;
        }
    }
    if (*pattern || *path)
        goto fail;
    *nparams = n;
    return 1;
fail:
    while (n > 0)
        free(params[--n]);
    return 0;
}

static void fail(struct fs_request *req, unsigned status, const char *msg)
{
    req->kind = FS_KIND_ERROR;
    req->err_status = status;
    snprintf(req->err_msg, sizeof req->err_msg, "%s", msg);
}

/* Parses a page number: decimal digits without leading zeros, at most 15,
 * so that page * page_size cannot overflow. -1 if it is not one. */
static int64_t page_number(const char *s)
{
    int64_t v = 0;
    size_t n = strlen(s);

    if (n == 0 || n > 15 || (s[0] == '0' && n > 1))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int is_get(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static void classify_feed(struct fs_request *req, const char *rest)
{
    struct fs_server *s = req->server;
    char name[80], msg[200];
    const char *slash = strchr(rest, '/');
    size_t len = slash ? (size_t)(slash - rest) : strlen(rest);

    if (len == 0 || len >= sizeof name) {
        fail(req, 404, "no such feed");
        return;
    }
    memcpy(name, rest, len);
    name[len] = '\0';
    req->feed = fs__feed_find(s, name);
    if (!req->feed) {
        fail(req, 404, "no such feed");
        return;
    }
    req->page = -1;
    if (slash && strncmp(slash, "/entries/", 9) == 0) {
        req->entry = page_number(slash + 9);
        if (req->entry < 1) {
            snprintf(msg, sizeof msg,
                     "bad entry position; use a whole number from 1, as in /feeds/%s/entries/1",
                     name);
            fail(req, 404, msg);
            return;
        }
    } else if (slash && strcmp(slash, "/tail") == 0) {
        req->tail = 1;
    } else if (slash) {
        if (strncmp(slash, "/pages/", 7) != 0) {
            fail(req, 404,
                 "no such document; feeds have /feeds/NAME, /feeds/NAME/pages/N,"
                 " /feeds/NAME/entries/N and /feeds/NAME/tail");
            return;
        }
        req->page = page_number(slash + 7);
        if (req->page < 0) {
            snprintf(msg, sizeof msg,
                     "bad page number; use a whole number from 0, as in /feeds/%s/pages/0", name);
            fail(req, 404, msg);
            return;
        }
    }
    if (!is_get(req->method)) {
        snprintf(req->allow, sizeof req->allow, "GET, HEAD");
        fail(req, 405, "feeds are read with GET");
        return;
    }
    req->kind = FS_KIND_FEED;
    fs__auth_check(req);
}

void fs__route_classify(struct fs_request *req)
{
    struct fs_server *s = req->server;
    const char *path = req->path;
    size_t alen = 0;

    req->max_body = 65536;
    if (strcmp(path, "/healthz") == 0) {
        req->kind = FS_KIND_HEALTHZ;
        if (!is_get(req->method)) {
            snprintf(req->allow, sizeof req->allow, "GET, HEAD");
            fail(req, 405, "use GET");
        }
        return;
    }
    if (strncmp(path, "/feeds/", 7) == 0 && s->nfeeds > 0) {
        classify_feed(req, path + 7);
        return;
    }
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct fs__route *r = &s->routes[i];
        int same = strcmp(r->method, req->method) == 0 ||
                   (strcmp(req->method, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
        char *params[FS_MAX_PARAMS];
        unsigned n = 0;

        if (!match(r->pattern, path, params, &n))
            continue;
        if (same && req->kind != FS_KIND_ROUTE) {
            req->kind = FS_KIND_ROUTE;
            req->route = r;
            req->max_body = r->max_body;
            memcpy(req->params, params, n * sizeof params[0]);
            req->nparams = n;
            return;
        }
        while (n > 0)
            free(params[--n]);
        if (!strstr(req->allow, r->method)) {
            int w = snprintf(req->allow + alen, sizeof req->allow - alen, "%s%s", alen ? ", " : "",
                             r->method);
            if (w > 0 && (size_t)w < sizeof req->allow - alen)
                alen += (size_t)w;
        }
    }
    if (alen) {
        char msg[128];
        snprintf(msg, sizeof msg, "method %.16s is not allowed here; use %s", req->method,
                 req->allow);
        fail(req, 405, msg);
        return;
    }
    fail(req, 404, "no such resource");
}
