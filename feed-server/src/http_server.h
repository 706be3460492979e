/*
 * http_server.h - the HTTP layer: the server and request objects shared by
 * http_server.c (the daemon and the request lifecycle), request.c (what a
 * handler reads and how it answers), routes.c, auth.c, pool.c (database
 * connections) and slow_clients.c, and used by the feed layer's answers
 * (feed_http.c, long_poll.c).
 *
 * The two layers: this one knows routes, requests, replies and database
 * connections, not feeds. It hands the feeds to the feed layer at a few
 * points, each a function of feed_http.h or long_poll.h: opening and
 * closing the server (fs__feeds_open(), fs__feeds_close()), classifying a
 * path under /feeds/ (fs__feed_classify()), answering such a request
 * (fs__feed_serve()), re-reading the heads after a handler wrote
 * (fs__heads_refresh()) and starting the watcher (fs__watcher_start()).
 * The members of struct fs_server and struct fs_request that belong to
 * the feed layer are grouped last and marked so; only the feed layer
 * touches them.
 *
 * Invariants:
 *  - Every request gets its struct fs_request on the first call of the
 *    access handler and is answered on a later call (libmicrohttpd keeps the
 *    connection alive only then), except a 413 known from the headers,
 *    which is sent at once and closes the connection.
 *  - server->lock guards every served feed's head, ETags and cached head
 *    responses, and the list of held long-polls. A held request is in that
 *    list exactly while its connection is suspended.
 *  - A cached MHD_Response is queued while its owner's lock is held, so it is
 *    never destroyed under a connection that is queuing it.
 */
#ifndef FS_HTTP_SERVER_H
#define FS_HTTP_SERVER_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "buffer.h"
#include "documents.h"
#include "feedserver.h"
#include "negotiate.h"

#define FS_MAX_PARAMS 8

struct fs__header {
    char *name;
    char *value;
    struct fs__header *next;
};

/* Appends a copy of name: value to the end of *list (a reply's headers, in
 * the order they are added). Out of memory, the header is dropped: a reply
 * still goes out, without it. */
void fs__header_append(struct fs__header **list, const char *name, const char *value);

/* A route mounted with fs_server_route(). */
struct fs__route {
    char *method;    /* "GET", ... */
    char *pattern;   /* the pattern as given */
    size_t max_body; /* larger bodies get 413 */
    fs_route_fn *fn;
    void *userdata;
};

enum fs__kind { FS_KIND_ERROR, FS_KIND_HEALTHZ, FS_KIND_FEED, FS_KIND_ROUTE };

struct fs__conn;
struct fs__served_feed;
struct fs__page_cache;

struct fs_server {
    /* ---- HTTP layer ---- */
    struct fs_server_config cfg; /* with defaults filled in */
    char *listen;                /* copy of cfg.listen */
    char *db_path;               /* copy of cfg.db_path */
    struct MHD_Daemon *daemon;
    unsigned port; /* bound port once started */
    struct fs__route *routes;
    size_t nroutes;
    struct fs__slow_clients *slow; /* deadlines slow senders cannot extend */
    pthread_mutex_t pool_lock;     /* guards the pool */
    struct fs__conn **pool;        /* idle database connections (pool.h) */
    size_t npool;
    size_t pool_cap;
    atomic_int stopping;                /* fs_server_close() has begun */
    atomic_uint_least64_t requests;     /* requests answered */
    atomic_uint_least64_t responses[6]; /* by status class */
    atomic_uint_least64_t not_modified; /* 304 answers */
    fs_error_page_fn *error_page;       /* renders errors for browsers, or NULL */
    void *error_page_userdata;
    pthread_mutex_t deferred_lock; /* guards deferred (deferred.h) */
    struct fs_deferred *deferred;  /* requests whose handler deferred its answer */
    /* ---- feed layer (feed_http.c, long_poll.c, page_cache.c) ---- */
    struct fs__served_feed *feeds; /* the feeds served, in fs_server_feed() order */
    size_t nfeeds;
    struct fs__page_cache *pages; /* full archive pages kept rendered */
    pthread_mutex_t lock;         /* feeds' heads and the waiters */
    pthread_mutex_t refresh_lock; /* one head refresh at a time: read and record */
    struct fs_request *waiters;   /* held long-polls, a doubly linked list */
    pthread_t watcher;
    int watcher_started;
    atomic_uint_least64_t held;       /* long-polls held now */
    atomic_uint_least64_t woken;      /* long-polls woken by an entry */
    atomic_uint_least64_t cache_hits; /* archive pages served from memory */
};

struct fs_request {
    /* ---- HTTP layer ---- */
    struct fs_server *server;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    enum fs__kind kind;
    const struct fs__route *route;
    char *params[FS_MAX_PARAMS]; /* segments matched by "*" */
    unsigned nparams;
    unsigned err_status; /* FS_KIND_ERROR: what to answer */
    char err_msg[256];
    char allow[64];       /* Allow header for a 405 */
    int www_authenticate; /* add the 401 challenges: 1 both, 2 Bearer only */
    size_t max_body;
    struct dynbuf body;        /* at most max_body bytes */
    size_t received;           /* body bytes received so far */
    int too_large;             /* the body passed max_body */
    struct fs__conn *dbc;      /* from the pool, while handling */
    sqlite3_int64 db_changes;  /* sqlite3_total_changes64() when it was taken */
    struct MHD_Response *resp; /* the reply a handler made */
    unsigned status;
    struct fs__header *headers; /* headers for resp */
    int queued;                 /* a response was queued */
    int answering;              /* told the slow-client clock it is answered */
    /* Its handler called fs_request_defer(): the handle (deferred.h). */
    struct fs_deferred *deferred;
    /* ---- feed layer: FS_KIND_FEED requests ---- */
    struct fs__served_feed *feed; /* the feed */
    int64_t page;                 /* page number, -1 head */
    int64_t entry;                /* GET /feeds/NAME/entries/N: N; else 0 */
    int tail;                     /* GET /feeds/NAME/tail */
    int token_hint;               /* refused (401) a browser: the token hint page */
    /* Long-poll state, guarded by server->lock. */
    int held;                    /* 1 while suspended in server->waiters */
    int resumed;                 /* 1 once resumed (woken or timed out) */
    int variant;                 /* FS_VARIANT() asked for */
    unsigned wait_s;             /* the wait applied */
    int64_t deadline_ms;         /* monotonic ms when a held poll ends */
    char wait_etag[FS_ETAG_MAX]; /* the ETag the client holds */
    struct fs_request *wprev, *wnext;
};

/* Queues resp with status on req's connection and counts it; does not
 * destroy resp. */
int fs__queue(struct fs_request *req, unsigned status, struct MHD_Response *resp);
/* Makes a response of len bytes copied from body. NULL on out of memory. */
struct MHD_Response *fs__response(const char *body, size_t len);
/* Queues the reply made with fs_reply*() on req, with the headers added by
 * fs_reply_header() (and Allow or WWW-Authenticate for a 405 or 401). */
void fs__queue_reply(struct fs_request *req);
/* Answers req at once with a JSON error. */
void fs__answer_error(struct fs_request *req, unsigned status, const char *msg);
/* Monotonic milliseconds. */
int64_t fs__now_ms(void);

#endif
