/*
 * http_server.c - the fs_server of the HTTP layer: the libmicrohttpd
 * daemon, the lifecycle of a request (headers, body, caps, dispatch to a
 * route or to the feed layer) and of the server itself. Replies are in
 * request.c, database connections in pool.c.
 */
#include "http_server.h"

#include <arpa/inet.h>
#include <libxml/parser.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "auth.h"
#include "deferred.h"
#include "feed_browser.h"
#include "feed_http.h"
#include "log.h"
#include "long_poll.h"
#include "negotiate.h"
#include "pool.h"
#include "routes.h"
#include "slow_clients.h"

int64_t fs__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the request lifecycle ---- */

static void dispatch(struct fs_request *req)
{
    switch (req->kind) {
    case FS_KIND_HEALTHZ:
        fs_reply(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
        fs__queue_reply(req);
        return;
    case FS_KIND_FEED:
        fs__feed_serve(req);
        return;
    case FS_KIND_ROUTE:
        req->route->fn(req, req->route->userdata);
        /* Read-your-writes: a handler that wrote may have appended; the
         * heads are refreshed before its answer goes out. */
        if (req->dbc && sqlite3_total_changes64(req->dbc->db) != req->db_changes)
            fs__heads_refresh(req->server, req->dbc);
        fs__pool_put(req->server, req->dbc);
        req->dbc = NULL;
        if (req->deferred) {
            fs__deferred_hold(req);
            return;
        }
        if (!req->resp) {
            fs__log(&req->server->cfg, FS_LOG_ERROR, "a handler did not answer", "route",
                    req->route->pattern, NULL);
            fs_reply_error(req, 500, "the server did not answer this request");
        }
        fs__queue_reply(req);
        return;
    case FS_KIND_ERROR:
        break;
    }
    if (req->token_hint)
        fs__browser_token_hint(req);
    else
        fs__answer_error(req, req->err_status, req->err_msg);
}

/* Bytes of an oversized body read and dropped before giving up on it. */
#define FS_DISCARD_MAX (16 * 1024 * 1024)

static void answer_too_large(struct fs_request *req)
{
    char msg[128];

    snprintf(msg, sizeof msg, "the body is too large: at most %zu bytes here", req->max_body);
    fs__answer_error(req, 413, msg);
}

/* Adds up the bytes of one request header, for the header cap. */
static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    size_t *total = cls;

    (void)kind;
    *total += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

static enum MHD_Result handle_request(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct fs_server *s = cls;
    struct fs_request *req = *con_cls;

    (void)version;
    if (!req) {
        const char *cl;

        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        req->server = s;
        req->conn = conn;
        req->method = method;
        req->path = url;
        *con_cls = req;
        fs__route_classify(req);
        dynbuf_init(&req->body, req->max_body);
        {
            size_t total = strlen(method) + strlen(url) + 12;

            MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &total);
            if (total > s->cfg.max_header_bytes) {
                char msg[128];
                snprintf(msg, sizeof msg, "the request headers are too large: at most %zu bytes",
                         s->cfg.max_header_bytes);
                fs__answer_error(req, 431, msg);
                return MHD_YES;
            }
        }
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            unsigned long long n = strtoull(cl, &end, 10);

            /* Answered now, before the body is read; the connection closes. */
            if (end == cl || *end || n > req->max_body) {
                if (req->kind == FS_KIND_ERROR)
                    dispatch(req);
                else
                    answer_too_large(req);
            }
        }
        return MHD_YES;
    }
    if (*upload_size) {
        /* A body that its headers did not announce as too large (chunked),
         * or one sent to a request already known to fail, is read and
         * dropped so the answer reaches the client, up to a bound. */
        req->received += *upload_size;
        if (!req->queued && (req->kind == FS_KIND_ERROR || req->received > req->max_body)) {
            if (req->kind != FS_KIND_ERROR) {
                req->too_large = 1;
                dynbuf_release(&req->body);
            }
            /* An answer queued now would be lost to the reset that closing
             * on unread data causes, so past the bound the connection is
             * dropped instead. */
            if (req->received > req->max_body + FS_DISCARD_MAX) {
                fs__log(&s->cfg, FS_LOG_WARN, "request body too large to drain; connection dropped",
                        "path", req->path, NULL);
                return MHD_NO;
            }
        } else if (!req->queued) {
            dynbuf_add(&req->body, upload_data, *upload_size);
            if (dynbuf_error(&req->body))
                fs__answer_error(req, 500, "out of memory");
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->too_large && !req->queued) {
        answer_too_large(req);
        return MHD_YES;
    }
    if (req->queued || req->held)
        return MHD_YES;
    if (req->deferred) {
        fs__deferred_answer(req);
        return MHD_YES;
    }
    dispatch(req);
    return MHD_YES;
}

/* libmicrohttpd's access handler: handle_request(), and once the request
 * is being answered (queued or held), its clock stops counting against the
 * request deadline. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct fs_server *s = cls;
    enum MHD_Result r =
        handle_request(cls, conn, url, method, version, upload_data, upload_size, con_cls);
    struct fs_request *req = *con_cls;

    if (r == MHD_YES && req && (req->queued || req->held || req->deferred) && !req->answering) {
        req->answering = 1;
        fs__slow_clients_answering(s->slow, conn);
    }
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct fs_server *s = cls;
    struct fs_request *req = *con_cls;

    (void)toe;
    fs__slow_clients_request_done(s->slow, conn);
    if (!req)
        return;
    /* wait_s is set by this connection's own thread when it is held, so
     * only requests that were ever held need the lock. */
    if (req->wait_s)
        fs__long_poll_forget(req);
    fs__deferred_forget(req);
    if (req->resp)
        MHD_destroy_response(req->resp);
    fs__pool_put(req->server, req->dbc);
    for (unsigned i = 0; i < req->nparams; i++)
        free(req->params[i]);
    while (req->headers) {
        struct fs__header *h = req->headers;
        req->headers = h->next;
        free(h->name);
        free(h->value);
        free(h);
    }
    dynbuf_release(&req->body);
    free(req);
    *con_cls = NULL;
}

/* libmicrohttpd's own messages go to the server's log function. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct fs_server *s = cls;
    char msg[512];
    size_t n;

    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
        return;
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    fs__log(&s->cfg, FS_LOG_WARN, msg, "source", "libmicrohttpd", NULL);
}

/* ---- server lifecycle ---- */

/* Connections at once by default: what the process's file-descriptor limit
 * leaves after a reserve for databases and logs, at least 64 and at most
 * 65536. Programs raise their soft limit to the hard one at start. */
static unsigned default_max_connections(void)
{
    struct rlimit rl;
    rlim_t n = 1024;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        n = rl.rlim_cur == RLIM_INFINITY ? 65536 + 128 : rl.rlim_cur;
    n = n > 128 + 64 ? n - 128 : 64;
    return n > 65536 ? 65536u : (unsigned)n;
}

enum fs_error fs_server_open(const struct fs_server_config *cfg, struct fs_server **out)
{
    struct fs_server *s;

    *out = NULL;
    if (!cfg || !cfg->listen || !cfg->db_path || (cfg->ntokens && !cfg->tokens))
        return FS_ERR_INVALID;
    xmlInitParser();
    s = calloc(1, sizeof *s);
    if (!s)
        return FS_ERR_NOMEM;
    s->cfg = *cfg;
    if (!s->cfg.threads)
        s->cfg.threads = 2;
    if (!s->cfg.max_connections)
        s->cfg.max_connections = default_max_connections();
    if (!s->cfg.connection_timeout)
        s->cfg.connection_timeout = 60;
    if (!s->cfg.request_timeout)
        s->cfg.request_timeout = 30;
    if (!s->cfg.max_long_polls)
        s->cfg.max_long_polls = 1000;
    if (!s->cfg.max_header_bytes)
        s->cfg.max_header_bytes = 16384;
    if (!s->cfg.page_cache)
        s->cfg.page_cache = 64;
    s->listen = strdup(cfg->listen);
    s->db_path = strdup(cfg->db_path);
    s->slow = fs__slow_clients_new(&s->cfg, s->cfg.connection_timeout, s->cfg.request_timeout);
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_mutex_init(&s->deferred_lock, NULL);
    s->cfg.listen = s->listen;
    s->cfg.db_path = s->db_path;
    if (fs__feeds_open(s) != 0 || !s->listen || !s->db_path || !s->slow) {
        fs_server_close(s);
        return FS_ERR_NOMEM;
    }
    *out = s;
    return FS_OK;
}

enum fs_error fs_server_route(struct fs_server *s, const char *method, const char *pattern,
                              size_t max_body, fs_route_fn *fn, void *userdata)
{
    struct fs__route *routes, *r;

    if (!s || s->daemon || !method || !*method || !fn || !fs__route_pattern_ok(pattern))
        return FS_ERR_INVALID;
    routes = realloc(s->routes, (s->nroutes + 1) * sizeof *routes);
    if (!routes)
        return FS_ERR_NOMEM;
    s->routes = routes;
    r = &routes[s->nroutes];
    r->method = strdup(method);
    r->pattern = strdup(pattern);
    if (!r->method || !r->pattern) {
        free(r->method);
        free(r->pattern);
        return FS_ERR_NOMEM;
    }
    r->max_body = max_body;
    r->fn = fn;
    r->userdata = userdata;
    s->nroutes++;
    return FS_OK;
}

/* Parses "ADDR:PORT" or "[ADDR6]:PORT" into *ss. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon, *h = listen, *hend;
    char *end;
    long port;

    memset(ss, 0, sizeof *ss);
    if (listen[0] == '[') {
        h = listen + 1;
        hend = strchr(h, ']');
        if (!hend || hend[1] != ':')
            return -1;
        colon = hend + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return -1;
        hend = colon;
    }
    if ((size_t)(hend - h) >= sizeof host)
        return -1;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port < 0 || port > 65535)
        return -1;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (listen[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return -1;
        *len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (host[0] == '\0')
            a->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return -1;
        *len = sizeof *a;
    }
    return 0;
}

enum fs_error fs_server_start(struct fs_server *s)
{
    struct sockaddr_storage ss;
    socklen_t slen = 0;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    enum fs_error err;
    char addr[96], feeds[24], routes[24], threads[24];

    if (!s || s->daemon)
        return FS_ERR_INVALID;
    if (parse_listen(s->listen, &ss, &slen) != 0) {
        fs__log(&s->cfg, FS_LOG_ERROR, "bad listen address; use ADDR:PORT or [ADDR6]:PORT", "addr",
                s->listen, NULL);
        return FS_ERR_INVALID;
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (s->nfeeds) {
        err = fs__watcher_start(s);
        if (err != FS_OK)
            return err;
    }
    /* Each connection's memory pool holds the request's headers plus room
     * for the answer's; libmicrohttpd zeroes the whole pool for every
     * request, so it is sized to the header cap and a little more (a pool
     * of 32 KiB cost 14% of the time of a 304 poll in memset). */
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(s->cfg.threads > 1 ? s->cfg.threads : 0), MHD_OPTION_CONNECTION_LIMIT,
        s->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(s->cfg.max_header_bytes + 4096),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
        fs__slow_clients_notify, s->slow, MHD_OPTION_URI_LOG_CALLBACK,
        fs__slow_clients_request_line, s->slow, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
        MHD_OPTION_END);
    if (!s->daemon) {
        fs__watcher_stop(s);
        fs__log(&s->cfg, FS_LOG_ERROR, "cannot listen", "addr", s->listen, NULL);
        return FS_ERR_LISTEN;
    }
    if (fs__slow_clients_start(s->slow) != 0)
        fs__log(&s->cfg, FS_LOG_WARN,
                "cannot start the slow-client sweeper; only idle timeouts apply", NULL);
    info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    if (ss.ss_family == AF_INET6) {
        char h[64];
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, h, sizeof h);
        snprintf(addr, sizeof addr, "[%s]:%u", h, s->port);
    } else {
        char h[32];
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, h, sizeof h);
        snprintf(addr, sizeof addr, "%s:%u", h, s->port);
    }
    snprintf(feeds, sizeof feeds, "%zu", s->nfeeds);
    snprintf(routes, sizeof routes, "%zu", s->nroutes);
    snprintf(threads, sizeof threads, "%u", s->cfg.threads);
    fs__log(&s->cfg, FS_LOG_INFO, "listening", "addr", addr, "feeds", feeds, "routes", routes,
            "threads", threads, NULL);
    if (s->nfeeds && s->cfg.ntokens == 0)
        fs__log(&s->cfg, FS_LOG_INFO,
                "no feed token configured: feeds answer loopback clients only", NULL);
    return FS_OK;
}

unsigned fs_server_port(const struct fs_server *s)
{
    return s ? s->port : 0;
}

void fs_server_close(struct fs_server *s)
{
    if (!s)
        return;
    fs__watcher_stop(s);
    fs__deferred_stop(s);
    if (s->daemon) {
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
    }
    fs__slow_clients_free(s->slow);
    fs__feeds_close(s);
    for (size_t i = 0; i < s->nroutes; i++) {
        free(s->routes[i].method);
        free(s->routes[i].pattern);
    }
    fs__pool_close(s);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_mutex_destroy(&s->deferred_lock);
    free(s->routes);
    free(s->listen);
    free(s->db_path);
    free(s);
}

void fs_server_stats(const struct fs_server *s, struct fs_server_stats *st)
{
    struct fs_server *m = (struct fs_server *)(uintptr_t)s;

    memset(st, 0, sizeof *st);
    if (!s)
        return;
    st->requests = atomic_load(&m->requests);
    for (int i = 0; i < 6; i++)
        st->responses[i] = atomic_load(&m->responses[i]);
    st->not_modified = atomic_load(&m->not_modified);
    st->long_polls_held = atomic_load(&m->held);
    st->long_polls_woken = atomic_load(&m->woken);
    st->page_cache_hits = atomic_load(&m->cache_hits);
    st->connections_cut = fs__slow_clients_cut(m->slow);
}
