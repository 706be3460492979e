/*
 * atom_parse.h - a feed document, parsed as a stream into a flat record.
 *
 * The parser is libxml2's SAX2 push parser with no DTD loading, no entity
 * substitution and no network access. A document with a DOCTYPE is refused
 * as soon as the DOCTYPE starts (a feed never needs one), so no entity can
 * ever be declared; undeclared entity references are fatal errors. Nesting
 * deeper than a limit is refused.
 *
 * Elements are matched by namespace and local name: Atom for the feed
 * structure (the feed's own <id> and <link>s are those at depth 2, children
 * of <feed>), RFC 5005's history namespace for fh:archive, the project's own
 * namespace (FR__NS) for position, pageSize and head. Of the links, only the
 * hrefs of rel="self", "current", "prev-archive" and "next-archive" are kept
 * (the first of each), as written: resolving them is the follower's job
 * (links.h). The payload element
 * (the first element inside <content>) may be in any namespace or none; its
 * local name is the event type and its child elements are the fields, by
 * local name, the first occurrence of a name winning. Unknown elements are
 * ignored.
 *
 * All strings of a document live in one arena, a dynbuf reused from one
 * document to the next (so parsing a page costs a few allocations at most)
 * and capped: the strings of a document are pieces of its text, each with
 * a NUL, so a cap of twice the largest document is never reached by a
 * document the fetch accepted.
 */
#ifndef FR_ATOM_PARSE_H
#define FR_ATOM_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"
#include "feedreader.h"

#define FR__NS "urn:x-feed-integration:1"

/* A field: offsets of its name and text in the document's arena. */
struct fr__field {
    size_t name, value;
};

/* An entry. pub is what a handler sees; its pointers are set by
 * fr__atom_parse() once the arena no longer moves. */
struct fr__entry {
    struct fr_entry pub;
    /* the document holding the fields */
    const struct fr__doc *doc;
    /* offsets in the arena, (size_t)-1 when missing */
    size_t id, type, updated;
    /* its fields: doc->fields[first_field .. first_field + nfields) */
    size_t first_field, nfields;
};

/* The links a follower walks, by rel. */
enum fr__rel {
    FR__REL_SELF,
    FR__REL_CURRENT,
    FR__REL_PREV,
    FR__REL_NEXT,
    FR__NRELS,
};

struct fr__doc {
    /* the string arena; offset 0 holds "" */
    struct dynbuf strs;
    struct fr__entry *entries;
    size_t nentries, ecap;
    struct fr__field *fields;
    size_t nfields, fcap;
    /* <f:pageSize> and <f:head>, -1 when absent */
    int64_t page_size, head;
    /* whether <fh:archive/> was present */
    int archive;
    /* arena offsets of the feed's <id> text and of each link's href, as
     * written; (size_t)-1 when absent (see fr__doc_str()) */
    size_t feed_id;
    size_t links[FR__NRELS];
};

/* The string at arena offset off of doc, or NULL for (size_t)-1. Valid
 * until doc is parsed into again. */
const char *fr__doc_str(const struct fr__doc *doc, size_t off);

/* Makes doc empty, with an arena of at most max_strings bytes. */
void fr__doc_init(struct fr__doc *doc, size_t max_strings);
/* Frees what doc holds; it stays usable, with the same cap. */
void fr__doc_release(struct fr__doc *doc);

/*
 * Parses the len bytes of buf (a document fetched from url) into doc,
 * replacing what doc held. Checks that every entry has an id, a position
 * and a payload, and that positions increase by one from entry to entry.
 * Returns FR_OK, FR_ERR_PARSE, FR_ERR_TOO_LARGE (deeper than max_depth) or
 * FR_ERR_NOMEM, with msg (msg_size bytes) saying what was wrong.
 */
enum fr_error fr__atom_parse(struct fr__doc *doc, const char *buf, size_t len, const char *url,
                             unsigned max_depth, char *msg, size_t msg_size);

#endif
