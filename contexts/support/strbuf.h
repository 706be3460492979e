/*
 * strbuf.h - the programs' way of building responses and pages: the shared
 * buffer (dynbuf.h) with appends that never fail, and xmalloc.
 *
 * The libraries return every failure; a program may end on out of memory
 * through one place (STYLE.md), and this is it: an append that cannot
 * grow the buffer (out of memory, or past STRBUF_MAX, which nothing a
 * program builds comes near) logs one line and aborts. Growth, the HTML and
 * JSON escapers and ownership are dynbuf's; this file adds only that policy.
 * Buffers filled from the network have their own cap and use dynbuf
 * directly, checking each failure.
 *
 * A strbuf owns its storage: sb_release() frees it, sb_detach() hands it to
 * the caller.
 */
#ifndef STRBUF_H
#define STRBUF_H

#include "dynbuf.h"

#include <stdarg.h>
#include <stddef.h>

/* Most bytes a strbuf holds: a page or an answer, never network input. */
#define STRBUF_MAX ((size_t)1 << 30)

struct strbuf {
    struct dynbuf b; /* the bytes, at most STRBUF_MAX */
};

#define STRBUF_INIT {DYNBUF_INIT(STRBUF_MAX)}

void sb_append(struct strbuf *sb, const char *data, size_t len);
void sb_puts(struct strbuf *sb, const char *s);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s (NULL is "") with &, <, >, " and ' escaped for HTML text and
 * attributes. */
void sb_html(struct strbuf *sb, const char *s);
/* Appends s (NULL is "") as a JSON string literal, quotes included. */
void sb_json_string(struct strbuf *sb, const char *s);
/* The text so far, "" while empty. Owned by sb, valid until its next
 * append or release. */
const char *sb_str(const struct strbuf *sb);
/* How many bytes sb holds. */
size_t sb_len(const struct strbuf *sb);
/* Returns the buffer (never NULL; "" when empty); you now own it. */
char *sb_detach(struct strbuf *sb, size_t *len);
void sb_release(struct strbuf *sb);

/* malloc/realloc/strdup that end the process with a log line when memory is
 * out. Only programs use these; the libraries return errors instead. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
