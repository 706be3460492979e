#include "atom_parse.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_ATOM "http://www.w3.org/2005/Atom"
#define NS_FH "http://purl.org/syndication/history/1.0"
#define NONE ((size_t)-1)

/* What the text being captured will become. */
enum target {
    T_NONE,
    T_FEED_ID,
    T_ID,
    T_UPDATED,
    T_POSITION,
    T_PAGE_SIZE,
    T_HEAD,
    T_FIELD,
};

/* The parser's state while it walks the document. */
struct state {
    struct fr__doc *doc;
    xmlParserCtxtPtr ctxt;
    unsigned max_depth;
    /* current element depth (root = 1) */
    unsigned depth;
    /* inside <entry> (the current entry is the last of doc->entries) */
    int in_entry;
    /* inside the entry's <content>; whether its payload was seen */
    int in_content, seen_payload;
    /* inside the payload element */
    int in_payload;
    /* text being captured: what for, at which depth, from which arena offset */
    enum target target;
    unsigned target_depth;
    size_t text_start;
    /* name of the field being captured (arena offset) */
    size_t field_name;
    /* positions as text: whether the entry's position was given */
    int has_position;
    enum fr_error err;
    char *msg;
    size_t msg_size;
};

static void fail(struct state *st, enum fr_error err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct state *st, enum fr_error err, const char *fmt, ...)
{
    va_list ap;

    if (st->err != FR_OK)
        return;
    st->err = err;
    va_start(ap, fmt);
    vsnprintf(st->msg, st->msg_size, fmt, ap);
    va_end(ap);
    xmlStopParser(st->ctxt);
}

/* Appends len bytes of s to the arena; returns the offset or NONE. */
static size_t arena_add(struct state *st, const char *s, size_t len)
{
    struct dynbuf *a = &st->doc->strs;
    size_t off = dynbuf_len(a);
    enum dynbuf_error err = dynbuf_add(a, s, len);

    if (err == DYNBUF_TOO_BIG)
        fail(st, FR_ERR_TOO_LARGE, "the document's text is over %zu bytes", a->max);
    else if (err)
        fail(st, FR_ERR_NOMEM, "out of memory");
    return err ? NONE : off;
}

/* The string at arena offset off. */
static const char *arena_str(const struct fr__doc *d, size_t off)
{
    return dynbuf_ptr(&d->strs) + off;
}

/* Ends the text being captured with a NUL; returns its offset. */
static size_t arena_end_text(struct state *st)
{
    size_t off = st->text_start;

    if (arena_add(st, "", 1) == NONE)
        return NONE;
    return off;
}

/* Parses a decimal integer in [min, max], allowing surrounding blanks. */
static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || v < min || v > max)
        return -1;
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int is(const xmlChar *uri, const char *ns, const xmlChar *name, const char *local)
{
    return uri && strcmp((const char *)uri, ns) == 0 && strcmp((const char *)name, local) == 0;
}

static void capture(struct state *st, enum target t)
{
    st->target = t;
    st->target_depth = st->depth;
    st->text_start = dynbuf_len(&st->doc->strs);
}

/* The entry being parsed. */
static struct fr__entry *current(struct state *st)
{
    return &st->doc->entries[st->doc->nentries - 1];
}

static void start_entry(struct state *st)
{
    struct fr__doc *d = st->doc;

    if (d->nentries == d->ecap) {
        size_t cap = d->ecap ? d->ecap * 2 : 512;
        struct fr__entry *p = realloc(d->entries, cap * sizeof *p);
        if (!p) {
            fail(st, FR_ERR_NOMEM, "out of memory");
            return;
        }
        d->entries = p;
        d->ecap = cap;
    }
    memset(&d->entries[d->nentries], 0, sizeof d->entries[0]);
    d->entries[d->nentries].id = NONE;
    d->entries[d->nentries].type = NONE;
    d->entries[d->nentries].updated = NONE;
    d->entries[d->nentries].first_field = d->nfields;
    d->entries[d->nentries].pub.version = 1;
    d->nentries++;
    st->in_entry = 1;
    st->in_content = st->seen_payload = st->in_payload = 0;
    st->has_position = 0;
}

/* Reads the payload's version attribute (attributes come as 5 pointers
 * each: local name, prefix, URI, value start, value end). */
static void payload_version(struct state *st, int nb_attributes, const xmlChar **attrs)
{
    for (int i = 0; i < nb_attributes; i++) {
        const xmlChar **a = attrs + 5 * i;
        char buf[16];
        size_t n = (size_t)(a[4] - a[3]);
        int64_t v;

        if (a[2] != NULL || strcmp((const char *)a[0], "version") != 0)
            continue;
        if (n >= sizeof buf) {
            fail(st, FR_ERR_PARSE, "entry %zu: bad version attribute", st->doc->nentries);
            return;
        }
        memcpy(buf, a[3], n);
        buf[n] = '\0';
        if (parse_int(buf, 0, 1000000, &v) != 0) {
            fail(st, FR_ERR_PARSE, "entry %zu: bad version attribute", st->doc->nentries);
            return;
        }
        current(st)->pub.version = (int)v;
    }
}

/* Keeps the href of a feed-level <link> whose rel the follower walks (the
 * first of each rel). libxml2 hands an '&' of an attribute value on as
 * "&#38;" when entities are not substituted; it is decoded here. */
static void feed_link(struct state *st, int nb_attributes, const xmlChar **attrs)
{
    static const char *const rels[FR__NRELS] = {"self", "current", "prev-archive", "next-archive"};
    const xmlChar **rel = NULL, **href = NULL;
    size_t rel_len, off;
    int which = -1;

    for (int i = 0; i < nb_attributes; i++) {
        const xmlChar **a = attrs + 5 * i;

        if (a[2] != NULL)
            continue;
        if (strcmp((const char *)a[0], "rel") == 0)
            rel = a;
        else if (strcmp((const char *)a[0], "href") == 0)
            href = a;
    }
    if (!rel || !href)
        return;
    rel_len = (size_t)(rel[4] - rel[3]);
    for (int i = 0; i < FR__NRELS; i++)
        if (strlen(rels[i]) == rel_len && strncmp((const char *)rel[3], rels[i], rel_len) == 0)
            which = i;
    if (which < 0 || st->doc->links[which] != NONE)
        return;
    off = dynbuf_len(&st->doc->strs);
    for (const xmlChar *p = href[3]; p < href[4];) {
        size_t n = (size_t)(href[4] - p);

        if (n >= 5 && memcmp(p, "&#38;", 5) == 0) {
            if (arena_add(st, "&", 1) == NONE)
                return;
            p += 5;
        } else {
            /* up to the next '&' after this character */
            const xmlChar *amp = memchr(p + 1, '&', n - 1);
            size_t chunk = amp ? (size_t)(amp - p) : n;

            if (arena_add(st, (const char *)p, chunk) == NONE)
                return;
            p += chunk;
        }
    }
    if (arena_add(st, "", 1) == NONE)
        return;
    st->doc->links[which] = off;
}

static void on_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attrs)
{
    struct state *st = ctx;

    (void)prefix;
    (void)nb_namespaces;
    (void)namespaces;
    (void)nb_defaulted;
    if (st->err)
        return;
    if (++st->depth > st->max_depth) {
        fail(st, FR_ERR_TOO_LARGE, "elements nested deeper than %u", st->max_depth);
        return;
    }
    switch (st->depth) {
    case 1:
        if (!is(uri, NS_ATOM, name, "feed"))
            fail(st, FR_ERR_PARSE, "the root element is not an Atom feed");
        break;
    case 2:
        if (is(uri, NS_ATOM, name, "entry"))
            start_entry(st);
        else if (is(uri, FR__NS, name, "pageSize"))
            capture(st, T_PAGE_SIZE);
        else if (is(uri, FR__NS, name, "head"))
            capture(st, T_HEAD);
        else if (is(uri, NS_FH, name, "archive"))
            st->doc->archive = 1;
        else if (is(uri, NS_ATOM, name, "id") && st->doc->feed_id == NONE)
            capture(st, T_FEED_ID);
        else if (is(uri, NS_ATOM, name, "link"))
            feed_link(st, nb_attributes, attrs);
        break;
    case 3:
        if (!st->in_entry)
            break;
        if (is(uri, NS_ATOM, name, "id"))
            capture(st, T_ID);
        else if (is(uri, NS_ATOM, name, "updated"))
            capture(st, T_UPDATED);
        else if (is(uri, FR__NS, name, "position"))
            capture(st, T_POSITION);
        else if (is(uri, NS_ATOM, name, "content"))
            st->in_content = 1;
        break;
    case 4:
        if (st->in_content && !st->seen_payload) {
            size_t n = strlen((const char *)name);
            size_t off = arena_add(st, (const char *)name, n + 1);

            if (off == NONE)
                return;
            current(st)->type = off;
            st->seen_payload = st->in_payload = 1;
            payload_version(st, nb_attributes, attrs);
        }
        break;
    case 5:
        if (st->in_payload) {
            size_t n = strlen((const char *)name);

            st->field_name = arena_add(st, (const char *)name, n + 1);
            if (st->field_name != NONE)
                capture(st, T_FIELD);
        }
        break;
    default:
        break;
    }
}

static void end_field(struct state *st, size_t value)
{
    struct fr__doc *d = st->doc;

    if (d->nfields == d->fcap) {
        size_t cap = d->fcap ? d->fcap * 2 : 2048;
        struct fr__field *p = realloc(d->fields, cap * sizeof *p);
        if (!p) {
            fail(st, FR_ERR_NOMEM, "out of memory");
            return;
        }
        d->fields = p;
        d->fcap = cap;
    }
    d->fields[d->nfields].name = st->field_name;
    d->fields[d->nfields].value = value;
    d->nfields++;
    current(st)->nfields++;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Stores the captured text where its target says. */
static void end_capture(struct state *st)
{
    struct fr__doc *d = st->doc;
    enum target t = st->target;
    size_t off;
    int64_t v;

    if (t == T_FEED_ID) {
        /* An IRI: the blanks around it are layout, not part of it. */
        const char *s = dynbuf_ptr(&d->strs);
        size_t end = dynbuf_len(&d->strs);

        while (end > st->text_start && is_blank(s[end - 1]))
            end--;
        dynbuf_truncate(&d->strs, end);
        while (st->text_start < end && is_blank(s[st->text_start]))
            st->text_start++;
    }
    off = arena_end_text(st);
    st->target = T_NONE;
    if (off == NONE)
        return;
    switch (t) {
    case T_FEED_ID:
        d->feed_id = off;
        break;
    case T_ID:
        current(st)->id = off;
        break;
    case T_UPDATED:
        current(st)->updated = off;
        break;
    case T_POSITION:
        if (parse_int(arena_str(d, off), 1, INT64_MAX, &v) != 0) {
            fail(st, FR_ERR_PARSE, "entry %zu: bad position", d->nentries);
            return;
        }
        current(st)->pub.position = v;
        st->has_position = 1;
        break;
    case T_PAGE_SIZE:
        if (parse_int(arena_str(d, off), 1, 1000000, &d->page_size) != 0)
            fail(st, FR_ERR_PARSE, "bad pageSize");
        break;
    case T_HEAD:
        if (parse_int(arena_str(d, off), 0, INT64_MAX, &d->head) != 0)
            fail(st, FR_ERR_PARSE, "bad head");
        break;
    case T_FIELD:
        end_field(st, off);
        break;
    case T_NONE:
        break;
    }
}

static void end_entry(struct state *st)
{
    struct fr__entry *e = current(st);
    size_t n = st->doc->nentries;

    st->in_entry = 0;
    if (e->id == NONE || arena_str(st->doc, e->id)[0] == '\0')
        fail(st, FR_ERR_PARSE, "entry %zu has no id", n);
    else if (!st->has_position)
        fail(st, FR_ERR_PARSE, "entry %zu has no position", n);
    else if (e->type == NONE)
        fail(st, FR_ERR_PARSE, "entry %zu has no payload", n);
    else if (n > 1 && e->pub.position != st->doc->entries[n - 2].pub.position + 1)
        fail(st, FR_ERR_PARSE, "entry positions jump from %lld to %lld",
             (long long)st->doc->entries[n - 2].pub.position, (long long)e->pub.position);
}

static void on_end(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri)
{
    struct state *st = ctx;

    (void)name;
    (void)prefix;
    (void)uri;
    if (st->err)
        return;
    if (st->target != T_NONE && st->depth == st->target_depth)
        end_capture(st);
    if (st->depth == 2 && st->in_entry)
        end_entry(st);
    else if (st->depth == 3)
        st->in_content = 0;
    else if (st->depth == 4)
        st->in_payload = 0;
    st->depth--;
}

static void on_text(void *ctx, const xmlChar *ch, int len)
{
    struct state *st = ctx;

    if (st->err || st->target == T_NONE || st->depth != st->target_depth || len <= 0)
        return;
    arena_add(st, (const char *)ch, (size_t)len);
}

static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                       const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    fail(ctx, FR_ERR_PARSE, "the document has a DOCTYPE (not allowed in a feed)");
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    (void)name;
    (void)type;
    (void)public_id;
    (void)system_id;
    (void)content;
    fail(ctx, FR_ERR_PARSE, "the document declares an entity (not allowed in a feed)");
}

static xmlEntityPtr on_get_entity(void *ctx, const xmlChar *name)
{
    (void)ctx;
    (void)name;
    return NULL;
}

static void on_error(void *ctx, xmlErrorPtr e)
{
    struct state *st = ctx;
    char text[160];
    size_t n;

    if (!e || e->level < XML_ERR_ERROR)
        return;
    snprintf(text, sizeof text, "%s", e->message ? e->message : "malformed XML");
    n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    fail(st, FR_ERR_PARSE, "malformed XML at line %d: %s", e->line, text);
}

/* Marks the feed-level values as absent. */
static void doc_clear_feed(struct fr__doc *doc)
{
    doc->page_size = doc->head = -1;
    doc->archive = 0;
    doc->feed_id = NONE;
    for (int i = 0; i < FR__NRELS; i++)
        doc->links[i] = NONE;
}

void fr__doc_init(struct fr__doc *doc, size_t max_strings)
{
    memset(doc, 0, sizeof *doc);
    dynbuf_init(&doc->strs, max_strings);
    doc_clear_feed(doc);
}

const char *fr__doc_str(const struct fr__doc *doc, size_t off)
{
    return off == NONE ? NULL : arena_str(doc, off);
}

/* Frees the entry and field arrays. */
static void doc_free_arrays(struct fr__doc *doc)
{
    free(doc->entries);
    free(doc->fields);
    doc->entries = NULL;
    doc->fields = NULL;
    doc->ecap = doc->fcap = 0;
}

void fr__doc_release(struct fr__doc *doc)
{
    dynbuf_release(&doc->strs);
    doc_free_arrays(doc);
    doc->nentries = doc->nfields = 0;
    doc_clear_feed(doc);
}

/* Empties doc for the next document, dropping storage grown by an
 * unusually large one, so a follower's memory stays flat after it. */
static void doc_reset(struct fr__doc *doc)
{
    if (doc->ecap > 65536 || doc->fcap > 262144)
        doc_free_arrays(doc);
    dynbuf_reset(&doc->strs, (size_t)8 << 20);
    doc->nentries = doc->nfields = 0;
    doc_clear_feed(doc);
}

enum fr_error fr__atom_parse(struct fr__doc *doc, const char *buf, size_t len, const char *url,
                             unsigned max_depth, char *msg, size_t msg_size)
{
    xmlSAXHandler sax;
    struct state st;
    size_t done = 0;

    doc_reset(doc);
    memset(&st, 0, sizeof st);
    st.doc = doc;
    st.max_depth = max_depth ? max_depth : 32;
    st.msg = msg;
    st.msg_size = msg_size;
    msg[0] = '\0';
    if (arena_add(&st, "", 1) == NONE)
        return st.err;

    memset(&sax, 0, sizeof sax);
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = on_start;
    sax.endElementNs = on_end;
    sax.characters = on_text;
    sax.cdataBlock = on_text;
    sax.internalSubset = on_doctype;
    sax.externalSubset = on_doctype;
    sax.entityDecl = on_entity_decl;
    sax.getEntity = on_get_entity;
    sax.getParameterEntity = on_get_entity;
    sax.serror = on_error;

    st.ctxt = xmlCreatePushParserCtxt(&sax, &st, NULL, 0, url);
    if (!st.ctxt) {
        snprintf(msg, msg_size, "out of memory");
        return FR_ERR_NOMEM;
    }
    xmlCtxtUseOptions(st.ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    do {
        size_t chunk = len - done > (1u << 20) ? (1u << 20) : len - done;
        int last = done + chunk == len;

        if (xmlParseChunk(st.ctxt, buf + done, (int)chunk, last) != 0 && !st.err)
            fail(&st, FR_ERR_PARSE, "malformed XML");
        done += chunk;
    } while (!st.err && done < len);
    if (!st.err && !st.ctxt->wellFormed)
        fail(&st, FR_ERR_PARSE, "malformed XML");
    if (!st.err && st.depth != 0)
        fail(&st, FR_ERR_PARSE, "the document ends early");
    if (!st.err && len == 0)
        fail(&st, FR_ERR_PARSE, "empty document");
    xmlFreeParserCtxt(st.ctxt);
    if (st.err)
        return st.err;

    for (size_t i = 0; i < doc->nentries; i++) {
        struct fr__entry *e = &doc->entries[i];

        e->doc = doc;
        e->pub.id = arena_str(doc, e->id);
        e->pub.type = arena_str(doc, e->type);
        e->pub.updated = e->updated == NONE ? "" : arena_str(doc, e->updated);
    }
    return FR_OK;
}

int fr_entry_fields(const struct fr_entry *entry, const char *const *names, const char **values,
                    size_t n, char *why, size_t why_size)
{
    for (size_t i = 0; i < n; i++) {
        values[i] = fr_entry_field(entry, names[i]);
        if (!values[i] || !values[i][0]) {
            if (why && why_size)
                snprintf(why, why_size, "%s at position %lld has no %s", entry->type,
                         (long long)entry->position, names[i]);
            return -1;
        }
    }
    return 0;
}

const char *fr_entry_field(const struct fr_entry *entry, const char *name)
{
    const struct fr__entry *e = (const struct fr__entry *)entry;
    const struct fr__doc *d = e->doc;

    for (size_t i = e->first_field; i < e->first_field + e->nfields; i++)
        if (strcmp(arena_str(d, d->fields[i].name), name) == 0)
            return arena_str(d, d->fields[i].value);
    return NULL;
}
