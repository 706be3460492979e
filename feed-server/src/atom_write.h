/*
 * atom_write.h - the Atom XML the library serves, written with libxml2's
 * xmlTextWriter so every document is well-formed by construction.
 *
 * An entry is rendered once, when appended, and stored; it uses the prefix
 * "f" for FS_NAMESPACE, which every feed document binds on its <feed>
 * element, and its payload element declares xmlns="" so the event element
 * and its fields are in no namespace (a reader finds them by local name).
 * A document is the feed envelope with stored entries copied in as they are.
 */
#ifndef FS_ATOM_WRITE_H
#define FS_ATOM_WRITE_H

#include <stdint.h>

#include "buffer.h"
#include "feed_store.h"
#include "feedserver.h"

#define FS_ATOM_NS "http://www.w3.org/2005/Atom"
#define FS_HISTORY_NS "http://purl.org/syndication/history/1.0"

/*
 * Renders ev as one <entry> element with the given id, updated time and
 * position, appending it to out. Names and values must have been checked
 * (fs__atom_check_event). Returns FS_ERR_NOMEM or FS_OK.
 */
enum fs_error fs__atom_entry(const struct fs_event *ev, const char *id, const char *updated,
                             int64_t position, struct dynbuf *out);

/* Checks that ev can be rendered: type and field names are XML NCNames of at
 * most 128 bytes and values at most 1 MiB (else FS_ERR_INVALID), values are
 * text a feed can carry, as fs_text_check() says (else FS_ERR_TEXT). */
enum fs_error fs__atom_check_event(const struct fs_event *ev);

/* Whether s is at most 1 MiB of text a feed can carry (fs_text_check()). */
int fs__atom_text_ok(const char *s);

/* What a feed document holds besides its entries. */
struct fs__doc {
    const struct fs__feed_meta *meta; /* the feed */
    int64_t page;                     /* archive page number, or -1 for the head document */
    int64_t head;                     /* the feed's head position when the document was made */
    const char *updated;              /* the document's updated time */
    const char *entries;              /* stored <entry> elements, ascending */
    size_t entries_len;
};

/* One link of a document: its relation and the page it leads to. */
struct fs__link {
    const char *rel; /* "self", "current", "prev-archive" or "next-archive" */
    int64_t page;    /* the archive page linked to, or -1 for the head */
};

/* Most links a document has. */
#define FS_MAX_LINKS 4

/*
 * Fills links with the links of the document of meta's feed that is page
 * `page` (-1: the head as of head), in the order the document lists them,
 * and returns how many: self and current always; for a page,
 * prev-archive (except page 0) and next-archive (always, so the page never
 * changes); for the head, prev-archive once a full page exists. The Atom
 * <link> elements and the HTTP Link header are both made from it.
 */
size_t fs__doc_links(const struct fs__feed_meta *meta, int64_t page, int64_t head,
                     struct fs__link links[FS_MAX_LINKS]);

/* Writes the path a link leads to, "/feeds/NAME" or "/feeds/NAME/pages/N",
 * into out (size bytes); returns snprintf's result. */
int fs__link_href(const struct fs__feed_meta *meta, int64_t page, char *out, size_t size);

/* Appends the whole Atom document described by doc to out. */
enum fs_error fs__atom_document(const struct fs__doc *doc, struct dynbuf *out);

#endif
