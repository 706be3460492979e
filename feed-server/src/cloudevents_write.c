#include "cloudevents_write.h"

#include <errno.h>
#include <libxml/xmlreader.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "atom_write.h"

#define X(s) ((const xmlChar *)(s))

/* What the text the reader meets belongs to. */
enum capture { CAP_NONE, CAP_ID, CAP_TIME, CAP_POSITION, CAP_FIELD };

/* One entry as it is read, its buffers reused from entry to entry. */
struct event {
    struct fs__buf id, type, time, position; /* raw text */
    struct fs__buf data;                     /* "name":"value" members, escaped */
    long long version;
    unsigned nfields;
};

static void event_clear(struct event *ev)
{
    fs__buf_clear(&ev->id);
    fs__buf_clear(&ev->type);
    fs__buf_clear(&ev->time);
    fs__buf_clear(&ev->position);
    fs__buf_clear(&ev->data);
    ev->version = 1;
    ev->nfields = 0;
}

static void event_release(struct event *ev)
{
    fs__buf_release(&ev->id);
    fs__buf_release(&ev->type);
    fs__buf_release(&ev->time);
    fs__buf_release(&ev->position);
    fs__buf_release(&ev->data);
}

static int event_oom(const struct event *ev)
{
    return ev->id.oom || ev->type.oom || ev->time.oom || ev->position.oom || ev->data.oom;
}

/* Whether the reader is on an element named name in namespace ns. */
static int is(xmlTextReaderPtr rd, const char *ns, const char *name)
{
    const xmlChar *uri = xmlTextReaderConstNamespaceUri(rd);
    const xmlChar *local = xmlTextReaderConstLocalName(rd);

    return uri && local && xmlStrEqual(uri, X(ns)) && xmlStrEqual(local, X(name));
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

/* Appends ev as one structured event, after a comma unless it is the
 * first. FS_ERR_INVALID if a required attribute is missing. */
static enum fs_error write_event(struct fs__buf *out, const struct event *ev, const char *source,
                                 int first)
{
    long long position = whole(ev->position.data);

    if (!ev->id.len || !ev->type.len || !ev->time.len || position < 1)
        return FS_ERR_INVALID;
    fs__buf_adds(out, first ? "\n" : ",\n");
    fs__buf_adds(out, "{\"specversion\":\"1.0\",\"id\":\"");
    fs__buf_add_json(out, ev->id.data);
    fs__buf_adds(out, "\",\"source\":\"");
    fs__buf_add_json(out, source);
    fs__buf_adds(out, "\",\"type\":\"");
    fs__buf_add_json(out, ev->type.data);
    fs__buf_adds(out, "\",\"time\":\"");
    fs__buf_add_json(out, ev->time.data);
    fs__buf_printf(out,
                   "\",\"datacontenttype\":\"application/json\",\"position\":%lld,"
                   "\"eventversion\":%lld,\"data\":{",
                   position, ev->version);
    fs__buf_add(out, ev->data.data, ev->data.len);
    fs__buf_adds(out, "}}");
    return FS_OK;
}

/* The reader's errors are the caller's to report (as FS_ERR_INVALID). */
static void ignore_error(void *userdata, xmlErrorPtr error)
{
    (void)userdata;
    (void)error;
}

/* Where the reader is inside the current entry. */
struct walk {
    int in_entry, in_content, in_payload, have_payload;
    enum capture cap; /* what the text met now belongs to */
    int cap_depth;    /* the depth of the element whose text that is */
};

/* Takes in an element at depth inside an entry (2: a child of <entry>; 3:
 * the payload element inside <content>; 4: one of its fields) and sets what
 * text to collect. */
static void start_element(xmlTextReaderPtr rd, int depth, struct walk *w, struct event *ev)
{
    int empty = xmlTextReaderIsEmptyElement(rd);

    if (depth == 2) {
        if (is(rd, FS_ATOM_NS, "id"))
            w->cap = CAP_ID;
        else if (is(rd, FS_ATOM_NS, "updated"))
            w->cap = CAP_TIME;
        else if (is(rd, FS_NAMESPACE, "position"))
            w->cap = CAP_POSITION;
        else if (is(rd, FS_ATOM_NS, "content"))
            w->in_content = !empty;
        else if (is(rd, FS_ATOM_NS, "category")) {
            xmlChar *term = xmlTextReaderGetAttribute(rd, X("term"));

            if (term) {
                fs__buf_clear(&ev->type);
                fs__buf_adds(&ev->type, (const char *)term);
                xmlFree(term);
            }
        }
        w->cap_depth = depth;
        if (empty)
            w->cap = CAP_NONE;
    } else if (depth == 3 && w->in_content && !w->have_payload) {
        xmlChar *version = xmlTextReaderGetAttribute(rd, X("version"));
        long long v = version ? whole((const char *)version) : 1;

        ev->version = v > 0 ? v : 1;
        xmlFree(version);
        w->have_payload = 1;
        w->in_payload = !empty;
    } else if (depth == 4 && w->in_payload) {
        fs__buf_adds(&ev->data, ev->nfields++ ? ",\"" : "\"");
        fs__buf_add_json(&ev->data, (const char *)xmlTextReaderConstLocalName(rd));
        fs__buf_adds(&ev->data, empty ? "\":\"\"" : "\":\"");
        if (!empty) {
            w->cap = CAP_FIELD;
            w->cap_depth = depth;
        }
    }
}

enum fs_error fs__cloudevents_batch(const char *atom, size_t len, const char *source,
                                    struct fs__buf *out)
{
    xmlTextReaderPtr rd;
    struct event ev = {0};
    struct walk w = {0};
    enum fs_error err = FS_OK;
    unsigned n = 0;
    int rc = 0;

    if (len > INT_MAX)
        return FS_ERR_INVALID;
    rd = xmlReaderForMemory(atom, (int)len, NULL, "UTF-8", XML_PARSE_NONET);
    if (!rd)
        return FS_ERR_NOMEM;
    xmlTextReaderSetStructuredErrorHandler(rd, ignore_error, NULL);
    w.cap = CAP_NONE;
    fs__buf_adds(out, "[");
    while (err == FS_OK && (rc = xmlTextReaderRead(rd)) == 1) {
        int depth = xmlTextReaderDepth(rd);
        const char *text;

        switch (xmlTextReaderNodeType(rd)) {
        case XML_READER_TYPE_ELEMENT:
            if (depth == 1 && is(rd, FS_ATOM_NS, "entry")) {
                memset(&w, 0, sizeof w);
                w.cap = CAP_NONE;
                w.in_entry = !xmlTextReaderIsEmptyElement(rd);
                event_clear(&ev);
            } else if (w.in_entry && depth > 1) {
                start_element(rd, depth, &w, &ev);
            }
            break;
        case XML_READER_TYPE_TEXT:
        case XML_READER_TYPE_CDATA:
        case XML_READER_TYPE_WHITESPACE:
        case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
            text = (const char *)xmlTextReaderConstValue(rd);
            if (!text || w.cap == CAP_NONE)
                break;
            if (w.cap == CAP_FIELD)
                fs__buf_add_json(&ev.data, text);
            else
                fs__buf_adds(w.cap == CAP_ID     ? &ev.id
                             : w.cap == CAP_TIME ? &ev.time
                                                 : &ev.position,
                             text);
            break;
        case XML_READER_TYPE_END_ELEMENT:
            if (w.cap != CAP_NONE && depth == w.cap_depth) {
                if (w.cap == CAP_FIELD)
                    fs__buf_adds(&ev.data, "\"");
                w.cap = CAP_NONE;
            }
            if (depth == 3 && w.in_payload) {
                w.in_payload = 0;
            } else if (depth == 2 && w.in_content) {
                w.in_content = 0;
            } else if (depth == 1 && w.in_entry) {
                w.in_entry = 0;
                err = event_oom(&ev) ? FS_ERR_NOMEM : write_event(out, &ev, source, n == 0);
                n++;
            }
            break;
        default:
            break;
        }
    }
    if (err == FS_OK && rc < 0)
        err = FS_ERR_INVALID;
    fs__buf_adds(out, n ? "\n]\n" : "]\n");
    if (err == FS_OK && out->oom)
        err = FS_ERR_NOMEM;
    event_release(&ev);
    xmlFreeTextReader(rd);
    return err;
}
