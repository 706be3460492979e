/*
 * request.c - the HTTP layer's requests and replies: what a route handler
 * reads of its request (fs_request_*) and how it answers (fs_reply*), and
 * the queuing of answers that the rest of the server shares (fs__queue()).
 * A handler's reply is only recorded here; http_server.c queues it once
 * the handler has returned, with the headers the handler added.
 */
#include "http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "feed_http.h"
#include "log.h"
#include "negotiate.h"
#include "pool.h"

/* ---- Replies ---- */

struct MHD_Response *fs__response(const char *body, size_t len)
{
    return MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
}

int fs__queue(struct fs_request *req, unsigned status, struct MHD_Response *resp)
{
    struct fs_server *s = req->server;
    int ok = 1;

    if (resp)
        ok = MHD_queue_response(req->conn, status, resp) == MHD_YES;
    req->queued = 1;
    atomic_fetch_add(&s->requests, 1);
    if (status / 100 < 6)
        atomic_fetch_add(&s->responses[status / 100], 1);
    if (status == 304)
        atomic_fetch_add(&s->not_modified, 1);
    return ok;
}

void fs__queue_reply(struct fs_request *req)
{
    struct MHD_Response *r = req->resp;

    req->resp = NULL;
    if (!r)
        return;
    for (struct fs__header *h = req->headers; h; h = h->next)
        MHD_add_response_header(r, h->name, h->value);
    if (req->status == 401 && req->www_authenticate)
        fs__auth_challenge(r, req->www_authenticate == 1);
    if (req->status == 405 && req->allow[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, req->allow);
    /* No cache keeps an error (DESIGN.md section 5): a 404 for a page not
     * full yet, or a 503, kept by a cache would stall every reader behind
     * it. Under /feeds/ it varies like the documents there. A 431 is left
     * as it is: its request filled the connection's memory, which has no
     * room for more headers, and no cache stores a 431 it is not told to. */
    if (req->status >= 400 && req->status != 431) {
        if (!MHD_get_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL))
            MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (strncmp(req->path, "/feeds/", 7) == 0 &&
            !MHD_get_response_header(r, MHD_HTTP_HEADER_VARY))
            MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, fs__feed_vary(req->server));
    }
    fs__queue(req, req->status, r);
    MHD_destroy_response(r);
}

void fs__answer_error(struct fs_request *req, unsigned status, const char *msg)
{
    fs_reply_error(req, status, "%s", msg);
    fs__queue_reply(req);
}

void fs__header_append(struct fs__header **list, const char *name, const char *value)
{
    struct fs__header *h = calloc(1, sizeof *h), **tail;

    if (!h)
        return;
    h->name = strdup(name);
    h->value = strdup(value);
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        free(h);
        return;
    }
    for (tail = &*list; *tail; tail = &(*tail)->next)
        ;
    *tail = h;
}

void fs_reply_header(struct fs_request *req, const char *name, const char *value)
{
    fs__header_append(&req->headers, name, value);
}

static void set_reply(struct fs_request *req, unsigned status, const char *content_type,
                      struct MHD_Response *r)
{
    if (req->resp) {
        fs__log(&req->server->cfg, FS_LOG_WARN,
                "a handler answered twice; the second answer is dropped", "path", req->path, NULL);
        if (r)
            MHD_destroy_response(r);
        return;
    }
    if (!r)
        r = fs__response("", 0), status = 500;
    if (r && content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    req->resp = r;
    req->status = status;
}

void fs_reply(struct fs_request *req, unsigned status, const char *content_type, const char *body,
              size_t len)
{
    set_reply(req, status, content_type, fs__response(body ? body : "", body ? len : 0));
}

void fs_reply_take(struct fs_request *req, unsigned status, const char *content_type, char *body,
                   size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);

    if (!r)
        free(body);
    set_reply(req, status, content_type, r);
}

void fs_reply_error(struct fs_request *req, unsigned status, const char *fmt, ...)
{
    char msg[1024];
    struct dynbuf b = DYNBUF_INIT(sizeof msg * 8);
    va_list ap;
    char *body;
    size_t len = 0;

    va_start(ap, fmt);
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
        msg[0] = '\0';
    va_end(ap);
    if (req->server->error_page && fs_request_wants_html(req)) {
        req->server->error_page(req, status, msg, req->server->error_page_userdata);
        return;
    }
    dynbuf_adds(&b, "{\"error\": \"");
    dynbuf_add_json(&b, msg, strlen(msg));
    dynbuf_adds(&b, "\"}\n");
    body = dynbuf_take(&b, &len);
    if (!body) {
        set_reply(req, 500, NULL, NULL);
        return;
    }
    fs_reply_take(req, status, "application/json", body, len);
}

void fs_server_error_page(struct fs_server *server, fs_error_page_fn *fn, void *userdata)
{
    server->error_page = fn;
    server->error_page_userdata = userdata;
}

/* ---- What a handler reads ---- */

const char *fs_request_method(const struct fs_request *req)
{
    return req->method;
}

const char *fs_request_path(const struct fs_request *req)
{
    return req->path;
}

const char *fs_request_param(const struct fs_request *req, unsigned i)
{
    return i < req->nparams ? req->params[i] : NULL;
}

const char *fs_request_header(const struct fs_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *fs_request_query(const struct fs_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *fs_request_body(const struct fs_request *req, size_t *len)
{
    if (len)
        *len = dynbuf_len(&req->body);
    return dynbuf_ptr(&req->body);
}

int fs_request_wants_html(const struct fs_request *req)
{
    return fs__negotiate_html(fs_request_header(req, MHD_HTTP_HEADER_ACCEPT));
}

int fs_request_is_loopback(const struct fs_request *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    if (!sa)
        return 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        const unsigned char *a = in6->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return 1;
        return memcmp(a, mapped, 12) == 0 && a[12] == 127;
    }
    return 0;
}

sqlite3 *fs_request_db(struct fs_request *req)
{
    if (!req->dbc) {
        req->dbc = fs__pool_get(req->server);
        if (req->dbc)
            req->db_changes = sqlite3_total_changes64(req->dbc->db);
    }
    return req->dbc ? req->dbc->db : NULL;
}
