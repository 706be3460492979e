#include "html_view.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "atom_write.h"

static int is(const xmlNode *n, const char *ns, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && strcmp((const char *)n->ns->href, ns) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

/* Appends the escaped text content of n. */
static void add_text(struct dynbuf *out, const xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);

    if (t) {
        dynbuf_add_html(out, (const char *)t);
        xmlFree(t);
    }
}

static void add_attr(struct dynbuf *out, xmlNode *n, const char *name)
{
    xmlChar *t = xmlGetProp(n, (const xmlChar *)name);

    if (t) {
        dynbuf_add_html(out, (const char *)t);
        xmlFree(t);
    }
}

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4}dl{margin:0;display:grid;grid-template-columns:max-content auto;"
    "gap:0 1em}dt{color:#666}dd{margin:0;font-family:monospace}"
    "nav a{margin-right:1.5em}.id{font-family:monospace;font-size:.85em;color:#666}";

/* Writes <link rel="alternate"> elements for the other representations of
 * the same document, at the address of its self link (the server chooses
 * by Accept), so that tools that find feeds in a page find this one. */
static void add_alternates(struct dynbuf *out, xmlNode *feed)
{
    static const char *const types[] = {"application/atom+xml",
                                        "application/cloudevents-batch+json"};

    for (xmlNode *n = feed->children; n; n = n->next) {
        xmlChar *rel;
        int self;

        if (!is(n, FS_ATOM_NS, "link"))
            continue;
        rel = xmlGetProp(n, (const xmlChar *)"rel");
        self = rel && strcmp((const char *)rel, "self") == 0;
        xmlFree(rel);
        if (!self)
            continue;
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            dynbuf_printf(out, "<link rel=\"alternate\" type=\"%s\" href=\"", types[i]);
            add_attr(out, n, "href");
            dynbuf_adds(out, "\">");
        }
        return;
    }
}

/* Writes the paging navigation from the feed's link elements. */
static void add_nav(struct dynbuf *out, xmlNode *feed)
{
    static const struct {
        const char *rel, *label;
    } rels[] = {{"prev-archive", "&larr; previous page"},
                {"current", "current entries"},
                {"next-archive", "next page &rarr;"}};

    dynbuf_adds(out, "<nav>");
    for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++) {
        for (xmlNode *n = feed->children; n; n = n->next) {
            xmlChar *rel;

            if (!is(n, FS_ATOM_NS, "link"))
                continue;
            rel = xmlGetProp(n, (const xmlChar *)"rel");
            if (rel && strcmp((const char *)rel, rels[i].rel) == 0) {
                dynbuf_printf(out, "<a rel=\"%s\" href=\"", rels[i].rel);
                add_attr(out, n, "href");
                dynbuf_printf(out, "\">%s</a>", rels[i].label);
            }
            xmlFree(rel);
        }
    }
    dynbuf_adds(out, "</nav>\n");
}

static void add_entry(struct dynbuf *out, xmlNode *entry)
{
    xmlNode *pos = NULL, *title = NULL, *updated = NULL, *id = NULL, *content = NULL;

    for (xmlNode *n = entry->children; n; n = n->next) {
        if (is(n, FS_NAMESPACE, "position"))
            pos = n;
        else if (is(n, FS_ATOM_NS, "title"))
            title = n;
        else if (is(n, FS_ATOM_NS, "updated"))
            updated = n;
        else if (is(n, FS_ATOM_NS, "id"))
            id = n;
        else if (is(n, FS_ATOM_NS, "content"))
            content = n;
    }
    dynbuf_adds(out, "<tr><td>");
    if (pos)
        add_text(out, pos);
    dynbuf_adds(out, "</td><td>");
    if (title)
        add_text(out, title);
    dynbuf_adds(out, "</td><td>");
    if (updated)
        add_text(out, updated);
    dynbuf_adds(out, "</td><td><dl>");
    for (xmlNode *ev = content ? content->children : NULL; ev; ev = ev->next) {
        if (ev->type != XML_ELEMENT_NODE)
            continue;
        for (xmlNode *f = ev->children; f; f = f->next) {
            if (f->type != XML_ELEMENT_NODE)
                continue;
            dynbuf_adds(out, "<dt>");
            dynbuf_add_html(out, (const char *)f->name);
            dynbuf_adds(out, "</dt><dd>");
            add_text(out, f);
            dynbuf_adds(out, "</dd>");
        }
        break;
    }
    dynbuf_adds(out, "</dl></td><td class=\"id\">");
    if (id)
        add_text(out, id);
    dynbuf_adds(out, "</td></tr>\n");
}

enum fs_error fs__html_view(const char *atom, size_t len, struct dynbuf *out)
{
    xmlDoc *doc =
        xmlReadMemory(atom, (int)len, NULL, "UTF-8", XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    xmlNode *feed = doc ? xmlDocGetRootElement(doc) : NULL;
    size_t entries = 0;

    if (!feed) {
        xmlFreeDoc(doc);
        return FS_ERR_NOMEM;
    }
    dynbuf_adds(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width\"><title>");
    for (xmlNode *n = feed->children; n; n = n->next) {
        if (is(n, FS_ATOM_NS, "title"))
            add_text(out, n);
    }
    dynbuf_adds(out, "</title>");
    add_alternates(out, feed);
    dynbuf_printf(out, "<style>%s</style></head><body>\n<h1>", style);
    for (xmlNode *n = feed->children; n; n = n->next) {
        if (is(n, FS_ATOM_NS, "title"))
            add_text(out, n);
    }
    dynbuf_adds(out, "</h1>\n<p>");
    for (xmlNode *n = feed->children; n; n = n->next) {
        if (is(n, FS_ATOM_NS, "updated")) {
            dynbuf_adds(out, "Updated ");
            add_text(out, n);
        } else if (is(n, FS_HISTORY_NS, "archive")) {
            dynbuf_adds(out, " &middot; archive page (never changes)");
        } else if (is(n, FS_NAMESPACE, "head")) {
            dynbuf_adds(out, " &middot; head position ");
            add_text(out, n);
        } else if (is(n, FS_NAMESPACE, "pageSize")) {
            dynbuf_adds(out, " &middot; page size ");
            add_text(out, n);
        }
    }
    dynbuf_adds(out, "</p>\n");
    add_nav(out, feed);
    dynbuf_adds(out, "<table><thead><tr><th>Position</th><th>Type</th><th>Updated</th>"
                     "<th>Fields</th><th>Id</th></tr></thead><tbody>\n");
    for (xmlNode *n = feed->children; n; n = n->next) {
        if (is(n, FS_ATOM_NS, "entry")) {
            add_entry(out, n);
            entries++;
        }
    }
    dynbuf_adds(out, "</tbody></table>\n");
    if (!entries)
        dynbuf_adds(out, "<p>No entries yet.</p>\n");
    add_nav(out, feed);
    dynbuf_adds(out, "</body></html>\n");
    xmlFreeDoc(doc);
    return fs__buf_error(out);
}
