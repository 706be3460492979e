#include "cloudevents_write.h"

#include <errno.h>
#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

#include "atom_write.h"

#define X(s) ((const xmlChar *)(s))

/* What the text the parser meets belongs to. */
enum capture { CAP_NONE, CAP_ID, CAP_TIME, CAP_POSITION, CAP_FIELD };

/* One entry as it is read, its buffers reused from entry to entry. */
struct event {
    struct dynbuf id, type, time, position; /* raw text */
    struct dynbuf data;                     /* "name":"value" members, escaped */
    long long version;
    unsigned nfields;
};

/* The state of one conversion, handed to the SAX callbacks. */
struct walk {
    xmlParserCtxtPtr ctxt;
    struct dynbuf *out;
    const char *source;
    struct event ev;
    unsigned events;   /* events written so far */
    int depth;         /* depth of the next element: <feed> is 0, <entry> 1 */
    int in_entry;      /* inside an <entry> */
    int in_content;    /* inside its <content> */
    int in_payload;    /* inside the payload element, whose children are fields */
    int have_payload;  /* the payload element was met */
    enum capture cap;  /* what the text met now belongs to */
    int cap_depth;     /* the depth of the element whose text that is */
    enum fs_error err; /* the first failure */
};

static void event_clear(struct event *ev)
{
    dynbuf_reset(&ev->id, SIZE_MAX);
    dynbuf_reset(&ev->type, SIZE_MAX);
    dynbuf_reset(&ev->time, SIZE_MAX);
    dynbuf_reset(&ev->position, SIZE_MAX);
    dynbuf_reset(&ev->data, SIZE_MAX);
    ev->version = 1;
    ev->nfields = 0;
}

static void event_init(struct event *ev)
{
    dynbuf_init(&ev->id, FS__BUF_MAX);
    dynbuf_init(&ev->type, FS__BUF_MAX);
    dynbuf_init(&ev->time, FS__BUF_MAX);
    dynbuf_init(&ev->position, FS__BUF_MAX);
    dynbuf_init(&ev->data, FS__BUF_MAX);
    ev->version = 1;
    ev->nfields = 0;
}

static void event_release(struct event *ev)
{
    dynbuf_release(&ev->id);
    dynbuf_release(&ev->type);
    dynbuf_release(&ev->time);
    dynbuf_release(&ev->position);
    dynbuf_release(&ev->data);
}

/* The first failure of the event's buffers, FS_OK if none. */
static enum fs_error event_error(const struct event *ev)
{
    const struct dynbuf *bufs[] = {&ev->id, &ev->type, &ev->time, &ev->position, &ev->data};

    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        if (dynbuf_error(bufs[i]))
            return fs__buf_error(bufs[i]);
    }
    return FS_OK;
}

/* The whole number s (decimal digits only), or -1. */
static long long whole(const char *s)
{
    char *end;
    long long v;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    return errno || *end ? -1 : v;
}

static void fail(struct walk *w, enum fs_error err)
{
    if (w->err == FS_OK)
        w->err = err;
    xmlStopParser(w->ctxt);
}

/* Appends the event read as one structured event, after a comma unless it
 * is the first. */
static void write_event(struct walk *w)
{
    const struct event *ev = &w->ev;
    struct dynbuf *out = w->out;
    long long position = whole(dynbuf_ptr(&ev->position));
    enum fs_error err = event_error(ev);

    if (err != FS_OK) {
        fail(w, err);
        return;
    }
    if (!dynbuf_len(&ev->id) || !dynbuf_len(&ev->type) || !dynbuf_len(&ev->time) || position < 1) {
        fail(w, FS_ERR_INVALID);
        return;
    }
    dynbuf_adds(out, w->events++ ? ",\n" : "\n");
    dynbuf_adds(out, "{\"specversion\":\"1.0\",\"id\":\"");
    dynbuf_add_json(out, dynbuf_ptr(&ev->id), dynbuf_len(&ev->id));
    dynbuf_adds(out, "\",\"source\":\"");
    dynbuf_add_json(out, w->source, strlen(w->source));
    dynbuf_adds(out, "\",\"type\":\"");
    dynbuf_add_json(out, dynbuf_ptr(&ev->type), dynbuf_len(&ev->type));
    dynbuf_adds(out, "\",\"time\":\"");
    dynbuf_add_json(out, dynbuf_ptr(&ev->time), dynbuf_len(&ev->time));
    dynbuf_printf(out,
                  "\",\"datacontenttype\":\"application/json\",\"position\":%lld,"
                  "\"eventversion\":%lld,\"data\":{",
                  position, ev->version);
    dynbuf_add(out, dynbuf_ptr(&ev->data), dynbuf_len(&ev->data));
    if (dynbuf_adds(out, "}}") != DYNBUF_OK)
        fail(w, fs__buf_error(out));
}

/* The value of the attribute without namespace named name, from SAX2's
 * attributes array (5 pointers each: local name, prefix, URI, value, end
 * of value); NULL if absent. */
static const xmlChar *attribute(int n, const xmlChar **attrs, const char *name, size_t *len)
{
    for (int i = 0; i < n; i++, attrs += 5) {
        if (!attrs[2] && xmlStrEqual(attrs[0], X(name))) {
            *len = (size_t)(attrs[4] - attrs[3]);
            return attrs[3];
        }
    }
    return NULL;
}

/* The short local name first: it tells most elements apart at once. */
static int is(const xmlChar *uri, const xmlChar *local, const char *ns, const char *name)
{
    return xmlStrEqual(local, X(name)) && uri && xmlStrEqual(uri, X(ns));
}

static void on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
                     int nns, const xmlChar **ns, int nattrs, int ndefaulted, const xmlChar **attrs)
{
    struct walk *w = ctx;
    int depth = w->depth++;
    struct event *ev = &w->ev;
    const xmlChar *v;
    size_t len = 0;

    (void)prefix;
    (void)nns;
    (void)ns;
    (void)ndefaulted;
    if (depth == 1) {
        w->in_entry = is(uri, local, FS_ATOM_NS, "entry");
        w->in_content = w->in_payload = w->have_payload = 0;
        w->cap = CAP_NONE;
        event_clear(ev);
    } else if (depth == 2 && w->in_entry) {
        if (is(uri, local, FS_ATOM_NS, "id"))
            w->cap = CAP_ID;
        else if (is(uri, local, FS_ATOM_NS, "updated"))
            w->cap = CAP_TIME;
        else if (is(uri, local, FS_NAMESPACE, "position"))
            w->cap = CAP_POSITION;
        else if (is(uri, local, FS_ATOM_NS, "content"))
            w->in_content = 1;
        else if (is(uri, local, FS_ATOM_NS, "category") &&
                 (v = attribute(nattrs, attrs, "term", &len)) != NULL) {
            dynbuf_reset(&ev->type, SIZE_MAX);
            dynbuf_add(&ev->type, v, len);
        }
        w->cap_depth = depth;
    } else if (depth == 3 && w->in_content && !w->have_payload) {
        char version[24] = "1";

        v = attribute(nattrs, attrs, "version", &len);
        if (v && len < sizeof version) {
            memcpy(version, v, len);
            version[len] = '\0';
        }
        ev->version = whole(version) > 0 ? whole(version) : 1;
        w->have_payload = w->in_payload = 1;
    } else if (depth == 4 && w->in_payload) {
        dynbuf_adds(&ev->data, ev->nfields++ ? ",\"" : "\"");
        dynbuf_add_json(&ev->data, (const char *)local, strlen((const char *)local));
        dynbuf_adds(&ev->data, "\":\"");
        w->cap = CAP_FIELD;
        w->cap_depth = depth;
    }
}

static void on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
    struct walk *w = ctx;
    int depth = --w->depth;

    (void)local;
    (void)prefix;
    (void)uri;
    if (w->cap != CAP_NONE && depth == w->cap_depth) {
        if (w->cap == CAP_FIELD)
            dynbuf_adds(&w->ev.data, "\"");
        w->cap = CAP_NONE;
    }
    if (depth == 3 && w->in_payload)
        w->in_payload = 0;
    else if (depth == 2 && w->in_content)
        w->in_content = 0;
    else if (depth == 1 && w->in_entry) {
        w->in_entry = 0;
        write_event(w);
    }
}

/* Text, character references and entities already decoded, in pieces. */
static void on_text(void *ctx, const xmlChar *text, int len)
{
    struct walk *w = ctx;

    switch (w->cap) {
    case CAP_NONE:
        break;
    case CAP_FIELD:
        dynbuf_add_json(&w->ev.data, (const char *)text, (size_t)len);
        break;
    case CAP_ID:
        dynbuf_add(&w->ev.id, text, (size_t)len);
        break;
    case CAP_TIME:
        dynbuf_add(&w->ev.time, text, (size_t)len);
        break;
    case CAP_POSITION:
        dynbuf_add(&w->ev.position, text, (size_t)len);
        break;
    }
}

/* Parse errors are not printed: a document that is not well-formed ends
 * as FS_ERR_INVALID, which the caller logs. */
static void on_error(void *ctx, xmlErrorPtr error)
{
    (void)ctx;
    (void)error;
}

/* The envelope that binds the prefixes the stored entries use. */
static const char open_feed[] = "<feed xmlns=\"" FS_ATOM_NS "\" xmlns:f=\"" FS_NAMESPACE "\">";
static const char close_feed[] = "</feed>";

/* Largest piece handed to the parser at once (its sizes are ints). */
#define CHUNK (64 << 20)

enum fs_error fs__cloudevents_batch(const char *entries, size_t len, const char *source,
                                    struct dynbuf *out)
{
    xmlSAXHandler sax;
    struct walk w = {.out = out, .source = source, .cap = CAP_NONE, .err = FS_OK};

    event_init(&w.ev);
    memset(&sax, 0, sizeof sax);
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = on_start;
    sax.endElementNs = on_end;
    /* The same handler for blanks, so a field of spaces keeps them. */
    sax.characters = sax.ignorableWhitespace = sax.cdataBlock = on_text;
    sax.serror = on_error;
    w.ctxt = xmlCreatePushParserCtxt(&sax, &w, open_feed, (int)strlen(open_feed), NULL);
    if (!w.ctxt)
        return FS_ERR_NOMEM;
    xmlCtxtUseOptions(w.ctxt, XML_PARSE_NONET);
    dynbuf_adds(out, "[");
    while (len > 0 && w.err == FS_OK) {
        size_t n = len < CHUNK ? len : CHUNK;

        xmlParseChunk(w.ctxt, entries, (int)n, 0);
        entries += n;
        len -= n;
    }
    if (w.err == FS_OK)
        xmlParseChunk(w.ctxt, close_feed, (int)strlen(close_feed), 1);
    if (w.err == FS_OK && !w.ctxt->wellFormed)
        w.err = FS_ERR_INVALID;
    dynbuf_adds(out, w.events ? "\n]\n" : "]\n");
    if (w.err == FS_OK)
        w.err = fs__buf_error(out);
    event_release(&w.ev);
    xmlFreeParserCtxt(w.ctxt);
    return w.err;
}
