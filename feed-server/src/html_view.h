/*
 * html_view.h - the feed browser's pages: what a browser (text/html) is
 * shown of a feed.
 *
 * Every page is written into the program's layout when it gave one
 * (fs_server_config.html_layout, kept in fs__feed_meta.html_layout: its
 * "{{title}}" and "{{body}}" filled, the page's own <head> elements put
 * before its "</head>"), or into a plain page of the library's own. The
 * pages:
 *  - a feed document (the head or an archive page), made from the Atom
 *    document itself, so that both views always hold the same entries; it
 *    lists them newest first, each with its position (a link to the entry's
 *    page), type, time, fields and id, and turns the paging links into
 *    "newer" / "older" links a browser follows to more HTML. Its <head> has
 *    a <link rel="alternate"> for the Atom and the CloudEvents JSON
 *    representations at the document's own address, and the page links to
 *    both with "?format=";
 *  - one entry, with links to the entries beside it, the document that
 *    holds it, and its Atom and CloudEvents JSON;
 *  - the live tail: a small script in the page long-polls the head
 *    (Prefer: wait) as CloudEvents JSON and adds each new entry on top;
 *  - the token hint, for a browser refused a protected feed.
 * Every text that comes from the feed or the request is escaped.
 */
#ifndef FS_HTML_VIEW_H
#define FS_HTML_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "buffer.h"
#include "feed_store.h"
#include "feedserver.h"

/* Appends the HTML view of the Atom document atom (len bytes) of meta's
 * feed to out. */
enum fs_error fs__html_view(const char *atom, size_t len, const struct fs__feed_meta *meta,
                            struct dynbuf *out);

/*
 * Appends the page of one entry to out: entry_doc (len bytes) is its Atom
 * entry document, head the feed's head position when it was read (for the
 * link to the next entry and to the document that holds it).
 */
enum fs_error fs__html_entry(const char *entry_doc, size_t len, const struct fs__feed_meta *meta,
                             int64_t head, struct dynbuf *out);

/* Appends the live tail page of meta's feed to out. */
enum fs_error fs__html_tail(const struct fs__feed_meta *meta, struct dynbuf *out);

/*
 * Appends the page a browser gets with a 401 for a protected feed to out:
 * feed is the feed's name, path the path asked for, host the request's
 * Host (NULL: none), rejected whether a token was sent but is not valid,
 * hint_html the program's words on where the token is (NULL: none).
 */
enum fs_error fs__html_token_hint(const char *layout, const char *feed, const char *path,
                                  const char *host, int rejected, const char *hint_html,
                                  struct dynbuf *out);

/* Appends the page of a 303 that sends a browser from page `page`, not
 * full yet, to the head of meta's feed. */
enum fs_error fs__html_to_head(const struct fs__feed_meta *meta, int64_t page, struct dynbuf *out);

#endif
