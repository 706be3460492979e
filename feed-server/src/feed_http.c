#include "feed_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "atom_write.h"
#include "documents.h"
#include "feed_browser.h"
#include "gzip.h"
#include "log.h"
#include "long_poll.h"
#include "negotiate.h"
#include "pool.h"

/*
 * Caching (DESIGN.md section 5, "Caches"). A protected feed (one with feed
 * tokens) is "private": no shared cache (nginx proxy_cache, Varnish's
 * built-in VCL) stores it, so none can hand it to a request without a valid
 * token; a browser still keeps it. Other feeds are "public". The head may
 * be stored for 1 s, without the grace of a stale copy (Varnish honours
 * stale-while-revalidate as its grace, 10 s otherwise), and is revalidated
 * with its ETag. An answer to a held long-poll is for that one client and
 * stored nowhere: a cache that kept it would hand out its
 * Preference-Applied, and its readers would long-poll the cache in a loop.
 */
#define CC_HEAD "max-age=1, stale-while-revalidate=0"
#define CC_PAGE "max-age=31536000, immutable"
#define CC_HELD "no-store"
#define VARY_OPEN "Accept, Accept-Encoding"
#define VARY_PROTECTED "Accept, Accept-Encoding, Authorization"

const char *fs__feed_vary(const struct fs_server *s)
{
    return s->cfg.ntokens ? VARY_PROTECTED : VARY_OPEN;
}

int fs__etag_match(const char *inm, const char *etag)
{
    size_t elen = strlen(etag);

    while (*inm) {
        const char *start, *end;

        while (*inm == ' ' || *inm == '\t' || *inm == ',')
            inm++;
        if (*inm == '*')
            return 1;
        if (strncmp(inm, "W/", 2) == 0)
            inm += 2;
        start = inm;
        if (*inm != '"')
            return 0;
        end = strchr(inm + 1, '"');
        if (!end)
            return 0;
        if ((size_t)(end + 1 - start) == elen && memcmp(start, etag, elen) == 0)
            return 1;
        inm = end + 1;
    }
    return 0;
}

/* Writes the RFC 8288 Link header value of a document (page -1: the head
 * as of head) into out: the same links as its Atom <link> elements. */
static void link_header(const struct fs__feed_meta *meta, int64_t page, int64_t head, char *out,
                        size_t size)
{
    struct fs__link links[FS_MAX_LINKS];
    size_t n = fs__doc_links(meta, page, head, links), len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char href[128];
        int w;

        fs__link_href(meta, links[i].page, href, sizeof href);
        w = snprintf(out + len, size - len, "%s<%s>; rel=\"%s\"", i ? ", " : "", href,
                     links[i].rel);
        if (w < 0 || (size_t)w >= size - len) {
            /* Cannot happen with names of at most 64 bytes; a cut link
             * would mislead, so none is better. */
            out[0] = '\0';
            return;
        }
        len += (size_t)w;
    }
}

/* How long a feed document may be stored, and by whom: see CC_HEAD. */
static void cache_control(const struct fs_server *s, int64_t page, int held, char *out, size_t size)
{
    if (held)
        snprintf(out, size, "%s", CC_HELD);
    else
        snprintf(out, size, "%s, %s", s->cfg.ntokens ? "private" : "public",
                 page >= 0 ? CC_PAGE : CC_HEAD);
}

/* Adds the headers every feed answer of s carries, 304s included; held:
 * the answer of a held long-poll. */
static void doc_headers(struct MHD_Response *r, const struct fs_server *s,
                        const struct fs__feed_meta *meta, int64_t page, int64_t head,
                        const char *etag, int held)
{
    char links[640], cc[80];

    link_header(meta, page, head, links, sizeof links);
    cache_control(s, page, held, cc, sizeof cc);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, fs__feed_vary(s));
    if (links[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_LINK, links);
}

/* A 200 answer of s of body (copied, already in the variant's coding)
 * for the document page (-1: the head as of head) in variant v. NULL on
 * out of memory. */
static struct MHD_Response *doc_response(const struct fs_server *s,
                                         const struct fs__feed_meta *meta, int64_t page,
                                         int64_t head, const char *body, size_t len,
                                         const char *etag, int v, int held)
{
    struct MHD_Response *r = fs__response(body, len);

    if (r) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                fs__repr_content_type(FS_VARIANT_REPR(v)));
        if (FS_VARIANT_CODING(v) == FS_CODING_GZIP)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
        doc_headers(r, s, meta, page, head, etag, held);
    }
    return r;
}

/* A 304 answer of s for the same document. NULL on out of memory. */
static struct MHD_Response *not_modified(const struct fs_server *s,
                                         const struct fs__feed_meta *meta, int64_t page,
                                         int64_t head, const char *etag, int held)
{
    struct MHD_Response *r = fs__response("", 0);

    if (r)
        doc_headers(r, s, meta, page, head, etag, held);
    return r;
}

void fs__feed_set_head(struct fs__served_feed *f, int64_t head, const char *head_id)
{
    char digest[FS_DIGEST_HEX + 1];

    f->head = head;
    if (head_id != f->head_id)
        snprintf(f->head_id, sizeof f->head_id, "%s", head_id);
    fs__entry_digest(f->head_id, digest);
    for (int h = 0; h < FS_VARIANT_COUNT; h++) {
        fs__etag(&f->meta, -1, head, digest, FS_VARIANT_REPR(h), FS_VARIANT_CODING(h), f->etag[h]);
        free(f->head_body[h]);
        f->head_body[h] = NULL;
        f->head_len[h] = 0;
        if (f->head_resp[h])
            MHD_destroy_response(f->head_resp[h]);
        if (f->nm_resp[h])
            MHD_destroy_response(f->nm_resp[h]);
        f->head_resp[h] = f->nm_resp[h] = NULL;
    }
}

/* ---- The feeds a server serves ---- */

int fs__feeds_open(struct fs_server *s)
{
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->refresh_lock, NULL);
    s->pages = fs__page_cache_new(s->cfg.page_cache);
    return s->pages ? 0 : -1;
}

void fs__feeds_close(struct fs_server *s)
{
    /* Setting the head again drops its cached answers. */
    for (size_t i = 0; i < s->nfeeds; i++)
        fs__feed_set_head(&s->feeds[i], s->feeds[i].head, s->feeds[i].head_id);
    fs__page_cache_free(s->pages);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->refresh_lock);
    free(s->feeds);
    s->feeds = NULL;
    s->nfeeds = 0;
}

struct fs__served_feed *fs__feed_find(struct fs_server *s, const char *name)
{
    for (size_t i = 0; i < s->nfeeds; i++) {
        if (strcmp(s->feeds[i].meta.name, name) == 0)
            return &s->feeds[i];
    }
    return NULL;
}

enum fs_error fs_server_feed(struct fs_server *s, const char *feed)
{
    struct fs__served_feed *feeds, *f;
    struct fs__conn *c;
    enum fs_error err;

    if (!s || s->daemon || !fs__feed_name_ok(feed))
        return FS_ERR_INVALID;
    for (size_t i = 0; i < s->nfeeds; i++) {
        if (strcmp(s->feeds[i].meta.name, feed) == 0)
            return FS_OK;
    }
    feeds = realloc(s->feeds, (s->nfeeds + 1) * sizeof *feeds);
    if (!feeds)
        return FS_ERR_NOMEM;
    s->feeds = feeds;
    f = &feeds[s->nfeeds];
    memset(f, 0, sizeof *f);
    c = fs__pool_get(s);
    if (!c)
        return FS_ERR_DB;
    err = fs__feed_meta(c->db, feed, &f->meta);
    if (err == FS_ERR_DB)
        fs__log_db(&s->cfg, c->db, "cannot read feed", "feed", feed, NULL);
    fs__pool_put(s, c);
    if (err != FS_OK)
        return err;
    f->meta.html_layout = s->cfg.html_layout;
    f->head = -1;
    s->nfeeds++;
    return FS_OK;
}

void fs_server_heads(const struct fs_server *s, fs_feed_head_fn *fn, void *userdata)
{
    struct fs_server *m = (struct fs_server *)(uintptr_t)s;

    for (size_t i = 0; s && i < s->nfeeds; i++) {
        int64_t head;

        pthread_mutex_lock(&m->lock);
        head = s->feeds[i].head;
        pthread_mutex_unlock(&m->lock);
        fn(s->feeds[i].meta.name, head < 0 ? 0 : head, userdata);
    }
}

/* ---- Answers ---- */

/* Logs that what failed for page (-1: the head) of req's feed with err,
 * with SQLite's message when db failed. */
static void log_failure(struct fs_request *req, sqlite3 *db, const char *what, int64_t page,
                        enum fs_error err)
{
    const struct fs_server_config *cfg = &req->server->cfg;
    const char *feed = req->feed->meta.name;
    char p[24];

    snprintf(p, sizeof p, "%lld", (long long)page);
    if (err == FS_ERR_DB && db)
        fs__log_db(cfg, db, what, "feed", feed, "page", p, NULL);
    else
        fs__log(cfg, FS_LOG_ERROR, what, "feed", feed, "page", p, "error", fs_strerror(err), NULL);
}

/* The handle of c on req's feed; NULL when out of memory. */
static struct fs_feed *feed_of(struct fs_request *req, struct fs__conn *c)
{
    return c ? fs__conn_feed(req->server, c, (size_t)(req->feed - req->server->feeds)) : NULL;
}

/* Renders a document in variant v (compressed for gzip) with a pooled
 * connection, storing the digest of its newest entry id in digest (if not
 * NULL). Returns the bytes (the caller frees them), or NULL on failure
 * (logged). */
static char *render(struct fs_request *req, int64_t page, int64_t head, int v, size_t *len,
                    char *digest)
{
    struct dynbuf out = FS__BUF_INIT;
    struct fs__conn *c = fs__pool_get(req->server);
    struct fs_feed *feed = feed_of(req, c);
    enum fs_error err = c && !feed ? FS_ERR_NOMEM : FS_ERR_DB;
    char *body, *gz;
    size_t plain = 0;

    if (feed)
        err = fs__document(feed, &req->feed->meta, page, head, FS_VARIANT_REPR(v), &out, digest);
    if (err != FS_OK)
        log_failure(req, c ? c->db : NULL, "cannot render feed document", page, err);
    fs__pool_put(req->server, c);
    if (err != FS_OK) {
        dynbuf_release(&out);
        return NULL;
    }
    body = dynbuf_take(&out, &plain);
    if (!body || FS_VARIANT_CODING(v) == FS_CODING_IDENTITY) {
        *len = plain;
        return body;
    }
    /* The head is rendered again after every append, on the path of every
     * follower's wake (R1, R2): level 1 costs it less than half of level
     * 6's time for about 15% more bytes. Archive pages are compressed once
     * and kept, but a new node catching up reads every one of them cold,
     * with the producer's rendering on its path (issue 11 point 7): level 3
     * takes half of level 6's time for about 11% more bytes (a page of 100
     * UserAdded: 0.19 ms and 9.8 KB against 0.38 ms and 8.8 KB). */
    gz = fs__gzip_level(body, plain, page < 0 ? 1 : 3, len);
    free(body);
    if (!gz)
        log_failure(req, NULL, "cannot compress feed document", page, FS_ERR_NOMEM);
    return gz;
}

/*
 * Makes sure f holds the rendered head of its current head position, in
 * variant v. Returns 0 with server->lock held and head_resp set,
 * or -1 without the lock.
 */
static int ensure_head(struct fs_request *req, int v)
{
    struct fs_server *s = req->server;
    struct fs__served_feed *f = req->feed;

    for (int tries = 0; tries < 8; tries++) {
        int64_t h;
        char *body;
        size_t len = 0;

        pthread_mutex_lock(&s->lock);
        if (f->head_resp[v])
            return 0;
        h = f->head;
        pthread_mutex_unlock(&s->lock);
        body = render(req, -1, h, v, &len, NULL);
        if (!body)
            return -1;
        pthread_mutex_lock(&s->lock);
        if (f->head == h && !f->head_resp[v]) {
            f->head_resp[v] = doc_response(s, &f->meta, -1, h, body, len, f->etag[v], v, 0);
            if (!f->head_resp[v]) {
                pthread_mutex_unlock(&s->lock);
                free(body);
                return -1;
            }
            f->head_body[v] = body;
            f->head_len[v] = len;
            return 0;
        }
        pthread_mutex_unlock(&s->lock);
        free(body);
    }
    return -1;
}

/* Looks through the request's Prefer headers, in order, for the first
 * wait preference. */
static enum MHD_Result scan_prefer(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    unsigned *wait = cls;

    (void)kind;
    if (value && strcasecmp(key, "Prefer") == 0 && fs__prefer_wait(value, FS_MAX_WAIT, wait))
        return MHD_NO;
    return MHD_YES;
}

/* The wait the request asks for with Prefer (RFC 7240), capped at
 * FS_MAX_WAIT; 0 if none or malformed. */
static unsigned prefer_wait(struct fs_request *req)
{
    unsigned wait = 0;

    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, scan_prefer, &wait);
    return wait;
}

/* Answers a long-poll that was held and has been resumed. */
static void answer_held(struct fs_request *req)
{
    struct fs_server *s = req->server;
    struct fs__served_feed *f = req->feed;
    int v = req->variant;
    char applied[32];
    struct MHD_Response *r;

    snprintf(applied, sizeof applied, "wait=%u", req->wait_s);
    pthread_mutex_lock(&s->lock);
    if (strcmp(f->etag[v], req->wait_etag) == 0) {
        r = not_modified(s, &f->meta, -1, f->head, f->etag[v], 1);
        pthread_mutex_unlock(&s->lock);
        if (!r) {
            fs__answer_error(req, 500, "out of memory");
            return;
        }
        MHD_add_response_header(r, "Preference-Applied", applied);
        fs__queue(req, 304, r);
        MHD_destroy_response(r);
        return;
    }
    pthread_mutex_unlock(&s->lock);
    if (ensure_head(req, v) != 0) {
        fs__answer_error(req, 500, "cannot read the feed");
        return;
    }
    r = doc_response(s, &f->meta, -1, f->head, f->head_body[v], f->head_len[v], f->etag[v], v, 1);
    pthread_mutex_unlock(&s->lock);
    if (!r) {
        fs__answer_error(req, 500, "out of memory");
        return;
    }
    MHD_add_response_header(r, "Preference-Applied", applied);
    fs__queue(req, 200, r);
    MHD_destroy_response(r);
}

static void serve_head(struct fs_request *req, const char *inm, int v)
{
    struct fs_server *s = req->server;
    struct fs__served_feed *f = req->feed;

    pthread_mutex_lock(&s->lock);
    if (inm && fs__etag_match(inm, f->etag[v])) {
        unsigned wait = prefer_wait(req);

        if (wait && !atomic_load(&s->stopping)) {
            if (atomic_load(&s->held) >= s->cfg.max_long_polls) {
                pthread_mutex_unlock(&s->lock);
                fs_reply_header(req, "Retry-After", "1");
                fs__answer_error(req, 503, "too many long-polls are held; retry in a second");
                return;
            }
            req->variant = v;
            snprintf(req->wait_etag, sizeof req->wait_etag, "%s", f->etag[v]);
            fs__long_poll_hold(req, wait);
            pthread_mutex_unlock(&s->lock);
            return;
        }
        if (!f->nm_resp[v])
            f->nm_resp[v] = not_modified(s, &f->meta, -1, f->head, f->etag[v], 0);
        if (f->nm_resp[v])
            fs__queue(req, 304, f->nm_resp[v]);
        pthread_mutex_unlock(&s->lock);
        if (!req->queued)
            fs__answer_error(req, 500, "out of memory");
        return;
    }
    pthread_mutex_unlock(&s->lock);
    if (ensure_head(req, v) != 0) {
        fs__answer_error(req, 500, "cannot read the feed");
        return;
    }
    fs__queue(req, 200, f->head_resp[v]);
    pthread_mutex_unlock(&s->lock);
}

/* The digest of the newest entry id of full page `page`: from the page
 * cache, or else with one lookup. -1 on failure (logged). */
static int page_digest(struct fs_request *req, int64_t page, char digest[FS_DIGEST_HEX + 1])
{
    struct fs_server *s = req->server;
    struct fs__conn *c;
    struct fs_feed *feed;
    enum fs_error err;

    if (fs__page_cache_digest(s->pages, req->feed, page, digest))
        return 0;
    c = fs__pool_get(s);
    feed = feed_of(req, c);
    err = c && !feed ? FS_ERR_NOMEM : FS_ERR_DB;
    if (feed)
        err = fs__page_digest(feed, &req->feed->meta, page, digest);
    if (err != FS_OK)
        log_failure(req, c ? c->db : NULL, "cannot read the newest entry of a page", page, err);
    fs__pool_put(s, c);
    return err == FS_OK ? 0 : -1;
}

static void serve_page(struct fs_request *req, const char *inm, int v)
{
    struct fs_server *s = req->server;
    struct fs__served_feed *f = req->feed;
    int64_t head, page = req->page;
    char etag[FS_ETAG_MAX], digest[FS_DIGEST_HEX + 1], msg[200];
    struct MHD_Response *r;
    char *body;
    size_t len = 0;
    int ok = 0;

    pthread_mutex_lock(&s->lock);
    head = f->head;
    pthread_mutex_unlock(&s->lock);
    if (page >= head / f->meta.page_size) {
        snprintf(msg, sizeof msg,
                 "page %lld of feed %s is not full yet; newer entries are in /feeds/%s",
                 (long long)page, f->meta.name, f->meta.name);
        if (FS_VARIANT_REPR(v) == FS_REPR_HTML)
            fs__browser_to_head(req, page);
        else
            fs__answer_error(req, 404, msg);
        return;
    }
    if (inm) {
        if (page_digest(req, page, digest) != 0) {
            fs__answer_error(req, 500, "cannot read the feed");
            return;
        }
        fs__etag(&f->meta, page, head, digest, FS_VARIANT_REPR(v), FS_VARIANT_CODING(v), etag);
        if (fs__etag_match(inm, etag)) {
            r = not_modified(s, &f->meta, page, head, etag, 0);
            if (r) {
                fs__queue(req, 304, r);
                MHD_destroy_response(r);
            } else {
                fs__answer_error(req, 500, "out of memory");
            }
            return;
        }
    }
    if (fs__page_cache_queue(s->pages, f, page, v, req->conn, &ok)) {
        atomic_fetch_add(&s->cache_hits, 1);
        fs__queue(req, 200, NULL);
        return;
    }
    body = render(req, page, head, v, &len, digest);
    if (body)
        fs__etag(&f->meta, page, head, digest, FS_VARIANT_REPR(v), FS_VARIANT_CODING(v), etag);
    r = body ? doc_response(s, &f->meta, page, head, body, len, etag, v, 0) : NULL;
    free(body);
    if (!r) {
        fs__answer_error(req, 500, "cannot read the feed");
        return;
    }
    fs__queue(req, 200, r);
    fs__page_cache_put(s->pages, f, page, v, digest, r);
}

void fs__feed_serve(struct fs_request *req)
{
    const char *inm = fs_request_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
    enum fs__repr repr = fs__negotiate_feed(fs_request_header(req, MHD_HTTP_HEADER_ACCEPT));
    enum fs__coding coding =
        fs__negotiate_coding(fs_request_header(req, MHD_HTTP_HEADER_ACCEPT_ENCODING));
    int v;

    /* The feed browser: a representation named in the query, one entry,
     * the live tail (feed_browser.h). */
    repr = fs__browser_repr(req, repr);
    v = FS_VARIANT(repr, coding);
    if (req->resumed)
        answer_held(req);
    else if (req->tail)
        fs__browser_tail(req);
    else if (req->entry > 0)
        fs__browser_entry(req, repr);
    else if (req->page < 0)
        serve_head(req, inm, v);
    else
        serve_page(req, inm, v);
}
