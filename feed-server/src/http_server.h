/*
 * http_server.h - the server and request objects shared by the modules that
 * answer HTTP (http_server.c, routes.c, auth.c, feed_http.c, long_poll.c).
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

#include "documents.h"
#include "buffer.h"
#include "feed_store.h"
#include "feedserver.h"
#include "negotiate.h"
#include "page_cache.h"

#define FS_MAX_PARAMS 8

struct fs__header {
    char *name;
    char *value;
    struct fs__header *next;
};

/* A route mounted with fs_server_route(). */
struct fs__route {
    char *method;    /* "GET", ... */
    char *pattern;   /* the pattern as given */
    size_t max_body; /* larger bodies get 413 */
    fs_route_fn *fn;
    void *userdata;
};

/* A feed the server serves. All but meta are guarded by server->lock; the
 * arrays are indexed by enum fs__repr. */
struct fs__feed {
    struct fs__feed_meta meta;
    int64_t head;      /* last head position seen (watcher or a write request) */
    char head_id[201]; /* event id of the entry at head, "" when empty */
    char etag[FS_REPR_COUNT][FS_ETAG_MAX]; /* head ETags */
    char *head_body[FS_REPR_COUNT];        /* head document for `head`, or NULL */
    size_t head_len[FS_REPR_COUNT];
    struct MHD_Response *head_resp[FS_REPR_COUNT]; /* 200 answer made of head_body */
    struct MHD_Response *nm_resp[FS_REPR_COUNT];   /* 304 answer for `head` */
};

enum fs__kind { FS_KIND_ERROR, FS_KIND_HEALTHZ, FS_KIND_FEED, FS_KIND_ROUTE };

struct fs_server {
    struct fs_server_config cfg; /* with defaults filled in */
    char *listen;                /* copy of cfg.listen */
    char *db_path;               /* copy of cfg.db_path */
    struct MHD_Daemon *daemon;
    unsigned port; /* bound port once started */
    struct fs__route *routes;
    size_t nroutes;
    struct fs__feed *feeds;
    size_t nfeeds;
    struct fs__page_cache *pages;
    struct fs__slow_clients *slow; /* deadlines slow senders cannot extend */
    pthread_mutex_t lock;         /* feeds' heads and the waiters */
    pthread_mutex_t refresh_lock; /* one head refresh at a time: read and record */
    struct fs_request *waiters;   /* held long-polls, a doubly linked list */
    pthread_mutex_t pool_lock;
    sqlite3 **pool; /* idle database connections */
    size_t npool;
    size_t pool_cap;
    pthread_t watcher;
    int watcher_started;
    atomic_int stopping;
    atomic_uint_least64_t requests, responses[6], not_modified, held, woken, cache_hits;
};

struct fs_request {
    struct fs_server *server;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    enum fs__kind kind;
    const struct fs__route *route;
    char *params[FS_MAX_PARAMS]; /* segments matched by "*" */
    unsigned nparams;
    struct fs__feed *feed; /* FS_KIND_FEED: the feed */
    int64_t page;          /* FS_KIND_FEED: page number, -1 head */
    unsigned err_status;   /* FS_KIND_ERROR: what to answer */
    char err_msg[256];
    char allow[64];       /* Allow header for a 405 */
    int www_authenticate; /* add the 401 challenges */
    size_t max_body;
    struct dynbuf body;
    size_t received;           /* body bytes received so far */
    int too_large;             /* the body passed max_body */
    sqlite3 *db;               /* from the pool, while handling */
    sqlite3_int64 db_changes;  /* sqlite3_total_changes64(db) when it was taken */
    struct MHD_Response *resp; /* the reply a handler made */
    unsigned status;
    struct fs__header *headers; /* headers for resp */
    int queued;                 /* a response was queued */
    int answering;              /* told the slow-client clock it is answered */
    /* Long-poll state, guarded by server->lock. */
    int held;                    /* 1 while suspended in server->waiters */
    int resumed;                 /* 1 once resumed (woken or timed out) */
    enum fs__repr repr;          /* the representation asked for */
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
/* A connection from the pool, or a new one; NULL on failure (logged). */
sqlite3 *fs__pool_get(struct fs_server *s);
void fs__pool_put(struct fs_server *s, sqlite3 *db);
/* Monotonic milliseconds. */
int64_t fs__now_ms(void);

#endif
