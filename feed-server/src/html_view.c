#include "html_view.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atom_write.h"

/* Entries the live tail keeps on screen. */
#define TAIL_ROWS 200

/* ---- The page around the content ---- */

/* The library's own page, when the program gave no layout. */
static const char plain_layout[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width\"><title>{{title}}</title></head>"
    "<body class=\"fs-plain\">\n{{body}}</body></html>\n";

/* The pages' own style: the plain page's whole look (scoped to its body),
 * and for both the few classes of the feed browser, so that a site's
 * stylesheet keeps the rest. */
static const char style[] =
    "<style>"
    ".fs-plain{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    ".fs-plain table{border-collapse:collapse;width:100%}"
    ".fs-plain th,.fs-plain td{border-bottom:1px solid #ddd;padding:.4em;text-align:left;"
    "vertical-align:top}"
    ".fs-plain th{background:#f4f4f4}"
    ".fs-plain dl{margin:0;display:grid;grid-template-columns:max-content auto;gap:0 1em}"
    ".fs-plain dt{color:#666}.fs-plain dd{margin:0;font-family:monospace}"
    ".fs-plain pre{background:#f4f4f4;padding:.6em;overflow-x:auto}"
    ".fs-nav a{margin-right:1.2em}.fs-id{font-family:monospace;font-size:.85em;color:#666;"
    "word-break:break-all}"
    ".fs-sub{color:#666}.fs-time{white-space:nowrap}.fs-new td{animation:fs-flash 3s}"
    "@keyframes fs-flash{from{background:#fff3b0}to{background:transparent}}"
    "</style>";

/* Appends s[0..n) with "{{title}}" as title (escaped), other placeholders
 * dropped, and head_extra (may be NULL) before "</head>". */
static void add_layout_part(struct dynbuf *out, const char *s, size_t n, const char *title,
                            const char *head_extra)
{
    const char *end = s + n;

    while (s < end) {
        const char *open = memmem(s, (size_t)(end - s), "{{", 2);
        const char *close = open ? memmem(open, (size_t)(end - open), "}}", 2) : NULL;
        const char *head = head_extra ? memmem(s, (size_t)(end - s), "</head>", 7) : NULL;

        if (head && (!open || head < open)) {
            dynbuf_add(out, s, (size_t)(head - s));
            dynbuf_adds(out, head_extra);
            head_extra = NULL;
            s = head;
            continue;
        }
        if (!open || !close) {
            dynbuf_add(out, s, (size_t)(end - s));
            return;
        }
        dynbuf_add(out, s, (size_t)(open - s));
        if (close - open == 7 && memcmp(open, "{{title", 7) == 0)
            dynbuf_add_html(out, title);
        s = close + 2;
    }
}

/* The layout of meta (or the plain one), and where its "{{body}}" is. */
static const char *layout_of(const char *layout, const char **body)
{
    const char *l = layout ? layout : plain_layout;

    *body = strstr(l, "{{body}}");
    return l;
}

/* Appends the layout up to its {{body}}, with title and, in its <head>,
 * head_extra (may be NULL) and the pages' style. */
static void page_begin(struct dynbuf *out, const char *layout, const char *title,
                       const char *head_extra)
{
    const char *body, *l = layout_of(layout, &body);
    struct dynbuf head = FS__BUF_INIT;

    if (head_extra)
        dynbuf_adds(&head, head_extra);
    dynbuf_adds(&head, style);
    add_layout_part(out, l, body ? (size_t)(body - l) : strlen(l), title,
                    dynbuf_error(&head) ? style : dynbuf_ptr(&head));
    dynbuf_release(&head);
}

/* Appends the layout after its {{body}}. */
static void page_end(struct dynbuf *out, const char *layout, const char *title)
{
    const char *body;

    layout_of(layout, &body);
    if (body)
        add_layout_part(out, body + 8, strlen(body + 8), title, NULL);
}

/* ---- Reading the Atom ---- */

static int is(const xmlNode *n, const char *ns, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && strcmp((const char *)n->ns->href, ns) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

/* The first child of parent in ns named name, or NULL. */
static xmlNode *child(xmlNode *parent, const char *ns, const char *name)
{
    for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
        if (is(n, ns, name))
            return n;
    return NULL;
}

/* Appends the escaped text content of n (nothing for NULL). */
static void add_text(struct dynbuf *out, const xmlNode *n)
{
    xmlChar *t = n ? xmlNodeGetContent(n) : NULL;

    if (t) {
        dynbuf_add_html(out, (const char *)t);
        xmlFree(t);
    }
}

/* The text of n as a number (0 when it is not one). */
static int64_t number(const xmlNode *n)
{
    xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
    int64_t v = 0;

    for (const xmlChar *p = t; p && *p >= '0' && *p <= '9' && v < INT64_MAX / 10 - 9; p++)
        v = v * 10 + (*p - '0');
    xmlFree(t);
    return v;
}

/* The href of feed's <link rel="rel">, or NULL; the caller xmlFree()s it. */
static xmlChar *link_href(xmlNode *feed, const char *rel)
{
    for (xmlNode *n = feed->children; n; n = n->next) {
        xmlChar *r;
        int match;

        if (!is(n, FS_ATOM_NS, "link"))
            continue;
        r = xmlGetProp(n, (const xmlChar *)"rel");
        match = r && strcmp((const char *)r, rel) == 0;
        xmlFree(r);
        if (match)
            return xmlGetProp(n, (const xmlChar *)"href");
    }
    return NULL;
}

/* Appends the fields of an entry's payload as a <dl>. */
static void add_fields(struct dynbuf *out, xmlNode *content)
{
    dynbuf_adds(out, "<dl class=\"fields\">");
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
    dynbuf_adds(out, "</dl>");
}

/* ---- A feed document ---- */

/* Writes <link rel="alternate"> elements for the other representations of
 * the same document, at the address of its self link (the server chooses
 * by Accept), so that tools that find feeds in a page find this one. */
static void add_alternates(struct dynbuf *out, const char *self)
{
    static const char *const types[] = {"application/atom+xml",
                                        "application/cloudevents-batch+json"};

    for (size_t i = 0; self && i < sizeof types / sizeof types[0]; i++) {
        dynbuf_printf(out, "<link rel=\"alternate\" type=\"%s\" href=\"", types[i]);
        dynbuf_add_html(out, self);
        dynbuf_adds(out, "\">");
    }
}

/* Appends a link to href (escaped) with rel (may be NULL) and label. */
static void add_link(struct dynbuf *out, const char *rel, const char *href, const char *suffix,
                     const char *label)
{
    dynbuf_adds(out, "<a");
    if (rel)
        dynbuf_printf(out, " rel=\"%s\"", rel);
    dynbuf_adds(out, " href=\"");
    dynbuf_add_html(out, href);
    dynbuf_printf(out, "%s\">%s</a>", suffix ? suffix : "", label);
}

/* Writes the navigation of a document: newer and older pages (newest
 * first, so "older" is prev-archive), the newest entries, the live tail,
 * and the raw representations. */
static void add_nav(struct dynbuf *out, xmlNode *feed, const struct fs__feed_meta *meta,
                    int archive)
{
    xmlChar *self = link_href(feed, "self"), *current = link_href(feed, "current");
    xmlChar *prev = link_href(feed, "prev-archive"), *next = link_href(feed, "next-archive");

    dynbuf_adds(out, "<nav class=\"pager fs-nav\">");
    if (archive && current)
        add_link(out, "current", (const char *)current, NULL, "&#8676; newest");
    if (next)
        add_link(out, "next-archive", (const char *)next, NULL, "&larr; newer");
    if (prev)
        add_link(out, "prev-archive", (const char *)prev, NULL, "older &rarr;");
    dynbuf_printf(out, "<a href=\"/feeds/%s/tail\">live tail</a>", meta->name);
    if (self) {
        add_link(out, NULL, (const char *)self, "?format=atom", "Atom");
        add_link(out, NULL, (const char *)self, "?format=json", "CloudEvents JSON");
    }
    dynbuf_adds(out, "</nav>\n");
    xmlFree(self);
    xmlFree(current);
    xmlFree(prev);
    xmlFree(next);
}

/* Appends the table row of one Atom entry: its position (a link to the
 * entry's own page, and the row's anchor e<position>), type, time,
 * fields and id, all escaped. */
static void add_entry_row(struct dynbuf *out, xmlNode *entry, const struct fs__feed_meta *meta)
{
    int64_t pos = number(child(entry, FS_NAMESPACE, "position"));

    dynbuf_printf(out, "<tr id=\"e%lld\"><td class=\"num\"><a href=\"/feeds/%s/entries/%lld\">",
                  (long long)pos, meta->name, (long long)pos);
    add_text(out, child(entry, FS_NAMESPACE, "position"));
    dynbuf_adds(out, "</a></td><td>");
    add_text(out, child(entry, FS_ATOM_NS, "title"));
    dynbuf_adds(out, "</td><td class=\"fs-time\">");
    add_text(out, child(entry, FS_ATOM_NS, "updated"));
    dynbuf_adds(out, "</td><td>");
    add_fields(out, child(entry, FS_ATOM_NS, "content"));
    dynbuf_adds(out, "</td><td class=\"fs-id\">");
    add_text(out, child(entry, FS_ATOM_NS, "id"));
    dynbuf_adds(out, "</td></tr>\n");
}

static const char entries_head[] = "<table class=\"fs-entries\"><thead><tr><th class=\"num\">"
                                   "Position</th><th>Type</th><th>Updated</th><th>Fields</th>"
                                   "<th>Id</th></tr></thead><tbody>\n";

enum fs_error fs__html_view(const char *atom, size_t len, const struct fs__feed_meta *meta,
                            struct dynbuf *out)
{
    xmlDoc *doc =
        xmlReadMemory(atom, (int)len, NULL, "UTF-8", XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    xmlNode *feed = doc ? xmlDocGetRootElement(doc) : NULL;
    xmlNode **entries = NULL;
    struct dynbuf head = FS__BUF_INIT;
    char title[160];
    xmlChar *self;
    size_t n = 0, cap = 0;
    int archive;
    int64_t page_size, head_pos, first = 0, last = 0;
    enum fs_error err = FS_OK;

    if (!feed) {
        xmlFreeDoc(doc);
        return FS_ERR_NOMEM;
    }
    for (xmlNode *e = feed->children; e; e = e->next) {
        if (!is(e, FS_ATOM_NS, "entry"))
            continue;
        if (n == cap) {
            xmlNode **grown = realloc(entries, (cap ? cap * 2 : 64) * sizeof *grown);

            if (!grown) {
                err = FS_ERR_NOMEM;
                goto out;
            }
            entries = grown;
            cap = cap ? cap * 2 : 64;
        }
        entries[n++] = e;
    }
    archive = child(feed, FS_HISTORY_NS, "archive") != NULL;
    page_size = number(child(feed, FS_NAMESPACE, "pageSize"));
    head_pos = number(child(feed, FS_NAMESPACE, "head"));
    if (n) {
        first = number(child(entries[0], FS_NAMESPACE, "position"));
        last = number(child(entries[n - 1], FS_NAMESPACE, "position"));
    }
    if (archive && page_size > 0 && n)
        snprintf(title, sizeof title, "%s, page %lld", meta->name,
                 (long long)((first - 1) / page_size));
    else
        snprintf(title, sizeof title, "%s, newest entries", meta->name);
    self = link_href(feed, "self");
    add_alternates(&head, (const char *)self);
    xmlFree(self);
    page_begin(out, meta->html_layout, title, dynbuf_ptr(&head));
    dynbuf_adds(out, "<div class=\"fs-feed\">\n<h1>Feed <code>");
    dynbuf_add_html(out, meta->name);
    dynbuf_adds(out, "</code></h1>\n<p class=\"fs-sub\">");
    if (archive)
        dynbuf_printf(out,
                      "Archive page: entries %lld to %lld, newest first. It never changes."
                      " &middot; ",
                      (long long)first, (long long)last);
    else if (n)
        dynbuf_printf(out, "The newest entries, %lld to %lld, newest first. &middot; ",
                      (long long)first, (long long)last);
    dynbuf_printf(out, "Head position %lld &middot; %lld entries a page &middot; updated ",
                  (long long)head_pos, (long long)page_size);
    add_text(out, child(feed, FS_ATOM_NS, "updated"));
    dynbuf_adds(out, "</p>\n");
    add_nav(out, feed, meta, archive);
    if (n) {
        dynbuf_adds(out, entries_head);
        for (size_t i = n; i-- > 0;)
            add_entry_row(out, entries[i], meta);
        dynbuf_adds(out, "</tbody></table>\n");
        add_nav(out, feed, meta, archive);
    } else if (head_pos > 0) {
        dynbuf_adds(out, "<p>No entries since the last full page: the older ones are on the "
                         "pages (&ldquo;older&rdquo;). New entries appear here, and on the "
                         "live tail as they are committed.</p>\n");
    } else {
        dynbuf_adds(out, "<p>No entries yet. They appear here, and on the live tail as they are "
                         "committed.</p>\n");
    }
    dynbuf_adds(out, "</div>\n");
    page_end(out, meta->html_layout, title);
    err = fs__buf_error(out);
out:
    dynbuf_release(&head);
    free(entries);
    xmlFreeDoc(doc);
    return err;
}

/* ---- One entry ---- */

enum fs_error fs__html_entry(const char *entry_doc, size_t len, const struct fs__feed_meta *meta,
                             int64_t head, struct dynbuf *out)
{
    xmlDoc *doc =
        xmlReadMemory(entry_doc, (int)len, NULL, "UTF-8", XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    xmlNode *entry = doc ? xmlDocGetRootElement(doc) : NULL;
    xmlNode *content, *payload = NULL;
    char title[160], holder[120];
    int64_t pos, page;
    xmlChar *version = NULL;

    if (!entry) {
        xmlFreeDoc(doc);
        return FS_ERR_NOMEM;
    }
    pos = number(child(entry, FS_NAMESPACE, "position"));
    content = child(entry, FS_ATOM_NS, "content");
    for (xmlNode *c = content ? content->children : NULL; c && !payload; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            payload = c;
    if (payload)
        version = xmlGetProp(payload, (const xmlChar *)"version");
    /* The document that holds it: its full page, or the head. */
    page = (pos - 1) / (int64_t)meta->page_size;
    if (page < head / (int64_t)meta->page_size)
        snprintf(holder, sizeof holder, "/feeds/%s/pages/%lld", meta->name, (long long)page);
    else
        snprintf(holder, sizeof holder, "/feeds/%s", meta->name);
    snprintf(title, sizeof title, "%s, entry %lld", meta->name, (long long)pos);
    page_begin(out, meta->html_layout, title, NULL);
    dynbuf_printf(out, "<div class=\"fs-feed fs-entry\">\n<h1>Feed <code>%s</code>, entry %lld: ",
                  meta->name, (long long)pos);
    add_text(out, child(entry, FS_ATOM_NS, "title"));
    dynbuf_adds(out, "</h1>\n<nav class=\"pager fs-nav\">");
    if (pos > 1)
        dynbuf_printf(out, "<a rel=\"prev\" href=\"/feeds/%s/entries/%lld\">&larr; entry %lld</a>",
                      meta->name, (long long)(pos - 1), (long long)(pos - 1));
    if (pos < head)
        dynbuf_printf(out, "<a rel=\"next\" href=\"/feeds/%s/entries/%lld\">entry %lld &rarr;</a>",
                      meta->name, (long long)(pos + 1), (long long)(pos + 1));
    dynbuf_printf(out, "<a rel=\"up\" href=\"%s#e%lld\">in %s</a>", holder, (long long)pos,
                  strstr(holder, "/pages/") ? "its archive page" : "the newest entries");
    dynbuf_printf(out,
                  "<a href=\"/feeds/%s/entries/%lld?format=atom\">Atom</a>"
                  "<a href=\"/feeds/%s/entries/%lld?format=json\">CloudEvents JSON</a></nav>\n",
                  meta->name, (long long)pos, meta->name, (long long)pos);
    dynbuf_adds(out, "<table class=\"fs-entry-meta\"><tbody><tr><th>Position</th><td>");
    add_text(out, child(entry, FS_NAMESPACE, "position"));
    dynbuf_adds(out, "</td></tr>\n<tr><th>Type</th><td>");
    add_text(out, child(entry, FS_ATOM_NS, "title"));
    dynbuf_adds(out, "</td></tr>\n<tr><th>Version</th><td>");
    if (version)
        dynbuf_add_html(out, (const char *)version);
    dynbuf_adds(out, "</td></tr>\n<tr><th>Updated</th><td>");
    add_text(out, child(entry, FS_ATOM_NS, "updated"));
    dynbuf_adds(out, "</td></tr>\n<tr><th>Id</th><td class=\"fs-id\">");
    add_text(out, child(entry, FS_ATOM_NS, "id"));
    dynbuf_adds(out, "</td></tr>\n</tbody></table>\n<h2>Fields</h2>\n");
    add_fields(out, content);
    dynbuf_adds(out, "\n</div>\n");
    page_end(out, meta->html_layout, title);
    xmlFree(version);
    xmlFreeDoc(doc);
    return fs__buf_error(out);
}

/* ---- The live tail ---- */

/*
 * The tail's script: long-polls the head as CloudEvents JSON (the ETag it
 * holds in If-None-Match, "Prefer: wait=25"), adds each entry after the
 * last one shown on top, and fills a gap left when the head moved past a
 * page that filled in between from that archive page; a head that is
 * empty (a page just filled) shows that page first. No external assets.
 */
static const char tail_script[] =
    "<script>\n(function () {\n"
    "  var root = document.getElementById(\"fs-tail\");\n"
    "  var feed = root.dataset.feed, size = +root.dataset.pageSize, keep = +root.dataset.keep;\n"
    "  var rows = root.querySelector(\"tbody\"), state = "
    "document.getElementById(\"fs-tail-state\");\n"
    "  var etag = null, shown = 0;\n"
    "  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }\n"
    "  function cell(tr, text, cls) {\n"
    "    var td = document.createElement(\"td\"); if (cls) td.className = cls;\n"
    "    if (text !== null) td.textContent = text; tr.appendChild(td); return td;\n"
    "  }\n"
    "  function add(e) {\n"
    "    if (e.position <= shown) return;\n"
    "    var tr = document.createElement(\"tr\"); tr.id = \"e\" + e.position; tr.className = "
    "\"fs-new\";\n"
    "    var a = document.createElement(\"a\"); a.href = feed + \"/entries/\" + e.position;\n"
    "    a.textContent = e.position; cell(tr, null, \"num\").appendChild(a);\n"
    "    cell(tr, e.type); cell(tr, e.time, \"fs-time\");\n"
    "    var dl = document.createElement(\"dl\"); dl.className = \"fields\";\n"
    "    for (var k in e.data) {\n"
    "      var dt = document.createElement(\"dt\"), dd = document.createElement(\"dd\");\n"
    "      dt.textContent = k; dd.textContent = e.data[k]; dl.appendChild(dt); "
    "dl.appendChild(dd);\n"
    "    }\n"
    "    cell(tr, null).appendChild(dl); cell(tr, e.id, \"fs-id\");\n"
    "    rows.insertBefore(tr, rows.firstChild); shown = e.position;\n"
    "    while (rows.children.length > keep) rows.removeChild(rows.lastChild);\n"
    "  }\n"
    "  async function get(url, headers) {\n"
    "    headers.Accept = \"application/cloudevents-batch+json\";\n"
    "    return fetch(url, { headers: headers, cache: \"no-store\", credentials: \"same-origin\" "
    "});\n"
    "  }\n"
    "  async function fill(upto) {\n"
    "    for (var p = Math.floor(shown / size); shown > 0 && p * size < upto - 1; p++) {\n"
    "      var r = await get(feed + \"/pages/\" + p, {});\n"
    "      if (!r.ok) return;\n"
    "      (await r.json()).forEach(function (e) { if (e.position < upto) add(e); });\n"
    "    }\n"
    "  }\n"
    "  async function last_page(link) {\n"
    "    var m = /<([^>]*)>;\\s*rel=\"prev-archive\"/.exec(link);\n"
    "    if (!m) return;\n"
    "    var r = await get(m[1], {});\n"
    "    if (r.ok) (await r.json()).forEach(add);\n"
    "  }\n"
    "  async function run() {\n"
    "    for (;;) {\n"
    "      var h = {}, r;\n"
    "      if (etag) { h[\"If-None-Match\"] = etag; h.Prefer = \"wait=25\"; }\n"
    "      try { r = await get(feed, h); } catch (err) {\n"
    "        state.textContent = \"The connection to the feed was lost; trying again.\";\n"
    "        await sleep(2000); continue;\n"
    "      }\n"
    "      if (r.status === 304) continue;\n"
    "      if (!r.ok) {\n"
    "        state.textContent = \"The feed answered \" + r.status + \"; trying again.\";\n"
    "        await sleep(2000); continue;\n"
    "      }\n"
    "      etag = r.headers.get(\"ETag\");\n"
    "      var list = await r.json();\n"
    "      if (!shown && !list.length) await last_page(r.headers.get(\"Link\") || \"\");\n"
    "      if (list.length && list[0].position > shown + 1) await fill(list[0].position);\n"
    "      list.forEach(add);\n"
    "      state.textContent = \"Live: \" + (shown ? \"entry \" + shown + \" is the newest shown\" "
    ":"
    " \"no entry since the last full page\") + \"; new entries appear on top as they are "
    "committed.\";\n"
    "      state.dataset.live = \"1\";\n"
    "    }\n"
    "  }\n"
    "  run();\n"
    "})();\n</script>\n";

enum fs_error fs__html_tail(const struct fs__feed_meta *meta, struct dynbuf *out)
{
    char title[120];

    snprintf(title, sizeof title, "%s, live tail", meta->name);
    page_begin(out, meta->html_layout, title, NULL);
    dynbuf_printf(out,
                  "<div class=\"fs-feed\" id=\"fs-tail\" data-feed=\"/feeds/%s\" "
                  "data-page-size=\"%u\" data-keep=\"%d\">\n<h1>Feed <code>%s</code>, live "
                  "tail</h1>\n<p class=\"fs-sub\" id=\"fs-tail-state\">Connecting to the feed"
                  "&hellip;</p>\n<nav class=\"pager fs-nav\"><a rel=\"current\" "
                  "href=\"/feeds/%s\">newest entries</a><a href=\"/feeds/%s?format=atom\">Atom</a>"
                  "<a href=\"/feeds/%s?format=json\">CloudEvents JSON</a></nav>\n",
                  meta->name, meta->page_size, TAIL_ROWS, meta->name, meta->name, meta->name,
                  meta->name);
    dynbuf_adds(out, entries_head);
    dynbuf_adds(out, "</tbody></table>\n<noscript><p>The live tail needs JavaScript; the <a "
                     "href=\"/feeds/");
    dynbuf_adds(out, meta->name);
    dynbuf_adds(out, "\">newest entries</a> work without.</p></noscript>\n</div>\n");
    dynbuf_adds(out, tail_script);
    page_end(out, meta->html_layout, title);
    return fs__buf_error(out);
}

/* ---- Pages for answers that are not documents ---- */

enum fs_error fs__html_token_hint(const char *layout, const char *feed, const char *path,
                                  const char *host, int rejected, const char *hint_html,
                                  struct dynbuf *out)
{
    char title[120];

    snprintf(title, sizeof title, "%s needs the feed token", feed);
    page_begin(out, layout, title, NULL);
    dynbuf_adds(out, "<div class=\"fs-feed fs-token\">\n<h1>Feed <code>");
    dynbuf_add_html(out, feed);
    dynbuf_adds(out, "</code> needs the feed token</h1>\n");
    if (rejected)
        dynbuf_adds(out, "<p class=\"error\">The token this browser sent is not valid for these "
                         "feeds.</p>\n");
    dynbuf_adds(out, "<p>This program's feeds are protected: a reader presents the <strong>feed "
                     "token</strong>, a secret the operator gives the program "
                     "(<code>--feed-token</code>) and every follower "
                     "(<code>--token</code>).</p>\n");
    if (hint_html)
        dynbuf_adds(out, hint_html);
    dynbuf_adds(out, "<h2>In this browser</h2>\n<p><a id=\"fs-login\" href=\"");
    dynbuf_add_html(out, path);
    dynbuf_adds(out, "?login\">Enter the token</a>: the browser asks for a user name (any will "
                     "do) and a password (the token), and keeps them for these feeds.</p>\n"
                     "<h2>With curl</h2>\n<pre>curl -H \"Authorization: Bearer TOKEN\" "
                     "http://");
    dynbuf_add_html(out, host ? host : "HOST:PORT");
    dynbuf_add_html(out, path);
    dynbuf_adds(out, "</pre>\n<p>A follower sends it the same way; <code>curl -u "
                     "any:TOKEN</code> works too.</p>\n</div>\n");
    page_end(out, layout, title);
    return fs__buf_error(out);
}

enum fs_error fs__html_to_head(const struct fs__feed_meta *meta, int64_t page, struct dynbuf *out)
{
    char title[120];

    snprintf(title, sizeof title, "%s, page %lld", meta->name, (long long)page);
    page_begin(out, meta->html_layout, title, NULL);
    dynbuf_printf(out,
                  "<p>Page %lld of feed %s is not full yet. Its entries so far are in <a "
                  "href=\"/feeds/%s\">the newest entries</a>.</p>\n",
                  (long long)page, meta->name, meta->name);
    page_end(out, meta->html_layout, title);
    return fs__buf_error(out);
}
