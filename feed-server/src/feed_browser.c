#include "feed_browser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atom_write.h"
#include "cloudevents_write.h"
#include "documents.h"
#include "feed_http.h"
#include "html_view.h"
#include "log.h"
#include "pool.h"

#define HTML_TYPE "text/html; charset=utf-8"

struct query_probe {
    const char *key;
    int found;
};

static enum MHD_Result probe_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct query_probe *q = cls;

    (void)kind;
    (void)value;
    if (key && strcmp(key, q->key) == 0) {
        q->found = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

int fs__query_has(struct fs_request *req, const char *key)
{
    struct query_probe q = {key, 0};

    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, probe_arg, &q);
    return q.found;
}

enum fs__repr fs__browser_repr(struct fs_request *req, enum fs__repr negotiated)
{
    const char *format = fs_request_query(req, "format");

    if (!format)
        return negotiated;
    if (strcmp(format, "atom") == 0)
        return FS_REPR_ATOM;
    if (strcmp(format, "json") == 0)
        return FS_REPR_JSON;
    if (strcmp(format, "html") == 0)
        return FS_REPR_HTML;
    return negotiated;
}

/* Answers req with the page in out (taken over) and status. */
static void reply_buf(struct fs_request *req, unsigned status, const char *type, struct dynbuf *out)
{
    size_t len = 0;
    char *body = dynbuf_error(out) == DYNBUF_OK ? dynbuf_take(out, &len) : NULL;

    dynbuf_release(out);
    if (!body) {
        fs__answer_error(req, 500, "out of memory");
        return;
    }
    fs_reply_take(req, status, type, body, len);
    fs__queue_reply(req);
}

/* ---- One entry ---- */

/* The stored entry at one position, copied out of fs_feed_read(). */
struct one_entry {
    struct dynbuf xml;
    char id[201];
    int found;
};

static int copy_entry(const struct fs_entry *e, void *userdata)
{
    struct one_entry *g = userdata;

    dynbuf_adds(&g->xml, e->xml);
    snprintf(g->id, sizeof g->id, "%s", e->id);
    g->found = 1;
    return 1;
}

/* Reads the entry at pos of req's feed into *g; FS_OK with g->found 0
 * when there is none. */
static enum fs_error read_entry(struct fs_request *req, int64_t pos, struct one_entry *g)
{
    struct fs_server *s = req->server;
    struct fs__conn *c = fs__pool_get(s);
    struct fs_feed *feed = c ? fs__conn_feed(s, c, (size_t)(req->feed - s->feeds)) : NULL;
    enum fs_error err = c ? FS_ERR_NOMEM : FS_ERR_DB;
    char p[24];

    if (feed)
        err = fs_feed_read(feed, pos, pos, copy_entry, g);
    if (err == FS_OK)
        err = fs__buf_error(&g->xml);
    if (err != FS_OK) {
        snprintf(p, sizeof p, "%lld", (long long)pos);
        if (err == FS_ERR_DB && c)
            fs__log_db(&s->cfg, c->db, "cannot read an entry", "feed", req->feed->meta.name,
                       "position", p, NULL);
        else
            fs__log(&s->cfg, FS_LOG_ERROR, "cannot read an entry", "feed", req->feed->meta.name,
                    "position", p, "error", fs_strerror(err), NULL);
    }
    fs__pool_put(s, c);
    return err;
}

/* Makes the stored entry xml (an <entry> element whose namespaces its
 * document binds) an Atom entry document of its own, in out. */
static void entry_document(const char *xml, size_t len, struct dynbuf *out)
{
    dynbuf_adds(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<entry xmlns=\"" FS_ATOM_NS
                     "\" xmlns:f=\"" FS_NAMESPACE "\"");
    dynbuf_add(out, xml + 6, len - 6);
    dynbuf_adds(out, "\n");
}

/* Makes the one structured CloudEvent of the stored entry xml, in out. */
static enum fs_error entry_event(const char *xml, size_t len, const char *feed, struct dynbuf *out)
{
    struct dynbuf batch = FS__BUF_INIT;
    char source[80];
    enum fs_error err;
    const char *open, *close;

    snprintf(source, sizeof source, "/feeds/%s", feed);
    err = fs__cloudevents_batch(xml, len, source, &batch);
    if (err == FS_OK) {
        /* The batch is "[\n{...}\n]\n": the event is its only object. */
        open = memchr(dynbuf_ptr(&batch), '{', dynbuf_len(&batch));
        close = open ? strrchr(open, '}') : NULL;
        if (!close)
            err = FS_ERR_INVALID;
        else {
            dynbuf_add(out, open, (size_t)(close + 1 - open));
            dynbuf_adds(out, "\n");
            err = fs__buf_error(out);
        }
    }
    dynbuf_release(&batch);
    return err;
}

void fs__browser_entry(struct fs_request *req, enum fs__repr repr)
{
    static const char *const types[] = {
        [FS_REPR_ATOM] = "application/atom+xml;type=entry;charset=utf-8",
        [FS_REPR_JSON] = "application/cloudevents+json; charset=utf-8",
        [FS_REPR_HTML] = HTML_TYPE,
    };
    struct fs_server *s = req->server;
    struct fs__served_feed *f = req->feed;
    struct one_entry g = {.xml = FS__BUF_INIT};
    struct dynbuf doc = FS__BUF_INIT, out = FS__BUF_INIT;
    const char *inm = fs_request_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
    char digest[FS_DIGEST_HEX + 1], etag[FS_ETAG_MAX], msg[200];
    int64_t head, pos = req->entry;
    enum fs_error err;

    pthread_mutex_lock(&s->lock);
    head = f->head < 0 ? 0 : f->head;
    pthread_mutex_unlock(&s->lock);
    if (pos > head) {
        snprintf(msg, sizeof msg, "feed %s has no entry %lld yet; its head is at %lld",
                 f->meta.name, (long long)pos, (long long)head);
        fs__answer_error(req, 404, msg);
        return;
    }
    err = read_entry(req, pos, &g);
    if (err == FS_OK && !g.found) {
        /* The head seen is newer than the database (a restored copy). */
        dynbuf_release(&g.xml);
        snprintf(msg, sizeof msg, "feed %s has no entry %lld", f->meta.name, (long long)pos);
        fs__answer_error(req, 404, msg);
        return;
    }
    if (err != FS_OK || dynbuf_len(&g.xml) < 7 || strncmp(dynbuf_ptr(&g.xml), "<entry>", 7) != 0) {
        dynbuf_release(&g.xml);
        fs__answer_error(req, 500, "cannot read the entry");
        return;
    }
    fs__entry_digest(g.id, digest);
    snprintf(etag, sizeof etag, "\"%.8s%.4s-e%lld-%s-%s-id\"", f->meta.uuid, f->meta.uuid + 9,
             (long long)pos, digest, fs__repr_tag(repr));
    fs_reply_header(req, "ETag", etag);
    fs_reply_header(req, "Vary", "Accept");
    fs_reply_header(req, "Cache-Control", "no-cache");
    if (inm && fs__etag_match(inm, etag)) {
        dynbuf_release(&g.xml);
        fs_reply(req, 304, NULL, "", 0);
        fs__queue_reply(req);
        return;
    }
    entry_document(dynbuf_ptr(&g.xml), dynbuf_len(&g.xml), &doc);
    if (repr == FS_REPR_ATOM) {
        dynbuf_add(&out, dynbuf_ptr(&doc), dynbuf_len(&doc));
        err = fs__buf_error(&out);
    } else if (repr == FS_REPR_JSON) {
        err = entry_event(dynbuf_ptr(&g.xml), dynbuf_len(&g.xml), f->meta.name, &out);
    } else {
        err = fs__buf_error(&doc);
        if (err == FS_OK)
            err = fs__html_entry(dynbuf_ptr(&doc), dynbuf_len(&doc), &f->meta, head, &out);
    }
    dynbuf_release(&g.xml);
    dynbuf_release(&doc);
    if (err != FS_OK) {
        dynbuf_release(&out);
        fs__log(&s->cfg, FS_LOG_ERROR, "cannot render an entry", "feed", f->meta.name, "error",
                fs_strerror(err), NULL);
        fs__answer_error(req, 500, "cannot render the entry");
        return;
    }
    reply_buf(req, 200, types[repr], &out);
}

/* ---- The tail, the way to the head, the token hint ---- */

void fs__browser_tail(struct fs_request *req)
{
    struct dynbuf out = FS__BUF_INIT;

    fs__html_tail(&req->feed->meta, &out);
    fs_reply_header(req, "Cache-Control", "no-cache");
    reply_buf(req, 200, HTML_TYPE, &out);
}

void fs__browser_to_head(struct fs_request *req, int64_t page)
{
    struct dynbuf out = FS__BUF_INIT;
    char location[80];

    snprintf(location, sizeof location, "/feeds/%s", req->feed->meta.name);
    fs__html_to_head(&req->feed->meta, page, &out);
    fs_reply_header(req, "Location", location);
    /* The page will fill: where it leads changes. Other clients get a 404
     * at the same URL, so the answer varies like the documents. */
    fs_reply_header(req, "Cache-Control", "no-store");
    fs_reply_header(req, "Vary", fs__feed_vary(req->server));
    reply_buf(req, 303, HTML_TYPE, &out);
}

void fs__browser_token_hint(struct fs_request *req)
{
    const struct fs_server_config *cfg = &req->server->cfg;
    struct dynbuf out = FS__BUF_INIT;
    const char *auth = fs_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);

    fs__html_token_hint(cfg->html_layout, req->feed->meta.name, req->path,
                        fs_request_header(req, MHD_HTTP_HEADER_HOST), auth != NULL,
                        cfg->token_hint_html, &out);
    fs_reply_header(req, "Cache-Control", "no-store");
    reply_buf(req, 401, HTML_TYPE, &out);
}
