#include "atom_write.h"

#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <string.h>

#define X(s) ((const xmlChar *)(s))

static int is_name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* An ASCII subset of XML NCName, which is what event types and field names
 * of the published language use. */
static int is_ncname(const char *s)
{
    size_t n = 0;

    if (!s || !is_name_start((unsigned char)s[0]))
        return 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (!is_name_start(c) && !(c >= '0' && c <= '9') && c != '-' && c != '.')
            return 0;
    }
    if (n > 128)
        return 0;
    if (n >= 3 && (s[0] == 'x' || s[0] == 'X') && (s[1] == 'm' || s[1] == 'M') &&
        (s[2] == 'l' || s[2] == 'L'))
        return 0;
    return 1;
}

int fs__atom_text_ok(const char *s)
{
    size_t len = strlen(s);

    return len <= 1 << 20 && fs_text_check(s, len, NULL, 0) == 0;
}

enum fs_error fs__atom_check_event(const struct fs_event *ev)
{
    if (!ev || !is_ncname(ev->type) || ev->version < 0 || (ev->nfields && !ev->fields))
        return FS_ERR_INVALID;
    for (size_t i = 0; i < ev->nfields; i++) {
        if (!is_ncname(ev->fields[i].name) || !ev->fields[i].value ||
            strlen(ev->fields[i].value) > 1 << 20)
            return FS_ERR_INVALID;
        if (!fs__atom_text_ok(ev->fields[i].value))
            return FS_ERR_TEXT;
    }
    return FS_OK;
}

/* Moves what the writer produced into out and frees both writer and buffer. */
static enum fs_error finish(xmlTextWriterPtr w, xmlBufferPtr xb, int rc, struct dynbuf *out)
{
    enum fs_error err = FS_OK;

    if (rc >= 0)
        rc = xmlTextWriterFlush(w);
    xmlFreeTextWriter(w);
    if (rc < 0) {
        err = FS_ERR_NOMEM;
    } else {
        dynbuf_add(out, xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
        err = fs__buf_error(out);
    }
    xmlBufferFree(xb);
    return err;
}

enum fs_error fs__atom_entry(const struct fs_event *ev, const char *id, const char *updated,
                             int64_t position, struct dynbuf *out)
{
    xmlBufferPtr xb = xmlBufferCreateSize(512);
    xmlTextWriterPtr w = xb ? xmlNewTextWriterMemory(xb, 0) : NULL;
    int rc = 0;

    if (!w) {
        xmlBufferFree(xb);
        return FS_ERR_NOMEM;
    }
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if (rc >= 0)                                                                               \
            rc = (call);                                                                           \
    } while (0)
    TRY(xmlTextWriterStartElement(w, X("entry")));
    TRY(xmlTextWriterWriteElement(w, X("id"), X(id)));
    TRY(xmlTextWriterWriteElement(w, X("title"), X(ev->type)));
    TRY(xmlTextWriterWriteElement(w, X("updated"), X(updated)));
    TRY(xmlTextWriterStartElement(w, X("category")));
    TRY(xmlTextWriterWriteAttribute(w, X("term"), X(ev->type)));
    TRY(xmlTextWriterEndElement(w));
    TRY(xmlTextWriterWriteFormatElement(w, X("f:position"), "%lld", (long long)position));
    TRY(xmlTextWriterStartElement(w, X("content")));
    TRY(xmlTextWriterWriteAttribute(w, X("type"), X("application/xml")));
    TRY(xmlTextWriterStartElement(w, X(ev->type)));
    TRY(xmlTextWriterWriteAttribute(w, X("xmlns"), X("")));
    TRY(xmlTextWriterWriteFormatAttribute(w, X("version"), "%d", ev->version ? ev->version : 1));
    for (size_t i = 0; i < ev->nfields; i++)
        TRY(xmlTextWriterWriteElement(w, X(ev->fields[i].name), X(ev->fields[i].value)));
    TRY(xmlTextWriterEndElement(w));
    TRY(xmlTextWriterEndElement(w));
    TRY(xmlTextWriterEndElement(w));
    return finish(w, xb, rc, out);
}

size_t fs__doc_links(const struct fs__feed_meta *meta, int64_t page, int64_t head,
                     struct fs__link links[FS_MAX_LINKS])
{
    size_t n = 0;

    links[n++] = (struct fs__link){"self", page};
    links[n++] = (struct fs__link){"current", -1};
    if (page > 0)
        links[n++] = (struct fs__link){"prev-archive", page - 1};
    else if (page < 0 && head >= (int64_t)meta->page_size)
        links[n++] = (struct fs__link){"prev-archive", head / meta->page_size - 1};
    if (page >= 0)
        links[n++] = (struct fs__link){"next-archive", page + 1};
    return n;
}

int fs__link_href(const struct fs__feed_meta *meta, int64_t page, char *out, size_t size)
{
    if (page < 0)
        return snprintf(out, size, "/feeds/%s", meta->name);
    return snprintf(out, size, "/feeds/%s/pages/%lld", meta->name, (long long)page);
}

/* Writes <link rel=REL href=... type="application/atom+xml"/>. */
static int write_link(xmlTextWriterPtr w, const struct fs__feed_meta *meta,
                      const struct fs__link *link)
{
    char href[128];
    int rc;

    fs__link_href(meta, link->page, href, sizeof href);
    rc = xmlTextWriterStartElement(w, X("link"));
    if (rc >= 0)
        rc = xmlTextWriterWriteAttribute(w, X("rel"), X(link->rel));
    if (rc >= 0)
        rc = xmlTextWriterWriteAttribute(w, X("href"), X(href));
    if (rc >= 0)
        rc = xmlTextWriterWriteAttribute(w, X("type"), X("application/atom+xml"));
    if (rc >= 0)
        rc = xmlTextWriterEndElement(w);
    return rc;
}

enum fs_error fs__atom_document(const struct fs__doc *doc, struct dynbuf *out)
{
    const struct fs__feed_meta *m = doc->meta;
    xmlBufferPtr xb = xmlBufferCreateSize(1024 + doc->entries_len);
    xmlTextWriterPtr w = xb ? xmlNewTextWriterMemory(xb, 0) : NULL;
    struct fs__link links[FS_MAX_LINKS];
    size_t nlinks;
    char id[64], title[128];
    int rc = 0;

    if (!w) {
        xmlBufferFree(xb);
        return FS_ERR_NOMEM;
    }
    snprintf(id, sizeof id, "urn:uuid:%s", m->uuid);
    if (doc->page < 0)
        snprintf(title, sizeof title, "%s", m->name);
    else
        snprintf(title, sizeof title, "%s, page %lld", m->name, (long long)doc->page);
    TRY(xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL));
    TRY(xmlTextWriterStartElement(w, X("feed")));
    TRY(xmlTextWriterWriteAttribute(w, X("xmlns"), X(FS_ATOM_NS)));
    TRY(xmlTextWriterWriteAttribute(w, X("xmlns:fh"), X(FS_HISTORY_NS)));
    TRY(xmlTextWriterWriteAttribute(w, X("xmlns:f"), X(FS_NAMESPACE)));
    TRY(xmlTextWriterWriteElement(w, X("id"), X(id)));
    TRY(xmlTextWriterWriteElement(w, X("title"), X(title)));
    TRY(xmlTextWriterWriteElement(w, X("updated"), X(doc->updated)));
    TRY(xmlTextWriterStartElement(w, X("author")));
    TRY(xmlTextWriterWriteElement(w, X("name"), X(m->name)));
    TRY(xmlTextWriterEndElement(w));
    TRY(xmlTextWriterWriteElement(w, X("generator"), X("feed-server")));
    if (doc->page >= 0)
        TRY(xmlTextWriterWriteElement(w, X("fh:archive"), NULL));
    nlinks = fs__doc_links(m, doc->page, doc->head, links);
    for (size_t i = 0; i < nlinks; i++)
        TRY(write_link(w, m, &links[i]));
    TRY(xmlTextWriterWriteFormatElement(w, X("f:pageSize"), "%u", m->page_size));
    if (doc->page < 0)
        TRY(xmlTextWriterWriteFormatElement(w, X("f:head"), "%lld", (long long)doc->head));
    if (doc->entries_len)
        TRY(xmlTextWriterWriteRawLen(w, X(doc->entries), (int)doc->entries_len));
    TRY(xmlTextWriterEndElement(w));
    TRY(xmlTextWriterEndDocument(w));
    return finish(w, xb, rc, out);
}
