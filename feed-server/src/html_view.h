/*
 * html_view.h - a feed document as a readable HTML page for browsers.
 *
 * The page is made from the Atom document itself, so both views always show
 * the same entries; it lists each entry's position, type, time, fields and
 * id in a table, and turns the paging links (prev-archive, current,
 * next-archive) into links a browser follows to more HTML. Its <head> has
 * a <link rel="alternate"> for the Atom and the CloudEvents JSON
 * representations, at the document's own address.
 */
#ifndef FS_HTML_VIEW_H
#define FS_HTML_VIEW_H

#include <stddef.h>

#include "buffer.h"
#include "feedserver.h"

/* Appends the HTML view of the Atom document atom (len bytes) to out. */
enum fs_error fs__html_view(const char *atom, size_t len, struct dynbuf *out);

#endif
