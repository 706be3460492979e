/*
 * deferred.c - answers given later, from any thread: the handle between a
 * handler that returns unanswered and whoever answers for it
 * (deferred.h).
 */
#include "deferred.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum fs__deferred_state {
    D_PENDING,   /* the handler (or its connection's thread) still runs */
    D_SUSPENDED, /* the connection is suspended, waiting for the answer */
    D_ANSWERED,  /* the answer is in, not queued yet */
    D_DONE,      /* queued, or dropped: any later answer is dropped */
};

struct fs_deferred {
    pthread_mutex_t mu;              /* guards what follows, but the list links */
    struct fs_request *req;          /* NULL once the request is over */
    int refs;                        /* 2, then 1, then freed (deferred.h) */
    enum fs__deferred_state state;   /* see above */
    unsigned status;                 /* the answer: status, */
    char *content_type;              /* its type (or NULL), */
    char *body;                      /* its body (malloc'd), */
    size_t len;                      /* of len bytes, */
    char *error;                     /* or fs_deferred_error()'s message */
    struct fs__header *headers;      /* fs_deferred_header()'s, in order */
    struct fs_deferred *prev, *next; /* server->deferred */
};

static void free_answer(struct fs_deferred *d)
{
    free(d->content_type);
    free(d->body);
    free(d->error);
    d->content_type = d->body = d->error = NULL;
    while (d->headers) {
        struct fs__header *h = d->headers;

        d->headers = h->next;
        free(h->name);
        free(h->value);
        free(h);
    }
}

/* Drops one reference to d; frees it with the last. */
static void release(struct fs_deferred *d)
{
    int refs;

    pthread_mutex_lock(&d->mu);
    refs = --d->refs;
    pthread_mutex_unlock(&d->mu);
    if (refs > 0)
        return;
    free_answer(d);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

struct fs_deferred *fs_request_defer(struct fs_request *req)
{
    struct fs_server *s = req->server;
    struct fs_deferred *d;

    if (req->deferred || req->kind != FS_KIND_ROUTE)
        return NULL;
    d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (pthread_mutex_init(&d->mu, NULL) != 0) {
        free(d);
        return NULL;
    }
    d->req = req;
    d->refs = 2;
    d->state = D_PENDING;
    pthread_mutex_lock(&s->deferred_lock);
    d->next = s->deferred;
    if (s->deferred)
        s->deferred->prev = d;
    s->deferred = d;
    pthread_mutex_unlock(&s->deferred_lock);
    req->deferred = d;
    return d;
}

void fs_deferred_header(struct fs_deferred *d, const char *name, const char *value)
{
    fs__header_append(&d->headers, name, value);
}

/*
 * Stores an answer in d (status, and either body of len bytes of
 * content_type, taken over, or the error message error, taken over) and
 * resumes the connection when it waits; drops it when d is done already.
 * Then drops the owner's reference.
 */
static void answer(struct fs_deferred *d, unsigned status, const char *content_type, char *body,
                   size_t len, char *error)
{
    char *type = content_type ? strdup(content_type) : NULL;

    if (content_type && !type) {
        /* Out of memory: an empty 500 rather than a body without its type. */
        status = 500;
        free(body);
        body = NULL;
        len = 0;
    }
    pthread_mutex_lock(&d->mu);
    if (d->req && (d->state == D_PENDING || d->state == D_SUSPENDED)) {
        d->status = status;
        d->content_type = type;
        type = NULL;
        d->body = body;
        d->len = len;
        d->error = error;
        body = error = NULL;
        if (d->state == D_SUSPENDED)
            MHD_resume_connection(d->req->conn);
        d->state = D_ANSWERED;
    }
    pthread_mutex_unlock(&d->mu);
    free(type);
    free(body);
    free(error);
    release(d);
}

void fs_deferred_reply(struct fs_deferred *d, unsigned status, const char *content_type, char *body,
                       size_t len)
{
    answer(d, status, content_type, body, body ? len : 0, NULL);
}

void fs_deferred_error(struct fs_deferred *d, unsigned status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    char *error;

    va_start(ap, fmt);
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
        msg[0] = '\0';
    va_end(ap);
    error = strdup(msg);
    answer(d, error ? status : 500, NULL, NULL, 0, error);
}

/* Queues the answer stored in d on req (its connection's thread; d is
 * D_DONE now, so nothing else touches the answer). */
static void queue_answer(struct fs_request *req, struct fs_deferred *d)
{
    for (struct fs__header *h = d->headers; h; h = h->next)
        fs_reply_header(req, h->name, h->value);
    if (d->error)
        fs_reply_error(req, d->status, "%s", d->error);
    else {
        fs_reply_take(req, d->status, d->content_type, d->body, d->len);
        d->body = NULL;
    }
    fs__queue_reply(req);
}

void fs__deferred_hold(struct fs_request *req)
{
    struct fs_deferred *d = req->deferred;

    pthread_mutex_lock(&d->mu);
    if (req->resp) {
        /* The handler answered after all: that answer goes, a later one
         * is dropped. */
        d->state = D_DONE;
        pthread_mutex_unlock(&d->mu);
        fs__queue_reply(req);
        return;
    }
    if (d->state == D_ANSWERED) {
        d->state = D_DONE;
        pthread_mutex_unlock(&d->mu);
        queue_answer(req, d);
        return;
    }
    if (atomic_load(&req->server->stopping)) {
        d->state = D_DONE;
        pthread_mutex_unlock(&d->mu);
        fs__answer_error(req, 503, "the server is stopping: retry shortly");
        return;
    }
    d->state = D_SUSPENDED;
    MHD_suspend_connection(req->conn);
    pthread_mutex_unlock(&d->mu);
}

void fs__deferred_answer(struct fs_request *req)
{
    struct fs_deferred *d = req->deferred;
    int answered;

    pthread_mutex_lock(&d->mu);
    answered = d->state == D_ANSWERED;
    d->state = D_DONE;
    pthread_mutex_unlock(&d->mu);
    if (answered)
        queue_answer(req, d);
    else
        fs__answer_error(req, 503, "the server is stopping: retry shortly");
}

void fs__deferred_forget(struct fs_request *req)
{
    struct fs_deferred *d = req->deferred;
    struct fs_server *s = req->server;

    if (!d)
        return;
    pthread_mutex_lock(&s->deferred_lock);
    if (d->prev)
        d->prev->next = d->next;
    else
        s->deferred = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->prev = d->next = NULL;
    pthread_mutex_unlock(&s->deferred_lock);
    pthread_mutex_lock(&d->mu);
    d->req = NULL;
    d->state = D_DONE;
    pthread_mutex_unlock(&d->mu);
    req->deferred = NULL;
    release(d);
}

void fs__deferred_stop(struct fs_server *s)
{
    pthread_mutex_lock(&s->deferred_lock);
    for (struct fs_deferred *d = s->deferred; d; d = d->next) {
        pthread_mutex_lock(&d->mu);
        if (d->state == D_SUSPENDED) {
            d->state = D_DONE;
            MHD_resume_connection(d->req->conn);
        }
        pthread_mutex_unlock(&d->mu);
    }
    pthread_mutex_unlock(&s->deferred_lock);
}
